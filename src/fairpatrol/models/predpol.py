"""PredPol: one exponential Hawkes process per area, fitted by EM (Mohler et al. 2015; SPEC §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numba
import numpy as np
import pandas as pd

from fairpatrol.models._hawkes import (
    OMEGA_BOUNDS,
    THETA_BOUNDS,
    area_major,
    em_workspace,
    hawkes_em,
    hawkes_em_runs,
    hawkes_forecast,
    hawkes_loglik,
)
from fairpatrol.models.base import DAY, AreaModel, ModelState, days_since

if TYPE_CHECKING:
    from fairpatrol.data import Areas
    from fairpatrol.sim.prepare import SimData


def extrapolated_start(
    current: tuple[np.ndarray, np.ndarray, np.ndarray],
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warm-start point for today's EM: yesterday's fit x_{d−1} moved on by its last daily change.

    x_start = x_{d−1} · x_{d−1} / x_{d−2} (a linear step in log space, per parameter; clipped to the
    parameter bounds; μ of an area that was inactive on either day is not extrapolated). The feedback
    loop moves the fit steadily day after day, so this start is closer to today's optimum than
    yesterday's fit and EM needs fewer iterations. Only the starting point changes: the fixed point and
    the stopping rule are those of a plain warm start.
    """
    theta, omega, mu = (np.array(v, dtype=float, copy=True) for v in current)
    if previous is None:
        return theta, omega, mu
    p_theta, p_omega, p_mu = (np.asarray(v, dtype=float) for v in previous)
    theta = np.clip(theta * theta / p_theta, *THETA_BOUNDS)
    omega = np.clip(omega * omega / p_omega, *OMEGA_BOUNDS)
    ok = (mu > 0) & (p_mu > 0)
    mu = np.where(ok, mu * mu / np.where(ok, p_mu, 1.0), mu)
    return theta, omega, mu


class PredPol(AreaModel):
    """Per-area self-exciting point process with shared trigger, after Mohler et al. (2015, JASA 110:1399).

    λ_n(t) = μ_n + Σ_{t_i < t, i ∈ n} θ ω e^{−ω (t − t_i)}, time in days: θ is the expected number of
    offspring per event, ω the decay rate per day (mean trigger delay 1/ω days) and μ_n the background rate
    of area n per day. Fitted by EM on the incidents of the last ``window_days`` days before ``until``
    with the causal O(events) E-step of :mod:`fairpatrol.models._hawkes`; the EM stops when every parameter's
    relative change is at most ``tol`` or after ``max_iter`` iterations (``converged_`` says which).
    The forecast is the intensity integrated over the day starting at ``until``.

    Parameters
    ----------
    window_days : training window (days before ``until``), 365 as in the study.
    theta0, omega0 : starting values for a cold start (θ, ω per day); μ starts at each area's count / T.
    tol : relative tolerance on every parameter.
    max_iter : cap on EM-map evaluations.
    accelerate : Anderson acceleration of the EM map, with SQUAREM after 20 evaluations (same fixed
        point and stopping rule, several times fewer iterations when EM crawls); False gives plain EM.
    warm_start : refit from the previous fit instead of the starting values, as the simulation does
        every day: from the last fit moved on by its last change (:func:`extrapolated_start`) once two
        fits exist.
    """

    diagnostic_columns = ("theta", "omega", "em_iterations", "em_converged")

    def __init__(
        self,
        window_days: int = 365,
        theta0: float = 0.2,
        omega0: float = 1.0,
        tol: float = 1e-4,
        max_iter: int = 1000,
        accelerate: bool = True,
        warm_start: bool = False,
    ) -> None:
        self.window_days = window_days
        self.theta0 = theta0
        self.omega0 = omega0
        self.tol = tol
        self.max_iter = max_iter
        self.accelerate = accelerate
        self.warm_start = warm_start

    def _check(self) -> None:
        if not (0 < self.theta0 < 1):
            raise ValueError(f"theta0 must be in (0, 1), got {self.theta0}")
        if not self.omega0 > 0:
            raise ValueError(f"omega0 must be positive, got {self.omega0}")
        if not self.window_days >= 1:
            raise ValueError(f"window_days must be ≥ 1, got {self.window_days}")

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
        t = days_since(rows["time"], until)
        order = np.lexsort((idx, t))
        t, idx, w = t[order], idx[order], w[order]
        start = -float(self.window_days)
        if observed_from is not None:
            start = max(start, (pd.Timestamp(observed_from) - until) / DAY)
        span = -start
        m = len(ids)
        if self.warm_start and hasattr(self, "mu_") and len(self.mu_) == m:
            current = (self.theta_, self.omega_, self.mu_.to_numpy(dtype=float))
            th, om, mu = extrapolated_start(current, getattr(self, "_previous_fit", None))
            theta, omega = float(th), float(om)
            self._previous_fit = current
        else:
            self._previous_fit = None
            theta, omega = float(self.theta0), float(self.omega0)
            mu = np.bincount(idx, weights=w, minlength=m) / span
        ts, ws, starts = area_major(t, w, idx, m)
        theta, omega, n_iter, conv = hawkes_em(
            ts, ws, starts, span, theta, omega, mu, float(self.tol), int(self.max_iter), bool(self.accelerate)
        )
        self.area_ids_ = ids
        self.theta_ = float(theta)
        self.omega_ = float(omega)
        self.mu_ = pd.Series(mu, index=pd.Index(ids, name="area_id"), name="mu")
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(conv)
        self.until_ = until
        self.n_events_ = len(t)
        self.loglik_ = float(hawkes_loglik(ts, ws, starts, start, 0.0, theta, omega, mu))
        self._times = ts
        self._weights = ws
        self._starts = starts
        return self

    def predict(self, day: Any = None) -> pd.Series:
        """Expected incidents per area on ``day`` (default: the day starting at ``until``)."""
        day = self.until_ if day is None else pd.Timestamp(day)
        t_from = (day - self.until_) / DAY
        if t_from < 0:
            raise ValueError(
                f"cannot predict {day:%Y-%m-%d}: the model was trained up to {self.until_:%Y-%m-%d}"
            )
        out = np.empty((1, len(self.area_ids_)))
        hawkes_forecast(
            self._times,
            self._weights.astype(np.float32).reshape(-1, 1),
            self._starts,
            float(t_from),
            np.array([self.theta_]),
            np.array([self.omega_]),
            self.mu_.to_numpy(dtype=float).reshape(1, -1),
            out,
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


class PredPolState(ModelState):
    """All runs' PredPol fits, refitted by warm-started EM every simulated day, runs in SIMD lanes.

    The state keeps every event's learning weight per run in area-major order (events × runs, updated by
    :meth:`learn`), so each day's EM reads the window of each area as one contiguous block and advances
    all runs together (:func:`~fairpatrol.models._hawkes.hawkes_em_runs`). Day 0's training data is the
    shared history, identical for every run, so its cold-start fit is done once and copied; from day 1 on
    each run refits from its own previous day's parameters.
    """

    def __init__(self, model: PredPol, data: SimData, weights: np.ndarray) -> None:
        self.model = model
        self.data = data
        self.weights = weights
        r, m = weights.shape[0], data.n_areas
        self.theta = np.full(r, float(model.theta0))
        self.omega = np.full(r, float(model.omega0))
        self.mu = np.empty((r, m))
        self.n_iter = np.zeros(r, dtype=np.int64)
        self.converged = np.zeros(r, dtype=np.bool_)
        # all events area by area, time-ordered within an area (events are stored time-sorted)
        self.perm = np.argsort(data.area, kind="stable")
        self.rank = np.empty_like(self.perm)
        self.rank[self.perm] = np.arange(len(self.perm))
        self.area_start = np.searchsorted(data.area[self.perm], np.arange(m + 1))
        self.lanes = np.ascontiguousarray(weights[:, self.perm].T, dtype=np.float32)
        self._started = False
        self._previous_fit: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._work: list[tuple[np.ndarray, np.ndarray]] | None = None

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:
        self.lanes[self.rank[lo:hi]] += new.T

    def forecast(self, day: int) -> np.ndarray:
        d = self.data
        w = int(self.model.window_days)
        span = d.span(day, w)
        perm_t = d.times[self.perm] - day  # relative to the day being forecast, as in PredPol.fit
        bounds = np.array([-float(w), 0.0])
        klo = np.empty(d.n_areas, dtype=np.int64)
        khi = np.empty(d.n_areas, dtype=np.int64)
        for a in range(d.n_areas):
            s0, s1 = self.area_start[a], self.area_start[a + 1]
            klo[a], khi[a] = s0 + np.searchsorted(perm_t[s0:s1], bounds, side="left")
        out = np.empty((self.weights.shape[0], d.n_areas))
        rows = slice(None) if self._started else slice(0, 1)
        if self._started:  # warm start, extrapolated once two fits exist (as PredPol.fit with warm_start)
            current = (self.theta.copy(), self.omega.copy(), self.mu.copy())
            th, om, mu = extrapolated_start(current, self._previous_fit)
            self.theta[:], self.omega[:], self.mu[:] = th, om, mu
            self._previous_fit = current
        if not self._started:  # cold start on the shared history: one fit, copied to every run
            lo, hi = d.window(day, w)
            self.mu[0] = (
                np.bincount(d.area[lo:hi], weights=self.weights[0, lo:hi], minlength=d.n_areas) / span
            )
        lanes = self.lanes if self._started else np.ascontiguousarray(self.lanes[:, :1])
        n_chunks = max(1, min(numba.get_num_threads(), lanes.shape[1]))
        if self._started and self._work is None:  # the largest window of the simulation, once
            longest = max(np.subtract(*d.window(x, w)[::-1]) for x in range(d.n_days + 1))
            self._work = em_workspace(int(longest), lanes.shape[1], n_chunks)
        hawkes_em_runs(
            perm_t,
            lanes,
            klo,
            khi,
            n_chunks,
            0.0,
            span,
            self.theta[rows],
            self.omega[rows],
            self.mu[rows],
            float(self.model.tol),
            int(self.model.max_iter),
            bool(self.model.accelerate),
            out[rows],
            self.n_iter[rows],
            self.converged[rows],
            self._work if self._started else None,
        )
        if not self._started:
            for arr in (self.theta, self.omega, self.mu, out, self.n_iter, self.converged):
                arr[1:] = arr[0]
            self._started = True
        return out

    def diagnostics(self) -> dict[str, np.ndarray]:
        return {
            "theta": self.theta.copy(),
            "omega": self.omega.copy(),
            "em_iterations": self.n_iter.copy(),
            "em_converged": self.converged.copy(),
        }
