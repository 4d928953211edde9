"""Plotly charts of a report (docs/report.md): time series with trend lines, bars with intervals,
accuracy–fairness scatter, over-policed areas, crime concentration, fitted parameters, calibration,
explanations, sweep and grid-evaluation curves. Maps are inline SVG (:mod:`fairpatrol.report.svgmap`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from fairpatrol.data import Areas
from fairpatrol.metrics import trend_slope
from fairpatrol.report.style import GROUP_COLORS, base_layout, colors_for, esc, facets

#: Above this many areas, per-area scatter points are left out of figures (the binned means remain).
MANY_POINTS = 3000

# -- time series ---------------------------------------------------------------------------------


def interval_band(
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    color: str,
    opacity: float,
    group: str,
    digits: int | None = None,
) -> go.Scatter:
    """A filled band between ``lo`` and ``hi`` (a 95 % interval) under a line of the same legend group."""
    y = np.concatenate([hi, lo[::-1]])
    if np.issubdtype(np.asarray(x).dtype, np.datetime64) or np.asarray(x).dtype == object:
        x = np.array([str(np.datetime64(v, "D")) for v in x], dtype=object)  # dates as 'YYYY-MM-DD'
    return go.Scatter(
        x=np.concatenate([x, x[::-1]]),
        y=compact(y) if digits is None else np.round(y, digits),
        fill="toself",
        fillcolor=color,
        opacity=opacity,
        line=dict(width=0),
        hoverinfo="skip",
        showlegend=False,
        legendgroup=group,
    )


def _trend(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End points of the least-squares line of y on the day index."""
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return np.array([]), np.array([])
    slope = float(trend_slope(y))
    idx = np.arange(len(y), dtype=float)
    intercept = float(np.mean(y[ok]) - slope * np.mean(idx[ok]))
    ends = np.array([0, len(y) - 1])
    return x[ends], intercept + slope * ends


def daily_x(dates: np.ndarray) -> dict:
    """The x of a daily series as a start and a one-day step (``x0``, ``dx`` in ms): no date strings."""
    first = np.datetime64(dates[0], "D")
    return {"x0": str(first), "dx": 86_400_000}


def even_x(x: np.ndarray) -> dict:
    """``x0``/``dx`` for evenly spaced numbers (no array in the page), else ``x``."""
    x = np.asarray(x, dtype=float)
    if x.size > 2 and np.allclose(np.diff(x), x[1] - x[0]):
        return {"x0": float(x[0]), "dx": float(x[1] - x[0])}
    return {"x": x}


def daily_band(dates: np.ndarray, lo: np.ndarray, hi: np.ndarray, color: str, group: str) -> list[go.Scatter]:
    """A band between two daily series: the lower edge, then the upper edge filled down to it."""
    edge = dict(mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=group)
    return [
        go.Scatter(**daily_x(dates), y=compact(lo), **edge),
        go.Scatter(**daily_x(dates), y=compact(hi), fill="tonexty", fillcolor=color, opacity=0.18, **edge),
    ]


def compact(y: np.ndarray, digits: int = 4) -> np.ndarray:
    """Values rounded to ``digits`` significant digits and sent as float32 (half the bytes in a report)."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(np.isfinite(y) & (y != 0), np.floor(np.log10(np.abs(y))), 0)
        factor = 10.0 ** (digits - 1 - mag)
        out = np.where(np.isfinite(y), np.round(y * factor) / factor, np.nan)
    return out.astype(np.float32)


def series_figure(
    series: dict[tuple[str, str, str], np.ndarray],
    dates: np.ndarray,
    scenarios: list[tuple[str, str]],
    algorithms: list[str],
    lines: list[tuple[str, str]],
    y_title: str,
    percent: bool = False,
) -> go.Figure:
    """Daily values (mean over runs) with least-squares trend lines; one panel per scenario.

    ``series[(scenario, algorithm, line)]`` is the daily series; ``lines`` are (key, label) pairs drawn
    per algorithm (solid, dotted, ...). Clicking an algorithm in the legend toggles all its lines.
    """
    rows, cols = facets(len(scenarios))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(label) for _, label in scenarios],
        shared_xaxes=True,
        shared_yaxes=True,
        vertical_spacing=0.12 / max(rows, 1) + 0.04,
        horizontal_spacing=0.04,
    )
    color = colors_for(algorithms)
    dashes = ["solid", "dot", "dash", "dashdot"]
    scale = 100.0 if percent else 1.0
    fmt = ".3f" if percent else ".3g"
    for i, (scen, _) in enumerate(scenarios):
        r, c = i // cols + 1, i % cols + 1
        for alg in algorithms:
            for j, (key, label) in enumerate(lines):
                y = series.get((scen, alg, key))
                if y is None:
                    continue
                name = esc(alg if len(lines) == 1 else f"{alg} · {label}")
                fig.add_trace(
                    go.Scatter(
                        **daily_x(dates),
                        y=compact(y * scale),
                        mode="lines",
                        name=name,
                        legendgroup=esc(alg),
                        showlegend=i == 0,
                        line=dict(color=color[alg], width=1.2, dash=dashes[j % len(dashes)]),
                        opacity=0.55,
                        hovertemplate=f"{name}<br>%{{x|%Y-%m-%d}}: %{{y:{fmt}}}<extra></extra>",
                    ),
                    row=r,
                    col=c,
                )
                tx, ty = _trend(dates, y * scale)
                if len(tx):
                    fig.add_trace(
                        go.Scatter(
                            x=tx,
                            y=ty,
                            mode="lines",
                            name=f"{name} trend",
                            legendgroup=esc(alg),
                            showlegend=False,
                            line=dict(color=color[alg], width=3, dash=dashes[j % len(dashes)]),
                            hovertemplate=f"{name} trend: %{{y:{fmt}}}<extra></extra>",
                        ),
                        row=r,
                        col=c,
                    )
    fig.update_yaxes(title_text=esc(y_title), col=1)
    base_layout(fig, 120 + rows * 260)
    fig.update_layout(margin=dict(t=100))
    return fig


# -- bars, scatter -------------------------------------------------------------------------------
def interval_bars(
    table,  # DataFrame: scenario, algorithm, metric, mean, ci_low, ci_high
    metrics: list[tuple[str, str, float]],
    scenarios: list[tuple[str, str]],
    algorithms: list[str],
) -> go.Figure:
    """Grouped bars (algorithms) per scenario, one panel per metric, with 95 % interval whiskers.

    ``metrics`` are (name, axis title, scale) triples; values are multiplied by ``scale`` for display.
    """
    fig = make_subplots(
        rows=len(metrics),
        cols=1,
        subplot_titles=[esc(t) for _, t, _ in metrics],
        vertical_spacing=0.35 / len(metrics),
    )
    color = colors_for(algorithms)
    labels = [esc(label) for _, label in scenarios]
    for i, (metric, _title, scale) in enumerate(metrics, start=1):
        tm = table[table["metric"] == metric]
        for alg in algorithms:
            ta = tm[tm["algorithm"] == alg].set_index("scenario").reindex([s for s, _ in scenarios])
            mean = ta["mean"].to_numpy() * scale
            lo = ta["ci_low"].to_numpy() * scale
            hi = ta["ci_high"].to_numpy() * scale
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=mean,
                    name=esc(alg),
                    legendgroup=esc(alg),
                    showlegend=i == 1,
                    marker_color=color[alg],
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=hi - mean,
                        arrayminus=mean - lo,
                        thickness=1.2,
                        width=3,
                    ),
                    customdata=np.stack([lo, hi], axis=-1),
                    hovertemplate=f"{esc(alg)}<br>%{{x}}<br>%{{y:.3g}} "
                    "(95 % interval %{customdata[0]:.3g} to %{customdata[1]:.3g})<extra></extra>",
                ),
                row=i,
                col=1,
            )
    base_layout(fig, 90 + 230 * len(metrics), barmode="group")
    fig.update_xaxes(tickfont=dict(size=10))
    return fig


def tradeoff_scatter(points, fairness: list[tuple[str, str, float]], algorithms: list[str]) -> go.Figure:
    """Accuracy (y) against each fairness metric (x): colour = algorithm, size = officers, symbol = crime.

    ``points``: DataFrame with scenario label, algorithm, n_officers, crime, accuracy + ci and, per fairness
    metric m, columns m, m_low, m_high.
    """
    rows, cols = facets(len(fairness))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(t) for _, t, _ in fairness],
        vertical_spacing=0.14,
        horizontal_spacing=0.08,
        shared_yaxes=True,
    )
    color = colors_for(algorithms)
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "star"]
    crimes = list(dict.fromkeys(points["crime"]))
    n = points["n_officers"].astype(float)
    size = 9 + 14 * (np.sqrt(n) - np.sqrt(n.min())) / max(np.sqrt(n.max()) - np.sqrt(n.min()), 1e-9)
    for i, (metric, title, scale) in enumerate(fairness):
        r, c = i // cols + 1, i % cols + 1
        for alg in algorithms:
            for ci, crime in enumerate(crimes):
                sel = ((points["algorithm"] == alg) & (points["crime"] == crime)).to_numpy()
                if not sel.any():
                    continue
                p = points[sel]
                x = p[metric].to_numpy() * scale
                y = p["accuracy"].to_numpy() * 100
                name = esc(alg if len(crimes) == 1 else f"{alg} · {crime}")
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=y,
                        mode="markers",
                        name=name,
                        legendgroup=esc(alg),
                        showlegend=i == 0,
                        marker=dict(
                            color=color[alg],
                            size=size[sel],
                            symbol=symbols[ci % len(symbols)],
                            line=dict(color="white", width=1),
                        ),
                        error_x=dict(
                            type="data",
                            symmetric=False,
                            array=p[f"{metric}_high"] * scale - x,
                            arrayminus=x - p[f"{metric}_low"] * scale,
                            thickness=1,
                            width=2,
                        ),
                        error_y=dict(
                            type="data",
                            symmetric=False,
                            array=p["accuracy_high"] * 100 - y,
                            arrayminus=y - p["accuracy_low"] * 100,
                            thickness=1,
                            width=2,
                        ),
                        text=[esc(s) for s in p["label"]],
                        hovertemplate=f"{name}<br>%{{text}}<br>{esc(title)}: %{{x:.3g}}<br>"
                        "accuracy: %{y:.1f} %<extra></extra>",
                    ),
                    row=r,
                    col=c,
                )
        fig.update_xaxes(title_text=esc(title), row=r, col=c, title_font=dict(size=11))
    fig.update_yaxes(title_text="coverage accuracy (%)", col=1)
    base_layout(fig, 100 + rows * 320)
    return fig


def overpoliced_bars(table, algorithms: list[str], total_label: str) -> go.Figure:
    """Horizontal stacked bars: how often each area was among the top-3 over-policed, per algorithm."""
    fig = go.Figure()
    color = colors_for(algorithms)
    names = [esc(n) for n in table["name"]][::-1]
    for alg in algorithms:
        if alg not in table.columns:
            continue
        fig.add_trace(
            go.Bar(
                y=names,
                x=table[alg].to_numpy()[::-1],
                orientation="h",
                name=esc(alg),
                marker_color=color[alg],
                hovertemplate=f"{esc(alg)}<br>%{{y}}: %{{x}} runs<extra></extra>",
            )
        )
    base_layout(fig, 120 + 26 * len(table), barmode="stack")
    fig.update_xaxes(title_text=esc(total_label))
    fig.update_yaxes(automargin=True, tickfont=dict(size=11))
    return fig


def concentration_figure(
    curves: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]], later_label: str
) -> go.Figure:
    """Share of crime in the top k % of areas, for each look-back window (solid) and the share of the
    next period's crime in those same areas (dotted)."""
    fig = go.Figure()
    for i, (label, x, own, hit) in enumerate(curves):
        color = sample_colorscale("Viridis", [i / max(len(curves) - 1, 1) * 0.9])[0]
        fig.add_trace(
            go.Scatter(
                **even_x(x),
                y=compact(own * 100),
                mode="lines",
                name=esc(label),
                legendgroup=esc(label),
                line=dict(color=color, width=2),
                hovertemplate=f"{esc(label)}<br>top %{{x:.0f}} % of areas: "
                "%{y:.1f} % of its crime<extra></extra>",
            )
        )
        if hit is not None:
            fig.add_trace(
                go.Scatter(
                    **even_x(x),
                    y=compact(hit * 100),
                    mode="lines",
                    name=esc(f"{label}: {later_label}"),
                    legendgroup=esc(label),
                    showlegend=False,
                    line=dict(color=color, width=1.5, dash="dot"),
                    hovertemplate=f"{esc(label)}<br>top %{{x:.0f}} % of areas: %{{y:.1f}} % of "
                    f"{esc(later_label)}<extra></extra>",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="equal spread",
            line=dict(color="#999", width=1, dash="dash"),
            hoverinfo="skip",
        )
    )
    base_layout(fig, 430)
    fig.update_xaxes(title_text="top k % of areas (ranked by crime in the look-back window)", range=[0, 100])
    fig.update_yaxes(title_text="share of crime (%)", range=[0, 100])
    return fig


def parameter_series(
    series: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]],
    dates: np.ndarray,
    scenarios: list[tuple[str, str]],
    params: list[tuple[str, str]],
) -> go.Figure:
    """Fitted parameters over time (mean over runs, band = min..max over runs), one panel per parameter."""
    fig = make_subplots(
        rows=len(params),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[esc(t) for _, t in params],
        vertical_spacing=0.12,
    )
    color = colors_for([s for s, _ in scenarios])
    for i, (key, _) in enumerate(params, start=1):
        for scen, label in scenarios:
            got = series.get((scen, key))
            if got is None:
                continue
            mean, lo, hi = got
            for band in daily_band(dates, lo, hi, color[scen], esc(scen)):
                fig.add_trace(band, row=i, col=1)
            fig.add_trace(
                go.Scatter(
                    **daily_x(dates),
                    y=compact(mean),
                    mode="lines",
                    name=esc(label),
                    legendgroup=esc(scen),
                    showlegend=i == 1,
                    line=dict(color=color[scen], width=1.5),
                    hovertemplate=f"{esc(label)}<br>%{{x|%Y-%m-%d}}: %{{y:.4g}}<extra></extra>",
                ),
                row=i,
                col=1,
            )
    base_layout(fig, 120 + 240 * len(params))
    fig.update_layout(margin=dict(t=110))
    return fig


def calibration_scatter(areas: Areas, cals, observed_label: str) -> go.Figure:
    """Per area: forecast total over the horizon (x) vs observed total (y), one panel per algorithm, with
    the mean of each tenth of the areas (ranked by forecast) as a line."""
    rows, cols = facets(len(cals), 3)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(c.algorithm) for c in cals],
        horizontal_spacing=0.06,
        vertical_spacing=0.14,
        shared_yaxes=True,
    )
    g1, g2 = areas.group_pair
    groups = areas.groups
    top = max(max(float(np.max(c.predicted)), float(np.max(c.observed))) for c in cals) * 1.05 or 1.0
    for i, cal in enumerate(cals):
        r, c = i // cols + 1, i % cols + 1
        names = np.array([esc(n) for n in areas.names], dtype=object)
        for k, (g, label) in enumerate(((g1, g1), (g2, g2), (None, "other"))):
            sel = np.isin(groups, [g1, g2], invert=True) if g is None else groups == g
            if not sel.any() or areas.n > MANY_POINTS:
                continue
            fig.add_trace(
                go.Scatter(
                    x=compact(cal.predicted[sel], 3),
                    y=compact(cal.observed[sel], 4),
                    mode="markers",
                    name=esc(label),
                    legendgroup=esc(label),
                    showlegend=i == 0,
                    marker=dict(color=GROUP_COLORS[k], size=6, opacity=0.7),
                    hovertext=list(names[sel]),
                    hovertemplate=f"<b>%{{hovertext}}</b> ({esc(label)})<br>forecast %{{x}}<br>"
                    f"{esc(observed_label)} %{{y}}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        bins = cal.bins(10)
        fig.add_trace(
            go.Scatter(
                x=np.round(bins["predicted"], 3),
                y=np.round(bins["observed"], 3),
                mode="lines+markers",
                name="mean of each tenth of the areas",
                legendgroup="bins",
                showlegend=i == 0,
                line=dict(color="black", width=1.5),
                marker=dict(size=5, color="black"),
                hovertemplate="forecast %{x:.2f} → outcome %{y:.2f} (mean per area)<extra></extra>",
            ),
            row=r,
            col=c,
        )
        fig.add_trace(
            go.Scatter(
                x=[0, top],
                y=[0, top],
                mode="lines",
                line=dict(color="#999", dash="dash", width=1),
                name="forecast = outcome",
                showlegend=i == 0,
                hoverinfo="skip",
            ),
            row=r,
            col=c,
        )
        fig.update_xaxes(title_text="forecast (expected incidents)", row=r, col=c, title_font=dict(size=11))
    fig.update_yaxes(title_text=esc(observed_label), col=1)
    base_layout(fig, 110 + rows * 380)
    return fig


def calibration_series(dates: np.ndarray, cals, observed_label: str, window: int = 7) -> go.Figure:
    """City-wide daily totals, rolling ``window``-day means: forecast vs observed vs learned."""
    fig = go.Figure()
    color = colors_for([c.algorithm for c in cals])

    def roll(v: np.ndarray) -> np.ndarray:
        k = min(window, len(v))
        return np.convolve(v, np.ones(k) / k, mode="valid") if k > 0 else v

    x = dates[min(window, len(dates)) - 1 :]
    fig.add_trace(
        go.Scatter(
            **daily_x(x),
            y=compact(roll(cals[0].daily_observed)),
            mode="lines",
            name=esc(observed_label),
            line=dict(color="black", width=2.5),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1f}<extra>observed</extra>",
        )
    )
    for cal in cals:
        fig.add_trace(
            go.Scatter(
                **daily_x(x),
                y=compact(roll(cal.daily_predicted)),
                mode="lines",
                name=esc(f"{cal.algorithm} forecast"),
                legendgroup=esc(cal.algorithm),
                line=dict(color=color[cal.algorithm], width=1.8),
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1f}<extra>" + esc(cal.algorithm) + "</extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                **daily_x(x),
                y=compact(roll(cal.daily_learned)),
                mode="lines",
                name=esc(f"{cal.algorithm} learned"),
                legendgroup=esc(cal.algorithm),
                line=dict(color=color[cal.algorithm], width=1.2, dash="dot"),
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1f}<extra>" + esc(cal.algorithm) + " learned</extra>",
            )
        )
    base_layout(fig, 420)
    fig.update_yaxes(title_text=f"incidents per day ({window}-day mean)", rangemode="tozero")
    return fig


def explanation_bars(explanations, names: dict[str, str]) -> go.Figure:
    """Stacked parts of the forecast of each algorithm's top areas on the explained day."""
    rows = len(explanations)
    fig = make_subplots(
        rows=rows,
        cols=1,
        subplot_titles=[esc(e.algorithm) for e in explanations],
        vertical_spacing=0.3 / max(rows, 1),
    )
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    labels = list(dict.fromkeys(label for e in explanations for label in e.part_labels.values()))
    shown: set[str] = set()
    for i, ex in enumerate(explanations, start=1):
        areas = [esc(names.get(a.area_id, a.area_id)) for a in ex.areas][::-1]
        for part, plabel in ex.part_labels.items():
            fig.add_trace(
                go.Bar(
                    y=areas,
                    x=[round(a.parts.get(part, 0.0), 5) for a in ex.areas][::-1],
                    orientation="h",
                    name=esc(plabel),
                    legendgroup=esc(plabel),
                    showlegend=plabel not in shown,
                    marker_color=palette[labels.index(plabel) % len(palette)],
                    hovertemplate=f"%{{y}}<br>{esc(plabel)}: %{{x:.3f}}<extra></extra>",
                ),
                row=i,
                col=1,
            )
            shown.add(plabel)
        fig.update_xaxes(title_text="expected incidents that day", row=i, col=1, title_font=dict(size=11))
    base_layout(fig, 90 + rows * 230, barmode="stack")
    fig.update_yaxes(automargin=True, tickfont=dict(size=11))
    return fig


# -- sweeps ---------------------------------------------------------------------------------------------
def parameter_effect(
    frames: dict[str, Any],
    metrics: list[tuple[str, str, float]],
    algorithms: list[str],
    param: str,
    numeric: bool,
) -> go.Figure:
    """Mean level (95 % interval) of each metric against a swept parameter, one line per algorithm."""
    rows, cols = facets(len(metrics))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(t) for _, t, _ in metrics],
        vertical_spacing=0.12,
        horizontal_spacing=0.08,
    )
    color = colors_for(algorithms)
    for i, (metric, _title, scale) in enumerate(metrics):
        r, c = i // cols + 1, i % cols + 1
        frame = frames[metric]
        for alg in algorithms:
            f = frame[frame["algorithm"] == alg]
            if f.empty:
                continue
            x = f["value"].astype(float) if numeric else [esc(v) for v in f["value"]]
            y = f["mean"].to_numpy() * scale
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=esc(alg),
                    legendgroup=esc(alg),
                    showlegend=i == 0,
                    line=dict(color=color[alg]),
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=f["ci_high"].to_numpy() * scale - y,
                        arrayminus=y - f["ci_low"].to_numpy() * scale,
                        thickness=1,
                        width=3,
                    ),
                    hovertemplate=f"{esc(alg)}<br>{esc(param)} = %{{x}}<br>%{{y:.3g}}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        fig.update_xaxes(title_text=esc(param), row=r, col=c, title_font=dict(size=11))
    base_layout(fig, 100 + rows * 300)
    return fig


def dominance_curves(table, metrics: list[tuple[str, str]], algorithms: list[str], param: str) -> go.Figure:
    """Probability that each algorithm is best at each value of ``param`` (Wilson 95 % band)."""
    present = [(m, t) for m, t in metrics if (table["metric"] == m).any()]
    rows, cols = facets(len(present))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(t) for _, t in present],
        vertical_spacing=0.12,
        horizontal_spacing=0.08,
        shared_yaxes=True,
    )
    color = colors_for(algorithms)
    for i, (metric, _) in enumerate(present):
        r, c = i // cols + 1, i % cols + 1
        tm = table[table["metric"] == metric]
        for alg in algorithms:
            f = tm[tm["algorithm"] == alg].sort_values("value")
            if f.empty:
                continue
            x = f["value"].to_numpy()
            fig.add_trace(
                interval_band(x, f["ci_low"].to_numpy(), f["ci_high"].to_numpy(), color[alg], 0.15, esc(alg)),
                row=r,
                col=c,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=f["p_best"].to_numpy(),
                    mode="lines+markers",
                    name=esc(alg),
                    legendgroup=esc(alg),
                    showlegend=i == 0,
                    line=dict(color=color[alg]),
                    hovertemplate=f"{esc(alg)}<br>{esc(param)} = %{{x}}: best in %{{y:.0%}}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        fig.update_xaxes(title_text=esc(param), row=r, col=c, title_font=dict(size=11))
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    base_layout(fig, 100 + rows * 280)
    return fig


# -- grid evaluation ------------------------------------------------------------------------------------
def coverage_curves(summary, curves, models: list[str], group_pair: tuple[str, str]) -> go.Figure:
    """Metrics against coverage (share of cells selected), mean over days with a 95 % interval band.

    ``curves`` are (metric, groups or None for both groups of ``group_pair``, title, scale) tuples.
    """
    rows, cols = facets(len(curves))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(c[2]) for c in curves],
        vertical_spacing=0.1,
        horizontal_spacing=0.08,
        shared_xaxes=True,
    )
    color = colors_for(models)
    for i, (metric, groups, _, scale) in enumerate(curves):
        r, c = i // cols + 1, i % cols + 1
        for k, group in enumerate(groups or group_pair):
            for m in models:
                f = summary[
                    (summary["metric"] == metric) & (summary["group"] == group) & (summary["model"] == m)
                ]
                f = f.dropna(subset=["coverage"]).sort_values("coverage")
                if f.empty:
                    continue
                x = (f["coverage"] * 100).round(2).to_numpy()
                y, lo, hi = (f[col].to_numpy() * scale for col in ("mean", "ci_low", "ci_high"))
                fig.add_trace(
                    interval_band(x, lo, hi, color[m], 0.12, esc(m), digits=5),
                    row=r,
                    col=c,
                )
                label = m if group in ("overall", "between") else f"{m} · {group}"
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=np.round(y, 5),
                        mode="lines",
                        name=esc(m),
                        legendgroup=esc(m),
                        showlegend=i == 0 and k == 0,
                        line=dict(color=color[m], width=1.8, dash="solid" if k == 0 else "dot"),
                        hovertemplate=f"{esc(label)}<br>top %{{x}} % of cells: %{{y:.3g}}<extra></extra>",
                    ),
                    row=r,
                    col=c,
                )
        if r == rows:
            fig.update_xaxes(title_text="cells selected (%)", row=r, col=c, title_font=dict(size=11))
    base_layout(fig, 100 + rows * 270)
    return fig
