"""Running one sweep cell, in whatever process runs it (a local worker process or a Dask worker).

The cell runs :func:`fairpatrol.sim.study.run_study` and returns its tables as Parquet bytes (the same
tables as ``fairpatrol run``, plus one constant column per swept parameter), so the process that owns the
results directory writes them: workers need no shared file system, and every write goes through one
place (:mod:`fairpatrol.sweep.store`). Errors become a failed :class:`CellOutcome`, never an exception.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

#: Tables written per cell, in writing order (``areas``: the cell's areas as GeoParquet).
TABLES = (
    "metrics",
    "summary",
    "allocations",
    "groups",
    "group_summary",
    "horizon",
    "group_horizon",
    "area_horizon",
    "areas",
)

_INCIDENTS: dict[str, Any] = {}
_CACHE_SIZE = 4


@dataclass(frozen=True)
class CellTask:
    """What a worker needs to run one cell (plain data: it travels by pickle)."""

    cell_id: str
    slug: str
    config: dict[str, Any]
    columns: dict[str, Any]
    allocations: bool = True
    base_dir: str | None = None  # the folder relative input paths of ``config`` are relative to


@dataclass
class CellOutcome:
    """A finished cell's tables (Parquet bytes) and config document, or its error."""

    cell_id: str
    ok: bool
    tables: dict[str, bytes] = field(default_factory=dict)
    config_yaml: str = ""
    seconds: float = 0.0
    error: str = ""
    traceback: str = ""


def _incidents(config: Any) -> Any:
    """The cell's areas and incidents (:class:`fairpatrol.data.StudyInputs`), cached per worker process by
    data settings and folder (loading costs ≈0.2 s)."""
    from fairpatrol.sim.study import load_study_data

    key = json.dumps([config.data.model_dump(mode="json"), str(config.base_dir)], sort_keys=True)
    if key not in _INCIDENTS:
        if len(_INCIDENTS) >= _CACHE_SIZE:
            _INCIDENTS.pop(next(iter(_INCIDENTS)))
        _INCIDENTS[key] = load_study_data(config)
    return _INCIDENTS[key]


def with_columns(table: Any, columns: dict[str, Any]) -> Any:
    """``table`` plus one constant column per swept parameter (strings dictionary-encoded)."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    for name, value in columns.items():
        if isinstance(value, str):
            arr = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value]))
        elif isinstance(value, bool):
            arr = pa.array(np.full(n, value, dtype=np.bool_))
        elif isinstance(value, int):
            arr = pa.array(np.full(n, value, dtype=np.int64))
        else:
            arr = pa.array(np.full(n, float(value), dtype=np.float64))
        table = table.append_column(name, arr)
    return table


def _parquet_bytes(table: Any, level: int | None = None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=level)
    return sink.getvalue().to_pybytes()


def cell_tables(
    result: Any,
    columns: dict[str, Any],
    allocations: bool = True,
) -> dict[str, Any]:
    """The tidy tables of ``fairpatrol run`` (see :mod:`fairpatrol.results`) with the swept columns."""
    import pyarrow as pa

    from fairpatrol.results import (
        allocations_table,
        area_horizon_table,
        group_horizon_table,
        group_summary_frame,
        groups_table,
        horizon_table,
        metrics_table,
        summary_frame,
    )

    tables = {
        "metrics": metrics_table(result),
        "summary": pa.Table.from_pandas(summary_frame(result), preserve_index=False),
        "groups": groups_table(result),
        "group_summary": pa.Table.from_pandas(group_summary_frame(result), preserve_index=False),
        "horizon": horizon_table(result),
        "group_horizon": group_horizon_table(result),
        "area_horizon": area_horizon_table(result),
    }
    if allocations:
        tables["allocations"] = allocations_table(result)
    # every study's tables share one schema (results.py lists every model's diagnostics, NaN where they do
    # not apply), so a glob over all cells' Parquet files reads as one table
    return {name: with_columns(t, columns) for name, t in tables.items()}


def run_cell(task: CellTask) -> CellOutcome:
    """Simulate one cell and return its tables; any error is returned as a failed outcome."""
    t0 = time.perf_counter()
    try:
        import yaml

        from fairpatrol.config import parse_scenario
        from fairpatrol.results import config_document
        from fairpatrol.sim.study import run_study

        config = parse_scenario(task.config, source=f"cell {task.cell_id}", base_dir=task.base_dir)
        result = run_study(config, incidents=_incidents(config))
        tables = cell_tables(result, task.columns, task.allocations)
        blobs = {
            name: _parquet_bytes(table, level=1 if name == "allocations" else None)
            for name, table in tables.items()
        }
        blobs["areas"] = _parquet_bytes(result.areas.to_arrow())  # GeoParquet
        doc = config_document(result)
        doc["sweep"] = {"cell": task.cell_id, "slug": task.slug, "columns": task.columns}
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        return CellOutcome(task.cell_id, True, blobs, text, time.perf_counter() - t0)
    except Exception as err:  # every failure of a cell is recorded; the sweep goes on
        message = " ".join(str(err).split()) or type(err).__name__
        return CellOutcome(
            task.cell_id,
            False,
            seconds=time.perf_counter() - t0,
            error=f"{type(err).__name__}: {message}",
            traceback=traceback.format_exc(),
        )


def fairpatrol_version() -> str:
    """The fairpatrol version importable in this process (asked of Dask workers before submitting)."""
    import fairpatrol

    return fairpatrol.__version__
