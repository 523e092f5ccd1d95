"""Snapshots of the trades view and the equity chart (pytest-textual-snapshot), from the bundled demo
journal (sessions/demo.jsonl: four rule-based agents, 36 cycles, 8 trades) replayed to its end with
the wall clock frozen, so nothing depends on when or how fast the test runs. Update with
``--snapshot-update`` and look at the SVGs (tests/__snapshots__/test_tui_view_snapshots/) first."""

from __future__ import annotations

from pathlib import Path

from arena_tui.engine.replay import ReplaySession
from arena_tui.tui.app import make_app
from test_tui_script import wait_until

DEMO = Path(__file__).resolve().parents[1] / "sessions" / "demo.jsonl"
FROZEN = 1763640000.0


def demo_app():
    return make_app(ReplaySession.from_journal(DEMO, paused=True), clock=lambda: FROZEN)


async def at_the_end_then(pilot, key: str) -> None:
    app = pilot.app
    await app.events_rendered()
    await pilot.press("end")
    await wait_until(lambda: app.session.state is not None and app.session.state.completed_cycle == app.session.total_cycles, "the last cycle")
    await app.events_rendered()
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_trades_view(snap_compare):
    """You should see, at 100x30, the line "8 trades · net -$61.86 · 6 won (75%) · by exit UTC ▼",
    the agent and coin selects ("every agent", "every coin"), then the 8 trades of "2 RSI revert
    (rule-based)", newest exit first: DOGE and BTC shorts closed at 14:55 by stop-loss with red net
    PnL (-113.08, -116.79), then six green exits (take-profit or by the agent) of +20.45 to +30.86;
    columns agent, coin, side, net PnL $, exit, held (35m, 45m), entry UTC, entry, exit UTC ▼ (the
    sorted column marked), exit; the footer: esc Close, TED Views, s Sort, r Reverse, a Agent, c Coin."""
    assert snap_compare(demo_app(), terminal_size=(100, 30), run_before=lambda pilot: at_the_end_then(pilot, "T"))


def test_equity_chart(snap_compare):
    """You should see, at 100x30, the title "Account value (USD) vs BTC buy & hold · 36 cycles ·
    10-21 12:00 → 10-21 14:55 UTC", a braille chart with a value axis from about 9,860 to 10,310 on
    the left and times 10-21 12:00 ... 10-21 14:55 along the bottom: BTC buy & hold (amber) and BTC
    hold rising together to the top right, Flat a level line at 10,000, RSI revert and Trend ending
    lowest; the legend in two columns, best first: BTC buy & hold 10,240.89 +2.41%, 3 BTC hold
    10,211.85 +2.12%, 4 Flat 10,000.00, 2 RSI revert 9,931.53 -0.68%, 1 Trend 9,870.85 -1.29%, each
    in its line's colour; the footer: esc Close, TED Views."""
    assert snap_compare(demo_app(), terminal_size=(100, 30), run_before=lambda pilot: at_the_end_then(pilot, "E"))
