"""An audit from its config: read the inputs it names, run it, and write a results directory.

:func:`load_audit_inputs` reads the city's areas and incidents (the ``data`` section, through the same
readers as a study: :func:`fairpatrol.data.load_data`), the targets and the population, recording every
file read with its SHA-256. :func:`run_configured_audit` runs :func:`fairpatrol.audit.run_audit` with the
config's settings and adds to the result's ``meta`` what a datasheet needs to say where the numbers come
from (targets' label and description, caveats, the incidents' cleaning report, the bundled data's
provenance). :func:`write_audit` writes the directory (:meth:`AuditResult.write`'s files and
``audit.yaml``, the config with the inputs and software versions) atomically, with the marker of kind
``audit``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fairpatrol.audit.config import AuditConfig
from fairpatrol.audit.groups import Population, read_population
from fairpatrol.audit.result import AuditResult
from fairpatrol.audit.run import STEPS, run_audit
from fairpatrol.audit.targets import TargetSet
from fairpatrol.data.areas import Areas
from fairpatrol.data.incidents import Incidents
from fairpatrol.data.inputs import InputFile, load_data, relative, resolve, sha256_of
from fairpatrol.errors import DataError

#: Steps before :func:`run_audit`'s own (:data:`fairpatrol.audit.run.STEPS`), for progress bars.
INPUT_STEPS = ("reading the areas and incidents", "reading the population", "reading the targets")
ALL_STEPS = (*INPUT_STEPS, *STEPS)
#: What the targets of each kind are called when the config gives no label.
DEFAULT_LABELS = {"zones": "patrol zones", "daily": "daily targets", "effort": "patrol effort"}

Progress = Callable[[int, str], None]


@dataclass
class AuditInputs:
    """Everything an audit reads, and the files it read them from."""

    areas: Areas
    incidents: Incidents
    targets: TargetSet
    population: Population | None
    files: list[InputFile] = field(default_factory=list)


def _checked_path(spec: str, base_dir: Path | None, role: str) -> tuple[Path, InputFile]:
    from fairpatrol.data.geofiles import check_readable

    path = resolve(spec, base_dir)
    check_readable(path, relative(path, base_dir) if base_dir is not None else path.name)
    return path, InputFile(role, path, sha256_of(path))


def load_audit_inputs(config: AuditConfig, progress: Progress | None = None) -> AuditInputs:
    """Read the areas, incidents, population and targets of ``config`` (one-line errors naming the file,
    field and row for anything wrong in them)."""

    def step(i: int) -> None:
        if progress is not None:
            progress(i, INPUT_STEPS[i])

    base = config.base_dir
    step(0)
    data = load_data(config.data, base)
    files = list(data.files)
    step(1)
    population = None
    pop = config.population
    if pop is not None:
        if pop.file is not None:
            path, record = _checked_path(pop.file, base, "population")
            files.append(record)
            population = read_population(data.areas, path, total=pop.total, area_column=pop.area_column)
        else:
            columns = list(pop.columns.values()) if isinstance(pop.columns, dict) else list(pop.columns or [])
            population = read_population(data.areas, columns, total=pop.total)
        names = pop.column_labels()
        if population is not None and names:
            population = dataclasses.replace(
                population, labels=tuple(names.get(c, c) for c in population.labels)
            )
    step(2)
    path, record = _checked_path(config.targets.file, base, "targets")
    files.append(record)
    targets = config.targets.read(data.areas, path)
    return AuditInputs(data.areas, data.incidents, targets, population, files)


def _data_record(config: AuditConfig, inputs: AuditInputs) -> dict[str, Any]:
    """Where the areas and incidents come from, in words (for the datasheet's provenance section)."""
    from fairpatrol.data.cities import provenance_notes
    from fairpatrol.data.incidents import BUNDLED_INCIDENTS, bundled_set
    from fairpatrol.data.inputs import bundled_city_of

    inc = config.data.incidents
    bundled = isinstance(inc, str) and inc in BUNDLED_INCIDENTS
    pack = bundled_city_of(config.data)
    return {
        "city": inputs.areas.title,
        "areas": inputs.areas.summary(),
        "incidents": {
            "name": inc if isinstance(inc, str) else Path(inc.file).name,
            "bundled": bundled,
            "description": bundled_set(inc)[1].description if isinstance(inc, str) and bundled else "",
            "crime_types": config.data.crime_types,
            "cleaning": inputs.incidents.cleaning.to_dict(),
        },
        "provenance": provenance_notes(pack) if pack is not None else "",
    }


def run_configured_audit(
    config: AuditConfig, inputs: AuditInputs | None = None, progress: Progress | None = None
) -> AuditResult:
    """Run the audit ``config`` describes (reading its inputs unless given); the result's ``meta`` also
    records the config's name, the targets' label, description and file, the caveats, the population's
    description and the data's provenance."""
    if inputs is None:
        inputs = load_audit_inputs(config, progress)
    offset = len(INPUT_STEPS)
    try:
        res = run_audit(
            inputs.areas,
            inputs.incidents,
            inputs.targets,
            population=inputs.population,
            settings=config.settings(),
            progress=None if progress is None else (lambda i, name: progress(offset + i, name)),
        )
    except DataError as err:
        if err.source == "audit settings":  # a setting of the config: name its file and key
            raise config.setting_error(err) from None
        raise
    t = config.targets
    res.meta.update(
        {
            "name": config.name,
            "description": config.description,
            "targets_info": {
                "kind": t.kind,
                "label": t.label or DEFAULT_LABELS[t.kind],
                "description": t.description or "",
                "file": relative(resolve(t.file, config.base_dir), config.base_dir),
            },
            "caveats": list(config.caveats),
            "population_description": (config.population.description if config.population else None) or "",
            "data": _data_record(config, inputs),
        }
    )
    return res


def audit_document(
    config: AuditConfig,
    inputs: AuditInputs,
    results_dir: str | Path | None,
    example: str | None = None,
) -> dict[str, Any]:
    """The config as written into a results directory (``audit.yaml``): every setting resolved, the files
    read (relative to the config's folder, with their SHA-256) and the software versions. ``inputs``
    says where the config's folder is from the results (``scenario_dir``, as a study's results say), or
    which bundled example it is (``example``)."""
    from fairpatrol.results.documents import input_section, relative_config, versions

    base = config.base_dir
    doc = relative_config(config)  # the data section's paths relative to the config's folder
    doc["targets"]["file"] = relative(resolve(config.targets.file, base), base)
    if config.population is not None and config.population.file is not None:
        doc["population"]["file"] = relative(resolve(config.population.file, base), base)
    record = input_section(config, inputs.files, None if example is not None else results_dir)
    if example is not None:
        record["example"] = example
    doc["inputs"] = record
    doc["versions"] = versions()
    return doc


def write_audit(
    result: AuditResult,
    config: AuditConfig,
    inputs: AuditInputs,
    out: str | Path,
    *,
    overwrite: bool = False,
    example: str | None = None,
) -> Path:
    """Write ``result`` and its config into the results directory ``out`` (atomically, marker ``audit``)."""
    from fairpatrol.atomic import atomic_directory

    out = Path(out)
    doc = audit_document(config, inputs, out, example)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    with atomic_directory(out, kind="audit", overwrite=overwrite) as tmp:
        result.write_into(tmp, extra={"audit.yaml": text})
    return out


__all__ = [
    "ALL_STEPS",
    "AuditInputs",
    "audit_document",
    "load_audit_inputs",
    "run_configured_audit",
    "write_audit",
]
