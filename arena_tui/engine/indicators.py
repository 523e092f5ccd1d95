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

``compute_features(market)`` is the per-cycle entry point: one call of one fused kernel (per 12
series) computes EMA20, EMA50, RSI7, RSI14, MACD(12, 26, 9), ATR3, ATR14 and the 20-candle average
volume (SMA of volume) for every coin and timeframe of a ``MarketSnapshot``, four series at a time
on the lanes of a SIMD vector; its values equal the individual functions' bit for bit. The result
reads the kernel's one output buffer: ``last(name)`` directly, each feature array as a read-only
view made on first access.

Numba cache: before Numba is imported, ``NUMBA_CACHE_DIR`` is set (``os.environ.setdefault``) to
``platformdirs.user_cache_dir("arena-tui")/numba`` (``~/.cache/arena-tui/numba`` on Linux) unless
it is already set; when that directory cannot be created or written, a per-user directory under
the system temp directory is used instead (a value the user set is left alone). ``CACHE_DIR``
holds the directory in use. The first run on a machine compiles the kernels it uses; later runs
load them from the cache (``python benchmarks/indicators.py`` prints both times on this machine).
``warm_up(scope)`` compiles or loads kernels now and returns the seconds it took: scope
``"cycle"`` only the fused kernel, all that ``compute_features`` (so an arena cycle) needs, and a
fraction of the whole compile; ``"all"`` (the default) every kernel. ``warm_up_in_subprocess(
scope)`` does the same in a child process, so an application can fill the cache at start-up while
its own event loop keeps drawing, then call ``warm_up(scope)`` (now a cache load).

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
import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import numpy as np  # noqa: E402

if "numba" in sys.modules:  # imported before us: its config already read the environment
    sys.modules["numba"].config.CACHE_DIR = CACHE_DIR

from llvmlite import ir  # noqa: E402
from numba import njit  # noqa: E402
from numba.core import cgutils, types as _nbtypes  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

if TYPE_CHECKING:
    from arena_tui.engine.market.base import MarketSnapshot

__all__ = [
    "CACHE_DIR",
    "FEATURE_NAMES",
    "SeriesFeatures",
    "WARM_UP_SCOPES",
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
# returns the recursion state (the fused kernel's ``_Feature`` programs take the same steps);
# ``_*_core`` is the head over the whole series; ``_*_kernel`` skips leading NaNs like the talib
# wrapper, then runs the core on the rest. Every output element is written (NaN during warm-up).
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
    flags = arr.flags
    if not (flags.writeable and flags.aligned):  # Numba types these apart: a copy keeps one signature
        arr = arr.copy()
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
#
# ``_features_kernel`` computes every feature of up to 12 series in one call. It runs four series
# at a time in lockstep, one per lane of a 4 x float64 SIMD vector (AVX2 where the CPU has it;
# LLVM lowers the same code to SSE2 halves elsewhere): lane by lane, the same IEEE operations in
# the same order as the scalar kernels above, so every value is bit-identical to theirs. The work
# on a group of four series is emitted directly as LLVM IR from Python (``_Lanes`` and the
# ``_Feature`` programs below, one intrinsic): written as Numba code, the same loops compile
# several seconds longer.
#
# Layout. A group's candles are transposed into a scratch block of 16 doubles per bar (high, low,
# close, volume x lane), _CHUNK bars ahead of the loop that reads them. Its features go to an
# output block of 40 doubles per bar (feature x lane, FEATURE_NAMES order): ten vector stores per
# bar, and a series' feature is a strided view (every 40th double) of the output buffer. The lanes
# of a group may have different lengths: a shorter (or unused) lane reads filler candles (1.0)
# past its end, and what it computes there is never shown; every indicator is causal, so what a
# series shows depends on its own candles only. Every group has at least _MIN_ROWS bars, so the
# warm-ups always run to their fixed ends.
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
_LANES = 4
_IN_ROW = 4 * _LANES  # doubles per bar of a group's transposed candles
_OUT_ROW = len(FEATURE_NAMES) * _LANES  # doubles per bar of a group's features
_CHUNK = 64  # bars transposed at a time (a multiple of 4, past every warm-up)
_MIN_ROWS = _CHUNK  # bars of the smallest group
_F_GROUP_OF = (0, 0, 0, 0, 0, 0, 0, 1, 1, 2)  # feature -> its input group: close, high/low/close, volume
_META = 7  # per series: candles, then (lane position, leading NaNs) for each input group
_LASTS = len(FEATURE_NAMES) + 2  # per series: the last value of each feature, close, volume
_SERIES_PER_CALL = 12  # series per kernel call (6 coins x 2 timeframes); more take several calls

_D = ir.DoubleType()
_I64 = ir.IntType(64)
_V = ir.VectorType(_D, _LANES)
_V2 = ir.VectorType(_D, 2)


class _Lanes:
    """Emits LLVM IR for one group of four series: vector arithmetic, loads and stores of the
    transposed blocks, loops, and loop-carried variables (stack slots that LLVM promotes to
    registers). Every operation is a plain IEEE operation without fast-math flags, so LLVM keeps
    each one as written (a division by a constant stays a division)."""

    def __init__(self, builder: ir.IRBuilder, inp: ir.Value, out: ir.Value, off: ir.Value) -> None:
        self.b = builder
        self.inp = inp  # double*: the transposed candles
        self.out = out  # double*: the output buffer
        self.off = off  # i64: index of the group's first output double
        self._bar: dict = {}
        module = builder.module
        self._fma = cgutils.get_or_insert_function(module, ir.FunctionType(_V, [_V, _V, _V]), "llvm.fma.v4f64")
        self._fabs = cgutils.get_or_insert_function(module, ir.FunctionType(_V, [_V]), "llvm.fabs.v4f64")

    # values
    def const(self, x: float) -> ir.Constant:
        return ir.Constant(_V, [ir.Constant(_D, float(x))] * _LANES)

    def i64(self, x: int) -> ir.Constant:
        return ir.Constant(_I64, x)

    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def fma(self, a, b, c):
        """``a * b + c`` rounded once, as ``_fma``."""
        return self.b.call(self._fma, [a, b, c])

    def abs(self, a):
        return self.b.call(self._fabs, [a])

    def gt_else(self, a, b, x, y):
        """``x if a > b else y`` per lane (an ordered comparison: NaN gives ``y``, as in Python)."""
        return self.b.select(self.b.fcmp_ordered(">", a, b), x, y)

    # memory
    def _index(self, row, width: int, col: int):
        if isinstance(row, int):
            return self.i64(row * width + col)
        return self.b.add(self.b.mul(row, self.i64(width)), self.i64(col))

    def _vector_at(self, base, index):
        return self.b.bitcast(self.b.gep(base, [index], inbounds=True), _V.as_pointer())

    def new_bar(self) -> None:
        """Forget the loads and shared values of the previous bar (see ``_memo``)."""
        self._bar = {}

    def _memo(self, key, make):
        # A bar's loads and shared values (true range, close change) are emitted once: LLVM
        # cannot tell the input block from the output buffer, so it would load again after
        # every store, and the features would each recompute them.
        value = self._bar.get(key)
        if value is None:
            value = self._bar[key] = make()
        return value

    def load(self, row, col: int, back: int = 0):
        """The four lanes of input ``col`` (0 high, 4 low, 8 close, 12 volume) of bar ``row -
        back``."""

        def make():
            at = row - back if isinstance(row, int) else self.b.sub(row, self.i64(back)) if back else row
            return self.b.load(self._vector_at(self.inp, self._index(at, _IN_ROW, col)), align=8)

        return self._memo(("load", row if isinstance(row, int) else id(row), back, col), make)

    def store(self, row, col: int, value) -> None:
        """Feature ``col // 4`` of bar ``row``, four lanes."""
        index = self.b.add(self.off, self._index(row, _OUT_ROW, col))
        self.b.store(value, self._vector_at(self.out, index), align=8)

    # loop-carried variables and loops
    def var(self, init):
        slot = cgutils.alloca_once(self.b, init.type)
        self.b.store(init, slot)
        return slot

    def get(self, slot):
        return self.b.load(slot)

    def set(self, slot, value) -> None:
        self.b.store(value, slot)

    @contextmanager
    def loop(self, start, stop):
        start = self.i64(start) if isinstance(start, int) else start
        stop = self.i64(stop) if isinstance(stop, int) else stop
        with cgutils.for_range_slice(self.b, start, stop, self.i64(1), intp=_I64) as (i, _):
            yield i

    # shared pieces of the indicators
    def rsi_value(self, gain, loss):
        """``_rsi_value``: ``gain / (gain + loss) * 100``, 0 when nothing moved."""
        total = self.add(gain, loss)
        zero = self.const(0.0)
        return self.gt_else(total, zero, self.mul(self.div(gain, total), self.const(100.0)), zero)

    def true_range(self, row):
        """``_true_range`` of bar ``row``."""

        def make():
            high, low, yc = self.load(row, 0), self.load(row, 4), self.load(row, 8, back=1)
            g = self.sub(high, low)
            v = self.abs(self.sub(yc, high))
            g = self.gt_else(v, g, v, g)
            v = self.abs(self.sub(yc, low))
            return self.gt_else(v, g, v, g)

        return self._memo(("tr", row if isinstance(row, int) else id(row)), make)

    def close_change(self, row):
        """``(d, up, up - d)`` of bar ``row``: the close's change and its gain and loss parts."""

        def make():
            zero = self.const(0.0)
            d = self.sub(self.load(row, 8), self.load(row, 8, back=1))
            up = self.gt_else(d, zero, d, zero)
            return d, up, self.sub(up, d)

        return self._memo(("change", row if isinstance(row, int) else id(row)), make)


class _Feature:
    """One feature's recursion as a program over bars: ``phases`` lists ``(first bar, kind)``, each
    kind lasting until the next one starts (the last one for good); ``emit(e, i, kind)`` emits bar
    ``i`` of that kind. The kinds follow the scalar kernel's head and loop step for step."""

    phases: tuple[tuple[int, str], ...] = ()

    def emit(self, e: _Lanes, i, kind: str) -> None:
        raise NotImplementedError

    def kind_at(self, bar: int) -> str:
        return [kind for first, kind in self.phases if first <= bar][-1]


class _Ema(_Feature):
    """``_ema_head``/``_ema_step`` of the close: the sum of the first ``period`` closes, its mean
    on bar ``period - 1``, then ``fma(x - prev, k, prev)``."""

    def __init__(self, e: _Lanes, period: int, col: int) -> None:
        self.period, self.col = period, col
        self.phases = ((0, "sum"), (period - 1, "seed"), (period, "step"))
        self.prev = e.var(e.const(0.0))  # the running total, then the EMA

    def emit(self, e: _Lanes, i, kind: str) -> None:
        x = e.load(i, 8)
        if kind == "step":
            p = e.get(self.prev)
            p = e.fma(e.sub(x, p), e.const(2.0 / (self.period + 1)), p)
        else:
            p = e.add(e.get(self.prev), x)
            if kind == "sum":
                e.set(self.prev, p)
                e.store(i, self.col, e.const(np.nan))
                return
            p = e.div(p, e.const(self.period))
        e.set(self.prev, p)
        e.store(i, self.col, p)


class _Rsi(_Feature):
    """``_rsi_head``: gains and losses summed over bars 1..period, scaled by 1/period on bar
    ``period``, then Wilder's steps."""

    def __init__(self, e: _Lanes, period: int, col: int) -> None:
        self.period, self.col = period, col
        self.phases = ((0, "nan"), (1, "sum"), (period, "seed"), (period + 1, "step"))
        self.gain, self.loss = e.var(e.const(0.0)), e.var(e.const(0.0))

    def emit(self, e: _Lanes, i, kind: str) -> None:
        if kind == "nan":
            e.store(i, self.col, e.const(np.nan))
            return
        _, up, down = e.close_change(i)
        inv = e.const(1.0 / self.period)
        if kind == "step":
            m = e.const(float(self.period - 1))
            g = e.mul(e.add(e.mul(e.get(self.gain), m), up), inv)
            lo = e.mul(e.add(e.mul(e.get(self.loss), m), down), inv)
        else:
            g = e.add(e.get(self.gain), up)
            lo = e.add(e.get(self.loss), down)
            if kind == "seed":
                lo = e.mul(lo, inv)
                g = e.mul(g, inv)
        e.set(self.gain, g)
        e.set(self.loss, lo)
        e.store(i, self.col, e.const(np.nan) if kind == "sum" else e.rsi_value(g, lo))


class _Atr(_Feature):
    """``_atr_head``: the true ranges of bars 1..period summed, their mean on bar ``period``,
    then ``fma(prev, beta, tr * alpha)``."""

    def __init__(self, e: _Lanes, period: int, col: int) -> None:
        self.period, self.col = period, col
        self.phases = ((0, "nan"), (1, "sum"), (period, "seed"), (period + 1, "step"))
        self.prev = e.var(e.const(0.0))

    def emit(self, e: _Lanes, i, kind: str) -> None:
        if kind == "nan":
            e.store(i, self.col, e.const(np.nan))
            return
        tr = e.true_range(i)
        if kind == "step":
            beta = float(self.period - 1) / float(self.period)
            p = e.fma(e.get(self.prev), e.const(beta), e.mul(tr, e.const(1.0 - beta)))
        else:
            p = e.add(e.get(self.prev), tr)
            if kind == "seed":
                p = e.div(p, e.const(self.period))
        e.set(self.prev, p)
        e.store(i, self.col, e.const(np.nan) if kind == "sum" else p)


class _Macd(_Feature):
    """``_macd_head`` (12, 26, 9): the slow sum over bars [0, 26) and the fast one over [14, 26),
    both EMAs from bar 26 on, the signal seeded with the mean of the MACD values of bars 25..33."""

    def __init__(self, e: _Lanes) -> None:
        fast, slow, signal = _F_MACD_FAST, _F_MACD_SLOW, _F_MACD_SIGNAL
        start = (slow - 1) + (signal - 1)
        self.phases = ((0, "slow"), (slow - fast, "both"), (slow - 1, "init"), (slow, "warm"),
                       (start, "seed"), (start + 1, "step"))  # fmt: skip
        zero = e.const(0.0)
        self.pf, self.ps, self.pg = e.var(zero), e.var(zero), e.var(zero)

    def emit(self, e: _Lanes, i, kind: str) -> None:
        x = e.load(i, 8)
        nan = e.const(np.nan)
        if kind in ("slow", "both", "init"):
            if kind != "slow":
                e.set(self.pf, e.add(e.get(self.pf), x))
            e.set(self.ps, e.add(e.get(self.ps), x))  # the slow sum
            if kind == "init":
                ps = e.div(e.get(self.ps), e.const(_F_MACD_SLOW))
                pf = e.div(e.get(self.pf), e.const(_F_MACD_FAST))
                e.set(self.ps, ps)
                e.set(self.pf, pf)
                e.set(self.pg, e.add(e.const(0.0), e.sub(pf, ps)))
            for col in (16, 20, 24):
                e.store(i, col, nan)
            return
        f = e.fma(e.sub(x, e.get(self.pf)), e.const(2.0 / (_F_MACD_FAST + 1)), e.get(self.pf))
        s = e.fma(e.sub(x, e.get(self.ps)), e.const(2.0 / (_F_MACD_SLOW + 1)), e.get(self.ps))
        m = e.sub(f, s)
        e.set(self.pf, f)
        e.set(self.ps, s)
        if kind == "step":
            g = e.fma(e.sub(m, e.get(self.pg)), e.const(2.0 / (_F_MACD_SIGNAL + 1)), e.get(self.pg))
        else:
            g = e.add(e.get(self.pg), m)
            if kind == "warm":
                e.set(self.pg, g)
                for col in (16, 20, 24):
                    e.store(i, col, nan)
                return
            g = e.div(g, e.const(_F_MACD_SIGNAL))
        e.set(self.pg, g)
        e.store(i, 16, m)
        e.store(i, 20, g)
        e.store(i, 24, e.sub(m, g))


class _VolumeAvg(_Feature):
    """``_sma_head`` of the volume: a running total, the value ``period - 1`` bars back subtracted
    after each output."""

    def __init__(self, e: _Lanes, period: int, col: int) -> None:
        self.period, self.col = period, col
        self.phases = ((0, "sum"), (period - 1, "step"))
        self.total = e.var(e.const(0.0))

    def emit(self, e: _Lanes, i, kind: str) -> None:
        t = e.add(e.get(self.total), e.load(i, 12))
        if kind == "sum":
            e.set(self.total, t)
            e.store(i, self.col, e.const(np.nan))
            return
        e.set(self.total, e.sub(t, e.load(i, 12, back=self.period - 1)))
        e.store(i, self.col, e.div(t, e.const(self.period)))


class _Transpose:
    """Fills the transposed block: lane L's input k comes from the address ``desc[4L + k]`` for
    ``desc[16 + L]`` bars, filler (1.0) after that; ``chunk(c)`` does bars [c, c + _CHUNK), so
    that the group's loop can compute them while they are in the L1 cache. Four bars of the four
    lanes at a time, as a 4 x 4 transpose of vector loads (the last bars of a lane that do not fill
    four: one by one)."""

    def __init__(self, e: _Lanes, desc: ir.Value, rows: ir.Value) -> None:
        b = self.b = e.b
        self.e, self.rows = e, rows
        filler = cgutils.alloca_once(b, _V)
        b.store(e.const(1.0), filler)
        self.pfill = b.ptrtoint(filler, _I64)
        self.lanes = [b.load(b.gep(desc, [e.i64(16 + lane)])) for lane in range(_LANES)]
        self.src = [[b.load(b.gep(desc, [e.i64(4 * lane + k)])) for lane in range(_LANES)] for k in range(4)]

    def _shuffle(self, u, v, mask):
        return self.b.shuffle_vector(u, v, ir.Constant(ir.VectorType(ir.IntType(32), 4), mask))

    def chunk(self, c) -> None:
        b, e = self.b, self.e
        end = b.add(c, e.i64(_CHUNK))
        end = b.select(b.icmp_signed("<", end, self.rows), end, self.rows)
        for k in range(4):  # input after input: its four addresses stay in registers
            with cgutils.for_range_slice(b, c, end, e.i64(4), intp=_I64) as (i, _):
                at = []
                for lane in range(_LANES):
                    whole = b.icmp_signed("<=", b.add(i, e.i64(4)), self.lanes[lane])
                    at.append(b.select(whole, b.add(self.src[k][lane], b.mul(i, e.i64(8))), self.pfill))

                def half(lane, h):  # bars i + 2h, i + 2h + 1 of a lane, as <2 x double>
                    return b.load(b.inttoptr(b.add(at[lane], e.i64(16 * h)), _V2.as_pointer()), align=8)

                bars = []
                for h in range(2):  # [lane 0 | lane 2] and [lane 1 | lane 3], unpacked: two bars
                    u = self._shuffle(half(0, h), half(2, h), [0, 1, 2, 3])
                    v = self._shuffle(half(1, h), half(3, h), [0, 1, 2, 3])
                    bars += [self._shuffle(u, v, [0, 4, 2, 6]), self._shuffle(u, v, [1, 5, 3, 7])]
                for t, v in enumerate(bars):
                    b.store(v, e._vector_at(e.inp, e._index(b.add(i, e.i64(t)), _IN_ROW, 4 * k)), align=8)
        for lane in range(_LANES):  # the lane's last bars that do not fill four, if in this chunk
            m = self.lanes[lane]
            tail = b.sub(m, b.srem(m, e.i64(4)))
            lo = b.select(b.icmp_signed(">", tail, c), tail, c)
            hi = b.select(b.icmp_signed("<", m, end), m, end)
            with cgutils.for_range_slice(b, lo, hi, e.i64(1), intp=_I64) as (i, _):
                for k in range(4):
                    x = b.load(b.inttoptr(b.add(self.src[k][lane], b.mul(i, e.i64(8))), _D.as_pointer()))
                    b.store(x, b.gep(e.inp, [e._index(i, _IN_ROW, 4 * k + lane)], inbounds=True))


def _emit_group(e: _Lanes, desc: ir.Value, rows: ir.Value, n: ir.Value) -> None:
    """The whole group. The bars split into spans where each feature does the same kind of step
    (its warm-up phases); a span of several bars is one loop advancing all features together, a
    single bar straight code. The candles are transposed _CHUNK bars ahead of the loop."""
    b = e.b
    transpose = _Transpose(e, desc, rows)
    transpose.chunk(e.i64(0))
    features = (
        _Ema(e, _F_EMA_FAST, 0),
        _Ema(e, _F_EMA_SLOW, 4),
        _Rsi(e, _F_RSI_FAST, 8),
        _Rsi(e, _F_RSI_SLOW, 12),
        _Macd(e),
        _Atr(e, _F_ATR_FAST, 28),
        _Atr(e, _F_ATR_SLOW, 32),
        _VolumeAvg(e, _F_VOLUME_AVG, 36),
    )
    bounds = sorted({first for f in features for first, _ in f.phases})
    assert bounds[-1] < _CHUNK <= _MIN_ROWS
    for a, z in zip(bounds[:-1], bounds[1:]):  # the warm-up spans, all in the first chunk
        kinds = [f.kind_at(a) for f in features]
        if z == a + 1:
            e.new_bar()
            for f, kind in zip(features, kinds):
                f.emit(e, a, kind)
        else:
            with e.loop(a, z) as i:
                e.new_bar()
                for f, kind in zip(features, kinds):
                    f.emit(e, i, kind)
    kinds = [f.kind_at(bounds[-1]) for f in features]
    chunks = b.sdiv(b.add(n, e.i64(_CHUNK - 1)), e.i64(_CHUNK))
    with e.loop(0, chunks) as k:  # then every feature's own step, chunk after chunk
        c = b.mul(k, e.i64(_CHUNK))
        with cgutils.if_likely(b, b.icmp_signed(">", k, e.i64(0))):
            transpose.chunk(c)
        lo = b.select(b.icmp_signed(">", c, e.i64(bounds[-1])), c, e.i64(bounds[-1]))
        hi = b.add(c, e.i64(_CHUNK))
        hi = b.select(b.icmp_signed("<", hi, n), hi, n)
        with e.loop(lo, hi) as i:
            e.new_bar()
            for f, kind in zip(features, kinds):
                f.emit(e, i, kind)


def _array_data(context, builder, arrty, arr):
    return cgutils.create_struct_proxy(arrty)(context, builder, value=arr).data


@intrinsic
def _f_group(typingctx, desc, inp, out, off, rows, n):
    """Every feature of one group of four series (``_emit_group``): ``desc`` (int64) holds the
    lanes' input addresses and lengths, ``inp`` is scratch for ``rows`` transposed bars (a multiple
    of 4, at least ``_MIN_ROWS``), and bars [0, max(n, 50)) are written to ``out`` from index
    ``off``."""
    sig = _nbtypes.none(desc, inp, out, off, rows, n)

    def codegen(context, builder, signature, args):
        d, i, o, offset, nrows, nbars = args
        lanes = _Lanes(builder, _array_data(context, builder, signature.args[1], i),
                       _array_data(context, builder, signature.args[2], o), offset)  # fmt: skip
        _emit_group(lanes, _array_data(context, builder, signature.args[0], d), nrows, nbars)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _f_columns(typingctx, cols, table):
    """``table[2k]`` = address of ``cols[k]``'s first double, ``table[2k + 1]`` = its length."""
    sig = _nbtypes.none(cols, table)
    count = len(cols)
    arrty = cols.dtype

    def codegen(context, builder, signature, args):
        tup, tab = args
        base = _array_data(context, builder, signature.args[1], tab)
        for k in range(count):
            arr = cgutils.create_struct_proxy(arrty)(context, builder, value=builder.extract_value(tup, k))
            at = builder.gep(base, [ir.Constant(_I64, 2 * k)])
            builder.store(builder.ptrtoint(arr.data, _I64), at)
            builder.store(builder.extract_value(arr.shape, 0), builder.gep(at, [ir.Constant(_I64, 1)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _f_address(typingctx, arr):
    """The address of ``arr``'s first element."""
    sig = _nbtypes.int64(arr)

    def codegen(context, builder, signature, args):
        return builder.ptrtoint(_array_data(context, builder, signature.args[0], args[0]), _I64)

    return sig, codegen


@intrinsic
def _f_load(typingctx, address, i):
    """The double at ``address + 8 * i``."""
    sig = _nbtypes.float64(_nbtypes.int64, _nbtypes.int64)

    def codegen(context, builder, signature, args):
        p = builder.inttoptr(args[0], _D.as_pointer())
        return builder.load(builder.gep(p, [args[1]], inbounds=True))

    return sig, codegen


@_jit
def _features_kernel(cols, lens, nser):
    """Every feature of FEATURE_NAMES for the first ``nser`` series of ``cols``.

    ``cols`` holds high, low, close and volume of series ``s`` at ``4s .. 4s + 3`` (the rest is
    padding); ``lens[s]`` is the number of candles series ``s`` must have. Returns one float64
    buffer: at 0 the index where the ``_META`` numbers start; from 1, ``_LASTS`` numbers per series
    (the last value of each feature, close, volume; NaN when empty); then ``_META`` numbers per
    series (candles; then for each input group, the index of its lane's first value and its count
    of leading NaNs); then the groups' output blocks. An empty buffer means that some array of a
    series ``s`` does not have ``lens[s]`` values.

    A series whose first candle has no NaN is one lane. Otherwise each input group skips its own
    leading NaNs, as the public functions do: the close features, the ATRs and the volume average
    then run as separate lanes on their own suffixes (one lane when the three start together).
    """
    ncol = len(cols)
    work = np.empty(2 * ncol + 18 * nser + 20, np.int64)
    table = work[: 2 * ncol]
    _f_columns(cols, table)
    at = 2 * ncol
    lane_series = work[at : at + 3 * nser]
    lane_skip = work[at + 3 * nser : at + 6 * nser]
    lane_len = work[at + 6 * nser : at + 9 * nser]
    lane_pos = work[at + 9 * nser : at + 12 * nser]
    order = work[at + 12 * nser : at + 15 * nser]
    series_lane = work[at + 15 * nser : at + 18 * nser]  # per series and input group: its lane
    desc = work[at + 18 * nser : at + 18 * nser + 20]
    lanes = 0
    for s in range(nser):
        n = lens[s]
        t = 8 * s
        if table[t + 1] != n or table[t + 3] != n or table[t + 5] != n or table[t + 7] != n:
            return np.empty(0)
        series_lane[3 * s] = series_lane[3 * s + 1] = series_lane[3 * s + 2] = -1
        if n == 0:
            continue
        ph, pl, pc, pv = table[t], table[t + 2], table[t + 4], table[t + 6]
        skip_c = skip_a = skip_v = -1  # first bar whose close / high, low, close / volume are numbers
        for i in range(n):
            c = _f_load(pc, i)
            if skip_c < 0 and c == c:
                skip_c = i
            if skip_a < 0 and c == c and _f_load(ph, i) == _f_load(ph, i) and _f_load(pl, i) == _f_load(pl, i):
                skip_a = i
            if skip_v < 0 and _f_load(pv, i) == _f_load(pv, i):
                skip_v = i
            if skip_c >= 0 and skip_a >= 0 and skip_v >= 0:
                break
        last = n - 1
        skips = (skip_c if skip_c >= 0 else last, skip_a if skip_a >= 0 else last, skip_v if skip_v >= 0 else last)
        shared = skips[0] == skips[1] and skips[1] == skips[2]
        for g in range(1 if shared else 3):
            lane_series[lanes] = s
            lane_skip[lanes] = skips[g]
            lane_len[lanes] = n - skips[g]
            if shared:
                series_lane[3 * s] = series_lane[3 * s + 1] = series_lane[3 * s + 2] = lanes
            else:
                series_lane[3 * s + g] = lanes
            lanes += 1
    for j in range(lanes):  # longest first (insertion sort; stable)
        k = j
        while k > 0 and lane_len[order[k - 1]] < lane_len[j]:
            order[k] = order[k - 1]
            k -= 1
        order[k] = j
    groups = (lanes + _LANES - 1) // _LANES
    head = 1 + (_META + _LASTS) * nser
    size = head
    max_rows = _MIN_ROWS
    for g in range(groups):
        rows = (max(lane_len[order[_LANES * g]], _MIN_ROWS) + 3) // 4 * 4
        max_rows = max(max_rows, rows)
        size += rows * _OUT_ROW
    out = np.empty(size + 7)
    inp = np.empty(max_rows * _IN_ROW + 7)
    # vector loads and stores that do not straddle cache lines: blocks start 64-byte aligned
    off = head + (-(_f_address(out) + 8 * head)) % 64 // 8
    inp = inp[(-_f_address(inp)) % 64 // 8 :]
    for g in range(groups):
        rows = (max(lane_len[order[_LANES * g]], _MIN_ROWS) + 3) // 4 * 4
        for lane in range(_LANES):
            desc[16 + lane] = 0
            for k in range(4):
                desc[4 * lane + k] = 0
            if _LANES * g + lane < lanes:
                j = order[_LANES * g + lane]
                lane_pos[j] = off + lane
                desc[16 + lane] = lane_len[j]
                for k in range(4):
                    desc[4 * lane + k] = table[8 * lane_series[j] + 2 * k] + 8 * lane_skip[j]
        _f_group(desc, inp, out, off, rows, lane_len[order[_LANES * g]])
        off += rows * _OUT_ROW
    out[0] = 1 + _LASTS * nser
    for s in range(nser):
        n = lens[s]
        la = 1 + _LASTS * s
        m = 1 + _LASTS * nser + _META * s
        out[m] = n
        for g in range(3):
            j = series_lane[3 * s + g]
            out[m + 1 + 2 * g] = 0 if j < 0 else lane_pos[j]
            out[m + 2 + 2 * g] = 0 if j < 0 else lane_skip[j]
        if n == 0:
            for f in range(_LASTS):
                out[la + f] = np.nan
            continue
        for f in range(len(FEATURE_NAMES)):
            j = series_lane[3 * s + _F_GROUP_OF[f]]
            out[la + f] = out[lane_pos[j] + (lane_len[j] - 1) * _OUT_ROW + _LANES * f]
        out[la + _LASTS - 2] = _f_load(table[8 * s + 4], n - 1)
        out[la + _LASTS - 1] = _f_load(table[8 * s + 6], n - 1)
    return out


_LAST_INDEX = {name: k for k, name in enumerate((*FEATURE_NAMES, "close", "volume"))}  # within _LASTS


class SeriesFeatures:
    """The feature series of one coin on one timeframe, oldest first (read-only).

    ``timeframe`` is the timeframe's name; ``close`` and ``volume`` are the input candles' arrays
    (the same objects, not copies; USD and base coin). Every feature is a read-only float64 array
    of ``len(close)`` with NaN during its warm-up: ``ema20``/``ema50`` (USD, first value at index
    19/49), ``rsi7``/``rsi14`` (0-100, from index 7/14), ``macd``/``macd_signal``/``macd_hist``
    (MACD 12/26/9 in USD, from index 33), ``atr3``/``atr14`` (USD, from index 3/14) and
    ``volume_avg`` (SMA of volume over 20 candles, base coin, from index 19).

    ``last(name)`` reads the kernel's buffer; a feature array is made on first access (then kept),
    as a view of that buffer: strided, every 40th double (``np.ascontiguousarray``
    makes a contiguous copy); for a series whose first candle has a NaN, as a copy.
    """

    __slots__ = ("_timeframe", "_candles", "_mem", "_at", "_views")

    def __init__(self, timeframe: str, candles, mem: memoryview, at: int) -> None:
        self._timeframe = timeframe
        self._candles = candles
        self._mem = mem  # the kernel's (read-only) buffer; indexing a memoryview gives Python floats
        self._at = at  # where this series' _LASTS numbers start (_LASTS x its index in the call)

    timeframe = property(lambda self: self._timeframe, doc='The timeframe\'s name, such as ``"5m"``.')
    close = property(lambda self: self._candles.close, doc="The candles' close prices (their own array).")
    volume = property(lambda self: self._candles.volume, doc="The candles' volumes (their own array).")

    def last(self, name: str) -> float:
        """Latest value of feature ``name`` (one of FEATURE_NAMES, or "close"/"volume"), or NaN
        when the series is empty. Raises ``ValueError`` for an unknown name."""
        try:
            return self._mem[self._at + _LAST_INDEX[name]]
        except (KeyError, TypeError):
            names = ", ".join(FEATURE_NAMES)
            raise ValueError(f"unknown feature {name!r}: use one of {names}, close, volume.") from None

    def _feature(self, row: int) -> np.ndarray:
        try:
            views = self._views
        except AttributeError:
            views = self._views = [None] * len(FEATURE_NAMES)
        arr = views[row]
        if arr is None:
            mem = self._mem
            m = int(mem[0]) + self._at // _LASTS * _META  # mem[0]: where the _META numbers start
            g = _F_GROUP_OF[row]
            n, start, skip = int(mem[m]), int(mem[m + 1 + 2 * g]) + _LANES * row, int(mem[m + 2 + 2 * g])
            arr = mem.obj[start : start + (n - skip) * _OUT_ROW : _OUT_ROW]
            if skip:  # leading NaNs: the lane holds the suffix; a copy puts the NaNs in front
                arr = np.concatenate((np.full(skip, np.nan), arr))
                arr.flags.writeable = False
            views[row] = arr
        return arr

    def __repr__(self) -> str:
        return f"SeriesFeatures(timeframe={self._timeframe!r}, candles={len(self._candles.ts)})"

    def __reduce__(self):  # a memoryview does not pickle; its buffer does
        return (_unpickle_series_features, (self._timeframe, self._candles, self._mem.obj, self._at))


def _unpickle_series_features(timeframe: str, candles, buf: np.ndarray, at: int) -> SeriesFeatures:
    buf.flags.writeable = False
    return SeriesFeatures(timeframe, candles, memoryview(buf), at)


def _feature_property(row: int, name: str) -> property:
    return property(lambda self: self._feature(row), doc=f"The ``{name}`` series (read-only float64 array).")


for _row, _name in enumerate(FEATURE_NAMES):
    setattr(SeriesFeatures, _name, _feature_property(_row, _name))
del _row, _name

_PAD = np.empty(0)  # fills the unused slots of a kernel call's tuple
_kernel_lock = threading.Lock()
_kernel_ready = False  # the kernel is compiled (or loaded) for its one signature; compiling more is off


def _load_fused() -> None:
    """Compile (or load from the cache) ``_features_kernel`` for the one signature production
    uses, then turn further compilation off: an input of another type (a read-only, strided or
    non-float64 array) raises ``TypeError`` and ``compute_features`` retries with copies, rather
    than the dispatcher compiling a second version for several seconds in the middle of a cycle."""
    global _kernel_ready
    with _kernel_lock:
        if _kernel_ready:
            return
        n = _MIN_ROWS + 3
        i = np.arange(n, dtype=np.float64)
        close = 100.0 + np.sin(i / 3.0) * 2.0 + i * 0.05
        volume = 10.0 + np.cos(i / 5.0)
        cols = (close + 0.5, close - 0.5, close, volume)
        cols += tuple(a[5:] for a in cols)
        pad = (_PAD,) * (4 * _SERIES_PER_CALL - len(cols))
        _features_kernel(cols + pad, (n, n - 5) + (0,) * (_SERIES_PER_CALL - 2), 2)
        _features_kernel.disable_compile()
        _kernel_ready = True


def _as_float_columns(cols: list) -> list:
    """Copies of the candle arrays as the kernel's one argument type: writable, aligned, 1-D
    contiguous float64. Raises ``ValueError`` for an array that is not 1-D."""
    out = []
    for a in cols:
        arr = np.array(a, dtype=np.float64)  # always a copy
        if arr.ndim != 1:
            raise ValueError(f"candle arrays must be 1-D, got shape {arr.shape}.")
        out.append(arr)
    return out


def _fused_call(cols: list, lens: list) -> memoryview:
    """The kernel on up to _SERIES_PER_CALL series: a memoryview of its (read-only) buffer."""
    count = len(lens)
    sizes = tuple(lens)
    if count < _SERIES_PER_CALL:
        cols = cols + [_PAD] * (4 * (_SERIES_PER_CALL - count))
        sizes += (0,) * (_SERIES_PER_CALL - count)
    try:
        buf = _features_kernel(tuple(cols), sizes, count)
    except TypeError:  # an array of another type: copies of the one type the kernel takes
        buf = _features_kernel(tuple(_as_float_columns(cols)), sizes, count)
    if buf.shape[0] == 0:
        raise ValueError(
            "candles passed to compute_features have price or volume arrays whose length differs from "
            "their timestamps; build every Candles from arrays of one length."
        )
    buf.flags.writeable = False  # the views handed out are read-only
    return memoryview(buf)


def compute_features(market: "MarketSnapshot") -> dict[str, dict[str, SeriesFeatures]]:
    """Every feature of FEATURE_NAMES for every coin and timeframe of ``market``.

    One call of one Numba kernel per 12 series (one call for 6 coins x 2 timeframes) computes
    them all, four series at a time on SIMD lanes; the result objects read the kernel's buffer:
    ``last`` directly, the feature arrays as read-only views made on first access.
    Values are identical to calling ``ema``/``rsi``/``macd``/``atr``/``sma`` on each series.
    Returns ``{coin: {timeframe: SeriesFeatures}}`` in the snapshot's order (a coin without
    candles is left out). The kernel releases the GIL, so ``await asyncio.to_thread(
    compute_features, market)`` works; calls from several threads at once are safe.
    Raises ``ValueError`` when a Candles' arrays do not all have its length.
    """
    if not _kernel_ready:
        _load_fused()
    coins = market.coins
    cols: list = []
    lens = []
    for snap in coins.values():
        for c in snap.candles.values():
            cols += (c.high, c.low, c.close, c.volume)
            lens.append(len(c.ts))
    per_call = _SERIES_PER_CALL
    result: dict[str, dict[str, SeriesFeatures]] = {}
    # one kernel call per 12 series (one call for 6 coins x 2 timeframes)
    mems = [_fused_call(cols[4 * k : 4 * (k + per_call)], lens[k : k + per_call])
            for k in range(0, len(lens), per_call)]  # fmt: skip
    j = 0
    for coin, snap in coins.items():
        candles = snap.candles
        if candles:
            per_coin = result[coin] = {}
            for tf, c in candles.items():
                per_coin[tf] = SeriesFeatures(tf, c, mems[j // per_call], 1 + _LASTS * (j % per_call))
                j += 1
    return result


# --------------------------------------------------------------------------------------------
# Warm-up.
# --------------------------------------------------------------------------------------------

WARM_UP_SCOPES: tuple[str, ...] = ("cycle", "all")
"""``warm_up`` scopes: ``"cycle"`` is what ``compute_features`` needs (the fused kernel only);
``"all"`` adds every public function's kernels."""


def _scope(scope: object) -> str:
    if scope not in WARM_UP_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(map(repr, WARM_UP_SCOPES))}, got {scope!r}.")
    return str(scope)


def warm_up(scope: str = "all") -> float:
    """Compile (first run) or load from the cache the kernels of ``scope`` now; returns seconds.

    ``"cycle"``: the fused kernel ``compute_features`` runs (the first cycle needs nothing else);
    ``"all"`` (the default): that and every public function's kernels, each called once on tiny
    inputs with the argument types production uses. Safe to call from any thread, and again.
    Raises ``ValueError`` for another scope.
    """
    _scope(scope)
    t0 = time.perf_counter()
    _load_fused()
    if scope == "all":
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
    return time.perf_counter() - t0


_WARM_UP_CODE = (
    "import os, sys\n"
    "try:\n"
    "    os.nice(10)\n"
    "except (AttributeError, OSError):\n"
    "    pass\n"
    "from arena_tui.engine.indicators import warm_up\n"
    "print(f'{warm_up(sys.argv[1]):.3f}')\n"
)


def warm_up_in_subprocess(scope: str = "all", **popen_kwargs: object) -> subprocess.Popen:
    """Start a child Python (same interpreter, lower CPU priority) that runs ``warm_up(scope)``
    and exits, filling the Numba cache in ``CACHE_DIR`` without touching this process's GIL.

    Returns the ``subprocess.Popen``; its stdout is the warm-up time in seconds when the caller
    passes ``stdout=subprocess.PIPE`` (default: discarded). Extra keyword arguments go to Popen.
    Once it has exited (``proc.poll() is not None``), ``warm_up(scope)`` in this process only loads
    the cached kernels; a kernel used before then is compiled in this process as well.
    Typical start-up: ``proc = warm_up_in_subprocess("cycle")`` at launch, then in a worker thread
    ``proc.wait(); warm_up("cycle")`` before the first cycle. Raises ``ValueError`` for a bad scope.
    """
    scope = _scope(scope)
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = CACHE_DIR
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    kwargs.update(popen_kwargs)
    kwargs.setdefault("env", env)
    return subprocess.Popen([sys.executable, "-c", _WARM_UP_CODE, scope], **kwargs)
