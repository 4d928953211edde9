"""Calibration of scored targets: predicted against observed, overall, per group and per area.

Each scored target-period u has a score s_u and an outcome y_u: the number of audited crimes inside it
during its period (``score_kind='expected_count'``) or whether there was at least one
(``'probability'``). A target straddling areas is shared out by area of overlap: its weight in group g is
a_ug = Σ_i frac_ui W_ig. With bootstrap day weights w_d (:mod:`fairpatrol.audit.bootstrap`), sums run
over units weighted by w_{d(u)} · a_ug:

* observed / expected = Σ y / Σ s (calibration-in-the-large: 1 = as many crimes as predicted, 0.5 = half);
* calibration slope   = the weighted least-squares slope of y on s,
  (n Σ s y − Σ s Σ y) / (n Σ s² − (Σ s)²) with n = Σ 1: 1 when predictions are right on average at every
  level, < 1 when high scores over-predict relative to low ones (Van Calster et al. 2019);
* reliability bins    = scores cut at their quantiles into ``bins`` bins; per bin the mean score, the
  mean outcome (crimes per target-period) and the share of target-periods with a crime, with intervals.

Scores that only order targets (``'relative'``: ranks, unitless vendor risk scores) have no scale to
calibrate: only the bins are reported, showing whether higher scores met more crime (discrimination).

References
----------
Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. (2019). Calibration: the
Achilles heel of predictive analytics. *BMC Medicine* 17, 230. https://doi.org/10.1186/s12916-019-1466-7
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fairpatrol.audit.bootstrap import interval
from fairpatrol.audit.daytable import DayTable
from fairpatrol.audit.groups import Grouping

CALIBRATION_COLUMNS = [
    "grouping",
    "group",
    "bin",
    "score_low",
    "score_high",
    "target_periods",
    "mean_score",
    "mean_observed",
    "mean_observed_lo",
    "mean_observed_hi",
    "hit_share",
    "hit_share_lo",
    "hit_share_hi",
]


def _day_sums(weights: np.ndarray, day: np.ndarray, n_days: int, values: np.ndarray) -> np.ndarray:
    """(R, G) sums Σ_u w_{d(u)} values_ug from per-unit (U, G) values."""
    pick = sp.csr_matrix((np.ones(day.size), (day, np.arange(day.size))), shape=(n_days, day.size))
    per_day = pick @ values
    return weights @ (per_day.toarray() if sp.issparse(per_day) else np.asarray(per_day))


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = a / b
    return np.where(np.isfinite(out) & (b != 0), out, np.nan)


def summary(
    table: DayTable,
    frac: sp.csr_matrix,
    grouping: Grouping,
    weights: np.ndarray,
    score_kind: str,
    *,
    slope: bool = True,
) -> dict[str, np.ndarray]:
    """Observed/expected and calibration slope per group: name → (R, U) values."""
    scored = np.isfinite(table.unit_score)
    s = table.unit_score[scored]
    y = table.unit_hit[scored].astype(float) if score_kind == "probability" else table.unit_observed[scored]
    a = sp.csr_matrix(frac[table.unit_target[scored]] @ grouping.weights)
    day = table.unit_day[scored]
    cols = [a, sp.diags(s) @ a, sp.diags(y) @ a]
    if slope:
        cols += [sp.diags(s * s) @ a, sp.diags(s * y) @ a]
    n, ss, sy, *rest = (_day_sums(weights, day, table.n_days, c) for c in cols)
    out = {"observed_to_expected": _ratio(sy, ss)}
    if slope:
        s2, s_y = rest
        out["calibration_slope"] = _ratio(n * s_y - ss * sy, n * s2 - ss * ss)
    return out


def bins_frame(
    table: DayTable,
    frac: sp.csr_matrix,
    grouping: Grouping,
    weights: np.ndarray,
    n_bins: int,
    level: float,
) -> pd.DataFrame:
    """Reliability table: per group and score bin, mean score, mean crimes and share hit, with intervals."""
    scored = np.isfinite(table.unit_score)
    if not scored.any():
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    s = table.unit_score[scored]
    y = table.unit_observed[scored]
    h = table.unit_hit[scored].astype(float)
    day = table.unit_day[scored]
    edges = np.unique(np.quantile(s, np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size == 1:
        edges = np.array([edges[0], edges[0]])
    b = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, edges.size - 2)
    nb = edges.size - 1
    a = np.asarray((frac[table.unit_target[scored]] @ grouping.weights).todense())
    g_n = a.shape[1]
    spread = np.zeros((s.size, nb * g_n))
    rows = []
    for k in range(nb):
        spread[:, k * g_n : (k + 1) * g_n] = a * (b == k)[:, None]
    n = _day_sums(weights, day, table.n_days, spread)
    sc = _day_sums(weights, day, table.n_days, spread * s[:, None])
    ob = _day_sums(weights, day, table.n_days, spread * y[:, None])
    hi_ = _day_sums(weights, day, table.n_days, spread * h[:, None])
    mean_s = _ratio(sc, n)
    mean_y, y_lo, y_hi, _ = interval(_ratio(ob, n), level)
    share, h_lo, h_hi, _ = interval(_ratio(hi_, n), level)
    for k in range(nb):
        for g in range(g_n):
            j = k * g_n + g
            if n[0, j] <= 0:
                continue
            rows.append(
                (
                    grouping.name,
                    str(grouping.labels[g]),
                    k + 1,
                    edges[k],
                    edges[k + 1],
                    n[0, j],
                    mean_s[0, j],
                    mean_y[j],
                    y_lo[j],
                    y_hi[j],
                    share[j],
                    h_lo[j],
                    h_hi[j],
                )
            )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
