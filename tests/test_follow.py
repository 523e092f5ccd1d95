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
    follow = FollowSession(path, poll_s=0.01, writer_check_s=10 * GUARD_S)  # (the test plays the writer: no lock)
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



async def test_notices_written_before_following_began_are_history_and_later_ones_news(tmp_path):
    """The catch-up's notices (the writer's offline hint, an old warning) are shown muted as
    ``recorded:`` with no toast, as a replay shows them; a warning written while following is news."""
    from arena_tui.engine.journal import JournalWriter
    from arena_tui.tui.app import make_app

    session, path = arena(tmp_path, cycles=3, pace=0)
    await session.run(lambda e: None)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(line for line in lines if b'"SessionEnded"' not in line))  # still running
    writer = JournalWriter.append(path)
    writer.write(ev.Notice(3, session.state.time, "warning", "gpt-5: an old failure."))
    app = make_app(FollowSession(path, poll_s=0.02), clock=lambda: 1763640000.0)
    async with app.run_test(size=(140, 45)) as pilot:
        status = app.console_screen.status
        for _ in range(GUARD_S * 10):
            await app.events_rendered()
            if any(n.text == "gpt-5: an old failure." for n in status.shown):
                break
            await pilot.pause(0.1)
        assert [(n.text, n.recorded) for n in status.shown if "gpt-5" in n.text] == [("gpt-5: an old failure.", True)]
        assert all(n.recorded for n in status.shown), status.shown
        assert not app._notifications, "an old warning popped up as news"
        writer.write(ev.Notice(3, session.state.time, "warning", "gpt-5: failing now."))
        for _ in range(GUARD_S * 10):
            await app.events_rendered()
            if any(n.text == "gpt-5: failing now." for n in status.shown):
                break
            await pilot.pause(0.1)
        assert [n.recorded for n in status.shown if n.text == "gpt-5: failing now."] == [False]
        assert len(app._notifications) == 1
    writer.close()

async def _follow_until(follow: FollowSession, condition, what: str) -> list[ev.Event]:
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(follow.run(seen.append))
    try:
        await until(lambda: condition(seen), what)
    finally:
        follow.stop()
        await asyncio.wait_for(task, GUARD_S)
    return seen


def _gone(seen: list[ev.Event]) -> list[str]:
    return [e.text for e in seen if isinstance(e, ev.Notice) and e.text.startswith("No process is writing")]


async def test_a_killed_session_is_said_to_have_stopped_once(tmp_path):
    """The writer is SIGKILLed inside cycle 2 (the crash driver: a real process, its lock file left
    with its dead pid): the follower says once that nothing writes the journal any more, where it
    stopped and how to continue it, instead of waiting on a cycle that never completes."""
    import tests.crash_driver as cd

    out = cd.arena(cd.session_args("k.jsonl", cycles=3), tmp_path, kill={"at": "write", "type": "MarketData", "nth": 2, "when": "after"})
    assert out.returncode == -9, out.stderr
    path = tmp_path / "k.jsonl"
    assert (tmp_path / "k.jsonl.lock").exists()  # left by the killed writer
    follow = FollowSession(path, poll_s=0.01, writer_check_s=0.01)
    seen = await _follow_until(follow, lambda s: _gone(s), "the notice that the writer is gone")
    assert _gone(seen) == [
        f"No process is writing {path} any more and it has no end event: the session stopped inside cycle 2 "
        f"(a crash or a kill); arena-tui --resume {path} continues it."
    ]
    assert follow.state.completed_cycle == 1



async def test_the_screen_says_stopped_once_a_followed_writer_is_gone(tmp_path):
    """The header of a followed session whose writer was killed says STOPPED, not RUNNING (the
    notice says where and how to continue it)."""
    import tests.crash_driver as cd
    from arena_tui.tui.app import make_app

    out = cd.arena(cd.session_args("k.jsonl", cycles=3), tmp_path, kill={"at": "write", "type": "MarketData", "nth": 2, "when": "after"})
    assert out.returncode == -9, out.stderr
    follow = FollowSession(tmp_path / "k.jsonl", poll_s=0.01, writer_check_s=0.01)
    app = make_app(follow, clock=lambda: 1763640000.0)
    async with app.run_test(size=(140, 45)) as pilot:
        header = app.console_screen.header
        for _ in range(GUARD_S * 10):
            await app.events_rendered()
            if header.state == "stopped":
                break
            await pilot.pause(0.1)
        assert follow.writer_gone and header.state == "stopped" and not app.ended
        assert str(header.query_one("#state").render()) == "STOPPED"

async def test_a_running_or_ended_session_is_never_said_to_have_stopped(tmp_path):
    # a writer that runs (this process holds the lock) but writes nothing for a while
    from arena_tui.engine.journal import JournalWriter

    session, path = arena(tmp_path, cycles=1, pace=0)
    await session.run(lambda e: None)  # ended: its end event is in the journal (and its lock removed)
    follow = FollowSession(path, poll_s=0.01, writer_check_s=0.01)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(follow.run(seen.append))
    await until(lambda: any(isinstance(e, ev.SessionEnded) for e in seen), "the end event")
    await asyncio.sleep(0.1)  # ten looks' time
    follow.stop()
    await asyncio.wait_for(task, GUARD_S)
    assert _gone(seen) == []
    quiet = tmp_path / "quiet.jsonl"
    writer = JournalWriter.create(quiet, session.state.header)
    follow = FollowSession(quiet, poll_s=0.01, writer_check_s=0.01)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(follow.run(seen.append))
    looked = follow._checked_writer
    await until(lambda: follow._checked_writer > looked, "a look at the writer")
    await asyncio.sleep(0.1)  # several looks
    assert _gone(seen) == []
    writer.close()  # it goes without an end event (a session whose journal could not be written)
    await until(lambda: _gone(seen), "the notice once the writer is gone")
    follow.stop()
    await asyncio.wait_for(task, GUARD_S)
    assert len(_gone(seen)) == 1 and "the session stopped before its first cycle" in _gone(seen)[0]


async def test_following_goes_on_across_a_resume_that_cuts_the_unfinished_cycle(tmp_path):
    """Killed inside cycle 2, then ``--resume``d while followed: the resume moves the unfinished
    cycle aside (the journal gets shorter) and appends; the follower reads the journal again from
    its header (a reset, then the catch-up) and follows the resumed session to its end, with the
    state of the whole journal."""
    import tests.crash_driver as cd
    from arena_tui.engine.journal import read_journal
    from arena_tui.engine.state import ArenaState

    out = cd.arena(cd.session_args("k.jsonl", cycles=4), tmp_path, kill={"at": "write", "type": "MarketData", "nth": 2, "when": "after"})
    assert out.returncode == -9, out.stderr
    path = tmp_path / "k.jsonl"
    follow = FollowSession(path, poll_s=0.01, writer_check_s=0.01)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(follow.run(seen.append))
    await until(lambda: _gone(seen), "the notice that the writer is gone")
    resumed = await asyncio.to_thread(cd.arena, ["--resume", "k.jsonl", "--headless", "--cycles", "3"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    await until(lambda: any(isinstance(e, ev.SessionEnded) for e in seen), "the resumed session's end")
    follow.stop()
    await asyncio.wait_for(task, GUARD_S)
    resets = [i for i, e in enumerate(seen) if isinstance(e, ev.StateReset)]
    assert len(resets) == 1 and seen[resets[0] + 1] == follow.header
    assert any(isinstance(e, ev.Notice) and "was cut back to cycle 1" in e.text for e in seen)
    assert not any(isinstance(e, ev.Notice) and "stopped following" in e.text for e in seen)
    whole = read_journal(path)
    state = ArenaState(whole.header)
    for e in whole.events:
        state.apply(e)
    assert state.completed_cycle > 2  # (cycle 2 run again, and more)
    assert follow.state.standings() == state.standings() and follow.state.completed_cycle == state.completed_cycle


async def test_a_journal_replaced_by_another_sessions_ends_following(tmp_path):
    session, path = arena(tmp_path, cycles=3, pace=0)
    await session.run(lambda e: None)
    follow = FollowSession(path, poll_s=0.01)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(follow.run(seen.append))
    await until(lambda: any(isinstance(e, ev.SessionEnded) for e in seen), "the end")
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"market": {"start": "2025-10-25T00:00:00Z"}, "arena": {"name": "other"}})
    other_path = tmp_path / "other.jsonl"
    other = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=other_path, max_cycles=1, pace=0)
    await other.run(lambda e: None)
    path.write_bytes(other_path.read_bytes())  # shorter, and another session's header
    await asyncio.wait_for(task, GUARD_S)  # it ends by itself
    assert seen[-1].text == f"{path} is now shorter than what was read (it was cut or replaced); stopped following it."
    assert not any(isinstance(e, ev.StateReset) for e in seen)
