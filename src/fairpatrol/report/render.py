"""Assemble a report from a results directory and write it as one self-contained HTML file: the one
place that dispatches on the kind of results (:data:`PAGES`; each kind's page is built by its own module,
:mod:`~fairpatrol.report.run_report`, :mod:`~fairpatrol.report.sweep`, :mod:`~fairpatrol.report.evaluation`,
:mod:`~fairpatrol.report.audit`, from the pieces of the leaf modules :mod:`~fairpatrol.report.page`,
:mod:`~fairpatrol.report.sections`, :mod:`~fairpatrol.report.figures` and :mod:`~fairpatrol.report.svgmap`).

plotly.js (the basic bundle vendored in ``report/vendor``: scatter and bar traces) is embedded once, at the
end of the page, so the first screen (inline SVG) shows before it is parsed. Every figure is an empty
``<div>`` plus its data as JSON in a ``<script type="application/json">`` (``<``, ``>`` and ``&`` escaped),
drawn when it scrolls into view or its section is opened (the page's small loader script;
:mod:`fairpatrol.report.sections`). The Jinja2 environment autoescapes every value; the only markup
inserted unescaped is the figure and map HTML built in :mod:`fairpatrol.report.sections`,
:mod:`fairpatrol.report.page` and :mod:`fairpatrol.report.svgmap`, which escape their text.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from markupsafe import Markup

from fairpatrol.errors import FairpatrolError
from fairpatrol.formatting import number
from fairpatrol.report.page import shown_path
from fairpatrol.report.style import PLOT_CONFIG
from fairpatrol.results import read_results

REPORT_VERSION = 1
#: Found in the head of every report fairpatrol writes (``<meta name="generator">``): an existing file
#: without it is never replaced (:func:`fairpatrol.atomic.check_output_file`).
GENERATOR = 'content="fairpatrol report'


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


#: Per results kind: the page's template, the options that apply to it (None: all) and its name in messages.
PAGES: dict[str, tuple[str, tuple[str, ...] | None, str]] = {
    "run": ("run.html.j2", None, "a run report"),
    "sweep": ("sweep.html.j2", ("dp_epsilon",), "a sweep report"),
    "evaluate": ("evaluation.html.j2", ("day", "dp_epsilon", "rng"), "an evaluation report"),
    "audit": ("audit.html.j2", (), "an audit report"),
}


def page_context(path: str | Path, res: Any, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The template values of the page of ``res`` (a results object of ``kind``), built by the module of
    that kind's page."""
    if kind == "run":
        from fairpatrol.report.run_report import build_run_context

        return build_run_context(res, **options)
    if kind == "sweep":
        from fairpatrol.report.sweep import build_sweep_context

        return build_sweep_context(res, **options)
    if kind == "evaluate":
        from fairpatrol.report.evaluation import build_evaluation_context

        return build_evaluation_context(res, **options)
    from fairpatrol.report.audit import audit_context

    return audit_context(path, res, shown_path(path))


def render_report(path: str | Path, *, cell: str | None = None, **options: Any) -> str:
    """The report of a results directory as an HTML string (see :func:`write_report` for options)."""
    from fairpatrol.audit.result import AuditResult

    res = read_results(path, cell=cell)
    kind = "audit" if isinstance(res, AuditResult) else res.kind
    template, allowed, name = PAGES[kind]
    if allowed is not None:
        options = {k: v for k, v in options.items() if v is not None}
        wrong = [k for k in options if k not in allowed]
        if wrong:
            hint = "; for one cell of a sweep add --cell ID" if kind == "sweep" else ""
            raise FairpatrolError(f"--{wrong[0].replace('_', '-')} does not apply to {name}{hint}")
    context = page_context(path, res, kind, options)
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
