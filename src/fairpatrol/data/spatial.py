"""Projection and point-in-area assignment (shapely 2 STRtree, vectorised)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import Transformer

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transform(x: np.ndarray, y: np.ndarray, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates ``x``/``y`` in ``src`` (lon/lat order for geographic CRSs) as float arrays in ``dst``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if src == dst:
        return x.copy(), y.copy()
    u, v = _transformer(src, dst).transform(x, y)
    return np.asarray(u, dtype=float), np.asarray(v, dtype=float)


def project(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 ``lon``/``lat`` (degrees) to ``crs``; returns (x, y) float arrays (metres)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = _transformer("EPSG:4326", crs).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _lowest_per_input(pairs: np.ndarray, n: int) -> np.ndarray:
    """From STRtree (input, tree) index pairs, the lowest tree index per input (-1 if none)."""
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    if pairs.size:
        np.minimum.at(out, pairs[0], pairs[1].astype(np.int64))
    out[out == np.iinfo(np.int64).max] = -1
    return out


def _covering(
    tree: shapely.STRtree, pts: np.ndarray, x: np.ndarray, y: np.ndarray, geoms: np.ndarray
) -> np.ndarray:
    """The (point, polygon) pairs of ``tree.query(pts, predicate="intersects")``, in its order: the
    bounding-box candidates, then GEOS's point-in-polygon test on the prepared polygons (each polygon is
    prepared once, instead of preparing each point: ≈ 15× faster on 80 k points and 77 areas)."""
    point, poly = tree.query(pts)
    shapely.prepare(geoms)
    hit = shapely.intersects_xy(geoms[poly], x[point], y[point])
    return np.vstack([point[hit], poly[hit]])


def assign_areas(
    x: np.ndarray, y: np.ndarray, areas: Areas, *, tolerance_m: float = 250.0
) -> tuple[np.ndarray, np.ndarray]:
    """Assign projected points (``areas.crs`` metres) to areas.

    Returns ``(area_index, how)``: ``area_index`` is int64 (−1 when unassigned) and ``how`` is
    'within' (covered by a polygon, boundary included), 'nearest' (outside every polygon but within
    ``tolerance_m`` of one: lakefront, rounding) or 'none'. A point on a shared boundary, or equidistant
    from several polygons, goes to the lowest area index, so the result is deterministic.
    Non-finite coordinates give 'none'. Each distinct point is looked up once (incidents published at
    block level repeat a few thousand points hundreds of thousands of times).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    # distinct points as complex numbers x + iy (bits kept): sorted as np.unique(axis=0) sorts the rows
    # (x, then y) and ≈ 5× faster
    xy = np.empty(finite.size, dtype=np.complex128)
    xy.real, xy.imag = x[finite], y[finite]
    xy, inverse = np.unique(xy, return_inverse=True)
    if xy.shape[0] < finite.size:
        u_idx, u_how = assign_areas(xy.real.copy(), xy.imag.copy(), areas, tolerance_m=tolerance_m)
        idx = np.full(n, -1, dtype=np.int64)
        how = np.full(n, "none", dtype=object)
        idx[finite] = u_idx[inverse.ravel()]
        how[finite] = u_how[inverse.ravel()]
        return idx, how
    idx = np.full(n, -1, dtype=np.int64)
    how = np.full(n, "none", dtype=object)
    if finite.size == 0:
        return idx, how
    px, py = x[finite], y[finite]
    pts = shapely.points(px, py)
    tree = areas.tree
    inside = _lowest_per_input(_covering(tree, pts, px, py, np.asarray(areas.geometry)), finite.size)
    hit = inside >= 0
    idx[finite[hit]] = inside[hit]
    how[finite[hit]] = "within"
    rest = np.flatnonzero(~hit)
    if rest.size and tolerance_m > 0:
        pairs = tree.query_nearest(pts[rest], max_distance=float(tolerance_m), all_matches=True)
        near = _lowest_per_input(pairs, rest.size)
        ok = near >= 0
        idx[finite[rest[ok]]] = near[ok]
        how[finite[rest[ok]]] = "nearest"
    return idx, how
