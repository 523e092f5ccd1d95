"""The status line under the header: the latest notices from the session and the app."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

_ICONS = {"info": "ℹ", "warning": "⚠", "error": "✖"}
_COLOURS = {"info": "$text-primary", "warning": "$text-warning", "error": "$text-error"}
KEEP = 3
"""Notices kept on show (newest last); older ones drop off."""


class StatusLine(Static):
    """The last ``KEEP`` distinct notices, one a line, each with its level's icon and colour (info,
    warning, error): e.g. the offline demo's line saying which API keys or local endpoint add LLM
    agents, a skipped theme file, the market being unreachable. Hidden while there is none."""

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
        self.notices: list[tuple[str, str]] = []

    @property
    def text(self) -> str:
        """The newest notice's text ("" when there is none)."""
        return self.notices[-1][1] if self.notices else ""

    @property
    def level(self) -> str:
        """The newest notice's level."""
        return self.notices[-1][0] if self.notices else "info"

    def show(self, level: str, text: str) -> None:
        """Add a notice at ``level`` (info, warning or error); a repeated text moves to the end."""
        level = level if level in _ICONS else "info"
        self.notices = [n for n in self.notices if n[1] != text][-(KEEP - 1) :] + [(level, text)]
        self._draw()

    def clear(self) -> None:
        self.notices = []
        self._draw()

    def _draw(self) -> None:
        self.set_class(bool(self.notices), "-shown")
        lines = [
            Content.from_markup(f"[{_COLOURS[level]}]$icon $text[/]", icon=_ICONS[level], text=text)
            for level, text in self.notices
        ]
        self.update(Content("\n").join(lines) if lines else "")
