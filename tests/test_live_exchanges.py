"""LiveMarket on exchanges without a tuned spec (Bybit v5 and OKX v5), and coins beyond the bundled six.

The real ccxt.async_support client talks to the fake exchange on 127.0.0.1 (tests/fakes/exchange_server.py),
which speaks each exchange's own wire format and serves the bundled recording as known at its ``now``.
The recording is the reference: a correct snapshot holds exactly its candles. The server's clock is
moved explicitly; no sleeps, no timing assertions.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import numpy as np
import pytest

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentReply
from arena_tui.engine.data import bundled_dataset
from arena_tui.engine.errors import ConfigError, MarketError
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.market.base import COINS, timeframe_ms
from arena_tui.engine.market.live import EXCHANGES, LiveMarket
from arena_tui.engine.market.recorded import RecordedMarket, parse_time
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.verify import reexecute
from fresh_imports import modules_after
from tests.fakes.exchange_server import (
    OPEN_INTEREST,
    SYNTHETIC_OPEN_INTEREST,
    FakeExchangeServer,
    Fault,
    dataset_with_link,
    scaled_coin,
)
from tests.fakes.live_fixtures import live_fixtures
from tests.test_live_market import (
    HANG_GUARD_S,
    LOOKBACK,
    NOW,
    TIMEFRAMES,
    assert_matches_recording,
    assert_one_sentence,
    make_market,
)

EXCHANGE_IDS = ("bybit", "okx")
CANDLE_KINDS = {"bybit": ("bybit:kline",), "okx": ("okx:candles", "okx:history-candles")}
MIN = 60_000


async def snapshot(market: LiveMarket):
    return await asyncio.wait_for(market.snapshot(), HANG_GUARD_S)


def candle_requests(server: FakeExchangeServer, exchange: str) -> int:
    counts = server.counts()
    return sum(counts[k] for k in CANDLE_KINDS[exchange])


def other_requests(server: FakeExchangeServer, exchange: str) -> Counter:
    counts = server.counts()
    return Counter({k: n for k, n in counts.items() if k not in CANDLE_KINDS[exchange]})


server, exchange, market = live_fixtures(NOW, EXCHANGE_IDS, make_market)


# ----- normal path ---------------------------------------------------------------------------------


async def test_snapshot_equals_the_recording_at_server_now(server, exchange, market):
    snap = await snapshot(market)
    assert_matches_recording(snap, NOW)
    assert snap.source == f"live:{exchange}"
    ds = bundled_dataset()
    for coin in COINS:
        cs = snap.coins[coin]
        f = ds.funding[coin]
        assert cs.funding_rate == float(f.rate[np.searchsorted(f.ts, NOW, side="right") - 1])
        # Bybit: fundingInterval 480 min in the instrument info; OKX: the gap between its funding times
        assert cs.funding.interval_ms == 8 * 3_600_000
        assert int(cs.funding.ts[0]) == parse_time("2025-10-28T00:00:00Z")
        # OKX counts open interest in contracts (0.01 BTC, 100 XRP...): converted to the base coin
        assert cs.open_interest == OPEN_INTEREST[coin]
    spec = market.spec
    assert spec.derived and spec.id == exchange and spec.settle == "USDT" and spec.api_paths is None
    assert spec.bulk_funding  # one tickers / funding-rate?instId=ANY request for every coin


async def test_first_snapshot_requests(server, exchange, market):
    """What ccxt asks each exchange for on the first snapshot: perps-only market lists, every window
    once (OKX in pages of at most 300), bulk funding, and open interest in bulk where ccxt can."""
    await snapshot(market)
    n = len(COINS)
    if exchange == "bybit":
        assert server.counts() == Counter(
            {"bybit:kline": n * len(TIMEFRAMES), "bybit:instruments-info": 2, "bybit:tickers": 1, "bybit:open-interest": n}
        )
        assert {r.limit for r in server.candle_requests} == {LOOKBACK[tf] + 1 for tf in TIMEFRAMES}
    else:
        # 5m: 501 candles asked (500 closed and room for the open one) = pages of 300 and 201
        assert candle_requests(server, exchange) == n * (len(TIMEFRAMES) + 1)
        assert other_requests(server, exchange) == Counter({"okx:instruments": 1, "okx:funding-rate": 1, "okx:open-interest": 1})
        five = sorted((r.start, r.end, r.limit) for r in server.candle_requests if r.coin == "BTC" and r.interval == "5m")
        start = (NOW // 300_000 - 500) * 300_000
        assert five == [(start, start + 300 * 300_000 - 1, 300), (start + 300 * 300_000, NOW, 201)]
        assert all(r.limit <= 300 for r in server.candle_requests)
    assert server.candle_counts().keys() == {(c, tf) for c in COINS for tf in TIMEFRAMES}


async def test_incremental_cycles_ask_at_most_one_candle_request_per_coin_and_timeframe(server, exchange, market):
    server.now = parse_time("2025-10-27T23:41:00Z")  # ten 3-minute cycles cross 00:00 (5m, 1h and 4h)
    await snapshot(market)
    per_tf_total: Counter = Counter()
    for _ in range(10):
        server.clear_requests()
        t0, server.now = server.now, server.now + 3 * MIN
        snap = await snapshot(market)
        per_pair = server.candle_counts()
        for tf in TIMEFRAMES:
            closed = server.now // timeframe_ms(tf) - t0 // timeframe_ms(tf)
            for coin in COINS:
                assert per_pair[(coin, tf)] == (1 if closed else 0), (exchange, coin, tf, t0)
            per_tf_total[tf] += 1 if closed else 0
        for r in server.candle_requests:  # since = open time of the first candle not yet held
            step = timeframe_ms(r.interval)
            assert r.start == (t0 // step) * step and r.end == server.now and r.limit == 2
        if exchange == "bybit":
            assert other_requests(server, exchange) == Counter({"bybit:tickers": 1, "bybit:open-interest": len(COINS)})
        else:
            assert other_requests(server, exchange) == Counter({"okx:funding-rate": 1, "okx:open-interest": 1})
        assert_matches_recording(snap, server.now)
    assert per_tf_total == Counter({"5m": 6, "1h": 1, "4h": 1})  # 23:41 -> 00:11


async def test_a_subset_of_coins_on_bybit_asks_for_one_ticker(server):
    market = make_market(server, "bybit", coins=["eth"], timeframes=["5m"], lookback={"5m": 50})
    try:
        snap = await snapshot(market)
    finally:
        await market.close()
    assert tuple(snap.coins) == ("ETH",) and len(snap.coins["ETH"].candles["5m"]) == 50
    assert server.counts()["bybit:tickers"] == 1


# ----- failures ------------------------------------------------------------------------------------


async def test_http_500_then_success_is_retried(server, exchange, market):
    kind = CANDLE_KINDS[exchange][-1]
    server.add_fault(Fault(status=500, times=2, match=kind))
    server.add_fault(Fault(status=502, times=1, match="bybit:tickers" if exchange == "bybit" else "okx:funding-rate"))
    snap = await snapshot(market)
    assert_matches_recording(snap, NOW)
    assert sum(f.times for f in server.faults) == 0  # every fault was served, and retried past


@pytest.mark.parametrize(
    ("exchange", "match", "body", "fragment"),
    [
        ("bybit", "bybit:kline", "<html><body><h1>502 Bad Gateway</h1></body></html>", "candles"),
        ("bybit", "bybit:kline", '{"retCode": 0, "retMsg": "OK", "result": {"list": [["1761600000000", "cheap"]]}}', "candles"),
        ("bybit", "bybit:tickers", '{"retCode": 0, "retMsg": "OK", "result": {"list": [{"symbol": "BTCUSDT"}]}}', "funding rate"),
        ("bybit", "bybit:open-interest", '{"retCode": 0, "retMsg": "OK", "result": {"list": []}}', "open interest"),
        ("okx", "okx:history-candles", '{"code": "0", "msg": "", "data": [["yesterday", "1", "2"]]}', "candles"),
        ("okx", "okx:funding-rate", '{"code": "0", "msg": "", "data": [{"instId": "BTC-USDT-SWAP"}]}', "funding rate"),
        ("okx", "okx:open-interest", "<html>maintenance</html>", "open interest"),
    ],
)
async def test_a_malformed_reply_raises_one_sentence(server, exchange, match, body, fragment):
    market = make_market(server, exchange)
    server.add_fault(Fault(body=body, content_type="text/html" if body.startswith("<") else "application/json", times=-1, match=match))
    try:
        with pytest.raises(MarketError) as info:
            await snapshot(market)
    finally:
        await market.close()
    assert_one_sentence(info.value, exchange, fragment)


async def test_an_exchange_error_code_is_a_rejection_sentence(server):
    market = make_market(server, "okx")
    server.add_fault(Fault(body='{"code": "50011", "msg": "Too Many Requests", "data": []}', times=-1, match="okx:funding-rate"))
    try:
        with pytest.raises(MarketError) as info:
            await snapshot(market)
    finally:
        await market.close()
    assert_one_sentence(info.value, "okx", "funding rate")


# ----- exchanges from config -----------------------------------------------------------------------


def test_constructing_any_exchange_does_not_import_ccxt():
    code = "from arena_tui.engine.market.live import LiveMarket\nLiveMarket('bybit', coins=['BTC', 'LINK'])\nLiveMarket('nosuchexchange')"
    assert sorted(n for n in modules_after(code) if n.split(".")[0] == "ccxt") == []


@pytest.mark.parametrize("bad", ["", "k", "Bybit Futures", "bybit/linear", "x" * 60])
def test_text_that_is_no_exchange_id_is_a_config_error(bad):
    with pytest.raises(ConfigError) as info:
        LiveMarket(bad)
    assert_one_sentence(info.value, "is not an exchange id", "bybit, okx")
    assert "x" * 20 not in str(info.value)  # a long value is not echoed


@pytest.mark.parametrize(
    ("exchange_id", "parts"),
    [
        ("nosuchexchange", ("ccxt knows no exchange 'nosuchexchange'", "set market.exchange")),
        ("kraken", ("kraken lacks what a live market needs in ccxt: perpetual futures", "funding rates", "set market.exchange")),
    ],
)
async def test_an_exchange_ccxt_lacks_or_without_perps_is_refused_before_any_request(server, exchange_id, parts):
    market = make_market(server, exchange_id)
    try:
        for _ in range(2):  # remembered: the second snapshot says the same
            with pytest.raises(MarketError) as info:
                await snapshot(market)
            assert_one_sentence(info.value, *parts)
    finally:
        await market.close()
    assert server.requests == []


def test_the_tuned_specs_stay_as_they_were():
    assert set(EXCHANGES) == {"hyperliquid", "binanceusdm"}
    assert not any(spec.derived for spec in EXCHANGES.values())
    assert EXCHANGES["hyperliquid"].bulk_oi and not EXCHANGES["binanceusdm"].bulk_oi


# ----- coins from config ---------------------------------------------------------------------------


async def test_a_coin_beyond_the_six_is_served_like_the_others(exchange):
    ds = dataset_with_link()
    coins = ("BTC", "LINK")
    async with FakeExchangeServer(NOW, dataset=ds) as srv:
        market = make_market(srv, exchange, coins=["btc", "link"])
        try:
            snap = await snapshot(market)
        finally:
            await market.close()
    ref = RecordedMarket(ds, coins=coins, timeframes=TIMEFRAMES, start=NOW, lookback=LOOKBACK).snapshot_at(NOW)
    assert tuple(snap.coins) == coins
    for coin in coins:
        for tf in TIMEFRAMES:
            for name in ("ts", "open", "high", "low", "close", "volume"):
                np.testing.assert_array_equal(getattr(snap.coins[coin].candles[tf], name), getattr(ref.coins[coin].candles[tf], name))
    assert snap.coins["LINK"].open_interest == SYNTHETIC_OPEN_INTEREST["LINK"]
    f = ds.funding["SOL"]  # LINK's funding is SOL's recorded rate
    assert snap.coins["LINK"].funding_rate == float(f.rate[np.searchsorted(f.ts, NOW, side="right") - 1])


async def test_a_coin_the_exchange_does_not_list_is_refused_with_the_ones_it_does(server, exchange):
    market = make_market(server, exchange, coins=["BTC", "LINK"])
    try:
        with pytest.raises(MarketError) as info:
            await snapshot(market)
    finally:
        await market.close()
    assert_one_sentence(
        info.value,
        f"{exchange} lists no market LINK/USDT:USDT; its USDT perpetuals are BNB, BTC, DOGE, ETH, SOL, XRP; "
        "remove it from market.coins",
    )
    assert candle_requests(server, exchange) == 0  # refused right after load_markets


async def test_a_long_listing_shows_the_first_20_and_how_many_more():
    ds = bundled_dataset()
    for i in range(20):
        ds = scaled_coin(ds, f"ZZ{i:02d}", "BTC", 1.0, 1.0)  # 26 coins in all
    async with FakeExchangeServer(NOW, dataset=ds) as srv:
        market = make_market(srv, "okx", coins=["PEPE"])
        try:
            with pytest.raises(MarketError) as info:
                await snapshot(market)
        finally:
            await market.close()
    listed = ", ".join(sorted(ds.coins)[:20])
    assert_one_sentence(info.value, "okx lists no market PEPE/USDT:USDT", f"are {listed} ...and 6 more;")


def test_live_coins_are_tickers():
    assert LiveMarket("bybit", coins=["link", "1000PEPE"]).coins == ("LINK", "1000PEPE")
    for bad in (["BTC-USD"], ["BTC/USDT"], ["A" * 16], []):
        with pytest.raises(ConfigError) as info:
            LiveMarket("bybit", coins=bad)
        assert "\n" not in str(info.value) and str(info.value).endswith(".")


def test_the_recorded_market_keeps_the_six_and_says_live_can_trade_others():
    with pytest.raises(ConfigError) as info:
        RecordedMarket(coins=["BTC", "LINK"])
    assert_one_sentence(info.value, "unknown coin 'LINK'", "the bundled market has only BTC, ETH, SOL, BNB, XRP, DOGE", 'market.source = "live"')


def test_config_accepts_any_ticker_for_a_live_market_only(tmp_path):
    def load(**market):
        return load_config(None, environ={}, cwd=tmp_path, overrides={"market": market})

    cfg = load(source="live", exchange="bybit", coins=["BTC", "link"])
    assert cfg.market.coins == ("BTC", "LINK")
    market = build_market(cfg)
    assert isinstance(market, LiveMarket) and market.coins == ("BTC", "LINK") and market.spec.id == "bybit"
    with pytest.raises(ConfigError) as info:
        load(coins=["BTC", "LINK"])  # recorded
    assert "unknown coin 'LINK'" in str(info.value) and "the bundled market has only" in str(info.value)
    assert 'a live exchange (market.source = "live") can trade others' in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(source="live", coins=["BTC-PERP"])
    assert "unknown coin 'BTC-PERP'" in str(info.value) and "ticker of 1-15 letters and digits" in str(info.value)


# ----- a session with a seventh coin, end to end ---------------------------------------------------


class LinkTrader:
    """A real Agent: buys LINK in the first cycle, holds, and closes it in the third."""

    kind = "llm"
    model = "scripted"

    def __init__(self) -> None:
        self.name = "LinkTrader"
        self.prompts: list[str] = []

    async def decide(self, request, on_delta):
        self.prompts.append(request.user_prompt)
        price = request.market.coins["LINK"].price
        if request.cycle == 1:
            text = json.dumps(
                {
                    "LINK": {
                        "signal": "buy_to_enter",
                        "quantity": 50,
                        "leverage": 5,
                        "profit_target": round(price * 1.2, 3),
                        "stop_loss": round(price * 0.8, 3),
                        "invalidation_condition": "LINK loses 10%",
                        "confidence": 0.6,
                        "risk_usd": 50,
                        "justification": "a seventh coin",
                    }
                }
            )
        elif request.cycle == 2:
            text = json.dumps({"LINK": {"signal": "hold"}})
        else:
            text = json.dumps({"LINK": {"signal": "close"}})
        on_delta("answer", text)
        return AgentReply(text=text)


async def test_a_session_with_a_seventh_coin_runs_and_its_journal_reexecutes(tmp_path):
    coins = ["BTC", "ETH", "LINK"]
    cfg = load_config(
        None,
        environ={},
        cwd=tmp_path,
        overrides={"market": {"source": "live", "exchange": "bybit", "coins": coins}, "arena": {"sessions_dir": str(tmp_path)}},
    )
    async with FakeExchangeServer(parse_time("2025-10-28T06:00:00Z"), dataset=dataset_with_link()) as srv:
        market = make_market(srv, "bybit", coins=coins, timeframes=("5m", "4h"), lookback=None)
        trader = LinkTrader()
        agents = [*build_agents(cfg), trader]
        path = tmp_path / "link.jsonl"
        session = ArenaSession(cfg, market, agents, journal_path=path, max_cycles=3, pace=0)

        def listen(event: ev.Event) -> None:
            if isinstance(event, ev.CycleCompleted):
                srv.now += 3 * MIN  # the next cycle sees the market three minutes on

        try:
            await asyncio.wait_for(session.run(listen), HANG_GUARD_S)
        finally:
            await market.close()
    assert session.cycles_run == 3
    contents = read_journal(path)
    assert contents.header.mode == "live" and tuple(contents.header.coins) == tuple(coins)
    market_rows = [e for e in contents.events if isinstance(e, ev.MarketUpdated)]
    assert market_rows and all(set(e.coins) == set(coins) for e in market_rows)
    # the prompt shows LINK, the parser takes it, risk passes it, the ledger fills and closes it
    assert all("LINK" in p for p in trader.prompts) and len(trader.prompts) == 3
    fills = [e for e in contents.events if isinstance(e, ev.OrderFilled) and e.agent == "LinkTrader"]
    assert [(f.coin, f.action) for f in fills] == [("LINK", "open"), ("LINK", "close")]
    assert not [e for e in contents.events if isinstance(e, ev.DecisionRejected) and e.agent == "LinkTrader"]
    completed = [e for e in contents.events if isinstance(e, ev.CycleCompleted)]
    assert {r.agent for r in completed[-1].leaderboard} >= {a.name for a in agents}
    # re-execution from the journal alone (no exchange) produces every event again
    result = await reexecute(path)
    assert result.difference is None and result.cycles == 3


def test_a_small_coins_price_keeps_four_significant_digits_on_screen():
    """A live exchange lists coins priced in millionths of a dollar: the market table must not show
    them as 0.00000."""
    from arena_tui.tui.formatting import price

    assert price(0.000012345) == "0.00001234" and price(0.0000012) == "0.000001200" and price(0.00068) == "0.00068"
    assert price(0.18432) == "0.18432" and price(2.41134) == "2.4113" and price(106512.34) == "106,512.3"
