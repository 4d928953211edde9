"""The settings of an audit: one record, one commented field per setting, checked when made."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fairpatrol.errors import ConfigError

EXPOSURES = ("area", "area_days")
EMPTY_DAYS = ("exclude", "zero")
TREND_UNITS = ("month", "week", "day")


@dataclass(frozen=True)
class AuditSettings:
    """How an audit is run. Every field has a default; see ``docs/audit.md`` for the methods.

    Attributes
    ----------
    start, end : str or None
        First and last audited day (inclusive). Default: the days that have both targets and incidents.
        Days outside the incidents' coverage cannot be audited (an error).
    coverage_start, coverage_end : str or None
        First and last day the incident data cover (inclusive): a day in it without any incident is a
        day without crime. Default: the dates of the first and last incident (noted). Declare it when the
        data cover more than their first and last incident show (a rare crime type, a quiet first day).
    window_days : int
        Crimes up to this many days after a target's period also count as inside it (0: during it only).
    crime_types : tuple of str or None
        Audit only these crime types (case-insensitive values of the incidents' ``type_column``).
    type_column : str
        Incident column holding the crime type.
    type_groups : mapping or None
        Named selections of types reported beside 'all' and each type on its own, e.g.
        ``{"homicide and shooting": ("HOMICIDE", "SHOOTING")}``.
    exposure : {'area', 'area_days'}
        How targets count as exposure: targeted m²-days (default), or one per area-day with any target.
        Patrol logs always use their effort.
    empty_days : {'exclude', 'zero'}
        Audited days without any target: left out (default; usually a gap in the export) or audited as
        days of no targeting. Counted in the notes either way.
    n_boot, block_days, level, seed : int, int, float, int
        Bootstrap replicates, block length in days, interval level and the seed of the resampling.
    trend_unit : {'month', 'week', 'day'}
        Buckets of the trends (slope per bucket).
    tiers : bool
        Also report The Markup's most / median / least targeted tiers (needs population).
    tier_share : float
        Tier size as a share of the areas (The Markup: 0.05).
    calibration_bins : int
        Score bins of the reliability table.
    """

    start: str | None = None
    end: str | None = None
    coverage_start: str | None = None
    coverage_end: str | None = None
    window_days: int = 0
    crime_types: tuple[str, ...] | None = None
    type_column: str = "crime_type"
    type_groups: Mapping[str, tuple[str, ...]] | None = None
    exposure: str = "area"
    empty_days: str = "exclude"
    n_boot: int = 1000
    block_days: int = 7
    level: float = 0.95
    seed: int = 20190101
    trend_unit: str = "month"
    tiers: bool = False
    tier_share: float = 0.05
    calibration_bins: int = 10

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{why} (got {getattr(self, name)!r})", source="audit settings", field=name)

        for name in ("start", "end", "coverage_start", "coverage_end"):
            value = getattr(self, name)
            if value is not None:
                try:
                    pd.Timestamp(value)
                except (ValueError, TypeError):
                    raise bad(name, "not a date") from None
        for first, last, what in (
            ("start", "end", "the end"),
            ("coverage_start", "coverage_end", "coverage"),
        ):
            a, b = getattr(self, first), getattr(self, last)
            if a is not None and b is not None and pd.Timestamp(b) < pd.Timestamp(a):
                raise bad(
                    last, f"{what} is before the start" if first == "start" else "it ends before it starts"
                )
        if int(self.window_days) != self.window_days or self.window_days < 0:
            raise bad("window_days", "must be a whole number of days ≥ 0")
        if self.exposure not in EXPOSURES:
            raise bad("exposure", f"must be one of {list(EXPOSURES)}")
        if self.empty_days not in EMPTY_DAYS:
            raise bad("empty_days", f"must be one of {list(EMPTY_DAYS)}")
        if self.trend_unit not in TREND_UNITS:
            raise bad("trend_unit", f"must be one of {list(TREND_UNITS)}")
        if int(self.n_boot) != self.n_boot or self.n_boot < 0:
            raise bad("n_boot", "must be a whole number ≥ 0")
        if int(self.block_days) != self.block_days or self.block_days < 1:
            raise bad("block_days", "must be a whole number ≥ 1")
        if not 0 < self.level < 1:
            raise bad("level", "must lie between 0 and 1")
        if not 0 < self.tier_share < 0.5:
            raise bad("tier_share", "must lie between 0 and 0.5")
        if int(self.calibration_bins) != self.calibration_bins or self.calibration_bins < 1:
            raise bad("calibration_bins", "must be a whole number ≥ 1")
        if self.crime_types is not None:
            object.__setattr__(self, "crime_types", tuple(str(t) for t in self.crime_types))
        if self.type_groups is not None:
            groups = {str(k): tuple(str(t) for t in v) for k, v in dict(self.type_groups).items()}
            if "all" in groups:
                raise bad("type_groups", "'all' is reserved for all audited crimes")
            object.__setattr__(self, "type_groups", groups)

    def replace(self, **changes: Any) -> AuditSettings:
        """A copy with ``changes``; unknown names are an error naming them."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {unknown}; known: {sorted(known)}", source="audit settings"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the settings."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["crime_types"] = list(self.crime_types) if self.crime_types is not None else None
        out["type_groups"] = {k: list(v) for k, v in self.type_groups.items()} if self.type_groups else None
        return out
