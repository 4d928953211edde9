"""Hot-spot policing: Gaussian kernel density of recent incidents, integrated over each area
(docs/methods.md, "Models").

Also the one bandwidth default and constraint of every KDE in fairpatrol: the area models here and the
grid models of :mod:`fairpatrol.grid.models` (docs/models.md, "Bandwidth").
"""

from __future__ import annotations

import functools
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fairpatrol.models._kde import area_quadrature, event_masses, kde_area_mass_sparse
from fairpatrol.models._sparse import SparseRows
from fairpatrol.models.base import Interval
from fairpatrol.models.describe import (
    FEEDBACK_LOOP,
    AreaExplanation,
    Evidence,
    ForecastExplanation,
    ModelDescription,
)
from fairpatrol.models.window import WindowSumModel

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.sim.prepare import SimData

#: Default bandwidth (metres) of every KDE, area and grid. A fixed 300 m Gaussian σ is in the range used for
#: street-level hot-spot maps (Chainey 2013 suggests bandwidths of a few hundred metres for city crime maps);
#: Scott's rule on a year of Baltimore aggravated assaults gives about 1 km, which smooths away the hot spots
#: the method is meant to find, and on the bundled grid data the naive KDE's hit rate is highest from 125 to
#: 250 m and falls with wider kernels (docs/grid.md, "Bandwidth"; the grid presets pin 250 m). Override with
#: ``bandwidth=``; :func:`scott_bandwidth` computes Scott's rule.
DEFAULT_BANDWIDTH_M = 300.0
#: The values a bandwidth in metres may take (every KDE's ``bandwidth`` constraint): the upper bound keeps
#: the kernel's reach (cutoff · bandwidth) in memory.
BANDWIDTH_METRES = Interval(Real, 0, 10_000, closed="right")


def scott_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """Scott's rule for a 2-D isotropic Gaussian kernel: h = σ̄ n^{−1/6}, σ̄ the mean coordinate std."""
    n = len(x)
    if n < 2:
        raise ValueError("Scott's rule needs at least 2 points")
    sigma = 0.5 * (np.std(x, ddof=1) + np.std(y, ddof=1))
    return float(sigma * n ** (-1.0 / 6.0))


class WindowKDE(WindowSumModel):
    """Gaussian KDE of the incidents in [until − window_days, until), as expected incidents per area-day.

    intensity_a = (1 / W) Σ_{i in window} ∫_{polygon a} φ_h(s − x_i) ds, with the integral taken by the
    lattice quadrature of :mod:`fairpatrol.models._kde` (``cell_size`` metres) and the kernel truncated at
    ``cutoff`` bandwidths. Mass falling outside every area (river, parks, beyond the city line) is lost,
    as it would be for officers sent there.

    Parameters
    ----------
    window_days : int, default 30
        Training window in days (30 short-term, 365 long-term).
    bandwidth : float, default :data:`DEFAULT_BANDWIDTH_M`
        Gaussian σ in metres.
    cell_size : float, default 100
        Quadrature lattice spacing in metres.
    cutoff : float, default 4
        Kernel truncation radius k in bandwidths: drops at most e^{−k²/2} of each incident's mass (3.4e-4 at
        the default 4) and keeps the stored masses sparse; ``math.inf`` for no truncation (docs/engine.md,
        "Sparse kernel masses").

    Attributes
    ----------
    intensity_ : ndarray of shape (n_areas,)
        Expected incidents per area per day.
    area_ids_ : ndarray of str
        The areas, in the order of ``intensity_``.
    until_ : pandas.Timestamp
        End of the training window (exclusive).
    n_events_ : int
        Incidents in the training window.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairpatrol.grid.synthetic import square_areas
    >>> areas = square_areas(2_000.0)  # a west and an east half
    >>> incidents = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=30, freq="D"),
    ...                           "area_id": "W", "x": 500.0, "y": 1_000.0})
    >>> model = ShortTermKDE(bandwidth=200.0).fit(incidents, until="2020-01-31", areas=areas)

    One incident a day, 500 m from the west half's edges: a little of the kernel mass crosses into the
    east half, a little falls outside the city and is lost.

    >>> model.predict().round(3).to_dict()
    {'W': 0.988, 'E': 0.006}
    """

    needs_coordinates = True
    needs_areas = True
    #: Allowed settings (checked by fit, make_state and the config validators). The upper bounds keep the
    #: quadrature lattice (city area / cell_size²) and the kernel's reach (cutoff · bandwidth) in memory.
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "window_days": [Interval(Integral, 1, 3650)],
        "bandwidth": [BANDWIDTH_METRES],
        "cell_size": [Interval(Real, 10, 1_000)],
        "cutoff": [Interval(Real, 0, 10, closed="right"), "inf"],
    }

    def __init__(
        self,
        *,
        window_days: int = 30,
        bandwidth: float = DEFAULT_BANDWIDTH_M,
        cell_size: float = 100.0,
        cutoff: float = 4.0,
    ) -> None:
        self.window_days = window_days
        self.bandwidth = bandwidth
        self.cell_size = cell_size
        self.cutoff = cutoff

    def _window_sum(
        self, rows: pd.DataFrame, idx: np.ndarray, w: np.ndarray, areas: Areas | None
    ) -> np.ndarray:
        assert areas is not None  # needs_areas: checked by fit
        quad = area_quadrature(areas, self.cell_size)
        x, y = rows["x"].to_numpy(float), rows["y"].to_numpy(float)
        return kde_area_mass_sparse(x, y, quad, self.bandwidth, self.cutoff).weighted_sum(w)

    def _event_rows(self, data: SimData) -> SparseRows:
        return event_masses(data, float(self.bandwidth), float(self.cell_size), float(self.cutoff))

    def explain(self, evidence: Evidence, order: np.ndarray) -> ForecastExplanation:
        """intensity_n = (1/W) Σ_i w_i ∫_{polygon n} φ_h(s − x_i) ds over the learned incidents i of the last
        W days: each incident's term is its kernel mass in the area, split into incidents inside the area
        and incidents in neighbouring areas whose kernels spill over."""
        from fairpatrol.formatting import number

        rows = evidence.rows
        quad = area_quadrature(evidence.areas, self.cell_size)
        mass = kde_area_mass_sparse(  # sparse rows: a window of incidents × 27,459 cells stays small
            rows["x"].to_numpy(float), rows["y"].to_numpy(float), quad, self.bandwidth, self.cutoff
        )
        weights = evidence.weights()
        incident = np.repeat(np.arange(mass.n_rows), np.diff(mass.indptr))  # row of each stored value
        explained = []
        for a in order:
            own = evidence.area_idx == a
            hit = np.flatnonzero(mass.indices == a)
            contrib = np.zeros(len(rows))
            contrib[incident[hit]] = mass.values[hit] * weights[incident[hit]] / self.window_days
            parts = {"inside": float(contrib[own].sum()), "nearby": float(contrib[~own].sum())}
            top = evidence.top_contributions(contrib, rows, sum(parts.values()))
            explained.append(AreaExplanation(evidence.areas.ids[a], 0.0, 0, parts, int(own.sum()), top))
        method = (
            f"Hot-spot forecast = kernel density of the incidents of the last {self.window_days} days: each "
            f"incident spreads over a Gaussian of σ = {number(self.bandwidth, 4)} m and the area receives "
            f"the part that falls inside it, divided by {self.window_days} days; split into incidents "
            "inside the area and incidents in neighbouring areas whose density spills over."
        )
        params = {"window (days)": self.window_days, "bandwidth σ (m)": self.bandwidth}
        labels = {"inside": "incidents inside the area", "nearby": "incidents nearby"}
        return ForecastExplanation(method, labels, params, explained)


class ShortTermKDE(WindowKDE):
    """Hot-spot policing on the last 30 days of incidents (:class:`WindowKDE` with its default window).

    Parameters, attributes and an example: :class:`WindowKDE`.
    """

    description = ModelDescription(
        intent="Hot-spot policing: send patrols where incidents clustered in the last month.",
        decides="Every incident of the last 30 days is spread over its surroundings by a Gaussian kernel; "
        "an area's forecast is the density falling inside it.",
        inputs="Location (projected coordinates) of each recorded incident of the last 30 days.",
        limitations=(
            FEEDBACK_LOOP,
            "A 30-day window holds few incidents: hot spots jump with chance events.",
            "Density that falls outside every area (rivers, parks, beyond the city line) is lost.",
            "The bandwidth (smoothing distance) is a choice; results depend on it.",
        ),
        reference="Chainey, Tompson & Uhlig (2008), The utility of hotspot mapping for predicting spatial "
        "patterns of crime, Security Journal 21:4.",
    )


class LongTermKDE(WindowKDE):
    """Hot-spot policing on the last 365 days of incidents (:class:`WindowKDE` with ``window_days=365``).

    Parameters and attributes: :class:`WindowKDE`.

    Examples
    --------
    >>> LongTermKDE()
    LongTermKDE()
    >>> LongTermKDE().window_days, LongTermKDE(bandwidth=250.0).get_params()["bandwidth"]
    (365, 250.0)
    """

    __init__ = functools.partialmethod(WindowKDE.__init__, window_days=365)

    description = ModelDescription(
        intent="Hot-spot policing on the last year of incidents: stable, long-run hot spots.",
        decides="As the short-term version, with a 365-day window.",
        inputs="Location (projected coordinates) of each recorded incident of the last 365 days.",
        limitations=(
            FEEDBACK_LOOP,
            "Slow to notice real changes in where crime happens.",
            "Density that falls outside every area is lost; the bandwidth is a choice.",
        ),
        reference="Chainey, Tompson & Uhlig (2008), Security Journal 21:4.",
    )
