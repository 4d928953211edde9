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

#: Tables written per cell, in writing order.
TABLES = ("metrics", "summary", "allocations")

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
    schemas: dict[str, Any] | None = None  # table -> pyarrow schema every cell's table is conformed to


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
    """The cell's incidents, cached per worker process by data settings (loading costs ≈0.2 s)."""
    from fairpatrol.sim.study import load_study_incidents

    key = json.dumps(config.data.model_dump(mode="json"), sort_keys=True)
    if key not in _INCIDENTS:
        if len(_INCIDENTS) >= _CACHE_SIZE:
            _INCIDENTS.pop(next(iter(_INCIDENTS)))
        _INCIDENTS[key] = load_study_incidents(config)
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


def conform(table: Any, schema: Any) -> Any:
    """``table`` with the columns of ``schema`` in its order (missing ones NaN or null), extras after.

    Cells of different algorithms produce different model-diagnostic columns (PredPol's θ, ω…); conforming
    every cell to one schema keeps a plain ``select … from 'DIR/metrics/**/*.parquet'`` working, with
    NaN where a diagnostic does not apply, exactly as in the single table of ``fairpatrol run``.
    """
    import numpy as np
    import pyarrow as pa

    if schema is None:
        return table
    n = table.num_rows
    arrays, names = [], []
    for f in schema:
        if f.name in table.column_names:
            arrays.append(table.column(f.name))
        elif pa.types.is_floating(f.type):
            arrays.append(pa.array(np.full(n, np.nan), type=f.type))
        else:
            arrays.append(pa.nulls(n, f.type))
        names.append(f.name)
    for name in table.column_names:
        if name not in schema.names:
            arrays.append(table.column(name))
            names.append(name)
    return pa.table(arrays, names=names)


def cell_tables(
    result: Any,
    columns: dict[str, Any],
    allocations: bool = True,
    schemas: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The tidy tables of ``fairpatrol run`` (see :mod:`fairpatrol.results`) with the swept columns."""
    import pyarrow as pa

    from fairpatrol.results import allocations_table, metrics_table, summary_frame

    tables = {
        "metrics": metrics_table(result),
        "summary": pa.Table.from_pandas(summary_frame(result), preserve_index=False),
    }
    if allocations:
        tables["allocations"] = allocations_table(result)
    schemas = schemas or {}
    return {name: with_columns(conform(t, schemas.get(name)), columns) for name, t in tables.items()}


def reference_schemas(configs: list[Any]) -> dict[str, Any] | None:
    """Schemas every cell's tables are conformed to, when cells differ in algorithms or remedies.

    Found by a probe: a one-day, one-run study of the union of the cells' algorithms and remedies (≈1 s),
    which has every model-diagnostic and remedy column any cell can produce. None when all cells share
    their algorithms and remedies (their schemas agree by construction) or when no probe can run.
    """
    from fairpatrol.sim.study import run_study

    keys = {(tuple(c.algorithms), tuple(c.remedies)) for c in configs}
    if len(keys) <= 1:
        return None
    algorithms = list(dict.fromkeys(a for c in configs for a in c.algorithms))
    remedies = {name: r for c in configs for name, r in c.remedies.items()}
    for config in configs:
        probe = config.model_copy(
            update={
                "algorithms": algorithms,
                "remedies": remedies,
                "days": 1,
                "runs": 1,
                "officers": config.officers[:1],
                "report_probs": config.report_probs[:1],
            }
        )
        try:
            result = run_study(probe)
        except Exception:  # this cell's data cannot run (its error is recorded when it runs): try another
            continue
        return {name: t.schema for name, t in cell_tables(result, {}).items()}
    return None


def run_cell(task: CellTask) -> CellOutcome:
    """Simulate one cell and return its tables; any error is returned as a failed outcome."""
    t0 = time.perf_counter()
    try:
        import yaml

        from fairpatrol.config import parse_scenario
        from fairpatrol.results import config_document
        from fairpatrol.sim.study import run_study

        config = parse_scenario(task.config, source=f"cell {task.cell_id}")
        result = run_study(config, incidents=_incidents(config))
        tables = cell_tables(result, task.columns, task.allocations, task.schemas)
        blobs = {
            name: _parquet_bytes(table, level=1 if name == "allocations" else None)
            for name, table in tables.items()
        }
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
