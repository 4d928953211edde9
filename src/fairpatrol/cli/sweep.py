"""`fairpatrol sweep`: run every cell of a sweep, resumably, locally or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import ProgressBar, preset_or_file


def sweep(
    sweep_file: Annotated[Path | None, typer.Argument(help="sweep YAML file")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="sweep results directory")] = None,
    preset: Annotated[
        str | None, typer.Option(help="a built-in sweep by name (fairpatrol datasets lists them)")
    ] = None,
    days: Annotated[int | None, typer.Option(help="override the horizon (days) of every cell")] = None,
    runs: Annotated[int | None, typer.Option(help="override the number of runs of every cell")] = None,
    seed: Annotated[int | None, typer.Option(help="override the base seed")] = None,
    workers: Annotated[
        int | None, typer.Option(help="local worker processes (default: all cores; 0: in this process)")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="run on an existing Dask cluster (scheduler address, e.g. tcp://host:8786)"),
    ] = None,
    worker_timeout: Annotated[
        float,
        typer.Option(
            help="--cluster: give up when the cluster has had no worker for this many seconds", min=1
        ),
    ] = 120.0,
    overwrite: Annotated[bool, typer.Option(help="discard the results of another sweep in --out")] = False,
    list_cells: Annotated[bool, typer.Option("--list", help="print the cells and exit")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run every cell of a sweep (resumable: finished cells in --out are skipped) and write tidy results."""
    code = _sweep(
        sweep_file,
        out,
        preset,
        days,
        runs,
        seed,
        workers,
        cluster,
        worker_timeout,
        overwrite,
        list_cells,
        quiet,
    )
    raise typer.Exit(code)


def _sweep(
    sweep_file: Path | None,
    out: Path | None,
    preset: str | None,
    days: int | None,
    runs: int | None,
    seed: int | None,
    workers: int | None,
    cluster: str | None,
    worker_timeout: float,
    overwrite: bool,
    list_cells: bool,
    quiet: bool,
) -> int:
    from fairpatrol.errors import ConfigError
    from fairpatrol.results.sweep import check_sweep_dir
    from fairpatrol.sweep import load_sweep, load_sweep_preset, run_sweep

    if (sweep_file is None) == (preset is None):
        raise ConfigError("give either a sweep file or --preset NAME", field="sweep")
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers must be 0 or more, got {workers}", field="workers")
    if not list_cells:
        if out is None:
            raise ConfigError("--out DIR is required to run a sweep", field="out")
        check_sweep_dir(out, overwrite=overwrite)  # before the cells are planned and run
    overrides = {"days": days, "runs": runs, "seed": seed}
    plan = preset_or_file(preset, sweep_file, load_sweep_preset, load_sweep, **overrides)
    if list_cells:
        _print_cells(plan)
        return 0
    assert out is not None  # required without --list, checked above
    with ProgressBar(plan.spec.name, "cells", None, quiet) as bar:
        failed = 0

        def started(total: int, todo: int) -> None:
            if total > todo:
                bar.console.print(f"{out}: {total - todo} of {total} cells already finished, skipped")
            bar.update(total=todo)

        def advance(outcome) -> None:
            nonlocal failed
            if not outcome.ok:
                failed += 1
                bar.update(description=f"{plan.spec.name} ([red]{failed} failed[/red])")
            bar.advance()

        done = run_sweep(
            plan,
            out,
            workers=workers or None,
            inline=workers == 0,
            cluster=cluster,
            worker_timeout=worker_timeout,
            overwrite=overwrite,
            on_start=started,
            on_cell=advance,
        )
    where = {
        "cluster": f"Dask cluster {cluster} ({done.workers} workers)",
        "inline": "this process",
        "local": f"{done.workers} worker processes",
    }[done.backend]
    typer.echo(
        f"{plan.spec.name}: {done.total} cells, {done.skipped} already finished, "
        f"{done.succeeded} run now, {len(done.failed)} failed; {done.seconds:.1f} s on {where}"
    )
    for cid, error in done.failed.items():
        typer.echo(f"failed: {cid}: {error} (see {done.out / 'failures' / (cid + '.json')})", err=True)
    if done.interrupted:
        typer.echo("interrupted: re-run the same command to finish the remaining cells", err=True)
        return 130
    if done.failed:
        typer.echo("re-run the same command to retry the failed cells", err=True)
        return 1
    typer.echo(f"results written to {done.out}; next: fairpatrol analyze {done.out}")
    return 0


def _print_cells(plan) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{plan.spec.name}: {len(plan.cells)} cells", title_justify="left")
    table.add_column("cell")
    keys = sorted({k for c in plan.cells for k in c.overrides})
    for key in keys:
        table.add_column(key)
    table.add_column("seed")
    table.add_column("runs × days")
    for c in plan.cells:
        table.add_row(
            c.id,
            *[str(c.overrides.get(k, "")) for k in keys],
            str(c.config.seed),
            f"{c.config.runs} × {c.config.days}",
        )
    Console(width=max(Console().width, 132)).print(table)
