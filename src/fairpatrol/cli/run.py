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
    from fairpatrol.sim.study import load_study_data, prepare_study, run_study

    if (scenario is None) == (preset is None):
        raise ConfigError("give either a scenario file or --preset NAME", field="scenario")
    overrides = {"days": days, "runs": runs, "seed": seed}
    config = load_preset(preset, **overrides) if preset else load_scenario(scenario, **overrides)
    check_output_dir(out, overwrite=overwrite)  # before any work: never discover it after the simulation
    inputs = load_study_data(config)
    data = prepare_study(config, inputs.incidents)
    check_memory(config, data, source=str(scenario) if scenario else f"preset {preset}")
    warn = Console(stderr=True)  # warnings are shown even with --quiet
    for line in warnings_of(inputs, config):
        warn.print(f"[yellow]warning:[/yellow] {line}", highlight=False, soft_wrap=True)
    total = len(config.algorithms) * config.days
    with ProgressBar(f"{config.name}: {len(config.algorithms)} algorithms", "days", total, quiet) as bar:
        result = run_study(config, incidents=inputs, data=data, progress=bar.advance)
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
        out_console.print(group_table(result), highlight=False)
        from fairpatrol.results import fit_problem_counts

        for name, p in fit_problem_counts(result).items():
            if p["not_converged"] or p["at_bound"]:
                out_console.print(
                    f"{name}: {p['not_converged']:,} of {p['fits']:,} daily fits did not converge, "
                    f"{p['at_bound']:,} ended on a parameter bound (shown in the report)",
                    highlight=False,
                )
        out_console.print(f"gaps compare {g1} and {g2} areas; {result.seconds:.1f} s simulated")
    typer.echo(f"results written to {path}")


def warnings_of(inputs, config) -> list[str]:
    """What the user should know before trusting the results: dropped incidents, accepted short history,
    repaired or overlapping areas."""
    from fairpatrol.sim.study import short_history

    lines = [f"{inputs.incidents.report.source}: {w}" for w in inputs.incidents.report.warnings]
    lines += [f"areas: {note}" for note in inputs.areas.notes]
    for name, s in short_history(config, inputs.incidents).items():
        lines.append(
            f"{name} trains on {s['available_days']} days of history instead of its {s['window_days']}-day "
            "window (data.allow_short_history)"
        )
    return lines


def group_table(result):
    """Every group's share of officers (and of true crimes) per scenario and algorithm, mean over runs."""
    from rich.table import Table

    from fairpatrol.results import group_summary_frame

    s = group_summary_frame(result)
    s = s[(s["statistic"] == "level") & s["metric"].isin(["police_share", "crime_share"])]
    wide = s.pivot_table(
        index=["scenario", "algorithm"], columns=["group", "metric"], values="mean", sort=False
    )
    table = Table(
        title="share of officers in each group's areas (share of true crimes)", title_justify="left"
    )
    table.add_column("scenario")
    table.add_column("algorithm")
    groups = result.areas.group_names
    for g in groups:
        table.add_column(g)
    for (scen, alg), row in wide.iterrows():
        cells = [f"{row[(g, 'police_share')]:.1%} ({row[(g, 'crime_share')]:.1%})" for g in groups]
        table.add_row(scen, alg, *cells)
    return table
