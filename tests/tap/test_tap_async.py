"""TAP's async endpoint (UWS 1.1) as clients use it: raw HTTP (303s, WAIT, phases, parameters, DELETE,
destruction, execution duration), rights (a token holder's job is theirs alone; anonymous jobs by id;
tap:query to create), the runners (a 100,000-row result streamed to its file, a job whose process
died taken up again), and pyvo's ``run_async`` against the service on a real port."""

from __future__ import annotations

import asyncio
import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import LocalServer
from harness import eventually
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_tap.app import create_app
from spicadb_tap.spec import SPEC
from spicadb_tap.uws import storage
from spicadb_tap.uws.model import Job
from spicadb_tap.uws.runner import Outcome as RunnerOutcome
from spicadb_tap.uws.runner import Runner
from spicadb_tap.uws.watch import Watch

from spicadb_kit.app import _finish as stop_task  # how the kit stops a service's tasks
from spicadb_kit.infra import NatsServer, free_port
from spicadb_kit.testing.services import InstalledService, service_pool
from spicadb_kit.testing.tokens import TokenFactory

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
VOT = "{http://www.ivoa.net/xml/VOTable/v1.3}"
QUERY = "tap:query"
Client = AsyncTestClient[Any]
# a query of the service's own tables (TAP_SCHEMA describes itself), rows without end
# the service's public URL (its settings' default): the base of its links and Locations
PUBLIC = "http://127.0.0.1:8000"
SMALL = "SELECT TOP 3 table_name, column_name FROM TAP_SCHEMA.columns"
CROSS = (
    "SELECT a.column_name AS a, b.column_name AS b, c.column_name AS c, d.column_name AS d"
    " FROM TAP_SCHEMA.columns AS a, TAP_SCHEMA.columns AS b, TAP_SCHEMA.columns AS c, TAP_SCHEMA.columns AS d"
)
# long enough for any execution duration a test gives (a count over ~10^9 combinations)
SLOW = "SELECT COUNT(*) AS n FROM " + ", ".join(f"TAP_SCHEMA.columns AS c{k}" for k in range(6))


class TapService(InstalledService):
    default_scopes = (QUERY,)

    def __init__(
        self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext, data: Path
    ) -> None:
        super().__init__(SPEC, create_app, admin_dsn, nats_url, tokens, js)
        self.data = data

    def settings(self, **overrides: Any) -> Any:
        return super().settings(data=str(self.data), **overrides)

    def results(self) -> list[Path]:
        folder = self.data / "tap" / "results"
        return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
async def tap(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> AsyncIterator[TapService]:
    service = TapService(database, nats_server.url, tokens, jetstream, tmp_path / "data")
    await service.install()
    yield service
    await service.close()


@asynccontextmanager
async def served(tap: TapService, **overrides: Any) -> AsyncIterator[str]:
    """The service under uvicorn on a real port (concurrent requests, pyvo): its base URL."""
    port = free_port()
    settings = tap.settings(public_url=f"http://127.0.0.1:{port}", **overrides)
    server = LocalServer(create_app(settings, verifier=tap.tokens.verifier()), port)
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


@pytest.fixture
async def client(tap: TapService) -> AsyncIterator[Client]:
    async with tap.running() as running:
        running.follow_redirects = False  # the 303s are what these tests read
        yield running


# --- helpers ---------------------------------------------------------------------------------------


def path(url: str) -> str:
    """A URL of the service's documents (on its public URL) as the test client asks it."""
    assert url.startswith(PUBLIC)
    return url.removeprefix(PUBLIC)


def job_of(text: str) -> dict[str, Any]:
    """The job document's fields: phase, runId, ownerId, times (None when nil), parameters, results,
    error message."""
    root = ET.fromstring(text)
    assert root.tag == f"{UWS}job"
    assert root.get("version") == "1.1"
    fields: dict[str, Any] = {}
    for child in root:
        name = child.tag.removeprefix(UWS)
        if name == "parameters":
            fields[name] = {p.get("id"): p.text for p in child}
        elif name == "results":
            fields[name] = {r.get("id"): path(r.get("{http://www.w3.org/1999/xlink}href", "")) for r in child}
        elif name == "errorSummary":
            fields[name] = child.findtext(f"{UWS}message")
        else:
            fields[name] = None if child.get(XSI_NIL) == "true" else child.text
    return fields


async def create(client: Client, headers: dict[str, str] | None = None, **params: str) -> str:
    """A job (the 303's Location), with these TAP parameters."""
    response = await client.post("/tap/async", data={"LANG": "ADQL", **params}, headers=headers or {})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{PUBLIC}/tap/async/")  # absolute: taplint follows no other
    return path(location)


async def job(
    client: Client, url: str, headers: dict[str, str] | None = None, **query: str
) -> dict[str, Any]:
    response = await client.get(url, params=query, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return job_of(response.text)


async def finished(client: Client, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The job once it has ended (WAIT, as pyvo does)."""

    async def ended() -> dict[str, Any] | None:
        fields = await job(client, url, headers, WAIT="5")
        return fields if fields["phase"] in ("COMPLETED", "ERROR", "ABORTED") else None

    result: dict[str, Any] = await eventually(ended, timeout=120)
    return result


# --- the UWS resources ---------------------------------------------------------------------------


async def test_a_job_is_created_pending_with_its_parameters_and_uws_resources(client: Client) -> None:
    url = await create(client, QUERY=SMALL, MAXREC="2", REQUEST="doQuery", format="csv")
    fields = await job(client, url)
    assert fields["jobId"] == url.rsplit("/", 1)[1]
    assert fields["phase"] == "PENDING"
    assert fields["ownerId"] is None  # anonymous
    assert fields["startTime"] is None
    assert fields["endTime"] is None
    assert fields["parameters"] == {"lang": "ADQL", "query": SMALL, "maxrec": "2", "responseformat": "csv"}
    assert fields["results"] == {}
    assert fields["executionDuration"] == "600"
    assert fields["creationTime"].endswith("Z")
    assert fields["destruction"].endswith("Z")
    # each field at its own URL, as text
    texts = {
        name: (await client.get(f"{url}/{name}")).text
        for name in ("phase", "executionduration", "destruction", "quote", "owner")
    }
    assert texts == {
        "phase": "PENDING",
        "executionduration": "600",
        "destruction": fields["destruction"],
        "quote": "",
        "owner": "",
    }
    parameters = ET.fromstring((await client.get(f"{url}/parameters")).text)
    assert {p.get("id"): p.text for p in parameters} == fields["parameters"]
    assert list(ET.fromstring((await client.get(f"{url}/results")).text)) == []
    # nothing to show yet
    assert (await client.get(f"{url}/results/result")).status_code == 404
    assert (await client.get(f"{url}/error")).status_code == 404


async def test_parameters_change_while_pending_runid_always(client: Client) -> None:
    url = await create(client, QUERY=SMALL)
    response = await client.post(f"{url}/parameters", data={"runid": "TAPLINT-002", "QUERY": CROSS})
    assert response.status_code == 303
    assert path(response.headers["location"]) == url
    fields = await job(client, url)
    assert fields["runId"] == "TAPLINT-002"
    assert fields["parameters"]["runid"] == "TAPLINT-002"  # taplint's E-UWS-PAMM reads it there
    assert fields["parameters"]["query"] == CROSS
    # bounded durations and destruction times; a bad value is a 400 problem
    await client.post(f"{url}/executionduration", data={"EXECUTIONDURATION": "30"})
    assert (await client.get(f"{url}/executionduration")).text == "30"
    await client.post(f"{url}/executionduration", data={"EXECUTIONDURATION": "0"})
    assert (await client.get(f"{url}/executionduration")).text == "3600"  # unlimited: the most
    far = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await client.post(f"{url}/destruction", data={"DESTRUCTION": far})
    granted = datetime.fromisoformat((await client.get(f"{url}/destruction")).text)
    assert granted < datetime.now(UTC) + timedelta(days=31)
    bad = await client.post(f"{url}/executionduration", data={"EXECUTIONDURATION": "soon"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert (await client.post(f"{url}/parameters", data={"MAXREC": "-1"})).status_code == 400
    assert (await client.post(f"{url}/phase", data={"PHASE": "SUSPEND"})).status_code == 400
    # once it ran, only RUNID changes
    await client.post(f"{url}/phase", data={"PHASE": "ABORT"})
    assert (await job(client, url))["phase"] == "ABORTED"
    refused = await client.post(f"{url}/parameters", data={"QUERY": SMALL})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/job-phase")
    assert (await client.post(f"{url}/parameters", data={"RUNID": "again"})).status_code == 303
    assert (await job(client, url))["runId"] == "again"
    assert (await client.post(f"{url}/phase", data={"PHASE": "RUN"})).status_code == 409


async def test_wait_returns_at_once_for_an_ended_job_and_after_its_time_otherwise(client: Client) -> None:
    url = await create(client, QUERY=SMALL)
    fields = await job(client, url, WAIT="1")
    assert fields["phase"] == "PENDING"  # nothing ran it: back after a second
    await client.post(f"{url}/phase", data={"PHASE": "ABORT"})
    fields = await job(client, url, WAIT="-1")  # the cap, but an ended job answers at once
    assert fields["phase"] == "ABORTED"
    # WAIT with a phase the job is not in answers at once too
    other = await create(client, QUERY=SMALL)
    assert (await job(client, other, WAIT="-1", PHASE="EXECUTING"))["phase"] == "PENDING"


async def test_wait_returns_when_the_phase_changes(tap: TapService) -> None:
    # on a real port: the WAIT and the ABORT are concurrent requests
    async with served(tap) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        response = await http.post("/tap/async", data={"LANG": "ADQL", "QUERY": SMALL})
        url = response.headers["location"]  # absolute, on the server's public URL
        waiting = asyncio.create_task(http.get(url, params={"WAIT": "50"}))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await http.post(f"{url}/phase", data={"PHASE": "ABORT"})
        answer = await asyncio.wait_for(waiting, 30)  # well before its 50 s
        assert job_of(answer.text)["phase"] == "ABORTED"


async def test_delete_and_action_delete_answer_303_to_the_list_and_the_job_is_gone(client: Client) -> None:
    url = await create(client, QUERY=SMALL)
    response = await client.delete(url)
    assert response.status_code == 303
    assert path(response.headers["location"]) == "/tap/async"
    assert (await client.get(url)).status_code == 404
    url = await create(client, QUERY=SMALL)
    response = await client.post(url, data={"ACTION": "DELETE"})
    assert response.status_code == 303
    assert path(response.headers["location"]) == "/tap/async"
    gone = await client.get(f"{url}/phase")
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("/job-not-found")
    assert (await client.delete(url)).status_code == 404


# --- rights ----------------------------------------------------------------------------------------


async def test_a_token_holders_job_is_theirs_alone(tap: TapService, client: Client) -> None:
    alice = tap.auth("alice", QUERY)
    url = await create(client, alice, QUERY=SMALL, RUNID="mine")
    fields = await job(client, url, alice)
    assert fields["ownerId"] == "alice"
    assert (await client.get(f"{url}/owner", headers=alice)).text == "alice"
    # anyone else: as if it did not exist, on every resource
    for headers in (tap.auth("bob", QUERY), {}):
        for path in ("", "/phase", "/parameters", "/results", "/results/result", "/error", "/owner"):
            assert (await client.get(url + path, headers=headers)).status_code == 404, path
        assert (await client.post(f"{url}/phase", data={"PHASE": "RUN"}, headers=headers)).status_code == 404
        assert (await client.delete(url, headers=headers)).status_code == 404
    # the owner's list holds it; another's list and an anonymous list do not
    listing = ET.fromstring((await client.get("/tap/async", headers=alice)).text)
    assert [ref.get("id") for ref in listing] == [fields["jobId"]]
    assert listing[0].findtext(f"{UWS}runId") == "mine"
    for headers in (tap.auth("bob", QUERY), {}):
        assert list(ET.fromstring((await client.get("/tap/async", headers=headers)).text)) == []
    assert (await job(client, url, alice))["phase"] == "PENDING"  # untouched


async def test_anonymous_jobs_are_reached_by_their_id_by_anyone(tap: TapService, client: Client) -> None:
    url = await create(client, QUERY=SMALL)
    assert (await job(client, url, tap.auth("bob", QUERY)))["ownerId"] is None
    assert len(url.rsplit("/", 1)[1]) >= 24  # unguessable


async def test_a_form_field_that_is_not_text_creates_no_job(tap: TapService, client: Client) -> None:
    # the form parser's decode error answered 500 before (found by schemathesis)
    response = await client.post("/tap/async", files={"LANG": (None, b"ADQL"), "QUERY": (None, b"\x89\xff")})
    assert response.status_code == 400
    assert "not UTF-8 text" in response.json()["detail"]
    assert await tap.scalar("SELECT count(*) FROM job") == 0


async def test_a_token_without_tap_query_cannot_create_a_job(tap: TapService, client: Client) -> None:
    response = await client.post(
        "/tap/async", data={"LANG": "ADQL", "QUERY": SMALL}, headers=tap.auth("carol", "nightlogs:read")
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("/insufficient-scope")
    assert await tap.scalar("SELECT count(*) FROM job") == 0
    bad = await client.post("/tap/async", data={"QUERY": SMALL}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


async def test_the_list_filters_by_phase_after_and_last(tap: TapService, client: Client) -> None:
    alice = tap.auth("alice", QUERY)
    first = await create(client, alice, QUERY=SMALL)
    second = await create(client, alice, QUERY=SMALL)
    await client.post(f"{second}/phase", data={"PHASE": "ABORT"}, headers=alice)
    third = await create(client, alice, QUERY=SMALL)

    async def ids(**query: Any) -> list[str]:
        response = await client.get("/tap/async", params=query, headers=alice)
        assert response.status_code == 200, response.text
        refs = ET.fromstring(response.text)
        assert all(
            path(ref.get("{http://www.w3.org/1999/xlink}href", "")) == f"/tap/async/{ref.get('id')}"
            for ref in refs
        )
        return [f"/tap/async/{ref.get('id')}" for ref in refs]

    assert await ids() == [third, second, first]
    assert await ids(PHASE="PENDING") == [third, first]
    assert await ids(PHASE=["ABORTED", "PENDING"]) == [third, second, first]
    assert await ids(LAST="2") == [third, second]
    created = (await job(client, first, alice))["creationTime"]
    assert await ids(AFTER=created) == [third, second]
    assert (await client.get("/tap/async", params={"PHASE": "NOPE"}, headers=alice)).status_code == 400


# --- destruction ---------------------------------------------------------------------------------


async def test_a_job_past_its_destruction_is_gone_and_swept_with_its_file(
    tap: TapService, client: Client
) -> None:
    from spicadb_tap.uws.runner import Runner

    url = await create(client, QUERY=SMALL)
    job_id = url.rsplit("/", 1)[1]
    # a result file as a run leaves it (the runner's name for it)
    folder = tap.data / "tap" / "results"
    folder.mkdir(parents=True)
    (folder / f"{job_id}.xml").write_bytes(b"<VOTABLE/>")
    await tap.fetch(
        "UPDATE job SET phase = 'COMPLETED', result_file = $2, destruction = now() - interval '1 second'"
        " WHERE id = $1",
        job_id,
        f"{job_id}.xml",
    )
    assert (await client.get(url)).status_code == 404  # gone at once, swept or not
    assert tap.pool is not None
    runner = Runner(tap.pool, tap.settings(), _watch(), _never)
    await runner.sweep()  # (the service's own sweeper may have been first: it runs at startup too)
    assert tap.results() == []
    assert await tap.scalar("SELECT count(*) FROM job") == 0


def _watch() -> Any:
    from spicadb_tap.uws.watch import Watch

    return Watch()


async def _never(*_: Any) -> Any:
    raise AssertionError("no execution in this test")


# --- running -------------------------------------------------------------------------------------


async def test_a_job_runs_to_its_result_streamed_from_its_file(tap: TapService, client: Client) -> None:
    url = await create(client, QUERY=SMALL, MAXREC="2", RESPONSEFORMAT="csv", PHASE="RUN", RUNID="r1")
    fields = await finished(client, url)
    assert fields["phase"] == "COMPLETED", fields
    assert fields["startTime"] is not None
    assert fields["endTime"] is not None
    assert fields["results"] == {"result": f"{url}/results/result"}
    response = await client.get(f"{url}/results/result")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["table_name", "column_name"]
    assert len(rows) == 3  # MAXREC=2 cut it
    job_id = url.rsplit("/", 1)[1]
    assert [p.name for p in tap.results()] == [f"{job_id}.csv"]
    assert await tap.scalar("SELECT overflow FROM job WHERE id = $1", job_id) is True
    # a finished job does not run again; DELETE takes its file with it
    assert (await client.post(f"{url}/phase", data={"PHASE": "RUN"})).status_code == 409
    await client.delete(url)
    assert tap.results() == []


async def test_a_refused_query_ends_in_error_with_its_message_at_error(client: Client) -> None:
    url = await create(client, QUERY="SELECT nope FROM nowhere.nothing", PHASE="RUN")
    fields = await finished(client, url)
    assert fields["phase"] == "ERROR"
    assert "nowhere" in fields["errorSummary"]
    response = await client.get(f"{url}/error")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    status = next(
        i for i in ET.fromstring(response.text).iter(f"{VOT}INFO") if i.get("name") == "QUERY_STATUS"
    )
    assert status.get("value") == "ERROR"
    assert "nowhere" in (status.text or "")
    assert (await client.get(f"{url}/results/result")).status_code == 404


async def test_a_job_past_its_execution_duration_ends_in_error(tap: TapService, client: Client) -> None:
    url = await create(client, QUERY=SLOW, EXECUTIONDURATION="1", PHASE="RUN")
    fields = await finished(client, url)
    assert fields["phase"] == "ERROR"
    assert "execution duration (1 s)" in fields["errorSummary"]
    error = (await client.get(f"{url}/error")).text
    assert "execution duration (1 s)" in error
    assert tap.results() == []  # no partial file left
    # the runners are free again
    quick = await create(client, QUERY=SMALL, PHASE="RUN")
    assert (await finished(client, quick))["phase"] == "COMPLETED"


async def test_abort_stops_an_executing_job(tap: TapService, client: Client) -> None:
    url = await create(client, QUERY=SLOW, PHASE="RUN")

    async def executing() -> bool:
        return (await job(client, url))["phase"] == "EXECUTING"

    await eventually(executing)
    await client.post(f"{url}/phase", data={"PHASE": "ABORT"})
    assert (await job(client, url))["phase"] == "ABORTED"

    async def stopped() -> bool:
        return bool(await tap.scalar("SELECT worker IS NULL FROM job WHERE phase = 'ABORTED'"))

    await eventually(stopped)
    quick = await create(client, QUERY=SMALL, PHASE="RUN")
    assert (await finished(client, quick))["phase"] == "COMPLETED"
    assert (await job(client, url))["phase"] == "ABORTED"


async def test_a_100000_row_job_completes_with_its_result_streamed_to_its_file(
    tap: TapService, client: Client
) -> None:
    url = await create(client, QUERY=CROSS, MAXREC="100000", RESPONSEFORMAT="csv", PHASE="RUN")
    fields = await finished(client, url)
    assert fields["phase"] == "COMPLETED", fields
    [path] = tap.results()
    with path.open(newline="") as file:
        rows = sum(1 for _ in csv.reader(file))
    assert rows == 100_001  # the header and MAXREC rows
    assert await tap.scalar("SELECT result_rows FROM job") == 100_000
    response = await client.get(f"{url}/results/result")
    assert int(response.headers["content-length"]) == path.stat().st_size


async def test_an_owners_job_runs_as_its_owner(tap: TapService, client: Client) -> None:
    alice = tap.auth("alice", QUERY)
    url = await create(client, alice, QUERY=SMALL, PHASE="RUN")
    assert (await finished(client, url, alice))["phase"] == "COMPLETED"
    row = (await tap.fetch("SELECT owner, sees_all FROM job"))[0]
    assert (row["owner"], row["sees_all"]) == ("alice", False)
    admin = tap.auth("root", QUERY, "admin")
    await create(client, admin, QUERY=SMALL)
    assert await tap.scalar("SELECT sees_all FROM job WHERE owner = 'root'") is True


async def test_an_inline_upload_is_kept_with_the_job_until_it_runs(client: Client) -> None:
    table = (
        '<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        '<RESOURCE><TABLE><FIELD name="star" datatype="char" arraysize="*"/>'
        '<FIELD name="ra" datatype="double"/><DATA><TABLEDATA>'
        "<TR><TD>Vega</TD><TD>279.23</TD></TR><TR><TD>Altair</TD><TD>297.69</TD></TR>"
        "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    )
    response = await client.post(
        "/tap/async",
        data={
            "LANG": "ADQL",
            "QUERY": "SELECT star FROM TAP_UPLOAD.mine ORDER BY ra",
            "UPLOAD": "mine,param:t1",
        },
        files={"t1": ("t1.xml", table.encode(), "application/x-votable+xml")},
    )
    assert response.status_code == 303, response.text
    url = path(response.headers["location"])
    await client.post(f"{url}/parameters", data={"RESPONSEFORMAT": "csv"})
    await client.post(f"{url}/phase", data={"PHASE": "RUN"})
    assert (await finished(client, url))["phase"] == "COMPLETED"
    assert (await client.get(f"{url}/results/result")).text.split() == ["star", "Vega", "Altair"]
    # a reference to a part the request does not carry is refused at once
    missing = await client.post("/tap/async", data={"QUERY": SMALL, "UPLOAD": "x,param:nothing"})
    assert missing.status_code == 400


async def test_a_job_whose_process_died_is_taken_up_again_after_a_restart(tap: TapService) -> None:
    # as a process killed mid-run leaves them: EXECUTING, a worker that beats no more
    for job_id, attempts in (("j" * 24, 1), ("k" * 24, 2)):
        await tap.fetch(
            "INSERT INTO job (id, phase, lang, query, execution_duration, destruction, worker, started_at,"
            " heartbeat_at, attempts) VALUES ($1, 'EXECUTING', 'ADQL', $2, 60, now() + interval '1 day',"
            " 'gone:1/0', now() - interval '1 hour', now() - interval '1 hour', $3)",
            job_id,
            SMALL,
            attempts,
        )
    async with tap.running() as client:
        again = await finished(client, f"/tap/async/{'j' * 24}")
        assert again["phase"] == "COMPLETED"
        given_up = await job(client, f"/tap/async/{'k' * 24}")
        assert given_up["phase"] == "ERROR"
        assert "stopped while the job was executing" in given_up["errorSummary"]


async def test_a_job_executing_when_its_process_stops_goes_back_to_the_queue(tap: TapService) -> None:
    async with tap.running() as client:
        client.follow_redirects = False
        url = await create(client, QUERY=SLOW, PHASE="RUN")

        async def executing() -> bool:
            return (await job(client, url))["phase"] == "EXECUTING"

        await eventually(executing)
    # a deploy stops the process: the next one (or a replica) takes the job up
    [row] = await tap.fetch("SELECT phase, worker, attempts FROM job")
    assert (row["phase"], row["worker"], row["attempts"]) == ("QUEUED", None, 0)
    async with tap.running() as client:
        await eventually(executing)  # taken up again


async def test_a_job_still_goes_back_to_the_queue_when_its_connection_is_slow_to_come_back(
    tap: TapService,
) -> None:
    # the kit's shutdown cancels a task again every second while it runs; a query cancelled by it hands
    # its connection back only once asyncpg's cancel request (sent on a new connection) is through,
    # which under load can take longer than that second: the give-back must outlast those cancellations
    await tap.fetch(
        "INSERT INTO job (id, phase, lang, query, execution_duration, destruction, attempts)"
        " VALUES ($1, 'QUEUED', 'ADQL', $2, 60, now() + interval '1 day', 0)",
        "s" * 24,
        SLOW,
    )
    pool = await service_pool(tap.admin_dsn, SPEC, max_size=1)  # the execution holds the only connection
    started = asyncio.Event()
    held: list[asyncio.Task[None]] = []

    async def hand_back_later(conn: Any) -> None:
        await asyncio.sleep(2.5)
        await pool.release(conn)

    async def cancelled_in_a_query(job: Job, uploads: dict[str, bytes], write: Any) -> RunnerOutcome:
        conn = await pool.acquire()
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            held.append(asyncio.create_task(hand_back_later(conn)))
        raise AssertionError("not reached")

    try:
        runner = Runner(pool, tap.settings(), Watch(), cancelled_in_a_query)
        working = asyncio.create_task(runner.work(0))
        await asyncio.wait_for(started.wait(), 30)
        working.cancel()  # the process stops, as the kit stops its tasks
        await stop_task(working)
        [row] = await tap.fetch("SELECT phase, worker, attempts FROM job")
        assert (row["phase"], row["worker"], row["attempts"]) == ("QUEUED", None, 0)
    finally:
        await asyncio.gather(*held)
        await pool.close()


async def test_a_job_claimed_just_as_the_process_stops_goes_back_to_the_queue(
    tap: TapService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the claim's UPDATE commits (the job EXECUTING under this worker), and the stop arrives before its
    # answer, or the connection's release, is through (a loaded machine): the job must not stay EXECUTING
    # with no runner (the whole-suite run found it so)
    await tap.fetch(
        "INSERT INTO job (id, phase, lang, query, execution_duration, destruction, attempts)"
        " VALUES ($1, 'QUEUED', 'ADQL', $2, 60, now() + interval '1 day', 0)",
        "c" * 24,
        SMALL,
    )
    committed = asyncio.Event()
    real_claim = storage.claim

    async def claim_answered_late(conn: Any, worker: str) -> Job | None:
        job = await real_claim(conn, worker)
        committed.set()
        await asyncio.sleep(2.5)  # the answer still on its way when the process stops
        return job

    monkeypatch.setattr(storage, "claim", claim_answered_late)
    pool = await service_pool(tap.admin_dsn, SPEC)

    async def never_run(job: Job, uploads: dict[str, bytes], write: Any) -> RunnerOutcome:
        raise AssertionError("a job claimed while stopping must not run")

    try:
        runner = Runner(pool, tap.settings(), Watch(), never_run)
        working = asyncio.create_task(runner.work(0))
        await asyncio.wait_for(committed.wait(), 30)
        working.cancel()  # the process stops, as the kit stops its tasks
        await stop_task(working)
        [row] = await tap.fetch("SELECT phase, worker, attempts FROM job")
        assert (row["phase"], row["worker"], row["attempts"]) == ("QUEUED", None, 0)
    finally:
        await pool.close()


async def test_two_replicas_share_the_queue_each_job_run_once(tap: TapService) -> None:
    async with tap.running() as first, tap.running() as second:
        first.follow_redirects = False
        urls = [await create(first, QUERY=SMALL, PHASE="RUN") for _ in range(8)]
        for url in urls:
            assert (await finished(second, url))["phase"] == "COMPLETED"
    assert [r["attempts"] for r in await tap.fetch("SELECT attempts FROM job")] == [1] * 8


# --- pyvo ------------------------------------------------------------------------------------------


async def test_pyvo_runs_an_async_query_and_deletes_the_job(tap: TapService) -> None:
    import pyvo
    from astropy.table import Table

    async with served(tap) as base:
        service = pyvo.dal.TAPService(f"{base}/tap")
        result = await asyncio.to_thread(service.run_async, SMALL, maxrec=2)
        assert len(result) == 2
        assert result.to_table().colnames == ["table_name", "column_name"]
        # with an upload (multipart), as pyvo sends it
        stars = Table({"star": ["Vega", "Altair"], "ra": [279.23, 297.69]})
        uploaded = await asyncio.to_thread(
            service.run_async, "SELECT star FROM TAP_UPLOAD.stars ORDER BY ra", uploads={"stars": stars}
        )
        assert [str(s) for s in uploaded["star"]] == ["Vega", "Altair"]
        # an error comes back as pyvo's DALQueryError with the message
        with pytest.raises(pyvo.dal.DALQueryError, match="nowhere"):
            await asyncio.to_thread(service.run_async, "SELECT x FROM nowhere.nothing")
    # run_async deletes its jobs
    assert await tap.scalar("SELECT count(*) FROM job") == 0
    assert tap.results() == []
