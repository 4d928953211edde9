"""Per-day sufficient statistics of an audit: every measure is a ratio of sums of these over days.

For the D audited days, M areas and Q crime-type selections (q = 0: all audited crimes):

* ``crimes[q, d, i]``: crimes of selection q on day d in area i;
* ``captured[q, d, i]``: those inside an active target (:mod:`fairpatrol.audit.matching`);
* ``targeted_m2[d, i]``: m² of area i inside the union of the day's targets (overlap once per area-day);
* ``targeting[d, i]``: the exposure each area gets that day: ``targeted_m2`` (``exposure='area'``),
  1 if any of it is targeted (``'area_days'``), or the logged effort (patrol logs);
* ``units[d, i]``: target-periods of day d (a day's box, a shift's box, a zone's day, a patrolled area-day),
  each shared out between areas by area of overlap;
* ``hits[q, d, i]``: the part of those units with at least one crime of selection q inside.

A crime belongs to the day of its own time; a unit to the day it begins. The crime-type statistics are
kept as one sparse (D, M) matrix per selection, so memory grows with the crimes, not with types × days ×
areas; the others are dense (D, M) arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fairpatrol.audit.matching import match
from fairpatrol.audit.targets import TargetSet

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, eq=False)
class Units:
    """Active target-periods inside the audit period (one row per target and day it is active)."""

    target: np.ndarray  # int64 (U,)
    begin: np.ndarray  # int64 seconds since the first audited day
    end: np.ndarray  # int64 seconds, exclusive
    day: np.ndarray  # int64 index of the day the unit begins
    score: np.ndarray  # float (U,)
    effort: np.ndarray  # float (U,)
    record: np.ndarray  # int64 (U,) row of the target's record in TargetSet.records

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.target)

    def subset(self, mask: np.ndarray) -> Units:
        """Units where ``mask`` is True."""
        fields = ("target", "begin", "end", "day", "score", "effort", "record")
        return Units(*(getattr(self, f)[mask] for f in fields))


def expand_units(
    targets: TargetSet, start: pd.Timestamp, n_days: int, *, day_level: bool = False
) -> tuple[Units, np.ndarray]:
    """Units of the records, clipped to the audit period ``[start, start + n_days)``.

    A record of at most a day (a day's or a shift's target, even one crossing midnight) is one unit,
    dated by its begin; a longer one (a zone's validity) is cut at midnights into one unit per day.
    Returns the units and, per record, how many of its target-days fall outside the period. With
    ``day_level`` a short record is widened to its whole day (incidents without a time of day).
    """
    rec = targets.records
    origin = np.datetime64(pd.Timestamp(start).normalize(), "s")
    period_end = n_days * SECONDS_PER_DAY
    begin = rec["begin"].to_numpy("datetime64[s]")
    end = rec["end"].to_numpy("datetime64[s]")
    open_b, open_e = np.isnat(begin), np.isnat(end)
    b = np.where(open_b, 0, (begin - origin).astype(np.int64))
    e = np.where(open_e, period_end, (end - origin).astype(np.int64))
    if day_level:
        b0 = np.floor_divide(b, SECONDS_PER_DAY) * SECONDS_PER_DAY
        e = np.where(open_e, e, b0 + np.maximum(1, (e - b0) // SECONDS_PER_DAY) * SECONDS_PER_DAY)
        b = b0
    cb, ce = np.maximum(b, 0), np.minimum(e, period_end)
    keep = ce > cb
    short = (e - b) <= SECONDS_PER_DAY
    first = np.floor_divide(cb, SECONDS_PER_DAY)
    n_units = np.where(keep, np.where(short, 1, np.floor_divide(ce - 1, SECONDS_PER_DAY) - first + 1), 0)
    touched = np.where(
        short, 1, np.floor_divide(e - 1, SECONDS_PER_DAY) - np.floor_divide(b, SECONDS_PER_DAY) + 1
    )
    outside = np.where(open_b | open_e, 0, np.maximum(touched - n_units, 0))
    idx = np.repeat(np.arange(len(rec)), n_units)
    step = np.arange(int(n_units.sum())) - np.repeat(np.cumsum(n_units) - n_units, n_units)
    day = first[idx] + step
    is_short = short[idx]
    ub = np.where(is_short, cb[idx], np.maximum(cb[idx], day * SECONDS_PER_DAY))
    ue = np.where(is_short, ce[idx], np.minimum(ce[idx], (day + 1) * SECONDS_PER_DAY))
    units = Units(
        target=rec["target"].to_numpy(np.int64)[idx],
        begin=ub.astype(np.int64),
        end=ue.astype(np.int64),
        day=day.astype(np.int64),
        score=rec["score"].to_numpy(float)[idx],
        effort=rec["effort"].to_numpy(float)[idx],
        record=idx.astype(np.int64),
    )
    return units, outside


@dataclass(frozen=True, eq=False)
class DayTable:
    """Per-day sums (module docstring) plus the scored units for calibration.

    ``unit_*`` arrays describe the scored units (one per active target-period): target index, day,
    score, crimes matched (selection 0) and whether at least one was.
    """

    dates: pd.DatetimeIndex
    type_labels: tuple[str, ...]
    area_m2: np.ndarray
    crimes: list[sp.csr_matrix]
    captured: list[sp.csr_matrix]
    targeted_m2: np.ndarray
    targeting: np.ndarray
    units: np.ndarray
    hits: list[sp.csr_matrix]
    unit_target: np.ndarray
    unit_day: np.ndarray
    unit_score: np.ndarray
    unit_observed: np.ndarray
    unit_hit: np.ndarray

    @property
    def n_days(self) -> int:
        """Number of audited days D."""
        return len(self.dates)

    def stat(self, name: str, q: int = 0) -> np.ndarray | sp.csr_matrix:
        """The (D, M) values of a statistic (type-specific ones, sparse, for selection ``q``)."""
        value = getattr(self, name)
        return value[q] if isinstance(value, list) else value


def _per_day_area(
    day: np.ndarray, area: np.ndarray, n_days: int, m: int, weights: np.ndarray | None = None
) -> sp.csr_matrix:
    """Sparse (D, M) sums of ``weights`` (default 1) per (day, area)."""
    w = np.ones(day.size) if weights is None else np.asarray(weights, dtype=float)
    return sp.csr_matrix((w, (day, area)), shape=(n_days, m))


def build_day_table(
    targets: TargetSet,
    units: Units,
    *,
    dates: pd.DatetimeIndex,
    crime_t: np.ndarray,
    crime_day: np.ndarray,
    crime_area: np.ndarray,
    crime_atom: np.ndarray,
    crime_types: np.ndarray,
    type_labels: tuple[str, ...],
    window_days: int = 0,
    exposure: str = "area",
    type_allowed: np.ndarray | None = None,
    crime_code: np.ndarray | None = None,
) -> DayTable:
    """Sum crimes, captures, targeted area, exposure and target hits per (day, area).

    ``crime_t`` is in seconds since the first day of the period (the same origin as the units' times),
    ``crime_day`` and the units' ``day`` index ``dates`` (the audited days), ``crime_types`` is a (Q, C)
    boolean matrix of selection membership (row 0 all True). With ``type_allowed`` (records × types, from
    :func:`fairpatrol.audit.targets.type_matrix`) and each crime's type index ``crime_code``, a crime
    counts inside a target only when the target's record is for its type.
    """
    cov = targets.coverage
    m, d_n, q_n = targets.areas.n, len(dates), crime_types.shape[0]
    area_m2 = targets.areas.frame["area_m2"].to_numpy(float)

    pc, pu = match(
        crime_t, crime_atom, units.target, units.begin, units.end, cov.cover, window_days * SECONDS_PER_DAY
    )
    if type_allowed is not None and crime_code is not None:
        ok = type_allowed[units.record[pu], crime_code[pc]]
        pc, pu = pc[ok], pu[ok]
    captured = np.zeros(crime_t.size, dtype=bool)
    captured[pc] = True
    crimes = [_per_day_area(crime_day[t], crime_area[t], d_n, m) for t in crime_types]
    caught = [_per_day_area(crime_day[t & captured], crime_area[t & captured], d_n, m) for t in crime_types]

    # Exposure: the union of the day's targets, per area.
    if cov.identity:
        targeting = _per_day_area(units.day, units.target, d_n, m, units.effort).toarray()
        targeted_m2 = np.where(targeting > 0, area_m2[None, :], 0.0)
    else:
        day_target = sp.csr_matrix(
            (np.ones(units.n), (units.day, units.target)), shape=(d_n, targets.n_targets)
        )
        active_atoms = (day_target @ cov.cover.astype(float)) > 0
        targeted_m2 = np.asarray((active_atoms.astype(float) @ cov.atom_to_area(m)).todense())
        targeting = targeted_m2 if exposure == "area" else (targeted_m2 > 0).astype(float)

    # Target-periods and their hits, shared out by area of overlap.
    frac = cov.area_fraction()[units.target]
    by_day = sp.csr_matrix((np.ones(units.n), (units.day, np.arange(units.n))), shape=(d_n, units.n))
    unit_counts = np.asarray((by_day @ frac).todense())
    hit = np.zeros((q_n, units.n), dtype=bool)
    for q in range(q_n):
        hit[q, pu[crime_types[q][pc]]] = True
    hits = [sp.csr_matrix(by_day @ sp.diags(h.astype(float)) @ frac) for h in hit]
    observed = np.bincount(pu, minlength=units.n).astype(float)

    return DayTable(
        dates=dates,
        type_labels=type_labels,
        area_m2=area_m2,
        crimes=crimes,
        captured=caught,
        targeted_m2=targeted_m2,
        targeting=targeting,
        units=unit_counts,
        hits=hits,
        unit_target=units.target,
        unit_day=units.day,
        unit_score=units.score,
        unit_observed=observed,
        unit_hit=hit[0],
    )
