"""The console screen: header, status line, market, one reasoning pane per agent, positions,
leaderboard and footer, and the one place where engine events become widget updates."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Awaitable, Callable, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Grid, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.header import SessionHeader
from arena_tui.tui.widgets.leaderboard import Leaderboard
from arena_tui.tui.widgets.market import MarketTable
from arena_tui.tui.widgets.positions import PositionsTable
from arena_tui.tui.widgets.status import StatusLine
from arena_tui.tui.widgets.tables import NARROW_WIDTH, ArenaTable

if TYPE_CHECKING:
    from arena_tui.engine import events as ev
    from arena_tui.engine.state import ArenaState
    from arena_tui.tui.widgets.reasoning import AgentPane

# The agent panes (``widgets.reasoning``, with the stream and Markdown renderers) are imported when
# the first panes are made, after the first frame.

SHORT_HEIGHT = 32
"""Terminals with fewer rows than this always get the short layout (see app.tcss); taller ones
too while they cannot hold every panel whole (``ConsoleScreen.tall_height``)."""

AGENTS_MIN_HEIGHT = 6
"""The agent panes' least rows in the tall layout (``#agents`` ``min-height`` in app.tcss)."""
POSITIONS_MAX_HEIGHT = 8
"""The positions table's most rows in the tall layout (``#positions`` ``max-height`` in app.tcss)."""

PANELS: tuple[str, ...] = ("console", "positions", "leaderboard", "notices")
"""What the body shows on a short screen, in the order ``v`` steps through them: the console (the
market, the selected agent's pane and the leaderboard), the positions table, the leaderboard alone
(every row), the notices in full (the offline demo's line naming the keys that add LLM agents)."""

Handler = Callable[["ev.Event"], Awaitable[None]]

FOOTER_OPTIONAL = frozenset({"replay-slower", "replay-faster", "answers"})
"""Bindings (by id) a replay's compact footer leaves out: with them the replay keys and ``v`` do not
fit in 80 columns. The speed keys are in the help; a folded answer's line names ``a`` itself."""

FOOTER_WIDE_ONLY = frozenset({"view-trades", "view-equity", "view-detail", "view-sessions", "season1"})
"""Bindings (by id) every compact footer (under 100 columns) leaves out: the views' keys (T E D S)
do not fit beside the others in 80 columns; the help lists them."""

_STEP = Binding.Group("Cycle", compact=True)
_SPEED = Binding.Group("Speed", compact=True)
_VIEWS = Binding.Group("Views", compact=True)


class ArenaFooter(Footer):
    """Textual's footer, which once laid out tells its screen when its keys run past the right edge
    (``ConsoleScreen.fit_footer``): the width rule (``NARROW_WIDTH``) holds for the live keys on a
    tall screen, but a replay's keys and a short screen's ``v`` need more room."""

    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self._tell_fit)

    def _tell_fit(self) -> None:
        fit = getattr(self.screen, "fit_footer", None)
        if fit is not None:
            fit()

    def overflows(self) -> bool:
        """A key (not the palette's, docked right) ends past the palette key or the right edge."""
        keys = list(self.query("FooterKey"))
        palette = [k for k in keys if k.has_class("-command-palette")]
        limit = palette[0].region.x if palette else self.region.right
        return any(k.region.right > limit for k in keys if not k.has_class("-command-palette"))


_EXIT_REASONS = {
    "agent": "by the agent",
    "stop_loss": "stop-loss",
    "take_profit": "take-profit",
    "liquidation": "LIQUIDATED",
    "session_end": "session end",
}


class ConsoleScreen(Screen):
    """The main screen. ``apply(event)`` renders one engine event and ``end_batch()`` draws the
    tables from the session's ``ArenaState`` (``state``: a callable giving the session's state now;
    a replay makes a new one at each jump); nothing else changes the widgets' content. ``panes`` maps
    agent name -> ``AgentPane`` in the session's agent order: pane n is agent number n
    (``reasoning.agent_numbers``; ``agent_number(state, name)`` gives it from the state), which its
    title shows and key n (1-9) focuses. The widgets are held from the start (``header``, ``status``, ``market``, ``positions``,
    ``leaderboard``), so reaching one never queries the DOM (nor fails while the screen closes).

    Under ``tall_height()`` rows (at least ``SHORT_HEIGHT``; more with more agents or coins) not
    every panel fits: the screen has the ``-short`` class (``-tall`` otherwise; set here, not by
    Textual's vertical breakpoints, as the rows needed depend on the session), the body shows the
    market, the selected agent's pane and the leaderboard, and ``v`` steps through the others
    (``panel``, ``PANELS``), its footer entry naming the one it shows next."""

    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = []
    """None from Textual: ``-short`` / ``-tall`` follow ``tall_height`` (``_fit``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "c",
            "app.cycle_now",
            "Cycle now",
            tooltip="One cycle now, also while paused (it stays paused); during a cycle, one more right after it",
            id="cycle-now",
        ),
        Binding("c", "app.cycle_step", "One cycle", tooltip="Paused: run exactly one cycle now and stay paused", id="cycle-step"),
        Binding("p,space", "app.pause", "Pause", tooltip="Pause: no new cycle starts until you resume (c still runs one)", id="pause"),
        Binding("p,space", "app.resume", "Resume", tooltip="Resume the session's cycles", id="resume"),
        Binding("p,space", "app.play", "Play", tooltip="Play the replay from here", id="replay-play"),
        Binding("left", "app.step(-1)", "Prev", key_display="←", tooltip="Replay: the previous recorded cycle", id="replay-previous", group=_STEP),
        Binding("right", "app.step(1)", "Next", key_display="→", tooltip="Replay: the next recorded cycle", id="replay-next", group=_STEP),
        Binding("minus", "app.speed(0.5)", "Slower", key_display="-", tooltip="Replay: half the speed", id="replay-slower", group=_SPEED),
        Binding("plus,equals_sign", "app.speed(2)", "Faster", key_display="+", tooltip="Replay: twice the speed", id="replay-faster", group=_SPEED),
        Binding("home", "app.seek_first", "First", show=False, tooltip="Replay: back to the start", id="replay-first"),
        Binding("end", "app.seek_last", "Last", show=False, tooltip="Replay: the last recorded cycle", id="replay-last"),
        Binding("tab", "app.next_agent(1)", "Agent", tooltip="Focus the next agent's pane", id="next-agent"),
        Binding("shift+tab", "app.next_agent(-1)", "Previous agent", show=False, tooltip="Focus the previous agent's pane", id="previous-agent"),
        *(
            Binding(str(n), f"app.focus_agent({n})", f"Agent {n}", show=False, tooltip=f"Focus agent {n}'s pane", id=f"agent-{n}")
            for n in range(1, 10)
        ),
        *(
            Binding(
                "v",
                f"show_panel('{panel}')",
                panel.capitalize(),
                tooltip=f"Short screens (too few rows for every panel): show {what}; v steps on to the next panel",
                id=f"panel-{panel}",
            )
            for panel, what in (
                ("positions", "the open positions"),
                ("leaderboard", "the whole leaderboard"),
                ("notices", "every notice in full"),
                ("console", "the console again (market, agent pane, leaderboard)"),
            )
        ),
        Binding("z", "app.zoom", "Zoom", tooltip="Maximize the focused agent's pane (z again to restore)", id="zoom"),
        Binding("T", "app.show_trades", "Trades", tooltip="Every closed trade: sort by any column, filter by agent and coin", id="view-trades", group=_VIEWS),
        Binding("E", "app.show_chart", "Equity", tooltip="Every agent's account value and BTC buy & hold over the session", id="view-equity", group=_VIEWS),
        Binding("D,enter", "app.show_detail", "Detail", tooltip="The selected agent's account, positions, trades, model calls and decisions", id="view-detail", group=_VIEWS),
        Binding("A", "app.season1", "Season 1", tooltip="Watch Alpha Arena Season 1: six real models on Oct 28 2025, from their real accounts (this session stops)", id="season1", group=_VIEWS),
        Binding("S", "app.show_sessions", "Sessions", tooltip="The sessions directory's journals; Enter replays one (this session stops)", id="view-sessions", group=_VIEWS),
        Binding("question_mark,f1", "app.help", "Help", key_display="?", tooltip="Keys and what each pane shows", id="help"),
        Binding("t", "app.change_theme", "Theme", show=False, tooltip="Pick a colour theme", id="theme"),
        Binding("q", "app.quit", "Quit", tooltip="Stop the session (the journal is flushed) and quit", id="quit"),
    ]

    panel: var[str] = var("console")
    """What the body shows on a short screen (``PANELS``; ``v`` steps on). Taller screens show every
    panel at once and always ``"console"``."""

    def __init__(self, mode: str, state: Callable[[], ArenaState | None]) -> None:
        super().__init__(id="console")
        self.short = False
        """Fewer rows than ``tall_height()``: one panel at a time (``panel``)."""
        self.mode = mode
        self._state = state
        self.header = SessionHeader(mode=mode, id="header")
        self.status = StatusLine(id="status")
        self.market = MarketTable(id="market")
        self.positions = PositionsTable(id="positions")
        self.leaderboard = Leaderboard(id="leaderboard")
        self.footer = ArenaFooter(id="footer")
        self.agents_grid = Grid(id="agents")
        self.panes: dict[str, AgentPane] = {}
        self.cycle = 0
        self._history_from = 0
        """Cycles before this one are past the panes' history: a replay jump skips their pane events."""
        self._stale: set[ArenaTable] = set()
        self._panes_stale = False
        self._handlers: dict[type, Handler] | None = None
        """Event type -> its handler, made on the first event (the engine's events module is not
        needed for the first frame)."""
        self._skipped: tuple[type, ...] = ()
        self._clockless: tuple[type, ...] = ()

    def _breakpoint_classes(self, width: int, height: int) -> dict[str, bool]:
        """The screen's breakpoint classes at a ``width`` x ``height`` terminal: as Textual sets
        them on each resize from the app's ``HORIZONTAL_BREAKPOINTS``, and ``-short`` / ``-tall``
        (``tall_height``)."""
        classes: dict[str, bool] = {}
        breakpoints = self.app.HORIZONTAL_BREAKPOINTS or []
        chosen = next((name for at, name in sorted(breakpoints, reverse=True) if width >= at), None)
        classes.update({name: name == chosen for _, name in breakpoints})
        short = height < self.tall_height()
        classes.update({"-short": short, "-tall": not short})
        return classes

    def tall_height(self) -> int:
        """The rows the tall layout needs to show every panel whole (at least ``SHORT_HEIGHT``):
        the header, the status line's most lines, the market (title, header, a row per coin), the
        agent panes' least rows, the positions table's most, the leaderboard (title, header, a row
        per agent and the benchmark's) and the footer. Fixed for a session (neither the notices nor
        the positions move it), so the layout does not flip as they come and go."""
        from arena_tui.tui.widgets.status import TALL_LINES

        state = self._state()
        header = state.header if state is not None else None
        coins = len(header.coins) if header is not None and header.coins else 6
        board = len(self.panes) + 1
        needed = 1 + TALL_LINES + (2 + coins) + AGENTS_MIN_HEIGHT + POSITIONS_MAX_HEIGHT + (2 + board) + 1
        return max(SHORT_HEIGHT, needed)

    def compose(self) -> ComposeResult:
        state = self._state()
        if state is not None and state.header is not None:  # a resumed session: its agents are known before any event
            self._make_panes(state.header)
        # The breakpoint classes before any child is styled: Textual sets them on the first resize,
        # after a first layout without them, and restyling every widget then delays the first frame.
        self.update_classes(self._breakpoint_classes(*self.app.size), animate=False)
        yield self.header
        yield self.status
        with Vertical(id="body"):
            yield self.market
            with self.agents_grid:
                yield from self.panes.values()
            yield self.positions
            yield self.leaderboard
        yield self.footer

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)
        self.market.border_title = "Market"
        self.positions.border_title = "Positions"
        self.leaderboard.border_title = "Leaderboard"
        self.leaderboard.border_subtitle = "vs BTC buy & hold"
        self.positions.border_subtitle = "no open positions"
        state = self._state()
        if state is not None and state.header is not None:  # a resumed session: show its accounts in the first frame
            self._show_session(state.header)
            self.cycle = self.header.cycle = state.cycle
            self.header.sim_time = state.time
            if first := next(iter(self.panes.values()), None):
                self.select_pane(first)
        self._stale.update(self.tables)
        self._panes_stale = True
        self.end_batch()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Narrow (< 100 columns): a compact footer without the palette key. Short (fewer rows than
        ``tall_height()``): the status line shows only the newest notice, and ``v`` shows the panels
        that do not fit."""
        narrow = width < NARROW_WIDTH
        changed = narrow != self.footer.compact or narrow == self.footer.show_command_palette
        self.footer.compact = narrow
        self.footer.show_command_palette = not narrow
        for table in self.tables:
            table.fit_width(width)  # a table hidden behind a zoomed pane is sent no Resize
        short = height < self.tall_height()
        self.update_classes({"-short": short, "-tall": not short}, animate=False)
        self.status.set_short(short)
        for pane in self.panes.values():
            pane.set_show_open(short)
        if short != self.short:
            changed = True
            self.short = short
            if not short:
                self.panel = "console"  # every panel is on screen
        if changed:
            self.refresh_bindings()
        if not narrow:
            self.call_after_refresh(self.fit_footer)

    def fit_footer(self) -> None:
        """Once the footer is laid out: when its keys do not fit (``? Help`` and ``q Quit`` would be
        cut), the palette key goes first, then the compact footer does what it does under
        ``NARROW_WIDTH`` columns. A resize starts again from the width rule (``_fit``)."""
        footer = self.footer
        if footer.compact or not footer.is_mounted or footer.region.width == 0 or not footer.overflows():
            return
        if footer.show_command_palette:
            footer.show_command_palette = False
        else:
            footer.compact = True
        self.refresh_bindings()  # the footer recomposes, and is checked again once laid out

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Textual's, but a replay's compact footer (under 100 columns) leaves out the keys in
        ``FOOTER_OPTIONAL`` so the rest fits in 80 columns, and every compact footer those in
        ``FOOTER_WIDE_ONLY`` (they still work; the help lists them)."""
        bindings = super().active_bindings
        if self.footer.compact:
            left_out = FOOTER_WIDE_ONLY | (FOOTER_OPTIONAL if self.mode == "replay" else frozenset())
            for key, active in bindings.items():
                if active.binding.id in left_out and active.binding.show:
                    bindings[key] = active._replace(binding=dataclasses.replace(active.binding, show=False))
        return bindings

    # -- panels (short screens) -------------------------------------------------------------------

    @property
    def next_panel(self) -> str:
        """The panel ``v`` shows next."""
        return PANELS[(PANELS.index(self.panel) + 1) % len(PANELS)]

    def watch_panel(self, panel: str) -> None:
        for name in PANELS[1:]:
            self.set_class(panel == name, f"-panel-{name}")
        self.status.set_expanded(panel == "notices")
        self.refresh_bindings()

    def action_show_panel(self, panel: str) -> None:
        """Short screens: show ``panel`` (one of ``PANELS``) in the body; back on the console, the
        selected agent's pane has the focus again."""
        if panel not in PANELS:
            return
        self.panel = panel
        if panel == "console":
            selected = next((p for p in self.panes.values() if p.has_class("-selected")), None)
            if selected is not None:
                self.select_pane(selected)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``v`` on short screens only, one binding at a time: the one naming the next panel."""
        if action == "show_panel":
            return self.short and tuple(parameters[:1]) == (self.next_panel,)
        return True

    # -- widgets ----------------------------------------------------------------------------------

    @property
    def tables(self) -> tuple[ArenaTable, ...]:
        return (self.market, self.positions, self.leaderboard)

    def end_batch(self) -> None:
        """The app rendered a batch of events: the tables (and each pane's title and subtitle: account,
        last call, failure, halt) whose events came show the session's state now, once."""
        state = self._state()
        for table in self.tables:
            if table in self._stale:
                table.show(state)
        self._stale.clear()
        if self._panes_stale and state is not None:
            self._panes_stale = False
            for name, pane in self.panes.items():
                book = state.agents.get(name)
                if book is None:
                    continue
                pane.show_book(book)
                if book.halted is not None and not pane.halted:
                    pane.halt(state.cycle, state.time, book.halted, quiet=True)  # halted before the panes' history

    def pane_at(self, index: int) -> AgentPane | None:
        """The pane of agent number ``index`` (1-based, ``agent_numbers``), if any."""
        return next((pane for pane in self.panes.values() if pane.number == index), None)

    def select_pane(self, pane: AgentPane) -> None:
        """Mark ``pane`` as the selected agent (the one shown when the screen is short) and focus it;
        a short screen showing another panel shows the console again."""
        self.panel = "console"
        for other in self.panes.values():
            other.set_class(other is pane, "-selected")
        if pane.focusable:
            self.set_focus(pane)  # at once, so a key typed right after goes to this pane
        else:
            pane.focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget in self.panes.values():
            for other in self.panes.values():
                other.set_class(other is event.widget, "-selected")

    # -- events -----------------------------------------------------------------------------------

    def _make_handlers(self) -> dict[type, Handler]:
        from arena_tui.engine import events as ev

        handlers: dict[type, Handler] = {
            ev.SessionStarted: self._ev_session_started,
            ev.SessionEnded: self._ev_session_ended,
            ev.StateReset: self._ev_state_reset,
            ev.CycleStarted: self._ev_cycle_started,
            ev.CycleCompleted: self._ev_cycle_completed,
            ev.MarketUpdated: self._ev_market_updated,
            ev.MarketPreview: self._ev_market_preview,
            ev.MarketFailed: self._ev_market_failed,
            ev.AgentStarted: self._ev_agent_started,
            ev.ReasoningDelta: self._ev_reasoning,
            ev.AgentReplied: self._ev_agent_replied,
            ev.AgentFailed: self._ev_agent_failed,
            ev.AgentFellBack: self._ev_agent_fell_back,
            ev.SwarmVoted: self._ev_swarm_voted,
            ev.AgentHalted: self._ev_agent_halted,
            ev.DecisionParsed: self._ev_decisions,
            ev.DecisionRejected: self._ev_rejected,
            ev.OrderFilled: self._ev_filled,
            ev.PositionClosed: self._ev_closed,
            ev.FundingPaid: self._ev_funding,
            ev.AccountUpdated: self._ev_account,
        }
        self._skipped = (ev.MarketData,)
        self._clockless = (ev.StateReset,)
        self._handlers = handlers
        return handlers

    async def apply(self, event: ev.Event) -> None:
        """Render one engine event: agent panes from the event itself; the tables are marked to be
        drawn from the state at the end of the batch (``end_batch``). ``MarketData`` (re-execution's
        input) is never shown."""
        handlers = self._handlers if self._handlers is not None else self._make_handlers()
        if isinstance(event, self._skipped):
            return
        if event.time > 0 and not isinstance(event, self._clockless):
            self.header.sim_time = event.time
        handler = handlers.get(type(event))
        if handler is not None:
            await handler(event)

    def _make_panes(self, header: ev.SessionStarted) -> None:
        from arena_tui.tui.widgets.reasoning import AgentPane, agent_numbers

        # one pane per name, numbered as the state numbers its agents (a name listed twice keeps its
        # first place and, as in the state, its last kind and model)
        agents = {str(a.get("name")): (str(a.get("kind", "")), str(a.get("model", "") or "")) for a in header.agents}
        numbers = agent_numbers(agents)
        self.panes = {name: AgentPane(name, kind, model, numbers[name]) for name, (kind, model) in agents.items()}
        grid = self.agents_grid
        for n in range(1, 10):
            grid.set_class(len(self.panes) == n, f"-n{n}")
        grid.set_class(len(self.panes) > 9, "-many")
        short = self.app.size.height < self.tall_height()
        for pane in self.panes.values():
            pane.set_show_open(short)

    def _show_session(self, header: ev.SessionStarted) -> None:
        self.header.session_name = header.session
        self.header.source = header.source

    async def _ev_session_started(self, e: ev.SessionStarted) -> None:
        self._show_session(e)
        if list(self.panes) != [str(a.get("name")) for a in e.agents]:
            await self.agents_grid.remove_children()
            self._make_panes(e)
            await self.agents_grid.mount_all(self.panes.values())
            self._fit(*self.app.size)  # the rows every panel needs depend on the agents
            first = next(iter(self.panes.values()), None)
            if first is not None and self.app.screen is self:
                self.select_pane(first)
        self._stale.update(self.tables)
        self._panes_stale = True

    async def _ev_session_ended(self, e: ev.SessionEnded) -> None:
        self.status.end_all_progress()  # (a stop during the work: no done event comes)
        # the count, unless the reason says it already ("ran the 50 cycles asked for")
        count = "" if f" {e.cycles} cycle" in f" {e.reason}" else f" ({e.cycles} cycle{'' if e.cycles == 1 else 's'})"
        self.status.show("info", f"Session ended: {e.reason}{count}.")

    async def _ev_state_reset(self, e: ev.StateReset) -> None:
        """Forget what the panes and tables keep of their own; the events that follow (the last
        cycles of the target) fill the panes again, and the tables show the new state."""
        from arena_tui.tui.widgets.reasoning import HISTORY_CYCLES

        self.cycle = 0
        self.header.cycle = 0
        self._history_from = e.target_cycle - HISTORY_CYCLES + 1
        self.status.drop_recorded()
        for table in self.tables:
            table.reset()
        self._stale.update(self.tables)
        for pane in self.panes.values():
            pane.reset()
        self._panes_stale = True

    async def _ev_cycle_started(self, e: ev.CycleStarted) -> None:
        self.cycle = e.cycle
        self.header.cycle = e.cycle
        if e.cycle >= self._history_from:
            for pane in self.panes.values():
                pane.start_cycle(e.cycle, e.time)

    async def _ev_cycle_completed(self, e: ev.CycleCompleted) -> None:
        self.leaderboard.record(e.leaderboard)
        self._stale.add(self.leaderboard)

    async def _ev_market_updated(self, e: ev.MarketUpdated) -> None:
        self.market.note_prices(e.coins)
        self._stale.add(self.market)
        self.status.drop("market")  # the market answers again: a failure notice is over

    async def _ev_market_preview(self, e: ev.MarketPreview) -> None:
        """The prices the session starts from, before the indicators are ready (display only)."""
        self.market.preview(e.coins)
        self._stale.add(self.market)

    async def _ev_market_failed(self, e: ev.MarketFailed) -> None:
        self.status.show("warning", f"Cycle {e.cycle}: no market data ({e.reason}); agents hold.", key="market")

    def _pane(self, agent: str, cycle: int) -> AgentPane | None:
        """The agent's pane, or None when ``cycle`` is past its history (a replay jump)."""
        return self.panes.get(agent) if cycle >= self._history_from else None

    async def _ev_agent_started(self, e: ev.AgentStarted) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.started()

    async def _ev_reasoning(self, e: ev.ReasoningDelta) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.write(e.cycle, e.time, e.kind, e.text, e.member)

    async def _ev_agent_replied(self, e: ev.AgentReplied) -> None:
        # The answer itself streamed in as ReasoningDelta (kind "answer"); a failure is told by the
        # AgentFailed that follows; the call's latency, tokens and cost are drawn from the state.
        if pane := self._pane(e.agent, e.cycle):
            pane.replied()
        self._panes_stale = True

    async def _ev_agent_failed(self, e: ev.AgentFailed) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.failed(e.cycle, e.time, e.kind, e.reason)
        self._panes_stale = True

    async def _ev_agent_fell_back(self, e: ev.AgentFellBack) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.fell_back(e.cycle, e.time, e.model, e.kind, e.reason, e.fallback)
        self._panes_stale = True

    async def _ev_swarm_voted(self, e: ev.SwarmVoted) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.swarm_voted(e.cycle, e.time, e.rule, e.quorum, e.members, e.tally, e.result)
        self._panes_stale = True

    async def _ev_agent_halted(self, e: ev.AgentHalted) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.halt(e.cycle, e.time, e.reason)
        self._panes_stale = True

    async def _ev_decisions(self, e: ev.DecisionParsed) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.decisions(e.cycle, e.time, e.decisions)
        self._panes_stale = True  # a parsed decision ends a run of failures

    async def _ev_rejected(self, e: ev.DecisionRejected) -> None:
        if pane := self._pane(e.agent, e.cycle):
            pane.line(e.cycle, e.time, "rejected", f"✗ {e.coin} rejected [{e.rule}]: {e.reason}")

    async def _ev_filled(self, e: ev.OrderFilled) -> None:
        if e.action == "open":  # the state lists the position now, not only at the cycle's end
            self._stale.add(self.positions)
            self._panes_stale = True
        pane = self._pane(e.agent, e.cycle)
        if pane is None or e.action != "open":
            return  # a close is shown by its PositionClosed, which carries the PnL
        chunks = (
            f"● opened {e.coin} {fmt.side(e.side)}",
            fmt.quantity(e.quantity),
            f"@ {fmt.price(e.price)}",
            f"· {fmt.leverage(e.leverage)}",
            f"· fee {fmt.money(e.fee)}",
        )
        pane.line(e.cycle, e.time, "fill", chunks)

    async def _ev_closed(self, e: ev.PositionClosed) -> None:
        self._stale.add(self.positions)
        self._panes_stale = True
        if pane := self._pane(e.agent, e.cycle):
            why = _EXIT_REASONS.get(e.reason, e.reason)
            chunks = (
                f"■ closed {e.coin} {fmt.side(e.side)}",
                f"@ {fmt.price(e.exit_price)}",
                f"· {why}",
                f"· net {fmt.money(e.net_pnl, sign=True)}",
            )
            pane.line(e.cycle, e.time, "profit" if e.net_pnl >= 0 else "loss", chunks)

    async def _ev_funding(self, e: ev.FundingPaid) -> None:
        if pane := self._pane(e.agent, e.cycle):
            verb = "paid" if e.amount >= 0 else "received"
            pane.line(e.cycle, e.time, "funding", f"funding {e.coin} {verb} {fmt.money(abs(e.amount))} ({fmt.rate(e.rate)})")

    async def _ev_account(self, e: ev.AccountUpdated) -> None:
        self._stale.add(self.positions)
        self._panes_stale = True
