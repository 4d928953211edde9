"""`fairpatrol evaluate`: both presets write their outputs on a short period; bad input is one clear line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.grid import metrics as gm
from fairpatrol.grid.config import grid_preset_names, load_grid_preset, parse_evaluate

runner = CliRunner()
OUTPUTS = {
    ".fairpatrol.json",
    "metrics.parquet",
    "summary.csv",
    "predictions.parquet",
    "diagnostics.parquet",
    "areas.parquet",
    "evaluate.yaml",
    "coverage_curves.png",
    "emd.png",
    "map.png",
}
N_METRIC_BLOCKS = 9  # per-coverage metric blocks of one model (PF ×4, precision ×3, hit rate, PAI)


def run_cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module", params=["chicago-grid", "bogota-grid"])
def preset_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / request.param
    result = run_cli("evaluate", "--preset", request.param, "--days", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    return request.param, out, result.output


def test_presets_exist():
    assert grid_preset_names() == ["bogota-grid", "chicago-grid"]
    assert load_grid_preset("chicago-grid").days == 365


def test_preset_writes_every_output(preset_run):
    name, out, output = preset_run
    assert {p.name for p in out.iterdir()} == OUTPUTS
    for png in ("coverage_curves.png", "emd.png", "map.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "results written to" in output and "hit rate" in output
    cfg = yaml.safe_load((out / "evaluate.yaml").read_text())
    assert cfg["name"] == name and cfg["days"] == 3
    assert cfg["resolved"]["models"]["SEPP"]["warm_start"] is True
    assert cfg["grid"]["cells"] == {"chicago-grid": 710, "bogota-grid": 409}[name]
    assert cfg["reference_grid"]["only_reference"] == 0
    assert cfg["counts"]["days_without_crime"] == 0


def test_metrics_are_tidy_and_complete(preset_run):
    _, out, _ = preset_run
    m = pd.read_parquet(out / "metrics.parquet")
    assert list(m.columns) == ["model", "date", "coverage", "group", "metric", "value"]
    k = 59  # coverage 1 %, 1.5 %, …, 30 %
    assert sorted(m.coverage.dropna().unique())[:3] == [0.01, 0.015, 0.02]
    assert m.coverage.nunique() == k
    assert len(m) == 3 * 3 * (N_METRIC_BLOCKS * k + 3)  # models × days × (blocks × K + 3 EMDs)
    assert not m.duplicated(["model", "date", "coverage", "group", "metric"]).any()
    assert m.value.notna().all()
    assert set(m.group.astype(str)) == {"Protected", "Unprotected", "overall", "between"}
    emd = m[m.metric == "emd"]
    assert emd.coverage.isna().all() and (emd.value > 0).all()
    s = pd.read_csv(out / "summary.csv")
    assert {"mean", "ci_low", "ci_high", "q_low", "q_high", "days", "days_undefined"} <= set(s.columns)
    ok = s.dropna(subset=["ci_low"])
    assert ((ok.ci_low <= ok["mean"] + 1e-12) & (ok["mean"] <= ok.ci_high + 1e-12)).all()


def test_metrics_recompute_from_the_written_predictions(preset_run):
    _, out, _ = preset_run
    pred = pd.read_parquet(out / "predictions.parquet")
    cells = pd.read_parquet(out / "areas.parquet")
    m = pd.read_parquet(out / "metrics.parquet")
    one = pred[(pred.model == "SEPP") & (pred.date == pred.date.max())]
    one = one.set_index("cell_id").loc[cells.area_id]
    p, o = one.predicted.to_numpy()[None, :], one.observed.to_numpy(float)[None, :]
    sel = (m.model == "SEPP") & (m.date == pred.date.max())
    cov = np.array([0.1])

    def value(metric, group, coverage=0.1):
        row = m[sel & (m.metric == metric) & (m.group == group)]
        row = row[row.coverage.isna()] if coverage is None else row[np.isclose(row.coverage, coverage)]
        return float(row.value.iloc[0])

    g1 = (cells.group == "Protected").to_numpy()
    assert value("hit_rate", "overall") == pytest.approx(gm.hit_rate(p, o, cov)[0, 0])
    assert value("precision", "Protected") == pytest.approx(gm.precision(p, o, g1, cov)[0, 0])
    f1 = gm.prediction_benefit(p, o, g1, cov)
    f2 = gm.prediction_benefit(p, o, ~g1, cov)
    assert value("pf_gini", "between") == pytest.approx(gm.gini_two(f1, f2)[0, 0])
    # EMD ground distance between the cell centres in metres
    xy = cells[["x", "y"]].to_numpy()
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert value("emd", "overall", None) == pytest.approx(gm.emd_spatial(p[0], o[0], dist), rel=1e-9)
    diag = pd.read_parquet(out / "diagnostics.parquet")
    sepp = diag[diag.model == "SEPP"]
    assert sepp.converged.all() and (sepp.theta > 0).all() and (sepp.omega > 0).all()


def test_models_option_and_config_file(tmp_path):
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        "name: mini\n"
        "data: {city: chicago, incidents: chicago-theft, group_rule: median}\n"
        "start: 2023-03-01\ndays: 2\n"
        "models: {NaiveKDE: {bandwidth: 800}}\n"
        "coverage: {start: 0.05, stop: 0.1, step: 0.05}\n"
        "map_day: 2023-03-02\n"
    )
    out = tmp_path / "out"
    result = run_cli("evaluate", str(cfg), "--models", "NaiveKDE", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    m = pd.read_parquet(out / "metrics.parquet")
    assert set(m.model.astype(str)) == {"NaiveKDE"}
    assert sorted(m.coverage.dropna().unique()) == [0.05, 0.1]
    doc = yaml.safe_load((out / "evaluate.yaml").read_text())
    assert doc["resolved"]["models"]["NaiveKDE"]["bandwidth"] == 800
    assert doc["resolved"]["groups"]["rule"] == "median"
    # an existing non-empty directory needs --overwrite
    again = run_cli("evaluate", str(cfg), "--models", "NaiveKDE", "--out", str(out), "--quiet")
    assert again.exit_code == 2 and "--overwrite" in again.output


@pytest.fixture()
def gap_file(tmp_path):
    """A table export with incidents in January and March 2022 only (nothing in February)."""
    days = list(pd.date_range("2022-01-01", "2022-01-20")) + list(pd.date_range("2022-03-01", "2022-03-10"))
    rows = [
        {"time": d + pd.Timedelta(hours=12), "lat": 41.88, "lon": -87.63, "crime_type": "THEFT"} for d in days
    ]
    path = tmp_path / "gap.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    cfg = tmp_path / "gap.yaml"
    cfg.write_text(f"data: {{city: chicago, incidents: {path}}}\nstart: 2022-02-25\ndays: 3\n")
    return cfg


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "nowhere"], "unknown preset 'nowhere'"),
        (["--preset", "chicago-grid", "--days", "800"], "the data end on 2023-10-11"),
        (["--preset", "chicago-grid", "--start", "2022-01-15", "--days", "2"], "begins before the data"),
        (
            ["--preset", "chicago-grid", "--models", "NaiveKDE,Oracle", "--days", "2"],
            "unknown grid model 'Oracle'",
        ),
        (["--preset", "bogota-grid", "--start", "2019-02-30"], "field 'start'"),
        (["--preset", "bogota-grid", "--days", "0"], "field 'days'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    result = run_cli("evaluate", *args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "o").exists()


def test_empty_training_window_is_one_line(tmp_path, gap_file):
    result = run_cli("evaluate", str(gap_file), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "empty training window" in result.output
    assert "2022-02-25" in result.output


def test_missing_out_or_both_sources(tmp_path, gap_file):
    assert "--out DIR" in run_cli("evaluate", "--preset", "chicago-grid").output
    both = run_cli("evaluate", str(gap_file), "--preset", "chicago-grid", "--out", str(tmp_path / "o"))
    assert both.exit_code == 2 and "either" in both.output


def test_config_validation_names_the_field():
    from fairpatrol.errors import ConfigError

    base = {"data": {"city": "chicago", "incidents": "chicago-theft"}, "start": "2023-01-01", "days": 2}
    with pytest.raises(ConfigError, match=r"field 'models\.SEPP\.omega': unknown setting"):
        parse_evaluate({**base, "models": {"SEPP": {"omega": 2}}})
    with pytest.raises(ConfigError, match=r"field 'models\.SEPP\.trigger': must be 'cell' or 'gaussian'"):
        parse_evaluate({**base, "models": {"SEPP": {"trigger": "exp"}}})
    with pytest.raises(ConfigError, match=r"coverage\.stop must be"):
        parse_evaluate({**base, "coverage": {"start": 0.3, "stop": 0.1}})
    with pytest.raises(ConfigError, match="map_day"):
        parse_evaluate({**base, "map_day": "2024-01-01"})
    with pytest.raises(ConfigError, match=r"field 'grid\.cellsize': unknown key"):
        parse_evaluate({**base, "grid": {"cellsize": 500}})
    levels = parse_evaluate(base).coverage.levels()
    assert len(levels) == 59 and levels[0] == 0.01 and levels[-1] == 0.3
