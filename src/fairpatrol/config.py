"""Scenario files: YAML → validated settings (pydantic), with one-line errors naming file and field."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fairpatrol.errors import ConfigError

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Officers = Annotated[int, Field(ge=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """Which incidents and areas a study replays."""

    city: Literal["baltimore", "chicago", "bogota"]
    incidents: str = Field(description="bundled dataset name (see `fairpatrol datasets`) or a file path")
    format: Literal["auto", "open-baltimore", "chicago-portal", "table"] = "auto"
    crime_types: list[str] | None = Field(default=None, description="keep only these crime types")
    tolerance_m: float = Field(default=250.0, ge=0.0, description="snap distance for points outside areas")
    group_rule: str | None = Field(default=None, description="group labelling rule (Chicago: mean|median)")


class ScenarioConfig(_Strict):
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
    report_probs: list[Probability] = Field(min_length=1)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)

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


def _format_validation(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or None
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    extra = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
    return ConfigError(msg + extra, source=source, field=loc)


def parse_scenario(raw: Any, source: str = "<scenario>", **overrides: Any) -> ScenarioConfig:
    """Validate a scenario mapping (e.g. from YAML); ``overrides`` (days, runs, seed…) replace keys."""
    if not isinstance(raw, dict):
        raise ConfigError("a scenario must be a YAML mapping of keys to values", source=source)
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ScenarioConfig.model_validate(merged)
    except ValidationError as err:
        raise _format_validation(err, source) from None


def load_scenario(path: str | Path, **overrides: Any) -> ScenarioConfig:
    """Read and validate a scenario YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the scenario file: {err.strerror}", source=str(p)) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {getattr(err, 'problem', err)}", source=str(p), row=row) from None
    if isinstance(raw, dict) and isinstance(raw.get("data"), dict):
        inc = raw["data"].get("incidents")
        # a relative incident path is relative to the scenario file
        if isinstance(inc, str) and not _is_bundled(inc) and not Path(inc).is_absolute():
            raw = {**raw, "data": {**raw["data"], "incidents": str((p.parent / inc).resolve())}}
    return parse_scenario(raw, source=str(p), **overrides)


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
