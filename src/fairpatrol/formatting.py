"""Numbers for people: the one place that turns values into text for reports, terminal tables and analyses.

Rules (docs/report.md, "Page, size and checks": numbers for people):

* never scientific notation: 0.000236 prints as ``0.00024``, 23,000 as ``23,000``;
* shares are percent (``12 %``), a difference of two shares is in percentage points (``3.1 percentage
  points``, ``3.1 pp`` in tables), a ratio is "times" (``1.4 times``, ``1.4×`` in tables);
* a value shown with its 95 % interval gets the digits its interval supports: the half-width is rounded
  to one significant digit (two when it starts with 1 or 2) and the value to the same decimal place;
* undefined values say why instead of printing ``nan`` or ``inf`` (``n/a``, ``unbounded``).

A leaf module (numpy only): the report, the command line, the sweep analysis and the audit datasheet all
import it. Units are those of :data:`fairpatrol.metrics.registry.UNITS`.
"""

from __future__ import annotations

import math
from typing import Any

#: A no-break space: a number and its unit never wrap onto two lines.
NBSP = "\u00a0"
#: How each unit of the metric registry is scaled and suffixed for display.
#: unit -> (scale, short suffix (tables), long suffix (sentences))
DISPLAY: dict[str, tuple[float, str, str]] = {
    "share": (100.0, NBSP + "%", NBSP + "%"),
    "points": (100.0, NBSP + "pp", NBSP + "percentage points"),
    "ratio": (1.0, "×", NBSP + "times"),
    "index": (1.0, "", ""),
    "count": (1.0, "", ""),
}
NA = "n/a"
#: The smallest magnitude printed with its digits; anything smaller (but not 0) prints as "< 0.000001".
TINY = 1e-6


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def decimals_for_digits(value: float, digits: int) -> int:
    """Decimal places that show ``value`` with ``digits`` significant digits (0 for large values)."""
    if value == 0 or not math.isfinite(value):
        return 0
    mag = math.floor(math.log10(abs(value)))
    return max(digits - 1 - mag, 0)


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimal places, thousands separated, never scientific; −0 prints 0."""
    text = f"{value:,.{max(decimals, 0)}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return text.replace("-", "−")


def number(value: Any, digits: int = 2) -> str:
    """``value`` with ``digits`` significant digits and thousands separators, never scientific notation.

    Examples
    --------
    >>> number(0.000236), number(23456.7), number(1.0), number(float("nan"))
    ('0.00024', '23,457', '1', 'n/a')
    """
    if not _finite(value):
        return unbounded(value)
    v = float(value)
    if v == 0:
        return "0"
    if abs(v) < TINY:
        return ("−" if v < 0 else "") + "< 0.000001"
    text = fixed(v, decimals_for_digits(v, digits))
    return text.rstrip("0").rstrip(".") if "." in text else text


def unbounded(value: Any) -> str:
    """Text for a value that is not a finite number: ``unbounded`` for ±inf, else ``n/a``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return NA
    if math.isinf(v):
        return "unbounded" if v > 0 else "−unbounded"
    return NA


def _plain(x: float, unit: str) -> str:
    """A value already scaled for display, without its suffix."""
    if unit in ("share", "points"):
        return fixed(x, 1) if abs(x) >= 1 else number(x, 2)
    if unit == "ratio":
        return number(x, 2 if abs(x) < 10 else 3)
    if unit == "count":
        return fixed(x, 0) if abs(x) >= 1 or x == 0 else number(x, 2)
    return number(x, 3)


def percent(share: Any) -> str:
    """A share (0–1) in percent: one decimal from 1 % up (``72.4 %``), two significant digits below
    (``0.46 %``); ``0 %`` for exactly zero."""
    return value(share, "share")


def points(diff: Any, long: bool = False) -> str:
    """A difference of two shares in percentage points (``3.1 pp``, or ``3.1 percentage points``)."""
    return value(diff, "points", long=long)


def times(ratio: Any, long: bool = True) -> str:
    """A ratio as ``1.4 times`` (``1.4×`` when ``long`` is False); two significant digits below 10."""
    return value(ratio, "ratio", long=long)


def interval_decimals(lo: float, hi: float) -> int | None:
    """Decimal places an interval [lo, hi] supports: its half-width rounded to one significant digit (two
    when the first digit is 1 or 2). None when the interval is missing or empty."""
    if not (_finite(lo) and _finite(hi)):
        return None
    half = (float(hi) - float(lo)) / 2
    if half <= 0:
        return None
    mag = math.floor(math.log10(half))
    lead = half / 10.0**mag
    extra = 1 if lead < 3 else 0
    return int(min(max(-mag + extra, 0), 6))


def difference_unit(unit: str) -> str:
    """The unit of a difference of two values: percentage points for shares, a plain number for ratios
    (1.4× − 1.1× is 0.3, not 0.3×)."""
    return {"share": "points", "ratio": "index"}.get(unit, unit)


def scaled(value: Any, unit: str) -> float:
    scale = DISPLAY[unit][0]
    return float(value) * scale if _finite(value) else float("nan")


def value(v: Any, unit: str, *, long: bool = False, decimals: int | None = None) -> str:
    """One value of a registry ``unit`` as text (percent, percentage points, times, index, count).

    Examples
    --------
    >>> value(0.724, "share"), value(0.0046, "share"), value(0.031, "points", long=True)
    ('72.4\xa0%', '0.46\xa0%', '3.1\xa0percentage points')
    >>> value(1.4321, "ratio", long=True), value(0.8436, "index"), value(12345.0, "count")
    ('1.4\xa0times', '0.844', '12,345')
    """
    if unit not in DISPLAY:
        raise KeyError(f"unknown unit {unit!r}; known: {', '.join(DISPLAY)}")
    if not _finite(v):
        return unbounded(v)
    scale, short, longer = DISPLAY[unit]
    x = float(v) * scale
    text = _plain(x, unit) if decimals is None else fixed(x, decimals)
    return text + (longer if long else short)


def with_interval(mean: Any, lo: Any, hi: Any, unit: str, *, long: bool = False, style: str = "range") -> str:
    """``mean`` with its 95 % interval, digits matched to the interval.

    ``style`` ``range``: ``12.3 % (11.8 to 12.9 %)``; ``pm``: ``12.3 ± 0.6 %``. Without an interval (one
    run) the value is printed alone with ``(one run: no interval)`` when ``long``.
    """
    if not _finite(mean):
        return unbounded(mean)
    dec = interval_decimals(scaled(lo, unit), scaled(hi, unit)) if unit in DISPLAY else None
    if dec is None:
        text = value(mean, unit, long=long)
        return text + (" (one run: no interval)" if long and not (_finite(lo) and _finite(hi)) else "")
    scale, short, longer = DISPLAY[unit]
    suffix = longer if long else short
    m, a, b = (float(x) * scale for x in (mean, lo, hi))
    if style == "pm":
        return f"{fixed(m, dec)} ± {fixed((b - a) / 2, dec)}{suffix}"
    return f"{fixed(m, dec)}{suffix} ({fixed(a, dec)} to {fixed(b, dec)}{suffix})"


def signed(v: Any, unit: str, *, long: bool = False) -> str:
    """A difference with its sign (``+1.2 pp``, ``−0.4×``)."""
    if not _finite(v):
        return unbounded(v)
    text = value(abs(float(v)), unit, long=long)
    return ("−" if float(v) < 0 else "+") + text


def p_value(p: Any) -> str:
    """A p-value: ``< 0.001`` below a thousandth, else three decimals."""
    if not _finite(p):
        return NA
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def natural_key(text: Any) -> tuple:
    """Sort key that orders numbers inside text numerically: ``N40_r0`` before ``N400_r0``."""
    import re

    parts = re.split(r"(\d+(?:\.\d+)?)", str(text))
    return tuple((0, float(p), "") if i % 2 else (1, 0.0, p) for i, p in enumerate(parts) if p != "")
