"""The DRS client command (spicadb-drs push) against the oifits service on a real TCP port: directories
pushed once, reruns that send nothing, refusals named by their rule, a server that comes up late,
resuming from the journal, product ids from file names, plain output in CI, and the client-credentials
path against the real auth service."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_support import AuthService
from gateway_support import LocalServer
from harness import eventually
from nats.js import JetStreamContext
from oifits_support import OifitsService, oifits
from spicadb_auth.app import create_app as create_auth
from spicadb_drs.client import amain, backoff_delay, retryable
from synthetic import truncate

from spicadb_kit.auth import TokenVerifier
from spicadb_kit.infra import NatsServer, free_port

FAST = ["--backoff", "0.05"]


@pytest.fixture(autouse=True)
def no_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No data folder of the machine's (nor secret of the environment) leaks into a test."""
    monkeypatch.setenv("SPICADB_DATA", str(tmp_path / "no-data-folder"))
    monkeypatch.delenv("SPICADB_DRS_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("SPICADB_DRS_TOKEN", raising=False)


async def serve(service: OifitsService, port: int | None = None) -> LocalServer:
    app = service.create_app(service.settings(), verifier=service.tokens.verifier())
    return await LocalServer(app, port).start()


@pytest.fixture
async def server(service: OifitsService) -> AsyncIterator[LocalServer]:
    running = await serve(service)
    yield running
    await running.stop()


def token(service: OifitsService) -> str:
    return service.drs()["Authorization"].removeprefix("Bearer ")


async def push(server: LocalServer, service: OifitsService, *args: str | Path) -> int:
    """The command as the DRS runs it, in this event loop (the server runs in it too)."""
    argv = ["push", *map(str, args), "--url", server.url, "--token", token(service), *FAST]
    return await amain(argv)


def reduced(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def three(folder: Path) -> Path:
    """Three reductions, one in a night folder, one with an upper-case suffix, next to a non-FITS file."""
    return reduced(
        folder,
        {
            "HD1_LR.fits": oifits(target="HD 1"),
            "2026-05-14/HD2_LR.fits": oifits(target="HD 2"),
            "HD3_LR.OIFITS": oifits(target="HD 3"),
            "notes.txt": b"reduced with spica-drs 2.0\n",
        },
    )


async def files_on(server: LocalServer, service: OifitsService, **params: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.get("/oifits/files", params=params, headers=service.drs())
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


async def test_a_directory_is_pushed_once_and_a_rerun_sends_nothing(
    service: OifitsService, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = three(tmp_path / "reduced")

    assert await push(server, service, folder) == 0

    out = capsys.readouterr().out
    assert sorted(line.split()[:2] for line in lines(out)[:-1]) == [
        ["pushed", str(folder / "2026-05-14/HD2_LR.fits")],
        ["pushed", str(folder / "HD1_LR.fits")],
        ["pushed", str(folder / "HD3_LR.OIFITS")],
    ]
    assert lines(out)[-1].startswith("pushed 3, already there 0, refused 0;")
    on_server = await files_on(server, service)
    assert sorted(f["filename"] for f in on_server) == ["HD1_LR.fits", "HD2_LR.fits", "HD3_LR.OIFITS"]
    local = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("HD*")}
    assert {f["sha256"] for f in on_server} == local
    counts = await stored(service)

    # the rerun finds them all in its journal (kept in the pushed folder: no data folder here)
    assert await push(server, service, folder) == 0
    out = capsys.readouterr().out
    assert lines(out)[-1].startswith("pushed 0, already there 3, refused 0;")
    assert all(line.startswith("already") and "(journal:" in line for line in lines(out)[:-1])
    assert (folder / ".spicadb-drs-journal.jsonl").is_file()

    # without the journal the server is asked, and it has them
    assert await push(server, service, folder, "--journal", tmp_path / "elsewhere.jsonl") == 0
    out = capsys.readouterr().out
    assert lines(out)[-1].startswith("pushed 0, already there 3, refused 0;")
    assert all("(on the server: file" in line for line in lines(out)[:-1])
    assert await stored(service) == counts


async def stored(service: OifitsService) -> dict[str, int]:
    counts = await service.counts()
    return {table: counts[table] for table in ("oifits_file", "granule", "preview", "rejection")}


async def test_output_without_a_terminal_is_plain_lines_and_quiet_is_the_summary(
    service: OifitsService, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = three(tmp_path / "reduced")

    assert await push(server, service, folder) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err  # no colours, no cursor moves
    assert "━" not in captured.out  # no progress bar in a log
    assert [line.split()[0] for line in lines(captured.out)] == ["pushed"] * 4
    assert all(str(folder) in line for line in lines(captured.out)[:-1])  # long paths stay on their line

    (folder / "HD4_LR.fits").write_bytes(oifits(target="HD 4"))
    assert await push(server, service, folder, "--quiet") == 0
    captured = capsys.readouterr()
    assert lines(captured.out) == [lines(captured.out)[0]]
    assert lines(captured.out)[0].startswith("pushed 1, already there 3, refused 0;")


async def test_a_refused_file_is_named_with_its_rule_and_the_others_still_land(
    service: OifitsService, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = truncate(oifits(target="HD 2"), 5000)
    files = {"a_good.fits": oifits(target="HD 1"), "b_cut.fits": cut, "c_good.fits": oifits(target="HD 3")}
    folder = reduced(tmp_path / "reduced", files)

    assert await push(server, service, folder) == 1

    captured = capsys.readouterr()
    refusal = [line for line in lines(captured.err) if line.startswith("refused")]
    assert refusal == [refusal[0]]
    assert str(folder / "b_cut.fits") in refusal[0]
    assert "cannot be indexed: R-" in refusal[0]
    rule = refusal[0].split("cannot be indexed: ")[1].split(";")[0].split(",")[0]
    assert any(line.strip().startswith(rule) for line in lines(captured.err)[1:])  # the finding, explained
    assert lines(captured.out)[-1].startswith("pushed 2, already there 0, refused 1;")
    counts = await service.counts()
    assert (counts["oifits_file"], counts["rejection"]) == (2, 1)

    # a rerun tries the refused file again (it may be fixed on disk), not the others
    assert await push(server, service, folder) == 1
    assert lines(capsys.readouterr().out)[-1].startswith("pushed 0, already there 2, refused 1;")


async def test_a_server_that_comes_up_late_gets_every_file_once(
    service: OifitsService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = three(tmp_path / "reduced")
    port = free_port()
    answered: list[bool] = []  # per request: whether it was the first push (told to wait a second)

    async def maintenance(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """What stands on the port first: a proxy whose upstream is not up yet."""
        head = await reader.readuntil(b"\r\n\r\n")
        first_push = head.startswith(b"POST") and not any(answered)
        wait = b"Retry-After: 1\r\n" if first_push else b""
        answered.append(first_push)
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\n" + wait + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    stand_in = await asyncio.start_server(maintenance, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    client = asyncio.create_task(
        amain(["push", str(folder), "--url", url, "--token", token(service), "--retries", "12", *FAST])
    )
    await eventually(lambda: _at_least(answered, 3))
    stand_in.close()
    await stand_in.wait_closed()
    server = await serve(service, port)
    try:
        assert await client == 0
    finally:
        await server.stop()

    out = capsys.readouterr().out
    assert lines(out)[-1].startswith("pushed 3, already there 0, refused 0;")
    retries = [line for line in lines(out) if line.startswith("retry")]
    assert "in 1.0 s: HTTP 503" in retries[0]  # the first push's 503 asked for a second: obeyed
    counts = await service.counts()
    assert (counts["oifits_file"], counts["rejection"]) == (3, 0)


async def _at_least(seen: list[bool], count: int) -> bool:
    return len(seen) >= count


async def test_a_rerun_after_a_failure_resumes_from_its_journal_without_asking(
    service: OifitsService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = reduced(
        tmp_path / "reduced", {"HD1.fits": oifits(target="HD 1"), "HD2.fits": oifits(target="HD 2")}
    )
    server = await serve(service)
    assert await push(server, service, folder) == 0
    await server.stop()
    (folder / "HD3.fits").write_bytes(oifits(target="HD 3"))
    capsys.readouterr()

    # the server is gone: the journal still knows two files; the third cannot be pushed
    assert await push(server, service, folder, "--retries", "1") == 3
    captured = capsys.readouterr()
    assert [line.split()[0] for line in lines(captured.out)[:2]] == ["already", "already"]
    assert lines(captured.out)[-1].startswith("pushed 0, already there 2, refused 0, not pushed 1 (rerun")
    assert f"failed   {folder / 'HD3.fits'}" in captured.err

    # the server is back on the same port: the rerun pushes the third only
    server = await serve(service, server.port)
    try:
        assert await push(server, service, folder) == 0
    finally:
        await server.stop()
    assert lines(capsys.readouterr().out)[-1].startswith("pushed 1, already there 2, refused 0;")
    assert (await service.counts())["oifits_file"] == 3


async def test_product_ids_come_from_the_paths_and_a_new_reduction_supersedes_the_last(
    service: OifitsService, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = reduced(tmp_path / "reduced", {"2026-05-14/HD1_LR.fits": oifits()})
    assert await push(server, service, folder, "--product-from-name", "--calib-level", "3") == 0
    (folder / "2026-05-14/HD1_LR.fits").write_bytes(oifits(extra={"PROCSOFT": "spica-drs 2.1"}))

    assert await push(server, service, folder, "--product-from-name") == 0

    product = await files_on(server, service, product="2026-05-14/HD1_LR")
    assert sorted((f["product_version"], f["status"]) for f in product) == [(1, "superseded"), (2, "current")]
    assert lines(capsys.readouterr().out)[-1].startswith("pushed 1, already there 0, refused 0;")


async def test_one_product_id_for_several_files_is_a_usage_error(
    service: OifitsService, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = three(tmp_path / "reduced")
    assert await push(server, service, folder, "--product", "LR/HD1") == 2
    assert "--product names one product" in capsys.readouterr().err
    assert (await service.counts())["oifits_file"] == 0


async def test_a_token_the_server_refuses_stops_the_run_with_status_2(
    service: OifitsService, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = three(tmp_path / "reduced")
    reader = service.auth("ada", "oifits:read")["Authorization"].removeprefix("Bearer ")
    argv = ["push", str(folder), "--url", server.url, "--token", reader, *FAST]

    assert await amain(argv) == 2

    captured = capsys.readouterr()
    assert "the server refused the credentials" in captured.err
    assert "HTTP 403" in captured.err
    assert "not pushed 3" in lines(captured.out)[-1]
    assert (await service.counts())["oifits_file"] == 0


async def test_client_credentials_from_the_data_folder_against_the_auth_service(
    service: OifitsService,
    database: str,
    jetstream: JetStreamContext,
    nats_server: NatsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"  # the data folder `make run` leaves: credentials.json (auth), endpoints.json
    auth_port = free_port()
    auth = AuthService(database, nats_server.url, data, issuer=f"http://127.0.0.1:{auth_port}")
    await auth.install(jetstream)
    issuer = await LocalServer(create_auth(auth.settings()), auth_port).start()
    verifier = TokenVerifier(
        issuer=issuer.url, audience="spicadb", jwks_url=issuer.url + "/.well-known/jwks.json"
    )
    oifits_server = await LocalServer(service.create_app(service.settings(), verifier=verifier)).start()
    try:
        (data / "endpoints.json").write_text(json.dumps({"gateway": {"url": oifits_server.url}}))
        monkeypatch.setenv("SPICADB_DATA", str(data))
        folder = three(tmp_path / "reduced")

        assert await amain(["push", str(folder), *FAST]) == 0
        assert lines(capsys.readouterr().out)[-1].startswith("pushed 3, already there 0, refused 0;")
        assert {r["pushed_by"] for r in await service.fetch("SELECT pushed_by FROM oifits_file")} == {"drs"}
        assert (data / "drs-journal.jsonl").is_file()  # the data folder's journal
        assert await drs_tokens(auth) == 1  # one token for the six requests

        # tokens that expire within the client's leeway are fetched again before each request
        await issuer.stop()
        issuer = await LocalServer(create_auth(auth.settings(access_token_lifetime=5)), auth_port).start()
        (folder / "HD4.fits").write_bytes(oifits(target="HD 4"))
        assert await amain(["push", str(folder), *FAST]) == 0
        assert lines(capsys.readouterr().out)[-1].startswith("pushed 1, already there 3, refused 0;")
        assert await drs_tokens(auth) == 1 + 2  # the lookup's and the push's

        (folder / "HD5.fits").write_bytes(oifits(target="HD 5"))
        assert await amain(["push", str(folder), "--client-secret", "not-the-secret", *FAST]) == 2
        captured = capsys.readouterr()
        assert "refused client drs: invalid_client" in captured.err
        # the journal's files went by without a token; the run stopped at the first file that needed one
        assert "already there 3, refused 0, not pushed 2 (rerun" in lines(captured.out)[-1]
    finally:
        await oifits_server.stop()
        await issuer.stop()
        await auth.close()
    assert (await service.counts())["oifits_file"] == 4


async def drs_tokens(auth: AuthService) -> int:
    return int(await auth.scalar("SELECT count(*) FROM access_token WHERE client_id = 'drs'"))


def test_waits_follow_retry_after_else_grow_with_jitter() -> None:
    asked = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert backoff_delay(0, 1.0, asked) == 0.0  # a date in the past: go now
    assert backoff_delay(4, 1.0, httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert 4.0 <= backoff_delay(3, 1.0, httpx.Response(500, headers={"Retry-After": "7"})) <= 8.0
    assert 30.0 <= backoff_delay(40, 1.0) <= 60.0
    assert [s for s in (400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503) if retryable(s)] == [
        408, 429, 500, 502, 503,
    ]  # fmt: skip
