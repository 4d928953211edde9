"""The Baltimore study's own tables, computed as the paper defines them (Semsar et al. 2026).

From a results directory (a ``fairpatrol run`` or a ``fairpatrol sweep``): the paper's Table 2 (paired
scenario-level differences between PredPol and each KDE), its Appendix A (Table A1: percent differences
between algorithms with their 95 % interval and a one-way ANOVA across the reporting probability;
Table A2: χ² test of the winning algorithm against the reporting probability, with the dominance curves of
Fig. A1), its Appendix B (Table A3: accuracy-fairness correlations within groupings refined in the order of
their silhouette scores) and its over-policing ranking (the top-3 over-policed areas of every scenario and
how often each area is among them, Figs. 26-27). ``fairpatrol analyze DIR --paper`` writes them.

Units and definitions (docs/paper-fidelity.md, "How the paper's tables are computed"):

* A *scenario* is one setting of the paper's parameters (crime input, officers N, reporting r, and any other
  swept setting) and one algorithm; settings of the parameters in ``by`` (by default the compat mode) are
  never pooled: every table is computed for each of them apart.
* A metric's *level* is its mean over the days; its *trend* the least-squares slope per day
  (``linregress`` over the day index, as the authors' ``calc_trendline``), and ``_absTrend`` its absolute
  value, the "speed of bias development". A run's level and trend are computed on each run; with
  ``compat: run_averaged_metrics`` there is one series per scenario (the mean over runs), as the authors had.
* Scenario values are means over runs. "Best" is the highest accuracy and the lowest gap, Gini or absolute
  trend (the paper's arg max / arg min of the averages, Section 3.4).
* Percent differences (Table A1) are 100 · (A − B) / B of paired run values (the runs of one setting share
  their random streams), pooled over the settings; the paper does not state its unit.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fairpatrol.errors import FairpatrolError
from fairpatrol.metrics import registry
from fairpatrol.results.sweep import MANIFEST, read_manifest

#: The paper's metric names (Appendix A) → fairpatrol's daily metric columns.
PAPER_METRICS = {
    "Accuracy": "accuracy",
    "RacialFairnessGap_avgPolShare": "share_gap",
    "RacialFairnessGap_PCR": "pcr_gap",
    "NeighborhoodFairnessGap_pGini": "gini_police",
    "NeighborhoodFairnessGap_pcrGini": "gini_pcr",
}
#: Trend metrics of Appendix A: the absolute slope of each fairness metric ("speed of bias development").
TREND_SUFFIX = "_absTrend"
TREND_METRICS = {
    "RacialFairnessGap_avgPolShare_absTrend": "share_gap",
    "RacialFairnessGap_PCR_absTrend": "pcr_gap",
    "NeighborhoodFairness_pGini_absTrend": "gini_police",
    "NeighborhoodFairness_pcrGini_absTrend": "gini_pcr",
}
#: Further daily columns whose levels, trends and first/last values the fidelity checks read.
EXTRA_COLUMNS = ("share_gap_signed", "pcr_gap_signed", "share_g1", "share_g2", "pcr_g1", "pcr_g2")
#: The paper's algorithm names.
PAPER_NAMES = {"PredPol": "PredPol", "LongTermKDE": "KDE_LongTerm", "ShortTermKDE": "KDE_ShortTerm"}
#: Columns of every metrics table that identify a run (besides a sweep's swept columns).
RUN_KEYS = (
    "cell", "scenario", "algorithm", "n_officers", "report_prob", "reporting", "remedy", "run", "group_1",
    "group_2",
)  # fmt: skip
#: Of those, the ones that are not settings.
_NOT_PARAMS = {"cell", "scenario", "algorithm", "run", "group_1", "group_2", "reporting"}


def higher_is_better(metric: str) -> bool:
    """Whether a higher value is better, from the metric registry (:mod:`fairpatrol.metrics.registry`): a
    paper name is read as its column; an absolute trend (the speed of bias development) is better low."""
    if metric in TREND_METRICS:
        return False
    better = registry.metric(PAPER_METRICS.get(metric, metric)).better
    if better not in ("higher", "lower"):
        raise FairpatrolError(
            f"metric {metric!r} is ranked {better!r}: the paper's tables need higher or lower"
        )
    return better == "higher"


@dataclass
class PaperRuns:
    """Per run (or per run-averaged series): each metric's level, slope, first- and last-day value."""

    runs: pd.DataFrame
    params: list[str]  # the settings that vary (crime input, N, r, mode, ...)
    by: list[str]  # the settings kept apart (modes)
    report_param: str | None  # the reporting-probability column, when it varies
    algorithms: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def scenario_params(self) -> list[str]:
        """The parameters pooled over like the paper's scenarios (every varying one not in ``by``)."""
        return [p for p in self.params if p not in self.by]

    def scenarios(self) -> pd.DataFrame:
        """Scenario values: the mean over runs of every column, one row per (setting, algorithm)."""
        measures = set(PAPER_METRICS.values()) | set(EXTRA_COLUMNS)
        value_cols = [c for c in self.runs.columns if c.split("__")[0] in measures]
        keys = [*self.params, "setting", "algorithm"]
        out = self.runs.groupby(keys, sort=False, dropna=False)[value_cols].mean().reset_index()
        out["runs"] = self.runs.groupby(keys, sort=False, dropna=False).size().to_numpy()
        return out


# ------------------------------------------------------------------------------------------ loading
def _query(root: Path, table: str, sql: str) -> pd.DataFrame:
    """DuckDB ``sql`` whose ``{src}`` reads ``table`` of a run directory (one file) or of a sweep directory
    (every cell's partition), each read by the module that owns its format."""
    from fairpatrol.results import run, sweep

    file = run.table_file(root, table)
    if file is not None and file.suffix == ".parquet":
        return run.query_table(root, sql, table)
    if sweep.has_table(root, table):
        return sweep.query_table(root, sql, table)
    raise FairpatrolError(f"{root}: no {table} table (a fairpatrol run or sweep results directory)")


def _varying(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in frame and frame[c].nunique(dropna=False) > 1]


def load_paper_runs(root: str | Path, *, by: tuple[str, ...] | None = None) -> PaperRuns:
    """Levels, slopes and first/last-day values of every paper metric per run, from ``root``.

    ``by`` names the settings never pooled (default: ``compat`` when the results vary it).
    """
    root = Path(root)
    schema = _query(root, "metrics", "describe select * from {src}")
    present = list(schema["column_name"])
    cols = [c for c in dict.fromkeys([*PAPER_METRICS.values(), *EXTRA_COLUMNS]) if c in present]
    missing = [c for c in PAPER_METRICS.values() if c not in present]
    if missing:
        raise FairpatrolError(f"{root}: the metrics tables have no column {missing[0]!r}")
    swept = list(read_manifest(root).get("columns", {})) if (root / MANIFEST).is_file() else []
    keys = [c for c in dict.fromkeys([*RUN_KEYS, *swept]) if c in present]
    parts = []
    for c in cols:
        v = f'case when isfinite("{c}") then "{c}" end'
        parts += [
            f'avg({v}) as "{c}"',
            f'regr_slope({v}, day) as "{c}__slope"',
            f'max(case when day = 0 then {v} end) as "{c}__first"',
            f'max(case when day = last_day then {v} end) as "{c}__last"',
        ]
    key_sql = ", ".join(f'"{k}"' for k in keys)
    sql = (
        f"with m as (select *, max(day) over () as last_day from {{src}}) "
        f"select {key_sql}, {', '.join(parts)} from m group by all"
    )
    runs = _query(root, "metrics", sql)
    params = _varying(runs, [k for k in keys if k not in _NOT_PARAMS])
    split = [b for b in (by if by is not None else ("compat",)) if b in params]
    report = next((p for p in ("report_prob", "param_report_probs") if p in params), None)
    runs["setting"] = _labels(runs, [p for p in params if p not in split])
    order = list(
        dict.fromkeys(a for a in ("PredPol", "LongTermKDE", "ShortTermKDE") if a in set(runs.algorithm))
    )
    order += sorted(set(runs["algorithm"]) - set(order))
    sort = [*params, "algorithm", "run"]
    runs = runs.sort_values(sort, kind="stable").reset_index(drop=True)
    return PaperRuns(runs, params, split, report, order)


def _labels(frame: pd.DataFrame, params: list[str]) -> pd.Series:
    if not params:
        return pd.Series("all", index=frame.index)
    text = [frame[p].map(lambda v, p=p: f"{p}={v:g}" if isinstance(v, float) else f"{p}={v}") for p in params]
    out = text[0]
    for t in text[1:]:
        out = out + ", " + t
    return out


def _wide(frame: pd.DataFrame, index: list[str], values: str) -> pd.DataFrame:
    """``values`` as (index…) × algorithm, for the index combinations present (NaN where an algorithm
    has no value)."""
    return frame.set_index([*index, "algorithm"])[values].unstack("algorithm")


def _groups(frame: pd.DataFrame, by: list[str]):
    if not by:
        yield {}, frame
        return
    for keys, grp in frame.groupby(by, sort=False, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        yield dict(zip(by, keys, strict=True)), grp


def _value(scen: pd.DataFrame, metric: str, statistic: str) -> pd.Series:
    col = metric if statistic == "level" else f"{metric}__{statistic}"
    if statistic == "abs_slope":
        return scen[f"{metric}__slope"].abs()
    return scen[col]


# ------------------------------------------------------------------------------------- rankings
#: The statistics scenarios are ranked on: level (Figs. 4-9), first and last day (Fig. 3), absolute slope
#: (the speed of change, Figs. 12-16) and signed slope (worsening when a gap rises or accuracy falls,
#: Figs. 17-21).
STATISTICS = ("level", "first", "last", "abs_slope", "slope")


def scenario_ranks(pr: PaperRuns) -> pd.DataFrame:
    """For each mode, metric and statistic: the share of scenarios in which each algorithm is best, second
    and worst, and (slope) in which its trend worsens; the counts of section 4's findings."""
    scen = pr.scenarios()
    rows = []
    for mode, grp in _groups(scen, pr.by):
        for metric, stat in itertools.product(PAPER_METRICS.values(), STATISTICS):
            wide = _wide(grp.assign(v=_value(grp, metric, stat)), ["setting"], "v")
            wide = wide[[a for a in pr.algorithms if a in wide.columns]].dropna()
            n = len(wide)
            if stat == "slope":  # worsening: accuracy falls, a gap or Gini rises
                worse = wide < 0 if higher_is_better(metric) else wide > 0
                for alg in wide.columns:
                    rows.append(
                        {**mode, "metric": metric, "statistic": stat, "algorithm": alg, "scenarios": n,
                         "share_worsening": float(worse[alg].mean()) if n else np.nan}
                    )  # fmt: skip
                continue
            # abs_slope: the smallest absolute trend is the slowest change ("best"); ties share a rank
            high = higher_is_better(metric) and stat != "abs_slope"
            rank = wide.rank(axis=1, ascending=not high, method="min")
            worst = wide.eq(wide.min(axis=1) if high else wide.max(axis=1), axis=0)
            for alg in wide.columns:
                rows.append(
                    {
                        **mode,
                        "metric": metric,
                        "statistic": stat,
                        "algorithm": alg,
                        "scenarios": n,
                        "share_best": float((rank[alg] == 1).mean()) if n else np.nan,
                        "share_second": float((rank[alg] == 2).mean()) if n else np.nan,
                        "share_worst": float(worst[alg].mean()) if n else np.nan,
                        "mean": float(wide[alg].mean()) if n else np.nan,
                    }
                )
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------------------- Table 2
def table2(pr: PaperRuns, reference: str = "PredPol") -> pd.DataFrame:
    """Paired scenario-level differences PredPol − KDE, averaged over the scenarios (the paper's Table 2:
    positive = PredPol more accurate; negative = PredPol's gap lower, i.e. fairer)."""
    scen = pr.scenarios()
    rows = []
    for mode, grp in _groups(scen, pr.by):
        for paper, metric in PAPER_METRICS.items():
            wide = _wide(grp, ["setting"], metric)
            if reference not in wide:
                continue
            for other in [a for a in pr.algorithms if a != reference and a in wide]:
                d = (wide[reference] - wide[other]).dropna()
                better = d > 0 if higher_is_better(metric) else d < 0
                rows.append(
                    {
                        **mode,
                        "metric": paper,
                        "column": metric,
                        "algorithm_a": reference,
                        "algorithm_b": other,
                        "scenarios": len(d),
                        "avg_diff": float(d.mean()) if len(d) else np.nan,
                        "share_a_better": float(better.mean()) if len(d) else np.nan,
                    }
                )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ Appendix A
def _run_values(pr: PaperRuns) -> pd.DataFrame:
    """One row per (setting, run, algorithm) with every Appendix A measure under its paper name."""
    r = pr.runs
    out = r[[*pr.params, "setting", "run", "algorithm"]].copy()
    for paper, metric in PAPER_METRICS.items():
        out[paper] = r[metric]
    for paper, metric in TREND_METRICS.items():
        out[paper] = r[f"{metric}__slope"].abs()
    return out


def _pairs(algorithms: list[str]) -> list[tuple[str, str]]:
    return list(itertools.combinations(algorithms, 2))


def table_a1(pr: PaperRuns) -> pd.DataFrame:
    """Percent differences 100 · (A − B) / B of paired run values, with their 95 % t-interval and a
    one-way ANOVA of them across the reporting probability (the paper's Table A1), per mode.

    For a trend metric A is the algorithm of the pair with the larger mean absolute trend (the paper
    lists those pairs faster first); for the others the pairs are in the study's algorithm order."""
    from scipy import stats

    from fairpatrol.metrics import mean_interval

    values = _run_values(pr)
    rows = []
    for mode, grp in _groups(values, pr.by):
        for paper in [*PAPER_METRICS, *TREND_METRICS]:
            wide = _wide(grp, [*pr.scenario_params, "setting", "run"], paper)
            for a, b in _pairs([x for x in pr.algorithms if x in wide]):
                if paper in TREND_METRICS and wide[b].mean() > wide[a].mean():
                    a, b = b, a
                with np.errstate(divide="ignore", invalid="ignore"):
                    pct = 100.0 * (wide[a] - wide[b]) / wide[b]
                pct = pct.replace([np.inf, -np.inf], np.nan)
                mean, lo, hi = mean_interval(pct.to_numpy(dtype=float))
                row = {
                    **mode,
                    "metric": paper,
                    "algorithm_a": PAPER_NAMES.get(a, a),
                    "algorithm_b": PAPER_NAMES.get(b, b),
                    "n": int(pct.notna().sum()),
                    "mean_pct_diff": mean,
                    "ci_low_pct": lo,
                    "ci_high_pct": hi,
                    "anova_f": np.nan,
                    "anova_p": np.nan,
                }
                if pr.report_param is not None:
                    levels = pct.index.get_level_values(pr.report_param)
                    groups = [pct[levels == v].dropna().to_numpy() for v in sorted(set(levels))]
                    groups = [g for g in groups if g.size]
                    if len(groups) >= 2 and sum(g.size for g in groups) > len(groups):
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            res = stats.f_oneway(*groups)
                        row.update(anova_f=float(res.statistic), anova_p=float(res.pvalue))
                rows.append(row)
    return pd.DataFrame(rows)


def _winners(grp: pd.DataFrame, paper: str, pr: PaperRuns) -> pd.DataFrame:
    """Win weights (ties share 1) of each algorithm per (setting, run)."""
    wide = _wide(grp, [*pr.scenario_params, "setting", "run"], paper)
    wide = wide[[a for a in pr.algorithms if a in wide]].dropna()
    best = wide.max(axis=1) if higher_is_better(paper) else wide.min(axis=1)
    hit = wide.eq(best, axis=0).astype(float)
    return hit.div(hit.sum(axis=1), axis=0)


def table_a2(pr: PaperRuns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """χ² test of independence of the winning algorithm (per setting and run) and the reporting
    probability, with χ²/dof as the paper reports it (Table A2); and the dominance curves of Fig. A1: the
    share of (setting, run)s each algorithm wins at each reporting probability."""
    from scipy import stats

    values = _run_values(pr)
    chi, dom = [], []
    if pr.report_param is None:
        return pd.DataFrame(), pd.DataFrame()
    for mode, grp in _groups(values, pr.by):
        for paper in [*PAPER_METRICS, *TREND_METRICS]:
            wins = _winners(grp, paper, pr)
            if wins.empty:
                continue
            r = wins.index.get_level_values(pr.report_param)
            table = wins.groupby(r).sum()
            for value, counts in table.iterrows():
                n = float(counts.sum())
                for alg in table.columns:
                    p_best = float(counts[alg]) / n if n else np.nan
                    name = PAPER_NAMES.get(alg, alg)
                    dom.append(
                        {**mode, "metric": paper, "report_prob": value, "algorithm": name, "p_best": p_best,
                         "n": int(n)}
                    )  # fmt: skip
            used = table.loc[:, table.sum(axis=0) > 0]
            row = {**mode, "metric": paper, "n": int(used.to_numpy().sum()), "chi2": np.nan, "dof": 0,
                   "chi2_per_dof": np.nan, "p_value": np.nan}  # fmt: skip
            if used.shape[0] >= 2 and used.shape[1] >= 2:
                res = stats.chi2_contingency(used.to_numpy())
                row.update(
                    chi2=float(res.statistic),
                    dof=int(res.dof),
                    chi2_per_dof=float(res.statistic) / res.dof,
                    p_value=float(res.pvalue),
                )
            chi.append(row)
    return pd.DataFrame(chi), pd.DataFrame(dom)


# ------------------------------------------------------------------------------------ Appendix B
#: Table A3's fairness metrics (the paper's names) → columns.
CORRELATION_METRICS = {
    "avg_police_gini": "gini_police",
    "avg_policeCrime_ratio_gini": "gini_pcr",
    "avg_racial_fairnessGap_PCR": "pcr_gap",
    "avg_racial_fairnessGap_avgPolShare": "share_gap",
}


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (b − a) / max(a, b) of the points (Euclidean; a: mean distance to the other points
    of its cluster, b: the smallest mean distance to another cluster; 0 for a point alone in its cluster),
    as scikit-learn's ``silhouette_score``; NaN with fewer than two clusters or as many as points."""
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels)
    names, idx = np.unique(labels, return_inverse=True)
    if not 2 <= len(names) < len(labels):
        return np.nan
    dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
    sums = np.stack([dist[:, idx == k].sum(axis=1) for k in range(len(names))], axis=1)
    sizes = np.bincount(idx, minlength=len(names)).astype(float)
    own = sizes[idx]
    a = np.where(own > 1, sums[np.arange(len(idx)), idx] / np.maximum(own - 1, 1), 0.0)
    other = sums / sizes
    other[np.arange(len(idx)), idx] = np.inf
    b = other.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(own > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(np.nanmean(s))


def _standardised(points: np.ndarray) -> np.ndarray:
    sd = points.std(axis=0)
    return (points - points.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _trend_word(r: float) -> str:
    a = abs(r)
    size = "very weak" if a < 0.2 else "weak" if a < 0.4 else "moderate" if a < 0.7 else "strong"
    return f"{size} {'negative' if r < 0 else 'positive'}"


def table_a3(pr: PaperRuns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy-fairness correlations within progressively refined groupings (the paper's Table A3) and
    the silhouette score of each grouping variable (Fig. A3).

    Points are scenarios (setting × algorithm mean levels). For each fairness metric the grouping variables
    (the scenario parameters except the reporting probability, and the algorithm) are ordered by the
    silhouette score of the clusters they make in the standardised (accuracy, metric) plane, and added one
    at a time while every subgroup keeps at least three points; each row gives the number of groups, the
    mean and standard deviation of the within-group Pearson correlations."""
    scen = pr.scenarios()
    variables = [p for p in pr.scenario_params if p != pr.report_param] + ["algorithm"]
    rows, sil_rows = [], []
    for mode, grp in _groups(scen, pr.by):
        for paper, metric in CORRELATION_METRICS.items():
            pts = grp[["accuracy", metric]].to_numpy(dtype=float)
            ok = np.isfinite(pts).all(axis=1)
            g, pts = grp.loc[ok], pts[ok]
            z = _standardised(pts)
            sil = {v: silhouette(z, g[v].astype(str).to_numpy()) for v in variables}
            for v, s in sil.items():
                sil_rows.append({**mode, "metric": paper, "variable": v, "silhouette": s})
            order = sorted(variables, key=lambda v: -np.nan_to_num(sil[v], nan=-2.0))
            for k in range(len(order) + 1):
                keys = order[:k]
                parts = [g] if not keys else [sub for _, sub in g.groupby(keys, sort=False)]
                if any(len(p) < 3 for p in parts):
                    break
                corr = np.array([_pearson(p["accuracy"], p[metric]) for p in parts])
                corr = corr[np.isfinite(corr)]
                avg = float(corr.mean()) if corr.size else np.nan
                std = float(corr.std()) if corr.size else np.nan
                rows.append(
                    {
                        **mode,
                        "metric": paper,
                        "grouping": " + ".join(keys),
                        "groups": len(parts),
                        "avg_corr": avg,
                        "std_corr": std,
                        "trend": _trend_word(avg) if np.isfinite(avg) else "",
                        "consistency": ("high" if std < 0.15 else "medium" if std < 0.3 else "low")
                        if np.isfinite(std)
                        else "",
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(sil_rows)


def _pearson(a: pd.Series, b: pd.Series) -> float:
    a, b = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


# ----------------------------------------------------------------------------------- over-policing
def overpoliced(
    root: str | Path, pr: PaperRuns, top: int = 3, most: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paper's over-policing ranking (Section 4.4, Figs. 26-27).

    Each area's over-policing in a scenario is its mean over days and runs of police share − crime share
    (the authors' ``policeCrime_gap``; over-policed = a police share above the crime share). Returns the
    ``top`` areas of every scenario, and, per mode, crime input and algorithm (every scenario parameter but N
    and r pooled), how many scenarios have each area among their top ones: the ``most`` frequent."""
    root = Path(root)
    keys = [c for c in dict.fromkeys([*pr.params, "algorithm"]) if c]
    key_sql = ", ".join(f'"{k}"' for k in keys)
    sql = (
        f'with d as (select {key_sql}, run, date, area_id, "group", officers, crimes, '
        f"sum(officers) over (partition by {key_sql}, run, date) as n_off, "
        f"sum(crimes) over (partition by {key_sql}, run, date) as n_crime from {{src}}) "
        f'select {key_sql}, area_id, any_value("group") as "group", '
        f"avg(case when n_off > 0 then officers / n_off end) as police_share, "
        f"avg(case when n_crime > 0 then crimes / n_crime end) as crime_share "
        f"from d group by all"
    )
    area = _query(root, "allocations", sql)
    area["gap"] = area["police_share"] - area["crime_share"]
    area = area.sort_values([*keys, "gap"], ascending=[True] * len(keys) + [False], kind="stable")
    area["rank"] = area.groupby(keys, sort=False).cumcount() + 1
    tops = area[area["rank"] <= top].reset_index(drop=True)
    pooled = [p for p in pr.params if p not in ("n_officers", pr.report_param)]
    freq = (
        tops.groupby([*pooled, "algorithm", "area_id", "group"], dropna=False)
        .agg(scenarios_in_top=("rank", "size"), mean_gap=("gap", "mean"))
        .reset_index()
        .sort_values(
            [*pooled, "algorithm", "scenarios_in_top", "mean_gap"],
            ascending=[True] * (len(pooled) + 1) + [False, False],
        )
    )
    freq["position"] = freq.groupby([*pooled, "algorithm"], dropna=False).cumcount() + 1
    return tops, freq[freq["position"] <= most].reset_index(drop=True)


# ---------------------------------------------------------------------------------------- driver
@dataclass
class PaperTables:
    tables: dict[str, pd.DataFrame]
    runs: PaperRuns


def paper_tables(root: str | Path, *, by: tuple[str, ...] | None = None) -> PaperTables:
    """Every table of the module docstring, from the results in ``root``."""
    pr = load_paper_runs(root, by=by)
    t: dict[str, pd.DataFrame] = {"paper_scenarios": pr.scenarios(), "paper_ranks": scenario_ranks(pr)}
    if len(pr.algorithms) >= 2:
        t["paper_table2"] = table2(pr)
        t["paper_table_a1"] = table_a1(pr)
        if pr.report_param is not None:
            t["paper_table_a2"], t["paper_dominance"] = table_a2(pr)
        t["paper_table_a3"], t["paper_silhouette"] = table_a3(pr)
    else:
        pr.notes.append("one algorithm only: no paired differences, winners or Appendix A tables")
    if pr.report_param is None:
        pr.notes.append("the reporting probability does not vary: no ANOVA or χ² across it (Appendix A)")
    t["paper_overpoliced"], t["paper_overpoliced_top"] = overpoliced(root, pr)
    return PaperTables(t, pr)
