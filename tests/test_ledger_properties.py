"""Property tests of the ledger over random order sequences and random price paths (hypothesis).

Each example is a small arena: 1-3 coins, a few cycles; every cycle random decisions go through
``risk.validate`` and the accepted orders through ``Ledger.execute``, then 1-3 random 5-minute candles
(with gaps through levels, wild wicks) and random funding are settled and the account is marked.
Hypothesis draws the shape (coins, cycles, fees, slippage, maintenance margin, volatility, gap and
funding odds) and a seed for the path and the decisions, so each example runs in about a millisecond.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine.account import FundingPayment, Trade
from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.market.base import Candles, FundingHistory
from arena_tui.engine.risk import RiskLimits, validate

T0 = 1_760_659_200_000
M5 = 300_000
START_PRICES = {"BTC": 100_000.0, "ETH": 4_000.0, "DOGE": 0.2}


@dataclass(frozen=True)
class Scenario:
    seed: int
    coins: tuple[str, ...]
    cycles: int
    candles_per_cycle: int
    starting_cash: float
    taker_fee_bp: float
    maker_fee_bp: float
    slippage_bp: float
    maintenance_margin_rate: float
    volatility: float
    gap_odds: float
    funding_odds: float


scenarios = st.builds(
    Scenario,
    seed=st.integers(0, 2**32 - 1),
    coins=st.sampled_from([("BTC",), ("ETH", "DOGE"), ("BTC", "ETH", "DOGE")]),
    cycles=st.integers(1, 10),
    candles_per_cycle=st.integers(1, 3),
    starting_cash=st.sampled_from([50.0, 1_000.0, 10_000.0, 123_456.78]),
    taker_fee_bp=st.sampled_from([0.0, 4.5, 10.0]),
    maker_fee_bp=st.sampled_from([0.0, 1.5]),
    slippage_bp=st.sampled_from([0.0, 1.0, 25.0]),
    maintenance_margin_rate=st.sampled_from([0.005, 0.0125, 0.025, 0.045]),
    volatility=st.sampled_from([0.0005, 0.005, 0.03, 0.1]),
    gap_odds=st.sampled_from([0.0, 0.1, 0.5]),
    funding_odds=st.sampled_from([0.0, 0.3, 1.0]),
)


@dataclass
class Run:
    """What a scenario did: the ledger, every settle's events and the candles walked per cycle."""

    ledger: Ledger
    events: list = field(default_factory=list)
    accepted: int = 0
    journal: list = field(default_factory=list)  # ("open", Fill, Order) / ("close", Trade) / ("funding", FundingPayment) / ("mark", prices)


def decisions_for(rng: random.Random, ledger: Ledger, prices: dict[str, float], max_leverage: float) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    n = len(prices)
    for coin, price in prices.items():
        held = coin in ledger.positions
        r = rng.random()
        if held:
            signal = "close" if r < 0.3 else ("hold" if r < 0.9 else "buy_to_enter")
        else:
            signal = "buy_to_enter" if r < 0.4 else ("sell_to_enter" if r < 0.8 else "hold")
        if signal in ("hold", "close"):
            out[coin] = Decision(coin, signal)
            continue
        side = 1 if signal == "buy_to_enter" else -1
        leverage = rng.choice([1.0, 2.0, float(int(max_leverage)), rng.uniform(1.0, max_leverage)])
        budget = max(ledger.cash, 1.0) * leverage / n / price
        quantity = budget * rng.choice([0.05, 0.5, 0.97, 1.2, rng.uniform(0.0, 1.5)])
        stop_dist = rng.choice([0.002, 0.02, 0.1, 0.5])  # 0.5: beyond the liquidation price at high leverage
        target_dist = rng.choice([0.003, 0.03, 0.2])
        stop = price * (1 - side * stop_dist)
        target = price * (1 + side * target_dist)
        if rng.random() < 0.05:
            stop, target = target, stop  # wrong side: rejected
        out[coin] = Decision(coin, signal, quantity, leverage, target, stop, None, rng.random(), rng.uniform(0, 500))
    return out


def candles_for(rng: random.Random, s: Scenario, start: int, last_close: float) -> Candles:
    rows = []
    close = last_close
    for _ in range(s.candles_per_cycle):
        gap = rng.gauss(0.0, 8 * s.volatility) if rng.random() < s.gap_odds else 0.0
        o = max(close * math.exp(gap), 1e-9)
        c = max(o * math.exp(rng.gauss(0.0, s.volatility)), 1e-9)
        h = max(o, c) * math.exp(abs(rng.gauss(0.0, s.volatility)))
        lo = min(o, c) * math.exp(-abs(rng.gauss(0.0, s.volatility)))
        rows.append((o, h, lo, c))
        close = c
    arr = np.asarray(rows, dtype=np.float64)
    n = arr.shape[0]
    return Candles("5m", np.arange(n, dtype=np.int64) * M5 + start, *(arr[:, i].copy() for i in range(4)), np.ones(n))


def funding_for(rng: random.Random, s: Scenario, start: int) -> FundingHistory:
    ts, rate = [], []
    for j in range(1, s.candles_per_cycle + 1):
        if rng.random() < s.funding_odds:
            ts.append(start + j * M5)
            rate.append(rng.choice([rng.uniform(-0.002, 0.002), 0.0, 0.03, -0.03]))
    return FundingHistory(np.asarray(ts, dtype=np.int64), np.asarray(rate, dtype=np.float64), M5)


def run(s: Scenario, check: Callable[[str, Run, dict], None] | None = None) -> Run:
    """Play a scenario; ``check(step, run, info)`` is called after every step."""
    rng = random.Random(s.seed)
    ledger = Ledger(
        s.starting_cash,
        taker_fee_bp=s.taker_fee_bp,
        maker_fee_bp=s.maker_fee_bp,
        slippage_bp=s.slippage_bp,
        maintenance_margin_rate=s.maintenance_margin_rate,
    )
    out = Run(ledger)
    max_leverage = min(20.0, 0.95 / s.maintenance_margin_rate)
    limits = RiskLimits(max_leverage=max_leverage, min_notional=1.0)
    prices = {c: START_PRICES[c] for c in s.coins}
    t = T0
    check = check or (lambda step, r, info: None)
    for _ in range(s.cycles):
        result = validate(
            decisions_for(rng, ledger, prices, max_leverage),
            ledger.snapshot(),
            prices,
            limits,
            taker_fee_bp=s.taker_fee_bp,
            slippage_bp=s.slippage_bp,
        )
        for order in result.orders:
            done = ledger.execute(order, time=t)  # a ValueError here fails the test
            out.journal.append(("close", done) if isinstance(done, Trade) else ("open", done, order))
            out.accepted += 1
            check("execute", out, {"order": order})
        bars = {c: candles_for(rng, s, t, prices[c]) for c in s.coins}
        funding = {c: funding_for(rng, s, t) for c in s.coins}
        before = {c: p for c, p in ledger.positions.items()}
        events = ledger.settle(bars, funding)
        out.events.extend(events)
        out.journal.extend(("funding", e) if isinstance(e, FundingPayment) else ("close", e) for e in events)
        check("settle", out, {"bars": bars, "events": events, "before": before})
        t += s.candles_per_cycle * M5
        prices = {c: float(b.close[-1]) for c, b in bars.items()}
        ledger.mark(prices)
        out.journal.append(("mark", prices))
        check("mark", out, {})
    return out


# -- the properties --------------------------------------------------------------------------------


def scale(led: Ledger) -> float:
    return led.starting_cash + sum(p.quantity * p.mark_price for p in led.positions.values()) + 1.0


@settings(max_examples=500)
@given(scenarios)
def test_account_value_is_cash_plus_margin_plus_unrealized(s):
    def check(step, r, info):
        led = r.ledger
        held = math.fsum(p.margin + p.unrealized_pnl for p in led.positions.values())
        assert math.isclose(led.account_value, led.cash + held, rel_tol=1e-12, abs_tol=1e-12 * scale(led))
        snap = led.snapshot()
        assert snap.account_value == led.account_value and snap.cash == led.cash
        # money is conserved: what the account holds is what it started with plus its gains and costs
        expected = led.starting_cash + led.realized_pnl - led.fees_paid - led.funding_paid + led.unrealized_pnl
        assert math.isclose(led.account_value, expected, rel_tol=1e-9, abs_tol=1e-9 * scale(led))
        for p in led.positions.values():
            assert p.unrealized_pnl == p.side * p.quantity * (p.mark_price - p.entry_price)

    run(s, check)


@settings(max_examples=500)
@given(scenarios)
def test_no_accepted_order_makes_cash_negative(s):
    def check(step, r, info):
        assert r.ledger.cash >= 0.0, (step, r.ledger.cash)

    run(s, check)


@settings(max_examples=500)
@given(scenarios)
def test_total_fees_equal_the_sum_of_per_fill_fees(s):
    def check(step, r, info):
        led = r.ledger
        total = 0.0
        for f in led.fills:
            assert f.fee >= 0.0
            total += f.fee
        assert led.fees_paid == total
        by_trade = sum(t.entry_fee + t.exit_fee for t in led.trades) + sum(p.entry_fee for p in led.positions.values())
        assert math.isclose(led.fees_paid, by_trade, rel_tol=1e-9, abs_tol=1e-12)

    run(s, check)


@settings(max_examples=500)
@given(scenarios)
def test_after_closing_everything_account_value_equals_cash(s):
    r = run(s)
    led = r.ledger
    marks = {c: p.mark_price for c, p in led.positions.items()}
    led.close_all(marks, time=T0 + 10**9)
    snap = led.snapshot()
    assert led.positions == {} and snap.positions == ()
    assert led.account_value == led.cash == snap.account_value
    assert snap.unrealized_pnl == 0.0
    assert math.isclose(led.cash, led.starting_cash + math.fsum(t.net_pnl for t in led.trades), rel_tol=1e-9, abs_tol=1e-9 * led.starting_cash)
    assert math.isclose(led.funding_paid, math.fsum(t.funding_paid for t in led.trades), rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=500)
@given(scenarios)
def test_a_position_is_liquidated_before_its_equity_goes_below_zero(s):
    """Also: no open position has a stop or target its candles touched."""
    opened_margin: dict[tuple[str, int], float] = {}

    def check(step, r, info):
        led = r.ledger
        mmr = led.maintenance_margin_rate
        if step == "execute" and info["order"].action == "open":
            f = led.fills[-1]
            opened_margin[(f.coin, f.time)] = f.margin
        if step != "settle":
            return
        for e in info["events"]:
            if isinstance(e, Trade):
                # no exit takes more than the position's margin: cash returned is never negative
                margin = opened_margin[(e.coin, e.entry_time)] - e.funding_paid
                assert margin + e.realized_pnl - e.exit_fee >= -1e-9 * scale(led)
                if e.exit_reason == "liquidation":
                    assert e.realized_pnl >= -margin - 1e-9 * scale(led)
        for coin, p in led.positions.items():
            # survived the window: positive equity above maintenance at its last mark ...
            equity = p.margin + p.unrealized_pnl
            assert equity > 0.0
            assert equity >= p.quantity * p.mark_price * mmr * (1 - 1e-9) - 1e-9 * scale(led)
            # ... and at the worst price of every candle it walked, with its margin as it was then
            bars = info["bars"][coin]
            pays = [(e.time, e.amount) for e in info["events"] if isinstance(e, FundingPayment) and e.coin == coin]
            for ts, lo, hi in zip(bars.ts.tolist(), bars.low.tolist(), bars.high.tolist()):
                if ts < p.entry_time:
                    continue
                margin_then = p.margin + sum(a for when, a in pays if when > ts)
                worst = lo if p.side > 0 else hi
                equity_then = margin_then + p.side * p.quantity * (worst - p.entry_price)
                assert equity_then >= p.quantity * worst * mmr * (1 - 1e-9) - 1e-9 * scale(led), (coin, ts, equity_then)
                # and no stop or target inside the candle was left unfilled
                if p.stop_loss is not None:
                    assert p.side * (worst - p.stop_loss) > 0, (coin, ts, "stop missed")
                if p.profit_target is not None:
                    best = hi if p.side > 0 else lo
                    assert p.side * (best - p.profit_target) < 0, (coin, ts, "target missed")

    run(s, check)


@settings(max_examples=500)
@given(scenarios)
def test_the_same_inputs_give_the_same_ledger(s):
    a, b = run(s).ledger, run(s).ledger
    assert a.cash == b.cash and a.account_value == b.account_value
    assert a.fills == b.fills and a.trades == b.trades and a.funding_payments == b.funding_payments
    assert a.snapshot() == b.snapshot()
    assert (a.fees_paid, a.funding_paid, a.realized_pnl) == (b.fees_paid, b.funding_paid, b.realized_pnl)


def test_the_scenarios_reach_every_exit_path():
    """Guard against a generator that never trades: over fixed seeds every path is exercised."""
    reasons: set[str] = set()
    funding = accepted = 0
    for seed in range(300):
        s = Scenario(seed, ("BTC", "ETH", "DOGE"), 8, 3, 10_000.0, 4.5, 1.5, 1.0, 0.025, [0.005, 0.03, 0.1][seed % 3], 0.1, 0.3)
        r = run(s)
        accepted += r.accepted
        reasons |= {e.exit_reason for e in r.events if isinstance(e, Trade)}
        reasons |= {t.exit_reason for t in r.ledger.trades}
        funding += sum(1 for e in r.events if isinstance(e, FundingPayment))
    assert reasons == {"agent", "stop_loss", "take_profit", "liquidation"}
    assert accepted > 1_000 and funding > 100
