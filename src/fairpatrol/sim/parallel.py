"""A study's algorithm batches simulated side by side in forked worker processes (docs/engine.md, "Batches
side by side").

A study simulates one batch per algorithm (all runs of its scenario cells together, :func:`fairpatrol.sim.
study.run_study`), one after the other, and most of a batch's work is single-threaded Python and numpy.
With ``workers`` > 1 the parent process simulates the first batch itself, delivering each day to the
sinks as it comes, while forked worker processes simulate the other batches and write their days to a
*spill file* (the day's raw arrays, one after the other) in a temporary folder; the parent then replays
each spilled batch's days to the sinks, in order. The sinks see exactly the days, in exactly the order, of
a serial run, and each batch is the same computation with the same random streams, so every number and
every file is bit for bit the same (tested); only the wall time changes.

A worker is an ``os.fork`` of the parent (Linux only: no re-import, no pickling of the data; the parent's
threads — PredPol's fit pool, progress bars — are not used in the child) that exits with ``os._exit``
without running the parent's exit handlers or flushing its files. It reports each finished batch by
writing the batch's index to a pipe; its result (fallback flags, diagnostics, warnings raised while
simulating) goes to a pickle next to the spill, or the exception that stopped it, which the parent raises
as its own. A worker that dies (a signal, out of memory) closes the pipe: the parent reports which batch
failed. On any error, or when the parent is interrupted, the workers are killed and the temporary folder is
removed; nothing is left behind.

The spill lives on disk, not in memory (the page cache holds what fits), so the parent's memory stays
that of a serial run; a worker adds its own batch's state. :func:`plan_workers` chooses how many workers
a study gets: none for one batch, when fork is not available, when a batch's spill would exceed
:data:`SPILL_LIMIT_BYTES` or the free space of the temporary folder, or when the memory left after the
study's own estimate does not hold another batch.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import pickle
import shutil
import signal
import struct
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fairpatrol.compiling import load_registries
from fairpatrol.sim.engine import BatchResult, DayBlock
from fairpatrol.threads import limit_threads, set_thread_limit

#: Largest spill file of one batch (bytes) for which a batch is simulated in a worker.
SPILL_LIMIT_BYTES = 2 * 2**30
#: Bytes per (row, area) of a spilled day: four int32 counts, the prevention units and the float64 shares.
SPILL_ROW_AREA_BYTES = 4 * 4 + 4 + 8

_HEADER = struct.Struct("<iB")  # day, flags
_HAS_PREVENTION, _HAS_SHARES = 1, 2
_INDEX = struct.Struct("<i")


def fork_available() -> bool:
    """Whether batches can be simulated in forked workers here (Linux: fork without re-importing)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def cpu_count() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def plan_workers(
    requested: int | None,
    n_batches: int,
    *,
    spill_bytes: int,
    batch_bytes: int,
    spare_memory: int | None,
    tmp_free: int | None = None,
) -> int:
    """How many worker processes a study's ``n_batches`` batches get (0: all in this process).

    ``requested`` None means as many as the processors allow (one fewer than their number, the parent
    simulating too, and at least one on a machine of two); ``spill_bytes`` is the spill file of the
    largest batch, ``batch_bytes`` the memory one batch needs, ``spare_memory`` what the memory check
    leaves (None: unknown), ``tmp_free`` the free space of the temporary folder.
    """
    if n_batches < 2 or not fork_available():
        return 0
    want = max(1, cpu_count() - 1) if requested is None else int(requested) - 1
    want = min(want, n_batches - 1)
    if want <= 0 or spill_bytes > SPILL_LIMIT_BYTES:
        return 0
    if tmp_free is not None and spill_bytes * want > tmp_free // 2:
        return 0
    if spare_memory is not None and batch_bytes > 0:
        want = min(want, int(spare_memory // batch_bytes))
    return max(want, 0)


def temporary_space() -> int:
    """Free bytes in the temporary folder the spill files go to (0 when there is none)."""
    try:
        return int(shutil.disk_usage(tempfile.gettempdir()).free)
    except OSError:
        return 0


def spill_size(rows: int, n_areas: int, n_days: int) -> int:
    """Bytes of one batch's spill file."""
    return n_days * (rows * n_areas * SPILL_ROW_AREA_BYTES + rows + _HEADER.size)


# -- the spill file --------------------------------------------------------------------------------------
def write_day(fh: BinaryIO, block: DayBlock) -> None:
    """Append one simulated day to a spill file."""
    flags = (_HAS_PREVENTION if block.prevention is not None else 0) | (
        _HAS_SHARES if block.shares is not None else 0
    )
    fh.write(_HEADER.pack(block.day, flags))
    for arr in (block.officers, block.crimes, block.detected, block.reported):
        fh.write(np.ascontiguousarray(arr, dtype=np.int32).data)
    if block.prevention is not None:
        fh.write(np.ascontiguousarray(block.prevention, dtype=np.int32).data)
    if block.shares is not None:
        fh.write(np.ascontiguousarray(block.shares, dtype=np.float64).data)
    fh.write(np.ascontiguousarray(block.fallback, dtype=np.bool_).data)


def read_days(fh: BinaryIO, rows: int, n_areas: int) -> Iterator[DayBlock]:
    """The days of a spill file, in the order written (each day's arrays are new)."""
    shape = (rows, n_areas)

    def take(dtype: type, n: int) -> np.ndarray:
        arr: np.ndarray = np.fromfile(fh, dtype=dtype, count=n)
        if arr.shape[0] != n:
            raise RuntimeError("a worker's spill file ended early")
        return arr

    while True:
        head = fh.read(_HEADER.size)
        if not head:
            return
        day, flags = _HEADER.unpack(head)
        n = rows * n_areas
        officers, crimes, detected, reported = (take(np.int32, n).reshape(shape) for _ in range(4))
        prevention = take(np.int32, n).reshape(shape) if flags & _HAS_PREVENTION else None
        shares = take(np.float64, n).reshape(shape) if flags & _HAS_SHARES else None
        fallback = take(np.bool_, rows)
        yield DayBlock(day, officers, crimes, detected, reported, prevention, shares, fallback)


# -- workers ---------------------------------------------------------------------------------------------
@dataclass
class _Worker:
    index: int
    pid: int  # 0 once reaped
    pipe: int  # read end: the index of each batch the worker finished
    finished: list[int] = field(default_factory=list)  # indices read from the pipe, not yet replayed
    ended: bool = False  # the pipe closed: the worker is done (or dead)

    @property
    def error_file(self) -> str:
        return f"error-{self.index}.pkl"

    def next_finished(self) -> int | None:
        """The next batch the worker finished (waiting for it), or None if it ended without."""
        while not self.finished and not self.ended:
            self._read()
        return self.finished.pop(0) if self.finished else None

    def _read(self) -> None:
        index = _read_index(self.pipe)
        if index is None:
            self.ended = True
        else:
            self.finished.append(index)


class _Busy:
    """Which of a study's processes are simulating, in memory shared with the forked workers (one byte
    per process, each written by its own process only): each process's kernels take their share of the
    processors, :func:`cpu_count` divided by the processes still simulating."""

    def __init__(self, n: int) -> None:
        self.buf = mmap.mmap(-1, n)  # anonymous and shared: the forked workers see the same bytes
        self.buf.write(b"\x01" * n)
        self.n_cpu = cpu_count()

    def done(self, slot: int) -> None:
        self.buf[slot] = 0

    def share(self) -> int:
        return max(1, self.n_cpu // max(1, sum(self.buf[:])))


#: simulate(j, sink, progress) simulates batch j, sending each day to sink (and progress(1) after it)
Simulate = Callable[[int, Callable[[DayBlock], None], Callable[[int], None] | None], BatchResult]


def _worker_main(
    batches: Sequence[int],
    simulate: Simulate,
    folder: Path,
    pipe: int,
    error_file: str,
    busy: _Busy,
    slot: int,
) -> None:
    """The body of a forked worker: simulate ``batches`` in order, spilling their days; never returns."""
    code = 0
    try:
        with contextlib.suppress(ValueError):  # an interrupt ends the worker; the parent decides the rest
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        for j in batches:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with open(folder / f"batch-{j}.days", "wb") as fh:
                    res = simulate(j, functools.partial(write_day, fh), None)
            seen = [(str(w.message), w.category) for w in caught]
            _dump(folder / f"batch-{j}.pkl", ("ok", res.fallback, res.diagnostics, seen))
            os.write(pipe, _INDEX.pack(j))
    except BaseException as exc:  # everything goes back to the parent, which raises it
        code = 1
        with contextlib.suppress(BaseException):
            try:
                pickle.loads(pickle.dumps(exc))  # it must also unpickle in the parent
                _dump(folder / error_file, ("error", exc))
            except Exception:  # an exception that cannot travel: its text
                _dump(folder / error_file, ("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        busy.done(slot)
        os._exit(code)


def _dump(path: Path, obj: object) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _read_index(fd: int) -> int | None:
    """The next finished batch a worker reports, or None when its pipe closed (it ended)."""
    buf = b""
    while len(buf) < _INDEX.size:
        part = os.read(fd, _INDEX.size - len(buf))
        if not part:
            return None
        buf += part
    return int(_INDEX.unpack(buf)[0])


def run_batches(
    n_batches: int,
    simulate: Simulate,
    deliver: Callable[[int, DayBlock], None],
    *,
    rows: Sequence[int],
    n_areas: int,
    workers: int,
    progress: Callable[[int], None] | None = None,
    labels: Sequence[str] | None = None,
) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Simulate batches 0..n−1 and deliver their days in order; returns each batch's (fallback,
    diagnostics).

    ``simulate(j, sink, progress)`` simulates batch j sending each day to ``sink``; ``deliver(j, block)``
    hands a day of batch j to the study's sinks; ``rows`` gives each batch's rows; ``workers`` the number of
    forked workers (0: all here, in order); ``progress(1)`` follows each day delivered; ``labels`` name the
    batches in error messages.
    """
    if workers <= 0 or n_batches < 2:
        out = []
        for j in range(n_batches):
            res = simulate(j, functools.partial(deliver, j), progress)
            out.append((res.fallback, res.diagnostics))
        return out
    names = list(labels) if labels is not None else [f"batch {j}" for j in range(n_batches)]
    workers = min(workers, n_batches - 1)
    try:
        folder = Path(tempfile.mkdtemp(prefix="fairpatrol-batches-"))
    except OSError:  # no writable temporary folder: one after the other, as without workers
        return run_batches(
            n_batches, simulate, deliver, rows=rows, n_areas=n_areas, workers=0, progress=progress
        )
    plan = [list(range(1 + k, n_batches, workers)) for k in range(workers)]  # round robin, in order
    owner = {j: k for k, js in enumerate(plan) for j in js}
    procs: list[_Worker] = []
    busy = _Busy(workers + 1)  # slot 0: this process; slot k + 1: worker k
    load_registries()  # once here, not in each forked process
    try:
        for k in range(workers):
            read, write = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the worker: its share of the processors while others simulate
                os.close(read)
                set_thread_limit(busy.share)
                _worker_main(plan[k], simulate, folder, write, _Worker(k, 0, -1).error_file, busy, k + 1)
            os.close(write)
            procs.append(_Worker(k, pid, read))
        # while workers simulate, this process's kernels leave them their processors (PredPol's two fit
        # threads sharing a core with a worker would wait for each other at every day's end), and use
        # them all once they are done; a worker's kernels likewise, once this process is done
        with limit_threads(busy.share):
            first = simulate(0, functools.partial(deliver, 0), progress)
        busy.done(0)
        out = [(first.fallback, first.diagnostics)]
        for j in range(1, n_batches):
            worker = procs[owner[j]]
            if worker.next_finished() != j:
                _raise_failure(worker, folder, names[j])
            with open(folder / f"batch-{j}.pkl", "rb") as fh:
                _, fallback, diagnostics, seen = pickle.load(fh)
            for message, category in seen:  # the warnings the worker caught, raised here once
                warnings.warn(message, category, stacklevel=2)
            with open(folder / f"batch-{j}.days", "rb") as fh:
                for block in read_days(fh, rows[j], n_areas):
                    deliver(j, block)
                    if progress is not None:
                        progress(1)
            (folder / f"batch-{j}.days").unlink()
            out.append((fallback, diagnostics))
        return out
    finally:
        for worker in procs:
            if worker.pid > 0:  # done or not: a worker never outlives the study
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(worker.pid, 0)
            with contextlib.suppress(OSError):
                os.close(worker.pipe)
        shutil.rmtree(folder, ignore_errors=True)


def _raise_failure(worker: _Worker, folder: Path, name: str) -> None:
    """Raise what stopped ``worker`` (its exception, or how it died) for batch ``name``."""
    error = folder / worker.error_file
    _, status = os.waitpid(worker.pid, 0)
    worker.pid = 0
    if error.is_file():
        with open(error, "rb") as fh:
            _, exc = pickle.load(fh)
        raise exc
    killed = os.WIFSIGNALED(status)
    code = os.WTERMSIG(status) if killed else os.WEXITSTATUS(status)
    how = f"was killed by signal {code}" if killed else f"exited with code {code}"
    message = f"the worker process simulating {name} {how}; run with --workers 1 (workers=1)"
    if killed and os.WTERMSIG(status) == signal.SIGKILL:  # what the kernel's out-of-memory killer sends
        raise MemoryError(f"{message}, or lower runs, days or cells")
    raise RuntimeError(message)


# -- compiling ahead on a machine's first run -------------------------------------------------------------
def _cached(kernel: object) -> bool:
    """Whether numba's on-disk cache holds compiled code of ``kernel`` (a ``cache=True`` function)."""
    cache = getattr(kernel, "_cache", None)
    index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
    return index is None or os.path.exists(index)


class CompileAhead:
    """Compiles some kernels in a forked process while this one goes on (a machine's first run only).

    numba compiles a kernel on its first call (seconds for the daily metrics' kernels) and caches it on
    disk; a process that calls it later loads it from there. When some of ``kernels`` are not cached yet,
    a forked process runs ``warm`` (calls that compile them and write the cache) while this process loads,
    prepares and compiles its own kernels; :meth:`wait`, called before this process first needs the
    kernels, waits for it, and the kernels then load from the cache: the two compilations overlap instead
    of adding up (or, checking :attr:`running`, this process defers the work that needs them until the
    process is done: the study's metrics keep their days, :class:`fairpatrol.sim.study.MetricsSink`).
    With a cache (every later run), without fork, or when the process fails, nothing changes but the
    time. :meth:`stop` ends the process if it still runs (the study failed first).
    """

    def __init__(self, kernels: Sequence[object], warm: Callable[[], None]) -> None:
        self.pid = 0
        if not fork_available() or all(_cached(k) for k in kernels):
            return
        load_registries()  # once here, not in each forked process
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    warm()
            except BaseException:  # the study itself will compile and say what is wrong
                code = 1
            finally:
                os._exit(code)
        self.pid = pid

    @property
    def running(self) -> bool:
        """Whether the process still compiles (reaped once it is done)."""
        if self.pid > 0:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done = self.pid
            if done:
                self.pid = 0
        return self.pid > 0

    def wait(self) -> None:
        if self.pid > 0:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0

    def stop(self) -> None:
        if self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait()
