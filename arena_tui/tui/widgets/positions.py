"""The positions table: every agent's open positions, one row per agent and coin, from the state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from rich.text import Text

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.tables import ArenaTable, ColumnSpec, Row

if TYPE_CHECKING:
    from arena_tui.engine.events import PositionRow


class PositionsTable(ArenaTable):
    """Rows keyed ``"<agent>/<coin>"``, one per open position in the state (each agent's
    ``AgentBook.positions``: as its last ``AccountUpdated`` listed them, with its fills and closes
    since, so a trade shows while a slower agent is still thinking): agent, coin, side,
    quantity (base coin), leverage, entry and mark price, unrealized PnL (USD, coloured by sign),
    stop-loss, profit target and liquidation price (where they do not all fit, target, stop and
    entry give way, in that order: ``COLUMNS``). Prices are fitted to their columns
    (``fmt.price(width=...)``). Rows are grouped by agent (session order), then by coin (market order); the border
    subtitle sums them up."""

    COLUMNS = (
        ColumnSpec("agent", "agent", 23, numeric=False),
        ColumnSpec("coin", "coin", 4, numeric=False),
        ColumnSpec("side", "side", 5, numeric=False),
        ColumnSpec("quantity", "qty", 8, drop=1),
        ColumnSpec("leverage", "lev", 4, drop=2),
        ColumnSpec("entry", "entry", 9, drop=3),
        ColumnSpec("mark", "mark", 9),
        ColumnSpec("upnl", "uPnL $", 9),
        ColumnSpec("stop", "stop", 9, drop=4),
        ColumnSpec("target", "target", 9, drop=5),
        ColumnSpec("liq", "liq.", 9),
    )
    """Every column from 109 cells (110 while the scrollbar shows); narrower, the profit
    target leaves first, then the stop-loss, the entry price, the leverage and the quantity: the
    liquidation price (the risk) stays with the mark price and the unrealized PnL."""

    def open_positions(self) -> list[tuple[str, str, PositionRow]]:
        """(agent, agent kind, position) of every open position, in display order."""
        state = self.state
        if state is None:
            return []
        coins = state.header.coins if state.header is not None else ()
        order = {coin: i for i, coin in enumerate(coins)}
        return [
            (book.name, book.kind, p)
            for book in state.agents.values()
            for p in sorted(book.positions, key=lambda p: order.get(p.coin, len(order)))
        ]

    def table_rows(self) -> list[Row]:
        return [(f"{agent}/{p.coin}", self._cells(agent, kind, p)) for agent, kind, p in self.open_positions()]

    def _cells(self, agent: str, kind: str, p: PositionRow) -> dict[str, Text]:
        upnl = p.unrealized_pnl
        side = int(p.side)
        liq = p.liquidation_price
        return {
            "agent": self.styled(fmt.agent_label(agent, kind), *(("arena--rule-based",) if kind == "rule-based" else ()), numeric=False),
            "coin": self.styled(p.coin, "arena--strong", numeric=False),
            "side": self.styled(fmt.side(side), "arena--up" if side > 0 else "arena--down", numeric=False),
            "quantity": self.styled(fmt.quantity(p.quantity)),
            "leverage": self.styled(fmt.leverage(p.leverage)),
            "entry": self.styled(fmt.price(p.entry_price, self.cell_width("entry"))),
            "mark": self.styled(fmt.price(p.mark_price, self.cell_width("mark"))),
            "upnl": self.signed(upnl, fmt.number(upnl, 2) if upnl is None or upnl < 0 else f"+{upnl:,.2f}"),
            "stop": self.styled(fmt.price(p.stop_loss, self.cell_width("stop")), "arena--muted"),
            "target": self.styled(fmt.price(p.profit_target, self.cell_width("target")), "arena--muted"),
            "liq": self.styled(fmt.price(liq, self.cell_width("liq")) if liq and liq > 0 else fmt.MISSING, "arena--warning"),
        }

    def summary(self) -> str:
        """``3 open · uPnL -$126.17``, or ``no open positions``."""
        held = self.open_positions()
        total = sum(p.unrealized_pnl or 0.0 for _, _, p in held)
        return f"{len(held)} open · uPnL {fmt.money(total, sign=True)}" if held else "no open positions"

    def show_rows(self, rows: Sequence[Row]) -> None:
        super().show_rows(rows)
        self.border_subtitle = self.summary()
