"""The report in a real browser: Debian's chromium, headless, driven by Playwright, from file://.

The demo report (the ``baltimore-agg`` preset as ``make demo`` runs it) is checked for its size (at most
2 MB: a test fails above), its load time (measured and saved, never asserted: the machine is shared),
its first screen (the datasheet: three sentences, the chart and the map, screenshot saved), every figure
drawing when its section is opened, the downloads, and no console error. A crafted report checks that area
names and config values holding a script tag are shown as text (no dialog, no script element executed),
and a phone-sized page that nothing is wider than the screen. Screenshots go to ``test-artifacts/``.
Chromium is installed by ``make chromium`` (called by ``make test``); never by ``playwright install``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, FIGURE_STATE, MAX_BYTES, baltimore_results, open_report
from tests.report.test_run_report import SCRIPT, craft_results

#: What the first screen (the viewport at load) shows.
FIRST_SCREEN = """() => {
  const inView = el => {
    const r = el.getBoundingClientRect();
    return r.top < window.innerHeight && r.bottom > 0 && r.height > 0;
  };
  const map = document.querySelector('#sheet-map');
  const chart = document.querySelector('#sheet-chart svg.chart');
  return {
    sentences: [...document.querySelectorAll('#datasheet .sentences li')].filter(inView).length,
    map: !!map && inView(map),
    mapAreas: map ? map.querySelectorAll('svg.map use, svg.map image').length : 0,
    chart: !!chart && inView(chart),
    chartBars: chart ? chart.querySelectorAll('rect').length : 0,
  };
}"""


@pytest.fixture(scope="module")
def study(tmp_path_factory, baltimore):
    return baltimore_results(tmp_path_factory.mktemp("browser") / "study", baltimore, days=5, runs=2, seed=11)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo study exactly as ``make demo`` runs it, and its report."""
    from fairpatrol.config import load_preset
    from fairpatrol.report import write_report
    from fairpatrol.results import write_study

    out = tmp_path_factory.mktemp("demo") / "baltimore-agg"
    write_study(load_preset("baltimore-agg"), out)
    return write_report(out, out / "report.html")


@pytest.mark.slow
def test_demo_report_is_light_fast_and_shows_its_datasheet_first(demo, browser):
    size = demo.bytes
    assert size <= MAX_BYTES, f"the demo report is {size / 1e6:.2f} MB (at most {MAX_BYTES / 1e6:.0f} MB)"
    page, problems, dialogs = open_report(browser, demo.path, draw_all=False)
    timing = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0]; "
        "return {domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"
    )
    first = page.evaluate(FIRST_SCREEN)
    assert first["sentences"] == 3 and first["map"] and first["chart"], first
    assert first["mapAreas"] >= 3 * 200  # one panel per algorithm, an outline per area
    assert first["chartBars"] >= 3 * 4  # per group: the crime bar and one per algorithm
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-first-screen.png"))
    assert page.evaluate("() => document.documentElement.dataset.plotly") is None  # plotly.js not yet needed
    page.evaluate("() => { document.querySelectorAll('details').forEach(d => d.open = true); }")
    page.evaluate("() => window.fairpatrolDrawAll()")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lazy-plot')].every(d => d.dataset.rendered)", timeout=120_000
    )
    drawn = page.evaluate(
        "() => performance.now() - performance.getEntriesByType('navigation')[0].loadEventEnd"
    )
    figures = page.evaluate(FIGURE_STATE)
    assert len(figures) >= 12
    for fig in figures:
        assert fig["svg"] and fig["height"] > 150 and fig["marks"] > 0, fig
    with page.expect_download() as got:
        page.click("a[data-download='dl-areas']")
    csv = Path(got.value.path()).read_text(encoding="utf-8")
    assert csv.startswith("area_id,name,group,true_crimes,true_crime_share,PredPol_patrol_days")
    assert len(csv.splitlines()) == 256 + 1
    with page.expect_download() as got:
        page.click("a[data-download='dl-geo']")
    geo = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert len(geo["features"]) == 256 and "PredPol_ratio" in geo["features"][0]["properties"]
    assert not problems and not dialogs, problems
    page.screenshot(path=str(ARTIFACTS / "report-desktop.png"), full_page=True)
    (ARTIFACTS / "report-timing.json").write_text(
        json.dumps({"bytes": size, "navigation_ms": timing, "every_figure_drawn_ms": drawn}, indent=2)
    )
    page.close()


def test_report_shows_crafted_text_as_text(study, browser, tmp_path, monkeypatch):
    from fairpatrol.report import write_report

    crafted = craft_results(study, tmp_path / "crafted", monkeypatch)
    path = write_report(crafted, tmp_path / "report.html").path
    page, problems, dialogs = open_report(browser, path)
    text = page.inner_text("body")
    assert f"crafted {SCRIPT} description" in text  # the config value, shown as text
    assert f"{SCRIPT} " in text  # area names in the tables
    titles = page.evaluate(
        "() => [...document.querySelectorAll('svg.map use title')].map(t => t.textContent)"
    )
    assert titles and all(t.startswith(SCRIPT) for t in titles)  # map hover labels: names as text
    scripts = page.evaluate(
        "() => [...document.scripts].filter(s => !s.type || s.type === 'text/javascript')"
        ".map(s => s.textContent.slice(0, 40))"
    )
    # executable: the page's loader and the plotly.js it unpacked, nothing injected from the data
    assert len(scripts) == 2 and any(s.startswith("/**\n* plotly.js (basic") for s in scripts), scripts
    # figures' hover labels show the names as text too
    label = page.evaluate(
        """() => { const d = [...document.querySelectorAll('.lazy-plot')].find(
             d => d.data && d.data.some(t => t.hovertext && String(t.hovertext[0]).includes('script')));
        const i = d.data.findIndex(t => t.hovertext);
        Plotly.Fx.hover(d, [{curveNumber: i, pointNumber: 0}]);
        return d.querySelector('.hoverlayer').textContent; }"""
    )
    assert SCRIPT in label
    assert not dialogs
    assert not problems, problems
    page.close()


def test_report_fits_a_phone(study, browser, tmp_path):
    from fairpatrol.report import write_report

    path = write_report(study, tmp_path / "report.html", dp_epsilon=1.0).path
    page, problems, dialogs = open_report(browser, path, width=390)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1  # nothing wider than the screen: wide tables scroll inside their box
    widths = page.evaluate(
        "() => [...document.querySelectorAll('.lazy-plot, svg.map, svg.chart')]"
        ".map(d => d.getBoundingClientRect().width)"
    )
    assert widths and max(widths) <= 390
    assert page.locator("nav.toc a").count() >= 15
    assert not problems and not dialogs
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"), full_page=False)
    page.close()
