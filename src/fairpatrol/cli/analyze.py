"""`fairpatrol analyze`: compare algorithms over a finished sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def analyze(
    directory: Annotated[
        Path, typer.Argument(help="sweep results directory (written by `fairpatrol sweep`)")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="write the tables, print nothing")] = False,
) -> None:
    """Compare algorithms over a sweep: intervals, paired differences, wins, ANOVA, χ², correlations."""
    _analyze(directory, quiet)


def _analyze(directory: Path, quiet: bool) -> None:
    from fairpatrol.atomic import check_output_dir
    from fairpatrol.integrity import check_results_files
    from fairpatrol.sweep.analyze import analyze_sweep, write_analysis
    from fairpatrol.sweep.display import print_analysis
    from fairpatrol.sweep.store import read_manifest

    read_manifest(directory)  # a sweep directory, or one line saying why not
    check_results_files(directory)
    check_output_dir(directory / "analysis", overwrite=True, advice="move it out of the sweep directory")
    analysis = analyze_sweep(directory)
    path = write_analysis(analysis, directory)
    if not quiet:
        print_analysis(analysis)
    typer.echo(f"analysis tables written to {path}")
