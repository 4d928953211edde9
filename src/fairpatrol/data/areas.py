"""Area polygons (neighborhoods, community areas, localidades) with their group labels.

The polygons ship as WKB in a projected CRS (metres) in ``fairpatrol/datasets/<city>_areas.parquet``; see
``fairpatrol/datasets/README.md`` for provenance.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from fairpatrol.errors import DataError

CITIES = ("baltimore", "chicago", "bogota")
CITY_CRS = {"baltimore": "EPSG:32618", "chicago": "EPSG:26971", "bogota": "EPSG:3116"}
GROUP_RULES = {"baltimore": ("plurality",), "chicago": ("mean", "median"), "bogota": ("alejo",)}


@dataclass(frozen=True, eq=False)
class Areas:
    """The M areas of one city, aligned row by row with ``geometry``.

    ``frame`` has a RangeIndex 0..M-1 and at least ``area_id`` (str), ``name`` (str), ``group`` (str) and
    ``area_m2`` (float). ``geometry`` is an object array of shapely polygons in ``crs`` (metres).
    ``group_pair`` names the two groups compared by two-group gaps; other group labels (e.g. 'neither') are
    left out of those gaps. Treat instances as read-only: loaders cache and share them.
    """

    city: str
    crs: str
    frame: pd.DataFrame
    geometry: np.ndarray
    group_pair: tuple[str, str]
    group_rule: str = ""

    @property
    def n(self) -> int:
        """Number of areas M."""
        return len(self.frame)

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

    def group_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks of the areas in ``group_pair[0]`` and ``group_pair[1]``."""
        g = self.groups
        return g == self.group_pair[0], g == self.group_pair[1]

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
                f"{len(unknown)} unknown area id(s) for {self.city}: {shown}",
                source=source,
                field="area_id",
                row=int(bad[0]) + 1,
            )
        return out

    def to_wgs84(self) -> np.ndarray:
        """The geometries in lon/lat (EPSG:4326), e.g. for maps."""
        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        return shapely.transform(self.geometry, lambda x, y: tr.transform(x, y), interleaved=False)


def _read_parquet(name: str) -> pd.DataFrame:
    with files("fairpatrol.datasets").joinpath(name).open("rb") as fh:
        return pd.read_parquet(fh)


def _check_city(city: str) -> str:
    key = str(city).strip().lower().replace("á", "a")
    if key not in CITIES:
        raise DataError(f"unknown city {city!r}; expected one of {list(CITIES)}", field="city")
    return key


@functools.lru_cache(maxsize=16)
def load_areas(city: str, *, group_rule: str | None = None) -> Areas:
    """Load the bundled areas of ``city`` ('baltimore', 'chicago' or 'bogota').

    Group rules:

    * Baltimore ``'plurality'`` (the only one): 'Black' if Black residents (2010 Census) outnumber both
      White residents and all others together (o = t − b − w), 'White' likewise, else 'neither'
      (168 / 85 / 3). Pair ("Black", "White").
    * Chicago ``'mean'`` (default, SPEC §2): 'Protected' if per-capita income ≤ the unweighted mean over the
      77 areas (50 / 27); ``'median'``: ≤ the median 21,323, the paper's data (39 / 38, equals
      ``protected_alejo``). Pair ("Protected", "Unprotected").
    * Bogotá ``'alejo'``: the paper's localidad groups; the 4 localidades without one are 'neither'.
    """
    key = _check_city(city)
    rules = GROUP_RULES[key]
    rule = rules[0] if group_rule is None else str(group_rule).strip().lower()
    if rule not in rules:
        raise DataError(
            f"unknown group rule {group_rule!r} for {key}; expected one of {list(rules)}", field="group_rule"
        )
    raw = _read_parquet(f"{key}_areas.parquet")
    geometry = shapely.from_wkb(raw.pop("geometry").to_numpy())
    frame = raw.reset_index(drop=True)
    frame["area_id"] = frame["area_id"].astype(str)
    frame["name"] = frame["name"].astype(str)
    if key == "chicago":
        income = frame["per_capita_income"].to_numpy(float)
        cut = income.mean() if rule == "mean" else float(np.median(income))
        frame.insert(2, "group", np.where(income <= cut, "Protected", "Unprotected"))
        pair = ("Protected", "Unprotected")
    elif key == "bogota":
        pair = ("Protected", "Unprotected")
    else:
        pair = ("Black", "White")
    frame["group"] = frame["group"].astype(str)
    frame["area_m2"] = frame["area_m2"].astype(float)
    geometry.flags.writeable = False
    return Areas(
        city=key, crs=CITY_CRS[key], frame=frame, geometry=geometry, group_pair=pair, group_rule=rule
    )
