"""pyvo's TAPService against the live tap service behind the gateway, as astronomers call it: run_sync,
run_async, an uploaded table joined to ivoa.ObsCore by DISTANCE, .tables, .capabilities, .maxrec and
.hardlimit, TOPCAT's typical cone query, and iter_datalinks() from an ObsCore result to the oidb
service's DataLink links. pyvo blocks: each call runs in a thread while this event loop serves the
platform; a member's calls carry their token in the requests session."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import pyvo
import requests
from astropy.table import Table
from tap_support import MEMBER, TapPlatform, granule

T = TypeVar("T")
RELEASED_END = datetime(2020, 9, 24, 7, tzinfo=UTC)
# the 30 mandatory columns of ObsCore 1.1
OBSCORE = {
    "dataproduct_type", "calib_level", "obs_collection", "obs_id", "obs_publisher_did", "access_url",
    "access_format", "access_estsize", "target_name", "s_ra", "s_dec", "s_fov", "s_region", "s_resolution",
    "s_xel1", "s_xel2", "t_min", "t_max", "t_exptime", "t_resolution", "t_xel", "em_min", "em_max",
    "em_res_power", "em_xel", "o_ucd", "pol_states", "pol_xel", "facility_name", "instrument_name",
}  # fmt: skip


@dataclass
class Sky:
    code: str
    released: str
    proprietary: str
    position: tuple[float, float]
    released_did: str


@pytest.fixture(scope="module")
async def sky(tap_platform: TapPlatform) -> Sky:
    """A released granule and a proprietary one 0.01 deg apart, the released one reduced from an
    observation, in a programme of their own."""
    code = await tap_platform.programme()
    tag = code[-6:]
    position = (83.6331, 22.0145)
    observed = await tap_platform.observe(f"Crab-{tag}", *position, programme=code, start=RELEASED_END)
    released = granule(f"Crab-{tag}", position, programme=code, end=RELEASED_END,
                       observations=[observed.observation_id])  # fmt: skip
    proprietary = granule(f"Hidden-{tag}", (position[0], position[1] + 0.01), programme=code)
    await tap_platform.push(released, proprietary)
    await tap_platform.settled()
    return Sky(
        code, released.target_name, proprietary.target_name, position,
        f"ivo://jmmc.fr/spicadb/oidb?{released.granule_id}",
    )  # fmt: skip


def service(tap_platform: TapPlatform, who: str | None = None) -> pyvo.dal.TAPService:
    """pyvo's client of the tap service, as ``who`` (a bearer token in its session)."""
    session = requests.Session()
    session.headers.update(tap_platform.headers(who))
    return pyvo.dal.TAPService(tap_platform.tap_url, session=session)


async def blocking(call: Callable[[], T]) -> T:
    """A blocking pyvo call in a thread (pyvo's own warnings silenced there)."""

    def quiet() -> T:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()

    return await asyncio.to_thread(quiet)


def names(table: Any, column: str = "target_name") -> set[str]:
    return {str(v) for v in table[column]}


async def test_run_sync_and_run_async(tap_platform: TapPlatform, sky: Sky) -> None:
    query = f"SELECT target_name, s_ra, s_dec FROM ivoa.ObsCore WHERE proposal_id = '{sky.code}'"
    anonymous, member = service(tap_platform), service(tap_platform, MEMBER)
    sync = await blocking(lambda: anonymous.run_sync(query).to_table())
    done = await blocking(lambda: anonymous.run_async(query).to_table())
    mine = await blocking(lambda: member.run_sync(query).to_table())
    mine_async = await blocking(lambda: member.run_async(query).to_table())
    assert names(sync) == names(done) == {sky.released}
    assert names(mine) == names(mine_async) == {sky.released, sky.proprietary}
    assert sync["s_ra"].unit == "deg"


async def test_upload_joined_by_distance(tap_platform: TapPlatform, sky: Sky) -> None:
    mine = Table(
        {"name": ["crab", "nowhere"], "ra": [sky.position[0], 200.0], "dec": [sky.position[1], -40.0]}
    )
    query = (
        "SELECT u.name, o.target_name FROM TAP_UPLOAD.mine AS u JOIN ivoa.ObsCore AS o"
        " ON DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) < 0.02"
    )
    anonymous = await blocking(
        lambda: service(tap_platform).run_sync(query, uploads={"mine": mine}).to_table()
    )
    member = await blocking(
        lambda: service(tap_platform, MEMBER).run_sync(query, uploads={"mine": mine}).to_table()
    )
    assert {(str(r["name"]), str(r["target_name"])) for r in anonymous} == {("crab", sky.released)}
    assert names(member) == {sky.released, sky.proprietary}
    assert set(map(str, member["name"])) == {"crab"}


async def test_tables_capabilities_and_limits(tap_platform: TapPlatform) -> None:
    tap = service(tap_platform)
    tables = await blocking(lambda: {name: [c.name for c in t.columns] for name, t in tap.tables.items()})
    capabilities = await blocking(lambda: [c.standardid for c in tap.capabilities])
    maxrec, hardlimit = await blocking(lambda: (tap.maxrec, tap.hardlimit))
    upload_methods = await blocking(lambda: [m.ivo_id for m in tap.upload_methods])
    lowered = {name.lower(): columns for name, columns in tables.items()}
    for name in (
        "ivoa.obscore",
        "obsportal.exposures",
        "spicadb.targets",
        "spicadb.links",
        "tap_schema.columns",
    ):
        assert name in lowered, sorted(lowered)
    assert set(lowered["ivoa.obscore"]) >= OBSCORE
    assert "ivo://ivoa.net/std/TAP" in capabilities
    assert (maxrec, hardlimit) == (10_000, 2_000_000)
    assert any(m.endswith("#upload-inline") for m in upload_methods), upload_methods


async def test_topcat_cone_query(tap_platform: TapPlatform, sky: Sky) -> None:
    ra, dec = sky.position
    query = (
        "SELECT TOP 1000 * FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec),"
        f" CIRCLE('ICRS', {ra}, {dec}, 0.05)) = 1"
    )
    anonymous = await blocking(lambda: service(tap_platform).run_sync(query).to_table())
    member = await blocking(lambda: service(tap_platform, MEMBER).run_sync(query).to_table())
    assert names(anonymous) == {sky.released}
    assert names(member) == {sky.released, sky.proprietary}
    assert set(anonymous.colnames) >= OBSCORE
    [region] = [str(v) for v in anonymous["s_region"]]
    assert region.lower().startswith("circle"), region


async def test_iter_datalinks_reaches_oidb_links(tap_platform: TapPlatform, sky: Sky) -> None:
    query = f"SELECT * FROM ivoa.ObsCore WHERE obs_publisher_did = '{sky.released_did}'"

    def links() -> list[tuple[str, str, str]]:
        result = service(tap_platform).run_sync(query)
        return [
            (str(row["ID"]), str(row["semantics"]), str(row["access_url"]))
            for datalinks in result.iter_datalinks()
            for row in datalinks.to_table()
        ]

    found = await blocking(links)
    assert {i for i, _s, _u in found} == {sky.released_did}
    semantics = [s for _i, s, _u in found]
    assert "#this" in semantics, found
    assert "#progenitor" in semantics, found
    [this] = [u for _i, s, u in found if s == "#this"]
    assert "/oifits/files/" in this


async def test_iter_datalinks_from_an_l0_exposure(tap_platform: TapPlatform, sky: Sky) -> None:
    query = f"SELECT * FROM obsportal.exposures WHERE target_name = '{sky.released}'"

    def links() -> list[tuple[str, str, str]]:
        result = service(tap_platform).run_sync(query)
        return [
            (str(row["ID"]), str(row["semantics"]), str(row["access_url"]))
            for datalinks in result.iter_datalinks()
            for row in datalinks.to_table()
        ]

    found = await blocking(links)
    # the observation's links: the granule reduced from it (its file)
    assert [s for _i, s, _u in found] == ["#derivation"], found
    assert "/oifits/files/" in found[0][2]
