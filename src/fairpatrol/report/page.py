"""Pieces of a report page, shared by the run, sweep and evaluation reports and the audit datasheet (a leaf
module: it imports nothing of the report).

* :func:`bar_chart` — an inline-SVG chart of shares per category (rows) and series (bars), with 95 %
  interval whiskers and a reference bar per category (e.g. the share of crime next to the shares of
  patrols);
* :func:`download` — a download link whose file is inside the page (as JSON text, turned into a file by
  the page's script on click: no base64 overhead);
* :func:`csv_text` — a table as CSV text for such a link;
* :func:`geojson_text` — polygons with their per-row results as GeoJSON text for such a link;
* :func:`rounded` — a number to six significant digits for downloads;
* :func:`data_uri` — a download link's target holding a text;
* :func:`shown_path` — how a page names a results directory (never an absolute path of the analyst's
  machine); :func:`dataset_notes` — the provenance of a bundled city's data.

Everything from data is HTML-escaped here; the functions return markup.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from fairpatrol.formatting import fixed, percent, value


@dataclass(frozen=True)
class Bar:
    """One bar: a value with an optional 95 % interval."""

    value: float
    low: float = float("nan")
    high: float = float("nan")


def _nice_top(top: float) -> float:
    if not top > 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= top:
            return m * mag
    return 10 * mag


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: dict[tuple[str, str], Bar],
    reference: tuple[str, str] | None = None,
    title: str = "",
) -> Markup:
    """Horizontal bars of shares (0–1): for each category, the ``reference`` series first (a dark bar),
    then one bar per (name, colour) in ``series``; ``values[(category, series name)]``. Values print as
    percent at the bar's end; whiskers show the 95 % interval when there is one."""
    rows = [*([reference] if reference else []), *series]
    label_w, bar_w, value_w, bar_h, gap = 140.0, 360.0, 60.0, 12.0, 12.0
    width = label_w + bar_w + value_w
    top = max(
        [v.high if math.isfinite(v.high) else v.value for v in values.values() if math.isfinite(v.value)]
        + [0.01]
    )
    top = _nice_top(top)
    block = len(rows) * bar_h + gap
    keys, lx, ly = [], 0.0, 4.0
    for name, color in rows:  # legend, wrapped to the chart's width
        w = 24 + 6.6 * len(name)
        if lx and lx + w > width:
            lx, ly = 0.0, ly + 16
        keys.append(
            f'<rect x="{lx:.0f}" y="{ly:.0f}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14:.0f}" y="{ly + 9:.0f}">{html.escape(name)}</text>'
        )
        lx += w
    legend_h = ly + 20
    height = legend_h + len(categories) * block + 22
    x = lambda v: label_w + bar_w * max(min(v, top), 0) / top  # noqa: E731
    out = [
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{html.escape(title or "bar chart")}" font-size="12">',
        *keys,
    ]
    for t in range(5):  # grid
        v = top * t / 4
        gx = x(v)
        tick = value(v, "share", decimals=0 if top >= 0.04 else 1)
        out.append(
            f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{legend_h:.0f}" y2="{height - 18:.0f}" stroke="#ddd"/>'
            f'<text x="{gx:.1f}" y="{height - 5:.0f}" text-anchor="middle" fill="#555">{tick}</text>'
        )
    for i, cat in enumerate(categories):
        y0 = legend_h + i * block + gap / 2
        out.append(
            f'<text x="{label_w - 8:.0f}" y="{y0 + len(rows) * bar_h / 2 + 4:.1f}" text-anchor="end" '
            f'font-weight="600">{html.escape(cat)}</text>'
        )
        for j, (name, color) in enumerate(rows):
            bar = values.get((cat, name))
            if bar is None or not math.isfinite(bar.value):
                continue
            y = y0 + j * bar_h
            out.append(
                f'<rect x="{label_w:.0f}" y="{y + 1:.1f}" width="{x(bar.value) - label_w:.1f}" '
                f'height="{bar_h - 2:.0f}" fill="{color}"><title>{html.escape(cat)}, {html.escape(name)}: '
                f"{percent(bar.value)}</title></rect>"
            )
            end = x(bar.value)
            if math.isfinite(bar.low) and math.isfinite(bar.high):
                out.append(
                    f'<line x1="{x(bar.low):.1f}" x2="{x(bar.high):.1f}" y1="{y + bar_h / 2:.1f}" '
                    f'y2="{y + bar_h / 2:.1f}" stroke="#222" stroke-width="1.2"/>'
                )
                end = max(end, x(bar.high))
            out.append(
                f'<text x="{end + 4:.1f}" y="{y + bar_h - 2:.1f}" fill="#333">{percent(bar.value)}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def data_uri(text: str, mime: str = "text/yaml") -> str:
    """A ``data:`` URI holding ``text`` (base64, so no character of it can end the attribute)."""
    return f"data:{mime};charset=utf-8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def download(filename: str, text: str, mime: str, label: str, ident: str) -> Markup:
    """A link that saves ``text`` as ``filename``: the text sits in the page as a JSON string (``<``, ``>``
    and ``&`` escaped) in a script element with id ``ident``; the page's script makes the file on click
    (the ``a[data-download]`` handler of the report template)."""
    import json

    size = len(text.encode("utf-8"))
    shown = f"{fixed(size / 1024, 0)} kB" if size >= 1024 else f"{size} bytes"
    payload = json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(
        f'<a download="{html.escape(filename)}" href="#" data-download="{html.escape(ident)}" '
        f'data-mime="{html.escape(mime)}">{html.escape(label)}</a> '
        f'<span class="muted">({html.escape(filename)}, {shown})</span>'
        f'<script type="application/json" id="{html.escape(ident)}">{payload}</script>'
    )


def csv_text(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Rows (dicts) as CSV text with a header; numbers as written (full precision)."""
    import csv
    import io

    columns = list(columns or (rows[0].keys() if rows else []))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


def rounded(v: float, digits: int = 6) -> float | None:
    """``v`` to ``digits`` significant digits for downloads (None when undefined)."""
    v = float(v)
    if not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


def geojson_text(geometries: Collection[Any], rows: Sequence[dict], max_bytes: int) -> tuple[str | None, int]:
    """A GeoJSON FeatureCollection of lon/lat ``geometries`` with ``rows`` as their properties (undefined
    numbers as null), simplified to about 20 m on a 10 m grid (enough for a map); (None, its size) when the
    text would be larger than ``max_bytes``."""
    import json

    import numpy as np
    import shapely

    geoms = shapely.set_precision(shapely.simplify(np.asarray(geometries, dtype=object), 2e-4), 1e-4)
    features = []
    for g, props in zip(geoms, rows, strict=True):
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in props.items()}
        features.append(
            {"type": "Feature", "properties": clean, "geometry": json.loads(shapely.to_geojson(g))}
        )
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    if len(text) > max_bytes:
        return None, len(text)
    return text, len(text)


def dataset_notes(pack) -> str:
    """The provenance of a bundled city pack's data (its section of the bundled datasets README)."""
    from fairpatrol.data.cities import provenance_notes

    return provenance_notes(pack)


def shown_path(path: str | Path) -> str:
    """How a report names a results directory: relative to the working folder when inside it, else its
    name alone (a report never shows an absolute path of the analyst's machine)."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return p.name
