"""Assemble a report from a results directory and write it as one self-contained HTML file.

plotly.js (the basic bundle vendored in ``report/vendor``: scatter and bar traces) is embedded once, at the
end of the page, so the first screen (inline SVG) shows before it is parsed. Every figure is an empty
``<div>`` plus its data as JSON in a ``<script type="application/json">`` (``<``, ``>`` and ``&`` escaped),
drawn when it scrolls into view or its section is opened (the page's small loader script). The Jinja2
environment autoescapes every value; the only markup inserted unescaped is the figure and map HTML built
here and in :mod:`fairpatrol.report.page` / :mod:`fairpatrol.report.svgmap`, which escape their text.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from markupsafe import Markup

from fairpatrol.errors import FairpatrolError
from fairpatrol.formatting import number
from fairpatrol.report.load import RunResults, load_results
from fairpatrol.report.page import data_uri as _data_uri
from fairpatrol.report.style import PLOT_CONFIG

REPORT_VERSION = 1
#: Found in the head of every report fairpatrol writes (``<meta name="generator">``): an existing file
#: without it is never replaced (:func:`fairpatrol.atomic.check_output_file`).
GENERATOR = 'content="fairpatrol report'


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


PLOTLY_JS = files("fairpatrol.report") / "vendor" / "plotly-basic.min.js"


@functools.lru_cache(maxsize=1)
def plotly_js() -> Markup:
    """The plotly.js the reports embed, gzipped and base64-encoded (the page unpacks it with the browser's
    ``DecompressionStream``): the vendored basic bundle, or the Python package's full bundle when its
    plotly.js major version differs from the vendored one (docs/report.md, "Page, size and checks")."""
    import gzip

    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    text = PLOTLY_JS.read_text(encoding="utf-8")
    head = text[:200]
    vendored = head.split(" v", 1)[1].split()[0] if " v" in head else ""
    if vendored.split(".")[0] != get_plotlyjs_version().split(".")[0]:
        text = get_plotlyjs()
    packed = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    return Markup(base64.b64encode(packed).decode("ascii"))


def plot_config() -> Markup:
    """The Plotly config every figure is drawn with, as JSON for the loader."""
    import json

    return Markup(json.dumps(PLOT_CONFIG))


def data_uri(text: str, mime: str = "text/yaml") -> str:
    """A download link's target holding ``text`` (base64, so no character of it can end the attribute)."""
    return _data_uri(text, mime)


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


def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("fairpatrol.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda v: f"{v:,}" if isinstance(v, int | float) else v
    env.filters["num"] = lambda v, digits=3: number(v, digits) if isinstance(v, int | float) else v
    return env


def render_report(path: str | Path, *, cell: str | None = None, **options: Any) -> str:
    """The report of a results directory as an HTML string (see :func:`write_report` for options)."""
    res = load_results(path, cell=cell)
    from fairpatrol.audit.result import AuditResult

    if isinstance(res, AuditResult):
        from fairpatrol.report.audit import audit_context

        given = {k: v for k, v in options.items() if v is not None}
        if given:
            raise FairpatrolError(
                f"--{next(iter(given)).replace('_', '-')} does not apply to an audit report"
            )
        context = audit_context(path, res, shown_path(path))
        template = "audit.html.j2"
    elif isinstance(res, RunResults):
        from fairpatrol.report.run_report import build_run_context

        context = build_run_context(res, **options)
        template = "report.html.j2"
    else:
        allowed = {"sweep": ("dp_epsilon",), "grid": ("day", "dp_epsilon", "rng")}[res.kind]
        given = {k: v for k, v in options.items() if v is not None}
        wrong = [k for k in given if k not in allowed]
        if wrong:
            hint = "; for one cell of a sweep add --cell ID" if res.kind == "sweep" else ""
            raise FairpatrolError(
                f"--{wrong[0].replace('_', '-')} does not apply to a {res.kind} report{hint}"
            )
        if res.kind == "sweep":
            from fairpatrol.report.sweep import build_sweep_context

            context = build_sweep_context(res, **given)
            template = "sweep.html.j2"
        else:
            from fairpatrol.report.grid import build_grid_context

            context = build_grid_context(res, **given)
            template = "grid.html.j2"
    context["generated"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context["plotly_js"] = plotly_js()
    context["plot_config"] = plot_config()
    context["report_version"] = REPORT_VERSION
    return environment().get_template(template).render(**context)


@dataclass(frozen=True)
class Written:
    path: Path
    bytes: int
    seconds: float


def write_report(path: str | Path, out: str | Path, **options: Any) -> Written:
    """Render the report of results directory ``path`` into ``out`` (written atomically, mode 0644 under the
    usual umask; an existing ``out`` is replaced only when it is a report fairpatrol wrote).

    Options: ``day`` (explained day, default the last; the map day of a grid evaluation), ``scenario``
    (scenario of the maps, explanations and calibration), ``run`` (replayed run), ``cell`` (one cell of a
    sweep, reported as a run), ``dp_epsilon`` (privacy mode), ``rng`` (privacy noise; tests).
    """
    from fairpatrol.atomic import atomic_write, check_output_file

    t0 = time.perf_counter()
    out = Path(out)
    check_output_file(out, generator=GENERATOR)
    text = render_report(path, **options)
    atomic_write(out, text)
    return Written(out, out.stat().st_size, time.perf_counter() - t0)
