"""Scenario files: YAML → validated settings (pydantic), with one-line errors naming file and field.

Reading is strict (docs/errors.md): a key given twice, an impossible calendar date (``2019-02-30``) or a
byte that is not UTF-8 is an error naming the file and line; ``true`` is not a number and ``1`` is not a
boolean (pydantic strict mode); numbers must be finite; sizes have upper bounds stated in the error
(:data:`MAX_DAYS`, :data:`MAX_RUNS`, :data:`MAX_OFFICERS`), and the memory a study needs is checked
against the memory available before it starts (:mod:`fairpatrol.sim.budget`).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from fairpatrol.errors import ConfigError

#: Upper bounds of a study's size. Beyond them a study is a mistake rather than a plan (ten years of days,
#: ten thousand runs, a million officers, far more than any police force), and numbers this large would
#: overflow or exhaust memory before the memory check of fairpatrol.sim.budget could say so.
MAX_DAYS = 3650
MAX_RUNS = 10_000
MAX_OFFICERS = 1_000_000
MAX_SEED = 2**63 - 1
#: Calendar range of start dates (pandas timestamps end in 2262).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
#: Largest config file read (bytes): larger is not a config file.
MAX_CONFIG_BYTES = 10 * 2**20


def _date_input(value: Any) -> Any:
    """Dates are ``YYYY-MM-DD`` (a YAML date or a string); numbers and times of day are refused."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0) or value.tzinfo is not None:
            raise ValueError("expected a date (YYYY-MM-DD) without a time of day")
        value = value.date()
    if isinstance(value, dt.date):
        if not FIRST_DATE <= value <= LAST_DATE:
            raise ValueError(f"must be between {FIRST_DATE} and {LAST_DATE}")
        return value
    if isinstance(value, str):
        try:
            return _date_input(dt.date.fromisoformat(value.strip()))
        except ValueError as err:
            if "between" in str(err):
                raise
            raise ValueError(f"not a calendar date (YYYY-MM-DD): {value!r}") from None
    raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}")


#: A calendar date given as a YAML date or an ISO string (lax only in that respect).
Date = Annotated[dt.date, BeforeValidator(_date_input), Field(strict=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Officers = Annotated[int, Field(ge=1, le=MAX_OFFICERS)]


class StrictModel(BaseModel):
    """Settings read from a file: unknown keys are errors, no type coercion, finite numbers only."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class DataConfig(StrictModel):
    """Which incidents and areas a study replays."""

    city: Literal["baltimore", "chicago", "bogota"]
    incidents: str = Field(description="bundled dataset name (see `fairpatrol datasets`) or a file path")
    format: Literal["auto", "open-baltimore", "chicago-portal", "table"] = "auto"
    crime_types: list[str] | None = Field(default=None, description="keep only these crime types")
    tolerance_m: float = Field(default=250.0, ge=0.0, description="snap distance for points outside areas")
    group_rule: str | None = Field(default=None, description="group labelling rule (Chicago: mean|median)")


class WorldConfig(StrictModel):
    """World effects beyond the sources (SPEC §5), all off by default (docs/world.md)."""

    deterrence_elasticity: float = Field(
        default=0.0, ge=0.0, description="crime in an area with k officers is thinned by (1 + k)^(-ε)"
    )
    displacement: Probability = Field(
        default=0.0, description="share of deterred crimes that happen in a neighbouring area instead"
    )
    report_delay_days: int = Field(
        default=0, ge=0, le=MAX_DAYS, description="days before a report reaches the data"
    )


class RemedyConfig(StrictModel):
    """One remedy (a level of the scenario grid): corrected learning, a cap, or non-punitive units.

    See docs/world.md.
    """

    ipw: bool = Field(default=False, description="weight learned crimes by 1 / P(learned) (Ensign et al.)")
    ipw_max_weight: float = Field(default=20.0, ge=1.0)
    pcr_cap: float | None = Field(
        default=None, ge=1.0, description="no area gets more than ceil(cap · N · predicted share) officers"
    )
    prevention_share: Probability = Field(
        default=0.0, description="share of the N units that are non-punitive: they deter, detect nothing"
    )
    prevention_elasticity: float = Field(default=0.3, ge=0.0, description="ε of a prevention unit")


class CompatConfig(StrictModel):
    """Quirks of the published study's code (Semsar et al. 2026), each its own switch (docs/paper-compat.md).

    ``compat: semsar2026`` in a scenario turns all of them on.
    """

    relative_detection: bool = False
    kde_sampling: bool = False
    long_term_leak: bool = False
    shared_reports: bool = False
    run_averaged_metrics: bool = False


COMPAT_PRESETS = {"semsar2026": dict.fromkeys(CompatConfig.model_fields, True)}


class ScenarioConfig(StrictModel):
    """A study: data × start × horizon × runs, crossed over algorithms × officers × reporting rates."""

    name: str = "study"
    description: str = ""
    data: DataConfig
    start: Date
    days: int = Field(ge=1, le=MAX_DAYS)
    runs: int = Field(ge=1, le=MAX_RUNS)
    seed: int = Field(default=20190101, ge=0, le=MAX_SEED)
    detection_p: Probability = 0.5
    allocation: Literal["multinomial", "proportional"] = "multinomial"
    algorithms: list[str] = Field(min_length=1)
    officers: list[Officers] = Field(min_length=1)
    report_probs: list[Probability | str] = Field(
        min_length=1,
        description="uniform rates, or reporting models: 'bjs2019' (by crime type), 'area:COLUMN' (by "
        "area, from a column of the areas), or a CSV path with crime_type,rate or area_id,rate",
    )
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    world: WorldConfig = Field(default_factory=WorldConfig)
    remedies: dict[str, RemedyConfig] = Field(default_factory=lambda: {"none": RemedyConfig()}, min_length=1)
    compat: CompatConfig = Field(default_factory=CompatConfig)

    @field_validator("compat", mode="before")
    @classmethod
    def _compat_preset(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in COMPAT_PRESETS:
                raise ValueError(f"unknown compat preset {value!r} (known: {', '.join(COMPAT_PRESETS)})")
            return COMPAT_PRESETS[value]
        return {} if value is None else value

    @field_validator("report_probs")
    @classmethod
    def _reporting_models(cls, value: list[float | str], info: ValidationInfo) -> list[float | str]:
        from fairpatrol.sim.reporting import check_reporting_model

        paths = (info.context or {}).get("paths", {})  # files read from a local copy (Dask workers)
        for item in value:
            if isinstance(item, str):
                check_reporting_model(paths.get(item, item))
        return value

    @field_validator("remedies")
    @classmethod
    def _remedy_leaves_officers(cls, value: dict[str, RemedyConfig]) -> dict[str, RemedyConfig]:
        for name, remedy in value.items():
            if remedy.prevention_share >= 1.0:
                raise ValueError(f"remedy {name!r}: prevention_share must leave at least one officer")
        return value

    @field_validator("algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        from fairpatrol.models import MODELS

        for name in value:
            if name not in MODELS:
                raise ValueError(f"unknown algorithm {name!r} (known: {', '.join(MODELS)})")
        if len(set(value)) != len(value):
            raise ValueError("algorithms are listed twice")
        return value

    @field_validator("models")
    @classmethod
    def _model_params(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from fairpatrol.models import MODELS
        from fairpatrol.models.base import check_model_settings

        check_model_settings(MODELS, value)
        return value

    def model(self, algorithm: str):
        """A fresh estimator for ``algorithm`` with this study's parameters."""
        from fairpatrol.models import MODELS

        return MODELS[algorithm](**self.models.get(algorithm, {}))


#: Path elements pydantic adds for the members of a union (``float | str``), not keys of the file.
_UNION_TAG = re.compile(r"^(constrained-)?(float|int|str|bool)$|\[")


def validation_error(err: ValidationError, source: str) -> ConfigError:
    """The first problem of a pydantic error as a one-line :class:`ConfigError` naming source and field.

    A :class:`ConfigError` raised inside a validator keeps its message, and its field is appended to the
    validator's location (``models`` + ``ShortTermKDE.bandwidth``).
    """
    first = err.errors()[0]
    parts = [str(p) for p in first["loc"] if not (isinstance(p, str) and _UNION_TAG.search(p))]
    inner = (first.get("ctx") or {}).get("error")
    msg = first["msg"]
    if isinstance(inner, ConfigError):
        parts += [inner.field] if inner.field else []
        msg = inner.message
    elif first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    elif first["type"] in ("value_error", "assertion_error"):
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if first["type"] in ("int_type", "float_type", "bool_type", "string_type", "list_type", "dict_type"):
        msg += f", got {first['input']!r}"
    loc = ".".join(parts) or None
    others = {
        ".".join(str(p) for p in e["loc"] if not (isinstance(p, str) and _UNION_TAG.search(p)))
        for e in err.errors()[1:]
    } - {loc}
    extra = f" (and {len(others)} more problem(s))" if others else ""
    return ConfigError(msg + extra, source=source, field=loc)


def parse_scenario(
    raw: Any, source: str = "<scenario>", *, paths: dict[str, str] | None = None, **overrides: Any
) -> ScenarioConfig:
    """Validate a scenario mapping (e.g. from YAML); ``overrides`` (days, runs, seed…) replace keys.

    ``paths`` maps file paths named in the scenario to local copies that the checks read instead (a sweep
    cell on a Dask worker, :mod:`fairpatrol.sweep.worker`); the config keeps the names as written.
    """
    if not isinstance(raw, dict):
        raise ConfigError("a scenario must be a YAML mapping of keys to values", source=source)
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ScenarioConfig.model_validate(merged, context={"paths": paths or {}})
    except ValidationError as err:
        raise validation_error(err, source) from None


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


def read_text_file(path: str | Path, what: str = "config", max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The text of a small input file (UTF-8, a BOM allowed), or a one-line error naming it: missing,
    a directory, unreadable, too large, or not UTF-8."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError(f"is a directory; expected a {what} file", source=str(p))
        if p.stat().st_size > max_bytes:
            raise ConfigError(
                f"is {p.stat().st_size / 2**20:.0f} MiB; a {what} file is at most "
                f"{max_bytes / 2**20:.0f} MiB",
                source=str(p),
            )
        data = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read the {what} file: {err.strerror}", source=str(p)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(
            f"line {line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save the file as UTF-8",
            source=str(p),
        ) from None


def read_yaml_file(path: str | Path, what: str = "config", *, resolve_paths: bool = True) -> Any:
    """Read a YAML config file strictly; a relative ``data.incidents`` path is made relative to the file
    (unless ``resolve_paths`` is False)."""
    p = Path(path)
    raw = parse_yaml(read_text_file(p, what), str(p))
    if resolve_paths and isinstance(raw, dict) and isinstance(raw.get("data"), dict):
        inc = raw["data"].get("incidents")
        if isinstance(inc, str) and not _is_bundled(inc) and not Path(inc).is_absolute():
            raw = {**raw, "data": {**raw["data"], "incidents": str((p.parent / inc).resolve())}}
    return raw


def is_written_document(raw: Any) -> bool:
    """Whether ``raw`` is a config document fairpatrol wrote into a results directory (``config.yaml``,
    ``configs/<cell>.yaml``): it has the ``resolved`` and ``versions`` sections."""
    return (
        isinstance(raw, dict)
        and isinstance(raw.get("resolved"), dict)
        and isinstance(raw.get("versions"), dict)
    )


def scenario_part(raw: Any, source: str) -> Any:
    """The scenario of ``raw``: a written document (:func:`is_written_document`) loses its extra sections,
    after a warning when the package versions it records differ from this environment's."""
    if not is_written_document(raw):
        return raw
    from fairpatrol.environment import version_differences

    differ = version_differences(raw["versions"])
    if differ:
        from fairpatrol.errors import FairpatrolWarning

        warnings.warn(
            f"{source}: written with other package versions than installed here ({'; '.join(differ)}); "
            "the results may differ — install the recorded versions (requirements/lock.txt) to reproduce",
            FairpatrolWarning,
            stacklevel=2,
        )
    return {k: v for k, v in raw.items() if k in ScenarioConfig.model_fields}


def load_scenario(path: str | Path, **overrides: Any) -> ScenarioConfig:
    """Read and validate a scenario YAML file (also a ``config.yaml`` written by ``fairpatrol run``, whose
    recorded package versions are compared with the installed ones)."""
    raw = scenario_part(read_yaml_file(path, "scenario"), str(path))
    return parse_scenario(raw, source=str(path), **overrides)


def _is_bundled(name: str) -> bool:
    from fairpatrol.data import BUNDLED_INCIDENTS

    return name in BUNDLED_INCIDENTS


def preset_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files("fairpatrol.presets").iterdir()
        if p.name.endswith(".yaml")
    )


def load_preset(name: str, **overrides: Any) -> ScenarioConfig:
    """A built-in study by name (``fairpatrol/presets/NAME.yaml``)."""
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r} (known: {', '.join(preset_names())})", field="preset")
    res = resources.files("fairpatrol.presets").joinpath(f"{name}.yaml")
    source = f"preset {name}"
    return parse_scenario(parse_yaml(res.read_text(encoding="utf-8"), source), source=source, **overrides)


def to_yaml_dict(config: ScenarioConfig) -> dict[str, Any]:
    """The fully resolved config as plain YAML-able data (dates as ISO strings)."""
    return config.model_dump(mode="json")
