"""Maps of a report: filled polygons over the real area boundaries, in the city's projected CRS.

Maps are filled polygon traces in projected coordinates (metres, equal aspect), not tile maps: they need
no network and render from ``file://`` (Plotly's choropleth and tile maps fetch assets). Areas are
coloured by classes: one trace per class holds every polygon of that class (rings separated by NaN gaps,
sent as float32 typed arrays), and an invisible marker at a point inside each area carries its hover
text, which keeps a 256-area map to about ten traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import shapely
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from fairpatrol.data import Areas
from fairpatrol.report.style import ZERO_COLOR, base_layout, esc, facets, group_colors


@dataclass(frozen=True)
class MapGeometry:
    """Simplified polygon outlines (metres from the city's south-west corner) and a label point per area."""

    rings: list[list[tuple[np.ndarray, np.ndarray]]]  # per area: exterior rings of its parts
    label_x: np.ndarray
    label_y: np.ndarray
    width: float
    height: float

    @classmethod
    def from_areas(cls, areas: Areas, tolerance_m: float = 15.0) -> MapGeometry:
        geoms = shapely.simplify(np.asarray(areas.geometry), tolerance_m, preserve_topology=True)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        rings = []
        for g in geoms:
            parts = list(g.geoms) if hasattr(g, "geoms") else [g]
            out = []
            for p in parts:
                xy = np.asarray(p.exterior.coords)
                out.append((np.round(xy[:, 0] - x0), np.round(xy[:, 1] - y0)))
            rings.append(out)
        pts = shapely.point_on_surface(geoms)
        return cls(
            rings, np.round(shapely.get_x(pts) - x0), np.round(shapely.get_y(pts) - y0), x1 - x0, y1 - y0
        )

    def outline(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rings of the member areas in one float32 array pair, separated by NaN (gaps between polygons)."""
        parts = [xy for a in np.flatnonzero(members) for xy in self.rings[a]]
        gap = np.array([np.nan], dtype=np.float32)
        xs = np.concatenate([c for x, _ in parts for c in (x.astype(np.float32), gap)])
        ys = np.concatenate([c for _, y in parts for c in (y.astype(np.float32), gap)])
        return xs, ys


def class_breaks(values: np.ndarray, max_classes: int = 7) -> list[float]:
    """Upper bounds of 1-2-5 classes from the smallest to the largest positive value (zero is its own
    class); every other step is dropped until at most ``max_classes`` remain."""
    v = np.asarray(values, dtype=float)
    top = float(np.nanmax(v)) if v.size else 0.0
    if not top > 0:
        return [1.0]
    lowest = float(np.nanmin(v[v > 0]))
    steps = [m * 10.0**e for e in range(-3, 7) for m in (1, 2, 5)]
    breaks = [s for s in steps if s >= lowest * 0.999 and s < top]
    while len(breaks) + 1 > max_classes:
        breaks = breaks[::2]
    return [*breaks, top]


def _class_labels(breaks: list[float]) -> list[str]:
    """'0', then '≤ b₁', 'b₁–b₂', …, '> b_{k−1}' (the last class is open: its bound is the maximum)."""
    labels = []
    lo = 0.0
    for i, b in enumerate(breaks):
        if i == len(breaks) - 1 and i > 0:
            labels.append(f"> {lo:g}")
        elif lo > 0:
            labels.append(f"{lo:g}–{b:g}")
        else:
            labels.append(f"≤ {b:g}")
        lo = b
    return ["0", *labels]


def _classify(values: np.ndarray, breaks: list[float]) -> np.ndarray:
    cls = np.searchsorted(np.asarray(breaks), values, side="left") + 1
    cls[values <= 0] = 0
    return np.minimum(cls, len(breaks))


def add_map(
    fig: go.Figure,
    geo: MapGeometry,
    classes: np.ndarray,
    colors: list[str],
    labels: list[str],
    hover: list[str],
    row: int | None,
    col: int | None,
    show_legend: bool,
    legend_title: str = "",
    legend: str = "legend",
) -> None:
    """Filled polygons coloured by ``classes`` (index into ``colors``) plus invisible hover markers."""
    for k, (color, label) in enumerate(zip(colors, labels, strict=True)):
        members = classes == k
        if not members.any():
            continue
        xs, ys = geo.outline(members)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=color,
                line=dict(color="white", width=0.5),
                name=esc(label),
                legendgroup=f"{legend}-class{k}",
                legend=legend,
                showlegend=show_legend,
                hoverinfo="skip",
            ),
            row=row,
            col=col,
        )
    fig.add_trace(
        go.Scatter(
            x=geo.label_x,
            y=geo.label_y,
            mode="markers",
            marker=dict(size=7, color="rgba(0,0,0,0)"),
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            showlegend=False,
        ),
        row=row,
        col=col,
    )


def _map_axes(fig: go.Figure, n: int) -> None:
    for i in range(1, n + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"xaxis{suffix}"].update(visible=False, constrain="domain")
        fig.layout[f"yaxis{suffix}"].update(visible=False, scaleanchor=f"x{suffix}", scaleratio=1)


def area_hover(areas: Areas, lines: dict[str, Sequence[str]]) -> list[str]:
    """Hover text per area: escaped name and group, then one escaped line per extra field."""
    names, groups = areas.names, areas.groups
    out = []
    for i in range(areas.n):
        parts = [f"<b>{esc(names[i])}</b>", f"group: {esc(groups[i])}"]
        parts += [f"{esc(k)}: {esc(v[i])}" for k, v in lines.items()]
        out.append("<br>".join(parts))
    return out


def officer_maps(
    areas: Areas,
    geo: MapGeometry,
    officers: dict[tuple[str, str], np.ndarray],
    algorithms: list[str],
    day_labels: list[str],
) -> go.Figure:
    """Mean officers per area (over runs) on each day in ``day_labels``: rows = algorithms."""
    values = np.concatenate([v for v in officers.values()])
    breaks = class_breaks(values)
    labels = _class_labels(breaks)
    colors = [ZERO_COLOR, *sample_colorscale("YlOrRd", np.linspace(0.15, 1.0, len(breaks)))]
    titles = [f"{esc(a)}<br>{esc(d)}" for a in algorithms for d in day_labels]
    fig = make_subplots(
        rows=len(algorithms),
        cols=len(day_labels),
        subplot_titles=titles,
        horizontal_spacing=0.02,
        vertical_spacing=0.06,
    )
    for r, alg in enumerate(algorithms, start=1):
        for c, day in enumerate(day_labels, start=1):
            v = officers[(alg, day)]
            hover = area_hover(areas, {"officers (mean over runs)": [f"{x:.2f}" for x in v]})
            add_map(
                fig, geo, _classify(v, breaks), colors, labels, hover, r, c, r == 1 and c == 1, "officers"
            )
    _map_axes(fig, len(algorithms) * len(day_labels))
    aspect = geo.height / geo.width
    base_layout(fig, int(100 + len(algorithms) * 330 * min(max(aspect, 0.6), 1.3)))
    fig.update_layout(
        legend=dict(orientation="h", y=-0.01, yanchor="top", x=0, itemclick=False, title_text="officers"),
        margin=dict(t=40, b=60),
    )
    return fig


def single_map(
    areas: Areas,
    geo: MapGeometry,
    classes: np.ndarray,
    colors: list[str],
    labels: list[str],
    hover: list[str],
    legend_title: str,
    height: int = 480,
) -> go.Figure:
    """One map with its class legend below it."""
    fig = go.Figure()
    add_map(fig, geo, classes, colors, labels, hover, None, None, True)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    base_layout(fig, height)
    fig.update_layout(
        legend=dict(
            orientation="h", yanchor="top", y=-0.01, x=0, itemclick=False, title_text=esc(legend_title)
        ),
        margin=dict(t=10, b=60, l=10, r=10),
    )
    return fig


def group_map(areas: Areas, geo: MapGeometry, hover: list[str]) -> go.Figure:
    """The areas coloured by group, every group its own colour (the compared pair first)."""
    names = areas.group_names
    colors = group_colors(names)
    return single_map(areas, geo, areas.group_index, [colors[g] for g in names], list(names), hover, "group")


def count_map(areas: Areas, geo: MapGeometry, counts: np.ndarray, hover: list[str], title: str) -> go.Figure:
    """Counts per area in 1-2-5 classes (zero in grey)."""
    breaks = class_breaks(counts)
    colors = [ZERO_COLOR, *sample_colorscale("Purples", np.linspace(0.25, 1.0, len(breaks)))]
    return single_map(areas, geo, _classify(counts, breaks), colors, _class_labels(breaks), hover, title)


def value_maps(areas: Areas, geo: MapGeometry, values: dict[str, np.ndarray], title: str) -> go.Figure:
    """One map per entry of ``values`` (same colour classes), side by side."""
    names = list(values)
    allv = np.concatenate([values[n] for n in names])
    breaks = class_breaks(allv)
    labels = _class_labels(breaks)
    colors = [ZERO_COLOR, *sample_colorscale("YlOrRd", np.linspace(0.15, 1.0, len(breaks)))]
    rows, cols = facets(len(names), 3)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(n) for n in names],
        horizontal_spacing=0.02,
        vertical_spacing=0.06,
    )
    for i, n in enumerate(names):
        v = values[n]
        hover = area_hover(areas, {title: [f"{x:.3g}" for x in v]})
        add_map(
            fig, geo, _classify(v, breaks), colors, labels, hover, i // cols + 1, i % cols + 1, i == 0, title
        )
    _map_axes(fig, len(names))
    base_layout(fig, 90 + rows * 380)
    fig.update_layout(
        legend=dict(orientation="h", y=-0.01, yanchor="top", x=0, itemclick=False, title_text=esc(title)),
        margin=dict(t=40, b=60),
    )
    return fig
