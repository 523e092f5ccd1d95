"""The Markdown renderer of the agent panes (``tui/widgets/markdown.py``), on real model text.

The lines come from tests/data/llm_answers_alpha_arena.json.gz (Alpha Arena Season 1 reasoning and
answers). Spans are checked exactly against ``MdStyles()``'s plain styles; the property tests check
that rendering does not depend on how a stream was cut into deltas.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.style import Style
from rich.text import Span, Text

from arena_tui.tui.widgets.markdown import PLAIN, GrowingLine, MdState, MdStyles, advance, render_inline, render_line

S = MdStyles()
RECORDS = json.loads(gzip.decompress((Path(__file__).parent / "data" / "llm_answers_alpha_arena.json.gz").read_bytes()))["records"]


def real_lines(kind: str = "reasoning") -> list[str]:
    return [line for r in RECORDS for line in r[kind].split("\n")]


def drawn(text: Text) -> list[tuple[str, Style]]:
    """Each character of ``text`` with the style it is drawn in (however the spans happen to be cut)."""
    styles = [Style()] * len(text.plain)
    for span in text.spans:
        for i in range(span.start, min(span.end, len(styles))):
            styles[i] = styles[i] + span.style
    return list(zip(text.plain, styles))


def lines_of(text: str, *, answer: bool = False) -> list[tuple[str, list[Span], int, bool]]:
    """Each line of ``text`` rendered in the state the lines before it left: (plain, spans, hang, code)."""
    out = []
    state = PLAIN
    for line in text.split("\n"):
        md = render_line(line, state, S, answer=answer)
        out.append((md.text.plain, list(md.text.spans), md.hang, md.code))
        state = advance(state, line, answer=answer)
    return out


def test_real_lines_are_in_the_data():
    """The lines below are quoted from the data set, not made up."""
    reasoning = set(real_lines())
    for line in (
        "**Execution Summary: Hyperliquid Trading Strategy**",
        "*   **ETH (Long):** The price is above the 50-EMA. The trend looks bullish. Hold.",
        "## Current Account State",
        "- Total Account Value: $10,896.23",
        "My rules prevent me from adding any new positions. I am restricted to `hold` or `close_position`.",
    ):
        assert line in reasoning


def test_bold_heading_line_loses_its_markers():
    md = render_line("**Execution Summary: Hyperliquid Trading Strategy**", PLAIN, S)
    assert md.text.plain == "Execution Summary: Hyperliquid Trading Strategy"
    assert md.text.spans == [Span(0, 47, S.strong)]
    assert md.hang == 0 and not md.rule and not md.code


def test_bullet_item_gets_a_glyph_a_hanging_indent_and_bold_inside():
    md = render_line("*   **ETH (Long):** The price is above the 50-EMA. The trend looks bullish. Hold.", PLAIN, S)
    assert md.text.plain == "• ETH (Long): The price is above the 50-EMA. The trend looks bullish. Hold."
    assert md.text.spans == [Span(0, 1, S.marker), Span(2, 13, S.strong)]
    assert md.hang == 2


def test_numbered_item_keeps_its_number():
    md = render_line("1. ETH: Entry price 4189.12, current price 4093.55, unrealized PNL -548.57.", PLAIN, S)
    assert md.text.plain == "1. ETH: Entry price 4189.12, current price 4093.55, unrealized PNL -548.57."
    assert md.text.spans == [Span(0, 2, S.marker)] and md.hang == 3


def test_nested_items_indent_and_change_glyph():
    md = render_line("    - Stop: $3,945 (`4h` close)", PLAIN, S)
    assert md.text.plain == "    ▪ Stop: $3,945 (4h close)"
    assert md.text.spans == [Span(4, 5, S.marker), Span(20, 22, S.code)] and md.hang == 6


def test_headings_and_inline_code():
    heading = render_line("## Current Account State", PLAIN, S)
    assert heading.text.plain == "Current Account State" and heading.text.spans == [Span(0, 21, S.heading)]
    code = render_line("My rules prevent me from adding any new positions. I am restricted to `hold` or `close_position`.", PLAIN, S)
    assert code.text.plain == "My rules prevent me from adding any new positions. I am restricted to hold or close_position."
    assert code.text.spans == [Span(70, 74, S.code), Span(78, 92, S.code)]


def test_emphasis_strike_links_quotes_and_rules():
    md = render_line("*slightly* positive, _not_ ~~long~~ [chart](https://example.com) a_b_c", PLAIN, S)
    assert md.text.plain == "slightly positive, not long chart a_b_c"
    assert md.text.spans == [Span(0, 8, S.emphasis), Span(19, 22, S.emphasis), Span(23, 27, S.strike), Span(28, 33, S.link)]
    quote = render_line("> the trend is **down**", PLAIN, S)
    assert quote.text.plain == "▌ the trend is down" and quote.hang == 2
    assert quote.text.spans == [Span(0, 2, S.marker), Span(2, 15, S.quote), Span(15, 19, Style.chain(S.quote, S.strong))]
    for rule in ("---", "***", " _ _ _"):
        assert render_line(rule, PLAIN, S).rule


def test_markup_and_html_look_alikes_are_text():
    md = render_line("[b]bold[/b] <b>html</b> [link=https://evil]x[/] \\*not\\* 5 * 3", PLAIN, S)
    assert md.text.plain == "[b]bold[/b] <b>html</b> [link=https://evil]x[/] *not* 5 * 3"
    assert md.text.spans == []


def test_a_fenced_block_from_real_reasoning_is_verbatim_across_lines():
    """gemini-2.5-pro's reasoning ends with a ```json block: the fence holds across lines (each a
    block of its own in the pane), and the JSON inside is drawn as it came in the code style."""
    text = next(r["reasoning"] for r in RECORDS if "```json" in r["reasoning"])
    start = text.index("```json")
    block = text[start:].split("\n")[:8]
    assert block[0] == "```json" and block[1] == "[" and block[3] == '    "coin": "ETH",'
    rendered = lines_of("\n".join(["**Summary**", *block, "```", "**after**"]))
    assert rendered[0] == ("Summary", [Span(0, 7, S.strong)], 0, False)
    assert rendered[1] == ("```json", [Span(0, 7, S.marker)], 0, True)
    for line, (plain, spans, _, code) in zip(block[1:], rendered[2:]):
        assert plain == line and spans == [Span(0, len(line), S.code)] and code
    assert rendered[-2] == ("```", [Span(0, 3, S.marker)], 0, True)
    assert rendered[-1] == ("after", [Span(0, 5, S.strong)], 0, False)


def test_a_json_answer_is_verbatim():
    """The Alpha Arena answer format: a JSON object, drawn exactly as it came (its `*` and `_` too)."""
    answer = next(r["answer"] for r in RECORDS if r["answer"].startswith("{"))
    hostile = answer.replace('"justification": "', '"justification": "**not bold** _x_ `y` ', 1)
    for text in (answer, hostile, "\n" + hostile):
        rendered = lines_of(text, answer=True)
        assert [plain for plain, *_ in rendered] == text.split("\n")
        assert all(spans == [] for _, spans, *_ in rendered)
    state = advance(PLAIN, answer, answer=True)
    assert state.verbatim and render_line("**still verbatim**", state, S, answer=True).text.plain == "**still verbatim**"


def test_prose_then_json_answer_renders_the_prose_and_keeps_the_json():
    """deepseek-chat-v3.1 answered with prose (a numbered list), a ```json block, more prose, then a
    bare JSON array glued to a sentence: the prose is Markdown, the fenced block verbatim in the code
    style, and each line of the bare JSON drawn as it came."""
    answer = next(r["answer"] for r in RECORDS if r["answer"].startswith("First, I need"))
    lines = answer.split("\n")
    rendered = lines_of(answer, answer=True)
    plain = [p for p, *_ in rendered]
    assert plain[0] == lines[0] and plain[4].startswith("1. ETH: Entry price 4189.12")
    assert rendered[4][1] == [Span(0, 2, S.marker)] and rendered[4][2] == 3
    fence, end = lines.index("```json"), lines.index("```")
    for line, (text, spans, _, code) in zip(lines[fence + 1 : end], rendered[fence + 1 : end]):
        assert text == line and spans == [Span(0, len(line), S.code)] and code
    bare = lines.index("Finally, output the JSON.[")
    assert all(text == line and spans == [] for line, (text, spans, *_) in zip(lines[bare + 1 :], rendered[bare + 1 :]))


def test_every_real_line_renders_and_keeps_its_words():
    """All 239 records: no line raises, and removing markers never loses a letter or digit."""
    for kind in ("reasoning", "answer"):
        state = PLAIN
        for line in real_lines(kind):
            md = render_line(line, state, S, answer=kind == "answer")
            kept = "".join(c for c in md.text.plain if c.isalnum())
            original = "".join(c for c in line if c.isalnum())
            assert kept == original or md.rule, line
            state = advance(state, line, answer=kind == "answer")


def test_growing_lines_render_as_whole_lines_on_real_reasoning():
    """The open paragraph is re-rendered from its settled prefix (``GrowingLine``); every prefix of
    every real line is drawn exactly as the whole prefix is (characters and their styles)."""
    checked = 0
    for line in real_lines()[:1500]:
        if not any(c in line for c in "*_`~[<"):
            continue
        growing = GrowingLine()
        for end in range(1, len(line) + 1, 3):
            part = line[:end]
            fast = render_line(part, PLAIN, S, growing=growing).text
            slow = render_line(part, PLAIN, S).text
            assert drawn(fast) == drawn(slow), part
            checked += 1
    assert checked > 1000


MARKUP = st.sampled_from(["**", "*", "_", "`", "~~", "[", "](x)", "]", "<", ">", "# ", "- ", "1. ", "```", "\n", "\n\n", " ", "\\", "{", "}", '"k": '])
WORDS = st.sampled_from(["ETH", "long", "a_b", "3,850", "RSI14", "hold", "x", "$10"])


@st.composite
def markdown_text(draw) -> str:
    return "".join(draw(st.lists(st.one_of(MARKUP, WORDS), max_size=40)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=markdown_text(), cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_growing_line_equals_whole_render_however_the_text_grows(text, cuts):
    """Property: for a line grown in arbitrary steps, each step is drawn as the whole line would be
    (the same characters in the same styles)."""
    line = text.replace("\n", " ")
    growing = GrowingLine()
    for end in sorted({min(c, len(line)) for c in cuts} | {len(line)}):
        fast = render_line(line[:end], MdState(), S, growing=growing).text
        slow = render_line(line[:end], MdState(), S).text
        assert drawn(fast) == drawn(slow)


def test_render_inline_never_reads_rich_markup():
    text = render_inline("[bold red]x[/] [@click=app.quit]y[/]", S)
    assert text.plain == "[bold red]x[/] [@click=app.quit]y[/]" and text.spans == []


def _finishes(work, seconds: float = 60.0):
    """``work()``'s result, run in a thread given ``seconds`` (a guard against a pattern gone
    quadratic, which needs minutes here; the work itself takes milliseconds), else AssertionError."""
    import threading

    out: list = []
    t = threading.Thread(target=lambda: out.append(work()), daemon=True)
    t.start()
    t.join(seconds)
    assert out, f"did not finish in {seconds:g} s"
    return out[0]


def test_headings_match_commonmark_and_a_long_run_of_spaces_costs_linear_time():
    for line, text in (("# a", "a"), ("## a ##", "a"), ("# a #b", "a #b"), ("# a#", "a#"), ("###### x ###   ", "x"),
                       ("# a \t## ", "a"), ("#\tb", "b"), ("# ###", ""), ("#", "")):
        assert render_line(line, PLAIN, S).text.plain == text, line
    for line in ("####### x", "#x", "    # a"):
        assert render_line(line, PLAIN, S).text.plain != "x", line  # not headings
    # a model streaming a heading followed by 200,000 spaces: each token re-renders the open line
    line = "# a" + " " * 200_000 + "x"
    assert _finishes(lambda: render_line(line, PLAIN, S).text.plain).endswith("x")


def test_a_line_past_the_inline_caps_is_drawn_as_it_came_without_parsing(monkeypatch):
    """markdown-it's inline parser is linear but slow on brackets: a model streaming 1 MB of ``![``
    on one line kept the screen busy for about 22 s (each token parses the open line again). Past
    ``MAX_INLINE_CHARS`` characters or ``MAX_INLINE_BRACKETS`` brackets a line is drawn as it came;
    below the caps it is Markdown as before, and a growing line renders as the whole line does."""
    from arena_tui.tui.widgets import markdown

    bold = "**long** ETH " * ((markdown.MAX_INLINE_CHARS - 20) // 13)
    under = render_line(bold, PLAIN, S).text
    assert "**" not in under.plain and any(S.strong == span.style for span in under.spans)
    brackets = "[a](x) " * markdown.MAX_INLINE_BRACKETS
    assert render_line(brackets, PLAIN, S).text.plain == "a " * markdown.MAX_INLINE_BRACKETS

    def no_parse():
        raise AssertionError("parsed a line past the caps")

    monkeypatch.setattr(markdown, "_parser", no_parse)
    for line, plain in (("![" * 500_000, "![" * 500_000), (bold + "**x** " * 10, bold + "**x** " * 10),
                        (brackets + "[b](y)", brackets + "[b](y)"), ("# " + "![" * 3000, "![" * 3000)):
        assert render_line(line, PLAIN, S).text.plain == plain, line[:20]
    assert render_line("- " + "[" * 300, PLAIN, S).text.plain.endswith("[" * 300)  # a list item: its glyph, then as it came
    # a growing line crossing the cap: every step drawn as the whole line is (past it: no parse)
    monkeypatch.undo()
    growing, line = GrowingLine(), bold + "*x* [y](z) " * 40
    for end in range(len(line) - 600, len(line) + 1, 37):
        assert drawn(render_line(line[:end], PLAIN, S, growing=growing).text) == drawn(render_line(line[:end], PLAIN, S).text)
