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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from fairpatrol.errors import ConfigError
from fairpatrol.models.base import AreaModel, ModelState
from fairpatrol.sim.prepare import SimData
from fairpatrol.sim.world import (
    RunStreams,
    allocate_shares,
    allocation_weights,
    capped_allocation,
    detection_probability,
    deterrence_keep_probability,
    inverse_probability_weights,
    relative_detection_probability,
    run_streams,
)


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One simulated run: its run index (random streams) and the settings of its scenario cell.

    ``report_rates`` (per horizon event, from a reporting model) replaces the uniform ``report_prob``.
    ``prevention_units`` are non-punitive units placed like patrols: they deter crime (with
    ``prevention_elasticity``) but detect nothing. ``ipw`` turns on feedback-corrected learning and
    ``pcr_cap`` caps every area's officers at ⌈cap · N · predicted share⌉.
    """

    run: int
    n_officers: int
    report_prob: float = 0.4
    detection_p: float = 0.5
    report_rates: np.ndarray | None = field(default=None, compare=False, repr=False)
    prevention_units: int = 0
    prevention_elasticity: float = 0.0
    ipw: bool = False
    ipw_max_weight: float = 20.0
    pcr_cap: float | None = None


@dataclass(frozen=True)
class WorldEffects:
    """Study-wide world effects beyond the sources, all off by default (docs/world.md, "World effects").

    ``deterrence_elasticity`` ε: a replayed crime in an area with k officers still happens with
    probability (1 + k)^(−ε). ``displacement``: the share of deterred crimes that happen instead in a
    neighbouring area (needs :func:`fairpatrol.sim.prepare.with_shadows` data). ``report_delay_days``: a
    report reaches the training data that many days after the crime (detections arrive at once).
    """

    deterrence_elasticity: float = 0.0
    displacement: float = 0.0
    report_delay_days: int = 0


@dataclass(frozen=True)
class Compat:
    """Switches reproducing quirks of the published study's code, all off by default.

    See docs/paper-compat.md for what each does to the results.
    """

    relative_detection: bool = False
    kde_sampling: bool = False
    long_term_leak: bool = False
    shared_reports: bool = False
    run_averaged_metrics: bool = False

    @property
    def any(self) -> bool:
        return any(vars(self).values())


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
        if spec.pcr_cap is not None and spec.pcr_cap < 1:
            raise ValueError(f"pcr_cap must be at least 1, got {spec.pcr_cap}")


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


def _report_coins(
    data: SimData, runs: Sequence[RunSpec], streams: list[RunStreams], compat: Compat
) -> np.ndarray:
    """Which horizon crimes each run's victims would report (before knowing whether the crime happens)."""
    n_future = data.n_events - data.n_history
    out = np.empty((len(runs), n_future), dtype=np.bool_)
    shared = None
    if compat.shared_reports:  # one draw for every run and algorithm, compared after rounding (the paper)
        shared = np.round(
            np.random.default_rng(np.random.SeedSequence(0, spawn_key=(2**31 + 1,))).random(n_future), 2
        )
    for i, spec in enumerate(runs):
        p = spec.report_rates if spec.report_rates is not None else spec.report_prob
        coins = shared if shared is not None else streams[i].reporting.random(n_future)
        out[i] = coins < p
    return out


def simulate(
    model: AreaModel,
    data: SimData,
    runs: Sequence[RunSpec],
    *,
    seed: int,
    allocation: str = "multinomial",
    world: WorldEffects | None = None,
    compat: Compat | None = None,
    progress: Callable[[int], None] | None = None,
    sink: DaySink | None = None,
) -> BatchResult:
    """Simulate ``runs`` (any mix of settings) of one model over the horizon of ``data``.

    Each simulated day ends with a call ``sink(block)`` (:class:`DayBlock`: the day's rows × areas counts
    and allocation shares). Without a ``sink`` the days are collected in dense rows × days × areas tables
    (:class:`DenseTables`, returned in the :class:`BatchResult`); with one, the engine keeps nothing of size
    rows × days × areas, so its memory grows with rows × areas (and the events), not with the days.
    """
    validate_runs(runs)
    check_first_window(model, data)
    world = world or WorldEffects()
    compat = compat or Compat()
    if world.displacement > 0 and data.shadow_of is None:
        raise ValueError("displacement needs data prepared with_shadows()")
    n_rows, n_days, n_areas = len(runs), data.n_days, data.n_areas
    n_hist = data.n_history
    streams = [run_streams(seed, spec.run) for spec in runs]
    n_off = np.array([s.n_officers for s in runs], dtype=np.int64)
    n_prev = np.array([s.prevention_units for s in runs], dtype=np.int64)
    p_det = np.array([s.detection_p for s in runs], dtype=np.float64)
    eps_prev = np.array([s.prevention_elasticity for s in runs], dtype=np.float64)
    any_ipw = any(s.ipw for s in runs)
    max_w = np.array([s.ipw_max_weight if s.ipw else 1.0 for s in runs])
    report_p = (
        np.stack(
            [
                np.broadcast_to(
                    s.report_rates if s.report_rates is not None else s.report_prob, (data.n_events - n_hist,)
                )
                for s in runs
            ]
        )
        if any_ipw
        else None
    )
    effects = world.deterrence_elasticity > 0 or bool(n_prev.any()) or data.shadow_of is not None
    delay = int(world.report_delay_days)

    weights = np.zeros((n_rows, data.n_events), dtype=np.float32)
    weights[:, :n_hist] = 1.0
    will_report = _report_coins(data, runs, streams, compat)

    dense: DenseTables | None = None
    deliver: DaySink
    if sink is None:
        dense = DenseTables(n_days)
        deliver = dense
    else:
        deliver = sink
    # today's counts: buffers reused every day (a sink copies what it keeps)
    officers = np.zeros((n_rows, n_areas), dtype=np.int32)
    prevention = np.zeros_like(officers) if n_prev.any() else None
    crimes = np.zeros_like(officers)
    detected = np.zeros_like(officers)
    reported = np.zeros_like(officers)
    touched = np.zeros(0, dtype=np.int64)  # flat (row, area) entries of the day's event counts
    fallback = np.zeros((n_rows, n_days), dtype=np.bool_)
    diagnostics: dict[str, np.ndarray] = {}
    area_m2 = data.areas.frame["area_m2"].to_numpy(dtype=float)

    sampler = None
    # the KDE models (they have a bandwidth) draw officers from a sample of their training crimes
    window_days = getattr(model, "window_days", None) if hasattr(model, "bandwidth") else None
    if compat.kde_sampling and window_days is not None:
        from fairpatrol.sim.compat import KDESampler

        sampler = KDESampler(data, int(window_days), leak=compat.long_term_leak, will_report=will_report)

    state = model.make_state(data, weights)
    if compat.long_term_leak and sampler is None and int(getattr(model, "window_days", 0)) >= 365:
        if hasattr(state, "leak_future_reports") and hasattr(model, "bandwidth"):
            state.leak_future_reports(will_report)
    pending: dict[int, tuple[int, int, np.ndarray]] = {}  # day → reports (with weights) awaiting delay
    shares = None
    for d in range(n_days):
        if sampler is None:
            shares, fallback[:, d] = allocation_weights(state.forecast(d))
        for i in range(n_rows):
            if sampler is not None:
                officers[i] = sampler.officers(d, weights[i], i, int(n_off[i]))
                continue
            assert shares is not None  # forecast shares whenever no sampler draws the officers
            alloc = allocate_shares(shares[i], int(n_off[i]), allocation, streams[i].allocation)
            cap = runs[i].pcr_cap
            if cap is not None:
                alloc = capped_allocation(alloc, shares[i], cap)
            officers[i] = alloc
            if prevention is not None and n_prev[i]:
                prevention[i] = allocate_shares(shares[i], int(n_prev[i]), allocation, streams[i].allocation)
        for key, value in state.diagnostics().items():
            diagnostics.setdefault(key, np.zeros((n_rows, n_days), dtype=value.dtype))[:, d] = value
        lo, hi = data.day_slice(d)
        for table in (crimes, detected, reported):  # reset the (row, area) entries set the day before
            table.ravel()[touched] = 0
        touched = touched[:0]
        if hi > lo:
            area = data.area[lo:hi]
            k_off = officers[:, area]
            if effects:
                k_prev = None if prevention is None else prevention[:, area]
                real = _realize(data, lo, hi, k_off, k_prev, world, eps_prev, streams)
            else:
                real = np.ones((n_rows, hi - lo), dtype=np.bool_)
            if compat.relative_detection:
                prob = relative_detection_probability(officers.astype(float), area_m2)[:, area]
            else:
                prob = detection_probability(k_off, p_det[:, None])
            coins = np.stack([streams[i].detection.random(hi - lo) for i in range(n_rows)])
            if compat.relative_detection:
                coins = np.round(coins, 2)
            det = (coins < prob) & real
            rep = will_report[:, lo - n_hist : hi - n_hist] & real
            w = np.ones((n_rows, hi - lo), dtype=np.float32)
            if report_p is not None:  # runs without IPW have max weight 1, i.e. weight 1
                w = inverse_probability_weights(prob, report_p[:, lo - n_hist : hi - n_hist], max_w[:, None])
                w = w.astype(np.float32)
            learned = det | rep if delay == 0 else det
            new = np.where(learned, w, np.float32(0.0))
            weights[:, lo:hi] = new
            state.learn(d, lo, hi, new)
            if delay:
                pending[d] = (lo, hi, np.where(rep, w, np.float32(0.0)))
            touched = (np.arange(n_rows)[:, None] * n_areas + area[None, :]).ravel()  # (run, area) of events
            for table, hits in ((crimes, real), (detected, det), (reported, rep)):
                _scatter_add(table.reshape(-1), touched, hits.reshape(-1))
        if delay and (d - delay) in pending:  # reports of day d − delay arrive (unless already detected)
            rlo, rhi, rw = pending.pop(d - delay)
            late = np.where(weights[:, rlo:rhi] > 0, np.float32(0.0), rw)
            if late.any():
                weights[:, rlo:rhi] += late
                state.learn(d - delay, rlo, rhi, late)
        deliver(
            DayBlock(
                d,
                officers,
                crimes,
                detected,
                reported,
                prevention,
                shares,
                fallback[:, d],
            )
        )
        if progress is not None:
            progress(1)
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


@njit(cache=True)
def _scatter_add(table: np.ndarray, index: np.ndarray, hits: np.ndarray) -> None:
    """table[index[k]] += hits[k] for every k (repeated indices add up): a day's event counts per
    (row, area) without a rows × areas temporary."""
    for k in range(index.shape[0]):
        if hits[k]:
            table[index[k]] += 1


def _realize(
    data: SimData,
    lo: int,
    hi: int,
    k_off: np.ndarray,
    k_prev: np.ndarray | None,
    world: WorldEffects,
    eps_prev: np.ndarray,
    streams: list,
) -> np.ndarray:
    """Which of the day's events happen in each run: replayed crimes survive deterrence with probability
    (1 + k)^(−ε)(1 + u)^(−ε_prev); a deterred crime reappears as its displaced copy with probability
    ``world.displacement``; copies are never deterred again and never happen otherwise."""
    n_rows = k_off.shape[0]
    coins = np.stack([streams[i].effects.random(hi - lo) for i in range(n_rows)])
    keep = deterrence_keep_probability(k_off, k_prev, world.deterrence_elasticity, eps_prev[:, None])
    kept = coins < keep
    if data.shadow_of is None:
        return kept
    shadow_of = data.shadow_of[lo:hi]
    is_copy = shadow_of >= 0
    real = np.where(is_copy[None, :], False, kept)
    if is_copy.any():
        cols = np.flatnonzero(is_copy)
        orig = shadow_of[cols] - lo
        real[:, cols] = ~kept[:, orig] & (coins[:, cols] < world.displacement)
    return real
