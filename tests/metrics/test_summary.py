"""The t quantile of the summaries' intervals (fairpatrol.metrics.summary)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from fairpatrol.metrics.summary import _t_quantile, mean_interval


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_t_quantile_equals_scipy_stats_bit_for_bit(level):
    q = 0.5 + level / 2
    for dof in [*range(1, 120), 199, 250, 999, 10_000]:
        assert _t_quantile(q, dof) == float(stats.t.ppf(q, dof)), (level, dof)


def test_t_quantile_known_values():
    # tabulated two-sided 95 % critical values of Student's t
    assert _t_quantile(0.975, 1) == pytest.approx(12.706204736, rel=1e-9)
    assert _t_quantile(0.975, 19) == pytest.approx(2.093024054, rel=1e-9)
    assert _t_quantile(0.975, 10**6) == pytest.approx(1.959966, rel=1e-6)


def test_mean_interval_does_not_import_scipy_stats():
    code = (
        "import sys, numpy as np\n"
        "from fairpatrol.metrics.summary import mean_interval\n"
        "mean_interval(np.arange(20.0))\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_mean_interval_half_width_is_t_times_standard_error():
    v = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    mean, lo, hi = mean_interval(v)
    half = stats.t.ppf(0.975, 4) * v.std(ddof=1) / np.sqrt(5)
    assert (mean, lo, hi) == (v.mean(), v.mean() - half, v.mean() + half)
