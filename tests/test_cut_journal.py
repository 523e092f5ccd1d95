"""A journal that ends inside a cycle (a crash, a kill, a full disk) is read as far as its last
complete cycle wherever it is shown: the headless replay's leaderboard, the replay on screen, the
HTML report and the export show the same state, its figures and its trades agreeing (the cut cycle's
trades without its accounts would not), and each says which cycle it left out. The cut cycle itself is still checked by
re-execution as far as it goes (``--resume`` runs it again)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from arena_tui.engine.state import ArenaState, CompleteCycles
from arena_tui.engine.journal import open_journal
from arena_tui.headless import replay_headless
from arena_tui.report import ReportData

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sessions" / "demo.jsonl"


def _cut_after_a_close(tmp_path: Path) -> tuple[Path, Path, int]:
    """The demo journal cut just after its last ``PositionClosed`` (inside a cycle), with half a line
    after it; and the same journal up to the cycle before (whole). Returns both and the cut cycle."""
    lines = DEMO.read_text(encoding="utf-8").splitlines(keepends=True)
    types = [json.loads(x)["type"] for x in lines]
    close = max(i for i, t in enumerate(types) if t == "PositionClosed")
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: close + 1]) + '{"type":"Acc', encoding="utf-8")
    start = max(i for i in range(close) if types[i] == "CycleStarted")
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(lines[:start]), encoding="utf-8")
    return cut, whole, json.loads(lines[start])["cycle"]


def _fold(path: Path) -> ArenaState:
    with open_journal(path) as stream:
        state = ArenaState(stream.header)
        for e in stream:
            state.apply(e)
    return state


def test_complete_cycles_leaves_out_the_cut_cycle_and_says_so(tmp_path):
    cut, whole, n = _cut_after_a_close(tmp_path)
    with open_journal(cut) as stream:
        state = ArenaState(stream.header)
        kept = CompleteCycles(stream)
        for e in kept:
            state.apply(e)
    assert (kept.cut_cycle, kept.cut_events > 0) == (n, True)
    assert f"ends inside cycle {n}" in kept.warning("the report")
    assert state.standings() == _fold(whole).standings()
    # what the fold of every event would show: the cut cycle's trade, its account not yet updated
    raw = {r.agent: r for r in _fold(cut).standings()}
    ours = {r.agent: r for r in state.standings()}
    assert any(raw[a].trades > ours[a].trades and raw[a].win_rate == ours[a].win_rate for a in ours), "the cut cycle holds a close"


def test_the_report_of_a_cut_journal_is_its_complete_cycles(tmp_path):
    cut, whole, n = _cut_after_a_close(tmp_path)
    data, before = ReportData(cut), ReportData(whole)
    assert data.standings == before.standings
    assert data.rows["trades"] == before.rows["trades"]
    for r in data.standings:  # the trades the leaderboard counts are the trades the page lists
        assert r.trades == sum(t["agent"] == r.agent for t in data.rows["trades"])
    assert any(f"ends inside cycle {n}" in w for w in data.warnings), data.warnings


def test_the_headless_replay_of_a_cut_journal_prints_its_last_complete_cycle(tmp_path):
    cut, whole, n = _cut_after_a_close(tmp_path)
    out = io.StringIO()
    assert replay_headless(cut, Console(file=out, width=160)) == 0
    text = out.getvalue()
    assert f"leaderboard after cycle {n - 1}, the last complete one" in text
    assert f"cycle {n} was cut off after" in text
    # no agent is said to have failed for want of the answers the cut took away
    assert "holds no answer" not in text and "failed" not in text
    out2 = io.StringIO()
    assert replay_headless(whole, Console(file=out2, width=160)) == 0
    table = lambda s: s.split("┏", 1)[1].split("┘", 1)[0]  # noqa: E731  (the leaderboard's rows)
    assert table(text) == table(out2.getvalue())


async def _play_to_the_end(session) -> list:
    """Run a replay until it says the recording has ended; every event it sent."""
    import asyncio

    from arena_tui.engine import events as ev

    seen: list = []
    done = asyncio.Event()

    def sink(e) -> None:
        seen.append(e)
        if isinstance(e, ev.Notice) and e.text.startswith(("End of the recording", "End of what was written")):
            done.set()

    task = asyncio.ensure_future(session.run(sink))
    try:
        await asyncio.wait_for(done.wait(), 60)
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)
    return seen


async def test_the_screen_replay_of_a_cut_journal_ends_at_its_last_complete_cycle(tmp_path):
    """The replay on screen shows what the headless replay and the report show: the cut cycle is
    left out with a notice naming it, played through or jumped to, from the file or from memory."""
    from arena_tui.engine import events as ev
    from arena_tui.engine.journal import read_journal
    from arena_tui.engine.replay import ReplaySession

    cut, whole, n = _cut_after_a_close(tmp_path)
    expected = _fold(whole).standings()
    contents = read_journal(cut)
    for session in (ReplaySession.from_journal(cut, speed=1e6), ReplaySession(contents, speed=1e6)):
        assert session.total_cycles == n - 1
        seen = await _play_to_the_end(session)
        assert session.state.standings() == expected
        assert session.state.completed_cycle == n - 1
        assert not [e for e in seen if e.cycle == n and session.is_recorded(e)], "a cut cycle's event was sent"
        warned = [e.text for e in seen if isinstance(e, ev.Notice) and e.level == "warning"]
        assert any(f"ends inside cycle {n} (cut off after" in w and "the replay shows the complete cycles before it" in w for w in warned), warned
        end = [e.text for e in seen if isinstance(e, ev.Notice) and e.text.startswith("End of the recording")]
        assert end == [f"End of the recording ({n - 1} cycles; cycle {n} was cut off and is left out): ← or home to look back."]
    # a jump to the end (home, then end) lands on the same state
    session = ReplaySession.from_journal(cut, paused=True)
    seen = await _jump_then_end(session, n - 1)
    assert session.state.standings() == expected


async def _jump_then_end(session, target: int) -> list:
    import asyncio

    seen: list = []
    task = asyncio.ensure_future(session.run(seen.append))
    try:
        session.seek(0)
        session.seek(10**9)  # past the end: clamped to the last complete cycle
        for _ in range(2000):
            await asyncio.sleep(0.005)
            if session._seek_target is None and session.cycle == target:
                break
        assert session.cycle == target
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)
    return seen


def test_the_export_of_a_cut_journal_is_its_complete_cycles(tmp_path):
    """The export's tables hold the complete cycles, as the report does, and it says which cycle it
    left out (the cut cycle's close is not a trade of the export while its account is not updated)."""
    from arena_tui.export import export_journal

    cut, whole, n = _cut_after_a_close(tmp_path)
    done = export_journal(cut, tmp_path / "cut-out")
    before = export_journal(whole, tmp_path / "whole-out")
    for (table, path, rows), (_, path2, rows2) in zip(done.files, before.files):
        assert (table, rows) == (table, rows2)
        assert path.read_bytes() == path2.read_bytes(), table
    assert any(f"ends inside cycle {n}" in w and "the export shows the complete cycles before it" in w for w in done.warnings), done.warnings
    trades = dict((t, r) for t, _, r in done.files)["trades"]
    assert trades == len(ReportData(cut).rows["trades"])



def _held(journal: Path):
    """The writer's lock on ``journal``, as a running session holds it (skips where there is none)."""
    import pytest

    from arena_tui.engine.journal import _Lock, journal_in_use

    lock = _Lock.acquire(journal)
    if lock is None:
        pytest.skip("no flock on this file system")
    assert journal_in_use(journal)
    return lock


def test_a_journal_a_session_is_writing_is_under_way_not_cut_off(tmp_path):
    """The headless replay, the report and the export of a journal whose writer holds its lock leave
    the cycle being written out as they leave a cut one out, but say it is under way (and where to
    watch it live), not that a crash cut it off."""
    from arena_tui.engine.journal import journal_in_use
    from arena_tui.export import journal_rows

    cut, whole, n = _cut_after_a_close(tmp_path)
    lock = _held(cut)
    try:
        out = io.StringIO()
        assert replay_headless(cut, Console(file=out, width=300)) == 0
        text = out.getvalue()
        assert f"a running session is still writing cycle {n}" in text and f"arena-tui --follow {cut}" in text
        assert "cut off" not in text and "--resume" not in text
        assert any(f"a running session is still writing cycle {n}" in w for w in ReportData(cut).warnings)
        warnings: list[str] = []
        list(journal_rows(cut, warnings))
        assert any(f"a running session is still writing cycle {n}" in w and "the export shows" in w for w in warnings), warnings
    finally:
        lock.release()
    assert not journal_in_use(cut)
    lock = _held(whole)  # written up to a cycle's end: verified, and said to be growing still
    try:
        out = io.StringIO()
        assert replay_headless(whole, Console(file=out, width=300)) == 0
        assert f"verified {n - 1} cycles" in out.getvalue() and f"a running session is still writing it (arena-tui --follow {whole} shows it live)" in out.getvalue()
    finally:
        lock.release()


async def test_the_screen_replay_of_a_journal_being_written_points_to_follow(tmp_path):
    from arena_tui.engine import events as ev
    from arena_tui.engine.replay import ReplaySession

    cut, whole, n = _cut_after_a_close(tmp_path)
    lock = _held(cut)
    try:
        session = ReplaySession.from_journal(cut, speed=1e6)
    finally:
        lock.release()
    seen = await _play_to_the_end(session)
    texts = [e.text for e in seen if isinstance(e, ev.Notice)]
    assert any(f"arena-tui --follow {cut} shows the session live" in t for t in texts), texts
    assert [t for t in texts if "running session is writing" in t] == [
        f"A running session is writing {cut}: this replay ends where the journal ended when it was opened (cycle {n} is under way "
        f"and left out); arena-tui --follow {cut} shows the session live."
    ], texts  # one notice at the start, not one per reader
    assert not any("still writing cycle" in t or "still being written" in t for t in texts), texts
    assert not any("cut off" in t for t in texts), texts
    assert texts[-1] == (f"End of what was written when the replay opened ({n - 1} cycles; cycle {n} is under way): "
                         f"arena-tui --follow {cut} shows the session live; ← or home to look back.")
