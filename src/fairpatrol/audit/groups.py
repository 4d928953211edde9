"""Who the audit compares: groups of areas, groups of residents, single areas, as one weight matrix each.

A grouping is an (M × U) matrix W of non-negative weights, area by group. Every measure of a group u is a
ratio of W-weighted sums over areas, Σ_i W_iu X_i, so one formula serves all four groupings:

* ``overall``: one column of ones;
* ``area group``: W_iu = 1 if area i carries group label u (``Areas.group``, any number of labels);
* ``residents``: W_iu = residents of group u in area i / residents of area i (from a population table), so a
  group's share of some quantity X is the share *attributed to its residents* when an area's X is shared
  among its residents in proportion; areas without residents have W_i· = 0 and are left out of the
  residents' denominators (their share of targeting is reported in the notes);
* ``area``: the identity (each area on its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fairpatrol.audit.notes import Note, plural
from fairpatrol.audit.sources import labels as text_labels
from fairpatrol.audit.sources import numbers, read_source, reject, require
from fairpatrol.data.areas import Areas
from fairpatrol.errors import DataError

#: Label of the residual resident group when group counts fall short of an area's total.
OTHER = "other (not listed)"


@dataclass(frozen=True, eq=False)
class Grouping:
    """One way of grouping the M areas: ``name``, ``labels`` (U,) and ``weights`` (M × U, sparse).

    ``total`` (M,), when set, is the membership that denominators sum over (the whole grouping's, when
    this is a slice of its groups); by default the row sums of ``weights``.
    """

    name: str
    labels: np.ndarray
    weights: sp.csr_matrix
    total: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of groups U."""
        return len(self.labels)

    def membership(self) -> np.ndarray:
        """Weight of each area in the denominators (1 for areas in the grouping, 0 for areas left out)."""
        if self.total is not None:
            return self.total
        return np.asarray(self.weights.sum(axis=1)).ravel()

    def columns(self, start: int, stop: int) -> Grouping:
        """Groups ``start:stop`` only, with the whole grouping's denominators (for areas in chunks)."""
        return Grouping(
            self.name, self.labels[start:stop], self.weights[:, start:stop].tocsr(), self.membership()
        )


@dataclass(frozen=True, eq=False)
class Population:
    """Residents per area: ``counts`` (M × G) of the groups ``labels`` and ``total`` (M,) residents."""

    labels: tuple[str, ...]
    counts: np.ndarray
    total: np.ndarray
    source: str
    notes: tuple[Note, ...] = ()


def overall_grouping(m: int) -> Grouping:
    """All areas together."""
    return Grouping("overall", np.array(["all"], dtype=object), sp.csr_matrix(np.ones((m, 1))))


def area_grouping(areas: Areas) -> Grouping:
    """One group per distinct ``Areas.group`` label (the compared pair first, then by appearance)."""
    g = areas.groups
    order = list(dict.fromkeys([*areas.group_pair, *g]))
    order = [u for u in order if (g == u).any()]
    code = np.array([order.index(v) for v in g])
    w = sp.csr_matrix((np.ones(len(g)), (np.arange(len(g)), code)), shape=(len(g), len(order)))
    return Grouping("area group", np.array(order, dtype=object), w)


def single_areas(areas: Areas) -> Grouping:
    """Each area on its own."""
    return Grouping("area", areas.ids.astype(object), sp.identity(areas.n, format="csr", dtype=float))


def resident_grouping(pop: Population) -> Grouping:
    """Residents' groups: W_iu = counts_iu / total_i (0 for areas without residents)."""
    inv = np.divide(1.0, pop.total, out=np.zeros_like(pop.total), where=pop.total > 0)
    return Grouping("residents", np.array(pop.labels, dtype=object), sp.csr_matrix(pop.counts * inv[:, None]))


def read_population(
    areas: Areas,
    population: object | None,
    *,
    total: str | None = None,
    area_column: str = "area_id",
) -> Population | None:
    """Residents by group and area.

    ``population`` is None (then the areas' own ``population`` column, if any, gives totals only), a
    :class:`Population` already read (returned as it is), a list of count columns of ``areas.frame``
    (e.g. ``["black", "white", "hispanic"]``), or a table / file with ``area_column`` and one count
    column per group. ``total`` names the column of all residents (default:
    the sum of the groups); residents not in any listed group form the group ``'other (not listed)'``.
    """
    notes: list[Note] = []
    if isinstance(population, Population):  # already read (e.g. from an audit config)
        return population
    if population is None:
        if "population" not in areas.frame.columns:
            return None
        tot = numbers(areas.frame["population"], source=f"{areas.name} areas", field="population", minimum=0)
        return Population((), np.zeros((areas.n, 0)), tot, f"{areas.name} areas")
    if isinstance(population, Sequence) and not isinstance(population, str):
        cols = [str(c) for c in population]
        frame, src = areas.frame, f"{areas.name} areas"
        for c in cols + ([total] if total else []):
            require(frame, c, src)
        order = np.arange(areas.n)  # file row of each area
    else:
        frame, src = read_source(population, "population")
        ids = text_labels(require(frame, area_column, src))
        reject(
            pd.Series(ids).duplicated().to_numpy(),
            lambda i: f"area id {ids[i]!r} appears twice",
            source=src,
            field=area_column,
        )
        known = set(areas.ids)
        unknown = list(dict.fromkeys(a for a in ids if a not in known))
        reject(
            np.array([a not in known for a in ids], dtype=bool),
            f"{plural(len(unknown), 'unknown area id')}: {', '.join(map(repr, unknown[:5]))}",
            source=src,
            field=area_column,
        )
        lookup = {a: i for i, a in enumerate(ids)}
        absent = [str(a) for a in areas.ids if a not in lookup]
        if absent:
            raise DataError(
                f"no row for {plural(len(absent), 'area')}: {', '.join(map(repr, absent[:5]))}",
                source=src,
                field=area_column,
            )
        cols = [str(c) for c in frame.columns if c != area_column and c != total]
        if not cols:
            raise DataError("no group count columns besides the area id", source=src)
        order = np.array([lookup[a] for a in areas.ids])
    # Numbers are checked in file order (errors name the file's row), then put in the areas' order.
    counts = (
        np.column_stack([numbers(frame[c], source=src, field=c, minimum=0) for c in cols])[order]
        if cols
        else np.zeros((areas.n, 0))
    )
    summed = counts.sum(axis=1)
    if total:
        tot = numbers(frame[total], source=src, field=total, minimum=0)[order]
        over = np.zeros(len(frame), dtype=bool)
        over[order] = summed > tot + 0.5
        reject(
            over,
            lambda i: (
                f"the groups add up to more residents than the total ({summed[order == i][0]:,.0f} > "
                f"{tot[order == i][0]:,.0f})"
            ),
            source=src,
            field=total,
        )
        rest = np.clip(tot - summed, 0.0, None)
        if rest.sum() > 0.5:
            counts = np.column_stack([counts, rest])
            cols = [*cols, OTHER]
            notes.append(
                Note(
                    "residents_other",
                    float(rest.sum()),
                    f"{rest.sum():,.0f} residents ({rest.sum() / max(tot.sum(), 1):.1%}) are in none of the "
                    f"listed groups and form the group '{OTHER}'.",
                )
            )
    else:
        tot = summed
    return Population(tuple(cols), counts, tot, src, tuple(notes))
