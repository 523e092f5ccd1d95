"""The equity chart: every agent's account value and the BTC buy-and-hold benchmark over the session,
drawn with Unicode braille characters (2 x 4 dots a cell), time on the x axis.

It draws ``ArenaState.equity`` (one value per standing per completed cycle, aligned with
``ArenaState.equity_times``). However long the session, a draw looks at most two points a dot column
(each column's lowest and highest value, so no spike is lost), so it stays cheap at 200 columns and
a month of cycles.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Sequence

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.component_style import text_style

if TYPE_CHECKING:
    from arena_tui.engine.state import ArenaState

BRAILLE = 0x2800
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The bit of the dot at (row 0-3, column 0-1) of a braille cell."""

SERIES_COLOURS = 7
"""Colours agents take in turn (``chart--s0`` ... ``chart--s6``); the benchmark has its own."""

BENCHMARK_MARK = "┄"
AGENT_MARK = "━"


@dataclass(frozen=True)
class Series:
    """One line of the chart: ``name`` (an agent, or the benchmark), its agent ``number`` (None for
    the benchmark), ``values`` (USD, aligned with the chart's times; NaN where it had no row) and its
    colour component (``chart--sN`` or ``chart--benchmark``)."""

    name: str
    number: int | None
    values: Sequence[float]
    component: str

    @property
    def last(self) -> float | None:
        """The last finite value (None when there is none)."""
        for v in reversed(self.values):
            if v == v:
                return float(v)
        return None


def series_of(state: ArenaState | None) -> list[Series]:
    """The chart's lines from ``state``: every agent in the session's order (agent n takes colour
    ``(n - 1) % SERIES_COLOURS``), then the BTC buy-and-hold benchmark."""
    if state is None:
        return []
    from arena_tui.engine.state import BENCHMARK_NAME

    out: list[Series] = []
    for number, name in enumerate(state.agents, start=1):
        values = state.equity.get(name)
        if values is not None:
            out.append(Series(name, number, values, f"chart--s{(number - 1) % SERIES_COLOURS}"))
    bench = state.equity.get(BENCHMARK_NAME)
    if bench is not None:
        out.append(Series(BENCHMARK_NAME, None, bench, "chart--benchmark"))
    return out


def column_extremes(times: Sequence[int], values: Sequence[float], columns: int) -> list[tuple[int, float, float, float, float]]:
    """``values`` (aligned with ascending ``times``, ms) bucketed into ``columns`` equal spans of
    time: (column, first, lowest, highest, last) of every column holding a finite value, left to
    right. This is the decimation: a draw never looks at more than ``columns`` buckets."""
    n = len(times)
    if n == 0 or columns <= 0:
        return []
    t0, t1 = times[0], times[-1]
    span = t1 - t0
    if span <= 0:
        bounds = [(0, 0, n)]
    else:
        edges = [bisect_left(times, t0 + span * c / columns) for c in range(1, columns)] + [n]
        bounds, a = [], 0
        for c, b in enumerate(edges):
            bounds.append((c, a, b))
            a = b
    out = []
    for c, a, b in bounds:
        if b <= a:
            continue
        chunk = [v for v in values[a:b] if v == v and not math.isinf(v)]
        if chunk:
            out.append((c, chunk[0], min(chunk), max(chunk), chunk[-1]))
    return out


class EquityChart(Widget):
    """Account value (USD) over time for every agent and the benchmark, from ``show(state)``.

    Left: the value axis (3 to 7 labels); bottom: the time axis (UTC, ``MM-DD HH:MM``). Each series
    is a braille line in its colour (``chart--s0..6`` by agent number, ``chart--benchmark``); where
    lines cross, the one drawn last (agents after the benchmark, in order) colours the cell.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"chart--s{i}" for i in range(SERIES_COLOURS)),
        "chart--benchmark",
        "chart--axis",
    }

    DEFAULT_CSS = """
    EquityChart {
        height: 1fr;
        min-height: 6;
        /* distinct from the benchmark's amber (and from each other) in the shipped themes */
        & > .chart--s0 { color: $primary; }
        & > .chart--s1 { color: $success; }
        & > .chart--s2 { color: $secondary; }
        & > .chart--s3 { color: $error; }
        & > .chart--s4 { color: $foreground; }
        & > .chart--s5 { color: $primary-lighten-3; }
        & > .chart--s6 { color: $success-darken-3; }
        & > .chart--benchmark { color: $arena-benchmark; }
        & > .chart--axis { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state: ArenaState | None = None
        self.series: list[Series] = []
        """The lines drawn (``series_of(state)``)."""
        self.times: Sequence[int] = ()
        self._drawn: tuple | None = None

    def show(self, state: ArenaState | None) -> None:
        """Draw ``state``'s equity history (redrawn only when it has grown or the state changed)."""
        times = state.equity_times if state is not None else ()
        key = (id(state), len(times), len(state.equity) if state is not None else 0)
        if key == self._drawn:
            return
        self._drawn = key
        self.state = state
        self.times = times
        self.series = series_of(state)
        self.refresh()

    def style_of(self, component: str) -> Style:
        return text_style(self, component)

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        times = self.times
        if not self.series or not len(times):
            return Text("No completed cycle yet: the chart starts with the first one.", style=self.style_of("chart--axis"))
        finite = [v for s in self.series for v in s.values if v == v and not math.isinf(v)]
        if not finite or width < 12 or height < 3:
            return Text("")
        lo, hi = min(finite), max(finite)
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        pad = (hi - lo) * 0.05
        lo, hi = lo - pad, hi + pad
        decimals = 0 if hi - lo >= 50 else 2
        plot_h = height - 1
        labels = self._value_labels(lo, hi, plot_h, decimals)
        gutter = max(len(t) for t in labels.values()) + 1
        plot_w = width - gutter
        if plot_w < 4:
            return Text("")
        dots_w, dots_h = plot_w * 2, plot_h * 4
        cells = [[0] * plot_w for _ in range(plot_h)]
        owner = [[-1] * plot_w for _ in range(plot_h)]
        order = [s for s in self.series if s.number is None] + [s for s in self.series if s.number is not None]

        def y_of(v: float) -> int:
            return max(0, min(dots_h - 1, dots_h - 1 - round((v - lo) / (hi - lo) * (dots_h - 1))))

        def dot(x: int, y: int, who: int) -> None:
            row, col = y // 4, x // 2
            cells[row][col] |= _DOTS[y % 4][x % 2]
            owner[row][col] = who

        def run(x: int, ya: int, yb: int, who: int) -> None:
            for y in range(min(ya, yb), max(ya, yb) + 1):
                dot(x, y, who)

        for who, s in enumerate(order):
            prev: tuple[int, int] | None = None
            for col, first, low, high, last in column_extremes(times, s.values, dots_w):
                y_first = y_of(first)
                if prev is not None:
                    px, py = prev
                    if col - px > 1:  # a straight line across the columns without a point
                        for x in range(px + 1, col):
                            run(x, py + (y_first - py) * (x - px - 1) // (col - px), py + (y_first - py) * (x - px) // (col - px), who)
                    else:
                        run(col, py, y_first, who)
                run(col, y_of(low), y_of(high), who)
                prev = (col, y_of(last))
        styles = [self.style_of(s.component) for s in order]
        axis = self.style_of("chart--axis")
        out = Text(no_wrap=True, overflow="crop", end="")
        for row in range(plot_h):
            label = labels.get(row, "")
            out.append(label.rjust(gutter - 1) + ("┤" if label else "│"), style=axis)
            for col in range(plot_w):
                bits = cells[row][col]
                if bits:
                    out.append(chr(BRAILLE + bits), style=styles[owner[row][col]])
                else:
                    out.append(" ")
            out.append("\n")
        out.append(self._time_axis(gutter, plot_w), style=axis)
        return out

    def _value_labels(self, lo: float, hi: float, rows: int, decimals: int) -> dict[int, str]:
        """Row -> value label: the top and bottom rows and a few evenly between (one every 4+ rows)."""
        count = max(2, min(7, rows // 4 + 1))
        out: dict[int, str] = {}
        for i in range(count):
            row = round(i * (rows - 1) / (count - 1))
            value = hi - (hi - lo) * (row * 4 + 1.5) / (rows * 4 - 1)
            out[row] = fmt.number(value, decimals)
        return out

    def _time_axis(self, gutter: int, plot_w: int) -> str:
        """``└`` then the first time at the left, the last at the right and, where they fit, times
        between (UTC)."""
        times = self.times
        t0, t1 = times[0], times[-1]
        line = [" "] * plot_w
        slots = max(1, plot_w // 24)
        for i in range(slots + 1):
            frac = i / slots if slots else 0.0
            text = fmt.short_time(int(t0 + (t1 - t0) * frac)) if t1 > t0 or i == 0 else ""
            if not text:
                continue
            at = round(frac * (plot_w - 1))
            start = max(0, min(plot_w - len(text), at - (0 if i == 0 else len(text) if i == slots else len(text) // 2)))
            if i == slots:
                start = plot_w - len(text)
            if any(c != " " for c in line[max(0, start - 1) : start + len(text) + 1]):
                continue
            line[start : start + len(text)] = list(text)
        return " " * (gutter - 1) + "└" + "".join(line)

    def legend(self, width: int = 80) -> Table:
        """One entry per line, best account value first, in as many columns as ``width`` cells hold
        (40 cells each): its mark in its colour, the agent's number and name (made safe), its last
        account value (USD) and return since the start."""
        state = self.state
        cash = state.header.starting_cash if state is not None and state.header is not None else None
        entries = sorted(self.series, key=lambda s: -(s.last if s.last is not None else -math.inf))
        columns = max(1, min(len(entries), width // 40))
        grid = Table.grid(padding=(0, 3, 0, 0), expand=False)
        for _ in range(columns):
            grid.add_column(no_wrap=True, overflow="ellipsis", max_width=max(20, width // columns - 3))
        cells: list[Text] = []
        for s in entries:
            style = self.style_of(s.component)
            entry = Text(BENCHMARK_MARK * 2 if s.number is None else AGENT_MARK * 2, style=style, end="")
            name = safe_line(s.name, limit=40)
            entry.append(f" {s.number} {name}" if s.number is not None else f" {name}", style=style)
            last = s.last
            ret = (last / cash - 1) * 100 if last is not None and cash else None
            entry.append(f" {fmt.number(last, 2)} {fmt.percent(ret)}")
            cells.append(entry)
        for i in range(0, len(cells), columns):
            grid.add_row(*cells[i : i + columns])
        return grid

    def legend_text(self) -> str:
        """The legend as plain text, one entry a line (tests, screen readers)."""
        return "\n".join(cell.plain for column in self.legend(40).columns for cell in column.cells)  # type: ignore[attr-defined]
