"""The ``Agent`` protocol: prompt in, streamed text out, never an exception into the engine.

An agent receives an ``AgentRequest`` (the same prompt and market for everyone, its own account) and
returns an ``AgentReply``. While it works it calls ``on_delta(kind, text)`` for each piece of text as it
arrives, ``kind`` being ``"reasoning"`` (thinking) or ``"answer"``. A failure (timeout, HTTP 429/5xx,
refused connection, malformed or cut-off stream, empty answer, budget) is returned as
``AgentReply(failure=...)``; ``decide`` must not raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, runtime_checkable

from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.decisions import Decision
from arena_tui.engine.market.base import MarketSnapshot

DeltaKind = Literal["reasoning", "answer"]
OnDelta = Callable[[DeltaKind, str], None]
AgentKind = Literal["llm", "rule-based", "recorded"]


@dataclass(frozen=True)
class AgentRequest:
    """What every agent sees in one cycle.

    ``system_prompt``/``user_prompt`` are the rendered prompt texts; ``market`` the snapshot they
    were built from; ``account`` this agent's own account; ``cycle`` the cycle number (1-based);
    ``time`` the simulated clock in ms.
    """

    cycle: int
    time: int
    system_prompt: str
    user_prompt: str
    market: MarketSnapshot
    account: AccountSnapshot
    features: Any = None


@dataclass(frozen=True)
class Usage:
    """Token usage as reported by the API (0 when the provider reports none)."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class AgentFailure:
    """Why an agent produced no usable answer: ``kind`` is one of timeout, rate_limit, server,
    connection, malformed, empty, length, budget, auth, config, error, cancelled (the session
    stopped during the call); ``reason`` is one sentence."""

    kind: str
    reason: str


@dataclass(frozen=True)
class AgentReply:
    """An agent's answer for one cycle: the answer ``text``, the ``reasoning`` text, usage, time to
    first token and total latency (seconds, wall clock), cost (USD) and the finish reason."""

    text: str = ""
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    ttft_s: float | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    finish_reason: str | None = None
    failure: AgentFailure | None = None
    decisions: tuple[Decision, ...] | None = None
    """In-process agents (the baselines) may hand over their decisions directly; the arena then
    skips parsing ``text`` (which still holds the same decisions in the JSON format)."""

    @property
    def ok(self) -> bool:
        return self.failure is None


@runtime_checkable
class Agent(Protocol):
    """Anything that can decide: ``name`` (unique in a session), ``kind`` and ``model`` (labels)."""

    name: str
    kind: AgentKind
    model: str

    async def decide(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply: ...
