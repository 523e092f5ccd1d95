"""Order books over websockets in LiveMarket: the real ccxt.pro client (``watch_order_book`` on
Hyperliquid, ``watch_order_book_for_symbols`` on Binance USD-M) against the fake exchange's book
streams on 127.0.0.1 (tests/fakes/exchange_server.py): Hyperliquid's ``l2Book`` channel (a whole book
per message), Binance's ``<symbol>@depth@100ms`` diff stream synced by ccxt with one REST
``/fapi/v1/depth`` snapshot per coin (``lastUpdateId``, then ``U``/``u``/``pu`` continuity).

After the first snapshot (whose books come by REST) a snapshot takes every coin's book from the
stream: no REST book request, and the features equal those of the book the server published. When the
socket drops, stalls, or sends something unreadable, the books are fetched by REST (at most one
request per coin and snapshot) and never raise out of the snapshot; once the stream is back the
requests stop again. The server clock is moved explicitly; the tests wait for conditions (with a
guard timeout), never for time.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import COINS, MarketSnapshot
from arena_tui.engine.market.live import LiveMarket
from tests.fakes.exchange_server import FakeExchangeServer
from tests.fakes.live_fixtures import live_fixtures
from tests.test_live_incremental import MIN, START
from tests.test_live_ws import EXCHANGE_IDS, LOGGER, SOCKETS, snapshot, stream_market, wait_until
from tests.test_order_book import BOOK_KINDS, expected_book

FAST = dict(timeframes=("5m",), lookback={"5m": 30}, stream_grace=0.0)
"""One short timeframe, and snapshots that never wait for closed candles (missing ones are polled):
these tests are about the books, not the candles."""


server, exchange, market = live_fixtures(START, EXCHANGE_IDS, stream_market, **FAST)


def book_lines(records, level: int | None = None) -> list[str]:
    return [
        r.getMessage()
        for r in records
        if r.name == LOGGER and "order book" in r.getMessage() and (level is None or r.levelno == level)
    ]


def book_requests(server: FakeExchangeServer) -> Counter:
    return Counter(server.book_requests)


def one_per_coin(exchange: str, coins=COINS) -> Counter:
    """What a snapshot that reads ``coins``' books by REST asks: one book request per coin."""
    return Counter({BOOK_KINDS[exchange]: len(coins)}) if coins else Counter()


def assert_books(snap: MarketSnapshot, server: FakeExchangeServer, exchange: str) -> None:
    """Every coin's book features equal those of the book the server publishes now (the stream's and
    the REST reply's are the same book)."""
    for coin in COINS:
        assert snap.coins[coin].order_book == expected_book(server, exchange, coin), coin


def streamed_at_server_clock(server: FakeExchangeServer, market: LiveMarket, exchange: str, coins=COINS) -> bool:
    """``coins``' streamed books are usable and include the server's last published update."""
    times = market.streamed_book_times()
    return all(times.get(c, -1) >= server.ws_book_time(exchange, c) for c in coins)


async def started(server: FakeExchangeServer, market: LiveMarket, exchange: str) -> None:
    """The first snapshot (books by REST), then every book streamed; requests forgotten."""
    assert_books(await snapshot(market), server, exchange)
    assert book_requests(server) == one_per_coin(exchange)
    await wait_until(lambda: market.book_stream_status == "up", "the book stream to come up")
    await wait_until(lambda: streamed_at_server_clock(server, market, exchange), "every book streamed")
    assert server.ws_book_subscriptions() == Counter({c: 1 for c in COINS})
    # Binance: ccxt syncs each coin's diff stream with one REST snapshot (limit 1000) when it subscribes
    sync = one_per_coin(exchange) if exchange == "binanceusdm" else Counter()
    assert book_requests(server) == one_per_coin(exchange) + sync
    server.clear_requests()


async def cycle(
    server: FakeExchangeServer, market: LiveMarket, exchange: str, step: int = 3 * MIN, streamed=COINS
) -> MarketSnapshot:
    """Move the clock; wait until the stream delivered the books of ``streamed``; take a snapshot and
    check its books against the server's. Requests are counted from the move on."""
    server.clear_requests()
    server.now += step
    await wait_until(lambda: streamed_at_server_clock(server, market, exchange, streamed), "the books streamed after the move")
    snap = await snapshot(market)
    assert_books(snap, server, exchange)
    return snap


# ----- a healthy stream ----------------------------------------------------------------------------


async def test_streamed_books_need_no_rest_request_and_equal_the_published_books(server, exchange, market):
    await started(server, market, exchange)
    for step in (3 * MIN, 3 * MIN, 5 * MIN, 1 * MIN, 10 * MIN):  # a 5m candle closes: the books move
        await cycle(server, market, exchange, step)
        assert book_requests(server) == Counter(), f"REST book requests at {server.now}"
        assert server.counts()  # candles, funding and open interest are still asked for as before
    assert market.book_stream_status == "up" and server.ws_connections == SOCKETS[exchange]
    assert server.ws_book_subscriptions() == Counter({c: 1 for c in COINS})


async def test_a_quiet_book_on_a_live_connection_is_not_stale(server):
    """Binance sends a diff only when a book changed: a book unchanged for longer than ``book_max_age``
    is still current while the connection delivers the other books' updates."""
    market = stream_market(server, "binanceusdm", book_max_age=60.0, **FAST)
    try:
        await started(server, market, "binanceusdm")
        for _ in range(8):  # 3-minute moves: each leaves some books unchanged (their sizes repeat)
            before = {c: server.ws_book_time("binanceusdm", c) for c in COINS}
            await cycle(server, market, "binanceusdm")
            assert book_requests(server) == Counter()
            quiet = [c for c in COINS if server.ws_book_time("binanceusdm", c) == before[c]]
            if quiet:
                assert all(server.now - server.ws_book_time("binanceusdm", c) > 60_000 for c in quiet)
                break
        else:
            pytest.fail("no book stayed unchanged over a move: the test did not test anything")
    finally:
        await market.close()


# ----- faults ---------------------------------------------------------------------------------------


async def test_a_dropped_socket_reads_books_by_rest_until_they_stream_again(server, exchange, market, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    await started(server, market, exchange)
    server.drop_ws(refuse=-1)  # closed, and every handshake refused until allowed
    await wait_until(lambda: market.book_stream_status == "down", "the book stream to notice the drop")
    for _ in range(3):
        await cycle(server, market, exchange, streamed=())
        assert book_requests(server) == one_per_coin(exchange)  # one REST request per coin, no more
        assert market.book_stream_status == "down"
    await wait_until(lambda: len(market._book_delays) >= 3, "three attempts to subscribe again")
    assert market._book_delays[:3] == [0.02, 0.04, 0.08]  # exponential backoff (up to the maximum, 0.08)
    server.allow_ws()
    await wait_until(lambda: market.book_stream_status == "up", "the book stream to come back")
    await wait_until(lambda: streamed_at_server_clock(server, market, exchange), "every book streamed again")
    for _ in range(3):
        await cycle(server, market, exchange)
        assert book_requests(server) == Counter()
    lines = book_lines(caplog.records)
    assert sum(" stream down (" in line for line in lines) == 1, lines  # one line per state change
    assert sum(" stream up (" in line for line in lines) == 2, lines
    assert not book_lines(caplog.records, logging.ERROR)


async def test_a_stalled_stream_is_stale_and_read_by_rest_until_it_delivers(server, exchange, market, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    await started(server, market, exchange)
    server.pause_ws()  # the sockets stay open, nothing is sent
    await cycle(server, market, exchange, 3 * MIN, streamed=())  # the books are now 3 minutes old: > 60 s
    assert book_requests(server) == one_per_coin(exchange)
    stale = [line for line in book_lines(caplog.records, logging.WARNING) if "no update of" in line]
    assert len(stale) == 1 and all(c in stale[0] for c in COINS), stale  # one line for all of them
    await cycle(server, market, exchange, 3 * MIN, streamed=())
    assert book_requests(server) == one_per_coin(exchange)
    server.resume_ws()
    # Hyperliquid sends whole books again; on Binance the next diffs do not follow the last ones the
    # client saw, so ccxt drops those books, subscribes again and syncs every book with a REST
    # snapshot (once per gapped diff it meets before the resync: maybe more than once, never again
    # once every book is in sync)
    server.now += 3 * MIN
    await wait_until(lambda: streamed_at_server_clock(server, market, exchange), "the books streamed again")
    await wait_until(lambda: market.book_stream_status == "up", "the book stream up")
    syncs = 0
    while True:
        await cycle(server, market, exchange)
        if not book_requests(server):
            break
        assert exchange == "binanceusdm"  # ccxt's resync; Hyperliquid's whole books need none
        syncs += 1
        assert syncs <= 3, "ccxt kept resyncing the books"
    for _ in range(3):
        await cycle(server, market, exchange)
        assert book_requests(server) == Counter()
    lines = book_lines(caplog.records)
    assert sum("no update of" in line for line in lines) == 1, lines
    assert sum("streamed again" in line for line in lines) == 1, lines
    assert server.ws_connections == SOCKETS[exchange]  # no reconnect was needed


def l2book(coin: str, bids: list, asks: list, time: int | None = START) -> dict:
    """A Hyperliquid ``l2Book`` message with ``[px, sz]`` text levels (no ``time`` when ``None``)."""
    side = lambda levels: [{"px": px, "sz": sz, "n": 1} for px, sz in levels]  # noqa: E731
    data = {"coin": coin, "levels": [side(bids), side(asks)]}
    return {"channel": "l2Book", "data": data if time is None else {**data, "time": time}}


HL_GARBAGE = [
    # (message, coins whose streamed book it spoils, log line)
    ({"channel": "l2Book", "data": {"coin": "BTC", "time": START, "levels": "garbage"}}, {"BTC"}, "empty, crossed or unreadable"),
    (l2book("ETH", [("abc", "1")], [("5000", "1")]), {"ETH"}, "could not read"),  # a price that is no number
    (l2book("SOL", [("300", "1")], [("100", "1")]), {"SOL"}, "empty, crossed or unreadable"),  # bid above ask
    (l2book("XRP", [("1", "1")], [("2", "1")], time=None), {"XRP"}, "empty, crossed or unreadable"),  # no time
    ({"channel": "l2Book", "data": "BTC"}, set(COINS), "could not read"),  # names no coin: every book on the socket
    (l2book("NOPE", [], []), set(), "could not read"),  # a coin not listed
]


@pytest.mark.parametrize(
    ("message", "spoiled", "line"), HL_GARBAGE, ids=["levels", "price", "crossed", "no-time", "no-coin", "unlisted"]
)
async def test_an_unreadable_hyperliquid_book_message_falls_back_to_rest(server, message, spoiled, line, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    market = stream_market(server, "hyperliquid", **FAST)
    try:
        await started(server, market, "hyperliquid")
        caplog.clear()
        server.send_ws(message, only="books")
        if spoiled:
            await wait_until(lambda: set(market.streamed_book_times()) == set(COINS) - spoiled, "the message to be handled")
        else:
            await wait_until(lambda: book_lines(caplog.records), "the message to be handled")
        snap = await snapshot(market)  # the same clock: the spoiled books are read by REST, the others streamed
        assert_books(snap, server, "hyperliquid")
        assert book_requests(server) == one_per_coin("hyperliquid", spoiled)
        warnings = book_lines(caplog.records, logging.WARNING)
        assert len(warnings) == 1 and line in warnings[0], warnings  # one line for the message
        assert market.book_stream_status == "up"
        await cycle(server, market, "hyperliquid")  # the next whole books replace them
        assert book_requests(server) == Counter()
        assert len(book_lines(caplog.records, logging.WARNING)) == 1
    finally:
        await market.close()


async def test_an_unreadable_binance_diff_never_raises_and_the_books_resync(server, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    market = stream_market(server, "binanceusdm", **FAST)
    try:
        await started(server, market, "binanceusdm")
        caplog.clear()
        # next in BTC's sequence, with a price that is not a number: ccxt drops BTC's book and its
        # subscription; the market subscribes again, and ccxt syncs every book with a REST snapshot
        server.send_ws(server.ws_depth_update("BTC", [["abc", "1"]], []), only="books")
        await wait_until(lambda: market._book_delays, "the failed subscription")
        snap = await snapshot(market)  # whatever the resync has reached: each book streamed or by REST
        assert_books(snap, server, "binanceusdm")
        assert book_requests(server)["depth"] <= 2 * len(COINS)  # ccxt's resync, and REST while it lasts
        await wait_until(lambda: market.book_stream_status == "up", "the book stream up again")
        await wait_until(lambda: streamed_at_server_clock(server, market, "binanceusdm"), "every book streamed again")
        # garbage that is no book update: ccxt ignores it or fails on it, no book is touched (one line)
        server.send_ws({"e": "depthUpdate", "s": "ETHUSDT"}, only="books")
        server.send_ws("not json at all", only="books")
        server.send_ws(["a list"], only="books")
        await wait_until(lambda: len(book_lines(caplog.records, logging.WARNING)) == 2, "the garbage to be handled")
        for _ in range(3):
            await cycle(server, market, "binanceusdm")
            assert book_requests(server) == Counter()
        warnings = book_lines(caplog.records, logging.WARNING)
        assert len(warnings) == 2 and " stream down (" in warnings[0] and "could not read" in warnings[1], warnings
        assert server.ws_connections == SOCKETS["binanceusdm"]  # the socket itself stayed up
    finally:
        await market.close()


# ----- configuration -------------------------------------------------------------------------------


async def test_books_are_not_streamed_when_turned_off(server, exchange):
    market = stream_market(server, exchange, stream_books=False, **FAST)
    try:
        await snapshot(market)
        await wait_until(lambda: market.stream_status == "up", "the candle stream")
        server.clear_requests()
        server.now += 3 * MIN
        snap = await snapshot(market)
        assert_books(snap, server, exchange)
        assert book_requests(server) == one_per_coin(exchange)
        assert market.book_stream_status == "off" and server.ws_book_subscriptions() == Counter()
    finally:
        await market.close()


def test_book_streams_follow_the_candle_streams():
    assert LiveMarket("hyperliquid").stream_books and LiveMarket("binanceusdm").stream_books
    assert not LiveMarket("bybit").stream_books and not LiveMarket("okx").stream_books
    assert not LiveMarket("binanceusdm", stream=False).stream_books
    assert not LiveMarket("hyperliquid", stream_books=False).stream_books
    assert LiveMarket("hyperliquid").book_stream_status == "off"
    assert LiveMarket("hyperliquid").book_max_age == 60.0
    with pytest.raises(ConfigError):
        LiveMarket("hyperliquid", stream=False, stream_books=True)
    for bad in (0, -1.0, True, "60"):
        with pytest.raises(ConfigError):
            LiveMarket("hyperliquid", book_max_age=bad)
