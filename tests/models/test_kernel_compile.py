"""What a machine's first run compiles for PredPol's and the KDE's kernels (issue 18, docs/engine.md).

numba compiles a function once per signature, and a compiled caller that passes an integer literal (``f(a,
0)``, or a counter still ``Literal[int](0)`` when its call is typed) compiles its callee a second time;
allocations (``np.empty`` …), ``min``/``max``, ``int()`` and ``**`` inside a kernel each compile an
overload of their own. Each costs tens of milliseconds of a first run's CPU. These tests compile the
kernels in a fresh process with an empty numba cache and check that each of the kernels' functions is
compiled once, and nothing else is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from numba.core import event
    from numba.core.registry import CPUDispatcher

    compiled = []

    class Listener(event.Listener):
        def on_start(self, e):
            pass

        def on_end(self, e):
            f = e.data["dispatcher"].py_func
            compiled.append(f"{f.__module__}.{f.__qualname__}")

    event.register("numba:compile", Listener())

    import fairpatrol.models._hawkes as H
    import fairpatrol.models._kde as K
    from fairpatrol.models.predpol import PredPol  # noqa: F401  (the module's kernels as PredPol loads them)

    rng = np.random.default_rng(0)
    n, m = 400, 6
    area = np.sort(rng.integers(0, m, n))
    t = np.concatenate([np.sort(rng.uniform(-20.0, 0.0, int((area == a).sum()))) for a in range(m)])
    starts = np.searchsorted(area, np.arange(m + 1))
    w = (rng.uniform(size=(n, 5)) < 0.7).astype(float)
    H.hawkes_fit_lanes(t, w, starts, 20.0, np.full(5, 0.3), np.full(5, 2.0), np.ones((5, m)), evaluate=True)
    H.hawkes_fit_cold(t, w[:, 0], starts, 20.0, 0.5, 1.0, np.ones(m), solver="em")
    H.hawkes_forecast(t, w, starts, np.full(5, 0.3), np.full(5, 2.0), np.ones((5, m)), horizon=0.0)
    klo, khi = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    H.window_bounds(t, starts, -10.0, 0.0, klo, khi)

    nodes = np.arange(0.0, 1000.0, 50.0)
    qx, qy = (a.ravel() for a in np.meshgrid(nodes, nodes, indexing="ij"))
    cells = np.arange(0, qx.size + 1, nodes.size, dtype=np.int64)  # a 20 x 1 lattice of 50 x 1000 m cells
    node_area = (qx // 250).astype(np.int64) * 4 + (qy // 250).astype(np.int64)  # 16 squares
    quad = K.Quadrature(qx, qy, np.full(qx.size, 2500.0), node_area, 0.0, 0.0, 50.0, 20, 1, cells, 16)
    K.kde_area_mass_sparse(rng.uniform(0, 1000, 30), rng.uniform(0, 1000, 30), quad, 100.0)

    kernels = {}
    for mod in (H, K):
        for name, f in vars(mod).items():
            if isinstance(f, CPUDispatcher) and f.py_func.__module__ == mod.__name__:
                kernels[f"{mod.__name__}.{name}"] = [str(s) for s in f.signatures]
    print(json.dumps({"compiled": compiled, "kernels": kernels}))
    """
)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The kernels compiled in a fresh process with an empty numba cache (a machine's first run)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path_factory.mktemp("numba-cache"))}
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_each_kernel_function_compiles_once(first_run):
    """No second specialisation (e.g. for an integer literal passed by a compiled caller): every
    function of the PredPol and KDE kernel modules has at most one compiled signature, and the fit's
    entry point and its callees were compiled."""
    kernels = first_run["kernels"]
    twice = {name: sigs for name, sigs in kernels.items() if len(sigs) > 1}
    assert not twice
    for name in ("hawkes_fit_blocks", "_block_pass", "_newton_step", "_em_image", "window_bounds"):
        assert len(kernels[f"fairpatrol.models._hawkes.{name}"]) == 1
    assert len(kernels["fairpatrol.models._kde._mass_csr"]) == 1
    assert len(first_run["compiled"]) == len(set(first_run["compiled"]))


def test_kernels_compile_no_numba_overloads(first_run):
    """Nothing but fairpatrol's own functions is compiled: no allocation (``np.empty``, ``np.zeros`` …),
    ``min``/``max``, ``int()`` or integer power overload inside the kernels."""
    foreign = [name for name in first_run["compiled"] if not name.startswith("fairpatrol.")]
    assert foreign == []
