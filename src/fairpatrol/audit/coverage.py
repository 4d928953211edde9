"""How target polygons cover a city's areas: clipped to the city, split by area, overlaps resolved.

The K target geometries (zones, boxes or cells, in the areas' projected CRS) are cut into **atoms**: disjoint
polygons that each lie inside exactly one area and are covered by a fixed set of targets.

1. Each target is intersected with every area it touches (a box straddling two neighbourhoods becomes two
   pieces, one per neighbourhood, **split by area of overlap**). Parts outside every area are not scored;
   their m² is kept per target (``outside_m2``).
2. Pieces of different targets in the same area that overlap by more than ``MIN_M2`` are cut along each
   other's boundaries (the arrangement of the overlapping pieces, refined one piece at a time by
   intersection and difference, each face labelled with the targets covering it). Pieces that overlap
   nothing are atoms as they are.

So on a day when targets k ∈ S are active, the targeted part of area i is the union of the atoms of i
covered by some k ∈ S, and its size is Σ_a m²(a) · 1[a ∈ i] · 1[cover(a) ∩ S ≠ ∅]: **overlapping targets
count once per area-day** (a union, never a sum). A crime is inside the targets of a day when its atom is.

Crimes are located in atoms by point-in-polygon. A crime that the areas' join placed in an area from just
outside it (``assign == 'nearest'``, within the join's tolerance) is located at the nearest point of that
area, so that a target covering the whole city captures every crime in it (PAI = 1 exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from fairpatrol.data.areas import Areas

#: Pieces and overlaps smaller than this many m² are treated as rounding noise and ignored.
MIN_M2 = 0.01
#: Precision (m) of the snap-rounded overlays that cut overlapping pieces: GEOS's floating overlay can
#: misjudge pieces that only touch along nearly coincident edges (seen with GEOS 3.14: a face ∩ piece
#: returned the whole piece where the true intersection is empty), snap rounding cannot.
OVERLAY_GRID_M = 1e-6
#: Distance (m) within which a snapped crime's nearest area point counts as inside an atom.
SNAP_TOLERANCE_M = 0.01


@dataclass(frozen=True, eq=False)
class Coverage:
    """The atoms of K targets over M areas.

    Attributes
    ----------
    atom_geometry : ndarray of shapely.Polygon or MultiPolygon, shape (A,)
        Disjoint polygons, each inside one area.
    atom_area : ndarray of int64, shape (A,)
        Index of the area holding each atom.
    atom_m2 : ndarray of float64, shape (A,)
        Size of each atom.
    cover : scipy.sparse.csr_matrix of bool, shape (K, A)
        ``cover[k, a]`` is True when target k covers atom a.
    target_area_m2 : scipy.sparse.csr_matrix of float64, shape (K, M)
        m² of target k inside area i (the split by area of overlap).
    target_m2 : ndarray of float64, shape (K,)
        m² of each target inside the city (Σ over areas).
    outside_m2 : ndarray of float64, shape (K,)
        m² of each target outside every area.
    overlap_pairs : int
        Pairs of targets whose in-city parts overlap.
    overlap_m2 : float
        m² of the city covered by two or more targets.
    identity : bool
        True when the targets are the areas themselves (patrol effort): atom a = area a.
    """

    atom_geometry: np.ndarray
    atom_area: np.ndarray
    atom_m2: np.ndarray
    cover: sp.csr_matrix
    target_area_m2: sp.csr_matrix
    target_m2: np.ndarray
    outside_m2: np.ndarray
    overlap_pairs: int
    overlap_m2: float
    identity: bool = False

    @property
    def n_atoms(self) -> int:
        """Number of atoms A."""
        return len(self.atom_m2)

    def atom_to_area(self, n_areas: int) -> sp.csr_matrix:
        """(A, M) matrix of atom m² by area: ``active_atoms @ atom_to_area`` gives m² targeted per area."""
        a = self.n_atoms
        return sp.csr_matrix((self.atom_m2, (np.arange(a), self.atom_area)), shape=(a, n_areas))

    def area_fraction(self) -> sp.csr_matrix:
        """(K, M) share of each target's in-city m² lying in each area (rows of targets outside are 0)."""
        inv = np.divide(1.0, self.target_m2, out=np.zeros_like(self.target_m2), where=self.target_m2 > 0)
        return sp.csr_matrix(sp.diags(inv) @ self.target_area_m2)

    def split_targets(self) -> int:
        """Targets whose in-city part lies in two or more areas."""
        return int((np.diff(self.target_area_m2.indptr) >= 2).sum())


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry (lines and points from an intersection dropped)."""
    out = np.array(geoms, dtype=object)
    types = shapely.get_type_id(out)
    mixed = np.flatnonzero(types == 7)  # GeometryCollection
    for j in mixed:
        parts = shapely.get_parts(out[j])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[j] = shapely.union_all(polys) if polys.size else shapely.Polygon()
    other = ~np.isin(shapely.get_type_id(out), (3, 6))
    out[other] = shapely.Polygon()
    return out


def _arrangement(polys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Faces of the arrangement of ``polys`` that lie inside at least one of them, with the indices of the
    polygons covering each face.

    Built by successive refinement with snap-rounded GEOS overlays (precision ``OVERLAY_GRID_M``; noding
    the boundaries and polygonising them lost faces where edges nearly coincide): polygon j splits every
    current face it intersects into face ∩ j (covered by j too) and face − j, and adds j − (union of the
    faces) as a face of its own. Faces of at most ``MIN_M2`` are rounding slivers and are dropped.
    """
    faces: list[object] = []
    covers: list[list[int]] = []
    for j, poly in enumerate(polys):
        next_faces: list[object] = []
        next_covers: list[list[int]] = []
        if faces:
            hits = shapely.intersects(np.array(faces, dtype=object), poly)
        for f, (face, cov) in enumerate(zip(faces, covers, strict=True)):
            if not hits[f]:
                next_faces.append(face)
                next_covers.append(cov)
                continue
            for part, part_cov in (
                (shapely.intersection(face, poly, grid_size=OVERLAY_GRID_M), [*cov, j]),
                (shapely.difference(face, poly, grid_size=OVERLAY_GRID_M), cov),
            ):
                part = _polygonal(np.array([part], dtype=object))[0]
                if shapely.area(part) > MIN_M2:
                    next_faces.append(part)
                    next_covers.append(part_cov)
        rest = (
            shapely.difference(
                poly, shapely.union_all(faces, grid_size=OVERLAY_GRID_M), grid_size=OVERLAY_GRID_M
            )
            if faces
            else shapely.set_precision(poly, OVERLAY_GRID_M)
        )
        rest = _polygonal(np.array([rest], dtype=object))[0]
        if shapely.area(rest) > MIN_M2:
            next_faces.append(rest)
            next_covers.append([j])
        faces, covers = next_faces, next_covers
    return np.array(faces, dtype=object), [np.asarray(c, dtype=np.int64) for c in covers]


def identity_coverage(areas: Areas) -> Coverage:
    """Coverage of targets that are the areas themselves (patrol effort by area): atom i = area i."""
    m = areas.n
    m2 = areas.frame["area_m2"].to_numpy(float)
    eye = sp.identity(m, format="csr", dtype=bool)
    return Coverage(
        atom_geometry=areas.geometry,
        atom_area=np.arange(m, dtype=np.int64),
        atom_m2=m2,
        cover=eye,
        target_area_m2=sp.csr_matrix(sp.diags(m2)),
        target_m2=m2.copy(),
        outside_m2=np.zeros(m),
        overlap_pairs=0,
        overlap_m2=0.0,
        identity=True,
    )


def build_coverage(geometry: np.ndarray, areas: Areas) -> Coverage:
    """Cut ``geometry`` (K polygons in ``areas.crs``) into atoms; see the module docstring."""
    geometry = np.asarray(geometry, dtype=object)
    k_n, m = geometry.size, areas.n
    pk, pi = areas.tree.query(geometry, predicate="intersects")
    pieces = _polygonal(shapely.intersection(geometry[pk], areas.geometry[pi]))
    piece_m2 = shapely.area(pieces)
    keep = piece_m2 > MIN_M2
    pk, pi, pieces, piece_m2 = pk[keep], pi[keep], pieces[keep], piece_m2[keep]
    target_area = sp.csr_matrix((piece_m2, (pk, pi)), shape=(k_n, m))
    target_area.sum_duplicates()
    target_m2 = np.asarray(target_area.sum(axis=1)).ravel()
    outside = np.clip(shapely.area(geometry) - target_m2, 0.0, None)

    # Overlaps between pieces of different targets in the same area.
    qa, qb = shapely.STRtree(pieces).query(pieces, predicate="intersects")
    cand = (qa < qb) & (pi[qa] == pi[qb]) & (pk[qa] != pk[qb])
    qa, qb = qa[cand], qb[cand]
    if qa.size:
        shared = shapely.area(shapely.intersection(pieces[qa], pieces[qb]))
        real = shared > MIN_M2
        qa, qb = qa[real], qb[real]
    n_p = pieces.size
    overlap_pairs = len({(min(a, b), max(a, b)) for a, b in zip(pk[qa], pk[qb], strict=True)})

    atom_geoms: list[object] = []
    atom_area: list[int] = []
    cover_rows: list[np.ndarray] = []
    cover_cols: list[np.ndarray] = []
    alone = np.ones(n_p, dtype=bool)
    if qa.size:
        graph = sp.csr_matrix((np.ones(qa.size), (qa, qb)), shape=(n_p, n_p))
        _, comp = connected_components(graph, directed=False)
        sizes = np.bincount(comp)
        alone = sizes[comp] == 1
        for c in np.flatnonzero(sizes > 1):
            members = np.flatnonzero(comp == c)
            faces, covers = _arrangement(pieces[members])
            for face, cov in zip(faces, covers, strict=True):
                a = len(atom_geoms)
                atom_geoms.append(face)
                atom_area.append(int(pi[members[0]]))
                cover_rows.append(pk[members[cov]])
                cover_cols.append(np.full(cov.size, a))
    single = np.flatnonzero(alone)
    start = len(atom_geoms)
    atom_geoms.extend(pieces[single])
    atom_area.extend(pi[single].tolist())
    cover_rows.append(pk[single])
    cover_cols.append(np.arange(start, start + single.size))

    atoms = np.array(atom_geoms, dtype=object) if atom_geoms else np.empty(0, dtype=object)
    atom_m2 = shapely.area(atoms) if atoms.size else np.empty(0)
    rows = np.concatenate(cover_rows) if cover_rows else np.empty(0, np.int64)
    cols = np.concatenate(cover_cols) if cover_cols else np.empty(0, np.int64)
    cover = sp.csr_matrix((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(k_n, atoms.size))
    cover.sum_duplicates()
    n_cover = np.asarray(cover.sum(axis=0)).ravel()
    return Coverage(
        atom_geometry=atoms,
        atom_area=np.asarray(atom_area, dtype=np.int64),
        atom_m2=np.asarray(atom_m2, dtype=float),
        cover=cover.astype(bool),
        target_area_m2=target_area,
        target_m2=target_m2,
        outside_m2=outside,
        overlap_pairs=overlap_pairs,
        overlap_m2=float(atom_m2[n_cover >= 2].sum()) if atoms.size else 0.0,
    )


def locate(
    coverage: Coverage,
    areas: Areas,
    x: np.ndarray,
    y: np.ndarray,
    area_idx: np.ndarray,
    snapped: np.ndarray,
) -> np.ndarray:
    """Atom index of each crime (−1 when no target covers its place).

    ``area_idx`` is the crime's area from the areas join; among atoms containing the point, one in that
    area is preferred (a point on a boundary touches two). ``snapped`` marks crimes placed in their area
    from outside it; they are located at the nearest point of that area (module docstring).
    """
    n = len(x)
    area_idx = np.asarray(area_idx, dtype=np.int64)
    if coverage.identity:
        return area_idx.copy()
    out = np.full(n, -1, dtype=np.int64)
    if coverage.n_atoms == 0 or n == 0:
        return out
    tree = shapely.STRtree(coverage.atom_geometry)
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    snapped = np.asarray(snapped, dtype=bool)
    if snapped.any():
        s = np.flatnonzero(snapped)
        lines = shapely.shortest_line(areas.geometry[area_idx[s]], pts[s])
        pts[s] = shapely.get_point(lines, 0)
        ci, ai = tree.query(pts, predicate="dwithin", distance=SNAP_TOLERANCE_M)
    else:
        ci, ai = tree.query(pts, predicate="intersects")
    if ci.size == 0:
        return out
    other = coverage.atom_area[ai] != area_idx[ci]
    if snapped.any():  # dwithin also returns atoms touching the point from outside: keep true hits
        ok = snapped[ci] | shapely.intersects(pts[ci], coverage.atom_geometry[ai])
        ok &= ~(snapped[ci] & other)
        ci, ai, other = ci[ok], ai[ok], other[ok]
    key = other.astype(np.int64) * coverage.n_atoms + ai
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, ci, key)
    hit = best < np.iinfo(np.int64).max
    out[hit] = best[hit] % coverage.n_atoms
    return out
