"""PredPol: the recursive EM against a plain pairwise EM, convergence, recovery of known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairpatrol.errors import DataError
from fairpatrol.models import PredPol
from fairpatrol.models._hawkes import area_major, em_map, hawkes_em, hawkes_forecast, hawkes_loglik
from fairpatrol.synthetic import simulate_area_hawkes


def scratch(n):
    return np.empty(n, dtype=np.float32), np.zeros(n, dtype=np.int32)


def pairwise_em_step(times, area, n_areas, span, theta, omega, mu):
    """SPEC §3 EM step with the explicit p-matrix (O(n²)): the oracle for the recursive kernel."""
    n = len(times)
    sum_p = sum_pdt = 0.0
    bg = np.zeros(n_areas)
    for j in range(n):
        same = (area == area[j]) & (times < times[j])
        lag = times[j] - times[same]
        g = theta * omega * np.exp(-omega * lag)
        lam = mu[area[j]] + g.sum()
        sum_p += (g / lam).sum()
        sum_pdt += (g * lag / lam).sum()
        bg[area[j]] += mu[area[j]] / lam
    return sum_p / n, sum_p / sum_pdt, bg / span


@pytest.fixture(scope="module")
def small_events():
    rng = np.random.default_rng(4)
    n, m = 400, 7
    times = np.sort(np.round(rng.uniform(-60, 0, n), 2))  # rounding makes ties within areas
    area = rng.integers(0, m, n)
    return times, area, m


def test_recursive_em_step_equals_pairwise(small_events):
    times, area, m = small_events
    order = np.lexsort((area, times))
    times, area = times[order], area[order]
    mu = np.bincount(area, minlength=m) / 60 * 0.7
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    out = np.empty(m)
    th, om = em_map(ts, ws, starts, 60.0, 0.3, 0.8, mu, out, *scratch(len(ts)))
    th_ref, om_ref, mu_ref = pairwise_em_step(times, area, m, 60.0, 0.3, 0.8, mu)
    # trigger weights are float32 (relative error < 1e-6), sums are double
    assert th == pytest.approx(th_ref, rel=1e-5)
    assert om == pytest.approx(om_ref, rel=1e-5)
    np.testing.assert_allclose(out, mu_ref, rtol=1e-5)


def test_trigger_weights_match_exp():
    from fairpatrol.models._hawkes import trigger_weights

    rng = np.random.default_rng(0)
    t = np.cumsum(rng.exponential(3.0, 5000))
    frac, bits = scratch(len(t))
    for omega in (1e-3, 0.3, 5.0, 400.0):
        trigger_weights(t, omega, frac, bits)
        got = frac[1:] * bits.view(np.float32)[1:]
        want = np.exp(-omega * np.diff(t))
        big = want > 1e-36
        np.testing.assert_allclose(got[big], want[big], rtol=1e-6)
        assert (got[~big] < 1e-36).all()


def test_ties_do_not_trigger_each_other():
    # two events at the same time in one area: neither is the other's parent
    ts, ws, starts = area_major(np.array([1.0, 1.0]), np.ones(2), np.array([0, 0]), 1)
    out = np.empty(1)
    th, _ = em_map(ts, ws, starts, 10.0, 0.5, 1.0, np.array([0.2]), out, *scratch(2))
    assert th == pytest.approx(1e-6)  # no parent-child pair: θ goes to its lower bound
    assert out[0] == pytest.approx(2 / 10)


def test_forecast_known_answer():
    ts, ws, starts = area_major(np.array([-2.0, -0.5]), np.ones(2), np.array([0, 1]), 2)
    out = np.empty(2)
    mu = np.array([0.1, 0.2])
    hawkes_forecast(ts, ws, starts, 0.0, 0.4, 0.7, mu, out)
    k = 0.4 * (1 - np.exp(-0.7))
    np.testing.assert_allclose(out, [0.1 + k * np.exp(-1.4), 0.2 + k * np.exp(-0.35)])


def test_squarem_reaches_the_plain_em_fixed_point(small_events):
    times, area, m = small_events
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    fits = []
    for acc in (False, True):
        mu = np.bincount(area, minlength=m) / 60.0
        th, om, it, conv = hawkes_em(ts, ws, starts, 60.0, 0.2, 1.0, mu, 1e-10, 100_000, acc)
        assert conv
        fits.append((th, om, mu, it, hawkes_loglik(ts, ws, starts, -60.0, 0.0, th, om, mu)))
    (th0, om0, mu0, it0, ll0), (th1, om1, mu1, it1, ll1) = fits
    assert th1 == pytest.approx(th0, rel=1e-5, abs=1e-8)
    assert om1 == pytest.approx(om0, rel=1e-4)
    np.testing.assert_allclose(mu1, mu0, rtol=1e-5)
    assert ll1 == pytest.approx(ll0, abs=1e-6)
    assert it1 < it0


def test_em_increases_the_likelihood(small_events):
    times, area, m = small_events
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    mu = np.bincount(area, minlength=m) / 60.0
    th, om = 0.2, 1.0
    last = -np.inf
    out = np.empty(m)
    for _ in range(30):
        ll = hawkes_loglik(ts, ws, starts, -60.0, 0.0, th, om, mu)
        assert ll >= last - 1e-9
        last = ll
        th, om = em_map(ts, ws, starts, 60.0, th, om, mu, out, *scratch(len(ts)))
        mu = out.copy()


def test_convergence_flag_reports_iteration_cap(small_events):
    times, area, m = small_events
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    mu = np.bincount(area, minlength=m) / 60.0
    *_, it, conv = hawkes_em(ts, ws, starts, 60.0, 0.2, 1.0, mu, 1e-12, 3, False)
    assert (it, conv) == (3, False)


@pytest.fixture(scope="module")
def synthetic_hawkes():
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.02, 0.2, 200)
    return mu, simulate_area_hawkes(mu, theta=0.5, omega=0.5, days=730, seed=3)


def test_predpol_recovers_known_parameters(synthetic_hawkes):
    """θ = 0.5, ω = 0.5/day, 200 areas, 2 years: θ within ±0.03, ω within ±10 %, μ correlation > 0.9."""
    mu, events = synthetic_hawkes
    until = pd.Timestamp("2020-01-01") + pd.Timedelta(days=730)
    model = PredPol(window_days=730, tol=1e-6).fit(events, until=until)
    assert model.converged_
    assert model.theta_ == pytest.approx(0.5, abs=0.03)
    assert model.omega_ == pytest.approx(0.5, rel=0.10)
    fitted = model.mu_.reindex([f"A{i:04d}" for i in range(200)]).to_numpy()
    assert np.corrcoef(fitted, mu)[0, 1] > 0.9
    assert fitted.sum() == pytest.approx(mu.sum(), rel=0.05)


def test_predpol_estimator_conventions(synthetic_hawkes):
    _, events = synthetic_hawkes
    model = PredPol(tol=1e-5)
    assert model.get_params()["tol"] == 1e-5
    assert model.fit(events) is model
    assert model.n_iter_ > 0 and isinstance(model.converged_, bool)
    pred = model.predict()
    assert (pred >= 0).all() and pred.index.name == "area_id"
    parts = model.decompose()
    np.testing.assert_allclose(parts.background + parts.excitation, parts.intensity)
    assert "tol=1e-05" in repr(model)
    with pytest.raises(ValueError, match="no parameter"):
        model.set_params(bandwidth=3)


def test_predpol_warm_start_lands_on_the_same_fit(synthetic_hawkes):
    _, events = synthetic_hawkes
    until = pd.Timestamp("2021-06-01")
    cold = PredPol(tol=1e-8).fit(events, until=until)
    warm = PredPol(tol=1e-8, warm_start=True).fit(events, until=until - pd.Timedelta(days=1))
    warm.fit(events, until=until)
    assert warm.n_iter_ < cold.n_iter_
    assert warm.theta_ == pytest.approx(cold.theta_, rel=1e-5)
    assert warm.omega_ == pytest.approx(cold.omega_, rel=1e-4)


def test_predpol_bad_input():
    with pytest.raises(DataError, match="area_id"):
        PredPol().fit(pd.DataFrame({"time": pd.to_datetime(["2020-01-01"])}))
    with pytest.raises(DataError, match="empty training window"):
        PredPol().fit(
            pd.DataFrame({"time": pd.to_datetime(["2020-01-01"]), "area_id": ["a"]}), until="2022-01-01"
        )


def test_a_weight_of_two_equals_a_duplicated_event(small_events):
    """Weighted EM (feedback-corrected learning): weight w ≡ w simultaneous copies of the event."""
    times, area, m = small_events
    w = np.ones(len(times))
    w[::7] = 2.0
    dup_t = np.concatenate([times, times[::7]])
    dup_a = np.concatenate([area, area[::7]])
    order = np.argsort(dup_t, kind="stable")
    fits = []
    for t_, a_, w_ in ((times, area, w), (dup_t[order], dup_a[order], np.ones(len(dup_t)))):
        ts, ws, starts = area_major(t_, w_, a_, m)
        mu = np.bincount(a_, weights=w_, minlength=m) / 60.0
        th, om, _, conv = hawkes_em(ts, ws, starts, 60.0, 0.2, 1.0, mu, 1e-10, 100_000, True)
        assert conv
        fits.append((th, om, mu))
    assert fits[0][0] == pytest.approx(fits[1][0], rel=1e-6)
    assert fits[0][1] == pytest.approx(fits[1][1], rel=1e-6)
    np.testing.assert_allclose(fits[0][2], fits[1][2], rtol=1e-6)
