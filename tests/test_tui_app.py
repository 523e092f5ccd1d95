"""Pilot tests of the console: keys send the session the commands they say, and events land on screen.

The session is ``FakeSession`` (test_tui_script.py): a scripted offline demo over the bundled real
market with four rule-based agents, which records every command the screen sends it.
"""

from __future__ import annotations

import pytest
import asyncio
import dataclasses

from textual.command import CommandList, CommandPalette
from textual.widgets import Footer

from arena_tui.engine import events as ev
from arena_tui.engine.state import ArenaState
from arena_tui.tui.app import ArenaApp, make_app
from arena_tui.tui.screens.help import HelpScreen
from arena_tui.tui.widgets.leaderboard import Leaderboard
from arena_tui.tui.widgets.market import MarketTable
from arena_tui.tui.widgets.positions import PositionsTable
from arena_tui.tui.widgets.reasoning import AgentPane
from test_tui_script import AGENTS, FLAT, HOLD, OFFLINE_HINT, RSI, STEP, T0, TREND, FakeSession, header, wait_until

FROZEN = 1763640000.0  # 2025-11-20 12:00:00 UTC


def app_for(session: FakeSession, **kwargs) -> ArenaApp:
    return make_app(session, clock=lambda: FROZEN, **kwargs)


def borders(pane: AgentPane) -> str:
    """A pane's border title and subtitle, as drawn."""
    return f"{pane.border_title} | {pane.border_subtitle}"


def footer_labels(app: ArenaApp) -> set[str]:
    footer = app.console_screen.query_one(Footer)
    return {key.description for key in footer.query("FooterKey")}


def cycles_started(session: FakeSession) -> list[int]:
    return [e.cycle for e in session.emitted if isinstance(e, ev.CycleStarted)]


async def test_c_starts_exactly_one_cycle():
    session = FakeSession(autoplay=1)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        assert cycles_started(session) == [1]
        await pilot.press("c")
        await pilot.pause()
        await app.events_rendered()
        assert session.cycle_now_calls == 1
        assert cycles_started(session) == [1, 2]
        assert app.console_screen.header.cycle == 2


async def test_while_paused_no_cycle_starts_and_the_footer_says_resume():
    session = FakeSession(autoplay=1)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        assert "Pause" in footer_labels(app) and "Resume" not in footer_labels(app)
        assert "Cycle now" in footer_labels(app) and "One cycle" not in footer_labels(app)
        await pilot.press("p")
        await pilot.pause()
        await app.events_rendered()
        assert session.pause_calls == 1 and session.paused
        assert app.console_screen.header.state == "paused"
        assert "Resume" in footer_labels(app) and "Pause" not in footer_labels(app)
        assert "One cycle" in footer_labels(app) and "Cycle now" not in footer_labels(app)
        await app.events_rendered()
        assert cycles_started(session) == [1]  # nothing starts by itself while paused
        await pilot.press("space")  # space resumes too
        await pilot.pause()
        await app.events_rendered()
        assert session.resume_calls == 1 and not session.paused
        assert "Pause" in footer_labels(app)
        await pilot.press("c")
        await pilot.pause()
        await app.events_rendered()
        assert cycles_started(session) == [1, 2]


async def test_c_while_paused_runs_exactly_one_cycle_and_stays_paused():
    """The engine's ``cycle_now`` steps one cycle while paused; the key sends it once per press."""
    session = FakeSession(autoplay=1)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.press("p")
        await pilot.pause()
        await app.events_rendered()
        assert app.paused and session.cycle_now_calls == 0
        await pilot.press("c")
        await pilot.pause()
        await app.events_rendered()
        assert session.cycle_now_calls == 1
        assert cycles_started(session) == [1, 2]
        assert session.paused and app.paused and session.resume_calls == 0
        assert app.console_screen.header.state == "paused" and app.console_screen.header.cycle == 2
        assert "One cycle" in footer_labels(app) and "Resume" in footer_labels(app)


async def test_q_stops_the_session_and_quits_after_run_returns():
    session = FakeSession()
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.press("q")
        await wait_until(lambda: app.return_code is not None, "the app to exit")
        assert app.return_code == 0  # the bridge asked the app to exit once run() had returned
    assert session.stop_calls == 1
    assert isinstance(session.emitted[-1], ev.SessionEnded)  # run() returned (journal closed) before exit
    assert not app.is_running


async def test_tab_and_digits_focus_agent_panes():
    app = app_for(FakeSession())
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        panes = list(app.console_screen.panes.values())
        assert [p.agent_name for p in panes] == list(AGENTS)
        await pilot.pause()
        assert app.focused is panes[0]
        await pilot.press("tab")
        assert app.focused is panes[1]
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is panes[3]
        await pilot.press("3")
        assert app.focused is panes[2]
        assert panes[2].has_class("-selected") and not panes[0].has_class("-selected")
        await pilot.press("9")  # no ninth agent: focus stays
        assert app.focused is panes[2]


async def test_help_screen_opens_with_question_mark_and_f1_and_closes_with_escape():
    app = app_for(FakeSession())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.keys_markdown()
        assert "Cycle now" in text and "Pause / Resume" in text and "Replay" not in text  # no replay keys live
        await pilot.press("escape")
        assert app.screen is app.console_screen
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # q closes help, it does not quit
        assert app.screen is app.console_screen and app.is_running


async def test_t_opens_the_theme_picker_and_the_palette_has_the_console_commands():
    session = FakeSession(autoplay=1)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.press("t")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        assert app.screen is app.console_screen
        await pilot.press("ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await pilot.press(*"cycle now")
        commands = palette.query_one(CommandList)
        await wait_until(
            lambda: commands.option_count == 1 and "Cycle now" in str(commands.get_option_at_index(0).prompt), "the palette to offer Cycle now"
        )
        await pilot.press("enter")  # the one command found: run it
        await wait_until(lambda: session.cycle_now_calls == 1, "the command to reach the session")
        await app.events_rendered()
        assert cycles_started(session) == [1, 2]


async def test_zoom_maximizes_the_focused_pane():
    app = app_for(FakeSession())
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.press("2", "z")
        assert app.console_screen.maximized is app.console_screen.pane_at(2)
        await pilot.press("z")
        assert app.console_screen.maximized is None


async def test_events_render_into_tables_and_panes():
    app = app_for(FakeSession())
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        screen = app.console_screen
        market = screen.query_one(MarketTable)
        assert [k.value for k in market.rows] == ["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"]
        assert market.get_cell("BTC", "price").plain == "108,136.0"
        assert market.get_cell("ETH", "ema").plain == "▲0.07%"
        positions = screen.query_one(PositionsTable)
        assert sorted(k.value for k in positions.rows) == [f"{HOLD}/BTC", f"{RSI}/XRP"]  # Trend's ETH hit its target
        assert positions.get_cell(f"{RSI}/XRP", "side").plain.strip() == "short"
        board = screen.query_one(Leaderboard)
        assert "BTC buy & hold" in [k.value for k in board.rows]
        assert board.get_cell(TREND, "rank").plain.strip() == "1."
        assert len(board.equity(TREND)) == 3 and board.equity(TREND)[-1] == pytest.approx(10_007.23)
        trend, rsi = screen.panes[TREND], screen.panes[RSI]
        lines = "\n".join(rsi.lines())
        assert "✗ BNB rejected [leverage_bounds]: leverage 25x is above the 20x limit; use 1-20x." in " ".join(rsi.text_of("rejected").split())
        assert "failed (timeout)" in lines and "HALTED" in lines
        assert rsi.has_class("-halted") and "HALTED" in str(rsi.border_subtitle)
        assert trend.text_of("fill", cycle=1) == "● opened ETH long 2.5 @ 3,892.60 · 10x · fee $4.38"
        assert trend.text_of("profit") == "■ closed ETH long @ 3,899.00 · take-profit · net +$7.23"
        assert trend.text("reasoning", cycle=3).startswith("ETH reached the profit target at 3,899")
        assert all("(rule-based)" in str(p.border_title) for p in screen.panes.values())
        assert screen.status.text == OFFLINE_HINT


async def test_streamed_text_arrives_whole_in_the_pane():
    """Deltas are joined before rendering; what the pane holds equals what was sent."""
    app = app_for(FakeSession(autoplay=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        sent = "Funding on BTC is slightly negative.\n\nShorts pay longs; I stay **flat** until RSI14 > 60.\nDone."
        deltas = [sent[i : i + 7] for i in range(0, len(sent), 7)]
        app.sink(ev.CycleStarted(1, 1760659200000))
        for piece in deltas:
            app.sink(ev.ReasoningDelta(1, 1760659200000, TREND, "reasoning", piece))
        await app.events_rendered()
        await pilot.pause()  # the panes, mounted at SessionStarted, get their size
        pane: AgentPane = app.console_screen.panes[TREND]
        assert pane.text("reasoning") == sent
        lines = list(pane.lines())
        assert "── cycle 1" in lines[0] and "Shorts pay longs;" in "".join(lines)


async def test_history_is_bounded():
    from arena_tui.tui.widgets.reasoning import HISTORY_CYCLES

    app = app_for(FakeSession(autoplay=0))
    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        for c in range(1, HISTORY_CYCLES + 4):
            app.sink(ev.CycleStarted(c, 1760659200000 + c))
            app.sink(ev.ReasoningDelta(c, 1760659200000 + c, TREND, "reasoning", f"cycle {c} text"))
        await app.events_rendered()
        pane = app.console_screen.panes[TREND]
        assert pane.cycles == list(range(4, HISTORY_CYCLES + 4))
        assert "cycle 1 text" not in pane.text("reasoning")
        assert {b.cycle for b in pane.blocks} == set(range(4, HISTORY_CYCLES + 4))


async def test_warning_notice_shows_in_status_line_and_as_a_toast():
    app = app_for(FakeSession(autoplay=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        app.sink(ev.Notice(0, 0, "warning", "Numba is compiling the indicators (first run only)."))
        await app.events_rendered()
        await pilot.pause()
        assert app.console_screen.status.text.startswith("Numba is compiling")
        assert app.console_screen.status.level == "warning"
        assert any("Numba" in str(n.message) for n in app._notifications)


async def test_unknown_theme_falls_back_with_a_notice(tmp_path):
    app = app_for(FakeSession(autoplay=0), theme="no-such-theme")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.theme == "arena-dark"
        assert any("Unknown theme 'no-such-theme'" in text for _, text in app.console_screen.status.notices)


async def test_short_theme_names_and_user_themes_load(tmp_path):
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#336699"\ndark = true\n[variables]\narena-benchmark = "#ffaa00"\n')
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    app = app_for(FakeSession(autoplay=0), theme="mine", config_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.theme == "mine"
        notices = [text for _, text in app.console_screen.status.notices]
        assert any("broken.toml" in t and "not a colour" in t and "Skipped it." in t for t in notices)
        assert app.theme_variables["arena-benchmark"] == "#ffaa00"
        app.theme = "arena-light"
        await pilot.pause()
        assert app.theme_variables["arena-benchmark"].lower() == "#b45309"
    light = app_for(FakeSession(autoplay=0), theme="light")
    assert light.theme == "arena-light"


async def test_a_textual_builtin_theme_works_without_the_app_variables():
    app = app_for(FakeSession(), theme="nord")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        assert app.theme == "nord"
        assert app.theme_variables["arena-benchmark"] == app.theme_variables["text-accent"]


async def test_a_parsed_answer_folds_into_one_line_that_a_unfolds():
    """Streamed answer lines are muted and one row each; once DecisionParsed arrives they fold into
    one line under the reasoning, the decisions follow in a readable form, and ``a`` on the
    focused pane shows the answer again (its text is kept whole either way)."""
    app = app_for(FakeSession(autoplay=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        trend: AgentPane = app.console_screen.panes[TREND]
        answer = '{"ETH": {"signal": "buy_to_enter", "quantity": 2.5, "leverage": 10, "profit_target": 3899.0, "stop_loss": 3877.0}}'
        assert trend.text("answer", cycle=1) == answer
        lines = list(trend.lines())
        fold = [line for line in lines if "▸ answer" in line]
        assert len(fold) == 1 and "1 decision" in fold[0]
        assert not any('"signal"' in line for line in lines)  # the JSON is folded away...
        assert "EMA20 3,881.0 is above EMA50" in " ".join(" ".join(lines).split())  # ...the reasoning is not
        assert "▲ ETH buy 2.5 @10x stop 3,877.00 tp 3,899.00 conf 60%" in trend.text_of("buy")
        rsi = app.console_screen.panes[RSI]
        assert "▼ XRP sell 900 @5x stop 2.3445 tp 2.3158 conf 55%" in rsi.text_of("sell")
        flat = app.console_screen.panes[FLAT]
        assert flat.text_of("hold") == "· hold: BTC ETH SOL BNB XRP DOGE"
        assert trend.has_focus
        await pilot.press("a")
        lines = list(trend.lines())
        assert any("▾ answer" in line for line in lines) and '"signal": "buy_to_enter"' in " ".join(" ".join(lines).split())
        assert not any('"signal"' in line for line in rsi.lines())  # only the focused pane unfolds
        await pilot.press("a")
        assert not any('"signal"' in line for line in trend.lines())
        await pilot.press("z")  # zoomed, the whole pane is in view: a click on the fold line unfolds it
        await pilot.pause()
        row = next(i for i, line in enumerate(trend.lines()) if "▸ answer" in line) - trend.scroll_offset.y
        await pilot.click(trend, offset=(4, row + 1))  # + 1: the border
        assert any("▾ answer" in line for line in trend.lines())


async def test_an_answer_streams_muted_and_uncut_until_it_is_parsed():
    app = app_for(FakeSession(autoplay=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        app.sink(ev.CycleStarted(1, 1760659200000))
        app.sink(ev.ReasoningDelta(1, 1760659200000, TREND, "reasoning", "Trend is up.\n"))
        app.sink(ev.ReasoningDelta(1, 1760659200000, TREND, "answer", '{\n  "BTC": {"coin": "BTC", "signal": "hold", "justification": "no clear trend on the 4h candles"}\n}'))
        await app.events_rendered()
        pane: AgentPane = app.console_screen.panes[TREND]
        streaming = list(pane.lines())
        assert streaming[-3] == "{" and streaming[-1] == "}"  # one row per answer line...
        assert streaming[-2].endswith("…") and len(streaming[-2]) <= pane.size.width  # ...cut, not wrapped
        assert pane.status == "answering…"
        app.sink(ev.DecisionParsed(1, 1760659200000, TREND, ({"coin": "BTC", "signal": "hold"},)))
        await app.events_rendered()
        folded = list(pane.lines())
        assert folded[-3:] == ["Trend is up.", " ▸ answer · 1 decision", " · hold: BTC"]  # no blank row between


async def test_a_failed_answer_folds_too_and_says_it_was_not_used():
    app = app_for(FakeSession(autoplay=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        app.sink(ev.CycleStarted(1, 1760659200000))
        app.sink(ev.ReasoningDelta(1, 1760659200000, RSI, "answer", "I think BTC goes up"))
        app.sink(ev.AgentFailed(1, 1760659200000, RSI, "parse", "no JSON object in the answer; holding this cycle."))
        await app.events_rendered()
        await pilot.pause()
        pane = app.console_screen.panes[RSI]
        assert [fold.text for fold in pane.folds] == ["answer · not used (parse) · 19 chars"]
        lines = list(pane.lines())
        assert " ▸ answer" in lines and "I think BTC" not in " ".join(lines)  # a narrow pane: the short form
        assert "⚠ failed (parse): no JSON object" in " ".join(" ".join(lines).split())


async def test_80x24_keeps_the_leaderboard_whole_and_the_keys_in_the_footer():
    """Under 100 columns the tables drop their least needed columns instead of cutting the right
    ones off; the footer is compact and still ends with q Quit; the one pane shown is full width."""
    session = FakeSession(autoplay=3)
    app = app_for(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        screen = app.console_screen
        board = screen.leaderboard
        # (rule-based agents only: the win rate, not a cost column of dashes)
        assert [c.key for c in board.shown_columns] == ["rank", "agent", "equity", "value", "return", "win", "sharpe", "drawdown", "trades"]
        assert sum(c.width_for(True) + 1 for c in board.shown_columns) <= 80
        assert "liq" in [c.key for c in screen.positions.shown_columns] and "stop" not in [c.key for c in screen.positions.shown_columns]
        labels = footer_labels(app)
        assert {"Cycle now", "Pause", "Zoom", "Help", "Quit", "Answers", "Agent"} <= labels
        footer = screen.query_one(Footer)
        assert max(key.region.right for key in footer.query("FooterKey")) <= 80
        pane = screen.pane_at(1)
        assert pane.region.width == 80 and not screen.pane_at(2).display
        assert "open" in str(screen.panes[HOLD].border_subtitle)  # the hidden positions table's count
        assert len(screen.status.render().plain.splitlines()) <= 2
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert "pnl" in [c.key for c in board.shown_columns] and board.get_cell(TREND, "pnl").plain.strip() == "+7.23"


@pytest.mark.parametrize(
    "llm, width, columns",
    [
        (False, 120, ["pnl", "fees", "win", "sharpe", "drawdown", "trades"]),
        (False, 110, ["pnl", "win", "sharpe", "drawdown", "trades"]),
        (False, 80, ["win", "sharpe", "drawdown", "trades"]),
        (True, 120, ["pnl", "win", "sharpe", "drawdown", "trades", "cost"]),
        (True, 80, ["sharpe", "drawdown", "trades", "cost"]),
    ],
)
async def test_rule_based_agents_alone_show_pnl_win_rate_and_fees_instead_of_tokens_and_cost(llm, width, columns):
    """No model in the session, no tokens or cost to show: PnL, win rate and fees take their room
    where they fit (fees give way first, then PnL); with a model, the columns are as before."""
    agents = header().agents
    if llm:
        agents = ({**agents[0], "kind": "openai-compatible", "model": "qwen3-max"}, *agents[1:])
    state = ArenaState(dataclasses.replace(header(), agents=agents))
    app = app_for(FakeSession(autoplay=0))
    async with app.run_test(size=(width, 40)) as pilot:
        await app.events_rendered()
        board = app.console_screen.leaderboard
        board.show(state)
        await pilot.pause()
        shown = [c.key for c in board.shown_columns]
        assert shown == ["rank", "agent", "equity", "value", "return", *columns]
        assert sum(c.width_for(board.narrow) + 1 for c in board.shown_columns) <= board.room
        assert [str(c.label).strip() for c in board.columns.values()][5:] == [c.label for c in board.shown_columns][5:]


async def test_the_tables_show_the_sessions_state_not_a_fold_of_their_own():
    """The positions table (like the market and the leaderboard) is drawn from ``session.state``: an
    AccountUpdated the state never folded changes nothing; once the state has it, the row shows."""
    session = FakeSession()
    app = app_for(session)
    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        table = app.console_screen.positions
        before = [row.key.value for row in table.ordered_rows]
        sol = ev.PositionRow("SOL", 1, 10.0, 185.0, 185.34, 3.4, 5.0, 150.0)
        stray = ev.AccountUpdated(3, T0 + 2 * STEP, FLAT, 9_630.0, 10_003.4, 0.0, 3.4, 0.0, 0.0, 0.034, (sol,))
        app.sink(stray)
        await app.events_rendered()
        assert [row.key.value for row in table.ordered_rows] == before
        session.state.apply(stray)
        app.sink(stray)
        await app.events_rendered()
        assert f"{FLAT}/SOL" in [row.key.value for row in table.ordered_rows]
        assert table.border_subtitle.startswith(f"{len(before) + 1} open")
        assert "$10,003.40" in borders(app.console_screen.panes[FLAT])  # the title's, or the subtitle's when narrow


async def test_a_fill_shows_in_the_positions_table_before_the_cycle_ends():
    """An agent that trades while another is still thinking: its position is on screen at its fill
    (marked at the fill's reference price; the liquidation price comes with the account update),
    and gone at its close."""
    session = FakeSession()
    app = app_for(session)
    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        table = app.console_screen.positions
        assert f"{FLAT}/SOL" not in [row.key.value for row in table.ordered_rows]
        t = T0 + 3 * STEP
        fill = ev.OrderFilled(4, t, FLAT, "SOL", "open", 1, 10.0, 185.5, 185.34, 1855.0, 0.83, 5.0, 371.0, stop_loss=170.0)
        for e in (ev.CycleStarted(4, t, "timer"), fill):
            session.state.apply(e)
            app.sink(e)
        await app.events_rendered()
        assert f"{FLAT}/SOL" in [row.key.value for row in table.ordered_rows]
        assert table.get_cell(f"{FLAT}/SOL", "mark").plain.strip() == "185.34"
        assert table.get_cell(f"{FLAT}/SOL", "liq").plain.strip() == "–"
        closed = ev.PositionClosed(4, t, FLAT, "SOL", 1, 10.0, 5.0, t, 185.5, 185.0, 185.34, 0.83, 0.83, 0.0, -5.0, -6.66, "stop_loss")
        session.state.apply(closed)
        app.sink(closed)
        await app.events_rendered()
        assert f"{FLAT}/SOL" not in [row.key.value for row in table.ordered_rows]


@pytest.mark.parametrize(
    "reason, cycles, line",
    [
        ("ran the 3 cycles asked for", 3, "Session ended: ran the 3 cycles asked for."),
        ("ran the 2 cycles asked for", 5, "Session ended: ran the 2 cycles asked for (5 cycles)."),  # a resumed session's
        ("stopped by the user", 1, "Session ended: stopped by the user (1 cycle)."),
    ],
)
async def test_the_end_of_a_session_says_its_cycles_once(reason, cycles, line):
    session = FakeSession()
    app = app_for(session)
    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        app.sink(ev.SessionEnded(cycles, T0 + 3 * STEP, reason, cycles))
        await app.events_rendered()
        assert app.console_screen.status.shown[-1].text == line


async def test_a_resumed_session_shows_its_accounts_in_the_first_frame():
    """A resumed session's state holds its history before it sends any event: the first frame
    already has its agents' panes, positions, leaderboard and cycle."""

    class Resumed(FakeSession):
        async def run(self, sink) -> None:
            self.go = asyncio.Event()
            await self.go.wait()  # nothing is sent while the test looks at the first frame
            await super().run(sink)

    session = Resumed(history=2, autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert session.emitted == []
        screen = app.console_screen
        assert list(screen.panes) == list(AGENTS) and screen.header.cycle == 2
        assert sorted(row.key.value for row in screen.positions.ordered_rows) == [f"{HOLD}/BTC", f"{RSI}/XRP", f"{TREND}/ETH"]
        assert screen.positions.get_cell(f"{TREND}/ETH", "mark").plain.strip() == "3,895.57"  # cycle 2's mark
        board = screen.leaderboard
        assert [row.key.value for row in board.ordered_rows] == [r.agent for r in session.state.leaderboard]
        assert board.get_cell(TREND, "value").plain.strip() == f"{session.state.agents[TREND].account_value:,.2f}"
        assert screen.market.get_cell("BTC", "price").plain == "108,010.9"
        assert "$10,003.05" in borders(screen.panes[TREND])  # (a 30-column pane: the return is left out)
        session.go.set()
        await app.events_rendered()
        assert list(screen.panes) == list(AGENTS)  # the header that follows changes nothing


async def test_agent_replied_tells_the_latency_once_and_never_prints_the_answer_again():
    """The last call's latency, tokens and cost come from the state's ``last_reply`` and stay in the
    subtitle through the next cycle's start, until the next call ends; a failed call shows its
    failure instead, and a parsed decision clears the mark."""
    session = FakeSession(autoplay=0)
    app = app_for(session)

    def send(event: ev.Event) -> None:
        session.state.apply(event)
        app.sink(event)

    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        session.state = ArenaState()  # a session of one LLM agent from here on
        send(dataclasses.replace(header(), agents=({"name": "GPT", "kind": "llm", "model": "gpt-5"},)))
        answer = '{"BTC": {"signal": "hold"}}'
        send(ev.CycleStarted(1, T0))
        send(ev.AgentStarted(1, T0, "GPT"))
        send(ev.ReasoningDelta(1, T0, "GPT", "answer", answer))
        send(ev.AgentReplied(1, T0, "GPT", 1200, 85, 0.8, 3.2, 0.0021, "stop", answer, reasoning_tokens=40))
        await app.events_rendered()
        pane = app.console_screen.panes["GPT"]
        assert pane.call_line == "answered in 3.2 s · 85 tok (40 reasoning) · $0.0021"
        assert str(pane.border_subtitle) == "answered in 3.2 s · 85 tok (40 reasoning) · $0.0021 · gpt-5"
        assert pane.text("answer") == answer  # streamed once, not printed again by the reply
        send(ev.DecisionParsed(1, T0, "GPT", ({"coin": "BTC", "signal": "hold"},)))
        send(ev.CycleStarted(2, T0 + STEP))
        send(ev.AgentStarted(2, T0 + STEP, "GPT"))
        await app.events_rendered()
        assert str(pane.border_subtitle) == "thinking… · answered in 3.2 s · 85 tok (40 reasoning) · $0.0021 · gpt-5"
        send(ev.AgentReplied(2, T0 + STEP, "GPT", latency_s=90.0, failure_kind="timeout", failure_reason="GPT: no answer within 90 s"))
        send(ev.AgentFailed(2, T0 + STEP, "GPT", "timeout", "GPT: no answer within 90 s. Holding this cycle."))
        send(ev.MarketData(2, T0 + STEP, T0 + STEP, {}))  # re-execution's input: nothing on screen
        await app.events_rendered()
        assert pane.has_class("-failed") and pane.status == ""
        assert str(pane.border_subtitle) == "⚠ timeout: no answer within 90 s · failed after 90.0 s · gpt-5"
        assert "answered" not in str(pane.border_subtitle)
        send(ev.CycleStarted(3, T0 + 2 * STEP))  # the mark stays until the agent answers well again
        await app.events_rendered()
        assert pane.has_class("-failed") and str(pane.border_subtitle).startswith("⚠ timeout")
        send(ev.AgentReplied(3, T0 + 2 * STEP, "GPT", 1200, 90, 0.8, 4.0, 0.0025, "stop", answer))
        send(ev.DecisionParsed(3, T0 + 2 * STEP, "GPT", ({"coin": "BTC", "signal": "hold"},)))
        await app.events_rendered()
        assert not pane.has_class("-failed") and str(pane.border_subtitle) == "answered in 4.0 s · 90 tok · $0.0025 · gpt-5"


async def test_the_header_clock_belongs_to_the_screen_and_never_queries_it():
    """Regression: the app's clock timer ticked while the app shut down, after the screen's widgets
    had gone, and ``query_one(SessionHeader)`` raised NoMatches. The timer is the screen's (it stops
    before the screen's widgets go) and the header is held, never looked up."""
    app = app_for(FakeSession())
    async with app.run_test(size=(120, 40)):
        await app.events_rendered()
        screen = app.console_screen
        assert [t.name for t in screen._timers if t.name == "header clock"] == ["header clock"]
        assert not [t for t in app._timers if t.name == "header clock"]
        await screen.header.remove()  # as on the way out
        app._tick()  # a late tick finds nothing to fail on
