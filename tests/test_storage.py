"""Results as nonzero rows and streamed metrics give the numbers of the dense arrays.

For short versions of the presets (and grid cities), ``write_study`` streams every simulated day through
the allocation writer and the daily metrics; the reference path simulates the same study keeping dense
cells × runs × days × areas arrays and computes the metrics of whole runs at once, as the study did before
it streamed. Allocations must be equal after re-expansion, value for value; metrics, group metrics and
summaries bit for bit below :data:`SUPPORT_METRICS_MIN_AREAS` areas (same arithmetic), to rounding above
it (the support kernel sums in another order).
"""

from __future__ import annotations

import dataclasses
import io
import tracemalloc

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from fairpatrol.allocations import (
    COUNTS,
    AllocationWriter,
    allocation_metadata,
    dense_view,
    expand_allocations,
)
from fairpatrol.config import load_preset, parse_scenario, to_yaml_dict
from fairpatrol.metrics import daily_metrics, group_metrics
from fairpatrol.metrics.support import SUPPORT_METRICS_MIN_AREAS
from fairpatrol.results import write_study
from fairpatrol.results.tables import group_summary_frame, groups_table, metrics_table, summary_frame
from fairpatrol.sim.study import DenseAllocations, load_study_data, prepare_study, run_study, simulate_cells


def _config(preset: str, *, grid_m: float | None = None, world: dict | None = None, **update):
    doc = to_yaml_dict(load_preset(preset, days=5, runs=3, seed=17))
    if grid_m is not None:
        doc["data"]["areas"] = {"grid": {"size_m": grid_m}}
    if world:
        doc["world"] = {**doc["world"], **world}
    doc.update(update)
    return parse_scenario(doc, source=f"short {preset}")


CASES = {
    "baltimore-agg": lambda: _config("baltimore-agg"),
    # world effects (deterrence, displacement, delayed reports) and every remedy (prevention units)
    "baltimore-remedies": lambda: _config(
        "baltimore-remedies",
        world={"deterrence_elasticity": 0.4, "displacement": 0.5, "report_delay_days": 1},
        algorithms=["PredPol", "ShortTermKDE"],
    ),
    # the compat sampler, shared reports and metrics of run-averaged counts
    "baltimore-agg-compat": lambda: _config("baltimore-agg-compat"),
    # grid cities: 600 m cells (< 1,024: dense metric arithmetic), 400 m (1,393 cells: search sampler and
    # support metrics)
    "grid-600m": lambda: _config("baltimore-agg", grid_m=600, algorithms=["ShortTermKDE", "PreviousCounts"]),
    "grid-400m": lambda: _config("baltimore-agg", grid_m=400, algorithms=["LongTermKDE", "PredPol"]),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    config = CASES[request.param]()
    inputs = load_study_data(config)
    data = prepare_study(config, inputs.incidents)
    out = tmp_path_factory.mktemp("storage") / request.param
    res = write_study(config, out, incidents=inputs, data=data)
    return request.param, config, data, res, out


def reference(config, data, res):
    """Dense cells × runs × days × areas tables from the engine's dense mode, and the metrics of whole
    runs × days × areas arrays per cell (the study's arithmetic before it streamed)."""
    n_c, n_r, n_d, n_m = len(res.cells), len(res.run_ids), data.n_days, data.n_areas
    dense = {name: np.zeros((n_c, n_r, n_d, n_m), dtype=np.int32) for name in COUNTS}
    for algorithm in config.algorithms:
        idx = [i for i, c in enumerate(res.cells) if c.algorithm == algorithm]
        batch = simulate_cells(config, data, [res.cells[i] for i in idx], res.run_ids)
        for name in COUNTS:
            table = getattr(batch, name)
            if table is not None:
                dense[name][idx] = table.reshape(len(idx), n_r, n_d, n_m)
    g1, g2 = data.areas.group_masks()
    index, n_groups = data.areas.group_index, len(data.areas.group_names)
    metrics, per_group = {}, {}
    for c in range(n_c):
        counts = (dense["officers"][c], dense["crimes"][c], dense["detected"][c])
        if config.compat.run_averaged_metrics:
            counts = tuple(a.mean(axis=0, keepdims=True) for a in counts)
        for name, value in daily_metrics(*counts, g1, g2).items():
            metrics.setdefault(name, np.empty((n_c, *value.shape)))[c] = value
        for name, value in group_metrics(*counts, index, n_groups).items():
            per_group.setdefault(name, np.empty((n_c, *value.shape)))[c] = value
    # the study's other metrics (need-based, rolling) have no dense counterpart to compare with: kept
    ref = dataclasses.replace(
        res, metrics={**res.metrics, **metrics}, group_metrics={**res.group_metrics, **per_group}
    )
    return dense, ref


def test_allocations_equal_the_dense_tables_after_re_expansion(case):
    name, config, data, res, out = case
    dense, _ = reference(config, data, res)
    stored = pd.read_parquet(out / "allocations.parquet")
    assert (stored[list(COUNTS)] != 0).any(axis=1).all()  # only nonzero rows are stored
    expanded = expand_allocations(out)
    n_c, n_r, n_d, n_m = dense["officers"].shape
    assert len(expanded) == n_c * n_r * n_d * n_m
    for col in COUNTS:
        np.testing.assert_array_equal(expanded[col].to_numpy().reshape(n_c, n_r, n_d, n_m), dense[col], col)
    # rows in study order: cell-major, run, date, area, with the cell's keys
    cells = expanded.iloc[:: n_r * n_d * n_m]
    assert list(cells["scenario"].astype(str)) == [c.scenario for c in res.cells]
    assert list(cells["algorithm"].astype(str)) == [c.algorithm for c in res.cells]
    assert list(expanded["area_id"].iloc[:n_m].astype(str)) == list(data.areas.ids)
    if name == "baltimore-remedies":  # the cases really exercise what they are for
        assert dense["prevention"].any() and (dense["crimes"] != dense["crimes"][:1, :1]).any()
    meta = allocation_metadata(out / "allocations.parquet")
    assert meta["dense_rows"] == len(expanded) and meta["zero_rows"] == "omitted"
    doc = yaml.safe_load((out / "config.yaml").read_text())
    assert doc["resolved"]["allocations"]["rows"] == len(stored)


def test_metrics_and_summaries_equal_the_dense_computation(case):
    _name, config, data, res, out = case
    _, ref = reference(config, data, res)
    want, got = metrics_table(ref).to_pandas(), pd.read_parquet(out / "metrics.parquet")
    want_groups, got_groups = groups_table(ref).to_pandas(), pd.read_parquet(out / "groups.parquet")
    if data.n_areas < SUPPORT_METRICS_MIN_AREAS:  # the same arithmetic: bit for bit
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        pd.testing.assert_frame_equal(got_groups, want_groups, check_exact=True)
        for frame, file in (
            (summary_frame(ref), "summary.csv"),
            (group_summary_frame(ref), "group_summary.csv"),
        ):
            text = io.StringIO()
            frame.to_csv(text, index=False)
            assert (out / file).read_text() == text.getvalue(), file
        return
    # support metrics: equal to rounding; a gap is compared at the scale of the means it subtracts
    for col in want.select_dtypes("number").columns:
        scale = (
            np.maximum(np.abs(want[col]), 1.0) if col.endswith(("gap", "gap_signed")) else np.abs(want[col])
        )
        diff = np.abs(got[col] - want[col])
        assert ((diff <= 1e-9 * scale) | (want[col].isna() & got[col].isna())).all(), col
    for col in want_groups.select_dtypes("number").columns:
        np.testing.assert_allclose(got_groups[col], want_groups[col], rtol=1e-10, equal_nan=True, err_msg=col)


def test_dense_view_gives_the_dense_rows(case):
    _, _, _, _, out = case
    con = duckdb.connect()
    try:
        dense_view(con, out)
        view = con.sql("select * from allocations_dense").df()
        avg = con.sql("select algorithm, avg(officers) as a from allocations_dense group by all").df()
    finally:
        con.close()
    expanded = expand_allocations(out)
    keys = ["scenario", "algorithm", "run", "date", "area_id"]
    view = view.astype({k: str for k in keys}).sort_values(keys).reset_index(drop=True)
    want = expanded.astype({k: str for k in keys}).sort_values(keys).reset_index(drop=True)
    assert len(view) == len(want)
    for col in COUNTS:
        np.testing.assert_array_equal(view[col].to_numpy(), want[col].to_numpy(), col)
    # a mean over the view is the mean over every dense row (the nonzero file alone would overstate it)
    by_alg = want.groupby("algorithm")["officers"].mean()
    np.testing.assert_allclose(avg.set_index("algorithm")["a"][by_alg.index], by_alg.to_numpy())


def test_expand_selects_one_run(case):
    _, _, data, res, out = case
    cell = res.cells[-1]
    one = expand_allocations(out, scenario=cell.scenario, algorithm=cell.algorithm, run=res.run_ids[-1])
    assert len(one) == data.n_days * data.n_areas
    everything = expand_allocations(out)
    sel = (
        (everything["scenario"] == cell.scenario)
        & (everything["algorithm"] == cell.algorithm)
        & (everything["run"] == res.run_ids[-1])
    )
    np.testing.assert_array_equal(one["officers"].to_numpy(), everything.loc[sel, "officers"].to_numpy())
    with pytest.raises(ValueError, match="unknown allocation column"):
        expand_allocations(out, columns=["police"])


def test_small_chunks_write_the_same_rows_in_several_row_groups(tmp_path):
    config = CASES["baltimore-agg"]()
    config = config.model_copy(update={"algorithms": ["ShortTermKDE"]})
    with AllocationWriter(tmp_path / "a.parquet", chunk_rows=500) as small:
        run_study(config, sinks=[small])
    with AllocationWriter(tmp_path / "b.parquet") as big:
        run_study(config, sinks=[big])
    assert pq.ParquetFile(tmp_path / "a.parquet").num_row_groups > 3
    assert pq.ParquetFile(tmp_path / "b.parquet").num_row_groups == 1
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    )
    assert small.rows == big.rows < small.dense_rows


def test_dense_allocations_sink_equals_the_written_rows(case):
    _, config, data, _res, out = case
    if data.n_areas > 1000:
        pytest.skip("one dense study is enough")
    tables = DenseAllocations()
    again = run_study(config, sinks=[tables], data=data)
    expanded = expand_allocations(out)
    np.testing.assert_array_equal(expanded["officers"].to_numpy(), tables.officers.reshape(-1))
    pd.testing.assert_frame_equal(metrics_table(again).to_pandas(), pd.read_parquet(out / "metrics.parquet"))


def _peak_mib(config, incidents, days: int) -> float:
    from fairpatrol.models._kde import MASSES, QUADRATURES

    cfg = config.model_copy(update={"days": days})
    data = prepare_study(cfg, incidents)
    MASSES.clear()  # both horizons compute their kernel masses inside the measurement
    QUADRATURES.clear()
    tracemalloc.start()
    try:
        with AllocationWriter(io.BytesIO(), chunk_rows=20_000) as writer:
            run_study(cfg, data=data, sinks=[writer])
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_days():
    """Streaming: 8× the days costs almost no memory, while dense tables would need
    cells × runs × extra days × areas × 4 tables × 4 bytes more (24 MiB here)."""
    config = _config("baltimore-agg", grid_m=400, algorithms=["ShortTermKDE"], runs=4)
    incidents = load_study_data(config).incidents
    _peak_mib(config, incidents, 2)  # first calls load compiled kernels and fill lazy module state
    short, long = _peak_mib(config, incidents, 10), _peak_mib(config, incidents, 80)
    dense_growth = 4 * 4 * 70 * incidents.areas.n * 4 * 4 / 2**20
    assert dense_growth > 23
    assert long - short < 0.05 * dense_growth, (short, long)
