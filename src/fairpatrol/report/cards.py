"""Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting"), one per algorithm of a study.

A card states what the algorithm is for and how it decides (fixed descriptions of the method, below), and
what it did in this study, read from the results: the inputs and training window of the configuration,
the parameters as set and as fitted (PredPol's θ and ω over time from ``metrics.parquet``), EM convergence,
days on which the uniform fallback was used, and accuracy and fairness with 95 % intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairpatrol.formatting import with_interval
from fairpatrol.report.summary import NEED, MetricInfo, levels, metric_info
from fairpatrol.results.run import RunResults


@dataclass(frozen=True)
class ModelDoc:
    """The fixed description of an algorithm (method, not results)."""

    intent: str
    decides: str
    inputs: str
    limitations: tuple[str, ...]
    reference: str


FEEDBACK = (
    "Learns from the incidents police record, which depend on where police were sent: areas that receive "
    "patrols produce more records and then more patrols (the feedback loop this study measures)."
)

DOCS: dict[str, ModelDoc] = {
    "PredPol": ModelDoc(
        intent="Forecast tomorrow's incidents per area so that patrols go where crime is expected "
        "(commercial 'predictive policing', PredPol / Geolitica).",
        decides="Each area has a steady background rate; every recorded incident raises the area's "
        "expected crime for a few days (self-excitation, like aftershocks). Officers are sent in "
        "proportion to the forecast.",
        inputs="Time and area of each recorded incident in the last year (no coordinates, no people).",
        limitations=(
            FEEDBACK,
            "Self-excitation makes the response to new records fast, so the loop can amplify quickly.",
            "One trigger strength θ and decay ω shared by every area; the background can only change as "
            "fast as the one-year window moves.",
            "Predicts recorded crime, not crime: areas where crime is rarely reported or detected look safe.",
        ),
        reference="Mohler et al. (2015), Randomized controlled field trials of predictive policing, JASA "
        "110:1399.",
    ),
    "ShortTermKDE": ModelDoc(
        intent="Hot-spot policing: send patrols where incidents clustered in the last month.",
        decides="Every incident of the last 30 days is spread over its surroundings by a Gaussian kernel; "
        "an area's forecast is the density falling inside it.",
        inputs="Location (projected coordinates) of each recorded incident of the last 30 days.",
        limitations=(
            FEEDBACK,
            "A 30-day window holds few incidents: hot spots jump with chance events.",
            "Density that falls outside every area (rivers, parks, beyond the city line) is lost.",
            "The bandwidth (smoothing distance) is a choice; results depend on it.",
        ),
        reference="Chainey, Tompson & Uhlig (2008), The utility of hotspot mapping for predicting spatial "
        "patterns of crime, Security Journal 21:4.",
    ),
    "LongTermKDE": ModelDoc(
        intent="Hot-spot policing on the last year of incidents: stable, long-run hot spots.",
        decides="As the short-term version, with a 365-day window.",
        inputs="Location (projected coordinates) of each recorded incident of the last 365 days.",
        limitations=(
            FEEDBACK,
            "Slow to notice real changes in where crime happens.",
            "Density that falls outside every area is lost; the bandwidth is a choice.",
        ),
        reference="Chainey, Tompson & Uhlig (2008), Security Journal 21:4.",
    ),
    "Uniform": ModelDoc(
        intent="Baseline: the same patrol level everywhere.",
        decides="Every area has the same weight, whatever the data say.",
        inputs="None.",
        limitations=("Ignores where crime happens, so it detects little where crime is concentrated.",),
        reference="Baseline (docs/methods.md, 'Models').",
    ),
    "PreviousCounts": ModelDoc(
        intent="Baseline: patrols in proportion to each area's recent recorded incidents.",
        decides="Forecast = the area's recorded incidents in the window, per day.",
        inputs="Area of each recorded incident in the window.",
        limitations=(FEEDBACK, "No smoothing: areas with no recent record get no patrols."),
        reference="Baseline (docs/methods.md, 'Models').",
    ),
    "NaiveKDE": ModelDoc(
        intent="Grid hot spots: where incidents of the last month clustered.",
        decides="Every incident of the rolling 30-day window spreads over nearby cells by a Gaussian "
        "kernel; a "
        "cell's forecast is the density inside it.",
        inputs="Location of each incident in the window.",
        limitations=(
            "Every incident of the window counts the same, however old.",
            "The bandwidth (smoothing distance) is a choice; results depend on it.",
        ),
        reference="The PF/RAF grid study (docs/grid.md); Chainey et al. (2008), Security Journal 21:4.",
    ),
    "TimeSpaceKDE": ModelDoc(
        intent="Grid hot spots that weigh recent incidents more.",
        decides="As the naive KDE, each incident weighted by e^(−β·age), so last week's incidents count more "
        "than last month's.",
        inputs="Time and location of each incident in the window.",
        limitations=("The decay β and the bandwidth are choices; results depend on them.",),
        reference="The PF/RAF grid study (docs/grid.md).",
    ),
    "SEPP": ModelDoc(
        intent="Grid self-exciting point process (the PredPol family): a steady background plus short-lived "
        "excitation after each incident.",
        decides="Background density of each cell (fixed-bandwidth KDE) + Σ θ ω e^(−ω·age) over recent "
        "incidents "
        "(times a spatial kernel of width σ), fitted by expectation–maximisation.",
        inputs="Time and location of each incident in the window.",
        limitations=(
            "θ, ω and σ are shared by the whole city.",
            "EM may converge slowly or to a boundary value when the trigger is weak.",
        ),
        reference="Mohler et al. (2011), JASA 106:100; the PF/RAF grid study (docs/grid.md).",
    ),
    "Population": ModelDoc(
        intent="Baseline: patrols in proportion to resident population.",
        decides="Forecast = the area's population (Census).",
        inputs="Population of each area.",
        limitations=("Ignores crime; the Census year may be old.",),
        reference="Baseline (docs/methods.md, 'Models').",
    ),
}


@dataclass
class ModelCard:
    algorithm: str
    doc: ModelDoc
    params: dict[str, Any]
    window_days: int | None
    training_data: str
    fitted: list[dict[str, str]] = field(default_factory=list)  # rows: scenario, parameter, first, last, …
    performance: list[dict[str, str]] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)


def _doc(algorithm: str) -> ModelDoc:
    if algorithm in DOCS:
        return DOCS[algorithm]
    from fairpatrol.models import MODELS

    text = (MODELS[algorithm].__doc__ or algorithm).strip().splitlines()[0]
    return ModelDoc(text, text, "See the class documentation.", (FEEDBACK,), "fairpatrol.models")


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
                _doc(alg),
                params,
                window,
                training,
                fitted_rows(res, alg),
                performance_rows(res, alg, infos),
                observations(res, alg),
            )
        )
    return cards
