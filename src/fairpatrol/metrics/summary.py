"""Summaries over days and runs: trends (least-squares slopes) and means with 95 % intervals
(docs/methods.md)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd


def trend_slope(y: np.ndarray) -> np.ndarray:
    """Least-squares slope of y over the day index 0..D−1 along the last axis (NaN days are skipped).

    Equals ``scipy.stats.linregress(range(D), y).slope`` for complete rows.
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.broadcast_to(np.arange(y.shape[-1], dtype=np.float64), y.shape)
    ok = np.isfinite(y)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.where(ok, x, 0.0).sum(axis=-1) / n
        ym = np.where(ok, y, 0.0).sum(axis=-1) / n
        dx = np.where(ok, x - xm[..., None], 0.0)
        dy = np.where(ok, y - ym[..., None], 0.0)
        sxx = (dx * dx).sum(axis=-1)
        slope = (dx * dy).sum(axis=-1) / sxx
    return np.where((n >= 2) & (sxx > 0), slope, np.nan)


@lru_cache(maxsize=256)
def _t_quantile(q: float, dof: int) -> float:
    """Student's t quantile: ``scipy.special.stdtrit``, the function ``scipy.stats.t.ppf`` evaluates (the
    same value to the bit, tested), without importing ``scipy.stats`` (≈ 0.7 s on first use, against
    ≈ 0.25 s for ``scipy.special``; docs/engine.md, "Fixed costs of a study")."""
    from scipy.special import stdtrit

    return float(stdtrit(dof, q))


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of independent per-run values (NaNs dropped); NaN bounds if n < 2."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    half = _t_quantile(0.5 + level / 2, v.size - 1) * float(v.std(ddof=1)) / float(np.sqrt(v.size))
    return mean, mean - half, mean + half


def fit_problems(diagnostics: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per algorithm, how many daily PredPol fits (rows of ``metrics.parquet``) did not converge within
    ``max_iter`` and how many ended on a parameter bound of θ or ω (:data:`fairpatrol.models._hawkes`
    bounds): a fit on a bound is the bound, not a maximum-likelihood estimate. Algorithms without these
    diagnostics are left out."""
    from fairpatrol.models._hawkes import OMEGA_BOUNDS, THETA_BOUNDS

    out: dict[str, dict[str, int]] = {}
    if not {"algorithm", "theta", "omega", "em_converged"} <= set(diagnostics.columns):
        return out
    for algorithm, g in diagnostics.groupby("algorithm", observed=True, sort=False):
        theta = g["theta"].to_numpy(dtype=float)
        fitted = np.isfinite(theta)
        if not fitted.any():
            continue
        omega = g["omega"].to_numpy(dtype=float)[fitted]
        theta = theta[fitted]
        conv = g["em_converged"].to_numpy(dtype=float)[fitted]
        rel = 1e-6
        bound = (
            (theta <= THETA_BOUNDS[0] * (1 + rel))
            | (theta >= THETA_BOUNDS[1] * (1 - rel))
            | (omega <= OMEGA_BOUNDS[0] * (1 + rel))
            | (omega >= OMEGA_BOUNDS[1] * (1 - rel))
        )
        out[str(algorithm)] = {
            "fits": int(fitted.sum()),
            "not_converged": int((conv == 0).sum()),
            "at_bound": int(bound.sum()),
        }
    return out
