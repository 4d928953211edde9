"""`fairpatrol run`: simulate a study and write its results directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import ProgressBar


def run(
    scenario: Annotated[Path | None, typer.Argument(help="scenario YAML file")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="results directory")] = Path("results"),
    preset: Annotated[str | None, typer.Option(help="built-in study: baltimore-agg, chicago-theft")] = None,
    days: Annotated[int | None, typer.Option(help="override the horizon (days)")] = None,
    runs: Annotated[int | None, typer.Option(help="override the number of runs")] = None,
    seed: Annotated[int | None, typer.Option(help="override the seed")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing results directory")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or table")] = False,
) -> None:
    """Run a study (every algorithm × officers × reporting cell, all runs) and write tidy results."""
    _run(scenario, out, preset, days, runs, seed, overwrite, quiet)


def _run(
    scenario: Path | None,
    out: Path,
    preset: str | None,
    days: int | None,
    runs: int | None,
    seed: int | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    from rich.console import Console

    from fairpatrol.atomic import check_output_dir
    from fairpatrol.config import load_preset, load_scenario
    from fairpatrol.errors import ConfigError
    from fairpatrol.results import headline_table, summary_frame, write_results
    from fairpatrol.sim.budget import check_memory
    from fairpatrol.sim.study import load_study_incidents, prepare_study, run_study

    if (scenario is None) == (preset is None):
        raise ConfigError("give either a scenario file or --preset NAME", field="scenario")
    overrides = {"days": days, "runs": runs, "seed": seed}
    config = load_preset(preset, **overrides) if preset else load_scenario(scenario, **overrides)
    check_output_dir(out, overwrite=overwrite)  # before any work: never discover it after the simulation
    incidents = load_study_incidents(config)
    data = prepare_study(config, incidents)
    check_memory(config, data, source=str(scenario) if scenario else f"preset {preset}")
    total = len(config.algorithms) * config.days
    with ProgressBar(f"{config.name}: {len(config.algorithms)} algorithms", "days", total, quiet) as bar:
        result = run_study(config, incidents=incidents, data=data, progress=bar.advance)
    path = write_results(result, out, overwrite=overwrite)
    if not quiet:
        from rich.table import Table

        table = Table(
            title=f"{config.name}: mean over {config.runs} runs of the daily value ± 95 % interval",
            title_justify="left",
        )
        wide = headline_table(summary_frame(result))
        for col in wide.columns:
            table.add_column(col)
        for row in wide.itertuples(index=False):
            table.add_row(*[str(v) for v in row])
        out_console = Console(width=max(Console().width, 132))
        out_console.print(table)
        from fairpatrol.results import remedy_effects_frame, remedy_verdicts

        for line in remedy_verdicts(remedy_effects_frame(result)):
            out_console.print(line, highlight=False)
        g1, g2 = result.group_pair
        out_console.print(f"gaps compare {g1} and {g2} areas; {result.seconds:.1f} s simulated")
    typer.echo(f"results written to {path}")
