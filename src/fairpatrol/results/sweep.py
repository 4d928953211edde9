"""The results directory of ``fairpatrol sweep``: atomic per-cell writing, resume, failure records, one
writer at a time (:class:`SweepStore`); its reading (:func:`read_sweep`, :func:`read_sweep_cell`,
:func:`query_table`).

Layout of ``DIR``::

    sweep.yaml                         the sweep definition, resolved base scenario and cell table
    metrics/cell=<id>/part-0.parquet   one hive partition per cell of each tidy table of `fairpatrol run`
    summary/cell=<id>/part-0.parquet
    allocations/cell=<id>/part-0.parquet
    groups/cell=<id>/part-0.parquet, group_summary/cell=<id>/part-0.parquet
    areas/cell=<id>/part-0.parquet     the cell's areas (GeoParquet)
    areas.parquet                      the areas of every cell, when no data setting is swept
    configs/<id>.yaml                  the cell's resolved config, seeds, data report, versions
    failures/<id>.json                 the error of a cell that failed (removed when it later succeeds)
    analysis/*.csv                     written by `fairpatrol analyze`

A cell's tables are written under ``DIR/.partial`` and renamed into place; its ``configs/<id>.yaml`` is
renamed in last and marks the cell finished. A run killed between those renames leaves partitions of an
unfinished cell, which the next run removes before starting, so ``DIR`` never mixes a finished cell with a
partial one once a sweep has (re)started. Renames protect against a killed process, not a power loss.

The directory carries the marker of every fairpatrol results directory (``.fairpatrol.json``, kind
``sweep``; :mod:`fairpatrol.atomic`). A sweep resumes in a directory holding the same sweep, starts in an
empty one, and with ``--overwrite`` replaces a directory carrying a marker; any other directory is refused
and left untouched. Nothing is deleted through a symbolic link: a link anywhere inside the directory is an
error naming it, before anything is deleted or written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fairpatrol.atomic import (
    MARKER,
    atomic_write,
    check_no_symlinks,
    check_writable_parent,
    read_marker,
    remove_tree,
    write_marker,
)
from fairpatrol.errors import DataError, FairpatrolError, FairpatrolWarning
from fairpatrol.results.documents import read_yaml
from fairpatrol.results.query import query

#: Tables written per cell, in writing order (``areas``: the cell's areas as GeoParquet).
TABLES = (
    "metrics",
    "summary",
    "allocations",
    "groups",
    "group_summary",
    "horizon",
    "group_horizon",
    "area_horizon",
    "areas",
)

if TYPE_CHECKING:
    from fairpatrol.results.run import RunResults

MANIFEST = "sweep.yaml"
PARTIAL = ".partial"
LOCK = ".lock"


@dataclass
class CellOutcome:
    """A finished cell's tables (Parquet bytes) and config document, or its error."""

    cell_id: str
    ok: bool
    tables: dict[str, bytes] = field(default_factory=dict)
    config_yaml: str = ""
    seconds: float = 0.0
    error: str = ""
    traceback: str = ""


def partition(root: Path, table: str, cell_id: str) -> Path:
    """The folder of one cell's part of ``table`` (a hive partition)."""
    return root / table / f"cell={cell_id}"


def check_sweep_dir(root: str | Path, *, overwrite: bool = False) -> None:
    """Check ``root`` before a sweep starts (see the module docstring); a one-line error if refused."""
    root = Path(root)
    if root.is_symlink():
        raise DataError(
            f"is a symbolic link; give the directory it points to ({os.readlink(root)}) as --out",
            source=str(root),
        )
    if root.exists() and not root.is_dir():
        raise DataError("exists and is not a directory; choose another --out", source=str(root))
    if root.is_dir() and any(p.name not in (LOCK, MARKER) for p in root.iterdir()):
        marker = read_marker(root)
        legacy = (root / MANIFEST).is_file() and not (root / MANIFEST).is_symlink()
        if marker is None and not legacy:
            raise DataError(
                f"the directory is not empty and holds no {MANIFEST} or {MARKER} (not a sweep directory); "
                "nothing was changed: choose another --out",
                source=str(root),
            )
        if marker is not None and marker["kind"] != "sweep" and not overwrite:
            raise DataError(
                f"holds the results of a fairpatrol {marker['kind']}, not a sweep (use --overwrite to "
                "replace them, or choose another --out)",
                source=str(root),
            )
        if overwrite and marker is None:
            raise DataError(
                f"has no {MARKER} (written by an older fairpatrol, or not by fairpatrol): --overwrite "
                "replaces only a directory carrying one; delete it yourself or choose another --out",
                source=str(root),
            )
        check_no_symlinks(root)
    if root.is_dir() and not os.access(root, os.W_OK | os.X_OK):
        raise DataError("cannot write there: no write permission", source=str(root))
    check_writable_parent(root)


class SweepStore:
    """Owns a sweep directory while a sweep runs (holds an exclusive lock on ``DIR/.lock``)."""

    def __init__(self, root: Path, lock_fd: int | None, shared_areas: bool = False) -> None:
        self.root = root
        self._lock_fd = lock_fd
        self.shared_areas = shared_areas

    # -------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, root: str | Path, manifest: dict[str, Any], *, overwrite: bool = False) -> SweepStore:
        """Create or reopen ``root`` for ``manifest``'s sweep; refuse a directory holding anything else."""
        root = Path(root)
        check_sweep_dir(root, overwrite=overwrite)
        root.mkdir(parents=True, exist_ok=True)
        store = cls(root, _lock(root), bool(manifest.get("shared_areas", False)))
        try:
            store._check(manifest, overwrite)
            if read_marker(root) is None or overwrite:
                write_marker(root, "sweep")
            store._write_text(root / MANIFEST, _dump(manifest))
            store._clean_partial()
            store._compare_versions()
        except BaseException:
            store.close()
            raise
        return store

    def _check(self, manifest: dict[str, Any], overwrite: bool) -> None:
        visible = [p for p in self.root.iterdir() if not p.name.startswith(".")]
        if not visible:
            return
        if overwrite:
            for p in self.root.iterdir():
                if p.name != LOCK:
                    remove_tree(p, root=self.root)
            return
        old = read_manifest(self.root)
        old_ids = {c["id"] for c in old.get("cells", []) if isinstance(c, dict) and "id" in c}
        new_ids = {c["id"] for c in manifest["cells"]}
        old_alloc = (old.get("definition") or {}).get("allocations", True)
        if old_ids != new_ids or old_alloc != manifest["definition"]["allocations"]:
            raise FairpatrolError(
                f"{self.root}: holds a different sweep ({len(old_ids - new_ids)} of its cells are not in "
                f"this one, {len(new_ids - old_ids)} of this one's are new; --days, --runs or --seed change "
                "every cell); use --overwrite to replace it or choose another --out"
            )

    def _clean_partial(self) -> None:
        """Remove staging leftovers and partitions of cells that did not finish (see the module docstring)."""
        remove_tree(self.root / PARTIAL, root=self.root)
        done = self.finished()
        for table in TABLES:
            folder = self.root / table
            if folder.is_symlink():
                check_no_symlinks(self.root)
            if not folder.is_dir():
                continue
            for sub in folder.iterdir():
                if not (sub.name.startswith("cell=") and sub.name[5:] in done):
                    remove_tree(sub, root=self.root)

    def _compare_versions(self) -> None:
        """Warn when the finished cells were computed with other package versions than installed now (a
        resumed sweep would mix them)."""
        done = sorted(self.finished())
        if not done:
            return
        from fairpatrol.config import read_yaml_file
        from fairpatrol.environment import version_differences

        path = self.root / "configs" / f"{done[0]}.yaml"
        recorded = read_yaml_file(path, "cell config")
        versions = recorded.get("versions") if isinstance(recorded, dict) else None
        differ = version_differences(versions) if isinstance(versions, dict) else []
        if differ:
            warnings.warn(
                f"{self.root}: its {len(done)} finished cells were computed with other package versions "
                f"({'; '.join(differ)}); the cells run now will differ in that — install the recorded "
                "versions to resume, or use --overwrite to start again",
                FairpatrolWarning,
                stacklevel=3,
            )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if not (self.root / PARTIAL).is_symlink():
                (self.root / PARTIAL).rmdir()  # only when empty: nothing is left half-written
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------- querying
    def finished(self) -> set[str]:
        """Ids of finished cells (those whose ``configs/<id>.yaml`` exists)."""
        folder = self.root / "configs"
        if folder.is_symlink() or not folder.is_dir():
            return set()
        return {p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")}

    def failures(self) -> dict[str, dict[str, Any]]:
        return read_failures(self.root)

    # -------------------------------------------------------------------------------- writing
    def _folder(self, *parts: str) -> Path:
        """``root/parts…`` created as needed; an error naming it if any of them is a symbolic link."""
        path = self.root
        for part in parts:
            path = path / part
            if path.is_symlink():
                check_no_symlinks(self.root)
            path.mkdir(exist_ok=True)
        return path

    def write_cell(self, outcome: CellOutcome) -> None:
        """Write a finished cell: tables staged then renamed into their partitions, config last."""
        cid = outcome.cell_id
        stage = self._folder(PARTIAL) / cid
        remove_tree(stage, root=self.root)
        for table, blob in outcome.tables.items():
            (stage / table).mkdir(parents=True)
            (stage / table / "part-0.parquet").write_bytes(blob)
        for table in outcome.tables:
            target = self._folder(table) / f"cell={cid}"
            remove_tree(target, root=self.root)
            os.replace(stage / table, target)
        areas = outcome.tables.get("areas")
        if areas is not None and self.shared_areas and not (self.root / "areas.parquet").exists():
            self._write_text(self.root / "areas.parquet", areas)
        self._write_text(self._folder("configs") / f"{cid}.yaml", outcome.config_yaml)
        remove_tree(stage, root=self.root)
        failure = self.root / "failures" / f"{cid}.json"
        if failure.exists() or failure.is_symlink():
            remove_tree(failure, root=self.root)

    def write_failure(self, cell_id: str, slug: str, error: str, trace: str = "") -> Path:
        path = self._folder("failures") / f"{cell_id}.json"
        record = {
            "cell": cell_id,
            "slug": slug,
            "error": error,
            "traceback": trace,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self._write_text(path, json.dumps(record, indent=2))
        return path

    def _write_text(self, path: Path, data: str | bytes) -> None:
        """Write ``path`` atomically (a temporary file in ``DIR/.partial``, then a rename)."""
        atomic_write(path, data, staging=self._folder(PARTIAL))


def _dump(doc: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def read_failures(root: str | Path) -> dict[str, dict[str, Any]]:
    """Failure records of a sweep directory, by cell id (an unreadable record is a one-line error)."""
    folder = Path(root) / "failures"
    if folder.is_symlink() or not folder.is_dir():
        return {}
    out = {}
    for p in sorted(folder.glob("*.json")):
        try:
            record = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise DataError(f"unreadable failure record ({type(err).__name__})", source=str(p)) from None
        if not isinstance(record, dict):
            raise DataError("a failure record must be a JSON object", source=str(p))
        out[p.stem] = record
    return out


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The ``sweep.yaml`` of a sweep directory (strict YAML; a one-line error naming it when unreadable)."""
    from fairpatrol.config import read_yaml_file

    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FairpatrolError(f"{root}: not a sweep directory (no {MANIFEST})")
    doc = read_yaml_file(path, "sweep manifest")
    if not isinstance(doc, dict) or not isinstance(doc.get("cells", []), list):
        raise DataError("not a sweep manifest written by fairpatrol sweep", source=str(path))
    return doc


def _lock(root: Path) -> int | None:
    """An exclusive advisory lock on ``root/.lock`` (released when the process ends, even by kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        return None
    try:
        fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as err:
        raise DataError(f"cannot create the lock file: {err.strerror}", source=str(root / LOCK)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise FairpatrolError(f"{root}: another sweep is writing to this directory") from None
    return fd


# -- reading ------------------------------------------------------------------------------------------------


def table_glob(root: Path, table: str) -> str:
    """The glob of every cell's partition files of ``table``."""
    return str(root / table / "*" / "*.parquet")


def query_table(root: Path, sql: str, table: str) -> pd.DataFrame:
    """The result of DuckDB ``sql`` whose ``{src}`` reads every cell's partition of ``table`` (with the
    ``cell`` column of the partition's name)."""
    src = "read_parquet($1, hive_partitioning = true, union_by_name = true)"
    return query(sql.replace("{src}", src), [table_glob(root, table)])


def has_table(root: str | Path, table: str) -> bool:
    """Whether a finished cell wrote ``table``."""
    return any((Path(root) / table).glob("cell=*/*.parquet"))


def read_table(root: str | Path, table: str) -> pd.DataFrame | None:
    """Every finished cell's part of ``table`` (with the ``cell`` column of its partition), or None when no
    cell wrote it."""
    return pd.read_parquet(Path(root) / table) if has_table(root, table) else None


def areas_file(root: str | Path) -> Path | None:
    """The areas of a sweep: ``areas.parquet`` when no data setting is swept, else the first cell's."""
    shared = Path(root) / "areas.parquet"
    if shared.is_file():
        return shared
    parts = sorted((Path(root) / "areas").glob("cell=*/*.parquet"))
    return parts[0] if parts else None


@dataclass
class SweepResults:
    """A sweep directory: its manifest and the configs of its finished cells (read by :func:`read_sweep`;
    the comparisons between its cells are :func:`fairpatrol.sweep.analyze.analyze_sweep`'s)."""

    path: Path
    manifest: dict[str, Any]
    configs: dict[str, dict[str, Any]]

    kind = "sweep"

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "sweep"))

    @property
    def cells(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("cells", []))


def read_sweep(path: str | Path) -> SweepResults:
    """Read a sweep directory's manifest and the configs of its finished cells."""
    root = Path(path)
    manifest = read_manifest(root)
    configs = {p.stem: read_yaml(p) for p in sorted((root / "configs").glob("*.yaml"))}
    return SweepResults(root, manifest, configs)


def read_sweep_cell(path: str | Path, cell: str) -> RunResults:
    """One finished cell of a sweep as a run's results (its partitions and its config)."""
    from fairpatrol.results.run import run_results

    root = Path(path)
    config = root / "configs" / f"{cell}.yaml"
    if not config.is_file():
        known = sorted(p.stem for p in (root / "configs").glob("*.yaml"))
        shown = ", ".join(known[:6]) + (" ..." if len(known) > 6 else "")
        raise DataError(
            f"no finished cell {cell!r} (finished: {shown or 'none'})", source=str(root), field="cell"
        )
    tables = ("summary", "metrics", "allocations", "areas", "group_summary", "area_horizon", "horizon")
    part = {t: partition(root, t, cell) for t in tables}
    summary = pd.read_parquet(part["summary"]).drop(columns=["cell"], errors="ignore")
    groups = None
    if part["group_summary"].is_dir():
        groups = pd.read_parquet(part["group_summary"]).drop(columns=["cell"], errors="ignore")
    return run_results(
        root,
        config,
        summary,
        next(part["metrics"].glob("*.parquet")),
        next(part["allocations"].glob("*.parquet")),
        label=f"cell {cell} of the sweep {root.name}",
        areas_path=part["areas"] / "part-0.parquet",
        group_summary=groups,
        inputs_root=root,
        area_horizon_path=part["area_horizon"] / "part-0.parquet",
        horizon_path=part["horizon"] / "part-0.parquet",
    )
