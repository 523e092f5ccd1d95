"""Nothing a model sends can end a session: arbitrary text, JSON and numbers pushed through the whole
agent path (journaled reply and reasoning, parse, risk rules, ledger, state fold) give only
rejections, failures or fills, never an exception.

The path is the arena's own: ``Arena._ask`` (the agent streams whatever it likes, lone surrogates and
escape sequences included, into a real journal) and ``Arena._act`` (the reply is journaled, parsed,
checked and executed), over one real snapshot of the bundled market. The accounts carry over from
example to example, so positions opened by one answer meet the closes and holds of the next.
"""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentReply, Usage
from arena_tui.engine.arena import Arena
from arena_tui.engine.bus import Bus
from arena_tui.engine.journal import JournalWriter, read_journal
from arena_tui.engine.market.recorded import RecordedMarket
from arena_tui.engine.state import ArenaState

COINS = ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE")
ALLOWED = (
    ev.AgentStarted,
    ev.AgentReplied,
    ev.AgentFailed,
    ev.DecisionParsed,
    ev.DecisionRejected,
    ev.OrderFilled,
    ev.PositionClosed,
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1e308, -1e308, 1e-320, 5, 0.001, 100, 125.5, 40, 50, 1e6]),
)
scalars = st.one_of(numbers, st.text(max_size=20), st.booleans(), st.none())
signals = st.one_of(
    st.sampled_from(["buy_to_enter", "sell_to_enter", "hold", "close", "close_position", "long", "short", "BUY", ""]),
    st.text(max_size=12),
    numbers,
)
decision = st.fixed_dictionaries(
    {"signal": signals},
    optional={
        "quantity": st.one_of(numbers, st.text(max_size=8)),
        "leverage": st.one_of(numbers, st.text(max_size=8)),
        "profit_target": numbers,
        "stop_loss": numbers,
        "confidence": numbers,
        "risk_usd": numbers,
        "invalidation_condition": st.one_of(st.text(max_size=40), scalars),
        "justification": st.one_of(st.text(max_size=40), scalars),
        "coin": st.one_of(st.sampled_from(COINS), st.text(max_size=6)),
    },
)
answers = st.one_of(
    st.text(max_size=300),  # anything, surrogates and control characters included
    st.dictionaries(st.one_of(st.sampled_from(COINS), st.text(max_size=6)), st.one_of(decision, scalars), max_size=8).map(
        lambda d: json.dumps(d, allow_nan=True)
    ),
    st.dictionaries(st.sampled_from(COINS), decision, min_size=1, max_size=6).map(
        lambda d: "Here is my plan:\n```json\n" + json.dumps({"trade_signal_args": d}, allow_nan=True) + "\n```"
    ),
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20).map(
        lambda v: json.dumps(v, allow_nan=True)
    ),
)
plausible = st.lists(
    st.tuples(
        st.sampled_from(COINS),
        st.sampled_from(["buy_to_enter", "sell_to_enter", "close", "hold"]),
        st.one_of(st.floats(min_value=5, max_value=3000), numbers),  # notional USD
        st.one_of(st.integers(min_value=1, max_value=25), numbers),  # leverage
        st.floats(min_value=-0.05, max_value=0.05),  # stop distance, fraction of price (the wrong side too)
        st.floats(min_value=-0.05, max_value=0.1),  # target distance
    ),
    min_size=1,
    max_size=6,
)
"""Entries near the market, sized in dollars: most pass the risk rules and fill, some do not."""


def plan_text(plan, prices) -> str:
    out = {}
    for coin, signal, notional, lev, sl, tp in plan:
        price = prices[coin]
        side = -1 if signal == "sell_to_enter" else 1
        try:
            qty = float(notional) / price
        except (OverflowError, TypeError, ValueError):
            qty = notional
        out[coin] = {
            "signal": signal,
            "quantity": qty,
            "leverage": lev,
            "stop_loss": price * (1 - side * sl),
            "profit_target": price * (1 + side * tp),
            "confidence": 0.6,
            "invalidation_condition": "price breaks the level",
        }
    return json.dumps(out, allow_nan=True)


deltas = st.lists(st.tuples(st.sampled_from(["reasoning", "answer"]), st.text(max_size=60)), max_size=5)


class ScriptedAgent:
    """A real agent whose next answer (and streamed text) the test sets."""

    kind = "llm"
    model = "property"

    def __init__(self, name: str) -> None:
        self.name = name
        self.reply = AgentReply()
        self.stream: list[tuple[str, str]] = []

    async def decide(self, request, on_delta):
        for kind, text in self.stream:
            on_delta(kind, text)
        return self.reply


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prop")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-21T12:00:00Z"}})
    market = RecordedMarket(start="2025-10-21T12:00:00Z")
    snap = asyncio.run(market.snapshot())
    from arena_tui.engine.indicators import compute_features

    features = compute_features(snap)
    agent = ScriptedAgent("Model")
    header = ev.SessionStarted(0, market.now, "prop", "recorded", market.name, COINS, ({"name": "Model", "kind": "llm", "model": "p"},), 10_000.0, 300_000, cfg.to_json())
    writer = JournalWriter.create(tmp / "prop.jsonl", header)
    seen: list[ev.Event] = []
    bus = Bus(ArenaState(header), writer, (seen.append,))
    arena = Arena(cfg, market, [agent], bus)
    arena.cycle = 1
    yield arena, agent, snap, features, seen, writer
    writer.close()


@settings(max_examples=int(__import__("os").environ.get("ARENA_PROPERTY_EXAMPLES", "10000")), deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=answers, plan=st.one_of(st.none(), plausible), stream=deltas, tokens=st.integers(min_value=0, max_value=10**12))
def test_any_answer_gives_only_rejections_failures_or_fills(world, text, plan, stream, tokens):
    arena, agent, snap, features, seen, _writer = world
    if plan is not None:
        text = plan_text(plan, snap.prices())
    agent.reply = AgentReply(text=text, usage=Usage(tokens, tokens))
    agent.stream = stream
    state = arena.states["Model"]
    del seen[:]
    reply = asyncio.run(arena._ask(state, snap, features))
    arena._act(state, reply, snap)
    assert seen, "every answer leaves a trace"
    for e in seen:
        if isinstance(e, ev.ReasoningDelta):
            continue
        assert isinstance(e, ALLOWED), type(e).__name__
    book = arena.state.agents["Model"]
    assert book.halted is None
    led = state.ledger
    assert math.isfinite(led.cash) and led.cash >= -1e-6, led.cash
    assert all(math.isfinite(p.margin) and p.margin > 0 and p.quantity > 0 for p in led.positions.values())


def test_the_property_journal_reads_back(world):
    """Whatever went through the path above is in the journal, exactly, and reads back."""
    arena, _agent, _snap, _features, _seen, writer = world
    writer.sync()
    contents = read_journal(writer.path)
    assert contents.warnings == []
    kinds = {type(e) for e in contents.events}
    # the generator reaches every outcome: fills, closes, rejections, parse failures
    for t in (ev.AgentReplied, ev.DecisionParsed, ev.DecisionRejected, ev.AgentFailed, ev.OrderFilled):
        assert t in kinds, t.__name__
