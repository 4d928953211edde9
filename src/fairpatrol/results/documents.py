"""The YAML documents of results directories: the provenance every kind records, and their reading.

Every results directory (run, sweep, evaluate, audit) records, in its ``config.yaml`` / ``sweep.yaml`` /
``evaluate.yaml`` / ``audit.json``, the resolved config with its input files named relative to the config
file (and their SHA-256) and the versions of the packages that can change the numbers; a leaf module that
the writer and reader of each kind share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fairpatrol.config import map_data_paths, to_yaml_dict
from fairpatrol.errors import DataError


def versions() -> dict[str, str]:
    """Versions of the packages that can change the numbers (:data:`fairpatrol.environment.PACKAGES`)."""
    from fairpatrol.environment import installed_versions

    return installed_versions()


def input_section(config, inputs, results_dir: str | Path | None = None) -> dict[str, Any]:
    """The ``inputs`` record of a results config: every file read, by a path relative to the scenario
    file, with its SHA-256; and where the scenario's folder is, relative to ``results_dir``."""
    from fairpatrol.data.inputs import relative

    base = config.base_dir
    out: dict[str, Any] = {"files": [f.record(base) for f in inputs]}
    if results_dir is not None and inputs:
        out["scenario_dir"] = relative(Path(base or Path.cwd()), Path(results_dir))
    return out


def relative_config(config) -> dict[str, Any]:
    """``to_yaml_dict(config)`` with every input path relative to the scenario file's folder."""
    from fairpatrol.data.inputs import relative, resolve

    doc = to_yaml_dict(config)
    base = config.base_dir
    doc["data"] = map_data_paths(doc["data"], lambda p: relative(resolve(p, base), base))
    return doc


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping, with a one-line error naming the file (and line) when it is unreadable."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror}", source=str(path)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise DataError(
            f"not valid YAML: {getattr(err, 'problem', err)}", source=str(path), row=row
        ) from None
    if not isinstance(raw, dict):
        raise DataError("expected a YAML mapping", source=str(path))
    return raw


def require_files(path: Path, names: tuple[str, ...], command: str) -> None:
    """A one-line error naming the first of ``names`` missing from the results directory ``path`` of
    ``fairpatrol COMMAND``."""
    for name in names:
        if not (path / name).is_file():
            raise DataError(
                f"missing {name}: not a complete results directory of fairpatrol {command}", source=str(path)
            )
