"""The command line end to end: outputs of `fairpatrol run`, and one clear line for each bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from tests.conftest import TINY_SCENARIO, run_cli

runner = CliRunner()


@pytest.fixture(scope="module")
def preset_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "baltimore"
    result = run_cli(
        "run", "--preset", "baltimore-agg", "--days", "5", "--runs", "3", "--seed", "7", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_preset_writes_tidy_results(preset_run):
    out, output = preset_run
    assert {p.name for p in out.iterdir()} == {
        ".fairpatrol.json",
        "areas.parquet",
        "allocations.parquet",
        "metrics.parquet",
        "groups.parquet",
        "summary.csv",
        "group_summary.csv",
        "horizon.parquet",
        "group_horizon.parquet",
        "area_horizon.parquet",
        "config.yaml",
    }
    alloc = pd.read_parquet(out / "allocations.parquet")
    counts = ["crimes", "officers", "detected", "reported", "prevention"]
    assert (alloc[counts] != 0).any(axis=1).all()  # only nonzero rows are stored
    assert 0 < len(alloc) < 12 * 3 * 5 * 256  # of cells × runs × days × areas
    assert yaml.safe_load((out / "config.yaml").read_text())["resolved"]["allocations"]["rows"] == len(alloc)
    assert not alloc.duplicated(["scenario", "algorithm", "run", "date", "area_id"]).any()
    assert {"crimes", "officers", "detected", "reported", "n_officers", "report_prob"} <= set(alloc.columns)
    sums = alloc.groupby(["scenario", "algorithm", "run", "date"], observed=True)[["officers", "n_officers"]]
    agg = sums.agg({"officers": "sum", "n_officers": "first"})
    assert (agg.officers == agg.n_officers).all()
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert len(metrics) == 12 * 3 * 5
    for col in ("accuracy", "share_gap", "pcr_gap", "gini_police", "gini_pcr", "theta", "group_1"):
        assert col in metrics.columns
    assert set(metrics.group_1.astype(str)) == {"Black"}
    assert metrics.loc[metrics.algorithm == "PredPol", "theta"].notna().all()
    assert metrics.loc[metrics.algorithm != "PredPol", "theta"].isna().all()
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.statistic) == {"level", "slope", "horizon"}
    row = summary[(summary.metric == "accuracy") & (summary.statistic == "level")].iloc[0]
    assert row.ci_low <= row["mean"] <= row.ci_high
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["seed"] == 7 and cfg["runs"] == 3 and cfg["days"] == 5
    assert cfg["data_report"]["duplicates_dropped"] == 1201
    assert "PredPol" in cfg["resolved"]["models"]
    assert "accuracy" in output and "results written to" in output


def test_results_match_a_rerun_from_the_written_config(preset_run, tmp_path):
    out, _ = preset_run
    result = run_cli("run", str(out / "config.yaml"), "--out", str(tmp_path / "again"), "-q")
    assert result.exit_code == 0
    assert "warning" not in result.output  # same package versions: nothing to warn about
    a = pd.read_parquet(out / "metrics.parquet")
    b = pd.read_parquet(tmp_path / "again" / "metrics.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_a_rerun_with_other_package_versions_names_them(preset_run, tmp_path):
    out, _ = preset_run
    doc = yaml.safe_load((out / "config.yaml").read_text())
    doc["versions"]["numpy"] = "1.0.0"
    doc["versions"]["pandas"] = "0.1"
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(doc))
    args = ["run", str(tmp_path / "old.yaml"), "--out", str(tmp_path / "again"), "-q", "--days", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    warning = [ln for ln in result.output.splitlines() if ln.startswith("warning:")]
    assert len(warning) == 1
    assert "numpy 1.0.0 → " in warning[0] and "pandas 0.1 → " in warning[0] and "lock" in warning[0]


def test_existing_output_is_not_overwritten(preset_run):
    out, _ = preset_run
    result = runner.invoke(
        app, ["run", "--preset", "baltimore-agg", "--days", "2", "--runs", "1", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "earlier fairpatrol run" in result.output and "--overwrite" in result.output


# -- bad input -------------------------------------------------------------------------------------------

BASE = TINY_SCENARIO


def write(tmp_path: Path, doc: dict, name: str = "scenario.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return p


def incidents_csv(tmp_path: Path, rows: list[tuple], name: str = "crimes.csv") -> Path:
    df = pd.DataFrame(rows, columns=["time", "lat", "lon", "crime_type"])
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def good_rows(n: int = 40, start: str = "2019-01-01", days: int = 120) -> list[tuple]:
    rng = np.random.default_rng(0)
    t0 = pd.Timestamp(start)
    return [
        (
            str(t0 + pd.Timedelta(days=float(d))),
            39.29 + 0.01 * rng.random(),
            -76.61 + 0.01 * rng.random(),
            "AGG. ASSAULT",
        )
        for d in np.sort(rng.uniform(0, days, n))
    ]


def expect_error(tmp_path: Path, scenario: Path, *needles: str) -> str:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    error_lines = [ln for ln in lines if ln.startswith("error:")]
    assert len(error_lines) == 1, result.output
    for needle in needles:
        assert needle in error_lines[0], error_lines[0]
    assert not out.exists()  # nothing half-written
    assert not list(tmp_path.glob(".out.*"))
    return error_lines[0]


def test_unknown_key(tmp_path):
    p = write(tmp_path, {**BASE, "oficers": [40]})
    expect_error(tmp_path, p, "scenario.yaml", "oficers", "unknown key")


def test_zero_officers(tmp_path):
    p = write(tmp_path, {**BASE, "officers": [40, 0]})
    expect_error(tmp_path, p, "scenario.yaml", "officers.1", "greater than or equal to 1")


def test_unknown_algorithm_and_model_parameter(tmp_path):
    expect_error(tmp_path, write(tmp_path, {**BASE, "algorithms": ["Oracle"]}), "algorithms", "Oracle")
    p = write(tmp_path, {**BASE, "models": {"ShortTermKDE": {"bandwith": 3}}}, "m.yaml")
    expect_error(tmp_path, p, "m.yaml", "bandwith")


def test_crime_file_missing_column(tmp_path):
    csv = tmp_path / "crimes.csv"
    pd.DataFrame({"time": ["2019-01-01"], "lat": [39.3], "crime_type": ["X"]}).to_csv(csv, index=False)
    p = write(tmp_path, {**BASE, "data": {"city": "baltimore", "incidents": "crimes.csv", "format": "table"}})
    expect_error(tmp_path, p, "crimes.csv", "lon")


def test_unparseable_date(tmp_path):
    rows = good_rows()
    rows[6] = ("not a date", *rows[6][1:])
    incidents_csv(tmp_path, rows)
    p = write(tmp_path, {**BASE, "data": {"city": "baltimore", "incidents": "crimes.csv", "format": "table"}})
    expect_error(tmp_path, p, "crimes.csv", "time", "row 7")


def test_nan_coordinates(tmp_path):
    rows = good_rows()
    rows[4] = (rows[4][0], float("nan"), rows[4][2], rows[4][3])
    incidents_csv(tmp_path, rows)
    p = write(tmp_path, {**BASE, "data": {"city": "baltimore", "incidents": "crimes.csv", "format": "table"}})
    expect_error(tmp_path, p, "crimes.csv", "row 5")


def test_empty_training_window(tmp_path):
    rows = good_rows(20, "2018-01-01", 20) + good_rows(20, "2019-06-01", 30)
    incidents_csv(tmp_path, rows)
    doc = {
        **BASE,
        "start": "2019-05-20",
        "data": {"city": "baltimore", "incidents": "crimes.csv", "format": "table"},
    }
    expect_error(tmp_path, write(tmp_path, doc), "empty training window", "start")


def test_horizon_past_the_data(tmp_path):
    expect_error(
        tmp_path, write(tmp_path, {**BASE, "start": "2023-02-20", "days": 30}), "days", "after the last"
    )


def test_invalid_yaml_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nofficers: [40\nruns: 2\n")
    expect_error(tmp_path, p, "bad.yaml", "line 3")


def test_console_script_runs(tmp_path):
    exe = Path(sys.executable).parent / "fairpatrol"
    res = subprocess.run(
        [str(exe), "run", "--preset", "nope", "--out", str(tmp_path / "o")], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error:") and "unknown preset" in res.stderr


def test_workers_write_the_same_files_byte_for_byte(preset_run, tmp_path):
    """The preset run above used the default workers (side by side on Linux); one process gives the same
    bytes in every results table."""
    first, _ = preset_run
    again = tmp_path / "one-process"
    args = ["run", "--preset", "baltimore-agg", "--days", "5", "--runs", "3", "--seed", "7"]
    result = run_cli(*args, "--workers", "1", "--out", str(again), "-q")
    assert result.exit_code == 0, result.output
    tables = sorted(p.name for p in first.iterdir() if p.suffix in (".parquet", ".csv"))
    assert "allocations.parquet" in tables and "metrics.parquet" in tables
    for name in tables:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    bad = runner.invoke(app, [*args, "--workers", "0", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--workers" in bad.output and not (tmp_path / "x").exists()
