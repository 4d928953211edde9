"""How fairpatrol's numba kernels compile on a machine's first run (docs/engine.md, "A machine's first run").

numba compiles a kernel on its first call and keeps it in its on-disk cache (``cache=True``), so only a
machine's first run compiles. Compiling allocates many short-lived objects in reference cycles (numba's
IR, types, the LLVM IR as text); they trigger Python's cyclic garbage collector over and over, and its
full collections scan the whole heap of the process (a study's data, pandas, numba's own registries):
≈ 0.25 s of CPU of a first ``baltimore-agg`` run's main process went to collections during compilation
(measured with ``gc.callbacks``). Importing this module (every module with kernels does) pauses the
collector while numba compiles — from the start of the outermost compilation to its end, nested
compilations of callees included — and restores it after; the next collection frees the compiler's
garbage at once. Runs that load their kernels from the cache are not affected, and no number changes.
"""

from __future__ import annotations

import gc
from typing import Any

from numba.core import event


class _PauseCollector(event.Listener):
    """A numba compile-event listener that turns the garbage collector off during compilation.

    numba compiles under one process-wide lock, so the start and end events of a process arrive in nested
    order from one thread at a time: a depth counter finds the outermost compilation.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.was_enabled = False

    def on_start(self, ev: Any) -> None:
        if self.depth == 0:
            self.was_enabled = gc.isenabled()
            gc.disable()
        self.depth += 1

    def on_end(self, ev: Any) -> None:
        self.depth -= 1
        if self.depth == 0 and self.was_enabled:
            gc.enable()


#: the process's listener (a forked process inherits it with the rest of the parent's memory)
PAUSE_COLLECTOR = _PauseCollector()
event.register("numba:compile", PAUSE_COLLECTOR)


def load_registries() -> None:
    """Load numba's registries of implementations in this process, as its first compilation or first load
    of a cached kernel would: ≈ 0.23 s of CPU once per process (numba's ``refresh`` of its target context
    imports ``numba.np.arraymath``, which imports ``scipy.linalg``; measured). A process about to fork
    workers that compile or load kernels calls it first (:mod:`fairpatrol.sim.parallel`), so that the
    children inherit the loaded registries instead of each loading them again; the process itself would
    load them anyway with its own first kernel."""
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()  # refreshes the typing context too
