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
SQUAREM (Varadhan & Roland 2008, Scand. J. Stat. 35:335, scheme S3) to the same EM map in log-parameter
space: two EM steps x1 = F(x0), x2 = F(x1) give r = x1 − x0, v = x2 − 2x1 + x0 and the extrapolation
x' = x0 − 2αr + α²v with α = −‖r‖/‖v‖ ≤ −1, followed by a stabilising EM step F(x'). The fixed point
(the maximum-likelihood estimate) and the stopping rule are those of plain EM: stop when one EM step
changes every parameter (θ, ω and each μ_n) by at most ``tol`` relative.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

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


@njit(cache=True, fastmath=True)
def trigger_weights(t: np.ndarray, omega: float, frac: np.ndarray, bits: np.ndarray) -> None:
    """e^{−ω (t_j − t_{j−1})} for all j ≥ 1 as ``frac[j] · bits[j].view(float32)``, in one SIMD-friendly pass.

    2^x = 2^k · 2^f with k = ⌊x⌋, f ∈ [0, 1): the power of two is built from its exponent bits and 2^f
    by its degree-7 Taylor polynomial in f·ln 2 (relative error < 1e-6). Exponents below 2^−125
    are clamped (such weights are < 3e-38: zero for every sum here). A plain loop of ``math.exp`` cannot
    be vectorised; this one is, and it is 5× faster. Entries where t_j ≤ t_{j−1} (area boundaries, ties)
    are never read.
    """
    scale = -omega * _LOG2E
    for j in range(1, t.shape[0]):
        x = min(max(scale * (t[j] - t[j - 1]), -125.0), 0.0)
        ki = np.int32(x + 126.0) - np.int32(126)
        y = np.float32((x - ki) * _LN2)
        frac[j] = np.float32(1.0) + y * (
            np.float32(1.0)
            + y
            * (
                np.float32(0.5)
                + y
                * (
                    np.float32(1.0 / 6.0)
                    + y
                    * (
                        np.float32(1.0 / 24.0)
                        + y
                        * (
                            np.float32(1.0 / 120.0)
                            + y * (np.float32(1.0 / 720.0) + y * np.float32(1.0 / 5040.0))
                        )
                    )
                )
            )
        )
        bits[j] = (ki + np.int32(127)) << np.int32(23)


@njit(cache=True, fastmath=True)
def em_map(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    span: float,
    theta: float,
    omega: float,
    mu: np.ndarray,
    mu_out: np.ndarray,
    frac: np.ndarray,
    bits: np.ndarray,
) -> tuple[float, float]:
    """One EM iteration F(θ, ω, μ) → (θ', ω', μ') on area-major events; μ' is written to ``mu_out``.

    ``w`` are event weights (1 for plain counts; inverse learning probabilities for feedback-corrected
    learning): an event of weight w counts w times, as a child in the likelihood Σ_j w_j log λ(t_j) and as
    a parent in λ (A_j = Σ_{t_i<t_j} w_i e^{−ω(t_j − t_i)}), so θ = Σ_j w_j Σ_i p_ij / Σ_j w_j.

    ``frac`` (float32) and ``bits`` (int32) are scratch arrays of the events' length for the trigger
    weights e^{−ωΔ} (:func:`trigger_weights`, relative error < 1e-6, far below any useful tolerance);
    every sum is accumulated in double precision (``fastmath`` lets the compiler reorder the sums: ≈ 17 %
    faster, results equal to rounding).
    """
    trigger_weights(t, omega, frac, bits)
    power = bits.view(np.float32)
    n_areas = starts.shape[0] - 1
    tw = theta * omega
    s_p = 0.0
    s_pdt = 0.0
    n = 0.0
    for a in range(n_areas):
        lo = starts[a]
        hi = starts[a + 1]
        if hi == lo:
            mu_out[a] = 0.0
            continue
        m = mu[a]
        big_a = 0.0
        big_b = 0.0
        c = w[lo]
        tau = t[lo]
        bg = w[lo]  # the area's first event has no parent in the window
        n += w[lo]
        for j in range(lo + 1, hi):
            d = t[j] - tau
            wj = w[j]
            if d > 0.0:  # t[j − 1] = τ: the weight of this gap was computed by trigger_weights
                e = float(frac[j] * power[j])
                big_b = e * (big_b + d * (big_a + c))
                big_a = e * (big_a + c)
                c = wj
                tau = t[j]
            else:
                c += wj
            n += wj
            lam = m + tw * big_a
            if lam > 0.0:
                inv = wj / lam
                s_p += big_a * inv
                s_pdt += big_b * inv
                bg += m * inv
            else:  # no background yet (warm start into a newly active area) and no parent
                bg += wj
        mu_out[a] = bg / span
    s_p *= tw
    s_pdt *= tw
    new_omega = omega if s_pdt <= 0.0 else _clip(s_p / s_pdt, OMEGA_BOUNDS[0], OMEGA_BOUNDS[1])
    new_theta = _clip(s_p / n, THETA_BOUNDS[0], THETA_BOUNDS[1])
    return new_theta, new_omega


@njit(cache=True)
def _close(
    th0: float, om0: float, mu0: np.ndarray, th1: float, om1: float, mu1: np.ndarray, tol: float
) -> bool:
    if abs(th1 - th0) > tol * abs(th0) or abs(om1 - om0) > tol * abs(om0):
        return False
    for a in range(mu0.shape[0]):
        if abs(mu1[a] - mu0[a]) > tol * abs(mu0[a]):
            return False
    return True


@njit(cache=True)
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
    """EM (optionally SQUAREM-accelerated) on area-major events; ``mu`` is the start and gets the fit.

    Returns (θ, ω, EM-map evaluations, converged).
    """
    n_areas = starts.shape[0] - 1
    if t.shape[0] == 0:
        mu[:] = 0.0
        return theta, omega, 0, True
    mu0 = mu.copy()
    mu1 = np.empty(n_areas)
    mu2 = np.empty(n_areas)
    mup = np.empty(n_areas)
    frac = np.empty(t.shape[0], dtype=np.float32)
    bits = np.zeros(t.shape[0], dtype=np.int32)
    th0, om0 = theta, omega
    evals = 0
    converged = False
    alpha_max = 4.0
    while evals < max_iter:
        th1, om1 = em_map(t, w, starts, span, th0, om0, mu0, mu1, frac, bits)
        evals += 1
        if _close(th0, om0, mu0, th1, om1, mu1, tol):
            th0 = th1
            om0 = om1
            mu0[:] = mu1
            converged = True
            break
        if not accelerate or evals + 2 > max_iter:
            th0 = th1
            om0 = om1
            mu0[:] = mu1
            continue
        th2, om2 = em_map(t, w, starts, span, th1, om1, mu1, mu2, frac, bits)
        evals += 1
        if _close(th1, om1, mu1, th2, om2, mu2, tol):
            th0 = th2
            om0 = om2
            mu0[:] = mu2
            converged = True
            break
        # SQUAREM extrapolation in log space (positive parameters; μ of areas without events stays 0)
        ok = th0 > 0.0 and om0 > 0.0
        r_th = math.log(th1) - math.log(th0) if ok else 0.0
        r_om = math.log(om1) - math.log(om0) if ok else 0.0
        v_th = math.log(th2) - 2.0 * math.log(th1) + math.log(th0) if ok else 0.0
        v_om = math.log(om2) - 2.0 * math.log(om1) + math.log(om0) if ok else 0.0
        sr = r_th * r_th + r_om * r_om
        sv = v_th * v_th + v_om * v_om
        for a in range(n_areas):
            if mu2[a] > 0.0:
                if mu0[a] <= 0.0 or mu1[a] <= 0.0:
                    ok = False
                    break
                ra = math.log(mu1[a]) - math.log(mu0[a])
                va = math.log(mu2[a]) - 2.0 * math.log(mu1[a]) + math.log(mu0[a])
                sr += ra * ra
                sv += va * va
        thp, omp = th2, om2
        mup[:] = mu2
        if ok and sv > 0.0:
            alpha = max(min(-math.sqrt(sr / sv), -1.0), -alpha_max)
            if alpha == -alpha_max:
                alpha_max *= 4.0
            k1 = -2.0 * alpha
            k2 = alpha * alpha
            thp = math.exp(math.log(th0) + k1 * r_th + k2 * v_th)
            omp = math.exp(math.log(om0) + k1 * r_om + k2 * v_om)
            for a in range(n_areas):
                if mu2[a] > 0.0:
                    la0 = math.log(mu0[a])
                    la1 = math.log(mu1[a])
                    mup[a] = math.exp(la0 + k1 * (la1 - la0) + k2 * (math.log(mu2[a]) - 2.0 * la1 + la0))
            if not (THETA_BOUNDS[0] <= thp <= THETA_BOUNDS[1] and OMEGA_BOUNDS[0] <= omp <= OMEGA_BOUNDS[1]):
                thp, omp = th2, om2
                mup[:] = mu2
        th3, om3 = em_map(t, w, starts, span, thp, omp, mup, mu1, frac, bits)
        evals += 1
        if _close(thp, omp, mup, th3, om3, mu1, tol):
            converged = True
        th0 = th3
        om0 = om3
        mu0[:] = mu1
        if converged:
            break
    mu[:] = mu0
    return th0, om0, evals, converged


@njit(cache=True)
def hawkes_forecast(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    t_from: float,
    theta: float,
    omega: float,
    mu: np.ndarray,
    out: np.ndarray,
    horizon: float = 1.0,
) -> None:
    """Expected events in [t_from, t_from + horizon) per area: the intensity integrated over the period,

    ∫ λ_n = μ_n h + θ (1 − e^{−ω h}) Σ_{i ∈ n, t_i < t_from} w_i e^{−ω (t_from − t_i)}

    (self-excitation by events that fall inside the forecast period itself is not included).
    """
    k = theta * (1.0 - math.exp(-omega * horizon))
    for a in range(starts.shape[0] - 1):
        s = 0.0
        # newest first; stop once e^{−ω(t_from − t_j)} < e^{−50} ≈ 2e-22 (below double precision of the sum)
        for j in range(starts[a + 1] - 1, starts[a] - 1, -1):
            lag = t_from - t[j]
            if lag <= 0.0:
                continue
            if omega * lag > 50.0:
                break
            s += w[j] * math.exp(-omega * lag)
        out[a] = mu[a] * horizon + k * s


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


@njit(parallel=True, cache=True)
def hawkes_em_batch(
    times: np.ndarray,
    perm: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    weights: np.ndarray,
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
) -> None:
    """Warm-started EM refit of every simulated run at once (parallel over runs).

    ``perm`` lists all events area by area (time order within an area); the window's events of area a are
    ``perm[klo[a]:khi[a]]``. Row r trains on those with ``weights[r, j] > 0`` (its own history + detected +
    reported incidents, each with its learning weight), starting from its previous (θ_r, ω_r, μ_r), which
    are overwritten; ``out[r]`` receives the forecast for the day starting at ``t_fit``.
    """
    n_areas = klo.shape[0]
    size = 0
    for a in range(n_areas):
        size += khi[a] - klo[a]
    for r in prange(weights.shape[0]):
        starts = np.zeros(n_areas + 1, dtype=np.int64)
        buf = np.empty(size)
        wbuf = np.empty(size)
        i = 0
        for a in range(n_areas):
            for k in range(klo[a], khi[a]):
                j = perm[k]
                wj = weights[r, j]
                if wj > 0.0:
                    buf[i] = times[j]
                    wbuf[i] = wj
                    i += 1
            starts[a + 1] = i
        ts = buf[:i]
        ws = wbuf[:i]
        th, om, it, conv = hawkes_em(
            ts, ws, starts, span, theta[r], omega[r], mu[r], tol, max_iter, accelerate
        )
        theta[r] = th
        omega[r] = om
        n_iter[r] = it
        converged[r] = conv
        hawkes_forecast(ts, ws, starts, t_fit, th, om, mu[r], out[r])
