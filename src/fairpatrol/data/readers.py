"""Readers for the public incident exports a user downloads, and :func:`load_incident_file`.

Each reader returns the raw frame ``incident_id, time, lon, lat, crime_type, source_area, row`` (plus
``crime_code`` where the source has one; ``row`` is the 1-based data row) that
:func:`fairpatrol.data.incidents.clean_incidents` cleans. Nothing is silently coerced: a missing required
column, an unparseable date or number raises :class:`DataError` naming the file, the column and the first
bad row.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from fairpatrol.data.areas import Areas, _check_city, load_areas
from fairpatrol.data.incidents import Incidents, clean_incidents
from fairpatrol.errors import DataError

Format = Literal["auto", "open-baltimore", "chicago-portal", "table"]
OnBad = Literal["error", "drop"]

# Explicit formats tried in order (the first that parses the first value is used for the column).
DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
)
# Fractional seconds and a UTC offset after a clock time: ``05:00:00.000+00``, ``14:30:00Z``.
_TAIL = re.compile(r"(?<=\d:\d\d)(?:\.\d+)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)?$")


def _read_csv(path: Path) -> pd.DataFrame:
    """Read every column as str ('' for empty cells); an empty file raises DataError."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError("empty file: no header", source=path.name) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text: {exc.reason}", source=path.name) from None
    if len(df) == 0:
        raise DataError(
            f"empty file: header only, no data rows (columns {list(df.columns)})", source=path.name
        )
    return df


def _columns(
    df: pd.DataFrame, source: str, required: dict[str, tuple[str, ...]], optional: dict[str, tuple[str, ...]]
) -> dict[str, str]:
    """Map canonical names to the file's columns, matching case-insensitively among aliases."""
    lower = {str(c).strip().lower(): c for c in df.columns}
    found: dict[str, str] = {}
    for key, aliases in {**required, **optional}.items():
        for a in aliases:
            if a.lower() in lower:
                found[key] = lower[a.lower()]
                break
        else:
            if key in required:
                raise DataError(
                    f"missing required column (expected one of {list(aliases)}); found {list(df.columns)}",
                    source=source,
                    field=aliases[0],
                )
    return found


def parse_times(values: pd.Series, *, source: str, field: str, on_bad: OnBad = "error") -> pd.Series:
    """Parse date strings with one explicit format per column; a trailing UTC offset (``+00``, ``Z``) and
    fractional seconds are ignored (clock time kept as printed). Empty or unparseable values raise
    :class:`DataError` with the first bad 1-based row and its value, or become NaT with ``on_bad='drop'``.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        t = values
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_localize(None)
        return t.astype("datetime64[ns]")
    text = values.astype(str).str.strip()
    stripped = text.str.replace(_TAIL, "", regex=True).str.strip()
    nonempty = stripped != ""
    sample = stripped[nonempty]
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if len(sample):
        first = sample.iloc[0]
        for fmt in DATE_FORMATS:
            try:
                pd.to_datetime(first, format=fmt)
            except (ValueError, TypeError):
                continue
            parsed = pd.to_datetime(stripped, format=fmt, errors="coerce").astype("datetime64[ns]")
            break
    bad = parsed.isna().to_numpy()
    if bad.any() and on_bad != "drop":
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"unparseable date {text.iloc[i]!r} ({int(bad.sum())} bad rows)",
            source=source,
            field=field,
            row=i + 1,
        )
    return parsed


def _numbers(values: pd.Series, *, source: str, field: str) -> np.ndarray:
    """Parse numbers; empty cells are NaN, anything else unparseable raises DataError."""
    text = values.astype(str).str.strip()
    num = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(float, copy=True)
    bad = np.isnan(num) & (text != "").to_numpy() & ~text.str.lower().isin(["nan", "null", "none"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"unparseable number {text.iloc[i]!r}", source=source, field=field, row=i + 1)
    return num


def _opt_str(df: pd.DataFrame, col: str | None) -> pd.Series:
    if col is None:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    s = df[col].astype(str).str.strip()
    return s.astype(object).where(s != "", None)


def read_open_baltimore_part1(path: str | Path, *, on_bad_dates: OnBad = "error") -> pd.DataFrame:
    """Read an Open Baltimore "Part 1 Crime Data" CSV (current or 2023 lower-case layout).

    Column names match case-insensitively (``CCNumber``/``ccno``, ``CrimeDateTime``, ``CrimeCode``,
    ``Description``, ``Neighborhood``, ``Latitude``, ``Longitude``). ``CrimeDateTime`` like
    ``2019/01/01 05:00:00+00`` or ISO: the offset is ignored and the clock time kept as the local time as
    published. Latitude/Longitude of 0 are missing coordinates (NaN). ``incident_id`` is the case number, so
    per-victim rows are deduplicated on it by the cleaner.
    """
    path = Path(path)
    src = path.name
    df = _read_csv(path)
    c = _columns(
        df,
        src,
        required={
            "time": ("CrimeDateTime",),
            "code": ("CrimeCode",),
            "desc": ("Description",),
            "lat": ("Latitude",),
            "lon": ("Longitude",),
        },
        optional={"id": ("CCNumber", "ccno"), "hood": ("Neighborhood",)},
    )
    lat = _numbers(df[c["lat"]], source=src, field=c["lat"])
    lon = _numbers(df[c["lon"]], source=src, field=c["lon"])
    zero = (lat == 0) | (lon == 0)
    lat[zero] = np.nan
    lon[zero] = np.nan
    hood = _opt_str(df, c.get("hood"))
    return pd.DataFrame(
        {
            "incident_id": _opt_str(df, c.get("id")),
            "time": parse_times(df[c["time"]], source=src, field=c["time"], on_bad=on_bad_dates),
            "lon": lon,
            "lat": lat,
            "crime_type": df[c["desc"]].astype(str).str.strip(),
            "crime_code": df[c["code"]].astype(str).str.strip(),
            "source_area": hood.map(lambda v: None if v is None else str(v).upper()),
            "row": np.arange(1, len(df) + 1),
        }
    )


def read_chicago_crimes(path: str | Path, *, on_bad_dates: OnBad = "error") -> pd.DataFrame:
    """Read a Chicago Data Portal "Crimes" CSV (``ID, Case Number, Date, ..., Primary Type, ...,
    Community Area, ..., Latitude, Longitude``; Date like ``01/01/2022 12:00:00 AM``, local time).

    ``incident_id`` is ``ID`` (unique per incident), ``crime_type`` is ``Primary Type``, ``crime_code`` is
    ``IUCR``, ``source_area`` is ``Community Area``. Empty Latitude/Longitude are missing coordinates.
    """
    path = Path(path)
    src = path.name
    df = _read_csv(path)
    c = _columns(
        df,
        src,
        required={
            "id": ("ID",),
            "time": ("Date",),
            "type": ("Primary Type",),
            "lat": ("Latitude",),
            "lon": ("Longitude",),
        },
        optional={"iucr": ("IUCR",), "area": ("Community Area",), "desc": ("Description",)},
    )
    area = _opt_str(df, c.get("area"))
    out = pd.DataFrame(
        {
            "incident_id": _opt_str(df, c["id"]),
            "time": parse_times(df[c["time"]], source=src, field=c["time"], on_bad=on_bad_dates),
            "lon": _numbers(df[c["lon"]], source=src, field=c["lon"]),
            "lat": _numbers(df[c["lat"]], source=src, field=c["lat"]),
            "crime_type": df[c["type"]].astype(str).str.strip(),
            "crime_code": _opt_str(df, c.get("iucr")),
            "source_area": area.map(lambda v: None if v is None else str(int(float(v)))),
            "row": np.arange(1, len(df) + 1),
        }
    )
    if "desc" in c:
        out["description"] = df[c["desc"]].astype(str).str.strip()
    return out


def read_incident_table(path: str | Path, *, on_bad_dates: OnBad = "error") -> pd.DataFrame:
    """Read a tidy CSV or Parquet with ``time, lat, lon, crime_type`` and optional ``incident_id`` and
    ``area_id`` (kept as ``source_area``). Times are naive local times (an offset is ignored)."""
    path = Path(path)
    src = path.name
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt/empty files
            raise DataError(f"cannot read Parquet: {exc}".splitlines()[0], source=src) from None
        if len(df) == 0:
            raise DataError(f"empty file: no data rows (columns {list(df.columns)})", source=src)
    else:
        df = _read_csv(path)
    c = _columns(
        df,
        src,
        required={"time": ("time",), "lat": ("lat",), "lon": ("lon",), "type": ("crime_type",)},
        optional={"id": ("incident_id",), "area": ("area_id",)},
    )

    def num(col: str) -> np.ndarray:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            return s.to_numpy(float)
        return _numbers(s, source=src, field=col)

    return pd.DataFrame(
        {
            "incident_id": _opt_str(df, c.get("id")),
            "time": parse_times(df[c["time"]], source=src, field=c["time"], on_bad=on_bad_dates),
            "lon": num(c["lon"]),
            "lat": num(c["lat"]),
            "crime_type": df[c["type"]].astype(str).str.strip(),
            "source_area": _opt_str(df, c.get("area")),
            "row": np.arange(1, len(df) + 1),
        }
    )


def sniff_format(path: str | Path) -> str:
    """Guess the layout from the header: 'open-baltimore', 'chicago-portal' or 'table'."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return "table"
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    except pd.errors.EmptyDataError:
        raise DataError("empty file: no header", source=path.name) from None
    cols = {str(c).strip().lower() for c in header}
    if "crimedatetime" in cols:
        return "open-baltimore"
    if "primary type" in cols and "id" in cols:
        return "chicago-portal"
    if {"time", "lat", "lon"} <= cols:
        return "table"
    raise DataError(
        "unrecognised layout (not Open Baltimore Part 1, Chicago Crimes or a time/lat/lon/crime_type "
        f"table); "
        f"found columns {list(header)}",
        source=path.name,
        field="header",
    )


def load_incident_file(
    path: str | Path,
    *,
    city: str,
    format: Format = "auto",
    crime_types: list[str] | tuple[str, ...] | None = None,
    areas: Areas | None = None,
    tolerance_m: float = 250.0,
    dedupe: bool = True,
    on_missing_coords: OnBad = "error",
    on_bad_dates: OnBad = "error",
) -> Incidents:
    """Read a user's incident file, clean it and join it to ``city``'s areas.

    ``format='auto'`` sniffs the header. ``crime_types`` keeps rows whose crime type (Description / Primary
    Type) or code (CrimeCode / IUCR) is listed, case-insensitively. Deduplication is on the case number or
    ID where present, else on (time, coordinates, crime type, crime code); ``dedupe=False`` keeps every row.
    """
    path = Path(path)
    key = _check_city(city)
    if not path.exists():
        raise DataError("file not found", source=str(path))
    fmt = sniff_format(path) if format == "auto" else format
    readers = {
        "open-baltimore": read_open_baltimore_part1,
        "chicago-portal": read_chicago_crimes,
        "table": read_incident_table,
    }
    if fmt not in readers:
        raise DataError(
            f"unknown format {format!r}; expected 'auto' or one of {list(readers)}", field="format"
        )
    raw = readers[fmt](path, on_bad_dates=on_bad_dates)
    if areas is None:
        areas = load_areas(key)
    return clean_incidents(
        raw,
        areas,
        source=path.name,
        id_prefix=path.stem.upper()[:12] or "INC",
        tolerance_m=tolerance_m,
        dedupe=dedupe,
        dedupe_on="id",
        on_missing_coords=on_missing_coords,
        on_bad_dates=on_bad_dates,
        crime_types=crime_types,
    )
