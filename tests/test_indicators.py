"""Indicators: parity with TA-Lib on the bundled real candles, edge cases, the fused kernel, the cache.

TA-Lib (``import talib``, test-only) is the reference. Values must agree to 1e-9 relative and NaN
positions exactly. The MACD histogram is a difference of two nearly equal lines, so its error is
measured relative to the size of those lines (|macd| + |signal|), the quantity the 1e-9 applies to;
on CPUs with FMA both libraries compute it bit for bit anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

talib = pytest.importorskip("talib")

from arena_tui.engine import indicators as ind  # noqa: E402
from arena_tui.engine.data import bundled_dataset  # noqa: E402
from arena_tui.engine.market.base import Candles, CoinSnapshot, FundingHistory, MarketSnapshot  # noqa: E402
from arena_tui.engine.market.recorded import RecordedMarket  # noqa: E402

RTOL = 1e-9


def assert_matches(ours, ref, what: str, scale=None) -> None:
    """Same NaN positions; elsewhere |ours - ref| <= RTOL * scale (default |ref|)."""
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    assert ours.dtype == np.float64, what
    assert ours.shape == ref.shape, what
    nan_ours, nan_ref = np.isnan(ours), np.isnan(ref)
    if not np.array_equal(nan_ours, nan_ref):
        bad = np.flatnonzero(nan_ours != nan_ref)[:5]
        raise AssertionError(f"{what}: NaN positions differ at {bad.tolist()}")
    ok = ~nan_ref
    scale = np.abs(ref) if scale is None else np.asarray(scale)
    err = np.abs(ours[ok] - ref[ok])
    limit = RTOL * scale[ok]
    if np.any(err > limit):
        i = int(np.argmax(err - limit))
        raise AssertionError(f"{what}: {ours[ok][i]!r} != {ref[ok][i]!r} (error {err[i]:.3g})")


@pytest.fixture(scope="module")
def real_series():
    """(label, high, low, close, volume) for every coin of the bundled data on 5m, 1h and 4h."""
    ds = bundled_dataset()
    out = []
    for coin, per_tf in ds.candles.items():
        for tf in ("5m", "1h", "4h"):
            c = per_tf[tf]
            out.append((f"{coin} {tf}", c.high, c.low, c.close, c.volume))
    assert len(out) == 18
    return out


# ---------------------------------------------------------------- parity on real data


def test_sma_ema_match_talib(real_series):
    for label, _h, _l, close, _v in real_series:
        for p in (1, 2, 5, 9, 20, 50, 200):
            assert_matches(ind.sma(close, p), talib.SMA(close, p), f"sma({p}) {label}")
            assert_matches(ind.ema(close, p), talib.EMA(close, p), f"ema({p}) {label}")


def test_rsi_matches_talib(real_series):
    for label, _h, _l, close, _v in real_series:
        for p in (2, 7, 14, 21, 50):
            assert_matches(ind.rsi(close, p), talib.RSI(close, p), f"rsi({p}) {label}")


def test_atr_matches_talib(real_series):
    for label, high, low, close, _v in real_series:
        for p in (1, 2, 3, 14, 30):
            assert_matches(ind.atr(high, low, close, p), talib.ATR(high, low, close, p), f"atr({p}) {label}")


def test_macd_matches_talib(real_series):
    for label, _h, _l, close, _v in real_series:
        for fast, slow, signal in ((12, 26, 9), (5, 35, 5), (3, 10, 16), (2, 3, 1), (26, 12, 9)):
            m, s, h = ind.macd(close, fast, slow, signal)
            rm, rs, rh = talib.MACD(close, fast, slow, signal)
            what = f"macd({fast},{slow},{signal}) {label}"
            assert_matches(m, rm, what + " line")
            assert_matches(s, rs, what + " signal")
            assert_matches(h, rh, what + " hist", scale=np.abs(rm) + np.abs(rs))


def test_bbands_match_talib(real_series):
    for label, _h, _l, close, _v in real_series:
        for p, k in ((2, 2.0), (5, 1.0), (20, 2.0), (20, 2.5), (50, 3.0)):
            ours = ind.bbands(close, p, k)
            ref = talib.BBANDS(close, p, k, k, 0)
            for name, a, b in zip(("upper", "middle", "lower"), ours, ref):
                assert_matches(a, b, f"bbands({p},{k}) {name} {label}")


def test_stoch_matches_talib(real_series):
    for label, high, low, close, _v in real_series:
        for fk, sk, sd in ((5, 3, 3), (14, 3, 3), (1, 1, 1), (9, 1, 4)):
            k, d = ind.stoch(high, low, close, fk, sk, sd)
            rk, rd = talib.STOCH(high, low, close, fk, sk, 0, sd, 0)
            assert_matches(k, rk, f"stoch({fk},{sk},{sd}) %K {label}")
            assert_matches(d, rd, f"stoch({fk},{sk},{sd}) %D {label}")


def test_adx_matches_talib(real_series):
    for label, high, low, close, _v in real_series:
        for p in (2, 7, 14, 28):
            assert_matches(ind.adx(high, low, close, p), talib.ADX(high, low, close, p), f"adx({p}) {label}")


def test_obv_and_vwap_match_talib(real_series):
    for label, high, low, close, volume in real_series:
        assert_matches(ind.obv(close, volume), talib.OBV(close, volume), f"obv {label}")
        assert_matches(ind.vwap(high, low, close, volume), talib.VWAP(high, low, close, volume), f"vwap {label}")


def test_first_values_appear_where_documented():
    x = np.linspace(100.0, 120.0, 120) + np.sin(np.arange(120.0))
    h, lo = x + 1.0, x - 1.0

    def first(a):
        return int(np.flatnonzero(~np.isnan(a))[0])

    assert first(ind.sma(x, 20)) == 19
    assert first(ind.ema(x, 20)) == 19
    assert first(ind.rsi(x, 14)) == 14
    assert first(ind.atr(h, lo, x, 14)) == 14
    assert all(first(a) == 33 for a in ind.macd(x, 12, 26, 9))
    assert all(first(a) == 19 for a in ind.bbands(x, 20))
    assert all(first(a) == 8 for a in ind.stoch(h, lo, x, 5, 3, 3))
    assert first(ind.adx(h, lo, x, 14)) == 27
    assert first(ind.obv(x, x)) == 0 and first(ind.vwap(h, lo, x, x)) == 0


# ---------------------------------------------------------------- edge cases


def _all_outputs(x: np.ndarray, period: int) -> dict[str, np.ndarray]:
    h, lo = x + 0.5, x - 0.5
    out = {
        "sma": ind.sma(x, period),
        "ema": ind.ema(x, period),
        "rsi": ind.rsi(x, period),
        "atr": ind.atr(h, lo, x, period),
        "adx": ind.adx(h, lo, x, period),
    }
    for name, arr in zip(("macd", "macd_signal", "macd_hist"), ind.macd(x, period, period + 1, period)):
        out[name] = arr
    for name, arr in zip(("upper", "middle", "lower"), ind.bbands(x, period)):
        out[name] = arr
    for name, arr in zip(("slowk", "slowd"), ind.stoch(h, lo, x, period, period, period)):
        out[name] = arr
    return out


@pytest.mark.parametrize("n", [0, 1, 5, 13])
def test_series_shorter_than_the_warm_up_is_all_nan(n):
    x = 100.0 + np.arange(float(n))
    for name, arr in _all_outputs(x, 14).items():
        assert arr.shape == (n,) and arr.dtype == np.float64, name
        assert np.isnan(arr).all(), name
    # and TA-Lib agrees wherever it accepts the input
    if n:
        assert np.isnan(talib.EMA(x, 14)).all() and np.isnan(talib.RSI(x, 14)).all()


def test_period_one():
    ds = bundled_dataset()
    c = ds.candles["ETH"]["4h"]
    x, h, lo = c.close, c.high, c.low
    np.testing.assert_array_equal(ind.sma(x, 1), x)
    np.testing.assert_array_equal(ind.ema(x, 1), x)
    np.testing.assert_array_equal(ind.ema(x, 1), talib.EMA(x, 1))
    tr = ind.atr(h, lo, x, 1)
    assert_matches(tr, talib.TRANGE(h, lo, x), "atr(1) vs TRANGE")
    r = ind.rsi(x, 1)  # TA-Lib refuses period 1: Wilder's formula gives 100 up, 0 otherwise
    assert np.isnan(r[0])
    d = np.diff(x)
    np.testing.assert_array_equal(r[1:], np.where(d > 0, 100.0, 0.0))
    upper, middle, lower = ind.bbands(x, 1)
    np.testing.assert_array_equal(middle, x)
    np.testing.assert_array_equal(upper, x)
    np.testing.assert_array_equal(lower, x)
    m, s, hist = ind.macd(x, 1, 1, 1)
    np.testing.assert_array_equal(m, np.zeros_like(x))
    np.testing.assert_array_equal(hist, np.zeros_like(x))
    k, dd = ind.stoch(h, lo, x, 1, 1, 1)
    assert_matches(k, talib.STOCH(h, lo, x, 1, 1, 0, 1, 0)[0], "stoch(1,1,1)")
    assert np.isfinite(ind.adx(h, lo, x, 1)[1:]).all()


def test_constant_series_matches_talib():
    x = np.full(60, 42.5)
    h, lo = x.copy(), x.copy()
    assert_matches(ind.rsi(x, 14), talib.RSI(x, 14), "rsi constant")
    assert (ind.rsi(x, 14)[14:] == 0.0).all()
    assert_matches(ind.stoch(h, lo, x)[0], talib.STOCH(h, lo, x)[0], "stoch constant")
    assert_matches(ind.adx(h, lo, x, 5), talib.ADX(h, lo, x, 5), "adx constant")
    upper, middle, lower = ind.bbands(x, 20)
    assert_matches(upper, talib.BBANDS(x, 20)[0], "bbands constant")
    np.testing.assert_array_equal(upper[19:], lower[19:])
    assert_matches(ind.macd(x)[2], talib.MACD(x)[2], "macd constant", scale=np.ones_like(x))
    assert_matches(ind.atr(h, lo, x, 14), talib.ATR(h, lo, x, 14), "atr constant")


def test_tiny_prices_keep_their_information():
    """A coin quoted around 1e-6 (TA-Lib 0.8 scale-aware zero tests): no collapse to 0."""
    ds = bundled_dataset()
    c = ds.candles["DOGE"]["5m"]
    s = 1e-6
    h, lo, x = c.high[:2000] * s, c.low[:2000] * s, c.close[:2000] * s
    assert_matches(ind.rsi(x, 14), talib.RSI(x, 14), "rsi tiny")
    assert_matches(ind.stoch(h, lo, x)[0], talib.STOCH(h, lo, x)[0], "stoch tiny")
    assert_matches(ind.adx(h, lo, x, 14), talib.ADX(h, lo, x, 14), "adx tiny")
    upper, middle, _ = ind.bbands(x, 20)
    assert_matches(upper, talib.BBANDS(x, 20)[0], "bbands tiny")
    assert (upper[19:] > middle[19:]).mean() > 0.9


def test_leading_nans_are_skipped_like_talib():
    ds = bundled_dataset()
    c = ds.candles["SOL"]["1h"]
    x, h, lo, v = c.close[:300].copy(), c.high[:300].copy(), c.low[:300].copy(), c.volume[:300].copy()
    x[:5] = np.nan
    h[:8] = np.nan
    lo[10] = np.nan  # a gap after the start propagates, as in TA-Lib
    assert_matches(ind.ema(x, 10), talib.EMA(x, 10), "ema lead nan")
    assert_matches(ind.rsi(x, 14), talib.RSI(x, 14), "rsi lead nan")
    assert_matches(ind.macd(x)[0], talib.MACD(x)[0], "macd lead nan")
    assert_matches(ind.atr(h, lo, x, 14), talib.ATR(h, lo, x, 14), "atr lead nan")
    assert_matches(ind.obv(x, v), talib.OBV(x, v), "obv lead nan")
    assert_matches(ind.sma(np.full(10, np.nan), 3), talib.SMA(np.full(10, np.nan), 3), "all nan")


def test_vwap_is_nan_until_volume_trades():
    h = np.array([3.0, 4.0, 5.0, 6.0, 7.0])
    lo, c = h - 2.0, h - 1.0
    v = np.array([0.0, 0.0, 2.0, 3.0, 0.0])
    out = ind.vwap(h, lo, c, v)
    assert np.isnan(out[:2]).all()  # TA-Lib gives 0.0 here: not a price
    ref = talib.VWAP(h, lo, c, v)
    np.testing.assert_allclose(out[2:], ref[2:], rtol=RTOL)
    np.testing.assert_allclose(out[3], (4.0 * 2 + 5.0 * 3) / 5.0, rtol=RTOL)
    assert out[4] == out[3]  # a bar with no volume repeats the value


def test_inputs_are_converted_and_checked():
    x = [1.0, 2.0, 3.0, 2.0, 5.0, 4.0]
    np.testing.assert_array_equal(ind.sma(x, 2), talib.SMA(np.array(x), 2))
    as_int = np.arange(1, 31)
    np.testing.assert_array_equal(ind.ema(as_int, 5), talib.EMA(as_int.astype(float), 5))
    strided = np.arange(60, dtype=np.float64)[::2]
    np.testing.assert_array_equal(ind.rsi(strided, 5), talib.RSI(np.ascontiguousarray(strided), 5))
    assert ind.ema(np.float32([1, 2, 3]), 2).dtype == np.float64
    with pytest.raises(ValueError, match="1-D"):
        ind.ema(np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="same length"):
        ind.atr(np.ones(5), np.ones(4), np.ones(5), 2)
    with pytest.raises(ValueError, match="same length"):
        ind.vwap(np.ones(5), np.ones(5), np.ones(5), np.ones(3))
    with pytest.raises(ValueError, match="nbdev"):
        ind.bbands(np.ones(5), 2, float("nan"))


_PERIOD_CALLS = {
    "sma": lambda p: ind.sma(np.ones(10), p),
    "ema": lambda p: ind.ema(np.ones(10), p),
    "rsi": lambda p: ind.rsi(np.ones(10), p),
    "atr": lambda p: ind.atr(np.ones(10), np.ones(10), np.ones(10), p),
    "adx": lambda p: ind.adx(np.ones(10), np.ones(10), np.ones(10), p),
    "bbands": lambda p: ind.bbands(np.ones(10), p),
    "macd.fast": lambda p: ind.macd(np.ones(10), fast=p),
    "macd.slow": lambda p: ind.macd(np.ones(10), slow=p),
    "macd.signal": lambda p: ind.macd(np.ones(10), signal=p),
    "stoch.fastk": lambda p: ind.stoch(np.ones(10), np.ones(10), np.ones(10), fastk_period=p),
    "stoch.slowd": lambda p: ind.stoch(np.ones(10), np.ones(10), np.ones(10), slowd_period=p),
}


@pytest.mark.parametrize("call", sorted(_PERIOD_CALLS))
@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "14", None])
def test_bad_period_is_a_value_error(call, bad):
    with pytest.raises(ValueError, match=r"must be a whole number of candles >= 1, got") as info:
        _PERIOD_CALLS[call](bad)
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message


def test_numpy_integer_periods_are_accepted():
    np.testing.assert_array_equal(ind.ema(np.arange(10.0), np.int32(3)), ind.ema(np.arange(10.0), 3))


# ---------------------------------------------------------------- the fused kernel


def _individual(c: Candles) -> dict[str, np.ndarray]:
    m, s, h = ind.macd(c.close, 12, 26, 9)
    return {
        "ema20": ind.ema(c.close, 20),
        "ema50": ind.ema(c.close, 50),
        "rsi7": ind.rsi(c.close, 7),
        "rsi14": ind.rsi(c.close, 14),
        "macd": m,
        "macd_signal": s,
        "macd_hist": h,
        "atr3": ind.atr(c.high, c.low, c.close, 3),
        "atr14": ind.atr(c.high, c.low, c.close, 14),
        "volume_avg": ind.sma(c.volume, 20),
    }


def _assert_fused_equals_individual(market: MarketSnapshot) -> dict:
    feats = ind.compute_features(market)
    assert list(feats) == list(market.coins)
    for coin, snap in market.coins.items():
        assert list(feats[coin]) == list(snap.candles)
        for tf, candles in snap.candles.items():
            sf = feats[coin][tf]
            assert sf.timeframe == tf
            assert sf.close is candles.close and sf.volume is candles.volume
            for name, expected in _individual(candles).items():
                got = getattr(sf, name)
                assert got.dtype == np.float64 and got.shape == (len(candles),), (coin, tf, name)
                # bit for bit (NaN and the sign of zero included), and so is the latest value
                assert np.array_equal(got.view(np.uint64), expected.view(np.uint64)), (coin, tf, name)
                last = sf.last(name)
                assert type(last) is float, (coin, tf, name)
                if len(candles):
                    assert np.array([last]).view(np.uint64)[0] == expected.view(np.uint64)[-1], (coin, tf, name)
                else:
                    assert np.isnan(last), (coin, tf, name)
    return feats


def test_fused_equals_individual_on_recorded_market():
    market = RecordedMarket(lookback={"5m": 500, "4h": 100})
    snap = market.snapshot_at(market.now)
    feats = _assert_fused_equals_individual(snap)
    assert len(feats) == 6 and all(set(v) == {"5m", "4h"} for v in feats.values())
    btc = feats["BTC"]["5m"]
    assert btc.last("close") == snap.coins["BTC"].price
    assert btc.last("rsi14") == btc.rsi14[-1] and 0.0 <= btc.last("rsi14") <= 100.0
    # and against TA-Lib directly, as the per-cycle features
    c = snap.coins["XRP"].candles["4h"]
    assert_matches(feats["XRP"]["4h"].macd, talib.MACD(c.close)[0], "fused macd")
    assert_matches(feats["XRP"]["4h"].volume_avg, talib.SMA(c.volume, 20), "fused volume_avg")


def _candles(tf: str, close: np.ndarray, seed: int) -> Candles:
    rng = np.random.default_rng(seed)
    n = close.shape[0]
    spread = np.abs(rng.normal(0.5, 0.2, n))
    return Candles(
        tf,
        np.arange(n, dtype=np.int64) * 300_000,
        close.copy(),
        close + spread,
        close - spread,
        close,
        rng.uniform(1.0, 100.0, n),
    )


def test_fused_equals_individual_on_ragged_and_odd_series():
    """Lengths around every warm-up boundary, an empty series and leading NaNs."""
    rng = np.random.default_rng(7)
    coins = {}
    lengths = [0, 1, 3, 8, 14, 15, 20, 21, 26, 33, 34, 49, 50, 51, 120]
    for i, n in enumerate(lengths):
        close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, n))
        per_tf = {"5m": _candles("5m", close, i), "4h": _candles("4h", close[: n // 2], 100 + i)}
        coins[f"C{i}"] = CoinSnapshot(f"C{i}", per_tf, FundingHistory(np.zeros(0, np.int64), np.zeros(0), 1))
    odd = _candles("5m", 50.0 + np.cumsum(rng.normal(0.0, 1.0, 80)), 99)
    odd.close[:3] = np.nan
    odd.high[:5] = np.nan
    odd.volume[:2] = np.nan
    coins["NAN"] = CoinSnapshot("NAN", {"5m": odd}, FundingHistory(np.zeros(0, np.int64), np.zeros(0), 1))
    feats = _assert_fused_equals_individual(MarketSnapshot(0, coins, "test"))
    empty = feats["C0"]["5m"]
    assert np.isnan(empty.last("ema20")) and empty.ema20.shape == (0,)


def test_fused_rejects_candles_with_arrays_of_other_lengths():
    c = _candles("5m", 100.0 + np.arange(10.0), 1)
    bad = Candles("5m", c.ts, c.open, c.high[:-1], c.low, c.close, c.volume)
    funding = FundingHistory(np.zeros(0, np.int64), np.zeros(0), 1)
    snap = MarketSnapshot(0, {"X": CoinSnapshot("X", {"5m": bad}, funding)}, "test")
    with pytest.raises(ValueError, match="length differs from their timestamps"):
        ind.compute_features(snap)


def test_fused_on_an_empty_market():
    assert ind.compute_features(MarketSnapshot(0, {}, "test")) == {}


def test_series_features_api():
    market = RecordedMarket(coins=("ETH",), lookback={"5m": 60, "4h": 60})
    snap = market.snapshot_at(market.now)
    sf = ind.compute_features(snap)["ETH"]["4h"]
    candles = snap.coins["ETH"].candles["4h"]
    assert sf.timeframe == "4h" and sf.close is candles.close and sf.volume is candles.volume
    for name in ind.FEATURE_NAMES:
        arr = getattr(sf, name)
        assert arr is getattr(sf, name)  # made once, then kept
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (60,)
        assert sf.last(name) == float(arr[-1])
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    assert sf.last("close") == float(candles.close[-1]) and sf.last("volume") == float(candles.volume[-1])
    assert np.isnan(sf.ema50[:49]).all() and not np.isnan(sf.ema50[49:]).any()
    with pytest.raises(AttributeError):
        sf.ema20 = np.zeros(3)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        sf.close = np.zeros(3)  # type: ignore[misc]
    for bad in ("ema200", "", "EMA20", None, ["ema20"]):
        with pytest.raises(ValueError, match="unknown feature"):
            sf.last(bad)  # type: ignore[arg-type]
    assert "4h" in repr(sf)


def test_each_kernel_keeps_one_compiled_signature():
    """Wrappers normalise every input to one type, and compute_features gives the fused kernel
    copies of one type when the candles hold anything else (read-only, strided, float32 arrays,
    lists), so each kernel is compiled and cached once."""
    ind.warm_up()
    x = np.arange(40.0)
    for arg in (list(x), x.astype(np.int64), x.astype(np.float32), x[::-1], np.asfortranarray(x)):
        ind.ema(arg, np.int16(3))
        ind.rsi(arg, 5)
        ind.macd(arg, 3, 5, 2)
        ind.atr(arg, arg, arg, 4)
        ind.bbands(arg, 3, 1)
        ind.stoch(arg, arg, arg, 3, 2, 2)
        ind.adx(arg, arg, arg, 3)
        ind.obv(arg, arg)
        ind.vwap(arg, arg, arg, arg)
        ind.sma(arg, 2)
    c = _candles("5m", 100.0 + np.sin(np.arange(80.0)), 3)
    readonly = c.close.copy()
    readonly.flags.writeable = False
    funding = FundingHistory(np.zeros(0, np.int64), np.zeros(0), 1)
    odd = {
        "RO": Candles("5m", c.ts, c.open, c.high, c.low, readonly, c.volume),
        "F32": Candles("5m", c.ts, c.open, c.high.astype(np.float32), c.low, c.close, c.volume),
        "STRIDED": Candles("5m", c.ts, c.open, c.high, np.repeat(c.low, 2)[::2], c.close, c.volume),
        "LIST": Candles("5m", c.ts, c.open, c.high, c.low, c.close, c.volume.tolist()),
    }
    snap = MarketSnapshot(0, {k: CoinSnapshot(k, {"5m": v}, funding) for k, v in odd.items()}, "test")
    _assert_fused_equals_individual(snap)
    kernels = [getattr(ind, n) for n in dir(ind) if n.endswith("_kernel") and n.startswith("_")]
    assert len(kernels) == 11
    for k in kernels:
        assert len(k.signatures) == 1, (k.__name__, k.signatures)


# ---------------------------------------------------------------- cache directory and warm-up


def _cache_dir_in_child(env_changes: dict[str, str | None]) -> dict:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    code = (
        "import json, numba\n"
        "from arena_tui.engine import indicators as ind\n"
        "print(json.dumps({'dir': ind.CACHE_DIR, 'numba': numba.config.CACHE_DIR}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cache_dir_defaults_to_the_user_cache(tmp_path):
    got = _cache_dir_in_child({"NUMBA_CACHE_DIR": None, "XDG_CACHE_HOME": str(tmp_path)})
    assert got["dir"] == str(tmp_path / "arena-tui" / "numba") == got["numba"]
    assert (tmp_path / "arena-tui" / "numba").is_dir()


def test_cache_dir_respects_numba_cache_dir(tmp_path):
    got = _cache_dir_in_child({"NUMBA_CACHE_DIR": str(tmp_path / "mine")})
    assert got["dir"] == str(tmp_path / "mine") == got["numba"]


def test_cache_dir_falls_back_when_not_writable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would go")
    got = _cache_dir_in_child({"NUMBA_CACHE_DIR": None, "XDG_CACHE_HOME": str(blocker), "TMPDIR": str(tmp_path)})
    assert got["dir"].startswith(str(tmp_path)) and "arena-tui-numba" in got["dir"]
    assert got["numba"] == got["dir"]


def test_warm_up_and_warm_up_in_subprocess():
    assert ind.warm_up() >= 0.0
    proc = ind.warm_up_in_subprocess(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert isinstance(proc, subprocess.Popen)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert float(out.strip()) >= 0.0
    assert os.environ.get("NUMBA_CACHE_DIR") == ind.CACHE_DIR  # the child was pointed at the same cache
