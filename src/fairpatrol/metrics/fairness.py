"""Fairness and accuracy metrics of one allocation (SPEC §7), vectorised over runs and days.

With P_i officers, C_i true crimes and D_i detected crimes in area i of M areas, ε = 1/(10 M):

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

#: Names of the daily metrics, in output order, with a one-line meaning (used by tables and reports).
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
    if arr.size and np.nanmin(arr) < 0:
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
