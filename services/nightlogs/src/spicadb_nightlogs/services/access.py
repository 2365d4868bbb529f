"""Who sees what of the night logs.

Observations of a programme are visible to its members always, to every reader once released (the
end of the observation plus the programme's proprietary period), to admins and to the trusted robots
(the kit's data-rights rule, on this service's copy of the programmes' rights). Observations that
matched no programme are seen by admins, trusted robots and the flaggers (nightlogs:flag) only; flaggers
see every observation, since judging them is their job. A hidden observation answers 404, as
one that does not exist. Plans show the entries of the programmes the caller may see (public ones,
their own), all of them to admins and robots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from spicadb_kit.auth import Principal
from spicadb_kit.rights import Viewer

from ..domain import SITES, night_date
from ..problems import NIGHT_NOT_FOUND, SITE_NOT_FOUND

# the night astronomers who flag observations judge every programme's data
STAFF = frozenset({"nightlogs:flag"})


@dataclass(frozen=True)
class Caller:
    username: str
    viewer: Viewer

    @classmethod
    def of(cls, principal: Principal, trusted_clients: frozenset[str]) -> Caller:
        return cls(principal.subject, Viewer.of(principal, trusted_clients, STAFF))

    @property
    def sees_all(self) -> bool:
        return self.viewer.sees_all

    async def programmes_seen(self, conn: asyncpg.Connection) -> set[str] | None:
        """The programme codes whose plans the caller sees (None: all)."""
        if self.sees_all:
            return None
        rows = await conn.fetch(
            "SELECT code FROM programme_rights WHERE public OR $1 = ANY(members)", self.username
        )
        return {r["code"] for r in rows}


def site_night(site: str, night: str) -> tuple[str, date]:
    """The (site, date) of a path; 404 for an unknown site or a date that is not in the calendar."""
    if site not in SITES:
        raise SITE_NOT_FOUND(f"no site {site!r}: the night logs know {', '.join(SITES)}")
    day = night_date(night)
    if day is None:
        raise NIGHT_NOT_FOUND(f"no night {night!r}: a night is a date YYYY-MM-DD of the calendar")
    return site, day
