"""Group rules: the group of every area from its attributes, and a plain-words account of the rule.

The rules (:class:`fairpatrol.schema.GroupsConfig`, docs/your-own-city.md#groups):

* ``column``: the value of a label column (``labels`` renames values);
* ``plurality``: the label of the largest of several count columns, ``tie`` when the largest are equal
  (Semsar et al. 2026: an area is 'Black' when its Black residents outnumber both White residents and all
  others together);
* ``threshold``: at or below a cut (the mean, the median or a number) of a numeric column, or above it
  (the PF/RAF paper: per-capita income at or below the community-area median is 'Protected');
* ``quantile``: ``k`` classes of about equal size by a numeric column, lowest first.

A missing value (empty cell, NaN) is an error naming the file, the column and the area's row: an area
without a group would silently drop out of every group comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairpatrol.errors import DataError
from fairpatrol.schema import GroupsConfig


@dataclass(frozen=True)
class GroupAssignment:
    """The group label of each area, the rule's name and description, and the attributes it used."""

    labels: np.ndarray
    rule: str
    description: str
    columns: tuple[str, ...]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def _column(frame: pd.DataFrame, col: str, source: str, numeric: bool) -> pd.Series:
    if col not in frame.columns:
        raise DataError(
            f"the areas have no column {col!r} (columns: {', '.join(map(str, frame.columns))})",
            source=source,
            field=col,
        )
    values = frame[col]
    if numeric:
        num = pd.to_numeric(values, errors="coerce")
        bad = num.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"not a number: {values.iloc[i]!r}", source=source, field=col, row=i + 1)
        values = num
    missing = values.isna().to_numpy().copy()
    if not numeric:
        missing |= values.astype(str).str.strip().isin(["", "nan", "NaN", "None", "<NA>"]).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        ident = frame["area_id"].iloc[i] if "area_id" in frame.columns else i + 1
        raise DataError(
            f"no value for area {ident!r} ({int(missing.sum())} area(s) without one): every area needs a "
            "group",
            source=source,
            field=col,
            row=i + 1,
        )
    return values


def _label_text(values: pd.Series) -> np.ndarray:
    """Labels as text; whole numbers print without a decimal point (1.0 -> '1')."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(float)
        if np.all(v == np.round(v)):
            return np.array([str(int(x)) for x in v], dtype=object)
        return np.array([f"{x:g}" for x in v], dtype=object)

    def text(v: object) -> str:
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return np.array([text(v) for v in values], dtype=object)


def assign_groups(
    frame: pd.DataFrame, spec: GroupsConfig, *, source: str, rule_name: str = ""
) -> GroupAssignment:
    """The group of every row of ``frame`` (one row per area) under ``spec``."""
    n = len(frame)
    name = rule_name or spec.rule
    if spec.rule == "column":
        col = str(spec.column)
        labels = _label_text(_column(frame, col, source, numeric=False))
        if isinstance(spec.labels, dict):
            labels = np.array([spec.labels.get(v, v) for v in labels], dtype=object)
        text = f"Groups are the values of the column '{col}' of the areas."
        return GroupAssignment(labels.astype(str), name, spec.description or text, (col,))
    if spec.rule == "plurality":
        cols = dict(spec.columns or {})
        counts = np.column_stack(
            [_column(frame, c, source, numeric=True).to_numpy(float) for c in cols.values()]
        )
        top = counts.max(axis=1)
        winners = (counts == top[:, None]).sum(axis=1)
        column_names = np.array(list(cols), dtype=object)
        labels = np.where(winners == 1, column_names[counts.argmax(axis=1)], spec.tie).astype(str)
        pairs = ", ".join(f"'{k}' ({v})" for k, v in cols.items())
        text = (
            f"Each area takes the label whose count is largest among {pairs}; '{spec.tie}' when the largest "
            "counts are equal."
        )
        return GroupAssignment(labels, name, spec.description or text, tuple(cols.values()))
    col = str(spec.column)
    values = _column(frame, col, source, numeric=True).to_numpy(float)
    if spec.rule == "threshold":
        cut = float(
            np.mean(values) if spec.at == "mean" else np.median(values) if spec.at == "median" else spec.at
        )
        low, high = spec.labels if isinstance(spec.labels, list) else ("at or below", "above")
        labels = np.where(values <= cut, low, high).astype(str)
        where = f"the {spec.at} over the {n} areas, {_fmt(cut)}" if isinstance(spec.at, str) else _fmt(cut)
        text = f"An area is '{low}' when its {col} is at or below {where}; else '{high}'."
        return GroupAssignment(labels, name, spec.description or text, (col,))
    k = spec.k
    names = list(spec.labels) if isinstance(spec.labels, list) else [f"Q{i + 1}" for i in range(k)]
    try:
        codes, edges = pd.qcut(values, k, labels=False, retbins=True)
    except ValueError:
        raise DataError(
            f"{col} has too few distinct values for {k} quantile classes", source=source, field=col
        ) from None
    labels = np.array(names, dtype=object)[np.asarray(codes, dtype=np.int64)].astype(str)
    cuts = ", ".join(_fmt(e) for e in edges[1:-1])
    text = (
        f"Areas are split into {k} classes of about equal size by {col}, lowest first "
        f"({', '.join(names)}; cut at {cuts})."
    )
    return GroupAssignment(labels, name, spec.description or text, (col,))


def choose_pair(labels: np.ndarray, wanted: tuple[str, str] | None, *, source: str) -> tuple[str, str]:
    """The two groups compared by two-group gaps: ``wanted`` (checked), else the two largest groups."""
    counts = pd.Series(labels).value_counts(sort=False)
    if len(counts) < 2:
        raise DataError(
            f"every area is in one group ({counts.index[0]!r}): a study needs at least two groups",
            source=source,
            field="groups",
        )
    if wanted is not None:
        unknown = [g for g in wanted if g not in counts.index]
        if unknown:
            raise DataError(
                f"unknown group {unknown[0]!r}; the groups are {', '.join(map(repr, group_order(labels)))}",
                source=source,
                field="group_pair",
            )
        return (str(wanted[0]), str(wanted[1]))
    order = group_order(labels)
    return order[0], order[1]


def group_order(labels: np.ndarray, pair: tuple[str, str] | None = None) -> list[str]:
    """Every group once: the pair first, then the others by number of areas (largest first), then name."""
    counts = pd.Series(labels).value_counts()
    ranked = sorted(counts.index, key=lambda g: (-int(counts[g]), str(g)))
    head = [g for g in (pair or ()) if g in counts.index]
    return [str(g) for g in head] + [str(g) for g in ranked if g not in head]
