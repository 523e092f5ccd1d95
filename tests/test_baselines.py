"""The rule-based baselines on real snapshots of the bundled Binance market.

Each strategy's decisions are checked against the rule it states, computed from the same features;
answers are valid JSON in the decision format, parse with the engine's parser, and pass the risk
rules; the streamed deltas are the reply.
"""

from __future__ import annotations

import json
import math

import pytest

from arena_tui.engine.account import AccountSnapshot, Position
from arena_tui.engine.agents.base import Agent, AgentRequest
from arena_tui.engine.agents.baselines import STRATEGIES, Sizing, make_baseline
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.indicators import compute_features
from arena_tui.engine.market.recorded import RecordedMarket, parse_time
from arena_tui.engine.parse import parse_decisions
from arena_tui.engine.prompt import price_decimals
from arena_tui.engine.risk import validate

UP = "2025-10-28T06:15:00Z"  # every coin: 4h EMA20 > EMA50 and MACD > 0
DOWN = "2025-10-22T12:00:00Z"  # five coins in a 4h down trend, XRP mixed
OVERBOUGHT = "2025-10-28T07:05:00Z"  # 5m RSI extremes: ETH, XRP, DOGE overbought
OVERSOLD = "2025-10-28T06:00:00Z"  # 5m RSI extremes: SOL oversold
FIELDS = {
    "coin", "signal", "quantity", "leverage", "profit_target", "stop_loss",
    "invalidation_condition", "confidence", "risk_usd", "justification",
}


def flat_account(cash: float = 10_000.0) -> AccountSnapshot:
    return AccountSnapshot(10_000.0, cash, cash, (), 0.0, 0.0, 0.0, 0.0)


def snapshot(t: str):
    m = RecordedMarket(start=t)
    snap = m.snapshot_at(m.now)
    return snap, compute_features(snap)


def request_at(t: str, account: AccountSnapshot | None = None, *, with_features: bool = True, cycle: int = 1):
    snap, feats = snapshot(t)
    return AgentRequest(cycle, snap.time, "", "", snap, account or flat_account(), feats if with_features else None)


def position(coin: str, side: int, qty: float, entry: float, mark: float, leverage: float = 5.0) -> Position:
    margin = qty * entry / leverage
    pnl = side * qty * (mark - entry)
    return Position(
        coin, side, qty, entry, leverage, margin, parse_time("2025-10-27T00:00:00Z"), 0.0,
        entry * (1 - side / leverage), mark, pnl,
        stop_loss=entry * (1 - side * 0.03), profit_target=entry * (1 + side * 0.06),
        invalidation_condition="test", confidence=0.6, risk_usd=qty * entry * 0.03,
    )


def account_with(*positions: Position, cash: float = 8_000.0) -> AccountSnapshot:
    value = cash + sum(p.margin + p.unrealized_pnl for p in positions)
    return AccountSnapshot(10_000.0, cash, value, positions, 0.0, sum(p.unrealized_pnl for p in positions), 0.0, 0.0)


async def run(agent, request):
    deltas: list[tuple[str, str]] = []
    reply = await agent.decide(request, lambda kind, text: deltas.append((kind, text)))
    assert reply.ok, reply.failure
    return reply, deltas


def test_factory_builds_every_strategy_and_refuses_others():
    for s in STRATEGIES:
        a = make_baseline(s, f"name-{s}")
        assert isinstance(a, Agent)
        assert a.kind == "rule-based" and a.name == f"name-{s}" and a.model == s
    with pytest.raises(ConfigError, match="unknown baseline strategy 'moon'.*trend_follower"):
        make_baseline("moon", "x")


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_answers_are_the_decision_format_and_stream(strategy):
    req = request_at(OVERBOUGHT)
    reply, deltas = await run(make_baseline(strategy, "b"), req)
    obj = json.loads(reply.text)
    assert list(obj) == list(req.market.coins)
    for coin, d in obj.items():
        # entries and closes carry every field; a hold is just the signal (the why is in the rationale)
        want = {"coin", "signal"} if d["signal"] == "hold" else FIELDS
        assert set(d) == want and d["coin"] == coin
        assert d["signal"] in ("buy_to_enter", "sell_to_enter", "hold", "close")
        if d["signal"] != "hold":
            assert isinstance(d["justification"], str) and d["justification"]
    decisions = parse_decisions(reply.text)
    assert {c: d.signal for c, d in decisions.items()} == {c: d["signal"] for c, d in obj.items()}
    # reasoning first (one line per coin), then the answer; the deltas are the reply
    kinds = [k for k, _ in deltas]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning")
    assert kinds == ["reasoning", "answer"]  # it has everything at once: one delta each
    assert len(reply.reasoning.splitlines()) == len(req.market.coins)  # one line per coin
    assert "".join(t for k, t in deltas if k == "answer") == reply.text
    assert "".join(t for k, t in deltas if k == "reasoning") == reply.reasoning
    assert reply.cost_usd == 0 and reply.usage.input_tokens == 0
    # every entry passes the engine's risk rules as it stands
    result = validate(decisions, req.account, req.market.prices())
    assert not result.rejections, result.rejections


@pytest.mark.parametrize("t", [UP, DOWN])
async def test_trend_follower_follows_ema_and_macd(t):
    req = request_at(t)
    reply, _ = await run(make_baseline("trend_follower", "trend"), req)
    decisions = parse_decisions(reply.text)
    sizing = Sizing(leverage=5.0, reward_risk=2.0)
    for coin, d in decisions.items():
        f = req.features[coin]["4h"]
        e20, e50, macd, atr14 = f.last("ema20"), f.last("ema50"), f.last("macd"), f.last("atr14")
        price = req.market.coins[coin].price
        want = "buy_to_enter" if e20 > e50 and macd > 0 else "sell_to_enter" if e20 < e50 and macd < 0 else "hold"
        assert d.signal == want, (coin, e20, e50, macd)
        if d.is_entry:
            dist = max(2 * atr14, 0.005 * price)
            assert d.stop_loss == pytest.approx(price - d.side * dist, rel=1e-5)
            assert d.profit_target == pytest.approx(price + d.side * sizing.reward_risk * dist, rel=1e-5)
            assert d.leverage == 5
            assert 0 < d.risk_usd <= 100.0 + 1e-6  # 1 % of the account value at most
            assert d.risk_usd == pytest.approx(d.quantity * abs(price - d.stop_loss), rel=1e-3)
            # the rationale names the numbers it used
            assert f"EMA20 {f'{e20:,.0f}'}" in reply.reasoning if coin == "BTC" else True
    signals = {d.signal for d in decisions.values()}
    assert signals == ({"buy_to_enter"} if t == UP else {"sell_to_enter", "hold"})


async def test_trend_follower_rationale_reads_like_the_numbers():
    req = request_at(UP)
    reply, _ = await run(make_baseline("trend_follower", "trend"), req)
    f = req.features["BTC"]["4h"]
    line = reply.reasoning.splitlines()[0]
    assert line.startswith(f"BTC: 4h EMA20 {f.last('ema20'):,.0f} > EMA50 {f.last('ema50'):,.0f} and MACD ")
    assert "trend up" in line and "Buy " in line and "at 5x, stop " in line and "target " in line


async def test_trend_follower_with_positions_only_holds_or_closes():
    snap, _ = snapshot(UP)
    btc, eth = snap.coins["BTC"].price, snap.coins["ETH"].price
    long_btc = position("BTC", 1, 0.05, btc * 0.99, btc)
    short_eth = position("ETH", -1, 1.0, eth * 1.01, eth)  # a short against an up trend
    req = request_at(UP, account_with(long_btc, short_eth))
    reply, _ = await run(make_baseline("trend_follower", "trend"), req)
    d = parse_decisions(reply.text)
    assert d["BTC"].signal == "hold" and d["BTC"].quantity is None  # a hold does not restate the position
    assert d["ETH"].signal == "close"
    assert d["SOL"].signal == "buy_to_enter"  # flat coins still follow the rule
    assert not validate(d, req.account, req.market.prices()).rejections


async def test_rsi_mean_reverter_fades_extremes():
    for t, want_side in ((OVERBOUGHT, -1), (OVERSOLD, 1)):
        req = request_at(t)
        reply, _ = await run(make_baseline("rsi_mean_reversion", "rsi"), req)
        decisions = parse_decisions(reply.text)
        entries = 0
        for coin, d in decisions.items():
            f = req.features[coin]["5m"]
            r7, r14 = f.last("rsi7"), f.last("rsi14")
            want = "buy_to_enter" if r7 < 20 and r14 < 30 else "sell_to_enter" if r7 > 80 and r14 > 70 else "hold"
            assert d.signal == want, (t, coin, r7, r14)
            if d.is_entry:
                entries += 1
                assert d.side == want_side and d.leverage == 3
                price = req.market.coins[coin].price
                assert (d.stop_loss - price) * d.side < 0 < (d.profit_target - price) * d.side
                tick = 10.0 ** -price_decimals(price)  # stop and target are rounded to the coin's decimals
                assert abs(d.profit_target - price) == pytest.approx(1.5 * abs(price - d.stop_loss), abs=3 * tick)
        assert entries >= 1


async def test_rsi_mean_reverter_closes_at_the_mean():
    snap, feats = snapshot(OVERBOUGHT)
    # ETH's 5m RSI14 is ~75 here: a long has reverted (close), a short has not yet (hold)
    assert feats["ETH"]["5m"].last("rsi14") > 50 and feats["SOL"]["5m"].last("rsi14") > 50
    eth, sol = snap.coins["ETH"].price, snap.coins["SOL"].price
    req = request_at(OVERBOUGHT, account_with(position("ETH", 1, 1.0, eth * 0.99, eth, 3), position("SOL", -1, 10, sol * 1.01, sol, 3)))
    reply, _ = await run(make_baseline("rsi_mean_reversion", "rsi"), req)
    d = parse_decisions(reply.text)
    assert d["ETH"].signal == "close" and d["SOL"].signal == "hold"


async def test_sizing_is_capped_by_the_margin_budget():
    snap, _ = snapshot(UP)
    btc = snap.coins["BTC"].price
    held = position("BTC", 1, 0.088, btc, btc)  # ~$2,000 of margin in BTC, $600 of cash left
    req = request_at(UP, account_with(held, cash=600.0))
    reply, _ = await run(make_baseline("trend_follower", "trend"), req)
    decisions = parse_decisions(reply.text)
    assert decisions["BTC"].signal == "hold" and sum(d.is_entry for d in decisions.values()) == 5
    margin = sum(d.quantity * req.market.coins[c].price / d.leverage for c, d in decisions.items() if d.is_entry)
    # 90 % of the account value minus the margin already in use, and never more than the cash
    budget = 0.9 * req.account.account_value - held.margin
    assert 0.9 * budget < margin <= budget + 1e-6 and margin < req.account.cash
    assert "capped by the margin budget" in reply.reasoning
    assert not validate(decisions, req.account, req.market.prices()).rejections


async def test_tiny_account_stays_flat():
    req = request_at(UP, flat_account(cash=5.0))
    reply, _ = await run(make_baseline("trend_follower", "trend"), req)
    assert all(d.signal == "hold" for d in parse_decisions(reply.text).values())
    assert "under $10" in reply.reasoning


async def test_always_flat_never_enters():
    agent = make_baseline("always_flat", "flat")
    for t in (UP, DOWN, OVERBOUGHT, OVERSOLD):
        reply, _ = await run(agent, request_at(t))
        assert {d.signal for d in parse_decisions(reply.text).values()} == {"hold"}
    snap, _ = snapshot(UP)
    req = request_at(UP, account_with(position("DOGE", 1, 1000, 0.19, snap.coins["DOGE"].price)))
    reply, _ = await run(agent, req)
    d = parse_decisions(reply.text)
    assert d["DOGE"].signal == "close" and all(x.signal == "hold" for c, x in d.items() if c != "DOGE")


async def test_buy_and_hold_enters_btc_once():
    agent = make_baseline("btc_buy_and_hold", "hodl")
    req = request_at(DOWN)
    reply, _ = await run(agent, req)
    d = parse_decisions(reply.text)
    btc = d.pop("BTC")
    assert btc.signal == "buy_to_enter" and btc.leverage == 1
    price = req.market.coins["BTC"].price
    assert btc.quantity * price == pytest.approx(9_000.0, rel=1e-3)
    assert btc.stop_loss < price < btc.profit_target
    assert all(x.signal == "hold" for x in d.values())
    assert not validate({"BTC": btc}, req.account, req.market.prices()).rejections
    # later cycles: holding while the position is open ...
    pos = position("BTC", 1, btc.quantity, price, price, 1.0)
    for t in (UP, OVERBOUGHT):
        reply, _ = await run(agent, request_at(t, account_with(pos, cash=1_000.0), cycle=2))
        assert {x.signal for x in parse_decisions(reply.text).values()} == {"hold"}
    # ... and no second entry once it is gone (stopped out, say: flat, having paid fees and a loss),
    # also for a fresh agent (a resumed session): it reads this from the account, not from memory
    stopped_out = AccountSnapshot(10_000.0, 5_480.0, 5_480.0, (), -4_500.0, 0.0, 8.1, 0.0)
    for a in (agent, make_baseline("btc_buy_and_hold", "hodl after resume")):
        reply, _ = await run(a, request_at(OVERSOLD, stopped_out, cycle=3))
        assert {x.signal for x in parse_decisions(reply.text).values()} == {"hold"}
        assert "does not re-enter" in reply.reasoning


async def test_deterministic_and_features_optional():
    req = request_at(OVERBOUGHT)
    bare = request_at(OVERBOUGHT, with_features=False)
    for s in STRATEGIES:
        a, _ = await run(make_baseline(s, "a"), req)
        b, _ = await run(make_baseline(s, "b"), req)
        c, _ = await run(make_baseline(s, "c"), bare)  # computes the features itself
        assert a.text == b.text == c.text and a.reasoning == b.reasoning == c.reasoning


async def test_not_enough_history_holds():
    m = RecordedMarket(start=UP, lookback={"4h": 30, "5m": 10})
    snap = m.snapshot_at(m.now)
    req = AgentRequest(1, snap.time, "", "", snap, flat_account(), compute_features(snap))
    for s in ("trend_follower", "rsi_mean_reversion"):
        reply, _ = await run(make_baseline(s, s), req)
        assert {d.signal for d in parse_decisions(reply.text).values()} == {"hold"}
        assert "not enough" in reply.reasoning


async def test_bad_input_is_a_failure_not_an_exception():
    req = request_at(UP)
    broken = AgentRequest(1, req.time, "", "", req.market, req.account, {"BTC": {"4h": "garbage"}})
    reply = await make_baseline("trend_follower", "trend").decide(broken, lambda k, t: None)
    assert not reply.ok and reply.failure.kind == "error" and "trend_follower" in reply.failure.reason
    assert math.isfinite(reply.latency_s)


async def test_every_strategy_answers_every_coin_in_order():
    """The arena parses a baseline's answer text like a model's: every coin, in market order."""
    from arena_tui.engine.agents.base import AgentRequest
    from arena_tui.engine.agents.baselines import STRATEGIES, make_baseline
    from arena_tui.engine.ledger import Ledger
    from arena_tui.engine.market.recorded import RecordedMarket
    from arena_tui.engine.parse import parse_decisions

    market = RecordedMarket(start="2025-10-21T08:00:00Z")
    snap = await market.snapshot()
    account = Ledger().snapshot()
    for strategy in STRATEGIES:
        agent = make_baseline(strategy, strategy)
        reply = await agent.decide(AgentRequest(1, snap.time, "", "", snap, account), lambda k, t: None)
        decisions = parse_decisions(reply.text)  # the arena reads a baseline's answer as a model's
        assert list(decisions) == list(snap.coins) and reply.text == reply.text.strip()
