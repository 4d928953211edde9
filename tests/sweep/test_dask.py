"""Sweeps on a Dask cluster: the user's input files travel with the cells (workers need no copy and no
shared file system), and a cluster without workers makes the sweep stop with one clear line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.errors import FairpatrolError
from fairpatrol.sweep import parse_sweep
from fairpatrol.sweep.execute import _submit_and_collect, tasks_of
from fairpatrol.sweep.worker import input_files, read_inputs, run_cell, shipment

runner = CliRunner()


def user_files(root: Path) -> tuple[Path, Path]:
    """A user's incident export (table layout) and a reporting-rate CSV, in a folder of their own."""
    folder = root / "my-data"
    folder.mkdir()
    raw = pd.read_parquet(Path(__file__).parents[2] / "src/fairpatrol/datasets/baltimore_agg_assault.parquet")
    raw = raw[(raw.CrimeDateTime >= "2018-09-01") & (raw.CrimeDateTime < "2019-03-10")]
    table = pd.DataFrame(
        {
            "time": raw.CrimeDateTime.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "lat": raw.Latitude,
            "lon": raw.Longitude,
            "crime_type": "AGG. ASSAULT",
        }
    ).dropna()
    table.to_csv(folder / "crimes.csv", index=False)
    (folder / "rates.csv").write_text("crime_type,rate\nAGG. ASSAULT,0.55\n")
    return folder / "crimes.csv", folder / "rates.csv"


def sweep_doc(crimes: str, rates: str) -> dict:
    return {
        "name": "mine",
        "scenario": {
            "data": {"city": "baltimore", "incidents": crimes, "format": "table"},
            "start": "2019-03-01",
            "days": 3,
            "runs": 2,
            "algorithms": ["ShortTermKDE"],
            "officers": [40],
            "report_probs": [rates],
        },
        "grid": {"detection_p": [0.3, 0.6]},
    }


def read(folder: Path) -> pd.DataFrame:
    """A sweep table in a canonical form (hive categories as strings, sorted)."""
    df = pd.read_parquet(folder)
    df = df.astype({c: str for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})
    keys = [c for c in ("cell", "run", "date", "area_id", "group") if c in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


def document(text: str) -> dict:
    doc = yaml.safe_load(text)
    doc.pop("seconds")
    return doc


def test_a_cell_runs_on_shipped_copies_of_the_users_files(tmp_path):
    """The incident file is named relative to the sweep file, the rates by absolute path; on a machine
    without the user's folder the cell runs on the shipped copies and gives the local cell exactly."""
    crimes, rates = user_files(tmp_path)
    plan = parse_sweep(sweep_doc("my-data/crimes.csv", str(rates)), base_dir=tmp_path)
    task = tasks_of(plan)[0]
    assert input_files(task) == {
        "my-data/crimes.csv": str(crimes.resolve()),
        str(rates): str(rates.resolve()),
    }
    inputs = shipment(task, {p: read_inputs(p) for p in input_files(task).values()})
    local = run_cell(task)
    assert local.ok, local.error
    shutil.move(crimes.parent, tmp_path / "moved")  # the worker's machine has no copy of the user's folder
    shipped = run_cell(task, inputs)
    assert shipped.ok, shipped.error
    assert document(shipped.config_yaml) == document(local.config_yaml)  # the user's names, hashes, paths
    for name in local.tables:
        a, b = (pq.read_table(pa.BufferReader(o.tables[name])).to_pandas() for o in (local, shipped))
        pd.testing.assert_frame_equal(a, b)
    missing = run_cell(task)  # without the files: the cell fails, naming the file
    assert not missing.ok and "my-data" in missing.error


def test_a_cluster_sweep_on_a_users_file_matches_the_local_one(tmp_path):
    from distributed import LocalCluster

    _, rates = user_files(tmp_path)
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(sweep_doc("my-data/crimes.csv", str(rates))))
    sweep = ["sweep", str(tmp_path / "w.yaml"), "-q"]
    local = runner.invoke(app, [*sweep, "--out", str(tmp_path / "local"), "--workers", "0"])
    assert local.exit_code == 0, local.output
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None, silence_logs=40) as cluster:
        res = runner.invoke(
            app, [*sweep, "--out", str(tmp_path / "dask"), "--cluster", cluster.scheduler_address]
        )
    assert res.exit_code == 0, res.output
    for table in ("metrics", "allocations", "groups"):
        pd.testing.assert_frame_equal(read(tmp_path / "local" / table), read(tmp_path / "dask" / table))
    for cfg in (tmp_path / "dask" / "configs").glob("*.yaml"):
        assert document(cfg.read_text()) == document((tmp_path / "local" / "configs" / cfg.name).read_text())


class _NoWorkers:
    """A Dask client whose cluster has lost every worker: nothing ever finishes."""

    def __init__(self):
        self.cancelled = []

    def scatter(self, data, broadcast=False):
        return [object() for _ in data]

    def submit(self, fn, *args, key=None, pure=None):
        return key

    def nthreads(self):
        return {}

    def cancel(self, futures):
        self.cancelled.extend(futures)


def test_a_sweep_gives_up_when_the_cluster_has_no_worker(monkeypatch, tmp_path):
    import distributed

    def never(fs, timeout=None, return_when=None):
        raise TimeoutError

    monkeypatch.setattr(distributed, "wait", never)
    monkeypatch.setattr("fairpatrol.sweep.execute._POLL", 0.01)
    plan = parse_sweep({"name": "x", "base": "baltimore-agg", "grid": {"officers": [40, 100, 200]}})
    client = _NoWorkers()
    with pytest.raises(FairpatrolError, match=r"no worker for 0.05 s.*3 cells did not run.*re-run to resume"):
        _submit_and_collect(client, tasks_of(plan), lambda o, s: None, "tcp://cluster:8786", 0.05)
    assert len(client.cancelled) == 3
