"""The daily and per-group metrics of many areas from each map's support: O(M + k log k), not O(M log M).

On a city cut into 150 m cells (M = 27,459) a day's officers and crimes are nonzero in a few hundred
cells, the *support* (k cells with officers or crimes). Every other cell has police share 0 and the same
police-to-crime ratio κ = (ε / (ΣP + Mε)) / (ε / (ΣC + Mε)), so each metric of
:func:`fairpatrol.metrics.daily_metrics` and :func:`fairpatrol.metrics.group_metrics` is a sum over the
support plus a closed form for the rest:

* a group mean of police shares is Σ_{support ∩ g} s_i / n_g, of PCRs (Σ_{support ∩ g} PCR_i + (n_g −
  k_g) κ) / n_g;
* a Gini coefficient Σ_i (2i − M − 1) x_(i) / (M Σx) sorts only the support values; the z equal values
  κ (or 0) at ranks p + 1 … p + z contribute κ Σ_{i=p+1}^{p+z} (2i − M − 1) = κ z (2p + z − M);
* over-/under-policed areas and coverage accuracy need the support only.

:func:`day_metrics` computes both tables this way from :data:`SUPPORT_METRICS_MIN_AREAS` areas on, in one
compiled pass per run-day, and with the numpy definitions below it. The two agree to rounding (sums in
another order: relative differences ≈ 1e-15, tested); every study with fewer areas (all bundled presets
on their neighbourhoods) keeps the numbers of the numpy definitions bit for bit, computed by the compiled
passes of :mod:`fairpatrol.metrics.dense`. Every function here takes a day's block of several cells
(``cell_rows`` rows each) and computes each cell's numbers as for that cell alone.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)
from fairpatrol.metrics.dense import dense_gini_rows, dense_pcr_gaps, dense_rows, scratch
from fairpatrol.metrics.fairness import (
    GROUP_METRICS,
    METRICS,
    daily_metrics,
    epsilon,
    gini,
    group_metrics,
    group_sums,
    pcr_gap,
)

#: From this many areas on, :func:`day_metrics` uses the support kernel (the same threshold as the
#: allocation search sampler, :data:`fairpatrol.sim.world.SEARCH_SAMPLER_MIN_AREAS`).
SUPPORT_METRICS_MIN_AREAS = 1024

#: Columns of the kernel's per-row output.
_DAILY = (
    "accuracy",
    "share_g1",
    "share_g2",
    "pcr_g1",
    "pcr_g2",
    "gini_police",
    "gini_pcr",
    "over_policed",
    "under_policed",
    "crimes",
)
#: The per-group metrics the kernel computes, in its order (rows × 5 × G).
_GROUP = ("police_share", "crime_share", "detected_share", "mean_share", "mean_pcr")


@njit(cache=True, no_cfunc_wrapper=True)
def _gini_with_block(values: np.ndarray, block: float, z: int, m: int) -> float:
    """Gini of ``values`` (any order) together with ``z`` copies of ``block``: m = len(values) + z."""
    v = np.sort(values)
    total = block * z
    for x in v:
        total += x
    if not total > 0.0:
        return np.nan
    p = np.searchsorted(v, block)  # values below the block (ties: any order gives the same sum)
    acc = block * z * (2.0 * p + z - m)
    for j in range(v.shape[0]):
        rank = j + 1 if j < p else j + 1 + z
        acc += (2.0 * rank - m - 1.0) * v[j]
    return acc / (m * total)


@njit(cache=True, no_cfunc_wrapper=True)
def _support_rows(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    group_index: np.ndarray,
    n_groups: int,
    eps: float,
    totals: np.ndarray,
    daily: np.ndarray,
    groups: np.ndarray,
) -> None:
    """Fill ``daily`` (rows × :data:`_DAILY`) and ``groups`` (rows × 5 × G: police, crime and detected
    share, mean share, mean PCR) from rows × M counts."""
    n_rows, m = officers.shape
    size = np.zeros(n_groups)
    for i in range(m):
        size[group_index[i]] += 1.0
    n1 = 0.0
    n2 = 0.0
    for i in range(m):
        n1 += g1[i]
        n2 += g2[i]
    support = np.empty(m, dtype=np.int64)
    pcr = np.empty(m)
    pos = np.empty(m)
    for r in range(n_rows):
        tp = 0.0
        tc = 0.0
        td = 0.0
        sum_p = np.zeros(n_groups)
        sum_c = np.zeros(n_groups)
        sum_d = np.zeros(n_groups)
        k = 0
        for i in range(m):
            p = float(officers[r, i])
            c = float(crimes[r, i])
            d = float(detected[r, i])
            g = group_index[i]
            tp += p
            tc += c
            td += d
            sum_p[g] += p
            sum_c[g] += c
            sum_d[g] += d
            if p != 0.0 or c != 0.0:
                support[k] = i
                k += 1
        if totals.shape[0] > 0:  # fractional counts: numpy's (pairwise) totals, see support_metrics
            tp = totals[r, 0]
            tc = totals[r, 1]
            td = totals[r, 2]
        denom_p = tp + m * eps
        denom_c = tc + m * eps
        kappa = (eps / denom_p) / (eps / denom_c)
        share_sum = np.zeros(n_groups)
        pcr_sum = np.zeros(n_groups)
        in_group = np.zeros(n_groups)
        s1 = s2 = q1 = q2 = k1 = k2 = 0.0
        over = under = 0.0
        n_pos = 0
        for j in range(k):
            i = support[j]
            p = float(officers[r, i])
            c = float(crimes[r, i])
            s = p / tp
            c0 = c / tc if tc > 0.0 else 0.0
            q = ((p + eps) / denom_p) / ((c + eps) / denom_c)
            pcr[j] = q
            if p > 0.0:
                pos[n_pos] = p
                n_pos += 1
            g = group_index[i]
            share_sum[g] += s
            pcr_sum[g] += q
            in_group[g] += 1.0
            if g1[i]:
                s1 += s
                q1 += q
                k1 += 1.0
            if g2[i]:
                s2 += s
                q2 += q
                k2 += 1.0
            if s > 1.2 * c0:
                over += 1.0
            if s < 0.8 * c0:
                under += 1.0
        nan = np.nan
        daily[r, 0] = td / tc if tc > 0.0 else nan
        daily[r, 1] = s1 / n1 if n1 > 0 and tp > 0.0 else nan
        daily[r, 2] = s2 / n2 if n2 > 0 and tp > 0.0 else nan
        daily[r, 3] = (q1 + (n1 - k1) * kappa) / n1 if n1 > 0 else nan
        daily[r, 4] = (q2 + (n2 - k2) * kappa) / n2 if n2 > 0 else nan
        daily[r, 5] = _gini_with_block(pos[:n_pos], 0.0, m - n_pos, m)
        daily[r, 6] = _gini_with_block(pcr[:k], kappa, m - k, m)
        daily[r, 7] = over if tp > 0.0 else 0.0
        daily[r, 8] = under if tp > 0.0 else 0.0
        daily[r, 9] = tc
        for g in range(n_groups):
            groups[r, 0, g] = sum_p[g] / tp if tp > 0.0 else nan
            groups[r, 1, g] = sum_c[g] / tc if tc > 0.0 else nan
            groups[r, 2, g] = sum_d[g] / td if td > 0.0 else nan
            groups[r, 3, g] = share_sum[g] / size[g] if size[g] > 0 and tp > 0.0 else nan
            groups[r, 4, g] = (pcr_sum[g] + (size[g] - in_group[g]) * kappa) / size[g] if size[g] > 0 else nan


def _cells(n_rows: int, cell_rows: int | None) -> list[slice]:
    """The row ranges of a block's cells (``cell_rows`` rows each; None: one cell of every row)."""
    k = n_rows if cell_rows is None else int(cell_rows)
    if k <= 0 or n_rows % k:
        raise ValueError(f"{n_rows} rows do not split into cells of {cell_rows} rows")
    return [slice(a, a + k) for a in range(0, n_rows, k)]


def as_rows(values, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` as an array of ``shape`` (broadcast only when needed: ``np.broadcast_to`` costs µs)."""
    values = np.asarray(values)
    return values if values.shape == shape else np.broadcast_to(values, shape)


def _counts(officers, crimes, detected) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rows × M contiguous counts (``crimes`` broadcast to the officers' shape)."""
    officers = np.ascontiguousarray(officers)
    if officers.ndim != 2:
        raise ValueError(f"expected runs × areas counts, got shape {officers.shape}")
    crimes = np.ascontiguousarray(as_rows(crimes, officers.shape))
    return officers, crimes, np.ascontiguousarray(detected)


def _rows(
    kernel, counts, group1, group2, group_index, n_groups: int, option, *extra
) -> tuple[np.ndarray, np.ndarray]:
    """A row kernel's (:func:`_support_rows`, :func:`fairpatrol.metrics.dense.dense_rows`) output for rows ×
    M ``counts`` (officers, crimes, detected): rows × :data:`_DAILY` and rows × :data:`_GROUP` × G
    (``extra``: the kernel's arguments after its outputs)."""
    n_rows, m = counts[0].shape
    daily = np.empty((n_rows, len(_DAILY)))
    groups = np.empty((n_rows, len(_GROUP), int(n_groups)))
    g1, g2 = np.asarray(group1, dtype=np.bool_), np.asarray(group2, dtype=np.bool_)
    index = np.asarray(group_index, dtype=np.int64)
    kernel(*counts, g1, g2, index, int(n_groups), epsilon(m), option, daily, groups, *extra)
    return daily, groups


def _tables(
    daily: np.ndarray,
    groups: np.ndarray,
    numpy_form,
    cells: list[slice],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The name -> array tables of a kernel's rows × :data:`_DAILY` and rows × :data:`_GROUP` × G output.

    A metric registered in fairness.py without a kernel form is computed by its numpy definition on each
    cell's counts (``numpy_form(rows)`` -> (daily, groups) tables of those rows): adding a metric needs no
    change here, and its numbers are those of the definition."""
    out = dict(zip(_DAILY, daily.T, strict=True))
    out["share_gap_signed"] = out["share_g1"] - out["share_g2"]
    out["pcr_gap_signed"] = out["pcr_g1"] - out["pcr_g2"]
    out["share_gap"] = np.abs(out["share_gap_signed"])
    out["pcr_gap"] = np.abs(out["pcr_gap_signed"])
    per_group = dict(zip(_GROUP, groups.transpose(1, 0, 2), strict=True))
    missing = [name for name in METRICS if name not in out]
    missing_groups = [name for name in GROUP_METRICS if name not in per_group]
    if missing or missing_groups:
        parts = [numpy_form(rows) for rows in cells]
        for name in missing:
            out[name] = np.concatenate([np.asarray(d[name], dtype=np.float64) for d, _ in parts])
        for name in missing_groups:
            per_group[name] = np.concatenate([np.asarray(g[name], dtype=np.float64) for _, g in parts])
    return {name: out[name] for name in METRICS}, {name: per_group[name] for name in GROUP_METRICS}


def support_metrics(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group1: np.ndarray,
    group2: np.ndarray,
    group_index: np.ndarray,
    n_groups: int,
    *,
    cell_rows: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`~fairpatrol.metrics.daily_metrics` and :func:`~fairpatrol.metrics.group_metrics` of runs ×
    areas counts (``crimes`` broadcasts), computed from each row's support (module docstring).

    Rows are independent; ``cell_rows`` (rows of each cell of a block of several cells, default: one
    cell) only says on which rows a metric without a support form is computed by its definition.
    Returns (daily: name -> runs, groups: name -> runs × G). Counts must be non-negative.
    """
    officers, crimes, detected = _counts(officers, crimes, detected)
    totals = np.empty((0, 3))
    if any(a.dtype.kind == "f" for a in (officers, crimes, detected)):
        # Integer counts add up exactly in any order; fractional ones (run-averaged) are totalled as the
        # numpy definitions total them, so that a share exactly at a threshold (over/under-policed) falls
        # on the same side.
        totals = np.stack(
            [np.asarray(a, dtype=np.float64).sum(axis=-1) for a in (officers, crimes, detected)], 1
        )
    counts = (officers, crimes, detected)
    daily, groups = _rows(_support_rows, counts, group1, group2, group_index, n_groups, totals)

    def numpy_form(rows: slice) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        counts = (officers[rows], crimes[rows], detected[rows])
        return daily_metrics(*counts, group1, group2), group_metrics(*counts, group_index, n_groups)

    return _tables(daily, groups, numpy_form, _cells(len(officers), cell_rows))


def numpy_day_metrics(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group1: np.ndarray,
    group2: np.ndarray,
    group_index: np.ndarray,
    n_groups: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The daily and group metrics of one cell's runs × areas counts by the numpy definitions, as a study
    computes them below :data:`SUPPORT_METRICS_MIN_AREAS` areas.

    numpy sums a group's areas pairwise in a lone contiguous row but in sequence in a block of rows (the
    layout of a boolean-masked selection), as in the whole-horizon arrays the metrics were once computed
    on: a lone row (one run, or run-averaged counts) is computed as two equal rows, so that its metrics
    are those bit for bit. :func:`day_metrics` computes the same numbers in one compiled pass.
    """
    officers = np.asarray(officers)
    rows = officers.shape[0] if officers.ndim > 1 else None
    if rows == 1:
        officers, crimes, detected = (
            np.repeat(np.broadcast_to(a, officers.shape), 2, axis=0) for a in (officers, crimes, detected)
        )
    daily = daily_metrics(officers, crimes, detected, group1, group2)
    per_group = group_metrics(officers, crimes, detected, group_index, n_groups)
    if rows == 1:
        daily = {k: v[:1] for k, v in daily.items()}
        per_group = {k: v[:1] for k, v in per_group.items()}
    return daily, per_group


#: Whether the compiled numpy-exact kernels below :data:`SUPPORT_METRICS_MIN_AREAS` areas are used (False
#: while a machine's first run compiles them in another process: the numpy definitions they reproduce bit
#: for bit give the same numbers meanwhile; :func:`use_dense_kernels`).
_DENSE = [True]


def use_dense_kernels(flag: bool) -> None:
    """Use the compiled kernels below :data:`SUPPORT_METRICS_MIN_AREAS` areas (True, the default) or
    their numpy definitions (False: the same numbers, more time, no compilation)."""
    _DENSE[0] = bool(flag)


def _per_cell(fn, n_rows: int, cell_rows: int | None) -> list:
    return [fn(rows) for rows in _cells(n_rows, cell_rows)]


def day_metrics(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group1: np.ndarray,
    group2: np.ndarray,
    group_index: np.ndarray,
    n_groups: int,
    *,
    cell_rows: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The daily and per-group metrics of one day's rows × areas counts, of one cell or of a block of
    cells of ``cell_rows`` rows each: the numpy definitions as a study computes them
    (:func:`numpy_day_metrics`, per cell) below :data:`SUPPORT_METRICS_MIN_AREAS` areas, computed bit for
    bit by one compiled pass over the block (:func:`fairpatrol.metrics.dense.dense_rows`);
    :func:`support_metrics` from there on.
    """
    if np.shape(officers)[-1] >= SUPPORT_METRICS_MIN_AREAS:
        return support_metrics(
            officers, crimes, detected, group1, group2, group_index, n_groups, cell_rows=cell_rows
        )
    if np.ndim(officers) != 2:
        return numpy_day_metrics(officers, crimes, detected, group1, group2, group_index, n_groups)
    counts = officers, crimes, detected = _counts(officers, crimes, detected)

    def numpy_form(rows: slice) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        counts = (officers[rows], crimes[rows], detected[rows])
        return numpy_day_metrics(*counts, group1, group2, group_index, n_groups)

    if not _DENSE[0]:  # the definitions, cell by cell (what the kernel reproduces)
        parts = _per_cell(numpy_form, len(officers), cell_rows)

        def joined(k: str, i: int) -> np.ndarray:
            return np.concatenate([np.asarray(part[i][k], dtype=np.float64) for part in parts])

        return {k: joined(k, 0) for k in METRICS}, {k: joined(k, 1) for k in GROUP_METRICS}
    integer = all(a.dtype.kind in "iub" for a in (officers, crimes))
    work = scratch(len(officers), officers.shape[1], int(n_groups))
    daily, groups = _rows(dense_rows, counts, group1, group2, group_index, n_groups, integer, *work)
    return _tables(daily, groups, numpy_form, _cells(len(officers), cell_rows))


@njit(cache=True, no_cfunc_wrapper=True)
def _pcr_gap_rows(
    officers: np.ndarray, crimes: np.ndarray, g1: np.ndarray, g2: np.ndarray, eps: np.ndarray, out: np.ndarray
) -> None:
    """out[r, e] = |mean PCR over g1 − mean PCR over g2| of row r with smoothing eps[e], from the support."""
    n_rows, m = officers.shape
    n1 = 0.0
    n2 = 0.0
    for i in range(m):
        n1 += g1[i]
        n2 += g2[i]
    for r in range(n_rows):
        tp = 0.0
        tc = 0.0
        for i in range(m):
            tp += float(officers[r, i])
            tc += float(crimes[r, i])
        for e in range(eps.shape[0]):
            ep = eps[e]
            dp = tp + m * ep
            dc = tc + m * ep
            kappa = (ep / dp) / (ep / dc)
            q1 = q2 = k1 = k2 = 0.0
            for i in range(m):
                p = float(officers[r, i])
                c = float(crimes[r, i])
                if p == 0.0 and c == 0.0:
                    continue
                q = ((p + ep) / dp) / ((c + ep) / dc)
                if g1[i]:
                    q1 += q
                    k1 += 1.0
                if g2[i]:
                    q2 += q
                    k2 += 1.0
            if n1 > 0 and n2 > 0:
                out[r, e] = abs((q1 + (n1 - k1) * kappa) / n1 - (q2 + (n2 - k2) * kappa) / n2)
            else:
                out[r, e] = np.nan


def pcr_gaps(
    officers: np.ndarray,
    crimes: np.ndarray,
    group1: np.ndarray,
    group2: np.ndarray,
    eps: list[float],
    *,
    cell_rows: int | None = None,
) -> np.ndarray:
    """:func:`~fairpatrol.metrics.fairness.pcr_gap` of rows × areas counts at each smoothing in ``eps``:
    rows × len(eps). Below :data:`SUPPORT_METRICS_MIN_AREAS` areas the numpy definition on each cell's
    rows (``cell_rows`` each, default all: one cell), compiled bit for bit
    (:func:`fairpatrol.metrics.dense.dense_pcr_gaps`: a cell of one row sums its groups pairwise, a larger
    one in sequence); from there on from each row's support."""
    officers = np.asarray(officers)
    kernel = _pcr_gap_rows
    args: tuple = ()
    work: tuple = ()  # the dense kernel's scratch arrays (after ``out``)
    if officers.shape[-1] < SUPPORT_METRICS_MIN_AREAS:
        if officers.ndim != 2:
            return np.stack([pcr_gap(officers, crimes, group1, group2, e) for e in eps], axis=-1)
        if not _DENSE[0]:  # the definition, cell by cell (what the kernel reproduces)
            full = as_rows(crimes, officers.shape)
            return np.concatenate(
                _per_cell(
                    lambda r: np.stack([pcr_gap(officers[r], full[r], group1, group2, e) for e in eps], -1),
                    officers.shape[0],
                    cell_rows,
                )
            )
        kernel = dense_pcr_gaps
        first = _cells(officers.shape[0], cell_rows)[0]
        # a lone row: numpy sums its groups pairwise; integer counts: PCRs once per (officers, crimes) pair
        integer = all(np.asarray(a).dtype.kind in "iub" for a in (officers, crimes))
        args = (first.stop - first.start == 1, integer)
        work = scratch(officers.shape[0], officers.shape[1], 1)[:3]
    crimes = np.ascontiguousarray(as_rows(crimes, officers.shape))
    out = np.empty((officers.shape[0], len(eps)))
    kernel(
        np.ascontiguousarray(officers),
        crimes,
        np.asarray(group1, dtype=np.bool_),
        np.asarray(group2, dtype=np.bool_),
        np.asarray(eps, dtype=np.float64),
        *args,
        out,
        *work,
    )
    return out


@njit(cache=True, no_cfunc_wrapper=True)
def _group_count_rows(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group_index: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[r, :, g] = officers, crimes, detected and officers on crime-free areas summed over group g."""
    n_rows, m = officers.shape
    out[:] = 0.0
    for r in range(n_rows):
        for i in range(m):
            p = float(officers[r, i])
            c = float(crimes[r, i])
            g = group_index[i]
            out[r, 0, g] += p
            out[r, 1, g] += c
            out[r, 2, g] += float(detected[r, i])
            if c == 0.0:
                out[r, 3, g] += p


def group_counts(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    group_index: np.ndarray,
    n_groups: int,
    *,
    cell_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group (rows × G): officers, crimes, detections and officers on crime-free areas (idle), summed
    over the group's areas. Integer counts (and any counts from :data:`SUPPORT_METRICS_MIN_AREAS` areas
    on) in one compiled pass: sums of integers are exact in any order. Fractional counts below the
    threshold (run-averaged) by :func:`~fairpatrol.metrics.fairness.group_sums` on each cell's rows
    (``cell_rows`` each, default all), whose BLAS product fixes their order."""
    officers = np.asarray(officers)
    crimes = as_rows(crimes, officers.shape)
    detected = np.asarray(detected)
    fractional = any(a.dtype.kind == "f" for a in (officers, crimes, detected))
    if officers.ndim != 2 or (fractional and officers.shape[-1] < SUPPORT_METRICS_MIN_AREAS):
        parts = []
        for rows in _cells(officers.shape[0], cell_rows) if officers.ndim == 2 else [Ellipsis]:
            p, c, d = officers[rows], crimes[rows], detected[rows]
            idle = p * (c == 0)
            parts.append([group_sums(v, group_index, n_groups) for v in (p, c, d, idle)])
        sums = [np.concatenate(k) if len(parts) > 1 else k[0] for k in zip(*parts, strict=True)]
        return sums[0], sums[1], sums[2], sums[3]
    out = np.empty((officers.shape[0], 4, int(n_groups)))
    _group_count_rows(
        np.ascontiguousarray(officers),
        np.ascontiguousarray(crimes),
        np.ascontiguousarray(detected),
        np.asarray(group_index, dtype=np.int64),
        out,
    )
    return out[:, 0], out[:, 1], out[:, 2], out[:, 3]


@njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _add_rows(
    sums: np.ndarray,
    expected: np.ndarray,
    cells: np.ndarray,
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    shares: np.ndarray,
    totals: np.ndarray,
) -> None:
    """sums[cell, 0..3, run] += officers, crimes, detected and officers on crime-free areas of the row of
    (cell, run) (rows: the runs of ``cells[0]``, then of ``cells[1]``, …), visiting every value but adding
    only the nonzero ones (adding 0.0 changes no float); with shares (rows × M, or 0 rows),
    expected[cell, run] += shares × totals (the row's officers)."""
    n_rows, m = officers.shape
    n_runs = n_rows // cells.shape[0]
    for r in range(n_rows):
        cell = cells[r // n_runs]
        run = r % n_runs
        s = sums[cell, :, run]
        for i in range(m):
            p = float(officers[r, i])
            c = float(crimes[r, i])
            d = float(detected[r, i])
            if p != 0.0:
                s[0, i] += p
                if c == 0.0:
                    s[3, i] += p
            if c != 0.0:
                s[1, i] += c
            if d != 0.0:
                s[2, i] += d
        if shares.shape[0] > 0:
            e = expected[cell, run]
            for i in range(m):
                e[i] += shares[r, i] * totals[r]


def add_counts(
    sums: np.ndarray,
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    *,
    cells: np.ndarray | None = None,
    expected: np.ndarray | None = None,
    shares: np.ndarray | None = None,
) -> None:
    """In place: ``sums`` (4 × runs × areas float64: patrol-days, true crimes, detections, patrol-days
    without crime) += the day's counts, in one compiled pass: the float64 additions of ``sums += counts``
    without the ones that add zero (the same numbers, a fraction of the memory traffic). With ``shares``,
    ``expected`` (runs × areas) += shares × each row's officers, as numpy adds them.

    For a block of several cells, ``sums`` is cells × 4 × runs × areas (``expected`` cells × runs ×
    areas) and ``cells`` the cell of each run-block of rows (rows cell-major, then run)."""
    officers, crimes, detected = _counts(officers, crimes, detected)
    if cells is None:
        sums, expected = sums[None], None if expected is None else expected[None]
        cells = np.zeros(1, dtype=np.int64)
    if shares is None or expected is None:
        shares, expected, totals = np.empty((0, 0)), np.empty((0, 0, 0)), np.empty(0)
    else:  # numpy's totals: exact for integer counts, pairwise for fractional (run-averaged) ones
        totals = officers.sum(axis=-1).astype(np.float64)
    cells = np.asarray(cells, dtype=np.int64)
    _add_rows(sums, expected, cells, officers, crimes, detected, np.ascontiguousarray(shares), totals)


def gini_rows(x: np.ndarray, *, cell_rows: int | None = None) -> np.ndarray:
    """:func:`~fairpatrol.metrics.fairness.gini` of each row of rows × areas values: compiled bit for bit
    (:func:`fairpatrol.metrics.dense.dense_gini_rows`) below :data:`SUPPORT_METRICS_MIN_AREAS` areas; from
    there on the weighted sum of the sorted row is one ``einsum`` (equal to rounding; a BLAS product would
    start threads for a 20-row product, ≈ 25 × slower here), on each cell's rows (``cell_rows`` each,
    default all): beyond 8,192 areas numpy's ``einsum`` sums a lone row in another order than a block."""
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[-1]
    if x.size and bool((x < 0).any()):
        raise ValueError("the Gini coefficient needs non-negative values")
    if m < SUPPORT_METRICS_MIN_AREAS:
        if x.ndim != 2:
            return np.asarray(gini(x))
        if not _DENSE[0]:  # the definition, cell by cell (what the kernel reproduces)
            return np.concatenate(_per_cell(lambda r: np.asarray(gini(x[r])), x.shape[0], cell_rows))
        out = np.empty(x.shape[0])
        dense_gini_rows(np.sort(x, axis=-1), out, scratch(x.shape[0], m, 1)[0])
        return out
    if x.ndim == 2 and cell_rows is not None and cell_rows < x.shape[0]:
        return np.concatenate([gini_rows(x[rows]) for rows in _cells(x.shape[0], cell_rows)])
    arr = np.sort(x, axis=-1)
    total = arr.sum(axis=-1)
    weighted = np.einsum("...i,i->...", arr, 2.0 * np.arange(1, m + 1) - m - 1)  # not BLAS: no threads
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weighted / (m * total), np.nan)


def metric_kernels(n_areas: int) -> tuple[object, ...]:
    """The main compiled kernel of a day's metrics on ``n_areas`` areas (compiled on a machine's first
    run): the numpy-exact rows below :data:`SUPPORT_METRICS_MIN_AREAS` areas, the support rows from there
    on."""
    return (dense_rows,) if n_areas < SUPPORT_METRICS_MIN_AREAS else (_support_rows,)
