"""Granule <-> night-log observation links, both ways: a pushed file's granules find the observations
already logged; an observation logged (or withdrawn) later finds the granules already pushed. A change of
an existing granule's links leaves as ``oifits.granule.linked`` with the whole current list."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from spicadb_contracts.bounds import LINKED_OBSERVATIONS
from spicadb_contracts.nightlogs import ObservationLogged
from spicadb_contracts.oifits import GranuleLinked
from spicadb_kit.events import Outbox
from spicadb_kit.rows import row_to

from ..config import OifitsSettings
from ..domain import ObservationRow, link_reason, name_key, raw_stem
from ..granules import Granule
from ..storage.observations import ObservationStore

Link = tuple[UUID, str, str | None]  # observation id, matched_by, the observation's programme
_RANK = {"raw-file": 0, "name": 1, "position": 2}


class Linker:
    def __init__(self, conn: asyncpg.Connection, settings: OifitsSettings) -> None:
        self.store = ObservationStore(conn)
        self.slack = settings.link_slack_minutes / 1440.0
        self.radius = settings.link_radius_arcsec

    async def for_granule(self, granule: Granule, programme: str | None) -> list[Link]:
        """The observations a new granule came from, with how each was recognised."""
        found = []
        for row in await self.store.candidates(granule.t_min, granule.t_max, self.slack, granule.obs_id):
            reason = self._reason(granule, programme, row)
            if reason:
                found.append((UUID(row.observation_id), reason, row.programme))
        # file.indexed lists them: at most LINKED_OBSERVATIONS (spicadb_contracts.bounds), the DRS's raw
        # files first, then names, then positions
        return sorted(found, key=lambda link: _RANK.get(link[1], len(_RANK)))[:LINKED_OBSERVATIONS]

    def _reason(self, granule: Granule, programme: str | None, row: ObservationRow) -> str | None:
        return link_reason(granule, programme, row, slack_days=self.slack, radius_arcsec=self.radius)

    async def observations_logged(self, events: Sequence[ObservationLogged], outbox: Outbox) -> None:
        """Keep the copy, drop links to withdrawn observations, link pushed granules to new ones."""
        await self.store.upsert([_copy(e) for e in events])
        withdrawn = [e.observation_id for e in events if e.withdrawn]
        touched = set(await self.store.unlink_withdrawn(withdrawn)) if withdrawn else set()
        for event in events:
            if not event.withdrawn:
                touched |= await self._link_back(event)
        await self._announce(sorted(touched), outbox)

    async def _link_back(self, event: ObservationLogged) -> set[UUID]:
        raws = [raw_stem(r) for r in event.raw_files]
        observation = ObservationRow(
            observation_id=str(event.observation_id),
            programme=event.programme,
            target_key=name_key(event.target_name),
            ra=event.ra,
            dec=event.dec,
            mjd_start=event.mjd_start,
            mjd_end=event.mjd_end,
            raw_files=raws,
        )
        new, placed = [], set()
        for record in await self.store.granules_near(event.mjd_start, event.mjd_end, self.slack, raws):
            granule = _granule_of(record)
            reason = self._reason(granule, record["programme"], observation)
            if reason:
                new.append((record["id"], event.observation_id, reason))
                programme = event.programme if record["programme"] is None else None
                if programme and await self.store.set_programme(record["id"], programme):
                    placed.add(record["id"])
        before = await self.store.links_of([g for g, _, _ in new])
        # a granule already linked to LINKED_OBSERVATIONS keeps them (granule.linked lists them all)
        new = [(g, o, r) for g, o, r in new if o in before[g] or len(before[g]) < LINKED_OBSERVATIONS]
        await self.store.link(new)
        # a granule linked before that takes its observation's programme now (an admin attached the
        # observation to one) is announced too: the views give it that programme's rights
        return {g for g, o, _ in new if o not in before[g]} | placed

    async def _announce(self, granule_ids: Sequence[UUID], outbox: Outbox) -> None:
        if not granule_ids:
            return
        links = await self.store.links_of(granule_ids)
        records = await self.store.granules(granule_ids)
        events = [
            (
                str(r["id"]),
                row_to(GranuleLinked, r, granule_id=r["id"], observation_ids=sorted(links[r["id"]])),
            )
            for r in records
        ]
        await outbox.add_many(self.store.conn, events)


def _copy(e: ObservationLogged) -> dict[str, object]:
    return {
        "observation_id": e.observation_id,
        "site": e.site,
        "night": e.night,
        "log_version": e.log_version,
        "programme": e.programme,
        "target_name": e.target_name,
        "target_key": name_key(e.target_name),
        "ra": e.ra,
        "dec": e.dec,
        "mjd_start": e.mjd_start,
        "mjd_end": e.mjd_end,
        "raw_files": [raw_stem(r) for r in e.raw_files],
        "withdrawn": e.withdrawn,
    }


def _granule_of(record: asyncpg.Record) -> Granule:
    """The stored granule, as the link rule reads it."""
    return row_to(Granule, record)
