"""Results directories: each kind owned by one module that both writes and reads it.

* ``run`` (``config.yaml``): written by :func:`.run.write_study`, read by :func:`.run.read_run`;
* ``sweep`` (``sweep.yaml``): written by :class:`.sweep.SweepStore`, read by :func:`.sweep.read_sweep` and,
  one cell as a run, :func:`.sweep.read_sweep_cell`;
* ``evaluate`` (``evaluate.yaml``): written by :func:`.evaluation.write_evaluation`, read by
  :func:`.evaluation.read_evaluation`;
* ``audit`` (``audit.json``): written by :meth:`fairpatrol.audit.AuditResult.write`, read by
  :func:`fairpatrol.audit.read_audit` (its module, :mod:`fairpatrol.audit.result`, owns the format).

Every directory carries the marker ``.fairpatrol.json`` (its kind, format and versions) and is written
atomically (:mod:`fairpatrol.atomic`, the one place for safe writing). :mod:`.tables` builds a study's tidy
tables, :mod:`.documents` the provenance every kind records. :func:`read_results` is the one dispatch on
the kind of a directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fairpatrol.errors import DataError

#: The writer and reader of each kind, by name -> the module that defines it (imported on first use, so
#: reading a directory does not import the simulation).
_LAZY = {
    "write_study": "fairpatrol.results.run",
    "read_run": "fairpatrol.results.run",
    "RunResults": "fairpatrol.results.run",
    "SweepStore": "fairpatrol.results.sweep",
    "SweepResults": "fairpatrol.results.sweep",
    "read_sweep": "fairpatrol.results.sweep",
    "read_sweep_cell": "fairpatrol.results.sweep",
    "write_evaluation": "fairpatrol.results.evaluation",
    "read_evaluation": "fairpatrol.results.evaluation",
    "EvaluationResults": "fairpatrol.results.evaluation",
}

__all__ = ["directory_kind", "read_results", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairpatrol.results' has no attribute {name!r}")


def directory_kind(path: str | Path) -> str:
    """'run', 'sweep', 'evaluate' or 'audit' from the marker files of ``path``; a one-line error otherwise."""
    from fairpatrol.atomic import read_marker

    p = Path(path)
    if not p.is_dir():
        raise DataError("not a directory (give a results directory)", source=str(p))
    marker = read_marker(p)
    if (marker is not None and marker.get("kind") == "audit") or (p / "audit.json").is_file():
        return "audit"
    if (p / "sweep.yaml").is_file():
        return "sweep"
    if (p / "evaluate.yaml").is_file():
        return "evaluate"
    if (p / "config.yaml").is_file() or (p / "metrics.parquet").is_file():
        return "run"
    found = sorted(q.name for q in p.iterdir())[:8]
    raise DataError(
        "not a results directory of fairpatrol run, sweep, evaluate or audit (expected config.yaml, "
        f"sweep.yaml, evaluate.yaml or audit.json; found {found})",
        source=str(p),
    )


def read_results(path: str | Path, cell: str | None = None) -> Any:
    """Any results directory, read by the module that owns its kind: a run's
    :class:`~fairpatrol.results.run.RunResults` (or one ``cell`` of a sweep as one), a whole sweep
    (:class:`~fairpatrol.results.sweep.SweepResults`), an evaluation
    (:class:`~fairpatrol.results.evaluation.EvaluationResults`) or an audit
    (:class:`~fairpatrol.audit.AuditResult`)."""
    kind = directory_kind(path)
    if cell is not None and kind != "sweep":
        raise DataError("--cell selects a cell of a sweep; this is not a sweep directory", source=str(path))
    if kind == "run":
        from fairpatrol.results.run import read_run

        return read_run(path)
    if kind == "audit":
        from fairpatrol.audit.result import read_audit

        return read_audit(path)
    if kind == "sweep":
        from fairpatrol.results.sweep import read_sweep, read_sweep_cell

        return read_sweep(path) if cell is None else read_sweep_cell(path, cell)
    from fairpatrol.results.evaluation import read_evaluation

    return read_evaluation(path)
