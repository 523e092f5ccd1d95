"""Market sources: the bundled real recording and live exchanges via ccxt."""

from arena_tui.engine.market.base import (
    COINS,
    Candles,
    CoinSnapshot,
    FundingHistory,
    MarketSnapshot,
    MarketSource,
    timeframe_ms,
)

__all__ = [
    "COINS",
    "Candles",
    "CoinSnapshot",
    "FundingHistory",
    "MarketSnapshot",
    "MarketSource",
    "timeframe_ms",
]
