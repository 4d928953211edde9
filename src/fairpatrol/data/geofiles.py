"""Reading an areas file: GeoJSON, GeoPackage, Shapefile, GeoParquet (GeoPandas + pyogrio), or Parquet
with a WKB ``geometry`` column and a declared CRS (how the bundled city packs ship their areas).

What is checked, repaired and reported (docs/your-own-city.md#areas):

* the id column exists, has no empty value and no duplicate (errors naming the file, column and row);
* the CRS: a file without one is read as longitude/latitude when its coordinates look like degrees and is
  refused otherwise; the working CRS (metres) is the one named in the scenario, else the file's projected
  CRS in metres, else the local UTM zone estimated from the data — the reason is kept with the areas;
* invalid geometries are repaired (``shapely.make_valid``, keeping the polygonal parts), areas that are
  empty after that are dropped, and areas overlapping by more than :data:`OVERLAP_SHARE` of the smaller
  one are listed, all by id, in the notes (points in an overlap go to the lower-numbered area).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from fairpatrol.data.formats import file_format
from fairpatrol.errors import DataError
from fairpatrol.schema import AreasFileConfig

#: Overlaps smaller than this share of the smaller area (e.g. slivers of simplified shared boundaries) are
#: not reported.
OVERLAP_SHARE = 0.01
#: The columns an areas frame is built with; file attributes with these names are kept as ``file_<name>``.
RESERVED = ("area_id", "name", "group", "area_m2")
_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


@dataclass(frozen=True)
class AreaFile:
    """An areas file read and checked: attributes, geometry in ``crs`` (metres), and what was found."""

    frame: pd.DataFrame  # area_id, name, area_m2 and the file's attributes
    geometry: np.ndarray
    crs: str
    crs_reason: str
    notes: tuple[str, ...]


def check_readable(path: Path, source: str) -> None:
    """One-line errors for a missing path, a directory where a file is expected, or no read permission."""
    if not path.exists():
        raise DataError("file not found", source=source)
    if path.is_dir():
        raise DataError("is a directory; expected a file", source=source)
    if not os.access(path, os.R_OK):
        raise DataError("no permission to read the file", source=source)


def _first_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:200]


def _read_frame(path: Path, spec: AreasFileConfig, source: str):
    """The file as a GeoDataFrame (CRS as declared, possibly None)."""
    import geopandas as gpd

    if file_format(path) == "parquet":
        try:
            return gpd.read_parquet(path)
        except ValueError as err:
            if "geo" not in str(err).lower():
                raise DataError(f"cannot read Parquet: {_first_line(err)}", source=source) from None
        except Exception as err:  # pyarrow raises several types for corrupt files
            raise DataError(f"cannot read Parquet: {_first_line(err)}", source=source) from None
        raw = pd.read_parquet(path)  # plain Parquet: WKB in a 'geometry' column
        if "geometry" not in raw.columns:
            raise DataError(
                "a Parquet areas file needs GeoParquet metadata or a WKB 'geometry' column",
                source=source,
                field="geometry",
            )
        try:
            geom = shapely.from_wkb(raw.pop("geometry").to_numpy())
        except shapely.errors.GEOSException as err:
            raise DataError(
                f"geometry is not WKB: {_first_line(err)}", source=source, field="geometry"
            ) from None
        return gpd.GeoDataFrame(raw, geometry=geom, crs=None)
    try:
        return gpd.read_file(path, layer=spec.layer, engine="pyogrio")
    except UnicodeDecodeError as err:
        raise DataError(f"not UTF-8 text: {err.reason}", source=source) from None
    except Exception as err:  # pyogrio/GDAL errors: unreadable format, unknown layer, corrupt file
        raise DataError(f"cannot read as a GIS file: {_first_line(err)}", source=source) from None


def _looks_like_degrees(geometry: np.ndarray) -> bool:
    xmin, ymin, xmax, ymax = shapely.total_bounds(geometry)
    return bool(
        np.isfinite([xmin, ymin, xmax, ymax]).all()
        and -180 <= xmin <= xmax <= 180
        and -90 <= ymin <= ymax <= 90
    )


def _in_metres(crs: CRS) -> bool:
    return crs.is_projected and all(a.unit_name in ("metre", "meter") for a in crs.axis_info[:2])


def _crs_text(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_string()


def _working_crs(gdf, spec: AreasFileConfig, source: str) -> tuple[Any, str, str, list[str]]:
    """(GeoDataFrame with a CRS, working CRS text, reason, notes)."""
    notes: list[str] = []
    geoms = gdf.geometry.to_numpy()
    if spec.file_crs is not None:
        if gdf.crs is not None and CRS(gdf.crs) != CRS.from_user_input(spec.file_crs):
            notes.append(f"the file declares {_crs_text(CRS(gdf.crs))}; read as {spec.file_crs} (file_crs)")
        gdf = gdf.set_crs(spec.file_crs, allow_override=True)
    elif gdf.crs is None:
        if not _looks_like_degrees(geoms):
            xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
            raise DataError(
                f"the file declares no CRS and its coordinates (x {xmin:,.0f} to {xmax:,.0f}, "
                f"y {ymin:,.0f} to {ymax:,.0f}) are not degrees: "
                "name their CRS with data.areas.file_crs (e.g. EPSG:2248)",
                source=source,
                field="crs",
            )
        gdf = gdf.set_crs("EPSG:4326")
        notes.append("the file declares no CRS; its coordinates look like degrees: read as WGS84 lon/lat")
    file_crs = CRS(gdf.crs)
    if file_crs.is_geographic and not _looks_like_degrees(geoms):
        raise DataError(
            f"the file's CRS ({_crs_text(file_crs)}) is longitude/latitude but its coordinates "
            "are not degrees (a GeoJSON without a 'crs' member is read as WGS84): "
            "name their CRS with data.areas.file_crs",
            source=source,
            field="crs",
        )
    if spec.crs is not None:
        target = CRS.from_user_input(spec.crs)
        if not _in_metres(target):
            raise DataError(
                f"{spec.crs} is not a projected CRS in metres (distances and kernels are in metres)",
                source=source,
                field="crs",
            )
        reason = "named in the scenario (data.areas.crs)"
    elif _in_metres(file_crs):
        target = file_crs
        reason = "the file's projected CRS" + (" (declared by file_crs)" if spec.file_crs else "")
    else:
        target = gdf.estimate_utm_crs()
        unit = file_crs.axis_info[0].unit_name if file_crs.axis_info else "degrees"
        why = "longitude/latitude" if file_crs.is_geographic else f"a projected CRS in {unit}"
        reason = f"the local UTM zone, estimated from the data (the file is in {why})"
    return gdf, _crs_text(target), reason, notes


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a repaired geometry (a GeometryCollection keeps its polygons)."""
    if shapely.get_type_id(geom) in _POLYGONAL:
        return geom
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in _POLYGONAL]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def _shown(ids: list[str], k: int = 8) -> str:
    return ", ".join(repr(str(i)) for i in ids[:k]) + (f" and {len(ids) - k} more" if len(ids) > k else "")


def read_area_file(path: Path, spec: AreasFileConfig, *, source: str) -> AreaFile:
    """Read, check and repair an areas file (see the module docstring); ``source`` names it in messages."""
    check_readable(path, source)
    gdf = _read_frame(path, spec, source)
    if len(gdf) == 0:
        raise DataError("no areas (the file has no features)", source=source)
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    if spec.id not in columns:
        raise DataError(
            f"missing the id column (columns: {', '.join(columns)}); name it with data.areas.id",
            source=source,
            field=spec.id,
        )
    name_col = spec.name or ("name" if "name" in columns else spec.id)
    if name_col not in columns:
        raise DataError(
            f"missing the name column (columns: {', '.join(columns)})", source=source, field=name_col
        )
    raw_ids = gdf[spec.id]
    text_ids = raw_ids.map(_id_text)
    empty = text_ids.isna().to_numpy()
    if empty.any():
        raise DataError(
            f"empty id ({int(empty.sum())} area(s) without one)",
            source=source,
            field=spec.id,
            row=int(np.argmax(empty)) + 1,
        )
    dup = text_ids.duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise DataError(f"duplicate id {text_ids.iloc[i]!r}", source=source, field=spec.id, row=i + 1)
    ids = np.array([str(i) for i in text_ids], dtype=object)

    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms)
    if missing.any():
        i = int(np.argmax(missing))
        raise DataError(f"area {ids[i]!r} has no geometry", source=source, field="geometry", row=i + 1)
    gdf, crs, reason, notes = _working_crs(gdf, spec, source)
    gdf = gdf.to_crs(crs)
    geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        geoms[invalid] = [_polygonal(g) for g in shapely.make_valid(geoms[invalid])]
        notes.append(
            f"{invalid.size} invalid geometr{'y' if invalid.size == 1 else 'ies'} repaired: "
            + _shown(list(ids[invalid]))
        )
    types = shapely.get_type_id(geoms)
    wrong = np.flatnonzero(~np.isin(types, _POLYGONAL) & ~shapely.is_empty(geoms))
    if wrong.size:
        i = int(wrong[0])
        raise DataError(
            f"area {str(ids[i])!r} is a {geoms[i].geom_type}; areas must be polygons",
            source=source,
            field="geometry",
            row=i + 1,
        )
    area = shapely.area(geoms)
    empty = np.flatnonzero(shapely.is_empty(geoms) | ~(area > 0))
    keep = np.ones(len(geoms), dtype=bool)
    if empty.size:
        if empty.size == len(geoms):
            raise DataError("every area is empty (no surface)", source=source, field="geometry")
        keep[empty] = False
        notes.append(f"{empty.size} empty area(s) left out: {_shown(list(ids[empty]))}")
    notes += _overlaps(geoms[keep], ids[keep])

    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).loc[keep].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "area_id": ids[keep].astype(object),
            "name": attrs[name_col].map(lambda v: "" if v is None or v is pd.NA else str(v)).astype(object),
        }
    )
    given_area = attrs.get("area_m2")
    if given_area is not None and pd.api.types.is_numeric_dtype(given_area) and given_area.notna().all():
        frame["area_m2"] = given_area.to_numpy(float)  # measured before simplification (bundled packs)
    else:
        frame["area_m2"] = area[keep].astype(float)
    for col in attrs.columns:
        if col in (spec.id, name_col, "area_m2"):
            continue
        frame[f"file_{col}" if col in RESERVED else str(col)] = attrs[col].to_numpy()
    geometry = geoms[keep]
    geometry.flags.writeable = False
    return AreaFile(frame, geometry, crs, reason, tuple(notes))


def _id_text(value: object) -> str | None:
    """An id as text: whole numbers without a decimal point; None for an empty cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _overlaps(geoms: np.ndarray, ids: np.ndarray) -> list[str]:
    """A note listing the pairs of areas overlapping by more than OVERLAP_SHARE of the smaller one."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    k = a < b
    a, b = a[k], b[k]
    if not a.size:
        return []
    overlap = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    smaller = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
    big = np.flatnonzero(overlap > OVERLAP_SHARE * smaller)
    if not big.size:
        return []
    pairs = [f"{str(ids[a[i]])!r} & {str(ids[b[i]])!r} ({overlap[i]:,.0f} m²)" for i in big[:8]]
    more = f" and {big.size - 8} more" if big.size > 8 else ""
    return [
        f"{big.size} pair(s) of areas overlap (points there go to the first-listed area): "
        f"{', '.join(pairs)}{more}"
    ]
