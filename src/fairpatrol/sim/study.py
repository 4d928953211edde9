"""A study: one dataset replayed under every scenario cell — algorithm × officers × reporting × remedy —
for R runs each (all runs of an algorithm advance together in one engine batch)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairpatrol.config import RemedyConfig, ScenarioConfig
from fairpatrol.data import BUNDLED_INCIDENTS, Incidents, load_areas, load_incident_file, load_incidents
from fairpatrol.metrics import daily_metrics
from fairpatrol.models.base import AreaModel
from fairpatrol.sim.budget import check_memory
from fairpatrol.sim.engine import BatchResult, Compat, RunSpec, WorldEffects, check_first_window, simulate
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
    metrics: dict[str, np.ndarray]  # name -> cells × runs × days (runs = 1 "average" in compat mode)
    diagnostics: dict[str, np.ndarray]  # name -> cells × runs × days (NaN where not applicable)
    cleaning: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    prevention: np.ndarray | None = None
    report_rate: dict[str, float] = field(default_factory=dict)  # reporting setting -> mean rate

    @property
    def group_pair(self) -> tuple[str, str]:
        return self.data.areas.group_pair

    @property
    def metric_runs(self) -> list[int]:
        """Run labels of the metric arrays: the runs, or [-1] for metrics on run-averaged counts."""
        return [-1] if self.config.compat.run_averaged_metrics else list(self.run_ids)


def load_study_incidents(config: ScenarioConfig) -> Incidents:
    """The incidents (and areas) a study replays, cleaned, filtered to its crime types."""
    dc = config.data
    areas = load_areas(dc.city, group_rule=dc.group_rule)
    if dc.incidents in BUNDLED_INCIDENTS:
        inc = load_incidents(dc.incidents, areas=areas, tolerance_m=dc.tolerance_m)
    else:
        inc = load_incident_file(
            dc.incidents, city=dc.city, format=dc.format, areas=areas, tolerance_m=dc.tolerance_m
        )
    if dc.crime_types:
        inc = inc.of_types(dc.crime_types)
    return inc


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


def prepare_study(config: ScenarioConfig, incidents: Incidents) -> SimData:
    """The study's truth arrays, after checking that every model has data on the first day."""
    data = prepare(incidents, config.start, config.days, history_days(config), source=config.data.incidents)
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
) -> BatchResult:
    """All runs of ``cells`` (one algorithm) in one engine batch, rows ordered cell-major then run.

    This is how :func:`run_study` simulates each algorithm; ``model`` replaces the configured estimator
    (e.g. a wrapper that records forecasts) and must behave the same.
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
        compat=Compat(**config.compat.model_dump()),
        progress=progress,
    )


def run_study(
    config: ScenarioConfig,
    *,
    incidents: Incidents | None = None,
    data: SimData | None = None,
    run_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> StudyResult:
    """Simulate every cell of ``config`` (all runs of an algorithm advance together in one batch).

    ``run_ids`` selects runs by index (default 0..runs−1); a run's numbers do not depend on which other
    runs are simulated with it. ``incidents``/``data`` skip loading/preparing when already done.
    """
    t0 = time.perf_counter()
    inc = incidents if incidents is not None else load_study_incidents(config)
    data = data if data is not None else prepare_study(config, inc)
    runs = list(range(config.runs)) if run_ids is None else list(run_ids)
    check_memory(config, data, runs=len(runs), allocations=False)  # a one-line error, not a MemoryError
    cells = study_cells(config)
    rates = {str(r): reporting_rates(r, data) for r in config.report_probs if isinstance(r, str)}
    compat = Compat(**config.compat.model_dump())
    n_c, n_r, n_d, n_m = len(cells), len(runs), data.n_days, data.n_areas
    shape4 = (n_c, n_r, n_d, n_m)
    officers, detected, reported, crimes = (np.zeros(shape4, dtype=np.int32) for _ in range(4))
    prevention = None
    fallback = np.zeros((n_c, n_r, n_d), dtype=bool)
    diagnostics: dict[str, np.ndarray] = {}
    for algorithm in config.algorithms:
        idx = [i for i, c in enumerate(cells) if c.algorithm == algorithm]
        batch = simulate_cells(config, data, [cells[i] for i in idx], runs, rates=rates, progress=progress)
        shape = (len(idx), n_r, n_d)
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
    g1, g2 = data.areas.group_masks()
    metrics: dict[str, np.ndarray] = {}
    for c in range(n_c):  # cell by cell: bounded memory
        if compat.run_averaged_metrics:  # the published analysis: metrics of the mean over runs
            m = daily_metrics(
                officers[c].mean(axis=0, keepdims=True),
                crimes[c].mean(axis=0, keepdims=True),
                detected[c].mean(axis=0, keepdims=True),
                g1,
                g2,
            )
        else:
            m = daily_metrics(officers[c], crimes[c], detected[c], g1, g2)
        for name, value in m.items():
            metrics.setdefault(name, np.empty((n_c, *value.shape)))[c] = value
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
        metrics,
        diagnostics,
        cleaning=inc.report.to_dict(),
        seconds=time.perf_counter() - t0,
        prevention=prevention,
        report_rate=report_rate,
    )
