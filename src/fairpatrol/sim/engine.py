"""The fast simulation engine: all runs of a scenario batch advance together, day by day
(docs/engine.md, "Design").

Per day: every run's model state forecasts (batched, incremental); each run allocates its officers (and
any non-punitive prevention units) with its own random stream; the day's replayed crimes happen unless
deterred (optional world effects), are detected (noisy-OR) or reported; what was found enters that run's
training data at its own time (with a weight under feedback-corrected learning). State is arrays: a
runs × events weight matrix, the model's incremental state and the day's runs × areas counts, handed to a
sink at the end of each day (:class:`DayBlock`): nothing of size runs × days × areas is kept unless the
sink keeps it (:class:`DenseTables`, the default for small batches). No per-day refit from scratch, no file
I/O (docs/engine.md "Streaming results").

World effects, remedies and the published code's quirks are not branches of the day loop: each is an
:class:`~fairpatrol.sim.effects.Effect` overriding the hooks of the phases it changes (start, allocate,
allocated, happen, detect, learn, end), built from the validated settings the engine is given
(docs/engine.md "World effects as hooks").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)
import fairpatrol.sim.compat as compat_effects
import fairpatrol.sim.effects as world_effects
from fairpatrol.config import CompatConfig, RemedyConfig, WorldConfig
from fairpatrol.errors import ConfigError
from fairpatrol.models.base import AreaModel, ModelState
from fairpatrol.sim.effects import Batch, Day, Effect, Setup, overriding
from fairpatrol.sim.prepare import SimData
from fairpatrol.sim.world import (
    RunStreams,
    allocate_shares,
    allocation_rows,
    detection_probability,
    run_streams,
)


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One simulated run: its run index (random streams) and the settings of its scenario cell.

    ``report_rates`` (per horizon event, from a reporting model) replaces the uniform ``report_prob``.
    ``prevention_units`` are non-punitive units placed like patrols: they deter crime (with the remedy's
    ``prevention_elasticity``) but detect nothing (the run's ``n_officers`` are the other units).
    ``remedy`` is the validated remedy of the run's scenario cell (:class:`fairpatrol.config.RemedyConfig`:
    feedback-corrected learning, a patrol cap), read by the engine's hooks (:mod:`fairpatrol.sim.effects`).
    """

    run: int
    n_officers: int
    report_prob: float = 0.4
    detection_p: float = 0.5
    report_rates: np.ndarray | None = field(default=None, compare=False, repr=False)
    prevention_units: int = 0
    remedy: RemedyConfig = field(default_factory=RemedyConfig)

    @property
    def reporting(self) -> float | np.ndarray:
        """The probability that a victim reports each horizon crime: ``report_rates`` (one per event) when
        a reporting model gives them, else the uniform ``report_prob``."""
        return self.report_rates if self.report_rates is not None else self.report_prob


@dataclass(frozen=True)
class DayBlock:
    """One simulated day of a batch, handed to the sink of :func:`simulate`: rows × areas arrays.

    Rows are the batch's runs in the order given to :func:`simulate` (a study's batch: cell-major, then
    run). ``crimes`` are the true crimes each run saw (the replayed incidents, less deterred, plus
    displaced ones); ``prevention`` the non-punitive units (None when no run of the batch has any);
    ``shares`` the allocation shares each run's forecast gave (float64, None under the compat KDE
    sampler); ``fallback`` whether a run patrolled uniformly for lack of information.

    The arrays are the engine's buffers, valid during the call only: a sink copies what it keeps.
    """

    day: int
    officers: np.ndarray
    crimes: np.ndarray
    detected: np.ndarray
    reported: np.ndarray
    prevention: np.ndarray | None
    shares: np.ndarray | None
    fallback: np.ndarray

    @property
    def counts(self) -> dict[str, np.ndarray]:
        """The count arrays by name (``prevention`` only when present)."""
        out = {
            "officers": self.officers,
            "crimes": self.crimes,
            "detected": self.detected,
            "reported": self.reported,
        }
        if self.prevention is not None:
            out["prevention"] = self.prevention
        return out


#: A sink of :func:`simulate`: called once per simulated day, in day order.
DaySink = Callable[[DayBlock], None]


class DenseTables:
    """A day sink keeping every day: rows × days × areas int32 tables of each count.

    What :func:`simulate` uses when given no sink; memory grows with rows × days × areas, so it is meant
    for small batches (tests, the reference comparison, the replay of one run), not for studies.

    Attributes
    ----------
    officers, crimes, detected, reported : rows × days × areas int32 arrays (None before the first day).
    prevention : the same for non-punitive units, or None when no run has any.

    Examples
    --------
    >>> tables = DenseTables(n_days=2)
    >>> block = DayBlock(0, *(np.ones((1, 3), np.int32) for _ in range(4)), None, None, np.zeros(1, bool))
    >>> tables(block); tables.officers.shape
    (1, 2, 3)
    """

    def __init__(self, n_days: int) -> None:
        self.n_days = int(n_days)
        self.officers: np.ndarray | None = None
        self.crimes: np.ndarray | None = None
        self.detected: np.ndarray | None = None
        self.reported: np.ndarray | None = None
        self.prevention: np.ndarray | None = None

    def __call__(self, block: DayBlock) -> None:
        for name, value in block.counts.items():
            table = getattr(self, name)
            if table is None:
                table = np.zeros((value.shape[0], self.n_days, value.shape[1]), dtype=np.int32)
                setattr(self, name, table)
            table[:, block.day] = value


def fanout(*sinks: DaySink | None) -> DaySink:
    """One sink calling every given sink (None skipped) in order."""
    chosen = [s for s in sinks if s is not None]

    def call(block: DayBlock) -> None:
        for sink in chosen:
            sink(block)

    return call


@dataclass
class BatchResult:
    """Per-(run, day) allocation fallbacks and model diagnostics of one batch, and its counts when kept.

    ``officers``, ``detected``, ``reported``, ``crimes`` and ``prevention`` are rows × days × areas tables
    (see :class:`DayBlock`) when :func:`simulate` collected them (no sink given), else None: the days went
    to the sink. ``weights`` (runs × events) hold what each run had learned by the end (0 = not learned)
    and ``state`` the model's incremental state after the last day (None from the reference engine): both
    let a user or a test check the incremental state against a refit from scratch.
    """

    officers: np.ndarray | None
    detected: np.ndarray | None
    reported: np.ndarray | None
    fallback: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray | None = None
    state: ModelState | None = None
    crimes: np.ndarray | None = None
    prevention: np.ndarray | None = None

    @property
    def in_train(self) -> np.ndarray | None:
        return None if self.weights is None else self.weights > 0


def validate_runs(runs: Sequence[RunSpec]) -> None:
    for spec in runs:
        if spec.n_officers < 1:
            raise ValueError(f"officers must be at least 1, got {spec.n_officers}")
        if not 0.0 <= spec.report_prob <= 1.0:
            raise ValueError(f"report_prob must be in [0, 1], got {spec.report_prob}")
        if not 0.0 <= spec.detection_p <= 1.0:
            raise ValueError(f"detection_p must be in [0, 1], got {spec.detection_p}")
        if spec.prevention_units < 0:
            raise ValueError(f"prevention units must be ≥ 0, got {spec.prevention_units}")


def check_first_window(model: AreaModel, data: SimData) -> None:
    """An empty training window on the first day is a configuration error, not a silent uniform start."""
    window = int(getattr(model, "window_days", 0) or 0)
    if window:
        lo, hi = data.window(0, window)
        if hi <= lo:
            raise ConfigError(
                f"empty training window: {type(model).__name__} has no incident in the {window} days before "
                f"{data.start:%Y-%m-%d}",
                source=data.source,
                field="start",
            )


def _report_coins(data: SimData, runs: Sequence[RunSpec], streams: list[RunStreams]) -> np.ndarray:
    """Which horizon crimes each run's victims would report (before knowing whether the crime happens),
    from each run's reporting stream."""
    n_future = data.n_events - data.n_history
    out = np.empty((len(runs), n_future), dtype=np.bool_)
    for i, spec in enumerate(runs):
        out[i] = streams[i].reporting.random(n_future) < spec.reporting
    return out


def build_effects(setup: Setup) -> list[Effect]:
    """The active effects of a batch: the published code's quirks first
    (:data:`fairpatrol.sim.compat.COMPAT_EFFECTS`), then :data:`fairpatrol.sim.effects.WORLD_EFFECTS`, each
    built from its setting (off ones left out; docs/engine.md, "World effects as hooks")."""
    registered = (*compat_effects.COMPAT_EFFECTS, *world_effects.WORLD_EFFECTS)  # read when called
    built = (cls.build(setup) for cls in registered)
    return [e for e in built if e is not None]


def simulate(
    model: AreaModel,
    data: SimData,
    runs: Sequence[RunSpec],
    *,
    seed: int,
    allocation: str = "multinomial",
    world: WorldConfig | None = None,
    compat: CompatConfig | None = None,
    progress: Callable[[int], None] | None = None,
    sink: DaySink | None = None,
) -> BatchResult:
    """Simulate ``runs`` (any mix of settings) of one model over the horizon of ``data``.

    ``world`` and ``compat`` are the study's validated settings (:class:`fairpatrol.config.WorldConfig`,
    :class:`~fairpatrol.config.CompatConfig`; default: all off); they and each run's remedy turn on the
    engine's hooks (:mod:`fairpatrol.sim.effects`, :mod:`fairpatrol.sim.compat`). Each simulated day ends
    with a call ``sink(block)`` (:class:`DayBlock`: the day's rows × areas counts and allocation shares).
    Without a ``sink`` the days are collected in dense rows × days × areas tables (:class:`DenseTables`,
    returned in the :class:`BatchResult`); with one, the engine keeps nothing of size rows × days × areas,
    so its memory grows with rows × areas (and the events), not with the days.
    """
    validate_runs(runs)
    check_first_window(model, data)
    effects = build_effects(Setup(model, data, runs, world or WorldConfig(), compat or CompatConfig()))
    n_rows, n_days, n_areas = len(runs), data.n_days, data.n_areas
    n_hist = data.n_history
    streams = [run_streams(seed, spec.run) for spec in runs]
    p_det = np.array([s.detection_p for s in runs], dtype=np.float64)[:, None]

    weights = np.zeros((n_rows, data.n_events), dtype=np.float32)
    weights[:, :n_hist] = 1.0

    dense: DenseTables | None = None
    deliver: DaySink
    if sink is None:
        dense = DenseTables(n_days)
        deliver = dense
    else:
        deliver = sink
    # today's counts: buffers reused every day (a sink copies what it keeps)
    officers = np.zeros((n_rows, n_areas), dtype=np.int32)
    crimes = np.zeros_like(officers)
    detected = np.zeros_like(officers)
    reported = np.zeros_like(officers)
    touched = np.zeros(0, dtype=np.int64)  # flat (row, area) entries of the day's event counts
    fallback = np.zeros((n_rows, n_days), dtype=np.bool_)
    diagnostics: dict[str, np.ndarray] = {}
    will_report = _report_coins(data, runs, streams)
    batch = Batch(
        model,
        data,
        runs,
        streams,
        allocation,
        weights,
        will_report,
        officers,
        np.array([s.n_officers for s in runs], dtype=np.int64),
        model.make_state(data, weights),
    )
    for effect in overriding(effects, "start"):
        effect.start(batch)
    allocators = overriding(effects, "allocate")
    placed, happen, detect = (overriding(effects, h) for h in ("allocated", "happen", "detect"))
    learn, end = overriding(effects, "learn"), overriding(effects, "end")
    shares = None
    for d in range(n_days):
        lo, hi = data.day_slice(d)
        day = Day(d, lo, hi, data.area[lo:hi])
        if not any(e.allocate(batch, day) for e in allocators):
            shares, fallback[:, d], cum = allocation_rows(batch.state.forecast(d))
            for i in range(n_rows):
                allocate_shares(
                    shares[i],
                    int(batch.n_officers[i]),
                    allocation,
                    streams[i].allocation,
                    None if cum is None else cum[i],
                    out=officers[i],
                )
            day.shares = shares
        else:
            shares = None
        for effect in placed:
            effect.allocated(batch, day)
        for key, value in batch.state.diagnostics().items():
            diagnostics.setdefault(key, np.zeros((n_rows, n_days), dtype=value.dtype))[:, d] = value
        for table in (crimes, detected, reported):  # reset the (row, area) entries set the day before
            table.ravel()[touched] = 0
        touched = touched[:0]
        if hi > lo:
            day.k_officers = officers[:, day.area]
            if happen:
                day.coins = np.stack([streams[i].effects.random(hi - lo) for i in range(n_rows)])
                for effect in happen:
                    effect.happen(batch, day)
                real = (
                    day.real if day.real is not None else day.coins < (1.0 if day.keep is None else day.keep)
                )
            else:
                real = np.ones((n_rows, hi - lo), dtype=np.bool_)
            day.prob = detection_probability(day.k_officers, p_det)
            day.detect_coins = np.stack([streams[i].detection.random(hi - lo) for i in range(n_rows)])
            for effect in detect:
                effect.detect(batch, day)
            day.detected = (day.detect_coins < day.prob) & real
            day.reported = will_report[:, lo - n_hist : hi - n_hist] & real
            day.learned = day.detected | day.reported
            day.weight = np.ones((n_rows, hi - lo), dtype=np.float32)
            for effect in learn:
                effect.learn(batch, day)
            new = np.where(day.learned, day.weight, np.float32(0.0))
            weights[:, lo:hi] = new
            batch.state.learn(d, lo, hi, new)
            touched = (np.arange(n_rows)[:, None] * n_areas + day.area[None, :]).ravel()  # (run, area)
            for table, hits in ((crimes, real), (detected, day.detected), (reported, day.reported)):
                _scatter_add(table.reshape(-1), touched, hits.reshape(-1))
        for effect in end:
            effect.end(batch, day)
        deliver(DayBlock(d, officers, crimes, detected, reported, batch.prevention, shares, fallback[:, d]))
        if progress is not None:
            progress(1)
    state = batch.state
    if dense is None:
        return BatchResult(None, None, None, fallback, diagnostics, weights, state)
    return BatchResult(
        dense.officers,
        dense.detected,
        dense.reported,
        fallback,
        diagnostics,
        weights,
        state,
        dense.crimes,
        dense.prevention,
    )


@njit(cache=True, no_cfunc_wrapper=True)
def _scatter_add(table: np.ndarray, index: np.ndarray, hits: np.ndarray) -> None:
    """table[index[k]] += hits[k] for every k (repeated indices add up): a day's event counts per
    (row, area) without a rows × areas temporary."""
    for k in range(index.shape[0]):
        if hits[k]:
            table[index[k]] += 1
