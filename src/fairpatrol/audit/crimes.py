"""The incidents an audit scores against: located, placed in areas, filtered by type, each drop counted.

Input is a :class:`fairpatrol.data.Incidents` (its cleaning report is carried into the audit's notes) or a
tidy frame with ``time``, a crime-type column and either ``x``/``y`` in the areas' CRS or ``lon``/``lat``
in degrees, optionally with ``area_id`` (otherwise the areas are joined here, as
:func:`fairpatrol.data.assign_areas` does: within a polygon, or the nearest within 250 m). Incidents without
a date or a place, or outside every area, are left out and counted; none is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from fairpatrol.audit.notes import Note, plural
from fairpatrol.audit.sources import reject
from fairpatrol.data.areas import Areas
from fairpatrol.data.incidents import Incidents
from fairpatrol.data.readers import parse_times
from fairpatrol.data.spatial import assign_areas, project
from fairpatrol.errors import DataError

#: Distance (m) within which an incident outside every area is joined to the nearest one.
JOIN_TOLERANCE_M = 250.0


@dataclass(frozen=True, eq=False)
class CrimePoints:
    """Located incidents: time, projected position, area, whether snapped into it, type."""

    time: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    snapped: np.ndarray
    crime_type: np.ndarray
    first_day: pd.Timestamp
    last_day: pd.Timestamp
    has_time_of_day: bool
    source: str
    notes: tuple[Note, ...]

    @property
    def n(self) -> int:
        """Number of located incidents."""
        return len(self.time)


def same_areas(a: Areas, b: Areas) -> bool:
    """True when ``a`` and ``b`` are the same areas: same CRS, ids and polygons."""
    if a is b:
        return True
    return (
        a.crs == b.crs
        and a.n == b.n
        and bool(np.all(a.ids == b.ids))
        and bool(np.all(shapely.equals_exact(a.geometry, b.geometry, tolerance=1e-6)))
    )


def prepare_crimes(
    incidents: Incidents | pd.DataFrame,
    areas: Areas,
    *,
    type_column: str = "crime_type",
    crime_types: tuple[str, ...] | None = None,
    name: str = "incidents",
) -> CrimePoints:
    """Locate and filter ``incidents`` for an audit of ``areas`` (module docstring)."""
    notes: list[Note] = []
    if isinstance(incidents, Incidents):
        frame, src = incidents.frame, incidents.cleaning.source or name
        rep = incidents.cleaning
        dropped = {
            "without a date": rep.bad_dates,
            "without coordinates": rep.nan_coordinates,
            "outside every area": rep.outside_dropped,
            "duplicates": rep.duplicates_dropped,
        }
        for why, count in dropped.items():
            if count:
                notes.append(
                    Note(
                        "incidents_dropped_in_cleaning",
                        int(count),
                        f"{plural(int(count), 'incident')} of {src} were dropped when it was loaded ({why}).",
                    )
                )
        known_areas = same_areas(incidents.areas, areas)
    elif isinstance(incidents, pd.DataFrame):
        frame, src, known_areas = incidents, name, False
    else:
        raise DataError(f"expected Incidents or a DataFrame, got {type(incidents).__name__}", source=name)
    if len(frame) == 0:
        raise DataError("no incidents", source=src)
    for col in ("time", type_column):
        if col not in frame.columns:
            raise DataError(f"missing column; found {list(frame.columns)}", source=src, field=col)

    time = parse_times(frame["time"], source=src, field="time", on_bad="drop")[0].to_numpy("datetime64[ns]")
    keep = ~np.isnat(time)
    if not keep.any():
        raise DataError("no incident has a date", source=src, field="time")
    if (~keep).any():
        notes.append(
            Note(
                "incidents_without_date",
                int((~keep).sum()),
                f"{plural(int((~keep).sum()), 'incident')} of {src} have no date and are left out.",
            )
        )
    days = time[keep].astype("datetime64[D]")
    first_day, last_day = pd.Timestamp(days.min()), pd.Timestamp(days.max())

    if {"x", "y"} <= set(frame.columns):
        x = pd.to_numeric(frame["x"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(frame["y"], errors="coerce").to_numpy(float)
        if not known_areas and {"lon", "lat"} <= set(frame.columns):
            x, y = project(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), areas.crs)
    elif {"lon", "lat"} <= set(frame.columns):
        x, y = project(
            pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float),
            pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float),
            areas.crs,
        )
    else:
        raise DataError("incidents need x/y (in the areas' CRS) or lon/lat columns", source=src, field="x/y")
    placed = np.isfinite(x) & np.isfinite(y)
    no_place = keep & ~placed
    if no_place.any():
        notes.append(
            Note(
                "incidents_without_location",
                int(no_place.sum()),
                f"{plural(int(no_place.sum()), 'incident')} of {src} have no coordinates and are left out "
                "(they cannot be placed inside or outside a target).",
            )
        )
    keep &= placed

    if known_areas and "area_idx" in frame.columns:
        area = frame["area_idx"].to_numpy(np.int64)
        how = frame["assign"].to_numpy(dtype=object) if "assign" in frame.columns else None
        if how is None:
            inside = shapely.intersects(shapely.points(x, y), areas.geometry[np.clip(area, 0, None)])
            how = np.where(inside, "within", "nearest")
    elif "area_id" in frame.columns and not isinstance(incidents, Incidents):
        lookup = {a: i for i, a in enumerate(areas.ids)}
        ids = frame["area_id"].astype(str).to_numpy()
        area = np.array([lookup.get(a, -1) for a in ids], dtype=np.int64)
        bad = keep & (area < 0) & frame["area_id"].notna().to_numpy()
        reject(bad, lambda i: f"unknown area id {str(ids[i])!r}", source=src, field="area_id")
        inside = np.zeros(len(area), dtype=bool)
        ok = keep & (area >= 0)
        inside[ok] = shapely.intersects(shapely.points(x[ok], y[ok]), areas.geometry[area[ok]])
        how = np.where(inside, "within", "nearest")
    else:
        area, how = assign_areas(
            np.where(keep, x, np.nan), np.where(keep, y, np.nan), areas, tolerance_m=JOIN_TOLERANCE_M
        )
    outside = keep & (area < 0)
    if outside.any():
        notes.append(
            Note(
                "incidents_outside_areas",
                int(outside.sum()),
                f"{plural(int(outside.sum()), 'incident')} of {src} lie outside every area and are left out.",
            )
        )
    keep &= area >= 0
    snapped = keep & (how == "nearest")
    if snapped.any():
        notes.append(
            Note(
                "incidents_snapped",
                int(snapped.sum()),
                f"{plural(int(snapped.sum()), 'incident')} lie just outside their area "
                f"(≤ {JOIN_TOLERANCE_M:g} m) and are placed at its nearest point.",
            )
        )

    types = frame[type_column].astype(object).where(frame[type_column].notna(), "").astype(str).to_numpy()
    if crime_types is not None:
        wanted = {t.strip().upper() for t in crime_types}
        upper = np.char.upper(np.char.strip(types.astype(str)))
        chosen = np.isin(upper, list(wanted))
        missing = wanted - set(upper[keep])
        if missing:
            raise DataError(f"no incident of type(s) {sorted(missing)}", source=src, field=type_column)
        other = keep & ~chosen
        if other.any():
            notes.append(
                Note(
                    "incidents_other_types",
                    int(other.sum()),
                    f"{plural(int(other.sum()), 'incident')} of other crime types are not audited.",
                )
            )
        keep &= chosen
    if not keep.any():
        raise DataError("no incident left to audit", source=src)
    t = time[keep]
    return CrimePoints(
        time=t,
        x=x[keep],
        y=y[keep],
        area=area[keep].astype(np.int64),
        snapped=snapped[keep],
        crime_type=types[keep],
        first_day=first_day,
        last_day=last_day,
        has_time_of_day=bool((t != t.astype("datetime64[D]")).any()),
        source=src,
        notes=tuple(notes),
    )
