"""Date-only incidents: the within-day placement shared by PredPol and the grid SEPP (data.dates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fairpatrol.data.dates import EPOCH, at_midnight, place_within_day, within_day_offsets


def test_offsets_are_uniform_reproducible_and_separate_identical_records():
    day = np.array([0.0, 0.0, 0.0, 1.0])
    key = np.array(["a", "a", "b", "a"])
    u = within_day_offsets(day, key, seed=0)
    assert ((u >= 0) & (u < 1)).all() and len(set(u[:2])) == 2  # two identical records: two times
    np.testing.assert_array_equal(u, within_day_offsets(day, key, seed=0))
    assert not np.array_equal(u, within_day_offsets(day, key, seed=1))
    many = within_day_offsets(np.zeros(50_000), np.arange(50_000))
    assert abs(many.mean() - 0.5) < 0.005 and abs((many < 0.1).mean() - 0.1) < 0.005


@settings(max_examples=50, deadline=None)
@given(
    days=st.lists(st.integers(-400, 400), min_size=1, max_size=30),
    shift=st.integers(-1000, 1000),
    seed=st.integers(0, 2**32),
)
def test_placement_depends_on_the_absolute_day_only(days, shift, seed):
    """The same events placed from two origins (two rolling windows) get the same clock times, and every
    event stays within its own day."""
    t = np.asarray(days, dtype=float)
    ids = np.arange(len(t))
    origin = pd.Timestamp("2019-01-01")
    a = place_within_day(t, origin, ids, seed=seed)
    b = place_within_day(t - shift, origin + pd.Timedelta(days=shift), ids, seed=seed)
    np.testing.assert_allclose(a, b + shift, atol=1e-9)
    assert (np.floor(a) == t).all()
    # the hashed day is days since the epoch: placing from the epoch itself gives the same offsets
    e = (origin - EPOCH).days
    np.testing.assert_allclose(a - t, place_within_day(t + e, EPOCH, ids, seed=seed) - (t + e), atol=1e-9)


def test_at_midnight():
    assert at_midnight(np.array([0.0, -3.0, 2.0 + 1e-12])).all()
    assert not at_midnight(np.array([0.5, 1 / 24])).any()
