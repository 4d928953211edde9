"""The table of docs/methods.md ("The headline on baltimore-agg"): the published study's headline metrics
next to the need-based ones, per scenario and algorithm, mean over runs with 95 % intervals; the two
baselines Uniform and PreviousCounts run alongside for reference; and which algorithm each metric calls
fairest in each scenario.

    python scripts/need_metrics_table.py [--runs 20] [--write]

Without ``--write`` the Markdown is printed; with it, the block between the ``need-table`` markers of
docs/methods.md is replaced.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from fairpatrol.config import load_preset
from fairpatrol.formatting import natural_key, with_interval
from fairpatrol.metrics.registry import metric, rank_score
from fairpatrol.results.tables import summary_frame
from fairpatrol.sim.study import run_study

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "methods.md"
STUDY = ("accuracy", "share_gap", "pcr_gap", "gini_police", "gini_pcr")
NEED = ("misallocated_share", "disparity_factor", "disparity_ratio_pair", "detection_ratio_pair")
SHORT = {
    "accuracy": "accuracy",
    "share_gap": "share gap",
    "pcr_gap": "PCR gap",
    "gini_police": "Gini officers",
    "gini_pcr": "Gini PCR",
    "misallocated_share": "out of proportion",
    "disparity_factor": "worst group ×",
    "disparity_ratio_pair": "per crime B ÷ W",
    "detection_ratio_pair": "detection B ÷ W",
}
BASELINES = ("Uniform", "PreviousCounts")
#: The study's PCR gap at other windows and smoothing constants (ranking rows only).
EPSILON = ("pcr_gap_day_eps10", "pcr_gap_day_eps100", "pcr_gap_horizon_eps1", "pcr_gap_horizon_eps100")
SHORT.update(
    {
        "pcr_gap_day_eps10": "PCR gap, ε × 10",
        "pcr_gap_day_eps100": "PCR gap, ε × 100",
        "pcr_gap_horizon_eps1": "PCR gap of the period",
        "pcr_gap_horizon_eps100": "PCR gap of the period, ε × 100",
    }
)


def tables(runs: int) -> tuple[str, str]:
    cfg = load_preset("baltimore-agg", runs=runs)
    algorithms = list(cfg.algorithms)
    cfg = load_preset("baltimore-agg", runs=runs, algorithms=[*algorithms, *BASELINES])
    summary = summary_frame(run_study(cfg))
    main = summary[summary["statistic"].isin(["level", "horizon"])].set_index(
        ["scenario", "algorithm", "metric"]
    )
    scenarios = sorted(summary["scenario"].unique(), key=natural_key)
    names = (*STUDY, *NEED)
    head = "| scenario | algorithm | " + " | ".join(SHORT[m] for m in names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for scen in scenarios:
        for alg in [*algorithms, *BASELINES]:
            cells = []
            for m in names:
                r = main.loc[(scen, alg, m)]
                cells.append(with_interval(r["mean"], r["ci_low"], r["ci_high"], metric(m).unit, style="pm"))
            lines.append(f"| {scen} | {alg} | " + " | ".join(cells) + " |")
    table = "\n".join(lines).replace("\u00a0", " ")
    # which algorithm (of the study's three) each metric calls best, per scenario
    ranks = ["| metric | " + " | ".join(scenarios) + " |", "|" + "---|" * (len(scenarios) + 1)]
    for m in (*names, *EPSILON):
        best = []
        for scen in scenarios:
            sub = main.loc[scen].reset_index()
            sub = sub[(sub["metric"] == m) & sub["algorithm"].isin(algorithms)]
            order = sub.assign(score=rank_score(m, sub["mean"].to_numpy())).sort_values("score")
            best.append(str(order["algorithm"].iloc[0]))
        ranks.append(f"| {SHORT[m]} | " + " | ".join(best) + " |")
    return table, "\n".join(ranks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="replace the table in docs/methods.md")
    args = parser.parse_args()
    table, ranks = tables(args.runs)
    block = (
        "<!-- need-table:start (written by scripts/need_metrics_table.py) -->\n"
        f"{table}\n\nBest of PredPol, ShortTermKDE and LongTermKDE on each metric (lowest; closest to 1 "
        f"for the ratios; highest accuracy):\n\n{ranks}\n<!-- need-table:end -->"
    )
    if not args.write:
        print(block)
        return
    text = DOC.read_text(encoding="utf-8")
    new, n = re.subn(r"<!-- need-table:start.*?<!-- need-table:end -->", lambda _: block, text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{DOC}: no need-table markers to replace")
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote the table into {DOC.relative_to(ROOT)} ({args.runs} runs)")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
