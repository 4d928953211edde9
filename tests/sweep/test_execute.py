"""Local execution: a cell that kills its worker process is isolated and recorded; the others finish.

Kept apart from the end-to-end tests so the spawned workers import only this light module.
"""

from __future__ import annotations

import os
import time

from fairpatrol.results.sweep import CellOutcome
from fairpatrol.sweep.execute import _run_local
from fairpatrol.sweep.worker import CellTask


def crashing_cell(task: CellTask) -> CellOutcome:
    """A cell function whose 'boom' cell kills its worker process (as an out-of-memory kill would)."""
    if task.cell_id == "boom":
        os._exit(3)
    time.sleep(0.2)
    return CellOutcome(task.cell_id, True)


def test_a_cell_that_kills_its_worker_fails_alone():
    tasks = [CellTask(i, i, {}, {}) for i in ("a", "boom", "b", "c", "d")]
    seen: dict[str, list[CellOutcome]] = {}
    _run_local(
        tasks, 2, lambda outcome, slug: seen.setdefault(outcome.cell_id, []).append(outcome), fn=crashing_cell
    )
    assert sorted(seen) == ["a", "b", "boom", "c", "d"]
    assert all(len(v) == 1 for v in seen.values())  # every cell recorded once
    assert [k for k, v in seen.items() if not v[0].ok] == ["boom"]
    assert "worker process died" in seen["boom"][0].error
