"""Market + account -> the prompt every model receives, in the Alpha Arena Season 1 layout.

The layout follows the 239 real prompts nof1.ai sent in Season 1 (``user_prompt`` of the public
"model chat" records): a header (minutes since the start, the current time, the number of
invocations), then per coin the current price, EMA20, MACD and RSI7, open interest and funding, an
intraday series (the last 10 values, oldest -> newest: prices, EMA20, MACD, RSI7, RSI14), a
longer-term context (20- vs 50-period EMA, 3- vs 14-period ATR, current vs average volume, MACD and
RSI14 series), then the account (total return, available cash, account value, open positions with
their exit plans, Sharpe ratio).

Differences from the real prompts, on purpose:

* The intraday series uses the configured timeframe (default 5m, the bundled data's finest) and
  the text says so; Alpha Arena used 3-minute Hyperliquid candles. Prices are candle closes.
* The longer-term context is computed from *closed* candles only (no still-forming candle).
* Open interest the market does not have is written as unavailable, never invented (the bundled
  recording has none). Funding is given with its interval (8 h on Binance, 1 h on Hyperliquid).
* Numbers keep enough decimals for the coin's price (``price_decimals``): the real prompts rounded
  everything to 3 decimals, which turned DOGE's EMA into 0.199 and its MACD into -0.0.
* Positions are written one JSON object a line with an explicit ``side`` (the real prompts used
  Python dict repr with signed quantities and exchange order ids).

Parity (``tests/test_prompt_parity.py``, all 239 real prompts x 6 coins, our numbers from the bundled
Binance candles at each prompt's time): 4h EMA20 within 0.06 % of the real, EMA50 within 0.33 %
(0.05 % with 500 candles of 4h lookback instead of 100), MACD within 0.03 % of the price, RSI14
within 1.4 points. The real "ATR" lines are not the 4h candles' ATR (about half of it; the real
ATR14 tracks the 1h candles' ATR14) and the real "Current Volume" is the volume of a 4h candle
that had just opened; we print the 4h ATRs and the last closed 4h candle's volume.

Templates are ``string.Template`` files shipped in ``arena_tui/engine/templates/`` (``system.md``,
``user.md`` and ``coin.md``, the per-coin block). A user replaces them by path
(``PromptTemplates.load``); ``$name`` or ``${name}`` inserts a field, ``$$`` is a literal dollar
sign. The fields each template may use are ``SYSTEM_FIELDS``, ``USER_FIELDS`` and ``COIN_FIELDS``
(documented there); a template naming any other field is refused at load time with a ``ConfigError``.

Per-agent templates: an agent's ``system_prompt`` / ``user_prompt`` (config) replace the session's
``[arena]`` ones for that agent only, so one model can run two prompts side by side. The session's
templates and each agent's own are loaded once, at session start (``AgentPrompts``; the arena asks
``templates_for(templates, agent)`` each cycle). A set of templates is told apart by ``digest`` (the
SHA-256 of the three template texts) and named by ``label`` ("alpha-arena" for the bundled ones,
else the stems of the files that replace them); the journal header records both per agent, never the
text (the header's config has the paths), and ``prompt_labels`` says what the leaderboards show.

Decision formats: an agent's ``format`` (config) picks the answer it is asked for. "alpha-arena" is
the templates above; "percent" (size as a percent of account value, a stop-loss percent, a
take-profit ladder: ``parse.parse_percent_decisions``) swaps each *bundled* part for its percent
twin (``system_percent.md``, ``user_percent.md``; ``PromptTemplates.for_format``), while a part the
user replaced by path is kept as it is ($example_json still shows the agent's format).

Cost: ``build_prompt`` only formats numbers; the indicators come from one
``indicators.compute_features`` call per cycle, shared by every agent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Mapping, Sequence

import numpy as np

from arena_tui.engine.account import AccountSnapshot, Position
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import DEPTH_BAND_BP, CoinSnapshot, MarketSnapshot, OrderBook, timeframe_ms

__all__ = [
    "BUNDLED_LABEL",
    "COIN_FIELDS",
    "SERIES_LENGTH",
    "SYSTEM_FIELDS",
    "USER_FIELDS",
    "AgentPrompts",
    "PromptTemplates",
    "RenderedPrompt",
    "build_prompt",
    "format_number",
    "price_decimals",
    "prompt_labels",
    "templates_for",
    "timeframe_words",
]

SERIES_LENGTH = 10
"""How many values each series in the prompt shows (the latest ones, oldest first), as Alpha Arena."""

SYSTEM_FIELDS: dict[str, str] = {
    "coins": "the traded coins, comma separated (\"BTC, ETH, SOL, BNB, XRP, DOGE\")",
    "coin_count": "how many coins are traded",
    "starting_cash": "the account's starting cash in USD, with thousands separators (\"10,000\")",
    "max_leverage": "the highest leverage allowed (\"20\")",
    "taker_fee_bp": "the taker fee in basis points (\"4.5\")",
    "intraday_timeframe": "the intraday timeframe name (\"5m\")",
    "intraday_timeframe_words": "the intraday timeframe in words (\"5-minute\")",
    "context_timeframe": "the longer-term timeframe name (\"4h\")",
    "context_timeframe_words": "the longer-term timeframe in words (\"4-hour\")",
    "example_json": "an example answer in the decision format for the first two coins (placeholder numbers)",
    "max_position_pct": "the largest margin one entry may use, percent of account value (\"50\"; \"100\" when unbounded)",
    "min_confidence": "the lowest confidence an entry may have, percent (\"0\" when there is no minimum)",
    "no_order_book": "\", no order book\" when the market source reads no order books (the bundled recording), "
    "\"\" for a live exchange (whose books the coin blocks show)",
}
"""Fields of the system template: name -> what it holds. The system prompt depends on neither the
market's prices nor the account (only on the kind of market source), so it stays the same from cycle
to cycle (providers can cache it)."""

USER_FIELDS: dict[str, str] = {
    "minutes_elapsed": "whole minutes since the session started",
    "current_time": "the market clock, \"YYYY-MM-DD HH:MM:SS UTC\"",
    "invocation": "how many times this agent has been invoked, this cycle included",
    "intraday_timeframe": "the intraday timeframe name (\"5m\")",
    "intraday_timeframe_words": "the intraday timeframe in words (\"5-minute\")",
    "context_timeframe": "the longer-term timeframe name (\"4h\")",
    "context_timeframe_words": "the longer-term timeframe in words (\"4-hour\")",
    "market_source": "the market source's name (\"recorded:binance-usdm-...\" or a live exchange)",
    "coins": "the traded coins, comma separated",
    "market_data": "every coin's block (the coin template), separated by \"---\" lines",
    "total_return_pct": "total return in percent, 2 decimals (\"0.38\")",
    "available_cash": "free collateral in USD, 2 decimals",
    "account_value": "cash + margin + unrealized PnL in USD, 2 decimals",
    "unrealized_pnl": "unrealized PnL of the open positions in USD, 2 decimals",
    "realized_pnl": "realized PnL so far in USD, 2 decimals",
    "fees_paid": "fees paid so far in USD, 2 decimals",
    "starting_cash": "the starting cash in USD, 2 decimals",
    "positions": "\"none\", or a newline then one JSON object per open position (with its exit_plan)",
    "position_count": "how many positions are open",
    "sharpe_ratio": "the Sharpe ratio, 3 decimals, or \"n/a (not enough history yet)\"",
}
"""Fields of the user template: name -> what it holds."""

COIN_FIELDS: dict[str, str] = {
    "coin": "the coin (\"BTC\")",
    "current_price": "the mark price (last close of the finest timeframe), USD",
    "current_ema20": "latest intraday EMA(20), USD",
    "current_macd": "latest intraday MACD(12, 26, 9) line, USD",
    "current_rsi7": "latest intraday RSI(7), 0-100",
    "current_rsi14": "latest intraday RSI(14), 0-100",
    "open_interest": "\"Latest: <base-coin units> ...\" or \"unavailable (...)\"",
    "funding_rate": "latest funding rate (fraction) with its interval, or \"unavailable\"",
    "order_book": "best bid and ask, spread in bp of the mid, USD depth within 10 bp of the mid on each side "
    "and their imbalance, or \"unavailable (...)\" (a template without $order_book gets an \"Order Book:\" "
    "paragraph after the funding rate when the market read a book, nothing otherwise)",
    "intraday_timeframe": "the intraday timeframe name",
    "intraday_timeframe_words": "the intraday timeframe in words",
    "prices": "last 10 intraday closes, \"[a, b, ...]\" oldest first",
    "ema20_series": "last 10 intraday EMA(20) values",
    "macd_series": "last 10 intraday MACD values",
    "rsi7_series": "last 10 intraday RSI(7) values",
    "rsi14_series": "last 10 intraday RSI(14) values",
    "context_timeframe": "the longer-term timeframe name",
    "context_timeframe_words": "the longer-term timeframe in words",
    "context_ema20": "longer-term EMA(20), closed candles",
    "context_ema50": "longer-term EMA(50), closed candles",
    "context_atr3": "longer-term ATR(3) (Wilder), closed candles",
    "context_atr14": "longer-term ATR(14) (Wilder), closed candles",
    "context_volume": "volume of the last closed longer-term candle, base coin",
    "context_volume_avg": "SMA(20) of the longer-term volume, base coin",
    "context_macd_series": "last 10 longer-term MACD values",
    "context_rsi14_series": "last 10 longer-term RSI(14) values",
}
"""Fields of the per-coin template: name -> what it holds. Missing values (indicator warm-up not
reached) are written ``n/a``."""

_BUNDLED = {"system": "system.md", "user": "user.md", "coin": "coin.md"}
_BUNDLED_PERCENT = {"system": "system_percent.md", "user": "user_percent.md"}
"""The percent format's twins of the bundled parts (``PromptTemplates.for_format``)."""
_FIELDS = {"system": SYSTEM_FIELDS, "user": USER_FIELDS, "coin": COIN_FIELDS}
_CONFIG_KEY = {"system": "[arena] system_prompt", "user": "[arena] user_prompt", "coin": "the coin template path"}


@dataclass(frozen=True)
class RenderedPrompt:
    """The two texts sent to a model: ``system`` (rules and output format) and ``user`` (market
    and account at this cycle)."""

    system: str
    user: str


BUNDLED_LABEL = "alpha-arena"
"""The ``label`` of the bundled templates (the Alpha Arena Season 1 layout)."""


def _read_template(kind: str, path: str | Path | None, key: str | None = None) -> tuple[str, str]:
    """(text, display name) of one template: the bundled file when ``path`` is None or "". ``key``:
    the config key named in an error (default: the session's ``[arena]`` key)."""
    if path is None or str(path).strip() == "":
        name = _BUNDLED[kind]
        res = resources.files("arena_tui.engine") / "templates" / name
        try:
            return res.read_text(encoding="utf-8"), f"arena_tui/engine/templates/{name}"
        except (OSError, UnicodeDecodeError) as exc:  # a broken installation
            raise ConfigError(
                f"bundled prompt template arena_tui/engine/templates/{name} cannot be read ({exc.__class__.__name__}); "
                "reinstall arena-tui."
            ) from None
    p = Path(path).expanduser()
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except FileNotFoundError:
        reason = "it does not exist"
    except IsADirectoryError:
        reason = "it is a directory"
    except PermissionError:
        reason = "permission denied"
    except UnicodeDecodeError:
        reason = "it is not UTF-8 text"
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
    except ValueError:  # a NUL character in the path
        reason = "it is not a valid path"
    raise ConfigError(
        f"prompt template {p} cannot be read ({reason}): fix {key or _CONFIG_KEY[kind]} or leave it empty for the bundled template."
    )


def _check_template(kind: str, text: str, where: str) -> Template:
    tpl = Template(text)
    if not tpl.is_valid():
        # find the offending '$' for the message
        try:
            tpl.substitute({k: "" for k in tpl.get_identifiers()})
        except ValueError as exc:
            detail = str(exc)
        except KeyError:  # pragma: no cover - identifiers were all supplied
            detail = "a stray '$'"
        else:  # pragma: no cover
            detail = "a stray '$'"
        raise ConfigError(
            f"prompt template {where} has a '$' that is not a field ({detail}): write $$ for a literal dollar sign."
        )
    allowed = _FIELDS[kind]
    unknown = [n for n in tpl.get_identifiers() if n not in allowed]
    if unknown:
        raise ConfigError(
            f"prompt template {where} uses unknown field ${unknown[0]}: use only {', '.join('$' + f for f in allowed)} "
            "(write $$ for a literal dollar sign)."
        )
    return tpl


@dataclass(frozen=True)
class PromptTemplates:
    """The three prompt templates (``string.Template`` text): ``system``, ``user`` and ``coin`` (one
    coin's block inside the user prompt's ``$market_data``), with where each came from.

    Build with ``PromptTemplates.load()``; the default is the bundled Alpha Arena-style set.
    """

    system: Template
    user: Template
    coin: Template
    system_source: str = ""
    user_source: str = ""
    coin_source: str = ""

    @classmethod
    def load(
        cls,
        system_path: str | Path | None = None,
        user_path: str | Path | None = None,
        coin_path: str | Path | None = None,
        *,
        keys: Mapping[str, str] | None = None,
    ) -> "PromptTemplates":
        """Read the templates; ``None`` or ``""`` means the bundled file for that part.

        Raises ``ConfigError`` (one sentence naming the path) when a file is missing, unreadable or
        not UTF-8, has a ``$`` that is not a field, or names a field outside ``SYSTEM_FIELDS`` /
        ``USER_FIELDS`` / ``COIN_FIELDS``. ``keys``: the config key each part comes from, by part
        ("system", "user"), named in those sentences (an agent's: "agent 'GPT' user_prompt");
        default: the session's ``[arena]`` keys.
        """
        parts = {}
        for kind, path in (("system", system_path), ("user", user_path), ("coin", coin_path)):
            key = keys.get(kind) if keys else None
            text, where = _read_template(kind, path, key)
            parts[kind] = (_check_template(kind, text, f"{where} ({key})" if key and path else where), where)
        return cls(
            parts["system"][0], parts["user"][0], parts["coin"][0], parts["system"][1], parts["user"][1], parts["coin"][1]
        )

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the three template texts: equal for equal templates wherever they were
        read from; what the journal header records to tell one agent's prompt from another's."""
        h = hashlib.sha256()
        for tpl in (self.system, self.user, self.coin):
            data = tpl.template.encode("utf-8", "surrogatepass")
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
        return h.hexdigest()

    @property
    def label(self) -> str:
        """A short name: ``BUNDLED_LABEL`` for the bundled templates ("alpha-arena-percent" when they
        are the bundled percent-format ones), else the file stems of the parts that replace them (user
        first, then system, then coin; "+" between different ones)."""
        stems: list[str] = []
        percent = False
        for kind, source in (("user", self.user_source), ("system", self.system_source), ("coin", self.coin_source)):
            if source.startswith("arena_tui/engine/templates/"):  # a bundled part
                percent = percent or source != f"arena_tui/engine/templates/{_BUNDLED[kind]}"
            elif source:
                stem = Path(source).stem or Path(source).name
                if stem and stem not in stems:
                    stems.append(stem)
        return "+".join(stems) or (f"{BUNDLED_LABEL}-percent" if percent else BUNDLED_LABEL)

    def header_fields(self) -> dict[str, str]:
        """What the journal header records of an agent's templates: ``prompt`` (the ``label``) and
        ``prompt_sha256`` (the ``digest``). Never the text: the header's config holds the paths."""
        from arena_tui.config import redact_text

        return {"prompt": redact_text(self.label), "prompt_sha256": self.digest}

    def for_format(self, decision_format: str) -> "PromptTemplates":
        """These templates for an agent answering in ``decision_format``: for "percent", every part
        that is the bundled Alpha Arena one becomes the bundled percent one; otherwise unchanged."""
        if decision_format != "percent":
            return self
        percent = _percent_templates()
        changes = {}
        for kind in ("system", "user"):
            if getattr(self, f"{kind}_source") == f"arena_tui/engine/templates/{_BUNDLED[kind]}":
                changes[kind] = getattr(percent, kind)
                changes[f"{kind}_source"] = getattr(percent, f"{kind}_source")
        return dataclasses.replace(self, **changes) if changes else self

    @classmethod
    def bundled(cls) -> "PromptTemplates":
        """The bundled templates (read once per process)."""
        return _bundled_templates()


@lru_cache(maxsize=1)
def _bundled_templates() -> PromptTemplates:
    return PromptTemplates.load()


@lru_cache(maxsize=1)
def _percent_templates() -> PromptTemplates:
    """The bundled percent-format system and user templates (with the bundled coin block)."""
    parts = {}
    for kind, name in _BUNDLED_PERCENT.items():
        res = resources.files("arena_tui.engine") / "templates" / name
        where = f"arena_tui/engine/templates/{name}"
        try:
            text = res.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # a broken installation
            raise ConfigError(f"bundled prompt template {where} cannot be read ({exc.__class__.__name__}); reinstall arena-tui.") from None
        parts[kind] = (_check_template(kind, text, where), where)
    base = _bundled_templates()
    return dataclasses.replace(
        base, system=parts["system"][0], user=parts["user"][0], system_source=parts["system"][1], user_source=parts["user"][1]
    )


@dataclass(frozen=True)
class AgentPrompts:
    """A session's templates: ``default`` (the ``[arena]`` ones) and the agents' own, by agent name
    (agents that set ``system_prompt`` or ``user_prompt``), all loaded at session start."""

    default: PromptTemplates
    agents: Mapping[str, PromptTemplates]

    def for_agent(self, name: str) -> PromptTemplates:
        return self.agents.get(name, self.default)


def templates_for(templates: "PromptTemplates | AgentPrompts | None", agent: str) -> PromptTemplates | None:
    """The templates ``agent`` is prompted with: its own (``AgentPrompts``), else the session's
    (None: the bundled ones)."""
    if isinstance(templates, AgentPrompts):
        return templates.for_agent(agent)
    return templates


def prompt_labels(agents: Sequence[Mapping]) -> dict[str, str]:
    """Agent name -> the label of its templates, for the leaderboards: empty unless the agents (a
    journal header's ``agents``) were prompted with templates that differ (``prompt_sha256``), so a
    session where all use the same ones shows nothing new. Two different templates of the same label
    (same file stem, other text) are told apart by the digest's first 6 characters."""
    seen: dict[str, tuple[str, str]] = {}
    for a in agents:
        if not isinstance(a, Mapping):
            continue
        digest, label = a.get("prompt_sha256"), a.get("prompt")
        if isinstance(digest, str) and digest and isinstance(label, str):
            seen[str(a.get("name"))] = (label or BUNDLED_LABEL, digest)
    if len({d for _, d in seen.values()}) < 2:
        return {}
    digests_of: dict[str, set[str]] = {}
    for label, digest in seen.values():
        digests_of.setdefault(label, set()).add(digest)
    return {name: label if len(digests_of[label]) == 1 else f"{label}#{digest[:6]}" for name, (label, digest) in seen.items()}


# ---------------------------------------------------------------------------------------------
# number formatting


def price_decimals(price: float) -> int:
    """Decimals to print prices of a coin trading at ``price`` (USD): at least 3 (as Alpha Arena)
    and enough for about 6 significant digits (BTC 113808.5 -> 3, XRP 2.62 -> 5, DOGE 0.1986 -> 6)."""
    if not math.isfinite(price) or price <= 0:
        return 3
    return max(3, 5 - math.floor(math.log10(price)))


def format_number(value: float | None, decimals: int) -> str:
    """``value`` rounded to ``decimals`` places without trailing zeros (``113808.5``, ``0.0``);
    ``n/a`` for None or a non-finite value; never ``-0.0``."""
    if value is None:
        return "n/a"
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    s = f"{x:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0")
        if s.endswith("."):
            s += "0"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def _series(arr: np.ndarray, decimals: int) -> str:
    tail = arr[-SERIES_LENGTH:]
    return "[" + ", ".join(format_number(v, decimals) for v in tail.tolist()) + "]"


def _json_number(value: float | None, decimals: int) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    r = round(float(value), decimals)
    return 0.0 if r == 0 else r


def timeframe_words(timeframe: str) -> str:
    """``"5m"`` -> ``"5-minute"``, ``"4h"`` -> ``"4-hour"``, ``"1d"`` -> ``"1-day"`` (any other
    name is returned unchanged)."""
    units = {"m": "minute", "h": "hour", "d": "day", "w": "week"}
    num, unit = timeframe[:-1], timeframe[-1:]
    if num.isdigit() and unit in units:
        return f"{int(num)}-{units[unit]}"
    return timeframe


def _interval_words(ms: int) -> str:
    for suffix, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms % size == 0 and ms >= size:
            return f"{ms // size}-{suffix}"
    return f"{ms / 1000:g}-second"


# ---------------------------------------------------------------------------------------------
# rendering


def _features_for(features: Mapping, coin: str, timeframe: str, market: MarketSnapshot):
    try:
        return features[coin][timeframe]
    except KeyError:
        have = ", ".join(market.timeframes) or "none"
        raise ConfigError(
            f"the market has no {timeframe} candles for {coin} (it has {have}): add '{timeframe}' to the market "
            "timeframes or choose another prompt timeframe."
        ) from None


def _coin_fields(
    coin: str,
    snap: CoinSnapshot,
    intraday,
    context,
    intraday_tf: str,
    context_tf: str,
    inline_book: bool = False,
) -> dict[str, str]:
    price = snap.price
    d = price_decimals(price)
    if snap.open_interest is None:
        oi = "unavailable (this market source has no open-interest data)"
    else:
        oi = f"Latest: {format_number(snap.open_interest, 3)} (average unavailable)"
    rate = snap.funding_rate
    if rate is None:
        funding = "unavailable"
    else:
        funding = f"{rate:.6g} (fraction per {_interval_words(snap.funding.interval_ms)} funding interval)"
    book = _order_book_text(snap.order_book, d)
    if inline_book and snap.order_book is not None:  # the template has no $order_book: after the funding rate
        funding += f"\n\nOrder Book: {book}"
    return {
        "coin": coin,
        "current_price": format_number(price, d),
        "current_ema20": format_number(intraday.last("ema20"), d),
        "current_macd": format_number(intraday.last("macd"), d),
        "current_rsi7": format_number(intraday.last("rsi7"), 3),
        "current_rsi14": format_number(intraday.last("rsi14"), 3),
        "open_interest": oi,
        "funding_rate": funding,
        "order_book": book,
        "intraday_timeframe": intraday_tf,
        "intraday_timeframe_words": timeframe_words(intraday_tf),
        "prices": _series(intraday.close, d),
        "ema20_series": _series(intraday.ema20, d),
        "macd_series": _series(intraday.macd, d),
        "rsi7_series": _series(intraday.rsi7, 3),
        "rsi14_series": _series(intraday.rsi14, 3),
        "context_timeframe": context_tf,
        "context_timeframe_words": timeframe_words(context_tf),
        "context_ema20": format_number(context.last("ema20"), d),
        "context_ema50": format_number(context.last("ema50"), d),
        "context_atr3": format_number(context.last("atr3"), d),
        "context_atr14": format_number(context.last("atr14"), d),
        "context_volume": format_number(context.last("volume"), 3),
        "context_volume_avg": format_number(context.last("volume_avg"), 3),
        "context_macd_series": _series(context.macd, d),
        "context_rsi14_series": _series(context.rsi14, 3),
    }


def _order_book_text(book: OrderBook | None, d: int) -> str:
    """The ``$order_book`` field: what the exchange's order book said, or that there is none."""
    if book is None:
        return "unavailable (this market source has no order-book data)"
    band = f"{DEPTH_BAND_BP:g}"

    def depth(x: float | None) -> str:
        return "unknown (the exchange's reply ended inside the band)" if x is None else f"{x:,.0f}"

    imb = book.imbalance
    return (
        f"best bid = {format_number(book.bid, d)}, best ask = {format_number(book.ask, d)}, "
        f"spread = {book.spread_bp:.2f} bp of the mid; USD depth within {band} bp of the mid: "
        f"bids = {depth(book.bid_depth)}, asks = {depth(book.ask_depth)}; "
        f"imbalance (bid depth - ask depth) / (bid depth + ask depth) = {'n/a' if imb is None else f'{imb:+.3f}'}"
    )


def _position_line(p: Position) -> str:
    d = price_decimals(p.mark_price if math.isfinite(p.mark_price) and p.mark_price > 0 else p.entry_price)
    obj = {
        "symbol": p.coin,
        "side": p.side_name,
        "quantity": _json_number(p.quantity, 8),
        "entry_price": _json_number(p.entry_price, d),
        "current_price": _json_number(p.mark_price, d),
        "liquidation_price": _json_number(p.liquidation_price, d),
        "unrealized_pnl": _json_number(p.unrealized_pnl, 2),
        "leverage": _json_number(p.leverage, 2),
        "exit_plan": {
            "profit_target": _json_number(p.profit_target, d),
            "stop_loss": _json_number(p.stop_loss, d),
            "invalidation_condition": p.invalidation_condition,
        },
        "confidence": _json_number(p.confidence, 3),
        "risk_usd": _json_number(p.risk_usd, 2),
        "margin_usd": _json_number(p.margin, 2),
        "notional_usd": _json_number(p.notional, 2),
    }
    ladder = getattr(p, "take_profit", ())
    if ladder:  # the take-profit levels still to fill (a percent-format entry)
        initial = p.initial_quantity or p.quantity
        obj["exit_plan"]["take_profit_ladder"] = [
            {"level": lv.level, "price": _json_number(lv.price, d), "close_quantity": _json_number(min(lv.close_fraction * initial, p.quantity), 8)}
            for lv in ladder
        ]
    return json.dumps(obj, ensure_ascii=False)


def _example_percent_json(coins: Sequence[str], max_leverage: float, max_position_pct: float) -> str:
    example: dict[str, dict] = {}
    for i, coin in enumerate(coins[:2]):
        if i == 0:
            example[coin] = {
                "signal": "LONG",
                "confidence": 65,
                "size_pct": min(20, max_position_pct),
                "leverage": min(5, max_leverage),
                "stop_loss_pct": 2,
                "take_profit": [{"pct": 3, "close_pct": 33}, {"pct": 6, "close_pct": 33}, {"pct": 10, "close_pct": 34}],
                "justification": "Trend up on 4h, pullback to EMA20 held; risking 2% to make 3-10% in three steps.",
            }
        else:
            example[coin] = {
                "signal": "HOLD",
                "confidence": 50,
                "size_pct": 0,
                "leverage": 1,
                "stop_loss_pct": 0,
                "take_profit": [],
                "justification": "No clear edge.",
            }
    return json.dumps(example, indent=2)


def _example_json(coins: Sequence[str], max_leverage: float) -> str:
    example: dict[str, dict] = {}
    for i, coin in enumerate(coins[:2]):
        if i == 0:
            example[coin] = {
                "signal": "buy_to_enter",
                "quantity": 10.0,
                "leverage": min(5, max_leverage),
                "profit_target": 110.0,
                "stop_loss": 95.0,
                "invalidation_condition": "4h close below 94",
                "confidence": 0.6,
                "risk_usd": 50.0,
                "justification": "For a coin at 100: trend up on 4h, pullback to EMA20 held; risking 50 to make 100.",
            }
        else:
            example[coin] = {
                "signal": "hold",
                "quantity": 0,
                "leverage": 1,
                "profit_target": 0,
                "stop_loss": 0,
                "invalidation_condition": "",
                "confidence": 0.5,
                "risk_usd": 0,
                "justification": "No clear edge.",
            }
    return json.dumps(example, indent=2)


def _fmt_plain(x: float) -> str:
    return f"{x:g}" if float(x) != int(x) else str(int(x))


def build_prompt(
    market: MarketSnapshot,
    features: Mapping | None,
    account: AccountSnapshot,
    *,
    session_start: int,
    invocation: int,
    intraday_tf: str = "5m",
    context_tf: str = "4h",
    templates: PromptTemplates | None = None,
    sharpe_ratio: float | None = None,
    max_leverage: float = 20.0,
    taker_fee_bp: float = 4.5,
    decision_format: str = "alpha-arena",
    max_position_pct: float | None = None,
    min_confidence: float = 0.0,
) -> RenderedPrompt:
    """Render the system and user prompts for one agent at one cycle.

    ``market``: the snapshot (clock ``market.time`` in ms). ``features``: the
    ``indicators.compute_features(market)`` result (computed here when None; pass it in so a cycle
    costs one kernel call for every agent). ``account``: this agent's account. ``session_start``:
    the session's first clock value (ms), for "It has been N minutes". ``invocation``: how many
    times the agent has been asked, this time included. ``intraday_tf`` / ``context_tf``: the
    timeframes of the intraday series and the longer-term context (both must be in the snapshot).
    ``templates``: the templates (default: bundled). ``sharpe_ratio``: the agent's Sharpe ratio
    (None -> "n/a"). ``max_leverage`` and ``taker_fee_bp`` are stated in the system prompt.
    ``decision_format``: "alpha-arena" or "percent" (the bundled parts become the percent ones, see
    ``PromptTemplates.for_format``; ``$example_json`` is in that format); ``max_position_pct``
    (percent of account value, None or 0 = no bound) and ``min_confidence`` (percent) are stated to
    templates that use them.

    Raises ``ConfigError`` when a timeframe is not in the snapshot. Coins appear in the snapshot's
    order.
    """
    timeframe_ms(intraday_tf)
    timeframe_ms(context_tf)
    tpl = (templates if templates is not None else PromptTemplates.bundled()).for_format(decision_format)
    if features is None:
        from arena_tui.engine.indicators import compute_features

        features = compute_features(market)
    coins = list(market.coins)

    blocks = []
    inline_book = "order_book" not in tpl.coin.get_identifiers()
    for coin in coins:
        snap = market.coins[coin]
        fields = _coin_fields(
            coin,
            snap,
            _features_for(features, coin, intraday_tf, market),
            _features_for(features, coin, context_tf, market),
            intraday_tf,
            context_tf,
            inline_book,
        )
        blocks.append(tpl.coin.substitute(fields).strip("\n"))
    market_data = "\n\n---\n\n".join(blocks)

    positions = sorted(account.positions, key=lambda p: coins.index(p.coin) if p.coin in coins else len(coins))
    positions_text = ("\n" + "\n".join(_position_line(p) for p in positions)) if positions else "none"
    current_time = datetime.fromtimestamp(market.time / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if sharpe_ratio is None or not math.isfinite(sharpe_ratio):
        sharpe = "n/a (not enough history yet)"
    else:
        sharpe = f"{sharpe_ratio:.3f}"
    user_fields = {
        "minutes_elapsed": str(max(0, (market.time - session_start) // 60_000)),
        "current_time": current_time,
        "invocation": str(invocation),
        "intraday_timeframe": intraday_tf,
        "intraday_timeframe_words": timeframe_words(intraday_tf),
        "context_timeframe": context_tf,
        "context_timeframe_words": timeframe_words(context_tf),
        "market_source": market.source,
        "coins": ", ".join(coins),
        "market_data": market_data,
        "total_return_pct": f"{account.return_pct:.2f}",
        "available_cash": f"{account.cash:.2f}",
        "account_value": f"{account.account_value:.2f}",
        "unrealized_pnl": f"{account.unrealized_pnl:.2f}",
        "realized_pnl": f"{account.realized_pnl:.2f}",
        "fees_paid": f"{account.fees_paid:.2f}",
        "starting_cash": f"{account.starting_cash:.2f}",
        "positions": positions_text,
        "position_count": str(len(positions)),
        "sharpe_ratio": sharpe,
    }
    system_fields = {
        "coins": ", ".join(coins),
        "coin_count": str(len(coins)),
        "starting_cash": f"{account.starting_cash:,.0f}",
        "max_leverage": _fmt_plain(max_leverage),
        "taker_fee_bp": _fmt_plain(taker_fee_bp),
        "intraday_timeframe": intraday_tf,
        "intraday_timeframe_words": timeframe_words(intraday_tf),
        "context_timeframe": context_tf,
        "context_timeframe_words": timeframe_words(context_tf),
        "example_json": (
            _example_percent_json(coins, max_leverage, max_position_pct or 100.0)
            if decision_format == "percent"
            else _example_json(coins, max_leverage)
        ),
        "max_position_pct": _fmt_plain(max_position_pct or 100.0),
        "min_confidence": _fmt_plain(min_confidence or 0.0),
        "no_order_book": "" if market.source.startswith("live:") else ", no order book",
    }
    return RenderedPrompt(
        _strip_trailing_spaces(tpl.system.substitute(system_fields)),
        _strip_trailing_spaces(tpl.user.substitute(user_fields)),
    )


def _strip_trailing_spaces(text: str) -> str:
    """No line ends in blanks (the real prompts had one after "performance:"; golden files and
    editors disagree about such blanks, models do not care)."""
    return "\n".join(line.rstrip(" \t") for line in text.split("\n"))
