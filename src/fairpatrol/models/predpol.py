"""PredPol: one exponential Hawkes process per area, fitted by EM (Mohler et al. 2015; SPEC §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from fairpatrol.models._hawkes import hawkes_em, hawkes_em_batch, hawkes_forecast, hawkes_loglik
from fairpatrol.models.base import DAY, AreaModel, ModelState, days_since

if TYPE_CHECKING:
    from fairpatrol.data import Areas
    from fairpatrol.sim.prepare import SimData


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
    max_iter : iteration cap.
    warm_start : refit from the previous fit's (θ, ω, μ) instead of the starting values, as the
        simulation does every day.
    """

    def __init__(
        self,
        window_days: int = 365,
        theta0: float = 0.2,
        omega0: float = 1.0,
        tol: float = 1e-4,
        max_iter: int = 1000,
        warm_start: bool = False,
    ) -> None:
        self.window_days = window_days
        self.theta0 = theta0
        self.omega0 = omega0
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _check(self) -> None:
        if not (0 < self.theta0 < 1):
            raise ValueError(f"theta0 must be in (0, 1), got {self.theta0}")
        if not self.omega0 > 0:
            raise ValueError(f"omega0 must be positive, got {self.omega0}")
        if not self.window_days >= 1:
            raise ValueError(f"window_days must be ≥ 1, got {self.window_days}")

    def fit(self, incidents: pd.DataFrame, *, until: Any = None, areas: Areas | None = None,
            observed_from: Any = None) -> Self:
        """Fit on ``incidents`` (columns ``time``, ``area_id``) before ``until``.

        ``observed_from`` is the first day the data covers when it starts inside the window (T is then the
        observed span); by default the window is taken as fully observed.
        """
        self._check()
        rows, until, ids, idx = self._prepare_fit(incidents, until, areas, self.window_days)
        t = days_since(rows["time"], until)
        order = np.lexsort((idx, t))
        t, idx = t[order], idx[order]
        start = -float(self.window_days)
        if observed_from is not None:
            start = max(start, (pd.Timestamp(observed_from) - until) / DAY)
        span = -start
        m = len(ids)
        if self.warm_start and hasattr(self, "mu_") and len(self.mu_) == m:
            theta, omega, mu = float(self.theta_), float(self.omega_), self.mu_.to_numpy(dtype=float).copy()
        else:
            theta, omega = float(self.theta0), float(self.omega0)
            mu = np.bincount(idx, minlength=m).astype(float) / span
        theta, omega, n_iter, conv = hawkes_em(t, idx, m, span, theta, omega, mu, float(self.tol),
                                               int(self.max_iter))
        self.area_ids_ = ids
        self.theta_ = float(theta)
        self.omega_ = float(omega)
        self.mu_ = pd.Series(mu, index=pd.Index(ids, name="area_id"), name="mu")
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(conv)
        self.until_ = until
        self.n_events_ = len(t)
        self.loglik_ = float(hawkes_loglik(t, idx, m, start, 0.0, theta, omega, mu))
        self._times = t
        self._area = idx
        return self

    def predict(self, day: Any = None) -> pd.Series:
        """Expected incidents per area on ``day`` (default: the day starting at ``until``)."""
        day = self.until_ if day is None else pd.Timestamp(day)
        t_from = (day - self.until_) / DAY
        if t_from < 0:
            raise ValueError(f"cannot predict {day:%Y-%m-%d}: the model was trained up to {self.until_:%Y-%m-%d}")
        out = np.empty(len(self.area_ids_))
        hawkes_forecast(self._times, self._area, float(t_from), self.theta_, self.omega_,
                        self.mu_.to_numpy(dtype=float), out)
        return self._series(out)

    def decompose(self, day: Any = None) -> pd.DataFrame:
        """Background (μ_n) and self-excitation parts of each area's forecast: what drove its intensity."""
        total = self.predict(day)
        background = self.mu_.to_numpy(dtype=float)
        return pd.DataFrame({"background": background, "excitation": total.to_numpy() - background,
                             "intensity": total.to_numpy()}, index=total.index)

    def make_state(self, data: SimData, in_train: np.ndarray) -> ModelState:
        self._check()
        return PredPolState(self, data, in_train)


class PredPolState(ModelState):
    """All runs' PredPol fits, refitted by warm-started EM every simulated day (parallel over runs).

    Day 0's training data is the shared history, identical for every run, so its cold-start fit is done
    once and copied; from day 1 on each run refits from its own previous day's parameters.
    """

    def __init__(self, model: PredPol, data: SimData, in_train: np.ndarray) -> None:
        self.model = model
        self.data = data
        self.in_train = in_train
        r, m = in_train.shape[0], data.n_areas
        self.theta = np.empty(r)
        self.omega = np.empty(r)
        self.mu = np.empty((r, m))
        self.n_iter = np.zeros(r, dtype=np.int64)
        self.converged = np.zeros(r, dtype=np.bool_)
        self._started = False

    def forecast(self, day: int) -> np.ndarray:
        d = self.data
        w = int(self.model.window_days)
        lo, hi = d.window(day, w)
        span = d.span(day, w)
        rows = self.in_train.shape[0]
        out = np.empty((rows, d.n_areas))
        t = d.times - day  # relative to the day being forecast, as in PredPol.fit
        if not self._started:
            # Cold start on the shared history (one fit, copied to every run).
            self.mu[:] = np.bincount(d.area[lo:hi], minlength=d.n_areas) / span
            self.theta[:] = self.model.theta0
            self.omega[:] = self.model.omega0
            rows_one = slice(0, 1)
            hawkes_em_batch(t, d.area, self.in_train[rows_one], lo, hi, d.n_areas, 0.0, span,
                            self.theta[rows_one], self.omega[rows_one], self.mu[rows_one],
                            float(self.model.tol), int(self.model.max_iter), out[rows_one],
                            self.n_iter[rows_one], self.converged[rows_one])
            for arr in (self.theta, self.omega, self.mu, out, self.n_iter, self.converged):
                arr[1:] = arr[0]
            self._started = True
            return out
        hawkes_em_batch(t, d.area, self.in_train, lo, hi, d.n_areas, 0.0, span, self.theta, self.omega,
                        self.mu, float(self.model.tol), int(self.model.max_iter), out, self.n_iter,
                        self.converged)
        return out

    def diagnostics(self) -> dict[str, np.ndarray]:
        return {"theta": self.theta.copy(), "omega": self.omega.copy(),
                "em_iterations": self.n_iter.copy(), "em_converged": self.converged.copy()}
