"""The readable summary `fairpatrol analyze` prints (rich tables); the full tables are the CSV files."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from fairpatrol.sweep.analyze import Analysis, better


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return "<1e-4" if value < 1e-4 else f"{value:.4f}"


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
    """Wins, paired differences, ANOVA and χ² (pooled, and by stratum when few), correlations."""
    from rich.console import Console

    console = Console(width=max(Console().width, 120))
    t = analysis.tables
    runs = t["run_levels"]
    sense = ", ".join(f"{m}: {better(m)} is better" for m in analysis.metrics)
    console.print(
        f"[bold]{analysis.cells} cells[/bold], {runs['setting'].nunique()} settings, algorithms "
        f"{', '.join(analysis.algorithms)}; parameters: {', '.join(analysis.parameters) or 'none'}\n{sense}"
    )
    for note in analysis.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for cid, error in analysis.failed.items():
        console.print(f"[red]failed cell[/red] {cid}: {error}")
    if "wins" in t:
        wide = t["wins"].pivot(index="algorithm", columns="metric", values="share")
        wide = wide.reindex(index=analysis.algorithms, columns=analysis.metrics).reset_index()
        cols = {"algorithm": lambda r: r["algorithm"]}
        cols.update({m: (lambda r, m=m: _num(r[m], 2)) for m in analysis.metrics})
        console.print(_table("Share of settings each algorithm wins (best mean level)", wide, cols))
        console.print(
            _table(
                "Paired differences A − B of run levels, mean over settings (95 % interval over settings)",
                t["paired_overall"],
                {
                    "metric": lambda r: r["metric"],
                    "pair": lambda r: f"{r['algorithm_a']} − {r['algorithm_b']}",
                    "mean": lambda r: _num(r["mean_diff"]),
                    "95 % interval": lambda r: f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]",
                    "p": lambda r: _p(r["p_value"]),
                    "A better in": lambda r: f"{_num(r['share_a_better'], 2)} of {r['settings']}",
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
        cols: dict[str, Any] = {
            "parameter": lambda r: r["parameter"],
            "within": lambda r: r["stratum"],
            "metric": lambda r: r["metric"],
        }
        cols.update({alg: (lambda r, alg=alg: r.get(alg, "–")) for alg in analysis.algorithms})
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
                    "metric": lambda r: r["metric"],
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
                    "metric": lambda r: r["metric"],
                    "n": lambda r: str(r["n"]),
                    "Pearson r": lambda r: _num(r["pearson_r"], 2),
                    "p": lambda r: _p(r["pearson_p"]),
                    "Spearman ρ": lambda r: _num(r["spearman_rho"], 2),
                    "p ": lambda r: _p(r["spearman_p"]),
                },
            )
        )
