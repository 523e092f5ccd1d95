"""SIGKILL a headless run mid-session, resume it, and check the journal: nothing duplicated or lost."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

import pytest

from arena_tui.engine import events as ev
from arena_tui.engine.journal import read_journal
from arena_tui.engine.verify import rebuild


def start(args, cwd):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL"):
        env.pop(k, None)
    return subprocess.Popen([sys.executable, "-m", "arena_tui", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_then_resume_keeps_every_fill_once(tmp_path):
    journal = tmp_path / "crash.jsonl"
    proc = start(["--headless", "--start", "2025-10-17T00:00:00Z", "--journal", str(journal)], tmp_path)
    # wait until it is well into the session, then kill it without warning
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.stat().st_size > 400_000:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    before = read_journal(journal)
    cycles_before = max((e.cycle for e in before.events if isinstance(e, ev.CycleStarted)), default=0)
    assert cycles_before > 5, "the run should have got going before it was killed"
    assert not any(isinstance(e, ev.SessionEnded) for e in before.events)

    out = subprocess.run(
        [sys.executable, "-m", "arena_tui", "--headless", "--resume", str(journal), "--cycles", "20"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    after = read_journal(journal)
    assert after.warnings == []
    started = [e.cycle for e in after.events if isinstance(e, ev.CycleStarted)]
    # cycle numbers continue without a gap or a repeat
    assert started == list(range(1, len(started) + 1))
    assert len(started) == cycles_before + 20
    # the clock continues one interval per cycle
    times = [e.time for e in after.events if isinstance(e, ev.CycleStarted)]
    assert all(b - a == 300_000 for a, b in zip(times, times[1:]))
    # no fill duplicated: one (agent, coin, time, action) each
    fills = collections.Counter((e.agent, e.coin, e.time, e.action) for e in after.events if isinstance(e, ev.OrderFilled))
    assert fills and max(fills.values()) == 1
    # no fill lost: every fill journaled before the crash is still there, and the ledgers add up
    before_fills = {(e.agent, e.coin, e.time, e.action) for e in before.events if isinstance(e, ev.OrderFilled)}
    assert before_fills <= set(fills)
    resumed = [e for e in after.events if isinstance(e, ev.SessionResumed)]
    assert len(resumed) == 1
    result = rebuild(after)
    assert result.first_mismatch is None, result.first_mismatch

    # and the headless replay verifies it
    rep = subprocess.run(
        [sys.executable, "-m", "arena_tui", "--replay", str(journal), "--headless"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert f"verified {result.cycles_completed} cycles" in rep.stdout
    # every cycle completed except, at most, the one the kill cut off
    assert result.cycles_completed in (len(started), len(started) - 1)
