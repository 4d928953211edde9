"""`fairpatrol run`: simulate a study and write its results directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import ProgressBar, preset_or_file


def run(
    scenario: Annotated[Path | None, typer.Argument(help="scenario YAML file")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="results directory")] = Path("results"),
    preset: Annotated[
        str | None, typer.Option(help="a built-in study by name (fairpatrol datasets lists them)")
    ] = None,
    days: Annotated[int | None, typer.Option(help="override the horizon (days)")] = None,
    runs: Annotated[int | None, typer.Option(help="override the number of runs")] = None,
    seed: Annotated[int | None, typer.Option(help="override the seed")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing results directory")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or table")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="processes simulating the algorithms side by side (default: as processors and memory "
            "allow; 1: one after the other); the results are the same",
        ),
    ] = None,
) -> None:
    """Run a study (every algorithm × officers × reporting cell, all runs) and write tidy results."""
    _run(scenario, out, preset, days, runs, seed, overwrite, quiet, workers)


def _run(
    scenario: Path | None,
    out: Path,
    preset: str | None,
    days: int | None,
    runs: int | None,
    seed: int | None,
    overwrite: bool,
    quiet: bool,
    workers: int | None = None,
) -> None:
    from rich.console import Console

    from fairpatrol.atomic import check_output_dir
    from fairpatrol.config import load_preset, load_scenario
    from fairpatrol.errors import ConfigError
    from fairpatrol.results.run import write_study
    from fairpatrol.sim.budget import check_memory
    from fairpatrol.sim.study import load_study_data, prepare_study

    if (scenario is None) == (preset is None):
        raise ConfigError("give either a scenario file or --preset NAME", field="scenario")
    overrides = {"days": days, "runs": runs, "seed": seed}
    config = preset_or_file(preset, scenario, load_preset, load_scenario, **overrides)
    check_output_dir(out, overwrite=overwrite)  # before any work: never discover it after the simulation
    inputs = load_study_data(config)
    data = prepare_study(config, inputs.incidents)
    check_memory(config, data, source=str(scenario) if scenario else f"preset {preset}")
    warn = Console(stderr=True)  # warnings are shown even with --quiet
    for line in warnings_of(inputs, config):
        warn.print(f"[yellow]warning:[/yellow] {line}", highlight=False, soft_wrap=True)
    total = len(config.algorithms) * config.days
    with ProgressBar(f"{config.name}: {len(config.algorithms)} algorithms", "days", total, quiet) as bar:
        result = write_study(
            config,
            out,
            overwrite=overwrite,
            incidents=inputs,
            data=data,
            progress=bar.advance,
            workers=workers,
        )
    path = out
    if not quiet:
        print_tables(result)
    typer.echo(f"results written to {path}")


def print_tables(result) -> None:
    """The run's headline tables for people: fairness against need, the published study's metrics (with
    their caveats), every group's patrols against its crime, remedy effects and PredPol fit problems."""
    from rich.console import Console

    from fairpatrol.metrics.registry import STUDY_CAVEATS, headline, metric
    from fairpatrol.results.tables import (
        fit_problem_counts,
        remedy_effects_frame,
        remedy_verdicts,
        summary_frame,
    )

    console = Console(width=max(Console().width, 132))
    summary = summary_frame(result)
    runs = len(result.metric_runs)
    spread = "± 95 % interval over runs" if runs > 1 else "one run: no interval"
    need = [m for m in headline() if metric(m).family == "need"] + ["accuracy"]
    study = [m for m in headline() if metric(m).family == "study" and m != "accuracy"]
    g1, g2 = result.group_pair
    console.print(
        headline_rich(
            summary,
            need,
            f"Fairness against need over the {result.data.n_days} days ({spread}; first group {g1}, "
            f"second {g2})",
        )
    )
    console.print(
        headline_rich(summary, study, f"The published study's metrics (daily values, mean; {spread})")
    )
    console.print(f"  caveats: {STUDY_CAVEATS}", highlight=False, style="dim")
    for line in remedy_verdicts(remedy_effects_frame(result), result.group_pair):
        console.print(line, highlight=False)
    console.print(group_table(result), highlight=False)
    for name, p in fit_problem_counts(result).items():
        if p["not_converged"] or p["at_bound"]:
            console.print(
                f"{name}: {p['not_converged']:,} of {p['fits']:,} daily fits did not converge, "
                f"{p['at_bound']:,} ended on a parameter bound (shown in the report)",
                highlight=False,
            )
    console.print(f"{result.seconds:.1f} s simulated")


def headline_rich(summary, metrics: list[str], title: str):
    """A rich table of :func:`fairpatrol.results.tables.headline_table` with scenarios in words."""
    from rich.table import Table

    from fairpatrol.results.tables import headline_table

    wide = headline_table(summary, metrics)
    labels = scenario_words(summary)
    table = Table(title=title, title_justify="left")
    for col in wide.columns:
        table.add_column(col, justify="left" if col in ("scenario", "algorithm") else "right")
    for row in wide.itertuples(index=False):
        values = list(row)
        values[0] = labels.get(values[0], values[0])
        table.add_row(*[str(v) for v in values])
    return table


def scenario_words(summary) -> dict[str, str]:
    """Scenario name -> '40 officers, 40 % reported' (with the remedy when there is one)."""
    from fairpatrol.formatting import number

    out = {}
    for r in summary.drop_duplicates("scenario").to_dict("records"):
        rep = str(r.get("reporting", r["report_prob"]))
        try:
            rate = float(rep)
        except ValueError:
            words = f"reporting {rep}"
        else:
            words = "none reported" if rate == 0 else f"{number(100 * rate, 3)} % reported"
        text = f"{int(r['n_officers'])} officers, {words}"
        remedy = r.get("remedy", "none")
        out[r["scenario"]] = text if remedy in (None, "none") or remedy != remedy else f"{text}, {remedy}"
    return out


def warnings_of(inputs, config) -> list[str]:
    """What the user should know before trusting the results: dropped incidents, accepted short history,
    repaired or overlapping areas."""
    from fairpatrol.sim.study import short_history

    lines = [f"{inputs.incidents.cleaning.source}: {w}" for w in inputs.incidents.cleaning.warnings]
    lines += [f"areas: {note}" for note in inputs.areas.notes]
    for name, s in short_history(config, inputs.incidents).items():
        lines.append(
            f"{name} trains on {s['available_days']} days of history instead of its {s['window_days']}-day "
            "window (data.allow_short_history)"
        )
    return lines


def group_table(result):
    """Every group's share of the patrols against its share of the true crimes over the horizon, and the
    ratio of the two (1 = patrols in proportion to crime), per scenario and algorithm; mean over runs."""
    from rich.table import Table

    from fairpatrol.formatting import natural_key, percent, times
    from fairpatrol.results.tables import group_summary_frame

    s = group_summary_frame(result)
    s = s[
        (s["statistic"] == "horizon")
        & s["metric"].isin(["patrol_share", "true_crime_share", "disparity_ratio"])
    ]
    wide = s.pivot_table(
        index=["scenario", "algorithm"], columns=["group", "metric"], values="mean", sort=False
    )
    order = {a: i for i, a in enumerate(result.config.algorithms)}
    wide = wide.iloc[
        sorted(
            range(len(wide)), key=lambda i: (natural_key(wide.index[i][0]), order.get(wide.index[i][1], 0))
        )
    ]
    table = Table(
        title="Each group: share of patrols vs share of true crimes (patrols ÷ crime; 1 = in proportion)",
        title_justify="left",
    )
    labels = scenario_words(s)
    table.add_column("scenario")
    table.add_column("algorithm")
    groups = result.areas.group_names
    for g in groups:
        table.add_column(g, justify="right")
    for (scen, alg), row in wide.iterrows():
        cells = []
        for g in groups:
            ratio = row.get((g, "disparity_ratio"))
            ratio_text = "no crime" if ratio is None or ratio != ratio else times(ratio, long=False)
            patrols, crime = percent(row[(g, "patrol_share")]), percent(row[(g, "true_crime_share")])
            cells.append(f"{patrols} vs {crime} ({ratio_text})")
        table.add_row(labels.get(scen, scen), alg, *cells)
    return table
