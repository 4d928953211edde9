"""`fairpatrol audit`, `fairpatrol check` of an audit config and `fairpatrol report` of an audit directory,
on a small city placed by hand (tests/audit/small_city.py): known numbers, the written directory, its config
reproducing it, output rules, and the three kinds of targets through the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.atomic import MARKER
from fairpatrol.audit import TABLES, read_audit
from fairpatrol.cli import app
from tests.audit.small_city import CRIMES, KNOWN, X0, Y0, write_city, write_config

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("city")
    write_city(folder)
    write_config(folder)
    return folder


@pytest.fixture(scope="module")
def audited(city, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("out") / "res"
    result = invoke("audit", city / "audit.yaml", "--out", out)
    assert result.exit_code == 0, result.output
    return out, result.output


def overall(out: Path) -> dict[str, float]:
    t = pd.read_csv(out / "overall.csv")
    t = t[t["crime_type"] == "all"]
    return dict(zip(t["measure"], t["value"], strict=True))


def test_audit_writes_a_marked_directory_with_known_numbers(audited):
    out, _ = audited
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "audit"
    names = {p.name for p in out.iterdir()}
    assert {f"{t}.csv" for t in TABLES} | {
        "audit.json",
        "audit.yaml",
        "areas.parquet",
        "targets.parquet",
    } <= names
    got = overall(out)
    for measure, want in KNOWN.items():
        assert got[measure] == pytest.approx(want, rel=1e-6), measure
    assert got["crimes"] == len(CRIMES)
    meta = json.loads((out / "audit.json").read_text())
    assert meta["targets_info"] == {
        "kind": "zones",
        "label": "patrol zones",
        "description": "",
        "file": "zones.geojson",
    }
    assert meta["caveats"] == ["The zones are made up."]


def test_no_absolute_path_is_written(audited, city):
    out, _ = audited
    for path in out.iterdir():
        if path.suffix in (".csv", ".json", ".yaml", ".txt"):
            text = path.read_text()
            assert str(city) not in text and str(out) not in text, path.name


def test_the_terminal_shows_the_headline_and_every_note(audited):
    out, text = audited
    assert "60\u00a0% (" in text  # share of crime inside, with its interval (no-break space)
    assert "PAI" in text and "3.2" in text
    assert "G1" in text and "G2" in text
    notes = pd.read_csv(out / "notes.csv")["message"]
    assert len(notes) >= 3
    flat = " ".join(text.split())
    for message in notes:
        assert " ".join(message.split()) in flat
    assert f"results written to {out}" in flat


def test_the_written_config_reproduces_the_audit(audited, tmp_path, monkeypatch):
    out, _ = audited
    monkeypatch.chdir(tmp_path)  # the copy's paths are relative to where the config was, not to here
    result = invoke("audit", out / "audit.yaml", "--out", "again", "-q")
    assert result.exit_code == 0, result.output
    for name in ("overall", "by_group", "by_area", "by_target"):
        pd.testing.assert_frame_equal(pd.read_csv(out / f"{name}.csv"), pd.read_csv(f"again/{name}.csv"))
    written = yaml.safe_load((out / "audit.yaml").read_text())
    assert [f["path"] for f in written["inputs"]["files"]] == ["areas.gpkg", "incidents.csv", "zones.geojson"]


def test_an_existing_directory_is_refused_before_any_work(city, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep")
    broken = write_config(tmp_path, data={"incidents": {"file": "missing.csv"}})  # would fail on reading
    result = invoke("audit", broken, "--out", mine)
    assert result.exit_code == 2
    assert "not empty" in result.output and "missing.csv" not in result.output
    assert (mine / "thesis.txt").read_text() == "keep"


def test_overwrite_replaces_an_audit_directory_only(audited, city, tmp_path):
    out = tmp_path / "res"
    shutil.copytree(audited[0], out)
    result = invoke("audit", city / "audit.yaml", "--out", out, "-q")
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = invoke("audit", city / "audit.yaml", "--out", out, "-q", "--overwrite", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "audit.json").read_text())["settings"]["seed"] == 7


def test_report_writes_the_audit_datasheet(audited, tmp_path):
    out = tmp_path / "res"
    shutil.copytree(audited[0], out)
    result = invoke("report", out)
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "Toytown: were the patrol zones accurate" in html
    assert html.count('<path d="M') >= 2  # the two zones outlined
    assert str(tmp_path) not in html
    assert len(html.encode()) < 2_000_000
    result = invoke("report", out, "--day", "2020-01-01")
    assert result.exit_code == 2 and "--day does not apply to an audit report" in result.output


def test_check_accepts_an_audit_config(city):
    result = invoke("check", city / "audit.yaml")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "toy: audit settings are valid" in text
    assert "Targets: patrol zones (zones) from zones.geojson" in text
    assert "2 of 2 days audited" in text and "ready" in text


def test_config_and_example_are_exclusive(city, tmp_path):
    result = invoke("audit", city / "audit.yaml", "--example", "baltimore-2019", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "either an audit config file or --example" in result.output
    result = invoke("audit", "--example", "springfield", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "unknown example 'springfield'" in result.output
    assert "baltimore-2019" in result.output


def test_daily_boxes_with_shifts_through_the_command_line(city, tmp_path):
    folder = tmp_path / "daily"
    shutil.copytree(city, folder)
    # Boxes of 50 m centred in A0's west half on both days; shifts A (day) and B (night, pooled per date).
    pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-01", "2020-01-02"],
            "shift": ["A", "B", "A"],
            "x": [X0 + 25.0] * 3,
            "y": [Y0 + 25.0] * 3,
            "score": [0.4, 0.2, 0.9],
        }
    ).to_csv(folder / "boxes.csv", index=False)
    targets = {
        "kind": "daily",
        "file": "boxes.csv",
        "x": "x",
        "y": "y",
        "crs": "EPSG:32618",
        "box_m": 50,
        "shift": "shift",
        "score": "score",
        "score_kind": "probability",
        "label": "predicted boxes",
    }
    path = write_config(folder, "daily.yaml", targets=targets)
    result = invoke("audit", path, "--out", folder / "res")
    assert result.exit_code == 0, result.output
    res = read_audit(folder / "res")
    # Crimes at (10, 10) and (20, 30) lie in the box [0, 50]²; 2 of 5 captured; 2,500 of 80,000 m².
    assert res.value("crime_captured") == pytest.approx(2 / 5)
    assert res.value("area_targeted") == pytest.approx(2_500 / 80_000)
    assert "duplicate_targets" in set(res.notes["kind"])  # shifts A and B of Jan 1 pooled: one box
    assert not res.calibration.empty


def test_patrol_logs_through_the_command_line(city, tmp_path):
    folder = tmp_path / "effort"
    shutil.copytree(city, folder)
    pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-02", "2020-01-02"],
            "area_id": ["A0", "A0", "A1"],
            "minutes": [60, 30, 30],
        }
    ).to_csv(folder / "patrols.csv", index=False)
    path = write_config(
        folder, "effort.yaml", targets={"kind": "effort", "file": "patrols.csv", "effort": "minutes"}
    )
    result = invoke("audit", path, "--out", folder / "res", "-q")
    assert result.exit_code == 0, result.output
    res = read_audit(folder / "res")
    # G1 (A0) got 90 of 120 minutes; G1 had 3 of 5 crimes.
    assert res.value("targeting_share", grouping="area group", group="G1") == pytest.approx(90 / 120)
    assert res.value("ratio_to_crime", grouping="area group", group="G1") == pytest.approx(
        (90 / 120) / (3 / 5)
    )
    assert res.target_geometry is None
    assert invoke("report", folder / "res").exit_code == 0
