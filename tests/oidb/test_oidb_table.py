"""The OiDB table kept from the oifits events: a granule indexed appears with JMMC's OiDB columns
right, a redelivered event changes nothing, a superseded file's granules are kept but hidden, a
corrected link moves the granule's observations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from harness import eventually
from oidb_support import (
    DID,
    PUBLIC,
    VEGA,
    OidbService,
    ago,
    granule,
    indexed,
    link,
    listing,
    mjd,
    push,
    supersede,
)

ADMIN = ("admin",)

# JMMC's OiDB columns in their order (conf/oidb.sql, the list), then SPICA-DB's
OIDB_COLUMNS = [
    "id", "dataproduct_type", "calib_level", "target_name", "obs_id", "obs_collection", "obs_creator_name",
    "obs_release_date", "obs_publisher_did", "bib_reference", "data_rights", "access_url", "access_format",
    "access_estsize", "s_ra", "s_dec", "s_fov", "s_region", "s_resolution", "t_min", "t_max", "t_exptime",
    "t_resolution", "em_min", "em_max", "em_res_power", "o_ucd", "pol_states", "facility_name",
    "instrument_name", "instrument_mode", "quality_level", "nb_channels", "nb_vis", "nb_vis2", "nb_t3",
    "keywords", "subdate", "progid", "datapi", "access_md5", "interferometer_stations",
]  # fmt: skip


async def test_a_granule_indexed_has_the_oidb_columns(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada", months=18)
    observation = uuid.uuid4()
    end = datetime(2026, 5, 15, 6, 20, tzinfo=UTC)
    g = granule("Vega", end=end, observations=[observation], quality=4)
    file = indexed(g, size=1_234_567)
    await push(service, file)
    async with service.running() as client:
        [item] = await eventually(lambda: listing(client, service.auth("ada")), timeout=10)
        assert item["granule_id"] == str(g.granule_id)
        assert item["file_id"] == str(file.file_id)
        assert item["dataproduct_type"] == "visibility"
        assert item["calib_level"] == 2
        assert item["target_name"] == "Vega"
        assert item["obs_id"] == "SPICA.2026-05-15T06:00:00"
        assert item["obs_collection"] == "SPICA"
        assert item["obs_creator_name"] == "drs"
        assert item["obs_publisher_did"] == f"{DID}?{g.granule_id}"
        assert item["bib_reference"] is None
        assert item["access_url"] == f"{PUBLIC}/oifits/files/{file.file_id}"
        assert item["access_format"] == "application/fits"
        assert item["access_estsize"] == 1234  # kB: size div 1000, as OiDB
        assert item["access_size"] == 1_234_567
        assert item["access_md5"] == "0123456789abcdef0123456789abcdef"
        assert (item["s_ra"], item["s_dec"]) == VEGA
        assert item["t_min"] == g.t_min
        assert item["t_max"] == g.t_max == mjd(end)
        assert item["t_exptime"] == 2.5  # OiDB's meaning: the shortest INT_TIME
        assert item["t_exptime_total"] == 600.0
        assert (item["em_min"], item["em_max"], item["em_res_power"]) == (6.0e-7, 9.0e-7, 3000.0)
        assert (item["facility_name"], item["instrument_name"], item["instrument_mode"]) == (
            "CHARA",
            "SPICA",
            "MR",
        )
        assert (item["nb_channels"], item["nb_vis"], item["nb_vis2"], item["nb_t3"], item["nb_flux"]) == (
            120, 60, 60, 80, 24,
        )  # fmt: skip
        assert item["interferometer_stations"] == "E1-W2-W1-S2-S1-E2"
        assert item["progid"] == "LP-1"
        assert item["programme"] == "LP-1"
        assert item["proposal_subid"] == "LP-1/1"
        assert item["datapi"] == "ada"  # the programme's PI
        assert item["quality_level"] == 4
        assert item["file_quality_level"] == 4
        assert item["observation_ids"] == [str(observation)]
        assert item["dataproduct_category"] == "SCIENCE"
        assert item["night"] == g.night.isoformat()
        assert item["superseded"] is False
        assert [p["kind"] for p in item["previews"]] == ["uv", "vis2", "t3phi"]
        # released 18 months after the end of the observation; secure until then
        assert item["obs_release_date"].startswith("2027-11-15T06:20:00")
        assert item["data_rights"] == "secure"
        assert datetime.fromisoformat(item["subdate"]) == file.pushed_at
        for column in (
            "s_fov",
            "s_region",
            "s_resolution",
            "t_resolution",
            "o_ucd",
            "pol_states",
            "keywords",
        ):
            assert item[column] is None, column
        detail = await client.get(f"/oidb/granules/{g.granule_id}", headers=service.auth("ada"))
        assert detail.status_code == 200, detail.text
        assert detail.json() == item
    # the SQL view a TAP service publishes: OiDB's columns first, in OiDB's order
    columns = await service.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'oidb'"
        " AND table_name = 'oidb_granule' ORDER BY ordinal_position"
    )
    assert [c[0] for c in columns][: len(OIDB_COLUMNS)] == OIDB_COLUMNS
    [row] = await service.fetch("SELECT data_rights, obs_release_date FROM oidb_granule")
    assert row["data_rights"] == "secure"


async def test_a_redelivered_file_changes_nothing(service: OidbService) -> None:
    await service.programme("LP-1")
    file = indexed(granule("Vega"), granule("Deneb", (310.358, 45.2803)))
    envelope = await push(service, file)
    async with service.running() as client:
        first = await eventually(lambda: listing(client, service.auth("ada")), timeout=10)
        assert len(first) == 2
        await service.redeliver(file, envelope)
        await push(service, file)  # a copy under a new event id: the granule ids already are there
        await eventually(service.drained, timeout=10)
        assert await listing(client, service.auth("ada")) == first
    assert await service.scalar("SELECT count(*) FROM granule") == 2


async def test_a_superseded_file_is_kept_and_hidden_by_default(service: OidbService) -> None:
    await service.programme("LP-1")
    old = indexed(granule("Vega"))
    new = indexed(granule("Vega"), supersedes=old.file_id)
    await push(service, old)
    await push(service, new)
    await supersede(service, old, new)
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        [current] = await listing(client, service.auth("ada"))
        assert current["file_id"] == str(new.file_id)
        both = await listing(client, service.auth("ada"), superseded="true")
        assert [(i["file_id"], i["superseded"]) for i in both] == [
            (str(old.file_id), True), (str(new.file_id), False),
        ]  # fmt: skip
        assert both[0]["superseded_by"] == str(new.file_id)
        # still one granule of its own, marked
        detail = await client.get(f"/oidb/granules/{old.granules[0].granule_id}", headers=service.auth("ada"))
        assert detail.status_code == 200
        assert detail.json()["superseded"] is True


async def test_a_granule_linked_again_moves_its_observations(service: OidbService) -> None:
    await service.programme("LP-1")
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    g = granule("Vega", observations=[first])
    file = indexed(g)
    await push(service, file)
    await link(service, file, g, [second, third])
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        [item] = await listing(client, service.auth("ada"))
        assert item["observation_ids"] == [str(second), str(third)]


async def test_an_unknown_or_malformed_granule_is_a_404_problem(service: OidbService) -> None:
    async with service.running() as client:
        for path in (f"/oidb/granules/{uuid.uuid4()}", "/oidb/granules/not-a-uuid"):
            response = await client.get(path, headers=service.auth("root", *ADMIN))
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"].endswith("/granule-not-found")


async def test_old_granules_are_public(service: OidbService) -> None:
    await service.programme("LP-1", months=18)
    await push(service, indexed(granule("Vega", end=ago(days=800))))
    async with service.running() as client:
        [item] = await eventually(lambda: listing(client), timeout=10)
        assert item["data_rights"] == "public"
        release = datetime.fromisoformat(item["obs_release_date"])
        assert release < datetime.now(UTC) - timedelta(days=200)


async def test_a_link_arriving_before_its_file_waits_for_it(service: OidbService) -> None:
    await service.programme("LP-1")
    first, second = uuid.uuid4(), uuid.uuid4()
    g = granule("Vega", observations=[first])
    file = indexed(g)
    await link(service, file, g, [second])  # ahead of the file on the stream
    await push(service, file)
    async with service.running() as client:

        async def linked() -> bool:
            items = await listing(client, service.auth("ada"))
            return bool(items) and items[0]["observation_ids"] == [str(second)]

        await eventually(linked, timeout=15)
