"""What every handler is given: who looks (with their data rights), and the services bound to them.

Downloads and plots answer without a token (VO tools follow an access_url bare), but a member who sends
one sees their proprietary files there too: the token, when present, is verified."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal
from spicadb_kit.context import ServiceContext
from spicadb_kit.rights import Viewer, request_viewer

from ..blobs import LocalBlobStore
from ..config import OifitsSettings
from ..indexing import Indexer
from ..services.assign import AssignService
from ..services.files import FileService
from ..services.push import PushService

STORE = "oifits.store"
INDEXING = "oifits.indexing"


def settings_of(context: ServiceContext) -> OifitsSettings:
    settings = context.settings
    assert isinstance(settings, OifitsSettings)
    return settings


async def open_store(context: ServiceContext) -> None:
    """At startup: the content-addressed store and the indexing workers."""
    settings = settings_of(context)
    context.extras[STORE] = await asyncio.to_thread(LocalBlobStore(settings.store_root).open)
    context.extras[INDEXING] = Indexer(settings.index_workers)


async def close_indexer(context: ServiceContext) -> None:
    """At shutdown: the indexing workers end with the service."""
    indexer = context.extras.get(INDEXING)
    if isinstance(indexer, Indexer):
        await indexer.close()


async def provide_viewer(request: Request[Any, Any, Any], context: NamedDependency[ServiceContext]) -> Viewer:
    return await request_viewer(request, context)


def provide_files(viewer: NamedDependency[Viewer], context: NamedDependency[ServiceContext]) -> FileService:
    return FileService(context.pool, viewer, settings_of(context), context.extras[STORE])


def provide_pushes(
    principal: NamedDependency[Principal], context: NamedDependency[ServiceContext]
) -> PushService:
    settings, store = settings_of(context), context.extras[STORE]
    reader = FileService(context.pool, Viewer(principal.subject, sees_all=True), settings, store)
    return PushService(context.pool, context.outbox, store, settings, context.extras[INDEXING], reader)


def provide_assignments(
    principal: NamedDependency[Principal], context: NamedDependency[ServiceContext]
) -> AssignService:
    reader = FileService(
        context.pool, Viewer(principal.subject, sees_all=True), settings_of(context), context.extras[STORE]
    )
    return AssignService(context.pool, context.outbox, reader)


DEPENDENCIES = {
    "viewer": Provide(provide_viewer),
    "files": Provide(provide_files, sync_to_thread=False),
    "pushes": Provide(provide_pushes, sync_to_thread=False),
    "assignments": Provide(provide_assignments, sync_to_thread=False),
}
