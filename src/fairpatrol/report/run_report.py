"""The report of a ``fairpatrol run`` directory (or of one sweep cell): one method per section.

:class:`RunReport` gathers what the sections share (the results, the focus scenario and run, the replay,
the privacy ledger and the published crime counts); each ``*_section`` method returns the template
variables of one section. The order of the privacy releases is fixed by :func:`releases`, so the budget is
split before anything is published.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import yaml
from markupsafe import Markup

import fairpatrol.report.analysis as analysis
import fairpatrol.report.explain as explain
import fairpatrol.report.figures as figures
import fairpatrol.report.svgmap as svgmap
from fairpatrol.errors import FairpatrolError
from fairpatrol.formatting import join, natural_key, value, with_interval
from fairpatrol.metrics.registry import EPS_FACTORS, STUDY_CAVEATS, metric
from fairpatrol.models.describe import Contribution
from fairpatrol.report.cards import model_cards
from fairpatrol.report.datasheet import Datasheet, group_download_rows
from fairpatrol.report.page import data_uri, dataset_notes, shown_path
from fairpatrol.report.privacy import PrivacyLedger
from fairpatrol.report.sections import Figure, FigureMaker, Section
from fairpatrol.report.style import colors_for, group_colors
from fairpatrol.report.summary import (
    FAIRNESS,
    NEED,
    findings,
    metric_info,
    need_findings,
    pct,
    share,
    sig,
    trend_table,
    unit_of,
)
from fairpatrol.results.run import RunResults, scenario_from_document

HORIZON = "crimes per area over the horizon"
RINGS = "crimes per area in look-back windows"
DAILY = "crimes per day, city-wide"
EXPLAINED = "learned incidents of the explained areas: {}"


def releases(res: RunResults, replay_ok: bool) -> tuple[str, ...]:
    """The area-level count tables the report publishes (each one privacy release)."""
    names = [HORIZON]
    if replay_ok:
        names += [RINGS, DAILY, *(EXPLAINED.format(a) for a in res.algorithms)]
    return tuple(names)


def default_focus(res: RunResults) -> str:
    """The scenario the maps, explanations and calibration show by default: most officers, then the
    highest reporting probability (where patrol maps are most legible)."""
    cells = res.cells.drop_duplicates("scenario")
    best = cells.sort_values(["n_officers", "report_prob"], ascending=False, kind="stable").iloc[0]
    return str(best["scenario"])


class RunReport:
    """Builds the template context of a run report."""

    def __init__(
        self,
        res: RunResults,
        *,
        day: str | None = None,
        scenario: str | None = None,
        run: int | None = None,
        dp_epsilon: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.res = res
        self.make = FigureMaker()
        self.infos = metric_info(res.group_pair)
        self.focus = scenario or default_focus(res)
        self.run = res.runs[0] if run is None else int(run)
        explain.check_focus(res, self.focus, self.run)
        self.day = explain.resolve_day(res, day)
        self.dates = np.asarray(res.dates.to_pydatetime())
        self.short = [(s, res.short_label(s)) for s in res.scenarios]
        self.names = dict(zip(res.areas.ids, res.areas.names, strict=True))
        self.index = {a: i for i, a in enumerate(res.areas.ids)}
        self.replay_error: str | None = None
        self.rs: explain.ReplaySet | None = None
        try:  # the study's incidents may be a user file that has moved since the run
            inputs = explain.load_replay_inputs(res)
        except (FairpatrolError, OSError) as err:
            self.replay_error = f"the study's incidents could not be read again ({err})"
        else:
            self.rs = explain.replay(res, self.focus, self.run, inputs)
        self.ledger = PrivacyLedger(dp_epsilon, releases(res, self.rs is not None), rng)
        # the replayed incidents (before any world effect); equal to every run's crimes without world effects
        exact = self.rs.truth() if self.rs is not None else res.crimes_by_day
        self.horizon_exact = exact.sum(axis=0).astype(float)
        self.horizon = self.ledger.release(
            HORIZON,
            "true crimes of each area summed over the simulated days (maps, area tables and downloads, "
            "over-policed table, calibration)",
            self.horizon_exact,
        )
        self.units = svgmap.MapUnits.from_areas(res.areas)
        self.sheet = Datasheet(res, self.focus, self.horizon)
        self.colors = colors_for(res.algorithms)

    def incident_text(self, t: Contribution) -> str:
        return f"{t.date} in {self.names.get(t.area_id, t.area_id)} (+{t.value:.3f}, {t.learned_as})"

    def noted(self, text: str) -> str:
        return text + (" (noised)" if self.ledger.active else "")

    # -- sections ---------------------------------------------------------------------------------------
    def map_figure(self, key: str, title: str, caption: str, panels: list[str], legend: list) -> Figure:
        return Figure(f"map-{key}", title, Markup(svgmap.figure_body(panels, legend)), caption)

    def maps_section(self) -> Section:
        res = self.res
        u = self.units
        first, last = res.dates[0], res.dates[-1]
        sec = Section("maps", "Where patrols went")
        gcol = group_colors(res.areas.group_names)
        panel = svgmap.group_panel(u, res.areas, "m", gcol, self.horizon, "true crimes")
        crimes = u.aggregate(self.horizon)
        breaks = svgmap.sequential_breaks(crimes)
        ccol = svgmap.sequential_colors(len(breaks), "Purples")
        sec.figures.append(
            self.map_figure(
                "context",
                self.noted(
                    f"The areas, their groups and the true crimes, {first:%Y-%m-%d} to {last:%Y-%m-%d}"
                ),
                f"Left: the {res.areas.n:,} areas coloured by group. Right: how many of the replayed true "
                "crimes happened in each area over the simulated period. Hover an area for its name and "
                "numbers.",
                [panel, svgmap.class_panel(u, "m", self.horizon, breaks, ccol, "true crimes")],
                [(gcol[g], g) for g in res.areas.group_names] + svgmap.class_legend(breaks, ccol)[1:],
            )
        )
        on = res.officers_on([first, last], self.focus)
        labels = ["first day", "last day"]
        officers = {}
        for alg in res.algorithms:
            for d, label in zip((first, last), labels, strict=True):
                sub = on[(on["algorithm"] == alg) & (on["date"] == d)]
                v = np.zeros(res.areas.n)
                v[res.areas.index_of(sub["area_id"])] = sub["officers"].to_numpy()
                officers[(alg, label)] = v
        allv = np.concatenate([u.aggregate(v) for v in officers.values()])
        breaks = svgmap.sequential_breaks(allv)
        ocol = svgmap.sequential_colors(len(breaks))
        panels = [
            svgmap.class_panel(u, "m", officers[(alg, label)], breaks, ocol, f"{alg}, {label}")
            for alg in res.algorithms
            for label in labels
        ]
        sec.figures.append(
            self.map_figure(
                "officers",
                f"Officers per area on the first and last day ({res.scenario_label(self.focus)})",
                f"Average number of officers sent to each area (mean over {len(res.runs)} runs) on the first "
                f"({first:%Y-%m-%d}) and the last ({last:%Y-%m-%d}) simulated day, two maps per algorithm. "
                "Compare algorithms to see how differently they spread patrols, and days to see how the "
                "feedback loop moved them.",
                panels,
                svgmap.class_legend(breaks, ocol),
            )
        )
        return sec

    def bars(self, names: tuple[str, ...], title: str, caption: str, statistic: str | None = None):
        res, infos = self.res, self.infos
        present = [m for m in names if not res.levels(m, statistic).empty]
        if not present:
            return None
        bars = [(m, infos[m].title + unit_of(m)[0], unit_of(m)[1]) for m in present]
        table = pd.concat([res.levels(m, statistic).assign(metric=m) for m in present], ignore_index=True)
        return self.make(figures.interval_bars(table, bars, self.short, res.algorithms), title, caption)

    def performance_section(self) -> tuple[Section, list[dict[str, str]]]:
        res, infos = self.res, self.infos
        sec = Section("performance", "The published study's metrics")
        fig = self.bars(
            FAIRNESS,
            "The study's fairness metrics by scenario and algorithm",
            f"Mean over {len(res.runs)} runs of each run's average over the days; whiskers are 95 % "
            f"intervals. Lower is fairer by the study's definitions. Caveats: {STUDY_CAVEATS}.",
        )
        if fig is not None:
            sec.figures.append(fig)
        trends = trend_table(res)
        changes = trends.assign(
            mean=trends["change"], ci_low=trends["change_low"], ci_high=trends["change_high"]
        )
        shown = [m for m in ("accuracy", *FAIRNESS) if (changes["metric"] == m).any()]
        sec.figures.append(
            self.make(
                figures.interval_bars(
                    changes,
                    [(m, infos[m].title + unit_of(m)[0], unit_of(m)[1]) for m in shown],
                    self.short,
                    res.algorithms,
                ),
                "Change over the simulated period (trend)",
                f"Least-squares trend of each daily measure times the {len(res.dates) - 1} days between the "
                "first and the last day: how much it changed over the period if it moved steadily. A whisker "
                "entirely above zero means the measure clearly grew.",
            )
        )
        arrows = {"grew": "↑ grew", "shrank": "↓ shrank", "no clear trend": "– no clear trend"}
        rows = []
        for name in dict.fromkeys(trends["metric"]):
            info = infos[name]
            for alg in res.algorithms:
                row = {"measure": info.title, "algorithm": alg}
                t = trends[(trends["metric"] == name) & (trends["algorithm"] == alg)].set_index("scenario")
                for scen, label in self.short:
                    if scen not in t.index:
                        row[label] = "n/a"
                        continue
                    r = t.loc[scen]
                    sign = "+" if r["change"] >= 0 else "−"
                    row[label] = f"{arrows[r['direction']]} ({sign}{info.fmt(abs(r['change']))})"
                rows.append(row)
        return sec, rows

    def need_section(self) -> Section:
        res, infos = self.res, self.infos
        sec = Section("need", "Fairness against need, every scenario")
        fig = self.bars(
            (*NEED, "accuracy"),
            "Patrols against crime, and accuracy, by scenario and algorithm",
            f"Mean over {len(res.runs)} runs of each run's value over the whole period; whiskers are 95 % "
            "intervals. Patrols out of proportion to crime and the worst group's factor: lower is better; "
            "the ratios between the two compared groups: closer to 1 is better; accuracy: higher is better.",
        )
        if fig is not None:
            sec.figures.append(fig)
        present = [m for m in ("misallocated_share", "disparity_factor") if not res.levels(m).empty]
        if present:
            fair = [(m, infos[m].title + unit_of(m)[0], unit_of(m)[1]) for m in present]
            sec.figures.append(
                self.make(
                    figures.tradeoff_scatter(
                        analysis.tradeoff_points(res, tuple(present)), fair, res.algorithms
                    ),
                    "Accuracy against fairness to need",
                    "Each marker is one algorithm in one scenario; marker size grows with the number of "
                    "officers. Up is more accurate, left follows crime more closely: the best trade-offs "
                    "lie top-left.",
                )
            )
        return sec

    def need_rows(self) -> list[dict[str, str]]:
        """Every scenario and algorithm: the need-based headline with intervals."""
        res = self.res
        rows = []
        for scen, label in sorted(self.short, key=lambda s: natural_key(s[0])):
            for alg in res.algorithms:
                row = {"scenario": label, "algorithm": alg}
                for name in (*NEED, "accuracy"):
                    lv = res.levels(name)
                    hit = lv[(lv["scenario"] == scen) & (lv["algorithm"] == alg)]
                    if hit.empty:
                        continue
                    h = hit.iloc[0]
                    row[self.infos[name].title] = with_interval(
                        h["mean"], h["ci_low"], h["ci_high"], metric(name).unit
                    )
                rows.append(row)
        return rows if len(rows[0]) > 2 else []

    def concentration_rows(self) -> list[dict[str, str]]:
        """Gini of the period's patrols and of the model's expected allocation next to the Gini of crime."""
        res = self.res
        names = ("gini_patrols", "gini_expected_horizon", "gini_crime", "gini_police")
        rows = []
        for scen, label in sorted(self.short, key=lambda s: natural_key(s[0])):
            for alg in res.algorithms:
                row = {"scenario": label, "algorithm": alg}
                for name in names:
                    lv = res.levels(name)
                    hit = lv[(lv["scenario"] == scen) & (lv["algorithm"] == alg)]
                    if not hit.empty:
                        h = hit.iloc[0]
                        row[self.infos[name].title] = with_interval(
                            h["mean"], h["ci_low"], h["ci_high"], "index"
                        )
                rows.append(row)
        return rows if rows and len(rows[0]) > 2 else []

    def epsilon_rows(self) -> list[dict[str, str]]:
        """The algorithm with the lowest police-to-crime gap per scenario at each ε, daily and over the
        period: does the study's ranking depend on ε?"""
        res = self.res
        rows = []
        for scen, label in sorted(self.short, key=lambda s: natural_key(s[0])):
            row = {"scenario": label}
            for window, what in (("day", "daily (study)"), ("horizon", "whole period")):
                for f in EPS_FACTORS:
                    lv = res.levels(f"pcr_gap_{window}_eps{f}")
                    lv = lv[lv["scenario"] == scen].dropna(subset=["mean"])
                    if lv.empty:
                        continue
                    order = lv.sort_values("mean", kind="stable")
                    row[f"{what}, ε × {f}"] = " < ".join(order["algorithm"])
            rows.append(row)
        return rows if rows and len(rows[0]) > 1 else []

    def time_section(self) -> Section:
        res, make = self.res, self.make
        g1, g2 = res.group_pair
        daily = analysis.daily_means(res, ["share_g1", "share_g2", "gini_police", "disparity_factor_30d"])
        sec = Section("time", "Over time: the feedback loop")
        if any(k[2] == "disparity_factor_30d" and np.isfinite(v).any() for k, v in daily.items()):
            sec.figures.append(
                self.make(
                    figures.series_figure(
                        daily,
                        self.dates,
                        self.short,
                        res.algorithms,
                        [("disparity_factor_30d", "worst group")],
                        "worst group's patrols vs crime (×)",
                    ),
                    "Patrols against crime in the last 30 days, day by day",
                    "For each day from the 30th, the group served least in proportion to its crime over "
                    "the 30 days up to that day: its share of patrols divided by its share of crime, or the "
                    "inverse when below 1 (1 = every group in proportion). Mean over runs; thick straight "
                    "lines are least-squares trends: a rising line means disparity grew.",
                )
            )
        sec.figures.append(
            make(
                figures.series_figure(
                    daily,
                    self.dates,
                    self.short,
                    res.algorithms,
                    [("share_g1", g1), ("share_g2", g2)],
                    "police share of an average area (%)",
                    percent=True,
                ),
                f"Police share of an average {g1} and {g2} area, day by day",
                f"Solid: {g1} areas; dotted: {g2} areas; thick straight lines are least-squares trends. Each "
                "value is the mean over runs of the share of all officers that an average area of the group "
                "received. Click an algorithm in the legend to hide or show it.",
            )
        )
        sec.figures.append(
            make(
                figures.series_figure(
                    daily,
                    self.dates,
                    self.short,
                    res.algorithms,
                    [("gini_police", "Gini")],
                    "Gini of officers",
                ),
                "Inequality of patrols between areas (Gini), day by day",
                "0 = every area gets the same number of officers; values near 1 = officers concentrated in a "
                "few areas. Thick lines are least-squares trends.",
            )
        )
        return sec

    def overpoliced_section(self) -> tuple[Section, list[dict[str, str]], Any]:
        res = self.res
        # with world effects (deterrence) every run saw its own crimes, unless counts must be published noised
        per_run = res.crimes_vary and not self.ledger.active
        table = analysis.overpoliced(res, None if per_run else self.horizon)
        n_keys = len(res.scenarios) * len(res.algorithms) * len(res.runs)
        sec = Section("overpoliced", "Most over-policed areas (the study's method)")
        if not table.empty:
            sec.figures.append(
                self.make(
                    figures.overpoliced_bars(
                        table, res.algorithms, f"runs in which the area was among the top 3 (of {n_keys})"
                    ),
                    "Areas most often among the three most over-policed",
                    "For every scenario, algorithm and run, the three areas with the highest police-to-crime "
                    "ratio over the whole period; bars count how often each area was among them, coloured by "
                    "algorithm.",
                )
            )
        rows = [
            {
                "area": r["name"],
                "group": r["group"],
                "in top 3": f"{int(r['times_top'])} of {n_keys} ({r['share_of_runs']:.0%})",
                "police share": share(r["police_share"]),
                "crime share": share(r["crime_share"]),
                "over-policed (police > 1.2 × crime share)": f"{r['over_policed_runs']:.0%} of runs",
            }
            for _, r in table.iterrows()
        ]
        return sec, rows, table

    def concentration_section(self) -> tuple[Section, list[dict[str, str]]]:
        sec = Section("concentration", "How concentrated is crime?")
        if self.rs is None:
            return sec, []
        windows, rings = explain.lookback_rings(self.rs.data)
        published = self.ledger.release(
            RINGS,
            "true crimes per area in disjoint rings of days before the start (1–7, 8–30, 31–90, … days)",
            rings,
        )
        cum = np.cumsum(published, axis=0)
        curves = [
            (f"last {w} days before the start", *explain.concentration_curve(cum[i], self.horizon))
            for i, w in enumerate(windows)
        ]
        curves.append(("the simulated period itself", *explain.concentration_curve(self.horizon)[:2], None))
        sec.figures.append(
            self.make(
                figures.concentration_figure(curves, "the simulated period's crime"),
                "Crime concentration in the top areas, by look-back window",
                "Solid: share of a window's crimes that fell in its top k % of areas. Dotted: share of the "
                "simulated period's crimes in those same areas (how well a hot-spot list from that window "
                "would have aimed). Short windows look more concentrated because they hold few incidents, "
                "not because crime is.",
            )
        )
        k = max(round(self.res.areas.n * 0.1), 1)
        rows = []
        for i, w in enumerate(windows):
            _, own, hit = explain.concentration_curve(cum[i], self.horizon)
            assert hit is not None  # later crime given
            rows.append(
                {
                    "look-back window": f"{w} days",
                    "crimes": f"{cum[i].sum():,.0f}",
                    "share in its top 10 % of areas": pct(own[k - 1]),
                    "share of the period's crime in those areas": pct(hit[k - 1]),
                }
            )
        return sec, rows

    def explanations_section(self) -> tuple[Section, list[dict[str, Any]]]:
        res = self.res
        sec = Section("explanations", "Why these areas?")
        if self.rs is None:
            return sec, []
        if not self.rs.replays:
            return sec, []
        explained = explain.explain_day(self.rs, res, self.day)
        out = []
        for ex in explained:
            counts = self.ledger.release(
                EXPLAINED.format(ex.algorithm),
                f"learned incidents inside each explained area in {ex.algorithm}'s training window",
                np.array([a.window_count for a in ex.areas], dtype=float),
            )
            rows = []
            for a, c in zip(ex.areas, counts, strict=True):
                row = {
                    "area": self.names.get(a.area_id, a.area_id),
                    "group": res.areas.groups[self.index[a.area_id]],
                    "forecast (incidents that day)": f"{a.intensity:.3f}",
                    "parts": "; ".join(f"{ex.part_labels[k]} {v:.3f}" for k, v in a.parts.items()),
                    "officers sent": str(a.officers),
                    "incidents in the window inside the area": value(c, "count"),
                }
                if not self.ledger.active:  # no individual incidents in privacy mode
                    row["incidents that weighed most"] = (
                        "; ".join(self.incident_text(t) for t in a.top_incidents)
                        or "none above 1 % of the forecast"
                    )
                rows.append(row)
            out.append({"ex": ex, "rows": rows})
        sec.figures.append(
            self.make(
                figures.explanation_bars(explained, self.names),
                f"What drove the forecast of the top areas on {res.dates[self.day]:%Y-%m-%d}",
                "Each bar is an area's forecast (expected incidents that day) split into its parts; the five "
                "areas with the highest forecast per algorithm are shown.",
            )
        )
        return sec, out

    def calibration_section(self) -> tuple[Section, list[dict[str, str]]]:
        res = self.res
        g1, g2 = res.group_pair
        sec = Section("calibration", "Do forecasts match outcomes?")
        if self.rs is None:
            return sec, []
        if not self.rs.replays:
            return sec, []
        cals = explain.calibration(self.rs)
        if self.ledger.active or not res.crimes_vary:  # publish the shared (possibly noised) counts
            daily = self.ledger.release(
                DAILY,
                "true crimes of each simulated day summed over areas (calibration over time)",
                self.rs.truth().sum(axis=1).astype(float),
            )
            for cal in cals:
                cal.observed, cal.daily_observed = self.horizon.copy(), daily.copy()
        masks = res.areas.group_masks()
        rows = [
            {
                "algorithm": cal.algorithm,
                "forecast total": f"{cal.predicted.sum():,.0f}",
                "true crimes": f"{cal.observed.sum():,.0f}",
                "learned by the run": f"{cal.learned.sum():,.0f}",
                "forecast ÷ true (all areas)": sig(cal.ratio(), 3),
                f"forecast ÷ true ({g1})": sig(cal.ratio(masks[0]), 3),
                f"forecast ÷ true ({g2})": sig(cal.ratio(masks[1]), 3),
            }
            for cal in cals
        ]
        label = self.noted("true crimes")
        sec.figures.append(
            self.make(
                figures.calibration_scatter(res.areas, cals, label),
                "Forecast against outcome, per area, over the whole period",
                "Each dot is an area: the sum of its daily forecasts (x) against the true crimes that "
                "happened there (y); the black line joins the means of each tenth of the areas ranked by "
                "forecast. On the dashed line forecasts are calibrated; below it an area was over-predicted "
                "(more patrols than its crime warranted), above it under-predicted.",
            )
        )
        sec.figures.append(
            self.make(
                figures.calibration_series(self.dates, cals, label),
                "Forecast, true crimes and learned crimes, city-wide, over time",
                "Seven-day means of the city-wide daily totals: what each algorithm forecast (solid), what "
                "truly happened (black) and what the run learned, the crimes detected by patrols or reported "
                "(dotted). Models learn only from what is found, so they forecast recorded, not true, crime.",
            )
        )
        return sec, rows

    def parameters_figure(self):
        bands = analysis.parameter_bands(self.res, ["theta", "omega"])
        if not bands:
            return None
        return self.make(
            figures.parameter_series(
                bands,
                self.dates,
                [(s, self.res.scenario_label(s)) for s in self.res.scenarios],
                [("theta", "θ: expected offspring per incident"), ("omega", "ω: decay rate per day")],
            ),
            "PredPol's fitted parameters over time",
            "Refitted every day on what the run had learned; line = mean over runs, band = lowest to "
            "highest run.",
        )

    def privacy_context(self, overpoliced_table) -> dict[str, Any] | None:
        if not self.ledger.active:
            return None
        rows = []
        for rel in self.ledger.releases:
            c = rel.cost()
            rows.append(
                {
                    "published counts": rel.name,
                    "ε spent": sig(rel.epsilon, 3),
                    "noise scale (expected error per count)": sig(c["expected_abs_error"], 3),
                    "mean absolute error": sig(c["mean_abs_error"], 3),
                    "median relative error (non-zero counts)": pct(c["median_relative_error"]),
                    "rank correlation with exact": sig(c["spearman"], 3),
                    f"largest {int(c['top_k'])} kept": pct(c["top_k_overlap"]),
                }
            )
        exact = analysis.overpoliced(self.res, self.horizon_exact)
        overlap = len(set(exact["area_id"]) & set(overpoliced_table["area_id"])) / max(len(exact), 1)
        return {
            "epsilon": self.ledger.epsilon,
            "spent": self.ledger.spent,
            "rows": rows,
            "descriptions": [(r.name, r.description) for r in self.ledger.releases],
            "overpoliced_overlap": pct(overlap),
        }

    # -- everything ---------------------------------------------------------------------------------------
    def groups_rows(self) -> list[dict[str, str]]:
        """Every group: its areas and, per algorithm in the focus scenario, its share of officers against its
        share of true crimes (mean over runs and days)."""
        res = self.res
        counts = res.areas.group_counts()
        gs = res.group_summary
        rows = []
        for group, n in counts.items():
            row = {"group": group, "areas": f"{n:,}"}
            if gs is not None:
                sel = gs[(gs["scenario"] == self.focus) & (gs["group"].astype(str) == group)]
                sel = sel[sel["statistic"] == "level"]
                crime = sel[sel["metric"] == "crime_share"]["mean"]
                if len(crime):
                    row["share of true crimes"] = share(float(crime.iloc[0]))
                for alg in res.algorithms:
                    v = sel[(sel["algorithm"] == alg) & (sel["metric"] == "police_share")]["mean"]
                    if len(v):
                        row[f"share of officers, {alg}"] = share(float(v.iloc[0]))
            rows.append(row)
        return rows

    def data_notes(self) -> list[str]:
        """Caveats about the data: dropped incidents, short training history, repaired areas, PredPol fits."""
        doc = self.res.document
        notes = list((doc.get("data_report") or {}).get("warnings") or [])
        resolved = doc.get("resolved") or {}
        for name, s in (resolved.get("short_history") or {}).items():
            notes.append(
                f"{name} trained on {s['available_days']} days of history on the first day instead of its "
                f"{s['window_days']}-day window (the data begin on {s['first_incident']}; accepted with "
                "data.allow_short_history)"
            )
        for name, p in (resolved.get("fit_problems") or {}).items():
            if p.get("not_converged") or p.get("at_bound"):
                notes.append(
                    f"{name}: {p['not_converged']:,} of {p['fits']:,} daily fits stopped before converging "
                    f"and {p['at_bound']:,} ended on a parameter bound (θ or ω): those days' parameters "
                    "are not maximum-likelihood estimates"
                )
        notes += [f"Areas: {n}" for n in self.res.areas.notes]
        return notes

    def context(self) -> dict[str, Any]:
        from fairpatrol.data import BUNDLED_INCIDENTS
        from fairpatrol.data.inputs import bundled_city_of

        res = self.res
        maps_sec = self.maps_section()
        need_sec = self.need_section()
        perf, trend_rows = self.performance_section()
        time_sec = self.time_section()
        op_sec, op_rows, op_table = self.overpoliced_section()
        conc_sec, conc_rows = self.concentration_section()
        expl_sec, explanations = self.explanations_section()
        cal_sec, cal_rows = self.calibration_section()
        doc = res.document
        scenario_text = yaml.safe_dump(
            res.config.model_dump(mode="json"), sort_keys=False, allow_unicode=True
        )
        scenario_from_document(yaml.safe_load(scenario_text), "scenario.yaml")  # the download must parse back
        date_range = None
        if self.rs is not None:
            t = self.rs.incidents.frame["time"]
            date_range = f"{t.min():%Y-%m-%d} to {t.max():%Y-%m-%d} ({len(t):,} incidents after cleaning)"
        pack = bundled_city_of(res.config.data)
        masks = res.areas.group_masks()
        incidents = res.config.data.incidents
        incidents_name = incidents if isinstance(incidents, str) else incidents.file
        return {
            "kind": "run",
            "title": f"Transparency report: {res.config.name}",
            "description": res.config.description,
            "subject": res.label,
            "city": res.areas.title,
            "n_areas": res.areas.n,
            "groups": res.group_pair,
            "group_counts": (int(masks[0].sum()), int(masks[1].sum())),
            "group_description": res.areas.group_description,
            "group_rows": self.groups_rows(),
            "focus_label": res.scenario_label(self.focus),
            "other_groups": [g for g in res.areas.group_names if g not in res.group_pair],
            "areas_crs": f"{res.areas.crs} ({res.areas.crs_reason})"
            if res.areas.crs_reason
            else res.areas.crs,
            "data_notes": self.data_notes(),
            "incidents_name": incidents_name,
            "config": res.config,
            "crime_label": res.crime_label,
            "first": f"{res.dates[0]:%Y-%m-%d}",
            "last": f"{res.dates[-1]:%Y-%m-%d}",
            "n_days": len(res.dates),
            "n_runs": len(res.runs),
            "algorithms": res.algorithms,
            "scenarios": [(s, res.scenario_label(s)) for s in res.scenarios],
            "findings": findings(res),
            "need_findings": need_findings(res),
            "metric_infos": self.glossary(),
            "sections": {
                s.id: s for s in (maps_sec, need_sec, perf, time_sec, op_sec, conc_sec, expl_sec, cal_sec)
            },
            "sheet": self.sheet_context(),
            "map_defs": Markup(self.units.defs("m")),
            "need_rows": self.need_rows(),
            "study_caveats": STUDY_CAVEATS,
            "gini_rows": self.concentration_rows(),
            "epsilon_rows": self.epsilon_rows(),
            "trend_rows": trend_rows,
            "overpoliced_rows": op_rows,
            "concentration_rows": conc_rows,
            "explanations": explanations,
            "explain_day": f"{res.dates[self.day]:%Y-%m-%d}",
            "calibration_rows": cal_rows,
            "replay": None
            if self.rs is None
            else {
                "scenario": res.scenario_label(self.focus),
                "run": self.run,
                "matches": {a: r.matches_recorded for a, r in self.rs.replays.items()},
                "mismatched_days": {a: r.mismatched_days for a, r in self.rs.replays.items()},
                "skipped": self.rs.skipped,
            },
            "replay_error": self.replay_error,
            "crimes_vary": res.crimes_vary,
            "cards": model_cards(res),
            "param_fig": self.parameters_figure(),
            "privacy": self.privacy_context(op_table),
            "incidents_desc": BUNDLED_INCIDENTS.get(incidents_name, (None, "the study's own incident file"))[
                1
            ],
            "date_range": date_range,
            "cleaning": doc.get("data_report", {}) or {},
            "horizon": doc.get("resolved", {}).get("horizon", {}),
            "dataset_notes": dataset_notes(pack) if pack is not None else "",
            "config_text": res.config_path.read_text(encoding="utf-8"),
            "scenario_uri": data_uri(scenario_text),
            "seeds": doc.get("resolved", {}).get("run_seeds", {}),
            "versions": doc.get("versions", {}),
            "results_dir": shown_path(res.path),
        }

    def glossary(self) -> list:
        """The registry entries of every measure the report shows, need-based first, with caveats."""
        names = [*NEED, "detection_rate", "idle_share", "disparity_ratio", "disparity_factor_30d", "accuracy"]
        names += ["gini_patrols", "gini_expected_horizon", "gini_crime", *FAIRNESS, "pcr_gap_horizon"]
        return [self.infos[n] for n in dict.fromkeys(names)]

    def sheet_context(self) -> dict[str, Any]:
        """The datasheet (first screen): sentences, chart, map, numbers, groups, areas, downloads."""
        res, sheet = self.res, self.sheet
        groups = sheet.group_rows()
        return {
            "sentences": sheet.sentences(),
            "chart": sheet.chart(self.colors),
            "map": sheet.map(self.units),
            "numbers": sheet.numbers_rows(),
            "groups": groups,
            "areas": sheet.ranked_areas(),
            "min_crimes": sheet.min_crimes,
            "downloads": sheet.downloads(group_download_rows(res)),
            "focus": res.scenario_label(self.focus),
            "algorithms": join(res.algorithms),
            "runs": len(res.runs),
            "world_effects": res.crimes_vary,
        }


def build_run_context(res: RunResults, **options: Any) -> dict[str, Any]:
    """Everything the template shows for a ``fairpatrol run`` directory (options: see write_report)."""
    return RunReport(res, **options).context()
