"""Safe writing of everything fairpatrol puts on disk: files, results directories, and their cleanup.

One place for the rules of docs/errors.md ("Your files are safe"):

* **Atomic files** (:func:`atomic_write`): a temporary file beside the target, flushed, given the usual
  permissions (``0666`` less the umask, as ``open()`` would), then renamed over the target, so a reader sees
  the old file or the new one, never half of one.
* **Atomic results directories** (:func:`atomic_directory`): written under a hidden temporary name beside
  the target (``.NAME.XXXX.partial``) and renamed into place when complete, so an interrupted command never
  leaves a directory that looks finished. A partial directory left by a killed process is recognised by its
  name and its marker and removed by the next command writing to the same place.
* **The marker** (:data:`MARKER`, ``.fairpatrol.json``) inside every results directory says which command
  wrote it (its kind), the format and fairpatrol versions and when. ``--overwrite`` replaces only a
  directory carrying a marker, or an empty one: anything else is refused and left untouched.
* **Cleanup never follows a symbolic link** (:func:`remove_tree`): a path is removed only after checking
  that it lies inside the directory being cleaned, that no component leading to it is a link, and that no
  link is inside it; an unexpected link is an error naming it, before anything is deleted.
* **Output checks before work** (:func:`check_output_dir`, :func:`check_output_file`): an output that is a
  file, a link, not writable, or on a file system with less than :data:`MIN_FREE_BYTES` free is refused
  before the first incident is read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fairpatrol.errors import DataError, FairpatrolWarning

#: Name of the marker file written inside every results directory.
MARKER = ".fairpatrol.json"
#: Version of the marker's format (and of the directory layouts it vouches for).
FORMAT_VERSION = 1
#: The kinds of directory fairpatrol writes (``analysis`` is the ``analysis/`` folder inside a sweep).
KINDS = ("run", "sweep", "evaluate", "audit", "analysis")
#: Least free space (bytes) on the output's file system before a command starts writing: 100 MiB, more
#: than the results of any bundled preset (the largest, ``chicago-theft``, writes about 60 MB).
MIN_FREE_BYTES = 100 * 2**20
#: Name pattern of the temporary directories of :func:`atomic_directory` (``.NAME.<random>.partial``) and
#: of a replaced directory awaiting removal (``.NAME.<random>.old``).
_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.(?P<what>partial|old)$")


# ------------------------------------------------------------------------------------------- permissions


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new file: ``0666`` less the process umask (``0644`` under the usual umask 022)."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """Mode of a new directory: ``0777`` less the process umask (``0755`` under umask 022)."""
    return 0o777 & ~_umask()


# ---------------------------------------------------------------------------------------------- files


def atomic_write(path: str | Path, data: bytes | str, *, staging: str | Path | None = None) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically, with the usual file permissions.

    The temporary file is created in ``staging`` (a directory on the same file system; default: beside
    ``path``) and renamed over ``path``. Refuses a ``path`` that is a directory or a symbolic link.
    """
    path = Path(path)
    if path.is_symlink():
        raise DataError("is a symbolic link; refusing to write through it", source=str(path))
    if path.is_dir():
        raise DataError("is a directory, expected a file", source=str(path))
    folder = Path(staging) if staging is not None else path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------- marker


def marker_document(kind: str, **extra: Any) -> dict[str, Any]:
    """What :data:`MARKER` holds: kind, format version, fairpatrol version, creation time (UTC)."""
    import fairpatrol

    if kind not in KINDS:
        raise ValueError(f"unknown results kind {kind!r}")
    return {
        "fairpatrol": "results directory",
        "kind": kind,
        "format": FORMAT_VERSION,
        "version": fairpatrol.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }


def write_marker(directory: str | Path, kind: str, **extra: Any) -> Path:
    """Write (atomically) the marker of a results directory of ``kind`` into ``directory``."""
    text = json.dumps(marker_document(kind, **extra), indent=2) + "\n"
    return atomic_write(Path(directory) / MARKER, text)


def read_marker(directory: str | Path) -> dict[str, Any] | None:
    """The marker of ``directory``, or None when it has none (or one fairpatrol did not write).

    The marker must be a regular file (not a link) holding a JSON object with a known ``kind``.
    """
    path = Path(directory) / MARKER
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > 65536:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
        return None
    return doc


# -------------------------------------------------------------------------------------------- cleanup


def find_symlink(root: str | Path) -> Path | None:
    """The first symbolic link inside ``root`` (links are never followed), or None."""
    root = Path(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs + files):
            p = Path(folder) / name
            if p.is_symlink():
                return p
    return None


def check_no_symlinks(root: str | Path) -> None:
    """Raise a one-line error naming the first symbolic link inside ``root``."""
    link = find_symlink(root)
    if link is not None:
        raise DataError(
            f"unexpected symbolic link inside a fairpatrol directory (-> {os.readlink(link)}); fairpatrol "
            "never follows one: nothing was changed, remove the link and try again",
            source=str(link),
        )


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it, lexically, with no link on the way from ``root``."""
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if path != root and root not in path.parents:
        return False
    node = path
    while node != root:
        if node.is_symlink():
            return False
        node = node.parent
    return True


def remove_tree(path: str | Path, *, root: str | Path) -> None:
    """Delete ``path`` (a file or a directory tree) that fairpatrol created inside ``root``.

    Checked first: ``path`` lies inside ``root`` with no symbolic link on the way, and no symbolic link is
    inside it (an error naming the link; nothing is deleted). A missing ``path`` is not an error.
    """
    path = Path(path)
    if not _inside(path, Path(root)):
        raise DataError(
            f"refusing to delete a path outside {root} or reached through a symbolic link",
            source=str(path),
        )
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        check_no_symlinks(path)
        shutil.rmtree(path)  # does not follow links (none are left) and refuses a link at the top
    else:
        path.unlink()


# -------------------------------------------------------------------------------------- output checks


def _existing_ancestor(path: Path) -> Path:
    node = Path(os.path.abspath(path)).parent
    while not node.exists() and node != node.parent:
        node = node.parent
    return node


def check_writable_parent(path: str | Path, *, min_free: int = MIN_FREE_BYTES) -> None:
    """The folder that will hold ``path`` can be created and written, with ``min_free`` bytes free."""
    path = Path(path)
    anc = _existing_ancestor(path)
    if not anc.is_dir():
        raise DataError(f"cannot create it: {anc} is not a directory", source=str(path))
    if not os.access(anc, os.W_OK | os.X_OK):
        raise DataError(f"cannot write there: no write permission in {anc}", source=str(path))
    try:
        free = shutil.disk_usage(anc).free
    except OSError:  # pragma: no cover - a file system without statvfs
        return
    if free < min_free:
        raise DataError(
            f"only {free / 2**20:.0f} MiB free on its file system; fairpatrol needs at least "
            f"{min_free / 2**20:.0f} MiB to write results",
            source=str(path),
        )


def check_output_dir(
    out: str | Path,
    *,
    overwrite: bool = False,
    min_free: int = MIN_FREE_BYTES,
    option: str = "--out",
    advice: str | None = None,
) -> None:
    """Check a results directory before any work starts; a one-line :class:`DataError` if it cannot be
    written.

    Accepted: a path that does not exist yet (its parent is created), an empty directory, or — with
    ``overwrite`` — a directory carrying a fairpatrol marker and no symbolic link. Refused with a clear
    reason: a file, a symbolic link, a non-empty directory without a marker (whatever ``overwrite``
    says), a directory fairpatrol wrote without ``overwrite``, a folder that cannot be written, a file
    system with less than ``min_free`` bytes free. ``advice`` replaces "choose another ``option``" in the
    messages.
    """
    out = Path(out)
    advice = advice or f"choose another {option}"
    if out.is_symlink():
        raise DataError(
            f"is a symbolic link; give the directory it points to ({os.readlink(out)}) as {option}",
            source=str(out),
        )
    if out.exists():
        if not out.is_dir():
            raise DataError(f"exists and is not a directory; {advice}", source=str(out))
        if any(out.iterdir()):
            marker = read_marker(out)
            if marker is None:
                raise DataError(
                    f"is not empty and is not a fairpatrol results directory (no {MARKER}); nothing was "
                    f"changed: {advice}",
                    source=str(out),
                )
            if not overwrite:
                raise DataError(
                    f"holds the results of an earlier fairpatrol {marker['kind']} (use --overwrite to "
                    f"replace them, or {advice})",
                    source=str(out),
                )
            check_no_symlinks(out)
        if not os.access(out, os.W_OK | os.X_OK) or not os.access(out.parent, os.W_OK | os.X_OK):
            raise DataError("cannot write there: no write permission", source=str(out))
    check_writable_parent(out, min_free=min_free)


def check_output_file(path: str | Path, *, generator: str, min_free: int = MIN_FREE_BYTES) -> None:
    """Check an output file before any work: it may be replaced only when fairpatrol wrote it.

    ``generator`` is a string found in the first 4 KiB of every file of this sort fairpatrol writes (e.g.
    the report's ``<meta name="generator" content="fairpatrol report``); any other existing file is
    refused and left untouched.
    """
    path = Path(path)
    if path.is_symlink():
        raise DataError("is a symbolic link; refusing to write through it", source=str(path))
    if path.is_dir():
        raise DataError("is a directory; give a file name", source=str(path))
    if path.exists():
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096)
        except OSError as err:
            raise DataError(f"cannot read the existing file: {err.strerror}", source=str(path)) from None
        if generator.encode() not in head:
            raise DataError(
                "exists and was not written by fairpatrol; nothing was changed: choose another file name",
                source=str(path),
            )
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise DataError("cannot write there: no write permission", source=str(path))
    check_writable_parent(path, min_free=min_free)


# --------------------------------------------------------------------------------- results directories


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: str | Path) -> list[Path]:
    """Remove temporary directories that an interrupted write to ``out`` left beside it.

    A leftover is recognised by its name (``.NAME.XXXXXXXX.partial`` or ``.old``, NAME the name of
    ``out``) and by the marker inside it; a partial one is removed only when the process that wrote it
    (recorded in its marker, same host) is gone. Each removal is announced with a
    :class:`~fairpatrol.errors.FairpatrolWarning`. Returns what was removed.
    """
    out = Path(out)
    parent = out.parent
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        m = _TEMP.match(entry.name)
        if m is None or m["name"] != out.name or entry.is_symlink() or not entry.is_dir():
            continue
        marker = read_marker(entry)
        if marker is None:
            continue
        if m["what"] == "partial":
            if marker.get("state") != "partial" or marker.get("host") != socket.gethostname():
                continue
            if _pid_alive(int(marker.get("pid", -1))):
                continue
        try:
            remove_tree(entry, root=parent)
        except DataError as err:
            warnings.warn(f"left in place: {err}", FairpatrolWarning, stacklevel=2)
            continue
        removed.append(entry)
        warnings.warn(
            f"{entry}: removed the unfinished output of an earlier interrupted fairpatrol command",
            FairpatrolWarning,
            stacklevel=2,
        )
    return removed


def _temp_dir(out: Path, what: str) -> Path:
    name = tempfile.mkdtemp(prefix=f".{out.name}.", suffix=f".{what}", dir=out.parent)
    # mkdtemp's random part is 8 characters of [a-z0-9_]: matched by _TEMP
    path = Path(name)
    path.chmod(dir_mode())  # mkdtemp creates 0700; give the results directory the usual permissions
    return path


@contextmanager
def atomic_directory(out: str | Path, *, kind: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; when the block succeeds, mark it as a results directory
    of ``kind`` and rename it to ``out`` (replacing a marked ``out`` only with ``overwrite``).

    The checks of :func:`check_output_dir` run first (and again just before the rename); leftovers of an
    interrupted earlier write are removed (:func:`clean_stale`). On any error the temporary directory is
    removed and ``out`` is as it was.
    """
    out = Path(out)
    check_output_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = _temp_dir(out, "partial")
    try:
        write_marker(tmp, kind, state="partial", pid=os.getpid(), host=socket.gethostname())
        yield tmp
        check_no_symlinks(tmp)
        write_marker(tmp, kind)
        if out.exists():
            check_output_dir(out, overwrite=overwrite, min_free=0)
            old = _temp_dir(out, "old")  # a marked trash folder: recognised and removed if we are killed
            write_marker(old, kind)
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            remove_tree(old, root=out.parent)
        else:
            os.replace(tmp, out)
    except BaseException:
        if tmp.exists():
            remove_tree(tmp, root=out.parent)
        raise
