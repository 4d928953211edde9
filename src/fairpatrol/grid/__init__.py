"""Grid framework of the PF/RAF study of Bogotá and Chicago (docs/grid.md): grids masked to a city,
forecasts, fairness and accuracy metrics.

``cells`` builds the grid and compares it with the bundled reference grids; ``models`` holds the
estimators (:class:`NaiveKDE`, :class:`TimeSpaceKDE`, :class:`SEPP`); ``metrics`` the PF / RAF / EMD /
hit-rate / PAI functions; ``evaluate`` the rolling daily evaluation; ``output`` and ``plots`` its results
directory; ``config`` the validated evaluation configs and presets. See docs/grid.md.
"""

from __future__ import annotations

from fairpatrol.grid.cells import (
    Grid,
    GridComparison,
    ReferenceGrid,
    build_grid,
    compare_with_reference,
    load_reference_grid,
    read_grid_geojson,
)
from fairpatrol.grid.models import GRID_MODELS, SEPP, GridModel, NaiveKDE, TimeSpaceKDE

__all__ = [
    "GRID_MODELS",
    "SEPP",
    "Grid",
    "GridComparison",
    "GridModel",
    "NaiveKDE",
    "ReferenceGrid",
    "TimeSpaceKDE",
    "build_grid",
    "compare_with_reference",
    "load_reference_grid",
    "read_grid_geojson",
]
