"""Incremental sliding-window sums: the batched state of every model whose intensity is a sum over the
training events of the last W days (KDE hot spots, previous counts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from fairpatrol.models.base import ModelState

if TYPE_CHECKING:
    from fairpatrol.sim.prepare import SimData


class WindowSumState(ModelState):
    """S_r = Σ_{events j of days [d − W, d)} weights[r, j] · row(j), updated as days enter and leave.

    ``rows(lo, hi)`` returns the per-event contribution (events × M) of events ``lo:hi``; the forecast is
    S_r / W (expected incidents per day). Adding the day's newly learned events and subtracting the day
    that leaves the window costs O(new events × M) per run and day instead of a refit over the window.
    """

    def __init__(
        self, data: SimData, weights: np.ndarray, window_days: int, rows: Callable[[int, int], np.ndarray]
    ) -> None:
        self.data = data
        self.weights = weights
        self.window_days = int(window_days)
        self.rows = rows
        lo, hi = data.window(0, self.window_days)
        self.sums = np.zeros((weights.shape[0], data.n_areas))
        if hi > lo:
            self.sums += weights[:, lo:hi].astype(np.float64) @ rows(lo, hi)
        self.day = 0  # sums cover days [day - W, day) plus what was learned on day `day`
        self.leaked: np.ndarray | None = None

    def leak_future_reports(self, will_report: np.ndarray) -> None:
        """The published study's long-term KDE (compat switch ``long_term_leak``): from day 0 the model also
        trains on every report of the whole horizon, future ones included, and its window never slides
        (the pre-start history, the detections and the reports all accumulate)."""
        h = self.data.n_history
        self.leaked = will_report & ~self.data.is_shadow[h:][None, :]
        self.sums += self.leaked.astype(np.float64) @ self.rows(h, self.data.n_events)

    def forecast(self, day: int) -> np.ndarray:
        d = self.data
        first_leaving = day - self.window_days if self.leaked is not None else self.day - self.window_days
        for leaving in range(first_leaving, day - self.window_days):
            if leaving < d.first_day:
                continue
            lo, hi = d.day_slice(leaving)
            if hi > lo:
                self.sums -= self.weights[:, lo:hi].astype(np.float64) @ self.rows(lo, hi)
        self.day = day
        out = self.sums / self.window_days
        out[out < 0.0] = 0.0  # rounding of add/subtract can leave -1e-17 where the exact sum is 0
        return out

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:
        """Add newly learned events of ``day`` (weights ``new``), unless that day has left the window
        (a report that arrives after its day aged out: it would have been removed already)."""
        if self.leaked is not None:  # a leaked report is already counted; learn only what is new
            h = self.data.n_history
            new = np.where(self.leaked[:, lo - h : hi - h], np.float32(0.0), new)
            if hi > lo and new.any():
                self.sums += new.astype(np.float64) @ self.rows(lo, hi)
            return
        if hi > lo and day >= self.day - self.window_days and new.any():
            self.sums += new.astype(np.float64) @ self.rows(lo, hi)
