"""Benchmark: the paper ledger over Alpha Arena Season 1 (2025-10-17 -> 2025-11-03 UTC) at 5-minute cycles.

6 agents x 6 coins, each agent with its own ``Ledger``; every cycle each agent settles the 5-minute
candle and funding since the last cycle (SL/TP/liquidation/funding), sends random decisions (seeded,
mostly valid: entries with stops and targets, holds, closes) through ``risk.validate``, executes the
accepted orders, marks to market and snapshots its account. Bundled real Binance candles and funding.

Prints cycles per second and the per-cycle median (all six agents) in microseconds, with a breakdown.

    python benchmarks/ledger.py [--seed 7] [--agents 6]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter

from arena_tui.engine.data import bundled_dataset
from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.market.base import COINS, FundingHistory
from arena_tui.engine.market.recorded import format_time, parse_time
from arena_tui.engine.metrics import EquityTracker, buy_and_hold
from arena_tui.engine.risk import RiskLimits, validate

START = parse_time("2025-10-17T00:00:00Z")
END = parse_time("2025-11-03T00:00:00Z")
STEP = 300_000


def random_decisions(rng: random.Random, held: set[str], cash: float, prices: dict[str, float]) -> dict[str, Decision]:
    out = {}
    for coin, price in prices.items():
        r = rng.random()
        if coin in held:
            out[coin] = Decision(coin, "close" if r < 0.05 else "hold")
        elif r < 0.10:
            side = 1 if rng.random() < 0.5 else -1
            leverage = float(rng.choice([1, 3, 5, 10, 15, 20]))
            qty = cash * rng.uniform(0.05, 0.3) * leverage / price
            stop = price * (1 - side * rng.uniform(0.005, 0.04))
            target = price * (1 + side * rng.uniform(0.005, 0.08))
            signal = "buy_to_enter" if side > 0 else "sell_to_enter"
            out[coin] = Decision(coin, signal, qty, leverage, target, stop, "4h close beyond the stop", rng.random(), qty * abs(price - stop))
        else:
            out[coin] = Decision(coin, "hold")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--agents", type=int, default=6)
    args = ap.parse_args(argv)

    ds = bundled_dataset()
    candles5 = {c: ds.candles[c]["5m"] for c in COINS}
    # per cycle t (the clock), the candle closing at t and the funding times in (t - 5m, t]
    first = {c: int((START - int(candles5[c].ts[0])) // STEP) for c in COINS}  # index of the candle closing at START + 5m
    cycles = (END - START) // STEP
    for c in COINS:
        ts = candles5[c].ts
        assert int(ts[first[c]]) == START and int(ts[first[c] + cycles - 1]) == END - STEP, f"{c}: gap in the 5m candles"
    empty = {c: FundingHistory(ds.funding[c].ts[:0], ds.funding[c].rate[:0], ds.funding[c].interval_ms) for c in COINS}
    fund_at = {}
    for c in COINS:
        f = ds.funding[c]
        for i, ts in enumerate(f.ts.tolist()):
            if START < ts <= END:
                fund_at.setdefault(ts, {})[c] = FundingHistory(f.ts[i : i + 1], f.rate[i : i + 1], f.interval_ms)

    ledgers = [Ledger(10_000.0, slippage_bp=1.0) for _ in range(args.agents)]
    trackers = [EquityTracker() for _ in range(args.agents)]
    rngs = [random.Random(args.seed * 1_000 + a) for a in range(args.agents)]
    limits = RiskLimits()
    prices = {c: float(candles5[c].close[first[c] - 1]) for c in COINS}

    per_cycle, t_settle, t_orders, t_mark = [], [], [], []
    accepted = rejected = 0
    rules: Counter = Counter()
    wall = time.perf_counter()
    for k in range(cycles):
        t = START + (k + 1) * STEP
        bars = {c: candles5[c].slice(first[c] + k, first[c] + k + 1) for c in COINS}
        funding = {**empty, **fund_at.get(t, {})}
        new_prices = {c: float(bars[c].close[0]) for c in COINS}
        decisions = [random_decisions(rngs[a], set(ledgers[a].positions), ledgers[a].cash, new_prices) for a in range(args.agents)]
        s0 = time.perf_counter_ns()
        a_settle = a_orders = a_mark = 0
        for a, led in enumerate(ledgers):
            x0 = time.perf_counter_ns()
            led.settle(bars, funding)
            x1 = time.perf_counter_ns()
            res = validate(decisions[a], led.snapshot(), new_prices, limits, taker_fee_bp=led.taker_fee_bp, slippage_bp=led.slippage_bp)
            for order in res.orders:
                led.execute(order, time=t)
            x2 = time.perf_counter_ns()
            led.mark(new_prices)
            trackers[a].record(t, led.snapshot())
            x3 = time.perf_counter_ns()
            a_settle += x1 - x0
            a_orders += x2 - x1
            a_mark += x3 - x2
            accepted += len(res.orders)
            rejected += len(res.rejections)
            rules.update(r.rule for r in res.rejections)
        per_cycle.append(time.perf_counter_ns() - s0)
        t_settle.append(a_settle)
        t_orders.append(a_orders)
        t_mark.append(a_mark)
        prices = new_prices
    wall = time.perf_counter() - wall

    total_s = sum(per_cycle) / 1e9
    med = statistics.median(per_cycle) / 1e3
    print(f"window {format_time(START)} -> {format_time(END)}: {cycles} cycles of 5 min, {args.agents} agents x {len(COINS)} coins, seed {args.seed}")
    print(f"ledger work: {cycles / total_s:,.0f} cycles/s; per-cycle median {med:,.1f} us "
          f"(p90 {statistics.quantiles(per_cycle, n=10)[-1] / 1e3:,.1f} us, max {max(per_cycle) / 1e3:,.1f} us) for all {args.agents} agents")
    print(f"  median per cycle: settle {statistics.median(t_settle) / 1e3:,.1f} us, validate+execute "
          f"{statistics.median(t_orders) / 1e3:,.1f} us, mark+snapshot+record {statistics.median(t_mark) / 1e3:,.1f} us")
    print(f"  wall time including the random decision generator: {wall:,.2f} s")
    exits = Counter(tr.exit_reason for led in ledgers for tr in led.trades)
    print(f"orders accepted {accepted:,}, rejected {rejected:,} ({dict(rules.most_common(4))}); exits {dict(exits)}; "
          f"funding payments {sum(len(led.funding_payments) for led in ledgers):,}")
    for a, (led, tr) in enumerate(zip(ledgers, trackers)):
        m = tr.metrics(led.trades)
        print(f"  agent {a}: ${m.account_value:>10,.2f} ({m.return_pct:+6.2f}%), {m.trade_count} trades, win rate "
              f"{m.win_rate_pct or 0:.0f}%, fees ${m.fees_paid:,.2f}, funding ${m.funding_paid:,.2f}, "
              f"Sharpe {m.sharpe_per_cycle or 0:+.4f}/cycle ({m.sharpe_annualised or 0:+.2f} annualised), max DD {m.max_drawdown_pct:.1f}%")
    btc = candles5["BTC"]
    window = btc.close[first["BTC"] - 1 : first["BTC"] + cycles]
    bh = buy_and_hold(window, 10_000.0)
    print(f"  BTC buy & hold: ${bh.account_value:,.2f} ({bh.return_pct:+.2f}%), max DD {bh.max_drawdown_pct:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
