"""How much memory a study needs, checked against the memory available before it starts.

The estimate adds up the arrays a study really allocates (docs/errors.md), with ``C`` scenario cells,
``R`` runs, ``D`` days, ``M`` areas, ``E`` events (history and horizon) and ``B`` the cells of the largest
one-algorithm batch:

* the study's result tables (:func:`fairpatrol.sim.study.run_study`): officers, crimes, detected,
  reported (and prevention units) as int32, ``C·R·D·M·4`` bytes each, plus the daily metrics and
  diagnostics (float64, ``C·R·D`` each);
* the engine batch of one algorithm (:func:`fairpatrol.sim.engine.simulate`), alive while it is copied
  into the study tables: the same tables for ``B`` cells, the learning weights (float32, ``B·R·E``), the
  report coins (``B·R·E`` booleans) and the model state (a KDE's event × area kernel masses in float64,
  ``E·M·8``; PredPol's per-run event weights, ``B·R·E·4``);
* the daily metrics of one cell (:func:`fairpatrol.metrics.daily_metrics`): about eight float64
  temporaries of ``R·D·M`` each;
* the allocations table written to Parquet (:func:`fairpatrol.results.allocations_table`): per
  (cell, run, day, area) row, the value and key columns and the temporaries that build them (64 bytes,
  measured).

The peak is the larger of the simulation phase and the writing phase. Measured on ``baltimore-agg``
(peak RSS above the RSS before the study; simulation phase, then writing): 40 runs × 300 days, 1.04 and
2.83 GB measured, 1.03 and 2.99 GB estimated; 100 runs × 150 days, 1.31 and 3.55 GB measured, 1.29 and
3.73 GB estimated (docs/errors.md). The check refuses a study whose
peak exceeds :data:`MEMORY_SHARE` of the memory available (``MemAvailable`` of ``/proc/meminfo``, or the
cgroup limit if lower), naming the sizes that drive it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fairpatrol.errors import ConfigError

if TYPE_CHECKING:
    from fairpatrol.config import ScenarioConfig
    from fairpatrol.sim.prepare import SimData

#: Share of the available memory a study may plan to use (the rest: Python, libraries, the OS).
MEMORY_SHARE = 0.8
#: Bytes per (cell, run, day, area) row of the allocations table as built for writing (measured).
ALLOCATION_ROW_BYTES = 64
#: Bytes per (run, day, area) of the float64 temporaries of one cell's daily metrics.
METRICS_TEMP_BYTES = 64
#: Number of daily metric and diagnostic series per (cell, run, day), float64.
DAILY_SERIES = 32


@dataclass(frozen=True)
class MemoryEstimate:
    """The parts of a study's peak memory (bytes)."""

    study_tables: int
    batch: int
    model_state: int
    metrics_temporaries: int
    allocations_table: int

    @property
    def simulate_peak(self) -> int:
        return self.study_tables + self.batch + self.model_state + self.metrics_temporaries

    @property
    def write_peak(self) -> int:
        return self.study_tables + self.allocations_table

    @property
    def peak(self) -> int:
        return max(self.simulate_peak, self.write_peak)


def estimate_memory(
    config: ScenarioConfig, n_areas: int, n_events: int, *, runs: int | None = None, allocations: bool = True
) -> MemoryEstimate:
    """The memory :func:`~fairpatrol.sim.study.run_study` needs for ``config`` (see the module docstring)."""
    from fairpatrol.models import PredPol, WindowKDE
    from fairpatrol.sim.study import study_cells

    cells = study_cells(config)
    c, r, d, m, e = len(cells), runs if runs is not None else config.runs, config.days, n_areas, n_events
    prevention = any(rem.prevention_share > 0 for rem in config.remedies.values())
    tables = 5 if prevention else 4
    per_alg = {a: sum(cell.algorithm == a for cell in cells) for a in config.algorithms}
    b = max(per_alg.values())
    study = c * r * d * m * 4 * tables + c * r * d * (8 * DAILY_SERIES + 1)
    batch = b * r * (d * m * 4 * tables + e * 4 + e + d * (8 * 4 + 1))
    state = 0
    for a in config.algorithms:
        model = config.model(a)
        if isinstance(model, WindowKDE):
            state = max(state, e * m * 8)
        elif isinstance(model, PredPol):
            state = max(state, per_alg[a] * r * e * 4 * 2)
    table = c * r * d * m * ALLOCATION_ROW_BYTES if allocations else 0
    return MemoryEstimate(study, batch, state, r * d * m * METRICS_TEMP_BYTES, table)


_CGROUP_USAGE = ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes")


def available_memory() -> int | None:
    """Bytes of memory available to this process now (None when it cannot be told)."""
    values = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                values.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            used = 0
            for usage_file in _CGROUP_USAGE:
                try:
                    used = int(Path(usage_file).read_text().strip())
                    break
                except (OSError, ValueError):
                    continue
            values.append(max(int(text) - used, 0))
    if not values:
        try:
            values.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
            return None
    return min(values)


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def check_memory(
    config: ScenarioConfig,
    data: SimData,
    *,
    runs: int | None = None,
    allocations: bool = True,
    available: int | None = None,
    source: str | None = None,
) -> MemoryEstimate:
    """Raise a one-line :class:`ConfigError` when the study would need more memory than is available."""
    est = estimate_memory(config, data.n_areas, data.n_events, runs=runs, allocations=allocations)
    avail = available if available is not None else available_memory()
    if avail is not None and est.peak > MEMORY_SHARE * avail:
        from fairpatrol.sim.study import study_cells

        r = runs if runs is not None else config.runs
        size = f"{len(study_cells(config))} cells × {r} runs × {config.days} days × {data.n_areas} areas"
        raise ConfigError(
            f"this study needs about {_gb(est.peak)} of memory ({size}) but {_gb(avail)} are available "
            f"(it may use {MEMORY_SHARE:.0%}): lower runs or days, or split it into a sweep",
            source=source,
            field="runs",
        )
    return est
