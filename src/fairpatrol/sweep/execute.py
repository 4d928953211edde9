"""Running a sweep's unfinished cells: local worker processes, a Dask cluster, or in this process.

* **local** (default): a ``concurrent.futures`` process pool (``spawn`` context) of one worker per core, each
  with ``NUMBA_NUM_THREADS=1`` (the cells are the parallelism); at most one cell per worker is in flight, so
  cells start in the sweep's order. A worker that dies (killed, out of memory) breaks the pool: the cells it
  was running are retried one at a time in a fresh pool after the others, and a cell that kills its worker
  alone is recorded as failed. Workers exit when the sweep process dies (even by ``kill -9``).
* **cluster**: ``dask.distributed.Client(address)`` submits the same cell function to an existing cluster
  (no scheduler of our own); results come back to this process, which writes them. The user's input files
  travel with the cells (:mod:`fairpatrol.sweep.worker`), so workers need fairpatrol installed but no copy
  of the data. The sweep waits at most ``worker_timeout`` seconds for a first worker, and gives up (keeping
  every finished cell) when the cluster has had no worker for that long.
* **inline**: every cell in this process, one after the other (debugging, tests).

Whatever runs the cells, this process writes them (:class:`fairpatrol.results.sweep.SweepStore`), as each
finishes, so an interrupted sweep loses at most the cells in flight.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fairpatrol.errors import FairpatrolError, FairpatrolWarning
from fairpatrol.results.sweep import CellOutcome, SweepStore
from fairpatrol.sweep.spec import SweepCell, SweepPlan, jsonable
from fairpatrol.sweep.worker import (
    CellTask,
    input_files,
    read_inputs,
    run_cell,
    shipment,
    worker_versions,
)

#: Thread-count variables given to local workers (one thread each: cells are the parallel unit).
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
#: Default seconds a sweep on a Dask cluster waits for a worker (at the start, and when all have left).
WORKER_TIMEOUT = 120.0
#: Seconds between two looks at the cluster while cells run.
_POLL = 1.0


@dataclass
class SweepOutcome:
    """What a sweep invocation did."""

    out: Path
    total: int
    skipped: int
    ran: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # cell id -> one-line error
    seconds: float = 0.0
    backend: str = "local"
    workers: int = 0
    interrupted: bool = False

    @property
    def succeeded(self) -> int:
        return self.ran - len(self.failed)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def tasks_of(plan: SweepPlan, cells: list[SweepCell] | None = None) -> list[CellTask]:
    """Worker tasks of ``cells`` (default: all)."""
    cells = plan.cells if cells is None else cells
    return [
        CellTask(
            c.id,
            c.slug,
            c.config.model_dump(mode="json"),
            jsonable(c.columns),
            plan.spec.allocations,
            None if c.config.base_dir is None else str(c.config.base_dir),
        )
        for c in cells
    ]


def run_sweep(
    plan: SweepPlan,
    out: str | Path,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    worker_timeout: float = WORKER_TIMEOUT,
    inline: bool = False,
    overwrite: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_cell: Callable[[CellOutcome], None] | None = None,
) -> SweepOutcome:
    """Run the cells of ``plan`` not yet finished in ``out``; write each as it finishes.

    ``on_start(total, to_run)`` and ``on_cell(outcome)`` report progress (e.g. to a progress bar).
    """
    t0 = time.perf_counter()
    client = _connect(cluster, worker_timeout) if cluster else None  # before anything is written
    try:
        return _run_sweep(
            plan, out, client, workers, inline, overwrite, worker_timeout, t0, on_start, on_cell
        )
    finally:
        if client is not None:
            client.close()


def _run_sweep(
    plan: SweepPlan,
    out: str | Path,
    client,
    workers: int | None,
    inline: bool,
    overwrite: bool,
    worker_timeout: float,
    t0: float,
    on_start: Callable[[int, int], None] | None,
    on_cell: Callable[[CellOutcome], None] | None,
) -> SweepOutcome:
    with SweepStore.open(out, plan.manifest(out), overwrite=overwrite) as store:
        finished = store.finished()
        todo = tasks_of(plan, [c for c in plan.cells if c.id not in finished])
        n_workers = max(1, min(workers or default_workers(), len(todo) or 1))
        backend = "cluster" if client is not None else "inline" if inline else "local"
        done = SweepOutcome(store.root, len(plan.cells), len(plan.cells) - len(todo), backend=backend)
        done.workers = 1 if inline else n_workers
        if on_start is not None:
            on_start(done.total, len(todo))

        def record(outcome: CellOutcome, slug: str) -> None:
            done.ran += 1
            if outcome.ok:
                store.write_cell(outcome)
            else:
                store.write_failure(outcome.cell_id, slug, outcome.error, outcome.traceback)
                done.failed[outcome.cell_id] = outcome.error
            if on_cell is not None:
                on_cell(outcome)

        try:
            if not todo:
                pass
            elif client is not None:
                done.workers = _run_dask(client, todo, record, worker_timeout)
            elif inline:
                for task in todo:
                    record(run_cell(task), task.slug)
            else:
                _run_local(todo, n_workers, record)
        except KeyboardInterrupt:
            done.interrupted = True
        done.seconds = time.perf_counter() - t0
        return done


# ------------------------------------------------------------------------------------------- local pool


@contextmanager
def _worker_environment() -> Iterator[None]:
    """Set :data:`WORKER_ENV` while workers are spawned (they copy this process's environment)."""
    saved = {k: os.environ.get(k) for k in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _init_worker(parent: int) -> None:
    """Worker start-up: exit when the sweep process is gone (its pid is no longer our parent)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="fairpatrol-parent-watch", daemon=True).start()


def _pool(n: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=n, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=(os.getpid(),)
    )


def _run_local(
    todo: list[CellTask],
    n_workers: int,
    record: Callable[[CellOutcome, str], None],
    fn: Callable[[CellTask], CellOutcome] = run_cell,
) -> None:
    """Process pool with at most ``n_workers`` cells in flight; crash suspects retried alone at the end.

    ``fn`` runs one cell (a module-level function, as the spawned workers import it by name).
    """
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pending = deque(todo)
    suspects: list[CellTask] = []
    with _worker_environment():
        while pending:
            pool = _pool(n_workers)
            flight: dict = {}
            try:
                while pending or flight:
                    while pending and len(flight) < n_workers:
                        task = pending.popleft()
                        flight[pool.submit(fn, task)] = task
                    finished, _ = wait(flight, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        outcome = fut.result()  # raises BrokenProcessPool if any worker died
                        record(outcome, flight.pop(fut).slug)
            except BrokenProcessPool:
                for fut, task in list(flight.items()):  # cells that finished before the crash are kept
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        record(fut.result(), task.slug)
                        del flight[fut]
                suspects.extend(flight.values())
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        for task in suspects:  # each alone: a crash is then this cell's
            pool = _pool(1)
            try:
                record(pool.submit(fn, task).result(), task.slug)
            except BrokenProcessPool:
                record(
                    CellOutcome(
                        task.cell_id,
                        False,
                        error="worker process died while running this cell "
                        "(killed, out of memory or a crash in compiled code)",
                    ),
                    task.slug,
                )
            finally:
                pool.shutdown(wait=False, cancel_futures=True)


# ------------------------------------------------------------------------------------------------ dask


def _connect(address: str, worker_timeout: float = WORKER_TIMEOUT):
    """A client of the Dask cluster at ``address`` with at least one worker whose fairpatrol is ours."""
    try:
        from distributed import Client
    except ImportError as err:  # pragma: no cover - dask is a dependency
        raise FairpatrolError(f"--cluster needs dask.distributed: {err}") from None
    try:
        client = Client(address, timeout=f"{min(worker_timeout, 20.0):g}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise FairpatrolError(f"cannot connect to the Dask scheduler at {address}: {err}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except TimeoutError:
            raise FairpatrolError(
                f"the Dask cluster at {address} has no worker (waited {worker_timeout:g} s, "
                f"--worker-timeout): start workers with `dask worker {address}`"
            ) from None
        _check_worker_versions(client, address)
    except BaseException:
        client.close()
        raise
    return client


def _run_dask(
    client, todo: list[CellTask], record: Callable[[CellOutcome, str], None], worker_timeout: float
) -> int:
    """Submit every cell to the cluster of ``client``; returns its number of workers."""
    address = client.scheduler.address
    try:
        n_workers = len(client.nthreads())
        _submit_and_collect(client, todo, record, address, worker_timeout)
        return n_workers
    except OSError as err:  # the scheduler went away
        raise FairpatrolError(
            f"lost the connection to the Dask scheduler at {address} ({type(err).__name__}); finished cells "
            "are kept: re-run the same command to resume"
        ) from None


def _check_worker_versions(client, address: str) -> None:
    """Refuse workers with another fairpatrol; warn about other packages whose versions differ."""
    from fairpatrol.environment import installed_versions

    try:
        found = client.run(worker_versions)
    except Exception as err:
        raise FairpatrolError(
            f"the Dask workers at {address} cannot run fairpatrol ({type(err).__name__}: {err}); install "
            "it in the workers' environment"
        ) from None
    here = installed_versions()
    theirs = {v["fairpatrol"] for v in found.values()}
    if theirs != {here["fairpatrol"]}:
        raise FairpatrolError(
            f"Dask workers at {address} run fairpatrol {sorted(theirs)}, this process {here['fairpatrol']}: "
            "install the same version on the workers"
        )
    differ = sorted(
        {f"{k} {v} on a worker, {here.get(k)} here" for w in found.values() for k, v in w.items()}
        - {f"{k} {v} on a worker, {v} here" for k, v in here.items()}
    )
    if differ:
        warnings.warn(
            f"Dask workers at {address} have other package versions than this process ({'; '.join(differ)}): "
            "the results may differ from a local run — install the same versions (requirements/lock.txt)",
            FairpatrolWarning,
            stacklevel=3,
        )


def _submit_and_collect(
    client, todo: list[CellTask], record: Callable[[CellOutcome, str], None], address: str, timeout: float
) -> None:
    """Ship the input files once, submit every cell, record each as it finishes; give up after ``timeout``
    seconds without any worker."""
    from distributed import wait

    paths = sorted({p for t in todo for p in input_files(t).values()})
    shipped = {p: client.scatter([read_inputs(p)], broadcast=False)[0] for p in paths}
    run_id = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            run_cell,
            t,
            shipment(t, shipped),
            key=f"fairpatrol-cell-{t.cell_id}-{run_id}",
            pure=False,
        ): t
        for t in todo
    }
    pending = set(futures)
    last_worker = time.monotonic()
    while pending:
        try:
            done = wait(pending, timeout=_POLL, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        for fut in done:
            task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as err:  # a worker lost for good (KilledWorker) or a task that cannot run
                outcome = CellOutcome(task.cell_id, False, error=f"{type(err).__name__}: {err}")
            record(outcome, task.slug)
            fut.release()
            pending.discard(fut)
        if not pending:
            break
        if client.nthreads():
            last_worker = time.monotonic()
        elif time.monotonic() - last_worker > timeout:
            client.cancel(list(pending))
            raise FairpatrolError(
                f"the Dask cluster at {address} has had no worker for {timeout:g} s (--worker-timeout); "
                f"{len(pending)} cells did not run, finished cells are kept: re-run to resume"
            )
