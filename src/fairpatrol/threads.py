"""How many threads fairpatrol's compiled kernels may use (docs/engine.md, "Batches side by side").

PredPol's daily fits split their blocks of runs over threads (the compiled kernel releases the GIL); they
ask :func:`kernel_threads`: numba's thread count (``NUMBA_NUM_THREADS``, default the processors), lowered
while :func:`limit_threads` is in effect — e.g. while forked workers simulate a study's other algorithms on
the other processors (:mod:`fairpatrol.sim.parallel`). No number depends on it (tested bit for bit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

_LIMIT: list[int | None] = [None]


def kernel_threads() -> int:
    """Threads a kernel may use now: numba's count, at most the current limit, at least 1."""
    n = int(numba.get_num_threads())
    limit = _LIMIT[0]
    return n if limit is None else max(1, min(n, limit))


def set_thread_limit(limit: int | None) -> None:
    """Set (an int) or lift (None) the limit of :func:`kernel_threads`."""
    _LIMIT[0] = None if limit is None else max(1, int(limit))


@contextmanager
def limit_threads(limit: int | None) -> Iterator[None]:
    """Within the block, :func:`kernel_threads` is at most ``limit`` (None: no limit); restored after."""
    before = _LIMIT[0]
    set_thread_limit(limit)
    try:
        yield
    finally:
        _LIMIT[0] = before
