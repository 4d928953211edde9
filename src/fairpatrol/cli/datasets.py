"""`fairpatrol datasets`: the bundled datasets and presets."""

from __future__ import annotations

import typer


def datasets() -> None:
    """List the bundled datasets and presets."""
    from fairpatrol.audit.config import example_names
    from fairpatrol.config import preset_names
    from fairpatrol.data import BUNDLED_INCIDENTS
    from fairpatrol.data.cities import registry
    from fairpatrol.grid.config import evaluate_preset_names
    from fairpatrol.sweep.spec import sweep_preset_names

    for name, (city, desc) in BUNDLED_INCIDENTS.items():
        typer.echo(f"{name:24s} {city:10s} {desc}")
    for pack in registry().values():
        rules = ", ".join(f"{r}{' (default)' if r == pack.groups.default else ''}" for r in pack.groups.rules)
        layouts = f"; recognised exports: {', '.join(pack.layouts)}" if pack.layouts else ""
        typer.echo(f"city {pack.name:19s} group rules: {rules}{layouts}")
    typer.echo("run presets:      " + ", ".join(preset_names()))
    typer.echo("sweep presets:    " + ", ".join(sweep_preset_names()))
    typer.echo("evaluate presets: " + ", ".join(evaluate_preset_names()))
    typer.echo("audit examples:   " + ", ".join(example_names()))
