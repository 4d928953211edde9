"""Date-only incidents: records that say on which day an event happened, not when.

Baltimore's Part 1 records and Bogotá's points carry dates only (every time at midnight). Taken literally,
the events of one day are simultaneous: none can trigger another through a zero delay, every parent is a
whole number of days earlier, and a self-exciting model sees no same-day clustering at all. The models
that weigh time within the day (PredPol, the grid SEPP) therefore place each date-only event at a
reproducible uniform time of its day (:func:`within_day_offsets`); models that count events per day (the
KDEs, the baselines) are unaffected. See docs/methods.md, "Date-only incidents".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The day numbers hashed are days since this date, so an event's placement does not depend on the window.
EPOCH = pd.Timestamp("1970-01-01")
#: Times within this many days of a midnight count as midnight (float rounding of day offsets).
MIDNIGHT_TOLERANCE = 1e-9


def within_day_offsets(day: np.ndarray, *keys: np.ndarray, seed: int = 0) -> np.ndarray:
    """A reproducible time of day in [0, 1) for each date-only event: the within-day placement.

    Placing each event at a uniform time of its day keeps same-day events from being simultaneous (a zero
    delay, which no temporal kernel can weigh) while keeping their order uninformative. The offset of an
    event is a hash of its ``day`` (an absolute day number, e.g. days since :data:`EPOCH`: then an event
    gets the same time in every rolling window that contains it and in every run), its ``keys`` (e.g. its
    x and y, or its area), its rank among records identical in (day, keys), and ``seed``, so identical
    records of one day get different times.

    Examples
    --------
    >>> u = within_day_offsets(np.array([17897.0, 17897.0, 17898.0]), np.array([1.0, 1.0, 1.0]))
    >>> bool(((0 <= u) & (u < 1)).all() and u[0] != u[1])
    True
    """
    frame = pd.DataFrame({"day": np.asarray(day, dtype=np.float64)})
    for i, key in enumerate(keys):
        frame[f"k{i}"] = np.asarray(key)
    frame["rank"] = frame.groupby(list(frame.columns), sort=False).cumcount()
    z = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    with np.errstate(over="ignore"):  # splitmix64 of (record hash + seed): wrapping uint64 arithmetic
        z = z + np.uint64(int(seed) % 2**64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def at_midnight(t: np.ndarray) -> np.ndarray:
    """Which times (in days) fall on a midnight."""
    t = np.asarray(t, dtype=np.float64)
    return np.abs(t - np.round(t)) < MIDNIGHT_TOLERANCE


def place_within_day(t: np.ndarray, origin: pd.Timestamp, *keys: np.ndarray, seed: int = 0) -> np.ndarray:
    """Times ``t`` (days since ``origin``, all at midnight) moved to their :func:`within_day_offsets`.

    ``origin`` is a midnight; the hashed day is the absolute day number, so the result for an event does
    not depend on ``origin`` beyond the shift.
    """
    day = np.round(np.asarray(t, dtype=np.float64))
    shift = (pd.Timestamp(origin) - EPOCH) / pd.Timedelta(days=1)
    return day + within_day_offsets(day + shift, *keys, seed=seed)
