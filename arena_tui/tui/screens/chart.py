"""The equity chart view (``E``): every agent's account value and the BTC buy-and-hold benchmark over
the whole session (``ArenaState.equity``), with a legend in the lines' colours."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer, Static

from arena_tui.tui import formatting as fmt
from arena_tui.tui.screens.view import VIEW_BINDINGS, StateView
from arena_tui.tui.widgets.equity_chart import EquityChart


class ChartScreen(StateView):
    """A title line (cycles and the market time they span, UTC), the chart (``EquityChart``: value
    axis in USD on the left, time on the bottom) and the legend (best account value first: each line's
    mark and colour, the agent's number and name, its last account value and return). It grows with
    the session: the app redraws it after every batch of events."""

    DEFAULT_CSS = """
    ChartScreen {
        & #chart-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
        & #chart { height: 1fr; padding: 0 1 0 0; }
        & #chart-legend { height: auto; max-height: 6; padding: 0 1; border-top: solid $arena-rule; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [*VIEW_BINDINGS]

    def __init__(self) -> None:
        super().__init__(id="chart-view")
        self.title_line = Static(id="chart-title")
        self.chart = EquityChart(id="chart")
        self.legend = Static(id="chart-legend")

    def compose(self) -> ComposeResult:
        yield self.title_line
        yield self.chart
        yield self.legend
        yield Footer()

    def on_resize(self) -> None:
        if self.is_mounted:
            self.legend.update(self.chart.legend(self.app.size.width - 2))

    def show_state(self) -> None:
        if not self.is_mounted:
            return
        state = self.state
        self.chart.show(state)
        times = self.chart.times
        title = "Account value (USD) vs BTC buy & hold"
        if len(times):
            n = len(times)
            title += f" · {n} cycle{'s' if n != 1 else ''} · {fmt.short_time(times[0])} → {fmt.short_time(times[-1])} UTC"
        self.title_line.update(Text(title))
        self.legend.update(self.chart.legend(self.app.size.width - 2))
