"""The engine's hooks (fairpatrol.sim.effects): every setting of the world, the remedies and the engine's
compat switches is one effect, off by default, and an effect is built only when its setting is on."""

from __future__ import annotations

import pytest

from fairpatrol.config import CompatConfig, RemedyConfig, WorldConfig
from fairpatrol.models import LongTermKDE, PredPol, ShortTermKDE
from fairpatrol.sim.compat import COMPAT_EFFECTS, KDESampling, LongTermLeak, RelativeDetection, SharedReports
from fairpatrol.sim.effects import (
    WORLD_EFFECTS,
    Deterrence,
    Displacement,
    Effect,
    FeedbackCorrection,
    PatrolCap,
    PreventionUnits,
    ReportDelay,
    Setup,
    overriding,
)
from fairpatrol.sim.engine import RunSpec, build_effects
from fairpatrol.sim.prepare import prepare, with_shadows


@pytest.fixture(scope="module")
def data(baltimore):
    return prepare(baltimore, "2019-03-01", 3, 365)


def kinds(setup: Setup) -> list[type[Effect]]:
    return [type(e) for e in build_effects(setup)]


def test_default_settings_build_no_effect(data):
    """The default world runs the plain loop: no hook is called."""
    setup = Setup(
        LongTermKDE(), data, [RunSpec(run=0, n_officers=40, report_prob=0.4)], WorldConfig(), CompatConfig()
    )
    assert kinds(setup) == []


@pytest.mark.parametrize(
    ("world", "effect"),
    [
        ({"deterrence_elasticity": 0.3}, Deterrence),
        ({"report_delay_days": 2}, ReportDelay),
    ],
)
def test_each_world_setting_is_one_effect(data, world, effect):
    setup = Setup(
        PredPol(),
        data,
        [RunSpec(run=0, n_officers=40, report_prob=0.4)],
        WorldConfig(**world),
        CompatConfig(),
    )
    assert kinds(setup) == [effect]


def test_displacement_is_active_whenever_the_data_hold_displaced_copies(data):
    shadowed = with_shadows(data, 1)
    setup = Setup(
        PredPol(),
        shadowed,
        [RunSpec(run=0, n_officers=40, report_prob=0.4)],
        WorldConfig(displacement=0.5),
        CompatConfig(),
    )
    assert kinds(setup) == [Displacement]
    off = Setup(
        PredPol(), shadowed, [RunSpec(run=0, n_officers=40, report_prob=0.4)], WorldConfig(), CompatConfig()
    )
    assert kinds(off) == [Displacement]  # with a share of 0 it keeps the copies from happening
    with pytest.raises(ValueError, match="with_shadows"):
        build_effects(
            Setup(
                PredPol(),
                data,
                [RunSpec(run=0, n_officers=40, report_prob=0.4)],
                WorldConfig(displacement=0.5),
                CompatConfig(),
            )
        )


@pytest.mark.parametrize(
    ("run", "effect"),
    [
        (RunSpec(run=1, n_officers=40, report_prob=0.4, remedy=RemedyConfig(ipw=True)), FeedbackCorrection),
        (RunSpec(run=1, n_officers=40, report_prob=0.4, remedy=RemedyConfig(pcr_cap=1.5)), PatrolCap),
        (RunSpec(run=1, n_officers=20, report_prob=0.4, prevention_units=20), PreventionUnits),
    ],
)
def test_each_remedy_is_one_effect_built_when_any_run_has_it(data, run, effect):
    setup = Setup(
        PredPol(), data, [RunSpec(run=0, n_officers=40, report_prob=0.4), run], WorldConfig(), CompatConfig()
    )
    assert kinds(setup) == [effect]


@pytest.mark.parametrize(
    ("model", "switches", "effects"),
    [
        (PredPol(), {"relative_detection": True}, [RelativeDetection]),
        (PredPol(), {"shared_reports": True}, [SharedReports]),
        (ShortTermKDE(), {"kde_sampling": True}, [KDESampling]),
        (PredPol(), {"kde_sampling": True}, []),  # the sampler replaces KDE models' allocation only
        (LongTermKDE(), {"long_term_leak": True}, [LongTermLeak]),
        (ShortTermKDE(), {"long_term_leak": True}, []),  # the leak is the long-term KDE's (≥ 365 days)
        (LongTermKDE(), {"long_term_leak": True, "kde_sampling": True}, [KDESampling]),  # it leaks itself
        (PredPol(), {"run_averaged_metrics": True}, []),  # a metrics switch, not the engine's
    ],
)
def test_each_engine_compat_switch_is_one_effect(data, model, switches, effects):
    setup = Setup(
        model, data, [RunSpec(run=0, n_officers=40, report_prob=0.4)], WorldConfig(), CompatConfig(**switches)
    )
    assert kinds(setup) == effects


def test_every_engine_switch_of_compat_has_its_effect(data):
    """Each world switch of CompatConfig turns on an effect for some model; the metrics switch none."""
    engine = set(CompatConfig().engine_switches()) - {"run_averaged_metrics"}
    for switch in engine:
        on = CompatConfig(**{switch: True})
        built = {
            type(e)
            for m in (PredPol(), LongTermKDE())
            for e in build_effects(
                Setup(m, data, [RunSpec(run=0, n_officers=40, report_prob=0.4)], WorldConfig(), on)
            )
        }
        assert len(built) == 1 and built <= set(COMPAT_EFFECTS), switch
    assert len(engine) == len(COMPAT_EFFECTS)


def test_effects_override_only_hooks_and_registries_hold_each_once():
    registered = [*COMPAT_EFFECTS, *WORLD_EFFECTS]
    assert len(set(registered)) == len(registered)
    hooks = ("start", "allocate", "allocated", "happen", "detect", "learn", "end")
    for cls in registered:
        assert cls.build is not Effect.build, cls
        own = {name for name in vars(cls) if not name.startswith("_")} - {"build"}
        assert own <= set(hooks), (cls, own - set(hooks))  # no other entry point into the engine
    both = [Deterrence(0.3), ReportDelay(2)]
    assert [type(e) for e in overriding(both, "happen")] == [Deterrence]
    assert [type(e) for e in overriding(both, "end")] == [ReportDelay]
    assert overriding(both, "detect") == []


def test_a_new_effect_is_one_class_in_the_registry(data, monkeypatch):
    """An effect written against the hooks alone changes the simulation as it says, and nothing else: here
    no crime happens on day 0 (so none is detected or learned), every later day is unchanged."""
    import numpy as np

    from fairpatrol.sim import effects
    from fairpatrol.sim.engine import simulate

    class QuietFirstDay(Effect):
        @classmethod
        def build(cls, setup):
            return cls()

        def happen(self, batch, day):
            if day.day == 0:
                day.real = np.zeros((len(batch.runs), day.hi - day.lo), dtype=bool)

    runs = [RunSpec(run=0, n_officers=40, report_prob=0.4), RunSpec(run=1, n_officers=400, report_prob=0.4)]
    plain = simulate(PredPol(), data, runs, seed=4)
    monkeypatch.setattr(effects, "WORLD_EFFECTS", (*effects.WORLD_EFFECTS, QuietFirstDay))
    quiet = simulate(PredPol(), data, runs, seed=4)
    assert plain.crimes[:, 0].sum() > 0 and quiet.crimes[:, 0].sum() == 0
    assert quiet.detected[:, 0].sum() == 0 and quiet.reported[:, 0].sum() == 0
    np.testing.assert_array_equal(quiet.officers[:, 0], plain.officers[:, 0])  # day 0's patrols: before it
    lo, hi = data.day_slice(0)
    assert not (quiet.weights[:, lo:hi] > 0).any() and (plain.weights[:, lo:hi] > 0).any()
    np.testing.assert_array_equal(quiet.crimes[:, 1:], plain.crimes[:, 1:])  # the replayed truth after
