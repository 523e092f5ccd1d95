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

SCHEMA_VERSION = 1

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

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"type": <class name>, <fields>...}``."""
        out: dict[str, Any] = {"type": self.type_name}
        out.update(self.__dict__)  # tuples serialise as JSON arrays; nested values are plain already
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
            return event
        except KeyError:
            pass
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in obj.items() if k != "type"}
    unexpected = set(kwargs) - set(names)
    if unexpected:
        raise EventDecodeError(f"{name} has unexpected fields {sorted(unexpected)}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise EventDecodeError(f"{name}: {exc}") from None


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
class CycleCompleted(Event):
    """A cycle ended. ``leaderboard`` rows: {"agent", "account_value", "return_pct", ...}, best first."""

    duration_ms: float
    leaderboard: tuple[dict, ...] | list[dict] = ()


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
    """An agent finished answering: usage from the API, latency, cost (USD)."""

    agent: str
    input_tokens: int = 0
    output_tokens: int = 0
    ttft_s: float | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    finish_reason: str | None = None


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
class AccountUpdated(Event):
    """An agent's account after marking to market. ``positions`` rows: {"coin", "side", "quantity",
    "entry_price", "mark_price", "unrealized_pnl", "leverage", "margin", "liquidation_price",
    "stop_loss", "profit_target"}."""

    agent: str
    cash: float
    account_value: float
    realized_pnl: float
    unrealized_pnl: float
    fees_paid: float
    funding_paid: float
    return_pct: float
    positions: tuple[dict, ...] | list[dict] = ()
    metrics: dict = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = _REGISTRY


@dataclass(frozen=True)
class StateReset(Event):
    """Replay only (never journaled): forget all state; the events that follow rebuild the screen up to
    ``target_cycle``. Sent when a replay jumps between cycles."""

    target_cycle: int = 0
