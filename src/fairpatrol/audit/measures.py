"""The audit's measures: a registry of named ratios of day sums, and the code that evaluates them.

Notation: for a set of areas weighted by a grouping's column W_·u (:mod:`fairpatrol.audit.groups`) and the
audited days weighted by w_d (all 1 for the estimate, bootstrap counts for a replicate), write
S(X) = Σ_d w_d Σ_i W_iu X_di, and S_tot(X) the same sum over all areas of the grouping (W_i· summed over
u). The per-day statistics X are those of :mod:`fairpatrol.audit.daytable`; ``land`` is each area's m² on
every audited day and ``residents`` its population on every audited day.

Accuracy of the targets (Chainey, Tompson & Uhlig 2008; The Markup 2021/2023):

* crime captured  = S(captured) / S(crimes): the share of crime that happened inside a target while it was
  active (or within the window after). Chainey et al. call this the *hit rate*;
* area targeted   = S(targeted_m2) / S(land): the share of land under a target on an average day;
* PAI             = crime captured / area targeted (Predictive Accuracy Index): 1 = no better than
  targeting at random, > 1 = crime is concentrated in the targets;
* target hit rate = S(hits) / S(units): the share of target-periods (a box on its day or shift, a zone on
  one day, a patrolled area-day) with at least one crime inside, The Markup's rule for Plainfield
  (each prediction counted at most once).

Exposure (who is targeted, relative to crime and to residents):

* targeting share = S(targeting) / S_tot(targeting); crime share = S(crimes) / S_tot(crimes);
  resident share  = S(residents) / S_tot(residents);
* ratio to crime  = targeting share / crime share; ratio to residents = targeting share / resident share.
  1 = targeted in proportion; 2 = twice the targeting its share of crime (or of residents) would give.

Calibration of scored targets (observed / expected, calibration slope): :mod:`fairpatrol.audit.calibration`.

Repeat targeting (areas): days targeted share = S(targeted day) / S(day), the share of audited days with
any target in the area (the longest run of consecutive targeted days is computed apart, without an
interval).

A ratio whose denominator is 0 is undefined (NaN, never infinite) and shown as missing.

References
----------
Chainey, S., Tompson, L. & Uhlig, S. (2008). The utility of hotspot mapping for predicting spatial patterns
of crime. *Security Journal* 21, 4-28. https://doi.org/10.1057/palgrave.sj.8350066
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from fairpatrol.audit.bootstrap import bucket_sums
from fairpatrol.audit.daytable import DayTable
from fairpatrol.audit.groups import Grouping

Sums = Mapping[str, np.ndarray]

ACCURACY_GROUPINGS = frozenset({"overall", "area group", "area"})
EXPOSURE_GROUPINGS = frozenset({"area group", "residents", "area"})


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(np.isfinite(out) & (den != 0), out, np.nan)


def _share(s: Sums, stat: str) -> np.ndarray:
    return _ratio(s[stat], s[stat + "@total"])


@dataclass(frozen=True)
class Measure:
    """One audit measure: how it is labelled, what it needs and how it is computed from sums."""

    name: str
    label: str
    unit: str  # 'share', 'ratio', 'index' or 'count'
    family: str  # 'accuracy', 'exposure', 'repeat' or 'calibration'
    formula: str
    needs: tuple[str, ...]
    compute: Callable[[Sums], np.ndarray] | None  # None: computed by fairpatrol.audit.calibration
    groupings: frozenset[str]
    typed: bool = False  # depends on the crime-type selection
    interval: bool = True  # counts carry no interval

    def applies(self, grouping: str, q: int) -> bool:
        """Whether this measure is reported for ``grouping`` and crime-type selection ``q``."""
        return self.compute is not None and grouping in self.groupings and (self.typed or q == 0)


def _m(*args: object, **kw: object) -> Measure:
    return Measure(*args, **kw)  # type: ignore[arg-type]


#: Every measure of the audit, by name, in report order (see the module docstring for the formulas).
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        _m(
            "crime_captured",
            "Share of crime inside the targets",
            "share",
            "accuracy",
            "crimes inside an active target / all crimes",
            ("captured", "crimes"),
            lambda s: _ratio(s["captured"], s["crimes"]),
            ACCURACY_GROUPINGS,
            typed=True,
        ),
        _m(
            "area_targeted",
            "Share of land targeted on an average day",
            "share",
            "accuracy",
            "targeted m²-days / m²-days",
            ("targeted_m2", "land"),
            lambda s: _ratio(s["targeted_m2"], s["land"]),
            ACCURACY_GROUPINGS,
        ),
        _m(
            "pai",
            "Predictive Accuracy Index",
            "index",
            "accuracy",
            "share of crime inside the targets / share of land targeted",
            ("captured", "crimes", "targeted_m2", "land"),
            lambda s: _ratio(_ratio(s["captured"], s["crimes"]), _ratio(s["targeted_m2"], s["land"])),
            ACCURACY_GROUPINGS,
            typed=True,
        ),
        _m(
            "target_hit_rate",
            "Share of target-periods with at least one crime",
            "share",
            "accuracy",
            "target-periods with a crime inside / target-periods",
            ("hits", "units"),
            lambda s: _ratio(s["hits"], s["units"]),
            ACCURACY_GROUPINGS,
            typed=True,
        ),
        _m(
            "targeting_share",
            "Share of all targeting",
            "share",
            "exposure",
            "targeting of the group / all targeting",
            ("targeting",),
            lambda s: _share(s, "targeting"),
            EXPOSURE_GROUPINGS,
        ),
        _m(
            "crime_share",
            "Share of all crime",
            "share",
            "exposure",
            "crimes of the group / all crimes",
            ("crimes",),
            lambda s: _share(s, "crimes"),
            EXPOSURE_GROUPINGS,
            typed=True,
        ),
        _m(
            "resident_share",
            "Share of all residents",
            "share",
            "exposure",
            "residents of the group / all residents",
            ("residents",),
            lambda s: _share(s, "residents"),
            EXPOSURE_GROUPINGS,
        ),
        _m(
            "ratio_to_crime",
            "Targeting relative to crime (1 = in proportion)",
            "ratio",
            "exposure",
            "targeting share / crime share",
            ("targeting", "crimes"),
            lambda s: _ratio(_share(s, "targeting"), _share(s, "crimes")),
            EXPOSURE_GROUPINGS,
            typed=True,
        ),
        _m(
            "ratio_to_residents",
            "Targeting relative to residents (1 = in proportion)",
            "ratio",
            "exposure",
            "targeting share / resident share",
            ("targeting", "residents"),
            lambda s: _ratio(_share(s, "targeting"), _share(s, "residents")),
            EXPOSURE_GROUPINGS,
        ),
        _m(
            "days_targeted_share",
            "Share of days with a target in the area",
            "share",
            "repeat",
            "days with any target in the area / audited days",
            ("targeted_day", "day"),
            lambda s: _ratio(s["targeted_day"], s["day"]),
            frozenset({"area"}),
        ),
        _m(
            "crimes",
            "Crimes",
            "count",
            "accuracy",
            "crimes on the audited days",
            ("crimes",),
            lambda s: s["crimes"],
            frozenset({"overall", "area group", "area"}),
            typed=True,
            interval=False,
        ),
        _m(
            "crimes_captured",
            "Crimes inside the targets",
            "count",
            "accuracy",
            "crimes inside an active target",
            ("captured",),
            lambda s: s["captured"],
            frozenset({"overall", "area group", "area"}),
            typed=True,
            interval=False,
        ),
        _m(
            "target_periods",
            "Target-periods",
            "count",
            "accuracy",
            "target-periods (shared out between areas by area of overlap)",
            ("units",),
            lambda s: s["units"],
            frozenset({"overall", "area group", "area"}),
            interval=False,
        ),
        _m(
            "observed_to_expected",
            "Crimes observed per crime predicted (1 = calibrated)",
            "ratio",
            "calibration",
            "Σ observed / Σ predicted over scored target-periods",
            (),
            None,
            frozenset({"overall", "area group", "area"}),
        ),
        _m(
            "calibration_slope",
            "Calibration slope (1 = calibrated at every score)",
            "index",
            "calibration",
            "least-squares slope of observed on predicted over scored target-periods",
            (),
            None,
            frozenset({"overall", "area group"}),
        ),
    )
}

#: Measures whose trend over time is reported (overall and per group).
TREND_MEASURES = (
    "crime_captured",
    "area_targeted",
    "pai",
    "target_hit_rate",
    "targeting_share",
    "ratio_to_crime",
    "ratio_to_residents",
)


def day_stat(table: DayTable, name: str, q: int, residents: np.ndarray | None) -> np.ndarray | sp.csr_matrix:
    """The (D, M) per-day values of statistic ``name`` for crime-type selection ``q``."""
    d, m = table.n_days, len(table.area_m2)
    if name == "land":
        return np.broadcast_to(table.area_m2, (d, m))
    if name == "residents":
        if residents is None:
            return np.full((d, m), np.nan)
        return np.broadcast_to(residents, (d, m))
    if name == "targeted_day":
        return (table.targeted_m2 > 0).astype(float)
    if name == "day":
        return np.ones((d, m))
    return table.stat(name, q)


def evaluate(
    table: DayTable,
    grouping: Grouping,
    weights: np.ndarray,
    measures: list[Measure],
    *,
    q: int = 0,
    residents: np.ndarray | None = None,
    bucket: np.ndarray | None = None,
    n_buckets: int = 1,
) -> dict[str, np.ndarray]:
    """Values of ``measures`` for every group of ``grouping``: name → (R, n_buckets, U) array.

    ``weights`` are the (R, D) day weights (:func:`fairpatrol.audit.bootstrap.day_weights`); ``bucket``
    assigns days to trend buckets (None: one bucket, the whole period).
    """
    needs = list(dict.fromkeys(n for m in measures for n in m.needs))
    wt = grouping.weights
    member = grouping.membership()
    sums: dict[str, np.ndarray] = {}
    for name in needs:
        x = day_stat(table, name, q, residents)
        if sp.issparse(x):
            grouped = (x @ wt).toarray()
            total = np.asarray(x @ member).reshape(-1, 1)
        else:
            x = np.asarray(x, dtype=float)
            grouped = np.asarray((wt.T @ x.T).T)
            total = (x @ member)[:, None]
        sums[name] = bucket_sums(weights, grouped, bucket, n_buckets)
        sums[name + "@total"] = bucket_sums(weights, total, bucket, n_buckets)
    out = {}
    for m in measures:
        assert m.compute is not None, m.name  # the callers pass the measures computed from sums
        out[m.name] = np.asarray(m.compute(sums), dtype=float)
    return out
