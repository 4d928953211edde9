"""Every metric of a study computed from a stream of days: :class:`StudyMetrics`.

The engine hands over, for each simulated day, that day's arrays for all runs of the scenario cells of a
batch (``officers``, ``crimes``, ``detected``: runs × areas counts; ``shares``: the allocation shares the
model's forecast gave that day, or None). :meth:`StudyMetrics.update_block` (all cells of the day at
once) or :meth:`StudyMetrics.update` (one cell) folds them into

* the study's daily metrics per run and day (:func:`fairpatrol.metrics.fairness.daily_metrics`) and the
  Gini of the model's allocation shares;
* per group and day: the study's group metrics and the day's officers, crimes, detections and officers on
  crime-free area-days (what rolling windows are computed from);
* per area: sums over the horizon of officers, crimes, detections, officers on crime-free days and the
  expected officers of the model's shares;
* running sums of the study's daily police-to-crime gap at several ε (its sensitivity).

:meth:`StudyMetrics.finish` then derives the horizon metrics of every run, group and area and the
rolling-window series. Memory is bounded by cells × runs × (areas + days × groups), never by
runs × days × areas: the dense allocation table is not needed.

The contract: ``update`` (one cell) or ``update_block`` (a day's block of several cells, as the engine
advances them: cell-major, then run) adds each (cell, day) exactly once, in any order; arrays are not kept
(the caller may reuse them). A block gives the numbers of one ``update`` per cell, bit for bit, at a
fraction of the cost (docs/engine.md, "Metrics below 1,024 areas"). With ``run_averaged`` (the published
analysis' compat switch) each day's counts are first averaged over the runs of the cell and every
metric describes that one averaged run (label −1).
Formulas: docs/methods.md; names and directions: :mod:`fairpatrol.metrics.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairpatrol.metrics.fairness import (
    GROUP_METRICS,
    METRICS,
    disparity_factor,
    disparity_ratio,
    epsilon,
    gini,
    group_sums,
    misallocated_share,
    pcr_gap,
    rate,
    shares,
    trailing_sums,
)
from fairpatrol.metrics.registry import EPS_FACTORS, ROLLING_DAYS
from fairpatrol.metrics.support import (
    SUPPORT_METRICS_MIN_AREAS,
    add_counts,
    as_rows,
    day_metrics,
    gini_rows,
    group_counts,
    pcr_gaps,
)

#: Per-area sums over the horizon (area_horizon columns, before the shares derived from them).
AREA_COUNTS = ("patrol_days", "true_crimes", "detected_crimes", "idle_patrol_days", "expected_patrols")
#: Per group and day counts (groups.parquet columns besides :data:`GROUP_METRICS`).
GROUP_DAY_COUNTS = ("officers", "crimes", "detected", "idle_officers")
#: Daily run-level metrics besides the study's :data:`METRICS`.
EXTRA_DAILY = ("gini_expected", "disparity_factor_30d")
#: Run-level horizon metrics (horizon.parquet columns), in output order.
RUN_HORIZON = (
    "misallocated_share",
    "disparity_factor",
    "disparity_ratio_pair",
    "detection_ratio_pair",
    "detection_gap_pair",
    "detection_rate",
    "idle_share",
    "gini_patrols",
    "gini_crime",
    "gini_expected_horizon",
    "pcr_gap_horizon",
    *(f"pcr_gap_{w}_eps{f}" for f in EPS_FACTORS for w in ("day", "horizon")),
    *AREA_COUNTS,
)
#: Group-level horizon metrics (group_horizon.parquet columns), in output order.
GROUP_HORIZON = (
    "patrol_share",
    "true_crime_share",
    "disparity_ratio",
    "detection_rate",
    "idle_share",
    *AREA_COUNTS,
)
#: Area-level horizon columns (area_horizon.parquet).
AREA_HORIZON = (*AREA_COUNTS, "patrol_share", "true_crime_share", "disparity_ratio")


class StudyMetrics:
    """Accumulates every metric of a study, one (cell, day) at a time.

    Parameters
    ----------
    areas : :class:`fairpatrol.data.Areas` of the study (groups: ``group_index`` in ``group_names`` order,
        the compared pair first).
    cells : the scenario cells (any sequence, e.g. :class:`fairpatrol.sim.study.Cell` objects) or their
        number; ``cell`` in :meth:`update` is an index into them.
    run_ids : labels of the runs (rows of each day's arrays).
    n_days : days of the horizon.
    run_averaged : average each day's counts over the runs first (compat ``run_averaged_metrics``).
    window : days of the rolling windows (``*_30d`` metrics).

    Attributes
    ----------
    daily : dict of name -> cells × runs × days arrays (:data:`METRICS` and :data:`EXTRA_DAILY`).
    group_daily : dict of name -> cells × runs × days × groups arrays.
    horizon : dict of name -> cells × runs arrays (:data:`RUN_HORIZON`), after :meth:`finish`.
    group_horizon : dict of name -> cells × runs × groups arrays (:data:`GROUP_HORIZON`).
    area_horizon : dict of name -> cells × runs × areas arrays (:data:`AREA_HORIZON`).

    Examples
    --------
    >>> import numpy as np
    >>> from fairpatrol.data import load_areas
    >>> areas = load_areas("chicago")
    >>> acc = StudyMetrics(areas, cells=1, run_ids=[0, 1], n_days=1)
    >>> crimes = np.zeros((2, areas.n)); crimes[:, :4] = 1
    >>> officers = crimes * 10  # patrols exactly where the crimes are
    >>> acc.update(0, 0, officers, crimes, crimes, shares=crimes / 4)
    >>> acc.finish().horizon["misallocated_share"]
    array([[0., 0.]])
    """

    def __init__(
        self,
        areas,
        cells: int | Sequence,
        run_ids: Sequence[int],
        n_days: int,
        *,
        run_averaged: bool = False,
        window: int = ROLLING_DAYS,
    ) -> None:
        self.areas = areas
        self.n_cells = int(cells) if isinstance(cells, int | np.integer) else len(cells)
        self.run_ids = list(run_ids)
        self.n_days = int(n_days)
        self.run_averaged = bool(run_averaged)
        self.window = int(window)
        self.g1, self.g2 = areas.group_masks()
        self.group_index = np.asarray(areas.group_index)
        self.group_names = list(areas.group_names)
        n_r = 1 if self.run_averaged else len(self.run_ids)
        n_g, n_m = len(self.group_names), areas.n
        c, d = self.n_cells, self.n_days
        # each table one block, metric first (a day of a block of cells is stored by one assignment)
        self._daily = np.full((len(METRICS) + len(EXTRA_DAILY), c, n_r, d), np.nan)
        self.daily = dict(zip((*METRICS, *EXTRA_DAILY), self._daily, strict=True))
        group_names = (*GROUP_METRICS, *GROUP_DAY_COUNTS, "disparity_ratio_30d")
        self._group_daily = np.full((len(group_names), c, n_r, d, n_g), np.nan)
        self._group_daily[len(GROUP_METRICS) : -1] = 0.0
        self.group_daily = dict(zip(group_names, self._group_daily, strict=True))
        self.group_daily = {  # in the order of the tables written
            name: self.group_daily[name]
            for name in (*GROUP_METRICS, "disparity_ratio_30d", *GROUP_DAY_COUNTS)
        }
        # the four count sums in one block per cell (one compiled pass adds a day: add_counts)
        self._counts = np.zeros((c, 4, n_r, n_m))
        self._area = {name: self._counts[:, k] for k, name in enumerate(AREA_COUNTS[:4])}
        self._area["expected_patrols"] = np.zeros((c, n_r, n_m))
        self._eps_sum = np.zeros((c, n_r, len(EPS_FACTORS)))
        self._eps_days = np.zeros((c, n_r, len(EPS_FACTORS)))
        self._has_shares = np.ones(c, dtype=bool)
        self._seen = np.zeros((c, d), dtype=bool)
        self.horizon: dict[str, np.ndarray] = {}
        self.group_horizon: dict[str, np.ndarray] = {}
        self.area_horizon: dict[str, np.ndarray] = {}

    @property
    def metric_runs(self) -> list[int]:
        """Run labels of every output: the runs, or [−1] for metrics of run-averaged counts."""
        return [-1] if self.run_averaged else list(self.run_ids)

    def update(
        self,
        cell: int,
        day: int,
        officers: np.ndarray,
        crimes: np.ndarray,
        detected: np.ndarray,
        shares: np.ndarray | None = None,
    ) -> None:
        """Fold in one day of one cell: runs × areas counts and the model's allocation shares (or None)."""
        self.update_block([cell], day, officers, crimes, detected, shares)

    def update_block(
        self,
        cells: Sequence[int] | np.ndarray,
        day: int,
        officers: np.ndarray,
        crimes: np.ndarray,
        detected: np.ndarray,
        shares: np.ndarray | None = None,
    ) -> None:
        """Fold in one day of several cells at once: rows × areas counts whose rows are the runs of
        ``cells[0]``, then those of ``cells[1]``, … (a study batch's day block: cell-major, then run), and
        the model's allocation shares of the same rows (or None).

        The numbers are those of one :meth:`update` per cell, bit for bit: every metric is computed per
        cell's rows as before, by compiled passes over the whole block (:func:`day_metrics`) instead of
        ≈ 70 numpy calls per cell and day.
        """
        cells = np.asarray(cells, dtype=np.int64).reshape(-1)
        n = len(cells)
        if n == 0:
            return
        if len(set(cells.tolist())) != n:
            raise ValueError(f"a cell appears twice among the cells {cells.tolist()} of day {day}")
        seen = self._seen[cells, day]
        if seen.any():
            raise ValueError(f"day {day} of cell {int(cells[seen][0])} was already added")
        # counts stay as given (int32 from the engine): every function below computes in float64, and the
        # sparse additions below only skip zeros, so the arithmetic is that of float64 arrays
        officers = np.asarray(officers)
        if officers.ndim != 2 or officers.shape[0] % n or officers.shape[-1] != self.areas.n:
            raise ValueError(
                f"expected rows × {self.areas.n} areas counts for {n} cell(s), got shape {officers.shape}"
            )
        per_cell = officers.shape[0] // n
        if not self.run_averaged and per_cell != len(self.run_ids):
            raise ValueError(f"expected {len(self.run_ids)} runs a cell, got {per_cell}")
        crimes = as_rows(crimes, officers.shape)
        detected = np.asarray(detected)
        if shares is not None:
            shares = np.asarray(shares, dtype=np.float64)
        if self.run_averaged:
            # the mean over each cell's runs (numpy adds the runs of an area in sequence either way)
            officers, crimes, detected = (
                np.asarray(a, dtype=np.float64).reshape(n, per_cell, -1).mean(axis=1)
                for a in (officers, crimes, detected)
            )
            shares = None if shares is None else shares.reshape(n, per_cell, -1).mean(axis=1)
            per_cell = 1
        n_g = len(self.group_names)
        g1, g2, index = self.g1, self.g2, self.group_index
        daily, per_group = day_metrics(officers, crimes, detected, g1, g2, index, n_g, cell_rows=per_cell)
        values = np.stack([daily[name] for name in METRICS]).reshape(len(METRICS), n, per_cell)
        self._daily[: len(METRICS), cells, :, day] = values.transpose(1, 0, 2)  # cells first: numpy's rule
        if shares is None:
            self._has_shares[cells] = False
        else:
            gini = gini_rows(shares, cell_rows=per_cell)
            self.daily["gini_expected"][cells, :, day] = gini.reshape(n, per_cell)
        eps0 = epsilon(self.areas.n)
        if self.areas.n < SUPPORT_METRICS_MIN_AREAS and per_cell > 1 and EPS_FACTORS[0] == 1:
            # the gap at the study's ε is the day's pcr_gap (the same definition, summed the same way)
            more = pcr_gaps(officers, crimes, g1, g2, [f * eps0 for f in EPS_FACTORS[1:]], cell_rows=per_cell)
            gaps = np.concatenate([daily["pcr_gap"][:, None], more], axis=1)
        else:
            gaps = pcr_gaps(officers, crimes, g1, g2, [f * eps0 for f in EPS_FACTORS], cell_rows=per_cell)
        ok = np.isfinite(gaps)
        self._eps_sum[cells] += np.where(ok, gaps, 0.0).reshape(n, per_cell, -1)
        self._eps_days[cells] += ok.reshape(n, per_cell, -1)
        sums = group_counts(officers, crimes, detected, index, n_g, cell_rows=per_cell)
        values = np.stack([*(per_group[name] for name in GROUP_METRICS), *sums])
        k = len(values)
        self._group_daily[:k, cells, :, day] = values.reshape(k, n, per_cell, n_g).transpose(1, 0, 2, 3)
        # patrol-days, crimes, detections, idle patrol-days and the expected patrols of the shares
        add_counts(
            self._counts,
            officers,
            crimes,
            detected,
            cells=cells,
            expected=self._area["expected_patrols"],
            shares=shares,
        )
        self._seen[cells, day] = True

    def finish(self) -> StudyMetrics:
        """Derive the horizon and rolling metrics (after every (cell, day) was added); returns self."""
        if not self._seen.all():
            cell, day = np.argwhere(~self._seen)[0]
            raise ValueError(f"day {int(day)} of cell {int(cell)} was never added")
        area = self._area
        nan = np.nan
        self.area_horizon = dict(area)
        # a model without shares (the compat KDE sampler) has no expected allocation: unknown, not zero
        has = self._has_shares[:, None, None]
        self.area_horizon["expected_patrols"] = np.where(has, area["expected_patrols"], nan)
        self.area_horizon["patrol_share"] = shares(area["patrol_days"])
        self.area_horizon["true_crime_share"] = shares(area["true_crimes"])
        self.area_horizon["disparity_ratio"] = disparity_ratio(area["patrol_days"], area["true_crimes"])

        n_g = len(self.group_names)
        grp = {name: group_sums(self.area_horizon[name], self.group_index, n_g) for name in AREA_COUNTS}
        ratio = disparity_ratio(grp["patrol_days"], grp["true_crimes"])
        det = rate(grp["detected_crimes"], grp["true_crimes"])
        self.group_horizon = {
            "patrol_share": shares(grp["patrol_days"]),
            "true_crime_share": shares(grp["true_crimes"]),
            "disparity_ratio": ratio,
            "detection_rate": det,
            "idle_share": rate(grp["idle_patrol_days"], grp["patrol_days"]),
            **grp,
        }

        tot = {name: self.area_horizon[name].sum(axis=-1) for name in AREA_COUNTS}
        pair = n_g >= 2
        with np.errstate(divide="ignore", invalid="ignore"):
            h = {
                "misallocated_share": misallocated_share(area["patrol_days"], area["true_crimes"]),
                "disparity_factor": disparity_factor(ratio),
                "disparity_ratio_pair": ratio[..., 0] / ratio[..., 1] if pair else ratio[..., 0] * nan,
                "detection_ratio_pair": det[..., 0] / det[..., 1] if pair else det[..., 0] * nan,
                "detection_gap_pair": det[..., 0] - det[..., 1] if pair else det[..., 0] * nan,
                "detection_rate": rate(tot["detected_crimes"], tot["true_crimes"]),
                "idle_share": rate(tot["idle_patrol_days"], tot["patrol_days"]),
                "gini_patrols": gini(area["patrol_days"]),
                "gini_crime": gini(area["true_crimes"]),
                "gini_expected_horizon": gini(self.area_horizon["expected_patrols"]),
            }
        eps0 = epsilon(self.areas.n)
        h["pcr_gap_horizon"] = pcr_gap(area["patrol_days"], area["true_crimes"], self.g1, self.g2, eps0)
        for k, f in enumerate(EPS_FACTORS):
            h[f"pcr_gap_day_eps{f}"] = rate(self._eps_sum[..., k], self._eps_days[..., k])
            h[f"pcr_gap_horizon_eps{f}"] = pcr_gap(
                area["patrol_days"], area["true_crimes"], self.g1, self.g2, f * eps0
            )
        h.update(tot)
        self.horizon = {name: np.asarray(h[name], dtype=np.float64) for name in RUN_HORIZON}

        days = self.group_daily
        win_p = trailing_sums(days["officers"], self.window, axis=2)
        win_c = trailing_sums(days["crimes"], self.window, axis=2)
        win_ratio = disparity_ratio(np.nan_to_num(win_p), np.nan_to_num(win_c))
        full = np.isfinite(win_p[..., :1])  # days with a full window
        self.group_daily["disparity_ratio_30d"] = np.where(full, win_ratio, nan)
        factor = disparity_factor(win_ratio)
        self.daily["disparity_factor_30d"] = np.where(full[..., 0], factor, nan)
        return self

    # -- tidy tables ---------------------------------------------------------------------------------------
    def _keys(self, *shape_after_runs: int) -> dict[str, np.ndarray]:
        runs = np.asarray(self.metric_runs)
        grids = np.meshgrid(
            np.arange(self.n_cells), runs, *(np.arange(n) for n in shape_after_runs), indexing="ij"
        )
        return {k: g.reshape(-1) for k, g in zip(("cell", "run", "i", "j"), grids, strict=False)}

    def run_day(self) -> pd.DataFrame:
        """One row per (cell, run, day): every daily run-level metric."""
        k = self._keys(self.n_days)
        frame = pd.DataFrame({"cell": k["cell"], "run": k["run"], "day": k["i"]})
        for name, arr in self.daily.items():
            frame[name] = arr.reshape(-1)
        return frame

    def run_day_group(self) -> pd.DataFrame:
        """One row per (cell, run, day, group): every daily group metric and count."""
        k = self._keys(self.n_days, len(self.group_names))
        frame = pd.DataFrame(
            {"cell": k["cell"], "run": k["run"], "day": k["i"], "group": np.asarray(self.group_names)[k["j"]]}
        )
        for name, arr in self.group_daily.items():
            frame[name] = arr.reshape(-1)
        return frame

    def run_horizon(self) -> pd.DataFrame:
        """One row per (cell, run): every run-level horizon metric."""
        k = self._keys()
        frame = pd.DataFrame({"cell": k["cell"], "run": k["run"]})
        for name, arr in self.horizon.items():
            frame[name] = arr.reshape(-1)
        return frame

    def group_horizon_frame(self) -> pd.DataFrame:
        """One row per (cell, run, group): every group-level horizon metric."""
        k = self._keys(len(self.group_names))
        frame = pd.DataFrame(
            {"cell": k["cell"], "run": k["run"], "group": np.asarray(self.group_names)[k["i"]]}
        )
        for name, arr in self.group_horizon.items():
            frame[name] = arr.reshape(-1)
        return frame

    def area_horizon_frame(self) -> pd.DataFrame:
        """One row per (cell, run, area): the area's horizon sums, shares and disparity ratio."""
        k = self._keys(self.areas.n)
        frame = pd.DataFrame({"cell": k["cell"], "run": k["run"], "area_id": self.areas.ids[k["i"]]})
        for name, arr in self.area_horizon.items():
            frame[name] = arr.reshape(-1)
        return frame
