"""The numpy definitions of the daily metrics, compiled: the same numbers bit for bit, one pass per day.

Below :data:`~fairpatrol.metrics.support.SUPPORT_METRICS_MIN_AREAS` areas a study's daily and per-group
metrics are, by definition, the numbers :func:`fairpatrol.metrics.daily_metrics`,
:func:`fairpatrol.metrics.group_metrics`, :func:`fairpatrol.metrics.gini` and
:func:`fairpatrol.metrics.fairness.pcr_gap` give. Computed with numpy on one day of 20 runs × 256 areas
they cost ≈ 0.7 ms, almost all of it the overhead of ≈ 70 small numpy calls. The kernels here compute the
same numbers for every row of a day's block (all cells of an algorithm) in one compiled call, keeping
numpy's arithmetic: the same elementwise operations in the same order and, for every sum, numpy's own
summation order, which is not one order but three:

* a reduction along a contiguous row (a total over areas, a Gini's sums over the sorted row) is numpy's
  **pairwise** summation (``pairwise_sum``: eight interleaved accumulators up to 128 values, halves
  beyond; the loop of ``numpy/_core/src/umath/loops_utils.h.src``);
* a boolean-masked selection of a block of rows (``values[..., mask]`` with two rows or more) is laid out
  column-major, so its sum over areas adds the areas **in sequence**, row by row;
* the same selection of a lone row is contiguous again: **pairwise**. The daily metrics of a lone row
  were computed as two equal rows (:func:`fairpatrol.metrics.support.day_metrics`), so in sequence; the
  police-to-crime gap at several ε (:func:`fairpatrol.metrics.support.pcr_gaps`) of a lone row pairwise.

Sorting is exact (the sorted values do not depend on the algorithm), and products, quotients and
comparisons are the IEEE operations numpy does (no fused multiply-add: numba compiles without
``fastmath``). A Gini coefficient sorts only the values that differ from the day's common value (0 for
officers; the ratio κ of an area without officers or crime for the PCR) and places the block of common
values at its rank, which gives the sorted row numpy sums. ``tests/metrics/test_dense.py`` checks every
output against the numpy definitions with ``==`` on random days (zero-crime days, empty groups, one row).

Compile time is part of a machine's first run (``docs/engine.md``, "A machine's first run"), so the
kernels are written for it: helpers compile into the three entry points only (no Python wrappers of
their own), every scratch array comes from :func:`scratch` (an allocation inside a kernel compiles its
own overload), and no helper is called with an integer literal, which numba compiles as one more
specialization (counters are declared ``int64`` through ``locals``; ``tests/metrics/test_dense.py``
checks that every function compiles once).
"""

from __future__ import annotations

import numpy as np
from numba import int64, njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)

#: Options of the helpers, called only from the compiled entry points (and compiled into them).
_HELPER = {"nogil": True, "error_model": "numpy", "no_cpython_wrapper": True, "no_cfunc_wrapper": True}
#: Options of the entry points, cached on disk with their helpers.
_ENTRY = {"nogil": True, "error_model": "numpy", "cache": True}

#: Floats of a pairwise sum's explicit stack (:func:`pairwise_sum`): 64 levels of (start, size, halves
#: done) and 64 partial sums.
STACK = 256

#: Entries (× M, plus a constant) of the tables of distinct values or (officers, crimes) pairs the integer
#: shortcuts below use; a row whose values do not fit is computed area by area (sorting its support).
_TABLE_FACTOR = 16
_TABLE_EXTRA = 4096


def table_size(m: int) -> int:
    """Entries of the tables of one kernel call."""
    return _TABLE_FACTOR * m + _TABLE_EXTRA


def scratch(n_rows: int, m: int, n_groups: int) -> tuple[np.ndarray, ...]:
    """The scratch arrays of :func:`dense_rows` and :func:`dense_pcr_gaps` for rows × M counts and G
    groups: floats and integers (laid out by :func:`_views`), rows × M floats (two blocks) and the group
    sums (5 × G × rows)."""
    t = table_size(m)
    floats = np.empty(9 * m + STACK + 2 * t + n_groups + 7 * n_rows)
    ints = np.empty(3 * m + 2 * t + n_rows * m + n_rows, dtype=np.int64)
    return floats, ints, np.empty((2, n_rows, m)), np.empty((5, n_groups, n_rows))


@njit(**_HELPER)
def _views(floats: np.ndarray, ints: np.ndarray, m: int, n_rows: int, n_groups: int) -> tuple:
    """The views of :func:`scratch`'s floats and integers: nine rows of M floats, the pairwise sums' stack,
    two tables of floats, G floats, 3 and 4 floats a row; three rows of M integers, two tables, M
    integers and one integer a row. The tables' size is what is left."""
    table = (ints.shape[0] - 3 * m - n_rows * m - n_rows) // 2
    rows = (
        floats[:m],
        floats[m : 2 * m],
        floats[2 * m : 3 * m],
        floats[3 * m : 4 * m],
        floats[4 * m : 5 * m],
        floats[5 * m : 6 * m],
        floats[6 * m : 7 * m],
        floats[7 * m : 8 * m],
        floats[8 * m : 9 * m],
    )
    at = 9 * m
    stack = floats[at : at + STACK]
    at += STACK
    ratio = floats[at : at + table]
    share_of = floats[at + table : at + 2 * table]
    at += 2 * table
    size = floats[at : at + n_groups]
    at += n_groups
    per_row = floats[at : at + 3 * n_rows], floats[at + 3 * n_rows : at + 7 * n_rows]
    at = 3 * m + 2 * table
    int_rows = ints[:m], ints[m : 2 * m], ints[2 * m : 3 * m]
    tables = ints[3 * m : 3 * m + table], ints[3 * m + table : at]
    pairs = ints[at : at + n_rows * m], ints[at + n_rows * m : at + n_rows * m + n_rows]
    return rows, stack, (ratio, share_of), size, per_row, int_rows, tables, pairs


@njit(**_HELPER)
def _pairwise_block(a: np.ndarray, n: int) -> float:
    """numpy's pairwise sum of ``a[:n]``, n ≤ 128: eight interleaved accumulators (fewer than 8: in order)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0 = a[0]
    r1 = a[1]
    r2 = a[2]
    r3 = a[3]
    r4 = a[4]
    r5 = a[5]
    r6 = a[6]
    r7 = a[7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@njit(locals={"sp": int64, "vp": int64}, **_HELPER)
def pairwise_sum(a: np.ndarray, n: int, stack: np.ndarray) -> float:
    """numpy's pairwise sum of ``a[:n]`` (``np.add.reduce`` of a contiguous float64 row): blocks of ≤ 128
    values (:func:`_pairwise_block`) added up the binary tree of halves, each split about half, a
    multiple of 8 (the loop of ``numpy/_core/src/umath/loops_utils.h.src``). The tree is walked with an
    explicit stack in ``stack`` (:data:`STACK` floats): numba's cache cannot hold a recursive function."""
    if n <= 128:
        return _pairwise_block(a, n)
    half = n // 2 - (n // 2) % 8
    if n - half <= 128:  # two blocks (up to 256 values in most cases)
        return _pairwise_block(a, half) + _pairwise_block(a[half:], n - half)
    # post-order walk: segments (start, size, halves done) at stack[3 s ...], partial sums from 192 on
    stack[0] = 0.0
    stack[1] = n
    stack[2] = 0.0
    sp = 1
    vp = 192
    while sp > 0:
        top = 3 * (sp - 1)
        s = int(stack[top])
        k = int(stack[top + 1])
        done = stack[top + 2]
        if k <= 128:
            stack[vp] = _pairwise_block(a[s:], k)
            vp += 1
            sp -= 1
        elif done < 2.0:
            half = k // 2 - (k // 2) % 8
            stack[top + 2] = done + 1.0
            stack[top + 3] = s if done == 0.0 else s + half
            stack[top + 4] = half if done == 0.0 else k - half
            stack[top + 5] = 0.0
            sp += 1
        else:
            stack[vp - 2] = stack[vp - 2] + stack[vp - 1]
            vp -= 1
            sp -= 1
    return stack[192]


@njit(**_HELPER)
def gini_of_sorted(
    srt: np.ndarray, m: int, weights: np.ndarray, work: np.ndarray, stack: np.ndarray
) -> float:
    """:func:`fairpatrol.metrics.gini` of a row of M values sorted ascending (``weights``: 2i − M − 1 of
    the ranks i = 1 … M; ``work``: a scratch row)."""
    for j in range(m):
        work[j] = srt[j] * weights[j]
    total = pairwise_sum(srt, m, stack)
    if not total > 0.0:
        return np.nan
    return pairwise_sum(work, m, stack) / (m * total)


@njit(**_HELPER)
def sort_by(keys: np.ndarray, idx: np.ndarray, n: int) -> None:
    """Sort ``idx[:n]`` in place by ``keys[idx]``, ascending (Shell sort, Ciura's gaps). The sorted values
    are the same whatever the algorithm; this one compiles in a fraction of a second, where numba's
    ``np.sort`` and ``np.argsort`` add seconds to a first run."""
    for gap in (701, 301, 132, 57, 23, 10, 4, 1):
        for i in range(gap, n):
            j = idx[i]
            key = keys[j]
            h = i
            while h >= gap and keys[idx[h - gap]] > key:
                idx[h] = idx[h - gap]
                h -= gap
            idx[h] = j


@njit(locals={"p": int64}, **_HELPER)
def sorted_with_block(values: np.ndarray, k: int, block: float, out: np.ndarray, idx: np.ndarray) -> None:
    """``out`` (length M) = the sorted row made of ``values[:k]`` and M − k copies of ``block`` (``idx``:
    k integers of scratch)."""
    for j in range(k):
        idx[j] = j
    sort_by(values, idx, k)
    p = 0  # values below the block (equal values: any order, the same row)
    while p < k and values[idx[p]] < block:
        p += 1
    m = out.shape[0]
    z = m - k
    for j in range(p):
        out[j] = values[idx[j]]
    for j in range(p, p + z):
        out[j] = block
    for j in range(p, k):
        out[j + z] = values[idx[j]]


@njit(locals={"pos": int64}, **_HELPER)
def gini_of_histogram(values: np.ndarray, top: int, m: int, total: float, count: np.ndarray) -> float:
    """:func:`fairpatrol.metrics.gini` of M integer ``values`` in [0, ``top``] (``count``: a table of more
    than ``top`` entries), given their exact total. numpy's weighted sum Σ_j (2j + 1 − M) x_(j) over the
    sorted row is a sum of integers, exact in any order while below 2⁵³: the ranks pos … pos + n − 1 of
    the n values v contribute v n (2 pos + n − M), so the same number comes out of the values' histogram
    without sorting or summing the row."""
    if not total > 0.0:
        return np.nan
    for v in range(top + 1):
        count[v] = 0
    for i in range(m):
        count[int(values[i])] += 1
    num = 0.0
    pos = 0
    for v in range(top + 1):
        n = count[v]
        if n > 0:
            num += float(v) * float(n) * float(2 * pos + n - m)
            pos += n
    return num / (m * total)


@njit(**_HELPER)
def pair_index(fp: np.ndarray, fc: np.ndarray, pair: np.ndarray, table: int) -> int:
    """``pair[i]`` = p_i × (max c + 1) + c_i for integer-valued non-negative officers and crimes of a row;
    returns the table width (max c + 1), or 0 (nothing done) when the values or the table of ``table``
    entries do not fit."""
    m = fp.shape[0]
    top_p = 0.0
    top_c = 0.0
    for i in range(m):
        if not (fp[i] >= 0.0 and fc[i] >= 0.0):
            return 0
        if fp[i] > top_p:
            top_p = fp[i]
        if fc[i] > top_c:
            top_c = fc[i]
    if (top_p + 1.0) * (top_c + 1.0) > table:
        return 0
    width = int(top_c) + 1
    for i in range(m):
        pair[i] = int(fp[i]) * width + int(fc[i])
    return width


@njit(locals={"k": int64}, **_HELPER)
def pair_ratios(
    pair: np.ndarray,
    width: int,
    eps: float,
    tpe: float,
    tce: float,
    count: np.ndarray,
    ratio: np.ndarray,
    present: np.ndarray,
) -> int:
    """A PCR ((p + ε)/ΣP_ε) / ((c + ε)/ΣC_ε) depends only on the pair (p, c): for each pair j of the row
    (``present[:k]``, k returned) ``ratio[j]`` (the same operations, the same value as for each area) and
    ``count[j]`` its areas. ``count`` must be zero on entry; the caller zeroes the k entries again."""
    k = 0
    for i in range(pair.shape[0]):
        j = pair[i]
        if count[j] == 0:
            present[k] = j
            k += 1
        count[j] += 1
    for n in range(k):
        j = present[n]
        ratio[j] = ((float(j // width) + eps) / tpe) / ((float(j % width) + eps) / tce)
    return k


@njit(locals={"pos": int64}, **_HELPER)
def sorted_table(count: np.ndarray, ratio: np.ndarray, present: np.ndarray, k: int, out: np.ndarray) -> None:
    """``out`` = the sorted row made of ``count[j]`` copies of ``ratio[j]`` for the k pairs j in
    ``present`` (reordered): a sort of the distinct values only."""
    sort_by(ratio, present, k)
    pos = 0
    for n in range(k):
        j = present[n]
        for _ in range(count[j]):
            out[pos] = ratio[j]
            pos += 1


@njit(locals={"k_pos": int64, "k_pcr": int64, "n_pairs": int64, "width": int64, "top_p": int64}, **_ENTRY)
def dense_rows(
    officers: np.ndarray,
    crimes: np.ndarray,
    detected: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    group_index: np.ndarray,
    n_groups: int,
    eps: float,
    integer: bool,
    daily: np.ndarray,
    groups: np.ndarray,
    floats: np.ndarray,
    ints: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
) -> None:
    """The numpy definitions of the daily and group metrics of rows × M counts, in the output layout of
    :func:`fairpatrol.metrics.support._support_rows`: ``daily`` rows × (accuracy, share_g1, share_g2,
    pcr_g1, pcr_g2, gini_police, gini_pcr, over_policed, under_policed, crimes), ``groups`` rows × 5 × G
    (police, crime and detected share, mean share, mean PCR). Group means add in sequence (a block of
    rows: module docstring). ``integer``: the counts are integers (the engine's), whose sorted rows are
    counted rather than sorted, and whose PCRs are computed once per distinct (officers, crimes) pair
    (:func:`gini_of_histogram`, :func:`pair_ratios`). ``floats``, ``ints``, ``rows`` and ``acc``:
    :func:`scratch`."""
    n_rows, m = officers.shape
    vectors, stack, (ratio, share_of), size, (totals, pair_sums), ints_m, (count, hist), _ = _views(
        floats, ints, m, n_rows, n_groups
    )
    fp, fc, fd, pe, ce, vals, srt, work, weights = vectors
    pair, present, idx = ints_m
    table = count.shape[0]
    shares = rows[0]
    ratios = rows[1]
    for j in range(m):
        weights[j] = 2.0 * (j + 1) - m - 1
    for g in range(n_groups):
        size[g] = 0.0
    n1 = 0.0
    n2 = 0.0
    for i in range(m):
        size[group_index[i]] += 1.0
        n1 += g1[i]
        n2 += g2[i]
    for j in range(table):
        count[j] = 0
    nan = np.nan
    for r in range(n_rows):
        for i in range(m):
            fp[i] = float(officers[r, i])
            fc[i] = float(crimes[r, i])
            fd[i] = float(detected[r, i])
            pe[i] = fp[i] + eps
            ce[i] = fc[i] + eps
        tp = pairwise_sum(fp, m, stack)
        tc = pairwise_sum(fc, m, stack)
        td = pairwise_sum(fd, m, stack)
        tpe = pairwise_sum(pe, m, stack)
        tce = pairwise_sum(ce, m, stack)
        totals[3 * r] = tp
        totals[3 * r + 1] = tc
        totals[3 * r + 2] = td
        kappa = (eps / tpe) / (eps / tce)  # the PCR of an area without officers or crime
        width = pair_index(fp, fc, pair, table) if integer else 0
        n_pairs = pair_ratios(pair, width, eps, tpe, tce, count, ratio, present) if width else 0
        over = under = 0.0
        top_p = 0
        if width:  # integer counts: shares, PCRs and thresholds once per distinct value or pair
            for i in range(m):
                if pair[i] // width > top_p:
                    top_p = pair[i] // width
            for v in range(top_p + 1):
                share_of[v] = float(v) / tp
            for n in range(n_pairs):
                j = present[n]
                c = float(j % width) / tc
                c0 = c if c == c else 0.0  # nan_to_num
                s = share_of[j // width]
                if s > 1.2 * c0:
                    over += count[j]
                if s < 0.8 * c0:
                    under += count[j]
            for i in range(m):
                shares[r, i] = share_of[int(fp[i])]
                ratios[r, i] = ratio[pair[i]]
        else:
            k_pcr = 0
            for i in range(m):
                s = fp[i] / tp
                c = fc[i] / tc
                c0 = c if c == c else 0.0  # nan_to_num
                q = (pe[i] / tpe) / (ce[i] / tce)
                shares[r, i] = s
                ratios[r, i] = q
                if fp[i] != 0.0 or fc[i] != 0.0:
                    vals[k_pcr] = q
                    k_pcr += 1
                if s > 1.2 * c0:
                    over += 1.0
                if s < 0.8 * c0:
                    under += 1.0
        daily[r, 0] = td / tc if tc > 0.0 else nan
        if width and tp * 2.0 * m < 2.0**53 and top_p < table:
            daily[r, 5] = gini_of_histogram(fp, top_p, m, tp, hist)
        else:
            k_pos = 0
            for i in range(m):
                if fp[i] != 0.0:
                    work[k_pos] = fp[i]
                    k_pos += 1
            sorted_with_block(work, k_pos, 0.0, srt, idx)
            daily[r, 5] = gini_of_sorted(srt, m, weights, work, stack)
        if width:
            sorted_table(count, ratio, present, n_pairs, srt)
            for n in range(n_pairs):
                count[present[n]] = 0
        else:
            sorted_with_block(vals, k_pcr, kappa, srt, idx)
        daily[r, 6] = gini_of_sorted(srt, m, weights, work, stack)
        daily[r, 7] = over
        daily[r, 8] = under
        daily[r, 9] = tc
    # Group sums in numpy's order (areas in sequence), areas outer and rows inner: the rows' sums are
    # independent chains of additions, interleaved instead of waiting on one another.
    for k in range(5):
        for g in range(n_groups):
            for r in range(n_rows):
                acc[k, g, r] = 0.0
    for j in range(4 * n_rows):
        pair_sums[j] = 0.0
    for i in range(m):
        g = group_index[i]
        in1 = g1[i]
        in2 = g2[i]
        for r in range(n_rows):
            s = shares[r, i]
            q = ratios[r, i]
            acc[0, g, r] += float(officers[r, i])
            acc[1, g, r] += float(crimes[r, i])
            acc[2, g, r] += float(detected[r, i])
            acc[3, g, r] += s
            acc[4, g, r] += q
            if in1:
                pair_sums[4 * r] += s
                pair_sums[4 * r + 2] += q
            if in2:
                pair_sums[4 * r + 1] += s
                pair_sums[4 * r + 3] += q
    for r in range(n_rows):
        daily[r, 1] = pair_sums[4 * r] / n1 if n1 > 0 else nan
        daily[r, 2] = pair_sums[4 * r + 1] / n2 if n2 > 0 else nan
        daily[r, 3] = pair_sums[4 * r + 2] / n1 if n1 > 0 else nan
        daily[r, 4] = pair_sums[4 * r + 3] / n2 if n2 > 0 else nan
        for k in range(3):
            t = totals[3 * r + k]
            for g in range(n_groups):
                groups[r, k, g] = acc[k, g, r] / t if t > 0.0 else nan
        for g in range(n_groups):
            groups[r, 3, g] = acc[3, g, r] / size[g] if size[g] > 0 else nan
            groups[r, 4, g] = acc[4, g, r] / size[g] if size[g] > 0 else nan


@njit(locals={"k": int64}, **_HELPER)
def _masked_mean(
    values: np.ndarray, mask: np.ndarray, count: float, lone: bool, work: np.ndarray, stack: np.ndarray
) -> float:
    """numpy's ``values[..., mask].mean(-1)`` of one row: pairwise for a lone row, else in sequence."""
    if count == 0:
        return np.nan
    if lone:
        k = 0
        for i in range(values.shape[0]):
            if mask[i]:
                work[k] = values[i]
                k += 1
        return pairwise_sum(work, k, stack) / count
    acc = 0.0
    for i in range(values.shape[0]):
        if mask[i]:
            acc += values[i]
    return acc / count


@njit(locals={"k": int64, "one": int64}, **_ENTRY)
def dense_pcr_gaps(
    officers: np.ndarray,
    crimes: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    eps: np.ndarray,
    lone: bool,
    integer: bool,
    out: np.ndarray,
    floats: np.ndarray,
    ints: np.ndarray,
    rows: np.ndarray,
) -> None:
    """out[r, e] = :func:`fairpatrol.metrics.fairness.pcr_gap` of row r at smoothing eps[e], as numpy
    computes it for a block of rows (``lone=False``) or a lone row (``lone=True``); ``integer``: integer
    counts, whose PCRs are computed once per distinct pair (:func:`pair_ratios`). ``floats``, ``ints``
    and ``rows``: :func:`scratch`."""
    n_rows, m = officers.shape
    one = 1  # (a variable: a literal argument would compile _views once more)
    vectors, stack, (ratio, _), _, (means, _), ints_m, (count, _), (pair, width) = _views(
        floats, ints, m, n_rows, one
    )
    fp, fc, _, pe, ce, _, _, work, _ = vectors
    present = ints_m[1]
    table = count.shape[0]
    q = rows[0]
    n1 = 0.0
    n2 = 0.0
    for i in range(m):
        n1 += g1[i]
        n2 += g2[i]
    for j in range(table):
        count[j] = 0
    for r in range(n_rows):
        width[r] = 0
        if integer:
            for i in range(m):
                fp[i] = float(officers[r, i])
                fc[i] = float(crimes[r, i])
            width[r] = pair_index(fp, fc, pair[r * m : (r + 1) * m], table)
    for e in range(eps.shape[0]):
        ep = eps[e]
        for r in range(n_rows):
            for i in range(m):
                pe[i] = float(officers[r, i]) + ep
                ce[i] = float(crimes[r, i]) + ep
            tpe = pairwise_sum(pe, m, stack)
            tce = pairwise_sum(ce, m, stack)
            if width[r]:
                row = pair[r * m : (r + 1) * m]
                k = pair_ratios(row, width[r], ep, tpe, tce, count, ratio, present)
                for i in range(m):
                    q[r, i] = ratio[row[i]]
                for n in range(k):
                    count[present[n]] = 0
            else:
                for i in range(m):
                    q[r, i] = (pe[i] / tpe) / (ce[i] / tce)
        if lone:
            for r in range(n_rows):
                means[2 * r] = _masked_mean(q[r], g1, n1, lone, work, stack)
                means[2 * r + 1] = _masked_mean(q[r], g2, n2, lone, work, stack)
        else:  # in sequence over the areas, the rows' sums interleaved (as in dense_rows)
            for j in range(2 * n_rows):
                means[j] = 0.0
            for i in range(m):
                if g1[i]:
                    for r in range(n_rows):
                        means[2 * r] += q[r, i]
                if g2[i]:
                    for r in range(n_rows):
                        means[2 * r + 1] += q[r, i]
            for r in range(n_rows):
                means[2 * r] = means[2 * r] / n1 if n1 > 0 else np.nan
                means[2 * r + 1] = means[2 * r + 1] / n2 if n2 > 0 else np.nan
        for r in range(n_rows):
            out[r, e] = abs(means[2 * r] - means[2 * r + 1])


@njit(**_ENTRY)
def dense_gini_rows(srt: np.ndarray, out: np.ndarray, floats: np.ndarray) -> None:
    """out[r] = :func:`fairpatrol.metrics.gini` of row r, given the rows sorted ascending (numpy's SIMD
    sort of the whole block is several times faster than sorting in numba); ``floats``: :func:`scratch`."""
    n_rows, m = srt.shape
    weights = floats[8 * m : 9 * m]
    for j in range(m):
        weights[j] = 2.0 * (j + 1) - m - 1
    for r in range(n_rows):
        out[r] = gini_of_sorted(srt[r], m, weights, floats[:m], floats[9 * m : 9 * m + STACK])
