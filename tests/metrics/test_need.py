"""Fairness against need: known answers, properties, the accumulator against dense arrays, and a
crime-proportional allocation scoring as fair where a uniform one does not (docs/methods.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairpatrol.data import Areas
from fairpatrol.metrics import daily_metrics, group_metrics
from fairpatrol.metrics.accumulator import StudyMetrics
from fairpatrol.metrics.fairness import (
    disparity_factor,
    disparity_ratio,
    misallocated_share,
    pcr_gap,
    rate,
    trailing_sums,
)


def toy_areas(groups=("A", "A", "B", "C"), pair=("A", "B")) -> Areas:
    """Unit squares in a row, with the given groups (C is a third group)."""
    n = len(groups)
    frame = pd.DataFrame(
        {
            "area_id": [f"a{i}" for i in range(n)],
            "name": [f"Area {i}" for i in range(n)],
            "group": list(groups),
            "area_m2": np.ones(n),
        }
    )
    geometry = np.array([shapely.box(i, 0, i + 1, 1) for i in range(n)], dtype=object)
    return Areas("toy", "EPSG:32618", frame, geometry, pair)


# -- known answers of the formulas --------------------------------------------------------------------------
def test_disparity_ratio_known_answers_and_undefined_without_crime():
    np.testing.assert_allclose(disparity_ratio([3, 1], [1, 1]), [1.5, 0.5])
    r = disparity_ratio([2, 1, 1], [1, 1, 0])  # the third entry had no crime: undefined, not inf
    np.testing.assert_allclose(r[:2], [1.0, 0.5])
    assert np.isnan(r[2])
    assert np.isnan(disparity_ratio([0, 0], [1, 1])).all()  # no patrols at all
    assert np.isnan(disparity_ratio([1, 1], [0, 0])).all()  # no crime at all


def test_disparity_factor_known_answers():
    assert disparity_factor(np.array([1.5, 0.5])) == pytest.approx(2.0)
    assert disparity_factor(np.array([1.0, np.nan])) == pytest.approx(1.0)  # undefined groups left out
    assert np.isinf(disparity_factor(np.array([0.0, 2.0])))  # crime but no patrol at all
    assert np.isnan(disparity_factor(np.array([np.nan, np.nan])))
    np.testing.assert_allclose(disparity_factor(np.array([[1.25, 0.8], [1.0, 1.0]])), [1.25, 1.0])


def test_misallocated_share_known_answers():
    assert misallocated_share(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 1])) == pytest.approx(0.5)
    assert misallocated_share(np.array([2, 4]), np.array([1, 2])) == pytest.approx(0.0)
    assert misallocated_share(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)
    assert np.isnan(misallocated_share(np.array([1, 1]), np.array([0, 0])))


def test_rate_and_trailing_sums():
    np.testing.assert_allclose(rate(np.array([1, 0]), np.array([4, 0])), [0.25, np.nan])
    out = trailing_sums(np.array([1.0, 2, 3, 4]), 2)
    np.testing.assert_allclose(out, [np.nan, 3, 5, 7])
    assert np.isnan(trailing_sums(np.array([1.0, 2]), 3)).all()  # no full window


def test_pcr_gap_scales_as_one_over_epsilon_on_crime_free_days():
    """The study's PCR gap on a day when one group's areas got officers but no crime: ~1/ε."""
    g1 = np.array([True, True, False, False])
    g2 = ~g1
    officers = np.array([2.0, 2.0, 0.0, 0.0])
    crimes = np.array([0.0, 0.0, 1.0, 0.0])
    eps = np.array([1e-4, 1e-3, 1e-2, 2.5e-2])  # the study's ε = 1/(10 M) is 0.025 here
    gaps = np.array([pcr_gap(officers, crimes, g1, g2, e) for e in eps])
    assert np.polyfit(np.log(eps), np.log(gaps), 1)[0] == pytest.approx(-1, abs=0.05)  # the exponent
    assert gaps[0] / gaps[1] == pytest.approx(10, rel=0.01)  # and exactly 1/ε as ε → 0


# -- the accumulator: a hand-computed small study -----------------------------------------------------------
def hand_study(run_averaged: bool = False, window: int = 2) -> StudyMetrics:
    """4 areas in groups A, A, B, C; 2 runs; 3 days, day 1 without any crime; group C never has crime."""
    areas = toy_areas()
    acc = StudyMetrics(areas, 1, [0, 1], 3, run_averaged=run_averaged, window=window)
    crimes = [np.array([1, 0, 1, 0]), np.zeros(4), np.array([0, 2, 1, 0])]
    officers = [
        np.array([[2, 0, 1, 1], [1, 1, 1, 1]]),
        np.array([[2, 0, 1, 1], [0, 2, 2, 0]]),
        np.array([[1, 2, 1, 0], [1, 1, 1, 1]]),
    ]
    detected = [
        np.array([[1, 0, 0, 0], [0, 0, 1, 0]]),
        np.zeros((2, 4)),
        np.array([[0, 2, 1, 0], [0, 1, 0, 0]]),
    ]
    shares = np.full((2, 4), 0.25)
    for d in range(3):
        acc.update(0, d, officers[d], np.broadcast_to(crimes[d], (2, 4)), detected[d], shares)
    return acc.finish()


def test_accumulator_group_horizon_known_answers():
    acc = hand_study()
    gh = acc.group_horizon
    # run 0: patrols A = 2+0+2+0+1+2 = 7, B = 3, C = 2 (12 patrol-days); crimes A = 3, B = 2, C = 0 (5)
    np.testing.assert_allclose(gh["patrol_days"][0, 0], [7, 3, 2])
    np.testing.assert_allclose(gh["true_crimes"][0, 0], [3, 2, 0])
    np.testing.assert_allclose(gh["patrol_share"][0, 0], [7 / 12, 3 / 12, 2 / 12])
    np.testing.assert_allclose(gh["true_crime_share"][0, 0], [0.6, 0.4, 0.0])
    ratio = gh["disparity_ratio"][0, 0]
    np.testing.assert_allclose(ratio[:2], [(7 / 12) / 0.6, (3 / 12) / 0.4])
    assert np.isnan(ratio[2])  # group C had no crime: undefined
    # detection: run 0 found 1 + 2 of A's 3 crimes and 1 of B's 2
    np.testing.assert_allclose(gh["detection_rate"][0, 0][:2], [1.0, 0.5])
    assert np.isnan(gh["detection_rate"][0, 0][2])
    # idle patrol-days (officers on an area-day without crime), run 0:
    # day 0: a1 0, a3 1 → A 0, B 0, C 1; day 1 (no crime): A 2, B 1, C 1; day 2: a0 1, a3 0 → A 1
    np.testing.assert_allclose(gh["idle_patrol_days"][0, 0], [3, 1, 2])
    np.testing.assert_allclose(gh["idle_share"][0, 0], [3 / 7, 1 / 3, 1.0])


def test_accumulator_run_horizon_known_answers():
    acc = hand_study()
    h = acc.horizon
    ratio = acc.group_horizon["disparity_ratio"][0, 0]
    assert h["disparity_factor"][0, 0] == pytest.approx(max(ratio[0], 1 / ratio[0], ratio[1], 1 / ratio[1]))
    assert h["disparity_ratio_pair"][0, 0] == pytest.approx(ratio[0] / ratio[1])
    assert h["detection_ratio_pair"][0, 0] == pytest.approx(1.0 / 0.5)
    assert h["detection_gap_pair"][0, 0] == pytest.approx(0.5)
    assert h["detection_rate"][0, 0] == pytest.approx(4 / 5)
    assert h["idle_share"][0, 0] == pytest.approx(6 / 12)
    # per area, run 0: patrols [5, 2, 3, 2] / 12, crimes [1, 2, 2, 0] / 5
    p = np.array([5, 2, 3, 2]) / 12
    c = np.array([1, 2, 2, 0]) / 5
    assert h["misallocated_share"][0, 0] == pytest.approx(0.5 * np.abs(p - c).sum())
    np.testing.assert_allclose(acc.area_horizon["patrol_share"][0, 0], p)
    assert np.isnan(acc.area_horizon["disparity_ratio"][0, 0][3])
    # expected patrols: shares 1/4 × 4 officers every day = 3 per area
    np.testing.assert_allclose(acc.area_horizon["expected_patrols"][0, 0], [3, 3, 3, 3])
    assert h["gini_expected_horizon"][0, 0] == pytest.approx(0.0)


def test_accumulator_rolling_windows_and_zero_crime_days():
    acc = hand_study(window=2)
    r30 = acc.group_daily["disparity_ratio_30d"][0, 0]  # days × groups (window of 2 days here)
    assert np.isnan(r30[0]).all()  # no full window on the first day
    # days 0–1, run 0: patrols A 4, B 2, C 2 (of 8); crimes A 1, B 1 (of 2)
    np.testing.assert_allclose(r30[1, :2], [(4 / 8) / 0.5, (2 / 8) / 0.5])
    f = acc.daily["disparity_factor_30d"][0, 0]
    assert f[1] == pytest.approx(2.0)
    # the day without crime: accuracy undefined, the day's counts still count
    assert np.isnan(acc.daily["accuracy"][0, 0, 1])
    np.testing.assert_allclose(acc.group_daily["idle_officers"][0, 0, 1], [2, 1, 1])


def test_accumulator_daily_metrics_equal_the_dense_computation():
    rng = np.random.default_rng(3)
    areas = toy_areas(("A", "B", "A", "B", "C", "A"))
    n_c, n_r, n_d, n_m = 2, 3, 7, areas.n
    officers = rng.integers(0, 4, (n_c, n_r, n_d, n_m))
    crimes = np.broadcast_to(rng.poisson(0.7, (n_d, n_m)), (n_c, n_r, n_d, n_m))
    detected = np.minimum(crimes, rng.integers(0, 2, (n_c, n_r, n_d, n_m)))
    for averaged in (False, True):
        acc = StudyMetrics(areas, n_c, range(n_r), n_d, run_averaged=averaged, window=3)
        for d in rng.permutation(n_d):  # any order of days
            for c in range(n_c):
                acc.update(c, d, officers[c, :, d], crimes[c, :, d], detected[c, :, d])
        acc.finish()
        g1, g2 = areas.group_masks()
        for c in range(n_c):
            counts = (officers[c], crimes[c], detected[c])
            if averaged:
                counts = tuple(a.mean(axis=0, keepdims=True) for a in counts)
            for name, value in daily_metrics(*counts, g1, g2).items():
                np.testing.assert_allclose(acc.daily[name][c], value, err_msg=name)
            for name, value in group_metrics(*counts, areas.group_index, 3).items():
                np.testing.assert_allclose(acc.group_daily[name][c], value, err_msg=name)
            totals = [a.sum(axis=1) for a in counts]
            np.testing.assert_allclose(acc.area_horizon["patrol_days"][c], totals[0])
            np.testing.assert_allclose(acc.horizon["misallocated_share"][c], misallocated_share(*totals[:2]))
        assert np.isnan(acc.horizon["gini_expected_horizon"]).all()  # no shares given: unknown, not 0
        assert acc.run_horizon().shape[0] == n_c * (1 if averaged else n_r)


def test_accumulator_refuses_a_day_twice_and_a_missing_day():
    acc = StudyMetrics(toy_areas(), 1, [0], 2)
    x = np.ones((1, 4))
    acc.update(0, 0, x, x, x)
    with pytest.raises(ValueError, match="already added"):
        acc.update(0, 0, x, x, x)
    with pytest.raises(ValueError, match="day 1 of cell 0 was never added"):
        acc.finish()


def test_tidy_frames_have_one_row_per_key():
    acc = hand_study()
    assert len(acc.run_day()) == 2 * 3 and {"cell", "run", "day", "accuracy"} <= set(acc.run_day().columns)
    assert len(acc.run_day_group()) == 2 * 3 * 3
    assert list(acc.group_horizon_frame()["group"][:3]) == ["A", "B", "C"]
    assert len(acc.area_horizon_frame()) == 2 * 4


# -- properties ----------------------------------------------------------------------------------------------
counts = arrays(np.int64, st.tuples(st.integers(1, 3), st.integers(2, 9)), elements=st.integers(0, 20))


@settings(max_examples=60, deadline=None)
@given(counts, st.integers(0, 2**31 - 1))
def test_shares_sum_to_one_and_ratio_is_one_under_proportional_patrols(crimes, seed):
    rng = np.random.default_rng(seed)
    n_runs, n_m = crimes.shape
    groups = tuple(rng.choice(["A", "B", "C"], n_m))
    if len(set(groups)) < 2:
        groups = ("A", "B", *groups[2:])
    areas = toy_areas(groups, pair=(groups[0], next(g for g in groups if g != groups[0])))
    acc = StudyMetrics(areas, 1, range(n_runs), 1)
    k = rng.integers(1, 5)
    officers = crimes * k  # patrols in proportion to the true crimes
    acc.update(0, 0, officers, crimes, np.minimum(crimes, 1), shares=None)
    acc.finish()
    has_crime = crimes.sum(axis=1) > 0
    gh = acc.group_horizon
    for name in ("patrol_share", "true_crime_share"):
        total = gh[name][0].sum(axis=-1)
        np.testing.assert_allclose(total[has_crime], 1.0)
        np.testing.assert_allclose(acc.area_horizon[name][0].sum(axis=-1)[has_crime], 1.0)
    ratio = gh["disparity_ratio"][0][has_crime]
    defined = np.isfinite(ratio)
    np.testing.assert_allclose(ratio[defined], 1.0)
    np.testing.assert_allclose(acc.horizon["disparity_factor"][0][has_crime], 1.0)
    np.testing.assert_allclose(acc.horizon["misallocated_share"][0][has_crime], 0.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(counts, counts)
def test_misallocation_is_a_share_and_the_factor_at_least_one(patrols, crimes):
    n = min(patrols.shape[-1], crimes.shape[-1])
    p, c = patrols[0, :n], crimes[0, :n]
    m = misallocated_share(p, c)
    if p.sum() and c.sum():
        assert -1e-12 <= m <= 1 + 1e-12
        f = disparity_factor(disparity_ratio(p, c))
        assert f >= 1 - 1e-12 or np.isinf(f)
    else:
        assert np.isnan(m)


# -- a crime-proportional allocation is fair, a uniform one is not ---------------------------------------
def test_proportional_allocation_scores_fair_and_uniform_does_not(baltimore):
    """On Baltimore's real assaults (100 days): patrols in proportion to each day's true crimes (an
    oracle) score a disparity factor of 1 and no misallocation; uniform patrols do not — while the study's
    police-share gap calls the uniform allocation perfectly fair (its known defect)."""
    from fairpatrol.data import load_areas
    from fairpatrol.sim.prepare import prepare

    areas = load_areas("baltimore")
    data = prepare(baltimore, "2019-01-01", 100, 1)
    truth = np.zeros((100, areas.n))
    for d in range(100):
        lo, hi = data.day_slice(d)
        np.add.at(truth[d], data.area[lo:hi], 1)
    scores = {}
    for name in ("oracle", "uniform"):
        acc = StudyMetrics(areas, 1, [0], 100)
        for d in range(100):
            crimes = truth[d][None, :]
            officers = crimes * 40 if name == "oracle" else np.full((1, areas.n), 40 / areas.n)
            shares = officers / max(officers.sum(), 1.0)
            acc.update(0, d, officers, crimes, np.zeros_like(crimes), shares)
        acc.finish()
        scores[name] = {k: float(acc.horizon[k][0, 0]) for k in ("misallocated_share", "disparity_factor")}
        scores[name]["share_gap"] = float(np.nanmean(acc.daily["share_gap"][0, 0]))
        scores[name]["ratio_black"] = float(acc.group_horizon["disparity_ratio"][0, 0, 0])
    assert scores["oracle"]["misallocated_share"] == pytest.approx(0.0, abs=1e-12)
    assert scores["oracle"]["disparity_factor"] == pytest.approx(1.0)
    assert scores["uniform"]["misallocated_share"] > 0.3
    assert scores["uniform"]["disparity_factor"] > 1.1
    assert scores["uniform"]["share_gap"] == pytest.approx(0.0, abs=1e-12)  # the study's gap: "fair"
    assert scores["oracle"]["share_gap"] > 0.001


def test_engine_previous_counts_follows_need_better_than_uniform(baltimore):
    """Through the real engine: PreviousCounts (last 30 days of recorded crime) is closer to the need than
    Uniform on every need-based headline."""
    from fairpatrol.config import load_preset
    from fairpatrol.sim.study import run_study

    cfg = load_preset(
        "baltimore-agg",
        days=40,
        runs=2,
        algorithms=["Uniform", "PreviousCounts"],
        officers=[400],
        report_probs=[0.4],
    )
    res = run_study(cfg, incidents=baltimore)
    h = res.measures.horizon
    uni, prev = (np.mean(h["misallocated_share"][i]) for i in (0, 1))
    assert prev < uni - 0.05
    assert np.mean(h["disparity_factor"][1]) < np.mean(h["disparity_factor"][0])
    assert np.mean(res.measures.horizon["gini_expected_horizon"][0]) == pytest.approx(0.0, abs=1e-9)


def test_a_one_run_study_reports_values_without_intervals(tmp_path, baltimore):
    """One run (or the compat run-averaged metrics): every summary has a value and no interval, tables
    and the report say so instead of printing nan."""
    from fairpatrol.config import load_preset
    from fairpatrol.report import write_report
    from fairpatrol.results import write_study
    from fairpatrol.results.tables import headline_table, summary_frame

    cfg = load_preset("baltimore-agg", days=8, runs=1, officers=[40], report_probs=[0.0])
    res = write_study(cfg, tmp_path / "one", incidents=baltimore)
    s = summary_frame(res)
    horizon = s[s["statistic"] == "horizon"]
    assert horizon["mean"].notna().any() and horizon["ci_low"].isna().all() and (horizon["runs"] <= 1).all()
    table = headline_table(s)
    assert (
        not table.apply(lambda c: c.str.contains("nan|inf", case=False)).any().any()
        and not table.apply(lambda c: c.str.contains("±")).any().any()
    )
    html = write_report(tmp_path / "one", tmp_path / "one.html").path.read_text(encoding="utf-8")
    assert "one run: no interval" in html and ">nan<" not in html.lower()
