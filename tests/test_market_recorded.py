"""The bundled real market and RecordedMarket: loading, no look-ahead, bad input."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine.data import bundled_data_dir, bundled_dataset, load_dataset
from arena_tui.engine.errors import ConfigError, DataError, MarketExhausted
from arena_tui.engine.market.base import COINS, timeframe_ms
from arena_tui.engine.market.recorded import RecordedMarket, parse_time

SEASON_START = parse_time("2025-10-17T00:00:00Z")


def test_bundled_data_is_small_and_complete():
    root = bundled_data_dir()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 3 * 1024 * 1024
    ds = bundled_dataset()
    assert ds.coins == COINS
    for coin in COINS:
        assert len(ds.candles[coin]["5m"]) == 10_944
        assert len(ds.candles[coin]["1h"]) == 2_376
        assert len(ds.candles[coin]["4h"]) == 594
        assert len(ds.funding[coin]) == 297
        for tf, c in ds.candles[coin].items():
            assert c.ts.dtype == np.int64 and c.close.dtype == np.float64
            assert c.close.flags.c_contiguous
            # no gaps: every step is exactly one candle
            assert np.all(np.diff(c.ts) == timeframe_ms(tf))


def test_real_prices_at_season_start():
    """The first 5m candle of Oct 17 2025 as Binance recorded it (BTCUSDT perp)."""
    m = RecordedMarket()
    snap = m.snapshot_at(SEASON_START)
    btc = snap.coins["BTC"]
    # the last closed 5m candle opened at 23:55 on Oct 16
    assert int(btc.candles["5m"].ts[-1]) == SEASON_START - 300_000
    assert 100_000 < btc.price < 115_000
    assert btc.open_interest is None  # the recording has none: unavailable, never invented


@settings(max_examples=300)
@given(st.integers(min_value=SEASON_START - 10 * 86_400_000, max_value=parse_time("2025-11-08T00:00:00Z")))
def test_no_look_ahead_at_random_clocks(t):
    m = RecordedMarket(timeframes=("5m", "1h", "4h"))
    snap = m.snapshot_at(t)
    assert snap.time == t
    for cs in snap.coins.values():
        for tf, c in cs.candles.items():
            if len(c):
                assert int(c.close_ts[-1]) <= t, f"{tf} candle closing after the clock is visible"
                # and it is the latest one that closed: the next candle would close after t
                assert int(c.close_ts[-1]) + timeframe_ms(tf) > t
        if len(cs.funding):
            assert int(cs.funding.ts[-1]) <= t


async def test_advance_moves_one_interval_and_stops_at_the_end():
    m = RecordedMarket(start="2025-11-07T23:40:00Z")
    t0 = m.now
    await m.advance()
    assert m.now - t0 == 300_000
    while not m.exhausted:
        await m.advance()
    with pytest.raises(MarketExhausted):
        await m.advance()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"coins": ["BTC", "PEPE"]}, "unknown coin 'PEPE'"),
        ({"timeframes": ["7m"]}, "unknown timeframe '7m'"),
        ({"timeframes": ["1d"]}, "not in the bundled data"),
        ({"start": "2024-01-01"}, "outside the bundled data"),
        ({"start": "yesterday"}, "is not a date"),
    ],
)
def test_bad_input_is_one_sentence(kwargs, words):
    with pytest.raises(ConfigError) as info:
        RecordedMarket(**kwargs)
    msg = str(info.value)
    assert words in msg and msg.endswith(".") and "\n" not in msg


def _copy_data(tmp_path: Path) -> Path:
    dst = tmp_path / "binance-usdm"
    shutil.copytree(bundled_data_dir(), dst)
    return dst


def test_missing_data_file_names_it(tmp_path):
    root = _copy_data(tmp_path)
    (root / "ETH" / "4h.csv.gz").unlink()
    with pytest.raises(DataError) as info:
        load_dataset(root)
    assert "ETH/4h.csv.gz is missing" in str(info.value)


def test_corrupt_data_file_names_it(tmp_path):
    root = _copy_data(tmp_path)
    (root / "SOL" / "5m.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError) as info:
        load_dataset(root)
    assert "SOL/5m.csv.gz is corrupt" in str(info.value)


def test_data_file_with_bad_rows_names_it(tmp_path):
    root = _copy_data(tmp_path)
    with gzip.open(root / "XRP" / "1h.csv.gz", "wt") as fh:
        fh.write("ts,open,high,low,close,volume\n1,2,3\n")
    with pytest.raises(DataError) as info:
        load_dataset(root)
    assert "XRP/1h.csv.gz" in str(info.value)


def test_cli_reports_unknown_coin_without_traceback():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "arena_tui", "--headless", "--coins", "BTC,FOO", "--cycles", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "unknown coin 'FOO'" in out.stderr
    assert "Traceback" not in out.stderr
