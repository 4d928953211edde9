"""World effects and remedies as hooks of the engine's day (docs/engine.md, "World effects as hooks").

The day loop of :func:`fairpatrol.sim.engine.simulate` runs fixed phases; an :class:`Effect` changes what
a phase computes by overriding its hook, in the manner of ml-fairness-gym's ``_step_impl``
(``core.py``): the engine keeps the loop, the random streams and the compiled passes, an effect only
replaces or multiplies whole arrays of the day (runs × the day's events, or runs × areas), never loops
over areas.

=========== ============================================================= =================================
phase       what the engine does, then what a hook may change             hooks (in :data:`EFFECTS` order)
=========== ============================================================= =================================
start       once, after the model state is made                           shared reports, leak, prevention
allocate    officers from each run's forecast shares; a hook may place    compat KDE sampling
            them itself instead (``True``: shares are then None)
allocated   the day's officers are placed: change them or add units        patrol cap, prevention units
happen      which of the day's events happen: ``keep`` (a probability,     deterrence, prevention units,
            compared with the world-effect uniforms) or ``real``           displacement
detect      noisy-OR detection probability and uniforms                   compat relative detection
learn       ``learned`` (default: detected or reported) and ``weight``     feedback-corrected learning,
            of each event                                                 reporting delay
end         end of the day, after the model learned                       reporting delay (late reports)
=========== ============================================================= =================================

Adding an effect: one :class:`Effect` subclass here (its ``build`` reads its setting and returns None when
off) appended to :data:`WORLD_EFFECTS`, and one field of :class:`fairpatrol.config.WorldConfig` (or of
:class:`~fairpatrol.config.RemedyConfig`, for a per-run remedy); the published code's quirks live in
:mod:`fairpatrol.sim.compat` with their :class:`~fairpatrol.config.CompatConfig` switch. An effect that is
off costs nothing: the engine calls only the hooks an active effect overrides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fairpatrol.sim.world import (
    allocate_shares,
    capped_allocation,
    inverse_probability_weights,
    keep_probability,
)

if TYPE_CHECKING:
    from fairpatrol.config import CompatConfig, WorldConfig
    from fairpatrol.models.base import AreaModel, ModelState
    from fairpatrol.sim.engine import RunSpec
    from fairpatrol.sim.prepare import SimData


@dataclass(frozen=True)
class Setup:
    """What an effect is built from: the batch's model, data and runs and the study's settings."""

    model: AreaModel
    data: SimData
    runs: Sequence[RunSpec]
    world: WorldConfig
    compat: CompatConfig


@dataclass
class Batch:
    """The state of one :func:`~fairpatrol.sim.engine.simulate` call that hooks read and change.

    ``streams[i]`` are run i's random streams (:func:`fairpatrol.sim.world.run_streams`: reporting,
    allocation, detection, world effects); ``weights`` (runs × events) what each run has learned;
    ``will_report`` (runs × horizon events) which crimes each run's victims would report; ``officers`` and
    ``prevention`` (runs × areas) today's placements, buffers the engine reuses every day.
    """

    model: AreaModel
    data: SimData
    runs: Sequence[RunSpec]
    streams: list
    allocation: str
    weights: np.ndarray
    will_report: np.ndarray
    officers: np.ndarray
    n_officers: np.ndarray
    state: ModelState
    prevention: np.ndarray | None = None


class Day:
    """One simulated day as the hooks see it: the day's events are ``lo:hi`` of the data, ``area`` their
    areas. The engine sets the arrays below (runs × the day's events unless said otherwise) phase by phase,
    before the hooks of that phase run; a hook reads only what its phase has."""

    #: runs × areas allocation shares (None: a hook placed the officers), from ``allocated`` on
    shares: np.ndarray | None
    #: officers in each event's area, from ``happen`` on
    k_officers: np.ndarray
    #: the world-effect uniforms (stream 3), drawn for the ``happen`` hooks
    coins: np.ndarray
    #: probability that an event still happens (None: 1), set by ``happen`` hooks
    keep: np.ndarray | None
    #: which events happen (None: ``coins < keep``), set by a ``happen`` hook
    real: np.ndarray | None
    #: detection probability and uniforms (stream 2), from ``detect`` on
    prob: np.ndarray
    detect_coins: np.ndarray
    #: what was detected and reported, what enters the training data, with which float32 weight (``learn``)
    detected: np.ndarray
    reported: np.ndarray
    learned: np.ndarray
    weight: np.ndarray

    def __init__(self, day: int, lo: int, hi: int, area: np.ndarray) -> None:
        self.day, self.lo, self.hi, self.area = day, lo, hi, area
        self.shares = self.keep = self.real = None

    def times(self, keep: np.ndarray) -> None:
        """Multiply ``keep`` by another factor (in hook order: the same floating-point products always)."""
        self.keep = keep if self.keep is None else self.keep * keep


class Effect:
    """A world effect or remedy: ``build`` returns it when its setting is on, and it overrides the hooks of
    the phases it changes (the others stay no-ops and are never called)."""

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        """The effect for this batch, or None when its setting is off."""
        raise NotImplementedError

    def start(self, batch: Batch) -> None:
        """Once, after the model state is made and before day 0."""

    def allocate(self, batch: Batch, day: Day) -> bool:
        """Place ``batch.officers`` instead of the forecast's allocation (return True when done)."""
        return False

    def allocated(self, batch: Batch, day: Day) -> None:
        """After the officers are placed: change them, place other units."""

    def happen(self, batch: Batch, day: Day) -> None:
        """Which of the day's events happen: multiply ``day.keep`` (:meth:`Day.times`) or set ``day.real``."""

    def detect(self, batch: Batch, day: Day) -> None:
        """Change ``day.prob`` or ``day.detect_coins``."""

    def learn(self, batch: Batch, day: Day) -> None:
        """Change ``day.learned`` or ``day.weight``."""

    def end(self, batch: Batch, day: Day) -> None:
        """At the end of the day, after the model learned the day's events."""


def overriding(effects: Sequence[Effect], hook: str) -> list[Effect]:
    """The effects whose class overrides ``hook`` (the engine calls only these)."""
    return [e for e in effects if getattr(type(e), hook) is not getattr(Effect, hook)]


# -- remedies (settings of each run: RemedyConfig) ---------------------------------------------------------
class PatrolCap(Effect):
    """``pcr_cap``: no area gets more than ⌈cap · N · predicted share⌉ officers
    (:func:`fairpatrol.sim.world.capped_allocation`)."""

    def __init__(self, rows: list[tuple[int, float]]) -> None:
        self.rows = rows

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        rows = [(i, r.remedy.pcr_cap) for i, r in enumerate(setup.runs) if r.remedy.pcr_cap is not None]
        return cls(rows) if rows else None

    def allocated(self, batch: Batch, day: Day) -> None:
        if day.shares is None:
            return
        for i, cap in self.rows:
            batch.officers[i] = capped_allocation(batch.officers[i], day.shares[i], cap)


class PreventionUnits(Effect):
    """Non-punitive units placed like patrols (each run's own allocation stream, after its officers): they
    deter crime with elasticity ``prevention_elasticity``, keep = (1 + u)^(−ε_prev), and detect nothing."""

    def __init__(self, units: np.ndarray, elasticity: np.ndarray) -> None:
        self.units = units
        self.elasticity = elasticity[:, None]
        self.placed = np.zeros((len(units), 0), dtype=np.int32)  # runs × areas, today's (start: sized)

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        units = np.array([r.prevention_units for r in setup.runs], dtype=np.int64)
        if not units.any():
            return None
        eps = np.array([r.remedy.prevention_elasticity for r in setup.runs], dtype=np.float64)
        return cls(units, eps)

    def start(self, batch: Batch) -> None:
        self.placed = batch.prevention = np.zeros_like(batch.officers)

    def allocated(self, batch: Batch, day: Day) -> None:
        if day.shares is None:
            return
        for i in np.flatnonzero(self.units):
            self.placed[i] = allocate_shares(
                day.shares[i], int(self.units[i]), batch.allocation, batch.streams[i].allocation
            )

    def happen(self, batch: Batch, day: Day) -> None:
        day.times(keep_probability(self.placed[:, day.area], self.elasticity))


class FeedbackCorrection(Effect):
    """``ipw``: each learned crime counts 1 / P(learned), capped at ``ipw_max_weight`` (after Ensign et al.
    2018; :func:`fairpatrol.sim.world.inverse_probability_weights`). Runs without it get weight 1."""

    def __init__(self, report_p: np.ndarray, max_weight: np.ndarray) -> None:
        self.report_p = report_p
        self.max_weight = max_weight[:, None]

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        runs = setup.runs
        if not any(r.remedy.ipw for r in runs):
            return None
        n_future = setup.data.n_events - setup.data.n_history
        report_p = np.stack([np.broadcast_to(r.reporting, (n_future,)) for r in runs])
        max_w = np.array([r.remedy.ipw_max_weight if r.remedy.ipw else 1.0 for r in runs])
        return cls(report_p, max_w)

    def learn(self, batch: Batch, day: Day) -> None:
        h = batch.data.n_history
        p = self.report_p[:, day.lo - h : day.hi - h]
        day.weight = inverse_probability_weights(day.prob, p, self.max_weight).astype(np.float32)


# -- world effects (settings of the study: WorldConfig) ----------------------------------------------------
class Deterrence(Effect):
    """``deterrence_elasticity`` ε: a replayed crime in an area with k officers still happens with
    probability (1 + k)^(−ε)."""

    def __init__(self, elasticity: float) -> None:
        self.elasticity = float(elasticity)

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        eps = setup.world.deterrence_elasticity
        return cls(eps) if eps > 0 else None

    def happen(self, batch: Batch, day: Day) -> None:
        day.times(keep_probability(day.k_officers, self.elasticity))


class Displacement(Effect):
    """``displacement``: the share of deterred crimes that happen instead in a neighbouring area, as the
    crime's displaced copy (data prepared by :func:`fairpatrol.sim.prepare.with_shadows`); a copy happens
    when its original was deterred and its own uniform is below the share, is never deterred itself and
    never happens otherwise. Active whenever the data hold copies (a share of 0 then keeps them out)."""

    def __init__(self, share: float, shadow_of: np.ndarray) -> None:
        self.share = float(share)
        self.shadow_of = shadow_of  # per event: the index of the event it is a displaced copy of, or −1

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        if setup.data.shadow_of is None:
            if setup.world.displacement > 0:
                raise ValueError("displacement needs data prepared with_shadows()")
            return None
        return cls(setup.world.displacement, setup.data.shadow_of)

    def happen(self, batch: Batch, day: Day) -> None:
        coins = day.coins
        kept = coins < (1.0 if day.keep is None else day.keep)
        shadow_of = self.shadow_of[day.lo : day.hi]
        is_copy = shadow_of >= 0
        real = np.where(is_copy[None, :], False, kept)
        if is_copy.any():
            cols = np.flatnonzero(is_copy)
            orig = shadow_of[cols] - day.lo
            real[:, cols] = ~kept[:, orig] & (coins[:, cols] < self.share)
        day.real = real


class ReportDelay(Effect):
    """``report_delay_days``: a report reaches the training data that many days after the crime (unless
    the crime was detected, which is learned at once)."""

    def __init__(self, days: int) -> None:
        self.days = int(days)
        self.pending: dict[int, tuple[int, int, np.ndarray]] = {}  # day → reports (with weights) awaiting

    @classmethod
    def build(cls, setup: Setup) -> Effect | None:
        days = int(setup.world.report_delay_days)
        return cls(days) if days > 0 else None

    def learn(self, batch: Batch, day: Day) -> None:
        day.learned = day.detected
        self.pending[day.day] = (day.lo, day.hi, np.where(day.reported, day.weight, np.float32(0.0)))

    def end(self, batch: Batch, day: Day) -> None:
        arrived = self.pending.pop(day.day - self.days, None)
        if arrived is None:
            return
        lo, hi, w = arrived
        late = np.where(batch.weights[:, lo:hi] > 0, np.float32(0.0), w)
        if late.any():
            batch.weights[:, lo:hi] += late
            batch.state.learn(day.day - self.days, lo, hi, late)


#: World effects and remedies, in hook order (deterrence's factor before prevention's, displacement last
#: among the happen hooks; feedback-corrected weights before the reporting delay holds reports back).
WORLD_EFFECTS: tuple[type[Effect], ...] = (
    PatrolCap,
    Deterrence,
    PreventionUnits,
    Displacement,
    FeedbackCorrection,
    ReportDelay,
)
