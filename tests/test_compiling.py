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


def test_load_registries_loads_numbas_implementations_in_this_process():
    """What a process's first compilation or cache load would do (here in a fresh process)."""
    import subprocess
    import sys

    code = (
        "import sys; from fairpatrol.compiling import load_registries; "
        "before = 'numba.np.arraymath' in sys.modules; load_registries(); "
        "print(before, 'numba.np.arraymath' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "True"]
