"""Shared estimator conventions of the area models (scikit-learn style).

Settings live in ``__init__`` and are stored unchanged; ``fit`` returns ``self``; fitted attributes end in
``_``; ``get_params``/``set_params``/``clone`` behave as in scikit-learn, so models can be put in sweeps and
configs by name and keyword arguments.

Every model answers the same question (SPEC §3): trained on incidents strictly before day ``until``,
``predict()`` returns the expected number of incidents per area on the day starting at ``until``.
Each model also provides ``make_state``: the incremental, batched form of the same computation used by the
simulation engine for many runs at once (``fairpatrol.sim``); the two are tested against each other.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from fairpatrol.errors import DataError

if TYPE_CHECKING:
    from fairpatrol.data import Areas
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


class Estimator:
    """scikit-learn parameter handling: settings are the ``__init__`` arguments, stored unchanged."""

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

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        args = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not (k in defaults and defaults[k] == v)
        ]
        return f"{type(self).__name__}({', '.join(args)})"


class AreaModel(Estimator, ABC):
    """Base class: parameter handling and the common fit/predict input checks."""

    #: True when the model needs incident coordinates (x, y) as well as area ids.
    needs_coordinates = False
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
        column (SPEC §2), else 1; they must be finite and non-negative.
        """
        required = ["time", "area_id"] + (["x", "y"] if self.needs_coordinates else [])
        if not isinstance(incidents, pd.DataFrame):
            raise DataError("expected a pandas DataFrame of incidents", source=type(self).__name__)
        missing = [c for c in required if c not in incidents.columns]
        if missing:
            raise DataError(
                f"incidents lack column(s) {missing}; found {list(incidents.columns)}",
                source=f"{type(self).__name__}.fit",
                field=missing[0],
            )
        times = pd.to_datetime(incidents["time"], errors="coerce")
        if times.isna().any():
            row = int(np.flatnonzero(times.isna().to_numpy())[0]) + 1
            raise DataError(
                "missing or unparseable time", source=f"{type(self).__name__}.fit", field="time", row=row
            )
        if until is None:
            if len(times) == 0:
                raise DataError("no incidents to fit", source=f"{type(self).__name__}.fit")
            until = times.max().normalize() + DAY
        until = pd.Timestamp(until)
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
                source=f"{type(self).__name__}.fit",
                field="weight",
            )
        mask = (times < until).to_numpy().copy()
        if window_days is not None:
            mask &= (times >= until - pd.Timedelta(days=window_days)).to_numpy()
        rows = incidents.loc[mask]
        lookup = pd.Index(ids)
        idx = lookup.get_indexer(rows["area_id"].astype(str))
        if (idx < 0).any():
            bad = rows["area_id"].astype(str).to_numpy()[idx < 0]
            raise DataError(
                f"unknown area id(s) {sorted(set(bad))[:5]}",
                source=f"{type(self).__name__}.fit",
                field="area_id",
            )
        if len(rows) == 0:
            start = (
                ""
                if window_days is None
                else f" between {until - pd.Timedelta(days=window_days):%Y-%m-%d} and"
            )
            raise DataError(
                f"empty training window: no incidents{start} before {until:%Y-%m-%d}",
                source=f"{type(self).__name__}.fit",
                field="time",
            )
        return rows, until, ids, idx.astype(np.int64), weight[mask]

    def _series(self, values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=pd.Index(self.area_ids_, name="area_id"), name="intensity")

    @abstractmethod
    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        """The incremental batched form used by the simulation engine."""


def days_since(times: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Times as float days since ``origin`` (the unit of every model's rates)."""
    return ((pd.to_datetime(times) - origin) / DAY).to_numpy(dtype=np.float64)
