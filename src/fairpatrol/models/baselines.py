"""Baseline allocations (docs/methods.md, "Models"): uniform, previous counts, population."""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from fairpatrol.errors import DataError
from fairpatrol.models._sparse import SparseRows
from fairpatrol.models.base import AreaModel, Interval, ModelState
from fairpatrol.models.window import WindowSumState

if TYPE_CHECKING:
    from fairpatrol.data import Areas
    from fairpatrol.sim.prepare import SimData


class ConstantState(ModelState):
    """The same intensities every day for every run."""

    def __init__(self, values: np.ndarray, rows: int) -> None:
        self.values = np.repeat(np.asarray(values, dtype=float)[None, :], rows, axis=0)

    def forecast(self, day: int) -> np.ndarray:
        return self.values.copy()


class Uniform(AreaModel):
    """Every area gets the same intensity: patrols spread evenly, whatever the data say."""

    def __init__(self) -> None:
        pass

    def fit(self, incidents: pd.DataFrame, *, until: Any = None, areas: Areas | None = None) -> Self:
        self.area_ids_ = (
            np.asarray(areas.ids) if areas is not None else np.sort(incidents["area_id"].astype(str).unique())
        )
        return self

    def predict(self, day: Any = None) -> pd.Series:
        return self._series(np.ones(len(self.area_ids_)))

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        return ConstantState(np.ones(data.n_areas), weights.shape[0])


class Population(AreaModel):
    """Intensity proportional to resident population (``population`` column of the areas)."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"column": [str]}

    def __init__(self, column: str = "population") -> None:
        self.column = column

    def _values(self, areas: Areas | None) -> np.ndarray:
        if areas is None or self.column not in areas.frame.columns:
            raise DataError(f"areas have no '{self.column}' column", source="Population", field="column")
        return areas.frame[self.column].to_numpy(dtype=float)

    def fit(self, incidents: pd.DataFrame, *, until: Any = None, areas: Areas | None = None) -> Self:
        self._check()
        self.intensity_ = self._values(areas)
        assert areas is not None  # _values refused None
        self.area_ids_ = np.asarray(areas.ids)
        return self

    def predict(self, day: Any = None) -> pd.Series:
        return self._series(self.intensity_.copy())

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        self._check()
        return ConstantState(self._values(data.areas), weights.shape[0])


class PreviousCounts(AreaModel):
    """Intensity = the area's training incidents in the last ``window_days`` days, per day."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"window_days": [Interval(Integral, 1, 3650)]}

    def __init__(self, window_days: int = 30) -> None:
        self.window_days = window_days

    def fit(
        self,
        incidents: pd.DataFrame,
        *,
        until: Any = None,
        areas: Areas | None = None,
        sample_weight: Any = None,
    ) -> Self:
        self._check()
        _, until, ids, idx, w = self._prepare_fit(incidents, until, areas, self.window_days, sample_weight)
        self.area_ids_ = ids
        self.until_ = until
        self.intensity_ = np.bincount(idx, weights=w, minlength=len(ids)) / self.window_days
        return self

    def predict(self, day: Any = None) -> pd.Series:
        return self._series(self.intensity_.copy())

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        self._check()
        rows = SparseRows.one_hot(data.area, data.n_areas)
        return WindowSumState(data, weights, int(self.window_days), rows)
