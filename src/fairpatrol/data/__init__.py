"""Data layer: areas with group labels, tidy incidents, readers for public exports, spatial joins.

Bundled data lives in ``fairpatrol/datasets`` (provenance in its README.md) and is located with
``importlib.resources.files("fairpatrol.datasets")``.
"""

from __future__ import annotations

from fairpatrol.data.areas import Areas, load_areas
from fairpatrol.data.incidents import (
    BUNDLED_INCIDENTS,
    CleaningReport,
    Incidents,
    clean_incidents,
    load_incidents,
)
from fairpatrol.data.readers import (
    load_incident_file,
    read_chicago_crimes,
    read_incident_table,
    read_open_baltimore_part1,
)
from fairpatrol.data.spatial import assign_areas, project

__all__ = [
    "BUNDLED_INCIDENTS",
    "Areas",
    "CleaningReport",
    "Incidents",
    "assign_areas",
    "clean_incidents",
    "load_areas",
    "load_incident_file",
    "load_incidents",
    "project",
    "read_chicago_crimes",
    "read_incident_table",
    "read_open_baltimore_part1",
]
