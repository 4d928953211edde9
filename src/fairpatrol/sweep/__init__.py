"""Sweeps: a scenario crossed over parameter values, run locally or on a Dask cluster, resumable, analysed.

``load_sweep``/``load_sweep_preset`` expand a sweep definition into cells (:mod:`.spec`), ``run_sweep`` runs
the unfinished ones and writes each atomically (:mod:`.execute`, :mod:`.store`), ``analyze_sweep`` computes
the comparisons of docs/sweeps.md over the results (:mod:`.analyze`). The CLI is ``fairpatrol sweep``/
``analyze``.
"""

from __future__ import annotations

from fairpatrol.sweep.execute import SweepOutcome, run_sweep
from fairpatrol.sweep.spec import SweepCell, SweepPlan, SweepSpec, load_sweep, load_sweep_preset, parse_sweep

__all__ = [
    "SweepCell",
    "SweepOutcome",
    "SweepPlan",
    "SweepSpec",
    "load_sweep",
    "load_sweep_preset",
    "parse_sweep",
    "run_sweep",
]
