"""The software a result was made with: package versions, recorded and compared (docs/errors.md).

Read from the installed distributions' metadata (``importlib.metadata``), so that the crash log can list
them even when importing one of them is what failed.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

#: Packages whose versions can change a study's numbers or files (random streams, numerics, I/O).
PACKAGES = (
    "fairpatrol",
    "numpy",
    "pandas",
    "numba",
    "scipy",
    "pyarrow",
    "duckdb",
    "shapely",
    "pyproj",
    "pydantic",
    "pyyaml",
    "pot",
    "statsmodels",
    "dask",
    "distributed",
    "plotly",
)


def installed_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """``{package: version}`` of the installed ``names`` ("not installed" where missing)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def python_description() -> str:
    """Python version and platform, one line."""
    return f"Python {platform.python_version()} ({sys.implementation.name}) on {platform.platform()}"


def version_differences(recorded: dict[str, object]) -> list[str]:
    """``'numpy 2.1.3 → 2.3.0'`` for every recorded package whose installed version differs."""
    names = tuple(str(k) for k in recorded)
    now = installed_versions(names)
    return [f"{name} {recorded[name]} → {now[name]}" for name in names if str(recorded[name]) != now[name]]
