"""Technical indicators as Numba kernels, TA-Lib compatible, plus one fused kernel per cycle.

Every public function takes float64 price arrays (anything ``np.ascontiguousarray(x, dtype=np.float64)``
accepts, 1-D) and returns float64 arrays of the same length. Values before an indicator is defined
(its *warm-up*) are NaN, at exactly the positions where TA-Lib (``import talib``; C library 0.8.1 in
ta-lib-python 0.8.2) puts NaN, and the values follow TA-Lib 0.8's arithmetic step for step, so on the
bundled Binance candles they are bit-identical to ``talib`` on a CPU with FMA (the tests require
1e-9 relative). TA-Lib 0.8 runs its EMA, MACD and ATR as fused multiply-adds on CPUs that have them
and as separate operations on CPUs that do not, so its own last bits vary by machine; these kernels
always use a fused multiply-add, so their results are the same everywhere.

- ``sma``: running sum with the trailing value subtracted, first value at index ``period - 1``.
- ``ema``: seeded with the SMA of the first ``period`` values (index ``period - 1``), then
  ``prev + (x - prev) * 2 / (period + 1)`` as one fused multiply-add, as TA-Lib's FMA build does.
- ``rsi``: Wilder smoothing seeded with the mean gain/loss of the first ``period`` changes (first
  value at index ``period``); a window with no change at all gives 0, as TA-Lib 0.8.1 does.
- ``atr``: Wilder smoothing of the true range seeded with the mean true range of bars 1..period
  (first value at index ``period``; ``period = 1`` is the true range).
- ``macd``: TA-Lib's MACD, whose fast and slow EMAs are both seeded on bar ``slow - 1`` (the fast
  seed is the mean of the last ``fast`` values of the slow seed window) and whose signal EMA is
  seeded with the mean of the first ``signal`` MACD values, so MACD, signal and histogram all start
  at index ``slow + signal - 2`` (33 for 12/26/9).
- ``bbands``: middle = SMA; bands = middle +/- ``nbdev`` x population standard deviation, the
  variance computed on shifted data as TA-Lib 0.8 does (no cancellation on large prices).
- ``stoch``: TA-Lib's default ``STOCH`` (SMA smoothing): slow %K = SMA(fast %K, ``slowk_period``),
  slow %D = SMA(slow %K, ``slowd_period``); a window whose range is zero gives fast %K 0.
- ``adx``: Wilder's ADX as TA-Lib computes it, first value at index ``2 * period - 1``.
- ``obv``: starts at the first bar's volume, like TA-Lib.
- ``vwap``: cumulative from the first bar: typical price ``(high + low + close) / 3`` weighted by
  volume, bars with a non-finite price or volume skipped. This is TA-Lib's ``VWAP`` with one
  deliberate difference: before any volume has traded the value is NaN (TA-Lib reports 0.0, which
  is not a price). To anchor it to a session, pass that session's slice.

Leading NaNs are skipped the way the ``talib`` Python wrapper skips them: the computation starts at
the first bar where every input is a number, and the warm-up counts from there. A NaN later in a
series propagates as it does in TA-Lib.

Periods are integers >= 1 (``ValueError`` otherwise, naming the argument). Where TA-Lib refuses a
period of 1 (RSI, ADX, MACD, Bollinger) these functions accept it and apply the same formulas:
``rsi(x, 1)`` is 100 on an up bar and 0 otherwise, ``bbands(x, 1)`` has zero width, an EMA of
period 1 is the input. ``macd`` swaps ``fast`` and ``slow`` when ``fast > slow``, as TA-Lib does.

Kernels are ``@njit(cache=True, nogil=True)``; each is only ever called with one argument type
(contiguous 1-D float64 arrays and int64 integers), so each has one compiled version in the
cache. They release the GIL, so ``await asyncio.to_thread(compute_features, market)`` keeps an
event loop responsive.

Numba cache: before Numba is imported, ``NUMBA_CACHE_DIR`` is set (``os.environ.setdefault``) to
``platformdirs.user_cache_dir("arena-tui")/numba`` (``~/.cache/arena-tui/numba`` on Linux) unless
it is already set; when that directory cannot be created or written, a per-user directory under
the system temp directory is used instead (a value the user set is left alone). ``CACHE_DIR``
holds the directory in use. The first run on a machine compiles every kernel (10-20 seconds;
``python benchmarks/indicators.py`` prints the figure); later runs load them from the cache in
about 0.3 seconds. ``warm_up()`` compiles or loads every kernel now and returns the seconds it took;
``warm_up_in_subprocess()`` does the same in a child process, so an application can fill the cache
at start-up while its own event loop keeps drawing, then call ``warm_up()`` (now a cache load).

``compute_features(market)`` is the per-cycle entry point: one call of one fused kernel computes
EMA20, EMA50, RSI7, RSI14, MACD(12, 26, 9), ATR3, ATR14 and the 20-candle average volume (SMA of
volume) for every coin and timeframe of a ``MarketSnapshot``; its values equal the individual
functions' exactly.

Sources: TA-Lib C sources (github.com/TA-Lib/ta-lib: ``src/ta_func``, ``ta_codegen/input``) and the
disassembly of the library bundled with ta-lib-python 0.8.2, checked empirically against ``talib``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def _writable_dir(path: Path) -> bool:
    """True when ``path`` exists (or can be created) and a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
        return True
    except OSError:
        return False


def _configure_numba_cache_dir() -> str:
    """Point Numba's cache at a user-writable directory unless ``NUMBA_CACHE_DIR`` is already set.

    Order of preference: the existing environment value; ``user_cache_dir("arena-tui")/numba``;
    ``<tempdir>/arena-tui-numba-<user>``; a fresh ``tempfile.mkdtemp``. Returns the directory.
    """
    existing = os.environ.get("NUMBA_CACHE_DIR")
    if existing:
        return existing
    candidates: list[Path] = []
    try:
        import platformdirs

        candidates.append(Path(platformdirs.user_cache_dir("arena-tui")) / "numba")
    except Exception:  # platformdirs missing or no home directory: fall through to temp
        pass
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    candidates.append(Path(tempfile.gettempdir()) / f"arena-tui-numba-{user}")
    chosen = next((str(p) for p in candidates if _writable_dir(p)), None)
    if chosen is None:
        chosen = tempfile.mkdtemp(prefix="arena-tui-numba-")
    os.environ.setdefault("NUMBA_CACHE_DIR", chosen)
    return os.environ["NUMBA_CACHE_DIR"]


CACHE_DIR: str = _configure_numba_cache_dir()
"""The directory Numba caches compiled kernels in (``NUMBA_CACHE_DIR``)."""

import subprocess  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from itertools import accumulate  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import numpy as np  # noqa: E402

if "numba" in sys.modules:  # imported before us: its config already read the environment
    sys.modules["numba"].config.CACHE_DIR = CACHE_DIR

from numba import njit, uint64 as _u64  # noqa: E402
from numba.core import types as _nbtypes  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

if TYPE_CHECKING:
    from arena_tui.engine.market.base import MarketSnapshot

__all__ = [
    "CACHE_DIR",
    "FEATURE_NAMES",
    "SeriesFeatures",
    "adx",
    "atr",
    "bbands",
    "compute_features",
    "ema",
    "macd",
    "obv",
    "rsi",
    "sma",
    "stoch",
    "vwap",
    "warm_up",
    "warm_up_in_subprocess",
]

_jit = njit(cache=True, nogil=True, error_model="numpy")

_NAN = np.nan
_ONE = _u64(1)
_TA_EPSILON = 1e-14  # TA-Lib's TA_EPSILON (ta_utility.h), used by TA_IS_ZERO


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM ``llvm.fma.f64``: one instruction on FMA hardware, libm's
    exact ``fma`` elsewhere). TA-Lib 0.8's EMA/MACD/ATR run as fused multiply-adds on FMA CPUs
    (GCC contracts them in its ``.fma`` clones); using the same operation keeps results identical."""
    sig = _nbtypes.float64(_nbtypes.float64, _nbtypes.float64, _nbtypes.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


# --------------------------------------------------------------------------------------------
# Kernels. ``_*_head(..., stop)`` computes bars [0, stop) of a series that has no leading NaN and
# returns the recursion state, so the fused kernel can carry on from there; ``_*_core`` is the head
# over the whole series; ``_*_kernel`` skips leading NaNs like the talib wrapper, then runs the
# core on the rest. Every output element is written (NaN during warm-up).
# --------------------------------------------------------------------------------------------


@_jit
def _lead1(a):
    """First index where ``a`` is not NaN (talib's check_begidx1: n-1 when all NaN, 0 if empty)."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i]:
            return i
    return n - 1 if n > 0 else 0


@_jit
def _lead2(a, b):
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i]:
            return i
    return n - 1 if n > 0 else 0


@_jit
def _lead3(a, b, c):
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i]:
            return i
    return n - 1 if n > 0 else 0


@_jit
def _lead4(a, b, c, d):
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i] and d[i] == d[i]:
            return i
    return n - 1 if n > 0 else 0


@_jit
def _fill_nan(out, stop):
    for i in range(min(stop, out.shape[0])):
        out[i] = _NAN


@_jit
def _sma_head(x, period, out, stop):
    """TA_SMA over bars ``[0, stop)``: running sum, the trailing value subtracted after each
    output. Returns the running total (the state the next bar continues from)."""
    start = period - 1
    _fill_nan(out, min(start, stop))
    total = 0.0
    for i in range(min(start, stop)):
        total += x[i]
    for i in range(start, stop):
        total += x[i]
        tmp = total
        total -= x[i - start]
        out[i] = tmp / period
    return total


@_jit
def _sma_core(x, period, out):
    _sma_head(x, period, out, x.shape[0])


@_jit
def _sma_kernel(x, period, out):
    b = _lead1(x)
    _fill_nan(out, b)
    _sma_core(x[b:], period, out[b:])


@_jit
def _ema_step(prev, x, k, period):
    """One EMA step as TA-Lib 0.8 computes it: ``fma(x - prev, k, prev)``; a copy at period 1."""
    return x if period == 1 else _fma(x - prev, k, prev)


@_jit
def _ema_head(x, period, out, stop):
    """TA_EMA (default compatibility) over bars ``[0, stop)``: seed = SMA of the first
    ``period`` values at bar ``period - 1``, then ``_ema_step``. Returns the last EMA."""
    start = period - 1
    _fill_nan(out, min(start, stop))
    if start >= stop:
        return 0.0
    k = 2.0 / (period + 1)
    total = 0.0
    for i in range(period):
        total += x[i]
    prev = x[start] if period == 1 else total / period
    out[start] = prev
    for i in range(start + 1, stop):
        prev = _ema_step(prev, x[i], k, period)
        out[i] = prev
    return prev


@_jit
def _ema_core(x, period, out):
    _ema_head(x, period, out, x.shape[0])


@_jit
def _ema_kernel(x, period, out):
    b = _lead1(x)
    _fill_nan(out, b)
    _ema_core(x[b:], period, out[b:])


@_jit
def _rsi_value(gain, loss):
    total = gain + loss
    return (gain / total) * 100.0 if total > 0.0 else 0.0


@_jit
def _rsi_head(x, period, out, stop):
    """TA_RSI (classic Wilder, TA-Lib 0.8 arithmetic) over bars ``[0, stop)``: seed = mean
    gain/loss of the first ``period`` changes; each step scales by ``period - 1`` and by the
    reciprocal of ``period``. Returns ``(gain, loss)``."""
    start = period
    _fill_nan(out, min(start, stop))
    if start >= stop:
        return 0.0, 0.0
    inv = 1.0 / period
    m = float(period - 1)
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = x[i] - x[i - 1]
        up = d if d > 0.0 else 0.0
        gain += up
        loss += up - d
    loss *= inv
    gain *= inv
    out[start] = _rsi_value(gain, loss)
    for i in range(start + 1, stop):
        d = x[i] - x[i - 1]
        up = d if d > 0.0 else 0.0
        gain = ((gain * m) + up) * inv
        loss = ((loss * m) + (up - d)) * inv
        out[i] = _rsi_value(gain, loss)
    return gain, loss


@_jit
def _rsi_core(x, period, out):
    _rsi_head(x, period, out, x.shape[0])


@_jit
def _rsi_kernel(x, period, out):
    b = _lead1(x)
    _fill_nan(out, b)
    _rsi_core(x[b:], period, out[b:])


@_jit
def _true_range(high, low, close, i):
    """TA_TRANGE of bar ``i`` (needs ``i >= 1``): max(high-low, |prev close-high|, |prev close-low|)."""
    h = high[i]
    lo = low[i]
    yc = close[i - 1]
    g = h - lo
    v = abs(yc - h)
    if v > g:
        g = v
    v = abs(yc - lo)
    if v > g:
        g = v
    return g


@_jit
def _atr_head(high, low, close, period, out, stop):
    """TA_ATR (0.8) over bars ``[0, stop)``: seed = mean true range of bars 1..period; then
    ``alpha * tr + beta * prev`` with ``beta = (period - 1) / period``, ``alpha = 1 - beta``,
    evaluated as ``fma(prev, beta, tr * alpha)``. Period 1 gives the true range. Returns prev."""
    start = period
    _fill_nan(out, min(start, stop))
    if start >= stop:
        return 0.0
    beta = float(period - 1) / float(period)
    alpha = 1.0 - beta
    total = 0.0
    for i in range(1, period + 1):
        total += _true_range(high, low, close, i)
    prev = total / period
    out[start] = prev
    for i in range(start + 1, stop):
        prev = _fma(prev, beta, _true_range(high, low, close, i) * alpha)
        out[i] = prev
    return prev


@_jit
def _atr_core(high, low, close, period, out):
    _atr_head(high, low, close, period, out, close.shape[0])


@_jit
def _atr_kernel(high, low, close, period, out):
    b = _lead3(high, low, close)
    _fill_nan(out, b)
    _atr_core(high[b:], low[b:], close[b:], period, out[b:])


@_jit
def _macd_head(x, fast, slow, signal, out_macd, out_signal, out_hist, stop):
    """TA_MACD over bars ``[0, stop)`` (``fast <= slow``): fast and slow EMA seeded on bar
    ``slow - 1`` (the fast seed averages the last ``fast`` values of the slow seed window), signal
    = EMA of the MACD line seeded with the mean of its first ``signal`` values; EMA steps are
    fused multiply-adds as in TA-Lib 0.8; a period of 1 means no smoothing.
    Returns ``(prev_fast, prev_slow, prev_signal)``."""
    start = (slow - 1) + (signal - 1)
    lim = min(start, stop)
    _fill_nan(out_macd, lim)
    _fill_nan(out_signal, lim)
    _fill_nan(out_hist, lim)
    if start >= stop:
        return 0.0, 0.0, 0.0
    fast_k = 2.0 / (fast + 1)
    slow_k = 2.0 / (slow + 1)
    signal_k = 2.0 / (signal + 1)
    slow_sum = 0.0
    for i in range(slow - fast):
        slow_sum += x[i]
    prev_fast = 0.0
    for i in range(slow - fast, slow):
        prev_fast += x[i]
        slow_sum += x[i]
    prev_slow = slow_sum / slow
    prev_fast = prev_fast / fast
    macd_value = prev_fast - prev_slow
    prev_signal = 0.0
    prev_signal += macd_value
    for i in range(slow, start + 1):
        prev_fast = _ema_step(prev_fast, x[i], fast_k, fast)
        prev_slow = _ema_step(prev_slow, x[i], slow_k, slow)
        macd_value = prev_fast - prev_slow
        prev_signal += macd_value
    prev_signal = prev_signal / signal
    out_macd[start] = macd_value
    out_signal[start] = prev_signal
    out_hist[start] = macd_value - prev_signal
    for i in range(start + 1, stop):
        prev_fast = _ema_step(prev_fast, x[i], fast_k, fast)
        prev_slow = _ema_step(prev_slow, x[i], slow_k, slow)
        macd_value = prev_fast - prev_slow
        prev_signal = _ema_step(prev_signal, macd_value, signal_k, signal)
        out_macd[i] = macd_value
        out_signal[i] = prev_signal
        out_hist[i] = macd_value - prev_signal
    return prev_fast, prev_slow, prev_signal


@_jit
def _macd_core(x, fast, slow, signal, out_macd, out_signal, out_hist):
    if slow < fast:
        fast, slow = slow, fast
    _macd_head(x, fast, slow, signal, out_macd, out_signal, out_hist, x.shape[0])


@_jit
def _macd_kernel(x, fast, slow, signal, out_macd, out_signal, out_hist):
    b = _lead1(x)
    _fill_nan(out_macd, b)
    _fill_nan(out_signal, b)
    _fill_nan(out_hist, b)
    _macd_core(x[b:], fast, slow, signal, out_macd[b:], out_signal[b:], out_hist[b:])


@_jit
def _bbands_core(x, period, nbdev, upper, middle, lower):
    """TA_BBANDS with SMA: middle = running-sum SMA; deviation = TA-Lib's shifted-data variance
    (re-centred when cancellation threatens, and every 32 x period bars), population form."""
    n = x.shape[0]
    lookback = period - 1
    _fill_nan(upper, lookback)
    _fill_nan(middle, lookback)
    _fill_nan(lower, lookback)
    if lookback >= n:
        return
    inv_period = 1.0 / period
    trailing = 0
    shift = x[0]
    ma_total = 0.0
    var1 = 0.0
    var2 = 0.0
    for j in range(lookback):
        ma_total += x[j]
        t = x[j] - shift
        var1 += t
        t *= t
        var2 += t
    bars_since_reseed = 32 * period
    for i in range(lookback, n):
        ma_total += x[i]
        t = x[i] - shift
        var1 += t
        t *= t
        var2 += t
        mean1 = var1 * inv_period
        variance = var2 * inv_period - mean1 * mean1
        mid = ma_total / period
        ma_total -= x[trailing]
        t = x[trailing] - shift
        var1 -= t
        t *= t
        var2 -= t
        trailing += 1
        bars_since_reseed -= 1
        if variance < 0.000001 * (var2 * inv_period) or t > 1000000.0 * var2 or bars_since_reseed <= 0:
            bars_since_reseed = 32 * period
            window_start = i - lookback
            s = 0.0
            for j in range(window_start, i + 1):
                s += x[j]
            shift = s * inv_period
            var1 = 0.0
            var2 = 0.0
            for j in range(window_start, i + 1):
                t = x[j] - shift
                var1 += t
                t *= t
                var2 += t
            mean1 = var1 * inv_period
            variance = var2 * inv_period - mean1 * mean1
            if variance < 0.000000000001 * (var2 * inv_period):
                variance = 0.0
            t = x[window_start] - shift
            var1 -= t
            t *= t
            var2 -= t
        dev = (np.sqrt(variance) if variance != 0.0 else 0.0) * nbdev
        middle[i] = mid
        upper[i] = mid + dev
        lower[i] = mid - dev


@_jit
def _bbands_kernel(x, period, nbdev, upper, middle, lower):
    b = _lead1(x)
    _fill_nan(upper, b)
    _fill_nan(middle, b)
    _fill_nan(lower, b)
    _bbands_core(x[b:], period, nbdev, upper[b:], middle[b:], lower[b:])


@_jit
def _obv_kernel(close, volume, out):
    """TA_OBV: starts at the first bar's volume; adds volume on up closes, subtracts on down."""
    n = close.shape[0]
    b = _lead2(close, volume)
    _fill_nan(out, b)
    if b >= n:
        return
    prev_obv = volume[b]
    prev_close = close[b]
    for i in range(b, n):
        c = close[i]
        if c > prev_close:
            prev_obv += volume[i]
        elif c < prev_close:
            prev_obv -= volume[i]
        out[i] = prev_obv
        prev_close = c


@_jit
def _vwap_kernel(high, low, close, volume, out):
    """Cumulative VWAP of the typical price; NaN until volume has traded (TA-Lib: 0.0)."""
    n = close.shape[0]
    b = _lead4(high, low, close, volume)
    _fill_nan(out, b)
    sum_pv = 0.0
    sum_v = 0.0
    value = _NAN
    for i in range(b, n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        v = volume[i]
        pv = tp * v
        if np.isfinite(tp) and np.isfinite(v):
            sum_pv += pv
            sum_v += v
        if sum_v > 0.0:
            value = sum_pv / sum_v
        out[i] = value


@_jit
def _stoch_core(high, low, close, fastk_period, slowk_period, slowd_period, out_k, out_d):
    """TA_STOCH with SMA smoothing: fast %K over ``fastk_period``, slow %K = SMA(fast %K),
    slow %D = SMA(slow %K). A window whose range is zero relative to its extremes gives 0."""
    n = close.shape[0]
    lookback_k = fastk_period - 1
    start = lookback_k + (slowk_period - 1) + (slowd_period - 1)
    _fill_nan(out_k, start)
    _fill_nan(out_d, start)
    if start >= n:
        return
    m = n - lookback_k
    fastk = np.empty(m)
    trailing = 0
    lowest_idx = -1
    highest_idx = -1
    lowest = 0.0
    highest = 0.0
    out_idx = 0
    for today in range(lookback_k, n):
        tmp = low[today]
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = low[lowest_idx]
            for i in range(lowest_idx + 1, today + 1):
                tmp = low[i]
                if tmp < lowest:
                    lowest_idx = i
                    lowest = tmp
        elif tmp <= lowest:
            lowest_idx = today
            lowest = tmp
        tmp = high[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[highest_idx]
            for i in range(highest_idx + 1, today + 1):
                tmp = high[i]
                if tmp > highest:
                    highest_idx = i
                    highest = tmp
        elif tmp >= highest:
            highest_idx = today
            highest = tmp
        diff = highest - lowest
        if not (abs(diff) <= _TA_EPSILON * (abs(highest) + abs(lowest))):
            fastk[out_idx] = ((close[today] - lowest) / diff) * 100.0
        else:
            fastk[out_idx] = 0.0
        out_idx += 1
        trailing += 1
    slowk = np.empty(m)
    _sma_core(fastk, slowk_period, slowk)
    k_from = slowk_period - 1
    slowd = np.empty(m - k_from)
    _sma_core(slowk[k_from:], slowd_period, slowd)
    d_from = slowd_period - 1
    for j in range(d_from, m - k_from):
        out_k[lookback_k + k_from + j] = slowk[k_from + j]
        out_d[lookback_k + k_from + j] = slowd[j]


@_jit
def _stoch_kernel(high, low, close, fastk_period, slowk_period, slowd_period, out_k, out_d):
    b = _lead3(high, low, close)
    _fill_nan(out_k, b)
    _fill_nan(out_d, b)
    _stoch_core(high[b:], low[b:], close[b:], fastk_period, slowk_period, slowd_period, out_k[b:], out_d[b:])


@_jit
def _adx_core(high, low, close, period, out):
    """TA_ADX (Wilder): +DM/-DM and TR summed over period-1 bars, smoothed, DX averaged."""
    n = close.shape[0]
    lookback = 2 * period - 1
    _fill_nan(out, lookback)
    if lookback >= n:
        return
    minus_dm = 0.0
    plus_dm = 0.0
    tr = 0.0
    today = 0
    prev_high = high[0]
    prev_low = low[0]
    for _ in range(period - 1):
        today += 1
        t = high[today]
        diff_p = t - prev_high
        prev_high = t
        t = low[today]
        diff_m = prev_low - t
        prev_low = t
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        tr += _true_range(high, low, close, today)
    sum_dx = 0.0
    for _ in range(period):
        today += 1
        t = high[today]
        diff_p = t - prev_high
        prev_high = t
        t = low[today]
        diff_m = prev_low - t
        prev_low = t
        minus_dm -= minus_dm / period
        plus_dm -= plus_dm / period
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        tr = tr - tr / period + _true_range(high, low, close, today)
        if tr > 0.0:
            minus_di = 100.0 * (minus_dm / tr)
            plus_di = 100.0 * (plus_dm / tr)
            s = minus_di + plus_di
            if not (-_TA_EPSILON < s < _TA_EPSILON):
                sum_dx += 100.0 * (abs(minus_di - plus_di) / s)
    prev_adx = sum_dx / period
    out[lookback] = prev_adx
    m = float(period - 1)
    for today in range(lookback + 1, n):
        t = high[today]
        diff_p = t - prev_high
        prev_high = t
        t = low[today]
        diff_m = prev_low - t
        prev_low = t
        minus_dm -= minus_dm / period
        plus_dm -= plus_dm / period
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        tr = tr - tr / period + _true_range(high, low, close, today)
        if tr > 0.0:
            minus_di = 100.0 * (minus_dm / tr)
            plus_di = 100.0 * (plus_dm / tr)
            s = minus_di + plus_di
            if not (-_TA_EPSILON < s < _TA_EPSILON):
                dx = 100.0 * (abs(minus_di - plus_di) / s)
                prev_adx = (prev_adx * m + dx) / period
        out[today] = prev_adx
    return


@_jit
def _adx_kernel(high, low, close, period, out):
    b = _lead3(high, low, close)
    _fill_nan(out, b)
    _adx_core(high[b:], low[b:], close[b:], period, out[b:])


# --------------------------------------------------------------------------------------------
# Input checking and the public functions.
# --------------------------------------------------------------------------------------------


def _period(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of candles >= 1, got {value!r}.")
    return int(value)


def _series(name: str, x: object) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of prices, got shape {arr.shape}.")
    return arr


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise ValueError(f"input arrays must have the same length, got {shown}.")


def sma(close: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average of ``close`` over ``period`` values (TA-Lib ``SMA``).

    Returns float64 array of ``len(close)``; the first ``period - 1`` values are NaN.
    Raises ``ValueError`` for a period that is not an integer >= 1 or a non-1-D input.
    """
    x = _series("close", close)
    p = _period("period", period)
    out = np.empty(x.shape[0])
    _sma_kernel(x, p, out)
    return out


def ema(close: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average, ``k = 2 / (period + 1)``, seeded with the SMA of the first
    ``period`` values (TA-Lib ``EMA``).

    Returns float64 array of ``len(close)``; the first ``period - 1`` values are NaN.
    Raises ``ValueError`` for a bad period or input.
    """
    x = _series("close", close)
    p = _period("period", period)
    out = np.empty(x.shape[0])
    _ema_kernel(x, p, out)
    return out


def rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Relative strength index in [0, 100] with Wilder smoothing (TA-Lib ``RSI``).

    Returns float64 array of ``len(close)``; the first ``period`` values are NaN. A window with
    neither gains nor losses (a constant series) gives 0, as TA-Lib 0.8 does.
    Raises ``ValueError`` for a bad period or input.
    """
    x = _series("close", close)
    p = _period("period", period)
    out = np.empty(x.shape[0])
    _rsi_kernel(x, p, out)
    return out


def macd(
    close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal line and histogram (TA-Lib ``MACD``), in price units.

    ``macd = EMA_fast - EMA_slow`` with both EMAs seeded on bar ``slow - 1``; ``signal`` is the
    EMA of the MACD line seeded with the mean of its first ``signal`` values; ``hist = macd -
    signal``. Returns three float64 arrays of ``len(close)``, each NaN up to index
    ``slow + signal - 3`` (first value at ``slow + signal - 2``). ``fast > slow`` are swapped.
    Raises ``ValueError`` for a bad period or input.
    """
    x = _series("close", close)
    f = _period("fast", fast)
    s = _period("slow", slow)
    g = _period("signal", signal)
    n = x.shape[0]
    m, sig, hist = np.empty(n), np.empty(n), np.empty(n)
    _macd_kernel(x, f, s, g, m, sig, hist)
    return m, sig, hist


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average true range in price units, Wilder smoothing seeded with the mean true range of
    bars 1..period (TA-Lib ``ATR``; ``period = 1`` is the true range itself).

    Returns float64 array of ``len(close)``; the first ``period`` values are NaN.
    Raises ``ValueError`` for a bad period, a non-1-D input or inputs of different lengths.
    """
    h, lo, c = _series("high", high), _series("low", low), _series("close", close)
    _same_length(high=h, low=lo, close=c)
    p = _period("period", period)
    out = np.empty(c.shape[0])
    _atr_kernel(h, lo, c, p, out)
    return out


def bbands(close: np.ndarray, period: int = 20, nbdev: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger Bands ``(upper, middle, lower)`` (TA-Lib ``BBANDS`` with matype SMA).

    middle = SMA(close, period); upper/lower = middle +/- nbdev x population standard deviation
    of the same window. Returns three float64 arrays of ``len(close)``; the first ``period - 1``
    values are NaN. Raises ``ValueError`` for a bad period, a non-finite ``nbdev`` or bad input.
    """
    x = _series("close", close)
    p = _period("period", period)
    try:
        k = float(nbdev)
    except (TypeError, ValueError):
        k = float("nan")
    if isinstance(nbdev, bool) or not np.isfinite(k):
        raise ValueError(f"nbdev must be a finite number of standard deviations, got {nbdev!r}.")
    n = x.shape[0]
    upper, middle, lower = np.empty(n), np.empty(n), np.empty(n)
    _bbands_kernel(x, p, k, upper, middle, lower)
    return upper, middle, lower


def vwap(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Cumulative volume-weighted average price from the first bar, in price units.

    ``sum(typical * volume) / sum(volume)`` with typical price ``(high + low + close) / 3``
    (TA-Lib ``VWAP``). Bars with a non-finite price or volume are skipped. NaN until some volume
    has traded (TA-Lib gives 0.0 there); otherwise defined from the first bar. To anchor it to a
    session, pass that session's slice. Returns float64 array of ``len(close)``.
    Raises ``ValueError`` for a non-1-D input or inputs of different lengths.
    """
    h, lo, c, v = _series("high", high), _series("low", low), _series("close", close), _series("volume", volume)
    _same_length(high=h, low=lo, close=c, volume=v)
    out = np.empty(c.shape[0])
    _vwap_kernel(h, lo, c, v, out)
    return out


def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume in base-coin units (TA-Lib ``OBV``): starts at the first bar's volume,
    adds the bar's volume when the close rises and subtracts it when the close falls.

    Returns float64 array of ``len(close)`` with no warm-up. Raises ``ValueError`` for a non-1-D
    input or inputs of different lengths.
    """
    c, v = _series("close", close), _series("volume", volume)
    _same_length(close=c, volume=v)
    out = np.empty(c.shape[0])
    _obv_kernel(c, v, out)
    return out


def stoch(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowd_period: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Slow stochastic oscillator ``(slowk, slowd)`` in [0, 100] (TA-Lib ``STOCH`` with SMA
    smoothing, its default).

    fast %K = 100 x (close - lowest low) / (highest high - lowest low) over ``fastk_period`` bars
    (0 when the range is flat); slow %K = SMA(fast %K, slowk_period); slow %D = SMA(slow %K,
    slowd_period). Both arrays have ``len(close)`` values, NaN for the first
    ``fastk_period + slowk_period + slowd_period - 3``. Raises ``ValueError`` for bad input.
    """
    h, lo, c = _series("high", high), _series("low", low), _series("close", close)
    _same_length(high=h, low=lo, close=c)
    fk = _period("fastk_period", fastk_period)
    sk = _period("slowk_period", slowk_period)
    sd = _period("slowd_period", slowd_period)
    n = c.shape[0]
    k, d = np.empty(n), np.empty(n)
    _stoch_kernel(h, lo, c, fk, sk, sd, k, d)
    return k, d


def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average directional index in [0, 100] (TA-Lib ``ADX``, Wilder smoothing, no rounding).

    Returns float64 array of ``len(close)``; the first ``2 * period - 1`` values are NaN.
    Raises ``ValueError`` for a bad period, a non-1-D input or inputs of different lengths.
    """
    h, lo, c = _series("high", high), _series("low", low), _series("close", close)
    _same_length(high=h, low=lo, close=c)
    p = _period("period", period)
    out = np.empty(c.shape[0])
    _adx_kernel(h, lo, c, p, out)
    return out


# --------------------------------------------------------------------------------------------
# The fused per-cycle kernel.
# --------------------------------------------------------------------------------------------

FEATURE_NAMES: tuple[str, ...] = (
    "ema20",
    "ema50",
    "rsi7",
    "rsi14",
    "macd",
    "macd_signal",
    "macd_hist",
    "atr3",
    "atr14",
    "volume_avg",
)
"""The per-series features ``compute_features`` produces, in the row order of the fused kernel:
EMA(close, 20), EMA(close, 50), RSI(close, 7), RSI(close, 14), MACD(close, 12, 26, 9) line, signal
and histogram, ATR(3), ATR(14), and ``volume_avg`` = SMA(volume, 20) (base-coin units)."""

_F_EMA_FAST, _F_EMA_SLOW = 20, 50
_F_RSI_FAST, _F_RSI_SLOW = 7, 14
_F_MACD_FAST, _F_MACD_SLOW, _F_MACD_SIGNAL = 12, 26, 9
_F_ATR_FAST, _F_ATR_SLOW = 3, 14
_F_VOLUME_AVG = 20
_F_LOOP_START = 1 + max(_F_EMA_FAST - 1, _F_RSI_FAST, _F_RSI_SLOW, _F_ATR_FAST, _F_ATR_SLOW, _F_VOLUME_AVG - 1)
_F_EMA_SLOW_START = max(_F_EMA_SLOW, _F_LOOP_START)
_F_MACD_START = max(_F_MACD_SLOW + _F_MACD_SIGNAL - 1, _F_LOOP_START)
# The fused kernel runs each feature's own head (seed and first steps) over bars [0, its start),
# then advances every feature together one bar at a time; the slow EMA and MACD join the shared
# loop at their own starts so that no feature walks its warm-up alone for long.
_F_MACD_FIRST = _F_MACD_START <= _F_EMA_SLOW_START
_F_PERIODS = np.array(
    [_F_EMA_FAST, _F_EMA_SLOW, _F_RSI_FAST, _F_RSI_SLOW, _F_MACD_FAST, _F_MACD_SLOW, _F_MACD_SIGNAL,
     _F_ATR_FAST, _F_ATR_SLOW, _F_VOLUME_AVG], dtype=np.int64,
)  # fmt: skip
# Read from an array, the periods are typed int64 (a bare constant would be typed as a literal and
# compile a second version of every kernel the fused one calls); LLVM still folds them.


@_jit
def _fused_steps(with_slow_ema, with_macd, high, low, close, volume, out, a, i0, i1, state):
    """Advance every feature of the fused kernel by one bar at a time over bars ``[i0, i1)`` of
    the series whose columns in ``out`` start at ``a``; ``state`` is the tuple of recursions
    ``(ema fast, ema slow, rsi fast gain/loss, rsi slow gain/loss, macd fast/slow/signal,
    atr fast, atr slow, volume running total)`` and the updated tuple is returned. The steps are
    those of the heads (same operations, same order). The two flags are always literal constants
    (the slow EMA and MACD join after their own warm-up), so each phase compiles without them.
    """
    E1, E2, R1, R2 = _F_PERIODS[0], _F_PERIODS[1], _F_PERIODS[2], _F_PERIODS[3]
    MF, MS, MG = _F_PERIODS[4], _F_PERIODS[5], _F_PERIODS[6]
    A1, A2, VA = _F_PERIODS[7], _F_PERIODS[8], _F_PERIODS[9]
    ke1 = 2.0 / (E1 + 1)
    ke2 = 2.0 / (E2 + 1)
    kf = 2.0 / (MF + 1)
    ks = 2.0 / (MS + 1)
    kg = 2.0 / (MG + 1)
    inv1 = 1.0 / R1
    inv2 = 1.0 / R2
    m1 = float(R1 - 1)
    m2 = float(R2 - 1)
    beta1 = float(A1 - 1) / float(A1)
    alpha1 = 1.0 - beta1
    beta2 = float(A2 - 1) / float(A2)
    alpha2 = 1.0 - beta2
    e = a + close.shape[0]
    o_e1, o_e2, o_r1, o_r2 = out[0, a:e], out[1, a:e], out[2, a:e], out[3, a:e]
    o_m, o_ms, o_mh = out[4, a:e], out[5, a:e], out[6, a:e]
    o_a1, o_a2, o_v = out[7, a:e], out[8, a:e], out[9, a:e]
    pe1, pe2, g1, l1, g2, l2, pf, ps, pg, pa1, pa2, vt = state
    # Unsigned indices: no negative-index wrap-around code in the hot loop.
    i = _u64(i0)
    end = _u64(i1)
    trailing = _u64(i0 - (VA - 1))
    prev_c = close[i0 - 1]
    while i < end:
        x = close[i]
        pe1 = _ema_step(pe1, x, ke1, E1)
        o_e1[i] = pe1
        if with_slow_ema:
            pe2 = _ema_step(pe2, x, ke2, E2)
            o_e2[i] = pe2
        d = x - prev_c
        up = d if d > 0.0 else 0.0
        g1 = ((g1 * m1) + up) * inv1
        l1 = ((l1 * m1) + (up - d)) * inv1
        o_r1[i] = _rsi_value(g1, l1)
        g2 = ((g2 * m2) + up) * inv2
        l2 = ((l2 * m2) + (up - d)) * inv2
        o_r2[i] = _rsi_value(g2, l2)
        if with_macd:
            pf = _ema_step(pf, x, kf, MF)
            ps = _ema_step(ps, x, ks, MS)
            mv = pf - ps
            pg = _ema_step(pg, mv, kg, MG)
            o_m[i] = mv
            o_ms[i] = pg
            o_mh[i] = mv - pg
        hi = high[i]
        lo = low[i]
        tr = hi - lo  # _true_range, with the previous close kept in a register
        t = abs(prev_c - hi)
        if t > tr:
            tr = t
        t = abs(prev_c - lo)
        if t > tr:
            tr = t
        pa1 = _fma(pa1, beta1, tr * alpha1)
        o_a1[i] = pa1
        pa2 = _fma(pa2, beta2, tr * alpha2)
        o_a2[i] = pa2
        vt += volume[i]
        tmp = vt
        vt -= volume[trailing]
        o_v[i] = tmp / VA
        prev_c = x
        i += _ONE
        trailing += _ONE
    return (pe1, pe2, g1, l1, g2, l2, pf, ps, pg, pa1, pa2, vt)


@_jit
def _features_kernel(packed, offsets, out):
    """All features of FEATURE_NAMES for every series ``s`` of the packed input.

    ``packed`` holds, per series, its high, low, close and volume blocks back to back, starting
    at ``4 * offsets[s]``; series ``s`` has ``offsets[s + 1] - offsets[s]`` candles. ``out`` has
    one row per feature; series ``s`` fills columns ``offsets[s]:offsets[s + 1]``. Each feature's
    head runs its warm-up, then ``_fused_steps`` advances all of them together; the arithmetic is
    that of the individual kernels, so the results are identical to them.
    """
    E1, E2, R1, R2 = _F_PERIODS[0], _F_PERIODS[1], _F_PERIODS[2], _F_PERIODS[3]
    MF, MS, MG = _F_PERIODS[4], _F_PERIODS[5], _F_PERIODS[6]
    A1, A2, VA = _F_PERIODS[7], _F_PERIODS[8], _F_PERIODS[9]
    for s in range(offsets.shape[0] - 1):
        a = offsets[s]
        e = offsets[s + 1]
        n = e - a
        base = 4 * a
        h = packed[base : base + n]
        lo = packed[base + n : base + 2 * n]
        c = packed[base + 2 * n : base + 3 * n]
        v = packed[base + 3 * n : base + 4 * n]
        o_e1, o_e2, o_r1, o_r2 = out[0, a:e], out[1, a:e], out[2, a:e], out[3, a:e]
        o_m, o_ms, o_mh = out[4, a:e], out[5, a:e], out[6, a:e]
        o_a1, o_a2, o_v = out[7, a:e], out[8, a:e], out[9, a:e]
        if n == 0:
            continue
        if not (h[0] == h[0] and lo[0] == lo[0] and c[0] == c[0] and v[0] == v[0]):
            # leading NaNs: each feature skips them on its own inputs, as the public functions do
            _ema_kernel(c, E1, o_e1)
            _ema_kernel(c, E2, o_e2)
            _rsi_kernel(c, R1, o_r1)
            _rsi_kernel(c, R2, o_r2)
            _macd_kernel(c, MF, MS, MG, o_m, o_ms, o_mh)
            _atr_kernel(h, lo, c, A1, o_a1)
            _atr_kernel(h, lo, c, A2, o_a2)
            _sma_kernel(v, VA, o_v)
            continue
        stop = min(_F_LOOP_START, n)
        stop_e2 = min(_F_EMA_SLOW_START, n)
        stop_m = min(_F_MACD_START, n)
        pe1 = _ema_head(c, E1, o_e1, stop)
        pe2 = _ema_head(c, E2, o_e2, stop_e2)
        g1, l1 = _rsi_head(c, R1, o_r1, stop)
        g2, l2 = _rsi_head(c, R2, o_r2, stop)
        pf, ps, pg = _macd_head(c, MF, MS, MG, o_m, o_ms, o_mh, stop_m)
        pa1 = _atr_head(h, lo, c, A1, o_a1, stop)
        pa2 = _atr_head(h, lo, c, A2, o_a2, stop)
        vt = _sma_head(v, VA, o_v, stop)
        state = (pe1, pe2, g1, l1, g2, l2, pf, ps, pg, pa1, pa2, vt)
        # three phases: neither slow feature started, one of them, both
        b1 = min(stop_e2, stop_m)
        b2 = max(stop_e2, stop_m)
        if stop < b1:
            state = _fused_steps(False, False, h, lo, c, v, out, a, stop, b1, state)
        if b1 < b2:
            if _F_MACD_FIRST:  # a constant: numba compiles only the branch taken
                state = _fused_steps(False, True, h, lo, c, v, out, a, b1, b2, state)
            else:
                state = _fused_steps(True, False, h, lo, c, v, out, a, b1, b2, state)
        if b2 < n:
            state = _fused_steps(True, True, h, lo, c, v, out, a, b2, n, state)


@dataclass(frozen=True, eq=False)
class SeriesFeatures:
    """The feature series of one coin on one timeframe, oldest first.

    ``close`` and ``volume`` are the input candles' arrays (views, not copies; USD and base
    coin). Every feature is a float64 array of ``len(close)`` with NaN during its warm-up:
    ``ema20``/``ema50`` (USD, first value at index 19/49), ``rsi7``/``rsi14`` (0-100, from index
    7/14), ``macd``/``macd_signal``/``macd_hist`` (MACD 12/26/9 in USD, from index 33),
    ``atr3``/``atr14`` (USD, from index 3/14) and ``volume_avg`` (SMA of volume over 20 candles,
    base coin, from index 19). From ``compute_features`` the feature arrays are read-only views of
    one matrix per call.
    """

    timeframe: str
    close: np.ndarray
    volume: np.ndarray
    ema20: np.ndarray
    ema50: np.ndarray
    rsi7: np.ndarray
    rsi14: np.ndarray
    macd: np.ndarray
    macd_signal: np.ndarray
    macd_hist: np.ndarray
    atr3: np.ndarray
    atr14: np.ndarray
    volume_avg: np.ndarray

    def last(self, name: str) -> float:
        """Latest value of feature ``name`` (one of FEATURE_NAMES, or "close"/"volume"), or NaN
        when the series is empty. Raises ``ValueError`` for an unknown name."""
        if name not in FEATURE_NAMES and name not in ("close", "volume"):
            raise ValueError(f"unknown feature '{name}': use one of {', '.join(FEATURE_NAMES)}, close, volume.")
        arr = getattr(self, name)
        return float(arr[-1]) if arr.shape[0] else float("nan")


_new_object = object.__new__
_set_attr = object.__setattr__


def compute_features(market: "MarketSnapshot") -> dict[str, dict[str, SeriesFeatures]]:
    """Every feature of FEATURE_NAMES for every coin and timeframe of ``market``, in one call.

    Packs the candles of all (coin, timeframe) series into one contiguous array with offsets,
    runs one fused Numba kernel that writes a (features x candles) matrix, and slices read-only
    views back out. Values are identical to calling ``ema``/``rsi``/``macd``/``atr``/``sma`` on
    each series. Returns ``{coin: {timeframe: SeriesFeatures}}`` in the snapshot's order. The
    kernel releases the GIL, so ``await asyncio.to_thread(compute_features, market)`` works.
    Raises ``ValueError`` when a Candles' arrays do not all have its length.
    """
    series = [(coin, tf, c) for coin, snap in market.coins.items() for tf, c in snap.candles.items()]
    bounds = [0, *accumulate(len(c) for _, _, c in series)]
    columns = [a for _, _, c in series for a in (c.high, c.low, c.close, c.volume)]
    packed = np.concatenate(columns, dtype=np.float64) if columns else np.empty(0)
    if packed.shape[0] != 4 * bounds[-1]:
        raise ValueError(
            "candles passed to compute_features have price or volume arrays whose length differs from "
            "their timestamps; build every Candles from arrays of one length."
        )
    out = np.empty((len(FEATURE_NAMES), bounds[-1]))
    _features_kernel(packed, np.array(bounds, dtype=np.int64), out)
    out.flags.writeable = False  # the views handed out below are read-only
    result: dict[str, dict[str, SeriesFeatures]] = {}
    for j, (coin, tf, c) in enumerate(series):
        e20, e50, r7, r14, m, ms, mh, a3, a14, va = out[:, bounds[j] : bounds[j + 1]]
        # Same attributes as SeriesFeatures(...), without the frozen __init__'s 13 setattr calls.
        sf = _new_object(SeriesFeatures)
        _set_attr(sf, "__dict__", {
            "timeframe": tf, "close": c.close, "volume": c.volume, "ema20": e20, "ema50": e50,
            "rsi7": r7, "rsi14": r14, "macd": m, "macd_signal": ms, "macd_hist": mh,
            "atr3": a3, "atr14": a14, "volume_avg": va,
        })  # fmt: skip
        result.setdefault(coin, {})[tf] = sf
    return result


# --------------------------------------------------------------------------------------------
# Warm-up.
# --------------------------------------------------------------------------------------------


def warm_up() -> float:
    """Compile (first run) or load from the cache every kernel, on tiny inputs; returns seconds.

    Calls each public function and the fused kernel once with the argument types production
    uses, so later calls start immediately. Safe to call from any thread.
    """
    t0 = time.perf_counter()
    n = 64
    i = np.arange(n, dtype=np.float64)
    close = 100.0 + np.sin(i / 3.0) * 2.0 + i * 0.05
    high = close + 0.5
    low = close - 0.5
    volume = 10.0 + np.cos(i / 5.0)
    sma(close, 5)
    ema(close, 5)
    rsi(close, 5)
    macd(close, 3, 6, 2)
    atr(high, low, close, 5)
    bbands(close, 5, 2.0)
    vwap(high, low, close, volume)
    obv(close, volume)
    stoch(high, low, close, 5, 3, 3)
    adx(high, low, close, 5)
    packed = np.concatenate([high, low, close, volume, high, low, close, volume])
    out = np.empty((len(FEATURE_NAMES), 2 * n))
    _features_kernel(packed, np.array([0, n, 2 * n], dtype=np.int64), out)
    return time.perf_counter() - t0


_WARM_UP_CODE = (
    "import os\n"
    "try:\n"
    "    os.nice(10)\n"
    "except (AttributeError, OSError):\n"
    "    pass\n"
    "from arena_tui.engine.indicators import warm_up\n"
    "print(f'{warm_up():.3f}')\n"
)


def warm_up_in_subprocess(**popen_kwargs: object) -> subprocess.Popen:
    """Start a child Python (same interpreter, lower CPU priority) that runs ``warm_up()`` and
    exits, filling the Numba cache in ``CACHE_DIR`` without touching this process's GIL.

    Returns the ``subprocess.Popen``; its stdout is the warm-up time in seconds when the caller
    passes ``stdout=subprocess.PIPE`` (default: discarded). Extra keyword arguments go to Popen.
    Once it has exited (``proc.poll() is not None``), ``warm_up()`` in this process only loads the
    cached kernels (about 0.3 s); a kernel used before then is compiled in this process as well.
    Typical start-up: ``proc = warm_up_in_subprocess()`` at launch, then in a worker thread
    ``proc.wait(); warm_up()`` before the first cycle.
    """
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = CACHE_DIR
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    kwargs.update(popen_kwargs)
    kwargs.setdefault("env", env)
    return subprocess.Popen([sys.executable, "-c", _WARM_UP_CODE], **kwargs)
