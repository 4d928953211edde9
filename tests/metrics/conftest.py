"""Helpers of the metric tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def extra_metrics(monkeypatch):
    """As if fairness.py listed one more metric of each kind (``busiest_area``: most officers in one area;
    ``officers_total``: officers in the group's areas) and computed it in its definitions, with no
    compiled form: what adding a metric touches."""
    import fairpatrol.metrics.fairness as fairness
    import fairpatrol.metrics.support as support

    def with_extra(officers, crimes, detected, group1, group2):
        out = fairness.daily_metrics(officers, crimes, detected, group1, group2)
        out["busiest_area"] = np.asarray(officers).max(axis=-1).astype(float)
        return out

    def groups_with_extra(officers, crimes, detected, group_index, n_groups=None):
        out = fairness.group_metrics(officers, crimes, detected, group_index, n_groups)
        officers = np.asarray(officers)
        out["officers_total"] = np.stack(
            [officers[:, group_index == g].sum(axis=-1) for g in range(int(n_groups))], axis=-1
        ).astype(float)
        return out

    monkeypatch.setattr(support, "METRICS", {**fairness.METRICS, "busiest_area": "most officers in one area"})
    monkeypatch.setattr(
        support,
        "GROUP_METRICS",
        {**fairness.GROUP_METRICS, "officers_total": "officers in the group's areas"},
    )
    monkeypatch.setattr(support, "daily_metrics", with_extra)
    monkeypatch.setattr(support, "group_metrics", groups_with_extra)
