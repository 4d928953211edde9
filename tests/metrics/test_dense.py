"""The compiled daily metrics and the block update of the accumulator against the numpy definitions,
compared with ``==`` (bit for bit): a study's numbers must not change with how they are computed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numba import njit

from fairpatrol.metrics.accumulator import EPS_FACTORS, StudyMetrics
from fairpatrol.metrics.dense import STACK, pairwise_sum
from fairpatrol.metrics.fairness import epsilon, gini, group_sums, pcr_gap
from fairpatrol.metrics.support import (
    SUPPORT_METRICS_MIN_AREAS,
    day_metrics,
    gini_rows,
    group_counts,
    numpy_day_metrics,
    pcr_gaps,
    support_metrics,
)


def same(got, want, what=""):
    """Equal bit for bit (NaN equal to NaN, and no other tolerance)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, what
    assert np.array_equal(got, want, equal_nan=True), (what, got[got != want], want[got != want])


def toy_areas(group_index: np.ndarray, n_groups: int) -> SimpleNamespace:
    """What :class:`StudyMetrics` reads of :class:`fairpatrol.data.Areas`: groups 0 and 1 are the compared
    pair (either may be empty), every group index below ``n_groups`` a group (some may have no area)."""
    index = np.asarray(group_index, dtype=np.int64)
    return SimpleNamespace(
        n=len(index),
        ids=np.array([f"a{i}" for i in range(len(index))]),
        group_index=index,
        group_names=[f"g{g}" for g in range(n_groups)],
        group_masks=lambda: (index == 0, index == 1),
    )


def day_counts(rng, rows, m, officers, crimes, zero_crime=False):
    """One day's rows × M counts as the engine hands them over (int32), crimes thinned per run."""
    off = np.zeros((rows, m), np.int32)
    for r in range(rows):
        np.add.at(off[r], rng.integers(0, m, officers), 1)
    cr = np.zeros((rows, m), np.int32)
    if not zero_crime:
        where = rng.integers(0, m, crimes)
        for r in range(rows):
            np.add.at(cr[r], where[rng.random(crimes) < 0.9], 1)
    det = np.minimum(cr, rng.binomial(cr, 0.5)).astype(np.int32)
    return off, cr, det


# -- the kernels --------------------------------------------------------------------------------------------
@njit
def _pairwise_sum(x: np.ndarray, start: int, n: int) -> float:
    """The compiled-only helper, called from compiled code as the metrics kernels call it."""
    return pairwise_sum(x[start:], n, np.empty(STACK))


def test_pairwise_sum_is_numpys_sum_of_a_row():
    rng = np.random.default_rng(0)
    for n in [*range(300), 1000, 1031, 8191, 8192, 8193, 27_459, 100_003]:
        x = rng.random(n) * rng.choice([1.0, 1e-3, 1e5], n)
        assert _pairwise_sum(x, 0, n) == x.sum(), n
        if n > 9:
            assert _pairwise_sum(x, 3, n - 5) == x[3 : n - 2].sum(), n


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cells=st.integers(1, 3),
    runs=st.integers(1, 4),
    m=st.integers(1, 300),
    officers=st.integers(0, 600),
    crimes=st.integers(0, 300),
    groups=st.integers(1, 4),
    fractional=st.booleans(),
)
@example(seed=1, cells=2, runs=1, m=256, officers=40, crimes=0, groups=3, fractional=False)
@example(seed=2, cells=1, runs=1, m=200, officers=400, crimes=60, groups=2, fractional=True)
def test_compiled_day_metrics_equal_the_numpy_definitions_bit_for_bit(
    seed, cells, runs, m, officers, crimes, groups, fractional
):
    """Below the support threshold: the block's kernels against the numpy definitions of each cell."""
    rng = np.random.default_rng(seed)
    off, cr, det = day_counts(rng, cells * runs, m, officers, crimes, zero_crime=crimes % 7 == 0)
    if fractional:  # run-averaged counts: sums of fractions depend on numpy's order
        off, cr, det = (a / np.float64(runs + 1) for a in (off, cr, det))
    index = rng.integers(0, groups, m)
    g1, g2 = index == 0, index == 1
    daily, per_group = day_metrics(off, cr, det, g1, g2, index, groups, cell_rows=runs)
    eps = [f * epsilon(m) for f in EPS_FACTORS]
    gaps = pcr_gaps(off, cr, g1, g2, eps, cell_rows=runs)
    counts = group_counts(off, cr, det, index, groups, cell_rows=runs)
    shares = rng.random((cells * runs, m)) * (rng.random((cells * runs, m)) < 0.6)
    ginis = gini_rows(shares, cell_rows=runs)
    for c in range(cells):
        rows = slice(c * runs, (c + 1) * runs)
        want, want_groups = numpy_day_metrics(off[rows], cr[rows], det[rows], g1, g2, index, groups)
        for name, value in want.items():
            same(daily[name][rows], value, name)
        for name, value in want_groups.items():
            same(per_group[name][rows], value, name)
        want_gaps = np.stack([pcr_gap(off[rows], cr[rows], g1, g2, e) for e in eps], axis=-1)
        same(gaps[rows], want_gaps, "pcr gaps")
        idle = off[rows] * (cr[rows] == 0)
        for got, values in zip(counts, (off[rows], cr[rows], det[rows], idle), strict=True):
            same(got[rows], group_sums(values, index, groups), "group counts")
        same(ginis[rows], gini(shares[rows]), "gini of shares")


def test_a_lone_row_sums_its_groups_as_numpy_does():
    """The case numpy's layouts make differ: one row's PCR gap sums pairwise, its daily metrics (computed
    as two equal rows) in sequence; both must come out as numpy's, on groups long enough to differ."""
    rng = np.random.default_rng(7)
    m = 300
    off, cr, det = (a / 3.0 for a in day_counts(rng, 1, m, 280, 90))
    index = (rng.random(m) < 0.5).astype(np.int64)
    g1, g2 = index == 0, index == 1
    eps = [f * epsilon(m) for f in EPS_FACTORS]
    same(
        pcr_gaps(off, cr, g1, g2, eps, cell_rows=1), np.stack([pcr_gap(off, cr, g1, g2, e) for e in eps], -1)
    )
    daily, _ = day_metrics(off, cr, det, g1, g2, index, 2, cell_rows=1)
    want, _ = numpy_day_metrics(off, cr, det, g1, g2, index, 2)
    for name, value in want.items():
        same(daily[name], value, name)


# -- the accumulator: a block of cells at once, against the numpy definitions cell by cell ------------------
class PerCellReference(StudyMetrics):
    """The accumulator as it was: one cell at a time, every metric by its numpy definition below the
    support threshold and by the support kernels (per cell) from there on."""

    def update_block(self, cells, day, officers, crimes, detected, shares=None):
        n = len(cells)
        officers, crimes, detected = (
            np.broadcast_to(np.asarray(a), np.shape(officers)).reshape(n, -1, self.areas.n)
            for a in (officers, crimes, detected)
        )
        shares = None if shares is None else np.asarray(shares, dtype=np.float64).reshape(n, -1, self.areas.n)
        for k, cell in enumerate(cells):
            self._one_cell(
                cell, day, officers[k], crimes[k], detected[k], None if shares is None else shares[k]
            )

    def _one_cell(self, cell, day, officers, crimes, detected, shares):
        assert not self._seen[cell, day]
        if self.run_averaged:
            officers, crimes, detected = (
                np.asarray(a, dtype=np.float64).mean(axis=0, keepdims=True)
                for a in (officers, crimes, detected)
            )
            shares = None if shares is None else shares.mean(axis=0, keepdims=True)
        n_g, m = len(self.group_names), self.areas.n
        dense = m < SUPPORT_METRICS_MIN_AREAS
        form = numpy_day_metrics if dense else support_metrics
        daily, per_group = form(officers, crimes, detected, self.g1, self.g2, self.group_index, n_g)
        for name, value in daily.items():
            self.daily[name][cell, :, day] = value
        if shares is None:
            self._has_shares[cell] = False
        else:
            self.daily["gini_expected"][cell, :, day] = gini(shares) if dense else gini_rows(shares)
        eps = [f * epsilon(m) for f in EPS_FACTORS]
        if dense:
            gaps = np.stack([pcr_gap(officers, crimes, self.g1, self.g2, e) for e in eps], axis=-1)
        else:
            gaps = pcr_gaps(officers, crimes, self.g1, self.g2, eps)
        ok = np.isfinite(gaps)
        self._eps_sum[cell] += np.where(ok, gaps, 0.0)
        self._eps_days[cell] += ok
        for name, value in per_group.items():
            self.group_daily[name][cell, :, day] = value
        idle = officers * (crimes == 0)
        if dense:
            sums = [group_sums(v, self.group_index, n_g) for v in (officers, crimes, detected, idle)]
        else:  # one compiled pass over each row (the order of the sums of fractional counts)
            sums = group_counts(officers, crimes, detected, self.group_index, n_g)
        for name, value in zip(("officers", "crimes", "detected", "idle_officers"), sums, strict=True):
            self.group_daily[name][cell, :, day] = value
        for k, values in enumerate((officers, crimes, detected, idle)):
            self._counts[cell, k] += values
        if shares is not None:
            self._area["expected_patrols"][cell] += shares * officers.sum(axis=-1, keepdims=True)
        self._seen[cell, day] = True


def assert_same_study(got: StudyMetrics, want: StudyMetrics) -> None:
    for table in ("daily", "group_daily", "horizon", "group_horizon", "area_horizon"):
        a, b = getattr(got, table), getattr(want, table)
        assert a.keys() == b.keys(), table
        for name in a:
            same(a[name], b[name], f"{table}.{name}")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_cells=st.integers(1, 3),
    runs=st.integers(1, 3),
    many=st.booleans(),
    groups=st.integers(1, 4),
    averaged=st.booleans(),
    with_shares=st.booleans(),
)
@example(seed=3, n_cells=2, runs=1, many=False, groups=1, averaged=False, with_shares=True)
@example(seed=4, n_cells=3, runs=3, many=True, groups=3, averaged=True, with_shares=True)
@example(seed=5, n_cells=2, runs=1, many=True, groups=2, averaged=False, with_shares=True)
def test_the_block_update_equals_per_cell_updates_bit_for_bit(
    seed, n_cells, runs, many, groups, averaged, with_shares
):
    """Every table of a small study fed a day's block of cells at once (as the engine does) equals the one
    fed cell by cell by the numpy definitions: below and above the support threshold, one run, run-averaged
    counts, one group or empty groups, days without crime, with and without allocation shares."""
    rng = np.random.default_rng(seed)
    m = int(
        rng.integers(SUPPORT_METRICS_MIN_AREAS, SUPPORT_METRICS_MIN_AREAS + 300)
        if many
        else rng.integers(2, 300)
    )
    areas = toy_areas(rng.integers(0, groups, m), groups + int(rng.integers(0, 2)))  # maybe an empty group
    n_days = 4
    block = StudyMetrics(areas, n_cells, range(runs), n_days, run_averaged=averaged, window=2)
    reference = PerCellReference(areas, n_cells, range(runs), n_days, run_averaged=averaged, window=2)
    cells = list(rng.permutation(n_cells))  # a batch's cells need not be in order
    for day in rng.permutation(n_days):
        counts = day_counts(
            rng, n_cells * runs, m, int(rng.integers(0, 500)), int(rng.integers(0, 200)), day == 1
        )
        shares = None
        if with_shares:
            shares = rng.random((n_cells * runs, m)) ** 4
            shares /= shares.sum(axis=1, keepdims=True)
        block.update_block(cells, int(day), *counts, shares)
        reference.update_block(cells, int(day), *counts, shares)
    assert_same_study(block.finish(), reference.finish())


def test_the_one_cell_update_is_the_block_update_of_one_cell():
    rng = np.random.default_rng(11)
    areas = toy_areas(rng.integers(0, 3, 40), 3)
    one, block = (StudyMetrics(areas, 2, range(3), 2, window=1) for _ in range(2))
    for day in range(2):
        off, cr, det = day_counts(rng, 6, 40, 50, 20)
        block.update_block([1, 0], day, off, cr, det)
        one.update(1, day, off[:3], cr[:3], det[:3])
        one.update(0, day, off[3:], cr[3:], det[3:])
    assert_same_study(one.finish(), block.finish())


def test_the_block_update_refuses_malformed_blocks():
    areas = toy_areas(np.array([0, 0, 1, 1]), 2)
    acc = StudyMetrics(areas, 2, range(2), 1)
    x = np.ones((4, 4), dtype=np.int32)
    with pytest.raises(ValueError, match="cell appears twice"):
        acc.update_block([0, 0], 0, x, x, x)
    with pytest.raises(ValueError, match="expected 2 runs a cell"):
        acc.update_block([0], 0, x, x, x)
    with pytest.raises(ValueError, match="4 areas"):
        acc.update_block([0, 1], 0, x[:, :3], x[:, :3], x[:, :3])
    acc.update_block([0, 1], 0, x, x, x)
    with pytest.raises(ValueError, match="already added"):
        acc.update_block([1], 0, x[:2], x[:2], x[:2])


def test_a_metric_without_a_compiled_form_is_computed_by_its_definition(extra_metrics):
    """Adding a daily or per-group metric touches fairness.py (and the registry) only, below the support
    threshold too: a metric the kernel does not compute comes from its numpy definition on each cell's
    rows (a lone row as two equal rows, as before)."""
    rng = np.random.default_rng(5)
    for runs in (1, 3):
        off, cr, det = day_counts(rng, 2 * runs, 50, 60, 30)
        index = rng.integers(0, 3, 50)
        daily, groups = day_metrics(off, cr, det, index == 0, index == 1, index, 3, cell_rows=runs)
        same(daily["busiest_area"], off.max(axis=1), "extra daily metric")
        want = np.stack([off[:, index == g].sum(axis=1) for g in range(3)], axis=-1)
        same(groups["officers_total"], want, "extra group metric")
        reference, _ = numpy_day_metrics(off[:runs], cr[:runs], det[:runs], index == 0, index == 1, index, 3)
        same(daily["pcr_gap"][:runs], reference["pcr_gap"], "a kernel metric beside them")


@pytest.mark.parametrize("runs, averaged", [(3, False), (1, False), (4, True)])
def test_numpy_definitions_while_kernels_compile_give_the_same_numbers(runs, averaged):
    """A machine's first run computes the metrics by their numpy definitions until the kernels are
    compiled (fairpatrol.sim.parallel.CompileAhead): every table is the same bit for bit."""
    from fairpatrol.data import load_areas
    from fairpatrol.metrics.support import use_dense_kernels

    areas = load_areas("baltimore")
    tables = []
    for flag in (True, False):
        acc = StudyMetrics(areas, 2, list(range(runs)), 3, run_averaged=averaged)
        rng = np.random.default_rng(runs)
        try:
            use_dense_kernels(flag)
            for day in range(3):
                shape = (2 * runs, areas.n)
                uniform = np.full(areas.n, 1.0 / areas.n)
                officers = rng.multinomial(40, uniform, size=2 * runs).astype(np.int32)
                crimes = (rng.random(shape) < 0.02 * (day + 1)).astype(np.int32)
                detected = crimes * (rng.random(shape) < 0.5)
                shares = rng.dirichlet(np.ones(areas.n), size=2 * runs)
                acc.update_block([1, 0], day, officers, crimes, detected.astype(np.int32), shares)
            acc.finish()
        finally:
            use_dense_kernels(True)
        tables.append(acc)
    kernels, numpy_form = tables
    for name in ("daily", "group_daily", "horizon", "group_horizon", "area_horizon"):
        for key, value in getattr(kernels, name).items():
            np.testing.assert_array_equal(value, getattr(numpy_form, name)[key], err_msg=f"{name} {key}")


def test_every_helper_compiles_once(tmp_path):
    """A machine's first run compiles these kernels (docs/engine.md, "A machine's first run"): every
    helper compiles once, whatever the counts' type, never once more for an integer or boolean literal
    some caller passes (numba compiles a specialization per literal argument; a fresh process with an
    empty cache shows it)."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from numba.core.registry import CPUDispatcher\n"
        "from fairpatrol.metrics import dense\n"
        "from fairpatrol.metrics.support import day_metrics, gini_rows, pcr_gaps\n"
        "rng = np.random.default_rng(1)\n"
        "g = rng.integers(0, 3, 300)\n"
        "for dtype in (np.int32, np.float64):\n"
        "    for rows in (1, 4):\n"
        "        c = rng.integers(0, 5, (rows, 300)).astype(dtype)\n"
        "        day_metrics(c, c, c, g == 0, g == 1, g, 3, cell_rows=rows)\n"
        "        pcr_gaps(c, c, g == 0, g == 1, [0.5, 1.0], cell_rows=rows)\n"
        "        gini_rows(c.astype(float))\n"
        "for name, f in sorted(vars(dense).items()):\n"
        "    if isinstance(f, CPUDispatcher) and f.__module__ == dense.__name__:\n"
        "        print(name, len(f.signatures), sep=':')\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    counts = dict(line.split(":") for line in out.stdout.split())
    entries = {"dense_rows", "dense_pcr_gaps", "dense_gini_rows"}  # one compile per type of the counts
    assert set(counts) > entries | {"pairwise_sum", "sort_by"}, counts
    assert {name: n for name, n in counts.items() if name not in entries and n != "1"} == {}
    assert counts["dense_rows"] == counts["dense_pcr_gaps"] == "2"
