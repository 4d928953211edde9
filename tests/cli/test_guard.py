"""The CLI's top-level guard: one line and a crash log (traceback and versions) for an unexpected error,
exit code 1; one line naming the file for file-system failures, exit code 2; --debug shows the traceback;
the same through typer's CliRunner and through the installed console script."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fairpatrol.cli.run as run_module
from fairpatrol.cli import app

runner = CliRunner()
ARGS = ["run", "--preset", "baltimore-agg", "--out", "unused"]


def one_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    return lines[0]


def logs(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("crash-*.log"))


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRPATROL_LOG_DIR", str(tmp_path))
    monkeypatch.delenv("FAIRPATROL_DEBUG", raising=False)
    return tmp_path


def fail_with(exc: BaseException):
    def _run(*args, **kwargs):
        raise exc

    return _run


def test_a_bug_is_one_line_pointing_to_a_log_with_traceback_and_versions(log_dir, monkeypatch):
    monkeypatch.setattr(run_module, "_run", fail_with(KeyError("cell 7")))
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 1
    line = one_line(result.output)
    assert line.startswith("error: internal error (KeyError: 'cell 7'), a bug in fairpatrol")
    assert "--debug" in line and "Traceback" not in result.output
    (log,) = logs(log_dir)
    assert str(log) in line
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'cell 7'" in text
    assert "numpy " in text and "fairpatrol " in text and "Python 3." in text


def test_debug_shows_the_traceback_instead(log_dir, monkeypatch):
    monkeypatch.setattr(run_module, "_run", fail_with(KeyError("cell 7")))
    result = runner.invoke(app, ["--debug", *ARGS])
    assert isinstance(result.exception, KeyError)
    assert logs(log_dir) == []
    monkeypatch.setenv("FAIRPATROL_DEBUG", "1")
    assert isinstance(runner.invoke(app, ARGS).exception, KeyError)


def test_a_bad_input_error_is_raised_as_is_with_debug(log_dir, monkeypatch):
    from fairpatrol.errors import ConfigError

    result = runner.invoke(app, ["--debug", "run", "--preset", "atlantis", "--out", "x"])
    assert isinstance(result.exception, ConfigError)


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "res/metrics.parquet"),
            "res/metrics.parquet: No space",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/data/crimes.csv"),
            "/data/crimes.csv: Permission",
        ),
        (OSError(errno.EROFS, "Read-only file system", "res"), "res: Read-only file system"),
        (MemoryError(), "out of memory"),
    ],
)
def test_environment_failures_are_one_line_with_exit_code_2(log_dir, monkeypatch, exc, needle):
    monkeypatch.setattr(run_module, "_run", fail_with(exc))
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 2
    line = one_line(result.output)
    assert line.startswith("error: ") and needle in line
    assert len(logs(log_dir)) == 1


def test_an_interruption_says_so_without_a_traceback(log_dir, monkeypatch):
    monkeypatch.setattr(run_module, "_run", fail_with(KeyboardInterrupt()))
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 130
    assert one_line(result.output).startswith("interrupted")


def test_user_warnings_are_warning_lines(log_dir, monkeypatch):
    import warnings

    from fairpatrol.errors import FairpatrolWarning

    def _run(*args, **kwargs):
        warnings.warn("look at this\nclosely", FairpatrolWarning, stacklevel=1)

    monkeypatch.setattr(run_module, "_run", _run)
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 0
    assert one_line(result.output) == "warning: look at this closely"


def test_the_console_script_is_guarded_too(tmp_path):
    code = (
        "import sys, fairpatrol.cli.run as r\n"
        "def boom(*a, **k):\n"
        "    raise ZeroDivisionError('division by zero')\n"
        "r._run = boom\n"
        "from fairpatrol.cli import app\n"
        "sys.argv = ['fairpatrol', 'run', '--preset', 'baltimore-agg']\n"
        "app()\n"
    )
    env = {"FAIRPATROL_LOG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert one_line(res.stderr).startswith("error: internal error (ZeroDivisionError")
    assert len(logs(tmp_path)) == 1


def test_old_logs_are_pruned(log_dir, monkeypatch):
    from fairpatrol.cli._common import KEEP_LOGS

    for i in range(KEEP_LOGS + 5):
        (log_dir / f"crash-20000101-0000{i:02d}-1.log").write_text("old")
    monkeypatch.setattr(run_module, "_run", fail_with(KeyError("x")))
    runner.invoke(app, ARGS)
    assert len(logs(log_dir)) == KEEP_LOGS
