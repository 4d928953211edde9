"""Evaluation configs of the grid framework: YAML → validated settings, one-line errors naming the field.

A config (``fairpatrol evaluate my-eval.yaml`` or a preset in ``fairpatrol/presets/grid/``)::

    name: chicago-grid
    data: {city: chicago, incidents: chicago-theft, group_rule: mean}
    grid: {cell_size: 1000, mask: auto, label_rule: majority}
    start: 2022-10-10
    days: 365
    algorithms: [NaiveKDE, TimeSpaceKDE, SEPP]
    models: {TimeSpaceKDE: {beta: 0.1}, SEPP: {trigger: gaussian}}
    coverage: {start: 0.01, stop: 0.30, step: 0.005}
    map_day: null        # the day drawn on the map (default: the first day)
    exclude_days: []     # days not evaluated: dates or [first, last] ranges (still used for training)
    low_count_days: {action: exclude, ratio: 0.1, p_value: 1.0e-6, span: 14}
    metrics: {gini: printed, pf_ranking: forecast, selection: ceil, precision_cap: false, emd: spatial}

``grid.groups: reference`` labels the cells with the bundled reference grid of the PF/RAF study and keeps
only its cells; ``metrics`` reproduces the authors' metric code where it departs from the paper's text.
Every default is the stated method; docs/grid.md ("Paper settings") says what each switch changes.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from fairpatrol.config import (
    MAX_DAYS,
    DataConfig,
    Date,
    GridAreasConfig,
    Located,
    StrictModel,
    parse_yaml,
    read_yaml_file,
    validation_error,
)
from fairpatrol.errors import ConfigError

PRESET_DIR = "grid"


class GridSettings(StrictModel):
    """How the grid is cut (see :func:`fairpatrol.grid.cells.build_grid`)."""

    cell_size: float = Field(default=1000.0, gt=0, description="cell side in metres")
    mask: Literal["auto", "all", "study"] = "auto"
    label_rule: Literal["majority", "first"] = "majority"
    groups: Literal["areas", "reference"] = Field(
        default="areas",
        description="areas: each cell takes the group of its area (label_rule); reference: the cells and "
        "group labels of the bundled reference grid of the PF/RAF study (its group masks)",
    )


class CoverageSettings(StrictModel):
    """Coverage fractions start, start + step, …, stop (inclusive)."""

    start: float = Field(default=0.01, gt=0, le=1)
    stop: float = Field(default=0.30, gt=0, le=1)
    step: float = Field(default=0.005, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> CoverageSettings:
        if self.stop < self.start:
            raise ValueError("coverage.stop must be ≥ coverage.start")
        if (self.stop - self.start) / self.step > 10_000:
            raise ValueError("more than 10,000 coverage levels")
        return self

    def levels(self) -> np.ndarray:
        """The coverage fractions (rounded to 1e-9 so that 0.01 + 0.005 k prints as written)."""
        n = int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return np.round(self.start + self.step * np.arange(n), 9)


class MetricSettings(StrictModel):
    """How the fairness metrics are computed (:mod:`fairpatrol.grid.metrics`). The defaults follow the
    PF/RAF paper's text; the alternatives reproduce its authors' code (docs/grid.md, "Paper settings")."""

    gini: Literal["printed", "coefficient"] = Field(
        default="printed",
        description="printed: |f1 - f2| / (f1 + f2) as printed; coefficient: the Gini coefficient "
        "sum|fi - fj| / (2 n sum f), half of it for two groups (the authors' code and Fig. 4)",
    )
    pf_ranking: Literal["forecast", "observed"] = Field(
        default="forecast",
        description="cells of G* for the PF benefit: the top cells by forecast (the text) or by observed "
        "crime (the authors' code)",
    )
    selection: Literal["ceil", "floor"] = Field(
        default="ceil",
        description="cells in G* at coverage k: ceil(k n), at least one; floor(k n) as the authors' int(n p)",
    )
    precision_cap: bool = Field(
        default=False,
        description="cut G* to the group's cells with a crime that day and skip zero-forecast cells "
        "(the authors' f_benefit_k_most)",
    )
    emd: Literal["spatial", "values"] = Field(
        default="spatial",
        description="spatial: Earth Mover's Distance in metres between the maps; values: the 1-D distance "
        "between the lists of cell shares that the authors' code computed (blind to location)",
    )


class LowCountDays(StrictModel):
    """Days with anomalously few incidents (a gap in the records, a partial last day): how to find them and
    what to do. A day is flagged when its count is below ``ratio`` × the median count of the ``span`` days
    on either side and a Poisson count with that median would be that low with probability < ``p_value``.
    """

    action: Literal["exclude", "keep"] = Field(
        default="exclude",
        description="exclude: the day is not evaluated (its records are not a complete ground truth); "
        "keep: it is evaluated. Either way it is listed as a warning.",
    )
    ratio: float = Field(default=0.1, gt=0, lt=1)
    p_value: float = Field(default=1e-6, gt=0, lt=1)
    span: int = Field(default=14, ge=3, le=183)


class EvaluateConfig(Located):
    """A rolling evaluation: daily forecasts of each model over ``days`` days from ``start``.

    The grid is ``data.areas`` when that is a grid (``areas: {grid: {size_m: 1000}}``, the same grid a
    ``fairpatrol run`` can use), else cut from the data's areas with the ``grid`` settings.
    """

    name: str = "grid-evaluation"
    description: str = ""
    data: DataConfig
    grid: GridSettings = GridSettings()
    start: Date
    days: int = Field(ge=1, le=MAX_DAYS)
    algorithms: list[str] = Field(default_factory=lambda: ["NaiveKDE", "TimeSpaceKDE", "SEPP"], min_length=1)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    coverage: CoverageSettings = CoverageSettings()
    map_day: Date | None = None
    exclude_days: list[Date | tuple[Date, Date]] = Field(
        default_factory=list,
        description="days not evaluated (a date, or [first, last] inclusive); still used for training",
    )
    low_count_days: LowCountDays = LowCountDays()
    metrics: MetricSettings = MetricSettings()

    @field_validator("algorithms", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    @field_validator("algorithms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from fairpatrol.grid.models import GRID_MODELS

        for name in value:
            if name not in GRID_MODELS:
                raise ValueError(f"unknown grid model {name!r} (known: {', '.join(GRID_MODELS)})")
        if len(set(value)) != len(value):
            raise ValueError("a model is listed twice")
        return value

    @field_validator("models")
    @classmethod
    def _params(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from fairpatrol.grid.models import GRID_MODELS
        from fairpatrol.models.base import check_model_settings

        check_model_settings(GRID_MODELS, value)
        return value

    @model_validator(mode="after")
    def _map_day(self) -> EvaluateConfig:
        if isinstance(self.data.areas, GridAreasConfig) and "grid" in self.model_fields_set:
            raise ValueError("give the grid once: in data.areas.grid or in grid, not both")
        for item in self.exclude_days:
            if isinstance(item, tuple) and item[1] < item[0]:
                raise ValueError(f"exclude_days: the range {item[0]} .. {item[1]} ends before it begins")
        if not self.evaluated_days():
            raise ValueError("exclude_days leaves no day of the period to evaluate")
        if self.map_day is not None and self.map_day not in self.evaluated_days():
            raise ValueError("map_day must be one of the evaluated days")
        return self

    def excluded(self) -> set[dt.date]:
        """The days of ``exclude_days`` (ranges expanded)."""
        out: set[dt.date] = set()
        for item in self.exclude_days:
            first, last = item if isinstance(item, tuple) else (item, item)
            out.update(first + dt.timedelta(days=k) for k in range((last - first).days + 1))
        return out

    def evaluated_days(self) -> list[dt.date]:
        """The days of the period that are not in ``exclude_days``, in order."""
        skip = self.excluded()
        days = (self.start + dt.timedelta(days=k) for k in range(self.days))
        return [d for d in days if d not in skip]

    @property
    def end(self) -> dt.date:
        """The day after the last evaluated day."""
        return self.start + dt.timedelta(days=self.days)

    def model(self, name: str):
        """A fresh estimator with this config's settings; daily refits of SEPP warm-start by default."""
        from fairpatrol.grid.models import GRID_MODELS, SEPP

        params = dict(self.models.get(name, {}))
        if GRID_MODELS[name] is SEPP:
            params.setdefault("warm_start", True)
        return GRID_MODELS[name](**params)


def parse_evaluate(
    raw: Any, source: str = "<evaluate config>", *, base_dir: str | Path | None = None, **overrides: Any
) -> EvaluateConfig:
    """Validate a config mapping; ``overrides`` (start, days, algorithms…) that are not None replace keys;
    relative input paths are relative to ``base_dir``."""
    if not isinstance(raw, dict):
        raise ConfigError("an evaluation config must be a YAML mapping of keys to values", source=source)
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return EvaluateConfig.model_validate(merged).at(base_dir)
    except ValidationError as err:
        raise validation_error(err, source) from None


def load_evaluate(path: str | Path, **overrides: Any) -> EvaluateConfig:
    """Read and validate an evaluation config file (input paths are relative to its folder)."""
    p = Path(path)
    return parse_evaluate(
        read_yaml_file(p, "evaluation config"), source=str(p), base_dir=p.parent, **overrides
    )


def evaluate_preset_names() -> list[str]:
    """Names of the built-in evaluation presets."""
    folder = resources.files("fairpatrol.presets").joinpath(PRESET_DIR)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_evaluate_preset(name: str, **overrides: Any) -> EvaluateConfig:
    """A built-in evaluation by name (``fairpatrol/presets/grid/NAME.yaml``)."""
    names = evaluate_preset_names()
    if name not in names:
        raise ConfigError(f"unknown preset {name!r} (known: {', '.join(names)})", field="preset")
    res = resources.files("fairpatrol.presets").joinpath(PRESET_DIR, f"{name}.yaml")
    source = f"preset {name}"
    return parse_evaluate(parse_yaml(res.read_text(encoding="utf-8"), source), source=source, **overrides)
