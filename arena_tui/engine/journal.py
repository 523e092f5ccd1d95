"""The session journal: JSON Lines, one line per event (or per run of repeated events), the first
line the ``SessionStarted`` header.

A journal belongs to one session. ``JournalWriter.create`` / ``create_unique`` make a new file,
exclusively (never an existing one, not even one created a moment ago by another process), and write
the header; ``JournalWriter.append`` continues a session (``--resume``). Every writer holds an
exclusive lock on ``<journal>.lock`` (which holds its pid) for its lifetime, so two processes never
write one journal; the kernel drops the lock when a process dies, so a stale lock file never blocks.

Writing: append, flush after every line, ``fsync`` at every cycle end (``sync()``), so a crash loses
at most the line being written (and the cycle it was in, which a resume runs again). Reading
(``open_journal`` streams, ``read_journal`` collects): a truncated last line (a crash mid-write) is
dropped with a warning; a corrupt line anywhere else raises ``JournalError`` naming the file and line
number. Bytes a resume cuts off are kept in a ``<journal>.cut-<UTC time>`` file. Reasoning deltas are
coalesced into ~100 ms chunks before they are journaled (``DeltaCoalescer``). Lines are encoded and
decoded with orjson (the standard library where orjson cannot be exact: NaN, infinities, integers
beyond 64 bits, lone surrogates).

The compact encoding (schema 4, ``COMPACT_SCHEMA``). Every line is a JSON object with ``"type"``,
``"cycle"`` and ``"time"``; the header and every event that is not a ``PER_CYCLE_TYPES`` event (fills,
exits, funding, rejections, failures, halts, notices, session control) are written whole. A per-cycle
event is written as its difference from its *base*: the previous event of the same key (its type;
plus ``"agent"`` for an agent's events; plus ``"kind"`` (and ``"member"``, a swarm member's, when
set) for a ``ReasoningDelta``: those key fields are always on the line), or for the first of its key the type's defaults. On a line:

- a field left out is the base's value (a field without a default must be on the first line of its key).
  The base is the previous event as the rest of the cycle predicts it (``_predict``): an account's
  positions marked at the last ``MarketUpdated`` prices (unrealized PnL, value and return moved
  accordingly), a leaderboard row showing its agent's last ``AccountUpdated`` (the BTC benchmark at
  the last BTC price), a market row priced at the close of its coin's newest ``MarketData`` candle
  (its change from the session's first price). Writer and reader predict alike, so a prediction that
  misses only costs the field written;
- ``"name": value`` is the value;
- ``"~name"``: a change of the base's value: of an object, ``{key: value}`` for the keys added or
  changed (an object within as its own change; a list of rows ``[[a, b, ...], ...]`` for an object of
  equally long lists, e.g. a timeframe's candles: its lists ``a``, ``b``, ... in order) and
  ``"-": [keys]`` for the keys removed; of rows (``positions`` keyed by ``"coin"``, ``leaderboard`` by
  ``"agent"``), the new rows in order, each its key and the fields that differ from the base's row of
  that key (or the row defaults); of a text, per line of the base (it has as many): ``n`` (the next n
  lines unchanged), ``[p, "mid", s]`` (the next line's first p and last s characters kept, ``mid``
  between) or the new line;
- ``"#name"``: a text whose words are the base's, only its numbers changed: per number of the base
  text in order, the new one (as text) or ``n`` (the next n unchanged; trailing ones left out);
- ``"|name"``: new columns of a table whose rows keep their keys and order: ``{"column": [one value
  per row]}``, or ``{"column": {"i": value}}`` for the rows i (from 0) that changed
  (``MarketUpdated.coins``: a row per coin; the rows of ``positions``/``leaderboard``);
- ``"^": [i, [j, n], ...]``: before this line's event, the events ``i`` and ``j`` to ``j + n - 1`` of
  the previous complete cycle (``CycleStarted`` is 0, counting per-cycle events only) happen again in
  this cycle, each its (predicted) base with this cycle's ``cycle`` and ``time``: an event identical
  to its base is left out and named by the next line (in practice a rule-based agent's held answer, its parsed
  holds, an unchanged account).

So a cycle in which nothing but prices moved costs a few lines. The reader (``_Decoder``) keeps the
same context as the writer (``_Encoder``) and rebuilds the very events the engine published;
``JournalWriter.append`` rebuilds the writer's context from the journal it continues. Journals of
schema 3 and older hold every field on every line and are read, verified and continued as such.
``python -m arena_tui.engine.journal FILE`` prints a journal with every event whole (for ``jq``).
"""

from __future__ import annotations

import dataclasses
import errno
import itertools
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import ne as _ne
from pathlib import Path
from typing import IO, Callable, Iterator

from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal_head import HEADER_TYPE, missing_journal, open_for_reading, read_head
from arena_tui.engine.events import _REGISTRY as _EVENT_TYPES
from arena_tui.engine.events import (
    SCHEMA_VERSION,
    CycleCompleted,
    Event,
    EventDecodeError,
    ReasoningDelta,
    SessionStarted,
    from_json,
)

try:
    import fcntl
except ImportError:  # Windows: no flock; writers are not locked there
    fcntl = None  # type: ignore[assignment]

try:
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson is a dependency
    _orjson_loads = None
    _orjson_dumps = None


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True, check_circular=False)

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation at the descriptor level


_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=True, check_circular=False)


def dumps(event: Event) -> str:
    """One journal line holding ``event`` whole (without the newline): compact JSON, keys in field
    order, always encodable as UTF-8 (see ``_dump_line``). What every line of a schema-3 journal is."""
    return _dump_line(event.to_json()).decode("utf-8")


def session_file_name(name: str, now: datetime | None = None) -> str:
    """``<UTC timestamp>-<name>.jsonl``, the default journal file name (``name`` made file-safe)."""
    now = now or datetime.now(timezone.utc)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "session"
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe}.jsonl"


# --- decoding -------------------------------------------------------------------------------------

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
_LONG_INTEGER = re.compile(rb"(?<![0-9.])[0-9]{19,}(?![0-9.eE])")
"""An integer of 19 digits or more (not a fraction's digits, not a float's integer part)."""


def _loads(line: bytes) -> object:
    """``json.loads(line)``, through orjson (several times faster) where it gives the same result.

    orjson rejects the NaN/Infinity tokens the writer allows and reads integers beyond 64 bits as
    floats; such lines (an integer of 19+ digits, an over-approximation: in a text too) go to
    ``json``. Both read floats exactly (correctly rounded)."""
    if _orjson_loads is not None and (_LONG_DIGIT_RUN not in line.translate(_DIGITS_TO_ZERO) or not _LONG_INTEGER.search(line)):
        try:
            return _orjson_loads(line)
        except ValueError:  # orjson.JSONDecodeError: NaN/Infinity, or a really corrupt line
            pass
    return json.loads(line.decode("utf-8-sig"), parse_int=_parse_int)  # a BOM (a Windows editor) is allowed


_INT_LIMIT = 1 << 1024


def _parse_int(text: str) -> int:
    """A JSON integer, exactly (however long); one no float can hold (over about 309 digits) is no
    figure arena-tui writes, and would overflow wherever it is used as money: the line is refused."""
    if len(text) > 300:
        v = int(text)
        if not -_INT_LIMIT < v < _INT_LIMIT:
            raise ValueError(f"the number {text[:12]}... ({len(text.lstrip('-'))} digits) is too large")
        return v
    return int(text)


# --- the compact encoding (journal schema 4) --------------------------------------------------------

COMPACT_SCHEMA = 4
"""Journals of this schema and newer are written compactly (see the module docstring); older ones
hold every field of every event on its line, and are read (and continued) that way."""

PER_CYCLE_TYPES = frozenset(
    {"CycleStarted", "MarketData", "MarketUpdated", "ReasoningDelta", "AgentStarted", "AgentReplied", "DecisionParsed", "AccountUpdated", "CycleCompleted"}
)
"""The event types every cycle repeats: written as their differences from the previous event of the
same type (and agent, and kind), and left out when identical. Every other event (fills, exits,
funding, rejections, failures, halts, notices, session control) is written whole."""

_AGENT_KEYED = frozenset({"AgentStarted", "AgentReplied", "DecisionParsed", "AccountUpdated"})
_ROW_KEY = {"positions": "coin", "leaderboard": "agent"}
_REPEAT = "^"
_REMOVED = "-"
_SHORT_TEXT = 48
"""Texts shorter than this are written whole when they change (a line diff would not pay)."""
_MISSING = object()
_INF = float("inf")


class _Context:
    """What a compact line is read against, the same for the writer and the reader: ``bases`` the last
    event (as its JSON dict) of each key (the type, plus the agent, plus a delta's kind), ``prev`` the
    keys of the previous complete cycle's per-cycle events in order, ``cur`` those of the cycle being
    read, ``cycle``/``time`` the cycle being read (``in_cycle``: between its CycleStarted and its
    CycleCompleted). Values are never changed in place, so a shallow ``copy`` is a snapshot."""

    __slots__ = ("bases", "prev", "cur", "cycle", "time", "in_cycle", "first_prices", "start_cash", "events")

    def __init__(self, start_cash=None) -> None:
        self.bases: dict = {}
        self.prev: list = []
        self.cur: list = []
        self.cycle = 0
        self.time = 0
        self.in_cycle = False
        self.first_prices: dict | None = None
        self.start_cash = start_cash
        self.events: dict = {}
        """The reader's last decoded ``Event`` of a key (a repeat is a copy of it)."""

    def copy(self) -> "_Context":
        c = _Context.__new__(_Context)
        c.bases, c.prev, c.cur = dict(self.bases), self.prev, list(self.cur)
        c.cycle, c.time, c.in_cycle = self.cycle, self.time, self.in_cycle
        c.first_prices, c.start_cash, c.events = self.first_prices, self.start_cash, dict(self.events)
        return c

    def note(self, t: str, key, d: dict) -> None:
        """``d`` (an event of type ``t`` and ``key``, as JSON) was written or read."""
        self.bases[key] = d
        if t == "MarketUpdated" and self.first_prices is None and type(d.get("coins")) is dict:
            self.first_prices = {c: r.get("price") for c, r in d["coins"].items() if type(r) is dict}
        if t == "CycleStarted":
            self.cycle, self.time, self.in_cycle = d["cycle"], d["time"], True
            self.cur = [key]
        elif self.in_cycle:
            self.cur.append(key)
            if t == "CycleCompleted":
                self.prev, self.cur, self.in_cycle = self.cur, [], False


def _key(t: str, d: dict):
    if t == "ReasoningDelta":
        member = d.get("member")
        return (t, d["agent"], d["kind"]) if member is None else (t, d["agent"], d["kind"], member)
    if t in _AGENT_KEYED:
        return (t, d["agent"])
    return t


_DEFAULTS: dict[str, dict] = {}
_FIELDS: dict[str, frozenset] = {}
_ROW_DEFAULTS: dict[str, dict] = {}


def _defaults(t: str) -> dict:
    """The base of the first event of a key: the type and the fields' defaults (a field without a
    default must be on the line)."""
    d = _DEFAULTS.get(t)
    if d is None:
        cls = _EVENT_TYPES[t]
        d = {"type": t}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                d[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                d[f.name] = f.default_factory()  # type: ignore[misc]
        _DEFAULTS[t] = d
        _FIELDS[t] = frozenset(f.name for f in dataclasses.fields(cls))
    return d


def _row_defaults(field_name: str, t: str) -> dict:
    d = _ROW_DEFAULTS.get(field_name)
    if d is None:
        cls = _EVENT_TYPES[t].rows[field_name]
        d = _ROW_DEFAULTS[field_name] = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    return d


_PREDICTED = frozenset({"AccountUpdated", "CycleCompleted", "MarketUpdated"})


def _predict(t: str, base: dict, ctx: _Context) -> dict:
    """The base of an event as the rest of its cycle predicts it: an account's positions marked at
    the prices of the last ``MarketUpdated``; a leaderboard row showing its agent's last
    ``AccountUpdated`` (value, return, fees, and the PnL that value gives); a market row priced at
    the last close of the newest candle of its coin in the last ``MarketData``. The same function of
    the same context for the writer and the reader: a prediction that misses costs bytes, never
    exactness."""
    try:
        if t == "AccountUpdated":
            rows = base.get("positions")
            mu = ctx.bases.get("MarketUpdated")
            if not rows or mu is None:
                return base
            return _predict_account(base, rows, mu["coins"], ctx.start_cash)
        if t == "CycleCompleted":
            rows = base.get("leaderboard")
            if not rows:
                return base
            out = []
            for r in rows:
                au = ctx.bases.get(("AccountUpdated", r["agent"])) if type(r) is dict and type(r.get("agent")) is str else None
                if au is None:
                    out.append(_predict_benchmark(r, ctx) if type(r) is dict and r.get("kind") == "benchmark" else r)
                    continue
                value, old_value, old_pnl = au["account_value"], r["account_value"], r["pnl"]
                r = {**r, "account_value": value, "return_pct": au["return_pct"], "fees": au["fees_paid"]}
                if type(value) is float and type(old_value) is float and type(old_pnl) is float:
                    r["pnl"] = round(value - (old_value - old_pnl), 6)
                out.append(r)
            return {**base, "leaderboard": out}
        if t == "MarketUpdated":
            md = ctx.bases.get("MarketData")
            coins = base.get("coins")
            if md is None or type(coins) is not dict or not coins:
                return base
            data = md["coins"]
            first = ctx.first_prices or {}
            out = {}
            for coin, row in coins.items():
                price = _newest_close(data.get(coin)) if type(row) is dict and "price" in row else None
                if price is None:
                    out[coin] = row
                    continue
                row = {**row, "price": price}
                start = first.get(coin)
                if "change_pct" in row and type(start) is float and start:
                    row["change_pct"] = round((price / start - 1) * 100, 6)
                out[coin] = row
            return {**base, "coins": out}
    except (TypeError, KeyError, IndexError, AttributeError, ValueError, OverflowError):
        return base
    return base


def _predict_account(base: dict, rows: list, coins: dict, start_cash) -> dict:
    """An account held through the cycle (as ``ledger.Ledger.mark`` marks it): each position at its
    coin's new price, ``unrealized_pnl = side x quantity x (mark - entry)``; the account's unrealized
    PnL their sum, its value moved by as much, its return from that value."""
    out = []
    total = total_before = 0.0
    whole = True
    for r in rows:
        if type(r) is not dict:
            out.append(r)
            whole = False
            continue
        row = coins.get(r.get("coin"))
        price = row.get("price") if type(row) is dict else None
        side, qty, entry, mark = r.get("side"), r.get("quantity"), r.get("entry_price"), r.get("mark_price")
        if type(price) is not float or type(side) is not int or type(qty) is not float or type(entry) is not float or type(mark) is not float:
            out.append(r)
            whole = False
            continue
        u = side * qty * (price - entry)
        total += u
        total_before += side * qty * (mark - entry)
        out.append({**r, "mark_price": price, "unrealized_pnl": round(u, 6)})
    base = {**base, "positions": out}
    value = base.get("account_value")
    if whole and type(value) is float:
        base["unrealized_pnl"] = round(total, 6)
        value = base["account_value"] = round(value + (total - total_before), 6)
        if type(start_cash) in (float, int) and start_cash:
            base["return_pct"] = round((value / start_cash - 1.0) * 100.0, 6)
    return base


def _predict_benchmark(r: dict, ctx: _Context) -> dict:
    """The BTC buy-and-hold row at the last ``MarketUpdated`` BTC price (as ``state`` computes it)."""
    mu = ctx.bases.get("MarketUpdated")
    btc = mu["coins"].get("BTC") if mu is not None and type(mu.get("coins")) is dict else None
    price = btc.get("price") if type(btc) is dict else None
    entry = (ctx.first_prices or {}).get("BTC")
    cash = ctx.start_cash
    if type(price) is not float or type(entry) is not float or not entry or type(cash) not in (float, int) or not cash:
        return r
    v = cash * price / entry
    return {**r, "account_value": round(v, 6), "return_pct": round((v / cash - 1) * 100, 6), "pnl": round(v - cash, 6)}


def _newest_close(data) -> float | None:
    """The close of the newest candle among a coin's ``MarketData`` candles (None: no candle)."""
    if type(data) is not dict or type(data.get("candles")) is not dict:
        return None
    best = None
    newest = None
    for c in data["candles"].values():
        if type(c) is dict and type(c.get("ts")) is list and c["ts"] and type(c.get("close")) is list and c["close"]:
            ts = c["ts"][-1]
            if type(ts) is int and (newest is None or ts > newest):
                newest, best = ts, c["close"][-1]
    return best if type(best) is float else None


_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)")
_ASCII_NUMBER = re.compile(r"([0-9]+(?:[.,][0-9]+)*)")
"""``_NUMBER`` for ASCII texts (the same split there: ``\\d`` is any Unicode digit), twice as fast."""


# -- equality as JSON sees it (types kept: 1 is not 1.0 nor true, -0.0 is not 0.0) --------------------


def _same(a, b) -> bool:
    """``a`` and ``b`` are the same JSON: ``==`` and, as that takes 1 for 1.0 or true and 0.0 for
    -0.0, the same when written."""
    ta = type(a)
    if ta is not type(b):
        if ta in _SEQ_TYPES and type(b) in _SEQ_TYPES:
            return len(a) == len(b) and list(a) == list(b) and _written_alike(a, b)
        return False
    if ta is float:
        return a == b and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))
    if ta is dict or ta is list or ta is tuple:
        return a == b and _written_alike(a, b)
    return a == b


_SEQ_TYPES = (list, tuple)


def _written_alike(a, b) -> bool:
    """Two containers equal by ``==`` are written alike (no 1 for 1.0, no 0.0 for -0.0, no true
    for 1, the same key order)."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(a) == _orjson_dumps(b)
        except TypeError:  # what orjson cannot write (a huge integer, a key that is not text)
            pass
    return _same_deep(a, b)


def _same_deep(a, b) -> bool:
    ta = type(a)
    if ta is not type(b):
        return ta in _SEQ_TYPES and type(b) in _SEQ_TYPES and len(a) == len(b) and all(map(_same_deep, a, b))
    if ta is float:
        return a == b and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)
    if ta is dict:
        return list(a) == list(b) and all(_same_deep(v, b[k]) for k, v in a.items())
    if ta in _SEQ_TYPES:
        return len(a) == len(b) and all(map(_same_deep, a, b))
    return a == b


# -- writing -----------------------------------------------------------------------------------------


def _dump_line(obj: dict) -> bytes:
    """One line (without the newline): orjson, keys in insertion order, always UTF-8. Where orjson
    cannot say it exactly (NaN and infinities, which it writes as null; integers beyond 64 bits; a
    lone surrogate, valid in JSON, not in UTF-8: a model can send one) the standard library writes it
    (NaN, ``\\ud800``). U+2028/U+2029, which other line splitters take for line breaks, are escaped."""
    if _orjson_dumps is not None:
        try:
            line = _orjson_dumps(obj)
        except TypeError:  # orjson.JSONEncodeError: a surrogate, a huge integer, a key that is not text
            pass
        else:
            if b"null" in line and not _finite(obj):
                pass
            else:
                if b"\xe2\x80\xa8" in line or b"\xe2\x80\xa9" in line:
                    line = line.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
                return line
    text = _ENCODER.encode(obj)
    if not text.isascii():
        try:
            return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")
        except UnicodeEncodeError:
            return _ASCII_ENCODER.encode(obj).encode("ascii")
    return text.encode("ascii")


def _finite(v) -> bool:
    """No NaN or infinity anywhere in ``v``."""
    t = type(v)
    if t is float:
        return v - v == 0.0
    if t is dict:
        return all(_finite(x) for x in v.values())
    if t is list or t is tuple:
        return all(_finite(x) for x in v)
    return True


def _ranges(idx: list[int]) -> list:
    """[3, 4, 5, 9] -> [[3, 3], 9]: runs of consecutive indices as [first, count]."""
    out: list = []
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(idx[i] if j == i else [idx[i], j - i + 1])
        i = j + 1
    return out


class _Encoder:
    """Turns events (as ``to_json`` dicts) into compact lines, keeping the ``_Context`` a reader of
    those lines will have. ``encode(d)`` returns the lines to write now: none when the event is held
    (identical to the one of the previous cycle: it is named by the ``^`` of the next line written),
    one, or more (held events written out whole before a line that cannot carry them)."""

    def __init__(self, compact: bool = True, ctx: _Context | None = None) -> None:
        self.compact = compact
        self.ctx = ctx if ctx is not None else _Context()
        self.held: list[int] = []
        self._held_events: list[dict] = []
        self._index: dict = {}
        self._seen: dict = {}
        self._reindex()

    def _reindex(self) -> None:
        index: dict = {}
        for i, key in enumerate(self.ctx.prev):
            index.setdefault(key, []).append(i)
        self._index = index
        seen: dict = {}
        for key in self.ctx.cur:
            seen[key] = seen.get(key, 0) + 1
        self._seen = seen

    def encode(self, d: dict) -> list[bytes]:
        if not self.compact:
            return [_dump_line(d)]
        t = d.get("type")
        ctx = self.ctx
        if t == "SessionStarted":
            out = self.flush()
            self.ctx = _Context(d.get("starting_cash"))
            self._reindex()
            out.append(_dump_line(d))
            return out
        out: list[bytes] = []
        key = None
        if t in PER_CYCLE_TYPES:
            try:
                key = _key(t, d)
                hash(key)
            except (KeyError, TypeError):
                key = None
        if key is not None:
            if t == "CycleStarted" and self.held:
                out += self.flush()
            base = ctx.bases.get(key)
            fields = self._diff(t, d, _defaults(t) if base is None else (_predict(t, base, ctx) if t in _PREDICTED else base))
            if not fields and ctx.in_cycle and t != "CycleStarted" and t != "CycleCompleted" and d["cycle"] == ctx.cycle and d["time"] == ctx.time:
                n = self._seen.get(key, 0)
                spots = self._index.get(key)
                if spots is not None and n < len(spots):
                    self.held.append(spots[n])
                    self._held_events.append(d)
                    self._note(t, key, d)
                    return out
        line = {"type": t, "cycle": d.get("cycle"), "time": d.get("time")}
        if self.held:
            line[_REPEAT] = _ranges(self.held)
            self.held, self._held_events = [], []
        if key is None:
            line.update(d)
        else:
            if t == "ReasoningDelta":
                line["agent"], line["kind"] = d["agent"], d["kind"]
                if d.get("member") is not None:
                    line["member"] = d["member"]
            elif t in _AGENT_KEYED:
                line["agent"] = d["agent"]
            line.update(fields)
            self._note(t, key, d)
        out.append(_dump_line(line))
        return out

    def _note(self, t: str, key, d: dict) -> None:
        ctx = self.ctx
        ctx.note(t, key, d)
        if t == "CycleStarted":
            self._seen = {key: 1}
        elif t == "CycleCompleted" and not ctx.in_cycle:
            self._reindex()
        elif ctx.in_cycle:
            seen = self._seen
            seen[key] = seen.get(key, 0) + 1

    def flush(self) -> list[bytes]:
        """The held events as lines of their own (type, cycle, time and key: every other field as the
        previous event's), for when the cycle does not go on (the writer closes)."""
        out = []
        for d in self._held_events:
            t = d["type"]
            line = {"type": t, "cycle": d["cycle"], "time": d["time"]}
            if t == "ReasoningDelta":
                line["agent"], line["kind"] = d["agent"], d["kind"]
                if d.get("member") is not None:
                    line["member"] = d["member"]
            elif t in _AGENT_KEYED:
                line["agent"] = d["agent"]
            out.append(_dump_line(line))
        self.held, self._held_events = [], []
        return out

    @staticmethod
    def _diff(t: str, d: dict, base: dict) -> dict:
        """The fields of ``d`` that differ from ``base``, each as its value or a ``~``/``|``/``#`` change."""
        out: dict = {}
        skip = _KEY_FIELDS if t == "ReasoningDelta" else _ALWAYS
        get = base.get
        for k, v in d.items():
            if k in skip:
                continue
            o = get(k, _MISSING)
            if o is v:
                continue
            tv = type(v)
            if tv in _SCALAR_TYPES:  # (a missing base value is of no scalar type)
                # equal and of one type; a zero float also of one sign (``_same``, inlined: most fields)
                if tv is type(o) and v == o and (v or tv is not float or math.copysign(1.0, v) == math.copysign(1.0, o)):
                    continue
                out[k] = v
                continue
            if tv is str:
                if type(o) is str:
                    if v == o:
                        continue
                    if len(v) >= _SHORT_TEXT:
                        change = _text_changes(v, o)
                        if change is not None:
                            out[change[0] + k] = change[1]
                            continue
                out[k] = v
                continue
            if o is _MISSING:
                out[k] = v
                continue
            if _same(v, o):
                continue
            change = _change(t, k, v, o)
            if change is _UNCHANGED:
                continue
            out[k if change is None else change[0]] = v if change is None else change[1]
        return out


_ALWAYS = frozenset({"type", "cycle", "time", "agent"})
_KEY_FIELDS = _ALWAYS | {"kind", "member"}
"""The fields every line of a ``ReasoningDelta`` carries as they are (its key, its type and time)."""
_SCALAR_TYPES = frozenset({float, int, bool, type(None)})
_UNCHANGED = ("", None)


def _change(t: str, k: str, v, o):
    """A container field ``k`` changed from ``o`` to ``v``: ``(name, value)`` (``~k``, ``|k``), or
    ``_UNCHANGED``, or None to write it whole."""
    tv = type(v)
    if k in _ROW_KEY and t in ("AccountUpdated", "CycleCompleted"):
        if tv in _SEQ_TYPES and type(o) in _SEQ_TYPES:
            return _rows_change(t, k, v, o)
        return None
    if tv is dict and type(o) is dict:
        if t == "MarketUpdated":
            cols = _table_columns(v, o)
            if cols is not None:
                return ("|" + k, cols) if cols else _UNCHANGED
        diff = _dict_change(v, o)
        if diff is None:
            return None
        return ("~" + k, diff) if diff else _UNCHANGED
    return None


def _text_changes(v: str, o: str):
    """A long text's change: ``("#", numbers)`` or ``("~", lines)``, the shorter; None: neither pays."""
    nums = _number_change(v, o)
    if nums is not None and 4 * nums[1] < len(v):
        return ("#", nums[0])
    ops = _text_change(v, o)
    if nums is not None and (ops is None or nums[1] <= ops[1]):
        return ("#", nums[0])
    return None if ops is None else ("~", ops[0])


_SPLIT_CACHE: dict[int, tuple[str, list[str]]] = {}


def _split_numbers(text: str) -> list[str]:
    """``_NUMBER.split(text)``, remembered for a while (a text is split as the new one, then as the
    old one of the next event of its key)."""
    hit = _SPLIT_CACHE.get(id(text))
    if hit is not None and hit[0] is text:
        return hit[1]
    parts = (_ASCII_NUMBER if text.isascii() else _NUMBER).split(text)
    if len(_SPLIT_CACHE) > 64:
        _SPLIT_CACHE.clear()
    _SPLIT_CACHE[id(text)] = (text, parts)
    return parts


def _number_change(new: str, old: str):
    """(ops, size): a text whose words are the old one's, only its numbers changed: per number of
    the old text, in order, the new one (text) or ``n`` (the next n unchanged; the last ones may be
    left out). None when more than numbers changed."""
    a, b = _split_numbers(new), _split_numbers(old)
    if len(a) != len(b) or a[0::2] != b[0::2]:
        return None
    ops: list = []
    run = size = 0
    for x, y in zip(a[1::2], b[1::2]):
        if x == y:
            run += 1
            continue
        if run:
            ops.append(run)
            size += 3
            run = 0
        ops.append(x)
        size += len(x) + 3
    return ops, size


def _rows_change(t: str, k: str, new, old):
    key = _ROW_KEY[k]
    try:
        nk = [r[key] for r in new]
        ok = [r[key] for r in old]
    except (KeyError, TypeError):
        return None
    if nk == ok and nk and all(type(r) is dict for r in new) and all(type(r) is dict for r in old):
        cols: dict = {}
        names = list(new[0])
        if all(list(r) == names for r in new):
            for name in names:
                if name != key:
                    col = _column(name, new, old)
                    if col is not None:
                        cols[name] = col
            return ("|" + k, cols) if cols else _UNCHANGED
    if not all(type(r) is dict and type(r.get(key)) is str for r in new):
        return None
    if len(set(nk)) != len(nk):
        return None
    om = _rows_by_key(old, key)
    dflt = _row_defaults(k, t)
    rows = []
    for r in new:
        base = om.get(r[key], dflt)
        item = {key: r[key]}
        for name, val in r.items():
            if name != key:
                b = base.get(name, _MISSING)
                if b is _MISSING or not _same(val, b):
                    item[name] = val
        rows.append(item)
    return ("~" + k, rows)


def _rows_by_key(rows, key: str) -> dict:
    """Rows by their key; none when the keys are not unique text (then each row is written whole)."""
    out = {}
    for r in rows:
        if type(r) is not dict:
            return {}
        k = r.get(key)
        if type(k) is not str or k in out:
            return {}
        out[k] = r
    return out


def _table_columns(new: dict, old: dict):
    """A table (an object of objects with the same keys in the same order, before and after) as its
    changed columns: {key: [the value of each row, in order]}."""
    if list(new) != list(old) or not new:
        return None
    rows, before = list(new.values()), list(old.values())
    if type(rows[0]) is not dict:
        return None
    names = list(rows[0])
    for a, b in zip(rows, before):
        if type(a) is not dict or type(b) is not dict or list(a) != names or list(b) != names:
            return None
    cols = {}
    for name, a, b in zip(names, zip(*[r.values() for r in rows]), zip(*[r.values() for r in before])):
        if a == b:
            if _written_alike(a, b):
                continue
            changed = [i for i, (x, y) in enumerate(zip(a, b)) if not _same(x, y)]
        elif all(map(_ne, a, b)) and list not in map(type, a) and tuple not in map(type, a):
            # every row changed (two values that differ are never ``_same``, but for a list and a tuple
            # of the same items): the whole column, as below
            cols[name] = list(a)
            continue
        else:
            changed = [i for i, (x, y) in enumerate(zip(a, b)) if not _same(x, y)]
        if changed:
            cols[name] = {str(i): a[i] for i in changed} if 3 * len(changed) <= len(a) else list(a)
    return cols


def _column(name: str, rows: list, before: list):
    """The new values of column ``name``: None when none changed, ``{"i": value}`` for the rows
    ``i`` (from 0) that changed when they are few, else every row's value."""
    new = [r[name] for r in rows]
    old = [r.get(name, _MISSING) for r in before]
    if new == old and _written_alike(new, old):
        return None
    changed = [i for i, (a, b) in enumerate(zip(new, old)) if not _same(a, b)]
    if not changed:
        return None
    if 3 * len(changed) <= len(rows):
        return {str(i): rows[i][name] for i in changed}
    return [r[name] for r in rows]


def _dict_change(new: dict, old: dict):
    """An object's change from ``old``: its new and changed keys (objects within as their own
    changes, an object of columns as rows), and ``"-"``: the keys removed. None when that cannot say
    it (a ``"-"`` key of its own, keys reordered, an object turned into a list)."""
    if _REMOVED in new or _REMOVED in old:
        return None
    out: dict = {}
    get = old.get
    for k, v in new.items():
        o = get(k, _MISSING)
        if o is v:
            continue
        if o is _MISSING:
            out[k] = v
            continue
        if type(o) is dict:
            if type(v) is dict:
                if v == o and _written_alike(v, o):  # (``_same`` of two objects)
                    continue
                rows = _column_rows(v, o)
                if rows is not None:
                    out[k] = rows
                    continue
                sub = _dict_change(v, o)
                if not sub:
                    return None
                out[k] = sub
                continue
            if type(v) is list:
                return None
        elif _same(v, o):
            continue
        out[k] = v
    keys = list(new)
    if keys == list(old):
        return out  # the common case: the same keys in the same order (none removed or reordered)
    removed = [k for k in old if k not in new]
    if removed:
        out[_REMOVED] = removed
    if [k for k in old if k in new] + [k for k in new if k not in old] != keys:
        return None  # the keys were reordered: a change (which keeps the old order) cannot say it
    return out


def _column_rows(new: dict, old: dict):
    """An object of equally long lists (and other values unchanged) as the rows of those lists:
    ``[[ts, open, high, low, close, volume], ...]``; None when it is not one."""
    if list not in map(type, old.values()) or len(new) != len(old):
        return None
    cols = []
    n = -1
    for (k, x), (j, y) in zip(new.items(), old.items()):
        if k != j:
            return None  # other keys, or in another order
        tx = type(x)
        if type(y) is list:
            if tx is not list:
                return None
            if n < 0:
                n = len(x)
            elif len(x) != n:
                return None
            cols.append(x)
        elif tx is list:
            return None
        elif not (x == y and (tx is int or tx is str) and type(y) is tx) and not _same(x, y):
            return None
    return list(map(list, zip(*cols)))


def _text_change(new: str, old: str):
    """A text's change from ``old``, line by line (both must have as many lines): ``n`` (the next n
    lines unchanged), ``[p, "mid", s]`` (the next line keeps its first p and last s characters, with
    "mid" between), or a whole line. None when that is not shorter than the text."""
    nl, ol = new.splitlines(True), old.splitlines(True)
    if len(nl) != len(ol):
        return None
    kept = _kept_ascii if new.isascii() and old.isascii() else _kept
    ops: list = []
    run = size = 0
    for a, b in zip(nl, ol):
        if a == b:
            run += 1
            continue
        if run:
            ops.append(run)
            run = 0
            size += 3
        p, s = kept(a, b)
        mid = a[p : len(a) - s]
        ops.append([p, mid, s] if p or s else mid)
        size += len(mid) + 12
    if run:
        ops.append(run)
    return (ops, size) if size < len(new) else None


def _kept(a: str, b: str) -> tuple[int, int]:
    """(p, s): the longest common prefix of two texts, then the longest common suffix of the rest
    (the two never overlap in the shorter text)."""
    m = min(len(a), len(b))
    p = 0
    while p < m and a[p] == b[p]:
        p += 1
    s = 0
    while s < m - p and a[-1 - s] == b[-1 - s]:
        s += 1
    return p, s


_from_bytes = int.from_bytes


def _kept_ascii(a: str, b: str) -> tuple[int, int]:
    """``_kept`` of two ASCII texts, without a Python step per character: the texts' bytes as big
    integers, XORed; the first differing byte is the highest set bit of that, the last the lowest."""
    ab, bb = a.encode("ascii"), b.encode("ascii")
    m = min(len(ab), len(bb))
    x = _from_bytes(ab[:m], "big") ^ _from_bytes(bb[:m], "big")
    if not x:
        return m, 0
    p = m - 1 - (x.bit_length() - 1) // 8
    k = m - p
    x = _from_bytes(ab[len(ab) - k :], "big") ^ _from_bytes(bb[len(bb) - k :], "big")
    return p, ((x & -x).bit_length() - 1) // 8 if x else k


# -- reading -----------------------------------------------------------------------------------------


class _Decoder:
    """Reads lines of a journal (their JSON objects) back into the events' JSON dicts, keeping the
    same ``_Context`` as the writer. ``compact``: the journal's schema is ``COMPACT_SCHEMA`` or newer;
    older lines are taken as they are. ``decode(obj)`` returns the dicts of the events a line holds
    (the repeated ones it names first); ``EventDecodeError`` says what is wrong with it."""

    def __init__(self, compact: bool, ctx: _Context | None = None) -> None:
        self.compact = compact
        self.ctx = ctx if ctx is not None else _Context()

    def decode(self, obj) -> list[dict]:
        if not self.compact:
            return [obj]
        events = self.ctx.events
        out = []
        for key, d, _ in self._decode(obj):
            events.pop(key, None)
            out.append(d)
        return out

    def events(self, obj) -> list[Event]:
        """The events a line holds, type-checked (``from_json``); an event repeated unchanged is a
        copy of the one before it (with this cycle's ``cycle`` and ``time``)."""
        if not self.compact:
            return [from_json(obj)]
        last = self.ctx.events
        out = []
        for key, d, pure in self._decode(obj):
            prev = last.get(key) if pure else None
            if prev is not None:
                e = object.__new__(type(prev))
                e.__dict__.update(prev.__dict__)
                e.__dict__["cycle"], e.__dict__["time"] = d["cycle"], d["time"]
            else:
                e = from_json(d)
            if key is not None:
                last[key] = e
            out.append(e)
        return out

    def _decode(self, obj) -> list[tuple]:
        """(key, JSON dict, repeated unchanged) of each event of a line, in order."""
        if type(obj) is not dict:
            raise EventDecodeError("the line is not a JSON object")
        t = obj.get("type")
        out: list[tuple] = []
        if _REPEAT in obj:
            self._repeats(obj[_REPEAT], t, out)
            obj = {k: v for k, v in obj.items() if k != _REPEAT}
        if type(t) is str and t in PER_CYCLE_TYPES:
            try:
                d, key = self._resolve(t, obj)
            except EventDecodeError:
                raise
            except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
                raise EventDecodeError(f"{t}: its changes do not apply to the previous {t} ({type(exc).__name__}: {exc})") from None
            if t == "CycleStarted":
                for k in ("cycle", "time"):
                    if type(d.get(k)) is not int:
                        raise EventDecodeError(f"CycleStarted: field {k!r} must be a whole number, not {_kind(d.get(k))}")
            self.ctx.note(t, key, d)
            out.append((key, d, False))
        else:
            out.append((None, obj, False))
        return out

    def _repeats(self, spec, t, out: list) -> None:
        ctx = self.ctx
        if not ctx.in_cycle or t == "CycleStarted":
            raise EventDecodeError("'^' repeats events of the previous cycle, but this line does not continue a cycle")
        if type(spec) is not list or not spec:
            raise EventDecodeError("'^' must be a list of event numbers of the previous cycle")
        prev = ctx.prev
        for item in spec:
            if type(item) is int:
                first, count = item, 1
            elif type(item) is list and len(item) == 2 and type(item[0]) is int and type(item[1]) is int and item[1] >= 1:
                first, count = item
            else:
                raise EventDecodeError(f"'^' holds {_kind(item)}, not an event number or [first, count] of the previous cycle")
            if first < 1 or first + count > len(prev):
                last = first + count - 1
                raise EventDecodeError(
                    f"'^' names event {first if first < 1 else last} of the previous cycle, which has events 1 to {len(prev) - 1} to repeat"
                )
            for i in range(first, first + count):
                key = prev[i]
                base = ctx.bases[key]
                t = base["type"]
                if t == "CycleCompleted":
                    raise EventDecodeError("'^' cannot repeat a CycleCompleted")
                predicted = _predict(t, base, ctx) if t in _PREDICTED else base
                d = dict(predicted)
                d["cycle"], d["time"] = ctx.cycle, ctx.time
                ctx.note(t, key, d)
                out.append((key, d, predicted is base))

    def _resolve(self, t: str, obj: dict):
        if t == "ReasoningDelta" or t in _AGENT_KEYED:
            for k in ("agent", "kind") if t == "ReasoningDelta" else ("agent",):
                v = obj.get(k, _MISSING)
                if v is _MISSING:
                    raise EventDecodeError(f"{t} lacks the field {k!r}")
                if type(v) is not str:
                    raise EventDecodeError(f"{t}: field {k!r} must be text, not {_kind(v)}")
            if t == "ReasoningDelta" and type(obj.get("member")) not in (str, type(None)):
                raise EventDecodeError(f"{t}: field 'member' must be text or null, not {_kind(obj.get('member'))}")
        key = _key(t, obj)
        base = self.ctx.bases.get(key)
        dflt = _defaults(t)
        base = dflt if base is None else (_predict(t, base, self.ctx) if t in _PREDICTED else base)
        d = dict(base)
        fields = _FIELDS[t]
        for k, v in obj.items():
            c = k[:1]
            if c != "~" and c != "|" and c != "#":
                d[k] = v
                continue
            name = k[1:]
            if name not in fields:
                raise EventDecodeError(f"{t} has unexpected fields [{k!r}]")
            o = base.get(name, _MISSING)
            if o is _MISSING:
                who = f" of {obj['agent']}" if "agent" in obj else ""
                raise EventDecodeError(f"{t}: field {k!r} changes the previous {t}{who}, but the journal holds none before it")
            d[name] = _apply(t, c, name, v, o)
        return d, key


def _kind(v) -> str:
    from arena_tui.engine.events import _json_kind

    return _json_kind(v)


def _apply(t: str, how: str, name: str, v, o):
    if how == "#":
        if type(o) is not str:
            raise EventDecodeError(f"{t}: field '#{name}' changes the numbers of a text, but the previous {name!r} is {_kind(o)}")
        return _apply_numbers(t, name, v, o)
    if name in _ROW_KEY and t in ("AccountUpdated", "CycleCompleted"):
        return _apply_rows(t, how, name, v, o)
    if how == "|":
        return _apply_table(t, name, v, o)
    if type(o) is str:
        return _apply_text(t, name, v, o)
    if type(o) is dict:
        return _apply_dict(v, o)
    raise EventDecodeError(f"{t}: field '~{name}' changes a value that cannot be changed that way ({_kind(o)})")


def _apply_rows(t: str, how: str, name: str, v, old):
    if type(old) not in _SEQ_TYPES:
        raise EventDecodeError(f"{t}: the previous {name!r} is not a list of rows")
    if how == "|":
        if type(v) is not dict:
            raise EventDecodeError(f"{t}: field '|{name}' must be an object of columns, not {_kind(v)}")
        rows = [dict(r) if type(r) is dict else r for r in old]
        for col, values in v.items():
            for r, x in _column_values(t, name, col, values, rows):
                if type(r) is dict:
                    r[col] = x
        return rows
    if type(v) is not list:
        raise EventDecodeError(f"{t}: field '~{name}' must be a list of rows, not {_kind(v)}")
    key = _ROW_KEY[name]
    om = _rows_by_key(old, key)
    dflt = _row_defaults(name, t)
    rows = []
    for item in v:
        if type(item) is not dict or type(item.get(key)) is not str:
            raise EventDecodeError(f"{t}: each row of '~{name}' must be an object with its {key!r} (text)")
        r = dict(om.get(item[key], dflt))
        r.update(item)
        rows.append(r)
    return rows


def _apply_table(t: str, name: str, v, old):
    if type(old) is not dict or any(type(r) is not dict for r in old.values()):
        raise EventDecodeError(f"{t}: the previous {name!r} is not an object of rows")
    if type(v) is not dict:
        raise EventDecodeError(f"{t}: field '|{name}' must be an object of columns, not {_kind(v)}")
    rows = {k: dict(r) for k, r in old.items()}
    table = list(rows.values())
    for col, values in v.items():
        for r, x in _column_values(t, name, col, values, table):
            r[col] = x
    return rows


def _column_values(t: str, name: str, col: str, values, rows: list):
    """(row, value) pairs of a column: a list (every row) or an object {"row number": value}."""
    if type(values) is list and len(values) == len(rows):
        return zip(rows, values)
    if type(values) is dict:
        out = []
        for i, x in values.items():
            if not (i.isdigit() and int(i) < len(rows)):
                raise EventDecodeError(f"{t}: column {col!r} of '|{name}' names row {i!r}, but there are {len(rows)} rows (from 0)")
            out.append((rows[int(i)], x))
        return out
    raise EventDecodeError(f"{t}: column {col!r} of '|{name}' must list one value for each of the {len(rows)} rows")


def _apply_dict(v, old: dict, depth: int = 0) -> dict:
    if type(v) is not dict:
        raise ValueError(f"an object's change must be an object, not {_kind(v)}")
    if depth > 16:
        raise ValueError("the changes nest too deeply")
    new = dict(old)
    removed = v.get(_REMOVED, _MISSING)
    if removed is not _MISSING:
        if type(removed) is not list or any(type(k) is not str or k not in old for k in removed):
            raise ValueError("'-' must list keys the previous object has")
        for k in removed:
            del new[k]
    for k, x in v.items():
        if k == _REMOVED:
            continue
        o = old.get(k, _MISSING)
        if type(o) is dict:
            if type(x) is dict:
                new[k] = _apply_dict(x, o, depth + 1)
                continue
            if type(x) is list:
                new[k] = _apply_column_rows(x, o)
                continue
        new[k] = x
    return new


def _apply_column_rows(rows, old: dict) -> dict:
    cols = [k for k, x in old.items() if type(x) is list]
    if not cols:
        raise ValueError("rows for an object that holds no lists")
    for r in rows:
        if type(r) is not list or len(r) != len(cols):
            raise ValueError(f"each row must list {len(cols)} values ({', '.join(cols)})")
    new = dict(old)
    if rows:
        for c, values in zip(cols, zip(*rows)):
            new[c] = list(values)
    else:
        for c in cols:
            new[c] = []
    return new


def _apply_numbers(t: str, name: str, ops, old: str) -> str:
    if type(ops) is not list:
        raise EventDecodeError(f"{t}: field '#{name}' must be a list of numbers, not {_kind(ops)}")
    parts = (_ASCII_NUMBER if old.isascii() else _NUMBER).split(old)
    n = len(parts) // 2
    i = 0
    for op in ops:
        if type(op) is int and op >= 1:
            i += op
        elif type(op) is str and i < n:
            parts[2 * i + 1] = op
            i += 1
        elif type(op) is str:
            i += 1
        else:
            raise EventDecodeError(f"{t}: field '#{name}' holds {_kind(op)}, not a number (text) or a count")
        if i > n:
            raise EventDecodeError(f"{t}: field '#{name}' changes more numbers than the previous text has ({n})")
    return "".join(parts)


def _apply_text(t: str, name: str, ops, old: str) -> str:
    if type(ops) is not list:
        raise EventDecodeError(f"{t}: field '~{name}' must be a list of line changes, not {_kind(ops)}")
    lines = old.splitlines(True)
    out: list[str] = []
    i = 0
    for op in ops:
        if type(op) is int:
            if op < 1 or i + op > len(lines):
                raise EventDecodeError(f"{t}: field '~{name}' keeps lines the previous text does not have")
            out += lines[i : i + op]
            i += op
            continue
        if i >= len(lines):
            raise EventDecodeError(f"{t}: field '~{name}' changes more lines than the previous text has")
        if type(op) is str:
            out.append(op)
        elif type(op) is list and len(op) == 3 and type(op[0]) is int and type(op[1]) is str and type(op[2]) is int:
            p, mid, s = op
            line = lines[i]
            if p < 0 or s < 0 or p + s > len(line):
                raise EventDecodeError(f"{t}: field '~{name}' keeps more of line {i + 1} than it has")
            out.append(line[:p] + mid + line[len(line) - s :])
        else:
            raise EventDecodeError(f"{t}: field '~{name}' holds {_kind(op)}, not a line change")
        i += 1
    if i != len(lines):
        raise EventDecodeError(f"{t}: field '~{name}' accounts for {i} of the previous text's {len(lines)} lines")
    return "".join(out)


assert HEADER_TYPE == SessionStarted.type_name


def _decode_problem(exc: BaseException) -> str:
    """What is wrong with a line that does not decode, in a few words."""
    if isinstance(exc, json.JSONDecodeError):
        msg = exc.msg.rstrip()  # (orjson's messages end in "at" already)
        return f"{msg.removesuffix(' at')} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"byte {exc.object[exc.start]:#04x} at byte {exc.start + 1} is not UTF-8 text"
    if isinstance(exc, RecursionError):
        return "its values nest too deeply"
    return " ".join(str(exc).split())[:300] or type(exc).__name__


class JournalStream:
    """A journal read one event at a time (``open_journal``); memory does not grow with its length.

    Opening reads and checks the header (``header``). Iterating yields the events after it, reading
    the file line by line. ``line`` is the line number of the last event yielded (the header's before
    any), ``offset`` the byte offset just past it (its newline included): the journal's intact
    prefix, which ``JournalWriter.append(path, truncate_at=offset)`` continues from. ``warnings``
    gains a sentence when a cut-off last line is dropped. Single pass; use it as a context manager (or
    iterate to the end) so the file is closed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        self.writing_warning: str | None = None
        """The one of ``warnings`` that says the last line is still being written by a running
        session (its writer holds the lock), if so: a reader that says so itself leaves it out."""
        self.line = 0
        self.offset = 0
        self.line_start = 0
        """The byte offset where the line of the last event yielded starts."""
        self._fh: IO[bytes] | None = open_for_reading(self.path)
        try:
            self.header = self._read_header()
        except BaseException:
            self._close_file()
            raise
        self.decoder = _Decoder(_schema(self.header) >= COMPACT_SCHEMA, _Context(self.header.starting_cash))
        """Reads the lines (its ``ctx``: the context after the last line read)."""
        self.track_cycles = False
        """Set it to keep ``cycle_context``: a copy of the reader's context just before the last
        ``CycleStarted`` line read (``replay`` starts reading there later)."""
        self.cycle_context: _Context | None = None
        self._events = self._read_events()

    def _read_header(self) -> SessionStarted:
        p, fh = self.path, self._fh
        assert fh is not None
        obj, lineno, pos = read_head(p, fh, _loads)  # (missing, empty, not a journal: journal_head)
        schema = obj.get("schema")
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            # checked before decoding: a newer header may well have fields this version lacks
            raise JournalError(
                f"session journal {p} uses schema {schema}, newer than this arena-tui understands ({SCHEMA_VERSION}); upgrade arena-tui."
            )
        try:
            header = from_json(obj)
        except EventDecodeError as exc:
            raise JournalError(f"session journal {p} line {lineno} is a corrupt session header ({_decode_problem(exc)}); it cannot be replayed.") from None
        assert isinstance(header, SessionStarted)
        self.line, self.offset = lineno, pos
        return header

    def _read_events(self) -> Iterator[Event]:
        p, fh = self.path, self._fh
        assert fh is not None
        lineno, pos = self.line, self.offset
        decoder = self.decoder
        decode = decoder.events
        try:
            for raw in fh:
                start = pos
                lineno += 1
                pos += len(raw)
                if raw.isspace():
                    continue
                if self.track_cycles and raw.startswith(_CYCLE_LINE):
                    self.cycle_context = decoder.ctx.copy()
                try:
                    events = decode(_loads(raw))
                except (ValueError, RecursionError) as exc:  # JSON, UTF-8 and EventDecodeError are ValueErrors
                    if not raw.endswith(b"\n"):  # the last line, cut off
                        if journal_in_use(Path(p)):  # a writer in the middle of this line
                            self.writing_warning = f"{p} line {lineno} is still being written by a running session; it was left out."
                            self.warnings.append(self.writing_warning)
                        else:
                            self.warnings.append(f"{p} line {lineno} was cut off (the session probably crashed while writing it); dropped it.")
                        return
                    detail = _decode_problem(exc)
                    raise JournalError(
                        f"session journal {p} line {lineno} is corrupt ({detail}); the lines before it are intact, so cut the file there to recover them."
                    ) from None
                self.line, self.offset, self.line_start = lineno, pos, start
                yield from events
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None
        finally:
            self._close_file()

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def _close_file(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()

    def close(self) -> None:
        events = getattr(self, "_events", None)
        if events is not None:
            events.close()
        self._close_file()

    def __enter__(self) -> JournalStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_CYCLE_LINE = b'{"type":"CycleStarted"'


def _schema(header: SessionStarted) -> int:
    return header.schema if type(header.schema) is int else 0


def open_journal(path: str | os.PathLike[str]) -> JournalStream:
    """Open a journal for streaming: checks the header now (``JournalError``, one sentence, when the
    file is missing, empty, not a journal or from a newer arena-tui), yields events when iterated."""
    return JournalStream(path)


@dataclass
class JournalContents:
    """A journal read back: the header, every event after it, and warnings (e.g. a dropped
    truncated last line). ``offset``: the byte offset where the intact events end (see
    ``JournalStream.offset``)."""

    path: Path
    header: SessionStarted
    events: list[Event]
    warnings: list[str] = field(default_factory=list)
    offset: int = 0


def with_progress(stream: JournalStream, progress: Callable[[int], None] | None, every: int = 2000) -> Iterator[Event]:
    """The events of ``stream``, calling ``progress(offset)`` (bytes of the file read so far) every
    ``every`` events and once at the end: for a progress bar over a long journal (``progress`` None:
    the events alone)."""
    if progress is None:
        yield from stream
        return
    n = 0
    for event in stream:
        yield event
        n += 1
        if n % every == 0:
            progress(stream.offset)
    progress(stream.offset)


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Read a whole journal into memory (small journals, tests); raises ``JournalError`` (one sentence
    with file and line) when it cannot. Large ones: iterate ``open_journal``."""
    with open_journal(path) as stream:
        events = list(stream)
    return JournalContents(stream.path, stream.header, events, stream.warnings, stream.offset)


# --- writing --------------------------------------------------------------------------------------


class _Busy(Exception):
    def __init__(self, pid: int | None) -> None:
        super().__init__(pid)
        self.pid = pid


def _busy_error(p: Path, pid: int | None) -> JournalError:
    if pid == os.getpid():
        return JournalError(f"session journal {p} is already being written by this arena-tui process (pid {pid}); close that writer first.")
    who = f"another arena-tui process (pid {pid})" if pid else "another arena-tui process"
    return JournalError(f"session journal {p} is being written by {who}; wait for it to end, or replay it read-only with --replay {p}.")


def check_new_journal_path(path: str | os.PathLike[str]) -> None:
    """Raise ``JournalError`` (one sentence) when ``path`` is taken: a new session never writes into an
    existing file. ``JournalWriter.create`` checks again, atomically, when it creates the file."""
    p = Path(path)
    if p.exists() or p.is_symlink():
        raise _exists_error(p)


def _exists_error(p: Path) -> JournalError:
    if p.is_dir():
        return JournalError(f"{p} is a directory; --journal needs a file path.")
    return JournalError(
        f"session journal {p} already exists; arena-tui never writes into an existing file: pick another --journal path, or continue that session with --resume {p}."
    )


def journal_in_use(journal: Path) -> bool:
    """Whether a process is writing ``journal`` now: its ``<journal>.lock`` exists, names a live
    process, and that process holds the lock (probed with a shared, non-blocking ``flock`` that is let
    go at once; only when the pid lives, so a writer starting this very moment is almost never in the
    way). A writer removes the lock file as it ends; a crashed one leaves it, with a dead pid.
    Never raises (a path with no file name, a lock file of garbage: not in use)."""
    try:
        lp = journal.with_name(journal.name + ".lock")
        fd = os.open(lp, os.O_RDONLY)
    except (OSError, ValueError):
        return False
    try:
        try:
            pid = int(os.read(fd, 32).decode("ascii").strip() or 0)
        except (OSError, ValueError, UnicodeDecodeError):
            pid = 0
        if pid > 0 and not _alive(pid):
            return False
        if fcntl is None:
            return pid > 0
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            return exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):  # (no such process; a pid no process can have)
        return False
    except (PermissionError, OSError):
        return True  # exists, someone else's
    return True


class _Lock:
    """An exclusive ``flock`` on ``<journal>.lock``, which holds the owner's pid (for messages only)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @staticmethod
    def acquire(journal: Path) -> _Lock | None:
        """The lock, or None where there is no ``flock``; raises ``_Busy`` when another writer holds it."""
        if fcntl is None:
            return None
        lp = journal.with_name(journal.name + ".lock")
        while True:
            try:
                fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise JournalError(f"the lock file {lp} of session journal {journal} cannot be opened ({exc.strerror}); check that its folder is writable.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    pid = _read_pid(fd)
                    os.close(fd)
                    raise _Busy(pid) from None
                os.close(fd)
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    return None  # a file system without locks: write unlocked, as on Windows
                raise JournalError(f"the lock file {lp} of session journal {journal} cannot be locked ({exc.strerror}).") from None
            # The previous holder unlinks the file before it lets go: if we locked a file that is no
            # longer at lp, another process may be locking the new one; start over.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lp))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # the pid only improves the message another process shows
            return _Lock(lp, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it (see acquire)
        except OSError:
            pass
        finally:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode("ascii").strip()) or None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _release(lock: _Lock | None) -> None:
    if lock is not None:
        lock.release()


def _fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (POSIX; nothing to do or possible elsewhere)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _save_tail(p: Path, fh: IO[bytes], start: int, end: int) -> Path:
    """Copy bytes ``start:end`` of the journal open as ``fh`` to a new ``<journal>.cut-<UTC time>``
    file (``-2``, ``-3``, ... when taken) and fsync it; returns its path."""
    base = f"{p.name}.cut-{_utc_stamp()}"
    for n in itertools.count(1):
        side = p.with_name(base if n == 1 else f"{base}-{n}")
        try:
            fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise JournalError(
                f"session journal {p} ends with {end - start} bytes to cut off, but they cannot be saved to {side} ({exc.strerror}); nothing was changed."
            ) from None
        try:
            with open(fd, "wb") as out:
                fh.seek(start)
                left = end - start
                while left > 0:
                    chunk = fh.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    out.write(chunk)
                    left -= len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            try:
                side.unlink()
            except OSError:
                pass
            raise JournalError(
                f"session journal {p} ends with {end - start} bytes to cut off, but they cannot be saved to {side} ({exc.strerror or exc}); nothing was changed."
            ) from None
        _fsync_dir(p.parent)
        return side
    raise AssertionError("unreachable")


def _byte_at(fh: IO[bytes], pos: int) -> bytes:
    fh.seek(pos)
    return fh.read(1)


def _last_line_start(fh: IO[bytes], size: int) -> int:
    """The offset just past the last newline before ``size`` (0 when there is none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        fh.seek(start)
        idx = fh.read(pos - start).rfind(b"\n")
        if idx >= 0:
            return start + idx + 1
        pos = start
    return 0


def _encoder_continuing(p: Path) -> _Encoder:
    """The encoder that continues the journal at ``p`` (its context rebuilt by reading it whole)."""
    try:
        stream = JournalStream(p)
    except JournalError:
        return _Encoder(compact=False)  # no header to read (an old caller's file): whole lines
    with stream:
        dec = stream.decoder
        if not dec.compact:
            return _Encoder(compact=False)
        fh = stream._fh
        assert fh is not None
        lineno = stream.line
        try:
            for raw in fh:
                lineno += 1
                if raw.isspace():
                    continue
                try:
                    dec.decode(_loads(raw))
                except (ValueError, RecursionError) as exc:
                    raise JournalError(
                        f"session journal {p} cannot be continued: line {lineno} is corrupt ({_decode_problem(exc)})."
                    ) from None
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None
        return _Encoder(compact=True, ctx=dec.ctx)


class JournalWriteError(JournalError):
    """The journal cannot be written any more (a full disk, a quota, an I/O error): the session must
    stop. The journal ends at its last whole line, so it can be resumed once the cause is fixed."""


_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), getattr(errno, "EFBIG", errno.ENOSPC)}


def _write_failure(p: Path, exc: OSError, last_cycle: int) -> JournalWriteError:
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    where = f"after cycle {last_cycle}" if last_cycle > 0 else "before its first cycle was complete"
    if exc.errno in _NO_SPACE:
        advice = f"free some space and continue it with --resume {p}"
    else:
        advice = f"once the disk is writable again, continue it with --resume {p}"
    return JournalWriteError(f"cannot write session journal {p}: {reason}; the session stopped {where}; {advice}.")


class JournalWriter:
    """Writes one session's journal, holding its lock until ``close()``. Make one with ``create``,
    ``create_unique`` (new sessions) or ``append`` (``--resume``).

    ``lines_written``/``bytes_written`` count what this writer wrote; ``offset`` is the file's size so
    far. After ``append``, ``cut_path`` is where bytes cut off the end were saved (None if none were).

    Write failures: an ``OSError`` while writing, flushing or syncing (a full disk, a quota, an I/O
    error) cuts a half-written line off again, closes the file, lets go of the lock and raises
    ``JournalWriteError`` (one sentence: what failed, the last whole cycle, ``--resume``); ``error``
    keeps it, and every later ``write``/``sync`` raises it again, so a session cannot run on without
    its journal. ``close`` after a failure does nothing. ``last_cycle``: the last cycle whose
    ``CycleCompleted`` was written whole (a resuming caller sets where the journal left off)."""

    path: Path
    lines_written: int
    bytes_written: int
    cut_path: Path | None
    error: JournalWriteError | None
    last_cycle: int
    _fh: IO[bytes] | None
    _lock: _Lock | None
    _start: int

    def __init__(self, path: str | os.PathLike[str], header: SessionStarted | None = None) -> None:
        """Deprecated, for old callers: ``create(path, header)`` when a header is given (so an
        existing file is refused), else ``append(path)``."""
        made = type(self).create(path, header) if header is not None else type(self).append(path)
        self.__dict__.update(made.__dict__)
        made.__dict__.clear()

    @classmethod
    def _attach(cls, path: Path, fh: IO[bytes], lock: _Lock | None, size: int) -> JournalWriter:
        w = cls.__new__(cls)
        w.path = path
        w._fh = fh
        w._lock = lock
        w._start = size
        w.lines_written = 0
        w.bytes_written = 0
        w.cut_path = None
        w.error = None
        w.last_cycle = 0
        w._enc = _Encoder(compact=False)
        return w

    # -- making one ----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], header: SessionStarted) -> JournalWriter:
        """A new journal at ``path`` (parent folders made) holding ``header``, written and fsynced.
        ``JournalError`` when anything (a journal, any other file, a folder) is at ``path`` already,
        or another process holds its lock."""
        w = cls._create(Path(path), header, unique=False)
        assert w is not None
        return w

    @classmethod
    def create_unique(
        cls, directory: str | os.PathLike[str], name: str, header: SessionStarted, now: datetime | None = None
    ) -> JournalWriter:
        """A new journal in ``directory`` named ``session_file_name(name, now)``, or when that is
        taken (two sessions started in one second) ``<stem>-2.jsonl``, ``<stem>-3.jsonl``, ...: each
        claimed atomically, so two processes never get the same file."""
        d = Path(directory)
        stem = session_file_name(name, now).removesuffix(".jsonl")
        for n in range(1, 100_000):
            w = cls._create(d / (f"{stem}.jsonl" if n == 1 else f"{stem}-{n}.jsonl"), header, unique=True)
            if w is not None:
                return w
        raise JournalError(f"{d} already holds {n} session journals named {stem}*.jsonl; pick another session name.")

    @classmethod
    def _create(cls, p: Path, header: SessionStarted, *, unique: bool) -> JournalWriter | None:
        """``create``; with ``unique`` None (instead of ``JournalError``) when the name is taken."""
        if not isinstance(header, SessionStarted):
            raise TypeError(f"a journal starts with a SessionStarted header, not {type(header).__name__}")
        if os.path.lexists(p):  # the common refusal, without touching anything
            if unique:
                return None
            raise _exists_error(p)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be created: its folder cannot be made ({exc.strerror}).") from None
        try:
            lock = _Lock.acquire(p)
        except _Busy as busy:
            if unique:
                return None
            raise _busy_error(p, busy.pid) from None
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | _O_BINARY, 0o644)
        except FileExistsError:  # created since the check above
            _release(lock)
            if unique:
                return None
            raise _exists_error(p) from None
        except OSError as exc:
            _release(lock)
            raise JournalError(f"session journal {p} cannot be created ({exc.strerror}).") from None
        w = cls._attach(p, open(fd, "ab", buffering=0), lock, 0)
        w._enc = _Encoder(compact=_schema(header) >= COMPACT_SCHEMA)
        try:
            w.write(header)
            w.sync()
        except (OSError, JournalWriteError) as exc:
            w._abandon()
            try:
                p.unlink()  # ours alone (O_EXCL), holding at most part of the header
            except OSError:
                pass
            cause = exc.__cause__ if isinstance(exc, JournalWriteError) else exc
            strerror = getattr(cause, "strerror", None) or str(cause)
            raise JournalError(f"session journal {p} cannot be written ({strerror}); nothing was recorded.") from None
        _fsync_dir(p.parent)
        return w

    @classmethod
    def append(cls, path: str | os.PathLike[str], *, truncate_at: int | None = None) -> JournalWriter:
        """Continue the journal at ``path`` (``--resume``).

        ``truncate_at``: the byte offset where the part the caller read ends (``JournalStream.offset``
        or ``JournalContents.offset``); anything after it (events written since, a cut-off line) is
        moved to ``<path>.cut-<UTC time>`` and the journal truncated there. Without it, only a cut-off
        last line (no newline) is moved there. ``JournalError`` when the file is missing, has no
        complete header line, shrank below ``truncate_at``, or another process holds its lock."""
        p = Path(path)
        if truncate_at is not None and truncate_at < 0:
            raise ValueError(f"truncate_at must be a byte offset, not {truncate_at}")
        if p.is_dir():
            raise JournalError(f"{p} is a directory; --resume needs a session journal file.")
        if not p.exists():
            raise missing_journal(p)
        try:
            lock = _Lock.acquire(p)
        except _Busy as busy:
            raise _busy_error(p, busy.pid) from None
        try:
            try:
                size, cut = cls._cut_tail(p, truncate_at)
            except OSError as exc:  # a full disk while saving the cut-off part, an I/O error
                raise JournalError(f"session journal {p} cannot be prepared for resuming ({exc.strerror or exc}); nothing was appended.") from None
            enc = _encoder_continuing(p)
            try:
                fd = os.open(p, os.O_WRONLY | os.O_APPEND | _O_BINARY)
            except OSError as exc:
                raise JournalError(f"session journal {p} cannot be opened for writing ({exc.strerror}).") from None
        except BaseException:
            _release(lock)
            raise
        w = cls._attach(p, open(fd, "ab", buffering=0), lock, size)
        w._enc = enc
        w.cut_path = cut
        return w

    @staticmethod
    def _cut_tail(p: Path, truncate_at: int | None) -> tuple[int, Path | None]:
        """Cut the journal as ``append`` says; returns its new size and the sidecar (or None)."""
        try:
            fh = open(p, "r+b")
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be opened for writing ({exc.strerror}).") from None
        with fh:
            size = fh.seek(0, os.SEEK_END)
            if truncate_at is not None and truncate_at > size:
                raise JournalError(
                    f"session journal {p} is shorter ({size} bytes) than when it was read ({truncate_at} bytes), so it changed meanwhile; read it again before resuming."
                )
            if truncate_at is not None and truncate_at < size:
                if truncate_at == 0 or _byte_at(fh, truncate_at - 1) != b"\n":
                    raise ValueError(f"truncate_at={truncate_at} is not the end of a line of {p}")
                keep = truncate_at
            elif size == 0 or _byte_at(fh, size - 1) == b"\n":
                keep = size
            elif truncate_at == size:
                # the reader took the last line, complete but for its newline, as an event: end it
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n")
                fh.flush()
                os.fsync(fh.fileno())
                return size + 1, None
            else:
                keep = _last_line_start(fh, size)  # a line cut off by a crash
            if keep == 0:
                raise JournalError(f"session journal {p} has no complete session header to continue from; start a new session instead.")
            if keep == size:
                return size, None
            side = _save_tail(p, fh, keep, size)
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
            return keep, side

    # -- writing -------------------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """The journal's size in bytes so far: the end of the last line written."""
        return self._start + self.bytes_written

    def write(self, event: Event) -> None:
        """Append one event and hand it to the OS (the file is unbuffered: one ``write`` a line). An
        event identical to the previous cycle's is held until the next line, which names it."""
        fh = self._fh
        if fh is None:
            if self.error is not None:
                raise self.error
            return
        lines = self._enc.encode(event.to_json())
        if not lines:
            return  # held: the next line written names it (see the module docstring)
        self._write_lines(lines)
        if type(event) is CycleCompleted:
            self.last_cycle = event.cycle

    def _write_lines(self, lines: list[bytes]) -> None:
        fh = self._fh
        assert fh is not None
        data = b"\n".join(lines) + b"\n"
        try:
            n = fh.write(data)
            if n is not None and n < len(data):  # a short write: the disk is nearly full
                view = memoryview(data)
                while n < len(data):
                    more = fh.write(view[n:])
                    if not more:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    n += more
            fh.flush()
        except OSError as exc:
            raise self._fail(exc) from exc
        self.lines_written += len(lines)
        self.bytes_written += len(data)

    def sync(self) -> None:
        """fsync: the cycle's events are on disk."""
        fh = self._fh
        if fh is None:
            if self.error is not None:
                raise self.error
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as exc:
            raise self._fail(exc) from exc

    def _fail(self, exc: OSError) -> JournalWriteError:
        """After a failed write or sync: cut the journal back to its last whole line (best effort: a
        resume cuts a partial last line anyway), close it, let go of the lock; the error to raise."""
        self.error = _write_failure(self.path, exc, self.last_cycle)
        fh = self._fh
        if fh is not None:
            try:
                fd = fh.fileno()
                if os.fstat(fd).st_size > self.offset:
                    os.ftruncate(fd, self.offset)
                os.fsync(fd)
            except (OSError, ValueError):
                pass
        try:
            self._abandon()
        except OSError:
            pass
        return self.error

    def close(self) -> None:
        """Sync, close and let go of the lock (its file is deleted). Closing twice, or after a write
        failure, does nothing."""
        if self._fh is None:
            return
        try:
            held = self._enc.flush()
            if held:
                self._write_lines(held)
            self.sync()
        finally:
            self._abandon()

    def _abandon(self) -> None:
        fh, self._fh = self._fh, None
        lock, self._lock = self._lock, None
        try:
            if fh is not None:
                try:
                    fh.close()
                except OSError:
                    pass  # unbuffered: nothing is lost; a failed close (NFS) was reported by fsync
        finally:
            _release(lock)

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DeltaCoalescer:
    """Merges consecutive ``ReasoningDelta`` pieces of one agent (and swarm member) and kind into
    chunks of about ``window_ms`` (default 100 ms of stream time, by ``offset_ms``) before they reach
    ``emit``.

    ``add`` may emit the previous chunk of its agent and member; ``flush(agent)`` emits what is
    pending of the agent, every member's (call it when the agent finishes). Text is never lost or
    reordered per agent and member (a swarm's members' concurrent streams are chunked apart).
    """

    def __init__(self, emit: Callable[[Event], None], window_ms: float = 100.0) -> None:
        self._emit = emit
        self._window = window_ms
        # (agent, member) -> (first delta of the chunk, the texts that follow it)
        self._pending: dict[tuple[str, str | None], tuple[ReasoningDelta, list[str]]] = {}

    def add(self, delta: ReasoningDelta) -> None:
        key = (delta.agent, delta.member)
        cur = self._pending.get(key)
        if cur is not None:
            first, texts = cur
            if first.kind == delta.kind and delta.offset_ms - first.offset_ms < self._window:
                texts.append(delta.text)
                return
            self._emit_chunk(first, texts)
        self._pending[key] = (delta, [])

    def _emit_chunk(self, first: ReasoningDelta, texts: list[str]) -> None:
        if texts:
            first = ReasoningDelta(first.cycle, first.time, first.agent, first.kind, first.text + "".join(texts), first.offset_ms, first.member)
        self._emit(first)

    def flush(self, agent: str | None = None) -> None:
        keys = [k for k in self._pending if agent is None or k[0] == agent]
        for k in keys:
            cur = self._pending.pop(k, None)
            if cur is not None:
                self._emit_chunk(*cur)


# --- every event whole (for jq, for tests) ---------------------------------------------------------


def expanded_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """The journal at ``path`` with every event on a line of its own, whole (every field), the
    header first: what a schema-3 journal holds, and valid journal lines (without a newline)."""
    with open_journal(path) as stream:
        yield dumps(stream.header)
        for event in stream:
            yield dumps(event)


def _main(argv: list[str]) -> int:
    """``python -m arena_tui.engine.journal FILE``: print the journal with every event whole."""
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m arena_tui.engine.journal FILE  (prints every event of a journal whole, one a line)", file=sys.stderr)
        return 2
    try:
        out = sys.stdout
        for line in expanded_lines(argv[0]):
            out.write(line)
            out.write("\n")
    except JournalError as exc:
        print(f"arena-tui: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # | head
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
