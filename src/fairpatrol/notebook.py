"""Results for notebooks: one call loads a results directory, tidy frames answer the questions.

In the style of Fairlearn's ``MetricFrame`` (``overall``, ``by_group``, ``difference()``, ``ratio()``), for
results that have runs: every number comes with its mean over runs and 95 % t-interval.

>>> import fairpatrol
>>> res = fairpatrol.load_results("results/baltimore-agg")          # doctest: +SKIP
>>> res                                                              # doctest: +SKIP
<Results baltimore-agg: 4 scenarios × 3 algorithms, 20 runs, 300 days, 256 areas in 3 groups>
>>> res.overall.query("metric == 'misallocated_share'")              # doctest: +SKIP
>>> res.by_group.query("metric == 'disparity_ratio'")                # doctest: +SKIP
>>> res.difference("detection_rate")                                 # doctest: +SKIP
>>> res.ratio("patrol_share", between=("Black", "White"))            # doctest: +SKIP
>>> res.by_area.sort_values("disparity_ratio")                       # doctest: +SKIP

It reads the directory's files (``horizon.parquet``, ``group_horizon.parquet``, ``area_horizon.parquet``,
``metrics.parquet``, ``groups.parquet``, ``areas.parquet``; a sweep's partitions of the same tables), never
the simulation. Metric names, labels and directions are those of :mod:`fairpatrol.metrics.registry`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.errors import DataError
from fairpatrol.formatting import natural_key, with_interval
from fairpatrol.metrics.registry import REGISTRY, headline, metric
from fairpatrol.metrics.summary import mean_interval

#: Columns of the tables that are keys or model diagnostics, not metrics.
NOT_METRICS = {
    "scenario",
    "algorithm",
    "n_officers",
    "report_prob",
    "reporting",
    "remedy",
    "run",
    "date",
    "day",
    "group",
    "area_id",
    "cell",
    "group_1",
    "group_2",
    "uniform_fallback",
}


class Results:
    """A results directory of ``fairpatrol run`` (or ``sweep``) as tidy frames with intervals over runs.

    Parameters
    ----------
    path : the results directory.

    Attributes
    ----------
    keys : the columns that identify a scenario cell (``scenario``, ``algorithm``; ``cell`` in a sweep).
    groups : the groups of areas, the compared pair first.
    group_pair : the two groups compared by default.
    areas : the study's :class:`fairpatrol.data.Areas` (from ``areas.parquet``).

    Examples
    --------
    >>> res = Results("results/baltimore-agg")   # doctest: +SKIP
    >>> res.difference("detection_rate").head()  # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        from fairpatrol.results import directory_kind

        self.path = Path(path)
        self.kind = directory_kind(self.path)
        if self.kind not in ("run", "sweep"):
            raise DataError(
                f"a {self.kind} directory: load_results reads run and sweep results", source=str(self.path)
            )
        self.keys = ["cell", "scenario", "algorithm"] if self.kind == "sweep" else ["scenario", "algorithm"]
        if not self._has("horizon") and not self._has("metrics"):
            raise DataError("no results tables (horizon, metrics) in this directory", source=str(self.path))

    # -- files (read by the module that owns each kind: fairpatrol.results.run, fairpatrol.results.sweep) ---
    def _has(self, name: str) -> bool:
        if self.kind == "sweep":
            from fairpatrol.results.sweep import has_table

            return has_table(self.path, name)
        from fairpatrol.results.run import table_file

        return table_file(self.path, name) is not None

    @functools.cache  # noqa: B019 - one Results object per directory, a handful of tables
    def table(self, name: str) -> pd.DataFrame:
        """A results table as written (``metrics``, ``groups``, ``horizon``, ``group_horizon``,
        ``area_horizon``, ``summary``, ``group_summary``); an empty frame when the results lack it."""
        from fairpatrol.results import run, sweep

        frame = (sweep.read_table if self.kind == "sweep" else run.read_table)(self.path, name)
        if frame is None:
            return pd.DataFrame()
        for col in ("cell", "scenario", "algorithm", "group", "area_id"):
            if col in frame.columns:
                frame[col] = frame[col].astype(str)
        return frame

    @functools.cached_property
    def areas(self):
        from fairpatrol.data import read_areas_parquet

        if self.kind == "sweep":
            from fairpatrol.results.sweep import areas_file

            path = areas_file(self.path)
        else:
            path = self.path / "areas.parquet"
        if path is None or not path.is_file():
            raise DataError("no areas.parquet in these results", source=str(self.path))
        return read_areas_parquet(path)

    @property
    def groups(self) -> list[str]:
        return list(self.areas.group_names)

    @property
    def group_pair(self) -> tuple[str, str]:
        return tuple(self.areas.group_pair)

    # -- per-run values ----------------------------------------------------------------------------------
    def _per_run(self, daily: str, horizon: str, extra: list[str]) -> pd.DataFrame:
        """Long frame keys (+ extra) + run + metric + value from a daily table (its mean over days per run)
        and a horizon table."""
        frames = []
        d = self.table(daily)
        if not d.empty:
            names = [c for c in d.columns if c in REGISTRY and c not in NOT_METRICS]
            names = [c for c in names if pd.api.types.is_numeric_dtype(d[c])]
            by = [*self.keys, *extra, "run"]
            finite = d[names].where(np.isfinite(d[names].astype(float)))
            level = finite.groupby([d[k] for k in by], observed=True, sort=False).mean().reset_index()
            frames.append(level.melt(id_vars=by, var_name="metric", value_name="value"))
        h = self.table(horizon)
        if not h.empty:
            names = [c for c in h.columns if c in REGISTRY and c not in NOT_METRICS]
            by = [*self.keys, *extra, "run"]
            frames.append(h[[*by, *names]].melt(id_vars=by, var_name="metric", value_name="value"))
        if not frames:
            return pd.DataFrame(columns=[*self.keys, *extra, "run", "metric", "value"])
        out = pd.concat(frames, ignore_index=True)
        return out.drop_duplicates([*self.keys, *extra, "run", "metric"], keep="last")

    @functools.cached_property
    def run_values(self) -> pd.DataFrame:
        """One row per (cell keys, run, metric): each run-level metric's value in that run (a daily metric's
        mean over its days)."""
        return self._per_run("metrics", "horizon", [])

    @functools.cached_property
    def group_run_values(self) -> pd.DataFrame:
        """One row per (cell keys, group, run, metric): each group metric's value in that run."""
        return self._per_run("groups", "group_horizon", ["group"])

    # -- summaries -----------------------------------------------------------------------------------------
    def _summarise(self, per_run: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        rows = []
        for key, g in per_run.groupby(by, sort=False, observed=True):
            mean, lo, hi = mean_interval(g["value"].to_numpy(dtype=float))
            name = key[by.index("metric")]
            m = metric(name)
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "label": m.text(self.group_pair)[0],
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "runs": int(np.isfinite(g["value"].to_numpy(dtype=float)).sum()),
                    "unit": m.unit,
                    "better": m.better,
                    "family": m.family,
                }
            )
        return self._ordered(pd.DataFrame(rows))

    def _ordered(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty or "scenario" not in frame:
            return frame.reset_index(drop=True)
        algs = {a: i for i, a in enumerate(dict.fromkeys(self.table("summary").get("algorithm", [])))}
        key = frame["scenario"].map(natural_key)
        order = sorted(
            range(len(frame)), key=lambda i: (key.iloc[i], algs.get(frame["algorithm"].iloc[i], 99))
        )
        return frame.iloc[order].reset_index(drop=True)

    @functools.cached_property
    def overall(self) -> pd.DataFrame:
        """Per cell and run-level metric: mean over runs, 95 % interval, runs, label, unit, direction."""
        return self._summarise(self.run_values, [*self.keys, "metric"])

    @functools.cached_property
    def by_group(self) -> pd.DataFrame:
        """Per cell, group and group metric: mean over runs, 95 % interval, runs, label, unit, direction."""
        return self._summarise(self.group_run_values, [*self.keys, "group", "metric"])

    @functools.cached_property
    def by_area(self) -> pd.DataFrame:
        """Per cell and area: the horizon sums and shares averaged over runs, with the area's name and
        group (``disparity_ratio`` is the ratio of the mean shares; NaN for an area without crime)."""
        a = self.table("area_horizon")
        if a.empty:
            return a
        counts = ["patrol_days", "true_crimes", "detected_crimes", "idle_patrol_days", "expected_patrols"]
        counts = [c for c in counts if c in a.columns]
        out = a.groupby([*self.keys, "area_id"], observed=True, sort=False)[
            [*counts, "patrol_share", "true_crime_share"]
        ].mean()
        out = out.reset_index()
        share_c = out["true_crime_share"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["disparity_ratio"] = np.where(share_c > 0, out["patrol_share"] / share_c, np.nan)
        info = pd.DataFrame({"area_id": self.areas.ids, "name": self.areas.names, "group": self.areas.groups})
        return self._ordered(out.merge(info, on="area_id", how="left"))

    def overpoliced(self, min_crimes: float = 10, top: int = 10, under: bool = False) -> pd.DataFrame:
        """Areas with at least ``min_crimes`` true crimes over the horizon ranked by their disparity ratio
        (patrol share ÷ crime share), most over-policed first (``under``: most under-policed first)."""
        a = self.by_area
        if a.empty:
            return a
        sel = a[a["true_crimes"] >= min_crimes]
        return (
            sel.sort_values([*self.keys[:-1], "disparity_ratio"], ascending=under, kind="stable")
            .groupby(self.keys, sort=False)
            .head(top)
            .reset_index(drop=True)
        )

    # -- between groups -----------------------------------------------------------------------------------
    def _between(self, name: str, between: Any, op: str) -> pd.DataFrame:
        if "group" not in metric(name).levels:
            raise KeyError(
                f"{name!r} is not a group metric (group metrics: {', '.join(self.by_group_names)})"
            )
        v = self.group_run_values
        v = v[v["metric"] == name]
        wide = v.pivot_table(index=[*self.keys, "run"], columns="group", values="value", observed=True)
        if between == "all":  # the largest gap between any two groups, per run (Fairlearn's between_groups)
            hi, lo = wide.max(axis=1), wide.min(axis=1)
            values = hi - lo if op == "difference" else lo / hi
            label = "max − min over groups" if op == "difference" else "min ÷ max over groups"
        else:
            a, b = self.group_pair if between is None else between
            for g in (a, b):
                if g not in wide.columns:
                    raise KeyError(f"no group {g!r} (groups: {', '.join(self.groups)})")
            with np.errstate(divide="ignore", invalid="ignore"):
                values = wide[a] - wide[b] if op == "difference" else wide[a] / wide[b]
            label = f"{a} − {b}" if op == "difference" else f"{a} ÷ {b}"
        per_run = values.rename("value").reset_index()
        rows = []
        for key, g in per_run.groupby(self.keys, sort=False):
            mean, lo, hi = mean_interval(g["value"].to_numpy(dtype=float))
            rows.append(
                {
                    **dict(zip(self.keys, key, strict=True)),
                    "metric": name,
                    "between": label,
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "runs": int(np.isfinite(g["value"]).sum()),
                }
            )
        return self._ordered(pd.DataFrame(rows))

    @property
    def by_group_names(self) -> list[str]:
        return sorted(set(self.group_run_values["metric"]))

    def difference(self, name: str, between: tuple[str, str] | str | None = None) -> pd.DataFrame:
        """Per cell: the difference of a group metric between two groups (default: the compared pair;
        ``"all"``: the largest minus the smallest group), computed per run, then mean and 95 % interval
        over runs. A metric undefined for a group (e.g. a detection rate without crime) gives NaN."""
        return self._between(name, between, "difference")

    def ratio(self, name: str, between: tuple[str, str] | str | None = None) -> pd.DataFrame:
        """Per cell: the ratio of a group metric between two groups (default: the compared pair; ``"all"``:
        the smallest over the largest group), per run, then mean and 95 % interval over runs."""
        return self._between(name, between, "ratio")

    # -- display ------------------------------------------------------------------------------------------
    @property
    def _shape(self) -> str:
        s = self.table("summary")
        n_scen = s["scenario"].nunique() if "scenario" in s else 0
        n_alg = s["algorithm"].nunique() if "algorithm" in s else 0
        runs = self.run_values["run"].nunique() if not self.run_values.empty else 0
        days = self.table("metrics")["day"].nunique() if "day" in self.table("metrics") else 0
        return (
            f"{n_scen} scenario{'s' * (n_scen != 1)} × {n_alg} algorithm{'s' * (n_alg != 1)}, {runs} "
            f"run{'s' * (runs != 1)}, {days} days, {self.areas.n} areas in {len(self.groups)} groups"
        )

    def __repr__(self) -> str:
        return f"<Results {self.path.name} ({self.kind}): {self._shape}>"

    def headline_table(self) -> pd.DataFrame:
        """One row per cell, one column per headline metric (its label): mean (95 % interval) as text."""
        o = self.overall
        o = o[o["metric"].isin(headline())]
        o = o.assign(
            text=[
                with_interval(m, lo, hi, u)
                for m, lo, hi, u in zip(o["mean"], o["ci_low"], o["ci_high"], o["unit"], strict=True)
            ]
        )
        wide = o.pivot_table(index=self.keys, columns="metric", values="text", aggfunc="first", sort=False)
        wide = wide[[m for m in headline() if m in wide.columns]]
        return wide.rename(
            columns={m: metric(m).text(self.group_pair)[0] for m in wide.columns}
        ).reset_index()

    def _repr_html_(self) -> str:
        import html

        table = self.headline_table()
        body = table.to_html(index=False, escape=True, border=0) if not table.empty else ""
        return (
            f"<p><b>Results {html.escape(self.path.name)}</b> ({html.escape(self.kind)}): "
            f"{html.escape(self._shape)}. Mean over runs (95 % interval); <code>.overall</code>, "
            f"<code>.by_group</code>, <code>.by_area</code>, <code>.difference()</code>, "
            f"<code>.ratio()</code> for the rest.</p>{body}"
        )


def load_results(path: str | Path) -> Results:
    """Load a results directory of ``fairpatrol run`` or ``sweep`` for analysis in a notebook
    (:class:`Results`: ``overall``, ``by_group``, ``by_area``, ``difference()``, ``ratio()``)."""
    return Results(path)
