"""PredPol: the recursive pass against plain pairwise sums, Newton against EM, lanes, recovery of known
parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairpatrol.errors import DataError
from fairpatrol.models import PredPol
from fairpatrol.models._hawkes import (
    OMEGA_BOUNDS,
    THETA_BOUNDS,
    WIDTH,
    area_major,
    hawkes_fit_blocks,
    hawkes_fit_cold,
    hawkes_fit_lanes,
    hawkes_forecast,
    hawkes_loglik,
)
from fairpatrol.synthetic import simulate_area_hawkes

SPAN = 60.0


def em_step(ts, ws, starts, theta, omega, mu):
    """One EM map evaluation of a single series (a fit stopped after one pass returns F(x))."""
    f = hawkes_fit_lanes(
        ts, np.reshape(ws, (-1, 1)), starts, SPAN, [theta], [omega], [mu], solver="em", tol=0.0, max_iter=1
    )
    return f["theta"][0], f["omega"][0], f["mu"][0]


def pairwise(times, area, n_areas, theta, omega, mu, w=None):
    """Mohler et al. (2015)'s EM with the explicit p-matrix (O(n²)): the EM step and the log-likelihood L
    of weighted events (an event of weight w counts w times), the oracle for the recursive pass."""
    w = np.ones(len(times)) if w is None else w
    sum_p = sum_pdt = 0.0
    bg = np.zeros(n_areas)
    ll = -SPAN * mu.sum() - theta * w.sum()
    for j in range(len(times)):
        same = (area == area[j]) & (times < times[j])
        lag = times[j] - times[same]
        g = w[same] * theta * omega * np.exp(-omega * lag)
        lam = mu[area[j]] + g.sum()
        sum_p += w[j] * (g / lam).sum()
        sum_pdt += w[j] * (g * lag / lam).sum()
        bg[area[j]] += w[j] * mu[area[j]] / lam
        ll += w[j] * np.log(lam)
    return (sum_p / w.sum(), sum_p / sum_pdt, bg / SPAN), ll


@pytest.fixture(scope="module")
def small_events():
    rng = np.random.default_rng(4)
    n, m = 400, 7
    times = np.sort(np.round(rng.uniform(-SPAN, 0, n), 2))  # rounding makes ties within areas
    area = rng.integers(0, m, n)
    order = np.lexsort((area, times))
    return times[order], area[order], m


@pytest.fixture(scope="module")
def small_series(small_events):
    times, area, m = small_events
    ts, ws, starts = area_major(times, np.ones(len(times)), area, m)
    return ts, ws, starts, np.bincount(area, minlength=m) / SPAN


def test_recursive_pass_equals_pairwise(small_events, small_series):
    times, area, m = small_events
    ts, ws, starts, mu0 = small_series
    mu = 0.7 * mu0
    (th_ref, om_ref, mu_ref), ll_ref = pairwise(times, area, m, 0.3, 0.8, mu)
    th, om, out = em_step(ts, ws, starts, 0.3, 0.8, mu)
    # trigger weights by a polynomial e^x (relative error < 1e-11), sums in double precision
    assert th == pytest.approx(th_ref, rel=1e-9)
    assert om == pytest.approx(om_ref, rel=1e-9)
    np.testing.assert_allclose(out, mu_ref, rtol=1e-9)
    assert hawkes_loglik(ts, ws, starts, SPAN, 0.3, 0.8, mu) == pytest.approx(ll_ref, rel=1e-12)


def test_weighted_pass_equals_pairwise(small_events):
    """Weights other than 0 and 1 (feedback-corrected learning): the log-likelihood event by event
    instead of the product of the intensities."""
    times, area, m = small_events
    w = np.where(np.arange(len(times)) % 3 == 0, 2.5, 1.0)
    w[5] = 0.0
    ts, ws, starts = area_major(times, w, area, m)
    mu = np.bincount(area, weights=w, minlength=m) / SPAN
    (th_ref, om_ref, mu_ref), ll_ref = pairwise(times, area, m, 0.3, 0.8, mu, w)
    th, om, out = em_step(ts, ws, starts, 0.3, 0.8, mu)
    assert th == pytest.approx(th_ref, rel=1e-9)
    assert om == pytest.approx(om_ref, rel=1e-9)
    np.testing.assert_allclose(out, mu_ref, rtol=1e-9)
    assert hawkes_loglik(ts, ws, starts, SPAN, 0.3, 0.8, mu) == pytest.approx(ll_ref, rel=1e-12)


def _numeric_derivatives(ts, ws, starts, span, p):
    """Gradient and Hessian of L in p = (θ, ω, μ...) by central differences."""
    f = lambda q: hawkes_loglik(ts, ws, starts, span, q[0], q[1], q[2:])  # noqa: E731
    k = len(p)
    h = 1e-4 * np.abs(p)
    grad = np.array([(f(p + h[i] * e) - f(p - h[i] * e)) / (2 * h[i]) for i, e in enumerate(np.eye(k))])
    hess = np.empty((k, k))
    for i, ei in enumerate(np.eye(k)):
        for j, ej in enumerate(np.eye(k)):
            hess[i, j] = (
                f(p + h[i] * ei + h[j] * ej)
                - f(p + h[i] * ei - h[j] * ej)
                - f(p - h[i] * ei + h[j] * ej)
                + f(p - h[i] * ei - h[j] * ej)
            ) / (4 * h[i] * h[j])
    return grad, hess


def test_newton_step_uses_the_exact_gradient_and_hessian():
    """One Newton step from a point near the optimum equals −H⁻¹g with g and H by finite differences of
    L: the one-pass recursive gradient and arrowhead Hessian (θ, ω and every μ_n) are the right ones."""
    events = simulate_area_hawkes([0.3, 0.2, 0.5, 0.1, 0.4], theta=0.5, omega=0.5, days=200, seed=7)
    t = (events["time"] - events["time"].min()).dt.total_seconds().to_numpy() / 86400.0 - 200.0
    area = events["area_id"].str[1:].astype(int).to_numpy()
    ts, ws, starts = area_major(t, np.ones(len(t)), area, 5)
    mu0 = np.bincount(area, minlength=5) / 200.0
    fit = hawkes_fit_lanes(ts, ws.reshape(-1, 1), starts, 200.0, [0.2], [1.0], [mu0], tol=1e-12)
    opt = np.concatenate([fit["theta"], fit["omega"], fit["mu"][0]])
    start = opt * np.random.default_rng(0).uniform(0.97, 1.03, len(opt))
    grad, hess = _numeric_derivatives(ts, ws, starts, 200.0, start)
    expected = start - np.linalg.solve(hess, grad)
    # a tolerance of 1 returns the first full Newton step
    one = hawkes_fit_lanes(
        ts, ws.reshape(-1, 1), starts, 200.0, start[:1], start[1:2], [start[2:]], tol=1.0, max_iter=1
    )
    got = np.concatenate([one["theta"], one["omega"], one["mu"][0]])
    assert one["converged"][0] and one["counts"][0, 0] == 1
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert np.max(np.abs(got / opt - 1)) < 0.1 * np.max(np.abs(start / opt - 1))  # quadratic convergence


def test_newton_and_em_reach_the_same_maximum(small_series):
    ts, ws, starts, mu0 = small_series
    args = (ts, ws.reshape(-1, 1), starts, SPAN, [0.2], [1.0], [mu0])
    kw = {"tol": 1e-11, "max_iter": 100_000, "evaluate": True}
    fits = {s: hawkes_fit_lanes(*args, solver=s, **kw) for s in ("newton", "em")}
    newton, em = fits["newton"], fits["em"]
    assert newton["converged"][0] and em["converged"][0]
    assert newton["theta"][0] == pytest.approx(em["theta"][0], rel=1e-7)
    assert newton["omega"][0] == pytest.approx(em["omega"][0], rel=1e-7)
    np.testing.assert_allclose(newton["mu"], em["mu"], rtol=1e-7)
    assert newton["loglik"][0] >= em["loglik"][0] - 1e-9
    assert newton["n_iter"][0] < em["n_iter"][0] / 20  # EM crawls: hundreds of passes


def test_default_tolerance_newton_is_closer_to_the_maximum_than_em(small_series):
    ts, ws, starts, mu0 = small_series
    args = (ts, ws.reshape(-1, 1), starts, SPAN, [0.2], [1.0], [mu0])
    best = hawkes_fit_lanes(*args, tol=1e-12, evaluate=True)
    newton = hawkes_fit_lanes(*args, evaluate=True)
    em = hawkes_fit_lanes(*args, solver="em", evaluate=True)
    assert best["loglik"][0] >= newton["loglik"][0] >= em["loglik"][0]
    err = {k: abs(f["omega"][0] / best["omega"][0] - 1) for k, f in (("newton", newton), ("em", em))}
    assert err["newton"] < 1e-4 < err["em"]


def test_ties_do_not_trigger_each_other():
    # two events at the same time in one area: neither is the other's parent
    ts, ws, starts = area_major(np.array([1.0, 1.0]), np.ones(2), np.array([0, 0]), 1)
    f = hawkes_fit_lanes(ts, ws.reshape(-1, 1), starts, 10.0, [0.5], [1.0], [[0.2]], solver="em", max_iter=1)
    assert f["theta"][0] == pytest.approx(THETA_BOUNDS[0])  # no parent-child pair: θ at its lower bound
    assert f["mu"][0, 0] == pytest.approx(2 / 10)


def test_forecast_known_answer():
    ts, ws, starts = area_major(np.array([-2.0, -0.5]), np.ones(2), np.array([0, 1]), 2)
    out = hawkes_forecast(ts, ws.reshape(-1, 1), starts, [0.4], [0.7], [[0.1, 0.2]])
    k = 0.4 * (1 - np.exp(-0.7))
    np.testing.assert_allclose(out[0], [0.1 + k * np.exp(-1.4), 0.2 + k * np.exp(-0.35)], rtol=1e-10)
    later = hawkes_forecast(ts, ws.reshape(-1, 1), starts, [0.4], [0.7], [[0.1, 0.2]], t_from=1.0)
    np.testing.assert_allclose(later[0], [0.1 + k * np.exp(-2.1), 0.2 + k * np.exp(-1.05)], rtol=1e-10)


@pytest.mark.parametrize("solver", ["newton", "em"])
@pytest.mark.parametrize("n_lanes", [3, WIDTH + 3])
def test_lanes_equal_separate_fits(small_events, solver, n_lanes):
    """Fitting several weightings of one event list as SIMD lanes gives, bit for bit, each lane's fit
    alone on that list: a lane's numbers do not depend on the other lanes of its block (weighted or not)
    or on its position."""
    times, area, m = small_events
    rng = np.random.default_rng(9)
    w = (rng.random((len(times), n_lanes)) < 0.7).astype(np.float32)
    w[:, 1] *= 2.5  # a weighted lane (the log-likelihood event by event) in a block of unit-weight lanes
    w[:, 2] = 0.0  # a lane that learned nothing
    ts, _, starts = area_major(times, np.ones(len(times)), area, m)
    order = np.lexsort((times, area))  # area_major's order (stable, time-sorted within an area)
    wl = np.ascontiguousarray(w[order])
    mu0 = np.bincount(area, minlength=m) / SPAN
    kw = {"solver": solver, "tol": 1e-6, "max_iter": 100_000, "evaluate": True}
    fit = hawkes_fit_lanes(
        ts, wl, starts, SPAN, np.full(n_lanes, 0.2), np.full(n_lanes, 1.0), [mu0] * n_lanes, **kw
    )
    assert fit["converged"].all()
    assert fit["n_iter"][2] == 0 and (fit["mu"][2] == 0).all()
    for lane in range(n_lanes):
        if lane == 2:
            continue
        alone = hawkes_fit_lanes(ts, wl[:, lane : lane + 1], starts, SPAN, [0.2], [1.0], [mu0], **kw)
        for key in ("theta", "omega", "mu", "n_iter", "converged", "loglik", "forecast", "counts"):
            np.testing.assert_array_equal(fit[key][lane], alone[key][0], err_msg=key)
    # the events a lane did not learn only split its decays: its own events alone give the same fit up
    # to rounding
    lane = 0
    keep = wl[:, lane] > 0
    own_starts = np.concatenate([[0], np.cumsum(np.add.reduceat(keep, starts[:-1]))])
    own = hawkes_fit_lanes(ts[keep], wl[keep, lane : lane + 1], own_starts, SPAN, [0.2], [1.0], [mu0], **kw)
    assert own["theta"][0] == pytest.approx(fit["theta"][lane], rel=1e-6 if solver == "newton" else 1e-3)
    assert own["omega"][0] == pytest.approx(fit["omega"][lane], rel=1e-6 if solver == "newton" else 1e-3)


def test_runs_driver_equals_for_any_thread_count_and_order(small_events):
    """The engine's parallel driver: the same fits and forecasts whether blocks run on 1 or 2 threads and
    in whichever order the balancing puts them."""
    from fairpatrol.models._hawkes import fit_outputs, hawkes_fit_runs, lane_blocks, n_blocks, pack

    times, area, m = small_events
    rng = np.random.default_rng(2)
    n_runs = 3 * WIDTH + 1
    order = np.lexsort((times, area))
    ts, area_sorted = times[order], area[order]
    w = lane_blocks((rng.random((len(times), n_runs)) < 0.8).astype(np.float32))
    bounds = np.searchsorted(area_sorted, np.arange(m + 1))
    klo, khi = bounds[:-1].copy(), bounds[1:].copy()
    nb = n_blocks(n_runs)
    results = []
    for threads, cost in ((1, None), (2, None), (2, rng.random(nb)), (3, np.arange(nb))):
        x = pack(
            np.full(n_runs, 0.3),
            np.full(n_runs, 0.8),
            np.tile(np.bincount(area, minlength=m) / SPAN, (n_runs, 1)),
            nb,
        )
        out, it, cv, counts, ll = fit_outputs(nb, m)
        area_w = np.full((nb, m + 1, WIDTH), 40.0)  # the weights per area in yesterday's window
        hawkes_fit_runs(
            ts,
            w,
            klo,
            khi,
            SPAN,
            x,
            True,
            1e-6,
            1000,
            0.0,
            out,
            it,
            cv,
            counts,
            ll,
            True,
            area_w,
            SPAN - 1.0,
            cost=cost,
            n_threads=threads,
        )
        results.append((x, out, it, ll, area_w))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_one_compiled_signature_for_engine_and_estimator(baltimore):
    """PredPol.fit, predict and the simulation engine all run the same compiled kernel (one signature:
    compiled, or loaded from numba's cache, once)."""
    from fairpatrol.sim.engine import RunSpec, simulate
    from fairpatrol.sim.prepare import prepare

    data = prepare(baltimore, "2019-03-01", 3, 365)
    simulate(PredPol(), data, [RunSpec(run=0, n_officers=40, report_prob=0.4)], seed=1)
    model = PredPol().fit(data.frame(0, data.n_history), until=data.start, areas=data.areas)
    model.predict()
    assert len(hawkes_fit_blocks.signatures) == 1


def test_em_increases_the_likelihood(small_series):
    ts, ws, starts, mu = small_series
    th, om = 0.2, 1.0
    last = -np.inf
    for _ in range(30):
        ll = hawkes_loglik(ts, ws, starts, SPAN, th, om, mu)
        assert ll >= last - 1e-9
        last = ll
        th, om, mu = em_step(ts, ws, starts, th, om, mu)


@pytest.mark.parametrize("solver", ["newton", "em"])
def test_convergence_flag_reports_iteration_cap(small_series, solver):
    ts, ws, starts, mu = small_series
    f = hawkes_fit_lanes(
        ts, ws.reshape(-1, 1), starts, SPAN, [0.2], [1.0], [mu], solver=solver, tol=1e-14, max_iter=3
    )
    assert (f["n_iter"][0], f["converged"][0]) == (3, False)


def test_cold_start_finds_the_higher_of_two_maxima(baltimore):
    """On Baltimore's aggravated assaults the likelihood has a maximum with no self-excitation (θ at its
    lower bound, where EM from the usual start stops) and a higher one with a small θ and a trigger of
    about an hour; the cold start tries several ω and keeps the best: at least as high as each start's
    own fit."""
    from fairpatrol.models._hawkes import COLD_STARTS
    from fairpatrol.sim.prepare import prepare

    data = prepare(baltimore, "2019-01-01", 1, 365)
    lo, hi = data.window(0, 365)
    ts, ws, starts = area_major(data.times[lo:hi], np.ones(hi - lo), data.area[lo:hi], data.n_areas)
    span = data.span(0, 365)
    mu0 = np.bincount(data.area[lo:hi], minlength=data.n_areas) / span
    em = hawkes_fit_lanes(
        ts, ws.reshape(-1, 1), starts, span, [0.2], [1.0], [mu0], solver="em", evaluate=True
    )
    cold = hawkes_fit_cold(ts, ws, starts, span, 0.2, 1.0, mu0, tol=1e-8)
    assert em["converged"][0] and em["theta"][0] == THETA_BOUNDS[0]
    assert cold["converged"][0] and cold["theta"][0] > 1e-4 and cold["omega"][0] > 5.0
    assert cold["loglik"][0] > em["loglik"][0] + 0.1
    k = len(COLD_STARTS)
    each = hawkes_fit_lanes(
        ts, np.repeat(ws[:, None], k, 1), starts, span, [0.2] * k, np.array(COLD_STARTS), [mu0] * k, tol=1e-8,
        evaluate=True,
    )  # fmt: skip
    assert cold["loglik"][0] >= each["loglik"][each["converged"]].max() - 1e-9


@pytest.fixture(scope="module")
def synthetic_hawkes():
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.02, 0.2, 200)
    return mu, simulate_area_hawkes(mu, theta=0.5, omega=0.5, days=730, seed=3)


def test_predpol_recovers_known_parameters(synthetic_hawkes):
    """θ = 0.5, ω = 0.5/day, 200 areas, 2 years (about 35,000 events): the fit is the maximum of L to
    1e-6 and within its sampling error of the truth: θ ± 0.02, ω ± 7 %, μ correlation > 0.95."""
    mu, events = synthetic_hawkes
    until = pd.Timestamp("2020-01-01") + pd.Timedelta(days=730)
    model = PredPol(window_days=730).fit(events, until=until)
    tight = PredPol(window_days=730, tol=1e-10).fit(events, until=until)
    assert model.converged_ and tight.converged_
    assert model.theta_ == pytest.approx(tight.theta_, rel=1e-6)
    assert model.omega_ == pytest.approx(tight.omega_, rel=1e-6)
    assert model.theta_ == pytest.approx(0.5, abs=0.02)
    assert model.omega_ == pytest.approx(0.5, rel=0.07)
    fitted = model.mu_.reindex([f"A{i:04d}" for i in range(200)]).to_numpy()
    assert np.corrcoef(fitted, mu)[0, 1] > 0.95
    assert fitted.sum() == pytest.approx(mu.sum(), rel=0.05)


def test_newton_is_closer_to_the_maximum_than_em_on_every_replayed_day(synthetic_hawkes):
    """Daily refits over a sliding 365-day window, each from the day before (as the simulation does), of
    data with strong self-excitation (θ = 0.5): on every day Newton's log-likelihood is at least EM's at
    the same tolerance, by clearly more than rounding on most days (EM converges linearly and stops
    short), and Newton is within 1e-6 of a tight refit while EM is not."""
    _, events = synthetic_hawkes
    rng = np.random.default_rng(0)
    weights = (rng.random(len(events)) < 0.8).astype(float)  # each day's data, thinned as by detection
    start = pd.Timestamp("2021-01-01")
    fits = {s: PredPol(solver=s, warm_start=True) for s in ("newton", "em")}
    gaps, err = [], {"newton": [], "em": []}
    for d in range(12):
        until = start + pd.Timedelta(days=d)
        for est in fits.values():
            est.fit(events, until=until, sample_weight=weights)
        assert fits["newton"].loglik_ >= fits["em"].loglik_ - 1e-8, d
        gaps.append(fits["newton"].loglik_ - fits["em"].loglik_)
        tight = PredPol(tol=1e-10).fit(events, until=until, sample_weight=weights)
        for s, est in fits.items():
            err[s].append(abs(est.omega_ / tight.omega_ - 1))
    assert np.median(gaps) > 1e-4
    assert max(err["newton"]) < 1e-6 < min(err["em"])


def test_predpol_estimator_conventions(synthetic_hawkes):
    _, events = synthetic_hawkes
    model = PredPol(tol=1e-5)
    assert model.get_params()["tol"] == 1e-5
    assert model.fit(events) is model
    assert model.n_iter_ > 0 and isinstance(model.converged_, bool) and np.isfinite(model.loglik_)
    pred = model.predict()
    assert (pred >= 0).all() and pred.index.name == "area_id"
    parts = model.decompose()
    np.testing.assert_allclose(parts.background + parts.excitation, parts.intensity)
    assert "tol=1e-05" in repr(model)
    with pytest.raises(ValueError, match="no parameter"):
        model.set_params(bandwidth=3)
    with pytest.raises(ValueError, match="solver"):
        PredPol(solver="bfgs").fit(events)


def test_predpol_warm_start_lands_on_the_same_fit(synthetic_hawkes):
    _, events = synthetic_hawkes
    until = pd.Timestamp("2021-06-01")
    cold = PredPol(tol=1e-8).fit(events, until=until)
    warm = PredPol(tol=1e-8, warm_start=True).fit(events, until=until - pd.Timedelta(days=1))
    warm.fit(events, until=until)
    assert warm.n_iter_ < cold.n_iter_
    assert warm.theta_ == pytest.approx(cold.theta_, rel=1e-7)
    assert warm.omega_ == pytest.approx(cold.omega_, rel=1e-7)


def test_predpol_bad_input():
    with pytest.raises(DataError, match="area_id"):
        PredPol().fit(pd.DataFrame({"time": pd.to_datetime(["2020-01-01"])}))
    with pytest.raises(DataError, match="empty training window"):
        PredPol().fit(
            pd.DataFrame({"time": pd.to_datetime(["2020-01-01"]), "area_id": ["a"]}), until="2022-01-01"
        )


def test_a_weight_of_two_equals_a_duplicated_event(small_events):
    """Weighted likelihood (feedback-corrected learning): weight w ≡ w simultaneous copies of the event."""
    times, area, m = small_events
    w = np.ones(len(times))
    w[::7] = 2.0
    dup_t = np.concatenate([times, times[::7]])
    dup_a = np.concatenate([area, area[::7]])
    order = np.argsort(dup_t, kind="stable")
    fits = []
    for t_, a_, w_ in ((times, area, w), (dup_t[order], dup_a[order], np.ones(len(dup_t)))):
        ts, ws, starts = area_major(t_, w_, a_, m)
        mu = np.bincount(a_, weights=w_, minlength=m) / SPAN
        f = hawkes_fit_lanes(
            ts, ws.reshape(-1, 1), starts, SPAN, [0.2], [1.0], [mu], tol=1e-10, evaluate=True
        )
        assert f["converged"][0]
        fits.append(f)
    for key in ("theta", "omega", "mu", "loglik"):
        np.testing.assert_allclose(fits[0][key], fits[1][key], rtol=1e-9)


def test_bounds_hold(small_series):
    """Starting at the bounds or beyond the data's support, fits stay inside them."""
    ts, ws, starts, mu0 = small_series
    for th, om in ((THETA_BOUNDS[0], OMEGA_BOUNDS[0]), (THETA_BOUNDS[1], OMEGA_BOUNDS[1]), (0.9, 500.0)):
        f = hawkes_fit_lanes(ts, ws.reshape(-1, 1), starts, SPAN, [th], [om], [mu0], evaluate=True)
        assert THETA_BOUNDS[0] <= f["theta"][0] <= THETA_BOUNDS[1]
        assert OMEGA_BOUNDS[0] <= f["omega"][0] <= OMEGA_BOUNDS[1]
        assert np.isfinite(f["loglik"][0]) and (f["mu"] > 0).all()
