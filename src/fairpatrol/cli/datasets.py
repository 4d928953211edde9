"""`fairpatrol datasets`: the bundled datasets and presets."""

from __future__ import annotations

import typer


def datasets() -> None:
    """List the bundled datasets and presets."""
    from fairpatrol.config import preset_names
    from fairpatrol.data import BUNDLED_INCIDENTS
    from fairpatrol.grid.config import grid_preset_names
    from fairpatrol.sweep.spec import sweep_preset_names

    for name, (city, desc) in BUNDLED_INCIDENTS.items():
        typer.echo(f"{name:24s} {city:10s} {desc}")
    typer.echo("run presets:      " + ", ".join(preset_names()))
    typer.echo("sweep presets:    " + ", ".join(sweep_preset_names()))
    typer.echo("evaluate presets: " + ", ".join(grid_preset_names()))
