"""The sweep directory: atomic cells, resume bookkeeping, failure records, refusal to mix sweeps, locking."""

from __future__ import annotations

import json

import pytest

from fairpatrol.errors import FairpatrolError
from fairpatrol.results.sweep import CellOutcome, SweepStore, read_failures


def manifest(*ids, allocations=True):
    return {"definition": {"allocations": allocations}, "cells": [{"id": i} for i in ids]}


def outcome(cid):
    return CellOutcome(cid, True, {"metrics": b"m-" + cid.encode(), "summary": b"s"}, "sweep: {}\n")


def test_cells_are_finished_only_when_their_config_is_written(tmp_path):
    root = tmp_path / "sw"
    with SweepStore.open(root, manifest("a", "b")) as store:
        assert store.finished() == set()
        store.write_cell(outcome("a"))
        assert store.finished() == {"a"}
        assert (root / "metrics" / "cell=a" / "part-0.parquet").read_bytes() == b"m-a"
        assert not (root / "allocations").exists()
        assert not any((root / ".partial").iterdir())


def test_reopening_removes_partitions_of_unfinished_cells(tmp_path):
    root = tmp_path / "sw"
    with SweepStore.open(root, manifest("a", "b")) as store:
        store.write_cell(outcome("a"))
        # a run killed between the renames of cell b: tables in place, config not yet
        (root / "metrics" / "cell=b").mkdir()
        (root / "metrics" / "cell=b" / "part-0.parquet").write_bytes(b"half")
        (root / ".partial" / "b" / "summary").mkdir(parents=True)
    with SweepStore.open(root, manifest("a", "b")) as store:
        assert store.finished() == {"a"}
        assert not (root / "metrics" / "cell=b").exists()
        assert (root / "metrics" / "cell=a").exists()
        assert not (root / ".partial").exists()


def test_failures_are_recorded_and_cleared_by_a_later_success(tmp_path):
    root = tmp_path / "sw"
    with SweepStore.open(root, manifest("a")) as store:
        path = store.write_failure("a", "slug-a", "ValueError: boom", "Traceback ...")
        record = json.loads(path.read_text())
        assert record["error"] == "ValueError: boom" and record["slug"] == "slug-a"
        assert set(read_failures(root)) == {"a"}
        store.write_cell(outcome("a"))
        assert read_failures(root) == {}


def test_a_different_sweep_is_refused_unless_overwritten(tmp_path):
    root = tmp_path / "sw"
    with SweepStore.open(root, manifest("a")) as store:
        store.write_cell(outcome("a"))
    with pytest.raises(FairpatrolError, match=r"holds a different sweep.*--overwrite"):
        SweepStore.open(root, manifest("a", "c"))
    with pytest.raises(FairpatrolError, match="different sweep"):
        SweepStore.open(root, manifest("a", allocations=False))
    with SweepStore.open(root, manifest("a", "c"), overwrite=True) as store:
        assert store.finished() == set()
        assert not (root / "metrics").exists()


def test_a_non_sweep_directory_is_never_touched(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(FairpatrolError, match="not a sweep directory"):
            SweepStore.open(root, manifest("a"), overwrite=overwrite)
    assert (root / "thesis.tex").read_text() == "precious"


def test_one_writer_at_a_time(tmp_path):
    root = tmp_path / "sw"
    with SweepStore.open(root, manifest("a")):
        with pytest.raises(FairpatrolError, match="another sweep is writing"):
            SweepStore.open(root, manifest("a"))
    SweepStore.open(root, manifest("a")).close()  # released


def test_resuming_cells_computed_with_other_versions_warns(tmp_path):
    import yaml

    from fairpatrol.environment import installed_versions
    from fairpatrol.errors import FairpatrolWarning

    root = tmp_path / "sw"
    versions = {**installed_versions(), "numpy": "1.0.0"}
    cell = CellOutcome("a", True, {"metrics": b"m"}, yaml.safe_dump({"versions": versions}))
    with SweepStore.open(root, manifest("a", "b")) as store:
        store.write_cell(cell)
    with pytest.warns(FairpatrolWarning, match=r"1 finished cells were computed with .*numpy 1\.0\.0 → "):
        SweepStore.open(root, manifest("a", "b")).close()
