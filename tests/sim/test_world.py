"""World model: allocation sums and samplers, noisy-OR detection, random streams (docs/methods.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairpatrol.sim.world import (
    SEARCH_SAMPLER_MIN_AREAS,
    allocate,
    allocation_weights,
    detection_probability,
    largest_remainder,
    multinomial_search,
    run_streams,
)

intensities = arrays(np.float64, st.integers(1, 80), elements=st.floats(0, 1e4))


@settings(max_examples=200)
@given(
    intensities, st.integers(1, 2000), st.sampled_from(["multinomial", "proportional"]), st.integers(0, 99)
)
def test_allocation_sums_to_n(intensity, n, method, seed):
    officers, fallback = allocate(intensity, n, method, np.random.default_rng(seed))
    assert officers.sum() == n
    assert (officers >= 0).all()
    assert fallback == (not (intensity > 0).any())
    if not fallback:
        assert (officers[intensity == 0] == 0).all()


@given(intensities.filter(lambda x: x.sum() > 0), st.integers(1, 2000))
def test_largest_remainder_is_within_one_of_quota(intensity, n):
    shares, _ = allocation_weights(intensity)
    alloc = largest_remainder(shares, n)
    assert alloc.sum() == n
    assert np.all(np.abs(alloc - shares * n) < 1 + 1e-9)


def test_largest_remainder_known_answer():
    np.testing.assert_array_equal(largest_remainder(np.array([0.5, 0.3, 0.2]), 4), [2, 1, 1])
    np.testing.assert_array_equal(largest_remainder(np.array([1 / 3] * 3), 4), [2, 1, 1])


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="allocation method"):
        allocate(np.ones(3), 5, "greedy-ish", np.random.default_rng(0))


def test_detection_probability_known_answers():
    k = np.array([0, 1, 2, 5])
    np.testing.assert_allclose(detection_probability(k, 0.5), [0, 0.5, 0.75, 1 - 0.5**5])
    np.testing.assert_allclose(detection_probability(k, 0.3), 1 - 0.7**k)


@pytest.fixture(scope="module")
def patrolled(baltimore):
    """Uniform patrols of 600 officers over Baltimore's 256 areas for 120 days, 8 runs, p = 0.3: most
    area-days with a crime have 1 to 5 officers."""
    from fairpatrol.models import Uniform
    from fairpatrol.sim.engine import RunSpec, simulate
    from fairpatrol.sim.prepare import prepare

    data = prepare(baltimore, "2019-01-01", 120, 365)
    runs = [RunSpec(run=r, n_officers=600, report_prob=0.0, detection_p=0.3) for r in range(8)]
    return simulate(Uniform(), data, runs, seed=2024)


def test_detection_frequency_matches_noisy_or(patrolled):
    """The engine detects a crime in an area with k officers with probability 1 − (1 − p)^k: the share of
    crimes detected at each k is within 4 binomial standard deviations of it (seeded, so reproducible)."""
    p = 0.3
    k, crimes, found = (
        np.asarray(a).ravel() for a in (patrolled.officers, patrolled.crimes, patrolled.detected)
    )
    assert found[k == 0].sum() == 0  # no officer, no detection
    tested = 0
    for kk in range(1, 8):
        n = crimes[k == kk].sum()
        if n < 200:
            continue
        q = 1 - (1 - p) ** kk
        assert found[k == kk].sum() / n == pytest.approx(q, abs=4 * np.sqrt(q * (1 - q) / n)), kk
        tested += 1
    assert tested >= 4
    # all k at once: the detections against their expected number, with the binomial variance
    q = 1 - (1 - p) ** k
    z = (found.sum() - (crimes * q).sum()) / np.sqrt((crimes * q * (1 - q)).sum())
    assert abs(z) < 4


def test_run_streams_reproduce_and_differ():
    a = [g.random(5) for g in run_streams(7, 3)]
    b = [g.random(5) for g in run_streams(7, 3)]
    c = [g.random(5) for g in run_streams(7, 4)]
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x, y)
        assert not np.allclose(x, z)
    # the three purposes of one run are independent streams
    assert not np.allclose(a[0], a[1])
    # run k's stream is SeedSequence(seed).spawn(R)[k]
    child = np.random.SeedSequence(7).spawn(5)[3]
    np.testing.assert_array_equal(np.random.default_rng(child.spawn(3)[0]).random(5), a[0])


def _largest_remainder_by_sorting(shares: np.ndarray, n: int) -> np.ndarray:
    """The definition: one more officer for the `short` largest remainders, ties to the lower index."""
    quota = shares * n
    base = np.floor(quota).astype(np.int64)
    short = int(n - base.sum())
    order = np.lexsort((np.arange(len(quota)), -(quota - base)))
    base[order[:short]] += 1
    return base


@settings(max_examples=300)
@given(
    arrays(np.float64, st.integers(1, 60), elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 0.5, 7.25])),
    st.integers(1, 500),
)
def test_largest_remainder_equals_the_sorted_definition(intensity, n):
    """The O(M) partition picks the same areas as sorting the remainders (ties: many equal shares)."""
    shares, _ = allocation_weights(intensity)
    np.testing.assert_array_equal(largest_remainder(shares, n), _largest_remainder_by_sorting(shares, n))


class FixedUniforms:
    """A stand-in generator whose uniforms are given (to test the sampler's arithmetic)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=float)

    def random(self, n):
        assert n == len(self.u)
        return self.u.copy()


def test_search_sampler_known_answer():
    # cumulative shares 0.25, 0.25, 0.75, 1: the zero-share area 1 owns no interval; u = 1 (the rounding
    # of u · total up to the total) goes to the last area of positive share, not past the end
    cum = np.cumsum([0.25, 0.0, 0.5, 0.25, 0.0])
    areas, counts = multinomial_search(cum, 6, FixedUniforms([0.0, 0.25, 0.5, 0.75, 0.999, 1.0]))
    np.testing.assert_array_equal(areas, [0, 2, 3])
    np.testing.assert_array_equal(counts, [1, 2, 3])


def test_search_sampler_follows_the_multinomial_distribution():
    """Mean n p, variance n p (1 − p), covariance −n p_i p_j per area, and a chi-square test of all draws."""
    from scipy import stats

    rng = np.random.default_rng(12)
    m, n, reps = 3000, 40, 5000
    w = rng.gamma(0.5, size=m)
    w[rng.random(m) < 0.3] = 0.0
    p = w / w.sum()
    cum = np.cumsum(p)
    counts = np.zeros((reps, m), dtype=np.int64)
    for k in range(reps):
        areas, c = multinomial_search(cum, n, rng)
        assert c.sum() == n and (p[areas] > 0).all()
        counts[k, areas] = c
    big = np.argsort(p)[-3:]  # the three largest shares: their moments are well estimated
    mean, var = counts[:, big].mean(axis=0), counts[:, big].var(axis=0, ddof=1)
    se_mean = np.sqrt(n * p[big] * (1 - p[big]) / reps)
    assert np.all(np.abs(mean - n * p[big]) < 4 * se_mean)
    np.testing.assert_allclose(var, n * p[big] * (1 - p[big]), rtol=0.08)
    cov = np.cov(counts[:, big[0]], counts[:, big[1]])[0, 1]
    assert cov == pytest.approx(-n * p[big[0]] * p[big[1]], abs=0.05)
    # every draw is an independent categorical: pooled counts are multinomial(n · reps, p)
    total = counts.sum(axis=0)
    expected = n * reps * p
    order = np.argsort(expected)
    bins = np.cumsum(expected[order]) // 50  # pool areas into bins of ≥ 50 expected draws
    obs = np.bincount(bins.astype(int), weights=total[order])
    exp = np.bincount(bins.astype(int), weights=expected[order])
    keep = exp > 0
    assert stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue > 1e-3


def test_allocation_switches_sampler_at_the_documented_size():
    """Below the threshold the draws are numpy's multinomial (the existing studies' streams), from it on
    the binary-search sampler's; both sum to N and send no one to an area of share 0."""
    for m in (SEARCH_SAMPLER_MIN_AREAS - 1, SEARCH_SAMPLER_MIN_AREAS, 5 * SEARCH_SAMPLER_MIN_AREAS):
        intensity = np.random.default_rng(m).gamma(0.3, size=m)
        intensity[::3] = 0.0
        shares, _ = allocation_weights(intensity)
        got, _ = allocate(intensity, 400, "multinomial", np.random.default_rng(5))
        if m < SEARCH_SAMPLER_MIN_AREAS:
            expected = np.random.default_rng(5).multinomial(400, shares)
        else:
            areas, counts = multinomial_search(np.cumsum(shares), 400, np.random.default_rng(5))
            expected = np.zeros(m, dtype=np.int64)
            expected[areas] = counts
        np.testing.assert_array_equal(got, expected)
        assert got.sum() == 400 and (got[intensity == 0] == 0).all()
