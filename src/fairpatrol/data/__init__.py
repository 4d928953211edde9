"""Data layer: areas with group labels, tidy incidents, the city registry, readers, spatial joins.

A study's areas and incidents come from a scenario's ``data`` section through :func:`load_data`, for a
bundled city pack (``fairpatrol/cities/*.yaml``, data in ``fairpatrol/datasets``) and a user's own files
alike (docs/your-own-city.md).
"""

from __future__ import annotations

from fairpatrol.data.area_files import load_areas
from fairpatrol.data.areas import Areas, read_areas_parquet
from fairpatrol.data.cities import city_names, get_city
from fairpatrol.data.incidents import (
    BUNDLED_INCIDENTS,
    CleaningLog,
    Incidents,
    clean_incidents,
    load_incident_file,
    load_incidents,
)
from fairpatrol.data.inputs import InputFile, StudyInputs, load_data
from fairpatrol.data.readers import layout_names, read_incident_table, sniff_layout
from fairpatrol.data.spatial import assign_areas, project

__all__ = [
    "BUNDLED_INCIDENTS",
    "Areas",
    "CleaningLog",
    "Incidents",
    "InputFile",
    "StudyInputs",
    "assign_areas",
    "city_names",
    "clean_incidents",
    "get_city",
    "layout_names",
    "load_areas",
    "load_data",
    "load_incident_file",
    "load_incidents",
    "project",
    "read_areas_parquet",
    "read_incident_table",
    "sniff_layout",
]
