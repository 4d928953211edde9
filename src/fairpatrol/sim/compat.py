"""The published study's KDE allocation, for the paper-compatible mode (docs/paper-compat.md).

Semsar et al. (2026) never evaluate their KDE: each day they refit scikit-learn's ``KernelDensity``
(Gaussian, bandwidth 0.00005 in raw latitude/longitude degrees) on the day's training crimes and draw the
officers with ``sample(N, random_state=3)``: ``u = RandomState(3).uniform(size=N)``, the training crime
``floor(u·n)`` of the concatenated (history, detected, reported) array, jittered by a normal draw of σ =
0.00005°. The seed is the same in every run, every day and every scenario, and a jittered officer outside
every residential polygon is dropped, so fewer than N officers are placed. With ``leak`` (long-term KDE)
the training set is the whole pre-start year, every detection so far and every report of the horizon,
future ones included, instead of a sliding window.
"""

from __future__ import annotations

import numpy as np

from fairpatrol.data import assign_areas, project
from fairpatrol.sim.prepare import SimData

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
