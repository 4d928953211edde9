"""The results directory of ``fairpatrol run``: written by :func:`write_study`, read by :func:`read_run`.

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
allocation rows are written while the study runs, the other tables (:mod:`fairpatrol.results.tables`)
after it.

:func:`read_run` reads it back as a :class:`RunResults` (as does
:func:`fairpatrol.results.sweep.read_sweep_cell` for one cell of a sweep). The allocation table of a full
study has millions of rows; it is never read whole: :class:`RunResults` answers the few aggregate questions
the report asks with DuckDB queries, treating a missing (run, date, area) as zeros, so it gives the same
answer on a table of nonzero rows or on one of every row (results written before nonzero rows). The areas
come from the directory (``areas.parquet``), never from the inputs; directories written before results
carried their areas are read with the bundled city's areas when the study was on a bundled city, and
refused with one line otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from fairpatrol.atomic import atomic_directory
from fairpatrol.config import ScenarioConfig, parse_scenario
from fairpatrol.data import Areas, read_areas_parquet
from fairpatrol.errors import DataError
from fairpatrol.results.documents import input_section, read_yaml, relative_config, require_files, versions
from fairpatrol.results.query import query
from fairpatrol.results.tables import (
    area_horizon_table,
    fit_problem_counts,
    group_horizon_table,
    group_summary_frame,
    groups_table,
    horizon_table,
    metrics_table,
    remedy_effects_frame,
    summary_frame,
)

if TYPE_CHECKING:  # the reader does not import the simulation
    from fairpatrol.sim.layout import StudySink
    from fairpatrol.sim.study import StudyResult

# -- writing ------------------------------------------------------------------------------------------------


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
    tables = {
        "metrics": metrics_table,
        "groups": groups_table,
        "horizon": horizon_table,
        "group_horizon": group_horizon_table,
        "area_horizon": area_horizon_table,
    }
    # the Parquet files are compressed and written by a second thread (pyarrow releases the GIL) while
    # this one computes the summaries; each file is written whole by one thread, as in sequence
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairpatrol-tables") as pool:
        jobs = [
            pool.submit(pq.write_table, make(res), folder / f"{name}.parquet", compression="zstd")
            for name, make in tables.items()
        ]
        summary_frame(res).to_csv(folder / "summary.csv", index=False)
        group_summary_frame(res).to_csv(folder / "group_summary.csv", index=False)
        effects = remedy_effects_frame(res)
        if not effects.empty:
            effects.to_csv(folder / "remedy_effects.csv", index=False)
        for job in jobs:
            job.result()  # an error of a write is raised here (the directory is then not completed)


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
    workers: int | None = None,
) -> StudyResult:
    """Run ``config``'s study (:func:`fairpatrol.sim.study.run_study`) and write its results directory.

    The directory is written atomically (a temporary directory, renamed when complete); the allocation
    rows go to ``allocations.parquet`` while the study runs, in chunks, so memory stays bounded by
    runs × areas whatever the horizon (:mod:`fairpatrol.allocations`). ``sinks`` receive the days too;
    ``workers`` as in :func:`~fairpatrol.sim.study.run_study`.
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
                workers=workers,
            )
        write_tables(res, tmp, out)
        doc = config_document(res, out)
        doc["resolved"]["allocations"] = allocations_section(writer)
        with open(tmp / "config.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False, allow_unicode=True)
    return res


# -- reading ------------------------------------------------------------------------------------------------

RUN_FILES = ("config.yaml", "metrics.parquet", "summary.csv", "allocations.parquet")
SUMMARY_COLUMNS = ("scenario", "algorithm", "n_officers", "report_prob", "metric", "statistic", "mean")


def scenario_from_document(
    document: dict[str, Any], source: str, base_dir: Path | None = None
) -> ScenarioConfig:
    """The scenario config inside a ``config.yaml`` written by ``fairpatrol run`` (extra sections ignored);
    its input paths are relative to ``base_dir``."""
    keys = set(ScenarioConfig.model_fields)
    return parse_scenario({k: v for k, v in document.items() if k in keys}, source=source, base_dir=base_dir)


def scenario_dir(document: dict[str, Any], results_dir: Path) -> Path | None:
    """Where the study's scenario folder is (``inputs.scenario_dir``, relative to the results directory)."""
    rel = (document.get("inputs") or {}).get("scenario_dir")
    return None if rel is None else (results_dir / rel)


def read_areas(path: Path, config: ScenarioConfig, source: Path) -> Areas:
    """The areas of a results directory (``areas.parquet``); for results written before they carried
    their areas, the bundled city's areas, or a one-line error."""
    if path.is_file():
        return read_areas_parquet(path)
    from fairpatrol.data.cities import is_city
    from fairpatrol.data.inputs import pack_areas

    data = config.data
    if data.areas is None and is_city(data.city):
        return pack_areas(
            str(data.city), group_rule=data.groups or data.group_rule, group_pair=data.group_pair
        )
    raise DataError(
        "no areas.parquet: these results were written before results carried their areas and are not of a "
        "bundled city; run the study again to report on it",
        source=str(source),
    )


def scenario_label(
    n_officers: int, report_prob: float, reporting: str | None = None, remedy: str = "none"
) -> str:
    """A world setting in words, e.g. '400 officers, 40% of crimes reported'."""
    from fairpatrol.formatting import NBSP, number

    pct = f"{number(100 * report_prob, 3)}{NBSP}%"
    if reporting is not None and not _is_number(reporting):
        rep = f"reporting by model {reporting} (on average {pct} of crimes reported)"
    elif report_prob == 0:
        rep = "no crime reported by residents"
    else:
        rep = f"{pct} of crimes reported"
    text = f"{int(n_officers)} officers, {rep}"
    return text if remedy in (None, "none") else f"{text}, remedy '{remedy}'"


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


@dataclass
class RunResults:
    """A ``fairpatrol run`` results directory: config, summary, daily metrics, areas, allocation queries."""

    path: Path
    document: dict[str, Any]
    config: ScenarioConfig
    areas: Areas
    summary: pd.DataFrame
    metrics: pd.DataFrame
    cells: pd.DataFrame  # one row per (scenario, algorithm): n_officers, report_prob, in study order
    allocations_path: Path
    config_path: Path
    label: str = ""  # e.g. "cell X of sweep Y" for a sweep cell
    group_summary: pd.DataFrame | None = None  # group_summary.csv (None for older results)
    area_horizon_path: Path | None = None  # area_horizon.parquet (None for older results)
    horizon_path: Path | None = None  # horizon.parquet (None for older results)

    kind = "run"

    # -- shape of the study --------------------------------------------------------------------------------
    @property
    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(self.cells["scenario"]))

    @property
    def algorithms(self) -> list[str]:
        present = set(self.cells["algorithm"])
        return [a for a in self.config.algorithms if a in present]

    @property
    def group_pair(self) -> tuple[str, str]:
        return self.areas.group_pair

    @functools.cached_property
    def dates(self) -> pd.DatetimeIndex:
        """The simulated days, in order."""
        return pd.DatetimeIndex(sorted(pd.to_datetime(self.metrics["date"].unique())))

    @property
    def runs(self) -> list[int]:
        """The simulated runs (metrics of run-averaged counts are labelled run −1; runs are then 0..R−1)."""
        runs = sorted(int(r) for r in self.metrics["run"].unique())
        return list(range(self.config.runs)) if runs == [-1] else runs

    @functools.cached_property
    def _settings(self) -> dict[str, dict[str, Any]]:
        first = self.cells.drop_duplicates("scenario")
        return {r["scenario"]: r for r in first.to_dict("records")}

    def scenario_label(self, scenario: str) -> str:
        row = self._settings[scenario]
        return scenario_label(
            int(row["n_officers"]),
            float(row["report_prob"]),
            row.get("reporting"),
            row.get("remedy", "none"),
        )

    def short_label(self, scenario: str) -> str:
        """Compact label for axes, e.g. 'N = 400, r = 0.4'."""
        row = self._settings[scenario]
        rep = row.get("reporting")
        rep = f"{float(row['report_prob']):g}" if rep is None or _is_number(rep) else str(rep)
        remedy = row.get("remedy", "none")
        text = f"N = {int(row['n_officers'])}, r = {rep}"
        return text if remedy in (None, "none") else f"{text}, {remedy}"

    @property
    def crime_label(self) -> str:
        """What crimes the study replays, for legends."""
        types, incidents = self.config.data.crime_types, self.config.data.incidents
        if types:
            return ", ".join(types)
        return incidents if isinstance(incidents, str) else Path(incidents.file).name

    # -- aggregate queries on the allocation table ---------------------------------------------------------
    def _query(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return query(
            sql.replace("ALLOC", "read_parquet($path)"),
            {"path": str(self.allocations_path), **(params or {})},
        )

    def officers_on(self, days: list[pd.Timestamp], scenario: str) -> pd.DataFrame:
        """Mean over runs of officers per (algorithm, date, area_id) of ``scenario`` on ``days`` (a sum
        divided by the number of runs, so that a table holding only nonzero rows gives the same means;
        areas without any row are absent: callers fill zeros)."""
        day_list = ", ".join(f"DATE '{pd.Timestamp(d):%Y-%m-%d}'" for d in days)
        df = self._query(
            "select algorithm, date, area_id, sum(officers)::DOUBLE / $runs as officers, "
            "sum(crimes)::DOUBLE / $runs as crimes from ALLOC "
            f"where scenario = $scenario and date in ({day_list}) group by all",
            {"scenario": scenario, "runs": len(self.runs)},
        )
        df["date"] = pd.to_datetime(df["date"])
        return df

    @functools.cached_property
    def horizon_totals(self) -> pd.DataFrame:
        """Per (scenario, algorithm, run, area_id) the sums over the horizon of officers, crimes, found;
        an (scenario, algorithm, run, area_id) missing here had only zeros."""
        return self._query(
            "select scenario, algorithm, run, area_id, sum(officers)::DOUBLE as officers, "
            "sum(crimes)::DOUBLE as crimes, sum(detected)::DOUBLE as detected, "
            "sum(reported)::DOUBLE as reported from ALLOC group by all"
        )

    @functools.cached_property
    def area_totals(self) -> pd.DataFrame:
        """Per (scenario, algorithm, run, area_id): ``patrol_days``, ``true_crimes``, ``detected_crimes``
        over the horizon, from ``area_horizon.parquet`` (results written before it existed: summed from
        the allocation table). Areas may be missing (a sparse table): :meth:`area_arrays` fills zeros."""
        cols = ["scenario", "algorithm", "run", "area_id", "patrol_days", "true_crimes", "detected_crimes"]
        path = self.area_horizon_path
        if path is not None and path.exists():
            frame = pd.read_parquet(path, columns=cols)
        else:
            frame = self.horizon_totals.rename(
                columns={"officers": "patrol_days", "crimes": "true_crimes", "detected": "detected_crimes"}
            )[cols]
        for col in ("scenario", "algorithm", "area_id"):
            frame[col] = frame[col].astype(str)
        return frame

    def area_arrays(self, scenario: str, algorithm: str) -> dict[str, np.ndarray]:
        """runs × areas arrays of ``patrol_days``, ``true_crimes``, ``detected_crimes`` of one cell (areas
        in :attr:`areas` order, zero where the table has no row)."""
        t = self.area_totals
        t = t[(t["scenario"] == scenario) & (t["algorithm"] == algorithm)]
        runs = sorted(t["run"].unique())
        row = np.searchsorted(runs, t["run"].to_numpy())
        col = self.areas.index_of(t["area_id"], source=str(self.path))
        out = {}
        for name in ("patrol_days", "true_crimes", "detected_crimes"):
            arr = np.zeros((len(runs), self.areas.n))
            arr[row, col] = t[name].to_numpy(dtype=float)
            out[name] = arr
        return out

    @functools.cached_property
    def crimes_vary(self) -> bool:
        """Whether runs saw different crimes (world effects such as deterrence thin each run's crimes).

        An area's horizon crimes vary when two runs have different totals, counting a run without a row
        for the area as 0."""
        tot = self.horizon_totals
        if tot.empty:
            return False
        n_runs = len(tot[["scenario", "algorithm", "run"]].drop_duplicates())
        per_area = tot.groupby("area_id", observed=True)["crimes"].agg(["min", "max", "size"])
        some_zero = (per_area["size"] < n_runs) & (per_area["max"] > 0)
        return bool(((per_area["max"] > per_area["min"]) | some_zero).any())

    def run_table(self, scenario: str, algorithm: str, run: int, column: str) -> np.ndarray:
        """Days × areas matrix of ``column`` (officers, crimes, detected, reported) of one run."""
        if column not in ("officers", "crimes", "detected", "reported"):
            raise ValueError(f"unknown allocation column {column!r}")
        df = self._query(
            f"select date, area_id, {column} as v from ALLOC "
            "where scenario = $scenario and algorithm = $algorithm and run = $run",
            {"scenario": scenario, "algorithm": algorithm, "run": int(run)},
        )
        if df.empty:
            raise DataError(
                f"no rows for scenario {scenario!r}, algorithm {algorithm!r}, run {run}",
                source=str(self.allocations_path),
            )
        day = (pd.to_datetime(df["date"]) - self.dates[0]).dt.days.to_numpy()
        area = self.areas.index_of(df["area_id"], source=str(self.allocations_path))
        out = np.zeros((len(self.dates), self.areas.n), dtype=np.int64)
        out[day, area] = df["v"].to_numpy()
        return out

    @functools.cached_property
    def crimes_by_day(self) -> np.ndarray:
        """True crimes per (horizon day, area): the same in every cell and run, read from the first one."""
        cell = self.cells.iloc[0]
        return self.run_table(cell["scenario"], cell["algorithm"], self.runs[0], "crimes")

    @functools.cached_property
    def _levels(self) -> dict[tuple[str, str], pd.DataFrame]:
        cols = ["scenario", "algorithm", "mean", "ci_low", "ci_high"]
        return {
            (str(m), str(st)): g[cols].reset_index(drop=True)
            for (m, st), g in self.summary.groupby(["metric", "statistic"], sort=False)
        }

    def levels(self, metric: str, statistic: str | None = None) -> pd.DataFrame:
        """summary.csv rows of one metric and statistic (default: ``horizon`` for a horizon metric, else
        ``level``): scenario, algorithm, mean, ci_low, ci_high (empty when the results lack it)."""
        if statistic is None:
            from fairpatrol.metrics.registry import REGISTRY

            m = REGISTRY.get(metric)
            statistic = "horizon" if m is not None and m.window == "horizon" else "level"
        hit = self._levels.get((metric, statistic))
        if hit is None:
            return pd.DataFrame(columns=["scenario", "algorithm", "mean", "ci_low", "ci_high"])
        return hit.copy()

    @functools.cached_property
    def _run_means(self) -> pd.DataFrame:
        numeric = [
            c for c in self.metrics.columns if c not in ("scenario", "algorithm", "run", "date", "day")
        ]
        numeric = [c for c in numeric if pd.api.types.is_numeric_dtype(self.metrics[c])]
        return self.metrics.groupby(["scenario", "algorithm", "run"], observed=True)[numeric].mean()

    @functools.cached_property
    def horizon(self) -> pd.DataFrame:
        """``horizon.parquet``: one row per (scenario, algorithm, run) of horizon metrics (empty for older
        results)."""
        if self.horizon_path is None or not self.horizon_path.exists():
            return pd.DataFrame(columns=["scenario", "algorithm", "run"])
        frame = pd.read_parquet(self.horizon_path)
        for col in ("scenario", "algorithm"):
            frame[col] = frame[col].astype(str)
        return frame

    def run_levels(self, metric: str) -> pd.DataFrame:
        """Each run's value of ``metric`` per (scenario, algorithm, run): a daily metric's mean over days,
        a horizon metric's value."""
        if metric not in self._run_means.columns and metric in self.horizon.columns:
            return self.horizon[["scenario", "algorithm", "run", metric]].rename(columns={metric: "value"})
        return self._run_means[metric].rename("value").reset_index()


def _check_columns(df: pd.DataFrame, needed: tuple[str, ...], source: Path) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}", source=str(source), field=missing[0])


def read_run(path: str | Path) -> RunResults:
    """Read a ``fairpatrol run`` directory (small tables eagerly, allocations on demand)."""
    p = Path(path)
    require_files(p, RUN_FILES, "run")
    groups = pd.read_csv(p / "group_summary.csv") if (p / "group_summary.csv").is_file() else None
    return run_results(
        p,
        p / "config.yaml",
        pd.read_csv(p / "summary.csv"),
        p / "metrics.parquet",
        p / "allocations.parquet",
        areas_path=p / "areas.parquet",
        group_summary=groups,
        area_horizon_path=p / "area_horizon.parquet",
        horizon_path=p / "horizon.parquet",
    )


def run_results(
    path: Path,
    config_path: Path,
    summary: pd.DataFrame,
    metrics_path: Path,
    allocations_path: Path,
    label: str = "",
    *,
    areas_path: Path,
    group_summary: pd.DataFrame | None = None,
    inputs_root: Path | None = None,
    area_horizon_path: Path | None = None,
    horizon_path: Path | None = None,
) -> RunResults:
    """A :class:`RunResults` from the tables of one study (a run directory or one cell of a sweep).

    ``inputs_root`` is the directory whose ``inputs.scenario_dir`` locates the study's input files (the
    sweep directory for a sweep cell; default ``path``)."""
    document = read_yaml(config_path)
    root_doc = document if inputs_root is None else read_yaml(inputs_root / "sweep.yaml")
    base_dir = scenario_dir(root_doc, inputs_root or path)
    config = scenario_from_document(document, str(config_path), base_dir)
    areas = read_areas(areas_path, config, path)
    _check_columns(summary, SUMMARY_COLUMNS, path / "summary")
    metrics = pd.read_parquet(metrics_path)
    _check_columns(metrics, ("scenario", "algorithm", "run", "date", "day", "accuracy"), metrics_path)
    metrics = metrics.drop(columns=[c for c in ("cell",) if c in metrics.columns])
    for col in ("scenario", "algorithm"):
        metrics[col] = metrics[col].astype(str)
        summary[col] = summary[col].astype(str)
    keys = ["scenario", "algorithm", "n_officers", "report_prob"]
    keys += [c for c in ("reporting", "remedy") if c in summary.columns]
    cells = summary[keys].drop_duplicates(["scenario", "algorithm"])
    if "reporting" in cells.columns:
        cells["reporting"] = cells["reporting"].astype(str)
    return RunResults(
        path,
        document,
        config,
        areas,
        summary,
        metrics,
        cells.reset_index(drop=True),
        allocations_path,
        config_path,
        label,
        group_summary,
        area_horizon_path,
        horizon_path,
    )


def table_file(path: str | Path, name: str) -> Path | None:
    """The file of table ``name`` in a run directory (``NAME.parquet``, or ``NAME.csv`` for the summaries),
    or None when the results lack it."""
    for suffix in (".parquet", ".csv"):
        file = Path(path) / f"{name}{suffix}"
        if file.is_file():
            return file
    return None


def read_table(path: str | Path, name: str) -> pd.DataFrame | None:
    """Table ``name`` of a run directory as written (``metrics``, ``groups``, ``horizon``, ``group_horizon``,
    ``area_horizon``, ``summary``, ``group_summary``), or None when the results lack it."""
    file = table_file(path, name)
    if file is None:
        return None
    return pd.read_csv(file) if file.suffix == ".csv" else pd.read_parquet(file)


def query_table(path: str | Path, sql: str, table: str) -> pd.DataFrame:
    """The result of DuckDB ``sql`` whose ``{src}`` reads ``table`` of a run directory."""
    return query(sql.replace("{src}", "read_parquet($1)"), [str(Path(path) / f"{table}.parquet")])
