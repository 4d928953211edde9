"""What `fairpatrol analyze` prints: a short verdict table by default (one row per measure: which
algorithm is best, how clearly, what it depends on), every statistic with ``--full``. The full tables are
always the CSV files. Numbers go through :mod:`fairpatrol.formatting`; measures are named by their
registry labels."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from fairpatrol.formatting import join, number, p_value, percent
from fairpatrol.metrics.registry import metric
from fairpatrol.sweep.analyze import Analysis


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return number(value, digits)
    return str(value)


def _p(value: float) -> str:
    return "–" if value is None or math.isnan(value) else p_value(value)


def _pair(analysis: Analysis) -> tuple[str, str] | None:
    means = analysis.tables.get("means")
    if means is not None and {"group_1", "group_2"} <= set(means.columns) and len(means):
        return str(means["group_1"].iloc[0]), str(means["group_2"].iloc[0])
    return None


def verdicts(analysis: Analysis) -> tuple[pd.DataFrame, list[str]]:
    """One row per measure: how it is ranked, the algorithm that wins most settings, whether its lead over
    each other algorithm is clear (paired 95 % interval over settings excludes 0), which parameters change
    the measure (ANOVA p < 0.05) and which change the winner (χ² p < 0.05); plus one line per test that was
    skipped because it cannot say anything (with the reason)."""
    t = analysis.tables
    rows, skipped = [], []
    pair = _pair(analysis)
    for name in analysis.metrics:
        m = metric(name)
        title = m.text(pair)[0]
        row = {
            "measure": title,
            "better": {"closer to 1": "closer to 1 (|log|)"}.get(m.better, m.better),
        }
        wins = t.get("wins")
        if wins is not None and not wins.empty:
            w = wins[wins["metric"] == name].sort_values("share", ascending=False, kind="stable")
            if len(w):
                top = w.iloc[0]
                won = number(top["settings_won"], 3)
                row["best"] = f"{top['algorithm']} ({won} of {int(top['settings'])} settings)"
                po = t["paired_overall"]
                mine = po[
                    (po["metric"] == name)
                    & ((po["algorithm_a"] == top["algorithm"]) | (po["algorithm_b"] == top["algorithm"]))
                ]
                clear = []
                for _, r in mine.iterrows():
                    other = r["algorithm_b"] if r["algorithm_a"] == top["algorithm"] else r["algorithm_a"]
                    lo, hi = r["ci_low"], r["ci_high"]
                    sign = 1 if r["algorithm_a"] == top["algorithm"] else -1
                    good = (lo > 0 or hi < 0) and ((sign * (hi if hi < 0 else lo)) > 0) == (
                        m.better == "higher"
                    )
                    clear.append(f"{other} {'clear' if good else 'not clear'}")
                row["lead"] = "; ".join(clear) or "–"
        anova = t.get("anova")
        if anova is not None and not anova.empty:
            a = anova[(anova["metric"] == name) & (anova["stratum"] == "all")]
            changed = sorted({str(p) for p in a.loc[a["p_value"] < 0.05, "parameter"]})
            row["changed by"] = join(changed) or "nothing clearly"
            degenerate = a[a["p_value"].isna()]
            for _, r in degenerate.iterrows():
                why = (
                    "one value"
                    if r["values"] < 2
                    else "no spread within values"
                    if r["n"] > r["values"]
                    else "too few runs"
                )
                what = f"ANOVA of {title} over {r['parameter']} for {r['algorithm']}"
                skipped.append(f"{what}: skipped ({why})")
        chi2 = t.get("chi2")
        if chi2 is not None and not chi2.empty:
            c = chi2[(chi2["metric"] == name) & (chi2["stratum"] == "all")]
            row["winner depends on"] = (
                join(sorted({str(p) for p in c.loc[c["p_value"] < 0.05, "parameter"]})) or "nothing clearly"
            )
            for _, r in c[c["p_value"].isna()].iterrows():
                what = f"χ² of the best algorithm on {title} against {r['parameter']}"
                skipped.append(f"{what}: skipped ({r['note']})")
        rows.append(row)
    return pd.DataFrame(rows), skipped


def print_verdicts(analysis: Analysis) -> None:
    """The short verdict table (the default output of ``fairpatrol analyze``)."""
    from rich.console import Console

    console = Console(width=max(Console().width, 120))
    _header(console, analysis)
    table, skipped = verdicts(analysis)
    if not table.empty:
        console.print(
            _table(
                "Verdicts (95 % level; every statistic in DIR/analysis/*.csv, or --full)",
                table,
                {c: (lambda r, c=c: str(r.get(c, "–"))) for c in table.columns},
            )
        )
    for line in skipped:
        console.print(f"[dim]{line}[/dim]", highlight=False)


def _header(console: Any, analysis: Analysis) -> None:
    runs = analysis.tables["run_levels"]
    console.print(
        f"[bold]{analysis.cells} cells[/bold], {runs['setting'].nunique()} settings, algorithms "
        f"{', '.join(analysis.algorithms)}; parameters: {', '.join(analysis.parameters) or 'none'}",
        highlight=False,
    )
    for note in analysis.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    for cid, error in analysis.failed.items():
        console.print(f"[red]failed cell[/red] {cid}: {error}", highlight=False)


def _cell_text(fmt: Callable[[Any], str], column: str, missing: str | None = None) -> Callable[[Any], str]:
    """A table column's text: ``fmt`` of the row's value in ``column`` (``missing`` where it has none)."""
    if missing is None:
        return lambda r: fmt(r[column])
    return lambda r: fmt(r.get(column, missing))


def _table(title: str, frame: pd.DataFrame, columns: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(
            name, justify="left" if name in {"metric", "algorithm", "parameter", "pair"} else "right"
        )
    for _, row in frame.iterrows():
        table.add_row(*[fmt(row) for fmt in columns.values()])
    return table


def _shown_strata(frame: pd.DataFrame, most: int = 3) -> pd.DataFrame:
    """Rows to print: the pooled stratum, and the single strata of a parameter when it has few."""
    keep = []
    for _, grp in frame.groupby("parameter", sort=False):
        few = grp["stratum"].nunique() <= most
        keep.append(grp if few else grp[grp["stratum"] == "all"])
    return pd.concat(keep) if keep else frame


def print_analysis(analysis: Analysis) -> None:
    """Every statistic (``--full``): wins, paired differences, ANOVA and χ² (pooled, and by stratum when
    few), correlations."""
    from rich.console import Console

    console = Console(width=max(Console().width, 120))
    t = analysis.tables
    pair = _pair(analysis)

    def _label(name: str) -> str:
        return metric(name).text(pair)[0]

    _header(console, analysis)
    console.print(
        ", ".join(f"{_label(m)}: {metric(m).how_ranked}" for m in analysis.metrics), highlight=False
    )
    if "wins" in t:
        wide = t["wins"].pivot(index="algorithm", columns="metric", values="share")
        wide = wide.reindex(index=analysis.algorithms, columns=analysis.metrics).reset_index()
        wins: dict[str, Callable[[Any], str]] = {"algorithm": lambda r: r["algorithm"]}
        wins.update({_label(m): _cell_text(percent, m) for m in analysis.metrics})
        console.print(_table("Share of settings each algorithm wins (best mean level)", wide, wins))
        console.print(
            _table(
                "Paired differences A − B of run levels, mean over settings (95 % interval over settings)",
                t["paired_overall"],
                {
                    "metric": lambda r: f"{_label(r['metric'])} ({r['compared_on']})",
                    "pair": lambda r: f"{r['algorithm_a']} − {r['algorithm_b']}",
                    "mean": lambda r: _num(r["mean_diff"]),
                    "95 % interval": lambda r: f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]",
                    "p": lambda r: _p(r["p_value"]),
                    "A better in": lambda r: f"{percent(r['share_a_better'])} of {r['settings']}",
                },
            )
        )
    if "anova" in t:
        a = _shown_strata(t["anova"])
        a = a.assign(text=[f"{_num(f, 4)} ({_p(p)})" for f, p in zip(a["F"], a["p_value"], strict=True)])
        wide = a.pivot_table(
            index=["parameter", "stratum", "metric"],
            columns="algorithm",
            values="text",
            aggfunc="first",
            sort=False,
        ).reset_index()
        cols: dict[str, Callable[[Any], str]] = {
            "parameter": lambda r: r["parameter"],
            "within": lambda r: r["stratum"],
            "metric": lambda r: _label(r["metric"]),
        }
        cols.update({alg: _cell_text(lambda v: v, alg, missing="–") for alg in analysis.algorithms})
        console.print(
            _table(
                "One-way ANOVA of run levels across each parameter's values: F (p) per algorithm "
                "(every stratum in anova.csv)",
                wide,
                cols,
            )
        )
    if "chi2" in t:
        console.print(
            _table(
                "χ² test: winning algorithm of each (setting, run) vs parameter value "
                "(every stratum in chi2.csv)",
                _shown_strata(t["chi2"]),
                {
                    "parameter": lambda r: r["parameter"],
                    "within": lambda r: r["stratum"],
                    "metric": lambda r: _label(r["metric"]),
                    "χ²": lambda r: _num(r["chi2"], 4),
                    "dof": lambda r: str(r["dof"]),
                    "p": lambda r: _p(r["p_value"]),
                    "Cramér's V": lambda r: _num(r["cramers_v"], 2),
                    "note": lambda r: r["note"] if isinstance(r["note"], str) else "",
                },
            )
        )
    corr = t.get("correlations")
    if corr is not None and len(corr):
        c = corr[corr["grouping"].isin(["all", "algorithm"])]
        console.print(
            _table(
                "Accuracy vs fairness over (setting, algorithm) means",
                c,
                {
                    "within": lambda r: "all" if r["grouping"] == "all" else str(r["value"]),
                    "metric": lambda r: _label(r["metric"]),
                    "n": lambda r: str(r["n"]),
                    "Pearson r": lambda r: _num(r["pearson_r"], 2),
                    "p": lambda r: _p(r["pearson_p"]),
                    "Spearman ρ": lambda r: _num(r["spearman_rho"], 2),
                    "p ": lambda r: _p(r["spearman_p"]),
                },
            )
        )


def print_paper(analysis: Analysis) -> None:
    """The Baltimore study's Table 2 (PredPol − each KDE, mean over the scenarios) for each mode; the other
    paper tables are in the ``paper_*`` files."""
    from rich.console import Console
    from rich.table import Table

    t2 = analysis.tables.get("paper_table2")
    console = Console()
    if t2 is None or t2.empty:
        console.print("paper tables: no Table 2 (it needs PredPol and a KDE)")
        return
    modes = [c for c in ("compat",) if c in t2.columns]
    for key, grp in t2.groupby(modes, sort=False) if modes else [((), t2)]:
        mode = f" (compat: {key[0] if isinstance(key, tuple) else key})" if modes else ""
        table = Table(
            title=f"Table 2 of the study: PredPol − KDE, mean over {grp['scenarios'].max()} scenarios{mode}"
        )
        for col in ("measure", "vs", "mean difference", "PredPol better in"):
            table.add_column(col, justify="left" if col in ("measure", "vs") else "right")
        for _, r in grp.iterrows():
            table.add_row(
                metric(r["column"]).label,
                str(r["algorithm_b"]),
                _num(r["avg_diff"], 3),
                percent(r["share_a_better"]),
            )
        console.print(table)
    console.print(
        "the study's other tables (Appendix A and B, top-3 over-policed areas) are the paper_*.csv files"
    )
