"""The on-disk array cache (fairpatrol.diskcache): hits, and every way an entry can be bad."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fairpatrol import diskcache


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(diskcache.ENV, str(tmp_path / "c"))
    return tmp_path / "c"


def counting_build(value):
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(value, dtype=np.int32), "s": np.asarray(2.5)}

    return build, calls


def entries(folder, kind="k"):
    return sorted(p.name for p in (folder / kind).iterdir())


def test_second_call_reads_the_entry_with_dtypes_and_values(folder):
    build, calls = counting_build(5)
    first = diskcache.cached_arrays("k", {"x": 1}, build)
    second = diskcache.cached_arrays("k", {"x": 1}, build)
    assert len(calls) == 1
    assert second["a"].dtype == np.int32 and np.array_equal(second["a"], first["a"])
    assert float(second["s"]) == 2.5
    assert len(entries(folder)) == 1 and not any(n.startswith(".tmp-") for n in entries(folder))


def test_other_parts_are_another_entry(folder):
    build, calls = counting_build(5)
    diskcache.cached_arrays("k", {"x": 1}, build)
    diskcache.cached_arrays("k", {"x": 2}, build)
    diskcache.cached_arrays("k", {"x": 1.0}, build)  # 1.0 is not 1: keys are exact
    assert len(calls) == 3 and len(entries(folder)) == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "other_key", "missing_array"])
def test_a_bad_entry_is_ignored_rebuilt_and_replaced(folder, damage):
    build, calls = counting_build(7)
    diskcache.cached_arrays("k", {"x": 1}, build)
    (path,) = (folder / "k").iterdir()
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other_key":
        np.savez(path, __key__=np.array("0" * 64), a=np.arange(3))
    else:
        np.savez(path, __key__=np.array(path.stem))
    got = diskcache.cached_arrays("k", {"x": 1}, build, check=lambda a: a["a"].shape == (7,))
    assert len(calls) == 2 and np.array_equal(got["a"], np.arange(7))
    again = diskcache.cached_arrays("k", {"x": 1}, build)
    assert len(calls) == 2 and np.array_equal(again["a"], np.arange(7))  # the rebuilt entry was stored


def test_an_entry_failing_the_check_is_rebuilt(folder):
    build, calls = counting_build(4)
    diskcache.cached_arrays("k", {"x": 1}, build)
    diskcache.cached_arrays("k", {"x": 1}, build, check=lambda a: False)
    assert len(calls) == 2


def test_turned_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(diskcache.ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build, calls = counting_build(3)
    diskcache.cached_arrays("k", {"x": 1}, build)
    diskcache.cached_arrays("k", {"x": 1}, build)
    assert len(calls) == 2 and not any(tmp_path.iterdir())


def test_default_folder_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(diskcache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert diskcache.cache_dir() == tmp_path / "fairpatrol" / "arrays"


def test_unwritable_folder_computes_without_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv(diskcache.ENV, str(blocker))
    build, calls = counting_build(3)
    assert np.array_equal(diskcache.cached_arrays("k", {"x": 1}, build)["a"], np.arange(3))
    assert blocker.read_text().startswith("a file") and len(calls) == 1


def test_too_large_values_are_not_stored(folder, monkeypatch):
    monkeypatch.setattr(diskcache, "MAX_ENTRY_BYTES", 10)
    build, calls = counting_build(100)
    diskcache.cached_arrays("k", {"x": 1}, build)
    diskcache.cached_arrays("k", {"x": 1}, build)
    assert len(calls) == 2 and (not (folder / "k").exists() or entries(folder) == [])


def test_pruning_keeps_the_newest_and_only_deletes_its_own_files(folder, monkeypatch, tmp_path):
    monkeypatch.setattr(diskcache, "MAX_ENTRIES", 3)
    (folder / "k").mkdir(parents=True)
    (folder / "k" / "notes.txt").write_text("user file")
    outside = tmp_path / "outside.npz"
    np.savez(outside, a=np.arange(2))
    os.symlink(outside, folder / "k" / "link.npz")
    stale = folder / "k" / ".tmp-crashed.npz"
    stale.write_bytes(b"half")
    os.utime(stale, (1, 1))
    for i in range(6):
        build, _ = counting_build(i + 1)
        diskcache.cached_arrays("k", {"x": i}, build)
        path = folder / "k" / f"{diskcache.make_key('k', {'x': i})}.npz"
        os.utime(path, (1000 + i, 1000 + i))
    names = entries(folder)
    kept = [n for n in names if n.endswith(".npz") and n != "link.npz"]
    assert len(kept) == 3
    assert f"{diskcache.make_key('k', {'x': 5})}.npz" in kept  # the newest
    assert "notes.txt" in names and "link.npz" in names and outside.is_file()
    assert ".tmp-crashed.npz" not in names


def test_a_symlinked_entry_is_not_read(folder, tmp_path):
    key = diskcache.make_key("k", {"x": 1})
    (folder / "k").mkdir(parents=True)
    target = tmp_path / "t.npz"
    np.savez(target, __key__=np.array(key), a=np.arange(99))
    os.symlink(target, folder / "k" / f"{key}.npz")
    build, calls = counting_build(2)
    got = diskcache.cached_arrays("k", {"x": 1}, build)
    assert len(calls) == 1 and np.array_equal(got["a"], np.arange(2))
