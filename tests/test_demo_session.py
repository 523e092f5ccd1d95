"""The shipped demo session (sessions/demo.jsonl) is a real recorded run that verifies by re-execution.

Re-record it (after a change to the journal's schema or the baselines) with:
``arena-tui --headless --cycles 36 --start 2025-10-21T12:00:00Z --journal sessions/demo.jsonl``
(remove the old file first: arena-tui never writes into an existing journal).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from arena_tui.engine import events as ev
from arena_tui.engine.journal import read_journal
from arena_tui.engine.verify import verify_journal

DEMO = Path(__file__).resolve().parents[1] / "sessions" / "demo.jsonl"


def test_demo_is_small_and_complete():
    assert DEMO.stat().st_size < 1_000_000
    c = read_journal(DEMO)
    assert c.warnings == []
    assert c.header.mode == "recorded" and c.header.session == "demo"
    assert all(a["kind"] == "rule-based" for a in c.header.agents)
    types = {type(e) for e in c.events}
    # the demo shows every kind of thing the screen renders
    for t in (ev.MarketUpdated, ev.ReasoningDelta, ev.DecisionParsed, ev.OrderFilled, ev.PositionClosed, ev.AccountUpdated, ev.CycleCompleted, ev.Notice):
        assert t in types, t.__name__
    assert isinstance(c.events[-1], ev.SessionEnded)


def test_demo_verifies_by_re_execution():
    result = verify_journal(DEMO)
    assert result.difference is None
    assert result.cycles == 36 and result.partial_cycle is None


def test_headless_replay_prints_verified():
    out = subprocess.run([sys.executable, "-m", "arena_tui", "--replay", str(DEMO), "--headless"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "verified 36 cycles (" in out.stdout
    assert "RSI revert (rule-based)" in out.stdout


def test_tampered_journal_fails_verification(tmp_path):
    lines = DEMO.read_text().splitlines(keepends=True)
    i = next(i for i, l in enumerate(lines) if '"type":"AccountUpdated"' in l and '"RSI revert' in l and i > len(lines) // 2)
    lines[i] = lines[i].replace('"account_value":', '"account_value":1', 1)
    bad = tmp_path / "tampered.jsonl"
    bad.write_text("".join(lines))
    out = subprocess.run([sys.executable, "-m", "arena_tui", "--replay", str(bad), "--headless"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "replay differs at cycle" in out.stdout
