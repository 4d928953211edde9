"""Numba kernels for the per-area exponential Hawkes process (PredPol as in Mohler et al. 2015).

Intensity of area n (time in days):

    λ_n(t) = μ_n + Σ_{t_i < t, i ∈ n} θ ω exp(−ω (t − t_i))

The E-step uses the Markov property of the exponential kernel: for the events of one area in time order,

    A_j = Σ_{i<j} e^{−ω(t_j − t_i)}           = e^{−ω Δ_j} (A_{j−1} + 1)
    B_j = Σ_{i<j} (t_j − t_i) e^{−ω(t_j − t_i)} = e^{−ω Δ_j} (B_{j−1} + Δ_j (A_{j−1} + 1))

with Δ_j the gap to the previous event of the same area, so one EM iteration costs O(events) instead of the
O(events²) of the pairwise p-matrix. Parents must be strictly earlier: events of one area at the same
recorded time (multi-victim rows, times rounded to the minute) cannot trigger each other, so the recursion
carries the number c of events at the last distinct time, A_j = e^{−ωΔ}(A_τ + c). With λ_j = μ_n + θ ω A_j, the expected branching quantities are

    Σ_i p_ij = θ ω A_j / λ_j,   Σ_i p_ij (t_j − t_i) = θ ω B_j / λ_j,   p_jj = μ_n / λ_j

and the M-step of SPEC §3 is ω = Σ p_ij / Σ p_ij (t_j − t_i), θ = Σ p_ij / N, μ_n = Σ_{j ∈ n} p_jj / T.
The E-step is causal (parents strictly precede children), unlike the transposed E-step of the published
study's code (see docs/paper-compat.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

THETA_BOUNDS = (1e-6, 0.999)
OMEGA_BOUNDS = (1e-4, 1e4)


@njit(cache=True)
def gaps_to_previous(times: np.ndarray, area: np.ndarray, n_areas: int) -> np.ndarray:
    """Δ_j = t_j − (previous event time of the same area), +inf for an area's first event."""
    last = np.full(n_areas, np.nan)
    gaps = np.empty(times.shape[0])
    for j in range(times.shape[0]):
        a = area[j]
        if math.isnan(last[a]):
            gaps[j] = np.inf
        else:
            gaps[j] = times[j] - last[a]
        last[a] = times[j]
    return gaps


@njit(cache=True)
def _advance(
    d: float, omega: float, a_state: np.ndarray, b_state: np.ndarray, c_state: np.ndarray, a: int
) -> tuple[float, float]:
    """(A_j, B_j) of the next event of area ``a``, ``d`` days after the area's previous event.

    State per area: A and B at its last distinct event time τ and the number c of events at τ.
    A tie (d = 0) has the same strictly-earlier parents as the previous event.
    """
    if d == np.inf:
        a_state[a] = 0.0
        b_state[a] = 0.0
        c_state[a] = 1.0
    elif d == 0.0:
        c_state[a] += 1.0
    else:
        e = math.exp(-omega * d)
        prev = a_state[a] + c_state[a]
        b_state[a] = e * (b_state[a] + d * prev)
        a_state[a] = e * prev
        c_state[a] = 1.0
    return a_state[a], b_state[a]


@njit(cache=True)
def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


@njit(cache=True)
def hawkes_em(
    times: np.ndarray,
    area: np.ndarray,
    n_areas: int,
    span: float,
    theta: float,
    omega: float,
    mu: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[float, float, int, bool]:
    """EM for the per-area exponential Hawkes process on events sorted by time.

    ``span`` is the observation length T (days), ``mu`` (per area, per day) is the starting point and is
    overwritten with the fit. Returns (θ, ω, iterations, converged). Converged means every parameter's
    relative change in the last iteration was at most ``tol`` (θ, ω and each μ_n: all, not any).
    """
    n = times.shape[0]
    if n == 0:
        mu[:] = 0.0
        return theta, omega, 0, True
    gaps = gaps_to_previous(times, area, n_areas)
    a_state = np.zeros(n_areas)
    b_state = np.zeros(n_areas)
    c_state = np.zeros(n_areas)
    bg = np.zeros(n_areas)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        bg[:] = 0.0
        s_p = 0.0
        s_pdt = 0.0
        tw = theta * omega
        for j in range(n):
            a = area[j]
            aj, bj = _advance(gaps[j], omega, a_state, b_state, c_state, a)
            lam = mu[a] + tw * aj
            if lam > 0.0:
                s_p += tw * aj / lam
                s_pdt += tw * bj / lam
                bg[a] += mu[a] / lam
            else:  # no background yet (warm start into a new area) and no parent: all background
                bg[a] += 1.0
        new_omega = omega if s_pdt <= 0.0 else _clip(s_p / s_pdt, OMEGA_BOUNDS[0], OMEGA_BOUNDS[1])
        new_theta = _clip(s_p / n, THETA_BOUNDS[0], THETA_BOUNDS[1])
        ok = abs(new_theta - theta) <= tol * abs(theta) and abs(new_omega - omega) <= tol * abs(omega)
        for a in range(n_areas):
            m = bg[a] / span
            if ok and abs(m - mu[a]) > tol * abs(mu[a]):
                ok = False
            mu[a] = m
        theta = new_theta
        omega = new_omega
        if ok:
            converged = True
            break
    return theta, omega, it, converged


@njit(cache=True)
def hawkes_forecast(
    times: np.ndarray,
    area: np.ndarray,
    t_from: float,
    theta: float,
    omega: float,
    mu: np.ndarray,
    out: np.ndarray,
    horizon: float = 1.0,
) -> None:
    """Expected events in [t_from, t_from + horizon) per area: the intensity integrated over the period,

    ∫ λ_n = μ_n h + θ (1 − e^{−ω h}) Σ_{i ∈ n, t_i < t_from} e^{−ω (t_from − t_i)}

    (self-excitation by events that fall inside the forecast period itself is not included).
    """
    out[:] = mu * horizon
    k = theta * (1.0 - math.exp(-omega * horizon))
    for j in range(times.shape[0]):
        if times[j] < t_from:
            out[area[j]] += k * math.exp(-omega * (t_from - times[j]))


@njit(cache=True)
def hawkes_loglik(
    times: np.ndarray, area: np.ndarray, n_areas: int, t_start: float, t_end: float,
    theta: float, omega: float, mu: np.ndarray,
) -> float:
    """Log-likelihood of the events on [t_start, t_end) (no edge correction for earlier parents)."""
    gaps = gaps_to_previous(times, area, n_areas)
    a_state = np.zeros(n_areas)
    b_state = np.zeros(n_areas)
    c_state = np.zeros(n_areas)
    ll = 0.0
    comp = 0.0
    for j in range(times.shape[0]):
        a = area[j]
        aj, _ = _advance(gaps[j], omega, a_state, b_state, c_state, a)
        ll += math.log(mu[a] + theta * omega * aj)
        comp += theta * (1.0 - math.exp(-omega * (t_end - times[j])))
    return ll - comp - mu.sum() * (t_end - t_start)


@njit(parallel=True, cache=True)
def hawkes_em_batch(
    times: np.ndarray,
    area: np.ndarray,
    in_train: np.ndarray,
    lo: int,
    hi: int,
    n_areas: int,
    t_fit: float,
    span: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    tol: float,
    max_iter: int,
    out: np.ndarray,
    n_iter: np.ndarray,
    converged: np.ndarray,
) -> None:
    """Warm-started EM refit of every simulated run at once (parallel over runs).

    Row r trains on the events j in [lo, hi) with ``in_train[r, j]`` (the run's own history + detected +
    reported incidents in the window), starting from its previous (θ_r, ω_r, μ_r), which are overwritten;
    ``out[r]`` receives the forecast for the day starting at ``t_fit``.
    """
    for r in prange(in_train.shape[0]):
        cnt = 0
        for j in range(lo, hi):
            if in_train[r, j]:
                cnt += 1
        ts = np.empty(cnt)
        ar = np.empty(cnt, dtype=area.dtype)
        k = 0
        for j in range(lo, hi):
            if in_train[r, j]:
                ts[k] = times[j]
                ar[k] = area[j]
                k += 1
        th, om, it, conv = hawkes_em(ts, ar, n_areas, span, theta[r], omega[r], mu[r], tol, max_iter)
        theta[r] = th
        omega[r] = om
        n_iter[r] = it
        converged[r] = conv
        hawkes_forecast(ts, ar, t_fit, th, om, mu[r], out[r])
