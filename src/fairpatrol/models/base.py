"""Shared estimator conventions of the area and grid models, after scikit-learn's (docs/models.md).

Settings are keyword-only arguments of ``__init__``, which only stores them; ``fit`` returns ``self``;
fitted attributes end in ``_``; ``predict`` before ``fit`` raises :class:`~fairpatrol.errors.NotFittedError`
(so does ``sklearn.utils.validation.check_is_fitted``); an iterative fit stopped at ``max_iter`` warns with
:class:`~fairpatrol.errors.ConvergenceWarning`; ``get_params``/``set_params``/``clone`` behave as in
scikit-learn, so models can be put in sweeps and configs by name and keyword arguments. Every estimator's
docstring has numpydoc ``Parameters``, ``Attributes`` and ``Examples`` sections, and the examples run as
doctests in the test suite.

Settings are checked against a declarative table per estimator, ``_parameter_constraints``, in the manner
of scikit-learn (``sklearn/utils/_param_validation.py``): each setting lists the values it may take
(:class:`Interval`, :class:`Options`, ``"boolean"``, ``None``). The same table is checked by ``fit`` and
``make_state`` (:meth:`Estimator._check`) and by the config validators (:func:`check_model_settings`), so a
bad value in a scenario, sweep or evaluation file fails when the file is read, naming e.g.
``models.ShortTermKDE.bandwidth``.

Every model answers the same question (docs/methods.md, "Models"): trained on incidents strictly before day
``until``, ``predict()`` returns the expected number of incidents per area on the day starting at ``until``.
Each model also provides ``make_state``: the incremental, batched form of the same computation used by the
simulation engine for many runs at once (``fairpatrol.sim``); the two are tested against each other.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import numpy as np
import pandas as pd

from fairpatrol.errors import ConfigError, DataError, NotFittedError
from fairpatrol.models.describe import Evidence, ForecastExplanation, ModelDescription

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.sim.prepare import SimData

DAY = pd.Timedelta(days=1)


class ModelState(ABC):
    """Batched, incremental model state for R simulated runs (rows) advancing together day by day.

    ``weights`` (R × E over the truth events of :class:`~fairpatrol.sim.prepare.SimData`) is owned by the
    engine: row r has learned event j iff ``weights[r, j] > 0`` (history, detected or reported), with that
    weight (1, or an inverse learning probability under feedback-corrected learning).
    """

    @abstractmethod
    def forecast(self, day: int) -> np.ndarray:
        """Intensities (R × M) for simulated day ``day``, from training events of earlier days."""

    def learn(self, day: int, lo: int, hi: int, new: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Rows learn the events ``lo:hi`` of ``day`` marked in ``new`` (R × (hi − lo) booleans).

        The default learns nothing (constant models); models whose state is incremental override it.
        """

    def diagnostics(self) -> dict[str, np.ndarray]:
        """Per-row values of the last forecast worth recording (e.g. fitted parameters)."""
        return {}


class Interval:
    """Numbers of one kind (``Integral`` or ``Real``) between ``left`` and ``right`` (None: unbounded).

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``. Booleans are not numbers here and
    non-finite values are never inside, as in scikit-learn's ``Interval``.
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed: str = "both") -> None:
        if kind not in (Integral, Real):
            raise ValueError("kind must be numbers.Integral or numbers.Real")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be both, left, right or neither, got {closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool | np.bool_) or not isinstance(value, self.kind):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        if self.left is not None:
            if number < self.left or (number == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if number > self.right or (number == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        what = "an integer" if self.kind is Integral else "a number"
        lo, hi = self.left, self.right
        if lo is not None and hi is not None:
            a = "[" if self.closed in ("both", "left") else "("
            b = "]" if self.closed in ("both", "right") else ")"
            return f"{what} in {a}{lo:g}, {hi:g}{b}"
        if lo is not None:
            return f"{what} {'≥' if self.closed in ('both', 'left') else '>'} {lo:g}"
        if hi is not None:
            return f"{what} {'≤' if self.closed in ('both', 'right') else '<'} {hi:g}"
        return what


class Options:
    """One of a fixed set of values (strings, e.g. ``Options({"gaussian", "cell"})``)."""

    def __init__(self, values: set[Any]) -> None:
        self.values = set(values)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return " or ".join(repr(v) for v in sorted(self.values))


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "inf":
        return isinstance(value, float | np.floating) and value == math.inf
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint is str:
        return isinstance(value, str)
    return value in constraint


def _describe(constraint: Any) -> str:
    names = {None: "None", "boolean": "true or false", str: "a string", "inf": "inf (.inf in YAML)"}
    return names.get(constraint) or str(constraint)


class Estimator:
    """scikit-learn parameter handling: settings are the ``__init__`` arguments, stored unchanged.

    ``_parameter_constraints`` maps every setting to the list of what it may be (any one of them):
    an :class:`Interval`, :class:`Options`, ``"boolean"``, ``"inf"`` (positive infinity), ``str`` or ``None``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    #: The fixed text of the model's card: each registered model defines its own (:func:`model_registry`).
    description: ClassVar[ModelDescription]
    #: Fitted state every estimator sets in ``fit`` (declared for the type checker; not set before ``fit``).
    until_: pd.Timestamp
    intensity_: np.ndarray

    def _check(self) -> None:
        """Raise a :class:`~fairpatrol.errors.ConfigError` naming the first setting outside its constraints.

        Called by ``fit`` and ``make_state``; subclasses add checks that involve several settings.
        """
        for name, value in self.get_params().items():
            allowed = self._parameter_constraints.get(name)
            if allowed is None or any(_satisfies(value, c) for c in allowed):
                continue
            raise ConfigError(
                f"must be {' or '.join(_describe(c) for c in allowed)}, got {value!r}",
                source=type(self).__name__,
                field=name,
            )

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter '{key}' (valid: {sorted(valid)})")
            setattr(self, key, value)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Whether ``fit`` has run: the object has a fitted attribute (a name ending in ``_``), the rule of
        ``sklearn.utils.validation.check_is_fitted``."""
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (needed by its ``check_is_fitted`` from version 1.6): an estimator
        that requires ``fit`` and no target. Only scikit-learn calls this, so importing it here is safe."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False), requires_fit=True)

    def _check_is_fitted(self) -> None:
        """Raise :class:`~fairpatrol.errors.NotFittedError` unless ``fit`` has run."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator."
            )

    def _days_after_fit(self, day: Any) -> float:
        """Days from the end of the training window (``until_``) to ``day`` (default: ``until_``); an error
        for a day inside the training window. Checks that the model is fitted."""
        self._check_is_fitted()
        day = self.until_ if day is None else naive_timestamp(day)
        offset = (day - self.until_) / DAY
        if offset < 0:
            raise ValueError(
                f"cannot predict {day:%Y-%m-%d}: the model was trained up to {self.until_:%Y-%m-%d}"
            )
        return float(offset)

    def predict(self, day: Any = None) -> pd.Series:
        """Expected incidents per area (or cell) per day: the fitted ``intensity_``, the same for any day
        after ``until`` (a window average or a constant; self-exciting models override this)."""
        self._check_is_fitted()
        return self._series(self.intensity_.copy())

    def _series(self, values: np.ndarray) -> pd.Series:
        raise NotImplementedError  # the area and grid bases index by area_id or cell_id

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        args = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not (k in defaults and defaults[k] == v)
        ]
        return f"{type(self).__name__}({', '.join(args)})"


def check_model_names(registry: dict[str, Any], names: list[str], *, kind: str = "algorithm") -> None:
    """The ``algorithms`` list of a config: every name registered, none twice (ValueError otherwise; the
    config names the field)."""
    for name in names:
        if name not in registry:
            raise ValueError(f"unknown {kind} {name!r} (known: {', '.join(registry)})")
    if len(set(names)) != len(names):
        raise ValueError(f"{kind}s are listed twice")


def check_model_settings(registry: Mapping[str, type[Estimator]], settings: dict[str, Any]) -> None:
    """Check the ``models`` section of a config: known model names, known settings, allowed values.

    The one validation path of model settings for scenario, sweep and evaluation files; raises a
    :class:`~fairpatrol.errors.ConfigError` whose field is ``Model.setting`` (the config adds its own
    prefix, e.g. ``models.ShortTermKDE.bandwidth``).
    """
    for name, params in settings.items():
        if name not in registry:
            raise ConfigError(f"unknown algorithm (known: {', '.join(registry)})", field=name)
        if not isinstance(params, dict):
            raise ConfigError("expected a mapping of setting names to values", field=name)
        cls = registry[name]
        allowed = cls._param_names()
        for key in params:
            if key not in allowed:
                raise ConfigError(
                    f"unknown setting (allowed: {', '.join(allowed) or 'none'})", field=f"{name}.{key}"
                )
        try:
            cls(**params)._check()
        except ConfigError as err:
            raise ConfigError(err.message, field=f"{name}.{err.field}" if err.field else name) from None


def naive_times(values: Any) -> pd.Series:
    """Times as naive timestamps; unparseable values become NaT.

    Times with a time zone or a UTC offset are taken as the local wall-clock time they state (the
    offset is dropped, not converted), so that days are the city's days whatever zone the export used
    (docs/errors.md). Mixed offsets in one column (summer and winter time) are handled the same way.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_localize(None)
    try:
        times = pd.to_datetime(series, errors="coerce")
    except (TypeError, ValueError):  # mixed offsets (pandas ≥ 2.2 refuses them) or aware/naive mixes
        times = None
    if times is None or times.dtype == object:
        stamps = [_wall_clock(v) for v in series]
        times = pd.to_datetime(pd.Series(stamps, index=series.index), errors="coerce")
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_localize(None)
    return times


def _wall_clock(value: Any) -> Any:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return pd.NaT
    return ts.tz_localize(None) if ts is not pd.NaT and ts.tzinfo is not None else ts


def naive_timestamp(value: Any) -> pd.Timestamp:
    """One time as a naive timestamp (a time zone is dropped as in :func:`naive_times`)."""
    ts = pd.Timestamp(value)
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


#: A kind of model (area or grid) in a registry.
E = TypeVar("E", bound=Estimator)


def training_window(
    incidents: pd.DataFrame,
    until: Any,
    window_days: float | None,
    *,
    required: list[str],
    source: str,
) -> tuple[pd.DataFrame, pd.Timestamp, pd.Series, np.ndarray]:
    """The one validation of a model's training incidents, shared by the area and grid models.

    Checks that ``incidents`` is a DataFrame with the ``required`` columns and parseable times (a one-line
    :class:`~fairpatrol.errors.DataError` naming ``source``, the column and the row otherwise); ``until``
    defaults to the day after the last incident. Returns the rows of the training window
    [until − window_days, until) (every row before ``until`` when ``window_days`` is None), ``until`` as a
    naive timestamp, the rows' times and the boolean mask of the window over ``incidents``; an error when
    the window is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> incidents = pd.DataFrame({"time": ["2020-01-01", "2020-01-20", "2020-01-30"], "area_id": "A"})
    >>> rows, until, times, mask = training_window(incidents, None, 14, required=["time"], source="Model")
    >>> str(until.date()), mask.tolist()
    ('2020-01-31', [False, True, True])
    >>> training_window(incidents, "2020-01-10", 7, required=["time", "x"], source="Model")
    Traceback (most recent call last):
    ...
    fairpatrol.errors.DataError: Model.fit: field 'x': incidents lack column(s) ['x']; found [...]
    """
    where = f"{source}.fit"
    if not isinstance(incidents, pd.DataFrame):
        raise DataError("expected a pandas DataFrame of incidents", source=where)
    missing = [c for c in required if c not in incidents.columns]
    if missing:
        raise DataError(
            f"incidents lack column(s) {missing}; found {list(incidents.columns)}",
            source=where,
            field=missing[0],
        )
    times = naive_times(incidents["time"])
    if times.isna().any():
        row = int(np.flatnonzero(times.isna().to_numpy())[0]) + 1
        raise DataError("missing or unparseable time", source=where, field="time", row=row)
    if until is None:
        if len(times) == 0:
            raise DataError("no incidents to fit", source=where)
        until = times.max().normalize() + DAY
    until = naive_timestamp(until)
    mask = (times < until).to_numpy().copy()
    if window_days is not None:
        begin = until - pd.Timedelta(days=float(window_days))
        mask &= (times >= begin).to_numpy()
    if not mask.any():
        span = f"before {until:%Y-%m-%d}"
        if window_days is not None:
            span = f"between {begin:%Y-%m-%d} and {until:%Y-%m-%d}"
        raise DataError(f"empty training window: no incidents {span}", source=where, field="time")
    return incidents.loc[mask], until, times[mask], mask


class AreaModel(Estimator, ABC):
    """Base class: parameter handling and the common fit/predict input checks.

    A concrete model also says what it is (``description``, its model card's fixed text) and how its
    forecast is taken apart (:meth:`explain`); :func:`model_registry` refuses a model without its own
    description (:mod:`fairpatrol.models.describe`).
    """

    #: True when the model needs incident coordinates (x, y) as well as area ids.
    needs_coordinates = False
    area_ids_: np.ndarray
    #: Per-run, per-day values the model's simulation state reports (columns of metrics.parquet).
    diagnostic_columns: tuple[str, ...] = ()

    # -- shared input handling -------------------------------------------------------------------------
    def _prepare_fit(
        self,
        incidents: pd.DataFrame,
        until: Any,
        areas: Areas | None,
        window_days: float | None,
        sample_weight: Any = None,
    ) -> tuple[pd.DataFrame, pd.Timestamp, np.ndarray, np.ndarray, np.ndarray]:
        """Validate the input; return (window rows, until, area ids, area index and weight of each row).

        Weights come from ``sample_weight`` (aligned with ``incidents``), else from an optional ``weight``
        column (docs/methods.md, "Models"), else 1; they must be finite and non-negative.
        """
        name = type(self).__name__
        required = ["time", "area_id"] + (["x", "y"] if self.needs_coordinates else [])
        rows, until, _, mask = training_window(incidents, until, window_days, required=required, source=name)
        if areas is not None:
            ids = np.asarray(areas.ids)
        else:
            ids = np.sort(incidents["area_id"].astype(str).unique())
        if sample_weight is None and "weight" in incidents.columns:
            sample_weight = incidents["weight"]
        weight = np.ones(len(incidents)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weight.shape != (len(incidents),) or not np.isfinite(weight).all() or (weight < 0).any():
            raise DataError(
                "sample weights must be one finite, non-negative number per incident",
                source=f"{name}.fit",
                field="weight",
            )
        lookup = pd.Index(ids)
        idx = lookup.get_indexer(rows["area_id"].astype(str))
        if (idx < 0).any():
            bad = rows["area_id"].astype(str).to_numpy()[idx < 0]
            raise DataError(
                f"unknown area id(s) {sorted(set(bad))[:5]}", source=f"{name}.fit", field="area_id"
            )
        return rows, until, ids, idx.astype(np.int64), weight[mask]

    def _series(self, values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=pd.Index(self.area_ids_, name="area_id"), name="intensity")

    @abstractmethod
    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        """The incremental batched form used by the simulation engine."""

    @abstractmethod
    def explain(self, evidence: Evidence, order: np.ndarray) -> ForecastExplanation:
        """The fitted forecast for the day starting at ``evidence.until`` of each area in ``order``, split
        into named additive parts (docs/report.md, "Explanations and calibration: replaying one run")."""


def days_since(times: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Times as float days since ``origin`` (the unit of every model's rates)."""
    return ((naive_times(times) - naive_timestamp(origin)) / DAY).to_numpy(dtype=np.float64)


def model_registry(*classes: type[E]) -> dict[str, type[E]]:
    """Models by their class name (the name used in config files and outputs), checked: each must be
    concrete (every abstract method, :meth:`AreaModel.explain` included, implemented) and define its own
    ``description`` (:class:`~fairpatrol.models.describe.ModelDescription`), not inherit its parent's.

    Raises TypeError at import time, so that a model cannot be registered without what its card and its
    explanation say.
    """
    out: dict[str, type[E]] = {}
    for cls in classes:
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
            raise TypeError(f"{cls.__name__} cannot be registered: it does not implement {missing}")
        if not isinstance(vars(cls).get("description"), ModelDescription):
            raise TypeError(
                f"{cls.__name__} cannot be registered: it has no description of its own "
                "(description = ModelDescription(...), fairpatrol.models.describe)"
            )
        if cls.__name__ in out:
            raise TypeError(f"two models are named {cls.__name__}")
        out[cls.__name__] = cls
    return out
