"""How much memory a study needs, checked against the memory available before it starts.

The estimate adds up the arrays a study really allocates (docs/errors.md), with ``C`` scenario cells,
``R`` runs, ``D`` days, ``M`` areas, ``G`` groups, ``E`` events (history and horizon) and ``B`` the cells
of the largest one-algorithm batch. The simulated days stream through the study (docs/engine.md
"Streaming results"): nothing of size runs × days × areas is kept.

* the study's metric tables (:func:`fairpatrol.sim.study.run_study`): the daily metrics and diagnostics
  (float64, ``C·R·D`` each) and the group metrics (``C·R·D·G`` each), and the tables and summaries built
  from them when the results are written (:data:`WRITE_FACTOR` times their size);
* one simulated day of the largest batch (:func:`fairpatrol.sim.engine.simulate`): the day's counts,
  allocation shares and their temporaries, ``B·R·M·``:data:`DAY_BYTES`, with the learning weights
  (float32, ``B·R·E``) and the report coins (``B·R·E`` booleans);
* the model state: a KDE's sparse kernel masses (12 bytes for each area within ``cutoff`` bandwidths of
  each event) and its runs × areas sums; PredPol's per-run event weights (``B·R·E·4``, twice) and its
  per-run background rates with their Anderson history (``B·R·M·8·``:data:`PREDPOL_AREA_ARRAYS`);
* the daily metrics of one cell and day (:func:`fairpatrol.metrics.support.day_metrics`): about eight
  float64 temporaries of ``R·M`` below 1,024 areas (numpy), nothing of that size above (support kernel);
* the allocation rows buffered before a row group is written (:data:`fairpatrol.allocations.CHUNK_ROWS`
  rows of :data:`WRITER_ROW_BYTES`).

The check refuses a study whose peak exceeds :data:`MEMORY_SHARE` of the memory available
(``MemAvailable`` of ``/proc/meminfo``, or the cgroup limit if lower), naming the sizes that drive it.
Calibrated against the peak RSS above the RSS before the study (docs/errors.md).
"""

from __future__ import annotations

import math
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
#: Bytes per (row, area) of one simulated day: counts, shares, forecast and their temporaries (measured).
DAY_BYTES = 80
#: Bytes per buffered allocation row and per row of the Arrow table built from a buffer (measured).
WRITER_ROW_BYTES = 120
#: Bytes per (run, area) of the float64 temporaries of one cell-day's daily metrics (numpy definitions).
METRICS_TEMP_BYTES = 64
#: Number of daily metric and diagnostic series per (cell, run, day), float64.
DAILY_SERIES = 32
#: Number of per-group series per (cell, run, day, group), float64.
GROUP_SERIES = 8
#: The written tables and summaries, as a multiple of the metric arrays they are built from (measured).
WRITE_FACTOR = 2
#: Runs × areas float64 arrays of PredPol's state: μ, forecast, previous fit, extrapolation, the Anderson
#: history (2 × (memory + 1)) and the EM kernel's working copies (measured).
PREDPOL_AREA_ARRAYS = 20
#: What a study adds whatever its size: modules imported to write results, buffers (measured).
FIXED_BYTES = 64 * 2**20


@dataclass(frozen=True)
class MemoryEstimate:
    """The parts of a study's peak memory (bytes)."""

    study_tables: int
    batch: int
    model_state: int
    metrics_temporaries: int
    allocation_buffer: int

    @property
    def simulate_peak(self) -> int:
        parts = self.study_tables + self.batch + self.model_state + self.metrics_temporaries
        return FIXED_BYTES + parts + self.allocation_buffer

    @property
    def write_peak(self) -> int:
        return FIXED_BYTES + WRITE_FACTOR * self.study_tables + self.model_state

    @property
    def peak(self) -> int:
        return max(self.simulate_peak, self.write_peak)


def kernel_values_per_event(reach_m: float, n_areas: int, area_m2: float | None) -> float:
    """Areas within ``reach_m`` of an event (its stored kernel masses): the areas covering a square of side
    2·reach around it, for areas of the mean size (all areas when their surface is unknown)."""
    if area_m2 is None or area_m2 <= 0 or not math.isfinite(reach_m):
        return float(n_areas)
    side = math.sqrt(area_m2 / n_areas)
    return min(float(n_areas), (2.0 * reach_m / side + 2.0) ** 2)


def estimate_memory(
    config: ScenarioConfig,
    n_areas: int,
    n_events: int,
    *,
    runs: int | None = None,
    allocations: bool = True,
    area_m2: float | None = None,
    n_groups: int = 8,
) -> MemoryEstimate:
    """The memory :func:`~fairpatrol.sim.study.run_study` needs for ``config`` (see the module docstring);
    ``area_m2`` is the areas' total surface (for the size of the KDE kernel masses), ``n_groups`` the
    number of groups of areas."""
    from fairpatrol.allocations import CHUNK_ROWS
    from fairpatrol.metrics.support import SUPPORT_METRICS_MIN_AREAS
    from fairpatrol.models import PredPol, WindowKDE
    from fairpatrol.sim.layout import study_cells

    cells = study_cells(config)
    c, r, d, m, e = len(cells), runs if runs is not None else config.runs, config.days, n_areas, n_events
    per_alg = {a: sum(cell.algorithm == a for cell in cells) for a in config.algorithms}
    b = max(per_alg.values())
    study = c * r * d * (8 * DAILY_SERIES + 1) + c * r * d * n_groups * 8 * GROUP_SERIES
    batch = b * r * (m * DAY_BYTES + e * 5)
    state = 0
    for a in config.algorithms:
        model = config.model(a)
        if isinstance(model, WindowKDE):
            reach = float(model.cutoff) * float(model.bandwidth)
            values = kernel_values_per_event(reach, m, area_m2)
            state = max(state, int(e * values * 12) + per_alg[a] * r * m * 8 * 2)
        elif isinstance(model, PredPol):
            state = max(state, per_alg[a] * r * (e * 4 * 2 + m * 8 * PREDPOL_AREA_ARRAYS))
    temporaries = r * m * METRICS_TEMP_BYTES if m < SUPPORT_METRICS_MIN_AREAS else 0
    buffer = CHUNK_ROWS * WRITER_ROW_BYTES if allocations else 0
    return MemoryEstimate(study, batch, state, temporaries, buffer)


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
    areas = getattr(data, "areas", None)
    est = estimate_memory(
        config,
        data.n_areas,
        data.n_events,
        runs=runs,
        allocations=allocations,
        area_m2=None if areas is None else float(areas.frame["area_m2"].sum()),
        n_groups=8 if areas is None else len(areas.group_names),
    )
    avail = available if available is not None else available_memory()
    if avail is not None and est.peak > MEMORY_SHARE * avail:
        from fairpatrol.sim.layout import study_cells

        r = runs if runs is not None else config.runs
        size = f"{len(study_cells(config))} cells × {r} runs × {config.days} days × {data.n_areas} areas"
        raise ConfigError(
            f"this study needs about {_gb(est.peak)} of memory ({size}) but {_gb(avail)} are available "
            f"(it may use {MEMORY_SHARE:.0%}): lower runs or days, or split it into a sweep",
            source=source,
            field="runs",
        )
    return est


def spare_memory(estimate: MemoryEstimate, available: int | None = None) -> int | None:
    """Memory a study may still use beyond ``estimate`` (e.g. for worker processes; None: unknown)."""
    avail = available if available is not None else available_memory()
    if avail is None:
        return None
    return max(0, int(MEMORY_SHARE * avail) - estimate.peak)
