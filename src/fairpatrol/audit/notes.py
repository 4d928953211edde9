"""Notes: what the audit counted, repaired, left out or assumed, kept beside the numbers.

Nothing in an audit is silently dropped: every target, target-day or incident that is not scored, every
repair (an invalid polygon made valid, a reprojection, a box split across areas) and every assumption that
changes a number (overlap counted once, empty days left out, the bootstrap seed) becomes one :class:`Note`.
``AuditResult.notes`` lists them as a table with columns ``kind``, ``count`` and ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Note:
    """One counted fact about the inputs or the method.

    ``kind`` is a stable machine key (e.g. ``targets_outside_city``), ``count`` the number of things it
    concerns (targets, target-days, incidents, days; 0 for a plain statement) and ``message`` one sentence
    for people.
    """

    kind: str
    count: float
    message: str


def notes_frame(notes: list[Note] | tuple[Note, ...]) -> pd.DataFrame:
    """The notes as a table (``kind``, ``count``, ``message``), in the order they were made."""
    return pd.DataFrame(
        {
            "kind": [n.kind for n in notes],
            "count": [n.count for n in notes],
            "message": [n.message for n in notes],
        },
        columns=["kind", "count", "message"],
    )


def plural(n: float, word: str, words: str | None = None) -> str:
    """'1 target', '3 targets', '1,204 target-days' (thousands separated)."""
    shown = f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"
    return f"{shown} {word if n == 1 else (words or word + 's')}"


def area_text(m2: float) -> str:
    """A surface for people: '0.47 km²' from 0.01 km² up, else whole square metres ('230 m²')."""
    return f"{m2 / 1e6:,.2f} km²" if m2 >= 10_000 else f"{m2:,.0f} m²"
