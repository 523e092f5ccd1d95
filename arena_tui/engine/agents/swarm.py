"""A swarm: one account traded by the vote of several member models asked the same prompt at once.

Config (``[[agents]] kind = "swarm"``, see ``config.AgentConfig``)::

    [[agents]]
    name = "Swarm"
    kind = "swarm"
    vote = "majority"      # majority | confidence | unanimous
    quorum = 2             # members that must answer (0 = a majority of them)
    timeout_s = 60         # the members' one deadline (capped by [arena] agent_timeout_s)
    [[agents.members]]     # an agent entry like any other: an LLM kind or a baseline
    kind = "openai"
    model = "gpt-5.5"
    [[agents.members]]
    kind = "anthropic"
    model = "claude-sonnet-4-6"
    [[agents.members]]
    kind = "baseline"
    strategy = "trend_follower"

Asking. Every member gets the same ``AgentRequest`` (the same prompt, the swarm's own account) and
they answer concurrently under one deadline (the swarm's ``timeout_s``, capped by the arena's
``agent_timeout_s``; a member's own ``timeout_s`` and retries apply within it). A member that fails
(timeout, HTTP 429/5xx, refused connection, empty or refused answer, budget, any exception) or whose
answer the parser cannot read does not vote. Fewer voters than the quorum (default: a majority of
the members, ``len(members) // 2 + 1``): the swarm holds this cycle (failure kind ``quorum``).

The vote, per coin of the market (``vote``; a voter whose answer leaves a coin out holds it):

- ``majority``: the signal (buy_to_enter, sell_to_enter, close, hold) more than half of the voters
  chose; none: hold.
- ``confidence``: each voter's signal weighs its confidence (0-1; 0-100 read as a percentage; clamped
  to 0-1; none given: ``DEFAULT_CONFIDENCE``); the signal with more than half of the coin's total
  weight wins; none (or a total of 0): hold.
- ``unanimous``: an entry needs every voter to choose it; a close needs a majority (getting out
  should not wait for the last holdout); otherwise hold.

Sizing of the result: from the voters who chose the winning signal ("agreeing"), in member order:
``quantity``, ``leverage``, ``stop_loss``, ``profit_target``, ``risk_usd`` and ``confidence`` are
each the median of the values they gave (those that gave none left out; the mean of the two middle
ones for an even count; None when none gave one), ``invalidation_condition`` the first agreeing
member's, ``justification`` says the tally. The result goes back to the arena as ONE answer text in
the Alpha Arena JSON format (``{"BTC": {"coin": "BTC", "signal": ..., ...}, ...}``), so parsing, the
risk rules and the ledger treat it as any agent's answer.

The reply (``AgentReply.swarm``, a ``SwarmVote``) carries every member's call (its answer text,
usage, cost at the member's prices, latency, failure) and the tally; the arena journals it as
``events.SwarmVoted`` just before the swarm's ``AgentReplied`` (whose usage and cost are the
members' sums). Each member's streamed text reaches the arena through ``on_member_delta(member,
kind, text)`` (``ReasoningDelta.member``), so the swarm's pane shows one section per member.
Re-execution (``verify``) rebuilds each member's reply from the journaled ``SwarmVoted`` (a parse
failure is re-derived by parsing the member's text again) and runs ``combine`` again: a tampered
member answer, vote, tally or cost is a difference. ``decide`` never raises: nothing a member says
can escape it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from arena_tui.engine.agents.base import Agent, AgentFailure, AgentReply, AgentRequest, OnDelta, Usage
from arena_tui.engine.decisions import SIGNALS, Decision

VOTE_RULES = ("majority", "confidence", "unanimous")
DEFAULT_CONFIDENCE = 0.5
"""The weight of a vote that gives no confidence (``confidence`` rule), 0-1."""
VOTE_GRACE_S = 2.0
"""Seconds the arena's deadline adds to the members' one, for the vote (so a member that runs out
the clock still leaves the swarm time to count the others)."""
SIZING_FIELDS = ("quantity", "leverage", "profit_target", "stop_loss", "confidence", "risk_usd")
"""A result's numbers: each the median of the agreeing members' (see the module docstring)."""

OnMemberDelta = Callable[[str, str, str], None]
"""``on_member_delta(member, kind, text)``: a piece of a member's streamed text."""


def default_quorum(members: int) -> int:
    """A majority of ``members``: the quorum when the config leaves it 0."""
    return members // 2 + 1


@dataclass(frozen=True)
class Ballot:
    """One member's part in a cycle: ``member`` (its name, unique in the swarm), ``model`` (its label),
    ``reply`` (its call: answer text, usage, cost USD, wall seconds, the call's own failure) and what
    came of it: ``failure`` (the call's, or kind ``parse`` when its answer holds no decision) or the
    parsed ``decisions`` ({coin: ``Decision``}) it votes with."""

    member: str
    model: str
    reply: AgentReply
    failure: AgentFailure | None = None
    decisions: Mapping[str, Decision] | None = None

    @property
    def voted(self) -> bool:
        return self.failure is None and self.decisions is not None


@dataclass(frozen=True)
class SwarmVote:
    """A cycle's vote: the ``rule``, the ``quorum`` in force, every member's ``ballots`` (config
    order), ``tally`` ({coin: {signal: votes}}, votes a count, or summed confidence rounded to 1e-6
    for the ``confidence`` rule), ``result`` ({coin: ``Decision``}, empty when the quorum was not
    met), the answer ``text`` the arena parses ("" without a result) and ``failure`` (kind
    ``quorum``) when too few members answered."""

    rule: str
    quorum: int
    ballots: tuple[Ballot, ...]
    tally: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    text: str = ""
    failure: AgentFailure | None = None


# --- the vote (pure functions) -----------------------------------------------------------------------


def weight(confidence: float | None) -> float:
    """A vote's weight under the ``confidence`` rule: ``confidence`` 0-1 (above 1 and up to 100 read
    as a percentage), clamped to 0-1; ``DEFAULT_CONFIDENCE`` when none (or not a finite number)."""
    if confidence is None or isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not math.isfinite(confidence):
        return DEFAULT_CONFIDENCE
    c = float(confidence)
    if 1 < c <= 100:
        c /= 100
    return min(max(c, 0.0), 1.0)


def _median(values: list[float]) -> float | None:
    values = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if not values:
        return None
    return float(statistics.median(values))


def vote(rule: str, answers: Sequence[Mapping[str, Decision]], coins: Sequence[str]) -> tuple[dict, dict[str, Decision]]:
    """The vote of ``answers`` (each a voter's {coin: ``Decision``}, in member order) on ``coins``
    under ``rule`` (``VOTE_RULES``): (tally {coin: {signal: votes}}, result {coin: ``Decision``}).
    A voter that leaves a coin out holds it. Pure: no I/O, no clock; ``answers`` empty: all hold."""
    if rule not in VOTE_RULES:
        raise ValueError(f"unknown vote rule {rule!r}")
    tally: dict[str, dict[str, float]] = {}
    result: dict[str, Decision] = {}
    n = len(answers)
    for coin in coins:
        picks = [a.get(coin) or Decision(coin, "hold") for a in answers]
        counts: dict[str, float] = {}
        for d in picks:
            w = weight(d.confidence) if rule == "confidence" else 1
            counts[d.signal] = counts.get(d.signal, 0) + w
        if rule == "confidence":
            counts = {s: round(w, 6) for s, w in counts.items()}
        tally[coin] = {s: counts[s] for s in SIGNALS if s in counts}
        winner = "hold"
        if rule == "majority" or (rule == "unanimous"):
            for s, c in counts.items():
                if 2 * c > n:
                    winner = s
            if rule == "unanimous" and winner in ("buy_to_enter", "sell_to_enter") and counts[winner] != n:
                winner = "hold"
        else:
            total = sum(counts.values())
            for s, c in counts.items():
                if total > 0 and 2 * c > total:
                    winner = s
        result[coin] = _sized(coin, winner, [d for d in picks if d.signal == winner], tally[coin], n, rule)
    return tally, result


def _sized(coin: str, signal: str, agreeing: list[Decision], counts: dict, voters: int, rule: str) -> Decision:
    """The result of one coin: ``signal`` sized from the ``agreeing`` voters' decisions (medians)."""
    shown = ", ".join(f"{s} {_num(c)}" for s, c in counts.items())
    why = f"swarm {rule} of {voters} voter{'' if voters == 1 else 's'}: {shown or 'no votes'}"
    if signal == "hold":
        return Decision(coin, "hold", justification=why)
    med = {k: _median([getattr(d, k) for d in agreeing]) for k in SIZING_FIELDS}
    inval = next((d.invalidation_condition for d in agreeing if d.invalidation_condition), None)
    if signal == "close":
        return Decision(coin, "close", confidence=med["confidence"], justification=why)
    return Decision(
        coin,
        signal,  # type: ignore[arg-type]
        quantity=med["quantity"],
        leverage=med["leverage"],
        profit_target=med["profit_target"],
        stop_loss=med["stop_loss"],
        invalidation_condition=inval,
        confidence=med["confidence"],
        risk_usd=med["risk_usd"],
        justification=why,
    )


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def answer_text(result: Mapping[str, Decision]) -> str:
    """The vote's result as an answer in the Alpha Arena JSON format, one coin a line (what the
    arena parses, and what the journal holds as the swarm's ``AgentReplied.text``)."""
    lines = []
    for coin, d in result.items():
        row = {k: v for k, v in dataclasses.asdict(d).items() if v is not None}
        lines.append(f"  {json.dumps(coin)}: {json.dumps(row, ensure_ascii=False, allow_nan=False)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def ballot(member: str, model: str, reply: AgentReply, coins: Sequence[str]) -> Ballot:
    """A member's ``reply`` as a ballot: its failure, or the decisions its answer holds (a parse
    failure when it holds none)."""
    from arena_tui.engine.parse import ParseError, parse_decisions

    if reply.failure is not None:
        return Ballot(member, model, reply, reply.failure)
    try:
        decisions = parse_decisions(reply.text, coins)
    except ParseError as exc:
        return Ballot(member, model, reply, AgentFailure("parse", f"{member}: could not read the answer ({exc.reason})."))
    except Exception as exc:  # nothing a member says may escape the swarm
        return Ballot(member, model, reply, AgentFailure("parse", f"{member}: could not read the answer ({type(exc).__name__})."))
    return Ballot(member, model, reply, decisions=dict(decisions))


def combine(name: str, rule: str, quorum: int, ballots: Sequence[Ballot], coins: Sequence[str], *, latency_s: float = 0.0) -> AgentReply:
    """The swarm's reply from its members' ``ballots``: the vote's answer text (or a ``quorum``
    failure), the members' usage and cost summed, the earliest member's time to first token,
    ``latency_s`` (the swarm's wall seconds) and the ``SwarmVote`` (``AgentReply.swarm``). The live
    swarm and re-execution both call it."""
    voters = [b for b in ballots if b.voted]
    usage = Usage(
        sum(b.reply.usage.input_tokens for b in ballots),
        sum(b.reply.usage.output_tokens for b in ballots),
        sum(b.reply.usage.reasoning_tokens for b in ballots),
        sum(b.reply.usage.cached_input_tokens for b in ballots),
    )
    cost = sum(b.reply.cost_usd for b in ballots)
    ttfts = [b.reply.ttft_s for b in ballots if b.reply.ttft_s is not None]
    ttft = min(ttfts) if ttfts else None
    if len(voters) < quorum:
        failed = ", ".join(f"{b.member} ({b.failure.kind})" for b in ballots if b.failure is not None)
        reason = (
            f"{name}: only {len(voters)} of {len(ballots)} members answered (quorum {quorum}; "
            f"{failed or 'none failed'}), holding this cycle."
        )
        sv = SwarmVote(rule, quorum, tuple(ballots), failure=AgentFailure("quorum", reason))
        return AgentReply(usage=usage, cost_usd=cost, ttft_s=ttft, latency_s=latency_s, finish_reason="vote", failure=sv.failure, swarm=sv)
    tally, result = vote(rule, [b.decisions for b in voters], coins)  # type: ignore[misc]
    text = answer_text(result)
    sv = SwarmVote(rule, quorum, tuple(ballots), tally, result, text)
    return AgentReply(text=text, usage=usage, cost_usd=cost, ttft_s=ttft, latency_s=latency_s, finish_reason="vote", swarm=sv)


def member_row(b: Ballot) -> dict:
    """One member's call as ``SwarmVoted.members`` holds it (see ``events.SwarmVoted``)."""
    r = b.reply
    f = b.failure
    from arena_tui.engine.events import wall_seconds

    return {
        "member": b.member,
        "model": b.model,
        "failure_kind": f.kind if f is not None else None,
        "failure_reason": f.reason if f is not None else None,
        "votes": {c: d.signal for c, d in b.decisions.items()} if b.decisions is not None else {},
        "input_tokens": r.usage.input_tokens,
        "output_tokens": r.usage.output_tokens,
        "reasoning_tokens": r.usage.reasoning_tokens,
        "cached_input_tokens": r.usage.cached_input_tokens,
        "cost_usd": r.cost_usd,
        "ttft_s": wall_seconds(r.ttft_s),
        "latency_s": wall_seconds(r.latency_s),
        "finish_reason": r.finish_reason,
        "text": r.text,
    }


# --- the agent ---------------------------------------------------------------------------------------


def _label(agent: Any) -> str:
    return str(getattr(agent, "model", "") or getattr(agent, "name", "") or "?")


def config_label(a: Any) -> str:
    """The label (``model``) a member built from config entry ``a`` has: its model, or a baseline's
    strategy (what ``SwarmVoted`` journals; re-execution computes it from the header's config)."""
    return str((a.strategy if a.kind == "baseline" else a.model) or a.name or "?")


class SwarmAgent:
    """An ``Agent`` whose answer is its ``members``' vote (see the module docstring).

    ``members``: the member agents, each named uniquely (their ``name`` is the member's name);
    ``rule``: one of ``VOTE_RULES``; ``quorum``: members that must answer (0: a majority);
    ``timeout_s``: the members' one deadline (seconds); the arena's deadline is ``deadline_s``
    (that plus ``VOTE_GRACE_S``). ``prices``: each member's token prices by name (re-execution
    prices the journaled calls with them; the live members price their own)."""

    kind = "swarm"

    def __init__(self, name: str, members: Sequence[Agent], *, rule: str = "majority", quorum: int = 0, timeout_s: float = 90.0, model: str = "") -> None:
        if rule not in VOTE_RULES:
            raise ValueError(f"unknown vote rule {rule!r}")
        self.name = name
        self.members = list(members)
        self.rule = rule
        self.quorum = quorum or default_quorum(len(self.members))
        self.timeout_s = timeout_s
        self.deadline_s = timeout_s + VOTE_GRACE_S
        self.model = model or f"swarm of {len(self.members)} ({rule})"
        self.prices = None

    @property
    def needs_prompt(self) -> bool:
        return any(getattr(m, "needs_prompt", True) and getattr(m, "kind", "") != "rule-based" for m in self.members)

    async def _member(self, m: Agent, request: AgentRequest, on_member_delta: OnMemberDelta | None) -> AgentReply:
        name = m.name
        start = time.monotonic()

        def on_delta(kind: str, text: str) -> None:
            if on_member_delta is not None and text:
                on_member_delta(name, kind, text)

        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await m.decide(request, on_delta)
            if not isinstance(reply, AgentReply):
                raise TypeError("its answer is not an AgentReply")
            return reply
        except TimeoutError:
            return AgentReply(
                latency_s=time.monotonic() - start,
                failure=AgentFailure("timeout", f"{name}: gave no answer within the swarm's {self.timeout_s:g} s."),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a member must never take the swarm down
            return AgentReply(latency_s=time.monotonic() - start, failure=AgentFailure("error", f"{name}: {type(exc).__name__}: {exc}"))

    async def decide(self, request: AgentRequest, on_delta: OnDelta, on_member_delta: OnMemberDelta | None = None) -> AgentReply:
        """Ask every member at once, then vote (``combine``). ``on_member_delta(member, kind, text)``
        receives each member's streamed text (``on_delta`` gets none: a swarm streams no text of its
        own). Never raises (cancellation aside)."""
        start = time.monotonic()
        replies = await asyncio.gather(*(self._member(m, request, on_member_delta) for m in self.members))
        coins = tuple(request.market.coins)
        ballots = [ballot(m.name, _label(m), r, coins) for m, r in zip(self.members, replies)]
        try:
            return combine(self.name, self.rule, self.quorum, ballots, coins, latency_s=time.monotonic() - start)
        except Exception as exc:  # (a bug in the vote must not take the arena down either)
            return AgentReply(latency_s=time.monotonic() - start, failure=AgentFailure("error", f"{self.name}: the vote failed ({type(exc).__name__}: {exc})."))

    @property
    def sdk_name(self) -> str | None:
        """The SDK the scheduler imports before cycle 1: the first member's that has one."""
        return next((s for s in (getattr(m, "sdk_name", None) for m in self.members) if s), None)

    async def warm_up(self) -> None:
        """Build every member's client (one after the other)."""
        for m in self.members:
            warm = getattr(m, "warm_up", None)
            if warm is not None:
                await warm()

    async def aclose(self) -> None:
        """Close every member's client (safe to call more than once)."""
        for m in self.members:
            closer = getattr(m, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # a failing close must not mask the others'
                    pass
