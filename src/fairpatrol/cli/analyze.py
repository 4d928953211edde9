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
    paper: Annotated[
        bool,
        typer.Option(
            "--paper",
            help="also the Baltimore study's own tables (Table 2, Appendix A and B, top-3 over-policed "
            "areas; docs/paper-fidelity.md), per compat mode; works on a run directory too",
        ),
    ] = False,
) -> None:
    """Compare algorithms over a sweep: a short verdict per measure (every statistic in DIR/analysis)."""
    _analyze(directory, quiet, full, paper)


def _analyze(directory: Path, quiet: bool, full: bool = False, paper: bool = False) -> None:
    from fairpatrol.atomic import check_output_dir
    from fairpatrol.integrity import check_results_files, reading_results
    from fairpatrol.results.sweep import MANIFEST, read_manifest
    from fairpatrol.sweep.analyze import analyze_sweep, paper_only, write_analysis
    from fairpatrol.sweep.display import print_analysis, print_paper, print_verdicts

    run_dir = paper and not (directory / MANIFEST).is_file() and (directory / "metrics.parquet").is_file()
    if not run_dir:
        read_manifest(directory)  # a sweep directory, or one line saying why not
    check_results_files(directory)
    check_output_dir(directory / "analysis", overwrite=True, advice="move it out of the results directory")
    with reading_results(directory):
        analysis = paper_only(directory) if run_dir else analyze_sweep(directory, paper=paper)
    path = write_analysis(analysis, directory)
    if not quiet:
        if not run_dir:
            (print_analysis if full else print_verdicts)(analysis)
        if paper:
            print_paper(analysis)
    typer.echo(f"analysis tables written to {path}")
