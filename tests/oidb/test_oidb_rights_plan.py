"""ivoa.obscore and spicadb.links check the rights on the programme row they join once, not in a subquery on
programme_rights per row (rights.published_visible_sql's EXISTS under an OR, which PostgreSQL cannot turn
into a join: most of the time of a large read or a COUNT). Which rows each viewer sees is
test_oidb_obscore_view's; this is the plan's shape, with no timing."""

from __future__ import annotations

import asyncpg
import pytest
from oidb_support import OidbService
from published_plans import per_row_reads, plan

from spicadb_kit.rights import Viewer

VIEWERS = (Viewer(None), Viewer("ada"), Viewer("robot", sees_all=True))
CONE = "spoint(radians(s_ra), radians(s_dec)) @ scircle(spoint(radians(120.0), radians(10.0)), radians(0.5))"
READS = (
    "SELECT count(*) FROM ivoa.obscore",
    "SELECT * FROM ivoa.obscore",
    f"SELECT * FROM ivoa.obscore WHERE {CONE}",
    "SELECT count(*) FROM spicadb.links",
    "SELECT * FROM spicadb.links",
)


@pytest.fixture
async def granules(service: OidbService) -> OidbService:
    conn = await asyncpg.connect(service.admin_dsn)
    try:
        await conn.execute("SET search_path TO oidb, public")
        await conn.execute(
            "INSERT INTO programme_rights (programme_id, code, title, pi, public, proprietary_months, members)"
            " SELECT gen_random_uuid(), 'LP-' || i, 'P' || i, 'ada', false, 18, '{ada}'"
            " FROM generate_series(1, 40) i"
        )
        await conn.execute(
            "INSERT INTO granule (calib_level, target_name, obs_collection, obs_publisher_did, access_url, s_ra,"
            " s_dec, t_min, t_max, nb_channels, subdate, granule_id, file_id, night, obs_end, programme,"
            " dataproduct_category, observation_ids)"
            " SELECT 2, 'T' || i, 'SPICA', 'ivo://test?' || i, 'http://test/' || i, (i * 0.0137) % 360,"
            " (i * 0.0071) % 180 - 90, 60000, 60000.1, 10, now(), gen_random_uuid(), gen_random_uuid(),"
            " '2026-01-01', now() - (i % 7) * interval '200 days',"
            " CASE WHEN i % 10 = 0 THEN NULL ELSE 'LP-' || (1 + i % 41) END,"
            " CASE WHEN i % 5 = 0 THEN 'CALIB' ELSE 'SCIENCE' END, ARRAY[gen_random_uuid()]"
            " FROM generate_series(1, 20000) i"
        )
        await conn.execute("ANALYZE granule; ANALYZE programme_rights")
    finally:
        await conn.close()
    return service


async def test_no_read_of_the_views_looks_the_programme_up_per_row(granules: OidbService) -> None:
    for viewer in VIEWERS:
        for sql in READS:
            tree = await plan(granules.admin_dsn, viewer, sql)
            assert "programme_rights" not in per_row_reads(tree), (viewer, sql, tree)
            assert "granule" not in per_row_reads(tree), (viewer, sql)
