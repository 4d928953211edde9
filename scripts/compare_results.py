"""Compare two results directories table by table (the equivalence check of a refactoring).

    python scripts/compare_results.py BEFORE AFTER

For ``fairpatrol run`` directories: ``metrics.parquet``, ``summary.csv`` and ``allocations.parquet``; for
``fairpatrol evaluate`` directories: ``metrics.parquet``, ``summary.csv`` and ``predictions.parquet``.
Columns present in both are compared exactly (NaN equal to NaN; categorical columns as text); columns
only in one directory are listed. Exits 1 when any shared value differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("metrics.parquet", "summary.csv", "allocations.parquet", "predictions.parquet")


def read(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype) or df[col].dtype == object:
            df[col] = df[col].astype(str)
    return df


def compare(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(differing columns, columns in only one) of two tables with the same rows."""
    if len(a) != len(b):
        return [f"rows {len(a)} vs {len(b)}"], []
    differ = []
    for col in [c for c in a.columns if c in b.columns]:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number):
            same = (x == y) | (np.isnan(x.astype(float)) & np.isnan(y.astype(float)))
        else:
            same = x.astype(str) == y.astype(str)
        if not np.all(same):
            differ.append(f"{col} ({int((~same).sum())} values)")
    only = sorted(set(a.columns) ^ set(b.columns))
    return differ, only


def main(before: str, after: str) -> int:
    bad = 0
    for name in TABLES:
        pa, pb = Path(before) / name, Path(after) / name
        if not (pa.exists() and pb.exists()):
            continue
        differ, only = compare(read(pa), read(pb))
        status = "identical" if not differ else "DIFFERENT: " + ", ".join(differ)
        extra = f"; columns in one only: {', '.join(only)}" if only else ""
        print(f"{name}: {status}{extra}")
        bad += bool(differ)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
