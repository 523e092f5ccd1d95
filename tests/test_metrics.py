"""Metrics: leaderboard figures from recorded cycles and closed trades, and the buy-and-hold benchmark."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from arena_tui.engine.account import AccountSnapshot, Position, Trade
from arena_tui.engine.data import bundled_dataset
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.metrics import (
    EquityTracker,
    Metrics,
    buy_and_hold,
    compute_metrics,
    max_drawdown,
    sharpe_ratio,
)

T0 = 1_760_659_200_000
M5 = 300_000


def snap(value: float, positions: tuple[Position, ...] = (), **kw) -> AccountSnapshot:
    base = dict(starting_cash=10_000.0, cash=value, account_value=value, positions=positions, realized_pnl=0.0, unrealized_pnl=0.0, fees_paid=0.0, funding_paid=0.0)
    base.update(kw)
    return AccountSnapshot(**base)


def pos(side: int, coin: str = "BTC", leverage: float = 10.0, confidence: float | None = 0.5) -> Position:
    return Position(coin, side, 0.1, 100_000.0, leverage, 1_000.0, T0, 4.5, 0.0, 100_000.0, 0.0, confidence=confidence)


def trade(net: float, minutes: float, leverage: float = 5.0, confidence: float | None = 0.6) -> Trade:
    return Trade("ETH", 1, 1.0, leverage, T0, T0 + int(minutes * 60_000), 4_000.0, 4_000.0 + net, 0.0, 0.0, 0.0, net, net, "agent", confidence)


def test_sharpe_per_cycle_is_mean_over_sample_std_of_simple_returns():
    values = [100.0, 101.0, 100.5, 102.0, 101.0]
    r = [b / a - 1 for a, b in zip(values, values[1:])]
    assert sharpe_ratio(values) == pytest.approx(statistics.mean(r) / statistics.stdev(r), rel=1e-12)
    assert sharpe_ratio([100.0, 101.0]) is None  # one return
    assert sharpe_ratio([100.0, 100.0, 100.0]) is None  # no variance
    assert sharpe_ratio([]) is None


def test_max_drawdown_is_the_largest_fall_from_a_running_peak():
    pct, usd = max_drawdown([100.0, 120.0, 90.0, 130.0, 117.0])
    assert pct == pytest.approx(25.0) and usd == pytest.approx(30.0)
    assert max_drawdown([1.0, 2.0, 3.0]) == (0.0, 0.0)
    assert max_drawdown([]) == (0.0, 0.0)


def test_compute_metrics_on_a_known_history():
    eq = EquityTracker()
    values = [10_000.0, 10_100.0, 9_900.0, 10_300.0, 10_200.0]
    exposures = [(pos(1),), (pos(1),), (), (pos(-1, "ETH"),), ()]
    for i, (v, p) in enumerate(zip(values, exposures)):
        eq.record(T0 + i * M5, snap(v, p, realized_pnl=250.0, fees_paid=30.0, funding_paid=-5.0, unrealized_pnl=0.0))
    trades = [trade(150.0, 30), trade(-50.0, 10, leverage=15.0, confidence=None), trade(100.0, 60)]
    m = compute_metrics(eq, trades)
    assert isinstance(m, Metrics)
    assert m.account_value == 10_200.0 and m.return_pct == pytest.approx(2.0) and m.total_pnl == pytest.approx(200.0)
    assert (m.realized_pnl, m.fees_paid, m.funding_paid) == (250.0, 30.0, -5.0)
    assert (m.trade_count, m.wins, m.losses) == (3, 2, 1)
    assert m.win_rate_pct == pytest.approx(200 / 3)
    assert (m.biggest_win, m.biggest_loss) == (150.0, -50.0)
    assert m.avg_holding_minutes == pytest.approx(100 / 3) and m.median_holding_minutes == 30.0
    assert m.avg_leverage == pytest.approx((5 + 15 + 5) / 3)  # last snapshot has no open position
    assert m.avg_confidence == pytest.approx(0.6)
    r = [b / a - 1 for a, b in zip(values, values[1:])]
    per_cycle = statistics.mean(r) / statistics.stdev(r)
    assert m.sharpe_per_cycle == pytest.approx(per_cycle)
    assert m.cycles_per_year == pytest.approx(105_120.0)  # 5-minute cycles
    assert m.sharpe_annualised is None and m.sharpe_periods == 0  # 20 minutes of history: no hourly return yet
    assert m.max_drawdown_usd == pytest.approx(200.0) and m.max_drawdown_pct == pytest.approx(200 / 10_100 * 100)
    # 4 intervals: long, long, flat, short
    assert (m.time_long_pct, m.time_flat_pct, m.time_short_pct) == (50.0, 25.0, 25.0)
    assert m.cycles == 5
    assert eq.metrics(trades) == m


def test_summary_is_a_json_ready_dict_with_leaderboard_keys():
    import json

    eq = EquityTracker(10_000.0)
    assert eq.starting_cash == 10_000.0
    for i, v in enumerate([10_000.0, 10_050.0, 9_990.0]):
        eq.record(T0 + i * M5, snap(v))
    trades = [trade(40.0, 5), trade(-10.0, 5)]
    d = eq.summary(trades)
    m = eq.metrics(trades)
    assert d["win_rate"] == d["win_rate_pct"] == 50.0
    assert d["sharpe"] == m.sharpe_annualised and d["sharpe_per_cycle"] == m.sharpe_per_cycle
    assert d["max_drawdown_pct"] == m.max_drawdown_pct
    assert json.loads(json.dumps(d)) == d
    # a fresher account than the last record gives the current figures; the series stays as recorded
    later = eq.summary(trades, snap(10_500.0))
    assert later["account_value"] == 10_500.0 and later["max_drawdown_pct"] == m.max_drawdown_pct
    assert EquityTracker().summary([], snap(10_000.0))["cycles"] == 0


def test_net_exposure_decides_long_or_short():
    eq = EquityTracker()
    both = (pos(1, "BTC"), Position("ETH", -1, 10.0, 4_000.0, 5.0, 8_000.0, T0, 1.0, 0.0, 4_000.0, 0.0))
    eq.record(T0, snap(10_000.0, both))
    eq.record(T0 + M5, snap(10_000.0, both))
    m = eq.metrics([])
    assert m.time_short_pct == 100.0  # $40,000 short outweighs $10,000 long
    assert m.win_rate_pct is None and m.biggest_win is None and m.avg_holding_minutes is None
    assert m.avg_leverage == pytest.approx(7.5) and m.avg_confidence == pytest.approx(0.5)  # the open positions


def test_a_single_record_has_no_sharpe_and_no_time_shares():
    eq = EquityTracker()
    eq.record(T0, snap(10_000.0))
    m = eq.metrics([])
    assert m.sharpe_per_cycle is None and m.sharpe_annualised is None and m.time_long_pct is None
    assert m.max_drawdown_pct == 0.0 and m.return_pct == 0.0


def test_tracker_refuses_time_going_back_and_replaces_a_repeat():
    eq = EquityTracker()
    eq.record(T0 + M5, snap(10_000.0))
    eq.record(T0 + M5, snap(10_050.0))
    assert len(eq) == 1 and eq.values == [10_050.0]
    with pytest.raises(ValueError):
        eq.record(T0, snap(1.0))
    with pytest.raises(ValueError):
        compute_metrics(EquityTracker(), [])


def test_metrics_agree_with_a_ledger_session():
    led = Ledger(10_000.0)
    eq = EquityTracker()
    eq.record(T0, led.snapshot())
    led.open("BTC", 1, 0.1, 100_000.0, 10.0, time=T0, confidence=0.8)
    led.mark({"BTC": 101_000.0})
    eq.record(T0 + M5, led.snapshot())
    led.close("BTC", 102_000.0, time=T0 + 2 * M5)
    eq.record(T0 + 2 * M5, led.snapshot())
    m = eq.metrics(led.trades)
    assert m.account_value == led.account_value
    assert m.total_pnl == pytest.approx(led.trades[0].net_pnl)
    assert m.fees_paid == led.fees_paid and m.realized_pnl == pytest.approx(200.0)
    assert m.avg_holding_minutes == 10.0 and m.avg_confidence == 0.8 and m.wins == 1
    assert m.time_long_pct == 50.0 and m.time_flat_pct == 50.0


def test_buy_and_hold_btc_over_season_1():
    """BTC bought at the first 5-minute close of Oct 17 2025 and held to Nov 3 00:00 UTC."""
    btc = bundled_dataset().candles["BTC"]["5m"]
    start, end = T0, 1_762_128_000_000  # 2025-10-17 / 2025-11-03 00:00 UTC
    close_ts = btc.close_ts
    window = btc.close[(close_ts >= start) & (close_ts <= end)]
    bh = buy_and_hold(window, 10_000.0)
    assert bh.entry_price == float(window[0]) and bh.exit_price == float(window[-1])
    assert bh.account_value == pytest.approx(10_000.0 * window[-1] / window[0])
    assert bh.return_pct == pytest.approx((window[-1] / window[0] - 1) * 100)
    assert -10.0 < bh.return_pct < 10.0  # BTC went ~108k -> ~108k-110k over the season
    assert bh.max_drawdown_pct > 0 and bh.fees_paid == 0.0
    assert bh.sharpe_per_cycle == pytest.approx(sharpe_ratio(window))
    with_fees = buy_and_hold(window, 10_000.0, taker_fee_bp=4.5)
    assert with_fees.account_value < bh.account_value and with_fees.fees_paid == pytest.approx(4.5e-4 * (10_000 + with_fees.account_value), rel=1e-3)
    with pytest.raises(ValueError):
        buy_and_hold([], 10_000.0)
    with pytest.raises(ValueError):
        buy_and_hold(np.array([0.0, 1.0]), 10_000.0)


def test_running_metrics_agree_with_compute_metrics():
    """The O(1)-per-cycle figures the arena streams equal the full recomputation."""
    import numpy as np

    from arena_tui.engine.metrics import RunningMetrics, annualised_sharpe, max_drawdown, period_returns, sharpe_ratio

    rng = np.random.default_rng(3)
    values = 10_000 * np.cumprod(1 + rng.normal(0, 0.004, 800))
    times = 1_761_048_000_000 + 300_000 * np.arange(800)
    rm = RunningMetrics(cycles_per_year=105_120)
    for t, v in zip(times, values):
        fig = rm.update(float(v), (), int(t))
    assert fig["sharpe_per_cycle"] == pytest.approx(sharpe_ratio(values), rel=1e-9)
    hourly = period_returns(times, values)
    assert fig["sharpe_periods"] == hourly.shape[0] == 66  # 800 five-minute cycles: 66 whole hours closed
    assert fig["sharpe"] == pytest.approx(annualised_sharpe(hourly), rel=1e-9)
    dd_pct, dd_usd = max_drawdown(values)
    assert fig["max_drawdown_pct"] == pytest.approx(dd_pct, rel=1e-12)
    assert fig["max_drawdown_usd"] == pytest.approx(dd_usd, rel=1e-12)
    assert fig["win_rate"] is None and fig["trades"] == 0


def test_sharpe_is_over_hourly_returns_annualised_by_sqrt_8760():
    """Hand-computed: the value at the last cycle of each hour, returns between them, the hour still
    running left out; mean / sample std x sqrt(8,760)."""
    from arena_tui.engine.metrics import RunningMetrics, period_returns

    hour = 3_600_000
    t0 = 1_761_048_000_000  # 2025-10-21 12:00 UTC, an hour boundary
    rng = np.random.default_rng(11)
    times, values = [], []
    for h in range(30):
        for m in range(0, 60, 15):  # 15-minute cycles
            times.append(t0 + h * hour + m * 60_000)
            values.append(10_000 + rng.normal(0, 50) + h * 3)
    closes = [values[0]] + [values[h * 4 + 3] for h in range(29)]  # hour 29 is still running
    r = np.array(closes[1:]) / np.array(closes[:-1]) - 1
    expected = r.mean() / r.std(ddof=1) * np.sqrt(8760)
    assert period_returns(times, values) == pytest.approx(r, rel=1e-12)
    rm = RunningMetrics()
    for t, v in zip(times, values):
        fig = rm.update(v, (), t)
    assert fig["sharpe_periods"] == 29
    assert fig["sharpe"] == pytest.approx(expected, rel=1e-9)


def test_sharpe_waits_for_a_day_of_hourly_returns_whatever_the_cycle_interval():
    from arena_tui.engine.metrics import RunningMetrics

    hour = 3_600_000
    for step in (60_000, 300_000, 900_000):
        rm = RunningMetrics(cycles_per_year=365 * 86_400_000 / step)
        t, i = 0, 0
        fig = rm.update(10_000.0, (), t)
        while fig["sharpe_periods"] < 23:
            i += 1
            t += step
            fig = rm.update(10_000 + (i % 7) * 3.0, (), t)
        assert fig["sharpe"] is None, step  # 23 hourly returns: too few to mean anything
        while fig["sharpe_periods"] < 24:
            i += 1
            t += step
            fig = rm.update(10_000 + (i % 7) * 3.0, (), t)
        assert fig["sharpe"] is not None and abs(fig["sharpe"]) < 1_000, step
        assert t // hour == 24


def test_running_sharpe_per_cycle_waits_for_enough_returns():
    from arena_tui.engine.metrics import RunningMetrics

    rm = RunningMetrics(cycles_per_year=105_120)
    for i in range(30):
        fig = rm.update(10_000 + (i % 3), (), i * 300_000)
    assert fig["sharpe_per_cycle"] is None  # 29 returns: too few to mean anything
    fig = rm.update(10_001, (), 30 * 300_000)
    assert fig["sharpe_per_cycle"] is not None
    assert fig["sharpe"] is None  # 2.5 hours


def test_a_schema_2_journal_is_folded_with_the_sharpe_ratio_it_recorded():
    """Journals of schema 2 ranked by the per-cycle Sharpe ratio annualised by the cycle interval;
    the fold computes that one for them (so they still verify) and the hourly one for newer ones."""
    import dataclasses

    from arena_tui.engine import events as ev
    from arena_tui.engine.state import ArenaState

    header = ev.SessionStarted(0, T0, "s", "recorded", "bundled", ("BTC",), ({"name": "A", "kind": "rule-based", "model": "x"},), 10_000.0, M5)
    rng = np.random.default_rng(5)
    values = 10_000 * np.cumprod(1 + rng.normal(0, 0.003, 40))
    folds = {}
    for schema in (2, 3):
        s = ArenaState(dataclasses.replace(header, schema=schema))
        for i, v in enumerate(values):
            s.apply(ev.AccountUpdated(i + 1, T0 + i * M5, "A", float(v), float(v), 0.0, 0.0, 0.0, 0.0, float(v / 100 - 100)))
        folds[schema] = s.agents["A"].figures
    assert folds[2]["sharpe"] == pytest.approx(sharpe_ratio(values) * (365 * 86_400_000 / M5) ** 0.5, rel=1e-9)
    assert folds[3]["sharpe"] is None  # 3 hours 20 minutes: no day of hourly returns yet
    assert folds[2]["sharpe_per_cycle"] == folds[3]["sharpe_per_cycle"]
