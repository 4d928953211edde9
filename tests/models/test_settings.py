"""Model settings: one declared table of constraints per estimator (scikit-learn's _parameter_constraints),
checked by fit, make_state and the config validators; times with a time zone accepted by every model."""

from __future__ import annotations

import inspect
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pytest

from fairpatrol.errors import ConfigError
from fairpatrol.grid.models import GRID_MODELS, NaiveKDE
from fairpatrol.models import MODELS, PredPol, PreviousCounts, ShortTermKDE
from fairpatrol.models.base import Interval, Options, check_model_settings, naive_times

ALL = {**MODELS, **GRID_MODELS}


@pytest.mark.parametrize("name", list(ALL))
def test_every_setting_has_a_constraint_and_the_defaults_satisfy_it(name):
    cls = ALL[name]
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(cls._parameter_constraints) == sorted(params)
    cls()._check()  # the defaults are valid


def test_interval_known_answers():
    open_right = Interval(Real, 0, 1, closed="left")
    assert 0 in open_right and 0.5 in open_right and 1 not in open_right
    assert True not in open_right and np.bool_(True) not in open_right  # booleans are not numbers
    assert float("nan") not in Interval(Real, None, None) and float("inf") not in Interval(Real, 0, None)
    ints = Interval(Integral, 1, 3650)
    assert np.int64(30) in ints and 30.0 not in ints and 3651 not in ints
    assert str(ints) == "an integer in [1, 3650]"
    assert str(Interval(Real, 0, None, closed="neither")) == "a number > 0"
    assert str(Interval(Real, None, 5)) == "a number ≤ 5"
    assert "scott" in Options({"scott"}) and "Scott" not in Options({"scott"}) and 1 not in Options({"a"})


def test_set_params_stays_pure_and_fit_checks(baltimore):
    model = ShortTermKDE().set_params(bandwidth=-3)  # scikit-learn: no validation in set_params
    assert model.bandwidth == -3
    with pytest.raises(
        ConfigError, match=r"^ShortTermKDE: field 'bandwidth': must be a number in \(0, 10000\], got -3$"
    ):
        model.fit(baltimore.frame, until="2019-01-01", areas=baltimore.areas)
    with pytest.raises(ConfigError, match="field 'theta0'"):
        PredPol(theta0=1.0).fit(baltimore.frame, until="2019-01-01")
    with pytest.raises(ConfigError, match="field 'max_iter'"):
        PredPol(max_iter=True).fit(baltimore.frame, until="2019-01-01")
    with pytest.raises(ConfigError, match="field 'window_days'"):
        PreviousCounts(window_days=0).fit(baltimore.frame, until="2019-01-01")


def test_make_state_checks_before_any_work():
    class Exploding:
        def __getattr__(self, name):
            raise AssertionError("make_state used the data before checking its settings")

    for model in (ShortTermKDE(cell_size=1e-3), PredPol(omega0=0), PreviousCounts(window_days=-1)):
        with pytest.raises(ConfigError):
            model.make_state(Exploding(), np.zeros((1, 1)))


def test_config_check_names_the_model_and_setting():
    with pytest.raises(ConfigError) as err:
        check_model_settings(MODELS, {"ShortTermKDE": {"bandwidth": -3}})
    assert err.value.field == "ShortTermKDE.bandwidth"
    with pytest.raises(ConfigError) as err:
        check_model_settings(GRID_MODELS, {"SEPP": {"sigma_min": 900}})
    assert err.value.field == "SEPP.sigma_min" and "space_cutoff / 3" in err.value.message
    with pytest.raises(ConfigError) as err:
        check_model_settings(MODELS, {"SEPP": {}})  # a grid model is not an area model
    assert err.value.field == "SEPP"
    check_model_settings(GRID_MODELS, {"NaiveKDE": {"bandwidth": "scott"}, "SEPP": {"trigger": "cell"}})


# ------------------------------------------------------------------------------------ time zones


def test_naive_times_keep_the_stated_wall_clock():
    aware = pd.Series(
        pd.to_datetime(["2019-03-10 01:30", "2019-03-10 03:30"]).tz_localize("America/New_York")
    )
    assert list(naive_times(aware)) == [pd.Timestamp("2019-03-10 01:30"), pd.Timestamp("2019-03-10 03:30")]
    mixed = pd.Series(["2019-03-10T01:30:00-05:00", "2019-03-10T03:30:00-04:00", "2019-03-11 08:00"])
    assert list(naive_times(mixed)) == [
        pd.Timestamp("2019-03-10 01:30"),
        pd.Timestamp("2019-03-10 03:30"),
        pd.Timestamp("2019-03-11 08:00"),
    ]
    assert naive_times(pd.Series(["not a time"])).isna().all()


@pytest.mark.parametrize("model", [PredPol(), ShortTermKDE(), PreviousCounts()], ids=type)
def test_area_models_accept_times_with_a_time_zone(baltimore, model):
    f = baltimore.frame[(baltimore.frame.time >= "2018-01-01") & (baltimore.frame.time < "2019-01-01")]
    aware = f.assign(time=f.time.dt.tz_localize("America/New_York", ambiguous="NaT", nonexistent="NaT"))
    ok = aware.time.notna().to_numpy()
    plain = type(model)(**model.get_params()).fit(f[ok], until="2019-01-01", areas=baltimore.areas)
    zoned = type(model)(**model.get_params()).fit(
        aware[ok], until=pd.Timestamp("2019-01-01", tz="America/New_York"), areas=baltimore.areas
    )
    pd.testing.assert_series_equal(zoned.predict(), plain.predict())
    if isinstance(model, PredPol):
        day = pd.Timestamp("2019-01-03", tz="UTC")
        pd.testing.assert_series_equal(zoned.predict(day), plain.predict("2019-01-03"))


def test_grid_models_accept_times_with_a_time_zone():
    from fairpatrol.grid.cells import build_grid
    from fairpatrol.grid.synthetic import square_areas

    grid = build_grid(square_areas(10_000.0), 1000.0)
    rng = np.random.default_rng(0)
    times = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.uniform(0, 30, 200), unit="D")
    ev = pd.DataFrame({"time": times, "x": rng.uniform(0, 10_000, 200), "y": rng.uniform(0, 10_000, 200)})
    plain = NaiveKDE().fit(ev, until="2020-01-31", grid=grid).predict()
    zoned = NaiveKDE().fit(
        ev.assign(time=ev.time.dt.tz_localize("Europe/Berlin")), until="2020-01-31", grid=grid
    )
    pd.testing.assert_series_equal(zoned.predict(), plain)
