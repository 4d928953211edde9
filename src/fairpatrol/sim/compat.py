"""The published study's code quirks as engine hooks (docs/paper-compat.md), each behind its own switch of
:class:`fairpatrol.config.CompatConfig`, all off by default: :class:`SharedReports`, :class:`KDESampling`,
:class:`LongTermLeak` and :class:`RelativeDetection` (:mod:`fairpatrol.sim.effects` for the hooks).

The KDE allocation. Semsar et al. (2026) never evaluate their KDE: each day they refit scikit-learn's
``KernelDensity`` (Gaussian, bandwidth 0.00005 in raw latitude/longitude degrees) on the day's training
crimes and draw the officers with ``sample(N, random_state=3)``: ``u = RandomState(3).uniform(size=N)``,
the training crime ``floor(u·n)`` of the concatenated (history, detected, reported) array, jittered by a
normal draw of σ = 0.00005°. The seed is the same in every run, every day and every scenario, and a
jittered officer outside every residential polygon is dropped, so fewer than N officers are placed. With
``leak`` (long-term KDE) the training set is the whole pre-start year, every detection so far and every
report of the horizon, future ones included, instead of a sliding window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairpatrol.data import assign_areas, project
from fairpatrol.models.base import ModelState
from fairpatrol.models.window import WindowSumState
from fairpatrol.sim.effects import Batch, Day, Effect, Setup
from fairpatrol.sim.prepare import SimData
from fairpatrol.sim.world import relative_detection_probability

BANDWIDTH_DEG = 0.00005
SEED = 3


class KDESampler:
    """Officer positions sampled as jittered copies of training crimes, with the fixed seed."""

    def __init__(self, data: SimData, window_days: int, *, leak: bool, will_report: np.ndarray) -> None:
        if data.lat is None or data.lon is None:
            raise ValueError("the paper-compatible KDE sampling needs incident coordinates (lat, lon)")
        self.data = data
        self.lat, self.lon = data.lat, data.lon
        self.window_days = window_days
        self.leak = leak and window_days >= 365
        self.will_report = will_report

    def training_order(self, day: int, weights_row: np.ndarray, row: int) -> np.ndarray:
        """Event indices in the authors' concatenation order: history, then detected, then reported."""
        d = self.data
        h = d.n_history
        _, now = d.window(day, self.window_days)
        if self.leak:
            history = np.arange(h)
            learned = np.flatnonzero(weights_row[h:now] > 0) + h
            reported = np.flatnonzero(self.will_report[row] & ~d.is_shadow[h:]) + h
            detected = np.setdiff1d(learned, reported, assume_unique=True)
            order = np.concatenate([history, detected, np.setdiff1d(reported, detected)])
            return order
        lo, hi = d.window(day, self.window_days)
        return np.flatnonzero(weights_row[lo:hi] > 0) + lo

    def officers(self, day: int, weights_row: np.ndarray, row: int, n_officers: int) -> np.ndarray:
        d = self.data
        idx = self.training_order(day, weights_row, row)
        counts = np.zeros(d.n_areas, dtype=np.int32)
        if idx.size == 0:
            return counts
        rs = np.random.RandomState(SEED)
        u = rs.uniform(0, 1, size=n_officers)
        pick = idx[(u * idx.size).astype(np.int64)]
        latlon = np.column_stack([self.lat[pick], self.lon[pick]])
        pts = rs.normal(latlon, BANDWIDTH_DEG)
        x, y = project(pts[:, 1], pts[:, 0], d.areas.crs)
        area, _ = assign_areas(x, y, d.areas, tolerance_m=0.0)
        inside = area >= 0
        np.add.at(counts, area[inside], 1)
        return counts


def _samples(setup: Setup) -> bool:
    """Whether the compat KDE sampler places this batch's officers (KDE models only)."""
    return setup.compat.kde_sampling and hasattr(setup.model, "bandwidth")


class SharedReports(Effect):
    """``shared_reports``: one draw of reporting coins for every run and algorithm, rounded to two
    decimals before the comparison (the published code), instead of each run's own reporting stream."""

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        return cls() if setup.compat.shared_reports else None

    def start(self, batch: Batch) -> None:
        n_future = batch.data.n_events - batch.data.n_history
        shared = np.round(
            np.random.default_rng(np.random.SeedSequence(0, spawn_key=(2**31 + 1,))).random(n_future), 2
        )
        for i, spec in enumerate(batch.runs):
            batch.will_report[i] = shared < spec.reporting


class KDESampling(Effect):
    """``kde_sampling`` (KDE models): officers drawn as jittered copies of training crimes with the fixed
    seed (:class:`KDESampler`) instead of from the forecast; with ``long_term_leak`` its long-term training
    set holds every report of the horizon."""

    def __init__(self, window_days: int, leak: bool) -> None:
        self.window_days = window_days
        self.leak = leak
        self.sampler: KDESampler | None = None

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        if not _samples(setup):
            return None
        return cls(int(getattr(setup.model, "window_days", 0)), setup.compat.long_term_leak)

    def start(self, batch: Batch) -> None:
        self.sampler = KDESampler(batch.data, self.window_days, leak=self.leak, will_report=batch.will_report)

    def allocate(self, batch: Batch, day: Day) -> bool:
        sampler = self.sampler
        assert sampler is not None, "start() makes the sampler"
        for i in range(len(batch.runs)):
            batch.officers[i] = sampler.officers(day.day, batch.weights[i], i, int(batch.n_officers[i]))
        return True


class LongTermLeak(Effect):
    """``long_term_leak`` (long-term KDE, window ≥ 365 days, without the sampler, which leaks by itself):
    from day 0 the model also trains on every report of the horizon, future ones included, and its window
    never slides (:class:`LeakedWindow`)."""

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        window = int(getattr(setup.model, "window_days", 0))
        leaks = setup.compat.long_term_leak and window >= 365 and hasattr(setup.model, "bandwidth")
        return cls() if leaks and not _samples(setup) else None

    def start(self, batch: Batch) -> None:
        if isinstance(batch.state, WindowSumState):
            batch.state = LeakedWindow(batch.state, batch.will_report)


class LeakedWindow(ModelState):
    """A window-sum state (:class:`~fairpatrol.models.window.WindowSumState`) that holds, from day 0, every
    report of the horizon (``will_report``, displaced copies excepted) and whose window never slides: the
    pre-start history, the detections and the reports all accumulate, as in the published long-term KDE.
    A leaked report learned later is not counted twice."""

    def __init__(self, inner: WindowSumState, will_report: np.ndarray) -> None:
        h = inner.data.n_history
        self.inner = inner
        self.leaked = will_report & ~inner.data.is_shadow[h:][None, :]
        inner.rows.accumulate(inner.sums, self.leaked, h)
        inner.count += np.count_nonzero(self.leaked, axis=1)
        inner.sliding = False

    def __getattr__(self, name: str) -> Any:  # sums, count, ...: the wrapped state's
        return getattr(self.inner, name)

    def forecast(self, day: int) -> np.ndarray:
        return self.inner.forecast(day)

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:
        h = self.inner.data.n_history
        self.inner.learn(day, lo, hi, np.where(self.leaked[:, lo - h : hi - h], np.float32(0.0), new))

    def diagnostics(self) -> dict[str, np.ndarray]:
        return self.inner.diagnostics()


class RelativeDetection(Effect):
    """``relative_detection``: detection probability from the day's officer density rescaled against the
    day's maximum (:func:`fairpatrol.sim.world.relative_detection_probability`), uniforms rounded to two
    decimals, as the published code compares them."""

    def __init__(self, area_m2: np.ndarray) -> None:
        self.area_m2 = area_m2

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        if not setup.compat.relative_detection:
            return None
        return cls(setup.data.areas.frame["area_m2"].to_numpy(dtype=float))

    def detect(self, batch: Batch, day: Day) -> None:
        day.prob = relative_detection_probability(batch.officers.astype(float), self.area_m2)[:, day.area]
        day.detect_coins = np.round(day.detect_coins, 2)


#: The published code's quirks, in hook order (shared reports first: the sampler and the leak read them).
COMPAT_EFFECTS: tuple[type[Effect], ...] = (SharedReports, KDESampling, LongTermLeak, RelativeDetection)
