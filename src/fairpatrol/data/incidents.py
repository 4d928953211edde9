"""The tidy incident table and the one cleaning path every loader goes through.

Tidy columns (``Incidents.frame``), sorted by ``time`` then ``incident_id`` with a RangeIndex:

* ``incident_id`` (str, unique): the source's case number or ID when it has one, else built from the source
  row number (e.g. ``BAL-AA-000123``).
* ``time`` (datetime64[ns], **naive local time as published**: Baltimore and Chicago clock times are kept
  as printed; a trailing UTC offset such as ``+00`` in Open Baltimore exports is ignored by default, see
  :func:`fairpatrol.data.readers.read_open_baltimore_part1`). Bogotá has dates only (time 00:00).
* ``lon``, ``lat`` (WGS84 degrees), ``x``, ``y`` (metres in ``areas.crs``).
* ``crime_type`` (str), ``area_id`` (str), ``area_idx`` (int64 index into ``areas``), ``source_area`` (the
  source's own area label, str or None, kept for comparison), ``assign`` ('within' / 'nearest').
* Extra source columns such as ``crime_code`` or ``split`` are passed through.

Deduplication policy (SPEC §2: one policy for truth and training data):

* Open Baltimore publishes one row per *victim*. With a case number (``CCNumber`` / ``ccno``) rows sharing
  it are one incident (first row kept). Without one (the bundled 40 % sample) rows identical in (time,
  coordinates, crime code) are one incident: this drops 1,201 of 23,303 bundled rows.
* Chicago Data Portal rows are one per incident ``ID``; duplicated IDs (re-exports) are dropped. The bundled
  Chicago and Bogotá points have no ID and are distinct records (Bogotá points are synthetic, many share a
  location by construction), so they are not deduplicated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from fairpatrol.data.areas import Areas, load_areas
from fairpatrol.data.spatial import assign_areas, project
from fairpatrol.errors import DataError

DedupeOn = Literal["id", "fields", "none"]

BUNDLED_INCIDENTS: dict[str, tuple[str, str]] = {
    "baltimore-agg-assault": (
        "baltimore",
        "Open Baltimore aggravated assaults 2011-2023 in the 256 residential neighborhoods, a 40% random "
        "sample (saminsemsar/Data_Analysis_Portfolio)",
    ),
    "chicago-theft": (
        "chicago",
        "Chicago Data Portal THEFT + MOTOR VEHICLE THEFT 2022-01-01..2023-10-11 (alejo2193 repository)",
    ),
    "bogota-theft": (
        "bogota",
        "Bogota thefts 2018-2021, day resolution, synthetic jittered points from 200 m cell counts "
        "(alejo2193)",
    ),
}

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
class CleaningReport:
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
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass
class Incidents:
    """Tidy incidents of one source joined to ``areas``, with the report of how they were cleaned."""

    frame: pd.DataFrame
    areas: Areas
    report: CleaningReport

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
        wanted = {str(t).strip().upper() for t in ([types] if isinstance(types, str) else types)}
        mask = self.frame["crime_type"].str.upper().isin(wanted).to_numpy()
        if "crime_code" in self.frame:
            mask = mask | self.frame["crime_code"].astype(str).str.upper().isin(wanted).to_numpy()
        return self._subset(mask)

    def source_agreement(self) -> float:
        """Share of incidents whose spatial-join ``area_id`` equals the source's label (NaN if none)."""
        src = self.frame["source_area"]
        has = src.notna().to_numpy()
        if not has.any():
            return float("nan")
        a = self.frame["area_id"].to_numpy()[has]
        b = src.to_numpy()[has].astype(str)
        return float(np.mean(np.char.upper(a.astype(str)) == np.char.upper(b)))


def _first_bad(mask: np.ndarray, rows: np.ndarray) -> int:
    return int(rows[np.flatnonzero(mask)[0]])


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
) -> Incidents:
    """Clean a raw incident frame into :class:`Incidents` (the single path for bundled and user files).

    ``raw`` has ``time`` (datetime64, NaT = unparseable/missing), ``lon``, ``lat``, ``crime_type`` and
    optionally ``incident_id`` (None when unknown), ``source_area``, ``row`` (1-based source data row, used
    in messages) and extra columns. Steps, each counted in the report: crime-type filter, bad dates (error
    unless ``on_bad_dates='drop'``), missing coordinates (error unless ``on_missing_coords='drop'``),
    deduplication (see module docstring; ``dedupe_on='id'`` uses ``incident_id`` where present and
    ``dedupe_fields`` for rows without one, ``'fields'`` always uses ``dedupe_fields``, ``'none'`` keeps
    every row), spatial join (points farther than ``tolerance_m`` from every area are dropped; if all are,
    the CRS or lat/lon order is likely wrong and a :class:`DataError` is raised).
    """
    report = CleaningReport(source=source, rows_read=len(raw))
    if len(raw) == 0:
        raise DataError("empty file: no data rows", source=source)
    df = raw.copy()
    if "row" not in df:
        df["row"] = np.arange(1, len(df) + 1)
    if "incident_id" not in df:
        df["incident_id"] = None
    if "source_area" not in df:
        df["source_area"] = None
    for col in ("time", "lon", "lat", "crime_type"):
        if col not in df:
            raise DataError(f"missing required column; found {list(raw.columns)}", source=source, field=col)
    rows = df["row"].to_numpy()

    if crime_types is not None:
        wanted = {str(t).strip().upper() for t in crime_types}
        keep = df["crime_type"].astype(str).str.upper().isin(wanted).to_numpy()
        if "crime_code" in df:
            keep = keep | df["crime_code"].astype(str).str.upper().isin(wanted).to_numpy()
        report.type_filtered = int((~keep).sum())
        df = df.loc[keep]
        rows = df["row"].to_numpy()
        if len(df) == 0:
            raise DataError(f"no rows of crime type(s) {sorted(wanted)}", source=source, field="crime_type")

    bad = df["time"].isna().to_numpy()
    if bad.any():
        if on_bad_dates != "drop":
            raise DataError(
                f"missing date ({int(bad.sum())} such rows; on_bad_dates='drop' drops them)",
                source=source,
                field="time",
                row=_first_bad(bad, rows),
            )
        report.bad_dates = int(bad.sum())
        df = df.loc[~bad]
        rows = df["row"].to_numpy()

    lon = pd.to_numeric(df["lon"]).to_numpy(float)
    lat = pd.to_numeric(df["lat"]).to_numpy(float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        if on_missing_coords != "drop":
            raise DataError(
                f"missing/NaN coordinate ({int(bad.sum())} of {len(df)} rows; "
                "on_missing_coords='drop' drops them)",
                source=source,
                field="lat/lon",
                row=_first_bad(bad, rows),
            )
        report.nan_coordinates = int(bad.sum())
        df = df.loc[~bad]
        lon, lat = lon[~bad], lat[~bad]

    if dedupe and dedupe_on != "none":
        keys = [c for c in dedupe_fields if c in df]
        has_id = df["incident_id"].notna().to_numpy() if dedupe_on == "id" else np.zeros(len(df), dtype=bool)
        dup = np.zeros(len(df), dtype=bool)
        if has_id.any():
            dup[has_id] = df.loc[has_id, "incident_id"].astype(str).duplicated().to_numpy()
        if (~has_id).any():
            dup[~has_id] = df.loc[~has_id, keys].duplicated().to_numpy()
        report.duplicates_dropped = int(dup.sum())
        df = df.loc[~dup]
        lon, lat = lon[~dup], lat[~dup]

    x, y = project(lon, lat, areas.crs)
    idx, how = assign_areas(x, y, areas, tolerance_m=tolerance_m)
    outside = idx < 0
    if outside.all():
        raise DataError(
            f"all {len(df)} points are outside {areas.city} (> {tolerance_m:g} m from every area): "
            "likely wrong CRS (coordinates must be WGS84 degrees) or swapped latitude/longitude",
            source=source,
            field="lat/lon",
        )
    report.outside_dropped = int(outside.sum())
    report.nearest_assigned = int((how == "nearest").sum())
    report.within_assigned = int((how == "within").sum())
    keep = ~outside

    out = df.loc[keep].copy()
    out["lon"], out["lat"], out["x"], out["y"] = lon[keep], lat[keep], x[keep], y[keep]
    out["area_idx"] = idx[keep]
    out["area_id"] = areas.ids[idx[keep]]
    out["assign"] = how[keep].astype(str)
    out["time"] = pd.to_datetime(out["time"]).astype("datetime64[ns]")
    out["crime_type"] = out["crime_type"].astype(str)
    out["source_area"] = out["source_area"].astype(object).where(out["source_area"].notna(), None)

    ids = out["incident_id"].astype(object)
    missing = ids.isna().to_numpy()
    built = np.array([f"{id_prefix}-{int(r):07d}" for r in out["row"].to_numpy()], dtype=object)
    ids = np.where(missing, built, ids.to_numpy()).astype(str)
    s = pd.Series(ids)
    k = s.groupby(s).cumcount().to_numpy()
    if (k > 0).any():  # dedupe off: keep repeated case numbers as separate incidents with unique ids
        ids = np.where(k > 0, s + "#" + (k + 1).astype(str), ids)
        report.notes.append(f"{int((k > 0).sum())} repeated ids suffixed with #k")
    out["incident_id"] = ids

    extra = [c for c in out.columns if c not in TIDY_COLUMNS and c != "row"]
    out = out[TIDY_COLUMNS + extra].sort_values(["time", "incident_id"], kind="stable").reset_index(drop=True)
    report.kept = len(out)
    return Incidents(frame=out, areas=areas, report=report)


def _bundled(name: str) -> pd.DataFrame:
    from fairpatrol.data.areas import _read_parquet

    return _read_parquet(name)


def _raw_bundled(name: str) -> tuple[pd.DataFrame, str, DedupeOn]:
    if name == "baltimore-agg-assault":
        src = _bundled("baltimore_agg_assault.parquet")
        raw = pd.DataFrame(
            {
                "incident_id": None,
                "time": src["CrimeDateTime"],
                "lon": src["Longitude"],
                "lat": src["Latitude"],
                "crime_type": src["description"].astype(str),
                "crime_code": src["crimecode"].astype(str),
                "source_area": src["Neighborhood"].astype(str),
            }
        )
        return raw, "BAL-AA", "fields"
    if name == "chicago-theft":
        src = _bundled("chicago_thefts.parquet")
        area = src["area_num"]
        raw = pd.DataFrame(
            {
                "incident_id": None,
                "time": src["time"],
                "lon": src["longitude"],
                "lat": src["latitude"],
                "crime_type": "THEFT",
                "source_area": area.astype(object)
                .where(area.notna(), None)
                .map(lambda v: None if v is None else str(int(v))),
                "split": src["split"].astype(str),
            }
        )
        return raw, "CHI-TH", "none"
    src = _bundled("bogota_thefts.parquet")
    raw = pd.DataFrame(
        {
            "incident_id": None,
            "time": src["date"],
            "lon": src["lon"],
            "lat": src["lat"],
            "crime_type": "THEFT",
            "source_area": src["LocCodigo"].astype(str),
        }
    )
    return raw, "BOG-TH", "none"


def load_incidents(
    name: str,
    *,
    areas: Areas | None = None,
    tolerance_m: float = 250.0,
    dedupe: bool = True,
) -> Incidents:
    """Load a bundled incident set (see ``BUNDLED_INCIDENTS``) joined to its city's areas.

    ``areas`` defaults to ``load_areas(city)``; pass one to use another group rule. The dedup policy is the
    module docstring's; ``dedupe=False`` keeps repeated rows (Baltimore: one per victim).
    """
    if name not in BUNDLED_INCIDENTS:
        raise DataError(
            f"unknown bundled incident set {name!r}; expected one of {list(BUNDLED_INCIDENTS)}",
            field="name",
        )
    city = BUNDLED_INCIDENTS[name][0]
    if areas is None:
        areas = load_areas(city)
    elif areas.city != city:
        raise DataError(f"{name} is in {city} but areas are of {areas.city}", source=name, field="areas")
    raw, prefix, dedupe_on = _raw_bundled(name)
    raw["row"] = np.arange(1, len(raw) + 1)
    return clean_incidents(
        raw,
        areas,
        source=name,
        id_prefix=prefix,
        tolerance_m=tolerance_m,
        dedupe=dedupe,
        dedupe_on=dedupe_on,
        dedupe_fields=("time", "lon", "lat", "crime_code"),
    )
