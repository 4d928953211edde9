"""`fairpatrol audit`: score an agency's real targets against the crimes that followed and write a results
directory (docs/audit.md, "The command")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import ProgressBar, preset_or_file


def audit(
    config: Annotated[Path | None, typer.Argument(help="audit config YAML file")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="results directory")] = Path("audit"),
    example: Annotated[
        str | None, typer.Option(help="a bundled example instead (fairpatrol datasets lists them)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="override the bootstrap seed")] = None,
    replicates: Annotated[int | None, typer.Option(help="override the bootstrap replicates")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing results directory")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or table")] = False,
) -> None:
    """Audit a real deployment: its hot spots, patrol zones or patrol logs against the recorded crimes.
    Writes tidy tables, the notes and the config; `fairpatrol report DIR` makes the audit datasheet."""
    from rich.console import Console

    from fairpatrol.atomic import check_output_dir
    from fairpatrol.audit.study import ALL_STEPS, load_audit_inputs, run_configured_audit, write_audit

    cfg = load(config, example, seed=seed, replicates=replicates)
    check_output_dir(out, overwrite=overwrite)  # before any work: never discover it after the audit
    # transient: a bad input found after the bar appeared leaves its one error line and nothing else
    with ProgressBar(f"audit {cfg.name}", "steps", len(ALL_STEPS), quiet, transient=True) as bar:

        def progress(i: int, step: str) -> None:
            bar.update(completed=i, description=step)

        inputs = load_audit_inputs(cfg, progress)
        result = run_configured_audit(cfg, inputs, progress)
        path = write_audit(result, cfg, inputs, out, overwrite=overwrite, example=example)
        bar.update(completed=len(ALL_STEPS), description="written")
    warn = Console(stderr=True)  # warnings are shown even with --quiet
    for line in input_warnings(inputs):
        warn.print(f"[yellow]warning:[/yellow] {line}", highlight=False, soft_wrap=True)
    if not quiet:
        print_summary(result)
    typer.echo(f"results written to {path}; the datasheet: fairpatrol report {path}")


def load(config: Path | None, example: str | None, *, seed: int | None = None, replicates: int | None = None):
    """The audit config of a file or a bundled example, with the command line's overrides."""
    from fairpatrol.audit.config import MAX_REPLICATES, load_audit_config, load_audit_example
    from fairpatrol.errors import ConfigError

    if (config is None) == (example is None):
        raise ConfigError("give either an audit config file or --example NAME", field="config")
    if replicates is not None and not 0 <= replicates <= MAX_REPLICATES:
        raise ConfigError(f"must be between 0 and {MAX_REPLICATES:,}, got {replicates}", field="--replicates")
    if seed is not None and seed < 0:
        raise ConfigError(f"must be 0 or more, got {seed}", field="--seed")
    cfg = preset_or_file(example, config, load_audit_example, load_audit_config, seed=seed)
    if replicates is not None:
        boot = cfg.bootstrap.model_copy(update={"replicates": replicates})
        cfg = cfg.model_copy(update={"bootstrap": boot})
    return cfg


def input_warnings(inputs) -> list[str]:
    """What the user should know before trusting the audit: incidents dropped, areas repaired."""
    log = inputs.incidents.cleaning
    lines = [f"{log.source}: {w}" for w in log.warnings]
    lines += [f"areas: {note}" for note in inputs.areas.notes]
    return lines


def print_summary(result) -> None:
    """The audit's headline for people: accuracy overall and by crime-type group, each group's share of the
    targeting against its share of crime and of residents, and every note."""
    from rich.console import Console
    from rich.table import Table

    from fairpatrol.report.audit import headline_rows, period_words

    console = Console(width=max(Console().width, 110))
    head = headline_rows(result)
    console.print(f"[bold]{period_words(result)}[/bold]", highlight=False)
    for title, rows in (
        ("Accuracy (95 % intervals over days)", head.accuracy),
        ("Who was targeted, by group of areas", head.groups),
        ("Who was targeted, by group of residents", head.residents),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for i, col in enumerate(rows[0]):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row.values())
        console.print(table)
    console.print(f"[bold]Notes[/bold] ({len(result.notes)}: counted, repaired or left out)", highlight=False)
    for message in result.notes["message"]:
        console.print(f"  • {message}", highlight=False, soft_wrap=True)


def check_audit(out, cfg, inputs) -> None:
    """`fairpatrol check` of an audit config, after the areas and incidents: the targets, the residents and
    the audited period, with every note reading them produced; a problem with the period is raised."""
    import pandas as pd

    from fairpatrol.audit.crimes import prepare_crimes
    from fairpatrol.audit.period import audit_scope
    from fairpatrol.errors import DataError

    t = inputs.targets
    rec = t.records
    label = cfg.targets.label or t.kind
    first, last = rec["begin"].min(), rec["end"].max()
    span = (
        "always in force (no validity dates)"
        if rec["begin"].isna().all() and rec["end"].isna().all()
        else f"{'open' if rec['begin'].isna().any() else f'{first:%Y-%m-%d}'} to "
        f"{'open' if rec['end'].isna().any() else f'{last - pd.Timedelta(seconds=1):%Y-%m-%d}'}"
    )
    out.print(f"\n[bold]Targets[/bold]: {label} ({t.kind}) from {t.source}")
    out.print(f"  {t.n_targets:,} distinct targets, {len(rec):,} records; {span}")
    if t.kind != "effort":
        out.print(f"  {t.coverage.target_m2.sum() / 1e6:,.2f} km² inside the areas")
    if t.has_scores:
        out.print(f"  scores: {t.score_kind}")
    _notes(out, t.notes)
    pop = inputs.population
    if pop is not None:
        groups = ", ".join(pop.labels) or "totals only"
        out.print(f"\n[bold]Residents[/bold]: {pop.total.sum():,.0f} ({groups}) from {pop.source}")
        _notes(out, pop.notes)
    settings = cfg.settings()
    crimes = prepare_crimes(inputs.incidents, inputs.areas, crime_types=settings.crime_types)
    out.print(f"\n[bold]Incidents located[/bold]: {crimes.n:,}")
    _notes(out, crimes.notes)
    try:
        scope = audit_scope(settings, t, crimes)
    except DataError as err:
        if err.source == "audit settings":
            raise cfg.setting_error(err) from None
        raise
    out.print(
        f"\n[bold]Period[/bold]: {scope.start:%Y-%m-%d} to {scope.end:%Y-%m-%d}: {len(scope.dates):,} of "
        f"{scope.days_in_period:,} days audited, {scope.units.n:,} target-periods, "
        f"{scope.crimes.size:,} incidents"
    )
    _notes(out, scope.notes)


def _notes(out, notes) -> None:
    for note in notes:
        out.print(f"  [yellow]note:[/yellow] {note.message}")
