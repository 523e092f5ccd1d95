"""Console defects a new user hit in tmux (issue 16, point 4), one Pilot test (or more) each:

1. ``z`` then ``z`` again left the pane's lines cut at the zoomed width;
2. at 80x24 the positions table and the offline notice (which keys add LLM agents) could not be
   reached: ``v`` now shows them, one panel at a time, and the footer and the help say so;
3. a finished replay still offered "c Cycle now" (and play, pause, next, speed), which did nothing.

The sessions are the scripted offline demo of test_tui_script.py (``FakeSession``) and its replay.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.widgets import Footer

from arena_tui.engine import events as ev
from arena_tui.engine.replay import ReplaySession
from arena_tui.tui.app import ArenaApp, make_app
from arena_tui.tui.screens.help import HelpScreen
from test_tui_script import OFFLINE_HINT, T0, FakeSession, demo_events, header, wait_until

FROZEN = 1763640000.0  # 2025-11-20 12:00:00 UTC


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float = FROZEN) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def settle(app: ArenaApp, pilot) -> None:
    """Every event sent so far is drawn, and the screen has caught up."""
    for _ in range(3):
        await app.events_rendered()
        await pilot.pause()


def offered(app: ArenaApp) -> list[str]:
    """The footer's keys as drawn: ``"c Cycle now"``, or the bare key of a grouped one (``"→"``)."""
    keys = app.console_screen.query_one(Footer).query("FooterKey")
    return [f"{k.key_display} {k.description}".strip() for k in keys if not k.disabled]


def shown(widget) -> bool:
    """The widget is laid out on screen with room to draw in."""
    return widget.region.area > 0


def widest(pane) -> int:
    """The widest of a pane's wrapped lines (cycle rules are cropped when drawn: left out)."""
    return max(cell_len(line) for line in pane.lines() if not line.startswith("──"))


def drawn(pane) -> tuple[list[str], str, str]:
    """A pane as drawn: its wrapped lines, its border title and subtitle."""
    return list(pane.lines()), str(pane.border_title), str(pane.border_subtitle)


# -- 1. zoom and restore ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(140, 45), (200, 60)])
async def test_zoom_then_restore_rewraps_the_pane_at_its_own_width(size):
    """While a pane is zoomed the header's wall clock goes on ticking (hidden behind the zoom), as it
    does every second in the app. Textual then sends the restored pane no ``Resize`` (the layout it
    compares with was already made to answer a region query), and the pane used to keep its lines
    wrapped (and cut) at the zoomed width until a restart. Restored, it must draw exactly what it
    drew before the zoom."""
    clock = Clock()
    app = make_app(FakeSession(), clock=clock)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        screen = app.console_screen
        pane = screen.pane_at(1)
        assert app.focused is pane
        before = drawn(pane)
        width = pane.scrollable_content_region.width
        assert widest(pane) <= width

        await pilot.press("z")
        await settle(app, pilot)
        assert screen.maximized is pane
        assert widest(pane) > width  # re-wrapped to the zoomed width

        clock.now += 1  # the hidden header's clock repaints while zoomed
        await wait_until(lambda: screen.header.wall_time == clock.now, "the header clock to tick")
        await pilot.pause()

        await pilot.press("z")
        await settle(app, pilot)
        assert screen.maximized is None
        assert pane.scrollable_content_region.width == width
        assert drawn(pane) == before
        assert widest(pane) <= width


# -- 2. every panel at 80x24 -----------------------------------------------------------------------


async def test_at_80x24_v_shows_the_positions_the_leaderboard_and_the_notices_in_turn():
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.console_screen
        status, positions, leaderboard, market = screen.status, screen.positions, screen.leaderboard, screen.market
        pane = screen.pane_at(1)
        hint = " ".join(OFFLINE_HINT.split())
        # the console: market, the selected pane and the leaderboard; no positions, the notice cut
        assert shown(market) and shown(pane) and shown(leaderboard) and not shown(positions)
        assert hint not in " ".join(str(status.render()).split())
        assert "v Positions" in offered(app)

        await pilot.press("v")
        await settle(app, pilot)
        assert screen.panel == "positions"
        assert shown(positions) and not shown(market) and not shown(pane) and not shown(leaderboard)
        rows = sum(len(book.positions) for book in app.session.state.agents.values())
        assert positions.row_count == rows >= 2  # RSI revert's XRP short, BTC hold's BTC long
        assert positions.region.height >= positions.row_count + 2  # every row, under the title
        assert "v Leaderboard" in offered(app)

        await pilot.press("v")
        await settle(app, pilot)
        assert shown(leaderboard) and not shown(positions) and not shown(market)
        assert leaderboard.region.height >= leaderboard.row_count + 2
        assert "v Notices" in offered(app)

        await pilot.press("v")
        await settle(app, pilot)
        assert shown(status) and not shown(leaderboard)
        assert hint in " ".join(str(status.render()).split())  # whole: every key and the endpoint
        assert status.region.height >= len(str(status.render()).splitlines())
        assert "v Console" in offered(app)

        await pilot.press("v")
        await settle(app, pilot)
        assert screen.panel == "console"
        assert shown(market) and shown(pane) and shown(leaderboard) and not shown(positions)
        assert app.focused is pane
        assert "v Positions" in offered(app)

        await pilot.press("v", "v")  # the leaderboard; tab brings the console (and the next agent) back
        await pilot.press("tab")
        await settle(app, pilot)
        assert screen.panel == "console" and app.focused is screen.pane_at(2) and shown(screen.pane_at(2))


async def test_at_80x24_the_footer_and_the_help_say_how_to_reach_the_panels():
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        footer = offered(app)
        assert "v Positions" in footer and footer[-1] == "q Quit"
        assert all(k.region.right <= 80 for k in app.console_screen.query_one(Footer).query("FooterKey"))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = app.screen.keys_markdown()
        assert "| v | Panels |" in keys and "positions" in keys and "notice" in keys


async def test_a_replay_at_80x24_still_fits_v_and_quit_in_the_footer():
    """A replay's footer has the replay keys too: in 80 columns it leaves out the speed keys and
    ``a`` (they still work; the help lists them) so that ``v`` and ``q`` fit."""
    session = ReplaySession(header(), demo_events(), paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("right")
        await settle(app, pilot)
        footer = offered(app)
        assert {"c One cycle", "p Play", "←", "→", "v Positions", "? Help", "q Quit"} <= set(footer)
        assert all(k.region.right <= 80 for k in app.console_screen.query_one(Footer).query("FooterKey"))
        await pilot.press("plus")
        assert session.speed == 2.0  # left out of the footer, not disabled


async def test_larger_screens_show_every_panel_and_offer_no_v():
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.console_screen
        assert all(shown(w) for w in (screen.market, screen.positions, screen.leaderboard, screen.pane_at(1)))
        assert not any(label.startswith("v ") for label in offered(app))
        await pilot.press("v")
        await settle(app, pilot)
        assert all(shown(w) for w in (screen.market, screen.positions, screen.leaderboard, screen.pane_at(1)))
        await pilot.press("question_mark")
        assert "| v |" not in app.screen.keys_markdown()


# -- 3. only the keys that work, in every mode -----------------------------------------------------

RUN_KEYS = {"c Cycle now", "c One cycle", "p Pause", "p Resume", "p Play", "←", "→", "-", "+", "← Prev", "→ Next", "- Slower", "+ Faster"}
"""The footer entries that run, pause, play or move a session."""


def run_keys(app: ArenaApp) -> set[str]:
    return RUN_KEYS & set(offered(app))


async def test_live_running_and_paused_offer_their_keys():
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert run_keys(app) == {"c Cycle now", "p Pause"}
        await pilot.press("p")
        await settle(app, pilot)
        assert run_keys(app) == {"c One cycle", "p Resume"}


async def test_a_playing_and_a_paused_replay_offer_their_keys():
    session = ReplaySession(header(), demo_events(), clock=Clock(100.0))  # its clock stands still: cycle 1 never ends
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert run_keys(app) == {"c Cycle now", "p Pause", "←", "→", "-", "+"}
        await pilot.press("p")
        await settle(app, pilot)
        assert run_keys(app) == {"c One cycle", "p Play", "←", "→", "-", "+"}


@pytest.mark.parametrize("how", ["end key", "played to the end", "recorded stop"])
async def test_a_finished_replay_offers_only_what_works(how):
    """After the last recorded cycle: no cycle, no play or pause, no next, end or speed; ← and home
    still go back, and then the keys come back."""
    events = demo_events()
    if how == "recorded stop":
        events = [*events, ev.SessionEnded(3, T0 + 3 * 300_000, "stopped by the user", 3)]
    session = ReplaySession(header(), events, paused=how == "end key", speed=10_000.0)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        if how == "end key":
            await pilot.press("end")
        await wait_until(lambda: session.state.completed_cycle == session.total_cycles == 3, "the end of the recording")
        await settle(app, pilot)
        assert app.console_screen.cycle == 3 == session.total_cycles
        assert run_keys(app) == {"← Prev"}
        for action, parameters in [("cycle_now", ()), ("cycle_step", ()), ("pause", ()), ("play", ()), ("step", (1,)), ("seek_last", ()), ("speed", (2.0,))]:
            assert app.check_action(action, parameters) is False, action
        assert app.check_action("step", (-1,)) and app.check_action("seek_first", ())
        await pilot.press("c", "right", "p")  # nothing happens
        await settle(app, pilot)
        assert app.console_screen.cycle == 3 and session.state.completed_cycle == 3

        if not session.paused:
            session.pause()  # so that going back stays there
        await pilot.press("left")
        await wait_until(lambda: app.console_screen.cycle == 2, "cycle 2 on screen")
        await settle(app, pilot)
        assert run_keys(app) == {"c One cycle", "p Play", "←", "→", "-", "+"}


def footer_fits(app: ArenaApp, width: int) -> bool:
    """Every footer key ends before the palette key (or the right edge), and ? Help and q Quit are there."""
    footer = app.console_screen.footer
    keys = list(footer.query("FooterKey"))
    palette = [k for k in keys if k.has_class("-command-palette")]
    limit = palette[0].region.x if palette else width
    drawn = {f"{k.key_display} {k.description}" for k in keys}
    return {"? Help", "q Quit"} <= drawn and all(k.region.right <= limit for k in keys if k not in palette)


@pytest.mark.parametrize(("replay", "size"), [(True, (100, 30)), (True, (110, 50)), (True, (120, 30)), (False, (100, 30))])
async def test_from_100_columns_up_the_footer_keeps_help_and_quit_on_screen(replay, size):
    """At 100-119 columns a replay's footer (and a short live screen's, with ``v``) ran past the
    right edge: ``? Help`` and ``q Quit`` were cut (at 100x30 it ended at "TE"). The footer now
    drops the palette key, then goes compact, when its keys do not fit; a wide screen gets both back."""
    session = ReplaySession(header(), demo_events(), paused=True) if replay else FakeSession()
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert footer_fits(app, size[0]), offered(app)
        await pilot.resize_terminal(160, size[1])
        await settle(app, pilot)
        footer = app.console_screen.footer
        assert footer_fits(app, 160) and not footer.compact and footer.show_command_palette
        assert {"T", "E", "D", "S"} <= set(offered(app))  # the views' keys, left out of a compact footer
