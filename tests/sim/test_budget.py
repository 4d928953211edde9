"""The memory budget of a study: the estimate adds up the arrays a study allocates (known answer), and a
study that would not fit is refused before it starts, with the sizes in the message."""

from __future__ import annotations

import pytest

from fairpatrol.allocations import CHUNK_ROWS
from fairpatrol.config import load_preset
from fairpatrol.errors import ConfigError
from fairpatrol.sim.budget import (
    DAILY_SERIES,
    DAY_BYTES,
    FIXED_BYTES,
    GROUP_SERIES,
    METRICS_TEMP_BYTES,
    PREDPOL_AREA_ARRAYS,
    WRITE_FACTOR,
    WRITER_ROW_BYTES,
    check_memory,
    estimate_memory,
    kernel_values_per_event,
)


def test_estimate_known_answer():
    cfg = load_preset("baltimore-agg", runs=10, days=100)  # 3 algorithms × 2 officer counts × 2 rates
    c, r, d, m, e, g = 12, 10, 100, 256, 5000, 3
    est = estimate_memory(cfg, m, e, n_groups=g)
    assert est.study_tables == c * r * d * (8 * DAILY_SERIES + 1) + c * r * d * g * 8 * GROUP_SERIES
    assert est.batch == 4 * r * (m * DAY_BYTES + e * 5)  # 4 cells per algorithm: one day's arrays
    kde = e * m * 12 + 4 * r * m * 16  # areas unknown: every area within reach of every event
    assert est.model_state == max(kde, 4 * r * (e * 8 + m * 8 * PREDPOL_AREA_ARRAYS))
    assert est.metrics_temporaries == r * m * METRICS_TEMP_BYTES  # < 1,024 areas: numpy metrics
    assert est.allocation_buffer == CHUNK_ROWS * WRITER_ROW_BYTES
    parts = est.study_tables + est.batch + est.model_state + est.metrics_temporaries + est.allocation_buffer
    assert est.peak == FIXED_BYTES + max(parts, WRITE_FACTOR * est.study_tables + est.model_state)
    assert estimate_memory(cfg, m, e, allocations=False).allocation_buffer == 0
    # nothing grows with runs × days × areas: 10× the days adds only the metric tables
    longer = estimate_memory(load_preset("baltimore-agg", runs=10, days=1000), m, e, n_groups=g)
    assert longer.batch == est.batch and longer.study_tables == 10 * est.study_tables
    # many areas: the support kernel needs no metric temporaries of runs × areas
    assert estimate_memory(cfg, 27_459, e).metrics_temporaries == 0


def test_kernel_values_per_event():
    # 1 km² areas, reach 1.2 km: the areas covering a 2.4 km square (+ a rim of partly covered areas)
    assert kernel_values_per_event(1200.0, 256, 256e6) == pytest.approx((2.4 + 2) ** 2)
    assert kernel_values_per_event(1e9, 256, 256e6) == 256  # at most every area
    assert kernel_values_per_event(1200.0, 256, None) == 256


class _Data:
    n_areas, n_events = 256, 20_000


def test_a_study_that_does_not_fit_is_refused_with_its_sizes():
    cfg = load_preset("baltimore-agg", runs=10_000, days=300)
    with pytest.raises(ConfigError) as err:
        check_memory(cfg, _Data(), available=8 * 10**9, source="s.yaml")
    text = str(err.value)
    assert text.startswith("s.yaml: field 'runs': this study needs about")
    assert "12 cells × 10000 runs × 300 days × 256 areas" in text and "8.0 GB are available" in text
    check_memory(load_preset("baltimore-agg", runs=2, days=30), _Data(), available=8 * 10**9)
