"""obsportal.exposures checks the rights on the programme row it joins once, not in a subquery on
programme_rights per row (rights.published_visible_sql's EXISTS under an OR, which PostgreSQL cannot turn
into a join: most of the time of a large read or a COUNT). Which rows each viewer sees is
test_obsportal_exposures_view's; this is the plan's shape, with no timing."""

from __future__ import annotations

import asyncpg
import pytest
from obsportal_support import ObsportalService
from published_plans import per_row_reads, plan

from spicadb_kit.rights import Viewer

VIEWERS = (Viewer(None), Viewer("ada"), Viewer("robot", sees_all=True))
CONE = (
    "spoint(radians(target_ra), radians(target_dec))"
    " @ scircle(spoint(radians(120.0), radians(10.0)), radians(0.5))"
)
READS = (
    "SELECT count(*) FROM obsportal.exposures",
    "SELECT * FROM obsportal.exposures",
    f"SELECT * FROM obsportal.exposures WHERE {CONE}",
)


@pytest.fixture
async def exposures(service: ObsportalService) -> ObsportalService:
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        await conn.execute("SET search_path TO obsportal, public")
        await conn.execute(
            "INSERT INTO programme_rights (programme_id, code, title, pi, public, proprietary_months, members)"
            " SELECT gen_random_uuid(), 'LP-' || i, 'P' || i, 'ada', false, 18, '{ada}'"
            " FROM generate_series(1, 40) i"
        )
        await conn.execute("INSERT INTO target (name_key, name) VALUES ('t', 'T')")
        await conn.execute(
            "INSERT INTO exposure (observation_id, exp_header_id, site, night, log_version, programme, target_id,"
            " kind, mode, mjd_start, mjd_end, date_end, ra, dec, logged_at)"
            " SELECT gen_random_uuid(), 'SPICA.x', 'CHARA', '2026-01-01', 1,"
            " CASE WHEN i % 10 = 0 THEN NULL ELSE 'LP-' || (1 + i % 41) END, (SELECT id FROM target),"
            " CASE WHEN i % 5 = 0 THEN 'calibrator' ELSE 'science' END, 'LR', 60000, 60000.01,"
            " now() - (i % 7) * interval '200 days', (i * 0.0137) % 360, (i * 0.0071) % 180 - 90, now()"
            " FROM generate_series(1, 20000) i"
        )
        await conn.execute("ANALYZE exposure; ANALYZE programme_rights")
    finally:
        await conn.close()
    return service


async def test_no_read_of_the_view_looks_the_programme_up_per_row(exposures: ObsportalService) -> None:
    for viewer in VIEWERS:
        for sql in READS:
            tree = await plan(exposures.admin_dsn, viewer, sql)
            assert "programme_rights" not in per_row_reads(tree), (viewer, sql, tree)
            assert "exposure" not in per_row_reads(tree), (viewer, sql)
