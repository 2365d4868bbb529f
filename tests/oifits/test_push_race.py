"""Concurrent pushes of the same bytes: whichever push stores the object first, no push's cleanup may
remove an object a committed record uses (issue 12: push A stored the blob, push B found it and
committed, A then hit the unique constraint and its cleanup removed the blob B's record points to).

The app runs under uvicorn on a real port in the test's event loop (the test client handles one request
at a time), and the pushes are real concurrent HTTP requests."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
from gateway_support import LocalServer
from harness import eventually
from oifits_support import PUBLIC_URL, OifitsService, oifits
from spicadb_oifits.blobs import BlobStore, Part
from spicadb_oifits.handlers.deps import OifitsContext


class HeldStore:
    """The service's store, with the first push that creates the file's object held right after creating
    it until ``release`` is set (the storage interface is the test's hook: no sleep in the service)."""

    def __init__(self, inner: BlobStore, release: asyncio.Event) -> None:
        self.inner = inner
        self.release = release
        self.held = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def keep(self, part: Part) -> bool:
        created = await self.inner.keep(part)
        if created and not self.held:
            self.held = True
            await self.release.wait()
        return created


async def _waiting_on_locks(service: OifitsService) -> int:
    return int(
        await service.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
    )


async def _push(http: httpx.AsyncClient, data: bytes, headers: dict[str, str]) -> httpx.Response:
    return await http.post(
        "/oifits/files",
        params={"filename": "spica.fits"},
        content=data,
        headers={**headers, "Content-Type": "application/fits"},
    )


async def _check_stored(
    http: httpx.AsyncClient, service: OifitsService, data: bytes, answers: list[httpx.Response]
) -> None:
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * (len(answers) - 1) + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    record = answers[0].json()
    assert hashlib.sha256(data).hexdigest() in service.objects()
    download = await http.get(f"/oifits/files/{record['id']}/content", headers=service.drs())
    assert (download.status_code, download.content) == (200, data)
    for granule in record["granules"]:
        for preview in granule["previews"]:
            plot = await http.get(preview["url"].removeprefix(PUBLIC_URL), headers=service.drs())
            assert plot.status_code == 200, preview
    assert (await service.counts())["oifits_file"] == 1


async def test_a_push_that_stored_the_object_first_and_lost_the_record_keeps_it(
    service: OifitsService,
) -> None:
    """Push A stores the object and is held there; the others go as far as they can (answered, or
    waiting on a lock A holds); then A goes on. Every answer is the one file, whole."""
    data, pushes = oifits(), 4
    release = asyncio.Event()
    app = service.create_app(service.settings(), verifier=service.tokens.verifier())
    server = await LocalServer(app).start()
    try:
        context: OifitsContext = app.state.context
        store = HeldStore(context.state.store, release)
        context.state.store = store
        async with httpx.AsyncClient(base_url=server.url, timeout=120.0) as http:
            tasks = [asyncio.create_task(_push(http, data, service.drs())) for _ in range(pushes)]

            async def others_went_as_far_as_they_can() -> bool:
                if not store.held:
                    return False
                answered = sum(1 for t in tasks if t.done())
                return answered + await _waiting_on_locks(service) >= pushes - 1

            try:
                await eventually(others_went_as_far_as_they_can, timeout=60.0)
            finally:
                release.set()
            answers = list(await asyncio.gather(*tasks))
            context.state.store = store.inner
            await _check_stored(http, service, data, answers)
    finally:
        await server.stop()


async def test_many_concurrent_pushes_of_the_same_bytes(service: OifitsService) -> None:
    data, pushes = oifits(target="HD 7"), 6
    app = service.create_app(service.settings(), verifier=service.tokens.verifier())
    server = await LocalServer(app).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=120.0) as http:
            answers = list(await asyncio.gather(*(_push(http, data, service.drs()) for _ in range(pushes))))
            await _check_stored(http, service, data, answers)
    finally:
        await server.stop()
