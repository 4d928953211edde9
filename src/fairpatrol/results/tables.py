"""The tidy tables of a study's results (as Mesa's data collector) and their summaries over runs.

Built from a finished :class:`~fairpatrol.sim.study.StudyResult`, in memory: the daily metrics, the
per-group metrics, the horizon tables and the ``summary`` of each metric (mean over runs and 95 %
interval). :mod:`fairpatrol.results.run` writes them into a run directory, :mod:`fairpatrol.sweep.worker`
into a sweep cell's partitions; the columns are described in :mod:`fairpatrol.results.run`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fairpatrol.formatting import difference_unit, natural_key, signed, with_interval
from fairpatrol.keys import dictionary, key_columns
from fairpatrol.metrics import mean_interval, trend_slope
from fairpatrol.metrics.accumulator import StudyMetrics
from fairpatrol.metrics.registry import headline, label, metric, rank_score

if TYPE_CHECKING:
    from fairpatrol.metrics.accumulator import StudyMetrics
    from fairpatrol.sim.layout import StudyLayout
    from fairpatrol.sim.study import StudyResult


def diagnostic_columns() -> list[str]:
    """The model-diagnostic columns of metrics.parquet: the union over all registered models."""
    from fairpatrol.models import MODELS

    return list(dict.fromkeys(c for m in MODELS.values() for c in m.diagnostic_columns))


def _cell_columns(res: StudyLayout, reps: int, run_ids: list[int] | None = None) -> dict[str, pa.Array]:
    """Key columns for rows ordered cell-major, run, then ``reps`` rows per (cell, run)."""
    run_ids = list(res.run_ids) if run_ids is None else run_ids
    n_c, n_r = len(res.cells), len(run_ids)
    cell = np.repeat(np.arange(n_c), n_r * reps)
    run = np.tile(np.repeat(np.asarray(run_ids, dtype=np.int32), reps), n_c)
    return key_columns(res, cell, run)


def metrics_table(res: StudyResult) -> pa.Table:
    """One row per (scenario, algorithm, run, date) with every daily metric and model diagnostic."""
    n_c, _, n_d = res.fallback.shape
    runs = res.metric_runs
    n_r = len(runs)
    cols = _cell_columns(res, n_d, runs)
    cols["date"] = pa.array(np.tile(res.dates, n_c * n_r))
    cols["day"] = pa.array(np.tile(np.arange(n_d, dtype=np.int32), n_c * n_r))
    for name, values in res.metrics.items():
        cols[name] = pa.array(values.reshape(-1))
    averaged = n_r != res.fallback.shape[1]  # metrics of run-averaged counts (paper-compatible mode)
    cols["uniform_fallback"] = pa.array((res.fallback.any(axis=1) if averaged else res.fallback).reshape(-1))
    for name in diagnostic_columns():  # every model's, NaN where not applicable: one schema for all studies
        arr = res.diagnostics.get(name)
        if arr is None:
            cols[name] = pa.array(np.full(n_c * n_r * n_d, np.nan))
            continue
        with warnings.catch_warnings():  # a cell without the diagnostic (another model): NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            values = np.nanmean(arr, axis=1) if averaged else arr
        cols[name] = pa.array(values.reshape(-1).astype(np.float64))
    g1, g2 = res.group_pair
    cols["group_1"] = dictionary([g1], np.zeros(n_c * n_r * n_d, dtype=np.int32))
    cols["group_2"] = dictionary([g2], np.zeros(n_c * n_r * n_d, dtype=np.int32))
    return pa.table(cols)


def groups_table(res: StudyResult) -> pa.Table:
    """One row per (scenario, algorithm, run, date, group) with every per-group metric, for every group."""
    names = res.data.areas.group_names
    n_g = len(names)
    first = next(iter(res.group_metrics.values()))
    n_c, n_r, n_d, _ = first.shape
    cols = _cell_columns(res, n_d * n_g, res.metric_runs)
    cols["date"] = pa.array(np.tile(np.repeat(res.dates, n_g), n_c * n_r))
    cols["group"] = dictionary(names, np.tile(np.arange(n_g), n_c * n_r * n_d))
    for name, values in res.group_metrics.items():
        cols[name] = pa.array(values.reshape(-1))
    return pa.table(cols)


def horizon_table(res: StudyResult) -> pa.Table:
    """One row per (scenario, algorithm, run) with every run-level horizon metric."""
    cols = _cell_columns(res, 1, res.metric_runs)
    for name, values in _measures(res).horizon.items():
        cols[name] = pa.array(values.reshape(-1))
    return pa.table(cols)


def group_horizon_table(res: StudyResult) -> pa.Table:
    """One row per (scenario, algorithm, run, group) with every group-level horizon metric."""
    names = res.data.areas.group_names
    n = len(res.cells) * len(res.metric_runs)
    cols = _cell_columns(res, len(names), res.metric_runs)
    cols["group"] = dictionary(names, np.tile(np.arange(len(names)), n))
    for name, values in _measures(res).group_horizon.items():
        cols[name] = pa.array(values.reshape(-1))
    return pa.table(cols)


def area_horizon_table(res: StudyResult) -> pa.Table:
    """One row per (scenario, algorithm, run, area_id): the area's horizon sums, shares, disparity ratio."""
    areas = res.data.areas
    n = len(res.cells) * len(res.metric_runs)
    cols = _cell_columns(res, areas.n, res.metric_runs)
    cols["area_id"] = dictionary(list(areas.ids), np.tile(np.arange(areas.n), n))
    cols["group"] = dictionary(areas.group_names, np.tile(areas.group_index, n))
    for name, values in _measures(res).area_horizon.items():
        cols[name] = pa.array(values.reshape(-1))
    return pa.table(cols)


def _row(stat: str, values: np.ndarray) -> dict[str, Any]:
    mean, lo, hi = mean_interval(values)
    return {
        "statistic": stat,
        "mean": mean,
        "ci_low": lo,
        "ci_high": hi,
        "runs": int(np.isfinite(values).sum()),
    }


def _statistics(values: np.ndarray, window: str) -> list[dict[str, Any]]:
    """``statistic, mean, ci_low, ci_high, runs`` over runs: of a horizon metric's value (runs), or of the
    level (a run's mean over days) and the slope of a daily metric's runs × days values."""
    if window == "horizon":
        return [_row("horizon", np.asarray(values, dtype=np.float64))]
    return [_row("level", day_level(values)), _row("slope", trend_slope(values))]


def day_level(daily: np.ndarray) -> np.ndarray:
    """Each run's mean over its days with a defined value (NaN for a run without any)."""
    with warnings.catch_warnings():  # a run whose days are all undefined has an undefined level
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.where(np.isfinite(daily), daily, np.nan), axis=-1)


def _registry_columns(name: str) -> dict[str, str]:
    m = metric(name)
    return {"family": m.family, "unit": m.unit, "better": m.better}


def _cell_row(res: StudyResult, cell) -> dict[str, Any]:
    return {
        "scenario": cell.scenario,
        "algorithm": cell.algorithm,
        "n_officers": cell.n_officers,
        "report_prob": res.reporting_rate[cell.reporting],
        "reporting": cell.reporting,
        "remedy": cell.remedy,
    }


def _measures(res: StudyResult) -> StudyMetrics:
    """The study's finished metrics (``run_study`` always sets them)."""
    if res.measures is None:
        raise ValueError("the study result carries no metrics: produce it with run_study")
    return res.measures


def run_metric_arrays(res: StudyResult) -> dict[str, tuple[np.ndarray, str]]:
    """Every run-level metric of ``res``: name -> (cells × runs [× days] values, window)."""
    out: dict[str, tuple[np.ndarray, str]] = {
        name: (values, metric(name).window) for name, values in res.metrics.items()
    }
    out.update({name: (values, "horizon") for name, values in _measures(res).horizon.items()})
    return out


def run_values(res: StudyResult, name: str) -> np.ndarray:
    """cells × runs: each run's value of a run-level metric (a daily metric's mean over days)."""
    values, window = run_metric_arrays(res)[name]
    return values if window == "horizon" else day_level(values)


def summary_frame(res: StudyResult, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Mean over runs and 95 % t-interval of each run-level metric per cell: the level (mean over days)
    and slope of daily metrics, the value of horizon metrics."""
    rows: list[dict[str, Any]] = []
    g1, g2 = res.group_pair
    arrays = run_metric_arrays(res)
    names = list(arrays) if metrics is None else list(metrics)
    for ci, cell in enumerate(res.cells):
        for name in names:
            values, window = arrays[name]
            for stat in _statistics(values[ci], window):
                rows.append(
                    {
                        **_cell_row(res, cell),
                        "metric": name,
                        **stat,
                        **_registry_columns(name),
                        "group_1": g1,
                        "group_2": g2,
                    }
                )
    return pd.DataFrame(rows)


def group_summary_frame(res: StudyResult) -> pd.DataFrame:
    """:func:`summary_frame` of every per-group metric for every group (one more key column: ``group``)."""
    rows: list[dict[str, Any]] = []
    names = res.data.areas.group_names
    arrays = {name: (v, metric(name).window) for name, v in res.group_metrics.items()}
    arrays.update({name: (v, "horizon") for name, v in _measures(res).group_horizon.items()})
    for ci, cell in enumerate(res.cells):
        for gi, group in enumerate(names):
            for name, (values, window) in arrays.items():
                for stat in _statistics(values[ci][..., gi], window):
                    rows.append(
                        {
                            **_cell_row(res, cell),
                            "group": group,
                            "metric": name,
                            **stat,
                            **_registry_columns(name),
                        }
                    )
    return pd.DataFrame(rows)


def remedy_effects_frame(res: StudyResult, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Effect of each remedy on each metric: (remedy − no remedy) per run, paired by run, then mean and
    95 % interval over runs, for every (algorithm, officers, reporting) cell. Runs share their random
    streams across remedies, so the pairing removes most run-to-run noise. ``verdict`` says whether the
    remedy clearly made the metric better or worse by the registry's direction (for a ratio: closer to 1).
    Empty without a 'none' remedy.
    """
    if "none" not in res.config.remedies or len(res.config.remedies) < 2:
        return pd.DataFrame()
    metrics = (*headline(), "crimes") if metrics is None else metrics
    index = {(c.algorithm, c.n_officers, c.reporting, c.remedy): i for i, c in enumerate(res.cells)}
    rows: list[dict[str, Any]] = []
    values = {name: run_values(res, name) for name in metrics}
    for (alg, n, rep, remedy), ci in index.items():
        if remedy == "none":
            continue
        base = index[(alg, n, rep, "none")]
        for name in metrics:
            with np.errstate(invalid="ignore"):
                diff = values[name][ci] - values[name][base]
            mean, lo, hi = mean_interval(diff)
            verdict = "descriptive"
            if metric(name).rankable:
                with np.errstate(invalid="ignore"):  # ∞ − ∞ (a ratio of 0 in both): no verdict, NaN
                    gain = rank_score(name, values[name][base]) - rank_score(name, values[name][ci])
                _, glo, ghi = mean_interval(gain)
                verdict = "better" if glo > 0 else "worse" if ghi < 0 else "unclear"
            rows.append(
                {
                    "algorithm": alg,
                    "n_officers": n,
                    "reporting": rep,
                    "remedy": remedy,
                    "metric": name,
                    "effect": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "direction": "up" if lo > 0 else "down" if hi < 0 else "unclear",
                    "verdict": verdict,
                }
            )
    return pd.DataFrame(rows)


def remedy_verdicts(effects: pd.DataFrame, group_pair: tuple[str, str] | None = None) -> list[str]:
    """One sentence per remedy and metric: in how many cells it clearly made the metric better or worse,
    and its largest change."""
    lines: list[str] = []
    if effects.empty:
        return lines
    for (remedy, name), g in effects.groupby(["remedy", "metric"], sort=False):
        m = metric(name)
        biggest = g.loc[g.effect.abs().idxmax()]
        change = (
            f"largest change {signed(biggest.effect, difference_unit(m.unit))} "
            f"({with_interval(biggest.effect, biggest.ci_low, biggest.ci_high, difference_unit(m.unit))}; "
            f"{biggest.algorithm}, {biggest.n_officers} officers, reporting {biggest.reporting})"
        )
        if m.rankable:
            good, bad = int((g.verdict == "better").sum()), int((g.verdict == "worse").sum())
            head = f"better in {good}, worse in {bad}, unclear in {len(g) - good - bad} of {len(g)} cells"
        else:
            up, down = int((g.direction == "up").sum()), int((g.direction == "down").sum())
            head = f"higher in {up}, lower in {down}, unclear in {len(g) - up - down} of {len(g)} cells"
        lines.append(f"remedy {remedy} → {label(name, group_pair)}: {head}; {change}")
    return lines


def headline_table(summary: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Wide view for printing: one row per cell (scenarios in numeric order), one column per headline
    metric (its label), each 'mean ± half-width' of the runs' values with digits matched to the interval."""
    metrics = headline() if metrics is None else metrics
    main = summary[summary.statistic.isin(["level", "horizon"]) & summary.metric.isin(metrics)].copy()
    main["text"] = [
        with_interval(m, lo, hi, metric(name).unit, style="pm")
        for name, m, lo, hi in zip(main["metric"], main["mean"], main["ci_low"], main["ci_high"], strict=True)
    ]
    wide = main.pivot(index=["scenario", "algorithm"], columns="metric", values="text")
    wide = wide[[m for m in metrics if m in wide.columns]].reset_index()
    order = {a: i for i, a in enumerate(dict.fromkeys(summary["algorithm"]))}
    wide = wide.sort_values(
        ["scenario", "algorithm"],
        key=lambda c: c.map(natural_key) if c.name == "scenario" else c.map(order),
        kind="stable",
    )
    pair = None
    if {"group_1", "group_2"} <= set(summary.columns) and len(summary):
        pair = (str(summary["group_1"].iloc[0]), str(summary["group_2"].iloc[0]))
    return wide.rename(columns={m: label(m, pair) for m in metrics}).reset_index(drop=True)


def fit_problem_counts(res: StudyResult) -> dict[str, dict[str, int]]:
    """Per algorithm, daily PredPol fits that did not converge or ended on a parameter bound
    (:func:`fairpatrol.metrics.summary.fit_problems`)."""
    from fairpatrol.metrics.summary import fit_problems

    diag = {k: v.reshape(len(res.cells), -1) for k, v in res.diagnostics.items()}
    if not {"theta", "omega", "em_converged"} <= set(diag):
        return {}
    frame = pd.DataFrame(
        {
            "algorithm": np.repeat([c.algorithm for c in res.cells], diag["theta"].shape[1]),
            **{k: diag[k].reshape(-1) for k in ("theta", "omega", "em_converged")},
        }
    )
    return fit_problems(frame)
