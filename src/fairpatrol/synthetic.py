"""Synthetic incident generators with known parameters, for parameter-recovery tests and benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_area_hawkes(
    mu: np.ndarray,
    theta: float,
    omega: float,
    days: float,
    *,
    origin: str | pd.Timestamp = "2020-01-01",
    seed: int | None = 0,
) -> pd.DataFrame:
    """Events of independent per-area exponential Hawkes processes (the PredPol model) on [0, days).

    Simulated by the cluster (branching) representation: background events of area n form a Poisson
    process of rate μ_n per day; every event has Poisson(θ) children delayed by Exponential(rate ω) days,
    in the same area. Returns columns ``time``, ``area_id`` (``"A0000"``…), ``generation``, sorted by time.
    """
    if not 0 <= theta < 1:
        raise ValueError("theta must be in [0, 1) for a stationary process")
    rng = np.random.default_rng(seed)
    mu = np.asarray(mu, dtype=float)
    counts = rng.poisson(mu * days)
    area = np.repeat(np.arange(len(mu)), counts)
    times = rng.uniform(0.0, days, size=area.size)
    all_t, all_a, all_g = [times], [area], [np.zeros(area.size, dtype=np.int64)]
    gen = 0
    while times.size:
        gen += 1
        kids = rng.poisson(theta, size=times.size)
        times = np.repeat(times, kids) + rng.exponential(1.0 / omega, size=kids.sum())
        area = np.repeat(area, kids)
        keep = times < days
        times, area = times[keep], area[keep]
        all_t.append(times)
        all_a.append(area)
        all_g.append(np.full(times.size, gen, dtype=np.int64))
    t = np.concatenate(all_t)
    a = np.concatenate(all_a)
    g = np.concatenate(all_g)
    order = np.argsort(t, kind="stable")
    origin = pd.Timestamp(origin)
    return pd.DataFrame(
        {
            "time": origin + pd.to_timedelta(t[order], unit="D"),
            "area_id": np.char.add("A", np.char.zfill(a[order].astype(str), 4)),
            "generation": g[order],
        }
    )


def replicate_incidents(
    incidents, copies: int, *, time_jitter_days: float = 0.5, space_jitter_m: float = 50.0, seed: int = 0
):
    """``copies`` × the incidents: copy 0 is the original, each other copy is every incident shifted by a
    uniform time offset in ±``time_jitter_days`` and a Gaussian displacement of σ = ``space_jitter_m``
    metres (keeping its area). A denser but similarly shaped point pattern, for scaling benchmarks.
    """
    from dataclasses import replace

    if copies < 1:
        raise ValueError("copies must be at least 1")
    rng = np.random.default_rng(seed)
    base = incidents.frame
    parts = [base]
    for k in range(1, copies):
        c = base.copy()
        c["time"] = c["time"] + pd.to_timedelta(
            rng.uniform(-time_jitter_days, time_jitter_days, len(c)), unit="D"
        )
        c["x"] = c["x"] + rng.normal(0.0, space_jitter_m, len(c))
        c["y"] = c["y"] + rng.normal(0.0, space_jitter_m, len(c))
        c["incident_id"] = c["incident_id"].astype(str) + f"#r{k}"
        parts.append(c)
    frame = pd.concat(parts, ignore_index=True).sort_values(["time", "incident_id"], kind="stable")
    return replace(incidents, frame=frame.reset_index(drop=True))


def on_square_cells(incidents, cell_size: float):
    """The incidents re-assigned to square cells of side ``cell_size`` metres over their city, as areas.

    A lattice anchored at the south-west corner of the areas' bounds; the cells that meet the union of
    the areas, clipped to it, become the areas (id ``"r{row}c{col}"``, group of the area holding the
    cell's representative point). Incidents are re-assigned to the cells (those outside every cell by
    more than 250 m are dropped). For tests and benchmarks of the engine at grid resolution (e.g.
    PredPol's 150 m boxes); not a substitute for a study's own grid of areas.
    """
    from dataclasses import replace

    import shapely

    from fairpatrol.data import Areas, assign_areas

    if not cell_size > 0:
        raise ValueError(f"cell_size must be positive, got {cell_size}")
    areas = incidents.areas
    geoms = np.asarray(areas.geometry)
    city = shapely.union_all(geoms)
    x0, y0, x1, y1 = city.bounds
    nx, ny = int(np.ceil((x1 - x0) / cell_size)), int(np.ceil((y1 - y0) / cell_size))
    ix, iy = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij"))
    boxes = shapely.box(
        x0 + ix * cell_size, y0 + iy * cell_size, x0 + (ix + 1) * cell_size, y0 + (iy + 1) * cell_size
    )
    shapely.prepare(city)
    meets = shapely.intersects(city, boxes)
    inside = shapely.contains_properly(city, boxes)
    cells = boxes.copy()
    edge = meets & ~inside
    cells[edge] = shapely.intersection(boxes[edge], city)
    keep = meets & (shapely.area(cells) > 0)
    cells, ix, iy = cells[keep], ix[keep], iy[keep]
    rep = shapely.point_on_surface(cells)
    home, _ = assign_areas(shapely.get_x(rep), shapely.get_y(rep), areas)
    frame = pd.DataFrame(
        {
            "area_id": np.char.add(np.char.add("r", iy.astype(str)), np.char.add("c", ix.astype(str))),
            "area_m2": shapely.area(cells),
        }
    )
    frame["name"] = frame["area_id"]
    frame["group"] = np.where(home >= 0, areas.groups[np.maximum(home, 0)], "neither")
    grid = Areas(areas.city, areas.crs, frame, cells, areas.group_pair, areas.group_rule)
    inc = incidents.frame
    idx, _ = assign_areas(inc["x"].to_numpy(), inc["y"].to_numpy(), grid)
    new = inc.loc[idx >= 0].copy()
    new["area_idx"] = idx[idx >= 0]
    new["area_id"] = grid.ids[new["area_idx"].to_numpy()]
    return replace(incidents, frame=new.reset_index(drop=True), areas=grid)
