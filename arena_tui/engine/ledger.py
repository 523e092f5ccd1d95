"""Paper perpetual-futures accounts: fills, fees, isolated margin, funding, liquidation, SL/TP exits.

One ``Ledger`` per agent. Conventions (the house plan, ``ARCHITECTURE.md``, "Ledger conventions"), all
money in USD, quantities in the base coin (positive, with ``side`` +1 long / -1 short), times in ms
since the epoch (UTC):

- open: fill price = reference price moved against the trader by ``slippage_bp`` (a buy fills higher,
  a sell lower); ``notional = quantity x fill price``; ``margin = notional / leverage``;
  ``fee = notional x taker_fee_bp / 10,000``; ``cash -= margin + fee``.
- mark: ``unrealized PnL = side x quantity x (mark - entry)``;
  ``account value = cash + sum(margin + unrealized PnL)``.
- close: ``realized PnL = side x quantity x (exit - entry)``; fee on the exit notional;
  ``cash += margin + realized PnL - fee``. Isolated margin: a position never loses more than its
  margin; on a gap past the liquidation price the venue (its insurance fund) absorbs the rest, so the
  exit fee and then the realized PnL are cut until ``margin + PnL - fee == 0``.
- cross margin (``margin_mode="cross"``): the account's free cash and its other positions' equity
  above their maintenance margin (at their last marks) stand behind each position, so a position's
  liquidation price is the formula above with ``margin + cross_buffer(coin)`` for its margin, kept
  up to date after every fill and mark; the position that reaches it is closed there (as a venue
  closes the position that breaches first), its loss beyond its own margin taken from the account
  (cash never goes below zero: a gap past that is the venue's loss). Within one ``settle`` each
  position is walked against the others' marks at its start.
- funding: at each funding time ``payment = side x quantity x mark x rate`` (a long pays a positive
  rate), taken from the position's isolated margin (which moves its liquidation price).
- liquidation when ``margin + unrealized PnL <= quantity x mark x maintenance_margin_rate``, i.e. at
  ``liquidation price = (entry - side x margin / quantity) / (1 - side x maintenance_margin_rate)``
  (0.0 when that is <= 0: a 1x long cannot be liquidated).
- ``settle`` walks the finest candles between cycles: stop-loss, take-profit and liquidation fire on a
  candle's high/low, filled at the level, or at the candle's open when the open is already through it;
  when one candle touches both an adverse level and the target, the adverse level (stop or liquidation)
  wins. All exits between cycles are taker fills with slippage, except, with ``take_profit_maker``,
  a take-profit (or ladder level) the price comes to: its resting limit order fills at the level as
  a maker (no slippage, maker fee); gapped through at a candle's open it fills there as a taker.
- adding (``add``): the entry becomes the quantity-weighted average of the old entry and the new
  fill, the margins add up (leverage = notional at entry / margin), the addition's fee is paid, the
  new exit plan replaces the old one. A partial close (``close(..., quantity=q)``) releases margin,
  entry fee and funding pro rata (see the ladder below); a reversal is a close, then an open.
- take-profit ladder (``open(..., take_profit=[(price, close_fraction), ...])``): each level is a
  partial take-profit checked on every candle like the target (at the level, or at the open when the
  open is already through it), closing ``close_fraction`` of the position's *original* quantity (the
  last remaining level, or a level asking for at least what remains, closes the rest). A part is a
  ``Trade`` with exit reason ``take_profit_<n>`` (n = the level, 1 nearest the entry) and the part's
  quantity; its margin, entry fee and funding paid so far are released pro rata (``part / held``), so
  the parts' realized PnL, fees and cash add up to one close of the same quantities at the same
  prices. The position stays open with the remainder (same entry price, leverage and liquidation
  price); the stop-loss and liquidation apply to what remains, and a stop or liquidation touched in
  the same candle as a level still wins over the level (levels gapped through at the open fill first).
  With a ladder, ``profit_target`` (its last level's price) is not checked on its own.

Fees can change over time (``fee_schedule``: from a time on, other taker/maker rates; Alpha Arena's
accounts went from 4.5/1.5 bp to 4.0/1.2 bp on 2025-10-22 00:00 UTC), each fill paying the rate in
force at its time; and each coin can have its own maintenance margin rate (``coin_maintenance_margin``;
Hyperliquid's is half the initial margin at the coin's maximum leverage: BTC 40x -> 1.25%, ETH 25x ->
2%, SOL and XRP 20x -> 2.5%, DOGE and BNB 10x -> 5%, per its "Margin tiers" page).

Defaults follow Hyperliquid: taker 4.5 bp, maker 1.5 bp. ``maintenance_margin_rate`` defaults to
0.025: Hyperliquid sets maintenance margin to half the initial margin at the coin's maximum leverage,
and 0.5 / 20 (the arena's default maximum leverage) = 0.025. Leverage must stay below
``1 / maintenance_margin_rate`` (40x by default) or a position would open already liquidated.

Arithmetic is plain IEEE-754 float64 in a fixed order, so the same inputs give the same ledger bit for bit.
Misuse (opening a coin that has a position, closing one that has none, non-positive or non-finite
quantity/price/leverage, not enough cash) raises ``ValueError``; ``risk.validate`` keeps model input
from reaching these.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Mapping


from arena_tui.engine.account import (
    AccountSnapshot,
    ExitReason,
    Fill,
    FundingPayment,
    Liquidity,
    Position,
    TakeProfitLevel,
    Trade,
)
from arena_tui.engine.market.base import Candles, FundingHistory, timeframe_ms

DEFAULT_STARTING_CASH = 10_000.0
DEFAULT_TAKER_FEE_BP = 4.5
DEFAULT_MAKER_FEE_BP = 1.5
DEFAULT_MAINTENANCE_MARGIN_RATE = 0.025
"""0.5 / 20: Hyperliquid's "half the initial margin at maximum leverage" for a 20x maximum."""

BP = 10_000.0


# ---------------------------------------------------------------------------------------------
# Arithmetic shared with ``risk.validate``: the risk layer calls these so that its cash check and
# the ledger's agree to the last bit.


def fill_price(reference_price: float, trade_side: int, slippage_bp: float) -> float:
    """The fill price of a trade at ``reference_price`` (USD) after slippage against the trader.

    ``trade_side`` is the direction of the trade itself: +1 buy (fills higher), -1 sell (fills lower).
    """
    return reference_price * (1.0 + trade_side * (slippage_bp / BP))


def entry_cost(quantity: float, price: float, leverage: float, fee_bp: float) -> tuple[float, float, float]:
    """``(notional, margin, fee)`` in USD of opening ``quantity`` at fill ``price`` with ``leverage``."""
    notional = quantity * price
    margin = notional / leverage
    fee = notional * (fee_bp / BP)
    return notional, margin, fee


def exit_amounts(
    side: int, quantity: float, entry_price: float, margin: float, price: float, fee_bp: float, *, cross: bool = False
) -> tuple[float, float, float, float]:
    """``(notional, realized_pnl, fee, cash_returned)`` in USD of closing a position at fill ``price``.

    ``cash_returned = margin + realized_pnl - fee``, never below zero: a gap past the liquidation
    price first waives the fee, then caps the loss at the margin (isolated margin). ``cross``: the
    account stands behind the position, so nothing is capped (``cash_returned`` may be negative; the
    ledger caps the account, not the position).
    """
    notional = quantity * price
    pnl = side * quantity * (price - entry_price)
    fee = notional * (fee_bp / BP)
    if cross:
        return notional, pnl, fee, margin + pnl - fee
    available = margin + pnl
    if available <= 0.0:
        pnl = -margin
        fee = 0.0
        return notional, pnl, fee, 0.0
    if available < fee:
        fee = available
        return notional, pnl, fee, 0.0
    return notional, pnl, fee, available - fee


def liquidation_price(side: int, entry_price: float, quantity: float, margin: float, maintenance_margin_rate: float) -> float:
    """Price (USD) at which ``margin + unrealized PnL == quantity x price x maintenance_margin_rate``.

    ``(entry - side x margin / quantity) / (1 - side x mmr)``; 0.0 when that is <= 0 (never liquidated).
    """
    p = (entry_price - side * (margin / quantity)) / (1.0 - side * maintenance_margin_rate)
    return p if p > 0.0 else 0.0


def seed_value(account: Any) -> float:
    """The value of a seeded account (``config.AccountSeed``) at its positions' ``mark_price`` (entry
    price when 0): ``cash + sum(quantity x entry / leverage + side x quantity x (mark - entry))``, USD,
    in the order ``Ledger.seed`` then ``Ledger.account_value`` add it up."""
    value = float(account.cash)
    for p in account.positions:
        side = 1 if p.side == "long" else -1
        entry = float(p.entry_price)
        mark = float(p.mark_price) or entry
        value += float(p.quantity) * entry / float(p.leverage) + side * float(p.quantity) * (mark - entry)
    return value


def _check_size(coin: str, quantity: Any, price: Any, leverage: Any) -> None:
    """Raises ``ValueError`` unless quantity, price and leverage are positive finite numbers."""
    for name, value in (("quantity", quantity), ("price", price), ("leverage", leverage)):
        if not _finite(value) or value <= 0:
            raise ValueError(f"{coin}: {name} must be a positive finite number, got {value!r}.")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


MAX_TAKE_PROFIT_LEVELS = 5
"""Most levels a take-profit ladder may have (``risk`` refuses longer ladders, the ledger too)."""

_WHOLE = 1.0 - 1e-9
"""A ladder part of at least this share of what is held closes all of it (no dust left open)."""


@dataclass
class _Exit:
    """One exit found by ``settle`` before it is applied to cash (internal). ``part``: for a ladder
    part, ``(quantity, margin, entry_fee, funding_paid)`` released at that moment of the walk; None
    for a whole exit (``_close`` reads the position)."""

    coin: str
    time: int
    reference_price: float
    reason: ExitReason
    part: tuple[float, float, float, float] | None = None
    maker: bool = False
    """A resting take-profit order filled at its level (``Ledger.take_profit_maker``)."""


class Ledger:
    """One agent's paper perps account (isolated margin, one position per coin, long or short).

    Attributes: ``cash`` (free collateral, USD), ``positions`` (coin -> ``Position``), ``trades``
    (closed ``Trade``s, oldest first), ``fills`` (every ``Fill``), ``funding_payments``,
    ``fees_paid``, ``funding_paid`` and ``realized_pnl`` (running USD totals, gross of fees).

    Parameters: ``starting_cash`` (USD), ``taker_fee_bp`` / ``maker_fee_bp`` (basis points of notional),
    ``slippage_bp`` (basis points against the trader on every taker fill), ``maintenance_margin_rate``
    (fraction of notional; default 0.025, see the module docstring). Raises ``ValueError`` for
    negative or non-finite parameters.
    """

    def __init__(
        self,
        starting_cash: float = DEFAULT_STARTING_CASH,
        *,
        taker_fee_bp: float = DEFAULT_TAKER_FEE_BP,
        maker_fee_bp: float = DEFAULT_MAKER_FEE_BP,
        slippage_bp: float = 0.0,
        maintenance_margin_rate: float = DEFAULT_MAINTENANCE_MARGIN_RATE,
        coin_maintenance_margin: Mapping[str, float] | None = None,
        fee_schedule: Any = (),
        take_profit_maker: bool = False,
        margin_mode: str = "isolated",
    ) -> None:
        for name, value in (
            ("starting_cash", starting_cash),
            ("taker_fee_bp", taker_fee_bp),
            ("maker_fee_bp", maker_fee_bp),
            ("slippage_bp", slippage_bp),
            ("maintenance_margin_rate", maintenance_margin_rate),
        ):
            if not _finite(value) or value < 0:
                raise ValueError(f"ledger {name} must be a finite number >= 0, got {value!r}.")
        if maintenance_margin_rate >= 1.0:
            raise ValueError(f"maintenance_margin_rate must be below 1, got {maintenance_margin_rate!r}.")
        self.starting_cash = float(starting_cash)
        self.taker_fee_bp = float(taker_fee_bp)
        self.maker_fee_bp = float(maker_fee_bp)
        self.slippage_bp = float(slippage_bp)
        self.maintenance_margin_rate = float(maintenance_margin_rate)
        self.coin_maintenance_margin: dict[str, float] = {}
        for coin, rate in (coin_maintenance_margin or {}).items():
            if not _finite(rate) or not 0 <= rate < 1:
                raise ValueError(f"{coin}: maintenance margin rate must be a finite number in [0, 1), got {rate!r}.")
            self.coin_maintenance_margin[str(coin).upper()] = float(rate)
        tiers = []
        for start, taker, maker in fee_schedule:
            for name, value in (("taker_fee_bp", taker), ("maker_fee_bp", maker)):
                if not _finite(value) or value < 0:
                    raise ValueError(f"fee schedule {name} must be a finite number >= 0, got {value!r}.")
            tiers.append((int(start), float(taker), float(maker)))
        self.fee_schedule: tuple[tuple[int, float, float], ...] = tuple(sorted(tiers))
        """(from ms, taker bp, maker bp), oldest first: from each time on, its rates replace the
        base ones (``fee_bp``)."""
        if margin_mode not in ("isolated", "cross"):
            raise ValueError(f"margin_mode must be 'isolated' or 'cross', got {margin_mode!r}.")
        self.cross = margin_mode == "cross"
        """Cross margin: the account's free cash and other positions stand behind each position (see
        the module docstring)."""
        self.take_profit_maker = bool(take_profit_maker)
        """Take-profit levels rest as limit orders: filled at the level as a maker (no slippage, maker
        fee) when the price comes to them, as a taker at the open when a candle gaps through them."""
        self.cash = float(starting_cash)
        self.positions: dict[str, Position] = {}
        self.trades: list[Trade] = []
        self.fills: list[Fill] = []
        self.funding_payments: list[FundingPayment] = []
        self.fees_paid = 0.0
        self.funding_paid = 0.0
        self.realized_pnl = 0.0
        # per coin: close time of the last candle settled / last funding time paid, so that settling
        # overlapping windows twice never double-counts.
        self._candles_done: dict[str, int] = {}
        self._funding_done: dict[str, int] = {}
        self._snapshot: tuple | None = None  # the last ``snapshot()`` and what it was taken from

    # -- reading ---------------------------------------------------------------------------------

    @property
    def account_value(self) -> float:
        """``cash + sum(margin + unrealized PnL)`` over open positions, USD."""
        value = self.cash
        for p in self.positions.values():
            value += p.margin + p.unrealized_pnl
        return value

    @property
    def unrealized_pnl(self) -> float:
        """Sum of the open positions' unrealized PnL at their last mark, USD."""
        total = 0.0
        for p in self.positions.values():
            total += p.unrealized_pnl
        return total

    def snapshot(self) -> AccountSnapshot:
        """The account now, as an immutable ``AccountSnapshot``.

        Taken again with nothing changed in between (a cycle takes one for the prompt and one for
        its account event; an account that did not trade and is marked at the same prices), it is
        the same object: every figure it holds is a float or a frozen ``Position`` the ledger
        replaces, never edits, so the same objects mean the same snapshot."""
        cash, realized, fees, funding, start = self.cash, self.realized_pnl, self.fees_paid, self.funding_paid, self.starting_cash
        last = self._snapshot
        if (
            last is not None
            and last[1] is cash
            and last[2] is realized
            and last[3] is fees
            and last[4] is funding
            and last[5] is start
            and len(last[6]) == len(self.positions)
        ):
            for was, now in zip(last[6], self.positions.values()):
                if was is not now:
                    break
            else:
                return last[0]
        positions = tuple(self.positions.values())
        value = cash
        unrealized = 0.0
        for p in positions:  # (``account_value`` and ``unrealized_pnl``, the same sums in one pass)
            value += p.margin + p.unrealized_pnl
            unrealized += p.unrealized_pnl
        snap = AccountSnapshot(
            starting_cash=start,
            cash=cash,
            account_value=value,
            positions=positions,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            fees_paid=fees,
            funding_paid=funding,
        )
        # the objects themselves are kept (not only compared): none can be freed and its id reused
        self._snapshot = (snap, cash, realized, fees, funding, start, positions)
        return snap

    def fee_bp(self, liquidity: Liquidity = "taker", time: int | None = None) -> float:
        """The fee rate in basis points for ``"taker"`` or ``"maker"`` fills at ``time`` (ms): the
        latest ``fee_schedule`` tier starting at or before it, else the base rates (also when
        ``time`` is None)."""
        taker, maker = self.taker_fee_bp, self.maker_fee_bp
        if time is not None:
            for start, t_bp, m_bp in self.fee_schedule:
                if start > time:
                    break
                taker, maker = t_bp, m_bp
        return maker if liquidity == "maker" else taker

    def cross_buffer(self, coin: str) -> float:
        """Cross margin: what stands behind ``coin``'s position besides its own margin, USD: free cash
        plus every other position's margin and unrealized PnL less its maintenance margin (at its
        last mark). 0.0 with isolated margin."""
        if not self.cross:
            return 0.0
        buffer = self.cash
        for c, p in self.positions.items():
            if c != coin:
                buffer += p.margin + p.unrealized_pnl - p.quantity * p.mark_price * self.mmr(c)
        return buffer

    def _refresh_liquidation(self) -> None:
        """Cross margin: every position's liquidation price from the account as it stands now."""
        if not self.cross:
            return
        for coin, p in list(self.positions.items()):
            liq = liquidation_price(p.side, p.entry_price, p.quantity, p.margin + self.cross_buffer(coin), self.mmr(coin))
            if liq != p.liquidation_price:
                self.positions[coin] = _replace(p, liquidation_price=liq)

    def mmr(self, coin: str) -> float:
        """``coin``'s maintenance margin rate (fraction of notional): its own, else the ledger's."""
        return self.coin_maintenance_margin.get(coin, self.maintenance_margin_rate)

    def seed(self, account: Any, *, time: int) -> None:
        """Start from ``account`` (a ``config.AccountSeed``: ``cash``, ``starting_value``, ``positions``)
        instead of cash alone, as of ``time`` (ms; the session's start).

        Each ``config.SeedPosition`` becomes an open isolated position with margin ``quantity x
        entry_price / leverage`` and no entry fee (it was paid before the session), marked at its
        ``mark_price`` (its entry price when 0), opened at its ``entry_time`` (``time`` when unset);
        candles and funding are settled from ``time`` on.
        ``starting_value`` (0: keep ``starting_cash``) becomes the base of the return. Afterwards
        ``account_value == seed_value(account)``. Raises ``ValueError`` on a ledger that has traded,
        on two positions in one coin, or on a position the ledger could not hold (see ``open``)."""
        if self.fills or self.positions or self.trades:
            raise ValueError("only a ledger that has not traded can be seeded with an account.")
        cash = float(account.cash)
        if not _finite(cash) or cash < 0:
            raise ValueError(f"seed cash must be a finite number >= 0, got {cash!r}.")
        if account.starting_value:
            self.starting_cash = float(account.starting_value)
        time = int(time)
        for p in account.positions:
            coin = str(p.coin).upper()
            mmr = self.mmr(coin)
            if coin in self.positions:
                raise ValueError(f"{coin}: the seed holds two positions in it; one position per coin.")
            side = 1 if p.side == "long" else -1
            quantity, entry, leverage = float(p.quantity), float(p.entry_price), float(p.leverage)
            for name, value in (("quantity", quantity), ("entry_price", entry), ("leverage", leverage)):
                if not _finite(value) or value <= 0:
                    raise ValueError(f"{coin}: seed {name} must be a positive finite number, got {value!r}.")
            if leverage * mmr >= 1.0:
                raise ValueError(f"{coin}: seed leverage {leverage}x is at or past the liquidation price at maintenance margin rate {mmr}.")
            mark = float(p.mark_price) or entry
            margin = quantity * entry / leverage
            opened = time
            if getattr(p, "entry_time", ""):
                from arena_tui.engine.market.base import parse_time

                opened = min(time, parse_time(p.entry_time))
            self.positions[coin] = Position(
                coin=coin,
                side=side,
                quantity=quantity,
                entry_price=entry,
                leverage=leverage,
                margin=margin,
                entry_time=opened,
                entry_fee=0.0,
                liquidation_price=liquidation_price(side, entry, quantity, margin, mmr),
                mark_price=mark,
                unrealized_pnl=side * quantity * (mark - entry),
                stop_loss=None if p.stop_loss is None else float(p.stop_loss),
                profit_target=None if p.profit_target is None else float(p.profit_target),
                invalidation_condition=p.invalidation_condition or None,
                confidence=p.confidence,
                risk_usd=p.risk_usd,
            )
            self._candles_done[coin] = time
            self._funding_done[coin] = time
        self.cash = cash
        self._refresh_liquidation()

    # -- trading ---------------------------------------------------------------------------------

    def open(
        self,
        coin: str,
        side: int,
        quantity: float,
        price: float,
        leverage: float,
        *,
        time: int,
        stop_loss: float | None = None,
        profit_target: float | None = None,
        invalidation_condition: str | None = None,
        confidence: float | None = None,
        risk_usd: float | None = None,
        liquidity: Liquidity = "taker",
        take_profit: Any = None,
    ) -> Fill:
        """Open a ``side`` (+1 long, -1 short) position of ``quantity`` coins at reference ``price`` (USD).

        Taker by default: filled at ``price`` moved against the trader by the slippage, paying the
        taker fee; ``liquidity="maker"`` fills exactly at ``price`` paying the maker fee.
        ``take_profit``: a ladder, ``[(price USD, close_fraction 0-1], ...)`` nearest level first (see
        the module docstring), or None. Returns the ``Fill``. Raises ``ValueError`` when the coin
        already has a position, when ``side`` is not +/-1, when quantity, price or leverage is not a
        positive finite number, when ``leverage x maintenance_margin_rate >= 1``, when a ladder level
        is not a positive finite price with a fraction in (0, 1] (or there are more than
        ``MAX_TAKE_PROFIT_LEVELS``), or when ``margin + fee`` exceeds ``cash``.
        """
        if coin in self.positions:
            raise ValueError(f"{coin} already has an open position; close it before opening another.")
        if side not in (1, -1):
            raise ValueError(f"side must be +1 (long) or -1 (short), got {side!r}.")
        _check_size(coin, quantity, price, leverage)
        for name, value in (("stop_loss", stop_loss), ("profit_target", profit_target)):
            if value is not None and not _finite(value):
                raise ValueError(f"{coin}: {name} must be a finite number or None, got {value!r}.")
        ladder = _ladder(coin, take_profit)
        mmr = self._leverage_mmr(coin, leverage)
        side = int(side)
        quantity, price, leverage = float(quantity), float(price), float(leverage)
        maker = liquidity == "maker"
        fill, notional, margin, fee = self._pay_entry(coin, side, quantity, price, leverage, liquidity, int(time))
        time = int(time)
        self.positions[coin] = Position(
            coin=coin,
            side=side,
            quantity=quantity,
            entry_price=fill,
            leverage=leverage,
            margin=margin,
            entry_time=time,
            entry_fee=fee,
            liquidation_price=liquidation_price(side, fill, quantity, margin, mmr),
            mark_price=price,
            unrealized_pnl=side * quantity * (price - fill),
            stop_loss=None if stop_loss is None else float(stop_loss),
            profit_target=None if profit_target is None else float(profit_target),
            invalidation_condition=invalidation_condition,
            confidence=confidence,
            risk_usd=risk_usd,
            funding_paid=0.0,
            take_profit=ladder,
            initial_quantity=quantity if ladder else 0.0,
        )
        self._candles_done[coin] = time
        self._funding_done[coin] = time
        result = Fill(
            coin=coin,
            side=side,
            quantity=quantity,
            price=fill,
            reference_price=price,
            notional=notional,
            fee=fee,
            leverage=leverage,
            margin=margin,
            time=time,
            action="open",
            reason="agent",
            liquidity="maker" if maker else "taker",
        )
        self.fills.append(result)
        self._refresh_liquidation()
        return result

    def _leverage_mmr(self, coin: str, leverage: float) -> float:
        """``coin``'s maintenance margin rate; raises ``ValueError`` when ``leverage`` would open at or
        past the liquidation price with it."""
        mmr = self.mmr(coin)
        if leverage * mmr >= 1.0:
            raise ValueError(
                f"{coin}: leverage {leverage}x with maintenance margin rate {mmr} "
                "would open at or past the liquidation price."
            )
        return mmr

    def _pay_entry(
        self, coin: str, side: int, quantity: float, price: float, leverage: float, liquidity: Liquidity, time: int
    ) -> tuple[float, float, float, float]:
        """Pay for an entry (an open or an addition) of ``quantity`` at reference ``price``: returns
        ``(fill price, notional, margin, fee)`` after taking margin + fee from cash. Raises
        ``ValueError`` when cash does not cover them."""
        fill = price if liquidity == "maker" else fill_price(price, side, self.slippage_bp)
        notional, margin, fee = entry_cost(quantity, fill, leverage, self.fee_bp(liquidity, time))
        cost = margin + fee
        if cost > self.cash:
            raise ValueError(f"{coin}: margin + fee ${cost:,.2f} exceeds free cash ${self.cash:,.2f}.")
        self.cash = self.cash - cost
        self.fees_paid += fee
        return fill, notional, margin, fee

    def add(
        self,
        coin: str,
        side: int,
        quantity: float,
        price: float,
        leverage: float,
        *,
        time: int,
        stop_loss: float | None = None,
        profit_target: float | None = None,
        invalidation_condition: str | None = None,
        confidence: float | None = None,
        liquidity: Liquidity = "taker",
        take_profit: Any = None,
    ) -> Fill:
        """Add ``quantity`` coins to the open ``side`` position in ``coin`` at reference ``price`` (USD)
        with ``leverage`` for the addition; returns its ``Fill`` (action "open").

        As a venue does: the position's entry becomes the quantity-weighted average of the old entry
        and the fill, its margin the sum (so its leverage is ``notional at entry / margin``), its
        entry fee and funding paid carry on, the fee of the addition is paid now, its entry time stays
        the first entry's, and the exit plan given here replaces the old one (where given).
        Raises ``ValueError`` when there is no position on that side, or as ``open`` does."""
        pos = self.positions.get(coin)
        if pos is None or pos.side != side:
            raise ValueError(f"{coin} has no open {'long' if side > 0 else 'short'} to add to.")
        _check_size(coin, quantity, price, leverage)
        mmr = self._leverage_mmr(coin, leverage)
        ladder = _ladder(coin, take_profit)
        quantity, price, leverage = float(quantity), float(price), float(leverage)
        maker = liquidity == "maker"
        fill, notional, margin, fee = self._pay_entry(coin, side, quantity, price, leverage, liquidity, int(time))
        total = pos.quantity + quantity
        entry = (pos.quantity * pos.entry_price + quantity * fill) / total
        held_margin = pos.margin + margin
        self.positions[coin] = _replace(
            pos,
            quantity=total,
            entry_price=entry,
            leverage=total * entry / held_margin,
            margin=held_margin,
            entry_fee=pos.entry_fee + fee,
            liquidation_price=liquidation_price(side, entry, total, held_margin, mmr),
            mark_price=price,
            unrealized_pnl=side * total * (price - entry),
            stop_loss=pos.stop_loss if stop_loss is None else float(stop_loss),
            profit_target=pos.profit_target if profit_target is None else float(profit_target),
            invalidation_condition=invalidation_condition or pos.invalidation_condition,
            confidence=pos.confidence if confidence is None else confidence,
            take_profit=ladder if ladder else (),
            initial_quantity=total if ladder else 0.0,
        )
        result = Fill(
            coin=coin, side=side, quantity=quantity, price=fill, reference_price=price, notional=notional, fee=fee,
            leverage=leverage, margin=margin, time=int(time), action="open", reason="agent",
            liquidity="maker" if maker else "taker",
        )
        self.fills.append(result)
        self._refresh_liquidation()
        return result

    def close(
        self,
        coin: str,
        price: float,
        *,
        time: int,
        reason: ExitReason = "agent",
        liquidity: Liquidity = "taker",
        quantity: float | None = None,
    ) -> Trade:
        """Close the position in ``coin`` at reference ``price`` (USD); returns the ``Trade``.

        ``quantity`` (coins) closes only that part (None: all of it; at least what is held, within
        one part in 10^9, closes all of it): its margin, entry fee and funding paid are released pro
        rata and the position stays open with the rest. Taker by default (slippage against the
        trader, taker fee); ``liquidity="maker"`` fills at ``price`` with the maker fee. Raises
        ``ValueError`` when there is no position, ``price`` is not a positive finite number or
        ``quantity`` is not a positive finite number.
        """
        if coin not in self.positions:
            raise ValueError(f"{coin} has no open position to close.")
        if not _finite(price) or price <= 0:
            raise ValueError(f"{coin}: close price must be a positive finite number, got {price!r}.")
        if quantity is not None:
            if not _finite(quantity) or quantity <= 0:
                raise ValueError(f"{coin}: the quantity to close must be a positive finite number, got {quantity!r}.")
            pos = self.positions[coin]
            q = float(quantity)
            if q < pos.quantity * _WHOLE:
                frac = q / pos.quantity
                part = (q, pos.margin * frac, pos.entry_fee * frac, pos.funding_paid * frac)
                trade = self._book_part(coin, part, float(price), int(time), reason, liquidity)
                self.positions[coin] = _reduced(pos, part, self.mmr(coin))
                self._refresh_liquidation()
                return trade
        trade = self._close(coin, float(price), int(time), reason, liquidity)
        self._refresh_liquidation()
        return trade

    def close_all(self, prices: Mapping[str, float], *, time: int, reason: ExitReason = "session_end") -> list[Trade]:
        """Close every open position at ``prices[coin]`` (or its last mark when missing); returns the trades."""
        out = []
        for coin in list(self.positions):
            p = prices.get(coin)
            if not _finite(p) or p <= 0:
                p = self.positions[coin].mark_price
            out.append(self._close(coin, float(p), int(time), reason, "taker"))
        return out

    def execute(self, order: Any, *, time: int) -> Fill | Trade:
        """Execute a ``risk.Order`` at its ``reference_price``: ``open`` -> ``Fill``, ``close`` -> ``Trade``.

        Execute a ``RiskResult``'s orders in the order given (closes come first) so that the cash the
        risk check counted on is there. Raises ``ValueError`` as ``open``/``close`` do.
        """
        if order.action == "close":
            pos = self.positions.get(order.coin)
            part = pos is not None and order.quantity < pos.quantity * _WHOLE
            return self.close(order.coin, order.reference_price, time=time, reason="agent", quantity=order.quantity if part else None)
        held = self.positions.get(order.coin)
        if held is not None and held.side == order.side:  # the risk rules allowed adding to it
            return self.add(
                order.coin, order.side, order.quantity, order.reference_price, order.leverage, time=time,
                stop_loss=order.stop_loss, profit_target=order.profit_target,
                invalidation_condition=order.invalidation_condition, confidence=order.confidence,
                take_profit=getattr(order, "take_profit", None),
            )
        return self.open(
            order.coin,
            order.side,
            order.quantity,
            order.reference_price,
            order.leverage,
            time=time,
            stop_loss=order.stop_loss,
            profit_target=order.profit_target,
            invalidation_condition=order.invalidation_condition,
            confidence=order.confidence,
            risk_usd=order.risk_usd,
            take_profit=getattr(order, "take_profit", None),
        )

    def _book_part(
        self, coin: str, part: tuple[float, float, float, float], price: float, time: int, reason: ExitReason, liquidity: Liquidity
    ) -> Trade:
        """Book the close of ``part`` = (quantity, margin, entry fee, funding paid) of the position in
        ``coin`` at reference ``price``: cash, fees, realized PnL, the fill and the trade. The position
        itself is left as it is (the caller reduces it)."""
        pos = self.positions[coin]
        q, margin, entry_fee, funding = part
        maker = liquidity == "maker"
        fill = price if maker else fill_price(price, -pos.side, self.slippage_bp)
        notional, pnl, fee, returned = exit_amounts(pos.side, q, pos.entry_price, margin, fill, self.fee_bp(liquidity, time), cross=self.cross)
        self.cash = max(0.0, self.cash + returned)  # (cross: an account gapped below zero is the venue's loss)
        self.fees_paid += fee
        self.realized_pnl += pnl
        self.fills.append(
            Fill(
                coin=coin, side=pos.side, quantity=q, price=fill, reference_price=price, notional=notional, fee=fee,
                leverage=pos.leverage, margin=margin, time=time, action="close", reason=reason,
                liquidity="maker" if maker else "taker",
            )
        )
        trade = Trade(
            coin=coin, side=pos.side, quantity=q, leverage=pos.leverage, entry_time=pos.entry_time, exit_time=time,
            entry_price=pos.entry_price, exit_price=fill, entry_fee=entry_fee, exit_fee=fee, funding_paid=funding,
            realized_pnl=pnl, net_pnl=pnl - entry_fee - fee - funding, exit_reason=reason, confidence=pos.confidence,
            exit_reference_price=price,
        )
        self.trades.append(trade)
        return trade

    def _close(self, coin: str, price: float, time: int, reason: ExitReason, liquidity: Liquidity) -> Trade:
        pos = self.positions.pop(coin)
        maker = liquidity == "maker"
        fill = price if maker else fill_price(price, -pos.side, self.slippage_bp)
        notional, pnl, fee, returned = exit_amounts(
            pos.side, pos.quantity, pos.entry_price, pos.margin, fill, self.fee_bp(liquidity, time), cross=self.cross
        )
        self.cash = max(0.0, self.cash + returned)  # (cross: an account gapped below zero is the venue's loss)
        self.fees_paid += fee
        self.realized_pnl += pnl
        self.fills.append(
            Fill(
                coin=coin,
                side=pos.side,
                quantity=pos.quantity,
                price=fill,
                reference_price=price,
                notional=notional,
                fee=fee,
                leverage=pos.leverage,
                margin=pos.margin,
                time=time,
                action="close",
                reason=reason,
                liquidity="maker" if maker else "taker",
            )
        )
        trade = Trade(
            coin=coin,
            side=pos.side,
            quantity=pos.quantity,
            leverage=pos.leverage,
            entry_time=pos.entry_time,
            exit_time=time,
            entry_price=pos.entry_price,
            exit_price=fill,
            entry_fee=pos.entry_fee,
            exit_fee=fee,
            funding_paid=pos.funding_paid,
            realized_pnl=pnl,
            net_pnl=pnl - pos.entry_fee - fee - pos.funding_paid,
            exit_reason=reason,
            confidence=pos.confidence,
            exit_reference_price=price,
        )
        self.trades.append(trade)
        return trade

    # -- marking and settling --------------------------------------------------------------------

    def mark(self, prices: Mapping[str, float]) -> None:
        """Revalue open positions at ``prices`` (coin -> mark price, USD).

        Coins missing from ``prices`` or with a non-positive / non-finite price keep their last mark.
        Marking never triggers exits; ``settle`` does (on the candles between cycles).
        """
        positions = self.positions
        for coin, pos in list(positions.items()):
            p = prices.get(coin)
            if type(p) is float:  # (the usual case: one comparison says finite and positive)
                if not 0.0 < p < math.inf:
                    continue
            elif not _finite(p) or p <= 0:
                continue
            else:
                p = float(p)
            pnl = pos.side * pos.quantity * (p - pos.entry_price)
            if p == pos.mark_price and pnl == pos.unrealized_pnl and pnl != 0.0:
                continue  # marked at this price already (the cycle's second mark): the same bits, keep it
            new = object.__new__(Position)  # (``_replace`` without its keyword dict: per position per mark)
            d = new.__dict__
            d.update(pos.__dict__)
            d["mark_price"] = p
            d["unrealized_pnl"] = pnl
            positions[coin] = new
        if self.cross:
            self._refresh_liquidation()

    def settle(
        self,
        candles: Mapping[str, Candles],
        funding: Mapping[str, FundingHistory] | None = None,
    ) -> list[Trade | FundingPayment]:
        """Walk the candles and funding times since the last cycle; returns what happened, in time order.

        ``candles`` maps coin -> the finest-timeframe candles between cycles (oldest first);
        ``funding`` maps coin -> funding times in the same window. For each open position, only
        candles that open at or after its entry time and close after the last settled candle are
        walked, and only funding times after its entry time and after the last one paid, so settling
        an overlapping window twice changes nothing. Per candle: a stop-loss, take-profit or
        liquidation level inside the candle's high/low closes the position at the level, or at the
        candle's open when the open is already through it; when one candle touches both, the adverse
        level wins (stop-loss, or liquidation when it lies before the stop). A funding time pays
        ``side x quantity x mark x rate`` out of the position's margin, ``mark`` being the close of the
        candle closing at or just before it (the position's last mark when none was given); the
        position is then liquidated at that mark if its equity is at or below maintenance margin.
        Funding times after the last candle use the last close. Exits are timed at the close time of
        their candle (ms); the returned list holds ``Trade``s and ``FundingPayment``s ordered by time,
        ties in position order. Open positions end marked at their last candle's close.
        """
        funding = funding or {}
        ops: list[tuple[int, int, object]] = []  # (time, seq, op); seq keeps the walk order on ties
        seq = 0
        for coin in list(self.positions):
            pos = self.positions[coin]
            for op in self._walk(pos, candles.get(coin), funding.get(coin)):
                ops.append((op[0], seq, op[1]))
                seq += 1
        out: list[Trade | FundingPayment] = []
        if not ops:  # (most cycles: the positions ride on)
            if self.cross:
                self._refresh_liquidation()
            return out
        ops.sort(key=lambda e: (e[0], e[1]))
        for _, _, op in ops:
            if isinstance(op, FundingPayment):
                self.funding_paid += op.amount
                self.funding_payments.append(op)
                out.append(op)
            else:
                assert isinstance(op, _Exit)
                liquidity = "maker" if op.maker else "taker"
                if op.part is not None:  # a ladder level: the position (as the walk left it) stays open
                    out.append(self._book_part(op.coin, op.part, op.reference_price, op.time, op.reason, liquidity))
                else:
                    out.append(self._close(op.coin, op.reference_price, op.time, op.reason, liquidity))
        self._refresh_liquidation()
        return out

    def _walk(
        self, pos: Position, candles: Candles | None, funding: FundingHistory | None
    ) -> list[tuple[int, object]]:
        """Walk one position through its candles and funding times; updates ``self.positions[coin]``
        (margin, funding, liquidation price, mark) and returns ``(time, FundingPayment | _Exit)`` in
        order. Cash is untouched here: exits are applied by ``settle`` in global time order."""
        coin = pos.coin
        side = pos.side
        qty = pos.quantity
        entry = pos.entry_price
        margin = pos.margin
        funding_paid = pos.funding_paid
        entry_fee = pos.entry_fee
        risk_usd = pos.risk_usd
        ladder = pos.take_profit
        initial = pos.initial_quantity or qty
        mmr = self.coin_maintenance_margin.get(coin, self.maintenance_margin_rate)  # (``mmr``)
        buffer = self.cross_buffer(coin) if self.cross else 0.0  # cross margin: the rest of the account, at its last marks
        liq = pos.liquidation_price
        stop = pos.stop_loss
        target = pos.profit_target
        mark = pos.mark_price
        done_candles = self._candles_done.get(coin, pos.entry_time)
        done_funding = self._funding_done.get(coin, pos.entry_time)
        events: list[tuple[int, object]] = []

        # funding times to pay, oldest first
        # (the arrays are read as lists once and searched with ``bisect``, the same answers as
        # ``searchsorted`` on sorted times: a cycle walks a candle or two, where numpy's per-call
        # overhead is most of the work)
        f_ts: list[int] = []
        f_rate: list[float] = []
        if funding is not None and funding.ts.shape[0]:
            f_ts = funding.ts.tolist()
            a = bisect_right(f_ts, max(done_funding, pos.entry_time))
            if a:
                f_ts = f_ts[a:]
                f_rate = funding.rate[a:].tolist()
            else:
                f_rate = funding.rate.tolist()
        fi = 0
        nf = len(f_ts)

        resting = self.take_profit_maker

        # the helpers are made only for a walk with a ladder or funding to pay (most walks have
        # neither, and making the two closures is a tenth of such a walk): ``level_hit`` is only
        # called while ``ladder`` is not empty, ``pay`` only while ``fi < nf``
        if ladder or nf:
            def level_hit(t: int, at: float, maker: bool = False) -> bool:
                """The nearest ladder level fills at reference ``at`` (its price, ``maker`` when its
                order rests, or a gapped open) at ``t``; True when that closes the position (its last
                level, or all that remains)."""
                nonlocal qty, margin, funding_paid, entry_fee, risk_usd, liq, ladder
                lvl = ladder[0]
                ladder = ladder[1:]
                why = f"take_profit_{lvl.level}"
                q = lvl.close_fraction * initial
                if not ladder or q >= qty * _WHOLE:
                    events.append((t, _Exit(coin, t, at, why, None, maker)))
                    return True
                frac = q / qty
                part = (q, margin * frac, entry_fee * frac, funding_paid * frac)
                events.append((t, _Exit(coin, t, at, why, part, maker)))
                if risk_usd is not None:
                    risk_usd = risk_usd * ((qty - q) / qty)
                qty = qty - q
                margin = margin - part[1]
                entry_fee = entry_fee - part[2]
                funding_paid = funding_paid - part[3]
                liq = liquidation_price(side, entry, qty, margin + buffer, mmr)
                return False

            def pay(t: int, rate: float, at: float) -> bool:
                """Pay funding at ``t``; True when that liquidates the position."""
                nonlocal margin, funding_paid, liq, done_funding
                amount = side * qty * at * rate
                margin = margin - amount
                funding_paid += amount
                done_funding = t
                liq = liquidation_price(side, entry, qty, margin + buffer, mmr)
                events.append((t, FundingPayment(coin, t, rate, at, amount, side, qty)))
                if margin + buffer + side * qty * (at - entry) <= qty * at * mmr:
                    events.append((t, _Exit(coin, t, at, "liquidation")))
                    return True
                return False

        closed = False
        if candles is not None and candles.ts.shape[0]:
            tf = timeframe_ms(candles.timeframe)
            ts_l = candles.ts.tolist()
            n = len(ts_l)
            start = max(bisect_left(ts_l, pos.entry_time), bisect_right(ts_l, done_candles - tf))
            if start >= n:  # every candle walked already
                ts_l = op_l = hi_l = lo_l = cl_l = []
            elif start:
                ts_l = ts_l[start:]
                op_l = candles.open[start:].tolist()
                hi_l = candles.high[start:].tolist()
                lo_l = candles.low[start:].tolist()
                cl_l = candles.close[start:].tolist()
            else:
                op_l = candles.open.tolist()
                hi_l = candles.high.tolist()
                lo_l = candles.low.tolist()
                cl_l = candles.close.tolist()
            for i in range(len(ts_l)):
                t_open = ts_l[i]
                t_close = t_open + tf
                while fi < nf and f_ts[fi] <= t_open:
                    closed = pay(f_ts[fi], f_rate[fi], mark)
                    fi += 1
                    if closed:
                        break
                if closed:
                    break
                o, h, lo = op_l[i], hi_l[i], lo_l[i]
                done_candles = t_close
                maker = False
                # the first adverse level met on the way against the position
                adverse, why = liq, "liquidation"
                if stop is not None and side * (stop - liq) > 0:
                    adverse, why = stop, "stop_loss"
                ref = None
                if ladder:
                    done = False
                    if side * (o - adverse) <= 0:  # gapped through the stop / liquidation at the open
                        ref, why = o, ("liquidation" if side * (o - liq) <= 0 else why)
                    else:
                        while ladder and side * (o - ladder[0].price) >= 0:  # levels gapped through at the open
                            if level_hit(t_close, o):
                                done = True
                                break
                        if not done:
                            if side * (lo if side > 0 else h) <= side * adverse:  # the stop / liquidation on what remains
                                ref = adverse
                            else:
                                while ladder and side * ((h if side > 0 else lo) - ladder[0].price) >= 0:
                                    if level_hit(t_close, ladder[0].price, resting):
                                        done = True
                                        break
                    if done:
                        closed = True
                        break
                elif side > 0:
                    if o <= adverse:  # gapped through at the open
                        ref, why = o, ("liquidation" if o <= liq else why)
                    elif target is not None and o >= target:
                        ref, why = o, "take_profit"
                    elif lo <= adverse:
                        ref = adverse
                    elif target is not None and h >= target:
                        ref, why, maker = target, "take_profit", resting
                else:
                    if o >= adverse:
                        ref, why = o, ("liquidation" if o >= liq else why)
                    elif target is not None and o <= target:
                        ref, why = o, "take_profit"
                    elif h >= adverse:
                        ref = adverse
                    elif target is not None and lo <= target:
                        ref, why, maker = target, "take_profit", resting
                if ref is not None:
                    events.append((t_close, _Exit(coin, t_close, ref, why, None, maker)))  # type: ignore[arg-type]
                    closed = True
                    break
                mark = cl_l[i]
        if not closed:
            while fi < nf:
                closed = pay(f_ts[fi], f_rate[fi], mark)
                fi += 1
                if closed:
                    break
        self._candles_done[coin] = done_candles
        self._funding_done[coin] = done_funding
        # the position as it stands before any exit is applied (``_close`` reads margin and funding)
        if ladder is pos.take_profit:
            new = object.__new__(Position)  # (``_replace`` without its keyword dict: per position per cycle)
            d = new.__dict__
            d.update(pos.__dict__)
            d["margin"] = margin
            d["funding_paid"] = funding_paid
            d["liquidation_price"] = liq
            d["mark_price"] = mark
            d["unrealized_pnl"] = side * qty * (mark - entry)
            self.positions[coin] = new
        else:  # ladder levels filled: the remainder
            self.positions[coin] = _replace(
                pos,
                quantity=qty,
                margin=margin,
                funding_paid=funding_paid,
                entry_fee=entry_fee,
                risk_usd=risk_usd,
                take_profit=ladder,
                liquidation_price=liq,
                mark_price=mark,
                unrealized_pnl=side * qty * (mark - entry),
            )
        return events


def _ladder(coin: str, take_profit: Any) -> tuple[TakeProfitLevel, ...]:
    """``[(price, close_fraction), ...]`` (or ``TakeProfitLevel``s) -> numbered levels; raises
    ``ValueError`` for a level that is not a positive finite price with a fraction in (0, 1]."""
    if not take_profit:
        return ()
    levels = []
    for i, item in enumerate(take_profit, start=1):
        if isinstance(item, TakeProfitLevel):
            price, frac = item.price, item.close_fraction
        else:
            try:
                price, frac = item
            except (TypeError, ValueError):
                raise ValueError(f"{coin}: take-profit level {i} must be (price, close_fraction), got {item!r}.") from None
        if not _finite(price) or price <= 0 or not _finite(frac) or not 0.0 < frac <= 1.0:
            raise ValueError(f"{coin}: take-profit level {i} needs a positive finite price and a close fraction in (0, 1], got {item!r}.")
        levels.append(TakeProfitLevel(i, float(price), float(frac)))
    if len(levels) > MAX_TAKE_PROFIT_LEVELS:
        raise ValueError(f"{coin}: a take-profit ladder has at most {MAX_TAKE_PROFIT_LEVELS} levels, got {len(levels)}.")
    return tuple(levels)


def _reduced(pos: Position, part: tuple[float, float, float, float], mmr: float) -> Position:
    """``pos`` after ``part`` = (quantity, margin, entry fee, funding paid) of it closed."""
    q, margin, entry_fee, funding = part
    qty = pos.quantity - q
    m = pos.margin - margin
    return _replace(
        pos,
        quantity=qty,
        margin=m,
        entry_fee=pos.entry_fee - entry_fee,
        funding_paid=pos.funding_paid - funding,
        risk_usd=None if pos.risk_usd is None else pos.risk_usd * (qty / pos.quantity),
        liquidation_price=liquidation_price(pos.side, pos.entry_price, qty, m, mmr),
        unrealized_pnl=pos.side * qty * (pos.mark_price - pos.entry_price),
        initial_quantity=pos.initial_quantity or pos.quantity,
    )


def _replace(pos: Position, **changes: Any) -> Position:
    """``dataclasses.replace(pos, **changes)`` for the ledger's hot path (mark and settle run per
    position per cycle): copies the instance dict into a new ``Position`` without re-running the
    frozen ``__init__`` (which sets each field through ``object.__setattr__``). ``Position`` has no
    ``__post_init__`` or slots, so the result is the same object ``replace`` would build."""
    new = object.__new__(Position)
    d = new.__dict__
    d.update(pos.__dict__)
    d.update(changes)
    return new
