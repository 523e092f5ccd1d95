"""Order-book features (best bid and ask, spread in basis points of the mid, USD depth within
``DEPTH_BAND_BP`` of the mid, imbalance) from live exchanges, end to end.

The real ccxt client talks to the fake exchange on 127.0.0.1 (tests/fakes/exchange_server.py), which
serves a deterministic order book in each exchange's own wire format around the recording's price at
its ``now``. Expected features are computed here from the book the server serves, independently of
``OrderBook.from_levels``. The recorded market has no book: its features are None and the table
shows ``–``. A live journal with books re-executes identically, and an edited book value is caught.
The server's clock is moved explicitly; no sleeps, no timing assertions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
from decimal import Decimal
from types import SimpleNamespace

import pytest

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.agents.base import AgentReply
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import expanded_lines, read_journal
from arena_tui.engine.market.base import COINS, DEPTH_BAND_BP, CoinSnapshot, OrderBook
from arena_tui.engine.market.live import LiveMarket
from arena_tui.engine.market.recorded import RecordedMarket, parse_time
from arena_tui.engine.prompt import PromptTemplates, build_prompt
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.verify import reexecute
from tests.fakes.exchange_server import _OKX, FakeExchangeServer, Fault
from tests.fakes.live_fixtures import server_fixture
from tests.test_live_market import HANG_GUARD_S, NOW, make_market

EXCHANGES = ("hyperliquid", "binanceusdm", "bybit", "okx")
LEVELS = {"hyperliquid": 20, "binanceusdm": 1000, "bybit": 500, "okx": 400}
"""Levels a side each exchange serves to LiveMarket's request (Hyperliquid's l2Book: always 20)."""
BOOK_KINDS = {"hyperliquid": "l2Book", "binanceusdm": "depth", "bybit": "bybit:orderbook", "okx": "okx:books"}
MIN = 60_000
LOG = "arena_tui.engine.market.live"


def expected_book(server: FakeExchangeServer, exchange: str, coin: str, levels: int | None = None) -> OrderBook:
    """The features of the book the server serves for ``coin`` now, computed from its levels."""
    bids, asks = server.book(exchange, coin, levels or LEVELS[exchange])
    size = float(_OKX[coin][0]) if exchange == "okx" else 1.0  # OKX sizes are contracts of ctVal coins
    bid = float(max(px for px, _ in bids))
    ask = float(min(px for px, _ in asks))
    mid = (bid + ask) / 2
    lo, hi = mid * (1 - DEPTH_BAND_BP / 10_000), mid * (1 + DEPTH_BAND_BP / 10_000)
    bid_depth = math.fsum(float(px) * float(sz) * size for px, sz in bids if float(px) >= lo)
    ask_depth = math.fsum(float(px) * float(sz) * size for px, sz in asks if float(px) <= hi)
    assert float(bids[-1][0]) < lo and float(asks[-1][0]) > hi  # the served book reaches past the band
    return OrderBook(bid, ask, bid_depth, ask_depth)


server = server_fixture(NOW)


async def snap_of(market: LiveMarket):
    return await asyncio.wait_for(market.snapshot(), HANG_GUARD_S)


# ----- features from each exchange's wire format -------------------------------------------------------


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_features_equal_what_the_served_book_gives(server, exchange):
    market = make_market(server, exchange, timeframes=("5m", "4h"), lookback={"5m": 60, "4h": 30})
    try:
        snap = await snap_of(market)
        assert server.count(BOOK_KINDS[exchange]) == len(COINS)  # one book request per coin
        for coin in COINS:
            cs = snap.coins[coin]
            want = expected_book(server, exchange, coin)
            assert cs.order_book == want, coin
            assert (cs.bid, cs.ask, cs.bid_depth, cs.ask_depth) == (want.bid, want.ask, want.bid_depth, want.ask_depth)
            mid = (want.bid + want.ask) / 2
            assert cs.spread_bp == (want.ask - want.bid) / mid * 10_000
            assert cs.imbalance == (want.bid_depth - want.ask_depth) / (want.bid_depth + want.ask_depth)
            assert -1 < cs.imbalance < 1 and cs.imbalance != 0 and 0 < cs.spread_bp < 3
            # the book sits around the recorded price at the server's now (its levels start 0.5 bp from it)
            assert cs.bid < server.mark_price(coin) < cs.ask
        # the clock moves: a new book (sizes are seeded by the minute), read again
        server.now += 3 * MIN
        snap = await snap_of(market)
        for coin in COINS:
            assert snap.coins[coin].order_book == expected_book(server, exchange, coin)
    finally:
        await market.close()


async def test_a_reply_ending_inside_the_band_leaves_the_depth_unknown(server):
    market = make_market(server, "binanceusdm", timeframes=("5m",), lookback={"5m": 30}, coins=["BTC"])
    await market._client()
    market.spec = dataclasses.replace(market.spec, book_limit=5)  # 5 levels a side: 0.5..4.5 bp from the price
    try:
        cs = (await snap_of(market)).coins["BTC"]
        bids, asks = server.book("binanceusdm", "BTC", 5)
        assert cs.bid == float(bids[0][0]) and cs.ask == float(asks[0][0])
        assert cs.spread_bp is not None
        assert cs.bid_depth is None and cs.ask_depth is None and cs.imbalance is None  # never a lower bound
    finally:
        await market.close()


# ----- a failing book never fails the snapshot --------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "fault"),
    [
        ("binanceusdm", Fault(status=500, match="depth", times=-1)),
        ("binanceusdm", Fault(body='{"lastUpdateId": 1, "bids": [], "asks": []}', match="depth", times=-1)),
        ("hyperliquid", Fault(status=429, match="l2Book", times=-1)),
        ("hyperliquid", Fault(body="not json", content_type="text/plain", match="l2Book", times=-1)),
        ("bybit", Fault(status=503, match="bybit:orderbook", times=-1)),
        ("okx", Fault(body='{"code": "50011", "msg": "Too Many Requests", "data": []}', match="okx:books", times=-1)),
    ],
)
async def test_a_failing_order_book_leaves_none_and_the_snapshot_succeeds(server, exchange, fault, caplog):
    market = make_market(server, exchange, timeframes=("5m", "4h"), lookback={"5m": 60, "4h": 30})
    server.add_fault(fault)
    caplog.set_level(logging.INFO, logger=LOG)
    try:
        snap = await snap_of(market)
        assert all(snap.coins[c].order_book is None for c in COINS)
        assert all(getattr(snap.coins[c], f) is None for c in COINS for f in ("bid", "ask", "spread_bp", "bid_depth", "ask_depth", "imbalance"))
        assert all(len(snap.coins[c].candles["5m"]) == 60 and snap.coins[c].funding_rate is not None for c in COINS)
        lines = [r.getMessage() for r in caplog.records if r.name == LOG and "order book" in r.getMessage()]
        assert len(lines) == len(COINS) and all("unavailable" in line for line in lines)  # one line per coin
        assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == LOG and "order book" in r.getMessage())
        caplog.clear()
        server.now += 3 * MIN
        snap = await snap_of(market)  # still failing: no new line
        assert all(snap.coins[c].order_book is None for c in COINS)
        assert not [r for r in caplog.records if r.name == LOG and "order book" in r.getMessage()]
        fault.times = 0  # the endpoint recovers: one line per coin, and the books are back
        server.now += 3 * MIN
        snap = await snap_of(market)
        assert all(snap.coins[c].order_book == expected_book(server, exchange, c) for c in COINS)
        lines = [r.getMessage() for r in caplog.records if r.name == LOG and "order book" in r.getMessage()]
        assert len(lines) == len(COINS) and all("read again" in line for line in lines)
    finally:
        await market.close()


async def test_one_coin_failing_leaves_only_that_coin_unknown(server):
    market = make_market(server, "binanceusdm", timeframes=("5m",), lookback={"5m": 30}, coins=["BTC", "ETH"])
    server.add_fault(Fault(status=400, body='{"code": -1121, "msg": "Invalid symbol."}', match="depth", times=1))
    try:
        snap = await snap_of(market)
        books = [snap.coins[c].order_book for c in ("BTC", "ETH")]
        assert books.count(None) == 1
        known = next(c for c in ("BTC", "ETH") if snap.coins[c].order_book is not None)
        assert snap.coins[known].order_book == expected_book(server, "binanceusdm", known)
    finally:
        await market.close()


# ----- the recorded market has none -----------------------------------------------------------------


def test_the_recorded_market_has_no_order_book():
    snap = RecordedMarket(timeframes=("5m", "4h"), start=NOW).snapshot_at(NOW)
    for cs in snap.coins.values():
        assert cs.order_book is None
        assert (cs.bid, cs.ask, cs.spread_bp, cs.bid_depth, cs.ask_depth, cs.imbalance) == (None,) * 6


def test_order_book_json_round_trips_and_refuses_nonsense():
    book = OrderBook(100.0, 100.01, 12345.5, None)
    assert OrderBook.from_json(json.loads(json.dumps(book.to_json()))) == book
    assert book.imbalance is None and book.spread_bp == (100.01 - 100.0) / 100.005 * 10_000
    for bad in ({"bid": 101.0, "ask": 100.0}, {"bid": -1.0, "ask": 1.0}, {"bid": 1.0, "ask": 2.0, "bid_depth": -5}, [], {"bid": True, "ask": 2.0}):
        with pytest.raises(ValueError):
            OrderBook.from_json(bad)
    assert OrderBook(1.0, 2.0, 0.0, 0.0).imbalance is None  # nothing in the band: no ratio
    assert OrderBook.from_levels([], [[2.0, 1.0]]) is None and OrderBook.from_levels([[2.0, 1.0]], [[1.5, 1.0]]) is None  # crossed


# ----- the market table ----------------------------------------------------------------------------


def _table_app(rows: dict):
    from textual.app import App, ComposeResult

    from arena_tui.tui.themes import APP_VARIABLES
    from arena_tui.tui.widgets.market import MarketTable

    class TableApp(App):
        def get_css_variables(self) -> dict[str, str]:
            variables = super().get_css_variables()
            for name, fallback in APP_VARIABLES.items():
                variables.setdefault(name, variables[fallback])
            return variables

        def compose(self) -> ComposeResult:
            yield MarketTable(id="market")

        def on_mount(self) -> None:
            self.query_one(MarketTable).show(SimpleNamespace(market=rows, first_prices={}))

    return TableApp()


LIVE_ROW = {"price": 113737.2, "change_pct": 0.0, "funding_rate": 1e-5, "open_interest": 30012.47,
            "spread_bp": 1.002310, "bid_depth": 1219841.0, "ask_depth": 1345626.0, "imbalance": -0.04903011}
RECORDED_ROW = {"price": 113737.2, "change_pct": 0.0, "funding_rate": 1e-5, "open_interest": None}


@pytest.mark.parametrize("width", [140, 120])
async def test_the_table_shows_book_columns_for_a_live_market_on_wide_terminals(width):
    app = _table_app({"BTC": LIVE_ROW, "ETH": {**RECORDED_ROW, "price": 4078.01}})
    async with app.run_test(size=(width, 12)) as pilot:
        await pilot.pause()
        table = app.query_one("#market")
        keys = [c.key for c in table.shown_columns]
        assert keys[-4:] == ["spread", "bid_depth", "ask_depth", "imbalance"]
        assert [table.get_cell("BTC", k).plain for k in keys[-4:]] == ["1.00", "$1.2M", "$1.3M", "-0.049"]
        assert [table.get_cell("ETH", k).plain for k in keys[-4:]] == ["–"] * 4  # unknown: never invented


@pytest.mark.parametrize(("rows", "width"), [({"BTC": RECORDED_ROW}, 160), ({"BTC": LIVE_ROW}, 110)])
async def test_no_book_columns_for_a_recorded_market_or_a_narrower_terminal(rows, width):
    app = _table_app(rows)
    async with app.run_test(size=(width, 12)) as pilot:
        await pilot.pause()
        table = app.query_one("#market")
        assert [c.key for c in table.shown_columns][-1] == "atr"
        assert len(table.columns) == 10
        # the cells a recorded row would show there are "–"
        assert [table._cells("BTC", RECORDED_ROW)[k].plain for k in table.BOOK] == ["–"] * 4


# ----- the prompt ----------------------------------------------------------------------------------


FLAT = AccountSnapshot(10_000.0, 10_000.0, 10_000.0, (), 0.0, 0.0, 0.0, 0.0)


def _prompt(snap, **kwargs):
    return build_prompt(snap, None, FLAT, session_start=snap.time, invocation=1, **kwargs).user


def test_the_prompt_mentions_the_book_only_when_known():
    snap = RecordedMarket(timeframes=("5m", "4h"), start=NOW).snapshot_at(NOW)
    plain = _prompt(snap)
    assert "Order Book" not in plain and "order book" not in plain.lower().replace("no order book", "")
    book = OrderBook(113731.6, 113743.0, 1219840.6872, None)
    coins = dict(snap.coins)
    btc = coins["BTC"]
    coins["BTC"] = CoinSnapshot("BTC", btc.candles, btc.funding, btc.open_interest, order_book=book)
    with_book = _prompt(dataclasses.replace(snap, coins=coins))
    line = next(x for x in with_book.splitlines() if x.startswith("Order Book:"))
    assert line == (
        "Order Book: best bid = 113731.6, best ask = 113743.0, spread = 1.00 bp of the mid; USD depth within 10 bp "
        "of the mid: bids = 1,219,841, asks = unknown (the exchange's reply ended inside the band); imbalance "
        "(bid depth - ask depth) / (bid depth + ask depth) = n/a"
    )
    assert with_book.count("Order Book:") == 1  # BTC only
    # right after BTC's funding rate; the rest of the prompt is as without a book
    assert with_book.replace("\n\n" + line, "") == plain
    i = with_book.index(line)
    assert with_book[:i].rstrip().splitlines()[-1].startswith("Funding Rate:")


@pytest.mark.parametrize("fmt", ["alpha-arena", "percent"])
def test_the_system_prompt_says_no_order_book_only_for_the_recorded_market(fmt):
    snap = RecordedMarket(timeframes=("5m", "4h"), start=NOW).snapshot_at(NOW)
    recorded = build_prompt(snap, None, FLAT, session_start=snap.time, invocation=1, decision_format=fmt).system
    assert "You have no news, no order book and no memory of earlier cycles" in recorded
    live = dataclasses.replace(snap, source="live:binanceusdm")
    system = build_prompt(live, None, FLAT, session_start=snap.time, invocation=1, decision_format=fmt).system
    assert "You have no news and no memory of earlier cycles" in system and "order book" not in system.lower()
    assert system == recorded.replace(", no order book", "")


def test_a_template_with_order_book_places_it_and_says_unavailable(tmp_path):
    coin = tmp_path / "coin.md"
    coin.write_text("### $coin\nprice $current_price\nbook: $order_book\n", encoding="utf-8")
    tpl = PromptTemplates.load(coin_path=str(coin))
    snap = RecordedMarket(timeframes=("5m", "4h"), start=NOW).snapshot_at(NOW)
    text = _prompt(snap, templates=tpl)
    assert "book: unavailable (this market source has no order-book data)" in text
    assert "Order Book:" not in text


# ----- journal and re-execution -------------------------------------------------------------------------


class PromptReader:
    """A real Agent that reads its prompt and holds."""

    kind = "llm"
    model = "scripted"

    def __init__(self) -> None:
        self.name = "Reader"
        self.prompts: list[str] = []

    async def decide(self, request, on_delta):
        self.prompts.append(request.user_prompt)
        text = json.dumps({"BTC": {"signal": "hold"}})
        on_delta("answer", text)
        return AgentReply(text=text)


async def _live_session(tmp_path, exchange: str = "hyperliquid", cycles: int = 3):
    cfg = load_config(
        None,
        environ={},
        cwd=tmp_path,
        overrides={"market": {"source": "live", "exchange": exchange}, "arena": {"sessions_dir": str(tmp_path)}},
    )
    reader = PromptReader()
    path = tmp_path / f"{exchange}.jsonl"
    async with FakeExchangeServer(parse_time("2025-10-28T06:00:00Z")) as srv:
        market = make_market(srv, exchange, timeframes=("5m", "4h"), lookback=None)
        session = ArenaSession(cfg, market, [*build_agents(cfg), reader], journal_path=path, max_cycles=cycles, pace=0)

        def listen(event: ev.Event) -> None:
            if isinstance(event, ev.CycleCompleted):
                srv.now += 3 * MIN

        try:
            await asyncio.wait_for(session.run(listen), HANG_GUARD_S)
        finally:
            await market.close()
    return path, reader, session


@pytest.mark.parametrize("exchange", ["hyperliquid", "binanceusdm"])
async def test_a_live_journal_with_order_books_reexecutes_and_an_edit_is_caught(tmp_path, exchange):
    path, reader, session = await _live_session(tmp_path, exchange)
    assert session.cycles_run == 3
    events = read_journal(path).events
    data = [e for e in events if isinstance(e, ev.MarketData)]
    rows = [e for e in events if isinstance(e, ev.MarketUpdated)]
    assert len(data) == 3 and len(rows) == 3
    for d, r in zip(data, rows):
        for coin in COINS:
            book = OrderBook.from_json(d.coins[coin]["order_book"])
            row = r.coins[coin]
            assert row["spread_bp"] == float(f"{book.spread_bp:.7g}") and row["imbalance"] == float(f"{book.imbalance:.7g}")
            assert row["bid_depth"] == float(f"{book.bid_depth:.7g}") and row["ask_depth"] == float(f"{book.ask_depth:.7g}")
    books = [json.dumps(d.coins["BTC"]["order_book"]) for d in data]
    assert len(set(books)) == 3  # each cycle's own book, journaled whole
    assert len(reader.prompts) == 3 and all(p.count("Order Book: best bid = ") == len(COINS) for p in reader.prompts)

    result = await reexecute(path)
    assert result.difference is None and result.cycles == 3

    # an edited order-book value (cycle 2, BTC's bid depth) is caught
    lines = list(expanded_lines(path))
    for i, text in enumerate(lines):
        d = json.loads(text)
        if d.get("type") == "MarketData" and d["cycle"] == 2:
            d["coins"]["BTC"]["order_book"]["bid_depth"] *= 1.5
            lines[i] = json.dumps(d)
            break
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    diff = (await reexecute(edited)).difference
    assert diff is not None and diff.cycle == 2 and diff.event == "MarketUpdated"


async def test_a_removed_order_book_is_caught(tmp_path):
    path, _, _ = await _live_session(tmp_path, "hyperliquid", cycles=2)
    lines = list(expanded_lines(path))
    for i, text in enumerate(lines):
        d = json.loads(text)
        if d.get("type") == "MarketData" and d["cycle"] == 1:
            del d["coins"]["ETH"]["order_book"]
            lines[i] = json.dumps(d)
            break
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    diff = (await reexecute(edited)).difference
    assert diff is not None and diff.cycle == 1 and diff.event == "MarketUpdated"


async def test_a_recorded_session_journals_no_order_book(tmp_path):
    """Recorded-market rows and market data are as before (no key, not a null): the byte-identical
    journals of tests/test_demo_session.py depend on it."""
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"arena": {"sessions_dir": str(tmp_path)}})
    market = build_market(cfg)
    path = tmp_path / "recorded.jsonl"
    session = ArenaSession(cfg, market, build_agents(cfg), journal_path=path, max_cycles=2, pace=0)
    await asyncio.wait_for(session.run(lambda e: None), HANG_GUARD_S)
    text = path.read_text(encoding="utf-8")
    assert session.cycles_run == 2
    for key in ("order_book", "spread_bp", "bid_depth", "ask_depth", "imbalance"):
        assert key not in text
