"""`fairpatrol evaluate`: both presets write their outputs on a short period; bad input is one clear line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.grid import metrics as gm
from fairpatrol.grid.config import evaluate_preset_names, load_evaluate_preset, parse_evaluate
from tests.conftest import run_cli

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


@pytest.fixture(scope="module", params=["chicago-grid", "bogota-grid"])
def preset_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / request.param
    result = run_cli("evaluate", "--preset", request.param, "--days", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    return request.param, out, result.output


def test_presets_exist():
    assert evaluate_preset_names() == [
        "bogota-grid",
        "bogota-grid-paper",
        "chicago-grid",
        "chicago-grid-150m",
        "chicago-grid-paper",
    ]
    assert load_evaluate_preset("chicago-grid").days == 365


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


# -- paper settings, excluded days and low-count days -----------------------------------------------------
def test_metric_and_day_options_are_validated():
    from fairpatrol.errors import ConfigError

    base = {"data": {"city": "bogota", "incidents": "bogota-theft"}, "start": "2019-01-01", "days": 10}
    cfg = parse_evaluate(base)
    assert (cfg.metrics.gini, cfg.metrics.pf_ranking, cfg.metrics.selection) == (
        "printed",
        "forecast",
        "ceil",
    )
    assert not cfg.metrics.precision_cap and cfg.metrics.emd == "spatial"
    assert cfg.grid.groups == "areas" and cfg.low_count_days.action == "exclude"
    for bad, field in [
        ({"metrics": {"gini": "halved"}}, r"metrics\.gini"),
        ({"metrics": {"pf_ranking": "truth"}}, r"metrics\.pf_ranking"),
        ({"metrics": {"selection": "round"}}, r"metrics\.selection"),
        ({"metrics": {"emd": "flat"}}, r"metrics\.emd"),
        ({"grid": {"groups": "paper"}}, r"grid\.groups"),
        ({"low_count_days": {"action": "drop"}}, r"low_count_days\.action"),
        ({"low_count_days": {"ratio": 2}}, r"low_count_days\.ratio"),
        ({"exclude_days": [["2019-01-05", "2019-01-02"]]}, "ends before it begins"),
        ({"exclude_days": [["2019-01-01", "2019-01-10"]]}, "no day of the period"),
        ({"exclude_days": ["2019-01-03"], "map_day": "2019-01-03"}, "map_day"),
    ]:
        with pytest.raises(ConfigError, match=field):
            parse_evaluate({**base, **bad})
    cfg = parse_evaluate({**base, "exclude_days": ["2019-01-02", ["2019-01-05", "2019-01-07"]]})
    assert [d.day for d in cfg.evaluated_days()] == [1, 3, 4, 8, 9, 10]


def _daily_times(counts, start="2021-01-01"):
    days = pd.date_range(start, periods=len(counts), freq="D")
    return pd.Series(np.repeat(days, counts) + pd.Timedelta(hours=12))


def test_low_count_days_flag_gaps_but_not_holidays_or_sparse_days():
    from fairpatrol.grid.config import LowCountDays
    from fairpatrol.grid.evaluate import low_count_days

    rule = LowCountDays()
    counts = np.full(60, 200)
    counts[20] = 8  # a gap in the records: flagged (8 < 0.1 × 200, Poisson tail ~1e-80)
    counts[40] = 90  # a holiday at 45 % of the usual count: not flagged
    t = _daily_times(counts)
    low = low_count_days(t, t.min().normalize(), t.max().normalize(), rule)
    assert list(low["date"]) == [pd.Timestamp("2021-01-21")]
    assert int(low["count"].iloc[0]) == 8 and low["expected"].iloc[0] == 200
    # a partial last day is flagged from its neighbours on one side
    counts = np.full(40, 150)
    counts[-1] = 5
    t = _daily_times(counts)
    assert list(low_count_days(t, t.min(), t.max().normalize(), rule)["date"]) == [pd.Timestamp("2021-02-09")]
    # sparse data (2 a day): an empty day is common, not a gap
    sparse = np.tile([2, 3, 0, 1, 2, 4, 2], 10)
    t = _daily_times(sparse)
    assert low_count_days(t, t.min(), t.max().normalize(), rule).empty


def _synthetic_incidents(hole_day=None):
    from fairpatrol.data.incidents import CleaningLog, Incidents
    from fairpatrol.grid.synthetic import simulate_grid_sepp, square_areas

    ev = simulate_grid_sepp(40.0, 0.2, 0.5, 80, trigger="cell", seed=5)
    if hole_day is not None:
        day = ev["time"].dt.floor("D") == pd.Timestamp("2020-01-01") + pd.Timedelta(days=hole_day)
        ev = ev[~day | (np.arange(len(ev)) % 20 == 0)]  # keep one record in twenty of that day
    areas = square_areas(20_000.0)
    frame = ev[["time", "x", "y"]].reset_index(drop=True)
    frame["area_id"] = np.where(frame["x"] < 10_000, "W", "E")
    return Incidents(frame=frame, areas=areas, cleaning=CleaningLog(source="synthetic", rows_read=len(frame)))


def _synthetic_config(**extra):
    raw = {
        "name": "synthetic",
        "data": {"city": "chicago", "incidents": "unused: incidents passed in"},
        "start": "2020-02-10",  # day 40 of the simulation
        "days": 20,
        "algorithms": ["NaiveKDE", "SEPP"],
        "models": {"SEPP": {"trigger": "cell", "background": "cell"}},
        "coverage": {"start": 0.05, "stop": 0.2, "step": 0.05},
        **extra,
    }
    return parse_evaluate(raw)


def test_a_low_count_day_is_excluded_and_reported(tmp_path):
    from fairpatrol.grid.evaluate import evaluate
    from fairpatrol.results.evaluation import write_evaluation

    inc = _synthetic_incidents(hole_day=50)
    res = evaluate(_synthetic_config(), incidents=inc)
    hole = pd.Timestamp("2020-02-20")
    assert len(res.dates) == 19 and hole not in res.dates
    assert set(pd.to_datetime(res.metrics["date"].unique())) == set(res.dates)
    assert [d["date"] for d in res.info["low_count_days"]] == ["2020-02-20"]
    notes = " | ".join(res.info["warnings"])
    assert "2020-02-20 has" in notes and "not evaluated" in notes
    assert "9 evaluated day(s) are trained on a window containing such a day" in notes  # 21st .. 29th
    out = write_evaluation(res, tmp_path / "out")
    doc = yaml.safe_load((out / "evaluate.yaml").read_text())
    assert doc["warnings"] == res.info["warnings"] and doc["resolved"]["days_evaluated"] == 19
    # kept: evaluated, still reported
    kept = evaluate(_synthetic_config(low_count_days={"action": "keep"}), incidents=inc)
    assert len(kept.dates) == 20 and "evaluated anyway" in " ".join(kept.info["warnings"])
    # no hole, no warning; an excluded day is skipped like a flagged one
    clean = evaluate(
        _synthetic_config(exclude_days=[["2020-02-12", "2020-02-13"]]), incidents=_synthetic_incidents()
    )
    assert clean.info["warnings"] == [] and len(clean.dates) == 18
    assert clean.info["days_excluded"] == ["2020-02-12", "2020-02-13"]
    # the observed counts of the skipped-day layout are those of the evaluated days
    t = inc.frame["time"]
    assert (
        res.observed.sum() + res.info["incidents_outside_grid"]
        == ((t >= "2020-02-10") & (t < "2020-03-01") & (t.dt.normalize() != hole)).sum()
    )


def test_paper_metric_settings_reach_the_metrics():
    from fairpatrol.grid.evaluate import evaluate

    inc = _synthetic_incidents()
    paper = {"gini": "coefficient", "pf_ranking": "observed", "selection": "floor", "precision_cap": True}
    a = evaluate(_synthetic_config(days=5), incidents=inc)
    b = evaluate(_synthetic_config(days=5, metrics={**paper, "emd": "values"}), incidents=inc)
    pred, obs = b.predictions["NaiveKDE"], b.observed
    m1, m2 = b.grid.group_masks()
    cov = b.coverages

    def values(res, metric, group):
        m = res.metrics
        sel = (m.model == "NaiveKDE") & (m.metric == metric) & (m.group == group)
        return m[sel].sort_values(["date", "coverage"])["value"].to_numpy().reshape(len(res.dates), -1)

    f1 = gm.prediction_benefit(pred, obs, m1, cov, rank_by="observed", selection="floor")
    f2 = gm.prediction_benefit(pred, obs, m2, cov, rank_by="observed", selection="floor")
    np.testing.assert_allclose(values(b, "pf_gini", "between"), gm.gini_coefficient(f1, f2))
    p1 = gm.precision(pred, obs, m1, cov, selection="floor", cap=True)
    np.testing.assert_allclose(values(b, "precision", "G1"), p1)
    emd = values(b, "emd", "overall")[:, 0]
    np.testing.assert_allclose(emd, [gm.emd_values_1d(p, o) for p, o in zip(pred, obs, strict=True)])
    assert (values(a, "emd", "overall") > 100).all() and (emd < 0.01).all()  # metres vs shares


def test_reference_groups_are_the_papers_masks():
    from fairpatrol.data import load_areas
    from fairpatrol.grid.cells import build_grid, compare_with_reference, load_reference_grid
    from fairpatrol.grid.reference import with_reference_groups

    for city, mask, counts in [("bogota", "study", (215, 184)), ("chicago", "all", (323, 387))]:
        ref = load_reference_grid(city)
        grid = with_reference_groups(build_grid(load_areas(city), 1000.0, mask=mask), ref)
        assert tuple(int(m.sum()) for m in grid.group_masks()) == counts
        assert grid.label_rule == "reference"
        cmp = compare_with_reference(grid, ref)
        assert cmp.label_agreement == 1.0 and cmp.only_ours == 0 and cmp.only_reference == 0
    # a grid that lacks reference cells cannot take its labels
    import dataclasses

    from fairpatrol.errors import DataError

    full = build_grid(load_areas("bogota"), 1000.0, mask="study")
    small = dataclasses.replace(
        full, frame=full.frame.iloc[:10].reset_index(drop=True), geometry=full.geometry[:10]
    )
    with pytest.raises(DataError, match="not cells of this grid"):
        with_reference_groups(small, load_reference_grid("bogota"))


def test_cli_warns_about_the_chicago_split_artefact(tmp_path):
    out = tmp_path / "hole"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--preset",
            "chicago-grid",
            "--start",
            "2022-12-30",
            "--days",
            "3",
            "--models",
            "NaiveKDE",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning: 2022-12-31 has 8 incidents" in result.output
    doc = yaml.safe_load((out / "evaluate.yaml").read_text())
    assert doc["resolved"]["days_evaluated"] == 2 and doc["low_count_days"][0]["date"] == "2022-12-31"
    dates = pd.to_datetime(pd.read_parquet(out / "metrics.parquet")["date"].unique())
    assert sorted(dates.strftime("%Y-%m-%d")) == ["2022-12-30", "2023-01-01"]


def test_paper_preset_report_shows_the_warnings_and_the_value_emd(tmp_path):
    from fairpatrol.grid.config import load_evaluate_preset
    from fairpatrol.grid.evaluate import evaluate
    from fairpatrol.report import write_report
    from fairpatrol.results.evaluation import write_evaluation

    cfg = load_evaluate_preset("chicago-grid-paper", start="2022-12-30", days=3, algorithms="NaiveKDE,SEPP")
    res = evaluate(cfg)
    assert res.grid.label_rule == "reference" and res.grid.n == 710
    out = write_evaluation(res, tmp_path / "paper")
    doc = yaml.safe_load((out / "evaluate.yaml").read_text())
    assert doc["metrics"]["gini"] == "coefficient" and "2 (benefit" in doc["resolved"]["metrics"]["pf_gini"]
    assert doc["reference_grid"]["label_agreement"] == 1.0
    html = write_report(out, tmp_path / "r.html").path.read_text(encoding="utf-8")
    assert "Data warnings." in html and "2022-12-31 has 8 incidents" in html
    assert "Distance of the cell values" in html
    assert " m [" not in html.split("Distance of the cell values", 1)[1][:400]
