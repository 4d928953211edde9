"""Bad inputs of a user's own data, through the command line: one line naming the file and field (and row
where known), exit code 2, and no results directory left behind.

Each case starts from a valid city (:mod:`fairpatrol.data.example`) and breaks one thing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.data.example import write_example_city

runner = CliRunner()

DATA = {
    "city": "Testville",
    "areas": {"file": "wards.geojson", "id": "ward_id", "name": "ward_name"},
    "groups": {"rule": "column", "column": "majority"},
    "incidents": {
        "file": "incidents.csv",
        "columns": {
            "id": "Case No",
            "date": "Report Date",
            "time": "Time",
            "crime_type": "Offense",
            "lat": "Latitude",
            "lon": "Longitude",
        },
    },
}
SCENARIO = {
    "name": "bad",
    "data": DATA,
    "start": "2023-01-01",
    "days": 5,
    "runs": 1,
    "algorithms": ["ShortTermKDE"],
    "officers": [5],
    "report_probs": [0.0],
}


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("valid")
    write_example_city(folder, seed=3, start="2022-01-01", days=380, per_day=6.0)
    wards = gpd.read_file(folder / "wards.geojson")
    wards["majority"] = ["A", "B", "C", "A"] * 4  # three groups from a label column
    wards.to_file(folder / "wards.geojson", driver="GeoJSON")
    return folder


def _csv(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "incidents.csv", dtype=str, keep_default_na=False)


def _wards(folder: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(folder / "wards.geojson")


def no_id_column(f: Path, s: dict) -> None:
    _wards(f).drop(columns="ward_id").to_file(f / "wards.geojson", driver="GeoJSON")


def no_crs_not_degrees(f: Path, s: dict) -> None:
    import warnings

    w = _wards(f).set_crs(None, allow_override=True)
    with warnings.catch_warnings():  # shortened column names, no CRS: what this case is about
        warnings.simplefilter("ignore")
        w.to_file(f / "wards.shp")  # a Shapefile without .prj: no CRS, coordinates in metres
    s["data"]["areas"]["file"] = "wards.shp"


def group_column_nan(f: Path, s: dict) -> None:
    w = _wards(f)
    w.loc[6, "majority"] = None
    w.to_file(f / "wards.geojson", driver="GeoJSON")


def unknown_group_in_pair(f: Path, s: dict) -> None:
    s["data"]["group_pair"] = ["A", "Z"]


def no_time_column(f: Path, s: dict) -> None:
    _csv(f).drop(columns=["Report Date"]).to_csv(f / "incidents.csv", index=False)


def history_shorter_than_window(f: Path, s: dict) -> None:
    s["algorithms"] = ["LongTermKDE"]
    s["start"] = "2022-06-01"


def not_utf8(f: Path, s: dict) -> None:
    df = _csv(f)
    df.loc[3, "Offense"] = "ROBO CON VIOLENCIA – ÑANDÚ"
    df.to_csv(f / "incidents.csv", index=False, encoding="latin-1", errors="replace")
    (f / "incidents.csv").write_bytes((f / "incidents.csv").read_bytes().replace(b"?", b"\xd1"))


def directory_for_file(f: Path, s: dict) -> None:
    (f / "folder.csv").mkdir()
    s["data"]["incidents"]["file"] = "folder.csv"


def no_read_permission(f: Path, s: dict) -> None:
    os.chmod(f / "incidents.csv", 0)


def crime_type_matching_nothing(f: Path, s: dict) -> None:
    s["data"]["crime_types"] = ["ARSON"]


def non_numeric_area_code(f: Path, s: dict) -> None:
    df = _csv(f).rename(
        columns={"Case No": "ID", "Offense": "Primary Type", "Latitude": "Latitude", "Longitude": "Longitude"}
    )
    df["Date"] = df["Report Date"] + " " + df["Time"] + ":00"
    df["Community Area"] = "12"
    df.loc[9, "Community Area"] = "North side"
    df.drop(columns=["Report Date", "Time"]).to_csv(f / "portal.csv", index=False)
    s["data"]["incidents"] = "portal.csv"  # the Chicago Data Portal layout, sniffed from the header


def date_in_the_future(f: Path, s: dict) -> None:
    df = _csv(f)
    df.loc[20, "Report Date"] = "03/15/2091"
    df.to_csv(f / "incidents.csv", index=False)


def mixed_date_formats(f: Path, s: dict) -> None:
    df = _csv(f)
    df.loc[1811, "Report Date"] = "2022-05-04"  # 1-based data row 1812, ISO among m/d/Y dates
    df.to_csv(f / "incidents.csv", index=False)


def most_rows_outside(f: Path, s: dict) -> None:
    df = _csv(f)
    half = df.index[: int(len(df) * 0.7)]
    df.loc[half, "Latitude"] = (df.loc[half, "Latitude"].astype(float) + 1.0).map(str)
    df.to_csv(f / "incidents.csv", index=False)


CASES: list[tuple[str, Callable[[Path, dict], None], tuple[str, ...]]] = [
    (
        "areas file missing the id column",
        no_id_column,
        ("wards.geojson", "'ward_id'", "missing the id column"),
    ),
    ("no CRS, not degrees", no_crs_not_degrees, ("wards.shp", "'crs'", "declares no CRS", "file_crs")),
    ("group column with NaN", group_column_nan, ("wards.geojson", "'majority'", "row 7", "W07")),
    ("group pair naming an unknown group", unknown_group_in_pair, ("wards.geojson", "'group_pair'", "'Z'")),
    ("incidents with no time column", no_time_column, ("incidents.csv", "'Report Date'", "missing the date")),
    ("history shorter than a window", history_shorter_than_window, ("'start'", "LongTermKDE", "365", "151")),
    ("bytes that are not UTF-8", not_utf8, ("incidents.csv", "not UTF-8")),
    ("a directory where a file is expected", directory_for_file, ("folder.csv", "is a directory")),
    ("a file without read permission", no_read_permission, ("incidents.csv", "permission")),
    (
        "a crime-type filter matching nothing",
        crime_type_matching_nothing,
        ("'crime_types'", "ARSON", "THEFT"),
    ),
    ("a non-numeric area code", non_numeric_area_code, ("portal.csv", "'Community Area'", "row 10")),
    ("a date far in the future", date_in_the_future, ("incidents.csv", "row 21", "future", "2091")),
    (
        "mixed date formats",
        mixed_date_formats,
        ("incidents.csv", "row 1812", "2022-05-04", "format of row 1"),
    ),
    ("most rows outside the city", most_rows_outside, ("incidents.csv", "max_outside_share", "outside")),
]


def _prepare(valid: Path, tmp_path: Path, breaker: Callable[[Path, dict], None]) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(valid, folder)
    scenario = yaml.safe_load(yaml.safe_dump(SCENARIO))
    breaker(folder, scenario)
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    return folder


@pytest.mark.parametrize(("case", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_input_is_one_line_exit_2_no_output(
    valid, tmp_path, monkeypatch, case, breaker, expected, command
):
    folder = _prepare(valid, tmp_path, breaker)
    if breaker is no_read_permission and os.geteuid() == 0:  # root reads anything: deny as for a user
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, m: False if str(p).endswith("incidents.csv") else real(p, m)
        )
    monkeypatch.chdir(folder)
    args = ["run", "scenario.yaml", "--out", "out", "-q"] if command == "run" else ["check", "scenario.yaml"]
    result = runner.invoke(app, args, catch_exceptions=False)
    lines = [line for line in result.output.splitlines() if line.strip()]
    error = [line for line in lines if line.startswith("error:")]
    assert result.exit_code == 2, result.output
    assert len(error) == 1, result.output
    for text in expected:
        assert text in error[0], error[0]
    assert not (folder / "out").exists()
    if command == "run":
        assert lines == error, result.output  # nothing else printed


def test_a_raised_threshold_accepts_dropped_rows_with_a_warning(valid, tmp_path, monkeypatch):
    folder = _prepare(valid, tmp_path, most_rows_outside)
    scenario = yaml.safe_load((folder / "scenario.yaml").read_text())
    scenario["data"]["max_outside_share"] = 0.9
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    monkeypatch.chdir(folder)
    result = runner.invoke(app, ["run", "scenario.yaml", "--out", "out", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "warning: incidents.csv:" in result.output and "fall outside every area" in result.output
    assert runner.invoke(app, ["report", "out"]).exit_code == 0
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    assert "Caveats about the data" in html and "fall outside every area" in html


def test_x_y_without_their_crs_is_a_config_error(valid, tmp_path, monkeypatch):
    def xy(f: Path, s: dict) -> None:
        s["data"]["incidents"]["columns"].update(
            {"x": "Longitude", "y": "Latitude", "lat": None, "lon": None}
        )

    folder = _prepare(valid, tmp_path, xy)
    monkeypatch.chdir(folder)
    result = runner.invoke(app, ["run", "scenario.yaml", "--out", "out"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "scenario.yaml: field 'data.incidents'" in result.output and "incidents.crs" in result.output
