"""Value types of a paper perps account, built by ``ledger.Ledger`` and read by prompt, metrics and UI.

Units: prices and money in USD; ``quantity`` in the base coin, always positive, with ``side``
+1 (long) or -1 (short); times in ms since the epoch, UTC; fees and funding in USD, positive = paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExitReason = str
"""Why a position (or part of it) closed: ``"agent"``, ``"stop_loss"``, ``"take_profit"``,
``"liquidation"``, ``"session_end"``, or ``"take_profit_<n>"`` for the n-th level (1 = nearest) of a
take-profit ladder (``TakeProfitLevel``), which closes part of the position."""

EXIT_REASONS: tuple[str, ...] = ("agent", "stop_loss", "take_profit", "liquidation", "session_end")
"""The whole-position exit reasons; ladder parts add ``take_profit_1``, ``take_profit_2``, ..."""


@dataclass(frozen=True)
class TakeProfitLevel:
    """One level of a take-profit ladder: ``level`` its number (1 = nearest the entry), ``price``
    (USD) where it fills, ``close_fraction`` (0-1] of the position's original quantity it closes (the
    position's last remaining level closes whatever remains)."""

    level: int
    price: float
    close_fraction: float


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
    take_profit: tuple[TakeProfitLevel, ...] = ()
    """The ladder levels not yet filled, nearest first (empty: no ladder; ``profit_target`` then
    closes the whole position). With a ladder, ``profit_target`` is its last level's price."""
    initial_quantity: float = 0.0
    """The quantity opened (coins), which ladder fractions refer to; 0.0 = ``quantity``."""

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
    exit_reference_price: float | None = None
    """The price the exit was asked at before slippage (the agent's mark, the stop/target level,
    the liquidation price or a gapped candle open); ``Ledger.close`` at it rebuilds the same trade."""

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


FillAction = Literal["open", "close"]
Liquidity = Literal["taker", "maker"]


@dataclass(frozen=True)
class Fill:
    """One execution against the paper venue, made by ``ledger.Ledger`` on every open and close.

    ``side`` is the *position's* side (+1 long, -1 short), so a long's closing fill is a sell;
    ``quantity`` is in the base coin (positive); ``reference_price`` is the price asked for (the
    cycle's mark, a stop/target level, the liquidation price or a candle open) and ``price`` the fill
    price after slippage against the trader (USD). ``notional = quantity x price``; ``fee`` (USD,
    positive = paid) is ``notional x fee bp / 10,000`` at the ``liquidity`` rate (taker unless asked);
    ``margin`` is the isolated margin posted (open) or released (close); ``time`` is ms since the epoch.
    ``reason`` is ``"agent"`` for opens and the ``ExitReason`` for closes.
    """

    coin: str
    side: int
    quantity: float
    price: float
    reference_price: float
    notional: float
    fee: float
    leverage: float
    margin: float
    time: int
    action: FillAction
    reason: ExitReason
    liquidity: Liquidity = "taker"


@dataclass(frozen=True)
class FundingPayment:
    """A funding settlement on one open position at one funding time.

    ``amount = side x quantity x mark_price x rate`` in USD, positive = paid by the account (a long
    pays a positive ``rate``, a short receives it). ``rate`` is the fraction per funding interval
    (1e-4 = 0.01 %); ``mark_price`` is the close of the finest candle at or just before ``time`` (ms).
    Isolated margin: the amount is taken from (or added to) the position's margin, not from cash.
    """

    coin: str
    time: int
    rate: float
    mark_price: float
    amount: float
    side: int = 0
    quantity: float = 0.0
