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

SCHEMA_VERSION = 2
"""2: ``MarketData`` (the market each cycle saw), ``AgentReplied`` for every answer with its text and
failure, typed position and leaderboard rows, no ``metrics`` on ``AccountUpdated``."""

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
    """A JSON object is not a known event (unknown type, missing or unexpected fields)."""


def from_json(obj: Mapping[str, Any]) -> Event:
    """The event a ``to_json`` dict describes; raises ``EventDecodeError`` naming what is wrong."""
    if not isinstance(obj, Mapping):
        raise EventDecodeError("the line is not a JSON object")
    name = obj.get("type")
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise EventDecodeError(f"unknown event type {name!r}")
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    if len(obj) == len(names) + 1:
        # fast path (every journal line written by this version): no per-field __init__ checks
        event = object.__new__(cls)
        d = event.__dict__
        try:
            for n in names:
                v = obj[n]
                d[n] = tuple(v) if type(v) is list else v
            if cls.rows:
                _typed_rows(cls, d)
            return event
        except KeyError:
            pass
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in obj.items() if k != "type"}
    unexpected = set(kwargs) - set(names)
    if unexpected:
        raise EventDecodeError(f"{name} has unexpected fields {sorted(unexpected)}")
    if cls.rows:
        _typed_rows(cls, kwargs)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise EventDecodeError(f"{name}: {exc}") from None


def _typed_rows(cls: type["Event"], d: dict) -> None:
    """Turn the JSON objects of ``cls.rows`` fields in ``d`` back into their row types."""
    for field_name, row_cls in cls.rows.items():
        value = d.get(field_name)
        if value is None:
            continue
        if not isinstance(value, (tuple, list)) or not all(isinstance(r, Mapping) for r in value):
            raise EventDecodeError(f"{cls.__name__}.{field_name} must be a list of objects")
        try:
            d[field_name] = tuple(row_cls(**r) for r in value)
        except TypeError as exc:
            raise EventDecodeError(f"{cls.__name__}.{field_name}: {exc}") from None


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


# --- session --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionStarted(Event):
    """The journal header: schema version, session name, mode, market source, agents and the config
    with every secret removed. ``agents`` holds ``{"name", "kind", "model"}`` dicts."""

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
    (indicators on the intraday timeframe unless the key says ``_4h``)."""

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
    many of the newest the snapshot held. ``open_interest`` in the coin, or None (unavailable)."""

    snapshot_time: int
    coins: dict


@dataclass(frozen=True)
class LeaderboardRow:
    """One leaderboard line: ``account_value``/``pnl``/``fees`` USD, ``return_pct``,
    ``win_rate`` and ``max_drawdown_pct`` percent (None before the first trade / cycle), ``sharpe``
    annualised (None before 30 returns), ``trades`` closed, ``rank`` 1 = best. ``kind`` is the agent
    kind, or "benchmark" for the BTC buy-and-hold row."""

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
    holds chunks coalesced over about 100 ms."""

    agent: str
    kind: str
    text: str
    offset_ms: float = 0.0


@dataclass(frozen=True)
class AgentReplied(Event):
    """A primary input: an agent's whole reply this cycle, sent for every agent that was asked.
    ``text`` is the exact answer (parsed by the arena, and again by re-execution); usage from the API;
    ``ttft_s``/``latency_s`` wall seconds; ``cost_usd``; ``failure_kind``/``failure_reason`` when the
    agent produced nothing usable (timeout, rate_limit, ...; see ``AgentFailure``)."""

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
    """Replay only (never journaled): forget all state; the events that follow rebuild the screen up to
    ``target_cycle``. Sent when a replay jumps between cycles."""

    target_cycle: int = 0


WALL_CLOCK_FIELDS: dict[type[Event], frozenset[str]] = {
    SessionStarted: frozenset({"started_at", "app_version"}),
    CycleCompleted: frozenset({"duration_ms"}),
    ReasoningDelta: frozenset({"offset_ms"}),
    AgentReplied: frozenset({"ttft_s", "latency_s"}),
}
"""Fields that measure the wall clock (or the program version), not the session: same inputs give
the same journal except these."""
