"""The ``fairpatrol`` command line (typer + rich): one module per command, registered here.

Heavy modules are imported inside the commands, so ``fairpatrol --help`` stays fast.
"""

from __future__ import annotations

import sys

import typer

from fairpatrol.cli import analyze, check, datasets, evaluate, report, run, sweep

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate and audit place-based predictive policing on real data.",
)
#: The command modules, in the order ``--help`` lists them; each defines a function of its own name.
COMMANDS = (check, run, sweep, analyze, evaluate, report, datasets)
for module in COMMANDS:
    name = module.__name__.rsplit(".", 1)[-1]
    app.command(name)(getattr(module, name))

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
