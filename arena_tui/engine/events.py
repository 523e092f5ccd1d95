"""Engine events: the only thing the screen and the journal see.

Every event is a frozen dataclass carrying ``cycle`` (0 before the first cycle) and ``time`` (the
simulated or live clock, ms since the epoch, UTC). ``to_json`` gives a plain dict with a ``"type"`` key;
``from_json`` turns such a dict back into the same event (floats round-trip exactly through JSON).
Money is USD, quantities are in the base coin, ``side`` is +1 long / -1 short, rates are fractions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

SCHEMA_VERSION = 6
"""2: ``MarketData`` (the market each cycle saw), ``AgentReplied`` for every answer with its text and
failure, typed position and leaderboard rows, no ``metrics`` on ``AccountUpdated``. 3: the
leaderboard's Sharpe ratio is over hourly returns (schema 2: per-cycle returns annualised by the
cycle interval, which re-execution of a schema-2 journal still uses); ``AgentReplied`` has
``reasoning_tokens`` and ``cached_input_tokens``. 4: the same events, journaled compactly (a
per-cycle event as its changes from the one before it, an event repeated unchanged named by the
next line: ``journal``); schema 3 and older journals hold every field on every line and still read.
5: ``AgentFellBack`` (an agent's primary model failed and its fallback answered) and
``AgentReplied.answered_by``; ``SwarmVoted`` (a swarm's members' calls and their vote) and
``ReasoningDelta.member`` (which member of a swarm streamed the text); ``AgentReplied.cached`` (the
answer came from the answer cache: no call, no cost); the header's agents may name their prompt
templates (``prompt``, a label, and ``prompt_sha256``, the templates' SHA-256: ``prompt.PromptTemplates``);
a live market's order book per coin: ``MarketData`` ``order_book`` (``{"bid", "ask", "bid_depth",
"ask_depth"}``, a primary input) and the ``MarketUpdated`` row's ``spread_bp``, ``bid_depth``,
``ask_depth``, ``imbalance``, both only where a book was read (a recorded market's journal has
neither, as before). 6: a leaderboard row carries its agent's session totals of usage and cost
(``input_tokens``, ``output_tokens``, ``reasoning_tokens``, ``cached_input_tokens``, ``cost_usd``),
so re-execution checks the tokens and cost a user reads against the replies' (schema 5 and older rows
hold none, and re-executing them recomputes none: ``USAGE_TOTALS_SCHEMA``)."""
LEGACY_SHARPE_SCHEMA = 2
"""Journals of this schema (and older) ranked with the per-cycle Sharpe ratio."""
ROUNDED_CHANGE_SCHEMA = 4
"""Journals of this schema (and newer) carry a market row's ``change_pct`` to 6 decimals (older
ones: unrounded, which re-executing them reproduces)."""
USAGE_TOTALS_SCHEMA = 6
"""Journals of this schema (and newer) carry each agent's usage and cost totals in its leaderboard row
(older ones: none, 0 in every row, which re-executing them reproduces)."""

_REGISTRY: dict[str, type["Event"]] = {}


@dataclass(frozen=True)
class Event:
    """Base of all events."""

    cycle: int
    time: int

    type_name: ClassVar[str] = "Event"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__name__
        _REGISTRY[cls.__name__] = cls

    rows: ClassVar[dict[str, type]] = {}
    """Fields holding a tuple of typed rows (frozen dataclasses), by field name: written as a JSON
    array of objects and read back as the same rows."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"type": <class name>, <fields>...}``."""
        out: dict[str, Any] = {"type": self.type_name}
        out.update(self.__dict__)  # tuples serialise as JSON arrays; nested values are plain already
        for name in self.rows:
            out[name] = [r.__dict__ for r in out[name]]
        return out


class EventDecodeError(ValueError):
    """A JSON object is not a known event (unknown type, missing or unexpected fields, a field of the
    wrong type); ``str(err)`` names the event type and the field."""


# --- decoding: each field's type is checked against the class's annotation ------------------------

_NONE = type(None)
_INT = frozenset({int})
_NUM = frozenset({float, int})  # exact types: a bool is not a number in a journal
_STR = frozenset({str})
_BOOL = frozenset({bool})
_OPT_NUM = frozenset({float, int, _NONE})
_OPT_STR = frozenset({str, _NONE})
_DICT = frozenset({dict})
_SEQ = frozenset({list, tuple})

_ANNOTATIONS: dict[str, frozenset] = {
    "int": _INT,
    "float": _NUM,
    "str": _STR,
    "bool": _BOOL,
    "float | None": _OPT_NUM,
    "str | None": _OPT_STR,
    "dict": _DICT,
    "tuple[str, ...] | list[str]": _SEQ,
    "tuple[dict, ...] | list[dict]": _SEQ,
    "tuple[LeaderboardRow, ...]": _SEQ,
    "tuple[PositionRow, ...]": _SEQ,
}
"""The annotations event and row fields use, and the JSON value types each accepts. A field with any
other annotation is a programming error, caught when the class is first decoded (and by the tests)."""

_ELEMENTS: dict[str, frozenset] = {"tuple[str, ...] | list[str]": _STR, "tuple[dict, ...] | list[dict]": _DICT}
"""Sequence annotations whose elements are checked too (rows are decoded by ``_rows``)."""

_WANTED = {_INT: "a whole number", _NUM: "a number", _STR: "text", _BOOL: "true or false", _OPT_NUM: "a number or null",
           _OPT_STR: "text or null", _DICT: "an object", _SEQ: "a list"}


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (int, float)):
        return repr(v)[:24]
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, Mapping):
        return "an object"
    return type(v).__name__


def _wrong(where: str, name: str, wanted: str, v: Any) -> EventDecodeError:
    return EventDecodeError(f"{where}: field {name!r} must be {wanted}, not {_json_kind(v)}")


class _Spec:
    """How one event or row class is decoded: ``names`` its fields in order, ``checks`` (name,
    accepted types) for each, ``required`` the fields without a default, ``deep`` (name, element
    types) for sequences whose elements are checked, ``rows`` (name, row class) and ``extra`` a
    per-class check of nested values (or None)."""

    __slots__ = ("cls", "names", "checks", "required", "deep", "rows", "extra", "slow")

    def __init__(self, cls: type) -> None:
        fields = dataclasses.fields(cls)
        self.cls = cls
        self.names = tuple(f.name for f in fields)
        checks = []
        for f in fields:
            ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", repr(f.type))
            if ann not in _ANNOTATIONS:
                raise TypeError(f"events: no decoding rule for {cls.__name__}.{f.name}: {ann}")
            checks.append((f.name, _ANNOTATIONS[ann]))
        self.checks = tuple(checks)
        self.required = frozenset(
            f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
        )
        self.deep = tuple((f.name, _ELEMENTS[f.type]) for f in fields if f.type in _ELEMENTS)
        rows = getattr(cls, "rows", None) or {}
        self.rows = tuple((n, _spec(r)) for n, r in rows.items())
        self.extra = _EXTRA_CHECKS.get(cls.__name__)
        self.slow = bool(self.deep or self.rows or self.extra)


_SPECS: dict[type, _Spec] = {}
_FAST: dict[str, tuple] = {}
"""Event type name -> (class, its checks, fields + 1, its ``_Spec`` when nested values need checking)."""


def _spec(cls: type) -> _Spec:
    s = _SPECS.get(cls)
    if s is None:
        s = _SPECS[cls] = _Spec(cls)
    return s


def from_json(obj: Mapping[str, Any]) -> Event:
    """The event a ``to_json`` dict describes; raises ``EventDecodeError`` naming what is wrong: an
    unknown type, a missing or unexpected field, or a field whose JSON type does not match the
    annotation (``"AccountUpdated: field 'cash' must be a number, not text"``)."""
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise EventDecodeError("the line is not a JSON object")
    name = obj.get("type")
    fast = _FAST.get(name) if type(name) is str else None
    if fast is None:
        cls = _REGISTRY.get(name) if isinstance(name, str) else None
        if cls is None:
            raise EventDecodeError(f"unknown event type {_short(name)}")
        spec = _spec(cls)
        fast = _FAST[name] = (cls, spec.checks, len(spec.names) + 1, spec if spec.slow else None)
    cls, checks, width, deep = fast
    event = object.__new__(cls)
    d = event.__dict__
    if len(obj) == width:
        # fast path (every journal line written by this version): one type test per field
        try:
            for n, ok in checks:
                v = obj[n]
                if type(v) not in ok:
                    raise _wrong(name, n, _WANTED[ok], v)
                d[n] = tuple(v) if type(v) is list else v
        except KeyError:
            d.clear()
        else:
            if deep is not None:
                _deep(deep, d)
            return event
    spec = _spec(cls)
    unexpected = [k for k in obj if k != "type" and k not in spec.names]
    if unexpected:
        raise EventDecodeError(f"{name} has unexpected fields {sorted(map(str, unexpected))}")
    missing = [n for n in spec.names if n in spec.required and n not in obj]
    if missing:
        raise EventDecodeError(f"{name} lacks the field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    for f in dataclasses.fields(cls):
        if f.name not in obj:
            d[f.name] = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    for n, ok in spec.checks:
        if n in obj:
            v = obj[n]
            if type(v) not in ok:
                raise _wrong(name, n, _WANTED[ok], v)
            d[n] = tuple(v) if isinstance(v, list) else v
    if spec.slow:
        _deep(spec, d)
    return event


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _deep(spec: _Spec, d: dict) -> None:
    """Check the elements of ``spec.deep`` sequences, decode ``spec.rows`` and run ``spec.extra``."""
    where = spec.cls.__name__
    for n, ok in spec.deep:
        for i, v in enumerate(d[n]):
            if type(v) not in ok:
                raise EventDecodeError(f"{where}: field {n!r} item {i + 1} must be {_WANTED[ok]}, not {_json_kind(v)}")
    for n, row_spec in spec.rows:
        d[n] = tuple(_row(where, n, row_spec, r) for r in d[n])
    if spec.extra is not None:
        spec.extra(d)


def _row(where: str, field_name: str, spec: _Spec, r: Any) -> Any:
    """One row (``LeaderboardRow``, ``PositionRow``) from its JSON object, its fields type-checked."""
    if isinstance(r, spec.cls):
        return r
    if type(r) is not dict:
        raise EventDecodeError(f"{where}: field {field_name!r} must be a list of objects, not a list of {_json_kind(r)}")
    row = object.__new__(spec.cls)
    d = row.__dict__
    label = f"{where} {field_name}"
    if len(r) != len(spec.names):
        unexpected = [k for k in r if k not in spec.names]
        if unexpected:
            raise EventDecodeError(f"{label}: a row has unexpected fields {sorted(map(str, unexpected))}")
        missing = [n for n in spec.names if n in spec.required and n not in r]
        if missing:
            raise EventDecodeError(f"{label}: a row lacks the field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
        for f in dataclasses.fields(spec.cls):
            if f.name not in r:
                d[f.name] = f.default
    for n, ok in spec.checks:
        if n in r:
            v = r[n]
            if type(v) not in ok:
                raise _wrong(label, n, _WANTED[ok], v)
            d[n] = v
    return row


def _check_header(d: dict) -> None:
    agents = d["agents"]
    if not agents:
        raise EventDecodeError("SessionStarted: field 'agents' lists no agent")
    seen: set[str] = set()
    for i, a in enumerate(agents, start=1):
        name = a.get("name")
        if type(name) is not str or not name:
            raise EventDecodeError(f"SessionStarted: agent {i} must have a name (text), not {_json_kind(name)}")
        if name in seen:
            raise EventDecodeError(f"SessionStarted: the agent name {_short(name)} appears twice")
        seen.add(name)
        for key in ("kind", "model"):
            if type(a.get(key)) not in _OPT_STR:
                raise EventDecodeError(f"SessionStarted: agent {_short(name)} {key} must be text, not {_json_kind(a.get(key))}")


def _check_market_rows(d: dict) -> None:
    for coin, row in d["coins"].items():
        if type(row) is not dict:
            raise EventDecodeError(f"MarketUpdated: the row of {_short(coin)} must be an object, not {_json_kind(row)}")
        for k, v in row.items():
            if type(v) not in _OPT_NUM:
                raise EventDecodeError(f"MarketUpdated: {coin} {k} must be a number or null, not {_json_kind(v)}")


def _check_market_data(d: dict) -> None:
    for coin, row in d["coins"].items():
        if type(row) is not dict:
            raise EventDecodeError(f"MarketData: the data of {_short(coin)} must be an object, not {_json_kind(row)}")


_DECISION_NUMBERS = ("quantity", "leverage", "stop_loss", "profit_target", "confidence", "risk_usd")


def _check_decisions(d: dict) -> None:
    for i, dec in enumerate(d["decisions"], start=1):
        for k in ("coin", "signal"):
            if k in dec and type(dec[k]) is not str:
                raise EventDecodeError(f"DecisionParsed: decision {i} {k} must be text, not {_json_kind(dec[k])}")
        for k in _DECISION_NUMBERS:
            if k in dec and type(dec[k]) not in _OPT_NUM:
                raise EventDecodeError(f"DecisionParsed: decision {i} {k} must be a number or null, not {_json_kind(dec[k])}")


_MEMBER_TEXT = ("member", "model")
_MEMBER_INTS = ("input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens")


def _check_swarm_members(d: dict) -> None:
    for i, m in enumerate(d["members"], start=1):
        for k in _MEMBER_TEXT:
            if type(m.get(k)) is not str:
                raise EventDecodeError(f"SwarmVoted: member {i} {k} must be text, not {_json_kind(m.get(k))}")
        for k in ("text", "failure_kind", "failure_reason", "finish_reason"):
            if type(m.get(k)) not in _OPT_STR:
                raise EventDecodeError(f"SwarmVoted: member {i} {k} must be text or null, not {_json_kind(m.get(k))}")
        for k in _MEMBER_INTS:
            if type(m.get(k, 0)) is not int:
                raise EventDecodeError(f"SwarmVoted: member {i} {k} must be a whole number, not {_json_kind(m.get(k))}")
        for k in ("cost_usd", "ttft_s", "latency_s"):
            if type(m.get(k)) not in _OPT_NUM:
                raise EventDecodeError(f"SwarmVoted: member {i} {k} must be a number or null, not {_json_kind(m.get(k))}")
        if type(m.get("votes", {})) is not dict:
            raise EventDecodeError(f"SwarmVoted: member {i} votes must be an object, not {_json_kind(m.get('votes'))}")


_EXTRA_CHECKS = {
    "SwarmVoted": _check_swarm_members,
    "SessionStarted": _check_header,
    "MarketUpdated": _check_market_rows,
    "MarketData": _check_market_data,
    "DecisionParsed": _check_decisions,
}
"""Checks of values nested inside a field, per event class name."""


# --- session --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionStarted(Event):
    """The journal header: schema version, session name, mode, market source, agents and the config
    with every secret removed. ``agents`` holds ``{"name", "kind", "model"}`` dicts; a prompted agent's
    also ``"prompt"`` (its templates' label: "alpha-arena" for the bundled ones, else the file stems)
    and ``"prompt_sha256"`` (the SHA-256 of the template texts, ``prompt.PromptTemplates.digest``)."""

    session: str
    mode: str  # "live" | "recorded"
    source: str
    coins: tuple[str, ...] | list[str]
    agents: tuple[dict, ...] | list[dict]
    starting_cash: float
    cycle_interval_ms: int
    config: dict = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    app_version: str = ""
    started_at: str = ""  # wall clock, ISO-8601 UTC


@dataclass(frozen=True)
class SessionResumed(Event):
    """A stopped or crashed session continues (``--resume``) or a paused one resumes (``reason``)."""

    reason: str = "resume"


@dataclass(frozen=True)
class SessionPaused(Event):
    reason: str = "user"


@dataclass(frozen=True)
class SessionEnded(Event):
    """The session stopped: ``reason`` is a sentence (user quit, cycles done, end of data)."""

    reason: str
    cycles: int


@dataclass(frozen=True)
class Notice(Event):
    """A message for the person watching: ``level`` is info | warning | error."""

    level: str
    text: str


@dataclass(frozen=True)
class Progress(Event):
    """Work this process is doing before it can go on, shown as one line while it lasts (the
    indicators compiling on a first start): ``key`` names the work ("indicators"), ``text`` says
    what is happening, ``done`` is True once it is over (the line goes away). Display only: it
    describes this process, not the session, so it is never journaled or folded (``Bus.show``)."""

    key: str
    text: str
    done: bool = False


@dataclass(frozen=True)
class MarketPreview(Event):
    """The prices a session is about to start from, sent before the first cycle while the
    indicators are not ready yet: ``coins`` maps coin -> {"price", "change_pct", "funding_rate",
    "open_interest"} (the ``MarketUpdated`` row without indicators). Display only, like
    ``Progress``: never journaled or folded; cycle 1's ``MarketUpdated`` replaces it."""

    coins: dict


DISPLAY_ONLY: tuple[type[Event], ...] = (Progress, MarketPreview)
"""Event types that go to the screen only: ``Bus.show``, never the journal or the state."""


# --- cycle ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleStarted(Event):
    """A cycle began; ``trigger`` is timer | manual | headless."""

    trigger: str = "timer"


@dataclass(frozen=True)
class TriggerCoalesced(Event):
    """A cycle was asked for while one was running; it was folded into the next one."""

    trigger: str = "manual"


@dataclass(frozen=True)
class MarketUpdated(Event):
    """The market the prompt was built from. ``coins`` maps coin -> {"price", "funding_rate",
    "open_interest" (None = unavailable), "rsi7", "rsi14", "ema20", "ema50", "macd", "atr14", ...}
    (indicators on the intraday timeframe unless the key says ``_4h``), and where a live exchange's
    order book was read "spread_bp" (basis points of the mid), "bid_depth"/"ask_depth" (USD within
    ``market.base.DEPTH_BAND_BP`` of the mid; None = unknown) and "imbalance" (-1..1; None = unknown);
    7 significant digits, display only (the book itself is in ``MarketData``)."""

    coins: dict


@dataclass(frozen=True)
class MarketFailed(Event):
    """The market source could not deliver this cycle (live exchange down); agents hold."""

    reason: str


@dataclass(frozen=True)
class MarketData(Event):
    """A primary input: the market data this cycle's snapshot held that earlier cycles' did not, so
    that re-execution (verify, resume) rebuilds the very snapshot the agents saw. Not shown on screen.

    ``snapshot_time``: the snapshot's clock (ms). ``coins`` maps coin -> {"candles": {timeframe:
    {"keep", "ts", "open", "high", "low", "close", "volume"}}, "funding": {"keep", "interval_ms", "ts",
    "rate"}, "open_interest"}: the candles (open time ms; prices USD; volume in the coin) and funding
    times (ms) with rates (fraction per interval) newer than the last ones journaled, and ``keep``, how
    many of the newest the snapshot held. ``open_interest`` in the coin, or None (unavailable).
    ``order_book`` (only where a live exchange's book was read; absent otherwise): ``{"bid", "ask",
    "bid_depth", "ask_depth"}`` (``market.base.OrderBook.to_json``), this cycle's book, not carried to
    the next (a cycle without it had none)."""

    snapshot_time: int
    coins: dict


@dataclass(frozen=True)
class LeaderboardRow:
    """One leaderboard line: ``account_value``/``pnl``/``fees`` USD, ``return_pct``,
    ``win_rate`` and ``max_drawdown_pct`` percent (None before the first trade / cycle), ``sharpe``
    annualised (None before 30 returns), ``trades`` closed, ``rank`` 1 = best. ``kind`` is the agent
    kind, or "benchmark" for the BTC buy-and-hold row. ``input_tokens``/``output_tokens``/
    ``reasoning_tokens``/``cached_input_tokens`` and ``cost_usd`` (USD): the session totals of every
    model call the agent made (its fallback's and its swarm members' included), as the fold sums them
    from the replies; 0 for the benchmark and a rule-based agent, and in a journal older than
    ``USAGE_TOTALS_SCHEMA``."""

    rank: int
    agent: str
    kind: str
    account_value: float
    return_pct: float
    pnl: float
    fees: float
    win_rate: float | None
    sharpe: float | None
    max_drawdown_pct: float | None
    trades: int
    halted: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class CycleCompleted(Event):
    """A cycle ended. ``leaderboard``: the standings after it, best first, computed by
    ``state.ArenaState.standings`` (so re-execution recomputes and checks them)."""

    duration_ms: float
    leaderboard: tuple[LeaderboardRow, ...] = ()

    rows: ClassVar[dict[str, type]] = {"leaderboard": LeaderboardRow}


# --- agents ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentStarted(Event):
    """An agent was handed this cycle's prompt."""

    agent: str


@dataclass(frozen=True)
class ReasoningDelta(Event):
    """A piece of an agent's streamed text. ``kind`` is reasoning | answer; ``offset_ms`` is the time
    since the agent started this cycle, so replay can stream it again at the recorded pace. The journal
    holds chunks coalesced over about 100 ms. ``member``: the swarm member whose text it is (None: the
    agent's own; see ``SwarmVoted``)."""

    agent: str
    kind: str
    text: str
    offset_ms: float = 0.0
    member: str | None = None


@dataclass(frozen=True)
class AgentReplied(Event):
    """A primary input: an agent's whole reply this cycle, sent for every agent that was asked.
    ``text`` is the exact answer (parsed by the arena, and again by re-execution); usage from the API;
    ``ttft_s``/``latency_s`` wall seconds; ``cost_usd``; ``failure_kind``/``failure_reason`` when the
    agent produced nothing usable (timeout, rate_limit, ...; see ``AgentFailure``);
    ``reasoning_tokens`` (of ``output_tokens``) and ``cached_input_tokens`` (of ``input_tokens``)."""

    agent: str
    input_tokens: int = 0
    output_tokens: int = 0
    ttft_s: float | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    finish_reason: str | None = None
    text: str = ""
    failure_kind: str | None = None
    failure_reason: str | None = None
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    answered_by: str | None = None
    """The model that answered when it is not the agent's own: its fallback's (see ``AgentFellBack``)."""
    cached: bool = False
    """The answer came from the answer cache (``agents.cache``, ``[arena] answer_cache``): the model
    was not called; usage and cost are 0. A primary input like the text: re-execution replays it."""


@dataclass(frozen=True)
class AgentFellBack(Event):
    """A primary input: an agent's own (primary) model produced nothing usable this cycle, so its
    fallback was asked; sent just before the fallback's ``AgentReplied``. ``model``: the primary model;
    ``kind``/``reason``: why (timeout, rate_limit, server, parse, ... and one sentence); ``fallback``:
    the model asked instead; the primary call's usage, wall seconds, cost (USD) and answer ``text``
    (kept for a parse failure, as ``AgentReplied.text``)."""

    agent: str
    model: str
    kind: str
    reason: str
    fallback: str
    input_tokens: int = 0
    output_tokens: int = 0
    ttft_s: float | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    text: str = ""
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0


@dataclass(frozen=True)
class SwarmVoted(Event):
    """A primary input: a swarm's members answered (or failed) and voted; sent just before the
    swarm's ``AgentReplied`` (whose text is the vote's answer, its usage and cost the members' sums).
    ``rule``: majority | confidence | unanimous; ``quorum``: members that had to answer.
    ``members``, one dict each in config order: ``member`` (name), ``model``, ``failure_kind``/
    ``failure_reason`` (the call's failure, or ``parse``; None when it voted), ``votes`` ({coin:
    signal} it voted, {} when it did not), ``input_tokens``/``output_tokens``/``reasoning_tokens``/
    ``cached_input_tokens``, ``cost_usd`` (USD, at the member's prices), ``ttft_s``/``latency_s``
    (wall seconds), ``finish_reason`` and ``text`` (its exact answer: re-execution parses it again).
    ``tally``: {coin: {signal: votes}} (a count, or summed confidence 0-1 per vote for the
    confidence rule); ``result``: {coin: signal} the vote chose ({} when the quorum was not met)."""

    agent: str
    rule: str
    quorum: int
    members: tuple[dict, ...] | list[dict]
    tally: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AgentFailed(Event):
    """An agent produced nothing usable this cycle and holds: ``kind`` (timeout, rate_limit, parse, ...)
    and a one-sentence ``reason``."""

    agent: str
    kind: str
    reason: str


@dataclass(frozen=True)
class AgentHalted(Event):
    """An agent is stopped for the rest of the session (too many failures, drawdown bound, budget)."""

    agent: str
    reason: str


@dataclass(frozen=True)
class DecisionParsed(Event):
    """The per-coin decisions parsed from an agent's answer; each a dict of ``Decision`` fields."""

    agent: str
    decisions: tuple[dict, ...] | list[dict]


@dataclass(frozen=True)
class DecisionRejected(Event):
    """A decision the risk rules refused: ``rule`` id and a sentence a person understands."""

    agent: str
    coin: str
    rule: str
    reason: str


# --- ledger ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilled(Event):
    """A paper fill. ``action`` open | close; ``price`` the fill price after slippage,
    ``reference_price`` the mark it was priced from; ``fee`` USD."""

    agent: str
    coin: str
    action: str
    side: int
    quantity: float
    price: float
    reference_price: float
    notional: float
    fee: float
    leverage: float
    margin: float
    stop_loss: float | None = None
    profit_target: float | None = None
    invalidation_condition: str | None = None
    confidence: float | None = None
    risk_usd: float | None = None
    reason: str = "agent"


@dataclass(frozen=True)
class PositionClosed(Event):
    """A position ended: ``reason`` agent | stop_loss | take_profit | liquidation | session_end;
    ``realized_pnl`` gross, ``net_pnl`` after fees and funding."""

    agent: str
    coin: str
    side: int
    quantity: float
    leverage: float
    entry_time: int
    entry_price: float
    exit_price: float
    reference_price: float
    entry_fee: float
    exit_fee: float
    funding_paid: float
    realized_pnl: float
    net_pnl: float
    reason: str


@dataclass(frozen=True)
class FundingPaid(Event):
    """Funding at a funding time: ``amount`` USD, positive = paid by the account."""

    agent: str
    coin: str
    rate: float
    mark_price: float
    amount: float


@dataclass(frozen=True)
class PositionRow:
    """An open position as the positions table shows it: ``side`` +1 long / -1 short, ``quantity`` in
    the coin, prices USD, ``unrealized_pnl`` USD (rounded to 1e-6), ``leverage`` x,
    ``liquidation_price`` USD (rounded to 1e-6), ``stop_loss``/``profit_target`` USD or None."""

    coin: str
    side: int
    quantity: float
    entry_price: float
    mark_price: float
    unrealized_pnl: float
    leverage: float
    liquidation_price: float
    stop_loss: float | None = None
    profit_target: float | None = None


@dataclass(frozen=True)
class AccountUpdated(Event):
    """An agent's account after marking to market (USD, rounded to 1e-6): ``cash`` free collateral,
    ``account_value = cash + margin + unrealized PnL``, realized and unrealized PnL, fees and funding
    paid so far, ``return_pct``; ``positions`` its open positions."""

    agent: str
    cash: float
    account_value: float
    realized_pnl: float
    unrealized_pnl: float
    fees_paid: float
    funding_paid: float
    return_pct: float
    positions: tuple[PositionRow, ...] = ()

    rows: ClassVar[dict[str, type]] = {"positions": PositionRow}


@dataclass(frozen=True)
class StateReset(Event):
    """Replay and follow only (never journaled): forget all state; the events that follow rebuild the
    screen up to ``target_cycle``. Sent when a replay jumps between cycles, and when a followed journal
    is read again from its header (a ``--resume`` cut its unfinished cycle away)."""

    target_cycle: int = 0


def wall_seconds(seconds: float | None) -> float | None:
    """Wall seconds as an event carries them (``AgentReplied.ttft_s``/``latency_s``): to 10 ms, the
    screen shows tenths; finer is noise that would make every reply differ from the one before."""
    return None if seconds is None else round(seconds, 2)


def wall_ms(ms: float, digits: int = 0) -> float:
    """Wall milliseconds as an event carries them: ``ReasoningDelta.offset_ms`` (a replay's pace) to
    the millisecond, ``CycleCompleted.duration_ms`` (``digits=1``: the engine benchmark's figure) to
    0.1 ms."""
    return float(round(ms, digits))


WALL_CLOCK_FIELDS: dict[type[Event], frozenset[str]] = {
    SessionStarted: frozenset({"started_at", "app_version"}),
    CycleCompleted: frozenset({"duration_ms"}),
    ReasoningDelta: frozenset({"offset_ms"}),
    AgentReplied: frozenset({"ttft_s", "latency_s"}),
    AgentFellBack: frozenset({"ttft_s", "latency_s"}),
}
"""Fields that measure the wall clock (or the program version), not the session: same inputs give
the same journal except these. The engine rounds the wall-clock ones (``wall_seconds``, ``wall_ms``)
where it makes the event, so the screen, the journal and a replay hold the same value."""
