"""What every handler is given: who looks (with their data rights), and the services bound to them.

Downloads and plots answer without a token (VO tools follow an access_url bare), but a member who sends
one sees their proprietary files there too: the token, when present, is verified."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal
from spicadb_kit.context import ServiceContext
from spicadb_kit.rights import Viewer, request_viewer

from ..blobs import BlobStore, LocalBlobStore
from ..config import OifitsSettings
from ..indexing import Indexer
from ..services.assign import AssignService
from ..services.files import FileService
from ..services.push import PushService


@dataclass
class OifitsState:
    """What the service opens at startup for itself: the content-addressed store (tests swap it for
    one that holds a push midway) and the indexing workers."""

    store: BlobStore
    indexing: Indexer


OifitsContext = ServiceContext[OifitsSettings, OifitsState]


async def open_store(context: OifitsContext) -> None:
    """At startup: the content-addressed store (its free space in readiness) and the indexing workers."""
    store = await asyncio.to_thread(LocalBlobStore(context.settings.store_root).open)
    context.readiness_checks["store"] = functools.partial(
        store_room, store, context.settings.store_min_free_bytes
    )
    context.attach(
        OifitsState(
            store=store,
            indexing=Indexer(
                context.settings.index_workers,
                tracing=(context.settings.otel_exporter, context.settings.otel_endpoint),
            ),
        )
    )


async def store_room(
    store: LocalBlobStore, low: int, problems: list[str], warnings: list[str]
) -> dict[str, Any]:
    """Readiness' view of the store: its free space, and a warning under ``low`` bytes (a full store
    refuses pushes with 507; downloads and the consumers still work, so the service stays ready)."""
    free = await asyncio.to_thread(store.free_bytes)
    if free < low:
        warnings.append(
            f"store: {_mib(free)} free in the file store (under {_mib(low)}): pushes that do not fit"
            " are refused with 507 insufficient-storage until space is freed"
        )
    return {"free_bytes": free, "low_bytes": low}


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


async def close_indexer(context: OifitsContext) -> None:
    """At shutdown: the indexing workers end with the service (if the startup went as far)."""
    if (state := context.state_or_none) is not None:
        await state.indexing.close()


async def provide_viewer(request: Request[Any, Any, Any], context: NamedDependency[OifitsContext]) -> Viewer:
    return await request_viewer(request, context)


def provide_files(viewer: NamedDependency[Viewer], context: NamedDependency[OifitsContext]) -> FileService:
    return FileService(context.pool, viewer, context.settings, context.state.store)


def provide_pushes(
    principal: NamedDependency[Principal], context: NamedDependency[OifitsContext]
) -> PushService:
    settings, state = context.settings, context.state
    reader = FileService(context.pool, Viewer(principal.subject, sees_all=True), settings, state.store)
    return PushService(context.pool, context.outbox, state.store, settings, state.indexing, reader)


def provide_assignments(
    principal: NamedDependency[Principal], context: NamedDependency[OifitsContext]
) -> AssignService:
    viewer = Viewer(principal.subject, sees_all=True)
    reader = FileService(context.pool, viewer, context.settings, context.state.store)
    return AssignService(context.pool, context.outbox, reader)


DEPENDENCIES = {
    "viewer": Provide(provide_viewer),
    "files": Provide(provide_files, sync_to_thread=False),
    "pushes": Provide(provide_pushes, sync_to_thread=False),
    "assignments": Provide(provide_assignments, sync_to_thread=False),
}
