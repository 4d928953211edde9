"""The garbage collector is paused while numba compiles (fairpatrol.compiling) and restored after."""

from __future__ import annotations

import gc

import pytest
from numba import njit
from numba.core import event

import fairpatrol.compiling


class _Record(event.Listener):
    """Whether the collector was enabled at each compile event (registered after fairpatrol's listener,
    so it sees the state that listener left: paused from the outer start to the outer end)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []

    def on_start(self, e):
        self.seen.append(("start", e.data["dispatcher"].py_func.__name__, gc.isenabled()))

    def on_end(self, e):
        self.seen.append(("end", e.data["dispatcher"].py_func.__name__, gc.isenabled()))


@pytest.fixture
def record():
    rec = _Record()
    event.register("numba:compile", rec)
    try:
        yield rec
    finally:
        event.unregister("numba:compile", rec)


def _pair():
    @njit
    def inner(x):
        return x + 1

    @njit
    def outer(x):
        return inner(x) * 2

    return outer


def test_collector_paused_through_nested_compiles_and_restored(record):
    assert gc.isenabled()
    assert _pair()(3) == 8
    assert gc.isenabled()
    assert record.seen == [
        ("start", "outer", False),
        ("start", "inner", False),
        ("end", "inner", False),  # the outer compilation goes on: still paused
        ("end", "outer", True),
    ]


def test_collector_left_off_if_it_was_off(record):
    gc.disable()
    try:
        _pair()(1)
        assert not gc.isenabled()
        assert record.seen[-1] == ("end", "outer", False)
    finally:
        gc.enable()


def test_collector_restored_after_a_failed_compile(record):
    @njit
    def broken(x):
        return x.no_such_attribute

    with pytest.raises(Exception, match="no_such_attribute"):
        broken(1)
    assert gc.isenabled()
    assert fairpatrol.compiling.PAUSE_COLLECTOR.depth == 0
