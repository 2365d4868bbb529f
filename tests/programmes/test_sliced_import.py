"""A large VOTable is imported slice by slice (each slice COPYed while the next is read): what the user
sees is what the list read whole gives, and a list that is refused writes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
import spicadb_targets as lists
from programmes_support import Client, ProgrammesService, create_programme, fields, outbox, problem
from spicadb_programmes.targetlists import parse_target_list
from spicadb_programmes.targetlists.chunked import merge, read_slice, split_rows

VOTABLE = "application/x-votable+xml"
N = 2_500  # two slices and a half
_ROW = re.compile(rb"<TR>.*?</TR>", re.DOTALL)


@pytest.fixture(scope="module")
def large() -> bytes:
    return lists.spicadb_votable(N)


def with_rows(body: bytes, change: Any) -> bytes:
    """The document with its rows (the <TR> elements, in order) as ``change`` makes them."""
    rows = _ROW.findall(body)
    start, end = body.index(rows[0]), body.index(rows[-1]) + len(rows[-1])
    return body[:start] + b"\n".join(change(rows)) + body[end:]


async def post_list(client: Client, service: ProgrammesService, body: bytes, **params: Any) -> Any:
    return await client.post(
        "/programmes/LP-1/targets/import",
        content=body,
        headers={**service.auth("ada"), "Content-Type": VOTABLE},
        params=params,
    )


def test_a_large_list_reads_in_slices_as_it_reads_whole(large: bytes) -> None:
    slices = split_rows(large, VOTABLE)
    assert slices is not None
    assert len(slices) >= 2
    assert merge([read_slice(before, document) for before, document in slices]) == parse_target_list(
        large, VOTABLE
    )
    assert split_rows(lists.spicadb_votable(42), VOTABLE) is None  # a small list is read whole


async def test_a_large_list_imports_as_it_reads_whole(service: ProgrammesService, large: bytes) -> None:
    whole = parse_target_list(large, VOTABLE)
    async with service.running() as client:
        await create_programme(client, service)
        answer = await post_list(client, service, large)
        assert answer.status_code == 201, answer.text[:500]
        report = answer.json()
    assert report["imported"] == N
    assert report["properties"] == whole.properties
    assert [(w["message"], w.get("column")) for w in report["warnings"]] == [
        (w.message, w.column) for w in whole.warnings
    ]
    assert await service.scalar("SELECT count(*) FROM target") == N
    assert await service.scalar("SELECT count(DISTINCT import_id) FROM target") == 1
    events = await outbox(service, "programmes.targets.imported")
    assert sum(len(e["targets"]) for e in events) == N


async def test_a_duplicate_in_another_slice_is_judged_over_the_whole_list(
    service: ProgrammesService, large: bytes
) -> None:
    twice = with_rows(large, lambda rows: [*rows, rows[0]])  # the first row again, in the last slice
    async with service.running() as client:
        await create_programme(client, service)
        refused = problem(await post_list(client, service, twice), 422, "invalid-target-list")
        assert fields(refused) == [f"rows[{N + 1}].name"]
        assert await service.scalar("SELECT count(*) FROM target") == 0
        assert await service.scalar("SELECT count(*) FROM target_column") == 0
        assert await service.scalar("SELECT count(*) FROM work_package") == 0
        assert await outbox(service, "programmes.targets.imported") == []
        skipped = await post_list(client, service, twice, duplicates="skip")
        assert skipped.status_code == 201, skipped.text[:500]
        assert (skipped.json()["imported"], skipped.json()["skipped"]) == (N, 1)
    assert await service.scalar("SELECT count(*) FROM target") == N


async def test_a_short_row_in_a_later_slice_is_named_by_its_row_in_the_list(
    service: ProgrammesService, large: bytes
) -> None:
    def shorten_last(rows: list[bytes]) -> list[bytes]:
        last = rows[-1]
        return [*rows[:-1], last[: last.rindex(b"<TD")] + b"</TR>"]

    async with service.running() as client:
        await create_programme(client, service)
        answer = await post_list(client, service, with_rows(large, shorten_last))
        assert answer.status_code == 201, answer.text[:500]
        rows = [w["row"] for w in answer.json()["warnings"] if w.get("row") is not None]
    assert rows == [N]
