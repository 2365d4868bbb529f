"""A store the service cannot open stops its startup with the store's own error: the shutdown that
follows (the indexing workers' hook) does not add one of its own about a state never attached."""

from __future__ import annotations

from pathlib import Path

import pytest
from oifits_support import OifitsService


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


async def test_a_store_that_cannot_be_opened_is_the_error_the_startup_reports(
    service: OifitsService, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "store-is-a-file"
    not_a_folder.write_text("a file where the store's folder should be")
    with pytest.raises((OSError, BaseExceptionGroup)) as raised:  # a group from the lifespan task
        async with service.running(store_path=str(not_a_folder)):
            pass
    errors = _leaves(raised.value)
    assert all(isinstance(error, OSError) for error in errors), errors
    assert any(str(not_a_folder) in str(error) for error in errors), errors
