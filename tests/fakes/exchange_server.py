"""A real HTTP exchange on 127.0.0.1 that speaks Hyperliquid's, Binance USD-M's, Bybit's and OKX's own
wire formats.

``FakeExchangeServer`` is an ``aiohttp.web`` server started inside the test's event loop. It serves
the bundled real candles (``arena_tui.engine.data.bundled_dataset()``, Binance USD-M) as they were
known at a chosen ``now`` (ms since the epoch, UTC): closed candles as recorded, and the candle
still open at ``now`` as a partial candle built from the 5m candles closed so far (a real exchange
returns it too, so the client must drop it).

Wire formats (request and reply shapes as ccxt sends and parses them; see ccxt's
``ts/src/test/static/{request,response}/hyperliquid.json`` and ``binance.json``):

- Hyperliquid: ``POST /info`` with a JSON body ``{"type": ...}``. Served types: ``spotMeta`` and
  ``metaAndAssetCtxs`` (what ccxt's ``load_markets`` asks for with ``fetchMarkets.types = ["swap"]``;
  ``metaAndAssetCtxs`` is also funding and open interest), ``spotMetaAndAssetCtxs``, ``perpDexs``,
  and ``candleSnapshot`` (``{"req": {"coin", "interval", "startTime", "endTime"}}``, candles whose
  open time is in ``[startTime, endTime]``, at most the latest 5000). Unknown types get HTTP 422,
  as the real endpoint does for a body it cannot deserialize.
- Binance USD-M: ``GET /fapi/v1/exchangeInfo``, ``/fapi/v1/klines`` (``symbol, interval,
  startTime, endTime, limit``; default 500, max 1500), ``/fapi/v1/premiumIndex`` and
  ``/fapi/v1/openInterest``; an unknown symbol gets HTTP 400 ``{"code": -1121, "msg": "Invalid symbol."}``.
- Bybit v5 (what ccxt's ``bybit`` calls with ``fetchMarkets.types = ["linear"]``): ``GET
  /v5/market/instruments-info`` (``category=linear``, ``limit`` up to 1000, ``status=PreLaunch`` ->
  none), ``/v5/market/kline`` (``category, symbol, interval`` in minutes or ``D``, ``start, end``
  inclusive, ``limit`` default 200, max 1000: the newest ``limit`` candles in the range, newest
  first, ``[startTime, open, high, low, close, volume, turnover]`` strings), ``/v5/market/tickers``
  (funding rate, next funding time, open interest; all linear tickers, or one ``symbol``) and
  ``/v5/market/open-interest`` (``symbol, intervalTime``; newest first). Every reply is wrapped in
  ``{"retCode": 0, "retMsg": "OK", "result": ..., "retExtInfo": {}, "time": ...}``; an unknown symbol
  gets ``retCode`` 10001 with HTTP 200, as Bybit answers. Funding is 8-hourly (``fundingInterval``
  480 minutes in the instrument info, which ccxt turns into the rate's ``interval``).
- OKX v5 (what ccxt's ``okx`` calls with ``fetchMarkets.types = ["swap"]``): ``GET
  /api/v5/public/instruments`` (``instType=SWAP``), ``/api/v5/market/candles`` (the latest 1440
  candles only) and ``/api/v5/market/history-candles`` (older ones; ccxt picks it when ``since`` is
  more than 1439 candles before the wall clock), both with ``instId, bar`` (``5m``, ``1H``, ``4H``,
  ``1Dutc``), ``after``/``before`` (open times strictly earlier/later), ``limit`` (default 100, max
  300): the newest ``limit`` candles in the range, newest first, ``[ts, o, h, l, c, vol (contracts),
  volCcy (base coin), volCcyQuote, confirm]`` strings; ``/api/v5/public/funding-rate`` (``instId``,
  or ``ANY`` for every swap) and ``/api/v5/public/open-interest`` (``instType=SWAP``, optional
  ``instId``; ``oi`` in contracts, ``oiCcy`` in the base coin). Replies are ``{"code": "0", "msg": "",
  "data": [...]}``; an unknown instrument gets ``code`` 51001 ("Instrument ID does not exist").
  Contract values (``ctVal``) are OKX's real ones (BTC 0.01, ETH 0.1, XRP 100, DOGE 1000...).

Order books (what ``fetch_order_book`` calls; the recording has none, so they are synthesised, see
``book_levels``): Hyperliquid ``POST /info {"type": "l2Book", "coin"}`` -> ``{"coin", "time",
"levels": [[{"px", "sz", "n"}, ...bids best first], [...asks]]}``, 20 levels a side; Binance USD-M
``GET /fapi/v1/depth`` (``symbol, limit``: 5, 10, 20, 50, 100, 500 (default) or 1000, others HTTP 400
code -1130) -> ``{"lastUpdateId", "E", "T", "bids": [["price", "qty"], ...], "asks": ...}``; Bybit
``GET /v5/market/orderbook`` (``category=linear, symbol, limit`` 1..500, default 1) -> ``result: {"s",
"b", "a", "ts", "u", "seq", "cts"}``; OKX ``GET /api/v5/market/books`` (``instId, sz`` 1..400, default
1) -> ``data: [{"asks": [["px", "contracts", "0", "orders"], ...], "bids", "ts"}]``. Request kinds
``l2Book``, ``depth``, ``bybit:orderbook``, ``okx:books`` (for faults).

Where the recording has no figure the replies say so honestly: funding on the Hyperliquid side is
the recorded Binance 8-hour rate at or before ``now`` divided by 8 (Hyperliquid pays hourly), open
interest is the real Hyperliquid figure per coin recorded in an Alpha Arena Season 1 prompt on
2025-10-28 06:14 UTC (served by every format), and fields the recording lacks (trade counts, taker
volumes, quote volumes) are ``0``. Bybit and OKX funding is the recorded Binance 8-hour rate (both
settle 8-hourly at 00/08/16 UTC).

A coin beyond the six: ``dataset_with_link()`` adds LINK, synthesised from SOL's candles (prices
times 0.09, rounded to 4 decimals; volumes times 11) and funding, with an invented open interest
(``SYNTHETIC_OPEN_INTEREST``). Pass it as ``dataset`` to list LINK on every exchange.

Websockets (what ccxt.pro's ``watch_ohlcv`` / ``watch_ohlcv_for_symbols`` and ``watch_order_book`` /
``watch_order_book_for_symbols`` speak; point the client at them with ``urls['api']['ws']``, as
``LiveMarket(base_url=...)`` does):

- Hyperliquid: ``GET /ws``. In: ``{"method": "subscribe", "subscription": {"type": "candle", "coin":
  "BTC", "interval": "5m"}}`` or ``{"type": "l2Book", "coin": "BTC"}`` (answered ``{"channel":
  "subscriptionResponse", "data": {...the request}}``), ``unsubscribe`` likewise, ``{"method": "ping"}``
  (answered ``{"channel": "pong"}``). Out: ``{"channel": "candle", "data": {"t", "T", "s", "i", "o",
  "c", "h", "l", "v", "n"}}`` (no closed flag); ``{"channel": "l2Book", "data": {"coin", "time",
  "levels": [[{"px", "sz", "n"}, ...bids], [...asks]]}}``, the whole book (``POST /info`` l2Book's 20
  levels a side), sent at once on subscribing and again on every move of ``now`` (Hyperliquid sends
  one per block).
- Binance USD-M: ``GET /market/ws/{n}`` (where ccxt.pro sends klines: ``.../ws`` plus the category and
  its stream index), ``/public/ws/{n}`` (where it sends depth streams), ``/ws/{n}`` and ``/ws``. In:
  ``{"method": "SUBSCRIBE", "params": ["btcusdt@kline_5m", "btcusdt@depth@100ms", ...], "id": 1}``
  (answered ``{"result": null, "id": 1}``; depth also as ``@depth``, ``@depth@0ms/250ms/500ms``),
  ``UNSUBSCRIBE`` likewise. Out: ``{"e": "kline", "E": now, "s": "BTCUSDT", "k": {"t", "T", "s", "i",
  "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"}}`` with ``x`` true on the candle's
  last event, when it closed; the diff-depth stream ``{"e": "depthUpdate", "E", "T", "s", "U", "u",
  "pu", "b": [["price", "qty"], ...], "a": ...}``: the book itself is never sent on the socket (a
  client syncs with ``GET /fapi/v1/depth``, as ccxt.pro does); each event carries the levels of the
  top ``BN_DEPTH_LEVELS`` (1000) that changed since the last one (quantity ``"0"``: removed). Update
  ids are one sequence per coin: ``U`` = the previous event's ``u`` + 1, ``u`` = ``U`` + 2, ``pu`` =
  the previous ``u``; a depth reply's ``lastUpdateId`` is the ``u`` of the last event (the server
  publishes pending changes first, so a snapshot is never behind the stream). An event is sent when
  ``now`` moves and the book changed (sizes change with the minute, prices with the mark), nothing
  when it did not, as Binance does.

On subscribing, the candle open at ``now`` is sent at once. When a test moves ``now`` the server pushes,
on every subscription, what a real exchange would have sent meanwhile: each candle that closed (its
final values; on Binance with ``x: true``; per move at most ``WS_MAX_CLOSED``: the one that was open
and the last ones after it) and
then the candle now open (its values so far), in that order; nothing when nothing changed. Socket faults:
``drop_ws(refuse=N)`` closes every socket and answers the next ``N`` handshakes (``-1``: all, until
``allow_ws()``) with HTTP 503; ``pause_ws()`` / ``resume_ws()`` stop and restart sending (what would
have been sent meanwhile is lost, as on a stalled connection: the next Binance diff then does not
follow the last one sent); ``send_ws(text, only=None)`` sends raw text (a JSON value is serialised) on
every socket, or ``only`` on those subscribed to ``"candles"`` or ``"books"``; ``ws_depth_update(coin,
bids, asks)`` makes a Binance diff numbered next in the coin's sequence with the test's own levels.
``ws_connections`` counts accepted handshakes, ``ws_refused`` refused ones, ``ws_messages`` every
message received from clients (decoded); ``ws_subscriptions()`` counts candle subscriptions,
``ws_book_subscriptions()`` book ones; ``ws_book_time(exchange, coin)`` is the exchange time of the last
book update the websocket published for ``coin``.

Order-book requests (``BOOK_KINDS``) are recorded in ``book_requests``, not ``requests``: ``counts()``
tallies the candle, funding, open-interest and market-list requests a snapshot makes, as before the
books were added; ``count(kind)`` counts either.

Fault injection: ``add_fault(Fault(...))`` makes the next N matching requests answer with an HTTP
status, after a delay, or with a malformed body. ``requests`` records every request's kind (``count``
and ``counts`` tally them); ``candle_requests`` records every OHLCV request (``candleSnapshot``,
``klines``, ``bybit:kline``, ``okx:candles`` or ``okx:history-candles``) as a ``CandleRequest`` (coin,
interval, start, end, limit; for OKX ``start`` is ``before + 1`` and ``end`` is ``after``);
``clear_requests`` empties both. Bybit and OKX request kinds are the endpoint's last path segment
prefixed with the exchange: ``bybit:instruments-info``, ``bybit:kline``, ``bybit:tickers``,
``bybit:open-interest``, ``okx:instruments``, ``okx:candles``, ``okx:history-candles``,
``okx:funding-rate``, ``okx:open-interest``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from aiohttp import web

from arena_tui.engine.data import Dataset, bundled_dataset
from arena_tui.engine.market.base import Candles, FundingHistory, timeframe_ms

OPEN_INTEREST: dict[str, float] = {
    "BTC": 30012.47,
    "ETH": 516723.52,
    "SOL": 3820766.44,
    "BNB": 74807.95,
    "XRP": 53840198.0,
    "DOGE": 585741930.0,
}
"""Real Hyperliquid open interest (base coin) from an Alpha Arena prompt, 2025-10-28 06:14 UTC."""

SYNTHETIC_OPEN_INTEREST: dict[str, float] = {"LINK": 1234567.8}
"""Invented open interest of the synthesised coins (``dataset_with_link``)."""

# Real Bybit linear instrument properties (priceScale, tickSize, qtyStep, maxLeverage).
_BYBIT: dict[str, tuple[int, str, str, str]] = {
    "BTC": (2, "0.10", "0.001", "100.00"),
    "ETH": (2, "0.01", "0.01", "100.00"),
    "SOL": (3, "0.010", "0.1", "100.00"),
    "BNB": (2, "0.10", "0.01", "75.00"),
    "XRP": (4, "0.0001", "1", "75.00"),
    "DOGE": (5, "0.00001", "1", "75.00"),
    "LINK": (3, "0.001", "0.1", "75.00"),
}
# Real OKX swap contract values and sizes (ctVal, lotSz, tickSz, lever).
_OKX: dict[str, tuple[str, str, str, str]] = {
    "BTC": ("0.01", "0.01", "0.1", "100"),
    "ETH": ("0.1", "0.01", "0.01", "100"),
    "SOL": ("1", "0.01", "0.01", "50"),
    "BNB": ("0.01", "1", "0.01", "50"),
    "XRP": ("100", "0.01", "0.0001", "75"),
    "DOGE": ("1000", "0.01", "0.00001", "75"),
    "LINK": ("1", "0.01", "0.001", "50"),
}
_BYBIT_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "60": "1h", "240": "4h", "D": "1d"}
_OKX_BARS = {"1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "1H": "1h", "4H": "4h", "1Dutc": "1d", "1D": "1d"}
EIGHT_HOURS_MS = 8 * 3_600_000
BOOK_KINDS = frozenset({"l2Book", "depth", "bybit:orderbook", "okx:books"})
"""Request kinds of the order-book endpoints (recorded in ``book_requests``)."""
WS_MAX_CLOSED = 10
"""Most closed candles pushed per subscription when ``now`` moves (a jump of days sends the last ones)."""
BN_DEPTH_LEVELS = 1000
"""Levels a side of each Binance USD-M book the diff-depth stream keeps up to date (the most
``/fapi/v1/depth`` serves, and what ccxt.pro syncs with)."""
BN_FIRST_UPDATE_ID = 8_400_000_000_000
"""The first Binance order-book update id (real ones are of this size); ids only ever increase."""


def scaled_coin(ds: Dataset, coin: str, like: str, price: float, volume: float) -> Dataset:
    """``ds`` plus ``coin``: ``like``'s candles with prices times ``price`` (rounded to 4 decimals) and
    volumes times ``volume``, and ``like``'s funding."""
    candles = dict(ds.candles)
    per_tf = {}
    for tf, c in ds.candles[like].items():
        px = lambda a: np.ascontiguousarray(np.round(a * price, 4))  # noqa: E731
        per_tf[tf] = Candles(tf, c.ts.copy(), px(c.open), px(c.high), px(c.low), px(c.close), np.ascontiguousarray(c.volume * volume))
    candles[coin] = per_tf
    f = ds.funding[like]
    funding = {**ds.funding, coin: FundingHistory(f.ts.copy(), f.rate.copy(), f.interval_ms)}
    return Dataset(f"{ds.name}+{coin}", candles, funding)


@functools.lru_cache(maxsize=1)
def dataset_with_link() -> Dataset:
    """The bundled recording plus LINK, synthesised from SOL (see the module docstring)."""
    return scaled_coin(bundled_dataset(), "LINK", "SOL", 0.09, 11.0)


def open_interest(coin: str) -> float:
    """The open interest (base coin) every format serves for ``coin``."""
    return OPEN_INTEREST.get(coin, SYNTHETIC_OPEN_INTEREST.get(coin, 1000.0))


BOOK_NOTIONAL_USD = 25_000.0
"""Order-book levels rest about this much USD notional (times 1..9, by the seeded formula)."""


def book_levels(coin: str, mark: float, now: int, n: int, tick: str, lot: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """A deterministic order book around ``mark``: ``(bids best first, asks best first)`` of ``n``
    levels each, ``(price, size)`` as Decimals. Level ``i`` (0-based) sits ``i + 0.5`` bp from
    ``mark`` (bids rounded down, asks up, to ``tick``; a level that rounds onto the one before moves
    out a tick), so the book spreads 1 bp and its levels are 1 bp apart. Sizes are whole ``lot``s:
    about ``BOOK_NOTIONAL_USD`` times a factor 1..9 from a seeded formula of the coin, side, level
    and minute of ``now`` (so the book changes as the clock moves, and bids and asks differ). The
    first ``k`` levels of a book of ``n`` are the book of ``k`` (a deeper reply extends a shallower one)."""
    bids, asks = _book_levels(coin, float(mark), now // 60_000, n, tick, lot)
    return list(bids), list(asks)


@functools.lru_cache(maxsize=256)
def _book_levels(coin: str, mark: float, minute: int, n: int, tick: str, lot: str) -> tuple[tuple[tuple[Decimal, Decimal], ...], ...]:
    t, q = Decimal(tick), Decimal(lot)
    mid = Decimal(num(mark))
    seed = zlib.crc32(f"{coin}:{minute}".encode())
    lots = max(1, int(Decimal(repr(BOOK_NOTIONAL_USD)) / (mid * q)))
    sides = []
    for side, sign in ((0, -1), (1, 1)):
        out: list[tuple[Decimal, Decimal]] = []
        for i in range(n):
            raw = mid * (1 + sign * (Decimal(2 * i + 1) / 20_000))
            px = (raw / t).to_integral_value(rounding="ROUND_FLOOR" if sign < 0 else "ROUND_CEILING") * t
            if out and (px >= out[-1][0] if sign < 0 else px <= out[-1][0]):
                px = out[-1][0] + sign * t
            factor = 1 + (seed + 7919 * i + 104729 * side) % 9
            out.append((px, lots * factor * q))
        sides.append(tuple(out))
    return sides[0], sides[1]


def _dec(x: float) -> Decimal:
    return Decimal(num(x))


def _dnum(d: Decimal) -> str:
    """A Decimal as positional text without exponent or trailing zeros."""
    text = format(d.normalize(), "f")
    return text

# Real Hyperliquid universe properties of the six coins (szDecimals, maxLeverage).
_HL_UNIVERSE: dict[str, tuple[int, int]] = {
    "BTC": (5, 40),
    "ETH": (4, 25),
    "SOL": (2, 20),
    "BNB": (3, 10),
    "XRP": (0, 20),
    "DOGE": (0, 10),
}
# Real Binance USD-M precisions of the six contracts (pricePrecision, quantityPrecision, tickSize, stepSize).
_BN_PRECISION: dict[str, tuple[int, int, str, str]] = {
    "BTC": (2, 3, "0.10", "0.001"),
    "ETH": (2, 3, "0.01", "0.001"),
    "SOL": (4, 0, "0.0100", "1"),
    "BNB": (3, 2, "0.010", "0.01"),
    "XRP": (4, 1, "0.0001", "0.1"),
    "DOGE": (6, 0, "0.000010", "1"),
}


def num(x: float) -> str:
    """A float as the exchanges write numbers: positional decimal text that parses back exactly."""
    return _num(float(x))


@functools.lru_cache(maxsize=1 << 17)
def _num(x: float) -> str:  # the same recorded candles are served over and over
    return np.format_float_positional(x, trim="-")


@dataclass
class Fault:
    """A misbehaviour for the next ``times`` requests whose kind is ``match`` (``None``: any request).

    ``status``: answer with this HTTP status (body ``body`` or a short text). ``delay``: seconds to
    wait before answering. ``body``/``content_type``: send this raw body instead of the real reply
    (a malformed reply when ``status`` is ``None``). ``times=-1`` means every matching request.
    Request kinds: Hyperliquid body types (``candleSnapshot``, ``metaAndAssetCtxs``, ``spotMeta``...)
    and Binance endpoint names (``exchangeInfo``, ``klines``, ``premiumIndex``, ``openInterest``).
    """

    status: int | None = None
    delay: float = 0.0
    body: str | None = None
    content_type: str = "application/json"
    times: int = 1
    match: str | None = None


@dataclass(frozen=True)
class CandleRequest:
    """One OHLCV request as the server received it: ``coin`` (e.g. ``BTC``), ``interval`` (e.g. ``5m``),
    ``start``/``end`` (ms, ``None`` when not sent) and ``limit`` (``None`` when not sent; Hyperliquid
    has none)."""

    coin: str
    interval: str
    start: int | None
    end: int | None
    limit: int | None


@dataclass(eq=False)
class _WsSub:
    """One candle subscription on one socket: what was last sent for it."""

    coin: str
    interval: str
    open_ts: int | None = None  # open time of the candle last sent as open
    sent: tuple | None = None  # that candle's values as last sent


@dataclass(eq=False)
class _WsConn:
    exchange: str  # "hyperliquid" or "binanceusdm"
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    subs: dict[tuple[str, str], _WsSub] = field(default_factory=dict)
    books: set[str] = field(default_factory=set)  # coins whose order book this socket subscribed to


@dataclass
class _BnBook:
    """The Binance book of one coin as the server last published it: its update id (``lastUpdateId``
    of a depth reply, ``u`` of the last diff event), exchange time, and levels (price -> quantity)."""

    update_id: int
    time: int
    bids: dict[Decimal, Decimal]
    asks: dict[Decimal, Decimal]


_CLOSE = object()


@dataclass
class FakeExchangeServer:
    """The fake exchange. ``now`` (ms) is the server's clock and may be moved between requests; moving
    it pushes candle updates on every websocket subscription."""

    now: int
    dataset: Dataset = field(default_factory=bundled_dataset, repr=False)
    faults: list[Fault] = field(default_factory=list)
    requests: list[str] = field(default_factory=list, repr=False)
    candle_requests: list[CandleRequest] = field(default_factory=list, repr=False)
    book_requests: list[str] = field(default_factory=list, repr=False)
    base_url: str = ""
    ws_connections: int = 0
    ws_refused: int = 0
    ws_messages: list[Any] = field(default_factory=list, repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _ws: list[_WsConn] = field(default_factory=list, repr=False)
    _ws_refuse: int = 0
    _ws_paused: bool = False
    _ws_writers: set[asyncio.Task] = field(default_factory=set, repr=False)
    _bn_books: dict[str, _BnBook] = field(default_factory=dict, repr=False)
    _bn_last_id: int = BN_FIRST_UPDATE_ID

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get("now")
        object.__setattr__(self, name, value)
        if name == "now" and old is not None and value != old and self.__dict__.get("_ws"):
            self._ws_clock_moved()

    async def start(self) -> str:
        """Listen on an ephemeral port of 127.0.0.1; returns the base URL (``http://127.0.0.1:PORT``)."""
        app = web.Application()
        app.router.add_post("/info", self._hyperliquid)
        app.router.add_get("/fapi/v1/{endpoint}", self._binance)
        app.router.add_get("/v5/market/{endpoint}", self._bybit)
        app.router.add_get("/api/v5/{group}/{endpoint}", self._okx)
        app.router.add_get("/ws", self._ws_route)
        app.router.add_get("/ws/{stream}", self._ws_route)
        app.router.add_get("/market/ws/{stream}", self._ws_route)
        app.router.add_get("/public/ws/{stream}", self._ws_route)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        writers = list(self._ws_writers)
        self.drop_ws()
        if writers:
            await asyncio.wait(writers, timeout=2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeExchangeServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def _record(self, kind: str) -> None:
        (self.book_requests if kind in BOOK_KINDS else self.requests).append(kind)

    def count(self, kind: str) -> int:
        """How many requests of ``kind`` the server has received (order-book kinds included)."""
        return sum(1 for k in (self.book_requests if kind in BOOK_KINDS else self.requests) if k == kind)

    def counts(self) -> Counter[str]:
        """Requests received per kind (``{"candleSnapshot": 18, "metaAndAssetCtxs": 2, ...}``)."""
        return Counter(self.requests)

    def candle_counts(self) -> Counter[tuple[str, str]]:
        """OHLCV requests received per ``(coin, interval)``."""
        return Counter((r.coin, r.interval) for r in self.candle_requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far (``requests`` and ``candle_requests``)."""
        self.requests.clear()
        self.candle_requests.clear()
        self.book_requests.clear()

    # ----- websocket faults ---------------------------------------------------------------------

    def drop_ws(self, refuse: int = 0) -> None:
        """Close every websocket now (a close frame, code 1001; unsent updates are lost) and answer the
        next ``refuse`` handshakes with HTTP 503 (``-1``: every one until ``allow_ws()``)."""
        self._ws_refuse = refuse
        conns, self._ws[:] = list(self._ws), []
        for conn in conns:
            while not conn.queue.empty():
                conn.queue.get_nowait()
            conn.queue.put_nowait(_CLOSE)

    def allow_ws(self) -> None:
        """Accept websocket handshakes again."""
        self._ws_refuse = 0

    def pause_ws(self) -> None:
        """Stop sending candle and order-book updates (the sockets stay open and answer pings; the
        Binance books still change meanwhile, so the first diff after ``resume_ws`` does not follow
        the last one sent)."""
        self._ws_paused = True

    def resume_ws(self) -> None:
        """Send candle and order-book updates again, from the next move of ``now`` on."""
        self._ws_paused = False

    def send_ws(self, payload: Any, *, only: str | None = None) -> None:
        """Send ``payload`` (text as is, anything else as JSON) on every open websocket; ``only="candles"``
        or ``"books"``: only on those subscribed to candles, or to an order book (Binance streams its
        books on a socket of their own; Hyperliquid both on one)."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        for conn in self._ws:
            if only is None or (only == "candles" and conn.subs) or (only == "books" and conn.books):
                conn.queue.put_nowait(text)

    @property
    def ws_open(self) -> int:
        """Websockets open now."""
        return len(self._ws)

    def ws_subscriptions(self) -> Counter[tuple[str, str]]:
        """Candle subscriptions on the open websockets per ``(coin, interval)``."""
        return Counter(key for conn in self._ws for key in conn.subs)

    def ws_book_subscriptions(self) -> Counter[str]:
        """Order-book subscriptions on the open websockets per coin."""
        return Counter(coin for conn in self._ws for coin in conn.books)

    def ws_book_time(self, exchange: str, coin: str) -> int:
        """The exchange time (ms) of the last update of ``coin``'s book the websocket has published:
        Hyperliquid sends the whole book on every move of ``now``, so ``now``; Binance sends a diff
        only when the book changed, so the time of the last change."""
        return self._bn_book(coin).time if exchange == "binanceusdm" else self.now

    def ws_l2book(self, coin: str) -> dict[str, Any]:
        """Hyperliquid's ``l2Book`` websocket message: the book ``POST /info {"type": "l2Book"}``
        serves now (20 levels a side), ``{"channel": "l2Book", "data": {"coin", "time", "levels"}}``."""
        return {"channel": "l2Book", "data": self._hl_book(coin)}

    def ws_depth_update(self, coin: str, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
        """A Binance ``depthUpdate`` event for ``coin`` carrying the given ``[price, quantity]`` text
        levels, numbered as the next event of its diff stream (``pu`` the last ``u`` published), as
        a test's own message: the server's book is unchanged, so the next real diff follows it."""
        book = self._bn_book(coin)
        first = self._bn_last_id = max(self._bn_last_id, book.update_id) + 1
        event = {
            "e": "depthUpdate", "E": self.now, "T": self.now, "s": f"{coin}USDT",
            "U": first, "u": first, "pu": book.update_id, "b": bids, "a": asks,
        }
        book.update_id = first
        return event

    def ws_candle(self, exchange: str, coin: str, interval: str, row: tuple, closed: bool) -> dict[str, Any]:
        """A candle message in ``exchange``'s websocket format; ``row`` is ``(open time, o, h, l, c, v)``;
        ``closed`` is Binance's ``x`` (Hyperliquid sends no such flag)."""
        t, o, h, lo, c, v = row
        step = timeframe_ms(interval)
        if exchange == "hyperliquid":
            data = {"t": t, "T": t + step - 1, "s": coin, "i": interval, "o": num(o), "c": num(c), "h": num(h), "l": num(lo), "v": num(v), "n": 0}
            return {"channel": "candle", "data": data}
        symbol = f"{coin}USDT"
        k = {
            "t": t, "T": t + step - 1, "s": symbol, "i": interval, "f": 0, "L": 0,
            "o": num(o), "c": num(c), "h": num(h), "l": num(lo), "v": num(v),
            "n": 0, "x": bool(closed), "q": "0", "V": "0", "Q": "0", "B": "0",
        }
        return {"e": "kline", "E": self.now, "s": symbol, "k": k}

    # ----- websockets -----------------------------------------------------------------------------

    async def _ws_route(self, request: web.Request) -> web.StreamResponse:
        exchange = "hyperliquid" if request.path == "/ws" else "binanceusdm"
        if self._ws_refuse:
            if self._ws_refuse > 0:
                self._ws_refuse -= 1
            self.ws_refused += 1
            return web.Response(status=503, text="503 websocket refused (fault injected)")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.ws_connections += 1
        conn = _WsConn(exchange, ws)
        self._ws.append(conn)
        writer = asyncio.get_running_loop().create_task(self._ws_writer(conn))
        self._ws_writers.add(writer)
        writer.add_done_callback(self._ws_writers.discard)
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self._ws_incoming(conn, msg.data)
        finally:
            if conn in self._ws:
                self._ws.remove(conn)
            conn.queue.put_nowait(_CLOSE)
            await asyncio.wait([writer], timeout=2.0)
        return ws

    async def _ws_writer(self, conn: _WsConn) -> None:
        while True:
            item = await conn.queue.get()
            if item is _CLOSE:
                if not conn.ws.closed:
                    await conn.ws.close(code=1001, message=b"going away")
                return
            if conn.ws.closed:
                return
            try:
                await conn.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return

    def _ws_send(self, conn: _WsConn, payload: Any) -> None:
        conn.queue.put_nowait(json.dumps(payload))

    def _ws_incoming(self, conn: _WsConn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        self.ws_messages.append(msg)
        if conn.exchange == "hyperliquid":
            self._hl_ws(conn, msg, text)
        else:
            self._bn_ws(conn, msg)

    def _hl_ws(self, conn: _WsConn, msg: Any, text: str) -> None:
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            self._ws_send(conn, {"channel": "pong"})
            return
        sub = msg.get("subscription") if isinstance(msg, dict) else None
        if method in ("subscribe", "unsubscribe") and isinstance(sub, dict) and sub.get("type") == "candle":
            key = (str(sub.get("coin")), str(sub.get("interval")))
            self._ws_send(conn, {"channel": "subscriptionResponse", "data": msg})
            if method == "unsubscribe":
                conn.subs.pop(key, None)
            elif key not in conn.subs:
                conn.subs[key] = _WsSub(*key)
                self._ws_push(conn, conn.subs[key])
            return
        if method in ("subscribe", "unsubscribe") and isinstance(sub, dict) and sub.get("type") == "l2Book":
            coin = str(sub.get("coin"))
            self._ws_send(conn, {"channel": "subscriptionResponse", "data": msg})
            if method == "unsubscribe":
                conn.books.discard(coin)
            elif coin not in conn.books and coin in self.dataset.coins:
                conn.books.add(coin)
                if not self._ws_paused:
                    self._ws_send(conn, self.ws_l2book(coin))  # the book at once, as Hyperliquid does
            return
        self._ws_send(conn, {"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text[:200]}"})

    def _bn_ws(self, conn: _WsConn, msg: Any) -> None:
        method = msg.get("method") if isinstance(msg, dict) else None
        params = msg.get("params") if isinstance(msg, dict) else None
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            self._ws_send(conn, {"error": {"code": 2, "msg": "Invalid request: unknown variable"}, "id": None})
            return
        added = []
        books = []
        for name in params:
            symbol, _, kind = str(name).partition("@")
            coin = self._bn_coin(symbol.upper())
            interval = kind.removeprefix("kline_") if kind.startswith("kline_") else None
            depth = kind in ("depth", "depth@0ms", "depth@100ms", "depth@250ms", "depth@500ms")
            if coin is None or not (interval or depth):
                self._ws_send(conn, {"error": {"code": 2, "msg": f"Invalid request: unknown stream {name}"}, "id": msg.get("id")})
                return
            if depth:
                if method == "UNSUBSCRIBE":
                    conn.books.discard(coin)
                elif coin not in conn.books:
                    conn.books.add(coin)
                    books.append(coin)
                continue
            key = (coin, interval)
            if method == "UNSUBSCRIBE":
                conn.subs.pop(key, None)
            elif key not in conn.subs:
                conn.subs[key] = _WsSub(*key)
                added.append(conn.subs[key])
        self._ws_send(conn, {"result": None, "id": msg.get("id")})
        for sub in added:
            self._ws_push(conn, sub)
        for coin in books:  # the diff stream from now on; the book itself comes from /fapi/v1/depth
            self._bn_publish(coin)

    def _ws_clock_moved(self) -> None:
        for conn in list(self._ws):
            for sub in conn.subs.values():
                self._ws_push(conn, sub)
            if conn.exchange == "hyperliquid" and not self._ws_paused:
                for coin in sorted(conn.books):  # Hyperliquid sends the whole book (every block)
                    self._ws_send(conn, self.ws_l2book(coin))
        for coin in sorted({c for conn in self._ws if conn.exchange == "binanceusdm" for c in conn.books}):
            self._bn_publish(coin)

    # ----- Binance diff-depth stream ------------------------------------------------------------

    def _bn_book(self, coin: str) -> _BnBook:
        """``coin``'s Binance book as last published (made, with a fresh update id, the first time)."""
        book = self._bn_books.get(coin)
        if book is None:
            bids, asks = self.book("binanceusdm", coin, BN_DEPTH_LEVELS)
            self._bn_last_id += 1
            book = self._bn_books[coin] = _BnBook(self._bn_last_id, self.now, dict(bids), dict(asks))
        return book

    def _bn_publish(self, coin: str) -> None:
        """Bring ``coin``'s published Binance book up to ``now``: when it changed, one ``depthUpdate``
        event (``U`` = the previous ``u`` + 1, ``u`` = ``U`` + 2 as if three updates were merged, ``pu``
        = the previous ``u``; the levels whose quantity changed, ``"0"`` for a removed one) is sent on
        every socket subscribed to it (lost while paused)."""
        book = self._bn_book(coin)
        bids, asks = self.book("binanceusdm", coin, BN_DEPTH_LEVELS)
        new_bids, new_asks = dict(bids), dict(asks)
        if new_bids == book.bids and new_asks == book.asks:
            return

        def diff(old: dict[Decimal, Decimal], levels: list[tuple[Decimal, Decimal]], new: dict[Decimal, Decimal]) -> list[list[str]]:
            changed = [[_dnum(px), _dnum(sz)] for px, sz in levels if old.get(px) != sz]
            return changed + [[_dnum(px), "0"] for px in old if px not in new]

        first = max(self._bn_last_id, book.update_id) + 1
        self._bn_last_id = first + 2
        event = {
            "e": "depthUpdate", "E": self.now, "T": self.now, "s": f"{coin}USDT",
            "U": first, "u": first + 2, "pu": book.update_id,
            "b": diff(book.bids, bids, new_bids), "a": diff(book.asks, asks, new_asks),
        }
        self._bn_books[coin] = _BnBook(first + 2, self.now, new_bids, new_asks)
        if self._ws_paused:
            return
        text = json.dumps(event)
        for conn in self._ws:
            if conn.exchange == "binanceusdm" and coin in conn.books:
                conn.queue.put_nowait(text)

    def _ws_push(self, conn: _WsConn, sub: _WsSub) -> None:
        """Queue what changed for ``sub`` since it was last sent: the candles closed since (final
        values) and the candle open at ``now``. Nothing is sent while paused (but it counts as sent)."""
        if sub.coin not in self.dataset.coins or sub.interval not in self.dataset.timeframes:
            return
        step = timeframe_ms(sub.interval)
        open_ts = (self.now // step) * step
        out = []
        if sub.open_ts is not None and open_ts > sub.open_ts:
            # the candle that was open closes first (its last update is never lost on a live
            # connection); of the ones opened and closed since, the last few
            rows = self.candles_at(sub.coin, sub.interval, sub.open_ts, sub.open_ts)
            first = max(sub.open_ts + step, open_ts - (WS_MAX_CLOSED - 1) * step)
            rows += self.candles_at(sub.coin, sub.interval, first, open_ts - step)
            for row in rows:
                out.append(self.ws_candle(conn.exchange, sub.coin, sub.interval, row, closed=True))
        current = self.candles_at(sub.coin, sub.interval, open_ts, open_ts)
        if current and (open_ts != sub.open_ts or current[-1] != sub.sent):
            out.append(self.ws_candle(conn.exchange, sub.coin, sub.interval, current[-1], closed=False))
            sub.sent = current[-1]
        sub.open_ts = open_ts
        if not self._ws_paused:
            for payload in out:
                self._ws_send(conn, payload)

    # ----- data as known at ``now`` -----------------------------------------------------------

    def candles_at(
        self, coin: str, timeframe: str, start: int | None = None, end: int | None = None
    ) -> list[tuple[int, float, float, float, float, float]]:
        """``(open time, o, h, l, c, v)`` of every candle opened at or before ``now``, the last one
        partial when it is still open; only those whose open time is in ``[start, end]`` (ms) when
        given (the same rows as filtering the full list, without building it)."""
        if timeframe not in self.dataset.timeframes:
            return []
        c = self.dataset.candles[coin][timeframe]
        tf = timeframe_ms(timeframe)
        closed = int(np.searchsorted(c.close_ts, self.now, side="right"))
        lo = 0 if start is None else int(np.searchsorted(c.ts, start, side="left"))
        hi = closed if end is None else min(closed, int(np.searchsorted(c.ts, end, side="right")))
        rows = [
            (int(c.ts[i]), float(c.open[i]), float(c.high[i]), float(c.low[i]), float(c.close[i]), float(c.volume[i]))
            for i in range(lo, hi)
        ]
        open_ts = (self.now // tf) * tf
        in_range = (start is None or open_ts >= start) and (end is None or open_ts <= end)
        if in_range and (closed == 0 or int(c.ts[closed - 1]) < open_ts):
            partial = self._partial(coin, open_ts)
            if partial is not None:
                rows.append(partial)
        return rows

    def _partial(self, coin: str, open_ts: int) -> tuple[int, float, float, float, float, float] | None:
        fine: Candles = self.dataset.candles[coin]["5m"]
        a = int(np.searchsorted(fine.ts, open_ts, side="left"))
        b = int(np.searchsorted(fine.close_ts, self.now, side="right"))
        if a >= len(fine) or int(fine.ts[a]) != open_ts:
            return None
        if b <= a:  # nothing traded into a closed 5m candle yet: the open is all that is known
            o = float(fine.open[a])
            return (open_ts, o, o, o, o, 0.0)
        return (
            open_ts,
            float(fine.open[a]),
            float(fine.high[a:b].max()),
            float(fine.low[a:b].min()),
            float(fine.close[b - 1]),
            float(fine.volume[a:b].sum()),
        )

    def mark_price(self, coin: str) -> float:
        """Latest known price at ``now``: the close of the last 5m candle (partial or closed)."""
        recent = self.candles_at(coin, "5m", start=self.now - 600_000)
        return (recent or self.candles_at(coin, "5m"))[-1][4]

    def funding_8h(self, coin: str) -> tuple[int, float]:
        """The recorded Binance funding ``(time ms, rate per 8 h)`` at or before ``now``."""
        f = self.dataset.funding[coin]
        i = int(np.searchsorted(f.ts, self.now, side="right")) - 1
        return int(f.ts[i]), float(f.rate[i])

    def hourly_funding(self, coin: str) -> float:
        """The Hyperliquid-style hourly funding rate served for ``coin`` (recorded 8-hour rate / 8)."""
        return self.funding_8h(coin)[1] / 8.0

    def _day_stats(self, coin: str) -> tuple[float, float, float]:
        """(price 24 h ago, base volume over 24 h, notional volume over 24 h) from closed 5m candles."""
        fine = self.dataset.candles[coin]["5m"]
        b = int(np.searchsorted(fine.close_ts, self.now, side="right"))
        a = max(0, b - 288)
        base = float(fine.volume[a:b].sum())
        notional = float((fine.volume[a:b] * fine.close[a:b]).sum())
        return float(fine.open[a]), base, notional

    # ----- request handling -------------------------------------------------------------------

    async def _apply_fault(self, kind: str) -> web.Response | None:
        for fault in self.faults:
            if fault.times == 0 or (fault.match is not None and fault.match != kind):
                continue
            if fault.times > 0:
                fault.times -= 1
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                text = fault.body if fault.body is not None else f"{fault.status} fault injected"
                return web.Response(status=fault.status, text=text, content_type="text/plain")
            if fault.body is not None:
                return web.Response(status=200, text=fault.body, content_type=fault.content_type)
            return None
        return None

    async def _hyperliquid(self, request: web.Request) -> web.Response:
        try:
            payload: Any = await request.json()
            kind = str(payload["type"])
        except (ValueError, KeyError, TypeError):
            self.requests.append("invalid")
            return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")
        self._record(kind)
        if kind == "candleSnapshot":
            req = payload.get("req") or {}
            if isinstance(req, dict):
                self.candle_requests.append(
                    CandleRequest(
                        str(req.get("coin", "")),
                        str(req.get("interval", "")),
                        _int_or_none(req.get("startTime")),
                        _int_or_none(req.get("endTime")),
                        None,
                    )
                )
        faulted = await self._apply_fault(kind)
        if faulted is not None:
            return faulted
        if kind == "spotMeta":
            return web.json_response(self._hl_spot_meta())
        if kind == "spotMetaAndAssetCtxs":
            return web.json_response([self._hl_spot_meta(), []])
        if kind == "perpDexs":
            return web.json_response([None])
        if kind in ("meta", "metaAndAssetCtxs"):
            meta = self._hl_meta()
            if kind == "meta":
                return web.json_response(meta)
            return web.json_response([meta, [self._hl_asset_ctx(c) for c in self.dataset.coins]])
        if kind == "candleSnapshot":
            return web.json_response(self._hl_candles(payload.get("req") or {}))
        if kind == "l2Book":
            coin = str(payload.get("coin", ""))
            if coin not in self.dataset.coins:
                return web.json_response(None)  # what Hyperliquid answers for a coin it does not list
            return web.json_response(self._hl_book(coin))
        return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")

    def _hl_spot_meta(self) -> dict[str, Any]:
        usdc = {
            "name": "USDC",
            "szDecimals": 8,
            "weiDecimals": 8,
            "index": 0,
            "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
            "isCanonical": True,
            "evmContract": None,
            "fullName": None,
        }
        return {"tokens": [usdc], "universe": []}

    def _hl_meta(self) -> dict[str, Any]:
        universe = []
        for coin in self.dataset.coins:
            sz, lev = _HL_UNIVERSE.get(coin, (2, 10))
            universe.append({"szDecimals": sz, "name": coin, "maxLeverage": lev, "marginTableId": lev})
        return {"universe": universe, "marginTables": [], "collateralToken": 0}

    def _hl_asset_ctx(self, coin: str) -> dict[str, Any]:
        mark = self.mark_price(coin)
        prev, base_vol, notional = self._day_stats(coin)
        return {
            "funding": num(self.hourly_funding(coin)),
            "openInterest": num(open_interest(coin)),
            "prevDayPx": num(prev),
            "dayNtlVlm": num(notional),
            "premium": "0.0",
            "oraclePx": num(mark),
            "markPx": num(mark),
            "midPx": num(mark),
            "impactPxs": [num(mark), num(mark)],
            "dayBaseVlm": num(base_vol),
        }

    def book(self, exchange: str, coin: str, n: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The order book ``exchange`` serves for ``coin`` at ``now`` (``book_levels`` with its tick and
        lot; on OKX sizes in contracts), ``n`` levels a side."""
        if exchange == "bybit":
            _, tick, lot, _ = _BYBIT.get(coin, (4, "0.0001", "0.1", "50.00"))
        elif exchange == "okx":  # sizes in contracts of ctVal base coins
            ct_val, lot, tick, _ = _OKX.get(coin, ("1", "0.01", "0.0001", "50"))
            ct = Decimal(ct_val)
            bids, asks = book_levels(coin, self.mark_price(coin), self.now, n, tick, _dnum(Decimal(lot) * ct))
            return [(px, sz / ct) for px, sz in bids], [(px, sz / ct) for px, sz in asks]
        else:
            _, _, tick, lot = _BN_PRECISION.get(coin, (4, 2, "0.0001", "0.01"))
        return book_levels(coin, self.mark_price(coin), self.now, n, tick, lot)

    def _hl_book(self, coin: str) -> dict[str, Any]:
        bids, asks = self.book("hyperliquid", coin, 20)
        side = lambda levels: [{"px": _dnum(px), "sz": _dnum(sz), "n": 1 + i % 4} for i, (px, sz) in enumerate(levels)]  # noqa: E731
        return {"coin": coin, "time": self.now, "levels": [side(bids), side(asks)]}

    def _hl_candles(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        coin = str(req.get("coin", ""))
        interval = str(req.get("interval", ""))
        if coin not in self.dataset.coins or interval not in self.dataset.timeframes:
            return []
        start = int(req.get("startTime", 0))
        end = int(req.get("endTime", self.now))
        rows = self.candles_at(coin, interval, start, end)[-5000:]
        tf = timeframe_ms(interval)
        return [
            {
                "t": t,
                "T": t + tf - 1,
                "s": coin,
                "i": interval,
                "o": num(o),
                "c": num(c),
                "h": num(h),
                "l": num(lo),
                "v": num(v),
                "n": 0,
            }
            for t, o, h, lo, c, v in rows
        ]

    async def _binance(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        self._record(endpoint)
        q = request.query
        if endpoint == "klines":
            self.candle_requests.append(
                CandleRequest(
                    q.get("symbol", "").removesuffix("USDT"),
                    q.get("interval", ""),
                    _int_or_none(q.get("startTime")),
                    _int_or_none(q.get("endTime")),
                    _int_or_none(q.get("limit")),
                )
            )
        faulted = await self._apply_fault(endpoint)
        if faulted is not None:
            return faulted
        if endpoint == "exchangeInfo":
            return web.json_response(self._bn_exchange_info())
        coin = self._bn_coin(q.get("symbol", ""))
        if coin is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if endpoint == "klines":
            return web.json_response(self._bn_klines(coin, q))
        if endpoint == "premiumIndex":
            mark = self.mark_price(coin)
            _, rate = self.funding_8h(coin)
            eight_h = 8 * 3_600_000
            return web.json_response(
                {
                    "symbol": f"{coin}USDT",
                    "markPrice": num(mark),
                    "indexPrice": num(mark),
                    "estimatedSettlePrice": num(mark),
                    "lastFundingRate": num(rate),
                    "interestRate": "0.00010000",
                    "nextFundingTime": (self.now // eight_h + 1) * eight_h,
                    "time": self.now,
                }
            )
        if endpoint == "openInterest":
            return web.json_response(
                {"openInterest": num(open_interest(coin)), "symbol": f"{coin}USDT", "time": self.now}
            )
        if endpoint == "depth":
            limit = _int_or_none(q.get("limit", "500"))
            if limit not in (5, 10, 20, 50, 100, 500, 1000):
                return web.json_response({"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}, status=400)
            self._bn_publish(coin)  # the diff stream first: the reply's lastUpdateId includes it
            bids, asks = self.book("binanceusdm", coin, limit)
            side = lambda levels: [[_dnum(px), _dnum(sz)] for px, sz in levels]  # noqa: E731
            book_id = self._bn_book(coin).update_id
            return web.json_response({"lastUpdateId": book_id, "E": self.now, "T": self.now, "bids": side(bids), "asks": side(asks)})
        return web.json_response({"code": -5000, "msg": "Path /fapi/v1/" + endpoint + ", Method GET is invalid"}, status=404)

    def _bn_coin(self, symbol: str) -> str | None:
        for coin in self.dataset.coins:
            if symbol == f"{coin}USDT":
                return coin
        return None

    def _bn_exchange_info(self) -> dict[str, Any]:
        symbols = []
        for coin in self.dataset.coins:
            pp, qp, tick, step = _BN_PRECISION.get(coin, (4, 2, "0.0001", "0.01"))
            symbols.append(
                {
                    "symbol": f"{coin}USDT",
                    "pair": f"{coin}USDT",
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": 1569398400000,
                    "status": "TRADING",
                    "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000",
                    "baseAsset": coin,
                    "quoteAsset": "USDT",
                    "marginAsset": "USDT",
                    "pricePrecision": pp,
                    "quantityPrecision": qp,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                    "maxMoveOrderLimit": 10000,
                    "filters": [
                        {"minPrice": tick, "maxPrice": "4529764", "filterType": "PRICE_FILTER", "tickSize": tick},
                        {"stepSize": step, "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": step},
                        {"stepSize": step, "filterType": "MARKET_LOT_SIZE", "maxQty": "120", "minQty": step},
                        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
                        {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
                        {"notional": "100", "filterType": "MIN_NOTIONAL"},
                        {"multiplierDown": "0.9500", "multiplierUp": "1.0500", "multiplierDecimal": "4", "filterType": "PERCENT_PRICE"},
                    ],
                    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.now,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        }

    def _bn_klines(self, coin: str, q: Any) -> list[list[Any]]:
        interval = q.get("interval", "")
        if interval not in self.dataset.timeframes:
            return []
        limit = min(int(q.get("limit", 500)), 1500)
        start = q.get("startTime")
        end = int(q.get("endTime", self.now))
        if start is not None:
            rows = self.candles_at(coin, interval, int(start), end)[:limit]
        else:
            rows = self.candles_at(coin, interval, None, end)[-limit:]
        tf = timeframe_ms(interval)
        # quote volume, trade count and taker volumes are not in the recording: "0"
        return [[t, num(o), num(h), num(lo), num(c), num(v), t + tf - 1, "0", 0, "0", "0", "0"] for t, o, h, lo, c, v in rows]


    # ----- Bybit v5 -----------------------------------------------------------------------------

    def _bybit_reply(self, result: Any, code: int = 0, msg: str = "OK") -> web.Response:
        return web.json_response({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": self.now})

    def _bybit_coin(self, symbol: str) -> str | None:
        for coin in self.dataset.coins:
            if symbol == f"{coin}USDT":
                return coin
        return None

    async def _bybit(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        kind = f"bybit:{endpoint}"
        self._record(kind)
        q = request.query
        if endpoint == "kline":
            self.candle_requests.append(
                CandleRequest(
                    q.get("symbol", "").removesuffix("USDT"),
                    _BYBIT_INTERVALS.get(q.get("interval", ""), q.get("interval", "")),
                    _int_or_none(q.get("start")),
                    _int_or_none(q.get("end")),
                    _int_or_none(q.get("limit")),
                )
            )
        faulted = await self._apply_fault(kind)
        if faulted is not None:
            return faulted
        category = q.get("category", "")
        if endpoint == "instruments-info":
            if category != "linear" or q.get("status") == "PreLaunch":
                return self._bybit_reply({"category": category, "list": [], "nextPageCursor": ""})
            symbol = q.get("symbol")
            coins = [c for c in self.dataset.coins if symbol is None or symbol == f"{c}USDT"]
            return self._bybit_reply(
                {"category": "linear", "list": [self._bybit_instrument(c) for c in coins], "nextPageCursor": ""}
            )
        if category != "linear":
            return self._bybit_reply({}, 10001, "params error: category only support linear")
        if endpoint == "tickers":
            symbol = q.get("symbol")
            if symbol is not None and self._bybit_coin(symbol) is None:
                return self._bybit_reply({}, 10001, "Not supported symbols")
            coins = [c for c in self.dataset.coins if symbol is None or symbol == f"{c}USDT"]
            return self._bybit_reply({"category": "linear", "list": [self._bybit_ticker(c) for c in coins]})
        coin = self._bybit_coin(q.get("symbol", ""))
        if coin is None:
            return self._bybit_reply({}, 10001, "Not supported symbols")
        if endpoint == "kline":
            interval = _BYBIT_INTERVALS.get(q.get("interval", ""))
            if interval is None:
                return self._bybit_reply({}, 10001, "Invalid period!")
            return self._bybit_reply({"symbol": f"{coin}USDT", "category": "linear", "list": self._bybit_klines(coin, interval, q)})
        if endpoint == "orderbook":
            limit = _int_or_none(q.get("limit", "1"))
            if limit is None or not 1 <= limit <= 500:
                return self._bybit_reply({}, 10001, "The number of limit is out of range")
            bids, asks = self.book("bybit", coin, limit)
            side = lambda levels: [[_dnum(px), _dnum(sz)] for px, sz in levels]  # noqa: E731
            return self._bybit_reply(
                {"s": f"{coin}USDT", "b": side(bids), "a": side(asks), "ts": self.now, "u": self.now // 100, "seq": self.now, "cts": self.now}
            )
        if endpoint == "open-interest":
            return self._bybit_reply(
                {
                    "symbol": f"{coin}USDT",
                    "category": "linear",
                    "list": [{"openInterest": num(open_interest(coin)), "timestamp": str((self.now // 3_600_000) * 3_600_000)}],
                    "nextPageCursor": "",
                }
            )
        return web.json_response({"retCode": 404, "retMsg": "Not Found"}, status=404)

    def _bybit_instrument(self, coin: str) -> dict[str, Any]:
        scale, tick, step, lev = _BYBIT.get(coin, (4, "0.0001", "0.1", "50.00"))
        return {
            "symbol": f"{coin}USDT",
            "contractType": "LinearPerpetual",
            "status": "Trading",
            "baseCoin": coin,
            "quoteCoin": "USDT",
            "launchTime": "1585526400000",
            "deliveryTime": "0",
            "deliveryFeeRate": "",
            "priceScale": str(scale),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": lev, "leverageStep": "0.01"},
            "priceFilter": {"minPrice": tick, "maxPrice": "1999999.80", "tickSize": tick},
            "lotSizeFilter": {
                "maxOrderQty": "1190.000",
                "minOrderQty": step,
                "qtyStep": step,
                "postOnlyMaxOrderQty": "1190.000",
                "maxMktOrderQty": "500.000",
                "minNotionalValue": "5",
            },
            "unifiedMarginTrade": True,
            "fundingInterval": 480,
            "settleCoin": "USDT",
            "copyTrading": "both",
            "upperFundingRate": "0.005",
            "lowerFundingRate": "-0.005",
            "isPreListing": False,
            "preListingInfo": None,
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
            "displayName": "",
        }

    def _bybit_ticker(self, coin: str) -> dict[str, Any]:
        mark = self.mark_price(coin)
        prev, base_vol, notional = self._day_stats(coin)
        _, rate = self.funding_8h(coin)
        oi = open_interest(coin)
        return {
            "symbol": f"{coin}USDT",
            "lastPrice": num(mark),
            "indexPrice": num(mark),
            "markPrice": num(mark),
            "prevPrice24h": num(prev),
            "price24hPcnt": num(round(mark / prev - 1, 6)),
            "highPrice24h": num(mark),
            "lowPrice24h": num(mark),
            "prevPrice1h": num(mark),
            "openInterest": num(oi),
            "openInterestValue": num(round(oi * mark, 2)),
            "turnover24h": num(notional),
            "volume24h": num(base_vol),
            "fundingRate": num(rate),
            "nextFundingTime": str((self.now // EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS),
            "predictedDeliveryPrice": "",
            "basisRate": "",
            "deliveryFeeRate": "",
            "deliveryTime": "0",
            "ask1Size": "0",
            "bid1Price": num(mark),
            "ask1Price": num(mark),
            "bid1Size": "0",
            "basis": "",
        }

    def _bybit_klines(self, coin: str, interval: str, q: Any) -> list[list[str]]:
        if interval not in self.dataset.timeframes:
            return []
        limit = max(1, min(int(q.get("limit", 200)), 1000))
        start = _int_or_none(q.get("start"))
        end = _int_or_none(q.get("end"))
        rows = self.candles_at(coin, interval, start, end if end is not None else self.now)[-limit:]
        # turnover (quote volume) is not in the recording: "0"
        return [[str(t), num(o), num(h), num(lo), num(c), num(v), "0"] for t, o, h, lo, c, v in reversed(rows)]

    # ----- OKX v5 -------------------------------------------------------------------------------

    def _okx_reply(self, data: list[Any], code: str = "0", msg: str = "") -> web.Response:
        return web.json_response({"code": code, "msg": msg, "data": data})

    def _okx_coin(self, inst_id: str) -> str | None:
        for coin in self.dataset.coins:
            if inst_id == f"{coin}-USDT-SWAP":
                return coin
        return None

    async def _okx(self, request: web.Request) -> web.Response:
        group, endpoint = request.match_info["group"], request.match_info["endpoint"]
        kind = f"okx:{endpoint}"
        self._record(kind)
        q = request.query
        candles = group == "market" and endpoint in ("candles", "history-candles")
        if candles:
            before, after = _int_or_none(q.get("before")), _int_or_none(q.get("after"))
            self.candle_requests.append(
                CandleRequest(
                    q.get("instId", "").removesuffix("-USDT-SWAP"),
                    _OKX_BARS.get(q.get("bar", "1m"), q.get("bar", "")),
                    None if before is None else before + 1,
                    after,
                    _int_or_none(q.get("limit")),
                )
            )
        faulted = await self._apply_fault(kind)
        if faulted is not None:
            return faulted
        if group == "public" and endpoint == "instruments":
            if q.get("instType") != "SWAP":
                return self._okx_reply([])
            return self._okx_reply([self._okx_instrument(c) for c in self.dataset.coins])
        if group == "public" and endpoint == "funding-rate":
            inst = q.get("instId", "")
            if inst == "ANY":
                return self._okx_reply([self._okx_funding(c) for c in self.dataset.coins])
            coin = self._okx_coin(inst)
            if coin is None:
                return self._okx_reply([], "51001", "Instrument ID does not exist")
            return self._okx_reply([self._okx_funding(coin)])
        if group == "public" and endpoint == "open-interest":
            if q.get("instType") != "SWAP":
                return self._okx_reply([])
            inst = q.get("instId")
            if inst is not None and self._okx_coin(inst) is None:
                return self._okx_reply([], "51001", "Instrument ID does not exist")
            return self._okx_reply([self._okx_open_interest(c) for c in self.dataset.coins if inst in (None, f"{c}-USDT-SWAP")])
        if group == "market" and endpoint == "books":
            coin = self._okx_coin(q.get("instId", ""))
            if coin is None:
                return self._okx_reply([], "51001", "Instrument ID does not exist")
            sz = _int_or_none(q.get("sz", "1"))
            if sz is None or not 1 <= sz <= 400:
                return self._okx_reply([], "51000", "Parameter sz error")
            bids, asks = self.book("okx", coin, sz)
            side = lambda levels: [[_dnum(px), _dnum(n), "0", str(1 + i % 4)] for i, (px, n) in enumerate(levels)]  # noqa: E731
            return self._okx_reply([{"asks": side(asks), "bids": side(bids), "ts": str(self.now)}])
        if candles:
            coin = self._okx_coin(q.get("instId", ""))
            if coin is None:
                return self._okx_reply([], "51001", "Instrument ID does not exist")
            bar = _OKX_BARS.get(q.get("bar", "1m"))
            if bar is None:
                return self._okx_reply([], "51000", "Parameter bar error")
            return self._okx_reply(self._okx_candles(coin, bar, q, recent_only=endpoint == "candles"))
        return web.json_response({"msg": "Not Found", "code": "404"}, status=404)

    def _okx_instrument(self, coin: str) -> dict[str, Any]:
        ct_val, lot, tick, lever = _OKX.get(coin, ("1", "0.01", "0.0001", "50"))
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": "",
            "category": "1",
            "ctMult": "1",
            "ctType": "linear",
            "ctVal": ct_val,
            "ctValCcy": coin,
            "expTime": "",
            "instFamily": f"{coin}-USDT",
            "instId": f"{coin}-USDT-SWAP",
            "instType": "SWAP",
            "lever": lever,
            "listTime": "1611916828000",
            "lotSz": lot,
            "maxIcebergSz": "100000000.0000000000000000",
            "maxLmtAmt": "20000000",
            "maxLmtSz": "100000000",
            "maxMktAmt": "",
            "maxMktSz": "12000",
            "maxStopSz": "12000",
            "maxTriggerSz": "100000000.0000000000000000",
            "maxTwapSz": "100000000.0000000000000000",
            "minSz": lot,
            "optType": "",
            "quoteCcy": "",
            "ruleType": "normal",
            "settleCcy": "USDT",
            "state": "live",
            "stk": "",
            "tickSz": tick,
            "uly": f"{coin}-USDT",
        }

    def _okx_funding(self, coin: str) -> dict[str, Any]:
        _, rate = self.funding_8h(coin)
        upcoming = (self.now // EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS  # OKX's fundingTime: the next settlement
        return {
            "fundingRate": num(rate),
            "fundingTime": str(upcoming),
            "impactValue": "20000.0000000000000000",
            "instId": f"{coin}-USDT-SWAP",
            "instType": "SWAP",
            "interestRate": "0.0001000000000000",
            "maxFundingRate": "0.0075",
            "method": "current_period",
            "minFundingRate": "-0.0075",
            "nextFundingRate": "",
            "nextFundingTime": str(upcoming + EIGHT_HOURS_MS),
            "premium": "0",
            "settFundingRate": num(rate),
            "settState": "settled",
            "ts": str(self.now),
        }

    def _okx_open_interest(self, coin: str) -> dict[str, Any]:
        ct_val = Decimal(_OKX.get(coin, ("1",))[0])
        base = _dec(open_interest(coin))
        return {
            "instId": f"{coin}-USDT-SWAP",
            "instType": "SWAP",
            "oi": _dnum(base / ct_val),
            "oiCcy": _dnum(base),
            "oiUsd": num(round(open_interest(coin) * self.mark_price(coin), 2)),
            "ts": str(self.now),
        }

    def _okx_candles(self, coin: str, interval: str, q: Any, recent_only: bool) -> list[list[str]]:
        if interval not in self.dataset.timeframes:
            return []
        limit = max(1, min(int(q.get("limit", 100)), 300))
        before, after = _int_or_none(q.get("before")), _int_or_none(q.get("after"))
        rows = self.candles_at(
            coin, interval, None if before is None else before + 1, None if after is None else after - 1
        )
        if recent_only:  # /market/candles: the latest 1440 candles only
            step = timeframe_ms(interval)
            oldest = (self.now // step - 1439) * step
            rows = [r for r in rows if r[0] >= oldest]
        rows = rows[-limit:]
        ct_val = Decimal(_OKX.get(coin, ("1",))[0])
        step = timeframe_ms(interval)
        out = []
        for t, o, h, lo, c, v in reversed(rows):
            confirm = "1" if t + step <= self.now else "0"
            # volCcyQuote is not in the recording: "0"
            out.append([str(t), num(o), num(h), num(lo), num(c), _dnum(_dec(v) / ct_val), num(v), "0", confirm])
        return out


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


__all__ = [
    "CandleRequest",
    "FakeExchangeServer",
    "WS_MAX_CLOSED",
    "BN_DEPTH_LEVELS",
    "BOOK_KINDS",
    "BOOK_NOTIONAL_USD",
    "book_levels",
    "Fault",
    "OPEN_INTEREST",
    "SYNTHETIC_OPEN_INTEREST",
    "dataset_with_link",
    "num",
    "open_interest",
    "scaled_coin",
]
