"""What a programme asks to observe: work packages, observing setups and observation requests,
and the progress read back from them."""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg
import msgspec

from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError
from spicadb_kit.events import Outbox
from spicadb_kit.rows import row_to, rows_to

from ..domain import normalise_configuration
from ..models import (
    Counts,
    ProgressOut,
    RequestIn,
    RequestOut,
    RequestPatch,
    SetupIn,
    SetupOut,
    WorkPackageIn,
    WorkPackageOut,
    WorkPackagePatch,
    WorkPackageProgress,
)
from ..problems import (
    INVALID_CONFIGURATION,
    REQUEST_EXISTS,
    REQUEST_NOT_FOUND,
    SETUP_EXISTS,
    SETUP_IN_USE,
    SETUP_NOT_FOUND,
    TARGET_NOT_FOUND,
    WORK_PACKAGE_EXISTS,
    WORK_PACKAGE_NOT_FOUND,
)
from ..storage.programmes import SetupStore, WorkPackageStore
from ..storage.requests import NightLogStore, RequestKey, RequestStore
from ..storage.targets import TargetStore
from .access import Caller, see
from .progress import ProgressService, request_counts, totals


def request_out(row: asyncpg.Record) -> RequestOut:
    return row_to(RequestOut, row, progress=request_counts(row, Counts))


def setup_out(row: asyncpg.Record) -> SetupOut:
    return row_to(SetupOut, row)


class ObservingService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, caller: Caller) -> None:
        self.pool = pool
        self.outbox = outbox
        self.caller = caller

    # work packages -----------------------------------------------------------------------------

    async def work_packages(self, code: str) -> list[WorkPackageOut]:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            return rows_to(WorkPackageOut, await WorkPackageStore(conn).all(seen.id))

    async def create_work_package(self, code: str, data: WorkPackageIn) -> WorkPackageOut:
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            wp_id = uuid.uuid4()
            if not await WorkPackageStore(conn).insert(
                wp_id, seen.id, data.code, data.title, data.description
            ):
                raise WORK_PACKAGE_EXISTS(f"{code} has a work package {data.code} already")
        return WorkPackageOut(
            id=wp_id, code=data.code, title=data.title, description=data.description, targets=0
        )

    async def update_work_package(self, code: str, wp: str, patch: WorkPackagePatch) -> WorkPackageOut:
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            if not await WorkPackageStore(conn).update(seen.id, wp, changes):
                raise WORK_PACKAGE_NOT_FOUND(f"{code} has no work package {wp}")
            found = [r for r in await WorkPackageStore(conn).all(seen.id) if r["code"] == wp]
        return row_to(WorkPackageOut, found[0])

    async def delete_work_package(self, code: str, wp: str) -> None:
        """Its targets stay in the programme, in no work package."""
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            if not await WorkPackageStore(conn).delete(seen.id, wp):
                raise WORK_PACKAGE_NOT_FOUND(f"{code} has no work package {wp}")

    # setups ------------------------------------------------------------------------------------

    async def setups(self, code: str) -> list[SetupOut]:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            return [setup_out(r) for r in await SetupStore(conn).all(seen.id)]

    async def create_setup(self, code: str, data: SetupIn) -> SetupOut:
        try:
            configuration = normalise_configuration(data.configuration)
        except ValueError as exc:
            raise INVALID_CONFIGURATION(
                str(exc), errors=[FieldError("body.configuration", str(exc))]
            ) from exc
        row = {**msgspec.structs.asdict(data), "configuration": configuration, "id": uuid.uuid4()}
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            row["programme_id"] = seen.id
            if not await SetupStore(conn).insert(row):
                raise SETUP_EXISTS(f"{code} has a setup {data.name} already")
            created = await SetupStore(conn).by_name(seen.id, data.name)
        return setup_out(created)

    async def delete_setup(self, code: str, name: str) -> None:
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            setup = await SetupStore(conn).by_name(seen.id, name)
            if setup is None:
                raise SETUP_NOT_FOUND(f"{code} has no setup {name}")
            if await SetupStore(conn).in_use(setup["id"]):
                raise SETUP_IN_USE(f"setup {name} has observation requests: delete them first")
            await SetupStore(conn).delete(seen.id, name)

    # requests ----------------------------------------------------------------------------------

    async def requests(
        self, code: str, *, after: RequestKey | None, limit: int, target_id: UUID | None
    ) -> list[RequestOut]:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            rows = await RequestStore(conn).page(seen.id, after=after, limit=limit, target_id=target_id)
        return [request_out(r) for r in rows]

    async def create_request(self, code: str, data: RequestIn) -> RequestOut:
        request_id = uuid.uuid4()
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            if await TargetStore(conn).get(seen.id, data.target_id) is None:
                raise TARGET_NOT_FOUND(f"{code} has no target {data.target_id}", status=422)
            setup = await SetupStore(conn).by_name(seen.id, data.setup)
            if setup is None:
                raise SETUP_NOT_FOUND(f"{code} has no setup {data.setup}", status=422)
            if not await RequestStore(conn).insert(
                request_id, seen.id, data.target_id, setup["id"], data.visits, data.priority
            ):
                raise REQUEST_EXISTS("this target already has a request with this setup")
            # what was already observed counts at once
            await ProgressService(conn, self.outbox).recount([data.target_id], edited=[request_id])
            row = await RequestStore(conn).get(seen.id, request_id)
        return request_out(row)

    async def update_request(self, code: str, request_id: UUID, patch: RequestPatch) -> RequestOut:
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            if changes and not await RequestStore(conn).update(seen.id, request_id, changes):
                raise REQUEST_NOT_FOUND(f"{code} has no request {request_id}")
            row = await RequestStore(conn).get(seen.id, request_id)
            if row is None:
                raise REQUEST_NOT_FOUND(f"{code} has no request {request_id}")
            await ProgressService(conn, self.outbox).recount([row["target_id"]], edited=[request_id])
            row = await RequestStore(conn).get(seen.id, request_id)
        return request_out(row)

    async def delete_request(self, code: str, request_id: UUID) -> None:
        async with transaction(self.pool) as conn:
            seen = await see(conn, self.caller, code)
            seen.require_editor()
            target_id = await RequestStore(conn).delete(seen.id, request_id)
            if target_id is None:
                raise REQUEST_NOT_FOUND(f"{code} has no request {request_id}")
            # the target's state and the totals change; the next progress event carries them
            await ProgressService(conn, self.outbox).recount([target_id])

    async def progress(self, code: str) -> ProgressOut:
        async with self.pool.acquire() as conn:
            seen = await see(conn, self.caller, code)
            whole, per_wp = totals(await NightLogStore(conn).totals(seen.id))
        return ProgressOut(
            programme=seen.code,
            progress=whole,
            work_packages=[WorkPackageProgress(work_package=wp, progress=c) for wp, c in per_wp.items()],
        )
