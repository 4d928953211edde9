"""The results API for notebooks: fairpatrol.load_results, tidy frames, differences and ratios between
groups with intervals over runs, reprs; on a run directory and on a sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import fairpatrol
from fairpatrol.errors import FairpatrolError
from fairpatrol.metrics import mean_interval
from tests.conftest import baltimore_results


@pytest.fixture(scope="module")
def study(tmp_path_factory, baltimore):
    out = tmp_path_factory.mktemp("nb") / "study"
    return baltimore_results(out, baltimore, days=35, runs=3, seed=5, officers=[100], report_probs=[0.4])


@pytest.fixture(scope="module")
def res(study):
    return fairpatrol.load_results(study)


def test_load_results_is_curated_and_short(res):
    assert "load_results" in fairpatrol.__all__
    assert (
        repr(res)
        == "<Results study (run): 1 scenario × 3 algorithms, 3 runs, 35 days, 256 areas in 3 groups>"
    )
    html = res._repr_html_()
    assert html.startswith("<p><b>Results study</b>") and "Patrols out of proportion to crime" in html
    assert "e-0" not in html and "nan" not in html.lower().replace("nanm", "")


def test_overall_is_the_mean_and_interval_of_the_runs(res, study):
    h = pd.read_parquet(study / "horizon.parquet")
    h["algorithm"] = h["algorithm"].astype(str)
    runs = h[h["algorithm"] == "PredPol"]["disparity_factor"].to_numpy()
    row = res.overall.query("algorithm == 'PredPol' and metric == 'disparity_factor'").iloc[0]
    assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx(mean_interval(runs))
    assert row["runs"] == 3 and row["better"] == "lower" and row["label"]
    m = pd.read_parquet(study / "metrics.parquet")
    m = m[m["algorithm"].astype(str) == "ShortTermKDE"]
    acc = m.groupby("run")["accuracy"].mean().to_numpy()
    row = res.overall.query("algorithm == 'ShortTermKDE' and metric == 'accuracy'").iloc[0]
    assert row["mean"] == pytest.approx(acc.mean())


def test_by_group_and_difference_and_ratio(res, study):
    g = pd.read_parquet(study / "group_horizon.parquet")
    g = g[g["algorithm"].astype(str) == "LongTermKDE"]
    wide = g.pivot(index="run", columns="group", values="detection_rate")
    diff = res.difference("detection_rate").query("algorithm == 'LongTermKDE'").iloc[0]
    assert diff["between"] == "Black − White"
    assert (diff["mean"], diff["ci_low"], diff["ci_high"]) == pytest.approx(
        mean_interval((wide["Black"] - wide["White"]).to_numpy())
    )
    ratio = res.ratio("patrol_share", between=("White", "Black")).query("algorithm == 'LongTermKDE'").iloc[0]
    shares = g.pivot(index="run", columns="group", values="patrol_share")
    assert ratio["mean"] == pytest.approx((shares["White"] / shares["Black"]).mean())
    spread = res.difference("patrol_share", between="all").query("algorithm == 'LongTermKDE'").iloc[0]
    assert spread["mean"] == pytest.approx((shares.max(axis=1) - shares.min(axis=1)).mean())
    by = res.by_group.query("algorithm == 'LongTermKDE' and metric == 'disparity_ratio'")
    assert list(by["group"]) == ["Black", "White", "neither"]
    # the "neither" group has no crime in these days: its ratio is undefined (NaN), never infinite
    neither = by[by["group"] == "neither"].iloc[0]
    crimes = g[g["group"].astype(str) == "neither"]["true_crimes"].sum()
    assert (
        (np.isnan(neither["mean"]) and neither["runs"] == 0) if crimes == 0 else np.isfinite(neither["mean"])
    )


def test_by_area_and_overpoliced(res):
    a = res.by_area
    assert len(a) == 3 * 256 and {"name", "group", "disparity_ratio", "true_crimes"} <= set(a.columns)
    np.testing.assert_allclose(a.groupby("algorithm")["patrol_share"].sum(), 1.0)
    top = res.overpoliced(min_crimes=3, top=5)
    assert (top["true_crimes"] >= 3).all() and len(top) <= 15
    first = top[top["algorithm"] == "PredPol"]["disparity_ratio"].to_numpy()
    assert (np.diff(first) <= 0).all()  # most over-policed first


def test_errors_name_what_is_wrong(res, tmp_path):
    with pytest.raises(KeyError, match="not a group metric"):
        res.difference("accuracy")
    with pytest.raises(KeyError, match="no group 'Purple'"):
        res.ratio("patrol_share", between=("Purple", "White"))
    with pytest.raises(FairpatrolError, match="not a results directory"):
        fairpatrol.load_results(tmp_path)


def test_a_sweep_loads_with_its_cells(tmp_path, baltimore):
    from fairpatrol.sweep import load_sweep, run_sweep

    spec = {
        "name": "tiny",
        "base": "baltimore-agg",
        "fixed": {"algorithms": ["Uniform", "PreviousCounts"], "runs": 2, "days": 6, "officers": [40]},
        "grid": {"report_probs": [0.0, 0.4]},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "sweep"
    run_sweep(load_sweep(path), out, workers=1)
    res = fairpatrol.load_results(out)
    assert res.keys == ["cell", "scenario", "algorithm"]
    assert res.overall["cell"].nunique() == 2
    assert len(res.difference("detection_rate")) == 2 * 2
