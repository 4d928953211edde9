"""`fairpatrol check`: validate a scenario (or an evaluation or audit config) and show its data before a long
run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fairpatrol.cli._common import fail


def check(
    config: Annotated[Path | None, typer.Argument(help="scenario, evaluation or audit YAML file")] = None,
    preset: Annotated[
        str | None, typer.Option(help="a built-in study, evaluation or audit example instead")
    ] = None,
    map_png: Annotated[
        Path | None, typer.Option("--map", help="save a map of the areas and their groups (PNG)")
    ] = None,
) -> None:
    """Validate every input of a study and print what a user needs before a long run: areas and groups,
    the CRS used and why, incidents read/kept/snapped/dropped, date range, history per model, crimes per
    day. Exits 2 with one line naming the file and field when an input is wrong."""
    from fairpatrol.errors import FairpatrolError

    try:
        _check(config, preset, map_png)
    except FairpatrolError as err:
        fail(str(err))


def _load(path: Path | None, preset: str | None) -> Any:
    """A ScenarioConfig, an EvaluateConfig (an evaluation has a grid/coverage, a study officers/runs) or an
    AuditConfig (it has targets)."""
    from fairpatrol.audit.config import (
        example_names,
        is_audit_document,
        load_audit_config,
        load_audit_example,
    )
    from fairpatrol.config import load_preset, preset_names, read_yaml_file
    from fairpatrol.errors import ConfigError
    from fairpatrol.grid.config import evaluate_preset_names, load_evaluate, load_evaluate_preset

    if (path is None) == (preset is None):
        raise ConfigError("give either a scenario file or --preset NAME", field="config")
    if preset is not None:
        if preset in evaluate_preset_names():
            return load_evaluate_preset(preset)
        if preset in example_names():
            return load_audit_example(preset)
        if preset not in preset_names():
            known = ", ".join([*preset_names(), *evaluate_preset_names(), *example_names()])
            raise ConfigError(f"unknown preset {preset!r} (known: {known})", field="preset")
        return load_preset(preset)
    from fairpatrol.config import load_scenario

    assert path is not None  # exactly one of the two, checked above
    raw = read_yaml_file(path, "config")
    if is_audit_document(raw):
        return load_audit_config(path)
    is_study = isinstance(raw, dict) and ({"officers", "runs", "report_probs"} & set(raw))
    return load_scenario(path) if is_study or not isinstance(raw, dict) else load_evaluate(path)


def _check(path: Path | None, preset: str | None, map_png: Path | None) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from fairpatrol.config import ScenarioConfig
    from fairpatrol.data import load_data
    from fairpatrol.errors import FairpatrolError

    cfg = _load(path, preset)
    if map_png is not None:
        _check_png_path(map_png)
    from fairpatrol.audit.config import AuditConfig

    audit = isinstance(cfg, AuditConfig)
    study = isinstance(cfg, ScenarioConfig)
    out = Console(width=max(Console().width, 110), highlight=False)
    what = "audit" if audit else ("study" if study else "grid evaluation")
    out.print(f"[bold]{cfg.name}[/bold]: {what} settings are valid")

    if audit:
        from fairpatrol.audit.study import load_audit_inputs
        from fairpatrol.cli.audit import check_audit

        audit_inputs = load_audit_inputs(cfg)
        show_data(out, audit_inputs.areas, audit_inputs.incidents, "areas")
        problem = None
        try:
            check_audit(out, cfg, audit_inputs)
        except FairpatrolError as err:
            problem = err
        _finish(out, audit_inputs.areas, map_png, problem)
        return

    inputs = load_data(cfg.data, cfg.base_dir)
    areas = inputs.areas
    if not study:
        from fairpatrol.grid.evaluate import evaluation_grid

        areas = evaluation_grid(cfg, areas)
    show_data(out, areas, inputs.incidents, "areas" if study else "cells")
    inc = inputs.incidents
    t = inc.frame["time"]

    start = pd.Timestamp(cfg.start)
    end = start + pd.Timedelta(days=cfg.days)
    horizon = inc.frame[(t >= start) & (t < end)]
    per_day = len(horizon) / cfg.days
    out.print(
        f"\n[bold]Period[/bold]: {start:%Y-%m-%d} + {cfg.days} days; {len(horizon):,} incidents, "
        f"{per_day:.1f} per day ({per_day / max(areas.n, 1):.2f} per area and day)"
    )
    available = int((start - t.min().normalize()).days)
    history = Table(
        "model", "training window", "history held", "status", title="History", title_justify="left"
    )
    problem = None
    for name in cfg.algorithms:
        window = getattr(cfg.model(name), "window_days", None)
        if window is None:
            history.add_row(name, "—", f"{available:,} days", "ok (learns nothing from incidents)")
            continue
        short = available < window
        status = "ok"
        if short:
            accepted = study and cfg.data.allow_short_history
            status = "short: accepted (data.allow_short_history)" if accepted else "[red]too short[/red]"
        history.add_row(name, f"{window:g} days", f"{max(available, 0):,} days", status)
    out.print(history)
    try:
        if study:
            from fairpatrol.sim.study import prepare_study

            prepare_study(cfg, inc)
        else:
            from fairpatrol.grid.evaluate import check_period

            check_period(cfg, inc.frame["time"])
    except FairpatrolError as err:
        problem = err
    _finish(out, areas, map_png, problem)


def show_data(out, areas, inc, what: str) -> None:
    """Print the areas (CRS, notes, groups) and the incidents (what cleaning kept and dropped, dates)."""
    from rich.table import Table

    out.print(f"\n[bold]Areas[/bold]: {areas.n:,} {what} of {areas.title}")
    out.print(f"  CRS: {areas.crs} — {areas.crs_reason or 'as bundled'}")
    for note in areas.notes:
        out.print(f"  [yellow]note:[/yellow] {note}")
    table = Table("group", "areas", "compared in two-group gaps", title="Groups", title_justify="left")
    for group, n in areas.group_counts().items():
        table.add_row(group, f"{n:,}", "yes" if group in areas.group_pair else "")
    out.print(table)
    out.print(f"  how the groups were defined: {areas.group_description or 'the label of each area'}")

    r = inc.cleaning
    out.print(f"\n[bold]Incidents[/bold]: {r.source} (layout {r.layout or 'bundled'})")
    rows = [
        ("read", r.rows_read),
        ("other crime types", r.type_filtered),
        ("bad dates", r.bad_dates),
        ("missing coordinates", r.nan_coordinates),
        ("duplicates", r.duplicates_dropped),
        ("outside every area (dropped)", r.outside_dropped),
        ("snapped to the nearest area", r.nearest_assigned),
        ("kept", r.kept),
    ]
    for label, n in rows:
        out.print(f"  {label:32s} {n:>10,}")
    for w in r.warnings:
        out.print(f"  [yellow]warning:[/yellow] {w}")
    t = inc.frame["time"]
    out.print(f"  times: {r.time_zone}; coordinates: {r.coordinates}")
    out.print(f"  dates: {t.min():%Y-%m-%d} to {t.max():%Y-%m-%d}")


def _finish(out, areas, map_png: Path | None, problem: Exception | None) -> None:
    """Save the map (when asked) and end with the first problem found, or 'ready'."""
    if map_png is not None:
        saved = _map(areas, map_png)
        out.print(f"\nmap of the areas and groups saved to {saved}")
    if problem is not None:
        raise problem
    out.print("\n[green]ready[/green]: every input checked")


def _check_png_path(path: Path) -> None:
    from fairpatrol.errors import ConfigError

    if path.suffix.lower() != ".png":
        raise ConfigError("the map is written as PNG: give a file name ending in .png", field="--map")
    if path.is_dir():
        raise ConfigError("is a directory; give a file name ending in .png", source=str(path), field="--map")
    if path.parent.exists() and not path.parent.is_dir():
        raise ConfigError("is not a folder", source=str(path.parent), field="--map")


def _map(areas, path: Path) -> Path:
    """Areas coloured by group, with a legend (matplotlib, no network)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from fairpatrol.report.style import group_colors

    gdf = areas.to_geodataframe()
    colors = group_colors(areas.group_names)
    fig, ax = plt.subplots(figsize=(7, 7))
    gdf.plot(ax=ax, color=[colors[g] for g in areas.groups], edgecolor="white", linewidth=0.4)
    ax.legend(
        handles=[Patch(color=colors[g], label=f"{g} ({n})") for g, n in areas.group_counts().items()],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )
    ax.set_title(f"{areas.title}: {areas.n} areas by group")
    path.parent.mkdir(parents=True, exist_ok=True)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
