"""Incremental sliding-window sums: the batched state of every model whose intensity is a sum over the
training events of the last W days (KDE hot spots, previous counts)."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)
from fairpatrol.errors import DataError
from fairpatrol.models._sparse import SparseRows
from fairpatrol.models.base import AreaModel, ModelState

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.sim.prepare import SimData


@njit(cache=True, no_cfunc_wrapper=True)
def _per_day(sums: np.ndarray, days: float, out: np.ndarray) -> None:
    """out = sums / days, negatives set to 0 (the rounding of adding and subtracting the same masses can
    leave −1e-17 where the exact sum is 0): numpy's ``sums / days`` then ``out[out < 0] = 0`` in one pass
    without temporaries (≈ 13 → 4 ms a day for 80 runs × 27,459 cells). ``sums`` and ``out`` are flat (the
    caller's ``reshape(-1)``: a reshape inside the kernel compiles a helper of its own on a first run)."""
    for i in range(sums.shape[0]):
        v = sums[i] / days
        out[i] = 0.0 if v < 0.0 else v


class WindowSumState(ModelState):
    """S_r = Σ_{events j of days [d − W, d)} weights[r, j] · row(j), updated as days enter and leave.

    ``rows`` holds one sparse row per event of ``data`` (the event's contribution to each area); the
    forecast is S_r / W (expected incidents per day). Adding the day's newly learned events and
    subtracting the day that leaves the window costs O(R × stored values of those events) per day instead
    of a refit over the window; memory is R × M for the sums plus the rows (docs/engine.md).

    Each run's number of events in its sums is counted as well: when a run's window holds none, its sums
    are reset to exactly 0, so that the forecast is 0 (uniform fallback, as a refit on no data) rather
    than the ±1e-17 residue of adding and subtracting the same masses in different orders.
    """

    def __init__(self, data: SimData, weights: np.ndarray, window_days: int, rows: SparseRows) -> None:
        if rows.n_rows != data.n_events or rows.n_cols != data.n_areas:
            raise ValueError(
                f"rows are {rows.n_rows} × {rows.n_cols}; the data have {data.n_events} events × "
                f"{data.n_areas} areas"
            )
        self.data = data
        self.weights = weights
        self.window_days = int(window_days)
        self.rows = rows
        lo, hi = data.window(0, self.window_days)
        self.sums = np.zeros((weights.shape[0], data.n_areas))
        self.count = np.count_nonzero(weights[:, lo:hi], axis=1)  # events in each run's sums
        if hi > lo:
            first = weights[:, lo:hi]
            if (first == first[:1]).all():  # every run starts from the same history: sum it once
                self.sums[:] = rows.weighted_sum(first[0], lo)
            else:
                rows.accumulate(self.sums, first, lo)
        self.day = 0  # sums cover days [day - W, day) plus what was learned on day `day`
        #: False: nothing ever leaves the window (the published long-term KDE, fairpatrol.sim.compat)
        self.sliding = True

    def forecast(self, day: int) -> np.ndarray:
        d = self.data
        first_leaving = self.day - self.window_days if self.sliding else day - self.window_days
        for leaving in range(first_leaving, day - self.window_days):
            if leaving < d.first_day:
                continue
            lo, hi = d.day_slice(leaving)
            if hi > lo:
                self.rows.accumulate(self.sums, self.weights[:, lo:hi], lo, sign=-1.0)
                self.count -= np.count_nonzero(self.weights[:, lo:hi], axis=1)
        self.sums[self.count == 0] = 0.0
        self.day = day
        out = np.empty(self.sums.shape)
        _per_day(self.sums.reshape(-1), float(self.window_days), out.reshape(-1))
        return out

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:
        """Add newly learned events of ``day`` (weights ``new``), unless that day has left the window
        (a report that arrives after its day aged out: it would have been removed already)."""
        if self.sliding and day < self.day - self.window_days:
            return
        if hi > lo and new.any():
            self.rows.accumulate(self.sums, new, lo)
            self.count += np.count_nonzero(new, axis=1)


class WindowSumModel(AreaModel):
    """Base of the models whose intensity is a sum over the incidents of the last ``window_days`` days:
    intensity_a = (1 / W) Σ_{i in [until − W, until)} w_i row_i[a], with one row per incident (its area,
    or its kernel mass over the areas). ``fit`` computes it once; ``make_state`` keeps it up to date for
    many runs with :class:`WindowSumState`. Subclasses give the rows (:meth:`_window_sum`,
    :meth:`_event_rows`).
    """

    window_days: int
    #: True when ``fit`` needs the areas (their polygons), not only the incidents' area ids.
    needs_areas = False

    def fit(
        self,
        incidents: pd.DataFrame,
        *,
        until: Any = None,
        areas: Areas | None = None,
        sample_weight: Any = None,
    ) -> Self:
        """Fit on the ``incidents`` (columns ``time`` and ``area_id``, and ``x``, ``y`` in the areas' CRS
        for a kernel) of the window before ``until`` (default: the day after the last incident).

        ``sample_weight`` (or a ``weight`` column) makes an incident count that many times.
        """
        self._check()
        if self.needs_areas and areas is None:
            name = type(self).__name__
            raise DataError(
                f"{name} needs the area polygons: pass areas=", source=f"{name}.fit", field="areas"
            )
        rows, until, ids, idx, w = self._prepare_fit(incidents, until, areas, self.window_days, sample_weight)
        self.area_ids_ = ids
        self.until_ = until
        self.n_events_ = len(rows)
        self.intensity_ = self._window_sum(rows, idx, w, areas) / self.window_days
        return self

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        self._check()
        return WindowSumState(data, weights, int(self.window_days), self._event_rows(data))

    @abstractmethod
    def _window_sum(
        self, rows: pd.DataFrame, idx: np.ndarray, w: np.ndarray, areas: Areas | None
    ) -> np.ndarray:
        """Σ_i w_i row_i over the window's ``rows`` (``idx``: their area indices)."""

    @abstractmethod
    def _event_rows(self, data: SimData) -> SparseRows:
        """One row per event of ``data`` (the simulation's form of :meth:`_window_sum`)."""
