"""Shared test helpers: the bundled Baltimore incidents, a small results directory, the command line and a
headless browser for the report tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("NUMBA_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def baltimore():
    from fairpatrol.data import load_areas, load_incidents

    areas = load_areas("baltimore")
    return load_incidents("baltimore-agg-assault", areas=areas)


#: The smallest study of the bundled data: one algorithm, two days, one run (for command-line tests).
TINY_SCENARIO = {
    "name": "t",
    "data": {"city": "baltimore", "incidents": "baltimore-agg-assault"},
    "start": "2019-03-01",
    "days": 2,
    "runs": 1,
    "algorithms": ["ShortTermKDE"],
    "officers": [40],
    "report_probs": [0.4],
}


def baltimore_results(out, incidents, **overrides):
    """Write the results of the ``baltimore-agg`` preset with ``overrides`` (days, runs, officers, …) into
    ``out`` and return ``out`` (a small study for tests that read a results directory)."""
    from fairpatrol.config import load_preset
    from fairpatrol.results import write_study

    write_study(load_preset("baltimore-agg", **overrides), out, incidents=incidents)
    return out


@pytest.fixture(autouse=True)
def _crash_logs_in_tmp(tmp_path_factory, monkeypatch):
    """Crash logs of the CLI guard go to a temporary folder, never to the user's ~/.cache."""
    monkeypatch.setenv("FAIRPATROL_LOG_DIR", str(tmp_path_factory.getbasetemp() / "crash-logs"))


@pytest.fixture(scope="session", autouse=True)
def _array_cache_in_tmp(tmp_path_factory):
    """The on-disk array cache (fairpatrol.diskcache) of the whole session, module and session fixtures
    included, is a temporary folder shared by its tests, never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAIRPATROL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "array-cache"))
        yield


def run_cli(*args: str, **kwargs):
    """``fairpatrol ARGS`` in-process (Typer's test runner), exceptions propagated; its result."""
    from typer.testing import CliRunner

    from fairpatrol.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False, **kwargs)


# -- the browser tests: Debian's chromium, headless, driven by Playwright (never `playwright install`) ------
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # screenshots of the browser tests
MAX_BYTES = 2_000_000

#: Per figure: its plot's height, marks drawn, filled paths, whether Plotly drew an SVG.
FIGURE_STATE = """() => [...document.querySelectorAll('.lazy-plot')].map(div => {
  const svg = div.querySelector('svg.main-svg');
  return {
    id: div.id,
    height: div.getBoundingClientRect().height,
    marks: div.querySelectorAll('.scatterlayer path, .barlayer path, .point').length,
    svg: !!svg,
  };
})"""


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright (one for the whole session)."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian chromium is missing at /usr/bin/chromium: run `make chromium` (never playwright install)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def open_report(browser, path: Path, width: int = 1100, draw_all: bool = True):
    """Open a report; with ``draw_all``, open every section and wait until every figure is drawn."""
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(path.as_uri(), wait_until="load")
    if draw_all:
        page.evaluate("() => { document.querySelectorAll('details').forEach(d => d.open = true); }")
        page.evaluate("() => window.fairpatrolDrawAll()")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.lazy-plot')].every(d => d.dataset.rendered)",
            timeout=120_000,
        )
    return page, problems, dialogs
