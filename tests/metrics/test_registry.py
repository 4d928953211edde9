"""The metric registry (every metric declared once, ranked by its declared direction) and the formatting
of numbers for people."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairpatrol import formatting as fmt
from fairpatrol.metrics import registry
from fairpatrol.metrics.accumulator import (
    AREA_HORIZON,
    EXTRA_DAILY,
    GROUP_DAY_COUNTS,
    GROUP_HORIZON,
    RUN_HORIZON,
)
from fairpatrol.metrics.fairness import GROUP_METRICS, METRICS


def test_every_computed_metric_is_registered_at_its_level():
    for name in (*METRICS, *EXTRA_DAILY, *RUN_HORIZON):
        assert "run" in registry.metric(name).levels, name
    for name in (*GROUP_METRICS, *GROUP_DAY_COUNTS, *GROUP_HORIZON, "disparity_ratio_30d"):
        assert "group" in registry.metric(name).levels, name
    for name in AREA_HORIZON:
        assert "area" in registry.metric(name).levels, name


def test_entries_are_complete():
    for m in registry.REGISTRY.values():
        assert m.label and m.meaning and m.computed, m.name
        assert m.unit in registry.UNITS and m.family in ("need", "study", "context")
        assert "SPEC" not in m.computed + m.meaning + m.caveat  # cite docs/, never an unshipped file


def test_headline_is_need_first_then_the_study():
    head = registry.headline()
    families = [registry.metric(n).family for n in head]
    assert families == sorted(families, key=["need", "study", "context"].index)
    assert {"misallocated_share", "disparity_factor", "accuracy", "share_gap"} <= set(head)


def test_rank_scores_follow_the_declared_direction():
    assert registry.is_better("accuracy", 0.3, 0.2)
    assert registry.is_better("share_gap", 0.001, 0.002)
    # closer to 1: ranked by |log ratio|, so 2 and 1/2 tie and 1.1 beats 0.8
    s = registry.rank_score("disparity_ratio_pair", [2.0, 0.5, 1.1, 0.8, 1.0])
    assert s[0] == pytest.approx(s[1])
    assert s[4] < s[2] < s[3] < s[0]
    # closer to 0: by |value|
    assert registry.is_better("detection_gap_pair", -0.01, 0.02)
    assert np.isnan(registry.rank_score("accuracy", [np.nan]))[0]


def test_a_metric_without_direction_or_registration_cannot_be_ranked():
    with pytest.raises(ValueError, match="cannot rank"):
        registry.rank_score("gini_crime", [0.5])
    with pytest.raises(KeyError, match=r"registry\.py"):
        registry.rank_score("made_up_metric", [0.5])
    with pytest.raises(ValueError, match="twice"):
        registry.register(registry.metric("accuracy"))


# -- formatting -------------------------------------------------------------------------------------------
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_no_scientific_notation(x):
    for unit in fmt.DISPLAY:
        text = fmt.value(x, unit)
        assert not re.search(r"\de[+-]?\d", text), text
    assert not re.search(r"\de[+-]?\d", fmt.number(x))


def test_units_and_words():
    assert fmt.value(0.189, "share") == "18.9\u00a0%"  # a no-break space: never wrapped apart
    assert fmt.value(0.00189, "points") == "0.19\u00a0pp"
    assert fmt.points(0.031, long=True) == "3.1\u00a0percentage points"
    assert fmt.times(1.43) == "1.4\u00a0times"
    assert fmt.value(np.nan, "ratio") == "n/a" and fmt.value(np.inf, "ratio") == "unbounded"
    assert fmt.number(0.000236) == "0.00024"
    assert fmt.value(1e-9, "index") == "< 0.000001"
    assert fmt.signed(-0.004, "points") == "−0.4\u00a0pp"


def test_interval_digits_match_the_interval():
    # half-width 0.6 points: one decimal
    nb = "\u00a0"
    assert fmt.with_interval(0.1234, 0.1174, 0.1294, "share") == f"12.3{nb}% (11.7 to 12.9{nb}%)"
    # half-width 3 (index): no decimal
    assert fmt.with_interval(13.52, 10.5, 16.5, "index", style="pm") == "14 ± 3"
    # half-width 0.012 (starts with 1): two significant digits of it
    assert (
        fmt.with_interval(1.4321, 1.42, 1.444, "ratio", long=True)
        == f"1.432{nb}times (1.420 to 1.444{nb}times)"
    )
    # one run: no interval, said in words
    assert fmt.with_interval(0.5, np.nan, np.nan, "share", long=True) == f"50.0{nb}% (one run: no interval)"


def test_natural_order_of_scenarios():
    names = ["N400_r0.4", "N40_r0.4", "N400_r0", "N40_r0"]
    assert sorted(names, key=fmt.natural_key) == ["N40_r0", "N40_r0.4", "N400_r0", "N400_r0.4"]


def test_sweep_winners_rank_a_ratio_by_its_distance_from_one():
    import pandas as pd

    from fairpatrol.sweep.analyze import _best

    values = pd.DataFrame({"A": [0.5], "B": [1.8]})  # |log 0.5| = 0.69 > |log 1.8| = 0.59
    assert _best(values, "disparity_ratio_pair").iloc[0].to_dict() == {"A": 0.0, "B": 1.0}
    assert _best(values, "misallocated_share").iloc[0].to_dict() == {"A": 1.0, "B": 0.0}  # lower
    with pytest.raises(ValueError, match="cannot rank"):
        _best(values, "gini_crime")
