"""PredPol: the recursive EM against a plain pairwise EM, convergence, recovery of known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairpatrol.errors import DataError
from fairpatrol.models import PredPol
from fairpatrol.models._hawkes import (
    area_major,
    em_map,
    em_workspace,
    hawkes_em,
    hawkes_em_lanes,
    hawkes_em_runs,
    hawkes_forecast,
    hawkes_loglik,
)
from fairpatrol.synthetic import simulate_area_hawkes


def em_step(ts, ws, starts, span, theta, omega, mu):
    """One EM map evaluation of a single series through the lane kernel (one lane)."""
    m = len(mu)
    th, om, mu_out = np.empty(1), np.empty(1), np.empty((m, 1))
    w = np.asarray(ws, dtype=np.float32).reshape(-1, 1)
    em_map(
        ts, w, starts, span, np.array([theta]), np.array([omega]), np.reshape(mu, (m, 1)), th, om, mu_out, 1
    )
    return th[0], om[0], mu_out[:, 0]


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
    th, om, out = em_step(ts, ws, starts, 60.0, 0.3, 0.8, mu)
    th_ref, om_ref, mu_ref = pairwise_em_step(times, area, m, 60.0, 0.3, 0.8, mu)
    # trigger weights by a polynomial 2^x (relative error < 1e-11), sums in double precision
    assert th == pytest.approx(th_ref, rel=1e-9)
    assert om == pytest.approx(om_ref, rel=1e-9)
    np.testing.assert_allclose(out, mu_ref, rtol=1e-9)


def test_vectorisable_exp_matches_exp():
    from numba import njit

    from fairpatrol.models._hawkes import _exp_neg

    @njit
    def many(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = _exp_neg(x[i])
        return out

    x = -np.concatenate([np.linspace(0.0, 2.0, 20_001), np.geomspace(2.0, 700.0, 20_001)])
    np.testing.assert_allclose(many(x), np.exp(x), rtol=2e-11)
    assert 0.0 < many(np.array([-1e4]))[0] < 1e-300  # clamped, never NaN or negative


@pytest.mark.parametrize("n_lanes", [6, 14, 21])
def test_lanes_equal_separate_fits(small_events, n_lanes):
    """Fitting several weightings of one event list as SIMD lanes gives, bit for bit, each lane's fit
    alone on that list: a lane's numbers do not depend on the other lanes, on its position, or on
    whether it ran in the padded SIMD loop or the scalar one (6, 14 and 21 lanes pad to 16 and 24)."""
    times, area, m = small_events
    rng = np.random.default_rng(9)
    w = (rng.random((len(times), n_lanes)) < 0.7).astype(np.float32)
    w[:, 3] *= 2.5  # a weighted lane
    w[:, 5] = 0.0  # a lane that learned nothing
    ts, _, starts = area_major(times, np.ones(len(times)), area, m)
    order = np.lexsort((times, area))  # area_major's order (stable, time-sorted within an area)
    wl = np.ascontiguousarray(w[order])
    mu0 = np.bincount(area, minlength=m) / 60.0
    theta, omega, mu = np.full(n_lanes, 0.2), np.full(n_lanes, 1.0), np.tile(mu0, (n_lanes, 1))
    n_iter, conv = np.zeros(n_lanes, dtype=np.int64), np.zeros(n_lanes, dtype=np.bool_)
    hawkes_em_lanes(ts, wl, starts, 60.0, theta, omega, mu, 1e-6, 1000, True, n_iter, conv)
    assert conv.all()
    assert n_iter[5] == 0 and (mu[5] == 0).all()
    for lane in range(n_lanes):
        if lane == 5:
            continue
        mu1 = mu0.copy()
        th1, om1, it1, c1 = hawkes_em(ts, wl[:, lane], starts, 60.0, 0.2, 1.0, mu1, 1e-6, 1000, True)
        assert (th1, om1, it1, c1) == (theta[lane], omega[lane], n_iter[lane], conv[lane])
        np.testing.assert_array_equal(mu[lane], mu1)
        # the events the lane did not learn only split its decays: its own events alone give the same
        # fit up to rounding, which the accelerated path may amplify to the tolerance's order
        keep = wl[:, lane] > 0
        own_starts = np.concatenate([[0], np.cumsum(np.add.reduceat(keep, starts[:-1]))])
        mu2 = mu0.copy()
        th2, om2, _, c2 = hawkes_em(
            ts[keep], wl[keep, lane], own_starts, 60.0, 0.2, 1.0, mu2, 1e-6, 1000, True
        )
        assert c2
        assert th2 == pytest.approx(th1, rel=1e-3)
        assert om2 == pytest.approx(om1, rel=1e-3)


def test_runs_driver_equals_lanes_for_any_chunking(small_events):
    """The engine's parallel driver: the same fits and forecasts whether runs share a chunk or not, and
    with buffers reused from an earlier day."""
    times, area, m = small_events
    rng = np.random.default_rng(2)
    n_runs = 13
    order = np.lexsort((times, area))
    ts, area_sorted = times[order], area[order]
    w = np.ascontiguousarray((rng.random((len(times), n_runs)) < 0.8).astype(np.float32))
    bounds = np.searchsorted(area_sorted, np.arange(m + 1))
    klo, khi = bounds[:-1].copy(), bounds[1:].copy()
    results = []
    for chunks, reuse in ((1, False), (2, False), (5, False), (2, True)):
        # reused buffers hold whatever the last day left in them: here NaN
        work = em_workspace(len(ts), n_runs, chunks) if reuse else None
        for buffers in work or []:
            for b in buffers:
                b[:] = np.nan
        theta, omega = np.full(n_runs, 0.3), np.full(n_runs, 0.8)
        mu = np.tile(np.bincount(area, minlength=m) / 60.0, (n_runs, 1))
        out = np.empty((n_runs, m))
        it, cv = np.zeros(n_runs, dtype=np.int64), np.zeros(n_runs, dtype=np.bool_)
        hawkes_em_runs(
            ts, w, klo, khi, chunks, 0.0, 60.0, theta, omega, mu, 1e-6, 1000, True, out, it, cv, work
        )
        results.append((theta, omega, mu, out, it))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_ties_do_not_trigger_each_other():
    # two events at the same time in one area: neither is the other's parent
    ts, ws, starts = area_major(np.array([1.0, 1.0]), np.ones(2), np.array([0, 0]), 1)
    th, _, out = em_step(ts, ws, starts, 10.0, 0.5, 1.0, np.array([0.2]))
    assert th == pytest.approx(1e-6)  # no parent-child pair: θ goes to its lower bound
    assert out[0] == pytest.approx(2 / 10)


def test_forecast_known_answer():
    ts, ws, starts = area_major(np.array([-2.0, -0.5]), np.ones(2), np.array([0, 1]), 2)
    out = np.empty((1, 2))
    mu = np.array([[0.1, 0.2]])
    w = ws.astype(np.float32).reshape(-1, 1)
    hawkes_forecast(ts, w, starts, 0.0, np.array([0.4]), np.array([0.7]), mu, out)
    k = 0.4 * (1 - np.exp(-0.7))
    np.testing.assert_allclose(out[0], [0.1 + k * np.exp(-1.4), 0.2 + k * np.exp(-0.35)], rtol=1e-10)


@pytest.mark.parametrize("patience", [1000, 0, 6], ids=["anderson", "squarem", "anderson-then-squarem"])
def test_acceleration_reaches_the_plain_em_fixed_point(small_events, patience):
    times, area, m = small_events
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    w = ws.astype(np.float32).reshape(-1, 1)
    fits = []
    for acc in (False, True):
        th, om = np.array([0.2]), np.array([1.0])
        mu = (np.bincount(area, minlength=m) / 60.0).reshape(1, m)
        it, conv = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.bool_)
        hawkes_em_lanes(ts, w, starts, 60.0, th, om, mu, 1e-10, 100_000, acc, it, conv, patience)
        assert conv[0]
        ll = hawkes_loglik(ts, ws, starts, -60.0, 0.0, th[0], om[0], mu[0])
        fits.append((th[0], om[0], mu[0], it[0], ll))
    (th0, om0, mu0, it0, ll0), (th1, om1, mu1, it1, ll1) = fits
    assert th1 == pytest.approx(th0, rel=1e-5, abs=1e-8)
    assert om1 == pytest.approx(om0, rel=1e-4)
    np.testing.assert_allclose(mu1, mu0, rtol=1e-5)
    assert ll1 == pytest.approx(ll0, abs=1e-6)
    assert it1 < it0 / 3


def test_em_increases_the_likelihood(small_events):
    times, area, m = small_events
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    mu = np.bincount(area, minlength=m) / 60.0
    th, om = 0.2, 1.0
    last = -np.inf
    for _ in range(30):
        ll = hawkes_loglik(ts, ws, starts, -60.0, 0.0, th, om, mu)
        assert ll >= last - 1e-9
        last = ll
        th, om, mu = em_step(ts, ws, starts, 60.0, th, om, mu)


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
