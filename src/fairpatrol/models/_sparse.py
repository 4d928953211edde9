"""Per-event rows over the areas, stored sparse (CSR), and their weighted sums.

A window model's intensity is a weighted sum of one row per training event: the event's kernel mass over
every area (KDE hot spots, docs/engine.md "Sparse kernel masses") or a one-hot row (previous counts). An
event reaches only the areas near it, so the rows are stored in compressed sparse row form: the areas
row ``i`` reaches are ``indices[indptr[i]:indptr[i + 1]]`` (each once, in no particular order) with values
``values[indptr[i]:indptr[i + 1]]``. Memory is O(stored values) instead of O(events × areas), and adding
a day's learned events to R runs' sums costs O(R × their stored values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

import fairpatrol.compiling  # noqa: F401  (pauses the garbage collector while numba compiles)


@dataclass(frozen=True)
class SparseRows:
    """Rows × ``n_cols`` matrix in CSR form (see the module docstring); read-only once built.

    Attributes
    ----------
    indptr : int64 array (n_rows + 1); row ``i`` is ``indptr[i]:indptr[i + 1]`` of ``indices``/``values``.
    indices : int32 array of column indices, each column at most once per row.
    values : float64 array of the stored values.
    n_cols : number of columns (areas).

    Examples
    --------
    >>> rows = SparseRows.one_hot(np.array([2, 0]), 3)
    >>> rows.toarray()
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    n_cols: int

    @property
    def n_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        """Number of stored values."""
        return int(self.indptr[-1])

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.values.nbytes)

    @classmethod
    def one_hot(cls, cols: np.ndarray, n_cols: int) -> SparseRows:
        """Row i holds a single 1 in column ``cols[i]`` (an event counted in its own area)."""
        cols = np.asarray(cols)
        return cls(
            np.arange(cols.shape[0] + 1, dtype=np.int64),
            cols.astype(np.int32),
            np.ones(cols.shape[0], dtype=np.float64),
            int(n_cols),
        )

    def toarray(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Rows ``lo:hi`` as a dense (hi − lo) × n_cols array (for small inputs and tests)."""
        hi = self.n_rows if hi is None else hi
        out = np.zeros((hi - lo, self.n_cols))
        a, b = int(self.indptr[lo]), int(self.indptr[hi])
        row = np.repeat(np.arange(hi - lo), np.diff(self.indptr[lo : hi + 1]))
        out[row, self.indices[a:b]] = self.values[a:b]
        return out

    def accumulate(self, sums: np.ndarray, weights: np.ndarray, lo: int, sign: float = 1.0) -> None:
        """In place: ``sums[r] += sign · Σ_j weights[r, j] · row(lo + j)`` for every r.

        ``sums`` is R × n_cols float64, ``weights`` R × n (any float dtype; zero weights are skipped).
        Each sum's values are added in the order of the rows, so a row of ``sums`` does not depend on the
        other rows it is computed with.
        """
        w = np.ascontiguousarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.shape[0] != sums.shape[0] or sums.shape[1] != self.n_cols:
            raise ValueError(f"weights {w.shape} do not fit sums {sums.shape} of {self.n_cols} columns")
        if lo < 0 or lo + w.shape[1] > self.n_rows:
            raise ValueError(f"rows {lo}:{lo + w.shape[1]} out of range 0:{self.n_rows}")
        _accumulate(sums, w, self.indptr, self.indices, self.values, int(lo), float(sign))

    def weighted_sum(self, weights: np.ndarray, lo: int = 0) -> np.ndarray:
        """``weights @ rows[lo:lo + n]`` as a dense R × n_cols array (R × n weights, or one n-vector)."""
        w = np.asarray(weights)
        one = w.ndim == 1
        w2 = w[None, :] if one else w
        out = np.zeros((w2.shape[0], self.n_cols))
        self.accumulate(out, w2, lo)
        return out[0] if one else out


@njit(cache=True, no_cfunc_wrapper=True)
def _accumulate(sums, weights, indptr, indices, values, lo, sign):
    n_sums, n = weights.shape
    for r in range(n_sums):
        row = sums[r]
        for j in range(n):
            w = weights[r, j]
            if w != 0.0:
                w = sign * w
                for k in range(indptr[lo + j], indptr[lo + j + 1]):
                    row[indices[k]] += w * values[k]
