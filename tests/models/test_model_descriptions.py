"""Every registered model carries its own card text and explanation (fairpatrol.models.describe), and
each explanation adds up to the model's own forecast."""

from __future__ import annotations

import numpy as np
import pytest

from fairpatrol.grid.models import GRID_MODELS
from fairpatrol.models import MODELS, AreaModel, PredPol, ShortTermKDE
from fairpatrol.models.base import model_registry
from fairpatrol.models.describe import Evidence, ModelDescription
from fairpatrol.sim.prepare import prepare
from fairpatrol.sim.reference import training_frame

ALL = {**MODELS, **GRID_MODELS}


@pytest.mark.parametrize("name", list(ALL))
def test_every_registered_model_has_its_own_complete_description(name):
    cls = ALL[name]
    doc = vars(cls).get("description")  # its own, not a parent's
    assert isinstance(doc, ModelDescription), name
    assert all(isinstance(v, str) and v.strip() for v in (doc.intent, doc.decides, doc.inputs, doc.reference))
    assert doc.limitations and all(item.strip() for item in doc.limitations)


def test_no_two_models_share_a_description():
    intents = [cls.description.intent for cls in ALL.values()]
    assert len(set(intents)) == len(intents)


def test_registry_refuses_a_model_without_its_own_description():
    class WiderKDE(ShortTermKDE):  # inherits ShortTermKDE's card text, which does not describe it
        pass

    with pytest.raises(TypeError, match=r"WiderKDE.*no description of its own"):
        model_registry(PredPol, WiderKDE)


def test_registry_refuses_a_model_without_an_explanation():
    class Silent(AreaModel):  # everything but explain: would once have been "does not learn from incidents"
        description = ModelDescription("a", "b", "c", ("d",), "e")

        def fit(self, incidents, *, until=None, areas=None):
            return self

        def predict(self, day=None):
            raise NotImplementedError

        def make_state(self, data, weights):
            raise NotImplementedError

    with pytest.raises(TypeError, match=r"Silent.*explain"):
        model_registry(Silent)


def test_registry_refuses_two_models_of_one_name():
    with pytest.raises(TypeError, match="two models are named PredPol"):
        model_registry(PredPol, PredPol)


@pytest.fixture(scope="module")
def data(baltimore):
    return prepare(baltimore, "2019-03-01", 2, 365)


@pytest.mark.parametrize(
    ("name", "settings"),
    [*((name, {}) for name in MODELS), ("PredPol", {"forecast": "midnight"})],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={x}" for k, x in v.items()),
)
def test_explanation_parts_add_up_to_the_models_forecast(name, settings, data):
    """For every area model (and PredPol's published midnight forecast): fitted on the year before the
    start, each area's named parts sum to the model's own forecast of that area (the explanation is of
    this model, not a generic constant)."""
    model = MODELS[name](**settings)
    train = training_frame(data, np.where(np.arange(data.n_events) < data.n_history, 1.0, 0.0))
    kwargs = {"observed_from": data.start + data.observed_from * np.timedelta64(1, "D")}
    model.fit(train, until=data.start, areas=data.areas, **(kwargs if isinstance(model, PredPol) else {}))
    forecast = model.predict(data.start).reindex(data.areas.ids).to_numpy(dtype=float)
    window = getattr(model, "window_days", None)
    rows = train if window is None else train.loc[train["time"] >= data.start - np.timedelta64(window, "D")]
    order = np.argsort(-forecast, kind="stable")[:6]
    evidence = Evidence(rows, data.areas.index_of(rows["area_id"]), data.areas, data.start, data.start, 3)
    told = model.explain(evidence, order)
    assert [a.area_id for a in told.areas] == [data.areas.ids[a] for a in order]
    assert set(told.part_labels) == set(told.areas[0].parts)
    assert told.method.strip()
    for area, a in zip(told.areas, order, strict=True):
        assert sum(area.parts.values()) == pytest.approx(forecast[a], rel=1e-6), (name, area.area_id)
        assert len(area.top_incidents) <= 3
