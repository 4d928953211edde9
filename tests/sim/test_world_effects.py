"""Issue 7: reporting models, world effects, remedies and the paper-compatible switches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairpatrol.config import CompatConfig, RemedyConfig, WorldConfig, load_preset, parse_scenario
from fairpatrol.errors import ConfigError
from fairpatrol.models import LongTermKDE, PredPol, ShortTermKDE
from fairpatrol.sim.engine import RunSpec, simulate
from fairpatrol.sim.prepare import neighbours, prepare, with_shadows
from fairpatrol.sim.study import run_study
from fairpatrol.sim.victim_reporting import reporting_rates
from fairpatrol.sim.world import (
    allocation_weights,
    capped_allocation,
    deterrence_keep_probability,
    inverse_probability_weights,
    learning_probability,
    relative_detection_probability,
)

DAYS = 6


@pytest.fixture(scope="module")
def data(baltimore):
    return prepare(baltimore, "2019-03-01", DAYS, 365)


# -- deterrence, displacement, prevention -----------------------------------------------------------------


def test_deterrence_keep_probability_known_answers():
    k = np.array([0, 1, 9])
    np.testing.assert_allclose(deterrence_keep_probability(k, None, 0.0, 0.0), 1.0)
    np.testing.assert_allclose(deterrence_keep_probability(k, None, 1.0, 0.0), [1, 0.5, 0.1])
    np.testing.assert_allclose(deterrence_keep_probability(k, np.array([1, 0, 0]), 0.0, 1.0), [0.5, 1, 1])


def test_zero_elasticity_changes_nothing(data):
    base = simulate(PredPol(), data, [RunSpec(run=0, n_officers=40, report_prob=0.4)], seed=1)
    zero = simulate(
        PredPol(),
        data,
        [RunSpec(run=0, n_officers=40, report_prob=0.4)],
        seed=1,
        world=WorldConfig(deterrence_elasticity=0.0),
    )
    np.testing.assert_array_equal(base.officers, zero.officers)
    np.testing.assert_array_equal(base.crimes, zero.crimes)
    # prevention units with elasticity 0 deter nothing either: the true crimes are the replayed ones
    prev = simulate(
        PredPol(),
        data,
        [
            RunSpec(
                run=0,
                n_officers=40,
                report_prob=0.4,
                prevention_units=20,
                remedy=RemedyConfig(prevention_elasticity=0.0),
            )
        ],
        seed=1,
    )
    np.testing.assert_array_equal(prev.crimes[0], data.crimes_per_day())
    assert prev.prevention[0].sum(axis=1).tolist() == [20] * DAYS


def test_deterrence_thins_crime_where_officers_are(data):
    runs = [RunSpec(run=r, n_officers=400, report_prob=0.0) for r in range(4)]
    res = simulate(LongTermKDE(), data, runs, seed=2, world=WorldConfig(deterrence_elasticity=1.0))
    truth = data.crimes_per_day()
    assert (res.crimes <= truth[None]).all()
    assert res.crimes.sum() < truth.sum() * len(runs)
    assert (res.detected <= res.crimes).all()


def test_displacement_moves_deterred_crime_to_neighbours(data):
    nb = neighbours(data.areas)
    assert all(len(n) > 0 for n in nb[:10])
    shadowed = with_shadows(data, seed=0)
    copies = shadowed.shadow_of >= 0
    assert (shadowed.times[copies] == shadowed.times[shadowed.shadow_of[copies]]).all()
    for j in np.flatnonzero(copies)[:50]:
        assert shadowed.area[j] in nb[shadowed.area[shadowed.shadow_of[j]]]
    np.testing.assert_array_equal(shadowed.crimes_per_day(), data.crimes_per_day())
    runs = [RunSpec(run=r, n_officers=400, report_prob=0.0) for r in range(3)]
    world_all = WorldConfig(deterrence_elasticity=2.0, displacement=1.0)
    moved = simulate(LongTermKDE(), shadowed, runs, seed=3, world=world_all)
    # every deterred crime reappears next door: the city total is unchanged (all areas have neighbours)
    if all(len(n) > 0 for n in nb):
        np.testing.assert_array_equal(
            moved.crimes.sum(axis=2), data.crimes_per_day().sum(axis=1)[None].repeat(3, 0)
        )
    gone = simulate(
        LongTermKDE(), shadowed, runs, seed=3, world=WorldConfig(deterrence_elasticity=2.0, displacement=0.0)
    )
    assert gone.crimes.sum() < moved.crimes.sum()


# -- remedies --------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 100)).filter(lambda x: x.sum() > 0),
    st.integers(1, 500),
    st.floats(1.0, 4.0),
    st.integers(0, 50),
)
def test_pcr_cap_is_never_exceeded(intensity, n, cap, seed):
    shares, _ = allocation_weights(intensity)
    base = np.random.default_rng(seed).multinomial(n, shares)
    out = capped_allocation(base, shares, cap)
    assert out.sum() == n
    assert (out >= 0).all()
    assert (out <= np.ceil(cap * n * shares - 1e-9)).all()


def test_ipw_leaves_expected_training_counts_unbiased():
    """Horvitz–Thompson: E[Σ w · 1(learned)] = number of true crimes, for any detection/report mix."""
    rng = np.random.default_rng(0)
    n = 400_000
    officers = rng.integers(0, 6, n)
    p_det = 1 - 0.5**officers
    r = 0.3
    learned = (rng.random(n) < p_det) | (rng.random(n) < r)
    w = inverse_probability_weights(p_det, r, max_weight=1e9)
    assert (w[learned] * 1).sum() == pytest.approx(n, rel=0.01)
    # without the correction the count is biased towards patrolled areas
    assert learned.sum() < 0.9 * n
    for k in range(6):  # and unbiased within each patrol level
        sel = officers == k
        assert (w[sel] * learned[sel]).sum() == pytest.approx(sel.sum(), rel=0.03)
    assert learning_probability(np.array([0.0]), 0.0)[0] == 0.0


def test_ipw_runs_learn_weighted_events(data):
    runs = [
        RunSpec(run=0, n_officers=40, report_prob=0.4, remedy=RemedyConfig(ipw=True, ipw_max_weight=10.0)),
        RunSpec(run=0, n_officers=40, report_prob=0.4),
    ]
    res = simulate(ShortTermKDE(), data, runs, seed=4)
    post = res.weights[:, data.n_history :]
    assert post[0].max() > 1.0 and post[0].max() <= 10.0
    assert set(np.unique(post[1])) <= {0.0, 1.0}


# -- reporting models ------------------------------------------------------------------------------------


def test_bjs2019_by_type(data):
    rates = reporting_rates("bjs2019", data)
    np.testing.assert_allclose(rates, 0.41)  # aggravated assault: violent crime


def test_reporting_by_area_and_file(data, tmp_path):
    frame = data.areas.frame
    col = "population"
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        reporting_rates(f"area:{col}", data)
    table = pd.DataFrame({"area_id": data.areas.ids, "rate": np.linspace(0, 1, data.n_areas)})
    path = tmp_path / "rates.csv"
    table.to_csv(path, index=False)
    rates = reporting_rates(str(path), data)
    np.testing.assert_allclose(rates, np.linspace(0, 1, data.n_areas)[data.area[data.n_history :]])
    pd.DataFrame({"crime_type": ["BURGLARY"], "rate": [0.5]}).to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"AGG\. ASSAULT"):
        reporting_rates(str(path), data)
    assert frame is data.areas.frame


def test_reporting_delay_learns_reports_later(data):
    spec = [
        RunSpec(run=0, n_officers=1, report_prob=1.0, detection_p=0.0)
    ]  # nothing detected, everything reported
    now = simulate(previous_counts(), data, spec, seed=0)
    late = simulate(previous_counts(), data, spec, seed=0, world=WorldConfig(report_delay_days=3))
    lo, _ = data.day_slice(DAYS - 3)  # at the end of day d the reports of day d − 3 arrive
    h = data.n_history
    assert (now.weights[0, h:] == 1).all()
    assert (late.weights[0, h:lo] == 1).all()  # reports older than the delay have arrived
    assert (late.weights[0, lo:] == 0).all()  # the last days' reports have not
    np.testing.assert_array_equal(now.reported, late.reported)


def previous_counts():
    from fairpatrol.models import PreviousCounts

    return PreviousCounts(window_days=10)


def test_reporting_model_names_are_checked():
    base = load_preset("baltimore-agg", days=2, runs=1).model_dump(mode="json")
    with pytest.raises(ConfigError, match="report_probs"):
        parse_scenario({**base, "report_probs": ["not-a-model"]})
    cfg = parse_scenario({**base, "report_probs": [0.4, "bjs2019"], "algorithms": ["LongTermKDE"]})
    res = run_study(cfg)
    assert {c.reporting for c in res.cells} == {"0.4", "bjs2019"}
    assert res.reporting_rate["bjs2019"] == pytest.approx(0.41)


# -- the paper-compatible mode -----------------------------------------------------------------------------


def test_relative_detection_known_answer():
    area = np.array([1.0, 2.0, 11.0])  # rescaled areas 1 + 9 (A − 1) / 11 = [1, 1.818.., 9.18..]
    officers = np.array([[2.0, 0.0, 4.0]])
    dens = officers[0] / (1 + 9 * (area - 1) / 11)
    x = 10 * (dens - dens.min()) / dens.max()
    np.testing.assert_allclose(relative_detection_probability(officers, area)[0], 1 - 0.5**x)
    assert relative_detection_probability(officers, area)[0].max() == pytest.approx(1 - 0.5**10)


def test_compat_switches(data):
    compat = CompatConfig(kde_sampling=True, shared_reports=True)
    runs = [RunSpec(run=r, n_officers=40, report_prob=0.4) for r in range(3)]
    res = simulate(ShortTermKDE(), data, runs, seed=5, compat=compat)
    # the fixed sampling seed: every run places the same officers on day 1, some officers are lost
    assert (res.officers[:, 0] == res.officers[0, 0]).all()
    assert (res.officers.sum(axis=2) <= 40).all()
    # shared reports: every run reports the same crimes
    assert (res.reported == res.reported[0]).all()
    leak = simulate(
        LongTermKDE(), data, runs[:1], seed=5, compat=CompatConfig(kde_sampling=True, long_term_leak=True)
    )
    causal = simulate(LongTermKDE(), data, runs[:1], seed=5, compat=CompatConfig(kde_sampling=True))
    # on the first day nothing was detected yet: the leaking KDE already trains on the horizon's reports
    assert not np.array_equal(leak.officers[0, 0], causal.officers[0, 0])


def test_kde_sampling_leak_draws_officers_from_future_reports(data):
    from fairpatrol.sim.compat import KDESampler

    h, n = data.n_history, data.n_events
    will_report = np.random.default_rng(1).random((1, n - h)) < 0.4
    learned = np.zeros(n)
    learned[:h] = 1  # the initial history; nothing detected or reported yet
    day = 2
    _, now = data.window(day, 365)
    reports = np.flatnonzero(will_report[0] & ~data.is_shadow[h:]) + h
    assert (reports >= now).any()  # some reports lie after the day
    leak = KDESampler(data, 365, leak=True, will_report=will_report).training_order(day, learned, 0)
    # the whole pre-start history, then every report of the horizon, the future ones included
    np.testing.assert_array_equal(leak, np.concatenate([np.arange(h), reports]))
    causal = KDESampler(data, 365, leak=False, will_report=will_report).training_order(day, learned, 0)
    assert causal.max() < now  # without the leak: only what was learned before the day
    lo, _ = data.window(day, 365)
    np.testing.assert_array_equal(causal, np.arange(lo, min(now, h)))


def test_compat_preset_turns_every_switch_on():
    base = load_preset("baltimore-agg", days=3, runs=2).model_dump(mode="json")
    cfg = parse_scenario({**base, "compat": "semsar2026", "algorithms": ["ShortTermKDE"]})
    assert all(cfg.compat.model_dump().values())
    res = run_study(cfg)
    assert res.metric_runs == [-1]
    assert res.metrics["accuracy"].shape[1] == 1


def test_long_term_leak_trains_on_future_reports(data):
    runs = [RunSpec(run=0, n_officers=400, report_prob=0.4)]
    plain = simulate(LongTermKDE(), data, runs, seed=6)
    leak = simulate(LongTermKDE(), data, runs, seed=6, compat=CompatConfig(long_term_leak=True))
    h = data.n_history
    future_reports = _report_coins_for(data, runs, seed=6)
    # the leaked state holds every report of the horizon from day 0 on: more mass than the plain window
    assert leak.state.sums.sum() > plain.state.sums.sum()
    assert future_reports[0].sum() > 0
    assert not np.array_equal(plain.officers, leak.officers)
    assert h > 0


def _report_coins_for(data, runs, seed):
    from fairpatrol.sim.engine import _report_coins
    from fairpatrol.sim.world import run_streams

    return _report_coins(data, runs, [run_streams(seed, r.run) for r in runs])
