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
    focused (accent border): Trend's shows its green take-profit exit "■ closed ETH long @ 3,899.00 ·
    take-profit · net +$7.23", its cycle-3 reasoning in dim italics, then its answer folded into
    "▸ answer · 1 decision" and "· hold: SOL"; BTC hold's shows a green "▲ BTC buy 0.09244 @1x" and
    its fill; RSI revert's (red border) its timeouts and a red HALTED block; positions for RSI revert
    (XRP short) and BTC hold (BTC long); the leaderboard with Trend first, the italic BTC buy & hold
    row second, RSI revert struck through, and equity sparklines; the footer with a Answers, tab
    Agent, c Cycle now, p Pause, z Zoom, TEDS Views (trades, equity, detail, sessions), ? Help and q Quit."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


def test_replay_screen(snap_compare):
    """You should see the same recording replayed and stepped to cycle 2 with → →: the header says
    REPLAY, cycle 2/3 · 1x, next –, PAUSED; the status line's offline notice is muted (not blue) and
    starts with "recorded:"; the panes end at cycle 2 (RSI revert failed, not yet halted; Trend's
    answer folded into "▸ answer · 3 decisions" above "· hold: ETH BTC SOL"); the positions table
    holds exactly Trend's ETH long, RSI revert's XRP short and BTC hold's BTC long; the footer shows
    c One cycle, p Play, ←→ Cycle and -+ Speed instead of Cycle now and Pause."""
    session = ReplaySession(header(), demo_events(), paused=True)
    app = make_app(session, clock=lambda: FROZEN)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("right", "right")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_help_screen(snap_compare):
    """You should see the help dialog over the console: a table of keys (c Cycle now "One cycle now,
    also while paused (it stays paused)...", p / space Pause / Resume, tab, shift+tab, 1-9, z Zoom,
    a Answers, T Trades, E Equity, D / ⏎ Detail, S Sessions, ? / f1 Help, t Theme, q Quit, ctrl+p Commands;
    the last ones below the fold), each with what it does, then the
    start of "What you see"."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()  # the console painted: the dialog shows it behind
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
    """You should see the console at 80x24: the header (RECORDED in full, no wall clock), the
    offline notice in two lines ending in "…", the full market table (no titles), only the focused
    agent's pane at full width (Trend: its exit on one line, the reasoning, "▸ answer · 1 decision ·
    27 chars · a: show", "· hold: SOL"), no positions table, the leaderboard with every column that
    fits whole (#, agent, equity, value, return, Sharpe, maxDD, trades: PnL, fees and win rate are
    left out, nothing is cut at the right edge) and a compact footer that still ends with q Quit."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_zoomed_pane_with_the_answer_unfolded(snap_compare):
    """You should see agent 1 (Trend) zoomed to the whole body at 120x40 after z and a: its three
    cycles, each opened by a "── cycle N · 10-17 00:0N" rule, the reasoning in dim italics, the
    answer unfolded under "▾ answer · 1 decision · 114 chars · a: hide" as muted JSON wrapped and
    indented, then "▲ ETH buy 2.5 @10x stop 3,877.00 tp 3,899.00 conf 60%" in green, the fill, the
    holds, and in cycle 3 the green take-profit exit."""
    app = make_app(FakeSession(), clock=lambda: FROZEN)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("1", "z", "a")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
