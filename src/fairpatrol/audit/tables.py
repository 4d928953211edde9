"""The result tables of an audit, computed from its day table: one method per table.

Each table is long (one row per number) and its values come from :func:`fairpatrol.audit.measures.evaluate`
(ratios of day sums per grouping), :mod:`fairpatrol.audit.calibration` and :mod:`fairpatrol.audit.tiers`,
with percentile intervals over the bootstrap replicates (:mod:`fairpatrol.audit.bootstrap`). Areas are
evaluated ``AREA_CHUNK`` at a time, so memory grows with replicates × chunk, not replicates × areas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import fairpatrol.audit.calibration as calibration
from fairpatrol.audit.bootstrap import buckets, interval, slopes
from fairpatrol.audit.daytable import DayTable
from fairpatrol.audit.groups import Grouping
from fairpatrol.audit.measures import MEASURES, TREND_MEASURES, Measure, evaluate
from fairpatrol.audit.settings import AuditSettings
from fairpatrol.audit.targets import TargetSet
from fairpatrol.audit.tiers import TIER_COLUMNS, tiers_frame

#: Areas evaluated together when computing per-area intervals (bounds memory to R × chunk per statistic).
AREA_CHUNK = 256
MEASURE_COLUMNS = ["value", "lo", "hi", "n_boot_valid"]
BY_PERIOD_COLUMNS = ["period", "per", "days", "grouping", "group", "measure", *MEASURE_COLUMNS]
BY_TARGET_COLUMNS = [
    "target_id",
    "main_area_id",
    "main_area_name",
    "areas",
    "m2",
    "m2_outside",
    "target_periods",
    "days_active",
    "longest_streak",
    "hit_periods",
    "hit_rate",
    "crimes_inside",
    "crime_share",
    "pai",
]


def _longest_runs(active: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
    """Longest run of consecutive calendar days with ``active`` True, per column."""
    d, m = active.shape
    best = np.zeros(m, dtype=np.int64)
    run = np.zeros(m, dtype=np.int64)
    gap = np.r_[True, np.diff(dates.to_numpy().astype("datetime64[D]").astype(np.int64)) != 1]
    for t in range(d):
        run = np.where(active[t], np.where(gap[t], 0, run) + 1, 0)
        best = np.maximum(best, run)
    return best


class TableBuilder:
    """Holds one audit's inputs and computes its tables (one method per table)."""

    def __init__(
        self,
        table: DayTable,
        targets: TargetSet,
        groupings: dict[str, Grouping],
        residents: np.ndarray | None,
        weights: np.ndarray,
        settings: AuditSettings,
    ) -> None:
        self.table, self.targets, self.groupings = table, targets, groupings
        self.residents, self.weights, self.settings = residents, weights, settings

    def _measures(self, grouping: str, q: int) -> list[Measure]:
        out = [m for m in MEASURES.values() if m.applies(grouping, q)]
        if self.residents is None:
            out = [m for m in out if "residents" not in m.needs]
        return out

    def _rows(self, grouping: Grouping, q: int, weights: np.ndarray) -> pd.DataFrame:
        ms = self._measures(grouping.name, q)
        if not ms:
            return pd.DataFrame()
        values = evaluate(self.table, grouping, weights, ms, q=q, residents=self.residents)
        frames = []
        for m in ms:
            v = values[m.name][:, 0, :]
            if m.interval:
                est, lo, hi, n_ok = interval(v, self.settings.level)
            else:
                est, lo, hi, n_ok = (
                    v[0],
                    np.full(v.shape[1], np.nan),
                    np.full(v.shape[1], np.nan),
                    np.zeros(v.shape[1], int),
                )
            frames.append(
                pd.DataFrame(
                    {
                        "group": grouping.labels.astype(str),
                        "crime_type": self.table.type_labels[q],
                        "measure": m.name,
                        "value": est,
                        "lo": lo,
                        "hi": hi,
                        "n_boot_valid": n_ok,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def _calibration_rows(self, grouping: Grouping, weights: np.ndarray, slope: bool) -> pd.DataFrame:
        kind = self.targets.score_kind
        if not self.targets.has_scores or kind not in ("expected_count", "probability"):
            return pd.DataFrame()
        frac = self.targets.coverage.area_fraction()
        values = calibration.summary(self.table, frac, grouping, weights, kind, slope=slope)
        frames = []
        for name, v in values.items():
            est, lo, hi, n_ok = interval(v, self.settings.level)
            frames.append(
                pd.DataFrame(
                    {
                        "group": grouping.labels.astype(str),
                        "crime_type": "all",
                        "measure": name,
                        "value": est,
                        "lo": lo,
                        "hi": hi,
                        "n_boot_valid": n_ok,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def overall(self) -> pd.DataFrame:
        g = self.groupings["overall"]
        parts = [self._rows(g, q, self.weights) for q in range(len(self.table.type_labels))]
        parts.append(self._calibration_rows(g, self.weights, slope=True))
        out = pd.concat(parts, ignore_index=True).drop(columns="group")
        return out[["crime_type", "measure", *MEASURE_COLUMNS]]

    def by_group(self) -> pd.DataFrame:
        parts = []
        for key in ("area group", "residents"):
            g = self.groupings.get(key)
            if g is None:
                continue
            for q in range(len(self.table.type_labels)):
                parts.append(self._rows(g, q, self.weights).assign(grouping=key))
            if key == "area group":
                parts.append(self._calibration_rows(g, self.weights, slope=True).assign(grouping=key))
        out = pd.concat([p for p in parts if len(p)], ignore_index=True)
        return out[["grouping", "group", "crime_type", "measure", *MEASURE_COLUMNS]]

    def by_area(self) -> pd.DataFrame:
        areas = self.targets.areas
        g = self.groupings["area"]
        parts = []
        for start in range(0, g.size, AREA_CHUNK):
            chunk = g.columns(start, start + AREA_CHUNK)
            parts.append(self._rows(chunk, 0, self.weights))
            parts.append(self._calibration_rows(chunk, self.weights, slope=False))
        active = self.table.targeted_m2 > 0
        if self.targets.coverage.identity:
            active = self.table.targeting > 0
        repeat = pd.DataFrame(
            {
                "group": np.tile(areas.ids.astype(str), 2),
                "crime_type": "all",
                "measure": np.repeat(["days_targeted", "longest_streak"], areas.n),
                "value": np.r_[active.sum(axis=0), _longest_runs(active, self.table.dates)].astype(float),
                "lo": np.nan,
                "hi": np.nan,
                "n_boot_valid": 0,
            }
        )
        out = pd.concat([p for p in [*parts, repeat] if len(p)], ignore_index=True)
        order = {m: i for i, m in enumerate([*MEASURES, "days_targeted", "longest_streak"])}
        position = {a: i for i, a in enumerate(areas.ids.astype(str))}
        key = out["group"].map(position) * len(order) + out["measure"].map(order)
        out = out.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
        info = pd.DataFrame({"group": areas.ids.astype(str), "name": areas.names, "area_group": areas.groups})
        out = out.merge(info, on="group", how="left").rename(columns={"group": "area_id"})
        return out[["area_id", "name", "area_group", "measure", *MEASURE_COLUMNS]]

    def by_day(self) -> pd.DataFrame:
        d = self.table.n_days
        ones = np.ones((1, d))
        day_idx = np.arange(d)
        parts = []
        for key in ("overall", "area group", "residents"):
            g = self.groupings.get(key)
            if g is None:
                continue
            ms = [
                m
                for m in self._measures(key, 0)
                if m.name != "resident_share" and m.name != "days_targeted_share"
            ]
            values = evaluate(self.table, g, ones, ms, residents=self.residents, bucket=day_idx, n_buckets=d)
            for m in ms:
                v = values[m.name][0]  # (D, U)
                parts.append(
                    pd.DataFrame(
                        {
                            "date": np.repeat(self.table.dates.to_numpy(), g.size),
                            "grouping": key,
                            "group": np.tile(g.labels.astype(str), d),
                            "measure": m.name,
                            "value": v.ravel(),
                        }
                    )
                )
        return pd.concat(parts, ignore_index=True)

    def _per_bucket(
        self,
    ) -> tuple[pd.DatetimeIndex, np.ndarray, list[tuple[str, Grouping, Measure, np.ndarray]]]:
        """Trend measures per bucket of ``trend_unit`` (computed once): bucket starts, days per bucket, and
        per (grouping, measure) the (R, n_buckets, U) values."""
        if getattr(self, "_buckets", None) is None:
            bucket, starts = buckets(self.table.dates, self.settings.trend_unit)
            nb = len(starts)
            found = []
            for key in ("overall", "area group", "residents"):
                g = self.groupings.get(key)
                if g is None:
                    continue
                ms = [m for m in self._measures(key, 0) if m.name in TREND_MEASURES]
                values = evaluate(
                    self.table, g, self.weights, ms, residents=self.residents, bucket=bucket, n_buckets=nb
                )
                found += [(key, g, m, values[m.name]) for m in ms]
            self._buckets = (starts, np.bincount(bucket, minlength=nb), found)
        return self._buckets

    def trends(self) -> pd.DataFrame:
        unit = self.settings.trend_unit
        rows = []
        for key, g, m, per_bucket in self._per_bucket()[2]:
            est, lo, hi, _ = interval(slopes(per_bucket), self.settings.level)
            used = np.isfinite(per_bucket[0]).sum(axis=0)
            for u, label in enumerate(g.labels):
                rows.append((key, str(label), m.name, unit, est[u], lo[u], hi[u], int(used[u])))
        return pd.DataFrame(
            rows, columns=["grouping", "group", "measure", "per", "slope", "lo", "hi", "n_buckets"]
        )

    def by_period(self) -> pd.DataFrame:
        """The trend measures in each month (week, day) with days audited, with their intervals."""
        starts, n_days, found = self._per_bucket()
        has_days = n_days > 0
        frames = []
        for key, g, m, per_bucket in found:
            for b in np.flatnonzero(has_days):
                est, lo, hi, n_ok = interval(per_bucket[:, b, :], self.settings.level)
                frames.append(
                    pd.DataFrame(
                        {
                            "period": starts[b],
                            "per": self.settings.trend_unit,
                            "days": int(n_days[b]),
                            "grouping": key,
                            "group": g.labels.astype(str),
                            "measure": m.name,
                            "value": est,
                            "lo": lo,
                            "hi": hi,
                            "n_boot_valid": n_ok,
                        }
                    )
                )
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BY_PERIOD_COLUMNS)
        return out.sort_values(["grouping", "group", "measure", "period"], kind="stable").reset_index(
            drop=True
        )[BY_PERIOD_COLUMNS]

    def calibration(self) -> pd.DataFrame:
        if not self.targets.has_scores:
            return pd.DataFrame(columns=calibration.CALIBRATION_COLUMNS)
        frac = self.targets.coverage.area_fraction()
        parts = [
            calibration.bins_frame(
                self.table,
                frac,
                self.groupings[key],
                self.weights,
                self.settings.calibration_bins,
                self.settings.level,
            )
            for key in ("overall", "area group")
        ]
        return pd.concat(parts, ignore_index=True)

    def tiers(self) -> pd.DataFrame:
        if not self.settings.tiers or self.residents is None:
            return pd.DataFrame(columns=TIER_COLUMNS)
        total = self.table.targeting.sum(axis=0)
        groupings = [self.groupings[k] for k in ("residents", "area group") if k in self.groupings]
        return tiers_frame(
            total, self.residents, groupings, share=self.settings.tier_share, seed=self.settings.seed
        )

    def by_target(self) -> pd.DataFrame:
        """One row per target with any part in the city (no interval: counts over the audited days).

        ``crimes_inside`` counts the crimes inside the target while it was active (within the window
        after), so a crime inside two overlapping targets counts for both and the shares of all targets
        can add up to more than the share of crime captured; ``pai`` is the target's share of crime over
        its share of land-days (its in-city m² × days active / the city's m² × audited days).
        """
        t, cov, areas = self.table, self.targets.coverage, self.targets.areas
        k = self.targets.n_targets
        periods = np.bincount(t.unit_target, minlength=k)
        hit = np.bincount(t.unit_target, weights=t.unit_hit.astype(float), minlength=k)
        inside = np.bincount(t.unit_target, weights=t.unit_observed, minlength=k)
        calendar = t.dates.to_numpy().astype("datetime64[D]").astype(np.int64)
        pairs = np.unique(np.column_stack([t.unit_target, calendar[t.unit_day]]), axis=0)
        days_active = np.bincount(pairs[:, 0], minlength=k) if len(pairs) else np.zeros(k, np.int64)
        streak = np.zeros(k, dtype=np.int64)
        if len(pairs):
            new_run = np.r_[True, (np.diff(pairs[:, 0]) != 0) | (np.diff(pairs[:, 1]) != 1)]
            run_id = np.cumsum(new_run) - 1
            lengths = np.bincount(run_id)
            np.maximum.at(streak, pairs[new_run, 0], lengths)
        total_crimes = float(t.crimes[0].sum())
        land_days = float(t.area_m2.sum()) * t.n_days
        m2 = cov.target_m2
        per_area = cov.target_area_m2.tocsr()
        main = np.full(k, -1, dtype=np.int64)
        n_areas = np.diff(per_area.indptr)
        for i in np.flatnonzero(n_areas):
            row = slice(per_area.indptr[i], per_area.indptr[i + 1])
            main[i] = per_area.indices[row][np.argmax(per_area.data[row])]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = inside / total_crimes if total_crimes > 0 else np.full(k, np.nan)
            land = m2 * days_active / land_days
            pai = np.where(land > 0, share / land, np.nan)
            hit_rate = np.where(periods > 0, hit / periods, np.nan)
        keep = m2 > 0
        ids, names = areas.ids.astype(object), areas.names.astype(object)
        out = pd.DataFrame(
            {
                "target_id": self.targets.target_ids.astype(str),
                "main_area_id": np.where(main >= 0, ids[np.clip(main, 0, None)], ""),
                "main_area_name": np.where(main >= 0, names[np.clip(main, 0, None)], ""),
                "areas": n_areas,
                "m2": m2,
                "m2_outside": cov.outside_m2,
                "target_periods": periods,
                "days_active": days_active,
                "longest_streak": streak,
                "hit_periods": hit,
                "hit_rate": hit_rate,
                "crimes_inside": inside,
                "crime_share": share,
                "pai": pai,
            }
        )
        return out.loc[keep].reset_index(drop=True)[BY_TARGET_COLUMNS]
