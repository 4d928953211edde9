"""Area-level forecasting models (docs/methods.md, "Models"), scikit-learn style."""

from __future__ import annotations

from fairpatrol.models.base import AreaModel, ModelState, model_registry
from fairpatrol.models.baselines import Population, PreviousCounts, Uniform
from fairpatrol.models.kde import LongTermKDE, ShortTermKDE, WindowKDE, scott_bandwidth
from fairpatrol.models.predpol import PredPol

#: Algorithms by the names used in scenario files and outputs (each with its card text and explanation:
#: :func:`~fairpatrol.models.base.model_registry`).
MODELS: dict[str, type[AreaModel]] = model_registry(
    PredPol, ShortTermKDE, LongTermKDE, Uniform, PreviousCounts, Population
)

__all__ = [
    "MODELS",
    "AreaModel",
    "LongTermKDE",
    "ModelState",
    "Population",
    "PredPol",
    "PreviousCounts",
    "ShortTermKDE",
    "Uniform",
    "WindowKDE",
    "scott_bandwidth",
]
