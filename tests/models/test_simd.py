"""The explicit SIMD vector type of the Hawkes kernels: arithmetic, loads and stores, exp and log."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from fairpatrol.models import _simd as vx

W = vx.WIDTH


@njit
def _rows_of(x, log):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        v = vx.load(x, i, 0)
        vx.store(out, i, 0, vx.log_pos(v) if log else vx.exp_neg(v))
    return out


def _exp_rows(x):
    return _rows_of(x, False)


def _log_rows(x):
    return _rows_of(x, True)


@njit
def _frexp_rows(x):
    m = np.empty_like(x)
    e = np.empty_like(x)
    for i in range(x.shape[0]):
        a, b = vx.frexp2(vx.load(x, i, 0))
        vx.store(m, i, 0, a)
        vx.store(e, i, 0, b)
    return m, e


@njit
def _arithmetic(x, y, w):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        a = vx.load(x, i, 0)
        b = vx.load(y, i, 0)
        c = a * b + 2.0 - a / b
        c += vx.load(w, i, 0)
        c *= 0.5
        c = 3 * c - 1
        c = vx.positive_or(c - 1.0, 7.0)
        out[i, :] = 0.0
        vx.store(out, i, 0, vx.where_positive(vx.load(y, i, 0) - 1.5, c, vx.splat(-2.0)))
    return out


def _rows(values: np.ndarray) -> np.ndarray:
    n = -(-values.size // W) * W
    return np.resize(values, n).reshape(-1, W)


def test_width_fits_the_registers():
    assert W in (4, 8)


def test_exp_matches_numpy():
    x = _rows(-np.concatenate([np.linspace(0.0, 2.0, 20_001), np.geomspace(2.0, 700.0, 20_001)]))
    np.testing.assert_allclose(_exp_rows(x), np.exp(x), rtol=2e-11)
    tiny = _exp_rows(np.full((1, W), -1e4))
    assert (tiny > 0.0).all() and (tiny < 1e-300).all()  # clamped, never NaN or negative


def test_log_matches_numpy():
    rng = np.random.default_rng(0)
    x = _rows(np.concatenate([np.geomspace(1e-300, 1e300, 50_000), rng.uniform(0.0, 10.0, 50_000)]))
    x = x[(x > 0).all(axis=1)]
    np.testing.assert_allclose(_log_rows(x), np.log(x), rtol=4e-16, atol=3e-16)


def test_frexp_splits_off_the_power_of_two():
    x = _rows(np.geomspace(1e-200, 1e200, 4001))
    m, e = _frexp_rows(x)
    assert ((m >= np.sqrt(0.5)) & (m < np.sqrt(2.0))).all()
    np.testing.assert_array_equal(e, np.round(e))
    np.testing.assert_array_equal(np.ldexp(m, e.astype(int)), x)  # exact


def test_arithmetic_loads_and_selects():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0.1, 3, (500, W)), rng.uniform(0.1, 3, (500, W))
    w = rng.uniform(0, 1, (500, W)).astype(np.float32)
    c = 3 * (0.5 * (x * y + 2.0 - x / y + w)) - 1
    expected = np.where(y - 1.5 > 0, np.where(c - 1 > 0, c - 1, 7.0), -2.0)
    np.testing.assert_allclose(_arithmetic(x, y, w), expected, rtol=1e-14)


def test_lanes_are_independent():
    """A lane's result does not depend on its position or on the values in the other lanes."""
    rng = np.random.default_rng(2)
    x = -rng.uniform(0, 50, (300, W))
    perm = rng.permutation(W)
    np.testing.assert_array_equal(_exp_rows(np.ascontiguousarray(x[:, perm])), _exp_rows(x)[:, perm])
    np.testing.assert_array_equal(_log_rows(np.ascontiguousarray(-x[:, perm])), _log_rows(-x)[:, perm])


@pytest.mark.parametrize("bad", [np.zeros((3, W + 1)), np.zeros((3, W), dtype=np.float32)])
def test_loads_need_c_contiguous_float64_rows(bad):
    from numba.core.errors import TypingError

    with pytest.raises(TypingError):
        _exp_rows(bad[:, ::2] if bad.dtype == np.float64 else bad)
