"""Sparse event rows and the incremental window sums: against dense arithmetic, the reference engine on a
grid city of square cells (the search sampler's size; PredPol's fits on the cells with events only), and
an emptied window."""

from __future__ import annotations

import numpy as np
import pytest

from fairpatrol.models import LongTermKDE, PredPol, PreviousCounts, ShortTermKDE
from fairpatrol.models._sparse import SparseRows
from fairpatrol.sim.engine import RunSpec, simulate
from fairpatrol.sim.prepare import prepare
from fairpatrol.sim.reference import simulate_reference, training_frame
from fairpatrol.sim.world import SEARCH_SAMPLER_MIN_AREAS


def random_rows(rng, n_rows, n_cols, density=0.2):
    dense = np.where(rng.random((n_rows, n_cols)) < density, rng.random((n_rows, n_cols)), 0.0)
    counts = (dense != 0).sum(axis=1)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    r, c = np.nonzero(dense)
    return SparseRows(indptr, c.astype(np.int32), dense[r, c], n_cols), dense


def test_sparse_rows_round_trip_and_weighted_sums():
    rng = np.random.default_rng(1)
    rows, dense = random_rows(rng, 50, 30)
    np.testing.assert_array_equal(rows.toarray(), dense)
    np.testing.assert_array_equal(rows.toarray(10, 20), dense[10:20])
    w = np.where(rng.random((4, 20)) < 0.5, rng.random((4, 20)), 0.0).astype(np.float32)
    np.testing.assert_allclose(rows.weighted_sum(w, 10), w.astype(float) @ dense[10:30], rtol=1e-13)
    np.testing.assert_allclose(rows.weighted_sum(w[0], 10), w[0].astype(float) @ dense[10:30], rtol=1e-13)
    sums = rows.weighted_sum(w, 10)
    rows.accumulate(sums, w, 10, sign=-1.0)  # adding then subtracting the same rows: back to 0 (to rounding)
    assert np.abs(sums).max() < 1e-14
    one = SparseRows.one_hot(np.array([2, 0, 2]), 3)
    np.testing.assert_array_equal(one.weighted_sum(np.array([1.0, 5.0, 2.0])), [5.0, 0.0, 3.0])
    with pytest.raises(ValueError, match="out of range"):
        rows.weighted_sum(np.ones((1, 45)), 10)
    with pytest.raises(ValueError, match="do not fit"):
        rows.accumulate(np.zeros((2, 30)), np.ones((3, 5)), 0)


def test_a_sum_does_not_depend_on_the_others_computed_with_it():
    """Bit for bit: each run's sums are its own sequence of additions (runs can be batched freely)."""
    rng = np.random.default_rng(2)
    rows, _ = random_rows(rng, 200, 40)
    w = rng.random((7, 200))
    together = rows.weighted_sum(w)
    for r in range(7):
        np.testing.assert_array_equal(rows.weighted_sum(w[r]), together[r])


@pytest.fixture(scope="module")
def grid_data():
    """Baltimore's assaults on 400 m square cells: 1,393 areas, so allocation uses the search sampler."""
    from fairpatrol.config import load_preset, parse_scenario, to_yaml_dict
    from fairpatrol.sim.study import load_study_incidents

    doc = to_yaml_dict(load_preset("baltimore-agg"))
    doc["data"]["areas"] = {"grid": {"size_m": 400}}
    data = prepare(load_study_incidents(parse_scenario(doc)), "2019-03-01", 5, 365)
    assert data.n_areas >= SEARCH_SAMPLER_MIN_AREAS
    return data


GRID_RUNS = [
    RunSpec(run=0, n_officers=40, report_prob=0.0),
    RunSpec(run=1, n_officers=400, report_prob=0.4),
    RunSpec(run=2, n_officers=400, report_prob=0.0, detection_p=0.3),
]


@pytest.mark.parametrize(
    "model", [ShortTermKDE(), LongTermKDE(), PreviousCounts()], ids=lambda m: type(m).__name__
)
def test_fast_engine_equals_reference_on_a_grid_city(model, grid_data):
    fast = simulate(model, grid_data, GRID_RUNS, seed=4)
    slow = simulate_reference(model, grid_data, GRID_RUNS, seed=4)
    for table in ("officers", "detected", "reported"):
        np.testing.assert_array_equal(getattr(fast, table), getattr(slow, table), err_msg=table)
    # after the last day the sparse incremental state forecasts what a refit on each run's data gives
    until = grid_data.start + np.timedelta64(grid_data.n_days, "D")
    incremental = fast.state.forecast(grid_data.n_days)
    for r in range(len(GRID_RUNS)):
        refit = type(model)(**model.get_params()).fit(
            training_frame(grid_data, fast.weights[r]), until=until, areas=grid_data.areas
        )
        np.testing.assert_allclose(incremental[r], refit.predict().to_numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    "model",
    [PredPol(), PredPol(e_step="transposed", warm_mu="renormalised", forecast="midnight")],
    ids=["PredPol", "PredPol-transposed"],
)
def test_predpol_fits_only_cells_with_events_and_changes_no_number(model, grid_data, monkeypatch):
    """Most grid cells have no event in the window: the daily refits leave them out (μ = 0, forecast 0),
    bit for bit the fits over every cell, and equal to the reference engine's."""
    import fairpatrol.models.predpol as predpol

    lo, hi = grid_data.window(0, int(model.window_days))
    assert len(np.unique(grid_data.area[lo:hi])) < 0.8 * grid_data.n_areas  # cells are left out
    fast = simulate(model, grid_data, GRID_RUNS, seed=4)
    monkeypatch.setattr(predpol, "empty_areas_stay_zero", lambda rule: False)
    every = simulate(model, grid_data, GRID_RUNS, seed=4)
    np.testing.assert_array_equal(fast.officers, every.officers)
    for key in fast.diagnostics:
        np.testing.assert_array_equal(fast.diagnostics[key], every.diagnostics[key], err_msg=key)
    np.testing.assert_array_equal(fast.state.mu, every.state.mu)
    np.testing.assert_array_equal(fast.state.area_w, every.state.area_w)
    monkeypatch.undo()
    slow = simulate_reference(model, grid_data, GRID_RUNS, seed=4)
    np.testing.assert_array_equal(fast.officers, slow.officers)
    np.testing.assert_allclose(fast.diagnostics["theta"], slow.diagnostics["theta"], rtol=1e-9)


def test_an_emptied_window_falls_back_to_uniform_like_the_reference(baltimore):
    """With 5 officers, no reporting and a 2-day window, runs often have learned nothing in the window:
    the forecast is then exactly 0 (uniform patrols, flagged) as for a refit on no data, not the ±1e-17
    residue of adding and subtracting the same masses."""
    data = prepare(baltimore, "2019-03-01", 30, 2)
    runs = [RunSpec(run=r, n_officers=5, report_prob=0.0) for r in range(4)]
    model = ShortTermKDE(window_days=2)
    fast = simulate(model, data, runs, seed=3)
    slow = simulate_reference(model, data, runs, seed=3)
    assert fast.fallback.sum() > 10
    np.testing.assert_array_equal(fast.fallback, slow.fallback)
    np.testing.assert_array_equal(fast.officers, slow.officers)


def test_per_day_forecast_pass_equals_numpy():
    """The window forecast's compiled pass: numpy's sums / W with negatives (rounding residue) set to 0,
    bit for bit, also for -0.0, NaN and inf."""
    from fairpatrol.models.window import _per_day

    rng = np.random.default_rng(3)
    sums = rng.normal(size=(5, 300))
    sums[0, :6] = [np.nan, -0.0, 0.0, -1e-17, np.inf, -np.inf]
    want = sums / 365.0
    want[want < 0.0] = 0.0
    got = np.empty_like(sums)
    _per_day(sums.reshape(-1), 365.0, got.reshape(-1))  # flat, as the state passes them
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
