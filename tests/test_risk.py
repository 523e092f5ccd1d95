"""Risk rules: each rule refuses what it should with its id and a sentence; nothing ever raises."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.risk import RULES, Order, Rejection, RiskLimits, RiskResult, validate

T0 = 1_760_659_200_000
PRICES = {"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0, "BNB": 1_000.0, "XRP": 2.5, "DOGE": 0.2}


def long(coin: str = "BTC", **kw) -> Decision:
    p = PRICES[coin]
    base = dict(quantity=1_000.0 / p, leverage=10.0, stop_loss=p * 0.98, profit_target=p * 1.04, confidence=0.7, risk_usd=20.0)
    base.update(kw)
    return Decision(coin, "buy_to_enter", **base)


def short(coin: str = "ETH", **kw) -> Decision:
    p = PRICES[coin]
    base = dict(quantity=1_000.0 / p, leverage=10.0, stop_loss=p * 1.02, profit_target=p * 0.96, confidence=0.7)
    base.update(kw)
    return Decision(coin, "sell_to_enter", **base)


def only_rejection(result: RiskResult) -> Rejection:
    assert result.orders == ()
    assert len(result.rejections) == 1
    rej = result.rejections[0]
    assert rej.rule in RULES
    assert rej.reason.endswith(".") and rej.coin in rej.reason
    return rej


def test_rules_each_have_an_id_and_a_sentence():
    assert len(RULES) >= 15
    for rule, text in RULES.items():
        assert rule.replace("_", "").isalpha() and rule == rule.lower()
        assert text[0].isupper() and text.endswith(".")


def test_a_valid_long_becomes_an_order_with_risk_recomputed():
    led = Ledger()
    res = validate({"BTC": long(confidence=70.0, risk_usd="25")}, led.snapshot(), PRICES)
    assert res.rejections == ()
    (order,) = res.orders
    assert isinstance(order, Order)
    assert (order.coin, order.action, order.side, order.leverage) == ("BTC", "open", 1, 10.0)
    assert order.quantity == pytest.approx(0.01)
    assert order.confidence == pytest.approx(0.7)  # 70 read as a percentage
    assert order.risk_usd == pytest.approx(0.01 * 2_000.0)  # quantity x |entry - stop|
    assert order.risk_usd_claimed == 25.0
    assert order.reference_price == 100_000.0
    assert order.margin == pytest.approx(100.0) and order.fee == pytest.approx(1_000.0 * 4.5e-4)
    fill = led.execute(order, time=T0)
    assert fill.margin == order.margin and fill.fee == order.fee


def test_hold_gives_nothing():
    assert validate({"BTC": Decision("BTC", "hold")}, Ledger().snapshot(), PRICES) == RiskResult((), ())


@pytest.mark.parametrize(
    "decisions, rule, words",
    [
        ({"PEPE": long("BTC")}, "unknown_coin", "PEPE is not traded"),
        ({"BTC": Decision("BTC", "yolo")}, "unknown_signal", "'yolo'"),
        ({"BTC": Decision("BTC", "close")}, "close_without_position", "no open position"),
        ({"BTC": long(quantity=0.0)}, "positive_quantity", "quantity 0"),
        ({"BTC": long(quantity=-1.0)}, "positive_quantity", "quantity -1"),
        ({"BTC": long(quantity=None)}, "positive_quantity", "the quantity is missing or not a finite number"),  # issue #17: not "quantity None"
        ({"BTC": long(quantity=math.nan)}, "positive_quantity", "the quantity is not a number (NaN)"),  # issue #17: not "quantity nan"
        ({"BTC": long(leverage=25.0)}, "leverage_bounds", "leverage 25 is outside the allowed 1-20x"),
        ({"BTC": long(leverage=0.5)}, "leverage_bounds", "leverage 0.5"),
        ({"BTC": long(leverage=None)}, "leverage_bounds", "the leverage is missing or not a finite number"),
        ({"BTC": long(confidence=150.0)}, "confidence_range", "confidence 150"),
        ({"BTC": long(confidence=-0.1)}, "confidence_range", "confidence -0.1"),
        ({"BTC": long(stop_loss=None)}, "stop_loss_required", "no stop-loss"),
        ({"BTC": long(stop_loss=-5.0)}, "stop_loss_required", "stop-loss -5"),
        ({"BTC": long(stop_loss=101_000.0)}, "stop_loss_side", "below the entry price 100,000, but it is 101,000"),
        ({"ETH": short(stop_loss=3_900.0)}, "stop_loss_side", "above the entry price 4,000, but it is 3,900"),
        ({"BTC": long(profit_target=None)}, "profit_target_required", "no profit-target"),
        ({"BTC": long(profit_target=99_000.0)}, "profit_target_side", "above the entry price 100,000"),
        ({"ETH": short(profit_target=4_100.0)}, "profit_target_side", "below the entry price 4,000"),
        ({"DOGE": long("DOGE", quantity=10.0)}, "min_notional", "$2.00 of notional, below the $10.00 minimum"),
        ({"BTC": long(quantity=1.0)}, "margin_within_cash", "exceeds the $10,000.00 of free cash"),
        ({"BTC": long(quantity=1e300)}, "margin_within_cash", "margin $1e+304 + fee $4.5e+301 = $1e+304 exceeds"),
        ({"BTC": long(quantity=1e305)}, "margin_within_cash", "too large"),
    ],
)
def test_each_rule_refuses_with_its_id_and_numbers(decisions, rule, words):
    rej = only_rejection(validate(decisions, Ledger().snapshot(), PRICES))
    assert rej.rule == rule
    assert words in rej.reason, rej.reason
    assert rej.decision is next(iter(decisions.values()))


def test_an_unknown_coin_message_lists_the_market():
    rej = only_rejection(validate({"PEPE": long("BTC")}, Ledger().snapshot(), {"BTC": 1.0}))
    assert "coins: BTC" in rej.reason
    rej = only_rejection(validate({"BTC": long()}, Ledger().snapshot(), {"BTC": math.nan}))
    assert rej.rule == "unknown_coin"


def test_optional_stop_and_target_when_config_allows():
    limits = RiskLimits(require_stop_loss=False, require_profit_target=False)
    res = validate({"BTC": long(stop_loss=None, profit_target=None)}, Ledger().snapshot(), PRICES, limits)
    (order,) = res.orders
    assert order.stop_loss is None and order.risk_usd is None


def test_with_a_position_open_only_hold_or_close():
    led = Ledger()
    led.open("BTC", 1, 0.01, 100_000.0, 10.0, time=T0)
    same = only_rejection(validate({"BTC": long()}, led.snapshot(), PRICES))
    assert same.rule == "entry_only_when_flat" and "open long of 0.01 coins" in same.reason
    opposite = only_rejection(validate({"BTC": Decision("BTC", "sell_to_enter", quantity=0.01, leverage=5, stop_loss=101_000, profit_target=99_000)}, led.snapshot(), PRICES))
    assert opposite.rule == "hold_or_close_when_open" and "before going short" in opposite.reason
    res = validate({"BTC": Decision("BTC", "close_position", confidence=80)}, led.snapshot(), PRICES)
    (order,) = res.orders
    assert (order.action, order.side, order.quantity, order.leverage) == ("close", 1, 0.01, 10.0)
    assert order.confidence == pytest.approx(0.8)
    trade = led.execute(order, time=T0 + 1)
    assert trade.exit_reason == "agent" and led.positions == {}


def test_one_decision_per_coin():
    res = validate({"btc": long(), "BTC": long()}, Ledger().snapshot(), PRICES)
    assert len(res.orders) == 1 and res.orders[0].coin == "BTC"
    (rej,) = res.rejections
    assert rej.rule == "one_position_per_coin"


def test_max_open_positions_counts_orders_of_the_same_call():
    led = Ledger(100_000.0)
    led.open("BTC", 1, 0.01, 100_000.0, 10.0, time=T0)
    limits = RiskLimits(max_open_positions=2)
    res = validate({"ETH": short(), "SOL": long("SOL")}, led.snapshot(), PRICES, limits)
    assert [o.coin for o in res.orders] == ["ETH"]
    (rej,) = res.rejections
    assert rej.rule == "max_open_positions" and "2 positions are already open" in rej.reason and "at most 2" in rej.reason


def test_max_margin_usage():
    limits = RiskLimits(max_margin_usage=0.5)
    # 2 x $3,000 of margin: the second would use 60 % of the $10,000 account
    d = {"BTC": long(quantity=0.3), "ETH": short(quantity=7.5)}
    res = validate(d, Ledger().snapshot(), PRICES, limits)
    assert [o.coin for o in res.orders] == ["BTC"]
    (rej,) = res.rejections
    assert rej.rule == "max_margin_usage" and "above 50% of the $10,000.00 account value" in rej.reason


def test_margin_within_cash_accounts_for_earlier_orders_and_closes():
    led = Ledger(10_000.0)
    led.open("SOL", 1, 40.0, 200.0, 1.0, time=T0)  # $8,000 of margin, ~$1,996 free
    snap = led.snapshot()
    # two entries of ~$1,200 margin each: the second no longer fits
    d = {"BTC": long(quantity=0.12), "ETH": short(quantity=3.0)}
    res = validate(d, snap, PRICES)
    assert [o.coin for o in res.orders] == ["BTC"]
    assert res.rejections[0].rule == "margin_within_cash"
    # closing SOL in the same answer frees its margin first, whatever the decision order
    d2 = {"BTC": long(quantity=0.12), "ETH": short(quantity=3.0), "SOL": Decision("SOL", "close")}
    res2 = validate(d2, snap, PRICES)
    assert [(o.coin, o.action) for o in res2.orders] == [("SOL", "close"), ("BTC", "open"), ("ETH", "open")]
    for order in res2.orders:  # executes without a ValueError, cash never negative
        led.execute(order, time=T0 + 1)
        assert led.cash >= 0


def test_cash_check_is_exact_at_the_boundary():
    """An entry that uses every cent of free cash is accepted and the ledger takes it."""
    led = Ledger(1_000.0, slippage_bp=3.0)
    price = 200.0
    fill = price * (1 + 3e-4)
    qty = 1_000.0 / (fill / 10.0 + fill * 4.5e-4)  # margin + fee == cash, up to rounding
    limits = RiskLimits(max_margin_usage=1.0)
    under = validate({"SOL": long("SOL", quantity=qty * (1 - 1e-12), leverage=10.0)}, led.snapshot(), {"SOL": price}, limits, slippage_bp=3.0)
    over = validate({"SOL": long("SOL", quantity=qty * (1 + 1e-9), leverage=10.0)}, led.snapshot(), {"SOL": price}, limits, slippage_bp=3.0)
    assert over.orders == () and over.rejections[0].rule == "margin_within_cash"
    (order,) = under.orders
    led.execute(order, time=T0)  # the ledger's own check agrees to the last bit
    assert 0.0 <= led.cash < 1e-9


def test_daily_loss_limit_stops_entries_not_closes():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.05, 100_000.0, 10.0, time=T0)
    led.mark({"BTC": 90_000.0})  # -500 unrealized: -5 %
    limits = RiskLimits(daily_loss_limit_pct=5.0)
    d = {"ETH": short(), "BTC": Decision("BTC", "close")}
    prices = dict(PRICES, BTC=90_000.0)
    res = validate(d, led.snapshot(), prices, limits, day_start_value=10_000.0)
    assert [o.action for o in res.orders] == ["close"]
    (rej,) = res.rejections
    assert rej.rule == "daily_loss_limit" and "down 5.02% today" in rej.reason and "5% daily loss limit" in rej.reason
    # off without a day-start value or without a limit
    assert len(validate(d, led.snapshot(), prices, limits).orders) == 2
    assert len(validate(d, led.snapshot(), prices, RiskLimits(), day_start_value=10_000.0).orders) == 2


def test_rejections_come_back_in_decision_order():
    d = {"BTC": long(leverage=99.0), "ETH": Decision("ETH", "close"), "SOL": long("SOL", quantity=-1.0)}
    res = validate(d, Ledger().snapshot(), PRICES)
    assert [r.coin for r in res.rejections] == ["BTC", "ETH", "SOL"]


class Weird:
    """An object whose str(), repr() and float() all raise."""

    def __str__(self):
        raise RuntimeError("no")

    def __float__(self):
        raise RuntimeError("no")

    __repr__ = __str__


HOSTILE = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.text(max_size=8),
    st.booleans(),
    st.just(Weird()),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=500)
@given(
    coin=st.sampled_from(["BTC", "ETH", "DOGE", "PEPE", "", "btc"]),
    signal=st.one_of(st.sampled_from(["buy_to_enter", "sell_to_enter", "hold", "close", "close_position"]), HOSTILE),
    quantity=HOSTILE,
    leverage=HOSTILE,
    stop=HOSTILE,
    target=HOSTILE,
    confidence=HOSTILE,
    risk=HOSTILE,
    text=HOSTILE,
    with_position=st.booleans(),
)
def test_validate_never_raises_whatever_the_decision_holds(coin, signal, quantity, leverage, stop, target, confidence, risk, text, with_position):
    led = Ledger()
    if with_position:
        led.open("BTC", 1, 0.01, 100_000.0, 10.0, time=T0)
    d = Decision(coin, signal, quantity, leverage, target, stop, text, confidence, risk, text)  # type: ignore[arg-type]
    res = validate({coin: d, "ETH": d}, led.snapshot(), PRICES, RiskLimits(daily_loss_limit_pct=1.0), day_start_value=20_000.0)
    for rej in res.rejections:
        assert rej.rule in RULES and isinstance(rej.reason, str) and rej.reason
    for order in res.orders:
        assert math.isfinite(order.quantity) and order.quantity > 0
        led.execute(order, time=T0 + 1)
        assert led.cash >= 0
