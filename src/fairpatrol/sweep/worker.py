"""Running one sweep cell, in whatever process runs it (a local worker process or a Dask worker).

The cell runs :func:`fairpatrol.sim.study.run_study` and returns its tables as Parquet bytes (the same
tables as ``fairpatrol run``, plus one constant column per swept parameter), so the process that owns the
results directory writes them: workers need no shared file system, and every write goes through one
place (:mod:`fairpatrol.results.sweep`). Errors become a failed :class:`CellOutcome`, never an exception.

Input files travel with the cell: on a Dask cluster, every file of the user's that a cell's config names
(:func:`input_files`: the areas and incident files, a reporting-rate CSV; a shapefile with its sidecar
files) is sent to the workers as bytes (:func:`read_inputs`, :func:`shipment`), written once per worker
at its original absolute path under a cache folder named by the files' SHA-256 (:func:`materialise`), and
the cell runs on those copies with its scenario folder mirrored the same way, so paths relative to the
scenario stay as written. The cell's tables and recorded config name the user's files as a local run
does (:func:`with_original_names`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from fairpatrol.results.sweep import CellOutcome

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
    """``table`` plus one constant column per swept parameter (:func:`fairpatrol.keys.constant_columns`)."""
    from fairpatrol.keys import constant_columns

    for name, arr in constant_columns(table.num_rows, columns).items():
        table = table.append_column(name, arr)
    return table


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def cell_tables(result: Any, columns: dict[str, Any]) -> dict[str, Any]:
    """The tidy tables of ``fairpatrol run`` (see :mod:`fairpatrol.results.run`) with the swept columns, but
    the allocations, which :func:`run_cell` writes while the cell is simulated."""
    import pyarrow as pa

    from fairpatrol.results.tables import (
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
    # every study's tables share one schema (results.py lists every model's diagnostics, NaN where they do
    # not apply), so a glob over all cells' Parquet files reads as one table
    return {name: with_columns(t, columns) for name, t in tables.items()}


#: Sidecar files that travel with a file of the same stem (a shapefile is several files).
_SIDECARS = {".shp": (".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix")}


def _map_paths(config: dict[str, Any], fn: Any) -> dict[str, Any]:
    """A copy of a raw scenario with ``fn(text)`` applied to every input file path (all relative to the
    scenario's folder): the data section's paths and the reporting-rate CSVs of ``report_probs``."""
    from fairpatrol.config import map_data_paths
    from fairpatrol.sim.victim_reporting import rate_file

    out = dict(config)
    out["data"] = map_data_paths(config.get("data"), fn)
    out["report_probs"] = [
        fn(r) if isinstance(r, str) and rate_file(r, None) is not None else r
        for r in config.get("report_probs", [])
    ]
    return out


def input_files(task: CellTask) -> dict[str, str]:
    """The user's files the cell reads, on this machine: ``{path as written: absolute path}``."""
    base = Path(task.base_dir or os.getcwd())
    found: dict[str, str] = {}

    def collect(text: str) -> str:
        path = Path(os.path.expanduser(text))
        path = path if path.is_absolute() else base / path
        if path.is_file():
            found[text] = str(path.resolve())
        return text

    _map_paths(task.config, collect)
    return found


def read_inputs(path: str) -> dict[str, bytes]:
    """The bytes of ``path`` and of its sidecar files, by file name (what travels to a worker)."""
    p = Path(path)
    names = [p] + [p.with_suffix(ext) for ext in _SIDECARS.get(p.suffix.lower(), ())]
    return {q.name: q.read_bytes() for q in names if q.is_file()}


class Shipment(TypedDict):
    """A cell's input files as they travel to a worker (:func:`shipment`)."""

    base: str  # the scenario's folder on the submitting machine (absolute)
    names: dict[str, str]  # each input path as written -> its absolute path there
    files: dict[str, Any]  # absolute input path -> {its file name and sidecars: bytes} (or a Dask future)


def shipment(task: CellTask, files: dict[str, Any]) -> Shipment:
    """What travels with a cell to a Dask worker: the submitting machine's folders and, for every input
    path as written, its absolute path there and its bytes (``files``: absolute path -> bytes, or a Dask
    future of them)."""
    names = input_files(task)
    return {
        "base": str(Path(task.base_dir or os.getcwd()).resolve()),
        "names": names,
        "files": {path: files[path] for path in sorted(set(names.values()))},
    }


def materialise(files: dict[str, dict[str, bytes]]) -> Path:
    """Write shipped files once into this machine's cache, each at its original absolute path under a
    folder named by their SHA-256 (a mirror of the submitting machine's layout, so that paths relative to
    the scenario's folder stay as they were); that folder."""
    digest = hashlib.sha256()
    for path in sorted(files):
        for name in sorted(files[path]):
            digest.update(f"{path}/{name}".encode() + b"\0" + hashlib.sha256(files[path][name]).digest())
    sandbox = Path(tempfile.gettempdir()) / "fairpatrol-inputs" / digest.hexdigest()[:32]
    from fairpatrol.atomic import atomic_write

    for path, blobs in files.items():
        folder = _mirror(sandbox, str(Path(path).parent))
        for name, blob in blobs.items():
            target = folder / name
            if not (target.is_file() and target.stat().st_size == len(blob)):
                atomic_write(target, blob)
    return sandbox


def _mirror(sandbox: Path, path: str) -> Path:
    return sandbox / Path(path).relative_to(Path(path).anchor)


def relabel(layout: Any, config: Any) -> None:
    """Give a study's ``layout`` (:class:`~fairpatrol.sim.study.StudyLayout`, run on the mirrored copies of
    the input files) the config and cell labels of ``config`` (the same scenario, at the user's folder)."""
    from fairpatrol.sim.study import study_cells

    cells = study_cells(config)
    layout.reporting_rate = {
        new.reporting: layout.reporting_rate[old.reporting]
        for old, new in zip(layout.cells, cells, strict=True)
    }
    layout.config, layout.cells = config, cells


def with_original_names(result: Any, config: Any, sandbox: Path) -> None:
    """Give ``result`` (run on the mirrored copies of the input files under ``sandbox``) the config, cell
    labels and input-file paths of ``config`` (the same scenario, at the user's folder), so that its tables
    and config document equal those of a local run."""
    import dataclasses

    relabel(result, config)
    root = sandbox.resolve()
    result.inputs = [
        dataclasses.replace(f, path=Path("/") / Path(f.path).resolve().relative_to(root))
        if Path(f.path).resolve().is_relative_to(root)
        else f
        for f in result.inputs
    ]


def run_cell(task: CellTask, inputs: Shipment | None = None) -> CellOutcome:
    """Simulate one cell and return its tables; any error is returned as a failed outcome.

    ``inputs`` (:func:`shipment`) are the cell's input files shipped with it; the cell runs on local
    copies of them (see the module docstring).
    """
    t0 = time.perf_counter()
    try:
        import pyarrow as pa
        import yaml

        from fairpatrol.allocations import AllocationWriter
        from fairpatrol.config import parse_scenario
        from fairpatrol.results.run import allocations_section, config_document
        from fairpatrol.sim.budget import check_memory
        from fairpatrol.sim.study import prepare_study, run_study

        source = f"cell {task.cell_id}"
        raw, base_dir, sandbox, local, original = task.config, task.base_dir, None, {}, None
        if inputs:  # run on mirrored copies of the user's files (see the module docstring)
            sandbox = materialise(inputs["files"])
            base_dir = str(_mirror(sandbox, inputs["base"]))
            local = {text: str(_mirror(sandbox, path)) for text, path in inputs["names"].items()}
            raw = _map_paths(raw, lambda text: local[text] if text in local else text)
            # the user's names of the same scenario (reporting-rate files name cells)
            original = parse_scenario(task.config, source=source, base_dir=inputs["base"], paths=local)
        config = parse_scenario(raw, source=source, base_dir=base_dir)
        study = _incidents(config)
        data = prepare_study(config, study.incidents)
        check_memory(config, data, source=source)
        sink = pa.BufferOutputStream()  # nonzero allocation rows, compressed, as the cell is simulated
        writer = None
        if task.allocations:
            writer = AllocationWriter(
                sink,
                columns=task.columns,
                relabel=None if original is None else (lambda layout: relabel(layout, original)),
            )
        # one process per cell: a sweep's cells already run side by side (and a Dask worker forks none)
        result = run_study(config, incidents=study, data=data, sinks=[writer] if writer else [], workers=1)
        if sandbox is not None:  # name the user's files as a local run does
            with_original_names(result, original, sandbox)
        tables = cell_tables(result, task.columns)
        blobs = {name: _parquet_bytes(table) for name, table in tables.items()}
        if writer is not None:
            blobs["allocations"] = sink.getvalue().to_pybytes()
        blobs["areas"] = _parquet_bytes(result.areas.to_arrow())  # GeoParquet
        doc = config_document(result)
        if writer is not None:
            doc["resolved"]["allocations"] = allocations_section(writer)
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
