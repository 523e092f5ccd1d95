"""The base of the views that answer "what happened?" (trades, equity chart, model detail): a full
screen over the console that draws the session's ``ArenaState``.

A view never keeps a state of its own: ``state`` is the session's state now (a replay makes a new
one at each jump), and ``show_state()`` draws it. The app calls ``show_state`` on the view on top
after every batch of events it rendered (``ArenaApp.render_events``), as the console draws its
tables then; so a view follows a live session, a replay and ``--follow`` alike. Escape (or q)
closes it; T, E and D switch to another view in its place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

if TYPE_CHECKING:
    from arena_tui.engine.state import ArenaState

_VIEWS = Binding.Group("Views", compact=True)

VIEW_BINDINGS: list[BindingType] = [
    Binding("escape,q", "close", "Close", key_display="esc", tooltip="Back to the console", id="view-close"),
    Binding("T", "app.show_trades", "Trades", tooltip="Every closed trade", id="view-trades", group=_VIEWS),
    Binding("E", "app.show_chart", "Equity", tooltip="Account values over the session", id="view-equity", group=_VIEWS),
    Binding("D", "app.show_detail", "Detail", tooltip="The selected agent's account, trades and decisions", id="view-detail", group=_VIEWS),
    Binding("question_mark,f1", "app.help", "Help", key_display="?", show=False, tooltip="Keys and what each view shows", id="view-help"),
]
"""Every view's keys: Escape (or q) back to the console; T, E and D open another view in its place."""


class StateView(Screen):
    """A view of the session's state: subclasses draw it in ``show_state``."""

    BINDINGS: ClassVar[list[BindingType]] = VIEW_BINDINGS

    @property
    def state(self) -> ArenaState | None:
        """The session's state now (None before a session is built)."""
        session = getattr(self.app, "session", None)
        return getattr(session, "state", None)

    def show_state(self) -> None:
        """Draw ``state`` (the app calls this after each batch of events)."""

    def on_mount(self) -> None:
        self.show_state()

    def on_screen_resume(self) -> None:
        self.show_state()

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss()
