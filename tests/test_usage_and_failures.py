"""Tokens, cost and failures in plain sight: the state's fold of ``AgentReplied`` / ``AgentFailed``,
the leaderboard's tokens, cost and failure marks, and the headless summary's failures table."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import Prices, Usage
from arena_tui.engine.state import DAY_MS, ArenaState
from arena_tui.headless import failures_table, leaderboard_table
from arena_tui.tui.app import make_app
from arena_tui.tui.widgets.leaderboard import Leaderboard
from test_tui_script import T0, FakeSession, header

GPT, CLAUDE, TREND = "GPT", "Claude", "Trend (rule-based)"


def llm_header() -> ev.SessionStarted:
    agents = (
        {"name": GPT, "kind": "llm", "model": "gpt-5"},
        {"name": CLAUDE, "kind": "llm", "model": "claude-opus-4-7"},
        {"name": TREND, "kind": "rule-based", "model": "trend_follower"},
    )
    config = {"agents": [
        {"name": GPT, "kind": "openai", "budget_tokens_per_day": 0, "budget_usd_per_day": 2.0},
        {"name": CLAUDE, "kind": "anthropic", "budget_tokens_per_day": 10_000, "budget_usd_per_day": 0.0},
        {"name": TREND, "kind": "baseline"},
    ]}
    return dataclasses.replace(header(), agents=agents, config=config)


def replied(cycle: int, t: int, agent: str, inp: int, out: int, cost: float, **kw) -> ev.AgentReplied:
    return ev.AgentReplied(cycle, t, agent, inp, out, 1.0, 2.5, cost, "stop", "{}", **kw)


def test_the_fold_sums_usage_and_cost_and_keeps_the_last_call():
    s = ArenaState(llm_header())
    s.apply(ev.CycleStarted(1, T0))
    s.apply(replied(1, T0, GPT, 1000, 300, 0.01, reasoning_tokens=200, cached_input_tokens=600))
    s.apply(ev.CycleStarted(2, T0 + 300_000))
    last = replied(2, T0 + 300_000, GPT, 1100, 250, 0.02, reasoning_tokens=100)
    s.apply(last)
    b = s.agents[GPT]
    assert (b.calls, b.input_tokens, b.output_tokens, b.reasoning_tokens, b.cached_input_tokens) == (2, 2100, 550, 300, 600)
    assert abs(b.cost_usd - 0.03) < 1e-12
    assert b.last_reply == last
    assert (b.budget_tokens_per_day, b.budget_usd_per_day) == (None, 2.0)
    assert (s.agents[CLAUDE].budget_tokens_per_day, s.agents[CLAUDE].budget_usd_per_day) == (10_000, None)
    assert (b.day_tokens, b.day_cost_usd) == (2650, 0.03)


def test_the_days_spend_starts_again_each_utc_day():
    s = ArenaState(llm_header())
    day = (T0 // DAY_MS + 1) * DAY_MS
    s.apply(replied(1, day - 60_000, CLAUDE, 4000, 1000, 0.5))
    assert s.agents[CLAUDE].day_tokens == 5000
    s.apply(replied(2, day + 240_000, CLAUDE, 100, 20, 0.01))
    b = s.agents[CLAUDE]
    assert (b.day_tokens, b.day_cost_usd, b.input_tokens) == (120, 0.01, 4100)


def test_failures_are_counted_by_kind_with_the_first_reason_and_cleared_by_an_answer():
    s = ArenaState(llm_header())
    s.apply(ev.AgentFailed(1, T0, GPT, "timeout", "GPT: no answer within 90 s; holding this cycle."))
    s.apply(ev.AgentFailed(2, T0, GPT, "timeout", "GPT: no answer within 90 s (again)."))
    s.apply(ev.AgentFailed(3, T0, GPT, "refusal", "GPT: the model declined to answer; holding this cycle."))
    s.apply(ev.AgentFailed(4, T0, GPT, "cancelled", "GPT: stopped."))  # the user's stop: not counted
    b = s.agents[GPT]
    assert b.failures == 3 and b.consecutive_failures == 3
    assert b.failure_kinds == {"timeout": 2, "refusal": 1}
    assert b.failure_reasons["timeout"] == "GPT: no answer within 90 s; holding this cycle."
    assert b.last_failure is not None and b.last_failure.kind == "refusal"
    s.apply(ev.DecisionParsed(5, T0, GPT, ()))
    assert b.last_failure is None and b.consecutive_failures == 0 and b.failures == 3


def test_prices_charge_cached_and_reasoning_tokens_at_their_own_prices():
    p = Prices(input=1.25, output=10.0, cached_input=0.125, reasoning=12.0)
    u = Usage(input_tokens=10_000, output_tokens=2_000, reasoning_tokens=1_500, cached_input_tokens=8_000)
    assert abs(p.cost_usd(u) - (2_000 * 1.25 + 8_000 * 0.125 + 500 * 10.0 + 1_500 * 12.0) / 1e6) < 1e-15
    assert Prices(1.0, 2.0).cost_usd(u) == (10_000 * 1.0 + 2_000 * 2.0) / 1e6  # unset: input / output prices
    # a server that claims more cached than input tokens is never paid for twice
    assert Prices(1.0, 0.0, 0.5).cost_usd(Usage(100, 0, 0, 400)) == 100 * 0.5 / 1e6


async def test_the_leaderboard_shows_numbers_tokens_cost_budget_and_failure_marks():
    session = FakeSession(autoplay=0)
    app = make_app(session, clock=lambda: 1763640000.0)

    def send(event: ev.Event) -> None:
        session.state.apply(event)
        app.sink(event)

    async with app.run_test(size=(140, 45)):
        await app.events_rendered()
        session.state = ArenaState()
        send(llm_header())
        send(ev.CycleStarted(1, T0))
        send(replied(1, T0, GPT, 12_000, 3_400, 1.5))
        send(ev.AgentFailed(1, T0, CLAUDE, "auth", "Claude: the API rejected the key; check ANTHROPIC_API_KEY."))
        send(ev.CycleCompleted(1, T0, 1.0, session.state.standings()))
        send(ev.CycleStarted(2, T0 + 300_000))
        send(ev.AgentFailed(2, T0 + 300_000, CLAUDE, "auth", "Claude: the API rejected the key again."))
        send(ev.CycleCompleted(2, T0 + 300_000, 1.0, session.state.standings()))
        await app.events_rendered()
        board = app.console_screen.query_one(Leaderboard)
        cell = lambda agent, col: board.get_cell(agent, col).plain.strip()  # noqa: E731
        assert cell(GPT, "agent") == "1 GPT"
        assert cell(CLAUDE, "agent") == "2 ⚠ auth ×2 Claude"
        assert cell(TREND, "agent") == "3 Trend (rule-based)"
        assert cell(GPT, "tokens") == "15.4K"
        assert cell(GPT, "cost") == "1.500 75%"  # $1.50 of a $2.00 daily budget
        assert cell(TREND, "cost") == "–" and cell(TREND, "tokens") == "–"
        assert cell(GPT, "rank").endswith(".")
        send(ev.AgentHalted(3, T0 + 600_000, CLAUDE, "5 failures in a row"))
        send(ev.CycleCompleted(3, T0 + 600_000, 1.0, session.state.standings()))
        await app.events_rendered()
        assert cell(CLAUDE, "agent") == "2 ✖ Claude"


def test_the_headless_summary_lists_each_agents_failures():
    s = ArenaState(llm_header())
    s.apply(replied(1, T0, GPT, 1000, 100, 0.004))
    s.apply(ev.AgentFailed(1, T0, CLAUDE, "auth", "Claude: no API key: set ANTHROPIC_API_KEY in the environment."))
    s.apply(ev.AgentFailed(2, T0, CLAUDE, "auth", "Claude: no API key again."))
    s.apply(ev.AgentFailed(3, T0, CLAUDE, "timeout", "Claude: no answer within 90 s."))
    out = io.StringIO()
    console = Console(file=out, width=200)
    console.print(leaderboard_table(s.standings(), "Leaderboard", s))
    table = failures_table(s)
    assert table is not None
    console.print(table)
    text = out.getvalue()
    assert "Claude ⚠ 3 failed" in text
    assert "auth ×2, timeout ×1" in text
    assert "Claude: no API key: set ANTHROPIC_API_KEY in the environment." in text
    assert "1,100" in text and "0.0040" in text  # GPT's tokens and cost
    assert failures_table(ArenaState(llm_header())) is None


def test_an_absurd_cost_from_a_journal_stays_short():
    from arena_tui.tui.formatting import usd_small

    assert [usd_small(x) for x in (0.0, 0.00012, 1.5, 12.345, 999.5, 9_999.0, 12_345.6, 5e9, 1e300, float("inf"))] == [
        "0", "0.0001", "1.500", "12.35", "999.50", "9,999", "12.3K", "5.0B", "1.0e+300", "inf"]


def test_the_leaderboard_fits_every_terminal_width_without_scrolling_sideways():
    """Columns give way by width (fees and tokens need 140 cells, PnL and win rate 120): at no width
    from 80 up do the shown columns (each one cell wider than its figures) pass the screen's edge."""
    for width in (80, 99, 100, 119, 120, 139, 140, 200):
        shown = [c for c in Leaderboard.COLUMNS if c.shown_at(width)]
        used = sum(c.width_for(width < 100) + 1 for c in shown)
        assert used <= width, (width, used)
        assert {"rank", "agent", "value", "return", "sharpe", "cost"} <= {c.key for c in shown}
    assert {"fees", "tokens"} <= {c.key for c in Leaderboard.COLUMNS if c.shown_at(140)}
