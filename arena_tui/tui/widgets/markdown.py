"""Markdown for streamed model text, one line at a time, as styled ``rich.text.Text`` (markers removed).

``StreamView`` holds a model's text as one block per line (a newline opens the next block) and
re-renders only the last, open one as tokens arrive; this module renders one such line:

* block level, by hand (a line is all there is): ATX headings (``## Risk``), bullet and numbered list
  items (a bullet glyph, the number kept, wrapped lines hang under the item's text), block quotes
  (``▌``), horizontal rules (``---``), and fenced code blocks (``` / ~~~): the fence state is carried
  from line to line in an ``MdState`` (``advance``), so a fence opened in one block holds for the
  blocks after it; inside, lines are drawn verbatim in the code style.
* inline, by markdown-it-py's inline parser (CommonMark, plus ``~~strike~~``; raw HTML off): **bold**,
  *italic* / _italic_, ``code``, ~~strike~~, links and images shown as their text, backslash escapes
  and entities resolved.
* verbatim: an answer whose first non-blank line opens a JSON object or array (the Alpha Arena answer
  format) is drawn exactly as it came from there on (``MdState.verbatim``), and any line that looks
  like a line of JSON (``{``, ``}``, ``"key": ...``) is never read as Markdown, so JSON is not mangled.

Untrusted text: the line has already passed ``engine.sanitize`` (``StreamView`` does it); here it is
only ever appended to a ``Text`` as a plain string with a style, never parsed as Rich markup.

The rendered text carries the Markdown styles only, as spans (``MdStyles``); the caller sets the
block's own style (``Text.style``) underneath, so the styles combine (bold inside dim italic reasoning is bold dim
italic). Rendering is a pure function of (state, line): the same line renders the same however it
arrived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["GrowingLine", "MdLine", "MdState", "MdStyles", "PLAIN", "advance", "render_inline", "render_line"]


@dataclass(frozen=True)
class MdState:
    """Where a line stands in its stream: ``fence`` is the marker of the open code fence (```` ``` ````,
    ``~~~~``; "" outside one), ``verbatim`` says every line from here on is drawn as it came (an
    answer that is JSON), ``started`` that a non-blank line has been seen (an answer is JSON when
    its first non-blank line opens an object or array)."""

    fence: str = ""
    verbatim: bool = False
    started: bool = False


PLAIN = MdState()
"""The state at the start of a stream (a cycle's reasoning or answer)."""


@dataclass(frozen=True)
class MdStyles:
    """The Rich styles of the Markdown elements (drawn over the block's own style): ``strong``,
    ``emphasis``, ``code`` (inline code and code blocks), ``strike``, ``link`` (a link's text),
    ``heading``, ``quote`` (a quote's text), ``marker`` (bullets, item numbers, the quote bar, fence
    lines) and ``rule`` (a horizontal rule)."""

    strong: Style = Style(bold=True)
    emphasis: Style = Style(italic=True)
    code: Style = Style(italic=False)
    strike: Style = Style(strike=True)
    link: Style = Style(underline=True)
    heading: Style = Style(bold=True)
    quote: Style = Style(italic=True)
    marker: Style = Style(bold=True, italic=False)
    rule: Style = Style(dim=True)


@dataclass(frozen=True)
class MdLine:
    """One rendered line: ``text`` (markers removed, Markdown styles as spans), ``hang`` (cells the
    wrapped lines after the first are indented by: a list item's or quote's text), ``rule`` (a
    horizontal rule: the caller draws it across the width in ``MdStyles.rule``) and ``code`` (a
    code-block or verbatim line: better cropped or folded than word-wrapped)."""

    text: Text
    hang: int = 0
    rule: bool = False
    code: bool = False


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r" {0,3}#{1,6}(?=[ \t]|$)")
"""An ATX heading's opening; its text and closing ``#``s are found by ``_heading_text`` (a pattern for
the whole line backtracked quadratically over a long run of spaces, on every streamed token)."""
_RULE = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_QUOTE = re.compile(r"^ {0,3}>[ \t]?(.*)$")
_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_JSONISH = re.compile(r'^\s*(?:[{}\]]|\[\s*(?:$|[\[{"\d-])|"[^"]*"\s*:)')
"""A line of JSON (an object's or array's bracket, or a ``"key":`` member): never Markdown."""
_JSON_START = re.compile(r'^\s*(?:\{|\[\s*(?:$|[\[{"\d-]))')
_INLINE_MARKS = frozenset("*_`~[]!<&\\")
"""Characters without which a line has no inline Markdown (it is drawn as it is, unparsed)."""
_BULLETS = ("•", "◦", "▪")
MAX_INLINE_CHARS = 4000
MAX_INLINE_BRACKETS = 200
"""Inline Markdown is read in lines of up to ``MAX_INLINE_CHARS`` characters holding up to
``MAX_INLINE_BRACKETS`` ``[``; a longer or more bracketed line is drawn as it came (its markers
kept). markdown-it's inline parser is linear but slow on brackets (about 40 us per character of
``![![...``, 6 us of ``*a*a...``), and a growing line is parsed again as tokens arrive: these caps
hold one parse under about 30 ms whatever a model sends. Real answers' lines stay under 900
characters (the bundled 239 Alpha Arena answers and 384 more)."""


def _heading_text(rest: str) -> str:
    """A heading's text from what follows its opening ``#``s: without the spaces around it and without
    a closing sequence of ``#``s (one that follows a space or tab, or is all there is: CommonMark).
    Linear in the length of the line."""
    body = rest.strip(" \t")
    head = body.rstrip("#")
    if not head:
        return ""
    return head.rstrip(" \t") if head[-1] in " \t" else body


@lru_cache(maxsize=1)
def _parser() -> "MarkdownIt":
    # imported on the first paragraph drawn, not before the first frame (issue 14)
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def advance(state: MdState, text: str, *, answer: bool = False) -> MdState:
    """The state after ``text`` (one line, or several joined by newlines), starting in ``state``.
    ``answer``: the stream is an answer, which turns ``verbatim`` when its first non-blank line
    opens a JSON object or array."""
    for line in text.split("\n"):
        state = _step(state, line, answer)
    return state


def _step(state: MdState, line: str, answer: bool) -> MdState:
    if state.verbatim:
        return state
    started = state.started or bool(line.strip())
    if state.fence:
        close = _FENCE.match(line)
        marker = state.fence
        if close and close.group(1)[0] == marker[0] and len(close.group(1)) >= len(marker) and not close.group(2).strip():
            return MdState("", False, started)
        return MdState(marker, False, started)
    fence = _FENCE.match(line)
    if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
        return MdState(fence.group(1), False, started)
    if answer and not state.started and _JSON_START.match(line):
        return MdState("", True, True)
    return MdState("", False, started)


class GrowingLine:
    """What rendering a line that only grows at its end (the open paragraph of a stream) keeps, so
    the next render parses only what came after its last *settled* part: ``prefix``, the longest
    start of the line's inline text that ends in a space and leaves no delimiter that could still
    open something (``*``, ``_``, ``~~``, a backtick, ``[``, ``<``: see ``_OPENER``) once rendered,
    and ``text``, its rendering. Inline Markdown after such a prefix renders as if the line started
    there (CommonMark reads the start of a line like a space), so the prefix's rendering is reused.
    ``key`` says what the prefix belongs to (the kind of line, and the styles)."""

    __slots__ = ("key", "prefix", "text")

    def __init__(self) -> None:
        self.key: object = None
        self.prefix = ""
        self.text = Text(end="")


def render_line(line: str, state: MdState, styles: MdStyles, *, answer: bool = False, growing: GrowingLine | None = None) -> MdLine:
    """``line`` (no newline inside) rendered in ``state`` (the state after the lines before it).
    ``growing``: the line is the longer successor of the one last rendered with it (only its inline
    part after the settled prefix is parsed again); the result is the same."""
    if state.verbatim or (answer and not state.started and not state.fence and _JSON_START.match(line)):
        return MdLine(Text(line, end=""), code=True)
    if state.fence:
        if _step(state, line, answer).fence:  # still inside: the code itself
            return MdLine(_styled(line, styles.code), code=True)
        return MdLine(_styled(line, styles.marker), code=True)  # the closing fence
    fence = _FENCE.match(line)
    if fence and _step(state, line, answer).fence:
        return MdLine(_styled(line, styles.marker), code=True)  # the opening fence
    if _JSONISH.match(line):
        return MdLine(Text(line, end=""), code=True)
    if _RULE.match(line):
        return MdLine(Text("", end=""), rule=True)
    heading = _HEADING.match(line)
    if heading:
        return MdLine(_inline(_heading_text(line[heading.end():]), styles, styles.heading, growing, "heading"))
    quote = _QUOTE.match(line)
    if quote:
        text = _styled("▌ ", styles.marker)
        text.append_text(_inline(quote.group(1), styles, styles.quote, growing, "quote"))
        return MdLine(text, hang=2)
    item = _ITEM.match(line)
    if item:
        indent = " " * min(cell_len(item.group(1).replace("\t", "    ")), 12)
        marker = item.group(2)
        if marker in ("-", "*", "+"):
            marker = _BULLETS[min(len(indent) // 2, len(_BULLETS) - 1)]
        text = Text(indent, end="")
        text.append(marker, styles.marker)
        text.append(" ")
        hang = text.cell_len
        text.append_text(_inline(item.group(3), styles, None, growing, ("item", text.plain)))
        return MdLine(text, hang=hang)
    return MdLine(_inline(line, styles, None, growing, "text"))


def _styled(line: str, style: Style) -> Text:
    """``line`` with ``style`` as a span (a rendered line's own ``Text.style`` is left to the caller)."""
    text = Text(line, end="")
    text.stylize(style)
    return text


def _too_long(text: str) -> bool:
    """Past the caps on inline Markdown (``MAX_INLINE_CHARS``, ``MAX_INLINE_BRACKETS``)."""
    return len(text) > MAX_INLINE_CHARS or text.count("[") > MAX_INLINE_BRACKETS


def _inline(content: str, styles: MdStyles, style: Style | None, growing: GrowingLine | None, kind: object) -> Text:
    """``render_inline``, reusing ``growing``'s settled prefix when ``content`` extends it."""
    if growing is None or _too_long(content):  # (render_inline draws a too long line as it came)
        return render_inline(content, styles, style)
    key = (kind, styles, style)
    if growing.key != key or not content.startswith(growing.prefix):
        growing.key, growing.prefix, growing.text = key, "", Text(end="")
    rest = content[len(growing.prefix) :]
    cut = rest.rfind(" ") + 1
    if cut:
        middle, settled = _render_inline(rest[:cut], styles, style)
        if settled:
            growing.text = growing.text + middle
            growing.prefix += rest[:cut]
            rest = rest[cut:]
    out = growing.text.copy()
    out.append_text(render_inline(rest, styles, style))
    return out


def render_inline(text: str, styles: MdStyles, style: Style | None = None) -> Text:
    """The inline Markdown of ``text`` as a ``Text`` (markers removed), over ``style`` if given."""
    return _render_inline(text, styles, style)[0]


_OPENER = re.compile(r"[`\[]|(?<![A-Za-z0-9])_(?!\s)|\*(?!\s)|~~(?!\s)|<(?!\s)")
"""A character left in rendered text that a later delimiter could still pair with (an emphasis or
strike opener, a code span's backticks, a link's bracket, an autolink's ``<``); conservative."""


def _render_inline(text: str, styles: MdStyles, style: Style | None) -> tuple[Text, bool]:
    """``render_inline``, and whether the rendering is settled: no possible opener is left in its
    text (``_OPENER``), so text appended after a space cannot change it."""
    out = Text(end="")
    if _too_long(text) or not _INLINE_MARKS.intersection(text):
        out.append(text, style)
        return out, True
    settled = True
    stack: list[Style] = [style] if style is not None else []
    tokens = _parser().parseInline(text)
    children = tokens[0].children if tokens and tokens[0].children is not None else []
    for token in children:
        kind = token.type
        if kind.endswith("_open"):
            part = {"strong_open": styles.strong, "em_open": styles.emphasis, "s_open": styles.strike, "link_open": styles.link}.get(kind)
            stack.append(part if part is not None else Style())
        elif kind.endswith("_close"):
            if stack:
                stack.pop()
        elif kind == "code_inline":
            out.append(token.content, Style.chain(*stack, styles.code) if stack else styles.code)
        elif kind in ("softbreak", "hardbreak"):
            out.append(" ", Style.chain(*stack) if stack else None)
        elif token.content:  # text, image (its alt text), html_inline (off), anything else: as it is
            if settled and _OPENER.search(token.content):
                settled = False
            out.append(token.content, Style.chain(*stack) if stack else None)
    return out, settled
