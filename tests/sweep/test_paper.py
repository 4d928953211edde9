"""The Baltimore study's own tables (fairpatrol.sweep.paper): known answers on a hand-made results folder."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairpatrol.sweep.paper import load_paper_runs, paper_tables, silhouette

ALGS = ("PredPol", "LongTermKDE", "ShortTermKDE")
#: accuracy level and slope per algorithm; every gap and Gini = base × (1 + r) for PredPol, base otherwise
ACC = {"PredPol": (0.5, 0.01), "LongTermKDE": (0.4, -0.01), "ShortTermKDE": (0.3, 0.0)}
GAP = {"PredPol": 1.0, "LongTermKDE": 2.0, "ShortTermKDE": 4.0}
DAYS, RUNS = 5, 3


def _write(folder, compat_modes=("none", "semsar2026")):
    rows, alloc = [], []
    settings = itertools.product(("AGG", "TOTAL"), (40, 400), (0.0, 0.4), compat_modes)
    for case, n, r, compat in settings:
        for alg, run, day in itertools.product(ALGS, range(RUNS), range(DAYS)):
            level, slope = ACC[alg]
            g = GAP[alg] * ((1 + r) * (1 + 0.01 * run) if alg == "PredPol" else 1.0)
            row = {
                "scenario": f"N{n}_r{r:g}", "algorithm": alg, "n_officers": n, "report_prob": r,
                "reporting": f"{r:g}", "remedy": "none", "run": run, "day": day,
                "date": pd.Timestamp("2019-01-01") + pd.Timedelta(days=day), "case": case, "compat": compat,
                "accuracy": level + slope * (day - (DAYS - 1) / 2), "share_gap": g, "pcr_gap": 10 * g,
                "gini_police": g / 10, "gini_pcr": g / 10 + 0.001 * day, "share_gap_signed": g * (day - 2),
                "pcr_gap_signed": -g, "group_1": "Black", "group_2": "White",
            }  # fmt: skip
            rows.append(row)
            # four areas: area A gets all officers under PredPol, B and C split them under the KDEs
            officers = {"PredPol": [n, 0, 0, 0], "LongTermKDE": [0, n / 2, n / 2, 0]}.get(
                alg, [0, 0, n / 2, n / 2]
            )
            keys = (
                "scenario",
                "algorithm",
                "n_officers",
                "report_prob",
                "reporting",
                "remedy",
                "run",
                "date",
            )
            base = {key: row[key] for key in (*keys, "case", "compat")}
            for area, grp, k in zip("ABCD", ("Black", "White", "Black", "White"), officers, strict=True):
                alloc.append({**base, "area_id": area, "group": grp, "officers": k, "crimes": 1})
    pd.DataFrame(rows).to_parquet(folder / "metrics.parquet")
    pd.DataFrame(alloc).to_parquet(folder / "allocations.parquet")
    # the swept columns, as a sweep's manifest names them
    (folder / "sweep.yaml").write_text("columns: {case: case, compat: compat}\ncells: []\n")
    return folder


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return paper_tables(_write(tmp_path_factory.mktemp("paper")))


def test_runs_levels_slopes_and_modes(tables):
    pr = tables.runs
    assert pr.by == ["compat"] and pr.report_param == "report_prob"
    assert set(pr.params) == {"case", "n_officers", "report_prob", "compat"}
    r = pr.runs.set_index(["compat", "case", "n_officers", "report_prob", "algorithm", "run"])
    one = r.loc[("none", "AGG", 40, 0.4, "PredPol", 0)]
    assert one["accuracy"] == pytest.approx(0.5) and one["accuracy__slope"] == pytest.approx(0.01)
    assert one["accuracy__first"] == pytest.approx(0.48) and one["accuracy__last"] == pytest.approx(0.52)
    assert one["gini_pcr__slope"] == pytest.approx(0.001) and one["share_gap_signed__slope"] == pytest.approx(
        1.4
    )


def test_ranks_and_table2(tables):
    ranks = tables.tables["paper_ranks"].set_index(["compat", "metric", "statistic", "algorithm"])
    assert ranks.loc[("none", "accuracy", "level", "PredPol"), "share_best"] == 1.0
    assert ranks.loc[("none", "accuracy", "level", "ShortTermKDE"), "share_worst"] == 1.0
    assert ranks.loc[("none", "accuracy", "slope", "LongTermKDE"), "share_worsening"] == 1.0
    assert ranks.loc[("none", "gini_pcr", "slope", "PredPol"), "share_worsening"] == 1.0
    # PredPol's share gap 1 + r against 2 and 4: best in every scenario; ShortTermKDE's flat Ginis are the
    # slowest trend (ties share the rank: the three police Ginis are flat)
    assert ranks.loc[("none", "share_gap", "level", "PredPol"), "share_best"] == 1.0
    assert ranks.loc[("none", "gini_police", "abs_slope", "ShortTermKDE"), "share_best"] == 1.0
    t2 = tables.tables["paper_table2"].set_index(["compat", "metric", "algorithm_b"])
    assert t2.loc[("none", "Accuracy", "LongTermKDE"), "avg_diff"] == pytest.approx(0.1)
    assert t2.loc[("none", "Accuracy", "ShortTermKDE"), "avg_diff"] == pytest.approx(0.2)
    run_factor = np.mean([1 + 0.01 * k for k in range(RUNS)])
    expected = 1.2 * run_factor - 2.0  # PredPol's gap at r = 0 and 0.4 averages 1.2 (× its run factor)
    assert t2.loc[("none", "RacialFairnessGap_avgPolShare", "LongTermKDE"), "avg_diff"] == pytest.approx(
        expected
    )
    assert t2.loc[("none", "RacialFairnessGap_avgPolShare", "LongTermKDE"), "scenarios"] == 8


def test_table_a1_percent_differences_and_anova(tables):
    a1 = tables.tables["paper_table_a1"].set_index(["compat", "metric", "algorithm_a", "algorithm_b"])
    acc = a1.loc[("none", "Accuracy", "PredPol", "KDE_LongTerm")]
    assert acc["mean_pct_diff"] == pytest.approx(25.0) and acc["n"] == 8 * RUNS
    assert acc["ci_low_pct"] == pytest.approx(25.0)  # no spread: the interval is the value
    share = a1.loc[("none", "RacialFairnessGap_avgPolShare", "PredPol", "KDE_LongTerm")]
    # 100 (1 · (1 + r)(1 + 0.01 k) − 2) / 2 for run k, the same in the 4 settings of each r
    pct = {
        r: [50.0 * (1 + r) * (1 + 0.01 * k) - 100.0 for _ in range(4) for k in range(RUNS)] for r in (0, 0.4)
    }
    assert share["mean_pct_diff"] == pytest.approx(np.mean(pct[0] + pct[0.4]))
    f = stats.f_oneway(pct[0], pct[0.4])
    assert share["anova_f"] == pytest.approx(f.statistic) and share["anova_p"] == pytest.approx(f.pvalue)
    # the PCR Ginis all rise 0.001 a day: equal absolute trends, a difference of 0 for every pair
    trend = a1.xs(("none", "NeighborhoodFairness_pcrGini_absTrend"), level=["compat", "metric"])
    assert trend["mean_pct_diff"].abs().max() < 1e-6


def test_table_a2_chi_square_and_dominance(tables):
    a2 = tables.tables["paper_table_a2"].set_index(["compat", "metric"])
    # PredPol wins accuracy at every r: one winning algorithm, no test
    assert np.isnan(a2.loc[("none", "Accuracy"), "chi2"])
    dom = tables.tables["paper_dominance"]
    acc = dom[(dom.compat == "none") & (dom.metric == "Accuracy")].set_index(["report_prob", "algorithm"])
    assert acc.loc[(0.0, "PredPol"), "p_best"] == 1.0 and acc.loc[(0.4, "KDE_ShortTerm"), "p_best"] == 0.0


def test_silhouette_known_answer():
    pts = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0]])
    b = (5.0 + math.sqrt(26.0)) / 2
    assert silhouette(pts, np.array(["a", "a", "b", "b"])) == pytest.approx((b - 1.0) / b)
    # a point alone in its cluster counts 0; one cluster or as many clusters as points: undefined
    three = silhouette(pts[:3], np.array(["a", "a", "b"]))
    s0 = (5.0 - 1.0) / 5.0
    s1 = (math.sqrt(26.0) - 1.0) / math.sqrt(26.0)
    assert three == pytest.approx((s0 + s1 + 0.0) / 3)
    assert np.isnan(silhouette(pts, np.array(["a"] * 4))) and np.isnan(
        silhouette(pts, np.array(list("abcd")))
    )


def test_overpoliced_ranking(tables):
    top = tables.tables["paper_overpoliced"]
    first = top[(top["rank"] == 1) & (top.compat == "none")]
    # PredPol sends everyone to A (share 1, crime share 1/4): gap 0.75; the long-term KDE splits B and C
    assert set(first[first.algorithm == "PredPol"].area_id) == {"A"}
    assert first[first.algorithm == "PredPol"].gap.iloc[0] == pytest.approx(0.75)
    assert set(first[first.algorithm == "LongTermKDE"].area_id) <= {"B", "C"}
    freq = tables.tables["paper_overpoliced_top"]
    pp = freq[(freq.compat == "none") & (freq.algorithm == "PredPol") & (freq.case == "AGG")]
    assert pp.iloc[0].area_id == "A" and pp.iloc[0].scenarios_in_top == 4  # all N × r scenarios of AGG


def test_single_mode_run_folder(tmp_path):
    folder = _write(tmp_path, compat_modes=("none",))
    pr = load_paper_runs(folder)
    assert pr.by == [] and "compat" not in pr.params
    t = paper_tables(folder)
    assert "compat" not in t.tables["paper_table2"] and len(t.tables["paper_table2"]) == 10


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from fairpatrol.config import load_preset
    from fairpatrol.results import write_study

    out = tmp_path_factory.mktemp("run") / "out"
    write_study(load_preset("baltimore-agg", days=4, runs=2), out)
    return out


def test_analyze_paper_on_a_run_and_a_sweep(small_run, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from fairpatrol.cli import app
    from fairpatrol.sweep import load_sweep, run_sweep

    runner = CliRunner()
    res = runner.invoke(app, ["analyze", str(small_run), "--paper"])
    assert res.exit_code == 0, res.output
    assert "Table 2 of the study" in res.output
    t2 = pd.read_csv(small_run / "analysis" / "paper_table2.csv")
    # independent recomputation: mean over the 4 settings of the difference of the run-mean levels
    m = pd.read_parquet(small_run / "metrics.parquet")
    lv = m.groupby(["scenario", "algorithm"])["accuracy"].mean().unstack()
    want = float((lv["PredPol"] - lv["LongTermKDE"]).mean())
    got = t2[(t2.metric == "Accuracy") & (t2.algorithm_b == "LongTermKDE")].avg_diff.iloc[0]
    assert got == pytest.approx(want)
    # without --paper a run directory is refused in one line, as before
    res = runner.invoke(app, ["analyze", str(small_run)])
    assert res.exit_code == 2 and "not a sweep directory" in res.output
    spec = tmp_path / "s.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "base": "baltimore-agg",
                "fixed": {"days": 4, "runs": 2},
                "grid": {"report_probs": [0.0, 0.2, 0.4]},
            }
        )
    )
    run_sweep(load_sweep(spec), tmp_path / "sw", inline=True)
    res = runner.invoke(app, ["analyze", str(tmp_path / "sw"), "--paper", "--quiet"])
    assert res.exit_code == 0, res.output
    names = {p.stem for p in (tmp_path / "sw" / "analysis").glob("paper_*.csv")}
    assert {
        "paper_table2",
        "paper_table_a1",
        "paper_table_a2",
        "paper_table_a3",
        "paper_overpoliced_top",
    } <= names
    a1 = pd.read_csv(tmp_path / "sw" / "analysis" / "paper_table_a1.csv")
    # 3 r × 2 N settings × 2 runs paired (a run whose B value is 0 has no % difference and is left out)
    assert a1.anova_f.notna().all() and a1.n.max() == 3 * 2 * 2 and a1.n.min() >= 10
