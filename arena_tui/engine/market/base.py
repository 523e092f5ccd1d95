"""Market value types and the ``MarketSource`` protocol shared by recorded and live markets.

Times are integer milliseconds since the Unix epoch, UTC. Prices are in the quote currency (USD/USDT),
volumes in the base coin. Candle ``ts`` is the candle's open time; a candle is *closed* at
``ts + timeframe_ms``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Mapping, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

from arena_tui.engine.errors import ConfigError

COINS: tuple[str, ...] = ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE")
"""The six coins Alpha Arena Season 1 traded, in its display order."""

TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
"""Milliseconds per candle for every timeframe name the engine understands."""


def timeframe_ms(timeframe: str) -> int:
    """Length of one candle of ``timeframe`` in ms; raises ``ConfigError`` for unknown names."""
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        allowed = ", ".join(TIMEFRAME_MS)
        raise ConfigError(f"unknown timeframe '{timeframe}': use one of {allowed}.") from None


TICKER = re.compile(r"[A-Z0-9]{1,15}")
"""What a coin ticker looks like once upper-cased: 1-15 characters of A-Z and 0-9 (``BTC``, ``LINK``,
``1000PEPE``)."""


def is_ticker(coin: str) -> bool:
    """Whether ``coin`` upper-cased is a plausible ticker (``TICKER``)."""
    return bool(TICKER.fullmatch(str(coin).upper()))


def _shown_coin(coin: object) -> str:
    """``coin`` quoted for a message; a long value is not echoed (it may be a pasted key)."""
    text = str(coin)
    return repr(text) if len(text) <= 15 else f"'{text[:4]}...' ({len(text)} characters)"


def check_coins(coins: tuple[str, ...] | list[str], available: tuple[str, ...] = COINS) -> tuple[str, ...]:
    """Upper-case and validate coin names against a recorded market's ``available`` coins; raises
    ``ConfigError`` naming the unknown coin (and that a live exchange can trade others)."""
    out = []
    for coin in coins:
        c = str(coin).upper()
        if c not in available:
            which = "bundled" if tuple(available) == COINS else "recorded"
            raise ConfigError(
                f"unknown coin {_shown_coin(coin)}: the {which} market has only {', '.join(available)}; remove it, "
                'or trade it on a live exchange (market.source = "live").'
            )
        out.append(c)
    if not out:
        raise ConfigError(f"no coins configured: choose at least one of {', '.join(available)}.")
    return tuple(out)


def check_tickers(coins: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Upper-case coin tickers for a live market (whether the exchange lists them is checked when its
    markets load); raises ``ConfigError`` for one that is not a ticker, or none at all."""
    out = []
    for coin in coins:
        if not is_ticker(coin):
            raise ConfigError(
                f"unknown coin {_shown_coin(coin)}: a coin is a ticker of 1-15 letters and digits, such as BTC or LINK."
            )
        out.append(str(coin).upper())
    if not out:
        raise ConfigError(f"no coins configured: choose at least one, such as {', '.join(COINS)}.")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, eq=False)
class Candles:
    """OHLCV candles of one coin and timeframe, oldest first.

    ``ts`` is an int64 array of open times (ms); ``open``/``high``/``low``/``close``/``volume`` are
    contiguous float64 arrays of the same length.
    """

    timeframe: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def close_ts(self) -> np.ndarray:
        """int64 array of close times (ms): ``ts + timeframe_ms``."""
        return self.ts + timeframe_ms(self.timeframe)

    def slice(self, start: int, stop: int) -> "Candles":
        """Rows ``start:stop`` as views (no copy)."""
        return Candles(
            self.timeframe,
            self.ts[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
        )


@dataclass(frozen=True, eq=False)
class FundingHistory:
    """Funding rates of one coin: ``ts`` int64 ms of each funding time, ``rate`` float64 fraction
    per funding interval (1e-4 = 0.01 %); positive means longs pay shorts."""

    ts: np.ndarray
    rate: np.ndarray
    interval_ms: int

    def __len__(self) -> int:
        return int(self.ts.shape[0])


DEPTH_BAND_BP = 10.0
"""The band, in basis points of the mid price on either side of it, whose resting orders count as an
order book's depth: ``OrderBook.bid_depth`` is the USD notional of the bids priced at or above
``mid * (1 - DEPTH_BAND_BP / 10_000)``, ``ask_depth`` of the asks at or below ``mid * (1 + ...)``."""


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class OrderBook:
    """What one coin's order book said at the snapshot: ``bid`` (best bid) and ``ask`` (best ask), USD,
    ``0 < bid < ask``; ``bid_depth`` / ``ask_depth``, the USD notional (price x size in the base coin)
    resting within ``DEPTH_BAND_BP`` of the mid on that side, or ``None`` when the exchange's reply
    ended inside the band (its farthest level on that side lies within it: what rests beyond the
    reply is unknown, so the depth is not a figure; never a lower bound shown as one).

    Derived: ``mid`` = (bid + ask) / 2; ``spread_bp`` = (ask - bid) / mid x 10,000, basis points of
    the mid; ``imbalance`` = (bid_depth - ask_depth) / (bid_depth + ask_depth), from -1 (only asks in
    the band) to +1 (only bids), ``None`` when a depth is unknown or both are zero.
    """

    bid: float
    ask: float
    bid_depth: float | None = None
    ask_depth: float | None = None

    @property
    def mid(self) -> float:
        """(bid + ask) / 2, USD."""
        return (self.bid + self.ask) / 2

    @property
    def spread_bp(self) -> float:
        """(ask - bid) in basis points of the mid."""
        return (self.ask - self.bid) / self.mid * 10_000

    @property
    def imbalance(self) -> float | None:
        """(bid_depth - ask_depth) / (bid_depth + ask_depth), -1..1; None when unknown."""
        b, a = self.bid_depth, self.ask_depth
        if b is None or a is None or b + a <= 0:
            return None
        return (b - a) / (b + a)

    def to_json(self) -> dict[str, float | None]:
        """``{"bid", "ask", "bid_depth", "ask_depth"}``: what a journal keeps (the derived figures
        are computed again from these)."""
        return {"bid": self.bid, "ask": self.ask, "bid_depth": self.bid_depth, "ask_depth": self.ask_depth}

    @classmethod
    def from_json(cls, d: object) -> "OrderBook":
        """The inverse of ``to_json``; raises ``ValueError`` for anything else (a journal from elsewhere)."""
        if not isinstance(d, dict):
            raise ValueError("an order book must be an object")
        bid, ask = d.get("bid"), d.get("ask")
        if not (_finite_number(bid) and _finite_number(ask) and 0 < bid < ask):
            raise ValueError("an order book needs a best bid below its best ask, both positive numbers")
        depths = []
        for key in ("bid_depth", "ask_depth"):
            v = d.get(key)
            if v is not None and not (_finite_number(v) and v >= 0):
                raise ValueError(f"an order book's {key} must be a number of at least 0, or null")
            depths.append(None if v is None else float(v))
        return cls(float(bid), float(ask), *depths)

    @classmethod
    def from_levels(
        cls, bids: Sequence[Sequence[float]], asks: Sequence[Sequence[float]], contract_size: float = 1.0
    ) -> "OrderBook | None":
        """The summary of a book given as price levels ``[price, amount, ...]`` (ccxt's unified order
        book: bids best first, descending; asks ascending; ``amount`` in contracts of
        ``contract_size`` base coins). ``None`` when either side is empty or the book is crossed (no
        figure to trust). Levels are read in any order; sums are exact-rounded (``math.fsum``)."""
        bid_px = [float(lv[0]) for lv in bids]
        ask_px = [float(lv[0]) for lv in asks]
        if not bid_px or not ask_px:
            return None
        bid, ask = max(bid_px), min(ask_px)
        if not (math.isfinite(bid) and math.isfinite(ask) and 0 < bid < ask):
            return None
        mid = (bid + ask) / 2
        band = DEPTH_BAND_BP / 10_000
        lo, hi = mid * (1 - band), mid * (1 + band)

        def depth(levels: Sequence[Sequence[float]], inside, beyond) -> float | None:
            if not any(beyond(float(lv[0])) for lv in levels):
                return None  # the reply ended inside the band: what rests beyond it is unknown
            total = math.fsum(float(lv[0]) * float(lv[1]) * contract_size for lv in levels if inside(float(lv[0])))
            return total if math.isfinite(total) and total >= 0 else None

        return cls(
            bid,
            ask,
            depth(bids, lambda p: p >= lo, lambda p: p < lo),
            depth(asks, lambda p: p <= hi, lambda p: p > hi),
        )


@dataclass(frozen=True, eq=False)
class CoinSnapshot:
    """Everything known about one coin at the snapshot's clock, with no look-ahead.

    ``candles`` maps timeframe -> candles whose close time is at or before the clock (at most the
    source's lookback). ``funding`` holds funding times at or before the clock. ``open_interest`` is in
    the base coin, or ``None`` when the source has no figure ("unavailable", never invented).
    ``order_book`` is the order book's summary when the source read one (a live exchange), ``None``
    otherwise (the recorded market has none); ``bid``, ``ask``, ``spread_bp``, ``bid_depth``,
    ``ask_depth`` and ``imbalance`` read it, each ``None`` when unknown.
    """

    coin: str
    candles: Mapping[str, Candles]
    funding: FundingHistory
    open_interest: float | None = None
    order_book: OrderBook | None = None

    @property
    def bid(self) -> float | None:
        """Best bid, USD."""
        return None if self.order_book is None else self.order_book.bid

    @property
    def ask(self) -> float | None:
        """Best ask, USD."""
        return None if self.order_book is None else self.order_book.ask

    @property
    def spread_bp(self) -> float | None:
        """Best ask minus best bid in basis points of the mid."""
        return None if self.order_book is None else self.order_book.spread_bp

    @property
    def bid_depth(self) -> float | None:
        """USD notional of the bids within ``DEPTH_BAND_BP`` of the mid."""
        return None if self.order_book is None else self.order_book.bid_depth

    @property
    def ask_depth(self) -> float | None:
        """USD notional of the asks within ``DEPTH_BAND_BP`` of the mid."""
        return None if self.order_book is None else self.order_book.ask_depth

    @property
    def imbalance(self) -> float | None:
        """(bid depth - ask depth) / (bid depth + ask depth), -1..1."""
        return None if self.order_book is None else self.order_book.imbalance

    @cached_property
    def price(self) -> float:
        """Last close of the finest timeframe (the mark price the engine uses), USD."""
        finest = min(self.candles, key=timeframe_ms)
        c = self.candles[finest].close
        return float(c[-1]) if len(c) else float("nan")

    @property
    def funding_rate(self) -> float | None:
        """Latest funding rate at or before the clock (fraction per interval), or ``None``."""
        return float(self.funding.rate[-1]) if len(self.funding) else None


@dataclass(frozen=True, eq=False)
class MarketSnapshot:
    """The market at one moment: ``time`` (ms, the clock) and one ``CoinSnapshot`` per coin."""

    time: int
    coins: Mapping[str, CoinSnapshot]
    source: str
    timeframes: tuple[str, ...] = field(default=())

    def prices(self) -> dict[str, float]:
        """coin -> mark price (USD) (a new dict each call)."""
        return dict(self._prices)

    @cached_property
    def _prices(self) -> dict[str, float]:
        return {c: s.price for c, s in self.coins.items()}


@runtime_checkable
class MarketSource(Protocol):
    """Where market data comes from: the bundled recording or a live exchange.

    ``snapshot()`` returns the market at the current clock; ``advance()`` moves the clock on by one
    cycle interval (recorded) or waits for wall time to pass (live sources treat it as a no-op).
    """

    name: str
    coins: tuple[str, ...]
    timeframes: tuple[str, ...]

    @property
    def now(self) -> int:
        """The clock, ms since the epoch (UTC)."""
        ...

    async def snapshot(self) -> MarketSnapshot: ...

    async def advance(self) -> None: ...

    async def close(self) -> None: ...


def parse_time(value: str | int | float | datetime) -> int:
    """ISO-8601 text (``2025-10-17T00:00:00Z``), a datetime or epoch ms -> epoch ms (UTC).

    Raises ``ConfigError`` for text that is not a date.
    """
    if isinstance(value, bool):
        raise ConfigError(f"start time {value!r} is not a date: use ISO-8601 such as 2025-10-17T00:00:00Z.")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f"start time '{value}' is not a date: use ISO-8601 such as 2025-10-17T00:00:00Z."
            ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def format_time(ms: int) -> str:
    """Epoch ms -> ``YYYY-MM-DD HH:MM UTC``."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
