"""Reporting models: which victims report a crime to the police, independently of patrols (docs/world.md,
"Reporting models").

A scenario's ``report_probs`` entries are either a uniform probability r or a named model:

* ``bjs2019``: one rate per crime type from ``datasets/reporting_rates_bjs2019.csv`` (national rates by
  broad category from BJS *Criminal Victimization, 2019*, NCJ 255113; see the file's ``source`` column).
  A crime type the table does not cover is an error, never a silent default.
* ``area:COLUMN``: one rate per area, from a column of the areas table (values in [0, 1]).
* a path to a CSV file with columns ``crime_type,rate`` or ``area_id,rate`` (relative to the scenario's
  folder, as the ``data`` section's files).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from fairpatrol.data.area_files import resolve
from fairpatrol.errors import ConfigError
from fairpatrol.sim.prepare import SimData

BUILTIN = "bjs2019"


def rate_file(name: str, base_dir: Path | None) -> Path | None:
    """The CSV file a ``report_probs`` entry names, relative paths against ``base_dir`` (the scenario's
    folder; None: the working folder); None for a built-in model."""
    if name == BUILTIN or name.startswith("area:"):
        return None
    return resolve(name, base_dir)


def check_reporting_model(name: str, base_dir: Path | None = None, local: str | None = None) -> None:
    """Raise ValueError (shown with the field path by the config) for a name that is no reporting model;
    a CSV file (:func:`rate_file`, or its ``local`` copy) is read and checked here, when the scenario is
    loaded (:func:`read_rate_table`)."""
    path = rate_file(name, base_dir)
    if path is None:
        return
    path = Path(local) if local else path
    if not path.is_file():
        raise ValueError(
            f"{name!r} is neither a probability, 'bjs2019', 'area:COLUMN' nor an existing CSV file"
        )
    try:
        read_rate_table(path, source=name)
    except ConfigError as err:
        raise ValueError(str(err)) from None


#: Largest reporting-rate CSV read (bytes): one row per crime type or area.
MAX_RATE_TABLE_BYTES = 50 * 2**20


def read_rate_table(path: str | Path, source: str | None = None) -> pd.DataFrame:
    """A reporting-rate CSV (``crime_type,rate`` or ``area_id,rate``), checked: the columns, one rate per
    key, every rate a number in [0, 1]. Errors name the file (as ``source``, default ``path``), the column
    and the row (1-based data rows)."""
    p = Path(path)
    name = source or str(p)
    try:
        if p.stat().st_size > MAX_RATE_TABLE_BYTES:
            raise ConfigError("too large for a table of reporting rates", source=name)
        table = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text; save the file as UTF-8", source=name) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        reason = " ".join(str(err).split())[:120] or "empty file"
        raise ConfigError(f"not a readable CSV table ({reason})", source=name) from None
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror}", source=name) from None
    table.columns = [str(c).strip() for c in table.columns]
    key = next((k for k in ("crime_type", "area_id") if k in table.columns), None)
    if key is None or "rate" not in table.columns:
        raise ConfigError(
            f"expected columns crime_type,rate or area_id,rate; found {list(table.columns)}",
            source=name,
            field="rate",
        )
    if table.empty:
        raise ConfigError("the table has no rows", source=name, field="rate")
    text = table["rate"].str.strip()
    rates = pd.to_numeric(text, errors="coerce")
    bad = rates.isna() | ~np.isfinite(rates) | (rates < 0) | (rates > 1)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = "is not a number" if pd.isna(rates.iloc[i]) else "is outside [0, 1]"
        raise ConfigError(f"rate {text.iloc[i]!r} {what}", source=name, field="rate", row=i + 1)
    keys = table[key].str.strip()
    dup = keys.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ConfigError(f"{keys.iloc[i]!r} is given twice", source=name, field=key, row=i + 1)
    return pd.DataFrame({key: keys, "rate": rates.astype(float)})


def bjs2019_table() -> pd.DataFrame:
    """The shipped table of reporting rates by crime category (pattern, category, rate, source)."""
    res = resources.files("fairpatrol.datasets").joinpath("reporting_rates_bjs2019.csv")
    with resources.as_file(res) as path:
        return pd.read_csv(path)


def _by_type(types: np.ndarray, table: pd.DataFrame, source: str) -> np.ndarray:
    out = np.full(len(types), np.nan)
    uniq, inv = np.unique(types, return_inverse=True)
    rates = np.full(len(uniq), np.nan)
    for k, t in enumerate(uniq):
        for pattern, rate in zip(table["pattern"], table["rate"], strict=True):
            if re.match(pattern, str(t).upper()):
                rates[k] = rate
                break
    if np.isnan(rates).any():
        missing = [str(t) for t, r in zip(uniq, rates, strict=True) if np.isnan(r)]
        raise ConfigError(f"no reporting rate for crime type(s) {missing}", source=source, field="crime_type")
    out[:] = rates[inv]
    return out


def reporting_rates(name: str, data: SimData, base_dir: Path | None = None) -> np.ndarray:
    """Reporting probability of every horizon event of ``data`` under the named model (a CSV file's
    relative path against ``base_dir``: the scenario's folder)."""
    h = data.n_history
    if name == BUILTIN:
        if data.crime_type is None:
            raise ConfigError("the data have no crime types", source=BUILTIN, field="crime_type")
        table = bjs2019_table()
        return _by_type(data.crime_type[h:], table.rename(columns={}), "reporting_rates_bjs2019.csv")
    if name.startswith("area:"):
        col = name.removeprefix("area:")
        frame = data.areas.frame
        if col not in frame.columns:
            raise ConfigError(f"the areas have no column {col!r}", source=name, field="report_probs")
        per_area = frame[col].to_numpy(dtype=float)
        _check_rates(per_area, name)
        return per_area[data.area[h:]]
    table = read_rate_table(resolve(name, base_dir), source=name)
    if "crime_type" in table.columns:
        if data.crime_type is None:
            raise ConfigError("the data have no crime types", source=name, field="crime_type")
        patterns = table.assign(pattern="^" + table["crime_type"].str.upper().map(re.escape) + "$")
        return _by_type(data.crime_type[h:], patterns, name)
    rates = table.set_index("area_id")["rate"].reindex(data.areas.ids)
    if rates.isna().any():
        missing = list(rates.index[rates.isna()][:5])
        raise ConfigError(f"no rate for area(s) {missing}", source=name, field="area_id")
    return rates.to_numpy(float)[data.area[h:]]


def _check_rates(rates: np.ndarray, source: str) -> None:
    bad = ~np.isfinite(rates) | (rates < 0) | (rates > 1)
    if bad.any():
        raise ConfigError(
            f"reporting rates must be in [0, 1]; row {int(np.argmax(bad)) + 1} is not",
            source=source,
            field="rate",
        )


def mean_rate(rates: np.ndarray) -> float:
    """Count-weighted mean reporting rate (what a uniform rate equivalent to the model would be)."""
    return float(np.mean(rates)) if len(rates) else float("nan")
