"""The rules of the OiDB table that live in Python: identifiers (publisher DIDs, L0 IDs), URLs, sizes and
names. The quality rule and the release date are the database's (migration 0001: oidb_quality_level,
the view oidb_granule), so every reader, a future TAP service included, sees the same values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from .config import OidbSettings

MJD_ZERO = datetime(1858, 11, 17, tzinfo=UTC)

# the night logs' flags, from the best to the worst (the worst linked one is the granule's)
FLAG_LEVELS = ("unknown", "good", "usable", "degraded", "bad")
# OiDB's quality_level scale
QUALITY_LEVELS = {
    0: "Unknown", 1: "Trash", 2: "To be reduced again", 3: "Quick look", 4: "Science ready", 5: "Outstanding",
}  # fmt: skip
# what each quick-look plot of the oifits service shows (Preview.kind)
PREVIEW_TITLES = {
    "uv": "UV coverage",
    "vis2": "squared visibility against spatial frequency",
    "t3phi": "closure phase against spatial frequency",
}

IdKind = Literal["granule", "observation", "either"]


def mjd_datetime(mjd: float) -> datetime:
    return MJD_ZERO + timedelta(days=mjd)


def kilobytes(size: int) -> int:
    """ObsCore's access_estsize as OiDB fills it: the size in bytes div 1000."""
    return size // 1000


def name_key(name: str) -> str:
    """Target names as compared: lower case, no blanks (``HD 1234`` is ``hd1234``); the SQL twin is
    ``lower(regexp_replace(target_name, '\\s', '', 'g'))``."""
    return "".join(name.lower().split())


@dataclass(frozen=True)
class Naming:
    """How granules and observations are named and reached from outside (settings)."""

    collection: str
    publisher_did_prefix: str
    l0_did_prefix: str
    public_url: str

    @classmethod
    def of(cls, settings: OidbSettings) -> Naming:
        return cls(
            collection=settings.obs_collection,
            publisher_did_prefix=settings.publisher_did_prefix,
            l0_did_prefix=settings.l0_did_prefix,
            public_url=settings.public_url.rstrip("/"),
        )

    def publisher_did(self, granule_id: UUID) -> str:
        return f"{self.publisher_did_prefix}?{granule_id}"

    def l0_did(self, observation_id: UUID) -> str:
        return f"{self.l0_did_prefix}?{observation_id}"

    def absolute(self, url: str) -> str:
        """An URL as a VO client can follow it: one relative to the platform gets the public URL."""
        return f"{self.public_url}{url}" if url.startswith("/") else url

    def observation_url(self, observation_id: UUID) -> str:
        """Where the night-log observation is read (the nightlogs service, its own rights)."""
        return f"{self.public_url}/nightlogs/observations/{observation_id}"

    def parse(self, identifier: str) -> tuple[IdKind, UUID] | None:
        """A DataLink ID: a granule's publisher DID, an L0 observation's ID, or a bare uuid (a granule
        if there is one, else an observation); None when it is none of these."""
        text = identifier.strip()
        prefixes: tuple[tuple[str, IdKind], ...] = (
            (self.publisher_did_prefix, "granule"),
            (self.l0_did_prefix, "observation"),
        )
        kind: IdKind = "either"
        for prefix, named in prefixes:
            head = f"{prefix}?"
            if text[: len(head)].lower() == head.lower():  # the authority is case-insensitive
                text, kind = text[len(head) :], named
                break
        found = _uuid(text)
        return None if found is None else (kind, found)


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None
