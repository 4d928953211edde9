"""The metric registry: every metric fairpatrol computes, declared once (as Mesa's model reporters).

Each :class:`Metric` says what a reader needs to use a number: its plain-language label and meaning, its
unit, which direction is better, the level it describes (a run, a group of areas, one area), its family
(``need``: fairness against need, the headline; ``study``: the published Baltimore study's metrics, kept
exactly; ``context``: descriptive counts and concentrations) and how it is computed (the section of
``docs/methods.md`` with its formula). Tables (``summary.csv``), the command line, ``fairpatrol analyze``,
the sweep report, the run report and the results API all read it.

Ranking. :func:`rank_score` turns values into a score where **lower is better**, by the metric's
``better``: ``lower`` → the value, ``higher`` → minus the value, ``closer to 1`` (ratios) → ``|log ratio|``
(so 2 and ½ are equally far from fair), ``closer to 0`` (signed gaps) → ``|value|``. A metric whose
direction is ``none`` cannot be ranked, and a name missing from the registry raises: nothing is ever
ranked by a silent default.

Adding a metric: one :func:`register` call here, its computation in :mod:`fairpatrol.metrics.fairness`
(or the accumulator), its formula in ``docs/methods.md`` and a known-answer test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Better = Literal["higher", "lower", "closer to 1", "closer to 0", "none"]
Level = Literal["run", "group", "area"]
Family = Literal["need", "study", "context"]
Window = Literal["day", "horizon", "rolling"]

#: Units a metric's values are in (see :data:`fairpatrol.formatting.DISPLAY` for how each is printed).
UNITS = ("share", "points", "ratio", "index", "count")
#: The rolling window (days) of the ``*_30d`` metrics.
ROLLING_DAYS = 30
#: Multiples of the study's ε = 1/(10 M) at which the police-to-crime gap is recomputed (sensitivity).
EPS_FACTORS = (1, 10, 100)


@dataclass(frozen=True)
class Metric:
    """One metric: how it is named, read, ranked and computed."""

    name: str
    label: str  #: short plain-language label for tables and legends
    meaning: str  #: one sentence a resident can read
    unit: str  #: one of :data:`UNITS`
    better: Better
    levels: tuple[Level, ...]
    family: Family
    window: Window  #: day (a daily value: summarised as level = mean over days, and slope), horizon, rolling
    computed: str  #: where the formula is (docs/methods.md section) and what it sums
    caveat: str = ""  #: shown next to the value wherever it is shown
    headline: bool = False  #: among the run-level metrics tables and analyses show by default

    def text(self, group_pair: tuple[str, str] | None = None) -> tuple[str, str]:
        """(label, meaning) with the compared groups' names (default: 'first group', 'second group')."""
        g1, g2 = group_pair or ("first group", "second group")
        return self.label.format(g1=g1, g2=g2), self.meaning.format(g1=g1, g2=g2)

    @property
    def rankable(self) -> bool:
        return self.better != "none"

    @property
    def how_ranked(self) -> str:
        """The ranking rule in words (printed by ``analyze`` and the reports)."""
        return {
            "higher": "higher is better",
            "lower": "lower is better",
            "closer to 1": "closer to 1 is better (ranked by |log ratio|)",
            "closer to 0": "closer to 0 is better (ranked by |value|)",
            "none": "descriptive (not ranked)",
        }[self.better]


REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add ``metric`` to :data:`REGISTRY` (names are unique; units and directions are checked)."""
    if metric.name in REGISTRY:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    if metric.unit not in UNITS:
        raise ValueError(f"metric {metric.name!r}: unknown unit {metric.unit!r}")
    if metric.better not in ("higher", "lower", "closer to 1", "closer to 0", "none"):
        raise ValueError(f"metric {metric.name!r}: unknown direction {metric.better!r}")
    REGISTRY[metric.name] = metric
    return metric


def metric(name: str) -> Metric:
    """The registered metric ``name``; a one-line error naming the registry for anything else."""
    try:
        return REGISTRY[str(name)]
    except KeyError:
        raise KeyError(
            f"unknown metric {name!r}: every metric must be declared in fairpatrol/metrics/registry.py"
        ) from None


def label(name: str, group_pair: tuple[str, str] | None = None) -> str:
    """The metric's label with the compared groups' names."""
    return metric(name).text(group_pair)[0]


def rank_score(name: str, values) -> np.ndarray:
    """Scores of ``values`` of metric ``name`` where lower is better (NaN stays NaN).

    Raises for a metric that is not registered or has no direction (``none``): such a metric is never
    ranked.
    """
    m = metric(name)
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if m.better == "lower":
            return v.copy()
        if m.better == "higher":
            return -v
        if m.better == "closer to 1":
            return np.abs(np.log(np.where(v >= 0, v, np.nan)))
        if m.better == "closer to 0":
            return np.abs(v)
    raise ValueError(f"metric {name!r} is descriptive (better: none) and cannot rank algorithms")


def is_better(name: str, a, b) -> np.ndarray:
    """Whether values ``a`` are strictly better than ``b`` on metric ``name`` (elementwise)."""
    return rank_score(name, a) < rank_score(name, b)


def names(
    *, level: Level | None = None, family: Family | None = None, window: Window | None = None, headline=None
) -> list[str]:
    """Registered metric names in declaration order, filtered by level, family, window and headline."""
    out = []
    for m in REGISTRY.values():
        if level is not None and level not in m.levels:
            continue
        if family is not None and m.family != family:
            continue
        if window is not None and m.window != window:
            continue
        if headline is not None and m.headline != headline:
            continue
        out.append(m.name)
    return out


def headline() -> list[str]:
    """The run-level headline metrics, need-based first, then the study's (tables and analyses)."""
    run = [m for m in REGISTRY.values() if m.headline and "run" in m.levels]
    return [m.name for m in sorted(run, key=lambda m: {"need": 0, "study": 1, "context": 2}[m.family])]


def _r(name, label, meaning, unit, better, levels, family, window, computed, caveat="", headline=False):
    return register(
        Metric(name, label, meaning, unit, better, tuple(levels), family, window, computed, caveat, headline)
    )


NEED = "docs/methods.md, 'Fairness against need'"
STUDY = "docs/methods.md, 'The published study's metrics'"
PCR_CAVEAT = (
    "On a day most areas have no crime; with the study's ε = 1/(10 M) such an area's police-to-crime ratio "
    "is in the hundreds, so this value is driven by where patrols went on crime-free days and scales "
    "roughly as 1/ε (see the ε sensitivity)."
)
GINI_FLOOR = (
    "With fewer officers than areas most areas get none on a day, so the daily Gini cannot fall below "
    "1 − N/M (0.84 for 40 officers over 256 areas): compare it only between studies with the same N."
)
SHARE_GAP_CAVEAT = (
    "Compares average police shares without regard to crime: a uniform allocation scores a perfect 0, so "
    "a low gap can mean crime is ignored."
)
#: The study's metrics' caveats in one sentence (terminal tables; each metric's own caveat is longer).
STUDY_CAVEATS = (
    "the police-share gap scores a uniform allocation as perfectly fair; the police-to-crime gap and its "
    "Gini are driven by crime-free area-days and scale roughly as 1/ε; the daily Gini of officers has a "
    "floor of 1 − N/M with N officers over M areas (docs/methods.md)"
)

# -- fairness against need (the headline) --------------------------------------------------------------
_r(
    "misallocated_share",
    "Patrols out of proportion to crime",
    "the share of all patrol-days that would have to move to other areas for every area's share of "
    "patrols to equal its share of the true crimes over the period (0 = patrols exactly follow crime)",
    "share",
    "lower",
    ["run"],
    "need",
    "horizon",
    f"{NEED}: ½ Σ_i |p_i − c_i| over areas of the horizon's patrol and crime shares",
    headline=True,
)
_r(
    "disparity_factor",
    "Worst group's patrols vs its crime",
    "how far the group served least in proportion to its crime is from fair: its patrol share divided by "
    "its crime share, or the inverse when that is below 1 (1 = every group patrolled in proportion to its "
    "crime)",
    "ratio",
    "lower",
    ["run"],
    "need",
    "horizon",
    f"{NEED}: max over groups with crime of max(r_g, 1/r_g), r_g = patrol share / crime share",
    caveat="groups without crime are left out (their ratio is undefined)",
    headline=True,
)
_r(
    "disparity_ratio_pair",
    "Patrols per crime, {g1} ÷ {g2}",
    "patrol-days per true crime in {g1} areas divided by the same in {g2} areas (1 = equal patrols per "
    "crime; 2 = twice as many)",
    "ratio",
    "closer to 1",
    ["run"],
    "need",
    "horizon",
    f"{NEED}: r_g1 / r_g2 = (P_g1 / C_g1) / (P_g2 / C_g2)",
    headline=True,
)
_r(
    "detection_ratio_pair",
    "Detection rate, {g1} ÷ {g2}",
    "the share of crimes detected by patrols in {g1} areas divided by the same in {g2} areas (1 = crimes "
    "equally likely to be found)",
    "ratio",
    "closer to 1",
    ["run"],
    "need",
    "horizon",
    f"{NEED}: (D_g1 / C_g1) / (D_g2 / C_g2)",
    headline=True,
)
_r(
    "detection_gap_pair",
    "Detection gap, {g1} − {g2}",
    "the detection rate in {g1} areas minus that in {g2} areas",
    "points",
    "closer to 0",
    ["run"],
    "need",
    "horizon",
    f"{NEED}: D_g1 / C_g1 − D_g2 / C_g2",
)
_r(
    "disparity_factor_30d",
    "Worst group's patrols vs its crime, 30 days",
    "the worst group's patrol share over its crime share (or the inverse) in the 30 days up to each day; "
    "its trend shows whether disparity grew",
    "ratio",
    "lower",
    ["run"],
    "need",
    "rolling",
    f"{NEED}: disparity factor of trailing {ROLLING_DAYS}-day sums (from day {ROLLING_DAYS})",
)
_r(
    "detection_rate",
    "Detection rate",
    "the share of true crimes that patrols detected (over the whole period; per group: of the crimes in "
    "the group's areas)",
    "share",
    "higher",
    ["run", "group"],
    "need",
    "horizon",
    f"{NEED}: Σ detected / Σ true crimes over the horizon",
)
_r(
    "idle_share",
    "Patrols where no crime happened",
    "the share of patrol-days spent in an area on a day with no crime there (a false-alarm burden on its "
    "residents)",
    "share",
    "lower",
    ["run", "group"],
    "need",
    "horizon",
    f"{NEED}: Σ_days,areas P · 1[C = 0] / Σ P",
)
_r(
    "disparity_ratio",
    "Patrol share ÷ crime share",
    "the share of all patrol-days that went to these areas divided by their share of the true crimes "
    "(1 = patrols in proportion to crime; undefined without crime)",
    "ratio",
    "closer to 1",
    ["group", "area"],
    "need",
    "horizon",
    f"{NEED}: r = (Σ P in the areas / Σ P) / (Σ C in the areas / Σ C)",
)
_r(
    "disparity_ratio_30d",
    "Patrol share ÷ crime share, 30 days",
    "the group's patrol share divided by its crime share in the 30 days up to each day",
    "ratio",
    "closer to 1",
    ["group"],
    "need",
    "rolling",
    f"{NEED}: disparity ratio of trailing {ROLLING_DAYS}-day sums (from day {ROLLING_DAYS})",
)
_r(
    "patrol_share",
    "Share of patrols",
    "the share of all patrol-days (officer-days) of the period that went to these areas",
    "share",
    "none",
    ["group", "area"],
    "need",
    "horizon",
    f"{NEED}: Σ P in the areas / Σ P",
)
_r(
    "true_crime_share",
    "Share of true crimes",
    "the share of all true crimes of the period that happened in these areas (the need patrols should "
    "follow)",
    "share",
    "none",
    ["group", "area"],
    "need",
    "horizon",
    f"{NEED}: Σ C in the areas / Σ C",
)
for _name, _label, _meaning in (
    ("patrol_days", "Patrol-days", "officer-days spent in these areas over the period"),
    ("true_crimes", "True crimes", "true crimes that happened in these areas over the period"),
    ("detected_crimes", "Detected crimes", "crimes patrols detected in these areas over the period"),
    ("idle_patrol_days", "Patrol-days without crime", "officer-days in these areas on days without crime"),
    (
        "expected_patrols",
        "Expected patrols",
        "officer-days the model's forecast assigned to these areas in expectation (sum of its daily shares "
        "times the officers)",
    ),
):
    _r(_name, _label, _meaning, "count", "none", ["run", "group", "area"], "context", "horizon", NEED)

# -- concentration ---------------------------------------------------------------------------------------
_r(
    "gini_patrols",
    "Concentration of patrols (Gini)",
    "how unequally the period's patrol-days are spread over areas (0 = every area the same, near 1 = all "
    "in a few areas); compare it with the concentration of crime",
    "index",
    "none",
    ["run"],
    "context",
    "horizon",
    f"{NEED}: Gini of Σ_days P_i",
)
_r(
    "gini_crime",
    "Concentration of crime (Gini)",
    "how unequally the period's true crimes are spread over areas",
    "index",
    "none",
    ["run"],
    "context",
    "horizon",
    f"{NEED}: Gini of Σ_days C_i",
)
_r(
    "gini_expected",
    "Concentration of the model's allocation (Gini)",
    "how unequally the model's forecast spread patrols over areas, before officers were drawn (free of "
    "the integer floor of the daily officer Gini)",
    "index",
    "none",
    ["run"],
    "context",
    "day",
    f"{NEED}: Gini of the day's allocation shares",
)
_r(
    "gini_expected_horizon",
    "Concentration of the model's allocation over the period (Gini)",
    "how unequally the model's forecasts, summed over the period, spread patrols over areas",
    "index",
    "none",
    ["run"],
    "context",
    "horizon",
    f"{NEED}: Gini of Σ_days allocation shares",
)

# -- the published study's metrics (kept exactly) ------------------------------------------------------
_r(
    "accuracy",
    "Coverage accuracy",
    "the share of each day's true crimes that patrols detected (mean over days)",
    "share",
    "higher",
    ["run"],
    "study",
    "day",
    f"{STUDY}: Σ detected / Σ true crimes of the day (undefined on a day without crime)",
    headline=True,
)
_r(
    "share_gap",
    "Police-share gap (study)",
    "how far apart the average {g1} and the average {g2} area are in their daily share of the officers",
    "points",
    "lower",
    ["run"],
    "study",
    "day",
    f"{STUDY}: |mean_{{g1}} s_i − mean_{{g2}} s_i|",
    caveat=SHARE_GAP_CAVEAT,
    headline=True,
)
_r(
    "pcr_gap",
    "Police-to-crime gap (study)",
    "how far apart {g1} and {g2} areas are in police share divided by crime share, per day",
    "index",
    "lower",
    ["run"],
    "study",
    "day",
    f"{STUDY}: |mean_{{g1}} PCR_i − mean_{{g2}} PCR_i|, PCR_i = (P_i + ε)/(ΣP + Mε) ÷ (C_i + ε)/(ΣC + Mε)",
    caveat=PCR_CAVEAT,
    headline=True,
)
_r(
    "gini_police",
    "Gini of officers (study)",
    "how unequally the day's officers are spread over areas",
    "index",
    "lower",
    ["run"],
    "study",
    "day",
    f"{STUDY}: Σ_i (2i − M − 1) x_(i) / (M Σ x) of the day's officers",
    caveat=GINI_FLOOR,
    headline=True,
)
_r(
    "gini_pcr",
    "Gini of police-to-crime ratio (study)",
    "how unequally the day's police-to-crime ratios are spread over areas",
    "index",
    "lower",
    ["run"],
    "study",
    "day",
    f"{STUDY}: Gini of the day's PCR_i",
    caveat=PCR_CAVEAT + " Its daily values track the Gini of officers almost exactly.",
    headline=True,
)
for _name, _label, _meaning, _unit in (
    ("share_gap_signed", "Police-share gap, signed", "mean police share, {g1} − {g2} areas", "points"),
    ("pcr_gap_signed", "Police-to-crime gap, signed", "mean police-to-crime ratio, {g1} − {g2}", "index"),
    ("share_g1", "Police share of a {g1} area", "mean daily police share of one such area", "share"),
    ("share_g2", "Police share of a {g2} area", "mean daily police share of one such area", "share"),
    ("pcr_g1", "Police-to-crime ratio, {g1}", "mean daily PCR of a {g1} area", "index"),
    ("pcr_g2", "Police-to-crime ratio, {g2}", "mean daily PCR of a {g2} area", "index"),
    (
        "over_policed",
        "Over-policed areas",
        "areas whose daily police share exceeds 1.2 × crime share",
        "count",
    ),
    (
        "under_policed",
        "Under-policed areas",
        "areas whose daily police share is below 0.8 × crime share",
        "count",
    ),
):
    _r(_name, _label, _meaning, _unit, "none", ["run"], "study", "day", STUDY)
_r(
    "crimes",
    "True crimes per day",
    "the day's true crimes (the replayed incidents, less any deterred or prevented)",
    "count",
    "none",
    ["run", "group"],
    "context",
    "day",
    STUDY,
)
_r(
    "pcr_gap_horizon",
    "Police-to-crime gap over the period",
    "the study's police-to-crime gap recomputed on the whole period's patrols and crimes instead of each "
    "day's",
    "index",
    "lower",
    ["run"],
    "study",
    "horizon",
    f"{STUDY}, 'Recomputed at a stated window': PCR of Σ_days counts, ε = 1/(10 M)",
)
for _f in EPS_FACTORS:
    for _window, _what in (("day", "of each day (the study's)"), ("horizon", "of the whole period")):
        _r(
            f"pcr_gap_{_window}_eps{_f}",
            f"Police-to-crime gap, {_what.split(' (')[0]}, ε × {_f}",
            f"the study's police-to-crime gap {_what} with ε = {_f}/(10 M) (sensitivity to ε)",
            "index",
            "lower",
            ["run"],
            "study",
            "horizon",
            f"{STUDY}, 'Sensitivity to ε' (a daily value's mean over days for the day window)",
            caveat=PCR_CAVEAT if _window == "day" else "",
        )

# -- per group, daily (groups.parquet) ------------------------------------------------------------------
for _name, _label, _meaning, _family in (
    (
        "police_share",
        "Share of officers (daily)",
        "share of the day's officers sent to the group's areas",
        "context",
    ),
    (
        "crime_share",
        "Share of true crimes (daily)",
        "share of the day's true crimes in the group's areas",
        "context",
    ),
    (
        "detected_share",
        "Share of detected crimes",
        "share of the day's detected crimes in the group's areas",
        "context",
    ),
    (
        "mean_share",
        "Police share of an average area",
        "mean daily police share of one of the group's areas",
        "study",
    ),
):
    _r(_name, _label, _meaning, "share", "none", ["group"], _family, "day", STUDY)
_r(
    "mean_pcr",
    "Police-to-crime ratio of an average area",
    "mean daily police-to-crime ratio (study's ε) of one of the group's areas",
    "index",
    "none",
    ["group"],
    "study",
    "day",
    STUDY,
    caveat=PCR_CAVEAT,
)
for _name, _label in (
    ("officers", "Officers"),
    ("detected", "Detected crimes"),
    ("idle_officers", "Officers where no crime happened"),
):
    _r(
        _name,
        _label,
        f"{_label.lower()} of the day in the group's areas",
        "count",
        "none",
        ["group"],
        "context",
        "day",
        NEED,
    )

del _name, _label, _meaning, _family, _unit, _f, _window, _what
