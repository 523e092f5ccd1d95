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
    """Token usage as reported by the API (0 when the provider reports none).

    ``input_tokens`` counts every prompt token, ``cached_input_tokens`` of them read from the provider's
    prompt cache (priced apart); ``output_tokens`` counts every generated token, ``reasoning_tokens``
    of them spent on reasoning/thinking (priced apart when a reasoning price is set)."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0


@dataclass(frozen=True)
class Prices:
    """What a model's tokens cost, in USD per million tokens: ``input`` (prompt tokens not read from
    cache), ``cached_input`` (prompt tokens read from the provider's cache; None: the input price),
    ``output`` (generated tokens other than reasoning), ``reasoning`` (reasoning/thinking tokens;
    None: the output price, as OpenAI and Anthropic bill them)."""

    input: float = 0.0
    output: float = 0.0
    cached_input: float | None = None
    reasoning: float | None = None

    def cost_usd(self, usage: Usage) -> float:
        """USD for ``usage``: each kind of token at its own price (cached tokens are part of
        ``input_tokens``, reasoning tokens part of ``output_tokens``; counts are clamped so a server
        that reports more cached than input tokens is never paid for twice)."""
        cached = min(max(usage.cached_input_tokens, 0), max(usage.input_tokens, 0))
        reasoning = min(max(usage.reasoning_tokens, 0), max(usage.output_tokens, 0))
        cached_price = self.input if self.cached_input is None else self.cached_input
        reasoning_price = self.output if self.reasoning is None else self.reasoning
        return (
            (max(usage.input_tokens, 0) - cached) * self.input
            + cached * cached_price
            + (max(usage.output_tokens, 0) - reasoning) * self.output
            + reasoning * reasoning_price
        ) / 1e6


@dataclass(frozen=True)
class AgentFailure:
    """Why an agent produced no usable answer: ``kind`` is one of timeout, rate_limit, server,
    connection, malformed, empty, length (cut off at max_tokens), context_window (the prompt and answer
    outgrew the model's context window), refusal (the model declined), content_filter (the provider
    withheld the answer), budget, auth, config, error, cancelled (the session stopped during the
    call); ``reason`` is one sentence."""

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
    answered_by: str | None = None
    """The model that answered when it is not the agent's own (its fallback's); None otherwise."""
    fell_back: "FellBack | None" = None
    """Why the agent's own model's answer was not used, when a fallback answered."""
    swarm: Any = None
    """A swarm's vote (``agents.swarm.SwarmVote``: every member's call, the tally, the result), when
    the agent is a swarm; None otherwise."""
    cached: bool = False
    """The answer came from the answer cache (``agents.cache``): no call was made, nothing was spent."""

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class FellBack:
    """An agent's own (primary) model failed and its fallback was asked: the primary ``model``, its
    ``reply`` (with its ``failure``: timeout, rate_limit, parse, ...) and the ``fallback`` model asked."""

    model: str
    reply: AgentReply
    fallback: str


@runtime_checkable
class Agent(Protocol):
    """Anything that can decide: ``name`` (unique in a session), ``kind`` and ``model`` (labels)."""

    name: str
    kind: AgentKind
    model: str

    async def decide(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply: ...
