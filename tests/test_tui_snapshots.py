"""Snapshots of the console (pytest-textual-snapshot), from the scripted offline demo of
test_tui_script.py with the wall clock frozen at 2025-11-20 12:00:00 UTC and a fixed countdown, so
nothing depends on when or how fast the test runs. Update with ``--snapshot-update`` and look at
the SVGs (tests/__snapshots__/test_tui_snapshots/) before committing them.
"""

from __future__ import annotations

from arena_tui.engine.replay import ReplaySession
from arena_tui.tui.app import make_app
from test_tui_script import FakeSession, demo_events, header

FROZEN = 1763640000.0


async def settle(pilot) -> None:
    """Wait until every event sent so far is drawn."""
    await pilot.app.events_rendered()
    await pilot.pause()
    await pilot.app.events_rendered()
    await pilot.pause()


def test_live_screen(snap_compare):
    """You should see the recorded offline demo after 3 cycles at 120x40: the header says RECORDED,
    offline-demo, 2025-10-17 00:10 UTC, wall 12:00:00 UTC, cycle 3, next 0:42, RUNNING; the status
    line names the API keys and the local endpoint that add LLM agents; the market table has BTC at
    108,136.0 (green), ETH 3,899.42 ... DOGE 0.18885 with funding, RSI (76.0 in amber), EMA20/50 and
    MACD coloured; four agent panes titled "1 Trend (rule-based)" ... "4 Flat (rule-based)", the first
    focused (accent border), Trend's showing its take-profit exit (green) and cycle-3 reasoning,
    RSI revert's (red border) its timeouts and a red HALTED line; positions for BTC hold and RSI
    revert; the leaderboard with Trend first, the italic BTC buy & hold row second, RSI revert struck
    through, and equity sparklines; the footer with tab, c Cycle now, p Pause, z, ?, t and q."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


def test_replay_screen(snap_compare):
    """You should see the same recording replayed and stepped to cycle 2 with → →: the header says
    REPLAY, cycle 2/3 · 1x, next –, PAUSED; the panes end at cycle 2 (RSI revert failed, not yet
    halted; Trend still long ETH in the positions table); the footer shows ← Prev, → Next, - Slower,
    + Faster and p Play instead of Pause."""
    session = ReplaySession(header(), demo_events(), paused=True)
    app = make_app(session, clock=lambda: FROZEN)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("right", "right")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_help_screen(snap_compare):
    """You should see the help dialog over the console: a table of keys (c Cycle now, p / space
    Pause / Resume, tab, shift+tab, 1-9, z Zoom, ? / f1 Help, t Theme, q Quit, ctrl+p Commands),
    each with what it does, then the start of "What you see"."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.pause(0.3)  # let the console paint its final state: the dialog shows its last frame
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_light_theme(snap_compare):
    """You should see the live screen of test_live_screen in the arena-light theme: a light grey
    background, dark text, profits in dark green and losses in dark red, rule-based agent names in
    violet and the BTC buy & hold row in amber italics; nothing unreadable (no light text on light)."""
    app = make_app(FakeSession(), theme="light", clock=lambda: FROZEN)
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


def test_small_terminal(snap_compare):
    """You should see the console at 80x24: the header without the wall clock, two lines of the
    offline notice, the full market table (no titles, no scrollbar), only the focused agent's pane at
    full width, no positions table, and the leaderboard cropped at the right after fees."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
