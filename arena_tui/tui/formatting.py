"""How numbers read on screen: fixed-width text for prices, money, percentages and sparklines.

Every function returns a plain ``str`` (the widgets decide the colour from the theme) and renders
``None`` or NaN as an en dash, so a missing figure never shows as ``nan``. Prices and money are USD.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Sequence

MISSING = "–"
PENDING = "…"
"""A figure not computed yet (the indicators while they compile), as against a missing one."""
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def price(value: float | None, width: int | None = None) -> str:
    """A price with as many decimals as its size needs: ``106,512.3``, ``3,901.45``, ``2.4113``,
    ``0.18432``, ``0.00068``; under 0.0001 four significant digits (``0.00001234``: a live exchange's
    small coins, which five decimals would show as ``0.00001``).

    ``width``: the most cells the text may take (a table column's width): a longer figure loses
    decimals (``0.0000123``, ``123,457``), then its thousands separators, then becomes scientific with
    at most three significant digits (``8.42e-5``, ``-7.60e-5``), so a column never cuts it nor runs
    into the next one. Indicators (MACD, ATR) in quote currency (USD) read the same way."""
    text = _price(value)
    if width is None or len(text) <= width or _missing(value):
        return text
    return _fit(value, width)


def _price(value: float | None) -> str:
    if _missing(value):
        return MISSING
    a = abs(value)
    if a >= 10_000:
        return f"{value:,.1f}"
    if a >= 100:
        return f"{value:,.2f}"
    if a >= 1:
        return f"{value:,.4f}"
    if a >= 0.0001 or a == 0:  # 5 decimals keep at least 2 significant digits
        return f"{value:,.5f}"
    return f"{value:.{min(12, 3 - math.floor(math.log10(a)))}f}"


def _fit(value: float, width: int) -> str:
    """``value`` in at most ``width`` cells (see ``price``); the shortest form when none fits."""
    a = abs(value)
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    if a >= 1:
        for decimals in range(3, -1, -1):
            text = f"{value:,.{decimals}f}"
            if len(text) <= width:
                return text
        text = f"{value:.0f}"
        if len(text) <= width:
            return text
    else:
        text = f"{value:.{2 - math.floor(math.log10(a))}f}"  # three significant digits
        if len(text) <= width and float(text) != 0:
            return text
    for digits in (2, 1, 0):
        mantissa, exponent = f"{value:.{digits}e}".split("e")
        text = f"{mantissa}e{int(exponent):+d}" if int(exponent) > 0 else f"{mantissa}e{int(exponent)}"
        if len(text) <= width:
            return text
    return text


def money(value: float | None, *, sign: bool = False) -> str:
    """USD with cents: ``$10,012.55``; ``sign=True`` gives ``+$12.55`` / ``-$3.10``."""
    if _missing(value):
        return MISSING
    if sign:
        return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"
    return f"${value:,.2f}" if value >= 0 else f"-${abs(value):,.2f}"


def percent(value: float | None, *, decimals: int = 2, sign: bool = True) -> str:
    """A figure already in percent: ``+1.23%``."""
    if _missing(value):
        return MISSING
    return f"{value:+.{decimals}f}%" if sign else f"{value:.{decimals}f}%"


def rate(value: float | None) -> str:
    """A funding rate given as a fraction, shown in percent with 4 decimals: ``+0.0100%``."""
    if _missing(value):
        return MISSING
    return f"{value * 100:+.4f}%"


def compact(value: float | None) -> str:
    """Large counts (open interest, in the base coin) as ``585.7M`` / ``30.0K``."""
    if _missing(value):
        return MISSING
    a = abs(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.0f}"


def number(value: float | None, decimals: int = 2) -> str:
    """A plain figure (RSI, Sharpe ratio): ``54.21``."""
    if _missing(value):
        return MISSING
    return f"{value:,.{decimals}f}"


def ratio(value: float | None) -> str:
    """A ratio (Sharpe) in at most 6 cells: ``1.23``, ``-12.3``, ``-234``, ``1.2e+05``."""
    if _missing(value):
        return MISSING
    a = abs(value)
    if a < 10:
        return f"{value:.2f}"
    if a < 100:
        return f"{value:.1f}"
    if a < 100_000:
        return f"{value:.0f}"
    return f"{value:.0e}"


def quantity(value: float | None) -> str:
    """A position size in the base coin, at most 8 cells, trailing zeros dropped: ``0.108122``,
    ``1.8711``, ``11.183``, ``250.5``, ``22,942``."""
    if _missing(value):
        return MISSING
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    decimals = 2 if a >= 100 else 3 if a >= 10 else 4 if a >= 1 else 6
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def leverage(value: float | None) -> str:
    """``10x``, ``2.5x``."""
    if _missing(value):
        return MISSING
    return f"{value:g}x"


def side(value: int) -> str:
    """+1 -> ``long``, -1 -> ``short``."""
    return "long" if value > 0 else "short"


def sim_time(ms: int | None) -> str:
    """Simulated clock, ms since the epoch -> ``2025-10-17 04:05 UTC``."""
    if ms is None or ms <= 0:
        return MISSING
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def short_time(ms: int) -> str:
    """``10-17 04:05`` (UTC), for cycle rules in the reasoning panes."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%m-%d %H:%M")


def wall_time(epoch_s: float) -> str:
    """Wall clock, seconds since the epoch -> ``12:00:03 UTC``."""
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).strftime("%H:%M:%S UTC")


def countdown(seconds: float | None) -> str:
    """Seconds until the next cycle -> ``2:05`` (``–`` when none is scheduled)."""
    if seconds is None:
        return MISSING
    s = max(0, math.ceil(seconds))
    return f"{s // 60}:{s % 60:02d}"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters scaled between their min and max
    (a flat series is a row of mid blocks); shorter series are right-aligned with spaces."""
    vals = [v for v in values[-width:] if not _missing(v)]
    if not vals:
        return " " * width
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        line = SPARK_BLOCKS[3] * len(vals)
    else:
        top = len(SPARK_BLOCKS) - 1
        line = "".join(SPARK_BLOCKS[round((v - lo) / (hi - lo) * top)] for v in vals)
    return line.rjust(width)


def agent_label(name: str, kind: str | None) -> str:
    """The name shown for an agent: a rule-based agent is labelled ``(rule-based)`` wherever it
    appears (unless its name already says so)."""
    if kind == "rule-based" and "rule-based" not in name:
        return f"{name} (rule-based)"
    return name


def usd_small(value: float | None) -> str:
    """A model's cost in USD in at most 7 cells: ``0.0123``, ``1.234``, ``12.35``, ``1,234``,
    ``12.3K`` (a journal's absurd figure too: ``1.0e+300``); ``0`` for nothing spent."""
    if _missing(value):
        return MISSING
    if value == 0:
        return "0"
    a = abs(value)
    if a < 1:
        return f"{value:.4f}"
    if a < 10:
        return f"{value:.3f}"
    if a < 1000:
        return f"{value:.2f}"
    if a < 10_000:
        return f"{value:,.0f}"
    if a < 1e12:
        return compact(value)
    return f"{value:.1e}"

