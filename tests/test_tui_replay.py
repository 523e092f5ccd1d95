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
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import JournalWriter, read_journal
from arena_tui.engine.replay import ReplaySession
from arena_tui.tui import formatting as fmt
from arena_tui.tui.app import make_app
from arena_tui.tui.widgets.reasoning import HISTORY_CYCLES
from test_tui_script import OFFLINE_HINT, TREND, demo_events, header

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


async def test_seek_emits_a_reset_then_the_cycles_up_to_the_target_at_once():
    events = demo_events()
    session = ReplaySession(header(), events, paused=True)
    session.seek(2)
    seen = await play(session, lambda es: isinstance(es[-1], ev.CycleCompleted) and es[-1].cycle == 2)
    reset = seen.index(next(e for e in seen if isinstance(e, ev.StateReset)))
    assert seen[reset].target_cycle == 2
    assert seen[reset + 1] == header()
    replayed = seen[reset + 2 :]
    assert replayed == [e for e in events if e.cycle <= 2]
    assert session.cycle == 2 and session.paused


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
    for _ in range(200):
        await asyncio.sleep(0.005)
        if the_end(seen):
            break
    session.stop()
    await asyncio.wait_for(task, 5)
    assert isinstance(seen[2], ev.SessionResumed) and the_end(seen)


def test_pace_follows_the_recording_scaled_by_speed():
    """Cycles are the recorded ``market.speed`` (2 s) apart; deltas come at their offsets."""
    clock = Clock()
    events = demo_events()
    session = ReplaySession(header(), events, clock=clock, paused=True)
    assert session.gap_ms == 2000.0
    first_delta = next(i for i, e in enumerate(events) if isinstance(e, ev.ReasoningDelta))
    assert session._due[first_delta] == pytest.approx(events[first_delta].offset_ms)
    second_cycle = [i for i, e in enumerate(events) if isinstance(e, ev.CycleStarted)][1]
    completed = max(i for i, e in enumerate(events) if isinstance(e, ev.CycleCompleted) and e.cycle == 1)
    assert session._due[second_cycle] == pytest.approx(session._due[completed] + 2000.0)
    session._cursor = completed + 1  # as if cycle 1 had just been shown
    session._vt = session._due[completed]
    session.resume()
    assert session.next_cycle_in() == pytest.approx(2.0)
    clock.now += 0.5
    assert session.next_cycle_in() == pytest.approx(1.5)
    session.set_speed(3.0)
    assert session.next_cycle_in() == pytest.approx(0.5)
    session.cycle_now()
    assert session.next_cycle_in() == 0.0


def test_journal_pauses_are_left_out_and_a_live_session_gap_is_capped():
    live = header(mode="live")
    events = [ev.SessionPaused(1, 1, "user"), *demo_events(1), ev.SessionResumed(1, 2, "user")]
    session = ReplaySession(live, events)
    assert not any(isinstance(e, (ev.SessionPaused, ev.SessionResumed)) for e in session.events)
    assert session.gap_ms == 10_000.0  # a 5-minute live interval, capped at max_gap_s


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
    path.write_text("not json\n" + path.read_text())
    with pytest.raises(JournalError, match="line 1"):
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
    async with app.run_test(size=(120, 40)) as pilot:
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
        ((agents.index(agent), coins.index(p["coin"]), agent, p) for agent, held in positions.items() for p in held),
        key=lambda r: r[:2],
    )
    if not board:  # before the first cycle: every agent at its starting cash
        board = tuple({"agent": a, "rank": i, "account_value": contents.header.starting_cash} for i, a in enumerate(agents))
    return {
        "positions": [(f"{agent}/{p['coin']}", fmt.quantity(p["quantity"]), fmt.price(p["mark_price"])) for _, _, agent, p in rows],
        "market": {coin: fmt.price(row["price"]) for coin, row in market.items()},
        "board": [(r["agent"], fmt.number(r["account_value"], 2)) for r in sorted(board, key=lambda r: r["rank"])],
    }


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
    session = ReplaySession(contents, paused=True)
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
                assert screen.leaderboard.get_cell(expected["board"][0][0], "rank").plain.strip() == "1"
            for name, pane in screen.panes.items():
                assert pane.cycles == list(range(max(1, target - HISTORY_CYCLES + 1), target + 1))
        at_end = recorded_state(contents, 36)["positions"]
        assert ("Trend (rule-based)/ETH", "0.6534", "3,969.22") in at_end  # the row the bug doubled
        trend_eth = [line for line in painted(app.console_screen.positions) if "Trend" in line and " ETH " in line]
        assert len(trend_eth) == 1 and "3,969.22" in trend_eth[0] and "3,886.44" not in trend_eth[0]


async def test_end_while_playing_shows_the_last_cycle():
    """The same jump pressed while the replay plays (wherever it happens to be)."""
    contents = read_journal(DEMO)
    session = ReplaySession(contents, speed=8.0)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.console_screen.cycle < 2:
            await pilot.pause(0.05)
        await pilot.press("end")
        await settle(app, pilot)
        assert app.console_screen.cycle == 36
        assert on_screen(app) == recorded_state(contents, 36)


async def test_recorded_notices_are_marked_in_a_replay_and_the_replays_own_are_not():
    session = ReplaySession(header(), demo_events(), speed=FAST)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.console_screen.cycle < 3:
            await pilot.pause(0.05)
        await settle(app, pilot)
        status = app.console_screen.status
        while not any(n.text.startswith("End of the recording") for n in status.shown):
            await pilot.pause(0.05)
        assert [n.text for n in status.shown if n.recorded] == [OFFLINE_HINT]
        assert [n.text for n in status.shown if not n.recorded] == ["End of the recording (3 cycles): ← or home to look back."]
        assert "recorded: Offline demo" in str(status.render())
        assert not any("Offline demo" in str(n.message) for n in app._notifications)
        assert session.is_recorded(session.events[0]) and not session.is_recorded(ev.Notice(0, 0, "info", OFFLINE_HINT))


async def test_c_while_paused_plays_one_recorded_cycle_and_stays_paused():
    session = ReplaySession(header(), demo_events(), paused=True, speed=FAST)
    seen: list[ev.Event] = []
    task = asyncio.ensure_future(session.run(seen.append))

    async def until_completed(cycle: int) -> None:
        for _ in range(400):
            if any(isinstance(e, ev.CycleCompleted) and e.cycle == cycle for e in seen):
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"cycle {cycle} never completed")

    for _ in range(20):
        await asyncio.sleep(0)
    assert not any(isinstance(e, ev.CycleStarted) for e in seen)
    session.cycle_now()
    await until_completed(1)
    await asyncio.sleep(0.05)  # at 10,000x, cycle 2 would have started by now were it playing
    assert [e.cycle for e in seen if isinstance(e, ev.CycleStarted)] == [1]
    assert session.paused and session.cycle == 1 and not any(isinstance(e, ev.SessionResumed) for e in seen)
    session.cycle_now()
    await until_completed(2)
    await asyncio.sleep(0.05)
    assert [e.cycle for e in seen if isinstance(e, ev.CycleStarted)] == [1, 2]
    assert session.paused
    session.stop()
    await asyncio.wait_for(task, 5)
    assert [e for e in seen if not isinstance(e, (ev.SessionStarted, ev.SessionPaused))] == demo_events(2)
