"""Square grid cells masked to a city, each labelled with a group (docs/grid.md, "Grid").

A :class:`Grid` is a regular lattice of ``cell_size`` × ``cell_size`` squares in the areas' projected CRS
(metres). The lattice starts at the lower-left corner of the total bounds of the *mask areas* (the areas the
study covers) and keeps every square that overlaps them by a positive area. Each kept cell is labelled with
the group of the mask area that covers most of it (``label_rule='majority'``, docs/grid.md,
"Grid").

With these rules the grid reproduces the cell set of the bundled 1 km reference grids of the PF/RAF paper
(:func:`load_reference_grid`; Chicago 710 cells, Bogotá 399 cells, identical positions). Their group
labels came from the first area, in the authors' file order, intersecting the square (not the majority
rule; :mod:`fairpatrol.grid.reference`); ``label_rule='first'`` approximates that with fairpatrol's area
order and :func:`compare_with_reference` states the agreement of either.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import shapely

from fairpatrol.data.areas import Areas, Grid
from fairpatrol.errors import DataError

MaskRule = Literal["auto", "all", "study"]
LabelRule = Literal["majority", "first"]


def mask_areas(areas: Areas, mask: MaskRule = "auto") -> np.ndarray:
    """Boolean mask of the areas a grid covers.

    ``'all'``: every area; ``'study'``: the areas flagged ``in_study_area`` (Bogotá: the 15 localidades
    with data); ``'auto'``: ``'study'`` when the areas have that flag, else ``'all'``.
    """
    has_flag = "in_study_area" in areas.frame.columns
    if mask == "auto":
        mask = "study" if has_flag else "all"
    if mask == "all":
        return np.ones(areas.n, dtype=bool)
    if mask == "study":
        if not has_flag:
            raise DataError(f"the {areas.title} areas have no 'in_study_area' flag", field="grid.mask")
        return areas.frame["in_study_area"].to_numpy(dtype=bool)
    raise DataError(f"unknown mask rule {mask!r}; expected auto, all or study", field="grid.mask")


def build_grid(
    areas: Areas,
    cell_size: float = 1000.0,
    *,
    mask: MaskRule = "auto",
    label_rule: LabelRule = "majority",
    origin: tuple[float, float] | None = None,
    group_pair: tuple[str, str] | None = None,
) -> Grid:
    """Cut the mask areas of ``areas`` into ``cell_size`` squares (metres) and label each cell.

    ``origin`` is a corner of the lattice (default: the lower-left corner of the mask areas' total bounds);
    the lattice is aligned on it and starts at the last lattice line at or below the bounds.
    A square is kept when it overlaps the mask areas by a positive area. ``label_rule='majority'``: the
    group of the mask area with the largest overlap (docs/grid.md, "Grid"); ``'first'``: the group of the
    lowest-index
    mask area touching the square (reproduces the reference grids' labels, see module docstring).
    ``group_pair`` defaults to the areas' pair when both groups hold cells, else the two largest groups.

    Examples
    --------
    >>> from fairpatrol.data import load_areas
    >>> grid = build_grid(load_areas("chicago"), 1000.0)
    >>> grid.n, grid.group_pair, str(grid.ids[0])  # cell ids are "column-row" of the lattice
    (710, ('Protected', 'Unprotected'), '0-34')
    """
    if not (math.isfinite(cell_size) and cell_size > 0):
        raise DataError(f"cell size must be a positive number of metres, got {cell_size}", field="cell_size")
    if label_rule not in ("majority", "first"):
        raise DataError(f"unknown label rule {label_rule!r}; expected majority or first", field="label_rule")
    keep = mask_areas(areas, mask)
    geoms = np.asarray(areas.geometry)[keep]
    groups = areas.groups[keep]
    ids = areas.ids[keep]
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if origin is None:
        x0, y0 = float(xmin), float(ymin)
    else:  # a lattice corner: move it by whole cells to the lower-left corner of the bounds
        x0 = float(origin[0]) + cell_size * math.floor((xmin - float(origin[0])) / cell_size + 1e-9)
        y0 = float(origin[1]) + cell_size * math.floor((ymin - float(origin[1])) / cell_size + 1e-9)
    nx = max(1, math.ceil((xmax - x0) / cell_size - 1e-9))
    ny = max(1, math.ceil((ymax - y0) / cell_size - 1e-9))
    if (xmax - x0) / cell_size * (ymax - y0) / cell_size > 5e6:
        raise DataError(f"{cell_size:g} m cells give more than 5 million squares", field="cell_size")
    ix, iy = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij"))
    boxes = shapely.box(
        x0 + ix * cell_size, y0 + iy * cell_size, x0 + (ix + 1) * cell_size, y0 + (iy + 1) * cell_size
    )
    box_idx, poly_idx = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    overlap = shapely.area(shapely.intersection(boxes[box_idx], geoms[poly_idx]))
    pos = overlap > 0
    box_idx, poly_idx, overlap = box_idx[pos], poly_idx[pos], overlap[pos]
    inside = np.bincount(box_idx, weights=overlap, minlength=boxes.size)
    if label_rule == "majority":  # largest overlap; ties to the lower area index
        order = np.lexsort((poly_idx, -overlap, box_idx))
    else:
        order = np.lexsort((poly_idx, box_idx))
    box_sorted = box_idx[order]
    first = np.r_[True, box_sorted[1:] != box_sorted[:-1]]
    owner = np.full(boxes.size, -1, dtype=np.int64)
    owner[box_sorted[first]] = poly_idx[order][first]
    cells = np.flatnonzero(owner >= 0)
    if cells.size == 0:
        raise DataError(f"no {cell_size:g} m cell overlaps the {areas.title} areas", field="cell_size")
    names = areas.names[keep]
    cell_ids = np.array([f"{a}-{b}" for a, b in zip(ix[cells], iy[cells], strict=True)], dtype=object)
    parent = owner[cells]
    frame = pd.DataFrame(
        {
            "area_id": cell_ids,
            "name": [f"cell {c} ({n})" for c, n in zip(cell_ids, names[parent], strict=True)],
            "group": groups[parent].astype(object),
            "area_m2": inside[cells],
            "ix": ix[cells].astype(np.int64),
            "iy": iy[cells].astype(np.int64),
            "x": x0 + (ix[cells] + 0.5) * cell_size,
            "y": y0 + (iy[cells] + 0.5) * cell_size,
            "parent_id": ids[parent].astype(object),
            "parent_name": names[parent].astype(object),
        }
    )
    from fairpatrol.data.groups import choose_pair

    labels = frame["group"].to_numpy(dtype=object).astype(str)
    wanted = group_pair
    if wanted is None and all(g in set(labels) for g in areas.group_pair):
        wanted = areas.group_pair
    geometry = boxes[cells]
    geometry.flags.writeable = False
    rule_words = "covering most of it" if label_rule == "majority" else "listed first among those touching it"
    return Grid(
        name=areas.name,
        crs=areas.crs,
        frame=frame,
        geometry=geometry,
        group_pair=choose_pair(labels, wanted, source=f"{cell_size:g} m grid"),
        group_rule=areas.group_rule,
        group_description=f"{cell_size:g} m square cells; each takes the group of the area {rule_words}. "
        + areas.group_description,
        group_columns=areas.group_columns,
        display_name=areas.display_name,
        crs_reason=areas.crs_reason,
        notes=areas.notes,
        cell_size=float(cell_size),
        x0=x0,
        y0=y0,
        nx=int(nx),
        ny=int(ny),
        mask_geometry=geoms,
        mask_groups=groups,
        label_rule=label_rule,
    )


# -- the bundled reference grids ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ReferenceGrid:
    """A grid published with the PF/RAF paper: squares and their ``Regions`` label (+1, −1, 0 = outside)."""

    city: str
    crs: str
    geometry: np.ndarray
    regions: np.ndarray

    @property
    def groups(self) -> np.ndarray:
        """'Protected' (+1), 'Unprotected' (−1) or '' (0: outside the study area)."""
        return np.where(self.regions == 1, "Protected", np.where(self.regions == -1, "Unprotected", ""))


def read_grid_geojson(path: str, city: str, crs: str) -> ReferenceGrid:
    """Read a grid GeoJSON in the paper's layout (square polygons with a ``Regions`` property)."""
    import json

    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    feats = doc.get("features") or []
    if not feats:
        raise DataError("no features", source=str(path))
    try:
        regions = np.array([int(f["properties"]["Regions"]) for f in feats], dtype=np.int64)
    except (KeyError, TypeError, ValueError):
        raise DataError("every feature needs an integer 'Regions' property", source=str(path)) from None
    geometry = np.array([shapely.geometry.shape(f["geometry"]) for f in feats], dtype=object)
    return ReferenceGrid(city=city, crs=crs, geometry=geometry, regions=regions)


def reference_grid_names() -> list[str]:
    """The city packs that bundle a reference grid."""
    from fairpatrol.data.cities import registry

    return [name for name, pack in registry().items() if pack.reference_grid is not None]


@functools.lru_cache(maxsize=4)
def load_reference_grid(city: str) -> ReferenceGrid:
    """The paper's 1 km grid of ``city`` bundled with its pack (datasets/README.md)."""
    from fairpatrol.data.cities import data_dir, get_city, is_city

    pack = get_city(city) if is_city(city) else None
    if pack is None or pack.reference_grid is None:
        raise DataError(f"no reference grid for {city!r}; bundled: {reference_grid_names()}", field="city")
    raw = pd.read_parquet(data_dir() / pack.reference_grid.file)
    geometry = shapely.from_wkb(raw["geometry"].to_numpy())
    return ReferenceGrid(
        city=pack.name, crs=pack.reference_grid.crs, geometry=geometry, regions=raw["regions"].to_numpy()
    )


@dataclass(frozen=True)
class GridComparison:
    """How a :class:`Grid` compares with a reference grid, cell by cell (matched by square centre)."""

    cells: int
    reference_cells: int
    both: int
    only_ours: int
    only_reference: int
    label_agreement: float
    confusion: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def compare_with_reference(grid: Grid, reference: ReferenceGrid) -> GridComparison:
    """Match cells by the lattice position of the reference squares' centres and compare the labels.

    Reference squares labelled 0 (outside the study area) are not reference cells. Raises
    :class:`DataError` when the reference squares are not on this grid's lattice.
    """
    if reference.crs != grid.crs:
        raise DataError(f"reference grid is in {reference.crs}, grid in {grid.crs}", field="crs")
    c = shapely.centroid(reference.geometry)
    fx = (shapely.get_x(c) - grid.x0) / grid.cell_size - 0.5
    fy = (shapely.get_y(c) - grid.y0) / grid.cell_size - 0.5
    if np.abs(fx - np.round(fx)).max() > 1e-3 or np.abs(fy - np.round(fy)).max() > 1e-3:
        raise DataError("the reference squares are not on this grid's lattice (origin or cell size differ)")
    inside = reference.regions != 0
    ref_cells = grid.locate(shapely.get_x(c)[inside], shapely.get_y(c)[inside])
    matched = ref_cells >= 0
    ours = grid.groups[ref_cells[matched]]
    theirs = reference.groups[inside][matched]
    pairs = pd.Series([f"{a}|{b}" for a, b in zip(ours, theirs, strict=True)]).value_counts()
    return GridComparison(
        cells=grid.n,
        reference_cells=int(inside.sum()),
        both=int(matched.sum()),
        only_ours=int(grid.n - matched.sum()),
        only_reference=int((~matched).sum()),
        label_agreement=float(np.mean(ours == theirs)) if matched.any() else float("nan"),
        confusion={str(k): int(v) for k, v in pairs.items()},
    )
