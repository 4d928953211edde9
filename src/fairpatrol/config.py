"""Scenario files: YAML → validated settings (pydantic), with one-line errors naming file and field.

Reading is strict (docs/errors.md): a key given twice, an impossible calendar date (``2019-02-30``) or a
byte that is not UTF-8 is an error naming the file and line; ``true`` is not a number and ``1`` is not a
boolean (:class:`StrictModel`); numbers must be finite; sizes have upper bounds stated in the error
(:data:`MAX_DAYS`, :data:`MAX_RUNS`, :data:`MAX_OFFICERS`), and the memory a study needs is checked
against the memory available before it starts (:mod:`fairpatrol.sim.budget`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fairpatrol.errors import ConfigError
from fairpatrol.schema import (  # the shared building blocks, also importable from here
    AreasFileConfig,
    GridAreasConfig,
    GroupsConfig,
    IncidentsConfig,
    StrictModel,
    parse_yaml,
    validation_error,
)

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


class Located(StrictModel):
    """A config whose input paths are relative to the folder of the file it was read from (``base_dir``).

    The folder travels with the object but is no setting: it is not part of ``model_dump`` (a config's hash
    and the written ``config.yaml`` do not depend on where the files are).
    """

    _base_dir: Path | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths are resolved against (None: the working folder)."""
        return self._base_dir

    def at(self, base_dir: str | Path | None):
        """A copy whose relative input paths are resolved against ``base_dir``."""
        out = self.model_copy()
        out._base_dir = None if base_dir is None else Path(base_dir)
        return out


class DataConfig(StrictModel):
    """Which areas, groups and incidents a study replays (docs/your-own-city.md).

    ``city`` names a bundled city pack (``fairpatrol datasets``) whose areas, groups and incidents are the
    defaults; with ``areas`` given it is only the study area's name.
    """

    city: str | None = Field(default=None, description="a bundled city, or the name of your study area")
    areas: str | AreasFileConfig | GridAreasConfig | None = Field(
        default=None, description="an areas file, a mapping with its columns, or {grid: {size_m: 150}}"
    )
    groups: str | GroupsConfig | None = Field(
        default=None, description="a rule of the city pack by name, or a rule (column/plurality/...)"
    )
    group_rule: str | None = Field(default=None, description="a group rule of the city pack, by name")
    group_pair: tuple[str, str] | None = Field(
        default=None, description="the two groups compared by two-group gaps (default: the two largest)"
    )
    incidents: str | IncidentsConfig = Field(
        description="bundled dataset name (see `fairpatrol datasets`), a file path, or a mapping"
    )
    format: str = Field(default="auto", description="layout of an incident file given by path")
    crime_types: list[str] | None = Field(default=None, description="keep only these crime types")
    tolerance_m: float = Field(default=250.0, ge=0.0, description="snap distance for points outside areas")
    max_outside_share: Probability = Field(
        default=0.5, description="error when a larger share of located incidents falls outside every area"
    )
    allow_short_history: bool = Field(
        default=False, description="accept less history than a model's training window (recorded)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> DataConfig:
        from fairpatrol.data.cities import city_names, get_city

        if self.city is None and self.areas is None:
            raise ValueError("give data.city (a bundled city) or data.areas (your areas file)")
        if self.areas is None or (isinstance(self.areas, GridAreasConfig) and self.areas.grid.over is None):
            if self.city is None or self.city.strip().lower() not in city_names():
                where = "data.areas.grid.over or " if self.areas is not None else ""
                raise ValueError(
                    f"unknown city {self.city!r}; bundled: {', '.join(city_names())} (or give "
                    f"{where}data.areas: your areas file)"
                )
            pack = get_city(self.city)
            rule = self.group_rule if isinstance(self.groups, GroupsConfig) or self.groups is None else None
            for name in (self.groups if isinstance(self.groups, str) else None, rule):
                if name is not None and name.strip().lower() not in pack.groups.rules:
                    raise ValueError(
                        f"unknown group rule {name!r} for {pack.name}; "
                        f"expected one of {list(pack.groups.rules)}"
                    )
        elif isinstance(self.groups, str) or self.group_rule is not None:
            raise ValueError("a group rule by name needs a bundled city; give data.groups as a rule mapping")
        if self.groups is not None and self.group_rule is not None:
            raise ValueError("give either data.groups or data.group_rule, not both")
        if self.group_pair is not None and self.group_pair[0] == self.group_pair[1]:
            raise ValueError("group_pair names the same group twice")
        return self

    @property
    def incident_files(self) -> bool:
        """Whether the incidents are a file (not a bundled set)."""
        from fairpatrol.data.cities import bundled_incident_names

        return isinstance(self.incidents, IncidentsConfig) or self.incidents not in bundled_incident_names()


class WorldConfig(StrictModel):
    """World effects beyond the sources, all off by default (docs/world.md, "World effects")."""

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


#: The PredPol settings (:class:`fairpatrol.models.PredPol`) each PredPol switch of :class:`CompatConfig`
#: stands for: the published code's EM (``authors_code.md`` §3).
PREDPOL_COMPAT: dict[str, dict[str, Any]] = {
    "predpol_transposed_estep": {"e_step": "transposed"},
    "predpol_hour_units": {"units": "hour", "theta0": 0.2, "omega0": 0.3, "solver": "em"},
    "predpol_mu_renormalised": {"warm_mu": "renormalised"},
    "predpol_absolute_tolerance": {"stopping": "absolute", "solver": "em", "tol": 1e-3, "max_iter": 100},
    "predpol_midnight_intensity": {"forecast": "midnight"},
}


class CompatConfig(StrictModel):
    """Quirks of the published study's code (Semsar et al. 2026), each its own switch (docs/paper-compat.md).

    ``compat: semsar2026`` in a scenario turns all of them on, ``compat: none`` (or null) none. The
    ``predpol_*`` switches set PredPol's estimator settings (:data:`PREDPOL_COMPAT`); the others act on the
    simulated world (the engine takes this object itself and turns each switch into a hook,
    :mod:`fairpatrol.sim.compat`) and the metrics (``run_averaged_metrics``).
    """

    relative_detection: bool = False
    kde_sampling: bool = False
    long_term_leak: bool = False
    shared_reports: bool = False
    run_averaged_metrics: bool = False
    predpol_transposed_estep: bool = False
    predpol_hour_units: bool = False
    predpol_mu_renormalised: bool = False
    predpol_absolute_tolerance: bool = False
    predpol_midnight_intensity: bool = False

    def engine_switches(self) -> dict[str, bool]:
        """The switches of the simulated world and the metrics (not PredPol's settings)."""
        return {k: v for k, v in self.model_dump().items() if k not in PREDPOL_COMPAT}

    def model_settings(self, algorithm: str) -> dict[str, Any]:
        """The estimator settings the switches that are on give ``algorithm`` (PredPol's; none for others)."""
        if algorithm != "PredPol":
            return {}
        out: dict[str, Any] = {}
        for switch, settings in PREDPOL_COMPAT.items():
            if getattr(self, switch):
                out.update(settings)
        return out


COMPAT_PRESETS = {
    "none": dict.fromkeys(CompatConfig.model_fields, False),
    "semsar2026": dict.fromkeys(CompatConfig.model_fields, True),
}


class ScenarioConfig(Located):
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
        from fairpatrol.sim.victim_reporting import check_reporting_model

        context = info.context or {}
        paths = context.get("paths", {})  # files read from a local copy (Dask workers)
        for item in value:
            if isinstance(item, str):  # a CSV file relative to the scenario's folder
                check_reporting_model(item, context.get("base_dir"), paths.get(item))
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
        from fairpatrol.models.base import check_model_names

        check_model_names(MODELS, value)
        return value

    @field_validator("models")
    @classmethod
    def _model_params(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from fairpatrol.models import MODELS
        from fairpatrol.models.base import check_model_settings

        check_model_settings(MODELS, value)
        return value

    @model_validator(mode="after")
    def _compat_with_models(self) -> ScenarioConfig:
        """The compat switches and ``models`` together (a switch's settings under the study's own)."""
        for name in self.algorithms:
            try:
                self.model(name)._check()
            except ConfigError as err:
                switches = [k for k, v in self.compat.model_dump().items() if v and k in PREDPOL_COMPAT]
                why = f" (with compat: {', '.join(switches)})" if switches else ""
                raise ValueError(f"models.{name}.{err.field}: {err.message}{why}") from None
        return self

    def model(self, algorithm: str):
        """A fresh estimator for ``algorithm`` with this study's parameters: the settings the compat
        switches give it (:meth:`CompatConfig.model_settings`), overridden by ``models.<algorithm>``."""
        from fairpatrol.models import MODELS

        return MODELS[algorithm](
            **{**self.compat.model_settings(algorithm), **self.models.get(algorithm, {})}
        )


def parse_scenario(
    raw: Any,
    source: str = "<scenario>",
    *,
    base_dir: str | Path | None = None,
    paths: dict[str, str] | None = None,
    **overrides: Any,
) -> ScenarioConfig:
    """Validate a scenario mapping (e.g. from YAML); ``overrides`` (days, runs, seed…) replace keys;
    relative input paths are relative to ``base_dir`` (default: the working folder).

    ``paths`` maps file names given in ``report_probs`` to local copies that the checks read instead (a
    sweep cell on a Dask worker, :mod:`fairpatrol.sweep.worker`); the config keeps the names as written.
    """
    if not isinstance(raw, dict):
        raise ConfigError("a scenario must be a YAML mapping of keys to values", source=source)
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        base = None if base_dir is None else Path(base_dir)
        context = {"paths": paths or {}, "base_dir": base}
        return ScenarioConfig.model_validate(merged, context=context).at(base_dir)
    except ValidationError as err:
        raise validation_error(err, source) from None


def read_text_file(path: str | Path, what: str = "config", max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The text of a small input file (UTF-8, a BOM allowed), or a one-line error naming it: missing,
    a directory, unreadable, too large, or not UTF-8."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"is a directory; expected the {what} file", source=str(p))
    try:
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


def read_yaml_file(path: str | Path, what: str = "config") -> Any:
    """Read a YAML config file strictly (one-line errors for an unreadable file or bad YAML)."""
    return parse_yaml(read_text_file(path, what), str(path))


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
    """Read and validate a scenario YAML file (its input paths are relative to its folder); also a
    ``config.yaml`` written by ``fairpatrol run``, whose recorded package versions are compared with the
    installed ones."""
    p = Path(path)
    raw = read_yaml_file(p, "scenario")
    base_dir = p.parent
    if is_written_document(raw):  # paths relative to the scenario folder (inputs.scenario_dir)
        rel = (raw.get("inputs") or {}).get("scenario_dir") if isinstance(raw.get("inputs"), dict) else None
        base_dir = p.parent / rel if isinstance(rel, str) else base_dir
    return parse_scenario(scenario_part(raw, str(p)), source=str(p), base_dir=base_dir, **overrides)


#: Where a ``data`` section holds file paths (dotted, inside ``data``); bundled names are not paths.
DATA_PATH_KEYS = (
    "areas",
    "areas.file",
    "areas.grid.over",
    "areas.grid.over.file",
    "incidents",
    "incidents.file",
)


def map_data_paths(data: Any, fn) -> Any:
    """A copy of a raw ``data`` mapping with ``fn(path)`` applied to every file path it holds."""
    if not isinstance(data, dict):
        return data

    def walk(node: Any, parts: list[str]) -> Any:
        if not parts:
            return fn(node) if isinstance(node, str) and not _is_bundled(node) else node
        if not isinstance(node, dict) or parts[0] not in node:
            return node
        return {**node, parts[0]: walk(node[parts[0]], parts[1:])}

    out = dict(data)
    for key in DATA_PATH_KEYS:
        out = walk(out, key.split("."))
    return out


def _is_bundled(name: str) -> bool:
    from fairpatrol.data.cities import bundled_incident_names

    return name in bundled_incident_names()


def bundled_names(folder: str = "") -> list[str]:
    """Names of the YAML files bundled in ``fairpatrol/presets/<folder>`` (studies at the top, sweeps,
    evaluations and audit examples in their folders): the one registry of every kind of preset."""
    root = resources.files("fairpatrol.presets")
    root = root.joinpath(folder) if folder else root
    if not root.is_dir():
        return []
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def bundled_text(name: str, folder: str = "", *, what: str = "preset", field: str = "preset") -> str:
    """The YAML text of a bundled preset; a one-line error naming the known ones otherwise."""
    names = bundled_names(folder)
    if name not in names:
        raise ConfigError(f"unknown {what} {name!r} (known: {', '.join(names)})", field=field)
    root = resources.files("fairpatrol.presets")
    return (root.joinpath(folder) if folder else root).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def preset_names() -> list[str]:
    """Names of the built-in studies (``fairpatrol/presets/NAME.yaml``)."""
    return bundled_names()


def load_preset(name: str, **overrides: Any) -> ScenarioConfig:
    """A built-in study by name (``fairpatrol/presets/NAME.yaml``)."""
    source = f"preset {name}"
    return parse_scenario(parse_yaml(bundled_text(name), source), source=source, **overrides)


def to_yaml_dict(config: ScenarioConfig) -> dict[str, Any]:
    """The fully resolved config as plain YAML-able data (dates as ISO strings)."""
    return config.model_dump(mode="json")
