"""How much the treatment of date-only incidents moves PredPol's θ, ω and forecasts (docs/methods.md).

    python scripts/date_only_effect.py            # prints the Markdown table of docs/methods.md

PredPol is fitted on the 365 days before 2019-01-01 (and, for the synthetic data, on a year of simulated
events) three ways: with the times as recorded, with every time cut to its date and kept at midnight
(``time_resolution="exact"``: events of one day cannot excite each other, parents are whole days earlier),
and with the dates placed within their day (``time_resolution="day"``, the default for date-only data;
three seeds of the placement). The forecast shift is half the L1 distance between the forecast shares of
the areas (the share of officers a multinomial allocation would move) against the reference fit: the
recorded times where the data have them, else the placement with seed 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNTIL = pd.Timestamp("2019-01-01")
SEEDS = (0, 1, 2)


def _shares(model) -> np.ndarray:
    p = model.predict().to_numpy(dtype=float)
    return p / p.sum()


def _row(data: str, how: str, model, ref: np.ndarray | None) -> dict:
    shift = 0.5 * float(np.abs(_shares(model) - ref).sum()) if ref is not None else np.nan
    return {"data": data, "times": how, "theta": model.theta_, "omega": model.omega_, "shift": shift}


def compare(data: str, frame: pd.DataFrame, areas, *, has_times: bool, window: int = 365, until=UNTIL):
    from fairpatrol.models import PredPol

    rows = []
    dated = frame.assign(time=frame["time"].dt.normalize())
    ref = None
    if has_times:
        real = PredPol(window_days=window, time_resolution="exact").fit(frame, until=until, areas=areas)
        ref = _shares(real)
        rows.append(_row(data, "recorded times", real, ref))
    placed = [
        PredPol(window_days=window, time_resolution="day", random_state=s).fit(
            dated, until=until, areas=areas
        )
        for s in SEEDS
    ]
    ref = _shares(placed[0]) if ref is None else ref
    midnight = PredPol(window_days=window, time_resolution="exact").fit(dated, until=until, areas=areas)
    rows.append(_row(data, "dates at midnight", midnight, ref))
    for s, m in zip(SEEDS, placed, strict=True):
        rows.append(_row(data, f"dates placed within the day (seed {s})", m, ref))
    return rows


def main() -> None:
    from fairpatrol.data import load_areas, load_incidents
    from fairpatrol.synthetic import simulate_area_hawkes

    areas = load_areas("baltimore")
    rows = []
    events = simulate_area_hawkes(np.full(100, 0.05), theta=0.3, omega=2.0, days=730, seed=7)
    end = events["time"].max().normalize() + pd.Timedelta(days=1)
    rows += compare(
        "synthetic: θ = 0.3, ω = 2 per day, 100 areas", events, None, has_times=True, window=700, until=end
    )
    sample = load_incidents("baltimore-agg-assault", areas=areas).frame
    rows += compare("Baltimore aggravated assaults, 40 % sample", sample, areas, has_times=True)
    full = load_incidents("baltimore-agg-assault-full", areas=areas).frame
    rows += compare("Baltimore aggravated assaults, all (Part 1)", full, areas, has_times=False)
    part1 = load_incidents("baltimore-part1", areas=areas).frame
    rows += compare("Baltimore Part 1, all crime", part1, areas, has_times=False)
    print("| data | times | θ | ω per day | forecast shift |")
    print("|---|---|---|---|---|")
    for r in rows:
        shift = (
            "reference" if r["shift"] == 0 else "—" if np.isnan(r["shift"]) else f"{100 * r['shift']:.1f} %"
        )
        print(f"| {r['data']} | {r['times']} | {r['theta']:.4f} | {r['omega']:.3g} | {shift} |")


if __name__ == "__main__":
    main()
