"""Report on a ``fairpatrol evaluate`` directory: the grid framework of the PF/RAF study (docs/grid.md).

Layout (:mod:`fairpatrol.results.evaluation`): ``evaluate.yaml``, ``summary.csv`` (per model, metric, group
and coverage: mean over days and 95 % t-interval), ``metrics.parquet``, ``predictions.parquet`` (forecast and
observed incidents per model, day and cell), ``diagnostics.parquet`` (SEPP's θ, ω, σ per day) and
``areas.parquet`` (the grid squares with their groups, GeoParquet; ``cells.parquet`` in results written
before results carried their areas).

The headline numbers are read at a coverage of 10 % of the cells (the nearest evaluated level): hit rate
and PAI for accuracy; the prediction-fairness Gini |f₁ − f₂| / (f₁ + f₂) of the two groups' benefits
f = mean |P_c − R_c| over their top cells and the precision gap for fairness; the spatial Earth Mover's
Distance between forecast and observed maps, overall and per group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

import fairpatrol.report.figures as figures
import fairpatrol.report.svgmap as svgmap
from fairpatrol.report.page import data_uri, shown_path
from fairpatrol.report.sections import Figure, FigureMaker, Section
from fairpatrol.report.style import group_colors
from fairpatrol.report.summary import Finding, pct, sig
from fairpatrol.results.evaluation import EvaluationResults

COVERAGE = 0.10

#: How each grid metric reads (title, higher is better, meaning, name inside a sentence).
EVALUATION_METRICS: dict[str, tuple[Any, ...]] = {
    "hit_rate": ("Hit rate", True, "share of the day's crimes in the top cells", "hit rate"),
    "pai": ("PAI", True, "hit rate divided by the share of cells selected (1 = no better than chance)"),
    "pf_benefit": (
        "Prediction error in the top cells",
        False,
        "mean |forecast share − observed share| over a group's top cells",
    ),
    "pf_gini": (
        "Prediction-fairness Gini",
        False,
        "|error group 1 − error group 2| / (sum of both): "
        "0 = both groups' top cells are predicted equally well",
        "prediction-fairness Gini",
    ),
    "pf_maxmin": ("Prediction-fairness max-min", False, "|error group 1 − error group 2|"),
    "precision": ("Precision", True, "share of a group's top cells with at least one crime"),
    "precision_gap": (
        "Precision gap",
        False,
        "|precision group 1 − precision group 2| (resource-allocation fairness)",
        "precision gap",
    ),
    "emd": (
        "Earth Mover's Distance (m)",
        False,
        "how far, in metres, forecast crime must move on average to match the observed map",
        "Earth Mover's Distance",
    ),
}


def at_coverage(summary: pd.DataFrame, metric: str, group: str, coverage: float = COVERAGE) -> pd.DataFrame:
    """Rows of ``summary`` for one metric and group at the evaluated coverage nearest to ``coverage``."""
    s = summary[(summary["metric"] == metric) & (summary["group"] == group)]
    if s["coverage"].notna().any():
        levels = s["coverage"].dropna().unique()
        nearest = levels[np.argmin(np.abs(levels - coverage))]
        s = s[np.isclose(s["coverage"], nearest)]
    return s


def evaluation_findings(res: EvaluationResults) -> list[Finding]:
    g1, g2 = res.group_pair
    s = res.summary
    spatial = (res.document.get("metrics") or {}).get("emd", "spatial") == "spatial"
    computed = (res.document.get("resolved") or {}).get("metrics") or {}
    out = []
    for metric, group in (
        ("hit_rate", "overall"),
        ("pf_gini", "between"),
        ("precision_gap", "between"),
        ("emd", "overall"),
    ):
        rows = at_coverage(s, metric, group).dropna(subset=["mean"])
        if rows.empty:
            continue
        title, higher, meaning, name = EVALUATION_METRICS[metric]
        if metric == "emd" and not spatial:  # the PF/RAF authors' 1-D distance of cell values
            title, meaning = "Earth Mover's Distance of the cell values", computed.get("emd", meaning)
        if metric == "pf_gini" and "2 (" in computed.get("pf_gini", ""):  # Gini coefficient: half the scale
            meaning = computed["pf_gini"]
        rows = rows.sort_values("mean", ascending=not higher)
        best = rows.iloc[0]
        cov = "" if metric == "emd" else f" at {best['coverage']:.0%} coverage"
        fmt = (
            pct
            if metric in ("hit_rate", "precision_gap")
            else (lambda v: sig(v, 3) + (" m" if spatial else ""))
            if metric == "emd"
            else (lambda v: sig(v, 3))
        )
        word = "highest" if higher else "lowest"
        head = (
            f"{best['model']} had the {word} {name}{cov}: {fmt(best['mean'])} (95 % interval "
            f"{fmt(best['ci_low'])} to {fmt(best['ci_high'])})."
        )
        details = [
            f"{r['model']}: {fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
            for _, r in rows.iterrows()
        ]
        details.append(f"{title}: {meaning}.")
        if metric == "precision_gap":
            prec = at_coverage(s, "precision", g1).set_index("model")["mean"]
            prec2 = at_coverage(s, "precision", g2).set_index("model")["mean"]
            for m in res.models:
                if m in prec.index and m in prec2.index:
                    details.append(
                        f"{m}: precision {pct(prec[m])} in {g1} cells, {pct(prec2[m])} in {g2} cells."
                    )
        if metric == "emd":
            e1 = at_coverage(s, "emd", g1).set_index("model")["mean"]
            e2 = at_coverage(s, "emd", g2).set_index("model")["mean"]
            for m in res.models:
                if m in e1.index and m in e2.index:
                    details.append(f"{m}: {fmt(e1[m])} in {g1} cells, {fmt(e2[m])} in {g2} cells.")
        out.append(Finding(metric, title, head, details))
    return out


CURVES = (
    ("hit_rate", ("overall",), "Hit rate (%)", 100.0),
    ("pai", ("overall",), "PAI", 1.0),
    ("pf_benefit", None, "Prediction error in the top cells", 1.0),
    ("pf_gini", ("between",), "Prediction-fairness Gini", 1.0),
    ("precision", None, "Precision (%)", 100.0),
    ("precision_gap", ("between",), "Precision gap (pp)", 100.0),
)


def build_evaluation_context(
    res: EvaluationResults,
    *,
    day: str | None = None,
    dp_epsilon: float | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, Any]:
    from fairpatrol.errors import ConfigError
    from fairpatrol.report.cards import DOCS
    from fairpatrol.report.explain import Calibration
    from fairpatrol.report.privacy import PrivacyLedger

    make = FigureMaker()
    g1, g2 = res.group_pair
    dates = res.dates
    if day is None:
        map_day = pd.Timestamp(res.document.get("map_day") or dates[-1])
    else:
        try:
            map_day = pd.Timestamp(day).normalize()
        except (ValueError, TypeError):
            raise ConfigError(f"not a date: {day!r} (use YYYY-MM-DD)", field="day") from None
    if map_day not in dates:
        raise ConfigError(
            f"{map_day:%Y-%m-%d} is outside the evaluated days {dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d}",
            field="day",
        )
    ledger = PrivacyLedger(
        dp_epsilon,
        ("observed incidents per cell over the period", "observed incidents per cell on the map day"),
        rng,
    )
    pred = res.predictions
    ids = res.areas.ids
    models = res.models

    def per_cell(frame: pd.DataFrame, col: str) -> np.ndarray:
        return frame.groupby("cell_id")[col].sum().reindex(ids, fill_value=0).to_numpy(dtype=float)

    first_model = pred[pred["model"] == models[0]]
    observed = ledger.release(
        "observed incidents per cell over the period",
        "incidents observed in each cell over the evaluated days (calibration, map)",
        per_cell(first_model, "observed"),
    )
    day_rows = first_model[pd.to_datetime(first_model["date"]) == map_day]
    observed_day = ledger.release(
        "observed incidents per cell on the map day",
        "incidents observed in each cell on the mapped day",
        per_cell(day_rows, "observed"),
    )

    curves = Section("curves", "Accuracy and fairness by coverage")
    curves.figures.append(
        make(
            figures.coverage_curves(res.summary, CURVES, models, res.group_pair),
            "Accuracy and fairness as more cells are patrolled",
            "Each model's mean over the evaluated days (band: 95 % interval) as the share of cells "
            "selected grows "
            f"from 1 % to 30 %. Solid lines: {g1} cells or the whole city; dotted: {g2} cells.",
        )
    )
    emd = res.summary[res.summary["metric"] == "emd"].rename(
        columns={"group": "scenario", "model": "algorithm"}
    )
    spatial = (res.document.get("metrics") or {}).get("emd", "spatial") == "spatial"
    curves.figures.append(
        make(
            figures.interval_bars(
                emd.assign(metric="emd"),
                [
                    (
                        "emd",
                        "Earth Mover's Distance between forecast and observed maps"
                        + (" (m)" if spatial else " of the cell values"),
                        1.0,
                    )
                ],
                [("overall", "whole city"), (g1, f"{g1} cells"), (g2, f"{g2} cells")],
                models,
            ),
            "How far the forecast map is from the observed one (EMD)",
            (
                "Mean over days of the spatial Earth Mover's Distance, in metres, with 95 % intervals; lower "
                "is closer. A difference between the groups means one group's crime is forecast less well."
                if spatial
                else "Mean over days of the 1-D distance between the lists of forecast and observed cell "
                "shares (the PF/RAF authors' EMD, blind to where the cells are), with 95 % intervals."
            ),
        )
    )
    units = svgmap.MapUnits.from_areas(res.areas)
    map_sec = Section("maps", "Maps")
    predicted = {}
    for m in models:
        rows = pred[(pred["model"] == m) & (pd.to_datetime(pred["date"]) == map_day)]
        predicted[m] = per_cell(rows, "predicted")
    gcol = group_colors(res.areas.group_names)
    breaks = svgmap.sequential_breaks(units.aggregate(observed_day))
    ccol = svgmap.sequential_colors(len(breaks), "Purples")
    map_sec.figures.append(
        Figure(
            "map-cells",
            f"The cells, their groups and the incidents observed on {map_day:%Y-%m-%d}"
            + (" (noised)" if ledger.active else ""),
            Markup(
                svgmap.figure_body(
                    [
                        svgmap.group_panel(units, res.areas, "g", gcol, observed_day, "incidents that day"),
                        svgmap.class_panel(units, "g", observed_day, breaks, ccol, "incidents"),
                    ],
                    [(gcol[g], g) for g in res.areas.group_names] + svgmap.class_legend(breaks, ccol)[1:],
                )
            ),
            f"Left: the {res.areas.n:,} cells coloured by the group of the area covering most of each. "
            "Right: the incidents the forecasts below are compared with. Hover a cell for its numbers.",
        )
    )
    # each model's share of the day's expected crime per map unit (shares of the unit sums)
    unit_shares = {m: units.aggregate(v) / max(float(np.sum(v)), 1e-300) * 100 for m, v in predicted.items()}
    allv = np.concatenate(list(unit_shares.values())) if unit_shares else np.zeros(1)
    breaks = svgmap.sequential_breaks(allv)
    ocol = svgmap.sequential_colors(len(breaks))
    map_sec.figures.append(
        Figure(
            "map-forecasts",
            f"Forecast of each model for {map_day:%Y-%m-%d} (% of the day's expected crime)",
            Markup(
                svgmap.figure_body(
                    [
                        svgmap.class_panel(
                            units, "g", unit_shares[m], breaks, ocol, m, aggregated=True, suffix=" %"
                        )
                        for m in models
                    ],
                    svgmap.class_legend(breaks, ocol),
                )
            ),
            "Share of the day's expected crime each model put in each cell; patrols go to the darkest cells.",
        )
    )
    cal_sec = Section("calibration", "Do forecasts match outcomes?")
    cals = []
    cal_rows = []
    masks = res.areas.group_masks()
    for m in models:
        rows = pred[pred["model"] == m]
        daily = rows.groupby("date")[["predicted", "observed"]].sum()
        cal = Calibration(
            m,
            per_cell(rows, "predicted"),
            observed.copy(),
            observed.copy(),
            daily["predicted"].to_numpy(),
            daily["observed"].to_numpy(dtype=float),
            daily["observed"].to_numpy(dtype=float),
        )
        cals.append(cal)
        cal_rows.append(
            {
                "model": m,
                "forecast total": f"{cal.predicted.sum():,.0f}",
                "observed": f"{cal.observed.sum():,.0f}",
                "forecast ÷ observed": sig(cal.ratio(), 3),
                f"forecast ÷ observed ({g1})": sig(cal.ratio(masks[0]), 3),
                f"forecast ÷ observed ({g2})": sig(cal.ratio(masks[1]), 3),
            }
        )
    cal_sec.figures.append(
        make(
            figures.calibration_scatter(
                res.areas, cals, "observed incidents" + (" (noised)" if ledger.active else "")
            ),
            "Forecast against outcome, per cell, over the evaluated days",
            "Each dot is a cell: its summed daily forecasts (x) against the incidents observed (y); "
            "the black line "
            "joins the means of each tenth of the cells ranked by forecast.",
        )
    )
    param_fig = None
    if res.diagnostics is not None:
        d = res.diagnostics
        keys = [
            (k, label)
            for k, label in (
                ("theta", "θ: expected offspring per incident"),
                ("omega", "ω: decay rate per day"),
                ("sigma", "σ: trigger distance (m)"),
            )
            if k in d.columns and d[k].notna().any()
        ]
        if keys:
            bands = {}
            for m in models:
                dm = d[d["model"].astype(str) == m].sort_values("date")
                for k, _ in keys:
                    v = dm[k].to_numpy(dtype=float)
                    if np.isfinite(v).any():
                        bands[(m, k)] = (v, v, v)
            if bands:
                param_dates = np.asarray(
                    pd.DatetimeIndex(sorted(pd.to_datetime(d["date"].unique()))).to_pydatetime()
                )
                param_fig = make(
                    figures.parameter_series(bands, param_dates, [(m, m) for m in models], keys),
                    "Fitted parameters over time",
                    "Refitted every day on the rolling training window.",
                )
    resolved = res.document.get("resolved", {})
    cards = [
        {"algorithm": m, "doc": DOCS.get(m), "params": (resolved.get("models") or {}).get(m, {})}
        for m in models
    ]
    privacy = None
    if ledger.active:
        privacy = {
            "epsilon": dp_epsilon,
            "spent": ledger.spent,
            "descriptions": [(r.name, r.description) for r in ledger.releases],
            "rows": [
                {
                    "published counts": r.name,
                    "ε spent": sig(r.epsilon, 3),
                    "expected error per count": sig(r.scale, 3),
                    "mean absolute error": sig(r.cost()["mean_abs_error"], 3),
                    "rank correlation with exact": sig(r.cost()["spearman"], 3),
                    "top-10 cells kept": pct(r.cost()["top_k_overlap"]),
                }
                for r in ledger.releases
            ],
        }
    text = (res.path / "evaluate.yaml").read_text(encoding="utf-8")
    config_keys = (
        "name",
        "description",
        "data",
        "grid",
        "start",
        "days",
        "exclude_days",
        "low_count_days",
        "algorithms",
        "models",
        "coverage",
        "metrics",
        "map_day",
    )
    import yaml

    scenario = {k: res.document[k] for k in config_keys if k in res.document}
    return {
        "kind": "evaluate",
        "map_defs": Markup(units.defs("g")),
        "title": f"Grid evaluation report: {res.document.get('name', '')}",
        "description": str(res.document.get("description", "")),
        "city": res.areas.title,
        "group_description": res.areas.group_description,
        "n_cells": res.areas.n,
        "cell_size": res.document.get("grid", {}).get("cell_size_m"),
        "groups": res.group_pair,
        "group_counts": (int(masks[0].sum()), int(masks[1].sum())),
        "models": models,
        "first": f"{dates[0]:%Y-%m-%d}",
        "last": f"{dates[-1]:%Y-%m-%d}",
        "n_days": len(dates),
        "map_day": f"{map_day:%Y-%m-%d}",
        "findings": evaluation_findings(res),
        "sections": {s.id: s for s in (curves, map_sec, cal_sec)},
        "calibration_rows": cal_rows,
        "param_fig": param_fig,
        "cards": cards,
        "metric_docs": [(v[0], v[2]) for v in EVALUATION_METRICS.values()],
        "cleaning": res.document.get("data_report", {}) or {},
        "counts": res.document.get("counts", {}) or {},
        "reference_grid": res.document.get("reference_grid", {}) or {},
        "warnings": res.document.get("warnings", []) or [],
        "privacy": privacy,
        "config_text": text,
        "scenario_uri": data_uri(yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True)),
        "versions": res.document.get("versions", {}),
        "results_dir": shown_path(res.path),
    }
