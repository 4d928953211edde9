"""An on-disk cache of numpy arrays computed from a study's inputs (docs/engine.md, "Disk cache").

What a study computes once from its inputs and that does not change between runs of the same inputs — the
KDE models' lattice quadrature of the area polygons and the kernel-mass rows of the incidents — is kept on
disk, as numba keeps its compiled kernels, so the next run of the same study loads it instead of computing
it again. Safety rules:

* **Keyed by content.** An entry's key is a SHA-256 over everything its value depends on: the caller's
  content hashes (polygons' WKB, incident coordinates, settings), the versions of the libraries that
  compute it and a hash of the source file of the code that computes it (any edit of that code is a new
  key). Nothing is keyed by a file name or a date.
* **Checked when read.** An entry stores its key and its arrays; a file that cannot be read, holds another
  key, lacks an array or fails the caller's consistency check is ignored (and replaced by the rebuilt
  value): a corrupt, truncated or old entry costs a rebuild, never a wrong result.
* **Atomic writes.** An entry is written to a temporary file in the cache folder and renamed into place,
  so a reader never sees half a file; concurrent writers of one key write the same value.
* **Bounded.** Each kind of entry keeps at most :data:`MAX_ENTRIES` files and :data:`MAX_BYTES` bytes (the
  least recently used go first); a value larger than :data:`MAX_ENTRY_BYTES` is not stored. Only files
  this module created (``*.npz`` in its own sub-folders) are ever deleted; symbolic links are left alone.
* **Optional.** ``FAIRPATROL_CACHE_DIR`` moves the cache (default ``$XDG_CACHE_HOME/fairpatrol/arrays``,
  else ``~/.cache/fairpatrol/arrays``); ``FAIRPATROL_CACHE_DIR=off`` turns it off. A folder that cannot be
  written is skipped silently: the value is computed as without a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

#: Environment variable naming the cache folder (``off``, ``0`` or ``none`` turn the cache off).
ENV = "FAIRPATROL_CACHE_DIR"
#: Most entries kept per kind.
MAX_ENTRIES = 32
#: Most bytes kept per kind, beyond the newest entry.
MAX_BYTES = 1024 * 2**20
#: Larger values are computed every time, never stored.
MAX_ENTRY_BYTES = 512 * 2**20
#: Bumped when the file layout changes (older entries are then ignored).
FORMAT = 1

Arrays = dict[str, np.ndarray]


def cache_dir() -> Path | None:
    """The cache folder (``$FAIRPATROL_CACHE_DIR``, else the user's cache folder), None when turned off."""
    value = os.environ.get(ENV)
    if value is not None and value.strip().lower() in ("off", "0", "none", "false"):
        return None
    if value and value.strip():
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fairpatrol" / "arrays"


def source_hash(path: str | os.PathLike[str]) -> str:
    """A hash of a source file's bytes (part of a key: an edit of the code computing a value is a new key)."""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()


def make_key(kind: str, parts: Mapping[str, object]) -> str:
    """The SHA-256 key of an entry of ``kind`` from ``parts`` (content hashes, settings, versions)."""
    text = repr((FORMAT, kind, sorted((str(k), repr(v)) for k, v in parts.items())))
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path, key: str) -> Arrays | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "__key__" not in npz.files or str(npz["__key__"]) != key:
                return None
            return {name: npz[name] for name in npz.files if name != "__key__"}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None


def _write(folder: Path, path: Path, key: str, arrays: Arrays) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{"__key__": np.array(key), **arrays})  # type: ignore[arg-type]  # names are not flags
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _prune(folder: Path, keep: Path) -> None:
    """Delete the least recently used entries beyond :data:`MAX_ENTRIES` / :data:`MAX_BYTES`, and temporary
    files of interrupted writes older than an hour; never ``keep``, never a symbolic link, never a file
    this module does not name (``KEY.npz``, ``.tmp-*.npz``)."""
    entries = []
    now = time.time()
    for entry in os.scandir(folder):
        if not (entry.name.endswith(".npz") and entry.is_file(follow_symlinks=False)):
            continue
        st = entry.stat(follow_symlinks=False)
        if entry.name.startswith(".tmp-"):
            if now - st.st_mtime > 3600:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        elif Path(entry.path) != keep:
            entries.append((st.st_mtime, st.st_size, entry.path))
    entries.sort(reverse=True)  # most recently used first
    total = 0
    for i, (_, size, path) in enumerate(entries, start=1):  # `keep` is entry 0
        total += size
        if i >= MAX_ENTRIES or total > MAX_BYTES:
            with contextlib.suppress(OSError):
                os.unlink(path)


def cached_arrays(
    kind: str,
    parts: Mapping[str, object],
    build: Callable[[], Arrays],
    check: Callable[[Arrays], bool] = lambda arrays: True,
) -> Arrays:
    """The arrays of entry (``kind``, ``parts``): read from the cache when a valid entry is there, else
    ``build()`` (stored for next time). ``check`` validates a read entry (shapes, ranges): an entry it
    rejects is rebuilt and replaced."""
    folder = cache_dir()
    if folder is None:
        return build()
    folder = folder / kind
    key = make_key(kind, parts)
    path = folder / f"{key}.npz"
    hit = _read(path, key) if path.is_file() and not path.is_symlink() else None
    if hit is not None:
        try:
            good = bool(check(hit))
        except (ValueError, KeyError, IndexError, TypeError):
            good = False
        if good:
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used
            return hit
    arrays = build()
    if sum(int(a.nbytes) for a in arrays.values()) <= MAX_ENTRY_BYTES:
        with contextlib.suppress(OSError):
            _write(folder, path, key, arrays)
            _prune(folder, path)
    return arrays
