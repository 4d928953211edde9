"""AllocationWriter's background writes: the same file as in the foreground, errors raised, no output
left looking complete (fairpatrol.allocations)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from fairpatrol.allocations import AllocationWriter
from fairpatrol.config import load_preset
from fairpatrol.results import write_study
from fairpatrol.sim.study import load_study_data, run_study


@pytest.fixture(scope="module")
def study():
    config = load_preset("baltimore-agg", days=4, runs=2, seed=3)
    return config, load_study_data(config)


def test_background_and_foreground_write_the_same_bytes(study, tmp_path):
    config, inputs = study
    files = {}
    for background in (True, False):
        path = tmp_path / f"{background}.parquet"
        with AllocationWriter(path, chunk_rows=700, background=background) as writer:
            run_study(config, incidents=inputs, sinks=[writer])
        files[background] = path.read_bytes()
        assert pq.ParquetFile(path).num_row_groups > 3
    assert files[True] == files[False]


class Broken(RuntimeError):
    pass


def test_an_error_of_the_background_write_stops_the_study_and_leaves_no_directory(
    study, tmp_path, monkeypatch
):
    config, inputs = study
    calls = []
    original = AllocationWriter._write

    def failing(self, buffer):
        calls.append(1)
        if len(calls) == 2:
            raise Broken("disk full")
        original(self, buffer)

    monkeypatch.setattr(AllocationWriter, "_write", failing)
    monkeypatch.setitem(AllocationWriter.__init__.__kwdefaults__, "chunk_rows", 700)  # many chunks
    out = tmp_path / "out"
    with pytest.raises(Broken):
        write_study(config, out, incidents=inputs, sinks=[])
    assert len(calls) == 2  # the study stopped at the failed chunk: no chunk written after it
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary directory left either


def test_an_error_raised_in_the_background_reaches_close(study, tmp_path, monkeypatch):
    config, inputs = study

    def failing(self, buffer):
        raise Broken("no space")

    monkeypatch.setattr(AllocationWriter, "_write", failing)
    with pytest.raises(Broken), AllocationWriter(tmp_path / "a.parquet", chunk_rows=10**9) as writer:
        run_study(config, incidents=inputs, sinks=[writer])
    assert writer._thread is None
