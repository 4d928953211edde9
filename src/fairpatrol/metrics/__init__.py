"""Fairness and accuracy metrics (SPEC §7)."""

from __future__ import annotations

from fairpatrol.metrics.fairness import (
    HEADLINE,
    METRICS,
    daily_metrics,
    epsilon,
    gini,
    police_to_crime_ratio,
    shares,
)
from fairpatrol.metrics.summary import mean_interval, trend_slope

__all__ = [
    "HEADLINE",
    "METRICS",
    "daily_metrics",
    "epsilon",
    "gini",
    "mean_interval",
    "police_to_crime_ratio",
    "shares",
    "trend_slope",
]
