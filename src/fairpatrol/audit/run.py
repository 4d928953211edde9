"""Run an audit: choose the period, score the targets against the incidents, build the result tables.

The steps, each in its own module: locate the incidents (:mod:`~fairpatrol.audit.crimes`); cut the targets
into day units over the audit period (:mod:`~fairpatrol.audit.daytable`); join crimes to active targets
(:mod:`~fairpatrol.audit.matching`); sum per day and area; resample days
(:mod:`~fairpatrol.audit.bootstrap`); evaluate the measures per grouping (:mod:`~fairpatrol.audit.measures`,
:mod:`~fairpatrol.audit.groups`), the calibration (:mod:`~fairpatrol.audit.calibration`) and the tiers
(:mod:`~fairpatrol.audit.tiers`). Methods in ``docs/audit.md``.

The **audit period** is ``settings.start .. settings.end`` when given (it must lie within the incidents'
dates), else the days covered both by the targets and by the incidents. Target-days outside it are counted
in the notes. Days of the period without any target are left out (``empty_days='exclude'``: usually a gap
in the export) or audited as days without targeting (``'zero'``).
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.audit import calibration
from fairpatrol.audit.bootstrap import buckets, day_weights, interval, slopes
from fairpatrol.audit.coverage import locate
from fairpatrol.audit.crimes import CrimePoints, prepare_crimes, same_areas
from fairpatrol.audit.daytable import SECONDS_PER_DAY, DayTable, build_day_table, expand_units
from fairpatrol.audit.groups import (
    Grouping,
    Population,
    area_grouping,
    overall_grouping,
    read_population,
    resident_grouping,
    single_areas,
)
from fairpatrol.audit.measures import MEASURES, TREND_MEASURES, Measure, evaluate
from fairpatrol.audit.notes import Note, notes_frame, plural
from fairpatrol.audit.result import AuditResult
from fairpatrol.audit.settings import AuditSettings
from fairpatrol.audit.targets import TargetSet
from fairpatrol.audit.tiers import TIER_COLUMNS, tiers_frame
from fairpatrol.data.areas import Areas
from fairpatrol.data.incidents import Incidents
from fairpatrol.errors import DataError

#: Areas evaluated together when computing per-area intervals (bounds memory to R × chunk per statistic).
AREA_CHUNK = 256
MEASURE_COLUMNS = ["value", "lo", "hi", "n_boot_valid"]


def _day(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _target_day_range(targets: TargetSet) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    rec = targets.records
    begin, end = rec["begin"], rec["end"]
    first = None if begin.isna().any() else _day(begin.min())
    last = None if end.isna().any() else _day(end.max() - pd.Timedelta(seconds=1))
    return first, last


def _period(
    settings: AuditSettings, targets: TargetSet, crimes: CrimePoints
) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = crimes.first_day, crimes.last_day
    for name in ("start", "end"):
        value = getattr(settings, name)
        if value is not None and not lo <= _day(value) <= hi:
            raise DataError(
                f"{_day(value).date()} is outside the incidents' dates {lo.date()} .. {hi.date()}: "
                "there is nothing to score targets against",
                source="audit settings",
                field=name,
            )
    t_first, t_last = _target_day_range(targets)
    start = _day(settings.start) if settings.start is not None else max(lo, t_first or lo)
    end = _day(settings.end) if settings.end is not None else min(hi, t_last or hi)
    if end < start:
        raise DataError(
            f"the targets ({t_first.date() if t_first else '…'} .. {t_last.date() if t_last else '…'}) and "
            f"the incidents ({lo.date()} .. {hi.date()}) share no day",
            source=targets.source,
            field="date",
        )
    return start, end


def _type_selections(types: np.ndarray, settings: AuditSettings) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels and (Q, C) membership of the crime-type selections of ``types``; row 0 is 'all'."""
    upper = np.char.upper(np.char.strip(types.astype(str)))
    labels, rows = ["all"], [np.ones(types.size, dtype=bool)]
    if settings.type_groups:
        for label, members in settings.type_groups.items():
            wanted = [m.strip().upper() for m in members]
            unknown = [m for m in wanted if m not in set(upper)]
            if unknown:
                raise DataError(
                    f"type group {label!r}: no audited incident of type(s) {unknown}",
                    source="audit settings",
                    field="type_groups",
                )
            labels.append(label)
            rows.append(np.isin(upper, wanted))
    else:
        values, counts = np.unique(types.astype(str), return_counts=True)
        for v in values[np.argsort(-counts, kind="stable")]:
            labels.append(str(v))
            rows.append(types.astype(str) == v)
    return tuple(labels), np.vstack(rows)


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


class _Auditor:
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

    def trends(self) -> pd.DataFrame:
        unit = self.settings.trend_unit
        bucket, starts = buckets(self.table.dates, unit)
        nb = len(starts)
        rows = []
        for key in ("overall", "area group", "residents"):
            g = self.groupings.get(key)
            if g is None:
                continue
            ms = [m for m in self._measures(key, 0) if m.name in TREND_MEASURES]
            values = evaluate(
                self.table, g, self.weights, ms, residents=self.residents, bucket=bucket, n_buckets=nb
            )
            for m in ms:
                per_bucket = values[m.name]
                est, lo, hi, _ = interval(slopes(per_bucket), self.settings.level)
                used = np.isfinite(per_bucket[0]).sum(axis=0)
                for u, label in enumerate(g.labels):
                    rows.append((key, str(label), m.name, unit, est[u], lo[u], hi[u], int(used[u])))
        return pd.DataFrame(
            rows, columns=["grouping", "group", "measure", "per", "slope", "lo", "hi", "n_buckets"]
        )

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


def _software() -> dict[str, str]:
    out = {}
    for pkg in ("fairpatrol", "numpy", "pandas", "scipy", "shapely", "pyproj", "geopandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def run_audit(
    areas: Areas,
    incidents: Incidents | pd.DataFrame,
    targets: TargetSet,
    *,
    population: object | None = None,
    population_total: str | None = None,
    settings: AuditSettings | None = None,
    **changes: Any,
) -> AuditResult:
    """Audit real targets against the incidents that followed; see ``docs/audit.md``.

    Parameters
    ----------
    areas : Areas
        The city's areas, with a ``group`` per area.
    incidents : Incidents or DataFrame
        Recorded incidents (``time``, type column, ``x``/``y`` in the areas' CRS or ``lon``/``lat``).
    targets : TargetSet
        From :func:`designated_zones`, :func:`daily_targets` or :func:`patrol_effort` with the same areas.
    population : optional
        Residents by group: count columns of ``areas.frame``, or a table/file with ``area_id`` and counts
        (:func:`fairpatrol.audit.groups.read_population`). Default: the areas' ``population`` column, if
        any, for totals only.
    population_total : str, optional
        Column of all residents per area (default: the sum of the groups).
    settings : AuditSettings, optional
        How to audit; keyword arguments (``n_boot=200``, ``start="2019-01-01"``, ...) change single fields.

    Returns
    -------
    AuditResult
        Tables ``overall``, ``by_group``, ``by_area``, ``by_day``, ``trends``, ``calibration``, ``tiers``,
        ``notes`` and ``meta``.

    Examples
    --------
    >>> import pandas as pd, shapely
    >>> from fairpatrol.audit import designated_zones, run_audit
    >>> from fairpatrol.audit.toy import toy_areas
    >>> areas = toy_areas(2, 1)                       # two 100 m squares, groups G1 and G2
    >>> zone = pd.DataFrame({"geometry": [shapely.box(0, 0, 50, 100).wkt]})
    >>> targets = designated_zones(areas, zone, crs=areas.crs)
    >>> crimes = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-02"]),
    ...                        "x": [10.0, 150.0, 20.0], "y": [10.0, 50.0, 30.0], "crime_type": "THEFT"})
    >>> res = run_audit(areas, crimes, targets, n_boot=0)
    >>> res.value("crime_captured"), res.value("area_targeted"), res.value("pai")
    (0.6666666666666666, 0.25, 2.6666666666666665)
    """
    settings = (settings or AuditSettings()).replace(**changes) if changes else (settings or AuditSettings())
    if not same_areas(targets.areas, areas):
        raise DataError(
            "the targets were read against other areas; read them with these areas", source=targets.source
        )
    notes: list[Note] = list(targets.notes)
    pop: Population | None = read_population(areas, population, total=population_total)
    if pop is not None:
        notes.extend(pop.notes)
    crimes = prepare_crimes(
        incidents, areas, type_column=settings.type_column, crime_types=settings.crime_types
    )
    notes.extend(crimes.notes)

    start, end = _period(settings, targets, crimes)
    n_all = int((end - start) / pd.Timedelta(days=1)) + 1
    day_level = targets.has_shift_times and not crimes.has_time_of_day
    if day_level:
        notes.append(
            Note(
                "no_time_of_day",
                crimes.n,
                "The incidents carry no time of day, so shift targets are matched "
                "to crimes of their whole date.",
            )
        )
    units, outside = expand_units(targets, start, n_all, day_level=day_level)
    _, inc_outside = expand_units(
        targets, crimes.first_day, int((crimes.last_day - crimes.first_day) / pd.Timedelta(days=1)) + 1
    )
    beyond = int(inc_outside.sum())
    if beyond:
        notes.append(
            Note(
                "target_days_outside_incidents",
                beyond,
                f"{plural(beyond, 'target-day')} fall outside "
                f"the incidents' dates ({crimes.first_day.date()} .. {crimes.last_day.date()}) and "
                "cannot be scored.",
            )
        )
    unchosen = int(outside.sum()) - beyond
    if unchosen > 0:
        notes.append(
            Note(
                "target_days_outside_period",
                unchosen,
                f"{plural(unchosen, 'target-day')} lie outside "
                f"the audit period {start.date()} .. {end.date()} (within the incidents' dates) and are not "
                "scored.",
            )
        )

    # Units of targets with no part in the city can never be hit: left out (their count is in the notes).
    in_city = targets.coverage.target_m2[units.target] > 0
    if (~in_city).any():
        notes.append(
            Note(
                "target_periods_outside_city",
                int((~in_city).sum()),
                f"{plural(int((~in_city).sum()), 'target-period')} "
                "belong to targets entirely outside the areas and are not scored.",
            )
        )
    units = units.subset(in_city)
    has_unit = np.zeros(n_all, dtype=bool)
    has_unit[units.day] = True
    if settings.empty_days == "exclude":
        keep_day = has_unit
    else:
        keep_day = np.ones(n_all, dtype=bool)
    empty = int((~has_unit).sum())
    all_dates = pd.date_range(start, end, freq="D")
    if empty:
        shown = ", ".join(str(d.date()) for d in all_dates[~has_unit][:3]) + (" ..." if empty > 3 else "")
        how = (
            "left out of the audit"
            if settings.empty_days == "exclude"
            else "audited as days without targeting"
        )
        notes.append(
            Note(
                "empty_target_days",
                empty,
                f"{plural(empty, 'day')} of the period have no target ({shown}); they are {how}.",
            )
        )
    if not keep_day.any():
        raise DataError(
            f"no day of {start.date()} .. {end.date()} has a target in the city", source=targets.source
        )
    day_map = np.full(n_all, -1, dtype=np.int64)
    day_map[keep_day] = np.arange(int(keep_day.sum()))
    dates = all_dates[keep_day]
    if targets.kind == "effort":
        units = units.subset(units.effort > 0)

    origin = np.datetime64(start, "ns")
    t_sec = ((crimes.time - origin) // np.timedelta64(1, "s")).astype(np.int64)
    day_abs = np.floor_divide(t_sec, SECONDS_PER_DAY)
    in_period = (day_abs >= 0) & (day_abs < n_all)
    on_kept = in_period & (day_map[np.clip(day_abs, 0, n_all - 1)] >= 0)
    dropped_empty = int((in_period & ~on_kept).sum())
    if dropped_empty:
        notes.append(
            Note(
                "incidents_on_empty_days",
                dropped_empty,
                f"{plural(dropped_empty, 'incident')} happened on days without targets and are not audited.",
            )
        )
    sel = np.flatnonzero(on_kept)
    if sel.size == 0:
        raise DataError(f"no audited incident between {start.date()} and {end.date()}", source=crimes.source)
    type_labels, membership = _type_selections(crimes.crime_type[sel], settings)
    atoms = locate(
        targets.coverage, areas, crimes.x[sel], crimes.y[sel], crimes.area[sel], crimes.snapped[sel]
    )
    table = build_day_table(
        targets,
        dataclasses.replace(units, day=day_map[units.day]),
        dates=dates,
        crime_t=t_sec[sel],
        crime_day=day_map[day_abs[sel]],
        crime_area=crimes.area[sel],
        crime_atom=atoms,
        crime_types=membership,
        type_labels=type_labels,
        window_days=settings.window_days,
        exposure=settings.exposure,
    )
    if settings.window_days:
        notes.append(
            Note(
                "window",
                settings.window_days,
                f"Crimes up to {plural(settings.window_days, 'day')} after a "
                "target's period count as inside it; targets of the last days of the period have a "
                "shorter window (crimes after the period are not audited).",
            )
        )

    residents = pop.total if pop is not None else None
    groupings = {
        "overall": overall_grouping(areas.n),
        "area group": area_grouping(areas),
        "area": single_areas(areas),
    }
    if pop is not None and pop.labels:
        groupings["residents"] = resident_grouping(pop)
        unpopulated = pop.total <= 0
        t_total = table.targeting.sum()
        if unpopulated.any() and t_total > 0:
            share = table.targeting[:, unpopulated].sum() / t_total
            if share > 0:
                notes.append(
                    Note(
                        "targeting_without_residents",
                        int(unpopulated.sum()),
                        f"{share:.1%} of the targeting "
                        f"falls in {plural(int(unpopulated.sum()), 'area')} without residents; residents' "
                        "shares are of the targeting of populated areas.",
                    )
                )
    if residents is None:
        notes.append(
            Note(
                "no_population",
                0,
                "No population was given: shares of residents and ratios to residents are not computed.",
            )
        )
    if targets.has_scores and targets.score_kind == "relative":
        notes.append(
            Note(
                "relative_scores",
                0,
                "The scores only order the targets (ranks or unitless scores): "
                "the calibration table shows crime per score bin, no observed/expected ratio.",
            )
        )
    if settings.tiers and residents is None:
        notes.append(Note("tiers_need_population", 0, "Tiers need population counts and were not computed."))

    weights = day_weights(table.n_days, settings.n_boot, settings.block_days, settings.seed)
    notes.append(
        Note(
            "bootstrap",
            settings.n_boot,
            f"Intervals: {settings.level:.0%} percentile intervals of "
            f"{settings.n_boot:,} circular block-bootstrap replicates over the {table.n_days:,} audited days "
            f"(blocks of {plural(min(settings.block_days, table.n_days), 'day')}, seed {settings.seed}).",
        )
    )

    auditor = _Auditor(table, targets, groupings, residents, weights, settings)
    meta = {
        "city": areas.city,
        "crs": areas.crs,
        "kind": targets.kind,
        "targets_source": targets.source,
        "incidents_source": crimes.source,
        "period": {
            "start": str(start.date()),
            "end": str(end.date()),
            "days_audited": table.n_days,
            "days_in_period": n_all,
        },
        "incidents_dates": {"first": str(crimes.first_day.date()), "last": str(crimes.last_day.date())},
        "counts": {
            "targets": targets.n_targets,
            "target_periods": units.n,
            "incidents_audited": int(sel.size),
            "areas": areas.n,
        },
        "score_kind": targets.score_kind,
        "effort_unit": targets.effort_unit,
        "crime_types": list(type_labels),
        "groups": {k: list(map(str, g.labels)) for k, g in groupings.items() if k != "area"},
        "settings": settings.to_dict(),
        "software": _software(),
    }
    return AuditResult(
        overall=auditor.overall(),
        by_group=auditor.by_group(),
        by_area=auditor.by_area(),
        by_day=auditor.by_day(),
        trends=auditor.trends(),
        calibration=auditor.calibration(),
        tiers=auditor.tiers(),
        notes=notes_frame(notes),
        meta=meta,
    )
