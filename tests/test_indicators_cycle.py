"""The per-cycle features: compute_features' lazy result, its inputs, threads, and warm_up scopes.

Values are checked against the individual functions bit for bit (which tests/test_indicators.py
checks against TA-Lib); warm_up(scope="cycle") is checked in fresh processes on empty caches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from arena_tui.engine import indicators as ind
from arena_tui.engine.market.base import Candles, CoinSnapshot, FundingHistory, MarketSnapshot
from arena_tui.engine.market.recorded import RecordedMarket
from test_indicators import _individual

NAMES = (*ind.FEATURE_NAMES, "close", "volume")
FUNDING = FundingHistory(np.zeros(0, np.int64), np.zeros(0), 1)


def _candles(n: int, seed: int, tf: str = "5m") -> Candles:
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, n))
    spread = np.abs(rng.normal(0.5, 0.2, n))
    ts = np.arange(n, dtype=np.int64) * 300_000
    return Candles(tf, ts, close.copy(), close + spread, close - spread, close, rng.uniform(1.0, 100.0, n))


def _market(lengths: list[tuple[int, int]]) -> MarketSnapshot:
    """One coin per (5m candles, 4h candles) pair."""
    coins = {}
    for k, (a, b) in enumerate(lengths):
        per_tf = {"5m": _candles(a, 2 * k), "4h": _candles(b, 2 * k + 1, "4h")}
        coins[f"C{k}"] = CoinSnapshot(f"C{k}", per_tf, FUNDING)
    return MarketSnapshot(0, coins, "test")


def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).view(np.uint64)


def _check(market: MarketSnapshot, feats) -> None:
    assert list(feats) == [coin for coin, s in market.coins.items() if s.candles]
    for coin, snap in market.coins.items():
        for tf, c in snap.candles.items():
            sf = feats[coin][tf]
            for name, want in _individual(c).items():
                assert np.array_equal(_bits(getattr(sf, name)), _bits(want)), (coin, tf, name)
                last = sf.last(name)
                assert np.isnan(last) if len(c) == 0 else _bits([last])[0] == _bits(want)[-1], (coin, tf, name)
            if len(c):
                assert sf.last("close") == c.close[-1] and sf.last("volume") == c.volume[-1]


@pytest.mark.parametrize("count", [1, 3, 6, 7, 12, 13])
def test_any_number_of_series(count):
    """Up to 12 series per kernel call, more in several calls; lanes of different lengths share
    a group (the shorter ones read filler past their end)."""
    lengths = [(500 - 37 * k, 100 + 13 * k) for k in range(count)]
    market = _market(lengths)
    _check(market, ind.compute_features(market))


def test_short_and_empty_series():
    market = _market([(0, 0), (1, 2), (33, 34), (49, 50), (63, 64), (65, 200)])
    feats = ind.compute_features(market)
    _check(market, feats)
    empty = feats["C0"]["5m"]
    for name in NAMES:
        assert np.isnan(empty.last(name))
    for name in ind.FEATURE_NAMES:
        arr = getattr(empty, name)
        assert arr.shape == (0,) and arr.dtype == np.float64 and not arr.flags.writeable


def test_a_coin_without_candles_is_left_out():
    c = _candles(80, 1)
    coins = {"A": CoinSnapshot("A", {}, FUNDING), "B": CoinSnapshot("B", {"5m": c}, FUNDING)}
    market = MarketSnapshot(0, coins, "t")
    feats = ind.compute_features(market)
    assert list(feats) == ["B"]
    assert ind.compute_features(MarketSnapshot(0, {}, "t")) == {}


def test_leading_nans_give_read_only_copies():
    c = _candles(90, 5)
    c.close[:4] = np.nan
    c.high[:6] = np.nan
    c.volume[:2] = np.nan
    market = MarketSnapshot(0, {"N": CoinSnapshot("N", {"5m": c}, FUNDING)}, "t")
    feats = ind.compute_features(market)
    _check(market, feats)
    sf = feats["N"]["5m"]
    for name in ind.FEATURE_NAMES:
        with pytest.raises(ValueError, match="read-only"):
            getattr(sf, name)[-1] = 0.0


def test_the_result_is_array_native():
    """The arrays of one call are read-only strided views of one buffer: no copy per series."""
    market = RecordedMarket(lookback={"5m": 500, "4h": 100})
    feats = ind.compute_features(market.snapshot_at(market.now))
    btc, eth = feats["BTC"]["5m"], feats["ETH"]["4h"]
    assert btc.ema20.base is not None and btc.ema20.base is eth.rsi7.base
    assert not btc.ema20.flags.writeable and not btc.ema20.base.flags.writeable
    assert np.array_equal(np.ascontiguousarray(btc.macd), btc.macd, equal_nan=True)


def test_earlier_results_stay_intact():
    market = RecordedMarket(lookback={"5m": 200, "4h": 60})
    snaps = [market.snapshot_at(market.now + k * 3_600_000) for k in range(6)]
    first = ind.compute_features(snaps[0])
    kept = {name: getattr(first["SOL"]["5m"], name).copy() for name in ind.FEATURE_NAMES}
    lasts = [first["SOL"]["4h"].last(name) for name in NAMES]
    for snap in snaps[1:] * 3:
        ind.compute_features(snap)
    for name, arr in kept.items():
        assert np.array_equal(getattr(first["SOL"]["5m"], name), arr, equal_nan=True)
    assert [first["SOL"]["4h"].last(name) for name in NAMES] == lasts


def test_calls_from_several_threads():
    market = RecordedMarket(lookback={"5m": 300, "4h": 80})
    snaps = [market.snapshot_at(market.now + k * 3_600_000) for k in range(8)]

    def lasts(snap):
        feats = ind.compute_features(snap)
        return [sf.last(name) for per_tf in feats.values() for sf in per_tf.values() for name in NAMES]

    want = [lasts(s) for s in snaps]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lasts, snaps * 10))
    for k, row in enumerate(got):
        assert np.array_equal(row, want[k % len(snaps)], equal_nan=True)


def test_warm_up_scopes_are_checked():
    assert ind.WARM_UP_SCOPES == ("cycle", "all")
    assert ind.warm_up("cycle") >= 0.0
    for bad in ("", "Cycle", "fused", None):
        with pytest.raises(ValueError, match="scope"):
            ind.warm_up(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="scope"):
            ind.warm_up_in_subprocess(bad)  # type: ignore[arg-type]


_CHILD = """
import json, sys, time
from arena_tui.engine import indicators as ind
from arena_tui.engine.market.recorded import RecordedMarket
seconds = ind.warm_up(sys.argv[1])
kernels = {n: len(getattr(ind, n).signatures) for n in dir(ind) if n[0] == "_" and n.endswith("_kernel")}
market = RecordedMarket(coins=("BTC", "XRP"), lookback={"5m": 120, "4h": 60})
feats = ind.compute_features(market.snapshot_at(market.now))
lasts = {f"{c} {tf} {n}": s.last(n) for c, p in feats.items() for tf, s in p.items() for n in ind.FEATURE_NAMES}
print(json.dumps({"seconds": seconds, "kernels": kernels, "lasts": lasts, "cache": ind.CACHE_DIR}))
"""


def _child(cache: Path, scope: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-c", _CHILD, scope]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


@pytest.mark.slow
def test_warm_up_cycle_in_a_fresh_process_on_an_empty_cache(tmp_path):
    """warm_up("cycle") compiles the fused kernel and nothing else; a cycle's features then need
    no compile; the next process only loads it; warm_up_in_subprocess("cycle") fills a cache."""
    cache = tmp_path / "numba"
    first = _child(cache, "cycle")
    assert first["cache"] == str(cache)
    assert first["kernels"]["_features_kernel"] == 1
    assert all(n == 0 for k, n in first["kernels"].items() if k != "_features_kernel"), first["kernels"]
    files = _cache_files(cache)
    assert files and all("_features_kernel" in f for f in files), files
    # the same values as this process computes
    market = RecordedMarket(coins=("BTC", "XRP"), lookback={"5m": 120, "4h": 60})
    feats = ind.compute_features(market.snapshot_at(market.now))
    for key, value in first["lasts"].items():
        coin, tf, name = key.split()
        assert value == feats[coin][tf].last(name), key
    second = _child(cache, "cycle")
    assert _cache_files(cache) == files  # loaded, not compiled again
    assert second["lasts"] == first["lasts"]
    assert second["seconds"] < first["seconds"]

    other = tmp_path / "other"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(other))
    proc = ind.warm_up_in_subprocess("cycle", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert float(out.strip()) > 0.0
    assert _cache_files(other) == files


def test_pickle_and_deepcopy():
    import copy
    import pickle

    market = RecordedMarket(coins=("ETH",), lookback={"5m": 80, "4h": 60})
    feats = ind.compute_features(market.snapshot_at(market.now))
    for clone in (pickle.loads(pickle.dumps(feats)), copy.deepcopy(feats)):
        for tf, sf in feats["ETH"].items():
            other = clone["ETH"][tf]
            assert [other.last(n) for n in NAMES] == [sf.last(n) for n in NAMES]
            for name in ind.FEATURE_NAMES:
                assert np.array_equal(getattr(other, name), getattr(sf, name), equal_nan=True)
                assert not getattr(other, name).flags.writeable
