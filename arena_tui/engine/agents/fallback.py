"""A primary model with a fallback: one account, two models, the second asked only when the first
produces nothing usable.

The design of the signal bots arena-tui grew from: the primary model is asked first (with its own
retries and backoff, ``LLMAgent``); when its reply fails (timeout, HTTP 429 after the retries, 5xx,
refused connection, cut-off stream, empty or refused answer, budget) or its answer cannot be read as
decisions (a parse failure), the fallback (another model, or a rule-based baseline) is asked the same
request at once, and its answer is the agent's answer this cycle. The reply says who answered
(``AgentReply.answered_by``) and why the primary did not (``AgentReply.fell_back``); the arena
journals that as ``AgentFellBack`` before the fallback's ``AgentReplied``, and the screen shows it.
A failing fallback is the agent's failure (it holds this cycle, as any agent whose model fails).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Callable

from arena_tui.engine.agents.base import Agent, AgentFailure, AgentReply, AgentRequest, FellBack, OnDelta

FALLBACK_GRACE_S = 5.0
"""Seconds the arena's deadline adds for a rule-based fallback (it answers at once)."""


def model_label(agent: Any) -> str:
    """What names an agent's model on screen and in the journal: its ``model``, else its name."""
    return str(getattr(agent, "model", "") or getattr(agent, "name", "") or "?")


def parse_problem(text: str, coins) -> str | None:
    """Why ``text`` holds no usable decision (``parse.ParseError``'s reason), or None when it does."""
    from arena_tui.engine.parse import ParseError, parse_decisions

    try:
        parse_decisions(text, coins)
    except ParseError as exc:
        return exc.reason
    return None


class FallbackAgent:
    """``primary`` answers, or ``fallback`` when the primary's reply fails or does not parse.

    ``name``/``kind``/``model`` are the primary's (the account is the primary's); ``primary_timeout_s``
    bounds the primary's call (None: no bound beyond its own) so the fallback still has time within the
    arena's deadline, ``deadline_s`` (the arena uses it in place of ``arena.agent_timeout_s``):
    the primary's bound plus the fallback's own timeout (``FALLBACK_GRACE_S`` for a rule-based one).
    ``decide`` never raises; a failure of either model is a reply with its ``failure``."""

    def __init__(self, primary: Agent, fallback: Agent, *, primary_timeout_s: float | None = None, fallback_timeout_s: float | None = None) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.kind = primary.kind
        self.model = primary.model
        self.primary_timeout_s = primary_timeout_s
        self.fallback_timeout_s = fallback_timeout_s
        fb = fallback_timeout_s if fallback_timeout_s is not None else FALLBACK_GRACE_S
        self.deadline_s = None if primary_timeout_s is None else primary_timeout_s + fb
        self.prices = getattr(primary, "prices", None)

    @property
    def needs_prompt(self) -> bool:
        return bool(getattr(self.primary, "needs_prompt", True) or getattr(self.fallback, "needs_prompt", True))

    async def _primary(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply:
        start = time.monotonic()
        try:
            if self.primary_timeout_s is None:
                return await self.primary.decide(request, on_delta)
            async with asyncio.timeout(self.primary_timeout_s):
                return await self.primary.decide(request, on_delta)
        except TimeoutError:
            return AgentReply(
                latency_s=time.monotonic() - start,
                failure=AgentFailure("timeout", f"{self.name}: {model_label(self.primary)} gave no answer within {self.primary_timeout_s:g} s."),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an agent must never take the arena down
            return AgentReply(latency_s=time.monotonic() - start, failure=AgentFailure("error", f"{self.name}: {type(exc).__name__}: {exc}"))

    async def decide(self, request: AgentRequest, on_delta: OnDelta, on_fell_back: Callable[[FellBack], None] | None = None) -> AgentReply:
        """The primary's reply, or the fallback's (``answered_by``, ``fell_back``) when the primary's
        failed or did not parse; ``on_fell_back(fell_back)`` is called the moment the fallback is
        asked (the arena journals it then, before the fallback's text streams)."""
        reply = await self._primary(request, on_delta)
        if reply.failure is None:
            problem = parse_problem(reply.text, request.market.coins)
            if problem is None:
                return reply
            reply = dataclasses.replace(
                reply, failure=AgentFailure("parse", f"{self.name}: could not read {model_label(self.primary)}'s answer ({problem}).")
            )
        label = model_label(self.fallback)
        fell_back = FellBack(model_label(self.primary), reply, label)
        if on_fell_back is not None:
            on_fell_back(fell_back)
        try:
            answer = await self.fallback.decide(request, on_delta)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            answer = AgentReply(failure=AgentFailure("error", f"{self.name}: its fallback failed ({type(exc).__name__}: {exc})."))
        return dataclasses.replace(answer, answered_by=label, fell_back=fell_back)

    @property
    def sdk_name(self) -> str | None:
        """The SDK the scheduler imports before cycle 1: the primary's (else the fallback's); the
        other one's, if any, is imported by ``warm_up``."""
        return getattr(self.primary, "sdk_name", None) or getattr(self.fallback, "sdk_name", None)

    async def warm_up(self) -> None:
        """Build both models' clients (one after the other: see ``ArenaSession._warm_up_agents``)."""
        for a in (self.primary, self.fallback):
            warm = getattr(a, "warm_up", None)
            if warm is not None:
                await warm()

    async def aclose(self) -> None:
        """Close both models' clients (safe to call more than once)."""
        for a in (self.primary, self.fallback):
            closer = getattr(a, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # a failing close must not mask the other's
                    pass
