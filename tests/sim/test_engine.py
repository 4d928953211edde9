"""The fast engine against the plain reference engine, reproducibility, invariants of every run-day."""

from __future__ import annotations

import numpy as np
import pytest

from fairpatrol.config import COMPAT_PRESETS, CompatConfig
from fairpatrol.metrics import daily_metrics
from fairpatrol.models import MODELS, LongTermKDE, PredPol, PreviousCounts, ShortTermKDE
from fairpatrol.sim.engine import RunSpec, simulate
from fairpatrol.sim.prepare import prepare
from fairpatrol.sim.reference import simulate_reference, training_frame

START = "2019-03-01"
DAYS = 6


@pytest.fixture(scope="module")
def data(baltimore):
    return prepare(baltimore, START, DAYS, 365)


RUNS = [
    RunSpec(run=0, n_officers=40, report_prob=0.0),
    RunSpec(run=1, n_officers=40, report_prob=0.4),
    RunSpec(run=0, n_officers=400, report_prob=0.0),
    RunSpec(run=3, n_officers=400, report_prob=0.4, detection_p=0.3),
]


#: PredPol as the published study's code ran it (every compat switch), its transposed E-step under
#: Newton's method, and date-only times placed within their day
PREDPOL_VARIANTS = {
    "semsar2026": PredPol(**CompatConfig(**COMPAT_PRESETS["semsar2026"]).model_settings("PredPol")),
    "transposed-newton": PredPol(e_step="transposed", warm_mu="renormalised", forecast="midnight"),
    "date-only": PredPol(time_resolution="day"),
}


@pytest.mark.parametrize(
    "model",
    [PredPol(), ShortTermKDE(), LongTermKDE(), PreviousCounts(), *PREDPOL_VARIANTS.values()],
    ids=[
        "PredPol",
        "ShortTermKDE",
        "LongTermKDE",
        "PreviousCounts",
        *(f"PredPol-{k}" for k in PREDPOL_VARIANTS),
    ],
)
def test_fast_engine_equals_reference(model, data):
    fast = simulate(model, data, RUNS, seed=11)
    slow = simulate_reference(model, data, RUNS, seed=11)
    np.testing.assert_array_equal(fast.officers, slow.officers)
    np.testing.assert_array_equal(fast.detected, slow.detected)
    np.testing.assert_array_equal(fast.reported, slow.reported)
    crimes = data.crimes_per_day()
    g1, g2 = data.areas.group_masks()
    m_fast = daily_metrics(fast.officers, crimes, fast.detected, g1, g2)
    m_slow = daily_metrics(slow.officers, crimes, slow.detected, g1, g2)
    for name in m_fast:
        np.testing.assert_allclose(m_fast[name], m_slow[name], rtol=1e-12, equal_nan=True)
    for key in fast.diagnostics:
        np.testing.assert_allclose(fast.diagnostics[key], slow.diagnostics[key], rtol=1e-9)


def test_proportional_allocation_equals_reference(data):
    fast = simulate(LongTermKDE(), data, RUNS[:2], seed=2, allocation="proportional")
    slow = simulate_reference(LongTermKDE(), data, RUNS[:2], seed=2, allocation="proportional")
    np.testing.assert_array_equal(fast.officers, slow.officers)


@pytest.mark.parametrize(
    "model", [ShortTermKDE(), LongTermKDE(), PreviousCounts(), PredPol()], ids=lambda m: type(m).__name__
)
def test_incremental_state_equals_refit_from_scratch(model, data):
    """After the last day, each run's incremental state forecasts what a fresh fit on its data gives."""
    res = simulate(model, data, RUNS, seed=5)
    incremental = res.state.forecast(DAYS)
    until = data.start + np.timedelta64(DAYS, "D")
    for r in range(len(RUNS)):
        fresh = type(model)(**{**model.get_params(), **({"tol": 1e-9} if isinstance(model, PredPol) else {})})
        kwargs = (
            {"observed_from": data.start + np.timedelta64(int(data.observed_from), "D")}
            if isinstance(model, PredPol)
            else {}
        )
        refit = fresh.fit(training_frame(data, res.weights[r]), until=until, areas=data.areas, **kwargs)
        expected = refit.predict().to_numpy()
        if isinstance(model, PredPol):  # the daily warm-started fit stops within tol of the maximum
            np.testing.assert_allclose(incremental[r], expected, rtol=model.tol)
        else:
            np.testing.assert_allclose(incremental[r], expected, rtol=1e-9, atol=1e-15)


def test_officers_sum_to_n_every_run_and_day(data):
    res = simulate(PredPol(), data, RUNS, seed=1)
    totals = res.officers.sum(axis=2)
    np.testing.assert_array_equal(totals, np.array([r.n_officers for r in RUNS])[:, None].repeat(DAYS, 1))
    assert (res.detected <= data.crimes_per_day()[None]).all()
    assert (res.reported <= data.crimes_per_day()[None]).all()
    # r = 0 reports nothing
    assert res.reported[0].sum() == 0


def test_same_seed_same_numbers_and_runs_differ(data):
    a = simulate(ShortTermKDE(), data, RUNS, seed=9)
    b = simulate(ShortTermKDE(), data, RUNS, seed=9)
    np.testing.assert_array_equal(a.officers, b.officers)
    c = simulate(ShortTermKDE(), data, RUNS, seed=10)
    assert not np.array_equal(a.officers, c.officers)
    # two runs of the same setting differ
    two = simulate(
        ShortTermKDE(),
        data,
        [RunSpec(run=0, n_officers=40, report_prob=0.4), RunSpec(run=1, n_officers=40, report_prob=0.4)],
        seed=9,
    )
    assert not np.array_equal(two.officers[0], two.officers[1])


def test_a_run_recreated_alone_gives_the_same_numbers(data):
    batch = simulate(PredPol(), data, RUNS, seed=3)
    alone = simulate(PredPol(), data, [RUNS[3]], seed=3)
    np.testing.assert_array_equal(batch.officers[3], alone.officers[0])
    np.testing.assert_array_equal(batch.detected[3], alone.detected[0])


def test_every_registered_model_runs(data):
    for name, cls in MODELS.items():
        res = simulate(cls(), data, RUNS[:1], seed=0)
        assert res.officers.sum() == 40 * DAYS, name


def test_bad_run_settings(data):
    with pytest.raises(ValueError, match="officers"):
        simulate(PredPol(), data, [RunSpec(run=0, n_officers=0, report_prob=0.4)], seed=0)
    with pytest.raises(ValueError, match="report_prob"):
        simulate(PredPol(), data, [RunSpec(run=0, n_officers=4, report_prob=1.4)], seed=0)


def test_newton_fit_is_closer_to_the_maximum_than_em_on_every_replayed_day(data):
    """Each run's training data of each simulated day, refitted from the day before as the engine does,
    once by Newton (the default) and once by EM: Newton's log-likelihood is at least EM's (up to
    the rounding of the sum) on every run-day, and Newton needs far fewer passes."""
    res = simulate(PredPol(), data, RUNS, seed=5)
    observed_from = data.start + np.timedelta64(int(data.observed_from), "D")
    passes = {"newton": 0, "em": 0}
    for r in range(len(RUNS)):
        train = training_frame(data, res.weights[r])
        fits = {s: PredPol(solver=s, warm_start=True) for s in passes}
        for d in range(DAYS + 1):
            until = data.start + np.timedelta64(d, "D")
            for s, est in fits.items():
                est.fit(train, until=until, areas=data.areas, observed_from=observed_from)
                passes[s] += est.n_iter_
            newton, em = fits["newton"], fits["em"]
            assert newton.converged_ and em.converged_
            assert newton.loglik_ >= em.loglik_ - 1e-8, (r, d)  # rounding of the sum of ≈ 2,000 terms
    assert passes["newton"] < passes["em"] / 2


@pytest.mark.parametrize("resolution", ["auto", "exact"])
def test_date_only_records_fast_engine_equals_reference(baltimore, resolution):
    """Records with dates only (every time at midnight, as Baltimore's Part 1): the engine's event times
    are those PredPol.fit sees, placed within their day ("auto") or at midnight ("exact")."""
    from dataclasses import replace

    dates = replace(baltimore, frame=baltimore.frame.assign(time=baltimore.frame["time"].dt.floor("D")))
    data = prepare(dates, START, DAYS, 365)
    model = PredPol(time_resolution=resolution)
    fast = simulate(model, data, RUNS[:2], seed=3)
    slow = simulate_reference(model, data, RUNS[:2], seed=3)
    np.testing.assert_array_equal(fast.officers, slow.officers)
    np.testing.assert_allclose(fast.diagnostics["theta"], slow.diagnostics["theta"], rtol=1e-9)
    assert fast.state.time_resolution_ == ("day" if resolution == "auto" else "exact")
