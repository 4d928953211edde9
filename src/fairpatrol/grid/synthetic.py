"""Synthetic events from the grid SEPP's own model, with known parameters (for recovery tests, benchmarks).

Cluster (branching) representation of λ(s, t) = μ̄ f(s) + Σ_{t_i<t} θ ω e^{−ω(t − t_i)} g(s − s_i):
background events form a Poisson process of rate μ̄ per day with locations drawn from f, a mixture of
isotropic Gaussian hot spots and a uniform floor over a square; every event has Poisson(θ) children,
delayed by Exponential(rate ω) days and displaced by N(0, σ² I) (``gaussian``) or placed uniformly in the
parent's ``cell_size`` square (``cell``, squares anchored at the origin of the coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from fairpatrol.data import Areas


@dataclass(frozen=True)
class Background:
    """Spatial density f: weight ``uniform`` on the square [0, extent)², the rest on Gaussian hot spots."""

    extent: float = 20_000.0
    uniform: float = 0.3
    centres: tuple[tuple[float, float], ...] = ((6_000.0, 7_000.0), (14_000.0, 12_000.0), (9_000.0, 15_000.0))
    scales: tuple[float, ...] = (1_500.0, 2_000.0, 1_200.0)
    weights: tuple[float, ...] = (0.4, 0.35, 0.25)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` locations drawn from f."""
        k = len(self.centres)
        p = np.r_[self.uniform, (1.0 - self.uniform) * np.asarray(self.weights) / np.sum(self.weights)]
        comp = rng.choice(k + 1, size=n, p=p)
        x = rng.uniform(0.0, self.extent, size=n)
        y = rng.uniform(0.0, self.extent, size=n)
        for c in range(k):
            sel = comp == c + 1
            m = int(sel.sum())
            x[sel] = self.centres[c][0] + self.scales[c] * rng.standard_normal(m)
            y[sel] = self.centres[c][1] + self.scales[c] * rng.standard_normal(m)
        return x, y


def simulate_grid_sepp(
    mu_bar: float,
    theta: float,
    omega: float,
    days: float,
    *,
    sigma: float = 100.0,
    trigger: str = "gaussian",
    cell_size: float = 1000.0,
    background: Background | None = None,
    burn_in: float = 30.0,
    origin: str | pd.Timestamp = "2020-01-01",
    seed: int | None = 0,
) -> pd.DataFrame:
    """Events on [0, ``days``) days of the SEPP with background rate ``mu_bar`` per day.

    The process is started ``burn_in`` days earlier so that the kept window begins in its stationary
    regime (its first events have parents, as in real data). Returns columns ``time`` (from ``origin``),
    ``x``, ``y`` (metres) and ``generation`` (0 = background), sorted by time.
    """
    if not 0 <= theta < 1:
        raise ValueError("theta must be in [0, 1) for a stationary process")
    if trigger not in ("gaussian", "cell"):
        raise ValueError(f"trigger must be 'gaussian' or 'cell', got {trigger!r}")
    rng = np.random.default_rng(seed)
    bg = background or Background()
    n0 = rng.poisson(mu_bar * (days + burn_in))
    t = rng.uniform(-burn_in, days, size=n0)
    x, y = bg.sample(n0, rng)
    parts = [(t, x, y, np.zeros(n0, dtype=np.int64))]
    gen = 0
    while t.size:
        gen += 1
        kids = rng.poisson(theta, size=t.size)
        m = int(kids.sum())
        t = np.repeat(t, kids) + rng.exponential(1.0 / omega, size=m)
        px, py = np.repeat(x, kids), np.repeat(y, kids)
        if trigger == "gaussian":
            x = px + sigma * rng.standard_normal(m)
            y = py + sigma * rng.standard_normal(m)
        else:
            x = (np.floor(px / cell_size) + rng.uniform(size=m)) * cell_size
            y = (np.floor(py / cell_size) + rng.uniform(size=m)) * cell_size
        keep = t < days
        t, x, y = t[keep], x[keep], y[keep]
        parts.append((t, x, y, np.full(t.size, gen, dtype=np.int64)))
    t, x, y, g = (np.concatenate([p[i] for p in parts]) for i in range(4))
    keep = t >= 0
    order = np.argsort(t[keep], kind="stable")
    return pd.DataFrame(
        {
            "time": pd.Timestamp(origin) + pd.to_timedelta(t[keep][order], unit="D"),
            "x": x[keep][order],
            "y": y[keep][order],
            "generation": g[keep][order],
        }
    )


def square_areas(extent: float = 20_000.0, groups: tuple[str, str] = ("G1", "G2")) -> Areas:
    """Two areas splitting the square [0, extent)² into a west half (``groups[0]``) and an east half.

    A stand-in city for synthetic events (CRS EPSG:3857 is nominal: the coordinates are plain metres).
    """
    half = extent / 2.0
    geometry = np.array([shapely.box(0.0, 0.0, half, extent), shapely.box(half, 0.0, extent, extent)])
    frame = pd.DataFrame(
        {
            "area_id": ["W", "E"],
            "name": ["west", "east"],
            "group": list(groups),
            "area_m2": shapely.area(geometry),
        }
    )
    return Areas(name="synthetic", crs="EPSG:3857", frame=frame, geometry=geometry, group_pair=groups)
