"""Unit tests of the paper perps ledger: every path of open, close, mark, settle (SL/TP/liquidation/funding)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arena_tui.engine.account import Fill, FundingPayment, Trade
from arena_tui.engine.ledger import Ledger, liquidation_price
from arena_tui.engine.market.base import Candles, FundingHistory

T0 = 1_760_659_200_000  # 2025-10-17 00:00 UTC
M5 = 300_000
H8 = 8 * 3_600_000


def candles(*rows: tuple[float, float, float, float], start: int = T0, tf: str = "5m") -> Candles:
    """5-minute candles from (open, high, low, close) rows, the first opening at ``start``."""
    step = {"5m": M5, "1h": 3_600_000}[tf]
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    n = arr.shape[0]
    return Candles(
        tf,
        np.arange(n, dtype=np.int64) * step + start,
        arr[:, 0].copy(),
        arr[:, 1].copy(),
        arr[:, 2].copy(),
        arr[:, 3].copy(),
        np.ones(n),
    )


def funding(*pairs: tuple[int, float]) -> FundingHistory:
    ts = np.asarray([p[0] for p in pairs], dtype=np.int64)
    rate = np.asarray([p[1] for p in pairs], dtype=np.float64)
    return FundingHistory(ts, rate, H8)


def value_identity(ledger: Ledger) -> float:
    return ledger.cash + sum(p.margin + p.unrealized_pnl for p in ledger.positions.values())


# -- open ------------------------------------------------------------------------------------------


def test_open_long_posts_margin_and_taker_fee():
    led = Ledger(10_000.0)
    fill = led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0, stop_loss=95_000.0, profit_target=110_000.0, confidence=0.7)
    assert isinstance(fill, Fill)
    assert fill.action == "open" and fill.reason == "agent" and fill.liquidity == "taker"
    assert fill.price == fill.reference_price == 100_000.0
    assert fill.notional == pytest.approx(10_000.0)
    assert fill.margin == pytest.approx(1_000.0)
    assert fill.fee == pytest.approx(4.5)  # 10,000 x 4.5 bp
    assert led.cash == pytest.approx(10_000.0 - 1_000.0 - 4.5)
    pos = led.positions["BTC"]
    assert (pos.side, pos.quantity, pos.entry_price, pos.leverage) == (1, 0.1, 100_000.0, 10.0)
    assert pos.entry_fee == fill.fee and pos.margin == fill.margin
    assert pos.stop_loss == 95_000.0 and pos.profit_target == 110_000.0 and pos.confidence == 0.7
    assert pos.unrealized_pnl == 0.0
    assert led.account_value == pytest.approx(10_000.0 - 4.5)
    assert led.fills == [fill]


def test_open_short_and_slippage_moves_each_fill_against_the_trader():
    led = Ledger(10_000.0, slippage_bp=10.0)  # 0.1 %
    long_fill = led.open("BTC", 1, 0.01, 100_000.0, 5.0, time=T0)
    short_fill = led.open("ETH", -1, 1.0, 4_000.0, 5.0, time=T0)
    assert long_fill.price == pytest.approx(100_100.0)  # a buy fills higher
    assert short_fill.price == pytest.approx(3_996.0)  # a sell fills lower
    assert short_fill.fee == pytest.approx(3_996.0 * 4.5e-4)
    # marked at the reference price, each position starts with the slippage as a loss
    assert led.positions["BTC"].unrealized_pnl == pytest.approx(-1.0)
    assert led.positions["ETH"].unrealized_pnl == pytest.approx(-4.0)
    long_close = led.close("BTC", 100_000.0, time=T0 + M5)
    short_close = led.close("ETH", 4_000.0, time=T0 + M5)
    assert long_close.exit_price == pytest.approx(99_900.0)  # closing a long sells lower
    assert short_close.exit_price == pytest.approx(4_004.0)  # closing a short buys higher
    assert long_close.realized_pnl == pytest.approx(0.01 * (99_900.0 - 100_100.0))
    assert short_close.realized_pnl == pytest.approx(-(4_004.0 - 3_996.0))


def test_maker_fill_uses_maker_fee_and_no_slippage():
    led = Ledger(10_000.0, slippage_bp=10.0)
    fill = led.open("SOL", 1, 10.0, 200.0, 2.0, time=T0, liquidity="maker")
    assert fill.price == 200.0 and fill.liquidity == "maker"
    assert fill.fee == pytest.approx(2_000.0 * 1.5e-4)
    trade = led.close("SOL", 210.0, time=T0 + M5, liquidity="maker")
    assert trade.exit_price == 210.0
    assert trade.exit_fee == pytest.approx(2_100.0 * 1.5e-4)


# -- close -----------------------------------------------------------------------------------------


def test_close_long_realizes_pnl_and_returns_margin_pnl_minus_fee():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0, confidence=0.6)
    cash_after_open = led.cash
    trade = led.close("BTC", 102_000.0, time=T0 + 3 * M5)
    assert isinstance(trade, Trade)
    assert trade.realized_pnl == pytest.approx(200.0)
    assert trade.exit_fee == pytest.approx(10_200.0 * 4.5e-4)
    assert trade.net_pnl == pytest.approx(200.0 - 4.5 - 4.59)
    assert trade.exit_reason == "agent" and trade.holding_ms == 3 * M5 and trade.confidence == 0.6
    assert led.cash == pytest.approx(cash_after_open + 1_000.0 + 200.0 - 4.59)
    assert led.cash == pytest.approx(10_000.0 + trade.net_pnl)
    assert led.positions == {} and led.account_value == led.cash
    assert led.fills[-1].action == "close" and led.fills[-1].margin == pytest.approx(1_000.0)


def test_close_short_profits_when_price_falls():
    led = Ledger(10_000.0)
    led.open("ETH", -1, 2.0, 4_000.0, 20.0, time=T0)
    trade = led.close("ETH", 3_900.0, time=T0 + M5)
    assert trade.side == -1 and trade.side_name == "short"
    assert trade.realized_pnl == pytest.approx(200.0)
    assert led.cash == pytest.approx(10_000.0 + trade.net_pnl)
    assert led.realized_pnl == pytest.approx(200.0)
    assert led.fees_paid == pytest.approx(trade.entry_fee + trade.exit_fee)


def test_mark_values_positions_and_keeps_the_identity():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0)
    led.open("ETH", -1, 1.0, 4_000.0, 10.0, time=T0)
    led.mark({"BTC": 101_000.0, "ETH": 4_100.0, "SOL": 1.0})
    assert led.positions["BTC"].unrealized_pnl == pytest.approx(100.0)
    assert led.positions["ETH"].unrealized_pnl == pytest.approx(-100.0)
    assert led.positions["BTC"].notional == pytest.approx(10_100.0)
    assert led.account_value == value_identity(led)
    led.mark({"BTC": float("nan"), "ETH": -1.0})  # bad prices keep the last mark
    assert led.positions["BTC"].mark_price == 101_000.0 and led.positions["ETH"].mark_price == 4_100.0
    snap = led.snapshot()
    assert snap.account_value == led.account_value and snap.cash == led.cash
    assert snap.unrealized_pnl == pytest.approx(0.0) and len(snap.positions) == 2
    assert snap.fees_paid == led.fees_paid


def test_close_all_and_execute():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.01, 100_000.0, 5.0, time=T0)
    led.open("ETH", 1, 0.1, 4_000.0, 5.0, time=T0)
    led.mark({"BTC": 100_500.0, "ETH": 4_010.0})
    trades = led.close_all({"BTC": 101_000.0}, time=T0 + M5)
    assert [t.coin for t in trades] == ["BTC", "ETH"]
    assert trades[0].exit_price == 101_000.0 and trades[1].exit_price == 4_010.0  # ETH at its last mark
    assert all(t.exit_reason == "session_end" for t in trades)
    assert led.account_value == led.cash


# -- misuse ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        dict(side=1, quantity=0.0, price=100.0, leverage=2.0),
        dict(side=1, quantity=-1.0, price=100.0, leverage=2.0),
        dict(side=1, quantity=math.nan, price=100.0, leverage=2.0),
        dict(side=1, quantity=1.0, price=0.0, leverage=2.0),
        dict(side=1, quantity=1.0, price=math.inf, leverage=2.0),
        dict(side=1, quantity=1.0, price=100.0, leverage=0.0),
        dict(side=0, quantity=1.0, price=100.0, leverage=2.0),
        dict(side=1, quantity=1.0, price=100.0, leverage=40.0),  # 40 x 0.025 = 1: born liquidated
        dict(side=1, quantity=1_000.0, price=100.0, leverage=2.0),  # margin 50,000 > cash
    ],
)
def test_open_misuse_raises_value_error(args):
    led = Ledger(10_000.0)
    with pytest.raises(ValueError):
        led.open("BTC", args["side"], args["quantity"], args["price"], args["leverage"], time=T0)
    assert led.cash == 10_000.0 and led.positions == {} and led.fills == []


def test_open_twice_or_close_nothing_raises():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.01, 100_000.0, 5.0, time=T0)
    with pytest.raises(ValueError, match="already has an open position"):
        led.open("BTC", -1, 0.01, 100_000.0, 5.0, time=T0)
    with pytest.raises(ValueError, match="no open position"):
        led.close("ETH", 4_000.0, time=T0)
    with pytest.raises(ValueError):
        led.close("BTC", float("nan"), time=T0)
    with pytest.raises(ValueError):
        Ledger(-1.0)


# -- liquidation price -----------------------------------------------------------------------------


@pytest.mark.parametrize("side", [1, -1])
@pytest.mark.parametrize("leverage", [2.0, 10.0, 20.0, 35.0])
def test_liquidation_price_is_where_equity_equals_maintenance_margin(side, leverage):
    mmr = 0.025
    led = Ledger(1e6, maintenance_margin_rate=mmr)
    led.open("BTC", side, 1.0, 100_000.0, leverage, time=T0)
    pos = led.positions["BTC"]
    liq = pos.liquidation_price
    # closed form: long E(1 - 1/L)/(1 - mmr), short E(1 + 1/L)/(1 + mmr)
    expected = 100_000.0 * (1 - side / leverage) / (1 - side * mmr)
    assert liq == pytest.approx(expected, rel=1e-12)
    equity = pos.margin + side * pos.quantity * (liq - pos.entry_price)
    assert equity == pytest.approx(pos.quantity * liq * mmr, rel=1e-9)
    assert equity > 0  # liquidation comes while the position still has equity
    assert side * (pos.entry_price - liq) > 0  # on the losing side of the entry


def test_a_1x_long_has_no_liquidation_price():
    assert liquidation_price(1, 100.0, 1.0, 100.0, 0.025) == 0.0
    assert liquidation_price(-1, 100.0, 1.0, 100.0, 0.025) == pytest.approx(200.0 / 1.025)


# -- settle: stop-loss / take-profit / liquidation --------------------------------------------------


def open_long(led: Ledger, **kw) -> None:
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0, stop_loss=kw.get("stop", 98_000.0), profit_target=kw.get("target", 103_000.0))


def test_stop_loss_fills_at_the_level_inside_a_candle():
    led = Ledger(10_000.0)
    open_long(led)
    out = led.settle({"BTC": candles((100_000, 100_500, 99_000, 99_500), (99_500, 99_600, 97_500, 97_800))})
    assert len(out) == 1 and isinstance(out[0], Trade)
    trade = out[0]
    assert trade.exit_reason == "stop_loss" and trade.exit_price == 98_000.0
    assert trade.exit_time == T0 + 2 * M5  # the close time of the candle that hit it
    assert trade.realized_pnl == pytest.approx(-200.0)
    assert "BTC" not in led.positions
    assert led.fills[-1].reason == "stop_loss" and led.fills[-1].reference_price == 98_000.0


@pytest.mark.parametrize("side", [1, -1])
def test_touching_a_level_exactly_fills_it(side):
    led = Ledger(10_000.0)
    led.open("BTC", side, 0.1, 100_000.0, 10.0, time=T0, stop_loss=100_000.0 - side * 2_000, profit_target=100_000.0 + side * 3_000)
    hi, lo = (100_500, 98_000) if side > 0 else (102_000, 99_500)
    (trade,) = led.settle({"BTC": candles((100_000, hi, lo, 100_000))})
    assert trade.exit_reason == "stop_loss" and trade.exit_price == 100_000.0 - side * 2_000
    led.open("BTC", side, 0.1, 100_000.0, 10.0, time=T0 + M5, profit_target=100_000.0 + side * 3_000)
    hi, lo = (103_000, 99_900) if side > 0 else (100_100, 97_000)
    (trade,) = led.settle({"BTC": candles((100_000, hi, lo, 100_000), start=T0 + M5)})
    assert trade.exit_reason == "take_profit" and trade.exit_price == 100_000.0 + side * 3_000
    led.open("BTC", side, 0.1, 100_000.0, 20.0, time=T0 + 2 * M5)
    liq = led.positions["BTC"].liquidation_price
    hi, lo = (100_000, liq) if side > 0 else (liq, 100_000)
    (trade,) = led.settle({"BTC": candles((100_000, hi, lo, 100_000), start=T0 + 2 * M5)})
    assert trade.exit_reason == "liquidation" and trade.exit_price == liq


def test_take_profit_fills_at_the_level():
    led = Ledger(10_000.0)
    open_long(led)
    (trade,) = led.settle({"BTC": candles((100_000, 103_500, 99_900, 103_200))})
    assert trade.exit_reason == "take_profit" and trade.exit_price == 103_000.0


def test_stop_gapped_through_fills_at_the_open():
    led = Ledger(10_000.0)
    open_long(led)
    (trade,) = led.settle({"BTC": candles((100_000, 100_100, 99_800, 99_900), (97_000, 97_500, 96_800, 97_200))})
    assert trade.exit_reason == "stop_loss" and trade.exit_price == 97_000.0  # worse than the stop


def test_target_gapped_through_fills_at_the_better_open():
    led = Ledger(10_000.0)
    open_long(led)
    (trade,) = led.settle({"BTC": candles((100_000, 100_100, 99_800, 99_900), (104_000, 104_100, 97_000, 104_000))})
    # the open is already past the target: the target fired first, even though the low passed the stop
    assert trade.exit_reason == "take_profit" and trade.exit_price == 104_000.0


def test_when_one_candle_touches_stop_and_target_the_stop_wins():
    led = Ledger(10_000.0)
    open_long(led)
    (trade,) = led.settle({"BTC": candles((100_000, 103_500, 97_500, 101_000))})
    assert trade.exit_reason == "stop_loss" and trade.exit_price == 98_000.0


@pytest.mark.parametrize(
    "row, reason, price",
    [
        ((4_000, 4_150, 3_990, 4_100), "stop_loss", 4_120.0),  # high reaches the stop above
        ((4_000, 4_010, 3_750, 3_800), "take_profit", 3_800.0),  # low reaches the target below
        ((4_200, 4_250, 4_150, 4_200), "stop_loss", 4_200.0),  # gap up through the stop: the open
        ((3_700, 3_750, 3_650, 3_700), "take_profit", 3_700.0),  # gap down through the target: the open
        ((4_000, 4_150, 3_750, 4_000), "stop_loss", 4_120.0),  # both touched: stop
    ],
)
def test_short_exits_mirror_the_long(row, reason, price):
    led = Ledger(10_000.0)
    led.open("ETH", -1, 1.0, 4_000.0, 5.0, time=T0, stop_loss=4_120.0, profit_target=3_800.0)
    (trade,) = led.settle({"ETH": candles(row)})
    assert trade.exit_reason == reason and trade.exit_price == price


def test_liquidation_at_the_liquidation_price_before_equity_goes_negative():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 20.0, time=T0)  # no stop
    pos = led.positions["BTC"]
    liq = pos.liquidation_price
    assert liq == pytest.approx(100_000.0 * 0.95 / 0.975)
    cash_before = led.cash
    (trade,) = led.settle({"BTC": candles((100_000, 100_000, 96_000, 96_500))})
    assert trade.exit_reason == "liquidation" and trade.exit_price == liq
    returned = led.cash - cash_before
    # what is left is the maintenance margin minus the exit fee, still positive
    assert returned == pytest.approx(0.1 * liq * 0.025 - 0.1 * liq * 4.5e-4)
    assert returned > 0
    assert trade.realized_pnl > -pos.margin


def test_liquidation_gapped_through_loses_at_most_the_margin():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 20.0, time=T0)
    margin = led.positions["BTC"].margin
    cash_before = led.cash
    (trade,) = led.settle({"BTC": candles((90_000, 91_000, 89_000, 90_500))})
    assert trade.exit_reason == "liquidation" and trade.exit_price == 90_000.0
    assert led.cash == cash_before  # nothing comes back, nothing more is taken
    assert trade.realized_pnl == -margin and trade.exit_fee == 0.0
    assert trade.net_pnl == pytest.approx(-margin - trade.entry_fee)


def test_a_stop_beyond_the_liquidation_price_never_fires_first():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 20.0, time=T0, stop_loss=90_000.0)
    (trade,) = led.settle({"BTC": candles((100_000, 100_000, 89_000, 89_500))})
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == led.fills[-1].reference_price == pytest.approx(100_000.0 * 0.95 / 0.975)


def test_short_liquidation_when_price_rises():
    led = Ledger(10_000.0)
    led.open("SOL", -1, 10.0, 200.0, 10.0, time=T0)
    liq = led.positions["SOL"].liquidation_price
    assert liq == pytest.approx(200.0 * 1.1 / 1.025)
    (trade,) = led.settle({"SOL": candles((200, 230, 199, 225))})
    assert trade.exit_reason == "liquidation" and trade.exit_price == liq


def test_exits_pay_slippage_too():
    led = Ledger(10_000.0, slippage_bp=5.0)
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0, stop_loss=98_000.0, profit_target=103_000.0)
    (trade,) = led.settle({"BTC": candles((100_000, 100_000, 97_000, 97_500))})
    assert led.fills[-1].reference_price == 98_000.0
    assert trade.exit_price == pytest.approx(98_000.0 * (1 - 5e-4))


def test_candles_before_entry_and_candles_already_settled_are_skipped():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0 + M5, stop_loss=98_000.0, profit_target=103_000.0)
    early = candles((100_000, 100_000, 90_000, 95_000), (100_000, 100_500, 99_500, 100_200))  # the 1st is before entry
    assert led.settle({"BTC": early}) == []
    assert led.positions["BTC"].mark_price == 100_200.0  # marked at the last close walked
    again = led.settle({"BTC": early})
    assert again == [] and led.positions["BTC"].mark_price == 100_200.0


def test_settle_returns_events_in_time_order_across_coins():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.01, 100_000.0, 5.0, time=T0, stop_loss=99_000.0, profit_target=101_000.0)
    led.open("ETH", 1, 0.1, 4_000.0, 5.0, time=T0, stop_loss=3_900.0, profit_target=4_100.0)
    out = led.settle(
        {
            "BTC": candles((100_000, 100_100, 99_900, 100_000), (100_000, 101_500, 99_950, 101_200)),
            "ETH": candles((4_000, 4_010, 3_850, 3_880)),
        }
    )
    assert [(e.coin, e.exit_reason) for e in out] == [("ETH", "stop_loss"), ("BTC", "take_profit")]
    assert [t.coin for t in led.trades] == ["ETH", "BTC"]
    assert out[0].exit_time < out[1].exit_time


# -- funding ---------------------------------------------------------------------------------------


def test_funding_sign_long_pays_short_receives_a_positive_rate():
    led = Ledger(10_000.0)
    start = T0 + H8 - 2 * M5
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=start)
    led.open("ETH", -1, 1.0, 4_000.0, 10.0, time=start)
    cash = led.cash
    margins = {c: p.margin for c, p in led.positions.items()}
    bars = {
        "BTC": candles((100_000, 100_100, 99_900, 100_050), (100_050, 100_300, 100_000, 100_200), (100_200, 100_300, 100_100, 100_250), start=start),
        "ETH": candles((4_000, 4_010, 3_990, 4_005), (4_005, 4_020, 4_000, 4_010), (4_010, 4_020, 4_000, 4_015), start=start),
    }
    rate = 1e-4
    out = led.settle(bars, {"BTC": funding((T0 + H8, rate)), "ETH": funding((T0 + H8, rate))})
    pays = [e for e in out if isinstance(e, FundingPayment)]
    assert [(p.coin, p.time) for p in pays] == [("BTC", T0 + H8), ("ETH", T0 + H8)]
    btc, eth = pays
    # the mark is the close of the candle closing at the funding time (the 2nd candle)
    assert btc.mark_price == 100_200.0 and eth.mark_price == 4_010.0
    assert btc.amount == pytest.approx(0.1 * 100_200.0 * 1e-4) and btc.amount > 0  # the long pays
    assert eth.amount == pytest.approx(-1.0 * 4_010.0 * 1e-4) and eth.amount < 0  # the short receives
    # isolated margin: funding moves the position's margin, not cash
    assert led.cash == cash
    assert led.positions["BTC"].margin == pytest.approx(margins["BTC"] - btc.amount)
    assert led.positions["ETH"].margin == pytest.approx(margins["ETH"] - eth.amount)
    assert led.funding_paid == pytest.approx(btc.amount + eth.amount)
    assert led.positions["BTC"].funding_paid == btc.amount
    # paying funding raises a long's liquidation price
    assert led.positions["BTC"].liquidation_price > liquidation_price(1, 100_000.0, 0.1, margins["BTC"], 0.025)
    trade = led.close("BTC", 100_250.0, time=start + 3 * M5)
    assert trade.funding_paid == btc.amount
    assert trade.net_pnl == pytest.approx(trade.realized_pnl - trade.entry_fee - trade.exit_fee - btc.amount)
    assert led.account_value == pytest.approx(10_000.0 + trade.net_pnl + led.positions["ETH"].unrealized_pnl - led.positions["ETH"].entry_fee - eth.amount)


def test_a_settlement_exit_carries_the_price_it_was_asked_at():
    # a settlement exit carries the price it was asked at, before slippage
    c = Ledger(10_000.0, slippage_bp=5.0)
    c.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0, stop_loss=98_000.0)
    (trade,) = c.settle({"BTC": candles((100_000, 100_000, 97_000, 97_500))})
    assert trade.exit_reference_price == 98_000.0 and trade.exit_price < 98_000.0


def test_funding_at_or_before_entry_is_not_paid_and_never_twice():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0)
    f = funding((T0, 1e-4), (T0 + M5, 1e-4))
    out = led.settle({"BTC": candles((100_000, 100_100, 99_900, 100_050), (100_050, 100_060, 100_000, 100_010))}, {"BTC": f})
    assert [e.time for e in out] == [T0 + M5]
    assert led.settle({"BTC": candles((100_000, 100_100, 99_900, 100_050))}, {"BTC": f}) == []
    assert len(led.funding_payments) == 1


def test_funding_without_candles_uses_the_last_mark():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0)
    led.mark({"BTC": 101_000.0})
    (pay,) = led.settle({}, {"BTC": funding((T0 + H8, 2e-4))})
    assert pay.mark_price == 101_000.0 and pay.amount == pytest.approx(0.1 * 101_000.0 * 2e-4)


def test_funding_that_eats_the_margin_liquidates_at_the_funding_mark():
    led = Ledger(10_000.0)
    led.open("BTC", 1, 0.1, 100_000.0, 20.0, time=T0)  # margin 500
    out = led.settle({"BTC": candles((100_000, 100_010, 99_990, 100_000))}, {"BTC": funding((T0 + M5, 0.04))})
    assert isinstance(out[0], FundingPayment) and out[0].amount == pytest.approx(400.0)
    assert isinstance(out[1], Trade) and out[1].exit_reason == "liquidation"
    assert out[1].exit_time == T0 + M5 and out[1].exit_price == 100_000.0
    assert led.cash >= 0 and led.positions == {}


def test_fees_and_totals_add_up_over_a_session():
    led = Ledger(10_000.0, slippage_bp=2.0)
    led.open("BTC", 1, 0.05, 100_000.0, 10.0, time=T0, stop_loss=99_000.0, profit_target=102_000.0)
    led.open("ETH", -1, 1.0, 4_000.0, 10.0, time=T0, stop_loss=4_100.0, profit_target=3_900.0)
    led.settle({"BTC": candles((100_000, 102_500, 99_500, 102_000)), "ETH": candles((4_000, 4_010, 3_950, 3_960))})
    led.mark({"ETH": 3_960.0})
    led.close("ETH", 3_960.0, time=T0 + M5)
    assert led.fees_paid == pytest.approx(sum(f.fee for f in led.fills))
    assert led.cash == pytest.approx(10_000.0 + sum(t.net_pnl for t in led.trades))
    assert led.account_value == led.cash
