"""Candle streams in LiveMarket: the real ccxt.pro client against the fake exchange's websockets on
127.0.0.1 (tests/fakes/exchange_server.py), both streaming exchanges (Hyperliquid, Binance USD-M).

After the first snapshot (REST) the market subscribes to every coin's and timeframe's candles and
takes the closed ones from the stream: a snapshot then asks nothing for candles. When the socket
drops, stalls or says something it should not, snapshots poll (at most one candle request per coin
and timeframe) and stay exactly what a fresh full download gives at the same clock; the stream
reconnects with backoff and the requests stop again. The server clock is moved explicitly; the
tests wait for conditions (with a guard timeout), never for time, and assert no durations.

The order-book stream runs alongside, as it does by default (tests/test_order_book_ws.py tests it):
on Hyperliquid on the same socket, on Binance USD-M on a socket of its own, so each connection of a
Binance market is two websockets (``SOCKETS``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import textwrap
import warnings
from collections import Counter
from pathlib import Path

import pytest

from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import COINS, MarketSnapshot, timeframe_ms
from arena_tui.engine.market.live import LiveMarket
from arena_tui.engine.market.recorded import parse_time
from tests.fakes.exchange_server import FakeExchangeServer
from tests.fakes.live_fixtures import live_fixtures
from tests.test_live_incremental import (  # noqa: F401 - close_references: autouse, closes the references
    MIN,
    START,
    assert_same_snapshot,
    close_references,
    closed_between,
    clock_positions,
    full_download,
)
from tests.test_live_market import HANG_GUARD_S, TIMEFRAMES, make_market

EXCHANGE_IDS = ("hyperliquid", "binanceusdm")
SOCKETS = {"hyperliquid": 1, "binanceusdm": 2}
"""Websockets a streaming market opens: Hyperliquid candles and books share one; Binance USD-M reads
klines from ``/market/ws/N`` and order books from ``/public/ws/N``."""
GUARD_S = 30.0  # a condition that never comes fails the test instead of hanging it; not a speed bar
LOGGER = "arena_tui.engine.market.live"
ROOT = Path(__file__).resolve().parents[1]


def stream_market(server: FakeExchangeServer, exchange: str, **kwargs) -> LiveMarket:
    options = dict(stream=True, stream_grace=2.0, stream_backoff=0.02, stream_backoff_max=0.08)
    options.update(kwargs)
    return make_market(server, exchange, **options)


async def snapshot(market: LiveMarket) -> MarketSnapshot:
    return await asyncio.wait_for(market.snapshot(), HANG_GUARD_S)


async def wait_until(condition, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"waited {GUARD_S:g} s for {what}")
        await asyncio.sleep(0.005)


def streams_up(market: LiveMarket) -> bool:
    """The candle stream and the order-book stream both up."""
    return market.stream_status == "up" and market.book_stream_status == "up"


def candle_lines(records) -> list[str]:
    """The candle stream's log lines (the order-book stream logs its own)."""
    return [r.getMessage() for r in records if r.name == LOGGER and "candle stream" in r.getMessage()]


async def started(server: FakeExchangeServer, market: LiveMarket) -> MarketSnapshot:
    """The first snapshot (REST), then the streams up: every coin and timeframe subscribed."""
    snap = await snapshot(market)
    await wait_until(lambda: streams_up(market), "the streams to come up")
    assert server.ws_subscriptions() == Counter({(c, tf): 1 for c in COINS for tf in TIMEFRAMES})
    return snap


async def cycle(server: FakeExchangeServer, market: LiveMarket, exchange: str, step: int = 3 * MIN) -> tuple[MarketSnapshot, int]:
    """Move the clock, take a snapshot, check it against a fresh full download; returns it and the
    clock before the move. Requests are counted from the move on."""
    server.clear_requests()
    t0, server.now = server.now, server.now + step
    snap = await snapshot(market)
    assert_same_snapshot(snap, await full_download(server, exchange))
    return snap, t0


def polled_per_pair(server: FakeExchangeServer, t0: int) -> Counter:
    """The candle requests a polling snapshot makes after a move from ``t0``: one per coin and
    timeframe where a candle closed."""
    return Counter({(c, tf): 1 for c in COINS for tf in TIMEFRAMES if closed_between(tf, t0, server.now)})


server, exchange, market = live_fixtures(START, EXCHANGE_IDS, stream_market)


# ----- a healthy stream ----------------------------------------------------------------------------


async def test_a_healthy_stream_needs_no_candle_request_for_ten_cycles(server, exchange, market):
    first = await started(server, market)
    assert_same_snapshot(first, await full_download(server, exchange))
    closed = Counter()
    for _ in range(10):
        snap, t0 = await cycle(server, market, exchange)
        assert server.candle_requests == [], f"polled at {server.now}"
        other = server.counts()
        if exchange == "hyperliquid":
            assert other == Counter({"metaAndAssetCtxs": 2})  # funding and open interest only
        else:
            assert other == Counter({"premiumIndex": 6, "openInterest": 6})
        for tf in TIMEFRAMES:
            closed[tf] += closed_between(tf, t0, server.now)
    # 23:41 -> 00:11: six 5m candles, one 1h and one 4h candle closed, all taken from the stream
    assert closed == Counter({"5m": 6, "1h": 1, "4h": 1})
    assert market.stream_status == "up" and server.ws_connections == SOCKETS[exchange]


async def test_streamed_snapshots_equal_a_full_download_at_many_clock_positions(server, exchange):
    # odd steps, ticks on the boundaries, the clock going back, gaps longer than the stream pushes
    market = stream_market(server, exchange, stream_grace=0.3)
    try:
        await started(server, market)
        for t in clock_positions():
            server.now = t
            snap = await snapshot(market)
            assert_same_snapshot(snap, await full_download(server, exchange))
    finally:
        await market.close()


async def test_a_jump_longer_than_the_stream_pushed_is_polled(server, exchange, market):
    await started(server, market)
    server.clear_requests()
    server.now += 2 * 24 * 60 * MIN  # the server pushes the last 10 closed candles of each: 1h lacks 38
    snap = await snapshot(market)
    assert_same_snapshot(snap, await full_download(server, exchange))
    assert server.candle_counts() == Counter({(c, tf): 1 for c in COINS for tf in TIMEFRAMES})
    await cycle(server, market, exchange, 5 * MIN)
    assert server.candle_requests == []  # and the stream serves the next cycle again


# ----- faults ---------------------------------------------------------------------------------------


async def test_a_dropped_socket_is_polled_until_the_stream_reconnects(server, exchange, market, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    await started(server, market)
    server.drop_ws(refuse=-1)  # closed, and every handshake refused until allowed
    await wait_until(lambda: market.stream_status == "down", "the stream to notice the drop")
    for _ in range(3):
        _, t0 = await cycle(server, market, exchange)
        assert server.candle_counts() == polled_per_pair(server, t0)  # at most one per coin and timeframe
        assert market.stream_status == "down"
    # it keeps trying, with exponential backoff up to its maximum
    await wait_until(lambda: len(market._stream_delays) >= 5, "five reconnect attempts")
    assert market._stream_delays[:5] == [0.02, 0.04, 0.08, 0.08, 0.08]
    assert server.ws_refused >= 4
    server.allow_ws()
    await wait_until(lambda: streams_up(market), "the streams to reconnect")
    assert server.ws_connections == 2 * SOCKETS[exchange]
    for _ in range(4):
        await cycle(server, market, exchange)
        assert server.candle_requests == []
    lines = candle_lines(caplog.records)
    assert sum(" down (" in line for line in lines) == 1, lines  # one line per state change, not per attempt
    assert sum(" up (" in line for line in lines) == 2, lines


async def test_a_drop_with_an_immediate_reconnect_stays_exact(server, exchange, market):
    await started(server, market)
    for i in range(3):
        server.drop_ws()  # reconnects at once: snapshots race the reconnect, either way they are exact
        await cycle(server, market, exchange, 5 * MIN)
        assert all(n <= 1 for n in server.candle_counts().values())
        # a new connection accepted, and every coin and timeframe heard from on it
        await wait_until(lambda: server.ws_connections == (i + 2) * SOCKETS[exchange] and streams_up(market), "a reconnect")
    await cycle(server, market, exchange, 5 * MIN)
    assert server.candle_requests == []


async def test_a_stream_that_stops_sending_is_polled_until_it_delivers_again(server, exchange, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    market = stream_market(server, exchange, stream_grace=0.2)
    try:
        await started(server, market)
        server.pause_ws()
        _, t0 = await cycle(server, market, exchange)  # 23:41 -> 23:44: nothing closed, nothing missed
        assert server.candle_requests == [] and market.stream_status == "up"
        _, t0 = await cycle(server, market, exchange)  # 23:47: the 23:40 candle closed, never sent
        assert server.candle_counts() == polled_per_pair(server, t0)
        assert market.stream_status == "behind"
        _, t0 = await cycle(server, market, exchange, 5 * MIN)  # behind: polls without waiting
        assert server.candle_counts() == polled_per_pair(server, t0)
        server.resume_ws()
        server.clear_requests()
        server.now += 5 * MIN  # 23:57: the 23:50 candle closes and is sent: the stream has caught up
        await wait_until(lambda: market.stream_status == "up", "the stream to catch up")
        snap = await snapshot(market)
        assert_same_snapshot(snap, await full_download(server, exchange))
        assert server.candle_requests == []
        for _ in range(4):
            await cycle(server, market, exchange, 5 * MIN)
            assert server.candle_requests == []
        assert server.ws_connections == SOCKETS[exchange]
    finally:
        await market.close()
    lines = candle_lines(caplog.records)
    assert sum(" behind: " in line for line in lines) == 1 and sum(" caught up" in line for line in lines) == 1, lines


async def test_candles_received_when_the_grace_runs_out_are_not_late(server, exchange, caplog):
    # The grace is wall time, spent on an event loop the stream shares with other work (the order-book
    # stream parsing 1000-level books, here the server too). With a grace of 1 us it runs out before
    # the candles the move sends have been read and handled, yet they are already on their way: the
    # stream must not be called behind for that, whatever else kept the loop busy.
    caplog.set_level(logging.INFO, logger=LOGGER)
    market = stream_market(server, exchange, stream_grace=1e-6)
    try:
        await started(server, market)
        for _ in range(4):
            await cycle(server, market, exchange, 5 * MIN)
            assert server.candle_requests == [] and market.stream_status == "up"
    finally:
        await market.close()
    assert not [line for line in candle_lines(caplog.records) if " behind: " in line]


async def test_unclosed_future_and_malformed_messages_never_enter_the_history(server, exchange, market, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    await started(server, market)  # 23:41: the 23:40 candle is open
    bogus = lambda t: (t, 1e9, 1e9, 1e9, 1e9, 1e9)  # noqa: E731
    open_5m = parse_time("2025-10-27T23:40:00Z")

    def send(t, closed, coin="BTC", tf="5m"):  # on the candle sockets (Binance streams books on another)
        server.send_ws(server.ws_candle(exchange, coin, tf, bogus(t), closed), only="candles")

    send(open_5m, True)  # the open candle claimed closed (Binance x: true before its close)
    send(open_5m + 5 * MIN, True)  # a candle from the future: not even started
    send(open_5m + 5 * MIN, False, "ETH")
    send(open_5m - 5 * MIN, False)  # an unclosed update of a closed candle
    send(parse_time("2025-10-28T00:00:00Z"), True, "SOL", "1h")  # a 1h candle closing in 19 minutes
    send(open_5m + 1, True)  # not on a candle boundary
    send(open_5m, False)  # the open candle's values (it is not closed: it stays out of the snapshot)
    malformed = server.ws_candle(exchange, "BTC", "5m", (open_5m, 1.0, 2.0, 0.5, 1.5, 10.0), False)
    (malformed["k"] if exchange == "binanceusdm" else malformed["data"])["o"] = "cheap"
    for garbage in (
        malformed,
        "not json at all",
        '{"e": "kline", "k": ',  # cut off: not JSON either
        {"e": "kline"} if exchange == "binanceusdm" else {"channel": "candle", "data": "BTC"},
        ["a list"],
    ):
        server.send_ws(garbage, only="candles")
    snap = await snapshot(market)  # the same clock: nothing closed, nothing changes
    assert_same_snapshot(snap, await full_download(server, exchange))
    for _ in range(4):  # the real candles replace the bogus ones; none of these are requested
        await cycle(server, market, exchange)
        assert server.candle_requests == []
    assert market.stream_status == "up" and server.ws_connections == SOCKETS[exchange]  # nothing dropped the stream
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert sum("could not read" in line for line in lines) == 1, lines  # one line, not one per message
    assert "candle stream" in next(line for line in lines if "could not read" in line)


# ----- close ------------------------------------------------------------------------------------------


async def test_close_leaves_no_task_socket_or_session_behind(server, exchange):
    before = asyncio.all_tasks()
    market = stream_market(server, exchange)
    await started(server, market)
    await cycle(server, market, exchange, 5 * MIN)
    server.drop_ws()
    await wait_until(lambda: streams_up(market) and server.ws_connections == 2 * SOCKETS[exchange], "a reconnect")
    exchange_client = market._exchange
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await market.close()
        assert market.stream_status == "off" and market._stream_task is None
        assert market.book_stream_status == "off" and market._book_task is None
        assert exchange_client.session is None and not exchange_client.clients
        current = asyncio.current_task()
        await wait_until(lambda: server.ws_open == 0, "the server to see the socket closed")
        await wait_until(
            lambda: not [t for t in asyncio.all_tasks() - before if t is not current and not t.done()],
            "every task started since to end",
        )
        del exchange_client
        gc.collect()
    assert [str(w.message) for w in caught] == []
    await market.close()  # idempotent


def test_a_streaming_session_closes_without_a_warning_under_dev_mode():
    """The whole life of a streaming market (candles and order books: up, a drop, a reconnect, close)
    in a fresh interpreter with ``-X dev`` (ResourceWarnings, never-retrieved exceptions, pending tasks
    at exit all print)."""
    code = textwrap.dedent(
        """
        import asyncio, sys
        sys.path.insert(0, "tests")
        from tests.fakes.exchange_server import FakeExchangeServer
        from tests.test_live_incremental import START
        from arena_tui.engine.market.live import LiveMarket

        async def until(cond):
            for _ in range(6000):
                if cond():
                    return
                await asyncio.sleep(0.005)
            raise SystemExit("condition never came")

        async def main(exchange):
            asyncio.get_running_loop().slow_callback_duration = 60
            async with FakeExchangeServer(START) as server:
                market = LiveMarket(exchange, timeframes=("5m", "4h"), base_url=server.base_url,
                                    clock=lambda: server.now, rate_limit=False, stream_backoff=0.02)
                sockets = 1 if exchange == "hyperliquid" else 2
                up = lambda: market.stream_status == "up" and market.book_stream_status == "up"
                await market.snapshot()
                await until(up)
                server.now += 300_000
                await market.snapshot()
                server.drop_ws()
                await until(lambda: server.ws_connections == 2 * sockets and up())
                server.now += 300_000
                await market.snapshot()
                await market.close()
            print(exchange, "ok")

        for exchange in ("hyperliquid", "binanceusdm"):
            asyncio.run(main(exchange))
        """
    )
    run = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split() == ["hyperliquid", "ok", "binanceusdm", "ok"]
    noise = [line for line in run.stderr.splitlines() if "candle stream" not in line and "order book stream" not in line]
    assert noise == [], run.stderr


# ----- configuration -------------------------------------------------------------------------------


def test_streams_are_on_for_the_exchanges_that_have_one_and_off_elsewhere():
    assert LiveMarket("hyperliquid").stream and LiveMarket("binanceusdm").stream
    assert not LiveMarket("bybit").stream and not LiveMarket("okx").stream
    assert not LiveMarket("binanceusdm", stream=False).stream
    assert LiveMarket("hyperliquid").stream_status == "off"
    with pytest.raises(ConfigError) as info:
        LiveMarket("bybit", stream=True)
    assert "bybit has no candle stream" in str(info.value) and "hyperliquid, binanceusdm" in str(info.value)
    for bad in ({"stream_backoff": 0}, {"stream_grace": -1}, {"stream_backoff": 2.0, "stream_backoff_max": 1.0}):
        with pytest.raises(ConfigError):
            LiveMarket("hyperliquid", **bad)


def test_websocket_urls_follow_the_base_url():
    from arena_tui.engine.market.live import EXCHANGES

    assert EXCHANGES["hyperliquid"].ws_urls("http://127.0.0.1:8080") == {"public": "ws://127.0.0.1:8080/ws"}
    assert EXCHANGES["binanceusdm"].ws_urls("https://proxy.example/") == {"linear": "wss://proxy.example/ws"}
    assert timeframe_ms("5m") == 5 * MIN
