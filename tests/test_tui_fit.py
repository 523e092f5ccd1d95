"""Screen defects an auditor reproduced (figures, columns and panels that did not fit the terminal,
and one key that did the wrong thing), one Pilot test (or more) each:

1. tiny MACD values (DOGE's, ``-0.00004460``) ran into the EMA column: figures are fitted to their
   column (``fmt.price(width=...)``: ``-4.46e-5``), every one with its separating space;
2. in the light theme the unfocused pane borders and the tables' title rules were white on white
   (``$panel-lighten-2``): they are ``$arena-rule`` now, set per theme;
3. the positions table cut the liquidation price at 100-109 columns: columns give way by priority
   (target, stop, entry), never cut;
4. Season 1's ``real $`` column pushed the trade counts off an 80-column leaderboard;
5. at 32-35 rows the leaderboard lost rows with no ``v`` to show them: the short layout starts where
   the rows cannot hold every panel (more agents, more rows);
6. a table hidden behind a zoomed pane kept its old columns after a resize;
7. Enter on the sessions browser's row of the session on screen stopped it to follow itself.

The sessions are the scripted offline demo of test_tui_script.py (``FakeSession``) and the Season 1
showcase journal, replayed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.color import Color

from arena_tui.engine import events as ev
from arena_tui.engine.journal import JournalWriter, read_journal
from arena_tui.engine.replay import ReplaySession
from arena_tui.tui import formatting as fmt
from arena_tui.tui.app import ArenaApp, make_app
from arena_tui.tui.screens.console import ConsoleScreen
from arena_tui.tui.screens.sessions import SessionsScreen
from arena_tui.tui.widgets.positions import PositionsTable
from arena_tui.tui.widgets.tables import ArenaTable, fit_columns
from test_tui_defects import FROZEN, Clock, offered, settle
from test_tui_script import FakeSession, wait_until

ROOT = Path(__file__).resolve().parents[1]
SEASON1 = ROOT / "sessions" / "alpha-arena-2025-10-28.jsonl"
DEMO = ROOT / "sessions" / "demo.jsonl"


def assert_whole(table: ArenaTable) -> None:
    """The table holds the columns it means to show (laid out for the terminal as it is now), they
    fit its width, and every figure and header label fits its column with the one-cell gap."""
    shown = table.shown_columns
    laid_out = [(str(key.value), col.width) for key, col in table.columns.items()]
    assert laid_out == [(c.key, c.width_for(table.narrow) + 1) for c in shown], table.id
    used = sum(width for _, width in laid_out)
    assert used <= table.scrollable_content_region.width, (table.id, used, table.scrollable_content_region.width)
    for col in shown:
        room = col.width_for(table.narrow)
        assert cell_len(col.label) <= room, (table.id, col.label)
        if not col.numeric:
            continue  # names are cut by design (the agent's number and mark come first)
        for row_key in table.rows:
            text = table.get_cell(row_key, col.key).plain
            assert cell_len(text) <= room, (table.id, row_key.value, col.key, text)


async def at_the_end(app: ArenaApp, pilot) -> None:
    """Jump the (paused) replay to its last cycle and wait until it is drawn."""
    await app.events_rendered()
    await pilot.press("end")
    await wait_until(lambda: app.session.state is not None and app.session.state.completed_cycle == app.session.total_cycles, "the last cycle")
    await settle(app, pilot)


# -- 1. tiny indicator values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "width", "text"),
    [
        (0.0000842, 8, "8.42e-5"),
        (-0.000076, 8, "-7.60e-5"),
        (-0.0000446, 8, "-4.46e-5"),
        (0.00001234, 9, "0.0000123"),  # a small coin's price in the 9-cell price column
        (0.00442, 8, "0.00442"),  # as before where it fits
        (-2.8242, 8, "-2.8242"),
        (13.8439, 8, "13.8439"),
        (-123_456.7, 9, "-123,457"),
        (None, 8, "–"),
    ],
)
def test_a_price_fitted_to_its_column_keeps_its_value(value, width, text):
    assert fmt.price(value, width) == text
    assert cell_len(text) <= width
    if value is not None:
        assert float(text.replace(",", "")) == pytest.approx(value, rel=0.01)


@pytest.mark.parametrize("size", [(140, 42), (80, 24)])
async def test_every_season1_indicator_fits_its_market_column(size):
    """Season 1's DOGE MACD is under 0.0001 in 35 of its 73 cycles: each figure the market table
    makes from the journal's rows fits its column with a space to spare."""
    rows = [e.coins for e in read_journal(SEASON1).events if isinstance(e, ev.MarketUpdated)]
    app = make_app(ReplaySession.from_journal(SEASON1, paused=True), clock=lambda: FROZEN)
    async with app.run_test(size=size) as pilot:
        await at_the_end(app, pilot)
        market = app.console_screen.market
        assert_whole(market)
        for coins in rows:
            for coin, row in coins.items():
                cells = market._cells(coin, row)
                for key in ("price", "macd", "atr"):
                    assert cell_len(cells[key].plain) <= market.cell_width(key), (coin, key, cells[key].plain)
        assert market._cells("DOGE", {**rows[-1]["DOGE"], "macd": -0.0000446})["macd"].plain == "-4.46e-5"


# -- 2. the light theme's rules and borders --------------------------------------------------------


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", ["arena-light", "arena-dark", "textual-light"])
async def test_rules_and_unfocused_borders_stand_out_in_every_theme(theme):
    """The market and leaderboard title rules and an unfocused pane's border are drawn in a colour
    that stands out from the screen's background and the tables' surface; arena-dark's is the one
    it always had (``#3F4652``)."""
    app = make_app(FakeSession(), theme=theme, clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.console_screen
        unfocused = screen.pane_at(4)  # Flat: neither failing nor halted (their borders have colours of their own)
        assert app.focused is not unfocused
        variables = app.get_css_variables()
        background, surface = Color.parse(variables["background"]), Color.parse(variables["surface"])
        colours = [screen.market.styles.border_top[1], screen.leaderboard.styles.border_top[1], unfocused.styles.border_top[1]]
        for colour in colours:
            assert contrast(colour, background) >= 1.5 and contrast(colour, surface) >= 1.5, (theme, colour.hex)
        if theme == "arena-dark":
            assert {c.hex for c in colours} == {"#3F4652"}


# -- 3. the positions table's columns --------------------------------------------------------------


def test_positions_columns_give_way_target_first_and_keep_the_liquidation_price():
    columns = PositionsTable.COLUMNS
    keys = lambda room: [c.key for c in fit_columns(columns, False, room)]  # noqa: E731
    assert keys(109) == [c.key for c in columns]  # every column: 109 cells
    assert "target" not in keys(108) and {"stop", "entry", "liq"} <= set(keys(108))
    assert "stop" not in keys(98) and {"entry", "liq"} <= set(keys(98))
    assert keys(88) == ["agent", "coin", "side", "quantity", "leverage", "mark", "upnl", "liq"]


@pytest.mark.parametrize("width", [80, 89, 95, 100, 105, 109, 110, 120, 140])
async def test_positions_show_whole_columns_and_the_liquidation_price_at_every_width(width):
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    async with app.run_test(size=(width, 40)) as pilot:
        await settle(app, pilot)
        positions = app.console_screen.positions
        assert positions.row_count >= 2
        assert_whole(positions)
        keys = [c.key for c in positions.shown_columns]
        assert "liq" in keys and "mark" in keys and "upnl" in keys
        if width >= 110:
            assert keys == [c.key for c in PositionsTable.COLUMNS]


# -- 4. Season 1's leaderboard at 80 columns -------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (100, 40), (140, 42)])
async def test_season1_leaderboard_keeps_its_trade_counts_whole(size):
    app = make_app(ReplaySession.from_journal(SEASON1, paused=True), clock=lambda: FROZEN)
    async with app.run_test(size=size) as pilot:
        await at_the_end(app, pilot)
        board = app.console_screen.leaderboard
        keys = [c.key for c in board.shown_columns]
        assert {"rank", "agent", "value", "real", "return", "drawdown", "trades"} <= set(keys)
        assert_whole(board)
        trades = {r.agent: str(r.trades) for r in board.standings()}
        assert {row_key.value: board.get_cell(row_key, "trades").plain for row_key in board.rows} == trades



@pytest.mark.parametrize("width", [100, 120, 140])
async def test_the_header_keeps_the_session_name_by_leaving_the_wall_clock_out(width):
    """A replay's cycle label (``cycle 73/73 · 1x``) squeezed the session name to ``de…`` at 100
    columns: the wall clock gives way until the name has room."""
    app = make_app(ReplaySession.from_journal(SEASON1, paused=True), clock=lambda: FROZEN)
    async with app.run_test(size=(width, 40)) as pilot:
        await at_the_end(app, pilot)
        header = app.console_screen.header
        name, wall = header.query_one("#name"), header.query_one("#wall")
        assert name.region.width >= header.NAME_MIN or not wall.display, (width, name.region.width)
        if width in (100, 140):
            assert wall.display == (width == 140), width  # (at 140 both fit)
        assert "alpha-arena" in str(name.render()), (width, str(name.render()))

# -- 5. every leaderboard row, or v -----------------------------------------------------------------


def every_row_shown(screen: ConsoleScreen) -> bool:
    board = screen.leaderboard
    return board.region.height >= board.row_count + 2  # the title rule and the header above them


@pytest.mark.parametrize("height", [30, 32, 33, 34, 36, 42])
async def test_the_demo_shows_every_leaderboard_row_or_offers_v(height):
    app = make_app(FakeSession(), clock=lambda: FROZEN)
    async with app.run_test(size=(140, height)) as pilot:
        await settle(app, pilot)
        screen = app.console_screen
        assert screen.leaderboard.row_count == 5
        v = any(label.startswith("v ") for label in offered(app))
        if screen.short:
            assert v and screen.has_class("-short") and not screen.has_class("-tall")
        else:
            assert not v and every_row_shown(screen) and screen.has_class("-tall")
        assert screen.short == (height < 34)  # 34 rows hold every panel of 4 agents and 6 coins
        if screen.short:
            await pilot.press("v", "v")  # the whole leaderboard
            await settle(app, pilot)
            assert screen.panel == "leaderboard" and every_row_shown(screen)


@pytest.mark.parametrize("height", [33, 35, 36])
async def test_season1_shows_every_leaderboard_row_or_offers_v(height):
    app = make_app(ReplaySession.from_journal(SEASON1, paused=True), clock=lambda: FROZEN)
    async with app.run_test(size=(140, height)) as pilot:
        await at_the_end(app, pilot)
        screen = app.console_screen
        assert screen.leaderboard.row_count == 7
        assert screen.short == (height < 36)
        if screen.short:
            assert "v Positions" in offered(app)
        else:
            assert every_row_shown(screen) and not any(label.startswith("v ") for label in offered(app))


# -- 6. a resize while a pane is zoomed ------------------------------------------------------------


async def test_tables_hidden_by_a_zoom_are_laid_out_for_a_resize_made_meanwhile():
    """While a pane is zoomed the header's clock ticks (hidden, as it does every second); Textual
    then sends the tables no ``Resize`` for a terminal resized meanwhile, neither then nor when the
    zoom ends. Restored at 80x24 they must have the 80-column layout, not the 140-column one."""
    clock = Clock()
    app = make_app(FakeSession(), clock=clock)
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(app, pilot)
        screen = app.console_screen
        assert "fees" in [c.key for c in screen.leaderboard.shown_columns]
        await pilot.press("p", "z")
        await settle(app, pilot)
        assert screen.maximized is screen.pane_at(1)
        clock.now += 1
        await wait_until(lambda: screen.header.wall_time == clock.now, "the header clock to tick")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        clock.now += 1
        await wait_until(lambda: screen.header.wall_time == clock.now, "the header clock to tick")
        await pilot.pause()
        await pilot.press("z")
        await settle(app, pilot)
        assert screen.maximized is None
        board = screen.leaderboard
        assert [c.key for c in board.shown_columns] == ["rank", "agent", "equity", "value", "return", "win", "sharpe", "drawdown", "trades"]
        assert_whole(board)
        assert_whole(screen.market)


# -- 7. the sessions browser on the session on screen ----------------------------------------------


async def test_enter_on_the_session_on_screen_says_so_and_does_nothing(tmp_path, monkeypatch):
    """The session on screen writes ``live.jsonl`` (it holds its lock: "in use"): Enter on its row
    leaves it running with a notice; Enter on another journal still replays that one."""
    monkeypatch.setattr("arena_tui.sessions.default_cache_path", lambda: tmp_path / "sessions-index.json")
    live, other = tmp_path / "live.jsonl", tmp_path / "other.jsonl"
    shutil.copyfile(DEMO, live)
    shutil.copyfile(DEMO, other)
    writer = JournalWriter.append(live)  # as the running session holds it
    try:
        session = FakeSession()
        session.journal_path = live  # type: ignore[attr-defined]
        app = make_app(session, clock=lambda: FROZEN)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("S")
            screen = app.screen
            assert isinstance(screen, SessionsScreen) and screen.directory == tmp_path
            await wait_until(lambda: screen.listing is not None and screen.table.row_count == 2, "the listing")
            names = [s.name for s in screen.listing.sessions]
            assert screen.listing.sessions[names.index("live.jsonl")].state == "in use"

            screen.table.move_cursor(row=names.index("live.jsonl"))
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.next_journal is None and app.return_code is None and session.stop_calls == 0
            assert app.screen is screen
            assert any("live.jsonl is the session on screen" in n.message for n in app._notifications)

            screen.table.move_cursor(row=names.index("other.jsonl"))
            await pilot.press("enter")
            await wait_until(lambda: app.return_code is not None, "the app to close")
        assert app.next_journal == ("replay", other)
    finally:
        writer.close()
