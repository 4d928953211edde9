"""A city of our own through every command: check, run, sweep, analyze, evaluate on a generated grid, report.

The city (:mod:`fairpatrol.data.example`) has 16 wards in UTM zone 16N, one with a hole and one a
MultiPolygon, three income groups, and incidents given as x/y in Web Mercator — another CRS than the
wards — with the date and the time of day in two columns.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.data.example import AREAS_CRS, write_example_city

runner = CliRunner()

DATA = {
    "city": "Testville",
    "areas": {"file": "wards.geojson", "id": "ward_id", "name": "ward_name"},
    "groups": {
        "rule": "quantile",
        "column": "median_income",
        "k": 3,
        "labels": ["lower income", "middle income", "higher income"],
    },
    "incidents": {
        "file": "incidents.csv",
        "columns": {
            "id": "Case No",
            "date": "Report Date",
            "time": "Time",
            "crime_type": "Offense",
            "x": "X",
            "y": "Y",
        },
        "crs": "EPSG:3857",
    },
}
SCENARIO = {
    "name": "testville",
    "data": DATA,
    "start": "2023-01-01",
    "days": 12,
    "runs": 2,
    "algorithms": ["PredPol", "ShortTermKDE", "LongTermKDE"],
    "officers": [8],
    "report_probs": [0.4],
}


def cli(*args: str, cwd: Path | None = None):
    import os

    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("testville")
    write_example_city(folder, coords="xy", seed=7, start="2022-01-01", days=400, per_day=9.0)
    (folder / "city.yaml").write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def run_dir(city: Path) -> Path:
    out = city / "results" / "run"
    result = cli("run", "city.yaml", "--out", str(out.relative_to(city)), "-q", cwd=city)
    assert result.exit_code == 0, result.output
    return out


def test_check_shows_areas_groups_crs_incidents_and_history(city: Path) -> None:
    result = cli("check", "city.yaml", "--map", "groups.png", cwd=city)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "16 areas of Testville" in out and f"{AREAS_CRS} — the file's projected CRS" in out
    for group in ("lower income", "middle income", "higher income"):
        assert group in out
    assert "x/y in EPSG:3857" in out and "snapped to the nearest area" in out
    assert re.search(r"PredPol\W+365 days\W+365 days\W+ok", out) and "ready" in out
    assert (city / "groups.png").read_bytes()[:4] == b"\x89PNG"


def test_incidents_in_another_crs_land_in_the_same_wards(city: Path) -> None:
    from fairpatrol.config import parse_scenario
    from fairpatrol.data import load_data
    from fairpatrol.data.example import example_city

    cfg = parse_scenario(SCENARIO, base_dir=city)
    inputs = load_data(cfg.data, cfg.base_dir)
    frame = inputs.incidents.frame
    _, wards, truth = example_city(seed=7, start="2022-01-01", days=400, per_day=9.0)
    truth = truth.drop_duplicates("Case No").set_index("Case No")
    inside = frame[frame["assign"] == "within"]
    x, y = truth.loc[inside["incident_id"], "x"].to_numpy(), truth.loc[inside["incident_id"], "y"].to_numpy()
    assert np.allclose(inside["x"], x, atol=0.02) and np.allclose(inside["y"], y, atol=0.02)
    ward = np.array([str(w) for w in inside["area_id"]])
    geoms = wards[[int(w[1:]) - 1 for w in ward]]
    assert shapely.covers(geoms, shapely.points(x, y)).all()
    assert inputs.incidents.cleaning.duplicates_dropped > 0 and inputs.incidents.cleaning.nearest_assigned > 0
    assert "EPSG:3857" in inputs.incidents.cleaning.coordinates


def test_run_writes_its_areas_and_every_group(city: Path, run_dir: Path) -> None:
    areas = gpd.read_parquet(run_dir / "areas.parquet")
    assert len(areas) == 16 and areas.crs.to_epsg() == 32616
    assert set(areas.geom_type) == {"Polygon", "MultiPolygon"}
    holed = areas.loc[areas["area_id"] == "W06", "geometry"].iloc[0]
    assert len(holed.interiors) == 1
    assert {"area_id", "name", "group", "median_income"} <= set(areas.columns)
    assert sorted(areas["group"].unique()) == ["higher income", "lower income", "middle income"]

    alloc = pd.read_parquet(run_dir / "allocations.parquet")
    want = dict(zip(areas["area_id"], areas["group"], strict=True))
    assert (alloc["group"].astype(str) == alloc["area_id"].astype(str).map(want)).all()

    groups = pd.read_parquet(run_dir / "groups.parquet")
    keys = ["scenario", "algorithm", "run", "date"]
    assert (groups.groupby(keys, observed=True)["group"].nunique() == 3).all()
    assert np.allclose(groups.groupby(keys, observed=True)["police_share"].sum(), 1.0)
    # a group's share of officers is the sum over its areas, from the allocations
    one = alloc[(alloc["algorithm"] == "PredPol") & (alloc["run"] == 1)]
    day = one["date"].max()
    by_group = one[one["date"] == day].groupby("group", observed=True)["officers"].sum()
    got = groups[(groups["algorithm"] == "PredPol") & (groups["run"] == 1) & (groups["date"] == day)]
    got = got.set_index(got["group"].astype(str))["police_share"]
    assert np.allclose(got[by_group.index.astype(str)], by_group.to_numpy() / by_group.sum())

    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    assert set(metrics["group_1"].astype(str)) == {"lower income"}
    assert set(metrics["group_2"].astype(str)) == {"higher income"}


def test_config_names_inputs_relative_with_their_hash(city: Path, run_dir: Path) -> None:
    text = (run_dir / "config.yaml").read_text()
    assert str(city) not in text and "/tmp" not in text
    doc = yaml.safe_load(text)
    files = {f["role"]: f for f in doc["inputs"]["files"]}
    assert files["areas"]["path"] == "wards.geojson" and files["incidents"]["path"] == "incidents.csv"
    for f in files.values():
        assert f["sha256"] == hashlib.sha256((city / f["path"]).read_bytes()).hexdigest()
    assert doc["inputs"]["scenario_dir"] == "../.."
    groups = doc["resolved"]["groups"]
    assert groups["crs"] == AREAS_CRS and "projected CRS" in groups["crs_reason"]
    assert "3 classes" in groups["description"] and groups["areas_per_group"]["lower income"] > 0


def test_report_of_own_city_shows_every_group_and_no_path(city: Path, run_dir: Path) -> None:
    for extra in ([], ["--dp-epsilon", "1"]):
        out = run_dir / f"report{len(extra)}.html"
        result = cli("report", str(run_dir), "-o", str(out), *extra)
        assert result.exit_code == 0, result.output
        html = out.read_text(encoding="utf-8")
        assert str(city) not in html and "/tmp/" not in html
        for group in ("lower income", "middle income", "higher income"):
            assert group in html
        assert "3 classes of about equal size by median_income" in html
        assert "could not be read again" not in html  # the replay found the inputs by relative path


def test_moved_results_still_report(city: Path, run_dir: Path, tmp_path: Path) -> None:
    import shutil

    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(run_dir, moved)
    result = cli("report", str(moved), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "lower income" in html and "could not be read again" in html  # areas from the results


def test_sweep_analyze_and_report(city: Path) -> None:
    sweep = {"name": "tv-sweep", "base": "city.yaml", "grid": {"report_probs": [0.0, 0.4]}}
    (city / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    result = cli("sweep", "sweep.yaml", "--out", "results/sweep", "--workers", "0", "-q", cwd=city)
    assert result.exit_code == 0, result.output
    root = city / "results" / "sweep"
    assert len(gpd.read_parquet(root / "areas.parquet")) == 16
    manifest = (root / "sweep.yaml").read_text()
    assert str(city) not in manifest
    assert cli("analyze", str(root)).exit_code == 0
    result = cli("report", str(root), "-o", str(root / "sweep.html"))
    assert result.exit_code == 0, result.output
    cell = sorted(p.stem for p in (root / "configs").glob("*.yaml"))[0]
    result = cli("report", str(root), "--cell", cell, "-o", str(root / "cell.html"))
    assert result.exit_code == 0, result.output
    html = (root / "cell.html").read_text(encoding="utf-8")
    assert "middle income" in html and str(city) not in html
    assert "could not be read again" not in html


@pytest.mark.slow
def test_evaluate_on_a_generated_grid(city: Path) -> None:
    config = {
        "name": "tv-grid",
        "data": {**DATA, "areas": {"grid": {"size_m": 500, "over": DATA["areas"]}}},
        "start": "2023-01-01",
        "days": 4,
        "algorithms": ["NaiveKDE", "SEPP"],
    }
    (city / "grid.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert cli("check", "grid.yaml", cwd=city).exit_code == 0
    result = cli("evaluate", "grid.yaml", "--out", "results/grid", "-q", cwd=city)
    assert result.exit_code == 0, result.output
    out = city / "results" / "grid"
    cells = gpd.read_parquet(out / "areas.parquet")
    assert (cells.geom_type == "Polygon").all() and np.allclose(cells.area, 500.0**2)
    assert set(cells["parent_id"]) <= {f"W{k:02d}" for k in range(1, 17)}
    assert {"lower income", "higher income"} <= set(cells["group"])
    pred = pd.read_parquet(out / "predictions.parquet")
    assert set(pred["cell_id"].astype(str)) == set(cells["area_id"])
    result = cli("report", str(out), "-o", str(out / "report.html"))
    assert result.exit_code == 0, result.output
    assert str(city) not in (out / "report.html").read_text(encoding="utf-8")


def test_the_same_grid_is_the_areas_of_a_run(city: Path) -> None:
    scenario = {
        **SCENARIO,
        "days": 5,
        "data": {**DATA, "areas": {"grid": {"size_m": 500, "over": DATA["areas"]}}},
    }
    (city / "grid-run.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    result = cli("run", "grid-run.yaml", "--out", "results/grid-run", "-q", cwd=city)
    assert result.exit_code == 0, result.output
    from fairpatrol.data import read_areas_parquet
    from fairpatrol.grid import Grid

    grid = read_areas_parquet(city / "results" / "grid-run" / "areas.parquet")
    assert isinstance(grid, Grid) and grid.cell_size == 500.0 and grid.n > 16
    from fairpatrol.allocations import expand_allocations

    alloc = pd.read_parquet(city / "results" / "grid-run" / "allocations.parquet")
    assert set(alloc["area_id"].astype(str)) <= set(grid.ids)  # cells with a nonzero count
    dense = expand_allocations(city / "results" / "grid-run", run=0)
    assert dense.groupby(["scenario", "algorithm", "date"], observed=True).size().eq(grid.n).all()
    assert dense["officers"].sum() == alloc.loc[alloc["run"] == 0, "officers"].sum()


def test_own_city_report_renders_in_chromium(city: Path, run_dir: Path, browser, tmp_path: Path) -> None:
    from fairpatrol.report import write_report
    from tests.conftest import FIGURE_STATE, open_report

    path = write_report(run_dir, tmp_path / "report.html").path
    page, problems, dialogs = open_report(browser, path)
    figures = page.evaluate(FIGURE_STATE)
    assert len(figures) >= 10
    for fig in figures:
        assert fig["svg"] and fig["height"] > 150 and fig["marks"] > 0, fig
    legend = page.evaluate("() => document.querySelector('#map-context-figure .legend').textContent")
    for group in ("lower income", "middle income", "higher income"):
        assert group in legend  # the group map colours every group
    assert "Every group" in page.inner_text("body")
    assert not problems and not dialogs, problems
    page.close()


def test_results_without_their_areas_are_refused_in_one_line(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / "areas.parquet").unlink()  # as written before results carried their areas
    result = cli("report", str(old), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "no areas.parquet" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "r.html").exists()


def test_a_sweep_can_cross_grid_sizes(city: Path) -> None:
    from fairpatrol.sweep.spec import parse_sweep

    scenario = {**SCENARIO, "data": {**DATA, "areas": {"grid": {"size_m": 500, "over": DATA["areas"]}}}}
    plan = parse_sweep(
        {"name": "sizes", "scenario": scenario, "grid": {"data.areas.grid.size_m": [250, 1000]}},
        base_dir=city,
    )
    assert [c.config.data.areas.grid.size_m for c in plan.cells] == [250.0, 1000.0]
    assert not plan.shared_areas and plan.cells[0].config.base_dir == city


def test_a_rates_csv_is_relative_to_the_scenario_and_listed_with_its_hash(city: Path, tmp_path: Path) -> None:
    """A reporting-rate CSV named in ``report_probs`` is found next to the scenario (as the data files),
    whatever folder the command runs in, and the results list it among the inputs with its SHA-256."""
    rates = "crime_type,rate\n" + "".join(f"{t},0.5\n" for t in ("THEFT", "BURGLARY", "ROBBERY", "ASSAULT"))
    (city / "rates.csv").write_text(rates)
    (city / "rated.yaml").write_text(yaml.safe_dump({**SCENARIO, "report_probs": ["rates.csv"]}))
    out = tmp_path / "out"
    result = cli("run", str(city / "rated.yaml"), "--days", "3", "--out", str(out), "-q", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load((out / "config.yaml").read_text())
    files = {f["role"]: f for f in doc["inputs"]["files"]}
    assert files["report_probs"] == {
        "role": "report_probs",
        "path": "rates.csv",
        "sha256": hashlib.sha256(rates.encode()).hexdigest(),
    }
    (tmp_path / "rates.csv").write_text("type,p\nX,0.5\n")  # a wrong table in the working folder: not read
    again = cli("check", str(city / "rated.yaml"), cwd=tmp_path)
    assert again.exit_code == 0, again.output
