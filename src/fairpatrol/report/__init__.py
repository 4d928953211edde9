"""Transparency reports (docs/report.md): one self-contained HTML file from a results directory.

``write_report(DIR, OUT)`` reads a results directory of ``fairpatrol run`` (or ``sweep``, ``evaluate``,
``audit``; :mod:`fairpatrol.results` reads each kind) and writes a report a resident can read:
plain-language findings, maps, figures with intervals, model cards, explanations, calibration, data
provenance, an optional privacy mode and the exact config and seeds. See docs/report.md.
"""

from __future__ import annotations

from fairpatrol.report.render import Written, render_report, write_report

__all__ = ["Written", "render_report", "write_report"]
