"""The PF/RAF study's own cells and group labels on a fairpatrol grid (``grid.groups: reference``).

The bundled reference grids (:func:`fairpatrol.grid.cells.load_reference_grid`) are the authors' group
masks. Their notebooks labelled each 1 km square of a rectangle anchored at the lower-left corner of the
study areas with the group of the *first area, in the row order of their boundary file, whose polygon
intersects the square* (touching counts; ``GeoDataFrame[square.intersects(...)]...[0]``), and left out the
squares that touch no area. Chicago's groups split the 77 community areas at per-capita income ≤ 21,323
(the median; the paper's text says the mean), Bogotá's are the paper's localidad lists. Rebuilding that
rule from the authors' files reproduces every label of both reference grids (docs/grid.md, "Grid").
"""

from __future__ import annotations

import dataclasses

import numpy as np
import shapely

from fairpatrol.errors import DataError
from fairpatrol.grid.cells import Grid, ReferenceGrid, compare_with_reference


def with_reference_groups(grid: Grid, reference: ReferenceGrid) -> Grid:
    """``grid`` restricted to the reference grid's cells, each with the reference's group label.

    Reference label +1 (protected) becomes ``grid.group_pair[0]``, −1 ``grid.group_pair[1]``; squares
    labelled 0 are outside the study. Raises :class:`DataError` when a reference cell is not a cell of
    ``grid`` (another lattice, or a grid masked to fewer areas).
    """
    comparison = compare_with_reference(grid, reference)  # also checks the CRS and the lattice
    if comparison.only_reference:
        raise DataError(
            f"{comparison.only_reference} cells of the {reference.city} reference grid are not cells of "
            "this grid (use grid.mask: all or study and the default origin)",
            field="grid.groups",
        )
    inside = reference.regions != 0
    centres = shapely.centroid(reference.geometry[inside])
    cells = grid.locate(shapely.get_x(centres), shapely.get_y(centres))
    labels = np.where(reference.regions[inside] == 1, grid.group_pair[0], grid.group_pair[1])
    order = np.argsort(cells, kind="stable")
    cells, labels = cells[order], labels[order]
    frame = grid.frame.iloc[cells].reset_index(drop=True)
    frame["group"] = labels.astype(object)
    geometry = grid.geometry[cells]
    geometry.flags.writeable = False
    return dataclasses.replace(grid, frame=frame, geometry=geometry, label_rule="reference")
