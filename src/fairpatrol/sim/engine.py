"""The fast simulation engine: all runs of a scenario batch advance together, day by day (SPEC §6).

Per day: every run's model state forecasts (batched, incremental), each run allocates its N officers with
its own random stream, the day's true crimes are detected (noisy-OR) or reported, and what was found
enters that run's training data at its own time. State is arrays: a runs × events training mask, the
model's incremental state, and runs × days × areas count tables. No per-day refit from scratch, no file I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fairpatrol.errors import ConfigError
from fairpatrol.models.base import AreaModel, ModelState
from fairpatrol.sim.prepare import SimData
from fairpatrol.sim.world import allocate, detection_probability, run_streams


@dataclass(frozen=True)
class RunSpec:
    """One simulated run: run index (its random streams) and the world's settings for it."""

    run: int
    n_officers: int
    report_prob: float
    detection_p: float = 0.5


@dataclass
class BatchResult:
    """Counts per (run, day, area) and per-(run, day) model diagnostics of one batch.

    ``in_train`` (runs × events) marks what each run had learned by the end (history, detected,
    reported) and ``state`` is the model's incremental state after the last day (None from the reference
    engine): both let a user or a test check the incremental state against a refit from scratch.
    """

    officers: np.ndarray
    detected: np.ndarray
    reported: np.ndarray
    fallback: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    in_train: np.ndarray | None = None
    state: ModelState | None = None


def validate_runs(runs: Sequence[RunSpec]) -> None:
    for spec in runs:
        if spec.n_officers < 1:
            raise ValueError(f"officers must be at least 1, got {spec.n_officers}")
        if not 0.0 <= spec.report_prob <= 1.0:
            raise ValueError(f"report_prob must be in [0, 1], got {spec.report_prob}")
        if not 0.0 <= spec.detection_p <= 1.0:
            raise ValueError(f"detection_p must be in [0, 1], got {spec.detection_p}")


def check_first_window(model: AreaModel, data: SimData) -> None:
    """An empty training window on the first day is a configuration error, not a silent uniform start."""
    window = int(getattr(model, "window_days", 0) or 0)
    if window:
        lo, hi = data.window(0, window)
        if hi <= lo:
            raise ConfigError(
                f"empty training window: {type(model).__name__} has no incident in the {window} days before "
                f"{data.start:%Y-%m-%d}",
                source=data.source,
                field="start",
            )


def simulate(
    model: AreaModel,
    data: SimData,
    runs: Sequence[RunSpec],
    *,
    seed: int,
    allocation: str = "multinomial",
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Simulate ``runs`` (any mix of N, r, p) of one model over the horizon of ``data``."""
    validate_runs(runs)
    check_first_window(model, data)
    n_rows, n_days, n_areas = len(runs), data.n_days, data.n_areas
    n_hist = data.n_history
    n_future = data.n_events - n_hist
    streams = [run_streams(seed, spec.run) for spec in runs]
    n_off = np.array([s.n_officers for s in runs], dtype=np.int64)
    p_det = np.array([s.detection_p for s in runs], dtype=np.float64)

    in_train = np.zeros((n_rows, data.n_events), dtype=np.bool_)
    in_train[:, :n_hist] = True
    reported_mask = np.empty((n_rows, n_future), dtype=np.bool_)
    for i, spec in enumerate(runs):
        reported_mask[i] = streams[i][0].random(n_future) < spec.report_prob

    officers = np.zeros((n_rows, n_days, n_areas), dtype=np.int32)
    detected = np.zeros_like(officers)
    reported = np.zeros_like(officers)
    fallback = np.zeros((n_rows, n_days), dtype=np.bool_)
    diagnostics: dict[str, np.ndarray] = {}
    eye = np.eye(n_areas, dtype=np.int32)

    state = model.make_state(data, in_train)
    for d in range(n_days):
        intensity = state.forecast(d)
        for i in range(n_rows):
            officers[i, d], fallback[i, d] = allocate(intensity[i], int(n_off[i]), allocation, streams[i][1])
        for key, value in state.diagnostics().items():
            diagnostics.setdefault(key, np.zeros((n_rows, n_days), dtype=value.dtype))[:, d] = value
        lo, hi = data.day_slice(d)
        if hi > lo:
            area = data.area[lo:hi]
            prob = detection_probability(officers[:, d, area], p_det[:, None])
            coins = np.stack([streams[i][2].random(hi - lo) for i in range(n_rows)])
            det = coins < prob
            rep = reported_mask[:, lo - n_hist : hi - n_hist]
            new = det | rep
            in_train[:, lo:hi] = new
            state.learn(d, lo, hi, new)
            onehot = eye[area]
            detected[:, d] = det.astype(np.int32) @ onehot
            reported[:, d] = rep.astype(np.int32) @ onehot
        if progress is not None:
            progress(1)
    return BatchResult(officers, detected, reported, fallback, diagnostics, in_train, state)
