"""Journal: JSONL round trip, truncated last line, corrupt middle line, coalesced deltas."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine import events as ev
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import DeltaCoalescer, JournalWriter, read_journal


def header() -> ev.SessionStarted:
    return ev.SessionStarted(0, 1_760_659_200_000, "t", "recorded", "recorded:x", ("BTC",), ({"name": "a", "kind": "rule-based", "model": ""},), 10_000.0, 300_000, {"fees": {"taker_fee_bp": 4.5}})


def sample_events() -> list[ev.Event]:
    return [
        ev.CycleStarted(1, 1, "timer"),
        ev.MarketUpdated(1, 1, {"BTC": {"price": 108129.4, "funding_rate": -2.85e-06, "open_interest": None}}),
        ev.ReasoningDelta(1, 1, "a", "reasoning", "BTC: trend up ", 12.5),
        ev.OrderFilled(1, 1, "a", "BTC", "open", 1, 0.05, 108140.2, 108129.4, 5407.01, 2.433, 10.0, 540.7, 105000.0, 112000.0, "close < 104k", 0.7, 156.5),
        ev.AccountUpdated(1, 1, "a", 9456.8, 9997.5, 0.0, 0.0, 2.43, 0.0, -0.025, ({"coin": "BTC", "side": 1},), {"sharpe": None}),
        ev.CycleCompleted(1, 1, 1.25, ({"agent": "a", "account_value": 9997.5},)),
    ]


def test_round_trip(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter(p, header())
    for e in sample_events():
        w.write(e)
    w.close()
    got = read_journal(p)
    assert got.header == header()
    assert got.events == sample_events()
    assert got.warnings == []
    first = json.loads(p.read_text().splitlines()[0])
    assert first["type"] == "SessionStarted" and first["schema"] == 1


def test_truncated_last_line_is_dropped_with_a_warning(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter(p, header())
    for e in sample_events():
        w.write(e)
    w.close()
    text = p.read_text()
    p.write_text(text[:-40])  # a crash mid-write
    got = read_journal(p)
    assert got.events == sample_events()[:-1]
    assert len(got.warnings) == 1 and "line 7 was cut off" in got.warnings[0]


def test_corrupt_middle_line_names_its_number(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter(p, header())
    for e in sample_events():
        w.write(e)
    w.close()
    lines = p.read_text().splitlines(keepends=True)
    lines[3] = '{"type": "OrderFilled", "cycle": 1, oops\n'
    p.write_text("".join(lines))
    with pytest.raises(JournalError) as info:
        read_journal(p)
    assert "line 4 is corrupt" in str(info.value) and str(p) in str(info.value)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(JournalError, match="does not exist"):
        read_journal(tmp_path / "nope.jsonl")
    (tmp_path / "x.jsonl").write_text('{"type": "CycleStarted", "cycle": 1, "time": 1, "trigger": "timer"}\n')
    with pytest.raises(JournalError, match="should be the SessionStarted header"):
        read_journal(tmp_path / "x.jsonl")
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(JournalError, match="is empty"):
        read_journal(tmp_path / "e.jsonl")


def test_appending_after_a_crash_cuts_the_partial_line(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter(p, header())
    w.write(sample_events()[0])
    w.close()
    with open(p, "a") as fh:
        fh.write('{"type": "Cycle')  # crash mid-write
    w = JournalWriter(p)  # resume
    w.write(sample_events()[1])
    w.close()
    got = read_journal(p)
    assert got.events == sample_events()[:2] and got.warnings == []


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["reasoning", "answer"]), st.text(min_size=1, max_size=5), st.floats(0, 50)), max_size=60))
def test_coalescer_keeps_all_text_in_order(pieces):
    out: list[ev.ReasoningDelta] = []
    c = DeltaCoalescer(out.append, window_ms=100)
    t = 0.0
    for agent, kind, text, dt in pieces:
        t += dt
        c.add(ev.ReasoningDelta(1, 1, agent, kind, text, t))
    c.flush()
    for agent in ("a", "b"):
        for kind in ("reasoning", "answer"):
            want = "".join(p[2] for p in pieces if p[0] == agent and p[1] == kind)
            got = "".join(d.text for d in out if d.agent == agent and d.kind == kind)
            assert got == want
    # chunks are bounded in stream time
    assert len(out) <= len(pieces)


def test_unknown_or_malformed_events_are_refused():
    with pytest.raises(ev.EventDecodeError, match="unknown event type"):
        ev.from_json({"type": "Nope"})
    with pytest.raises(ev.EventDecodeError, match="unexpected fields"):
        ev.from_json({"type": "CycleStarted", "cycle": 1, "time": 1, "bogus": 2})
    with pytest.raises(ev.EventDecodeError):
        ev.from_json({"type": "OrderFilled", "cycle": 1})
