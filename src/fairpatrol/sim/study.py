"""A study: one dataset replayed under every (algorithm, officers, reporting) cell, for R runs each."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairpatrol.config import ScenarioConfig
from fairpatrol.data import BUNDLED_INCIDENTS, Incidents, load_areas, load_incident_file, load_incidents
from fairpatrol.metrics import daily_metrics
from fairpatrol.sim.engine import RunSpec, check_first_window, simulate
from fairpatrol.sim.prepare import SimData, prepare


@dataclass(frozen=True)
class Cell:
    """One scenario cell: an algorithm under one world setting."""

    algorithm: str
    n_officers: int
    report_prob: float

    @property
    def scenario(self) -> str:
        """The world setting's name, shared by the algorithms compared under it."""
        return f"N{self.n_officers}_r{self.report_prob:g}"


@dataclass
class StudyResult:
    """Everything a study produced, as arrays indexed [cell, run, day(, area)]."""

    config: ScenarioConfig
    data: SimData
    cells: list[Cell]
    run_ids: list[int]
    crimes: np.ndarray  # days × areas
    officers: np.ndarray  # cells × runs × days × areas
    detected: np.ndarray
    reported: np.ndarray
    fallback: np.ndarray  # cells × runs × days
    metrics: dict[str, np.ndarray]  # name -> cells × runs × days
    diagnostics: dict[str, np.ndarray]  # name -> cells × runs × days (NaN where not applicable)
    cleaning: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def group_pair(self) -> tuple[str, str]:
        return self.data.areas.group_pair


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
    return [Cell(a, n, r) for a in config.algorithms for n in config.officers for r in config.report_probs]


def prepare_study(config: ScenarioConfig, incidents: Incidents) -> SimData:
    """The study's truth arrays, after checking that every model has data on the first day."""
    data = prepare(incidents, config.start, config.days, history_days(config), source=config.data.incidents)
    for algorithm in config.algorithms:
        check_first_window(config.model(algorithm), data)
    return data


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
    cells = study_cells(config)
    n_c, n_r, n_d, n_m = len(cells), len(runs), data.n_days, data.n_areas
    officers = np.zeros((n_c, n_r, n_d, n_m), dtype=np.int32)
    detected = np.zeros_like(officers)
    reported = np.zeros_like(officers)
    fallback = np.zeros((n_c, n_r, n_d), dtype=bool)
    diagnostics: dict[str, np.ndarray] = {}
    for algorithm in config.algorithms:
        idx = [i for i, c in enumerate(cells) if c.algorithm == algorithm]
        specs = [
            RunSpec(run, cells[i].n_officers, cells[i].report_prob, config.detection_p)
            for i in idx
            for run in runs
        ]
        batch = simulate(
            config.model(algorithm),
            data,
            specs,
            seed=config.seed,
            allocation=config.allocation,
            progress=progress,
        )
        shape = (len(idx), n_r, n_d)
        officers[idx] = batch.officers.reshape(*shape, n_m)
        detected[idx] = batch.detected.reshape(*shape, n_m)
        reported[idx] = batch.reported.reshape(*shape, n_m)
        fallback[idx] = batch.fallback.reshape(shape)
        for key, value in batch.diagnostics.items():
            arr = diagnostics.setdefault(key, np.full((n_c, n_r, n_d), np.nan))
            arr[idx] = value.reshape(shape)
    crimes = data.crimes_per_day()
    g1, g2 = data.areas.group_masks()
    metrics = daily_metrics(officers, crimes, detected, g1, g2)
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
    )
