"""Known answers and invariants of the fairness/accuracy metrics (docs/methods.md, "Metrics"; Semsar et al.
2026, section 3.4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairpatrol.metrics import (
    daily_metrics,
    epsilon,
    gini,
    mean_interval,
    police_to_crime_ratio,
    shares,
    trend_slope,
)


def test_gini_known_answers():
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # Σ(2i−5)x_i / (4·10) = (−3−2+3+12)/40
    assert np.isnan(gini([0, 0, 0]))
    with pytest.raises(ValueError):
        gini([1, -1])


def test_gini_is_vectorised_along_last_axis():
    x = np.array([[0, 0, 0, 1], [1, 1, 1, 1]])
    np.testing.assert_allclose(gini(x), [0.75, 0.0])


@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1e6)))
def test_gini_bounds(x):
    g = gini(x)
    if x.sum() == 0:
        assert np.isnan(g)
    else:
        assert -1e-12 <= g <= 1 - 1 / len(x) + 1e-12


@given(arrays(np.int64, st.integers(1, 50), elements=st.integers(0, 1000)))
def test_smoothed_shares_sum_to_one(counts):
    s = shares(counts, epsilon(len(counts)))
    assert s.sum() == pytest.approx(1.0)
    assert (s > 0).all()


def test_pcr_and_gaps_hand_worked():
    # 4 areas: group 1 = areas 0, 1; group 2 = areas 2, 3
    officers = np.array([[2, 0, 1, 1]])
    crimes = np.array([[1, 1, 0, 2]])
    detected = np.array([[1, 0, 0, 1]])
    g1 = np.array([True, True, False, False])
    g2 = ~g1
    eps = 1 / 40
    s_eps = (officers[0] + eps) / (4 + 4 * eps)
    c_eps = (crimes[0] + eps) / (4 + 4 * eps)
    pcr = s_eps / c_eps
    np.testing.assert_allclose(police_to_crime_ratio(officers, crimes)[0], pcr)
    m = daily_metrics(officers, crimes, detected, g1, g2)
    assert m["accuracy"][0] == pytest.approx(2 / 4)
    assert m["share_g1"][0] == pytest.approx((0.5 + 0.0) / 2)
    assert m["share_g2"][0] == pytest.approx((0.25 + 0.25) / 2)
    assert m["share_gap"][0] == pytest.approx(0.0)
    assert m["pcr_gap"][0] == pytest.approx(abs(pcr[:2].mean() - pcr[2:].mean()))
    assert m["gini_police"][0] == pytest.approx(gini([2, 0, 1, 1]))
    # police share 0.5 > 1.2 × 0.25 (area 0); 0.25 > 1.2 × 0 (area 2): over-policed
    assert m["over_policed"][0] == 2
    # area 1: share 0 < 0.8 × 0.25; area 3: 0.25 < 0.8 × 0.5
    assert m["under_policed"][0] == 2


def test_accuracy_is_nan_on_a_day_without_crime():
    m = daily_metrics(
        np.array([[1, 1]]),
        np.array([[0, 0]]),
        np.array([[0, 0]]),
        np.array([True, False]),
        np.array([False, True]),
    )
    assert np.isnan(m["accuracy"][0])


def test_metrics_are_per_run_not_on_run_averages():
    officers = np.array([[[4, 0]], [[0, 4]]])  # two runs, one day, two areas
    crimes = np.array([[1, 1]])
    m = daily_metrics(
        officers, crimes, np.zeros_like(officers), np.array([True, False]), np.array([False, True])
    )
    np.testing.assert_allclose(m["gini_police"][:, 0], [0.5, 0.5])  # the run average [2, 2] would give 0


def test_trend_slope_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 40)) + 0.05 * np.arange(40)
    expected = [stats.linregress(np.arange(40), row).slope for row in y]
    np.testing.assert_allclose(trend_slope(y), expected)
    y[0, 5] = np.nan
    keep = np.isfinite(y[0])
    assert trend_slope(y)[0] == pytest.approx(stats.linregress(np.arange(40)[keep], y[0][keep]).slope)


def test_mean_interval_matches_t_interval():
    from scipy import stats

    v = np.array([1.0, 2.0, 4.0, 7.0])
    mean, lo, hi = mean_interval(v)
    ref = stats.t.interval(0.95, 3, loc=v.mean(), scale=stats.sem(v))
    assert mean == pytest.approx(3.5)
    assert (lo, hi) == pytest.approx(ref)
    assert np.isnan(mean_interval(np.array([1.0]))[1])


@settings(max_examples=30)
@given(st.integers(2, 30), st.integers(1, 500), st.integers(0, 10_000))
def test_daily_group_police_shares_follow_their_definition(m, n, seed):
    """share_g = mean over the group's areas of P_i / ΣP, per run and day; gap = |share_g1 − share_g2|."""
    rng = np.random.default_rng(seed)
    officers = rng.multinomial(n, np.ones(m) / m, size=(2, 3))  # runs × days × areas
    crimes = rng.poisson(1.0, size=(3, m))
    g1 = rng.random(m) < 0.5
    g1[0], g1[-1] = True, False  # both groups hold an area
    g2 = ~g1
    got = daily_metrics(officers, crimes, np.zeros_like(officers), g1, g2)
    share = officers / officers.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(got["share_g1"], share[..., g1].mean(axis=-1))
    np.testing.assert_allclose(got["share_g2"], share[..., g2].mean(axis=-1))
    signed = share[..., g1].mean(axis=-1) - share[..., g2].mean(axis=-1)
    np.testing.assert_allclose(got["share_gap_signed"], signed)
    np.testing.assert_allclose(got["share_gap"], np.abs(signed))
