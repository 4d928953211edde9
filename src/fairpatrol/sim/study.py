"""A study: one dataset replayed under every scenario cell — algorithm × officers × reporting × remedy —
for R runs each (all runs of an algorithm advance together in one engine batch)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.config import RemedyConfig, ScenarioConfig
from fairpatrol.data import Incidents, StudyInputs, load_data
from fairpatrol.data.inputs import InputFile
from fairpatrol.errors import ConfigError
from fairpatrol.metrics.accumulator import StudyMetrics
from fairpatrol.models.base import AreaModel
from fairpatrol.sim.budget import check_memory
from fairpatrol.sim.engine import (
    BatchResult,
    Compat,
    DayCallback,
    RunSpec,
    WorldEffects,
    check_first_window,
    simulate,
)
from fairpatrol.sim.prepare import SimData, prepare, with_shadows
from fairpatrol.sim.reporting import mean_rate, reporting_rates


@dataclass(frozen=True)
class Cell:
    """One scenario cell: an algorithm under one world setting and one remedy."""

    algorithm: str
    n_officers: int
    report_prob: float | str
    remedy: str = "none"

    @property
    def reporting(self) -> str:
        """The reporting setting as text: a rate ('0.4') or a model name ('bjs2019')."""
        return f"{self.report_prob:g}" if isinstance(self.report_prob, float | int) else str(self.report_prob)

    @property
    def scenario(self) -> str:
        """The world setting's name, shared by the algorithms compared under it."""
        base = f"N{self.n_officers}_r{self.reporting}"
        return base if self.remedy == "none" else f"{base}_{self.remedy}"


@dataclass
class StudyResult:
    """Everything a study produced, as arrays indexed [cell, run, day(, area)]."""

    config: ScenarioConfig
    data: SimData
    cells: list[Cell]
    run_ids: list[int]
    crimes: np.ndarray  # cells × runs × days × areas (true crimes each run saw)
    officers: np.ndarray  # cells × runs × days × areas
    detected: np.ndarray
    reported: np.ndarray
    fallback: np.ndarray  # cells × runs × days
    metrics: dict[
        str, np.ndarray
    ]  # daily run-level metrics: name -> cells × runs × days (runs = 1 in compat)
    diagnostics: dict[str, np.ndarray]  # name -> cells × runs × days (NaN where not applicable)
    cleaning: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    prevention: np.ndarray | None = None
    report_rate: dict[str, float] = field(default_factory=dict)  # reporting setting -> mean rate
    #: per-group metrics: name -> cells × runs × days × groups (groups in ``areas.group_names`` order)
    group_metrics: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[InputFile] = field(default_factory=list)  # the files read, with their SHA-256
    short_history: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted short windows
    #: every metric of the study (daily, per group, horizon, per area): :class:`StudyMetrics`, finished
    measures: StudyMetrics | None = None

    @property
    def group_pair(self) -> tuple[str, str]:
        return self.data.areas.group_pair

    @property
    def areas(self):
        """The study's areas (:class:`fairpatrol.data.Areas`)."""
        return self.data.areas

    @property
    def metric_runs(self) -> list[int]:
        """Run labels of the metric arrays: the runs, or [-1] for metrics on run-averaged counts."""
        return [-1] if self.config.compat.run_averaged_metrics else list(self.run_ids)


def load_study_data(config: ScenarioConfig) -> StudyInputs:
    """The areas and incidents a study replays (paths relative to the scenario file) and the files read."""
    return load_data(config.data, config.base_dir)


def load_study_incidents(config: ScenarioConfig) -> Incidents:
    """The incidents (joined to the study's areas) a study replays, cleaned, filtered to its crime types."""
    return load_study_data(config).incidents


def history_days(config: ScenarioConfig) -> int:
    """The longest training window of the study's models (days of history to prepare)."""
    return max(max(int(getattr(config.model(a), "window_days", 1)) for a in config.algorithms), 1)


def study_cells(config: ScenarioConfig) -> list[Cell]:
    return [
        Cell(a, n, r, remedy)
        for a in config.algorithms
        for n in config.officers
        for r in config.report_probs
        for remedy in config.remedies
    ]


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
            source=incidents.report.source,
            field="start",
        )
    return short


def prepare_study(config: ScenarioConfig, incidents: Incidents) -> SimData:
    """The study's truth arrays, after checking that every model has its history and data on the first
    day (:func:`check_history`)."""
    check_history(config, incidents)
    data = prepare(incidents, config.start, config.days, history_days(config), source=incidents.report.source)
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
        prevention_elasticity=remedy.prevention_elasticity,
        ipw=remedy.ipw,
        ipw_max_weight=remedy.ipw_max_weight,
        pcr_cap=remedy.pcr_cap,
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
    on_day: DayCallback | None = None,
) -> BatchResult:
    """All runs of ``cells`` (one algorithm) in one engine batch, rows ordered cell-major then run.

    This is how :func:`run_study` simulates each algorithm; ``model`` replaces the configured estimator
    (e.g. a wrapper that records forecasts) and must behave the same. ``on_day`` receives each simulated
    day's arrays (:func:`fairpatrol.sim.engine.simulate`).
    """
    algorithms = {c.algorithm for c in cells}
    if len(algorithms) != 1:
        raise ValueError(f"one batch simulates one algorithm, got {sorted(algorithms)}")
    if rates is None:
        rates = {
            str(c.report_prob): reporting_rates(c.report_prob, data)
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
        world=WorldEffects(**config.world.model_dump()),
        compat=Compat(**config.compat.engine_switches()),
        progress=progress,
        on_day=on_day,
    )


def run_study(
    config: ScenarioConfig,
    *,
    incidents: Incidents | StudyInputs | None = None,
    data: SimData | None = None,
    run_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> StudyResult:
    """Simulate every cell of ``config`` (all runs of an algorithm advance together in one batch).

    ``run_ids`` selects runs by index (default 0..runs−1); a run's numbers do not depend on which other
    runs are simulated with it. ``incidents`` (or the :class:`StudyInputs` of :func:`load_study_data`, which
    also names the files read) and ``data`` skip loading/preparing when already done.
    """
    t0 = time.perf_counter()
    loaded = load_study_data(config) if incidents is None else incidents
    inc = loaded.incidents if isinstance(loaded, StudyInputs) else loaded
    inputs = loaded.files if isinstance(loaded, StudyInputs) else []
    short = check_history(config, inc)
    data = data if data is not None else prepare_study(config, inc)
    runs = list(range(config.runs)) if run_ids is None else list(run_ids)
    check_memory(config, data, runs=len(runs), allocations=False)  # a one-line error, not a MemoryError
    cells = study_cells(config)
    rates = {str(r): reporting_rates(r, data) for r in config.report_probs if isinstance(r, str)}
    compat = Compat(**config.compat.engine_switches())
    n_c, n_r, n_d, n_m = len(cells), len(runs), data.n_days, data.n_areas
    shape4 = (n_c, n_r, n_d, n_m)
    officers, detected, reported, crimes = (np.zeros(shape4, dtype=np.int32) for _ in range(4))
    prevention = None
    fallback = np.zeros((n_c, n_r, n_d), dtype=bool)
    diagnostics: dict[str, np.ndarray] = {}
    measures = StudyMetrics(data.areas, cells, runs, n_d, run_averaged=compat.run_averaged_metrics)
    for algorithm in config.algorithms:
        idx = [i for i, c in enumerate(cells) if c.algorithm == algorithm]
        batch = simulate_cells(
            config,
            data,
            [cells[i] for i in idx],
            runs,
            rates=rates,
            progress=progress,
            on_day=metrics_feed(measures, idx, n_r),
        )
        shape = (len(idx), n_r, n_d)
        assert batch.crimes is not None  # both engines return each run's crimes
        officers[idx] = batch.officers.reshape(*shape, n_m)
        detected[idx] = batch.detected.reshape(*shape, n_m)
        reported[idx] = batch.reported.reshape(*shape, n_m)
        crimes[idx] = batch.crimes.reshape(*shape, n_m)
        fallback[idx] = batch.fallback.reshape(shape)
        if batch.prevention is not None:
            prevention = np.zeros(shape4, dtype=np.int32) if prevention is None else prevention
            prevention[idx] = batch.prevention.reshape(*shape, n_m)
        for key, value in batch.diagnostics.items():
            arr = diagnostics.setdefault(key, np.full((n_c, n_r, n_d), np.nan))
            arr[idx] = value.reshape(shape)
    measures.finish()
    report_rate = {
        c.reporting: (
            float(c.report_prob)
            if isinstance(c.report_prob, float | int)
            else mean_rate(rates[str(c.report_prob)])
        )
        for c in cells
    }
    return StudyResult(
        config,
        data,
        cells,
        runs,
        crimes,
        officers,
        detected,
        reported,
        fallback,
        measures.daily,
        diagnostics,
        cleaning=inc.report.to_dict(),
        seconds=time.perf_counter() - t0,
        prevention=prevention,
        report_rate=report_rate,
        group_metrics=measures.group_daily,
        inputs=inputs,
        short_history=short,
        measures=measures,
    )


def metrics_feed(measures: StudyMetrics, cells: list[int], n_runs: int) -> DayCallback:
    """The engine's per-day callback of one batch (rows: ``cells`` × ``n_runs``, cell-major) that folds
    each day of each cell into ``measures``."""

    def on_day(day, officers, crimes, detected, shares) -> None:
        n_m = officers.shape[-1]
        split = [np.asarray(a).reshape(len(cells), n_runs, n_m) for a in (officers, crimes, detected)]
        share = (
            None
            if shares is None
            else np.broadcast_to(shares, officers.shape).reshape(len(cells), n_runs, n_m)
        )
        for k, cell in enumerate(cells):
            measures.update(
                cell, day, split[0][k], split[1][k], split[2][k], None if share is None else share[k]
            )

    return on_day
