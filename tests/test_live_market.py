"""LiveMarket against a real HTTP server on 127.0.0.1 speaking Hyperliquid's and Binance USD-M's wire
formats (tests/fakes/exchange_server.py), through the real ccxt.async_support client.

The server serves the bundled real candles as known at a chosen "server now"; the RecordedMarket over
the same data at the same clock is the reference: a correct live snapshot holds exactly its candles.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from arena_tui.engine.data import Dataset, bundled_dataset
from arena_tui.engine.errors import ConfigError, MarketError
from arena_tui.engine.market.base import COINS, MarketSource
from arena_tui.engine.market.live import EXCHANGES, LiveMarket
from arena_tui.engine.market.recorded import RecordedMarket, parse_time
from tests.fakes.exchange_server import OPEN_INTEREST, FakeExchangeServer, Fault
from tests.fakes.live_fixtures import server_fixture
from fresh_imports import modules_after

# The moment an Alpha Arena prompt recorded Hyperliquid's open interest: mid-candle for every timeframe.
NOW = parse_time("2025-10-28T06:14:18Z")
TIMEFRAMES = ("5m", "1h", "4h")
LOOKBACK = {"5m": 500, "1h": 200, "4h": 100}
HANG_GUARD_S = 60  # a hang fails the test instead of blocking the suite; not a speed assertion


def make_market(server: FakeExchangeServer, exchange: str = "hyperliquid", **kwargs) -> LiveMarket:
    options = dict(
        timeframes=TIMEFRAMES,
        lookback=LOOKBACK,
        base_url=server.base_url,
        clock=lambda: server.now,
        rate_limit=False,
        request_timeout=5.0,
        tries=3,
        backoff=0.01,
        stream=False,  # these tests pin the REST polling path; tests/test_live_ws.py tests the stream
    )
    options.update(kwargs)
    return LiveMarket(exchange, **options)


async def snapshot(market: LiveMarket):
    return await asyncio.wait_for(market.snapshot(), HANG_GUARD_S)


def assert_matches_recording(snap, now: int) -> None:
    """Every candle equals the bundled recording's as known at ``now``; none closes after ``now``."""
    ref = RecordedMarket(timeframes=TIMEFRAMES, start=now, lookback=LOOKBACK).snapshot_at(now)
    assert snap.time == now
    assert set(snap.coins) == set(COINS)
    assert snap.prices() == ref.prices()
    for coin in COINS:
        for tf in TIMEFRAMES:
            got, want = snap.coins[coin].candles[tf], ref.coins[coin].candles[tf]
            assert len(got) == LOOKBACK[tf]
            assert got.ts.dtype == np.int64 and got.close.dtype == np.float64
            assert got.close.flags["C_CONTIGUOUS"] and got.volume.flags["C_CONTIGUOUS"]
            assert int(got.close_ts[-1]) <= now
            assert np.all(np.diff(got.ts) == got.close_ts[0] - got.ts[0])
            for name in ("ts", "open", "high", "low", "close", "volume"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=f"{coin} {tf} {name}")


server = server_fixture(NOW)


@pytest.fixture
async def hl(server):
    market = make_market(server)
    yield market
    await market.close()


def assert_one_sentence(err: BaseException, *parts: str) -> None:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    assert text.endswith(".")
    for part in parts:
        assert part in text, text
    # no ccxt exception chained in: a printed traceback would show none
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


# ----- normal path ---------------------------------------------------------------------------------


async def test_hyperliquid_snapshot_equals_the_recording_at_server_now(server, hl):
    snap = await snapshot(hl)
    assert_matches_recording(snap, NOW)
    assert snap.source == "live:hyperliquid"
    for coin in COINS:
        cs = snap.coins[coin]
        assert cs.open_interest == OPEN_INTEREST[coin]
        assert cs.funding_rate == pytest.approx(server.hourly_funding(coin), abs=1e-15)
        assert cs.funding.interval_ms == 3_600_000
        assert len(cs.funding) == 1 and int(cs.funding.ts[0]) == parse_time("2025-10-28T06:00:00Z")


async def test_snapshot_on_a_candle_boundary_keeps_the_candle_that_just_closed(server, hl):
    server.now = parse_time("2025-10-28T08:00:00Z")  # a 5m, 1h and 4h candle all close right now
    snap = await snapshot(hl)
    assert_matches_recording(snap, server.now)
    assert int(snap.coins["BTC"].candles["4h"].close_ts[-1]) == server.now
    assert int(snap.coins["BTC"].funding.ts[0]) == server.now  # the hourly funding time is now too


async def test_markets_load_once_and_the_next_snapshot_follows_the_clock(server, hl):
    first = await snapshot(hl)
    server.now = NOW + 5 * 60_000
    second = await snapshot(hl)
    assert_matches_recording(second, server.now)
    assert second.coins["BTC"].candles["5m"].ts[-1] == first.coins["BTC"].candles["5m"].ts[-1] + 300_000
    assert server.count("spotMeta") == 1  # only load_markets asks for it
    assert server.count("perpDexs") == server.count("spotMetaAndAssetCtxs") == 0  # perps only
    # same funding hour: the entry keeps its funding time, so a ledger settling (t0, t1] pays it once
    np.testing.assert_array_equal(second.coins["BTC"].funding.ts, first.coins["BTC"].funding.ts)
    # incremental: 06:14:18 -> 06:19:18 closes one 5m candle and no 1h or 4h candle
    assert server.count("candleSnapshot") == len(COINS) * len(TIMEFRAMES) + len(COINS)


async def test_live_market_is_a_market_source_and_advance_is_a_no_op(server, hl):
    assert isinstance(hl, MarketSource)
    assert hl.now == NOW
    await hl.advance()
    assert hl.now == NOW and server.requests == []


async def test_binanceusdm_snapshot_equals_the_recording(server):
    market = make_market(server, "binanceusdm")
    try:
        snap = await snapshot(market)
        server.now = NOW + 60_000
        await snapshot(market)
    finally:
        await market.close()
    assert_matches_recording(snap, NOW)
    assert snap.source == "live:binanceusdm"
    assert server.count("exchangeInfo") == 1
    ds = bundled_dataset()
    for coin in COINS:
        cs = snap.coins[coin]
        f = ds.funding[coin]
        recorded = float(f.rate[np.searchsorted(f.ts, NOW, side="right") - 1])
        assert cs.funding_rate == recorded
        assert cs.funding.interval_ms == 8 * 3_600_000
        assert int(cs.funding.ts[0]) == parse_time("2025-10-28T00:00:00Z")  # Binance funds at 00/08/16 UTC
        assert cs.open_interest == OPEN_INTEREST[coin]


async def test_a_subset_of_coins_fetches_only_those(server):
    market = make_market(server, coins=["eth", "SOL"], timeframes=["5m"], lookback={"5m": 50})
    try:
        snap = await snapshot(market)
    finally:
        await market.close()
    assert tuple(snap.coins) == ("ETH", "SOL")
    assert len(snap.coins["ETH"].candles["5m"]) == 50
    assert server.count("candleSnapshot") == 2


# ----- failures ------------------------------------------------------------------------------------


async def test_http_500_then_success_is_retried(server, hl):
    server.add_fault(Fault(status=500, times=2, match="candleSnapshot"))
    snap = await snapshot(hl)
    assert_matches_recording(snap, NOW)
    assert server.count("candleSnapshot") == len(COINS) * len(TIMEFRAMES) + 2


async def test_failed_market_list_is_retried_on_the_next_snapshot(server, hl):
    server.add_fault(Fault(status=503, times=3, match="metaAndAssetCtxs"))
    with pytest.raises(MarketError) as info:
        await snapshot(hl)
    assert_one_sentence(info.value, "hyperliquid did not answer after 3 tries (HTTP 503)", "market list")
    snap = await snapshot(hl)
    assert_matches_recording(snap, NOW)


async def test_exchange_down_raises_one_sentence(server, hl):
    server.add_fault(Fault(status=500, times=-1))
    with pytest.raises(MarketError) as info:
        await snapshot(hl)
    assert_one_sentence(
        info.value, "hyperliquid did not answer after 3 tries (HTTP 500)", "switch to the bundled market"
    )


async def test_a_reply_slower_than_the_timeout_ends_in_market_error(server):
    server.add_fault(Fault(delay=3.0, times=-1, match="candleSnapshot"))
    market = make_market(server, request_timeout=0.3, tries=2, coins=["BTC"], timeframes=["5m"])
    try:
        with pytest.raises(MarketError) as info:
            await snapshot(market)
    finally:
        await market.close()
    assert_one_sentence(info.value, "did not answer after 2 tries (no reply within 0.3 s)", "BTC 5m candles")


async def test_nothing_listening_raises_market_error():
    probe = FakeExchangeServer(NOW)
    url = await probe.start()
    await probe.stop()  # the port is now closed: connections are refused
    market = LiveMarket(base_url=url, rate_limit=False, tries=2, backoff=0.01, clock=lambda: NOW)
    try:
        with pytest.raises(MarketError) as info:
            await snapshot(market)
    finally:
        await market.close()
    assert_one_sentence(info.value, "hyperliquid did not answer after 2 tries", "check your network")


@pytest.mark.parametrize(
    ("match", "body", "content_type"),
    [
        ("candleSnapshot", "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        ("candleSnapshot", '{"candles": "not here"}', "application/json"),
        ("candleSnapshot", '[{"t": "yesterday", "o": "cheap"}]', "application/json"),
        ("candleSnapshot", '[{"t": 1761600000000, "o": "1", "h": "2"}]', "application/json"),
        ("metaAndAssetCtxs", "<html>maintenance</html>", "text/html"),
        ("metaAndAssetCtxs", '{"universe": 5}', "application/json"),
    ],
)
async def test_malformed_hyperliquid_reply_raises_market_error(server, hl, match, body, content_type):
    server.add_fault(Fault(body=body, content_type=content_type, times=-1, match=match))
    with pytest.raises(MarketError) as info:
        await snapshot(hl)
    assert_one_sentence(info.value, "hyperliquid")


async def test_malformed_funding_reply_raises_market_error(server, hl):
    await snapshot(hl)  # markets loaded; now the metaAndAssetCtxs reply goes bad
    server.add_fault(Fault(body='[{"universe": []}, []]', times=-1, match="metaAndAssetCtxs"))
    with pytest.raises(MarketError) as info:
        await snapshot(hl)
    assert_one_sentence(info.value, "malformed reply", "funding rate")


@pytest.mark.parametrize(
    ("match", "body"),
    [("klines", "<html>blocked</html>"), ("premiumIndex", "[]"), ("openInterest", '{"symbol": "BTCUSDT"}')],
)
async def test_malformed_binance_reply_raises_market_error(server, match, body):
    server.add_fault(Fault(body=body, content_type="text/html" if body.startswith("<") else "application/json", times=-1, match=match))
    market = make_market(server, "binanceusdm")
    try:
        with pytest.raises(MarketError) as info:
            await snapshot(market)
    finally:
        await market.close()
    assert_one_sentence(info.value, "binanceusdm")


# ----- configuration -------------------------------------------------------------------------------


def test_an_exchange_id_that_is_not_one_names_some_that_work():
    # any ccxt exchange id is accepted at construction (whether ccxt knows it, and whether it has perps,
    # is checked at the first snapshot: tests/test_live_exchanges.py); text that is no id is refused
    with pytest.raises(ConfigError) as info:
        LiveMarket("kraken futures!")
    assert str(info.value) == (
        "market.exchange 'kraken futures!' is not an exchange id: use a ccxt exchange id in lower case, "
        "such as bybit, okx, binanceusdm or hyperliquid."
    )
    assert set(EXCHANGES) == {"hyperliquid", "binanceusdm"}  # the tuned specs


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"coins": ["BTC", "PE-PE"]}, "unknown coin 'PE-PE'"),  # any ticker the exchange lists is fine
        ({"timeframes": ["7m"]}, "unknown timeframe '7m'"),
        ({"lookback": {"5m": 5000}}, "lookback for 5m"),
        ({"lookback": {"5m": 0}}, "lookback for 5m"),
        ({"tries": 0}, "tries"),
    ],
)
def test_bad_configuration_raises_config_error(kwargs, fragment):
    with pytest.raises(ConfigError) as info:
        LiveMarket("hyperliquid", **kwargs)
    assert fragment in str(info.value)


def test_symbols_follow_ccxt_unified_names():
    assert EXCHANGES["hyperliquid"].symbol("BTC") == "BTC/USDC:USDC"
    assert EXCHANGES["binanceusdm"].symbol("DOGE") == "DOGE/USDT:USDT"


async def test_close_is_idempotent_and_fine_before_any_request(server):
    market = make_market(server)
    await market.close()
    await snapshot(market)
    exchange = market._exchange
    await market.close()
    await market.close()
    assert exchange.session is None or exchange.session.closed


def test_importing_and_constructing_does_not_import_ccxt():
    code = "from arena_tui.engine.market.live import LiveMarket\nLiveMarket('binanceusdm', coins=['BTC'])"
    assert sorted(n for n in modules_after(code) if n.split(".")[0] == "ccxt") == []


async def test_a_coin_the_exchange_does_not_list_raises_market_error():
    ds = bundled_dataset()
    btc_only = Dataset(ds.name, {"BTC": ds.candles["BTC"]}, {"BTC": ds.funding["BTC"]})
    async with FakeExchangeServer(NOW, dataset=btc_only) as srv:
        market = make_market(srv, coins=["BTC", "ETH"])
        try:
            with pytest.raises(MarketError) as info:
                await snapshot(market)
        finally:
            await market.close()
    assert_one_sentence(info.value, "hyperliquid lists no market ETH/USDC:USDC")
