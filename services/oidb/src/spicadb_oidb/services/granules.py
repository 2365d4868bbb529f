"""Reading the OiDB table, always through the data-rights rule: the JSON listing, one granule, and the
DataLink 1.1 links between granules, their files, plots and night-log observations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from spicadb_kit.rights import Viewer
from spicadb_kit.rows import row_to, rows_to

from .. import votable
from ..config import OidbSettings
from ..domain import PREVIEW_TITLES, Naming, name_key
from ..models import GranuleOut
from ..problems import GRANULE_NOT_FOUND, INVALID_CONE
from ..storage.granules import GranuleKey, GranuleStore, Query
from ..votable import Link

ORDER = "g.id"
# RESPONSEFORMAT values meaning a VOTable (DALI 1.1 §3.2.4: the shorthand and the MIME types)
VOTABLE_FORMATS = frozenset(
    {"votable", "application/x-votable+xml", "text/xml", "application/x-votable+xml;content=datalink"}
)


class VOError(Exception):
    """A DALI request the service cannot answer: the message goes back in a VOTable error document."""


class GranuleService:
    def __init__(self, pool: asyncpg.Pool, viewer: Viewer, settings: OidbSettings) -> None:
        self.pool = pool
        self.viewer = viewer
        self.settings = settings
        self.naming = Naming.of(settings)

    # JSON ------------------------------------------------------------------------------------------

    async def listing(
        self,
        *,
        target: str | None = None,
        cone: tuple[float | None, float | None, float | None] = (None, None, None),
        night: date | None = None,
        programme: str | None = None,
        instrument_mode: str | None = None,
        calib_level: int | None = None,
        quality_level: int | None = None,
        updated_since: datetime | None = None,
        superseded: bool = False,
        after: GranuleKey | None = None,
        limit: int,
    ) -> list[GranuleOut]:
        query = Query(self.viewer)
        if target is not None:
            query.add("lower(regexp_replace(g.target_name, '\\s', '', 'g')) = {}", name_key(target))
        self._cone(query, *cone)
        for column, value in (
            ("night", night), ("programme", programme), ("instrument_mode", instrument_mode),
            ("calib_level", calib_level), ("quality_level", quality_level),
        ):  # fmt: skip
            if value is not None:
                query.add(f"g.{column} = {{}}", value)
        if updated_since is not None:
            query.add("g.updated_at >= {}", updated_since)
        if not superseded:
            query.add("NOT g.superseded")
        query.after(["g.id"], after.values() if after else None)
        async with self.pool.acquire() as conn:
            rows = await GranuleStore(conn).select(query, ORDER, limit)
        return rows_to(GranuleOut, rows)

    def _cone(self, query: Query, ra: float | None, dec: float | None, radius: float | None) -> None:
        if ra is None and dec is None and radius is None:
            return
        if ra is None or dec is None or radius is None:
            raise INVALID_CONE("a cone needs ra, dec and radius (degrees)")
        if radius > self.settings.cone_max_radius:
            raise INVALID_CONE(
                f"radius {radius:g} is above the largest cone served, {self.settings.cone_max_radius:g} degrees"
            )
        query.near(ra % 360.0, dec, radius)

    async def granule(self, text: str) -> GranuleOut:
        """One granule by its uuid; unknown and not visible are the same answer."""
        try:
            granule_id = UUID(text)
        except ValueError:
            raise GRANULE_NOT_FOUND(f"no granule {text}") from None
        query = Query(self.viewer)
        query.add("g.granule_id = {}", granule_id)
        async with self.pool.acquire() as conn:
            rows = await GranuleStore(conn).select(query, ORDER, 1)
        if not rows:
            raise GRANULE_NOT_FOUND(f"no granule {text}")
        return row_to(GranuleOut, rows[0])

    # DataLink 1.1 {links} -------------------------------------------------------------------------

    async def links(self, params: Iterable[tuple[str, str]]) -> str:
        """The {links} of each ID (DALI: parameter names in any case, ID repeatable, RESPONSEFORMAT a
        VOTable or absent); each ID's rows together, in the order asked."""
        ids: list[str] = []
        for name, value in params:
            upper = name.upper()
            if upper == "RESPONSEFORMAT" and "".join(value.split()).lower() not in VOTABLE_FORMATS:
                raise VOError(f"UsageFault: RESPONSEFORMAT {value!r} is not supported (votable only)")
            if upper == "ID" and value.strip() and value.strip() not in ids:
                ids.append(value.strip())
        if len(ids) > self.settings.links_max_ids:
            raise VOError(f"UsageFault: at most {self.settings.links_max_ids} IDs in one request")
        parsed = {i: self.naming.parse(i) for i in ids}
        granule_ids = [p[1] for p in parsed.values() if p is not None and p[0] != "observation"]
        async with self.pool.acquire() as conn:
            store = GranuleStore(conn)
            query = Query(self.viewer)
            query.add("g.granule_id = ANY({}::uuid[])", granule_ids)
            granules = {r["granule_id"]: r for r in await store.select(query, ORDER, len(granule_ids) or 1)}
            observation_ids = [
                p[1] for p in parsed.values()
                if p is not None and (p[0] == "observation" or (p[0] == "either" and p[1] not in granules))
            ]  # fmt: skip
            derived = await self._derived(store, observation_ids)
        rows: list[Link] = []
        for identifier in ids:
            found = parsed[identifier]
            if found is not None and found[0] != "observation" and found[1] in granules:
                rows += self._granule_links(identifier, granules[found[1]])
            elif found is not None and derived.get(found[1]):
                rows += [self._derivation(identifier, g) for g in derived[found[1]]]
            else:
                # semantics is never null, not even on a fault row (datalinklint): the fault is the dataset's
                rows.append(Link(identifier, error_message=f"NotFoundFault: {identifier}", semantics="#this"))
        return votable.links(rows)

    async def _derived(self, store: GranuleStore, observation_ids: list[UUID]) -> dict[UUID, list[Any]]:
        """The visible current granules made from each observation."""
        if not observation_ids:
            return {}
        query = Query(self.viewer)
        query.add("g.observation_ids && {}::uuid[]", observation_ids)
        query.add("NOT g.superseded")
        derived: dict[UUID, list[Any]] = {}
        for row in await store.select(query, ORDER, self.settings.page_max):
            for observation_id in row["observation_ids"]:
                if observation_id in observation_ids:
                    derived.setdefault(observation_id, []).append(row)
        return derived

    def _granule_links(self, identifier: str, g: Mapping[str, Any]) -> list[Link]:
        what = _what(g)
        rows = [
            Link(identifier, access_url=g["access_url"], description=f"The OIFITS file of {what}",
                 semantics="#this", content_type=g["access_format"] or "application/fits",
                 content_length=g["access_size"]),
        ]  # fmt: skip
        rows += [
            Link(identifier, access_url=p["url"],
                 description=f"Quick-look plot of {what}: {PREVIEW_TITLES.get(p['kind'], p['kind'])}",
                 semantics="#preview", content_type=p["content_type"], content_length=p["size"])
            for p in g["previews"]
        ]  # fmt: skip
        rows += [
            Link(identifier, access_url=self.naming.observation_url(o),
                 description=f"The night-log observation {self.naming.l0_did(o)} it was reduced from",
                 semantics="#progenitor", content_type="application/json")
            for o in g["observation_ids"]
        ]  # fmt: skip
        return rows

    def _derivation(self, identifier: str, g: Mapping[str, Any]) -> Link:
        return Link(
            identifier,
            access_url=g["access_url"],
            description=f"Reduced OIFITS of {_what(g)} ({g['obs_publisher_did']})",
            semantics="#derivation",
            content_type=g["access_format"] or "application/fits",
            content_length=g["access_size"],
        )


def _what(g: Mapping[str, Any]) -> str:
    """``<target>, <instrument> <mode>, night <night>``."""
    instrument = (
        " ".join(x for x in (g["instrument_name"], g["instrument_mode"]) if x) or "unknown instrument"
    )
    return f"{g['target_name']}, {instrument}, night {g['night'].isoformat()}"
