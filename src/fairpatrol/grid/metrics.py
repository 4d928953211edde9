"""Fairness and accuracy of grid forecasts at a range of coverage levels (docs/grid.md, "Evaluation";
the PF/RAF study, section 2.5).

Inputs are arrays over days × cells: ``pred`` the forecast intensities and ``counts`` the observed crimes.
Both are normalised to shares over the cells of the grid (:func:`shares`): P_c = pred_c / Σ pred,
R_c = counts_c / Σ counts. For a coverage k and a group g of n_g cells, the selection G*_g is the
``ceil(k · n_g)`` cells of g with the highest forecast (at least one; ties go to the lower cell index).

* Prediction fairness (PF): benefit f(G*_g) = mean_{c ∈ G*_g} |P_c − R_c| (:func:`prediction_benefit`);
  Max-min = |f(G*_1) − f(G*_2)| (:func:`max_min`); two-group Gini = |f1 − f2| / (f1 + f2)
  (:func:`gini_two`, 0 when f1 = f2 = 0).
* Resource-allocation fairness (RAF): precision of group g = |{c ∈ G*_g : counts_c ≥ 1}| / |G*_g|
  (:func:`precision`).
* Accuracy of the city-wide greedy allocation (docs/grid.md, "Evaluation": the top ``ceil(k · N)`` cells of
  the whole grid):
  hit rate = crimes in the selected cells / all crimes (:func:`hit_rate`); Predictive Accuracy Index
  PAI = hit rate / (selected cells / N) (Chainey, Tompson & Uhlig 2008), the cell count standing for
  the area because every cell is the same square (:func:`pai`).
* Earth Mover's Distance between the predicted and the observed map (:func:`emd_cells`): the
  minimum cost, in metres, of moving the predicted mass onto the observed mass with the distance between
  cell centres as ground cost (exact network simplex of POT, ``ot.emd2``, on the cells with mass; on
  fine grids on blocks of cells, with a stated error bound). Per group both maps are
  restricted to the group's cells and renormalised there. This is the spatial distance of docs/grid.md,
  unlike the 1-D distance between the two lists of cell values used by the PF/RAF paper's code, which
  ignores where the mass lies (kept as :func:`emd_values_1d` for comparison only).

Options that reproduce the PF/RAF authors' code (``fairpatrol.grid.config.MetricSettings``, docs/grid.md
"Paper settings"); the defaults above are the paper's stated method:

* ``selection='floor'``: G*_g has ``floor(k · n_g)`` cells (the authors' ``int(n * p)``), no cell at all
  when that is 0 (the group's metrics are then NaN at that level);
* ``rank_by=counts`` in :func:`prediction_benefit`: the authors' PF code passed the two maps in swapped
  order, so G* holds the cells with the most *observed* crime (ties: lower cell index);
* ``cap=True`` in :func:`precision`: the selection is cut to the number of the group's cells with a crime
  that day (none that day: NaN), and a selected cell with zero forecast counts neither as a hit nor as a
  miss;
* ``gini_coefficient``: the Gini coefficient Σ_i Σ_j |f_i − f_j| / (2 n Σ f) the authors' code computes,
  for two groups half the printed two-group formula, and the scale of the published Fig. 4.

Days without crime: R is undefined, so PF benefits, Max-min, Gini, hit rate, PAI and the EMD are NaN on a
day with no crime in the grid, and a group's EMD is NaN on a day with no crime in that group (nothing to
move mass to); precision stays defined (0). NaN days are left out of the means and counted apart.
"""

from __future__ import annotations

import numpy as np


def shares(x: np.ndarray) -> np.ndarray:
    """x normalised to sum 1 along the last axis; rows with a zero (or non-finite) total become NaN."""
    x = np.asarray(x, dtype=np.float64)
    if (x < 0).any():
        raise ValueError("intensities and counts must be non-negative")
    total = x.sum(axis=-1, keepdims=True)
    ok = np.isfinite(total) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, x / np.where(ok, total, 1.0), np.nan)


#: How many cells a coverage fraction k selects from n: ``ceil`` (at least one) or ``floor`` (maybe none).
SELECTION_RULES = ("ceil", "floor")


def selection_sizes(n: int, coverages: np.ndarray, rule: str = "ceil") -> np.ndarray:
    """Cells selected at each coverage fraction: ceil(k · n) clipped to [1, n], or floor(k · n) (may be 0)."""
    k = np.asarray(coverages, dtype=np.float64)
    if n < 1:
        raise ValueError("a group needs at least one cell")
    if ((k <= 0) | (k > 1)).any():
        raise ValueError("coverage fractions must lie in (0, 1]")
    if rule == "ceil":
        return np.clip(np.ceil(k * n - 1e-9).astype(np.int64), 1, n)
    if rule == "floor":
        return np.clip(np.floor(k * n + 1e-9).astype(np.int64), 0, n)
    raise ValueError(f"selection rule must be one of {SELECTION_RULES}, got {rule!r}")


def _ranked(
    values: np.ndarray, pred: np.ndarray, mask: np.ndarray | None, rank_by: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """``values`` restricted to ``mask`` columns and sorted per row by decreasing ``rank_by`` (default
    ``pred``; stable: ties keep the lower cell index first)."""
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    key = pred if rank_by is None else np.atleast_2d(np.asarray(rank_by, dtype=np.float64))
    if pred.shape != values.shape or key.shape != pred.shape:
        raise ValueError(f"shape mismatch: {pred.shape} vs {values.shape} vs {key.shape}")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != pred.shape[-1:]:
            raise ValueError(f"mask has {mask.shape[0]} cells, the maps {pred.shape[-1]}")
        key, values = key[:, mask], values[:, mask]
    order = np.argsort(-key, axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1), key.shape[1]


def _top_mean(
    values: np.ndarray,
    pred: np.ndarray,
    mask: np.ndarray | None,
    coverages: np.ndarray,
    rank_by: np.ndarray | None = None,
    selection: str = "ceil",
) -> np.ndarray:
    """Mean of ``values`` over the top-k cells by ``rank_by`` (default ``pred``) for every coverage k:
    days × K (NaN where k selects no cell)."""
    ranked, n = _ranked(values, pred, mask, rank_by)
    sizes = selection_sizes(n, coverages, selection)
    total = np.cumsum(ranked, axis=1)[:, np.maximum(sizes, 1) - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, total / np.maximum(sizes, 1), np.nan)


def prediction_benefit(
    pred: np.ndarray,
    counts: np.ndarray,
    mask: np.ndarray | None,
    coverages: np.ndarray,
    *,
    rank_by: str = "forecast",
    selection: str = "ceil",
) -> np.ndarray:
    """PF benefit f = mean_{c ∈ G*} |P_c − R_c| of the group ``mask`` at each coverage: days × K.

    P and R are shares over *all* cells (not only the group's), as in source B. G* is the group's top
    cells by forecast (``rank_by='forecast'``, the paper's definition) or by observed crime
    (``rank_by='observed'``, what the authors' code computed).
    """
    if rank_by not in ("forecast", "observed"):
        raise ValueError(f"rank_by must be 'forecast' or 'observed', got {rank_by!r}")
    gap = np.abs(shares(pred) - shares(counts))
    key = None if rank_by == "forecast" else counts
    return _top_mean(gap, pred, mask, coverages, key, selection)


def max_min(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Max-min of two groups' benefits: |f1 − f2|."""
    return np.abs(np.asarray(f1, float) - np.asarray(f2, float))


def gini_two(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Two-group Gini of benefits as printed in source B: |f1 − f2| / (f1 + f2), 0 when both are 0."""
    f1 = np.asarray(f1, float)
    f2 = np.asarray(f2, float)
    total = f1 + f2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            total > 0,
            np.abs(f1 - f2) / np.where(total > 0, total, 1.0),
            np.where(np.isnan(total), np.nan, 0.0),
        )


def gini_coefficient(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Gini coefficient of two benefits, Σ_i Σ_j |f_i − f_j| / (2 n Σ_i f_i) with n = 2: half of
    :func:`gini_two`. What the PF/RAF authors' code computes (``gini_coeff``) and what their Fig. 4 plots."""
    return 0.5 * gini_two(f1, f2)


def precision(
    pred: np.ndarray,
    counts: np.ndarray,
    mask: np.ndarray | None,
    coverages: np.ndarray,
    *,
    selection: str = "ceil",
    cap: bool = False,
) -> np.ndarray:
    """RAF precision of the group ``mask``: share of its top-k cells with at least one crime, days × K.

    ``cap=True`` reproduces the authors' ``f_benefit_k_most``: k is cut to the number m of the group's
    cells with a crime that day (NaN when m = 0 or k = 0), and among the selected cells only those with a
    positive forecast count (hits / (hits + misses)).
    """
    hit = (np.asarray(counts, dtype=np.float64) > 0).astype(np.float64)
    if not cap:
        return _top_mean(hit, pred, mask, coverages, None, selection)
    pred2 = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    positive = (pred2 > 0).astype(np.float64)
    ranked_pos, n = _ranked(positive, pred2, mask)
    ranked_hit, _ = _ranked(hit * positive, pred2, mask)
    sizes = selection_sizes(n, coverages, selection)
    m = (np.atleast_2d(hit)[:, mask] if mask is not None else np.atleast_2d(hit)).sum(axis=1)
    k = np.minimum(sizes[None, :], m[:, None].astype(np.int64))  # days × K
    idx = np.maximum(k, 1) - 1
    hits = np.take_along_axis(np.cumsum(ranked_hit, axis=1), idx, axis=1)
    chosen = np.take_along_axis(np.cumsum(ranked_pos, axis=1), idx, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((k > 0) & (chosen > 0), hits / chosen, np.nan)


def hit_rate(pred: np.ndarray, counts: np.ndarray, coverages: np.ndarray) -> np.ndarray:
    """Share of the day's crimes in the city-wide top-k cells by forecast: days × K (NaN without crime)."""
    r = shares(counts)
    ranked, n = _ranked(np.nan_to_num(r), pred, None)
    sizes = selection_sizes(n, coverages)
    out = np.cumsum(ranked, axis=1)[:, sizes - 1]
    out[np.isnan(r).all(axis=1)] = np.nan
    return out


def pai(hits: np.ndarray, n_cells: int, coverages: np.ndarray) -> np.ndarray:
    """Predictive Accuracy Index: hit rate / share of the cells selected."""
    return np.asarray(hits, float) / (selection_sizes(n_cells, coverages) / n_cells)


def _emd_solve(pa: np.ndarray, pb: np.ndarray, cost: np.ndarray, plan: bool = False):
    """The exact transport cost between two probability vectors (POT's network simplex); with ``plan``
    also the optimal plan and the dual potentials of ``pb``'s points: (cost, plan, v)."""
    import ot

    pb = pb * (pa.sum() / pb.sum())  # equal totals to the last bit, as the exact solver requires
    cost = np.ascontiguousarray(cost)
    if plan:
        g, log = ot.emd(pa, pb, cost, numItermax=50_000_000, log=True)
    else:
        value, log = ot.emd2(pa, pb, cost, numItermax=50_000_000, log=True)
    if log.get("warning"):
        raise RuntimeError(f"EMD solver did not reach the optimum: {log['warning']}")
    if plan:
        return float(log["cost"]), g, np.asarray(log["v"], dtype=np.float64)
    return float(value)


def emd_spatial(a: np.ndarray, b: np.ndarray, distances: np.ndarray) -> float:
    """Earth Mover's Distance between two non-negative maps over the same cells, in distance units.

    Both maps are normalised to sum 1; ``distances`` is the cells' ground-distance matrix. Returns NaN
    when either map has no mass. A cell without mass in a map is dropped from that side of the problem
    before solving, which is exact and makes the sparse observed map cheap.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or distances.shape != (a.size, a.size):
        raise ValueError(f"shape mismatch: maps {a.shape}, {b.shape}, distances {distances.shape}")
    sa, sb = a.sum(), b.sum()
    if not (np.isfinite(sa) and np.isfinite(sb) and sa > 0 and sb > 0):
        return float("nan")
    ia = np.flatnonzero(a > 0)
    ib = np.flatnonzero(b > 0)
    return _emd_solve(a[ia] / sa, b[ib] / sb, distances[np.ix_(ia, ib)])


#: Most transport arcs (cells with mass in one map × cells with mass in the other) :func:`emd_cells`
#: solves directly (≈ 1 s); a larger problem is solved on blocks of cells and bracketed.
EMD_MAX_ARCS = 1_500_000


def _bracket(
    p: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    block: np.ndarray,
    mass: np.ndarray,
    q: np.ndarray,
    xt: np.ndarray,
    yt: np.ndarray,
    plan: np.ndarray,
    v: np.ndarray,
) -> tuple[float, float]:
    """Lower and upper bounds of the exact transport cost from masses ``p`` (at xs, ys) to ``q`` (at xt,
    yt), given the optimal ``plan`` and sink potentials ``v`` of the problem whose sources are the blocks
    (``block`` of each source, ``mass`` of each block).

    Upper: the block plan split over each block's cells in proportion to their mass, a feasible plan of the
    exact problem, at its exact cost. Lower: the dual solution φ_c = min_t (d(c, t) − v_t), feasible for the
    exact problem (φ_c + v_t ≤ d(c, t)), at its objective Σ p_c φ_c + Σ q_t v_t (weak duality)."""
    rows, cols = np.nonzero(plan)
    flow = plan[rows, cols]
    order = np.argsort(block, kind="stable")
    start = np.searchsorted(block[order], np.arange(len(mass) + 1))
    size = np.diff(start)[rows]
    arc = np.repeat(np.arange(len(rows)), size)
    first = np.repeat(np.cumsum(size) - size, size)
    cell = order[np.repeat(start[rows], size) + np.arange(size.sum()) - first]
    dist = np.hypot(xs[cell] - xt[cols[arc]], ys[cell] - yt[cols[arc]])
    upper = float(np.sum(p[cell] / mass[rows[arc]] * flow[arc] * dist))
    phi = np.empty(len(p))
    for lo in range(0, len(p), 4096):  # chunks of sources: memory O(4096 × sinks)
        d = np.hypot(xs[lo : lo + 4096, None] - xt[None, :], ys[lo : lo + 4096, None] - yt[None, :])
        phi[lo : lo + 4096] = np.min(d - v[None, :], axis=1)
    lower = float(np.dot(p, phi) + np.dot(q, v))
    return lower, upper


def emd_cells(
    a: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    ix: np.ndarray | None = None,
    iy: np.ndarray | None = None,
    *,
    max_arcs: int = EMD_MAX_ARCS,
) -> tuple[float, float]:
    """Earth Mover's Distance (metres) between two maps over cells centred at (``x``, ``y``), and the most
    it can differ from the exact value: ``(value, bound)``.

    Both maps are normalised to sum 1 (NaN, NaN when either has no mass) and only the cells with mass
    enter the problem, with distances computed for those pairs (no N × N matrix). When the pairs number
    at most ``max_arcs`` the problem is solved exactly (bound 0). Otherwise (a 150 m city grid: ≈ 27,000
    cells of forecast mass against ≈ 250 of crimes) the map with more cells is gathered into k × k blocks
    of the lattice (``ix``, ``iy``; k the smallest that fits), each at its mass-weighted centroid, that
    problem is solved exactly, and its plan and dual potentials give a feasible plan and a feasible dual
    of the exact problem: the exact EMD lies between their costs U ≥ EMD ≥ L, and the value returned is
    (U + L) / 2 with bound (U − L) / 2 (docs/grid.md "EMD on fine grids").
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sa, sb = a.sum(), b.sum()
    if not (np.isfinite(sa) and np.isfinite(sb) and sa > 0 and sb > 0):
        return float("nan"), float("nan")
    if np.count_nonzero(a > 0) < np.count_nonzero(b > 0):  # the distance is symmetric: a has more cells
        a, b, sa, sb = b, a, sb, sa
    ia = np.flatnonzero(a > 0)
    ib = np.flatnonzero(b > 0)
    pa, pb = a[ia] / sa, b[ib] / sb
    xa, ya, xb, yb = x[ia], y[ia], x[ib], y[ib]
    if len(ia) * len(ib) <= max_arcs:
        return _emd_solve(pa, pb, np.hypot(xa[:, None] - xb[None, :], ya[:, None] - yb[None, :])), 0.0
    if ix is None or iy is None:
        raise ValueError("a problem beyond max_arcs needs the cells' lattice positions ix, iy")
    jx, jy = ix[ia], iy[ia]
    k = max(2, int(np.ceil(np.sqrt(len(ia) * len(ib) / max_arcs))))
    while True:
        key = (jx // k) * (int(jy.max()) // k + 1) + jy // k
        uniq, block = np.unique(key, return_inverse=True)
        if len(uniq) * len(ib) <= max_arcs or len(uniq) == 1:
            break
        k += 1
    mass = np.bincount(block, weights=pa, minlength=len(uniq))
    cx = np.bincount(block, weights=pa * xa, minlength=len(uniq)) / mass
    cy = np.bincount(block, weights=pa * ya, minlength=len(uniq)) / mass
    cost = np.hypot(cx[:, None] - xb[None, :], cy[:, None] - yb[None, :])
    _, plan, v = _emd_solve(mass, pb, cost, plan=True)
    lower, upper = _bracket(pa, xa, ya, block, mass, pb * (mass.sum() / pb.sum()), xb, yb, plan, v)
    lower = min(lower, upper)
    return (lower + upper) / 2, (upper - lower) / 2


def emd_maps(
    pred: np.ndarray, counts: np.ndarray, distances: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """:func:`emd_spatial` of each day's forecast and observed map (restricted to ``mask``): days."""
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        pred, counts = pred[:, mask], counts[:, mask]
        distances = distances[np.ix_(mask, mask)]
    return np.array([emd_spatial(p, c, distances) for p, c in zip(pred, counts, strict=True)])


def emd_values_1d(a: np.ndarray, b: np.ndarray) -> float:
    """1-D Wasserstein distance between the *values* of two normalised maps (not a spatial distance).

    What the PF/RAF paper's code computes (``scipy.stats.wasserstein_distance`` of the flattened cell
    values): it compares the two histograms of cell values and is blind to where the mass is, so moving
    all crime to the other end of the city can leave it unchanged. For comparison with that paper only.
    """
    from scipy.stats import wasserstein_distance

    pa = shares(a)
    pb = shares(b)
    if np.isnan(pa).any() or np.isnan(pb).any():
        return float("nan")
    return float(wasserstein_distance(pa.ravel(), pb.ravel()))
