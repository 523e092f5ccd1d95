"""The leaderboard: one row per agent plus the BTC buy-and-hold benchmark, ranked by account value,
with each one's equity line as a sparkline."""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Mapping

from rich.text import Text

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.tables import ArenaTable, ColumnSpec, Row

EQUITY_POINTS = 240
"""Account values kept per agent for the sparkline (one per cycle)."""


class Leaderboard(ArenaTable):
    """Rows keyed by agent name from ``CycleCompleted.leaderboard`` (best first): rank, agent,
    equity sparkline (its account value at every cycle, scaled to its own range), account value and
    PnL (USD), return %, fees (USD), win rate, Sharpe ratio, maximum drawdown (%) and trades.

    Row dicts are read with these keys: ``agent``, ``kind`` (``"benchmark"`` for the buy-and-hold
    row), ``rank``, ``account_value``, ``return_pct``, ``pnl``, ``fees``, ``win_rate`` (percent of closed
    trades that made money), ``sharpe`` (annualised), ``max_drawdown_pct`` (percent), ``trades``,
    ``halted``; missing ones show ``–``. Under 100 columns PnL, fees and win rate are left out and
    the equity line is 12 cycles long instead of 14.
    """

    COLUMNS = (
        ColumnSpec("rank", "#", 2),
        ColumnSpec("agent", "agent", 23, numeric=False),
        ColumnSpec("equity", "equity", 14, narrow_width=12),
        ColumnSpec("value", "value $", 9),
        ColumnSpec("return", "return", 8),
        ColumnSpec("pnl", "PnL $", 9, wide_only=True),
        ColumnSpec("fees", "fees $", 7, wide_only=True),
        ColumnSpec("win", "win", 5, wide_only=True),
        ColumnSpec("sharpe", "Sharpe", 6),
        ColumnSpec("drawdown", "maxDD", 6),
        ColumnSpec("trades", "trades", 6),
    )

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._kinds: dict[str, str] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self._equity: dict[str, deque[float]] = {}
        self._starting_cash = 0.0

    def set_agents(self, agents: Iterable[tuple[str, str]], starting_cash: float) -> None:
        """Show every agent (name, kind) at its starting cash before the first cycle completes."""
        self._starting_cash = starting_cash
        self._kinds = dict(agents)
        if self._rows:
            return
        rows = [
            {"agent": name, "kind": kind, "rank": i, "account_value": starting_cash, "return_pct": 0.0, "pnl": 0.0, "fees": 0.0, "trades": 0}
            for i, (name, kind) in enumerate(self._kinds.items(), start=1)
        ]
        self._apply(rows, record=False)

    def update_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Apply one ``CycleCompleted.leaderboard`` and add each account value to its equity line."""
        self._apply([dict(r) for r in rows], record=True)

    def _apply(self, rows: list[dict[str, Any]], *, record: bool) -> None:
        for row in rows:
            name = row["agent"]
            self._rows[name] = row
            if record:
                line = self._equity.setdefault(name, deque(maxlen=EQUITY_POINTS))
                value = row.get("account_value")
                if value is not None:
                    line.append(float(value))
        self.refresh_rows()

    def table_rows(self) -> list[Row]:
        """One row per agent and the benchmark, best rank first."""
        ranked = sorted(self._rows, key=lambda name: _rank(self._rows[name]))
        return [(name, self._cells(name)) for name in ranked]

    def _cells(self, name: str) -> dict[str, Text]:
        row = self._rows[name]
        kind = row.get("kind") or self._kinds.get(name, "")
        halted = bool(row.get("halted"))
        label_style: tuple[str, ...] = ()
        if kind == "benchmark":
            label_style = ("arena--benchmark",)
        elif halted:
            label_style = ("arena--halted",)
        elif kind == "rule-based":
            label_style = ("arena--rule-based",)
        label = fmt.agent_label(name, kind)
        ret = row.get("return_pct")
        pnl = row.get("pnl")
        line = list(self._equity.get(name, ()))
        spark = next(c for c in self.COLUMNS if c.key == "equity").width_for(self.narrow)
        trend = (line[-1] - line[0]) if len(line) >= 2 else None
        win = row.get("win_rate")
        return {
            "rank": self.styled(str(row.get("rank", ""))),
            "agent": self.styled(label, *label_style, numeric=False),
            "equity": self.signed(trend, fmt.sparkline(line, spark)) if line else self.styled("", numeric=False),
            "value": self.styled(fmt.number(row.get("account_value"), 2), "arena--strong"),
            "return": self.signed(ret, fmt.percent(ret)),
            "pnl": self.signed(pnl, fmt.MISSING if pnl is None else f"{pnl:+,.2f}"),
            "fees": self.styled(fmt.number(row.get("fees"), 2), "arena--muted"),
            "win": self.styled(fmt.MISSING if win is None else f"{win:.0f}%"),
            "sharpe": self.signed(row.get("sharpe"), fmt.ratio(row.get("sharpe"))),
            "drawdown": self.styled(fmt.MISSING if row.get("max_drawdown_pct") is None else f"{row['max_drawdown_pct']:.1f}%"),
            "trades": self.styled(fmt.MISSING if row.get("trades") is None else str(row["trades"])),
        }

    def equity(self, name: str) -> list[float]:
        """The account values recorded for ``name`` so far (oldest first)."""
        return list(self._equity.get(name, ()))

    def reset(self) -> None:
        self._rows.clear()
        self._equity.clear()
        if self._kinds:
            self.set_agents(self._kinds.items(), self._starting_cash)
        super().reset()


def _rank(row: Mapping[str, Any]) -> int:
    rank = row.get("rank")
    return int(rank) if isinstance(rank, (int, float)) else 999
