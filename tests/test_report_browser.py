"""The report in a real browser: Debian's chromium, headless, driven by Playwright, from file://.

Checks that the page raises no console error, that every figure and map rendered (a non-empty SVG per
figure, filled polygons in the maps), that area names and config values containing a script tag are shown as
text (no dialog fires, no script element is created), and saves screenshots into ``test-artifacts/``.
Chromium is installed by ``make chromium`` (called by ``make test``); never by ``playwright install``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_report import SCRIPT, craft_results

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
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

FIGURE_STATE = """() => [...document.querySelectorAll('figure')].map(f => {
  const div = f.querySelector('.plotly-graph-div');
  const svg = div ? div.querySelector('svg.main-svg') : null;
  return {
    id: f.id,
    height: div ? div.getBoundingClientRect().height : 0,
    marks: div ? div.querySelectorAll('.scatterlayer path, .barlayer path, .point').length : 0,
    fills: div ? div.querySelectorAll('.scatterlayer path.js-fill').length : 0,
    svg: !!svg,
  };
})"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from fairpatrol.config import load_preset
    from fairpatrol.results import write_study

    cfg = load_preset("baltimore-agg", days=5, runs=2, seed=11)
    out = tmp_path_factory.mktemp("browser") / "study"
    write_study(cfg, out)
    return out


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian chromium is missing at /usr/bin/chromium: run `make chromium` (never playwright install)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def open_report(browser, path: Path, width: int = 1100):
    page = browser.new_page(viewport={"width": width, "height": 900})
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
    page.wait_for_function("() => document.querySelectorAll('.plotly-graph-div .main-svg').length > 0")
    return page, problems, dialogs


def test_report_renders_in_chromium(study, browser, tmp_path, monkeypatch):
    from fairpatrol.report import write_report

    crafted = craft_results(study, tmp_path / "crafted", monkeypatch)
    path = write_report(crafted, tmp_path / "report.html").path
    page, problems, dialogs = open_report(browser, path)
    figures = page.evaluate(FIGURE_STATE)
    assert len(figures) >= 12
    for fig in figures:
        assert fig["svg"] and fig["height"] > 150 and fig["marks"] > 0, fig
    maps = [f for f in figures if f["fills"] > 0]
    assert len(maps) >= 2  # the context maps and the officer maps
    officer_map = max(maps, key=lambda f: f["fills"])
    assert officer_map["fills"] >= 6 * 3  # 3 algorithms × 2 days, several colour classes each

    text = page.inner_text("body")
    assert f"crafted {SCRIPT} description" in text  # the config value, shown as text
    assert f"{SCRIPT} " in text  # area names in the tables
    scripts = page.evaluate("() => [...document.scripts].map(s => s.textContent.trim())")
    assert len(scripts) == 1 + len(figures)  # plotly.js, then one per figure: nothing injected
    assert "alert(1)" not in scripts and all(s.startswith("window.PLOTLYENV") for s in scripts[1:])
    # hovering a map area shows its name as text in the hover label
    label = page.evaluate(
        """() => { const d = document.querySelectorAll('.plotly-graph-div')[0];
        const i = d.data.findIndex(t => t.hovertext);
        Plotly.Fx.hover(d, [{curveNumber: i, pointNumber: 0}]);
        return d.querySelector('.hoverlayer').textContent; }"""
    )
    assert SCRIPT in label
    assert not dialogs
    assert not problems, problems

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-desktop.png"), full_page=True)
    page.close()


def test_report_fits_a_phone(study, browser, tmp_path):
    from fairpatrol.report import write_report

    path = write_report(study, tmp_path / "report.html", dp_epsilon=1.0).path
    page, problems, dialogs = open_report(browser, path, width=390)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1  # nothing wider than the screen: wide tables scroll inside their box
    widths = page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')].map(d => d.getBoundingClientRect().width)"
    )
    assert widths and max(widths) <= 390
    assert page.locator("nav.toc a").count() >= 14
    assert not problems and not dialogs
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"), full_page=False)
    page.close()
