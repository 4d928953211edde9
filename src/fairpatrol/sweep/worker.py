"""Running one sweep cell, in whatever process runs it (a local worker process or a Dask worker).

The cell runs :func:`fairpatrol.sim.study.run_study` and returns its tables as Parquet bytes (the same
tables as ``fairpatrol run``, plus one constant column per swept parameter), so the process that owns the
results directory writes them: workers need no shared file system, and every write goes through one
place (:mod:`fairpatrol.sweep.store`). Errors become a failed :class:`CellOutcome`, never an exception.

Input files travel with the cell: on a Dask cluster, every file of the user's that a cell's config names
(:func:`input_files`: the incident export, a reporting-rate CSV, an areas file with its sidecar files) is
sent to the workers as bytes (:func:`read_inputs`), written once per worker into a cache folder named by
its content hash (:func:`materialise`), and the cell runs on that copy. The cell's recorded config keeps
the user's original paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
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


def cell_tables(
    result: Any,
    columns: dict[str, Any],
    allocations: bool = True,
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
    # every study's tables share one schema (results.py lists every model's diagnostics, NaN where they do
    # not apply), so a glob over all cells' Parquet files reads as one table
    return {name: with_columns(t, columns) for name, t in tables.items()}


#: Keys of a scenario whose values are never file paths (free text).
_TEXT_KEYS = {"name", "description"}
#: Sidecar files that travel with a file of the same stem (a shapefile is several files).
_SIDECARS = {".shp": (".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix")}


def _strings(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in _TEXT_KEYS for s in _strings(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, key)]
    return [value] if isinstance(value, str) else []


def input_files(config: dict[str, Any]) -> list[str]:
    """The user's files a cell's config names: every string value that is an absolute path to a file."""
    out = []
    for text in _strings(config):
        if os.path.isabs(text) and os.path.isfile(text) and text not in out:
            out.append(text)
    return out


def read_inputs(path: str) -> dict[str, bytes]:
    """The bytes of ``path`` and of its sidecar files, by file name (what travels to a worker)."""
    p = Path(path)
    names = [p] + [p.with_suffix(ext) for ext in _SIDECARS.get(p.suffix.lower(), ())]
    return {q.name: q.read_bytes() for q in names if q.is_file()}


def materialise(path: str, files: dict[str, bytes]) -> str:
    """Write shipped ``files`` once into this machine's cache (a folder named by their SHA-256); the local
    path standing for ``path``."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    folder = Path(tempfile.gettempdir()) / "fairpatrol-inputs" / digest.hexdigest()[:32]
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        target = folder / name
        if not (target.is_file() and target.stat().st_size == len(blob)):
            from fairpatrol.atomic import atomic_write

            atomic_write(target, blob)
    return str(folder / Path(path).name)


def _replace_strings(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _replace_strings(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, mapping) for v in value]
    return mapping.get(value, value) if isinstance(value, str) else value


def with_original_names(result: Any, config: Any) -> None:
    """Give ``result`` (run on local copies of the input files) the config and cell labels of ``config``
    (the same scenario, naming the user's files), so that its tables equal those of a local run."""
    from fairpatrol.sim.study import study_cells

    cells = study_cells(config)
    result.report_rate = {
        new.reporting: result.report_rate[old.reporting] for old, new in zip(result.cells, cells, strict=True)
    }
    result.config, result.cells = config, cells


def run_cell(task: CellTask, inputs: dict[str, dict[str, bytes]] | None = None) -> CellOutcome:
    """Simulate one cell and return its tables; any error is returned as a failed outcome.

    ``inputs`` (``{original path: {file name: bytes}}``) are the cell's input files shipped with it; the
    cell runs on local copies of them (see the module docstring).
    """
    t0 = time.perf_counter()
    try:
        import yaml

        from fairpatrol.config import parse_scenario
        from fairpatrol.results import config_document
        from fairpatrol.sim.budget import check_memory
        from fairpatrol.sim.study import prepare_study, run_study

        local = {path: materialise(path, files) for path, files in (inputs or {}).items()}
        source = f"cell {task.cell_id}"
        config = parse_scenario(_replace_strings(task.config, local), source=source)
        incidents = _incidents(config)
        data = prepare_study(config, incidents)
        check_memory(config, data, allocations=task.allocations, source=source)
        result = run_study(config, incidents=incidents, data=data)
        if local:  # label the results with the user's paths, as a local run does
            with_original_names(result, parse_scenario(task.config, source=source, paths=local))
        tables = cell_tables(result, task.columns, task.allocations)
        blobs = {
            name: _parquet_bytes(table, level=1 if name == "allocations" else None)
            for name, table in tables.items()
        }
        doc = _replace_strings(config_document(result), {v: k for k, v in local.items()})
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


def worker_versions() -> dict[str, str]:
    """Package versions importable in this process (asked of Dask workers before submitting)."""
    from fairpatrol.environment import installed_versions

    return installed_versions()
