"""Gaussian kernel mass over area polygons, for the KDE hot-spot models (docs/methods.md, docs/engine.md).

The intensity of an area under a Gaussian KDE of points x_i with bandwidth h (metres) is the KDE's mass
over the area's polygon. We integrate with a lattice quadrature: the city is cut into square cells of side
``cell_size``; every cell ∩ polygon piece becomes a quadrature node at the piece's centroid weighted by the
piece's area (so every polygon, however small, has at least one node and the weights sum to its area):

    mass(i, a) = Σ_{nodes s of a, ‖x_s − x_i‖ ≤ k h} w_s φ_h(‖x_s − x_i‖),   φ_h(d) = exp(−d² / 2h²) / (2π h²)

The kernel is truncated at ``cutoff`` = k bandwidths. The mass of a 2-D Gaussian beyond radius k h is
exactly e^{−k²/2} (the radius is Rayleigh distributed), so truncation removes at most e^{−k²/2} of each
incident's mass (3.4e-4 at the default k = 4; :func:`truncation_bound`), and a forecast (a weighted sum of
masses over W days) moves by at most e^{−k²/2} · Σ weights / W in total over all areas. In exchange each
incident reaches only the areas within k h of it, and its masses are stored as one sparse row
(:class:`~fairpatrol.models._sparse.SparseRows`): O(incidents × areas within reach) memory instead of
incidents × areas. A window's intensity is a sum of rows, which the simulation updates incrementally as
days enter and leave the window.

Quadratures and mass rows are cached by content (the polygons, the incident coordinates and the
settings): in the process, in small bounded caches, so a study's KDE models, and later studies on the same
areas, share them; and on disk (:mod:`fairpatrol.diskcache`), so the next run of the same study loads
them instead of computing them (docs/engine.md, "Disk cache").
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import math
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import shapely
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)
from fairpatrol import diskcache
from fairpatrol.models._sparse import SparseRows

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.sim.prepare import SimData


def truncation_bound(cutoff: float) -> float:
    """Share of a 2-D Gaussian's mass beyond ``cutoff`` bandwidths of its centre: e^{−cutoff²/2}."""
    return math.exp(-0.5 * float(cutoff) ** 2)


@dataclass(frozen=True)
class Quadrature:
    """Quadrature nodes of the area polygons on a regular lattice, bucketed by lattice cell (CSR)."""

    x: np.ndarray  # node x (m)
    y: np.ndarray  # node y (m)
    w: np.ndarray  # node weight (m²)
    area: np.ndarray  # node's area index
    x0: float
    y0: float
    cell_size: float
    nx: int
    ny: int
    cell_start: np.ndarray  # nodes of lattice cell c are [cell_start[c], cell_start[c+1])
    n_areas: int

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in (self.x, self.y, self.w, self.area, self.cell_start))


class BoundedCache:
    """Least-recently-used cache holding at most ``max_entries`` values and, beyond the newest value, at
    most ``max_bytes`` (values expose ``nbytes``). The newest value is always kept, however large: it is
    the one in use."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = build()
        self._items[key] = value
        while len(self._items) > 1 and (
            len(self._items) > self.max_entries
            or sum(v.nbytes for v in self._items.values()) > self.max_bytes
        ):
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


#: Quadratures by (polygons, lattice spacing); a few MB each.
QUADRATURES = BoundedCache(max_entries=8, max_bytes=256 * 2**20)
#: Kernel-mass rows by (polygons, incident coordinates, bandwidth, spacing, cutoff).
MASSES = BoundedCache(max_entries=4, max_bytes=1024 * 2**20)
_AREA_KEYS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def areas_key(areas: Areas) -> str:
    """Content key of the area polygons (a hash of their WKB, in order), memoised per Areas object."""
    key = _AREA_KEYS.get(areas)
    if key is None:
        wkb = shapely.to_wkb(np.asarray(areas.geometry))
        key = hashlib.blake2b(b"".join(wkb), digest_size=16).hexdigest()
        _AREA_KEYS[areas] = key
    return key


def _axis_aligned_rectangles(geoms: np.ndarray) -> np.ndarray:
    """Which polygons are axis-aligned rectangles (no hole, and the area of their bounding box)."""
    b = shapely.bounds(geoms)
    box_area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    simple = (shapely.get_num_interior_rings(geoms) == 0) & (shapely.get_num_coordinates(geoms) == 5)
    return simple & (np.abs(shapely.area(geoms) - box_area) <= 1e-9 * box_area)


def _build_quadrature(areas: Areas, cell_size: float) -> Quadrature:
    geoms = np.asarray(areas.geometry)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    nx = max(1, math.ceil((xmax - xmin) / cell_size))
    ny = max(1, math.ceil((ymax - ymin) / cell_size))
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ix, iy = gx.ravel(), gy.ravel()
    boxes = shapely.box(
        xmin + ix * cell_size, ymin + iy * cell_size, xmin + (ix + 1) * cell_size, ymin + (iy + 1) * cell_size
    )
    tree = shapely.STRtree(geoms)
    # the pairs of tree.query(boxes, predicate="intersects"), in its order: bounding-box candidates, then
    # the test on the prepared polygons (each prepared once instead of each box: ≈ 15× faster)
    box_idx, poly_idx = tree.query(boxes)
    shapely.prepare(geoms)
    meets = shapely.intersects(geoms[poly_idx], boxes[box_idx])
    box_idx, poly_idx = box_idx[meets], poly_idx[meets]
    # a cell inside its polygon is its own piece (centre, full area): only boundary cells are clipped
    inside = shapely.contains_properly(geoms[poly_idx], boxes[box_idx])
    cx = xmin + (ix[box_idx] + 0.5) * cell_size
    cy = ymin + (iy[box_idx] + 0.5) * cell_size
    w = np.full(len(box_idx), cell_size * cell_size)
    edge = np.flatnonzero(~inside)
    # a lattice cell meets an axis-aligned rectangle (a grid cell as an area) in a rectangle: computed from
    # the coordinates; any other polygon is clipped by GEOS
    rect = _axis_aligned_rectangles(geoms)[poly_idx[edge]]
    r_edge, g_edge = edge[rect], edge[~rect]
    bounds = shapely.bounds(geoms[poly_idx[r_edge]])
    x0 = np.maximum(xmin + ix[box_idx[r_edge]] * cell_size, bounds[:, 0])
    x1 = np.minimum(xmin + (ix[box_idx[r_edge]] + 1) * cell_size, bounds[:, 2])
    y0 = np.maximum(ymin + iy[box_idx[r_edge]] * cell_size, bounds[:, 1])
    y1 = np.minimum(ymin + (iy[box_idx[r_edge]] + 1) * cell_size, bounds[:, 3])
    w[r_edge] = np.maximum(x1 - x0, 0.0) * np.maximum(y1 - y0, 0.0)
    cx[r_edge], cy[r_edge] = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    pieces = shapely.intersection(boxes[box_idx[g_edge]], geoms[poly_idx[g_edge]])
    w[g_edge] = shapely.area(pieces)
    cen = shapely.centroid(pieces)
    cx[g_edge], cy[g_edge] = shapely.get_x(cen), shapely.get_y(cen)
    keep = w > 0
    box_idx, poly_idx, w, cx, cy = box_idx[keep], poly_idx[keep], w[keep], cx[keep], cy[keep]
    cell = ix[box_idx] * ny + iy[box_idx]
    order = np.argsort(cell, kind="stable")
    counts = np.bincount(cell, minlength=nx * ny)
    cell_start = np.zeros(nx * ny + 1, dtype=np.int64)
    np.cumsum(counts, out=cell_start[1:])
    return Quadrature(
        x=cx[order].astype(np.float64),
        y=cy[order].astype(np.float64),
        w=w[order].astype(np.float64),
        area=poly_idx[order].astype(np.int64),
        x0=float(xmin),
        y0=float(ymin),
        cell_size=float(cell_size),
        nx=nx,
        ny=ny,
        cell_start=cell_start,
        n_areas=areas.n,
    )


@functools.cache
def _code_versions() -> dict[str, str]:
    """What the cached values depend on beyond their inputs: this file and the libraries computing them."""
    return {
        "source": diskcache.source_hash(__file__),
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def _quadrature_ok(a: dict[str, np.ndarray]) -> bool:
    n, cells = a["x"].shape[0], int(a["nx"]) * int(a["ny"])
    start = a["cell_start"]
    return (
        all(a[k].shape == (n,) for k in ("y", "w", "area"))
        and start.shape == (cells + 1,)
        and int(start[0]) == 0
        and int(start[-1]) == n
        and bool(np.all(np.diff(start) >= 0))
        and (n == 0 or 0 <= int(a["area"].min()) <= int(a["area"].max()) < int(a["n_areas"]))
    )


def area_quadrature(areas: Areas, cell_size: float = 100.0) -> Quadrature:
    """Quadrature nodes for ``areas``: cached in the process, and on disk (:mod:`fairpatrol.diskcache`), by
    polygon content and cell size."""
    if not cell_size > 0:
        raise ValueError(f"cell_size must be positive, got {cell_size}")
    key = (areas_key(areas), float(cell_size))

    def build() -> dict[str, np.ndarray]:
        q = _build_quadrature(areas, float(cell_size))
        return {k: np.asarray(v) for k, v in dataclasses.asdict(q).items()}

    def load() -> Quadrature:
        parts = {"areas": key[0], "cell_size": key[1], **_code_versions()}
        a = diskcache.cached_arrays("kde-quadrature", parts, build, _quadrature_ok)
        return Quadrature(
            x=a["x"],
            y=a["y"],
            w=a["w"],
            area=a["area"],
            cell_start=a["cell_start"],
            x0=float(a["x0"]),
            y0=float(a["y0"]),
            cell_size=float(a["cell_size"]),
            nx=int(a["nx"]),
            ny=int(a["ny"]),
            n_areas=int(a["n_areas"]),
        )

    return QUADRATURES.get(key, load)


@njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def _mass_csr(
    px,
    py,
    qx,
    qy,
    qw,
    qa,
    x0,
    y0,
    cs,
    nx,
    ny,
    cell_start,
    n_areas,
    h,
    cutoff,
    i0,
    i1,
    indptr,
    fill,
    out_i,
    out_v,
    mark,
    acc,
):
    """Points ``i0:i1``, two passes over the nodes within ``cutoff`` h of each: ``fill=False`` counts the
    areas a point reaches into ``indptr[i + 1]``; ``fill=True`` writes them (in the order the lattice
    reaches them) and their masses from ``indptr[i]`` on. A mass is summed over the area's nodes in
    lattice order, starting from 0.0: the same arithmetic as a dense points × areas accumulation.
    ``mark`` (areas, all −1) and ``acc`` (areas, all 0.0) are the caller's scratch (no allocation in the
    kernel: each allocation compiles code of its own on a machine's first run), left all 0.0 in ``acc``."""
    norm = 1.0 / (2.0 * math.pi * h * h)
    inv2h2 = 1.0 / (2.0 * h * h)
    r = cutoff * h
    r2 = r * r
    reach = r / cs
    k = nx + ny  # an infinite cutoff reaches the whole lattice
    if reach < k:
        k = math.ceil(reach)  # an int in numba as in Python
    # min and max of integers written out: no compiled overload of min/max
    for i in range(i0, i1):
        start = indptr[i] if fill else 0
        cnt = 0
        cx = math.floor((px[i] - x0) / cs)
        cy = math.floor((py[i] - y0) / cs)
        gy0 = cy - k if cy - k > 0 else 0
        gy0 = gy0 if gy0 < ny else ny
        gy1 = cy + k + 1 if cy + k + 1 < ny else ny
        gy1 = gy1 if gy1 > gy0 else gy0
        gx0 = cx - k if cx - k > 0 else 0
        gx1 = cx + k + 1 if cx + k + 1 < nx else nx
        for gx in range(gx0, gx1):
            # the lattice cells gy0..gy1 of column gx are consecutive: their nodes are one range
            for s in range(cell_start[gx * ny + gy0], cell_start[gx * ny + gy1]):
                dx = qx[s] - px[i]
                dy = qy[s] - py[i]
                d2 = dx * dx + dy * dy
                if d2 <= r2:
                    a = qa[s]
                    if mark[a] != i:
                        mark[a] = i
                        if fill:
                            out_i[start + cnt] = a
                        cnt += 1
                    if fill:
                        acc[a] += qw[s] * norm * math.exp(-d2 * inv2h2)
        if fill:
            for t in range(start, start + cnt):
                out_v[t] = acc[out_i[t]]
                acc[out_i[t]] = 0.0
        else:
            indptr[i + 1] = cnt


def kde_area_mass_sparse(
    x: np.ndarray, y: np.ndarray, quad: Quadrature, bandwidth: float, cutoff: float = 4.0
) -> SparseRows:
    """Each point's Gaussian kernel mass over every area polygon within ``cutoff`` bandwidths, as sparse
    rows (points × areas). ``cutoff=math.inf`` computes the untruncated kernel (every node).

    The points are split into one block per numba thread (``NUMBA_NUM_THREADS``), computed in parallel
    threads; a row does not depend on the split.
    """
    if not (bandwidth > 0 and cutoff > 0):
        raise ValueError(f"bandwidth and cutoff must be positive, got {bandwidth} and {cutoff}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n = x.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    args: tuple[Any, ...] = (x, y, quad.x, quad.y, quad.w, quad.area, quad.x0, quad.y0, quad.cell_size)
    args += (quad.nx, quad.ny)
    args += (quad.cell_start, quad.n_areas, float(bandwidth), float(cutoff))
    n_blocks = max(1, min(numba.get_num_threads(), n // 1024))
    bounds = np.linspace(0, n, n_blocks + 1).astype(np.int64)
    blocks = list(itertools.pairwise(bounds.tolist()))

    def scratch() -> tuple[np.ndarray, np.ndarray]:  # the last point that reached each area, masses
        return np.full(quad.n_areas, -1, dtype=np.int64), np.zeros(quad.n_areas)

    def run(fill: bool, out_i: np.ndarray, out_v: np.ndarray) -> None:
        if n_blocks == 1:
            _mass_csr(*args, 0, n, indptr, fill, out_i, out_v, *scratch())
            return
        with ThreadPoolExecutor(max_workers=n_blocks) as pool:  # the kernel releases the GIL
            jobs = [
                pool.submit(_mass_csr, *args, i0, i1, indptr, fill, out_i, out_v, *scratch())  # type: ignore[call-arg]  # numba kernel, untyped
                for i0, i1 in blocks
            ]
            for job in jobs:
                job.result()

    run(False, np.empty(0, dtype=np.int32), np.empty(0))
    np.cumsum(indptr, out=indptr)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    values = np.empty(int(indptr[-1]))
    run(True, indices, values)
    return SparseRows(indptr, indices, values, quad.n_areas)


def kde_area_mass(
    x: np.ndarray, y: np.ndarray, quad: Quadrature, bandwidth: float, cutoff: float = 4.0
) -> np.ndarray:
    """Dense (points × areas) form of :func:`kde_area_mass_sparse`, for a few points."""
    return kde_area_mass_sparse(x, y, quad, bandwidth, cutoff).toarray()


def event_masses(data: SimData, bandwidth: float, cell_size: float, cutoff: float) -> SparseRows:
    """Kernel-mass rows of every event of ``data`` (cached: the KDE models of a study share them)."""
    coords = hashlib.blake2b(np.ascontiguousarray(data.x).tobytes(), digest_size=16)
    coords.update(np.ascontiguousarray(data.y).tobytes())
    key = (areas_key(data.areas), coords.hexdigest(), float(bandwidth), float(cell_size), float(cutoff))

    def build() -> dict[str, np.ndarray]:
        quad = area_quadrature(data.areas, cell_size)
        rows = kde_area_mass_sparse(data.x, data.y, quad, bandwidth, cutoff)
        return {"indptr": rows.indptr, "indices": rows.indices, "values": rows.values}

    def ok(a: dict[str, np.ndarray]) -> bool:
        indptr, indices = a["indptr"], a["indices"]
        return (
            indptr.shape == (len(data.x) + 1,)
            and int(indptr[0]) == 0
            and int(indptr[-1]) == indices.shape[0] == a["values"].shape[0]
            and bool(np.all(np.diff(indptr) >= 0))
            and (indices.size == 0 or 0 <= int(indices.min()) <= int(indices.max()) < data.areas.n)
        )

    def load() -> SparseRows:
        parts = dict(zip(("areas", "coords", "bandwidth", "cell_size", "cutoff"), key, strict=True))
        a = diskcache.cached_arrays("kde-masses", {**parts, **_code_versions()}, build, ok)
        return SparseRows(a["indptr"], a["indices"], a["values"], data.areas.n)

    return MASSES.get(key, load)


def kde_area_mass_bruteforce(
    x: np.ndarray, y: np.ndarray, quad: Quadrature, bandwidth: float, cutoff: float = 4.0
) -> np.ndarray:
    """Plain numpy version of :func:`kde_area_mass` (every point against every node): the test oracle."""
    dx = quad.x[None, :] - np.asarray(x, dtype=float)[:, None]
    dy = quad.y[None, :] - np.asarray(y, dtype=float)[:, None]
    d2 = dx**2 + dy**2
    k = np.where(d2 <= (cutoff * bandwidth) ** 2, np.exp(-d2 / (2 * bandwidth**2)), 0.0)
    k *= quad.w[None, :] / (2 * np.pi * bandwidth**2)
    out = np.zeros((len(dx), quad.n_areas))
    for a in range(quad.n_areas):
        out[:, a] = k[:, quad.area == a].sum(axis=1)
    return out
