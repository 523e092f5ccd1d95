"""Property tests (hypothesis) of what the ledger does as the venue does: a seeded starting account,
fees that change at given times, take-profits that rest as maker orders, per-coin maintenance
margins and per-coin leverage caps (issue 13, "venue realism")."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.config import AccountSeed, SeedPosition
from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import BP, Ledger, liquidation_price, seed_value
from arena_tui.engine.market.base import Candles
from arena_tui.engine.risk import RiskLimits, validate

T0 = 1_761_004_800_000  # 2025-10-21 00:00 UTC
M5 = 300_000
PRICES = {"BTC": 110_000.0, "ETH": 4_000.0, "DOGE": 0.2}

prices = st.floats(min_value=0.5, max_value=1.5)  # a multiple of the coin's price
bps = st.sampled_from([0.0, 1.2, 1.5, 4.0, 4.5, 10.0])


@st.composite
def seeds(draw):
    coins = draw(st.lists(st.sampled_from(sorted(PRICES)), unique=True, max_size=3))
    positions = []
    for coin in coins:
        entry = PRICES[coin] * draw(prices)
        lev = draw(st.floats(min_value=1.0, max_value=20.0))
        # marked within half its margin of the entry (a seed deeper under water is a liquidated position)
        move = draw(st.floats(min_value=-1.0, max_value=1.0)) * 0.5 / lev
        positions.append(SeedPosition(
            coin=coin, side=draw(st.sampled_from(("long", "short"))), quantity=draw(st.floats(min_value=1e-3, max_value=1e3)) * 1000 / entry,
            entry_price=entry, leverage=lev, mark_price=draw(st.sampled_from([0.0, entry * (1 + move)])),
            stop_loss=None, profit_target=None,
        ))
    return AccountSeed(cash=draw(st.floats(min_value=0.0, max_value=1e6)), starting_value=draw(st.sampled_from([0.0, 10_000.0])), positions=tuple(positions))


@settings(max_examples=300)
@given(seeds(), bps)
def test_a_seeded_account_is_worth_its_seed_value_and_closes_to_it_less_the_exit_fees(seed, fee):
    ledger = Ledger(10_000.0, taker_fee_bp=fee, slippage_bp=0.0)
    ledger.seed(seed, time=T0)
    assert ledger.account_value == seed_value(seed)  # the same sum in the same order: bit for bit
    assert ledger.starting_cash == (seed.starting_value or 10_000.0)
    assert ledger.fees_paid == 0.0 and ledger.fills == []
    marks = {p.coin: p.mark_price for p in ledger.positions.values()}
    value = ledger.account_value
    trades = ledger.close_all(marks, time=T0 + M5, reason="agent")
    exit_fees = sum(t.exit_fee for t in trades)
    assert math.isclose(ledger.cash, value - exit_fees, rel_tol=1e-12, abs_tol=1e-6)
    for t in trades:  # the seeded position's PnL is measured from its entry price
        assert t.entry_fee == 0.0 and math.isclose(t.realized_pnl, t.side * t.quantity * (t.exit_price - t.entry_price), rel_tol=1e-12, abs_tol=1e-9)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=20), bps, bps), max_size=4),
    st.integers(min_value=0, max_value=24),
    st.integers(min_value=0, max_value=24),
    bps, bps,
)
def test_every_fill_pays_the_fee_in_force_at_its_time(tiers, open_at, close_after, taker, maker):
    schedule = [(T0 + k * 3_600_000, t, m) for k, t, m in tiers]
    ledger = Ledger(1e9, taker_fee_bp=taker, maker_fee_bp=maker, slippage_bp=0.0, fee_schedule=schedule)

    def in_force(t: int) -> tuple[float, float]:
        rates = (taker, maker)
        for start, t_bp, m_bp in sorted(schedule):
            if start <= t:
                rates = (t_bp, m_bp)
        return rates

    t_open = T0 + open_at * 3_600_000
    t_close = t_open + close_after * 3_600_000
    fill = ledger.open("BTC", 1, 0.5, 100_000.0, 10.0, time=t_open)
    assert fill.fee == 0.5 * 100_000.0 * (in_force(t_open)[0] / BP)
    trade = ledger.close("BTC", 101_000.0, time=t_close, liquidity="maker")
    assert trade.exit_fee == 0.5 * 101_000.0 * (in_force(t_close)[1] / BP)
    assert ledger.fees_paid == fill.fee + trade.exit_fee
    # no tier in force yet: the base rates, as a ledger without a schedule
    plain = Ledger(1e9, taker_fee_bp=taker, maker_fee_bp=maker, slippage_bp=0.0)
    assert ledger.fee_bp("taker", T0 - 1) == plain.fee_bp("taker") and ledger.fee_bp("maker", T0 - 1) == plain.fee_bp("maker")


def _candle(o: float, h: float, lo: float, c: float, t: int = T0) -> Candles:
    f = lambda x: np.array([x], dtype=np.float64)  # noqa: E731
    return Candles("5m", np.array([t], dtype=np.int64), f(o), f(h), f(lo), f(c), f(1.0))


@settings(max_examples=300)
@given(
    st.sampled_from([1, -1]),
    st.floats(min_value=0.002, max_value=0.05),  # target distance
    st.floats(min_value=0.0, max_value=0.05),  # how far past the target the candle reaches
    st.booleans(),  # gapped through at the open
    st.sampled_from([0.0, 1.0, 25.0]),  # slippage
)
def test_a_resting_take_profit_fills_at_its_level_as_a_maker_unless_gapped(side, dist, beyond, gapped, slippage):
    entry = 100.0
    target = entry * (1 + side * dist)
    stop = entry * (1 - side * 0.2)
    extreme = target * (1 + side * beyond)
    if gapped:
        o = target * (1 + side * max(beyond, 1e-4))
    else:
        o = entry
    h, lo = (max(o, extreme), min(o, entry)) if side > 0 else (max(o, entry), min(o, extreme))
    results = {}
    for maker in (False, True):
        ledger = Ledger(1e6, taker_fee_bp=4.0, maker_fee_bp=1.2, slippage_bp=slippage, take_profit_maker=maker)
        ledger.open("ETH", side, 10.0, entry, 5.0, time=T0 - M5, stop_loss=stop, profit_target=target)
        (trade,) = ledger.settle({"ETH": _candle(o, h, lo, o)})
        fill = ledger.fills[-1]
        assert trade.exit_reason == "take_profit"
        if maker and not gapped:
            assert fill.liquidity == "maker" and trade.exit_price == target and trade.exit_fee == 10.0 * target * (1.2 / BP)
        else:
            ref = o if gapped else target
            assert fill.liquidity == "taker" and trade.exit_price == ref * (1 - side * slippage / BP)
        results[maker] = trade.net_pnl
    assert results[True] >= results[False]  # resting never costs more than crossing


@settings(max_examples=300)
@given(st.sampled_from([1, -1]), st.floats(min_value=0.001, max_value=0.2), st.floats(min_value=1.0, max_value=25.0))
def test_a_stop_loss_is_always_a_taker_fill(side, dist, lev):
    ledger = Ledger(1e6, taker_fee_bp=4.0, maker_fee_bp=1.2, slippage_bp=1.0, take_profit_maker=True,
                    maintenance_margin_rate=0.001)
    stop = 100.0 * (1 - side * dist / lev)
    ledger.open("SOL", side, 10.0, 100.0, lev, time=T0 - M5, stop_loss=stop, profit_target=100.0 * (1 + side * 0.5))
    low, high = (stop * 0.99, 100.0) if side > 0 else (100.0, stop * 1.01)
    (trade,) = ledger.settle({"SOL": _candle(100.0, high, low, 100.0)})
    assert trade.exit_reason in ("stop_loss", "liquidation") and ledger.fills[-1].liquidity == "taker"


@settings(max_examples=300)
@given(
    st.dictionaries(st.sampled_from(sorted(PRICES)), st.floats(min_value=0.0, max_value=0.05), max_size=3),
    st.floats(min_value=0.0, max_value=0.025),
    st.sampled_from(sorted(PRICES)),
    st.sampled_from([1, -1]),
    st.floats(min_value=1.0, max_value=19.0),
)
def test_each_coin_is_liquidated_at_its_own_maintenance_margin(rates, base, coin, side, lev):
    ledger = Ledger(1e9, slippage_bp=0.0, maintenance_margin_rate=base, coin_maintenance_margin=rates)
    mmr = rates.get(coin, base)
    assert ledger.mmr(coin) == mmr
    price = PRICES[coin]
    qty = 1000.0 / price
    ledger.open(coin, side, qty, price, lev, time=T0 - M5)
    pos = ledger.positions[coin]
    liq = liquidation_price(side, pos.entry_price, qty, pos.margin, mmr)
    assert pos.liquidation_price == liq
    if liq > 0:  # at its liquidation price the position's equity is its maintenance margin
        assert math.isclose(pos.margin + side * qty * (liq - pos.entry_price), qty * liq * mmr, rel_tol=1e-9, abs_tol=1e-9)
        # a candle reaching just past it liquidates; one stopping just short does not
        short_of = liq * (1 + side * 1e-6)
        past = liq * (1 - side * 1e-6)
        for reach, liquidated in ((short_of, False), (past, True)):
            led = Ledger(1e9, slippage_bp=0.0, maintenance_margin_rate=base, coin_maintenance_margin=rates)
            led.open(coin, side, qty, price, lev, time=T0 - M5)
            hi, lo = (price, reach) if side > 0 else (reach, price)
            out = led.settle({coin: _candle(price, hi, lo, price)})
            assert bool(out) == liquidated and (not out or out[0].exit_reason == "liquidation")


@settings(max_examples=300)
@given(st.sampled_from(sorted(PRICES)), st.floats(min_value=1.0, max_value=40.0), st.floats(min_value=1.0, max_value=40.0))
def test_an_entry_above_its_coins_leverage_cap_is_refused(coin, cap, lev):
    limits = RiskLimits(max_leverage=40.0, coin_max_leverage=((coin, cap),))
    ledger = Ledger(1e7)
    price = PRICES[coin]
    decision = Decision(coin=coin, signal="buy_to_enter", quantity=1000.0 / price, leverage=lev,
                        profit_target=price * 1.1, stop_loss=price * 0.95, confidence=0.6)
    result = validate({coin: decision}, ledger.snapshot(), {coin: price}, limits)
    if lev <= cap:
        assert [o.coin for o in result.orders] == [coin]
    else:
        assert [r.rule for r in result.rejections] == ["leverage_bounds"]
        assert f"(the venue's maximum for {coin})" in result.rejections[0].reason or cap >= 40.0
    other = "BTC" if coin != "BTC" else "ETH"  # another coin keeps the global cap
    assert limits.max_leverage_for(other) == 40.0


# --- adding, partial closes, reversals ------------------------------------------------------------

quantities = st.floats(min_value=0.01, max_value=10.0)
levels = st.floats(min_value=50.0, max_value=150.0)


@settings(max_examples=300)
@given(st.sampled_from([1, -1]), quantities, levels, quantities, levels, levels, st.floats(min_value=1.0, max_value=20.0), bps)
def test_adding_averages_the_entry_and_settles_as_the_two_parts_would(side, q1, p1, q2, p2, p3, lev, fee):
    ledger = Ledger(1e9, taker_fee_bp=fee, slippage_bp=0.0)
    f1 = ledger.open("SOL", side, q1, p1, lev, time=T0)
    f2 = ledger.add("SOL", side, q2, p2, lev, time=T0 + M5, stop_loss=None, profit_target=None)
    pos = ledger.positions["SOL"]
    assert pos.quantity == q1 + q2 and pos.entry_time == T0
    assert math.isclose(pos.entry_price, (q1 * p1 + q2 * p2) / (q1 + q2), rel_tol=1e-12)
    assert math.isclose(pos.margin, f1.margin + f2.margin, rel_tol=1e-12) and pos.entry_fee == f1.fee + f2.fee
    assert math.isclose(pos.leverage, lev, rel_tol=1e-9)  # both parts at the same leverage
    assert math.isclose(ledger.cash, 1e9 - f1.margin - f1.fee - f2.margin - f2.fee, rel_tol=1e-15)
    trade = ledger.close("SOL", p3, time=T0 + 2 * M5)
    two = side * (q1 * (p3 - p1) + q2 * (p3 - p2))
    if pos.margin + two > 0:  # (not past the liquidation price)
        assert math.isclose(trade.realized_pnl, two, rel_tol=1e-9, abs_tol=1e-9)
    # a short cannot be added to a long, nor to nothing
    for coin, wrong in (("SOL", -side), ("ETH", side)):
        try:
            ledger.add(coin, wrong, 1.0, 100.0, 2.0, time=T0)
        except ValueError:
            pass
        else:
            raise AssertionError("added to no position")


@settings(max_examples=300)
@given(st.sampled_from([1, -1]), quantities, levels, st.floats(min_value=0.05, max_value=0.95), levels, bps)
def test_a_partial_close_then_the_rest_equals_one_close(side, q, p1, part, p2, fee):
    one, two = (Ledger(1e9, taker_fee_bp=fee, slippage_bp=0.0) for _ in range(2))
    for led in (one, two):
        led.open("BTC", side, q, p1, 10.0, time=T0)
    whole = one.close("BTC", p2, time=T0 + M5)
    a = two.close("BTC", p2, time=T0 + M5, quantity=q * part)
    assert "BTC" in two.positions and math.isclose(two.positions["BTC"].quantity, q * (1 - part), rel_tol=1e-12)
    b = two.close("BTC", p2, time=T0 + M5)
    assert math.isclose(a.realized_pnl + b.realized_pnl, whole.realized_pnl, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(a.exit_fee + b.exit_fee, whole.exit_fee, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(two.cash, one.cash, rel_tol=1e-12)


def _decide(coin: str, signal: str, **kw) -> dict[str, Decision]:
    return {coin: Decision(coin=coin, signal=signal, **kw)}


@settings(max_examples=200)
@given(st.sampled_from([1, -1]), st.floats(min_value=0.2, max_value=10.0), st.floats(min_value=0.01, max_value=1.2), st.booleans(), st.booleans(), st.booleans())
def test_the_risk_rules_add_close_part_and_reverse_only_when_allowed(side, q, share, adding, partial, reversal):
    """(Quantities from 0.2 coins at $100: above the $10 minimum notional.)"""
    price = 100.0
    limits = RiskLimits(max_leverage=20.0, allow_adding=adding, allow_partial_close=partial, allow_reversal=reversal)
    ledger = Ledger(1e7, slippage_bp=0.0)
    ledger.open("ETH", side, q, price, 5.0, time=T0)
    entry = dict(quantity=q, leverage=5.0, confidence=0.7)
    same = "buy_to_enter" if side > 0 else "sell_to_enter"
    other = "sell_to_enter" if side > 0 else "buy_to_enter"
    plan = lambda s: dict(profit_target=price * (1 + s * 0.1), stop_loss=price * (1 - s * 0.05))  # noqa: E731

    r = validate(_decide("ETH", same, **entry, **plan(side)), ledger.snapshot(), {"ETH": price}, limits)
    assert [o.action for o in r.orders] == (["open"] if adding else []) and ([x.rule for x in r.rejections] == ([] if adding else ["entry_only_when_flat"]))

    r = validate(_decide("ETH", other, **entry, **plan(-side)), ledger.snapshot(), {"ETH": price}, limits)
    if reversal:
        assert [(o.action, o.side) for o in r.orders] == [("close", side), ("open", -side)]
        led = Ledger(1e7, slippage_bp=0.0)
        led.open("ETH", side, q, price, 5.0, time=T0)
        for o in r.orders:
            led.execute(o, time=T0 + M5)
        assert led.positions["ETH"].side == -side and len(led.trades) == 1
    else:
        assert r.orders == () and [x.rule for x in r.rejections] == ["hold_or_close_when_open"]

    r = validate(_decide("ETH", "close", quantity=-q * share if side < 0 else q * share), ledger.snapshot(), {"ETH": price}, limits)
    (order,) = r.orders
    partial_close = partial and share < 0.999
    assert math.isclose(order.quantity, q * share if partial_close else q, rel_tol=1e-12)
    led = Ledger(1e7, slippage_bp=0.0)
    led.open("ETH", side, q, price, 5.0, time=T0)
    led.execute(order, time=T0 + M5)
    assert ("ETH" in led.positions) == partial_close


# --- cross margin ---------------------------------------------------------------------------------


@st.composite
def books(draw):
    """A cross-margin ledger with 1-3 positions, marked somewhere near their entries."""
    cash = draw(st.floats(min_value=0.0, max_value=50_000.0))
    rates = {"BTC": 0.0125, "ETH": 0.02, "DOGE": 0.05}
    ledger = Ledger(1e9, slippage_bp=0.0, taker_fee_bp=draw(bps), margin_mode="cross", coin_maintenance_margin=rates)
    coins = draw(st.lists(st.sampled_from(sorted(PRICES)), unique=True, min_size=1, max_size=3))
    for coin in coins:
        lev = draw(st.floats(min_value=1.0, max_value=9.0))
        ledger.open(coin, draw(st.sampled_from([1, -1])), draw(st.floats(min_value=100.0, max_value=20_000.0)) / PRICES[coin],
                    PRICES[coin], lev, time=T0)
    ledger.cash = cash  # what is left free, whatever was paid
    ledger.mark({c: PRICES[c] * draw(st.floats(min_value=0.95, max_value=1.05)) for c in coins})
    return ledger


@settings(max_examples=300)
@given(books())
def test_at_a_cross_liquidation_price_the_account_equity_is_the_maintenance_margin(ledger):
    for coin, pos in ledger.positions.items():
        liq = pos.liquidation_price
        if liq <= 0:
            continue
        # the account valued with this coin at its liquidation price, the others at their marks
        equity = ledger.cash
        maintenance = 0.0
        for c, p in ledger.positions.items():
            price = liq if c == coin else p.mark_price
            equity += p.margin + p.side * p.quantity * (price - p.entry_price)
            maintenance += p.quantity * price * ledger.mmr(c)
        assert math.isclose(equity, maintenance, rel_tol=1e-7, abs_tol=1e-6), (coin, equity, maintenance)


@settings(max_examples=300)
@given(st.sampled_from(sorted(PRICES)), st.sampled_from([1, -1]), st.floats(min_value=1.0, max_value=9.0), st.floats(min_value=0.0, max_value=1e5))
def test_free_cash_moves_a_cross_liquidation_price_away_and_none_makes_it_the_isolated_one(coin, side, lev, cash):
    price = PRICES[coin]
    ledgers = {}
    for mode, free in (("isolated", cash), ("cross", cash), ("cross-empty", 0.0)):
        led = Ledger(1e9, slippage_bp=0.0, margin_mode="cross" if mode.startswith("cross") else "isolated")
        led.open(coin, side, 1000.0 / price, price, lev, time=T0)
        led.cash = free
        led.mark({coin: price})
        ledgers[mode] = led.positions[coin].liquidation_price
    assert ledgers["cross-empty"] == ledgers["isolated"]
    assert side * (ledgers["cross"] - ledgers["isolated"]) <= 0  # farther from the price, or the same


@settings(max_examples=300)
@given(books(), st.floats(min_value=0.5, max_value=1.5))
def test_a_cross_account_never_ends_below_zero_cash_and_its_liquidations_fill_at_the_level(ledger, shock):
    coin = next(iter(ledger.positions))
    pos = ledger.positions[coin]
    reach = pos.mark_price * shock
    hi, lo = max(pos.mark_price, reach), min(pos.mark_price, reach)
    liq = pos.liquidation_price
    out = ledger.settle({coin: _candle(pos.mark_price, hi, lo, reach, t=T0 + M5)})
    assert ledger.cash >= 0.0
    for t in out:
        if getattr(t, "exit_reason", None) == "liquidation":
            assert t.exit_reference_price in (liq, pos.mark_price)  # at its level (or a gapped open)
