"""The compact journal (schema 4): a per-cycle event is written as its changes from the one before
it, an event repeated unchanged is named by the next line (``journal`` module docstring).

What must hold: the reader rebuilds the very events the engine published (a session's events equal
its journal's, field for field and type for type); a replay jumping anywhere in a compact journal
shows what folding it from the start shows; a resumed journal (``JournalWriter.append``) reads back
whole; values JSON writes oddly (NaN, infinities, huge integers, -0.0, lone surrogates, U+2028) come
back exactly in changed and in repeated events; a hand-edited compact journal is one sentence
naming the file and line, a difference or "verified", never a traceback; and the baselines'
journal stays small.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine import journal as journal_mod
from arena_tui.engine import replay as replay_mod
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import JournalWriter, expanded_lines, read_journal
from arena_tui.engine.replay import ReplaySession
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.state import ArenaState

ROOT = Path(__file__).resolve().parent.parent
CYCLES = 60
START = "2025-10-21T14:00:00Z"  # the baselines trade, stop out, take profit and pay funding


def run_session(path: Path, cycles: int = CYCLES, start: str = START) -> list[ev.Event]:
    """A headless session of the demo baselines journaled at ``path``: the events it published."""
    cfg = load_config(None, environ={}, cwd=path.parent, overrides={"market": {"start": start}})
    seen: list[ev.Event] = []
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=path, max_cycles=cycles, pace=0)
    asyncio.run(session.run(seen.append))
    return seen


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, list[ev.Event]]:
    path = tmp_path_factory.mktemp("compact") / "s.jsonl"
    return path, run_session(path)


def _published(seen: list[ev.Event]) -> list[ev.Event]:
    """What the journal holds of a session's events: the header, display-only events and reasoning
    deltas aside (deltas reach the screen as they stream, the journal coalesced)."""
    return [e for e in seen if not isinstance(e, (ev.SessionStarted, ev.ReasoningDelta, *ev.DISPLAY_ONLY))]


def _texts(events) -> dict:
    out: dict = {}
    for e in events:
        if isinstance(e, ev.ReasoningDelta):
            out[(e.cycle, e.agent, e.kind)] = out.get((e.cycle, e.agent, e.kind), "") + e.text
    return out


def _typed(e: ev.Event) -> str:
    """An event with the type of every value (so 1 and 1.0, or 0.0 and -0.0, differ)."""
    return repr(json.loads(json.dumps(e.to_json()), parse_float=lambda s: ("f", s), parse_int=lambda s: ("i", s)))


# --- the round trip --------------------------------------------------------------------------------


def test_the_journal_holds_the_very_events_the_session_published(recorded):
    path, seen = recorded
    got = read_journal(path)
    assert got.header.schema == ev.SCHEMA_VERSION >= journal_mod.COMPACT_SCHEMA
    journaled = [e for e in got.events if not isinstance(e, ev.ReasoningDelta)]
    published = _published(seen)
    assert len(journaled) == len(published)
    for a, b in zip(published, journaled):
        assert type(a) is type(b) and a == b, (a, b)
        assert _typed(a) == _typed(b)
    assert _texts(seen) == _texts(got.events)
    kinds = Counter(type(e).__name__ for e in journaled)
    for kind in ("OrderFilled", "PositionClosed", "FundingPaid"):
        assert kinds[kind], kind


def test_lines_are_json_objects_with_type_cycle_and_time_and_fewer_than_events(recorded):
    path, _ = recorded
    lines = path.read_bytes().splitlines()
    events = read_journal(path).events
    assert len(lines) - 1 < len(events) * 0.8  # repeated events share a line
    for raw in lines:
        d = json.loads(raw)
        assert list(d)[:3] == ["type", "cycle", "time"], raw[:120]
    assert any(b'"^":' in raw for raw in lines)  # repeats
    assert any(b'"|' in raw for raw in lines) and any(b'"~' in raw for raw in lines)  # columns, changes


def test_the_expanded_journal_holds_every_event_whole_and_reads_the_same(recorded, tmp_path):
    path, _ = recorded
    whole = list(expanded_lines(path))
    events = read_journal(path).events
    assert len(whole) == len(events) + 1
    copy = tmp_path / "whole.jsonl"
    copy.write_text("\n".join(whole) + "\n", encoding="utf-8")
    assert read_journal(copy).events == events
    for line, e in zip(whole[1:], events):
        assert set(json.loads(line)) == {"type", *e.__dict__}
    out = subprocess.run([sys.executable, "-m", "arena_tui.engine.journal", str(path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.splitlines() == whole


def test_the_baselines_journal_is_small(recorded):
    """Bytes per cycle once the first cycle (the header, the market's history) is written: the
    steady state of the demo baselines (the wall-clock fields the engine rounds aside)."""
    path, _ = recorded
    lines = path.read_bytes().splitlines(keepends=True)
    start = next(i for i, raw in enumerate(lines) if json.loads(raw)["type"] == "CycleStarted" and json.loads(raw)["cycle"] == 2)
    per_cycle = sum(map(len, lines[start:])) / (CYCLES - 1)
    assert per_cycle < 4000, per_cycle


# --- special values ---------------------------------------------------------------------------------


def _header() -> ev.SessionStarted:
    return ev.SessionStarted(0, 1, "t", "recorded", "recorded:x", ("BTC",), ({"name": "a", "kind": "rule-based", "model": ""},), 10_000.0, 300_000, {})


ODD = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "big": 2**70, "neg0": -0.0, "zero": 0.0, "one": 1, "onef": 1.0, "tiny": 5e-324}


def _odd_cycles() -> list[ev.Event]:
    out: list[ev.Event] = []
    for c in range(1, 5):
        row = dict(ODD)
        if c == 3:
            row["neg0"], row["zero"], row["one"], row["onef"] = 0.0, -0.0, 1.0, 1  # changed to their look-alikes
        text = "line one " + "x" * 60 + f" {c}\n" + ("\ud800 and \u2028 " * (c % 2)) + "end\n"
        out += [
            ev.CycleStarted(c, c * 10, "timer"),
            ev.MarketUpdated(c, c * 10, {"BTC": {**row, "price": 100.0 + (c == 2)}}),
            ev.ReasoningDelta(c, c * 10, "a", "reasoning", text, 0.0),
            ev.ReasoningDelta(c, c * 10, "a", "answer", "same answer " * 10, 0.0),
            ev.AgentReplied(c, c * 10, "a", 0, 0, None, 0.0, 0.0, "stop", "same answer " * 10),
            ev.DecisionParsed(c, c * 10, "a", ({"coin": "BTC", "signal": "hold", "quantity": -0.0 if c == 2 else 0.0},)),
            ev.AccountUpdated(c, c * 10, "a", 10_000.0, 10_000.0, 0.0, -0.0 if c == 4 else 0.0, 0.0, 0.0, 0.0, ()),
            ev.CycleCompleted(c, c * 10, 1.0, (ev.LeaderboardRow(1, "a", "rule-based", 10_000.0, 0.0, 0.0, 0.0, float("nan") if c > 1 else None, None, None, 0),)),
        ]
    return out


def test_odd_values_come_back_exactly(tmp_path):
    p = tmp_path / "odd.jsonl"
    events = _odd_cycles()
    with JournalWriter.create(p, _header()) as w:
        for e in events:
            w.write(e)
    got = read_journal(p).events
    assert [_typed(e) for e in got] == [_typed(e) for e in events]
    raw = p.read_bytes()
    assert b"\xe2\x80\xa8" not in raw and b"\xe2\x80\xa9" not in raw  # other line splitters' breaks
    assert len(raw.splitlines()) <= 1 + len(events) - 3 * 2  # cycles 2-4 repeat the answer and the reply (at least)


# --- resume: the writer rebuilds its context -----------------------------------------------------------


def test_a_journal_continued_by_append_reads_back_whole(recorded, tmp_path):
    path, _ = recorded
    events = read_journal(path).events
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.CycleStarted) and e.cycle == CYCLES // 2)
    p = tmp_path / "resumed.jsonl"
    with JournalWriter.create(p, read_journal(path).header) as w:
        for e in events[:cut]:
            w.write(e)
    for part in (events[cut : cut + 40], events[cut + 40 :]):  # twice, the second time mid-cycle
        with JournalWriter.append(p) as w:
            for e in part:
                w.write(e)
    again = read_journal(p).events
    assert [_typed(e) for e in again] == [_typed(e) for e in events]
    # the same bytes as one writer would have written, but for the held events written out at a close
    assert p.stat().st_size <= path.stat().st_size + 2000


def test_an_old_journal_is_continued_with_whole_lines(tmp_path):
    old = _header()
    object.__setattr__(old, "schema", 3)
    p = tmp_path / "old.jsonl"
    events = _odd_cycles()
    with JournalWriter.create(p, old) as w:
        for e in events[:8]:
            w.write(e)
    with JournalWriter.append(p) as w:
        for e in events[8:]:
            w.write(e)
    lines = p.read_bytes().splitlines()
    assert len(lines) == 1 + len(events)
    assert all(set(json.loads(raw)) == {"type", *e.__dict__} for raw, e in zip(lines[1:], events))
    assert [_typed(e) for e in read_journal(p).events] == [_typed(e) for e in events]


# --- replay: jumps anywhere ---------------------------------------------------------------------------


def _fold(events: list[ev.Event], header: ev.SessionStarted, upto: int) -> ArenaState:
    state = ArenaState(header)
    for e in events:
        if isinstance(e, ev.CycleStarted) and e.cycle > upto:
            break
        if not isinstance(e, ev.ReasoningDelta):
            state.apply(e)
    return state


def _standings(state: ArenaState) -> list:
    return [(r.agent, r.account_value, r.trades) for r in state.standings()]


async def test_a_replay_jumps_anywhere_in_a_compact_journal(recorded, monkeypatch):
    monkeypatch.setattr(replay_mod, "CONTEXT_STRIDE", 4)
    monkeypatch.setattr(replay_mod, "CONTEXTS", 5)  # doubles the stride twice over 60 cycles
    monkeypatch.setattr(replay_mod, "CHECKPOINT_STRIDE", 8)
    path, _ = recorded
    contents = read_journal(path)
    session = ReplaySession.from_journal(path, speed=1e9, cycle_gap_s=0.0, paused=True)
    assert len(session._rec.contexts) <= 5
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))
    try:
        for target in (45, 3, 59, 17, 18, 19, 0, 60, 31):
            session.seek(target)
            for _ in range(5000):
                await asyncio.sleep(0)
                if session._seek_target is None:
                    break
            assert session.cycle == target or (target == 0 and session.cycle == 0)
            assert _standings(session.state) == _standings(_fold(contents.events, contents.header, target)), target
        assert not task.done()
    finally:
        session.stop()
        await asyncio.wait_for(task, 10)


async def test_a_replay_plays_a_compact_journal_through(recorded):
    path, _ = recorded
    contents = read_journal(path)
    session = ReplaySession.from_journal(path, speed=1e9, cycle_gap_s=0.0)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))
    for _ in range(200_000):
        await asyncio.sleep(0)
        if session._at_end():
            break
    session.stop()
    await asyncio.wait_for(task, 10)
    recorded_events = [e for e in seen if session.is_recorded(e) and not isinstance(e, ev.SessionStarted)]
    assert recorded_events == [e for e in contents.events if not isinstance(e, (ev.SessionPaused, ev.SessionResumed))]


# --- hand-edited compact journals: never a traceback ------------------------------------------------------


_VALUES = [0, 1, -1, 99, 2**63, 1.5, -0.0, float("nan"), "", "x", True, None, [], [1, "a"], [[1, 2]], {}, {"a": 1}, {"0": 1.0}, {"-": ["BTC"]}, [5, [1, 2]]]


def _mutate(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    lines = list(lines)
    i = rng.randrange(1, len(lines))
    obj = json.loads(lines[i])
    op = rng.choice(["value", "value", "drop", "repeat", "change", "swap"])
    if op == "value":
        node, key = obj, rng.choice(list(obj))
        while isinstance(node[key], (dict, list)) and node[key] and rng.random() < 0.6:
            node = node[key]
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        node[key] = rng.choice(_VALUES)
    elif op == "drop":
        obj.pop(rng.choice(list(obj)))
    elif op == "repeat":
        obj["^"] = rng.choice(_VALUES)
    elif op == "change":
        obj[rng.choice(["~", "|", "#"]) + rng.choice(["coins", "positions", "leaderboard", "text", "decisions", "cash"])] = rng.choice(_VALUES)
    else:
        j = min(len(lines) - 1, i + rng.randint(1, 3))
        lines[i], lines[j] = lines[j], lines[i]
        return lines
    lines[i] = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
    return lines


def test_hand_edited_compact_journals_never_raise_a_traceback(recorded, tmp_path):
    from test_hostile_journals import via_reexecute, via_replay

    path, _ = recorded
    lines = path.read_bytes().splitlines(keepends=True)
    cycle6 = next(i for i, raw in enumerate(lines) if json.loads(raw)["type"] == "CycleStarted" and json.loads(raw)["cycle"] == 7)
    base = lines[:cycle6]  # 6 cycles: each case re-executes in milliseconds
    rng = random.Random(20251021)
    table: Counter = Counter()
    failures = []
    for n in range(300):
        p = tmp_path / f"case{n % 4}.jsonl"
        p.write_bytes(b"".join(_mutate(rng, base)))
        for label, fn in (("verify", via_reexecute), ("replay", via_replay)):
            try:
                table[label, fn(p)[0]] += 1
            except Exception as exc:  # the one outcome not allowed
                failures.append(f"case {n} {label}: {type(exc).__name__}: {exc}")
    print("\n", dict(sorted(table.items())))
    assert not failures, "\n".join(failures[:10])
    assert table["verify", "sentence"] and table["verify", "difference"]
