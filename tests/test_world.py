"""World model: allocation sums, noisy-OR detection frequency, random streams (SPEC §4–6)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairpatrol.sim.world import (
    allocate,
    allocation_weights,
    detection_probability,
    largest_remainder,
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


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_detection_frequency_matches_noisy_or(k):
    p = 0.5
    n = 200_000
    rng = np.random.default_rng(k)
    prob = detection_probability(np.full(n, k), p)
    hits = rng.random(n) < prob
    expected = 1 - (1 - p) ** k
    assert hits.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / n) + 1e-12)


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
