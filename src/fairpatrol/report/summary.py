"""The plain-language findings at the top of a report, computed from the study's numbers.

Nothing here is written in advance about a result: every sentence is assembled from ``summary.csv`` (means
over runs and 95 % t-intervals of each run's level and trend, SPEC §7) and from paired per-run differences
computed from ``metrics.parquet``.

* **Most accurate / fairest**: per scenario, the algorithm with the best mean level (highest coverage
  accuracy; lowest gap or Gini). Its margin over the runner-up is the mean of the per-run differences
  (runs are paired: run k of every algorithm shares its reporting coins) with a 95 % t-interval; the
  margin is called *clear* when that interval excludes 0.
* **Did bias grow?** A metric grew (shrank) in a scenario when the 95 % interval of its per-run
  least-squares slope lies above (below) zero; otherwise there is no clear trend. The change over the
  horizon is slope × (days − 1). Each statement is a separate test at the 95 % level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fairpatrol.metrics import HEADLINE, mean_interval
from fairpatrol.report.load import RunResults

FAIRNESS = tuple(m for m in HEADLINE if m != "accuracy")


def sig(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` significant digits (at least one decimal kept for numbers ≥ 1)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    mag = math.floor(math.log10(abs(value)))
    if mag < -4:
        return f"{value:.{digits - 1}e}"
    decimals = max(digits - 1 - mag, 0)
    return f"{value:,.{decimals}f}"


def pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.1f} %"


def share(value: float) -> str:
    """A small share as a percentage with two significant digits (0.46 %)."""
    return "n/a" if not np.isfinite(value) else f"{sig(100 * value)} %"


def join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def points(value: float) -> str:
    """A share difference in percentage points."""
    return "n/a" if not np.isfinite(value) else f"{sig(100 * value, 3)} pp"


@dataclass(frozen=True)
class MetricInfo:
    """How a headline metric is named, explained and printed."""

    name: str
    title: str
    meaning: str
    higher_is_better: bool
    fmt: Callable[[float], str]
    diff_fmt: Callable[[float], str] | None = None  # for differences (percent → percentage points)
    short: str = ""

    @property
    def label(self) -> str:
        """The title for use inside a sentence."""
        return self.short or self.title.lower()

    def interval(self, mean: float, lo: float, hi: float) -> str:
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return f"{self.fmt(mean)} (no interval: fewer than 2 runs)"
        return f"{self.fmt(mean)} (95 % interval {self.fmt(lo)} to {self.fmt(hi)})"


def metric_info(group_pair: tuple[str, str]) -> dict[str, MetricInfo]:
    """Names and meanings of the headline metrics for the study's two groups of areas."""
    g1, g2 = group_pair
    return {
        "accuracy": MetricInfo(
            "accuracy",
            "Coverage accuracy",
            "the share of each day's crimes that the patrols detected",
            True,
            pct,
            lambda v: "n/a" if not np.isfinite(v) else f"{100 * v:.1f} pp",
            "coverage accuracy",
        ),
        "share_gap": MetricInfo(
            "share_gap",
            "Police-share gap",
            f"how far apart the average {g1} and the average {g2} area are in their share of the officers "
            "(percentage points)",
            False,
            points,
        ),
        "pcr_gap": MetricInfo(
            "pcr_gap",
            "Police-to-crime gap",
            f"how far apart {g1} and {g2} areas are in police share divided by crime share (1 = police in "
            "proportion to crime)",
            False,
            sig,
            short="police-to-crime gap",
        ),
        "gini_police": MetricInfo(
            "gini_police",
            "Gini of officers",
            "how unequally officers are spread over areas (0 = every area the same, 1 = all in one area)",
            False,
            sig,
            short="Gini of officers",
        ),
        "gini_pcr": MetricInfo(
            "gini_pcr",
            "Gini of police-to-crime ratio",
            "how unequally police are spread relative to crime (0 = every area policed in proportion to "
            "its crime)",
            False,
            sig,
            short="Gini of the police-to-crime ratio",
        ),
    }


@dataclass
class Finding:
    """One plain statement with the per-scenario numbers behind it."""

    key: str
    title: str
    headline: str
    details: list[str] = field(default_factory=list)


def levels(res: RunResults, metric: str, statistic: str = "level") -> pd.DataFrame:
    """summary.csv rows of one metric and statistic: scenario, algorithm, mean, ci_low, ci_high."""
    return res.levels(metric, statistic)


def paired_difference(
    res: RunResults, metric: str, scenario: str, a: str, b: str
) -> tuple[float, float, float]:
    """Mean and 95 % interval over runs of (run level of ``a``) − (run level of ``b``) in ``scenario``."""
    lv = res.run_levels(metric)
    lv = lv[lv["scenario"] == scenario].pivot(index="run", columns="algorithm", values="value")
    return mean_interval((lv[a] - lv[b]).to_numpy())


@dataclass(frozen=True)
class Winner:
    scenario: str
    algorithm: str
    mean: float
    ci_low: float
    ci_high: float
    runner_up: str | None
    margin: tuple[float, float, float]  # paired difference winner − runner-up (mean, lo, hi)

    @property
    def clear(self) -> bool:
        _, lo, hi = self.margin
        return bool(np.isfinite(lo) and (lo > 0 or hi < 0))


def winners(res: RunResults, metric: str, higher_is_better: bool) -> list[Winner]:
    """The best algorithm on ``metric`` in each scenario and its paired margin over the runner-up."""
    lv = levels(res, metric)
    out = []
    for scenario in res.scenarios:
        sc = lv[lv["scenario"] == scenario].dropna(subset=["mean"])
        if sc.empty:
            continue
        sc = sc.sort_values("mean", ascending=not higher_is_better, kind="stable")
        best = sc.iloc[0]
        runner = sc.iloc[1]["algorithm"] if len(sc) > 1 else None
        margin = (
            paired_difference(res, metric, scenario, best["algorithm"], runner)
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


def best_finding(res: RunResults, metric: str, info: MetricInfo) -> Finding:
    """Which algorithm was best on ``metric`` in how many scenarios, with its values and margins."""
    ws = winners(res, metric, info.higher_is_better)
    if not ws:
        return Finding(metric, info.title, f"No values of {info.label} were recorded.")
    top, n = _most_wins(ws)
    own = [w for w in ws if w.algorithm == top]
    if metric == "accuracy":
        headline = (
            f"{top} was the most accurate in {_scenarios(n, len(ws))}, detecting "
            f"{_span(info, [w.mean for w in own])} of the crimes"
        )
    else:
        values = _span(info, [w.mean for w in own])
        headline = f"{top} had the lowest {info.label} in {_scenarios(n, len(ws))} ({values})"
    if len(res.algorithms) > 1:
        clear = sum(w.clear for w in own)
        headline += (
            f"; its lead over the next best algorithm is clear (95 % interval of the paired difference "
            f"excludes zero) in {clear} of {len(own)}."
        )
    else:
        headline += " (the only algorithm in this study)."
    details = []
    for w in ws:
        text = f"{res.scenario_label(w.scenario)}: {w.algorithm} {info.interval(w.mean, w.ci_low, w.ci_high)}"
        if w.runner_up is not None:
            m, lo, hi = w.margin
            text += f"; {_difference(info, m, lo, hi)} than {w.runner_up}"
            text += "" if w.clear else " (not a clear difference)"
        details.append(text + ".")
    return Finding(metric, info.title, headline, details)


def _difference(info: MetricInfo, m: float, lo: float, hi: float) -> str:
    fmt = info.diff_fmt or info.fmt
    word = "higher" if m > 0 else "lower"
    span = f" [{_signed(fmt, lo)}, {_signed(fmt, hi)}]" if np.isfinite(lo) else ""
    return f"{fmt(abs(m))} {word}{span}"


def _signed(fmt: Callable[[float], str], v: float) -> str:
    return ("−" if v < 0 else "+") + fmt(abs(v))


def trend_direction(lo: float, hi: float) -> str:
    """'grew', 'shrank' or 'no clear trend' from a slope's 95 % interval."""
    if np.isfinite(lo) and lo > 0:
        return "grew"
    if np.isfinite(hi) and hi < 0:
        return "shrank"
    return "no clear trend"


def trend_table(res: RunResults) -> pd.DataFrame:
    """Per (metric, scenario, algorithm): slope interval, change over the horizon and its direction."""
    span = max(len(res.dates) - 1, 1)
    frames = []
    for metric in HEADLINE:
        t = levels(res, metric, "slope")
        t.insert(0, "metric", metric)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    for col, src in (("change", "mean"), ("change_low", "ci_low"), ("change_high", "ci_high")):
        out[col] = out[src] * span
    out["direction"] = [trend_direction(lo, hi) for lo, hi in zip(out["ci_low"], out["ci_high"], strict=True)]
    return out


def bias_finding(res: RunResults, infos: dict[str, MetricInfo]) -> Finding:
    """Whether the gaps and Ginis grew over the horizon, counted per algorithm over scenarios × measures."""
    trends = trend_table(res)
    trends = trends[trends["metric"].isin(FAIRNESS)]
    n_scen = len(res.scenarios)
    days = len(res.dates)
    cases = n_scen * len(FAIRNESS)
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
            f"Bias grew over the {days} simulated days under {join(parts)}: the number of scenario × "
            f"measure combinations (gaps and Ginis) whose 95 % trend interval lies above zero."
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
        for metric in FAIRNESS:
            tm = ta[ta["metric"] == metric]
            g = int((tm["direction"] == "grew").sum())
            s = int((tm["direction"] == "shrank").sum())
            pieces.append(
                f"{infos[metric].label} grew in {g} of {n_scen}" + (f", shrank in {s}" if s else "")
            )
        details.append(f"{alg}: " + "; ".join(pieces) + ".")
    up = trends[trends["direction"] == "grew"]
    if not up.empty:
        lv = pd.concat([levels(res, m).assign(metric=m) for m in FAIRNESS], ignore_index=True)
        up = up.merge(lv, on=["metric", "scenario", "algorithm"], suffixes=("", "_level"))
        up = up.assign(rel=up["change"] / up["mean_level"].abs())
        ex = up.loc[up["rel"].idxmax()]
        info = infos[ex["metric"]]
        details.insert(
            0,
            f"Largest growth relative to its level: the {info.label} under {ex['algorithm']} with "
            f"{res.scenario_label(ex['scenario'])} rose by {info.fmt(ex['change'])} over the period "
            f"(95 % interval {_signed(info.fmt, ex['change_low'])} to "
            f"{_signed(info.fmt, ex['change_high'])}), "
            f"{ex['rel']:.0%} of its average {info.fmt(ex['mean_level'])}.",
        )
    return Finding("trend", "Did bias grow", headline, details)


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


def findings(res: RunResults) -> list[Finding]:
    """The report's summary: accuracy, fairness on each metric, direction of the gap, trend of bias."""
    infos = metric_info(res.group_pair)
    out = [best_finding(res, "accuracy", infos["accuracy"])]
    out += [best_finding(res, m, infos[m]) for m in FAIRNESS]
    direction = direction_finding(res)
    if direction is not None:
        out.append(direction)
    out.append(bias_finding(res, infos))
    return out
