"""The building blocks of every settings file: strict pydantic models, the strict YAML reader, one-line
validation errors, and the data-input sections (an areas file, grid cells as areas, group rules, an
incident table and its columns) that a study's ``data`` section and a bundled city pack
(:mod:`fairpatrol.data.cities`) share.

A leaf module (it imports nothing of fairpatrol but :mod:`fairpatrol.errors`), so that the data readers
and the city registry can use these types while :mod:`fairpatrol.config`, which validates whole study
files against the city, model and reporting registries, sits above them (no import cycle). The names are
also importable from :mod:`fairpatrol.config`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fairpatrol.errors import ConfigError

_SCALARS = (bool, int, float, str)
_WHAT = {int: "an integer", float: "a number", bool: "true or false", str: "text"}


def _scalar_kinds(annotation: Any) -> tuple[set[type], set[type]]:
    """The scalar types a field takes directly, and as list items (``Optional``, ``Annotated``, unions
    and ``Literal`` looked through)."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _scalar_kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        direct: set[type] = set()
        items: set[type] = set()
        for arg in typing.get_args(annotation):
            d, i = _scalar_kinds(arg)
            direct |= d
            items |= i
        return direct, items
    if origin is Literal:
        return {type(v) for v in typing.get_args(annotation)}, set()
    if origin is list:
        args = typing.get_args(annotation)
        return set(), (_scalar_kinds(args[0])[0] if args else set())
    return ({annotation} if annotation in _SCALARS else set()), set()


def _coercion(value: Any, kinds: set[type]) -> str | None:
    """Why ``value`` would only pass a field of scalar ``kinds`` by coercion (None: it would not need it)."""
    if not kinds or not kinds <= set(_SCALARS):
        return None
    what = " or ".join(_WHAT[k] for k in _SCALARS if k in kinds)
    if isinstance(value, bool):
        return None if bool in kinds else f"expected {what}, got {value!r}"
    if isinstance(value, str):
        return None if str in kinds else f"expected {what}, got {value!r}"
    if isinstance(value, int | float) and not kinds & {int, float}:
        return f"expected {what}, got {value!r}"
    if isinstance(value, float) and float not in kinds and int in kinds:
        return f"expected {what}, got {value!r}"
    return None


class StrictModel(BaseModel):
    """Settings read from a file: unknown keys are errors, finite numbers only, and no scalar is coerced:
    ``runs: true`` is not 1 run, ``runs: "20"`` and ``runs: 2.0`` are not integers, ``ipw: 1`` is not a
    boolean (lists may still be given for tuples, strings for dates)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        direct, items = _scalar_kinds(field.annotation)
        if not isinstance(value, list):
            problem = _coercion(value, direct)
            if problem is not None:
                raise ValueError(problem)
            return value
        for i, item in enumerate(value):
            problem = _coercion(item, items)
            if problem is not None:
                raise ConfigError(problem, field=str(i))  # named e.g. officers.1 (validation_error)
        return value


class AreasFileConfig(StrictModel):
    """An areas file (GeoJSON, GeoPackage, Shapefile, GeoParquet, or Parquet with WKB ``geometry``).

    See docs/your-own-city.md. The working CRS (metres) is ``crs`` when given, else the file's projected CRS,
    else the local UTM zone estimated from the data; which one is recorded with the results.
    """

    file: str = Field(description="path of the areas file (relative to the scenario file)")
    layer: str | None = Field(default=None, description="layer of a multi-layer file (GeoPackage)")
    id: str = Field(default="area_id", description="column holding a unique id of each area")
    name: str | None = Field(default=None, description="column holding a readable name (default: the id)")
    crs: str | None = Field(default=None, description="projected CRS in metres to work in, e.g. EPSG:32618")
    file_crs: str | None = Field(
        default=None, description="CRS of the file's coordinates if it declares none"
    )

    @field_validator("crs", "file_crs")
    @classmethod
    def _known_crs(cls, value: str | None) -> str | None:
        if value is not None:
            from pyproj import CRS
            from pyproj.exceptions import CRSError

            try:
                CRS.from_user_input(value)
            except CRSError:
                raise ValueError(f"unknown CRS {value!r} (e.g. EPSG:32618)") from None
        return value


class GridAreasSpec(StrictModel):
    """Square cells of ``size_m`` metres over some areas, each carrying the group of the area covering most
    of it (see :func:`fairpatrol.grid.cells.build_grid`)."""

    size_m: float = Field(gt=0, description="cell side in metres (e.g. 150, PredPol's box)")
    over: str | AreasFileConfig | None = Field(
        default=None, description="the areas cut into cells: a file, or the city's areas when omitted"
    )
    mask: Literal["auto", "all", "study"] = "auto"
    label_rule: Literal["majority", "first"] = "majority"


class GridAreasConfig(StrictModel):
    """``areas: {grid: {...}}``: generated square cells as the areas of a study."""

    grid: GridAreasSpec


class GroupsConfig(StrictModel):
    """How areas are put into groups (docs/your-own-city.md#groups).

    * ``column``: the value of a label column (``labels`` may rename values);
    * ``plurality``: the label whose count column is largest (``columns``: label → count column), ``tie``
      when two are equal (the Baltimore study's rule);
    * ``threshold``: ``labels[0]`` when ``column`` is at or below ``at`` (mean, median or a number), else
      ``labels[1]``;
    * ``quantile``: ``k`` classes of about equal size by ``column`` (lowest first).
    """

    rule: Literal["column", "plurality", "threshold", "quantile"]
    column: str | None = Field(default=None, description="the attribute (column, threshold, quantile)")
    columns: dict[str, str] | None = Field(default=None, description="plurality: label -> count column")
    labels: list[str] | dict[str, str] | None = Field(
        default=None, description="threshold/quantile: names low to high; column: value -> name"
    )
    at: float | Literal["mean", "median"] = Field(default="median", description="threshold cut")
    k: int = Field(default=4, ge=2, le=20, description="quantile: number of classes")
    tie: str = Field(default="tie", description="plurality: label when the largest counts are equal")
    description: str | None = Field(default=None, description="how the groups were defined, in words")

    @model_validator(mode="after")
    def _complete(self) -> GroupsConfig:
        if self.rule == "plurality":
            if not self.columns or len(self.columns) < 2:
                raise ValueError("the plurality rule needs 'columns': at least two label: count-column pairs")
        elif not self.column:
            raise ValueError(f"the {self.rule} rule needs 'column'")
        if self.rule == "threshold" and isinstance(self.labels, list) and len(self.labels) != 2:
            raise ValueError("threshold labels: two names, at or below the cut first")
        if self.rule == "quantile" and isinstance(self.labels, list) and len(self.labels) != self.k:
            raise ValueError(f"quantile labels: {self.k} names (k), lowest first")
        if self.rule in ("threshold", "quantile") and isinstance(self.labels, dict):
            raise ValueError(f"{self.rule} labels are a list of names, lowest first")
        return self


class ColumnsConfig(StrictModel):
    """Which column of an incident table holds what (names as in the file's header)."""

    time: str | None = Field(default=None, description="date and time (or the time of day with 'date')")
    date: str | None = Field(default=None, description="the date, when the time of day is in 'time'")
    lat: str | None = None
    lon: str | None = None
    x: str | None = Field(default=None, description="projected x (with incidents.crs)")
    y: str | None = Field(default=None, description="projected y (with incidents.crs)")
    crime_type: str | None = None
    crime_code: str | None = None
    id: str | None = Field(default=None, description="case number or incident id (deduplication)")
    area: str | None = Field(default=None, description="the source's own area label (compared, not used)")


class IncidentsConfig(StrictModel):
    """An incident table (CSV or Parquet) and how to read it (docs/your-own-city.md#incidents)."""

    file: str = Field(description="path of the incident table (relative to the scenario file)")
    layout: str = Field(
        default="auto", description="auto (sniffed from the header), table, a recognised export, or custom"
    )
    columns: ColumnsConfig | None = Field(default=None, description="column mapping (overrides the layout)")
    crs: str | None = Field(default=None, description="CRS of x/y columns (lat/lon are WGS84 degrees)")
    timezone: str | None = Field(
        default=None, description="IANA zone (e.g. America/Chicago): times with an offset are converted to it"
    )
    default_crime_type: str = Field(default="unspecified", description="crime type when no column holds one")
    dedupe: Literal["id", "fields", "none"] = Field(
        default="id", description="one incident per id (fields where no id), per identical fields, or none"
    )
    on_missing_coords: Literal["error", "drop"] = "error"
    on_bad_dates: Literal["error", "drop"] = "error"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (e.g. America/Chicago, UTC)") from None
        return value

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str | None) -> str | None:
        return AreasFileConfig._known_crs(value)

    @model_validator(mode="after")
    def _coordinates(self) -> IncidentsConfig:
        c = self.columns
        if c is not None and (c.x or c.y) and not self.crs:
            raise ValueError("x/y columns need the CRS they are in: incidents.crs (e.g. EPSG:2248)")
        if c is not None and bool(c.x) != bool(c.y):
            raise ValueError("give both x and y columns")
        if c is not None and bool(c.lat) != bool(c.lon):
            raise ValueError("give both lat and lon columns")
        return self


#: Path elements pydantic adds for the members of a union (``float | str``), not keys of the file.
_UNION_TAG = re.compile(r"^(constrained-)?(float|int|str|bool|tuple)$|\[|^[A-Z]\w*(Config|Spec)$")
#: Errors of a union member the value is plainly not (a mapping given where text is also allowed).
_WRONG_BRANCH = {"string_type", "dict_type", "model_type", "model_attributes_type", "tuple_type", "list_type"}


def _where(e: Any) -> str:
    return ".".join(str(p) for p in e["loc"] if not (isinstance(p, str) and _UNION_TAG.search(p)))


def validation_error(err: ValidationError, source: str) -> ConfigError:
    """The first problem of a pydantic error as a one-line :class:`ConfigError` naming source and field.

    Of a union (``incidents: name | {file, columns, ...}``), the member the value was meant for is reported.
    A :class:`ConfigError` raised inside a validator keeps its message, and its field is appended to the
    validator's location (``models`` + ``ShortTermKDE.bandwidth``).
    """
    errors = err.errors()
    first = next((e for e in errors if e["type"] not in _WRONG_BRANCH), errors[0])
    loc = _where(first) or None
    inner = (first.get("ctx") or {}).get("error")
    msg = first["msg"]
    if isinstance(inner, ConfigError):
        loc = ".".join(x for x in (loc, inner.field) if x) or None
        msg = inner.message
    elif first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    elif first["type"] in ("value_error", "assertion_error"):
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if first["type"] in ("int_type", "float_type", "bool_type", "string_type", "list_type", "dict_type"):
        msg += f", got {first['input']!r}"
    others = {_where(e) for e in errors if e is not first and e["type"] not in _WRONG_BRANCH} - {loc}
    extra = f" (and {len(others)} more problem(s))" if others else ""
    return ConfigError(msg + extra, source=source, field=loc)


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping and impossible calendar dates.

    PyYAML keeps the last of two equal keys silently and raises a bare ``ValueError`` for ``2019-02-30``;
    both become errors with the line (:func:`parse_yaml`).
    """


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice (first on line {first + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


def _construct_timestamp(loader: StrictLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as err:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a calendar date ({err})", node.start_mark
        ) from None


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def parse_yaml(text: str, source: str) -> Any:
    """Strict YAML (:class:`StrictLoader`) with a one-line ConfigError naming the source and line."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        raise ConfigError(f"{line}not valid YAML: {problem}", source=source) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", source=source) from None
