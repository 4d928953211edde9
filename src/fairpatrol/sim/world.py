"""The world model (SPEC §4–5): turning intensities into patrols, and patrols into discovered crime.

Kept apart from the models (policy) and from the metrics, as in ml-fairness-gym's environment/agent split.
"""

from __future__ import annotations

import numpy as np

#: Intensities below this fraction of the day's total count as zero, so that rounding residue of the
#: incremental sums (≈1e-17) can never attract an officer or shift a random stream.
ZERO_SHARE = 1e-12


def allocation_weights(intensity: np.ndarray) -> tuple[np.ndarray, bool]:
    """Normalised allocation shares from non-negative intensities; uniform (flagged) when all are zero."""
    w = np.where(np.isfinite(intensity) & (intensity > 0), intensity, 0.0)
    total = w.sum()
    if total > 0:
        w = np.where(w < ZERO_SHARE * total, 0.0, w)
        total = w.sum()
    if not total > 0:
        return np.full(intensity.shape[0], 1.0 / intensity.shape[0]), True
    return w / total, False


def largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Hamilton / largest-remainder rounding of n × shares: integers summing exactly to n.

    Ties in the remainders go to the lower index, so the result is deterministic.
    """
    quota = shares * n
    base = np.floor(quota).astype(np.int64)
    short = int(n - base.sum())
    if short > 0:
        rem = quota - base
        order = np.lexsort((np.arange(len(rem)), -rem))
        base[order[:short]] += 1
    return base


def allocate(
    intensity: np.ndarray, n_officers: int, method: str, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Officers per area for one day, summing exactly to ``n_officers``; also whether the fallback was used.

    ``multinomial``: officers drawn independently with probability proportional to intensity (the study's
    sampling); ``proportional``: largest-remainder rounding of N × share (deterministic).
    """
    shares, fallback = allocation_weights(intensity)
    if method == "multinomial":
        return rng.multinomial(n_officers, shares).astype(np.int64), fallback
    if method == "proportional":
        return largest_remainder(shares, n_officers), fallback
    raise ValueError(f"unknown allocation method {method!r} (use 'multinomial' or 'proportional')")


def detection_probability(officers: np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """Noisy-OR: a crime in an area with k officers is detected with probability 1 − (1 − p)^k."""
    return 1.0 - np.power(1.0 - np.asarray(p, dtype=float), officers)


def run_streams(seed: int, run: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent random streams (reporting, allocation, detection) of run ``run`` of a study.

    Run k's seed is ``SeedSequence(seed, spawn_key=(k,))``, i.e. ``SeedSequence(seed).spawn(R)[k]``, so any
    run can be re-created alone. The stream depends on the run only, not on the scenario cell: run k of
    every algorithm sees the same reporting coins (common random numbers), which makes paired comparisons
    between algorithms sharper without making runs of one scenario dependent.
    """
    ss = np.random.SeedSequence(seed, spawn_key=(run,))
    rep, alloc, det = ss.spawn(3)
    return np.random.default_rng(rep), np.random.default_rng(alloc), np.random.default_rng(det)
