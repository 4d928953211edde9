"""Reading an incident table (CSV or Parquet) through a column mapping — one reader for every layout.

A *layout* (:class:`fairpatrol.data.cities.Layout`) says which column holds what: the time (or a date and
a time of day), lat/lon or x/y in a named CRS, the crime type and code, an id, the source's own area label.
The recognised exports (Open Baltimore "Part 1 Crime Data", Chicago Data Portal "Crimes") are named
layouts of the city packs, sniffed from a file's header; :data:`TABLE` is the tidy layout; a scenario can
give its own mapping (docs/your-own-city.md#incidents).

:func:`read_incident_table` returns the raw frame ``incident_id, time, lon, lat`` (or ``x, y``),
``crime_type``, ``crime_code``, ``source_area``, ``row`` (the 1-based data row) plus a layout's extra
columns, which :func:`fairpatrol.data.incidents.clean_incidents` cleans. Nothing is silently coerced: a
missing column, an unparseable date or number raises :class:`DataError` naming the file, the column and
the first bad row.

Times. Clock times are kept as written (naive local time) unless the scenario names a time zone: then a
UTC offset written after a time (``14:30:00-05:00``, ``Z``) or carried by a time-zone-aware Parquet column
is converted to that zone. A layout with ``offsets: ignore`` (Open Baltimore labels local times ``+00``)
never converts. The zone used is returned and recorded with the results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from fairpatrol.data.cities import Layout, layouts
from fairpatrol.data.formats import file_format
from fairpatrol.data.geofiles import check_readable
from fairpatrol.errors import DataError

#: The tidy layout: ``time, lat, lon, crime_type`` and optional ``incident_id``, ``area_id``.
TABLE = Layout(
    description="tidy table: time, lat, lon, crime_type (optional incident_id, area_id)",
    columns={
        "time": "time",
        "lat": "lat",
        "lon": "lon",
        "crime_type": "crime_type",
        "id": "incident_id",
        "area": "area_id",
    },
    optional=["id", "area"],
)

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
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)
# Fractional seconds and a UTC offset after a clock time: ``05:00:00.000+00``, ``14:30:00Z``.
_TAIL = re.compile(r"(?<=\d:\d\d)(?:\.\d+)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)?$")
_OFFSET = re.compile(r"(?<=\d:\d\d)(?:\.\d+)?\s*(Z|[+-]\d\d(?::?\d\d)?)$")


def layout_names() -> list[str]:
    """Names accepted as an incident file's layout (besides ``auto`` and ``custom``)."""
    return ["table", *layouts()]


def get_layout(name: str) -> Layout:
    if name == "table":
        return TABLE
    known = layouts()
    if name not in known:
        raise DataError(
            f"unknown layout {name!r}; expected 'auto' or one of {layout_names()}", field="incidents.layout"
        )
    return known[name]


def read_table(path: Path, source: str) -> pd.DataFrame:
    """A CSV (every column as str, '' for empty cells) or Parquet file; one-line errors for what cannot be
    read (missing, a directory, no permission, not UTF-8, empty, corrupt Parquet)."""
    check_readable(path, source)
    if file_format(path) == "parquet":
        try:  # dates without a time of day (Parquet DATE) as datetime64, not Python date objects
            df = pq.read_table(path).to_pandas(date_as_object=False)
        except Exception as exc:  # pyarrow raises several types for corrupt/empty files
            raise DataError(f"cannot read Parquet: {exc}".splitlines()[0], source=source) from None
        if len(df) == 0:
            raise DataError(f"empty file: no data rows (columns {list(df.columns)})", source=source)
        return df
    df = _read_csv(path, source, dtype=str, keep_default_na=False)
    if len(df) == 0:
        raise DataError(f"empty file: header only, no data rows (columns {list(df.columns)})", source=source)
    return df


def header(path: Path, source: str) -> list[str]:
    """The column names of a CSV or Parquet file."""
    check_readable(path, source)
    if file_format(path) == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:
            raise DataError(f"cannot read Parquet: {exc}".splitlines()[0], source=source) from None
    return [str(c) for c in _read_csv(path, source, nrows=0).columns]


def _read_csv(path: Path, source: str, **kw) -> pd.DataFrame:
    """``pd.read_csv`` of a UTF-8 file (a byte-order mark is allowed; tab-separated for ``.tsv``) with
    one-line errors."""
    sep = "\t" if file_format(path) == "tsv" else ","
    try:
        return pd.read_csv(path, encoding="utf-8-sig", sep=sep, **kw)
    except pd.errors.EmptyDataError:
        raise DataError("empty file: no header", source=source) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8", source=source
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"not a readable CSV: {exc}".splitlines()[0], source=source) from None


def _match(columns: list[str], layout: Layout) -> dict[str, str] | None:
    """Field -> column of ``columns`` for ``layout`` (case-insensitive), or None when a required field
    has no column."""
    lower = {c.strip().lower(): c for c in columns}
    found: dict[str, str] = {}
    for key in layout.columns:
        hit = next((lower[a.lower()] for a in layout.alternatives(key) if a.lower() in lower), None)
        if hit is not None:
            found[key] = hit
        elif key not in layout.optional:
            return None
    return found


def sniff_layout(path: Path, source: str) -> str:
    """The layout whose required columns the file's header has: a pack's export layout, else 'table'."""
    cols = header(path, source)
    for name, layout in [*layouts().items(), ("table", TABLE)]:
        if _match(cols, layout) is not None:
            return name
    raise DataError(
        f"unrecognised layout (not {', '.join(layout_names())}); give data.incidents.columns to say which "
        f"column holds what; found columns {cols}",
        source=source,
        field="header",
    )


def _columns(df: pd.DataFrame, layout: Layout, source: str) -> dict[str, str]:
    found = _match([str(c) for c in df.columns], layout)
    if found is None:
        for key in layout.columns:
            if key in layout.optional:
                continue
            alts = layout.alternatives(key)
            if not any(a.lower() in {str(c).strip().lower() for c in df.columns} for a in alts):
                what = {"time": "time", "date": "date", "lat": "latitude", "lon": "longitude"}.get(key, key)
                raise DataError(
                    f"missing the {what} column (expected {' or '.join(alts)}); found {list(df.columns)}",
                    source=source,
                    field=alts[0],
                )
    return found or {}


@dataclass(frozen=True)
class TimeInfo:
    """How times were read: the zone and what was done with written offsets."""

    zone: str
    converted: int = 0


def parse_times(
    values: pd.Series,
    *,
    source: str,
    field: str,
    on_bad: str = "error",
    timezone: str | None = None,
    offsets: str = "convert",
) -> tuple[pd.Series, TimeInfo]:
    """Parse times with one explicit format per column (inferred from the first value).

    A value that does not parse is an error naming its 1-based row, its text and the format of the first
    row (a file mixing formats names the first row that differs), or NaT with ``on_bad='drop'``. Fractional
    seconds are ignored; offsets as described in the module docstring.
    """
    zone_note = f"local clock time as written{f' ({timezone})' if timezone else ''}"
    if pd.api.types.is_datetime64_any_dtype(values):  # typed (Parquet): naive times are local as written
        t = values
        converted = 0
        if getattr(t.dt, "tz", None) is not None:
            if timezone and offsets == "convert":
                t = t.dt.tz_convert(timezone)
                converted = len(t)
                zone_note = f"{timezone} (converted from the column's zone {values.dt.tz})"
            else:
                zone_note = f"local clock time of the column's zone ({values.dt.tz})"
            t = t.dt.tz_localize(None)
        return t.astype("datetime64[ns]"), TimeInfo(zone_note, converted)
    text = values.astype(str).str.strip()
    stripped = text.str.replace(_TAIL, "", regex=True).str.strip()
    nonempty = stripped != ""
    sample = stripped[nonempty]
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    fmt_used = None
    if len(sample):
        first = sample.iloc[0]
        for fmt in DATE_FORMATS:
            try:
                pd.to_datetime(first, format=fmt)
            except (ValueError, TypeError):
                continue
            parsed = pd.to_datetime(stripped, format=fmt, errors="coerce").astype("datetime64[ns]")
            fmt_used = fmt
            break
    bad = parsed.isna().to_numpy()
    if bad.any() and on_bad != "drop":
        i = int(np.flatnonzero(bad)[0])
        if fmt_used is None:
            why = "no known date format"
        elif text.iloc[i] == "":
            why = "empty"
        else:
            j = int(np.flatnonzero(nonempty.to_numpy())[0])
            why = f"not in the format of row {j + 1} ({fmt_used})"
        raise DataError(
            f"unparseable date {text.iloc[i]!r}: {why} ({int(bad.sum())} bad rows)",
            source=source,
            field=field,
            row=i + 1,
        )
    converted = 0
    if timezone and offsets == "convert":
        found = text.str.extract(_OFFSET, expand=False)
        has = found.notna().to_numpy() & ~bad
        if has.any():
            minutes = found[has].map(_offset_minutes).to_numpy(dtype=np.int64)
            utc = parsed[has].to_numpy() - minutes.astype("timedelta64[m]")
            local = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(timezone).tz_localize(None)
            parsed = parsed.copy()
            parsed[has] = local.to_numpy()
            converted = int(has.sum())
            zone_note = f"{timezone} ({converted} times converted from their written UTC offset)"
    elif offsets == "ignore" and text.str.extract(_OFFSET, expand=False).notna().any():
        zone_note = "local clock time as published (the written UTC offset is not one: ignored)"
    return parsed, TimeInfo(zone_note, converted)


def _offset_minutes(text: str) -> int:
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))


def numbers(values: pd.Series, *, source: str, field: str) -> np.ndarray:
    """Parse numbers; empty cells are NaN, anything else unparseable raises DataError naming the row."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan, copy=True)
    text = values.astype(str).str.strip()
    num = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(float, copy=True)
    bad = np.isnan(num) & (text != "").to_numpy() & ~text.str.lower().isin(["nan", "null", "none"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"unparseable number {text.iloc[i]!r}", source=source, field=field, row=i + 1)
    return num


def _text(df: pd.DataFrame, col: str | None) -> pd.Series:
    """Text values, None for empty cells."""
    if col is None:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype):  # a dictionary column: clean its categories only
        cats = s.cat.categories.astype(str).str.strip()
        if cats.is_unique and not (cats == "").any():
            return s.cat.rename_categories(cats)
    text = s.astype("string").str.strip()
    return text.astype(object).where(text.notna() & (text != ""), None)


def _integers(df: pd.DataFrame, col: str, source: str) -> pd.Series:
    """Whole-number labels as text ('32'), None where empty; anything else is an error naming the row."""
    num = numbers(df[col], source=source, field=col)
    bad = np.isfinite(num) & (num != np.round(num))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"not a whole number: {df[col].iloc[i]!r}", source=source, field=col, row=i + 1)
    out = np.full(len(num), None, dtype=object)
    finite = np.isfinite(num)
    if finite.any() and np.abs(num[finite]).max() < 2.0**63:  # as str(int(v)): whole numbers in int64
        out[finite] = num[finite].astype(np.int64).astype(str).astype(object)
    else:
        out[finite] = [str(int(v)) for v in num[finite]]
    return pd.Series(out, index=df.index, dtype=object)


def _times(
    df: pd.DataFrame, c: dict[str, str], layout: Layout, source: str, **kw
) -> tuple[pd.Series, TimeInfo]:
    if "date" in c and "time" in c:  # a date column and a time-of-day column
        date = df[c["date"]]
        date_text = (
            date.dt.strftime("%Y-%m-%d")
            if pd.api.types.is_datetime64_any_dtype(date)
            else date.astype(str).str.strip()
        )
        clock = df[c["time"]].astype(str).str.strip()
        both = (date_text + " " + clock).str.strip()
        return parse_times(
            both, source=source, field=f"{c['date']} + {c['time']}", offsets=layout.offsets, **kw
        )
    col = c.get("time") or c.get("date")
    if col is None:
        raise DataError(
            "no time column: map one with data.incidents.columns.time", source=source, field="time"
        )
    return parse_times(df[col], source=source, field=col, offsets=layout.offsets, **kw)


def read_incident_table(
    path: Path,
    layout: Layout,
    *,
    source: str,
    timezone: str | None = None,
    on_bad_dates: str = "error",
    default_crime_type: str = "unspecified",
) -> tuple[pd.DataFrame, TimeInfo]:
    """Read ``path`` through ``layout`` into the raw frame the cleaner takes (see the module docstring)."""
    df = read_table(path, source)
    c = _columns(df, layout, source)
    times, info = _times(df, c, layout, source, on_bad=on_bad_dates, timezone=timezone)
    out = pd.DataFrame({"incident_id": _text(df, c.get("id")), "time": times})
    for a, b in (("lon", "lat"), ("x", "y")):
        if a in c and b in c:
            va = numbers(df[c[a]], source=source, field=c[a])
            vb = numbers(df[c[b]], source=source, field=c[b])
            if a == "lon":  # lat/lon of 0 is no location in any city: a missing coordinate
                zero = (va == 0) | (vb == 0)
                va[zero] = np.nan
                vb[zero] = np.nan
            out[a], out[b] = va, vb
    if not ({"lon", "lat"} <= set(out.columns) or {"x", "y"} <= set(out.columns)):
        raise DataError(
            "no coordinate columns: map lat/lon (or x/y with incidents.crs) in data.incidents.columns",
            source=source,
            field="lat/lon",
        )
    if "crime_type" in c:
        types = _text(df, c["crime_type"])
        out["crime_type"] = types.where(types.notna(), default_crime_type).astype(str)
    else:
        out["crime_type"] = default_crime_type
    if "crime_code" in c:
        out["crime_code"] = _text(df, c["crime_code"])
    if "area" in c:
        out["source_area"] = (
            _integers(df, c["area"], source) if layout.area_type == "integer" else _text(df, c["area"])
        )
    else:
        out["source_area"] = None
    out["row"] = np.arange(1, len(df) + 1)
    lower = {str(col).strip().lower(): col for col in df.columns}
    for name, col in layout.extra.items():
        if col.lower() in lower:
            out[name] = _text(df, lower[col.lower()]).array
    return out, info
