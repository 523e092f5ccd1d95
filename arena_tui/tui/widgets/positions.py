"""The positions table: every agent's open positions, one row per agent and coin."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from rich.text import Text

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.tables import ArenaTable, ColumnSpec


class PositionsTable(ArenaTable):
    """Rows keyed ``"<agent>/<coin>"`` from each ``AccountUpdated.positions``: agent, coin, side,
    quantity (base coin), leverage, entry and mark price, unrealized PnL (USD, coloured by sign),
    stop-loss, profit target and liquidation price. A position that is gone from an agent's latest
    ``AccountUpdated`` leaves the table."""

    COLUMNS = (
        ColumnSpec("agent", "agent", 23, numeric=False),
        ColumnSpec("coin", "coin", 4, numeric=False),
        ColumnSpec("side", "side", 5, numeric=False),
        ColumnSpec("quantity", "qty", 8),
        ColumnSpec("leverage", "lev", 4),
        ColumnSpec("entry", "entry", 9),
        ColumnSpec("mark", "mark", 9),
        ColumnSpec("upnl", "uPnL $", 9),
        ColumnSpec("stop", "stop", 9),
        ColumnSpec("target", "target", 9),
        ColumnSpec("liq", "liq.", 9),
    )

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._labels: dict[str, tuple[str, str]] = {}
        self._positions: dict[str, dict[str, dict[str, Any]]] = {}

    def set_agents(self, agents: Iterable[tuple[str, str]]) -> None:
        """The session's agents as (name, kind), in display order (rows are grouped by agent)."""
        self._labels = {name: (fmt.agent_label(name, kind), kind) for name, kind in agents}

    def update_positions(self, agent: str, positions: Iterable[Mapping[str, Any]]) -> None:
        """Replace ``agent``'s open positions with ``AccountUpdated.positions`` rows."""
        rows = {p["coin"]: dict(p) for p in positions}
        before = set(self._positions.get(agent, {}))
        self._positions[agent] = rows
        with self.app.batch_update():
            for coin in before - set(rows):
                self.remove_row(f"{agent}/{coin}")
            added = False
            for coin in rows:
                added |= f"{agent}/{coin}" not in self.rows
                self.put_row(f"{agent}/{coin}", self._cells(agent, rows[coin]))
            if added:
                self._order()
        self.border_subtitle = self._summary()

    def _order(self) -> None:
        """Group rows by agent (in the session's agent order), then by coin."""
        order = {label: i for i, (label, _) in enumerate(self._labels.values())}
        self.sort("agent", "coin", key=lambda cells: (order.get(cells[0].plain.strip(), len(order)), cells[1].plain.strip()))

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

    def _summary(self) -> str:
        count = sum(len(v) for v in self._positions.values())
        total = sum((p.get("unrealized_pnl") or 0.0) for v in self._positions.values() for p in v.values())
        return f"{count} open · uPnL {fmt.money(total, sign=True)}" if count else "no open positions"

    def rerender(self) -> None:
        with self.app.batch_update():
            for agent, rows in self._positions.items():
                for coin, p in rows.items():
                    self.put_row(f"{agent}/{coin}", self._cells(agent, p))

    def reset(self) -> None:
        super().reset()
        self._positions.clear()
        self.border_subtitle = self._summary()
