"""Audit configs: YAML → validated settings, read as strictly as scenarios (one-line errors naming the
file and field; docs/audit.md, "The command").

A config (``fairpatrol audit my-audit.yaml --out DIR``, or a bundled example in
``fairpatrol/presets/audits/``)::

    name: baltimore-2019
    data: {city: baltimore, incidents: baltimore-part1}      # exactly a scenario's data section
    targets:                                                  # one of three kinds
      kind: zones                                             # zones | daily | effort
      file: patrol_zones.geojson
      id: zone_id
      label: Focused Patrol Areas
    population: {columns: [black, white, asian], total: population}
    period: {start: 2019-01-01, end: 2019-12-31}
    type_groups: {homicide and shooting: [HOMICIDE, SHOOTING]}
    bootstrap: {replicates: 1000, block_days: 7, level: 0.95}
    seed: 20190101
    caveats: [The zones were traced from the plan's maps.]

Paths are relative to the config file (a bundled example's to the bundled datasets). The written copy of
a config in a results directory (``audit.yaml``) carries ``inputs`` (the files read, with their SHA-256)
and ``versions`` besides: :func:`load_audit_config` reads it back, relative to where the config was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from fairpatrol.audit.settings import AuditSettings
from fairpatrol.config import (
    MAX_SEED,
    DataConfig,
    Date,
    Located,
    StrictModel,
    bundled_names,
    bundled_text,
    parse_yaml,
    read_yaml_file,
    validation_error,
)
from fairpatrol.errors import ConfigError, DataError

#: Folder of the bundled audit examples inside ``fairpatrol/presets``.
EXAMPLE_DIR = "audits"
#: Keys of a config that fairpatrol adds when it writes one into a results directory.
WRITTEN_KEYS = ("inputs", "versions")
MAX_REPLICATES = 100_000
#: Where each audit setting (:class:`~fairpatrol.audit.settings.AuditSettings`) is in a config file.
SETTING_KEYS = {
    "start": "period.start",
    "end": "period.end",
    "coverage_start": "period.incidents_from",
    "coverage_end": "period.incidents_to",
    "n_boot": "bootstrap.replicates",
    "block_days": "bootstrap.block_days",
    "level": "bootstrap.level",
}


class _TargetsBase(StrictModel):
    file: str = Field(description="path of the targets file (relative to the config file)")
    label: str | None = Field(default=None, description="what the targets are called, e.g. 'patrol zones'")
    description: str | None = Field(default=None, description="where the targets come from, in words")
    crs: str | None = Field(default=None, description="CRS of the coordinates when the file declares none")

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str | None) -> str | None:
        from fairpatrol.config import AreasFileConfig

        return AreasFileConfig._known_crs(value)


class ZonesConfig(_TargetsBase):
    """Designated patrol zones (:func:`fairpatrol.audit.designated_zones`)."""

    kind: Literal["zones"]
    id: str | None = Field(default=None, description="column of zone ids (default 'id' when present)")
    valid_from: str | None = Field(default=None, description="column of first valid dates")
    valid_to: str | None = Field(default=None, description="column of last valid dates")
    geometry: str | None = Field(default=None, description="WKT column of a plain table")
    types: str | None = Field(default=None, description="column listing the crime types a zone is for")
    type_sep: str = "|"

    def read(self, areas, path: Path):
        from fairpatrol.audit.targets import designated_zones

        return designated_zones(
            areas,
            path,
            id_column=self.id,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            geometry=self.geometry,
            types=self.types,
            type_sep=self.type_sep,
            crs=self.crs,
        )


class DailyConfig(_TargetsBase):
    """Daily targets, a vendor's prediction export (:func:`fairpatrol.audit.daily_targets`)."""

    kind: Literal["daily"]
    date: str = Field(default="date", description="date column")
    shift: str | None = Field(default=None, description="shift column")
    shift_times: dict[str, tuple[str, str]] | None = Field(
        default=None, description="shift label -> [start, length], e.g. A: ['06:15', '11:15']"
    )
    geometry: str | None = Field(default=None, description="WKT column of cell polygons in a plain table")
    lon: str | None = None
    lat: str | None = None
    x: str | None = None
    y: str | None = None
    box_m: float | str | None = Field(default=None, description="box side in metres, or its column")
    box_crs: str | None = Field(default=None, description="projected CRS the boxes are squared in")
    score: str | None = Field(default=None, description="column of scores")
    rank: str | None = Field(default=None, description="column of ranks (1 = highest priority)")
    score_kind: Literal["expected_count", "probability", "relative"] = "relative"
    id: str | None = Field(default=None, description="column of target labels")
    types: str | None = Field(default=None, description="column listing the crime types a target is for")
    type_sep: str = "|"

    @field_validator("box_m")
    @classmethod
    def _positive(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, int | float) and not value > 0:
            raise ValueError(f"the box side must be > 0 metres, got {value!r}")
        return value

    @field_validator("box_crs")
    @classmethod
    def _known_box_crs(cls, value: str | None) -> str | None:
        return cls._known_crs(value)

    def read(self, areas, path: Path):
        from fairpatrol.audit.targets import daily_targets

        return daily_targets(
            areas,
            path,
            date=self.date,
            shift=self.shift,
            shift_times=self.shift_times,
            geometry=self.geometry,
            lon=self.lon,
            lat=self.lat,
            x=self.x,
            y=self.y,
            box_m=self.box_m,
            box_crs=self.box_crs,
            score=self.score,
            rank=self.rank,
            score_kind=self.score_kind,
            label=self.id,
            types=self.types,
            type_sep=self.type_sep,
            crs=self.crs,
        )


class EffortConfig(_TargetsBase):
    """Patrol logs: effort per area and day (:func:`fairpatrol.audit.patrol_effort`)."""

    kind: Literal["effort"]
    date: str = Field(default="date", description="date column")
    area: str = Field(default="area_id", description="column of area ids")
    effort: str = Field(default="officers", description="column of officers, minutes, ...")
    unit: str | None = Field(default=None, description="what the effort counts (default: the column name)")
    shift: str | None = None

    def read(self, areas, path: Path):
        from fairpatrol.audit.targets import patrol_effort

        return patrol_effort(
            areas, path, date=self.date, area=self.area, effort=self.effort, unit=self.unit, shift=self.shift
        )


TargetsConfig = ZonesConfig | DailyConfig | EffortConfig
#: The config class of each kind of targets.
TARGET_KINDS: dict[str, type[_TargetsBase]] = {
    "zones": ZonesConfig,
    "daily": DailyConfig,
    "effort": EffortConfig,
}


class PopulationConfig(StrictModel):
    """Residents by group: count columns of the areas, or a table with an area id and counts."""

    columns: list[str] | dict[str, str] | None = Field(
        default=None, description="count columns of the areas file, or group label -> column"
    )
    file: str | None = Field(default=None, description="a table: area id and one count column per group")
    area_column: str = Field(default="area_id", description="the table's area id column")
    labels: dict[str, str] | None = Field(
        default=None, description="the table's count columns -> group labels (file only)"
    )
    total: str | None = Field(default=None, description="column of all residents (default: sum of groups)")
    description: str | None = Field(default=None, description="what the counts are, e.g. '2010 Census'")

    @model_validator(mode="after")
    def _one_source(self) -> PopulationConfig:
        if (self.columns is None) == (self.file is None):
            raise ValueError("give either population.columns (columns of the areas) or population.file")
        if self.columns is not None and not self.columns:
            raise ValueError("population.columns lists no column")
        columns = list(self.columns.values()) if isinstance(self.columns, dict) else list(self.columns or [])
        if len(set(columns)) < len(columns):
            raise ValueError("population.columns lists a column twice")
        if self.labels is not None and len(set(self.labels.values())) < len(self.labels):
            raise ValueError("population.labels gives two columns the same label")
        if self.labels is not None and self.file is None:
            raise ValueError(
                "population.labels renames the columns of population.file; give columns as a mapping"
            )
        return self

    def column_labels(self) -> dict[str, str]:
        """Count column -> group label (a column's own name when not renamed)."""
        if isinstance(self.columns, dict):
            return {col: label for label, col in self.columns.items()}
        return dict(self.labels or {})


class PeriodConfig(StrictModel):
    """The audited days and the days the incident data cover (docs/audit.md, "Audit period")."""

    start: Date | None = Field(default=None, description="first audited day (default: first common day)")
    end: Date | None = Field(default=None, description="last audited day (default: last common day)")
    incidents_from: Date | None = Field(
        default=None, description="first day the incident data cover (default: the first incident's)"
    )
    incidents_to: Date | None = Field(
        default=None, description="last day the incident data cover (default: the last incident's)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> PeriodConfig:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"period.end ({self.end}) is before period.start ({self.start})")
        if self.incidents_from and self.incidents_to and self.incidents_to < self.incidents_from:
            raise ValueError("period.incidents_to is before period.incidents_from")
        return self


class BootstrapConfig(StrictModel):
    """The circular block bootstrap over days (docs/audit.md, "Intervals and trends")."""

    replicates: int = Field(default=1000, ge=0, le=MAX_REPLICATES)
    block_days: int = Field(default=7, ge=1, le=3650)
    level: float = Field(default=0.95, gt=0.0, lt=1.0)


class AuditConfig(Located):
    """An audit: the city's data, the agency's targets, residents, period and method settings."""

    name: str = "audit"
    description: str = ""
    data: DataConfig
    targets: TargetsConfig
    population: PopulationConfig | None = None
    period: PeriodConfig = Field(default_factory=PeriodConfig)
    type_groups: dict[str, list[str]] | None = Field(
        default=None, description="named crime-type selections reported beside all crimes"
    )
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    seed: int = Field(default=20190101, ge=0, le=MAX_SEED)
    window_days: int = Field(default=0, ge=0, le=365)
    exposure: Literal["area", "area_days"] = "area"
    empty_days: Literal["exclude", "zero"] = "exclude"
    trend_unit: Literal["month", "week", "day"] = "month"
    tiers: bool = False
    tier_share: float = Field(default=0.05, gt=0.0, lt=0.5)
    calibration_bins: int = Field(default=10, ge=1, le=100)
    caveats: list[str] = Field(default_factory=list, description="caveats about the data, in words")
    _source: str = PrivateAttr(default="audit config")

    @property
    def source(self) -> str:
        """How messages name this config (its file as given, or the bundled example)."""
        return self._source

    def setting_error(self, err: DataError) -> DataError:
        """An error about an audit setting, naming this config and the setting's key in it."""
        field = SETTING_KEYS.get(err.field or "", err.field)
        return ConfigError(err.message, source=self.source, field=field)

    @field_validator("targets", mode="before")
    @classmethod
    def _by_kind(cls, value: Any) -> Any:
        """Validate the targets with the class of their ``kind`` (errors name ``targets.<key>``)."""
        if isinstance(value, _TargetsBase):
            return value
        if not isinstance(value, dict):
            raise ValueError("targets must be a mapping with kind (zones, daily or effort) and file")
        kinds = ", ".join(TARGET_KINDS)
        if "kind" not in value:
            raise ConfigError(f"required key is missing: one of {kinds}", field="kind")
        if not isinstance(value["kind"], str) or value["kind"] not in TARGET_KINDS:
            raise ConfigError(f"unknown kind {value['kind']!r}; expected one of {kinds}", field="kind")
        try:
            return TARGET_KINDS[value["kind"]].model_validate(value)
        except ValidationError as err:
            inner = validation_error(err, "")
            raise ConfigError(inner.message, field=inner.field) from None

    @field_validator("type_groups")
    @classmethod
    def _groups(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for label, members in (value or {}).items():
            if label == "all":
                raise ValueError("'all' is reserved for all audited crimes")
            if not members:
                raise ValueError(f"type group {label!r} lists no crime type")
        return value

    def settings(self) -> AuditSettings:
        """The :class:`~fairpatrol.audit.settings.AuditSettings` of this config."""
        p = self.period
        day = lambda d: None if d is None else str(d)  # noqa: E731
        return AuditSettings(
            start=day(p.start),
            end=day(p.end),
            coverage_start=day(p.incidents_from),
            coverage_end=day(p.incidents_to),
            window_days=self.window_days,
            type_groups={k: tuple(v) for k, v in self.type_groups.items()} if self.type_groups else None,
            exposure=self.exposure,
            empty_days=self.empty_days,
            n_boot=self.bootstrap.replicates,
            block_days=self.bootstrap.block_days,
            level=self.bootstrap.level,
            seed=self.seed,
            trend_unit=self.trend_unit,
            tiers=self.tiers,
            tier_share=self.tier_share,
            calibration_bins=self.calibration_bins,
        )


def is_audit_document(raw: Any) -> bool:
    """Whether a parsed YAML document is an audit config (it has ``targets``)."""
    return isinstance(raw, dict) and "targets" in raw


def parse_audit(
    raw: Any, source: str = "<audit>", *, base_dir: str | Path | None = None, **overrides: Any
) -> AuditConfig:
    """Validate an audit mapping; ``overrides`` (seed, ...) replace top-level keys; relative paths are
    relative to ``base_dir`` (default: the working folder)."""
    if not isinstance(raw, dict):
        raise ConfigError("an audit config must be a YAML mapping of keys to values", source=source)
    merged = {k: v for k, v in raw.items() if k not in WRITTEN_KEYS}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        config = AuditConfig.model_validate(merged).at(base_dir)
    except ValidationError as err:
        raise validation_error(err, source) from None
    config._source = source
    return config


def example_names() -> list[str]:
    """Names of the bundled audit examples."""
    return bundled_names(EXAMPLE_DIR)


def example_text(name: str) -> str:
    """The YAML text of a bundled example; a one-line error naming the known ones otherwise."""
    return bundled_text(name, EXAMPLE_DIR, what="example", field="--example")


def load_audit_example(name: str, **overrides: Any) -> AuditConfig:
    """A bundled example by name; its paths are relative to the bundled datasets."""
    from fairpatrol.data.cities import data_dir

    source = f"example {name}"
    return parse_audit(parse_yaml(example_text(name), source), source, base_dir=data_dir(), **overrides)


def load_audit_config(path: str | Path, **overrides: Any) -> AuditConfig:
    """Read and validate an audit config file (paths relative to its folder). A copy written into a
    results directory (``audit.yaml``) is read relative to the folder of the config it was made from
    (``inputs.scenario_dir``), or to the bundled datasets for a bundled example."""
    p = Path(path)
    raw = read_yaml_file(p, "audit config")
    base_dir: Path | None = p.parent
    inputs = raw.get("inputs") if isinstance(raw, dict) else None
    if isinstance(inputs, dict):
        if inputs.get("example"):
            from fairpatrol.data.cities import data_dir

            base_dir = data_dir()
        elif isinstance(inputs.get("scenario_dir"), str):
            base_dir = p.parent / inputs["scenario_dir"]
    return parse_audit(raw, str(p), base_dir=base_dir, **overrides)


__all__ = [
    "AuditConfig",
    "BootstrapConfig",
    "DailyConfig",
    "EffortConfig",
    "PeriodConfig",
    "PopulationConfig",
    "ZonesConfig",
    "example_names",
    "is_audit_document",
    "load_audit_config",
    "load_audit_example",
    "parse_audit",
]
