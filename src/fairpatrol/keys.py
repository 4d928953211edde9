"""The key columns shared by the tidy results tables of a study (:mod:`fairpatrol.results.tables`,
:mod:`fairpatrol.allocations`): which scenario cell and run a row belongs to.

Text keys are dictionary-encoded Arrow arrays whose dictionaries list every value in the study's order
(scenarios and reporting settings in order of first appearance, algorithms and remedies as configured), so
every chunk of a table written in pieces has the same schema and sorting by the codes gives study order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from fairpatrol.sim.layout import StudyLayout

#: Key columns of every per-run results table, in output order.
KEYS = ("scenario", "algorithm", "n_officers", "report_prob", "reporting", "remedy", "run")


def dictionary(values: list[str], codes: np.ndarray) -> pa.DictionaryArray:
    """A dictionary-encoded string column: ``values[codes]`` (int32 codes)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values, pa.string()))


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def key_columns(layout: StudyLayout, cell: np.ndarray, run: np.ndarray) -> dict[str, pa.Array]:
    """The :data:`KEYS` columns of rows belonging to cells ``cell`` (indices into ``layout.cells``) and
    runs ``run`` (run labels), both one value per row."""
    cells = layout.cells
    cell = np.asarray(cell, dtype=np.int64)
    scenarios = _ordered([c.scenario for c in cells])
    algorithms = list(layout.config.algorithms)
    reportings = _ordered([c.reporting for c in cells])
    remedies = list(layout.config.remedies)

    def per_cell(values: list[Any], dtype: Any) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[cell]

    return {
        "scenario": dictionary(scenarios, per_cell([scenarios.index(c.scenario) for c in cells], np.int32)),
        "algorithm": dictionary(
            algorithms, per_cell([algorithms.index(c.algorithm) for c in cells], np.int32)
        ),
        "n_officers": pa.array(per_cell([c.n_officers for c in cells], np.int32)),
        "report_prob": pa.array(per_cell([layout.reporting_rate[c.reporting] for c in cells], np.float64)),
        "reporting": dictionary(
            reportings, per_cell([reportings.index(c.reporting) for c in cells], np.int32)
        ),
        "remedy": dictionary(remedies, per_cell([remedies.index(c.remedy) for c in cells], np.int32)),
        "run": pa.array(np.asarray(run, dtype=np.int32)),
    }


def constant_columns(n_rows: int, columns: dict[str, Any]) -> dict[str, pa.Array]:
    """One constant column per entry of ``columns`` (strings dictionary-encoded, bools, int64, float64):
    the swept parameters a sweep adds to each cell's tables."""
    out: dict[str, pa.Array] = {}
    for name, value in columns.items():
        if isinstance(value, str):
            out[name] = dictionary([value], np.zeros(n_rows, dtype=np.int32))
        elif isinstance(value, bool):
            out[name] = pa.array(np.full(n_rows, value, dtype=np.bool_))
        elif isinstance(value, int):
            out[name] = pa.array(np.full(n_rows, value, dtype=np.int64))
        else:
            out[name] = pa.array(np.full(n_rows, float(value), dtype=np.float64))
    return out
