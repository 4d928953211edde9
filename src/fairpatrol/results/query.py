"""DuckDB queries on the Parquet tables of results directories (a leaf module of :mod:`fairpatrol.results`).

The run and sweep modules say where a table is (:func:`fairpatrol.results.run.query_table`,
:func:`fairpatrol.results.sweep.query_table`); this one runs the query on a connection of its own.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def query(sql: str, params: list[Any] | dict[str, Any]) -> pd.DataFrame:
    """The result of DuckDB ``sql`` with ``params``, as a DataFrame (the connection is closed after)."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()
