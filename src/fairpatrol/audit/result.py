"""The result of an audit: tidy tables, the settings and inputs that made them, and their writer.

Tables (pandas DataFrames, long format: one row per number):

* ``overall``: ``crime_type, measure, value, lo, hi, n_boot_valid``: accuracy, counts and calibration
  of all targets together, for all audited crimes (``crime_type='all'``) and each type or type group;
* ``by_group``: ``grouping, group, crime_type, measure, value, lo, hi, n_boot_valid``: per group of areas
  (``grouping='area group'``) and per group of residents (``'residents'``), accuracy and exposure;
* ``by_area``: ``area_id, name, area_group, measure, value, lo, hi, n_boot_valid``: every area, all audited
  crimes, with repeat targeting (``days_targeted``, ``longest_streak``, no interval);
* ``by_day``: ``date, grouping, group, measure, value``: the daily series (no interval);
* ``trends``: ``grouping, group, measure, per, slope, lo, hi, n_buckets``: least-squares slope per
  ``per`` (month, week or day) of the measure computed per bucket;
* ``calibration``: the reliability bins (:mod:`fairpatrol.audit.calibration`; empty without scores);
* ``tiers``: The Markup's tiers (:mod:`fairpatrol.audit.tiers`; empty unless asked for);
* ``notes``: ``kind, count, message`` (:mod:`fairpatrol.audit.notes`).

``lo``/``hi`` bound the bootstrap interval at ``meta['settings']['level']``; a missing value means the
measure is undefined (a zero denominator) or has no interval (counts).

:meth:`AuditResult.write` writes a directory::

    DIR/audit.json        settings, seed, period, inputs and software versions (``meta``)
    DIR/<table>.csv       one file per table above (also <table>.parquet with formats=("csv", "parquet"))

written under a temporary name and renamed when complete, so an interrupted write never leaves a directory
that looks finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.atomic import atomic_directory
from fairpatrol.errors import ConfigError

TABLES = ("overall", "by_group", "by_area", "by_day", "trends", "calibration", "tiers", "notes")
FORMATS = ("csv", "parquet")


@dataclass(eq=False)
class AuditResult:
    """Tables of one audit (module docstring) and ``meta``, the record of how it was made.

    Examples
    --------
    >>> res.value("pai")  # doctest: +SKIP
    3.1
    >>> res.by_group.query("measure == 'ratio_to_residents'")  # doctest: +SKIP
    """

    overall: pd.DataFrame
    by_group: pd.DataFrame
    by_area: pd.DataFrame
    by_day: pd.DataFrame
    trends: pd.DataFrame
    calibration: pd.DataFrame
    tiers: pd.DataFrame
    notes: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """The table called ``name`` (one of :data:`TABLES`)."""
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; expected one of {list(TABLES)}")
        return getattr(self, name)

    def row(
        self, measure: str, *, grouping: str = "overall", group: str = "all", crime_type: str = "all"
    ) -> pd.Series:
        """The row of one number: overall (default), of a group (``grouping``='area group' or 'residents')
        or of an area (``grouping='area'``, ``group`` = area id)."""
        if grouping == "overall":
            t = self.overall
            sel = (t["measure"] == measure) & (t["crime_type"] == crime_type)
        elif grouping == "area":
            t = self.by_area
            sel = (t["measure"] == measure) & (t["area_id"] == group)
        else:
            t = self.by_group
            sel = (
                (t["measure"] == measure)
                & (t["grouping"] == grouping)
                & (t["group"] == group)
                & (t["crime_type"] == crime_type)
            )
        found = t.loc[sel]
        if len(found) != 1:
            raise KeyError(f"no single row for {measure!r} ({grouping}, {group}, {crime_type})")
        return found.iloc[0]

    def value(self, measure: str, **where: str) -> float:
        """The point estimate of one number (see :meth:`row`)."""
        return float(self.row(measure, **where)["value"])

    def most_targeted(self, n: int = 10, measure: str = "targeting_share") -> pd.DataFrame:
        """The ``n`` areas with the highest ``measure``, one row each, with their repeat targeting."""
        wide = self.by_area.pivot_table(
            index=["area_id", "name", "area_group"], columns="measure", values="value", aggfunc="first"
        ).reset_index()
        return wide.sort_values(measure, ascending=False, kind="stable").head(n).reset_index(drop=True)

    def write(
        self, directory: str | Path, *, overwrite: bool = False, formats: tuple[str, ...] = ("csv",)
    ) -> Path:
        """Write every table and ``audit.json`` to ``directory`` (module docstring); returns the path."""
        unknown = [f for f in formats if f not in FORMATS]
        if unknown or not formats:
            raise ConfigError(f"formats must be a non-empty subset of {list(FORMATS)}", field="formats")
        out = Path(directory)
        with atomic_directory(out, kind="audit", overwrite=overwrite) as tmp:
            for name in TABLES:
                frame = self.table(name)
                if "csv" in formats:
                    frame.to_csv(tmp / f"{name}.csv", index=False)
                if "parquet" in formats:
                    frame.to_parquet(tmp / f"{name}.parquet", index=False)
            (tmp / "audit.json").write_text(json.dumps(self.meta, indent=2, default=_json_default) + "\n")
        return out


def _json_default(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date())
    if isinstance(value, (tuple, set, np.ndarray)):
        return list(value)
    return str(value)
