"""Known answers for the grid metrics (docs/grid.md, "Evaluation"): PF benefit, Max-min, Gini, precision,
hit rate, PAI, EMD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairpatrol.grid import metrics as gm

# A hand-worked two-group example. Cells 0, 1 form group A and cells 2, 3 group B.
#   forecast  pred = [4, 1, 3, 2]  -> P = [0.40, 0.10, 0.30, 0.20]
#   observed  obs  = [1, 0, 0, 3]  -> R = [0.25, 0.00, 0.00, 0.75]
#   |P - R|        = [0.15, 0.10, 0.30, 0.55]
# Coverage 50 %: one cell per group. G*_A = {0} (4 > 1), G*_B = {2} (3 > 2).
#   f_A = 0.15, f_B = 0.30, Max-min = 0.15, Gini = 0.15 / 0.45 = 1/3
#   precision A = 1 (cell 0 had a crime), precision B = 0 (cell 2 had none)
# Coverage 100 %: both cells of each group.
#   f_A = (0.15 + 0.10)/2 = 0.125, f_B = (0.30 + 0.55)/2 = 0.425, Max-min = 0.3, Gini = 0.3 / 0.55 = 6/11
#   precision A = 1/2, precision B = 1/2
# City-wide greedy allocation: 25 % -> cell 0 (R = 0.25), 50 % -> cells 0 and 2 (R = 0.25), 100 % -> 1.
#   PAI = hit rate / share of cells: 0.25 / 0.25 = 1, 0.25 / 0.5 = 0.5, 1 / 1 = 1.
PRED = np.array([[4.0, 1.0, 3.0, 2.0]])
OBS = np.array([[1.0, 0.0, 0.0, 3.0]])
A = np.array([True, True, False, False])
B = ~A
COV = np.array([0.5, 1.0])


def test_prediction_fairness_known_answer():
    f_a = gm.prediction_benefit(PRED, OBS, A, COV)
    f_b = gm.prediction_benefit(PRED, OBS, B, COV)
    np.testing.assert_allclose(f_a, [[0.15, 0.125]])
    np.testing.assert_allclose(f_b, [[0.30, 0.425]])
    np.testing.assert_allclose(gm.max_min(f_a, f_b), [[0.15, 0.30]])
    np.testing.assert_allclose(gm.gini_two(f_a, f_b), [[1 / 3, 6 / 11]])


def test_precision_known_answer():
    np.testing.assert_allclose(gm.precision(PRED, OBS, A, COV), [[1.0, 0.5]])
    np.testing.assert_allclose(gm.precision(PRED, OBS, B, COV), [[0.0, 0.5]])


def test_hit_rate_and_pai_known_answer():
    cov = np.array([0.25, 0.5, 1.0])
    hits = gm.hit_rate(PRED, OBS, cov)
    np.testing.assert_allclose(hits, [[0.25, 0.25, 1.0]])
    np.testing.assert_allclose(gm.pai(hits, 4, cov), [[1.0, 0.5, 1.0]])


def test_selection_sizes_round_up_and_keep_one_cell():
    np.testing.assert_array_equal(gm.selection_sizes(323, np.array([0.01, 0.015, 0.3])), [4, 5, 97])
    np.testing.assert_array_equal(gm.selection_sizes(10, np.array([0.01, 0.1, 1.0])), [1, 1, 10])
    with pytest.raises(ValueError, match="coverage"):
        gm.selection_sizes(10, np.array([0.0]))


def test_ties_go_to_the_lower_cell_index():
    pred = np.array([[1.0, 1.0, 1.0]])
    obs = np.array([[0.0, 0.0, 1.0]])
    assert gm.precision(pred, obs, None, np.array([0.34]))[0, 0] == 0.0  # cell 0 picked of the tie
    assert gm.hit_rate(pred, obs, np.array([0.66]))[0, 0] == 0.0  # ceil(1.98) = 2 cells: 0 and 1
    assert gm.hit_rate(pred, obs, np.array([1.0]))[0, 0] == 1.0


def test_days_without_crime_are_undefined_except_precision():
    pred = np.vstack([PRED, PRED])
    obs = np.vstack([OBS, np.zeros((1, 4))])
    f = gm.prediction_benefit(pred, obs, A, COV)
    assert np.isfinite(f[0]).all() and np.isnan(f[1]).all()
    assert np.isnan(gm.hit_rate(pred, obs, COV)[1]).all()
    np.testing.assert_array_equal(gm.precision(pred, obs, A, COV)[1], [0.0, 0.0])
    dist = np.abs(np.arange(4)[:, None] - np.arange(4)[None, :]) * 1000.0
    emd = gm.emd_maps(pred, obs, dist)
    assert np.isfinite(emd[0]) and np.isnan(emd[1])


def test_gini_of_two_zero_benefits_is_zero_and_nan_propagates():
    np.testing.assert_array_equal(gm.gini_two(np.array([0.0, np.nan]), np.array([0.0, 1.0])), [0.0, np.nan])


def test_shares_reject_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        gm.shares(np.array([1.0, -1.0]))


def _line(positions):
    p = np.asarray(positions, dtype=float)
    return np.abs(p[:, None] - p[None, :])


def test_emd_of_a_map_with_itself_is_zero():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10_000, size=(60, 2))
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    a = rng.random(60)
    assert gm.emd_spatial(a, a, dist) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("d", [1.0, 250.0, 3000.0, 12_345.6])
def test_emd_of_a_unit_mass_moved_d_metres_is_d(d):
    dist = _line([0.0, d, 2 * d])
    assert gm.emd_spatial(np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), dist) == pytest.approx(d)
    assert gm.emd_spatial(np.array([1.0, 0, 0]), np.array([0, 0, 1.0]), dist) == pytest.approx(2 * d)


def test_emd_hand_worked_split_mass():
    # all mass at x = 0; half goes to x = 1000 and half to x = 3000: 0.5 * 1000 + 0.5 * 3000 = 2000 m
    dist = _line([0.0, 1000.0, 3000.0])
    assert gm.emd_spatial(np.array([2.0, 0, 0]), np.array([0, 1.0, 1.0]), dist) == pytest.approx(2000.0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5),
    st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5),
)
def test_emd_on_a_line_equals_the_1d_wasserstein_distance(a, b):
    from scipy.stats import wasserstein_distance

    a, b = np.array(a), np.array(b)
    if a.sum() < 1e-6 or b.sum() < 1e-6:
        return
    pos = np.array([0.0, 700.0, 1100.0, 2600.0, 5000.0])
    expected = wasserstein_distance(pos, pos, a, b)
    assert gm.emd_spatial(a, b, _line(pos)) == pytest.approx(expected, rel=1e-7, abs=1e-6)


def test_spatial_emd_sees_location_where_the_value_emd_does_not():
    # The regression of the PF/RAF paper's code: moving the hot spot across the city leaves the histogram
    # of cell values unchanged (1-D value EMD 0) while the spatial EMD is the distance moved.
    dist = _line([0.0, 1000.0, 9000.0])
    pred = np.array([0.8, 0.2, 0.0])
    moved = np.array([0.0, 0.2, 0.8])
    assert gm.emd_values_1d(pred, moved) == pytest.approx(0.0)
    assert gm.emd_spatial(pred, moved, dist) == pytest.approx(0.8 * 9000.0)


def test_emd_maps_per_group_renormalises_within_the_group():
    dist = _line([0.0, 1000.0, 5000.0, 6000.0])
    pred = np.array([[3.0, 1.0, 0.0, 4.0]])
    obs = np.array([[0.0, 2.0, 5.0, 0.0]])
    # group of cells 0, 1: (0.75, 0.25) -> (0, 1): 0.75 * 1000; cells 2, 3: (0, 1) -> (1, 0): 1000
    np.testing.assert_allclose(gm.emd_maps(pred, obs, dist, np.array([1, 1, 0, 0], bool)), [750.0])
    np.testing.assert_allclose(gm.emd_maps(pred, obs, dist, np.array([0, 0, 1, 1], bool)), [1000.0])
    none = np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 0.0]])
    assert np.isnan(gm.emd_maps(*none, dist, np.array([1, 1, 0, 0], bool))[0])  # no crime in the group


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        gm.prediction_benefit(np.ones((1, 4)), np.ones((1, 3)), None, COV)
    with pytest.raises(ValueError, match="mask"):
        gm.precision(PRED, OBS, np.array([True, False]), COV)
    with pytest.raises(ValueError, match="shape"):
        gm.emd_spatial(np.ones(3), np.ones(3), np.ones((2, 2)))


# -- the PF/RAF authors' code as options (docs/grid.md "Paper settings"), on the hand-worked example --------
# Ranked by observed crime at 50 %: G*_A = {0} (R = 0.25 > 0), G*_B = {3} (R = 0.75 > 0):
#   f_A = |0.40 - 0.25| = 0.15, f_B = |0.20 - 0.75| = 0.55, Max-min 0.40, printed Gini 0.40 / 0.70 = 4/7.
# At 100 % every cell is in G* whatever the ranking: f_A = 0.125, f_B = 0.425 as before.
def test_pf_benefit_ranked_by_observed_crime():
    f_a = gm.prediction_benefit(PRED, OBS, A, COV, rank_by="observed")
    f_b = gm.prediction_benefit(PRED, OBS, B, COV, rank_by="observed")
    np.testing.assert_allclose(f_a, [[0.15, 0.125]])
    np.testing.assert_allclose(f_b, [[0.55, 0.425]])
    np.testing.assert_allclose(gm.gini_two(f_a, f_b), [[4 / 7, 6 / 11]])
    with pytest.raises(ValueError, match="rank_by"):
        gm.prediction_benefit(PRED, OBS, A, COV, rank_by="truth")


def test_gini_coefficient_is_half_the_printed_two_group_formula():
    # Σ_i Σ_j |f_i − f_j| / (2 n Σ f) with f = (0.15, 0.30), n = 2: 2 × 0.15 / (4 × 0.45) = 1/6
    assert gm.gini_coefficient(np.array(0.15), np.array(0.30)) == pytest.approx(1 / 6)
    assert gm.gini_two(np.array(0.15), np.array(0.30)) == pytest.approx(1 / 3)
    np.testing.assert_array_equal(gm.gini_coefficient(np.array([0.0, 1.0]), np.array([0.0, 0.0])), [0.0, 0.5])


def test_floor_selection_can_select_no_cell():
    # n = 2: 30 % -> ceil 1 cell, floor 0 cells (NaN); 50 % -> 1 either way; 100 % -> 2
    cov = np.array([0.3, 0.5, 1.0])
    np.testing.assert_array_equal(gm.selection_sizes(2, cov, "ceil"), [1, 1, 2])
    np.testing.assert_array_equal(gm.selection_sizes(2, cov, "floor"), [0, 1, 2])
    np.testing.assert_array_equal(
        gm.selection_sizes(215, np.array([0.01, 0.15, 0.295]), "floor"), [2, 32, 63]
    )
    f = gm.prediction_benefit(PRED, OBS, A, cov, selection="floor")
    np.testing.assert_allclose(f, [[np.nan, 0.15, 0.125]])
    p = gm.precision(PRED, OBS, A, cov, selection="floor")
    np.testing.assert_allclose(p, [[np.nan, 1.0, 0.5]])
    with pytest.raises(ValueError, match="selection rule"):
        gm.selection_sizes(2, cov, "round")


def test_precision_cap_cuts_the_selection_to_the_cells_with_crime():
    # 100 %: group A has one cell with crime (cell 0) -> k = 1 -> cell 0 (forecast 4) -> 1/1;
    # group B has one (cell 3) -> k = 1 -> cell 2 (forecast 3 > 2), no crime -> 0/1. Uncapped: 1/2 and 1/2.
    np.testing.assert_allclose(gm.precision(PRED, OBS, A, COV, cap=True), [[1.0, 1.0]])
    np.testing.assert_allclose(gm.precision(PRED, OBS, B, COV, cap=True), [[0.0, 0.0]])
    # a group without crime that day has no capped precision (NaN), the uncapped one is 0
    none = np.array([[0.0, 0.0, 1.0, 0.0]])
    assert np.isnan(gm.precision(PRED, none, A, COV, cap=True)).all()
    np.testing.assert_array_equal(gm.precision(PRED, none, A, COV), [[0.0, 0.0]])


def test_precision_cap_skips_selected_cells_without_forecast():
    # three cells, forecast (5, 0, 0), crime in cells 0 and 2: k = min(3, 2) = 2 -> cells 0 and 1 (tie of
    # zeros to the lower index); cell 1 has no forecast and counts neither as hit nor as miss: 1/1.
    pred, obs = np.array([[5.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 1.0]])
    assert gm.precision(pred, obs, None, np.array([1.0]), cap=True)[0, 0] == 1.0
    assert gm.precision(pred, obs, None, np.array([1.0]))[0, 0] == pytest.approx(2 / 3)
    # only zero-forecast cells selected: no positive prediction, NaN
    assert np.isnan(gm.precision(np.zeros((1, 3)), obs, None, np.array([0.5]), cap=True)[0, 0])


def test_precision_counts_any_positive_observation_as_crime():
    # the authors' truth maps are shares, not counts: a share of 0.2 is a cell with crime
    shares = OBS / OBS.sum()
    np.testing.assert_allclose(gm.precision(PRED, shares, A, COV), gm.precision(PRED, OBS, A, COV))
