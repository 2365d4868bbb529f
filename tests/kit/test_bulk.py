"""The collector pause of bulk requests: nested and concurrent pauses end with the collector as it was."""

from __future__ import annotations

import gc
import threading

from spicadb_kit.bulk import collector_paused


def test_the_collector_is_back_after_the_last_of_nested_pauses() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_leave_the_collector_on() -> None:
    first_in, second_done = threading.Event(), threading.Event()

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(5)

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(5)
    with collector_paused():  # starts while the first runs, ends before it
        pass
    assert not gc.isenabled()  # the first pause still holds
    second_done.set()
    worker.join(5)
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
