"""The spatial EMD on fine grids: exact on the cells with mass, bracketed on blocks beyond the arc budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairpatrol.grid import metrics as gm


def _lattice(nx: int, ny: int, size: float = 150.0):
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    return (ix + 0.5) * size, (iy + 0.5) * size, ix, iy


def _maps(rng, n: int, crimes: int):
    smooth = rng.gamma(0.5, 1.0, n)  # a forecast with mass nearly everywhere
    smooth[rng.random(n) < 0.1] = 0.0
    obs = np.bincount(rng.integers(0, n, crimes), minlength=n).astype(float)
    return smooth, obs


def test_without_aggregation_it_equals_the_distance_matrix_emd():
    x, y, ix, iy = _lattice(12, 9)
    rng = np.random.default_rng(1)
    a, b = _maps(rng, x.size, 15)
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    value, bound = gm.emd_cells(a, b, x, y, ix, iy)
    assert bound == 0.0
    assert value == pytest.approx(gm.emd_spatial(a, b, dist), rel=1e-12)
    assert gm.emd_cells(b, a, x, y, ix, iy)[0] == pytest.approx(value, rel=1e-12)  # symmetric
    assert np.isnan(gm.emd_cells(a, np.zeros_like(a), x, y)[0])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), crimes=st.integers(1, 40), budget=st.sampled_from([200, 600, 2000]))
def test_blocks_bracket_the_exact_value(seed, crimes, budget):
    """Beyond the arc budget the value ± bound contains the exact EMD (a feasible plan above, a feasible
    dual below)."""
    x, y, ix, iy = _lattice(30, 20)
    rng = np.random.default_rng(seed)
    a, b = _maps(rng, x.size, crimes)
    exact, _ = gm.emd_cells(a, b, x, y, ix, iy, max_arcs=10**9)
    value, bound = gm.emd_cells(a, b, x, y, ix, iy, max_arcs=budget)
    assert bound >= 0.0
    assert abs(value - exact) <= bound + 1e-9 * exact


def test_blocks_are_close_on_a_smooth_forecast():
    """A smooth forecast over 60 × 60 cells of 150 m against 100 crimes: blocks of 2 × 2 cells (300 m)
    move the value by a few metres, and the bound says so."""
    x, y, ix, iy = _lattice(60, 60)
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 9000, (25, 2))
    a = sum(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 600.0**2)) for cx, cy in centres)
    b = np.bincount(rng.choice(x.size, 100, p=a / a.sum()), minlength=x.size).astype(float)
    exact, _ = gm.emd_cells(a, b, x, y, ix, iy, max_arcs=10**9)
    value, bound = gm.emd_cells(a, b, x, y, ix, iy, max_arcs=x.size * 100 // 4)
    assert 0 < bound < 10.0 and abs(value - exact) <= bound


def test_beyond_the_budget_it_needs_the_lattice():
    x, y, _, _ = _lattice(10, 10)
    a = np.ones(100)
    with pytest.raises(ValueError, match="lattice positions"):
        gm.emd_cells(a, a, x, y, max_arcs=10)
