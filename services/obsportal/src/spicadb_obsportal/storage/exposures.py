"""Reading the L0 view: every query goes through :class:`Query`, which always applies the data-rights
rule (the kit's ``visible_sql``) and hides withdrawn observations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from spicadb_kit.pagination import Cursor, Float8, Int8
from spicadb_kit.rights import Viewer, release_sql, visible_sql
from spicadb_kit.sql import Where

from ..domain import INSTRUMENT, INTERFEROMETER, LEVELS

# The target's name is looked up per row found (its primary key), never joined as a whole table: a
# cone's rows come from the GiST index, whose selectivity the planner cannot guess (it would hash
# every target for a few rows).
TARGET_NAME = "(SELECT t.name FROM target t WHERE t.id = e.target_id)"
# calibrators are released when observed, as every view does (the kit's rule)
CALIBRATOR = "e.kind = 'calibrator'"
RELEASE = release_sql("e.programme", "e.date_end", calibrator=CALIBRATOR)
FROM = "exposure e LEFT JOIN programme_rights p ON p.code = e.programme"


def _date(moment: str) -> str:
    """ObsPortal's ``YYYY-MM-DD hh:mm:ss+00:00`` of a timestamptz (NULL stays NULL)."""
    return f"""to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00:00"')"""


_LEVEL = "CASE e.level" + "".join(f" WHEN '{k}' THEN {v}" for k, v in LEVELS.items() if v) + " ELSE 0 END"

# The REST answer's columns, each named as its field of models.ExposureOut ("struct.field": a nested one;
# the two of JSON text decoded by services.exposures.JSON_COLUMNS)
COLUMNS = (
    "e.exp_header_id || '_' || e.id AS exp_id, e.exp_header_id, e.id AS obs_id, e.observation_id, e.site,"
    " e.night, e.log_version, e.mjd_start, e.mjd_end, e.kind AS obs_type, e.programme,"
    f" p.title AS programme_title, p.pi AS programme_pi, e.target_id, {TARGET_NAME} AS target_name, e.ra, e.dec,"
    f" e.matched_by, '{INSTRUMENT}' AS instrument, e.mode, '{INTERFEROMETER}' AS interferometer, e.stations,"
    ' e.em_min, e.em_max, e.resolving_power, e.seeing AS "conditions.seeing", e.tau0 AS "conditions.tau0",'
    ' e.wind AS "conditions.wind", e.airmass AS "conditions.airmass",'
    ' e.temperature AS "conditions.temperature", e.baselines, e.level AS "validation.level",'
    f' {_LEVEL} AS "validation.exp_validation_level", e.validation_log AS "validation.log",'
    ' e.flag_reasons AS "validation.reasons", e.flag_comment AS "validation.comment",'
    ' e.flagged_by AS "validation.flagged_by", e.flagged_at AS "validation.flagged_at",'
    ' e.flags AS "validation.flags", e.planned_sequence, e.comments, e.raw_files, e.updated_at AS date_updated,'
    f" {RELEASE} AS date_release"
)

# ObsPortal's search.votable FIELDs (services.exposures.FIELDS), each as SQL giving the value served:
# a VO answer is read as stored and formatted, nothing computed per row in Python
VO_VALUES: dict[str, str] = {
    "exp_id": "e.exp_header_id || '_' || e.id",
    "exp_header_id": "e.exp_header_id",
    "exp_mjd_start": "e.mjd_start",
    "exp_mjd_end": "e.mjd_end",
    "exp_projected_baselines": "e.projected_baselines",
    "exp_validation_level": _LEVEL,
    "exp_validation_log": "e.validation_log",
    "exp_tau0": "e.tau0",
    "exp_temperature": "e.temperature",
    "exp_seeing": "e.seeing",
    "exp_date_updated": _date("e.updated_at"),
    "exp_date_release": _date(RELEASE),
    "obs_id": "e.id",
    "obs_type": "e.kind",
    "obs_program": "coalesce(e.programme, '')",
    "obs_program_title": "coalesce(p.title, '')",
    "obs_program_pi_coi": "coalesce(p.pi, '')",
    "interferometer_name": f"'{INTERFEROMETER}'",
    "interferometer_stations": "array_to_string(e.stations, ' ')",
    "instrument_name": f"'{INSTRUMENT}'",
    "instrument_mode": "e.mode",
    "instrument_submode": "''",
    "instrument_em_min": "e.em_min",
    "instrument_em_max": "e.em_max",
    "instrument_em_res_power": "e.resolving_power",
    "target_id": "e.target_id",
    "target_name": TARGET_NAME,
    "target_ra": "e.ra",
    "target_dec": "e.dec",
    # the observation's uuid: the answer writes it as <l0_did_prefix>?<uuid> (votable.DataLink)
    "obs_publisher_did": "e.observation_id",
}


class ExposureKey(Cursor, frozen=True):
    """The exposures listing's keyset (ORDER BY mjd_start, id)."""

    mjd_start: Float8
    id: Int8


class PlannedKey(Cursor, frozen=True):
    """The planned-versus-observed listing's keyset (ORDER BY night, site, sequence)."""

    night: date
    site: str
    sequence: Int8


class Query(Where):
    """A WHERE clause and its arguments, starting with what the viewer may see."""

    def __init__(self, viewer: Viewer) -> None:
        visible = visible_sql("e.programme", "e.date_end", "$1::text", "$2::boolean", calibrator=CALIBRATOR)
        super().__init__(viewer.username, viewer.sees_all, conditions=["NOT e.withdrawn", visible])

    def near(self, ra: float, dec: float, radius_deg: float) -> None:
        """Exposures within ``radius_deg`` of (ra, dec): the GiST index on the pgSphere points."""
        self.cone("e.ra", "e.dec", ra, dec, radius_deg)

    def sql(self, order: str, limit: int, columns: str = COLUMNS) -> str:
        return f"SELECT {columns} FROM {FROM} WHERE {self.clause()} ORDER BY {order} LIMIT {int(limit)}"


def vo_columns(names: Sequence[str], *, last_modified: bool = False) -> str:
    """The SQL of a VO table's columns (VO_VALUES by FIELD name), in that order; with
    ``last_modified`` a last one, the view's last change (the same for every row: one round trip)."""
    columns = [VO_VALUES[name] for name in names]
    if last_modified:
        columns.append(f"{_date('(SELECT max(updated_at) FROM exposure)')} AS last_mod_date")
    return ", ".join(columns)


class ExposureStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def select(
        self, query: Query, order: str, limit: int, columns: str = COLUMNS
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(query.sql(order, limit, columns), *query.args)
        return rows

    async def last_modified(self) -> str:
        """The view's last change, as ObsPortal writes it ('' when empty)."""
        return await self.conn.fetchval(f"SELECT {_date('max(updated_at)')} FROM exposure") or ""

    async def planned(
        self,
        viewer: Viewer,
        *,
        night_from: date | None,
        night_to: date | None,
        site: str | None,
        programme: str | None,
        observed: bool | None,
        after: PlannedKey | None = None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """The entries of the plans in force, each with the exposures that observed it (visible ones), as
        models.PlannedOut."""
        visible = visible_sql("pe.programme", "pe.end_at", "$1::text", "$2::boolean")
        seen = visible_sql("e.programme", "e.date_end", "$1::text", "$2::boolean", calibrator=CALIBRATOR)
        where = Where(viewer.username, viewer.sees_all, conditions=[visible])
        where.when("pe.night >= {}", night_from)
        where.when("pe.night <= {}", night_to)
        where.when("pe.site = {}", site)
        where.when("pe.programme = {}", programme)
        where.when("(cardinality(o.exposures) > 0) = {}", observed)
        where.after(["pe.night", "pe.site", "pe.sequence"], after.values() if after else None)
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT pe.site, pe.night, pe.sequence, np.version AS plan_version, pe.programme, pe.target, pe.mode,"
            ' pe.configuration, pe.start_at AS start, pe.end_at AS "end", pe.calibrators, pe.target_ref,'
            " cardinality(o.exposures) > 0 AS observed, o.exposures"
            " FROM plan_entry pe JOIN night_plan np USING (site, night)"
            " CROSS JOIN LATERAL (SELECT coalesce(array_agg(e.exp_header_id || '_' || e.id ORDER BY e.id),"
            "  '{}') AS exposures FROM exposure e WHERE e.site = pe.site AND e.night = pe.night"
            f"  AND e.planned_sequence = pe.sequence AND NOT e.withdrawn AND {seen}) o"
            f" WHERE {where.clause()} ORDER BY pe.night, pe.site, pe.sequence LIMIT {int(limit)}",
            *where.args,
        )
        return rows
