"""A report page's sections and its figures, drawn lazily (a leaf module: it imports nothing of the report).

Every figure is an empty ``<div>`` plus its data as JSON in a ``<script type="application/json">``
(``<``, ``>`` and ``&`` escaped), drawn by the page's loader script when it scrolls into view or its section
is opened (:mod:`fairpatrol.report.render`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup


@dataclass
class Figure:
    """A rendered figure with its caption (the caption says what to read in it)."""

    id: str
    title: str
    html: Markup
    caption: str
    half: bool = False  # side by side with the next half figure on wide screens


@dataclass
class Section:
    id: str
    title: str
    figures: list[Figure] = field(default_factory=list)


class FigureMaker:
    """Turns Plotly figures into page fragments with unique ids."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig, title: str, caption: str, half: bool = False) -> Figure:
        self.count += 1
        div_id = f"fig{self.count}"
        return Figure(div_id, title, figure_html(fig, div_id), caption, half)


def figure_html(fig, div_id: str) -> Markup:
    """An empty plot ``<div>`` and the figure's data as JSON, drawn lazily by the page's loader."""
    import plotly.io as pio

    spec = pio.to_json(fig, validate=False, pretty=False)
    spec = spec.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    height = int(fig.layout.height or 450)
    return Markup(
        f'<div id="{div_id}" class="plotly-graph-div lazy-plot" style="height:{height}px;width:100%"></div>'
        f'<script type="application/json" id="{div_id}-data">{spec}</script>'
    )
