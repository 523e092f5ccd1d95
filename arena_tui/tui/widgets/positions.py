"""The positions table: every agent's open positions, one row per agent and coin."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from rich.text import Text

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.tables import ArenaTable, ColumnSpec, Row


class PositionsTable(ArenaTable):
    """Rows keyed ``"<agent>/<coin>"`` from each ``AccountUpdated.positions``: agent, coin, side,
    quantity (base coin), leverage, entry and mark price, unrealized PnL (USD, coloured by sign),
    stop-loss, profit target and liquidation price (entry, stop and target are left out under 100
    columns). Each agent's latest ``AccountUpdated`` replaces all of its rows, so the table always
    holds exactly the positions the latest events list; rows are grouped by agent (session order),
    then by coin (market order)."""

    COLUMNS = (
        ColumnSpec("agent", "agent", 23, numeric=False),
        ColumnSpec("coin", "coin", 4, numeric=False),
        ColumnSpec("side", "side", 5, numeric=False),
        ColumnSpec("quantity", "qty", 8),
        ColumnSpec("leverage", "lev", 4),
        ColumnSpec("entry", "entry", 9, wide_only=True),
        ColumnSpec("mark", "mark", 9),
        ColumnSpec("upnl", "uPnL $", 9),
        ColumnSpec("stop", "stop", 9, wide_only=True),
        ColumnSpec("target", "target", 9, wide_only=True),
        ColumnSpec("liq", "liq.", 9),
    )

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._labels: dict[str, tuple[str, str]] = {}
        self._coins: tuple[str, ...] = ()
        self._positions: dict[str, dict[str, dict[str, Any]]] = {}

    def set_agents(self, agents: Iterable[tuple[str, str]], coins: Iterable[str] = ()) -> None:
        """The session's agents as (name, kind) in display order (rows are grouped by agent), and
        its coins in market order (rows of an agent are in that order)."""
        self._labels = {name: (fmt.agent_label(name, kind), kind) for name, kind in agents}
        self._coins = tuple(coins)
        self.refresh_rows()

    def update_positions(self, agent: str, positions: Iterable[Mapping[str, Any]]) -> None:
        """Replace ``agent``'s open positions with ``AccountUpdated.positions`` rows."""
        self._positions[agent] = {p["coin"]: dict(p) for p in positions}
        self.refresh_rows()

    @property
    def positions(self) -> dict[str, dict[str, dict[str, Any]]]:
        """agent -> coin -> the position dict of its latest ``AccountUpdated`` (open positions only)."""
        return {agent: dict(rows) for agent, rows in self._positions.items() if rows}

    def table_rows(self) -> list[Row]:
        agent_order = {name: i for i, name in enumerate(self._labels)}
        coin_order = {coin: i for i, coin in enumerate(self._coins)}
        rows = [
            (agent_order.get(agent, len(agent_order)), agent, coin_order.get(coin, len(coin_order)), coin, p)
            for agent, held in self._positions.items()
            for coin, p in held.items()
        ]
        rows.sort(key=lambda r: r[:4])
        return [(f"{agent}/{coin}", self._cells(agent, p)) for _, agent, _, coin, p in rows]

    def _cells(self, agent: str, p: Mapping[str, Any]) -> dict[str, Text]:
        label, kind = self._labels.get(agent, (agent, ""))
        upnl = p.get("unrealized_pnl")
        side = int(p.get("side", 0))
        liq = p.get("liquidation_price")
        return {
            "agent": self.styled(label, *(("arena--rule-based",) if kind == "rule-based" else ()), numeric=False),
            "coin": self.styled(p["coin"], "arena--strong", numeric=False),
            "side": self.styled(fmt.side(side), "arena--up" if side > 0 else "arena--down", numeric=False),
            "quantity": self.styled(fmt.quantity(p.get("quantity"))),
            "leverage": self.styled(fmt.leverage(p.get("leverage"))),
            "entry": self.styled(fmt.price(p.get("entry_price"))),
            "mark": self.styled(fmt.price(p.get("mark_price"))),
            "upnl": self.signed(upnl, fmt.number(upnl, 2) if upnl is None or upnl < 0 else f"+{upnl:,.2f}"),
            "stop": self.styled(fmt.price(p.get("stop_loss")), "arena--muted"),
            "target": self.styled(fmt.price(p.get("profit_target")), "arena--muted"),
            "liq": self.styled(fmt.price(liq) if liq and liq > 0 else fmt.MISSING, "arena--warning"),
        }

    def summary(self) -> str:
        """``3 open · uPnL -$126.17``, or ``no open positions``."""
        count = sum(len(v) for v in self._positions.values())
        total = sum((p.get("unrealized_pnl") or 0.0) for v in self._positions.values() for p in v.values())
        return f"{count} open · uPnL {fmt.money(total, sign=True)}" if count else "no open positions"

    def show_rows(self, rows: Sequence[Row]) -> None:
        super().show_rows(rows)
        self.border_subtitle = self.summary()

    def reset(self) -> None:
        self._positions.clear()
        super().reset()
