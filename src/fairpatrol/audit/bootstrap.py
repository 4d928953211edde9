"""Intervals by resampling days, and trends over time with intervals.

**Circular block bootstrap over days** (Politis & Romano 1992). Each replicate b draws ⌈D/L⌉ blocks of L
consecutive audited days (wrapping around the end) with uniformly random starts and keeps the first D
days; w_bd is the number of times day d is drawn (Σ_d w_bd = D). Every audit measure is a ratio of sums
over days, so replicate b's value is the measure of the w_b-weighted sums. Blocks of a week (L = 7, the
default) keep the weekly cycle and short-range dependence (near-repeat crime, recurring targets) inside the
resampled unit; L = 1 is the ordinary bootstrap over days. Row 0 of the weight matrix is all ones: the
point estimate is computed by the same code as the replicates. The interval is the percentile interval
of the B replicates (replicates where a measure is undefined, e.g. no crime in a group, are left out and
counted in ``n_boot_valid``).

**Trends.** Days are put in buckets (calendar months, ISO weeks or days); a measure is computed per bucket
from that bucket's sums and its least-squares slope over the bucket index is the trend per bucket (empty
buckets are skipped). Replicates resample days with their bucket, so the slope's interval reflects how
much the trend depends on which days were observed.

References
----------
Politis, D. N. & Romano, J. P. (1992). A circular block-resampling procedure for stationary data.
In *Exploring the Limits of Bootstrap*, Wiley, 263-270.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from fairpatrol.metrics.summary import trend_slope


def day_weights(n_days: int, n_boot: int, block_days: int, seed: int) -> np.ndarray:
    """(1 + n_boot, n_days) float weights: row 0 ones, rows 1.. circular-block bootstrap counts."""
    if n_days < 1:
        raise ValueError("no days to resample")
    w = np.zeros((n_boot + 1, n_days))
    w[0] = 1.0
    if n_boot:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        block = int(max(1, min(block_days, n_days)))
        n_blocks = -(-n_days // block)
        starts = rng.integers(0, n_days, size=(n_boot, n_blocks))
        picks = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n_days] % n_days
        flat = (np.arange(n_boot)[:, None] * n_days + picks).ravel()
        w[1:] = np.bincount(flat, minlength=n_boot * n_days).reshape(n_boot, n_days)
    return w


def buckets(dates: pd.DatetimeIndex, unit: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Bucket index of each day and each bucket's first day (every bucket between first and last kept).

    ``unit`` is 'month', 'week' (ISO weeks starting Monday) or 'day'.
    """
    dates = pd.DatetimeIndex(dates).normalize()
    if unit == "day":
        first = dates[0]
        idx = ((dates - first) // pd.Timedelta(days=1)).to_numpy(np.int64)
        starts = pd.date_range(first, dates[-1], freq="D")
    elif unit == "week":
        monday = dates - pd.to_timedelta(dates.dayofweek, unit="D")
        idx = ((monday - monday[0]) // pd.Timedelta(days=7)).to_numpy(np.int64)
        starts = pd.date_range(monday[0], monday[-1], freq="7D")
    elif unit == "month":
        ordinal = (dates.year * 12 + dates.month - 1).to_numpy(np.int64)
        idx = ordinal - ordinal[0]
        starts = pd.date_range(dates[0].replace(day=1), dates[-1], freq="MS")
    else:
        raise ValueError(f"unknown trend unit {unit!r}")
    return idx, starts


def bucket_sums(
    weights: np.ndarray, x: np.ndarray, bucket: np.ndarray | None, n_buckets: int = 1
) -> np.ndarray:
    """Σ_{d in bucket} w_rd · x_d·: (R, D) weights and (D, U) values give (R, n_buckets, U)."""
    if bucket is None:
        return (weights @ x)[:, None, :]
    out = np.zeros((weights.shape[0], n_buckets, x.shape[1]))
    for b in range(n_buckets):
        sel = bucket == b
        if sel.any():
            out[:, b, :] = weights[:, sel] @ x[sel]
    return out


def interval(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Point estimate (row 0), percentile bounds over rows 1.., and the number of defined replicates."""
    est = values[0]
    reps = values[1:]
    valid = np.isfinite(reps)
    n_valid = valid.sum(axis=0)
    if reps.shape[0] == 0:
        nan = np.full_like(est, np.nan, dtype=float)
        return est, nan, nan, n_valid
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # all-NaN columns (never defined) are NaN by design
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(np.where(valid, reps, np.nan), alpha, axis=0)
        hi = np.nanquantile(np.where(valid, reps, np.nan), 1.0 - alpha, axis=0)
    return est, lo, hi, n_valid


def slopes(per_bucket: np.ndarray) -> np.ndarray:
    """Least-squares slope along the bucket axis (axis 1) of (R, n_buckets, U) values: (R, U).

    Slopes below 1e-12 of the values' magnitude are rounding noise of a constant series and set to 0.
    """
    values = np.moveaxis(per_bucket, 1, -1)
    slope = trend_slope(values)
    with warnings.catch_warnings():  # all-NaN series have no scale
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmax(np.abs(values), axis=-1)
    return np.where(np.abs(slope) <= 1e-12 * scale, 0.0, slope)
