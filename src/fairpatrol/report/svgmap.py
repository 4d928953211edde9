"""Maps as inline SVG: light, offline, with polygon holes, readable for thousands of areas.

A map is drawn once as geometry (:class:`MapUnits`: one SVG path per drawn unit, holes kept with the
even-odd fill rule, simplified to the display's resolution) and coloured many times: each panel is a set
of ``<use>`` references to that geometry with a colour class and a ``<title>`` (the browser's hover
label), so six small maps of 256 areas cost the geometry once plus a few bytes per area and panel.

Many areas. With more than ``max_units`` areas (150 m grid cells, say) the map draws their **parent
areas** instead when the areas carry a ``parent_id`` (grid cells do): additive values (patrol-days,
crimes) are summed per parent and ratios recomputed from the sums. Without parents the panel is a
**raster image** (PNG, one pixel column per ~2 px of the map) of the areas' colours, without hover labels.

Known answers: a square with a square hole draws as one path of two rings (``M…Z M…Z``) filled even-odd;
:func:`classify` puts a value on a class boundary into the lower class.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

#: The map's width in SVG user units (the drawing scales to its container).
WIDTH = 600.0
#: Above this many areas a map draws parent areas (or a raster image).
MAX_UNITS = 600
NO_DATA = "#eeeeee"


def _ring_path(coords: np.ndarray) -> str:
    pts = " ".join(f"{x:.1f} {y:.1f}" for x, y in coords[:-1])
    return f"M{pts}Z"


def _path(geom, x0: float, y1: float, scale: float) -> str:
    """SVG path data of a (multi)polygon, every ring (holes included), in map units (y down)."""
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or not isinstance(poly, shapely.Polygon):
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            if len(xy) < 4:
                continue
            xy = np.column_stack([(xy[:, 0] - x0) * scale, (y1 - xy[:, 1]) * scale])
            parts.append(_ring_path(xy))
    return "".join(parts)


@dataclass(frozen=True)
class MapUnits:
    """What a map draws: its units (areas, or parent areas of many small ones) and their outlines.

    ``unit_of`` maps each area to its unit (−1: not drawn); ``paths`` is the SVG path data of each unit
    (empty in raster mode); ``raster`` holds, in raster mode, the pixel index of each area's cells.
    """

    names: list[str]
    unit_of: np.ndarray
    paths: list[str]
    width: float
    height: float
    what: str  #: "areas", "parent areas" or "raster"
    raster_index: np.ndarray | None = None  # pixel → area index (−1 = outside), raster mode only
    raster_shape: tuple[int, int] = (0, 0)
    origin: tuple[float, float] = (0.0, 0.0)  # the map's top-left corner (min x, max y) in the areas' CRS
    scale: float = 1.0  # map units per metre

    @property
    def n(self) -> int:
        return len(self.names)

    @classmethod
    def from_areas(cls, areas, max_units: int = MAX_UNITS) -> MapUnits:
        geoms = np.asarray(areas.geometry)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        scale = WIDTH / max(x1 - x0, 1.0)
        height = (y1 - y0) * scale
        tolerance = 0.6 / scale  # about half a display unit
        frame = areas.frame
        place: dict[str, Any] = {"origin": (float(x0), float(y1)), "scale": float(scale)}
        if areas.n <= max_units:
            simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
            paths = [_path(g, x0, y1, scale) for g in simple]
            return cls(list(areas.names), np.arange(areas.n), paths, WIDTH, height, "areas", **place)
        if "parent_id" in frame.columns:
            parents = frame["parent_id"].astype(str).to_numpy()
            keys, unit_of = np.unique(parents, return_inverse=True)
            names = []
            label = frame["parent_name"].astype(str).to_numpy() if "parent_name" in frame else parents
            paths = []
            for k in range(len(keys)):
                members = np.flatnonzero(unit_of == k)
                merged = shapely.coverage_union_all(geoms[members])
                merged = shapely.simplify(merged, tolerance, preserve_topology=True)
                paths.append(_path(merged, x0, y1, scale))
                names.append(str(label[members[0]]))
            return cls(names, unit_of, paths, WIDTH, height, "parent areas", **place)
        # raster: which area covers the centre of each pixel (about 2 display units per pixel)
        nx = int(min(max(WIDTH / 2, 50), 400))
        ny = max(round(nx * (y1 - y0) / max(x1 - x0, 1.0)), 1)
        xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
        ys = y1 - (np.arange(ny) + 0.5) * (y1 - y0) / ny
        gx, gy = np.meshgrid(xs, ys)
        points = shapely.points(gx.ravel(), gy.ravel())
        hit_pt, hit_area = areas.tree.query(points, predicate="within")
        index = np.full(points.size, -1, dtype=np.int64)
        index[hit_pt] = hit_area
        return cls(
            list(areas.names), np.arange(areas.n), [], WIDTH, height, "raster", index, (ny, nx), **place
        )

    def outline_paths(self, geoms: Collection[Any]) -> list[str]:
        """SVG path data of other polygons in this map's coordinates (e.g. target zones drawn over the
        areas), simplified to the display's resolution like the areas."""
        x0, y1 = self.origin
        simple = shapely.simplify(np.asarray(geoms, dtype=object), 0.6 / self.scale, preserve_topology=True)
        return [_path(g, x0, y1, self.scale) for g in simple]

    # -- drawing ----------------------------------------------------------------------------------------
    def defs(self, prefix: str) -> str:
        """The shared geometry: one ``<path id=prefix+k>`` per unit (in a hidden SVG)."""
        if self.what == "raster":
            return ""
        body = "".join(f'<path id="{prefix}{k}" d="{d}"/>' for k, d in enumerate(self.paths) if d)
        hidden = 'width="0" height="0" style="position:absolute" aria-hidden="true"'
        return f"<svg {hidden}><defs>{body}</defs></svg>"

    def panel(
        self,
        prefix: str,
        colors: Sequence[str],
        titles: Sequence[str],
        caption: str = "",
        overlay: str = "",
    ) -> str:
        """One map: unit k filled with ``colors[k]`` and labelled ``titles[k]`` on hover; ``overlay`` is SVG
        markup drawn on top (in map coordinates, e.g. ``<use href="#targets"/>``)."""
        vb = f"0 0 {self.width:.0f} {self.height:.0f}"
        if self.what == "raster":
            img = self._raster_png(colors)
            size = f'width="{self.width:.0f}" height="{self.height:.0f}"'
            body = f'<image href="data:image/png;base64,{img}" {size}/>'
        else:
            body = "".join(
                f'<use href="#{prefix}{k}" fill="{colors[k]}"><title>{html.escape(titles[k])}</title></use>'
                for k in range(self.n)
                if self.paths[k]
            )
        label = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        return (
            f'<figure class="map-panel"><svg class="map" viewBox="{vb}" role="img" '
            f'aria-label="{html.escape(caption or "map")}" fill-rule="evenodd" stroke="#fff" '
            f'stroke-width="0.4">{body}{overlay}</svg>{label}</figure>'
        )

    def _raster_png(self, colors: Sequence[str]) -> str:
        ny, nx = self.raster_shape
        index = self.raster_index
        if index is None:
            raise ValueError(f"a map of {self.what} has no raster")
        rgb = np.array([_rgb(c) for c in colors] + [(255, 255, 255)], dtype=np.uint8)
        pix = rgb[np.where(index >= 0, index, len(colors))].reshape(ny, nx, 3)
        return base64.b64encode(png_bytes(pix)).decode("ascii")

    def aggregate(self, values: np.ndarray) -> np.ndarray:
        """Sums of an additive per-area quantity per unit (last axis: areas → units)."""
        v = np.asarray(values, dtype=float)
        if self.what != "parent areas":
            return v
        out = np.zeros((*v.shape[:-1], self.n))
        ok = self.unit_of >= 0
        np.add.at(out.T, self.unit_of[ok], np.moveaxis(v[..., ok], -1, 0))
        return out


def _rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    if c.startswith("rgb"):
        nums = c[c.index("(") + 1 : c.index(")")].split(",")
        return tuple(int(float(n)) for n in nums[:3])  # type: ignore[return-value]
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG of an (height, width, 3) uint8 array (zlib only; no imaging library needed)."""
    import struct
    import zlib

    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# -- colour classes ---------------------------------------------------------------------------------------
#: Diverging classes of a disparity ratio (patrol share ÷ crime share): bounds and colours (blue = fewer
#: patrols than crime, brown = more).
RATIO_BOUNDS = (0.5, 0.8, 1.25, 2.0)
RATIO_COLORS = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
RATIO_LABELS = ("under half", "0.5–0.8×", "0.8–1.25× (about in proportion)", "1.25–2×", "over twice")


def classify(values: np.ndarray, bounds: Sequence[float]) -> np.ndarray:
    """Class index of each value: 0 below bounds[0], …, len(bounds) above the last (NaN → −1)."""
    v = np.asarray(values, dtype=float)
    cls = np.searchsorted(np.asarray(bounds), v, side="left")
    return np.where(np.isfinite(v) | np.isinf(v), cls, -1)


def sequential_breaks(values: np.ndarray, max_classes: int = 6) -> list[float]:
    """Upper bounds of 1-2-5 classes up to the largest value (zero is its own class)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    top = float(v.max()) if v.size else 0.0
    if not top > 0:
        return [1.0]
    lowest = float(v[v > 0].min())
    steps = [m * 10.0**e for e in range(-3, 7) for m in (1, 2, 5)]
    breaks = [s for s in steps if lowest * 0.999 <= s < top]
    while len(breaks) + 1 > max_classes:
        breaks = breaks[::2]
    return [*breaks, top]


def quantile_breaks(values: np.ndarray, quantiles: Sequence[float] = (0.25, 0.5, 0.75, 0.9)) -> list[float]:
    """Upper bounds of classes at the ``quantiles`` of the positive values, rounded to one significant
    digit (so that about as many areas fall in each class, with round labels), then the largest value."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return [1.0]
    top = float(v.max())
    cuts = sorted({float(f"{q:.1g}") for q in np.quantile(v, quantiles) if q > 0})
    return [*(c for c in cuts if c < top), top]


def sequential_colors(n: int, scale: str = "YlOrRd") -> list[str]:
    from plotly.colors import sample_colorscale

    return [_hex(c) for c in sample_colorscale(scale, np.linspace(0.15, 1.0, n))]


def _hex(color: str) -> str:
    r, g, b = _rgb(color)
    return f"#{r:02x}{g:02x}{b:02x}"


def class_panel(
    units: MapUnits,
    prefix: str,
    values: np.ndarray,
    breaks: list[float],
    colors: list[str],
    caption: str,
    *,
    aggregated: bool = False,
    suffix: str = "",
    overlay: str = "",
) -> str:
    """One map of an additive per-area quantity (summed per unit unless ``aggregated``) in sequential
    classes (zero in grey); each unit's hover label is its name and value (three significant digits)."""
    from fairpatrol.formatting import number

    v = np.asarray(values, dtype=float) if aggregated else units.aggregate(values)
    cls = np.where(v > 0, np.minimum(np.searchsorted(breaks, v, side="left") + 1, len(breaks)), 0)
    palette = [NO_DATA, *colors]
    titles = [f"{units.names[k]}: {number(v[k], 3)}{suffix}" for k in range(units.n)]
    return units.panel(prefix, [palette[c] for c in cls], titles, caption, overlay)


def class_legend(breaks: list[float], colors: list[str]) -> list[tuple[str, str]]:
    """Legend entries of :func:`class_panel`: '0', '≤ b₁', 'b₁–b₂', …, '> b_{k−1}'."""
    from fairpatrol.formatting import number

    labels, lo = [], 0.0
    for i, b in enumerate(breaks):
        last = i == len(breaks) - 1 and i > 0
        a, c = number(lo, 3), number(b, 3)
        labels.append(f"> {a}" if last else (f"{a}–{c}" if lo > 0 else f"≤ {c}"))
        lo = b
    return [(NO_DATA, "0"), *zip(colors, labels, strict=True)]


def group_panel(
    units: MapUnits,
    areas,
    prefix: str,
    colors: dict[str, str],
    counts: np.ndarray,
    what: str,
    caption: str = "groups",
    overlay: str = "",
) -> str:
    """The units coloured by group (a parent's group: that of most of its areas), hover: name, group and
    the additive ``counts`` (e.g. true crimes)."""
    from fairpatrol.formatting import value

    if units.what == "parent areas":
        groups = []
        for k in range(units.n):
            members = areas.groups[units.unit_of == k]
            names, n = np.unique(members, return_counts=True)
            groups.append(str(names[np.argmax(n)]) if len(names) else "")
    else:
        groups = list(areas.groups)
    c = units.aggregate(counts)
    titles = [f"{units.names[k]}: {groups[k]}, {value(c[k], 'count')} {what}" for k in range(units.n)]
    return units.panel(prefix, [colors.get(g, NO_DATA) for g in groups], titles, caption, overlay)


def figure_body(panels: Sequence[str], key: Sequence[tuple[str, str]]) -> str:
    """Map panels side by side, then their legend."""
    return '<div class="panels">' + "".join(panels) + "</div>" + legend(key)


def legend(items: Sequence[tuple[str, str]]) -> str:
    """An HTML legend: a swatch and a label per (colour, label)."""
    cells = "".join(
        f'<span class="key"><i style="background:{c}"></i>{html.escape(label)}</span>' for c, label in items
    )
    return f'<div class="legend">{cells}</div>'
