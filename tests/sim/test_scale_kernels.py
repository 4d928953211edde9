"""Compiled per-day passes used on many areas, against the numpy forms they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairpatrol.allocations import nonzero_rows
from fairpatrol.sim import world


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 6), extra=st.integers(0, 2000))
def test_allocation_shares_kernel_equals_the_numpy_form(seed, rows, extra):
    rng = np.random.default_rng(seed)
    m = world.SEARCH_SAMPLER_MIN_AREAS + extra
    x = rng.gamma(0.3, 1.0, (rows, m)) * (rng.random((rows, m)) < 0.6)
    x[0, : m // 3] = 1e-30  # below the zero-share floor of the day's total
    if rows > 1:
        x[1] = 0.0  # no information: uniform, flagged
    if rows > 2:
        x[2, 3], x[2, 4], x[2, 5] = np.nan, np.inf, -1.0  # not finite or negative: no share
    shares, flags = world.allocation_weights(x)
    limit = world.SEARCH_SAMPLER_MIN_AREAS
    try:
        world.SEARCH_SAMPLER_MIN_AREAS = 10**9  # the numpy form at any size
        want, want_flags = world.allocation_weights(x)
    finally:
        world.SEARCH_SAMPLER_MIN_AREAS = limit
    np.testing.assert_array_equal(flags, want_flags)
    np.testing.assert_allclose(shares, want, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(shares == 0, want == 0)  # the same areas get no share
    one, flag = world.allocation_weights(x[0])
    np.testing.assert_array_equal(one, shares[0])
    assert flag == bool(flags[0])
    # the engine's form: the same shares, and the search sampler's cumulative shares of the same pass
    day = world.allocation_rows(x)
    np.testing.assert_array_equal(day.shares, shares)
    np.testing.assert_array_equal(day.fallback, flags)
    np.testing.assert_array_equal(day.cum, np.cumsum(shares, axis=1))  # bit for bit
    small = world.allocation_rows(x[:, :100])
    assert small.cum is None  # numpy's multinomial below the search sampler's size: no cumulative sums
    np.testing.assert_array_equal(small.shares, world.allocation_weights(x[:, :100])[0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), prevention=st.booleans())
def test_nonzero_rows_equal_numpys_nonzero_and_gathers(seed, prevention):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 8)), int(rng.integers(1, 400)))
    counts = [(rng.random(shape) < 0.05) * rng.integers(1, 5, shape) for _ in range(5 if prevention else 4)]
    counts = [c.astype(np.int32) for c in counts]
    none = np.zeros((0, 0), np.int32)
    row, area, values = nonzero_rows(*counts[:4], counts[4] if prevention else none)
    any_nonzero = np.logical_or.reduce([c != 0 for c in counts])
    want_row, want_area = np.nonzero(any_nonzero)
    np.testing.assert_array_equal(row, want_row)
    np.testing.assert_array_equal(area, want_area)
    for k, c in enumerate(counts):
        np.testing.assert_array_equal(values[k], c[want_row, want_area])
    if not prevention:
        assert not values[4].any()
