"""The first screen of a run report: a datasheet in the manner of The Markup's per-agency datasheets.

One map, one chart and three plain sentences with numbers people read, for the report's focus scenario
and every algorithm (docs/report.md, "The datasheet"):

1. each compared group's share of the true crimes and of each algorithm's patrols;
2. patrols per crime in the first compared group's areas over the second's, as "X times";
3. the share of each group's crimes that patrols detected.

Every number is computed per run from the horizon sums of each area (``area_horizon.parquet``; older
results: summed from the allocation table), then averaged over runs with a 95 % t-interval. Below the
sentences: the same numbers in a table, every group, the over- and under-policed areas with at least
``min_crimes`` true crimes, and downloads of the per-area and per-group tables (CSV) and of the areas
with their results (GeoJSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup

import fairpatrol.report.page as page
import fairpatrol.report.svgmap as svgmap
from fairpatrol.formatting import join, percent, times, with_interval
from fairpatrol.metrics import mean_interval
from fairpatrol.metrics.fairness import disparity_ratio, group_sums, misallocated_share, rate, shares

#: Areas (or map units) with fewer true crimes than this over the horizon are not ranked or coloured by
#: their ratio: a ratio of one or two crimes says little.
MIN_CRIMES = 5
CRIME_COLOR = "#333333"
#: Columns of the per-group download.
GROUP_COLUMNS = ("scenario", "algorithm", "group", "metric", "statistic", "mean", "ci_low", "ci_high", "runs")
NO_CRIME_PATROLLED = "#c2a5cf"
FEW_CRIMES = "#d9d9d9"


@dataclass
class Stat:
    """Mean over runs with its 95 % interval."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: np.ndarray) -> Stat:
        return cls(*mean_interval(np.asarray(values, dtype=float)))

    @property
    def clear_of_one(self) -> bool:
        return bool(np.isfinite(self.low) and (self.low > 1 or self.high < 1))


@dataclass
class AlgorithmSheet:
    """Per-run horizon sums of one algorithm in the focus scenario and what follows from them."""

    algorithm: str
    patrols: np.ndarray  # runs × areas
    crimes: np.ndarray
    detected: np.ndarray
    misallocated: Stat
    detection: Stat
    group_patrol_share: list[Stat] = field(default_factory=list)
    group_crime_share: list[Stat] = field(default_factory=list)
    group_ratio: list[Stat] = field(default_factory=list)
    group_detection: list[Stat] = field(default_factory=list)
    pair_ratio: Stat | None = None


class Datasheet:
    """Builds the datasheet of ``res`` for scenario ``focus``.

    ``crimes`` (areas) are the published horizon crimes per area (privacy-noised in privacy mode) used
    for the map and the area lists; the group numbers use each run's own counts (group-wide totals, like
    the city-wide measures, are not noised).
    """

    def __init__(self, res, focus: str, crimes: np.ndarray, min_crimes: int = MIN_CRIMES) -> None:
        self.res = res
        self.focus = focus
        self.published = np.asarray(crimes, dtype=float)
        self.min_crimes = int(min_crimes)
        areas = res.areas
        self.groups = list(areas.group_names)
        self.index = areas.group_index
        self.sheets = [self._sheet(alg) for alg in res.algorithms]

    def _sheet(self, alg: str) -> AlgorithmSheet:
        arr = self.res.area_arrays(self.focus, alg)
        p, c, d = arr["patrol_days"], arr["true_crimes"], arr["detected_crimes"]
        n_g = len(self.groups)
        gp, gc, gd = (group_sums(x, self.index, n_g) for x in (p, c, d))
        ratio = disparity_ratio(gp, gc)
        det = rate(gd, gc)
        s = AlgorithmSheet(
            alg,
            p,
            c,
            d,
            misallocated=Stat.of(misallocated_share(p, c)),
            detection=Stat.of(rate(d.sum(axis=1), c.sum(axis=1))),
        )
        s.group_patrol_share = [Stat.of(shares(gp)[:, g]) for g in range(n_g)]
        s.group_crime_share = [Stat.of(shares(gc)[:, g]) for g in range(n_g)]
        s.group_ratio = [Stat.of(ratio[:, g]) for g in range(n_g)]
        s.group_detection = [Stat.of(det[:, g]) for g in range(n_g)]
        with np.errstate(divide="ignore", invalid="ignore"):
            s.pair_ratio = Stat.of(ratio[:, 0] / ratio[:, 1]) if n_g >= 2 else None
        return s

    # -- the three sentences -----------------------------------------------------------------------------
    def sentences(self) -> list[str]:
        g1, g2 = self.res.group_pair
        s = self.sheets
        out = []
        parts = []
        for gi, g in enumerate((g1, g2)):
            crime = percent(s[0].group_crime_share[gi].mean)
            got = [percent(x.group_patrol_share[gi].mean) for x in s]
            if gi == 0:
                whose = join(
                    [
                        f"{v} of {x.algorithm}'s patrols" if i == 0 else f"{v} of {x.algorithm}'s"
                        for i, (v, x) in enumerate(zip(got, s, strict=True))
                    ]
                )
                parts.append(f"{g} areas had {crime} of the true crimes and received {whose}")
            else:
                parts.append(f"{g} areas had {crime} and received {join(got)}")
        out.append("; ".join(parts) + ".")
        pairs = [(x.algorithm, x.pair_ratio) for x in s if x.pair_ratio is not None]
        if len(pairs) == len(s):
            ratios = [
                f"{times(r.mean)} the patrols of {g2} areas under {alg}"
                if i == 0
                else f"{times(r.mean)} under {alg}"
                for i, (alg, r) in enumerate(pairs)
            ]
            text = f"Per crime, {g1} areas got {join(ratios)} (1 = the same patrols per crime"
            clear = [alg for alg, r in pairs if r.clear_of_one]
            if not clear:
                text += "; none of these differs clearly from 1"
            elif len(clear) < len(s):
                text += f"; the difference is clear under {join(clear)} only"
            else:
                text += "; every difference is clear"
            out.append(text + ", at the 95 % level).")
        det = []
        for i, x in enumerate(s):
            first, second = (percent(x.group_detection[k].mean) for k in (0, 1))
            if i == 0:
                where = f"of the crimes in {g1} areas and {second} of those in {g2} areas"
                det.append(f"{first} {where} under {x.algorithm}")
            else:
                det.append(f"{first} and {second} under {x.algorithm}")
        out.append(f"Patrols detected {'; '.join(det)}.")
        return out

    # -- the chart ---------------------------------------------------------------------------------------
    def chart(self, colors: dict[str, str]) -> Markup:
        counts = self.res.areas.group_counts()
        cats = [f"{g} ({counts[g]:,} areas)" for g in self.groups]
        values = {}
        for gi, cat in enumerate(cats):
            c = self.sheets[0].group_crime_share[gi]
            values[(cat, "share of true crimes")] = page.Bar(c.mean, c.low, c.high)
            for x in self.sheets:
                p = x.group_patrol_share[gi]
                values[(cat, f"{x.algorithm}'s patrols")] = page.Bar(p.mean, p.low, p.high)
        series = [(f"{x.algorithm}'s patrols", colors[x.algorithm]) for x in self.sheets]
        return page.bar_chart(
            cats, series, values, ("share of true crimes", CRIME_COLOR), "share of crime and of patrols"
        )

    # -- the map -----------------------------------------------------------------------------------------
    def unit_ratios(self, units: svgmap.MapUnits, x: AlgorithmSheet) -> tuple[np.ndarray, np.ndarray]:
        """Per map unit: the patrol share ÷ crime share over the horizon (mean patrols over runs, published
        crimes) and the unit's crimes."""
        patrols = units.aggregate(x.patrols.mean(axis=0))
        crimes = units.aggregate(self.published)
        return disparity_ratio(patrols, crimes), crimes

    def map(self, units: svgmap.MapUnits, prefix: str = "m") -> Markup:
        """Small multiples (one per algorithm) of each map unit's patrol share ÷ crime share (the map
        geometry ``units.defs(prefix)`` must be in the page once)."""
        colors_of = list(svgmap.RATIO_COLORS)
        panels = []
        names = units.names
        for x in self.sheets:
            ratio, crimes = self.unit_ratios(units, x)
            patrols = units.aggregate(x.patrols.mean(axis=0))
            cls = svgmap.classify(ratio, svgmap.RATIO_BOUNDS)
            colors, titles = [], []
            for k in range(units.n):
                if crimes[k] == 0:
                    colors.append(NO_CRIME_PATROLLED if patrols[k] > 0 else svgmap.NO_DATA)
                    what = "no crime, patrolled" if patrols[k] > 0 else "no crime, no patrol"
                elif crimes[k] < self.min_crimes:
                    colors.append(FEW_CRIMES)
                    what = f"{crimes[k]:.0f} crimes: too few to judge"
                else:
                    colors.append(colors_of[cls[k]])
                    what = f"patrols ÷ crime {times(ratio[k], long=False)} ({crimes[k]:.0f} crimes)"
                titles.append(f"{names[k]}: {what}")
            panels.append(units.panel(prefix, colors, titles, x.algorithm))
        key = [*zip(svgmap.RATIO_COLORS, svgmap.RATIO_LABELS, strict=True)]
        key += [
            (FEW_CRIMES, f"fewer than {self.min_crimes} crimes"),
            (NO_CRIME_PATROLLED, "patrolled, no crime"),
        ]
        drawn = {
            "areas": "",
            "parent areas": f" (drawn as {units.n:,} parent areas)",
            "raster": " (drawn as an image: too many areas for outlines)",
        }[units.what]
        note = (
            Markup(
                f'<p class="muted map-note">{len(names):,} map units{drawn}; hover an area for its name '
                "and numbers.</p>"
            )
            if units.what != "raster"
            else Markup(f'<p class="muted map-note">{drawn.strip()}.</p>')
        )
        return (
            Markup(units.defs("m"))
            + Markup('<div class="panels">')
            + Markup("").join(Markup(p) for p in panels)
            + Markup("</div>")
            + Markup(svgmap.legend(key))
            + note
        )

    # -- tables ------------------------------------------------------------------------------------------
    def numbers_rows(self) -> list[dict[str, str]]:
        """Per algorithm: the headline numbers with their intervals."""
        g1, g2 = self.res.group_pair
        rows = []
        for x in self.sheets:
            rows.append(
                {
                    "algorithm": x.algorithm,
                    "patrols out of proportion to crime": with_interval(
                        x.misallocated.mean, x.misallocated.low, x.misallocated.high, "share"
                    ),
                    f"patrols per crime, {g1} ÷ {g2}": with_interval(
                        x.pair_ratio.mean, x.pair_ratio.low, x.pair_ratio.high, "ratio"
                    )
                    if x.pair_ratio
                    else "n/a",
                    "crimes detected": with_interval(
                        x.detection.mean, x.detection.low, x.detection.high, "share"
                    ),
                }
            )
        return rows

    def group_rows(self) -> list[dict[str, str]]:
        """Every group: areas, share of crime, and per algorithm its share of patrols and the ratio."""
        counts = self.res.areas.group_counts()
        rows = []
        for gi, g in enumerate(self.groups):
            crime = self.sheets[0].group_crime_share[gi]
            row = {"group": g, "areas": f"{counts[g]:,}", "share of true crimes": percent(crime.mean)}
            for x in self.sheets:
                p, r = x.group_patrol_share[gi], x.group_ratio[gi]
                ratio = "no crime: undefined" if not np.isfinite(r.mean) else times(r.mean, long=False)
                row[f"{x.algorithm}: share of patrols (÷ crime share)"] = f"{percent(p.mean)} ({ratio})"
                d = x.group_detection[gi]
                row[f"{x.algorithm}: crimes detected"] = (
                    percent(d.mean) if np.isfinite(d.mean) else "no crime"
                )
            rows.append(row)
        return rows

    def area_table(self) -> list[dict[str, Any]]:
        """Per area and algorithm (mean over runs): patrol-days, share of patrols, crimes, share of crime,
        ratio: the per-area download."""
        areas = self.res.areas
        crime_share = shares(self.published)
        rows = []
        for i in range(areas.n):
            row: dict[str, Any] = {
                "area_id": areas.ids[i],
                "name": areas.names[i],
                "group": areas.groups[i],
                "true_crimes": page.rounded(self.published[i]),
                "true_crime_share": page.rounded(crime_share[i]),
            }
            for x in self.sheets:
                p = x.patrols.mean(axis=0)
                share = p[i] / p.sum() if p.sum() else float("nan")
                row[f"{x.algorithm}_patrol_days"] = page.rounded(p[i])
                row[f"{x.algorithm}_patrol_share"] = page.rounded(share)
                row[f"{x.algorithm}_ratio"] = (
                    page.rounded(share / crime_share[i]) if crime_share[i] > 0 else None
                )
            rows.append(row)
        return rows

    def ranked_areas(self, top: int = 5) -> dict[str, list[dict[str, str]]]:
        """The areas most over- and most under-policed for their crime, among areas with at least
        ``min_crimes`` true crimes: the ``top`` of each algorithm (patrol share ÷ crime share over the
        horizon, mean patrols over runs), one row per area with every algorithm's ratio, ordered by the
        ratio averaged (geometrically) over the algorithms. Keys: ``over``, ``under``."""
        areas = self.res.areas
        eligible = self.published >= self.min_crimes
        crime_share = shares(self.published)
        ratios = {}
        for x in self.sheets:
            r = disparity_ratio(x.patrols.mean(axis=0), self.published)
            ratios[x.algorithm] = np.where(eligible, r, np.nan)
        out = {}
        for kind, sign in (("over", -1.0), ("under", 1.0)):
            chosen: dict[int, None] = {}
            for r in ratios.values():
                key = np.where(np.isfinite(r) & (r > 0), sign * np.log(np.where(r > 0, r, 1.0)), np.inf)
                side = (r > 1) if kind == "over" else (r < 1)
                for i in np.argsort(key, kind="stable")[:top]:
                    if np.isfinite(key[i]) and side[i]:
                        chosen[int(i)] = None
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_log = {i: float(np.nanmean([np.log(r[i]) for r in ratios.values()])) for i in chosen}
            order = sorted(chosen, key=lambda i: sign * mean_log[i])
            rows = []
            for i in order:
                row = {
                    "area": areas.names[i],
                    "group": areas.groups[i],
                    "true crimes": f"{self.published[i]:,.0f}",
                    "share of crime": percent(crime_share[i]),
                }
                for alg, r in ratios.items():
                    row[f"{alg}: patrols ÷ crime"] = times(r[i], long=False)
                rows.append(row)
            out[kind] = rows
        return out

    # -- downloads ---------------------------------------------------------------------------------------
    def geojson(self, max_bytes: int = 600_000) -> tuple[str | None, str]:
        """The areas (lon/lat) with their per-area results of the focus scenario as GeoJSON
        (:func:`fairpatrol.report.page.geojson_text`); None with the reason when larger than ``max_bytes``."""
        text, size = page.geojson_text(self.res.areas.to_wgs84(), self.area_table(), max_bytes)
        if text is None:
            return None, (
                f"the areas as GeoJSON would take {size / 1e6:.1f} MB: use areas.parquet and "
                "area_horizon.parquet of the results instead"
            )
        return text, ""

    def downloads(self, group_rows: list[dict[str, Any]]) -> list[Markup]:
        """Links to the per-area and per-group tables (CSV) and the areas with results (GeoJSON)."""
        name = self.res.config.name
        areas = page.csv_text(self.area_table())
        groups = page.csv_text(group_rows)
        links = [
            page.download(f"{name}-areas.csv", areas, "text/csv", "Per-area results (CSV)", "dl-areas"),
            page.download(f"{name}-groups.csv", groups, "text/csv", "Per-group results (CSV)", "dl-groups"),
        ]
        text, why = self.geojson()
        if text is not None:
            geo = "application/geo+json"
            links.append(
                page.download(f"{name}-areas.geojson", text, geo, "Areas with results (GeoJSON)", "dl-geo")
            )
        else:
            links.append(Markup(f"<span class='muted'>No GeoJSON: {why}.</span>"))
        return links


def group_download_rows(res) -> list[dict[str, Any]]:
    """Every scenario, algorithm and group: the group horizon metrics' means and 95 % intervals (from
    ``group_summary.csv``; older results: the daily group metrics' levels)."""
    gs = res.group_summary
    if gs is None:
        return []
    keep = gs[gs["statistic"] == "horizon"]
    if keep.empty:  # older results: the daily group metrics' levels
        keep = gs[gs["statistic"] == "level"]
    cols = [c for c in GROUP_COLUMNS if c in keep.columns]
    rows = keep[cols].to_dict("records")
    for row in rows:
        for k in ("mean", "ci_low", "ci_high"):
            row[k] = page.rounded(row[k])
    return rows
