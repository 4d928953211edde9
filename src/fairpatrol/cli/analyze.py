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
    full: Annotated[
        bool, typer.Option("--full", help="print every statistic (wins, paired differences, ANOVA, χ², …)")
    ] = False,
) -> None:
    """Compare algorithms over a sweep: a short verdict per measure (every statistic in DIR/analysis)."""
    _analyze(directory, quiet, full)


def _analyze(directory: Path, quiet: bool, full: bool = False) -> None:
    from fairpatrol.atomic import check_output_dir
    from fairpatrol.integrity import check_results_files
    from fairpatrol.results.sweep import read_manifest
    from fairpatrol.sweep.analyze import analyze_sweep, write_analysis
    from fairpatrol.sweep.display import print_analysis, print_verdicts

    read_manifest(directory)  # a sweep directory, or one line saying why not
    check_results_files(directory)
    check_output_dir(directory / "analysis", overwrite=True, advice="move it out of the sweep directory")
    analysis = analyze_sweep(directory)
    path = write_analysis(analysis, directory)
    if not quiet:
        (print_analysis if full else print_verdicts)(analysis)
    typer.echo(f"analysis tables written to {path}")
