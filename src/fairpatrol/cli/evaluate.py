"""`fairpatrol evaluate`: the rolling grid evaluation of the PF/RAF study (docs/grid.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import ProgressBar, preset_or_file

#: Coverage (fraction of cells) shown in the printed table.
TABLE_COVERAGE = 0.10


def evaluate(
    config: Annotated[Path | None, typer.Argument(help="evaluation YAML file (or use --preset)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="results directory")] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="a built-in evaluation by name (fairpatrol datasets lists them)"),
    ] = None,
    start: Annotated[str | None, typer.Option(help="first forecast day, YYYY-MM-DD")] = None,
    days: Annotated[int | None, typer.Option(help="number of daily forecasts")] = None,
    models: Annotated[str | None, typer.Option(help="comma-separated: NaiveKDE,TimeSpaceKDE,SEPP")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing results directory")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or table")] = False,
) -> None:
    """Forecast every day on a grid with a rolling 30-day window and measure prediction fairness,
    allocation fairness, spatial EMD, hit rate and PAI at coverage 1-30 %."""
    _evaluate(config, out, preset, start, days, models, overwrite, quiet)


def _evaluate(
    config_path: Path | None,
    out: Path | None,
    preset: str | None,
    start: str | None,
    days: int | None,
    models: str | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    from fairpatrol.atomic import check_output_dir
    from fairpatrol.errors import ConfigError
    from fairpatrol.grid.config import load_evaluate, load_evaluate_preset
    from fairpatrol.grid.evaluate import check_period, evaluate, evaluation_days, load_evaluation_data
    from fairpatrol.results.evaluation import write_evaluation

    if (config_path is None) == (preset is None):
        raise ConfigError("give either an evaluation config file or --preset NAME", field="config")
    if out is None:
        raise ConfigError("give the results directory with --out DIR", field="out")
    overrides = {"start": start, "days": days, "algorithms": models}
    cfg = preset_or_file(preset, config_path, load_evaluate_preset, load_evaluate, **overrides)
    check_output_dir(out, overwrite=overwrite)  # before any work: never discover it after the evaluation
    incidents = load_evaluation_data(cfg)
    check_period(cfg, incidents.incidents.frame["time"])  # before the progress bar: bad periods: one line
    n_days = len(evaluation_days(cfg, incidents.incidents.frame["time"])[0])
    total = len(cfg.algorithms) * n_days
    with ProgressBar(
        f"{cfg.name}: {len(cfg.algorithms)} models × {n_days} days", "forecasts", total, quiet
    ) as bar:
        result = evaluate(cfg, incidents=incidents, progress=bar.advance)
    path = write_evaluation(result, out, overwrite=overwrite)
    for note in result.info.get("warnings", []):
        typer.echo(f"warning: {note}", err=True)
    if not quiet:
        _print_table(result)
    typer.echo(f"results written to {path}")


def _print_table(result) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from fairpatrol.grid.evaluate import summarise

    s = summarise(result.metrics)
    k = float(result.coverages[np.argmin(np.abs(result.coverages - TABLE_COVERAGE))])
    g1, g2 = result.grid.group_pair
    columns = [
        ("hit_rate", "overall", "hit rate"),
        ("pai", "overall", "PAI"),
        ("pf_gini", "between", "PF Gini"),
        ("precision", g1, f"precision {g1}"),
        ("precision", g2, f"precision {g2}"),
        ("emd", "overall", "EMD (m)"),
    ]
    table = Table(
        title=f"{result.config.name}: mean over {len(result.dates)} days ± 95 % interval, "
        f"coverage {100 * k:g} %",
        title_justify="left",
    )
    table.add_column("model")
    for *_, label in columns:
        table.add_column(label, justify="right")
    for model in result.config.algorithms:
        cells = []
        for metric, group, _ in columns:
            sel = (s["model"] == model) & (s["metric"] == metric) & (s["group"] == group)
            sel &= s["coverage"].isna() if metric == "emd" else np.isclose(s["coverage"], k)
            row = s[sel].iloc[0]
            half = (row["ci_high"] - row["ci_low"]) / 2
            if metric == "emd":
                text = f"{row['mean']:.0f}" + (f" ±{half:.0f}" if np.isfinite(half) else "")
            else:
                text = f"{row['mean']:.3g}" + (f" ±{half:.1g}" if np.isfinite(half) else "")
            cells.append(text)
        table.add_row(model, *cells)
    console = Console(width=max(Console().width, 132))
    console.print(table)
    console.print(f"{result.grid.n} cells ({g1} vs {g2}); {result.seconds['total']:.1f} s")
