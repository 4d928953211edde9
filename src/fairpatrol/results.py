"""Tidy long-format results (as Mesa's data collector) and their atomic writing to a results directory.

Layout of ``DIR`` written by ``fairpatrol run``:

* ``areas.parquet``: the areas as GeoParquet — ids, names, groups, the attributes used for groups, the
  geometry in the study's CRS (metres) — with how groups were defined in the file's metadata
  (:meth:`fairpatrol.data.Areas.write_parquet`): DuckDB, GIS tools and ``fairpatrol report`` read it;
* ``allocations.parquet``: one row per (scenario, algorithm, run, date, area_id) with the area's ``group``
  and ``crimes, officers, detected, reported, prevention`` (non-punitive units; 0 without that remedy),
  **only where one of them is nonzero**: missing rows are zeros (:mod:`fairpatrol.allocations`, which
  also re-expands them);
* ``metrics.parquet``: one row per (scenario, algorithm, run, date) with one column per daily metric (the
  study's, two-group gaps between ``group_1`` and ``group_2``; the Gini of the model's allocation; the
  worst group's 30-day disparity) and the model diagnostics (PredPol θ, ω, EM iterations);
* ``groups.parquet``: one row per (scenario, algorithm, run, date, group) for **every** group: the day's
  officers, true and detected crimes, officers on crime-free area-days, shares, 30-day disparity ratio;
* ``horizon.parquet``: one row per (scenario, algorithm, run): the metrics of the whole horizon (fairness
  against need, concentration, the study's PCR gap recomputed and its ε sensitivity);
* ``group_horizon.parquet``: one row per (scenario, algorithm, run, group): patrol and crime shares,
  disparity ratio, detection rate, patrols without crime, and the counts behind them;
* ``area_horizon.parquet``: one row per (scenario, algorithm, run, area_id): the area's sums over the
  horizon (patrol-days, true and detected crimes, patrol-days without crime, expected patrols), its
  shares and disparity ratio;
* ``summary.csv``: per (scenario, algorithm, metric, statistic) the mean over runs and its 95 % interval,
  where statistic ``level`` is a run's mean over days of a daily metric, ``slope`` its least-squares trend
  per day and ``horizon`` a horizon metric's value; with the metric's ``family``, ``unit`` and which
  direction is ``better`` (:mod:`fairpatrol.metrics.registry`); ``group_summary.csv`` the same per group;
* ``config.yaml``: the resolved config (input files by a path relative to the scenario file, with their
  SHA-256), seeds, areas and groups, data cleaning report, data sufficiency, PredPol fit problems and
  software versions — never an absolute path;
* ``remedy_effects.csv`` (studies with remedies): each remedy's paired effect on each headline metric.

The directory is first written under a temporary name and renamed into place when complete, so an
interrupted run never leaves a directory that looks finished. :func:`write_study` simulates into it: the
allocation rows are written while the study runs, the other tables after it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from fairpatrol.atomic import atomic_directory
from fairpatrol.config import map_data_paths, to_yaml_dict
from fairpatrol.formatting import difference_unit, natural_key, signed, with_interval
from fairpatrol.keys import dictionary, key_columns
from fairpatrol.metrics import mean_interval, trend_slope
from fairpatrol.metrics.accumulator import StudyMetrics
from fairpatrol.metrics.registry import headline, label, metric, rank_score
from fairpatrol.sim.study import StudyLayout, StudyResult, StudySink

KEYS = ["scenario", "algorithm", "n_officers", "report_prob", "run"]


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
        "report_prob": res.report_rate[cell.reporting],
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


def versions() -> dict[str, str]:
    """Versions of the packages that can change the numbers (:data:`fairpatrol.environment.PACKAGES`)."""
    from fairpatrol.environment import installed_versions

    return installed_versions()


def input_section(config, inputs, results_dir: str | Path | None = None) -> dict[str, Any]:
    """The ``inputs`` record of a results config: every file read, by a path relative to the scenario
    file, with its SHA-256; and where the scenario's folder is, relative to ``results_dir``."""
    from fairpatrol.data.inputs import relative

    base = config.base_dir
    out: dict[str, Any] = {"files": [f.record(base) for f in inputs]}
    if results_dir is not None and inputs:
        out["scenario_dir"] = relative(Path(base or Path.cwd()), Path(results_dir))
    return out


def relative_config(config) -> dict[str, Any]:
    """``to_yaml_dict(config)`` with every input path relative to the scenario file's folder."""
    from fairpatrol.data.inputs import relative, resolve

    doc = to_yaml_dict(config)
    base = config.base_dir
    doc["data"] = map_data_paths(doc["data"], lambda p: relative(resolve(p, base), base))
    return doc


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


def config_document(res: StudyResult, results_dir: str | Path | None = None) -> dict[str, Any]:
    """The resolved config plus everything needed to re-create any run (seeds) and to read the data.

    Input files are named relative to the scenario file, with their SHA-256 (``inputs``); ``results_dir``
    (when known) lets ``inputs.scenario_dir`` say where the scenario's folder is from the results.
    """
    cfg = relative_config(res.config)
    areas = res.data.areas
    cfg["resolved"] = {
        "models": {a: res.config.model(a).get_params() for a in res.config.algorithms},
        "run_seeds": {
            "rule": "run k uses numpy SeedSequence(seed, spawn_key=(k,)) spawned into (reporting, "
            "allocation, detection) streams; the same for every scenario cell",
            "seed": res.config.seed,
            "runs": list(res.run_ids),
        },
        "groups": areas.summary(),
        "horizon": {
            "start": str(res.data.start.date()),
            "days": res.data.n_days,
            "history_days": -res.data.first_day,
            "truth_events_in_horizon": int(res.data.n_events - res.data.n_history),
            "history_events": int(res.data.n_history),
        },
        "short_history": res.short_history,
    }
    problems = fit_problem_counts(res)
    if problems:
        cfg["resolved"]["fit_problems"] = problems
    cfg["inputs"] = input_section(res.config, res.inputs, results_dir)
    cfg["data_report"] = res.cleaning
    cfg["versions"] = versions()
    cfg["seconds"] = round(res.seconds, 3)
    return cfg


def write_tables(res: StudyResult, folder: Path, results_dir: str | Path | None = None) -> None:
    """Write every table of ``res`` but the allocations (written while simulating) into ``folder``.

    ``results_dir`` is where the directory will be (for the relative paths of ``config.yaml``).
    """
    res.data.areas.write_parquet(folder / "areas.parquet")
    pq.write_table(metrics_table(res), folder / "metrics.parquet", compression="zstd")
    pq.write_table(groups_table(res), folder / "groups.parquet", compression="zstd")
    pq.write_table(horizon_table(res), folder / "horizon.parquet", compression="zstd")
    pq.write_table(group_horizon_table(res), folder / "group_horizon.parquet", compression="zstd")
    pq.write_table(area_horizon_table(res), folder / "area_horizon.parquet", compression="zstd")
    summary_frame(res).to_csv(folder / "summary.csv", index=False)
    group_summary_frame(res).to_csv(folder / "group_summary.csv", index=False)
    effects = remedy_effects_frame(res)
    if not effects.empty:
        effects.to_csv(folder / "remedy_effects.csv", index=False)


def allocations_section(writer: Any) -> dict[str, Any]:
    """What ``config.yaml`` says about ``allocations.parquet`` (from its closed
    :class:`~fairpatrol.allocations.AllocationWriter`)."""
    return {
        "rows": int(writer.rows),
        "dense_rows": int(writer.dense_rows),
        "zero_rows": "omitted: a (scenario, algorithm, run, date, area) without a row has all counts 0",
    }


def write_study(
    config,
    out: str | Path,
    *,
    overwrite: bool = False,
    incidents: Any = None,
    data: Any = None,
    run_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
    sinks: Sequence[StudySink] = (),
) -> StudyResult:
    """Run ``config``'s study (:func:`fairpatrol.sim.study.run_study`) and write its results directory.

    The directory is written atomically (a temporary directory, renamed when complete); the allocation
    rows go to ``allocations.parquet`` while the study runs, in chunks, so memory stays bounded by
    runs × areas whatever the horizon (:mod:`fairpatrol.allocations`). ``sinks`` receive the days too.
    Returns the study's result (metrics, diagnostics).
    """
    from fairpatrol.allocations import AllocationWriter
    from fairpatrol.sim.study import run_study

    with atomic_directory(out, kind="run", overwrite=overwrite) as tmp:
        with AllocationWriter(tmp / "allocations.parquet") as writer:
            res = run_study(
                config,
                incidents=incidents,
                data=data,
                run_ids=run_ids,
                progress=progress,
                sinks=[writer, *sinks],
            )
        write_tables(res, tmp, out)
        doc = config_document(res, out)
        doc["resolved"]["allocations"] = allocations_section(writer)
        with open(tmp / "config.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False, allow_unicode=True)
    return res
