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
    check: Callable[..., tuple[str, bool | None]] | None
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


def finding_rows(
    findings: list[Finding], evaluate: Callable[[Finding, str], tuple[str, bool | None]]
) -> tuple[list[str], dict[str, list[int]]]:
    """The findings table's rows, each finding evaluated in both modes (``evaluate(finding, mode)``), and
    per mode [reproduced, testable]."""
    rows, counts = [], {m: [0, 0] for m in MODES}
    for i, f in enumerate(findings, 1):
        cells = []
        marks = []
        for mode in MODES:
            if f.check is None:
                cells.append("—")
                marks.append("n/a")
                continue
            value, ok = evaluate(f, mode)
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
    return rows, counts


def grid_section(days: int | None) -> str:
    runs = run_grid(days)
    rows, counts = finding_rows(GRID_FINDINGS, lambda f, mode: f.check(runs[mode]))
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


# -- the Baltimore study -----------------------------------------------------------------------------------
#: The study's sweeps (fairpatrol/presets/sweeps): its 8 scenarios, and Appendix A's reporting rates.
BALTIMORE_SWEEPS = {"main": "baltimore-paper", "sensitivity": "baltimore-paper-sensitivity"}
#: The compat setting of each mode of the page.
BALTIMORE_MODES = {"default": "none", "paper": "semsar2026"}
AGG, TOTAL = "AGG. ASSAULT", "TOTAL"
NAMES = {"PredPol": "PredPol", "LongTermKDE": "long-term KDE", "ShortTermKDE": "short-term KDE"}
#: One scenario of eight: the tolerance of a "share of scenarios" finding.
ONE_SCENARIO = 1 / 8 + 1e-9


@dataclass
class Baltimore:
    """The Baltimore study's tables in both modes (fairpatrol.sweep.paper) and the data-only checks."""

    main: object  # PaperTables of the baltimore-paper sweep
    sens: object  # PaperTables of the baltimore-paper-sensitivity sweep
    crime_top: pd.DataFrame  # Fig. 28: share of the top-5 areas' crime in White areas, by lookback
    day1: pd.DataFrame  # Fig. 29: day-1 share of officers in the top-5 crime areas of the 30 days before
    fits: pd.DataFrame  # PredPol's θ and ω per mode and crime input
    areas: object  # fairpatrol.data.Areas
    seconds: dict[str, float]

    def t(self, name: str, mode: str, sens: bool = False) -> pd.DataFrame:
        table = (self.sens if sens else self.main).tables[name]
        return table[table["compat"] == BALTIMORE_MODES[mode]] if "compat" in table else table

    def rank(self, mode: str, metric: str, stat: str, alg: str, col: str) -> float:
        r = self.t("paper_ranks", mode)
        hit = r[(r.metric == metric) & (r.statistic == stat) & (r.algorithm == alg)]
        return float(hit[col].iloc[0]) if len(hit) else float("nan")

    def scenarios(self, mode: str) -> pd.DataFrame:
        return self.t("paper_scenarios", mode)

    def group(self, area: str) -> str:
        return str(self.areas.groups[int(np.flatnonzero(self.areas.ids == area)[0])])


def shares(*claims: tuple[str, str, str, str, float]):
    """Check "algorithm X is best/worst/worsening in p % of the scenarios" claims, each (metric, statistic,
    algorithm, column, published share): reproduced when every share is within one scenario of eight."""

    def check(b: Baltimore, mode: str):
        texts, ok = [], True
        for metric, stat, alg, col, pub in claims:
            v = b.rank(mode, metric, stat, alg, col)
            ok &= bool(np.isfinite(v) and abs(v - pub) <= ONE_SCENARIO)
            texts.append(f"{NAMES[alg]} {pct(v, 1)}")
        return "; ".join(texts), ok

    return check


def most(metric: str, stat: str, alg: str, col: str, *more: tuple[str, str, str, str]):
    """Check "X is best (fastest, worsening...) in most scenarios": a share above one half for each claim."""

    def check(b: Baltimore, mode: str):
        texts, ok = [], True
        for m, st, a, c in ((metric, stat, alg, col), *more):
            v = b.rank(mode, m, st, a, c)
            ok &= bool(v > 0.5)
            texts.append(f"{m}: {NAMES[a]} {pct(v, 1)}")
        return "; ".join(texts), ok

    return check


def best_then_second(b: Baltimore, mode: str):
    best = b.rank(mode, "accuracy", "level", "PredPol", "share_best")
    second = b.rank(mode, "accuracy", "level", "PredPol", "share_second")
    ok = abs(best - 0.875) <= ONE_SCENARIO and abs(best + second - 1) < 1e-9
    return f"best {pct(best, 1)}, second {pct(second, 1)}", bool(ok)


def correlation(metrics: tuple[str, ...], test, words: str, sens: bool = False):
    """An overall accuracy-fairness correlation (Table A3's first row, or Figs. 10-11 on the 8 scenarios)."""

    def check(b: Baltimore, mode: str):
        t = b.t("paper_table_a3", mode, sens)
        t = t[t["grouping"] == ""].set_index("metric")["avg_corr"]
        vals = [float(t.get(m, np.nan)) for m in metrics]
        return ", ".join(f"{m} r = {v:.2f}" for m, v in zip(metrics, vals, strict=True)), bool(
            all(np.isfinite(v) and test(v) for v in vals)
        )

    check.__doc__ = words
    return check


def ordering_2_6(b: Baltimore, mode: str):
    def w(alg, metric):
        return b.rank(mode, metric, "slope", alg, "share_worsening")

    neigh = {a: min(w(a, "gini_police"), w(a, "gini_pcr")) for a in NAMES}
    racial = {a: max(w(a, "share_gap"), w(a, "pcr_gap")) for a in NAMES}
    ok = all(neigh[a] > racial[a] for a in ("PredPol", "ShortTermKDE")) and w("LongTermKDE", "pcr_gap") > max(
        w("LongTermKDE", "gini_police"), w("LongTermKDE", "gini_pcr")
    )
    text = "; ".join(
        f"{NAMES[a]}: neighbourhood ≥ {pct(neigh[a], 0)}, racial ≤ {pct(racial[a], 0)}" for a in NAMES
    )
    return text, bool(ok)


def contradiction(b: Baltimore, mode: str):
    """Section 4.2.7: every falling racial gap starts on one group and trends toward the other."""
    s = b.scenarios(mode)
    n = k = 0
    for gap in ("share_gap", "pcr_gap"):
        falling = s[s[f"{gap}__slope"] < 0]
        start = np.sign(falling[f"{gap}_signed__first"])
        toward = np.sign(falling[f"{gap}_signed__slope"])
        n += len(falling)
        k += int((start != toward).sum())
    return f"{k} of {n} falling gaps", (k == n) if n else None


def crime_input_effect(b: Baltimore, mode: str):
    """Section 4.3.1: with all crime, higher PCR Gini and lower accuracy for long-term KDE and PredPol."""
    s = b.scenarios(mode)
    keys = ["n_officers", "report_prob", "algorithm"]
    s = s[s.algorithm.isin(["LongTermKDE", "PredPol"])]
    a = s[s["case"] == AGG].set_index(keys)
    t = s[s["case"] == TOTAL].set_index(keys)
    gini = int((t["gini_pcr"] > a["gini_pcr"]).sum())
    acc = int((t["accuracy"] < a["accuracy"]).sum())
    n = len(a)
    return f"PCR Gini higher in {gini} of {n}, accuracy lower in {acc} of {n}", gini > n / 2 and acc > n / 2


def predpol_direction(b: Baltimore, mode: str):
    """Section 4.3.2: PredPol trends toward Black areas on assaults and toward White areas on all crime."""
    s = b.scenarios(mode)
    s = s[s.algorithm == "PredPol"]
    texts, ok = [], True
    for gap, label in (("share_gap_signed", "share"), ("pcr_gap_signed", "PCR")):
        right = int(((s["case"] == AGG) & (s[f"{gap}__slope"] > 0)).sum()) + int(
            ((s["case"] == TOTAL) & (s[f"{gap}__slope"] < 0)).sum()
        )
        ok &= right > len(s) / 2
        texts.append(f"{label}: {right} of {len(s)}")
    return "; ".join(texts), ok


def _tops(b: Baltimore, mode: str, case: str, algorithm: str | None = None, n: int = 10) -> pd.DataFrame:
    """The areas most often among a scenario's top-3 over-policed (pooled over algorithms when None)."""
    t = b.t("paper_overpoliced", mode)
    t = t[t["case"] == case]
    if algorithm is not None:
        t = t[t["algorithm"] == algorithm]
    freq = t.groupby(["area_id", "group"]).agg(k=("rank", "size"), gap=("gap", "mean")).reset_index()
    return freq.sort_values(["k", "gap"], ascending=False).head(n).reset_index(drop=True)


def _names(frame: pd.DataFrame, k: int = 10) -> str:
    return ", ".join(f"{a.title()} ({g[0]})" for a, g in zip(frame.area_id[:k], frame.group[:k], strict=True))


def agg_overpoliced(b: Baltimore, mode: str):
    top = _tops(b, mode, AGG)
    others = top[top.area_id != "DOWNTOWN"]
    black = int((others.group == "Black").sum())
    ok = top.area_id.iloc[0] == "DOWNTOWN" and black >= len(others) - 1
    return f"{_names(top)}: {black} of {len(others)} others Black", bool(ok)


def total_predpol_white(b: Baltimore, mode: str):
    top = _tops(b, mode, TOTAL, "PredPol")
    white = int((top.group == "White").sum())
    return f"{white} of {len(top)} White: {_names(top, 6)}", white >= 6


def total_kde_black(b: Baltimore, mode: str):
    texts, ok = [], True
    for alg in ("ShortTermKDE", "LongTermKDE"):
        t = b.t("paper_overpoliced", mode)
        t = t[(t["case"] == TOTAL) & (t["algorithm"] == alg)].drop_duplicates("area_id")
        white = int((t.group == "White").sum())
        ok &= white <= 0.4 * len(t)
        texts.append(f"{NAMES[alg]}: {white} of {len(t)} White")
    return "; ".join(texts), ok


def named_in_agg_top(b: Baltimore, mode: str):
    top = set(_tops(b, mode, AGG).area_id)
    want = ["DOWNTOWN", "SANDTOWN-WINCHESTER", "BELAIR-EDISON"]
    hit = [w.title() for w in want if w in top]
    return f"{len(hit)} of 3 in the top 10 ({', '.join(hit) or 'none'})", len(hit) == 3


def total_common(b: Baltimore, mode: str):
    sets = [set(_tops(b, mode, TOTAL, alg).area_id) for alg in NAMES]
    common = set.intersection(*sets)
    text = ", ".join(sorted(a.title() for a in common)) or "none"
    return f"common to the three top-10s: {text}", common == {"SANDTOWN-WINCHESTER"}


def lt_vs_st(b: Baltimore, mode: str):
    s = b.scenarios(mode).set_index(["setting", "algorithm"])[list(PAPER_COLUMNS)].unstack("algorithm")
    claims = {
        "accuracy higher": (s["accuracy"]["LongTermKDE"] > s["accuracy"]["ShortTermKDE"]).mean(),
        "police Gini lower": (s["gini_police"]["LongTermKDE"] < s["gini_police"]["ShortTermKDE"]).mean(),
        "PCR Gini lower": (s["gini_pcr"]["LongTermKDE"] < s["gini_pcr"]["ShortTermKDE"]).mean(),
        "share gap higher": (s["share_gap"]["LongTermKDE"] > s["share_gap"]["ShortTermKDE"]).mean(),
        "PCR gap higher": (s["pcr_gap"]["LongTermKDE"] > s["pcr_gap"]["ShortTermKDE"]).mean(),
    }
    return "; ".join(f"{k} in {pct(v, 0)}" for k, v in claims.items()), all(v > 0.5 for v in claims.values())


PAPER_COLUMNS = ("accuracy", "share_gap", "pcr_gap", "gini_police", "gini_pcr")


def black_more(b: Baltimore, mode: str):
    s = b.scenarios(mode)
    v = float((s["share_gap_signed"] > 0).mean())
    return f"Black areas more in {pct(v, 0)} of scenarios", v > 0.5


def total_toward_white(b: Baltimore, mode: str):
    s = b.scenarios(mode)
    s = s[s["case"] == TOTAL]
    a = float((s["share_gap_signed__slope"] < 0).mean())
    c = float((s["pcr_gap_signed__slope"] < 0).mean())
    return f"share toward White in {pct(a, 0)}, PCR in {pct(c, 0)}", a > 0.5 and c > 0.5


def predpol_fastest_lt_slowest(b: Baltimore, mode: str):
    fair = ("share_gap", "pcr_gap", "gini_police", "gini_pcr")
    fast = sum(b.rank(mode, m, "abs_slope", "PredPol", "share_worst") > 0.5 for m in fair)
    slow = sum(b.rank(mode, m, "abs_slope", "LongTermKDE", "share_best") > 0.5 for m in fair)
    return f"PredPol fastest in most scenarios on {fast} of 4 metrics, long-term KDE slowest on {slow}", (
        fast >= 3 and slow >= 3
    )


def predpol_generally_best(b: Baltimore, mode: str):
    v = {m: b.rank(mode, m, "level", "PredPol", "share_best") for m in PAPER_COLUMNS}
    return ", ".join(f"{m} {pct(x, 0)}" for m, x in v.items()), all(x > 0.5 for x in v.values())


def white_share_by_crime(b: Baltimore, mode: str):
    c = b.crime_top
    higher = int((c[TOTAL] > c[AGG]).sum())
    text = ", ".join(f"{d} d: {pct(r[AGG], 0)} → {pct(r[TOTAL], 0)}" for d, r in c.iterrows())
    return text, higher > len(c) / 2


def day1_differs(b: Baltimore, mode: str):
    d = b.day1[b.day1["compat"] == BALTIMORE_MODES[mode]]
    spread = d.groupby("setting")["share"].agg(lambda v: v.max() - v.min())
    k = int((spread >= 0.05).sum())
    return f"spread ≥ 5 points in {k} of {len(spread)} scenarios (median {pct(spread.median(), 1)})", k > len(
        spread
    ) / 2


def table2_sign(metric: str, published: tuple[float, float]):
    def check(b: Baltimore, mode: str):
        t = b.t("paper_table2", mode).set_index(["metric", "algorithm_b"])["avg_diff"]
        vals = [float(t.get((metric, alg), np.nan)) for alg in ("LongTermKDE", "ShortTermKDE")]
        ok = all(np.sign(v) == np.sign(p) for v, p in zip(vals, published, strict=True))
        return f"{_num(vals[0])} / {_num(vals[1])}", bool(ok)

    return check


def _num(v: float) -> str:
    if not np.isfinite(v):
        return "—"
    a = abs(v)
    return f"{v:+.4f}" if a < 0.1 else f"{v:+.3f}" if a < 10 else f"{v:+.2f}"


#: Table A1 of the paper: (metric, A, B, mean % difference, CI low, CI high, ANOVA F, ANOVA p).
TABLE_A1 = [
    ("Accuracy", "KDE_LongTerm", "KDE_ShortTerm", 23, 20.4, 25.5, 85.9, 1.11e-40),
    ("Accuracy", "PredPol", "KDE_LongTerm", 4.64, 4.17, 5.12, 6.2, 3.47e-15),
    ("Accuracy", "PredPol", "KDE_ShortTerm", 27.5, 25.1, 29.9, 71.6, 2.29e-35),
    ("NeighborhoodFairnessGap_pGini", "KDE_LongTerm", "KDE_ShortTerm", -11.2, -12.2, -10.2, 23.3, 1.22e-13),
    ("NeighborhoodFairnessGap_pGini", "PredPol", "KDE_LongTerm", -0.326, -0.5, -0.151, 84.9, 2.58e-40),
    ("NeighborhoodFairnessGap_pGini", "PredPol", "KDE_ShortTerm", -11.5, -12.5, -10.5, 11.5, 3.52e-7),
    ("NeighborhoodFairnessGap_pcrGini", "KDE_LongTerm", "KDE_ShortTerm", -8.75, -9.69, -7.81, 10.4, 1.42e-6),
    ("NeighborhoodFairnessGap_pcrGini", "PredPol", "KDE_LongTerm", -0.22, -0.327, -0.113, 46.3, 8e-25),
    ("NeighborhoodFairnessGap_pcrGini", "PredPol", "KDE_ShortTerm", -8.97, -9.92, -8.01, 6.14, 0.000455),
    ("NeighborhoodFairness_pGini_absTrend", "KDE_ShortTerm", "KDE_LongTerm", 126, 121, 131, 49.2, 3.95e-26),
    ("NeighborhoodFairness_pGini_absTrend", "KDE_ShortTerm", "PredPol", 8.12, 2.46, 13.8, 59.5, 1.68e-30),
    ("NeighborhoodFairness_pGini_absTrend", "PredPol", "KDE_LongTerm", 122, 116, 128, 7.46, 7.67e-5),
    (
        "NeighborhoodFairness_pcrGini_absTrend",
        "KDE_ShortTerm",
        "KDE_LongTerm",
        79.1,
        72.2,
        85.9,
        52.6,
        1.29e-27,
    ),
    ("NeighborhoodFairness_pcrGini_absTrend", "PredPol", "KDE_LongTerm", 89.6, 84.5, 94.7, 18.5, 4.55e-11),
    ("NeighborhoodFairness_pcrGini_absTrend", "PredPol", "KDE_ShortTerm", 8.76, 3.55, 14, 136, 1.52e-56),
    ("RacialFairnessGap_PCR", "KDE_ShortTerm", "KDE_LongTerm", -4.4, -5.41, -3.38, 28.1, 3.94e-16),
    ("RacialFairnessGap_PCR", "PredPol", "KDE_LongTerm", -9.65, -10.5, -8.8, 25.38, 0.00127),
    ("RacialFairnessGap_PCR", "PredPol", "KDE_ShortTerm", -5.26, -6.04, -4.48, 20.7, 2.93e-12),
    ("RacialFairnessGap_PCR_absTrend", "KDE_LongTerm", "KDE_ShortTerm", 23.7, 13.2, 34.3, 9.21, 7.4e-6),
    ("RacialFairnessGap_PCR_absTrend", "PredPol", "KDE_LongTerm", 3.74, -5.78, 13.3, 6.37, 0.000335),
    ("RacialFairnessGap_PCR_absTrend", "PredPol", "KDE_ShortTerm", 30.1, 20.6, 39.7, 5.17, 0.00169),
    ("RacialFairnessGap_avgPolShare", "KDE_ShortTerm", "KDE_LongTerm", -6.57, -9.03, -4.11, 10, 2.54e-6),
    ("RacialFairnessGap_avgPolShare", "PredPol", "KDE_LongTerm", -11.6, -13, -10.2, 1.09, 0.353),
    ("RacialFairnessGap_avgPolShare", "PredPol", "KDE_ShortTerm", -4.95, -7, -2.91, 14, 1.31e-8),
    (
        "RacialFairnessGap_avgPolShare_absTrend",
        "KDE_ShortTerm",
        "KDE_LongTerm",
        74.6,
        63.4,
        85.8,
        23.8,
        6.24e-14,
    ),
    ("RacialFairnessGap_avgPolShare_absTrend", "KDE_ShortTerm", "PredPol", 59.6, 50.2, 69, 5.38, 0.00126),
    ("RacialFairnessGap_avgPolShare_absTrend", "PredPol", "KDE_LongTerm", 26.5, 14.6, 38.4, 14.8, 4.89e-9),
]
#: Table A2 of the paper: metric → (χ²/dof, p).
TABLE_A2 = {
    "Accuracy": (12.4, 5.35e-14),
    "RacialFairnessGap_avgPolShare": (4.11, 0.000395),
    "RacialFairnessGap_PCR": (8.18, 7.1e-9),
    "NeighborhoodFairnessGap_pGini": (35.1, 1.15e-22),
    "NeighborhoodFairnessGap_pcrGini": (27.4, 6.21e-33),
    "RacialFairnessGap_avgPolShare_absTrend": (7.71, 2.63e-8),
    "RacialFairnessGap_PCR_absTrend": (5.91, 3.55e-6),
    "NeighborhoodFairness_pGini_absTrend": (8.18, 7.19e-9),
    "NeighborhoodFairness_pcrGini_absTrend": (9.71, 1.01e-10),
}
#: Table A3 of the paper: (metric, grouping, groups, average correlation, standard deviation).
TABLE_A3 = [
    ("avg_police_gini", "", 1, -0.976, 0.0),
    ("avg_police_gini", "number_of_police", 2, -0.864, 0.075),
    ("avg_police_gini", "number_of_police + crime_type", 4, -0.929, 0.067),
    ("avg_police_gini", "number_of_police + crime_type + Algorithm", 12, -0.61, 0.533),
    ("avg_policeCrime_ratio_gini", "", 1, -0.957, 0.0),
    ("avg_policeCrime_ratio_gini", "number_of_police", 2, -0.842, 0.118),
    ("avg_policeCrime_ratio_gini", "number_of_police + crime_type", 4, -0.606, 0.603),
    ("avg_policeCrime_ratio_gini", "number_of_police + crime_type + Algorithm", 12, -0.429, 0.67),
    ("avg_racial_fairnessGap_PCR", "", 1, -0.253, 0.0),
    ("avg_racial_fairnessGap_PCR", "crime_type", 2, -0.314, 0.523),
    ("avg_racial_fairnessGap_PCR", "crime_type + number_of_police", 4, -0.072, 0.214),
    ("avg_racial_fairnessGap_PCR", "crime_type + number_of_police + Algorithm", 12, 0.09, 0.431),
    ("avg_racial_fairnessGap_avgPolShare", "", 1, -0.131, 0.0),
    ("avg_racial_fairnessGap_avgPolShare", "crime_type", 2, -0.27, 0.522),
    ("avg_racial_fairnessGap_avgPolShare", "crime_type + number_of_police", 4, -0.094, 0.518),
    ("avg_racial_fairnessGap_avgPolShare", "crime_type + number_of_police + Algorithm", 12, -0.065, 0.566),
]
LEVEL_A = ("Accuracy", "RacialFairnessGap_avgPolShare", "RacialFairnessGap_PCR",
           "NeighborhoodFairnessGap_pGini", "NeighborhoodFairnessGap_pcrGini")  # fmt: skip


def predpol_wins_across_r(b: Baltimore, mode: str):
    """Appendix A: PredPol more accurate and fairer than each KDE, its paired % differences' interval
    excluding 0 in its favour, over all reporting probabilities."""
    t = b.t("paper_table_a1", mode, sens=True)
    t = t[(t.algorithm_a == "PredPol") & t.metric.isin(LEVEL_A)]
    good = np.where(t.metric == "Accuracy", t.ci_low_pct > 0, t.ci_high_pct < 0)
    return f"{int(good.sum())} of {len(t)} comparisons", bool(good.all()) if len(t) else None


def fastest_per_trend(b: Baltimore, mode: str):
    """Appendix A: fastest bias development (largest absolute trend) by metric: short-term KDE on the
    police Gini and the share gap, PredPol on the PCR Gini and the PCR gap."""
    want = {
        "NeighborhoodFairness_pGini_absTrend": "ShortTermKDE",
        "RacialFairnessGap_avgPolShare_absTrend": "ShortTermKDE",
        "NeighborhoodFairness_pcrGini_absTrend": "PredPol",
        "RacialFairnessGap_PCR_absTrend": "PredPol",
    }
    s = b.sens.tables["paper_scenarios"]
    s = s[s["compat"] == BALTIMORE_MODES[mode]]
    from fairpatrol.sweep.paper import TREND_METRICS

    got, k = [], 0
    for paper, alg in want.items():
        col = TREND_METRICS[paper]
        fastest = s.assign(v=s[f"{col}__slope"].abs()).groupby("algorithm")["v"].mean().idxmax()
        k += fastest == alg
        got.append(f"{col}: {NAMES[fastest]}")
    return "; ".join(got), k == len(want)


def anova_significant(b: Baltimore, mode: str):
    t = b.t("paper_table_a1", mode, sens=True)
    k = int((t.anova_p < 0.05).sum())
    return f"{k} of {len(t)} pairs p < 0.05", k >= 0.75 * len(t) if len(t) else None


def a1_signs(b: Baltimore, mode: str):
    t = b.t("paper_table_a1", mode, sens=True).set_index(["metric", "algorithm_a", "algorithm_b"])
    agree = n = 0
    for metric, a, bb, mean, *_ in TABLE_A1:
        key = (metric, a, bb) if (metric, a, bb) in t.index else (metric, bb, a)
        if key not in t.index:
            continue
        v = float(t.loc[key, "mean_pct_diff"])
        v = v if key == (metric, a, bb) else -v
        n += 1
        agree += int(np.sign(v) == np.sign(mean))
    return f"{agree} of {n} signs agree", agree >= 0.8 * n if n else None


def chi2_significant(b: Baltimore, mode: str):
    t = b.t("paper_table_a2", mode, sens=True)
    k = int((t.p_value < 0.05).sum())
    return f"{k} of {len(t)} metrics p < 0.05", k == len(t) if len(t) else None


def dominance_predpol(b: Baltimore, mode: str):
    d = b.t("paper_dominance", mode, sens=True)
    d = d[d.metric.isin(LEVEL_A)]
    top = d.loc[d.groupby(["metric", "report_prob"])["p_best"].idxmax()]
    # the stated exception: the neighbourhood Ginis at r = 0, where long-term KDE and PredPol swap
    exc = top.metric.str.startswith("Neighborhood") & (top.report_prob == 0.0)
    k = int((top.algorithm[~exc] == "PredPol").sum())
    return f"PredPol most often best at {k} of {int((~exc).sum())} (metric, r)", k == int((~exc).sum())


def dominance_trends(b: Baltimore, mode: str):
    d = b.t("paper_dominance", mode, sens=True)
    d = d[d.metric.str.endswith("_absTrend")]
    top = d.loc[d.groupby(["metric", "report_prob"])["p_best"].idxmax()]
    k = int((top.algorithm == "KDE_LongTerm").sum())
    return f"long-term KDE most often slowest at {k} of {len(top)} (metric, r)", k >= 0.75 * len(top)


def negative_at_every_grouping(b: Baltimore, mode: str):
    t = b.t("paper_table_a3", mode, sens=True)
    t = t[t.metric.isin(["avg_police_gini", "avg_policeCrime_ratio_gini"])]
    k = int((t.avg_corr < 0).sum())
    return f"{k} of {len(t)} groupings negative", k == len(t) if len(t) else None


def n_clusters_most(b: Baltimore, mode: str):
    s = b.t("paper_silhouette", mode, sens=True)
    top = s.loc[s.groupby("metric")["silhouette"].idxmax()].set_index("metric")["variable"]
    want = {
        "avg_police_gini": "n_officers",
        "avg_policeCrime_ratio_gini": "n_officers",
        "avg_racial_fairnessGap_PCR": "case",
        "avg_racial_fairnessGap_avgPolShare": "case",
    }
    k = sum(top.get(m) == v for m, v in want.items())
    return "; ".join(f"{m}: {top.get(m)}" for m in want), k == len(want)


S = "accuracy", "share_gap", "pcr_gap", "gini_police", "gini_pcr"
BALTIMORE_FINDINGS = [
    Finding(
        "§4.1.1, Fig. 3",
        "PredPol has the highest coverage accuracy on the first day",
        "50 % of scenarios",
        shares(("accuracy", "first", "PredPol", "share_best", 0.5)),
        "share of the 8 scenarios within one scenario (12.5 points) of the published share",
    ),
    Finding(
        "§4.1.1, Fig. 3",
        "On the last day long-term KDE is the most accurate",
        "75 %",
        shares(("accuracy", "last", "LongTermKDE", "share_best", 0.75)),
        "as above",
    ),
    Finding(
        "§4.1.2, Fig. 4",
        "PredPol is the most accurate algorithm, and second in the other scenarios",
        "87.5 %, second in the rest",
        best_then_second,
        "best within one scenario of 87.5 %, and best or second in every scenario",
    ),
    Finding(
        "§4.1.2, Fig. 4",
        "Short-term KDE is the least accurate",
        "75 %",
        shares(("accuracy", "level", "ShortTermKDE", "share_worst", 0.75)),
        "as above",
    ),
    Finding(
        "§4.1.3, Fig. 5",
        "PredPol is the most racially fair on the police-to-crime ratio gap",
        "75 %",
        shares(("pcr_gap", "level", "PredPol", "share_best", 0.75)),
        "as above",
    ),
    Finding(
        "§4.1.3, Fig. 5",
        "Long-term KDE is the least racially fair on the PCR gap",
        "87.5 %",
        shares(("pcr_gap", "level", "LongTermKDE", "share_worst", 0.875)),
        "as above",
    ),
    Finding(
        "§4.1.3, Figs. 6-7",
        "PredPol is the most racially fair on the average police share gap",
        "62.5 %",
        shares(("share_gap", "level", "PredPol", "share_best", 0.625)),
        "as above",
    ),
    Finding(
        "§4.1.3, Figs. 6-7",
        "Long-term KDE is the least racially fair on the police share gap",
        "75 %",
        shares(("share_gap", "level", "LongTermKDE", "share_worst", 0.75)),
        "as above",
    ),
    Finding(
        "§4.1.4, Figs. 8-9",
        "PredPol (75 %) and long-term KDE (25 %) are the fairest at the neighbourhood level, on both Ginis",
        "75 % / 25 %",
        shares(
            ("gini_police", "level", "PredPol", "share_best", 0.75),
            ("gini_pcr", "level", "PredPol", "share_best", 0.75),
            ("gini_police", "level", "LongTermKDE", "share_best", 0.25),
            ("gini_pcr", "level", "LongTermKDE", "share_best", 0.25),
        ),
        "each share within one scenario (police Gini; PCR Gini)",
    ),
    Finding(
        "§4.1.4, Figs. 8-9",
        "Short-term KDE is the least fair at the neighbourhood level, on both Ginis",
        "100 %",
        shares(
            ("gini_police", "level", "ShortTermKDE", "share_worst", 1.0),
            ("gini_pcr", "level", "ShortTermKDE", "share_worst", 1.0),
        ),
        "as above",
    ),
    Finding(
        "§4.1.5, Fig. 10",
        "Higher accuracy goes with a lower neighbourhood-level fairness gap",
        "negative",
        correlation(("avg_police_gini", "avg_policeCrime_ratio_gini"), lambda v: v <= -0.4, "negative"),
        "Pearson correlation of accuracy with each Gini over the 24 scenario points at most −0.4",
    ),
    Finding(
        "§4.1.6, Fig. 11",
        "Racial fairness is not correlated with accuracy",
        "none",
        correlation(
            ("avg_racial_fairnessGap_PCR", "avg_racial_fairnessGap_avgPolShare"),
            lambda v: abs(v) < 0.4,
            "none",
        ),
        "|correlation| of accuracy with each racial gap below 0.4 over the 24 scenario points",
    ),
    Finding(
        "§4.2.1, Fig. 12",
        "Long-term KDE has the smallest trend of the police share gap",
        "50 %",
        shares(("share_gap", "abs_slope", "LongTermKDE", "share_best", 0.5)),
        "share of scenarios with the smallest absolute slope, within one scenario",
    ),
    Finding(
        "§4.2.1, Fig. 13",
        "Long-term KDE has the smallest trend of the PCR gap",
        "37.5 %",
        shares(("pcr_gap", "abs_slope", "LongTermKDE", "share_best", 0.375)),
        "as above",
    ),
    Finding(
        "§4.2.1, Figs. 14-15",
        "Long-term KDE has the smallest trend of the police Gini",
        "75 %",
        shares(("gini_police", "abs_slope", "LongTermKDE", "share_best", 0.75)),
        "as above",
    ),
    Finding(
        "§4.2.1, Fig. 16",
        "Long-term KDE has the smallest trend of the PCR Gini",
        "75 %",
        shares(("gini_pcr", "abs_slope", "LongTermKDE", "share_best", 0.75)),
        "as above",
    ),
    Finding(
        "§4.2.2, Fig. 12",
        "Short-term KDE has the fastest trend of the police share gap",
        "62.5 %",
        shares(("share_gap", "abs_slope", "ShortTermKDE", "share_worst", 0.625)),
        "share of scenarios with the largest absolute slope, within one scenario",
    ),
    Finding(
        "§4.2.3, Figs. 13-16",
        "PredPol has the fastest neighbourhood-level trend and the fastest PCR gap trend in most scenarios",
        "most",
        most(
            "gini_police",
            "abs_slope",
            "PredPol",
            "share_worst",
            ("gini_pcr", "abs_slope", "PredPol", "share_worst"),
            ("pcr_gap", "abs_slope", "PredPol", "share_worst"),
        ),
        "largest absolute slope in more than half of the scenarios, for each of the three metrics",
    ),
    Finding(
        "§4.2.4, Figs. 17-18",
        "Neighbourhood-level fairness worsens (both Ginis rise) for PredPol in "
        "100 %, short-term KDE in 75 %, long-term KDE in 37.5 % of scenarios",
        "100 / 75 / 37.5 %",
        shares(
            *[
                (m, "slope", a, "share_worsening", p)
                for m in ("gini_police", "gini_pcr")
                for a, p in (("PredPol", 1.0), ("ShortTermKDE", 0.75), ("LongTermKDE", 0.375))
            ]
        ),
        "share of scenarios with a rising Gini, within one scenario, for both Ginis",
    ),
    Finding(
        "§4.2.4, Fig. 20",
        "The PCR gap worsens for PredPol in 75 %, short-term KDE 50 %, long-term KDE 75 % of scenarios",
        "75 / 50 / 75 %",
        shares(
            ("pcr_gap", "slope", "PredPol", "share_worsening", 0.75),
            ("pcr_gap", "slope", "ShortTermKDE", "share_worsening", 0.5),
            ("pcr_gap", "slope", "LongTermKDE", "share_worsening", 0.75),
        ),
        "share of scenarios with a rising gap, within one scenario",
    ),
    Finding(
        "§4.2.4, Fig. 19",
        "The police share gap worsens for PredPol in 50 %, short-term KDE 25 %, long-term KDE 25 %",
        "50 / 25 / 25 %",
        shares(
            ("share_gap", "slope", "PredPol", "share_worsening", 0.5),
            ("share_gap", "slope", "ShortTermKDE", "share_worsening", 0.25),
            ("share_gap", "slope", "LongTermKDE", "share_worsening", 0.25),
        ),
        "as above",
    ),
    Finding(
        "§4.2.5, Fig. 21",
        "Accuracy falls for short-term KDE in 75 %, PredPol 62.5 %, long-term KDE 37.5 % of scenarios",
        "75 / 62.5 / 37.5 %",
        shares(
            ("accuracy", "slope", "ShortTermKDE", "share_worsening", 0.75),
            ("accuracy", "slope", "PredPol", "share_worsening", 0.625),
            ("accuracy", "slope", "LongTermKDE", "share_worsening", 0.375),
        ),
        "share of scenarios with a falling accuracy, within one scenario",
        "The text gives 37.5 % to short-term KDE twice; the second is read as long-term KDE.",
    ),
    Finding(
        "§4.2.6",
        "Uniformity does not guarantee racial fairness: neighbourhood-level fairness worsens more "
        "often than racial fairness for PredPol and short-term KDE, the reverse (PCR gap) for long-term KDE",
        "PredPol, short-term: neighbourhood > racial",
        ordering_2_6,
        "the worsening shares of the three Figs. 17-20 findings above, in that order",
    ),
    Finding(
        "§4.2.7, Figs. 19-20",
        "Every falling racial gap starts on one group and trends toward the other",
        "all",
        contradiction,
        "every (scenario, algorithm) whose racial gap (share or PCR) falls has its day-1 signed gap and "
        "its trend of opposite signs",
    ),
    Finding(
        "§4.3.1, Figs. 22-23",
        "All crime instead of aggravated assault raises the PCR Gini and lowers "
        "accuracy for long-term KDE and PredPol",
        "most scenarios",
        crime_input_effect,
        "in more than half of the 8 (N, r, algorithm) pairs, for both",
    ),
    Finding(
        "§4.3.2, Figs. 24-25",
        "PredPol's police focus trends toward Black areas on aggravated assault and "
        "toward White areas on all crime",
        "most scenarios, both metrics",
        predpol_direction,
        "sign of the slope of the signed gap (Black − White) as stated in more than half of PredPol's 8 "
        "scenarios, for the share and the PCR",
    ),
    Finding(
        "§4.4.1, Fig. 26",
        "On aggravated assault, Downtown is the most frequently over-policed area and "
        "every other of the top 10 is Black (e.g. Belair-Edison, Sandtown-Winchester)",
        "Downtown, then Black areas",
        agg_overpoliced,
        "pooled over algorithms, the area most often among a scenario's top 3 (police share − crime "
        "share, mean over days) is Downtown, and at most one other of the top 10 is not Black",
    ),
    Finding(
        "§4.4.2, Fig. 27",
        "On all crime, PredPol over-polices mostly White areas (Mount Vernon, Canton, "
        "Brooklyn; 8 of its top 10)",
        "8 of 10 White",
        total_predpol_white,
        "at least 6 of PredPol's 10 most frequent top-3 areas White",
    ),
    Finding(
        "§4.4.2, Fig. 27",
        "On all crime, the KDEs over-police mostly Black areas (short-term 2 of 6 White, long-term 1 of 4)",
        "2 of 6, 1 of 4 White",
        total_kde_black,
        "at most 40 % White among each KDE's top-3 areas",
    ),
    Finding(
        "§5, Comparison",
        "Long-term KDE is more accurate and fairer at the neighbourhood level than "
        "short-term KDE, but less racially fair",
        "most scenarios",
        lt_vs_st,
        "each of the five comparisons holds in more than half of the scenarios",
    ),
    Finding(
        "§5, Comparison",
        "PredPol is generally the most accurate and the fairest, racially and between areas",
        "most scenarios",
        predpol_generally_best,
        "PredPol best in more than half of the scenarios on each of the five metrics",
    ),
    Finding(
        "§5, Feedback",
        "PredPol's bias amplifies fastest on most metrics, long-term KDE's slowest",
        "most metrics",
        predpol_fastest_lt_slowest,
        "PredPol fastest, long-term KDE slowest, in most scenarios on at least 3 of the 4 fairness metrics",
    ),
    Finding(
        "§5, Baltimore",
        "Black neighbourhoods receive more policing on average in most simulations",
        "most",
        black_more,
        "mean police share of a Black area above a White area's in most scenarios",
    ),
    Finding(
        "§5, Baltimore",
        "With all crime the trend is toward more officers, and more officers per crime, "
        "in White neighbourhoods",
        "most scenarios",
        total_toward_white,
        "slope of the signed share and PCR gaps (Black − White) negative in most all-crime scenarios",
    ),
    Finding(
        "§5, Fig. 28",
        "Among the top-5 crime neighbourhoods the share of crime in White ones is higher for "
        "all crime than for aggravated assault",
        "higher",
        white_share_by_crime,
        "share of the top-5 areas' crimes in White areas, for lookbacks of 1, 2, 5, 10, 30 and 365 days "
        "before 2019-01-01: higher for all crime at most lookbacks (the data alone: same in both modes)",
    ),
    Finding(
        "§5, Fig. 29",
        "The models allocate differently from the first day on",
        "different",
        day1_differs,
        "share of officers in the 5 areas with the most crime in the 30 days before: the three "
        "algorithms differ by at least 5 points in most scenarios",
    ),
    Finding(
        "§5, Baltimore",
        "Downtown, Sandtown-Winchester and Belair-Edison are repeatedly among the top "
        "over-policed on aggravated assault",
        "all three",
        named_in_agg_top,
        "the three in the pooled top 10 of the Fig. 26 finding above",
    ),
    Finding(
        "§5, Baltimore",
        "On all crime the only neighbourhood all algorithms over-police is Sandtown-Winchester",
        "Sandtown-Winchester",
        total_common,
        "the areas common to the three algorithms' top 10 are exactly Sandtown-Winchester",
    ),
    Finding(
        "§5, Baltimore",
        "A short horizon might rank PredPol most uniform, a longer one swap it with long-term KDE",
        "—",
        None,
        "not testable: a conjecture about other horizons",
    ),
    Finding(
        "Table 2",
        "Average accuracy, PredPol − long-term / short-term KDE",
        "+0.0127 / +0.1306",
        table2_sign("Accuracy", (0.0127, 0.1306)),
        "both signs as published",
    ),
    Finding(
        "Table 2",
        "Racial gap (PCR), PredPol − long-term / short-term KDE",
        "−3.3727 / −1.8443",
        table2_sign("RacialFairnessGap_PCR", (-3.3727, -1.8443)),
        "both signs as published",
        "The published table's minus signs are lost in the text we have (its + signs are kept); the "
        "caption's 'negative values indicate lower fairness gaps for PredPol' and the §4.1.3-4 findings "
        "make them negative.",
    ),
    Finding(
        "Table 2",
        "Racial gap (average police share), PredPol − long-term / short-term KDE",
        "−0.0003 / −0.0002",
        table2_sign("RacialFairnessGap_avgPolShare", (-0.0003, -0.0002)),
        "both signs as published",
        "Signs as above.",
    ),
    Finding(
        "Table 2",
        "Neighbourhood gap (PCR Gini), PredPol − long-term / short-term KDE",
        "−0.039 / −0.1908",
        table2_sign("NeighborhoodFairnessGap_pcrGini", (-0.039, -0.1908)),
        "both signs as published",
        "Signs as above.",
    ),
    Finding(
        "Table 2",
        "Neighbourhood gap (police Gini), PredPol − long-term / short-term KDE",
        "−0.0329 / −0.2171",
        table2_sign("NeighborhoodFairnessGap_pGini", (-0.0329, -0.2171)),
        "both signs as published",
        "Signs as above.",
    ),
    Finding(
        "App. A, Table A1",
        "Across reporting probabilities PredPol stays the most accurate and the fairest",
        "all 10 comparisons",
        predpol_wins_across_r,
        "PredPol's paired % difference to each KDE on accuracy and the four gaps with a 95 % interval "
        "excluding 0 in PredPol's favour (r = 0, 0.2, 0.4, 0.6 pooled)",
    ),
    Finding(
        "App. A, Table A1",
        "The fastest bias development is short-term KDE's on two metrics and PredPol's on the other two",
        "police Gini, share gap: short-term; PCR Gini, PCR gap: PredPol",
        fastest_per_trend,
        "the algorithm with the largest mean absolute slope, each of the four metrics",
    ),
    Finding(
        "App. A, Table A1",
        "The reporting probability significantly affects the difference between every "
        "pair of algorithms on every metric (one-way ANOVA)",
        "26 of 27 p < 0.05",
        anova_significant,
        "at least 75 % of the 27 pair × metric ANOVAs with p < 0.05",
    ),
    Finding(
        "App. A, Table A1",
        "Directions of the 27 pairwise % differences",
        "27 signs",
        a1_signs,
        "at least 80 % of the signs as published",
    ),
    Finding(
        "App. A, Table A2",
        "Which algorithm wins depends on the reporting probability, for every metric (χ²)",
        "9 of 9 p < 0.05",
        chi2_significant,
        "all 9 χ² tests with p < 0.05",
    ),
    Finding(
        "App. A, Fig. A1",
        "PredPol has the highest probability of being best at every reporting "
        "probability (except the neighbourhood Ginis at r = 0, where long-term KDE leads)",
        "every r",
        dominance_predpol,
        "PredPol's win share the largest at every (metric, r) but the stated exception",
    ),
    Finding(
        "App. A, Fig. A2",
        "Long-term KDE's slower bias development is robust across reporting probabilities",
        "every r",
        dominance_trends,
        "long-term KDE most often the slowest at 75 % or more of the (trend metric, r) pairs",
    ),
    Finding(
        "App. B, Table A3",
        "Accuracy and the police Gini are strongly negatively correlated",
        "−0.976",
        correlation(("avg_police_gini",), lambda v: v <= -0.7, "strong", sens=True),
        "correlation over the (setting × algorithm) points of the sensitivity grid at most −0.7",
    ),
    Finding(
        "App. B, Table A3",
        "Accuracy and the PCR Gini are strongly negatively correlated",
        "−0.957",
        correlation(("avg_policeCrime_ratio_gini",), lambda v: v <= -0.7, "strong", sens=True),
        "as above",
    ),
    Finding(
        "App. B, Table A3",
        "The negative Gini-accuracy correlation persists in every refined grouping, weaker",
        "all groupings negative",
        negative_at_every_grouping,
        "the average within-group correlation negative at every grouping level, both Ginis",
    ),
    Finding(
        "App. B, Table A3",
        "The racial gaps are weakly or not correlated with accuracy",
        "−0.253, −0.131",
        correlation(
            ("avg_racial_fairnessGap_PCR", "avg_racial_fairnessGap_avgPolShare"),
            lambda v: abs(v) < 0.4,
            "weak",
            sens=True,
        ),
        "|correlation| below 0.4, both",
    ),
    Finding(
        "App. B, Fig. A3",
        "The number of officers makes the most distinct clusters for the Ginis, the "
        "crime type for the racial gaps",
        "N; crime type",
        n_clusters_most,
        "the grouping variable with the highest silhouette score, each of the four metrics",
    ),
]


def run_baltimore(days: int | None, runs: int | None, results: Path | None) -> Baltimore:
    """Run (or resume) the study's two sweeps into ``results`` and compute the paper's tables."""
    import tempfile

    from fairpatrol.data import load_areas, load_incidents
    from fairpatrol.sweep.execute import run_sweep
    from fairpatrol.sweep.paper import paper_tables
    from fairpatrol.sweep.spec import load_sweep_preset

    tmp = tempfile.TemporaryDirectory() if results is None else None
    root = Path(tmp.name) if tmp is not None else results
    seconds, tables = {}, {}
    try:
        for key, name in BALTIMORE_SWEEPS.items():
            plan = load_sweep_preset(name, days=days, runs=runs)
            t0 = time.perf_counter()
            report = run_sweep(plan, root / name)
            if report.failed:
                raise SystemExit(
                    f"{name}: {len(report.failed)} cell(s) failed: {next(iter(report.failed.values()))}"
                )
            seconds[name] = time.perf_counter() - t0 if report.ran else float("nan")  # nan: all reused
            print(f"{name}: {report.ran} cells run, {report.skipped} reused, {seconds[name]:.0f} s")
            tables[key] = paper_tables(root / name)
        areas = load_areas("baltimore")
        inc = load_incidents("baltimore-part1", areas=areas)
        crime_top = _white_share_of_top_crime(inc, areas)
        day1 = _day1_top_share(root / BALTIMORE_SWEEPS["main"], inc, areas)
        fits = _predpol_fits(root / BALTIMORE_SWEEPS["main"])
    finally:
        if tmp is not None:
            tmp.cleanup()
    return Baltimore(tables["main"], tables["sensitivity"], crime_top, day1, fits, areas, seconds)


START = pd.Timestamp("2019-01-01")
LOOKBACKS = (1, 2, 5, 10, 30, 365)


def _top_areas(frame: pd.DataFrame, days: int, k: int = 5) -> pd.Series:
    """Crimes per area of the ``k`` areas with the most crime in the ``days`` before the start."""
    w = frame[(frame.time >= START - pd.Timedelta(days=days)) & (frame.time < START)]
    counts = w.groupby("area_id").size()
    return counts.sort_values(ascending=False, kind="stable").head(k)


def _white_share_of_top_crime(inc, areas) -> pd.DataFrame:
    """Fig. 28: of the crimes in the top-5 crime areas, the share in White areas, per lookback."""
    white = set(areas.ids[np.asarray(areas.groups) == "White"])
    out = {}
    for case, frame in ((AGG, inc.of_types([AGG]).frame), (TOTAL, inc.frame)):
        out[case] = [
            float(top[top.index.isin(white)].sum() / top.sum())
            for top in (_top_areas(frame, d) for d in LOOKBACKS)
        ]
    return pd.DataFrame(out, index=pd.Index(LOOKBACKS, name="lookback"))


def _day1_top_share(root: Path, inc, areas) -> pd.DataFrame:
    """Fig. 29: each scenario's day-1 share of officers in the 5 areas with the most crime in the 30 days
    before the start (mean over runs)."""
    import duckdb

    tops = {
        AGG: list(_top_areas(inc.of_types([AGG]).frame, 30).index),
        TOTAL: list(_top_areas(inc.frame, 30).index),
    }
    src = f"read_parquet('{root}/allocations/*/*.parquet', hive_partitioning = true)"
    day = duckdb.sql(
        f'select compat, "case", n_officers, report_prob, algorithm, run, area_id, officers from {src} '
        f"where date = DATE '2019-01-01'"
    ).df()
    day["top"] = [a in tops[c] for a, c in zip(day.area_id, day["case"], strict=True)]
    g = day.groupby(["compat", "case", "n_officers", "report_prob", "algorithm", "run"])
    share = (g.apply(lambda x: x.officers[x.top].sum() / max(x.officers.sum(), 1), include_groups=False)
             .groupby(level=[0, 1, 2, 3, 4]).mean().rename("share").reset_index())  # fmt: skip
    share["setting"] = (
        share["case"] + ", N" + share.n_officers.astype(str) + ", r" + share.report_prob.astype(str)
    )
    return share


def _predpol_fits(root: Path) -> pd.DataFrame:
    import duckdb

    src = f"read_parquet('{root}/metrics/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    return duckdb.sql(
        f'select compat, "case", median(theta) as theta, quantile_cont(theta, 0.05) as theta_lo, '
        f"quantile_cont(theta, 0.95) as theta_hi, median(omega) as omega, "
        f"avg(case when theta <= 1.0e-5 then 1 else 0 end) as at_floor "
        f"from {src} where algorithm = 'PredPol' group by all order by all"
    ).df()


def baltimore_section(days: int | None, runs: int | None = None, results: Path | None = None) -> str:
    b = run_baltimore(days, runs, results)
    rows, counts = finding_rows(BALTIMORE_FINDINGS, lambda f, mode: f.check(b, mode))
    n_days = days or 300
    n_runs = runs or 20
    short = days is not None or runs is not None
    out = [
        f"Generated by `python scripts/fidelity.py --study baltimore` on {pd.Timestamp.now():%Y-%m-%d}"
        + (f" ({n_days} days, {n_runs} runs only: not the published comparison)" if short else "")
        + ".",
        "",
        f"Sweeps `baltimore-paper` (the 8 scenarios{_took(b, 'baltimore-paper')}) and "
        f"`baltimore-paper-sensitivity` (r = 0, 0.2, 0.4, 0.6{_took(b, 'baltimore-paper-sensitivity')}), "
        f"{n_days} days from 2019-01-01, {n_runs} runs per cell, on the bundled Part 1 records "
        "(`baltimore-part1`: aggravated assaults, or all 15 groups for the study's 'TOTAL'); wall-clock "
        "times on a shared 2-core machine (the benchmark gives CPU times).",
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
        *_table2_md(b),
        "",
        *_a1_md(b),
        "",
        *_a2_md(b),
        "",
        *_a3_md(b),
        "",
        *_overpoliced_md(b),
        "",
        *_fits_md(b),
    ]
    return "\n".join(out)


def _took(b: Baltimore, name: str) -> str:
    s = b.seconds.get(name, float("nan"))
    return f", {s / 60:.0f} min" if np.isfinite(s) else ", reused from an earlier run"


def _table2_md(b: Baltimore) -> list[str]:
    pub = {
        "Accuracy": (0.0127, 0.1306),
        "RacialFairnessGap_PCR": (-3.3727, -1.8443),
        "RacialFairnessGap_avgPolShare": (-0.0003, -0.0002),
        "NeighborhoodFairnessGap_pcrGini": (-0.039, -0.1908),
        "NeighborhoodFairnessGap_pGini": (-0.0329, -0.2171),
    }
    t = {m: b.t("paper_table2", m).set_index(["metric", "algorithm_b"])["avg_diff"] for m in MODES}
    out = [
        "Table 2 (PredPol − KDE, mean over the 8 scenarios; positive accuracy and negative gaps favour "
        "PredPol), `fairpatrol analyze DIR --paper` → `paper_table2.csv`:",
        "",
        "| metric | published LT / ST | default LT / ST | paper mode LT / ST |",
        "|---|---|---|---|",
    ]
    for metric, (p_lt, p_st) in pub.items():
        cells = [
            " / ".join(
                _num(float(t[m].get((metric, alg), np.nan))) for alg in ("LongTermKDE", "ShortTermKDE")
            )
            for m in MODES
        ]
        out.append(f"| {metric} | {_num(p_lt)} / {_num(p_st)} | {cells[0]} | {cells[1]} |")
    return out


def _p(v: float) -> str:
    if not np.isfinite(v):
        return "—"
    return f"{v:.3f}" if v >= 0.001 else "< 0.001"


def _a1_md(b: Baltimore) -> list[str]:
    t = {
        m: b.t("paper_table_a1", m, sens=True).set_index(["metric", "algorithm_a", "algorithm_b"])
        for m in MODES
    }
    out = [
        "Table A1 (paired % difference 100 · (A − B) / B of run values over r = 0, 0.2, 0.4, 0.6, its 95 % "
        "interval, and the one-way ANOVA of it across r; `paper_table_a1.csv`):",
        "",
        "| metric | A | B | published % (CI), F, p | default % (CI), F, p | paper mode % (CI), F, p |",
        "|---|---|---|---|---|---|",
    ]
    for metric, a, bb, mean, lo, hi, f, p in TABLE_A1:
        cells = []
        for m in MODES:
            key, sign = ((metric, a, bb), 1) if (metric, a, bb) in t[m].index else ((metric, bb, a), -1)
            if key not in t[m].index:
                cells.append("—")
                continue
            r = t[m].loc[key]
            lo_, hi_ = sorted((sign * r.ci_low_pct, sign * r.ci_high_pct))
            cells.append(
                f"{sign * r.mean_pct_diff:.1f} ({lo_:.1f}, {hi_:.1f}), {r.anova_f:.1f}, {_p(r.anova_p)}"
            )
        out.append(
            f"| {metric} | {a} | {bb} | {mean:g} ({lo:g}, {hi:g}), {f:g}, {_p(p)} | {cells[0]} | {cells[1]} |"
        )
    return out


def _a2_md(b: Baltimore) -> list[str]:
    t = {m: b.t("paper_table_a2", m, sens=True).set_index("metric") for m in MODES}
    out = [
        "Table A2 (χ² of the winning algorithm per setting and run against r; `paper_table_a2.csv`):",
        "",
        "| metric | published χ²/dof, p | default | paper mode |",
        "|---|---|---|---|",
    ]
    for metric, (cd, p) in TABLE_A2.items():
        cells = []
        for m in MODES:
            row = t[m].loc[metric] if metric in t[m].index else None
            ok = row is not None and np.isfinite(row["chi2_per_dof"])
            cells.append(f"{row['chi2_per_dof']:.2f}, {_p(row['p_value'])}" if ok else "—")
        out.append(f"| {metric} | {cd:g}, {_p(p)} | {cells[0]} | {cells[1]} |")
    return out


def _a3_md(b: Baltimore) -> list[str]:
    out = [
        "Table A3 (correlation of accuracy with each fairness metric over the setting × algorithm points of "
        "the sensitivity grid, within groupings refined in the order of their silhouette scores; "
        "`paper_table_a3.csv`; fairpatrol's `case` is the crime type, `n_officers` the number of police):",
        "",
        "| metric | published: grouping, groups, avg (std) | default | paper mode |",
        "|---|---|---|---|",
    ]
    ours = {m: b.t("paper_table_a3", m, sens=True) for m in MODES}
    for metric in dict.fromkeys(r[0] for r in TABLE_A3):
        pub = "; ".join(
            f"{g or 'none'}, {n}, {a:.2f} ({s:.2f})" for mm, g, n, a, s in TABLE_A3 if mm == metric
        )
        cells = []
        for m in MODES:
            t = ours[m][ours[m].metric == metric]
            cells.append(
                "; ".join(
                    f"{r.grouping or 'none'}, {r.groups}, {r.avg_corr:.2f} ({r.std_corr:.2f})"
                    for r in t.itertuples()
                )
            )
        out.append(f"| {metric} | {pub} | {cells[0]} | {cells[1]} |")
    return out


def _overpoliced_md(b: Baltimore) -> list[str]:
    out = [
        "Areas most often among a scenario's top 3 over-policed (police share − crime share, mean over days "
        "and runs; B = Black, W = White, n = neither; `paper_overpoliced_top.csv`):",
        "",
        "| crime input | algorithm | default | paper mode |",
        "|---|---|---|---|",
    ]
    for case in (AGG, TOTAL):
        for alg in [None, *NAMES]:
            cells = [_names(_tops(b, m, case, alg)) for m in MODES]
            out.append(f"| {case} | {NAMES.get(alg, 'all, pooled')} | {cells[0]} | {cells[1]} |")
    return out


def _fits_md(b: Baltimore) -> list[str]:
    out = [
        "PredPol's daily fits (median and 5-95 % range of θ over runs and days; ω per day; share of fits at "
        "θ's lower bound):",
        "",
        "| crime input | mode | θ | ω per day | θ at its bound |",
        "|---|---|---|---|---|",
    ]
    inverse = {v: k for k, v in BALTIMORE_MODES.items()}
    for r in b.fits.itertuples():
        out.append(
            f"| {r.case} | {inverse.get(r.compat, r.compat)} | {r.theta:.3g} "
            f"({r.theta_lo:.3g}-{r.theta_hi:.3g}) | {r.omega:.3g} | {pct(r.at_floor, 0)} |"
        )
    return out


#: Studies of the page: name → function returning the Markdown of its section.
STUDIES: dict[str, Callable[..., str]] = {"grid": grid_section, "baltimore": baltimore_section}


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
    ap.add_argument("--runs", type=int, default=None, help="baltimore: N runs per cell (a quick check)")
    ap.add_argument(
        "--results",
        type=Path,
        default=None,
        help="baltimore: run the sweeps into this folder, or reuse (resume) the sweeps already in it "
        "(default: a temporary folder)",
    )
    ap.add_argument(
        "--out", type=Path, default=PAGE, help=f"page to update (default {PAGE.relative_to(ROOT)})"
    )
    args = ap.parse_args()
    page = args.out.read_text(encoding="utf-8") if args.out.exists() else "# Paper fidelity\n"
    for study in args.study:
        extra = {"runs": args.runs, "results": args.results} if study == "baltimore" else {}
        page = replace_section(page, study, STUDIES[study](args.days, **extra))
    args.out.write_text(page, encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
