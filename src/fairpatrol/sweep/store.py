"""The sweep results directory: atomic per-cell writing, resume, failure records, one writer at a time.

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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from fairpatrol.errors import FairpatrolError
from fairpatrol.sweep.worker import TABLES, CellOutcome

MANIFEST = "sweep.yaml"
PARTIAL = ".partial"
LOCK = ".lock"


def partition(root: Path, table: str, cell_id: str) -> Path:
    return root / table / f"cell={cell_id}"


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
        if root.exists() and not root.is_dir():
            raise FairpatrolError(f"{root}: exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        store = cls(root, _lock(root), bool(manifest.get("shared_areas", False)))
        try:
            store._check(manifest, overwrite)
            store._write_text(root / MANIFEST, yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
            store._clean_partial()
        except BaseException:
            store.close()
            raise
        return store

    def _check(self, manifest: dict[str, Any], overwrite: bool) -> None:
        visible = [p for p in self.root.iterdir() if not p.name.startswith(".")]
        if not visible:
            return
        old_path = self.root / MANIFEST
        if not old_path.exists():
            raise FairpatrolError(
                f"{self.root}: the directory is not empty and holds no {MANIFEST} (not a sweep directory); "
                "choose another --out"
            )
        if overwrite:
            for p in self.root.iterdir():
                if p.name != LOCK:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            return
        old = yaml.safe_load(old_path.read_text(encoding="utf-8")) or {}
        old_ids = {c["id"] for c in old.get("cells", [])}
        new_ids = {c["id"] for c in manifest["cells"]}
        old_alloc = old.get("definition", {}).get("allocations", True)
        if old_ids != new_ids or old_alloc != manifest["definition"]["allocations"]:
            raise FairpatrolError(
                f"{self.root}: holds a different sweep ({len(old_ids - new_ids)} of its cells are not in "
                f"this one, {len(new_ids - old_ids)} of this one's are new; --days, --runs or --seed change "
                "every cell); use --overwrite to replace it or choose another --out"
            )

    def _clean_partial(self) -> None:
        """Remove staging leftovers and partitions of cells that did not finish (see the module docstring)."""
        shutil.rmtree(self.root / PARTIAL, ignore_errors=True)
        done = self.finished()
        for table in TABLES:
            folder = self.root / table
            if not folder.is_dir():
                continue
            for sub in folder.iterdir():
                if not (sub.name.startswith("cell=") and sub.name[5:] in done):
                    shutil.rmtree(sub, ignore_errors=True) if sub.is_dir() else sub.unlink()

    def close(self) -> None:
        with contextlib.suppress(OSError):
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
        if not folder.is_dir():
            return set()
        return {p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")}

    def failures(self) -> dict[str, dict[str, Any]]:
        return read_failures(self.root)

    # -------------------------------------------------------------------------------- writing
    def write_cell(self, outcome: CellOutcome) -> None:
        """Write a finished cell: tables staged then renamed into their partitions, config last."""
        cid = outcome.cell_id
        stage = self.root / PARTIAL / cid
        shutil.rmtree(stage, ignore_errors=True)
        for table, blob in outcome.tables.items():
            (stage / table).mkdir(parents=True)
            (stage / table / "part-0.parquet").write_bytes(blob)
        for table in outcome.tables:
            target = partition(self.root, table, cid)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            (stage / table).rename(target)
        areas = outcome.tables.get("areas")
        if areas is not None and self.shared_areas and not (self.root / "areas.parquet").exists():
            tmp = self.root / PARTIAL / f"areas.parquet.{os.getpid()}.tmp"
            tmp.write_bytes(areas)
            os.replace(tmp, self.root / "areas.parquet")
        self._write_text(self.root / "configs" / f"{cid}.yaml", outcome.config_yaml)
        shutil.rmtree(stage, ignore_errors=True)
        (self.root / "failures" / f"{cid}.json").unlink(missing_ok=True)

    def write_failure(self, cell_id: str, slug: str, error: str, trace: str = "") -> Path:
        path = self.root / "failures" / f"{cell_id}.json"
        record = {
            "cell": cell_id,
            "slug": slug,
            "error": error,
            "traceback": trace,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self._write_text(path, json.dumps(record, indent=2))
        return path

    def _write_text(self, path: Path, text: str) -> None:
        """Write ``path`` atomically (a temporary file in ``DIR/.partial``, then ``os.replace``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.root / PARTIAL / f"{path.name}.{os.getpid()}.tmp"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def read_failures(root: str | Path) -> dict[str, dict[str, Any]]:
    """Failure records of a sweep directory, by cell id."""
    folder = Path(root) / "failures"
    if not folder.is_dir():
        return {}
    out = {}
    for p in sorted(folder.glob("*.json")):
        out[p.stem] = json.loads(p.read_text(encoding="utf-8"))
    return out


def read_manifest(root: str | Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    if not path.exists():
        raise FairpatrolError(f"{root}: not a sweep directory (no {MANIFEST})")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _lock(root: Path) -> int | None:
    """An exclusive advisory lock on ``root/.lock`` (released when the process ends, even by kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        return None
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise FairpatrolError(f"{root}: another sweep is writing to this directory") from None
    return fd
