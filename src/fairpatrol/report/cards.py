"""Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting"), one per algorithm of a study.

A card states what the algorithm is for and how it decides (the fixed description each model carries,
:class:`fairpatrol.models.describe.ModelDescription`), and what it did in this study, read from the
results: the inputs and training window of the configuration, the parameters as set and as fitted
(PredPol's θ and ω over time from ``metrics.parquet``), EM convergence, days on which the uniform fallback
was used, and accuracy and fairness with 95 % intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairpatrol.formatting import with_interval
from fairpatrol.models.describe import ModelDescription
from fairpatrol.report.summary import NEED, MetricInfo, levels, metric_info
from fairpatrol.results.run import RunResults


def description(algorithm: str) -> ModelDescription | None:
    """The fixed card text of an area or grid model, from the model itself (None for a name that no
    registered model has, e.g. in results written by another version)."""
    from fairpatrol.grid.models import GRID_MODELS
    from fairpatrol.models import MODELS
    from fairpatrol.models.base import Estimator

    cls: type[Estimator] | None = MODELS.get(algorithm) or GRID_MODELS.get(algorithm)
    return None if cls is None else cls.description


@dataclass
class ModelCard:
    algorithm: str
    doc: ModelDescription
    params: dict[str, Any]
    window_days: int | None
    training_data: str
    fitted: list[dict[str, str]] = field(default_factory=list)  # rows: scenario, parameter, first, last, …
    performance: list[dict[str, str]] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)


def _range(values: np.ndarray) -> str:
    v = values[np.isfinite(values)]
    from fairpatrol.formatting import number

    if v.size == 0:
        return "n/a"
    return f"{number(v.mean(), 4)} (runs {number(v.min(), 4)} to {number(v.max(), 4)})"


def fitted_rows(res: RunResults, algorithm: str) -> list[dict[str, str]]:
    """θ and ω on the first and last day per scenario (mean and range over runs), if the model has them."""
    m = res.metrics[res.metrics["algorithm"] == algorithm]
    rows = []
    for key, label in (("theta", "θ (expected offspring per incident)"), ("omega", "ω (decay per day)")):
        if key not in m.columns or m[key].isna().all():
            continue
        for scen in res.scenarios:
            ms = m[m["scenario"] == scen]
            first = ms.loc[ms["day"] == ms["day"].min(), key].to_numpy(dtype=float)
            last = ms.loc[ms["day"] == ms["day"].max(), key].to_numpy(dtype=float)
            rows.append(
                {
                    "parameter": label,
                    "scenario": res.scenario_label(scen),
                    "first day": _range(first),
                    "last day": _range(last),
                }
            )
    return rows


def performance_rows(res: RunResults, algorithm: str, infos: dict[str, MetricInfo]) -> list[dict[str, str]]:
    rows = []
    for scen in res.scenarios:
        row = {"scenario": res.scenario_label(scen)}
        for metric in (*NEED, "accuracy"):
            lv = levels(res, metric)
            hit = lv[(lv["scenario"] == scen) & (lv["algorithm"] == algorithm)]
            if hit.empty:
                continue
            h = hit.iloc[0]
            row[infos[metric].title] = with_interval(h["mean"], h["ci_low"], h["ci_high"], infos[metric].unit)
        rows.append(row)
    return rows


def observations(res: RunResults, algorithm: str) -> list[str]:
    """What the results show about this model's behaviour (convergence, fallbacks)."""
    m = res.metrics[res.metrics["algorithm"] == algorithm]
    out = []
    if "em_converged" in m.columns and m["em_converged"].notna().any():
        conv = m["em_converged"].dropna().to_numpy(dtype=float)
        it = (
            m["em_iterations"].dropna().to_numpy(dtype=float)
            if "em_iterations" in m.columns
            else np.array([])
        )
        out.append(
            f"EM converged on {conv.mean():.1%} of {conv.size:,} run-days"
            + (f" (median {np.median(it):.0f} iterations, at most {it.max():.0f})." if it.size else ".")
        )
    if "uniform_fallback" in m.columns:
        fb = int(m["uniform_fallback"].sum())
        out.append(
            f"Uniform fallback (no information in the window, officers spread evenly) on {fb:,} of "
            f"{len(m):,} run-days."
        )
    return out


def model_cards(res: RunResults) -> list[ModelCard]:
    infos = metric_info(res.group_pair)
    horizon = res.document.get("resolved", {}).get("horizon", {})
    cards = []
    for alg in res.algorithms:
        model = res.config.model(alg)
        params = model.get_params()
        window = params.get("window_days")
        training = (
            f"All true incidents of the {horizon.get('history_days', '?')} days before "
            f"{res.dates[0]:%Y-%m-%d} ({horizon.get('history_events', '?'):,} incidents), then, during the "
            "simulation, only incidents that patrols detected or residents reported."
            if isinstance(horizon.get("history_events"), int)
            else "All true incidents before the start, then only detected or reported incidents."
        )
        cards.append(
            ModelCard(
                alg,
                type(model).description,
                params,
                window,
                training,
                fitted_rows(res, alg),
                performance_rows(res, alg, infos),
                observations(res, alg),
            )
        )
    return cards
