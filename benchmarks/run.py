"""fairpatrol benchmark: the presets and a size ladder, each measured in a fresh process.

    python benchmarks/run.py            # everything (≈ 7 min on 2 cores)
    python benchmarks/run.py --quick    # presets shortened, small ladders (≈ 2 min)
    python benchmarks/run.py --only scale [--before SRC]   # the 150 m preset, the cell-size ladder and
                                        # the presets' peak RSS (with another source tree: before/after)

Prints, for every measurement: wall seconds, CPU seconds (with the worker processes that simulate a
study's algorithms side by side), peak RSS of the main process and of the largest worker, microseconds per
simulated run-day-area, and the growth factor against the previous ladder step (with the ideal factor of a
linear cost); writes the same figures as JSON (default benchmarks/results/latest.json) so later runs can be
compared. Each measurement runs in its own Python process, so import time and numba's compile time (or
loading from its on-disk cache, as on every run after a machine's first) are inside the measured wall time;
each preset is also measured as a machine's first run, with empty caches (compilation and the KDE arrays of
fairpatrol's disk cache included), and with its algorithms simulated one after the other in one process
(``workers=1``).

For chicago-theft it also prints PredPol's daily fits on their own: wall and CPU time, passes over the data
per run-day, updates done (event × run × pass), CPU per update, and the floor: the time those updates
would take at the speed of the kernel's pass alone (measured in the same process on the last day's
window). The last section measures how far the daily refits stop from the maximum-likelihood fit, for the
Newton solver (the default) and the EM of Mohler et al. (2015).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The job run inside the child process: JSON spec in, JSON measurement out.
CHILD = r"""
import json, os, resource, sys, tempfile, time
t0 = time.perf_counter()
spec = json.loads(sys.argv[1])
from fairpatrol.config import load_preset
from fairpatrol.sim.study import load_study_incidents, prepare_study, run_study
from fairpatrol.models.predpol import PredPolState
fits = {"wall": 0.0, "cpu": 0.0}
_forecast = PredPolState.forecast
def _timed_forecast(self, day):  # PredPol's daily refits (from day 1): wall and process CPU (all threads)
    w, c = time.perf_counter(), time.process_time()
    try:
        return _forecast(self, day)
    finally:
        if day > 0:
            fits["wall"] += time.perf_counter() - w
            fits["cpu"] += time.process_time() - c
PredPolState.forecast = _timed_forecast
cfg = load_preset(spec["preset"], days=spec.get("days"), runs=spec.get("runs"))
if spec.get("algorithms"):
    cfg = cfg.model_copy(update={"algorithms": spec["algorithms"]})
if spec.get("update"):  # settings merged into the scenario (e.g. {"data": {"areas": {"grid": ...}}})
    from fairpatrol.config import parse_scenario, to_yaml_dict
    def merge(doc, new):
        deep = {k: merge(doc.get(k) or {}, v) if isinstance(v, dict) else v for k, v in new.items()}
        return {**doc, **deep}
    cfg = parse_scenario(merge(to_yaml_dict(cfg), spec["update"]), source=spec["preset"])
inc = load_study_incidents(cfg)
day_cpu = []  # process CPU at the end of each simulated day (setup excluded by differences)
def progress(n):
    day_cpu.append(time.process_time())
if spec.get("copies", 1) > 1:
    from fairpatrol.synthetic import replicate_incidents
    inc = replicate_incidents(inc, spec["copies"])
t_sim = time.perf_counter()
out = {}
if spec.get("engine") == "reference":
    from fairpatrol.sim.engine import RunSpec
    from fairpatrol.sim.reference import simulate_reference
    data = prepare_study(cfg, inc)
    runs = [RunSpec(run=r, n_officers=n, report_prob=p, detection_p=cfg.detection_p)
            for n in cfg.officers for p in cfg.report_probs for r in range(cfg.runs)]
    for a in cfg.algorithms:
        simulate_reference(cfg.model(a), data, runs, seed=cfg.seed)
    cells, n_areas, n_events = len(cfg.algorithms) * len(runs), data.n_areas, data.n_events
else:
    with tempfile.TemporaryDirectory() as d:
        try:
            from fairpatrol.results import write_study
        except ImportError:  # a version before results were streamed (--before)
            write_study = None
        import inspect
        side = {}  # worker processes for the algorithms' batches (a version before them: none)
        if "workers" in inspect.signature(run_study).parameters:
            side["workers"] = spec.get("workers")
        if spec.get("write") and write_study is not None:  # allocation rows written while simulating
            res = write_study(cfg, os.path.join(d, "out"), incidents=inc, progress=progress, **side)
        else:
            res = run_study(cfg, incidents=inc, progress=progress, **side)
            if spec.get("write"):
                from fairpatrol.results import write_results
                write_results(res, os.path.join(d, "out"))
    cells, n_areas, n_events = len(res.cells) * len(res.run_ids), res.data.n_areas, res.data.n_events
    if "em_iterations" in res.diagnostics:
        import numpy as np
        passes = res.diagnostics["em_iterations"]  # cells × runs × days, NaN for other algorithms
        window = int(cfg.model("PredPol").window_days)
        size = np.array([np.subtract(*res.data.window(d, window)[::-1]) for d in range(cfg.days)])
        warm = passes[..., 1:]
        out["passes_per_run_day"] = float(np.nanmean(warm))
        out["updates"] = float(np.nansum(warm * size[1:]))  # event × run × pass of the daily refits
        out["fit_wall_s"], out["fit_cpu_s"] = fits["wall"], fits["cpu"]
        if spec.get("floor"):  # the kernel's pass alone on the last day's window, in a tight loop
            import numba
            from fairpatrol.models import _hawkes as H
            lo, hi = res.data.window(cfg.days - 1, window)
            t, w, st = H.area_major(res.data.times[lo:hi], np.ones(hi - lo), res.data.area[lo:hi], n_areas)
            args = (t, np.repeat(w[:, None], H.WIDTH, 1), st, 365.0, [0.5] * H.WIDTH, [1.0] * H.WIDTH,
                    np.tile(np.bincount(res.data.area[lo:hi], minlength=n_areas) / 365.0, (H.WIDTH, 1)))
            def cost(k):  # thread CPU of a fit of one block stopped after k passes (tol 0), best of 5
                best = np.inf
                for _ in range(5):
                    c = time.thread_time()
                    H.hawkes_fit_lanes(*args, tol=0.0, max_iter=k)
                    best = min(best, time.thread_time() - c)
                return best
            cost(1)
            out["pass_ns"] = 1e9 * (cost(12) - cost(2)) / (10 * (hi - lo) * H.WIDTH)
            out["threads"] = numba.get_num_threads()
t_end = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # forked workers (simulating batches side by side)
if len(day_cpu) == cfg.days > 1:  # one algorithm: CPU per run-day after the first day
    out["steady_cpu_s_per_run_day"] = (day_cpu[-1] - day_cpu[0]) / (cells * (cfg.days - 1))
print(json.dumps({"wall_s": t_end - t0, "sim_s": t_end - t_sim,
                  "cpu_s": ru.ru_utime + ru.ru_stime + kids.ru_utime + kids.ru_stime,
                  "peak_rss_mb": ru.ru_maxrss / 1024, "worker_peak_rss_mb": kids.ru_maxrss / 1024,
                  "run_days": cells * cfg.days, "areas": n_areas, "events": n_events, **out}))
"""


def measure(spec: dict) -> dict:
    """Run one job in a fresh process; ``spec["cold"]`` gives it an empty numba cache (compile included)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if spec.get("src"):  # another source tree (e.g. the code before a change)
        env["PYTHONPATH"] = spec["src"] + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as cache:
        if spec.get("cold"):  # a machine's first run: no compiled kernels, no cached KDE arrays
            env["NUMBA_CACHE_DIR"] = cache
            env["FAIRPATROL_CACHE_DIR"] = os.path.join(cache, "arrays")
        out = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True, env=env
        )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark job {spec} failed:\n{out.stderr[-3000:]}")
    m = json.loads(out.stdout.strip().splitlines()[-1])
    m["us_per_run_day_area"] = 1e6 * m["sim_s"] / (m["run_days"] * m["areas"])
    return {**spec, **m}


def fit_accuracy(days: tuple[int, ...], runs: int) -> list[dict]:
    """How far PredPol's daily refits stop from the maximum-likelihood fit, for each solver.

    Simulates ``chicago-theft`` PredPol for each horizon in ``days`` (every cell, ``runs`` runs) with
    Newton (the default) and with EM, lets every run's engine state fit its data of the next day,
    and refits that same data from scratch with Newton at ``tol=1e-10``; reports the relative errors of θ,
    ω and of the daily forecast (max over areas) and the log-likelihood left below the maximum.
    """
    import numpy as np
    import pandas as pd

    from fairpatrol.config import load_preset
    from fairpatrol.models import PredPol
    from fairpatrol.models._hawkes import hawkes_loglik
    from fairpatrol.sim.engine import simulate
    from fairpatrol.sim.prepare import DAY
    from fairpatrol.sim.reference import training_frame
    from fairpatrol.sim.study import load_study_incidents, prepare_study, run_spec, study_cells

    rows = []
    for d in days:
        cfg = load_preset("chicago-theft", days=d, runs=runs).model_copy(update={"algorithms": ["PredPol"]})
        data = prepare_study(cfg, load_study_incidents(cfg))
        specs = [run_spec(c, r, cfg, {}) for c in study_cells(cfg) for r in range(runs)]
        until = data.start + d * DAY
        observed_from = data.start + data.observed_from * DAY
        for solver in ("newton", "em"):
            model = cfg.model("PredPol").set_params(solver=solver)
            res = simulate(model, data, specs, seed=cfg.seed)
            forecast = res.state.forecast(d)
            err: dict[str, list[float]] = {"theta": [], "omega": [], "forecast": [], "loglik": []}
            for i in range(len(specs)):
                train = training_frame(data, res.weights[i])
                kw = {"until": until, "areas": data.areas, "observed_from": observed_from}
                tight = PredPol(**{**model.get_params(), "solver": "newton", "tol": 1e-10}).fit(train, **kw)
                mu = pd.Series(res.state.mu[i], index=data.areas.ids).reindex(tight.mu_.index).to_numpy()
                point = (res.state.theta[i], res.state.omega[i], mu)  # the engine's fit, on the same data
                ll = hawkes_loglik(tight._times, tight._weights, tight._starts, tight.span_, *point)
                err["theta"].append(abs(res.state.theta[i] / tight.theta_ - 1))
                err["omega"].append(abs(res.state.omega[i] / tight.omega_ - 1))
                err["forecast"].append(float(np.max(np.abs(forecast[i] / tight.predict().to_numpy() - 1))))
                err["loglik"].append(tight.loglik_ - ll)
            row = {"solver": solver, "days": d, "fits": len(specs), "tol": model.tol}
            for key, values in err.items():
                v = np.asarray(values)
                row[key] = {
                    "median": float(np.median(v)),
                    "p95": float(np.quantile(v, 0.95)),
                    "max": float(v.max()),
                }
            rows.append(row)
    return rows


# A sweep preset run by the command line in a child process, which reports the CPU time and peak RSS of the
# sweep and its worker processes (its own children).
CHILD_SWEEP = r"""
import json, resource, subprocess, sys, tempfile, time
spec = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as d:
    cmd = [sys.executable, "-c", "from fairpatrol.cli import app; app()", "sweep", "--preset", spec["sweep"],
           "--out", d + "/out", "--quiet"]
    for key in ("days", "runs", "workers"):
        if spec.get(key) is not None:
            cmd += [f"--{key}", str(spec[key])]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}))
"""


def paper_sweep(quick: bool) -> list[dict]:
    """The ``baltimore-paper`` sweep preset (the published study's full grid, default and compat modes):
    wall time, CPU time of the sweep and its workers (the figure to compare while the machine is shared)
    and the peak RSS of the largest process, as ``fairpatrol sweep --preset baltimore-paper`` runs it."""
    spec = {"sweep": "baltimore-paper", "label": "baltimore-paper sweep (12 cells, full preset)"}
    if quick:
        spec.update(days=30, runs=5, label="baltimore-paper sweep (12 cells, 30 days, 5 runs)")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD_SWEEP, json.dumps(spec)], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark job {spec} failed:\n{out.stderr[-3000:]}")
    row = {**spec, **json.loads(out.stdout.strip().splitlines()[-1])}
    print("\n== the published study's full grid as one sweep (both crime inputs, default and compat modes)")
    print(f"{'job':52s} {'wall s':>8s} {'cpu s':>8s} {'RSS MB':>7s}")
    print(f"{row['label']:52s} {row['wall_s']:8.1f} {row['cpu_s']:8.1f} {row['peak_rss_mb']:7.0f}")
    return [row]


def show(title: str, rows: list[dict], ladder_key: str | None = None) -> None:
    """Print a table; on a ladder also the growth of simulation time against the growth of the size, and
    the marginal cost (extra seconds per extra run-day-area; on the incidents ladder, where PredPol's EM
    takes a data-dependent number of steps, the cost per incident and EM step instead), which
    is constant when cost is linear even while a fixed setup cost (quadrature, kernel masses, the day-0
    fit: about a second) still dominates small sizes."""
    print(f"\n== {title}")
    width = max([44] + [len(r["label"]) for r in rows])
    print(
        f"{'job':{width}s} {'events':>8s} {'wall s':>7s} {'sim s':>7s} {'cpu s':>7s} {'RSS MB':>7s} "
        f"{'worker':>7s} {'µs/run-day-area':>15s} {'growth':>7s} {'linear':>7s} {'marginal µs':>11s}"
    )
    prev = None
    for r in rows:
        growth = ideal = marginal = ""
        if prev is not None and ladder_key:
            growth = f"{r['sim_s'] / prev['sim_s']:.2f}"
            ideal = f"{r[ladder_key + '_size'] / prev[ladder_key + '_size']:.2f}"
            units = (r["run_days"] - prev["run_days"]) * r["areas"]
            marginal = f"{1e6 * (r['sim_s'] - prev['sim_s']) / units:.4f}" if units else ""
        if ladder_key == "incidents" and r.get("updates"):
            # PredPol's fits take a data-dependent number of passes: CPU per incident, run and pass
            marginal = f"{1e9 * r['fit_cpu_s'] / r['updates']:.2f} ns/upd"
        if r.get("passes_per_run_day"):
            print(f"    (PredPol: {r['passes_per_run_day']:.2f} passes over the data per run-day)")
        print(
            f"{r['label']:{width}s} {r['events']:8d} {r['wall_s']:7.2f} {r['sim_s']:7.2f} {r['cpu_s']:7.2f} "
            f"{r['peak_rss_mb']:7.0f} {r.get('worker_peak_rss_mb', 0):7.0f} {r['us_per_run_day_area']:15.3f} "
            f"{growth:>7s} {ideal:>7s} "
            f"{marginal:>11s}"
        )
        prev = r


#: Cell sizes (metres) of the ladder over the number of cells (Chicago: 710 → 27,459 cells).
CELL_SIZES = (1000, 500, 250, 150)


def scale(quick: bool, before: str | None = None) -> dict:
    """Issue 15's rows: the 150 m preset (wall, CPU, peak RSS), cost per run-day against the number of
    cells (1 km → 150 m, each algorithm alone: 20 runs, N = 400, r = 0.4), and the peak RSS of
    ``baltimore-agg`` and ``chicago-theft`` with this checkout and, given ``before`` (a source tree, e.g.
    ``git archive`` of the commit before results were streamed), with that one.

    Cost per run-day is the process CPU between the end of the first and of the last simulated day
    divided by run-days (the setup — grid, kernel masses, day-0 fit — excluded): CPU, not wall, because
    the machine may be shared. The growth exponent between two sizes is log(cost ratio) / log(cells
    ratio): at most 1 is at most linear in cells (the incidents are the same at every size).
    """
    sections: dict = {}
    days = 30 if quick else None
    label = "chicago-theft-150m (" + ("30 days" if quick else "full preset") + ", results written)"
    rows = [measure({"preset": "chicago-theft-150m", "days": days, "write": True, "label": label})]
    show("the 150 m preset (27,459 cells; whole job: import, load, simulate, write)", rows)
    sections["preset_150m"] = rows

    ladder = []
    for algorithm in ("ShortTermKDE", "LongTermKDE", "PredPol"):
        for size in CELL_SIZES if not quick else (1000, 250, 150):
            update = {"data": {"areas": {"grid": {"size_m": size}}}, "officers": [400], "report_probs": [0.4]}
            spec = {"preset": "chicago-theft-150m", "days": 20 if not quick else 8, "runs": 20}
            spec.update(algorithms=[algorithm], update=update, write=True, label=f"{algorithm} {size} m")
            ladder.append(measure(spec))
    print("\n== cost per run-day against the number of cells (20 runs, N = 400, r = 0.4; CPU after day 0)")
    print(f"{'job':24s} {'cells':>7s} {'peak RSS MB':>11s} {'CPU ms/run-day':>14s} {'exponent':>8s}")
    prev = None
    for r in ladder:
        cost = r["steady_cpu_s_per_run_day"]
        exponent = ""
        if prev is not None and prev["label"].split()[0] == r["label"].split()[0]:
            growth = math.log(cost / prev["steady_cpu_s_per_run_day"])
            exponent = f"{growth / math.log(r['areas'] / prev['areas']):.2f}"
        print(f"{r['label']:24s} {r['areas']:7,d} {r['peak_rss_mb']:11.0f} {1e3 * cost:14.3f} {exponent:>8s}")
        prev = r
    sections["ladder_cells"] = ladder

    memory = []
    for name in ("baltimore-agg", "chicago-theft"):
        spec = {"preset": name, "write": True, "days": days}
        memory.append(measure({**spec, "label": f"{name} (this checkout)"}))
        if before:
            memory.append(measure({**spec, "src": before, "label": f"{name} (before: {before})"}))
    show("peak RSS of the presets" + (", before and after" if before else ""), memory)
    sections["preset_memory"] = memory
    return sections


def show_fits(row: dict) -> None:
    """PredPol's daily fits inside one preset job: the distance to the machine's limit."""
    if not row.get("updates"):
        return
    ns = 1e9 * row["fit_cpu_s"] / row["updates"]
    print(f"\n== PredPol's daily fits in {row['label']}")
    threads = row.get("threads", "?")
    print(f"   wall {row['fit_wall_s']:.2f} s, CPU {row['fit_cpu_s']:.2f} s on {threads} threads")
    print(f"   {row['passes_per_run_day']:.2f} passes over the data per run-day (Newton: 2 is its floor)")
    print(f"   {row['updates']:.3g} updates (event × run × pass), {ns:.2f} ns CPU per update")
    if row.get("pass_ns"):
        floor = row["updates"] * row["pass_ns"] * 1e-9 / row["threads"]
        print(
            f"   floor: the kernel's pass alone runs at {row['pass_ns']:.2f} ns per update, so these updates "
            f"need at least {floor:.2f} s of wall time on {row['threads']} threads (the fits took "
            f"{row['fit_wall_s']:.2f} s: {row['fit_wall_s'] / floor:.2f}× the floor)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short presets and ladders")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--only", choices=["scale"], help="only these rows (scale: issue 15's 150 m rows)")
    ap.add_argument("--before", help="scale rows: also measure the presets' memory with this source tree")
    args = ap.parse_args()
    q = args.quick
    report: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": q,
        "sections": {},
    }
    measure({"preset": "baltimore-agg", "days": 2, "runs": 1})  # fills numba's on-disk cache once
    if args.only == "scale":
        report["sections"].update(scale(q, args.before))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.out}")
        return

    presets = []
    for name in ("baltimore-agg", "chicago-theft"):
        spec = {"preset": name, "write": True, "label": f"{name} (full preset, results written)"}
        if q:
            spec.update(days=30, label=f"{name} (30 days, results written)")
        presets.append(measure({**spec, "floor": name == "chicago-theft"}))
        # the algorithms one after the other in one process (workers=1), for comparison
        serial = spec["label"].replace("(", "(one process, ")
        presets.append(measure({**spec, "workers": 1, "label": serial}))
        # the same job on a machine's very first run: numba compiles the kernels (empty cache)
        presets.append(measure({**spec, "cold": True, "label": spec["label"].replace("(", "(first run, ")}))
    show("presets (whole job: import, load, simulate, write)", presets)
    report["sections"]["presets"] = presets
    show_fits(presets[3])
    report["sections"]["paper_sweep"] = paper_sweep(q)

    days = 100 if not q else 20
    ladders = {
        "runs": [
            {
                "preset": "baltimore-agg",
                "days": days,
                "runs": r,
                "label": f"baltimore-agg runs={r} days={days}",
                "runs_size": r,
            }
            for r in ((1, 5, 20, 80) if not q else (1, 5, 20))
        ],
        "days": [
            {
                "preset": "baltimore-agg",
                "days": d,
                "runs": 20,
                "label": f"baltimore-agg runs=20 days={d}",
                "days_size": d,
            }
            for d in ((30, 100, 300) if not q else (10, 30))
        ],
        # incident-heavy: Chicago PredPol, whose daily EM is linear in the incidents of its window
        "incidents": [
            {
                "preset": "chicago-theft",
                "algorithms": ["PredPol"],
                "days": 30 if not q else 5,
                "runs": 5,
                "copies": c,
                "label": f"chicago-theft PredPol incidents x{c}",
                "incidents_size": c,
            }
            for c in ((1, 2, 4) if not q else (1, 2))
        ],
    }
    for key, specs in ladders.items():
        rows = [measure(s) for s in specs]
        show(f"ladder over {key} (growth = sim time ratio; linear = size ratio)", rows, key)
        report["sections"][f"ladder_{key}"] = rows

    d, r = (30, 4) if not q else (4, 2)
    pair = [
        measure(
            {
                "preset": "baltimore-agg",
                "days": d,
                "runs": r,
                "engine": e,
                "label": f"baltimore-agg runs={r} days={d} {e} engine",
            }
        )
        for e in ("fast", "reference")
    ]
    show("fast vs plain reference engine (same scenario)", pair)
    ratio = pair[1]["sim_s"] / pair[0]["sim_s"]
    print(f"reference / fast simulation time: {ratio:.1f}×")
    report["sections"]["fast_vs_reference"] = {"rows": pair, "speedup": ratio}

    acc = fit_accuracy((30, 120) if not q else (10,), runs=2)
    print("\n== PredPol's daily refits at the default tol against a refit to tol 1e-10 (chicago-theft)")
    print(f"{'solver':>7s} {'days':>5s} {'fits':>5s}   relative error (median / 95 % / max); L short of max")
    for row in acc:
        parts = "   ".join(
            f"{k} {row[k]['median']:.1e} / {row[k]['p95']:.1e} / {row[k]['max']:.1e}"
            for k in ("theta", "omega", "forecast")
        )
        ll = f"L {row['loglik']['median']:.1e} / {row['loglik']['max']:.1e}"
        print(f"{row['solver']:>7s} {row['days']:5d} {row['fits']:5d}   {parts}   {ll}")
    report["sections"]["fit_accuracy"] = acc

    report["sections"].update(scale(q, args.before))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
