"""The scikit-learn conventions every estimator follows (docs/models.md, "Estimator conventions").

Each registered model (the area models of ``fairpatrol.models.MODELS`` and the grid models of
``fairpatrol.grid.models.GRID_MODELS``) is checked: keyword-only settings, ``clone``-style
reconstruction from ``get_params``, numpydoc ``Attributes`` naming every fitted attribute and an
``Examples`` section, ``NotFittedError`` before ``fit``, ``check_is_fitted``, and a ``ConvergenceWarning``
when an iterative fit stops at ``max_iter``. The examples themselves run as doctests here.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from fairpatrol.errors import ConvergenceWarning, FairpatrolWarning, NotFittedError
from fairpatrol.grid.cells import build_grid
from fairpatrol.grid.models import GRID_MODELS
from fairpatrol.grid.synthetic import simulate_grid_sepp, square_areas
from fairpatrol.models import MODELS

ESTIMATORS = {**MODELS, **GRID_MODELS}
#: Modules whose docstring examples run as doctests (the estimators and the spatial units they use).
DOCTEST_MODULES = [
    "fairpatrol.models.base",
    "fairpatrol.models.baselines",
    "fairpatrol.models.kde",
    "fairpatrol.models.predpol",
    "fairpatrol.grid.models",
    "fairpatrol.grid.cells",
    "fairpatrol.data.areas",
    "fairpatrol.data.area_files",
]


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failures, tried = doctest.testmod(mod, optionflags=flags, verbose=False)
    assert failures == 0
    assert tried > 0, f"{module} has no examples"


@pytest.fixture(scope="module")
def areas():
    areas = square_areas(4_000.0)
    areas.frame["population"] = [1_000.0, 3_000.0]
    return areas


@pytest.fixture(scope="module")
def events():
    """Self-exciting events on a 4 km square (x, y, time) with the area each falls in."""
    ev = simulate_grid_sepp(2.0, 0.3, 0.5, 60, sigma=100.0, seed=3)
    ev = ev[(ev["x"] >= 0) & (ev["x"] < 4_000) & (ev["y"] >= 0) & (ev["y"] < 4_000)].copy()
    ev["area_id"] = np.where(ev["x"] < 2_000, "W", "E")
    return ev.reset_index(drop=True)


def fitted(name, areas, events, **settings):
    model = ESTIMATORS[name](**settings)
    until = events["time"].max().normalize() + pd.Timedelta(days=1)
    if name in GRID_MODELS:
        return model.fit(events, until=until, grid=build_grid(areas, 1_000.0))
    return model.fit(events, until=until, areas=areas)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_settings_are_keyword_only(name):
    params = list(inspect.signature(ESTIMATORS[name].__init__).parameters.values())[1:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), [p.name for p in params]
    if params:
        with pytest.raises(TypeError):
            ESTIMATORS[name](params[0].default)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_get_params_rebuild_an_equal_estimator(name):
    """What sklearn.base.clone does: a new object from get_params has the same settings."""
    model = ESTIMATORS[name]()
    again = type(model)(**model.get_params())
    assert again.get_params() == model.get_params()
    assert repr(again) == repr(model) == f"{name}()"


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_docstring_has_attributes_naming_every_fitted_attribute_and_examples(name, areas, events):
    cls = ESTIMATORS[name]
    doc = inspect.getdoc(cls) or ""
    model = fitted(name, areas, events)
    public = sorted(k for k in vars(model) if k.endswith("_") and not k.startswith("_"))
    assert public, "a fit sets fitted attributes ending in _"
    # the class's own Attributes section, or that of the base class it refers to (e.g. ShortTermKDE)
    docs = doc + "".join(inspect.getdoc(base) or "" for base in cls.__mro__[1:3])
    assert re.search(r"^Attributes\n-{10}", docs, re.M), "no numpydoc Attributes section"
    assert re.search(r"^Examples\n-{8}", docs, re.M), "no numpydoc Examples section"
    undocumented = [a for a in public if not re.search(rf"\b{a}(?![A-Za-z0-9])", docs)]
    assert undocumented == []


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_predict_before_fit_raises_not_fitted(name):
    model = ESTIMATORS[name]()
    assert not model.__sklearn_is_fitted__()
    with pytest.raises(NotFittedError, match=f"This {name} instance is not fitted yet"):
        model.predict()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_sklearn_check_is_fitted(name, areas, events):
    validation = pytest.importorskip("sklearn.utils.validation")
    model = ESTIMATORS[name]()
    with pytest.raises(validation.NotFittedError):
        validation.check_is_fitted(model)
    validation.check_is_fitted(fitted(name, areas, events))


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_is_fitted_after_fit(name, areas, events):
    model = fitted(name, areas, events)
    assert model.__sklearn_is_fitted__()
    assert np.isfinite(model.predict().to_numpy()).all()


@pytest.mark.parametrize(
    "name", [n for n in sorted(ESTIMATORS) if "max_iter" in ESTIMATORS[n]().get_params()]
)
def test_fit_stopped_at_max_iter_warns(name, areas, events):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model = fitted(name, areas, events, max_iter=1, tol=1e-12)
    assert model.converged_ is False and model.n_iter_ == 1
    assert issubclass(ConvergenceWarning, FairpatrolWarning)  # shown as one 'warning:' line by the CLI
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert fitted(name, areas, events).converged_ is True
