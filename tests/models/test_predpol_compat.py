"""The published study's PredPol as switches (Semsar et al. 2026; authors_code.md §3; docs/paper-compat.md).

Each switch is checked against a plain, dense transcription of the published code's EM step (its E-step
matrix p[a, b] with Δ[a, b] = t_a − t_b, as in the notebook), on events small enough to check by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fairpatrol.config import COMPAT_PRESETS, parse_scenario
from fairpatrol.errors import ConfigError
from fairpatrol.models import PredPol
from fairpatrol.models.predpol import active_day_means, reversed_order

ORIGIN = pd.Timestamp("2020-01-01")


def events(times_by_area: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(ORIGIN + pd.Timedelta(days=t), a) for a, ts in times_by_area.items() for t in ts]
    return pd.DataFrame(rows, columns=["time", "area_id"]).sort_values("time", kind="stable")


def dense_step(ev, until, theta, omega, mu, span, *, transposed=False, eps=0.0, th_hi=0.999, om_hi=1e4):
    """One EM step of the published code, dense (times in days): returns (θ, ω, μ) and every event's λ."""
    t_all = ((ev["time"] - until) / pd.Timedelta(days=1)).to_numpy()
    areas = sorted(ev["area_id"].unique())
    s_p = s_pd = 0.0
    new_mu = {}
    lam = {}
    for i, a in enumerate(areas):
        t = np.sort(t_all[ev["area_id"].to_numpy() == a])
        d = t[:, None] - t[None, :]  # Δ[a, b] = t_a − t_b
        # the code keeps Δ > 0: a later than b; the correct E-step would keep a earlier than b (Δ < 0)
        keep = d > 0 if transposed else d < 0
        g = np.where(keep, theta * omega * np.exp(-omega * np.abs(d)), 0.0)
        lam_b = mu[i] + g.sum(axis=0)  # nansum(axis=0): over a
        p = g / lam_b[None, :]
        s_p += p.sum()
        s_pd += (p * np.abs(d)).sum()
        new_mu[a] = (mu[i] / lam_b).sum() / span + eps
        lam[a] = lam_b
    n = len(ev)
    th = min(max(s_p / n, 1e-6), th_hi)
    om = min(s_p / s_pd, om_hi)
    return th, om, np.array([new_mu[a] for a in areas]), lam


def from_point(ev, until, theta, omega, mu, **settings) -> PredPol:
    """A PredPol fit started exactly at (θ, ω, μ): a warm refit of a model set to that point."""
    m = PredPol(warm_start=True, time_resolution="exact", **settings)
    m.fit(ev, until=until)
    m.theta_, m.omega_ = theta, omega
    m.mu_ = pd.Series(np.asarray(mu, dtype=float), index=m.mu_.index)
    m._previous_fit = None  # no extrapolation: the point itself
    return m.fit(ev, until=until)


THREE = {"A": [0.0, 1.0, 10.0]}


def test_transposed_e_step_parent_sums_and_one_step():
    ev = events(THREE)
    until = ORIGIN + pd.Timedelta(days=11)
    point = (0.2, 0.3, [0.01])
    # the parent sums of authors_code.md §3 for t = [0, 1, 10]: the code's λ̃ and the correct λ
    *_, wrong = dense_step(ev, until, *point, 11.0, transposed=True)
    *_, right = dense_step(ev, until, *point, 11.0)
    np.testing.assert_allclose(wrong["A"], [0.057, 0.014, 0.010], atol=6e-4)
    np.testing.assert_allclose(right["A"], [0.010, 0.054, 0.017], atol=6e-4)
    # by hand: λ̃(0) = μ + θω (e^{−ω} + e^{−10ω}), λ̃(1) = μ + θω e^{−9ω}, λ̃(10) = μ
    tw = 0.2 * 0.3
    assert wrong["A"][0] == pytest.approx(0.01 + tw * (math.exp(-0.3) + math.exp(-3.0)))
    assert wrong["A"][1] == pytest.approx(0.01 + tw * math.exp(-2.7))
    # fairpatrol's EM step with e_step="transposed" is the published code's step
    for transposed in (False, True):
        e_step = "transposed" if transposed else "causal"
        m = from_point(ev, until, *point, window_days=12, solver="em", max_iter=1, e_step=e_step)
        assert (m.n_events_, m.span_) == (3, 12.0)
        th, om, mu, _ = dense_step(ev, until, *point, 12.0, transposed=transposed)
        assert (m.theta_, m.omega_) == (pytest.approx(th, rel=1e-9), pytest.approx(om, rel=1e-9))
        np.testing.assert_allclose(m.mu_.to_numpy(), mu, rtol=1e-9)
    one = {"window_days": 12, "solver": "em", "max_iter": 1}
    assert from_point(ev, until, *point, e_step="transposed", **one).theta_ != pytest.approx(
        from_point(ev, until, *point, **one).theta_
    )


def test_transposed_forecast_stays_causal():
    ev = events({"A": [0.0, 1.0, 10.0], "B": [3.0, 3.5]})
    until = ORIGIN + pd.Timedelta(days=11)
    m = PredPol(e_step="transposed", solver="em", time_resolution="exact").fit(ev, until=until)
    th, om, mu = m.theta_, m.omega_, m.mu_.to_numpy()
    # λ integrated over the next day from the *earlier* events, as the code predicted
    excite_a = np.exp(-om * 11.0) + np.exp(-om * 10.0) + np.exp(-om * 1.0)
    excite_b = np.exp(-om * 8.0) + np.exp(-om * 7.5)
    want = mu + th * (1 - np.exp(-om)) * np.array([excite_a, excite_b])
    np.testing.assert_allclose(m.predict().to_numpy(), want, rtol=1e-9)


def test_reversed_order_reverses_each_area():
    np.testing.assert_array_equal(reversed_order(np.array([0, 3, 3, 5])), [2, 1, 0, 4, 3])


def test_hour_units_start_bounds_and_epsilon():
    # area A: 3 events on 2 active days, B: 1 event; per active day 1.5 and 1
    ev = events({"A": [0.2, 0.7, 4.5], "B": [2.0]})
    until = ORIGIN + pd.Timedelta(days=10)
    t = ((ev["time"] - until) / pd.Timedelta(days=1)).to_numpy()
    starts = np.array([0, 3, 4])
    np.testing.assert_allclose(
        active_day_means(t[np.argsort(ev["area_id"], kind="stable")], np.ones(4), starts), [1.5, 1.0]
    )
    # the published code's start: θ0 = 0.2, ω0 = 0.3 per hour, μ0 = (per-active-day mean + ε) normalised to
    # sum 1 per hour, with ε = 0.01 / T (T in hours); one EM step from there, ε added, in day units
    m = PredPol(
        window_days=10, units="hour", theta0=0.2, omega0=0.3, solver="em", max_iter=1, time_resolution="exact"
    )
    m.fit(ev, until=until)
    eps_h = 0.01 / (10 * 24)
    mu0_h = np.array([1.5 + eps_h, 1.0 + eps_h])
    mu0 = 24 * mu0_h / mu0_h.sum()
    th, om, mu, _ = dense_step(ev, until, 0.2, 0.3 * 24, mu0, 10.0, eps=24 * eps_h, th_hi=0.9, om_hi=600 * 24)
    assert (m.theta_, m.omega_) == (pytest.approx(th, rel=1e-9), pytest.approx(om, rel=1e-9))
    np.testing.assert_allclose(m.mu_.to_numpy(), mu, rtol=1e-9)
    # bounds: θ at most 0.9 (not 0.999); an area without events keeps ε as background (not 0)
    burst = events({"A": list(np.arange(0, 2, 0.001)), "B": [5.0], "C": []})
    fit_h = PredPol(window_days=10, units="hour", omega0=0.3, solver="em", time_resolution="exact")
    fit_d = PredPol(window_days=10, solver="em", time_resolution="exact")
    assert fit_h.fit(burst, until=until).theta_ <= 0.9 < fit_d.fit(burst, until=until).theta_


def test_mu_renormalised_at_warm_start():
    ev = events({"A": [0.0, 1.0, 2.5, 6.0], "B": [3.0, 3.2]})
    until = ORIGIN + pd.Timedelta(days=8)
    m = PredPol(
        window_days=8,
        warm_start=True,
        warm_mu="renormalised",
        solver="em",
        max_iter=1,
        time_resolution="exact",
    )
    m.fit(ev, until=until)
    m.theta_, m.omega_ = 0.3, 2.0
    m.mu_ = pd.Series([0.5, 0.1], index=m.mu_.index)  # fitted scale 0.6 a day: thrown away
    m._previous_fit = None
    m.fit(ev, until=until)
    th, om, mu, _ = dense_step(ev, until, 0.3, 2.0, np.array([0.5, 0.1]) / 0.6, 8.0)
    assert (m.theta_, m.omega_) == (pytest.approx(th, rel=1e-9), pytest.approx(om, rel=1e-9))
    np.testing.assert_allclose(m.mu_.to_numpy(), mu, rtol=1e-9)


def _published_loop(ev, until, point, per, **step):
    """The published code's loop: EM steps until θ, ω and every μ_n change by at most 1e-3 in absolute
    terms, ω and μ counted per 1/``per`` of a day (24: per hour). Returns the fit and the steps taken."""
    x, k = point, 0
    while True:
        nxt = dense_step(ev, until, *x, 10.0, **step)[:3]
        k += 1
        change = max(abs(nxt[0] - x[0]), abs(nxt[1] - x[1]) / per, np.abs(nxt[2] - x[2]).max() / per)
        x = nxt
        if change <= 1e-3 or k == 100:
            return x, k


def test_absolute_tolerance_stops_where_the_published_code_stops():
    ev = events({"A": [0.0, 0.3, 1.0, 4.0, 4.1, 9.0], "B": [2.0, 7.0, 7.2]})
    until = ORIGIN + pd.Timedelta(days=10)
    point = (0.2, 1.0, np.array([0.4, 0.3]))
    settings = {"solver": "em", "tol": 1e-3, "max_iter": 100, "window_days": 10, "stopping": "absolute"}
    # per hour, with the code's bounds and ε = 0.01 / T (T in hours; 0.01 / 10 per day here)
    want, k = _published_loop(ev, until, point, 24.0, eps=0.001, th_hi=0.9, om_hi=600 * 24)
    hour = from_point(ev, until, *point, units="hour", **settings)
    assert hour.n_iter_ == k
    assert (hour.theta_, hour.omega_) == (pytest.approx(want[0], rel=1e-9), pytest.approx(want[1], rel=1e-9))
    np.testing.assert_allclose(hour.mu_.to_numpy(), want[2], rtol=1e-9)
    # in day units the changes of ω and μ count 24 times more: the same rule, later
    want_d, k_d = _published_loop(ev, until, point, 1.0)
    day = from_point(ev, until, *point, units="day", **settings)
    assert day.n_iter_ == k_d and k_d > k
    assert day.omega_ == pytest.approx(want_d[1], rel=1e-9)
    # the Newton solver has no such rule: a one-line configuration error, not a silent relative stop
    with pytest.raises(ConfigError, match="solver: em"):
        PredPol(stopping="absolute").fit(ev, until=until)


def test_intensity_at_midnight():
    ev = events({"A": [1.0, 3.5], "B": [2.0]})
    until = ORIGIN + pd.Timedelta(days=5)
    day = PredPol(window_days=5, time_resolution="exact").fit(ev, until=until)
    mid = PredPol(window_days=5, time_resolution="exact", forecast="midnight").fit(ev, until=until)
    th, om, mu = mid.theta_, mid.omega_, mid.mu_.to_numpy()
    excite = np.array([np.exp(-om * 4.0) + np.exp(-om * 1.5), np.exp(-om * 3.0)])
    np.testing.assert_allclose(mid.predict().to_numpy(), mu + th * om * excite, rtol=1e-9)
    th, om, mu = day.theta_, day.omega_, day.mu_.to_numpy()
    excite = np.array([np.exp(-om * 4.0) + np.exp(-om * 1.5), np.exp(-om * 3.0)])
    np.testing.assert_allclose(day.predict().to_numpy(), mu + th * (1 - np.exp(-om)) * excite, rtol=1e-9)


def _scenario(**extra):
    raw = {
        "data": {"city": "baltimore", "incidents": "baltimore-agg-assault"},
        "start": "2019-01-01",
        "days": 5,
        "runs": 1,
        "algorithms": ["PredPol", "LongTermKDE"],
        "officers": [40],
        "report_probs": [0.0],
    }
    return parse_scenario({**raw, **extra})


def test_compat_switches_set_predpol_settings():
    cfg = _scenario(compat="semsar2026")
    p = cfg.model("PredPol").get_params()
    assert {k: p[k] for k in ("e_step", "units", "warm_mu", "stopping", "forecast", "solver")} == {
        "e_step": "transposed",
        "units": "hour",
        "warm_mu": "renormalised",
        "stopping": "absolute",
        "forecast": "midnight",
        "solver": "em",
    }
    assert (p["theta0"], p["omega0"], p["tol"], p["max_iter"]) == (0.2, 0.3, 1e-3, 100)
    assert cfg.model("LongTermKDE").get_params() == _scenario().model("LongTermKDE").get_params()
    assert set(cfg.compat.engine_switches()) == {
        "relative_detection",
        "kde_sampling",
        "long_term_leak",
        "shared_reports",
        "run_averaged_metrics",
    }
    assert set(COMPAT_PRESETS["semsar2026"]) >= {"predpol_transposed_estep", "predpol_midnight_intensity"}
    one = _scenario(compat={"predpol_midnight_intensity": True}).model("PredPol").get_params()
    assert one["forecast"] == "midnight" and one["e_step"] == "causal" and one["solver"] == "newton"
    # a study's own model settings win over a switch's
    mine = _scenario(compat="semsar2026", models={"PredPol": {"max_iter": 300}}).model("PredPol")
    assert mine.max_iter == 300 and mine.stopping == "absolute"
    with pytest.raises(ConfigError, match="solver: em"):
        _scenario(models={"PredPol": {"stopping": "absolute"}}).model("PredPol").fit(
            events(THREE), until=ORIGIN + pd.Timedelta(days=11)
        )


def test_date_only_events_placed_within_the_day_recover_theta():
    """Same-day events must not excite each other through a zero delay: on a Hawkes process simulated with
    θ = 0.3 and cut to dates, the within-day placement recovers θ; keeping the midnight times loses every
    same-day pair and about halves it (docs/methods.md, "Date-only incidents")."""
    from fairpatrol.synthetic import simulate_area_hawkes

    ev = simulate_area_hawkes(np.full(60, 0.05), theta=0.3, omega=2.0, days=600, seed=3)
    until = ev["time"].max().normalize() + pd.Timedelta(days=1)
    dated = ev.assign(time=ev["time"].dt.normalize())
    placed = PredPol(window_days=590).fit(dated, until=until)
    midnight = PredPol(window_days=590, time_resolution="exact").fit(dated, until=until)
    assert placed.time_resolution_ == "day" and midnight.time_resolution_ == "exact"
    assert 0.25 < placed.theta_ < 0.36
    assert midnight.theta_ < 0.22
    # the placement is reproducible and depends on its seed only
    again = PredPol(window_days=590).fit(dated, until=until)
    other = PredPol(window_days=590, random_state=1).fit(dated, until=until)
    assert again.theta_ == placed.theta_ and other.theta_ != placed.theta_
