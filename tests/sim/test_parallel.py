"""Algorithm batches simulated side by side in forked workers: the same numbers and sink inputs as one
after the other, the spill format, the workers' plan, and failures that leave nothing behind."""

from __future__ import annotations

import os
import signal
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from fairpatrol.config import load_preset
from fairpatrol.errors import DataError
from fairpatrol.sim import parallel
from fairpatrol.sim.engine import DayBlock
from fairpatrol.sim.study import DenseAllocations, run_study

pytestmark = pytest.mark.skipif(not parallel.fork_available(), reason="workers are forked (Linux)")


class Recorder:
    """A study sink that records the order of the days it is given and a checksum of each."""

    def open(self, layout) -> None:
        self.seen: list[tuple[tuple[int, ...], int, int]] = []

    def day(self, cells, block: DayBlock) -> None:
        total = (
            int(block.officers.sum()) * 1_000_003 + int(block.crimes.sum()) * 101 + int(block.detected.sum())
        )
        self.seen.append((tuple(cells), block.day, total))

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def config():
    cfg = load_preset("baltimore-agg", days=4, runs=3)
    return cfg.model_copy(update={"algorithms": ["PredPol", "ShortTermKDE", "LongTermKDE", "PreviousCounts"]})


def _run(config, workers, tmp_path, monkeypatch):
    import fairpatrol.sim.study as study

    monkeypatch.setattr(parallel.tempfile, "tempdir", str(tmp_path))
    used = []

    def spy(*args, **kwargs):
        used.append(kwargs["workers"])
        return parallel.run_batches(*args, **kwargs)

    monkeypatch.setattr(study, "run_batches", spy)
    dense, order, ticks = DenseAllocations(), Recorder(), []
    res = run_study(config, sinks=[dense, order], workers=workers, progress=ticks.append)
    assert used == [workers - 1]  # the workers asked for were forked
    return res, dense, order, ticks


def test_workers_change_no_number_and_no_sink_input(config, tmp_path, monkeypatch):
    serial = _run(config, 1, tmp_path, monkeypatch)
    side = _run(config, 3, tmp_path, monkeypatch)  # two workers for the three later batches
    (res_a, dense_a, order_a, ticks_a), (res_b, dense_b, order_b, ticks_b) = serial, side
    assert order_a.seen == order_b.seen  # the same days, in the same order, with the same counts
    for name in ("officers", "crimes", "detected", "reported"):
        np.testing.assert_array_equal(getattr(dense_a, name), getattr(dense_b, name), err_msg=name)
    for name, value in res_a.metrics.items():
        np.testing.assert_array_equal(value, res_b.metrics[name], err_msg=name)
    np.testing.assert_array_equal(res_a.fallback, res_b.fallback)
    for name, value in res_a.diagnostics.items():
        np.testing.assert_array_equal(value, res_b.diagnostics[name], err_msg=name)
    assert sum(ticks_a) == sum(ticks_b) == len(config.algorithms) * config.days
    assert list(tmp_path.iterdir()) == []  # the spill folder is gone


def test_spill_round_trip_with_and_without_prevention_and_shares(tmp_path):
    rng = np.random.default_rng(0)
    rows, m = 3, 7

    def counts():
        return rng.integers(0, 9, (rows, m)).astype(np.int32)

    blocks = [
        DayBlock(
            0, counts(), counts(), counts(), counts(), None, rng.random((rows, m)), np.zeros(rows, bool)
        ),
        DayBlock(1, counts(), counts(), counts(), counts(), counts(), None, np.array([True, False, True])),
    ]
    with open(tmp_path / "days", "wb") as fh:
        for b in blocks:
            parallel.write_day(fh, b)
    with open(tmp_path / "days", "rb") as fh:
        back = list(parallel.read_days(fh, rows, m))
    assert [b.day for b in back] == [0, 1]
    for want, got in zip(blocks, back, strict=True):
        for name in ("officers", "crimes", "detected", "reported", "prevention", "shares", "fallback"):
            a, b = getattr(want, name), getattr(got, name)
            assert (a is None) == (b is None), name
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=name)
    assert os.path.getsize(tmp_path / "days") <= 2 * parallel.spill_size(rows, m, 1)
    with open(tmp_path / "days", "r+b") as fh:  # cut short: an error, not a silent short study
        fh.truncate(os.path.getsize(tmp_path / "days") - 5)
    with open(tmp_path / "days", "rb") as fh, pytest.raises(RuntimeError, match="ended early"):
        list(parallel.read_days(fh, rows, m))


def test_plan_workers():
    plan = parallel.plan_workers
    cpus = parallel.cpu_count()
    assert plan(None, 1, spill_bytes=10, batch_bytes=10, spare_memory=None) == 0  # one batch: no worker
    assert plan(1, 3, spill_bytes=10, batch_bytes=10, spare_memory=None) == 0  # one process asked for
    assert plan(3, 3, spill_bytes=10, batch_bytes=10, spare_memory=None) == 2
    assert plan(8, 3, spill_bytes=10, batch_bytes=10, spare_memory=None) == 2  # never more than the batches
    assert plan(None, 3, spill_bytes=10, batch_bytes=10, spare_memory=None) == min(max(1, cpus - 1), 2)
    big = parallel.SPILL_LIMIT_BYTES + 1
    assert plan(3, 3, spill_bytes=big, batch_bytes=10, spare_memory=None) == 0  # too much to spill
    assert plan(3, 3, spill_bytes=100, batch_bytes=10, spare_memory=None, tmp_free=150) == 0  # no room
    assert plan(3, 3, spill_bytes=10, batch_bytes=100, spare_memory=150) == 1  # memory for one more batch
    assert plan(3, 3, spill_bytes=10, batch_bytes=100, spare_memory=50) == 0


def _fake(fail: dict[int, str]):
    """simulate(j, sink, progress) for run_batches: 3 days of 2 × 4 counts, failing as ``fail`` says."""

    def simulate(j, sink, progress):
        for d in range(3):
            if fail.get(j) == "raise" and d == 1:
                raise DataError(f"bad thing in batch {j}", source="incidents.csv", field="date")
            if fail.get(j) == "die" and d == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            if fail.get(j) == "warn" and d == 0:
                warnings.warn(f"careful with batch {j}", UserWarning, stacklevel=1)
            c = np.full((2, 4), 10 * j + d, dtype=np.int32)
            sink(DayBlock(d, c, c, c, c, None, None, np.zeros(2, bool)))
            if progress is not None:
                progress(1)
        return SimpleNamespace(fallback=np.zeros((2, 3), bool), diagnostics={"x": np.full((2, 3), float(j))})

    return simulate


def _batches(fail, tmp_path, monkeypatch, workers=2):
    monkeypatch.setattr(parallel.tempfile, "tempdir", str(tmp_path))
    got: list[tuple[int, int, int]] = []
    out = parallel.run_batches(
        4,
        _fake(fail),
        lambda j, block: got.append((j, block.day, int(block.officers[0, 0]))),
        rows=[2] * 4,
        n_areas=4,
        workers=workers,
        labels=["A", "B", "C", "D"],
    )
    return got, out


def test_run_batches_order_and_results(tmp_path, monkeypatch):
    got, out = _batches({}, tmp_path, monkeypatch)
    assert got == [(j, d, 10 * j + d) for j in range(4) for d in range(3)]
    assert [float(diag["x"][0, 0]) for _, diag in out] == [0.0, 1.0, 2.0, 3.0]
    assert list(tmp_path.iterdir()) == []


def test_a_workers_error_is_raised_as_itself_and_nothing_is_left(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="bad thing in batch 2") as info:
        _batches({2: "raise"}, tmp_path, monkeypatch)
    assert info.value.field == "date"  # the error's file and field survive the trip
    assert list(tmp_path.iterdir()) == []


def test_a_worker_that_dies_names_the_batch_and_nothing_is_left(tmp_path, monkeypatch):
    with pytest.raises(MemoryError, match="simulating C was killed by signal 9"):  # as the OOM killer does
        _batches({2: "die"}, tmp_path, monkeypatch)
    assert list(tmp_path.iterdir()) == []


def test_a_workers_warnings_reach_the_parent(tmp_path, monkeypatch):
    with pytest.warns(UserWarning, match="careful with batch 3"):
        _batches({3: "warn"}, tmp_path, monkeypatch)


def test_predpol_in_a_worker_after_this_process_fitted_it(config, tmp_path, monkeypatch):
    """PredPol's fit threads and numba's threading layer exist in this process (an earlier study): a
    forked worker fitting PredPol starts its own and gives the same numbers."""
    run_study(config.model_copy(update={"algorithms": ["PredPol"], "days": 2}), workers=1)
    later = config.model_copy(update={"algorithms": ["ShortTermKDE", "PredPol"]})
    serial = _run(later, 1, tmp_path, monkeypatch)[0]
    side = _run(later, 2, tmp_path, monkeypatch)[0]
    for name in ("theta", "omega", "em_iterations"):
        np.testing.assert_array_equal(serial.diagnostics[name], side.diagnostics[name], err_msg=name)
    for name, value in serial.metrics.items():
        np.testing.assert_array_equal(value, side.metrics[name], err_msg=name)


def test_thread_limit_while_workers_run_and_lifted_after(tmp_path, monkeypatch):
    import numba

    from fairpatrol.threads import kernel_threads, limit_threads

    with limit_threads(1):
        assert kernel_threads() == 1
        with limit_threads(None):
            assert kernel_threads() == numba.get_num_threads()
        assert kernel_threads() == 1
    assert kernel_threads() == numba.get_num_threads()
    seen = []
    monkeypatch.setattr(parallel.tempfile, "tempdir", str(tmp_path))
    fake = _fake({})

    def simulate(j, sink, progress):
        seen.append(kernel_threads())  # in this process (batch 0; a worker's list is its own copy)
        return fake(j, sink, progress)

    parallel.run_batches(3, simulate, lambda j, b: None, rows=[2] * 3, n_areas=4, workers=2)
    assert seen[0] == max(1, min(numba.get_num_threads(), parallel.cpu_count() // 3))  # 3 simulating
    assert len(seen) == 1
    assert kernel_threads() == numba.get_num_threads()  # lifted when the study is done


def test_no_writable_temporary_folder_runs_one_after_the_other(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(parallel.tempfile, "mkdtemp", refuse)
    got: list[tuple[int, int]] = []
    record = lambda j, b: got.append((j, b.day))  # noqa: E731
    parallel.run_batches(3, _fake({}), record, rows=[2] * 3, n_areas=4, workers=2)
    assert got == [(j, d) for j in range(3) for d in range(3)]
    assert parallel.temporary_space() >= 0


def test_processors_shared_by_the_processes_still_simulating():
    busy = parallel._Busy(3)
    busy.n_cpu = 6
    assert busy.share() == 2  # three processes simulating on six processors
    pid = os.fork()
    if pid == 0:  # a worker finishing: the parent sees it through the shared memory
        busy.done(2)
        os._exit(0)
    os.waitpid(pid, 0)
    assert busy.share() == 3
    busy.done(0)
    busy.done(1)
    assert busy.share() == 6  # nobody else simulating: all of them (never 0 processes counted)


@pytest.mark.slow
@pytest.mark.parametrize("kept_days", [None, 10])
def test_a_first_run_compiles_the_metrics_in_a_forked_process(tmp_path, kept_days):
    """With an empty numba cache, the daily metrics' kernels compile in a forked process while the study
    runs; meanwhile the study keeps the days it is given and folds them in with the kernels once they are
    compiled, in order — beyond ``MetricsSink.PENDING_BYTES`` the oldest kept day by the numpy definitions.
    The study never compiles the kernels itself (it loads them from the cache that process wrote), and its
    numbers are those of a later run, whichever way each day was folded in."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "import numpy as np\n"
        "import fairpatrol.sim.study as S\n"
        "from fairpatrol.config import load_preset\n"
        "from fairpatrol.metrics import support\n"
        "from fairpatrol.metrics.accumulator import StudyMetrics\n"
        "from fairpatrol.metrics.dense import dense_rows\n"
        "opened = S.MetricsSink.open\n"
        "def open_keeping(self, layout):  # room for kept_days days (int32 counts × 3, float64 shares)\n"
        "    opened(self, layout)\n"
        f"    if {kept_days}:\n"
        f"        rows = len(layout.cells) * len(layout.run_ids)\n"
        f"        self.PENDING_BYTES = int(({kept_days} + 0.5) * rows * layout.data.n_areas * 20)\n"
        "S.MetricsSink.open = open_keeping\n"
        "warm = S._warm_dense_metrics\n"
        "def slow_warm(run_averaged):  # the compiling process: surely still at work when the days come\n"
        "    time.sleep(3)\n"
        "    warm(run_averaged)\n"
        "S._warm_dense_metrics = slow_warm\n"
        "ways = []\n"
        "update = StudyMetrics.update_block\n"
        "def recorded(self, *args):\n"
        "    ways.append(support._DENSE[0])\n"
        "    return update(self, *args)\n"
        "StudyMetrics.update_block = recorded\n"
        "cfg = load_preset('baltimore-agg', days=40, runs=3)\n"
        "cfg = cfg.model_copy(update={'algorithms': ['PreviousCounts']})\n"
        "first = S.run_study(cfg, workers=1)\n"
        "numpy_days, kernel_days = ways.count(False), ways.count(True)\n"
        "again = S.run_study(cfg, workers=1)\n"
        "same = all(np.array_equal(v, again.metrics[k], equal_nan=True) for k, v in first.metrics.items())\n"
        "groups = first.group_metrics.items()\n"
        "same = same and all(np.array_equal(v, again.group_metrics[k], equal_nan=True) for k, v in groups)\n"
        "s = dense_rows.stats\n"
        "print(same, sum(s.cache_hits.values()), sum(s.cache_misses.values()), numpy_days, kernel_days)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    same, hits, misses, numpy_days, kernel_days = out.stdout.split()[-5:]
    assert same == "True", out.stdout
    assert (int(hits), int(misses)) == (1, 0), out.stdout  # loaded once from the cache, never compiled here
    assert int(numpy_days) + int(kernel_days) == 40  # every day folded in once (one algorithm: one block)
    if kept_days is None:  # every day kept until the kernels were compiled
        assert int(numpy_days) == 0, out.stdout
    else:  # the oldest by the definitions, the last kept days by the kernels
        assert (int(numpy_days), int(kernel_days)) == (40 - kept_days, kept_days), out.stdout


def test_a_first_run_starts_compiling_the_metrics_before_loading_and_stops_if_loading_fails(tmp_path):
    """With an empty numba cache the metrics' kernels start compiling in a forked process before the
    study's data are loaded (the processor loading leaves idle does it); a study that fails while loading
    ends that process: nothing keeps running after the one-line error."""
    import subprocess
    import sys

    script = (
        "import os\n"
        "import fairpatrol.sim.study as S\n"
        "from fairpatrol.config import load_preset\n"
        "from fairpatrol.errors import DataError\n"
        "seen = []\n"
        "def failing_load(config):\n"
        "    with open(f'/proc/self/task/{os.getpid()}/children') as f:\n"
        "        seen.extend(int(p) for p in f.read().split())\n"
        "    raise DataError('incidents.csv: no such file')\n"
        "S.load_study_data = failing_load\n"
        "try:\n"
        "    S.run_study(load_preset('baltimore-agg', days=5, runs=1))\n"
        "except DataError:\n"
        "    pass\n"
        "alive = []\n"
        "for pid in seen:\n"
        "    try:\n"
        "        os.kill(pid, 0)\n"
        "        alive.append(pid)\n"
        "    except ProcessLookupError:\n"
        "        pass\n"
        "print(len(seen), len(alive))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["1", "0"], out.stdout + out.stderr


def test_workers_are_forked_after_numbas_registries_are_loaded(tmp_path, monkeypatch):
    """numba's registries (≈ 0.23 s of CPU per process) are loaded once in this process before the
    workers are forked, so that each worker inherits them (fairpatrol.compiling.load_registries)."""
    calls: list[int] = []
    monkeypatch.setattr(parallel, "load_registries", lambda: calls.append(os.getpid()))
    monkeypatch.setattr(parallel.tempfile, "tempdir", str(tmp_path))
    fake = _fake({})

    def simulate(j, sink, progress):
        res = fake(j, sink, progress)
        res.diagnostics["loaded"] = np.full((2, 3), float(len(calls)))  # the calls a worker inherited
        return res

    out = parallel.run_batches(3, simulate, lambda j, b: None, rows=[2] * 3, n_areas=4, workers=2)
    assert calls == [os.getpid()]
    assert [float(diag["loaded"][0, 0]) for _, diag in out[1:]] == [1.0, 1.0]
