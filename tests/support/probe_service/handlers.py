"""HTTP handlers: parse, call the service, shape the answer."""

from __future__ import annotations

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from spicadb_kit.auth import Principal, requires
from spicadb_kit.context import ServiceContext
from spicadb_kit.settings import ServiceSettings

from .service import PingService

# the probe's context: the kit's settings, no state of its own
ProbeContext = ServiceContext[ServiceSettings, None]


class PingIn(msgspec.Struct, forbid_unknown_fields=True):
    ping_id: str = msgspec.field(name="id")
    sequence: int = 0
    note: str = ""


class PingOut(msgspec.Struct):
    id: str
    sequence: int
    effects: int


@post("/pings", guards=[requires("probe:write")], operation_id="recordPing")
async def record_ping(
    data: JSONBody[PingIn], context: NamedDependency[ProbeContext], principal: NamedDependency[Principal]
) -> PingOut:
    await PingService(context.pool, context.outbox).record(data.ping_id, data.sequence, data.note)
    return PingOut(id=data.ping_id, sequence=data.sequence, effects=0)


@get("/pings/{ping_id:str}", guards=[requires("probe:read")], operation_id="getPing")
async def get_ping(ping_id: FromPath[str], context: NamedDependency[ProbeContext]) -> PingOut:
    sequence, effects = await PingService(context.pool, context.outbox).summary(ping_id)
    return PingOut(id=ping_id, sequence=sequence, effects=effects)
