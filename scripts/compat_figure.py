"""Figure and table for docs/paper-compat.md: the baltimore-agg study with and without the published code's
quirks, switch by switch.

    python scripts/compat_figure.py [--days 300] [--runs 20]

Runs the default preset, each compat switch alone, and all switches together (the `semsar2026` preset),
and writes docs/img/compat-vs-default.png plus docs/img/compat-vs-default.csv (level of each headline metric,
mean over cells and runs, per algorithm and setting).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from fairpatrol.config import CompatConfig, load_preset
from fairpatrol.metrics import HEADLINE
from fairpatrol.sim.study import load_study_incidents, run_study

ROOT = Path(__file__).resolve().parents[1]


def levels(res) -> pd.DataFrame:
    rows = []
    for ci, cell in enumerate(res.cells):
        for name in HEADLINE:
            rows.append(
                {
                    "algorithm": cell.algorithm,
                    "scenario": cell.scenario,
                    "metric": name,
                    "value": float(np.nanmean(res.metrics[name][ci])),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=300)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--plot-only", action="store_true", help="redraw from docs/img/compat-vs-default.csv")
    args = ap.parse_args()
    out = ROOT / "docs" / "img"
    base = load_preset("baltimore-agg", days=args.days, runs=args.runs)
    if args.plot_only:
        summary = pd.read_csv(out / "compat-vs-default.csv", index_col=["setting", "algorithm"])
        plot(
            summary, list(dict.fromkeys(summary.index.get_level_values(0))), list(base.algorithms), args, out
        )
        return
    inc = load_study_incidents(base)
    settings = {"default": {}}
    for switch in CompatConfig.model_fields:
        settings[switch] = {switch: True}
    settings["all (semsar2026)"] = dict.fromkeys(CompatConfig.model_fields, True)
    frames = []
    for label, switches in settings.items():
        cfg = base.model_copy(update={"compat": CompatConfig(**switches)})
        res = run_study(cfg, incidents=inc)
        frames.append(levels(res).assign(setting=label))
        print(f"{label}: {res.seconds:.1f} s", flush=True)
    table = pd.concat(frames)
    summary = table.groupby(["setting", "algorithm", "metric"], sort=False)["value"].mean().unstack("metric")
    out.mkdir(parents=True, exist_ok=True)
    summary.round(5).to_csv(out / "compat-vs-default.csv")
    print(summary.round(4).to_string())
    plot(summary, list(settings), list(base.algorithms), args, out)


def plot(
    summary: pd.DataFrame, labels: list[str], algs: list[str], args: argparse.Namespace, out: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(4.2 * len(HEADLINE), 4.2), sharey=False)
    width = 0.8 / len(labels)
    for ax, metric in zip(axes, HEADLINE, strict=True):
        for k, label in enumerate(labels):
            vals = [summary.loc[(label, a), metric] for a in algs]
            ax.bar(np.arange(len(algs)) + k * width, vals, width, label=label)
        ax.set_xticks(np.arange(len(algs)) + 0.4 - width / 2, algs, rotation=20)
        ax.set_title(metric)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(
        f"baltimore-agg, {args.days} days, {args.runs} runs: default vs the published code's quirks "
        "(mean over the 4 N × r cells)"
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(out / "compat-vs-default.png", dpi=110)
    print(f"wrote {out / 'compat-vs-default.png'}")


if __name__ == "__main__":
    main()
