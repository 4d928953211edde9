"""An agency's real targets, read, validated and normalised against a city's areas (:class:`TargetSet`).

Three kinds of input, each read by one function:

* :func:`designated_zones`: patrol zones (polygons) with optional ``valid_from`` / ``valid_to`` dates
  (inclusive; an empty cell is an open bound). Each zone is one target, active on every day of its
  validity (e.g. Baltimore's 2019 Focused Patrol Areas).
* :func:`daily_targets`: the layout of vendors' prediction exports, one row per (date, optional shift,
  target): a cell polygon, or a point with a box size in metres (a square of that side centred on the point,
  axis-aligned in ``box_crs``), and an optional score or rank. The Markup's PredPol records are of this
  kind: a date, a box centre to 4 decimals, boxes of about 500 ft and, in Plainfield, shifts A-D (The
  Markup 2021, ``the-markup/investigation-prediction-bias``; 2023, ``investigation-geolitica-plainfield``).
* :func:`patrol_effort`: patrol logs, one row per (date, optional shift, area) with officers or minutes.

All three produce the same normalised form: the K distinct target geometries in the areas' CRS, their
:class:`~fairpatrol.audit.coverage.Coverage` (clipped to the city, split by area, overlaps cut) and a table
of *records*, one per active target and period, with a time interval ``[begin, end)``:

* a day's target: ``[date, date + 1 day)``; with ``shift_times`` ``[date + start, date + start + length)``;
* a zone: ``[valid_from, valid_to + 1 day)`` (NaT = open, clipped later to the audit period);
* a patrol-log row: ``[date, date + 1 day)`` with its effort.

Inputs are checked row by row: a missing column, an unparseable date or number, an empty or non-polygonal
geometry, a box size ≤ 0, an unknown area id or shift, a validity range that ends before it starts, or
polygons whose CRS is unknown raise :class:`~fairpatrol.errors.DataError` naming the file, field and row.
What can be scored in part is kept and counted in :attr:`TargetSet.notes`: invalid polygons repaired,
polygons reprojected, duplicate targets counted once, targets (partly) outside the city, boxes split
across areas, overlapping targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from fairpatrol.audit.coverage import Coverage, build_coverage, identity_coverage
from fairpatrol.audit.notes import Note, area_text, plural
from fairpatrol.audit.sources import days, labels, numbers, optional_days, read_source, reject, require
from fairpatrol.data.areas import Areas
from fairpatrol.errors import DataError

Kind = Literal["zones", "daily", "effort"]
ScoreKind = Literal["expected_count", "probability", "relative"]
SCORE_KINDS = ("expected_count", "probability", "relative")
DAY = pd.Timedelta(days=1)
RECORD_COLUMNS = ["begin", "end", "target", "score", "effort", "shift", "types", "row"]


@dataclass(frozen=True, eq=False)
class TargetSet:
    """Targets normalised against one city's areas (see the module docstring).

    Attributes
    ----------
    kind : {'zones', 'daily', 'effort'}
        Which reader made it.
    source : str
        The file's base name (or the name given for a DataFrame), used in messages.
    areas : Areas
        The areas the targets were normalised against.
    target_ids : ndarray of str, shape (K,)
        One label per distinct target (zone id, cell label, area id).
    geometry : ndarray of shapely geometries, shape (K,)
        Target polygons in ``areas.crs`` as given (not clipped).
    coverage : Coverage
        Atoms: the targets clipped to the city, split by area, overlaps cut.
    records : pandas.DataFrame
        One row per active (target, period): ``begin``, ``end`` (datetime64, end exclusive, NaT = open),
        ``target`` (int index into ``target_ids``), ``score`` (float, NaN without), ``effort`` (float, NaN
        unless kind is 'effort'), ``shift`` (str, '' without), ``types`` (the crime types it is for, '' =
        all) and ``row`` (1-based source row).
    score_kind : {'expected_count', 'probability', 'relative'} or None
        What a score means: expected crimes in the target during its period, the probability of at least
        one, or only an order (ranks, vendor risk scores). None without scores.
    effort_unit : str or None
        Unit of patrol effort (e.g. 'officers', 'minutes').
    notes : tuple of Note
        What reading counted or repaired.
    types_field : str or None
        The source column listing each target's crime types (records' ``types``: upper-case names joined
        by '|', '' = every type), or None when targets are for every type.

    Examples
    --------
    >>> import shapely, pandas as pd
    >>> from fairpatrol.audit.toy import toy_areas
    >>> areas = toy_areas()
    >>> zones = pd.DataFrame({"geometry": [shapely.box(0, 0, 100, 100).wkt]})
    >>> t = designated_zones(areas, zones, crs=areas.crs)
    >>> t.kind, len(t.target_ids), float(t.coverage.target_m2[0])
    ('zones', 1, 10000.0)
    """

    kind: Kind
    source: str
    areas: Areas
    target_ids: np.ndarray
    geometry: np.ndarray
    coverage: Coverage
    records: pd.DataFrame
    score_kind: ScoreKind | None
    effort_unit: str | None
    notes: tuple[Note, ...]
    types_field: str | None = None

    @property
    def n_targets(self) -> int:
        """Number of distinct targets K."""
        return len(self.target_ids)

    @property
    def has_scores(self) -> bool:
        """True when records carry scores."""
        return self.score_kind is not None and bool(self.records["score"].notna().any())

    @property
    def has_shift_times(self) -> bool:
        """True when some record starts or ends at a time of day other than midnight."""
        for col in ("begin", "end"):
            t = self.records[col].dropna()
            if len(t) and bool((t != t.dt.normalize()).any()):
                return True
        return False


# --------------------------------------------------------------------------------------------- geometry


def _is_geo(frame: pd.DataFrame) -> bool:
    """True for a GeoDataFrame with an active geometry column."""
    import geopandas as gpd

    return isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns


def _frame_crs(frame: pd.DataFrame, crs: object | None, source: str) -> CRS:
    """The CRS of ``frame``'s coordinates: its own (GeoDataFrame) or ``crs``; unknown is an error."""
    own = frame.crs if _is_geo(frame) else None
    if own is not None and crs is not None and CRS.from_user_input(crs) != CRS.from_user_input(own):
        raise DataError(
            f"the file says its CRS is {CRS.from_user_input(own).to_string()} but crs="
            f"{CRS.from_user_input(crs).to_string()} was given",
            source=source,
            field="crs",
        )
    found = own if own is not None else crs
    if found is None:
        raise DataError(
            "the coordinate reference system is unknown: give the file a CRS or pass crs= "
            "(e.g. 'EPSG:4326' for longitude/latitude)",
            source=source,
            field="geometry",
        )
    try:
        return CRS.from_user_input(found)
    except Exception:
        raise DataError(f"unknown CRS {found!r}", source=source, field="crs") from None


def _to_crs(
    geoms: np.ndarray, src: CRS, dst: str, source: str = "targets", field: str = "geometry"
) -> np.ndarray:
    """``geoms`` from ``src`` to ``dst``. Longitudes/latitudes out of range, or coordinates the
    transformation cannot map, are an error naming the first such row (coordinates in another CRS)."""
    if src.is_geographic:
        lo_x, lo_y, hi_x, hi_y = shapely.bounds(np.asarray(geoms, dtype=object)).T
        reject(
            (np.abs(lo_x) > 180) | (np.abs(hi_x) > 180) | (np.abs(lo_y) > 90) | (np.abs(hi_y) > 90),
            lambda i: (
                f"coordinates ({lo_x[i]:,.6g}, {lo_y[i]:,.6g}) are out of range for longitude/latitude "
                f"({src.to_string()}): are they in another CRS?"
            ),
            source=source,
            field=field,
        )
    if src == CRS.from_user_input(dst):
        return geoms
    tr = Transformer.from_crs(src, dst, always_xy=True)
    out = shapely.transform(geoms, lambda x, y: tr.transform(x, y), interleaved=False)
    bounds = shapely.bounds(np.asarray(out, dtype=object))
    reject(
        ~np.isfinite(bounds).all(axis=1),
        f"coordinates cannot be transformed from {src.to_string()} to {dst}: are they in another CRS?",
        source=source,
        field=field,
    )
    return out


def _geometry_column(frame: pd.DataFrame, column: str | None, source: str) -> np.ndarray:
    """Shapely geometries from a GeoDataFrame's geometry or a WKT column (``column``)."""
    if column is None and _is_geo(frame):
        return np.asarray(frame.geometry.to_numpy(), dtype=object)
    col = column or "geometry"
    values = require(frame, col, source)
    if len(values) and isinstance(values.iloc[0], shapely.Geometry):
        return np.asarray(values.to_numpy(), dtype=object)
    text = labels(values)
    wkt = np.asarray(text, dtype=object).copy()
    wkt[text == ""] = None  # an empty cell is a missing geometry
    geoms = shapely.from_wkt(wkt, on_invalid="ignore")
    bad = np.flatnonzero([g is None for g in geoms] & (text != ""))
    if bad.size:
        raise DataError(
            f"not a WKT geometry: {text[bad[0]][:40]!r}", source=source, field=col, row=bad[0] + 1
        )
    return np.asarray(geoms, dtype=object)


def _check_polygons(geoms: np.ndarray, source: str, field: str, notes: list[Note]) -> np.ndarray:
    """Every geometry present and polygonal; invalid ones made valid (counted)."""
    missing = np.array([g is None or shapely.is_empty(g) for g in geoms], dtype=bool)
    reject(missing, "empty geometry", source=source, field=field)
    types = shapely.get_type_id(geoms)
    names = {0: "a point", 1: "a line", 2: "a ring", 4: "points", 5: "lines", 7: "a collection"}

    def not_polygon(i: int) -> str:
        hint = " (points need box_m to become boxes)" if types[i] in (0, 4) else ""
        return f"{names.get(int(types[i]), 'a non-polygon')} where a polygon is expected{hint}"

    reject(~np.isin(types, (3, 6)), not_polygon, source=source, field=field)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        from fairpatrol.audit.coverage import _polygonal

        geoms = geoms.copy()
        geoms[invalid] = _polygonal(shapely.make_valid(geoms[invalid]))
        notes.append(
            Note(
                "invalid_polygons_repaired",
                int(invalid.sum()),
                f"{plural(int(invalid.sum()), 'invalid polygon')} in {source} repaired with make_valid "
                f"(first at row {int(np.flatnonzero(invalid)[0]) + 1}).",
            )
        )
    return geoms


def _distinct(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct geometries (by exact WKB of the normalised shape) and each row's index among them."""
    keys = shapely.to_wkb(shapely.normalize(geoms))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # keep first-appearance order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return geoms[first[order]], rank[inverse.ravel()]


def _coverage_notes(cov: Coverage, ids: np.ndarray, source: str, areas: Areas, kind: str) -> list[Note]:
    notes: list[Note] = []
    what = "zone" if kind == "zones" else "target"
    outside = cov.target_m2 <= 0
    if outside.all():
        raise DataError(
            f"all {plural(len(ids), what)} lie outside the {areas.n} areas of {areas.name}: wrong CRS, "
            "swapped coordinates or another city?",
            source=source,
            field="geometry",
        )
    if outside.any():
        shown = ", ".join(str(i) for i in ids[outside][:5]) + (" ..." if outside.sum() > 5 else "")
        notes.append(
            Note(
                "targets_outside_city",
                int(outside.sum()),
                f"{plural(int(outside.sum()), what)} in {source} lie entirely outside the areas and are "
                f"not scored ({shown}).",
            )
        )
    part = (~outside) & (cov.outside_m2 > 1.0)
    if part.any():
        notes.append(
            Note(
                "targets_partly_outside_city",
                int(part.sum()),
                f"{plural(int(part.sum()), what)} in {source} extend beyond the areas; the "
                f"{area_text(cov.outside_m2[part].sum())} outside are not scored.",
            )
        )
    split = cov.split_targets()
    if split and not cov.identity:
        notes.append(
            Note(
                "targets_split_across_areas",
                split,
                f"{plural(split, what)} straddle area boundaries; each is split by area of overlap "
                "(its targeted m², target-days and scores are shared out in proportion).",
            )
        )
    if cov.overlap_pairs:
        notes.append(
            Note(
                "overlapping_targets",
                cov.overlap_pairs,
                f"{plural(cov.overlap_pairs, 'pair')} of {what}s overlap ({area_text(cov.overlap_m2)} "
                "covered more than once); overlap counts once per area-day.",
            )
        )
    return notes


def _records(
    begin: pd.Series,
    end: pd.Series,
    target: np.ndarray,
    *,
    score: np.ndarray | None = None,
    effort: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    types: np.ndarray | None = None,
) -> pd.DataFrame:
    n = len(target)
    return pd.DataFrame(
        {
            "begin": pd.to_datetime(begin.to_numpy()).astype("datetime64[ns]"),
            "end": pd.to_datetime(end.to_numpy()).astype("datetime64[ns]"),
            "target": np.asarray(target, dtype=np.int64),
            "score": np.full(n, np.nan) if score is None else np.asarray(score, float),
            "effort": np.full(n, np.nan) if effort is None else np.asarray(effort, float),
            "shift": np.full(n, "", dtype=object) if shift is None else np.asarray(shift, dtype=object),
            "types": np.full(n, "", dtype=object) if types is None else np.asarray(types, dtype=object),
            "row": np.arange(1, n + 1, dtype=np.int64),
        },
        columns=RECORD_COLUMNS,
    )


def _column(frame: pd.DataFrame, name: str | None, default: str) -> str | None:
    """An explicitly named column (must exist) or ``default`` when present, else None."""
    if name is not None:
        return name
    return default if default in frame.columns else None


def _type_lists(frame: pd.DataFrame, column: str | None, sep: str, src: str) -> np.ndarray | None:
    """Each row's crime types as upper-case names, sorted, joined by '|' ('' = every type)."""
    if column is None:
        return None
    values = labels(require(frame, column, src))
    return np.array(
        ["|".join(sorted({t.strip().upper() for t in v.split(sep) if t.strip()})) for v in values],
        dtype=object,
    )


def type_matrix(
    targets: TargetSet, crime_types: np.ndarray, type_groups: Mapping[str, tuple[str, ...]] | None = None
) -> np.ndarray:
    """(records × types) booleans: may record r's target capture a crime of type ``crime_types[j]``?

    A record without types takes every type. A listed name is an incident type (case-insensitive) or the
    label of a type group (all its members); any other name is an error naming the record's source row.
    """
    upper = [str(t).strip().upper() for t in crime_types]
    index = {t: j for j, t in enumerate(upper)}
    groups = {str(k).strip().upper(): [m.strip().upper() for m in v] for k, v in (type_groups or {}).items()}
    rec = targets.records
    out = np.ones((len(rec), len(upper)), dtype=bool)
    for i, (listed, row) in enumerate(zip(rec["types"], rec["row"], strict=True)):
        if not listed:
            continue
        out[i] = False
        for name in listed.split("|"):
            members = groups.get(name, [name])
            found = [index[m] for m in members if m in index]
            if not found and name not in groups:
                raise DataError(
                    f"crime type {name!r} is neither an audited incident type nor a type group",
                    source=targets.source,
                    field=targets.types_field,
                    row=int(row),
                )
            out[i, found] = True
    return out


# --------------------------------------------------------------------------------------------- readers


def designated_zones(
    areas: Areas,
    source: object,
    *,
    id_column: str | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    geometry: str | None = None,
    types: str | None = None,
    type_sep: str = "|",
    crs: object | None = None,
    name: str = "zones",
) -> TargetSet:
    """Read designated patrol zones: polygons, each optionally valid between two dates (inclusive).

    Parameters
    ----------
    areas : Areas
        The city's areas (their CRS is the one targets are reprojected to).
    source : path or DataFrame
        A geo file (GeoJSON, GeoPackage, shapefile, ...) or a (Geo)DataFrame; a plain table needs a WKT
        ``geometry`` column and ``crs``.
    id_column : str, optional
        Column holding zone ids (default: 'id' when present, else 'zone 1', 'zone 2', ... by row).
    valid_from, valid_to : str, optional
        Date columns (default: 'valid_from' / 'valid_to' when present); empty cells are open bounds.
    geometry : str, optional
        WKT column of a plain table (default 'geometry').
    types, type_sep : str, optional
        Column listing the crime types a zone is for (names separated by ``type_sep``; empty = every
        type): a zone then captures only crimes of those types.
    crs : optional
        CRS of the coordinates when the source has none (e.g. 'EPSG:4326').
    name : str
        Name used in messages for a DataFrame source.
    """
    frame, src = read_source(source, name)
    notes: list[Note] = []
    from_crs = _frame_crs(frame, crs, src)
    geoms = _check_polygons(_geometry_column(frame, geometry, src), src, geometry or "geometry", notes)
    if from_crs != CRS.from_user_input(areas.crs):
        notes.append(
            Note(
                "reprojected",
                len(geoms),
                f"{src}: polygons reprojected from {from_crs.to_string()} to {areas.crs}.",
            )
        )
    geoms = _to_crs(geoms, from_crs, areas.crs, src, geometry or "geometry")
    id_col = _column(frame, id_column, "id")
    if id_col is not None:
        ids = labels(require(frame, id_col, src))
    else:
        ids = np.array([f"zone {i + 1}" for i in range(len(geoms))], dtype=object)
    col_from, col_to = _column(frame, valid_from, "valid_from"), _column(frame, valid_to, "valid_to")
    n = len(geoms)
    begin = (
        optional_days(require(frame, col_from, src), source=src, field=col_from)
        if col_from
        else pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    )
    last = (
        optional_days(require(frame, col_to, src), source=src, field=col_to)
        if col_to
        else pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    )
    reject(
        (last < begin).to_numpy(),
        lambda i: f"validity ends ({last.iloc[i].date()}) before it starts ({begin.iloc[i].date()})",
        source=src,
        field=col_to,
    )
    cov = build_coverage(geoms, areas)
    notes.extend(_coverage_notes(cov, ids, src, areas, "zones"))
    dup_geoms, _ = _distinct(geoms)
    if dup_geoms.size < n:
        notes.append(
            Note(
                "duplicate_zones",
                n - dup_geoms.size,
                f"{plural(n - dup_geoms.size, 'zone')} of {src} repeat another zone's polygon exactly; "
                "they count once per area-day.",
            )
        )
    records = _records(begin, last + DAY, np.arange(n), types=_type_lists(frame, types, type_sep, src))
    return TargetSet("zones", src, areas, ids, geoms, cov, records, None, None, tuple(notes), types)


def _shift_intervals(
    dates: pd.Series,
    shifts: np.ndarray,
    shift_times: Mapping[str, tuple[object, object]] | None,
    src: str,
    col: str | None,
) -> tuple[pd.Series, pd.Series]:
    if shift_times is None:
        return dates, dates + DAY
    table: dict[str, tuple[pd.Timedelta, pd.Timedelta]] = {}
    for label, (start, length) in shift_times.items():
        try:
            s = (
                pd.Timedelta(start)
                if not isinstance(start, str) or ":" not in start
                else pd.to_timedelta(start if start.count(":") == 2 else start + ":00")
            )
            ln = (
                pd.Timedelta(hours=float(length))
                if isinstance(length, (int, float))
                else pd.to_timedelta(length if str(length).count(":") == 2 else f"{length}:00")
            )
        except (ValueError, TypeError):
            raise DataError(
                f"shift {label!r}: start and length must be times such as '06:15' and '11:15'",
                field="shift_times",
            ) from None
        if not (pd.Timedelta(0) <= s < DAY) or not (pd.Timedelta(0) < ln <= DAY):
            raise DataError(
                f"shift {label!r}: start must lie within the day and length in (0, 24 h]", field="shift_times"
            )
        table[str(label)] = (s, ln)
    reject(
        np.array([s not in table for s in shifts], dtype=bool),
        lambda i: f"shift {shifts[i]!r} is not in shift_times ({sorted(table)})",
        source=src,
        field=col,
    )
    start = pd.to_timedelta([table[s][0] for s in shifts])
    length = pd.to_timedelta([table[s][1] for s in shifts])
    begin = dates + start
    return begin, begin + length


def _boxes(
    frame: pd.DataFrame,
    areas: Areas,
    src: str,
    *,
    lon: str | None,
    lat: str | None,
    x: str | None,
    y: str | None,
    crs: object | None,
    box_m: float | str,
    box_crs: object | None,
) -> tuple[np.ndarray, CRS]:
    """Squares of side ``box_m`` centred on points given as lon/lat, x/y or point geometries."""
    if lon and lat:
        px = numbers(require(frame, lon, src), source=src, field=lon)
        py = numbers(require(frame, lat, src), source=src, field=lat)
        pcrs = CRS.from_user_input(crs) if crs is not None else CRS.from_epsg(4326)
        if pcrs.is_geographic:
            reject(
                (np.abs(py) > 90) | (np.abs(px) > 180),
                lambda i: f"longitude/latitude out of range ({px[i]:g}, {py[i]:g}); swapped columns?",
                source=src,
                field=f"{lon}/{lat}",
            )
    elif x and y:
        px = numbers(require(frame, x, src), source=src, field=x)
        py = numbers(require(frame, y, src), source=src, field=y)
        pcrs = _frame_crs(pd.DataFrame(), crs, src)
    else:
        pts = _geometry_column(frame, None, src)
        if not all(shapely.get_type_id(pts) == 0):
            raise DataError("box_m needs point positions (lon/lat, x/y or point geometries)", source=src)
        pcrs = _frame_crs(frame, crs, src)
        px, py = shapely.get_x(pts), shapely.get_y(pts)
    if isinstance(box_m, str):
        side = numbers(require(frame, box_m, src), source=src, field=box_m)
        field = box_m
    else:
        side = np.full(len(px), float(box_m))
        field = "box_m"
    reject(side <= 0, lambda i: f"box size must be > 0 m, got {side[i]:g}", source=src, field=field)
    bcrs = CRS.from_user_input(box_crs if box_crs is not None else areas.crs)
    if not bcrs.is_projected:
        raise DataError(f"box_crs must be a projected CRS in metres, got {bcrs.to_string()}", field="box_crs")
    if pcrs != bcrs:
        px, py = Transformer.from_crs(pcrs, bcrs, always_xy=True).transform(px, py)
    unit = bcrs.axis_info[0].unit_conversion_factor if bcrs.axis_info else 1.0
    half = side / 2.0 / unit
    boxes = shapely.box(px - half, py - half, px + half, py + half)
    return boxes, bcrs


def daily_targets(
    areas: Areas,
    source: object,
    *,
    date: str = "date",
    shift: str | None = None,
    shift_times: Mapping[str, tuple[object, object]] | None = None,
    geometry: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    x: str | None = None,
    y: str | None = None,
    box_m: float | str | None = None,
    box_crs: object | None = None,
    score: str | None = None,
    rank: str | None = None,
    score_kind: ScoreKind = "relative",
    label: str | None = None,
    types: str | None = None,
    type_sep: str = "|",
    crs: object | None = None,
    name: str = "targets",
) -> TargetSet:
    """Read daily targets (a vendor's prediction export): one row per (date, optional shift, target).

    Parameters
    ----------
    areas : Areas
        The city's areas.
    source : path or DataFrame
        Table or geo file.
    date : str
        Date column (a time of day in it is ignored; the shift gives the time).
    shift : str, optional
        Shift column (labels such as 'A'..'D'). Without ``shift_times`` all shifts of a day are pooled.
    shift_times : mapping, optional
        ``{label: (start, length)}``, e.g. ``{"A": ("06:15", "11:15")}``: a target of shift A on day d is
        active in ``[d 06:15, d 17:30)``; crimes are then matched by time of day (when they have one).
    geometry : str, optional
        WKT column of cell polygons in a plain table (default: the GeoDataFrame's geometry or 'geometry').
    lon, lat : str, optional
        Box centres in degrees (WGS84 unless ``crs`` says otherwise). Default 'lon'/'lat' when present.
    x, y : str, optional
        Box centres in ``crs`` units.
    box_m : float or str, optional
        Box side in metres, or the column holding it; required with points.
    box_crs : optional
        Projected CRS the boxes are squared in (default the areas' CRS).
    score, rank : str, optional
        Column of scores, or of ranks (1 = highest priority; used as a relative score).
    score_kind : {'expected_count', 'probability', 'relative'}
        What a score means (ranks are always 'relative').
    label : str, optional
        Column of target labels (default: 'target 1', 'target 2', ... per distinct geometry).
    types, type_sep : str, optional
        Column listing the crime types each prediction is for (The Markup's ``incident_types``, names
        joined by ``type_sep``; empty = every type): a target then captures, and is hit by, only crimes
        of those types (The Markup's Plainfield rule).
    crs : optional
        CRS of the coordinates when the source has none.
    name : str
        Name used in messages for a DataFrame source.
    """
    frame, src = read_source(source, name)
    notes: list[Note] = []
    dates = days(require(frame, date, src), source=src, field=date)
    n = len(frame)
    lon = _column(frame, lon, "lon") if not (x and y) else None
    lat = _column(frame, lat, "lat") if not (x and y) else None
    if box_m is not None:
        geoms, _ = _boxes(
            frame, areas, src, lon=lon, lat=lat, x=x, y=y, crs=crs, box_m=box_m, box_crs=box_crs
        )
        geoms = _to_crs(
            geoms, CRS.from_user_input(box_crs if box_crs is not None else areas.crs), areas.crs, src, "box_m"
        )
    elif lon or x:
        raise DataError("point positions need a box size: pass box_m (metres, or a column name)", source=src)
    else:
        from_crs = _frame_crs(frame, crs, src)
        geoms = _check_polygons(_geometry_column(frame, geometry, src), src, geometry or "geometry", notes)
        if from_crs != CRS.from_user_input(areas.crs):
            notes.append(
                Note(
                    "reprojected", n, f"{src}: cells reprojected from {from_crs.to_string()} to {areas.crs}."
                )
            )
        geoms = _to_crs(geoms, from_crs, areas.crs, src, geometry or "geometry")
    if shift_times is not None and not shift:
        raise DataError("shift_times needs the column of shift labels: give shift", source=src, field="shift")
    shifts = labels(require(frame, shift, src)) if shift else np.full(n, "", dtype=object)
    if shift:
        reject(shifts == "", "missing shift", source=src, field=shift)
    begin, end = _shift_intervals(dates, shifts, shift_times, src, shift)

    kind: ScoreKind | None = None
    values = None
    if score and rank:
        raise DataError("give either score or rank, not both", source=src, field="score")
    if score:
        if score_kind not in SCORE_KINDS:
            raise DataError(f"score_kind must be one of {list(SCORE_KINDS)}", field="score_kind")
        values = numbers(require(frame, score, src), source=src, field=score, minimum=None)
        if score_kind in ("expected_count", "probability"):
            reject(values < 0, f"a {score_kind} score cannot be negative", source=src, field=score)
        if score_kind == "probability":
            reject(values > 1, "a probability score cannot exceed 1", source=src, field=score)
        kind = score_kind
    elif rank:
        values = -numbers(require(frame, rank, src), source=src, field=rank)
        kind = "relative"

    distinct, target = _distinct(np.asarray(geoms, dtype=object))
    if label:
        lab = labels(require(frame, label, src))
        first = np.full(distinct.size, -1)
        for i in range(n - 1, -1, -1):
            first[target[i]] = i
        ids = lab[first]
    else:
        ids = np.array([f"target {k + 1}" for k in range(distinct.size)], dtype=object)
    cov = build_coverage(distinct, areas)
    notes.extend(_coverage_notes(cov, ids, src, areas, "daily"))
    records = _records(
        begin, end, target, score=values, shift=shifts, types=_type_lists(frame, types, type_sep, src)
    )
    dup = records.duplicated(["begin", "end", "target"]).to_numpy()
    if dup.any():
        merged = [
            w
            for w, on in (("the highest score kept", values is not None), ("their crime types pooled", types))
            if on
        ]
        kept = f" ({', '.join(merged)})" if merged else ""
        notes.append(
            Note(
                "duplicate_targets",
                int(dup.sum()),
                f"{plural(int(dup.sum()), 'row')} of {src} repeat a target already listed for the same date "
                f"and shift (first at row {int(np.flatnonzero(dup)[0]) + 1}); each counts once{kept}.",
            )
        )
        same = records.groupby(["begin", "end", "target"], sort=False)
        if values is not None:
            records["score"] = same["score"].transform("max").to_numpy()
        if types:
            records["types"] = (
                same["types"]
                .transform(
                    lambda t: (
                        "" if (t == "").any() else "|".join(sorted({n for v in t for n in v.split("|")}))
                    )
                )
                .to_numpy()
            )
        records = records.loc[~dup].reset_index(drop=True)
    return TargetSet("daily", src, areas, ids, distinct, cov, records, kind, None, tuple(notes), types)


def patrol_effort(
    areas: Areas,
    source: object,
    *,
    date: str = "date",
    area: str = "area_id",
    effort: str = "officers",
    unit: str | None = None,
    shift: str | None = None,
    name: str = "patrols",
) -> TargetSet:
    """Read patrol logs: one row per (date, optional shift, area) with the effort spent there.

    Rows for the same area and date (several patrols, several shifts) are summed. A row with effort 0
    records a day the area was not patrolled. ``unit`` names the effort (default: the column's name).
    """
    frame, src = read_source(source, name)
    dates = days(require(frame, date, src), source=src, field=date)
    ids = labels(require(frame, area, src))
    lookup = {a: i for i, a in enumerate(areas.ids)}
    idx = np.array([lookup.get(a, lookup.get(a.upper(), -1)) for a in ids], dtype=np.int64)
    if (idx < 0).any():
        bad = np.flatnonzero(idx < 0)
        unknown = list(dict.fromkeys(ids[bad]))
        raise DataError(
            f"{plural(len(unknown), 'unknown area id')} for {areas.name}: "
            + ", ".join(repr(u) for u in unknown[:5])
            + (" ..." if len(unknown) > 5 else ""),
            source=src,
            field=area,
            row=int(bad[0]) + 1,
        )
    values = numbers(require(frame, effort, src), source=src, field=effort, minimum=0.0)
    shifts = (
        labels(frame[shift]) if shift and shift in frame.columns else np.full(len(frame), "", dtype=object)
    )
    if shift and shift not in frame.columns:
        require(frame, shift, src)
    records = _records(dates, dates + DAY, idx, effort=values, shift=shifts)
    notes: list[Note] = []
    summed = records.duplicated(["begin", "target"], keep=False).to_numpy()
    if summed.any():
        grouped = records.groupby(["begin", "target"], sort=False, as_index=False).agg(
            end=("end", "first"), effort=("effort", "sum"), row=("row", "min")
        )
        notes.append(
            Note(
                "patrol_rows_summed",
                int(summed.sum()),
                f"{plural(int(summed.sum()), 'row')} of {src} share an area and date with another row; "
                f"their {unit or effort} are summed ({plural(len(grouped), 'area-day')} in all).",
            )
        )
        records = _records(
            grouped["begin"], grouped["end"], grouped["target"].to_numpy(), effort=grouped["effort"]
        )
        records["row"] = grouped["row"].to_numpy()
    cov = identity_coverage(areas)
    return TargetSet(
        "effort",
        src,
        areas,
        areas.ids.astype(object),
        areas.geometry,
        cov,
        records,
        None,
        unit or effort,
        tuple(notes),
    )
