"""Memory and time of the KDE window models on square grid cells of Chicago (1 km → 150 m).

    python benchmarks/kde_memory.py                      # the ladder, this checkout
    python benchmarks/kde_memory.py --sizes 250 150      # some cell sizes only
    python benchmarks/kde_memory.py --src /path/to/other/checkout/src   # another version (e.g. before)

Chicago's thefts (the bundled ``chicago-theft`` incidents; simulated from 1 February 2023, after a full
year of data) on square cells of each size over the 77 community areas (a study's
``data.areas: {grid: {size_m: ...}}``, :func:`fairpatrol.grid.cells.build_grid`); each cell is an area.
For every cell size and model (ShortTermKDE, LongTermKDE), a fresh Python process

- ``state``: builds the model's simulation state for ``--runs`` runs (kernel masses of every incident and
  the first window's sums: the "setup"), then advances it ``--days`` days: forecast, then learn a random
  30 % of the day's incidents (as detections and reports would). Reported: setup seconds (wall and CPU),
  milliseconds per run-day of forecast + learn (wall and CPU; the first day, which loads numba's cached
  kernels, untimed), the stored kernel masses, and the process's peak RSS;
- ``engine``: after the same setup, runs the whole engine (:func:`fairpatrol.sim.engine.simulate`, 400
  officers, r = 0.4; the masses come from the model's cache) for the same runs and days: cost per run-day
  with allocation, detection and the dense result tables.

Each job runs in its own process (import and numba's cache loading included in its peak RSS); CPU times
are process CPU (both numba threads), less noisy than wall time on a shared machine. With ``--src``, the
child processes import fairpatrol from that source tree (the grid is built once, by this checkout, and
passed as a pickle; the other tree must be able to unpickle it), so another version can be measured the
same way; a job
whose dense incidents × areas mass matrix would exceed ``--dense-limit-gb`` is skipped, with the size it
would need. Results go to the terminal and to ``benchmarks/results/kde_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, pickle, resource, sys, time
import numpy as np
spec = json.loads(sys.argv[1])
from fairpatrol.models import MODELS
from fairpatrol.sim.prepare import prepare
with open(spec["grid"], "rb") as fh:
    inc = pickle.load(fh)
model = MODELS[spec["model"]]()
data = prepare(inc, spec["start"], spec["days"], int(model.window_days))
import fairpatrol.models._kde as kde
sparse = hasattr(kde, "kde_area_mass_sparse")
dense_gb = data.n_events * data.n_areas * 8 / 1e9
out = {"areas": data.n_areas, "events": data.n_events, "dense_gb": dense_gb, "sparse": sparse}
if not sparse and dense_gb > spec["dense_limit_gb"]:
    out["skipped"] = f"dense masses would need {dense_gb:.1f} GB"
    print(json.dumps(out)); sys.exit(0)
R, D = spec["runs"], spec["days"]
rng = np.random.default_rng(0)
t0, c0 = time.perf_counter(), time.process_time()
weights = np.zeros((R, data.n_events), dtype=np.float32)
weights[:, : data.n_history] = 1.0
state = model.make_state(data, weights)  # quadrature, kernel masses (kept by the model's cache), first sums
out["setup_s"] = time.perf_counter() - t0
out["setup_cpu_s"] = time.process_time() - c0


def day(d):
    state.forecast(d)
    lo, hi = data.day_slice(d)
    new = np.where(rng.random((R, hi - lo)) < 0.3, np.float32(1.0), np.float32(0.0))
    weights[:, lo:hi] = new
    state.learn(d, lo, hi, new)


day(0)  # first calls: numba loads its cached kernels
if sparse:
    rows = kde.event_masses(data, float(model.bandwidth), float(model.cell_size), float(model.cutoff))
    out["stored_values"] = rows.nnz
    out["mass_mb"] = rows.nbytes / 1e6
else:
    out["stored_values"] = data.n_events * data.n_areas
    out["mass_mb"] = data.n_events * data.n_areas * 8 / 1e6
t1, c1 = time.perf_counter(), time.process_time()
if spec["job"] == "state":
    for d in range(1, D):
        day(d)
    n_timed = R * (D - 1)
else:
    from fairpatrol.sim.engine import RunSpec, simulate
    del state
    simulate(model, data, [RunSpec(run=r, n_officers=400, report_prob=0.4) for r in range(R)], seed=1)
    n_timed = R * D
out["ms_per_run_day"] = 1e3 * (time.perf_counter() - t1) / n_timed
out["cpu_ms_per_run_day"] = 1e3 * (time.process_time() - c1) / n_timed
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def build_grids(sizes: list[float], folder: Path) -> dict[float, Path]:
    """Chicago's thefts on square cells of every size (``data.areas: {grid: {size_m: ...}}``), pickled for
    the child processes."""
    from fairpatrol.config import load_preset, parse_scenario, to_yaml_dict
    from fairpatrol.sim.study import load_study_incidents

    paths = {}
    for size in sizes:
        doc = to_yaml_dict(load_preset("chicago-theft"))
        doc["data"]["areas"] = {"grid": {"size_m": size}}
        path = folder / f"chicago_{int(size)}m.pickle"
        with path.open("wb") as fh:
            pickle.dump(load_study_incidents(parse_scenario(doc, source="chicago-theft on a grid")), fh)
        paths[size] = path
    return paths


def figures(res: dict) -> str:
    setup = f"{res['setup_s']:8.2f} {res['setup_cpu_s']:6.2f}"
    cost = f"{setup} {res['ms_per_run_day']:11.2f} {res['cpu_ms_per_run_day']:8.2f}"
    return f"{cost} {res['mass_mb']:10,.0f} {res['peak_rss_mb']:12,.0f}"


def run_child(spec: dict, src: str | None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1000.0, 500.0, 250.0, 150.0])
    parser.add_argument("--models", nargs="+", default=["ShortTermKDE", "LongTermKDE"])
    parser.add_argument("--jobs", nargs="+", default=["state", "engine"], choices=["state", "engine"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--start", default="2023-02-01")
    parser.add_argument("--src", default=None, help="import fairpatrol from this source tree in the jobs")
    parser.add_argument("--dense-limit-gb", type=float, default=4.0)
    parser.add_argument("--out", default=str(HERE / "results" / "kde_memory.json"))
    args = parser.parse_args()

    rows = []
    head = (
        f"{'cells':>8} {'model':<13} {'job':<7} {'setup s':>8} {'CPU s':>6} {'ms/run-day':>11} {'CPU ms':>8} "
    )
    head += f"{'masses MB':>10} {'peak RSS MB':>12}"
    with tempfile.TemporaryDirectory() as tmp:
        grids = build_grids(args.sizes, Path(tmp))
        print(head)
        for size in args.sizes:
            for model in args.models:
                for job in args.jobs:
                    spec = {"grid": str(grids[size]), "model": model, "job": job, "runs": args.runs}
                    spec |= {"days": args.days, "start": args.start, "dense_limit_gb": args.dense_limit_gb}
                    res = run_child(spec, args.src) | {"cell_m": size, "model": model, "job": job}
                    rows.append(res)
                    label = f"{res.get('areas', 0):>8,} {model:<13} {job:<7}"
                    if "error" in res or "skipped" in res:
                        print(f"{label} {res.get('error') or res['skipped']}")
                        continue
                    print(f"{label} {figures(res)}", flush=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "src")}
    settings["code"] = "another source tree (--src)" if args.src else "this checkout"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"settings": settings, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
