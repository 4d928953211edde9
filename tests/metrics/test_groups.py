"""Per-group metrics for any number of groups (known answers and invariants)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairpatrol.metrics import daily_metrics, group_metrics
from fairpatrol.metrics.fairness import epsilon


def test_known_answer_three_groups():
    officers = np.array([4.0, 0.0, 2.0, 2.0])
    crimes = np.array([1.0, 1.0, 2.0, 0.0])
    detected = np.array([1.0, 0.0, 1.0, 0.0])
    m = group_metrics(officers, crimes, detected, np.array([0, 0, 1, 2]))
    assert np.allclose(m["police_share"], [0.5, 0.25, 0.25])
    assert np.allclose(m["crime_share"], [0.5, 0.5, 0.0])
    assert np.allclose(m["detected_share"], [0.5, 0.5, 0.0])
    assert np.allclose(m["mean_share"], [0.25, 0.25, 0.25])
    e = epsilon(4)
    s = (officers + e) / (8 + 4 * e)
    c = (crimes + e) / (4 + 4 * e)
    assert np.allclose(m["mean_pcr"], [(s[0] / c[0] + s[1] / c[1]) / 2, s[2] / c[2], s[3] / c[3]])


def test_a_day_without_officers_or_crime_is_undefined():
    m = group_metrics(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros((1, 3)), np.array([0, 1, 1]))
    assert np.isnan(m["police_share"]).all() and np.isnan(m["crime_share"]).all()


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.int64, (2, 3, 7), elements=st.integers(0, 20)),
    arrays(np.int64, (3, 7), elements=st.integers(0, 20)),
    arrays(np.int64, 7, elements=st.integers(0, 3)),
)
def test_shares_add_up_and_the_pair_matches_the_two_group_metrics(officers, crimes, index):
    if len(set(index.tolist())) < 2:
        return
    index = np.unique(index, return_inverse=True)[1]
    g = int(index.max()) + 1
    detected = np.minimum(officers, crimes)
    m = group_metrics(officers, crimes, detected, index, g)
    assert m["police_share"].shape == (2, 3, g)
    busy = officers.sum(-1) > 0
    assert np.allclose(m["police_share"].sum(-1)[busy], 1.0)
    assert np.allclose(m["crime_share"].sum(-1)[:, crimes.sum(-1) > 0], 1.0)
    two = daily_metrics(officers, crimes, detected, index == 0, index == 1)
    assert np.allclose(m["mean_share"][..., 0], two["share_g1"], equal_nan=True)
    assert np.allclose(m["mean_pcr"][..., 1], two["pcr_g2"], equal_nan=True)
