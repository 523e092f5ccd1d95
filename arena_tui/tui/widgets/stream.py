"""``StreamView``: wrapped, styled text that grows at its end, drawn line by line (like ``Log``).

Why not a ``Markdown`` per response: six agents streaming 50 tokens/s each made every ``Markdown``
append re-lay out the whole screen (the block's height changes), and the UI loop fell seconds behind
(benchmarks/tui.py measured a p99 timer lag of 243 ms). Here an append re-wraps only the paragraph
it touches, updates the virtual height and repaints the lines that changed; the screen never
re-lays out, and only the visible lines are ever rendered.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import ClassVar, Iterator

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from arena_tui.tui.widgets.component_style import text_style


@dataclass(eq=False)
class Block:
    """One paragraph (no newline inside): ``kind`` names its component style (``stream--<kind>``),
    ``cycle`` the cycle it belongs to; ``strips`` caches its wrapped lines at the current width."""

    kind: str
    text: str
    cycle: int
    prefix: str = ""
    strips: list[Strip] = field(default_factory=list)
    wrapped_at: int = -1


class StreamView(ScrollView, can_focus=True):
    """A scrollable list of ``Block``s. ``append(kind, text, cycle)`` streams text onto the last block
    of that kind and cycle (a newline starts a new paragraph); ``add_line`` adds a block of its own.

    Colours come from the component classes in ``COMPONENT_CLASSES`` (styled with theme variables in
    ``DEFAULT_CSS``); a theme change re-wraps. It follows the end while the user has not scrolled up.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "stream--placeholder",
        "stream--rule",
        "stream--reasoning",
        "stream--answer",
        "stream--decision",
        "stream--hold",
        "stream--rejected",
        "stream--fill",
        "stream--profit",
        "stream--loss",
        "stream--funding",
        "stream--failed",
        "stream--halted",
    }

    NO_WRAP: ClassVar[frozenset[str]] = frozenset({"rule"})
    """Block kinds drawn on one line, cropped at the right edge."""
    OWN_BACKGROUND: ClassVar[frozenset[str]] = frozenset({"halted"})
    """Block kinds whose component style sets a background of their own."""

    DEFAULT_CSS = """
    StreamView {
        overflow-y: scroll;
        overflow-x: hidden;
        & > .stream--placeholder { color: $text-muted; }
        & > .stream--rule { color: $text-muted; }
        & > .stream--reasoning { color: $arena-reasoning; text-style: italic; }
        & > .stream--answer { color: $text; }
        & > .stream--decision { color: $text-primary; }
        & > .stream--hold { color: $text-muted; }
        & > .stream--rejected { color: $text-warning; }
        & > .stream--fill { color: $text; }
        & > .stream--profit { color: $success; }
        & > .stream--loss { color: $error; }
        & > .stream--funding { color: $text-muted; }
        & > .stream--failed { color: $text-error; text-style: bold; }
        & > .stream--halted { color: $background; background: $error; text-style: bold; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._blocks: list[Block] = []
        self._starts: list[int] = []
        self._total = 0
        self._width = 0
        self._style_cache: dict[str, Style] | None = None
        self._follow = True

    # -- content ----------------------------------------------------------------------------------

    @property
    def blocks(self) -> list[Block]:
        return self._blocks

    def append(self, kind: str, text: str, cycle: int) -> None:
        """Stream ``text`` onto the open ``kind`` paragraph of ``cycle`` (opening one if the last
        block is anything else); each newline closes the paragraph and opens the next."""
        if not text:
            return
        at_end = self._following()
        first, *rest = text.split("\n")
        last = self._blocks[-1] if self._blocks else None
        if last is not None and last.kind == kind and last.cycle == cycle and last.prefix == "":
            last.text += first
            self._rewrap_last()
        else:
            self._push(Block(kind, first, cycle))
        for paragraph in rest:
            self._push(Block(kind, paragraph, cycle))
        self._after_change(at_end)

    def add_line(self, kind: str, text: str, cycle: int, prefix: str = " ") -> None:
        """Add ``text`` as a block of its own (a decision, fill, exit, ...), indented by ``prefix``."""
        at_end = self._following()
        self._push(Block(kind, text, cycle, prefix=prefix))
        self._after_change(at_end)

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
        parts = [b.text for b in self._blocks if b.kind == kind and (cycle is None or b.cycle == cycle)]
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
            style = self._style_cache[kind] = base + part
        return style

    def _wrap(self, block: Block) -> None:
        width = self._width
        if width <= 0:
            block.strips, block.wrapped_at = [], width
            return
        console = self.app.console
        text = Text(block.prefix + block.text, end="")
        text.stylize(self._style_for(block.kind))  # a span, so it survives wrapping
        if block.kind in self.NO_WRAP:
            lines = [text]  # cropped to the width when drawn
        else:
            lines = text.wrap(console, max(1, width), overflow="fold") if block.text else [Text("")]
        block.strips = [Strip(line.render(console), line.cell_len) for line in lines]
        block.wrapped_at = width

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
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self._reindex()
        self._after_change(self._following(), full=True)  # a shorter view must still show the end

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None
        if self._blocks and self.is_mounted:
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
        """The wrapped lines as plain text (for tests)."""
        for block in self._blocks:
            for strip in block.strips:
                yield strip.text
