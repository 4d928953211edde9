"""Baseline allocations (docs/methods.md, "Models"): uniform, previous counts, population."""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from fairpatrol.errors import DataError
from fairpatrol.models._sparse import SparseRows
from fairpatrol.models.base import AreaModel, Interval, ModelState
from fairpatrol.models.describe import (
    FEEDBACK_LOOP,
    AreaExplanation,
    Evidence,
    ForecastExplanation,
    ModelDescription,
    explain_constant,
)
from fairpatrol.models.window import WindowSumModel

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.sim.prepare import SimData


class ConstantState(ModelState):
    """The same intensities every day for every run."""

    def __init__(self, values: np.ndarray, rows: int) -> None:
        self.values = np.repeat(np.asarray(values, dtype=float)[None, :], rows, axis=0)

    def forecast(self, day: int) -> np.ndarray:
        return self.values.copy()


class ConstantModel(AreaModel):
    """Base of the models whose intensity does not learn from incidents: the same every day."""

    def fit(self, incidents: pd.DataFrame, *, until: Any = None, areas: Areas | None = None) -> Self:
        """Set the intensities from the ``areas`` (default: the incidents' ``area_id`` values, sorted)."""
        self._check()
        if areas is not None:
            self.area_ids_ = np.asarray(areas.ids)
        elif isinstance(incidents, pd.DataFrame) and "area_id" in incidents.columns:
            self.area_ids_ = np.sort(incidents["area_id"].astype(str).unique())
        else:
            name = type(self).__name__
            raise DataError(
                "pass areas= or incidents with an area_id column", source=f"{name}.fit", field="areas"
            )
        self.intensity_ = self._values(areas, len(self.area_ids_))
        return self

    def make_state(self, data: SimData, weights: np.ndarray) -> ModelState:
        self._check()
        return ConstantState(self._values(data.areas, data.n_areas), weights.shape[0])

    @abstractmethod
    def _values(self, areas: Areas | None, n_areas: int) -> np.ndarray:
        """The intensity of each of the ``n_areas`` areas."""

    def explain(self, evidence: Evidence, order: np.ndarray) -> ForecastExplanation:
        return explain_constant(self, evidence, order)


class Uniform(ConstantModel):
    """Every area gets the same intensity: patrols spread evenly, whatever the data say.

    Takes no settings.

    Attributes
    ----------
    intensity_ : ndarray of shape (n_areas,)
        1 for every area.
    area_ids_ : ndarray of str
        The areas, in the order of ``intensity_``.

    Examples
    --------
    >>> import pandas as pd
    >>> incidents = pd.DataFrame({"time": ["2020-01-01", "2020-01-02"], "area_id": ["B", "A"]})
    >>> Uniform().fit(incidents).predict().to_dict()
    {'A': 1.0, 'B': 1.0}
    """

    description = ModelDescription(
        intent="Baseline: the same patrol level everywhere.",
        decides="Every area has the same weight, whatever the data say.",
        inputs="None.",
        limitations=("Ignores where crime happens, so it detects little where crime is concentrated.",),
        reference="Baseline (docs/methods.md, 'Models').",
    )

    def __init__(self) -> None:
        pass

    def _values(self, areas: Areas | None, n_areas: int) -> np.ndarray:
        return np.ones(n_areas)


class Population(ConstantModel):
    """Intensity proportional to resident population (a column of the areas).

    Parameters
    ----------
    column : str, default "population"
        The areas' column holding each area's residents.

    Attributes
    ----------
    intensity_ : ndarray of shape (n_areas,)
        The areas' ``column``.
    area_ids_ : ndarray of str
        The areas, in the order of ``intensity_``.

    Examples
    --------
    >>> from fairpatrol.grid.synthetic import square_areas
    >>> areas = square_areas()
    >>> areas.frame["population"] = [1_000, 3_000]
    >>> Population().fit(None, areas=areas).predict().to_dict()
    {'W': 1000.0, 'E': 3000.0}
    """

    description = ModelDescription(
        intent="Baseline: patrols in proportion to resident population.",
        decides="Forecast = the area's population (Census).",
        inputs="Population of each area.",
        limitations=("Ignores crime; the Census year may be old.",),
        reference="Baseline (docs/methods.md, 'Models').",
    )

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"column": [str]}

    def __init__(self, *, column: str = "population") -> None:
        self.column = column

    def _values(self, areas: Areas | None, n_areas: int) -> np.ndarray:
        if areas is None or self.column not in areas.frame.columns:
            raise DataError(f"areas have no '{self.column}' column", source="Population", field="column")
        return areas.frame[self.column].to_numpy(dtype=float)


class PreviousCounts(WindowSumModel):
    """Intensity = the area's training incidents in the last ``window_days`` days, per day.

    Parameters
    ----------
    window_days : int, default 30
        Training window in days.

    Attributes
    ----------
    intensity_ : ndarray of shape (n_areas,)
        Incidents per area per day in the window (weighted by ``sample_weight``), in the order of
        ``area_ids_`` (ndarray of str).
    until_, n_events_ : pandas.Timestamp, int
        The end of the training window (exclusive) and the number of incidents in it.

    Examples
    --------
    >>> import pandas as pd
    >>> incidents = pd.DataFrame({"time": ["2020-01-01", "2020-01-05", "2020-01-06"],
    ...                           "area_id": ["A", "A", "B"]})
    >>> PreviousCounts(window_days=10).fit(incidents, until="2020-01-11").predict().to_dict()
    {'A': 0.2, 'B': 0.1}
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"window_days": [Interval(Integral, 1, 3650)]}

    def __init__(self, *, window_days: int = 30) -> None:
        self.window_days = window_days

    def _window_sum(
        self, rows: pd.DataFrame, idx: np.ndarray, w: np.ndarray, areas: Areas | None
    ) -> np.ndarray:
        return np.bincount(idx, weights=w, minlength=len(self.area_ids_))

    def _event_rows(self, data: SimData) -> SparseRows:
        return SparseRows.one_hot(data.area, data.n_areas)

    description = ModelDescription(
        intent="Baseline: patrols in proportion to each area's recent recorded incidents.",
        decides="Forecast = the area's recorded incidents in the window, per day.",
        inputs="Area of each recorded incident in the window.",
        limitations=(FEEDBACK_LOOP, "No smoothing: areas with no recent record get no patrols."),
        reference="Baseline (docs/methods.md, 'Models').",
    )

    def explain(self, evidence: Evidence, order: np.ndarray) -> ForecastExplanation:
        """Forecast of area n = its learned incidents in the last W days / W."""
        w = self.window_days
        explained = []
        for a in order:
            own = evidence.area_idx == a
            explained.append(
                AreaExplanation(evidence.areas.ids[a], 0.0, 0, {"window": own.sum() / w}, int(own.sum()))
            )
        method = f"Forecast = the area's learned incidents in the last {w} days / {w}."
        return ForecastExplanation(method, {"window": "recent incidents"}, {"window (days)": w}, explained)
