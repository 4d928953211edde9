"""What each PredPol compat switch of the published code does to a fit (docs/paper-compat.md).

    python scripts/predpol_compat_effect.py       # prints the Markdown table of docs/paper-compat.md

PredPol is fitted on the 365 days before 2019-01-01 and refitted, warm-started, on the 365 days before
2019-01-02 (as the simulation's first two days), with fairpatrol's defaults, with each ``predpol_*``
switch of ``compat`` alone (the settings of :data:`fairpatrol.config.PREDPOL_COMPAT`; the switches that
need the EM solver bring it) and with all of them (``compat: semsar2026``). The table gives the second
fit's θ, ω (per day), the EM or Newton passes it took, and its forecast shift: half the L1 distance
between the areas' forecast shares and the default's (the share of officers a multinomial allocation
would move).
"""

from __future__ import annotations

import pandas as pd
from date_only_effect import UNTIL, _shares

DAY = pd.Timedelta(days=1)


def variants() -> dict[str, dict]:
    """The estimator settings of the default, of each switch alone and of all switches."""
    from fairpatrol.config import PREDPOL_COMPAT, CompatConfig

    out = {"default": {}}
    for switch in PREDPOL_COMPAT:
        out[switch] = CompatConfig(**{switch: True}).model_settings("PredPol")
    out["all (semsar2026)"] = CompatConfig(**dict.fromkeys(PREDPOL_COMPAT, True)).model_settings("PredPol")
    return out


def compare(data: str, frame: pd.DataFrame, areas) -> list[dict]:
    from fairpatrol.models import PredPol

    rows, ref = [], None
    for name, settings in variants().items():
        model = PredPol(warm_start=True, **settings)
        model.fit(frame, until=UNTIL, areas=areas)
        model.fit(frame, until=UNTIL + DAY, areas=areas)
        shares = _shares(model)
        ref = shares if ref is None else ref
        shift = 0.5 * float(abs(shares - ref).sum())
        fit = {"theta": model.theta_, "omega": model.omega_, "passes": model.n_iter_, "shift": shift}
        rows.append({"data": data, "setting": name, **fit})
    return rows


def main() -> None:
    from fairpatrol.data import load_areas, load_incidents

    areas = load_areas("baltimore")
    rows = []
    for name, label in (
        ("baltimore-agg-assault", "aggravated assaults, 40 % sample (recorded times)"),
        ("baltimore-agg-assault-full", "aggravated assaults, all (Part 1, dates)"),
    ):
        rows += compare(label, load_incidents(name, areas=areas).frame, areas)
    print("| data | setting | θ | ω per day | passes | forecast shift |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        shift = "reference" if r["setting"] == "default" else f"{100 * r['shift']:.1f} %"
        fit = f"{r['theta']:.4f} | {r['omega']:.3g} | {r['passes']}"
        print(f"| {r['data']} | {r['setting']} | {fit} | {shift} |")


if __name__ == "__main__":
    main()
