"""A small synthetic city of square areas, for examples, doctests and known-answer tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from fairpatrol.data.areas import Areas

#: A metric CRS for toy cities (UTM 18N, as Baltimore's areas), so readers can reproject to and from it.
TOY_CRS = "EPSG:32618"


def toy_areas(
    nx: int = 2,
    ny: int = 1,
    size_m: float = 100.0,
    groups: Sequence[str] | None = None,
    population: Sequence[float] | None = None,
    origin: tuple[float, float] = (0.0, 0.0),
) -> Areas:
    """``nx × ny`` square areas of side ``size_m`` (row-major from the south-west corner at ``origin``).

    Area ids are 'A0', 'A1', ...; ``groups`` default to alternating 'G1'/'G2'; ``population`` (default
    100 each) goes to column ``population``.

    Examples
    --------
    >>> a = toy_areas(2, 1)
    >>> a.ids.tolist(), a.groups.tolist(), a.frame["area_m2"].tolist()
    (['A0', 'A1'], ['G1', 'G2'], [10000.0, 10000.0])
    """
    m = nx * ny
    x0, y0 = origin
    ix, iy = np.arange(m) % nx, np.arange(m) // nx
    geoms = shapely.box(x0 + ix * size_m, y0 + iy * size_m, x0 + (ix + 1) * size_m, y0 + (iy + 1) * size_m)
    g = list(groups) if groups is not None else ["G1" if i % 2 == 0 else "G2" for i in range(m)]
    if len(g) != m:
        raise ValueError(f"groups needs {m} labels")
    pop = np.asarray(population if population is not None else np.full(m, 100.0), dtype=float)
    frame = pd.DataFrame(
        {
            "area_id": [f"A{i}" for i in range(m)],
            "name": [f"Area {i}" for i in range(m)],
            "group": g,
            "population": pop,
            "area_m2": shapely.area(geoms),
        }
    )
    geoms = np.asarray(geoms, dtype=object)
    geoms.flags.writeable = False
    labels = list(dict.fromkeys(g))
    pair = (labels[0], labels[1] if len(labels) > 1 else labels[0])
    return Areas(name="toy", crs=TOY_CRS, frame=frame, geometry=geoms, group_pair=pair, group_rule="given")
