"""`fairpatrol analyze`: compare algorithms over a finished sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairpatrol.cli._common import fail


def analyze(
    directory: Annotated[
        Path, typer.Argument(help="sweep results directory (written by `fairpatrol sweep`)")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="write the tables, print nothing")] = False,
) -> None:
    """Compare algorithms over a sweep: intervals, paired differences, wins, ANOVA, χ², correlations."""
    from fairpatrol.errors import FairpatrolError

    try:
        _analyze(directory, quiet)
    except FairpatrolError as err:
        fail(str(err))


def _analyze(directory: Path, quiet: bool) -> None:
    from fairpatrol.sweep.analyze import analyze_sweep, write_analysis
    from fairpatrol.sweep.display import print_analysis

    analysis = analyze_sweep(directory)
    path = write_analysis(analysis, directory)
    if not quiet:
        print_analysis(analysis)
    typer.echo(f"analysis tables written to {path}")
