"""A study: one dataset replayed under every scenario cell — algorithm × officers × reporting × remedy —
for R runs each (all runs of an algorithm advance together in one engine batch).

The simulated days stream through :class:`StudySink` objects, batch by batch and day by day: the study's
daily metrics are computed from each day as it is simulated, and the allocation counts go wherever a sink
puts them (:class:`fairpatrol.allocations.AllocationWriter` writes their nonzero rows to Parquet,
:class:`DenseAllocations` keeps dense arrays for small studies). A study's memory therefore grows with
cells × runs × (areas + days), never with runs × days × areas (docs/engine.md "Streaming results").
"""

from __future__ import annotations

import collections
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.config import RemedyConfig, ScenarioConfig
from fairpatrol.data import Incidents, StudyInputs, load_data
from fairpatrol.data.inputs import InputFile, sha256_of
from fairpatrol.errors import ConfigError
from fairpatrol.metrics.accumulator import StudyMetrics
from fairpatrol.metrics.support import SUPPORT_METRICS_MIN_AREAS, metric_kernels, use_dense_kernels
from fairpatrol.models.base import AreaModel
from fairpatrol.sim.budget import check_memory, spare_memory
from fairpatrol.sim.engine import (
    BatchResult,
    DayBlock,
    DaySink,
    RunSpec,
    check_first_window,
    simulate,
)
from fairpatrol.sim.layout import Cell, StudyLayout, StudySink, study_cells
from fairpatrol.sim.parallel import (
    CompileAhead,
    plan_workers,
    run_batches,
    spill_size,
    temporary_space,
)
from fairpatrol.sim.prepare import SimData, prepare, with_shadows
from fairpatrol.sim.victim_reporting import mean_rate, rate_file, reporting_rates


@dataclass
class StudyResult(StudyLayout):
    """Everything a study keeps: daily metrics and diagnostics, arrays indexed [cell, run, day(, group)].

    The allocation counts per (cell, run, day, area) are not kept: they went to the study's sinks
    (:func:`run_study`), e.g. ``allocations.parquet`` (:func:`fairpatrol.results.run.write_study`).
    """

    fallback: np.ndarray  # cells × runs × days
    metrics: dict[str, np.ndarray]  # name -> cells × runs × days (runs = 1 "average" in compat mode)
    diagnostics: dict[str, np.ndarray]  # name -> cells × runs × days (NaN where not applicable)
    cleaning: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: per-group metrics: name -> cells × runs × days × groups (groups in ``areas.group_names`` order)
    group_metrics: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[InputFile] = field(default_factory=list)  # the files read, with their SHA-256
    short_history: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted short windows
    #: every metric of the study (daily, per group, horizon, per area): :class:`StudyMetrics`, finished
    measures: StudyMetrics | None = None


def split_cells(values: np.ndarray, n_cells: int) -> np.ndarray:
    """A block's rows × … array as cells × runs × … (a view)."""
    return values.reshape(n_cells, -1, *values.shape[1:])


class MetricsSink(StudySink):
    """Every metric of the study (:class:`fairpatrol.metrics.accumulator.StudyMetrics`), folded in as the
    days stream by: each day's block (all cells of a batch) is handed over whole, with the day's allocation
    shares (:meth:`~fairpatrol.metrics.accumulator.StudyMetrics.update_block`).

    Attributes
    ----------
    measures : the :class:`~fairpatrol.metrics.accumulator.StudyMetrics`, finished after :meth:`close`.
    """

    #: Bytes of days kept while a machine's first run compiles the metrics' kernels (below 1,024 areas):
    #: they are folded in by the kernels once compiled, in the order they came (beyond this bound the
    #: oldest kept day is folded in by the numpy definitions, the same numbers at about three times the
    #: CPU).
    PENDING_BYTES = 128 * 2**20

    def __init__(self, ahead: CompileAhead | None = None) -> None:
        self.early = ahead  # the process :func:`compile_metrics_ahead` started (None: none)
        self.pending: collections.deque[tuple[list[int], tuple[Any, ...]]] = collections.deque()
        self.pending_bytes = 0

    def open(self, layout: StudyLayout) -> None:
        self.measures = StudyMetrics(
            layout.data.areas,
            layout.cells,
            layout.run_ids,
            layout.data.n_days,
            run_averaged=layout.config.compat.run_averaged_metrics,
        )
        # a machine's first run: the metrics' kernels compile in a forked process meanwhile (started
        # before the data were loaded, for fewer than 1,024 areas); there the days are kept until it is
        # done (:attr:`PENDING_BYTES`), else this process waits for it
        self.interim = layout.data.n_areas < SUPPORT_METRICS_MIN_AREAS
        if self.interim and self.early is not None:
            self.ahead = self.early
        else:
            kernels = metric_kernels(layout.data.n_areas)
            run_averaged = layout.config.compat.run_averaged_metrics
            warm = functools.partial(_warm_metrics, layout.data.areas, len(layout.run_ids), run_averaged)
            self.ahead = CompileAhead(kernels, warm)

    def day(self, cells: Sequence[int], block: DayBlock) -> None:
        arrays = (block.day, block.officers, block.crimes, block.detected, block.shares)
        if self.interim and self.ahead.running:  # keep a copy (the engine reuses its buffers)
            kept = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in arrays)
            self.pending.append((list(cells), kept))
            self.pending_bytes += sum(a.nbytes for a in kept if isinstance(a, np.ndarray))
            use_dense_kernels(False)
            while self.pending_bytes > self.PENDING_BYTES:
                self._fold_oldest()
            return
        self._catch_up()
        self.measures.update_block(cells, *arrays)

    def _fold_oldest(self) -> None:
        cells, arrays = self.pending.popleft()
        self.pending_bytes -= sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
        self.measures.update_block(cells, *arrays)

    def _catch_up(self) -> None:
        """The kernels are compiled (or never were to be): fold in the kept days, in order."""
        self.ahead.wait()
        use_dense_kernels(True)
        while self.pending:
            self._fold_oldest()

    def close(self) -> None:
        self._catch_up()
        if self.early is not None:  # (a study of 1,024 areas or more: long done by now)
            self.early.wait()
        self.measures.finish()

    def abort(self) -> None:
        """The study failed: end the compiling process if it still runs."""
        for ahead in (getattr(self, "ahead", None), self.early):
            if ahead is not None:
                ahead.stop()
        use_dense_kernels(True)


def _warm_metrics(areas: Any, n_runs: int, run_averaged: bool) -> None:
    """One day of zeros through a one-cell study's metrics on ``areas``: every kernel a day and the
    horizon use, compiled for the engine's array types (int32 counts, float64 shares)."""
    measures = StudyMetrics(areas, 1, list(range(n_runs)), 1, run_averaged=run_averaged)
    counts = np.zeros((n_runs, areas.n), dtype=np.int32)
    shares = np.full((n_runs, areas.n), 1.0 / areas.n)
    measures.update_block([0], 0, counts, counts.copy(), counts.copy(), shares)
    measures.finish()


def _warm_dense_metrics(run_averaged: bool) -> None:
    """:func:`_warm_metrics` on six toy areas in three groups: the kernels below 1,024 areas."""
    from fairpatrol.audit.toy import toy_areas

    _warm_metrics(toy_areas(3, 2, groups=["a", "b", "c", "a", "b", "c"]), 2, run_averaged)


def rate_inputs(config: ScenarioConfig) -> list[InputFile]:
    """The reporting-rate CSV files ``config.report_probs`` names, with their SHA-256 (the study's inputs)."""
    paths = (rate_file(r, config.base_dir) for r in config.report_probs if isinstance(r, str))
    return [InputFile("report_probs", p, sha256_of(p)) for p in dict.fromkeys(paths) if p is not None]


def compile_metrics_ahead(config: ScenarioConfig) -> CompileAhead:
    """On a machine's first run, start compiling the daily metrics' kernels of fewer than 1,024 areas (the
    common case) in a forked process before the study's data are loaded: that process uses the processor
    the loading leaves idle (docs/engine.md, "A machine's first run"). A study of more areas compiles
    its own."""
    warm = functools.partial(_warm_dense_metrics, config.compat.run_averaged_metrics)
    return CompileAhead(metric_kernels(1), warm)


class DenseAllocations(StudySink):
    """Keeps every count of every (cell, run, day, area): cells × runs × days × areas int32 arrays.

    For small studies, tests and notebooks; memory grows with runs × days × areas (a 150 m city grid
    needs tens of GB), so :func:`fairpatrol.results.run.write_study` streams nonzero rows to Parquet instead.

    Attributes
    ----------
    officers, crimes, detected, reported : cells × runs × days × areas int32 arrays.
    prevention : the same for non-punitive units, or None when the study has none.
    """

    def open(self, layout: StudyLayout) -> None:
        self.shape = (len(layout.cells), len(layout.run_ids), layout.data.n_days, layout.data.n_areas)
        self.officers, self.crimes, self.detected, self.reported = (
            np.zeros(self.shape, dtype=np.int32) for _ in range(4)
        )
        self.prevention: np.ndarray | None = None

    def day(self, cells: Sequence[int], block: DayBlock) -> None:
        idx = list(cells)
        for name, value in block.counts.items():
            if name == "prevention" and self.prevention is None:
                self.prevention = np.zeros(self.shape, dtype=np.int32)
            getattr(self, name)[idx, :, block.day] = split_cells(value, len(idx))


def load_study_data(config: ScenarioConfig) -> StudyInputs:
    """The areas and incidents a study replays (paths relative to the scenario file) and the files read."""
    return load_data(config.data, config.base_dir)


def load_study_incidents(config: ScenarioConfig) -> Incidents:
    """The incidents (joined to the study's areas) a study replays, cleaned, filtered to its crime types."""
    return load_study_data(config).incidents


def history_days(config: ScenarioConfig) -> int:
    """The longest training window of the study's models (days of history to prepare)."""
    return max(max(int(getattr(config.model(a), "window_days", 1)) for a in config.algorithms), 1)


def short_history(config: ScenarioConfig, incidents: Incidents) -> dict[str, dict[str, Any]]:
    """Models whose training window reaches before the first incident: window and days of history held."""
    start = pd.Timestamp(config.start).normalize()
    first = incidents.frame["time"].min().normalize()
    available = int((start - first).days)
    out = {}
    for algorithm in config.algorithms:
        window = getattr(config.model(algorithm), "window_days", None)
        if window is not None and available < int(window):
            out[algorithm] = {
                "window_days": int(window),
                "available_days": max(available, 0),
                "first_incident": f"{first:%Y-%m-%d}",
            }
    return out


def check_history(config: ScenarioConfig, incidents: Incidents) -> dict[str, dict[str, Any]]:
    """Data sufficiency: an error naming the model, its window and the days available when the data hold
    less history before the start than a model's training window, unless ``data.allow_short_history``
    accepts it (then the short windows are returned, recorded with the results and shown in the report)."""
    short = short_history(config, incidents)
    if short and not config.data.allow_short_history:
        name, s = next(iter(short.items()))
        raise ConfigError(
            f"{name} trains on the {s['window_days']} days before each simulated day, but the data hold "
            f"{s['available_days']} days before the start {config.start} (first incident "
            f"{s['first_incident']}); start later, shorten models.{name}.window_days, or set "
            "data.allow_short_history: true to train on the shorter history",
            source=incidents.cleaning.source,
            field="start",
        )
    return short


def prepare_study(config: ScenarioConfig, incidents: Incidents) -> SimData:
    """The study's truth arrays, after checking that every model has its history and data on the first
    day (:func:`check_history`)."""
    check_history(config, incidents)
    data = prepare(
        incidents, config.start, config.days, history_days(config), source=incidents.cleaning.source
    )
    for algorithm in config.algorithms:
        check_first_window(config.model(algorithm), data)
    if config.world.displacement > 0:
        data = with_shadows(data, config.seed)
    return data


def run_spec(cell: Cell, run: int, config: ScenarioConfig, rates: dict[str, np.ndarray]) -> RunSpec:
    """The engine settings of one run of one cell."""
    remedy: RemedyConfig = config.remedies[cell.remedy]
    n_prev = round(cell.n_officers * remedy.prevention_share)
    uniform = isinstance(cell.report_prob, float | int)
    return RunSpec(
        run=run,
        n_officers=cell.n_officers - n_prev,
        report_prob=float(cell.report_prob) if uniform else 0.0,
        detection_p=config.detection_p,
        report_rates=None if uniform else rates[str(cell.report_prob)],
        prevention_units=n_prev,
        remedy=remedy,
    )


def simulate_cells(
    config: ScenarioConfig,
    data: SimData,
    cells: list[Cell],
    runs: list[int],
    *,
    model: AreaModel | None = None,
    rates: dict[str, np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
    sink: DaySink | None = None,
) -> BatchResult:
    """All runs of ``cells`` (one algorithm) in one engine batch, rows ordered cell-major then run.

    This is how :func:`run_study` simulates each algorithm; ``model`` replaces the configured estimator
    (e.g. a wrapper that records forecasts) and must behave the same. ``sink`` receives each simulated day
    (:func:`fairpatrol.sim.engine.simulate`; without one the batch keeps dense tables).
    """
    algorithms = {c.algorithm for c in cells}
    if len(algorithms) != 1:
        raise ValueError(f"one batch simulates one algorithm, got {sorted(algorithms)}")
    if rates is None:
        rates = {
            str(c.report_prob): reporting_rates(c.report_prob, data, config.base_dir)
            for c in cells
            if isinstance(c.report_prob, str)
        }
    specs = [run_spec(cell, run, config, rates) for cell in cells for run in runs]
    return simulate(
        model if model is not None else config.model(cells[0].algorithm),
        data,
        specs,
        seed=config.seed,
        allocation=config.allocation,
        world=config.world,
        compat=config.compat,
        progress=progress,
        sink=sink,
    )


def study_layout(
    config: ScenarioConfig, data: SimData, run_ids: list[int] | None = None
) -> tuple[StudyLayout, dict[str, np.ndarray]]:
    """The layout of ``config``'s study on ``data`` and the reporting rates of its reporting models."""
    runs = list(range(config.runs)) if run_ids is None else list(run_ids)
    cells = study_cells(config)
    rates = {
        str(r): reporting_rates(r, data, config.base_dir) for r in config.report_probs if isinstance(r, str)
    }
    reporting_rate = {
        c.reporting: (
            float(c.report_prob)
            if isinstance(c.report_prob, float | int)
            else mean_rate(rates[str(c.report_prob)])
        )
        for c in cells
    }
    return StudyLayout(config, data, cells, runs, reporting_rate), rates


def run_study(
    config: ScenarioConfig,
    *,
    incidents: Incidents | StudyInputs | None = None,
    data: SimData | None = None,
    run_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
    sinks: Sequence[StudySink] = (),
    workers: int | None = None,
) -> StudyResult:
    """Simulate every cell of ``config`` (all runs of an algorithm advance together in one batch).

    ``run_ids`` selects runs by index (default 0..runs−1); a run's numbers do not depend on which other
    runs are simulated with it. ``incidents`` (or the :class:`StudyInputs` of :func:`load_study_data`, which
    also names the files read) and ``data`` skip loading/preparing when already done. Every simulated day
    goes to the ``sinks`` (:class:`StudySink`: e.g. :class:`DenseAllocations` or
    :class:`fairpatrol.allocations.AllocationWriter`) and to the study's own daily metrics; the result keeps
    the metrics and diagnostics, not the allocation counts.

    ``workers`` is how many processes may simulate the algorithms' batches side by side (None: as the
    processors, memory and temporary space allow; 1: one after the other in this process): every number
    and every sink's input is the same whatever it is (:mod:`fairpatrol.sim.parallel`).

    Examples
    --------
    >>> from fairpatrol.config import load_preset
    >>> tables = DenseAllocations()
    >>> res = run_study(load_preset("baltimore-agg", days=3, runs=2), sinks=[tables])  # doctest: +SKIP
    >>> tables.officers.shape, res.metrics["accuracy"].shape  # doctest: +SKIP
    ((12, 2, 3, 256), (12, 2, 3))
    """
    t0 = time.perf_counter()
    ahead = compile_metrics_ahead(config) if data is None else None
    try:
        return _run_study(config, incidents, data, run_ids, progress, sinks, workers, ahead, t0)
    except BaseException:
        if ahead is not None:
            ahead.stop()
        raise


def _run_study(
    config: ScenarioConfig,
    incidents: Incidents | StudyInputs | None,
    data: SimData | None,
    run_ids: list[int] | None,
    progress: Callable[[int], None] | None,
    sinks: Sequence[StudySink],
    workers: int | None,
    ahead: CompileAhead | None,
    t0: float,
) -> StudyResult:
    loaded = load_study_data(config) if incidents is None else incidents
    inc = loaded.incidents if isinstance(loaded, StudyInputs) else loaded
    inputs = [*(loaded.files if isinstance(loaded, StudyInputs) else []), *rate_inputs(config)]
    short = check_history(config, inc)
    data = data if data is not None else prepare_study(config, inc)
    layout, rates = study_layout(config, data, run_ids)
    cells, runs = layout.cells, layout.run_ids
    budget = check_memory(config, data, runs=len(runs))  # a one-line error, not a MemoryError
    n_c, n_r, n_d = len(cells), len(runs), data.n_days
    fallback = np.zeros((n_c, n_r, n_d), dtype=bool)
    diagnostics: dict[str, np.ndarray] = {}
    metrics = MetricsSink(ahead)
    every = [metrics, *sinks]
    for sink in every:
        sink.open(layout)
    groups = [[i for i, c in enumerate(cells) if c.algorithm == a] for a in config.algorithms]

    def simulate_batch(
        j: int, sink: Callable[[DayBlock], None], progress: Callable[[int], None] | None
    ) -> BatchResult:
        batch_cells = [cells[i] for i in groups[j]]
        return simulate_cells(config, data, batch_cells, runs, rates=rates, progress=progress, sink=sink)

    def deliver(j: int, block: DayBlock) -> None:
        for sink in every:
            sink.day(groups[j], block)

    n_workers = plan_workers(
        workers,
        len(groups),
        spill_bytes=spill_size(max(len(g) for g in groups) * n_r, data.n_areas, n_d),
        batch_bytes=budget.batch + budget.model_state,
        spare_memory=spare_memory(budget),
        tmp_free=temporary_space(),
    )
    try:
        batches = run_batches(
            len(groups),
            simulate_batch,
            deliver,
            rows=[len(g) * n_r for g in groups],
            n_areas=data.n_areas,
            workers=n_workers,
            progress=progress,
            labels=list(config.algorithms),
        )
    except BaseException:
        metrics.abort()
        raise
    for idx, (batch_fallback, batch_diagnostics) in zip(groups, batches, strict=True):
        shape = (len(idx), n_r, n_d)
        fallback[idx] = batch_fallback.reshape(shape)
        for key, value in batch_diagnostics.items():
            arr = diagnostics.setdefault(key, np.full((n_c, n_r, n_d), np.nan))
            arr[idx] = value.reshape(shape)
    for sink in every:
        sink.close()
    return StudyResult(
        config,
        data,
        cells,
        runs,
        layout.reporting_rate,
        fallback,
        metrics.measures.daily,
        diagnostics,
        cleaning=inc.cleaning.to_dict(),
        seconds=time.perf_counter() - t0,
        group_metrics=metrics.measures.group_daily,
        inputs=inputs,
        short_history=short,
        measures=metrics.measures,
    )
