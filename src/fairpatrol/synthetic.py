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
