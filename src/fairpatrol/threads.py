"""How many threads fairpatrol's compiled kernels may use (docs/engine.md, "Batches side by side").

PredPol's daily fits split their blocks of runs over threads (the compiled kernel releases the GIL); they
ask :func:`kernel_threads`: numba's thread count (``NUMBA_NUM_THREADS``, default the processors), lowered
while :func:`limit_threads` is in effect — e.g. while forked workers simulate a study's other algorithms on
the other processors (:mod:`fairpatrol.sim.parallel`). No number depends on it (tested bit for bit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba

#: a fixed limit, a function giving the limit at each call (e.g. from memory shared between processes), or
#: None for no limit
Limit = int | Callable[[], int | None] | None
_LIMIT: list[Limit] = [None]


def kernel_threads() -> int:
    """Threads a kernel may use now: numba's count, at most the current limit, at least 1."""
    n = int(numba.get_num_threads())
    limit = _LIMIT[0]
    value = limit() if callable(limit) else limit
    return n if value is None else max(1, min(n, int(value)))


def set_thread_limit(limit: Limit) -> None:
    """Set (an int, or a function giving it when asked) or lift (None) the limit of :func:`kernel_threads`."""
    _LIMIT[0] = limit


@contextmanager
def limit_threads(limit: Limit) -> Iterator[None]:
    """Within the block, :func:`kernel_threads` is at most ``limit`` (None: no limit); restored after."""
    before = _LIMIT[0]
    set_thread_limit(limit)
    try:
        yield
    finally:
        _LIMIT[0] = before
