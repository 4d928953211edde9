"""The ``fairpatrol`` command line (typer + rich): one module per command, registered here.

Every command runs inside :func:`fairpatrol.cli._common.guarded` (one ``error:`` line per failure, a crash
log for bugs, ``--debug`` for the traceback), also when the app is driven by typer's ``CliRunner``.
Heavy modules are imported inside the commands, so ``fairpatrol --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fairpatrol.cli import analyze, audit, check, datasets, evaluate, report, run, sweep
from fairpatrol.cli._common import OPTIONS, guarded, log_dir

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Simulate and audit place-based predictive policing on real data.",
)


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help=f"show the Python traceback of an unexpected error (otherwise written to {log_dir()})",
        ),
    ] = False,
) -> None:
    """Simulate and audit place-based predictive policing on real data."""
    OPTIONS["debug"] = debug


#: The command modules, in the order ``--help`` lists them; each defines a function of its own name.
COMMANDS = (check, run, sweep, analyze, evaluate, audit, report, datasets)
for module in COMMANDS:
    name = module.__name__.rsplit(".", 1)[-1]
    app.command(name)(guarded(getattr(module, name)))

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
