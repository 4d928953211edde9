"""What a model says about itself: its model-card text and how its forecast is taken apart.

Every registered model carries both (:func:`fairpatrol.models.base.model_registry` refuses one that does
not), so that the report never describes a model in words that belong to another:

* ``description`` (a :class:`ModelDescription`, a class attribute): the fixed part of its model card
  (Mitchell et al. 2019, "Model Cards for Model Reporting", FAT* '19, doi:10.1145/3287560.3287596):
  intent, how it decides, inputs, known limitations, reference.
* ``explain(evidence, order)`` (area models): a fitted model's forecast of one day split into named
  additive parts per area, with the past incidents that contributed most (docs/report.md, "Why these
  areas").

This module is a leaf: plain records and two helpers, no model and no report code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas


@dataclass(frozen=True)
class ModelDescription:
    """The fixed description of an algorithm (the method, not its results) shown on its model card."""

    intent: str
    decides: str
    inputs: str
    limitations: tuple[str, ...]
    reference: str


#: The limitation every model that learns from recorded incidents shares.
FEEDBACK_LOOP = (
    "Learns from the incidents police record, which depend on where police were sent: areas that receive "
    "patrols produce more records and then more patrols (the feedback loop this study measures)."
)


@dataclass
class Contribution:
    """One past incident's share of an area's forecast."""

    date: str
    area_id: str
    value: float
    learned_as: str  # 'history' (before the start) or 'found' (detected or reported during the run)


@dataclass
class AreaExplanation:
    """One area's forecast taken apart: named additive ``parts`` and the incidents that weighed most.

    ``intensity`` and ``officers`` are the engine's forecast and allocation of the day, filled in by the
    report (:func:`fairpatrol.report.explain.explain_day`); a model leaves them at 0.
    """

    area_id: str
    intensity: float
    officers: int
    parts: dict[str, float]  # named additive parts of ``intensity``
    window_count: int  # learned incidents inside the area in the model's window
    top_incidents: list[Contribution] = field(default_factory=list)


@dataclass(frozen=True)
class ForecastExplanation:
    """A model's account of one day's forecast: the method in words, the labels of its parts, the
    parameters it used and one :class:`AreaExplanation` per explained area (in the order asked)."""

    method: str
    part_labels: dict[str, str]
    params: dict[str, Any]
    areas: list[AreaExplanation]


@dataclass(frozen=True)
class Evidence:
    """What a fitted model's forecast for the day starting at ``until`` is explained with.

    ``rows`` are the learned incidents of the model's training window (columns ``time``, ``area_id``,
    ``x``, ``y`` and ``weight``), ``area_idx`` the index of each row's area in ``areas``; incidents before
    ``start`` (the first simulated day) count as history; ``top`` incidents are listed per area.
    """

    rows: pd.DataFrame
    area_idx: np.ndarray
    areas: Areas
    start: pd.Timestamp
    until: pd.Timestamp
    top: int = 3

    def weights(self) -> np.ndarray:
        """Each learned incident's weight (1, or 1 / P(learned) under feedback-corrected learning)."""
        if "weight" in self.rows.columns:
            return self.rows["weight"].to_numpy(dtype=float)
        return np.ones(len(self.rows))

    def top_contributions(self, contrib: np.ndarray, rows: pd.DataFrame, total: float) -> list[Contribution]:
        """The ``top`` incidents of ``rows`` with the largest ``contrib``, leaving out those below 1 % of
        ``total``."""
        floor = 0.01 * total
        order = [i for i in np.argsort(-contrib, kind="stable")[: self.top] if contrib[i] > floor]
        learned = np.where((rows["time"] < self.start).to_numpy(), "history", "found")
        return [
            Contribution(
                f"{pd.Timestamp(rows['time'].iloc[i]):%Y-%m-%d}",
                str(rows["area_id"].iloc[i]),
                float(contrib[i]),
                str(learned[i]),
            )
            for i in order
        ]


def explain_constant(model: Any, evidence: Evidence, order: np.ndarray) -> ForecastExplanation:
    """The explanation of a model that does not learn from incidents: its fixed intensity per area."""
    values = model.predict(evidence.until).reindex(evidence.areas.ids).to_numpy(dtype=float)
    explained = [
        AreaExplanation(
            evidence.areas.ids[a], 0.0, 0, {"constant": float(values[a])}, int((evidence.area_idx == a).sum())
        )
        for a in order
    ]
    method = f"{type(model).__name__} does not learn from incidents: the same intensity every day."
    return ForecastExplanation(method, {"constant": "fixed intensity"}, model.get_params(), explained)
