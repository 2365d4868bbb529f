"""A full disk under the OIFITS store (a real one: a small tmpfs, so root only; skipped otherwise): a push
that does not fit is refused with 507 and a problem document, and leaves nothing (no part, no object, no
row, no event), whether the file itself or its quick-look plots ran out of room; readiness warns that the
store is low; once space is freed the same push is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from oifits_support import OifitsService, oifits, push
from small_disk import PAGE, fill, free_bytes, small_tmpfs

NOTHING = {
    "oifits_file": 0,
    "granule": 0,
    "preview": 0,
    "granule_observation": 0,
    "rejection": 0,
    "outbox": 0,
}
STORE_BYTES = 4 * 1024 * 1024


@pytest.fixture
def full_store(service: OifitsService) -> Iterator[Path]:
    with small_tmpfs(service.store, STORE_BYTES) as store:
        yield store


async def _nothing_written(service: OifitsService, store: Path) -> None:
    assert await service.counts() == NOTHING
    assert service.objects() == []
    assert service.incoming() == []
    assert sorted(p.name for p in store.iterdir()) == ["filler", "incoming", "objects"]  # noqa: ASYNC240


def _insufficient_storage(answer: object) -> None:
    assert answer.status_code == 507, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    problem = answer.json()  # type: ignore[attr-defined]
    assert problem["type"].endswith("/insufficient-storage")
    assert "nothing was kept" in problem["detail"]


async def test_a_file_larger_than_the_free_space_is_refused_with_507_and_leaves_nothing(
    service: OifitsService, full_store: Path
) -> None:
    data = oifits()
    async with service.running() as client:
        filler = fill(full_store, leave=len(data) // 2)
        answer = await push(client, data, service.drs())
        _insufficient_storage(answer)
        await _nothing_written(service, full_store)

        filler.unlink()  # the operator frees space: the same push goes in
        again = await push(client, data, service.drs())
        assert again.status_code == 201, again.text
        assert service.objects()


async def test_a_file_whose_plots_do_not_fit_is_refused_with_507_and_leaves_nothing(
    service: OifitsService, full_store: Path
) -> None:
    data = oifits()
    async with service.running() as client:
        # room for the file's pages and one more: its plots (several pages each) cannot all follow
        fill(full_store, leave=(len(data) // PAGE + 2) * PAGE)
        answer = await push(client, data, service.drs())
        _insufficient_storage(answer)
        await _nothing_written(service, full_store)


async def test_readiness_warns_when_the_store_runs_low_and_stays_ready(
    service: OifitsService, full_store: Path
) -> None:
    async with service.running(store_min_free_bytes=1024 * 1024) as client:
        calm = (await client.get("/health/ready")).json()
        assert not [w for w in calm["warnings"] if w.startswith("store:")]
        fill(full_store, leave=64 * 1024)
        answer = await client.get("/health/ready")
        assert answer.status_code == 200  # downloads and the consumers still work
        (warning,) = [w for w in answer.json()["warnings"] if w.startswith("store:")]
        assert "507" in warning
        assert free_bytes(full_store) < 1024 * 1024
