"""The sessions browser (``S``): the journals of a sessions directory with the summaries of
``arena-tui sessions`` (``arena_tui.sessions.list_sessions``, its cache included); Enter replays the
selected one (follows it when a process is writing it).

Replaying another journal ends this screen's session: the app quits as ``q`` does (a live session
stops and its journal is complete) and leaves ``ArenaApp.next_journal`` set, which the CLI turns into
``arena-tui --replay FILE`` (or ``--follow FILE``) in the same process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui.screens.view import VIEW_BINDINGS, StateView
from arena_tui.tui.widgets.component_style import text_style

if TYPE_CHECKING:
    from arena_tui.sessions import Listing, SessionSummary

_STATE_COMPONENT = {"complete": "up", "cut off": "warning", "in use": "accent", "corrupt": "down", "unreadable": "down"}


class SessionsTable(DataTable):
    """The sessions, one row each keyed by the journal's path."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "sessions--up", "sessions--down", "sessions--warning", "sessions--accent", "sessions--muted",
    }

    DEFAULT_CSS = """
    SessionsTable {
        height: 1fr;
        background: $surface;
        & > .sessions--up { color: $success; }
        & > .sessions--down { color: $error; }
        & > .sessions--warning { color: $warning; }
        & > .sessions--accent { color: $accent; }
        & > .sessions--muted { color: $text-muted; }
    }
    """


class SessionsScreen(StateView):
    """The journals of ``directory``, newest first: session (file name), started (UTC), market
    (mode and clock span), agents, cycles, leader and its return, state (complete, cut off, in use,
    corrupt, unreadable) with its problem. Listing reads each changed journal to its end, in a
    thread, so the screen answers at once ("reading…"). ``cache``: the summary cache
    (``sessions.default_cache_path()``; None: none). Enter replays the selected journal; on the
    journal the session on screen writes or follows it says so in a notice and does nothing."""

    DEFAULT_CSS = """
    SessionsScreen {
        & #sessions-title { height: auto; padding: 0 1; background: $boost; }
        & #sessions-problem { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *VIEW_BINDINGS,
        Binding("enter", "replay", "Replay", tooltip="Replay the selected session (this one stops)", id="sessions-replay"),
        Binding("f5", "reload", "Reload", tooltip="List the directory again", id="sessions-reload"),
    ]

    def __init__(self, directory: Path, cache: Path | None = None) -> None:
        super().__init__(id="sessions-view")
        self.directory = directory
        self.cache = cache
        self.title_line = Static(Text(safe_line(f"Sessions in {directory}: reading…", limit=None)), id="sessions-title")
        self.problem = Static(id="sessions-problem")
        self.table = SessionsTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        self.listing: Listing | None = None
        """The last listing (None while the first is read, or when the directory cannot be listed)."""

    def compose(self) -> ComposeResult:
        yield self.title_line
        yield self.table
        yield self.problem
        yield Footer()

    def on_mount(self) -> None:
        # what tells sessions apart first (80 columns show these), then when and what they traded
        for key, label in (("session", "session"), ("state", "state"), ("cycles", "cycles"), ("leader", "leader"), ("return", "return"),
                           ("started", "started"), ("market", "market"), ("agents", "agents")):
            self.table.add_column(label, key=key)
        self.table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        """Read the directory (again)."""
        self._list()

    @work(thread=True, exclusive=True, group="sessions listing", name="sessions listing")
    def _list(self) -> None:
        from arena_tui.engine.errors import ArenaError
        from arena_tui.sessions import list_sessions

        try:
            listing, error = list_sessions(self.directory, cache=self.cache), None
        except ArenaError as exc:
            listing, error = None, str(exc)
        self.app.call_from_thread(self._show, listing, error)

    def _show(self, listing: Listing | None, error: str | None) -> None:
        self.listing = listing
        table = self.table
        table.clear()
        if listing is None:
            self.title_line.update(Text(safe_line(error or "the sessions directory cannot be listed.", limit=None)))
            return
        n = len(listing.sessions)
        self.title_line.update(Text(safe_line(
            f"{n} session{'s' if n != 1 else ''} in {listing.directory} (times UTC) · Enter replays one (this session stops) · "
            f"listed in {listing.seconds:.2f} s", limit=None)))
        for s in listing.sessions:
            table.add_row(*self._cells(s), key=s.path)
        self._show_problem()

    def _cells(self, s: SessionSummary) -> list[Text]:
        from arena_tui.sessions import COMPLETE, UNREADABLE, market_text, started_text

        ret = s.leader_return_pct
        ret_text = Text("-", justify="right")
        if isinstance(ret, (int, float)):
            ret_text = Text(f"{ret:+.2f}%", justify="right", style=text_style(self.table, "sessions--up" if ret > 0 else "sessions--down") if ret else "")
        state = Text(s.state, style=text_style(self.table, f"sessions--{_STATE_COMPONENT.get(s.state, 'muted')}"))
        if s.problem and s.state != COMPLETE:
            state.append(" …", style=text_style(self.table, "sessions--muted"))  # the line under the table has it whole
        return [
            Text(safe_line(s.name, limit=60)),
            state,
            Text(str(s.cycles) if s.state != UNREADABLE else "-", justify="right"),
            Text(safe_line(s.leader, limit=40) if s.leader else "-"),
            ret_text,
            Text(started_text(s)),
            Text(safe_line(" ".join(t for t in market_text(s) if t), limit=60)),
            Text(str(len(s.agents)) if s.agents else "-", justify="right"),
        ]

    def selected(self) -> SessionSummary | None:
        """The summary of the row under the cursor."""
        listing = self.listing
        row = self.table.cursor_row
        if listing is None or not (0 <= row < len(listing.sessions)) or self.table.row_count == 0:
            return None
        return listing.sessions[row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_problem()

    def _show_problem(self) -> None:
        s = self.selected()
        text = ""
        if s is not None:
            text = safe_line(s.path, limit=None) + (f" · {s.state}: {s.problem}" if s.problem else "")
        self.problem.update(Text(safe_line(text, limit=400)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_replay()

    def action_replay(self) -> None:
        """Replay the selected journal (follow it when a process is writing it)."""
        from arena_tui.sessions import IN_USE, UNREADABLE

        s = self.selected()
        if s is None:
            return
        if s.state == UNREADABLE:
            self.app.notify(f"{s.name} cannot be replayed: {s.problem}", title="Sessions", severity="warning", timeout=8)
            return
        if self._on_screen(Path(s.path)):
            self.app.notify(f"{s.name} is the session on screen (esc goes back to it).", title="Sessions", timeout=6)
            return
        self.app.open_journal(Path(s.path), follow=s.state == IN_USE)

    def _on_screen(self, path: Path) -> bool:
        """Whether ``path`` is the journal the session on screen writes or follows
        (``ArenaApp.journal_on_screen``): opening it would stop this session only to follow what it
        wrote. (A replay's own journal is replayed again from its start, as asked.)"""
        if self.app.session.mode == "replay":
            return False
        own = self.app.journal_on_screen()
        if own is None:
            return False
        try:
            return own.resolve() == path.resolve()
        except OSError:
            return own == path
