"""Safe writing (fairpatrol.atomic): atomic files with the usual permissions, marked results directories,
--overwrite only over fairpatrol's own, stale partial directories cleaned, no deletion through a link."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import warnings

import pytest

from fairpatrol.atomic import (
    MARKER,
    atomic_directory,
    atomic_write,
    check_output_dir,
    clean_stale,
    read_marker,
    remove_tree,
    write_marker,
)
from fairpatrol.errors import DataError, FairpatrolWarning


@pytest.fixture
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_write_gives_the_usual_mode_and_leaves_no_temporary(tmp_path, usual_umask):
    target = tmp_path / "a" / "report.html"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_text() == "second"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_atomic_write_refuses_a_link_and_a_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("mine")
    os.symlink(tmp_path / "mine.txt", tmp_path / "link")
    with pytest.raises(DataError, match="symbolic link"):
        atomic_write(tmp_path / "link", "x")
    with pytest.raises(DataError, match="is a directory"):
        atomic_write(tmp_path, "x")
    assert (tmp_path / "mine.txt").read_text() == "mine"


def test_a_results_directory_is_marked_and_world_readable(tmp_path, usual_umask):
    out = tmp_path / "res"
    with atomic_directory(out, kind="run") as tmp:
        (tmp / "metrics.csv").write_text("a\n1\n")
        assert read_marker(tmp)["state"] == "partial"
    marker = read_marker(out)
    assert marker["kind"] == "run" and marker["format"] == 1 and "created" in marker and "state" not in marker
    assert "pid" not in marker and "host" not in marker  # only the partial marker says where it was written
    assert out.stat().st_mode & 0o777 == 0o755
    assert (out / MARKER).stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_overwrite_replaces_only_a_marked_or_empty_directory(tmp_path):
    out = tmp_path / "res"
    with atomic_directory(out, kind="run") as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(DataError, match=r"earlier fairpatrol run.*--overwrite"):
        check_output_dir(out)
    with atomic_directory(out, kind="evaluate", overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "new.txt"]
    assert read_marker(out)["kind"] == "evaluate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no trash left beside it
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_directory(empty, kind="run") as tmp:
        (tmp / "x").write_text("x")
    assert (empty / "x").exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_foreign_directory_is_never_replaced(tmp_path, overwrite):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(DataError, match="not a fairpatrol results directory"):
        with atomic_directory(mine, kind="run", overwrite=overwrite):
            pytest.fail("the block must not run")
    assert (mine / "thesis.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_forged_or_broken_marker_does_not_count(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    (out / MARKER).write_text("{not json")
    with pytest.raises(DataError, match="not a fairpatrol results directory"):
        check_output_dir(out, overwrite=True)
    (out / MARKER).unlink()
    (tmp_path / "elsewhere.json").write_text(json.dumps({"kind": "run"}))
    os.symlink(tmp_path / "elsewhere.json", out / MARKER)  # a link is not a marker
    with pytest.raises(DataError, match="not a fairpatrol results directory"):
        check_output_dir(out, overwrite=True)


def test_a_failed_block_leaves_the_old_results_and_no_partial(tmp_path):
    out = tmp_path / "res"
    with atomic_directory(out, kind="run") as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(out, kind="run", overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("simulation failed")
    assert (out / "old.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_stale_partials_of_dead_writers_are_removed_with_a_note(tmp_path):
    out = tmp_path / "res"
    host = socket.gethostname()
    stale = tmp_path / ".res.abcd1234.partial"
    stale.mkdir()
    (stale / "metrics.parquet").write_bytes(b"half")
    write_marker(stale, "run", state="partial", pid=dead_pid(), host=host)
    live = tmp_path / ".res.live5678.partial"  # another fairpatrol still writing
    live.mkdir()
    write_marker(live, "run", state="partial", pid=os.getpid(), host=host)
    unmarked = tmp_path / ".res.nomk9012.partial"  # the name alone is not enough
    unmarked.mkdir()
    (unmarked / "thesis.txt").write_text("precious")
    other_name = tmp_path / ".other.abcd1234.partial"
    other_name.mkdir()
    write_marker(other_name, "run", state="partial", pid=dead_pid(), host=host)
    elsewhere = tmp_path / ".res.host1234.partial"  # written on another machine: its pid says nothing here
    elsewhere.mkdir()
    write_marker(elsewhere, "run", state="partial", pid=dead_pid(), host=host + "-other")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        removed = clean_stale(out)
    assert removed == [stale]
    assert [str(w.message) for w in seen if issubclass(w.category, FairpatrolWarning)] == [
        f"{stale}: removed the unfinished output of an earlier interrupted fairpatrol command"
    ]
    assert {p.name for p in tmp_path.iterdir()} == {
        ".res.live5678.partial",
        ".res.nomk9012.partial",
        ".other.abcd1234.partial",
        ".res.host1234.partial",
    }


def test_a_killed_replacement_leaves_a_marked_trash_folder_that_is_cleaned(tmp_path):
    out = tmp_path / "res"
    trash = tmp_path / ".res.trsh1234.old"
    (trash / "res").mkdir(parents=True)
    write_marker(trash, "run")
    with pytest.warns(FairpatrolWarning, match="trsh1234"), atomic_directory(out, kind="run") as tmp:
        (tmp / "x").write_text("x")
    assert not trash.exists()


def test_a_killed_run_leaves_a_partial_that_the_next_run_removes(tmp_path):
    """The real sequence: a process writing results is killed (SIGKILL) inside the atomic block; the next
    write to the same place removes what it left, with a note, and the user's files beside it survive."""
    (tmp_path / "thesis.txt").write_text("precious")
    script = (
        "import os, sys, time\n"
        "from fairpatrol.atomic import atomic_directory\n"
        f"with atomic_directory({str(tmp_path / 'res')!r}, kind='run') as tmp:\n"
        "    (tmp / 'metrics.parquet').write_bytes(b'half')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    proc.stdout.close()
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(left) == 1 and not (tmp_path / "res").exists()
    with pytest.warns(FairpatrolWarning, match="removed the unfinished output"):
        with atomic_directory(tmp_path / "res", kind="run") as tmp:
            (tmp / "metrics.parquet").write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "thesis.txt"]


def test_shutil_rmtree_refuses_a_link_at_the_top_and_does_not_follow_links_inside(tmp_path):
    """What remove_tree relies on (checked here on this Python, as the issue asks)."""
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    os.symlink(target, tmp_path / "link")
    with pytest.raises(OSError, match="symbolic link"):
        shutil.rmtree(tmp_path / "link")
    outer = tmp_path / "outer"
    outer.mkdir()
    os.symlink(target, outer / "inner")
    shutil.rmtree(outer)
    assert (target / "keep.txt").read_text() == "keep"


def test_remove_tree_never_deletes_outside_its_root_or_through_a_link(tmp_path):
    root = tmp_path / "res"
    (root / "metrics").mkdir(parents=True)
    other = tmp_path / "other"
    (other / "cell=a").mkdir(parents=True)
    (other / "cell=a" / "thesis.txt").write_text("precious")
    with pytest.raises(DataError, match="outside"):
        remove_tree(other, root=root)
    with pytest.raises(DataError, match="outside"):
        remove_tree(root / ".." / "other", root=root)
    os.symlink(other, root / "linked")  # the attack: DIR/metrics -> ../other
    with pytest.raises(DataError, match=r"outside .* or reached through a symbolic link"):
        remove_tree(root / "linked" / "cell=a", root=root)
    with pytest.raises(DataError, match="unexpected symbolic link"):
        remove_tree(root, root=tmp_path)
    assert (other / "cell=a" / "thesis.txt").read_text() == "precious"
    os.unlink(root / "linked")
    remove_tree(root / "metrics", root=root)
    remove_tree(root / "missing", root=root)  # nothing to do
    assert sorted(p.name for p in root.iterdir()) == []


def test_a_link_planted_during_a_sweep_is_refused_before_writing(tmp_path):
    from fairpatrol.results.sweep import CellOutcome, SweepStore

    root = tmp_path / "sw"
    other = tmp_path / "other"
    (other / "cell=a").mkdir(parents=True)
    (other / "cell=a" / "thesis.txt").write_text("precious")
    manifest = {"definition": {"allocations": True}, "cells": [{"id": "a"}]}
    with SweepStore.open(root, manifest) as store:
        os.symlink(other, root / "metrics")
        with pytest.raises(DataError, match="unexpected symbolic link"):
            store.write_cell(CellOutcome("a", True, {"metrics": b"m"}, "x: 1\n"))
    assert (other / "cell=a" / "thesis.txt").read_text() == "precious"
    assert sorted(p.name for p in other.iterdir()) == ["cell=a"]


def test_report_file_is_world_readable_and_never_replaces_a_users_file(tmp_path, usual_umask):
    from typer.testing import CliRunner

    from fairpatrol.cli import app

    runner = CliRunner()
    res = tmp_path / "res"
    result = runner.invoke(
        app, ["run", "--preset", "baltimore-agg", "--days", "2", "--runs", "1", "-o", str(res), "-q"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(res)])
    assert result.exit_code == 0, result.output
    report = res / "report.html"
    assert report.stat().st_mode & 0o777 == 0o644
    for p in res.iterdir():
        assert p.stat().st_mode & 0o777 == 0o644, p
    first = report.stat().st_mtime_ns
    assert runner.invoke(app, ["report", str(res)]).exit_code == 0  # its own report is replaced
    assert report.stat().st_mtime_ns >= first
    assert read_marker(res)["kind"] == "run"
