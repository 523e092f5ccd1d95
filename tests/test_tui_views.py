"""The views that answer "what happened?": trades (T), equity chart (E), model detail (D / Enter) and
the sessions browser (S), on a ``ReplaySession`` of real journals: the bundled demo (8 trades) and a
48-cycle headless session with an LLM-style scripted agent (trades, rejections, failures), as
``test_export.py`` records it. Every view draws the session's ``ArenaState``; these tests compare
what it shows with the state."""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import pickle
from pathlib import Path

import pytest
from rich.console import Console

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.replay import ReplaySession
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.state import BENCHMARK_NAME, ArenaState
from arena_tui.tui import formatting as fmt
from arena_tui.tui.app import make_app
from arena_tui.tui.screens.chart import ChartScreen
from arena_tui.tui.screens.console import ConsoleScreen
from arena_tui.tui.screens.detail import DetailScreen, trade_stats
from arena_tui.tui.screens.sessions import SessionsScreen
from arena_tui.tui.screens.trades import COLUMNS, TradesScreen, held
from test_export import CYCLES, Scripted
from test_tui_script import wait_until

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sessions" / "demo.jsonl"
FROZEN = 1763640000.0


def fold(path: Path) -> ArenaState:
    contents = read_journal(path)
    state = ArenaState(contents.header)
    for e in contents.events:
        state.apply(e)
    return state


@pytest.fixture(scope="module")
def season(tmp_path_factory) -> Path:
    """A real headless session of 48 cycles: the rule-based baselines and ``Scripted``, whose answers
    the risk rules reject now and then (no stop, a coin not traded, a close without a position), and
    which fails to parse or times out now and then."""
    tmp = tmp_path_factory.mktemp("season")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-20T00:00:00Z"}, "arena": {"sessions_dir": str(tmp), "halt_after_failures": 50}})
    path = tmp / "season.jsonl"
    session = ArenaSession(cfg, build_market(cfg), [*build_agents(cfg), Scripted("Scripted")], journal_path=path, max_cycles=CYCLES, pace=0)
    asyncio.run(session.run(lambda e: None))
    return path


async def at_the_end(app, pilot) -> None:
    """Jump the (paused) replay to its last cycle and wait until it is drawn."""
    await app.events_rendered()
    await pilot.press("end")
    await wait_until(lambda: app.session.state is not None and app.session.state.completed_cycle == app.session.total_cycles, "the last cycle")
    await pilot.pause()
    await app.events_rendered()
    await pilot.pause()


def plain(renderable, width: int = 200) -> str:
    """What a Rich renderable reads as on a ``width``-cell line, without styles."""
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


# -- the state's additions ------------------------------------------------------------------------


def test_the_state_keeps_every_standings_equity_at_every_cycle():
    state = fold(DEMO)
    assert len(state.equity_times) == state.cycles_completed == 36
    assert set(state.equity) == set(state.agents) | {BENCHMARK_NAME}
    for row in state.leaderboard:
        line = state.equity[row.agent]
        assert len(line) == len(state.equity_times) and line[-1] == row.account_value
    assert list(state.equity_times) == sorted(state.equity_times)
    copy = pickle.loads(pickle.dumps(state))  # a replay's checkpoints are pickled states
    assert list(copy.equity[BENCHMARK_NAME]) == list(state.equity[BENCHMARK_NAME])


def test_the_state_keeps_a_bounded_compact_decision_history(season):
    state = fold(season)
    events = read_journal(season).events
    book = state.agents["Scripted"]
    rejected = [e for e in events if isinstance(e, ev.DecisionRejected) and e.agent == "Scripted"]
    assert rejected and [e for e in book.history if isinstance(e, ev.DecisionRejected)] == rejected
    assert any(isinstance(e, ev.AgentFailed) for e in book.history)
    parsed = [e for e in book.history if isinstance(e, ev.DecisionParsed)]
    assert parsed and all("justification" not in d for e in parsed for d in e.decisions)
    assert len(book.replies) == CYCLES and all(r.text == "" for r in book.replies)
    assert book.history.maxlen == 500 and book.replies.maxlen == 100


# -- trades ---------------------------------------------------------------------------------------


def shown_trades(screen: TradesScreen) -> list[ev.PositionClosed]:
    table = screen.table
    assert table.row_count == len(screen.rows)
    return [t.event for t in screen.rows]


async def test_the_trades_view_lists_exactly_the_states_trades_sorts_and_filters():
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_the_end(app, pilot)
        await pilot.press("T")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TradesScreen)
        state = session.state
        every = [t for book in state.agents.values() for t in book.trades]
        assert len(every) == 8
        shown = shown_trades(screen)
        assert sorted(shown, key=id) == sorted(every, key=id)  # exactly the state's trades, each once
        assert [t.time for t in shown] == sorted((t.time for t in every), reverse=True)  # newest exit first
        first = screen.table.get_row_at(0)
        assert [c.plain.strip() for c in first[:4]] == [f"2 {shown[0].agent}", shown[0].coin, "short", f"{shown[0].net_pnl:+,.2f}"]

        # sort: a click on the "net PnL $" header (agent 19 + coin 6 + side 6 cells in), then again
        await pilot.click("#trades-table", offset=(35, 0))
        await pilot.pause()
        assert screen.sort_key == "net" and screen.descending
        assert [t.net_pnl for t in shown_trades(screen)] == sorted((t.net_pnl for t in every), reverse=True)
        await pilot.click("#trades-table", offset=(35, 0))
        await pilot.pause()
        assert [t.net_pnl for t in shown_trades(screen)] == sorted(t.net_pnl for t in every)
        # s: the next column (exit reason), r: reversed
        await pilot.press("s")
        await pilot.pause()
        assert screen.sort_key == "reason"
        assert [t.reason for t in shown_trades(screen)] == sorted((t.reason for t in every), reverse=screen.descending)
        await pilot.press("r")
        await pilot.pause()
        assert [t.reason for t in shown_trades(screen)] == sorted((t.reason for t in every), reverse=screen.descending)
        for column in COLUMNS:  # every column sorts
            while screen.sort_key != column.key:
                await pilot.press("s")
            await pilot.pause()
            keys = [column.sort(t) for t in screen.rows]
            assert keys == sorted(keys, reverse=screen.descending), column.key

        # filters: a steps through the agents (Trend has no trade, RSI revert all 8), c through the coins
        await pilot.press("a")
        await pilot.pause()
        assert screen.agent_filter == "Trend (rule-based)" and shown_trades(screen) == []
        assert "0 of 8 trades" in str(screen.summary.content)
        await pilot.press("a")
        await pilot.pause()
        assert screen.agent_filter == "RSI revert (rule-based)" and len(shown_trades(screen)) == 8
        await pilot.press("c")
        await pilot.pause()
        assert screen.coin_filter == "BTC"
        assert sorted(shown_trades(screen), key=id) == sorted((t for t in every if t.coin == "BTC"), key=id) and len(shown_trades(screen)) == 2
        screen.agent_select.value = "BTC hold (rule-based)"  # the select itself, as a click would set it
        await pilot.pause()
        assert shown_trades(screen) == []

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConsoleScreen)


async def test_the_trades_view_follows_the_session_as_trades_close():
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.events_rendered()
        await pilot.press("T")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TradesScreen) and screen.rows == []
        assert "no trade has closed yet" in str(screen.summary.content)
        session.seek(session.total_cycles)  # as the replay's end key would: the view stays open
        await wait_until(lambda: len(screen.rows) == 8, "the view to show the 8 trades")
        assert app.screen is screen


def test_holding_times_read_short():
    assert [held(ms) for ms in (10_000, 35 * 60_000, (3 * 60 + 5) * 60_000, (2 * 24 + 4) * 3_600_000)] == ["<1m", "35m", "3h05m", "2d04h"]


# -- equity chart ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_the_equity_chart_names_every_line_and_ends_at_the_leaderboard(size):
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=size) as pilot:
        await at_the_end(app, pilot)
        await pilot.press("E")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChartScreen)
        state = session.state
        chart = screen.chart
        legend = chart.legend_text()
        for name in [*state.agents, BENCHMARK_NAME]:
            assert name in legend
        assert {s.name: s.last for s in chart.series} == {row.agent: row.account_value for row in state.leaderboard}
        # the legend's figures are the final leaderboard's, best first
        assert legend.splitlines() == [
            next(line for line in legend.splitlines() if row.agent in line and fmt.number(row.account_value, 2) in line)
            for row in sorted(state.leaderboard, key=lambda r: r.rank)
        ]
        drawn = chart.render().plain
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in drawn), "braille lines"
        lines = drawn.splitlines()
        assert len(lines) == chart.size.height and all(len(line) <= chart.size.width for line in lines)
        assert fmt.short_time(state.equity_times[0]) in lines[-1] and fmt.short_time(state.equity_times[-1]) in lines[-1]
        assert chart.region.height >= 6 and screen.legend.region.bottom <= size[1] - 1  # the footer has its row


# -- model detail ---------------------------------------------------------------------------------


async def test_the_detail_view_shows_a_rejection_and_the_trade_statistics(season):
    session = ReplaySession.from_journal(season, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(140, 45)) as pilot:
        await at_the_end(app, pilot)
        state = session.state
        number = list(state.agents).index("Scripted") + 1
        await pilot.press(str(number), "D")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.agent == "Scripted"
        history = plain(screen.history.content)
        last = next(e for e in reversed(read_journal(season).events) if isinstance(e, ev.DecisionRejected) and e.agent == "Scripted")
        assert f"✗ rejected [{last.rule}]: {last.reason}"[:80] in history.replace("\n", " ").replace("  ", " ") or (
            f"[{last.rule}]" in history and last.coin in history
        )
        assert "✓ accepted" in history and "⚠ timeout" in history

        book = state.agents["Scripted"]
        trades = book.trades
        assert trades
        wins = [t.net_pnl for t in trades if t.net_pnl > 0]
        losses = [t.net_pnl for t in trades if t.net_pnl < 0]
        stats = trade_stats(trades)
        assert stats.trades == len(trades) and stats.wins == len(wins) and stats.losses == len(losses)
        assert stats.avg_win == (sum(wins) / len(wins) if wins else None)
        assert stats.avg_loss == (sum(losses) / len(losses) if losses else None)
        assert stats.longest_hold_ms == max(t.time - t.entry_time for t in trades)
        assert math.isclose(stats.net, sum(t.net_pnl for t in trades))
        for coin in {t.coin for t in trades}:
            assert math.isclose(stats.per_coin[coin].net, sum(t.net_pnl for t in trades if t.coin == coin))
        shown = plain(screen.trades.content)
        assert f"{len(wins) / len(trades) * 100:.0f}% ({len(wins)} won, {len(losses)} lost)" in shown
        if wins:
            assert f"average win    {fmt.money(sum(wins) / len(wins), sign=True)}".split()[-1] in shown
        if losses:
            assert fmt.money(sum(losses) / len(losses), sign=True) in shown
        assert held(stats.longest_hold_ms) in shown

        calls = plain(screen.calls.content)
        assert f"calls {book.calls:,}".split()[-1] in calls and "last 10 calls" in calls
        account = plain(screen.account.content)
        assert fmt.money(book.account_value) in account

        await pilot.press("tab")  # the next agent
        await pilot.pause()
        assert screen.agent == list(state.agents)[number % len(state.agents)]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConsoleScreen)


async def test_the_detail_view_shows_open_positions_with_their_exit_plan():
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_the_end(app, pilot)
        await pilot.press("2", "enter")  # Enter on the console: the selected agent's detail
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.agent == "RSI revert (rule-based)"
        positions = plain(screen.positions.content, width=78)
        assert "BTC invalidation: 5m RSI14 rises above 80 (breakout)" in positions
        assert "112,052.7" in positions and "109,754.8" in positions  # stop and target
        assert "none: a rule-based agent" in plain(screen.calls.content)


# -- every view at 80x24 and 140x45 ---------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
async def test_each_view_opens_and_closes(size, tmp_path, monkeypatch):
    monkeypatch.setattr("arena_tui.sessions.default_cache_path", lambda: tmp_path / "sessions-index.json")
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=size) as pilot:
        await at_the_end(app, pilot)
        footer = {b.binding.id for b in app.console_screen.active_bindings.values() if b.binding.show}
        views = {"view-trades", "view-equity", "view-detail", "view-sessions"}
        # the footer names the views' keys where they fit (100 columns and more); the help always does
        assert views <= footer if size[0] >= 100 else not views & footer
        keys = app.console_screen.query_one("Footer").query("FooterKey")
        assert all(k.region.right <= size[0] for k in keys)
        for key, kind in (("T", TradesScreen), ("E", ChartScreen), ("D", DetailScreen), ("S", SessionsScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, kind), key
            assert app.screen.query_one("Footer").region.bottom == size[1]
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ConsoleScreen), key
        await pilot.press("T", "E")  # a view opens in place of another: one escape goes back
        await pilot.pause()
        assert isinstance(app.screen, ChartScreen) and len(app.screen_stack) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConsoleScreen)


async def test_the_help_names_the_views_keys():
    from arena_tui.tui.screens.help import HelpScreen

    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.events_rendered()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = app.screen.keys_markdown()
        for line in ("| T | Trades |", "| E | Equity |", "| D / ⏎ | Detail |", "| S | Sessions |"):
            assert line in keys


# -- sessions -------------------------------------------------------------------------------------


async def test_the_sessions_browser_lists_the_demo_and_enter_replays_it(tmp_path, monkeypatch):
    monkeypatch.setattr("arena_tui.sessions.default_cache_path", lambda: tmp_path / "sessions-index.json")
    session = ReplaySession.from_journal(DEMO, paused=True)
    app = make_app(session, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.events_rendered()
        await pilot.press("S")
        screen = app.screen
        assert isinstance(screen, SessionsScreen) and screen.directory == DEMO.parent
        await wait_until(lambda: screen.listing is not None and screen.table.row_count == len(screen.listing.sessions), "the listing")
        names = [s.name for s in screen.listing.sessions]
        assert "demo.jsonl" in names
        demo = screen.listing.sessions[names.index("demo.jsonl")]
        assert demo.state == "complete" and demo.cycles == 36  # the summary of `arena-tui sessions`
        row = [c.plain for c in screen.table.get_row_at(names.index("demo.jsonl"))]
        assert row[:4] == ["demo.jsonl", "complete", "36", demo.leader]
        # the same words as `arena-tui sessions`: the title says the times are UTC, not each header
        assert [str(c.label) for c in screen.table.columns.values()][5:7] == ["started", "market"]
        assert "(times UTC)" in str(screen.title_line.render())
        screen.table.move_cursor(row=names.index("demo.jsonl"))
        await pilot.press("enter")
        await wait_until(lambda: app.return_code is not None, "the app to close")
    assert app.next_journal == ("replay", DEMO)


def test_a_journal_chosen_in_the_browser_is_replayed_next(monkeypatch):
    from arena_tui import cli

    opened = []
    monkeypatch.setattr(cli, "run_replay", lambda args: opened.append(("replay", args.replay, args.speed)) or 0)
    monkeypatch.setattr(cli, "run_follow", lambda args: opened.append(("follow", args.follow)) or 0)

    class Closed:
        next_journal = None

    args = argparse.Namespace(replay=None, follow=None, headless=False, speed=4.0, theme="arena-light")
    assert cli.open_next_journal(Closed(), 3, args) == 3 and opened == []
    Closed.next_journal = ("replay", DEMO)
    assert cli.open_next_journal(Closed(), 3, args) == 0
    Closed.next_journal = ("follow", DEMO)
    cli.open_next_journal(Closed(), 3, args)
    assert opened == [("replay", str(DEMO), None), ("follow", str(DEMO))]
