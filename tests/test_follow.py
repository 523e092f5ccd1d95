"""``--follow FILE``: a read-only view of a session another process (here: another task) is running,
read from its journal as it grows, through the same fold and the same screen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from arena_tui.cli import main
from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.errors import JournalError
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.follow import FollowSession
from arena_tui.engine.journal import read_journal
from arena_tui.engine.replay import SUMMARY_CYCLES, TAIL_CYCLES
from arena_tui.engine.scheduler import ArenaSession

GUARD_S = 60  # a hang fails the test instead of blocking the suite; not a speed assertion


def arena(tmp_path: Path, cycles: int, pace: float) -> tuple[ArenaSession, Path]:
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"market": {"start": "2025-10-20T00:00:00Z"}})
    path = tmp_path / "running.jsonl"
    return ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=path, max_cycles=cycles, pace=pace), path


async def until(condition, what: str) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(wait(), GUARD_S)
    except TimeoutError:
        pytest.fail(f"gave up waiting for {what}")


def recorded(path: Path) -> list[ev.Event]:
    return [e for e in read_journal(path).events if not isinstance(e, ev.ReasoningDelta)]


async def test_following_a_running_session_sees_every_event_and_the_same_state(tmp_path):
    session, path = arena(tmp_path, cycles=12, pace=0.02)
    running = asyncio.ensure_future(session.run(lambda e: None))
    await until(lambda: path.exists() and path.stat().st_size > 0, "the journal")
    follow = FollowSession(path, poll_s=0.02)
    seen: list[ev.Event] = []
    following = asyncio.ensure_future(follow.run(seen.append))
    await asyncio.wait_for(running, GUARD_S)
    await until(lambda: any(isinstance(e, ev.SessionEnded) for e in seen), "the end of the session")
    follow.stop()
    await asyncio.wait_for(following, GUARD_S)
    assert seen[0] == session.state.header  # the header first, then every event as journaled
    assert [e for e in seen[1:] if not isinstance(e, ev.ReasoningDelta)] == recorded(path)
    assert follow.state.standings() == session.state.standings()
    assert follow.state.cycles_completed == 12


async def test_a_long_journal_is_folded_then_only_its_tail_is_drawn(tmp_path):
    session, path = arena(tmp_path, cycles=40, pace=0)
    await session.run(lambda e: None)
    follow = FollowSession(path)
    seen: list[ev.Event] = []
    following = asyncio.ensure_future(follow.run(seen.append))
    await until(lambda: any(isinstance(e, ev.SessionEnded) for e in seen), "the end of the journal")
    follow.stop()
    await asyncio.wait_for(following, GUARD_S)
    started = [e.cycle for e in seen if isinstance(e, ev.CycleStarted)]
    assert started == list(range(40 - TAIL_CYCLES + 1, 41))  # the panes get the last cycles whole
    completed = [e.cycle for e in seen if isinstance(e, ev.CycleCompleted)]
    assert completed == list(range(max(1, 40 - TAIL_CYCLES - SUMMARY_CYCLES + 1), 41))  # the equity lines get the rest
    assert follow.state.standings() == session.state.standings()
    assert follow.events_read == len([e for e in read_journal(path).events if not isinstance(e, ev.SessionStarted)])


async def test_a_line_being_written_is_waited_for(tmp_path):
    session, path = arena(tmp_path, cycles=3, pace=0)
    await session.run(lambda e: None)
    whole = path.read_bytes()
    last = whole.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(whole[: last + 10])  # the last line cut mid-write
    follow = FollowSession(path, poll_s=0.01)
    seen: list[ev.Event] = []
    following = asyncio.ensure_future(follow.run(seen.append))
    await until(lambda: any(isinstance(e, ev.CycleCompleted) and e.cycle == 3 for e in seen), "cycle 3")
    assert not any(isinstance(e, ev.SessionEnded) for e in seen)
    with path.open("ab") as fh:
        fh.write(whole[last + 10 :])  # the writer finishes the line
    await until(lambda: any(isinstance(e, ev.SessionEnded) for e in seen), "the line once whole")
    follow.stop()
    await asyncio.wait_for(following, GUARD_S)
    assert not any(isinstance(e, ev.Notice) and e.level == "warning" for e in seen)


async def test_a_corrupt_line_ends_following_with_one_notice(tmp_path):
    session, path = arena(tmp_path, cycles=3, pace=0)
    await session.run(lambda e: None)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines) + b'{"type": "CycleStarted", oops\n')
    follow = FollowSession(path, poll_s=0.01)
    seen: list[ev.Event] = []
    await asyncio.wait_for(follow.run(seen.append), GUARD_S)  # it ends by itself
    notice = seen[-1]
    assert isinstance(notice, ev.Notice) and notice.level == "warning"
    assert f"line {len(lines) + 1} is corrupt" in notice.text and "stopped following" in notice.text
    assert follow.state.cycles_completed == 3  # what came before is shown


def test_a_file_that_is_not_a_journal_is_refused_in_one_sentence(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    with pytest.raises(JournalError, match="is not an arena-tui journal"):
        FollowSession(bad)


def test_follow_needs_the_screen(tmp_path, capsys):
    session, path = arena(tmp_path, cycles=1, pace=0)
    asyncio.run(session.run(lambda e: None))
    assert main(["--follow", str(path), "--headless"]) == 2
    err = capsys.readouterr().err
    assert "--follow shows a running session on the screen" in err and "\n" == err[-1] and err.count("\n") == 1


async def test_the_screen_follows_a_running_session(tmp_path):
    """The console over a FollowSession: the header says FOLLOW and counts the cycles as they are
    journaled, the leaderboard ends as the session's, and the keys that would steer a session are
    not offered (it is read-only)."""
    from arena_tui.tui.app import make_app

    session, path = arena(tmp_path, cycles=8, pace=0.05)
    running = asyncio.ensure_future(session.run(lambda e: None))
    await until(lambda: path.exists() and path.stat().st_size > 0, "the journal")
    app = make_app(FollowSession(path, poll_s=0.02), clock=lambda: 1763640000.0)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = app.console_screen
        await asyncio.wait_for(running, GUARD_S)

        async def ended() -> bool:
            await app.events_rendered()
            return app.session.state.ended is not None and screen.header.cycle == 8

        for _ in range(GUARD_S * 10):
            if await ended():
                break
            await pilot.pause(0.1)
        assert screen.header.mode == "follow" and screen.header.cycle == 8
        assert app.session.state.standings() == session.state.standings()


async def test_the_screen_offers_no_key_that_would_steer_the_followed_session(tmp_path):
    from arena_tui.tui.app import make_app

    session, path = arena(tmp_path, cycles=3, pace=0)
    await session.run(lambda e: None)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(line for line in lines if b'"SessionEnded"' not in line))  # still running
    app = make_app(FollowSession(path, poll_s=0.02), clock=lambda: 1763640000.0)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = app.console_screen
        for _ in range(GUARD_S * 10):
            await app.events_rendered()
            if screen.header.cycle == 3:
                break
            await pilot.pause(0.1)
        assert not app.finished and screen.header.cycle == 3
        actions = {b.binding.action for b in screen.active_bindings.values()}  # what the footer and help offer
        assert "quit" in actions and not actions & {"cycle_now", "cycle_step", "pause", "resume", "play"}  # read-only
        await pilot.press("c", "p")
        await pilot.pause()
        assert not app.paused
