"""Numba kernels for the per-area exponential Hawkes process (PredPol as in Mohler et al. 2015).

Intensity of area n (time in days):

    λ_n(t) = μ_n + Σ_{t_i < t, i ∈ n} θ ω exp(−ω (t − t_i))

Events are held *area-major*: the events of area a are ``t[starts[a]:starts[a+1]]`` in time order. The
E-step uses the Markov property of the exponential kernel: along one area's events,

    A_j = Σ_{t_i<t_j} e^{−ω(t_j − t_i)}           = e^{−ωΔ} (A_τ + c)
    B_j = Σ_{t_i<t_j} (t_j − t_i) e^{−ω(t_j − t_i)} = e^{−ωΔ} (B_τ + Δ (A_τ + c))

where τ is the area's previous distinct event time, Δ = t_j − τ and c the number of events at τ, so one
EM iteration costs O(events) instead of the O(events²) of the pairwise p-matrix. Parents are strictly
earlier: events of one area at the same recorded time (multi-victim rows, times rounded to the minute)
cannot trigger each other. With λ_j = μ_n + θωA_j the expected branching quantities are

    Σ_i p_ij = θωA_j / λ_j,   Σ_i p_ij (t_j − t_i) = θωB_j / λ_j,   p_jj = μ_n / λ_j

and the M-step of SPEC §3 is ω = Σ p_ij / Σ p_ij (t_j − t_i), θ = Σ p_ij / N, μ_n = Σ_{j ∈ n} p_jj / T.
The E-step is causal, unlike the transposed E-step of the published study's code.

EM converges linearly and slowly when the trigger is weak or the data shift; ``accelerate`` applies
Anderson acceleration (:func:`_anderson_point`) to the same EM map in log-parameter space: each
iteration evaluates one EM step F(x_k) and moves to the combination of the last few EM steps that best
cancels their residuals (about 30 % fewer EM evaluations than SQUAREM on the simulation's daily refits).
On the rare flat likelihoods where undamped Anderson steps wander, a fit falls back to SQUAREM
(:func:`_squarem_point`) after ``AA_PATIENCE`` evaluations. The fixed point (the maximum-likelihood
estimate) and the stopping rule are those of plain EM: stop when one EM step F(x_k) changes every
parameter (θ, ω and each μ_n) by at most ``tol`` relative, and return F(x_k).

Many fits run at once as SIMD *lanes* (:func:`em_map`, :func:`hawkes_em_lanes`): the simulated runs of
a scenario share one event list in which each run marks, by a weight, what it learned, so the inner
loop over runs is straight-line arithmetic the compiler vectorises (4 doubles per AVX2 instruction).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

THETA_BOUNDS = (1e-6, 0.999)
OMEGA_BOUNDS = (1e-4, 1e4)


@njit(cache=True)
def area_major(
    times: np.ndarray, weights: np.ndarray, area: np.ndarray, n_areas: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reorder time-sorted events area by area (stable).

    Returns (times, weights, starts): the events of area a are ``times[starts[a]:starts[a+1]]``.
    """
    starts = np.zeros(n_areas + 1, dtype=np.int64)
    for j in range(area.shape[0]):
        starts[area[j] + 1] += 1
    for a in range(n_areas):
        starts[a + 1] += starts[a]
    fill = starts[:-1].copy()
    out = np.empty(times.shape[0])
    out_w = np.empty(times.shape[0])
    for j in range(times.shape[0]):
        a = area[j]
        out[fill[a]] = times[j]
        out_w[fill[a]] = weights[j]
        fill[a] += 1
    return out, out_w, starts


@njit(cache=True)
def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


@intrinsic
def _int_bits_as_float(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (an LLVM bitcast, free and vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@njit(cache=True, fastmath=True)
def _exp_neg(x: float) -> float:
    """e^x for x ≤ 0, branch-free so that loops calling it run in SIMD.

    e^x = 2^y with y = x log₂e, split as 2^k · 2^f with k = round(y) and f ∈ (−½, ½]: the power of two is
    built from its exponent bits, 2^f by its degree-9 Taylor polynomial in f·ln 2 (relative error
    < 1e-11). Arguments below −708 are clamped (e^x < 3e-308: zero for every sum here). A loop calling
    ``math.exp`` cannot be vectorised; a loop calling this can.
    """
    y = max(x * _LOG2E, -1022.0)
    ki = np.int32(y + 1023.5)  # round(y) + 1023 ∈ [1, 1023]: the biased exponent
    z = (y - (np.float64(ki) - 1023.0)) * _LN2
    p = 1.0 / 362880.0
    p = 1.0 / 40320.0 + z * p
    p = 1.0 / 5040.0 + z * p
    p = 1.0 / 720.0 + z * p
    p = 1.0 / 120.0 + z * p
    p = 1.0 / 24.0 + z * p
    p = 1.0 / 6.0 + z * p
    p = 0.5 + z * p
    p = 1.0 + z * p
    return (1.0 + z * p) * _int_bits_as_float(np.int64(ki) << 52)


@njit(cache=True, fastmath=True)
def em_map(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    span: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    theta_out: np.ndarray,
    omega_out: np.ndarray,
    mu_out: np.ndarray,
    width: int,
) -> None:
    """One EM iteration F(θ, ω, μ) → (θ', ω', μ') for the first ``width`` parameter sets ("lanes").

    Lane l fits the events with ``w[:, l] > 0`` (``w`` is events × G, float32): an event of weight w
    counts w times, as a child in the likelihood Σ_j w_j log λ(t_j) and as a parent in λ
    (A_j = Σ_{t_i<t_j} w_i e^{−ω(t_j − t_i)}), so θ = Σ_j w_j Σ_i p_ij / Σ_j w_j; an event of weight 0
    does not exist for that lane (it only splits a decay e^{−ω(Δ₁+Δ₂)} into e^{−ωΔ₁}e^{−ωΔ₂}, equal to
    rounding). Lanes are the inner loop and share the event times, so the arithmetic runs in SIMD across
    lanes without per-lane branches: all simulated runs share one event list in which each run marks
    what it learned.

    ``mu``/``mu_out`` are areas × G; ``theta``/``omega`` and their outputs have length G; ``total`` holds
    each lane's Σ_j w_j (N of the M-step: constant over the iterations). A lane without events keeps its θ
    and ω and gets μ = 0. Sums are double precision (``fastmath`` lets the compiler
    reorder them: results equal to rounding).
    """
    n_areas = starts.shape[0] - 1
    g = width
    # the lane state, in rows far enough apart that the compiler's run-time overlap checks let the lane
    # loops run in SIMD (separate small arrays can sit closer than one unrolled vector step)
    stride = g + 64
    state = np.zeros((9, stride))
    tw = state[0]
    big_a = state[1]
    big_b = state[2]
    c = state[3]
    bg = state[4]
    s_p = state[5]
    s_pdt = state[6]
    n = state[7]
    om = state[8]
    for lane in range(g):
        tw[lane] = theta[lane] * omega[lane]
        om[lane] = omega[lane]
    for a in range(n_areas):
        lo = starts[a]
        hi = starts[a + 1]
        m = mu[a]  # one view per area (a view per event would cost a reference count each)
        if hi == lo:
            mu_out[a, :] = 0.0
            continue
        big_a[:] = 0.0
        big_b[:] = 0.0
        c[:] = 0.0
        bg[:] = 0.0
        tau = t[lo]
        for k in range(lo, hi):
            d = t[k] - tau
            if d > 0.0:  # a new event time: decay every lane's state to t_k
                for lane in range(g):
                    wv = np.float64(w[k, lane])
                    e = _exp_neg(-om[lane] * d)
                    s = big_a[lane] + c[lane]
                    bb = e * (big_b[lane] + d * s)
                    ba = e * s
                    big_b[lane] = bb
                    big_a[lane] = ba
                    c[lane] = wv
                    n[lane] += wv
                    lam = m[lane] + tw[lane] * ba
                    pos = lam > 0.0  # λ = 0: no background yet (warm start into a new area), no parent
                    inv = wv / (lam if pos else 1.0)
                    s_p[lane] += ba * inv
                    s_pdt[lane] += bb * inv
                    bg[lane] += m[lane] * inv if pos else wv
                tau = t[k]
            else:  # the same time as the previous event: no decay, ties do not trigger each other
                for lane in range(g):
                    wv = np.float64(w[k, lane])
                    c[lane] += wv
                    n[lane] += wv
                    lam = m[lane] + tw[lane] * big_a[lane]
                    pos = lam > 0.0
                    inv = wv / (lam if pos else 1.0)
                    s_p[lane] += big_a[lane] * inv
                    s_pdt[lane] += big_b[lane] * inv
                    bg[lane] += m[lane] * inv if pos else wv
        for lane in range(g):
            mu_out[a, lane] = bg[lane] / span
    for lane in range(g):
        sp = tw[lane] * s_p[lane]
        spdt = tw[lane] * s_pdt[lane]
        if n[lane] <= 0.0:
            theta_out[lane] = theta[lane]
            omega_out[lane] = omega[lane]
            continue
        omega_out[lane] = omega[lane] if spdt <= 0.0 else _clip(sp / spdt, OMEGA_BOUNDS[0], OMEGA_BOUNDS[1])
        theta_out[lane] = _clip(sp / n[lane], THETA_BOUNDS[0], THETA_BOUNDS[1])


@njit(cache=True)
def _close(
    th0: np.ndarray,
    om0: np.ndarray,
    mu0: np.ndarray,
    th1: np.ndarray,
    om1: np.ndarray,
    mu1: np.ndarray,
    lane: int,
    tol: float,
) -> bool:
    """Did one EM step change every parameter of ``lane`` by at most ``tol`` relative?"""
    if abs(th1[lane] - th0[lane]) > tol * abs(th0[lane]) or abs(om1[lane] - om0[lane]) > tol * abs(om0[lane]):
        return False
    for a in range(mu0.shape[0]):
        if abs(mu1[a, lane] - mu0[a, lane]) > tol * abs(mu0[a, lane]):
            return False
    return True


AA_MEMORY = 5  # Anderson acceleration: how many past EM steps the extrapolation combines
AA_PATIENCE = 20  # EM evaluations of Anderson acceleration before a lane falls back to SQUAREM

# rows of the per-lane state arrays of hawkes_em_lanes
_TH_X, _OM_X, _TH_F, _OM_F, _LAST_NORM, _ALPHA_MAX = 0, 1, 2, 3, 4, 5  # par: floats per lane
_COUNT, _PHASE = 0, 1  # ints: Anderson history length, SQUAREM cycle position
_MU_X, _MU_F = 0, 1  # mus: μ of x and of F(x), areas × lanes


@njit(cache=True)
def _log_point(
    th: np.ndarray, om: np.ndarray, mu: np.ndarray, mu_f: np.ndarray, lane: int, out: np.ndarray
) -> bool:
    """(log θ, log ω, log μ_n) of one lane's point into ``out``; μ_n = 0 gives 0 (areas without events).

    Returns False if the point has μ_n = 0 where F(x) (``mu_f``) has μ_n > 0 (no log to compare with)."""
    out[0] = math.log(th[lane])
    out[1] = math.log(om[lane])
    ok = True
    for a in range(mu.shape[0]):
        v = mu[a, lane]
        if v > 0.0:
            out[2 + a] = math.log(v)
        else:
            out[2 + a] = 0.0
            ok = ok and not mu_f[a, lane] > 0.0
    return ok


@njit(cache=True)
def _set_from_log(par: np.ndarray, mus: np.ndarray, v: np.ndarray, lane: int) -> bool:
    """Set lane's x from log-parameters ``v`` (μ only where F(x) has μ > 0); False, untouched, if θ or ω
    leave their bounds."""
    th = math.exp(v[0])
    om = math.exp(v[1])
    if not (THETA_BOUNDS[0] <= th <= THETA_BOUNDS[1] and OMEGA_BOUNDS[0] <= om <= OMEGA_BOUNDS[1]):
        return False
    par[_TH_X, lane] = th
    par[_OM_X, lane] = om
    for a in range(mus.shape[1]):
        if mus[_MU_F, a, lane] > 0.0:
            mus[_MU_X, a, lane] = math.exp(v[2 + a])
    return True


@njit(cache=True)
def _take_image(par: np.ndarray, mus: np.ndarray, lane: int) -> None:
    """x ← F(x): the plain EM step."""
    par[_TH_X, lane] = par[_TH_F, lane]
    par[_OM_X, lane] = par[_OM_F, lane]
    for a in range(mus.shape[1]):
        mus[_MU_X, a, lane] = mus[_MU_F, a, lane]


@njit(cache=True)
def _anderson_point(
    par: np.ndarray, ints: np.ndarray, mus: np.ndarray, hist_f: np.ndarray, hist_g: np.ndarray, lane: int
) -> None:
    """Replace lane ``lane``'s point x by the Anderson-accelerated next point, given f = F(x).

    In log-parameter space (v = log θ, log ω, log μ_n over the areas with events), Anderson acceleration
    of type II with memory m = ``AA_MEMORY`` (Walker & Ni 2011, SIAM J. Numer. Anal. 49:1715; for EM:
    Henderson & Varadhan 2019, J. Comput. Graph. Stat. 28:834) keeps the last m + 1 images f_i = F(x_i)
    and residuals g_i = f_i − x_i and moves to x' = f_k − ΔF γ with γ = argmin ‖g_k − ΔG γ‖ (ΔF, ΔG the
    successive differences; least squares by modified Gram–Schmidt). It restarts (forgets the history and
    takes the plain EM step x' = f) when the residual norm more than doubles since the last iteration
    (undamped Anderson steps can wander on the flat likelihoods of sparse training data), when the
    history is degenerate, or when x' leaves the (θ, ω) bounds. Only the path changes: the fixed point
    (the maximum-likelihood estimate) and the stopping rule are those of plain EM.
    """
    n_par = mus.shape[1] + 2
    mem1 = hist_f.shape[0]
    vf = np.empty(n_par)
    vx = np.empty(n_par)
    _log_point(par[_TH_F], par[_OM_F], mus[_MU_F], mus[_MU_F], lane, vf)
    usable = _log_point(par[_TH_X], par[_OM_X], mus[_MU_X], mus[_MU_F], lane, vx)
    norm_g = 0.0
    for i in range(n_par):
        if i < 2 or mus[_MU_F, i - 2, lane] > 0.0:
            vx[i] = vf[i] - vx[i]  # the residual g, 0 where F(x) has no background
        else:
            vx[i] = 0.0
        norm_g += vx[i] * vx[i]
    norm_g = math.sqrt(norm_g)
    k = ints[_COUNT, lane] if usable and norm_g <= 2.0 * par[_LAST_NORM, lane] else 0
    par[_LAST_NORM, lane] = norm_g
    if k == mem1:  # drop the oldest pair
        for j in range(mem1 - 1):
            for i in range(n_par):
                hist_f[j, i, lane] = hist_f[j + 1, i, lane]
                hist_g[j, i, lane] = hist_g[j + 1, i, lane]
        k -= 1
    for i in range(n_par):
        hist_f[k, i, lane] = vf[i]
        hist_g[k, i, lane] = vx[i]
    k += 1
    ints[_COUNT, lane] = k
    _take_image(par, mus, lane)  # the plain EM step, unless the extrapolation below succeeds
    if k < 2:
        return
    # least squares min ‖g_k − ΔG γ‖ by modified Gram–Schmidt on the columns ΔG_j = g_{j+1} − g_j
    n_col = k - 1
    q = np.empty((n_col, n_par))
    r = np.zeros((n_col, n_col))
    for j in range(n_col):
        norm0 = 0.0
        for i in range(n_par):
            q[j, i] = hist_g[j + 1, i, lane] - hist_g[j, i, lane]
            norm0 += q[j, i] * q[j, i]
        for p in range(j):
            dot = 0.0
            for i in range(n_par):
                dot += q[p, i] * q[j, i]
            r[p, j] = dot
            for i in range(n_par):
                q[j, i] -= dot * q[p, i]
        norm = 0.0
        for i in range(n_par):
            norm += q[j, i] * q[j, i]
        norm = math.sqrt(norm)
        if not norm > 1e-10 * math.sqrt(norm0):  # (nearly) dependent history: restart from this step
            for i in range(n_par):
                hist_f[0, i, lane] = vf[i]
                hist_g[0, i, lane] = vx[i]
            ints[_COUNT, lane] = 1
            return
        r[j, j] = norm
        for i in range(n_par):
            q[j, i] /= norm
    gamma = np.empty(n_col)
    for j in range(n_col):
        dot = 0.0
        for i in range(n_par):
            dot += q[j, i] * vx[i]
        gamma[j] = dot
    for j in range(n_col - 1, -1, -1):
        for p in range(j + 1, n_col):
            gamma[j] -= r[j, p] * gamma[p]
        gamma[j] /= r[j, j]
    v = vf  # x' = f_k − ΔF γ, in place of f_k's log
    for j in range(n_col):
        for i in range(n_par):
            v[i] -= gamma[j] * (hist_f[j + 1, i, lane] - hist_f[j, i, lane])
    if not _set_from_log(par, mus, v, lane):  # outside the bounds: restart from the plain EM step
        for i in range(n_par):
            hist_f[0, i, lane] = hist_f[k - 1, i, lane]
            hist_g[0, i, lane] = hist_g[k - 1, i, lane]
        ints[_COUNT, lane] = 1


@njit(cache=True)
def _squarem_point(par: np.ndarray, ints: np.ndarray, mus: np.ndarray, saved: np.ndarray, lane: int) -> None:
    """Replace lane ``lane``'s point x by the next SQUAREM point, given f = F(x) (the fallback when
    Anderson acceleration does not settle within ``AA_PATIENCE`` evaluations).

    SQUAREM (Varadhan & Roland 2008, Scand. J. Stat. 35:335, scheme S3) in log-parameter space: from x0,
    x1 = F(x0) and x2 = F(x1) give r = x1 − x0, v = x2 − 2x1 + x0 and x' = x0 − 2αr + α²v with
    α = −‖r‖/‖v‖ ∈ [−α_max, −1] (α_max grows ×4 when reached); F(x') starts the next cycle. μ of areas
    without events stays 0; an x' outside the (θ, ω) bounds falls back to x2. The lane's phase counts the
    cycle's evaluations (0: f = x1, 1: f = x2, 2: f = F(x')); ``saved`` holds log x0 and log x1.
    """
    n_par = mus.shape[1] + 2
    p = ints[_PHASE, lane]
    ints[_PHASE, lane] = (p + 1) % 3
    if p == 0:  # f = F(x0): keep x0 and x1, evaluate F(x1) next
        v0 = np.empty(n_par)
        v1 = np.empty(n_par)
        ok0 = _log_point(par[_TH_X], par[_OM_X], mus[_MU_X], mus[_MU_F], lane, v0)
        _log_point(par[_TH_F], par[_OM_F], mus[_MU_F], mus[_MU_F], lane, v1)
        for i in range(n_par):
            saved[0, i, lane] = v0[i]
            saved[1, i, lane] = v1[i]
        if not ok0:  # x0 lacks a background where F(x0) has one: no extrapolation this cycle
            saved[0, 0, lane] = np.nan
    _take_image(par, mus, lane)  # x1 after phase 0; x2 unless the extrapolation succeeds; x0 after phase 2
    if p != 1:
        return
    v2 = np.empty(n_par)
    _log_point(par[_TH_F], par[_OM_F], mus[_MU_F], mus[_MU_F], lane, v2)
    sr = 0.0
    sv = 0.0
    for i in range(n_par):
        if i >= 2 and not mus[_MU_F, i - 2, lane] > 0.0:
            continue
        r = saved[1, i, lane] - saved[0, i, lane]
        v = v2[i] - 2.0 * saved[1, i, lane] + saved[0, i, lane]
        sr += r * r
        sv += v * v
    if not sv > 0.0:  # also NaN: x0 or x1 lacked a background where x2 has one
        return
    alpha = max(min(-math.sqrt(sr / sv), -1.0), -par[_ALPHA_MAX, lane])
    if alpha == -par[_ALPHA_MAX, lane]:
        par[_ALPHA_MAX, lane] *= 4.0
    for i in range(n_par):
        r = saved[1, i, lane] - saved[0, i, lane]
        v2[i] = (
            saved[0, i, lane]
            - 2.0 * alpha * r
            + alpha * alpha * (v2[i] - 2.0 * saved[1, i, lane] + saved[0, i, lane])
        )
    _set_from_log(par, mus, v2, lane)


# The lane loops run in SIMD only from 16 lanes on, 8 at a time: narrower loops and the lanes beyond a
# multiple of 8 run scalar, about 4-5 times slower per lane (measured). So the evaluated width is kept a
# multiple of 8 and at least 16: finished lanes and zero-weight columns are padding (a lane without weight
# changes nothing and costs nothing extra); only at most ``_MAX_SCALAR_LANES`` working lanes run scalar.
_SIMD_STEP = 8
_MIN_SIMD_WIDTH = 16
_MAX_SCALAR_LANES = 3


@njit(cache=True)
def _simd_width(active: int) -> int:
    """The number of lane columns to evaluate for ``active`` working lanes (see ``_SIMD_STEP``)."""
    if active <= _MAX_SCALAR_LANES:
        return active
    return max(_MIN_SIMD_WIDTH, -(-active // _SIMD_STEP) * _SIMD_STEP)


@njit(cache=True)
def _move_lanes(
    src: np.ndarray,
    dst: np.ndarray,
    wk: np.ndarray,
    lanes: np.ndarray,
    ints: np.ndarray,
    par: np.ndarray,
    mus: np.ndarray,
    hist: np.ndarray,
) -> None:
    """Copy lanes ``src`` into lanes ``dst`` (the last axis of every per-lane array; the weights in one
    pass over their rows)."""
    for k in range(wk.shape[0]):
        for j in range(src.shape[0]):
            wk[k, dst[j]] = wk[k, src[j]]
    for j in range(src.shape[0]):
        s, d = src[j], dst[j]
        lanes[d] = lanes[s]
        for x in range(ints.shape[0]):
            ints[x, d] = ints[x, s]
        for x in range(par.shape[0]):
            par[x, d] = par[x, s]
        for x in range(mus.shape[0]):
            for a in range(mus.shape[1]):
                mus[x, a, d] = mus[x, a, s]
        for x in range(hist.shape[0]):
            for a in range(hist.shape[1]):
                hist[x, a, d] = hist[x, a, s]


def hawkes_em_lanes(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    span: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    tol: float,
    max_iter: int,
    accelerate: bool,
    n_iter: np.ndarray,
    converged: np.ndarray,
    patience: int = AA_PATIENCE,
) -> None:
    """EM of G lanes at once on one area-major event list (:func:`hawkes_em_chunk` over all lanes).

    ``w`` is events × G (float32, 0 = not in that lane's data); ``starts`` the area boundaries.
    ``theta``, ``omega`` (G) and ``mu`` (G × areas) are the starting points and receive the fits;
    ``n_iter`` the EM-map evaluations each lane needed and ``converged`` whether it met ``tol`` within
    ``max_iter``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    n_lanes = w.shape[1]
    hawkes_em_chunk(
        np.ascontiguousarray(t, dtype=np.float64),
        np.ascontiguousarray(w, dtype=np.float32),
        np.ascontiguousarray(starts[:-1]),
        np.ascontiguousarray(starts[1:]),
        np.arange(n_lanes, dtype=np.int64),
        0.0,
        float(span),
        theta,
        omega,
        mu,
        float(tol),
        int(max_iter),
        bool(accelerate),
        np.empty((n_lanes, len(starts) - 1)),
        n_iter,
        converged,
        int(patience),
        np.empty(0),
        np.empty(0, dtype=np.float32),
    )


def hawkes_em(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    span: float,
    theta: float,
    omega: float,
    mu: np.ndarray,
    tol: float,
    max_iter: int,
    accelerate: bool,
) -> tuple[float, float, int, bool]:
    """EM of one series on area-major events (:func:`hawkes_em_lanes` with one lane); ``mu`` (float64,
    contiguous) is the start and gets the fit.

    ``w`` is stored as float32 like the simulation's learning weights. Returns (θ, ω, EM-map evaluations,
    converged).
    """
    th, om = np.array([float(theta)]), np.array([float(omega)])
    it, conv = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.bool_)
    w1 = np.reshape(w, (-1, 1))
    hawkes_em_lanes(t, w1, starts, span, th, om, mu.reshape(1, -1), tol, max_iter, accelerate, it, conv)
    return float(th[0]), float(om[0]), int(it[0]), bool(conv[0])


@njit(cache=True, fastmath=True)
def hawkes_forecast(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    t_from: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    out: np.ndarray,
    horizon: float = 1.0,
) -> None:
    """Expected events in [t_from, t_from + horizon) per lane and area (``out``: G × areas):

    ∫ λ_n = μ_n h + θ (1 − e^{−ω h}) Σ_{i ∈ n, t_i < t_from} w_i e^{−ω (t_from − t_i)}

    summed newest event first (``w`` events × G as in :func:`em_map`; ``mu`` G × areas) until every
    lane's e^{−ω(t_from − t_i)} < e^{−50} ≈ 2e-22, below double precision of the sum. Self-excitation by
    events inside the forecast period itself is not included.
    """
    n_areas = starts.shape[0] - 1
    g = w.shape[1]
    kk = np.empty(g)
    om_min = np.inf
    for lane in range(g):
        kk[lane] = theta[lane] * (1.0 - math.exp(-omega[lane] * horizon))
        om_min = min(om_min, omega[lane])
    excite = np.empty(g)
    for a in range(n_areas):
        excite[:] = 0.0
        for k in range(starts[a + 1] - 1, starts[a] - 1, -1):
            lag = t_from - t[k]
            if lag <= 0.0:
                continue
            if om_min * lag > 50.0:
                break
            for lane in range(g):
                excite[lane] += np.float64(w[k, lane]) * _exp_neg(-omega[lane] * lag)
        for lane in range(g):
            out[lane, a] = mu[lane, a] * horizon + kk[lane] * excite[lane]


@njit(cache=True)
def hawkes_loglik(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    t_start: float,
    t_end: float,
    theta: float,
    omega: float,
    mu: np.ndarray,
) -> float:
    """Weighted log-likelihood Σ w_j log λ(t_j) − ∫λ of the events on [t_start, t_end) (parents before the
    window ignored; the trigger of an event is integrated to t_end)."""
    ll = -mu.sum() * (t_end - t_start)
    tw = theta * omega
    for a in range(starts.shape[0] - 1):
        lo = starts[a]
        hi = starts[a + 1]
        if hi == lo:
            continue
        big_a = 0.0
        c = w[lo]
        tau = t[lo]
        ll += w[lo] * (math.log(mu[a]) - theta * (1.0 - math.exp(-omega * (t_end - t[lo]))))
        for j in range(lo + 1, hi):
            d = t[j] - tau
            if d > 0.0:
                big_a = math.exp(-omega * d) * (big_a + c)
                c = w[j]
                tau = t[j]
            else:
                c += w[j]
            ll += w[j] * (math.log(mu[a] + tw * big_a) - theta * (1.0 - math.exp(-omega * (t_end - t[j]))))
    return ll


@njit(cache=True, nogil=True)
def hawkes_em_chunk(
    times: np.ndarray,
    w: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    runs: np.ndarray,
    t_fit: float,
    span: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    tol: float,
    max_iter: int,
    accelerate: bool,
    out: np.ndarray,
    n_iter: np.ndarray,
    converged: np.ndarray,
    patience: int,
    work_t: np.ndarray,
    work_w: np.ndarray,
) -> None:
    """Warm-started EM refit of the runs ``runs`` as SIMD lanes, and their forecasts.

    Each lane runs its own iteration x_{k+1} = A(x_k, F(x_k)) with the shared map :func:`em_map`:
    Anderson acceleration (:func:`_anderson_point`), then SQUAREM (:func:`_squarem_point`) if it has not
    converged after ``patience`` evaluations, or plain EM x_{k+1} = F(x_k) without ``accelerate``. It
    stops, returning F(x_k), as soon as that EM step changed every parameter by at most ``tol`` relative
    (SPEC §3), or at ``max_iter`` evaluations, returning the last F(x_k), not converged (``n_iter`` and
    ``converged`` record which). A finished lane leaves the working set at once (the last working lanes
    move into its place, one pass over the weights), so the cost is the sum of the lanes' own
    iterations; below ``_MIN_SIMD_WIDTH`` lanes finished ones stay as padding that keeps the SIMD loop,
    until at most ``_MAX_SCALAR_LANES`` are left.

    ``times`` and ``w`` (events × all runs, float32 learning weights, 0 = not learned) list all events
    area by area, time-ordered within an area; the window's events of area a are rows ``klo[a]:khi[a]``.
    Run r starts from its previous (θ_r, ω_r, μ_r), which are overwritten; ``out[r]`` receives its
    forecast for the day starting at ``t_fit``. All the window's events are walked whichever runs learned
    them, so a run's numbers do not depend on which runs share its chunk. Releases the GIL: chunks run in
    parallel threads (:func:`hawkes_em_runs`).

    ``work_t`` (float64) and ``work_w`` (float32) are reusable buffers for the window's copy (events, and
    events × 2 × :func:`_simd_width` weights): a simulation passes the same ones every day instead of
    allocating ≈ 25 MB per chunk-day; buffers that are too small are replaced by fresh ones.
    """
    n_areas = klo.shape[0]
    g = runs.shape[0]
    size = 0
    for a in range(n_areas):
        size += khi[a] - klo[a]
    starts = np.zeros(n_areas + 1, dtype=np.int64)
    if work_t.shape[0] < size:
        work_t = np.empty(size)
    cap_g = max(g, _simd_width(g))
    if work_w.shape[0] < 2 * size * cap_g:
        work_w = np.empty(2 * size * cap_g, dtype=np.float32)
    tc = work_t[:size]
    wc = work_w[: size * g].reshape((size, g))
    i = 0
    for a in range(n_areas):
        for k in range(klo[a], khi[a]):
            tc[i] = times[k]
            for lane in range(g):
                wc[i, lane] = w[k, runs[lane]]
            i += 1
        starts[a + 1] = i
    th = np.empty(g)
    om = np.empty(g)
    muc = np.empty((g, n_areas))
    for lane in range(g):
        th[lane] = theta[runs[lane]]
        om[lane] = omega[runs[lane]]
        muc[lane] = mu[runs[lane]]
    it = np.zeros(g, dtype=np.int64)
    conv = np.zeros(g, dtype=np.bool_)
    # EM of the lanes with events (a lane without any: nothing to fit, μ = 0), each on its own iteration
    total = np.zeros(g)
    for k in range(wc.shape[0]):
        for lane in range(g):
            total[lane] += wc[k, lane]
    lanes = np.flatnonzero(total > 0.0)
    for lane in range(g):
        if total[lane] <= 0.0:
            muc[lane, :] = 0.0
            it[lane] = 0
            conv[lane] = True
    n_work = lanes.shape[0]
    cap = _simd_width(n_work)  # columns: the working lanes, then zero-weight padding
    wk = work_w[size * cap_g : size * (cap_g + cap)].reshape((size, cap))
    for k in range(size):
        for i in range(n_work):
            wk[k, i] = wc[k, lanes[i]]
        for i in range(n_work, cap):
            wk[k, i] = 0.0
    # per-lane state (last axis = lane): the point x and its image F(x), step state, histories
    par = np.ones((6, cap))
    ints = np.zeros((2, cap), dtype=np.int64)
    mus = np.ones((2, n_areas, cap))
    mem1 = AA_MEMORY + 1
    hist = np.zeros((2 * mem1 + 2, n_areas + 2, cap))  # Anderson images, residuals; SQUAREM's x0, x1
    for i in range(n_work):
        par[_TH_X, i] = th[lanes[i]]
        par[_OM_X, i] = om[lanes[i]]
        par[_LAST_NORM, i] = np.inf
        par[_ALPHA_MAX, i] = 4.0
        for a in range(n_areas):
            mus[_MU_X, a, i] = muc[lanes[i], a]
    done = np.ones(cap, dtype=np.bool_)  # padding columns count as finished
    done[:n_work] = False
    lanes_all = np.zeros(cap, dtype=np.int64)
    lanes_all[:n_work] = lanes
    lanes = lanes_all
    width = cap  # lanes [0, width) are evaluated; finished ones among them are padding
    active = n_work
    evals = 0
    while active > 0:
        em_map(
            tc,
            wk,
            starts,
            span,
            par[_TH_X],
            par[_OM_X],
            mus[_MU_X],
            par[_TH_F],
            par[_OM_F],
            mus[_MU_F],
            width,
        )
        evals += 1
        for i in range(width):
            if done[i]:
                continue
            close = _close(par[_TH_X], par[_OM_X], mus[_MU_X], par[_TH_F], par[_OM_F], mus[_MU_F], i, tol)
            if close or evals >= max_iter:
                r = lanes[i]
                th[r] = par[_TH_F, i]
                om[r] = par[_OM_F, i]
                for a in range(n_areas):
                    muc[r, a] = mus[_MU_F, a, i]
                it[r] = evals
                conv[r] = close
                done[i] = True
                active -= 1
            elif accelerate and evals >= patience:
                _squarem_point(par, ints, mus, hist[2 * mem1 :], i)
            elif accelerate:
                _anderson_point(par, ints, mus, hist[:mem1], hist[mem1 : 2 * mem1], i)
            else:
                _take_image(par, mus, i)
        # drop finished lanes from the working set: the last working lanes move into their places
        n_keep = min(_simd_width(active), width)
        if n_keep < width:
            holes = np.flatnonzero(done[:n_keep])
            movers = np.flatnonzero(~done[n_keep:width]) + n_keep
            n_move = min(holes.shape[0], movers.shape[0])
            _move_lanes(movers[:n_move], holes[:n_move], wk, lanes, ints, par, mus, hist)
            done[holes[:n_move]] = False
            width = n_keep
    fc = np.empty((g, n_areas))
    hawkes_forecast(tc, wc, starts, t_fit, th, om, muc, fc)
    for lane in range(g):
        r = runs[lane]
        theta[r] = th[lane]
        omega[r] = om[lane]
        mu[r] = muc[lane]
        n_iter[r] = it[lane]
        converged[r] = conv[lane]
        out[r] = fc[lane]


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n`` threads (one per process: a forked child makes its own)."""
    key = (os.getpid(), n)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fairpatrol-em")
    return _POOLS[key]


def hawkes_em_runs(
    times: np.ndarray,
    w: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    n_chunks: int,
    t_fit: float,
    span: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    tol: float,
    max_iter: int,
    accelerate: bool,
    out: np.ndarray,
    n_iter: np.ndarray,
    converged: np.ndarray,
    work: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> None:
    """Warm-started EM refit of every simulated run at once (:func:`hawkes_em_chunk`): the runs are split
    into ``n_chunks`` interleaved chunks (run r in chunk r mod n_chunks) fitted in parallel threads.

    A run's numbers do not depend on the chunking or the thread count. ``work`` holds one pair of
    buffers per chunk (:func:`em_workspace`), reused from day to day.
    """
    n_chunks = max(1, min(int(n_chunks), w.shape[1]))
    chunks = [np.arange(c, w.shape[1], n_chunks, dtype=np.int64) for c in range(n_chunks)]
    if work is None or len(work) < n_chunks:
        work = [(np.empty(0), np.empty(0, dtype=np.float32))] * n_chunks
    args = (t_fit, span, theta, omega, mu, tol, max_iter, accelerate, out, n_iter, converged, AA_PATIENCE)
    if n_chunks == 1:
        hawkes_em_chunk(times, w, klo, khi, chunks[0], *args, *work[0])
        return
    pool = _pool(n_chunks)
    jobs = [
        pool.submit(hawkes_em_chunk, times, w, klo, khi, runs, *args, *work[c])
        for c, runs in enumerate(chunks)
    ]
    for job in jobs:
        job.result()


def em_workspace(n_events: int, n_runs: int, n_chunks: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Buffers for :func:`hawkes_em_runs`: per chunk, room for a window of ``n_events`` events and its
    weight columns (allocated once per simulation instead of every chunk-day)."""
    n_chunks = max(1, min(int(n_chunks), n_runs))
    g = -(-n_runs // n_chunks)
    cap_g = max(g, int(_simd_width(g)))
    return [(np.empty(n_events), np.empty(2 * n_events * cap_g, dtype=np.float32)) for _ in range(n_chunks)]
