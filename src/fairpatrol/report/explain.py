"""Why an area is prioritised, and how well forecasts match outcomes: replay one run, refit, decompose.

**Replay.** Every run of a study can be re-created alone (its random streams depend only on the seed and
the run index, :func:`fairpatrol.sim.world.run_streams`). The report re-simulates one run of one scenario
for each algorithm with the study's engine, recording each day's forecast (expected incidents per area)
and which incidents the run learned. The replayed officers are compared with ``allocations.parquet``: equal
counts on every day and area show the report explains the run that was published.

**Explanations** (docs/report.md). On a chosen day the user-facing estimator is refitted on exactly the
incidents that run had learned by then (:func:`fairpatrol.sim.reference.training_frame`: all true incidents
before the start, then the detected or reported ones) and its forecast is taken apart by the model
itself (``explain``, :mod:`fairpatrol.models.describe`; every registered model has one):

* PredPol (Mohler et al. 2015): expected incidents on day [t, t+1) of area n are
  μ_n + Σ_i θ (1 − e^{−ω}) e^{−ω (t − t_i)} over the area's learned incidents i of the window; μ_n is the
  *background* (long-run rate), the sum the *recent self-excitation*, and each term is one past incident's
  share, so the incidents that drove the forecast can be listed.
* Window KDE (hot spots): intensity_n = (1/W) Σ_i ∫_{polygon n} φ_h(s − x_i) ds over the incidents of the
  last W days; each incident's term is its kernel mass falling in the area, split into incidents inside the
  area and incidents in neighbouring areas whose kernels spill over.
* Previous counts: the area's learned incidents in the window / W. Uniform and population: constant.

The refit's forecast is compared with the engine's forecast of that day (PredPol's engine warm-starts EM
from the previous day, the refit starts cold, so the two agree to the EM tolerance).

**Calibration.** Per area and day, the replayed forecast (expected incidents) against the true incidents of
the day, and against the incidents the run learned, summed over the horizon and by groups of areas.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.data import Incidents
from fairpatrol.errors import ConfigError, ConvergenceWarning, FairpatrolError
from fairpatrol.models import AreaModel, PredPol
from fairpatrol.models.base import DAY, ModelState
from fairpatrol.models.describe import AreaExplanation, Evidence
from fairpatrol.results.run import RunResults
from fairpatrol.sim.prepare import SimData


class _RecordingState(ModelState):
    """Delegates to a model's engine state and keeps a copy of every day's forecast."""

    def __init__(self, inner: ModelState, sink: list[np.ndarray]) -> None:
        self.inner = inner
        self.sink = sink

    def forecast(self, day: int) -> np.ndarray:
        out = self.inner.forecast(day)
        self.sink.append(out[0].copy())
        return out

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:
        self.inner.learn(day, lo, hi, new)

    def diagnostics(self) -> dict[str, np.ndarray]:
        return self.inner.diagnostics()


class _RecordingModel:
    """An estimator whose engine state records its forecasts (everything else is the wrapped model's)."""

    def __init__(self, model: AreaModel) -> None:
        self.model = model
        self.forecasts: list[np.ndarray] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        return _RecordingState(self.model.make_state(data, weights), self.forecasts)


@dataclass
class Replay:
    """One re-simulated run of one algorithm: daily forecasts, allocations and what the run learned."""

    scenario: str
    algorithm: str
    run: int
    forecasts: np.ndarray  # days × areas, expected incidents
    officers: np.ndarray  # days × areas
    crimes: np.ndarray  # days × areas: the true crimes this run saw (replayed, less any deterred)
    weights: np.ndarray  # events of ``data``: learned by the end of the horizon if > 0, with this weight
    diagnostics: dict[str, np.ndarray]
    matches_recorded: bool
    mismatched_days: int


@dataclass
class ReplaySet:
    """The replays of every algorithm for one (scenario, run), with the shared truth arrays."""

    scenario: str
    run: int
    data: SimData
    incidents: Incidents
    replays: dict[str, Replay]
    #: algorithms without daily forecasts to explain (the compat KDE sampler), with the reason
    skipped: dict[str, str] = field(default_factory=dict)

    def truth(self) -> np.ndarray:
        """Replayed incidents per (horizon day, area) (before any world effect)."""
        return self.data.crimes_per_day()

    def learned(self, algorithm: str) -> np.ndarray:
        """Incidents the run learned (detected or reported) per (horizon day, area)."""
        d = self.data
        lo = d.n_history
        mask = self.replays[algorithm].weights[lo:] > 0
        day = np.floor(d.times[lo:][mask]).astype(np.int64)
        out = np.zeros((d.n_days, d.n_areas), dtype=np.int64)
        np.add.at(out, (day, d.area[lo:][mask]), 1)
        return out


def load_replay_inputs(res: RunResults) -> tuple[Incidents, SimData]:
    """The study's incidents, joined to the results' own areas, and its truth arrays.

    The incident file is found relative to the scenario (``inputs`` of ``config.yaml``) and must have the
    SHA-256 recorded there; raises FairpatrolError when it is gone, has changed or cannot be read.
    """
    from fairpatrol.data.inputs import relative, resolve, sha256_of, study_incidents
    from fairpatrol.errors import DataError
    from fairpatrol.sim.study import prepare_study

    base = res.config.base_dir
    for record in (res.document.get("inputs") or {}).get("files", []):
        if record.get("role") != "incidents":
            continue
        path = resolve(record["path"], base)
        if not path.is_file():
            raise DataError("not found next to the scenario any more", source=record["path"])
        if sha256_of(path) != record.get("sha256"):
            raise DataError("changed since the study ran (its SHA-256 differs)", source=relative(path, base))
    incidents, _ = study_incidents(res.config.data, res.areas, base)
    return incidents, prepare_study(res.config, incidents)


def check_focus(res: RunResults, scenario: str, run: int) -> None:
    """One-line errors for a scenario or run the results do not have."""
    if scenario not in res.scenarios:
        raise ConfigError(
            f"unknown scenario {scenario!r} (known: {', '.join(res.scenarios)})", field="scenario"
        )
    if run not in res.runs:
        raise ConfigError(f"unknown run {run} (runs: {res.runs[0]}..{res.runs[-1]})", field="run")


def replay(
    res: RunResults, scenario: str, run: int, inputs: tuple[Incidents, SimData] | None = None
) -> ReplaySet:
    """Re-simulate run ``run`` of ``scenario`` for every algorithm as ``run_study`` does, recording "
    "forecasts."""
    from fairpatrol.sim.study import simulate_cells, study_cells

    config = res.config
    check_focus(res, scenario, run)
    incidents, data = inputs if inputs is not None else load_replay_inputs(res)
    if data.n_days != len(res.dates) or data.start != res.dates[0]:
        raise FairpatrolError(
            f"{res.path}: the data prepared from config.yaml cover {data.n_days} days from "
            f"{data.start:%Y-%m-%d}, the results {len(res.dates)} days from {res.dates[0]:%Y-%m-%d}"
        )
    cells = {c.algorithm: c for c in study_cells(config) if c.scenario == scenario}
    replays = {}
    skipped = {}
    for algorithm in res.algorithms:
        model = _RecordingModel(config.model(algorithm))
        batch = simulate_cells(config, data, [cells[algorithm]], [run], model=model)  # type: ignore[arg-type]  # a proxy of the AreaModel
        if len(model.forecasts) != data.n_days:  # officers drawn from a sample, not from a forecast
            skipped[algorithm] = (
                "its officers were drawn from a sample of incidents (compat kde_sampling), not from a daily "
                "forecast, so there is no forecast to explain or calibrate"
            )
            continue
        if batch.officers is None or batch.weights is None:  # simulate_cells keeps both without a sink
            raise RuntimeError("the replay kept no officers or learning weights")
        officers = batch.officers[0]
        recorded = res.run_table(scenario, algorithm, run, "officers")
        bad_days = int((officers != recorded).any(axis=1).sum())
        crimes = batch.crimes[0] if batch.crimes is not None else data.crimes_per_day()
        replays[algorithm] = Replay(
            scenario,
            algorithm,
            run,
            np.asarray(model.forecasts),
            officers,
            crimes,
            np.asarray(batch.weights[0], dtype=float),
            {k: v[0] for k, v in batch.diagnostics.items()},
            bad_days == 0,
            bad_days,
        )
    return ReplaySet(scenario, run, data, incidents, replays, skipped)


def resolve_day(res: RunResults, day: str | None) -> int:
    """Index of the explained day (default: the last simulated day); a one-line error when outside."""
    if day is None:
        return len(res.dates) - 1
    try:
        ts = pd.Timestamp(day).normalize()
    except (ValueError, TypeError):
        raise ConfigError(f"not a date: {day!r} (use YYYY-MM-DD)", field="day") from None
    first, last = res.dates[0], res.dates[-1]
    if not first <= ts <= last:
        raise ConfigError(
            f"{ts:%Y-%m-%d} is outside the simulated days {first:%Y-%m-%d}..{last:%Y-%m-%d}", field="day"
        )
    return int((ts - first) / DAY)


# -- explanations ------------------------------------------------------------------------------------------
@dataclass
class ModelExplanation:
    algorithm: str
    date: pd.Timestamp
    method: str  # how the forecast is taken apart, in words
    part_labels: dict[str, str]
    params: dict[str, Any]
    training_events: int
    window_days: int | None
    engine_difference: float  # max |refit − engine forecast| / max engine forecast
    areas: list[AreaExplanation]


def _window(frame: pd.DataFrame, until: pd.Timestamp, days: int | None) -> pd.DataFrame:
    mask = frame["time"] < until
    if days is not None:
        mask &= frame["time"] >= until - days * DAY
    return frame.loc[mask]


def explain_day(
    rs: ReplaySet, res: RunResults, day: int, top: int = 5, incidents_per_area: int = 3
) -> list[ModelExplanation]:
    """For each algorithm, the ``top`` areas of the replayed run's forecast on ``day``, taken apart."""
    from fairpatrol.sim.reference import training_frame

    data = rs.data
    until = data.start + day * DAY
    out = []
    for algorithm, rp in rs.replays.items():
        model = res.config.model(algorithm)
        train = training_frame(data, rp.weights)
        train = train.loc[train["time"] < until]
        kwargs = (
            {"observed_from": data.start + data.observed_from * DAY} if isinstance(model, PredPol) else {}
        )
        with warnings.catch_warnings():  # whether the refit converged is shown in the explanation
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(train, until=until, areas=data.areas, **kwargs)
        refit = model.predict(until).reindex(data.areas.ids).to_numpy(dtype=float)
        engine = rp.forecasts[day]
        scale = float(np.max(engine)) if np.max(engine) > 0 else 1.0
        diff = float(np.max(np.abs(refit - engine)) / scale)
        order = np.argsort(-engine, kind="stable")[:top]
        window = getattr(model, "window_days", None)
        rows = _window(train, until, window)
        area_idx = data.areas.index_of(rows["area_id"]) if len(rows) else np.zeros(0, dtype=np.int64)
        evidence = Evidence(rows, area_idx, data.areas, data.start, until, incidents_per_area)
        told = model.explain(evidence, order)  # each model takes its own forecast apart
        for ex, a in zip(told.areas, order, strict=True):
            ex.intensity = float(engine[a])
            ex.officers = int(rp.officers[day, a])
        out.append(
            ModelExplanation(
                algorithm,
                until,
                told.method,
                told.part_labels,
                told.params,
                len(train),
                window,
                diff,
                told.areas,
            )
        )
    return out


# -- calibration -------------------------------------------------------------------------------------------
@dataclass
class Calibration:
    """Forecast vs outcome per area (totals over the horizon) and per day (city totals), one algorithm."""

    algorithm: str
    predicted: np.ndarray  # areas: Σ over days of the forecast
    observed: np.ndarray  # areas: Σ true incidents
    learned: np.ndarray  # areas: Σ incidents the run learned
    daily_predicted: np.ndarray  # days
    daily_observed: np.ndarray
    daily_learned: np.ndarray

    def ratio(self, mask: np.ndarray | None = None) -> float:
        """Σ predicted / Σ observed over the areas in ``mask`` (1 = calibrated in the large)."""
        m = slice(None) if mask is None else mask
        obs = self.observed[m].sum()
        return float(self.predicted[m].sum() / obs) if obs > 0 else float("nan")

    def bins(self, n: int = 10) -> pd.DataFrame:
        """Areas in ``n`` equal-count bins by predicted total: mean predicted vs mean observed per area."""
        order = np.argsort(self.predicted, kind="stable")
        groups = np.array_split(order, min(n, len(order)))
        return pd.DataFrame(
            {
                "bin": np.arange(1, len(groups) + 1),
                "areas": [len(g) for g in groups],
                "predicted": [self.predicted[g].mean() for g in groups],
                "observed": [self.observed[g].mean() for g in groups],
            }
        )


def calibration(rs: ReplaySet) -> list[Calibration]:
    """Forecast vs the true crimes each replayed run saw, and vs what it learned."""
    out = []
    for algorithm, rp in rs.replays.items():
        truth = rp.crimes
        learned = rs.learned(algorithm)
        out.append(
            Calibration(
                algorithm,
                rp.forecasts.sum(axis=0),
                truth.sum(axis=0).astype(float),
                learned.sum(axis=0).astype(float),
                rp.forecasts.sum(axis=1),
                truth.sum(axis=1).astype(float),
                learned.sum(axis=1).astype(float),
            )
        )
    return out


# -- crime concentration -----------------------------------------------------------------------------------
LOOKBACKS = (7, 30, 90, 180, 365)


def lookback_rings(data: SimData, windows: tuple[int, ...] = LOOKBACKS) -> tuple[list[int], np.ndarray]:
    """True incidents per area in the disjoint rings of days before the start between successive windows.

    Returns (windows kept, rings × areas counts); the counts of the last W days are the cumulative sum of
    the rings up to W. Disjoint rings put each incident in one bin (L1 sensitivity 1 for privacy mode).
    """
    kept = [w for w in windows if w <= -data.first_day]
    rings = np.zeros((len(kept), data.n_areas))
    hist = data.times < 0
    age = -np.floor(data.times[hist]).astype(np.int64)  # 1 = yesterday
    area = data.area[hist]
    lower = 0
    for i, w in enumerate(kept):
        sel = (age > lower) & (age <= w)
        rings[i] = np.bincount(area[sel], minlength=data.n_areas)
        lower = w
    return kept, rings


def concentration_curve(
    counts: np.ndarray, later: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Share of crime in the top k areas (k = 1..M) ranked by ``counts``; and of ``later`` crime in them.

    Returns (percent of areas, share of ``counts`` in the top k, share of ``later`` in the same areas).
    """
    c = np.asarray(counts, dtype=float)
    order = np.argsort(-c, kind="stable")
    x = 100.0 * np.arange(1, c.size + 1) / c.size
    own = np.cumsum(c[order]) / c.sum() if c.sum() > 0 else np.zeros(c.size)
    hit = None
    if later is not None:
        lt = np.asarray(later, dtype=float)
        hit = np.cumsum(lt[order]) / lt.sum() if lt.sum() > 0 else np.zeros(c.size)
    return x, own, hit
