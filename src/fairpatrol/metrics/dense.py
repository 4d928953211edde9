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
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _pairwise_block(a: np.ndarray, start: int, n: int) -> float:
    """numpy's pairwise sum of at most 128 values: eight interleaved accumulators (fewer than 8: in order)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0 = a[start]
    r1 = a[start + 1]
    r2 = a[start + 2]
    r3 = a[start + 3]
    r4 = a[start + 4]
    r5 = a[start + 5]
    r6 = a[start + 6]
    r7 = a[start + 7]
    i = 8
    end = n - n % 8
    while i < end:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def _split(n: int) -> int:
    """Where numpy's pairwise sum splits n > 128 values: about half, a multiple of 8."""
    n2 = n // 2
    return n2 - n2 % 8


@njit(cache=True, nogil=True)
def pairwise_sum(a: np.ndarray, start: int, n: int) -> float:
    """numpy's pairwise sum of ``a[start:start + n]`` (``np.add.reduce`` of a contiguous float64 row):
    blocks of ≤ 128 values (:func:`_pairwise_block`) added up the binary tree of halves. The tree is walked
    with an explicit stack: numba's cache cannot hold a recursive function (it crashes on loading it)."""
    if n <= 128:
        return _pairwise_block(a, start, n)
    n2 = _split(n)
    if n - n2 <= 128:  # two blocks (up to 256 values in most cases)
        return _pairwise_block(a, start, n2) + _pairwise_block(a, start + n2, n - n2)
    # post-order walk: segment (start, size, children done) on a stack, partial sums on another
    seg = np.empty((64, 3), dtype=np.int64)
    vals = np.empty(64)
    seg[0, 0] = start
    seg[0, 1] = n
    seg[0, 2] = 0
    sp = 1
    vp = 0
    while sp > 0:
        s = seg[sp - 1, 0]
        k = seg[sp - 1, 1]
        done = seg[sp - 1, 2]
        if k <= 128:
            vals[vp] = _pairwise_block(a, s, k)
            vp += 1
            sp -= 1
        elif done < 2:
            half = _split(k)
            seg[sp - 1, 2] = done + 1
            seg[sp, 0] = s if done == 0 else s + half
            seg[sp, 1] = half if done == 0 else k - half
            seg[sp, 2] = 0
            sp += 1
        else:
            vals[vp - 2] = vals[vp - 2] + vals[vp - 1]
            vp -= 1
            sp -= 1
    return vals[0]


@njit(cache=True, nogil=True)
def group_sizes(group_index: np.ndarray, n_groups: int, g1: np.ndarray, g2: np.ndarray) -> tuple:
    """Areas of each group, and of the compared pair's first and second group (floats)."""
    size = np.zeros(n_groups)
    for i in range(group_index.shape[0]):
        size[group_index[i]] += 1.0
    n1 = 0.0
    n2 = 0.0
    for i in range(g1.shape[0]):
        n1 += g1[i]
        n2 += g2[i]
    return size, n1, n2


@njit(cache=True, nogil=True)
def gini_weights(m: int) -> np.ndarray:
    """The Gini weights 2i − M − 1 of ranks i = 1 … M, as numpy computes them."""
    w = np.empty(m)
    for j in range(m):
        w[j] = 2.0 * (j + 1) - m - 1
    return w


@njit(cache=True, nogil=True, error_model="numpy")
def gini_of_sorted(srt: np.ndarray, weights: np.ndarray, work: np.ndarray) -> float:
    """:func:`fairpatrol.metrics.gini` of a row already sorted ascending (``work``: a scratch row)."""
    m = srt.shape[0]
    for j in range(m):
        work[j] = srt[j] * weights[j]
    total = pairwise_sum(srt, 0, m)
    if not total > 0.0:
        return np.nan
    return pairwise_sum(work, 0, m) / (m * total)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def sorted_with_block(values: np.ndarray, k: int, block: float, out: np.ndarray) -> None:
    """``out`` (length M) = the sorted row made of ``values[:k]`` and M − k copies of ``block``."""
    idx = np.arange(k)
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


#: Entries (× M, plus a constant) of the tables of distinct values or (officers, crimes) pairs the integer
#: shortcuts below use; a row whose values do not fit is computed area by area (sorting its support).
_TABLE_FACTOR = 16
_TABLE_EXTRA = 4096


@njit(cache=True, nogil=True)
def table_size(m: int) -> int:
    """Entries of the tables of one kernel call (allocated and zeroed once a call)."""
    return _TABLE_FACTOR * m + _TABLE_EXTRA


@njit(cache=True, nogil=True)
def histogram(values: np.ndarray, top: int, count: np.ndarray) -> bool:
    """``count[v]`` = how many of the integer-valued ``values`` equal v, for v in [0, top]; False (nothing
    done) when the range is wider than the table."""
    if top >= count.shape[0]:
        return False
    count[: top + 1] = 0
    for i in range(values.shape[0]):
        count[int(values[i])] += 1
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def gini_of_histogram(count: np.ndarray, top: int, m: int, total: float) -> float:
    """:func:`fairpatrol.metrics.gini` of M integer values given by their histogram, with their exact
    total. numpy's weighted sum Σ_j (2j + 1 − M) x_(j) over the sorted row is a sum of integers, exact in
    any order while below 2⁵³: the ranks pos … pos + n − 1 of the n values v contribute v n (2 pos + n − M),
    so the same number comes out without sorting or summing the row."""
    if not total > 0.0:
        return np.nan
    num = 0.0
    pos = 0
    for v in range(top + 1):
        n = count[v]
        if n > 0:
            num += float(v) * float(n) * float(2 * pos + n - m)
            pos += n
    return num / (m * total)


@njit(cache=True, nogil=True)
def pair_index(fp: np.ndarray, fc: np.ndarray, pair: np.ndarray) -> int:
    """``pair[i]`` = p_i × (max c + 1) + c_i for integer-valued non-negative officers and crimes of a row;
    returns the table width (max c + 1), or 0 (nothing done) when the values or the table do not fit."""
    m = fp.shape[0]
    top_p = 0.0
    top_c = 0.0
    for i in range(m):
        if not (fp[i] >= 0.0 and fc[i] >= 0.0):
            return 0
        top_p = max(top_p, fp[i])
        top_c = max(top_c, fc[i])
    if (top_p + 1.0) * (top_c + 1.0) > table_size(m):
        return 0
    width = int(top_c) + 1
    for i in range(m):
        pair[i] = int(fp[i]) * width + int(fc[i])
    return width


@njit(cache=True, nogil=True)
def width_of_top(pair: np.ndarray, width: int) -> int:
    """The largest officers' count of a row from its pair codes (p × width + c)."""
    top = 0
    for i in range(pair.shape[0]):
        top = max(top, pair[i] // width)
    return top


@njit(cache=True, nogil=True, error_model="numpy")
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
    ``count[j]`` its areas. ``count`` must be zero on entry; :func:`clear_pairs` zeroes it again."""
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


@njit(cache=True, nogil=True)
def clear_pairs(count: np.ndarray, present: np.ndarray, k: int) -> None:
    """Zero the entries :func:`pair_ratios` counted."""
    for n in range(k):
        count[present[n]] = 0


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True, error_model="numpy")
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
) -> None:
    """The numpy definitions of the daily and group metrics of rows × M counts, in the output layout of
    :func:`fairpatrol.metrics.support._support_rows`: ``daily`` rows × (accuracy, share_g1, share_g2,
    pcr_g1, pcr_g2, gini_police, gini_pcr, over_policed, under_policed, crimes), ``groups`` rows × 5 × G
    (police, crime and detected share, mean share, mean PCR). Group means add in sequence (a block of
    rows: module docstring). ``integer``: the counts are integers (the engine's), whose sorted rows are
    counted rather than sorted, and whose PCRs are computed once per distinct (officers, crimes) pair
    (:func:`gini_of_histogram`, :func:`pair_ratios`)."""
    n_rows, m = officers.shape
    size, n1, n2 = group_sizes(group_index, n_groups, g1, g2)
    weights = gini_weights(m)
    fp = np.empty(m)
    fc = np.empty(m)
    fd = np.empty(m)
    pe = np.empty(m)
    ce = np.empty(m)
    vals = np.empty(m)
    srt = np.empty(m)
    work = np.empty(m)
    pair = np.empty(m, dtype=np.int64)
    count = np.zeros(table_size(m), dtype=np.int64)
    ratio = np.empty(table_size(m))
    present = np.empty(m, dtype=np.int64)
    hist = np.empty(table_size(m), dtype=np.int64)
    share_of = np.empty(table_size(m))
    nan = np.nan
    shares = np.empty((n_rows, m))
    ratios = np.empty((n_rows, m))
    totals = np.empty((n_rows, 3))
    for r in range(n_rows):
        for i in range(m):
            fp[i] = float(officers[r, i])
            fc[i] = float(crimes[r, i])
            fd[i] = float(detected[r, i])
            pe[i] = fp[i] + eps
            ce[i] = fc[i] + eps
        tp = pairwise_sum(fp, 0, m)
        tc = pairwise_sum(fc, 0, m)
        td = pairwise_sum(fd, 0, m)
        tpe = pairwise_sum(pe, 0, m)
        tce = pairwise_sum(ce, 0, m)
        totals[r, 0] = tp
        totals[r, 1] = tc
        totals[r, 2] = td
        kappa = (eps / tpe) / (eps / tce)  # the PCR of an area without officers or crime
        width = pair_index(fp, fc, pair) if integer else 0
        n_pairs = pair_ratios(pair, width, eps, tpe, tce, count, ratio, present) if width else 0
        over = under = 0.0
        top_p = 0
        if width:  # integer counts: shares, PCRs and thresholds once per distinct value or pair
            top_p = width_of_top(pair, width)
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
        if width and tp * 2.0 * m < 2.0**53 and histogram(fp, top_p, hist):
            daily[r, 5] = gini_of_histogram(hist, top_p, m, tp)
        else:
            k_pos = 0
            for i in range(m):
                if fp[i] != 0.0:
                    work[k_pos] = fp[i]
                    k_pos += 1
            sorted_with_block(work, k_pos, 0.0, srt)
            daily[r, 5] = gini_of_sorted(srt, weights, work)
        if width:
            sorted_table(count, ratio, present, n_pairs, srt)
            clear_pairs(count, present, n_pairs)
        else:
            sorted_with_block(vals, k_pcr, kappa, srt)
        daily[r, 6] = gini_of_sorted(srt, weights, work)
        daily[r, 7] = over
        daily[r, 8] = under
        daily[r, 9] = tc
    # Group sums in numpy's order (areas in sequence), areas outer and rows inner: the rows' sums are
    # independent chains of additions, interleaved instead of waiting on one another.
    acc = np.zeros((5, n_groups, n_rows))
    pair_sums = np.zeros((4, n_rows))
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
                pair_sums[0, r] += s
                pair_sums[2, r] += q
            if in2:
                pair_sums[1, r] += s
                pair_sums[3, r] += q
    for r in range(n_rows):
        daily[r, 1] = pair_sums[0, r] / n1 if n1 > 0 else nan
        daily[r, 2] = pair_sums[1, r] / n2 if n2 > 0 else nan
        daily[r, 3] = pair_sums[2, r] / n1 if n1 > 0 else nan
        daily[r, 4] = pair_sums[3, r] / n2 if n2 > 0 else nan
        for k in range(3):
            t = totals[r, k]
            for g in range(n_groups):
                groups[r, k, g] = acc[k, g, r] / t if t > 0.0 else nan
        for g in range(n_groups):
            groups[r, 3, g] = acc[3, g, r] / size[g] if size[g] > 0 else nan
            groups[r, 4, g] = acc[4, g, r] / size[g] if size[g] > 0 else nan


@njit(cache=True, nogil=True, error_model="numpy")
def _masked_mean(values: np.ndarray, mask: np.ndarray, count: float, lone: bool, work: np.ndarray) -> float:
    """numpy's ``values[..., mask].mean(-1)`` of one row: pairwise for a lone row, else in sequence."""
    if count == 0:
        return np.nan
    if lone:
        k = 0
        for i in range(values.shape[0]):
            if mask[i]:
                work[k] = values[i]
                k += 1
        return pairwise_sum(work, 0, k) / count
    acc = 0.0
    for i in range(values.shape[0]):
        if mask[i]:
            acc += values[i]
    return acc / count


@njit(cache=True, nogil=True, error_model="numpy")
def dense_pcr_gaps(
    officers: np.ndarray,
    crimes: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    eps: np.ndarray,
    lone: bool,
    integer: bool,
    out: np.ndarray,
) -> None:
    """out[r, e] = :func:`fairpatrol.metrics.fairness.pcr_gap` of row r at smoothing eps[e], as numpy
    computes it for a block of rows (``lone=False``) or a lone row (``lone=True``); ``integer``: integer
    counts, whose PCRs are computed once per distinct pair (:func:`pair_ratios`)."""
    n_rows, m = officers.shape
    _, n1, n2 = group_sizes(np.zeros(m, dtype=np.int64), 1, g1, g2)  # the pair's sizes only
    pe = np.empty(m)
    ce = np.empty(m)
    fp = np.empty(m)
    fc = np.empty(m)
    work = np.empty(m)
    pair = np.empty((n_rows, m), dtype=np.int64)
    width = np.zeros(n_rows, dtype=np.int64)
    count = np.zeros(table_size(m), dtype=np.int64)
    ratio = np.empty(table_size(m))
    present = np.empty(m, dtype=np.int64)
    q = np.empty((n_rows, m))
    means = np.zeros((2, n_rows))
    if integer:
        for r in range(n_rows):
            for i in range(m):
                fp[i] = float(officers[r, i])
                fc[i] = float(crimes[r, i])
            width[r] = pair_index(fp, fc, pair[r])
    for e in range(eps.shape[0]):
        ep = eps[e]
        for r in range(n_rows):
            for i in range(m):
                pe[i] = float(officers[r, i]) + ep
                ce[i] = float(crimes[r, i]) + ep
            tpe = pairwise_sum(pe, 0, m)
            tce = pairwise_sum(ce, 0, m)
            if width[r]:
                k = pair_ratios(pair[r], width[r], ep, tpe, tce, count, ratio, present)
                for i in range(m):
                    q[r, i] = ratio[pair[r, i]]
                clear_pairs(count, present, k)
            else:
                for i in range(m):
                    q[r, i] = (pe[i] / tpe) / (ce[i] / tce)
        if lone:
            for r in range(n_rows):
                means[0, r] = _masked_mean(q[r], g1, n1, True, work)
                means[1, r] = _masked_mean(q[r], g2, n2, True, work)
        else:  # in sequence over the areas, the rows' sums interleaved (as in dense_rows)
            means[:] = 0.0
            for i in range(m):
                if g1[i]:
                    for r in range(n_rows):
                        means[0, r] += q[r, i]
                if g2[i]:
                    for r in range(n_rows):
                        means[1, r] += q[r, i]
            for r in range(n_rows):
                means[0, r] = means[0, r] / n1 if n1 > 0 else np.nan
                means[1, r] = means[1, r] / n2 if n2 > 0 else np.nan
        for r in range(n_rows):
            out[r, e] = abs(means[0, r] - means[1, r])


@njit(cache=True, nogil=True, error_model="numpy")
def dense_gini_rows(srt: np.ndarray, out: np.ndarray) -> None:
    """out[r] = :func:`fairpatrol.metrics.gini` of row r, given the rows sorted ascending (numpy's SIMD
    sort of the whole block is several times faster than sorting in numba)."""
    n_rows, m = srt.shape
    weights = gini_weights(m)
    work = np.empty(m)
    for r in range(n_rows):
        out[r] = gini_of_sorted(srt[r], weights, work)
