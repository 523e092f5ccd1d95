"""Benchmark the Numba indicators: compile and load times, and one cycle's features vs TA-Lib.

Run from the repository root:  python benchmarks/indicators.py  [--runs N] [--cold-runs N] [--skip-cold]

(a) Start-up. Fresh Python processes, each on its own EMPTY temporary NUMBA_CACHE_DIR, time
    ``import arena_tui.engine.indicators`` + ``warm_up(scope)``: scope "cycle" (the fused kernel
    ``compute_features`` runs, all a first cycle needs: the figure) and scope "all" (every kernel,
    what a first start compiled before scopes existed: the anchor), alternately, ``--cold-runs``
    times each (medians). Bar: the cold compile (warm_up) of "cycle" <= 0.5 x that of "all".
    Then fresh processes on the filled caches time the warm start (the scope's kernels loaded).
(b) Per cycle, on the features of one cycle (6 coins x {5m: 500 candles, 4h: 100 candles} x EMA20,
    EMA50, RSI7, RSI14, MACD 12/26/9, ATR3, ATR14, SMA20 of volume) from RecordedMarket snapshots:
      TA-Lib, the anchor: 96 calls (8 functions x 12 series), their arrays collected per series;
      the fused kernel alone: one ``_features_kernel`` call on the snapshot's arrays (arguments
        built beforehand);
      ``compute_features(snapshot)``, as ``Arena._features`` calls it (a plain call): the figure;
      ``compute_features(snapshot)`` + the reads the arena makes of it each cycle
        (``Arena._market_rows``: 6 ``last()`` on the intraday and 6 on the context series of every
        coin, 72 in all), so that making arrays lazily is not only moving their cost elsewhere.
    Contenders run in alternating blocks of 20 calls over 24 snapshots; figures are medians.
    Bar: compute_features / TA-Lib <= 0.25 (the other ratios are printed against the same bar).

Needs ta-lib (``pip install ta-lib``), a test dependency. Prints figures; asserts only that the
contenders compute the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BAR = 0.25
COMPILE_BAR = 0.5

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from arena_tui.engine import indicators
t1 = time.perf_counter()
w = indicators.warm_up(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "warm_up": w, "total": t2 - t0, "cache_dir": indicators.CACHE_DIR}))
"""


def run_child(cache_dir: str, scope: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, scope], env=env, capture_output=True, text=True, timeout=1800
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"child process failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["cache_dir"] == cache_dir
    result["wall"] = wall
    return result


def cold_and_warm(cold_runs: int, warm_repeats: int = 3) -> None:
    print("(a) start-up: import arena_tui.engine.indicators + warm_up(scope), each in a fresh process")
    cold: dict[str, list[dict]] = {"cycle": [], "all": []}
    files: dict[str, int] = {}
    warm: dict[str, list[dict]] = {"cycle": [], "all": []}
    for _ in range(cold_runs):
        for scope in ("cycle", "all"):
            with tempfile.TemporaryDirectory(prefix="arena-tui-numba-bench-") as cache_dir:
                cold[scope].append(run_child(cache_dir, scope))
                files[scope] = sum(len(f) for _, _, f in os.walk(cache_dir))
                if len(cold[scope]) == cold_runs:  # the last cold run's cache: warm starts on it
                    warm[scope] = [run_child(cache_dir, scope) for _ in range(warm_repeats)]

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    for scope in ("cycle", "all"):
        c = cold[scope]
        print(f"    cold, scope {scope!r:<8} {med(c, 'total'):7.2f} s = import {med(c, 'import'):.2f} s"
              f" + warm_up (compile) {med(c, 'warm_up'):.2f} s   (process wall {med(c, 'wall'):.2f} s;"
              f" {files[scope]} cache files; median of {len(c)})")
    figure, anchor = med(cold["cycle"], "warm_up"), med(cold["all"], "warm_up")
    ratio = figure / anchor
    verdict = "PASS" if ratio <= COMPILE_BAR else "FAIL"
    print(f"    cold compile, cycle vs all: {figure:.2f} s vs {anchor:.2f} s = ratio {ratio:5.3f}x"
          f"  {verdict} (bar <= {COMPILE_BAR}x)")
    tratio = med(cold["cycle"], "total") / med(cold["all"], "total")
    print(f"    (import + warm_up: ratio {tratio:5.3f}x)")
    for scope in ("cycle", "all"):
        w = warm[scope]
        print(f"    warm, scope {scope!r:<8} {med(w, 'total'):7.2f} s = import {med(w, 'import'):.2f} s"
              f" + warm_up (load) {med(w, 'warm_up'):.2f} s   (process wall {med(w, 'wall'):.2f} s;"
              f" median of {len(w)})")


# The reads Arena._market_rows makes of each coin's features every cycle.
INTRADAY_READS = ("ema20", "ema50", "rsi7", "rsi14", "macd", "atr14")
CONTEXT_READS = ("ema20", "ema50", "macd", "rsi14", "atr3", "atr14")


def per_cycle(runs: int) -> None:
    import talib

    from arena_tui.engine import indicators as ind
    from arena_tui.engine.market.recorded import RecordedMarket

    ind.warm_up("cycle")
    market = RecordedMarket(lookback={"5m": 500, "4h": 100})
    snaps = [market.snapshot_at(market.now + k * 3_600_000) for k in range(24)]
    counts = {tf: len(c) for tf, c in snaps[0].coins["BTC"].candles.items()}
    intraday, context = "5m", "4h"

    def kernel_args(snap):
        cols, lens = [], []
        for s in snap.coins.values():
            for c in s.candles.values():
                cols += (c.high, c.low, c.close, c.volume)
                lens.append(len(c.ts))
        assert len(lens) <= ind._SERIES_PER_CALL
        pad = ind._SERIES_PER_CALL - len(lens)
        return tuple(cols + [ind._PAD] * (4 * pad)), tuple(lens) + (0,) * pad, len(lens)

    args = [kernel_args(s) for s in snaps]

    def talib_cycle(snap):
        out = {}
        for coin, s in snap.coins.items():
            per_tf = {}
            for tf, c in s.candles.items():
                h, lo, cl, v = c.high, c.low, c.close, c.volume
                m, ms, mh = talib.MACD(cl, 12, 26, 9)
                per_tf[tf] = (talib.EMA(cl, 20), talib.EMA(cl, 50), talib.RSI(cl, 7), talib.RSI(cl, 14), m, ms, mh,
                              talib.ATR(h, lo, cl, 3), talib.ATR(h, lo, cl, 14), talib.SMA(v, 20))
            out[coin] = per_tf
        return out

    def with_reads(snap):
        feats = ind.compute_features(snap)
        for per_tf in feats.values():
            fi, fc = per_tf[intraday], per_tf[context]
            for name in INTRADAY_READS:
                fi.last(name)
            for name in CONTEXT_READS:
                fc.last(name)
        return feats

    # the same numbers, or the comparison means nothing
    ref = talib_cycle(snaps[0])
    feats = ind.compute_features(snaps[0])
    for coin, per_tf in ref.items():
        for tf, arrays in per_tf.items():
            for name, arr in zip(ind.FEATURE_NAMES, arrays):
                ours = getattr(feats[coin][tf], name)
                assert np.allclose(ours, arr, rtol=1e-9, atol=1e-12, equal_nan=True), (coin, tf, name)
                assert ours[-1] == feats[coin][tf].last(name) or np.isnan(ours[-1])

    # Alternating blocks of BLOCK consecutive calls per contender, each on its own snapshot, so
    # every contender runs with its own data warm in the caches, as TA-Lib's 96 calls do.
    block = 20
    clock = time.perf_counter
    contenders = {
        "talib": lambda i: talib_cycle(snaps[i]),
        "kernel": lambda i: ind._features_kernel(*args[i]),
        "e2e": lambda i: ind.compute_features(snaps[i]),
        "reads": lambda i: with_reads(snaps[i]),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    rounds = -(-runs // block) + 1
    for r in range(rounds):
        for name, fn in contenders.items():
            for b in range(block):
                i = (r * block + b) % len(snaps)
                t0 = clock()
                fn(i)
                t1 = clock()
                if r > 0:  # the first round only warms up
                    samples[name].append(t1 - t0)
    ms = {name: statistics.median(x) * 1e3 for name, x in samples.items()}
    t_ms = ms["talib"]

    def row(label: str, value: float) -> str:
        ratio = value / t_ms
        verdict = "PASS" if ratio <= BAR else "FAIL"
        return f"    {label:<52} {value:8.4f} ms   ratio {ratio:5.3f}x  {verdict} (bar <= {BAR}x)"

    n_series = len(snaps[0].coins) * len(counts)
    print(f"(b) one cycle: {len(snaps[0].coins)} coins x {counts} candles = {n_series} series,"
          f" 10 feature arrays each; median of {len(samples['talib'])} runs each, in alternating blocks of {block}")
    print(f"    {'TA-Lib, 96 calls (the anchor)':<52} {t_ms:8.4f} ms")
    print(row("fused kernel alone, one call", ms["kernel"]))
    print(row("compute_features(), end to end (the figure)", ms["e2e"]))
    print(row("compute_features() + the arena's 72 last() reads", ms["reads"]))
    print(f"    Python around the kernel: {ms['e2e'] - ms['kernel']:6.4f} ms (argument tuple, 12 SeriesFeatures);"
          f" the 72 reads: {ms['reads'] - ms['e2e']:6.4f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="timed runs for (b), at least 200 (default 1000)")
    parser.add_argument("--cold-runs", type=int, default=2, help="cold compiles per scope for (a) (default 2)")
    parser.add_argument("--skip-cold", action="store_true", help="skip (a), the compile-time measurement")
    args = parser.parse_args()
    if args.runs < 200:
        parser.error("--runs must be at least 200")
    if args.cold_runs < 1:
        parser.error("--cold-runs must be at least 1")
    import numba

    try:
        import talib

        talib_version = talib.__version__
    except ImportError:
        raise SystemExit("this benchmark needs TA-Lib: pip install ta-lib") from None
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__},"
          f" ta-lib {talib_version}, {platform.machine()} x{os.cpu_count()}")
    if not args.skip_cold:
        cold_and_warm(args.cold_runs)
    per_cycle(args.runs)


if __name__ == "__main__":
    main()
