"""Risk rules: a model's per-coin decisions + its account + prices -> accepted orders and rejections.

``validate`` never raises, whatever the decisions hold (NaN, negative, None, strings, huge numbers):
every decision it refuses comes back as a ``Rejection`` with a rule id from ``RULES`` and a sentence
with the numbers. ``hold`` decisions produce neither. All bounds come from ``RiskLimits`` (config).
Entries the parser found for coins not traded (``parse.Decisions.unknown``) are refused as
``unknown_coin``, after the rejections of the other decisions; a hold for such a coin changes
nothing and is passed over.

Numbers in the sentences read the way a person reads them, all through one formatter (``_num``,
``_usd``): up to 6 significant digits with thousands separators (``0.18872``, ``112,000``,
``1,234,567``), cents for USD (``$1,234.56``), short scientific notation below 1e-4 and from 1e12
(``1e+308``, ``$4.5e+301``, ``1e-300``); a value that is missing or not a finite number is said in
words ("the quantity is missing or not a finite number", "is not a number (NaN)", "is infinite"),
never as Python spells it (``None``, ``nan``, ``inf``).

Rules are checked in the order of ``RULES``; a decision is refused by the first rule it breaks.
Closes are checked before entries (whatever their order in the mapping) and come first in
``RiskResult.orders``: execute the orders in that order, at each order's ``reference_price``, on a
ledger with the same fee and slippage, and the ledger's cash check will pass (the risk layer uses the
ledger's own arithmetic, ``ledger.entry_cost`` / ``ledger.exit_amounts``).

The single-agent plan's rules (issue 15): ``min_confidence`` (an entry's confidence, 0-100 %, at
least the minimum; off at 0), ``max_position_pct`` (an entry's margin at most this percent of account
value; off at None/0), ``max_correlated_positions`` (at most N positions on the same side among coins
whose returns correlate at or above ``correlation_threshold``; off at 0) and ``take_profit_ladder``
(a ladder's levels valid). Correlation is measured by ``return_correlations``: the Pearson
correlation of simple per-candle returns (``close / previous close - 1``) over the last
``correlation_window`` candles of the snapshot's finest timeframe that every coin has (same open
times), summed with ``math.fsum`` so the same candles give the same figure on every machine; a pair
without enough candles, or a coin whose price did not move, counts as not correlated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from arena_tui.engine.account import AccountSnapshot, Position
from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import MAX_TAKE_PROFIT_LEVELS, entry_cost, exit_amounts, fill_price

OrderAction = Literal["open", "close"]

PARTIAL_CLOSE_BELOW = 0.999
"""With ``allow_partial_close``, a close asking for less than this share of the position is partial;
from it on (a model copying its quantity rounded) the whole position closes."""

RULES: dict[str, str] = {
    "unknown_coin": "The coin must be one the session trades, with a valid price this cycle (decisions for other coins are refused, also beside decisions for traded coins).",
    "unknown_signal": "The signal must be one of buy_to_enter, sell_to_enter, hold or close.",
    "one_position_per_coin": "One decision and one position per coin: a second decision for the same coin in one answer is refused.",
    "close_without_position": "A close needs an open position in that coin.",
    "entry_only_when_flat": "Entries are accepted only when the coin has no open position (no adding to a position, unless the configuration allows adding).",
    "hold_or_close_when_open": "With a position open the only valid signals are hold and close (no reversing in one step, unless the configuration allows reversals).",
    "daily_loss_limit": "No new entries once the account has lost the configured share of its value since the start of the UTC day.",
    "positive_quantity": "An entry needs a positive, finite quantity in coins.",
    "leverage_bounds": "Leverage must be a number within the configured bounds.",
    "confidence_range": "Confidence must be within 0-1 (0-100 is read as a percentage).",
    "min_confidence": "An entry's confidence must be at least the configured minimum (percent; 0 turns the rule off).",
    "stop_loss_required": "An entry needs a stop-loss price.",
    "stop_loss_side": "The stop-loss must be below the entry price for a long and above it for a short.",
    "profit_target_required": "An entry needs a profit-target price.",
    "profit_target_side": "The profit target must be above the entry price for a long and below it for a short.",
    "take_profit_ladder": "A take-profit ladder has at most 5 levels, each a price on the profit side farther from the entry than the one before, closing a share in (0, 100%] of the position.",
    "min_notional": "An entry's notional (quantity x price) must be at least the configured minimum.",
    "max_position_pct": "An entry's margin (notional / leverage at the cycle's price) may not exceed the configured percent of account value.",
    "max_open_positions": "The number of open positions may not exceed the configured maximum.",
    "max_correlated_positions": "At most the configured number of positions on the same side among coins whose returns correlate at or above the configured threshold.",
    "margin_within_cash": "Margin plus the entry fee must fit in the free cash left after earlier orders of the same cycle.",
    "max_margin_usage": "Margin in use may not exceed the configured share of account value.",
}
"""Rule id -> what the rule requires, in the order ``validate`` checks them."""


@dataclass(frozen=True)
class RiskLimits:
    """The bounds ``validate`` enforces (from config).

    ``min_leverage``/``max_leverage`` (multiples), ``min_notional`` (USD), ``max_open_positions``,
    ``max_margin_usage`` (fraction of account value that margin may use, 0-1),
    ``daily_loss_limit_pct`` (percent loss since the UTC day's start that stops new entries; ``None``
    turns the breaker off), ``require_stop_loss`` / ``require_profit_target`` (on entries).
    Keep ``max_leverage`` below ``1 / ledger.maintenance_margin_rate`` (40x by default).
    ``min_confidence`` (percent 0-100; 0 = off), ``max_position_pct`` (percent of account value an
    entry's margin may use; ``None`` or 0 = off), ``max_correlated_positions`` (positions on one side
    among correlated coins, the new one included; 0 = off) with ``correlation_threshold`` (Pearson,
    -1..1) and ``correlation_window`` (candles; see ``return_correlations``). The seed rules are off
    here; ``config.RiskConfig`` gives the session's values.
    """

    min_leverage: float = 1.0
    max_leverage: float = 20.0
    min_notional: float = 10.0
    max_open_positions: int = 6
    max_margin_usage: float = 0.95
    daily_loss_limit_pct: float | None = None
    require_stop_loss: bool = True
    require_profit_target: bool = True
    min_confidence: float = 0.0
    max_position_pct: float | None = None
    max_correlated_positions: int = 0
    correlation_threshold: float = 0.8
    correlation_window: int = 48
    allow_adding: bool = False
    """An entry on the side already held adds to the position, at the average entry price."""
    allow_partial_close: bool = False
    """A close whose quantity is below what is held (under ``PARTIAL_CLOSE_BELOW`` of it) closes that much."""
    allow_reversal: bool = False
    """An entry on the other side closes the position, then opens the new one, in the same cycle."""
    coin_max_leverage: tuple[tuple[str, float], ...] = ()
    """(coin, leverage) caps below ``max_leverage`` for some coins (the venue's, ``[venue]
    coin_max_leverage``)."""

    def max_leverage_for(self, coin: str) -> float:
        """The most leverage an entry in ``coin`` may ask (x)."""
        for c, cap in self.coin_max_leverage:
            if c == coin:
                return min(cap, self.max_leverage)
        return self.max_leverage


@dataclass(frozen=True)
class Order:
    """An accepted order, ready for ``Ledger.execute``.

    ``action`` ``"open"`` or ``"close"``; ``side`` +1 long / -1 short (a close carries the position's
    side); ``quantity`` coins (a close carries the whole position); ``leverage`` multiple;
    ``stop_loss``/``profit_target`` USD prices (``None`` on closes); ``confidence`` 0-1 or ``None``;
    ``risk_usd`` = quantity x |reference price - stop| recomputed here, beside ``risk_usd_claimed``
    (the model's own figure, ``None`` when absent or not a finite number); ``reference_price`` the
    mark price the order is to be filled at (before slippage); ``notional``/``margin``/``fee`` the
    expected USD amounts at the fill price (for a close, the margin released and the exit fee);
    ``take_profit`` the ladder, ``((price USD, close_fraction), ...)`` nearest first (empty: none).
    """

    coin: str
    action: OrderAction
    side: int
    quantity: float
    leverage: float
    reference_price: float
    stop_loss: float | None = None
    profit_target: float | None = None
    confidence: float | None = None
    risk_usd: float | None = None
    risk_usd_claimed: float | None = None
    invalidation_condition: str | None = None
    justification: str | None = None
    notional: float = 0.0
    margin: float = 0.0
    fee: float = 0.0
    take_profit: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A refused decision: ``coin``, ``rule`` (a key of ``RULES``), ``reason`` (one sentence with the
    numbers, for people and for the model's next prompt) and the ``decision`` as given."""

    coin: str
    rule: str
    reason: str
    decision: Any


@dataclass(frozen=True)
class RiskResult:
    """``orders`` to execute in this order (closes first), and ``rejections`` in decision order."""

    orders: tuple[Order, ...]
    rejections: tuple[Rejection, ...]


# ---------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """Model input -> float; ``None`` stays ``None``; anything unreadable becomes NaN (never raises)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except Exception:
        try:
            return float(str(value).strip().replace(",", "").replace("$", ""))
        except Exception:
            return math.nan


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return str(value)
    except Exception:
        return None


_SCIENTIFIC_FROM = 1e12
"""Magnitudes from here up are written in short scientific notation (``1e+308``), in coins and USD."""


def _num(value: float) -> str:
    """A float as a person reads it: ``0.18872``, ``4,000``, ``112,000``, ``1,234,567`` (up to 6
    significant digits, whole numbers kept whole below 1e12), ``1e+308`` / ``1.23e+20`` (from 1e12),
    ``1.5e-07`` (below 1e-4); ``NaN``, ``infinity``, ``minus infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinity" if value > 0 else "minus infinity"
    if value == 0:
        return "0"
    size = abs(value)
    if size >= _SCIENTIFIC_FROM:
        return f"{value:.3g}"
    if size >= 1e6:
        return f"{value:,.0f}"
    return f"{value:,.6g}"


def _usd(value: float) -> str:
    """USD with cents (``$1,234.56``, ``-$5.00``); absurd amounts in short scientific form (``$1e+305``)."""
    if not math.isfinite(value):
        return f"{_num(value)} USD"
    sign = "-" if value < 0 else ""
    size = abs(value)
    return f"{sign}${size:,.2f}" if size < _SCIENTIFIC_FROM else f"{sign}${size:.3g}"


def _finite(value: Any) -> float | None:
    """A model's number as a float when it is a finite number (ints of any size, floats, numeric
    strings), else ``None``; never raises."""
    if isinstance(value, bool) or value is None:
        return None
    x = _number(value)
    return x if x is not None and math.isfinite(x) else None


def _show(value: Any) -> str:
    """A value as a person reads it: numbers through ``_num`` (ints too, of any size), anything else
    as a short repr."""
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            return _num(float(value))
        except OverflowError:  # an int beyond the float range
            return "infinity" if value > 0 else "minus infinity"
    try:
        text = repr(value)
    except Exception:
        text = "<unprintable>"
    return text if len(text) <= 40 else text[:37] + "..."


def _unusable(label: str, value: Any) -> str | None:
    """When a model's ``value`` is not a finite number, what is wrong with it, in words:
    ``"the quantity is missing or not a finite number"`` (``None``: the parser reads NaN, inf and
    unreadable text as ``None``), ``"the quantity is not a number (NaN)"``, ``"the quantity is
    infinite"``, ``"the quantity 'abc' is not a number"``; ``None`` when it is a finite number."""
    if value is None:
        return f"the {label} is missing or not a finite number"
    if _finite(value) is not None:
        return None
    x = _number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"the {label} is {'infinite' if value > 0 else 'minus infinity'}"  # beyond the float range
    if isinstance(value, (float, str)) and x is not None and not math.isnan(x):
        return f"the {label} is {'infinite' if x > 0 else 'minus infinity'}"
    if isinstance(value, float) or (isinstance(value, str) and value.strip().lower().lstrip("+-") == "nan"):
        return f"the {label} is not a number (NaN)"
    return f"the {label} {_show(value)} is not a number"


_SIGNALS: dict[str, str] = {
    "buy_to_enter": "buy_to_enter",
    "sell_to_enter": "sell_to_enter",
    "hold": "hold",
    "close": "close",
    "close_position": "close",
}
"""A signal already spelled as ``_signal`` returns it -> what it returns (the common case, looked up)."""


_COIN_KEYS: dict[str, str] = {}
"""A decision's key (str) -> the coin it names (stripped, upper-case; ``"?"`` for an empty key): the
same few keys come every cycle."""


def _signal(value: Any) -> str | None:
    try:
        s = str(value).strip().lower()
    except Exception:
        return None
    if s == "close_position":
        return "close"
    return s if s in ("buy_to_enter", "sell_to_enter", "hold", "close") else None


def validate(
    decisions: Mapping[str, Decision],
    account: AccountSnapshot,
    prices: Mapping[str, float],
    limits: RiskLimits = RiskLimits(),
    *,
    taker_fee_bp: float = 4.5,
    slippage_bp: float = 0.0,
    day_start_value: float | None = None,
    correlations: Mapping[str, Mapping[str, float]] | None = None,
) -> RiskResult:
    """Turn one model answer into orders and rejections; never raises for any decision content.

    ``decisions`` maps coin -> ``Decision`` (coins are upper-cased; the key names the coin);
    ``account`` is the agent's account now; ``prices`` coin -> mark price (USD) that entries and closes
    will be filled at before slippage; ``taker_fee_bp``/``slippage_bp`` must match the ledger's;
    ``day_start_value`` is the account value at the start of the UTC day (USD) for the daily-loss
    breaker (off when ``None`` or when ``limits.daily_loss_limit_pct`` is ``None``);
    ``correlations`` coin -> coin -> Pearson correlation of returns (``return_correlations``) for
    ``max_correlated_positions`` (a pair missing from it counts as not correlated).
    Cash, open-position count and margin usage carry over from order to order within the call:
    accepted closes release their margin + PnL - fee first, then each accepted entry uses
    margin + fee.
    """
    orders_close: list[Order] = []
    orders_open: list[Order] = []
    rejections: list[tuple[int, Rejection]] = []

    def reject(index: int, rejection: Rejection) -> None:
        rejections.append((index, rejection))

    held: dict[str, Position] = {}
    for p in account.positions:  # (loops, not comprehensions: a handful of positions, every call)
        held[p.coin.upper()] = p
    seen: set[str] = set()
    entries: list[tuple[int, str, Any, str]] = []

    try:
        items = list(decisions.items())
    except Exception:
        items = []

    # pass 1: coin, signal, duplicates, closes
    free_cash = float(account.cash)
    open_count = len(held)
    open_sides: dict[str, int] = {}
    margin_used = 0.0
    for c, p in held.items():
        open_sides[c] = p.side
        margin_used += p.margin
    for index, (key, decision) in enumerate(items):
        coin = _COIN_KEYS.get(key) if type(key) is str else None
        if coin is None:
            coin = (_text(key) or "?").strip().upper()
            if type(key) is str:
                if len(_COIN_KEYS) >= 1024:
                    _COIN_KEYS.clear()
                _COIN_KEYS[key] = coin
        raw_signal = getattr(decision, "signal", None)
        price = prices.get(coin) if coin in prices else None
        if type(price) is float:  # (what ``_number`` returns as it is: one comparison checks it)
            usable = 0.0 < price < math.inf
        else:
            price = _number(price)
            usable = price is not None and math.isfinite(price) and price > 0
        if not usable:
            known = ", ".join(map(str, prices)) or "none"
            reject(
                index,
                Rejection(coin, "unknown_coin", f"{coin} is not traded in this market or has no valid price now (coins: {known}).", decision)
            )
            continue
        signal = _SIGNALS.get(raw_signal) if type(raw_signal) is str else None
        if signal is None:
            signal = _signal(raw_signal)
        if signal is None:
            reject(
                index,
                Rejection(coin, "unknown_signal", f"{coin}: signal {_show(raw_signal)} is not one of buy_to_enter, sell_to_enter, hold, close.", decision)
            )
            continue
        if coin in seen:
            reject(
                index,
                Rejection(coin, "one_position_per_coin", f"{coin} has more than one decision in this answer; only the first is used.", decision)
            )
            continue
        seen.add(coin)
        if signal == "hold":
            continue
        if signal == "close":
            pos = held.get(coin)
            if pos is None:
                reject(
                    index,
                    Rejection(coin, "close_without_position", f"{coin}: there is no open position to close.", decision)
                )
                continue
            fill = fill_price(price, -pos.side, slippage_bp)
            asked = _number(getattr(decision, "quantity", None))
            asked = abs(asked) if asked is not None and math.isfinite(asked) and asked != 0 else None
            if limits.allow_partial_close and asked is not None and asked < pos.quantity * PARTIAL_CLOSE_BELOW:
                frac = asked / pos.quantity
                notional, _pnl, fee, returned = exit_amounts(pos.side, asked, pos.entry_price, pos.margin * frac, fill, taker_fee_bp)
                free_cash = free_cash + returned
                margin_used -= pos.margin * frac
                orders_close.append(
                    Order(
                        coin=pos.coin, action="close", side=pos.side, quantity=asked, leverage=pos.leverage, reference_price=price,
                        confidence=_confidence(decision), justification=_text(getattr(decision, "justification", None)),
                        notional=notional, margin=pos.margin * frac, fee=fee,
                    )
                )
                continue
            notional, _pnl, fee, returned = exit_amounts(pos.side, pos.quantity, pos.entry_price, pos.margin, fill, taker_fee_bp)
            free_cash = free_cash + returned
            open_count -= 1
            open_sides.pop(coin, None)
            margin_used -= pos.margin
            conf = _confidence(decision)
            orders_close.append(
                Order(
                    coin=pos.coin,
                    action="close",
                    side=pos.side,
                    quantity=pos.quantity,
                    leverage=pos.leverage,
                    reference_price=price,
                    confidence=conf,
                    justification=_text(getattr(decision, "justification", None)),
                    notional=notional,
                    margin=pos.margin,
                    fee=fee,
                )
            )
            continue
        pos = held.get(coin)
        side = 1 if signal == "buy_to_enter" else -1
        if pos is not None and pos.side != side and limits.allow_reversal:
            # a reversal: close the position first (its cash is there for the new side), then enter
            fill = fill_price(price, -pos.side, slippage_bp)
            notional, _pnl, fee, returned = exit_amounts(pos.side, pos.quantity, pos.entry_price, pos.margin, fill, taker_fee_bp)
            free_cash = free_cash + returned
            open_count -= 1
            open_sides.pop(coin, None)
            margin_used -= pos.margin
            orders_close.append(
                Order(
                    coin=pos.coin, action="close", side=pos.side, quantity=pos.quantity, leverage=pos.leverage, reference_price=price,
                    justification=_text(getattr(decision, "justification", None)), notional=notional, margin=pos.margin, fee=fee,
                )
            )
            del held[coin]
        entries.append((index, coin, decision, signal))

    # pass 2: entries, in decision order, against what is left
    account_value = float(account.account_value)
    breaker = limits.daily_loss_limit_pct
    for index, coin, decision, signal in entries:
        side = 1 if signal == "buy_to_enter" else -1
        side_name = "long" if side > 0 else "short"
        price = float(_number(prices.get(coin)))  # checked in pass 1
        pos = held.get(coin)
        adding = pos is not None and pos.side == side and limits.allow_adding
        if pos is not None and not adding:
            if pos.side == side:
                reject(
                    index,
                    Rejection(
                        coin,
                        "entry_only_when_flat",
                        f"{coin} already has an open {pos.side_name} of {_show(pos.quantity)} coins; entries are accepted only when flat, so hold or close it.",
                        decision,
                    )
                )
            else:
                reject(
                    index,
                    Rejection(
                        coin,
                        "hold_or_close_when_open",
                        f"{coin} has an open {pos.side_name}; with a position open only hold or close are valid, so close it before going {side_name}.",
                        decision,
                    )
                )
            continue
        if breaker is not None and day_start_value is not None and day_start_value > 0:
            floor = day_start_value * (1.0 - breaker / 100.0)
            if account_value <= floor:
                loss_pct = (1.0 - account_value / day_start_value) * 100.0
                reject(
                    index,
                    Rejection(
                        coin,
                        "daily_loss_limit",
                        f"{coin}: the account is down {loss_pct:.2f}% today ({_usd(day_start_value)} -> {_usd(account_value)}), at or past the {breaker:g}% daily loss limit, so no new entries until tomorrow (UTC).",
                        decision,
                    )
                )
                continue
        raw_qty = getattr(decision, "quantity", None)
        qty = _number(raw_qty)
        if qty is None or not math.isfinite(qty) or qty <= 0:
            wrong = _unusable("quantity", raw_qty)
            reject(
                index,
                Rejection(
                    coin,
                    "positive_quantity",
                    f"{coin}: {wrong}; an entry needs a positive number of coins."
                    if wrong
                    else f"{coin}: quantity {_show(raw_qty)} is not a positive number of coins.",
                    decision,
                )
            )
            continue
        raw_lev = getattr(decision, "leverage", None)
        lev = _number(raw_lev)
        top = limits.max_leverage_for(coin)
        if lev is None or not math.isfinite(lev) or not limits.min_leverage <= lev <= top:
            allowed_lev = f"{limits.min_leverage:g}-{top:g}x" + (f" (the venue's maximum for {coin})" if top < limits.max_leverage else "")
            wrong = _unusable("leverage", raw_lev)
            reject(
                index,
                Rejection(
                    coin,
                    "leverage_bounds",
                    f"{coin}: {wrong}; it must be within the allowed {allowed_lev}."
                    if wrong
                    else f"{coin}: leverage {_show(raw_lev)} is outside the allowed {allowed_lev}.",
                    decision,
                )
            )
            continue
        raw_conf = getattr(decision, "confidence", None)
        conf = _number(raw_conf)
        if conf is not None and math.isfinite(conf) and 1.0 < conf <= 100.0:
            conf = conf / 100.0
        if conf is not None and not (math.isfinite(conf) and 0.0 <= conf <= 1.0):
            wrong = _unusable("confidence", raw_conf)
            reject(
                index,
                Rejection(
                    coin,
                    "confidence_range",
                    f"{coin}: {wrong}; it must be within 0-1 (or 0-100 %)."
                    if wrong
                    else f"{coin}: confidence {_show(raw_conf)} is not within 0-1 (or 0-100 %).",
                    decision,
                )
            )
            continue
        floor_conf = limits.min_confidence
        if floor_conf and floor_conf > 0 and (conf is None or conf * 100.0 < floor_conf):
            given = "gave no confidence" if conf is None else f"has confidence {conf * 100.0:.4g}%"
            reject(
                index,
                Rejection(coin, "min_confidence", f"{coin}: the {side_name} entry {given}, below the {floor_conf:g}% minimum.", decision),
            )
            continue
        raw_stop = getattr(decision, "stop_loss", None)
        stop = _number(raw_stop)
        if stop is not None and (not math.isfinite(stop) or stop <= 0):
            wrong = _unusable("stop-loss", raw_stop)
            reject(
                index,
                Rejection(
                    coin,
                    "stop_loss_required",
                    f"{coin}: {wrong}; it must be a positive price."
                    if wrong
                    else f"{coin}: stop-loss {_show(raw_stop)} is not a positive price.",
                    decision,
                )
            )
            continue
        if stop is None and limits.require_stop_loss:
            reject(index, Rejection(coin, "stop_loss_required", f"{coin}: the {side_name} entry has no stop-loss price.", decision))
            continue
        if stop is not None and side * (price - stop) <= 0:
            where = "below" if side > 0 else "above"
            reject(
                index,
                Rejection(
                    coin,
                    "stop_loss_side",
                    f"{coin}: a {side_name}'s stop-loss must be {where} the entry price {_show(price)}, but it is {_show(stop)}.",
                    decision,
                )
            )
            continue
        raw_target = getattr(decision, "profit_target", None)
        target = _number(raw_target)
        if target is not None and (not math.isfinite(target) or target <= 0):
            wrong = _unusable("profit target", raw_target)
            reject(
                index,
                Rejection(
                    coin,
                    "profit_target_required",
                    f"{coin}: {wrong}; it must be a positive price."
                    if wrong
                    else f"{coin}: profit target {_show(raw_target)} is not a positive price.",
                    decision,
                )
            )
            continue
        if target is None and limits.require_profit_target:
            reject(index, Rejection(coin, "profit_target_required", f"{coin}: the {side_name} entry has no profit-target price.", decision))
            continue
        if target is not None and side * (target - price) <= 0:
            where = "above" if side > 0 else "below"
            reject(
                index,
                Rejection(
                    coin,
                    "profit_target_side",
                    f"{coin}: a {side_name}'s profit target must be {where} the entry price {_show(price)}, but it is {_show(target)}.",
                    decision,
                )
            )
            continue
        ladder, ladder_problem = _check_ladder(getattr(decision, "take_profit", None), side, price)
        if ladder_problem is not None:
            reject(index, Rejection(coin, "take_profit_ladder", f"{coin}: {ladder_problem}.", decision))
            continue
        notional_ref = qty * price
        if notional_ref < limits.min_notional:
            reject(
                index,
                Rejection(
                    coin,
                    "min_notional",
                    f"{coin}: {_show(qty)} coins at {_show(price)} is {_usd(notional_ref)} of notional, below the {_usd(limits.min_notional)} minimum.",
                    decision,
                )
            )
            continue
        cap_pct = limits.max_position_pct
        if cap_pct:
            margin_ref = notional_ref / lev
            if not margin_ref <= cap_pct / 100.0 * account_value * (1.0 + 1e-9):
                share = margin_ref / account_value * 100.0 if account_value > 0 else math.inf
                reject(
                    index,
                    Rejection(
                        coin,
                        "max_position_pct",
                        f"{coin}: margin {_usd(margin_ref)} ({_show(qty)} coins at {_show(price)} / {lev:g}x) is {_num(share)}% of the {_usd(account_value)} account value, above the {cap_pct:g}% maximum position size.",
                        decision,
                    ),
                )
                continue
        if not adding and open_count + 1 > limits.max_open_positions:
            reject(
                index,
                Rejection(
                    coin,
                    "max_open_positions",
                    f"{coin}: {open_count} positions are already open (or accepted) and at most {limits.max_open_positions} are allowed.",
                    decision,
                )
            )
            continue
        most = limits.max_correlated_positions
        if most and most > 0:
            row = (correlations or {}).get(coin) or {}
            thr = limits.correlation_threshold
            peers = [(c, row[c]) for c, sd in open_sides.items() if sd == side and c != coin and _finite(row.get(c)) is not None and row[c] >= thr]
            if len(peers) + 1 > most:
                named = ", ".join(f"{c} ({r:.2f})" for c, r in peers)
                reject(
                    index,
                    Rejection(
                        coin,
                        "max_correlated_positions",
                        f"{coin}: a {side_name} would make {len(peers) + 1} {side_name}s among coins whose returns correlate at or above {thr:g} with it ({named}); at most {most} are allowed.",
                        decision,
                    ),
                )
                continue
        fill = fill_price(price, side, slippage_bp)
        notional, margin, fee = entry_cost(qty, fill, lev, taker_fee_bp)
        if not (math.isfinite(margin) and math.isfinite(fee)):
            reject(
                index,
                Rejection(coin, "margin_within_cash", f"{coin}: {_show(qty)} coins is too large to price.", decision)
            )
            continue
        cost = margin + fee
        if cost > free_cash:
            reject(
                index,
                Rejection(
                    coin,
                    "margin_within_cash",
                    f"{coin}: margin {_usd(margin)} + fee {_usd(fee)} = {_usd(cost)} exceeds the {_usd(free_cash)} of free cash left this cycle.",
                    decision,
                )
            )
            continue
        allowed = limits.max_margin_usage * account_value
        if margin_used + margin > allowed:
            reject(
                index,
                Rejection(
                    coin,
                    "max_margin_usage",
                    f"{coin}: margin {_usd(margin)} would bring margin in use to {_usd(margin_used + margin)}, above {limits.max_margin_usage:.0%} of the {_usd(account_value)} account value ({_usd(allowed)}).",
                    decision,
                )
            )
            continue
        free_cash = free_cash - cost
        if not adding:
            open_count += 1
        open_sides[coin] = side
        margin_used += margin
        claimed = _number(getattr(decision, "risk_usd", None))
        if claimed is not None and not math.isfinite(claimed):
            claimed = None
        orders_open.append(
            Order(
                coin=coin,
                action="open",
                side=side,
                quantity=qty,
                leverage=lev,
                reference_price=price,
                stop_loss=stop,
                profit_target=target,
                confidence=conf,
                risk_usd=None if stop is None else qty * abs(price - stop),
                risk_usd_claimed=claimed,
                invalidation_condition=_text(getattr(decision, "invalidation_condition", None)),
                justification=_text(getattr(decision, "justification", None)),
                notional=notional,
                margin=margin,
                fee=fee,
                take_profit=ladder,
            )
        )
    # entries the parser found for coins not traded (``parse.Decisions.unknown``), after the others
    unknown = _not_traded(decisions)
    if unknown:
        traded = ", ".join(map(str, prices)) or "none"
        for offset, (name, decision) in enumerate(unknown):
            reject(
                len(items) + offset,
                Rejection(name, "unknown_coin", f"{name} is not traded in this session (coins: {traded}).", decision),
            )
    if not rejections:  # (most answers: nothing refused)
        return _result(tuple(orders_close + orders_open), ())
    rejections.sort(key=lambda item: item[0])
    return _result(tuple(orders_close + orders_open), tuple([r for _, r in rejections]))


def _result(orders: tuple[Order, ...], rejections: tuple[Rejection, ...]) -> RiskResult:
    """``RiskResult(orders, rejections)`` without the frozen ``__init__`` (one ``object.__setattr__``
    per field): ``validate`` runs per agent per cycle. ``RiskResult`` has no ``__post_init__`` or
    slots, so this is the object the constructor builds."""
    result = object.__new__(RiskResult)
    result.__dict__.update(orders=orders, rejections=rejections)
    return result


def _confidence(decision: Any) -> float | None:
    """A decision's confidence as 0-1 (0-100 read as a percentage), or None when absent or unusable."""
    conf = _number(getattr(decision, "confidence", None))
    if conf is not None and math.isfinite(conf) and 1.0 < conf <= 100.0:
        conf = conf / 100.0
    if conf is not None and not (math.isfinite(conf) and 0.0 <= conf <= 1.0):
        conf = None
    return conf


def _not_traded(decisions: Mapping[str, Decision]) -> list[tuple[str, Decision | None]]:
    """``decisions.unknown`` (set by ``parse.parse_decisions``): ``(coin, decision or None)`` pairs for
    coins not traded; empty for a plain mapping or anything unreadable."""
    out: list[tuple[str, Decision | None]] = []
    try:
        unknown = getattr(decisions, "unknown", ())
        if not unknown:  # (a plain mapping, or an answer naming only traded coins)
            return out
        for name, decision in tuple(unknown)[:50]:
            if getattr(decision, "signal", None) == "hold":
                continue  # holding a coin not traded changes nothing (glm-4.6 names PAXG and PUMP every cycle)
            out.append(((_text(name) or "?")[:20], decision))
    except Exception:
        return out
    return out


def _check_ladder(raw: Any, side: int, price: float) -> tuple[tuple[tuple[float, float], ...], str | None]:
    """A decision's take-profit ladder -> (levels as floats, None) or ((), what is wrong, in words).
    ``raw`` None or empty: no ladder. Never raises."""
    if raw is None:
        return (), None
    try:
        items = list(raw)
    except Exception:
        return (), f"the take-profit ladder {_show(raw)} is not a list of levels"
    if not items:
        return (), None
    if len(items) > MAX_TAKE_PROFIT_LEVELS:
        return (), f"the take-profit ladder has {len(items)} levels; at most {MAX_TAKE_PROFIT_LEVELS} are allowed"
    side_name = "long" if side > 0 else "short"
    where = "above" if side > 0 else "below"
    out: list[tuple[float, float]] = []
    prev = price
    for i, item in enumerate(items, start=1):
        try:
            raw_price, raw_frac = item
        except Exception:
            return (), f"take-profit level {i} {_show(item)} is not a price and a share to close"
        lp, frac = _finite(raw_price), _finite(raw_frac)
        if lp is None or lp <= 0:
            wrong = _unusable("price", raw_price)
            return (), f"take-profit level {i}: {wrong or f'the price {_show(raw_price)} is not positive'}"
        if frac is None or not 0.0 < frac <= 1.0:
            shown = _show(raw_frac) if frac is None else f"{frac * 100.0:.4g}%"
            return (), f"take-profit level {i} closes {shown} of the position; it must close more than 0 and at most 100%"
        if side * (lp - price) <= 0:
            return (), f"take-profit level {i} at {_show(lp)} must be {where} the {side_name}'s entry price {_show(price)}"
        if side * (lp - prev) <= 0:
            return (), f"take-profit level {i} at {_show(lp)} is not farther from the entry than level {i - 1} at {_show(prev)}"
        out.append((lp, frac))
        prev = lp
    return tuple(out), None


def return_correlations(closes: Mapping[str, Any], window: int = 48) -> dict[str, dict[str, float]]:
    """coin -> coin -> Pearson correlation (-1..1) of simple returns over the last ``window`` returns.

    ``closes`` maps coin -> its closes (oldest first, USD), all taken at the same candle times (see
    ``snapshot_closes``). Returns are ``close[i] / close[i-1] - 1``; sums use ``math.fsum``, so the
    figure is the same on every machine. A pair with fewer than 3 returns in common, a non-positive or
    non-finite close, or a coin whose returns do not vary is left out (not correlated). Never raises
    for bad numbers."""
    rets: dict[str, list[float]] = {}
    for coin, series in closes.items():
        try:
            xs = [float(x) for x in list(series)[-(window + 1):]]
        except Exception:
            continue
        if len(xs) < 4 or not all(math.isfinite(x) and x > 0 for x in xs):
            continue
        r = [xs[i] / xs[i - 1] - 1.0 for i in range(1, len(xs))]
        n = len(r)
        mean = math.fsum(r) / n
        dev = [x - mean for x in r]
        var = math.fsum(d * d for d in dev)
        if var > 0 and math.isfinite(var):
            rets[coin] = dev
    out: dict[str, dict[str, float]] = {c: {} for c in closes}
    coins = list(rets)
    for i, a in enumerate(coins):
        for b in coins[i + 1:]:
            da, db = rets[a], rets[b]
            n = min(len(da), len(db))
            if n < 3:
                continue
            if len(da) != len(db):  # different lengths: recentre the common tail
                xa, xb = da[-n:], db[-n:]
                ma, mb = math.fsum(xa) / n, math.fsum(xb) / n
                da, db = [x - ma for x in xa], [x - mb for x in xb]
            va = math.fsum(x * x for x in da)
            vb = math.fsum(x * x for x in db)
            if not (va > 0 and vb > 0):
                continue
            r = math.fsum(x * y for x, y in zip(da, db)) / math.sqrt(va * vb)
            r = max(-1.0, min(1.0, r))
            out[a][b] = out[b][a] = r
    return out


def snapshot_closes(snapshot: Any, window: int = 48) -> dict[str, list[float]]:
    """coin -> the last ``window + 1`` closes of the snapshot's finest timeframe at the candle open
    times every coin has (``market.base.MarketSnapshot``), for ``return_correlations``."""
    from arena_tui.engine.market.base import timeframe_ms

    series: dict[str, tuple[list[int], list[float]]] = {}
    for coin, cs in snapshot.coins.items():
        if not cs.candles:
            continue
        tf = min(cs.candles, key=timeframe_ms)
        c = cs.candles[tf]
        k = max(0, len(c) - 4 * (window + 1))  # look a little further back for the common times
        series[coin] = (c.ts[k:].tolist(), c.close[k:].tolist())
    if not series:
        return {}
    common = set.intersection(*(set(ts) for ts, _ in series.values()))
    times = sorted(common)[-(window + 1):]
    keep = set(times)
    return {coin: [x for t, x in zip(ts, cl) if t in keep] for coin, (ts, cl) in series.items()}
