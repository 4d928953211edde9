"""Pieces shared by the command modules (a leaf module: it imports no command)."""

from __future__ import annotations

from typing import NoReturn

import typer


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with code 2 (a user-facing failure)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)
