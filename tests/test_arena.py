"""The arena engine on the bundled real market: cycles, failures, halts, triggers, journal, replay."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from pathlib import Path

import pytest

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentFailure, AgentReply
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.verify import reexecute
from journal_dicts import journal_dicts

TIMING_FIELDS = {"duration_ms", "offset_ms", "latency_s", "ttft_s", "started_at"}


def demo_config(tmp_path: Path, environ=None, **market):
    cfg = load_config(None, environ=environ or {}, cwd=tmp_path, overrides={"market": market, "arena": {"sessions_dir": str(tmp_path)}})
    return cfg


async def run_session(cfg, agents=None, cycles=12, journal_path=None):
    market = build_market(cfg)
    agents = agents if agents is not None else build_agents(cfg)
    session = ArenaSession(cfg, market, agents, journal_path=journal_path, max_cycles=cycles, pace=0)
    seen: list[ev.Event] = []
    await session.run(seen.append)
    return session, seen


def strip_timing(obj):
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k not in TIMING_FIELDS}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


class ScriptedAgent:
    """A real Agent whose answers are given per cycle (text, or a failure, or a delay)."""

    kind = "llm"
    model = "scripted"

    def __init__(self, name, answers, delay=0.0):
        self.name = name
        self.answers = answers
        self.delay = delay
        self.calls = 0

    async def decide(self, request, on_delta):
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        a = self.answers(request) if callable(self.answers) else self.answers
        if isinstance(a, AgentFailure):
            return AgentReply(failure=a)
        if isinstance(a, Exception):
            raise a
        on_delta("reasoning", "thinking about it. ")
        on_delta("answer", a)
        return AgentReply(text=a)


async def test_headless_cycles_write_a_journal_that_replays_to_the_cent(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    path = tmp_path / "s.jsonl"
    session, seen = await run_session(cfg, cycles=60, journal_path=path)
    assert session.cycles_run == 60
    contents = read_journal(path)
    assert contents.header.mode == "recorded"
    completed = [e for e in contents.events if isinstance(e, ev.CycleCompleted)]
    assert len(completed) == 60
    fills = [e for e in contents.events if isinstance(e, ev.OrderFilled)]
    assert fills, "the baselines should trade on real data within five hours"
    result = await reexecute(path)
    assert result.difference is None
    assert result.cycles == 60
    assert sum(isinstance(e, ev.AccountUpdated) for e in contents.events) == 60 * len(cfg.agents)
    # the leaderboard holds every agent plus the BTC buy-and-hold benchmark row
    names = {r.agent for r in completed[-1].leaderboard}
    assert {a.name for a in cfg.agents} | {"BTC buy & hold"} == names
    # the screen saw every journaled event (plus finer reasoning deltas)
    assert sum(isinstance(e, ev.CycleCompleted) for e in seen) == 60


async def test_same_inputs_same_journal(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-25T00:00:00Z")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    await run_session(cfg, cycles=30, journal_path=a)
    await run_session(cfg, cycles=30, journal_path=b)
    assert journal_without_timing(a) == journal_without_timing(b)


def journal_without_timing(path):
    """The journal with wall-clock fields stripped and reasoning deltas joined per (cycle, agent,
    kind): where the ~100 ms coalescing window cuts streamed text depends on the wall clock (a loaded
    machine cut one baseline's answer in two), exactly like ``offset_ms``; the text itself may not."""
    lines, text = [], {}
    for d in journal_dicts(path):
        d = strip_timing(d)
        if d["type"] == "ReasoningDelta":
            key = (d["cycle"], d["agent"], d["kind"])
            text[key] = text.get(key, "") + d["text"]
        else:
            lines.append(d)
    return lines, text


async def test_failing_and_slow_agents_hold_while_others_trade(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    cfg = dataclasses.replace(cfg, arena=dataclasses.replace(cfg.arena, agent_timeout_s=0.2, halt_after_failures=3))
    agents = build_agents(cfg)
    broken = ScriptedAgent("Broken", AgentFailure("server", "Broken: HTTP 500 from the server; holding this cycle."))
    slow = ScriptedAgent("Slow", '{"BTC": {"signal": "hold"}}', delay=1.0)
    crashing = ScriptedAgent("Crashing", RuntimeError("boom"))
    session, seen = await run_session(cfg, agents=[*agents, broken, slow, crashing], cycles=5)
    failed = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert {e.agent for e in failed} == {"Broken", "Slow", "Crashing"}
    assert any(e.kind == "timeout" and "0.2 s" in e.reason for e in failed)
    halted = [e for e in seen if isinstance(e, ev.AgentHalted)]
    assert {e.agent for e in halted} == {"Broken", "Slow", "Crashing"}
    assert all("3 cycles in a row" in e.reason for e in halted)
    # halted agents are not asked again
    assert broken.calls == 3
    # and the baselines kept going every cycle
    ups = [e for e in seen if isinstance(e, ev.AccountUpdated) and e.agent == agents[0].name]
    assert len(ups) == 5


async def test_baselines_answer_in_turn_and_a_raising_one_holds_while_the_others_trade(tmp_path):
    """Rule-based agents never await, so the arena calls them one after another (no task, no
    deadline): their events come in the configured order every cycle, and one whose ``decide``
    raises becomes an AgentFailed for its cycle, not a crash."""
    from arena_tui.engine.agents.baselines import TrendFollower

    class RaisingBaseline(TrendFollower):
        async def decide(self, request, on_delta):
            on_delta("reasoning", "about to fail. ")
            raise RuntimeError("boom")

    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    agents = build_agents(cfg)
    raising = RaisingBaseline("Raising (rule-based)")
    assert all(a.answers_at_once for a in [*agents, raising])
    order = [a.name for a in [agents[0], raising, *agents[1:]]]
    session, seen = await run_session(cfg, agents=[agents[0], raising, *agents[1:]], cycles=3)
    failed = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert [e.agent for e in failed] == ["Raising (rule-based)"] * 3
    assert all(e.kind == "error" and "RuntimeError: boom" in e.reason for e in failed)
    for cycle in (1, 2, 3):
        asked = [e.agent for e in seen if isinstance(e, ev.AgentReplied) and e.cycle == cycle]
        assert asked == order
        ups = [e.agent for e in seen if isinstance(e, ev.AccountUpdated) and e.cycle == cycle]
        assert ups == order


async def test_parse_failure_and_rejections_are_events_not_crashes(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    junk = ScriptedAgent("Junk", "I think the market will go up, probably.")
    greedy = ScriptedAgent(
        "Greedy",
        json.dumps({"BTC": {"signal": "buy_to_enter", "quantity": 5, "leverage": 50, "stop_loss": 100000, "profit_target": 130000, "confidence": 0.9}}),
    )
    _, seen = await run_session(cfg, agents=[junk, greedy], cycles=1)
    f = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert len(f) == 1 and f[0].agent == "Junk" and f[0].kind == "parse"
    rej = [e for e in seen if isinstance(e, ev.DecisionRejected)]
    assert rej and rej[0].agent == "Greedy" and rej[0].coin == "BTC"
    assert not any(isinstance(e, ev.OrderFilled) for e in seen)


async def test_an_llm_style_agent_trades_and_its_stop_fires_between_cycles(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")

    def answer(req):
        if req.account.positions:
            return json.dumps({"BTC": {"signal": "hold"}})
        price = req.market.coins["BTC"].price
        return json.dumps(
            {"BTC": {"signal": "buy_to_enter", "quantity": 0.02, "leverage": 10, "stop_loss": round(price * 0.999, 1), "profit_target": round(price * 1.001, 1), "confidence": 0.6, "risk_usd": 5}}
        )

    agent = ScriptedAgent("Scalper", answer)
    path = tmp_path / "s.jsonl"
    await run_session(cfg, agents=[agent], cycles=40, journal_path=path)
    contents = read_journal(path)
    closed = [e for e in contents.events if isinstance(e, ev.PositionClosed)]
    assert closed and {e.reason for e in closed} <= {"stop_loss", "take_profit"}
    result = await reexecute(path)
    assert result.difference is None and result.cycles == 40


async def test_cycle_now_during_a_cycle_is_coalesced(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    slowish = ScriptedAgent("Slowish", '{"BTC": {"signal": "hold"}}', delay=0.3)
    market = build_market(cfg)
    session = ArenaSession(cfg, market, [slowish], journal=False, max_cycles=3, pace=30.0)
    seen: list[ev.Event] = []
    running = 0
    overlap = False

    def sink(e):
        nonlocal running, overlap
        seen.append(e)
        if isinstance(e, ev.CycleStarted):
            running += 1
            overlap |= running > 1
            # press "cycle now" three times while this cycle runs
            for _ in range(3):
                session.cycle_now()
        elif isinstance(e, ev.CycleCompleted):
            running -= 1

    await asyncio.wait_for(session.run(sink), 10)
    assert not overlap
    assert sum(isinstance(e, ev.CycleStarted) for e in seen) == 3
    assert sum(isinstance(e, ev.TriggerCoalesced) for e in seen) == 9
    # the pace is 30 s, so cycles 2 and 3 only ran because of the coalesced triggers
    assert [e.trigger for e in seen if isinstance(e, ev.CycleStarted)][1:] == ["manual", "manual"]


async def test_pause_holds_cycles_until_resume(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    market = build_market(cfg)
    agents = build_agents(cfg)
    session = ArenaSession(cfg, market, agents, journal=False, max_cycles=3, pace=0.01)
    seen: list[ev.Event] = []

    def sink(e):
        seen.append(e)
        if isinstance(e, ev.CycleCompleted) and e.cycle == 1:
            session.pause()

    task = asyncio.create_task(session.run(sink))
    await wait_until(lambda: any(isinstance(e, ev.SessionPaused) for e in seen))
    # paused: the session waits for a command, however long the pace allows (no timing involved:
    # the scheduler is parked on its trigger)
    await wait_until(lambda: session._trigger is not None and not session._trigger.is_set() and session.next_cycle_in() is None)
    assert sum(isinstance(e, ev.CycleStarted) for e in seen) == 1
    assert session.paused
    session.resume()
    await asyncio.wait_for(task, 30)
    assert sum(isinstance(e, ev.CycleStarted) for e in seen) == 3
    types = [type(e).__name__ for e in seen]
    assert "SessionPaused" in types and "SessionResumed" in types


async def wait_until(predicate, timeout: float = 30.0) -> None:
    """Poll ``predicate`` on the event loop until it holds (a condition, never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_offline_demo_says_which_keys_to_add(tmp_path):
    cfg = demo_config(tmp_path)
    _, seen = await run_session(cfg, cycles=1)
    notes = [e for e in seen if isinstance(e, ev.Notice)]
    assert notes and "OPENAI_API_KEY" in notes[0].text and "ARENA_LOCAL_BASE_URL" in notes[0].text


async def test_journal_never_contains_an_api_key(tmp_path, monkeypatch):
    secret_openai = "sk-" + "test-OPENAI-very-secret-1234567890"  # fake keys, split for secret scanners
    secret_anthropic = "sk-ant-" + "test-ANTHROPIC-very-secret-0987654321"
    monkeypatch.setenv("OPENAI_API_KEY", secret_openai)
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret_anthropic)
    cfg = demo_config(tmp_path, environ=dict(os.environ))
    # point the LLM agents at a closed local port: they fail (connection refused) and hold
    agents = tuple(
        dataclasses.replace(a, base_url="http://127.0.0.1:9/v1", retries=0, timeout_s=2.0) if a.kind != "baseline" else a for a in cfg.agents
    )
    cfg = dataclasses.replace(cfg, agents=agents)
    assert {a.kind for a in cfg.agents} >= {"openai", "anthropic"}
    path = tmp_path / "s.jsonl"
    _, seen = await run_session(cfg, cycles=2, journal_path=path)
    text = path.read_text()
    assert secret_openai not in text and secret_anthropic not in text
    assert "OPENAI_API_KEY" in text  # the variable's name is fine
    fails = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert fails and all(secret_openai not in e.reason for e in fails)


async def test_cycle_now_while_paused_steps_exactly_one_cycle(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal=False, max_cycles=5, pace=0.01)
    seen: list[ev.Event] = []

    def sink(e):
        seen.append(e)
        if isinstance(e, ev.CycleCompleted) and e.cycle == 1:
            session.pause()

    def parked() -> bool:  # waiting on its trigger: only a command can start a cycle now
        return session._trigger is not None and not session._trigger.is_set() and not session._running_cycle

    task = asyncio.create_task(session.run(sink))
    await wait_until(lambda: any(isinstance(e, ev.SessionPaused) for e in seen) and parked())
    assert sum(isinstance(e, ev.CycleStarted) for e in seen) == 1
    session.cycle_now()
    await wait_until(lambda: sum(isinstance(e, ev.CycleCompleted) for e in seen) == 2 and parked())
    started = [e for e in seen if isinstance(e, ev.CycleStarted)]
    assert len(started) == 2 and started[1].trigger == "manual"
    assert session.paused  # still paused: the timer does not start more cycles
    session.stop()
    await asyncio.wait_for(task, 30)
    assert sum(isinstance(e, ev.CycleStarted) for e in seen) == 2


async def test_background_warmup_announces_a_cold_compile(tmp_path, monkeypatch):
    """With an empty Numba cache the screen gets the prices at once, is told why the first cycle
    waits (a progress line that ends), and the session goes on; none of it is journaled."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    journal = tmp_path / "j.jsonl"
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=journal, max_cycles=1, pace=0, background_warmup=True)
    seen: list[ev.Event] = []
    await asyncio.wait_for(session.run(seen.append), 300)
    kinds = [type(e).__name__ for e in seen]
    assert kinds.index("MarketPreview") < kinds.index("Progress") < kinds.index("CycleStarted")
    preview = next(e for e in seen if isinstance(e, ev.MarketPreview))
    first = next(e for e in seen if isinstance(e, ev.MarketUpdated))
    assert set(preview.coins) == set(first.coins) == {"BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"}
    for coin, row in preview.coins.items():  # the same prices cycle 1 shows, without indicators
        assert row == {k: first.coins[coin][k] for k in ("price", "change_pct", "funding_rate", "open_interest")}
    progress = [e for e in seen if isinstance(e, ev.Progress)]
    assert [p.done for p in progress] == [False, True] and {p.key for p in progress} == {"indicators"}
    assert "Compiling the indicators" in progress[0].text and progress[1].text.startswith("Indicators compiled in")
    assert sum(isinstance(e, ev.CycleCompleted) for e in seen) == 1
    journaled = {json.loads(line)["type"] for line in journal.read_text().splitlines()}
    assert not journaled & {"MarketPreview", "Progress"}
    assert session.state.market == first.coins  # the preview never reached the fold


@pytest.mark.parametrize(("child", "announced"), [
    # Numba's import is slow (a loaded machine), the cached kernels then load at once: no notice
    ("import time, sys\ntime.sleep(3)\nprint('imported', flush=True)\n", False),
    # imported at once, then the kernels take long: a compile, announced
    ("import time, sys\nprint('imported', flush=True)\ntime.sleep(3)\n", True),
])
async def test_only_a_slow_kernel_load_is_announced_as_a_compile(tmp_path, monkeypatch, child, announced):
    """The screen said "Compiling the indicators (first start only ...)" on warm starts when the
    warm-up child's import of Numba alone took over 1.5 s. The clock now starts once the child says
    its imports are done (``WARMUP_CHILD``'s first line)."""
    from arena_tui.engine import scheduler

    monkeypatch.setattr(scheduler, "WARMUP_CHILD", child)
    cfg = demo_config(tmp_path, start="2025-10-20T00:00:00Z")
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=tmp_path / "j.jsonl", max_cycles=1, pace=0, background_warmup=True)
    seen: list[ev.Event] = []
    await asyncio.wait_for(session.run(seen.append), 120)
    progress = [e.text for e in seen if isinstance(e, ev.Progress)]
    assert bool(progress) is announced, progress
    assert sum(isinstance(e, ev.CycleCompleted) for e in seen) == 1


async def test_drawdown_bound_halts_an_agent(tmp_path):
    cfg = demo_config(tmp_path, start="2025-10-17T00:00:00Z")
    cfg = dataclasses.replace(cfg, arena=dataclasses.replace(cfg.arena, halt_drawdown_pct=0.3))
    _, seen = await run_session(cfg, cycles=20)
    halted = [e for e in seen if isinstance(e, ev.AgentHalted)]
    # the trend follower opens six shorts into a rising market on Oct 17 and passes 0.3 % from its peak
    assert halted and all("from its peak (bound 0.3%)" in e.reason for e in halted)
    assert "Trend (rule-based)" in {e.agent for e in halted}
    assert "Flat (rule-based)" not in {e.agent for e in halted}
