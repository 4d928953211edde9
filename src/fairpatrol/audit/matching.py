"""Which crimes fell inside which active targets: the crime × target-period join, vectorised.

A *unit* is one target active over one interval ``[begin, end)`` of at most a day (a day's box, a shift's
box, one day of a zone's validity, one patrolled area-day). A crime at time t located in atom a matches unit
u when the unit's target covers a and

    begin_u ≤ t < end_u + window,

i.e. during the unit's period or within ``window`` after it ("later crime"). Each unit is searched only
among the targets covering the crime's atom (sparse cover matrix) and, per target, among units sorted by
begin whose begin lies in (t − L − window, t], L the longest unit (≤ 1 day): a binary search per
(crime, covering target), then a filter, so the cost grows with the matches, not with crimes × units.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges ``starts[j] .. starts[j] + counts[j] - 1``."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + (np.arange(total) - offsets)


def match(
    crime_t: np.ndarray,
    crime_atom: np.ndarray,
    unit_target: np.ndarray,
    unit_begin: np.ndarray,
    unit_end: np.ndarray,
    cover: sp.csr_matrix,
    window: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """All (crime, unit) pairs where the crime lies in the unit's target during its extended period.

    Times are int64 seconds on a common origin; ``crime_atom`` is −1 for crimes under no target;
    ``cover`` is the (K × A) target-by-atom matrix; ``window`` is in seconds. Returns two int64 arrays of
    equal length (crime index, unit index), ordered by crime.
    """
    crime_t = np.asarray(crime_t, dtype=np.int64)
    crime_atom = np.asarray(crime_atom, dtype=np.int64)
    unit_target = np.asarray(unit_target, dtype=np.int64)
    unit_begin = np.asarray(unit_begin, dtype=np.int64)
    unit_end = np.asarray(unit_end, dtype=np.int64)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    located = np.flatnonzero(crime_atom >= 0)
    if located.size == 0 or unit_target.size == 0:
        return empty
    by_atom = cover.T.tocsr()
    atom = crime_atom[located]
    n_cov = np.diff(by_atom.indptr)[atom]
    pc = np.repeat(located, n_cov)
    pk = by_atom.indices[_expand(by_atom.indptr[atom], n_cov)].astype(np.int64)
    if pc.size == 0:
        return empty

    longest = int((unit_end - unit_begin).max())
    lead = longest + int(window) + 1
    base = min(int(unit_begin.min()), int(crime_t.min())) - lead
    span = max(int(unit_begin.max()), int(crime_t.max())) - base + lead + 1
    order = np.lexsort((unit_begin, unit_target))
    key = unit_target[order] * span + (unit_begin[order] - base)
    t = crime_t[pc] - base
    lo = np.searchsorted(key, pk * span + (t - longest - int(window)), side="right")
    hi = np.searchsorted(key, pk * span + t, side="right")
    n = hi - lo
    cand_c = np.repeat(pc, n)
    cand_u = order[_expand(lo, n)]
    ok = crime_t[cand_c] < unit_end[cand_u] + int(window)
    cand_c, cand_u = cand_c[ok], cand_u[ok]
    srt = np.lexsort((cand_u, cand_c))
    return cand_c[srt], cand_u[srt]
