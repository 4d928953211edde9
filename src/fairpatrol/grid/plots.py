"""Figures of a grid evaluation (matplotlib, Agg backend): coverage curves, EMD distributions, a day's map."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairpatrol.grid.cells import Grid

#: Panels of the coverage figure: (metric, title, y label).
CURVES = (
    ("hit_rate", "Hit rate (city-wide top-k cells)", "share of crimes"),
    ("pai", "Predictive Accuracy Index", "hit rate / area share"),
    ("pf_benefit", "PF benefit mean |P − R| in G*", "benefit"),
    ("pf_maxmin", "PF Max-min |f1 − f2|", "difference"),
    ("pf_gini", "PF Gini |f1 − f2| / (f1 + f2)", "Gini"),
    ("precision", "RAF precision (G* cells with crime)", "precision"),
    ("precision_gap", "RAF precision gap", "difference"),
)
_STYLES = ("-", "--", ":", "-.")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _colours(models: list[str]) -> dict[str, str]:
    palette = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c"]
    return {m: palette[i % len(palette)] for i, m in enumerate(models)}


def coverage_curves(
    summary: pd.DataFrame, group_pair: tuple[str, str], path: str | Path, gini: str = "printed"
) -> None:
    """Metric vs coverage per model (colour) and group (line style): mean over days, band = 95 % CI.

    The band is the t-interval of the mean over days (``ci_low``–``ci_high`` of the summary).
    """
    plt = _pyplot()
    cov = summary[summary["coverage"].notna()]
    models = list(dict.fromkeys(cov["model"].astype(str)))
    colours = _colours(models)
    groups = [*group_pair, "overall", "between"]
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.8), constrained_layout=True)
    for ax, (metric, title, ylabel) in zip(axes.flat, CURVES, strict=False):
        sub = cov[cov["metric"] == metric]
        for model in models:
            for gi, group in enumerate(groups):
                line = sub[(sub["model"] == model) & (sub["group"] == group)].sort_values("coverage")
                if line.empty:
                    continue
                x = 100 * line["coverage"].to_numpy()
                style = _STYLES[gi % len(_STYLES)] if group in group_pair else "-"
                label = model if group not in group_pair else f"{model}, {group}"
                ax.plot(x, line["mean"], style, color=colours[model], lw=1.6, label=label)
                ax.fill_between(x, line["ci_low"], line["ci_high"], color=colours[model], alpha=0.15, lw=0)
        if metric == "pf_gini" and gini == "coefficient":
            title = "PF Gini coefficient |f1 − f2| / (2 (f1 + f2))"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("coverage (% of cells)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    legend_ax = axes.flat[-1]
    legend_ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat[:-1]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    legend_ax.legend(
        handles, labels, loc="center", fontsize=9, title="model, group (band: 95 % CI of the mean)"
    )
    fig.suptitle(
        f"Daily forecasts: mean over days by coverage; "
        f"groups {group_pair[0]} (solid) vs {group_pair[1]} (dashed)"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def emd_distributions(
    metrics: pd.DataFrame, group_pair: tuple[str, str], path: str | Path, kind: str = "spatial"
) -> None:
    """Box plots of the daily EMD per model, overall and per group: spatial (metres) or between the lists
    of cell values (``kind='values'``, the PF/RAF authors' code; no unit)."""
    plt = _pyplot()
    emd = metrics[metrics["metric"] == "emd"]
    models = list(dict.fromkeys(emd["model"].astype(str)))
    colours = _colours(models)
    groups = ["overall", *group_pair]
    fig, ax = plt.subplots(figsize=(3.2 + 2.2 * len(groups), 4.6), constrained_layout=True)
    width = 0.8 / max(len(models), 1)
    for mi, model in enumerate(models):
        data, pos = [], []
        for gi, group in enumerate(groups):
            v = emd[(emd["model"] == model) & (emd["group"] == group)]["value"].to_numpy(float)
            data.append(v[np.isfinite(v)])
            pos.append(gi - 0.4 + width * (mi + 0.5))
        box = ax.boxplot(
            data, positions=pos, widths=width * 0.9, patch_artist=True, showfliers=True, manage_ticks=False
        )
        for patch in box["boxes"]:
            patch.set_facecolor(colours[model])
            patch.set_alpha(0.6)
        ax.plot([], [], "s", color=colours[model], alpha=0.6, label=model)
    ax.set_xticks(range(len(groups)), groups)
    if kind == "values":
        ax.set_ylabel("1-D distance between the lists of cell shares")
        ax.set_title("Daily EMD of the cell values (not spatial)")
    else:
        ax.set_ylabel("EMD between predicted and observed maps (m)")
        ax.set_title("Daily spatial Earth Mover's Distance")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lattice(grid: Grid, values: np.ndarray) -> np.ndarray:
    out = np.full((grid.ny, grid.nx), np.nan)
    out[grid.frame["iy"].to_numpy(), grid.frame["ix"].to_numpy()] = values
    return out


def _outline(ax, geom, **kw) -> None:
    import shapely

    for poly in getattr(geom, "geoms", [geom]):
        if isinstance(poly, shapely.Polygon):
            for ring in [poly.exterior, *poly.interiors]:
                x, y = ring.xy
                ax.plot(x, y, **kw)


def day_map(
    grid: Grid, predictions: dict[str, np.ndarray], observed: np.ndarray, day: pd.Timestamp, path: str | Path
) -> None:
    """Maps of one day: each model's predicted share per cell and the observed crimes, with the outline
    of the first group's areas (e.g. the protected community areas) and the city."""
    import shapely

    plt = _pyplot()
    n = len(predictions) + 1
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 5.2), constrained_layout=True, squeeze=False)
    extent = (grid.x0, grid.x0 + grid.nx * grid.cell_size, grid.y0, grid.y0 + grid.ny * grid.cell_size)
    shares = {m: p / p.sum() if p.sum() > 0 else p for m, p in predictions.items()}
    vmax = max((float(np.max(s)) for s in shares.values()), default=1.0) or 1.0
    g1 = grid.group_pair[0]
    group_line = grid.group_outline(g1)
    city = shapely.union_all(grid.mask_geometry)
    panels = [(f"{m}: predicted share", s, "viridis", vmax) for m, s in shares.items()]
    panels.append(
        (f"observed crimes ({int(observed.sum())})", observed, "magma_r", max(float(observed.max()), 1.0))
    )
    for ax, (title, values, cmap, top) in zip(axes[0], panels, strict=True):
        im = ax.imshow(
            _lattice(grid, values),
            origin="lower",
            extent=extent,
            cmap=cmap,
            vmin=0,
            vmax=top,
            interpolation="nearest",
        )
        _outline(ax, city, color="0.5", lw=0.6)
        _outline(ax, group_line, color="red", lw=1.1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal")
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.suptitle(f"{grid.city}, {day:%Y-%m-%d}: forecasts vs observed; red line: {g1} areas")
    fig.savefig(path, dpi=110)
    plt.close(fig)
