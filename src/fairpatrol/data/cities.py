"""The city registry: bundled city packs, one YAML file each in ``fairpatrol/cities/``.

A pack names its areas file, id/name columns and CRS (an :class:`~fairpatrol.schema.AreasFileConfig`), its
group rules and the default one, its bundled incident sets with their column mapping and deduplication
policy, the incident-export layouts it recognises (named column mappings, sniffed from a file's header)
and where its provenance is written. Its files live in ``fairpatrol/datasets``. A pack is loaded through
the same readers as a user's own files (:mod:`fairpatrol.data.inputs`): adding a city is a data file and
a pack file, no code.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from fairpatrol.errors import DataError
from fairpatrol.schema import AreasFileConfig, GroupsConfig, StrictModel, parse_yaml, validation_error

Field_ = Literal["time", "date", "lat", "lon", "x", "y", "crime_type", "crime_code", "id", "area"]


class Layout(StrictModel):
    """A named column mapping of an incident table (e.g. a city's open-data export as downloaded).

    ``columns`` maps each field to the file's column, or to alternatives tried in order (case-insensitive);
    every mapped field is required unless listed in ``optional``. ``extra`` columns are kept under new names.
    ``offsets: ignore`` drops a UTC offset printed after clock times (an export that labels local times
    '+00'); ``area_type: integer`` reads the source's area label as a whole number (an error naming the row
    otherwise).
    """

    description: str = ""
    columns: dict[Field_, str | list[str]]
    optional: list[Field_] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict)
    offsets: Literal["convert", "ignore"] = "convert"
    area_type: Literal["text", "integer"] = "text"

    def alternatives(self, key: str) -> tuple[str, ...]:
        value = self.columns[key]  # type: ignore[index]
        return (value,) if isinstance(value, str) else tuple(value)


class PackGroupRule(GroupsConfig):
    """A group rule of a pack, with the pair it compares by default."""

    pair: tuple[str, str] | None = None


class PackGroups(StrictModel):
    default: str
    rules: dict[str, PackGroupRule] = Field(min_length=1)


class BundledIncidents(StrictModel):
    """A bundled incident set: its file, layout (a pack layout by name or inline) and cleaning policy.

    ``crime_types`` makes the set a subset of its file (several sets can share one file); a study's own
    ``data.crime_types`` then selects within it. ``on_missing_coords: drop`` leaves out records without
    coordinates, with a warning giving their number and ``missing_coords_reason`` (why they are missing,
    and whether at random); ``notes`` are caveats recorded in every cleaning report of the set.
    """

    description: str
    file: str
    layout: str | Layout
    default_crime_type: str = "unspecified"
    crime_types: list[str] | None = None
    dedupe: Literal["id", "fields", "none"] = "id"
    dedupe_fields: list[str] | None = None
    id_prefix: str = "INC"
    on_missing_coords: Literal["error", "drop"] = "error"
    missing_coords_reason: str | None = None
    notes: list[str] = Field(default_factory=list)


class ReferenceGrid(StrictModel):
    file: str
    crs: str


class CityPack(StrictModel):
    """One bundled city (``fairpatrol/cities/<name>.yaml``)."""

    name: str
    display_name: str
    aliases: list[str] = Field(default_factory=list)
    timezone: str | None = None
    provenance: str | None = Field(default=None, description="section title in datasets/README.md")
    areas: AreasFileConfig
    groups: PackGroups
    incidents: dict[str, BundledIncidents] = Field(default_factory=dict)
    layouts: dict[str, Layout] = Field(default_factory=dict)
    reference_grid: ReferenceGrid | None = None

    @field_validator("groups")
    @classmethod
    def _default_rule(cls, value: PackGroups) -> PackGroups:
        if value.default not in value.rules:
            raise ValueError(f"default rule {value.default!r} is not one of {list(value.rules)}")
        return value

    def group_rule(self, name: str | None) -> tuple[str, PackGroupRule]:
        """The rule called ``name`` (default rule when None)."""
        key = self.groups.default if name is None else str(name).strip().lower()
        if key not in self.groups.rules:
            raise DataError(
                f"unknown group rule {name!r} for {self.name}; expected one of {list(self.groups.rules)}",
                field="group_rule",
            )
        return key, self.groups.rules[key]


def data_dir() -> Path:
    """The folder of the bundled data files (``fairpatrol/datasets``)."""
    return Path(str(files("fairpatrol.datasets")))


@functools.cache
def registry() -> dict[str, CityPack]:
    """Every bundled pack by name (read once)."""
    packs: dict[str, CityPack] = {}
    for entry in sorted(files("fairpatrol.cities").iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        source = f"fairpatrol/cities/{entry.name}"
        raw = parse_yaml(entry.read_text(encoding="utf-8"), source)
        try:
            pack = CityPack.model_validate(raw)
        except ValidationError as err:
            raise validation_error(err, source) from None
        packs[pack.name] = pack
    return packs


def _key(name: str) -> str:
    key = str(name).strip().lower()
    for pack in registry().values():
        if key == pack.name or key in (a.lower() for a in pack.aliases):
            return pack.name
    return key


def city_names() -> list[str]:
    """Names of the bundled city packs."""
    return list(registry())


def is_city(name: str | None) -> bool:
    """Whether ``name`` names a bundled city pack (or one of its aliases)."""
    return name is not None and _key(name) in registry()


def get_city(name: str) -> CityPack:
    """The pack called ``name`` (case-insensitive, aliases allowed); a one-line error otherwise."""
    key = _key(name)
    if key not in registry():
        raise DataError(f"unknown city {name!r}; bundled: {', '.join(registry())}", field="city")
    return registry()[key]


def bundled_incident_sets() -> dict[str, tuple[CityPack, BundledIncidents]]:
    """Every bundled incident set by name, with its pack."""
    return {name: (pack, inc) for pack in registry().values() for name, inc in pack.incidents.items()}


def bundled_incident_names() -> list[str]:
    return list(bundled_incident_sets())


def layouts() -> dict[str, Layout]:
    """Every recognised export layout of every pack, by name."""
    return {name: layout for pack in registry().values() for name, layout in pack.layouts.items()}


def provenance_notes(pack: CityPack) -> str:
    """The section of the bundled datasets README about ``pack`` (provenance of its data)."""
    if not pack.provenance:
        return ""
    text = (data_dir() / "README.md").read_text(encoding="utf-8")
    out, keep = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            keep = line[3:].strip() == pack.provenance
            continue
        if keep:
            out.append(line)
    return "\n".join(out).strip()
