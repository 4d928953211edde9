"""Checks that the files of a results directory can be read, before a command starts working on them.

A truncated or corrupt file (a copy interrupted, a disk error, an edit by hand) is one line naming it
(docs/errors.md), instead of an error from deep inside pyarrow or DuckDB halfway through a report:

* every Parquet file's footer (schema and row groups) is read;
* every CSV file must be UTF-8 text;
* every YAML file must parse (strict YAML, :func:`fairpatrol.config.parse_yaml`).

Damage inside a Parquet file's data (a flipped byte in a compressed page) shows only when that page is
read: :func:`reading_results` wraps a command's work, and when pyarrow or DuckDB fails on data it reads
every Parquet file of the directory through to find the damaged one and names it in one line.

Links are never followed (a link inside a results directory is an error naming it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from fairpatrol.atomic import check_no_symlinks
from fairpatrol.errors import DataError

#: CSV and YAML files larger than this are checked only for their first bytes.
_TEXT_CHECK_BYTES = 64 * 2**20


def check_parquet(path: str | Path) -> None:
    """One line naming ``path`` when it is not a readable Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
        if meta.num_row_groups and meta.num_columns:
            meta.row_group(meta.num_row_groups - 1).column(0)
    except (pa.ArrowException, OSError, ValueError) as err:
        reason = " ".join(str(err).split())[:120]
        raise DataError(
            f"not a readable Parquet file (truncated or corrupt: {reason})", source=str(path)
        ) from None


def _check_text(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_TEXT_CHECK_BYTES)
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror}", source=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if len(data) == _TEXT_CHECK_BYTES and err.start > len(data) - 4:
            return data[: err.start].decode("utf-8")  # a character cut by the read limit
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            f"line {line}: not UTF-8 text (byte 0x{data[err.start]:02x}): corrupt", source=str(path)
        ) from None


def check_results_files(root: str | Path) -> None:
    """Check every Parquet, CSV and YAML file under ``root`` (a results directory; see the module
    docstring). A missing ``root`` is left to the reader to report."""
    from fairpatrol.config import parse_yaml

    root = Path(root)
    if not root.is_dir():
        return
    check_no_symlinks(root)
    for path in _results_files(root):
        if path.name.endswith(".parquet"):
            check_parquet(path)
        elif path.name.endswith(".csv"):
            _check_text(path)
        elif path.name.endswith((".yaml", ".yml")):
            parse_yaml(_check_text(path), str(path))


def _results_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` in a stable order, hidden folders left out (staging folders are not
    results)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            yield Path(folder) / name


def damaged_parquet(root: str | Path) -> tuple[Path, str] | None:
    """The first Parquet file under ``root`` whose data cannot be read through (streamed a batch at a
    time: memory stays bounded), with the reason; None when every one reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in (p for p in _results_files(Path(root)) if p.name.endswith(".parquet")):
        try:
            for _ in pq.ParquetFile(path).iter_batches(batch_size=65_536):
                pass
        except (pa.ArrowException, OSError, ValueError) as err:
            return path, " ".join(str(err).split())[:120]
    return None


@contextlib.contextmanager
def reading_results(root: str | Path) -> Iterator[None]:
    """Run a command's reading of the results directory ``root``: an error of pyarrow or DuckDB caused
    by a damaged Parquet file becomes one line naming that file (any other error passes unchanged)."""
    import duckdb
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowException, OSError, duckdb.Error) as err:
        if isinstance(err, OSError) and err.errno is not None:  # the system's own error (disk, rights)
            raise
        found = damaged_parquet(root)
        if found is None:
            raise
        path, reason = found
        raise DataError(
            f"corrupt data in a Parquet file ({reason}); run the study again to write it", source=str(path)
        ) from None
