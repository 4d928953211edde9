"""Report on a ``fairpatrol sweep`` directory: how robust the conclusions are across its cells.

The layout is that of :mod:`fairpatrol.results.sweep` (``sweep.yaml``, hive-partitioned ``metrics/``,
``summary/``, ``allocations/`` per cell, ``configs/<id>.yaml``, ``failures/``). The comparisons are those of
:func:`fairpatrol.sweep.analyze.analyze_sweep` (computed here from the finished cells, so ``fairpatrol
analyze`` need not have been run): wins and paired differences between algorithms, one-way ANOVA of each
swept parameter, χ² of the winner against it, dominance curves and accuracy–fairness correlations.

One cell of a sweep is a complete study: :func:`fairpatrol.results.sweep.read_sweep_cell` reads it as a
:class:`~fairpatrol.results.run.RunResults`, so ``fairpatrol report DIR --cell ID`` gives the full run
report (maps, explanations, calibration) of that cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import yaml

import fairpatrol.report.figures as figures
from fairpatrol.formatting import number, percent
from fairpatrol.metrics import mean_interval
from fairpatrol.report.page import data_uri, shown_path
from fairpatrol.report.sections import FigureMaker
from fairpatrol.report.summary import BEST, Finding, join, metric_info, sig, unit_of
from fairpatrol.results.sweep import SweepResults
from fairpatrol.sweep.analyze import Analysis, analyze_sweep


def group_pair(analysis: Analysis) -> tuple[str, str]:
    """The two groups the sweep's cells compare (from its analysis tables)."""
    runs = analysis.tables["means"]
    if {"group_1", "group_2"} <= set(runs.columns) and len(runs):
        return str(runs["group_1"].iloc[0]), str(runs["group_2"].iloc[0])
    return ("group 1", "group 2")


# -- tables for the page ------------------------------------------------------------------------------------
def _is_numeric(values: pd.Series) -> bool:
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def parameter_means(runs: pd.DataFrame, param: str, metric: str) -> pd.DataFrame:
    """Mean run level and 95 % interval per (parameter value, algorithm), pooled over other settings."""
    rows = []
    for (value, alg), block in runs.groupby([param, "algorithm"], sort=True):
        mean, lo, hi = mean_interval(block[metric].to_numpy(dtype=float))
        rows.append({"value": value, "algorithm": alg, "mean": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def sweep_findings(res: SweepResults, a: Analysis) -> list[Finding]:
    """Plain statements from the analysis tables (wins, paired differences, ANOVA, χ², correlations)."""
    infos = metric_info(group_pair(a))
    t = a.tables
    out = []
    for metric in a.metrics:
        info = infos.get(metric)
        if info is None:
            continue
        if "wins" in t:
            w = t["wins"][t["wins"]["metric"] == metric].sort_values("share", ascending=False)
            if w.empty:
                continue
            top = w.iloc[0]
            verb = (
                "was the most accurate"
                if metric == "accuracy"
                else f"was {BEST[info.better]} on {info.label}"
            )
            head = (
                f"{top['algorithm']} {verb} in {number(top['settings_won'], 3)} of {int(top['settings'])} "
                f"settings ({percent(top['share'])})."
            )
            details = []
            po = t.get("paired_overall")
            if po is not None:
                for _, r in po[po["metric"] == metric].iterrows():
                    fmt = info.diff_fmt
                    details.append(
                        f"{r['algorithm_a']} − {r['algorithm_b']}: {'+' if r['mean_diff'] >= 0 else '−'}"
                        f"{fmt(abs(r['mean_diff']))} on average over {int(r['settings'])} settings "
                        "(95 % interval "
                        f"{fmt(r['ci_low']) if r['ci_low'] >= 0 else '−' + fmt(-r['ci_low'])} to "
                        f"{fmt(r['ci_high']) if r['ci_high'] >= 0 else '−' + fmt(-r['ci_high'])}); "
                        f"{r['algorithm_a']} better in {r['share_a_better']:.0%} of settings."
                    )
            out.append(Finding(metric, info.title, head, details))
    if "anova" in t:
        an = t["anova"][t["anova"]["stratum"] == "all"]
        details = []
        for (param, metric), block in an.groupby(["parameter", "metric"], sort=False):
            clear = block[block["p_value"] < 0.05]
            if metric in infos and len(clear):
                details.append(
                    f"{param} changed the {infos[metric].label} clearly for {join(list(clear['algorithm']))} "
                    f"(one-way ANOVA p {_fmt_p(clear['p_value'].max())} or less; η² up to "
                    f"{clear['eta_sq'].max():.2f})."
                )
        head = (
            f"{len(details)} parameter × measure combinations changed clearly with the swept parameters "
            f"({join(a.parameters)})."
            if a.parameters
            else "No parameter varies across the settings."
        )
        out.append(Finding("anova", "What mattered", head, details))
    if "chi2" in t:
        ch = t["chi2"][(t["chi2"]["stratum"] == "all") & (t["chi2"]["p_value"] < 0.05)]
        details = [
            f"The best algorithm on the {infos[r['metric']].label} depended on {r['parameter']} "
            f"(χ² p {_fmt_p(r['p_value'])}, Cramér's V {r['cramers_v']:.2f})."
            for _, r in ch.iterrows()
            if r["metric"] in infos
        ]
        head = (
            "Which algorithm wins depends on the setting for some measures."
            if details
            else "Which algorithm wins did not clearly depend on any swept parameter (χ² p ≥ 0.05)."
        )
        out.append(Finding("chi2", "Does the winner change", head, details))
    if "correlations" in t:
        co = t["correlations"]
        co = co[(co["grouping"] == "all") & (co["pearson_p"] < 0.05)]
        details = [
            f"Accuracy and the {infos[r['metric']].label}: Pearson r = {r['pearson_r']:.2f} (p "
            f"{_fmt_p(r['pearson_p'])}) "
            f"over {int(r['n'])} setting × algorithm means."
            for _, r in co.iterrows()
            if r["metric"] in infos
        ]
        head = (
            f"Accuracy and fairness moved together for {len(details)} fairness measure(s) (a negative "
            "r on a gap "
            "or Gini means the more accurate settings were also fairer)."
            if details
            else "Accuracy was not clearly correlated with any fairness measure across the settings."
        )
        out.append(Finding("correlations", "Accuracy against fairness", head, details))
    return out


def build_sweep_context(res: SweepResults, *, dp_epsilon: float | None = None) -> dict[str, Any]:
    """The template values of a sweep's page: the comparisons of
    :func:`fairpatrol.sweep.analyze.analyze_sweep` on its finished cells, as findings, figures and tables."""
    from fairpatrol.report.cards import DOCS

    a = analyze_sweep(res.path)
    t = a.tables
    infos = metric_info(group_pair(a))
    make = FigureMaker()
    runs = t["run_levels"]
    params = a.parameters
    figs = []
    shown = list(a.metrics)
    metric_axes = [(m, infos[m].title + unit_of(m)[0], unit_of(m)[1]) for m in shown]
    for param in params:
        frames = {m: parameter_means(runs, param, m) for m in shown}
        numeric = _is_numeric(runs[param])
        figs.append(
            make(
                figures.parameter_effect(frames, metric_axes, a.algorithms, param, numeric),
                f"Accuracy and fairness as {param} changes",
                f"Mean over runs (pooled over the other settings) at each value of {param}; whiskers "
                "are 95 % "
                "intervals. Accuracy and the police-share gap in %.",
            )
        )
    if "dominance" in t:
        dom = t["dominance"][t["dominance"]["stratum"] == "all"]
        for param in params:
            d = dom[dom["parameter"] == param]
            if d.empty:
                continue
            figs.append(
                make(
                    figures.dominance_curves(d, [(m, infos[m].title) for m in shown], a.algorithms, param),
                    f"Which algorithm is best as {param} changes (dominance curves)",
                    "Share of (setting, run) pairs in which each algorithm is the best on the "
                    "measure at each "
                    "value, with a 95 % Wilson interval band.",
                )
            )
    means = t["means"]
    lv = means[means["statistic"].isin(["level", "horizon"])]
    points = _tradeoff_points(res, a, lv)
    if not points.empty:
        fair = [
            (m, infos[m].title + unit_of(m)[0], unit_of(m)[1])
            for m in shown
            if m != "accuracy" and infos[m].better == "lower" and m in points.columns
        ]
        figs.append(
            make(
                figures.tradeoff_scatter(points, fair, a.algorithms),
                "Accuracy against fairness, every setting",
                "Each marker is one algorithm in one setting; marker size grows with the number of "
                "officers and "
                "the symbol shows the crime type.",
            )
        )

    def table(name: str, stratum: bool = True) -> list[dict[str, str]]:
        frame = t.get(name)
        if frame is None or frame.empty:
            return []
        if stratum and "stratum" in frame.columns:
            frame = frame[frame["stratum"] == "all"].drop(columns=["stratum"])
        return _rows(frame)

    status = []
    finished = set(res.configs)
    for c in res.cells:
        state = (
            "finished"
            if c["id"] in finished
            else ("failed: " + a.failed[c["id"]])
            if c["id"] in a.failed
            else "not run"
        )
        status.append(
            {
                "cell": c["id"],
                "settings": yaml.safe_dump(c.get("overrides", {}), default_flow_style=True).strip(),
                "seed": str(c.get("seed", "")),
                "status": state,
            }
        )
    sources: dict[tuple[str, tuple[str, ...]], tuple[str, Any]] = {}
    for cid, doc in res.configs.items():
        data = doc.get("data", {})
        key = (_incidents_name(data.get("incidents")), tuple(data.get("crime_types") or ()))
        sources.setdefault(key, (cid, doc.get("data_report", {})))
    definition = res.manifest.get("definition", {})
    base = res.manifest.get("base", {})
    cards = [
        {"algorithm": alg, "doc": DOCS.get(alg), "params": (base.get("models") or {}).get(alg, {})}
        for alg in a.algorithms
    ]
    return {
        "kind": "sweep",
        "title": f"Sweep report: {res.name}",
        "description": str(res.manifest.get("definition", {}).get("description", "")),
        "findings": sweep_findings(res, a),
        "figures": figs,
        "parameters": params,
        "algorithms": a.algorithms,
        "n_cells": len(res.cells),
        "n_finished": a.cells,
        "notes": a.notes,
        "wins": table("wins", False),
        "paired_overall": table("paired_overall", False),
        "anova": table("anova"),
        "chi2": table("chi2"),
        "correlations": _rows(t["correlations"][t["correlations"]["grouping"] == "all"])
        if "correlations" in t
        else [],
        "cells": status,
        "sources": [
            {
                "incidents": k[0],
                "crime types": ", ".join(k[1]) or "all",
                "first cell": v[0],
                **{kk: str(vv) for kk, vv in v[1].items() if kk != "notes"},
            }
            for k, v in sources.items()
        ],
        "cards": cards,
        "manifest_text": (res.path / "sweep.yaml").read_text(encoding="utf-8"),
        "definition_uri": data_uri(yaml.safe_dump(definition, sort_keys=False, allow_unicode=True)),
        "results_dir": shown_path(res.path),
        "dp_epsilon": dp_epsilon,
        "cell_ids": sorted(finished),
    }


def _incidents_name(value: Any) -> str:
    """A cell's incidents as text: a bundled set's name or a file's path (relative to the sweep file)."""
    return str(value.get("file")) if isinstance(value, dict) else str(value)


def _tradeoff_points(res: SweepResults, a: Analysis, lv: pd.DataFrame) -> pd.DataFrame:
    crime = {
        cid: ", ".join(doc.get("data", {}).get("crime_types") or [])
        or _incidents_name(doc.get("data", {}).get("incidents"))
        for cid, doc in res.configs.items()
    }
    rows = []
    for (cell, setting, alg), block in lv.groupby(["cell", "setting", "algorithm"], sort=False):
        b = block.groupby("metric").first()
        if "accuracy" not in b.index:
            continue
        row = {
            "label": f"{setting}",
            "algorithm": alg,
            "n_officers": int(b["n_officers"].iloc[0]),
            "crime": crime.get(str(cell), ""),
        }
        for m in a.metrics:
            if m in b.index:
                row[m], row[f"{m}_low"], row[f"{m}_high"] = b.loc[m, ["mean", "ci_low", "ci_high"]]
        rows.append(row)
    return pd.DataFrame(rows)


def _rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    """Table rows with numbers printed to 3 significant digits (p-values as < 0.001)."""
    out = []
    for rec in frame.to_dict("records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, float):
                row[k] = _fmt_p(v) if "p_value" in k or k.endswith("_p") else sig(v, 3)
            else:
                row[k] = str(v)
        out.append(row)
    return out
