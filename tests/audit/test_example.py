"""The bundled Baltimore 2019 audit, produced by one command, and its datasheet in a real browser.

`fairpatrol audit --example baltimore-2019` audits the BPD's 2019 Focused Patrol Areas against the 2019
Part 1 crimes in all 278 neighbourhoods (docs/audit.md, "The Baltimore 2019 example"); the numbers below
are those of the docs. The datasheet is opened in Debian's chromium (tests/conftest.py's
helpers): at most 2 MB, its first screen shows the sentences, the map with the patrol areas and the chart
(screenshot ``test-artifacts/audit-first-screen.png``), every figure draws, the downloads hold the 278
areas and 118 patrol areas, no console error, nothing wider than a phone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairpatrol.atomic import read_marker
from fairpatrol.audit import read_audit
from fairpatrol.cli import app
from tests.conftest import ARTIFACTS, FIGURE_STATE, MAX_BYTES, open_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example") / "baltimore-2019"
    runner = CliRunner()
    result = runner.invoke(
        app, ["audit", "--example", "baltimore-2019", "--out", str(out), "--replicates", "300"]
    )
    assert result.exit_code == 0, result.output
    assert "Focused Patrol Areas in Baltimore, 2019-01-01 to 2019-12-31" in result.output
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def res(example):
    return read_audit(example)


def test_one_command_writes_an_audit_directory(example, res):
    assert read_marker(example)["kind"] == "audit"
    assert res.meta["counts"]["targets"] == 118 and res.meta["counts"]["areas"] == 278
    assert res.meta["period"] == {
        "start": "2019-01-01",
        "end": "2019-12-31",
        "days_audited": 365,
        "days_in_period": 365,
    }
    kinds = dict(zip(res.notes["kind"], res.notes["count"], strict=False))
    assert kinds["reprojected"] == 118
    assert kinds["overlapping_targets"] == 4
    assert kinds["targets_partly_outside_city"] == 20


def test_accuracy_of_the_focused_patrol_areas(res):
    assert res.value("area_targeted") == pytest.approx(0.03453, abs=5e-5)  # 7.26 of 210.3 km²
    captured = res.row("crime_captured")
    assert captured["value"] == pytest.approx(0.09617, abs=5e-5)
    assert captured["lo"] < captured["value"] < captured["hi"] and captured["hi"] - captured["lo"] < 0.01
    assert res.value("pai") == pytest.approx(2.785, abs=0.005)
    assert res.value("crimes") == 41_115
    assert res.value("crime_captured", crime_type="homicide and shooting") == pytest.approx(0.1241, abs=5e-4)


def test_exposure_by_group_and_the_reversal_for_homicides_and_shootings(res):
    black = dict(grouping="area group", group="Black")
    assert res.value("targeting_share", **black) == pytest.approx(0.7489, abs=5e-4)
    assert res.value("crime_share", **black) == pytest.approx(0.6587, abs=5e-4)
    ratio = res.row("ratio_to_crime", **black)
    assert ratio["value"] == pytest.approx(1.137, abs=0.002) and ratio["lo"] > 1
    hs = res.row("ratio_to_crime", crime_type="homicide and shooting", **black)
    assert hs["value"] < 1 and hs["hi"] < 1  # more of the homicides and shootings than of the targeting
    white = res.row(
        "ratio_to_crime", grouping="area group", group="White", crime_type="homicide and shooting"
    )
    assert white["value"] > 1 and white["lo"] > 1


def test_datasheet_in_a_browser(example, browser):
    path = example / "report.html"
    size = path.stat().st_size
    assert size <= MAX_BYTES, f"the audit datasheet is {size / 1e6:.2f} MB"
    page, problems, dialogs = open_report(browser, path, width=1280, draw_all=False)
    first = page.evaluate(
        """() => {
      const inView = el => { const r = el.getBoundingClientRect();
        return r.top < window.innerHeight && r.bottom > 0 && r.height > 0; };
      const map = document.querySelector('#sheet-map');
      return {
        sentences: [...document.querySelectorAll('#datasheet .sentences li')].filter(inView).length,
        map: !!map && inView(map),
        targets: map ? map.querySelectorAll('svg.map use[href$="-targets"]').length : 0,
        outlines: document.querySelectorAll('g[id$="-targets"] path').length,
        areas: map ? map.querySelectorAll('svg.map use').length : 0,
        chart: document.querySelectorAll('#sheet-chart svg.chart rect').length,
      };
    }"""
    )
    assert first["sentences"] >= 3 and first["map"], first
    assert first["targets"] == 2 and first["outlines"] == 118, first  # both panels draw the 118 areas
    assert first["areas"] >= 2 * 278 and first["chart"] >= 8, first
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "audit-first-screen.png"))
    text = page.inner_text("#datasheet")
    assert "The 118 Focused Patrol Areas covered 3.5" in text
    assert "Homicide and shooting leans the other way" in text
    page.evaluate("() => { document.querySelectorAll('details').forEach(d => d.open = true); }")
    page.evaluate("() => window.fairpatrolDrawAll()")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lazy-plot')].every(d => d.dataset.rendered)", timeout=120_000
    )
    figures = page.evaluate(FIGURE_STATE)
    assert figures and all(f["svg"] and f["marks"] > 0 for f in figures), figures
    with page.expect_download() as got:
        page.click("a[data-download='dl-areas']")
    csv = Path(got.value.path()).read_text(encoding="utf-8")
    assert csv.startswith("area_id,name,group,") and len(csv.splitlines()) == 278 + 1
    with page.expect_download() as got:
        page.click("a[data-download='dl-targets']")
    targets = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert len(targets["features"]) == 118
    assert targets["features"][0]["properties"]["target_id"] == "FPA-001"
    assert not problems and not dialogs, problems
    page.screenshot(path=str(ARTIFACTS / "audit-desktop.png"), full_page=True)
    page.close()


def test_datasheet_fits_a_phone(example, browser):
    page, problems, dialogs = open_report(browser, example / "report.html", width=390, draw_all=False)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert not problems and not dialogs
    page.screenshot(path=str(ARTIFACTS / "audit-phone.png"))
    page.close()
