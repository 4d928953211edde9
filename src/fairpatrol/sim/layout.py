"""The shape of a study, known before its first simulated day: its scenario cells, runs and days, and the
interface of what receives its days (:class:`StudySink`).

A leaf of :mod:`fairpatrol.sim`: the study (:mod:`fairpatrol.sim.study`), its memory budget
(:mod:`fairpatrol.sim.budget`) and the writers of its results (:mod:`fairpatrol.allocations`,
:mod:`fairpatrol.results.run`) all read it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fairpatrol.config import ScenarioConfig
    from fairpatrol.sim.engine import DayBlock
    from fairpatrol.sim.prepare import SimData


@dataclass(frozen=True)
class Cell:
    """One scenario cell: an algorithm under one world setting and one remedy."""

    algorithm: str
    n_officers: int
    report_prob: float | str
    remedy: str = "none"

    @property
    def reporting(self) -> str:
        """The reporting setting as text: a rate ('0.4') or a model name ('bjs2019')."""
        return f"{self.report_prob:g}" if isinstance(self.report_prob, float | int) else str(self.report_prob)

    @property
    def scenario(self) -> str:
        """The world setting's name, shared by the algorithms compared under it."""
        base = f"N{self.n_officers}_r{self.reporting}"
        return base if self.remedy == "none" else f"{base}_{self.remedy}"


@dataclass
class StudyLayout:
    """What a study simulates, known before its first day: config, truth arrays, cells and runs.

    ``reporting_rate`` maps each reporting setting (:attr:`Cell.reporting`) to its mean reporting rate.
    """

    config: ScenarioConfig
    data: SimData
    cells: list[Cell]
    run_ids: list[int]
    reporting_rate: dict[str, float]

    @property
    def group_pair(self) -> tuple[str, str]:
        return self.data.areas.group_pair

    @property
    def areas(self):
        """The study's areas (:class:`fairpatrol.data.Areas`)."""
        return self.data.areas

    @property
    def metric_runs(self) -> list[int]:
        """Run labels of the metric arrays: the runs, or [-1] for metrics on run-averaged counts."""
        return [-1] if self.config.compat.run_averaged_metrics else list(self.run_ids)

    @property
    def dates(self) -> np.ndarray:
        """The simulated days (datetime64[D])."""
        return np.datetime64(self.data.start.date(), "D") + np.arange(self.data.n_days)


def study_cells(config: ScenarioConfig) -> list[Cell]:
    """The scenario cells of ``config``: algorithm × officers × reporting × remedy, in that nesting."""
    return [
        Cell(a, n, r, remedy)
        for a in config.algorithms
        for n in config.officers
        for r in config.report_probs
        for remedy in config.remedies
    ]


class StudySink:
    """Receives a study's simulated days: subclass and override :meth:`day` (and :meth:`open`, :meth:`close`).

    :func:`run_study` calls ``open(layout)`` once before the first day, then ``day(cells, block)`` for every
    simulated day of every algorithm batch (batches in the order of ``config.algorithms``, days in order),
    and ``close()`` after the last batch. ``cells`` are the indices (in ``layout.cells``) of the batch's
    cells; the block's rows are those cells × the study's runs, cell-major (row ``k · R + r`` is run
    ``layout.run_ids[r]`` of cell ``cells[k]``). The block's arrays are valid during the call only.
    """

    def open(self, layout: StudyLayout) -> None:
        """Called before the first simulated day."""

    def day(self, cells: Sequence[int], block: DayBlock) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Called after the last simulated day of the last batch."""
