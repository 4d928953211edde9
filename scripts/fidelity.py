"""Regenerate docs/paper-fidelity.md: every finding of a published study beside fairpatrol's values.

    python scripts/fidelity.py --study grid            # the PF/RAF study (Bogotá, Chicago): about 8 minutes
    python scripts/fidelity.py --study grid --days 20  # a quick check on the first 20 days (not for the page)

Each study has a section of the page between the markers ``<!-- fidelity:STUDY:start -->`` and
``<!-- fidelity:STUDY:end -->``; the script rewrites only the sections of the studies it runs, so the
hand-written text around them and the other studies' sections stay as they are. A study is a function in
:data:`STUDIES` that runs its evaluations afresh and returns the Markdown of its section (findings table
with the counts of findings reproduced in the default and paper modes, and the supporting tables). A
Baltimore section is added by writing its function and registering it.

Grid study: the paper presets (``bogota-grid-paper``, ``chicago-grid-paper``) run as they are; the default
mode is the default preset of the same city over the paper preset's days (same data and days, the correct
method otherwise).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "paper-fidelity.md"
MODES = ("default", "paper")


# -- the grid study ---------------------------------------------------------------------------------------
@dataclass
class Run:
    """One evaluation with the summaries the findings read."""

    city: str
    mode: str
    result: object  # fairpatrol.grid.evaluate.EvaluationResult

    def __post_init__(self) -> None:
        from fairpatrol.grid.evaluate import precision_gaps

        res = self.result
        self.g_low, self.g_high = res.grid.group_pair  # (Protected = G2 low income, Unprotected = G1)
        m = res.metrics
        self.means = m.groupby(["metric", "group", "model", "coverage"], observed=True)["value"].mean()
        emd = m[m["metric"] == "emd"]
        self.emd_median = emd.groupby(["group", "model"], observed=True)["value"].median()
        self.gaps = precision_gaps(m)
        self.models = list(res.config.algorithms)

    def curve(self, metric: str, group: str) -> pd.DataFrame:
        """Mean over days, coverage × model."""
        return self.means.loc[(metric, group)].unstack("model")[self.models]

    def at(self, metric: str, group: str, coverage: float) -> pd.Series:
        c = self.curve(metric, group)
        return c.iloc[int(np.argmin(np.abs(c.index.to_numpy() - coverage)))]

    def on_day(self, metric: str, group: str, coverage: float, day: str) -> pd.Series:
        """Value of each model on one day at the coverage level nearest ``coverage``."""
        m = self.result.metrics
        m = m[(m["metric"] == metric) & (m["group"] == group) & (m["date"] == pd.Timestamp(day))]
        if m.empty:
            raise KeyError(f"{day} was not evaluated")
        levels = m["coverage"].unique()
        m = m[np.isclose(m["coverage"], levels[np.argmin(np.abs(levels - coverage))])]
        return m.set_index("model", drop=True)["value"].reindex(self.models)

    @property
    def emd_spatial(self) -> bool:
        return self.result.config.metrics.emd == "spatial"

    def daily_group_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Incidents per evaluated day in G1 (high income) and G2 (low income) cells."""
        m_low, m_high = self.result.grid.group_masks()
        obs = self.result.observed
        return obs[:, m_high].sum(axis=1), obs[:, m_low].sum(axis=1)


@dataclass
class Finding:
    """One published finding: where it is stated, what it says, and how a run is checked against it."""

    ref: str
    text: str
    published: str
    check: Callable[[dict[str, Run]], tuple[str, bool | None]] | None
    criterion: str
    why: str = ""


def pct(v: float, digits: int = 1) -> str:
    return f"{100 * v:.{digits}f} %"


def _cities(runs: dict[str, Run]) -> list[tuple[str, Run]]:
    return [(c, runs[c]) for c in ("bogota", "chicago") if c in runs]


#: The days of the paper's Fig. 3 (its heat maps and bars at 15 % coverage).
FIG3_DAYS = {"bogota": "2018-11-16", "chicago": "2022-06-03"}


def pf_small(runs):
    vals = []
    ok = True
    if any(pd.Timestamp(FIG3_DAYS[c]) not in r.result.dates for c, r in _cities(runs)):
        return "Fig. 3 days not evaluated", None
    for city, r in _cities(runs):
        day = FIG3_DAYS[city]
        gini = r.on_day("pf_gini", "between", 0.15, day).max()
        mm = 100 * r.on_day("pf_maxmin", "between", 0.15, day).max()
        ok &= gini < 0.2 and mm < 2
        vals.append(f"{city}: Gini ≤ {pct(gini)}, Max-min ≤ {mm:.2f}")
    return "; ".join(vals), bool(ok)


def raf_disparity_15(runs):
    vals, ok = [], True
    if any(pd.Timestamp(FIG3_DAYS[c]) not in r.result.dates for c, r in _cities(runs)):
        return "Fig. 3 days not evaluated", None
    for city, r in _cities(runs):
        day = FIG3_DAYS[city]
        gap = r.on_day("precision", r.g_high, 0.15, day) - r.on_day("precision", r.g_low, 0.15, day)
        ok &= bool((gap > 0).all() and (gap >= 0.08).all() and (gap <= 0.52).all())
        vals.append(f"{city}: {pct(gap.min(), 0)} to {pct(gap.max(), 0)}")
    return "; ".join(vals), ok


def _range(runs, city, metric, scale, lo, hi):
    if city not in runs:
        return "not run", None
    c = scale * runs[city].curve(metric, "between")
    a, b = float(c.min().min()), float(c.max().max())
    ok = abs(a - lo) <= 0.3 * lo and abs(b - hi) <= 0.3 * hi
    fmt = (lambda v: pct(v)) if scale == 1 else (lambda v: f"{v:.2f}")
    return f"{fmt(a)} to {fmt(b)}", ok


def maxmin_below_2(runs):
    top = max(100 * r.curve("pf_maxmin", "between").max().max() for _, r in _cities(runs))
    return f"largest {top:.2f}", bool(top < 2)


def naive_kde_similar_pf(runs):
    if "chicago" not in runs:
        return "not run", None
    c = runs["chicago"].curve("pf_gini", "between")
    rel = float(
        (c["NaiveKDE"] - c["TimeSpaceKDE"]).abs().mean() / c[["NaiveKDE", "TimeSpaceKDE"]].mean().mean()
    )
    return f"mean difference {pct(rel, 0)} of the level", rel < 0.1


def precision_falls(runs):
    bad = []
    for city, r in _cities(runs):
        for g in (r.g_high, r.g_low):
            c = r.curve("precision", g)
            for model in r.models:
                if not c[model].iloc[-1] < c[model].iloc[0]:
                    bad.append(f"{city} {model} {g}")
    return ("every curve" if not bad else "not: " + ", ".join(bad)), not bad


def g2_lower(runs):
    share, ok = [], True
    for city, r in _cities(runs):
        d = r.curve("precision", r.g_high) - r.curve("precision", r.g_low)
        ok &= bool((d > 0).all().all())
        text = f"{city}: {pct(float((d > 0).to_numpy().mean()), 0)} of levels"
        reversed_ = d.stack()[lambda v: v <= 0]
        if len(reversed_):
            text += " (G2 ahead: " + ", ".join(f"{m} at {pct(c, 1)}" for c, m in reversed_.index[:3]) + ")"
        share.append(text)
    return "; ".join(share), ok


def gap(city, key, target):
    def check(runs):
        if city not in runs:
            return "not run", None
        v = float(runs[city].gaps.loc["all", key])
        return pct(v), abs(v - target) <= 0.01

    return check


def chicago_above_bogota(metric):
    def check(runs):
        if len(_cities(runs)) < 2:
            return "not run", None
        if metric == "precision":
            lv = {
                c: float(np.mean([r.curve("precision", g).mean().mean() for g in (r.g_low, r.g_high)]))
                for c, r in _cities(runs)
            }
        else:
            lv = {c: float(r.gaps.loc["all", "mean"]) for c, r in _cities(runs)}
        return f"Chicago {pct(lv['chicago'])}, Bogotá {pct(lv['bogota'])}", lv["chicago"] > lv["bogota"]

    return check


def sepp_lowest_emd(runs):
    vals, ok = [], True
    for city, r in _cities(runs):
        for g in (r.g_high, r.g_low):
            med = r.emd_median.loc[g]
            ok &= med.idxmin() == "SEPP"
            vals.append(f"{city} {'G1' if g == r.g_high else 'G2'}: {med.idxmin()}")
    return "; ".join(vals), bool(ok)


def sepp_emd(city, g1, g2):
    def check(runs):
        if city not in runs:
            return "not run", None
        r = runs[city]
        a, b = r.emd_median.loc[(r.g_high, "SEPP")], r.emd_median.loc[(r.g_low, "SEPP")]
        if r.emd_spatial:
            return f"{a:.0f} m / {b:.0f} m (spatial EMD, not comparable)", False
        return f"{a:.4f} / {b:.4f}", bool(round(a, 3) == g1 and round(b, 3) == g2)

    return check


def emd_group_direction(runs):
    vals, ok = [], True
    want = {"bogota": "G2", "chicago": "G1"}
    for city, r in _cities(runs):
        lower = [
            "G1" if r.emd_median.loc[(r.g_high, m)] < r.emd_median.loc[(r.g_low, m)] else "G2"
            for m in r.models
        ]
        ok &= all(x == want[city] for x in lower)
        vals.append(f"{city}: lower in {'/'.join(lower)}")
    return "; ".join(vals), bool(ok)


def sepp_highest_precision(runs):
    vals, ok = [], True
    for city, r in _cities(runs):
        level = {
            m: np.mean([r.curve("precision", g)[m].mean() for g in (r.g_low, r.g_high)]) for m in r.models
        }
        best = max(level, key=level.get)
        ok &= best == "SEPP"
        vals.append(f"{city}: {best}")
    return "; ".join(vals), bool(ok)


def g2_fewer_events(runs):
    vals, ok = [], True
    for city, r in _cities(runs):
        high, low = r.daily_group_counts()
        ok &= bool(low.mean() < high.mean())
        vals.append(f"{city}: G1 {high.mean():.0f}, G2 {low.mean():.0f} a day")
    return "; ".join(vals), bool(ok)


def daily_difference(city, lo, hi):
    def check(runs):
        if city not in runs:
            return "not run", None
        high, low = runs[city].daily_group_counts()
        d = high - low
        q5, q50, q95 = np.percentile(d, [5, 50, 95])
        return f"median {q50:.0f} (5-95 %: {q5:.0f} to {q95:.0f})", bool(lo <= q50 <= hi)

    return check


def hot_spots_in_g1(runs):
    vals, ok = [], True
    for city, r in _cities(runs):
        total = r.result.observed.sum(axis=0)
        top = np.argsort(-total, kind="stable")[: max(1, round(0.05 * len(total)))]
        groups = r.result.grid.groups[top]
        share = float(np.mean(groups == r.g_high))
        ok &= share >= (0.9 if city == "chicago" else 0.5)
        vals.append(f"{city}: {pct(share, 0)} of the top 5 % cells in G1")
    return "; ".join(vals), bool(ok)


GRID_FINDINGS = [
    Finding(
        "§3.1, Fig. 3",
        "At 15 % coverage PF is small for every model in both cities: the predictions are fair",
        "small",
        pf_small,
        "PF Gini < 20 % and Max-min < 2 per 100 events for every model and city",
        "The default Gini follows the printed formula, twice the scale of the authors' code.",
    ),
    Finding(
        "§3.1, Fig. 3",
        "At 15 % coverage the precision differs by 10-50 % between the groups, in every model "
        "and both cities, favouring G1 (high income)",
        "10-50 %, G1 higher",
        raf_disparity_15,
        "on the days of Fig. 3, every gap positive and within 8-52 % (the range is read from bars)",
    ),
    Finding(
        "§3.1, Fig. 4",
        "Bogotá: PF Max-min 0.25 to 1.5 error events per 100 events",
        "0.25 to 1.5",
        lambda runs: _range(runs, "bogota", "pf_maxmin", 100, 0.25, 1.5),
        "lowest and highest mean over models and coverage levels, each within ±30 %",
        "The default ranks the cells by forecast, as the text says; the authors' code ranked them by "
        "observed crime, which puts the cells with the largest errors first. At high coverage G* is mostly "
        "cells without crime, tied and taken in cell order, so the low end is the forecast share of a few "
        "quiet cells; the authors' stored predictions give 0.32 to 1.38 with the same metric code.",
    ),
    Finding(
        "§3.1, Fig. 4",
        "Chicago: PF Max-min 0.2 to 0.8 per 100 events",
        "0.2 to 0.8",
        lambda runs: _range(runs, "chicago", "pf_maxmin", 100, 0.2, 0.8),
        "as above",
    ),
    Finding(
        "§3.1, Fig. 4",
        "Every model's groups differ by less than two error events per 100",
        "< 2",
        maxmin_below_2,
        "largest mean Max-min over models, levels and cities below 2",
    ),
    Finding(
        "§3.1, Fig. 4",
        "Bogotá: PF Gini 5 % to 20 %",
        "5 % to 20 %",
        lambda runs: _range(runs, "bogota", "pf_gini", 1, 0.05, 0.20),
        "as for Max-min",
        "The published values are on the scale of the authors' Gini coefficient, half the printed formula "
        "the default computes. Recomputed from the authors' stored predictions the mean Gini ranges from "
        "5.3 % to 10.9 %: their data do not reach 20 % either (perhaps the top of Fig. 4's 95 % band).",
    ),
    Finding(
        "§3.1, Fig. 4",
        "Chicago: PF Gini 4 % to 10 %",
        "4 % to 10 %",
        lambda runs: _range(runs, "chicago", "pf_gini", 1, 0.04, 0.10),
        "as for Max-min",
        "As above.",
    ),
    Finding(
        "§3.1, Fig. 4",
        "Naive and KDE give similar PF values, persistently in Chicago",
        "similar",
        naive_kde_similar_pf,
        "Chicago: mean |Gini naive − Gini KDE| under 10 % of their level",
    ),
    Finding(
        "§3.1, Fig. 5",
        "Precision falls as the coverage grows, for all models",
        "falls",
        precision_falls,
        "precision at the largest level below that at 1 %, every model, group and city",
        "The authors' cap (the selection never exceeds the cells with crime) flattens the curves.",
    ),
    Finding(
        "§3.1, Fig. 5",
        "G2 (low income) has a lower precision than G1 throughout",
        "G2 < G1",
        g2_lower,
        "every model and coverage level",
    ),
    Finding(
        "§3.1",
        "Bogotá: the largest gap between the groups' mean precision is 13 %",
        "13 % (code: 12.79 %)",
        gap("bogota", "max", 0.13),
        "within 1 point (`precision_gaps`, the authors' computation)",
        "The default selects ⌈k n⌉ cells without the cap, over 409 cells labelled by the majority rule.",
    ),
    Finding(
        "§3.1",
        "Chicago: the largest gap is 45 %",
        "45 % (code: 44.69 %)",
        gap("chicago", "max", 0.45),
        "within 1 point",
        "Reached at 1 % coverage (three cells a group), where the kernel's shape decides the cells chosen: "
        "the correlated Scott kernel of scipy and open_cp (paper mode) gives 44-45 %, an isotropic one 52 %.",
    ),
    Finding(
        "§3.1",
        "Bogotá: the gaps average 7 %",
        "7 % (code: 7.10 %)",
        gap("bogota", "mean", 0.07),
        "within 1 point",
        "The authors' 7.10 % counts 101 days of empty SEPP truth maps as precision 0 (see above).",
    ),
    Finding(
        "§3.1",
        "Chicago: the gaps average 16 %",
        "16 % (code: 16.38 %)",
        gap("chicago", "mean", 0.16),
        "within 1 point",
        "The default's mean rule makes 50 of the 77 community areas low income (the authors' median: 39).",
    ),
    Finding(
        "§3.1",
        "Chicago's precision is higher than Bogotá's",
        "higher",
        chicago_above_bogota("precision"),
        "mean precision over models, groups and levels",
    ),
    Finding(
        "§3.1",
        "The gaps between the groups are higher in Chicago than in Bogotá",
        "higher",
        chicago_above_bogota("gap"),
        "average gaps",
    ),
    Finding(
        "§3.1",
        "Bogotá: at small coverage the naive and KDE gaps are small, yet the gap grows as coverage falls",
        "—",
        None,
        "not testable: the sentence states both",
        "fairpatrol's largest gaps are at the smallest coverage levels in both modes.",
    ),
    Finding(
        "§3.2, Fig. 6",
        "SEPP has the lowest EMD in both cities and both groups",
        "SEPP lowest",
        sepp_lowest_emd,
        "lowest median daily EMD in each group (the statistic the authors' figure marks)",
        "The paper's SEPP (per-cell rates) puts the forecast mass in the cells that had crime; the value "
        "EMD rewards that whatever the distance, the spatial EMD does not.",
    ),
    Finding(
        "§3.2",
        "Bogotá: SEPP's EMD is 0.005 in G1 and in G2",
        "0.005 / 0.005",
        sepp_emd("bogota", 0.005, 0.005),
        "medians equal to three decimals",
        "The paper's EMD is the 1-D distance between the lists of cell values (paper mode `emd: values`); "
        "the default EMD is spatial, in metres, and not comparable.",
    ),
    Finding(
        "§3.2",
        "Chicago: SEPP's EMD is 0.002 in G1 and 0.003 in G2",
        "0.002 / 0.003",
        sepp_emd("chicago", 0.002, 0.003),
        "as above",
        "As above.",
    ),
    Finding(
        "§3.2, Fig. 6",
        "EMD differs between the groups, privileging a different group in each city",
        "Bogotá G2, Chicago G1",
        emd_group_direction,
        "the group with the lower median EMD, every model (the published direction is that of the authors' "
        "medians)",
    ),
    Finding(
        "§3.2",
        "In Chicago the results ranked low to high in KDE, naive and SEPP",
        "—",
        None,
        "not testable: the sentence does not say which measure is ranked",
        "The authors' own EMD medians order the two groups differently.",
    ),
    Finding(
        "§3.2, Fig. 5",
        "SEPP has the highest precision",
        "SEPP highest",
        sepp_highest_precision,
        "highest mean precision over groups and levels, both cities",
        "The default SEPP (KDE background) forecasts like the naive KDE; the paper's per-cell SEPP picks the "
        "cells with the most recent crime.",
    ),
    Finding(
        "§3.3, Fig. 7",
        "G2 (low income) reports fewer events a day than G1",
        "G2 fewer",
        g2_fewer_events,
        "mean daily incidents of the evaluated days, both cities",
        "With the mean rule Chicago's low-income group is the larger one and has more thefts.",
    ),
    Finding(
        "§3.3",
        "Bogotá: the groups differ by about 1 to 10 events a day",
        "1 to 10",
        daily_difference("bogota", 1, 10),
        "median daily difference G1 − G2 within the range",
    ),
    Finding(
        "§3.3",
        "Chicago: the groups differ by 20 to 100 events a day",
        "20 to 100",
        daily_difference("chicago", 20, 100),
        "as above",
    ),
    Finding(
        "§3.4, Fig. 8",
        "The hot spots lie in G1: entirely in Chicago, mostly (beside G2) in Bogotá",
        "Chicago all, Bogotá most",
        hot_spots_in_g1,
        "of the 5 % of cells with the most crime, ≥ 90 % in G1 in Chicago and > 50 % in Bogotá",
    ),
    Finding(
        "§3.4, Fig. 8",
        "Business activity is concentrated in G1",
        "—",
        None,
        "not testable: no business-location data is bundled",
    ),
]


def run_grid(days: int | None) -> dict[str, dict[str, Run]]:
    from fairpatrol.grid.config import load_evaluate_preset
    from fairpatrol.grid.evaluate import evaluate

    runs: dict[str, dict[str, Run]] = {m: {} for m in MODES}
    for city in ("bogota", "chicago"):
        paper = load_evaluate_preset(f"{city}-grid-paper", days=days)
        same = {"start": paper.start, "days": paper.days, "exclude_days": paper.exclude_days}
        default = load_evaluate_preset(f"{city}-grid", **same)
        for mode, cfg in (("default", default), ("paper", paper)):
            t0 = time.perf_counter()
            runs[mode][city] = Run(city, mode, evaluate(cfg))
            print(
                f"{city} {mode}: {len(runs[mode][city].result.dates)} days, {time.perf_counter() - t0:.0f} s"
            )
    return runs


def grid_section(days: int | None) -> str:
    runs = run_grid(days)
    rows, counts = [], {m: [0, 0] for m in MODES}
    for i, f in enumerate(GRID_FINDINGS, 1):
        cells = []
        marks = []
        for mode in MODES:
            if f.check is None:
                cells.append("—")
                marks.append("n/a")
                continue
            value, ok = f.check(runs[mode])
            cells.append(value)
            if ok is not None:
                counts[mode][1] += 1
                counts[mode][0] += int(ok)
            marks.append({True: "yes", False: "no", None: "n/a"}[ok])
        note = f"Check: {f.criterion}." + (f" {f.why}" if f.why else "")
        rows.append(
            f"| {i} | {f.ref} | {f.text} | {f.published} | {cells[0]} | {cells[1]} | "
            f"{marks[0]} / {marks[1]} | {note} |"
        )
    b, c = runs["paper"]["bogota"], runs["paper"]["chicago"]
    period = {}
    for city in ("bogota", "chicago"):
        dates = runs["paper"][city].result.dates
        period[city] = f"{dates[0]:%Y-%m-%d} .. {dates[-1]:%Y-%m-%d} ({len(dates)} days)"
    out = [
        f"Generated by `python scripts/fidelity.py --study grid` on {pd.Timestamp.now():%Y-%m-%d}"
        + (f" (first {days} days only: not the published comparison)" if days else "")
        + ".",
        "",
        f"Days: Bogotá {period['bogota']}, Chicago {period['chicago']}; the same days in both modes.",
        "",
        "| mode | findings reproduced |",
        "|---|---|",
        *(f"| {m} | **{counts[m][0]} of {counts[m][1]}** testable |" for m in MODES),
        "",
        "| # | where | finding | published | default | paper mode | reproduced (default / paper) "
        "| check, why |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Average and largest precision gap per model (`fairpatrol.grid.evaluate.precision_gaps`):",
        "",
        "| city | mode | " + " | ".join(f"{m} mean / max" for m in b.models) + " | all mean / max |",
        "|---|---|" + "---|" * (len(b.models) + 1),
    ]
    for city in ("bogota", "chicago"):
        for mode in MODES:
            g = runs[mode][city].gaps
            cols = [
                f"{pct(g.loc[m, 'mean'])} / {pct(g.loc[m, 'max'])}" for m in [*runs[mode][city].models, "all"]
            ]
            out.append(f"| {city} | {mode} | " + " | ".join(cols) + " |")
    out += [
        "",
        "Median daily EMD per group (G1 high income, G2 low income):",
        "",
        "| city | mode | " + " | ".join(f"{m} G1 / G2" for m in b.models) + " |",
        "|---|---|" + "---|" * len(b.models),
    ]
    for city in ("bogota", "chicago"):
        for mode in MODES:
            r = runs[mode][city]
            fmt = (lambda v: f"{v:.0f} m") if r.emd_spatial else (lambda v: f"{v:.4f}")
            cols = [
                f"{fmt(r.emd_median.loc[(r.g_high, m)])} / {fmt(r.emd_median.loc[(r.g_low, m)])}"
                for m in r.models
            ]
            out.append(f"| {city} | {mode} | " + " | ".join(cols) + " |")
    sepp = []
    for city in ("bogota", "chicago"):
        for mode in MODES:
            d = runs[mode][city].result.diagnostics
            d = d[d["model"] == "SEPP"]
            theta = d["theta"]
            sepp.append(
                f"| {city} | {mode} | {theta.median():.3f} ({theta.quantile(0.05):.3f}-"
                f"{theta.quantile(0.95):.3f}) | {d['omega'].median():.2f} | {pct(d['converged'].mean(), 0)} |"
            )
    out += [
        "",
        "SEPP fits (median and 5-95 % range over the days):",
        "",
        "| city | mode | θ | ω per day | converged |",
        "|---|---|---|---|---|",
        *sepp,
    ]
    warn = [
        f"- {city}: {w}" for city, r in (("Bogotá", b), ("Chicago", c)) for w in r.result.info["warnings"]
    ]
    if warn:
        out += ["", "Data warnings of the paper runs:", "", *warn]
    return "\n".join(out)


#: Studies of the page: name → function returning the Markdown of its section.
STUDIES: dict[str, Callable[[int | None], str]] = {"grid": grid_section}


def replace_section(page: str, study: str, body: str) -> str:
    start, end = f"<!-- fidelity:{study}:start -->", f"<!-- fidelity:{study}:end -->"
    block = f"{start}\n{body}\n{end}"
    if start in page and end in page:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, page, flags=re.S)
    return page.rstrip("\n") + f"\n\n{block}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--study", choices=sorted(STUDIES), action="append", required=True)
    ap.add_argument("--days", type=int, default=None, help="first N days only (a quick check)")
    ap.add_argument(
        "--out", type=Path, default=PAGE, help=f"page to update (default {PAGE.relative_to(ROOT)})"
    )
    args = ap.parse_args()
    page = args.out.read_text(encoding="utf-8") if args.out.exists() else "# Paper fidelity\n"
    for study in args.study:
        page = replace_section(page, study, STUDIES[study](args.days))
    args.out.write_text(page, encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
