"""Numba kernels of the grid SEPP: truncated neighbour lists and the EM map (docs/grid.md, "SEPP").

Model (time in days, space in metres), for events (t_j, s_j) of a training window of length T:

    λ(s, t) = μ(s) + Σ_{t_i < t} θ ω e^{−ω (t − t_i)} g(s − s_i)

The background μ is computed by the caller at every event (:class:`fairpatrol.grid.models.SEPP`): a
weighted Gaussian KDE μ(s_j) = (1/T) Σ_{k ≠ j} q_k K_h(s_j − s_k) (:func:`kde_background`, leaving the
event itself out), or a constant rate per grid cell. g is either the isotropic Gaussian trigger φ_σ
(``gaussian``) or the parent's grid cell, g = 1[cell(s) = cell(s_i)] / |cell| (``cell``, the grid ETAS of
Mohler et al. 2015). This is the stochastic-declustering EM of Mohler et al. (2011, JASA 106:100),
Zhuang, Ogata & Vere-Jones (2002): with λ_j = λ(s_j, t_j),

    E-step:  p_jj = μ(s_j) / λ_j,   p_ij = θ ω e^{−ω Δt_ij} g(Δs_ij) / λ_j
    M-step:  θ = Σ p_ij / N,  ω = Σ p_ij / Σ p_ij Δt_ij,  σ² = Σ p_ij |Δs_ij|² / (2 Σ p_ij),
             q_j = p_jj (the background weights of μ, whose total Σ_j p_jj / T is μ̄).

Truncation: a pair (i, j) enters only if 0 < t_j − t_i ≤ ``time_cutoff`` and |s_j − s_i| ≤
``space_cutoff`` (``cell``: same cell), and the KDE background sum at s_j only over events within
``bg_cutoff`` bandwidths; both lists are built once per fit (:func:`neighbour_pairs`, a bucketed search)
and every EM iteration is then O(pairs). The iteration is serial: at Chicago's 6-8 thousand events per
30-day window it takes a few milliseconds, less than the cost of waking a second thread on a shared
machine, and its sums are then reproducible to the bit. Events with equal times cannot trigger each
other (strictly earlier parents; date-only events are placed within their day first). An event with
neither background mass nor a parent in reach counts as background (q_j = 1).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)


@njit(cache=True, no_cfunc_wrapper=True)
def _buckets(
    x: np.ndarray, y: np.ndarray, x0: float, y0: float, size: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Events bucketed on a square lattice: (order, bucket_start, key per event, nbx, nby).

    Events of bucket b are ``order[bucket_start[b]:bucket_start[b+1]]``, in input (time) order.
    """
    n = x.shape[0]
    bx = np.empty(n, dtype=np.int64)
    by = np.empty(n, dtype=np.int64)
    nbx = 1
    nby = 1
    for j in range(n):
        bx[j] = int(math.floor((x[j] - x0) / size))  # noqa: RUF046 - numba needs the explicit int
        by[j] = int(math.floor((y[j] - y0) / size))  # noqa: RUF046
        nbx = max(nbx, bx[j] + 1)
        nby = max(nby, by[j] + 1)
    key = bx * nby + by
    order = np.argsort(key, kind="mergesort")
    start = np.zeros(nbx * nby + 1, dtype=np.int64)
    for j in range(n):
        start[key[j] + 1] += 1
    for b in range(nbx * nby):
        start[b + 1] += start[b]
    return order, start, key, nbx, nby


@njit(cache=True, no_cfunc_wrapper=True)
def _scan(
    x, y, t, order, start, key, nbx, nby, reach, radius2, max_lag, causal, ptr, idx, d2, fill
):  # pragma: no cover - compiled
    n = x.shape[0]
    count = 0
    for j in range(n):
        if fill:
            ptr[j] = count
        bx = key[j] // nby
        by = key[j] % nby
        for gx in range(max(bx - reach, 0), min(bx + reach + 1, nbx)):
            for gy in range(max(by - reach, 0), min(by + reach + 1, nby)):
                b = gx * nby + gy
                lo = start[b]
                hi = start[b + 1]
                if causal:  # bucket events are in time order: parents with t_j - max_lag <= t_i < t_j
                    a = lo
                    z = hi
                    while a < z:  # first with t >= t_j - max_lag
                        m = (a + z) // 2
                        if t[order[m]] < t[j] - max_lag:
                            a = m + 1
                        else:
                            z = m
                    first = a
                    a = first
                    z = hi
                    while a < z:  # first with t >= t_j
                        m = (a + z) // 2
                        if t[order[m]] < t[j]:
                            a = m + 1
                        else:
                            z = m
                    lo = first
                    hi = a
                for e in range(lo, hi):
                    i = order[e]
                    if i == j and causal:
                        continue
                    dx = x[i] - x[j]
                    dy = y[i] - y[j]
                    dd = dx * dx + dy * dy
                    if dd <= radius2:
                        if fill:
                            idx[count] = i
                            d2[count] = dd
                        count += 1
    if fill:
        ptr[n] = count
    return count


@njit(cache=True, no_cfunc_wrapper=True)
def neighbour_pairs(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    bucket: float,
    x0: float,
    y0: float,
    radius: float,
    max_lag: float,
    causal: bool,
    same_bucket: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour lists in CSR form: partners of event j are ``idx[ptr[j]:ptr[j+1]]`` with squared distances.

    ``causal``: partners i with 0 < t_j − t_i ≤ ``max_lag`` (events must be sorted by time), else every
    event (j itself included). Partners lie within ``radius`` metres; with ``same_bucket`` only events in
    the same ``bucket``-metre square of the lattice anchored at (x0, y0) qualify (the cell trigger), else
    the 3 × 3 neighbourhood of squares is searched (``bucket`` must be ≥ ``radius``).
    """
    order, start, key, nbx, nby = _buckets(x, y, x0, y0, bucket)
    reach = 0 if same_bucket else 1
    r2 = radius * radius if math.isfinite(radius) else np.inf
    ptr = np.empty(x.shape[0] + 1, dtype=np.int64)
    dummy_i = np.empty(0, dtype=np.int32)
    dummy_d = np.empty(0, dtype=np.float64)
    total = _scan(
        x, y, t, order, start, key, nbx, nby, reach, r2, max_lag, causal, ptr, dummy_i, dummy_d, False
    )
    idx = np.empty(total, dtype=np.int32)
    d2 = np.empty(total, dtype=np.float64)
    _scan(x, y, t, order, start, key, nbx, nby, reach, r2, max_lag, causal, ptr, idx, d2, True)
    return ptr, idx, d2


@njit(cache=True, no_cfunc_wrapper=True)
def gaussian_weights(d2: np.ndarray, h: float) -> np.ndarray:
    """K_h at squared distances ``d2``: exp(−d²/2h²) / (2πh²) per m²."""
    out = np.empty(d2.shape[0])
    c = 1.0 / (2.0 * math.pi * h * h)
    a = 1.0 / (2.0 * h * h)
    for e in range(d2.shape[0]):
        out[e] = c * math.exp(-d2[e] * a)
    return out


@njit(cache=True, no_cfunc_wrapper=True)
def kde_background(
    q: np.ndarray, bg_ptr: np.ndarray, bg_idx: np.ndarray, bg_k: np.ndarray, span: float, out: np.ndarray
) -> None:
    """μ(s_j) = (1/T) Σ_{k ≠ j} q_k K_h(s_j − s_k) at every event, written to ``out`` (per m² per day).

    Leave-one-out: the event's own kernel is left out. Included, its weight q_j K_h(0)/T lets every event
    explain itself: at h = 250 m and T = 30 days it is about as large as the whole background density of
    a city, and θ collapses to 0 (docs/grid.md, "SEPP").
    """
    for j in range(q.shape[0]):
        b = 0.0
        for e in range(bg_ptr[j], bg_ptr[j + 1]):
            i = bg_idx[e]
            if i != j:
                b += q[i] * bg_k[e]
        out[j] = b / span


@njit(cache=True, no_cfunc_wrapper=True)
def em_step(
    t: np.ndarray,
    background: np.ndarray,
    tr_ptr: np.ndarray,
    tr_idx: np.ndarray,
    tr_d2: np.ndarray,
    theta: float,
    omega: float,
    sigma: float,
    gaussian: bool,
    cell_area: float,
    q_out: np.ndarray,
) -> tuple[float, float, float, float]:
    """One E-step with the M-step sums: returns (Σ p_ij, Σ p_ij Δt, Σ p_ij |Δs|², Σ log λ_j).

    ``background`` is μ(s_j) at every event (per m² per day); the new background probabilities p_jj are
    written to ``q_out``.
    """
    n = t.shape[0]
    if gaussian:
        norm = theta * omega / (2.0 * math.pi * sigma * sigma)
        inv = 1.0 / (2.0 * sigma * sigma)
    else:
        norm = theta * omega / cell_area
        inv = 0.0
    s_p = 0.0
    s_pdt = 0.0
    s_pd2 = 0.0
    loglik = 0.0
    for j in range(n):
        b = background[j]
        s = 0.0
        sdt = 0.0
        sd2 = 0.0
        for e in range(tr_ptr[j], tr_ptr[j + 1]):
            dt = t[j] - t[tr_idx[e]]
            g = math.exp(-omega * dt - tr_d2[e] * inv)
            s += g
            sdt += g * dt
            sd2 += g * tr_d2[e]
        lam = b + norm * s
        if lam > 0.0:
            q_out[j] = b / lam
            s_p += norm * s / lam
            s_pdt += norm * sdt / lam
            s_pd2 += norm * sd2 / lam
            loglik += math.log(lam)
        else:  # no background mass and no parent in reach: count the event as background
            q_out[j] = 1.0
    return s_p, s_pdt, s_pd2, loglik
