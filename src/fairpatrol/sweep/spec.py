"""Sweep definitions: a base scenario crossed over overrides of any of its keys, expanded into cells.

A sweep file (YAML) names a base scenario (``base``: a preset name or a scenario file; or an inline
``scenario`` mapping), optional ``fixed`` overrides applied to every cell, ``grid`` axes crossed as a
Cartesian product, and optional ``cases`` (linked overrides, e.g. a city with its dataset and start date)
crossed with the grid as one more axis named ``case``. Keys are dotted paths into
:class:`fairpatrol.config.ScenarioConfig` (``report_probs``, ``data.crime_types``, ``models.PredPol.tol``);
they are checked against the scenario's fields, so keys the scenario gains later are sweepable unchanged.

A scalar given for a list-valued key (``report_probs: [0.0, 0.1]``) is one cell per value with a one-element
list; a list value (``officers: [[40, 400], [100]]``) is one cell per list. Each cell is a full
``ScenarioConfig`` validated by :func:`fairpatrol.config.parse_scenario`, identified by a readable slug plus a
hash of its resolved config (name and description excluded), so the same sweep run again finds its cells.

Seeds (``seeds``): ``independent`` (default) gives every world setting (a cell's overrides other than
``algorithms``) its own seed derived from the base seed, so the groups compared by a one-way ANOVA across a
parameter are independent samples, while algorithms of one setting still share their runs' random streams
(paired comparisons, see :func:`fairpatrol.sim.world.run_streams`). ``common`` keeps the base seed in every
cell (common random numbers across all cells). A swept ``seed`` key is used as given.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from fairpatrol.config import (
    ScenarioConfig,
    StrictModel,
    bundled_names,
    bundled_text,
    load_preset,
    load_scenario,
    map_data_paths,
    parse_scenario,
    parse_yaml,
    read_yaml_file,
    to_yaml_dict,
    validation_error,
)
from fairpatrol.errors import ConfigError

#: Swept keys whose values already appear as columns of every results table (under these names).
RESULT_COLUMNS = {"algorithms": "algorithm", "officers": "n_officers", "report_probs": "report_prob"}
#: Column names a swept parameter column may not take (they are result columns or the hive partition).
_RESERVED = {
    "cell",
    "scenario",
    "algorithm",
    "n_officers",
    "report_prob",
    "run",
    "date",
    "day",
    "area_id",
    "crimes",
    "officers",
    "detected",
    "reported",
    "metric",
    "statistic",
    "mean",
    "ci_low",
    "ci_high",
    "runs",
    "group_1",
    "group_2",
}
_SLUG_MAX = 48


class SweepSpec(StrictModel):
    """The sweep file, as written (see the module docstring)."""

    name: str = "sweep"
    description: str = ""
    base: str | None = Field(default=None, description="preset name or scenario file (relative to the sweep)")
    scenario: dict[str, Any] | None = Field(default=None, description="inline base scenario")
    fixed: dict[str, Any] = Field(default_factory=dict, description="overrides applied to every cell")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="crossed axes: key -> values")
    cases: list[dict[str, Any]] = Field(default_factory=list, description="linked overrides (axis 'case')")
    seeds: Literal["independent", "common"] = "independent"
    allocations: bool = Field(default=True, description="write the per-area allocations table")


@dataclass(frozen=True)
class SweepCell:
    """One cell: its id, the overrides that make it, its table columns and its validated scenario."""

    id: str
    slug: str
    overrides: dict[str, Any]
    columns: dict[str, Any]
    config: ScenarioConfig


@dataclass(frozen=True)
class SweepPlan:
    """An expanded sweep: the cells in execution order and the swept-parameter columns."""

    spec: SweepSpec
    source: str
    base: dict[str, Any]
    cells: list[SweepCell]
    columns: dict[str, str]  # table column -> swept key
    base_dir: Path | None = None  # the folder relative input paths are relative to (the sweep file's)

    @property
    def shared_areas(self) -> bool:
        """Whether every cell has the same areas (no ``data`` key is swept or fixed)."""
        keys = [*self.spec.fixed, *self.spec.grid, *(k for case in self.spec.cases for k in case)]
        return not any(k == "data" or k.startswith("data.") for k in keys)

    def manifest(self, out: str | Path | None = None) -> dict[str, Any]:
        """What ``DIR/sweep.yaml`` records: the definition, the resolved base and the cell table (input paths
        relative to the sweep file; ``inputs.scenario_dir`` is that folder relative to ``out``)."""
        from fairpatrol.data.inputs import relative

        source = Path(self.source).name if Path(self.source).is_absolute() else self.source
        inputs = {"scenario_dir": relative(Path(self.base_dir or Path.cwd()), Path(out))} if out else {}
        return {
            "fairpatrol_sweep": 1,
            "name": self.spec.name,
            "source": source,
            "inputs": inputs,
            "shared_areas": self.shared_areas,
            "definition": jsonable(self.spec.model_dump()),
            "base": self.base,
            "columns": self.columns,
            "cells": [
                {
                    "id": c.id,
                    "slug": c.slug,
                    "seed": c.config.seed,
                    "overrides": jsonable(c.overrides),
                    "columns": jsonable(c.columns),
                }
                for c in self.cells
            ],
        }


# --------------------------------------------------------------------------------------------- loading


def sweep_preset_names() -> list[str]:
    """Names of the built-in sweeps (``fairpatrol/presets/sweeps/NAME.yaml``)."""
    return bundled_names("sweeps")


def load_sweep(path: str | Path, **overrides: Any) -> SweepPlan:
    """Read a sweep YAML file and expand it (``overrides``: days, runs, seed as on the command line)."""
    p = Path(path)
    raw = read_yaml_file(p, "sweep")
    return parse_sweep(raw, source=str(p), base_dir=p.parent, **overrides)


def load_sweep_preset(name: str, **overrides: Any) -> SweepPlan:
    """A built-in sweep (``fairpatrol/presets/sweeps/NAME.yaml``)."""
    text = bundled_text(name, "sweeps", what="sweep preset")
    return parse_sweep(parse_yaml(text, f"sweep preset {name}"), source=f"sweep preset {name}", **overrides)


def parse_sweep(
    raw: Any, *, source: str = "<sweep>", base_dir: Path | None = None, **overrides: Any
) -> SweepPlan:
    """Validate a sweep mapping and expand it into cells (see the module docstring)."""
    if not isinstance(raw, dict):
        raise ConfigError("a sweep must be a YAML mapping of keys to values", source=source)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as err:
        raise validation_error(err, source) from None
    base_dir = base_dir or Path.cwd()
    base = _base_scenario(spec, source, base_dir)
    cli = {k: v for k, v in overrides.items() if v is not None}
    return _expand(spec, source, base_dir, base, cli)


def _base_scenario(spec: SweepSpec, source: str, base_dir: Path) -> dict[str, Any]:
    """The base scenario, validated and fully resolved (every default explicit)."""
    if (spec.base is None) == (spec.scenario is None):
        raise ConfigError(
            "give exactly one of 'base' (preset or file) and 'scenario'", source=source, field="base"
        )
    if spec.scenario is not None:
        config = parse_scenario(copy.deepcopy(spec.scenario), source=f"{source}: scenario", base_dir=base_dir)
    else:
        from fairpatrol.config import preset_names

        assert spec.base is not None  # exactly one of the two, checked above
        candidate = base_dir / spec.base
        if spec.base.endswith((".yaml", ".yml")) or candidate.exists():
            config = load_scenario(candidate)
        elif spec.base in preset_names():
            config = load_preset(spec.base)
        else:
            raise ConfigError(
                f"{spec.base!r} is neither a preset ({', '.join(preset_names())}) nor a scenario file",
                source=source,
                field="base",
            )
    return rebased(config, base_dir)


def rebased(config: ScenarioConfig, base_dir: Path) -> dict[str, Any]:
    """``to_yaml_dict(config)`` with its input paths relative to ``base_dir`` (the sweep file's folder)
    instead of the base scenario's own folder."""
    from fairpatrol.data.inputs import relative, resolve

    doc = to_yaml_dict(config)
    if config.base_dir is not None:
        doc["data"] = map_data_paths(doc["data"], lambda p: relative(resolve(p, config.base_dir), base_dir))
    return doc


# --------------------------------------------------------------------------------------- dotted keys


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of an annotation (``X | None`` → [X, NoneType]; ``Annotated`` unwrapped)."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _unwrap(arg)]
    return [annotation]


def key_is_list(key: str, *, source: str, where: str) -> bool:
    """Check a dotted scenario key against the scenario's fields; whether it holds a list.

    Raises a :class:`ConfigError` naming the sweep and ``where`` (e.g. ``grid.data.crimetypes``) for a
    key the scenario does not have.
    """
    model: type[BaseModel] = ScenarioConfig
    parts = key.split(".")
    for i, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            known = ", ".join(fields)
            prefix = ".".join(parts[:i])
            scope = f" under {prefix!r}" if prefix else ""
            raise ConfigError(
                f"unknown scenario key {key!r}{scope} (known: {known})", source=source, field=where
            )
        options = _unwrap(fields[part].annotation)
        if i == len(parts) - 1:
            return any(typing.get_origin(o) is list for o in options)
        sub = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
        if sub:  # of a union of models (data.areas: file or grid), the one that has the next key
            model = next((m for m in sub if parts[i + 1] in m.model_fields), sub[0])
            continue
        if any(typing.get_origin(o) is dict for o in options):
            return False  # free-form mapping (models.<algorithm>.<param>): parse_scenario checks it
        raise ConfigError(f"{'.'.join(parts[: i + 1])!r} has no sub-keys", source=source, field=where)
    return False  # pragma: no cover - loop always returns


def _set_path(raw: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[parts[-1]] = value


def _cell_value(value: Any, is_list: bool) -> Any:
    """A swept value as the scenario key takes it: scalars of list keys become one-element lists."""
    if is_list and value is not None and not isinstance(value, list):
        return [value]
    return value


# ------------------------------------------------------------------------------------------ expansion


def _axes(spec: SweepSpec, source: str, base_dir: Path) -> list[tuple[str, list[dict[str, Any]], list[Any]]]:
    """Axes in crossing order: (name, per-value overrides, per-value labels for slug and column)."""
    axes: list[tuple[str, list[dict[str, Any]], list[Any]]] = []
    if spec.cases:
        overrides, labels = [], []
        for i, case in enumerate(spec.cases):
            body = {k: v for k, v in case.items() if k != "case"}
            if not body:
                raise ConfigError("a case needs at least one override", source=source, field=f"cases.{i}")
            ov = {}
            for key, value in body.items():
                is_list = key_is_list(key, source=source, where=f"cases.{i}.{key}")
                ov[key] = _cell_value(value, is_list)
            label = case.get("case", _slug_part(list(body.values())))
            if not isinstance(label, str | int | float):
                raise ConfigError("a case label must be a string", source=source, field=f"cases.{i}.case")
            overrides.append(ov)
            labels.append(str(label))
        if len(set(labels)) != len(labels):
            raise ConfigError("two cases have the same label", source=source, field="cases")
        axes.append(("case", overrides, labels))
    for key, values in spec.grid.items():
        where = f"grid.{key}"
        is_list = key_is_list(key, source=source, where=where)
        if not values:
            raise ConfigError("a grid axis needs at least one value", source=source, field=where)
        if key in spec.fixed:
            raise ConfigError(f"{key!r} is both fixed and swept", source=source, field=where)
        axes.append((key, [{key: _cell_value(v, is_list)} for v in values], list(values)))
    return axes


def _expand(
    spec: SweepSpec, source: str, base_dir: Path, base: dict[str, Any], cli: dict[str, Any]
) -> SweepPlan:
    axes = _axes(spec, source, base_dir)
    swept = {k for _, ovs, _ in axes for ov in ovs for k in ov}
    for key in cli:
        if key in swept:
            raise ConfigError(f"--{key} conflicts with the swept key {key!r}", source=source, field=key)
    fixed = {
        k: _cell_value(v, key_is_list(k, source=source, where=f"fixed.{k}")) for k, v in spec.fixed.items()
    }
    columns = _column_names(axes)
    cells: list[SweepCell] = []
    seen: dict[str, str] = {}
    for combo in itertools.product(*[range(len(ovs)) for _, ovs, _ in axes]):
        overrides: dict[str, Any] = {}
        labels: list[Any] = []
        col_values: dict[str, Any] = {}
        for (name, ovs, labs), j in zip(axes, combo, strict=True):
            overrides.update(ovs[j])
            labels.append(labs[j])
            column = columns.get(name)
            if column is not None:
                col_values[column] = labs[j]
        slug = _slug_part(labels) if labels else "base"
        raw = copy.deepcopy(base)
        for key, value in {**fixed, **cli, **overrides}.items():
            _set_path(raw, key, value)
        if spec.seeds == "independent" and "seed" not in swept:
            world = {k: v for k, v in overrides.items() if k != "algorithms"}
            raw["seed"] = derived_seed(int(raw["seed"]), world)
        raw["name"] = f"{spec.name}/{slug}"
        config = parse_scenario(raw, source=f"{source} (cell {slug})", base_dir=base_dir)
        cid = f"{slug}-{config_hash(config)}"
        if cid in seen:
            raise ConfigError(
                f"cells {seen[cid]!r} and {slug!r} resolve to the same scenario (a value listed twice?)",
                source=source,
                field="grid",
            )
        seen[cid] = slug
        cells.append(SweepCell(cid, slug, overrides, _typed_columns(col_values, axes, columns), config))
    return SweepPlan(spec, source, base, cells, {col: name for name, col in columns.items()}, base_dir)


def _column_names(axes: list[tuple[str, list[dict[str, Any]], list[Any]]]) -> dict[str, str]:
    """Axis name -> table column for the swept values (none for keys already in the results tables)."""
    out: dict[str, str] = {}
    for name, _, _ in axes:
        if name in RESULT_COLUMNS:
            continue
        col = re.sub(r"\W", "_", name.replace(".", "_"))
        if col in _RESERVED:
            col = f"param_{col}"
        out[name] = col
    return out


def _typed_columns(
    values: dict[str, Any], axes: list[tuple[str, list[dict[str, Any]], list[Any]]], columns: dict[str, str]
) -> dict[str, Any]:
    """Column values with one type per axis: numbers stay numbers, anything else becomes a label string."""
    out: dict[str, Any] = {}
    for name, _, labels in axes:
        col = columns.get(name)
        if col is None:
            continue
        value = values[col]
        if all(isinstance(v, bool) for v in labels):
            out[col] = bool(value)
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in labels):
            out[col] = float(value) if any(isinstance(v, float) for v in labels) else int(value)
        else:
            out[col] = _label(value)
    return out


def _label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(_label(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return json.dumps(jsonable(value), sort_keys=True)
    return str(value)


def _slug_part(values: list[Any]) -> str:
    """A short path- and hive-safe rendering of the values that make a cell (``PredPol-0.1``)."""
    parts = []
    for v in values:
        text = _label(v).replace(", ", "_")
        parts.append(re.sub(r"[^A-Za-z0-9._-]+", "", text) or "x")
    slug = "-".join(parts)
    return slug[:_SLUG_MAX].rstrip("-_.") or "cell"


def config_hash(config: ScenarioConfig) -> str:
    """First 10 hex digits of the SHA-256 of the resolved config (name and description excluded)."""
    doc = to_yaml_dict(config)
    doc.pop("name", None)
    doc.pop("description", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:10]


def derived_seed(base_seed: int, world: dict[str, Any]) -> int:
    """A 32-bit seed of one world setting: SHA-256 of (base seed, the setting's overrides)."""
    text = json.dumps([base_seed, jsonable(world)], sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def jsonable(value: Any) -> Any:
    """Plain YAML/JSON data (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
