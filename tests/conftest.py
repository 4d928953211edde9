from __future__ import annotations

import os

import pytest

os.environ.setdefault("NUMBA_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def baltimore():
    from fairpatrol.data import load_areas, load_incidents

    areas = load_areas("baltimore")
    return load_incidents("baltimore-agg-assault", areas=areas)
