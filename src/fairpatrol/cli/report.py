"""`fairpatrol report`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import fail


def report(
    results: Annotated[Path, typer.Argument(help="results directory of fairpatrol run, sweep or evaluate")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default: DIR/report.html)")
    ] = None,
    dp_epsilon: Annotated[
        float | None,
        typer.Option("--dp-epsilon", help="privacy mode: Laplace noise on area counts, total budget ε"),
    ] = None,
    day: Annotated[
        str | None, typer.Option(help="day whose top areas are explained, YYYY-MM-DD (default: the last)")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(help="scenario of the maps, explanations and calibration (default: most officers)"),
    ] = None,
    run: Annotated[int | None, typer.Option(help="run replayed for explanations and calibration")] = None,
    cell: Annotated[str | None, typer.Option(help="sweep: report this finished cell as a run")] = None,
) -> None:
    """Write a self-contained HTML transparency report (works offline) and print its path."""
    from fairpatrol.atomic import check_output_file
    from fairpatrol.integrity import check_results_files, reading_results
    from fairpatrol.report import write_report
    from fairpatrol.report.render import GENERATOR
    from fairpatrol.results import directory_kind

    if dp_epsilon is not None and not (math.isfinite(dp_epsilon) and dp_epsilon > 0):
        fail(f"--dp-epsilon must be positive (and finite), got {dp_epsilon}")
    target = out if out is not None else results / "report.html"
    directory_kind(results)  # a results directory, or one line saying why not
    check_results_files(results)
    check_output_file(target, generator=GENERATOR)  # before any work: an existing file of the user's is kept
    with reading_results(results):
        written = write_report(
            results, target, day=day, scenario=scenario, run=run, cell=cell, dp_epsilon=dp_epsilon
        )
    typer.echo(f"report written to {written.path} ({written.bytes / 1e6:.1f} MB, {written.seconds:.1f} s)")
