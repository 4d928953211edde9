"""Pieces shared by the command modules (a leaf module: it imports no command).

:func:`guarded` wraps every command (docs/errors.md): a :class:`~fairpatrol.errors.FairpatrolError` is one
``error:`` line and exit code 2; a file-system or memory failure is one line naming the file, exit code 2;
anything else is a bug, reported as one line pointing to a log file that holds the traceback and the
package versions, exit code 1. ``fairpatrol --debug …`` (or ``FAIRPATROL_DEBUG=1``) shows the traceback
instead. Warnings meant for the user (:class:`~fairpatrol.errors.FairpatrolWarning`) are ``warning:`` lines.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

#: Exit codes: a user-facing failure (bad input, output refused, no space…), a bug, an interruption.
EXIT_USER, EXIT_BUG, EXIT_INTERRUPTED = 2, 1, 130
#: Crash logs kept in the log directory (older ones are removed).
KEEP_LOGS = 50
#: errno values of file-system failures that are the environment's, not fairpatrol's.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOENT,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EMFILE,
    errno.ENAMETOOLONG,
    errno.EIO,
}

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with code 2 (a user-facing failure)."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code=EXIT_USER)


T = TypeVar("T")


def preset_or_file(
    preset: str | None,
    path: Path | None,
    from_preset: Callable[..., T],
    from_file: Callable[..., T],
    **kw: Any,
) -> T:
    """The settings of ``--preset NAME`` or of the file given: exactly one of them (the command checked it
    before, so that its errors come in its own order)."""
    if preset is not None:
        return from_preset(preset, **kw)
    if path is None:
        raise ValueError("neither a preset nor a file")  # unreachable after the command's check
    return from_file(path, **kw)


def log_dir() -> Path:
    """Where crash logs go: ``$FAIRPATROL_LOG_DIR``, else ``$XDG_CACHE_HOME/fairpatrol/logs``, else
    ``~/.cache/fairpatrol/logs`` (never next to the user's input files)."""
    if os.environ.get("FAIRPATROL_LOG_DIR"):
        return Path(os.environ["FAIRPATROL_LOG_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "fairpatrol" / "logs"


def write_crash_log(exc: BaseException) -> Path | None:
    """Write the traceback, command line and versions of ``exc`` to a new log file; its path, or None."""
    from fairpatrol.environment import installed_versions, python_description

    now = dt.datetime.now()
    lines = [
        f"fairpatrol crash log, {now.isoformat(timespec='seconds')}",
        f"command: {' '.join(sys.argv)}",
        f"python: {python_description()}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in installed_versions().items()),
        "",
        "".join(traceback.format_exception(exc)),
    ]
    text = "\n".join(lines)
    name = f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}.log"
    for folder in (log_dir(), Path(tempfile.gettempdir()) / "fairpatrol-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        _prune(folder)
        return path
    return None


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("crash-*.log"))
    for old in logs[:-KEEP_LOGS]:
        old.unlink(missing_ok=True)


#: Global options of the invocation under way (set by the app's callback before every command).
OPTIONS: dict[str, Any] = {"debug": False}


def debug_enabled() -> bool:
    """Whether ``--debug`` was given to ``fairpatrol`` (or ``FAIRPATROL_DEBUG`` is set)."""
    return bool(OPTIONS["debug"]) or os.environ.get("FAIRPATROL_DEBUG", "") not in ("", "0")


def _exit_exceptions() -> tuple[type[BaseException], ...]:
    """The exceptions typer (and click, which older typer versions use) exit or abort with."""
    found: list[type[BaseException]] = [typer.Exit, typer.Abort]
    try:
        import click

        found += [click.exceptions.Exit, click.ClickException, click.Abort]
    except ImportError:  # pragma: no cover - typer without click
        pass
    return tuple(found)


_default_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from fairpatrol.errors import FairpatrolWarning

    if issubclass(category, FairpatrolWarning):
        typer.echo(f"warning: {' '.join(str(message).split())}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


def _bug(exc: BaseException) -> str:
    message = " ".join(str(exc).split())[:200]
    return f"internal error ({type(exc).__name__}: {message}), a bug in fairpatrol"


def _unexpected(exc: BaseException, what: str, code: int) -> NoReturn:
    log = write_crash_log(exc)
    where = f"the traceback and versions are in {log}" if log else "no log could be written"
    typer.echo(f"error: {what}; {where} (run with --debug to show it here)", err=True)
    raise typer.Exit(code=code)


def guarded(command: F) -> F:
    """Wrap a command: one line for every failure, a crash log for bugs (see the module docstring)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from fairpatrol.errors import FairpatrolError

        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return command(*args, **kwargs)
            except _exit_exceptions():
                raise
            except FairpatrolError as err:
                if debug_enabled():
                    raise
                fail(str(err))
            except KeyboardInterrupt:
                typer.echo("interrupted: nothing half-written was left behind", err=True)
                raise typer.Exit(code=EXIT_INTERRUPTED) from None
            except MemoryError as err:
                if debug_enabled():
                    raise
                _unexpected(err, "out of memory: lower runs, days or the number of cells", EXIT_USER)
            except OSError as err:
                if debug_enabled():
                    raise
                if err.errno not in _ENVIRONMENT_ERRNOS:
                    _unexpected(err, _bug(err), EXIT_BUG)
                where = err.filename if err.filename is not None else "file system"
                _unexpected(err, f"{where}: {err.strerror}", EXIT_USER)
            except Exception as err:
                if debug_enabled():
                    raise
                _unexpected(err, _bug(err), EXIT_BUG)

    return wrapper  # type: ignore[return-value]


class ProgressBar:
    """A progress bar on stderr that appears with the first progress, so that a command failing in its
    checks prints its one error line and nothing else. A ``transient`` bar is erased when it stops (for
    commands that can still fail after it appeared: their error stays the only line)."""

    def __init__(
        self,
        description: str,
        unit: str,
        total: int | None = None,
        quiet: bool = False,
        transient: bool = False,
    ) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, quiet=quiet)
        self.description, self.unit, self.total = description, unit, total
        self.transient = transient
        self._bar: Any = None
        self._task: Any = None

    def _started(self) -> Any:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TimeElapsedColumn(),
                console=self.console,
                transient=self.transient,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self._bar

    def advance(self, n: int = 1) -> None:
        self._started().advance(self._task, n)

    def update(self, **fields: Any) -> None:
        self._started().update(self._task, **fields)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
