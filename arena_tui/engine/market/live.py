"""``LiveMarket``: candles, funding and open interest from a live exchange through ccxt.async_support.

Exchanges: any ccxt exchange with linear perpetuals settled in USDT (or USDC) that can download
candles (``has['fetchOHLCV']``) and funding rates (``fetchFundingRate`` or ``fetchFundingRates``);
open interest is read when the exchange offers it (``fetchOpenInterest``/``fetchOpenInterests``) and
is ``None`` (unknown) otherwise. Two exchanges have tuned specs (``EXCHANGES``): ``hyperliquid``
(USDC perps, ``BTC/USDC:USDC``, hourly funding) and ``binanceusdm`` (USDT perps, 8-hourly funding).
Every other id gets a spec derived from ccxt when ccxt is first imported (``derive_spec``): USDT
settlement (USDC when the exchange lists no USDT perpetual), ``load_markets`` limited to its
swap/linear markets, bulk funding and open interest requests when ``has`` says so, the most candles
one request may return from ccxt's ``features``, and the funding interval from the funding reply (ccxt's
``interval``, or the gap between its funding times; 8 h otherwise). Bybit and OKX are tested against
their own wire formats (``tests/test_live_exchanges.py``).

Coins: any tickers (1-15 characters of A-Z and 0-9) whose ``COIN/SETTLE:SETTLE`` perpetual the
exchange lists; an unlisted one is refused at the first snapshot, after ``load_markets``, naming
it and listing (the first 20 of) the coins the exchange does list. An id ccxt does not know, or an
exchange lacking a needed capability, is refused at the first snapshot too (ccxt is not imported
before); an id that is not even plausible text raises ``ConfigError`` at construction.

One ``snapshot()`` fetches, all at once with ``asyncio.gather``: OHLCV for every coin and timeframe
(the last ``lookback[timeframe]`` *closed* candles: the candle still open at the clock is dropped, so
every candle closes at or before the snapshot time), the current funding rate, the open interest
(base coin) and each coin's order book.

Order books by REST (``fetch_order_book(symbol, spec.book_limit)``, one request per coin and snapshot,
when ccxt's ``has['fetchOrderBook']``; while books are streamed, see below, only for the coins whose
streamed book cannot be used): Hyperliquid ``POST /info {"type": "l2Book"}`` (its 20 best
levels a side), Binance USD-M ``GET /fapi/v1/depth`` (1000 levels), Bybit ``GET /v5/market/orderbook``
(500), OKX ``GET /api/v5/market/books`` (400; sizes in contracts, times the contract size). Each is
summarised as ``base.OrderBook``: best bid and ask, and the USD notional within ``DEPTH_BAND_BP`` (10
bp) of the mid on each side (``None`` on a side whose reply ended inside the band); spread and
imbalance derive from them. The order book is a feature, not a primary need: a book that cannot be
read (the endpoint fails, times out after one try, or sends an empty or crossed book) leaves that
coin's ``order_book`` ``None`` and the snapshot succeeds; one log line per coin when its book becomes
unreadable and one when it is read again, nothing per snapshot. A book fetched at the snapshot is the
book at the clock; a streamed one is the latest the exchange sent before it.

Candles are incremental: each coin's and timeframe's closed candles are held in memory between
snapshots. The first snapshot downloads the whole lookback window (in pages of at most
``spec.max_candles`` candles when the exchange serves fewer per request, e.g. 300 on OKX); later ones
ask only for the candles closed since (``since`` = open time of the first candle not yet held, one request), and none
at all when no candle of that timeframe can have closed since the last snapshot (e.g. 4h candles
between 4h boundaries). The whole window is downloaded again after a gap (at least ``lookback``
candles closed since, or the clock went back) or when the reply does not join the held history
(its first closed candle is not the one asked for). The snapshot is exactly what a full download
at the same clock gives: the candles whose open time lies in the lookback window ending at the last
closed candle, as the exchange serves them (closed candles are taken as final).

Each request has a timeout and is retried with exponential backoff on network errors,
timeouts, rate limits and HTTP 5xx; when the exchange stays down, or answers with something that is
not the expected reply, ``snapshot()`` raises ``MarketError`` whose ``str()`` is one sentence. No ccxt
exception or traceback leaves this module.

Streams (``stream``, on by default for the two tuned exchanges): after the first snapshot (REST, as
above) one background task per market subscribes through ccxt.pro to the candle websocket of every
coin and timeframe (``watch_ohlcv_for_symbols`` on Binance USD-M, one ``watch_ohlcv`` per coin and
timeframe on Hyperliquid) and keeps the candles it learns are final: on Binance a ``kline`` event
with ``x: true``; on Hyperliquid, which has no closed flag, a candle once a later candle of the same
coin and timeframe has started on the same connection (its last update before that is final).
Either way a candle is kept only when it closed at or before the clock when it arrived
(``ts + step <= now``, the REST rule: no look-ahead); unclosed candles, candles from the future and
messages that cannot be read never enter the history. A snapshot then takes a coin's and
timeframe's newly closed candles from the stream when it holds every one of them (no request);
otherwise (stream connecting, down, behind, or a candle missed) that coin and timeframe is fetched
by REST as above, so a snapshot is always exactly what a full download gives. While the stream is
up a snapshot waits up to ``stream_grace`` seconds for the candles that closed just before it
(they arrive a moment after the close); when they do not come the stream is marked behind and
snapshots poll without waiting until it delivers again (candles that reached the process in time
count as arrived, even when other work on the event loop kept them unread past the grace). On a disconnect or an error the task
reconnects after ``stream_backoff`` seconds, doubled after each failed attempt up to
``stream_backoff_max`` (60 s), polling meanwhile. The stream logs one line per state change
(``up``, ``down``, ``behind``) on this module's logger, nothing per message. ``close()`` cancels the
task and closes the websockets with the client.

Order-book streams (``stream_books``, on whenever ``stream`` is): after the first snapshot (books by
REST) a second background task subscribes through ccxt.pro to every coin's book and ccxt keeps each
book up to date in its ``orderbooks``: on Hyperliquid ``watch_order_book`` per coin, the ``l2Book``
channel (``{"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}``; each message
is the whole book, 20 levels a side, with the exchange's ``time``), on the candles' socket; on
Binance USD-M ``watch_order_book_for_symbols``, the ``<symbol>@depth@100ms`` diff stream on a socket
of its own (``/public/ws/N``), which ccxt syncs with one REST ``GET /fapi/v1/depth`` snapshot of
``book_limit`` (1000) levels per coin on every (re)subscription: buffered diffs with ``u`` below the
snapshot's ``lastUpdateId`` are dropped, then every diff must continue the last (``pu`` = the previous
``u``), else ccxt drops that book and the task subscribes again (a new REST snapshot per coin). A
snapshot then summarises (``OrderBook.from_levels``, as the REST reply) each coin's streamed book,
with no request, when it is usable: brought up to date by a message of the exchange's current, open
connection (on Binance: synced, not awaiting its snapshot), not touched by a message ccxt failed on,
readable (not empty or crossed), and not stale. Stale: neither the book nor any other book on its
connection was updated, by the exchange's own time (Hyperliquid ``time``, Binance ``E``), within
``book_max_age`` (``BOOK_MAX_AGE_S``, 60 s) before the snapshot clock; a quiet book on a connection
that still delivers the others is unchanged (Binance sends a diff only when a book changed), a stalled
connection is not trusted. Otherwise that coin's book is fetched by REST as above (at most one
request per coin and snapshot, the candles' policy): while the stream connects, is down or
resyncing, or for a stale or unreadable book. The task resubscribes or reconnects with the candle
stream's backoff. Log lines: the state changes (``order book stream up`` / ``down``), one line when
books become stale or unreadable (naming the coins) and one when they are streamed again, one per
connection for a message ccxt could not read; nothing per message or snapshot.

ccxt is imported on first use (in a worker thread, about 0.5 s; ``ccxt.pro`` when streaming, whose
classes also serve REST), never at module import, so the app's first frame does not pay for it.
Markets are loaded once per ``LiveMarket`` (ccxt caches them).
``base_url`` points the real ccxt client at another host (a proxy, or the local test server in
``tests/fakes/exchange_server.py``) by overriding the exchange's ``urls['api']`` entries (the tuned
specs name them; for a derived spec every entry keeps its path and gets the new host), and the
websocket URLs (``urls['api']['ws']``) at the same host, ``ws://`` for ``http://``.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import ModuleType
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import numpy as np

from arena_tui.engine.errors import ConfigError, MarketError
from arena_tui.engine.market.base import (
    COINS,
    Candles,
    CoinSnapshot,
    FundingHistory,
    MarketSnapshot,
    OrderBook,
    check_tickers,
    timeframe_ms,
)

DEFAULT_TIMEFRAMES: tuple[str, ...] = ("5m", "4h")
DEFAULT_LOOKBACK: dict[str, int] = {"5m": 500, "1h": 200, "4h": 100}
MAX_LOOKBACK = 1000
"""Most candles one request may return on every supported exchange (Binance caps klines at 1000)."""

HOUR_MS = 3_600_000

BOOK_MAX_AGE_S = 60.0
"""Default ``book_max_age``: a streamed order book whose last update (by the exchange's own time) is
older than this many seconds at the snapshot clock is stale, and the book is fetched by REST."""

_SETTLE_TURNS = 16
"""Event-loop turns a snapshot lets pass, once the stream grace has run out, before it calls the candle
stream behind: enough for a message already in the socket to be read (one turn), handed over by aiohttp
(one) and handled by ccxt (one), several times over. Turns, not time: none is waited for."""

_log = logging.getLogger(__name__)

_EXCHANGE_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")
"""What a ccxt exchange id looks like (``binanceusdm``, ``okx``, ``gate``...): checked at construction,
without importing ccxt; whether ccxt knows the id is checked when ccxt is first imported."""

SUGGESTED = "bybit, okx, binanceusdm or hyperliquid"
"""Exchanges named in refusals as ones that work."""


@dataclass(frozen=True)
class _Held:
    """Closed candles of one coin and timeframe held between snapshots.

    ``rows``: float64 array of shape ``(k, 6)`` (open time ms, open, high, low, close, volume), k >= 1,
    open times strictly increasing, all inside the lookback window that ends at ``end``. ``end``: open
    time (ms) of the last candle closed at the clock of the snapshot that produced ``rows`` (the
    exchange may lack that candle, so ``rows[-1, 0] <= end``). Never mutated: replaced whole.
    """

    rows: np.ndarray
    end: int


@dataclass(frozen=True)
class ExchangeSpec:
    """How arena-tui talks to one ccxt exchange.

    ``settle``: quote and settlement currency of its perps (symbol ``COIN/settle:settle``).
    ``funding_interval_ms``: funding period when the reply does not state one. ``api_paths``: ccxt
    ``urls['api']`` key -> path under a ``base_url`` override (``None``: every entry of the
    exchange's ``urls['api']`` keeps its own path). ``options``: ccxt options (limit ``load_markets``
    to perps). ``bulk_funding``: one ``fetch_funding_rates`` request serves every coin, instead of one
    ``fetch_funding_rate`` per coin. ``bulk_open_interest``: the same for ``fetch_open_interests``
    (``None``: as ``bulk_funding``; Hyperliquid answers both from one ``metaAndAssetCtxs`` call).
    ``max_candles``: the most candles one OHLCV request returns (larger windows are fetched in pages).
    ``derived``: built by ``derive_spec`` from what ccxt says about the exchange, not tuned by hand.
    ``ws_paths``: ccxt.pro ``urls['api']['ws']`` key -> path under a ``base_url`` override, for the
    exchanges whose candle and order-book streams LiveMarket reads (``None``: no stream, polling only).
    ``book_limit``: levels a side asked of ``fetch_order_book`` (``None``: the exchange's default), and
    of the REST snapshot ccxt.pro syncs a streamed diff book with.
    """

    id: str
    settle: str
    funding_interval_ms: int
    api_paths: Mapping[str, str] | None
    options: Mapping[str, Any] = field(default_factory=dict)
    bulk_funding: bool = False
    bulk_open_interest: bool | None = None
    max_candles: int = MAX_LOOKBACK + 1
    derived: bool = False
    ws_paths: Mapping[str, str] | None = None
    book_limit: int | None = None

    @property
    def bulk_oi(self) -> bool:
        """Whether open interest comes from one ``fetch_open_interests`` request."""
        return self.bulk_funding if self.bulk_open_interest is None else self.bulk_open_interest

    def symbol(self, coin: str) -> str:
        """ccxt unified symbol of ``coin``'s perpetual, e.g. ``BTC/USDC:USDC``."""
        return f"{coin}/{self.settle}:{self.settle}"

    def api_urls(self, base_url: str, urls: Any = None) -> Any:
        """ccxt ``urls['api']`` entries that send every request this market makes to ``base_url``.

        With ``api_paths`` the named entries; without, ``urls`` (the exchange's own ``urls['api']``: a
        string, or a dict of them, possibly nested) with each URL's scheme and host replaced."""
        root = base_url.rstrip("/")
        if self.api_paths is not None:
            return {key: root + path for key, path in self.api_paths.items()}
        return _rehost(urls, root)

    def ws_urls(self, base_url: str) -> dict[str, str]:
        """ccxt.pro ``urls['api']['ws']`` entries at ``base_url``'s host (``ws://`` for ``http://``,
        ``wss://`` for ``https://``)."""
        parts = urlsplit(base_url.rstrip("/"))
        scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
        root = f"{scheme}://{parts.netloc}{parts.path}"
        return {key: root + path for key, path in (self.ws_paths or {}).items()}


def _rehost(urls: Any, root: str) -> Any:
    if isinstance(urls, str):
        return root + urlsplit(urls).path.rstrip("/") if "://" in urls else urls
    if isinstance(urls, dict):
        return {key: _rehost(value, root) for key, value in urls.items()}
    return urls


EXCHANGES: dict[str, ExchangeSpec] = {
    "hyperliquid": ExchangeSpec(
        id="hyperliquid",
        settle="USDC",
        funding_interval_ms=HOUR_MS,
        api_paths={"public": "", "private": ""},
        # perps only: skips the spot list and up to ten HIP-3 dex lists on load_markets
        options={"fetchMarkets": {"types": ["swap"]}},
        bulk_funding=True,
        max_candles=5000,
        ws_paths={"public": "/ws"},  # wss://api.hyperliquid.xyz/ws
        book_limit=None,  # l2Book takes no limit: the 20 best levels a side
    ),
    "binanceusdm": ExchangeSpec(
        id="binanceusdm",
        settle="USDT",
        funding_interval_ms=8 * HOUR_MS,
        api_paths={
            "fapiPublic": "/fapi/v1",
            "fapiPublicV2": "/fapi/v2",
            "fapiPublicV3": "/fapi/v3",
            "fapiPrivate": "/fapi/v1",
            "fapiPrivateV2": "/fapi/v2",
            "fapiPrivateV3": "/fapi/v3",
            "fapiData": "/futures/data",
        },
        options={"fetchMarkets": {"types": ["linear"]}},
        max_candles=1500,  # Binance USD-M klines: at most 1500 a request
        # wss://fstream.binance.com/ws; ccxt.pro turns it into .../market/ws/<stream index> for klines
        ws_paths={"linear": "/ws"},
        book_limit=1000,  # /fapi/v1/depth: 5, 10, 20, 50, 100, 500 or 1000 (request weight 20)
    ),
}
"""Exchange id -> its tuned ``ExchangeSpec``; every other ccxt exchange gets ``derive_spec``'s."""

_PERP_TYPES = ("swap", "linear")
"""Names ccxt exchanges give, in ``options['fetchMarkets']['types']``, to the market lists holding
linear perpetuals (bybit and binance: ``linear``; okx, hyperliquid, bitget, gate: ``swap``)."""


def _perps_only(options: Mapping[str, Any]) -> dict[str, Any]:
    """ccxt options limiting ``load_markets`` to the perpetual market lists, where the exchange's own
    ``fetchMarkets`` option says which lists it loads; ``{}`` when it does not."""
    fm = options.get("fetchMarkets")
    types = fm.get("types") if isinstance(fm, dict) else None
    if isinstance(types, list):
        kept = [t for t in types if t in _PERP_TYPES]
        return {"fetchMarkets": {**fm, "types": kept}} if kept else {}
    if isinstance(types, dict) and any(t in types for t in _PERP_TYPES):  # mexc: {"spot": True, "swap": {...}}
        return {"fetchMarkets": {**fm, "types": {k: (v if k in _PERP_TYPES else False) for k, v in types.items()}}}
    return {}


def _ohlcv_limit(exchange: Any) -> int:
    """The most candles one linear-perpetual OHLCV request returns, from ccxt's ``features``; 500 when
    ccxt does not say (a common cap, and small pages only cost requests on the first snapshot)."""
    try:
        limit = exchange.features["swap"]["linear"]["fetchOHLCV"]["limit"]
    except (AttributeError, KeyError, TypeError):
        return 500
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 2 else 500


_BOOK_LIMITS: dict[str, int] = {"bybit": 500, "okx": 400}
"""Most order-book levels a side one request returns on derived exchanges whose cap is known (Bybit
linear 500; OKX ``/market/books`` 400); others get the exchange's default."""


def missing_capabilities(has: Mapping[str, Any]) -> list[str]:
    """What a live market needs that an exchange's ccxt ``has`` lacks, as phrases (empty: all there)."""
    missing = []
    if not has.get("swap"):
        missing.append("perpetual futures")
    if not has.get("fetchOHLCV"):
        missing.append("candles (fetchOHLCV)")
    if not (has.get("fetchFundingRate") or has.get("fetchFundingRates")):
        missing.append("funding rates (fetchFundingRate or fetchFundingRates)")
    return missing


def derive_spec(exchange: Any) -> ExchangeSpec:
    """A spec for a ccxt exchange without a tuned one, from the client's ``id``, ``has``, ``options``
    and ``features`` (no request made). Settlement USDT (``_load_markets`` switches to USDC when the
    exchange lists no USDT perpetual), 8-hourly funding unless the replies say otherwise."""
    has = exchange.has
    return ExchangeSpec(
        id=exchange.id,
        settle="USDT",
        funding_interval_ms=8 * HOUR_MS,
        api_paths=None,
        options=_perps_only(exchange.options),
        bulk_funding=has.get("fetchFundingRates") is True,
        bulk_open_interest=has.get("fetchOpenInterests") is True,
        max_candles=_ohlcv_limit(exchange),
        derived=True,
        book_limit=_BOOK_LIMITS.get(exchange.id),
    )


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    text = text or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


_OBSERVED: dict[type, type] = {}


def _observed(cls: type) -> type:
    """``cls`` (a ccxt.pro exchange class) with these hooks, made once per class:

    - ``handle_ohlcv`` hands every candle message, after ccxt has handled it, to the instance's
      ``arena_candle(client, message)`` (ccxt's own parse drops Binance's closed flag ``x``);
    - ``handle_order_book`` hands every order-book message, after ccxt has applied it (or buffered
      or dropped it), to ``arena_book(client, message)``; and, where ccxt syncs a diff stream with a
      REST snapshot (``fetch_order_book_snapshot``, Binance), the end of that sync reaches
      ``arena_book_synced(client, subscription)``;
    - each websocket client's ``handle_text_or_binary_message`` is guarded, so a message ccxt cannot
      decode or handle (text that is not JSON, JSON of the wrong shape) reaches the instance's
      ``arena_garbage(client, exc, data)`` instead of raising in the client's receive callback, which
      would stop it from reading the socket ever again.
    """
    made = _OBSERVED.get(cls)
    if made is not None:
        return made

    def handle_ohlcv(self: Any, client: Any, message: Any) -> Any:
        result = cls.handle_ohlcv(self, client, message)
        hook = getattr(self, "arena_candle", None)
        if hook is not None:
            hook(client, message)
        return result

    def handle_order_book(self: Any, client: Any, message: Any) -> Any:
        result = cls.handle_order_book(self, client, message)
        hook = getattr(self, "arena_book", None)
        if hook is not None:
            hook(client, message)
        return result

    async def fetch_order_book_snapshot(self: Any, client: Any, message: Any, subscription: Any) -> Any:
        result = await cls.fetch_order_book_snapshot(self, client, message, subscription)
        hook = getattr(self, "arena_book_synced", None)
        if hook is not None:
            hook(client, subscription)
        return result

    def client(self: Any, url: str) -> Any:
        ws = cls.client(self, url)
        if not getattr(ws, "arena_guarded", False):
            inner = ws.handle_text_or_binary_message

            def guarded(data: Any) -> None:
                try:
                    inner(data)
                except Exception as exc:  # noqa: BLE001 - any unreadable message is reported, never raised
                    hook = getattr(self, "arena_garbage", None)
                    if hook is not None:
                        hook(ws, exc, data)

            ws.handle_text_or_binary_message = guarded
            ws.arena_guarded = True
        return ws

    members: dict[str, Any] = {"handle_ohlcv": handle_ohlcv, "client": client, "__module__": __name__}
    if hasattr(cls, "handle_order_book"):
        members["handle_order_book"] = handle_order_book
    if hasattr(cls, "fetch_order_book_snapshot"):
        members["fetch_order_book_snapshot"] = fetch_order_book_snapshot
    made = type(cls.__name__, (cls,), members)
    _OBSERVED[cls] = made
    return made


def _number(value: Any) -> float:
    """A candle field as the exchanges send it (decimal text, or a number) -> a finite float."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("not a number")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError("not finite")
    return x


async def _watch_each(watches: list[Callable[[], Awaitable[Any]]]) -> None:
    """Keep every subscription of ``watches`` (each call awaits its next update) watched at once, each
    watched again as soon as its update came; never returns, raises as soon as one fails (a failed
    subscription or connection), after cancelling the others."""
    tasks: dict[int, asyncio.Future[Any]] = {}
    try:
        tasks = {i: asyncio.ensure_future(watch()) for i, watch in enumerate(watches)}
        while True:
            done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            for i, task in list(tasks.items()):
                if task in done:
                    task.result()  # raises when the subscription or the connection failed
                    tasks[i] = asyncio.ensure_future(watches[i]())
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


_HTTP_STATUS = re.compile(r"\b(?:GET|POST|PUT|DELETE) \S+ (\d{3})\b")


class LiveMarket:
    """A ``MarketSource`` reading a live exchange through ccxt.async_support.

    Parameters: ``exchange_id`` (``"hyperliquid"`` default; ``"binanceusdm"``, ``"bybit"``, ``"okx"``
    or any ccxt exchange with linear perpetuals), ``coins`` (tickers the exchange lists; default
    ``COINS``), ``timeframes`` (default 5m and 4h), ``lookback`` (closed candles kept per timeframe,
    1..1000; default 5m 500, 1h 200, 4h 100, others 500), ``request_timeout`` (seconds per HTTP
    request), ``tries`` (attempts per request), ``backoff`` (seconds before the first retry, doubled
    each time), ``rate_limit`` (ccxt's client-side rate limiter, ``enableRateLimit``), ``base_url``
    (replace the exchange's REST host, e.g. ``http://127.0.0.1:8080``), ``clock`` (returns epoch ms;
    wall clock by default), ``interval`` (the configured cycle interval, a timeframe name such as
    ``"3m"``; exposed as ``interval_ms``, int ms, for the scheduler; it does not change what a
    snapshot holds), ``stream`` (read closed candles from the exchange's websocket after the first
    snapshot; default on for ``hyperliquid`` and ``binanceusdm``, the exchanges that have one here),
    ``stream_grace`` (seconds a snapshot waits for just-closed candles from a healthy stream before
    polling them), ``stream_backoff`` / ``stream_backoff_max`` (seconds before the first reconnect,
    doubled after each failed attempt up to the maximum), ``stream_books`` (read order books from
    the exchange's websocket too; default: whenever ``stream`` is on), ``book_max_age`` (seconds: a
    streamed book whose last update is older at the snapshot clock is not used; default 60).

    The clock ``now`` is wall time; ``advance()`` is a no-op (the world moves on by itself).
    Raises ``ConfigError`` for an exchange id or coin that is not plausible text, an unknown timeframe,
    or a bad lookback/timing value; ``snapshot()`` raises ``MarketError`` when ccxt does not know the
    exchange or it lacks a capability, a coin is not listed, the exchange is down or answers nonsense.
    """

    def __init__(
        self,
        exchange_id: str = "hyperliquid",
        *,
        coins: tuple[str, ...] | list[str] = COINS,
        timeframes: tuple[str, ...] | list[str] = DEFAULT_TIMEFRAMES,
        lookback: Mapping[str, int] | None = None,
        request_timeout: float = 10.0,
        tries: int = 3,
        backoff: float = 0.5,
        rate_limit: bool = True,
        base_url: str | None = None,
        clock: Callable[[], int] | None = None,
        interval: str = "3m",
        stream: bool | None = None,
        stream_grace: float = 2.0,
        stream_backoff: float = 1.0,
        stream_backoff_max: float = 60.0,
        stream_books: bool | None = None,
        book_max_age: float = BOOK_MAX_AGE_S,
    ) -> None:
        key = str(exchange_id).strip().lower()
        if not _EXCHANGE_ID.fullmatch(key):
            shown = str(exchange_id) if len(str(exchange_id)) <= 24 else f"{str(exchange_id)[:4]}... ({len(str(exchange_id))} characters)"
            raise ConfigError(
                f"market.exchange {shown!r} is not an exchange id: use a ccxt exchange id in lower case, such as {SUGGESTED}."
            )
        self.spec = EXCHANGES.get(key) or ExchangeSpec(key, "USDT", 8 * HOUR_MS, None, derived=True)
        """Replaced by ``derive_spec``'s when ccxt is first imported (for an exchange without a tuned spec)."""
        self.coins = check_tickers(list(coins))
        tfs = list(dict.fromkeys(timeframes))
        if not tfs:
            raise ConfigError("no timeframes configured: use for example 5m and 4h.")
        for tf in tfs:
            timeframe_ms(tf)
        self.timeframes = tuple(sorted(tfs, key=timeframe_ms))
        merged = {**DEFAULT_LOOKBACK, **dict(lookback or {})}
        self.lookback = {tf: merged.get(tf, 500) for tf in self.timeframes}
        for tf, n in self.lookback.items():
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_LOOKBACK:
                raise ConfigError(f"lookback for {tf} is {n!r}: use a whole number of candles from 1 to {MAX_LOOKBACK}.")
        if not (isinstance(tries, int) and tries >= 1):
            raise ConfigError(f"tries is {tries!r}: use a whole number of attempts of at least 1.")
        if not (request_timeout > 0 and backoff >= 0):
            raise ConfigError("request timeout must be positive and backoff not negative, in seconds.")
        self.request_timeout = float(request_timeout)
        self.tries = tries
        self.backoff = float(backoff)
        self.rate_limit = bool(rate_limit)
        self.base_url = base_url
        self.name = f"live:{self.spec.id}"
        self.interval = str(interval)
        self.interval_ms: int = timeframe_ms(self.interval)
        """The configured cycle interval in ms (e.g. 180000 for ``"3m"``)."""
        self._clock = clock or _wall_clock_ms
        self._held: dict[tuple[str, str], _Held] = {}
        self._ccxt: ModuleType | None = None
        self._errors: ModuleType | None = None
        self._exchange: Any = None
        self._markets_lock = asyncio.Lock()
        self._markets_loaded = False
        self._refusal: str | None = None  # ccxt does not know the exchange or it lacks a capability
        self._contract_size: dict[str, float] = {}  # coin -> base coins per contract (open interest, books)
        self._book_failing: dict[str, bool] = {}  # coin -> its order book could not be read last time
        # ----- candle stream (see the module docstring)
        if stream and self.spec.ws_paths is None:
            streaming = ", ".join(k for k, v in EXCHANGES.items() if v.ws_paths is not None)
            raise ConfigError(f"{key} has no candle stream in arena-tui (only {streaming}); turn the stream off.")
        self.stream: bool = self.spec.ws_paths is not None if stream is None else bool(stream)
        if not (stream_grace >= 0 and stream_backoff > 0 and stream_backoff_max >= stream_backoff):
            raise ConfigError(
                "stream grace must not be negative and the stream backoff positive, its maximum at least the "
                "first delay, in seconds."
            )
        self.stream_grace = float(stream_grace)
        self.stream_backoff = float(stream_backoff)
        self.stream_backoff_max = float(stream_backoff_max)
        self._stream_task: asyncio.Task[None] | None = None
        self._stream_status = "off"
        self._stream_event = asyncio.Event()  # set on every final candle and status change
        self._stream_delays: list[float] = []  # every reconnect delay used, in order (for tests)
        self._ws_client: Any = None  # the ccxt websocket client of the current connection
        self._epoch = 0  # bumped on every new connection and every break in what the stream said
        self._seen: set[tuple[str, str]] = set()  # coin/timeframe streams heard from on this connection
        self._open: dict[tuple[str, str], tuple[int, list[float]]] = {}  # latest unclosed candle (epoch, row)
        self._final: dict[tuple[str, str], dict[int, list[float]]] = {}  # closed candles not yet merged
        self._garbled = False  # a malformed message was logged on this connection
        # ----- order-book stream (see the module docstring)
        if stream_books and not self.stream:
            raise ConfigError("order books can only be streamed with the candle stream on; turn stream_books off.")
        self.stream_books: bool = self.stream if stream_books is None else bool(stream_books)
        if not (isinstance(book_max_age, (int, float)) and not isinstance(book_max_age, bool) and book_max_age > 0):
            raise ConfigError(f"book_max_age is {book_max_age!r}: use a positive number of seconds.")
        self.book_max_age = float(book_max_age)
        self._book_task: asyncio.Task[None] | None = None
        self._book_status = "off"
        self._book_delays: list[float] = []  # every reconnect delay of the book stream, in order (for tests)
        self._book_live: dict[str, Any] = {}  # coin -> the ws client whose messages last brought its book up to date
        self._book_tainted: set[str] = set()  # coins a message that could not be read may have touched
        self._book_garbled: Any = None  # the ws client on which an unreadable book message was last logged
        self._book_logged: dict[str, str] = {}  # coin -> "stale" or "unreadable": its streamed book, as last logged
        self._book_heard: tuple[Any, int] | None = None  # (ws client, latest exchange time of a book update on it)

    @property
    def now(self) -> int:
        """The clock (ms since the epoch, UTC): wall time unless a ``clock`` was given."""
        return int(self._clock())

    async def advance(self) -> None:
        """Live markets move by themselves: nothing to do."""
        return None

    @property
    def stream_status(self) -> str:
        """The candle stream's state: ``off`` (not streaming, or before the first snapshot),
        ``connecting``, ``up`` (every coin and timeframe subscribed and heard from), ``behind`` (up, but
        a closed candle did not arrive in time: snapshots poll until it delivers again) or ``down``
        (disconnected or failing: snapshots poll, the task reconnects with backoff)."""
        return self._stream_status

    @property
    def book_stream_status(self) -> str:
        """The order-book stream's state: ``off``, ``connecting``, ``up`` (every coin's book streamed
        on the current connection) or ``down`` (a subscription failed: the task resubscribes or
        reconnects with backoff; books are fetched by REST until streamed again)."""
        return self._book_status

    def streamed_book_times(self, t: int | None = None) -> dict[str, int]:
        """Coin -> exchange time (ms) of the last update of its streamed order book, for the coins
        whose streamed book a snapshot at ``t`` (default ``now``) would use (live on the current
        connection, not stale, not touched by an unreadable message); the others are read by REST."""
        t = self.now if t is None else t
        out = {}
        for coin in self.coins:
            book, summary, _ = self._stream_summary(coin, t)
            if summary is not None:
                out[coin] = int(book["timestamp"])
        return out

    async def close(self) -> None:
        """Stop the candle and order-book streams, close the ccxt client, its websockets and HTTP
        session (safe to call more than once)."""
        tasks = [task for task in (self._stream_task, self._book_task) if task is not None]
        self._stream_task = self._book_task = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._stream_reset()
        self._book_reset()
        self._stream_status = self._book_status = "off"
        exchange, self._exchange = self._exchange, None
        self._markets_loaded = False
        if exchange is not None:
            try:
                await exchange.close()
            except Exception:  # a failing close must not mask the caller's own error
                pass

    async def snapshot(self) -> MarketSnapshot:
        """The market at ``now``: for each coin the last closed candles per timeframe, one funding
        entry and the open interest in the base coin (``None`` when the exchange publishes none).

        The funding entry is the exchange's current rate (fraction per interval; Hyperliquid's
        predicted rate for this hour, Binance's ``lastFundingRate``) stamped at the latest funding
        time at or before ``now``, with the interval the reply states or the exchange's default
        (1 h Hyperliquid, 8 h Binance).

        Raises ``MarketError`` (one sentence) when the exchange does not answer after ``tries``
        attempts per request, rejects a request, or sends a malformed reply.
        """
        exchange = await self._client()
        await self._load_markets(exchange)
        t = self.now
        if self._stream_status == "up" and self.stream_grace > 0:
            await self._await_stream(t)
        jobs: list[Awaitable[Any]] = [self._candles(exchange, c, tf, t) for c in self.coins for tf in self.timeframes]
        n_candles = len(jobs)
        bulk_oi = self.spec.bulk_oi
        if self.spec.bulk_funding:
            jobs.append(self._funding_bulk(exchange, t))
        else:
            jobs.extend(self._funding_one(exchange, c, t) for c in self.coins)
        if bulk_oi:
            jobs.append(self._open_interest_bulk(exchange))
        else:
            jobs.extend(self._open_interest_one(exchange, c) for c in self.coins)
        n_books = len(self.coins) if exchange.has.get("fetchOrderBook") else 0
        streamed = self._streamed_books(t) if n_books else {}
        jobs.extend(self._book_job(exchange, c, streamed.get(c)) for c in self.coins[:n_books])  # never raise
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                if isinstance(r, (MarketError, asyncio.CancelledError)):
                    raise r
                raise MarketError(
                    f"{self.spec.id} sent a reply arena-tui could not read ({_short(r)}); "
                    "switch to the bundled market and report this."
                ) from None
        candles = iter(results[:n_candles])
        per_coin: dict[str, dict[str, Candles]] = {c: {tf: next(candles) for tf in self.timeframes} for c in self.coins}
        rest = results[n_candles:]
        k = 1 if self.spec.bulk_funding else len(self.coins)
        funding: dict[str, FundingHistory] = rest[0] if self.spec.bulk_funding else dict(zip(self.coins, rest[:k]))
        rest = rest[: len(rest) - n_books]
        oi: dict[str, float | None] = rest[k] if bulk_oi else dict(zip(self.coins, rest[k:]))
        books: dict[str, OrderBook | None] = dict(zip(self.coins, results[len(results) - n_books :])) if n_books else {}
        coins = {
            c: CoinSnapshot(c, per_coin[c], funding[c], open_interest=oi[c], order_book=books.get(c)) for c in self.coins
        }
        if self.stream and self._stream_task is None:
            self._start_stream(exchange)
        if self.stream_books and self._book_task is None:
            self._start_book_stream(exchange)
        return MarketSnapshot(t, coins, self.name, self.timeframes)

    # ----- ccxt client --------------------------------------------------------------------------

    async def _client(self) -> Any:
        if self._exchange is not None:
            return self._exchange
        if self._refusal is not None:
            raise MarketError(self._refusal)
        if self._ccxt is None:
            try:
                # ~0.5 s of imports: keep them off the event loop. ccxt.pro's classes extend
                # ccxt.async_support's: one client serves REST and the websockets.
                module = "ccxt.pro" if self.stream else "ccxt.async_support"
                self._ccxt = await asyncio.to_thread(importlib.import_module, module)
                self._errors = importlib.import_module("ccxt.base.errors")
            except ImportError:
                raise MarketError(
                    "the ccxt package is missing, so live markets cannot run; install it (pip install ccxt) "
                    "or use the bundled market."
                ) from None
        config: dict[str, Any] = {
            "enableRateLimit": self.rate_limit,
            "timeout": max(1, int(self.request_timeout * 1000)),
        }
        if not self.spec.derived:
            config["options"] = copy.deepcopy(dict(self.spec.options))
            if self.base_url:
                config["urls"] = {"api": self.spec.api_urls(self.base_url)}
                if self.stream:
                    config["urls"]["api"]["ws"] = self.spec.ws_urls(self.base_url)
            cls = getattr(self._ccxt, self.spec.id)
            if self.stream:
                cls = _observed(cls)
            exchange = cls(config)
            if self.stream:
                exchange.arena_candle = self._on_stream_candle
                exchange.arena_garbage = self._on_garbage
                exchange.arena_book = self._on_stream_book
                exchange.arena_book_synced = self._on_book_synced
            self._exchange = exchange
            return exchange
        exchange = self._derived_client(config)
        self._exchange = exchange
        return exchange

    def _derived_client(self, config: dict[str, Any]) -> Any:
        """The ccxt client of an exchange without a tuned spec, after checking that ccxt knows it and
        that it has what a live market needs (no request made); ``self.spec`` becomes the derived spec.
        A refusal is remembered: every later snapshot raises the same sentence."""
        key = self.spec.id
        known = getattr(self._ccxt, "exchanges", None) or []
        cls = getattr(self._ccxt, key, None) if key in known else None
        if cls is None:
            self._refusal = (
                f"ccxt knows no exchange '{key}'; set market.exchange to a ccxt exchange id with perpetual futures, "
                f"such as {SUGGESTED}."
            )
            raise MarketError(self._refusal)
        try:
            exchange = cls(config)
        except Exception as exc:  # a ccxt class that cannot be built without credentials or network
            self._refusal = (
                f"the ccxt client for {key} could not be created ({_short(exc)}); set market.exchange to another "
                f"exchange, such as {SUGGESTED}."
            )
            raise MarketError(self._refusal) from None
        missing = missing_capabilities(exchange.has)
        if missing:
            self._refusal = (
                f"{key} lacks what a live market needs in ccxt: {' and '.join(missing)}; set market.exchange to "
                f"an exchange with USDT perpetuals, such as {SUGGESTED}."
            )
            raise MarketError(self._refusal)
        self.spec = derive_spec(exchange)
        options = copy.deepcopy(dict(self.spec.options))
        exchange.options.update(options)
        if self.base_url:
            exchange.urls["api"] = self.spec.api_urls(self.base_url, exchange.urls.get("api"))
        return exchange

    async def _load_markets(self, exchange: Any) -> None:
        async with self._markets_lock:
            if self._markets_loaded:
                return
            markets = await self._call("the market list", exchange.load_markets)
            if not isinstance(markets, dict) or not markets:
                raise MarketError(
                    f"{self.spec.id} sent an empty or malformed market list; check the exchange status "
                    "or switch to the bundled market."
                )
            if self.spec.derived:
                self._choose_settle(markets)
            missing = [self.spec.symbol(c) for c in self.coins if self.spec.symbol(c) not in markets]
            if missing:
                listed = self._listed_coins(markets)
                raise MarketError(
                    f"{self.spec.id} lists no market {', '.join(missing)}; "
                    f"{self._listing(listed)}; remove {'it' if len(missing) == 1 else 'them'} from market.coins "
                    "or switch to the bundled market."
                )
            for c in self.coins:
                size = markets[self.spec.symbol(c)].get("contractSize") if isinstance(markets[self.spec.symbol(c)], dict) else None
                ok = isinstance(size, (int, float)) and not isinstance(size, bool) and math.isfinite(size) and size > 0
                self._contract_size[c] = float(size) if ok else 1.0
            self._markets_loaded = True

    def _perp_settles(self, markets: Mapping[str, Any]) -> dict[str, set[str]]:
        """settle currency -> base coins of the linear perpetuals in ``markets``."""
        out: dict[str, set[str]] = {}
        for m in markets.values():
            if not isinstance(m, dict) or not m.get("swap") or m.get("inverse") or m.get("active") is False:
                continue
            settle, base = m.get("settle"), m.get("base")
            if isinstance(settle, str) and isinstance(base, str):
                out.setdefault(settle, set()).add(base)
        return out

    def _choose_settle(self, markets: Mapping[str, Any]) -> None:
        """USDT perpetuals when the exchange lists any, else USDC ones (a derived spec only)."""
        settles = self._perp_settles(markets)
        if not settles.get("USDT") and settles.get("USDC"):
            self.spec = replace(self.spec, settle="USDC")

    def _listed_coins(self, markets: Mapping[str, Any]) -> list[str]:
        """Base coins of the exchange's perpetuals settled in ``spec.settle``, sorted."""
        bases = self._perp_settles(markets).get(self.spec.settle, set())
        return sorted(b for b in bases if f"{b}/{self.spec.settle}:{self.spec.settle}" in markets)

    def _listing(self, listed: list[str], shown: int = 20) -> str:
        if not listed:
            return f"it lists no {self.spec.settle}-settled perpetual at all"
        more = f" ...and {len(listed) - shown} more" if len(listed) > shown else ""
        return f"its {self.spec.settle} perpetuals are {', '.join(listed[:shown])}{more}"

    async def _call(self, what: str, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Run one ccxt request with retries; translate every failure into ``MarketError``."""
        errors = self._errors
        assert errors is not None
        reason = "no reply"
        for attempt in range(self.tries):
            try:
                return await fn(*args, **kwargs)
            except errors.RequestTimeout:
                reason = f"no reply within {self.request_timeout:g} s"
            except errors.RateLimitExceeded as exc:
                reason = self._status(exc, "rate limited")
            except errors.NetworkError as exc:  # ExchangeNotAvailable (5xx, refused connection), DDoS...
                reason = self._status(exc, "connection failed")
            except errors.BaseError as exc:
                raise MarketError(
                    f"{self.spec.id} rejected the request for {what} ({_short(exc)}); check the exchange "
                    "status or switch to the bundled market."
                ) from None
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # ccxt choking on a reply of the wrong shape
                raise MarketError(
                    f"{self.spec.id} sent a malformed reply for {what} ({_short(exc)}); check your network "
                    "or switch to the bundled market."
                ) from None
            if attempt + 1 < self.tries and self.backoff > 0:
                await asyncio.sleep(self.backoff * 2**attempt)
        tries = "try" if self.tries == 1 else "tries"
        raise MarketError(
            f"{self.spec.id} did not answer after {self.tries} {tries} ({reason}) while fetching {what}; "
            "check your network or switch to the bundled market."
        )

    @staticmethod
    def _status(exc: BaseException, fallback: str) -> str:
        m = _HTTP_STATUS.search(str(exc))
        return f"HTTP {m.group(1)}" if m else fallback

    def _malformed(self, what: str, detail: str) -> MarketError:
        return MarketError(
            f"{self.spec.id} sent a malformed reply for {what} ({detail}); check your network or switch "
            "to the bundled market."
        )

    # ----- candle stream --------------------------------------------------------------------------

    def _start_stream(self, exchange: Any) -> None:
        """Start the stream task (after the first snapshot: markets are loaded, history is held)."""
        if not exchange.has.get("watchOHLCV"):
            self.stream = False
            return
        self._stream_reset()
        self._stream_event = asyncio.Event()  # made in the loop that runs the stream
        self._set_status("connecting")
        self._stream_task = asyncio.get_running_loop().create_task(
            self._stream_run(exchange), name=f"arena-tui {self.spec.id} candle stream"
        )

    def _stream_reset(self) -> None:
        self._ws_client = None
        self._epoch += 1
        self._seen.clear()
        self._open.clear()
        self._final.clear()
        self._garbled = False

    def _set_status(self, status: str, line: str | None = None, level: int = logging.INFO) -> None:
        """Change the stream's state; ``line`` is logged only when the state changes."""
        if status == self._stream_status:
            return
        self._stream_status = status
        self._stream_event.set()
        if line:
            _log.log(level, "%s candle stream %s", self.spec.id, line)

    async def _stream_run(self, exchange: Any) -> None:
        """Keep the subscription alive; on any error poll meanwhile and reconnect with backoff."""

        def down(reason: str, delay: float) -> None:
            self._ws_client = None
            self._epoch += 1  # what the lost connection said about unclosed candles no longer counts
            self._seen.clear()
            self._set_status("down", f"down ({reason}); polling, reconnecting with backoff from {delay:g} s", logging.WARNING)

        await self._keep_watching(
            lambda: self._watch(exchange), lambda: self._stream_status in ("up", "behind"), self._stream_delays, down
        )

    async def _keep_watching(
        self,
        watch: Callable[[], Awaitable[None]],
        working: Callable[[], bool],
        delays: list[float],
        down: Callable[[str, float], None],
    ) -> None:
        """Run ``watch()`` again and again, forever: whenever it ends or raises (a lost connection, a
        failed subscription), ``down(reason, delay)`` and again after ``delay`` seconds, the stream
        backoff: ``stream_backoff`` doubled after each failed attempt up to ``stream_backoff_max``,
        from the first delay again when the stream was ``working()`` before it failed. Every delay
        is appended to ``delays`` (for tests)."""
        failures = 0
        while True:
            try:
                await watch()
                reason = "the stream ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - ccxt network/exchange errors, or anything it raises
                reason = _short(exc)
            if working():
                failures = 0  # it was working: start the backoff again from the first delay
            delay = min(self.stream_backoff_max, self.stream_backoff * 2**failures)
            failures += 1
            delays.append(delay)
            down(reason, delay)
            await asyncio.sleep(delay)

    async def _watch(self, exchange: Any) -> None:
        """Subscribe to every coin's and timeframe's candles and keep watching; returns or raises
        when the connection fails. The candles themselves reach ``_on_stream_candle``."""
        pairs = [[self.spec.symbol(c), tf] for c in self.coins for tf in self.timeframes]
        if exchange.has.get("watchOHLCVForSymbols"):
            while True:
                await exchange.watch_ohlcv_for_symbols(pairs)
        await _watch_each([functools.partial(exchange.watch_ohlcv, *pair) for pair in pairs])

    def _stream_key(self, message: Any) -> tuple[tuple[str, str], list[float], bool | None]:
        """``((coin, timeframe), [ts, o, h, l, c, v], closed)`` of one candle message, ``closed`` None
        when the exchange sends no closed flag (Hyperliquid). Raises ``ValueError`` when malformed."""
        if self.spec.id == "binanceusdm":
            k = message.get("k") if isinstance(message, dict) else None
            if not isinstance(k, dict):
                raise ValueError("a kline event without its candle")
            symbol, closed = k.get("s"), k.get("x")
            if not isinstance(closed, bool):
                raise ValueError("a kline without its closed flag")
            coin = symbol[: -len(self.spec.settle)] if isinstance(symbol, str) and symbol.endswith(self.spec.settle) else None
        else:
            k = message.get("data") if isinstance(message, dict) else None
            if not isinstance(k, dict):
                raise ValueError("a candle message without its candle")
            coin, closed = k.get("s"), None
        tf = k.get("i")
        if coin not in self.coins or tf not in self.timeframes:
            raise ValueError("a candle of a coin or timeframe not subscribed")
        ts = k.get("t")
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise ValueError("a candle without its open time")
        row = [float(ts), *(_number(k.get(f)) for f in ("o", "h", "l", "c", "v"))]
        return (coin, tf), row, closed

    def _on_stream_candle(self, client: Any, message: Any) -> None:
        """One candle message from the stream (called by ccxt's ``handle_ohlcv``); see the module
        docstring for what is kept. Never raises."""
        if self._stream_task is None:
            return
        if client is not self._ws_client:  # a new connection
            self._ws_client = client
            self._epoch += 1
            self._seen.clear()
            self._garbled = False
        try:
            key, row, closed = self._stream_key(message)
        except (ValueError, TypeError, AttributeError) as exc:
            self._on_stream_garbage(client, exc)
            return
        step = timeframe_ms(key[1])
        ts, now = int(row[0]), self.now
        if ts % step or ts > now or (closed and ts + step > now):
            self._on_stream_garbage(client, ValueError("a candle from the future"))
            return
        self._seen.add(key)
        fresh = False
        prev = self._open.get(key)
        if closed:  # Binance: final by the exchange's word
            self._keep(key, row)
            fresh = True
        elif closed is None and prev is not None and ts > prev[1][0] and prev[0] == self._epoch:
            # Hyperliquid: the previous candle is final once a later one starts on the same connection
            self._keep(key, prev[1])
            fresh = True
        if prev is None or ts >= prev[1][0]:  # an update of a candle already superseded is ignored
            self._open[key] = (self._epoch, row)
        if self._stream_status in ("connecting", "down") and len(self._seen) == len(self.coins) * len(self.timeframes):
            self._set_status("up", f"up ({len(self._seen)} coin/timeframe streams); snapshots take closed candles from it")
        elif fresh and self._stream_status == "behind":
            self._set_status("up", "caught up; snapshots take closed candles from it again")
        if fresh:
            self._stream_event.set()

    def _keep(self, key: tuple[str, str], row: list[float]) -> None:
        buffer = self._final.setdefault(key, {})
        buffer[int(row[0])] = row
        if len(buffer) > self.lookback[key[1]] + 2:  # no snapshot for a long while: keep the newest only
            del buffer[min(buffer)]

    def _on_stream_garbage(self, client: Any, exc: BaseException) -> None:
        """A message the stream could not read: ignored; unclosed candles seen so far are no longer
        trusted to be final (a missed update may have been in it). Logged once per connection."""
        self._epoch += 1
        if not self._garbled:
            self._garbled = True
            _log.warning("%s candle stream sent a message arena-tui could not read (%s); ignored", self.spec.id, _short(exc, 80))

    def _streamed(self, key: tuple[str, str], since: int, last: int, step: int) -> np.ndarray | None:
        """The final candles of ``key`` opened in ``[since, last]`` from the stream, when it holds
        every one of them; else ``None`` (the caller fetches them by REST)."""
        buffer = self._final.get(key)
        if not buffer:
            return None
        rows = [buffer.get(ts) for ts in range(since, last + 1, step)]
        if any(r is None for r in rows):
            return None
        return np.array(rows, dtype=np.float64)

    def _stream_missing(self, t: int) -> bool:
        """Whether a coin and timeframe lacks, in the stream, a candle closed since its history that
        the stream may still deliver: none of its candles after that one has been seen yet (once a
        later one has, the stream has moved past it and it is fetched by REST without waiting)."""
        for key, held in self._held.items():
            step = timeframe_ms(key[1])
            last = (t // step) * step - step
            if held.end >= last:
                continue
            since = int(held.rows[-1, 0]) + step
            if (last - since) // step + 1 >= self.lookback[key[1]]:
                continue  # a gap: the window is downloaded again anyway
            buffer = self._final.get(key) or {}
            lacking = next((ts for ts in range(since, last + 1, step) if ts not in buffer), None)
            if lacking is None:
                continue
            seen = self._open.get(key)
            if seen is None or seen[1][0] <= lacking:
                return True
        return False

    async def _await_stream(self, t: int) -> None:
        """Wait (at most ``stream_grace`` s) for a healthy stream to deliver the candles closed since
        the last snapshot; when they do not come, mark it behind (snapshots poll without waiting).

        When the grace runs out the event loop first gets ``_SETTLE_TURNS`` turns (no time waited) to
        handle what already reached the process: the grace is wall time, and other work on the loop
        (the order-book stream parsing and syncing 1000-level books) can keep it from reading the
        candle socket until after the deadline. A candle received in time is not late: the candle
        stream's state depends on when its own messages arrive, not on what else the process does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stream_grace
        turns = 0
        while self._stream_missing(t):
            if self._stream_status != "up":
                return
            remaining = deadline - loop.time()
            if remaining > 0:
                self._stream_event.clear()
                try:
                    async with asyncio.timeout(remaining):
                        await self._stream_event.wait()
                except TimeoutError:
                    pass
            elif turns < _SETTLE_TURNS:
                turns += 1
                await asyncio.sleep(0)  # one turn: a socket read, or a step of ccxt handling a message
            else:
                self._epoch += 1  # a stalled connection: its unclosed candles may be stale
                self._set_status(
                    "behind",
                    f"behind: a closed candle did not arrive within {self.stream_grace:g} s; polling until it does",
                    logging.WARNING,
                )
                return

    # ----- order-book stream ----------------------------------------------------------------------

    def _start_book_stream(self, exchange: Any) -> None:
        """Start the order-book stream task (after the first snapshot, whose books came by REST)."""
        if not (exchange.has.get("watchOrderBook") and exchange.has.get("fetchOrderBook")):
            self.stream_books = False
            return
        self._book_reset()
        self._set_book_status("connecting")
        self._book_task = asyncio.get_running_loop().create_task(
            self._book_run(exchange), name=f"arena-tui {self.spec.id} order-book stream"
        )

    def _book_reset(self) -> None:
        self._book_live.clear()
        self._book_tainted.clear()
        self._book_garbled = None
        self._book_logged.clear()
        self._book_heard = None

    def _set_book_status(self, status: str, line: str | None = None, level: int = logging.INFO) -> None:
        """Change the book stream's state; ``line`` is logged only when the state changes."""
        if status == self._book_status:
            return
        self._book_status = status
        if line:
            _log.log(level, "%s order book stream %s", self.spec.id, line)

    async def _book_run(self, exchange: Any) -> None:
        """Keep the book subscriptions alive; on any error (a lost connection, or ccxt dropping a book
        whose diffs do not follow each other) read books by REST meanwhile and subscribe again with
        backoff (``stream_backoff`` doubled up to ``stream_backoff_max``, as the candle stream)."""

        def down(reason: str, delay: float) -> None:
            # no book is forgotten here: one of a lost connection is no longer current (``_live_book``),
            # one ccxt dropped (diffs that do not follow) is gone from ``orderbooks``, and the others
            # stay in sync until ccxt resubscribes and syncs them again
            self._set_book_status(
                "down",
                f"down ({reason}); books fetched by REST, subscribing again with backoff from {delay:g} s",
                logging.WARNING,
            )

        await self._keep_watching(lambda: self._watch_books(exchange), lambda: self._book_status == "up", self._book_delays, down)

    async def _watch_books(self, exchange: Any) -> None:
        """Subscribe to every coin's order book and keep watching; returns or raises when a
        subscription fails. What the books say is read from ccxt's ``orderbooks`` at the snapshot;
        the messages that bring each book up to date reach ``_on_stream_book``."""
        symbols = [self.spec.symbol(c) for c in self.coins]
        limit = self.spec.book_limit
        if exchange.has.get("watchOrderBookForSymbols"):
            while True:
                await exchange.watch_order_book_for_symbols(symbols, limit)
        await _watch_each([functools.partial(exchange.watch_order_book, symbol, limit) for symbol in symbols])

    def _book_coin(self, message: Any) -> str | None:
        """The coin an order-book message is about (Hyperliquid ``data.coin``, Binance ``s``), as sent;
        ``None`` when the message names none."""
        if not isinstance(message, dict):
            return None
        if self.spec.id == "binanceusdm":
            symbol = message.get("s")
            if isinstance(symbol, str) and symbol.endswith(self.spec.settle):
                return symbol[: -len(self.spec.settle)]
            return None
        data = message.get("data")
        coin = data.get("coin") if isinstance(data, dict) else None
        return coin if isinstance(coin, str) else None

    def _synced_by_rest(self) -> bool:
        """Whether ccxt builds this exchange's streamed books from diffs on a REST snapshot (Binance:
        a book is in sync only while its ``nonce``, the last update id applied, is set)."""
        return hasattr(type(self._exchange), "fetch_order_book_snapshot")

    def _mark_live(self, client: Any, coin: str, ts: Any) -> None:
        self._book_live[coin] = client
        self._book_tainted.discard(coin)
        if isinstance(ts, int) and not isinstance(ts, bool):
            heard = self._book_heard
            if heard is None or heard[0] is not client or heard[1] < ts:
                self._book_heard = (client, ts)
        if self._book_status in ("connecting", "down") and all(self._book_ready(c) is not None for c in self.coins):
            self._set_book_status("up", f"up ({len(self.coins)} books); snapshots take order books from it")

    def _book_ready(self, coin: str) -> Any:
        """ccxt's streamed book of ``coin`` when it is in sync on the current connection (last brought
        up to date by a message of the exchange's open websocket; held by ccxt; on Binance not
        awaiting a REST snapshot), else ``None``."""
        if not self._client_current(self._book_live.get(coin)):
            return None
        books = getattr(self._exchange, "orderbooks", None)
        book = books.get(self.spec.symbol(coin)) if isinstance(books, dict) else None
        if book is None or (self._synced_by_rest() and book.get("nonce") is None):
            return None  # dropped by ccxt (diffs that do not follow), or resyncing
        return book

    def _client_current(self, client: Any) -> bool:
        """Whether ``client`` is the exchange's open websocket for its URL (not a lost connection)."""
        exchange = self._exchange
        if client is None or exchange is None:
            return False
        clients = getattr(exchange, "clients", None) or {}
        if clients.get(getattr(client, "url", None)) is not client:
            return False
        try:
            return not client.closed()
        except Exception:  # noqa: BLE001 - a client of another shape: not trusted
            return False

    def _on_stream_book(self, client: Any, message: Any) -> None:
        """One order-book message, after ccxt handled it (``arena_book``): the coin's book is live on
        this connection when ccxt applied the message (Hyperliquid: every ``l2Book`` replaces the
        book; Binance: a diff is applied only when it follows the last one, ccxt then sets the book's
        ``nonce`` to its ``u``). Never raises."""
        if self._book_task is None or self._exchange is None:
            return
        coin = self._book_coin(message)
        if coin not in self.coins:
            return
        book = self._exchange.orderbooks.get(self.spec.symbol(coin)) if isinstance(self._exchange.orderbooks, dict) else None
        if book is None:
            return
        if self._synced_by_rest() and (book.get("nonce") is None or book.get("nonce") != message.get("u")):
            return  # buffered until the REST snapshot, or dropped: not (yet) the book's state
        self._mark_live(client, coin, book.get("timestamp"))

    def _on_book_synced(self, client: Any, subscription: Any) -> None:
        """ccxt synced one coin's diff stream with its REST snapshot (``arena_book_synced``)."""
        if self._book_task is None or self._exchange is None or not isinstance(subscription, dict):
            return
        symbol = subscription.get("symbol")
        coin = next((c for c in self.coins if self.spec.symbol(c) == symbol), None)
        book = self._exchange.orderbooks.get(symbol) if coin is not None else None
        if book is not None and book.get("nonce") is not None:
            self._mark_live(client, coin, book.get("timestamp"))

    def _on_garbage(self, client: Any, exc: BaseException, data: Any = None) -> None:
        """A message ccxt could not handle (``arena_garbage``): an order-book one goes to
        ``_on_book_garbage``, any other to the candle stream's ``_on_stream_garbage``."""
        message = data
        if isinstance(data, (str, bytes)):
            try:
                message = json.loads(data)
            except ValueError:
                message = None
        book_shaped = isinstance(message, dict) and (message.get("channel") == "l2Book" or message.get("e") == "depthUpdate")
        book_socket = client is not self._ws_client and any(c is client for c in self._book_live.values())
        if book_shaped or book_socket:
            self._on_book_garbage(client, exc, message if book_shaped else None)
        else:
            self._on_stream_garbage(client, exc)

    def _on_book_garbage(self, client: Any, exc: BaseException, message: Any) -> None:
        """A message on the book stream that ccxt could not handle. When it was an order-book message
        (``message``), ccxt may have changed the book of the coin it names (every book streamed on
        that connection when it names none) before failing: that book is not used until the stream
        updates it again, fetched by REST meanwhile. Other garbage touches no book. Logged once per
        connection."""
        if message is not None:
            coin = self._book_coin(message)
            if coin is None:
                touched = {c for c, live in self._book_live.items() if live is client}
            else:
                touched = {coin} & set(self.coins)
            self._book_tainted |= touched
        if self._book_garbled is not client:
            self._book_garbled = client
            _log.warning(
                "%s order book stream sent a message arena-tui could not read (%s); the books it may have touched "
                "are fetched by REST until the stream updates them again",
                self.spec.id,
                _short(exc, 80),
            )

    def _live_book(self, coin: str, t: int) -> tuple[Any, str | None] | None:
        """``(ccxt order book, problem)`` of ``coin``'s streamed book at clock ``t``: ``None`` when the
        stream has none to offer (not streaming, not yet synced, connection lost, touched by an
        unreadable message); ``problem`` ``"stale"`` when neither the book nor any other book on its
        connection was updated (by the exchange's time) within ``book_max_age`` before ``t`` (a quiet
        book on a connection that still delivers is unchanged, not stale: the exchanges send a book
        update only when it changed, or a whole book per block), ``"unreadable"`` when it has no time,
        else ``None``."""
        if self._book_task is None or coin in self._book_tainted:
            return None
        book = self._book_ready(coin)
        if book is None:
            return None
        client = self._book_live.get(coin)
        ts = book.get("timestamp")
        if isinstance(ts, bool) or not isinstance(ts, int):
            return book, "unreadable"
        heard = self._book_heard
        if heard is not None and heard[0] is client:
            ts = max(ts, heard[1])
        if t - ts > self.book_max_age * 1000:
            return book, "stale"
        return book, None

    def _stream_summary(self, coin: str, t: int) -> tuple[Any, OrderBook | None, str | None]:
        """``(ccxt book, its summary, problem)`` for ``coin``'s streamed book at ``t``: the summary when
        it is usable; else ``None`` with the problem (``"stale"``, ``"unreadable"``: an empty, crossed
        or malformed book) or no problem when the stream offers no book (see ``_live_book``)."""
        found = self._live_book(coin, t)
        if found is None:
            return None, None, None
        book, problem = found
        if problem is not None:
            return book, None, problem
        try:
            summary = OrderBook.from_levels(book["bids"], book["asks"], self._contract_size.get(coin, 1.0))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            summary = None
        return book, summary, None if summary is not None else "unreadable"

    def _streamed_books(self, t: int) -> dict[str, OrderBook]:
        """Coin -> summary of its streamed book, for the coins whose streamed book is live, fresh and
        readable at ``t``; the others are fetched by REST. Logs one line per change: books that
        became stale or unreadable, and books streamed again after that."""
        out: dict[str, OrderBook] = {}
        changed: dict[str, list[str]] = {"stale": [], "unreadable": [], "streamed": []}
        for coin in self.coins:
            _, summary, problem = self._stream_summary(coin, t)
            if summary is not None:
                out[coin] = summary
            elif problem is None:
                continue  # nothing streamed to offer: the stream's state lines say why
            before = self._book_logged.get(coin)
            if problem is not None and before != problem:
                self._book_logged[coin] = problem
                changed[problem].append(coin)
            elif problem is None and before is not None:
                del self._book_logged[coin]
                changed["streamed"].append(coin)
        if changed["stale"]:
            _log.warning(
                "%s order book stream: no update of %s for more than %g s; fetched by REST until the stream updates them",
                self.spec.id,
                ", ".join(changed["stale"]),
                self.book_max_age,
            )
        if changed["unreadable"]:
            _log.warning(
                "%s order book stream: the streamed book of %s is empty, crossed or unreadable; fetched by REST "
                "until the stream sends a readable one",
                self.spec.id,
                ", ".join(changed["unreadable"]),
            )
        if changed["streamed"]:
            _log.info("%s order book stream: %s streamed again", self.spec.id, ", ".join(changed["streamed"]))
        return out

    # ----- requests -------------------------------------------------------------------------------

    async def _candles(self, exchange: Any, coin: str, tf: str, t: int) -> Candles:
        """The last ``lookback[tf]`` candles of ``coin`` that closed at or before ``t`` (``t`` in ms).

        Uses and updates the held history: no request when no candle closed since it was fetched, one
        request for the candles closed since otherwise, a full download of the window the first time,
        after a gap or when the reply does not join. Raises ``MarketError``; the held history is
        replaced only after a reply has been read successfully, so a failure leaves it as it was.
        """
        what = f"{coin} {tf} candles"
        step = timeframe_ms(tf)
        n = self.lookback[tf]
        last = (t // step) * step - step  # open time of the latest candle closed at t
        start = last - (n - 1) * step  # open time of the oldest candle in the window
        key = (coin, tf)
        held = self._held.get(key)
        rows: np.ndarray | None = None
        if held is not None and held.end == last:
            rows = held.rows  # nothing can have closed since: no request
        elif held is not None and held.end < last:
            since = int(held.rows[-1, 0]) + step  # the first candle not yet held
            count = (last - since) // step + 1  # candles closed in [since, last]
            if count < n:  # else more closed than the window holds: a gap
                fresh = self._streamed(key, since, last, step)  # every one of them from the stream, or None
                if fresh is None:
                    fresh = await self._fetch(exchange, what, coin, tf, since, count + 1, t, step)
                if len(fresh) and int(fresh[0, 0]) == since:  # joins the held history
                    kept = held.rows[held.rows[:, 0] >= start]
                    rows = np.concatenate((kept, fresh)) if len(kept) else fresh
        if rows is None:  # first snapshot, gap, clock moved back, or a reply that does not join
            rows = await self._fetch(exchange, what, coin, tf, start, n + 1, t, step)
            if len(rows) == 0:
                raise self._malformed(what, "no closed candle in the reply")
        if held is None or rows is not held.rows:
            rows = rows[-n:]
            self._held[key] = _Held(rows, last)
        buffer = self._final.get(key)
        if buffer:
            for ts in [ts for ts in buffer if ts <= last]:  # merged, or older than the history
                del buffer[ts]
        return Candles(
            tf,
            rows[:, 0].astype(np.int64),
            rows[:, 1].copy(),
            rows[:, 2].copy(),
            rows[:, 3].copy(),
            rows[:, 4].copy(),
            rows[:, 5].copy(),
        )

    async def _fetch(
        self, exchange: Any, what: str, coin: str, tf: str, since: int, limit: int, t: int, step: int
    ) -> np.ndarray:
        """One OHLCV request: the candles with open time >= ``since`` (ms) closed at or before ``t``
        (ms), at most ``limit`` asked for. Returns a C-contiguous float64 array of shape ``(k, 6)``
        (open time, o, h, l, c, v), open times strictly increasing, possibly ``k == 0``; raises
        ``MarketError`` after failed retries or for a malformed reply."""
        symbol = self.spec.symbol(coin)
        cap = max(2, int(self.spec.max_candles))
        if limit <= cap:
            replies = [await self._call(what, exchange.fetch_ohlcv, symbol, tf, since, limit, {"until": t})]
        else:
            # pages of ``cap`` candles from ``since``; each ends (``until``) at its last candle's last
            # millisecond, the newest at the clock with room for the candle still open
            pages = []
            for first in range(0, limit, cap):
                n = min(cap, limit - first)
                start = since + first * step
                until = t if first + n >= limit else start + n * step - 1
                pages.append(self._call(what, exchange.fetch_ohlcv, symbol, tf, start, n, {"until": until}))
            replies = await asyncio.gather(*pages)
        for reply in replies:
            if not isinstance(reply, list):
                raise self._malformed(what, f"got {type(reply).__name__}, not a list of candles")
        reply = [row for page in replies for row in page]
        try:
            arr = np.array(reply, dtype=np.float64)
        except (TypeError, ValueError):
            raise self._malformed(what, "candles are not rows of numbers") from None
        if arr.size == 0:
            arr = arr.reshape(0, 6)
        if arr.ndim != 2 or arr.shape[1] < 6 or not np.all(np.isfinite(arr[:, :6])):
            raise self._malformed(what, "candles are not rows of six numbers")
        arr = arr[:, :6]
        ts = arr[:, 0].astype(np.int64)
        keep = (ts + step <= t) & (ts >= since)  # closed by the clock: no look-ahead
        arr, ts = arr[keep], ts[keep]
        if len(ts) and np.any(np.diff(ts) <= 0):  # pages, or an exchange sending newest first
            order = np.unique(ts, return_index=True)[1]
            arr = arr[order]
        return np.ascontiguousarray(arr)

    def _funding_entry(self, what: str, rate: Any, t: int) -> FundingHistory:
        if not isinstance(rate, dict):
            raise self._malformed(what, "no funding rate")
        value = rate.get("fundingRate")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._malformed(what, "no funding rate")
        interval = self._interval_ms(rate.get("interval"), rate)
        # Stamped at the latest funding time at or before ``t`` (both exchanges settle on epoch-aligned
        # hours: Hyperliquid every hour, Binance at 00/08/16 UTC), not at the fetch time: a ledger that
        # settles the funding times falling between two cycles then pays it once per interval.
        settled = (t // interval) * interval
        return FundingHistory(
            np.array([settled], dtype=np.int64),
            np.array([float(value)], dtype=np.float64),
            interval,
        )

    def _interval_ms(self, interval: Any, rate: Mapping[str, Any] | None = None) -> int:
        if isinstance(interval, str) and interval.endswith("h") and interval[:-1].isdigit() and int(interval[:-1]) > 0:
            return int(interval[:-1]) * HOUR_MS
        if self.spec.derived and rate is not None:
            # the gap between the funding times the reply states, in whole hours
            a, b = rate.get("fundingTimestamp"), rate.get("nextFundingTimestamp")
            if all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)):
                gap = b - a
                if gap > 0 and gap % HOUR_MS == 0 and gap <= 24 * HOUR_MS:
                    return gap
        return self.spec.funding_interval_ms

    async def _funding_bulk(self, exchange: Any, t: int) -> dict[str, FundingHistory]:
        symbols = [self.spec.symbol(c) for c in self.coins]
        rates = await self._call("funding rates", exchange.fetch_funding_rates, symbols)
        if not isinstance(rates, dict):
            raise self._malformed("funding rates", "not a table of rates")
        return {c: self._funding_entry(f"the funding rate of {c}", rates.get(self.spec.symbol(c)), t) for c in self.coins}

    async def _funding_one(self, exchange: Any, coin: str, t: int) -> FundingHistory:
        what = f"the funding rate of {coin}"
        rate = await self._call(what, exchange.fetch_funding_rate, self.spec.symbol(coin))
        return self._funding_entry(what, rate, t)

    async def _book_job(self, exchange: Any, coin: str, streamed: OrderBook | None) -> OrderBook | None:
        """``coin``'s book: the streamed one when there is one, else by REST (``_order_book``)."""
        if streamed is not None:
            self._book_state(coin, streamed, "")
            return streamed
        return await self._order_book(exchange, coin)

    async def _order_book(self, exchange: Any, coin: str) -> OrderBook | None:
        """``coin``'s order book summary (``base.OrderBook``), or ``None`` when it cannot be read (one
        try: the book is a feature; a failure never fails the snapshot). Logs once per change of state."""
        errors = self._errors
        assert errors is not None
        reason: str | None = None
        book: OrderBook | None = None
        try:
            reply = await exchange.fetch_order_book(self.spec.symbol(coin), self.spec.book_limit)
        except errors.RequestTimeout:
            reason = f"no reply within {self.request_timeout:g} s"
        except errors.NetworkError as exc:
            reason = self._status(exc, "connection failed")
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - rejected, or a reply ccxt could not parse
            reason = _short(exc, 80)
        else:
            try:
                bids, asks = reply["bids"], reply["asks"]
                book = OrderBook.from_levels(bids, asks, self._contract_size.get(coin, 1.0))
            except (KeyError, TypeError, ValueError, IndexError):
                book = None
            if book is None:
                reason = "an empty, crossed or malformed book"
        self._book_state(coin, book, reason or "")
        return book

    def _book_state(self, coin: str, book: OrderBook | None, reason: str) -> None:
        """Log a change of whether ``coin``'s book could be read (by REST or from the stream)."""
        failing = book is None
        if failing != self._book_failing.get(coin, False):
            self._book_failing[coin] = failing
            if failing:
                _log.warning("%s order book of %s unavailable (%s); its features are unknown until it is read again", self.spec.id, coin, reason)
            else:
                _log.info("%s order book of %s read again", self.spec.id, coin)

    def _oi_amount(self, what: str, oi: Any, coin: str) -> float:
        """Open interest in the base coin: ccxt's ``openInterestAmount`` counts contracts (one base coin
        each on most exchanges; OKX's BTC contract is 0.01 BTC), times the market's contract size."""
        amount = oi.get("openInterestAmount") if isinstance(oi, dict) else None
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount) or amount < 0:
            raise self._malformed(what, "no open interest figure")
        size = self._contract_size.get(coin, 1.0)
        return float(amount) if size == 1.0 else float(Decimal(repr(float(amount))) * Decimal(repr(size)))

    async def _open_interest_bulk(self, exchange: Any) -> dict[str, float | None]:
        if not exchange.has.get("fetchOpenInterests"):
            return {c: None for c in self.coins}
        symbols = [self.spec.symbol(c) for c in self.coins]
        table = await self._call("open interest", exchange.fetch_open_interests, symbols)
        if not isinstance(table, dict):
            raise self._malformed("open interest", "not a table of figures")
        return {c: self._oi_amount(f"the open interest of {c}", table.get(self.spec.symbol(c)), c) for c in self.coins}

    async def _open_interest_one(self, exchange: Any, coin: str) -> float | None:
        if not exchange.has.get("fetchOpenInterest"):
            return None
        what = f"the open interest of {coin}"
        return self._oi_amount(what, await self._call(what, exchange.fetch_open_interest, self.spec.symbol(coin)), coin)


__all__ = [
    "DEFAULT_LOOKBACK",
    "DEFAULT_TIMEFRAMES",
    "EXCHANGES",
    "ExchangeSpec",
    "LiveMarket",
    "MAX_LOOKBACK",
    "derive_spec",
    "missing_capabilities",
]
