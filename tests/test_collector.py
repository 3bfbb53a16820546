"""collector.paused: no cyclic collection inside, resumed once by the last holder, and left off if it was off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from ccaas_emulator import collector


@pytest.fixture(autouse=True)
def _collection_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_nested_and_concurrent_holders_resume_collection_once_the_last_leaves() -> None:
    gc.enable()
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with collector.paused():
            entered.set()
            release.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    assert entered.wait(10)
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner holder left, two remain
    assert not gc.isenabled()  # the other thread still holds it
    release.set()
    other.join(10)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off_and_an_exception_still_releases() -> None:
    gc.disable()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError
    assert gc.isenabled()


def test_no_collection_runs_while_paused_however_much_is_allocated() -> None:
    gc.enable()
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        with collector.paused():
            kept = [[index] for index in range(100_000)]  # thousands of times the 700-allocation threshold
            assert collections == []
        more = [[index] for index in range(100_000)]
        assert collections  # and once resumed, collection runs again
    finally:
        gc.callbacks.remove(count)
    assert len(kept) == len(more)
