"""Scenario files: YAML → validated settings (pydantic), with one-line errors naming file and field."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fairpatrol.errors import ConfigError

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Officers = Annotated[int, Field(ge=1)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    report_delay_days: int = Field(default=0, ge=0, description="days before a report reaches the data")


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
    start: dt.date
    days: int = Field(ge=1)
    runs: int = Field(ge=1)
    seed: int = Field(default=20190101, ge=0)
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
    def _reporting_models(cls, value: list[float | str]) -> list[float | str]:
        from fairpatrol.sim.reporting import check_reporting_model

        for item in value:
            if isinstance(item, str):
                check_reporting_model(item)
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

    @model_validator(mode="after")
    def _model_params(self) -> ScenarioConfig:
        from fairpatrol.models import MODELS

        for name, params in self.models.items():
            if name not in MODELS:
                raise ValueError(f"models: unknown algorithm {name!r} (known: {', '.join(MODELS)})")
            allowed = MODELS[name]._param_names()
            for key in params:
                if key not in allowed:
                    raise ValueError(
                        f"models.{name}: unknown parameter {key!r} (allowed: {', '.join(allowed)})"
                    )
        return self

    def model(self, algorithm: str):
        """A fresh estimator for ``algorithm`` with this study's parameters."""
        from fairpatrol.models import MODELS

        return MODELS[algorithm](**self.models.get(algorithm, {}))


#: Path elements pydantic adds for the members of a union (``float | str``), not keys of the file.
_UNION_TAG = re.compile(r"^(constrained-)?(float|int|str|bool)$|\[")


def validation_error(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    parts = [str(p) for p in first["loc"] if not (isinstance(p, str) and _UNION_TAG.search(p))]
    loc = ".".join(parts) or None
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    others = {
        ".".join(str(p) for p in e["loc"] if not (isinstance(p, str) and _UNION_TAG.search(p)))
        for e in err.errors()[1:]
    } - {loc}
    extra = f" (and {len(others)} more problem(s))" if others else ""
    return ConfigError(msg + extra, source=source, field=loc)


def parse_scenario(raw: Any, source: str = "<scenario>", **overrides: Any) -> ScenarioConfig:
    """Validate a scenario mapping (e.g. from YAML); ``overrides`` (days, runs, seed…) replace keys."""
    if not isinstance(raw, dict):
        raise ConfigError("a scenario must be a YAML mapping of keys to values", source=source)
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ScenarioConfig.model_validate(merged)
    except ValidationError as err:
        raise validation_error(err, source) from None


def parse_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load`` with a one-line ConfigError naming the source and line of a syntax error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {getattr(err, 'problem', err)}", source=source, row=row) from None


def read_yaml_file(path: str | Path, what: str = "config") -> Any:
    """Read a YAML config file; a relative ``data.incidents`` path is made relative to the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the {what} file: {err.strerror}", source=str(p)) from None
    raw = parse_yaml(text, str(p))
    if isinstance(raw, dict) and isinstance(raw.get("data"), dict):
        inc = raw["data"].get("incidents")
        if isinstance(inc, str) and not _is_bundled(inc) and not Path(inc).is_absolute():
            raw = {**raw, "data": {**raw["data"], "incidents": str((p.parent / inc).resolve())}}
    return raw


def load_scenario(path: str | Path, **overrides: Any) -> ScenarioConfig:
    """Read and validate a scenario YAML file."""
    return parse_scenario(read_yaml_file(path, "scenario"), source=str(path), **overrides)


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
    return parse_scenario(
        yaml.safe_load(res.read_text(encoding="utf-8")), source=f"preset {name}", **overrides
    )


def to_yaml_dict(config: ScenarioConfig) -> dict[str, Any]:
    """The fully resolved config as plain YAML-able data (dates as ISO strings)."""
    return config.model_dump(mode="json")
