"""The trades view (``T``): every closed trade of the session, from the state's books
(``AgentBook.trades``: the ``PositionClosed`` events), sortable by any column and filtered by agent
and coin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Select, Static

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui import formatting as fmt
from arena_tui.tui.screens.view import VIEW_BINDINGS, StateView
from arena_tui.tui.widgets.component_style import text_style

if TYPE_CHECKING:
    from arena_tui.engine.events import PositionClosed
    from arena_tui.engine.state import ArenaState

EXIT_REASONS = {
    "agent": "agent",
    "stop_loss": "stop-loss",
    "take_profit": "take-profit",
    "liquidation": "LIQUIDATED",
    "session_end": "session end",
}
"""How a trade's exit reason (``PositionClosed.reason``) reads in the table."""

ALL = "*"
"""The filter value that lets every agent (or coin) through."""


def held(ms: int) -> str:
    """A holding time: ``45m``, ``3h05m``, ``2d04h`` (``<1m`` under a minute)."""
    minutes = max(0, ms) // 60_000
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


@dataclass(frozen=True)
class Trade:
    """One row: the agent's ``number`` (session order), its ``kind``, its ``index`` among its trades
    (oldest 0) and the ``PositionClosed`` event. ``key`` is the row key."""

    number: int
    kind: str
    index: int
    event: PositionClosed

    @property
    def key(self) -> str:
        return f"{self.number}:{self.index}"

    @property
    def fees(self) -> float:
        """Entry and exit fee (USD)."""
        return self.event.entry_fee + self.event.exit_fee

    @property
    def holding_ms(self) -> int:
        return self.event.time - self.event.entry_time


def trades_of(state: ArenaState | None) -> list[Trade]:
    """Every closed trade in ``state``, agent by agent (session order), oldest first."""
    if state is None:
        return []
    return [
        Trade(number, book.kind, i, t)
        for number, book in enumerate(state.agents.values(), start=1)
        for i, t in enumerate(book.trades)
    ]


@dataclass(frozen=True)
class Column:
    """A column: ``key``, header ``label``, ``width`` (cells), right-aligned figures (``numeric``),
    the value it sorts by and the cell's text."""

    key: str
    label: str
    width: int
    sort: Callable[[Trade], object]
    text: Callable[[Trade], str]
    numeric: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("agent", "agent", 18, lambda t: (t.event.agent, t.event.time), lambda t: f"{t.number} {fmt.agent_label(t.event.agent, t.kind)}", numeric=False),
    Column("coin", "coin", 5, lambda t: t.event.coin, lambda t: t.event.coin, numeric=False),
    Column("side", "side", 5, lambda t: t.event.side, lambda t: fmt.side(t.event.side), numeric=False),
    Column("net", "net PnL $", 10, lambda t: t.event.net_pnl, lambda t: f"{t.event.net_pnl:+,.2f}"),
    Column("reason", "exit", 11, lambda t: t.event.reason, lambda t: EXIT_REASONS.get(t.event.reason, t.event.reason), numeric=False),
    Column("held", "held", 6, lambda t: t.holding_ms, lambda t: held(t.holding_ms)),
    Column("entry_time", "entry UTC", 11, lambda t: t.event.entry_time, lambda t: fmt.short_time(t.event.entry_time)),
    Column("entry", "entry", 10, lambda t: t.event.entry_price, lambda t: fmt.price(t.event.entry_price)),
    Column("exit_time", "exit UTC", 11, lambda t: t.event.time, lambda t: fmt.short_time(t.event.time)),
    Column("exit", "exit", 10, lambda t: t.event.exit_price, lambda t: fmt.price(t.event.exit_price)),
    Column("quantity", "qty", 9, lambda t: t.event.quantity, lambda t: fmt.quantity(t.event.quantity)),
    Column("leverage", "lev", 5, lambda t: t.event.leverage, lambda t: fmt.leverage(t.event.leverage)),
    Column("fees", "fees $", 8, lambda t: t.fees, lambda t: fmt.number(t.fees, 2)),
    Column("funding", "funding $", 9, lambda t: t.event.funding_paid, lambda t: fmt.number(t.event.funding_paid, 2)),
)
"""The table's columns, what answers "what happened?" first (agent, coin, side, net PnL, exit
reason, holding time), then the entry and exit, size, leverage, fees and funding (USD; funding
positive = paid)."""

COLUMN_KEYS = tuple(c.key for c in COLUMNS)


class TradesTable(DataTable):
    """The trades, one row each (key ``"<agent number>:<index>"``), cells made safe (``safe_line``)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {"trades--up", "trades--down", "trades--muted", "trades--sorted"}

    DEFAULT_CSS = """
    TradesTable {
        height: 1fr;
        background: $surface;
        & > .trades--up { color: $success; }
        & > .trades--down { color: $error; }
        & > .trades--muted { color: $text-muted; }
        & > .trades--sorted { text-style: bold underline; }
    }
    """


class TradesScreen(StateView):
    """Every closed trade: agent, coin, side, net PnL (USD, after fees and funding), exit reason,
    holding time, entry and exit time (UTC) and price, quantity, leverage, fees and funding.

    Newest exit first to begin with. A click on a column's header sorts by it (again: the other way);
    ``s`` sorts by the next column, ``r`` reverses. The agent and coin selects (or ``a`` and ``c``,
    which step through them) filter the rows. Enter opens the selected trade's agent in the model
    detail view. The line above the table sums up the rows shown: how many, net PnL, wins.
    """

    DEFAULT_CSS = """
    TradesScreen {
        & #trades-summary { height: auto; padding: 0 1; background: $boost; }
        & #trades-filters { height: 3; }
        & #trades-filters Select { width: 1fr; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *VIEW_BINDINGS,
        Binding("s", "sort_next", "Sort", tooltip="Sort by the next column (a click on a header sorts by it)", id="trades-sort"),
        Binding("r", "reverse", "Reverse", tooltip="Reverse the order", id="trades-reverse"),
        Binding("a", "next_agent", "Agent", tooltip="Show the next agent's trades only (then every agent's)", id="trades-agent"),
        Binding("c", "next_coin", "Coin", tooltip="Show the next coin's trades only (then every coin's)", id="trades-coin"),
        Binding("enter", "detail", "Detail", tooltip="The selected trade's agent in the model detail view", id="trades-detail"),
    ]

    def __init__(self) -> None:
        super().__init__(id="trades-view")
        self.summary = Static(id="trades-summary")
        self.agent_select: Select[str] = Select([(Text("every agent"), ALL)], allow_blank=False, value=ALL, id="trades-agent-filter")
        self.coin_select: Select[str] = Select([(Text("every coin"), ALL)], allow_blank=False, value=ALL, id="trades-coin-filter")
        self.agent_select.tooltip = "Show one agent's trades (a steps through them)"
        self.coin_select.tooltip = "Show one coin's trades (c steps through them)"
        self.table = TradesTable(id="trades-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
        self.sort_key = "exit_time"
        """The column the rows are sorted by."""
        self.descending = True
        self.rows: list[Trade] = []
        """The rows shown, in order (after the filters)."""
        self._options: tuple | None = None
        self._drawn: tuple | None = None

    def compose(self) -> ComposeResult:
        yield self.summary
        with Horizontal(id="trades-filters"):
            yield self.agent_select
            yield self.coin_select
        yield self.table
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Trades"
        for col in COLUMNS:
            self.table.add_column(self._label(col, ""), width=col.width + 1, key=col.key)
        self.table.focus()

    # -- filters and order ------------------------------------------------------------------------

    @property
    def agent_filter(self) -> str:
        value = self.agent_select.value
        return value if isinstance(value, str) else ALL

    @property
    def coin_filter(self) -> str:
        value = self.coin_select.value
        return value if isinstance(value, str) else ALL

    def _set_options(self, state: ArenaState | None) -> None:
        agents = tuple(state.agents) if state is not None else ()
        coins = tuple(state.header.coins) if state is not None and state.header is not None else ()
        if state is not None:  # a coin traded that the header does not list (a journal from elsewhere)
            coins += tuple(sorted({t.coin for b in state.agents.values() for t in b.trades} - set(coins)))
        if (agents, coins) == self._options:
            return
        self._options = (agents, coins)
        kinds = {name: book.kind for name, book in state.agents.items()} if state is not None else {}
        agent, coin = self.agent_filter, self.coin_filter
        self.agent_select.set_options(
            [(Text("every agent"), ALL)] + [(Text(safe_line(f"{n} {fmt.agent_label(a, kinds.get(a))}", limit=60)), a) for n, a in enumerate(agents, start=1)]
        )
        self.coin_select.set_options([(Text("every coin"), ALL)] + [(Text(safe_line(c, limit=20)), c) for c in coins])
        self.agent_select.value = agent if agent in agents else ALL
        self.coin_select.value = coin if coin in coins else ALL

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._drawn = None
        self.show_state()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = str(event.column_key.value)
        if key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key, self.descending = key, key in ("net", "exit_time", "entry_time", "held", "fees", "funding")
        self._redraw()

    def action_sort_next(self) -> None:
        """Sort by the next column."""
        i = COLUMN_KEYS.index(self.sort_key) if self.sort_key in COLUMN_KEYS else -1
        self.sort_key = COLUMN_KEYS[(i + 1) % len(COLUMN_KEYS)]
        self._redraw()

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.descending = not self.descending
        self._redraw()

    def _step(self, select: Select[str]) -> None:
        values = [value for _, value in select._options]  # (prompt, value) in order
        current = select.value
        i = values.index(current) if current in values else 0
        select.value = values[(i + 1) % len(values)]

    def action_next_agent(self) -> None:
        """Only the next agent's trades (after the last: every agent's)."""
        self._step(self.agent_select)

    def action_next_coin(self) -> None:
        """Only the next coin's trades (after the last: every coin's)."""
        self._step(self.coin_select)

    def action_detail(self) -> None:
        """The selected trade's agent in the model detail view."""
        if self.rows and 0 <= self.table.cursor_row < len(self.rows):
            self.app.action_show_detail(self.rows[self.table.cursor_row].event.agent)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_detail()

    def _redraw(self) -> None:
        self._drawn = None
        self.show_state()

    # -- drawing ----------------------------------------------------------------------------------

    def filtered(self, state: ArenaState | None) -> list[Trade]:
        """The trades in ``state`` that pass the filters, in the chosen order."""
        agent, coin = self.agent_filter, self.coin_filter
        rows = [t for t in trades_of(state) if (agent == ALL or t.event.agent == agent) and (coin == ALL or t.event.coin == coin)]
        column = next(c for c in COLUMNS if c.key == self.sort_key)
        # ties: the newest exit first, then the agent's order, so the order is the same every time
        rows.sort(key=lambda t: (t.event.time, -t.number, t.index), reverse=True)
        rows.sort(key=column.sort, reverse=self.descending)
        return rows

    def show_state(self) -> None:
        state = self.state
        total = sum(len(b.trades) for b in state.agents.values()) if state is not None else 0
        key = (id(state), total, self.agent_filter, self.coin_filter, self.sort_key, self.descending)
        if not self.is_mounted or key == self._drawn:
            return
        self._set_options(state)
        self._drawn = (id(state), total, self.agent_filter, self.coin_filter, self.sort_key, self.descending)
        rows = self.filtered(state)
        table = self.table
        selected = self.rows[table.cursor_row].key if self.rows and 0 <= table.cursor_row < len(self.rows) else None
        self.rows = rows
        up, down, muted = (text_style(table, c) for c in ("trades--up", "trades--down", "trades--muted"))
        with self.app.batch_update():
            table.clear()
            self._label_columns(table)
            for t in rows:
                table.add_row(*(self._cell(col, t, up, down, muted) for col in COLUMNS), key=t.key)
            if selected is not None:
                at = next((i for i, t in enumerate(rows) if t.key == selected), 0)
                table.move_cursor(row=at, animate=False)
        self.summary.update(self._summary(rows, total))

    def _label_columns(self, table: TradesTable) -> None:
        """Mark the sorted column's header with ▼ (descending) or ▲."""
        mark = "▼" if self.descending else "▲"
        for col in COLUMNS:
            column = table.columns.get(col.key)  # type: ignore[call-overload]
            if column is not None:
                column.label = self._label(col, mark if col.key == self.sort_key else "")

    @staticmethod
    def _label(col: Column, mark: str) -> Text:
        """A column's header as its cells are laid out (a gap on the side away from the figures),
        ``mark`` (▼ or ▲) on the sorted one."""
        label = f"{mark}{col.label}" if mark and col.numeric else f"{col.label}{mark}"
        return Text(f"{label} ", justify="right") if col.numeric else Text(f" {label}", justify="left")

    def _cell(self, col: Column, t: Trade, up: Style, down: Style, muted: Style) -> Text:
        text = safe_line(col.text(t), limit=60)
        style: Style | str = ""
        if col.key == "net":
            style = up if t.event.net_pnl > 0 else down if t.event.net_pnl < 0 else ""
        elif col.key == "reason" and t.event.reason == "liquidation":
            style = down
        elif col.key in ("fees", "funding", "entry_time", "exit_time"):
            style = muted
        if col.numeric:
            return Text(text + " ", style=style, justify="right", no_wrap=True, end="")
        return Text(" " + text, style=style, justify="left", no_wrap=True, end="")

    def _summary(self, rows: list[Trade], total: int) -> Text:
        """``8 of 8 trades · net -$12.34 · 3 won (38%) · sorted by exit UTC ▼``."""
        net = sum(t.event.net_pnl for t in rows)
        wins = sum(1 for t in rows if t.event.net_pnl > 0)
        label = next(c.label for c in COLUMNS if c.key == self.sort_key)
        parts = [f"{len(rows)} of {total} trades" if len(rows) != total else f"{total} trade{'s' if total != 1 else ''}"]
        if rows:
            parts += [f"net {fmt.money(net, sign=True)}", f"{wins} won ({wins / len(rows) * 100:.0f}%)"]
        parts.append(f"by {label} {'▼' if self.descending else '▲'}")
        if not total:
            parts.append("no trade has closed yet")
        return Text(" · ".join(parts))
