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
* ``by_period``: ``period, per, days, grouping, group, measure, value, lo, hi, n_boot_valid``: those
  measures in each month (week, day) with audited days, with intervals;
* ``by_target``: one row per target in the city: its size, main area, days active, longest streak,
  target-periods hit, crimes inside and its own PAI (no interval);
* ``calibration``: the reliability bins (:mod:`fairpatrol.audit.calibration`; empty without scores);
* ``tiers``: The Markup's tiers (:mod:`fairpatrol.audit.tiers`; empty unless asked for);
* ``notes``: ``kind, count, message`` (:mod:`fairpatrol.audit.notes`).

``lo``/``hi`` bound the bootstrap interval at ``meta['settings']['level']``; a missing value means the
measure is undefined (a zero denominator) or has no interval (counts).

:meth:`AuditResult.write` writes a directory::

    DIR/.fairpatrol.json  the marker (kind ``audit``): what wrote the directory
    DIR/audit.json        settings, seed, period, inputs and software versions (``meta``)
    DIR/<table>.csv       one file per table above (also <table>.parquet with formats=("csv", "parquet"))
    DIR/areas.parquet     the areas with their groups (GeoParquet), so the directory needs no inputs
    DIR/targets.parquet   the distinct target polygons as given (GeoParquet, the areas' CRS), by id
    DIR/notes.txt         the notes as sentences, one per line

written under a temporary name and renamed when complete, so an interrupted write never leaves a directory
that looks finished. :func:`read_audit` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.atomic import atomic_directory
from fairpatrol.data.areas import Areas, read_areas_parquet
from fairpatrol.errors import ConfigError, DataError

TABLES = (
    "overall",
    "by_group",
    "by_area",
    "by_target",
    "by_day",
    "trends",
    "by_period",
    "calibration",
    "tiers",
    "notes",
)
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
    by_target: pd.DataFrame
    by_day: pd.DataFrame
    trends: pd.DataFrame
    by_period: pd.DataFrame
    calibration: pd.DataFrame
    tiers: pd.DataFrame
    notes: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    #: The areas audited (written as ``areas.parquet``); None when unknown.
    areas: Areas | None = None
    #: The distinct targets: ``target_id`` and ``geometry`` (shapely, in the areas' CRS); None for patrol
    #: logs (the targets are the areas) or when unknown.
    target_geometry: pd.DataFrame | None = None

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

    def area_table(self) -> pd.DataFrame:
        """``by_area`` wide: one row per area (in the areas' order), one column per measure (values only)."""
        return self.by_area.pivot_table(
            index=["area_id", "name", "area_group"],
            columns="measure",
            values="value",
            aggfunc="first",
            sort=False,
        ).reset_index()

    def most_targeted(self, n: int = 10, measure: str = "targeting_share") -> pd.DataFrame:
        """The ``n`` areas with the highest ``measure``, one row each, with their repeat targeting."""
        wide = self.area_table()
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
            self.write_into(tmp, formats=formats)
        return out

    def write_into(
        self, folder: Path, *, formats: tuple[str, ...] = ("csv",), extra: dict | None = None
    ) -> None:
        """Write the files of :meth:`write` into an existing (temporary) ``folder``; ``extra`` maps further
        file names to their text (the command line adds the audit's config)."""
        for name in TABLES:
            frame = self.table(name)
            if "csv" in formats:
                frame.to_csv(folder / f"{name}.csv", index=False)
            if "parquet" in formats:
                frame.to_parquet(folder / f"{name}.parquet", index=False)
        (folder / "audit.json").write_text(json.dumps(self.meta, indent=2, default=_json_default) + "\n")
        (folder / "notes.txt").write_text("".join(f"{m}\n" for m in self.notes["message"]))
        if self.areas is not None:
            self.areas.write_parquet(folder / "areas.parquet")
        if self.target_geometry is not None and self.areas is not None:
            import geopandas as gpd

            gdf = gpd.GeoDataFrame(
                {"target_id": self.target_geometry["target_id"].astype(str)},
                geometry=list(self.target_geometry["geometry"]),
                crs=self.areas.crs,
            )
            gdf.to_parquet(folder / "targets.parquet", index=False, compression="zstd")
        for name, text in (extra or {}).items():
            (folder / name).write_text(text)


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


#: Column types of the tables read back from CSV (every other column is read as pandas infers it).
_TEXT_COLUMNS = (
    "crime_type",
    "measure",
    "grouping",
    "group",
    "area_id",
    "name",
    "area_group",
    "target_id",
    "main_area_id",
    "main_area_name",
    "kind",
    "message",
    "tier",
    "per",
)


def read_audit(directory: str | Path) -> AuditResult:
    """The :class:`AuditResult` written into ``directory`` by :meth:`AuditResult.write` (tables from
    Parquet when present, else CSV; areas and targets when present). A missing or unreadable file is a
    one-line :class:`~fairpatrol.errors.DataError` naming it."""
    p = Path(directory)
    meta_path = p / "audit.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("not an audit results directory (no audit.json)", source=str(p)) from None
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read: {err}".splitlines()[0], source=str(meta_path)) from None
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        parquet, csv = p / f"{name}.parquet", p / f"{name}.csv"
        try:
            if parquet.is_file():
                frame = pd.read_parquet(parquet)
            elif csv.is_file():
                head = pd.read_csv(csv, nrows=0).columns
                text = {c: str for c in head if c in _TEXT_COLUMNS}
                frame = pd.read_csv(csv, dtype=text, keep_default_na=False, na_values=[""])
                for c in text:
                    frame[c] = frame[c].fillna("")
            else:
                raise DataError(f"missing table {name} ({name}.csv)", source=str(p))
        except DataError:
            raise
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read: {err}".splitlines()[0], source=str(csv)) from None
        for col in ("date", "period"):
            if col in frame.columns:
                frame[col] = pd.to_datetime(frame[col])
        tables[name] = frame
    areas = read_areas_parquet(p / "areas.parquet") if (p / "areas.parquet").is_file() else None
    targets = None
    if (p / "targets.parquet").is_file():
        import geopandas as gpd

        gdf = gpd.read_parquet(p / "targets.parquet")
        targets = pd.DataFrame(
            {"target_id": gdf["target_id"].astype(str), "geometry": np.asarray(gdf.geometry.array)}
        )
    return AuditResult(**tables, meta=meta, areas=areas, target_geometry=targets)
