"""``StreamView``: wrapped, styled text that grows at its end, drawn line by line (like ``Log``),
with blocks that fold into one line and unfold again (an agent's answer once it is parsed).

Why not a ``Markdown`` per response: six agents streaming 50 tokens/s each made every ``Markdown``
append re-lay out the whole screen (the block's height changes), and the UI loop fell seconds behind
(benchmarks/tui.py measured a p99 timer lag of 243 ms). Here an append re-wraps only the paragraph
it touches, updates the virtual height and repaints the lines that changed; the screen never
re-lays out, and only the visible lines are ever rendered.

Markdown: streamed paragraphs of the ``MARKDOWN`` kinds (reasoning, answer) are drawn as Markdown
(``widgets/markdown.py``: inline styles, headings, list items, quotes, rules, code fences; JSON
verbatim). A block's rendering depends only on its text and the Markdown state the blocks before it
left (an open code fence), fixed when the block opens, so a settled block is rendered once (its
strips are cached per width) and each append re-renders only the open, last block.

Untrusted text: ``append``, ``add_line`` and ``fold`` are the only ways text gets in, and each passes
it through ``engine.sanitize`` (``safe_text``; ``safe_line`` for chunks and summaries); blocks are
drawn as ``rich.text.Text`` built from plain strings with styles, never parsed as markup.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import ClassVar, Iterator

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from arena_tui.engine.sanitize import safe_line, safe_text
from arena_tui.tui.widgets.component_style import text_style
from arena_tui.tui.widgets.markdown import PLAIN, GrowingLine, MdState, MdStyles, advance, render_line


@dataclass(eq=False)
class Block:
    """One paragraph (no newline inside): ``kind`` names its component style (``stream--<kind>``),
    ``cycle`` the cycle it belongs to, ``prefix`` is drawn before the text and ``hang`` indents the
    wrapped lines after the first; ``chunks``, when given, are the pieces of ``text`` (joined by
    spaces) that wrapping never splits (``stop 112,052.7``); ``strips`` caches its wrapped lines at
    the current width (``lines``: the same lines as ``Text``, to tell which changed, while it grows). ``md`` is the Markdown state the blocks before it left (None: not Markdown);
    ``shown``, when set, is drawn instead of ``text`` (a run of repeated lines collapsed into one,
    ``text`` keeping them all, joined by newlines). ``growing`` is kept while a streamed paragraph
    is open (its appends re-parse only what follows the settled part of its Markdown, and re-render
    only the lines that changed); once it settles it is rendered again whole, once.

    A fold (``kind == "fold"``) holds other blocks in ``children``: folded it is one line (its
    ``chunks`` joined by `` · ``, the last ones left out when the line is too narrow), unfolded
    (``expanded``) that line and then the children, wrapped."""

    kind: str
    text: str
    cycle: int
    prefix: str = ""
    hang: int = 0
    chunks: tuple[str, ...] = ()
    children: list["Block"] | None = None
    expanded: bool = False
    strips: list[Strip] = field(default_factory=list)
    lines: list[Text] = field(default_factory=list)
    wrapped_at: int = -1
    md: MdState | None = None
    shown: str | None = None
    growing: GrowingLine | None = None


class StreamView(ScrollView, can_focus=True):
    """A scrollable list of ``Block``s. ``append(kind, text, cycle)`` streams text onto the last block
    of that kind and cycle (a newline starts a new paragraph); ``add_line`` adds a block of its own;
    ``fold(kind, cycle, summary)`` folds a cycle's blocks of one kind into a one-line summary, which
    ``toggle_folds`` (or a click on it) unfolds and folds again.

    Colours come from the component classes in ``COMPONENT_CLASSES`` (styled with theme variables in
    ``DEFAULT_CSS``); a theme change re-wraps. It follows the end while the user has not scrolled up.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "stream--placeholder",
        "stream--rule",
        "stream--reasoning",
        "stream--answer",
        "stream--fold",
        "stream--decision",
        "stream--buy",
        "stream--sell",
        "stream--hold",
        "stream--rejected",
        "stream--fill",
        "stream--profit",
        "stream--loss",
        "stream--funding",
        "stream--failed",
        "stream--fallback",
        "stream--member",
        "stream--vote",
        "stream--halted",
        "stream--md-strong",
        "stream--md-emphasis",
        "stream--md-code",
        "stream--md-strike",
        "stream--md-link",
        "stream--md-heading",
        "stream--md-quote",
        "stream--md-marker",
    }

    NO_WRAP: ClassVar[frozenset[str]] = frozenset({"rule", "answer"})
    """Block kinds drawn on one line, cropped at the right edge (an answer's lines while it
    streams: the start of each JSON line says the coin and signal; unfolded, they wrap)."""
    FOLD_HINT: ClassVar[tuple[str, str]] = ("", "")
    """Appended to a fold's summary when it is folded and when it is unfolded (e.g. the key)."""
    OWN_BACKGROUND: ClassVar[frozenset[str]] = frozenset({"halted"})
    """Block kinds whose component style sets a background of their own."""
    MARKDOWN: ClassVar[frozenset[str]] = frozenset({"reasoning", "answer"})
    """Streamed block kinds drawn as Markdown (over the kind's own style)."""

    DEFAULT_CSS = """
    StreamView {
        overflow-y: scroll;
        overflow-x: hidden;
        & > .stream--placeholder { color: $text-muted; }
        & > .stream--rule { color: $text-muted; }
        & > .stream--reasoning { color: $arena-reasoning; text-style: italic; }
        & > .stream--answer { color: $text-muted; }
        & > .stream--fold { color: $text-muted; }
        & > .stream--decision { color: $text-primary; }
        & > .stream--buy { color: $text-success; }
        & > .stream--sell { color: $text-error; }
        & > .stream--hold { color: $text-muted; }
        & > .stream--rejected { color: $text-warning; }
        & > .stream--fill { color: $text; }
        & > .stream--profit { color: $success; }
        & > .stream--loss { color: $error; }
        & > .stream--funding { color: $text-muted; }
        & > .stream--failed { color: $text-error; text-style: bold; }
        & > .stream--fallback { color: $text-warning; text-style: bold; }
        & > .stream--member { color: $text-accent; text-style: bold; }
        & > .stream--vote { color: $text-accent; }
        & > .stream--halted { color: $background; background: $error; text-style: bold; }
        & > .stream--md-strong { text-style: bold; }
        & > .stream--md-emphasis { text-style: italic; }
        & > .stream--md-code { color: $text-accent; text-style: not italic; }
        & > .stream--md-strike { text-style: strike; }
        & > .stream--md-link { text-style: underline; }
        & > .stream--md-heading { color: $text; text-style: bold; }
        & > .stream--md-quote { text-style: italic; }
        & > .stream--md-marker { color: $text-secondary; text-style: bold not italic; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._blocks: list[Block] = []
        self._starts: list[int] = []
        self._total = 0
        self._width = 0
        self._style_cache: dict[str, Style] | None = None
        self._md_styles: MdStyles | None = None
        self._follow = True
        self._merged = False

    # -- content ----------------------------------------------------------------------------------

    @property
    def blocks(self) -> list[Block]:
        return self._blocks

    def append(self, kind: str, text: str, cycle: int) -> None:
        """Stream ``text`` onto the open ``kind`` paragraph of ``cycle`` (opening one if the last
        block is anything else); each newline closes the paragraph and opens the next. ``text`` is
        untrusted (a model's tokens): it is made safe first (``safe_text``)."""
        text = safe_text(text)
        if not text:
            return
        at_end = self._following()
        first, *rest = text.split("\n")
        last = self._blocks[-1] if self._blocks else None
        if last is not None and last.kind == kind and last.cycle == cycle and last.prefix == "" and last.children is None:
            if first:
                last.text += first
                self._rewrap_last()
        else:
            self._push(self._streamed(kind, first, cycle))
        for paragraph in rest:
            done = self._blocks[-1]
            if done.growing is not None:
                done.growing = None
                self._rewrap_last()  # settled: rendered whole, once
            self.settled(done)
            self._push(self._streamed(kind, paragraph, cycle))
        self._after_change(at_end, full=self._merged)
        self._merged = False

    def _streamed(self, kind: str, text: str, cycle: int) -> Block:
        """A new streamed paragraph; a Markdown kind starts in the state the paragraphs of its kind
        and cycle before it left (they are settled: only the last block ever grows)."""
        if kind not in self.MARKDOWN:
            return Block(kind, text, cycle, growing=GrowingLine())
        state = PLAIN
        for before in reversed(self._blocks):
            if before.cycle != cycle:
                break
            if before.kind == kind and before.md is not None and before.children is None:
                state = advance(before.md, before.text, answer=kind == "answer")
                break
        return Block(kind, text, cycle, md=state, growing=GrowingLine())

    def settled(self, block: Block) -> None:
        """A hook: the streamed paragraph ``block`` (the last block) is complete (a newline followed
        it). A subclass may collapse it into the block before it (``merge_last``)."""

    def merge_last(self, shown: str) -> None:
        """Join the last block into the one before it: its text is added to that block's (after a
        newline: ``text_of`` still gives every line) and ``shown`` is drawn instead of both."""
        last = self._blocks.pop()
        self._starts.pop()
        self._total -= len(last.strips)
        into = self._blocks[-1]
        into.text += "\n" + last.text
        into.shown = safe_line(shown, limit=None)
        before = len(into.strips)
        self._wrap(into)
        self._total += len(into.strips) - before
        self._merged = True

    def add_line(self, kind: str, text: str | tuple[str, ...], cycle: int, prefix: str = " ", hang: int = 0) -> None:
        """Add ``text`` as a block of its own (a decision, fill, exit, ...), indented by ``prefix``;
        its wrapped lines are indented by ``hang`` cells. ``text`` may be a tuple of chunks that
        wrapping keeps whole. An empty streamed paragraph just before it (the newline that ended
        the text) is dropped. The text is made safe first (``safe_text``, chunks ``safe_line``)."""
        at_end = self._following()
        chunks = tuple(safe_line(c, limit=None) for c in text) if isinstance(text, tuple) else ()
        text = safe_text(text) if isinstance(text, str) else text
        dropped = bool(self._blocks) and _blank(self._blocks[-1])
        if dropped:
            self._blocks.pop()
            self._reindex()
        self._push(Block(kind, " ".join(chunks) if chunks else str(text), cycle, prefix=prefix, hang=hang, chunks=chunks))
        self._after_change(at_end, full=dropped)

    def fold(
        self, kind: str, cycle: int, summary: tuple[str, ...], prefix: str = " ", expanded: bool = False, only: set[int] | None = None
    ) -> Block | None:
        """Fold every ``kind`` block of ``cycle`` (``only``: of those, the blocks whose ``id`` it
        holds) into one ``fold`` block where the first of them was, showing the ``summary`` parts
        joined by `` · `` (and, ``expanded``, the blocks under it); returns it (None when there was
        nothing to fold). The summary is made safe (``safe_line``)."""
        summary = tuple(safe_line(part, limit=None) for part in summary)
        inside = [b for b in self._blocks if b.kind == kind and b.cycle == cycle and b.children is None and (only is None or id(b) in only)]
        if not inside:
            return None
        for block in inside:
            if block.growing is not None:
                block.growing, block.wrapped_at = None, -1  # settled: rendered whole when next drawn
        at_end = self._following()
        folded = Block(
            "fold", " · ".join(summary), cycle, prefix=prefix, hang=len(prefix) + 2, chunks=tuple(summary), children=inside, expanded=expanded
        )
        first = self._blocks.index(inside[0])
        taken = set(map(id, inside))
        rest = [b for b in self._blocks[:first] if id(b) not in taken]
        while rest and _blank(rest[-1]):
            rest.pop()
        rest += [folded, *(b for b in self._blocks[first:] if id(b) not in taken)]
        self._blocks = rest
        self._reindex()
        self._after_change(at_end, full=True)
        return folded

    @property
    def folds(self) -> list[Block]:
        """The fold blocks held, oldest first."""
        return [b for b in self._blocks if b.children is not None]

    def toggle_folds(self, expand: bool | None = None) -> bool:
        """Unfold every fold (``expand=True``), fold them all (``False``), or (None) unfold them all
        unless every one is already unfolded. Returns the new state."""
        folds = self.folds
        if expand is None:
            expand = not folds or not all(b.expanded for b in folds)
        for block in folds:
            self._set_expanded(block, expand)
        self._reindex()
        self._after_change(self._following(), full=True)
        return expand

    def _set_expanded(self, block: Block, expanded: bool) -> None:
        if block.expanded != expanded:
            block.expanded = expanded
            block.wrapped_at = -1

    def drop_before(self, cycle: int) -> None:
        """Forget the blocks of cycles before ``cycle`` (bounded history)."""
        keep = [b for b in self._blocks if b.cycle >= cycle]
        if len(keep) != len(self._blocks):
            at_end = self._following()
            self._blocks = keep
            self._reindex()
            self._after_change(at_end, full=True)

    def drop_kind(self, kind: str) -> None:
        """Forget every block of ``kind`` (e.g. the placeholder)."""
        keep = [b for b in self._blocks if b.kind != kind]
        if len(keep) != len(self._blocks):
            self._blocks = keep
            self._reindex()
            self._after_change(True, full=True)

    def clear_blocks(self) -> None:
        self._blocks = []
        self._reindex()
        self._after_change(True, full=True)

    def text_of(self, kind: str, cycle: int | None = None) -> str:
        """The text of every ``kind`` block (of ``cycle``, if given), paragraphs joined by newlines
        as they arrived."""
        parts = [
            b.text
            for outer in self._blocks
            for b in (outer.children if outer.children is not None else (outer,))
            if b.kind == kind and (cycle is None or b.cycle == cycle)
        ]
        return "\n".join(parts)

    # -- wrapping ---------------------------------------------------------------------------------

    def _base_style(self) -> Style:
        """The view's own Rich style (computing it walks the DOM, so it is cached per style update)."""
        if self._style_cache is None:
            self._style_cache = {"": self.rich_style}
        return self._style_cache[""]

    def _style_for(self, kind: str) -> Style:
        base = self._base_style()
        assert self._style_cache is not None
        style = self._style_cache.get(kind)
        if style is None:
            part = text_style(self, f"stream--{kind}", keep_background=kind in self.OWN_BACKGROUND)
            style = self._style_cache[kind] = part if kind.startswith("md-") else base + part
        return style

    def markdown_styles(self) -> MdStyles:
        """The Markdown element styles from the ``stream--md-*`` component classes (drawn over a
        block's own style), the rule's from ``stream--rule``."""
        if self._md_styles is None or self._style_cache is None:
            get = self._style_for
            self._md_styles = MdStyles(
                strong=get("md-strong"),
                emphasis=get("md-emphasis"),
                code=get("md-code"),
                strike=get("md-strike"),
                link=get("md-link"),
                heading=get("md-heading"),
                quote=get("md-quote"),
                marker=get("md-marker"),
                rule=text_style(self, "stream--rule"),
            )
        return self._md_styles

    def _wrap(self, block: Block) -> None:
        width = self._width
        if width <= 0:
            block.strips, block.wrapped_at = [], width
            return
        if block.children is None:
            lines = self._wrap_lines(block, width, crop=block.kind in self.NO_WRAP)
        else:
            lines = [self._fold_line(block, width)]
            if block.expanded:
                for child in block.children:
                    lines += self._wrap_lines(child, width, crop=False, indent=len(block.prefix) + 2)
        console = self.app.console
        old = block.lines if block.wrapped_at == width else []
        strips = block.strips
        block.strips = [
            strips[i] if i < len(old) and i < len(strips) and old[i] == line else Strip(line.render(console), line.cell_len)
            for i, line in enumerate(lines)
        ]  # a growing paragraph re-renders only the lines that changed (Text equality: plain and spans)
        block.lines = lines if block.growing is not None else []  # kept while it grows only (less for the GC)
        block.wrapped_at = width

    def _fold_line(self, block: Block, width: int) -> Text:
        """A fold's one line: marker, summary parts and hint; the hint, then the last parts, are
        left out while the line is wider than ``width`` (then it is cropped)."""
        marker = "▾ " if block.expanded else "▸ "
        hint = self.FOLD_HINT[1 if block.expanded else 0]
        parts = list(block.chunks) or [block.text]
        candidates = [" · ".join(parts) + hint] + [" · ".join(parts[:n]) for n in range(len(parts), 0, -1)]
        room = width - cell_len(block.prefix) - cell_len(marker)
        text = next((c for c in candidates if cell_len(c) <= room), candidates[-1])
        line = Text(block.prefix + marker + text, end="")
        line.stylize(self._style_for("fold"))
        if line.cell_len > width:
            line.truncate(width, overflow="ellipsis")
        return line

    def _wrap_lines(self, block: Block, width: int, *, crop: bool, indent: int = 0) -> list[Text]:
        """``block`` as lines of at most ``width`` cells: cropped with an ellipsis (``crop``) or
        wrapped (keeping its ``chunks`` whole where they fit), the first line after ``prefix``, the
        rest indented by ``hang``; every line indented by ``indent`` more cells."""
        style = self._style_for(block.kind)
        room = max(1, width - indent)
        if block.md is not None:
            return self._markdown_lines(block, style, room, crop=crop, indent=indent)
        hang = block.hang if room > block.hang + 8 else 0
        if crop or not block.text:
            text = Text(block.prefix + block.text, end="")
            if text.cell_len > room and block.kind != "rule":
                text.truncate(room, overflow="ellipsis")
            plain = [text]  # a rule is cropped to the width when drawn
        elif block.chunks:
            plain = [Text(line, end="") for line in _pack(block.chunks, block.prefix, room, hang)]
        else:
            text = Text(block.prefix + block.text, end="")
            plain = list(text.wrap(self.app.console, room - hang, overflow="fold"))
            plain = plain[:1] + [Text(" " * hang, end="") + line for line in plain[1:]]
        lines: list[Text] = []
        for line in plain:
            line.stylize(style)  # a span, so it survives wrapping
            lines += line.wrap(self.app.console, room, overflow="fold") if line.cell_len > room and not crop else [line]
        if indent:
            pad = Text(" " * indent, style=style, end="")
            lines = [pad + line for line in lines]
        return lines

    def _markdown_lines(self, block: Block, style: Style, room: int, *, crop: bool, indent: int) -> list[Text]:
        """``block`` rendered as Markdown (``render_line`` in its ``md`` state) over ``style``, then
        cropped (``crop``) or wrapped as ``_wrap_lines`` does; a list item's or quote's wrapped
        lines hang under its text."""
        styles = self.markdown_styles()
        shown = block.text if block.shown is None else block.shown
        md = render_line(shown, block.md or PLAIN, styles, answer=block.kind == "answer", growing=block.growing)
        text = md.text
        text.style = style
        if md.rule:
            text = Text("─" * room, style=style, end="")
            text.stylize(styles.rule)
            lines = [text]
        elif crop or not text:
            if text.cell_len > room:
                text.truncate(room, overflow="ellipsis")
            lines = [text]
        else:
            hang = md.hang if room > md.hang + 8 else 0
            console = self.app.console
            lines = list(text.wrap(console, room - hang, overflow="fold"))
            if hang:
                pad = Text(" " * hang, style=style, end="")
                lines = lines[:1] + [pad + line for line in lines[1:]]
        if indent:
            pad = Text(" " * indent, style=style, end="")
            lines = [pad + line for line in lines]
        return lines

    def _push(self, block: Block) -> None:
        self._wrap(block)
        self._blocks.append(block)
        self._starts.append(self._total)
        self._total += len(block.strips)

    def _rewrap_last(self) -> None:
        block = self._blocks[-1]
        before = len(block.strips)
        self._wrap(block)
        self._total += len(block.strips) - before
        self.refresh_lines(self._starts[-1], max(before, len(block.strips)))

    def _reindex(self) -> None:
        self._starts = []
        total = 0
        for block in self._blocks:
            if block.wrapped_at != self._width:
                self._wrap(block)
            self._starts.append(total)
            total += len(block.strips)
        self._total = total

    def on_click(self, event: events.Click) -> None:
        """A click on a fold's summary line folds or unfolds it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        y = self.scroll_offset.y + offset.y
        if 0 <= y < self._total:
            index = bisect.bisect_right(self._starts, y) - 1
            block = self._blocks[index]
            if block.children is not None and y == self._starts[index]:
                self._set_expanded(block, not block.expanded)
                self._reindex()
                self._after_change(False, full=True)
                event.stop()

    def _following(self) -> bool:
        """True unless the user has scrolled up from the end (then new text does not move the view)."""
        return self._follow

    # The user's own scrolling decides whether the view follows new text.

    def _on_mouse_scroll_up(self, event) -> None:
        self._follow = False
        super()._on_mouse_scroll_up(event)

    def action_scroll_up(self) -> None:
        self._follow = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._follow = False
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._follow = False
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self._follow = True
        super().action_scroll_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._follow and new_value >= self.max_scroll_y:
            self._follow = True  # back at the end: follow again

    def _after_change(self, follow: bool, full: bool = False) -> None:
        if not self.is_mounted:
            return
        size = Size(self._width, self._total)
        if size != self.virtual_size:
            # The view's own height is fixed by its container, so a taller text must not re-lay out
            # the screen (setting the ``virtual_size`` reactive would): update it and the scrollbar
            # the way Widget._size_updated does.
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
        if follow and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        if full:
            self.refresh()

    def on_resize(self) -> None:
        if not self.refit():
            self._after_change(self._following(), full=True)  # a shorter view must still show the end

    def text_width(self) -> int:
        """The cells a line may take at the view's size now: its outer width less the border, padding
        and scrollbar (0 before the first layout)."""
        return max(0, self.outer_size.width - self.gutter.width)

    def refit(self) -> bool:
        """Re-wrap every block when the view's width changed since they were wrapped, keep the end in
        view if it was, and tell ``resized``. Returns whether the width changed.

        Called on ``Resize`` and before each paint (``render_lines``): Textual does not always send a
        ``Resize`` when a widget's size changes (restoring a maximized widget while another widget,
        hidden by the maximized view, has repainted: the size comes from a layout Textual already made
        to answer a region query, so nothing looks resized), and the text must still fit the view."""
        width = self.text_width()
        if width <= 0 or width == self._width:
            return False
        self._width = width
        self._reindex()
        self._after_change(self._following(), full=True)
        self.resized()
        return True

    def resized(self) -> None:
        """A hook: the text width changed and the blocks were re-wrapped (``refit``)."""

    def render_lines(self, crop: Region) -> list[Strip]:
        self.refit()
        return super().render_lines(crop)

    def notify_style_update(self) -> None:
        """Re-wrap with the new styles, unless the text's styles did not change (a focus or border
        change restyles the view too, and re-wrapping a full pane costs a frame)."""
        super().notify_style_update()
        old = self._style_cache
        self._style_cache = None
        self._md_styles = None
        if self._blocks and self.is_mounted:
            if old is not None and all(self._style_for(kind) == style for kind, style in old.items() if kind):
                if self._base_style() == old[""]:
                    return
            self._style_cache = None
            self._md_styles = None
            for block in self._blocks:
                block.wrapped_at = -1
            self._reindex()
            self.refresh()

    # -- drawing ----------------------------------------------------------------------------------

    def _line(self, y: int) -> Strip | None:
        if y < 0 or y >= self._total:
            return None
        index = bisect.bisect_right(self._starts, y) - 1
        block = self._blocks[index]
        offset = y - self._starts[index]
        return block.strips[offset] if offset < len(block.strips) else None

    def render_line(self, y: int) -> Strip:
        width = self._width
        style = self._base_style()
        strip = self._line(self.scroll_offset.y + y)
        if strip is None:
            return Strip.blank(width, style)
        return strip.crop_extend(0, width, style)

    def lines(self) -> Iterator[str]:
        """The wrapped lines as plain text, folds as shown (for tests)."""
        for block in self._blocks:
            for strip in block.strips:
                yield strip.text


def _blank(block: Block) -> bool:
    """An empty streamed paragraph (what a trailing newline leaves)."""
    return block.text == "" and block.prefix == "" and block.children is None and block.kind in ("reasoning", "answer")


def _pack(chunks: tuple[str, ...], prefix: str, room: int, hang: int) -> list[str]:
    """``chunks`` joined by spaces into lines of at most ``room`` cells: the first starts with
    ``prefix``, the others with ``hang`` spaces; a chunk moves whole to the next line (one wider
    than a line is folded later)."""
    lines: list[str] = []
    current = prefix
    fresh = True
    for chunk in chunks:
        candidate = current + chunk if fresh else f"{current} {chunk}"
        if fresh or cell_len(candidate) <= room:
            current, fresh = candidate, False
        else:
            lines.append(current)
            current = " " * hang + chunk
    lines.append(current)
    return lines
