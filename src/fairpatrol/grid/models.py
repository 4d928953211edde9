"""Grid-cell crime forecasts of the PF/RAF study: naive KDE, time-space KDE and SEPP, scikit-learn style
(docs/grid.md, "Models").

Every model follows the conventions of :mod:`fairpatrol.models`: settings in ``__init__``,
``fit(incidents, until=day, grid=grid)`` on the incidents of the ``window_days`` days before ``until``
returns ``self``, fitted attributes end in ``_``, and ``predict()`` returns the expected number of incidents
in each cell of the grid on the day starting at ``until`` (a Series indexed by ``cell_id``).

Spatial kernels are integrated over the cells exactly: the mass of an isotropic Gaussian N(s_i, h² I) in
the square [a, b) × [c, d) is (Φ((b − x_i)/h) − Φ((a − x_i)/h)) (Φ((d − y_i)/h) − Φ((c − y_i)/h))
(:func:`kernel_cell_sum`). Kernel mass falling outside the grid (the lake, beyond the city line) is lost,
as it would be for patrols sent there.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from fairpatrol.data.dates import at_midnight, place_within_day
from fairpatrol.errors import ConfigError, ConvergenceWarning, DataError
from fairpatrol.models.base import DAY, Estimator, Interval, Options, model_registry, training_window
from fairpatrol.models.describe import ModelDescription
from fairpatrol.models.kde import BANDWIDTH_METRES, DEFAULT_BANDWIDTH_M, scott_bandwidth

if TYPE_CHECKING:
    from fairpatrol.grid.cells import Grid

#: Default background bandwidth (metres) of :class:`SEPP`. The background at an event leaves the event out,
#: so it must be wide enough to estimate a density from a 30-day window: at 250 m on Chicago 2022-2023 the
#: Gaussian trigger then switched between near-repeats (σ = 50 m) and a second smoother (σ at its 500 m
#: cap) and 31 % of the daily fits stopped at 500 iterations; at 500 m all 364 converged in 5-39
#: iterations with θ 0.17-0.24 (docs/grid.md, "SEPP").
SEPP_BANDWIDTH_M = 500.0


#: Kernel truncation in bandwidths for the cell integrals (mass beyond it per axis: Φ(−6) ≈ 1e-9).
KERNEL_CUTOFF = 6.0


def kernel_cell_sum(x: np.ndarray, y: np.ndarray, w: np.ndarray, grid: Grid, h: float) -> np.ndarray:
    """Σ_i w_i ∫_c K_h(s − s_i) ds for every cell c of ``grid`` (exact Gaussian cell masses, truncated at
    :data:`KERNEL_CUTOFF` bandwidths; :func:`fairpatrol.grid._mass.gaussian_lattice_sum`)."""
    from fairpatrol.grid._mass import gaussian_lattice_sum

    surface = gaussian_lattice_sum(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(w, dtype=np.float64),
        grid.x0,
        grid.y0,
        grid.cell_size,
        grid.nx,
        grid.ny,
        float(h),
        KERNEL_CUTOFF,
    )
    return surface[grid.frame["ix"].to_numpy(), grid.frame["iy"].to_numpy()]


#: Bandwidth settings that are rules rather than numbers of metres.
BANDWIDTH_RULES = ("scott", "scott-covariance")

#: Pixels per cell side of the lattice on which a correlated Gaussian kernel is integrated.
COV_PIXELS_PER_CELL = 10


def scott_covariance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kernel covariance of ``scipy.stats.gaussian_kde`` (and open_cp's ``GaussianBase``) by default: the
    sample covariance of the points times Scott's factor squared, n^{−1/3} in two dimensions."""
    if len(x) < 3:
        raise DataError("Scott's rule needs at least 3 incidents in the window", field="bandwidth")
    cov = np.cov(np.vstack([x, y])) * len(x) ** (-1.0 / 3.0)
    if not np.all(np.isfinite(cov)) or np.linalg.det(cov) <= 1.0:  # points on a line: no 2-D kernel
        raise DataError("the window's incidents do not span two dimensions", field="bandwidth")
    return cov


def kernel_cell_sum_cov(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, grid: Grid, cov: np.ndarray
) -> np.ndarray:
    """Σ_i w_i ∫_c N(s; s_i, cov) ds for every cell c: a correlated Gaussian, which has no separable cell
    integral. The weights are spread on a lattice of :data:`COV_PIXELS_PER_CELL` pixels per cell side
    (cloud-in-cell: to the four nearest pixel centres), convolved with the kernel's pixel masses by FFT
    and summed per cell; the kernel is truncated at :data:`KERNEL_CUTOFF` standard deviations of its wider
    axis. Against the exact integral (:func:`kernel_cell_sum`, isotropic case) the total absolute error is
    0.03 % of the mass at σ = 700 m and 0.14 % at 300 m. Mass falling outside the grid is lost.
    """
    from scipy.signal import fftconvolve

    f = COV_PIXELS_PER_CELL
    px = grid.cell_size / f
    reach = math.ceil(KERNEL_CUTOFF * math.sqrt(float(np.linalg.eigvalsh(cov).max())) / px)
    nx, ny = grid.nx * f + 2 * reach, grid.ny * f + 2 * reach
    # cloud-in-cell binning: each weight is shared by the four nearest pixel centres (error O(pixel²))
    fx = (np.asarray(x, float) - grid.x0) / px - 0.5 + reach
    fy = (np.asarray(y, float) - grid.y0) / px - 0.5 + reach
    i0, j0 = np.floor(fx), np.floor(fy)
    a, b = fx - i0, fy - j0
    w = np.asarray(w, float)
    image = np.zeros(nx * ny)
    for di, dj, share in ((0, 0, (1 - a) * (1 - b)), (1, 0, a * (1 - b)), (0, 1, (1 - a) * b), (1, 1, a * b)):
        i, j = i0.astype(np.int64) + di, j0.astype(np.int64) + dj
        ok = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        image += np.bincount(i[ok] * ny + j[ok], weights=(w * share)[ok], minlength=nx * ny)
    offsets = np.arange(-reach, reach + 1) * px
    dx, dy = np.meshgrid(offsets, offsets, indexing="ij")
    inv = np.linalg.inv(cov)
    quad = inv[0, 0] * dx * dx + 2.0 * inv[0, 1] * dx * dy + inv[1, 1] * dy * dy
    kernel = np.exp(-0.5 * quad) * px * px / (2.0 * math.pi * math.sqrt(np.linalg.det(cov)))
    mass = fftconvolve(image.reshape(nx, ny), kernel, mode="same")[reach:-reach, reach:-reach]
    cells = mass.reshape(grid.nx, f, grid.ny, f).sum(axis=(1, 3))
    return np.maximum(cells[grid.frame["ix"].to_numpy(), grid.frame["iy"].to_numpy()], 0.0)


def _resolve_bandwidth(bandwidth: float | str, x: np.ndarray, y: np.ndarray) -> float | np.ndarray:
    """A checked bandwidth setting: metres (a number, or Scott's isotropic rule on the window), or the
    kernel covariance matrix (``'scott-covariance'``)."""
    if isinstance(bandwidth, str):
        if bandwidth == "scott-covariance":
            return scott_covariance(x, y)
        if len(x) < 2:
            raise DataError("Scott's rule needs at least 2 incidents in the window", field="bandwidth")
        return max(scott_bandwidth(x, y), 1.0)
    return float(bandwidth)


def _kernel_sum(x: np.ndarray, y: np.ndarray, w: np.ndarray, grid: Grid, h: float | np.ndarray) -> np.ndarray:
    """Cell masses of an isotropic (``h`` metres) or correlated (``h`` a covariance matrix) Gaussian KDE."""
    if np.ndim(h) == 2:
        return kernel_cell_sum_cov(x, y, w, grid, np.asarray(h))
    return kernel_cell_sum(x, y, w, grid, float(h))


class GridModel(Estimator):
    """Base class of the grid models: window selection and the cell-indexed output.

    Reuses the parameter handling of :class:`fairpatrol.models.base.Estimator` (``get_params``,
    ``set_params``, ``repr``). Grid models forecast for the evaluation of :mod:`fairpatrol.grid.evaluate`;
    they have no batched simulation state (no ``make_state``): they are not area models of the simulation.
    """

    needs_coordinates = True
    window_days: int
    #: Allowed settings shared by the grid models (checked by fit and the config validators).
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "window_days": [Interval(Integral, 1, 3650)],
        "bandwidth": [BANDWIDTH_METRES, Options(set(BANDWIDTH_RULES))],
    }

    def _window(
        self, incidents: pd.DataFrame, until: Any, grid: Grid | None
    ) -> tuple[pd.DataFrame, pd.Timestamp, np.ndarray, Grid]:
        """Validate (:func:`~fairpatrol.models.base.training_window`); return (window rows, until, event
        times in days relative to ``until`` (< 0), the grid)."""
        name = type(self).__name__
        if grid is None:
            raise DataError("a grid model needs the grid: pass grid=", source=f"{name}.fit", field="grid")
        self._check()
        rows, until, times, _ = training_window(
            incidents, until, self.window_days, required=["time", "x", "y"], source=name
        )
        return rows, until, ((times - until) / DAY).to_numpy(dtype=np.float64), grid

    def _finish(self, grid: Grid, until: pd.Timestamp, n_events: int) -> None:
        self.grid_ = grid
        self.cell_ids_ = grid.ids
        self.until_ = until
        self.n_events_ = int(n_events)

    def _series(self, values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=pd.Index(self.cell_ids_, name="cell_id"), name="intensity")


class NaiveKDE(GridModel):
    """Naive KDE: λ_c = (1/W) Σ_{i in window} ∫_c K_h(s − s_i) ds, expected incidents per cell-day.

    The PF/RAF study's naive model (section 2.4.1), λ(s) = Σ_i K_h(s − s_i) over the rolling window, scaled
    by 1/W to a daily rate.

    Parameters
    ----------
    window_days : int, default 30
        Training window W in days (30 in source B).
    bandwidth : float or str, default :data:`~fairpatrol.models.kde.DEFAULT_BANDWIDTH_M`
        Gaussian σ in metres, ``'scott'`` (Scott's isotropic rule on each window) or ``'scott-covariance'``
        (the window's covariance times n^{−1/3}: ``scipy.stats.gaussian_kde`` and open_cp's defaults, which
        the PF/RAF study used; :func:`kernel_cell_sum_cov`).

    Attributes
    ----------
    intensity_ : ndarray of shape (n_cells,)
        Expected incidents per cell per day.
    covariance_ : ndarray of shape (2, 2)
        The kernel's covariance matrix (metres²).
    bandwidth_ : float
        The kernel's σ in metres (for a correlated kernel, the geometric mean of its axes).
    grid_ : Grid
        The grid fitted on; ``cell_ids_`` its cell ids, in the order of ``intensity_``.
    until_ : pandas.Timestamp
        The first day after the training window: the day ``predict()`` forecasts.
    n_events_ : int
        Number of training incidents (in the window).

    Examples
    --------
    >>> import pandas as pd
    >>> from fairpatrol.grid.cells import build_grid
    >>> from fairpatrol.grid.synthetic import square_areas
    >>> grid = build_grid(square_areas(4_000.0), 1_000.0)  # 4 × 4 cells of 1 km
    >>> incidents = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=30, freq="D"),
    ...                           "x": 1_500.0, "y": 1_500.0})  # one a day at the centre of cell 1-1
    >>> forecast = NaiveKDE(bandwidth=100.0).fit(incidents, until="2020-01-31", grid=grid).predict()
    >>> grid.n, forecast.idxmax(), round(float(forecast.max()), 3)
    (16, '1-1', 1.0)
    """

    def __init__(self, *, window_days: int = 30, bandwidth: float | str = DEFAULT_BANDWIDTH_M) -> None:
        self.window_days = window_days
        self.bandwidth = bandwidth

    def _weights(self, t: np.ndarray) -> np.ndarray:
        return np.full(t.shape, 1.0 / float(self.window_days))

    def fit(self, incidents: pd.DataFrame, *, until: Any = None, grid: Grid | None = None) -> Self:
        """Fit on ``incidents`` (columns ``time``, ``x``, ``y`` in the grid's CRS) before ``until``."""
        rows, until, t, grid = self._window(incidents, until, grid)
        x, y = rows["x"].to_numpy(float), rows["y"].to_numpy(float)
        h = _resolve_bandwidth(self.bandwidth, x, y)
        self.intensity_ = _kernel_sum(x, y, self._weights(t), grid, h)
        self.covariance_ = h if np.ndim(h) == 2 else np.eye(2) * float(h) ** 2
        self.bandwidth_ = float(np.sqrt(np.sqrt(np.linalg.det(self.covariance_))))
        self._finish(grid, until, len(rows))
        return self

    description = ModelDescription(
        intent="Grid hot spots: where incidents of the last month clustered.",
        decides="Every incident of the rolling 30-day window spreads over nearby cells by a Gaussian "
        "kernel; a cell's forecast is the density inside it.",
        inputs="Location of each incident in the window.",
        limitations=(
            "Every incident of the window counts the same, however old.",
            "The bandwidth (smoothing distance) is a choice; results depend on it.",
        ),
        reference="The PF/RAF grid study (docs/grid.md); Chainey et al. (2008), Security Journal 21:4.",
    )


class TimeSpaceKDE(NaiveKDE):
    """Time-space KDE: λ_c = Σ_i e^{−β a_i} ∫_c K_h(s − s_i) ds / ∫_0^W e^{−βu} du (docs/grid.md, "Models").

    a_i = until − t_i is the age of incident i in days; dividing by ∫_0^W e^{−βu} du = (1 − e^{−βW})/β
    makes λ an expected count per day (a constant-rate history gives back its rate), and β → 0 gives the
    naive KDE.

    Parameters
    ----------
    window_days, bandwidth : as :class:`NaiveKDE`.
    beta : float, default 0.1
        Time decay per day (0.1: an incident a week old weighs e^{−0.7} ≈ 0.5).

    Attributes
    ----------
    intensity_, covariance_, bandwidth_, grid_, cell_ids_, until_, n_events_ : as :class:`NaiveKDE`.

    Examples
    --------
    One incident a day for 30 days in one cell: the naive KDE gives back the rate, 1 a day; the time-space
    KDE weighs the days by e^{−β age} and normalises by the integral of the decay over the window, so a
    constant daily history comes back slightly below 1 (the ages are 1 to 30 days, not 0 to 30).

    >>> import pandas as pd
    >>> from fairpatrol.grid.cells import build_grid
    >>> from fairpatrol.grid.synthetic import square_areas
    >>> grid = build_grid(square_areas(4_000.0), 1_000.0)
    >>> incidents = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=30, freq="D"),
    ...                           "x": 1_500.0, "y": 1_500.0})
    >>> model = TimeSpaceKDE(bandwidth=100.0, beta=0.1).fit(incidents, until="2020-01-31", grid=grid)
    >>> round(float(model.predict()["1-1"]), 3)
    0.951
    """

    def __init__(
        self, *, window_days: int = 30, bandwidth: float | str = DEFAULT_BANDWIDTH_M, beta: float = 0.1
    ) -> None:
        super().__init__(window_days=window_days, bandwidth=bandwidth)
        self.beta = beta

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **NaiveKDE._parameter_constraints,
        "beta": [Interval(Real, 0, 100)],
    }

    def _weights(self, t: np.ndarray) -> np.ndarray:
        beta = float(self.beta)
        w = float(self.window_days)
        norm = w if beta * w < 1e-12 else -math.expm1(-beta * w) / beta
        return np.exp(beta * t) / norm  # t = −age

    description = ModelDescription(
        intent="Grid hot spots that weigh recent incidents more.",
        decides="As the naive KDE, each incident weighted by e^(−β·age), so last week's incidents count more "
        "than last month's.",
        inputs="Time and location of each incident in the window.",
        limitations=("The decay β and the bandwidth are choices; results depend on them.",),
        reference="The PF/RAF grid study (docs/grid.md).",
    )


class SEPP(GridModel):
    """Self-exciting point process fitted by EM (docs/grid.md, "SEPP"; Mohler et al. 2011, 2015).

    λ(s, t) = μ(s) + Σ_{t_i < t} θ ω e^{−ω(t − t_i)} g(s − s_i). The background μ is either a
    fixed-bandwidth Gaussian KDE of the declustered events, μ(s) = (1/T) Σ_k q_k K_h(s − s_k)
    (``background='kde'``, Mohler et al. 2011), or constant in each grid cell, μ_c = Σ_{k in c} q_k / T
    (``background='cell'``, the grid ETAS of Mohler et al. 2015 that the PF/RAF study ran through
    ``open_cp.seppexp``). g is the spatial trigger: an isotropic Gaussian of scale σ (``trigger='gaussian'``)
    or the parent's own cell (``trigger='cell'``, offspring uniform in it). θ is the expected number of
    offspring per event and 1/ω the mean trigger delay in days; μ̄ = Σ q_k / T is the background rate per
    day. EM and truncation: :mod:`fairpatrol.grid._sepp`; the KDE background at an event leaves the event
    itself out. The EM stops when one iteration changes θ and every background probability q_j by at most
    ``tol`` (absolute: they are shares of events), μ̄ by at most ``tol`` relative, and ω and σ by at most
    ``tol`` relative once weighted by the share of triggered events Σ p_ij / N (with θ near 0 they are barely
    identified and drift on a flat likelihood), or after ``max_iter`` iterations;
    ``converged_`` says which; ``loglik_`` is the log-likelihood Σ_j log λ(s_j, t_j) − ∫∫ λ of the fitted
    (truncated) model on the window. The forecast of cell c for the day [d, d + 1) is

        ∫_c μ(s) ds + Σ_i θ e^{−ω(d − t_i)} (1 − e^{−ω}) ∫_c g(s − s_i) ds.

    Date-only incidents (``time_resolution='day'``, or ``'auto'`` when every time of the window is at
    midnight) are placed at a reproducible uniform time of their day
    (:func:`fairpatrol.data.dates.within_day_offsets`), so that events of the same day are never
    simultaneous; on data simulated with θ = 0.3 and then cut to dates the fit recovers θ
    (docs/grid.md, "Date-only incidents").

    Parameters
    ----------
    window_days : training window T in days (30 in source B).
    bandwidth : background kernel σ in metres (:data:`SEPP_BANDWIDTH_M`), or ``'scott'``
        (``background='kde'``).
    trigger : ``'gaussian'`` or ``'cell'``.
    background : ``'kde'`` or ``'cell'``.
    time_resolution : ``'auto'``, ``'exact'`` (times as given) or ``'day'`` (dates: within-day placement).
    random_state : seed of the within-day placement.
    time_cutoff : only parents at most this many days before an event are considered.
    space_cutoff : only parents within this many metres (``gaussian``); σ is kept ≤ space_cutoff / 3.
    bg_cutoff : the KDE background sum at an event covers events within this many bandwidths.
    theta0, omega0, sigma0 : starting values (θ, ω per day, σ metres).
    sigma_min : floor of σ in metres. Published locations are rounded (Chicago to the block, the Bogotá
        points to 200 m cells), so many incidents share a point and the likelihood of a Gaussian trigger
        grows without bound as σ → 0; the floor stands for the location precision.
    tol, max_iter : stopping rule.
    warm_start : refit from the previous fit's parameters and background weights (events still in the
        window keep their q, matched by the incidents' index when it is unique), as a daily rolling
        evaluation does. A previous θ at its lower bound restarts from ``theta0``.

    Attributes
    ----------
    theta_, omega_, sigma_, mu_bar_ : float
        Fitted θ, ω (per day), σ (metres; NaN for the cell trigger) and μ̄ (background events per day).
    q_ : pandas.Series
        Background probabilities of the window's events (indexed like the incidents).
    time_resolution_ : str
        ``'exact'`` or ``'day'``, as applied to this window.
    n_iter_ : int
        EM iterations; ``converged_`` (bool) whether they met ``tol`` before ``max_iter`` (a
        :class:`~fairpatrol.errors.ConvergenceWarning` otherwise).
    loglik_ : float
        Log-likelihood of the fit on the window; ``n_pairs_`` (int) the candidate parent-child pairs.
    bandwidth_ : float
        Background bandwidth in metres (NaN for the cell background).
    grid_, cell_ids_, until_, n_events_ : as :class:`NaiveKDE`.

    Examples
    --------
    >>> from fairpatrol.grid.cells import build_grid
    >>> from fairpatrol.grid.synthetic import simulate_grid_sepp, square_areas
    >>> grid = build_grid(square_areas(20_000.0), 1000.0)
    >>> events = simulate_grid_sepp(20.0, 0.3, 0.5, 120, trigger="cell", seed=0)
    >>> model = SEPP(window_days=120, trigger="cell", background="cell").fit(
    ...     events, until="2020-04-30", grid=grid)
    >>> 0.15 < model.theta_ < 0.45
    True
    """

    def __init__(
        self,
        *,
        window_days: int = 30,
        bandwidth: float | str = SEPP_BANDWIDTH_M,
        trigger: str = "gaussian",
        background: str = "kde",
        time_resolution: str = "auto",
        random_state: int = 0,
        time_cutoff: float = 14.0,
        space_cutoff: float = 1500.0,
        bg_cutoff: float = 4.0,
        theta0: float = 0.2,
        omega0: float = 1.0,
        sigma0: float = 200.0,
        sigma_min: float = 50.0,
        tol: float = 1e-4,
        max_iter: int = 500,
        warm_start: bool = False,
    ) -> None:
        self.window_days = window_days
        self.bandwidth = bandwidth
        self.trigger = trigger
        self.background = background
        self.time_resolution = time_resolution
        self.random_state = random_state
        self.time_cutoff = time_cutoff
        self.space_cutoff = space_cutoff
        self.bg_cutoff = bg_cutoff
        self.theta0 = theta0
        self.omega0 = omega0
        self.sigma0 = sigma0
        self.sigma_min = sigma_min
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    #: Bounds kept by the M-step (θ; ω per day). σ is kept in [sigma_min, space_cutoff / 3].
    THETA_BOUNDS = (1e-6, 0.999)
    OMEGA_BOUNDS = (1e-3, 1e3)

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **GridModel._parameter_constraints,
        "trigger": [Options({"gaussian", "cell"})],
        "background": [Options({"kde", "cell"})],
        "time_resolution": [Options({"auto", "exact", "day"})],
        "random_state": [Interval(Integral, 0, None)],
        "time_cutoff": [Interval(Real, 0, 3650, closed="right")],
        "space_cutoff": [Interval(Real, 0, 50_000, closed="right")],
        "bg_cutoff": [Interval(Real, 0, 10, closed="right")],
        "theta0": [Interval(Real, 0, 1, closed="neither")],
        "omega0": [Interval(Real, OMEGA_BOUNDS[0], OMEGA_BOUNDS[1])],
        "sigma0": [Interval(Real, 0, 50_000, closed="right")],
        "sigma_min": [Interval(Real, 0, 50_000, closed="right")],
        "tol": [Interval(Real, 0, 1, closed="neither")],
        "max_iter": [Interval(Integral, 1, 100_000)],
        "warm_start": ["boolean"],
    }

    def _check(self) -> None:
        super()._check()
        if self.bandwidth == "scott-covariance":
            raise ConfigError(
                "must be a number of metres or 'scott' (the KDE background is isotropic), got "
                "'scott-covariance'",
                source=type(self).__name__,
                field="bandwidth",
            )
        if float(self.sigma_min) > float(self.space_cutoff) / 3.0:
            raise ConfigError(
                f"must be ≤ space_cutoff / 3 = {float(self.space_cutoff) / 3.0:g}, got {self.sigma_min}",
                source=type(self).__name__,
                field="sigma_min",
            )

    def _start(self, index: pd.Index) -> tuple[float, float, float, np.ndarray]:
        """Starting (θ, ω, σ, q): the previous fit's when warm-starting, else the settings.

        A previous θ at its lower bound is not a starting point: EM multiplies θ by a factor per
        iteration, so from 1e-6 it needs hundreds of iterations to leave the bound even when the new
        window self-excites, and the relative stopping rule may stop it first. θ restarts from ``theta0``.
        """
        lo, hi = float(self.sigma_min), float(self.space_cutoff) / 3.0
        theta0 = float(self.theta0)
        if self.warm_start and hasattr(self, "q_") and index.is_unique and self.q_.index.is_unique:
            theta = self.theta_ if self.theta_ > 10 * self.THETA_BOUNDS[0] else theta0
            q = self.q_.reindex(index).to_numpy(dtype=float, copy=True)
            q[np.isnan(q)] = 1.0 - theta
            sigma = self.sigma_ if np.isfinite(self.sigma_) else float(self.sigma0)
            return theta, self.omega_, min(max(sigma, lo), hi), q
        sigma = min(max(float(self.sigma0), lo), hi)
        return theta0, float(self.omega0), sigma, np.full(len(index), 1.0 - theta0)

    def _event_times(self, rows: pd.DataFrame, t: np.ndarray, until: pd.Timestamp) -> tuple[np.ndarray, str]:
        """Event times in days before ``until``, date-only events placed within their day
        (:func:`fairpatrol.data.dates.place_within_day`: the same time in every window)."""
        resolution = self.time_resolution
        if resolution == "auto":
            resolution = "day" if at_midnight(t).all() else "exact"
        if resolution == "exact":
            return t, resolution
        x, y = rows["x"].to_numpy(float), rows["y"].to_numpy(float)
        return place_within_day(np.floor(t + 1e-9), until, x, y, seed=int(self.random_state)), resolution

    def fit(self, incidents: pd.DataFrame, *, until: Any = None, grid: Grid | None = None) -> Self:
        """Fit by EM on ``incidents`` (``time``, ``x``, ``y``) of the window before ``until``."""
        from fairpatrol.grid._sepp import em_step, gaussian_weights, kde_background, neighbour_pairs

        rows, until, t, grid = self._window(incidents, until, grid)
        t, resolution = self._event_times(rows, t, until)
        order = np.argsort(t, kind="stable")
        rows, t = rows.iloc[order], t[order]
        x, y = rows["x"].to_numpy(float), rows["y"].to_numpy(float)
        n = len(t)
        span = float(self.window_days)
        gaussian = self.trigger == "gaussian"
        sigma_max = float(self.space_cutoff) / 3.0
        cs = grid.cell_size
        cell_area = cs**2
        # lattice squares of the grid (also outside its mask), for the cell trigger and background
        ix = np.floor((x - grid.x0) / cs).astype(np.int64)
        iy = np.floor((y - grid.y0) / cs).astype(np.int64)
        if self.background == "kde":
            h = float(_resolve_bandwidth(self.bandwidth, x, y))  # a number: _check refuses 'scott-covariance'
            reach = float(self.bg_cutoff) * h
            bg_ptr, bg_idx, bg_d2 = neighbour_pairs(
                x, y, t, reach, x.min(), y.min(), reach, np.inf, False, False
            )
            bg_k = gaussian_weights(bg_d2, h)
        else:
            h = float("nan")
            square = np.unique(np.column_stack([ix, iy]), axis=0, return_inverse=True)[1].ravel()
        if gaussian:
            cut = float(self.space_cutoff)
            tr = neighbour_pairs(x, y, t, cut, x.min(), y.min(), cut, float(self.time_cutoff), True, False)
        else:
            ox = grid.x0 + cs * float(ix.min())
            oy = grid.y0 + cs * float(iy.min())
            tr = neighbour_pairs(x, y, t, cs, ox, oy, np.inf, float(self.time_cutoff), True, True)
        tr_ptr, tr_idx, tr_d2 = tr
        theta, omega, sigma, q = self._start(rows.index)
        q_new = np.empty(n)
        b = np.empty(n)
        tol = float(self.tol)
        converged = False
        it = 0

        def e_step(
            q: np.ndarray, theta: float, omega: float, sigma: float
        ) -> tuple[float, float, float, float]:
            """One E-step at (q, θ, ω, σ); writes the background weights to ``q_new``."""
            if self.background == "kde":
                kde_background(q, bg_ptr, bg_idx, bg_k, span, b)
            else:
                b[:] = np.bincount(square, weights=q)[square] / (span * cell_area)
            return em_step(t, b, tr_ptr, tr_idx, tr_d2, theta, omega, sigma, gaussian, cell_area, q_new)

        for it in range(1, int(self.max_iter) + 1):  # noqa: B007 - the count is reported
            s_p, s_pdt, s_pd2, _ = e_step(q, theta, omega, sigma)
            new_theta = min(max(s_p / n, self.THETA_BOUNDS[0]), self.THETA_BOUNDS[1])
            new_omega = (
                omega if s_pdt <= 0 else min(max(s_p / s_pdt, self.OMEGA_BOUNDS[0]), self.OMEGA_BOUNDS[1])
            )
            new_sigma = sigma
            if gaussian and s_p > 0:
                new_sigma = min(max(math.sqrt(s_pd2 / (2.0 * s_p)), float(self.sigma_min)), sigma_max)
            # ω and σ shape the triggered share of the events only (Σ p_ij / N): their relative change
            # counts in that proportion, or with θ near 0 they drift along a flat likelihood for hundreds of
            # iterations without changing the fit (Bogotá, docs/grid.md "SEPP")
            share = min(1.0, s_p / n)
            change = max(
                abs(new_theta - theta),  # θ is the share of triggered events, like the q_j: absolute
                share * abs(new_omega - omega) / omega,
                share * abs(new_sigma - sigma) / sigma,
                abs(q_new.sum() - q.sum()) / max(q.sum(), 1e-300),
                float(np.max(np.abs(q_new - q))),
            )
            theta, omega, sigma = new_theta, new_omega, new_sigma
            q, q_new = q_new, q
            if change <= tol:
                converged = True
                break
        # log-likelihood at the fitted parameters: Σ_j log λ_j − ∫∫ λ over the window (space integral of the
        # background and of the trigger = 1; the temporal trigger integral truncated at time_cutoff)
        loglik = e_step(q, theta, omega, sigma)[3]
        lag = np.minimum(-t, float(self.time_cutoff))
        loglik -= q.sum() + theta * float(np.sum(-np.expm1(-omega * lag)))
        self.bandwidth_ = h
        self.theta_ = float(theta)
        self.omega_ = float(omega)
        self.sigma_ = float(sigma) if gaussian else float("nan")
        self.mu_bar_ = float(q.sum() / span)
        self.q_ = pd.Series(q.copy(), index=rows.index, name="background_probability")
        self.time_resolution_ = resolution
        self.n_iter_ = int(it)
        self.converged_ = bool(converged)
        self.loglik_ = float(loglik)
        self.n_pairs_ = int(tr_idx.size)
        self._x, self._y, self._t = x, y, t
        self._finish(grid, until, n)
        if not converged:
            warnings.warn(
                f"SEPP: EM stopped at max_iter={self.max_iter} before meeting tol={self.tol} (window ending "
                f"{until:%Y-%m-%d}); raise max_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _parts(self, day: Any) -> tuple[np.ndarray, np.ndarray]:
        d = self._days_after_fit(day)
        grid = self.grid_
        rate = self.q_.to_numpy() / float(self.window_days)
        cell = None
        if self.background == "kde":
            background = kernel_cell_sum(self._x, self._y, rate, grid, self.bandwidth_)
        else:
            cell = grid.locate(self._x, self._y)
            background = np.bincount(cell[cell >= 0], weights=rate[cell >= 0], minlength=grid.n)
        w = self.theta_ * np.exp(-self.omega_ * (d - self._t)) * -math.expm1(-self.omega_)
        if self.trigger == "gaussian":
            excitation = kernel_cell_sum(self._x, self._y, w, grid, self.sigma_)
        else:
            cell = grid.locate(self._x, self._y) if cell is None else cell
            ok = cell >= 0
            excitation = np.bincount(cell[ok], weights=w[ok], minlength=grid.n)
        return background, excitation

    def predict(self, day: Any = None) -> pd.Series:
        """Expected incidents per cell on ``day`` (default: the day starting at ``until``)."""
        background, excitation = self._parts(day)
        return self._series(background + excitation)

    def decompose(self, day: Any = None) -> pd.DataFrame:
        """Background and self-excitation parts of each cell's forecast: why a cell is prioritised."""
        background, excitation = self._parts(day)
        return pd.DataFrame(
            {"background": background, "excitation": excitation, "intensity": background + excitation},
            index=pd.Index(self.cell_ids_, name="cell_id"),
        )

    description = ModelDescription(
        intent="Grid self-exciting point process (the PredPol family): a steady background plus short-lived "
        "excitation after each incident.",
        decides="Background density of each cell (fixed-bandwidth KDE) + Σ θ ω e^(−ω·age) over recent "
        "incidents (times a spatial kernel of width σ), fitted by expectation–maximisation.",
        inputs="Time and location of each incident in the window.",
        limitations=(
            "θ, ω and σ are shared by the whole city.",
            "EM may converge slowly or to a boundary value when the trigger is weak.",
        ),
        reference="Mohler et al. (2011), JASA 106:100; the PF/RAF grid study (docs/grid.md).",
    )


#: Grid models by the names used in evaluation configs and outputs (each with its card text:
#: :func:`~fairpatrol.models.base.model_registry`).
GRID_MODELS: dict[str, type[GridModel]] = model_registry(NaiveKDE, TimeSpaceKDE, SEPP)
