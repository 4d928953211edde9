"""Statistics over a sweep (docs/sweeps.md): how robust are the conclusions across its cells?

Units. A *run level* is one run's mean over days of a daily metric (as in ``summary``, statistic
``level``), or its value of a horizon metric (``horizon`` tables). A *setting* is one world: every swept
parameter except the algorithm, plus the within-study settings (officers N, reporting, remedy); the
algorithms of a setting share their runs' random streams (:func:`fairpatrol.sim.world.run_streams`), so
they are compared *paired by run*. Which direction is better comes from the metric registry
(:mod:`fairpatrol.metrics.registry`): higher, lower, closer to 1 (ratios, compared on |log ratio|) or
closer to 0 (signed gaps, compared on |value|); a metric without a direction is refused.

Tables (``DIR/analysis/*.csv``):

* ``means``: mean over runs and 95 % t-interval of each metric's level and slope, per cell, setting and
  algorithm (the per-cell ``summary`` tables, gathered).
* ``paired``: per setting and pair of algorithms (A, B), the mean over runs of the paired difference
  A − B (of the value, or of its distance from 1 or 0 for ratios and signed gaps: column ``compared_on``)
  with its 95 % t-interval and one-sample t-test p-value; ``paired_overall``: the same over settings
  (each setting's mean difference one observation) with the share of settings where A is better.
* ``winners`` (per setting, the algorithm with the best mean level) and ``wins`` (share of settings each
  algorithm wins, ties split).
* For each parameter with at least two values, per stratum (``all``: pooled over the other parameters, or
  one combination of them): ``anova`` (one-way ANOVA of the run levels across the parameter's values per
  algorithm, ``scipy.stats.f_oneway``; η² = SS_between / SS_total), ``chi2`` (χ² test of independence of
  the winning algorithm of each (setting, run) against the parameter value, ``scipy.stats.chi2_contingency``
  with Yates' correction for 2 × 2 tables; Cramér's V), ``dominance`` (probability that each algorithm is
  best at each value over settings and runs, with a Wilson 95 % interval, the dominance curves).
* ``correlations``: Pearson and Spearman correlation (with p-values) of accuracy against each fairness
  metric over the (setting, algorithm) mean levels, overall and within each algorithm and each parameter
  value.
* ``run_levels``: the run levels all the above are computed from.
* With ``--paper``, the Baltimore study's own tables as it defines them (``paper_table2``, ``paper_table_a1``,
  ``paper_table_a2``, ``paper_dominance``, ``paper_table_a3``, ``paper_silhouette``, ``paper_overpoliced``,
  ``paper_overpoliced_top``, ``paper_ranks``, ``paper_scenarios``: :mod:`fairpatrol.sweep.paper`).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.atomic import atomic_directory
from fairpatrol.errors import FairpatrolError
from fairpatrol.formatting import number
from fairpatrol.metrics import mean_interval, registry
from fairpatrol.results.sweep import has_table, query_table, read_failures, read_manifest

#: Within-study settings that distinguish worlds inside one cell (columns of every results table).
WITHIN = ("n_officers", "report_prob", "reporting", "remedy")


@dataclass
class Analysis:
    """The tables of an analysis and what they were computed over."""

    tables: dict[str, pd.DataFrame]
    parameters: list[str]
    algorithms: list[str]
    metrics: list[str]
    cells: int
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def default_metrics() -> tuple[str, ...]:
    """The registry's run-level headline metrics (each has a direction, so each can be ranked)."""
    return tuple(m for m in registry.headline() if registry.metric(m).rankable)


def better(name: str) -> str:
    """Which direction is better for metric ``name`` (from the registry; an unknown or descriptive metric
    is an error, never a silent default)."""
    m = registry.metric(name)
    if not m.rankable:
        raise FairpatrolError(f"metric {name!r} is descriptive (no better direction): it cannot be compared")
    return m.better


def compared_on(name: str) -> str:
    """What paired differences of ``name`` are computed on: the value, or its distance from 1 or 0."""
    return {"closer to 1": "|log ratio|", "closer to 0": "|value|"}.get(registry.metric(name).better, "value")


def compared(name: str, values: np.ndarray) -> np.ndarray:
    """The values paired differences are computed on (:func:`compared_on`)."""
    v = np.asarray(values, dtype=float)
    return (
        registry.rank_score(name, v) if registry.metric(name).better in ("closer to 1", "closer to 0") else v
    )


def a_is_better(name: str, diff: np.ndarray) -> np.ndarray:
    """Whether a paired difference A − B of :func:`compared` values says A is better."""
    return diff > 0 if registry.metric(name).better == "higher" else diff < 0


# ------------------------------------------------------------------------------------------ loading


def _parameters(frame: pd.DataFrame, swept: list[str]) -> list[str]:
    """Columns that vary across settings: swept parameters and within-study settings."""
    candidates = list(dict.fromkeys([*swept, *WITHIN]))
    if "reporting" in frame and "report_prob" in frame:
        numeric = pd.to_numeric(frame["reporting"], errors="coerce").notna().all()
        candidates.remove("reporting" if numeric else "report_prob")
    return [c for c in candidates if c in frame and c != "algorithm" and frame[c].nunique(dropna=False) > 1]


def load_run_levels(
    root: str | Path, metrics: tuple[str, ...] | None = None, notes: list[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One row per (cell, scenario, algorithm, run): each daily metric's mean over its finite days and
    each horizon metric's value. Horizon metrics of a sweep written before they existed are left out
    (with a line in ``notes``)."""
    root = Path(root)
    metrics = default_metrics() if metrics is None else tuple(metrics)
    for name in metrics:
        better(name)  # unknown or descriptive metrics are refused before any work
    manifest = read_manifest(root)
    swept = list(manifest.get("columns", {}))
    if not has_table(root, "metrics"):
        raise FairpatrolError(f"{root}: no finished cell yet (run `fairpatrol sweep` first)")
    present = set(query_table(root, "describe select * from {src}", "metrics")["column_name"])
    horizon = set()
    if has_table(root, "horizon"):
        horizon = set(query_table(root, "describe select * from {src}", "horizon")["column_name"])
    daily = [m for m in metrics if m in present]
    late = [m for m in metrics if m not in present and m in horizon]
    missing = [m for m in metrics if m not in present and m not in horizon]
    if missing and notes is not None and registry.metric(missing[0]).window == "horizon":
        notes.append(
            f"{len(missing)} horizon metric(s) ({', '.join(missing)}) are not in these results (written by "
            "an older fairpatrol): left out"
        )
        missing = [m for m in missing if registry.metric(m).window != "horizon"]
    if missing:
        raise FairpatrolError(f"{root}: the metrics tables have no column {missing[0]!r}")
    keys = [c for c in ["cell", "scenario", "algorithm", *WITHIN, *swept] if c in present]
    keys = list(dict.fromkeys(keys))
    aggs = ", ".join(f'avg(case when isfinite("{m}") then "{m}" end) as "{m}"' for m in daily) or "1 as _"
    cols = ", ".join(f'"{k}"' for k in keys)
    frame = query_table(root, f"select {cols}, run, {aggs} from {{src}} group by all", "metrics")
    frame = frame.drop(columns=["_"], errors="ignore")
    if late:
        extra = ", ".join(f'"{m}"' for m in late)
        h = query_table(root, f"select cell, scenario, algorithm, run, {extra} from {{src}}", "horizon")
        for col in ("cell", "scenario", "algorithm"):
            h[col] = h[col].astype(str)
            frame[col] = frame[col].astype(str)
        frame = frame.merge(h, on=["cell", "scenario", "algorithm", "run"], how="left")
    used = [m for m in metrics if m in frame.columns]
    params = _parameters(frame, swept)
    frame["setting"] = _labels(frame, params)
    order = [*keys, "setting", "run", *used]
    return frame[order].sort_values([*params, "algorithm", "run"], kind="stable").reset_index(
        drop=True
    ), params


def _labels(frame: pd.DataFrame, params: list[str]) -> pd.Series:
    if not params:
        return pd.Series("all", index=frame.index)
    parts = [
        frame[p].map(lambda v, p=p: f"{p}={number(v, 6)}" if isinstance(v, float) else f"{p}={v}")
        for p in params
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out + ", " + part
    return out


# --------------------------------------------------------------------------------------- statistics


def _t_test(values: np.ndarray) -> float:
    from scipy import stats

    v = values[np.isfinite(values)]
    if v.size < 2 or np.ptp(v) == 0:
        return float("nan")
    return float(stats.ttest_1samp(v, 0.0).pvalue)


def _wide(runs: pd.DataFrame, metric: str, params: list[str], algorithms: list[str]) -> pd.DataFrame:
    """Run levels of ``metric`` as (setting, params…, run) × algorithm."""
    wide = runs.groupby(["setting", *params, "run", "algorithm"], sort=False, dropna=False)[metric].mean()
    wide = wide.unstack("algorithm")
    return wide.reindex(columns=[a for a in algorithms if a in wide.columns])


def paired_differences(
    runs: pd.DataFrame, params: list[str], algorithms: list[str], metrics: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per setting and overall: paired differences A − B of run levels (same run = same random streams)."""
    by_setting, overall = [], []
    for metric in metrics:
        wide = _wide(runs, metric, params, algorithms)
        on = compared_on(metric)
        for a, b in itertools.combinations(wide.columns, 2):
            with np.errstate(invalid="ignore"):  # two unbounded distances differ by NaN
                gap = compared(metric, wide[a]) - compared(metric, wide[b])
            diff = pd.Series(gap, index=wide.index).rename("diff").reset_index()
            means = []
            for keys, grp in diff.groupby(["setting", *params], sort=False, dropna=False):
                values = grp["diff"].to_numpy(dtype=float)
                mean, lo, hi = mean_interval(values)
                means.append(mean)
                row = dict(zip(["setting", *params], keys, strict=True))
                row.update(
                    metric=metric,
                    compared_on=on,
                    algorithm_a=a,
                    algorithm_b=b,
                    runs=int(np.isfinite(values).sum()),
                    mean_diff=mean,
                    ci_low=lo,
                    ci_high=hi,
                    p_value=_t_test(values),
                )
                by_setting.append(row)
            m = np.asarray(means, dtype=float)
            mean, lo, hi = mean_interval(m)
            ok = m[np.isfinite(m)]
            a_better = a_is_better(metric, ok)
            overall.append(
                {
                    "metric": metric,
                    "better": better(metric),
                    "compared_on": on,
                    "algorithm_a": a,
                    "algorithm_b": b,
                    "settings": int(ok.size),
                    "mean_diff": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": _t_test(m),
                    "share_a_better": float(a_better.mean()) if ok.size else float("nan"),
                }
            )
    return pd.DataFrame(by_setting), pd.DataFrame(overall)


def _best(values: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Indicator weights of the best algorithm per row (ties share 1); rows with a missing value dropped."""
    complete = values.dropna()
    score = pd.DataFrame(
        registry.rank_score(metric, complete.to_numpy()), index=complete.index, columns=complete.columns
    )
    hit = score.eq(score.min(axis=1), axis=0).astype(float)
    return hit.div(hit.sum(axis=1), axis=0)


def winners(
    runs: pd.DataFrame, params: list[str], algorithms: list[str], metrics: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best algorithm per setting (by mean level over runs), and the share of settings each wins."""
    per_setting, shares = [], []
    for metric in metrics:
        means = runs.groupby(["setting", *params, "algorithm"], sort=False, dropna=False)[metric].mean()
        wide = means.unstack("algorithm").reindex(columns=[a for a in algorithms if a in set(runs.algorithm)])
        weights = _best(wide, metric)
        for idx, row in weights.iterrows():
            keys = idx if isinstance(idx, tuple) else (idx,)
            won = [a for a in row.index if row[a] > 0]
            vals = wide.loc[idx]
            per_setting.append(
                {
                    **dict(zip(["setting", *params], keys, strict=True)),
                    "metric": metric,
                    "better": better(metric),
                    "winner": " = ".join(won),
                    "best_mean": float(vals[won[0]]),
                    **{f"mean_{a}": float(vals[a]) for a in wide.columns},
                }
            )
        total = weights.sum()
        for alg in wide.columns:
            shares.append(
                {
                    "metric": metric,
                    "better": better(metric),
                    "algorithm": alg,
                    "settings_won": float(total.get(alg, 0.0)),
                    "settings": len(weights),
                    "share": float(total.get(alg, 0.0)) / len(weights) if len(weights) else float("nan"),
                }
            )
    return pd.DataFrame(per_setting), pd.DataFrame(shares)


def _strata(frame: pd.DataFrame, param: str, params: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """``all`` (pooled over the other parameters) and each combination of the other parameters."""
    out = [("all", frame)]
    others = [p for p in params if p != param]
    if others:
        for keys, grp in frame.groupby(others, sort=True, dropna=False):
            keys = keys if isinstance(keys, tuple) else (keys,)
            label = ", ".join(
                f"{p}={number(v, 6)}" if isinstance(v, float) else f"{p}={v}"
                for p, v in zip(others, keys, strict=True)
            )
            out.append((label, grp))
    return out


def _values(series: pd.Series) -> list[Any]:
    return sorted(series.dropna().unique().tolist(), key=lambda v: (isinstance(v, str), v))


def anova(runs: pd.DataFrame, params: list[str], algorithms: list[str], metrics: list[str]) -> pd.DataFrame:
    """One-way ANOVA of run levels across each parameter's values, per stratum, metric and algorithm."""
    from scipy import stats

    rows = []
    for param in params:
        for stratum, frame in _strata(runs, param, params):
            for metric, alg in itertools.product(metrics, algorithms):
                sub = frame[frame.algorithm == alg]
                groups = [
                    g[np.isfinite(g)]
                    for g in (sub.loc[sub[param] == v, metric].to_numpy(float) for v in _values(sub[param]))
                ]
                groups = [g for g in groups if g.size]
                n = int(sum(g.size for g in groups))
                row = {
                    "parameter": param,
                    "stratum": stratum,
                    "metric": metric,
                    "algorithm": alg,
                    "values": len(groups),
                    "n": n,
                    "df_between": len(groups) - 1,
                    "df_within": n - len(groups),
                    "F": float("nan"),
                    "p_value": float("nan"),
                    "eta_sq": float("nan"),
                }
                if len(groups) >= 2 and n > len(groups):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = stats.f_oneway(*groups)
                    allv = np.concatenate(groups)
                    ss_total = float(((allv - allv.mean()) ** 2).sum())
                    ss_between = float(sum(g.size * (g.mean() - allv.mean()) ** 2 for g in groups))
                    row.update(
                        F=float(res.statistic),
                        p_value=float(res.pvalue),
                        eta_sq=ss_between / ss_total if ss_total > 0 else float("nan"),
                    )
                rows.append(row)
    return pd.DataFrame(rows)


def run_winners(runs: pd.DataFrame, params: list[str], algorithms: list[str], metric: str) -> pd.DataFrame:
    """Per (setting, run): the parameters and each algorithm's win weight (1, or split by a tie)."""
    wide = _wide(runs, metric, params, algorithms)
    return _best(wide, metric).reset_index()


def chi_square_and_dominance(
    runs: pd.DataFrame, params: list[str], algorithms: list[str], metrics: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """χ² of the winning algorithm (per setting and run) against each parameter; dominance curves."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    chi_rows, dom_rows = [], []
    for metric in metrics:
        wins = run_winners(runs, params, algorithms, metric)
        algs = [a for a in algorithms if a in wins.columns]
        if len(algs) < 2:
            continue
        for param in params:
            for stratum, frame in _strata(wins, param, params):
                table = frame.groupby(param, sort=True)[algs].sum()
                n_at = table.sum(axis=1)
                for value, counts in table.iterrows():
                    for alg in algs:
                        k, n = float(counts[alg]), float(n_at[value])
                        lo, hi = (
                            proportion_confint(k, n, alpha=0.05, method="wilson") if n else (np.nan, np.nan)
                        )
                        dom_rows.append(
                            {
                                "parameter": param,
                                "stratum": stratum,
                                "value": value,
                                "metric": metric,
                                "better": better(metric),
                                "algorithm": alg,
                                "wins": k,
                                "n": int(n),
                                "p_best": k / n if n else float("nan"),
                                "ci_low": float(lo),
                                "ci_high": float(hi),
                            }
                        )
                chi_rows.append(_chi2_row(stats, table, param, stratum, metric))
    return _param_major(pd.DataFrame(chi_rows), metrics), _param_major(pd.DataFrame(dom_rows), metrics)


def _param_major(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Rows ordered parameter, stratum (as first met), then metric, like the ANOVA table."""
    if frame.empty:
        return frame
    order = {col: {v: i for i, v in enumerate(dict.fromkeys(frame[col]))} for col in ("parameter", "stratum")}
    order["metric"] = {m: i for i, m in enumerate(metrics)}
    keys = ["parameter", "stratum", "metric"]
    return frame.sort_values(keys, key=lambda c: c.map(order[c.name]), kind="stable").reset_index(drop=True)


def _chi2_row(stats: Any, table: pd.DataFrame, param: str, stratum: str, metric: str) -> dict[str, Any]:
    used = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    row: dict[str, Any] = {
        "parameter": param,
        "stratum": stratum,
        "metric": metric,
        "values": int(used.shape[0]),
        "winning_algorithms": int(used.shape[1]),
        "n": float(used.to_numpy().sum()),
        "chi2": float("nan"),
        "dof": 0,
        "p_value": float("nan"),
        "cramers_v": float("nan"),
        "note": "",
    }
    if used.shape[1] < 2:
        row["note"] = f"{used.columns[0]} wins every run" if used.shape[1] == 1 else "no complete runs"
    elif used.shape[0] < 2:
        row["note"] = "one parameter value"
    else:
        res = stats.chi2_contingency(used.to_numpy())
        k = min(used.shape) - 1
        row.update(
            chi2=float(res.statistic),
            dof=int(res.dof),
            p_value=float(res.pvalue),
            cramers_v=float(np.sqrt(res.statistic / (row["n"] * k))),
        )
        if (res.expected_freq < 5).any():
            row["note"] = "some expected counts < 5"
    return row


def correlations(runs: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    """Pearson and Spearman correlation of accuracy with each fairness metric, within groupings."""
    from scipy import stats

    if "accuracy" not in metrics:
        return pd.DataFrame()
    fairness = [m for m in metrics if m != "accuracy"]
    points = (
        runs.groupby(["setting", *params, "algorithm"], sort=False, dropna=False)[metrics]
        .mean()
        .reset_index()
    )
    groupings: list[tuple[str, Any, pd.DataFrame]] = [("all", "all", points)]
    for col in ["algorithm", *params]:
        for value in _values(points[col]):
            groupings.append((col, value, points[points[col] == value]))
    rows = []
    for grouping, value, grp in groupings:
        for metric in fairness:
            ok = grp[["accuracy", metric]].dropna()
            row = {
                "grouping": grouping,
                "value": value,
                "metric": metric,
                "n": len(ok),
                "pearson_r": float("nan"),
                "pearson_p": float("nan"),
                "spearman_rho": float("nan"),
                "spearman_p": float("nan"),
            }
            if len(ok) >= 3 and ok["accuracy"].nunique() > 1 and ok[metric].nunique() > 1:
                pr = stats.pearsonr(ok["accuracy"], ok[metric])
                sr = stats.spearmanr(ok["accuracy"], ok[metric])
                row.update(
                    pearson_r=float(pr.statistic),
                    pearson_p=float(pr.pvalue),
                    spearman_rho=float(sr.statistic),
                    spearman_p=float(sr.pvalue),
                )
            rows.append(row)
    return pd.DataFrame(rows)


def _means(root: Path, runs: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    summary = query_table(root, "select * from {src}", "summary")
    summary = summary[summary["metric"].isin(metrics)]
    settings = runs[["cell", "scenario", "setting"]].drop_duplicates()
    out = summary.merge(settings, on=["cell", "scenario"], how="left")
    front = ["cell", "setting", *params, "scenario", "algorithm", "metric", "statistic"]
    front = list(dict.fromkeys(c for c in front if c in out))
    return out[front + [c for c in out.columns if c not in front]]


# ------------------------------------------------------------------------------------------- driver


def algorithm_order(manifest: dict[str, Any], present: set[str]) -> list[str]:
    """The algorithms in the order the sweep lists them (base scenario, then swept values)."""
    order = list(manifest.get("base", {}).get("algorithms", []))
    for cell in manifest.get("cells", []):
        value = cell.get("overrides", {}).get("algorithms", [])
        order.extend(value if isinstance(value, list) else [value])
    return [a for a in dict.fromkeys(order) if a in present] + sorted(present - set(order))


def analyze_sweep(
    root: str | Path, metrics: tuple[str, ...] | None = None, *, paper: bool = False
) -> Analysis:
    """Every comparison of the module docstring over the finished cells of the sweep in ``root`` (default
    metrics: the registry's run-level headline); with ``paper`` also the Baltimore study's own tables
    (:func:`fairpatrol.sweep.paper.paper_tables`, ``paper_*``)."""
    root = Path(root)
    manifest = read_manifest(root)
    notes: list[str] = []
    runs, params = load_run_levels(root, metrics, notes)
    algorithms = algorithm_order(manifest, set(runs["algorithm"]))
    metric_list = [m for m in (default_metrics() if metrics is None else metrics) if m in runs.columns]
    finished = set(runs["cell"])
    expected = [c["id"] for c in manifest.get("cells", [])]
    failures = read_failures(root)
    analysis = Analysis(
        tables={},
        parameters=params,
        algorithms=algorithms,
        metrics=metric_list,
        cells=len(finished),
        missing=[c for c in expected if c not in finished],
        failed={k: v.get("error", "") for k, v in failures.items()},
        notes=notes,
    )
    t = analysis.tables
    t["run_levels"] = runs
    t["means"] = _means(root, runs, params, metric_list)
    if len(algorithms) >= 2:
        t["paired"], t["paired_overall"] = paired_differences(runs, params, algorithms, metric_list)
        t["winners"], t["wins"] = winners(runs, params, algorithms, metric_list)
    else:
        analysis.notes.append("one algorithm only: no paired differences, wins, chi-square or dominance")
    if params:
        t["anova"] = anova(runs, params, algorithms, metric_list)
        if len(algorithms) >= 2:
            t["chi2"], t["dominance"] = chi_square_and_dominance(runs, params, algorithms, metric_list)
    else:
        analysis.notes.append("no parameter varies across settings: no ANOVA, chi-square or dominance")
    t["correlations"] = correlations(runs, params, metric_list)
    if paper:
        add_paper_tables(analysis, root)
    if analysis.missing:
        analysis.notes.append(
            f"{len(analysis.missing)} of {len(expected)} cells are not finished and are left out "
            "(re-run the sweep to complete them)"
        )
    return analysis


def add_paper_tables(analysis: Analysis, root: str | Path) -> None:
    """Add the Baltimore study's own tables (``paper_*``) of the results in ``root`` to ``analysis``."""
    from fairpatrol.sweep.paper import paper_tables

    paper = paper_tables(root)
    analysis.tables.update(paper.tables)
    analysis.notes.extend(f"paper tables: {n}" for n in paper.runs.notes)
    if paper.runs.by:
        analysis.notes.append(f"paper tables: computed for each {', '.join(paper.runs.by)} apart")


def paper_only(root: str | Path) -> Analysis:
    """The Baltimore study's own tables of a run directory (``fairpatrol run``), as an :class:`Analysis`."""
    from fairpatrol.sweep.paper import PAPER_METRICS

    analysis = Analysis(
        tables={}, parameters=[], algorithms=[], metrics=list(PAPER_METRICS.values()), cells=1
    )
    add_paper_tables(analysis, root)
    scen = analysis.tables["paper_scenarios"]
    analysis.algorithms = list(dict.fromkeys(scen["algorithm"]))
    analysis.parameters = [c for c in scen.columns if c in WITHIN and scen[c].nunique() > 1]
    return analysis


def write_analysis(analysis: Analysis, root: str | Path) -> Path:
    """Write every table as ``DIR/analysis/<name>.csv`` (replacing the previous analysis atomically)."""
    out = Path(root) / "analysis"
    with atomic_directory(out, kind="analysis", overwrite=True) as tmp:
        for name, table in analysis.tables.items():
            table.to_csv(tmp / f"{name}.csv", index=False)
    return out
