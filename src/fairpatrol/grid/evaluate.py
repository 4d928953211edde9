"""The rolling grid evaluation of the PF/RAF study: daily forecasts, fairness and accuracy metrics
(docs/grid.md, "Evaluation").

For every day d of the period and every model: fit on the incidents of the model's window
[d − W, d) (W = 30 days by default), forecast the expected incidents of each cell on day d, and compare
with the incidents observed in each cell that day. The metrics (:mod:`fairpatrol.grid.metrics`) are
computed for every coverage level at once, vectorised over days; the EMDs are solved day by day on a
thread pool (POT releases the GIL).

The long metrics table has one row per (model, date, coverage, group, metric): ``group`` is a group name
for per-group values, ``overall`` for city-wide ones (hit rate, PAI, overall EMD) and ``between`` for
two-group comparisons (PF Max-min and Gini, precision gap); ``coverage`` is NaN for the EMD.

The evaluated days are the days of the period less ``exclude_days`` and, unless ``low_count_days.action``
is ``keep``, less the days with anomalously few incidents (:func:`low_count_days`: a gap in the records is
not a complete ground truth). Every such day, and every training window that contains one, is reported in
``info["warnings"]``. ``metrics`` (:class:`~fairpatrol.grid.config.MetricSettings`) chooses between the
paper's stated metrics (default) and its authors' code (docs/grid.md, "Paper settings").
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.data import Incidents, StudyInputs
from fairpatrol.errors import ConvergenceWarning, DataError
from fairpatrol.grid import metrics as gm
from fairpatrol.grid.cells import (
    Grid,
    build_grid,
    compare_with_reference,
    load_reference_grid,
    reference_grid_names,
)
from fairpatrol.grid.config import EvaluateConfig, LowCountDays, MetricSettings
from fairpatrol.grid.reference import with_reference_groups

OVERALL = "overall"
BETWEEN = "between"

#: Metric name → what it is (written beside the results).
METRIC_DOC: dict[str, str] = {
    "pf_benefit": "prediction-fairness benefit mean |P_c - R_c| over the group's top-k cells",
    "pf_maxmin": "|benefit group 1 - benefit group 2|",
    "pf_gini": "|benefit 1 - benefit 2| / (benefit 1 + benefit 2)",
    "precision": "share of the group's top-k cells with at least one crime (resource-allocation fairness)",
    "precision_gap": "|precision group 1 - precision group 2|",
    "hit_rate": "share of the day's crimes in the city-wide top-k cells",
    "pai": "Predictive Accuracy Index: hit rate / share of cells selected",
    "emd": "Earth Mover's Distance (metres) between the normalised predicted and observed maps",
    "emd_bound": "upper bound (metres) of the EMD error where solved on blocks of cells (fine grids)",
}


def metric_docs(settings: MetricSettings) -> dict[str, str]:
    """:data:`METRIC_DOC` as computed under ``settings`` (the paper-code options reword four entries)."""
    docs = dict(METRIC_DOC)
    if settings.pf_ranking == "observed":
        docs["pf_benefit"] = docs["pf_benefit"].replace("top-k cells", "top-k cells by observed crime")
    if settings.gini == "coefficient":
        docs["pf_gini"] = "Gini coefficient |benefit 1 - benefit 2| / (2 (benefit 1 + benefit 2))"
    if settings.precision_cap:
        docs["precision"] += ", top-k cut to the group's cells with crime, zero-forecast cells not counted"
    if settings.selection == "floor":
        docs["precision"] += "; k = floor(coverage x cells)"
    if settings.emd == "values":
        docs["emd"] = "1-D Wasserstein distance between the lists of normalised cell values (not spatial)"
    return docs


#: Fitted attributes recorded per model and day when a model has them (SEPP).
DIAGNOSTICS = ("theta", "omega", "sigma", "mu_bar", "n_iter", "converged", "loglik")


@dataclass
class EvaluationResult:
    """Everything an evaluation produced."""

    config: EvaluateConfig
    grid: Grid
    dates: pd.DatetimeIndex
    coverages: np.ndarray
    predictions: dict[str, np.ndarray]  # model -> days × cells expected incidents
    observed: np.ndarray  # days × cells
    metrics: pd.DataFrame
    diagnostics: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    inputs: list[Any] = field(default_factory=list)  # the files read (fairpatrol.data.InputFile)


def load_evaluation_data(config: EvaluateConfig) -> StudyInputs:
    """The areas (a grid, or the areas a grid is cut from) and incidents an evaluation replays, with the
    files read (paths relative to the config file)."""
    from fairpatrol.data import load_data

    return load_data(config.data, config.base_dir)


def evaluation_grid(config: EvaluateConfig, areas: Any) -> Grid:
    """The evaluation's grid: the data's areas when they are a grid, else cut from them (``grid``)."""
    if isinstance(areas, Grid):
        return areas
    gs = config.grid
    return build_grid(
        areas, gs.cell_size, mask=gs.mask, label_rule=gs.label_rule, group_pair=config.data.group_pair
    )


def _source(config: EvaluateConfig) -> str:
    inc = config.data.incidents
    return inc if isinstance(inc, str) else inc.file


def check_period(config: EvaluateConfig, times: pd.Series) -> None:
    """Raise a one-line :class:`DataError` when the period or a training window is not covered by data."""
    if len(times) == 0:
        raise DataError("no incidents", source=_source(config))
    first, last = times.min().normalize(), times.max().normalize()
    start = pd.Timestamp(config.start)
    final = pd.Timestamp(config.end) - pd.Timedelta(days=1)
    if final > last:
        raise DataError(
            f"the evaluation runs to {final:%Y-%m-%d} but the data end on {last:%Y-%m-%d} "
            f"(at most {max((last - start).days + 1, 0)} days from {start:%Y-%m-%d})",
            source=_source(config),
            field="days",
        )
    windows = {name: float(config.model(name).window_days) for name in config.algorithms}
    longest = max(windows.values())
    if start - pd.Timedelta(days=longest) < first:
        raise DataError(
            f"the {longest:g}-day training window of {start:%Y-%m-%d} begins before the data "
            f"(first incident {first:%Y-%m-%d}); start on or after "
            f"{(first + pd.Timedelta(days=int(np.ceil(longest)))):%Y-%m-%d}",
            source=_source(config),
            field="start",
        )
    sorted_t = np.sort(times.to_numpy())
    days = pd.date_range(start, periods=config.days, freq="D")
    for name, w in windows.items():
        lo = np.searchsorted(sorted_t, (days - pd.Timedelta(days=w)).to_numpy(), side="left")
        hi = np.searchsorted(sorted_t, days.to_numpy(), side="left")
        empty = np.flatnonzero(hi == lo)
        if empty.size:
            day = days[empty[0]]
            raise DataError(
                f"empty training window: {name} has no incidents in the {w:g} days before {day:%Y-%m-%d}",
                source=_source(config),
                field="start",
            )


def low_count_days(
    times: pd.Series, first: pd.Timestamp, last: pd.Timestamp, rule: LowCountDays
) -> pd.DataFrame:
    """Days of [first, last] with anomalously few incidents: columns ``date``, ``count``, ``expected``.

    ``expected`` is the median count of the ``rule.span`` days on either side that lie within the data
    (the day itself left out); a day is flagged when ``count < rule.ratio × expected`` and a Poisson count
    of mean ``expected`` is that low with probability below ``rule.p_value``. Both conditions: the ratio
    keeps holidays (about half the usual count) unflagged, the Poisson tail keeps empty days of sparse
    data (a usual count of 2) unflagged; a gap in the records or a partial last day (Chicago 2022-12-31: 8
    thefts beside a median of 216) is flagged.
    """
    from scipy import stats

    day = times.dt.normalize()
    counts = day.value_counts()
    if counts.empty:
        return pd.DataFrame(columns=["date", "count", "expected"])
    index = pd.date_range(day.min(), day.max(), freq="D")
    v = counts.reindex(index, fill_value=0).to_numpy(dtype=np.float64)
    w = int(rule.span)
    padded = np.concatenate([np.full(w, np.nan), v, np.full(w, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * w + 1)
    neighbours = np.delete(windows, w, axis=1)
    with warnings.catch_warnings():  # all-NaN neighbours (a one-day data set): no expectation
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(neighbours, axis=1)
    inside = (index >= first) & (index <= last) & np.isfinite(expected)
    flagged = (
        inside & (v < rule.ratio * expected) & (stats.poisson.cdf(v, np.nan_to_num(expected)) < rule.p_value)
    )
    return pd.DataFrame(
        {"date": index[flagged], "count": v[flagged].astype(int), "expected": expected[flagged]}
    )


def evaluation_days(
    config: EvaluateConfig, times: pd.Series
) -> tuple[pd.DatetimeIndex, pd.DataFrame, list[str]]:
    """The days to evaluate, the low-count days found, and the warnings about them (one sentence each)."""
    longest = max(float(config.model(name).window_days) for name in config.algorithms)
    start, end = pd.Timestamp(config.start), pd.Timestamp(config.end)
    rule = config.low_count_days
    low = low_count_days(times, start - pd.Timedelta(days=longest), end - pd.Timedelta(days=1), rule)
    days = pd.DatetimeIndex(pd.to_datetime(config.evaluated_days()))
    notes: list[str] = []
    period = days[days.isin(low["date"])]
    for row in low.itertuples():
        what = "in the evaluated period" if row.date >= start else "before the period"
        notes.append(
            f"{row.date:%Y-%m-%d} has {row.count} incidents where the {2 * rule.span} days around it have a "
            f"median of {row.expected:g}: the records of that day look incomplete ({what})"
        )
    if len(period):
        if rule.action == "exclude":
            days = days[~days.isin(low["date"])]
            notes.append(
                f"{len(period)} such day(s) not evaluated (low_count_days.action: exclude): "
                + ", ".join(f"{d:%Y-%m-%d}" for d in period)
            )
        else:
            notes.append(f"{len(period)} such day(s) evaluated anyway (low_count_days.action: keep)")
    if len(low):
        inside = np.zeros(len(days), dtype=bool)
        for d in low["date"]:
            inside |= (days > d) & (days <= d + pd.Timedelta(days=longest))
        if inside.any():
            notes.append(
                f"{int(inside.sum())} evaluated day(s) are trained on a window containing such a day "
                f"({days[inside][0]:%Y-%m-%d} .. {days[inside][-1]:%Y-%m-%d}); their forecasts miss those "
                "records"
            )
    if days.empty:
        raise DataError(
            "no day left to evaluate after leaving out the low-count days", field="low_count_days"
        )
    return days, low, notes


def observed_counts(frame: pd.DataFrame, grid: Grid, dates: pd.DatetimeIndex) -> tuple[np.ndarray, int]:
    """Incidents per evaluated day and cell (days × cells; ``dates`` may skip days) and the number of
    incidents of those days outside the grid."""
    pos = dates.get_indexer(frame["time"].dt.normalize())
    sel = pos >= 0
    day = pos[sel].astype(np.int64)
    cell = grid.locate(frame["x"].to_numpy(float)[sel], frame["y"].to_numpy(float)[sel])
    ok = cell >= 0
    flat = np.bincount(day[ok] * grid.n + cell[ok], minlength=len(dates) * grid.n)
    return flat.reshape(len(dates), grid.n).astype(np.float64), int((~ok).sum())


def forecast(
    model: Any,
    frame: pd.DataFrame,
    grid: Grid,
    dates: pd.DatetimeIndex,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Refit ``model`` before every day and forecast it: (days × cells, per-day diagnostics)."""
    out = np.empty((len(dates), grid.n))
    rows = []
    for k, day in enumerate(dates):
        with warnings.catch_warnings():  # recorded per day (diagnostics 'converged') and counted below
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(frame, until=day, grid=grid)
        out[k] = model.predict().to_numpy()
        diag = {"date": day, "n_events": model.n_events_, "bandwidth": model.bandwidth_}
        for name in DIAGNOSTICS:
            if hasattr(model, f"{name}_"):
                diag[name] = getattr(model, f"{name}_")
        rows.append(diag)
        if progress is not None:
            progress(1)
    stopped = sum(1 for r in rows if r.get("converged") is False)
    if stopped:
        warnings.warn(
            f"{type(model).__name__}: the fit stopped at max_iter before converging on {stopped} of "
            f"{len(rows)} days (diagnostics.parquet, column converged)",
            ConvergenceWarning,
            stacklevel=2,
        )
    return out, pd.DataFrame(rows)


def _emds(
    pred: np.ndarray, counts: np.ndarray, grid: Grid, threads: int, kind: str = "spatial"
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Daily EMDs overall and per group, spatial (solved on ``threads`` threads, on the cells with mass:
    :func:`fairpatrol.grid.metrics.emd_cells`) or of the cell values; and the error bounds of the
    spatial ones (0 where solved exactly)."""
    targets = {OVERALL: None, **dict(zip(grid.group_pair, grid.group_masks(), strict=True))}
    x, y = grid.centres
    ix, iy = grid.frame["ix"].to_numpy(), grid.frame["iy"].to_numpy()
    jobs = []
    for key, mask in targets.items():
        sel = slice(None) if mask is None else mask
        cells = (x[sel], y[sel], ix[sel], iy[sel])
        jobs += [(key, k, pred[k, sel], counts[k, sel], cells) for k in range(len(pred))]
    out = {key: np.empty(len(pred)) for key in targets}
    bounds = {key: np.zeros(len(pred)) for key in targets}
    if kind == "values":
        for key, k, p, c, _ in jobs:
            out[key][k] = gm.emd_values_1d(p, c)
        return out, bounds
    with ThreadPoolExecutor(max(1, threads)) as pool:
        values = pool.map(lambda j: gm.emd_cells(j[2], j[3], *j[4]), jobs)
        for (key, k, *_), (value, bound) in zip(jobs, values, strict=True):
            out[key][k] = value
            bounds[key][k] = bound
    return out, bounds


def day_metrics(
    pred: np.ndarray,
    counts: np.ndarray,
    grid: Grid,
    coverages: np.ndarray,
    threads: int = 2,
    settings: MetricSettings | None = None,
) -> list[tuple[str, str, np.ndarray]]:
    """Every metric of one model as (metric, group, days × K array, or days for the EMD)."""
    opt = settings or MetricSettings()
    g1, g2 = grid.group_pair
    m1, m2 = grid.group_masks()
    pf = {"rank_by": opt.pf_ranking, "selection": opt.selection}
    f1 = gm.prediction_benefit(pred, counts, m1, coverages, **pf)
    f2 = gm.prediction_benefit(pred, counts, m2, coverages, **pf)
    p1 = gm.precision(pred, counts, m1, coverages, selection=opt.selection, cap=opt.precision_cap)
    p2 = gm.precision(pred, counts, m2, coverages, selection=opt.selection, cap=opt.precision_cap)
    hits = gm.hit_rate(pred, counts, coverages)
    gini = gm.gini_coefficient if opt.gini == "coefficient" else gm.gini_two
    out = [
        ("pf_benefit", g1, f1),
        ("pf_benefit", g2, f2),
        ("pf_maxmin", BETWEEN, gm.max_min(f1, f2)),
        ("pf_gini", BETWEEN, gini(f1, f2)),
        ("precision", g1, p1),
        ("precision", g2, p2),
        ("precision_gap", BETWEEN, np.abs(p1 - p2)),
        ("hit_rate", OVERALL, hits),
        ("pai", OVERALL, gm.pai(hits, grid.n, coverages)),
    ]
    values, bounds = _emds(pred, counts, grid, threads, opt.emd)
    for group, v in values.items():
        out.append(("emd", group, v))
    if any(np.nanmax(b, initial=0.0) > 0 for b in bounds.values()):  # solved on blocks of cells somewhere
        for group, b in bounds.items():
            out.append(("emd_bound", group, b))
    return out


def long_metrics(
    model: str, dates: pd.DatetimeIndex, coverages: np.ndarray, blocks: list[tuple[str, str, np.ndarray]]
) -> pd.DataFrame:
    """Blocks of :func:`day_metrics` as tidy rows (model, date, coverage, group, metric, value)."""
    frames = []
    n_d = len(dates)
    for metric, group, values in blocks:
        if values.ndim == 2:
            cov = np.tile(coverages, n_d)
            date = np.repeat(dates.to_numpy(), len(coverages))
        else:
            cov = np.full(n_d, np.nan)
            date = dates.to_numpy()
        frames.append(
            pd.DataFrame(
                {"date": date, "coverage": cov, "group": group, "metric": metric, "value": values.ravel()}
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "model", model)
    return out


def summarise(metrics: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per (model, metric, group, coverage): mean over days, a t-interval of the mean and the daily range.

    ``ci_low``/``ci_high`` treat days as independent (day-to-day correlation makes them optimistic);
    ``q_low``/``q_high`` are the 2.5 % and 97.5 % quantiles of the daily values; ``days`` counts the days
    with a defined value, ``days_undefined`` the others (e.g. days without crime).
    """
    from scipy import stats

    keys = ["model", "metric", "group", "coverage"]
    g = metrics.groupby(keys, dropna=False, observed=True, sort=False)["value"]
    out = g.agg(mean="mean", std="std", days="count", size="size").reset_index()
    tail = (1 - level) / 2
    q = g.quantile([tail, 1 - tail]).unstack()
    out["q_low"] = q.iloc[:, 0].to_numpy()
    out["q_high"] = q.iloc[:, 1].to_numpy()
    n = out["days"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(1 - tail, np.maximum(n - 1, 1)) * out["std"].to_numpy() / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["days_undefined"] = out["size"] - out["days"]
    cols = [*keys, "mean", "ci_low", "ci_high", "q_low", "q_high", "days", "days_undefined"]
    return out[cols]


def _reference(city: str):
    """The bundled reference grid of ``city`` (``grid.groups: reference`` needs one)."""
    if city not in reference_grid_names():
        raise DataError(
            f"grid.groups: reference needs a bundled reference grid; {city!r} has none "
            f"(bundled: {', '.join(reference_grid_names())})",
            field="grid.groups",
        )
    return load_reference_grid(city)


def precision_gaps(metrics: pd.DataFrame) -> pd.DataFrame:
    """The RAF gaps as the PF/RAF paper reports them (its section 3.1, "maximum difference between the
    means of groups" and "an average of these differences"): for each model and coverage level the gap
    |mean over days of precision of group 1 − that of group 2|, then per model its mean and maximum over
    the coverage levels; the row ``all`` averages the models' means and takes the largest maximum (the
    authors' notebook 06 printed 0.0710 and 0.1279 for Bogotá, 0.1638 and 0.4469 for Chicago).
    Columns ``mean``, ``max``, ``at`` (the coverage of the maximum).
    """
    p = metrics[metrics["metric"] == "precision"]
    means = p.groupby(["model", "coverage", "group"], observed=True)["value"].mean().unstack("group")
    if means.shape[1] != 2:
        raise ValueError("precision of exactly two groups is needed")
    gap = (means.iloc[:, 0] - means.iloc[:, 1]).abs().dropna()
    rows = {}
    for model, g in gap.groupby(level="model", observed=True):
        g = g.droplevel("model")
        rows[str(model)] = {"mean": float(g.mean()), "max": float(g.max()), "at": float(g.idxmax())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    top = out["max"].idxmax()
    out.loc["all"] = [out["mean"].mean(), out.loc[top, "max"], out.loc[top, "at"]]
    return out


def evaluate(
    config: EvaluateConfig,
    *,
    incidents: Incidents | StudyInputs | None = None,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> EvaluationResult:
    """Run the rolling evaluation of ``config`` (see the module docstring)."""
    t0 = time.perf_counter()
    loaded = load_evaluation_data(config) if incidents is None else incidents
    inc = loaded.incidents if isinstance(loaded, StudyInputs) else loaded
    frame = inc.frame[["time", "x", "y"]]
    check_period(config, frame["time"])
    grid = evaluation_grid(config, inc.areas)
    if config.grid.groups == "reference":
        grid = with_reference_groups(grid, _reference(grid.name))
    dates, low, notes = evaluation_days(config, frame["time"])
    longest = max(float(config.model(name).window_days) for name in config.algorithms)
    used = frame.loc[
        (
            (frame["time"] >= dates[0] - pd.Timedelta(days=longest))
            & (frame["time"] < dates[-1] + pd.Timedelta(days=1))
        ).to_numpy()
    ]
    observed, outside = observed_counts(used, grid, dates)
    coverages = config.coverage.levels()
    threads = threads or min(2, os.cpu_count() or 1)
    seconds = {"load": time.perf_counter() - t0}
    predictions, diagnostics, tables = {}, [], []
    for name in config.algorithms:
        t1 = time.perf_counter()
        pred, diag = forecast(config.model(name), used, grid, dates, progress)
        t2 = time.perf_counter()
        blocks = day_metrics(pred, observed, grid, coverages, threads, config.metrics)
        tables.append(long_metrics(name, dates, coverages, blocks))
        seconds[f"{name}_forecast"] = t2 - t1
        seconds[f"{name}_metrics"] = time.perf_counter() - t2
        predictions[name] = pred
        diag.insert(0, "model", name)
        diagnostics.append(diag)
    metrics = pd.concat(tables, ignore_index=True)
    diag = pd.concat(diagnostics, ignore_index=True)
    for name in DIAGNOSTICS:
        if name not in diag:
            diag[name] = np.nan
    diag["converged"] = diag["converged"].astype("boolean")
    diag["n_iter"] = diag["n_iter"].astype("Int64")
    for col in ("model", "group", "metric"):
        metrics[col] = metrics[col].astype("category")
    info: dict[str, Any] = {
        "grid": grid.summary(),
        "incidents_in_period": int(observed.sum()),
        "incidents_outside_grid": outside,
        "days_without_crime": int((observed.sum(axis=1) == 0).sum()),
        "days_without_crime_per_group": {
            g: int((observed[:, m].sum(axis=1) == 0).sum())
            for g, m in zip(grid.group_pair, grid.group_masks(), strict=True)
        },
        "data_report": inc.cleaning.to_dict(),
        "days_evaluated": len(dates),
        "days_excluded": sorted(str(d) for d in config.excluded() if config.start <= d < config.end),
        "low_count_days": [
            {"date": f"{r.date:%Y-%m-%d}", "count": int(r.count), "expected": float(r.expected)}
            for r in low.itertuples()
        ],
        "warnings": notes,
    }
    if grid.name in reference_grid_names():
        try:
            info["reference_grid"] = compare_with_reference(grid, _reference(grid.name)).to_dict()
        except DataError as err:  # another cell size or origin: not comparable cell by cell
            info["reference_grid"] = f"not compared: {err}"
    seconds["total"] = time.perf_counter() - t0
    return EvaluationResult(
        config=config,
        grid=grid,
        dates=dates,
        coverages=coverages,
        predictions=predictions,
        observed=observed,
        metrics=metrics,
        diagnostics=diag,
        info=info,
        seconds=seconds,
        inputs=loaded.files if isinstance(loaded, StudyInputs) else [],
    )
