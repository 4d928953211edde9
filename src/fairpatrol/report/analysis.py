"""Tables the report's figures are drawn from, computed from a :class:`RunResults` (docs/report.md).

* Daily series: mean over runs of a daily metric per (scenario, algorithm, day).
* Over-policed areas (the study's method, docs/methods.md): per run, over the whole horizon, police
  share s_i = ΣP_i / ΣP and crime share c_i = ΣC_i / ΣC; the police-to-crime ratio PCR_i = s_i^ε / c_i^ε
  with ε = 1/(10 M) added to every count (as the daily metric); the top 3 areas by PCR of every
  (scenario, algorithm, run) are counted, and the areas most often among them are listed, with how often
  each was over-policed (s_i > 1.2 c_i).
* Trade-off points: per (scenario, algorithm) the level of accuracy and of each fairness metric with their
  95 % intervals (``summary.csv``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.metrics import police_to_crime_ratio, shares
from fairpatrol.results.run import RunResults


def daily_means(res: RunResults, columns: list[str]) -> dict[tuple[str, str, str], np.ndarray]:
    """``{(scenario, algorithm, column): daily mean over runs}`` on the study's day index."""
    m = res.metrics
    cols = [c for c in columns if c in m.columns]
    g = m.groupby(["scenario", "algorithm", "day"], observed=True)[cols].mean()
    out = {}
    n_days = len(res.dates)
    for (scen, alg), block in g.groupby(level=[0, 1], observed=True):
        days = block.index.get_level_values("day").to_numpy()
        for col in cols:
            y = np.full(n_days, np.nan)
            y[days] = block[col].to_numpy(dtype=float)
            out[(scen, alg, col)] = y
    return out


def parameter_bands(
    res: RunResults, columns: list[str]
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{(scenario, column): (mean, min, max over runs per day)}`` for fitted parameters (e.g. θ, ω)."""
    m = res.metrics
    out = {}
    for col in columns:
        if col not in m.columns or m[col].isna().all():
            continue
        sub = m.dropna(subset=[col])
        g = sub.groupby(["scenario", "day"], observed=True)[col].agg(["mean", "min", "max"])
        for scen, block in g.groupby(level=0, observed=True):
            mean, low, high = (block[k].to_numpy(dtype=float) for k in ("mean", "min", "max"))
            out[(scen, col)] = (mean, low, high)
    return out


def overpoliced(res: RunResults, crimes: np.ndarray | None, top: int = 3, show: int = 10) -> pd.DataFrame:
    """Areas most often among the ``top`` by police-to-crime ratio over the horizon, across every
    (scenario, algorithm, run). ``crimes`` are the horizon's crimes per area shared by all runs (exact or
    privacy-noised); None uses each run's own crimes (which differ under world effects such as deterrence)."""
    tot = res.horizon_totals
    areas = res.areas
    idx = areas.index_of(tot["area_id"])
    keys = tot[["scenario", "algorithm", "run"]].drop_duplicates().reset_index(drop=True)
    key_id = tot.merge(keys.reset_index(), on=["scenario", "algorithm", "run"])["index"].to_numpy()
    officers = np.zeros((len(keys), areas.n))
    officers[key_id, idx] = tot["officers"].to_numpy()
    if crimes is None:
        per_run = np.zeros((len(keys), areas.n))
        per_run[key_id, idx] = tot["crimes"].to_numpy()
    else:
        per_run = np.broadcast_to(np.asarray(crimes, dtype=float), officers.shape)
    pcr = police_to_crime_ratio(officers, per_run)
    s = shares(officers)
    c = shares(per_run)
    topk = np.argsort(-pcr, axis=1, kind="stable")[:, :top]
    hits = np.zeros((len(keys), areas.n), dtype=bool)
    np.put_along_axis(hits, topk, True, axis=1)
    table = pd.DataFrame(
        {
            "area_id": areas.ids,
            "name": areas.names,
            "group": areas.groups,
            "times_top": hits.sum(axis=0),
            "share_of_runs": hits.mean(axis=0),
            "police_share": s.mean(axis=0),
            "crime_share": c.mean(axis=0),
            "over_policed_runs": (s > 1.2 * c).mean(axis=0),
            "pcr": np.exp(np.log(pcr).mean(axis=0)),
        }
    )
    for alg in res.algorithms:
        table[alg] = hits[(keys["algorithm"] == alg).to_numpy()].sum(axis=0)
    table = table[table["times_top"] > 0].sort_values(["times_top", "pcr"], ascending=False, kind="stable")
    return table.head(show).reset_index(drop=True)


def tradeoff_points(res: RunResults, fairness: tuple[str, ...]) -> pd.DataFrame:
    """Per (scenario, algorithm): accuracy and fairness values (level of a daily metric, value of a
    horizon metric) with 95 % intervals, officers, crime."""
    officers = dict(zip(res.cells["scenario"], res.cells["n_officers"], strict=True))
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for name in ("accuracy", *fairness):
        for r in res.levels(name).to_dict("records"):
            row = rows.setdefault(
                (r["scenario"], r["algorithm"]),
                {
                    "scenario": r["scenario"],
                    "algorithm": r["algorithm"],
                    "label": res.scenario_label(r["scenario"]),
                    "n_officers": int(officers[r["scenario"]]),
                    "crime": res.crime_label,
                },
            )
            row[name], row[f"{name}_low"], row[f"{name}_high"] = r["mean"], r["ci_low"], r["ci_high"]
    return pd.DataFrame(list(rows.values()))
