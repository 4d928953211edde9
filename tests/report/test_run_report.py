"""The transparency report: its numbers, explanations, privacy mode, escaping and command line."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.errors import FairpatrolError
from tests.conftest import baltimore_results

runner = CliRunner()
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def study(tmp_path_factory, baltimore):
    return baltimore_results(tmp_path_factory.mktemp("report") / "study", baltimore, days=6, runs=3, seed=7)


@pytest.fixture(scope="module")
def res(study):
    from fairpatrol.results import read_results

    return read_results(study)


@pytest.fixture(scope="module")
def replayed(res):
    from fairpatrol.report.explain import replay

    return replay(res, res.scenarios[-1], 1)


@pytest.fixture(scope="module")
def html(study, tmp_path_factory):
    from fairpatrol.report import write_report

    out = tmp_path_factory.mktemp("html") / "report.html"
    written = write_report(study, out)
    assert written.bytes == out.stat().st_size
    return out.read_text(encoding="utf-8")


# -- loading ---------------------------------------------------------------------------------------------
def test_directory_kinds_and_errors(study, tmp_path):
    from fairpatrol.results import directory_kind, read_results

    assert directory_kind(study) == "run"
    (tmp_path / "sweep.yaml").write_text("cells: []\n")
    assert directory_kind(tmp_path) == "sweep"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FairpatrolError, match="not a results directory"):
        read_results(empty)
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.yaml").write_text((study / "config.yaml").read_text())
    with pytest.raises(FairpatrolError, match=r"missing metrics\.parquet"):
        read_results(partial)


def test_aggregate_queries_match_the_dense_allocation_table(study, res):
    """The report's queries over the nonzero rows give what they give over the re-expanded dense table."""
    from fairpatrol.allocations import expand_allocations

    alloc = expand_allocations(study)
    assert len(alloc) == 12 * 3 * 6 * 256  # cells × runs × days × areas once re-expanded
    assert len(pd.read_parquet(study / "allocations.parquet")) < len(alloc)  # zero rows omitted
    assert res.scenarios == list(dict.fromkeys(alloc["scenario"].astype(str)))
    assert res.runs == [0, 1, 2] and len(res.dates) == 6
    keys = ["scenario", "algorithm", "run", "area_id"]
    tot = res.horizon_totals.astype({"scenario": str, "algorithm": str, "area_id": str})
    dense = alloc.groupby(keys, observed=True)[["officers", "crimes", "detected"]].sum().reset_index()
    dense = dense.astype({"scenario": str, "algorithm": str, "area_id": str})
    both = dense.merge(tot, on=keys, how="left", suffixes=("", "_q")).fillna(0.0)
    for col in ("officers", "crimes", "detected"):
        np.testing.assert_array_equal(both[col], both[f"{col}_q"])
    first = alloc[(alloc["scenario"] == "N40_r0") & (alloc["algorithm"] == "PredPol") & (alloc["run"] == 0)]
    assert res.crimes_by_day.sum() == first["crimes"].sum()
    on = res.officers_on([res.dates[0]], "N400_r0.4").astype({"algorithm": str, "area_id": str})
    on = on.drop(columns="date")
    want = alloc[(alloc["scenario"] == "N400_r0.4") & (pd.to_datetime(alloc["date"]) == res.dates[0])]
    want = want.groupby(["algorithm", "area_id"], observed=True)[["officers", "crimes"]].mean().reset_index()
    want = want.astype({"algorithm": str, "area_id": str})
    both = want.merge(on, on=["algorithm", "area_id"], how="left", suffixes=("_want", "")).fillna(0.0)
    assert len(both) == 3 * 256 and (both["officers_want"] == 0).any()  # some areas had no officer
    assert np.allclose(both["officers"], both["officers_want"])
    assert np.allclose(both["crimes"], both["crimes_want"])
    assert not res.crimes_vary  # without world effects every run saw the replayed crimes


# -- findings --------------------------------------------------------------------------------------------
def test_findings_name_the_winner_the_summary_shows(res):
    from fairpatrol.report.summary import findings, metric_info, need_findings

    s = res.summary
    acc = s[(s["metric"] == "accuracy") & (s["statistic"] == "level")]
    best = acc.loc[acc.groupby("scenario")["mean"].idxmax()]
    top = best["algorithm"].value_counts()
    found = {f.key: f for f in [*findings(res), *need_findings(res)]}
    head = found["accuracy"].headline
    assert head.startswith(top.index[0])
    wins = int(top.iloc[0])
    assert ("every scenario" in head) if wins == 4 else (f"{wins} of 4 scenarios" in head)
    info = metric_info(res.group_pair)["accuracy"]
    for _, row in best.iterrows():  # every scenario's winner is quoted with its mean and interval
        text = info.interval(row["mean"], row["ci_low"], row["ci_high"])
        assert any(text in d for d in found["accuracy"].details)
    gini = s[(s["metric"] == "gini_police") & (s["statistic"] == "level")]
    fairest = gini.loc[gini.groupby("scenario")["mean"].idxmin(), "algorithm"].value_counts().index[0]
    assert found["gini_police"].headline.startswith(fairest)
    # a ratio is best when closest to 1 (|log ratio|), not when lowest
    pair = s[(s["metric"] == "disparity_ratio_pair") & (s["statistic"] == "horizon")]
    closest = pair.assign(d=np.abs(np.log(pair["mean"]))).groupby("scenario")["d"].idxmin()
    top = pair.loc[closest, "algorithm"].value_counts().index[0]
    assert found["disparity_ratio_pair"].headline.startswith(f"{top} was closest to 1")


def test_trend_directions_follow_the_slope_intervals(res):
    from fairpatrol.report.summary import trend_direction, trend_table

    assert trend_direction(0.1, 0.3) == "grew"
    assert trend_direction(-0.3, -0.1) == "shrank"
    assert trend_direction(-0.1, 0.3) == "no clear trend"
    assert trend_direction(np.nan, np.nan) == "no clear trend"
    t = trend_table(res)
    row = t.iloc[0]
    assert row["change"] == pytest.approx(row["mean"] * (len(res.dates) - 1))


def test_paired_margin_is_the_mean_of_per_run_differences(res):
    from fairpatrol.report.summary import paired_difference

    m = res.metrics[res.metrics["scenario"] == "N40_r0"]
    per_run = m.groupby(["algorithm", "run"])["accuracy"].mean().unstack(0)
    mean, lo, hi = paired_difference(res, "accuracy", "N40_r0", "PredPol", "LongTermKDE")
    assert mean == pytest.approx((per_run["PredPol"] - per_run["LongTermKDE"]).mean())
    assert lo < mean < hi


def test_number_formats():
    from fairpatrol.report.summary import join, sig

    assert sig(0.0012345) == "0.0012"
    assert sig(1234.5) == "1,234"
    assert sig(2.0e-20) == "< 0.000001"  # never scientific notation
    assert sig(float("nan")) == "n/a"
    assert join(["a"]) == "a" and join(["a", "b", "c"]) == "a, b and c"


# -- replay, explanations, calibration --------------------------------------------------------------------
def test_replay_reproduces_the_published_allocations(res, replayed):
    for alg, rp in replayed.replays.items():
        assert rp.matches_recorded, alg
        assert rp.forecasts.shape == (len(res.dates), res.areas.n)
        assert np.array_equal(rp.officers, res.run_table(res.scenarios[-1], alg, 1, "officers"))


def test_explanation_parts_add_up_to_the_forecast(res, replayed):
    from fairpatrol.report.explain import explain_day

    explained = explain_day(replayed, res, len(res.dates) - 1, top=4)
    assert [e.algorithm for e in explained] == res.algorithms
    for ex in explained:
        assert ex.engine_difference < 1e-3, ex.algorithm  # the refit agrees with the simulation
        forecasts = replayed.replays[ex.algorithm].forecasts[-1]
        assert [a.intensity for a in ex.areas] == sorted(forecasts, reverse=True)[:4]
        for area in ex.areas:
            assert sum(area.parts.values()) == pytest.approx(area.intensity, rel=1e-3), ex.algorithm
            assert all(t.value > 0.01 * area.intensity for t in area.top_incidents)
    pp = next(e for e in explained if e.algorithm == "PredPol")
    assert set(pp.areas[0].parts) == {"background", "recent"}


def test_explained_day_must_be_simulated(res):
    from fairpatrol.report.explain import resolve_day

    assert resolve_day(res, None) == len(res.dates) - 1
    assert resolve_day(res, str(res.dates[2].date())) == 2
    with pytest.raises(FairpatrolError, match=r"field 'day'.*outside"):
        resolve_day(res, "2030-01-01")
    with pytest.raises(FairpatrolError, match="not a date"):
        resolve_day(res, "soon")


def test_calibration_totals(res, replayed):
    from fairpatrol.report.explain import calibration

    for cal in calibration(replayed):
        rp = replayed.replays[cal.algorithm]
        assert cal.predicted.sum() == pytest.approx(rp.forecasts.sum())
        assert cal.observed.sum() == res.crimes_by_day.sum()  # no world effects: the replayed crimes
        assert cal.learned.sum() <= cal.observed.sum()
        assert cal.bins(5)["areas"].sum() == res.areas.n


def test_concentration_curve_and_lookback_rings(replayed):
    from fairpatrol.report.explain import concentration_curve, lookback_rings

    x, own, hit = concentration_curve(np.array([1.0, 3.0, 0.0, 0.0]), later=np.array([0.0, 1.0, 1.0, 2.0]))
    assert x.tolist() == [25.0, 50.0, 75.0, 100.0]
    assert own.tolist() == [0.75, 1.0, 1.0, 1.0]
    assert hit.tolist() == [0.25, 0.25, 0.5, 1.0]
    windows, rings = lookback_rings(replayed.data)
    assert windows == [7, 30, 90, 180, 365]
    t = replayed.data.times
    assert rings.sum() == ((t < 0) & (t >= -365)).sum()
    assert rings[0].sum() == ((t < 0) & (t >= -7)).sum()


def test_overpoliced_counts_three_areas_per_run(res):
    from fairpatrol.report.analysis import overpoliced

    table = overpoliced(res, res.crimes_by_day.sum(axis=0), show=res.areas.n)
    keys = len(res.scenarios) * len(res.algorithms) * len(res.runs)
    assert table["times_top"].sum() == 3 * keys
    assert table[res.algorithms].sum(axis=1).tolist() == table["times_top"].tolist()
    assert table["times_top"].is_monotonic_decreasing


def test_map_classes():
    from fairpatrol.report import svgmap

    breaks = svgmap.sequential_breaks(np.array([0.0, 1.0, 3.0, 12.0]))
    assert breaks == [1.0, 2.0, 5.0, 10.0, 12.0]
    colors = svgmap.sequential_colors(len(breaks))
    assert [label for _, label in svgmap.class_legend(breaks, colors)] == [
        "0",
        "≤ 1",
        "1–2",
        "2–5",
        "5–10",
        "> 10",
    ]
    assert len(svgmap.sequential_breaks(np.geomspace(0.01, 1000, 50))) <= 6


# -- privacy ----------------------------------------------------------------------------------------------
def test_laplace_noise_has_the_stated_scale():
    from fairpatrol.report.privacy import laplace_mechanism

    noise = laplace_mechanism(np.zeros(200_000), 0.5, 1.0, np.random.default_rng(1))
    assert np.abs(noise).mean() == pytest.approx(2.0, rel=0.02)  # E|Lap(b)| = b = Δ/ε
    with pytest.raises(ValueError):
        laplace_mechanism(np.zeros(3), 0.0, 1.0, np.random.default_rng(1))


def test_ledger_splits_the_budget_and_refuses_double_releases():
    from fairpatrol.report.privacy import PrivacyLedger

    off = PrivacyLedger(None)
    counts = np.arange(10.0)
    assert off.release("a", "", counts) is not counts and np.array_equal(off.release("a", "", counts), counts)
    ledger = PrivacyLedger(1.0, ("a", "b"), np.random.default_rng(0))
    out = ledger.release("a", "first", np.full(1000, 50.0))
    assert ledger.share == 0.5 and ledger.spent == 0.5
    assert (out >= 0).all() and np.array_equal(out, np.round(out))
    cost = ledger.releases[0].cost()
    assert cost["expected_abs_error"] == 2.0
    assert cost["mean_abs_error"] == pytest.approx(2.0, rel=0.15)
    with pytest.raises(ValueError, match="already"):
        ledger.release("a", "again", np.zeros(3))
    with pytest.raises(ValueError, match="not declared"):
        ledger.release("c", "", np.zeros(3))


def test_privacy_mode_noises_counts_and_states_the_cost(study, tmp_path):
    from fairpatrol.report import write_report

    out = write_report(study, tmp_path / "dp.html", dp_epsilon=0.5, rng=np.random.default_rng(3)).path
    text = out.read_text(encoding="utf-8")
    assert "Privacy mode:" in text and "total ε = 0.5" in text
    assert "Accuracy cost of the noise" in text and "mean absolute error" in text
    assert "incidents that weighed most" not in text  # no individual incidents in privacy mode
    assert text.count("ε spent") == 1


# -- the page ---------------------------------------------------------------------------------------------
SECTIONS = (
    "numbers need study maps performance time overpoliced concentration models explanations calibration "
    "privacy data glossary reproduce"
).split()


def test_report_is_complete_and_self_contained(html, res):
    for sid in SECTIONS:
        assert f'id="{sid}"' in html and f'href="#{sid}"' in html, sid
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"""<(link|img|iframe|script|source)[^>]+(href|src)=["']https?:""", html)
    assert "url(http" not in html
    import base64
    import gzip

    packed = re.search(r'<script type="application/octet-stream" id="plotly-js-gz">([^<]+)</script>', html)
    assert gzip.decompress(base64.b64decode(packed.group(1))).startswith(
        b"/**\n* plotly.js (basic - minified) v"
    )
    assert html.count("lazy-plot") >= 12 and html.count("Plotly.newPlot(") == 1  # drawn by the loader
    assert 'id="datasheet"' in html and html.count('<details class="section"') == len(SECTIONS)
    text = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert "SPEC" not in text  # no unshipped document cited
    assert not re.search(r"\b\d(\.\d+)?e[+-]?\d+\b", text)  # no scientific notation in the text
    for alg in res.algorithms:
        assert f"<h3>{alg}</h3>" in html  # a model card per algorithm
    assert "Download scenario.yaml" in html and "seed 7" in html
    assert "1201" in html  # the cleaning report's duplicates
    assert "PredPol&#39;s fitted parameters over time" in html or "PredPol's fitted parameters" in html
    assert len(html.encode()) < 2_000_000


def test_downloadable_scenario_reruns_the_study(html, study):
    import base64

    from fairpatrol.config import parse_scenario

    uri = re.search(r'href="data:text/yaml;charset=utf-8;base64,([^"]+)"', html).group(1)
    cfg = parse_scenario(yaml.safe_load(base64.b64decode(uri)), "download")
    written = yaml.safe_load((study / "config.yaml").read_text())
    assert cfg.seed == written["seed"] and cfg.days == written["days"] and cfg.runs == written["runs"]


def test_values_from_data_are_escaped(study, tmp_path, monkeypatch):
    from fairpatrol.report import write_report

    crafted = craft_results(study, tmp_path / "crafted", monkeypatch)
    text = write_report(crafted, tmp_path / "x.html").path.read_text(encoding="utf-8")
    assert SCRIPT not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the config description, as text
    assert text.count("&lt;script&gt;alert(1)&lt;") >= 256  # every area name, escaped in figure data


def craft_results(study, out, monkeypatch):
    """A copy of ``study`` whose config description and every area name contain a script tag."""
    import dataclasses
    import shutil

    from fairpatrol.data import read_areas_parquet

    shutil.copytree(study, out)
    doc = yaml.safe_load((out / "config.yaml").read_text())
    doc["description"] = f"crafted {SCRIPT} description"
    (out / "config.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    areas = read_areas_parquet(out / "areas.parquet")
    frame = areas.frame.assign(name=[f"{SCRIPT} {n}" for n in areas.frame["name"]])
    dataclasses.replace(areas, frame=frame).write_parquet(out / "areas.parquet")
    return out


# -- command line -----------------------------------------------------------------------------------------
def test_cli_writes_the_report_and_prints_its_path(study, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(
        app, ["report", str(study), "-o", str(out), "--day", str(pd.Timestamp("2019-01-03").date())]
    )
    assert result.exit_code == 0, result.output
    assert f"report written to {out}" in result.output and out.stat().st_size > 1_000_000
    assert "2019-01-03" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--day", "2031-01-01"], "outside the simulated days"),
        (["--dp-epsilon", "0"], "--dp-epsilon must be positive"),
        (["--scenario", "N7_r0"], "unknown scenario"),
        (["--run", "9"], "unknown run 9"),
    ],
)
def test_cli_bad_options_give_one_line(study, tmp_path, args, needle):
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(study), "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.output
    assert not out.exists()


def test_cli_rejects_a_directory_that_is_not_results(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "not a results directory" in result.output


def test_world_effects_report_each_runs_crimes(tmp_path):
    from fairpatrol.config import load_preset
    from fairpatrol.report import write_report
    from fairpatrol.results import read_results, write_study

    cfg = load_preset("baltimore-agg", days=4, runs=2, seed=5)
    cfg = cfg.model_copy(
        update={
            "world": cfg.world.model_copy(update={"deterrence_elasticity": 0.5}),
            "algorithms": ["LongTermKDE"],
            "officers": [400],
            "report_probs": [0.4],
        }
    )
    write_study(cfg, tmp_path / "det")
    res = read_results(tmp_path / "det")
    assert res.crimes_vary  # deterrence thinned each run's crimes differently
    text = write_report(tmp_path / "det", tmp_path / "det.html").path.read_text(encoding="utf-8")
    assert "World effects (deterrence" in text
    assert "officers equal the published ones" in text  # the replay follows the same world


def test_results_of_a_bundled_city_without_areas_still_report(study, tmp_path):
    import shutil

    from fairpatrol.report import write_report

    old = tmp_path / "old"
    shutil.copytree(study, old)
    (old / "areas.parquet").unlink()  # results written before they carried their areas
    text = write_report(old, tmp_path / "old.html").path.read_text(encoding="utf-8")
    assert "Black" in text and "168" in text


def test_the_compat_study_reports_without_forecasts_to_explain(tmp_path, baltimore):
    """The published code's KDE sampler draws officers without a daily forecast: the report says so for
    those algorithms instead of failing, and explains the others (and its metrics are of run-averaged
    counts: no interval)."""
    from fairpatrol.config import load_preset
    from fairpatrol.report import write_report
    from fairpatrol.results import write_study

    cfg = load_preset("baltimore-agg-compat", days=6, runs=2)
    write_study(cfg, tmp_path / "compat", incidents=baltimore)
    html = write_report(tmp_path / "compat", tmp_path / "c.html").path.read_text(encoding="utf-8")
    assert "ShortTermKDE is not explained or calibrated here" in html
    assert "<h3>PredPol</h3>" in html  # PredPol has forecasts: explained
    assert "one run: no interval" in html
