"""The audit datasheet: the transparency report's format for an audit of real targets (docs/audit.md,
"The datasheet").

The first screen holds the headline numbers in plain sentences, written from the results (accuracy of
the targets, and each compared group's share of the targeting against its share of crime and of
residents, as "X times", with 95 % intervals), one small chart (every group's share of crime, of the
targeting and of residents) and a map of the targets outlined over crime density and over the groups.
Below, in sections that open on a click: the numbers with their intervals, accuracy by crime type, area
by area (most targeted areas, streaks, targeting ÷ crime, each target), trends by month, calibration
where targets carry scores, The Markup's tiers, the notes, the data's provenance and caveats in words,
the measures explained, and the config to reproduce it; downloads of the tables (CSV) and of the areas and
targets with their results (GeoJSON).

Everything is computed from an :class:`~fairpatrol.audit.AuditResult` (a results directory read by
:func:`fairpatrol.audit.read_audit`); nothing is re-run. Pieces shared with the run report come from
:mod:`fairpatrol.report.page` (chart, downloads, GeoJSON), :mod:`fairpatrol.report.svgmap` (maps) and
:mod:`fairpatrol.formatting` (numbers for people).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pandas as pd
from markupsafe import Markup

import fairpatrol.report.page as page
import fairpatrol.report.svgmap as svgmap
from fairpatrol.audit.measures import MEASURES
from fairpatrol.audit.result import AuditResult
from fairpatrol.formatting import join, number, percent, signed, times, value, with_interval
from fairpatrol.report.style import group_colors

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas

#: Areas with fewer crimes than this are not coloured by targeting ÷ crime (too few to judge).
MIN_CRIMES = 5
CRIME_COLOR = "#333333"
RESIDENT_COLOR = "#9e9ac8"
TARGET_COLOR = "#e31a1c"
TARGET_OUTLINE = "#67000d"
#: Above this many distinct targets the map draws their union (one outline, no hover labels).
MAX_OUTLINED = 400
#: Largest GeoJSON download of the areas or targets kept inside the page.
MAX_GEOJSON = 600_000


# -- reading the result ------------------------------------------------------------------------------
def _row(res: AuditResult, measure: str, **where: str) -> pd.Series | None:
    try:
        return res.row(measure, **where)
    except KeyError:
        return None


class _Where(TypedDict, total=False):
    """Which rows of a table a measure is read from: grouping, group and crime type."""

    grouping: str
    group: str
    crime_type: str


def _areas(res: AuditResult) -> Areas:
    """The audited areas; a one-line error for an audit written without them."""
    if res.areas is None:
        from fairpatrol.errors import FairpatrolError

        raise FairpatrolError(
            "no areas.parquet: this audit was written without its areas; write it again with this version of "
            "fairpatrol to report on it"
        )
    return res.areas


def _with(
    res: AuditResult, measure: str, *, long: bool = False, unit: str | None = None, **where: str
) -> str:
    """A measure's value with its interval, formatted for its unit ('n/a' when absent). A quantity fixed
    over days (a zone's land, census counts) has replicates equal up to rounding: no interval is shown."""
    r = _row(res, measure, **where)
    if r is None:
        return "n/a"
    v, lo, hi = float(r["value"]), float(r["lo"]), float(r["hi"])
    unit = unit or MEASURES[measure].unit
    fixed = math.isfinite(lo) and math.isfinite(hi) and hi - lo <= 1e-9 * max(abs(v), abs(hi), 1e-300)
    if fixed or not (math.isfinite(lo) and math.isfinite(hi)):
        return value(v, unit, long=long, decimals=2 if unit in ("ratio", "index") and abs(v) < 10 else None)
    return with_interval(v, lo, hi, unit, long=long)


def _value(res: AuditResult, measure: str, **where: str) -> float:
    r = _row(res, measure, **where)
    return float(r["value"]) if r is not None else float("nan")


def _label(res: AuditResult) -> str:
    return str((res.meta.get("targets_info") or {}).get("label") or "targets")


def _type_groups(res: AuditResult) -> list[str]:
    return list((res.meta.get("settings") or {}).get("type_groups") or {})


def _group_order(res: AuditResult) -> list[str]:
    """Area groups as the result lists them (the compared pair first)."""
    return list((res.meta.get("groups") or {}).get("area group", []))


def _pair(res: AuditResult) -> tuple[str, str] | None:
    pair = res.meta.get("group_pair") or []
    groups = _group_order(res)
    if len(pair) == 2 and all(g in groups for g in pair):
        return str(pair[0]), str(pair[1])
    return (groups[0], groups[1]) if len(groups) >= 2 else None


def targeting_words(res: AuditResult) -> str:
    """What a share of the targeting is a share of, in words."""
    if res.meta.get("kind") == "effort":
        return f"the patrol effort ({res.meta.get('effort_unit') or 'logged'})"
    exposure = (res.meta.get("settings") or {}).get("exposure", "area")
    return "the targeted area-days" if exposure == "area_days" else "the targeted land (m² × days)"


def period_words(res: AuditResult) -> str:
    """'Focused Patrol Areas in Baltimore, 2019-01-01 to 2019-12-31: 365 days audited, 41,115 crimes'."""
    p = res.meta.get("period", {})
    crimes = _value(res, "crimes")
    city = (res.meta.get("data") or {}).get("city") or str(res.meta.get("city", "")).title()
    return (
        f"{_label(res)} in {city}, {p.get('start')} to {p.get('end')}: "
        f"{p.get('days_audited', 0):,} days audited, {value(crimes, 'count')} crimes"
    )


@dataclass
class Headline:
    """The headline tables (rows of text for people): accuracy, area groups, residents' groups."""

    accuracy: list[dict[str, str]]
    groups: list[dict[str, str]]
    residents: list[dict[str, str]]


def area_counts(res: AuditResult) -> dict[str, int]:
    """Areas per area group."""
    wide = res.by_area.drop_duplicates("area_id")
    counts = wide["area_group"].astype(str).value_counts()
    return {g: int(counts.get(g, 0)) for g in _group_order(res)}


def headline_rows(res: AuditResult, types: list[str] | None = None) -> Headline:
    """The numbers of the first screen as tables of text: accuracy for all crimes and the config's type
    groups (or ``types``), every area group and every group of residents, with 95 % intervals."""
    types = ["all", *(_type_groups(res) if types is None else types)]
    accuracy = []
    for t in types:
        if _row(res, "crimes", crime_type=t) is None:
            continue
        accuracy.append(
            {
                "crimes": "all crimes" if t == "all" else t,
                "number": value(_value(res, "crimes", crime_type=t), "count"),
                "inside the targets": _with(res, "crime_captured", crime_type=t),
                "land targeted": _with(res, "area_targeted") if t == "all" else "″",
                "PAI": _with(res, "pai", crime_type=t),
                "target-periods with a crime": _with(res, "target_hit_rate", crime_type=t),
            }
        )
    counts = area_counts(res)
    has_residents = _row(res, "resident_share", grouping="area group", group=_group_order(res)[0]) is not None
    groups = []
    for g in _group_order(res):
        w = _Where(grouping="area group", group=g)
        row = {
            "group": g,
            "areas": f"{counts.get(g, 0):,}",
            "share of targeting": _with(res, "targeting_share", **w),
            "share of crime": _with(res, "crime_share", **w),
            "targeting ÷ crime": _with(res, "ratio_to_crime", **w),
        }
        if has_residents:
            row["share of residents"] = _with(res, "resident_share", **w)
            row["targeting ÷ residents"] = _with(res, "ratio_to_residents", **w)
        groups.append(row)
    residents = []
    for g in (res.meta.get("groups") or {}).get("residents", []):
        w = _Where(grouping="residents", group=g)
        residents.append(
            {
                "residents": g,
                "share of residents": _with(res, "resident_share", **w),
                "share of targeting": _with(res, "targeting_share", **w),
                "share of crime": _with(res, "crime_share", **w),
                "targeting per resident ÷ average": _with(res, "ratio_to_residents", **w),
            }
        )
    return Headline(accuracy, groups, residents)


# -- the sentences -----------------------------------------------------------------------------------
def _clear(r: pd.Series | None) -> str:
    """'' when the ratio's interval excludes 1, else a note that it does not."""
    if r is None or not (math.isfinite(r["lo"]) and math.isfinite(r["hi"])):
        return ""
    return "" if (r["lo"] > 1 or r["hi"] < 1) else " (not clearly different from 1)"


def sentences(res: AuditResult) -> list[str]:
    """The first screen's sentences, written from the numbers (module docstring): accuracy; accuracy for
    each type group; each compared group's share of the targeting against its share of crime and of
    residents; the same for each type group; and the targeting per resident of each compared group."""
    label = _label(res)
    n_targets = int(res.meta.get("counts", {}).get("targets", 0))
    kind = res.meta.get("kind")
    crimes = _value(res, "crimes")
    days = res.meta.get("period", {}).get("days_audited", 0)
    land = percent(_value(res, "area_targeted"))
    when = "" if kind == "zones" else " on an average day"
    what = f"The {n_targets:,} {label}" if kind != "effort" else f"The {label}"
    out = [
        f"{what} covered {land} of the land{when} and held {_with(res, 'crime_captured')} of the "
        f"{value(crimes, 'count')} crimes recorded on the {days:,} days audited: "
        f"{_with(res, 'pai', long=True, unit='ratio')} their share of land (the Predictive Accuracy Index, "
        "PAI; 1 = no better than land picked at random)."
    ]
    typed = [t for t in _type_groups(res) if _row(res, "crimes", crime_type=t) is not None]
    if typed:
        parts = [
            f"{_with(res, 'crime_captured', crime_type=t)} of {t} "
            f"({value(_value(res, 'crimes', crime_type=t), 'count')} crimes), PAI "
            f"{_with(res, 'pai', crime_type=t)}"
            for t in typed
        ]
        out.append(f"They held {'; '.join(parts)}.")
    pair = _pair(res)
    if pair is not None:
        bits = []
        for i, g in enumerate(pair):
            w = _Where(grouping="area group", group=g)
            ratio = _row(res, "ratio_to_crime", **w)
            has_residents = _row(res, "resident_share", **w) is not None
            text = f"{g} areas got {percent(_value(res, 'targeting_share', **w))}"
            text += f" of {targeting_words(res)}" if i == 0 else ""
            text += f" for {percent(_value(res, 'crime_share', **w))} of the crime"
            if has_residents:
                text += f" and {percent(_value(res, 'resident_share', **w))} of the residents"
            if ratio is not None:
                text += (
                    f": {_with(res, 'ratio_to_crime', long=True, **w)} their share of crime{_clear(ratio)}"
                )
            bits.append(text)
        out.append(". ".join(bits) + ".")
        overall = [_value(res, "ratio_to_crime", grouping="area group", group=g) for g in pair]
        for t in typed:  # a type group whose targeting leans the other way than for all crimes
            found = [_row(res, "ratio_to_crime", grouping="area group", group=g, crime_type=t) for g in pair]
            rows = [r for r in found if r is not None]
            if len(rows) < len(found):
                continue
            flips = [
                math.isfinite(a)
                and math.isfinite(r["value"])
                and (a > 1) != (r["value"] > 1)
                and _clear(r) == ""
                for a, r in zip(overall, rows, strict=True)
            ]
            if not any(flips):
                continue
            shares = [
                f"{g} areas "
                + percent(_value(res, "crime_share", grouping="area group", group=g, crime_type=t))
                for g in pair
            ]
            ratios = [
                _with(res, "ratio_to_crime", long=True, grouping="area group", group=g, crime_type=t)
                + _clear(r)
                for g, r in zip(pair, rows, strict=True)
            ]
            out.append(
                f"{t[0].upper() + t[1:]} leans the other way: {join(shares)} of it, so their targeting was "
                f"{join(ratios)} their shares."
            )
    residents = (res.meta.get("groups") or {}).get("residents", [])
    shown = [g for g in (pair or ()) if g in residents] or residents[:2]
    if shown:
        parts = [
            f"{g} residents {'lived ' if i == 0 else ''}under "
            + _with(res, "ratio_to_residents", long=True, grouping="residents", group=g)
            for i, g in enumerate(shown)
        ]
        out.append(
            "Per resident (each area's targeting shared among the people living there), "
            f"{join(parts)} the city's average targeting."
        )
    return out


def chart(res: AuditResult, colors: dict[str, str]) -> Markup:
    """Every area group's share of crime (dark), of the targeting and of the residents (bars, intervals)."""
    counts = area_counts(res)
    groups = _group_order(res)
    cats = [f"{g} ({counts.get(g, 0):,} areas)" for g in groups]
    label = _label(res)
    values = {}
    has_residents = False
    for g, cat in zip(groups, cats, strict=True):
        w = _Where(grouping="area group", group=g)
        for measure, name in (
            ("crime_share", "share of crime"),
            ("targeting_share", f"share of the {label}"),
            ("resident_share", "share of residents"),
        ):
            r = _row(res, measure, **w)
            if r is not None and math.isfinite(r["value"]):
                values[(cat, name)] = page.Bar(r["value"], r["lo"], r["hi"])
                has_residents |= measure == "resident_share"
    series = [(f"share of the {label}", TARGET_COLOR)]
    if has_residents:
        series.append(("share of residents", RESIDENT_COLOR))
    return page.bar_chart(cats, series, values, ("share of crime", CRIME_COLOR), "shares by group")


# -- maps ----------------------------------------------------------------------------------------------
def _area_measure(res: AuditResult, measure: str) -> np.ndarray:
    """Per area (in the areas' order) the value of an area measure (NaN when absent)."""
    ids = _areas(res).ids
    got = res.by_area.loc[res.by_area["measure"] == measure].set_index("area_id")["value"]
    return got.reindex(pd.Index(ids, dtype=object)).to_numpy(dtype=float)


def target_overlay(res: AuditResult, units: svgmap.MapUnits, prefix: str) -> tuple[str, str]:
    """The targets' outlines as shared SVG (defs) and the markup a panel uses to draw them; hover gives a
    target's id and its crimes (up to ``MAX_OUTLINED`` targets; more are drawn as their union)."""
    import shapely

    geo = res.target_geometry
    if geo is None or len(geo) == 0:
        return "", ""
    geoms = np.asarray(geo["geometry"], dtype=object)
    info = res.by_target.set_index("target_id") if len(res.by_target) else None
    if len(geoms) > MAX_OUTLINED:
        merged = shapely.union_all(geoms)
        paths = [(units.outline_paths([merged])[0], f"{len(geoms):,} {_label(res)}")]
    else:
        titles = []
        for tid in geo["target_id"].astype(str):
            if info is not None and tid in info.index:
                r = info.loc[tid]
                titles.append(
                    f"{tid}: {value(r['crimes_inside'], 'count')} crimes inside, PAI {number(r['pai'], 2)}"
                )
            else:
                titles.append(f"{tid}: outside the areas")
        paths = list(zip(units.outline_paths(geoms), titles, strict=True))
    body = "".join(f'<path d="{d}"><title>{html.escape(t)}</title></path>' for d, t in paths if d)
    defs = (
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
        f'<g id="{prefix}-targets" fill="{TARGET_COLOR}" fill-opacity="0.75" stroke="{TARGET_OUTLINE}" '
        f'stroke-width="0.8" stroke-linejoin="round">{body}</g></defs></svg>'
    )
    return defs, f'<use href="#{prefix}-targets"/>'


def first_maps(res: AuditResult, units: svgmap.MapUnits, prefix: str = "a") -> Markup:
    """Two small maps with the targets outlined: crimes per km² of each area, and the area groups."""
    areas = _areas(res)
    defs, overlay = target_overlay(res, units, prefix)
    crimes = _area_measure(res, "crimes")
    km2 = units.aggregate(areas.frame["area_m2"].to_numpy(float)) / 1e6
    density = np.divide(units.aggregate(crimes), km2, out=np.zeros(units.n), where=km2 > 0)
    breaks = svgmap.quantile_breaks(density)
    shades = svgmap.sequential_colors(len(breaks), "Blues")
    crime_panel = svgmap.class_panel(
        units,
        prefix,
        density,
        breaks,
        shades,
        "crimes per km²",
        aggregated=True,
        suffix=" crimes per km²",
        overlay=overlay,
    )
    colors = group_colors(_group_order(res))
    group_panel = svgmap.group_panel(
        units, areas, prefix, colors, crimes, "crimes", caption="groups of areas", overlay=overlay
    )
    key = [
        *svgmap.class_legend(breaks, shades),
        *((colors[g], g) for g in _group_order(res)),
        (TARGET_COLOR, _label(res)),
    ]
    return (
        Markup(units.defs(prefix))
        + Markup(defs)
        + Markup(svgmap.figure_body([crime_panel, group_panel], key))
    )


def ratio_map(res: AuditResult, units: svgmap.MapUnits, prefix: str = "a") -> Markup:
    """Each area's share of the targeting ÷ its share of crime (areas with fewer than ``MIN_CRIMES``
    crimes grey), targets outlined."""
    targeting = units.aggregate(np.nan_to_num(_area_measure(res, "targeting_share")))
    crimes = units.aggregate(np.nan_to_num(_area_measure(res, "crimes")))
    total = crimes.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = targeting / (crimes / total) if total > 0 else np.full(units.n, np.nan)
    cls = svgmap.classify(ratio, svgmap.RATIO_BOUNDS)
    colors, titles = [], []
    for k in range(units.n):
        if crimes[k] < MIN_CRIMES:
            colors.append("#d9d9d9")
            what = f"{crimes[k]:.0f} crimes: too few to judge"
            if targeting[k] > 0:
                what += f"; {percent(targeting[k])} of the targeting"
        elif targeting[k] == 0:
            colors.append(svgmap.RATIO_COLORS[0])
            what = f"not targeted, {crimes[k]:,.0f} crimes ({percent(crimes[k] / total)} of all)"
        else:
            colors.append(svgmap.RATIO_COLORS[cls[k]])
            what = f"targeting ÷ crime {times(ratio[k], long=False)} ({crimes[k]:,.0f} crimes)"
        titles.append(f"{units.names[k]}: {what}")
    _, overlay = target_overlay(res, units, prefix)
    panel = units.panel(prefix, colors, titles, "targeting ÷ crime", overlay)
    key = [
        *zip(svgmap.RATIO_COLORS, svgmap.RATIO_LABELS, strict=True),
        ("#d9d9d9", f"fewer than {MIN_CRIMES} crimes"),
    ]
    return Markup(svgmap.figure_body([panel], key))


# -- details tables ------------------------------------------------------------------------------------
def type_rows(res: AuditResult) -> list[dict[str, str]]:
    """Accuracy and exposure of the compared pair for every crime-type selection."""
    types = list(dict.fromkeys(res.overall["crime_type"].astype(str)))
    pair = _pair(res)
    rows = []
    for t in types:
        if _row(res, "crimes", crime_type=t) is None:
            continue
        row = {
            "crimes": "all crimes" if t == "all" else t,
            "number": value(_value(res, "crimes", crime_type=t), "count"),
            "inside the targets": _with(res, "crime_captured", crime_type=t),
            "PAI": _with(res, "pai", crime_type=t),
            "target-periods with one": _with(res, "target_hit_rate", crime_type=t),
        }
        for g in pair or ():
            w = _Where(grouping="area group", group=g, crime_type=t)
            row[f"{g} areas: share of crime"] = _with(res, "crime_share", **w)
            row[f"{g}: targeting ÷ crime"] = _with(res, "ratio_to_crime", **w)
        rows.append(row)
    return rows


def most_targeted_rows(res: AuditResult, n: int = 15) -> list[dict[str, str]]:
    """The ``n`` areas with the largest share of the targeting: days targeted, longest streak, crimes."""
    wide = res.area_table()
    if "targeting_share" not in wide.columns:
        return []
    top = wide.sort_values("targeting_share", ascending=False, kind="stable").head(n)
    top = top[top["targeting_share"] > 0]
    days = res.meta.get("period", {}).get("days_audited", 0)
    rows = []
    for r in top.to_dict("records"):
        rows.append(
            {
                "area": r["name"],
                "group": r["area_group"],
                "share of targeting": percent(r["targeting_share"]),
                "share of crime": percent(r.get("crime_share", float("nan"))),
                "targeting ÷ crime": times(r.get("ratio_to_crime", float("nan")), long=False),
                "land targeted": percent(r.get("area_targeted", float("nan"))),
                "days targeted": f"{int(r.get('days_targeted', 0)):,} of {days:,}",
                "longest streak": f"{int(r.get('longest_streak', 0)):,} days",
            }
        )
    return rows


def untargeted_rows(res: AuditResult, n: int = 10) -> list[dict[str, str]]:
    """The ``n`` areas with the most crime among those never targeted."""
    wide = res.area_table()
    if "crimes" not in wide.columns:
        return []
    days = wide.get("days_targeted", pd.Series(0, index=wide.index))
    none = wide[(days == 0) & (wide["crimes"] > 0)].sort_values("crimes", ascending=False, kind="stable")
    return [
        {
            "area": r["name"],
            "group": r["area_group"],
            "crimes": value(r["crimes"], "count"),
            "share of crime": percent(r.get("crime_share", float("nan"))),
        }
        for r in none.head(n).to_dict("records")
    ]


def target_rows(res: AuditResult, n: int = 15) -> tuple[list[dict[str, str]], str]:
    """The ``n`` targets with the most crimes inside, and a sentence about all of them."""
    t = res.by_target
    if t.empty:
        return [], ""
    top = t.sort_values("crimes_inside", ascending=False, kind="stable").head(n)
    rows = [
        {
            "target": r["target_id"],
            "main area": r["main_area_name"],
            "areas": f"{int(r['areas'])}",
            "size": _size(r["m2"]),
            "days active": f"{int(r['days_active']):,}",
            "crimes inside": value(r["crimes_inside"], "count"),
            "periods with a crime": percent(r["hit_rate"]),
            "PAI": number(r["pai"], 2),
        }
        for r in top.to_dict("records")
    ]
    empty = int((t["crimes_inside"] == 0).sum())
    median = float(np.nanmedian(t["pai"])) if t["pai"].notna().any() else float("nan")
    text = (
        f"{len(t):,} {_label(res)} lie (at least partly) in the areas; {empty:,} of them held no crime "
        f"at all while active. Their median PAI is {number(median, 2)} (a target's share of crime over its "
        "share of land-days; a crime inside two overlapping targets counts for both)."
    )
    return rows, text


def _size(m2: float) -> str:
    return f"{number(m2 / 1e6, 2)} km²" if m2 >= 10_000 else f"{value(m2, 'count')} m²"


def tier_rows(res: AuditResult) -> list[dict[str, str]]:
    """The Markup's tiers: each tier's share of residents of each group against the city's."""
    t = res.tiers
    if t.empty:
        return []
    rows = []
    for r in t.to_dict("records"):
        rows.append(
            {
                "tier": f"{r['tier']} targeted ({int(r['n_areas'])} areas)",
                "grouping": r["grouping"],
                "group": r["group"],
                "share in the tier": percent(r["share"]),
                "share in the city": percent(r["jurisdiction_share"]),
                "relative difference": signed(r["relative_change"], "share"),
            }
        )
    return rows


def calibration_rows(res: AuditResult) -> list[dict[str, str]]:
    """Observed ÷ expected and the reliability table (targets with scores)."""
    c = res.calibration
    if c.empty:
        return []
    rows = []
    for r in c.to_dict("records"):
        rows.append(
            {
                "grouping": r["grouping"],
                "group": r["group"],
                "scores": f"{number(r['score_low'], 3)} to {number(r['score_high'], 3)}",
                "target-periods": value(r["target_periods"], "count"),
                "mean score": number(r["mean_score"], 3),
                "mean crimes inside": with_interval(
                    r["mean_observed"], r["mean_observed_lo"], r["mean_observed_hi"], "index"
                ),
                "share with a crime": with_interval(
                    r["hit_share"], r["hit_share_lo"], r["hit_share_hi"], "share"
                ),
            }
        )
    return rows


def calibration_summary(res: AuditResult) -> list[dict[str, str]]:
    """Observed ÷ expected crimes and the calibration slope, overall and per group of areas."""
    rows = []
    for grouping, groups in (("overall", ["all"]), ("area group", _group_order(res))):
        for g in groups:
            where: _Where = {} if grouping == "overall" else _Where(grouping=grouping, group=g)
            o = _row(res, "observed_to_expected", **where)
            if o is None:
                continue
            rows.append(
                {
                    "group": "all targets" if grouping == "overall" else f"{g} areas",
                    "crimes observed ÷ predicted": _with(res, "observed_to_expected", **where),
                    "calibration slope": _with(res, "calibration_slope", **where),
                }
            )
    return rows


def trend_rows(res: AuditResult) -> list[dict[str, str]]:
    """The trends: change per month (week, day) of each measure, with intervals, overall and by group."""
    t = res.trends
    constant = (t["slope"] == 0) & (t["lo"].fillna(0) == 0) & (t["hi"].fillna(0) == 0)
    rows = []
    for r in t.loc[~constant].to_dict("records"):
        m = MEASURES[r["measure"]]
        unit = {"share": "points", "ratio": "index"}.get(m.unit, m.unit)
        clear = math.isfinite(r["lo"]) and (r["lo"] > 0 or r["hi"] < 0)
        rows.append(
            {
                "measure": m.label,
                "group": "all" if r["grouping"] == "overall" else f"{r['group']} ({r['grouping']})",
                f"change per {r['per']}": with_interval(r["slope"], r["lo"], r["hi"], unit),
                "direction": ("↑ grew" if r["slope"] > 0 else "↓ shrank") if clear else "no clear trend",
            }
        )
    return rows


def notes_rows(res: AuditResult) -> list[dict[str, str]]:
    return [{"what": r["message"]} for r in res.notes.to_dict("records")]


# -- the trend figure ----------------------------------------------------------------------------------
def period_figure(res: AuditResult, colors: dict[str, str]):
    """By month (week, day): the share of crime inside the targets and of land targeted, and each area
    group's targeting ÷ crime, with 95 % bands."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from fairpatrol.report.figures import compact, interval_band
    from fairpatrol.report.style import base_layout, esc

    p = res.by_period
    if p.empty:
        return None
    per = str(p["per"].iloc[0])
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["accuracy (share)", "targeting ÷ crime, by group of areas"],
        horizontal_spacing=0.1,
    )
    lines = [
        ("crime_captured", "crime inside the targets", TARGET_COLOR),
        ("area_targeted", "land targeted", "#777777"),
    ]
    for measure, name, color in lines:
        s = p[(p["grouping"] == "overall") & (p["measure"] == measure)]
        if s.empty:
            continue
        x = s["period"].to_numpy()
        fig.add_trace(
            interval_band(x, s["lo"].to_numpy() * 100, s["hi"].to_numpy() * 100, color, 0.2, name), 1, 1
        )
        fig.add_trace(
            go.Scatter(
                x=[str(np.datetime64(v, "D")) for v in x],
                y=compact(s["value"].to_numpy() * 100),
                mode="lines+markers",
                name=esc(name),
                legendgroup=name,
                line=dict(color=color),
                hovertemplate=f"{esc(name)}<br>%{{x|%Y-%m}}: %{{y:.2f}} %<extra></extra>",
            ),
            1,
            1,
        )
    for g in _group_order(res):
        s = p[(p["grouping"] == "area group") & (p["group"] == g) & (p["measure"] == "ratio_to_crime")]
        if s.empty or not s["value"].notna().any():
            continue
        x = s["period"].to_numpy()
        fig.add_trace(interval_band(x, s["lo"].to_numpy(), s["hi"].to_numpy(), colors[g], 0.15, g), 1, 2)
        fig.add_trace(
            go.Scatter(
                x=[str(np.datetime64(v, "D")) for v in x],
                y=compact(s["value"].to_numpy()),
                mode="lines+markers",
                name=esc(g),
                legendgroup=g,
                line=dict(color=colors[g]),
                hovertemplate=f"{esc(g)}<br>%{{x|%Y-%m}}: %{{y:.2f}}×<extra></extra>",
            ),
            1,
            2,
        )
    fig.add_hline(y=1, line=dict(color="#999", dash="dot", width=1), row=1, col=2)
    fig.update_yaxes(title_text="%", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="×", row=1, col=2, rangemode="tozero")
    base_layout(fig, 400)
    fig.update_layout(margin=dict(t=40, b=90), legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))
    return fig, per


# -- downloads -----------------------------------------------------------------------------------------
def area_download_rows(res: AuditResult) -> list[dict[str, Any]]:
    """One row per area: group and every area measure (point estimates, six significant digits)."""
    wide = res.area_table()
    measures = [c for c in wide.columns if c not in ("area_id", "name", "area_group")]
    return [
        {
            "area_id": r["area_id"],
            "name": r["name"],
            "group": r["area_group"],
            **{m: page.rounded(r[m]) for m in measures},
        }
        for r in wide.to_dict("records")
    ]


def downloads(res: AuditResult, name: str) -> list[Markup]:
    """The tables (CSV) and the areas and targets with their results (GeoJSON), inside the page."""
    links = []
    for table, label in (
        ("overall", "Accuracy, overall and by crime type (CSV)"),
        ("by_group", "Groups of areas and of residents (CSV)"),
        ("by_target", f"Each of the {_label(res)} (CSV)"),
        ("by_period", "By month (CSV)"),
        ("notes", "Notes (CSV)"),
    ):
        frame = res.table(table)
        if frame.empty:
            continue
        text = frame.to_csv(index=False)
        links.append(
            page.download(f"{name}-{table.replace('_', '-')}.csv", text, "text/csv", label, f"dl-{table}")
        )
    rows = area_download_rows(res)
    links.append(
        page.download(
            f"{name}-areas.csv", page.csv_text(rows), "text/csv", "Per-area results (CSV)", "dl-areas"
        )
    )
    geo = "application/geo+json"
    text, size = page.geojson_text(_areas(res).to_wgs84(), rows, MAX_GEOJSON)
    if text is not None:
        links.append(
            page.download(f"{name}-areas.geojson", text, geo, "Areas with results (GeoJSON)", "dl-geo")
        )
    else:
        links.append(
            Markup(
                f"<span class='muted'>No GeoJSON of the areas: it would take {size / 1e6:.1f} MB; use "
                "areas.parquet and by_area.csv of the results.</span>"
            )
        )
    target_frame = res.target_geometry
    if target_frame is not None and len(target_frame):
        targets = _targets_wgs84(res, target_frame)
        info = res.by_target.set_index("target_id")
        trows = []
        for tid in target_frame["target_id"].astype(str):
            r = info.loc[tid].to_dict() if tid in info.index else {}
            trows.append(
                {
                    "target_id": tid,
                    **{k: page.rounded(v) if isinstance(v, float) else v for k, v in r.items()},
                }
            )
        text, size = page.geojson_text(targets, trows, MAX_GEOJSON)
        if text is not None:
            links.append(
                page.download(
                    f"{name}-targets.geojson",
                    text,
                    geo,
                    f"{_label(res)} with results (GeoJSON)",
                    "dl-targets",
                )
            )
        else:
            links.append(
                Markup(
                    f"<span class='muted'>No GeoJSON of the targets: it would take {size / 1e6:.1f} MB; "
                    "use targets.parquet and by_target.csv of the results.</span>"
                )
            )
    return links


def _targets_wgs84(res: AuditResult, targets: pd.DataFrame) -> np.ndarray:
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs(_areas(res).crs, "EPSG:4326", always_xy=True)
    geoms = np.asarray(targets["geometry"].to_numpy(), dtype=object)
    return shapely.transform(geoms, lambda x, y: tr.transform(x, y), interleaved=False)


# -- the context ---------------------------------------------------------------------------------------
def measure_infos(res: AuditResult) -> list[dict[str, str]]:
    """The measures shown, from the registry: label, formula and column name."""
    shown = set(res.overall["measure"]) | set(res.by_group["measure"]) | set(res.by_area["measure"])
    return [
        {"name": m.name, "label": m.label, "formula": m.formula} for m in MEASURES.values() if m.name in shown
    ]


def caveats(res: AuditResult) -> list[str]:
    """Every caveat in words: the config's, the incidents' cleaning notes and warnings, the areas' notes."""
    data = res.meta.get("data") or {}
    cleaning = (data.get("incidents") or {}).get("cleaning") or {}
    out = list(res.meta.get("caveats") or [])
    out += list(cleaning.get("warnings") or [])
    out += list(cleaning.get("notes") or [])
    out += [f"Areas: {n}" for n in (data.get("areas") or {}).get("notes") or []]
    return list(dict.fromkeys(c[:1].upper() + c[1:] for c in out if c))


def build_audit_context(
    res: AuditResult, *, results_dir: str = ".", config_text: str | None = None
) -> dict[str, Any]:
    """Everything the audit template shows (module docstring)."""
    from fairpatrol.errors import FairpatrolError
    from fairpatrol.report.sections import FigureMaker

    if res.areas is None:
        raise FairpatrolError(
            f"{results_dir}: no areas.parquet: this audit was written without its areas; write it again with "
            "this version of fairpatrol to report on it"
        )
    colors = group_colors(_group_order(res))
    units = svgmap.MapUnits.from_areas(res.areas)
    make = FigureMaker()
    figure = None
    made = period_figure(res, colors)
    if made is not None:
        fig, per = made
        figure = make(
            fig,
            f"By {per}",
            f"Left: the share of each {per}'s crime inside the targets and the share of land targeted "
            f"(bands: 95 % intervals over days). Right: each group's share of the targeting divided by its "
            f"share of that {per}'s crime (1 = in proportion).",
        )
    meta = res.meta
    name = str(meta.get("name") or "audit")
    data = meta.get("data") or {}
    head = headline_rows(res)
    targets_rows, targets_text = target_rows(res)
    p = meta.get("period", {})
    ti = meta.get("targets_info") or {}
    return {
        "title": f"{data.get('city') or meta.get('city', '')}: audit of the {_label(res)}",
        "city": data.get("city") or str(meta.get("city", "")).title(),
        "name": name,
        "description": meta.get("description", ""),
        "label": _label(res),
        "targeting_words": targeting_words(res),
        "targets_info": ti,
        "kind": meta.get("kind"),
        "period": p,
        "coverage": meta.get("incidents_coverage") or meta.get("incidents_dates") or {},
        "counts": meta.get("counts", {}),
        "n_crimes": value(_value(res, "crimes"), "count"),
        "sentences": sentences(res),
        "chart": chart(res, colors),
        "maps": first_maps(res, units),
        "ratio_map": ratio_map(res, units),
        "accuracy_rows": head.accuracy,
        "group_rows": head.groups,
        "resident_rows": head.residents,
        "type_rows": type_rows(res),
        "most_targeted": most_targeted_rows(res),
        "untargeted": untargeted_rows(res),
        "target_rows": targets_rows,
        "target_text": targets_text,
        "trend_rows": trend_rows(res),
        "period_fig": figure,
        "calibration_rows": calibration_rows(res),
        "calibration_summary": calibration_summary(res),
        "score_kind": meta.get("score_kind"),
        "tier_rows": tier_rows(res),
        "notes_rows": notes_rows(res),
        "caveats": caveats(res),
        "group_description": data.get("areas", {}).get("description") or meta.get("group_description") or "",
        "population": meta.get("population") or {},
        "population_description": meta.get("population_description", ""),
        "incidents": data.get("incidents") or {},
        "cleaning": (data.get("incidents") or {}).get("cleaning") or {},
        "dataset_notes": data.get("provenance", ""),
        "areas_crs": res.areas.crs,
        "n_areas": res.areas.n,
        "measure_infos": measure_infos(res),
        "settings": meta.get("settings", {}),
        "software": meta.get("software", {}),
        "downloads": downloads(res, name),
        "results_dir": results_dir,
        "config_text": config_text,
        "config_uri": page.data_uri(config_text, "text/yaml") if config_text else "",
    }


def audit_context(path: str | Path, res: AuditResult, shown: str) -> dict[str, Any]:
    """:func:`build_audit_context` of a results directory (its ``audit.yaml``, when there, to download)."""
    config = Path(path) / "audit.yaml"
    text = config.read_text(encoding="utf-8") if config.is_file() else None
    return build_audit_context(res, results_dir=shown, config_text=text)
