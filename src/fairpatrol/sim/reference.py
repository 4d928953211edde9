"""The plain reference engine: the test oracle for :mod:`fairpatrol.sim.engine`.

One run at a time, one day at a time, with straightforward loops: each day the run's training set is
rebuilt from scratch as a DataFrame (history + detected + reported incidents in the window) and the
model's user-facing estimator is fitted on it (PredPol warm-started from the run's previous day, as the
method prescribes), detection is a loop over the day's crimes. Random numbers are drawn from the same
per-run streams in the same order as the fast engine, so both must give identical allocations.

It covers the study's own world (uniform reporting, noisy-OR detection, no remedies, no world effects):
the optional world effects and remedies have their own tests (tests/sim/test_world_effects.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.errors import ConvergenceWarning, DataError
from fairpatrol.models.base import AreaModel
from fairpatrol.sim.engine import BatchResult, RunSpec, check_first_window, validate_runs
from fairpatrol.sim.prepare import DAY, SimData
from fairpatrol.sim.world import allocate, run_streams


def _clone(model: AreaModel) -> Any:
    """A fresh copy of ``model`` (warm-started where it can be), used through the scikit-learn-style ``fit`` /
    ``predict`` and fitted attributes that each model class defines."""
    params = model.get_params()
    if "warm_start" in params:
        params["warm_start"] = True
    return type(model)(**params)


def simulate_reference(
    model: AreaModel,
    data: SimData,
    runs: Sequence[RunSpec],
    *,
    seed: int,
    allocation: str = "multinomial",
) -> BatchResult:
    validate_runs(runs)
    check_first_window(model, data)
    for spec in runs:
        remedy = spec.remedy
        if spec.report_rates is not None or spec.prevention_units or remedy.ipw or remedy.pcr_cap is not None:
            raise ValueError(
                "the reference engine implements the default world only (no remedies, no reporting models)"
            )
    n_rows, n_days, n_areas = len(runs), data.n_days, data.n_areas
    n_hist = data.n_history
    officers = np.zeros((n_rows, n_days, n_areas), dtype=np.int32)
    detected = np.zeros_like(officers)
    reported = np.zeros_like(officers)
    fallback = np.zeros((n_rows, n_days), dtype=bool)
    diagnostics: dict[str, np.ndarray] = {}
    observed_from = data.start + data.observed_from * DAY
    everything = data.frame()
    for i, spec in enumerate(runs):
        streams = run_streams(seed, spec.run)
        rng_rep, rng_alloc, rng_det = streams.reporting, streams.allocation, streams.detection
        will_report = rng_rep.random(data.n_events - n_hist) < spec.report_prob
        learned = list(range(n_hist))  # indices of training events: the initial history
        est = _clone(model)
        for d in range(n_days):
            until = data.start + d * DAY
            train = everything.iloc[learned]
            kwargs = {"observed_from": observed_from} if "warm_start" in est.get_params() else {}
            try:
                with warnings.catch_warnings():  # convergence is recorded (em_converged), not warned daily
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    est.fit(train, until=until, areas=data.areas, **kwargs)
                intensity = est.predict(until).reindex(data.areas.ids).to_numpy(dtype=float)
            except DataError:  # the run's window emptied mid-simulation: no information, uniform patrols
                intensity = np.zeros(n_areas)
            alloc, fallback[i, d] = allocate(intensity, spec.n_officers, allocation, rng_alloc)
            officers[i, d] = alloc
            if hasattr(est, "theta_"):
                for key, value in (
                    ("theta", est.theta_),
                    ("omega", est.omega_),
                    ("em_iterations", est.n_iter_),
                    ("em_converged", est.converged_),
                ):
                    diagnostics.setdefault(key, np.zeros((n_rows, n_days)))[i, d] = value
            lo, hi = data.day_slice(d)
            coins = rng_det.random(hi - lo)
            for k, j in enumerate(range(lo, hi)):
                a = data.area[j]
                p_detect = 1.0 - (1.0 - spec.detection_p) ** int(alloc[a])
                was_detected = coins[k] < p_detect
                was_reported = bool(will_report[j - n_hist])
                detected[i, d, a] += int(was_detected)
                reported[i, d, a] += int(was_reported)
                if was_detected or was_reported:
                    learned.append(j)
    crimes = np.repeat(data.crimes_per_day()[None], n_rows, axis=0)
    return BatchResult(officers, detected, reported, fallback, diagnostics, crimes=crimes)


def training_frame(data: SimData, weights_row: np.ndarray) -> pd.DataFrame:
    """The incidents a run has learned (history + detected + reported), as a DataFrame with their weights
    in a ``weight`` column (1, or an inverse learning probability under feedback-corrected learning)."""
    idx = np.flatnonzero(np.asarray(weights_row) > 0)
    return data.frame().iloc[idx].assign(weight=np.asarray(weights_row, dtype=float)[idx])
