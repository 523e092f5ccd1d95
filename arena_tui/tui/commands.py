"""The command palette (ctrl+p): the console's actions by name, plus one "Focus <agent>" per agent."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Iterator

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

if TYPE_CHECKING:
    from arena_tui.tui.app import ArenaApp

# (title, help, action, parameters): ArenaApp.action_<action>, offered while check_action allows it.
_COMMANDS: tuple[tuple[str, str, str, tuple[object, ...]], ...] = (
    ("Cycle now", "One cycle now (if one is running, one more right after it)", "cycle_now", ()),
    ("One cycle", "Paused: run exactly one cycle now and stay paused", "cycle_step", ()),
    ("Pause", "Pause the session: no new cycle starts until you resume", "pause", ()),
    ("Resume", "Resume the session's cycles", "resume", ()),
    ("Play replay", "Play the replay from here", "play", ()),
    ("Replay: previous cycle", "Go back one recorded cycle", "step", (-1,)),
    ("Replay: next cycle", "Go forward one recorded cycle", "step", (1,)),
    ("Replay: faster", "Twice the replay speed", "speed", (2.0,)),
    ("Replay: slower", "Half the replay speed", "speed", (0.5,)),
    ("Replay: first cycle", "Back to the start of the recording", "seek_first", ()),
    ("Replay: last cycle", "Jump to the last recorded cycle", "seek_last", ()),
    ("Zoom agent pane", "Maximize the focused agent's pane, or restore it", "zoom", ()),
    ("Help", "Keys and what each pane shows", "help", ()),
    ("Change theme", "Pick a colour theme", "change_theme", ()),
    ("Quit arena-tui", "Stop the session (the journal is flushed) and quit", "quit", ()),
)


class ArenaCommands(Provider):
    """Console commands that apply right now (e.g. Pause or Resume, replay moves only in a replay)."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app: ArenaApp = self.app  # type: ignore[assignment]
        for title, help_text, action, params in _COMMANDS:
            if app.check_action(action, params):
                yield title, help_text, partial(getattr(app, f"action_{action}"), *params)
        for index, pane in enumerate(app.console_screen.panes.values(), start=1):
            # the agent's name is untrusted: its safe form (``AgentPane.shown_name``), drawn as Text
            yield f"Focus {index} {pane.shown_name}", f"Move to agent {index}'s reasoning pane", partial(app.action_focus_agent, index)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Text(title), callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, _highlight(matcher, title), callback, help=help_text)


def _highlight(matcher, title: str) -> Content:
    """``title`` with the matched characters highlighted, never read as markup: ``Matcher.highlight``
    parses its argument as markup, so a title with a ``[`` (an agent's name) is shown plain."""
    return Content(title) if "[" in title else matcher.highlight(title)
