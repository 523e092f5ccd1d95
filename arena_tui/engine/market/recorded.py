"""``RecordedMarket``: a simulated clock over a recorded dataset, with no look-ahead.

The clock starts at ``start`` (default 2025-10-17 00:00 UTC, Alpha Arena Season 1's first day) and
moves on by ``interval`` per ``advance()``. A snapshot holds only candles whose *close* time is at or
before the clock, funding times at or before the clock, and no open interest (the recording has none).
"""

from __future__ import annotations

import numpy as np

from arena_tui.engine.data import Dataset, bundled_dataset
from arena_tui.engine.errors import ConfigError, MarketExhausted
from arena_tui.engine.market.base import (
    COINS,
    Candles,
    CoinSnapshot,
    FundingHistory,
    MarketSnapshot,
    check_coins,
    format_time,
    parse_time,
    timeframe_ms,
)

DEFAULT_START = "2025-10-17T00:00:00Z"
DEFAULT_TIMEFRAMES: tuple[str, ...] = ("5m", "4h")
DEFAULT_LOOKBACK: dict[str, int] = {"5m": 500, "1h": 300, "4h": 300}


class RecordedMarket:
    """A ``MarketSource`` replaying a recorded dataset on a simulated clock.

    Parameters: ``coins`` (subset of the dataset's), ``timeframes`` (default 5m and 4h), ``start``
    (ISO text or ms), ``interval`` (cycle length, default ``"5m"``), ``lookback`` (candles kept per
    timeframe in a snapshot). Raises ``ConfigError`` for an unknown coin or timeframe, or a start
    outside the data.
    """

    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        coins: tuple[str, ...] | list[str] = COINS,
        timeframes: tuple[str, ...] | list[str] = DEFAULT_TIMEFRAMES,
        start: str | int = DEFAULT_START,
        interval: str | int = "5m",
        lookback: dict[str, int] | None = None,
    ) -> None:
        self.dataset = dataset if dataset is not None else bundled_dataset()
        self.coins = check_coins(list(coins), self.dataset.coins)
        for tf in timeframes:
            timeframe_ms(tf)
            if tf not in self.dataset.timeframes:
                raise ConfigError(
                    f"timeframe '{tf}' is not in the bundled data: use {', '.join(self.dataset.timeframes)}."
                )
        self.timeframes = tuple(sorted(timeframes, key=timeframe_ms))
        self.interval_ms = timeframe_ms(interval) if isinstance(interval, str) else int(interval)
        if self.interval_ms <= 0:
            raise ConfigError("cycle interval must be positive, for example '5m'.")
        self.lookback = {**DEFAULT_LOOKBACK, **(lookback or {})}
        self.name = f"recorded:{self.dataset.name}"
        self._start = parse_time(start)
        self._end = self.dataset.end_time()
        finest = self.timeframes[0]
        first_close = self.dataset.start_time(finest) + timeframe_ms(finest)
        if not first_close <= self._start <= self._end:
            raise ConfigError(
                f"start time {format_time(self._start)} is outside the bundled data "
                f"({format_time(first_close)} to {format_time(self._end)}): pick a start inside it."
            )
        self._now = self._start
        # close times per coin/timeframe, for searchsorted
        self._close_ts = {
            c: {tf: self.dataset.candles[c][tf].close_ts for tf in self.timeframes} for c in self.coins
        }
        self._windows: dict = {}  # (coin, tf) or coin -> (start, stop, the window last cut)

    @property
    def now(self) -> int:
        """The simulated clock (ms since the epoch, UTC)."""
        return self._now

    @property
    def start(self) -> int:
        return self._start

    @property
    def end(self) -> int:
        """Last clock value with data (the final candle's close time)."""
        return self._end

    @property
    def exhausted(self) -> bool:
        """True once another ``advance()`` would pass the end of the data."""
        return self._now + self.interval_ms > self._end

    def cycles_left(self) -> int:
        """How many more ``advance()`` calls the data allows."""
        return max(0, (self._end - self._now) // self.interval_ms)

    def seek(self, t: int) -> None:
        """Set the clock to ``t`` (ms); raises ``ConfigError`` outside the data."""
        if not self._start - 10 * 365 * 86_400_000 < t <= self._end:
            raise ConfigError(f"time {format_time(t)} is outside the bundled data.")
        self._now = int(t)

    async def advance(self) -> None:
        """Move the clock on by one interval; raises ``MarketExhausted`` at the end of the data."""
        if self.exhausted:
            raise MarketExhausted(
                f"the bundled market ends at {format_time(self._end)}; start earlier or use a live exchange."
            )
        self._now += self.interval_ms

    def snapshot_at(self, t: int) -> MarketSnapshot:
        """The market as it was known at clock ``t`` (ms): no candle closing after ``t``.

        The candle and funding windows are views of the dataset; a window that is the same as the
        previous snapshot's (a coarse timeframe between its closes, funding between its times) is
        the same object, as nothing writes into them."""
        coins: dict[str, CoinSnapshot] = {}
        windows = self._windows
        for coin in self.coins:
            per_tf: dict[str, Candles] = {}
            close_ts = self._close_ts[coin]
            for tf in self.timeframes:
                stop = int(close_ts[tf].searchsorted(t, side="right"))
                start = max(0, stop - self.lookback.get(tf, 500))
                key = (coin, tf)
                hit = windows.get(key)
                if hit is None or hit[0] != start or hit[1] != stop:
                    hit = windows[key] = (start, stop, self.dataset.candles[coin][tf].slice(start, stop))
                per_tf[tf] = hit[2]
            f = self.dataset.funding[coin]
            fstop = int(f.ts.searchsorted(t, side="right"))
            fstart = max(0, fstop - 100)
            hit = windows.get(coin)
            if hit is None or hit[0] != fstart or hit[1] != fstop:
                hit = windows[coin] = (fstart, fstop, FundingHistory(f.ts[fstart:fstop], f.rate[fstart:fstop], f.interval_ms))
            coins[coin] = CoinSnapshot(coin, per_tf, hit[2], open_interest=None)
        return MarketSnapshot(t, coins, self.name, self.timeframes)

    async def snapshot(self) -> MarketSnapshot:
        """The market at the current clock."""
        return self.snapshot_at(self._now)

    async def close(self) -> None:
        return None
