"""The spatial units of a study, with their groups: one type, :class:`Areas` — neighbourhoods of a bundled
city, polygons of a user's file — and its subclass :class:`Grid` for square cells (built by
:func:`fairpatrol.grid.cells.build_grid`), usable wherever areas are.

An :class:`Areas` is written into every results directory as GeoParquet (``areas.parquet``, with its name,
CRS, groups and their description in the file's metadata), so a results directory carries its areas and
:func:`read_areas_parquet` gives them back without the inputs, as the type written (:data:`KINDS`).
Areas are read from files by :mod:`fairpatrol.data.area_files` (:func:`~fairpatrol.data.load_areas` for a
bundled city pack, :func:`~fairpatrol.data.area_files.load_areas_file` for a user's file).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from fairpatrol.errors import DataError

#: Columns every areas frame has (the rest are the attributes of the areas file).
CORE_COLUMNS = ("area_id", "name", "group", "area_m2")
#: Metadata key of ``areas.parquet`` holding the :class:`Areas` fields that are not columns.
META_KEY = b"fairpatrol"


@dataclass(frozen=True, eq=False)
class Areas:
    """The M areas of a study, aligned row by row with ``geometry``.

    Parameters
    ----------
    name : short name of the city or study area (a bundled pack's name, or the user's label).
    crs : the projected CRS (metres) of ``geometry``, as text (``EPSG:32618``).
    frame : RangeIndex 0..M-1 with ``area_id`` (str, unique), ``name`` (str), ``group`` (str), ``area_m2``
        (float) and the attributes of the areas file (those used for groups among them).
    geometry : object array of shapely (Multi)Polygons in ``crs``.
    group_pair : the two groups compared by two-group gaps; every group is measured on its own too.
    group_rule, group_description : the rule's name and how the groups were defined, in plain words.
    group_columns : the attributes the rule used.
    display_name : the name to print (default: ``name`` title-cased).
    crs_reason : why ``crs`` was used (the file's own, named in the scenario, estimated UTM zone).
    notes : what reading the areas repaired or found (invalid geometries, overlaps, empty areas).

    Treat instances as read-only: loaders cache and share them.

    Examples
    --------
    >>> from fairpatrol.data import load_areas
    >>> areas = load_areas("chicago")
    >>> areas.n, areas.group_pair
    (77, ('Protected', 'Unprotected'))
    >>> areas.group_names
    ['Protected', 'Unprotected']
    """

    name: str
    crs: str
    frame: pd.DataFrame
    geometry: np.ndarray
    group_pair: tuple[str, str]
    group_rule: str = ""
    group_description: str = ""
    group_columns: tuple[str, ...] = ()
    display_name: str = ""
    crs_reason: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        """Number of areas M."""
        return len(self.frame)

    @property
    def city(self) -> str:
        """The study area's name (older name of :attr:`name`)."""
        return self.name

    @property
    def title(self) -> str:
        """The name to print."""
        return self.display_name or self.name.title()

    @property
    def ids(self) -> np.ndarray:
        """Area ids as an array of str."""
        return self.frame["area_id"].to_numpy(dtype=object).astype(str)

    @property
    def names(self) -> np.ndarray:
        """Readable area names."""
        return self.frame["name"].to_numpy(dtype=object).astype(str)

    @property
    def groups(self) -> np.ndarray:
        """Group label of each area."""
        return self.frame["group"].to_numpy(dtype=object).astype(str)

    @functools.cached_property
    def group_names(self) -> list[str]:
        """Every group once: the pair first, then the others by number of areas (largest first)."""
        from fairpatrol.data.groups import group_order

        return group_order(self.groups, self.group_pair)

    @functools.cached_property
    def group_index(self) -> np.ndarray:
        """Index of each area's group in :attr:`group_names` (int64)."""
        lookup = {g: i for i, g in enumerate(self.group_names)}
        return np.array([lookup[g] for g in self.groups], dtype=np.int64)

    def group_counts(self) -> dict[str, int]:
        """Number of areas per group, in :attr:`group_names` order."""
        counts = np.bincount(self.group_index, minlength=len(self.group_names))
        return {g: int(c) for g, c in zip(self.group_names, counts, strict=True)}

    def group_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks of the areas in ``group_pair[0]`` and ``group_pair[1]``."""
        g = self.groups
        return g == self.group_pair[0], g == self.group_pair[1]

    @functools.cached_property
    def centroids(self) -> tuple[np.ndarray, np.ndarray]:
        """Centroid coordinates (x, y) in ``crs`` metres."""
        c = shapely.centroid(self.geometry)
        return shapely.get_x(c), shapely.get_y(c)

    @functools.cached_property
    def tree(self) -> shapely.STRtree:
        """An STRtree over ``geometry`` (built once per instance)."""
        return shapely.STRtree(self.geometry)

    @functools.cached_property
    def _id_index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.ids)}

    def index_of(self, area_ids: Iterable[object], source: str | None = None) -> np.ndarray:
        """Row indices (int64) of ``area_ids``; raises :class:`DataError` naming the unknown ids."""
        keys = [str(a) for a in area_ids]
        lookup = self._id_index
        out = np.fromiter((lookup.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        bad = np.flatnonzero(out < 0)
        if bad.size:
            unknown = list(dict.fromkeys(keys[i] for i in bad))
            shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DataError(
                f"{len(unknown)} unknown area id(s) for {self.name}: {shown}",
                source=source,
                field="area_id",
                row=int(bad[0]) + 1,
            )
        return out

    def to_wgs84(self) -> np.ndarray:
        """The geometries in lon/lat (EPSG:4326), e.g. for maps."""
        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        return shapely.transform(self.geometry, lambda x, y: tr.transform(x, y), interleaved=False)

    def summary(self) -> dict[str, Any]:
        """What a results config records about the areas and groups."""
        counts = self.group_counts()
        return {
            "name": self.name,
            "areas": self.n,
            "crs": self.crs,
            "crs_reason": self.crs_reason,
            "rule": self.group_rule,
            "description": self.group_description,
            "attributes": list(self.group_columns),
            "group_1": self.group_pair[0],
            "group_2": self.group_pair[1],
            "group_1_areas": counts.get(self.group_pair[0], 0),
            "group_2_areas": counts.get(self.group_pair[1], 0),
            "areas_per_group": counts,
            "notes": list(self.notes),
        }

    # -- GeoParquet ----------------------------------------------------------------------------------------
    @classmethod
    def _from_metadata(cls, fields: dict[str, Any], meta: dict[str, Any]) -> Areas:
        """The object :meth:`write_parquet` wrote: ``fields`` are the :class:`Areas` fields, ``meta`` the
        file's ``fairpatrol`` metadata (a subclass reads its own fields from it)."""
        return cls(**fields)

    def _metadata(self) -> dict[str, Any]:
        return {
            "kind": "areas",
            "name": self.name,
            "display_name": self.display_name,
            "crs": self.crs,
            "crs_reason": self.crs_reason,
            "group_pair": list(self.group_pair),
            "group_rule": self.group_rule,
            "group_description": self.group_description,
            "group_columns": list(self.group_columns),
            "notes": list(self.notes),
        }

    def to_geodataframe(self):
        """The areas as a GeoDataFrame (attributes and geometry in ``crs``)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(self.frame.copy(), geometry=np.asarray(self.geometry), crs=self.crs)

    def to_arrow(self):
        """The areas as a pyarrow Table with GeoParquet ('geo') and ``fairpatrol`` metadata."""
        gdf = self.to_geodataframe()
        for col in gdf.columns:  # mixed object columns (e.g. ids read as numbers and text) as text
            if col != "geometry" and gdf[col].dtype == object:
                gdf[col] = gdf[col].map(lambda v: None if v is None or v is pd.NA else str(v))
        table = _arrow_table(gdf)
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = json.dumps(self._metadata(), ensure_ascii=False).encode("utf-8")
        return table.replace_schema_metadata(meta)

    def write_parquet(self, path: str | Path) -> Path:
        """Write ``path`` as GeoParquet, with this object's fields in the file's ``fairpatrol`` metadata."""
        import pyarrow.parquet as pq

        pq.write_table(self.to_arrow(), path, compression="zstd")
        return Path(path)


@dataclass(frozen=True, eq=False, kw_only=True)
class Grid(Areas):
    """The N cells of a grid masked to a city: an :class:`Areas` whose areas are squares.

    Usable wherever areas are (the areas of ``fairpatrol run`` and of ``fairpatrol evaluate``). ``frame``
    columns: ``area_id`` (the cell id ``"ix-iy"``), ``name``, ``group`` (the group of the covering area
    under ``label_rule``), ``area_m2`` (part of the square inside the mask areas), ``ix``, ``iy`` (lattice
    column and row from the lower left), ``x``, ``y`` (square centre, metres), ``parent_id`` and
    ``parent_name`` (the mask area covering most of the square). ``geometry`` holds the full squares.
    Treat instances as read-only.
    """

    cell_size: float
    x0: float
    y0: float
    nx: int
    ny: int
    mask_geometry: np.ndarray = field(repr=False)
    mask_groups: np.ndarray = field(repr=False)
    label_rule: str = "majority"

    @property
    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Square centres (x, y) in metres."""
        return self.frame["x"].to_numpy(float), self.frame["y"].to_numpy(float)

    @functools.cached_property
    def _lattice_to_cell(self) -> np.ndarray:
        lookup = np.full(self.nx * self.ny, -1, dtype=np.int64)
        lookup[self.frame["ix"].to_numpy() * self.ny + self.frame["iy"].to_numpy()] = np.arange(self.n)
        return lookup

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell index (int64) of each point, −1 for points outside every cell.

        A point on a shared edge goes to the cell above / to the right (half-open squares).
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ix = np.floor((x - self.x0) / self.cell_size)
        iy = np.floor((y - self.y0) / self.cell_size)
        ok = np.isfinite(ix) & np.isfinite(iy) & (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.full(x.shape, -1, dtype=np.int64)
        out[ok] = self._lattice_to_cell[ix[ok].astype(np.int64) * self.ny + iy[ok].astype(np.int64)]
        return out

    def counts(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Number of points in each cell (points outside the grid are ignored)."""
        idx = self.locate(x, y)
        return np.bincount(idx[idx >= 0], minlength=self.n).astype(np.float64)

    @functools.cached_property
    def distances(self) -> np.ndarray:
        """N × N Euclidean distances between cell centres in metres (the EMD ground distance)."""
        x, y = self.centres
        d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        d.flags.writeable = False
        return d

    def group_outline(self, group: str) -> shapely.Geometry:
        """The union of the mask areas of ``group`` (its boundary is drawn on maps)."""
        return shapely.union_all(self.mask_geometry[self.mask_groups == group])

    def summary(self) -> dict[str, Any]:
        """Counts per group and the lattice, for configs and reports."""
        counts = self.frame["group"].value_counts()
        return {
            **Areas.summary(self),
            "city": self.name,
            "cell_size_m": self.cell_size,
            "origin": [round(self.x0, 3), round(self.y0, 3)],
            "lattice": [self.nx, self.ny],
            "cells": self.n,
            "label_rule": self.label_rule,
            "cells_per_group": {str(k): int(v) for k, v in counts.items()},
        }

    def _metadata(self) -> dict[str, Any]:
        return {
            **Areas._metadata(self),
            "kind": "grid",
            "cell_size": self.cell_size,
            "x0": self.x0,
            "y0": self.y0,
            "nx": self.nx,
            "ny": self.ny,
            "label_rule": self.label_rule,
        }

    @classmethod
    def _from_metadata(cls, fields: dict[str, Any], meta: dict[str, Any]) -> Grid:
        """A grid read back from ``areas.parquet`` (the mask outlines are the cells' union by group)."""
        frame, geometry = fields["frame"], fields["geometry"]
        groups = frame["group"].to_numpy(dtype=object).astype(str)
        names = np.array(sorted(set(groups)), dtype=object)
        outlines = np.array([shapely.union_all(geometry[groups == g]) for g in names], dtype=object)
        return cls(
            **fields,
            cell_size=float(meta["cell_size"]),
            x0=float(meta["x0"]),
            y0=float(meta["y0"]),
            nx=int(meta["nx"]),
            ny=int(meta["ny"]),
            mask_geometry=outlines,
            mask_groups=names.astype(str),
            label_rule=str(meta.get("label_rule", "majority")),
        )


#: The spatial-unit types by the ``kind`` written in ``areas.parquet``.
KINDS: dict[str, type[Areas]] = {"areas": Areas, "grid": Grid}


def _arrow_table(gdf):
    """A GeoDataFrame as a pyarrow Table with GeoParquet ('geo') metadata."""
    try:
        from geopandas.io.arrow import _geopandas_to_arrow
    except ImportError:  # pragma: no cover - a GeoPandas without it: write and read back
        import io

        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        gdf.to_parquet(buffer, index=False)
        buffer.seek(0)
        return pq.read_table(buffer)
    return _geopandas_to_arrow(gdf, index=False)


def read_areas_parquet(path: str | Path) -> Areas:
    """The :class:`Areas` (or grid) written by :meth:`Areas.write_parquet` into a results directory."""
    import geopandas as gpd
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        meta_raw = (pq.read_schema(p).metadata or {}).get(META_KEY)
        gdf = gpd.read_parquet(p)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read the areas: {err}".splitlines()[0], source=str(p)) from None
    if meta_raw is None:
        raise DataError("not an areas file written by fairpatrol (no 'fairpatrol' metadata)", source=str(p))
    meta = json.loads(meta_raw)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    for col in ("area_id", "name", "group"):
        frame[col] = frame[col].astype(str).astype(object)
    frame["area_m2"] = frame["area_m2"].astype(float)
    geometry = np.asarray(gdf.geometry.array, dtype=object)
    geometry.flags.writeable = False
    fields = {
        "name": meta.get("name", ""),
        "crs": meta.get("crs", ""),
        "frame": frame,
        "geometry": geometry,
        "group_pair": tuple(meta.get("group_pair", ("", ""))),
        "group_rule": meta.get("group_rule", ""),
        "group_description": meta.get("group_description", ""),
        "group_columns": tuple(meta.get("group_columns", ())),
        "display_name": meta.get("display_name", ""),
        "crs_reason": meta.get("crs_reason", ""),
        "notes": tuple(meta.get("notes", ())),
    }
    return KINDS.get(meta.get("kind", "areas"), Areas)._from_metadata(fields, meta)
