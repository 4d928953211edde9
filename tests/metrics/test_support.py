"""The support kernel of the daily and group metrics against their numpy definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fairpatrol.metrics import daily_metrics, gini, group_metrics
from fairpatrol.metrics.support import SUPPORT_METRICS_MIN_AREAS, day_metrics, support_metrics


def _close(got: dict, want: dict) -> None:
    """Equal to rounding; a gap is compared at the scale of the group means it subtracts."""
    for name, w in want.items():
        g = got[name]
        assert g.shape == w.shape, name
        scale = np.abs(w)
        if "gap" in name:
            stem = "share" if name.startswith("share") else "pcr"
            scale = np.maximum(np.abs(want[f"{stem}_g1"]), np.abs(want[f"{stem}_g2"]))
        if name.startswith("gini"):  # in [0, 1]: numpy's Gini of equal values may be 2.5e-17, not 0
            scale = np.maximum(scale, 1.0)
        ok = (np.abs(g - w) <= 1e-12 * scale + 1e-300) | (np.isnan(g) & np.isnan(w))
        assert ok.all(), (name, g, w)


def _maps(rng, rows, m, officers, crimes, share_groups=3):
    off = np.zeros((rows, m), np.int32)
    for r in range(rows):
        np.add.at(off[r], rng.integers(0, m, officers), 1)
    cr = np.zeros((rows, m), np.int32)
    where = rng.integers(0, m, crimes)
    for r in range(rows):
        np.add.at(cr[r], where[rng.random(crimes) < 0.9], 1)  # deterrence-like thinning per run
    det = np.minimum(cr, rng.binomial(cr, 0.5))
    index = rng.integers(0, share_groups, m)
    return off, cr, det, index


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 6),
    m=st.integers(2, 400),
    officers=st.integers(1, 500),
    crimes=st.integers(0, 300),
    groups=st.integers(1, 4),
)
# run-averaged counts with shares exactly at 1.2 × the crime share in nine areas: totals summed in another
# order than numpy's put them on the other side of the over-policed threshold
@example(seed=1, rows=3, m=113, officers=270, crimes=184, groups=1)
@example(seed=627653, rows=2, m=6, officers=6, crimes=0, groups=1)  # equal PCRs: a Gini of 0
def test_support_kernel_equals_the_numpy_definitions(seed, rows, m, officers, crimes, groups):
    rng = np.random.default_rng(seed)
    off, cr, det, index = _maps(rng, rows, m, officers, crimes, groups)
    g1, g2 = index == 0, index == 1  # a pair that may be empty or not cover every area
    daily, per_group = support_metrics(off, cr, det, g1, g2, index, groups)
    _close(daily, daily_metrics(off, cr, det, g1, g2))
    _close(per_group, group_metrics(off, cr, det, index, groups))
    # fractional counts (metrics of run-averaged counts)
    avg = tuple(a.mean(axis=0, keepdims=True) for a in (off, cr, det))
    daily, per_group = support_metrics(*avg, g1, g2, index, groups)
    _close(daily, daily_metrics(*avg, g1, g2))
    _close(per_group, group_metrics(*avg, index, groups))


def test_city_scale_maps_and_days_without_crime():
    rng = np.random.default_rng(3)
    off, cr, det, index = _maps(rng, 8, 27_459, 400, 200)
    cr[0], det[0] = 0, 0  # a day without crime: accuracy and crime shares are undefined
    g1, g2 = index == 0, index == 1
    daily, per_group = support_metrics(off, cr, det, g1, g2, index, 3)
    assert np.isnan(daily["accuracy"][0]) and np.isnan(per_group["crime_share"][0]).all()
    _close(daily, daily_metrics(off, cr, det, g1, g2))
    _close(per_group, group_metrics(off, cr, det, index, 3))


def test_known_answers():
    # officers [2, 0, 2, 0], crimes [1, 1, 0, 0]; groups [0, 0, 1, 1]
    off = np.array([[2, 0, 2, 0]])
    cr = np.array([[1, 1, 0, 0]])
    det = np.array([[1, 0, 0, 0]])
    index = np.array([0, 0, 1, 1])
    daily, per_group = support_metrics(off, cr, det, index == 0, index == 1, index, 2)
    assert daily["accuracy"][0] == 0.5
    assert daily["gini_police"][0] == pytest.approx(gini(np.array([2.0, 0, 2, 0])))  # 0.5
    assert daily["gini_police"][0] == pytest.approx(0.5)
    assert daily["share_g1"][0] == pytest.approx(0.25) and daily["share_g2"][0] == pytest.approx(0.25)
    assert daily["over_policed"][0] == 1 and daily["under_policed"][0] == 1  # areas 2 and 1
    np.testing.assert_allclose(per_group["police_share"][0], [0.5, 0.5])
    np.testing.assert_allclose(per_group["crime_share"][0], [1.0, 0.0])
    np.testing.assert_allclose(per_group["detected_share"][0], [1.0, 0.0])


def test_day_metrics_switches_to_the_kernel_from_the_threshold():
    rng = np.random.default_rng(5)
    for m in (SUPPORT_METRICS_MIN_AREAS - 1, SUPPORT_METRICS_MIN_AREAS):
        off, cr, det, index = _maps(rng, 3, m, 40, 30)
        g1, g2 = index == 0, index == 1
        daily, _ = day_metrics(off, cr, det, g1, g2, index, 3)
        dense = daily_metrics(off, cr, det, g1, g2)
        kernel, _ = support_metrics(off, cr, det, g1, g2, index, 3)
        want = dense if m < SUPPORT_METRICS_MIN_AREAS else kernel
        for name in dense:
            np.testing.assert_array_equal(daily[name], want[name])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 5), groups=st.integers(1, 4))
def test_stream_helpers_equal_their_numpy_forms_on_many_areas(seed, rows, groups):
    """The per-day helpers of the metric accumulator above the threshold: group sums of counts, the Gini of
    allocation shares, the PCR gap at several ε, and the per-area sums of the day's counts."""
    from fairpatrol.metrics.fairness import group_sums, pcr_gap
    from fairpatrol.metrics.support import add_counts, gini_rows, group_counts, pcr_gaps

    rng = np.random.default_rng(seed)
    m = SUPPORT_METRICS_MIN_AREAS + int(rng.integers(0, 3000))
    off, cr, det, index = _maps(rng, rows, m, int(rng.integers(1, 500)), int(rng.integers(0, 300)), groups)
    idle = off * (cr == 0)
    for got, values in zip(group_counts(off, cr, det, index, groups), (off, cr, det, idle), strict=True):
        np.testing.assert_array_equal(got, group_sums(values, index, groups))  # sums of counts: exact
    shares = rng.random((rows, m)) * (rng.random((rows, m)) < 0.7)
    np.testing.assert_allclose(gini_rows(shares), gini(shares), rtol=1e-12)
    g1, g2 = index == 0, index == 1
    eps = [1e-6, 1e-4, 1e-2]
    want = np.stack([pcr_gap(off, cr, g1, g2, e) for e in eps], axis=-1)
    got = pcr_gaps(off, cr, g1, g2, eps)
    assert (
        (np.abs(got - want) <= 1e-9 * np.maximum(np.abs(want), 1.0)) | (np.isnan(got) & np.isnan(want))
    ).all()
    sums = rng.random((4, rows, m))
    dense = sums + np.stack([off, cr, det, idle]).astype(float)
    add_counts(sums, off, cr, det)
    np.testing.assert_array_equal(sums, dense)  # the same float additions, zeros skipped


def test_a_metric_without_a_support_form_is_computed_by_its_definition(extra_metrics):
    """Adding a daily or per-group metric touches fairness.py (and the registry) only: the support path
    computes metrics it has no form for by their numpy definition on the same day's counts (the metrics
    added by the ``extra_metrics`` fixture)."""
    rng = np.random.default_rng(3)
    m = SUPPORT_METRICS_MIN_AREAS + 10
    officers = rng.poisson(0.05, (3, m))
    crimes = rng.poisson(0.02, m)
    detected = np.minimum(officers, crimes)
    group_index = rng.integers(0, 3, m)
    daily, groups = support_metrics(
        officers, crimes, detected, group_index == 0, group_index == 1, group_index, 3
    )
    assert np.array_equal(daily["busiest_area"], officers.max(axis=1).astype(float))
    expected = np.stack([officers[:, group_index == g].sum(axis=1) for g in range(3)], axis=-1)
    assert np.array_equal(groups["officers_total"], expected)
    reference = group_metrics(officers, crimes, detected, group_index, 3)
    assert np.allclose(groups["police_share"], reference["police_share"], rtol=1e-12, atol=0)
