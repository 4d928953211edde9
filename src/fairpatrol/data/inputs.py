"""The areas and incidents of a study, from a scenario's ``data`` section — one path for a bundled city
pack and for a user's own files (docs/your-own-city.md).

Paths in a scenario are relative to the scenario file (``base_dir``); messages name files by that relative
path, never by an absolute one. Every file read is listed with its SHA-256 (:class:`InputFile`), so that
results record what they were computed from (:func:`InputFile.record`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairpatrol.data.area_files import (
    load_areas_file,
    pack_areas,
    relative,
    resolve,
    sha256_of,
)
from fairpatrol.data.areas import Areas
from fairpatrol.data.cities import CityPack, get_city, is_city
from fairpatrol.data.incidents import (
    BUNDLED_INCIDENTS,
    Incidents,
    bundled_set,
    load_incidents,
    read_incidents,
)
from fairpatrol.errors import DataError
from fairpatrol.schema import AreasFileConfig, GridAreasConfig, GroupsConfig, IncidentsConfig

if TYPE_CHECKING:
    from fairpatrol.config import DataConfig


@dataclass(frozen=True)
class InputFile:
    """A file a study read: its role, where it is (absolute, in memory only) and its SHA-256."""

    role: str
    path: Path
    sha256: str

    def record(self, base_dir: Path | None) -> dict[str, str]:
        """``{role, path, sha256}`` with ``path`` relative to ``base_dir`` (the scenario's folder)."""
        return {"role": self.role, "path": relative(self.path, base_dir), "sha256": self.sha256}


@dataclass
class StudyInputs:
    """The areas and incidents of a study and the files they came from."""

    areas: Areas
    incidents: Incidents
    files: list[InputFile] = field(default_factory=list)


def _file_spec(value: str | AreasFileConfig) -> AreasFileConfig:
    return AreasFileConfig(file=value) if isinstance(value, str) else value


def _label(data: DataConfig, spec: AreasFileConfig | None) -> tuple[str | None, str]:
    """(name, display name) of a study on a user's areas file."""
    if data.city:
        return data.city.strip().lower().replace(" ", "-"), data.city.strip()
    stem = Path(spec.file).stem if spec is not None else "areas"
    return stem, stem


def study_areas(data: DataConfig, base_dir: Path | None) -> tuple[Areas, list[InputFile]]:
    """The areas a ``data`` section describes: a city pack, a user's file, or a grid over either."""
    groups = data.groups if data.groups is not None else data.group_rule
    spec = data.areas
    over = spec.grid.over if isinstance(spec, GridAreasConfig) else spec
    files: list[InputFile] = []
    if over is None:
        base = pack_areas(
            str(data.city),
            group_rule=groups,
            group_pair=None if isinstance(spec, GridAreasConfig) else data.group_pair,
        )
    else:
        file_spec = _file_spec(over)
        if groups is not None and not isinstance(groups, GroupsConfig):
            raise DataError("a group rule by name needs a bundled city", field="data.groups")
        name, display = _label(data, file_spec)
        base = load_areas_file(
            file_spec,
            base_dir=base_dir,
            groups=groups,
            pair=None if isinstance(spec, GridAreasConfig) else data.group_pair,
            name=name,
            display_name=display,
        )
        path = resolve(file_spec.file, base_dir)
        files.append(
            InputFile("grid.over" if isinstance(spec, GridAreasConfig) else "areas", path, sha256_of(path))
        )
    if not isinstance(spec, GridAreasConfig):
        return base, files
    from fairpatrol.grid.cells import build_grid

    g = spec.grid
    grid = build_grid(base, g.size_m, mask=g.mask, label_rule=g.label_rule, group_pair=data.group_pair)
    return grid, files


# ------------------------------------------------------------------------------------------- incidents
def study_incidents(
    data: DataConfig, areas: Areas, base_dir: Path | None
) -> tuple[Incidents, list[InputFile]]:
    """The incidents a ``data`` section describes, cleaned and joined to ``areas``."""
    from fairpatrol.data.cities import Layout
    from fairpatrol.data.readers import get_layout, sniff_layout

    inc = data.incidents
    common: dict[str, Any] = {
        "tolerance_m": data.tolerance_m,
        "crime_types": data.crime_types,
        "max_outside_share": data.max_outside_share,
    }
    if isinstance(inc, str) and inc in BUNDLED_INCIDENTS:
        return load_incidents(inc, areas=areas, **common), []
    spec = IncidentsConfig(file=inc, layout=data.format) if isinstance(inc, str) else inc
    path = resolve(spec.file, base_dir)
    source = relative(path, base_dir) if base_dir is not None else path.name
    from fairpatrol.data.geofiles import check_readable

    check_readable(path, source)
    name = spec.layout
    if name == "auto" and spec.columns is not None:
        name = "custom"
    base_layout = (
        None if name == "custom" else get_layout(sniff_layout(path, source) if name == "auto" else name)
    )
    if name == "auto":
        name = sniff_layout(path, source)
    if spec.columns is not None:
        given = {k: v for k, v in spec.columns.model_dump().items() if v is not None}
        if base_layout is not None:
            merged: dict[Any, Any] = {**base_layout.columns, **given}
            layout = base_layout.model_copy(
                update={"columns": merged, "optional": [k for k in base_layout.optional if k not in given]}
            )
        else:
            layout = Layout.model_validate({"description": "the scenario's column mapping", "columns": given})
    elif base_layout is not None:
        layout = base_layout
    else:
        raise DataError(
            "layout 'custom' needs the column mapping: give incidents.columns",
            source=source,
            field="incidents.layout",
        )
    incidents = read_incidents(
        path,
        name,
        layout,
        areas,
        source=source,
        id_prefix=path.stem.upper()[:12] or "INC",
        dedupe_on=spec.dedupe,
        timezone=spec.timezone,
        crs=spec.crs,
        default_crime_type=spec.default_crime_type,
        on_missing_coords=spec.on_missing_coords,
        on_bad_dates=spec.on_bad_dates,
        **common,
    )
    return incidents, [InputFile("incidents", path, sha256_of(path))]


def load_data(data: DataConfig, base_dir: Path | None = None) -> StudyInputs:
    """Areas and incidents of a ``data`` section (paths relative to ``base_dir``), with the files read."""
    areas, files = study_areas(data, base_dir)
    incidents, more = study_incidents(data, areas, base_dir)
    return StudyInputs(areas, incidents, files + more)


def bundled_city_of(data: DataConfig) -> CityPack | None:
    """The city pack a ``data`` section uses (for provenance notes), if any."""
    if isinstance(data.incidents, str) and data.incidents in BUNDLED_INCIDENTS:
        return bundled_set(data.incidents)[0]
    return get_city(data.city) if data.city is not None and is_city(data.city) else None


__all__ = [
    "InputFile",
    "StudyInputs",
    "load_areas_file",
    "load_data",
    "pack_areas",
    "relative",
    "resolve",
    "sha256_of",
    "study_areas",
    "study_incidents",
]
