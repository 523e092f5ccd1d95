"""The status line under the header: work in progress, then the latest notices from the session
and the app, fitted to the lines the layout gives it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from rich.cells import cell_len
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from arena_tui.engine.sanitize import safe_text

_ICONS = {"info": "ℹ", "warning": "⚠", "error": "✖"}
_COLOURS = {"info": "$text-primary", "warning": "$text-warning", "error": "$text-error"}
KEEP = 3
"""Notices kept on show (newest last); older ones drop off."""
TALL_LINES = 3
"""Lines the status line may take (its CSS ``max-height``)."""
SHORT_LINES = 2
"""Lines the status line may take on a short screen (``ConsoleScreen.tall_height``)."""
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""A progress line's spinner, one frame per ``TICK_S``."""
TICK_S = 0.2
"""How often an open progress line redraws (spinner, seconds elapsed)."""
INFO_S = 30.0
"""Seconds an info notice stays on the status line (warnings and errors stay until newer notices
push them out, or they are over); the notices panel (``v`` on a short screen) keeps it."""


@dataclass(frozen=True)
class Notice:
    """One notice on show: ``level`` (info, warning, error), its ``text``, whether it was
    ``recorded`` in the journal being replayed (then it is history, not news), and its ``key``: a
    notice with a key is over when ``drop(key)`` says so (the market answering again)."""

    level: str
    text: str
    recorded: bool = False
    key: str | None = None
    at: float = 0.0
    """When it was shown (the status line's clock, seconds)."""


@dataclass(frozen=True)
class Progress:
    """Work going on (``Progress`` events): its ``text`` and when it started (``time.monotonic``)."""

    text: str
    started: float


class StatusLine(Static):
    """Work in progress, one line each with a spinner and the seconds it has taken (the indicators
    compiling on a first start), then the last ``KEEP`` distinct notices, each with its level's icon
    and colour (info, warning, error): e.g. the offline demo's line saying which API keys or local
    endpoint add LLM agents, a skipped theme file, the market being unreachable. A notice recorded in
    a replayed journal is muted and starts with ``recorded:``. Hidden while there is nothing to say.

    It has ``TALL_LINES`` lines (``SHORT_LINES`` on a short screen): progress lines first, cut to one
    line each, then the notices, newest last, taken from the newest back while lines are left: the
    one that does not fit whole is cut with an ellipsis (its full text is the tooltip) and older ones
    are left out. Expanded (``set_expanded``: the short screen's notices panel, ``v``) it shows every
    notice kept, whole, and says so when there is none. A progress line goes when its work
    is done (``end_progress``), a notice with a ``key`` when ``drop(key)`` says it is over, and an
    info notice (the offline demo's hint, the end of a recording) after ``fade_s`` seconds: a
    warning or an error stays; the notices panel still lists them all.

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
        &.-expanded { max-height: 100%; }
    }
    """

    def __init__(self, *, id: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(id=id)
        self.shown: list[Notice] = []
        self.progress: dict[str, Progress] = {}
        """Work in progress by key (``Progress.key``), oldest first."""
        self.short = False
        self.expanded = False
        """Every notice kept, whole (``set_expanded``)."""
        self._clock = clock
        self.fade_s = INFO_S
        """Seconds an info notice stays on the line (``INFO_S``)."""
        self._fader: Timer | None = None
        self._fades_at: float | None = None
        self._ticker: Timer | None = None
        self._frame = 0
        self._lines = 0

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

    def show(self, level: str, text: str, *, recorded: bool = False, key: str | None = None) -> None:
        """Add a notice at ``level`` (info, warning or error); a repeated text moves to the end.
        ``recorded``: it comes from the journal being replayed. ``key``: ``drop(key)`` removes it
        (and a newer notice with the same key replaces it). ``text`` is made safe (``safe_text``)."""
        text = safe_text(text)
        level = level if level in _ICONS else "info"
        kept = [n for n in self.shown if n.text != text and (key is None or n.key != key)]
        self.shown = kept[-(KEEP - 1) :] + [Notice(level, text, recorded, key, self._clock())]
        self._draw()

    def drop(self, key: str) -> None:
        """Remove the notices shown with ``key``: what they said is over."""
        if any(n.key == key for n in self.shown):
            self.shown = [n for n in self.shown if n.key != key]
            self._draw()

    def drop_recorded(self) -> None:
        """Forget the recorded notices (a replay jumped; the events that follow show them again)."""
        self.shown = [n for n in self.shown if not n.recorded]
        self._draw()

    def start_progress(self, key: str, text: str) -> None:
        """Show work ``key`` going on, saying ``text`` (made safe), until ``end_progress(key)``."""
        old = self.progress.get(key)
        self.progress[key] = Progress(safe_text(text), old.started if old is not None else self._clock())
        if self._ticker is None and self.is_mounted:
            self._ticker = self.set_interval(TICK_S, self._tick, name="progress line")
        self._draw()

    def end_progress(self, key: str) -> None:
        """Work ``key`` is done: its line goes."""
        if self.progress.pop(key, None) is None:
            return
        if not self.progress and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self._draw()

    def end_all_progress(self) -> None:
        """Every work in progress is over (the session ended)."""
        for key in list(self.progress):
            self.end_progress(key)

    def on_mount(self) -> None:
        if self.progress and self._ticker is None:
            self._ticker = self.set_interval(TICK_S, self._tick, name="progress line")
        self._draw()

    def _tick(self) -> None:
        self._frame += 1
        self._draw()

    def set_short(self, short: bool) -> None:
        """Short screen: ``SHORT_LINES`` lines."""
        if short != self.short:
            self.short = short
            self._draw()

    def set_expanded(self, expanded: bool) -> None:
        """Show every notice kept, each whole, however many lines they take (and "No notices." when
        there is none); or go back to the lines the layout gives."""
        if expanded != self.expanded:
            self.expanded = expanded
            self.set_class(expanded, "-expanded")
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _line(self, notice: Notice) -> Content:
        if notice.recorded:
            return Content.from_markup("[$text-muted]$icon recorded: $text[/]", icon=_ICONS[notice.level], text=notice.text)
        return Content.from_markup(f"[{_COLOURS[notice.level]}]$icon $text[/]", icon=_ICONS[notice.level], text=notice.text)

    def _progress_line(self, work: Progress, width: int) -> Content:
        """One line: the spinner, the text (cut with an ellipsis to fit) and the seconds so far."""
        spinner = SPINNER[self._frame % len(SPINNER)]
        seconds = f" · {max(0, int(self._clock() - work.started))} s"
        room = max(1, width - 2 - cell_len(seconds))
        text = " ".join(work.text.split())
        if cell_len(text) > room:
            text = Content(text)[: room - 1].plain.rstrip() + "…"
        return Content.from_markup("[$text-accent]$spinner $text[/][$text-muted]$seconds[/]", spinner=spinner, text=text, seconds=seconds)

    @staticmethod
    def _cut(lines: list[Content], count: int, width: int) -> list[Content]:
        """The first ``count`` of ``lines``, the last of them ending in an ellipsis when any is cut."""
        if len(lines) <= count:
            return lines
        last = lines[count - 1].rstrip()
        if cell_len(last.plain) > width - 1:
            last = last[: max(0, width - 1)]
        return [*lines[: count - 1], last + "…"]

    def _on_line(self) -> list[Notice]:
        """The notices the line shows (every one kept when expanded; else an info notice for
        ``fade_s`` seconds), and a timer set to redraw when the next one fades."""
        if self.expanded:
            return self.shown
        now = self._clock()
        out: list[Notice] = []
        fades: float | None = None
        for n in self.shown:
            if n.level == "info":
                end = n.at + self.fade_s
                if now >= end:
                    continue
                fades = end if fades is None else min(fades, end)
            out.append(n)
        if fades != self._fades_at and self.is_mounted:
            if self._fader is not None:
                self._fader.stop()
            self._fader = self.set_timer(max(0.01, fades - now), self._fade, name="notice fades") if fades is not None else None
            self._fades_at = fades
        return out

    def _fade(self) -> None:
        """The fade timer: redraw, and set it again (a timer may fire a moment before its time)."""
        self._fader = self._fades_at = None
        self._draw()

    def _draw(self) -> None:
        shown = self._on_line()
        self.set_class(bool(shown or self.progress) or self.expanded, "-shown")
        width = (self.scrollable_content_region.width if self.is_mounted else 0) or max(10, (self.app.size.width if self.is_attached else 80) - 2)
        width = max(10, width)
        budget = 1_000 if self.expanded else SHORT_LINES if self.short else TALL_LINES
        lines: list[Content] = []
        for work in self.progress.values():
            if budget <= 0:
                break
            lines += self._cut(self._progress_line(work, width).wrap(width), 1, width)
            budget -= 1
        notices: list[list[Content]] = []
        tooltip: Content | None = None
        for notice in reversed(shown if self.expanded or not self.short else shown[-1:]):
            if budget <= 0:
                break
            wrapped = self._line(notice).wrap(width)
            if len(wrapped) > budget:  # what is left is cut (the newest notice is always shown)
                wrapped = self._cut(wrapped, budget, width)
                tooltip = Content(notice.text)
            notices.insert(0, wrapped)
            budget -= len(wrapped)
        lines += [line for wrapped in notices for line in wrapped]
        if self.expanded and not lines:
            lines = [Content.from_markup("[$text-muted]No notices.[/]")]
        self.tooltip = tooltip
        content = Content("\n").join(lines) if lines else Content("")
        layout = len(lines) != self._lines
        self._lines = len(lines)
        self.update(content, layout=layout)
