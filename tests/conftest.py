from __future__ import annotations

import os

import pytest

os.environ.setdefault("NUMBA_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def baltimore():
    from fairpatrol.data import load_areas, load_incidents

    areas = load_areas("baltimore")
    return load_incidents("baltimore-agg-assault", areas=areas)


def baltimore_results(out, incidents, **overrides):
    """Write the results of the ``baltimore-agg`` preset with ``overrides`` (days, runs, officers, …) into
    ``out`` and return ``out`` (a small study for tests that read a results directory)."""
    from fairpatrol.config import load_preset
    from fairpatrol.results import write_study

    write_study(load_preset("baltimore-agg", **overrides), out, incidents=incidents)
    return out


@pytest.fixture(autouse=True)
def _crash_logs_in_tmp(tmp_path_factory, monkeypatch):
    """Crash logs of the CLI guard go to a temporary folder, never to the user's ~/.cache."""
    monkeypatch.setenv("FAIRPATROL_LOG_DIR", str(tmp_path_factory.getbasetemp() / "crash-logs"))
