"""PredPol: one exponential Hawkes process per area (Mohler et al. 2015), fitted by maximum likelihood."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from fairpatrol.data.dates import EPOCH, at_midnight, within_day_offsets
from fairpatrol.errors import ConvergenceWarning
from fairpatrol.models._hawkes import (
    OMEGA_BOUNDS,
    STANDARD_RULE,
    THETA_BOUNDS,
    WIDTH,
    area_major,
    by_lane,
    em_rule,
    empty_areas_stay_zero,
    fit_outputs,
    hawkes_fit_cold,
    hawkes_fit_lanes,
    hawkes_fit_runs,
    hawkes_forecast,
    n_blocks,
    pack,
    unpack,
    window_bounds,
)
from fairpatrol.models.base import DAY, AreaModel, Interval, ModelState, Options, days_since, naive_timestamp
from fairpatrol.models.describe import (
    FEEDBACK_LOOP,
    AreaExplanation,
    Evidence,
    ForecastExplanation,
    ModelDescription,
)
from fairpatrol.threads import kernel_threads

_DAY_NS = 86_400_000_000_000

#: The published code's parametrisation (Semsar et al. 2026; ``authors_code.md`` §3), ``units="hour"``:
#: θ clipped to these bounds, ω to these per hour, and ε = AUTHORS_EPS / T added to every μ_n.
AUTHORS_THETA_BOUNDS = (1e-5, 0.9)
AUTHORS_OMEGA_BOUNDS_PER_HOUR = (0.0005, 600.0)
AUTHORS_EPS = 0.01


def reversed_order(starts: np.ndarray) -> np.ndarray:
    """The permutation that reverses the events of each area of an area-major list (``starts``: the areas'
    boundaries): the order of the transposed E-step (:class:`PredPol`, ``e_step="transposed"``)."""
    starts = np.asarray(starts, dtype=np.int64)
    sizes = np.diff(starts)
    first = np.repeat(starts[:-1], sizes)
    last = np.repeat(starts[1:] - 1, sizes)
    p = np.arange(starts[-1], dtype=np.int64)
    return first + last - p


def active_day_means(t: np.ndarray, w: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per area of an area-major list (times ``t`` in days): its weight per day that has any, 0 without
    events (the published code's starting background, before ε and normalisation)."""
    n_areas = len(starts) - 1
    area = np.repeat(np.arange(n_areas), np.diff(starts))
    has = w > 0
    key = area[has] * 1_000_000 + np.floor(t[has] + 1e-9).astype(np.int64)
    days = np.bincount(area[has][np.unique(key, return_index=True)[1]], minlength=n_areas)
    total = np.bincount(area, weights=w, minlength=n_areas)
    return np.divide(total, days, out=np.zeros(n_areas), where=days > 0)


def offset_ns(u: np.ndarray) -> np.ndarray:
    """Within-day offsets (fractions of a day) in whole nanoseconds, the resolution of timestamps."""
    return np.round(np.asarray(u, dtype=np.float64) * _DAY_NS).astype(np.int64)


if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.sim.prepare import SimData


def extrapolated_start(
    current: tuple[ArrayLike, ArrayLike, ArrayLike],
    previous: tuple[ArrayLike, ArrayLike, ArrayLike] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warm-start point for today's fit: yesterday's fit x_{d−1} with θ and ω moved on by their last
    daily change.

    θ_start = θ_{d−1} · θ_{d−1} / θ_{d−2} and likewise ω (a linear step in log space, clipped to the
    bounds); μ stays yesterday's, and the fit scales each μ_n by the change of its area's count and of the
    window's span (:func:`~fairpatrol.models._hawkes.hawkes_fit_lanes`). The feedback loop moves θ and ω
    steadily day after day, so this start is closer to today's maximum than yesterday's fit. Only the
    starting point changes: the maximum and the stopping rule are those of a plain warm start.
    """
    theta, omega, mu = (np.array(v, dtype=float, copy=True) for v in current)
    if previous is None:
        return theta, omega, mu
    p_theta, p_omega = (np.asarray(v, dtype=float) for v in previous[:2])
    theta = np.clip(theta * theta / p_theta, *THETA_BOUNDS)
    omega = np.clip(omega * omega / p_omega, *OMEGA_BOUNDS)
    return theta, omega, mu


class PredPol(AreaModel):
    """Per-area self-exciting point process with shared trigger, after Mohler et al. (2015, JASA 110:1399).

    λ_n(t) = μ_n + Σ_{t_i < t, i ∈ n} θ ω e^{−ω (t − t_i)}, time in days: θ is the expected number of
    offspring per event, ω the decay rate per day (mean trigger delay 1/ω days) and μ_n the background rate
    of area n per day. Fitted on the incidents of the last ``window_days`` days before ``until`` by
    maximising the log-likelihood of Mohler et al.'s EM (offspring counted in full, no edge correction;
    :mod:`fairpatrol.models._hawkes`), with the O(events) recursion of the exponential kernel. The
    forecast is the intensity integrated over the day starting at ``until``.

    Parameters
    ----------
    window_days : training window (days before ``until``), 365 as in the study.
    theta0, omega0 : starting values for a cold start (θ, ω per day); μ starts at each area's count / T.
        A cold start also tries ω0 × 10, ω0 / 10 and ω0 × 100 and keeps the most likely fit: the
        likelihood can have more than one maximum (:func:`~fairpatrol.models._hawkes.hawkes_fit_cold`).
    tol : relative tolerance. ``solver="newton"`` stops when a Newton step changes every parameter by at
        most ``tol`` relative, or when the steps contract quadratically and the error left after the last
        one is estimated at most ``tol``; ``solver="em"`` stops when one EM step changes every parameter
        by at most ``tol`` (EM's rule, which leaves its slow linear convergence up to about 1 % short
        of the maximum: docs/engine.md).
    max_iter : cap on passes over the data (Newton or EM steps).
    solver : "newton" (default): Newton's method with the exact gradient and Hessian, safeguarded so that
        the likelihood never decreases (a step that would lower it is shortened, and an EM step taken
        where shortening fails or the Hessian is not negative definite: docs/engine.md). About 2 passes
        per warm-started daily refit, and far closer to the maximum-likelihood estimate. "em": the EM
        iteration of Mohler et al. (2015) alone (the reference).
    warm_start : refit from the previous fit instead of the starting values, as the simulation does
        every day: from the last fit moved on by its last change (:func:`extrapolated_start`) once two
        fits exist.
    time_resolution : "auto" (default), "exact" or "day". Date-only incidents (every time at midnight:
        "auto" decides on the window's times, "day" forces it) are placed at a reproducible uniform time
        of their day (:func:`fairpatrol.data.dates.within_day_offsets` of the day, the incident's
        ``incident_id`` or else its area, and ``random_state``), so that events of one day can excite each
        other at the delays the placement gives, never through a zero delay, and an event keeps its time
        in every window and run (docs/methods.md, "Date-only incidents"). "exact" takes the times as
        given: events at one recorded time do not excite each other.
    random_state : seed of the within-day placement.

    The published study's PredPol (Semsar et al. 2026, ``authors_code.md`` §3; docs/paper-compat.md), each
    quirk a setting, all off by default (``compat: semsar2026`` turns them on in a scenario):

    e_step : "causal" (default) or "transposed": each event's parents are the *later* events of its area
        (the published code summed the E-step over the wrong axis); fitted as the causal EM on the
        events in reverse order, which is what that E-step computes. The forecast stays causal.
    units : "day" (default) or "hour": the published code's parametrisation in hours: ``omega0`` per
        hour, the starting background of each area its events per day with any (μ_n, plus ε, normalised
        to Σ μ = 1 per hour), θ clipped to [1e-5, 0.9] and ω to [0.0005, 600] per hour, ε = 0.01 / T
        added to every μ_n after each EM step, one starting point. Fits are reported per day.
    warm_mu : "scaled" (default: μ_n follows its area's count, θ and ω extrapolated) or "renormalised":
        a warm start from yesterday's θ and ω with μ renormalised to Σ μ = 1 per time unit (+ ε), which
        throws the fitted scale away.
    stopping : "relative" (default) or "absolute": stop when θ, ω and every μ_n change by at most ``tol``
        in absolute terms, in the model's time unit (EM only: ``solver="em"``).
    forecast : "day" (default: the intensity integrated over the day) or "midnight": the intensity at the
        start of the day.

    Attributes
    ----------
    theta_, omega_ : float
        Fitted θ (offspring per event) and ω (per day).
    mu_ : pandas.Series
        Fitted background rate per area per day, indexed by ``area_id``; ``area_ids_`` (ndarray of str)
        the areas in that order.
    n_iter_ : int
        Passes over the data the fit took.
    converged_ : bool
        Whether it met ``tol`` within ``max_iter`` (a :class:`~fairpatrol.errors.ConvergenceWarning`
        otherwise).
    loglik_ : float
        The maximised log-likelihood at the fit.
    until_ : pandas.Timestamp
        The end of the training window (exclusive); ``n_events_`` (int) the incidents in it and ``span_``
        (float) its observed length T in days.
    time_resolution_ : str
        "exact" or "day", as applied to the window.

    Examples
    --------
    >>> from fairpatrol.synthetic import simulate_area_hawkes
    >>> events = simulate_area_hawkes([0.1] * 20, theta=0.5, omega=0.5, days=730, seed=1)
    >>> model = PredPol(window_days=730).fit(events)
    >>> round(model.theta_, 1), model.converged_
    (0.5, True)
    """

    diagnostic_columns = ("theta", "omega", "em_iterations", "em_converged")
    #: Allowed settings (checked by fit, make_state and the config validators).
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "window_days": [Interval(Integral, 1, 3650)],
        "theta0": [Interval(Real, 0, 1, closed="neither")],
        "omega0": [Interval(Real, OMEGA_BOUNDS[0], OMEGA_BOUNDS[1])],
        "tol": [Interval(Real, 0, 1, closed="neither")],
        "max_iter": [Interval(Integral, 1, 100_000)],
        "solver": [Options({"newton", "em"})],
        "warm_start": ["boolean"],
        "time_resolution": [Options({"auto", "exact", "day"})],
        "random_state": [Interval(Integral, 0, None)],
        "e_step": [Options({"causal", "transposed"})],
        "units": [Options({"day", "hour"})],
        "warm_mu": [Options({"scaled", "renormalised"})],
        "stopping": [Options({"relative", "absolute"})],
        "forecast": [Options({"day", "midnight"})],
    }
    # fitted state (set by fit; declared for the type checker, a warm start reads the previous fit's)
    theta_: float
    omega_: float
    mu_: pd.Series
    span_: float
    _area_w: np.ndarray
    _previous_fit: tuple[float, float, np.ndarray] | None

    def __init__(
        self,
        *,
        window_days: int = 365,
        theta0: float = 0.2,
        omega0: float = 1.0,
        tol: float = 1e-4,
        max_iter: int = 1000,
        solver: str = "newton",
        warm_start: bool = False,
        time_resolution: str = "auto",
        random_state: int = 0,
        e_step: str = "causal",
        units: str = "day",
        warm_mu: str = "scaled",
        stopping: str = "relative",
        forecast: str = "day",
    ) -> None:
        self.window_days = window_days
        self.theta0 = theta0
        self.omega0 = omega0
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.warm_start = warm_start
        self.time_resolution = time_resolution
        self.random_state = random_state
        self.e_step = e_step
        self.units = units
        self.warm_mu = warm_mu
        self.stopping = stopping
        self.forecast = forecast

    def _check(self) -> None:
        super()._check()
        # the published code's ε step and absolute stopping are rules of its EM map, not of the likelihood
        # that Newton's method maximises: with Newton they would silently not apply
        for field, value in (("stopping", "absolute"), ("units", "hour")):
            if getattr(self, field) == value and self.solver != "em":
                from fairpatrol.errors import ConfigError

                raise ConfigError(
                    f"{value} is a rule of the published code's EM; it needs solver: em",
                    source=type(self).__name__,
                    field=field,
                )

    # -- the settings as the kernels take them
    def _solver_args(self, span: float | None = None) -> dict[str, Any]:
        return {
            "solver": self.solver,
            "tol": float(self.tol),
            "max_iter": int(self.max_iter),
            "rule": self._rule(span),
            "horizon": self._horizon,
        }

    @property
    def _per_day(self) -> float:
        """Time units per day (24 with ``units="hour"``)."""
        return 24.0 if self.units == "hour" else 1.0

    @property
    def _horizon(self) -> float:
        return 0.0 if self.forecast == "midnight" else 1.0

    def _rule(self, span: float | None) -> np.ndarray:
        """The EM step's rule (:func:`~fairpatrol.models._hawkes.em_rule`) for a window of ``span`` days."""
        if self.units == "day" and self.stopping == "relative":
            return STANDARD_RULE
        hour = self.units == "hour"
        lo, hi = AUTHORS_OMEGA_BOUNDS_PER_HOUR
        om = (lo * 24.0, hi * 24.0) if hour else OMEGA_BOUNDS
        return em_rule(
            theta_bounds=AUTHORS_THETA_BOUNDS if hour else THETA_BOUNDS,
            omega_bounds=om,
            mu_eps=self._eps(span) if hour else 0.0,
            absolute=self.stopping == "absolute",
            units_per_day=self._per_day,
        )

    def _eps(self, span: float | None) -> float:
        """ε = 0.01 / T in the published code (T in hours, μ per hour): 0.01 / T per day for T in days."""
        return AUTHORS_EPS / span if self.units == "hour" and span else 0.0

    def _omega0(self) -> float:
        """The starting ω per day."""
        return float(self.omega0) * self._per_day

    def _renormalised(self, mu: np.ndarray, span: float) -> np.ndarray:
        """μ renormalised to sum to 1 per time unit, plus ε (per day), row by row (``warm_mu``)."""
        mu = np.atleast_2d(np.asarray(mu, dtype=float))
        total = mu.sum(axis=1, keepdims=True)
        unit = np.divide(mu, total, out=np.zeros_like(mu), where=total > 0) + self._eps(span) / self._per_day
        return unit * self._per_day

    def _resolution(self, times: np.ndarray) -> str:
        """'day' or 'exact' for event times in days (``time_resolution``)."""
        if self.time_resolution != "auto":
            return self.time_resolution
        return "day" if len(times) and bool(at_midnight(times).all()) else "exact"

    def _offsets(self, day: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Within-day offsets in ns of events on absolute ``day`` (days since the epoch) with ``keys``."""
        keys = np.asarray(keys)
        keys = keys.astype(object) if keys.dtype.kind in "OUS" else keys
        return offset_ns(within_day_offsets(day, keys, seed=int(self.random_state)))

    def _cold_fit(
        self, t: np.ndarray, w: np.ndarray, starts: np.ndarray, span: float
    ) -> dict[str, np.ndarray]:
        """The cold-start fit of one weighted area-major series (times ``t`` in days before the forecast
        day), as :meth:`fit` and the simulation's first day do it; the forecast of the day at 0."""
        m = len(starts) - 1
        ft, fw = self._fit_order(t, w, starts)
        if self.units == "hour":  # the published code's single start: per-active-day means + ε, Σ = 1
            base = active_day_means(t, w, starts) + self._eps(span) / self._per_day
            mu = self._per_day * base / base.sum()
            point = (np.array([float(self.theta0)]), np.array([self._omega0()]), mu.reshape(1, -1))
            fit = hawkes_fit_lanes(
                ft, fw.reshape(-1, 1), starts, span, *point, evaluate=True, **self._solver_args(span)
            )
        else:
            mu = np.bincount(np.repeat(np.arange(m), np.diff(starts)), weights=w, minlength=m) / span
            fit = hawkes_fit_cold(
                ft, fw, starts, span, self.theta0, self._omega0(), mu, **self._solver_args(span)
            )
        if self.e_step == "transposed":  # the forecast stays causal: on the events in time order
            fit["forecast"] = hawkes_forecast(
                t, w.reshape(-1, 1), starts, fit["theta"], fit["omega"], fit["mu"], horizon=self._horizon
            )
        return fit

    def _fit_order(self, t: np.ndarray, w: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The area-major series the E-step runs on: as given, or reversed in time (``e_step``)."""
        if self.e_step != "transposed":
            return t, w
        rev = reversed_order(starts)
        return -t[rev], w[rev]

    def fit(
        self,
        incidents: pd.DataFrame,
        *,
        until: Any = None,
        areas: Areas | None = None,
        observed_from: Any = None,
        sample_weight: Any = None,
    ) -> Self:
        """Fit on ``incidents`` (columns ``time``, ``area_id``) before ``until``.

        ``observed_from`` is the first day the data covers when it starts inside the window (T is then the
        observed span); by default the window is taken as fully observed. ``sample_weight`` (or a
        ``weight`` column) makes an incident count that many times (weighted likelihood); weights are
        held in single precision (7 significant digits), like the simulation's learning weights.
        """
        self._check()
        rows, until, ids, idx, w = self._prepare_fit(incidents, until, areas, self.window_days, sample_weight)
        times = rows["time"]
        day = days_since(times, EPOCH)
        self.time_resolution_ = self._resolution(day)
        if self.time_resolution_ == "day":  # date-only: each event at its reproducible time of day
            keys = rows["incident_id"].to_numpy() if "incident_id" in rows else idx
            times = times.dt.floor("D")  # "day" on timed data: each event at its date
            day = np.round(days_since(times, EPOCH))
            times = times + pd.to_timedelta(self._offsets(day, keys), unit="ns")
        t = days_since(times, until)
        order = np.lexsort((idx, t))
        t, idx, w = t[order], idx[order], w[order]
        start = -float(self.window_days)
        if observed_from is not None:
            start = max(start, (naive_timestamp(observed_from) - until) / DAY)
        span = -start
        m = len(ids)
        ts, ws, starts = area_major(t, w, idx, m)
        if self.warm_start and hasattr(self, "mu_") and len(self.mu_) == m:
            current = (self.theta_, self.omega_, self.mu_.to_numpy(dtype=float))
            if self.warm_mu == "renormalised":  # the published code: yesterday's θ and ω, μ renormalised
                th, om = np.asarray(current[0]), np.asarray(current[1])
                mu = self._renormalised(current[2], span)[0]
                before: dict[str, Any] = {}
            else:
                th, om, mu = extrapolated_start(current, getattr(self, "_previous_fit", None))
                before = {"area_w": self._area_w[None], "span_before": self.span_}  # the last fit's window
            self._previous_fit = current
            ft, fw = self._fit_order(ts, ws, starts)
            fit = hawkes_fit_lanes(
                ft,
                fw.reshape(-1, 1),
                starts,
                span,
                np.array([th]),
                np.array([om]),
                mu.reshape(1, -1),
                evaluate=True,
                **before,
                **self._solver_args(span),
            )
        else:
            self._previous_fit = None
            fit = self._cold_fit(ts, ws, starts, span)
        self.area_ids_ = ids
        self.theta_ = float(fit["theta"][0])
        self.omega_ = float(fit["omega"][0])
        self.mu_ = pd.Series(fit["mu"][0], index=pd.Index(ids, name="area_id"), name="mu")
        self.n_iter_ = int(fit["n_iter"][0])
        self.converged_ = bool(fit["converged"][0])
        self.until_ = until
        self.n_events_ = len(t)
        self.span_ = span
        self.loglik_ = float(fit["loglik"][0])
        self._area_w = fit["area_w"][0]
        self._times = ts
        self._weights = ws.astype(np.float32)
        self._starts = starts
        if not self.converged_:
            warnings.warn(
                f"PredPol: the {self.solver} fit stopped at max_iter={self.max_iter} before meeting "
                f"tol={self.tol} (window ending {until:%Y-%m-%d}); raise max_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def predict(self, day: Any = None) -> pd.Series:
        """Expected incidents per area on ``day`` (default: the day starting at ``until``)."""
        t_from = self._days_after_fit(day)
        out = hawkes_forecast(
            self._times,
            self._weights.reshape(-1, 1),
            self._starts,
            np.array([self.theta_]),
            np.array([self.omega_]),
            self.mu_.to_numpy(dtype=float)[None],
            float(t_from),
            horizon=self._horizon,
        )
        return self._series(out[0])

    def decompose(self, day: Any = None) -> pd.DataFrame:
        """Background (μ_n) and self-excitation parts of each area's forecast: what drove its intensity."""
        total = self.predict(day)
        background = self.mu_.to_numpy(dtype=float)
        return pd.DataFrame(
            {
                "background": background,
                "excitation": total.to_numpy() - background,
                "intensity": total.to_numpy(),
            },
            index=total.index,
        )

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        self._check()
        return PredPolState(self, data, weights)

    description = ModelDescription(
        intent="Forecast tomorrow's incidents per area so that patrols go where crime is expected "
        "(commercial 'predictive policing', PredPol / Geolitica).",
        decides="Each area has a steady background rate; every recorded incident raises the area's "
        "expected crime for a few days (self-excitation, like aftershocks). Officers are sent in "
        "proportion to the forecast.",
        inputs="Time and area of each recorded incident in the last year (no coordinates, no people).",
        limitations=(
            FEEDBACK_LOOP,
            "Self-excitation makes the response to new records fast, so the loop can amplify quickly.",
            "One trigger strength θ and decay ω shared by every area; the background can only change as "
            "fast as the one-year window moves.",
            "Predicts recorded crime, not crime: areas where crime is rarely reported or detected look safe.",
        ),
        reference="Mohler et al. (2015), Randomized controlled field trials of predictive policing, JASA "
        "110:1399.",
    )

    def explain(self, evidence: Evidence, order: np.ndarray) -> ForecastExplanation:
        """Expected incidents of area n on [t, t+1) = μ_n (background) + Σ_i θ (1 − e^{−ω}) e^{−ω (t − t_i)}
        over the area's learned incidents i of the window (recent self-excitation, one term per incident;
        Mohler et al. 2015)."""
        from fairpatrol.formatting import number

        theta, omega = self.theta_, self.omega_
        rows = evidence.rows
        lag = ((evidence.until - rows["time"]) / DAY).to_numpy(dtype=float)
        # each incident's term of the forecast: integrated over the day, or the intensity at midnight
        term = theta * (1.0 - np.exp(-omega)) if self._horizon else theta * omega
        contrib = evidence.weights() * term * np.exp(-omega * lag)
        background = self.decompose(evidence.until)["background"]
        explained = []
        for a in order:
            own = evidence.area_idx == a
            parts = {"background": float(background.iloc[a]), "recent": float(contrib[own].sum())}
            top = evidence.top_contributions(contrib[own], rows.loc[own], sum(parts.values()))
            explained.append(AreaExplanation(evidence.areas.ids[a], 0.0, 0, parts, int(own.sum()), top))
        adds = "θ(1 − e^(−ω)) e^(−ω·age)" if self._horizon else "θω e^(−ω·age) (the intensity at midnight)"
        method = (
            "PredPol's forecast = background rate μ of the area (its long-run level over the last "
            f"{self.window_days} days) + recent self-excitation: each past incident in the area adds "
            f"{adds} with θ = {number(theta, 3)} and ω = {number(omega, 3)} per day (half "
            f"of an incident's effect fades in {number(np.log(2) / omega, 3)} days)."
        )
        params = {
            "θ (offspring per event)": theta,
            "ω (decay per day)": omega,
            "EM iterations": self.n_iter_,
            "EM converged": self.converged_,
        }
        labels = {"background": "background μ", "recent": "recent incidents"}
        return ForecastExplanation(method, labels, params, explained)


class PredPolState(ModelState):
    """All runs' PredPol fits, refitted every simulated day from the previous day's fit, runs in SIMD lanes.

    The state keeps every event's learning weight per run in area-major order, in blocks of ``WIDTH``
    runs (blocks × events × ``WIDTH``, updated by :meth:`learn`), so each day's fit reads the window of
    each area as one contiguous stretch and advances a block's runs together with vector instructions
    (:func:`~fairpatrol.models._hawkes.hawkes_fit_runs`; blocks run on the fit threads, each taken by
    the next thread free, those that needed the most passes the day before first). Day 0's training data
    is the shared history, identical for every run, so its cold-start fit is done once and copied; from
    day 1 on each run refits from its own previous fit.
    """

    def __init__(self, model: PredPol, data: SimData, weights: np.ndarray) -> None:
        self.model = model
        self.data = data
        self.weights = weights
        r, m = weights.shape[0], data.n_areas
        self.theta = np.full(r, float(model.theta0))
        self.omega = np.full(r, model._omega0())
        self.mu = np.zeros((r, m))
        self.n_iter = np.zeros(r, dtype=np.int64)
        self.converged = np.zeros(r, dtype=np.bool_)
        self.counts = np.zeros((r, 2), dtype=np.int64)  # Newton steps, EM steps in their place
        # event times in whole nanoseconds, as PredPol.fit sees them (timestamps), so that each day's times
        # relative to the forecast day are bit for bit those of a fit on the run's incidents; date-only
        # events placed within their day as PredPol.fit places them (by the day and the incident id)
        # (in ns whatever the times: pandas 3 reads whole days as microseconds, which scaled date-only data
        # down by 1000 here: every event within 9 hours of the forecast)
        ns = pd.to_timedelta(data.times, unit="D").as_unit("ns").asi8
        self.time_resolution_ = model._resolution(data.times)
        if self.time_resolution_ == "day":  # each event at its date (data.start is a midnight), then placed
            day = np.floor(np.round(data.times, 9))
            ns = (day * _DAY_NS).astype(np.int64) + model._offsets(
                day + (data.start - EPOCH) / DAY, data.incident_id
            )
        # all events area by area, time-ordered within an area
        self.perm = np.lexsort((ns, data.area))
        self.rank = np.empty_like(self.perm)
        self.rank[self.perm] = np.arange(len(self.perm))
        self.area_start = np.searchsorted(data.area[self.perm], np.arange(m + 1))
        self._ns = ns[self.perm]
        # the transposed E-step fits the events of each area in reverse order (e_step="transposed")
        self._reverse = reversed_order(self.area_start) if model.e_step == "transposed" else None
        self.n_block = n_blocks(r)
        self.lanes = np.zeros((self.n_block, len(self.perm), WIDTH), dtype=np.float32)
        for b in range(self.n_block):  # block by block: a small transpose each
            k = min(WIDTH, r - b * WIDTH)
            self.lanes[b, :, :k] = weights[b * WIDTH : b * WIDTH + k, self.perm].T
        self.cost = np.ones(self.n_block)  # passes each block needed on the last day
        self.area_w = np.zeros((self.n_block, m + 1, WIDTH))  # the lanes' weights per area in the last window
        self._span = 0.0
        self._started = False
        self._previous_fit: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:
        padded = np.zeros((self.n_block * WIDTH, hi - lo), dtype=np.float32)
        padded[: new.shape[0]] = new
        self.lanes[:, self.rank[lo:hi], :] += padded.reshape(self.n_block, WIDTH, -1).transpose(0, 2, 1)

    def forecast(self, day: int) -> np.ndarray:
        d = self.data
        w = int(self.model.window_days)
        span = d.span(day, w)
        perm_t = (self._ns - day * _DAY_NS).astype(np.float64) / _DAY_NS  # days before the forecast day
        klo = np.empty(d.n_areas, dtype=np.int64)
        khi = np.empty(d.n_areas, dtype=np.int64)
        window_bounds(perm_t, self.area_start, -float(w), 0.0, klo, khi)
        r = self.weights.shape[0]
        model = self.model
        if not self._started:  # cold start on the shared history: one fit (as PredPol.fit), copied
            rows = np.concatenate([np.arange(klo[a], khi[a]) for a in range(d.n_areas)])
            starts = np.concatenate([[0], np.cumsum(khi - klo)])
            w0 = self.weights[0, self.perm[rows]]
            fit = model._cold_fit(perm_t[rows], w0, starts, span)
            self.theta[:], self.omega[:], self.mu[:] = fit["theta"][0], fit["omega"][0], fit["mu"][0]
            self.n_iter[:], self.converged[:] = fit["n_iter"][0], fit["converged"][0]
            self.counts[:] = fit["counts"][0]
            real = (np.arange(self.n_block * WIDTH) < r)[:, None]  # the runs' lanes (not the padding)
            per_lane = np.where(real, fit["area_w"][0][None, :], 0.0)
            self.area_w = np.ascontiguousarray(per_lane.reshape(self.n_block, WIDTH, -1).transpose(0, 2, 1))
            self._span = span
            self._started = True
            return np.repeat(fit["forecast"], r, axis=0)
        # warm start, θ and ω extrapolated once two fits exist, μ by the areas' counts (as PredPol.fit);
        # or the published code's: yesterday's θ and ω, μ renormalised (warm_mu="renormalised")
        current = (self.theta.copy(), self.omega.copy(), self.mu.copy())
        area_w = self.area_w
        if model.warm_mu == "renormalised":
            self.mu = model._renormalised(current[2], span)
            area_w = np.zeros_like(self.area_w)  # no scaling by the areas' counts
        else:
            self.theta, self.omega, self.mu = extrapolated_start(current, self._previous_fit)
        self._previous_fit = current
        nb = self.n_block
        rule = model._rule(span)
        # the fit runs on the areas with events in the window only (on a 150 m grid ≈ 57 % of the cells):
        # the others end every fit at μ = 0 with a forecast of exactly 0 and add nothing to any sum, so
        # leaving them out changes no number (docs/engine.md, "Areas without events in the window")
        m = d.n_areas
        active = np.flatnonzero(khi > klo) if empty_areas_stay_zero(rule) else np.arange(m)
        keep: np.ndarray | None = active if len(active) < m else None
        if keep is not None:
            klo, khi = klo[keep], khi[keep]
            area_w = np.ascontiguousarray(area_w[:, np.append(keep, m), :])
        x = pack(self.theta, self.omega, self.mu if keep is None else self.mu[:, keep], nb)
        out, n_iter, conv, counts, loglik = fit_outputs(nb, len(klo))
        solver = (model.solver == "newton", float(model.tol), int(model.max_iter), 0.0)
        kernel: dict[str, Any] = {"n_threads": kernel_threads(), "rule": rule, "horizon": model._horizon}
        fit_t, fit_lanes, fit_lo, fit_hi = perm_t, self.lanes, klo, khi
        if self._reverse is not None:  # the transposed E-step: each area's events in reverse order
            edge = self.area_start[:-1] + self.area_start[1:]
            if keep is not None:
                edge = edge[keep]
            fit_t, fit_lanes = -perm_t[self._reverse], np.ascontiguousarray(self.lanes[:, self._reverse, :])
            fit_lo, fit_hi = edge - khi, edge - klo
        hawkes_fit_runs(
            fit_t,
            fit_lanes,
            fit_lo,
            fit_hi,
            span,
            x,
            *solver,
            out,
            n_iter,
            conv,
            counts,
            loglik,
            False,
            area_w,
            self._span,
            cost=self.cost,
            **kernel,
        )
        if self._reverse is not None:  # ... and the causal forecast from the events in time order
            out = fit_outputs(nb, len(klo))[0]
            hawkes_fit_runs(
                perm_t,
                self.lanes,
                klo,
                khi,
                span,
                x.copy(),
                solver[0],
                solver[1],
                0,
                0.0,
                out,
                *fit_outputs(nb, len(klo))[1:],
                False,
                np.zeros_like(area_w),
                1.0,
                **kernel,
            )
        self._span = span
        self.cost = np.maximum(n_iter.max(axis=1), 1).astype(float)
        self.theta, self.omega, mu = unpack(x, r)
        self.n_iter = by_lane(n_iter, r)
        self.converged = by_lane(conv, r)
        self.counts = by_lane(counts, r)
        if keep is None:
            self.mu, self.area_w = mu, area_w
            return by_lane(out, r)
        self.mu = np.zeros((r, m))
        self.mu[:, keep] = mu
        self.area_w = np.zeros((nb, m + 1, WIDTH))
        self.area_w[:, keep] = area_w[:, :-1]
        self.area_w[:, m] = area_w[:, -1]
        forecast = np.zeros((r, m))
        forecast[:, keep] = by_lane(out, r)
        return forecast

    def diagnostics(self) -> dict[str, np.ndarray]:
        return {
            "theta": self.theta.copy(),
            "omega": self.omega.copy(),
            "em_iterations": self.n_iter.copy(),
            "em_converged": self.converged.copy(),
        }
