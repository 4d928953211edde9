"""The truth arrays a simulation replays: incidents of the history and the horizon, as flat sorted arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairpatrol.errors import ConfigError

if TYPE_CHECKING:
    from fairpatrol.data.areas import Areas
    from fairpatrol.data.incidents import Incidents

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class SimData:
    """Incidents from ``first_day`` (≤ 0) to the end of the horizon, sorted by time.

    Times are float days since ``start`` (midnight of simulated day 0); history events have negative times.
    The events of day d (``first_day ≤ d < n_days``) are ``[day_offsets[d − first_day],
    day_offsets[d − first_day + 1])``. ``observed_from`` is the first (relative) day the data covers, so that
    a model window reaching before it uses the observed span T.
    """

    areas: Areas
    start: pd.Timestamp
    n_days: int
    first_day: int
    times: np.ndarray
    area: np.ndarray
    x: np.ndarray
    y: np.ndarray
    incident_id: np.ndarray
    day_offsets: np.ndarray
    observed_from: float
    source: str = ""
    crime_type: np.ndarray | None = None
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    #: for displaced copies ("shadows", see :func:`with_shadows`): index of the original event, else −1
    shadow_of: np.ndarray | None = None

    @property
    def n_areas(self) -> int:
        return self.areas.n

    @property
    def n_events(self) -> int:
        return int(self.times.shape[0])

    @property
    def n_history(self) -> int:
        return int(self.day_offsets[-self.first_day])

    def day_slice(self, day: int) -> tuple[int, int]:
        k = day - self.first_day
        return int(self.day_offsets[k]), int(self.day_offsets[k + 1])

    def window(self, day: int, window_days: int) -> tuple[int, int]:
        """Events with day in [day − window_days, day) (clipped at the first prepared day)."""
        lo_day = max(day - window_days, self.first_day)
        return int(self.day_offsets[lo_day - self.first_day]), int(self.day_offsets[day - self.first_day])

    def span(self, day: int, window_days: int) -> float:
        """Observed length T (days) of the window ending at ``day``."""
        return float(day - max(day - window_days, self.observed_from))

    @property
    def is_shadow(self) -> np.ndarray:
        if self.shadow_of is None:
            return np.zeros(self.n_events, dtype=bool)
        return self.shadow_of >= 0

    def crimes_per_day(self) -> np.ndarray:
        """True crimes per (horizon day, area) with no world effects: the D × M replayed truth table."""
        lo = self.n_history
        keep = ~self.is_shadow[lo:]
        d = np.floor(self.times[lo:][keep]).astype(np.int64)
        out = np.zeros((self.n_days, self.n_areas), dtype=np.int32)
        np.add.at(out, (d, self.area[lo:][keep]), 1)
        return out

    def frame(self, lo: int = 0, hi: int | None = None) -> pd.DataFrame:
        """Events ``lo:hi`` as an incident DataFrame (time, area_id, x, y, incident_id)."""
        sl = slice(lo, hi)
        return pd.DataFrame(
            {
                "incident_id": self.incident_id[sl],
                "time": self.start + pd.to_timedelta(self.times[sl], unit="D"),
                "area_id": self.areas.ids[self.area[sl]],
                "x": self.x[sl],
                "y": self.y[sl],
            }
        )


def prepare(
    incidents: Incidents,
    start: pd.Timestamp | str,
    n_days: int,
    history_days: int,
    *,
    source: str = "",
) -> SimData:
    """Cut ``incidents`` to [start − history_days, start + n_days) and flatten them for the engine.

    Raises :class:`ConfigError` naming ``start``/``days`` when the horizon runs past the data or the history
    window holds no incident (an empty training window).
    """
    start = pd.Timestamp(start).normalize()
    frame = incidents.frame
    src = source or incidents.cleaning.source
    if n_days < 1:
        raise ConfigError(f"the horizon must be at least 1 day, got {n_days}", source=src, field="days")
    t_first = frame["time"].min()
    t_last = frame["time"].max()
    end = start + n_days * DAY
    if start <= t_first:
        raise ConfigError(
            f"start {start:%Y-%m-%d} leaves no history: the data begin on {t_first:%Y-%m-%d}",
            source=src,
            field="start",
        )
    if end > t_last.normalize() + DAY:
        raise ConfigError(
            f"the horizon {start:%Y-%m-%d} + {n_days} days ends on {end - DAY:%Y-%m-%d}, after the last "
            f"incident ({t_last:%Y-%m-%d})",
            source=src,
            field="days",
        )
    first = start - history_days * DAY
    keep = ((frame["time"] >= first) & (frame["time"] < end)).to_numpy()
    sub = frame.loc[keep].sort_values(["time", "incident_id"], kind="stable")
    times = ((sub["time"] - start) / DAY).to_numpy(dtype=np.float64)
    if not (times < 0).any():
        raise ConfigError(
            f"empty training window: no incident in the {history_days} days before {start:%Y-%m-%d}",
            source=src,
            field="start",
        )
    first_day = -history_days
    day = np.floor(times).astype(np.int64)
    counts = np.bincount(day - first_day, minlength=n_days - first_day)
    offsets = np.zeros(n_days - first_day + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    observed_from = max(float(first_day), float(np.floor((t_first - start) / DAY)))
    return SimData(
        areas=incidents.areas,
        start=start,
        n_days=int(n_days),
        first_day=first_day,
        times=times,
        area=sub["area_idx"].to_numpy(dtype=np.int64),
        x=sub["x"].to_numpy(dtype=np.float64),
        y=sub["y"].to_numpy(dtype=np.float64),
        incident_id=sub["incident_id"].astype(str).to_numpy(),
        day_offsets=offsets,
        observed_from=observed_from,
        source=src,
        crime_type=sub["crime_type"].astype(str).to_numpy() if "crime_type" in sub else None,
        lon=sub["lon"].to_numpy(dtype=np.float64) if "lon" in sub else None,
        lat=sub["lat"].to_numpy(dtype=np.float64) if "lat" in sub else None,
    )


def neighbours(areas: Areas) -> list[np.ndarray]:
    """Queen-contiguity neighbours of every area (polygons that touch or overlap, within 1 m)."""
    import shapely

    geoms = np.asarray(areas.geometry)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(shapely.buffer(geoms, 1.0), predicate="intersects")
    keep = left != right
    return [np.sort(right[keep & (left == a)]) for a in range(areas.n)]


def with_shadows(data: SimData, seed: int) -> SimData:
    """Add, for every horizon crime, a displaced copy in a neighbouring area (for crime displacement).

    The copy has the crime's time, a neighbour drawn uniformly (once per crime, from ``seed``, so every run
    and algorithm displaces a crime to the same place) and that neighbour's representative point as its
    location. Copies only become real crimes when the simulation deters the original and displaces it;
    an area with no neighbour keeps no copy. Events stay sorted by time (copy right after its original).
    """
    import shapely

    if data.shadow_of is not None:
        return data
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    nbrs = neighbours(data.areas)
    rep_pts = shapely.point_on_surface(np.asarray(data.areas.geometry))
    px, py = shapely.get_x(rep_pts), shapely.get_y(rep_pts)
    h = data.n_history
    originals = np.arange(h, data.n_events)
    has = np.array([len(nbrs[a]) > 0 for a in data.area[originals]], dtype=bool)
    src = originals[has]
    choice = np.array([nbrs[a][rng.integers(len(nbrs[a]))] for a in data.area[src]], dtype=np.int64)
    # interleave: original j followed by its copy
    key_time = np.concatenate([data.times, data.times[src]])
    key_rank = np.concatenate([np.zeros(data.n_events), np.ones(len(src))])
    key_src = np.concatenate([np.arange(data.n_events), src])
    perm = np.lexsort((key_rank, key_src, key_time))
    shadow_of = np.concatenate([np.full(data.n_events, -1), src])[perm]
    # shadow_of must point to the original's *new* position
    new_pos = np.empty(len(perm), dtype=np.int64)
    new_pos[perm] = np.arange(len(perm))
    shadow_of = np.where(shadow_of >= 0, new_pos[np.clip(shadow_of, 0, None)], -1)
    area = np.concatenate([data.area, choice])[perm]
    x = np.concatenate([data.x, px[choice]])[perm]
    y = np.concatenate([data.y, py[choice]])[perm]
    times = key_time[perm]
    ids = np.concatenate([data.incident_id, np.char.add(data.incident_id[src].astype(str), "#displaced")])[
        perm
    ]
    day = np.floor(times).astype(np.int64)
    counts = np.bincount(day - data.first_day, minlength=data.n_days - data.first_day)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def extend(arr: np.ndarray | None) -> np.ndarray | None:
        return None if arr is None else np.concatenate([arr, arr[src]])[perm]

    return replace(
        data,
        times=times,
        area=area,
        x=x,
        y=y,
        incident_id=ids,
        day_offsets=offsets,
        crime_type=extend(data.crime_type),
        lon=extend(data.lon),
        lat=extend(data.lat),
        shadow_of=shadow_of,
    )
