"""Reading the user's target files and checking their columns, with errors that name file, field and row.

A *source* is a path (CSV / TSV / Parquet tables; GeoJSON, GeoPackage, shapefile, FlatGeobuf or GeoParquet
layers read with GeoPandas/pyogrio) or an in-memory ``pandas.DataFrame`` / ``geopandas.GeoDataFrame``.
Messages name a file by its base name only (results never carry a path of the user's machine) and count
rows from 1 as a spreadsheet does (header not counted).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fairpatrol.data.formats import SUFFIXES, file_format, suffix_of
from fairpatrol.data.readers import parse_times
from fairpatrol.errors import DataError


def reject(
    bad: np.ndarray, message: str | Callable[[int], str], *, source: str, field: str | None = None
) -> None:
    """Raise :class:`DataError` at the first row where ``bad`` is True (rows counted from 1), if any.

    ``message`` is a text, or a function of the row's 0-based position that makes one (to quote the bad
    value); when several rows are bad their number is appended.
    """
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    n = int(bad.sum())
    text = message(i) if callable(message) else message
    raise DataError(text + (f" ({n:,} such rows)" if n > 1 else ""), source=source, field=field, row=i + 1)


def source_name(source: object, default: str) -> str:
    """The name used in messages: a file's base name, else ``default``."""
    if isinstance(source, (str, Path)):
        return Path(source).name
    return default


def read_source(source: object, default_name: str) -> tuple[pd.DataFrame, str]:
    """Read ``source`` into a frame (a GeoDataFrame for geo layers) and return it with its display name.

    Raises :class:`DataError` for a missing or unreadable file, an unknown suffix or a file without rows.
    """
    name = source_name(source, default_name)
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataError("file not found", source=name)
        kind = file_format(path)
        try:
            if kind in ("csv", "tsv"):
                frame = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", encoding="utf-8-sig")
            elif kind == "parquet":
                frame = _read_parquet(path)
            elif kind == "geo":
                import geopandas as gpd

                frame = gpd.read_file(path)
            else:
                raise DataError(
                    f"unknown file type {suffix_of(path)!r}; expected one of {list(SUFFIXES)}", source=name
                )
        except DataError:
            raise
        except pd.errors.EmptyDataError:
            raise DataError("empty file: no header", source=name) from None
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text: {exc.reason}", source=name) from None
        except Exception as exc:  # pyogrio / pyarrow errors on a damaged file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"cannot read the file: {first}", source=name) from None
    else:
        raise DataError(
            f"expected a file path or a DataFrame, got {type(source).__name__}", source=default_name
        )
    if len(frame) == 0:
        raise DataError(f"no data rows (columns {list(frame.columns)})", source=name)
    return frame.reset_index(drop=True), name


def _read_parquet(path: Path) -> pd.DataFrame:
    """A GeoParquet file as a GeoDataFrame, any other Parquet file as a DataFrame."""
    import pyarrow.parquet as pq

    if b"geo" in (pq.read_schema(path).metadata or {}):
        import geopandas as gpd

        return gpd.read_parquet(path)
    return pd.read_parquet(path)


def require(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    """``frame[column]``, or a :class:`DataError` listing the columns found."""
    if column not in frame.columns:
        raise DataError(
            f"missing column; found {[str(c) for c in frame.columns]}", source=source, field=str(column)
        )
    return frame[column]


def days(values: pd.Series, *, source: str, field: str) -> pd.Series:
    """Parse dates (or date-times) to midnight of their day; an empty or bad value is an error with its row.

    Time-zone-aware values keep their wall-clock date (the zone is dropped), as incidents do.
    """
    parsed = parse_times(values, source=source, field=field)[0]
    reject(parsed.isna().to_numpy(), "missing date", source=source, field=field)
    return parsed.dt.normalize()


def optional_days(values: pd.Series, *, source: str, field: str) -> pd.Series:
    """Like :func:`days` but empty cells are NaT (an open validity bound)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return parse_times(values, source=source, field=field)[0].dt.normalize()
    blank = (values.isna() | values.astype(str).str.strip().isin(["", "nan", "NaT", "None"])).to_numpy()
    if blank.all():
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    parsed = parse_times(values.where(~blank, ""), source=source, field=field, on_bad="drop")[0]
    bad = parsed.isna().to_numpy() & ~blank
    reject(bad, lambda i: f"unparseable date {values.iloc[i]!r}", source=source, field=field)
    return parsed.dt.normalize()


def numbers(
    values: pd.Series, *, source: str, field: str, allow_missing: bool = False, minimum: float | None = None
) -> np.ndarray:
    """Parse finite numbers; a missing (unless allowed), unparseable or too small value names its row."""
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = values.isna().to_numpy() | values.astype(str).str.strip().isin(["", "nan", "None"]).to_numpy()
    bad = ~np.isfinite(num) & ~(missing & allow_missing)
    reject(
        bad,
        lambda i: "missing value" if missing[i] else f"not a finite number: {values.iloc[i]!r}",
        source=source,
        field=field,
    )
    if minimum is not None:
        low = np.isfinite(num) & (num < minimum)
        reject(low, lambda i: f"value {num[i]:g} is below {minimum:g}", source=source, field=field)
    return num


def labels(values: pd.Series) -> np.ndarray:
    """Values as stripped strings ('' for missing)."""
    s = values.astype(object).where(values.notna(), "")
    return np.array([str(v).strip() for v in s], dtype=object)
