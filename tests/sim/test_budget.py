"""The memory budget of a study: the estimate adds up the arrays a study allocates (known answer), and a
study that would not fit is refused before it starts, with the sizes in the message."""

from __future__ import annotations

import pytest

from fairpatrol.config import load_preset
from fairpatrol.errors import ConfigError
from fairpatrol.sim.budget import (
    ALLOCATION_ROW_BYTES,
    DAILY_SERIES,
    METRICS_TEMP_BYTES,
    check_memory,
    estimate_memory,
)
from fairpatrol.sim.study import study_cells


def test_estimate_known_answer():
    cfg = load_preset("baltimore-agg", runs=10, days=100)  # 3 algorithms × 2 officer counts × 2 rates
    c, r, d, m, e = 12, 10, 100, 256, 5000
    est = estimate_memory(cfg, m, e)
    assert est.study_tables == c * r * d * m * 4 * 4 + c * r * d * (8 * DAILY_SERIES + 1)
    assert est.batch == 4 * r * (d * m * 4 * 4 + e * 5 + d * 33)  # 4 cells per algorithm
    assert est.model_state == max(e * m * 8, 4 * r * e * 8)  # KDE kernel masses vs PredPol weights
    assert est.metrics_temporaries == r * d * m * METRICS_TEMP_BYTES
    assert est.allocations_table == c * r * d * m * ALLOCATION_ROW_BYTES
    assert est.peak == max(
        est.study_tables + est.batch + est.model_state + est.metrics_temporaries,
        est.study_tables + est.allocations_table,
    )
    assert estimate_memory(cfg, m, e, allocations=False).allocations_table == 0
    remedies = load_preset("baltimore-remedies", runs=10, days=100)  # prevention units: a fifth table
    cells = len(study_cells(remedies))
    assert estimate_memory(remedies, m, e).study_tables == cells * r * d * (m * 4 * 5 + 8 * DAILY_SERIES + 1)


class _Data:
    n_areas, n_events = 256, 20_000


def test_a_study_that_does_not_fit_is_refused_with_its_sizes():
    cfg = load_preset("baltimore-agg", runs=1000, days=300)
    with pytest.raises(ConfigError) as err:
        check_memory(cfg, _Data(), available=8 * 10**9, source="s.yaml")
    text = str(err.value)
    assert text.startswith("s.yaml: field 'runs': this study needs about")
    assert "12 cells × 1000 runs × 300 days × 256 areas" in text and "8.0 GB are available" in text
    check_memory(load_preset("baltimore-agg", runs=2, days=30), _Data(), available=8 * 10**9)
