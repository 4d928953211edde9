"""Numba kernels for the per-area exponential Hawkes process (PredPol as in Mohler et al. 2015).

Intensity of area n (time in days):

    λ_n(t) = μ_n + Σ_{t_i < t, i ∈ n} θ ω exp(−ω (t − t_i))

**Objective.** The fit maximises the log-likelihood whose stationary point is the fixed point of the EM
of Mohler et al. (2015, without edge correction: every event's offspring counted in full, θ = Σp / N):

    L(θ, ω, μ) = Σ_j w_j log λ(t_j) − T Σ_n μ_n − θ Σ_j w_j

over the window's events j (weight w_j: an event of weight w counts w times), T the observed span.

**One pass** (:func:`_block_pass`) walks each area's events in time order with the Markov recursion of
the exponential kernel: with τ the area's previous distinct event time, Δ = t_j − τ and c the weight of
the events at τ,

    A_j = Σ_{t_i<t_j} w_i e^{−ω(t_j−t_i)}               = e^{−ωΔ} (A_τ + c)
    B_j = Σ_{t_i<t_j} w_i (t_j−t_i) e^{−ω(t_j−t_i)}       = e^{−ωΔ} (B_τ + Δ (A_τ + c))
    C_j = Σ_{t_i<t_j} w_i (t_j−t_i)² e^{−ω(t_j−t_i)}      = e^{−ωΔ} (C_τ + 2Δ B_τ + Δ² (A_τ + c))

(parents are strictly earlier: events of one area at the same recorded time do not excite each other)
and sums, with λ_j = μ_n + θωA_j, u_j = w_j/λ_j and v_j = u_j/λ_j, the log-likelihood Σ w log λ and the
totals Σu A, Σu B, Σu C, Σv A², Σv AB, Σv B² and, per area, Σu, Σv, Σv A, Σv B. From these follow in
O(areas) both

- the **EM map** (docs/methods.md, 'Models'): θ' = θω Σu A / N, ω' = Σu A / Σu B,
  μ'_n = μ_n Σ_{j∈n} u_j / T; and
- the **gradient and Hessian** of L: ∂L/∂μ_n = Σ_n u − T, ∂L/∂θ = ω Σu A − N,
  ∂L/∂ω = θ (Σu A − ω Σu B); the Hessian is an *arrowhead*: a diagonal μ block (−Σ_n v) bordered by the
  θ and ω rows (∂²L/∂μ_n∂θ = −ω Σ_n v A, ∂²L/∂μ_n∂ω = −θ Σ_n v (A − ωB), ∂²L/∂θ² = −ω² Σv A²,
  ∂²L/∂θ∂ω = Σu (A − ωB) − θω Σv A (A − ωB), ∂²L/∂ω² = θ Σu (ωC − 2B) − θ² Σv (A − ωB)²), so a Newton
  step costs O(areas) on top of the pass: eliminate the μ block, solve the 2 × 2 Schur complement for
  (θ, ω), back-substitute each μ_n (:func:`_newton_step`).

**Solvers** (:func:`_lane_update`, one decision per fit and pass):

- ``newton`` (the default of :class:`~fairpatrol.models.PredPol`): Newton's method on L with the exact
  gradient and Hessian, safeguarded so that the likelihood never decreases:

  - *acceptance*: a step is kept only if L at the new point is not lower than at the last accepted point
    (up to ``LOGLIK_SLACK``, the rounding of the sum); otherwise the next point is the same step shortened
    to a quarter, and once that would change no parameter by more than ``tol``, the EM step from the last
    accepted point (which never lowers L);
  - *curvature*: where the Hessian is not negative definite (weak self-excitation: L is then nearly linear
    in θ and flat in ω, ∂²L/∂ω² ∝ θ) θ and ω take their own Newton steps without their coupling (an
    ascent direction), and with no negative curvature in θ either, the EM step;
  - *bounds*: θ or ω at a bound with the gradient pointing outwards is held there; a step across a
    bound stops at it; μ_n moves to no less than a quarter of its value in one step;
  - *length*: a step changes no parameter by more than a radius that starts at ``NEWTON_RADIUS`` (50 %),
    grows to 4 × each accepted step and shrinks with each rejected one (cold starts far from the
    optimum);
  - *stopping*: when a full Newton step (none of the above applied) changes every parameter (θ, ω, each
    μ_n) by at most ``tol`` relative, or the steps contract quadratically (s_k ≤ s_{k−1}/2) and the error
    left after the last one, estimated as s_k³ / s_{k−1}², is at most ``tol``; the fit is the point after
    that step. Where only EM steps are possible, EM's rule applies.

  A daily refit warm-started from the day before takes 2 passes (measured on the presets: docs/engine.md).
- ``em``: the EM map alone; stops when one EM step changes every parameter by at most ``tol``
  relative and returns that step's result (EM converges linearly, often slowly: its fit can be 1 % short
  of the maximum at ``tol`` = 1e-4).

A fit that reaches ``max_iter`` passes returns the EM step from its last accepted point, not converged.

**The EM step's rule** (:func:`em_rule`, a small vector passed to the kernel): the bounds θ and ω are
clipped to, an ε added to every μ_n after each step, and how a step's change is measured (relative, or
absolute in a time unit). The default is the rule above; the published study's PredPol (Semsar et al.
2026: ``PredPol(units="hour", stopping="absolute")``, docs/paper-compat.md) clips θ to [1e-5, 0.9] and ω to
[0.0005, 600] per hour, adds ε = 0.01 / T (T in hours) to μ and stops when θ, ω and every μ_n (per hour)
change by at most ``tol`` in absolute terms. The forecast is the intensity integrated over the day, or
(``horizon`` = 0) the intensity at the start of the day, as that code read it.

**Lanes.** Many fits run at once as the lanes of a SIMD vector (:mod:`fairpatrol.models._simd`): the
simulated runs of a scenario share one event list in which each run marks, by a weight, what it learned
(0 = not learned), so one pass advances ``WIDTH`` fits with vector instructions whose running sums stay in
registers. An event of weight 0 does not exist for that lane (it only splits a decay e^{−ω(Δ₁+Δ₂)} into
e^{−ωΔ₁}e^{−ωΔ₂}, equal to rounding). Every lane does the same operations in the same order, so a fit's
numbers do not depend on the other lanes of its block (tested bit for bit).
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)
import fairpatrol.models._simd as vx
from fairpatrol.models._simd import WIDTH

THETA_BOUNDS = (1e-6, 0.999)
_LN2 = 0.6931471805599453
OMEGA_BOUNDS = (1e-4, 1e4)
NEWTON_RADIUS = 0.5  # the first Newton step changes no parameter by more than this (relative)
NEWTON_RADIUS_MIN = 1e-3  # ... and after rejected steps, never less than this
LOGLIK_SLACK = 1e-10  # a Newton step is kept unless it lowers L by more than this × (|Σ w log λ| + N)

# rows of a block's pass sums (lanes along the last axis): totals, then 4 per area
_L, _UA, _UB, _UC, _VAA, _VAB, _VBB = 0, 1, 2, 3, 4, 5, 6
_N_TOTALS = 7
_U, _V, _VA, _VB = 0, 1, 2, 3  # per area: row _N_TOTALS + 4a + ...
# rows of the per-lane float state
# accepted L, last full Newton step's size (−1: none), step size allowed, size of the pending trial step
_S_LOGLIK, _S_STEP, _S_RADIUS, _S_TRIED = 0, 1, 2, 3
_N_STATE = 4
# rows of the per-lane int state
# a Newton trial pending? lane finished? Newton steps taken, steps rejected or replaced by the EM step
_I_TRIAL, _I_DONE, _I_NEWTON, _I_FALLBACK = 0, 1, 2, 3
_N_INTS = 4
# rows of a fit's parameter vector x (lanes along the last axis): θ, ω, then μ of each area
_TH, _OM, _MU = 0, 1, 2
# entries of the EM step's rule (:func:`em_rule`)
_R_TH_LO, _R_TH_HI, _R_OM_LO, _R_OM_HI, _R_EPS, _R_ABS, _R_UNITS = 0, 1, 2, 3, 4, 5, 6


def em_rule(
    theta_bounds: tuple[float, float] = THETA_BOUNDS,
    omega_bounds: tuple[float, float] = OMEGA_BOUNDS,
    mu_eps: float = 0.0,
    absolute: bool = False,
    units_per_day: float = 1.0,
) -> np.ndarray:
    """The EM step's rule as the kernel takes it: θ and ω (per day) are clipped to their bounds, ``mu_eps``
    (per day) is added to every μ_n after the step, and its change is the largest relative change of a
    parameter or, with ``absolute``, the largest absolute change of θ, ω and μ_n counted per
    1/``units_per_day`` of a day (24: per hour)."""
    return np.array(
        [*theta_bounds, *omega_bounds, mu_eps, 1.0 if absolute else 0.0, units_per_day], dtype=np.float64
    )


def empty_areas_stay_zero(rule: np.ndarray) -> bool:
    """Whether under ``rule`` an area without events in the window ends its fit at μ = 0 and forecasts
    exactly 0 (no floor ε on μ): such areas then change no sum of a fit, and a fit may leave them out."""
    return float(rule[_R_EPS]) == 0.0


#: The default rule (the bounds above, no ε, relative changes).
STANDARD_RULE = em_rule()


@njit(cache=True, no_cfunc_wrapper=True)
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


@njit(cache=True, no_cfunc_wrapper=True)
def window_bounds(
    times: np.ndarray, starts: np.ndarray, lo: float, hi: float, klo: np.ndarray, khi: np.ndarray
) -> None:
    """Each area's window in area-major events (times ascending within an area, area a holding
    ``times[starts[a]:starts[a+1]]``): ``klo[a]``/``khi[a]`` = the first event with time ≥ ``lo`` / ≥ ``hi``,
    i.e. ``starts[a] + np.searchsorted(times[starts[a]:starts[a+1]], [lo, hi], side="left")``, in one
    compiled pass (a Python loop over 27k grid cells took ≈ 55 ms a day)."""
    for a in range(starts.shape[0] - 1):
        s0 = starts[a]
        s1 = starts[a + 1]
        for bound, out in ((lo, klo), (hi, khi)):
            i, j = s0, s1
            while i < j:  # first index in [s0, s1) with times[index] >= bound
                mid = (i + j) >> 1
                if times[mid] < bound:
                    i = mid + 1
                else:
                    j = mid
            out[a] = i


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _block_pass(
    t: np.ndarray,
    w: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    x: np.ndarray,
    sums: np.ndarray,
    unit: np.ndarray,
    all_unit: bool,
) -> None:
    """One pass over the window for the ``WIDTH`` fits of a block (see the module docstring).

    ``t`` area-major event times; ``w`` (events × WIDTH, float32) the lanes' weights; the window's events
    of area a are rows ``klo[a]:khi[a]``; ``x`` (2 + areas) × WIDTH the lanes' (θ, ω, μ); ``sums``
    receives the totals and the per-area sums. λ ≤ 0 (no background and no parent: only for events a lane
    did not learn) counts as 1, so that those events contribute exactly 0. For a lane whose weights are
    all 0 or 1 (``unit`` > 0), Σ w log λ is the logarithm of the product of the λ of its learned events
    (kept in range by splitting off its power of two every four events): one multiplication per event
    instead of a logarithm, the most expensive operation of the pass; the logarithms are taken only if
    some lane has other weights (not ``all_unit``), and each lane's sum is the same whatever the other
    lanes of its block.
    """
    zero = vx.splat(0.0)
    one = vx.splat(1.0)
    om = vx.load(x, _OM, 0)
    tw = vx.load(x, _TH, 0) * om
    ll = zero
    prod = one
    expo = zero
    n_prod = 0
    s_ua = zero
    s_ub = zero
    s_uc = zero
    s_vaa = zero
    s_vab = zero
    s_vbb = zero
    for a in range(klo.shape[0]):
        lo = klo[a]
        hi = khi[a]
        m = vx.load(x, _MU + a, 0)
        big_a = zero
        big_b = zero
        big_c = zero
        c = zero
        s_u = zero
        s_v = zero
        s_va = zero
        s_vb = zero
        tau = t[lo] if hi > lo else 0.0
        for k in range(lo, hi):
            wv = vx.load(w, k, 0)
            d = t[k] - tau
            if d > 0.0:  # a new event time: decay the state to t_k; the events at τ become parents
                e = vx.exp_neg(om * -d)
                s = big_a + c
                big_c = e * (big_c + d * (2.0 * big_b + d * s))
                big_b = e * (big_b + d * s)
                big_a = e * s
                c = wv
                tau = t[k]
            else:  # the same time as the previous event: no decay, ties do not excite each other
                c = c + wv
            lam = vx.positive_or(m + tw * big_a, 1.0)
            r = 1.0 / lam
            prod = prod * vx.where_positive(wv, lam, one)
            n_prod += 1
            if n_prod == 4:
                prod, power = vx.frexp2(prod)
                expo = expo + power
                n_prod = 0
            if not all_unit:
                ll = ll + wv * vx.log_pos(lam)
            u = wv * r
            v = u * r
            va = v * big_a
            vb = v * big_b
            s_u = s_u + u
            s_v = s_v + v
            s_va = s_va + va
            s_vb = s_vb + vb
            s_ua = s_ua + u * big_a
            s_ub = s_ub + u * big_b
            s_uc = s_uc + u * big_c
            s_vaa = s_vaa + va * big_a
            s_vab = s_vab + va * big_b
            s_vbb = s_vbb + vb * big_b
        row = _N_TOTALS + 4 * a
        vx.store(sums, row + _U, 0, s_u)
        vx.store(sums, row + _V, 0, s_v)
        vx.store(sums, row + _VA, 0, s_va)
        vx.store(sums, row + _VB, 0, s_vb)
    prod, power = vx.frexp2(prod)
    ll = vx.where_positive(vx.load(unit, 0, 0), (expo + power) * _LN2 + vx.log_pos(prod), ll)
    vx.store(sums, _L, 0, ll)
    vx.store(sums, _UA, 0, s_ua)
    vx.store(sums, _UB, 0, s_ub)
    vx.store(sums, _UC, 0, s_uc)
    vx.store(sums, _VAA, 0, s_vaa)
    vx.store(sums, _VAB, 0, s_vab)
    vx.store(sums, _VBB, 0, s_vbb)


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _area_weights(w: np.ndarray, klo: np.ndarray, khi: np.ndarray, out: np.ndarray, unit: np.ndarray) -> bool:
    """Each lane's total weight per area (rows 0..areas−1 of ``out``) and over all areas (last row);
    ``unit[0]`` (1 × WIDTH) is 1 for the lanes whose weights are all 0 or 1 (Σ (w (w − 1))² = 0), else 0.
    Returns whether all lanes' are."""
    n_areas = klo.shape[0]
    total = vx.splat(0.0)
    other = vx.splat(0.0)
    for a in range(n_areas):
        s = vx.splat(0.0)
        for k in range(klo[a], khi[a]):
            v = vx.load(w, k, 0)
            s = s + v
            q = v * (v - 1.0)
            other = other + q * q
        vx.store(out, a, 0, s)
        total = total + s
    vx.store(out, n_areas, 0, total)
    vx.store(unit, 0, 0, vx.where_positive(other, vx.splat(0.0), vx.splat(1.0)))
    n_unit = 0
    for lane in range(WIDTH):
        n_unit += unit[0, lane] > 0.0
    return n_unit == WIDTH


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _max(a: float, b: float) -> float:
    """``max(a, b)`` as numba computes it (``b`` if ``b > a``, else ``a``), without compiling numba's
    overload of ``max`` (the kernels' min, max and clip are written with these)."""
    return b if b > a else a


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _min(a: float, b: float) -> float:
    """``min(a, b)`` as numba computes it (``b`` if ``b < a``, else ``a``)."""
    return b if b < a else a


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _clip(x: float, lo: float, hi: float) -> float:
    y = lo if lo > x else x
    return hi if hi < y else y


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _loglik(x: np.ndarray, sums: np.ndarray, nw: np.ndarray, span: float, lane: int) -> float:
    """L of lane ``lane`` at the point of the last pass."""
    n_areas = nw.shape[0] - 1
    ll = sums[_L, lane] - x[_TH, lane] * nw[n_areas, lane]
    for a in range(n_areas):
        ll -= span * x[_MU + a, lane]
    return ll


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _em_image(
    x: np.ndarray, sums: np.ndarray, nw: np.ndarray, span: float, lane: int, f: np.ndarray, rule: np.ndarray
) -> float:
    """The EM step F(x) of lane ``lane`` into ``f`` under ``rule`` (:func:`em_rule`); returns its largest
    change of a parameter (relative, or absolute per the rule's time unit)."""
    n_areas = nw.shape[0] - 1
    th = x[_TH, lane]
    om = x[_OM, lane]
    s_ua = sums[_UA, lane]
    s_ub = sums[_UB, lane]
    eps = rule[_R_EPS]
    absolute = rule[_R_ABS] > 0.0
    per = rule[_R_UNITS]  # a rate per day is this many times the rate per time unit
    f[_TH, lane] = _clip(th * om * s_ua / nw[n_areas, lane], rule[_R_TH_LO], rule[_R_TH_HI])
    f[_OM, lane] = _clip(s_ua / s_ub, rule[_R_OM_LO], rule[_R_OM_HI]) if s_ub > 0.0 else om
    if absolute:
        change = _max(abs(f[_TH, lane] - th), abs(f[_OM, lane] - om) / per)
    else:
        change = _max(abs(f[_TH, lane] - th) / th, abs(f[_OM, lane] - om) / om)
    for a in range(n_areas):
        mu = x[_MU + a, lane]
        if nw[a, lane] > 0.0:
            f[_MU + a, lane] = mu * sums[_N_TOTALS + 4 * a + _U, lane] / span + eps
            d = f[_MU + a, lane] - mu
            change = _max(change, abs(d) / per if absolute else abs(d) / mu)
        else:
            f[_MU + a, lane] = eps
    return change


@njit(inline="always")
def _arrow(
    sums: np.ndarray, a: int, lane: int, th: float, om: float, span: float
) -> tuple[float, float, float, float]:
    """Area a's part of the arrowhead Hessian and of the gradient: ∂²L/∂μ_a², ∂²L/∂μ_a∂θ, ∂²L/∂μ_a∂ω and
    ∂L/∂μ_a."""
    row = _N_TOTALS + 4 * a
    return (
        -sums[row + _V, lane],
        -om * sums[row + _VA, lane],
        -th * (sums[row + _VA, lane] - om * sums[row + _VB, lane]),
        sums[row + _U, lane] - span,
    )


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _curvature_step(
    th: float, om: float, s_tt: float, s_to: float, s_oo: float, r_t: float, r_o: float, radius: float
) -> tuple[float, float]:
    """(dθ, dω) out of a saddle of L in (θ, ω) (a trust-region step).

    In relative units (dθ/θ, dω/ω) the reduced Hessian S has eigenvalues λ₁ ≥ λ₂ with λ₁ ≥ 0: along λ₁'s
    eigenvector L rises both ways with growing slope, so the step goes ``radius`` that way (the way the
    gradient points, forward if it is 0); along the other eigenvector, Newton's step if λ₂ < 0, else
    ``radius`` uphill too.
    """
    a = th * th * s_tt
    b = th * om * s_to
    c = om * om * s_oo
    g_t = -th * r_t  # the gradient of the quadratic model in relative units (S d = r at its maximum)
    g_o = -om * r_o
    half = 0.5 * (a - c)
    root = math.sqrt(half * half + b * b)
    lam2 = 0.5 * (a + c) - root
    if b != 0.0:
        e1_t, e1_o = b, 0.5 * (c - a) + root
        norm = math.sqrt(e1_t * e1_t + e1_o * e1_o)
        e1_t, e1_o = e1_t / norm, e1_o / norm
    elif a >= c:
        e1_t, e1_o = 1.0, 0.0
    else:
        e1_t, e1_o = 0.0, 1.0
    e2_t, e2_o = -e1_o, e1_t
    g1 = g_t * e1_t + g_o * e1_o
    g2 = g_t * e2_t + g_o * e2_o
    t1 = math.copysign(radius, g1)
    t2 = -g2 / lam2 if lam2 < 0.0 else math.copysign(radius, g2)
    return th * (t1 * e1_t + t2 * e2_t), om * (t1 * e1_o + t2 * e2_o)


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _newton_step(
    x: np.ndarray, sums: np.ndarray, nw: np.ndarray, span: float, lane: int, step: np.ndarray, radius: float
) -> tuple[float, bool]:
    """Newton's step on L from lane ``lane``'s point into ``step[:, lane]``, held within the bounds.

    Returns (its largest relative change of a parameter, whether it is a full Newton step), or size −1
    (no step: the EM step instead). θ or ω at a bound with the gradient pointing outwards is held there;
    a step across a bound stops at it (ω re-solved for that θ). Where L is not concave in (θ, ω) after
    eliminating μ (a saddle between two maxima, or the flat ridge of weak self-excitation, where
    ∂²L/∂ω² ∝ θ) θ and ω take their own Newton steps without their coupling (ω's only where ∂²L/∂ω² < 0),
    an ascent direction but not a full step; where those would change neither by more than
    ``NEWTON_RADIUS_MIN`` (a saddle point, or no negative curvature in θ), the step follows the
    curvature out (:func:`_curvature_step`, ``radius`` long). Held at a bound with no negative curvature
    in the other one, there is no step. A step that would take μ_n below a quarter of its value stops
    there (not a full step either). μ_n of an area without events stays 0.
    """
    n_areas = nw.shape[0] - 1
    th = x[_TH, lane]
    om = x[_OM, lane]
    n = nw[n_areas, lane]
    s_ua = sums[_UA, lane]
    s_ub = sums[_UB, lane]
    s_vaa = sums[_VAA, lane]
    s_vab = sums[_VAB, lane]
    g_t = om * s_ua - n
    g_o = th * (s_ua - om * s_ub)
    h_tt = -om * om * s_vaa
    h_to = (s_ua - om * s_ub) - th * om * (s_vaa - om * s_vab)
    h_oo = th * (om * sums[_UC, lane] - 2.0 * s_ub) - th * th * (
        s_vaa - 2.0 * om * s_vab + om * om * sums[_VBB, lane]
    )
    # eliminate the diagonal μ block: Schur complement S and right-hand side r for (dθ, dω)
    s_tt, s_to, s_oo = h_tt, h_to, h_oo
    r_t, r_o = -g_t, -g_o
    for a in range(n_areas):
        if nw[a, lane] > 0.0:
            dd, bt, bo, gm = _arrow(sums, a, lane, th, om, span)
            s_tt -= bt * bt / dd
            s_to -= bt * bo / dd
            s_oo -= bo * bo / dd
            r_t += bt * gm / dd
            r_o += bo * gm / dd
    hold_t = (th <= THETA_BOUNDS[0] and g_t <= 0.0) or (th >= THETA_BOUNDS[1] and g_t >= 0.0)
    hold_o = (om <= OMEGA_BOUNDS[0] and g_o <= 0.0) or (om >= OMEGA_BOUNDS[1] and g_o >= 0.0)
    d_t = 0.0
    d_o = 0.0
    full = True
    if hold_t and hold_o:
        pass
    elif hold_t:
        if not s_oo < 0.0:
            return -1.0, False
        d_o = r_o / s_oo
    elif hold_o:
        if not s_tt < 0.0:
            return -1.0, False
        d_t = r_t / s_tt
    elif s_tt < 0.0 and s_tt * s_oo - s_to * s_to > 0.0:
        det = s_tt * s_oo - s_to * s_to
        d_t = (s_oo * r_t - s_to * r_o) / det
        d_o = (s_tt * r_o - s_to * r_t) / det
    else:  # not concave in (θ, ω): each its own Newton step, without their coupling
        full = False
        if s_tt < 0.0:
            d_t = r_t / s_tt
            d_o = r_o / s_oo if s_oo < 0.0 else 0.0
        if not (_max(abs(d_t) / th, abs(d_o) / om) > NEWTON_RADIUS_MIN):  # near a saddle: leave it
            d_t, d_o = _curvature_step(th, om, s_tt, s_to, s_oo, r_t, r_o, radius)
    new_t = _clip(th + d_t, THETA_BOUNDS[0], THETA_BOUNDS[1])
    if new_t != th + d_t and full and not hold_o and s_oo < 0.0:
        d_o = (r_o - s_to * (new_t - th)) / s_oo
    d_t = new_t - th
    d_o = _clip(om + d_o, OMEGA_BOUNDS[0], OMEGA_BOUNDS[1]) - om
    step[_TH, lane] = d_t
    step[_OM, lane] = d_o
    size = _max(abs(d_t) / th, abs(d_o) / om)
    for a in range(n_areas):
        mu = x[_MU + a, lane]
        if nw[a, lane] > 0.0:
            dd, bt, bo, gm = _arrow(sums, a, lane, th, om, span)
            d_m = (-gm - bt * d_t - bo * d_o) / dd
            if d_m < -0.75 * mu:
                d_m = -0.75 * mu
                full = False
            step[_MU + a, lane] = d_m
            size = _max(size, abs(d_m) / mu)
        else:
            step[_MU + a, lane] = 0.0
    return size, full


@njit(inline="always")
def _lane_update(
    lane: int,
    x: np.ndarray,
    sums: np.ndarray,
    nw: np.ndarray,
    span: float,
    tol: float,
    newton: bool,
    xa: np.ndarray,
    fa: np.ndarray,
    step: np.ndarray,
    state: np.ndarray,
    ints: np.ndarray,
    rule: np.ndarray,
) -> bool:
    """After a pass at lane ``lane``'s point x: decide its next point (in ``x``). Returns True when the
    fit has converged, with the fit in ``x`` (the rules are in the module docstring)."""
    n_par = x.shape[0]
    ll = _loglik(x, sums, nw, span, lane)
    if ints[_I_TRIAL, lane] == 1:  # x is a Newton step from the last accepted point xa
        ints[_I_TRIAL, lane] = 0
        slack = LOGLIK_SLACK * (abs(sums[_L, lane]) + nw[n_par - 2, lane])
        if ll < state[_S_LOGLIK, lane] - slack:  # it lowered L: a quarter of it, or the EM step
            ints[_I_FALLBACK, lane] += 1
            state[_S_STEP, lane] = -1.0
            tried = 0.25 * state[_S_TRIED, lane]
            state[_S_RADIUS, lane] = _max(tried, NEWTON_RADIUS_MIN)
            if tried > tol:
                state[_S_TRIED, lane] = tried
                ints[_I_TRIAL, lane] = 1
                for i in range(n_par):
                    step[i, lane] *= 0.25
                    x[i, lane] = xa[i, lane] + step[i, lane]
            else:
                for i in range(n_par):
                    x[i, lane] = fa[i, lane]
            return False
        state[_S_RADIUS, lane] = _max(state[_S_RADIUS, lane], 4.0 * state[_S_TRIED, lane])
    state[_S_LOGLIK, lane] = ll
    for i in range(n_par):
        xa[i, lane] = x[i, lane]
    change = _em_image(x, sums, nw, span, lane, fa, rule)
    size, full = (
        _newton_step(x, sums, nw, span, lane, step, state[_S_RADIUS, lane]) if newton else (-1.0, False)
    )
    if size < 0.0:  # the EM step (solver "em", or where Newton has no step), and EM's stopping rule
        ints[_I_FALLBACK, lane] += newton
        state[_S_STEP, lane] = -1.0
        for i in range(n_par):
            x[i, lane] = fa[i, lane]
        return change <= tol
    ints[_I_NEWTON, lane] += 1
    radius = state[_S_RADIUS, lane]
    last = state[_S_STEP, lane]
    if size > radius:  # a damped step
        for i in range(n_par):
            step[i, lane] *= radius / size
        size = radius
        full = False
    for i in range(n_par):
        x[i, lane] += step[i, lane]
    cube = size * (size * size)  # size**3 as numba's power computes it, without compiling its overload
    if full and (size <= tol or (last > 0.0 and size <= 0.5 * last and cube <= tol * last * last)):
        return True
    state[_S_STEP, lane] = size if full else -1.0  # only full steps estimate the convergence
    state[_S_TRIED, lane] = size
    ints[_I_TRIAL, lane] = 1
    return False


@njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _block_forecast(
    t: np.ndarray,
    w: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    t_from: float,
    x: np.ndarray,
    out: np.ndarray,
    horizon: float,
) -> None:
    """Expected events in [t_from, t_from + horizon) per area and lane (``out``: areas × WIDTH):

    ∫ λ_n = μ_n h + θ (1 − e^{−ω h}) Σ_{i ∈ n, t_i < t_from} w_i e^{−ω (t_from − t_i)}

    or, with ``horizon`` = 0, the intensity at t_from itself (a rate per day: what the published study's
    code allocated by, read at midnight),

    λ_n(t_from) = μ_n + θ ω Σ_{i ∈ n, t_i < t_from} w_i e^{−ω (t_from − t_i)}.

    for the lanes' (θ, ω, μ) in ``x`` and the events of :func:`_block_pass`, summed newest event first
    until every lane's e^{−ω(t_from − t_i)} < e^{−50} ≈ 2e-22, below double precision of the sum.
    Self-excitation by events inside the forecast period itself is not included.
    """
    om = vx.load(x, _OM, 0)
    om_min = np.inf
    for lane in range(WIDTH):
        om_min = _min(om_min, x[_OM, lane])
    if horizon > 0.0:
        gain = vx.load(x, _TH, 0) * (1.0 - vx.exp_neg(om * -horizon))
        base = horizon
    else:
        gain = vx.load(x, _TH, 0) * om
        base = 1.0
    for a in range(klo.shape[0]):
        excite = vx.splat(0.0)
        for k in range(khi[a] - 1, klo[a] - 1, -1):
            lag = t_from - t[k]
            if lag <= 0.0:
                continue
            if om_min * lag > 50.0:
                break
            excite = excite + vx.load(w, k, 0) * vx.exp_neg(om * -lag)
        vx.store(out, a, 0, vx.load(x, _MU + a, 0) * base + gain * excite)


@njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def hawkes_fit_blocks(
    t: np.ndarray,
    w: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    blocks: np.ndarray,
    span: float,
    x: np.ndarray,
    newton: bool,
    tol: float,
    max_iter: int,
    t_fit: float,
    out: np.ndarray,
    n_iter: np.ndarray,
    converged: np.ndarray,
    counts: np.ndarray,
    loglik: np.ndarray,
    evaluate: bool,
    area_w: np.ndarray,
    span_before: float,
    rule: np.ndarray,
    horizon: float,
    work: np.ndarray,
    iwork: np.ndarray,
) -> None:
    """Fit and forecast the blocks ``blocks``, each of ``WIDTH`` lanes; block b's arrays are ``w[b]``
    (events × WIDTH), ``x[b]``, ``out[b]``, ``n_iter[b]``, ``converged[b]``, ``counts[b]``, ``loglik[b]``
    and ``area_w[b]``.

    For each block: fit its lanes from their starting points in ``x[b]`` ((2 + areas) × WIDTH), which
    receives the fits, and forecast the day starting at ``t_fit`` (``out[b]``: areas × WIDTH).
    ``n_iter[b]`` and ``converged[b]`` (WIDTH) receive the passes each lane needed and whether it met
    ``tol`` within ``max_iter`` passes (else the EM step from its last accepted point is returned);
    ``counts[b]`` (2 × WIDTH) the Newton steps taken and the steps rejected or replaced by an EM step;
    ``loglik[b]`` (WIDTH) the objective L at the fits if ``evaluate`` (one pass more). ``max_iter`` = 0
    evaluates and forecasts the given points.

    A lane without events keeps its θ and ω, gets μ = 0 and needs no pass; μ_n of an area without events
    is 0, and an area with events but μ_n ≤ 0 at the start (new in the window) starts from its count / T.
    ``area_w[b]`` ((areas + 1) × WIDTH) holds each lane's weight per area (and in all) in the window of
    the fit it starts from (0: none) and receives those of this window: an area's starting μ_n is scaled
    by the change of its count and of the window's span T (``span_before``), the background rate's own
    change when the data shift by a day (for θ ≈ 0 it is exactly today's maximum). ``rule`` is the EM
    step's rule (:func:`em_rule`) and ``horizon`` the forecast's (1: the day; 0: the intensity at its
    start). A block passes over the data until its last lane has finished; finished lanes ride along
    unchanged. ``work``
    (:func:`work_rows` × WIDTH floats) and ``iwork`` (``_N_INTS`` × WIDTH ints) are scratch.

    The one compiled entry point of the PredPol kernels (fits, forecasts and log-likelihoods all go
    through it, under one signature). Releases the GIL: threads fit disjoint sets of blocks in parallel
    (:func:`hawkes_fit_runs`); every block walks all the window's events, so a fit's numbers do not
    depend on which blocks a thread fits.
    """
    n_areas = klo.shape[0]
    n_par = 2 + n_areas
    nw = work[: n_areas + 1]
    sums = work[n_areas + 1 : n_areas + 1 + _N_TOTALS + 4 * n_areas]
    row = 5 * n_areas + 1 + _N_TOTALS
    xa = work[row : row + n_par]
    fa = work[row + n_par : row + 2 * n_par]
    step = work[row + 2 * n_par : row + 3 * n_par]
    state = work[row + 3 * n_par : row + 3 * n_par + _N_STATE]
    unit = work[row + 3 * n_par + _N_STATE : row + 3 * n_par + _N_STATE + 1]
    ints = iwork
    for j in range(blocks.shape[0]):
        b = blocks[j]
        wb, xb, ob, itb, cvb = w[b], x[b], out[b], n_iter[b], converged[b]
        all_unit = _area_weights(wb, klo, khi, nw, unit)
        active = 0
        for lane in range(WIDTH):
            itb[lane] = 0
            cvb[lane] = True
            state[_S_LOGLIK, lane] = -np.inf
            state[_S_STEP, lane] = -1.0
            state[_S_RADIUS, lane] = NEWTON_RADIUS
            for k in range(_N_INTS):
                ints[k, lane] = 0
            for a in range(n_areas + 1):
                if a < n_areas and nw[a, lane] <= 0.0:
                    xb[_MU + a, lane] = 0.0
                elif a < n_areas and not xb[_MU + a, lane] > 0.0:
                    xb[_MU + a, lane] = nw[a, lane] / span
                elif a < n_areas and area_w[b, a, lane] > 0.0:  # the background follows the area's count
                    xb[_MU + a, lane] *= (nw[a, lane] / area_w[b, a, lane]) * (span_before / span)
                area_w[b, a, lane] = nw[a, lane]
            ints[_I_DONE, lane] = 1
            if nw[n_areas, lane] > 0.0 and max_iter > 0:
                ints[_I_DONE, lane] = 0
                cvb[lane] = False
                active += 1
        passes = 0
        while active > 0 or evaluate:
            _block_pass(t, wb, klo, khi, xb, sums, unit, all_unit)
            if active == 0:  # the evaluation pass at the fits
                for lane in range(WIDTH):
                    loglik[b, lane] = _loglik(xb, sums, nw, span, lane)
                break
            passes += 1
            for lane in range(WIDTH):
                if ints[_I_DONE, lane] == 1:
                    continue
                done = _lane_update(lane, xb, sums, nw, span, tol, newton, xa, fa, step, state, ints, rule)
                if done or passes >= max_iter:
                    if not done:  # the EM step from the last accepted point: L at least that point's
                        for k in range(n_par):
                            xb[k, lane] = fa[k, lane]
                    ints[_I_DONE, lane] = 1
                    itb[lane] = passes
                    cvb[lane] = done
                    active -= 1
        for lane in range(WIDTH):
            counts[b, 0, lane] = ints[_I_NEWTON, lane]
            counts[b, 1, lane] = ints[_I_FALLBACK, lane]
        _block_forecast(t, wb, klo, khi, t_fit, xb, ob, horizon)


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n`` threads (one per process: a forked child makes its own)."""
    key = (os.getpid(), n)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fairpatrol-hawkes")
    return _POOLS[key]


def hawkes_fit_runs(
    t: np.ndarray,
    w: np.ndarray,
    klo: np.ndarray,
    khi: np.ndarray,
    *args: object,
    cost: np.ndarray | None = None,
    n_threads: int = 1,
    rule: np.ndarray | None = None,
    horizon: float = 1.0,
) -> None:
    """Run :func:`hawkes_fit_blocks` (its arguments from ``span`` to ``span_before`` in ``args``, then
    ``rule``, default :data:`STANDARD_RULE`, and ``horizon``) over all blocks of ``w`` (blocks × events ×
    WIDTH) on ``n_threads`` threads. The blocks are taken largest predicted ``cost`` first (e.g.
    yesterday's passes), each by the next thread free: a block that takes longer than predicted delays no
    thread's other blocks (dynamic scheduling; a static split by yesterday's cost left the threads 91 %
    balanced on ``chicago-theft``)."""
    args = (
        *args,
        STANDARD_RULE if rule is None else np.ascontiguousarray(rule, dtype=np.float64),
        float(horizon),
    )
    n_block = w.shape[0]
    n_threads = max(1, min(int(n_threads), n_block))
    order = np.argsort(-np.ones(n_block) if cost is None else -np.asarray(cost, dtype=float), kind="stable")
    order = order.astype(np.int64)

    def scratch() -> tuple[np.ndarray, np.ndarray]:
        return np.empty((work_rows(len(klo)), WIDTH)), np.empty((_N_INTS, WIDTH), dtype=np.int64)

    if n_threads == 1:
        hawkes_fit_blocks(t, w, klo, khi, order, *args, *scratch())
        return
    taken = itertools.count()  # shared by the threads (next() is atomic under the GIL)

    def fit_next() -> None:
        work = scratch()
        while (j := next(taken)) < n_block:
            hawkes_fit_blocks(t, w, klo, khi, order[j : j + 1], *args, *work)

    pool = _pool(n_threads)
    for job in [pool.submit(fit_next) for _ in range(n_threads)]:
        job.result()


def fit_outputs(n_block: int, n_areas: int) -> tuple[np.ndarray, ...]:
    """Output arrays of :func:`hawkes_fit_blocks` for ``n_block`` blocks: forecasts (blocks × areas ×
    WIDTH), passes, converged, counts (blocks × 2 × WIDTH) and log-likelihoods."""
    return (
        np.empty((n_block, n_areas, WIDTH)),
        np.zeros((n_block, WIDTH), dtype=np.int64),
        np.zeros((n_block, WIDTH), dtype=np.bool_),
        np.zeros((n_block, 2, WIDTH), dtype=np.int64),
        np.zeros((n_block, WIDTH)),
    )


def work_rows(n_areas: int) -> int:
    """Rows of the float scratch of :func:`hawkes_fit_blocks` for ``n_areas`` areas."""
    return 5 * n_areas + 1 + _N_TOTALS + 3 * (2 + n_areas) + _N_STATE + 1


def n_blocks(n_lanes: int) -> int:
    """Blocks of ``WIDTH`` lanes needed for ``n_lanes`` fits."""
    return max(1, -(-int(n_lanes) // WIDTH))


def pack(theta: np.ndarray, omega: np.ndarray, mu: np.ndarray, n_block: int) -> np.ndarray:
    """Fits (θ, ω: lanes; μ: lanes × areas) as blocks × (2 + areas) × WIDTH; lanes beyond the fits get
    harmless values (θ = ½, ω = 1, μ = 1: with no events they change nothing)."""
    g, m = mu.shape
    x = np.ones((n_block * WIDTH, 2 + m))
    x[:, _TH] = 0.5
    x[:g, _TH] = theta
    x[:g, _OM] = omega
    x[:g, _MU:] = mu
    return np.ascontiguousarray(x.reshape(n_block, WIDTH, 2 + m).transpose(0, 2, 1))


def unpack(x: np.ndarray, n_lanes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(θ, ω, μ) of the first ``n_lanes`` lanes of blocks × (2 + areas) × WIDTH."""
    flat = x.transpose(0, 2, 1).reshape(-1, x.shape[1])[:n_lanes]
    return flat[:, _TH].copy(), flat[:, _OM].copy(), np.ascontiguousarray(flat[:, _MU:])


def lane_blocks(w: np.ndarray) -> np.ndarray:
    """Weights events × lanes as blocks × events × WIDTH (float32; lanes beyond the last are zero)."""
    n, g = w.shape
    nb = n_blocks(g)
    out = np.zeros((nb * WIDTH, n), dtype=np.float32)
    out[:g] = np.asarray(w, dtype=np.float32).T
    return np.ascontiguousarray(out.reshape(nb, WIDTH, n).transpose(0, 2, 1))


def by_lane(a: np.ndarray, n_lanes: int) -> np.ndarray:
    """A blocks × … × WIDTH result as lanes × …, first ``n_lanes`` lanes."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 1).reshape(-1, *a.shape[1:-1])[:n_lanes])


def hawkes_fit_lanes(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    span: float,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    *,
    solver: str = "newton",
    tol: float = 1e-4,
    max_iter: int = 1000,
    t_fit: float = 0.0,
    evaluate: bool = False,
    area_w: np.ndarray | None = None,
    span_before: float = 1.0,
    n_threads: int = 1,
    rule: np.ndarray | None = None,
    horizon: float = 1.0,
) -> dict[str, np.ndarray]:
    """Fit G weightings of one area-major event list (``w``: events × G; ``starts``: area boundaries)
    from the starting points θ, ω (G) and μ (G × areas). Returns the fits (``theta``, ``omega``, ``mu``),
    ``n_iter``, ``converged``, ``counts`` (Newton steps, steps rejected or replaced by an EM step),
    ``forecast`` (G × areas, the day starting at ``t_fit``), ``area_w`` (G × (areas + 1): each lane's
    weight per area and in all) and, if ``evaluate``, ``loglik`` (the objective L at each fit). ``area_w``
    and ``span_before`` given, the starting μ follow the areas' weights and the span since the window
    of the fit they come from (:func:`hawkes_fit_blocks`). ``rule`` is the EM step's rule (:func:`em_rule`)
    and ``horizon`` the forecast's (1: the day at ``t_fit``; 0: the intensity at ``t_fit``)."""
    g = w.shape[1]
    nb = n_blocks(g)
    starts = np.asarray(starts, dtype=np.int64)
    x = pack(np.asarray(theta, dtype=float), np.asarray(omega, dtype=float), np.asarray(mu, dtype=float), nb)
    out, n_iter, conv, steps, loglik = fit_outputs(nb, len(starts) - 1)
    weights = np.zeros((nb * WIDTH, len(starts)))  # the lanes' weights per area in the previous window
    if area_w is not None:
        weights[:g] = area_w
    weights = np.ascontiguousarray(weights.reshape(nb, WIDTH, -1).transpose(0, 2, 1))
    hawkes_fit_runs(
        np.ascontiguousarray(t, dtype=np.float64),
        lane_blocks(w),
        np.ascontiguousarray(starts[:-1]),
        np.ascontiguousarray(starts[1:]),
        float(span),
        x,
        solver == "newton",
        float(tol),
        int(max_iter),
        float(t_fit),
        out,
        n_iter,
        conv,
        steps,
        loglik,
        bool(evaluate),
        weights,
        float(span_before),
        n_threads=n_threads,
        rule=rule,
        horizon=horizon,
    )
    theta_f, omega_f, mu_f = unpack(x, g)
    return {
        "theta": theta_f,
        "omega": omega_f,
        "mu": mu_f,
        "n_iter": by_lane(n_iter, g),
        "converged": by_lane(conv, g),
        "counts": by_lane(steps, g),
        "area_w": by_lane(weights, g),
        "forecast": by_lane(out, g),
        "loglik": by_lane(loglik, g),
    }


def hawkes_loglik(
    t: np.ndarray, w: np.ndarray, starts: np.ndarray, span: float, theta: float, omega: float, mu: np.ndarray
) -> float:
    """The objective L (module docstring) of one weighted series at (θ, ω, μ)."""
    point = np.array([theta]), np.array([omega]), np.reshape(mu, (1, -1))
    fit = hawkes_fit_lanes(t, np.reshape(w, (-1, 1)), starts, span, *point, max_iter=0, evaluate=True)
    return float(fit["loglik"][0])


def hawkes_forecast(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    theta: np.ndarray,
    omega: np.ndarray,
    mu: np.ndarray,
    t_from: float = 0.0,
    horizon: float = 1.0,
) -> np.ndarray:
    """Expected events in [t_from, t_from + 1 day) per lane and area (lanes × areas) for the fits θ, ω
    (G) and μ (G × areas) of G weightings ``w`` (events × G) of one area-major event list
    (:func:`_block_forecast`); with ``horizon`` = 0 the intensity at ``t_from``."""
    fit = hawkes_fit_lanes(t, w, starts, 1.0, theta, omega, mu, max_iter=0, t_fit=t_from, horizon=horizon)
    return fit["forecast"]


COLD_STARTS = (1.0, 10.0, 0.1, 100.0)  # a cold start tries ω0 times each of these (one SIMD lane each)
COLD_PASSES = 30  # ... for at most this many passes, then continues from the best of them


def hawkes_fit_cold(
    t: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    span: float,
    theta0: float,
    omega0: float,
    mu0: np.ndarray,
    *,
    solver: str = "newton",
    tol: float = 1e-4,
    max_iter: int = 1000,
    rule: np.ndarray | None = None,
    horizon: float = 1.0,
) -> dict[str, np.ndarray]:
    """A cold-start fit of one weighted series (``w``: events), from several starting points.

    The likelihood can have more than one local maximum: on sparse data (Baltimore's aggravated assaults)
    one with no self-excitation (θ at its lower bound, where EM from the usual start stops) and one with a
    small θ and a fast trigger (ω ≈ 10-20 per day) that is up to several log-likelihood units higher.
    Started from θ0 and ω0 times each of ``COLD_STARTS`` (lanes of one SIMD block, so about the cost of
    one start), the fits run for at most ``COLD_PASSES`` passes; the one with the highest likelihood then
    continues to convergence (``max_iter`` passes in all). Returns :func:`hawkes_fit_lanes`'s dict for
    that fit (one lane, ``loglik`` included). ``rule`` and ``horizon`` as in :func:`hawkes_fit_lanes`.
    """
    k = len(COLD_STARTS)
    common: dict[str, Any] = {
        "solver": solver,
        "tol": tol,
        "evaluate": True,
        "rule": rule,
        "horizon": horizon,
    }
    first = hawkes_fit_lanes(
        t,
        np.repeat(np.reshape(w, (-1, 1)), k, axis=1),
        starts,
        span,
        np.full(k, float(theta0)),
        float(omega0) * np.array(COLD_STARTS),
        np.tile(np.reshape(mu0, (1, -1)), (k, 1)),
        max_iter=min(COLD_PASSES, max_iter),
        **common,
    )
    best = int(np.argmax(np.where(np.isfinite(first["loglik"]), first["loglik"], -np.inf)))
    fit = {key: value[best : best + 1] for key, value in first.items()}
    if fit["converged"][0] or max_iter <= COLD_PASSES:
        return fit
    more = hawkes_fit_lanes(
        t,
        np.reshape(w, (-1, 1)),
        starts,
        span,
        fit["theta"],
        fit["omega"],
        fit["mu"],
        max_iter=max_iter - COLD_PASSES,
        **common,
    )
    more["n_iter"] = more["n_iter"] + COLD_PASSES
    more["counts"] = more["counts"] + fit["counts"]
    return more
