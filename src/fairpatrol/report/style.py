"""Shared look of the report's Plotly figures: palette, fonts, layout, escaping of labels.

Every text that comes from data (area names, group labels, algorithm names) goes through :func:`esc`
before it reaches Plotly, whose labels understand a subset of HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.D3
GROUP_COLORS = ("#8c510a", "#01665e", "#bdbdbd")
#: Colours of further groups (after the compared pair), then grey for any beyond them.
MORE_GROUP_COLORS = ("#7570b3", "#e6ab02", "#e7298a", "#66a61e", "#a6761d", "#1f78b4")
ZERO_COLOR = "#eeeeee"
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=12)
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def esc(text: object) -> str:
    """HTML-escaped text for Plotly labels (Plotly renders a subset of HTML in text)."""
    return html.escape(str(text), quote=True)


def group_colors(groups: Sequence[str]) -> dict[str, str]:
    """A colour per group, ``groups`` ordered as :attr:`fairpatrol.data.Areas.group_names` (the compared
    pair first: brown and teal, as in every figure), then distinct colours, then grey."""
    more = list(MORE_GROUP_COLORS)
    out = {}
    for i, g in enumerate(groups):
        out[g] = GROUP_COLORS[i] if i < 2 else (more[i - 2] if i - 2 < len(more) else GROUP_COLORS[2])
    return out


def colors_for(names: Sequence[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def base_layout(fig: go.Figure, height: int, **kwargs) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin=dict(l=55, r=15, t=50, b=45),
        font=FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, font=dict(size=11)),
        hoverlabel=dict(namelength=-1),
        **kwargs,
    )
    return fig


def facets(n: int, max_cols: int = 2) -> tuple[int, int]:
    cols = min(n, max_cols)
    return (n + cols - 1) // cols, cols
