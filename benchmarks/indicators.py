"""Benchmark the Numba indicators: compile/load times and the fused per-cycle kernel vs TA-Lib.

Run from the repository root:  python benchmarks/indicators.py  [--runs N] [--skip-cold]

(a) Cold start: a fresh Python process with an EMPTY temporary NUMBA_CACHE_DIR times
    ``import arena_tui.engine.indicators`` + ``warm_up()`` (every kernel compiled). Warm start: fresh
    processes on the now-filled cache (every kernel loaded).
(b) Per cycle: the features of one cycle (6 coins x {5m: 500 candles, 4h: 100 candles} x EMA20,
    EMA50, RSI7, RSI14, MACD 12/26/9, ATR3, ATR14, SMA20 of volume) from a RecordedMarket snapshot,
    computed (1) by the fused kernel alone on the packed snapshot (one call, into a freshly
    allocated output matrix), (2) by ``compute_features`` end to end (packing, kernel, 120 array views, 12 SeriesFeatures), and (3) by TA-Lib, 96 calls.
    Contenders run in alternating blocks of 20 calls over 24 snapshots; figures are medians. The
    bar: fused / TA-Lib <= 0.25.

Needs ta-lib (``pip install ta-lib``), a test dependency. Prints figures; asserts nothing.
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

CHILD = """
import json, time
t0 = time.perf_counter()
from arena_tui.engine import indicators
t1 = time.perf_counter()
w = indicators.warm_up()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "warm_up": w, "total": t2 - t0, "cache_dir": indicators.CACHE_DIR}))
"""


def run_child(cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"child process failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["cache_dir"] == cache_dir
    result["wall"] = wall
    return result


def cold_and_warm(warm_repeats: int = 3) -> None:
    print("(a) start-up: import arena_tui.engine.indicators + warm_up(), in a fresh process")
    with tempfile.TemporaryDirectory(prefix="arena-tui-numba-bench-") as cache_dir:
        cold = run_child(cache_dir)
        files = sum(len(f) for _, _, f in os.walk(cache_dir))
        warm = [run_child(cache_dir) for _ in range(warm_repeats)]
    w_total = statistics.median(r["total"] for r in warm)
    w_import = statistics.median(r["import"] for r in warm)
    w_warm = statistics.median(r["warm_up"] for r in warm)
    w_wall = statistics.median(r["wall"] for r in warm)
    print(f"    cold (empty cache, compiles):  {cold['total']:7.2f} s  = import {cold['import']:.2f} s"
          f" + warm_up {cold['warm_up']:.2f} s   (process wall {cold['wall']:.2f} s; {files} cache files)")
    print(f"    warm (cache filled, loads):    {w_total:7.2f} s  = import {w_import:.2f} s"
          f" + warm_up {w_warm:.2f} s   (process wall {w_wall:.2f} s; median of {warm_repeats})")


def per_cycle(runs: int) -> None:
    import talib

    from arena_tui.engine import indicators as ind
    from arena_tui.engine.market.recorded import RecordedMarket

    ind.warm_up()
    market = RecordedMarket(lookback={"5m": 500, "4h": 100})
    snaps = [market.snapshot_at(market.now + k * 3_600_000) for k in range(24)]
    counts = {tf: len(c) for tf, c in snaps[0].coins["BTC"].candles.items()}

    def pack(snap):
        series = [c for s in snap.coins.values() for c in s.candles.values()]
        bounds = np.array([0, *np.cumsum([len(c) for c in series])], dtype=np.int64)
        packed = np.concatenate([a for c in series for a in (c.high, c.low, c.close, c.volume)])
        return packed, bounds, (len(ind.FEATURE_NAMES), int(bounds[-1]))

    packs = [pack(s) for s in snaps]

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

    # the same numbers, or the comparison means nothing
    ref = talib_cycle(snaps[0])
    feats = ind.compute_features(snaps[0])
    for coin, per_tf in ref.items():
        for tf, arrays in per_tf.items():
            for name, arr in zip(ind.FEATURE_NAMES, arrays):
                ours = getattr(feats[coin][tf], name)
                assert np.allclose(ours, arr, rtol=1e-9, atol=1e-12, equal_nan=True), (coin, tf, name)

    # Alternating blocks of BLOCK consecutive calls per contender, each on its own snapshot, so
    # every contender runs with its own data warm in the caches, as TA-Lib's 96 calls do.
    block = 20
    clock = time.perf_counter
    samples: dict[str, list[float]] = {"kernel": [], "e2e": [], "talib": []}

    def run_kernel(i: int) -> None:  # the output matrix is allocated per call, as in compute_features
        packed, bounds, shape = packs[i]
        ind._features_kernel(packed, bounds, np.empty(shape))

    contenders = {
        "kernel": run_kernel,
        "e2e": lambda i: ind.compute_features(snaps[i]),
        "talib": lambda i: talib_cycle(snaps[i]),
    }
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
    kernel, e2e, ta = samples["kernel"], samples["e2e"], samples["talib"]
    k_ms, e_ms, t_ms = (statistics.median(x) * 1e3 for x in (kernel, e2e, ta))

    def row(label: str, ms: float) -> str:
        ratio = ms / t_ms
        verdict = "PASS" if ratio <= BAR else "FAIL"
        return f"    {label:<38} {ms:8.3f} ms   ratio {ratio:5.3f}x  {verdict} (bar <= {BAR}x)"

    n_series = len(snaps[0].coins) * len(counts)
    print(f"(b) one cycle: {len(snaps[0].coins)} coins x {counts} candles = {n_series} series,"
          f" 10 feature arrays each; median of {len(kernel)} runs each, in alternating blocks of {block}")
    print(f"    {'TA-Lib, 96 calls':<38} {t_ms:8.3f} ms")
    print(row("fused kernel, one call", k_ms))
    print(row("compute_features(), end to end", e_ms))
    print(f"    compute_features() Python around the kernel: {e_ms - k_ms:6.3f} ms"
          " (packing, 120 views, 12 SeriesFeatures)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="timed runs for (b), at least 200 (default 1000)")
    parser.add_argument("--skip-cold", action="store_true", help="skip (a), the compile-time measurement")
    args = parser.parse_args()
    if args.runs < 200:
        parser.error("--runs must be at least 200")
    import numba

    try:
        import talib

        talib_version = talib.__version__
    except ImportError:
        raise SystemExit("this benchmark needs TA-Lib: pip install ta-lib") from None
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__},"
          f" ta-lib {talib_version}, {platform.machine()} x{os.cpu_count()}")
    if not args.skip_cold:
        cold_and_warm()
    per_cycle(args.runs)


if __name__ == "__main__":
    main()
