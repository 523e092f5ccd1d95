"""ReplaySession (engine, no screen) and the replay keys on the console.

The recording is the scripted offline demo of test_tui_script.py (3 cycles, four rule-based agents
on the bundled real market), written to a real journal with the engine's JournalWriter.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Footer

from arena_tui.engine import events as ev
from arena_tui.engine import replay
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import JournalWriter, read_journal
from arena_tui.engine.replay import ReplaySession
from arena_tui.engine.state import ArenaState
from arena_tui.tui import formatting as fmt
from arena_tui.tui.app import make_app
from arena_tui.tui.widgets.reasoning import HISTORY_CYCLES
from test_tui_script import OFFLINE_HINT, T0, TREND, demo_events, header, wait_until

FAST = 10_000.0  # replay speed for tests: the recorded pace is kept, just compressed


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def play(session: ReplaySession, until, timeout: float = 20.0) -> list[ev.Event]:
    """Run ``session`` until ``until(events)`` holds; returns every event it emitted."""
    seen: list[ev.Event] = []
    done = asyncio.Event()

    def sink(e: ev.Event) -> None:
        seen.append(e)
        if until(seen):
            done.set()

    task = asyncio.ensure_future(session.run(sink))
    try:
        await asyncio.wait_for(done.wait(), timeout)
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)
    return seen


def the_end(events: list[ev.Event]) -> bool:
    return any(isinstance(e, ev.Notice) and e.text.startswith("End of the recording") for e in events)


async def test_plays_every_event_in_order_then_waits_at_the_end():
    events = demo_events()
    session = ReplaySession(header(), events, speed=FAST)
    seen = await play(session, the_end)
    assert seen[0] == header()
    assert seen[1:-1] == events
    assert session.cycle == session.total_cycles == 3


async def jump(session: ReplaySession, target: int) -> None:
    """``seek(target)`` and wait until the replay has sent the jump."""
    session.seek(target)
    await wait_until(lambda: session._seek_target is None and session.cycle == target, f"the jump to cycle {target}")


async def test_a_jump_back_emits_a_reset_then_the_cycles_up_to_the_target_at_once():
    events = demo_events()
    session = ReplaySession(header(), events, paused=True)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))
    try:
        await jump(session, 3)
        before = len(seen)
        await jump(session, 2)
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)
    sent = seen[before:]
    assert isinstance(sent[0], ev.StateReset) and sent[0].target_cycle == 2
    assert sent[1] == header()
    assert sent[2:] == [e for e in events if e.cycle <= 2]  # within the panes' history: every event
    assert session.cycle == 2 and session.paused
    assert session.state.cycle == 2 and session.state.completed_cycle == 2


async def test_a_jump_a_few_cycles_on_plays_them_at_once_without_a_reset():
    """→ from cycle 1 shows cycle 2 as playing on would have: no reset, the panes keep cycle 1."""
    events = demo_events()
    session = ReplaySession(header(), events, paused=True)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))
    try:
        session.step(1)
        await wait_until(lambda: session.cycle == 1 and session._seek_target is None, "cycle 1")
        session.step(1)
        await wait_until(lambda: session.cycle == 2 and session._seek_target is None, "cycle 2")
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)
    assert not any(isinstance(e, ev.StateReset) for e in seen)
    assert [e for e in seen if not isinstance(e, (ev.SessionStarted, ev.SessionPaused))] == [e for e in events if e.cycle <= 2]
    assert session.paused and session.state.completed_cycle == 2


async def test_step_and_seek_clamp_to_the_recording():
    session = ReplaySession(header(), demo_events(), paused=True)
    session.seek(99)
    assert session._seek_target == 3
    session.seek(2)
    session.step(-1)
    assert session._seek_target == 1
    session.seek(-5)
    assert session._seek_target == 0


async def test_paused_replay_emits_nothing_until_played():
    session = ReplaySession(header(), demo_events(), paused=True, speed=FAST)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))
    for _ in range(20):
        await asyncio.sleep(0)
    assert [type(e) for e in seen] == [ev.SessionStarted, ev.SessionPaused]
    assert session.next_cycle_in() is None
    session.resume()
    await wait_until(lambda: the_end(seen), "the end of the recording")
    session.stop()
    await asyncio.wait_for(task, 5)
    assert isinstance(seen[2], ev.SessionResumed)


def test_pace_follows_the_recording_scaled_by_speed():
    """Cycles are the recorded ``market.speed`` (2 s) apart; deltas come at their offsets."""
    clock = Clock()
    events = demo_events()
    session = ReplaySession(header(), events, clock=clock, paused=True)
    assert session.gap_ms == 2000.0
    cycle1 = session._load(1)  # chunk 1: cycle 1's events and when each is due (virtual ms)
    first_delta = next(i for i, e in enumerate(cycle1.events) if isinstance(e, ev.ReasoningDelta))
    assert cycle1.due[first_delta] == pytest.approx(cycle1.events[first_delta].offset_ms)
    completed = max(cycle1.due[i] for i, e in enumerate(cycle1.events) if isinstance(e, ev.CycleCompleted))
    assert session._rec.end_due[1] == pytest.approx(completed)
    assert session._rec.start_due[2] == pytest.approx(completed + 2000.0)
    session._k, session._pos = 2, 0  # as if cycle 1 had just been shown
    session._vt = completed
    session.resume()
    assert session.next_cycle_in() == pytest.approx(2.0)
    clock.now += 0.5
    assert session.next_cycle_in() == pytest.approx(1.5)
    session.set_speed(3.0)
    assert session.next_cycle_in() == pytest.approx(0.5)
    session.cycle_now()
    assert session.next_cycle_in() == 0.0


async def test_journal_pauses_are_folded_not_sent_and_a_live_session_gap_is_capped():
    """The recording's own stop and resume (``--resume``) are folded into the state (its end is
    cleared again) but not sent: the replay sends its own pauses and resumes."""
    live = header(mode="live")
    first, second = demo_events(1), [e for e in demo_events(2) if e.cycle == 2]
    events = [*first, ev.SessionEnded(1, T0, "stopped by the user", 1), ev.SessionResumed(1, T0, "resumed after cycle 1"), *second]
    session = ReplaySession(live, events, speed=FAST)
    assert session.gap_ms == 10_000.0  # a 5-minute live interval, capped at max_gap_s
    seen = await play(session, the_end)
    assert not any(isinstance(e, ev.SessionResumed) for e in seen)
    assert any(isinstance(e, ev.SessionEnded) for e in seen)
    assert session.state.ended is None and session.state.completed_cycle == 2


async def test_from_journal_reads_a_real_journal(tmp_path):
    path = tmp_path / "demo.jsonl"
    writer = JournalWriter(path, header())
    for e in demo_events():
        writer.write(e)
    writer.close()
    session = ReplaySession.from_journal(path, speed=FAST)
    seen = await play(session, the_end)
    assert seen[1:-1] == demo_events()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"type": "CycleStarted", "cycle": 4')  # a crash mid-line: dropped with a warning
    session = ReplaySession.from_journal(path, speed=FAST)
    seen = await play(session, the_end)
    assert any(isinstance(e, ev.Notice) and e.level == "warning" and "cut off" in e.text for e in seen)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:5], "not json\n", *lines[5:]]))
    with pytest.raises(JournalError, match="line 6 is corrupt"):
        ReplaySession.from_journal(path)
    path.write_text("not json\n" + path.read_text())
    with pytest.raises(JournalError, match="is not an arena-tui journal"):
        ReplaySession.from_journal(path)


async def test_replay_keys_move_between_cycles_on_screen():
    session = ReplaySession(header(), demo_events(), paused=True)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.console_screen
        await app.events_rendered()
        assert screen.header.mode == "replay" and screen.cycle == 0
        await pilot.press("right")
        await pilot.pause()
        await app.events_rendered()
        assert screen.cycle == 1 and session.cycle == 1
        assert screen.panes[TREND].cycles == [1]
        await pilot.press("right")
        await pilot.pause()
        await app.events_rendered()
        assert screen.cycle == 2 and screen.panes[TREND].cycles == [1, 2]
        await pilot.press("left")
        await pilot.pause()
        await app.events_rendered()
        assert screen.cycle == 1 and screen.panes[TREND].cycles == [1]
        await pilot.press("end")
        await pilot.pause()
        await app.events_rendered()
        assert screen.cycle == 3 and screen.header.cycle == 3
        await pilot.press("home")
        await pilot.pause()
        await app.events_rendered()
        assert screen.cycle == 0 and screen.panes[TREND].cycles == []
        await pilot.press("plus")
        assert session.speed == 2.0
        await pilot.press("minus", "minus")
        assert session.speed == 0.5
        footer_keys = list(screen.query_one(Footer).query("FooterKey"))
        labels = {k.description for k in footer_keys}
        assert {"←", "→", "-", "+"} <= {k.key_display for k in footer_keys}  # grouped: ←→ Cycle  -+ Speed
        assert "Play" in labels and "Resume" not in labels
        await pilot.press("space")
        await pilot.pause()
        await app.events_rendered()
        assert not session.paused and not app.paused
        await pilot.press("space")
        await pilot.pause()
        assert session.paused


async def test_live_sessions_ignore_replay_keys():
    from test_tui_script import FakeSession

    app = make_app(FakeSession(), clock=lambda: 0.0)
    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        assert app.check_action("step", (1,)) is False
        labels = {k.description for k in app.console_screen.query_one(Footer).query("FooterKey")}
        assert "Next" not in labels and "Faster" not in labels


# -- the shipped demo: what a jump shows is exactly the recorded state at the target ----------------

DEMO = Path(__file__).resolve().parents[1] / "sessions" / "demo.jsonl"


def recorded_state(contents, cycle: int) -> dict:
    """What the screen must show at the end of ``cycle``, read straight from the journal: each
    agent's positions from its last ``AccountUpdated``, the last ``MarketUpdated`` prices, the last
    ``CycleCompleted`` leaderboard (rank order, account values)."""
    positions: dict[str, tuple] = {}
    market: dict = {}
    board: tuple = ()
    for e in contents.events:
        if e.cycle > cycle:
            break
        if isinstance(e, ev.AccountUpdated):
            positions[e.agent] = e.positions
        elif isinstance(e, ev.MarketUpdated):
            market = e.coins
        elif isinstance(e, ev.CycleCompleted) and e.leaderboard:
            board = e.leaderboard
    coins = list(contents.header.coins)
    agents = [a["name"] for a in contents.header.agents]
    rows = sorted(
        ((agents.index(agent), coins.index(p.coin), agent, p) for agent, held in positions.items() for p in held),
        key=lambda r: r[:2],
    )
    cash = contents.header.starting_cash
    ranked = [(r.agent, r.account_value) for r in sorted(board, key=lambda r: r.rank)] or [(a, cash) for a in agents]  # before cycle 1
    return {
        "positions": [(f"{agent}/{p.coin}", fmt.quantity(p.quantity), fmt.price(p.mark_price)) for _, _, agent, p in rows],
        "market": {coin: fmt.price(row["price"]) for coin, row in market.items()},
        "board": [(agent, fmt.number(value, 2)) for agent, value in ranked],
    }


def folded(contents, cycle: int) -> ArenaState:
    """The journal's events up to the end of ``cycle`` folded into a new ``ArenaState`` (deltas
    aside, as a live session's bus does)."""
    state = ArenaState(contents.header)
    for e in contents.events:
        if e.cycle > cycle:
            break
        if not isinstance(e, ev.ReasoningDelta):
            state.apply(e)
    return state


def same_state(state: ArenaState, expected: ArenaState) -> None:
    assert (state.cycle, state.completed_cycle, state.market, state.leaderboard) == (
        expected.cycle,
        expected.completed_cycle,
        expected.market,
        expected.leaderboard,
    )
    assert state.standings() == expected.standings()
    for name, book in expected.agents.items():
        got = state.agents[name]
        assert (got.positions, got.trades, got.figures, got.halted, got.consecutive_failures) == (
            book.positions,
            book.trades,
            book.figures,
            book.halted,
            book.consecutive_failures,
        ), name


def on_screen(app) -> dict:
    screen = app.console_screen
    table = screen.positions
    keys = [row.key.value for row in table.ordered_rows]
    board = screen.leaderboard
    return {
        "positions": [(k, table.get_cell(k, "quantity").plain.strip(), table.get_cell(k, "mark").plain.strip()) for k in keys],
        "market": {row.key.value: screen.market.get_cell(row.key, "price").plain.strip() for row in screen.market.ordered_rows},
        "board": [(row.key.value, board.get_cell(row.key, "value").plain.strip()) for row in board.ordered_rows],
    }


def painted(table) -> list[str]:
    """The table's lines as drawn (header first)."""
    return ["".join(segment.text for segment in table.render_line(y)) for y in range(table.size.height)]


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.events_rendered()


async def test_end_shows_exactly_the_last_cycle_after_playing_a_few():
    """Regression: after a few cycles, End left a stale row of an early cycle in the positions
    table (Trend's ETH short at cycle 2's mark 3,886.44 next to cycle 36's 3,969.22). After every
    jump each table must equal the journal's state at the target cycle, row for row."""
    contents = read_journal(DEMO)
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for key, target in [("right", 1), ("right", 2), ("end", 36), ("home", 0), ("end", 36), ("left", 35), ("right", 36)]:
            await pilot.press(key)
            await settle(app, pilot)
            screen = app.console_screen
            assert screen.cycle == target == screen.header.cycle
            expected = recorded_state(contents, target)
            assert on_screen(app) == expected, f"after {key} to cycle {target}"
            lines = painted(screen.positions)[1:]
            assert sum(1 for line in lines if line.strip()) == len(expected["positions"])
            if target:
                assert screen.leaderboard.get_cell(expected["board"][0][0], "rank").plain.strip() == "1."
            for name, pane in screen.panes.items():
                assert pane.cycles == list(range(max(1, target - HISTORY_CYCLES + 1), target + 1))
                assert len(screen.leaderboard.equity(name)) == target  # every cycle's account value
            same_state(session.state, folded(contents, target))
        at_end = recorded_state(contents, 36)["positions"]
        assert ("Trend (rule-based)/ETH", "0.6534", "3,969.22") in at_end  # the row the bug doubled
        trend_eth = [line for line in painted(app.console_screen.positions) if "Trend" in line and " ETH " in line]
        assert len(trend_eth) == 1 and "3,969.22" in trend_eth[0] and "3,886.44" not in trend_eth[0]


async def test_end_while_playing_shows_the_last_cycle():
    """The same jump pressed while the replay plays (wherever it happens to be)."""
    contents = read_journal(DEMO)
    session = ReplaySession.from_journal(DEMO, speed=8.0)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: app.console_screen.cycle >= 2, "cycle 2 on screen")
        await pilot.press("end")
        await settle(app, pilot)
        assert app.console_screen.cycle == 36
        assert on_screen(app) == recorded_state(contents, 36)


async def test_recorded_notices_are_marked_in_a_replay_and_the_replays_own_are_not():
    session = ReplaySession(header(), demo_events(), speed=FAST)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.console_screen.status
        await wait_until(lambda: any(n.text.startswith("End of the recording") for n in status.shown), "the end of the recording")
        await settle(app, pilot)
        assert [n.text for n in status.shown if n.recorded] == [OFFLINE_HINT]
        assert [n.text for n in status.shown if not n.recorded] == ["End of the recording (3 cycles): ← or home to look back."]
        assert "recorded: Offline demo" in str(status.render())
        assert not any("Offline demo" in str(n.message) for n in app._notifications)
        assert session.is_recorded(session.header)


async def test_c_while_paused_plays_one_recorded_cycle_and_stays_paused():
    """On a clock the test moves: each ``cycle_now`` plays one recorded cycle at the recorded pace,
    then the replay stands still however much time passes."""
    clock = Clock()
    session = ReplaySession(header(), demo_events(), paused=True, clock=clock)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))

    def started() -> list[int]:
        return [e.cycle for e in seen if isinstance(e, ev.CycleStarted)]

    async def let_time_pass(until=lambda: False) -> None:
        """Move the clock on a minute at a time (ten times, or until ``until()``), letting the replay run."""
        for _ in range(10):
            if until():
                return
            clock.now += 60.0
            session._poke()
            for _ in range(50):
                await asyncio.sleep(0)

    def completed(cycle: int):
        return lambda: any(isinstance(e, ev.CycleCompleted) and e.cycle == cycle for e in seen)

    await let_time_pass()
    assert started() == [] and session.next_cycle_in() is None
    session.cycle_now()
    await let_time_pass(completed(1))
    await let_time_pass()  # ten minutes on: cycle 2 would have started were it playing
    assert started() == [1]
    assert session.paused and session.cycle == 1 and not any(isinstance(e, ev.SessionResumed) for e in seen)
    session.cycle_now()
    await let_time_pass(completed(2))
    await let_time_pass()
    assert started() == [1, 2] and session.paused
    session.stop()
    await asyncio.wait_for(task, 5)
    assert [e for e in seen if not isinstance(e, (ev.SessionStarted, ev.SessionPaused))] == demo_events(2)


# -- reading a journal as a stream ------------------------------------------------------------------


async def test_a_long_jump_sends_the_last_cycles_and_the_state_holds_them_all():
    """End on the shipped demo (36 cycles) from the start: the replay folds cycles 1-30 without
    sending them, then sends the reset, the header, the recorded notice, cycles 1-30's
    CycleCompleted (for the equity lines) and cycles 31-36 whole."""
    contents = read_journal(DEMO)
    session = ReplaySession.from_journal(DEMO, paused=True)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))
    try:
        await jump(session, 36)
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)
    sent = seen[next(i for i, e in enumerate(seen) if isinstance(e, ev.StateReset)) :]
    assert sent[1] == contents.header
    assert [type(e) for e in sent[2:4]] == [ev.Notice, ev.CycleCompleted] and sent[2].text.startswith("Offline demo")
    tail = replay.TAIL_CYCLES
    assert [e.cycle for e in sent if isinstance(e, ev.CycleStarted)] == list(range(37 - tail, 37))
    assert [e.cycle for e in sent if isinstance(e, ev.CycleCompleted)] == list(range(1, 37))
    whole = [e for e in contents.events if e.cycle > 36 - tail]
    first = next(i for i, e in enumerate(sent) if isinstance(e, ev.CycleStarted))
    assert sent[first : first + len(whole)] == whole
    assert len(sent) < len(contents.events) / 3
    same_state(session.state, folded(contents, 36))


async def test_jumps_fold_from_checkpoints_to_the_same_state(monkeypatch):
    """With a checkpoint every 2 cycles and at most 3 kept (so the stride doubles twice), every
    jump, back or forth, near or far, leaves the state a fold of the journal up to its target."""
    monkeypatch.setattr(replay, "CHECKPOINT_STRIDE", 2)
    monkeypatch.setattr(replay, "CHECKPOINTS", 3)
    contents = read_journal(DEMO)
    session = ReplaySession.from_journal(DEMO, paused=True)
    assert 1 < len(session._rec.checkpoints) <= 3 and session._rec.stride == 16  # 2, 4, 8, then 16 (cycles 16 and 32)
    task = asyncio.ensure_future(session.run(lambda e: None))
    try:
        for target in (36, 35, 17, 18, 30, 9, 0, 1, 33, 36):
            await jump(session, target)
            same_state(session.state, folded(contents, target))
    finally:
        session.stop()
        await asyncio.wait_for(task, 5)


def test_a_journal_changed_under_the_replay_is_one_sentence(tmp_path):
    path = tmp_path / "demo.jsonl"
    path.write_bytes(DEMO.read_bytes())
    session = ReplaySession.from_journal(path)
    path.write_bytes(DEMO.read_bytes()[: DEMO.stat().st_size // 2])
    with pytest.raises(JournalError, match="changed while it was being replayed; open the replay again"):
        session._rec.read(session._rec.n)


async def test_a_recording_resumed_after_a_stop_is_not_ended_on_screen_halfway():
    """The screen's ENDED comes from the state: the recording's stop after cycle 1 is followed by
    its resume, so at cycle 1 the replay is paused, not ended; the keys still step on."""
    first, second = demo_events(1), [e for e in demo_events(2) if e.cycle == 2]
    events = [*first, ev.SessionEnded(1, T0, "stopped by the user", 1), ev.SessionResumed(1, T0, "resumed after cycle 1"), *second]
    session = ReplaySession(header(), events, paused=True)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("right")
        await settle(app, pilot)
        assert app.console_screen.cycle == 1 and session.state.ended is None
        assert not app.ended and app.console_screen.header.state == "paused"
        await pilot.press("right")
        await settle(app, pilot)
        assert app.console_screen.cycle == 2 and not app.ended
