"""Data rights through the TAP service, over HTTP behind the gateway, as on every other path: a programme's
proprietary rows are invisible to anonymous callers and to another user in SELECT, COUNT(*), MAX(), a JOIN
with spicadb.links and a join with an uploaded table, in sync and async queries; they are visible to the
programme's members and to an admin. An async job created with a token belongs to its owner: another
user gets 404 for its results and its description."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from astropy.table import Table
from tap_support import ADMIN, ANONYMOUS, MEMBER, OTHER, TapPlatform, granule, rows_of

RELEASED_END = datetime(2020, 9, 24, 7, tzinfo=UTC)
CALLERS = (ANONYMOUS, OTHER, MEMBER, ADMIN)
SEES = {ANONYMOUS: False, OTHER: False, MEMBER: True, ADMIN: True}


@dataclass
class Secret:
    """A programme with one released and one proprietary granule (each reduced from an observation
    logged in the L0 view), at positions nobody else uses."""

    code: str
    released: str  # target names
    proprietary: str
    released_pos: tuple[float, float]
    proprietary_pos: tuple[float, float]
    released_did: str
    proprietary_did: str
    proprietary_observation: uuid.UUID
    proprietary_t_max: float
    released_t_max: float


@pytest.fixture(scope="module")
async def secret(tap_platform: TapPlatform) -> Secret:
    code = await tap_platform.programme()
    tag = code[-6:]
    released_pos, proprietary_pos = (101.2871, -16.7161), (101.2871, -15.7161)
    old = await tap_platform.observe(f"Sirius-{tag}", *released_pos, programme=code, start=RELEASED_END)
    new = await tap_platform.observe(
        f"Secret-{tag}", *proprietary_pos, programme=code, start=datetime.now(UTC)
    )
    released = granule(f"Sirius-{tag}", released_pos, programme=code, end=RELEASED_END,
                       observations=[old.observation_id])  # fmt: skip
    proprietary = granule(f"Secret-{tag}", proprietary_pos, programme=code, observations=[new.observation_id])
    await tap_platform.push(released, proprietary)
    await tap_platform.settled()
    did = "ivo://jmmc.fr/spicadb/oidb?{}"
    return Secret(
        code, released.target_name, proprietary.target_name, released_pos, proprietary_pos,
        did.format(released.granule_id), did.format(proprietary.granule_id), new.observation_id,
        proprietary.t_max, released.t_max,
    )  # fmt: skip


def names(rows: list[dict[str, object]], column: str = "target_name") -> set[str]:
    return {str(r[column]) for r in rows}


@pytest.mark.parametrize("who", CALLERS)
async def test_select_count_and_max_hide_proprietary_rows(
    tap_platform: TapPlatform, secret: Secret, who: str | None
) -> None:
    where = f"WHERE proposal_id = '{secret.code}'"
    selected = await tap_platform.rows(
        f"SELECT target_name, obs_publisher_did FROM ivoa.ObsCore {where}", who
    )
    counted = await tap_platform.rows(f"SELECT COUNT(*) AS n FROM ivoa.ObsCore {where}", who)
    latest = await tap_platform.rows(f"SELECT MAX(t_max) AS latest FROM ivoa.ObsCore {where}", who)
    exposures = await tap_platform.rows(
        f"SELECT COUNT(*) AS n FROM obsportal.exposures WHERE obs_program = '{secret.code}'", who
    )
    expected = {secret.released, secret.proprietary} if SEES[who] else {secret.released}
    assert names(selected) == expected
    assert [int(r["n"]) for r in counted] == [len(expected)]
    top = secret.proprietary_t_max if SEES[who] else secret.released_t_max
    assert [round(float(r["latest"]), 6) for r in latest] == [round(top, 6)]  # type: ignore[arg-type]
    assert [int(r["n"]) for r in exposures] == [len(expected)]


@pytest.mark.parametrize("who", CALLERS)
async def test_join_with_links_hides_proprietary_rows(
    tap_platform: TapPlatform, secret: Secret, who: str | None
) -> None:
    joined = await tap_platform.rows(
        "SELECT o.target_name, l.observation_id FROM ivoa.ObsCore AS o JOIN spicadb.links AS l"
        f" ON l.obs_publisher_did = o.obs_publisher_did WHERE o.proposal_id = '{secret.code}'",
        who,
    )
    links = await tap_platform.rows(
        f"SELECT COUNT(*) AS n FROM spicadb.links WHERE observation_id = '{secret.proprietary_observation}'",
        who,
    )
    expected = {secret.released, secret.proprietary} if SEES[who] else {secret.released}
    assert names(joined) == expected
    assert [int(r["n"]) for r in links] == [1 if SEES[who] else 0]


@pytest.mark.parametrize("who", CALLERS)
async def test_join_with_an_upload_hides_proprietary_rows(
    tap_platform: TapPlatform, secret: Secret, who: str | None
) -> None:
    mine = Table(
        {
            "name": ["released", "proprietary"],
            "ra": [secret.released_pos[0], secret.proprietary_pos[0]],
            "dec": [secret.released_pos[1], secret.proprietary_pos[1]],
        }
    )
    response = await tap_platform.upload(
        "SELECT u.name, o.target_name FROM TAP_UPLOAD.mine AS u JOIN ivoa.ObsCore AS o"
        " ON DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) < 0.001",
        {"mine": mine},
        who,
    )
    assert response.status_code == 200, response.text
    expected = {secret.released, secret.proprietary} if SEES[who] else {secret.released}
    assert names(rows_of(response.content)) == expected


@pytest.mark.parametrize("who", CALLERS)
async def test_async_jobs_hide_proprietary_rows(
    tap_platform: TapPlatform, secret: Secret, who: str | None
) -> None:
    url, document = await tap_platform.job(
        f"SELECT target_name FROM ivoa.ObsCore WHERE proposal_id = '{secret.code}'", who
    )
    assert "COMPLETED" in document.text, document.text
    async with tap_platform.client(who) as client:
        result = await client.get(f"{url}/results/result")
    assert result.status_code == 200, result.text
    expected = {secret.released, secret.proprietary} if SEES[who] else {secret.released}
    assert names(rows_of(result.content)) == expected


async def test_a_members_job_is_hidden_from_another_user(tap_platform: TapPlatform, secret: Secret) -> None:
    url, document = await tap_platform.job(
        f"SELECT target_name FROM ivoa.ObsCore WHERE proposal_id = '{secret.code}'", MEMBER
    )
    assert "COMPLETED" in document.text, document.text
    async with tap_platform.client(MEMBER) as owner:
        assert (await owner.get(f"{url}/results/result")).status_code == 200
    for who in (OTHER, ANONYMOUS):
        async with tap_platform.client(who) as client:
            for path in ("/results/result", "", "/phase", "/parameters"):
                answer = await client.get(f"{url}{path}")
                assert answer.status_code == 404, (who, path, answer.status_code, answer.text[:300])
                assert secret.proprietary not in answer.text
        async with tap_platform.client(OTHER) as client:
            listed = await client.get("/tap/async")
        assert url.rsplit("/", 1)[-1] not in listed.text
