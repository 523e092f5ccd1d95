"""The bundled real market: Binance USDT-M perpetual candles and funding for BTC, ETH, SOL, BNB,
XRP and DOGE. Windows (UTC, first and last candle open; every coin the same, no gaps):

- 5m: 2025-10-01 00:00 -> 2025-11-07 23:55 (10,944 candles), so a session on the 5m timeframe runs
  from 2025-10-01 00:05 (the first close) to 2025-11-08 00:00 (the last close);
- 1h: 2025-08-01 00:00 -> 2025-11-07 23:00 (2,376 candles);
- 4h: 2025-08-01 00:00 -> 2025-11-07 20:00 (594 candles, aggregated from 1h);
- funding (8-hourly): 2025-08-01 00:00 -> 2025-11-07 16:00 (297 rates).

Source: a public freqtrade download of Binance USD-M futures (see ``arena_tui/data/README.md``).
Files: ``arena_tui/data/binance-usdm/<COIN>/{5m,1h,4h}.csv.gz`` (``ts,open,high,low,close,volume``,
``ts`` = candle open in ms UTC, volume in the base coin) and ``funding-8h.csv.gz`` (``ts,rate``, rate
per 8 h interval as a fraction). Loaded with numpy and the standard library only (~0.15 s for all).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from arena_tui.engine.errors import DataError
from arena_tui.engine.market.base import COINS, Candles, FundingHistory, timeframe_ms

DATASET_NAME = "binance-usdm-2025-08-01-2025-11-07"
BUNDLED_TIMEFRAMES: tuple[str, ...] = ("5m", "1h", "4h")
FUNDING_INTERVAL_MS = 8 * 3_600_000


@dataclass(frozen=True, eq=False)
class Dataset:
    """A recorded market: ``candles[coin][timeframe]`` and ``funding[coin]``, all oldest first."""

    name: str
    candles: dict[str, dict[str, Candles]]
    funding: dict[str, FundingHistory]

    @property
    def coins(self) -> tuple[str, ...]:
        return tuple(self.candles)

    @property
    def timeframes(self) -> tuple[str, ...]:
        first = next(iter(self.candles.values()))
        return tuple(first)

    def end_time(self) -> int:
        """Latest close time (ms) that every coin's finest timeframe reaches."""
        finest = min(self.timeframes, key=timeframe_ms)
        return int(min(int(c[finest].close_ts[-1]) for c in self.candles.values()))

    def start_time(self, timeframe: str) -> int:
        """Earliest open time (ms) of ``timeframe`` common to every coin."""
        return int(max(int(c[timeframe].ts[0]) for c in self.candles.values()))


def bundled_data_dir() -> Path:
    """Directory holding the bundled dataset inside the installed package."""
    return Path(str(resources.files("arena_tui") / "data" / "binance-usdm"))


def _read_csv_gz(path: Path, columns: int) -> np.ndarray:
    display = _display(path)
    if not path.is_file():
        raise DataError(f"bundled market file {display} is missing; reinstall arena-tui (pip install --force-reinstall arena-tui).")
    try:
        with gzip.open(path, "rt", encoding="ascii") as fh:
            header = fh.readline()
            arr = np.loadtxt(fh, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(
            f"bundled market file {display} is corrupt ({_short(exc)}); reinstall arena-tui or restore the file."
        ) from None
    if not header.startswith("ts,") or arr.shape[1] != columns or arr.shape[0] == 0:
        raise DataError(
            f"bundled market file {display} does not have the expected {columns} columns; reinstall arena-tui or restore the file."
        )
    if np.any(np.diff(arr[:, 0]) <= 0) or not np.all(np.isfinite(arr)):
        raise DataError(f"bundled market file {display} has unsorted or non-finite rows; restore the file.")
    return arr


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _display(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[-4:]) if len(parts) >= 4 else str(path)


def load_dataset(root: Path | None = None, coins: tuple[str, ...] = COINS) -> Dataset:
    """Load candles and funding for ``coins`` from ``root`` (default: the bundled dataset).

    Raises ``DataError`` with one sentence naming the file when one is missing or corrupt.
    """
    root = Path(root) if root is not None else bundled_data_dir()
    candles: dict[str, dict[str, Candles]] = {}
    funding: dict[str, FundingHistory] = {}
    for coin in coins:
        per_tf: dict[str, Candles] = {}
        for tf in BUNDLED_TIMEFRAMES:
            arr = _read_csv_gz(root / coin / f"{tf}.csv.gz", 6)
            per_tf[tf] = Candles(
                tf,
                np.ascontiguousarray(arr[:, 0].astype(np.int64)),
                np.ascontiguousarray(arr[:, 1]),
                np.ascontiguousarray(arr[:, 2]),
                np.ascontiguousarray(arr[:, 3]),
                np.ascontiguousarray(arr[:, 4]),
                np.ascontiguousarray(arr[:, 5]),
            )
        candles[coin] = per_tf
        f = _read_csv_gz(root / coin / "funding-8h.csv.gz", 2)
        funding[coin] = FundingHistory(
            np.ascontiguousarray(f[:, 0].astype(np.int64)), np.ascontiguousarray(f[:, 1]), FUNDING_INTERVAL_MS
        )
    return Dataset(DATASET_NAME, candles, funding)


@lru_cache(maxsize=1)
def bundled_dataset() -> Dataset:
    """The bundled dataset for all six coins, loaded once per process."""
    return load_dataset()
