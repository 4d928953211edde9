"""The results directory of ``fairpatrol evaluate``: written atomically by :func:`write_evaluation` (a
temporary directory, then a rename), read by :func:`read_evaluation`.

Layout of ``DIR``:

* ``metrics.parquet``: one row per (model, date, coverage, group, metric) with ``value``
  (:mod:`fairpatrol.grid.evaluate`; ``coverage`` is NaN for the EMD, ``group`` is a group name,
  ``overall`` or ``between``);
* ``summary.csv``: per (model, metric, group, coverage) the mean over days, a 95 % t-interval of the mean
  (``ci_low``, ``ci_high``), the 2.5 % and 97.5 % quantiles of the daily values (``q_low``, ``q_high``),
  the number of days with a value and without one;
* ``predictions.parquet``: one row per (model, date, cell_id) with the forecast ``predicted`` (expected
  incidents) and the ``observed`` incidents;
* ``diagnostics.parquet``: one row per (model, date): training events, bandwidth and, for SEPP, θ, ω, σ,
  μ̄, EM iterations, convergence and log-likelihood;
* ``areas.parquet``: the grid as GeoParquet (:meth:`fairpatrol.data.Areas.write_parquet`): the cell id
  (``area_id``, the ``cell_id`` of the other tables), lattice position, centre, area inside the city,
  covering area (``parent_id``) and group, the square, and the lattice in the file's metadata;
* ``evaluate.yaml``: the resolved config (input files relative to the config file, with their SHA-256),
  the models' parameters, the grid and its comparison with the bundled reference grid, data counts, days
  without crime, days evaluated, low-count days and ``warnings``, timings and software versions;
* ``coverage_curves.png``, ``emd.png``, ``map.png``: the figures of :mod:`fairpatrol.grid.plots`.

Evaluations written before results carried their areas hold ``cells.parquet`` instead of ``areas.parquet``;
:func:`read_evaluation` reads either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import yaml

from fairpatrol.atomic import atomic_directory
from fairpatrol.data import Areas, read_areas_parquet
from fairpatrol.errors import DataError
from fairpatrol.grid.evaluate import EvaluationResult, metric_docs, summarise
from fairpatrol.results.documents import read_yaml, require_files

#: The files without which a directory is not a complete evaluation.
EVALUATION_FILES = ("evaluate.yaml", "summary.csv", "metrics.parquet", "predictions.parquet")


def write_predictions(result: EvaluationResult, path: Path) -> None:
    """``predictions.parquet``: one row per (model, date, cell_id) with ``predicted`` and ``observed``,
    written model by model (a 150 m city grid has 10 million rows per model and year)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fairpatrol.keys import dictionary

    n_d, n_c = result.observed.shape
    names = list(result.predictions)
    date = pa.array(np.repeat(result.dates.to_numpy(), n_c))
    cell = dictionary([str(c) for c in result.grid.ids], np.tile(np.arange(n_c), n_d))
    observed = pa.array(result.observed.ravel().astype(np.int32))
    writer = None
    try:
        for k, pred in enumerate(result.predictions.values()):
            table = pa.table(
                {
                    "model": dictionary(names, np.full(n_d * n_c, k)),
                    "date": date,
                    "cell_id": cell,
                    "predicted": pa.array(pred.ravel()),
                    "observed": observed,
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=1 << 20)
    finally:
        if writer is not None:
            writer.close()


def evaluate_document(result: EvaluationResult, results_dir: str | Path | None = None) -> dict[str, Any]:
    """The resolved config and everything needed to read and reproduce the results."""
    from fairpatrol.results.documents import input_section, relative_config, versions

    cfg = result.config
    doc = relative_config(cfg)
    doc["resolved"] = {
        "models": {name: cfg.model(name).get_params() for name in cfg.algorithms},
        "dates": [str(result.dates[0].date()), str(result.dates[-1].date())],
        "coverage_levels": len(result.coverages),
        "groups": result.grid.summary(),
        "metrics": metric_docs(cfg.metrics),
        "days_evaluated": result.info.get("days_evaluated", len(result.dates)),
        "zero_crime_days": "metrics dividing by the day's crimes (PF, hit rate, PAI, EMD) are NaN on a day "
        "without crime in the grid, a group's EMD on a day without crime in the group; left out of means",
    }
    doc["grid"] = result.info.get("grid")
    doc["reference_grid"] = result.info.get("reference_grid")
    doc["counts"] = {
        k: result.info[k]
        for k in (
            "incidents_in_period",
            "incidents_outside_grid",
            "days_without_crime",
            "days_without_crime_per_group",
        )
    }
    doc["low_count_days"] = result.info.get("low_count_days", [])
    doc["warnings"] = result.info.get("warnings", [])
    doc["data_report"] = result.info.get("data_report")
    doc["inputs"] = input_section(cfg, result.inputs, results_dir)
    doc["versions"] = versions()
    doc["seconds"] = {k: round(v, 3) for k, v in result.seconds.items()}
    return doc


def write_evaluation(result: EvaluationResult, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write every table, the config and the figures of ``result`` to ``out`` (atomically)."""
    from fairpatrol.grid import plots

    out = Path(out)
    summary = summarise(result.metrics)
    with atomic_directory(out, kind="evaluate", overwrite=overwrite) as tmp:
        result.metrics.to_parquet(tmp / "metrics.parquet", compression="zstd", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        write_predictions(result, tmp / "predictions.parquet")
        result.diagnostics.to_parquet(tmp / "diagnostics.parquet", compression="zstd", index=False)
        result.grid.write_parquet(tmp / "areas.parquet")
        with open(tmp / "evaluate.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(_plain(evaluate_document(result, out)), fh, sort_keys=False, allow_unicode=True)
        settings = result.config.metrics
        plots.coverage_curves(summary, result.grid.group_pair, tmp / "coverage_curves.png", settings.gini)
        plots.emd_distributions(result.metrics, result.grid.group_pair, tmp / "emd.png", settings.emd)
        day = pd.Timestamp(result.config.map_day or result.dates[0])
        k = int(result.dates.get_indexer([day], method="nearest")[0])  # a low-count map day: nearest
        day = result.dates[k]
        plots.day_map(
            result.grid,
            {name: pred[k] for name, pred in result.predictions.items()},
            result.observed[k],
            day,
            tmp / "map.png",
        )
    return out


def _plain(value: Any) -> Any:
    """numpy scalars and containers as plain YAML-able Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- reading ------------------------------------------------------------------------------------------------


@dataclass
class EvaluationResults:
    """A ``fairpatrol evaluate`` results directory: its document, tables and grid (read by
    :func:`read_evaluation`)."""

    path: Path
    document: dict[str, Any]
    summary: pd.DataFrame
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    diagnostics: pd.DataFrame | None
    areas: Areas  # the grid cells as areas (polygons, groups), for maps and hover

    kind = "evaluate"

    @property
    def models(self) -> list[str]:
        present = set(self.summary["model"].astype(str))
        return [m for m in self.document.get("algorithms", sorted(present)) if m in present]

    @property
    def group_pair(self) -> tuple[str, str]:
        return self.areas.group_pair

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(sorted(pd.to_datetime(self.predictions["date"].unique())))


def read_evaluation(path: str | Path) -> EvaluationResults:
    """Read a ``fairpatrol evaluate`` directory (every table but the figures)."""
    p = Path(path)
    require_files(p, EVALUATION_FILES, "evaluate")
    document = read_yaml(p / "evaluate.yaml")
    areas = (
        read_areas_parquet(p / "areas.parquet")
        if (p / "areas.parquet").is_file()
        else _old_cells(p, document)
    )
    diag = pd.read_parquet(p / "diagnostics.parquet") if (p / "diagnostics.parquet").is_file() else None
    predictions = pd.read_parquet(p / "predictions.parquet")
    predictions["cell_id"] = predictions["cell_id"].astype(str)
    predictions["model"] = predictions["model"].astype(str)
    summary = pd.read_csv(p / "summary.csv")
    metrics = pd.read_parquet(p / "metrics.parquet")
    return EvaluationResults(p, document, summary, metrics, predictions, diag, areas)


def _old_cells(p: Path, document: dict[str, Any]) -> Areas:
    """The grid of an evaluation written before results carried their areas (``cells.parquet``)."""
    if not (p / "cells.parquet").is_file():
        raise DataError(
            "missing areas.parquet: not a complete results directory of fairpatrol evaluate", source=str(p)
        )
    groups = document.get("resolved", {}).get("groups", {})
    pair = (str(groups.get("group_1", "group 1")), str(groups.get("group_2", "group 2")))
    cells = pd.read_parquet(p / "cells.parquet")
    frame = pd.DataFrame(
        {
            "area_id": cells["cell_id"].astype(str),
            "name": [f"cell {c} ({a})" for c, a in zip(cells["cell_id"], cells["area_id"], strict=True)],
            "group": cells["group"].astype(str),
            "area_m2": cells["area_m2"].astype(float),
        }
    )
    return Areas(
        name=str(document.get("data", {}).get("city", "")),
        crs=str(document.get("grid", {}).get("crs", "")),
        frame=frame,
        geometry=shapely.from_wkb(cells["geometry"].to_numpy()),
        group_pair=pair,
    )
