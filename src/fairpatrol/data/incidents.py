"""The tidy incident table and the one cleaning path every loader goes through.

Tidy columns (``Incidents.frame``), sorted by ``time`` then ``incident_id`` with a RangeIndex:

* ``incident_id`` (str, unique): the source's case number or ID when it has one, else built from the source
  row number (e.g. ``BAL-AA-000123``).
* ``time`` (datetime64[ns], **naive local time as published**: Baltimore and Chicago clock times are kept
  as printed; a trailing UTC offset such as ``+00`` in Open Baltimore exports is ignored (the layout's
  ``offsets: ignore``); a scenario's ``incidents.timezone`` converts times written with a real offset, see
  :mod:`fairpatrol.data.readers`). Bogotá has dates only (time 00:00).
* ``lon``, ``lat`` (WGS84 degrees), ``x``, ``y`` (metres in ``areas.crs``; incidents given as x/y in
  another CRS are transformed).
* ``crime_type`` (str), ``area_id`` (str), ``area_idx`` (int64 index into ``areas``), ``source_area`` (the
  source's own area label, str or None, kept for comparison), ``assign`` ('within' / 'nearest').
* Extra source columns such as ``crime_code`` or ``split`` are passed through.

Deduplication policy (docs/methods.md, "Data": one policy for truth and training data):

* Open Baltimore publishes one row per *victim*. With a case number (``CCNumber`` / ``ccno``) rows sharing
  it are one incident (first row kept). Without one (the bundled 40 % sample) rows identical in (time,
  coordinates, crime code) are one incident: this drops 1,201 of 23,303 bundled rows.
* Chicago Data Portal rows are one per incident ``ID``; duplicated IDs (re-exports) are dropped. The bundled
  Chicago and Bogotá points have no ID and are distinct records (Bogotá points are synthetic, many share a
  location by construction), so they are not deduplicated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from fairpatrol.data.area_files import load_areas
from fairpatrol.data.areas import Areas
from fairpatrol.data.cities import BundledIncidents, CityPack, bundled_incident_sets, data_dir
from fairpatrol.data.spatial import assign_areas, project, transform
from fairpatrol.errors import DataError

DedupeOn = Literal["id", "fields", "none"]

#: Share of located incidents outside every area above which cleaning warns (the error threshold is the
#: caller's ``max_outside_share``, ``data.max_outside_share`` in a scenario).
WARN_OUTSIDE_SHARE = 0.05


def _bundled_index() -> dict[str, tuple[str, str]]:
    return {name: (pack.name, inc.description) for name, (pack, inc) in bundled_incident_sets().items()}


#: Bundled incident set name -> (city pack, description); declared in the packs (``fairpatrol/cities``).
BUNDLED_INCIDENTS: dict[str, tuple[str, str]] = _bundled_index()

TIDY_COLUMNS = [
    "incident_id",
    "time",
    "lon",
    "lat",
    "x",
    "y",
    "crime_type",
    "area_id",
    "area_idx",
    "source_area",
    "assign",
]


@dataclass
class CleaningLog:
    """What cleaning read, dropped and why. ``rows_read`` = ``kept`` + every dropped count."""

    source: str
    rows_read: int = 0
    type_filtered: int = 0
    bad_dates: int = 0
    nan_coordinates: int = 0
    duplicates_dropped: int = 0
    outside_dropped: int = 0
    nearest_assigned: int = 0
    within_assigned: int = 0
    kept: int = 0
    layout: str = ""
    time_zone: str = ""
    coordinates: str = "WGS84 longitude/latitude"
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass
class Incidents:
    """Tidy incidents of one source joined to ``areas``, with the log of how they were cleaned."""

    frame: pd.DataFrame
    areas: Areas
    cleaning: CleaningLog

    @property
    def n(self) -> int:
        """Number of incidents."""
        return len(self.frame)

    def _subset(self, mask: np.ndarray) -> Incidents:
        return replace(self, frame=self.frame.loc[mask].reset_index(drop=True))

    def between(self, start: object | None = None, end: object | None = None) -> Incidents:
        """Incidents with ``start <= time < end`` (either bound may be None)."""
        t = self.frame["time"]
        mask = np.ones(len(t), dtype=bool)
        if start is not None:
            mask &= (t >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            mask &= (t < pd.Timestamp(end)).to_numpy()
        return self._subset(mask)

    def of_types(self, types: str | list[str] | tuple[str, ...]) -> Incidents:
        """Incidents whose ``crime_type`` (or ``crime_code``) is one of ``types`` (case-insensitive)."""
        return self._subset(type_mask(self.frame, [types] if isinstance(types, str) else types))

    def source_agreement(self) -> float:
        """Share of incidents whose spatial-join ``area_id`` equals the source's label (NaN if none)."""
        src = self.frame["source_area"]
        has = src.notna().to_numpy()
        if not has.any():
            return float("nan")
        a = self.frame["area_id"].to_numpy()[has]
        b = src.to_numpy()[has].astype(str)
        return float(np.mean(np.char.upper(a.astype(str)) == np.char.upper(b)))


def type_mask(frame: pd.DataFrame, types: list[str] | tuple[str, ...]) -> np.ndarray:
    """Rows whose ``crime_type`` or ``crime_code`` is one of ``types`` (case-insensitive)."""
    wanted = {str(t).strip().upper() for t in types}
    mask = frame["crime_type"].astype(str).str.upper().isin(wanted).to_numpy()
    if "crime_code" in frame:
        mask = mask | frame["crime_code"].astype(str).str.upper().isin(wanted).to_numpy()
    return mask


def _first_bad(mask: np.ndarray, rows: np.ndarray) -> int:
    return int(rows[np.flatnonzero(mask)[0]])


def _all_str(values: np.ndarray) -> bool:
    """Whether every element of an object array is a Python ``str`` (str(v) would return it unchanged)."""
    return bool(pd.api.types.infer_dtype(values, skipna=False) == "string")


def clean_incidents(
    raw: pd.DataFrame,
    areas: Areas,
    *,
    source: str,
    id_prefix: str = "INC",
    tolerance_m: float = 250.0,
    dedupe: bool = True,
    dedupe_on: DedupeOn = "id",
    dedupe_fields: tuple[str, ...] = ("time", "lon", "lat", "crime_type", "crime_code"),
    on_missing_coords: Literal["error", "drop"] = "error",
    on_bad_dates: Literal["error", "drop"] = "error",
    crime_types: list[str] | tuple[str, ...] | None = None,
    crs: str | None = None,
    max_outside_share: float = 1.0,
) -> Incidents:
    """Clean a raw incident frame into :class:`Incidents` (the single path for bundled and user files).

    ``raw`` has ``time`` (datetime64, NaT = unparseable/missing), ``lon``/``lat`` (WGS84 degrees) or
    ``x``/``y`` in ``crs``, ``crime_type`` and optionally ``incident_id`` (None when unknown),
    ``source_area``, ``row`` (1-based source data row, used in messages) and extra columns. Steps, each
    counted in the cleaning log: crime-type filter (an error when nothing matches), bad dates (error unless
    ``on_bad_dates='drop'``), dates after today (an error: a wrong format or year), missing coordinates
    (error unless ``on_missing_coords='drop'``), deduplication (see module docstring; ``dedupe_on='id'`` uses
    ``incident_id`` where present and ``dedupe_fields`` for rows without one, ``'fields'`` always uses
    ``dedupe_fields``, ``'none'`` keeps every row), spatial join (points farther than ``tolerance_m`` from
    every area are dropped; a warning above :data:`WARN_OUTSIDE_SHARE` of them, a :class:`DataError` above
    ``max_outside_share`` — most often a wrong CRS or swapped latitude/longitude).
    """
    log = CleaningLog(source=source, rows_read=len(raw))
    if len(raw) == 0:
        raise DataError("empty file: no data rows", source=source)
    df = raw.copy()
    if "row" not in df:
        df["row"] = np.arange(1, len(df) + 1)
    if "incident_id" not in df:
        df["incident_id"] = None
    if "source_area" not in df:
        df["source_area"] = None
    projected = {"x", "y"} <= set(df.columns) and not {"lon", "lat"} <= set(df.columns)
    coords = ("x", "y") if projected else ("lon", "lat")
    if projected and crs is None:
        raise DataError("x/y coordinates need their CRS", source=source, field="crs")
    for col in ("time", *coords, "crime_type"):
        if col not in df:
            raise DataError(f"missing required column; found {list(raw.columns)}", source=source, field=col)
    if projected:
        log.coordinates = f"x/y in {crs}"
    rows = df["row"].to_numpy()

    if crime_types is not None:
        wanted = {str(t).strip().upper() for t in crime_types}
        keep = type_mask(df, crime_types)
        log.type_filtered = int((~keep).sum())
        if not keep.any():
            top = df["crime_type"].astype(str).str.upper().value_counts().index[:5]
            common = ", ".join(repr(t) for t in top)
            raise DataError(
                f"no row of crime type(s) {sorted(wanted)} (the most common types are {common})",
                source=source,
                field="crime_types",
            )
        df = df.loc[keep]
        rows = df["row"].to_numpy()

    bad = df["time"].isna().to_numpy()
    if bad.any():
        if on_bad_dates != "drop":
            raise DataError(
                f"missing date ({int(bad.sum())} such rows; on_bad_dates: drop drops them)",
                source=source,
                field="time",
                row=_first_bad(bad, rows),
            )
        log.bad_dates = int(bad.sum())
        df = df.loc[~bad]
        rows = df["row"].to_numpy()
    future = (df["time"] > pd.Timestamp(dt.date.today()) + pd.Timedelta(days=2)).to_numpy()
    if future.any():
        i = int(np.flatnonzero(future)[0])
        raise DataError(
            f"date in the future: {df['time'].iloc[i]:%Y-%m-%d} ({int(future.sum())} such rows; a wrong year "
            "or day/month order?)",
            source=source,
            field="time",
            row=int(rows[i]),
        )

    a = pd.to_numeric(df[coords[0]]).to_numpy(float)
    b = pd.to_numeric(df[coords[1]]).to_numpy(float)
    bad = ~(np.isfinite(a) & np.isfinite(b))
    if bad.any():
        if on_missing_coords != "drop":
            raise DataError(
                f"missing/NaN coordinate ({int(bad.sum())} of {len(df)} rows; "
                "on_missing_coords: drop drops them)",
                source=source,
                field="/".join(coords[::-1]) if not projected else "x/y",
                row=_first_bad(bad, rows),
            )
        log.nan_coordinates = int(bad.sum())
        df = df.loc[~bad]
        a, b = a[~bad], b[~bad]

    if dedupe and dedupe_on != "none":
        keys = [c for c in dedupe_fields if c in df]
        has_id = df["incident_id"].notna().to_numpy() if dedupe_on == "id" else np.zeros(len(df), dtype=bool)
        dup = np.zeros(len(df), dtype=bool)
        if has_id.any():
            dup[has_id] = df.loc[has_id, "incident_id"].astype(str).duplicated().to_numpy()
        if (~has_id).any():
            dup[~has_id] = df.loc[~has_id, keys].duplicated().to_numpy()
        log.duplicates_dropped = int(dup.sum())
        df = df.loc[~dup]
        a, b = a[~dup], b[~dup]

    if projected:
        x, y = transform(a, b, str(crs), areas.crs)
        lon, lat = transform(a, b, str(crs), "EPSG:4326")
    else:
        lon, lat = a, b
        x, y = project(lon, lat, areas.crs)
    idx, how = assign_areas(x, y, areas, tolerance_m=tolerance_m)
    outside = idx < 0
    share = float(outside.mean()) if len(outside) else 0.0
    hint = (
        "likely wrong CRS (lat/lon must be WGS84 degrees; x/y need incidents.crs) or swapped latitude/"
        "longitude, or incidents of another place"
    )
    if outside.all():
        raise DataError(
            f"all {len(df)} points are outside {areas.title} (> {tolerance_m:g} m from every area): {hint}",
            source=source,
            field="/".join(coords[::-1]) if not projected else "x/y",
        )
    if share > max_outside_share:
        raise DataError(
            f"{outside.sum():,} of {len(df):,} points ({share:.0%}) are outside {areas.title} (> "
            f"{tolerance_m:g} m from every area), more than data.max_outside_share = {max_outside_share:g}: "
            f"{hint}; raise data.max_outside_share to accept it",
            source=source,
            field="/".join(coords[::-1]) if not projected else "x/y",
        )
    if share > WARN_OUTSIDE_SHARE:
        log.warnings.append(
            f"{outside.sum():,} of {len(df):,} incidents ({share:.0%}) fall outside every area and were "
            "dropped"
        )
    log.outside_dropped = int(outside.sum())
    log.nearest_assigned = int((how == "nearest").sum())
    log.within_assigned = int((how == "within").sum())
    keep = ~outside

    out = df.loc[keep].copy()
    out = out.drop(columns=[c for c in ("x", "y") if c in out.columns])
    out["lon"], out["lat"], out["x"], out["y"] = lon[keep], lat[keep], x[keep], y[keep]
    out["area_idx"] = idx[keep]
    out["area_id"] = areas.ids[idx[keep]]
    out["assign"] = how[keep].astype(str)
    out["time"] = pd.to_datetime(out["time"]).astype("datetime64[ns]")
    out["crime_type"] = out["crime_type"].astype(str)
    out["source_area"] = out["source_area"].astype(object).where(out["source_area"].notna(), None)

    ids = out["incident_id"].astype(object)
    missing = ids.isna().to_numpy()
    given = ids.to_numpy()
    built = [f"{id_prefix}-{int(r):07d}" for r in out["row"].to_numpy()[missing]]
    text = np.empty(len(given), dtype=object)  # str of every id, as numpy's astype(str) gives it
    known = given[~missing]
    text[~missing] = known if _all_str(known) else [str(v) for v in known]
    text[missing] = built
    s = pd.Series(text, dtype=object)
    if s.duplicated().any():  # dedupe off: keep repeated case numbers as separate incidents with unique ids
        k = s.groupby(s).cumcount().to_numpy()
        text = np.where(k > 0, s + "#" + (k + 1).astype(str), text)
        log.notes.append(f"{int((k > 0).sum())} repeated ids suffixed with #k")
    out["incident_id"] = text.astype(str)

    extra = [c for c in out.columns if c not in TIDY_COLUMNS and c != "row"]
    out = out[TIDY_COLUMNS + extra].sort_values(["time", "incident_id"], kind="stable").reset_index(drop=True)
    log.kept = len(out)
    return Incidents(frame=out, areas=areas, cleaning=log)


def read_incidents(
    path: Path,
    layout_name: str,
    layout,
    areas: Areas,
    *,
    source: str,
    id_prefix: str,
    dedupe_on: DedupeOn = "id",
    dedupe_fields: tuple[str, ...] | None = None,
    dedupe: bool = True,
    timezone: str | None = None,
    crs: str | None = None,
    default_crime_type: str = "unspecified",
    tolerance_m: float = 250.0,
    crime_types: list[str] | tuple[str, ...] | None = None,
    on_missing_coords: Literal["error", "drop"] = "error",
    on_bad_dates: Literal["error", "drop"] = "error",
    max_outside_share: float = 1.0,
    subset: list[str] | tuple[str, ...] | None = None,
) -> Incidents:
    """Read an incident table through ``layout`` and clean it (the path of bundled and user files alike).

    ``subset`` keeps only rows of these crime types (or codes) before anything is counted: the rows of a
    bundled set that shares its file with others.
    """
    from fairpatrol.data.readers import read_incident_table

    raw, info = read_incident_table(
        path,
        layout,
        source=source,
        timezone=timezone,
        on_bad_dates=on_bad_dates,
        default_crime_type=default_crime_type,
    )
    if subset:
        raw = raw.loc[type_mask(raw, subset)].reset_index(drop=True)
    inc = clean_incidents(
        raw,
        areas,
        source=source,
        id_prefix=id_prefix,
        tolerance_m=tolerance_m,
        dedupe=dedupe,
        dedupe_on=dedupe_on,
        dedupe_fields=tuple(dedupe_fields)
        if dedupe_fields
        else ("time", "lon", "lat", "crime_type", "crime_code"),
        on_missing_coords=on_missing_coords,
        on_bad_dates=on_bad_dates,
        crime_types=crime_types,
        crs=crs,
        max_outside_share=max_outside_share,
    )
    inc.cleaning.layout = layout_name
    inc.cleaning.time_zone = info.zone
    return inc


def bundled_set(name: str) -> tuple[CityPack, BundledIncidents]:
    """A bundled incident set and its pack; a one-line error naming the known sets otherwise."""
    sets = bundled_incident_sets()
    if name not in sets:
        raise DataError(
            f"unknown bundled incident set {name!r}; expected one of {list(sets)}", field="incidents"
        )
    return sets[name]


def load_incidents(
    name: str,
    *,
    areas: Areas | None = None,
    tolerance_m: float = 250.0,
    dedupe: bool = True,
    crime_types: list[str] | tuple[str, ...] | None = None,
    max_outside_share: float = 1.0,
) -> Incidents:
    """Load a bundled incident set (``fairpatrol datasets`` lists them) joined to ``areas``.

    ``areas`` defaults to the set's city areas; any areas of the same place work (another group rule, your
    own polygons, a grid). The deduplication policy is the pack's (module docstring); ``dedupe=False``
    keeps repeated rows (Baltimore: one per victim). ``crime_types`` keeps rows whose crime type or code
    is listed (case-insensitive); in ``baltimore-part1`` the crime type is one of the 15 crime groups
    (``AGG. ASSAULT``, ``BURGLARY``, ...) and ``description`` holds the detailed one. Records a set cannot
    place (no coordinates) are left out with a warning saying why (``cleaning.warnings``); the set's caveats
    are in ``cleaning.notes``.

    Examples
    --------
    >>> inc = load_incidents("chicago-theft")
    >>> inc.cleaning.kept, inc.cleaning.outside_dropped
    (140099, 2)
    >>> y2019 = load_incidents("baltimore-part1").between("2019-01-01", "2020-01-01")
    >>> y2019.frame.groupby("crime_type").size()["AGG. ASSAULT"]  # doctest: +SKIP
    """
    pack, spec = bundled_set(name)
    from fairpatrol.data.readers import get_layout

    layout = spec.layout if not isinstance(spec.layout, str) else get_layout(spec.layout)
    layout_name = spec.layout if isinstance(spec.layout, str) else f"{name} (bundled)"
    inc = read_incidents(
        data_dir() / spec.file,
        layout_name,
        layout,
        areas if areas is not None else load_areas(pack.name),
        source=name,
        id_prefix=spec.id_prefix,
        dedupe_on=spec.dedupe,
        dedupe_fields=tuple(spec.dedupe_fields) if spec.dedupe_fields else None,
        dedupe=dedupe,
        timezone=pack.timezone,
        default_crime_type=spec.default_crime_type,
        tolerance_m=tolerance_m,
        crime_types=crime_types,
        max_outside_share=max_outside_share,
        on_missing_coords=spec.on_missing_coords,
        subset=spec.crime_types,
    )
    rep = inc.cleaning
    if rep.nan_coordinates:
        rows = rep.rows_read - rep.type_filtered - rep.bad_dates
        why = f": {' '.join(spec.missing_coords_reason.split())}" if spec.missing_coords_reason else ""
        rep.warnings.append(
            f"{rep.nan_coordinates:,} of {rows:,} records ({rep.nan_coordinates / rows:.1%}) have no "
            f"coordinates and are left out{why}"
        )
    rep.notes.extend(" ".join(n.split()) for n in spec.notes)
    return inc


def load_incident_file(
    path: str | Path,
    *,
    areas: Areas,
    format: str = "auto",
    crime_types: list[str] | tuple[str, ...] | None = None,
    tolerance_m: float = 250.0,
    dedupe: bool = True,
    on_missing_coords: Literal["error", "drop"] = "error",
    on_bad_dates: Literal["error", "drop"] = "error",
    source: str | None = None,
) -> Incidents:
    """Read a user's incident file in a recognised layout (``format``: auto, table or an export layout of
    a city pack, see :func:`fairpatrol.data.readers.layout_names`), clean it and join it to ``areas``.

    For a column mapping, time zone or x/y coordinates use :func:`fairpatrol.data.inputs.load_data` with a
    scenario's ``data`` section. ``crime_types`` keeps rows whose crime type or code is listed,
    case-insensitively. Deduplication is on the id where present, else on (time, coordinates, crime type,
    crime code); ``dedupe=False`` keeps every row.
    """
    from fairpatrol.data.readers import get_layout, sniff_layout

    path = Path(path)
    src = source or path.name
    name = sniff_layout(path, src) if format == "auto" else format
    return read_incidents(
        path,
        name,
        get_layout(name),
        areas,
        source=src,
        id_prefix=path.stem.upper()[:12] or "INC",
        dedupe=dedupe,
        tolerance_m=tolerance_m,
        crime_types=crime_types,
        on_missing_coords=on_missing_coords,
        on_bad_dates=on_bad_dates,
    )
