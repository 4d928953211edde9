"""Sweeps end to end: local worker processes, a real Dask LocalCluster, kill -9 and resume, failures,
worker crashes, the hive-partitioned layout read by DuckDB and pandas, and `fairpatrol analyze`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.results.tables import metrics_table
from fairpatrol.sim.study import run_study
from fairpatrol.sweep import load_sweep, run_sweep

runner = CliRunner()
EXE = Path(sys.executable).parent / "fairpatrol"
DAYS, RUNS = 40, 2
SWEEP = {
    "name": "small",
    "base": "baltimore-agg",
    "fixed": {"algorithms": ["PredPol", "LongTermKDE"], "runs": RUNS, "days": DAYS},
    "grid": {"report_probs": [0.0, 0.2, 0.4], "officers": [40, 100]},
}
KEYS = {
    "metrics": ["cell", "scenario", "algorithm", "run", "date"],
    "summary": ["cell", "scenario", "algorithm", "metric", "statistic"],
    "allocations": ["cell", "scenario", "algorithm", "run", "date", "area_id"],
}


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("def") / "small.yaml"
    path.write_text(yaml.safe_dump(SWEEP, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(sweep_file, tmp_path_factory):
    """The uninterrupted local run (two worker processes) every other execution must reproduce."""
    out = tmp_path_factory.mktemp("ref") / "sweep"
    report = run_sweep(load_sweep(sweep_file), out, workers=2)
    assert (report.total, report.skipped, report.ran, report.failed) == (6, 0, 6, {})
    return out


def table(out: Path, name: str) -> pd.DataFrame:
    """A table of the sweep as DuckDB reads it with the plain glob of the docs, in key order."""
    glob = str(out / name / "**" / "*.parquet")
    return duckdb.sql(f"select * from '{glob}' order by {', '.join(KEYS[name])}").df()


def configs(out: Path) -> dict[str, dict]:
    docs = {}
    for p in sorted((out / "configs").glob("*.yaml")):
        doc = yaml.safe_load(p.read_text())
        doc.pop("seconds")
        docs[p.stem] = doc
    return docs


def assert_same_results(out: Path, ref: Path) -> None:
    for name in KEYS:
        pd.testing.assert_frame_equal(table(out, name), table(ref, name))
    assert configs(out) == configs(ref)


def test_layout_is_hive_partitioned_and_queryable(reference, sweep_file):
    out = reference
    plan = load_sweep(sweep_file)
    assert {p.name for p in out.iterdir()} >= {"sweep.yaml", "metrics", "summary", "allocations", "configs"}
    assert not (out / "failures").exists()
    ids = sorted(c.id for c in plan.cells)
    for name in KEYS:
        assert sorted(p.name for p in (out / name).iterdir()) == [f"cell={i}" for i in ids]
    manifest = yaml.safe_load((out / "sweep.yaml").read_text())
    assert [c["id"] for c in manifest["cells"]] == [c.id for c in plan.cells]

    m = table(out, "metrics")
    assert len(m) == 6 * 2 * RUNS * DAYS  # cells × algorithms × runs × days
    assert sorted(m["cell"].unique()) == ids  # the hive partition column
    assert set(m.groupby("cell")["n_officers"].nunique()) == {1}
    agg = duckdb.sql(
        f"select algorithm, report_prob, avg(accuracy) as acc from '{out}/metrics/**/*.parquet' group by all"
    ).df()
    assert len(agg) == 6
    a = pd.read_parquet(out / "allocations")
    assert "cell" in a.columns and 0 < len(a) < 6 * 2 * RUNS * DAYS * 256  # nonzero rows only
    assert (a[["crimes", "officers", "detected", "reported", "prevention"]] != 0).any(axis=1).all()
    sums = a.groupby(["cell", "algorithm", "run", "date"], observed=True)[["officers", "n_officers"]]
    agg = sums.agg({"officers": "sum", "n_officers": "first"})
    assert len(agg) == 6 * 2 * RUNS * DAYS and (agg.officers == agg.n_officers).all()
    from fairpatrol.allocations import expand_allocations  # one cell's partition, re-expanded

    dense = expand_allocations(out / "allocations" / f"cell={ids[0]}", areas=out / "areas" / f"cell={ids[0]}")
    assert len(dense) == 2 * RUNS * DAYS * 256  # algorithms × runs × days × areas
    assert dense["officers"].sum() == a.loc[a["cell"] == ids[0], "officers"].sum()
    s = pd.read_parquet(out / "summary")
    assert set(s.statistic) == {"level", "slope", "horizon"}

    # a cell's rows are exactly what `run_study` of its config gives
    cell = plan.cells[0]
    order = ["algorithm", "run", "day"]
    direct = metrics_table(run_study(cell.config)).to_pandas()
    direct = direct.astype({"algorithm": str}).sort_values(order).reset_index(drop=True)
    mine = m[m.cell == cell.id].drop(columns="cell").sort_values(order).reset_index(drop=True)
    text = {"scenario", "algorithm", "reporting", "remedy", "group_1", "group_2", "date"}
    cols = [c for c in direct.columns if c not in text]
    pd.testing.assert_frame_equal(mine[cols], direct[cols], check_dtype=False)
    for col in text & set(direct.columns):
        assert list(mine[col].astype(str)) == list(
            direct[col].astype(str).str[:10] if col == "date" else direct[col].astype(str)
        ), col
    doc = yaml.safe_load((out / "configs" / f"{cell.id}.yaml").read_text())
    assert doc["sweep"]["cell"] == cell.id and doc["seed"] == cell.config.seed


def test_swept_parameters_become_columns_and_crossed_algorithms_share_one_schema(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": "baltimore-agg",
                "fixed": {"officers": [40], "runs": 1, "days": 2},
                "grid": {
                    "algorithms": ["PredPol", "LongTermKDE"],
                    "detection_p": [0.3, 0.6],
                    "models.LongTermKDE.bandwidth": [300.0],
                },
                "allocations": False,
            }
        )
    )
    res = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "0", "-q"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "o" / "allocations").exists()
    m = duckdb.sql(f"select * from '{tmp_path}/o/metrics/**/*.parquet'").df()
    cells = m.groupby("cell")[["algorithm", "detection_p", "models_LongTermKDE_bandwidth"]].first()
    assert sorted(map(tuple, cells.to_numpy().tolist())) == [
        ("LongTermKDE", 0.3, 300.0),
        ("LongTermKDE", 0.6, 300.0),
        ("PredPol", 0.3, 300.0),
        ("PredPol", 0.6, 300.0),
    ]
    # one schema for all cells: PredPol's diagnostics are NaN for the KDE cells, as in `fairpatrol run`
    assert m.loc[m.algorithm == "PredPol", "theta"].notna().all()
    assert m.loc[m.algorithm == "LongTermKDE", "theta"].isna().all()


@pytest.mark.slow
def test_local_cluster_gives_the_local_results(reference, sweep_file, tmp_path):
    import dask
    from distributed import LocalCluster

    one_thread = {
        k: 1 for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    }
    with dask.config.set({"distributed.nanny.pre-spawn-environ": one_thread}):
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster:
            out = tmp_path / "dask"
            res = runner.invoke(
                app,
                ["sweep", str(sweep_file), "--out", str(out), "--cluster", cluster.scheduler_address, "-q"],
            )
    assert res.exit_code == 0, res.output
    assert "Dask cluster" in res.output and "(2 workers)" in res.output
    assert_same_results(out, reference)


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies count as gone)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


@pytest.mark.slow
def test_kill_9_mid_sweep_then_resume(reference, sweep_file, tmp_path):
    out = tmp_path / "killed"
    cmd = [str(EXE), "sweep", str(sweep_file), "--out", str(out), "--workers", "1", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out / "configs").is_dir() or not any((out / "configs").glob("*.yaml")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no cell finished in 120 s"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = {p.stem: p.stat().st_mtime_ns for p in (out / "configs").glob("*.yaml")}
        assert 1 <= len(before) < 6, "the kill came after the sweep ended"
        # the worker process notices its parent is gone and exits by itself
        deadline = time.monotonic() + 20
        while _alive_in_group(proc.pid):
            assert time.monotonic() < deadline, f"orphaned workers {_alive_in_group(proc.pid)}"
            time.sleep(0.1)
    finally:
        if _alive_in_group(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"6 cells, {len(before)} already finished, {6 - len(before)} run now, 0 failed" in res.stdout
    after = {p.stem: p.stat().st_mtime_ns for p in (out / "configs").glob("*.yaml")}
    assert len(after) == 6
    assert all(after[k] == v for k, v in before.items())  # finished cells were skipped, not redone
    assert not (out / ".partial").exists()
    assert_same_results(out, reference)


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": "baltimore-agg",
                "fixed": {"officers": [40], "runs": 1, "days": 2, "algorithms": ["LongTermKDE"]},
                "grid": {"start": ["2005-01-01", "2019-01-01"]},
            }
        )
    )
    out = tmp_path / "o"
    args = ["sweep", str(path), "--out", str(out), "--workers", "0", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert "2 cells, 0 already finished, 1 run now, 1 failed" in res.output
    failures = list((out / "failures").glob("*.json"))
    assert len(failures) == 1 and failures[0].stem.startswith("2005-01-01-")
    record = yaml.safe_load(failures[0].read_text())
    assert record["error"].startswith("ConfigError: ") and "field 'start'" in record["error"]
    assert f"failed: {failures[0].stem}: ConfigError" in res.output
    assert len(list((out / "configs").glob("*.yaml"))) == 1
    again = runner.invoke(app, args)  # the finished cell is skipped, the failed one retried
    assert again.exit_code == 1
    assert "2 cells, 1 already finished, 0 run now, 1 failed" in again.output
    analysed = runner.invoke(app, ["analyze", str(out)])
    assert analysed.exit_code == 0, analysed.output
    assert "1 of 2 cells are not finished" in analysed.output


def test_analyze_writes_the_comparison_tables(reference):
    from scipy import stats

    from fairpatrol.metrics.registry import metric
    from fairpatrol.sweep.analyze import default_metrics

    res = runner.invoke(app, ["analyze", str(reference)])
    assert res.exit_code == 0, res.output
    assert "Verdicts" in res.output and "Share of settings" not in res.output  # short by default
    assert "skipped (" in res.output  # degenerate tests are named with their reason
    from fairpatrol.sweep.analyze import analyze_sweep
    from fairpatrol.sweep.display import verdicts

    table, skipped = verdicts(analyze_sweep(reference))
    assert list(table["measure"]) == [metric(m).text(("Black", "White"))[0] for m in default_metrics()]
    assert set(table["better"]) == {"higher", "lower", "closer to 1 (|log|)"}
    assert all(" of 6 settings)" in b for b in table["best"])
    assert all(line.endswith(")") and "skipped (" in line for line in skipped)
    assert not re.search(r"\de[+-]\d", res.output)  # no scientific notation
    res = runner.invoke(app, ["analyze", "--full", str(reference)])
    assert res.exit_code == 0, res.output
    for title in ("Share of settings", "Paired differences", "ANOVA", "χ² test", "Accuracy vs fairness"):
        assert title in res.output
    folder = reference / "analysis"
    names = {p.stem for p in folder.glob("*.csv")}
    assert names == {
        "run_levels",
        "means",
        "paired",
        "paired_overall",
        "winners",
        "wins",
        "anova",
        "chi2",
        "dominance",
        "correlations",
    }
    # independent recomputation from the raw daily metrics
    m = pd.read_parquet(reference / "metrics")
    keys = ["algorithm", "report_prob", "n_officers", "run"]
    levels = m.groupby(keys, observed=True)["accuracy"].mean().reset_index()
    anova = pd.read_csv(folder / "anova.csv")
    row = anova[(anova.parameter == "report_prob") & (anova.stratum == "all") & (anova.metric == "accuracy")]
    row = row[row.algorithm == "PredPol"].iloc[0]
    groups = [g.accuracy.to_numpy() for _, g in levels[levels.algorithm == "PredPol"].groupby("report_prob")]
    expected = stats.f_oneway(*groups)
    assert row.F == pytest.approx(expected.statistic) and row.p_value == pytest.approx(expected.pvalue)
    assert (row.df_between, row.df_within) == (2, 3 * 2 * RUNS - 3)
    strata = set(anova[anova.parameter == "report_prob"].stratum)
    assert strata == {"all", "n_officers=40", "n_officers=100"}

    wide = levels.pivot(index=["report_prob", "n_officers", "run"], columns="algorithm", values="accuracy")
    diff = (wide.PredPol - wide.LongTermKDE).groupby(["report_prob", "n_officers"]).mean()
    paired = pd.read_csv(folder / "paired_overall.csv")
    prow = paired[(paired.metric == "accuracy") & (paired.algorithm_a == "PredPol")].iloc[0]
    assert prow.algorithm_b == "LongTermKDE" and prow.settings == 6
    assert prow.mean_diff == pytest.approx(diff.mean())
    assert prow.ci_low < prow.mean_diff < prow.ci_high

    wins = pd.read_csv(folder / "wins.csv")
    assert np.allclose(wins.groupby("metric").share.sum(), 1.0)
    assert set(wins.better) == {"higher", "lower", "closer to 1"}
    dom = pd.read_csv(folder / "dominance.csv")
    assert np.allclose(dom.groupby(["parameter", "stratum", "value", "metric"]).p_best.sum(), 1.0)
    run_best = wide.idxmax(axis=1).groupby("report_prob").value_counts()
    pp = dom[(dom.parameter == "report_prob") & (dom.metric == "accuracy") & (dom.stratum == "all")]
    pp = pp[pp.algorithm == "PredPol"]
    assert len(pp) == 3
    for value, p_best in zip(pp.value, pp.p_best, strict=True):
        assert p_best == pytest.approx(run_best.get((value, "PredPol"), 0) / (2 * RUNS))
    chi = pd.read_csv(folder / "chi2.csv")
    assert set(chi.parameter) == {"report_prob", "n_officers"}
    n_metrics = len(default_metrics())
    assert len(chi) == n_metrics * (3 + 4)  # metrics × strata (all + 2 officer counts, all + 3 reporting)
    corr = pd.read_csv(folder / "correlations.csv")
    assert set(corr.grouping) == {"all", "algorithm", "report_prob", "n_officers"}
    means = pd.read_csv(folder / "means.csv")
    rows = sum(1 if metric(m).window == "horizon" else 2 for m in default_metrics())  # level, slope; horizon
    assert len(means) == 6 * 2 * rows  # cells × algorithms × statistics of the headline metrics
