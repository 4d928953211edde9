"""``allocations.parquet``: a study's counts per (scenario, algorithm, run, date, area), as nonzero rows.

**Layout.** One row per (scenario, algorithm, run, date, area_id) on which *any* of ``officers``,
``crimes``, ``detected``, ``reported``, ``prevention`` is nonzero, with the key columns of every results
table (:data:`fairpatrol.keys.KEYS`), ``date``, ``area_id`` and the area's ``group``. **Every row that is
not in the file is a row of zeros**: the dense table has one row for every (scenario, algorithm, run) of
the study, every simulated date and every area of ``areas.parquet``. Sums, maxima and counts of nonzero
values over the file are therefore those of the dense table; a mean over areas, runs or days, or a count
of rows, must divide by the dense number (or use :func:`dense_view` / :func:`expand_allocations`).
Dropping the zeros shrinks the table ≈ 2× on a city's neighbourhoods and ≈ 50× on a 150 m grid.

Rows are written as the simulation goes (:class:`AllocationWriter`, a study sink), in row groups of at most
``chunk_rows`` rows; within the file they come in algorithm batches (the order of ``config.algorithms``),
then by date, then scenario, run and area. The file's metadata (``fairpatrol.allocations``) records the
dense shape and that zero rows are omitted.

**Reading it back densely.** :func:`expand_allocations` re-expands one run, or any filter of scenario,
algorithm and run, to the dense grid of (date, area) with zeros; :func:`dense_view` creates a DuckDB view
with every dense row (:data:`DENSE_VIEW_SQL`), so a query written for dense rows stays as simple::

    import duckdb
    from fairpatrol.allocations import dense_view, expand_allocations
    con = duckdb.connect()
    dense_view(con, "results/baltimore-agg")          # view allocations_dense
    con.sql("select algorithm, avg(officers) from allocations_dense where area_id = 'DOWNTOWN' group by all")
    one = expand_allocations("results/baltimore-agg", scenario="N40_r0", algorithm="PredPol", run=0)
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)
from fairpatrol.errors import DataError
from fairpatrol.keys import KEYS, constant_columns, dictionary, key_columns
from fairpatrol.sim.engine import DayBlock
from fairpatrol.sim.layout import StudyLayout, StudySink

#: The count columns, in output order.
COUNTS = ("crimes", "officers", "detected", "reported", "prevention")
#: Name of the file's metadata entry (JSON) describing the omitted zero rows.
METADATA_KEY = b"fairpatrol.allocations"
#: Rows per row group (and most rows buffered before writing).
CHUNK_ROWS = 1 << 18


@njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _nonzero_scan(
    crimes: np.ndarray,
    officers: np.ndarray,
    detected: np.ndarray,
    reported: np.ndarray,
    prevention: np.ndarray,
    fill: bool,
    row: np.ndarray,
    area: np.ndarray,
    values: np.ndarray,
) -> int:
    """The number of (row, area) entries with a nonzero count; with ``fill``, also writes them."""
    n_rows, m = officers.shape
    with_prevention = prevention.shape[0] > 0
    k = 0
    for r in range(n_rows):
        for a in range(m):
            p = prevention[r, a] if with_prevention else 0
            if crimes[r, a] | officers[r, a] | detected[r, a] | reported[r, a] | p:  # never negative
                if fill:
                    row[k] = r
                    area[k] = a
                    values[0, k] = crimes[r, a]
                    values[1, k] = officers[r, a]
                    values[2, k] = detected[r, a]
                    values[3, k] = reported[r, a]
                    values[4, k] = p
                k += 1
    return k


def nonzero_rows(
    crimes: np.ndarray,
    officers: np.ndarray,
    detected: np.ndarray,
    reported: np.ndarray,
    prevention: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (row, area) entries of rows × areas int32 counts where any is nonzero, in row-major order, and
    their values (:data:`COUNTS` × entries); ``prevention`` may be an empty array (no units: zeros).
    Two compiled passes (count, then fill) instead of numpy's OR, nonzero and five gathers."""
    counts = [
        np.ascontiguousarray(a, dtype=np.int32) for a in (crimes, officers, detected, reported, prevention)
    ]
    none = np.empty(0, dtype=np.int32)
    n = _nonzero_scan(*counts, False, none, none, np.empty((5, 0), dtype=np.int32))
    row = np.empty(n, dtype=np.int32)
    area = np.empty(n, dtype=np.int32)
    values = np.zeros((5, n), dtype=np.int32)
    _nonzero_scan(*counts, True, row, area, values)
    return row, area, values


class AllocationWriter(StudySink):
    """A study sink writing the nonzero rows of ``allocations.parquet`` as the simulation goes.

    Parameters
    ----------
    where : a file path, or a writable Arrow stream (e.g. ``pyarrow.BufferOutputStream``).
    columns : constant columns added to every row (a sweep's swept parameters).
    chunk_rows : rows buffered before a row group is written (memory: ≈ 40 bytes a row).
    relabel : applied to a copy of the study's layout before any row is written, to name the cells
        otherwise (a sweep cell run on mirrored copies of the user's files names them as the user's
        scenario does).
    background : build and write each chunk on a background thread while the simulation goes on (Arrow
        and Parquet release the GIL): one chunk at a time, in order, so the file is the same as written
        in the foreground; memory holds at most two chunks. An error of the background write is raised
        by the next :meth:`day` or by :meth:`close`; leaving the ``with`` block waits for the thread.

    Attributes
    ----------
    rows : rows written (after :meth:`close`).
    dense_rows : rows of the dense table (cells × runs × days × areas).

    Examples
    --------
    >>> from fairpatrol.config import load_preset
    >>> from fairpatrol.sim.study import run_study
    >>> with AllocationWriter("allocations.parquet") as writer:  # doctest: +SKIP
    ...     res = run_study(load_preset("baltimore-agg", days=3, runs=2), sinks=[writer])
    >>> writer.rows < writer.dense_rows  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        where: str | Path | pa.NativeFile,
        *,
        columns: dict[str, Any] | None = None,
        chunk_rows: int = CHUNK_ROWS,
        relabel: Callable[[StudyLayout], None] | None = None,
        background: bool = True,
    ) -> None:
        self.where = str(where) if isinstance(where, Path) else where
        self.columns = dict(columns or {})
        self.chunk_rows = int(chunk_rows)
        self.relabel = relabel
        self.background = background
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.rows = 0
        self.dense_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._buffer: list[tuple[np.ndarray, ...]] = []
        self._buffered = 0
        self._layout: StudyLayout | None = None

    # -- StudySink ---------------------------------------------------------------------------------------
    def open(self, layout: StudyLayout) -> None:
        if self.relabel is not None:
            layout = dataclasses.replace(layout)
            self.relabel(layout)
        self._layout = layout
        data = layout.data
        self._run_labels = np.asarray(layout.run_ids, dtype=np.int32)
        self._dates = layout.dates
        self._area_ids = [str(a) for a in data.areas.ids]
        self._group_names = list(data.areas.group_names)
        self._group_index = np.asarray(data.areas.group_index, dtype=np.int32)
        self.dense_rows = len(layout.cells) * len(layout.run_ids) * data.n_days * data.n_areas
        self._meta = {
            "zero_rows": "omitted",
            "dense_rows": self.dense_rows,
            "start": str(data.start.date()),
            "days": int(data.n_days),
            "areas": int(data.n_areas),
        }

    def day(self, cells: Sequence[int], block: DayBlock) -> None:
        if self._error is not None:  # the background write failed: stop the study now
            self._wait()
        prevention = block.prevention if block.prevention is not None else np.zeros((0, 0), np.int32)
        row, area, values = nonzero_rows(
            block.crimes, block.officers, block.detected, block.reported, prevention
        )  # values: COUNTS × rows
        n_runs = len(self._run_labels)
        cell = np.asarray(cells, dtype=np.int32)[row // n_runs]
        day = np.full(row.shape, block.day, dtype=np.int32)
        self._buffer.append((cell, self._run_labels[row % n_runs], day, area, *values))
        self._buffered += row.shape[0]
        if self._buffered >= self.chunk_rows:
            self._flush()

    def close(self) -> None:
        """Write what is buffered and the file's footer (an empty table if no row was ever nonzero)."""
        if self._layout is None:
            raise RuntimeError("AllocationWriter.close() before open(): give it to run_study's sinks")
        if self._buffered or (self._writer is None and self._thread is None):
            self._flush()
        self._wait()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> AllocationWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:  # let a background write finish before the file is released
            self._thread.join()
            self._thread = None
        if self._writer is not None:  # an error stopped the study: release the file, write nothing more
            self._writer.close()
            self._writer = None

    # -- writing -----------------------------------------------------------------------------------------
    def _wait(self) -> None:
        """Wait for the background write in progress; raise its error, if any."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _flush(self) -> None:
        buffer = self._buffer
        self._buffer, self._buffered = [], 0
        self._wait()  # one chunk at a time, in order
        if not self.background:
            self._write(buffer)
            return

        def write() -> None:
            try:
                self._write(buffer)
            except BaseException as err:  # raised in the simulation's thread by _wait
                self._error = err

        self._thread = threading.Thread(target=write, name="fairpatrol-allocations", daemon=True)
        self._thread.start()

    def _write(self, buffer: list[tuple[np.ndarray, ...]]) -> None:
        parts = list(zip(*buffer, strict=True)) if buffer else [np.zeros(0, np.int32)] * 9
        cell, run, day, area, *values = (np.concatenate(p) for p in parts)
        if self._layout is None:
            raise RuntimeError("AllocationWriter written before open(): give it to run_study's sinks")
        cols = key_columns(self._layout, cell, run)
        cols["date"] = pa.array(self._dates[day])
        cols["area_id"] = dictionary(self._area_ids, area)
        cols["group"] = dictionary(self._group_names, self._group_index[area])
        for name, value in zip(COUNTS, values, strict=True):
            cols[name] = pa.array(value.astype(np.int32, copy=False))
        cols.update(constant_columns(len(cell), self.columns))
        table = pa.table(cols)
        if self._writer is None:
            schema = table.schema.with_metadata({METADATA_KEY: json.dumps(self._meta).encode()})
            self._writer = pq.ParquetWriter(self.where, schema, compression="zstd", compression_level=1)
        self._writer.write_table(table.replace_schema_metadata(self._writer.schema.metadata), self.chunk_rows)
        self.rows += table.num_rows


def allocation_metadata(path: str | Path) -> dict[str, Any] | None:
    """The ``fairpatrol.allocations`` metadata of an allocations file (None for a dense file written before
    zero rows were omitted)."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(METADATA_KEY)
    return None if raw is None else json.loads(raw)


def _files(results: Path, areas: str | Path | None) -> tuple[Path, Path]:
    """(allocations file, areas file) of a run directory, or of an allocations file with its areas file
    (a sweep cell: ``DIR/allocations/cell=ID/part-0.parquet`` and ``DIR/areas/cell=ID/part-0.parquet``)."""
    alloc = results
    if results.is_dir():  # a run directory, or a sweep cell's partition folder (its one file)
        alloc = results / "allocations.parquet"
        if not alloc.is_file():
            alloc = next(iter(sorted(results.glob("*.parquet"))), alloc)
    area_file = (
        Path(areas)
        if areas is not None
        else (results if results.is_dir() else results.parent) / "areas.parquet"
    )
    if area_file.is_dir():  # a sweep cell's areas partition
        area_file = next(iter(sorted(area_file.glob("*.parquet"))), area_file / "part-0.parquet")
    for path in (alloc, area_file):
        if not path.is_file():
            raise DataError(
                f"missing {path.name}: give a results directory of fairpatrol run", source=str(path)
            )
    return alloc, area_file


def expand_allocations(
    results: str | Path,
    *,
    areas: str | Path | None = None,
    scenario: str | None = None,
    algorithm: str | None = None,
    run: int | None = None,
    columns: Sequence[str] = COUNTS,
) -> pd.DataFrame:
    """The dense allocation rows of the runs selected by ``scenario``, ``algorithm`` and ``run`` (None =
    all): one row per (scenario, algorithm, run, date, area_id) for every simulated date and every area of
    ``areas.parquet``, zeros where ``allocations.parquet`` has no row, with the file's column types.

    Rows come as ``allocations.parquet`` had them before zero rows were omitted: runs in study order,
    then dates, then areas in the order of ``areas.parquet``. Memory grows with the rows returned
    (runs × days × areas): select what you need. ``results`` is a run directory, or an allocations file
    (or a sweep cell's partition folder) with its ``areas`` file.
    """
    from fairpatrol.data import read_areas_parquet

    alloc_path, areas_path = _files(Path(results), areas)
    unknown = [c for c in columns if c not in COUNTS]
    if unknown:
        raise ValueError(f"unknown allocation column(s) {unknown}; expected some of {list(COUNTS)}")
    study_areas = read_areas_parquet(areas_path)
    selected = (("scenario", scenario), ("algorithm", algorithm), ("run", run))
    filters = [(k, "=", v) for k, v in selected if v is not None]
    table = pq.read_table(alloc_path, columns=[*KEYS, "date", "area_id", *columns], filters=filters or None)
    meta = allocation_metadata(alloc_path)
    if meta is not None:
        dates = np.datetime64(meta["start"], "D") + np.arange(int(meta["days"]))
    else:  # a dense file of older results: every date has rows
        dates = np.unique(table["date"].to_numpy(zero_copy_only=False).astype("datetime64[D]"))
    # the selected runs in study order: the dictionary codes of algorithm and scenario follow the study
    codes = {k: table[k].combine_chunks().indices.to_numpy() for k in ("algorithm", "scenario")}
    run_key = pd.DataFrame({"a": codes["algorithm"], "s": codes["scenario"], "run": table["run"].to_numpy()})
    first = run_key.drop_duplicates().sort_values(["a", "s", "run"])
    k = pd.MultiIndex.from_frame(first).get_indexer(pd.MultiIndex.from_frame(run_key))
    n_k, n_d, n_m = len(first), len(dates), study_areas.n
    d = (table["date"].to_numpy(zero_copy_only=False).astype("datetime64[D]") - dates[0]).astype(np.int64)
    a = study_areas.index_of(
        table["area_id"].to_numpy(zero_copy_only=False).astype(str), source=str(alloc_path)
    )
    key_rows = pa.array(np.repeat(first.index.to_numpy(), n_d * n_m))
    out = {name: table[name].take(key_rows) for name in KEYS}
    out["date"] = pa.array(np.tile(np.repeat(dates, n_m), n_k))
    out["area_id"] = dictionary([str(i) for i in study_areas.ids], np.tile(np.arange(n_m), n_k * n_d))
    out["group"] = dictionary(
        list(study_areas.group_names), np.tile(np.asarray(study_areas.group_index), n_k * n_d)
    )
    flat = (k * n_d + d) * n_m + a
    for name in columns:
        values = np.zeros(n_k * n_d * n_m, dtype=np.int32)
        values[flat] = table[name].to_numpy()
        out[name] = pa.array(values)
    return pa.table(out).to_pandas()


#: DuckDB SQL of the dense view (:func:`dense_view`): ``{name}``, ``{allocations}``, ``{areas}`` and
#: ``{keys}`` (the file's key columns: every column but area_id, group and the counts) are filled in.
DENSE_VIEW_SQL = """
create or replace view {name} as
with nonzero as (select * from read_parquet('{allocations}')),
     run_days as (select distinct {keys} from nonzero),
     areas as (select area_id, "group" from read_parquet('{areas}'))
select {run_days_keys}, areas.area_id, areas."group",
       {counts}
from run_days cross join areas
left join nonzero on {join}
"""


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def dense_view(
    con: Any, results: str | Path, name: str = "allocations_dense", *, areas: str | Path | None = None
) -> str:
    """Create (or replace) on the DuckDB connection ``con`` a view ``name`` holding every dense row of a
    results directory's allocations: the nonzero rows of ``allocations.parquet`` and a row of zeros for
    every other (run, date, area). Returns the SQL executed (:data:`DENSE_VIEW_SQL`).

    Every (scenario, algorithm, run, date) has at least one row in the file (officers are sent every day),
    so the view's run-days are those of the file; its areas are those of ``areas.parquet``. ``results`` is
    a run directory, or an allocations file (or a sweep cell's partition folder) with its ``areas`` file.
    """
    alloc_path, areas_path = _files(Path(results), areas)
    names = pq.read_schema(alloc_path).names
    keys = [c for c in names if c not in ("area_id", "group", *COUNTS)]
    quoted = [f'"{k}"' for k in keys]
    sql = DENSE_VIEW_SQL.format(
        name=name,
        allocations=_sql_path(alloc_path),
        areas=_sql_path(areas_path),
        keys=", ".join(quoted),
        run_days_keys=", ".join(f"run_days.{q}" for q in quoted),
        counts=",\n       ".join(f"coalesce(nonzero.{c}, 0)::INTEGER as {c}" for c in COUNTS if c in names),
        join=" and ".join(f"nonzero.{q} = run_days.{q}" for q in (*quoted, '"area_id"')).replace(
            'nonzero."area_id" = run_days."area_id"', 'nonzero."area_id" = areas.area_id'
        ),
    )
    con.execute(sql)
    return sql
