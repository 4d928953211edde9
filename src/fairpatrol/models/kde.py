"""Hot-spot policing: Gaussian kernel density of recent incidents, integrated over each area
(docs/methods.md, "Models")."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from fairpatrol.errors import DataError
from fairpatrol.models._kde import area_quadrature, event_masses, kde_area_mass_sparse
from fairpatrol.models.base import AreaModel, Interval, ModelState
from fairpatrol.models.window import WindowSumState

if TYPE_CHECKING:
    from fairpatrol.data import Areas
    from fairpatrol.sim.prepare import SimData

#: Default bandwidth (metres). A fixed 300 m Gaussian σ is in the range used for street-level hot-spot
#: maps (Chainey 2013 suggests bandwidths of a few hundred metres for city crime maps); Scott's rule on a
#: year of Baltimore aggravated assaults gives about 1 km, which smooths away the hot spots the method
#: is meant to find. Override with ``bandwidth=``; :func:`scott_bandwidth` computes Scott's rule.
DEFAULT_BANDWIDTH_M = 300.0


def scott_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """Scott's rule for a 2-D isotropic Gaussian kernel: h = σ̄ n^{−1/6}, σ̄ the mean coordinate std."""
    n = len(x)
    if n < 2:
        raise ValueError("Scott's rule needs at least 2 points")
    sigma = 0.5 * (np.std(x, ddof=1) + np.std(y, ddof=1))
    return float(sigma * n ** (-1.0 / 6.0))


class WindowKDE(AreaModel):
    """Gaussian KDE of the incidents in [until − window_days, until), as expected incidents per area-day.

    intensity_a = (1 / W) Σ_{i in window} ∫_{polygon a} φ_h(s − x_i) ds, with the integral taken by the
    lattice quadrature of :mod:`fairpatrol.models._kde` (``cell_size`` metres) and the kernel truncated at
    ``cutoff`` bandwidths. Mass falling outside every area (river, parks, beyond the city line) is lost,
    as it would be for officers sent there.

    Parameters
    ----------
    window_days : training window in days (30 short-term, 365 long-term).
    bandwidth : Gaussian σ in metres (default :data:`DEFAULT_BANDWIDTH_M`).
    cell_size : quadrature lattice spacing in metres.
    cutoff : kernel truncation radius k in bandwidths: drops at most e^{−k²/2} of each incident's mass
        (3.4e-4 at the default 4) and keeps the stored masses sparse; ``math.inf`` for no truncation
        (docs/engine.md, "Sparse kernel masses").
    """

    needs_coordinates = True
    #: Allowed settings (checked by fit, make_state and the config validators). The upper bounds keep the
    #: quadrature lattice (city area / cell_size²) and the kernel's reach (cutoff · bandwidth) in memory.
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "window_days": [Interval(Integral, 1, 3650)],
        "bandwidth": [Interval(Real, 0, 10_000, closed="right")],
        "cell_size": [Interval(Real, 10, 1_000)],
        "cutoff": [Interval(Real, 0, 10, closed="right"), "inf"],
    }

    def __init__(
        self,
        window_days: int = 30,
        bandwidth: float = DEFAULT_BANDWIDTH_M,
        cell_size: float = 100.0,
        cutoff: float = 4.0,
    ) -> None:
        self.window_days = window_days
        self.bandwidth = bandwidth
        self.cell_size = cell_size
        self.cutoff = cutoff

    def fit(
        self,
        incidents: pd.DataFrame,
        *,
        until: Any = None,
        areas: Areas | None = None,
        sample_weight: Any = None,
    ) -> Self:
        """Fit on ``incidents`` (columns ``time``, ``area_id``, ``x``, ``y`` in the areas' CRS).

        ``sample_weight`` (or a ``weight`` column) makes an incident count that many times.
        """
        self._check()
        if areas is None:
            raise DataError(
                "a KDE needs the area polygons: pass areas=",
                source=f"{type(self).__name__}.fit",
                field="areas",
            )
        rows, until, ids, _, w = self._prepare_fit(incidents, until, areas, self.window_days, sample_weight)
        quad = area_quadrature(areas, self.cell_size)
        mass = kde_area_mass_sparse(
            rows["x"].to_numpy(float), rows["y"].to_numpy(float), quad, self.bandwidth, self.cutoff
        )
        self.area_ids_ = ids
        self.until_ = until
        self.n_events_ = len(rows)
        self.intensity_ = mass.weighted_sum(w) / self.window_days
        return self

    def predict(self, day: Any = None) -> pd.Series:
        """Expected incidents per area per day (a window average: the same for any day after ``until``)."""
        return self._series(self.intensity_.copy())

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        self._check()
        mass = event_masses(data, float(self.bandwidth), float(self.cell_size), float(self.cutoff))
        return WindowSumState(data, weights, int(self.window_days), mass)


class ShortTermKDE(WindowKDE):
    """Hot-spot policing on the last 30 days of incidents (WindowKDE's default window)."""


class LongTermKDE(WindowKDE):
    """Hot-spot policing on the last 365 days of incidents."""

    def __init__(
        self,
        window_days: int = 365,
        bandwidth: float = DEFAULT_BANDWIDTH_M,
        cell_size: float = 100.0,
        cutoff: float = 4.0,
    ) -> None:
        super().__init__(window_days, bandwidth, cell_size, cutoff)
