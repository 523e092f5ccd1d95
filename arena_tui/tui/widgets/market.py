"""The market table: one row per coin, drawn from the state's last ``MarketUpdated`` rows."""

from __future__ import annotations

from typing import Any, Mapping

from rich.text import Text

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.tables import ArenaTable, ColumnSpec, Row


class MarketTable(ArenaTable):
    """Coin, mark price (coloured by the tick since the cycle before), change since the session's
    first cycle, funding rate, open interest, RSI7/RSI14, EMA20 vs EMA50 (the gap in percent, ▲ when
    EMA20 is above), MACD and ATR14 (prices, MACD and ATR fitted to their columns: ``fmt.price(width=...)``,
    ``8.42e-5`` for a tiny MACD), all on the intraday timeframe: ``state.market`` (coin ->
    {"price", "change_pct", "funding_rate", "open_interest", "rsi7", "rsi14", "ema20", "ema50",
    "macd", "atr14"}), coins in the market's order.

    The tick colour is display-only history: ``note_prices`` keeps the prices of the last two
    ``MarketUpdated`` events it was shown.

    Order-book columns (a live exchange's book, ``MarketUpdated`` rows' ``spread_bp``, ``bid_depth``,
    ``ask_depth``, ``imbalance``): the spread in basis points of the mid, the USD resting within 10 bp
    of the mid on each side (``market.base.DEPTH_BAND_BP``) and the imbalance (bid depth - ask depth)
    / (bid depth + ask depth), -1..1. They are on screen only while the rows carry an order book (a
    recorded market has none: its table is as before) and the terminal is at least ``BOOK_MIN_WIDTH``
    cells wide; a coin whose book is unknown shows ``–`` in them.

    Before the session's first cycle the state has no market rows; a ``MarketPreview`` (the prices
    the session starts from, sent before the indicators are ready) fills the table meanwhile
    (``preview``): prices, change, funding and open interest, each indicator cell ``PENDING`` until
    the first ``MarketUpdated`` brings the full rows.
    """

    COLUMNS = (
        ColumnSpec("coin", "coin", 4, numeric=False),
        ColumnSpec("price", "price", 9),
        ColumnSpec("change", "chg", 7),
        ColumnSpec("funding", "funding", 8),
        ColumnSpec("oi", "OI", 7, drop=5),
        ColumnSpec("rsi7", "RSI7", 5, drop=3),
        ColumnSpec("rsi14", "RSI14", 5),
        ColumnSpec("ema", "EMA20/50", 8, drop=1),
        ColumnSpec("macd", "MACD", 8, drop=2),
        ColumnSpec("atr", "ATR14", 8, drop=4),
        ColumnSpec("spread", "spread bp", 9, min_width=120),
        ColumnSpec("bid_depth", "bid depth", 9, min_width=120),
        ColumnSpec("ask_depth", "ask depth", 9, min_width=120),
        ColumnSpec("imbalance", "imbalance", 9, min_width=120),
    )

    BOOK = ("spread", "bid_depth", "ask_depth", "imbalance")
    """The order-book columns: shown only while the market rows carry a book."""
    BOOK_KEYS = ("spread_bp", "bid_depth", "ask_depth", "imbalance")
    """The market-row keys a live exchange's order book adds."""
    BOOK_MIN_WIDTH = 120
    """Narrowest terminal (cells) that shows the order-book columns."""

    INDICATORS = ("rsi7", "rsi14", "ema", "macd", "atr")
    """The columns a ``MarketPreview`` row has no figure for yet."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._last: dict[str, float] = {}
        self._previous: dict[str, float] = {}
        self._preview: dict[str, Mapping[str, Any]] = {}
        self._book = False  # the order-book columns are laid out

    @property
    def wanted_columns(self):
        """The columns meant for the terminal's width: the order-book ones only while the rows carry a book."""
        cols = super().wanted_columns
        return cols if self._book else tuple(c for c in cols if c.key not in self.BOOK)

    def _rows_have_book(self) -> bool:
        market = self.state.market if self.state is not None else {}
        rows = market or self._preview
        return any(any(k in row for k in self.BOOK_KEYS) for row in rows.values() if isinstance(row, Mapping))

    def refresh_rows(self) -> None:
        """As ``ArenaTable.refresh_rows``; lays the columns out again when the order book comes or goes."""
        if self.is_mounted:
            self._book = self._rows_have_book()
            self.relayout()
        super().refresh_rows()

    @property
    def previewing(self) -> bool:
        """True while the rows on show are a preview (no cycle's market rows yet)."""
        return bool(self._preview) and not (self.state is not None and self.state.market)

    def preview(self, coins: Mapping[str, Mapping[str, Any]]) -> None:
        """Keep one ``MarketPreview.coins`` to show until the state has market rows."""
        self._preview = dict(coins)

    def note_prices(self, coins: Mapping[str, Mapping[str, Any]]) -> None:
        """Remember one ``MarketUpdated.coins``'s prices, for the tick colour."""
        for coin, row in coins.items():
            price = row.get("price")
            if price is None:
                continue
            if coin in self._last:
                self._previous[coin] = self._last[coin]
            self._last[coin] = price

    def table_rows(self) -> list[Row]:
        """One row per coin of the state's last market rows (before the first cycle: of the preview)."""
        market = self.state.market if self.state is not None else {}
        if market:
            self._preview = {}  # the first cycle's rows are in: the preview is over
        elif self._preview:
            pending = self.styled(fmt.PENDING, "arena--muted")
            return [(coin, {**self._cells(coin, row), **dict.fromkeys(self.INDICATORS, pending)}) for coin, row in self._preview.items()]
        return [(coin, self._cells(coin, row)) for coin, row in market.items()]

    def _cells(self, coin: str, row: Mapping[str, Any]) -> dict[str, Text]:
        price = row.get("price")
        prev = self._previous.get(coin)
        change = row.get("change_pct")
        first = (self.state.first_prices or {}).get(coin) if self.state is not None else None
        if change is None and price and first:
            change = (price / first - 1) * 100
        ema20, ema50 = row.get("ema20"), row.get("ema50")
        ema_gap = (ema20 / ema50 - 1) * 100 if ema20 and ema50 else None
        if ema_gap is None:
            ema_text = fmt.MISSING
        else:
            ema_text = f"{'▲' if ema_gap >= 0 else '▼'}{abs(ema_gap):.2f}%"
        tick = None if prev is None or price is None else price - prev
        return {
            "coin": self.styled(coin, "arena--strong", numeric=False),
            "price": self.signed(tick, fmt.price(price, self.cell_width("price"))),
            "change": self.signed(change, fmt.percent(change)),
            "funding": self.signed(row.get("funding_rate"), fmt.rate(row.get("funding_rate"))),
            "oi": self.styled(fmt.compact(row.get("open_interest"))),
            "rsi7": self._rsi(row.get("rsi7")),
            "rsi14": self._rsi(row.get("rsi14")),
            "ema": self.signed(ema_gap, ema_text),
            "macd": self.signed(row.get("macd"), fmt.price(row.get("macd"), self.cell_width("macd"))),
            "atr": self.styled(fmt.price(row.get("atr14"), self.cell_width("atr"))),
            "spread": self.styled(_spread(row.get("spread_bp"))),
            "bid_depth": self.styled(_usd(row.get("bid_depth"))),
            "ask_depth": self.styled(_usd(row.get("ask_depth"))),
            "imbalance": self.signed(row.get("imbalance"), fmt.MISSING if row.get("imbalance") is None else f"{row.get('imbalance'):+.3f}"),
        }

    def _rsi(self, value: float | None) -> Text:
        text = fmt.number(value, 1)
        if value is not None and (value >= 70 or value <= 30):
            return self.styled(text, "arena--warning")
        return self.styled(text)

    def reset(self) -> None:
        self._last.clear()
        self._previous.clear()
        self._preview = {}


def _spread(bp: float | None) -> str:
    """A spread in basis points: ``0.009``, ``1.23``, ``123``; ``–`` when unknown."""
    if bp is None or bp != bp:
        return fmt.MISSING
    return f"{bp:.3f}" if bp < 1 else f"{bp:.2f}" if bp < 100 else f"{bp:,.0f}"


def _usd(value: float | None) -> str:
    """USD depth, compact: ``$1.2M``; ``–`` when unknown."""
    return fmt.MISSING if value is None or value != value else "$" + fmt.compact(value)
