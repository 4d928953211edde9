"""Fairness and accuracy metrics of an allocation, vectorised over runs (and days, groups, areas).

Two families (docs/methods.md; every metric is declared in :mod:`fairpatrol.metrics.registry`):

**Fairness against need** (the headline), on counts summed over a window (the whole horizon, or a
rolling window): with P patrol-days (officer-days) and C true crimes of areas or groups, shares
p = P / ΣP and c = C / ΣC, the disparity ratio r = p / c (1 = patrols in proportion to crime; undefined
where c = 0), the disparity factor max(r, 1/r) of the worst group, the misallocated share ½ Σ |p − c|, and
the detection rate D / C (:func:`disparity_ratio`, :func:`disparity_factor`, :func:`misallocated_share`,
:func:`rate`).

**The published study's metrics** (Semsar et al. 2026, section 3.4), per run and day. With P_i officers,
C_i true crimes and D_i detected crimes in area i of M areas, ε = 1/(10 M):

* police share s_i = P_i / Σ P, crime share c_i = C_i / Σ C;
* smoothed shares add ε to every count first: s_i^ε = (P_i + ε) / Σ (P + ε);
* police-to-crime ratio PCR_i = s_i^ε / c_i^ε;
* two-group gap of a per-area quantity q = |mean_{i ∈ G1} q_i − mean_{i ∈ G2} q_i| (Baltimore: Black vs White
  neighbourhoods; areas in neither group are left out);
* Gini(x) = Σ_i (2i − M − 1) x_(i) / (M Σ x) on x sorted ascending (0 = equal, 1 − 1/M = all in one area);
* coverage accuracy = Σ D / Σ C of the day;
* over-policed: s_i > 1.2 c_i; under-policed: s_i < 0.8 c_i.

Every group is also measured on its own (:func:`group_metrics`, :data:`GROUP_METRICS`), for any number of
groups: the group's share of all officers, of all true crimes and of all detected crimes, and the mean
police share and PCR of one of its areas. The two-group gaps above compare the pair a study names.
"""

from __future__ import annotations

import numpy as np

#: Names of the study's daily metrics, in output order, with a one-line meaning (the registry holds the rest).
METRICS: dict[str, str] = {
    "accuracy": "coverage accuracy: share of the day's crimes detected",
    "share_gap": "|mean police share, group 1 − group 2|",
    "pcr_gap": "|mean police-to-crime ratio, group 1 − group 2|",
    "gini_police": "Gini of officers across areas",
    "gini_pcr": "Gini of the police-to-crime ratio across areas",
    "share_gap_signed": "mean police share, group 1 − group 2",
    "pcr_gap_signed": "mean police-to-crime ratio, group 1 − group 2",
    "share_g1": "mean police share of a group-1 area",
    "share_g2": "mean police share of a group-2 area",
    "pcr_g1": "mean police-to-crime ratio of a group-1 area",
    "pcr_g2": "mean police-to-crime ratio of a group-2 area",
    "over_policed": "areas whose police share exceeds 1.2 × crime share",
    "under_policed": "areas whose police share is below 0.8 × crime share",
    "crimes": "true crimes of the day (the replayed incidents, less any deterred or prevented)",
}

#: The headline metrics of the study (levels and trends are summarised for these).
HEADLINE = ("accuracy", "share_gap", "pcr_gap", "gini_police", "gini_pcr")


def gini(x: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Gini coefficient Σ_i (2i − M − 1) x_(i) / (M Σ x) of non-negative values along ``axis``.

    Returns NaN where Σ x = 0. Known answers: gini([0, 0, 0, 1]) = 0.75; equal values give 0.
    """
    arr = np.sort(np.asarray(x, dtype=np.float64), axis=axis)
    if arr.size and bool((arr < 0).any()):
        raise ValueError("the Gini coefficient needs non-negative values")
    arr = np.moveaxis(arr, axis, -1)
    m = arr.shape[-1]
    weights = 2.0 * np.arange(1, m + 1) - m - 1
    total = arr.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (arr * weights).sum(axis=-1) / (m * total)
    g = np.where(total > 0, g, np.nan)
    return float(g) if g.ndim == 0 else g


def epsilon(n_areas: int) -> float:
    """The study's smoothing constant ε = 1 / (10 M)."""
    return 1.0 / (10.0 * n_areas)


def shares(counts: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """(counts + ε) / Σ (counts + ε) along the last axis (NaN where the total is 0)."""
    c = np.asarray(counts, dtype=np.float64) + eps
    total = c.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return c / total


def police_to_crime_ratio(officers: np.ndarray, crimes: np.ndarray, eps: float | None = None) -> np.ndarray:
    """PCR_i = smoothed police share / smoothed crime share (ε = 1/(10 M) by default)."""
    m = np.shape(officers)[-1]
    e = epsilon(m) if eps is None else eps
    return shares(officers, e) / shares(crimes, e)


#: Metrics computed for every group (the per-group table), with a one-line meaning.
GROUP_METRICS: dict[str, str] = {
    "police_share": "share of all officers sent to the group's areas",
    "crime_share": "share of all true crimes that happened in the group's areas",
    "detected_share": "share of all detected crimes found in the group's areas",
    "mean_share": "mean police share of one of the group's areas",
    "mean_pcr": "mean police-to-crime ratio of one of the group's areas",
}


def group_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the areas (last axis) in ``mask``; NaN for an empty group."""
    if not mask.any():
        return np.full(values.shape[:-1], np.nan)
    return values[..., mask].mean(axis=-1)


def _of_total(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)


def group_metrics(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group_index: np.ndarray,
    n_groups: int | None = None,
) -> dict[str, np.ndarray]:
    """Every metric of :data:`GROUP_METRICS` for every group: arrays shaped (…, G) for inputs (…, M).

    ``group_index`` (length M) gives each area's group 0..G−1. Known answer: officers [2, 0, 2] and crimes
    [1, 1, 2] with groups [0, 0, 1] give police shares [0.5, 0.5] and crime shares [0.5, 0.5].
    """
    officers = np.asarray(officers, dtype=np.float64)
    crimes = np.broadcast_to(np.asarray(crimes, dtype=np.float64), officers.shape)
    detected = np.asarray(detected, dtype=np.float64)
    index = np.asarray(group_index)
    g_count = int(index.max()) + 1 if n_groups is None else int(n_groups)
    s = shares(officers)
    pcr = police_to_crime_ratio(officers, crimes)
    totals = {
        "police_share": officers.sum(-1),
        "crime_share": crimes.sum(-1),
        "detected_share": detected.sum(-1),
    }
    counts = {"police_share": officers, "crime_share": crimes, "detected_share": detected}
    out = {name: np.empty((*officers.shape[:-1], g_count)) for name in GROUP_METRICS}
    for g in range(g_count):
        mask = index == g
        for name, values in counts.items():
            out[name][..., g] = _of_total(values[..., mask].sum(-1), totals[name])
        out["mean_share"][..., g] = group_mean(s, mask)
        out["mean_pcr"][..., g] = group_mean(pcr, mask)
    return out


def daily_metrics(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group1: np.ndarray,
    group2: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for each (…, day): arrays shaped like ``officers`` without areas.

    ``officers`` and ``detected`` are (runs × days × areas) or (days × areas); ``crimes`` broadcasts
    against them. Metrics are computed per run and day (never on run-averaged counts).
    """
    officers = np.asarray(officers, dtype=np.float64)
    crimes = np.broadcast_to(np.asarray(crimes, dtype=np.float64), officers.shape)
    detected = np.asarray(detected, dtype=np.float64)
    s = shares(officers)
    c = shares(crimes)
    pcr = police_to_crime_ratio(officers, crimes)
    total_crimes = crimes.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(total_crimes > 0, detected.sum(axis=-1) / total_crimes, np.nan)
    c0 = np.nan_to_num(c)
    out = {
        "accuracy": accuracy,
        "share_g1": group_mean(s, group1),
        "share_g2": group_mean(s, group2),
        "pcr_g1": group_mean(pcr, group1),
        "pcr_g2": group_mean(pcr, group2),
        "gini_police": gini(officers),
        "gini_pcr": gini(pcr),
        "over_policed": (s > 1.2 * c0).sum(axis=-1).astype(np.float64),
        "under_policed": (s < 0.8 * c0).sum(axis=-1).astype(np.float64),
        "crimes": total_crimes,
    }
    out["share_gap_signed"] = out["share_g1"] - out["share_g2"]
    out["pcr_gap_signed"] = out["pcr_g1"] - out["pcr_g2"]
    out["share_gap"] = np.abs(out["share_gap_signed"])
    out["pcr_gap"] = np.abs(out["pcr_gap_signed"])
    return {name: np.asarray(out[name]) for name in METRICS}


# -- fairness against need ----------------------------------------------------------------------------------
def rate(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    """part / total elementwise, NaN where total = 0 (e.g. a detection rate without crime)."""
    part = np.asarray(part, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    return _of_total(part, total)


def disparity_ratio(patrols: np.ndarray, crimes: np.ndarray) -> np.ndarray:
    """Patrol share over crime share of each entry of the last axis (groups or areas): r = p / c.

    NaN where the entry had no crime (c = 0: the ratio is undefined, never infinite) or where there were
    no patrols or no crimes at all. Known answer: patrols [3, 1] and crimes [1, 1] give [1.5, 0.5].
    """
    p = shares(patrols)
    c = shares(crimes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, p / np.where(c > 0, c, 1.0), np.nan)


def disparity_factor(ratios: np.ndarray) -> np.ndarray:
    """max over the last axis of max(r, 1/r), over entries whose ratio is defined; 1 = every entry in
    proportion. A defined ratio of 0 (crime but no patrols) gives +inf; NaN when no entry is defined.
    Known answer: ratios [1.5, 0.5] give 2.0 (the second group got half its share)."""
    r = np.asarray(ratios, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(np.isfinite(r), np.maximum(r, 1.0 / r), np.nan)
    ok = np.isfinite(f) | np.isinf(f)
    with np.errstate(invalid="ignore"):
        out = np.max(np.where(ok, f, -np.inf), axis=-1)
    return np.where(ok.any(axis=-1), out, np.nan)


def misallocated_share(patrols: np.ndarray, crimes: np.ndarray) -> np.ndarray:
    """½ Σ |p_i − c_i| over the last axis: the share of patrols that would have to move for patrol
    shares to equal crime shares (total variation distance; 0 = proportional, 1 = disjoint). NaN without
    patrols or without crime. Known answer: patrols [1, 1, 0, 0], crimes [1, 0, 0, 1] give 0.5."""
    return 0.5 * np.abs(shares(patrols) - shares(crimes)).sum(axis=-1)


def group_sums(values: np.ndarray, group_index: np.ndarray, n_groups: int) -> np.ndarray:
    """Sums over the areas (last axis) of each group: (…, M) → (…, G)."""
    onehot = np.zeros((len(group_index), n_groups))
    onehot[np.arange(len(group_index)), np.asarray(group_index)] = 1.0
    return np.asarray(values, dtype=np.float64) @ onehot


def trailing_sums(daily: np.ndarray, window: int, axis: int = -1) -> np.ndarray:
    """Sums over the ``window`` days up to each day along ``axis``; NaN before a full window."""
    x = np.moveaxis(np.asarray(daily, dtype=np.float64), axis, -1)
    c = np.cumsum(x, axis=-1)
    out = np.full_like(c, np.nan)
    if x.shape[-1] >= window:
        out[..., window - 1 :] = c[..., window - 1 :]
        out[..., window:] -= c[..., : x.shape[-1] - window]
    return np.moveaxis(out, -1, axis)


def pcr_gap(
    officers: np.ndarray, crimes: np.ndarray, g1: np.ndarray, g2: np.ndarray, eps: float
) -> np.ndarray:
    """The study's |mean PCR of group-1 areas − mean PCR of group-2 areas| with smoothing ``eps``."""
    pcr = police_to_crime_ratio(officers, crimes, eps)
    return np.abs(group_mean(pcr, g1) - group_mean(pcr, g2))
