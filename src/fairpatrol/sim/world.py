"""The world model: turning intensities into patrols, and patrols into discovered crime (docs/methods.md,
"World model"; Semsar et al. 2026, section 3.3).

Kept apart from the models (policy) and from the metrics, as in ml-fairness-gym's environment/agent split.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)

#: Intensities below this fraction of the day's total count as zero, so that rounding residue of the
#: incremental sums (≈1e-17) can never attract an officer or shift a random stream.
ZERO_SHARE = 1e-12

#: From this many areas on, multinomial allocation draws each officer by binary search over the cumulative
#: shares (:func:`multinomial_search`, O(M + N log M) per run-day: ≈ 0.1 ms at M = 27,459) instead of
#: numpy's multinomial (M sequential binomial draws: ≈ 0.5 ms). Both draw from the multinomial
#: distribution, but from different random streams: every study with fewer areas (all bundled presets)
#: keeps the numbers it had before the search sampler existed (docs/engine.md).
SEARCH_SAMPLER_MIN_AREAS = 1024


@njit(cache=True, no_cfunc_wrapper=True)
def _positive_sum(row: np.ndarray, floor: float) -> float:
    """Σ of the finite values ≥ ``floor`` (> 0) of ``row``, in eight interleaved partial sums."""
    acc = np.zeros(8)
    m = row.shape[0]
    full = m - m % 8
    for i in range(0, full, 8):
        for j in range(8):
            x = row[i + j]
            acc[j] += x if (x > 0.0) & (x < np.inf) & (x >= floor) else 0.0
    total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    for i in range(full, m):
        x = row[i]
        total += x if (x > 0.0) & (x < np.inf) & (x >= floor) else 0.0
    return total


@njit(cache=True, no_cfunc_wrapper=True)
def _weights_rows(intensity: np.ndarray, shares: np.ndarray, empty: np.ndarray, cum: np.ndarray) -> None:
    """:func:`allocation_weights` of each row in three passes without temporaries; with ``cum`` (rows ×
    areas, or 0 rows for none) also each row's cumulative shares, the sequential sums ``np.cumsum`` gives,
    in the same pass (the conditions are branch-free selects: vector code)."""
    n_rows, m = intensity.shape
    with_cum = cum.shape[0] > 0
    for r in range(n_rows):
        row = intensity[r]
        out = shares[r]
        floor = ZERO_SHARE * _positive_sum(row, 0.0)
        kept = _positive_sum(row, floor)
        empty[r] = not kept > 0.0
        if empty[r]:
            out[:] = 1.0 / m
        else:
            for i in range(m):
                x = row[i]
                out[i] = (x if (x > 0.0) & (x < np.inf) & (x >= floor) else 0.0) / kept
        if with_cum:
            c = cum[r]
            acc = 0.0
            for i in range(m):
                acc += out[i]
                c[i] = acc


class Allocation(NamedTuple):
    """One day's allocation shares of every run (:func:`allocation_rows`)."""

    #: runs × areas normalised shares
    shares: np.ndarray
    #: per run: whether the forecast was empty (uniform shares instead)
    fallback: np.ndarray
    #: runs × areas cumulative shares (``np.cumsum(shares, axis=1)``) where the search sampler draws from
    #: them (from :data:`SEARCH_SAMPLER_MIN_AREAS` areas), else None
    cum: np.ndarray | None


def allocation_rows(intensity: np.ndarray) -> Allocation:
    """:func:`allocation_weights` of runs × areas intensities, with the cumulative shares the search
    sampler draws from computed in the same compiled pass (≈ 16 instead of 21 ms a day for 80 runs ×
    27,459 cells)."""
    intensity = np.atleast_2d(intensity)
    if intensity.shape[-1] < SEARCH_SAMPLER_MIN_AREAS:
        shares, flags = allocation_weights(intensity)
        return Allocation(shares, np.asarray(flags), None)
    rows = np.ascontiguousarray(intensity, dtype=np.float64)
    shares = np.empty_like(rows)
    cum = np.empty_like(rows)
    flags = np.empty(rows.shape[0], dtype=np.bool_)
    _weights_rows(rows, shares, flags, cum)
    return Allocation(shares, flags, cum)


def allocation_weights(intensity: np.ndarray) -> tuple[np.ndarray, np.ndarray | bool]:
    """Normalised allocation shares from non-negative intensities; uniform (flagged) when all are zero.

    ``intensity`` is one day's vector, or runs × areas (each row normalised on its own; the flag is then
    an array). From :data:`SEARCH_SAMPLER_MIN_AREAS` areas on, compiled passes over each row compute the
    same shares with eight interleaved partial sums instead of numpy's pairwise sums (equal to rounding),
    without the eight runs × areas temporaries (≈ 13 instead of 30-47 ms a day for 80 runs × 27,459 cells).
    """
    if intensity.shape[-1] >= SEARCH_SAMPLER_MIN_AREAS:
        rows = np.ascontiguousarray(np.atleast_2d(intensity), dtype=np.float64)
        shares = np.empty_like(rows)
        flags = np.empty(rows.shape[0], dtype=np.bool_)
        _weights_rows(rows, shares, flags, np.empty((0, 0)))
        if intensity.ndim == 1:
            return shares[0], bool(flags[0])
        return shares, flags
    w = np.where(np.isfinite(intensity) & (intensity > 0), intensity, 0.0)
    total = w.sum(axis=-1, keepdims=True)
    w = np.where(w < ZERO_SHARE * total, 0.0, w)
    total = w.sum(axis=-1, keepdims=True)
    empty = ~(total > 0)
    shares = np.where(empty, 1.0 / intensity.shape[-1], w / np.where(empty, 1.0, total))
    return shares, (empty[..., 0] if intensity.ndim > 1 else bool(empty[0]))


def largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Hamilton / largest-remainder rounding of n × shares: integers summing exactly to n.

    The areas short of n each get one more, largest remainder first; ties in the remainders go to the
    lower index, so the result is deterministic. O(M): a partition finds the cut-off remainder.
    """
    quota = shares * n
    base = np.floor(quota).astype(np.int64)
    short = int(n - base.sum())
    if short >= len(base):  # every area gets one more (only when the shares do not sum to 1)
        base += 1
        short -= len(base)
    if short > 0:
        rem = quota - base
        cut = np.partition(rem, len(rem) - short)[len(rem) - short]  # the short-th largest remainder
        above = np.flatnonzero(rem > cut)
        base[above] += 1
        base[np.flatnonzero(rem == cut)[: short - len(above)]] += 1
    return base


def allocate(
    intensity: np.ndarray, n_officers: int, method: str, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Officers per area for one day, summing exactly to ``n_officers``; also whether the fallback was used.

    ``multinomial``: officers drawn independently with probability proportional to intensity (the study's
    sampling); ``proportional``: largest-remainder rounding of N × share (deterministic).
    """
    shares, fallback = allocation_weights(intensity)
    return allocate_shares(shares, n_officers, method, rng), bool(fallback)


def allocate_shares(
    shares: np.ndarray,
    n_officers: int,
    method: str,
    rng: np.random.Generator,
    cum: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Officers per area from normalised shares (:func:`allocate` without the normalisation).

    ``multinomial`` draws with numpy's ``Generator.multinomial`` below :data:`SEARCH_SAMPLER_MIN_AREAS`
    areas and with :func:`multinomial_search` from there on: the same distribution, different streams
    (``cum``: the shares' ``np.cumsum`` if already computed, as :func:`allocation_rows` does). With
    ``out`` (e.g. the engine's row of the day's officers) the counts are written there and it is returned
    (from the search sampler: zeros and the areas drawn, without an array of all areas in between).
    """
    if method == "multinomial":
        if shares.shape[-1] < SEARCH_SAMPLER_MIN_AREAS:
            drawn = rng.multinomial(n_officers, shares)
        else:
            areas, counts = multinomial_search(np.cumsum(shares) if cum is None else cum, n_officers, rng)
            target = np.zeros(shares.shape[-1], dtype=np.int64) if out is None else out
            if out is not None:
                target[:] = 0
            target[areas] = counts
            return target
    elif method == "proportional":
        drawn = largest_remainder(shares, n_officers)
    else:
        raise ValueError(f"unknown allocation method {method!r} (use 'multinomial' or 'proportional')")
    if out is None:
        return drawn.astype(np.int64, copy=False)
    out[:] = drawn
    return out


def multinomial_search(cum: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial(n, shares) by n independent draws, each a binary search of a uniform in the cumulative
    shares ``cum`` (``np.cumsum(shares)``, any positive total): O(n log M) after the O(M) cumulative sum,
    instead of the M sequential binomial draws of ``Generator.multinomial``.

    Area a is drawn with probability (cum[a] − cum[a − 1]) / cum[−1] (the shares up to the rounding of the
    cumulative sum); an area of share 0 is never drawn. Consumes exactly n uniforms of ``rng``, searched
    in ascending order (the counts depend only on the set of uniforms; sorted, each search starts where
    the previous one ended). Returns the areas drawn at least once (ascending) and their counts, which
    sum to n.
    """
    total = cum[-1]
    if n < 0 or not total > 0:
        raise ValueError(f"need n ≥ 0 and positive shares, got n = {n} and total {total}")
    idx = np.searchsorted(cum, np.sort(rng.random(n)) * total, side="right")
    # u · total can round up to the total itself: such a draw belongs to the last area of positive share
    idx[idx >= cum.shape[0]] = np.searchsorted(cum, total, side="left")
    first = np.flatnonzero(np.diff(idx, prepend=-1))  # idx is ascending: one run per area drawn
    return idx[first], np.diff(first, append=n)


def detection_probability(officers: np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """Noisy-OR: a crime in an area with k officers is detected with probability 1 − (1 − p)^k."""
    return 1.0 - np.power(1.0 - np.asarray(p, dtype=float), officers)


class RunStreams(NamedTuple):
    """The independent random streams of one run, by what they draw (in the order they are spawned)."""

    #: whether each crime will be reported by its victim
    reporting: np.random.Generator
    #: where officers (and prevention units) go
    allocation: np.random.Generator
    #: whether patrols detect the crimes in their areas
    detection: np.random.Generator
    #: the world effects (deterrence, displacement)
    effects: np.random.Generator


def run_streams(seed: int, run: int) -> RunStreams:
    """Independent random streams (:class:`RunStreams`: reporting, allocation, detection, world effects) of
    run ``run``.

    Run k's seed is ``SeedSequence(seed, spawn_key=(k,))``, i.e. ``SeedSequence(seed).spawn(R)[k]``, so any
    run can be re-created alone. The stream depends on the run only, not on the scenario cell: run k of
    every algorithm sees the same reporting coins (common random numbers), which makes paired comparisons
    between algorithms sharper without making runs of one scenario dependent.
    """
    ss = np.random.SeedSequence(seed, spawn_key=(run,))
    return RunStreams(*(np.random.default_rng(child) for child in ss.spawn(len(RunStreams._fields))))


def capped_allocation(officers: np.ndarray, shares: np.ndarray, cap: float) -> np.ndarray:
    """Move officers so that no area exceeds ⌈cap · N · s_i⌉, where s_i is its share of predicted crime.

    With cap ≥ 1 the caps sum to at least N, so the constraint is always feasible. Officers above an area's
    cap are taken away and handed, by largest remainder of the shares, to the areas with room left (in
    turn capped), so the total stays N. This bounds each area's police-to-crime ratio, measured against
    the model's own forecast, at about ``cap`` times the city-wide ratio.
    """
    if cap < 1:
        raise ValueError(f"pcr_cap must be at least 1, got {cap}")
    n = int(officers.sum())
    caps = np.ceil(cap * n * shares - 1e-9).astype(np.int64)
    out = np.minimum(officers, caps)
    spare = n - int(out.sum())
    while spare > 0:
        room = caps - out
        w = np.where(room > 0, shares, 0.0)
        if w.sum() <= 0:  # only zero-share areas have room: fill them in index order
            w = (room > 0).astype(float)
        add = np.minimum(largest_remainder(w / w.sum(), spare), room)
        if add.sum() == 0:  # every remainder landed on full areas: give one to the roomiest
            add[np.argmax(room)] = 1
        out += add
        spare = n - int(out.sum())
    return out


def keep_probability(units: np.ndarray, elasticity: float | np.ndarray) -> np.ndarray:
    """Probability that a replayed crime still happens in an area with ``units`` of one kind that day:
    (1 + u)^(−ε), ε the elasticity of crime with respect to (1 + units), so ε = 0 changes nothing and,
    e.g., ε = 0.3 cuts an area's crime by 19 % with one unit and by 51 % with ten."""
    return np.power(1.0 + units, -np.asarray(elasticity, dtype=float))


def deterrence_keep_probability(
    officers: np.ndarray,
    prevention: np.ndarray | None,
    officer_elasticity: float,
    prevention_elasticity: float | np.ndarray,
) -> np.ndarray:
    """Probability that a replayed crime still happens given the day's officers and prevention units in
    its area: keep = (1 + k)^(−ε_officers) · (1 + u)^(−ε_prevention) (:func:`keep_probability` of each;
    the engine multiplies the factors of the active effects in this order, :mod:`fairpatrol.sim.effects`).
    """
    keep = keep_probability(officers, officer_elasticity)
    if prevention is not None:
        keep = keep * keep_probability(prevention, prevention_elasticity)
    return keep


def learning_probability(detect_p: np.ndarray, report_p: np.ndarray | float) -> np.ndarray:
    """P(a crime enters the training data) = 1 − (1 − P(detected)) (1 − P(reported)) (independent)."""
    return 1.0 - (1.0 - detect_p) * (1.0 - np.asarray(report_p, dtype=float))


def inverse_probability_weights(
    detect_p: np.ndarray, report_p: np.ndarray | float, max_weight: float | np.ndarray
) -> np.ndarray:
    """Feedback-corrected learning (after Ensign et al. 2018, FAT* '18): each learned crime counts
    1 / P(learned), so that E[Σ weights of learned crimes] = Σ true crimes (Horvitz–Thompson), capped at
    ``max_weight`` to bound the variance (crimes with P < 1/max_weight are then under-counted)."""
    p = learning_probability(detect_p, report_p)
    return 1.0 / np.maximum(p, 1.0 / max_weight)


def relative_detection_probability(officers: np.ndarray, area_m2: np.ndarray) -> np.ndarray:
    """The published study's detection (compat switch ``relative_detection``): PoD = 1 − 0.5^x with x the
    day's officer density rescaled to [0, 10] against the day's maximum, reproducing its ``rescale2``
    (which divides by the maximum instead of the range):

        a = 1 + 9 (A − min A) / max A,  dens = officers / a,  x = 10 (dens − min dens) / max dens.

    ``officers`` is (…, areas); rows with no officers anywhere get probability 0.
    """
    scaled_area = 1.0 + 9.0 * (area_m2 - area_m2.min()) / area_m2.max()
    dens = officers / scaled_area
    lo = dens.min(axis=-1, keepdims=True)
    hi = dens.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(hi > 0, 10.0 * (dens - lo) / hi, 0.0)
    return 1.0 - np.power(0.5, x)
