"""Incremental candles in LiveMarket: the real ccxt.async_support client against the fake exchange on
127.0.0.1 (tests/fakes/exchange_server.py), both wire formats (Hyperliquid, Binance USD-M).

After the first snapshot a market asks only for the candles closed since the last one, and nothing
for a timeframe where no candle closed; a gap re-downloads the window. The reference for every
snapshot is a fresh ``LiveMarket``'s full download against the same server at the same clock: the
incremental snapshot must hold exactly the same arrays. The server clock is moved explicitly: no
sleeps, no timing assertions.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest

from arena_tui.config import Config, MarketConfig
from arena_tui.engine.errors import ConfigError, MarketError
from arena_tui.engine.factory import build_market
from arena_tui.engine.market.base import COINS, MarketSnapshot, timeframe_ms
from arena_tui.engine.market.live import LiveMarket
from arena_tui.engine.market.recorded import parse_time
from tests.fakes.exchange_server import FakeExchangeServer, Fault
from tests.fakes.live_fixtures import live_fixtures
from tests.test_live_market import HANG_GUARD_S, LOOKBACK, TIMEFRAMES, make_market

EXCHANGE_IDS = ("hyperliquid", "binanceusdm")
CANDLE_KIND = {"hyperliquid": "candleSnapshot", "binanceusdm": "klines"}
MIN = 60_000

# Inside the bundled recording (5m from 2025-10-01, 1h and 4h from 2025-08-01, all to 2025-11-07),
# with a full lookback window behind every position used below.
START = parse_time("2025-10-27T23:41:00Z")


async def snapshot(market: LiveMarket) -> MarketSnapshot:
    return await asyncio.wait_for(market.snapshot(), HANG_GUARD_S)


_closing: set[asyncio.Task] = set()


async def full_download(server: FakeExchangeServer, exchange: str) -> MarketSnapshot:
    """What a fresh market (nothing held) downloads at the server's clock; its requests are not counted.

    The fresh market is closed in the background (ccxt's ``close`` waits 250 ms on purpose); the
    ``close_references`` fixture waits for every close before the test ends."""
    before = (list(server.requests), list(server.candle_requests))
    fresh = make_market(server, exchange)
    try:
        return await snapshot(fresh)
    finally:
        _closing.add(asyncio.ensure_future(fresh.close()))
        server.requests[:], server.candle_requests[:] = before


@pytest.fixture(autouse=True)
async def close_references():
    yield
    await asyncio.gather(*_closing)
    _closing.clear()


def assert_same_snapshot(got: MarketSnapshot, want: MarketSnapshot) -> None:
    """The same clock, and for every coin the same candle arrays (values, dtypes, contiguity), funding
    and open interest."""
    assert got.time == want.time
    assert tuple(got.coins) == tuple(want.coins)
    assert got.timeframes == want.timeframes
    for coin in want.coins:
        g, w = got.coins[coin], want.coins[coin]
        for tf in want.timeframes:
            gc, wc = g.candles[tf], w.candles[tf]
            for name in ("ts", "open", "high", "low", "close", "volume"):
                a, b = getattr(gc, name), getattr(wc, name)
                assert a.dtype == b.dtype and a.flags["C_CONTIGUOUS"], f"{coin} {tf} {name}"
                np.testing.assert_array_equal(a, b, err_msg=f"{coin} {tf} {name} at {got.time}")
            assert int(gc.close_ts[-1]) <= got.time  # no look-ahead
        np.testing.assert_array_equal(g.funding.ts, w.funding.ts)
        np.testing.assert_array_equal(g.funding.rate, w.funding.rate)
        assert g.open_interest == w.open_interest


def closed_between(tf: str, t0: int, t1: int) -> int:
    """How many ``tf`` candles close in (t0, t1] (ms)."""
    step = timeframe_ms(tf)
    return t1 // step - t0 // step


def window_start(tf: str, t: int) -> int:
    """Open time (ms) of the oldest candle of the full lookback window at clock ``t``."""
    step = timeframe_ms(tf)
    return (t // step - 1 - (LOOKBACK[tf] - 1)) * step


server, exchange, market = live_fixtures(START, EXCHANGE_IDS, make_market)


# ----- request counts ------------------------------------------------------------------------------


async def test_first_snapshot_downloads_every_window_once(server, exchange, market):
    snap = await snapshot(market)
    assert_same_snapshot(snap, await full_download(server, exchange))
    assert server.candle_counts() == Counter({(c, tf): 1 for c in COINS for tf in TIMEFRAMES})
    for r in server.candle_requests:
        assert r.start == window_start(r.interval, START) and r.end == START
    counts = server.counts()
    if exchange == "hyperliquid":
        # load_markets: spotMeta + metaAndAssetCtxs; then funding and open interest: one metaAndAssetCtxs each
        assert counts == Counter({"candleSnapshot": 18, "metaAndAssetCtxs": 3, "spotMeta": 1})
    else:
        assert counts == Counter({"klines": 18, "exchangeInfo": 1, "premiumIndex": 6, "openInterest": 6})
        assert {r.limit for r in server.candle_requests} == {LOOKBACK[tf] + 1 for tf in TIMEFRAMES}


async def test_ten_cycles_of_3_minutes_ask_only_for_candles_that_closed(server, exchange, market):
    await snapshot(market)
    kind = CANDLE_KIND[exchange]
    per_tf_total = Counter()
    for _ in range(10):
        server.clear_requests()
        t0, server.now = server.now, server.now + 3 * MIN
        snap = await snapshot(market)
        per_pair = server.candle_counts()
        for tf in TIMEFRAMES:
            expected = 1 if closed_between(tf, t0, server.now) else 0
            for coin in COINS:
                assert per_pair[(coin, tf)] == expected, (tf, coin, t0, server.now)
            per_tf_total[tf] += expected
        for r in server.candle_requests:  # since = open time of the first candle not yet held
            step = timeframe_ms(r.interval)
            assert r.start == (t0 // step) * step and r.end == server.now
            if exchange == "binanceusdm":
                assert r.limit == 2  # one closed candle, plus room for the one still open
        counts = server.counts()
        assert counts[kind] == sum(per_pair.values())
        if exchange == "hyperliquid":
            assert counts - Counter({kind: counts[kind]}) == Counter({"metaAndAssetCtxs": 2})
        else:
            assert counts - Counter({kind: counts[kind]}) == Counter({"premiumIndex": 6, "openInterest": 6})
        assert_same_snapshot(snap, await full_download(server, exchange))
    # 23:41 -> 00:11: six 5m boundaries crossed, one 1h (00:00) and one 4h (00:00); 3m cycles never
    # cross two 5m boundaries at once
    assert per_tf_total == Counter({"5m": 6, "1h": 1, "4h": 1})


async def test_no_request_for_a_timeframe_where_nothing_closed(server, exchange, market):
    server.now = parse_time("2025-10-28T01:02:00Z")
    await snapshot(market)
    server.clear_requests()
    server.now = parse_time("2025-10-28T01:04:59.999Z")  # nothing closed: no candle request at all
    snap = await snapshot(market)
    assert server.candle_requests == []
    assert_same_snapshot(snap, await full_download(server, exchange))
    server.now = parse_time("2025-10-28T01:05:00Z")  # exactly the 5m boundary: the 01:00 5m candle closed
    snap = await snapshot(market)
    assert server.candle_counts() == Counter({(c, "5m"): 1 for c in COINS})
    assert all(r.start == parse_time("2025-10-28T01:00:00Z") for r in server.candle_requests)
    assert_same_snapshot(snap, await full_download(server, exchange))


async def test_a_gap_longer_than_the_lookback_downloads_the_window_again_once(server, exchange, market):
    server.now = parse_time("2025-10-05T00:00:00Z")  # leaves room for 20 days of recording ahead
    await snapshot(market)
    # 2 days: more 5m candles closed (576) than the 5m window holds (500); 1h and 4h still join
    server.clear_requests()
    t0, server.now = server.now, server.now + 2 * 24 * 60 * MIN
    snap = await snapshot(market)
    assert server.candle_counts() == Counter({(c, tf): 1 for c in COINS for tf in TIMEFRAMES})
    for r in server.candle_requests:
        if r.interval == "5m":
            assert r.start == window_start("5m", server.now)  # the whole window
        else:
            step = timeframe_ms(r.interval)
            assert r.start == (t0 // step) * step  # just what closed since
    assert_same_snapshot(snap, await full_download(server, exchange))
    # 18 days: more than every window (4h: 100 candles = 400 h); one full download per coin and timeframe
    server.clear_requests()
    server.now += 18 * 24 * 60 * MIN
    snap = await snapshot(market)
    assert server.candle_counts() == Counter({(c, tf): 1 for c in COINS for tf in TIMEFRAMES})
    assert all(r.start == window_start(r.interval, server.now) for r in server.candle_requests)
    assert_same_snapshot(snap, await full_download(server, exchange))


# ----- equality with a full download ---------------------------------------------------------------


def clock_positions() -> list[int]:
    """Clock positions (ms) in the order visited: 3-minute cycles, ticks of 1 ms on and around the 5m,
    1h and 4h boundaries, odd steps, a step back in time, gaps, and a seeded random walk."""
    fixed = [
        "2025-10-27T23:44:00Z",
        "2025-10-27T23:47:00Z",
        "2025-10-27T23:54:59.999Z",
        "2025-10-27T23:55:00Z",
        "2025-10-27T23:55:00.001Z",
        "2025-10-27T23:59:59.999Z",
        "2025-10-28T00:00:00Z",  # a 5m, 1h and 4h candle close at once
        "2025-10-28T00:03:00Z",
        "2025-10-28T00:10:13Z",
        "2025-10-28T01:09:00Z",
        "2025-10-28T03:59:59.999Z",
        "2025-10-28T04:00:00.001Z",
        "2025-10-28T03:50:00Z",  # the clock went back
        "2025-10-28T04:07:00Z",
        "2025-10-28T19:31:00Z",  # 15 h: 5m joins (186 < 500 candles)
        "2025-10-30T21:00:00Z",  # 2 days: 5m gap, 1h and 4h join
        "2025-10-30T21:03:00Z",
    ]
    out = [parse_time(s) for s in fixed]
    rng = np.random.default_rng(16)
    t = out[-1]
    for _ in range(12):
        t += int(rng.choice([1, 60_000, 180_000, 300_000, 3_599_999, 3_600_000, 14_400_000, 21_000_000]))
        out.append(t)
    return out


async def test_incremental_snapshots_equal_a_full_download_at_many_clock_positions(server, exchange, market):
    first = await snapshot(market)
    assert_same_snapshot(first, await full_download(server, exchange))
    for t in clock_positions():
        server.now = t
        snap = await snapshot(market)
        assert_same_snapshot(snap, await full_download(server, exchange))
        # a caller scribbling on its snapshot must not change what the market holds
        for cs in snap.coins.values():
            for c in cs.candles.values():
                c.close[:] = np.nan
                c.ts[:] = 0


# ----- failures ------------------------------------------------------------------------------------


async def test_a_failed_incremental_fetch_keeps_the_history_and_the_next_snapshot_retries(server, exchange, market):
    await snapshot(market)
    kind = CANDLE_KIND[exchange]
    server.now += 5 * MIN
    server.add_fault(Fault(status=503, times=-1, match=kind))
    with pytest.raises(MarketError) as info:
        await snapshot(market)
    text = str(info.value)
    assert "\n" not in text and text.endswith(".") and "did not answer after 3 tries (HTTP 503)" in text
    server.faults.clear()
    server.clear_requests()
    snap = await snapshot(market)
    assert_same_snapshot(snap, await full_download(server, exchange))
    # still incremental: the same 5m candle asked for again, no full download
    assert server.candle_counts() == Counter({(c, "5m"): 1 for c in COINS})
    assert all(r.start == parse_time("2025-10-27T23:40:00Z") for r in server.candle_requests)


async def test_one_pair_failing_does_not_corrupt_the_others(server, exchange):
    market = make_market(server, exchange, tries=1)
    try:
        await snapshot(market)
        server.now += 60 * MIN  # 12 5m candles and one 1h candle closed
        server.add_fault(Fault(status=500, times=1, match=CANDLE_KIND[exchange]))
        with pytest.raises(MarketError):
            await snapshot(market)  # one request failed, the other eleven updated their history
        server.now += 3 * MIN
        snap = await snapshot(market)
        assert_same_snapshot(snap, await full_download(server, exchange))
    finally:
        await market.close()


async def test_a_malformed_incremental_reply_raises_and_leaves_the_history_intact(server, exchange, market):
    await snapshot(market)
    server.now += 5 * MIN
    server.add_fault(Fault(body="<html>maintenance</html>", content_type="text/html", times=-1, match=CANDLE_KIND[exchange]))
    with pytest.raises(MarketError) as info:
        await snapshot(market)
    assert exchange in str(info.value) and "\n" not in str(info.value)
    server.faults.clear()
    snap = await snapshot(market)
    assert_same_snapshot(snap, await full_download(server, exchange))


async def test_a_reply_that_does_not_join_triggers_one_full_download(server, exchange, market):
    await snapshot(market)
    server.clear_requests()
    server.now += 5 * MIN
    # one incremental reply comes back empty: that coin's 5m window is downloaded again at once
    server.add_fault(Fault(body="[]", times=1, match=CANDLE_KIND[exchange]))
    snap = await snapshot(market)
    assert_same_snapshot(snap, await full_download(server, exchange))
    per_pair = server.candle_counts()
    assert sum(per_pair.values()) == len(COINS) + 1
    assert sorted(per_pair.values()) == [1] * (len(COINS) - 1) + [2]
    assert sum(r.start == window_start("5m", server.now) for r in server.candle_requests) == 1


# ----- cycle interval ------------------------------------------------------------------------------


def test_interval_ms_is_the_configured_cycle_interval():
    assert LiveMarket("hyperliquid").interval_ms == 180_000
    assert LiveMarket("binanceusdm", interval="5m").interval_ms == 300_000
    with pytest.raises(ConfigError) as info:
        LiveMarket("hyperliquid", interval="7m")
    assert "unknown timeframe '7m'" in str(info.value)


@pytest.mark.parametrize(("cycle_interval", "ms"), [("", 180_000), ("1m", 60_000), ("15m", 900_000)])
def test_build_market_passes_the_config_interval(cycle_interval, ms):
    market = build_market(Config(market=MarketConfig(source="live", cycle_interval=cycle_interval)))
    assert isinstance(market, LiveMarket)
    assert market.interval_ms == ms
