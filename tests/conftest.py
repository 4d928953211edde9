from __future__ import annotations

import os

import pytest

os.environ.setdefault("NUMBA_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def baltimore():
    from fairpatrol.data import load_areas, load_incidents

    areas = load_areas("baltimore")
    return load_incidents("baltimore-agg-assault", areas=areas)


@pytest.fixture(autouse=True)
def _crash_logs_in_tmp(tmp_path_factory, monkeypatch):
    """Crash logs of the CLI guard go to a temporary folder, never to the user's ~/.cache."""
    monkeypatch.setenv("FAIRPATROL_LOG_DIR", str(tmp_path_factory.getbasetemp() / "crash-logs"))
