"""The plain-language findings of a report, computed from the study's numbers.

Nothing here is written in advance about a result: every sentence is assembled from ``summary.csv`` (means
over runs and 95 % t-intervals of each run's level, trend or horizon value; docs/methods.md) and from
paired per-run differences computed from ``metrics.parquet`` and ``horizon.parquet``.

* **Best on a measure**: per scenario, the algorithm with the best mean, where "best" is the measure's
  direction in the metric registry (highest, lowest, or closest to 1 for ratios: by |log ratio|). Its
  margin over the runner-up is the mean of the per-run paired differences (runs are paired: run k of every
  algorithm shares its random streams) of the compared values, with a 95 % t-interval; the margin is
  called *clear* when that interval excludes 0.
* **Did it grow?** A daily measure grew (shrank) in a scenario when the 95 % interval of its per-run
  least-squares slope lies above (below) zero; otherwise there is no clear trend. The change over the
  horizon is slope × (days − 1). Each statement is a separate test at the 95 % level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fairpatrol.formatting import difference_unit, join, number, percent, value, with_interval
from fairpatrol.metrics import mean_interval
from fairpatrol.metrics.registry import REGISTRY, metric, rank_score
from fairpatrol.metrics.registry import headline as headline_metrics
from fairpatrol.results.run import RunResults

#: The study's fairness metrics (published-study family, ranked: lower is better).
FAIRNESS = tuple(m for m in headline_metrics() if metric(m).family == "study" and m != "accuracy")
#: The need-based headline metrics.
NEED = tuple(m for m in headline_metrics() if metric(m).family == "need")


def sig(v: float, digits: int = 2) -> str:
    """``v`` with ``digits`` significant digits (never scientific notation)."""
    return number(v, digits)


def pct(v: float) -> str:
    return percent(v)


def share(v: float) -> str:
    return percent(v)


def unit_of(name: str) -> tuple[str, float]:
    """Axis suffix and scale of a metric by its registry unit (shares in %, differences of shares in
    percentage points, ratios as ×)."""
    return {"share": (" (%)", 100.0), "points": (" (pp)", 100.0), "ratio": (" (×)", 1.0)}.get(
        metric(name).unit, ("", 1.0)
    )


@dataclass(frozen=True)
class MetricInfo:
    """How a registry metric is named, explained and printed in a report (group names filled in)."""

    name: str
    title: str
    meaning: str
    better: str
    unit: str
    caveat: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.better == "higher"

    @property
    def label(self) -> str:
        """The title for use inside a sentence."""
        return (
            self.title[0].lower() + self.title[1:] if self.title[:2] != self.title[:2].upper() else self.title
        )

    def fmt(self, v: float) -> str:
        return value(v, self.unit)

    def diff_fmt(self, v: float) -> str:
        return value(v, difference_unit(self.unit))

    def interval(self, mean: float, lo: float, hi: float) -> str:
        return with_interval(mean, lo, hi, self.unit, long=True)


def metric_info(group_pair: tuple[str, str]) -> dict[str, MetricInfo]:
    """Every registry metric's title and meaning with the study's two compared groups named."""
    out = {}
    for name, m in REGISTRY.items():
        title, meaning = m.text(group_pair)
        out[name] = MetricInfo(name, title, meaning, m.better, m.unit, m.caveat)
    return out


@dataclass
class Finding:
    """One plain statement with the per-scenario numbers behind it."""

    key: str
    title: str
    headline: str
    details: list[str] = field(default_factory=list)


def levels(res: RunResults, metric_name: str, statistic: str | None = None) -> pd.DataFrame:
    """summary.csv rows of one metric: scenario, algorithm, mean, ci_low, ci_high (a horizon metric's
    value, a daily metric's level unless ``statistic`` says otherwise)."""
    return res.levels(metric_name, statistic)


def compared(name: str, values) -> np.ndarray:
    """The values paired margins are computed on: the value, or its distance from 1 (ratios) or 0."""
    v = np.asarray(values, dtype=float)
    return rank_score(name, v) if metric(name).better in ("closer to 1", "closer to 0") else v


def paired_difference(
    res: RunResults, name: str, scenario: str, a: str, b: str
) -> tuple[float, float, float]:
    """Mean and 95 % interval over runs of (run value of ``a``) − (run value of ``b``) in ``scenario``, on
    :func:`compared` values."""
    lv = res.run_levels(name)
    lv = lv[lv["scenario"] == scenario].pivot(index="run", columns="algorithm", values="value")
    with np.errstate(invalid="ignore"):  # two unbounded distances (a ratio of 0 each) differ by NaN
        return mean_interval(compared(name, lv[a]) - compared(name, lv[b]))


@dataclass(frozen=True)
class Winner:
    scenario: str
    algorithm: str
    mean: float
    ci_low: float
    ci_high: float
    runner_up: str | None
    margin: tuple[float, float, float]  # paired difference winner − runner-up of compared values

    @property
    def clear(self) -> bool:
        _, lo, hi = self.margin
        return bool(np.isfinite(lo) and (lo > 0 or hi < 0))


def winners(res: RunResults, name: str) -> list[Winner]:
    """The best algorithm on ``name`` (by the registry's direction) in each scenario and its paired margin
    over the runner-up."""
    lv = levels(res, name)
    out = []
    for scenario in res.scenarios:
        sc = lv[lv["scenario"] == scenario].dropna(subset=["mean"])
        if sc.empty:
            continue
        sc = sc.assign(_score=rank_score(name, sc["mean"].to_numpy())).sort_values("_score", kind="stable")
        best = sc.iloc[0]
        runner = sc.iloc[1]["algorithm"] if len(sc) > 1 else None
        margin = (
            paired_difference(res, name, scenario, best["algorithm"], runner)
            if runner is not None
            else (np.nan, np.nan, np.nan)
        )
        out.append(
            Winner(scenario, best["algorithm"], best["mean"], best["ci_low"], best["ci_high"], runner, margin)
        )
    return out


def _most_wins(ws: list[Winner]) -> tuple[str, int]:
    counts = pd.Series([w.algorithm for w in ws]).value_counts()
    return str(counts.index[0]), int(counts.iloc[0])


def _scenarios(n: int, total: int) -> str:
    if total == 1:
        return "the only scenario"
    return "every scenario" if n == total else f"{n} of {total} scenarios"


def _span(info: MetricInfo, values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return info.fmt(lo) if np.isclose(lo, hi) else f"{info.fmt(lo)} to {info.fmt(hi)}"


BEST = {"higher": "highest", "lower": "lowest", "closer to 1": "closest to 1", "closer to 0": "closest to 0"}


def best_finding(res: RunResults, name: str, info: MetricInfo) -> Finding:
    """Which algorithm was best on ``name`` in how many scenarios, with its values and margins."""
    ws = winners(res, name)
    if not ws:
        return Finding(name, info.title, f"No values of {info.label} were recorded.")
    top, n = _most_wins(ws)
    own = [w for w in ws if w.algorithm == top]
    values = _span(info, [w.mean for w in own])
    if name == "accuracy":
        headline_text = (
            f"{top} was the most accurate in {_scenarios(n, len(ws))}, detecting {values} of the crimes"
        )
    else:
        headline_text = (
            f"{top} was {BEST[info.better]} on {info.label} in {_scenarios(n, len(ws))} ({values})"
        )
    if len(res.algorithms) > 1:
        clear = sum(w.clear for w in own)
        headline_text += (
            f"; its lead over the next best algorithm is clear (95 % interval of the paired difference "
            f"excludes zero) in {clear} of {len(own)}."
        )
    else:
        headline_text += " (the only algorithm in this study)."
    details = []
    for w in ws:
        text = f"{res.scenario_label(w.scenario)}: {w.algorithm} {info.interval(w.mean, w.ci_low, w.ci_high)}"
        if w.runner_up is not None:
            m, lo, hi = w.margin
            if info.better in ("higher", "lower"):
                text += f"; {_difference(info, m, lo, hi)} than {w.runner_up}"
            else:
                text += f"; {BEST[info.better].replace('closest', 'closer')} than {w.runner_up}"
            text += "" if w.clear else " (not a clear difference)"
        details.append(text + ".")
    return Finding(name, info.title, headline_text, details)


def _difference(info: MetricInfo, m: float, lo: float, hi: float) -> str:
    word = "higher" if m > 0 else "lower"
    span = f" [{_signed(info.diff_fmt, lo)}, {_signed(info.diff_fmt, hi)}]" if np.isfinite(lo) else ""
    return f"{info.diff_fmt(abs(m))} {word}{span}"


def _signed(fmt: Callable[[float], str], v: float) -> str:
    return ("−" if v < 0 else "+") + fmt(abs(v))


def trend_direction(lo: float, hi: float) -> str:
    """'grew', 'shrank' or 'no clear trend' from a slope's 95 % interval."""
    if np.isfinite(lo) and lo > 0:
        return "grew"
    if np.isfinite(hi) and hi < 0:
        return "shrank"
    return "no clear trend"


#: Daily measures whose trends the report shows: the study's headline and the 30-day disparity.
TRENDS = (*(m for m in headline_metrics() if metric(m).window == "day"), "disparity_factor_30d")


def trend_table(res: RunResults, metrics: tuple[str, ...] = TRENDS) -> pd.DataFrame:
    """Per (metric, scenario, algorithm): slope interval, change over the horizon and its direction."""
    span = max(len(res.dates) - 1, 1)
    frames = []
    for name in metrics:
        t = levels(res, name, "slope")
        t.insert(0, "metric", name)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    for col, src in (("change", "mean"), ("change_low", "ci_low"), ("change_high", "ci_high")):
        out[col] = out[src] * span
    out["direction"] = [trend_direction(lo, hi) for lo, hi in zip(out["ci_low"], out["ci_high"], strict=True)]
    return out


def bias_finding(
    res: RunResults,
    infos: dict[str, MetricInfo],
    measures: tuple[str, ...] = FAIRNESS,
    what: str = "gaps and Ginis",
    key: str = "trend",
    noun: str = "Bias",
) -> Finding:
    """Whether ``measures`` grew over the horizon, counted per algorithm over scenarios × measures."""
    trends = trend_table(res, measures)
    n_scen = len(res.scenarios)
    days = len(res.dates)
    cases = n_scen * len(measures)
    counts = {
        alg: (
            int((trends[trends["algorithm"] == alg]["direction"] == "grew").sum()),
            int((trends[trends["algorithm"] == alg]["direction"] == "shrank").sum()),
        )
        for alg in res.algorithms
    }
    grew = sorted((a for a in counts if counts[a][0]), key=lambda a: -counts[a][0])
    if grew:
        parts = [f"{a} ({counts[a][0]} of {cases})" for a in grew]
        headline = (
            f"{noun} grew over the {days} simulated days under {join(parts)}: the number of scenario × "
            f"measure combinations ({what}) whose 95 % trend interval lies above zero."
        )
        calm = [a for a in res.algorithms if not counts[a][0]]
        if calm:
            headline += f" No measure grew clearly under {join(calm)}."
    else:
        headline = f"No fairness measure showed a clear upward trend over the {days} simulated days."
    details = []
    for alg in res.algorithms:
        ta = trends[trends["algorithm"] == alg]
        pieces = []
        for name in measures:
            tm = ta[ta["metric"] == name]
            g = int((tm["direction"] == "grew").sum())
            s = int((tm["direction"] == "shrank").sum())
            pieces.append(f"{infos[name].label} grew in {g} of {n_scen}" + (f", shrank in {s}" if s else ""))
        details.append(f"{alg}: " + "; ".join(pieces) + ".")
    up = trends[trends["direction"] == "grew"]
    if not up.empty:
        lv = pd.concat([levels(res, m).assign(metric=m) for m in measures], ignore_index=True)
        up = up.merge(lv, on=["metric", "scenario", "algorithm"], suffixes=("", "_level"))
        up = up.assign(rel=up["change"] / up["mean_level"].abs())
        ex = up.loc[up["rel"].idxmax()]
        info = infos[ex["metric"]]
        details.insert(
            0,
            f"Largest growth relative to its level: the {info.label} under {ex['algorithm']} with "
            f"{res.scenario_label(ex['scenario'])} rose by {info.diff_fmt(ex['change'])} over the period "
            f"(95 % interval {_signed(info.diff_fmt, ex['change_low'])} to "
            f"{_signed(info.diff_fmt, ex['change_high'])}), "
            f"{percent(ex['rel'])} of its average {info.fmt(ex['mean_level'])}.",
        )
    title = "Did bias grow" if key == "trend" else "Did disparity against need grow"
    return Finding(key, title, headline, details)


def direction_finding(res: RunResults) -> Finding | None:
    """Which group receives more police per area, from the signed police-share gap."""
    lv = levels(res, "share_gap_signed")
    if lv.empty:
        return None
    g1, g2 = res.group_pair
    more = int((lv["mean"] > 0).sum())
    total = len(lv)
    if more in (0, total):
        hi, lo = (g1, g2) if more else (g2, g1)
        head = (
            f"In every scenario and algorithm the average {hi} area received more officers than the average "
            f"{lo} area."
        )
    else:
        head = (
            f"The average {g1} area received more officers than the average {g2} area in {more} of {total} "
            "scenario × algorithm combinations, fewer in the others."
        )
    shares = res.summary[
        (res.summary["statistic"] == "level") & res.summary["metric"].isin(["share_g1", "share_g2"])
    ]
    details = []
    for alg in res.algorithms:
        sa = shares[shares["algorithm"] == alg].groupby("metric")["mean"].mean()
        if {"share_g1", "share_g2"} <= set(sa.index):
            details.append(
                f"{alg}, averaged over scenarios: a {g1} area received {share(sa['share_g1'])} of the "
                "officers, "
                f"a {g2} area {share(sa['share_g2'])} (an equal split would give each of the "
                f"{res.areas.n} areas {share(1 / res.areas.n)})."
            )
    return Finding("direction", "Who gets more police", head, details)


def need_findings(res: RunResults) -> list[Finding]:
    """Fairness against need: the best algorithm on each need-based headline measure and on accuracy, and
    whether the worst group's 30-day disparity grew (empty for results written before these measures)."""
    infos = metric_info(res.group_pair)
    present = set(res.summary["metric"])
    out = [best_finding(res, m, infos[m]) for m in NEED if m in present]
    out.append(best_finding(res, "accuracy", infos["accuracy"]))
    if "disparity_factor_30d" in present:
        out.append(
            bias_finding(
                res, infos, ("disparity_factor_30d",), "the worst group's 30-day disparity", "need-trend"
            )
        )
    return out


def findings(res: RunResults) -> list[Finding]:
    """The published study's findings: fairness on each of its metrics, direction of the gap, trend of bias
    (accuracy is among the need-based findings)."""
    infos = metric_info(res.group_pair)
    out = [best_finding(res, m, infos[m]) for m in FAIRNESS]
    direction = direction_finding(res)
    if direction is not None:
        out.append(direction)
    out.append(bias_finding(res, infos))
    return out
