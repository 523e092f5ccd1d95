"""Value types of a paper perps account, built by ``ledger.Ledger`` and read by prompt, metrics and UI.

Units: prices and money in USD; ``quantity`` in the base coin, always positive, with ``side``
+1 (long) or -1 (short); times in ms since the epoch, UTC; fees and funding in USD, positive = paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExitReason = Literal["agent", "stop_loss", "take_profit", "liquidation", "session_end"]


@dataclass(frozen=True)
class Position:
    """An open isolated-margin position (one per coin)."""

    coin: str
    side: int
    quantity: float
    entry_price: float
    leverage: float
    margin: float
    entry_time: int
    entry_fee: float
    liquidation_price: float
    mark_price: float
    unrealized_pnl: float
    stop_loss: float | None = None
    profit_target: float | None = None
    invalidation_condition: str | None = None
    confidence: float | None = None
    risk_usd: float | None = None
    funding_paid: float = 0.0

    @property
    def side_name(self) -> str:
        return "long" if self.side > 0 else "short"

    @property
    def notional(self) -> float:
        """quantity x mark price, USD."""
        return self.quantity * self.mark_price


@dataclass(frozen=True)
class Trade:
    """A closed position. ``realized_pnl`` is gross (price move only); ``net_pnl`` subtracts the
    entry and exit fees and the funding paid."""

    coin: str
    side: int
    quantity: float
    leverage: float
    entry_time: int
    exit_time: int
    entry_price: float
    exit_price: float
    entry_fee: float
    exit_fee: float
    funding_paid: float
    realized_pnl: float
    net_pnl: float
    exit_reason: ExitReason
    confidence: float | None = None

    @property
    def side_name(self) -> str:
        return "long" if self.side > 0 else "short"

    @property
    def holding_ms(self) -> int:
        return self.exit_time - self.entry_time


@dataclass(frozen=True)
class AccountSnapshot:
    """An account at one moment: ``account_value = cash + sum(margin + unrealized_pnl)``."""

    starting_cash: float
    cash: float
    account_value: float
    positions: tuple[Position, ...]
    realized_pnl: float
    unrealized_pnl: float
    fees_paid: float
    funding_paid: float

    @property
    def return_pct(self) -> float:
        return (self.account_value / self.starting_cash - 1.0) * 100.0 if self.starting_cash else 0.0
