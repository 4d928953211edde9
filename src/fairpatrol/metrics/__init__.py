"""Fairness and accuracy metrics (docs/methods.md), declared in :mod:`fairpatrol.metrics.registry`."""

from __future__ import annotations

from fairpatrol.metrics.fairness import (
    GROUP_METRICS,
    HEADLINE,
    METRICS,
    daily_metrics,
    epsilon,
    gini,
    group_metrics,
    police_to_crime_ratio,
    shares,
)
from fairpatrol.metrics.summary import mean_interval, trend_slope

__all__ = [
    "GROUP_METRICS",
    "HEADLINE",
    "METRICS",
    "daily_metrics",
    "epsilon",
    "gini",
    "group_metrics",
    "mean_interval",
    "police_to_crime_ratio",
    "shares",
    "trend_slope",
]
