"""Audit a real deployment: score an agency's hot spots, patrol zones or patrol logs against what happened.

Read the targets with one of :func:`designated_zones`, :func:`daily_targets` or :func:`patrol_effort`, then
:func:`run_audit` them against the recorded incidents. The result's tables (:class:`AuditResult`) give the
targets' accuracy (share of crime captured, PAI, target hit rate), whom they exposed relative to crime and to
residents (per group of areas, per group of residents, per area), repeat targeting, calibration of scores,
trends and The Markup's tiers, with bootstrap intervals over days and notes of everything counted or left
out. Methods: ``docs/audit.md``.

Examples
--------
>>> from fairpatrol.audit import designated_zones, run_audit     # doctest: +SKIP
>>> zones = designated_zones(areas, "patrol_zones.geojson")      # doctest: +SKIP
>>> res = run_audit(areas, incidents, zones, population=["black", "white"], start="2019-01-01",
...                 end="2019-12-31")                              # doctest: +SKIP
>>> res.write("audit-2019")                                      # doctest: +SKIP
"""

from __future__ import annotations

from fairpatrol.audit.measures import MEASURES, Measure
from fairpatrol.audit.notes import Note
from fairpatrol.audit.result import TABLES, AuditResult, read_audit
from fairpatrol.audit.run import run_audit
from fairpatrol.audit.settings import AuditSettings
from fairpatrol.audit.targets import TargetSet, daily_targets, designated_zones, patrol_effort

__all__ = [
    "MEASURES",
    "TABLES",
    "AuditResult",
    "AuditSettings",
    "Measure",
    "Note",
    "TargetSet",
    "daily_targets",
    "designated_zones",
    "patrol_effort",
    "read_audit",
    "run_audit",
]
