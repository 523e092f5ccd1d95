"""Pilot tests of the agent panes (issue 11): Markdown while streaming, the last call's line, one
number per agent, repeated baseline lines collapsed, failures in plain sight.

Events go in through ``app.sink`` and, where the pane draws from the session's state, through
``session.state.apply`` first (as a live session's bus does: ``send``).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena_tui.engine import events as ev
from arena_tui.engine.agents.baselines import make_baseline
from arena_tui.engine.state import ArenaState
from arena_tui.tui.app import ArenaApp, make_app
from arena_tui.tui.widgets.reasoning import AgentPane, agent_number, agent_numbers, call_summary, collapse, first_sentence
from test_baselines import request_at, run
from test_tui_script import STEP, T0, FakeSession, header

FROZEN = 1763640000.0
RECORDS = json.loads(gzip.decompress((Path(__file__).parent / "data" / "llm_answers_alpha_arena.json.gz").read_bytes()))["records"]
GEMINI = next(r["reasoning"] for r in RECORDS if r["reasoning"].startswith("**Execution Summary"))
LLMS = (
    {"name": "gemini-2.5-pro", "kind": "llm", "model": "gemini-2.5-pro"},
    {"name": "Trend (rule-based)", "kind": "rule-based", "model": "trend_follower"},
    {"name": "claude-sonnet-4-5", "kind": "llm", "model": "claude-sonnet-4-5"},
    {"name": "deepseek-chat-v3.1", "kind": "llm", "model": "deepseek-chat-v3.1"},
    {"name": "gpt-5", "kind": "llm", "model": "gpt-5"},
    {"name": "Flat (rule-based)", "kind": "rule-based", "model": "always_flat"},
)


class Harness:
    """An app over a ``FakeSession`` that sends nothing itself; ``send`` folds an event into the
    session's state and renders it."""

    def __init__(self, agents: tuple[dict, ...] = LLMS) -> None:
        self.session = FakeSession(autoplay=0)
        self.app: ArenaApp = make_app(self.session, clock=lambda: FROZEN)
        self.agents = agents

    async def start(self) -> None:
        await self.app.events_rendered()
        self.session.state = ArenaState()
        self.send(dataclasses.replace(header(), agents=self.agents))
        await self.app.events_rendered()

    def send(self, *events: ev.Event) -> None:
        for e in events:
            self.session.state.apply(e)
            self.app.sink(e)

    def pane(self, name: str) -> AgentPane:
        return self.app.console_screen.panes[name]

    def screen_lines(self) -> list[str]:
        return [strip.text for strip in self.app.screen._compositor.render_strips()]

    def bottom_border(self, pane: AgentPane) -> str:
        """The pane's bottom border row as drawn on screen."""
        region = pane.region
        return self.screen_lines()[region.bottom - 1][region.x : region.right]


def segments(pane: AgentPane) -> list[list[tuple[str, object]]]:
    """Every wrapped line of the pane as its (text, style) segments."""
    return [[(seg.text, seg.style) for seg in strip] for block in pane.blocks for strip in block.strips]


def cells(pane: AgentPane) -> list[list[tuple[str, object]]]:
    """Every wrapped line of the pane as (character, style) pairs: what is drawn, however the line's
    text happens to be cut into segments."""
    return [[(c, style) for text, style in line for c in text] for line in segments(pane)]


# -- Markdown --------------------------------------------------------------------------------------


async def test_reasoning_streams_as_markdown_without_its_markers():
    h = Harness()
    async with h.app.run_test(size=(140, 45)) as pilot:
        await h.start()
        await pilot.pause()
        text = GEMINI[: GEMINI.index("**New Trades")]
        h.send(ev.CycleStarted(1, T0), ev.AgentStarted(1, T0, "gemini-2.5-pro"))
        for i in range(0, len(text), 5):
            h.send(ev.ReasoningDelta(1, T0, "gemini-2.5-pro", "reasoning", text[i : i + 5]))
        await h.app.events_rendered()
        pane = h.pane("gemini-2.5-pro")
        lines = list(pane.lines())
        assert pane.text("reasoning") == text  # the text is kept as it came
        assert lines[1:3] == ["Execution Summary: Hyperliquid Trading ", "Strategy"]
        assert not any("**" in line for line in lines)
        at = lines.index("• ETH (Long): The price is above the ")
        assert lines[at + 1] == "  50-EMA. The trend looks bullish. Hold."  # wrapped under the item's text
        bold = [(t, s) for line in segments(pane) for t, s in line if "ETH (Long):" in t]
        assert bold and all(s.bold and s.italic for _, s in bold)  # bold over the reasoning's italics
        plain = [(t, s) for line in segments(pane) for t, s in line if "The trend looks bullish" in t]
        assert plain and all(not s.bold and s.italic for _, s in plain)


async def test_a_marker_split_across_deltas_settles_as_if_unsplit():
    h = Harness()
    async with h.app.run_test(size=(120, 40)) as pilot:
        await h.start()
        await pilot.pause()
        pane = h.pane("claude-sonnet-4-5")
        h.send(ev.CycleStarted(1, T0))
        for piece in ("I like **ET", "H** and `EM", "A20` here"):
            h.send(ev.ReasoningDelta(1, T0, "claude-sonnet-4-5", "reasoning", piece))
            await h.app.events_rendered()
        open_line = list(pane.lines())[-1]
        assert open_line == "I like ETH and EMA20 here"
        h.send(ev.ReasoningDelta(1, T0, "claude-sonnet-4-5", "reasoning", "\nnext"))
        await h.app.events_rendered()
        split = cells(pane)
        pane.reset()
        pane.start_cycle(1, T0)
        pane.write(1, T0, "reasoning", "I like **ETH** and `EMA20` here\nnext")
        assert cells(pane) == split


async def test_settled_paragraphs_are_rendered_once_and_only_the_open_one_again():
    h = Harness()
    async with h.app.run_test(size=(120, 40)) as pilot:
        await h.start()
        await pilot.pause()
        pane = h.pane("gpt-5")
        pane.start_cycle(1, T0)
        pane.write(1, T0, "reasoning", "## Plan\n- **BTC**: hold\n- ETH: wait for `RSI14` > 60\nOpen para")
        settled = [(block, block.strips, [id(s) for s in block.strips]) for block in pane.blocks[:-1]]
        for word in " grows with more words, token after token, past the width of the pane"[::4]:
            pane.write(1, T0, "reasoning", word)
        for block, strips, ids in settled:
            assert block.strips is strips and [id(s) for s in block.strips] == ids  # never rendered again
        assert list(pane.lines())[1:4] == ["Plan", "• BTC: hold", "• ETH: wait for RSI14 > 60"]


async def test_a_json_answer_and_a_json_fence_are_shown_verbatim():
    answer = next(r["answer"] for r in RECORDS if r["answer"].startswith("{"))
    h = Harness()
    async with h.app.run_test(size=(140, 45)) as pilot:
        await h.start()
        await pilot.pause()
        h.send(ev.CycleStarted(1, T0))
        h.send(ev.ReasoningDelta(1, T0, "gpt-5", "reasoning", 'Draft:\n```json\n{"note": "**x** _y_"}\n```\n'))
        for i in range(0, len(answer), 7):
            h.send(ev.ReasoningDelta(1, T0, "gpt-5", "answer", answer[i : i + 7]))
        await h.app.events_rendered()
        pane = h.pane("gpt-5")
        lines = list(pane.lines())
        assert '{"note": "**x** _y_"}' in lines
        sent = answer.split("\n")  # streaming, the answer is one row per line, cut at the width
        shown = list(pane.lines())[-len(sent) :]
        assert all(line == s or (line.endswith("…") and s.startswith(line[:-1])) for s, line in zip(sent, shown))
        assert all(style is None or not style.bold for line in cells(pane)[-len(sent) :] for _, style in line)


def chunkings():
    text = st.lists(
        st.sampled_from(["**", "*", "_", "`", "~~", "[", "](u)", "# ", "- ", "1. ", "```", "> ", "\n", "\n\n", " ", "ETH", "a_b", "3,850", "{", '"k": ']),
        max_size=40,
    ).map("".join)
    return st.tuples(text, st.lists(st.integers(min_value=0, max_value=300), max_size=15))


async def test_property_a_streams_rendering_does_not_depend_on_its_chunking():
    """However a stream is cut into deltas, once its paragraphs settle the pane draws the same lines
    with the same styles as for the text sent in one piece (the open paragraph too, here)."""
    h = Harness()
    async with h.app.run_test(size=(120, 40)) as pilot:
        await h.start()
        await pilot.pause()
        pane = h.pane("gemini-2.5-pro")

        def draw(pieces: list[str], kind: str) -> list:
            pane.reset()
            pane.start_cycle(1, T0)
            for piece in pieces:
                pane.write(1, T0, kind, piece)
            return cells(pane)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=chunkings(), kind=st.sampled_from(["reasoning", "answer"]))
        def check(case, kind):
            text, cuts = case
            points = sorted({min(c, len(text)) for c in cuts})
            pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]
            assert draw(pieces, kind) == draw([text], kind)

        check()


# -- the last call ---------------------------------------------------------------------------------


def reply(cycle: int, agent: str, latency: float = 65.4, out: int = 1309, reasoning: int = 812, cost: float = 0.0123) -> ev.AgentReplied:
    return ev.AgentReplied(cycle, T0 + (cycle - 1) * STEP, agent, 9000, out, 2.0, latency, cost, "stop", "{}", reasoning_tokens=reasoning)


async def test_the_last_call_stays_visible_uncut_until_the_next_call_ends_at_140x45():
    h = Harness()
    async with h.app.run_test(size=(140, 45)) as pilot:
        await h.start()
        await pilot.pause()
        pane = h.pane("claude-sonnet-4-5")
        h.send(ev.CycleStarted(1, T0), ev.AgentStarted(1, T0, pane.agent_name), reply(1, pane.agent_name))
        h.send(ev.DecisionParsed(1, T0, pane.agent_name, ({"coin": "BTC", "signal": "hold"},)))
        await h.app.events_rendered()
        await pilot.pause()
        assert pane.call_line == "answered in 65.4 s · 1,309 tok (812 reasoning) · $0.0123"
        border = h.bottom_border(pane)
        assert pane.region.width <= 47 and "65.4 s · 1,309 tok" in border and "$0.0123" in border and "…" not in border
        h.send(ev.CycleStarted(2, T0 + STEP), ev.AgentStarted(2, T0 + STEP, pane.agent_name))
        await h.app.events_rendered()
        await pilot.pause()
        border = h.bottom_border(pane)
        assert "thinking…" in border and "65.4 s" in border and "$0.0123" in border  # kept through the next start
        h.send(reply(2, pane.agent_name, latency=12.5, out=300, reasoning=0, cost=0.002))
        await h.app.events_rendered()
        await pilot.pause()
        border = h.bottom_border(pane)
        assert "12.5 s" in border and "65.4" not in border and "thinking" not in border


async def test_the_last_call_line_at_80x24_is_whole_and_rule_based_panes_have_none():
    h = Harness()
    async with h.app.run_test(size=(80, 24)) as pilot:
        await h.start()
        await pilot.pause()
        pane = h.pane("gemini-2.5-pro")
        flat = h.pane("Flat (rule-based)")
        h.send(ev.CycleStarted(1, T0), reply(1, pane.agent_name), reply(1, flat.agent_name, 0.001, 0, 0, 0.0))
        await h.app.events_rendered()
        await pilot.pause()
        assert pane.region.width == 80
        assert "answered in 65.4 s · 1,309 tok (812 reasoning) · $0.0123" in h.bottom_border(pane)
        assert flat.call_line == "" and "answered" not in str(flat.border_subtitle)


def test_call_summary_forms_and_fit():
    r = reply(1, "x")
    assert call_summary(r) == (
        "answered in 65.4 s · 1,309 tok (812 reasoning) · $0.0123",
        "65.4 s · 1,309 tok (812 reasoning) · $0.0123",
        "65.4 s · 1,309 tok · $0.0123",
        "65.4 s · $0.0123",
        "65.4 s",
    )
    failed = ev.AgentReplied(1, T0, "x", latency_s=90.0, failure_kind="timeout", failure_reason="no answer within 90 s")
    assert call_summary(failed) == ("failed after 90.0 s", "90.0 s")
    # no call was made: no "answered in 0.0 s"
    recorded = ev.AgentReplied(1, T0, "x", latency_s=0.0, finish_reason="recorded", text="{}")
    assert call_summary(recorded) == ("recorded answer", "recorded")
    cached = ev.AgentReplied(1, T0, "x", latency_s=0.0, finish_reason="stop", text="{}", cached=True)
    assert call_summary(cached) == ("from the answer cache", "cached")
    assert first_sentence("no JSON object in the answer; holding this cycle.") == "no JSON object in the answer"
    assert first_sentence("x" * 100).endswith("…") and len(first_sentence("x" * 100)) == 60
    assert first_sentence("gpt-5: no answer within 90 s", agent="gpt-5") == "no answer within 90 s"
    assert first_sentence("RSI revert failed 2 cycles in a row; halted.", agent="RSI revert") == "failed 2 cycles in a row"


# -- one number per agent --------------------------------------------------------------------------


async def test_each_agent_has_one_number_for_its_pane_its_key_and_the_state():
    h = Harness()
    async with h.app.run_test(size=(140, 45)) as pilot:
        await h.start()
        await pilot.pause()
        state = h.session.state
        for n, agent in enumerate(LLMS, start=1):
            pane = h.pane(agent["name"])
            assert pane.number == n == agent_number(state, agent["name"])
            assert str(pane.border_title).startswith(f"{n} {agent['name']}")
            await pilot.press(str(n))
            assert h.app.focused is pane
        assert agent_number(state, "BTC buy & hold") is None


async def test_a_name_listed_twice_keeps_one_number_everywhere():
    agents = ({"name": "A", "kind": "llm", "model": "m1"}, {"name": "B", "kind": "llm", "model": "m2"}, {"name": "A", "kind": "llm", "model": "m3"}, {"name": "C", "kind": "llm", "model": "m4"})
    h = Harness(agents)
    async with h.app.run_test(size=(120, 40)) as pilot:
        await h.start()
        await pilot.pause()
        assert agent_numbers(a["name"] for a in agents) == {"A": 1, "B": 2, "C": 3}
        for name, n in (("A", 1), ("B", 2), ("C", 3)):
            assert h.pane(name).number == n == agent_number(h.session.state, name)
            assert h.app.console_screen.pane_at(n) is h.pane(name)


# -- repeated baseline lines -----------------------------------------------------------------------


async def test_the_flat_baselines_repeated_lines_collapse_into_one():
    """The real AlwaysFlat streams one line per coin ("BTC: stay flat (cash $10,000).", ...): the
    pane draws one line naming the coins; its text keeps every line."""
    agent = make_baseline("always_flat", "Flat (rule-based)")
    _, deltas = await run(agent, request_at("2025-10-28T06:15:00Z"))
    reasoning = "".join(t for k, t in deltas if k == "reasoning")
    assert reasoning.count("stay flat (cash $10,000).") == 6
    h = Harness()
    async with h.app.run_test(size=(140, 45)) as pilot:
        await h.start()
        await pilot.pause()
        h.send(ev.CycleStarted(1, T0))
        h.send(*(ev.ReasoningDelta(1, T0, "Flat (rule-based)", kind, text) for kind, text in deltas))
        await h.app.events_rendered()
        pane = h.pane("Flat (rule-based)")
        reasoning_lines = [b for b in pane.blocks if b.kind == "reasoning" and b.text]
        assert len(reasoning_lines) == 1
        assert reasoning_lines[0].shown == "BTC ETH SOL BNB XRP DOGE: stay flat (cash $10,000)."
        assert pane.text("reasoning") == reasoning
        # an LLM's repeated lines are its own business: never collapsed
        h.send(*(ev.ReasoningDelta(1, T0, "gpt-5", "reasoning", "same\n") for _ in range(3)))
        await h.app.events_rendered()
        assert [b.text for b in h.pane("gpt-5").blocks if b.kind == "reasoning" and b.text] == ["same"] * 3


def test_collapse_rules():
    assert collapse("BTC: stay flat.", "ETH: stay flat.") == "BTC ETH: stay flat."
    assert collapse("BTC ETH: stay flat.", "SOL: stay flat.") == "BTC ETH SOL: stay flat."
    assert collapse("BTC: RSI7 58.5: no extreme.", "ETH: RSI7 67.5: no extreme.") is None
    assert collapse("hold", "hold") == "hold ×2" and collapse("hold ×2", "hold") == "hold ×3"
    assert collapse("", "") is None and collapse("a", "b") is None


# -- failures in plain sight -----------------------------------------------------------------------


async def test_a_failing_agent_is_marked_with_its_reason_until_it_answers_well_at_80x24():
    h = Harness()
    async with h.app.run_test(size=(80, 24)) as pilot:
        await h.start()
        await pilot.pause()
        pane = h.pane("gemini-2.5-pro")
        name = pane.agent_name
        for c in (1, 2):
            t = T0 + (c - 1) * STEP
            h.send(ev.CycleStarted(c, t), ev.AgentStarted(c, t, name))
            h.send(ev.AgentReplied(c, t, name, latency_s=90.0, failure_kind="timeout", failure_reason="no answer"))
            h.send(ev.AgentFailed(c, t, name, "timeout", "gemini-2.5-pro: no answer within 90 s. Holding this cycle."))
        await h.app.events_rendered()
        await pilot.pause()
        border = h.bottom_border(pane)
        assert pane.has_class("-failed")
        assert "⚠ timeout: no answer within 90 s · 2 in a row" in border  # (the pane's own name left out)
        assert "⚠ failed (timeout): gemini-2.5-pro: no answer within 90 s." in " ".join(pane.lines())  # the inline line
        h.send(ev.CycleStarted(3, T0 + 2 * STEP), ev.AgentStarted(3, T0 + 2 * STEP, name))
        await h.app.events_rendered()
        await pilot.pause()
        assert pane.has_class("-failed") and "⚠ timeout" in h.bottom_border(pane)  # a new cycle does not clear it
        h.send(reply(3, name), ev.DecisionParsed(3, T0 + 2 * STEP, name, ({"coin": "BTC", "signal": "hold"},)))
        await h.app.events_rendered()
        await pilot.pause()
        assert not pane.has_class("-failed") and "⚠" not in h.bottom_border(pane) and "65.4 s" in h.bottom_border(pane)


async def test_a_halted_agent_shows_the_halt_reason_at_80x24_and_140x45():
    for size in ((80, 24), (140, 45)):
        h = Harness()
        async with h.app.run_test(size=size) as pilot:
            await h.start()
            await pilot.pause()
            name = "deepseek-chat-v3.1"
            h.send(ev.CycleStarted(1, T0), ev.AgentFailed(1, T0, name, "auth", "401 from the API: the key was refused."))
            h.send(ev.AgentHalted(1, T0, name, "budget of $5.00 a day spent; halted for the rest of the session."))
            await h.app.events_rendered()
            await pilot.press("4")
            await pilot.pause()
            pane = h.pane(name)
            assert pane.has_class("-halted") and not pane.has_class("-failed")
            assert "✖ HALTED: budget of $5.00 a day spent" in h.bottom_border(pane)
