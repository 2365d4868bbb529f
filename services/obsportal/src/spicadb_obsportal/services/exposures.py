"""Reading the L0 view, always through the data-rights rule: the REST listing, Aspro2's
search.votable and the Simple Cone Search."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import asyncpg

from spicadb_kit.rights import Viewer
from spicadb_kit.rows import row_to, rows_to

from .. import votable
from ..config import ObsportalSettings
from ..domain import INSTRUMENT, INTERFEROMETER, parse_exp_id
from ..models import Baseline, ExposureOut, PlannedOut
from ..problems import EXPOSURE_NOT_FOUND
from ..storage.exposures import ExposureKey, ExposureStore, PlannedKey, Query, vo_columns
from ..votable import Field

# vo-interop.md §11: ObsPortal's search.votable FIELDs, exactly these names in this order
FIELDS = (
    Field("exp_id", "unicodeChar", "meta.id"),
    Field("exp_header_id", "unicodeChar", "meta.id"),
    Field("exp_mjd_start", "double", "time.start;obs.exposure", "d"),
    Field("exp_mjd_end", "double", "time.end;obs.exposure", "d"),
    Field("exp_projected_baselines", "unicodeChar", "instr.baseline"),
    Field("exp_validation_level", "int", "meta.code.qual"),
    Field("exp_validation_log", "unicodeChar"),
    Field("exp_tau0", "double", "time.processing", "s"),
    Field("exp_temperature", "double", "phys.temperature", "deg"),
    Field("exp_seeing", "double", "instr.obsty.seeing", "as"),
    Field("exp_date_updated", "unicodeChar", "time.processing"),
    Field("exp_date_release", "unicodeChar", "time.release;obs"),
    Field("obs_id", "int", "meta.id"),
    Field("obs_type", "unicodeChar", "meta.id;class"),
    Field("obs_program", "unicodeChar", "meta.id"),
    Field("obs_program_title", "unicodeChar", "meta.title"),
    Field("obs_program_pi_coi", "unicodeChar", "meta.curation;obs.observer"),
    Field("interferometer_name", "unicodeChar", "meta.id"),
    Field("interferometer_stations", "unicodeChar"),
    Field("instrument_name", "unicodeChar", "meta.id;instr"),
    Field("instrument_mode", "unicodeChar", "meta.id;instr.setup"),
    Field("instrument_submode", "unicodeChar", "meta.id;instr.setup"),
    Field("instrument_em_min", "double", "em.wl;stat.min", "m"),
    Field("instrument_em_max", "double", "em.wl;stat.max", "m"),
    Field("instrument_em_res_power", "double", "spect.resolution"),
    Field("target_id", "int", "meta.id"),
    Field("target_name", "unicodeChar", "meta.id;meta.main"),
    Field("target_ra", "double", "pos.eq.ra;meta.main", "deg"),
    Field("target_dec", "double", "pos.eq.dec;meta.main", "deg"),
    # not ObsPortal's: the ID of the rows' DataLink links (Aspro2 and OiDB read fields by name)
    votable.DID_FIELD,
)
NAMES = [f.name for f in FIELDS]

# The cone search's table: the same columns, each row an exposure, so the exposure id is the main id
# (SCS 1.03: exactly one meta.id;meta.main, pos.eq.ra;meta.main and pos.eq.dec;meta.main)
_SCS_UCD = {"exp_id": "meta.id;meta.main", "target_name": "meta.id;src"}
_SCS_ALL = tuple(
    f._replace(ucd=_SCS_UCD.get(f.name, f.ucd), ref="icrs" if f.name in ("target_ra", "target_dec") else None)
    for f in FIELDS
)
# each ends with the DataLink ID the answer's service descriptor refers to
_VERB = {
    1: ("exp_id", "target_ra", "target_dec", "obs_publisher_did"),
    2: ("exp_id", "exp_mjd_start", "exp_mjd_end", "exp_validation_level", "exp_date_release", "obs_program",
        "instrument_name", "instrument_mode", "target_name", "target_ra", "target_dec", "obs_publisher_did"),
    3: tuple(NAMES),
}  # fmt: skip
SCS_FIELDS = {verb: [_SCS_ALL[NAMES.index(n)] for n in names] for verb, names in _VERB.items()}

# the SQL of each table's columns: constant texts (asyncpg prepares each once per connection)
_SEARCH_SQL = vo_columns(NAMES, last_modified=True)
_SCS_SQL = {verb: vo_columns(names) for verb, names in _VERB.items()}

LISTING_ORDER = "e.mjd_start, e.id"
# the columns of JSON text (storage.exposures.COLUMNS), decoded straight into their types
JSON_COLUMNS = {"baselines": list[Baseline], "validation.log": list[str]}


class VOError(Exception):
    """A VO request the service cannot answer: the message goes back inside a VOTable."""


def _number(params: Mapping[str, str], name: str, low: float, high: float, *, shown: str) -> float | None:
    text = params.get(name)
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise VOError(f"{shown} must be a number (got {text!r})") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise VOError(f"{shown} must be between {low:g} and {high:g} (got {text!r})")
    return value


def _moment(text: str, *, name: str, end: bool) -> tuple[datetime, bool]:
    """A date (``YYYY-MM-DD``: the whole day) or an ISO date and time (UTC unless it says otherwise);
    the moment and whether it is inclusive."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end and day == date.max:  # the calendar's last day ends at its last microsecond
                return datetime.max.replace(tzinfo=UTC), True
            return (start + timedelta(days=1), False) if end else (start, True)
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise VOError(f"{name} must be a date or an ISO date and time (got {text!r})") from None
    try:  # an offset may carry a moment at the calendar's ends out of it
        return (moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)), True
    except OverflowError:
        raise VOError(f"{name} is outside the calendar once in UTC (got {text!r})") from None


class ObsportalService:
    def __init__(self, pool: asyncpg.Pool, viewer: Viewer, settings: ObsportalSettings) -> None:
        self.pool = pool
        self.viewer = viewer
        self.settings = settings
        self.links = votable.DataLink(settings.public_url, settings.l0_did_prefix)

    # REST ----------------------------------------------------------------------------------------

    async def listing(
        self,
        *,
        night_from: date | None = None,
        night_to: date | None = None,
        programme: str | None = None,
        target: str | None = None,
        mode: str | None = None,
        level: str | None = None,
        after: ExposureKey | None = None,
        limit: int,
    ) -> list[ExposureOut]:
        query = Query(self.viewer)
        query.when("e.night >= {}", night_from)
        query.when("e.night <= {}", night_to)
        query.when("e.programme = {}", programme)
        if target is not None:
            query.add(
                "e.target_id IN (SELECT t.id FROM target t WHERE t.name_key LIKE '%' || {} || '%')",
                " ".join(target.lower().split()),
            )
        query.when("e.mode = {}", mode)
        query.when("e.level = {}", level)
        query.after(["e.mjd_start", "e.id"], after.values() if after else None)
        async with self.pool.acquire() as conn:
            rows = await ExposureStore(conn).select(query, LISTING_ORDER, limit)
        return rows_to(ExposureOut, rows, decode=JSON_COLUMNS)

    async def exposure(self, exp: str) -> ExposureOut:
        parsed = parse_exp_id(exp)
        if parsed is None:
            raise EXPOSURE_NOT_FOUND(f"no exposure {exp}")
        query = Query(self.viewer)
        query.add("e.id = {} AND e.exp_header_id = {}", parsed[1], parsed[0])
        async with self.pool.acquire() as conn:
            rows = await ExposureStore(conn).select(query, "e.id", 1)
        if not rows:
            raise EXPOSURE_NOT_FOUND(f"no exposure {exp}")
        return row_to(ExposureOut, rows[0], decode=JSON_COLUMNS)

    async def planned(
        self,
        *,
        night_from: date | None,
        night_to: date | None,
        site: str | None,
        programme: str | None,
        observed: bool | None,
        after: PlannedKey | None = None,
        limit: int,
    ) -> list[PlannedOut]:
        async with self.pool.acquire() as conn:
            rows = await ExposureStore(conn).planned(
                self.viewer,
                night_from=night_from,
                night_to=night_to,
                site=site,
                programme=programme,
                observed=observed,
                after=after,
                limit=limit,
            )
        return rows_to(PlannedOut, rows)

    # search.votable (Aspro2, OiDB) ---------------------------------------------------------------

    async def search(self, params: Mapping[str, str]) -> str:
        """ObsPortal's search: a cone (``ra``, ``dec`` in degrees, ``radius`` in arcseconds), and/or
        OiDB's harvesting filters (``instrument``, ``interferometer``, ``date_updated_from``/``_to``).
        ``all_fields`` is accepted and ignored (every field is always written)."""
        ra = _number(params, "ra", 0.0, 360.0, shown="ra")
        dec = _number(params, "dec", -90.0, 90.0, shown="dec")
        radius = _number(params, "radius", 0.0, self.settings.search_max_radius, shown="radius (arcsec)")
        query = Query(self.viewer)
        if (ra is None) != (dec is None):
            raise VOError("ra and dec go together")
        if ra is not None and dec is not None:
            query.near(ra % 360.0, dec, (30.0 if radius is None else radius) / 3600.0)
            order = "e.mjd_start, e.id"
        else:
            order = "e.updated_at, e.id"
        empty = False
        instrument = params.get("instrument")
        if instrument and instrument.strip().upper() != INSTRUMENT:
            empty = True
        interferometer = params.get("interferometer")
        if interferometer and interferometer.strip().upper() != INTERFEROMETER:
            empty = True
        for name, end in (("date_updated_from", False), ("date_updated_to", True)):
            text = params.get(name)
            if text and text.strip():
                moment, inclusive = _moment(text, name=name, end=end)
                operator = (">=" if inclusive else ">") if not end else ("<=" if inclusive else "<")
                query.add(f"e.updated_at {operator} {{}}", moment)
        async with self.pool.acquire() as conn:
            store = ExposureStore(conn)
            # the rows and the view's last change in one statement (the last column of every row)
            rows = (
                [] if empty else await store.select(query, order, self.settings.votable_max_rows, _SEARCH_SQL)
            )
            modified = rows[0][-1] if rows else await store.last_modified()
        head = votable.Resource(
            params=[votable.param("status", "OK"), votable.param("last_mod_date", modified)]
        )
        return self.links.table(FIELDS, rows, resource=head)

    # Simple Cone Search 1.03 -----------------------------------------------------------------------

    async def cone(self, params: Mapping[str, str]) -> str:
        upper = {k.upper(): v for k, v in params.items()}
        for name in ("RA", "DEC", "SR"):
            if not (upper.get(name) or "").strip():
                raise VOError(f"{name} is required (ICRS decimal degrees)")
        ra = _number(upper, "RA", 0.0, 360.0, shown="RA")
        dec = _number(upper, "DEC", -90.0, 90.0, shown="DEC")
        sr = _number(upper, "SR", 0.0, 180.0, shown="SR")
        if ra is None or dec is None or sr is None:
            raise VOError("RA, DEC and SR are required (ICRS decimal degrees)")
        if sr > self.settings.scs_max_sr:
            raise VOError(f"SR {sr:g} is above the largest cone served, {self.settings.scs_max_sr:g} degrees")
        try:
            verb = int(upper.get("VERB") or 2)
        except ValueError:
            verb = 2
        if verb not in SCS_FIELDS:
            verb = 2
        fields = SCS_FIELDS[verb]
        if sr == 0:
            rows: Sequence[asyncpg.Record] = []  # a metadata query: the table's FIELDs, no rows
        else:
            query = Query(self.viewer)
            query.near(ra % 360.0, dec, sr)
            async with self.pool.acquire() as conn:
                rows = await ExposureStore(conn).select(
                    query, "e.mjd_start, e.id", self.settings.votable_max_rows, _SCS_SQL[verb]
                )
        head = votable.Resource(
            infos=[
                votable.info("QUERY_STATUS", "OK"),
                votable.info("maxSR", repr(self.settings.scs_max_sr), text="largest SR served, degrees"),
            ],
            coosys=[votable.Coosys("icrs", "ICRS")],
        )
        return self.links.table(fields, rows, resource=head)
