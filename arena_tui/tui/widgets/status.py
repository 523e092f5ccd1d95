"""The status line under the header: the latest notices from the session and the app."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static

from arena_tui.engine.sanitize import safe_text

_ICONS = {"info": "ℹ", "warning": "⚠", "error": "✖"}
_COLOURS = {"info": "$text-primary", "warning": "$text-warning", "error": "$text-error"}
KEEP = 3
"""Notices kept on show (newest last); older ones drop off."""
SHORT_LINES = 2
"""Lines the status line may take on a short screen (under 32 rows): the newest notice, cut with
an ellipsis (the full text is the tooltip)."""


@dataclass(frozen=True)
class Notice:
    """One notice on show: ``level`` (info, warning, error), its ``text``, and whether it was
    ``recorded`` in the journal being replayed (then it is history, not news)."""

    level: str
    text: str
    recorded: bool = False


class StatusLine(Static):
    """The last ``KEEP`` distinct notices, one a line, each with its level's icon and colour (info,
    warning, error): e.g. the offline demo's line saying which API keys or local endpoint add LLM
    agents, a skipped theme file, the market being unreachable. A notice recorded in a replayed
    journal is muted and starts with ``recorded:``. On a short screen only the newest notice shows,
    in at most two lines. Hidden while there is none.

    Every notice is untrusted (a server's error body, a journal's notice): ``show`` keeps it as
    ``safe_text`` made it, and it is drawn as a template variable (``$text``), never as markup."""

    DEFAULT_CSS = """
    StatusLine {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $boost;
        display: none;
        &.-shown { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[Notice] = []
        self.short = False

    @property
    def notices(self) -> list[tuple[str, str]]:
        """(level, text) of the notices on show, oldest first."""
        return [(n.level, n.text) for n in self.shown]

    @property
    def text(self) -> str:
        """The newest notice's text ("" when there is none)."""
        return self.shown[-1].text if self.shown else ""

    @property
    def level(self) -> str:
        """The newest notice's level."""
        return self.shown[-1].level if self.shown else "info"

    def show(self, level: str, text: str, *, recorded: bool = False) -> None:
        """Add a notice at ``level`` (info, warning or error); a repeated text moves to the end.
        ``recorded``: it comes from the journal being replayed. ``text`` is made safe (``safe_text``)."""
        text = safe_text(text)
        level = level if level in _ICONS else "info"
        self.shown = [n for n in self.shown if n.text != text][-(KEEP - 1) :] + [Notice(level, text, recorded)]
        self._draw()

    def drop_recorded(self) -> None:
        """Forget the recorded notices (a replay jumped; the events that follow show them again)."""
        self.shown = [n for n in self.shown if not n.recorded]
        self._draw()

    def set_short(self, short: bool) -> None:
        """Short screen: only the newest notice, in at most ``SHORT_LINES`` lines."""
        if short != self.short:
            self.short = short
            self._draw()

    def on_resize(self) -> None:
        if self.short:
            self._draw()

    def _line(self, notice: Notice) -> Content:
        if notice.recorded:
            return Content.from_markup("[$text-muted]$icon recorded: $text[/]", icon=_ICONS[notice.level], text=notice.text)
        return Content.from_markup(f"[{_COLOURS[notice.level]}]$icon $text[/]", icon=_ICONS[notice.level], text=notice.text)

    def _draw(self) -> None:
        self.set_class(bool(self.shown), "-shown")
        shown = self.shown[-1:] if self.short else self.shown
        lines = [self._line(n) for n in shown]
        content = Content("\n").join(lines) if lines else Content("")
        self.tooltip = None
        if self.short and lines and self.is_mounted:
            width = self.scrollable_content_region.width or (self.app.size.width - 2)
            wrapped = content.wrap(max(10, width))
            if len(wrapped) > SHORT_LINES:
                last = wrapped[SHORT_LINES - 1].rstrip()
                if cell_len(last.plain) > width - 1:
                    last = last[: max(0, width - 1)]
                content = Content("\n").join([*wrapped[: SHORT_LINES - 1], last + "…"])
                self.tooltip = Content(shown[-1].text)
        self.update(content)
