"""Property tests of take-profit ladders in the ledger (hypothesis): random ladders on random entries
over the random price paths of ``test_ledger_properties`` (gaps through levels, wild wicks, funding).

Each level closes a share of the position's original quantity at its price (or a gapped open); the
position stays open with the rest, its margin, entry fee and funding released pro rata."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from test_ledger_properties import M5, START_PRICES, T0, Scenario, candles_for, funding_for, scale, scenarios

from arena_tui.engine.account import FundingPayment, Trade
from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.risk import RiskLimits, validate


def ladder_for(rng: random.Random, side: int, price: float) -> tuple[tuple[float, float], ...]:
    n = rng.randint(1, 5)
    dist = sorted(rng.uniform(0.0005, 0.08) for _ in range(n))
    dist = [d + i * 1e-6 for i, d in enumerate(dist)]  # strictly farther each level
    fracs = [rng.choice([0.1, 0.25, 0.33, 0.5, 0.7, 1.0, rng.uniform(0.01, 1.0)]) for _ in range(n)]
    return tuple((price * (1 + side * d), f) for d, f in zip(dist, fracs))


def run(s: Scenario, check=None):
    """Like ``test_ledger_properties.run``, every entry with a ladder; returns (ledger, journal)."""
    rng = random.Random(s.seed)
    led = Ledger(s.starting_cash, taker_fee_bp=s.taker_fee_bp, maker_fee_bp=s.maker_fee_bp, slippage_bp=s.slippage_bp,
                 maintenance_margin_rate=s.maintenance_margin_rate)
    max_leverage = min(20.0, 0.95 / s.maintenance_margin_rate)
    limits = RiskLimits(max_leverage=max_leverage, min_notional=1.0)
    prices = {c: START_PRICES[c] for c in s.coins}
    t = T0
    journal: list = []
    check = check or (lambda step, led, info: None)
    for _ in range(s.cycles):
        decisions = {}
        for coin, price in prices.items():
            if coin in led.positions:
                decisions[coin] = Decision(coin, "close" if rng.random() < 0.15 else "hold")
                continue
            side = rng.choice([1, -1])
            lev = rng.choice([1.0, 3.0, max_leverage])
            qty = max(led.cash, 1.0) * lev / len(prices) / price * rng.choice([0.1, 0.5, 0.9])
            ladder = ladder_for(rng, side, price)
            stop = price * (1 - side * rng.choice([0.003, 0.03, 0.2]))
            decisions[coin] = Decision(coin, "buy_to_enter" if side > 0 else "sell_to_enter", qty, lev, ladder[-1][0], stop,
                                       take_profit=ladder if len(ladder) > 1 else None)
        result = validate(decisions, led.snapshot(), prices, limits, taker_fee_bp=s.taker_fee_bp, slippage_bp=s.slippage_bp)
        for order in result.orders:
            before = led.positions.get(order.coin)
            done = led.execute(order, time=t)
            journal.append(("close", done, before) if isinstance(done, Trade) else ("open", done, order))
            check("execute", led, {})
        bars = {c: candles_for(rng, s, t, prices[c]) for c in s.coins}
        funding = {c: funding_for(rng, s, t) for c in s.coins}
        before = dict(led.positions)
        events = led.settle(bars, funding)
        for e in events:
            journal.append(("funding", e, None) if isinstance(e, FundingPayment) else ("close", e, before.get(e.coin)))
        check("settle", led, {"events": events, "before": before})
        t += s.candles_per_cycle * M5
        prices = {c: float(b.close[-1]) for c, b in bars.items()}
        led.mark(prices)
        check("mark", led, {})
    return led, journal


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_account_value_is_cash_plus_margin_plus_unrealized_with_ladders(s):
    def check(step, led, info):
        held = math.fsum(p.margin + p.unrealized_pnl for p in led.positions.values())
        assert math.isclose(led.account_value, led.cash + held, rel_tol=1e-12, abs_tol=1e-12 * scale(led))
        expected = led.starting_cash + led.realized_pnl - led.fees_paid - led.funding_paid + led.unrealized_pnl
        assert math.isclose(led.account_value, expected, rel_tol=1e-9, abs_tol=1e-9 * scale(led))
        assert led.cash >= -1e-9 * scale(led)
        for p in led.positions.values():
            assert p.quantity > 0
            assert p.unrealized_pnl == p.side * p.quantity * (p.mark_price - p.entry_price)

    run(s, check)


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_fees_are_never_negative_and_add_up(s):
    led, _ = run(s)
    assert all(f.fee >= 0 for f in led.fills)
    assert math.isclose(led.fees_paid, math.fsum(f.fee for f in led.fills), rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_a_part_never_closes_more_than_held_and_the_parts_add_up(s):
    def check(step, led, info):
        if step != "settle":
            return
        closed: dict[str, float] = {}
        for e in info["events"]:
            if isinstance(e, Trade):
                pos = info["before"][e.coin]
                closed[e.coin] = closed.get(e.coin, 0.0) + e.quantity
                assert closed[e.coin] <= pos.quantity * (1 + 1e-9), "closed more than was held"
                if e.exit_reason.startswith("take_profit_"):
                    lv = next(lv for lv in pos.take_profit if f"take_profit_{lv.level}" == e.exit_reason)
                    initial = pos.initial_quantity or pos.quantity
                    assert e.quantity <= lv.close_fraction * initial * (1 + 1e-9) or e.coin not in led.positions
        for coin, q in closed.items():
            pos = info["before"][coin]
            left = led.positions[coin].quantity if coin in led.positions else 0.0
            assert math.isclose(q + left, pos.quantity, rel_tol=1e-9), "the parts and the rest are not the position"

    run(s, check)


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_levels_fill_once_each_in_order_and_margin_is_released_pro_rata(s):
    led, journal = run(s)
    levels: dict[str, list[int]] = {}
    for kind, item, _ in journal:
        if kind == "open":
            levels[item.coin] = []
        elif kind == "close" and item.exit_reason.startswith("take_profit_"):
            levels[item.coin].append(int(item.exit_reason.rsplit("_", 1)[1]))
            assert levels[item.coin] == sorted(set(levels[item.coin])), levels  # each level once, nearest first
    # margin: the parts of a position release its margin pro rata, so they and what is still posted
    # sum to the opening margin (funding moves margin: only without funding)
    if s.funding_odds == 0.0:
        per_position: dict[tuple[str, int], float] = {}
        opening: dict[tuple[str, int], float] = {}
        for f in led.fills:
            if f.action == "open":
                opening[(f.coin, f.time)] = f.margin
                per_position[(f.coin, f.time)] = 0.0
        by_coin_open: dict[str, tuple[str, int]] = {}
        for f in led.fills:
            if f.action == "open":
                by_coin_open[f.coin] = (f.coin, f.time)
            else:
                per_position[by_coin_open[f.coin]] += f.margin
        for key, released in per_position.items():
            if key[0] in led.positions and led.positions[key[0]].entry_time == key[1]:
                released += led.positions[key[0]].margin
            assert math.isclose(released, opening[key], rel_tol=1e-9), (key, released, opening[key])


@settings(max_examples=300, deadline=None)
@given(
    fracs=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5),
    exit_moves=st.lists(st.floats(-0.15, 0.15), min_size=5, max_size=5),  # within the margin at 5x
    side=st.sampled_from([1, -1]),
    leverage=st.sampled_from([1.0, 2.0, 5.0]),
    fee_bp=st.sampled_from([0.0, 4.5]),
    slippage_bp=st.sampled_from([0.0, 1.0]),
)
def test_the_parts_realized_pnl_equals_one_close_at_the_same_prices(fracs, exit_moves, side, leverage, fee_bp, slippage_bp):
    """Closing a position in parts at prices p1..pn books the same realized PnL, fees and cash as
    closing each part's quantity at its price in one go would (same entry, pro-rata margin)."""
    qty, price = 2.0, 100.0
    parts = Ledger(100_000.0, taker_fee_bp=fee_bp, slippage_bp=slippage_bp)
    parts.open("BTC", side, qty, price, leverage, time=T0)
    entry = parts.positions["BTC"].entry_price
    expected_pnl = []
    t = T0
    for frac, move in zip(fracs, exit_moves):
        if "BTC" not in parts.positions:
            break
        t += M5
        p = price * (1 + move)
        held = parts.positions["BTC"].quantity
        q = min(frac * qty, held)
        tr = parts.close("BTC", p, time=t, quantity=q, reason="take_profit_1")
        assert tr.quantity <= held * (1 + 1e-12)
        fill = p * (1 - side * slippage_bp / 10_000)
        expected_pnl.append(side * tr.quantity * (fill - entry))
    if "BTC" in parts.positions:
        parts.close("BTC", price, time=t + M5)
        expected_pnl.append(parts.trades[-1].realized_pnl)
    assert math.isclose(parts.realized_pnl, math.fsum(expected_pnl), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(math.fsum(tr.quantity for tr in parts.trades), qty, rel_tol=1e-12)
    # and against one close of everything at one price: same as the parts all at that price
    one, split = Ledger(100_000.0, taker_fee_bp=fee_bp, slippage_bp=slippage_bp), Ledger(100_000.0, taker_fee_bp=fee_bp, slippage_bp=slippage_bp)
    one.open("BTC", side, qty, price, leverage, time=T0)
    split.open("BTC", side, qty, price, leverage, time=T0)
    p = price * (1 + exit_moves[0])
    one.close("BTC", p, time=T0 + M5)
    for frac in fracs:
        if "BTC" not in split.positions:
            break
        split.close("BTC", p, time=T0 + M5, quantity=frac * qty)
    if "BTC" in split.positions:
        split.close("BTC", p, time=T0 + M5)
    for a, b in ((one.realized_pnl, split.realized_pnl), (one.fees_paid, split.fees_paid), (one.cash, split.cash)):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(math.fsum(t.net_pnl for t in split.trades), one.trades[0].net_pnl, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(scenarios)
def test_the_same_inputs_give_the_same_ledger_with_ladders(s):
    a, ja = run(s)
    b, jb = run(s)
    assert a.cash == b.cash and a.trades == b.trades and a.fills == b.fills and a.positions == b.positions


def test_the_scenarios_reach_partial_and_whole_ladder_exits():
    seen: set[str] = set()
    for seed in range(300):
        s = Scenario(seed, ("BTC", "ETH", "DOGE"), 6, 3, 10_000.0, 4.5, 1.5, 1.0, 0.025, 0.03, 0.1, 0.3)
        led, _ = run(s)
        seen |= {t.exit_reason for t in led.trades}
    assert {"take_profit_1", "take_profit_2", "stop_loss"} <= seen, seen
