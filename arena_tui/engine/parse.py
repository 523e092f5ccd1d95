"""Model text -> per-coin ``Decision``s, or a ``ParseError`` with a one-sentence reason.

What models really write, and what this module accepts (all measured on real answers: the 239 Alpha
Arena Season 1 records and a glm-4.6 bot log, see ``tests/test_parse.py``):

* flat per-coin JSON, ``{"BTC": {"signal": "hold", "quantity": 0.12, ...}, "ETH": {...}}``;
* the ``trade_signal_args`` wrapper, ``{"BTC": {"trade_signal_args": {...}}}``;
* a list of decisions, each with a ``"coin"`` key (or each a one-coin dict), and decisions nested
  under a key such as ``{"decisions": [...]}``;
* markdown fences, reasoning before or after the JSON (the *last* JSON object that holds decisions
  wins; one-coin objects written one after another are merged), ``<think>...</think>`` blocks;
* Python-repr dicts (single quotes, ``True``/``False``/``None``) read with ``ast.literal_eval``
  (never ``eval``), and lenient JSON (``true``/``null`` next to single quotes, trailing commas,
  ``//`` comments, bare JavaScript-style keys);
* signals ``buy_to_enter | sell_to_enter | hold | close`` and their synonyms, case-insensitive:
  BUY/LONG/GO_LONG..., SELL/SHORT..., HOLD/WAIT/NO_ACTION..., CLOSE/CLOSE_POSITION/EXIT...,
  and ``ENTRY``/``ENTER``/``OPEN`` with ``"side": "long" | "short"`` (the glm-4.6 bot's form);
* numbers as numbers or strings: ``"$1,234.5"``, ``"10x"``, ``"75%"``, ``"0.5 BTC"``, ``"1.2k"``;
* the plain-text form ``Signal: BUY / Stop Loss: $x / Take Profit: $y`` with optional
  ``Coin:``/``Quantity:``/``Leverage:``/``Confidence:`` lines (markdown bullets and bold allowed).

When an answer holds several JSON objects (drafts, examples, the final answer) the last one that
holds decisions wins. When the answer ends inside an unclosed JSON object it was cut off (length
limit): that is a ``ParseError`` even if a complete object came earlier, with the complete coin
entries before the cut in ``ParseError.partial``. A coin whose entry cannot be read (unknown signal,
no signal) is left out and named in ``ParseResult.skipped``; the other coins still count.

Values are kept as the model gave them: ``confidence`` 0.75 or 75 (``risk.validate`` reads > 1 as a
percentage), quantities and prices unchecked. Numbers that are not finite (NaN, inf, 1e999), booleans
and unreadable strings become ``None``. Coins the caller does not trade are left out of the decisions
(listed in ``ParseResult.skipped``) and kept aside in ``ParseResult.unknown``; the mapping
``parse_decisions`` returns carries them as its ``unknown`` attribute, which ``risk.validate`` turns
into ``unknown_coin`` rejections.

Whatever the input, the only exception raised is ``ParseError``.

The percent format (``parse_percent_decisions``, an agent with ``format = "percent"``) is found in an
answer the same way (fences, prose, lenient JSON, Python literals, cut-off answers, numbers as
strings) and reads, per coin: ``signal`` LONG | SHORT | HOLD | CLOSE (and every synonym above),
``confidence`` 0-100, ``size_pct`` (the *margin* as a percent of account value; aliases ``size``,
``position_size``, ``position_pct``, ...), ``leverage``, ``stop_loss_pct`` (percent from the entry
price), ``take_profit`` (a ladder: ``[{"pct": 3, "close_pct": 33}, ...]``, or ``[[3, 33], ...]``, or
``[3, 6, 10]`` split evenly, or one number: a single target percent), ``justification``. Each entry
becomes an engine ``Decision`` at the cycle's price ``P`` and the account value ``A`` the prompt
showed: ``quantity = size_pct / 100 x A x leverage / P`` (so margin = size_pct % of A),
``stop_loss = P x (1 - side x stop_loss_pct / 100)``, each level at ``P x (1 + side x pct / 100)``
closing ``close_pct`` % of the original quantity (0-1 is read as a fraction when no close share in
the ladder is above 1; levels without one share what the others leave; levels are sorted nearest
first and the last closes whatever remains), ``profit_target`` = the farthest level. The Alpha Arena
fields are read where the percent ones are absent (``quantity`` in coins, ``stop_loss`` /
``profit_target`` prices, a ``"2%"`` string there read as a percent), so a baseline's answer still
trades. The plain-text form is read as Alpha Arena text.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from arena_tui.engine.decisions import Decision
from arena_tui.engine.market.base import COINS

__all__ = [
    "DECISION_FORMATS",
    "MAX_ANSWER_CHARS",
    "Decisions",
    "ParseError",
    "ParseResult",
    "parse_decisions",
    "parse_for_format",
    "parse_percent_decisions",
    "parse_response",
    "parse_signal",
]

DECISION_FORMATS: tuple[str, ...] = ("alpha-arena", "percent")
"""The decision formats an agent may answer in (``config.AgentConfig.format``)."""

MAX_ANSWER_CHARS = 1_000_000
"""Longest answer (characters) the parser reads; longer ones raise ``ParseError``."""

_MAX_LOAD_ATTEMPTS = 256  # bracket spans tried as JSON / Python literals per answer
_MAX_CANDIDATE_DEPTH = 12  # brackets nested deeper than this are never tried on their own
_MAX_WALK_DEPTH = 8  # nesting levels searched for decisions inside a parsed object
_MAX_UNKNOWN = 50  # entries for coins not traded kept per answer (as many as ``skipped`` notes)


class ParseError(ValueError):
    """The model's answer held no usable decision.

    ``reason`` is one sentence without a trailing period, e.g. ``"the answer was empty"``;
    ``str(error)`` is the same sentence. ``partial`` holds the complete per-coin decisions found
    before the cut when an answer was cut off mid-JSON (often empty); the engine may show them but
    should treat the cycle as failed.
    """

    def __init__(self, reason: str, partial: Mapping[str, Decision] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial: dict[str, Decision] = dict(partial or {})


@dataclass(frozen=True)
class ParseResult:
    """What ``parse_response`` recognised.

    ``decisions`` maps upper-case coin -> ``Decision`` (only coins passed in ``coins``, never empty);
    ``form`` is ``"json"``, ``"json-lenient"``, ``"python-literal"`` or ``"plain-text"``;
    ``fenced`` says the decisions sat inside a markdown code fence; ``in_prose`` that other text
    surrounded them; ``skipped`` lists, one sentence each, entries that were ignored (unknown coin,
    unrecognised signal). ``unknown`` holds, in answer order (at most 50), the entries of the
    chosen JSON object (or plain text) for coins not in ``coins``: ``(coin, decision)`` with the coin as
    the answer named it (upper-case when it looks like a ticker, ``"BTC-USDT"`` -> ``"BTC"``; else the
    first 20 characters) and the entry read like any other (``None`` when its signal cannot be read).
    """

    decisions: dict[str, Decision]
    form: str
    fenced: bool = False
    in_prose: bool = False
    skipped: tuple[str, ...] = field(default_factory=tuple)
    unknown: tuple[tuple[str, Decision | None], ...] = field(default_factory=tuple)


class Decisions(dict):  # type: ignore[type-arg]
    """What ``parse_decisions`` returns: a plain ``dict`` coin -> ``Decision`` (equal to one), plus
    ``unknown``, the answer's entries for coins not traded (``ParseResult.unknown``), for
    ``risk.validate`` to reject with the ``unknown_coin`` rule."""

    unknown: tuple[tuple[str, Decision | None], ...] = ()


def parse_decisions(text: str, coins: Sequence[str] = COINS) -> dict[str, Decision]:
    """Parse a model's answer into ``{coin: Decision}`` (coins upper-case, only those in ``coins``).

    The result is a ``Decisions`` (a ``dict``) whose ``unknown`` attribute holds the entries for coins
    not in ``coins`` (see ``ParseResult.unknown``); pass it to ``risk.validate`` as it is.
    Raises ``ParseError`` (and nothing else) with a one-sentence ``reason`` when no decision for a
    known coin can be read: empty answer, answer cut off mid-JSON, no JSON or plain-text signal,
    only unknown coins or unrecognised signals. See the module docstring for the accepted forms.
    """
    if isinstance(text, str) and len(text) <= _CACHED_CHARS:
        result = _parse_cached(text, tuple(coins))
    else:
        result = parse_response(text, coins)
    out = Decisions(result.decisions)
    if result.unknown:
        out.unknown = result.unknown
    return out


def parse_percent_decisions(
    text: str, coins: Sequence[str], prices: Mapping[str, float], account_value: float
) -> dict[str, Decision]:
    """Parse an answer in the percent format into ``{coin: Decision}`` (see the module docstring).

    ``prices``: coin -> the cycle's mark price (USD) that entries are sized and levelled from;
    ``account_value``: the account value (USD) the prompt showed, the base of ``size_pct``. A coin
    without a positive finite price gets its numbers as ``None`` (``risk.validate`` refuses it).
    Returns a ``Decisions`` like ``parse_decisions``; raises ``ParseError`` (and nothing else) for the
    same reasons, with the complete entries before a cut converted in ``ParseError.partial``.
    """
    try:
        if isinstance(text, str) and len(text) <= _CACHED_CHARS:
            result = _parse_cached(text, tuple(coins), "percent")
        else:
            result = parse_response(text, coins, "percent")
    except ParseError as exc:
        if exc.partial:
            try:
                exc.partial = {c: _percent_decision(e, prices.get(c), account_value) for c, e in exc.partial.items()}
            except Exception:
                exc.partial = {}
        raise
    try:
        out = Decisions({c: _percent_decision(e, prices.get(c), account_value) for c, e in result.decisions.items()})
        if result.unknown:
            out.unknown = tuple((c, None if e is None else _percent_decision(e, None, account_value)) for c, e in result.unknown)
    except Exception as exc:  # a bug here must not crash a cycle
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ParseError(f"the parser failed on this answer ({detail})") from exc
    return out


def parse_for_format(
    fmt: str, text: str, coins: Sequence[str], prices: Mapping[str, float], account_value: float
) -> dict[str, Decision]:
    """``parse_percent_decisions`` for ``fmt == "percent"``, else ``parse_decisions``."""
    if fmt == "percent":
        return parse_percent_decisions(text, coins, prices, account_value)
    return parse_decisions(text, coins)


_CACHED_CHARS = 8_192
"""Answers up to this long are parsed once and remembered (``Decision`` values are frozen): agents
repeat themselves (the baselines' holds), and re-execution parses every journaled answer again."""


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str, coins: tuple[str, ...], fmt: str = "alpha-arena") -> ParseResult:
    return parse_response(text, coins, fmt)


def parse_response(text: str, coins: Sequence[str] = COINS, fmt: str = "alpha-arena") -> ParseResult:
    """Like ``parse_decisions`` but returns a ``ParseResult`` saying which form was recognised. With
    ``fmt="percent"`` the decisions are the percent format's raw entries (``PercentEntry``)."""
    try:
        return _parse(text, coins, fmt)
    except ParseError:
        raise
    except Exception as exc:  # a bug here must not crash a cycle; say what happened instead
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ParseError(f"the parser failed on this answer ({detail})") from exc


# ---------------------------------------------------------------------------------------------
# signals, numbers, coins


_BUY = {
    "buy_to_enter", "buy", "long", "go_long", "enter_long", "open_long", "buy_to_open", "long_entry",
    "entry_long", "buy_long", "strong_buy", "buy_entry", "long_position", "buy_to_enter_long",
}
_SELL = {
    "sell_to_enter", "sell", "short", "go_short", "enter_short", "open_short", "sell_to_open",
    "short_entry", "entry_short", "sell_short", "strong_sell", "sell_entry", "short_position",
    "sell_to_enter_short",
}
_HOLD = {
    "hold", "wait", "no_action", "none", "no_trade", "stay", "keep", "hold_position", "maintain",
    "do_nothing", "neutral", "hold_long", "hold_short", "no_change", "pass", "skip", "flat_hold",
}
_CLOSE = {
    "close", "close_position", "exit", "exit_position", "close_long", "close_short", "sell_to_close",
    "buy_to_close", "flatten", "close_all", "exit_long", "exit_short", "close_trade",
}
_ENTRY = {"entry", "enter", "open", "open_position", "enter_position", "new_position", "open_trade", "enter_trade"}
_LONG_SIDE = {"long", "buy", "bull", "bullish", "up"}
_SHORT_SIDE = {"short", "sell", "bear", "bearish", "down"}


def _signal_word(value: str) -> str:
    return re.sub(r"[^a-z]+", "_", value.lower()).strip("_")


def parse_signal(value: object, side: object = None) -> str | None:
    """Map a model's signal word to ``buy_to_enter | sell_to_enter | hold | close``, else ``None``.

    Case-insensitive; spaces and hyphens count as underscores. ``"entry"``/``"enter"``/``"open"``
    need ``side`` (``"long"``/``"buy"`` or ``"short"``/``"sell"``); a ``side`` never overrides an
    explicit direction.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    word = _signal_word(value)
    if word in _BUY:
        return "buy_to_enter"
    if word in _SELL:
        return "sell_to_enter"
    if word in _HOLD:
        return "hold"
    if word in _CLOSE:
        return "close"
    if word in _ENTRY and isinstance(side, str) and len(side) <= 64:
        s = _signal_word(side)
        if s in _LONG_SIDE:
            return "buy_to_enter"
        if s in _SHORT_SIDE:
            return "sell_to_enter"
    return None


_NUM_BODY = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,5})?"
_NUM_STRICT = re.compile(  # matched against a whitespace-collapsed, stripped string
    r"(?:(?:~|≈|approx\.?|about) ?)?(?P<sign>[-+−]?) ?\$? ?(?P<num>" + _NUM_BODY + r")"
    r" ?(?P<k>[kK](?![a-zA-Z]))? ?(?:x|×|%|usd[tc]?|dollars?|[a-zA-Z]{2,5})?"
)
_NUM_FIRST = re.compile(
    r"(?P<sign>[-+−]?)\s*\$?\s*(?P<num>" + _NUM_BODY + r")(?:\s*(?P<k>[kK])(?![a-zA-Z]))?"
)


def _num_from_match(m: re.Match[str]) -> float | None:
    try:
        x = float(m.group("num").replace(",", ""))
    except (ValueError, OverflowError):
        return None
    if m.group("k"):
        x *= 1000.0
    if m.group("sign") in ("-", "−"):
        x = -x
    return x if math.isfinite(x) else None


def _number(value: object) -> float | None:
    """A finite float from a JSON/Python number or a decorated numeric string, else ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            x = float(value)
        except (OverflowError, ValueError):
            return None
        return x if math.isfinite(x) else None
    if isinstance(value, str) and len(value) <= 200:
        m = _NUM_STRICT.fullmatch(re.sub(r"\s+", " ", value.strip()))
        if m:
            return _num_from_match(m)
    return None


def _first_number(value: str) -> float | None:
    """The first number in a plain-text value such as ``"$105,000 (2% below entry)"``."""
    m = _NUM_FIRST.search(value[:300])
    return _num_from_match(m) if m else None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


_COIN_KEY = re.compile(r"\$?([A-Z0-9]{1,12}?)(?:[-_/: ]?(?:USDT|USDC|USD|PERP))*")


def _coin_of(key: object) -> str | None:
    """``"btc"``, ``"BTC-USD"``, ``"BTCUSDT"``, ``"BTC/USDT:USDT"`` -> ``"BTC"``; ``None`` if not coin-like."""
    if not isinstance(key, str) or not 1 <= len(key) <= 30:
        return None
    m = _COIN_KEY.fullmatch(key.strip().upper())
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# parsed objects -> decisions

_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "signal": ("signal", "action", "decision", "trade_signal", "signal_type"),
    "side": ("side", "direction", "position_side"),
    "coin": ("coin", "symbol", "asset", "ticker"),
    "quantity": ("quantity", "qty", "size", "amount", "position_size"),
    "leverage": ("leverage", "lev"),
    "profit_target": ("profit_target", "take_profit", "tp", "target", "target_price", "take_profit_price"),
    "stop_loss": ("stop_loss", "sl", "stop", "stop_price", "stop_loss_price"),
    "invalidation_condition": ("invalidation_condition", "invalidation"),
    "confidence": ("confidence",),
    "risk_usd": ("risk_usd", "risk", "risk_amount"),
    "justification": ("justification", "reason", "reasoning", "rationale", "explanation"),
}
_WRAPPERS = ("trade_signal_args", "args", "arguments", "params", "parameters")
_NOT_COINS = {
    alias for aliases in _FIELD_ALIASES.values() for alias in aliases
} | set(_WRAPPERS) | {
    "decisions", "trades", "trade", "actions", "signals", "orders", "order", "positions", "position",
    "result", "results", "response", "output", "answer", "data", "coins", "portfolio", "plan",
}
_NUMERIC = ("quantity", "leverage", "profit_target", "stop_loss", "confidence", "risk_usd")


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _norm_key(key: object) -> str | None:
    if not isinstance(key, str) or len(key) > 60:
        return None
    return _norm_key_cached(key)


@functools.lru_cache(maxsize=4096)
def _norm_key_cached(key: str) -> str:
    return _NON_ALNUM.sub("_", key.strip().lower()).strip("_")


def _fields(d: Mapping[Any, Any], aliases: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """Normalised field name -> value, with a ``trade_signal_args``-style wrapper merged in."""
    flat: dict[str, Any] = {}
    inner: dict[Any, Any] | None = None
    for k, v in d.items():
        nk = _norm_key(k)
        if nk is None:
            continue
        if nk in _WRAPPERS and isinstance(v, dict):
            inner = v
        else:
            flat.setdefault(nk, v)
    if inner is not None:
        for k, v in inner.items():
            nk = _norm_key(k)
            if nk is not None:
                flat[nk] = v
    out: dict[str, Any] = {}
    for name, names in (_FIELD_ALIASES if aliases is None else aliases).items():
        for alias in names:
            if alias in flat:
                out[name] = flat[alias]
                break
    return out


def _looks_like_decision(d: Mapping[Any, Any]) -> bool:
    f = _fields(d)
    return "signal" in f


class _Walk:
    """Collects decisions from one parsed object (dict / list / scalar); ``fmt="percent"`` collects
    ``PercentEntry``s."""

    def __init__(self, known: tuple[str, ...], fmt: str = "alpha-arena") -> None:
        self.known = known
        self.fmt = fmt
        self.decisions: dict[str, Decision] = {}
        self.skipped: list[str] = []
        self.unknown_coins: list[str] = []
        self.unknown: list[tuple[str, Decision | None]] = []
        self.bad_signals: list[str] = []
        self.coinless = 0

    def emit(self, d: Decision) -> None:
        self.decisions[d.coin] = d

    def decision(self, coin: str, value: object) -> None:
        if isinstance(value, str):
            sig = parse_signal(value)
            if sig is None:
                self._bad(coin, value)
            elif self.fmt == "percent":
                self.emit(PercentEntry(coin=coin, signal=sig))  # type: ignore[arg-type]
            else:
                self.emit(Decision(coin=coin, signal=sig))  # type: ignore[arg-type]
            return
        if not isinstance(value, dict):
            if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], dict):
                self.decision(coin, value[0])
            return
        f = _fields(value, _PERCENT_ALIASES if self.fmt == "percent" else None)
        raw = f.get("signal")
        if raw is None:
            self._skip(f"{coin}: the entry had no signal")
            return
        sig = parse_signal(raw, f.get("side"))
        if sig is None:
            entry = isinstance(raw, str) and _signal_word(raw[:64]) in _ENTRY
            self._bad(coin, raw, " with no long/short side" if entry else "")
            return
        if self.fmt == "percent":
            self.emit(_percent_entry(coin, sig, f))
            return
        nums = {name: _number(f.get(name)) for name in _NUMERIC}
        self.emit(
            Decision(
                coin=coin,
                signal=sig,  # type: ignore[arg-type]
                invalidation_condition=_text(f.get("invalidation_condition")),
                justification=_text(f.get("justification")),
                **nums,
            )
        )

    def _bad(self, coin: str, raw: object, why: str = "") -> None:
        shown = repr(raw)[:40] + why
        if len(self.bad_signals) < 50:
            self.bad_signals.append(f"{coin}: {shown}")
        self._skip(f"{coin}: unrecognised signal {shown}")

    def walk(self, obj: object, depth: int = 0, key_coin: str | None = None) -> None:
        """Collect decisions from ``obj``; ``key_coin`` is the coin-like key it sat under, if any."""
        if depth > _MAX_WALK_DEPTH:
            return
        if isinstance(obj, dict):
            if _looks_like_decision(obj):
                raw_coin = _fields(obj).get("coin")
                coin = _coin_of(raw_coin) if raw_coin is not None else key_coin
                if coin in self.known:
                    self.decision(coin, obj)
                elif coin is None and len(self.known) == 1:
                    self.decision(self.known[0], obj)
                elif coin is None and raw_coin is None:
                    self.coinless += 1
                    self._skip("a decision named no coin")
                else:
                    name = str(raw_coin if raw_coin is not None else coin)[:20]
                    self.unknown_coins.append(name)
                    self._skip(f"{name}: not one of the coins traded")
                    self._unknown(coin if coin is not None else name, obj)
                return
            for k, v in obj.items():
                coin = _coin_of(k)
                if coin in self.known:
                    self.decision(coin, v)
                elif isinstance(v, (dict, list, tuple)):
                    hint = None if coin is None or coin.lower() in _NOT_COINS else coin
                    self.walk(v, depth + 1, hint)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                if isinstance(item, (dict, list, tuple)):
                    self.walk(item, depth + 1)

    def _skip(self, note: str) -> None:
        if len(self.skipped) < 50:
            self.skipped.append(note)

    def _unknown(self, coin: str, obj: Mapping[Any, Any]) -> None:
        """Keep an entry for a coin not traded, read the way a known coin's entry is read."""
        if len(self.unknown) >= _MAX_UNKNOWN:
            return
        coin = " ".join(coin.split()) or "?"
        aside = _Walk((coin,), self.fmt)
        aside.decision(coin, obj)
        self.unknown.append((coin, aside.decisions.get(coin)))


# ---------------------------------------------------------------------------------------------
# the percent format

_PERCENT_ALIASES: dict[str, tuple[str, ...]] = {
    "signal": _FIELD_ALIASES["signal"],
    "side": _FIELD_ALIASES["side"],
    "coin": _FIELD_ALIASES["coin"],
    "size_pct": (
        "size_pct", "size_percent", "size", "position_size", "position_size_pct", "position_pct",
        "allocation_pct", "allocation", "capital_pct", "margin_pct", "pct_of_capital", "percent_of_capital",
        "size_pct_of_capital", "position_size_percent",
    ),
    "quantity": ("quantity", "qty", "amount"),
    "leverage": _FIELD_ALIASES["leverage"],
    "stop_loss_pct": ("stop_loss_pct", "sl_pct", "stop_pct", "stop_loss_percent", "stop_percent", "stop_loss_percentage"),
    "stop_loss": _FIELD_ALIASES["stop_loss"],
    "take_profit": (
        "take_profit", "take_profits", "take_profit_ladder", "tp_ladder", "ladder", "take_profit_levels",
        "tp_levels", "tp", "targets", "profit_targets", "take_profit_pct", "tp_pct", "exits",
    ),
    "profit_target": ("profit_target", "target", "target_price", "take_profit_price"),
    "invalidation_condition": _FIELD_ALIASES["invalidation_condition"],
    "confidence": _FIELD_ALIASES["confidence"],
    "risk_usd": _FIELD_ALIASES["risk_usd"],
    "justification": _FIELD_ALIASES["justification"],
}
"""Field name -> the keys (normalised) a percent-format entry may use for it."""
_NOT_COINS |= {alias for aliases in _PERCENT_ALIASES.values() for alias in aliases}

_LEVEL_PCT = (
    "pct", "percent", "price_pct", "level_pct", "target_pct", "take_profit_pct", "tp_pct", "gain_pct",
    "move_pct", "profit_pct", "distance_pct", "at_pct", "at", "level", "take_profit",
)
_LEVEL_CLOSE = (
    "close_pct", "close_percent", "close", "close_fraction", "fraction", "portion", "portion_pct",
    "size_pct", "qty_pct", "quantity_pct", "pct_to_close", "percent_to_close", "close_share", "share",
    "exit_pct", "sell_pct", "size",
)
_MAX_LADDER_ITEMS = 20  # levels read from one answer (risk refuses more than ledger.MAX_TAKE_PROFIT_LEVELS)


@dataclass(frozen=True)
class PercentEntry:
    """One coin's entry in the percent format, as the model gave it (numbers read, not yet priced):
    percents are percent (``size_pct`` of account value as margin, ``stop_loss_pct`` from the entry),
    ``take_profit`` ``((pct, close_fraction or None), ...)`` as written (``None``: no ladder; a pct
    of ``None`` is an unreadable level); ``quantity``/``stop_loss``/``profit_target`` are the Alpha
    Arena fields (coins, USD) read where the percent ones are absent."""

    coin: str
    signal: str
    size_pct: float | None = None
    leverage: float | None = None
    stop_loss_pct: float | None = None
    take_profit: tuple[tuple[float | None, float | None], ...] | None = None
    quantity: float | None = None
    stop_loss: float | None = None
    profit_target: float | None = None
    confidence: float | None = None
    risk_usd: float | None = None
    invalidation_condition: str | None = None
    justification: str | None = None


def _is_percent_text(value: object) -> bool:
    return isinstance(value, str) and "%" in value[:200]


def _ladder_level(item: object) -> tuple[float | None, float | None]:
    if isinstance(item, dict):
        f: dict[str, Any] = {}
        for k, v in item.items():
            nk = _norm_key(k)
            if nk is not None:
                f.setdefault(nk, v)
        pct = next((f[k] for k in _LEVEL_PCT if k in f), None)
        close = next((f[k] for k in _LEVEL_CLOSE if k in f), None)
        return _number(pct), _number(close)
    if isinstance(item, (list, tuple)) and 1 <= len(item) <= 2:
        return _number(item[0]), (_number(item[1]) if len(item) == 2 else None)
    return _number(item), None


def _read_ladder(raw: object) -> tuple[tuple[float | None, float | None], ...] | None:
    """A percent-format ``take_profit`` -> ``((pct, close_fraction), ...)`` nearest first, or None."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, dict):
        keys = [_norm_key(k) for k in raw]
        if any(k in _LEVEL_PCT for k in keys if k is not None):
            raw = [raw]  # one level written as an object
        else:  # {"3%": 33, "6%": 33, "10%": 34}
            raw = [[k, v] for k, v in raw.items()]
    if not isinstance(raw, (list, tuple)):
        pct = _number(raw)
        return None if pct is None and raw in ("", None) else ((pct, 1.0),)
    levels = [_ladder_level(item) for item in list(raw)[:_MAX_LADDER_ITEMS]]
    if not levels:
        return None
    closes = [c for _, c in levels if c is not None]
    scale = 100.0 if any(c > 1.0 for c in closes) else 1.0
    given = math.fsum(c / scale for c in closes)
    missing = sum(1 for _, c in levels if c is None)
    share = max(0.0, 1.0 - given) / missing if missing else 0.0
    out = [(p, share if c is None else c / scale) for p, c in levels]
    out.sort(key=lambda lv: (lv[0] is None, lv[0] if lv[0] is not None else 0.0))
    return tuple(out)


def _percent_entry(coin: str, sig: str, f: Mapping[str, Any]) -> PercentEntry:
    stop_raw, target_raw = f.get("stop_loss"), f.get("profit_target")
    stop_pct = _number(f.get("stop_loss_pct"))
    if stop_pct is None and _is_percent_text(stop_raw):
        stop_pct, stop_raw = _number(stop_raw), None
    ladder = _read_ladder(f.get("take_profit"))
    if ladder is None and _is_percent_text(target_raw):
        ladder, target_raw = ((_number(target_raw), 1.0),), None
    return PercentEntry(
        coin=coin,
        signal=sig,
        size_pct=_number(f.get("size_pct")),
        leverage=_number(f.get("leverage")),
        stop_loss_pct=stop_pct,
        take_profit=ladder,
        quantity=_number(f.get("quantity")),
        stop_loss=_number(stop_raw),
        profit_target=_number(target_raw),
        confidence=_number(f.get("confidence")),
        risk_usd=_number(f.get("risk_usd")),
        invalidation_condition=_text(f.get("invalidation_condition")),
        justification=_text(f.get("justification")),
    )


def _percent_decision(e: Any, price: float | None, account_value: float) -> Decision:
    """A ``PercentEntry`` priced at ``price`` (USD) with ``account_value`` (USD) -> ``Decision``."""
    if isinstance(e, Decision):
        return e
    sig = e.signal
    side = {"buy_to_enter": 1, "sell_to_enter": -1}.get(sig, 0)
    p = price if isinstance(price, (int, float)) and not isinstance(price, bool) and math.isfinite(price) and price > 0 else None
    qty, stop, target, ladder = e.quantity, e.stop_loss, e.profit_target, None
    if side and p is not None:
        if e.size_pct is not None:
            lev = e.leverage if e.leverage is not None and e.leverage > 0 else 1.0
            a = account_value if isinstance(account_value, (int, float)) and math.isfinite(account_value) else 0.0
            qty = e.size_pct / 100.0 * a * lev / p
            qty = qty if math.isfinite(qty) else None
        if e.stop_loss_pct is not None:
            stop = p * (1.0 - side * e.stop_loss_pct / 100.0)
        if e.take_profit:
            levels = tuple(
                (math.nan if pct is None else p * (1.0 + side * pct / 100.0), math.nan if frac is None else frac)
                for pct, frac in e.take_profit
            )
            finite = [lp for lp, _ in levels if math.isfinite(lp)]
            target = finite[-1] if finite else None  # (an unreadable level: risk's take_profit_ladder says so)
            ladder = levels if len(levels) > 1 else None  # one level closing all is a plain target
    elif side:
        qty = stop = target = None
    return Decision(
        coin=e.coin,
        signal=sig,  # type: ignore[arg-type]
        quantity=qty,
        leverage=e.leverage,
        profit_target=target,
        stop_loss=stop,
        invalidation_condition=e.invalidation_condition,
        confidence=e.confidence,
        risk_usd=e.risk_usd,
        justification=e.justification,
        take_profit=ladder,
        size_pct=e.size_pct,
    )


# ---------------------------------------------------------------------------------------------
# finding JSON / Python literals in text

_QUOTE_OR_BRACKET = re.compile(r"[{}\[\]\"']")
_DQ_END = re.compile(r'(?:[^"\\]|\\.)*"', re.S)
_SQ_END = re.compile(r"(?:[^'\\\n]|\\.)*'")
_CLOSER = {"{": "}", "[": "]"}


@dataclass
class _Scan:
    pairs: dict[int, int]  # opening bracket position -> closing position
    depth: dict[int, int]  # opening bracket position -> nesting depth (0 = outermost)
    unclosed: list[int]  # brackets still open at the end of the text, outermost first


def _scan(text: str) -> _Scan:
    """One linear pass matching brackets; quotes delimit strings only inside brackets.

    A single quote opens a string only where a Python literal could start one (after ``{ [ , :``),
    so apostrophes in prose do not swallow text. A closer that matches none of the four innermost
    openers is ignored; openers it skips over are dropped as unmatched.
    """
    pairs: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        m = _QUOTE_OR_BRACKET.search(text, i)
        if m is None:
            break
        j = m.start()
        c = text[j]
        if c == '"':
            if not stack:
                i = j + 1
                continue
            e = _DQ_END.match(text, j + 1)
            if e is None:  # the text ends inside a string
                break
            i = e.end()
        elif c == "'":
            if not stack or not _can_start_value(text, j):
                i = j + 1
                continue
            e = _SQ_END.match(text, j + 1)
            i = e.end() if e else j + 1
        elif c in "{[":
            depth[j] = len(stack)
            stack.append(j)
            i = j + 1
        else:
            want = "{" if c == "}" else "["
            for k in range(len(stack) - 1, max(len(stack) - 5, -1), -1):
                if text[stack[k]] == want:
                    del stack[k + 1 :]
                    pairs[stack.pop()] = j
                    break
            i = j + 1
    return _Scan(pairs, depth, stack)


def _can_start_value(text: str, j: int) -> bool:
    k = j - 1
    while k >= 0 and j - k < 200 and text[k] in " \t\r\n":
        k -= 1
    return k < 0 or text[k] in "{[,:("


def _json_like_opener(text: str, j: int) -> bool:
    """``{`` followed by a quote, ``}`` or a bare ``key:``, or ``[`` followed by ``{``: where a decision
    object may start (or, at the very end of the text, where one was cut off)."""
    k = j + 1
    n = len(text)
    while k < n and k - j < 200 and text[k] in " \t\r\n":
        k += 1
    if k >= n:
        return True  # the text ends right after the bracket: a cut-off start
    if text[j] == "{":
        return text[k] in "\"'}" or _BARE_KEY.match(text, k) is not None
    return text[k] == "{"


_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}[ \t]*:")
_LENIENT = re.compile(
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\\n]|\\.)*')|//[^\n]*"""
    r"""|(?<=[{,])(\s*)([A-Za-z_][A-Za-z0-9_]{0,40})(?=[ \t]*:)"""
    r"""|\b(true|false|null|undefined|NaN|Infinity)\b""",
    re.S,
)
_LENIENT_WORDS = {"true": "True", "false": "False", "null": "None", "undefined": "None", "NaN": "None", "Infinity": "1e999"}


def _lenient_to_python(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        if m.group(3) is not None:  # a bare object key, JavaScript style
            return f"{m.group(2)}'{m.group(3)}'"
        if m.group(4) is not None:
            return _LENIENT_WORDS[m.group(4)]
        return " "

    return _LENIENT.sub(repl, s)


def _load(s: str) -> tuple[Any, str] | None:
    """Read ``s`` as JSON, a Python literal, or lenient JSON; ``None`` if none works."""
    try:
        return json.loads(s, strict=False, parse_int=float), "json"
    except Exception:  # ValueError, RecursionError on deep nesting, huge ints
        pass
    try:
        return ast.literal_eval(s), "python-literal"
    except Exception:  # SyntaxError, ValueError, MemoryError, RecursionError ...
        pass
    fixed = _lenient_to_python(s)
    if fixed != s:
        try:
            return ast.literal_eval(fixed), "json-lenient"
        except Exception:
            pass
    return None


@dataclass
class _Candidate:
    start: int
    end: int  # index of the closing bracket
    form: str
    walk: _Walk


_FENCE = re.compile(r"```[^\n`]*\n?(.*?)(?:```|\Z)", re.S)


def _fence_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(1), m.end(1)) for m in _FENCE.finditer(text)]


def _candidates(
    text: str, scan: _Scan, known: tuple[str, ...], limit_end: int, fmt: str = "alpha-arena"
) -> tuple[list[_Candidate], int]:
    """Parse every outermost readable bracket span before ``limit_end``; returns (candidates, failed loads)."""
    out: list[_Candidate] = []
    covered = -1
    attempts = 0
    failed = 0
    budget = 4 * len(text) + 20_000  # characters handed to the loaders: nested failures stay linear
    for start in sorted(scan.pairs):
        if start <= covered or start >= limit_end or scan.depth[start] > _MAX_CANDIDATE_DEPTH:
            continue
        if not _json_like_opener(text, start):
            continue
        end = scan.pairs[start]
        attempts += 1
        budget -= end + 1 - start
        if attempts > _MAX_LOAD_ATTEMPTS or budget < 0:
            break
        loaded = _load(text[start : end + 1])
        if loaded is None:
            failed += 1
            continue
        obj, form = loaded
        covered = end
        w = _Walk(known, fmt)
        w.walk(obj)
        out.append(_Candidate(start, end, form, w))
    return out, failed


def _salvage(text: str, scan: _Scan, first_unclosed: int, known: tuple[str, ...], fmt: str = "alpha-arena") -> dict[str, Decision]:
    """Complete per-coin entries of an object cut off mid-way: cut after the last complete child of
    the outermost open level that has one, close the open brackets, and parse that.

    Linear: one pass over the bracket pairs finds every open level's last complete child (the open
    brackets nest, each at its own depth, so a pair's depth names the level it sits in), and the
    characters handed to the loaders share ``_candidates``' budget, so an answer cut off thousands of
    levels deep (each level a longer prefix to load) does not stall the arena."""
    chain = [p for p in scan.unclosed if p >= first_unclosed]
    if not chain:
        return {}
    levels_at: dict[int, list[int]] = {}  # depth of a level's children -> the levels (one, as they nest)
    for level, opener in enumerate(chain):
        levels_at.setdefault(scan.depth[opener] + 1, []).append(level)
    stops = chain[1:] + [len(text)]
    last_close = [-1] * len(chain)
    for s, e in scan.pairs.items():
        levels = levels_at.get(scan.depth.get(s, -1))
        if levels is None:
            continue
        for level in levels:
            if s > chain[level] and e < stops[level] and e > last_close[level]:
                last_close[level] = e
    all_closers = "".join(_CLOSER[text[p]] for p in reversed(chain))
    budget = 4 * len(text) + 20_000  # characters handed to the loaders, as in ``_candidates``
    for level in range(len(chain)):
        if last_close[level] < 0:
            continue
        closers = all_closers[len(chain) - 1 - level :]
        size = last_close[level] + 1 - chain[0] + len(closers)
        budget -= size
        if budget < 0:  # the prefixes only grow from here
            break
        loaded = _load(text[chain[0] : last_close[level] + 1] + closers)
        if loaded is None:
            continue
        w = _Walk(known, fmt)
        w.walk(loaded[0])
        if w.decisions:
            return w.decisions
    return {}


# ---------------------------------------------------------------------------------------------
# plain text: "Signal: BUY / Stop Loss: $x / Take Profit: $y"

_LINE_DECORATION = " \t>*-•#|_`"
_LINE_NUMBERING = re.compile(r"\d{1,3}[.)] ?")
_LINE_FIELD = re.compile(r"(?P<key>[A-Za-z][A-Za-z ()/_\-]{0,30}?)[\s*_`]*[:=：](?P<val>.*)")
_LINE_COIN_HEADER = re.compile(r"(?P<coin>[A-Za-z]{2,6})(?:[-/ ]?(?:USDT|USDC|USD|PERP))?")
_TEXT_KEYS: dict[str, str] = {
    "coin": "coin", "symbol": "coin", "asset": "coin", "ticker": "coin", "pair": "coin",
    "signal": "signal", "action": "signal", "decision": "signal", "trade signal": "signal",
    "side": "side", "direction": "side",
    "quantity": "quantity", "qty": "quantity", "size": "quantity", "position size": "quantity", "amount": "quantity",
    "leverage": "leverage",
    "take profit": "profit_target", "profit target": "profit_target", "tp": "profit_target",
    "target": "profit_target", "target price": "profit_target",
    "stop loss": "stop_loss", "sl": "stop_loss", "stop": "stop_loss", "stop price": "stop_loss",
    "invalidation": "invalidation_condition", "invalidation condition": "invalidation_condition",
    "confidence": "confidence",
    "risk": "risk_usd", "risk usd": "risk_usd", "risk amount": "risk_usd",
    "justification": "justification", "reason": "justification", "rationale": "justification",
    "reasoning": "justification",
}


def _text_signal(val: str, side: object = None) -> str | None:
    words = re.findall(r"[A-Za-z_]+", val)[:3]
    for n in (3, 2, 1):
        if len(words) >= n:
            sig = parse_signal("_".join(words[:n]), side)
            if sig is not None:
                return sig
    return None


def _plain_text(
    text: str, known: tuple[str, ...]
) -> tuple[dict[str, Decision], list[str], bool, list[tuple[str, Decision | None]]]:
    """Decisions from ``Key: value`` lines; returns (decisions, skipped notes, saw a signal line,
    entries for coins not traded)."""
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] | None = None
    for line in text.splitlines():
        if len(line) > 2000:
            continue
        line = line.strip(_LINE_DECORATION)
        n = _LINE_NUMBERING.match(line)
        if n:
            line = line[n.end() :].lstrip(_LINE_DECORATION)
        h = _LINE_COIN_HEADER.fullmatch(line.rstrip(_LINE_DECORATION + ":"))
        if h and h.group("coin").upper() in known:
            cur = {"coin": h.group("coin").upper()}
            blocks.append(cur)
            continue
        m = _LINE_FIELD.match(line)
        if not m:
            continue
        key = re.sub(r"[^a-z]+", " ", m.group("key").lower()).strip()
        name = _TEXT_KEYS.get(key)
        if name is None:
            continue
        val = m.group("val").strip(_LINE_DECORATION)
        if cur is None or (name == "coin" and "coin" in cur) or (name == "signal" and "signal" in cur):
            cur = {}
            blocks.append(cur)
        cur.setdefault(name, val)
    decisions: dict[str, Decision] = {}
    skipped: list[str] = []
    unknown: list[tuple[str, Decision | None]] = []
    signal_blocks = [b for b in blocks if "signal" in b]
    for b in signal_blocks:
        sig = _text_signal(b["signal"], b.get("side"))
        if sig is None:
            skipped.append(f"unrecognised plain-text signal {b['signal'][:40]!r}")
            continue
        coin: str | None = None
        if "coin" in b:
            coin = _coin_of(re.sub(r"[*_`\s].*$", "", b["coin"].strip("*_` ")))
            if coin not in known:
                skipped.append(f"{b['coin'][:20]}: not one of the coins traded")
                if len(unknown) < _MAX_UNKNOWN:
                    name = coin if coin is not None else " ".join(b["coin"][:20].split()) or "?"
                    unknown.append((name, _text_decision(name, sig, b)))
                continue
        elif len(signal_blocks) == 1:
            named = {c for c in known if re.search(rf"(?<![A-Za-z0-9]){re.escape(c)}(?![A-Za-z0-9])", text)}
            if len(named) == 1:
                coin = named.pop()
            elif len(known) == 1:
                coin = known[0]
        if coin is None:
            skipped.append("a plain-text signal named no coin")
            continue
        decisions[coin] = _text_decision(coin, sig, b)
    return decisions, skipped, bool(signal_blocks), unknown


def _text_decision(coin: str, sig: str, b: Mapping[str, str]) -> Decision:
    nums = {
        name: (_first_number(b[name]) if name in b else None)
        for name in _NUMERIC
    }
    return Decision(
        coin=coin,
        signal=sig,  # type: ignore[arg-type]
        invalidation_condition=b.get("invalidation_condition"),
        justification=b.get("justification"),
        **nums,
    )


# ---------------------------------------------------------------------------------------------
# the whole answer

_THINK_OPEN = re.compile(r"^\s*<(think|thinking|reasoning)>", re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.I)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _parse(text: str, coins: Sequence[str], fmt: str = "alpha-arena") -> ParseResult:
    if not isinstance(text, str):
        raise ParseError(f"the answer was not text but {type(text).__name__}")
    known = tuple(dict.fromkeys(str(c).upper() for c in coins))
    if len(text) > MAX_ANSWER_CHARS:
        raise ParseError(f"the answer was {len(text):,} characters long, more than the {MAX_ANSWER_CHARS:,} the parser reads")
    body = text
    closes = list(_THINK_CLOSE.finditer(body))
    if closes:
        body = body[closes[-1].end() :]
        if not body.strip():
            raise ParseError("the answer held only reasoning (<think>...</think>) and nothing after it")
    elif _THINK_OPEN.match(body):
        raise ParseError("the answer was cut off inside its reasoning (<think> never closed)")
    if not body.strip():
        raise ParseError("the answer was empty")

    # A whole answer that is one JSON string holding JSON ("{\"BTC\": ...}"): unwrap once.
    stripped = body.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        try:
            inner = json.loads(stripped)
        except Exception:
            inner = None
        if isinstance(inner, str) and inner.strip()[:1] in ("{", "["):
            body = inner

    # Fast path: the whole answer is one strict JSON object (what the baselines and most models send).
    stripped = body.strip()
    if stripped[:1] == "{" and stripped[-1:] == "}":
        try:
            obj = json.loads(stripped)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            w = _Walk(known, fmt)
            try:
                w.walk(obj)
            except RecursionError:
                w = _Walk(known, fmt)
            if w.decisions:
                return ParseResult(dict(w.decisions), "json", False, False, tuple(w.skipped[:50]), tuple(w.unknown))

    scan = _scan(body)
    first_unclosed = next((p for p in scan.unclosed if _json_like_opener(body, p)), len(body))
    cands, failed = _candidates(body, scan, known, first_unclosed, fmt)

    if first_unclosed < len(body):
        partial = _salvage(body, scan, first_unclosed, known, fmt)
        detail = f"; complete entries for {', '.join(partial)} came before the cut" if partial else ""
        raise ParseError(f"the answer was cut off mid-JSON (no closing brace){detail}", partial)

    with_decisions = [c for c in cands if c.walk.decisions]
    if with_decisions:
        chosen = [with_decisions[-1]]
        # one-coin objects written one after another ("BTC: {...} ETH: {...}") are merged
        if len(chosen[0].walk.decisions) == 1:
            seen = set(chosen[0].walk.decisions)
            for c in reversed(with_decisions[:-1]):
                if len(c.walk.decisions) != 1 or set(c.walk.decisions) & seen:
                    break
                seen |= set(c.walk.decisions)
                chosen.insert(0, c)
        decisions: dict[str, Decision] = {}
        skipped: list[str] = []
        unknown: list[tuple[str, Decision | None]] = []
        for c in chosen:
            decisions.update(c.walk.decisions)
            skipped.extend(c.walk.skipped)
            unknown.extend(c.walk.unknown)
        fences = _fence_spans(body)
        first, last = chosen[0], chosen[-1]
        fenced = any(a <= first.start and last.end < b for a, b in fences)
        outside = body[: first.start] + body[last.end + 1 :]
        in_prose = bool(re.sub(r"```[^\n`]*|\s", "", outside))
        return ParseResult(decisions, last.form, fenced, in_prose, tuple(skipped[:50]), tuple(unknown[:_MAX_UNKNOWN]))

    text_decisions, text_skipped, saw_signal, text_unknown = _plain_text(body, known)
    if text_decisions:
        return ParseResult(text_decisions, "plain-text", False, True, tuple(text_skipped[:50]), tuple(text_unknown))

    unknown = [u for c in cands for u in c.walk.unknown_coins]
    bad = [b for c in cands for b in c.walk.bad_signals]
    if unknown and not bad:
        names = list(dict.fromkeys(unknown))
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        raise ParseError(
            f"no decision for any known coin was found (the answer named {shown}; known coins are {', '.join(known)})"
        )
    if bad:
        raise ParseError(f"no decision for any known coin was found (unrecognised signal for {'; '.join(bad[:3])})")
    if any(c.walk.coinless for c in cands):
        raise ParseError("no decision for any known coin was found (the decision in the answer named no coin)")
    if cands:
        raise ParseError("no decision for any known coin was found (the JSON in the answer held no per-coin signals)")
    if saw_signal:
        raise ParseError(f"no decision for any known coin was found ({text_skipped[0] if text_skipped else 'plain-text signal unreadable'})")
    if failed:
        raise ParseError(f"the answer's JSON could not be read ({_plural(failed, 'bracketed span')} neither valid JSON nor a Python literal)")
    if body.count("```") % 2 == 1:
        raise ParseError("the answer was cut off inside a code fence with no JSON in it")
    raise ParseError("no JSON object or plain-text signal was found in the answer")
