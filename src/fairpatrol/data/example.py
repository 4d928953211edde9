"""Riverton, a small made-up city to learn with: an areas file and an incident table like a user's own.

:func:`write_example_city` writes, from a seed (so it is reproducible):

* ``wards.geojson``: 16 wards (``ward_id``, ``ward_name``, ``population``, ``median_income``) in a projected
  CRS (UTM zone 16N, metres). Ward W06 has a hole (a lake that belongs to no ward) and ward W16 is a
  MultiPolygon (with an island in the river);
* ``incidents.csv``: burglaries, thefts and robberies with a case number, the date and the time of day in
  two columns, and latitude/longitude (WGS84 degrees), so the incidents are in another CRS than the wards
  (``coords="xy"`` writes Web-Mercator metres instead). Some rows repeat (one per victim), a few lie in the
  lake (snapped to the nearest ward) or outside the city (dropped).

Incidents follow a self-exciting process per ward (:func:`fairpatrol.synthetic.simulate_area_hawkes`), with
rates that differ between wards. Used by docs/your-own-city.md (``scripts/make_riverton.py``) and the
tests that take a user's own city through every command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

#: The wards' CRS (UTM zone 16N, metres) and where Riverton lies (lon, lat of its south-west corner).
AREAS_CRS = "EPSG:32616"
ORIGIN = (-89.45, 43.03)
NAMES = (
    "Northgate", "Mill Creek", "Harbor", "Old Town", "Cedar Hill", "Lakeside", "Foundry", "Elm Park",
    "Station", "Riverside", "Market", "Southfield", "Brickyard", "Orchard", "Bellview", "Island Reach",
)  # fmt: skip


def _wards(rng: np.random.Generator, spacing: float) -> tuple[list[shapely.Geometry], np.ndarray]:
    """16 quadrilateral wards on a jittered 5 × 5 lattice (shared corners: no gap, no overlap)."""
    from pyproj import Transformer

    x0, y0 = Transformer.from_crs("EPSG:4326", AREAS_CRS, always_xy=True).transform(*ORIGIN)
    jitter = rng.uniform(-0.15, 0.15, size=(5, 5, 2)) * spacing
    jitter[[0, -1], :, :] = 0.0  # straight outer edges
    jitter[:, [0, -1], :] = 0.0
    px = x0 + spacing * np.arange(5)[:, None] + jitter[..., 0]
    py = y0 + spacing * np.arange(5)[None, :] + jitter[..., 1]
    wards = []
    for j in range(3, -1, -1):  # numbered from the north-west, row by row
        for i in range(4):
            ii, jj = [i, i + 1, i + 1, i], [j, j, j + 1, j + 1]
            wards.append(shapely.Polygon(list(zip(px[ii, jj], py[ii, jj], strict=True))))
    lake = shapely.centroid(wards[5]).buffer(0.15 * spacing, quad_segs=8)
    wards[5] = shapely.Polygon(wards[5].exterior.coords, [lake.exterior.coords])  # W06: a hole
    east = shapely.bounds(wards[15])[2]
    cy = shapely.centroid(wards[15]).y
    island = shapely.box(
        east + 0.25 * spacing, cy - 0.12 * spacing, east + 0.45 * spacing, cy + 0.12 * spacing
    )
    wards[15] = shapely.MultiPolygon([wards[15], island])  # W16: ward and island
    income = 30_000 + 45_000 * rng.beta(2, 2, size=16)
    return wards, np.round(income, -2)


def _points_in(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform in ``geom`` (rejection sampling in its bounds)."""
    xmin, ymin, xmax, ymax = shapely.bounds(geom)
    xs, ys = np.empty(0), np.empty(0)
    while xs.size < n:
        x = rng.uniform(xmin, xmax, 4 * n + 16)
        y = rng.uniform(ymin, ymax, 4 * n + 16)
        ok = shapely.contains_xy(geom, x, y)
        xs, ys = np.r_[xs, x[ok]], np.r_[ys, y[ok]]
    return xs[:n], ys[:n]


def example_city(
    *,
    seed: int = 2024,
    start: str = "2022-01-01",
    days: int = 730,
    per_day: float = 12.0,
    spacing: float = 1000.0,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Riverton as (ward attributes, ward geometries in :data:`AREAS_CRS`, incidents with x/y in it)."""
    from fairpatrol.synthetic import simulate_area_hawkes

    rng = np.random.default_rng(seed)
    wards, income = _wards(rng, spacing)
    weight = rng.gamma(2.0, 1.0, size=16)
    theta = 0.3
    mu = per_day * (1 - theta) * weight / weight.sum()
    events = simulate_area_hawkes(mu, theta, 1.5, days, origin=start, seed=seed + 1)
    ward = events["area_id"].str[1:].astype(int).to_numpy()
    x = np.empty(len(events))
    y = np.empty(len(events))
    for w in range(16):
        sel = np.flatnonzero(ward == w)
        x[sel], y[sel] = _points_in(rng, wards[w], sel.size)
    n = len(events)
    lake = rng.choice(np.flatnonzero(ward == 5), size=min(5, int((ward == 5).sum())), replace=False)
    lx, ly = shapely.centroid(wards[5]).x, shapely.centroid(wards[5]).y
    x[lake], y[lake] = lx + rng.uniform(-20, 20, lake.size), ly + rng.uniform(-20, 20, lake.size)
    far = rng.choice(n, size=max(n // 200, 1), replace=False)  # a few geocoded far outside the city
    x[far] += 20 * spacing
    attrs = pd.DataFrame(
        {
            "ward_id": [f"W{k + 1:02d}" for k in range(16)],
            "ward_name": list(NAMES),
            "population": rng.integers(3_000, 12_000, size=16),
            "median_income": income,
        }
    )
    incidents = pd.DataFrame(
        {
            "Case No": [f"RV-{k:06d}" for k in range(1, n + 1)],
            "time": events["time"].dt.floor("min"),
            "Offense": rng.choice(["BURGLARY", "THEFT", "ROBBERY"], size=n, p=[0.3, 0.55, 0.15]),
            "x": x,
            "y": y,
        }
    )
    repeat = rng.choice(n, size=n // 50, replace=False)  # a second victim of the same case
    incidents = pd.concat([incidents, incidents.iloc[repeat]]).sort_values(["time", "Case No"], kind="stable")
    return attrs, np.array(wards, dtype=object), incidents.reset_index(drop=True)


def write_example_city(folder: str | Path, *, coords: str = "latlon", **kw) -> tuple[Path, Path]:
    """Write ``wards.geojson`` and ``incidents.csv`` of :func:`example_city` into ``folder``.

    ``coords='latlon'``: ``Latitude``/``Longitude`` columns (WGS84); ``'xy'``: ``X``/``Y`` in EPSG:3857.
    """
    import geopandas as gpd

    from fairpatrol.data.spatial import transform

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    attrs, wards, inc = example_city(**kw)
    areas = folder / "wards.geojson"
    gpd.GeoDataFrame(attrs, geometry=list(wards), crs=AREAS_CRS).to_file(areas, driver="GeoJSON")
    out = pd.DataFrame(
        {
            "Case No": inc["Case No"],
            "Report Date": inc["time"].dt.strftime("%m/%d/%Y"),
            "Time": inc["time"].dt.strftime("%H:%M"),
            "Offense": inc["Offense"],
        }
    )
    if coords == "xy":
        out["X"], out["Y"] = (np.round(v, 2) for v in transform(inc["x"], inc["y"], AREAS_CRS, "EPSG:3857"))
    else:
        lon, lat = transform(inc["x"], inc["y"], AREAS_CRS, "EPSG:4326")
        out["Latitude"], out["Longitude"] = np.round(lat, 6), np.round(lon, 6)
    incidents = folder / "incidents.csv"
    out.to_csv(incidents, index=False)
    return areas, incidents
