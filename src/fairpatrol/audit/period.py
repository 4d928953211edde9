"""The audit period: which days, which target-periods and which incidents an audit scores.

The **incidents' coverage** is the span of days the incident data cover: ``settings.coverage_start ..
coverage_end`` when declared, else the dates of the first and last incident (noted: a day without any
incident inside the coverage is a day without crime; outside it, nothing is known). The **audit period**
is ``settings.start .. settings.end`` when given (both must lie within the coverage: there is nothing to
score targets against outside it), else the days covered both by the targets and by the incidents.
Target-days outside it are counted in the notes, apart for those outside the incidents' coverage.
Target-periods of targets entirely outside the city are left out (counted). Days of the
period without any target are left out (``empty_days='exclude'``: usually a gap in the export) or audited
as days without targeting (``'zero'``); incidents on left-out days are counted. Incidents without a time
of day cannot be matched to shifts: shift targets then cover their whole date (noted).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairpatrol.audit.crimes import CrimePoints
from fairpatrol.audit.daytable import SECONDS_PER_DAY, Units, expand_units
from fairpatrol.audit.notes import Note, plural
from fairpatrol.audit.settings import AuditSettings
from fairpatrol.audit.targets import TargetSet
from fairpatrol.errors import DataError

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)
class Scope:
    """What an audit scores.

    ``dates`` are the audited days; ``units`` the target-periods on them (``day`` indexes ``dates``);
    ``crimes`` the indices of the audited incidents in the :class:`CrimePoints`, with their time in
    seconds since ``start`` (``crime_t``) and their day index in ``dates`` (``crime_day``).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    dates: pd.DatetimeIndex
    units: Units
    crimes: np.ndarray
    crime_t: np.ndarray
    crime_day: np.ndarray
    notes: tuple[Note, ...]

    @property
    def days_in_period(self) -> int:
        """Calendar days from start to end."""
        return int((self.end - self.start) / DAY) + 1


def _day(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _target_day_range(targets: TargetSet) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    begin, end = targets.records["begin"], targets.records["end"]
    first = None if begin.isna().any() else _day(begin.min())
    last = None if end.isna().any() else _day(end.max() - pd.Timedelta(seconds=1))
    return first, last


def coverage(settings: AuditSettings, crimes: CrimePoints) -> tuple[pd.Timestamp, pd.Timestamp, bool]:
    """First and last day the incidents cover, and whether that was declared (module docstring)."""
    lo = _day(settings.coverage_start) if settings.coverage_start is not None else crimes.first_day
    hi = _day(settings.coverage_end) if settings.coverage_end is not None else crimes.last_day
    if hi < lo:
        raise DataError(
            f"the incidents' coverage ends ({hi.date()}) before it starts ({lo.date()})",
            source="audit settings",
            field="coverage_end" if settings.coverage_end is not None else "coverage_start",
        )
    return lo, hi, settings.coverage_start is not None or settings.coverage_end is not None


def choose_period(
    settings: AuditSettings, targets: TargetSet, crimes: CrimePoints
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last audited day (module docstring)."""
    lo, hi, declared = coverage(settings, crimes)
    what = "the incidents' declared coverage" if declared else "the incidents' dates"
    for name in ("start", "end"):
        value = getattr(settings, name)
        if value is not None and not lo <= _day(value) <= hi:
            raise DataError(
                f"{_day(value).date()} is outside {what} {lo.date()} .. {hi.date()}: "
                "there is nothing to score targets against"
                + ("" if declared else " (declare the incidents' coverage if the data cover more)"),
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


def audit_scope(settings: AuditSettings, targets: TargetSet, crimes: CrimePoints) -> Scope:
    """The audited days, target-periods and incidents, with notes of everything left out."""
    notes: list[Note] = []
    start, end = choose_period(settings, targets, crimes)
    first, last, declared = coverage(settings, crimes)
    notes.append(
        Note(
            "incident_coverage",
            int((last - first) / DAY) + 1,
            f"The incidents are taken to cover {first.date()} .. {last.date()} "
            + ("(declared)" if declared else "(the dates of the first and last incident)")
            + ": a day in it without any incident is a day without crime.",
        )
    )
    n_all = int((end - start) / DAY) + 1
    day_level = targets.has_shift_times and not crimes.has_time_of_day
    if day_level:
        notes.append(
            Note(
                "no_time_of_day",
                crimes.n,
                "The incidents carry no time of day, so shift targets are matched to crimes of their "
                "whole date.",
            )
        )
    units, outside = expand_units(targets, start, n_all, day_level=day_level)
    incident_days = int((last - first) / DAY) + 1
    _, inc_outside = expand_units(targets, first, incident_days)
    beyond = int(inc_outside.sum())
    if beyond:
        notes.append(
            Note(
                "target_days_outside_incidents",
                beyond,
                f"{plural(beyond, 'target-day')} fall outside the incidents' coverage "
                f"({first.date()} .. {last.date()}) and cannot be scored.",
            )
        )
    unchosen = int(outside.sum()) - beyond
    if unchosen > 0:
        notes.append(
            Note(
                "target_days_outside_period",
                unchosen,
                f"{plural(unchosen, 'target-day')} lie outside the audit period "
                f"{start.date()} .. {end.date()} (within the incidents' coverage) and are not scored.",
            )
        )
    # Target-periods of targets with no part in the city can never be hit: left out, counted.
    in_city = targets.coverage.target_m2[units.target] > 0
    if (~in_city).any():
        notes.append(
            Note(
                "target_periods_outside_city",
                int((~in_city).sum()),
                f"{plural(int((~in_city).sum()), 'target-period')} belong to targets entirely outside the "
                "areas and are not scored.",
            )
        )
    units = units.subset(in_city)

    has_unit = np.zeros(n_all, dtype=bool)
    has_unit[units.day] = True
    keep_day = has_unit if settings.empty_days == "exclude" else np.ones(n_all, dtype=bool)
    all_dates = pd.date_range(start, end, freq="D")
    empty = int((~has_unit).sum())
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
    if targets.kind == "effort":  # a logged zero records a day without patrol: it targets nothing
        units = units.subset(units.effort > 0)

    t_sec = ((crimes.time - np.datetime64(start, "ns")) // np.timedelta64(1, "s")).astype(np.int64)
    day_abs = np.floor_divide(t_sec, SECONDS_PER_DAY)
    in_period = (day_abs >= 0) & (day_abs < n_all)
    kept = in_period & (day_map[np.clip(day_abs, 0, n_all - 1)] >= 0)
    on_empty = int((in_period & ~kept).sum())
    if on_empty:
        notes.append(
            Note(
                "incidents_on_empty_days",
                on_empty,
                f"{plural(on_empty, 'incident')} happened on days without targets and are not audited.",
            )
        )
    sel = np.flatnonzero(kept)
    if sel.size == 0:
        raise DataError(f"no audited incident between {start.date()} and {end.date()}", source=crimes.source)
    return Scope(
        start=start,
        end=end,
        dates=all_dates[keep_day],
        units=dataclasses.replace(units, day=day_map[units.day]),
        crimes=sel,
        crime_t=t_sec[sel],
        crime_day=day_map[day_abs[sel]],
        notes=tuple(notes),
    )
