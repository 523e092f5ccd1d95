"""The arena-tui Textual app: one bridge from a ``Session``'s events to the console screen, and the
keys that send the session its commands.

``make_app(session, ...)`` is the one way to build it (the CLI and the tests both use it). The CLI
hands it a ``StartingSession`` (``tui/starting.py``), which builds the real session in a thread
after the first frame: nothing the first frame does not need (the engine, the market's data, numpy)
is imported or read before it. The app runs ``session.run(sink)`` in one worker; the sink only queues events, and the same worker drains the
queue in order and renders each event on the ``ConsoleScreen`` (reasoning deltas of one agent that
arrive together are joined first); after each batch the screen's tables show ``session.state``, the
session's one fold of its events. Widgets never call the session: the app sends it ``cycle_now``,
``pause``, ``resume`` and ``stop`` (and in a replay ``step``, ``seek`` and ``set_speed``).

Untrusted text (model output, server error bodies, journals, config and theme names) is made safe
where it is drawn, by ``arena_tui.engine.sanitize``, in the few entry points every widget's text goes
through: ``StreamView.append/add_line/fold`` (the agent panes), ``AgentPane``'s title and subtitle,
``StatusLine.show``, ``SessionHeader``'s labels, ``ArenaTable.styled`` (every table cell),
``ArenaApp.notify`` (toasts, never markup) and the command palette's agent entries. Each draws
``Text``/``Content`` built from the safe plain string, never a markup string. The session and its
journal keep the exact text. ``tests/test_tui_hostile.py`` checks the whole screen.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import Screen

from arena_tui.engine.errors import ArenaError
from arena_tui.engine.sanitize import safe_line, safe_text
from arena_tui.tui.commands import ArenaCommands
from arena_tui.tui.screens.console import ConsoleScreen
from arena_tui.tui.starting import StartFailed
from arena_tui.tui.themes import (
    APP_VARIABLES,
    app_variable_fallback,
    DEFAULT_THEME,
    ThemeLoad,
    load_themes,
    resolve_theme_name,
)
from arena_tui.tui.widgets.tables import NARROW_WIDTH

if TYPE_CHECKING:  # the engine's events and sessions are imported on the first event, after the first frame
    from arena_tui.engine import events as ev
    from arena_tui.engine.session import Session

QUIT_TIMEOUT_S = 0.8
"""How long ``q`` waits for the session to finish its journal writes before quitting anyway. The
session cancels its model calls at once (``ArenaSession.stop``), so this is a guard, not the path."""

SIGNAL_EXIT_S = 2.0
"""After a stop signal, the process leaves by ``os._exit`` at the latest this many seconds later."""

PROGRESS_DONE_S = 6.0
"""How long the toast saying a piece of work is done (the indicators compiled) stays."""

RENDER_SLICE = 400
"""Events rendered before the bridge yields to the event loop (a long batch stays responsive)."""

REPLAY_SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""The speeds ``+`` and ``-`` step through in a replay."""


REPLAY_CONTROLS = ("cycle", "total_cycles", "speed", "step", "seek", "set_speed")
"""The members of ``engine.session.ReplayControls``."""


def has_replay_controls(session: object) -> bool:
    """``isinstance(session, ReplayControls)`` (a runtime-checkable protocol: it has every member),
    without importing the engine before the first frame."""
    return all(hasattr(session, name) for name in REPLAY_CONTROLS)


class CycleBoundaryGC:
    """Full garbage collections between cycles instead of in the middle of a stream.

    A full (generation 2) pass over a running console takes 60-100 ms; the collector starts one
    whenever enough objects survived, which under six streaming models is every few seconds, and the
    screen stalls for it (``benchmarks/tui.py`` measured these passes as the largest timer lags).
    ``start`` (after the first frame) moves everything built so far (modules, widgets) out of the
    collector's reach (``gc.freeze``) and stops automatic full passes; ``boundary`` (at each
    ``CycleCompleted``) runs the full pass the collector would have run by now, and ``overdue`` (the
    header's clock tick) runs it anyway once ``OVERDUE`` times as many young collections passed
    without one (a model streaming for minutes), so cyclic garbage never piles up. ``stop`` puts
    the collector back as it was. Young generations are collected as usual throughout."""

    OVERDUE = 20

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._settled = False

    def start(self) -> None:
        gc.freeze()
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _full = self._saved
            gc.set_threshold(young, middle, 1_000_000_000)

    def settle(self) -> None:
        """Once, when the session has started: what was built after ``start`` (a session built after
        the first frame: the engine's modules, the market) goes out of the collector's reach too."""
        if self._saved is not None and not self._settled:
            self._settled = True
            gc.freeze()

    def _due(self, factor: int) -> bool:
        return self._saved is not None and gc.get_count()[2] >= max(1, self._saved[2]) * factor

    def boundary(self) -> None:
        if self._due(1):
            gc.collect()

    def overdue(self) -> None:
        if self._due(self.OVERDUE):
            gc.collect()

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        gc.unfreeze()


class ArenaApp(App[None]):
    """The console. Build it with ``make_app``.

    ``session``: the event source (live, recorded or replay). ``themes``: the loaded theme files and
    their notices. ``theme_name``: the theme asked for (config or ``--theme``); an unknown one falls
    back to ``arena-dark`` with a notice. ``clock``: the wall clock in seconds since the epoch
    (inject a constant for snapshots).
    """

    CSS_PATH = "app.tcss"
    TITLE = "arena-tui"
    COMMANDS = App.COMMANDS | {ArenaCommands}
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW_WIDTH, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (32, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit-ctrl"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-ctrl-c"),
    ]

    paused: var[bool] = var(False)
    """True while the session is paused (from its events, and at once when a key pauses it)."""
    ended: var[bool] = var(False)
    """True while the session's state says it has ended (after each batch of events; so a replay
    jump back, or a recording resumed after a stop, clears it), or once the session failed."""
    finished: var[bool] = var(False)
    """True while nothing is left to run or play, so the keys that run or play do nothing: the
    session has ended (``ended``), or a replay shows the end of its last recorded cycle (a jump back
    clears it). Set after each batch of events, as ``ended``."""

    def __init__(
        self,
        session: Session,
        *,
        themes: ThemeLoad,
        theme_name: str | None = None,
        clock: Callable[[], float] = time.time,
        remember_theme: Callable[[str], None] | None = None,
    ) -> None:
        self._remember_theme = remember_theme
        """Called with the theme chosen on screen (``t``), to keep it for the next start (None: not kept)."""
        super().__init__()
        self.session = session
        self.clock = clock
        self.is_replay = session.mode == "replay" and has_replay_controls(session)
        self._live_ui = False
        self._writer_gone = False
        """--follow: the writer-gone state the header last showed."""
        self.set_reactive(ArenaApp.paused, session.paused)
        self._stopping = False
        self._failed = False
        self._bridge_done = False
        self._remove_signals: Callable[[], None] = lambda: None
        self._gc = CycleBoundaryGC()
        self.stopped_by_signal: str | None = None
        """The signal (SIGTERM, SIGHUP, SIGINT) that stopped the app, if one did."""
        self.error: str | None = None
        """The sentence that ended the session when it failed (shown on screen, printed on exit)."""
        self.start_error: BaseException | None = None
        """What building the session raised (a ``StartingSession``): the app closed at once, and the
        CLI reports it as it reports an error before the screen starts."""
        self.next_journal: tuple[str, Path] | None = None
        """Set by the sessions browser: ("replay" or "follow", a journal) the CLI opens once this app
        has closed (``open_journal``)."""
        self._queue: deque[ev.Event] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self.console_screen = ConsoleScreen(session.mode, lambda: session.state)
        self._theme_notices: list[str] = list(themes.notices)
        for theme in themes.themes:
            self.register_theme(theme)
        name, notice = resolve_theme_name(theme_name, self.available_themes, DEFAULT_THEME)
        if notice:
            self._theme_notices.append(notice)
        self._set_first_theme(name)

    # -- set-up -----------------------------------------------------------------------------------

    def _set_first_theme(self, name: str) -> None:
        """``self.theme = name`` before the app runs, without the full re-parse of every stylesheet
        that setting the reactive queues (``App._watch_theme`` -> ``refresh_css``): nothing has been
        parsed yet, so the stylesheet only needs the theme's variables (about 10 ms of the first
        frame). What the watcher does besides is done here: the theme and dark/light classes and
        the ANSI colour filter. Later changes (``t``, the palette) set ``self.theme`` as usual."""
        self.set_reactive(App.theme, name)
        dark = self.current_theme.dark
        classes = {c: False for c in self.classes if c.startswith("-theme-")}
        classes.update({f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark})
        self.update_classes(classes, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    def get_default_screen(self) -> ConsoleScreen:
        return self.console_screen

    def get_css_variables(self) -> dict[str, str]:
        """Textual's variables plus the app's own (``APP_VARIABLES``), each falling back to a Textual
        variable when the theme does not set it."""
        variables = super().get_css_variables()
        dark = self.current_theme.dark
        for name in APP_VARIABLES:
            variables.setdefault(name, variables[app_variable_fallback(name, dark)])
        self.theme_variables = variables
        return variables

    def on_ready(self) -> None:
        """After the first frame: show theme notices, start the clock and the session."""
        start_building = getattr(self.session, "start_building", None)
        if start_building is not None:
            start_building()  # a ``StartingSession``: its thread builds the session meanwhile
        self._live_ui = True
        self._gc.start()
        for notice in self._theme_notices:
            self.console_screen.status.show("warning", notice)
            self.notify(notice, title="Theme", severity="warning", timeout=8)
        self._tick()
        # The screen owns the clock's timer: it stops as the screen closes, before its widgets go.
        self.console_screen.set_interval(0.5, self._tick, name="header clock")
        self._catch_signals()
        self._bridge()

    def _catch_signals(self) -> None:
        """SIGTERM, SIGHUP and SIGINT stop the session as ``q`` does (journal complete, terminal
        restored) instead of killing the process mid-write."""
        from arena_tui.engine.session import catch_stop_signals

        self._remove_signals = catch_stop_signals(self._on_signal)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, as ``App.notify``, but its message and title are made safe (``safe_text``,
        ``safe_line``) and the message is not read as markup unless ``markup=True`` is asked for
        (the app's notices come from sessions, journals and theme files)."""
        super().notify(safe_text(message), title=safe_line(title), severity=severity, timeout=timeout, markup=markup)

    def on_unmount(self) -> None:
        self._gc.stop()  # the collector as it was (tests run many apps)
        self._remove_signals()

    def _tick(self) -> None:
        """Put the wall clock, the countdown and (replay) the cycles and speed in the header."""
        self._gc.overdue()
        header = self.console_screen.header
        header.wall_time = self.clock()
        header.countdown = None if self.ended else self.session.next_cycle_in()
        if self.is_replay:
            header.total_cycles = self.session.total_cycles
            header.speed = self.session.speed

    # -- the bridge -------------------------------------------------------------------------------

    def sink(self, event: ev.Event) -> None:
        """The ``EventSink`` handed to ``session.run``: queue the event (never blocks, never awaits)."""
        self._queue.append(event)
        self._wake.set()

    @work(name="session bridge", group="session", exclusive=True)
    async def _bridge(self) -> None:
        """Run the session and render its events in order until it ends."""
        run = asyncio.ensure_future(self.session.run(self.sink))
        try:
            while True:
                if not self._queue:
                    if run.done():
                        break
                    self._idle.set()
                    self._wake.clear()
                    waiter = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    continue
                self._idle.clear()
                batch, self._queue = self._queue, deque()
                try:
                    await self.render_events(batch)
                except Exception:
                    if self.is_running:
                        raise
                    break  # the app is shutting down under us: its widgets are going
            if run.done():
                run.result()
        except StartFailed as exc:
            self.start_error = exc.error
            self._stopping = True  # nothing ran: close at once
        except ArenaError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug of ours: one sentence on screen, the traceback in the log
            import logging

            from arena_tui.logs import log_hint

            logging.getLogger(__name__).error("the session failed", exc_info=True)
            self._fail(f"The session stopped on an unexpected error ({type(exc).__name__}); the journal is intact up to its last cycle; {log_hint()}.")
        finally:
            if not run.done():
                run.cancel()
            self._idle.set()
            self._bridge_done = True
        if self._stopping:
            self.exit()

    def _fail(self, sentence: str) -> None:
        self.error = sentence
        self._failed = self.ended = self.finished = True
        self.console_screen.status.show("error", sentence)

    async def events_rendered(self) -> None:
        """Wait until every event the session has sent so far is on screen (tests, benchmarks)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(0)
            if self._idle.is_set() and not self._queue:
                return

    async def render_events(self, events: Iterable[ev.Event]) -> None:
        """Render ``events`` in order; consecutive reasoning deltas of an agent (and swarm member) are
        joined first."""
        from arena_tui.engine import events as ev

        pending: dict[tuple[str, str, int, str | None], ev.ReasoningDelta] = {}
        done = 0
        for event in events:
            if not self.is_running:
                return
            if isinstance(event, ev.ReasoningDelta):
                key = (event.agent, event.kind, event.cycle, event.member)  # a swarm's members apart
                joined = pending.get(key)
                pending[key] = event if joined is None else ev.ReasoningDelta(
                    joined.cycle, joined.time, joined.agent, joined.kind, joined.text + event.text, joined.offset_ms, joined.member
                )
                continue
            if pending:
                await self._flush_text(pending)
            await self._apply(event)
            done += 1
            if done % RENDER_SLICE == 0:
                await asyncio.sleep(0)
        if pending:
            await self._flush_text(pending)
        if self.is_running:
            self.console_screen.end_batch()
            show_state = getattr(self.screen, "show_state", None)  # a view over the console (screens/view.py)
            if show_state is not None:
                show_state()
            state = self.session.state  # (None while a session is built: only its progress came)
            self.ended = self._failed or (state is not None and state.ended is not None)
            self.finished = self.ended or self._replay_played()
            gone = getattr(self.session, "writer_gone", None)  # --follow: its writer may stop or resume
            if gone is not None and gone != self._writer_gone:
                self._writer_gone = gone
                self._show_run_state()

    def _replay_played(self) -> bool:
        """A replay whose last recorded cycle has been played to its end (its ``CycleCompleted``
        folded: a step back folds an earlier state)."""
        state = self.session.state
        return self.is_replay and state is not None and state.completed_cycle >= self.session.total_cycles

    async def _flush_text(self, pending: dict[tuple[str, str, int], ev.ReasoningDelta]) -> None:
        deltas = list(pending.values())
        pending.clear()
        for delta in deltas:
            await self.console_screen.apply(delta)

    async def _apply(self, event: ev.Event) -> None:
        """App-level state (run state, notices), then the screen."""
        from arena_tui.engine import events as ev

        if isinstance(event, ev.SessionStarted):
            self._gc.settle()
            self._show_run_state()
        elif isinstance(event, ev.SessionPaused):
            self.paused = True
        elif isinstance(event, ev.SessionResumed):
            self.paused = False
        elif isinstance(event, ev.Notice):
            if self._recorded(event):
                # history, not news: muted and marked "recorded:" in the status line, no toast
                self.console_screen.status.show(event.level, event.text, recorded=True)
            else:
                self.console_screen.status.show(event.level, event.text)
                if event.level in ("warning", "error"):
                    self.notify(event.text, severity="error" if event.level == "error" else "warning", timeout=10)
        elif isinstance(event, ev.Progress):
            self._progress(event)
        elif isinstance(event, ev.TriggerCoalesced):
            self.notify("A cycle is running; your cycle will start right after it.", title="Cycle now", timeout=4)
        elif isinstance(event, ev.CycleCompleted):
            self._gc.boundary()
        await self.console_screen.apply(event)

    def _progress(self, event: ev.Progress) -> None:
        """Work this process is doing (display only): a line in the status area while it lasts; when
        it is done the line goes and its last word shows as a short-lived toast."""
        status = self.console_screen.status
        if not event.done:
            status.start_progress(event.key, event.text)
            return
        status.end_progress(event.key)
        if event.text:
            self.notify(event.text, timeout=PROGRESS_DONE_S)

    def _recorded(self, event: ev.Event) -> bool:
        """True for an event the replayed journal holds (not one the replay itself sends); following,
        a notice written before following began."""
        is_recorded = getattr(self.session, "is_recorded", None) if self.is_replay or self.session.mode == "follow" else None
        return bool(is_recorded(event)) if is_recorded is not None else False

    # -- run state --------------------------------------------------------------------------------

    def watch_theme(self, theme_name: str) -> None:
        """A theme chosen on screen is kept for the next start (``make_app(remember_theme=...)``)."""
        if self._remember_theme is not None and self.is_running:
            self._remember_theme(theme_name)

    def watch_paused(self) -> None:
        self._show_run_state()

    def watch_ended(self) -> None:
        self._show_run_state()

    def watch_finished(self) -> None:
        self._show_run_state()

    def _show_run_state(self) -> None:
        if self._live_ui:
            state = "ended" if self.ended else ("paused" if self.paused else "running")
            if state != "ended" and getattr(self.session, "writer_gone", False):
                state = "stopped"  # --follow: no process writes the journal any more (a crash or a kill)
            self.console_screen.header.state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only the keys that do something now (False hides a key from the footer, the help
        and the palette, and it does nothing):

        - live, running: Cycle now, Pause; paused: One cycle, Resume;
        - replay, playing: Cycle now, Pause, ←→ Cycle, -+ Speed, home, end; paused: One cycle and
          Play instead of Cycle now and Pause;
        - finished (the session ended, or a replay shows the end of its last cycle): no cycle, no
          pause or play, and in a replay no step forward, no end and no speed; ← and home still go
          back (then it is no longer finished);
        - following another process's session (``--follow``): never a cycle, pause or play.
        """
        finished = self.finished
        if self.session.mode == "follow" and action in ("pause", "resume", "play", "cycle_now", "cycle_step", "season1"):
            return False  # following another process's session: read-only
        if action == "pause":
            return not self.paused and not finished
        if action == "resume":
            return self.paused and not finished and not self.is_replay
        if action == "play":
            return self.paused and self.is_replay and not finished
        if action in ("step", "speed", "seek_first", "seek_last"):
            if not self.is_replay:
                return False
            forward = action in ("speed", "seek_last") or (action == "step" and bool(parameters) and _positive(parameters[0]))
            return not (finished and forward)
        if action == "cycle_now":  # shown while running ("Cycle now")...
            return not self.paused and not finished
        if action == "cycle_step":  # ...and while paused ("One cycle"): the same command
            return self.paused and not finished
        return True

    # -- actions ----------------------------------------------------------------------------------

    def action_cycle_now(self) -> None:
        """Start a cycle now (during a cycle: one more right after it)."""
        self.session.cycle_now()

    def action_cycle_step(self) -> None:
        """Paused: run exactly one cycle; the session stays paused."""
        self.session.cycle_now()

    def action_pause(self) -> None:
        """Pause: no new cycle starts (a running one finishes)."""
        self.session.pause()
        self.paused = True

    def action_resume(self) -> None:
        """Resume the session."""
        self.session.resume()
        self.paused = False

    def action_play(self) -> None:
        """Resume a paused replay."""
        self.action_resume()

    def action_step(self, delta: int) -> None:
        """Replay: move ``delta`` cycles (-1 previous, +1 next)."""
        self.session.step(delta)

    def action_seek_first(self) -> None:
        """Replay: back to the start."""
        self.session.seek(0)

    def action_seek_last(self) -> None:
        """Replay: jump to the last recorded cycle."""
        self.session.seek(self.session.total_cycles)

    def action_speed(self, factor: float) -> None:
        """Replay: the next speed up (factor > 1) or down (factor < 1) in ``REPLAY_SPEEDS``."""
        current = self.session.speed
        if factor > 1:
            speed = next((s for s in REPLAY_SPEEDS if s > current + 1e-9), REPLAY_SPEEDS[-1])
        else:
            speed = next((s for s in reversed(REPLAY_SPEEDS) if s < current - 1e-9), REPLAY_SPEEDS[0])
        self.session.set_speed(speed)
        self.console_screen.header.speed = speed

    def action_next_agent(self, step: int) -> None:
        """Focus the next (``step`` = 1) or previous (-1) agent pane."""
        panes = list(self.console_screen.panes.values())
        if not panes:
            return
        focused = self.console_screen.focused
        if focused not in panes:  # e.g. a short screen showing another panel: from the selected agent
            focused = next((pane for pane in panes if pane.has_class("-selected")), None)
        index = panes.index(focused) if focused in panes else -step
        self.console_screen.select_pane(panes[(index + step) % len(panes)])

    def action_focus_agent(self, index: int) -> None:
        """Focus agent pane ``index`` (1-9)."""
        pane = self.console_screen.pane_at(index)
        if pane is not None:
            self.console_screen.select_pane(pane)

    def action_zoom(self) -> None:
        """Maximize the focused agent pane, or restore it. The pane re-wraps its text at its new width
        (``StreamView.refit``, also when Textual sends it no ``Resize``)."""
        screen = self.console_screen
        pane = screen.maximized
        if pane is not None:
            screen.minimize()
        elif screen.focused in screen.panes.values():
            pane = screen.focused
            screen.panel = "console"  # a short screen showing another panel: the pane's own
            screen.maximize(pane)
        if pane is not None:
            # A full layout, not the scroll-only fast path Textual takes when a scroll is pending too:
            # that one leaves the pane's size as it was.
            pane.refresh(layout=True)

    def action_help(self) -> None:
        """Show the keys and what each pane shows."""
        from arena_tui.tui.screens.help import HelpScreen  # not needed before the first frame

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- views (screens/view.py): what happened, drawn from the session's state -------------------

    def _open_view(self, view: Screen) -> None:
        """Show ``view`` over the console, in place of the view shown now (Escape goes back)."""
        from arena_tui.tui.screens.view import StateView

        if isinstance(self.screen, StateView):
            self.switch_screen(view)
        else:
            self.push_screen(view)

    def action_show_trades(self) -> None:
        """Every closed trade, sortable and filtered by agent and coin."""
        from arena_tui.tui.screens.trades import TradesScreen

        if not isinstance(self.screen, TradesScreen):
            self._open_view(TradesScreen())

    def action_show_chart(self) -> None:
        """Every agent's account value and the benchmark over the session."""
        from arena_tui.tui.screens.chart import ChartScreen

        if not isinstance(self.screen, ChartScreen):
            self._open_view(ChartScreen())

    def action_show_detail(self, agent: str | None = None) -> None:
        """One agent's account, positions, trades, model calls and decisions: ``agent``, or the
        console's selected agent (the focused pane; the first agent when none is)."""
        from arena_tui.tui.screens.detail import DetailScreen

        screen = self.console_screen
        if agent is None:
            pane = next((p for p in screen.panes.values() if p.has_class("-selected")), None)
            pane = screen.focused if screen.focused in screen.panes.values() else pane
            agent = next((name for name, p in screen.panes.items() if p is pane), None)
            state = self.session.state
            if agent is None and state is not None and state.agents:
                agent = next(iter(state.agents))
        if agent is None:
            return
        if isinstance(self.screen, DetailScreen):
            if self.screen.agent != agent:
                self.screen.agent = agent
                self.screen.show_state()
            return
        self._open_view(DetailScreen(agent))

    def action_show_sessions(self) -> None:
        """The journals of the sessions directory; Enter replays one."""
        from arena_tui.sessions import default_cache_path
        from arena_tui.tui.screens.sessions import SessionsScreen

        if not isinstance(self.screen, SessionsScreen):
            self._open_view(SessionsScreen(self.sessions_dir(), cache=default_cache_path()))

    def journal_on_screen(self) -> Path | None:
        """The journal of the session on screen: the one a live session writes, or the one followed
        or replayed (None: none yet, or a session without one)."""
        for name in ("journal_path", "path", "_path"):  # a live session's, a follow's, a replay's journal
            path = getattr(self.session, name, None)
            if isinstance(path, (str, Path)) and str(path):
                return Path(path)
        return None

    def sessions_dir(self) -> Path:
        """The directory the sessions browser lists: the one holding this session's journal (the
        journal replayed or followed, a live session's), else the header's ``arena.sessions_dir``,
        else ``sessions``."""
        journal = self.journal_on_screen()
        if journal is not None:
            return journal.parent
        state = self.session.state
        config = state.header.config if state is not None and state.header is not None else {}
        arena = config.get("arena") if isinstance(config, dict) else None
        directory = arena.get("sessions_dir") if isinstance(arena, dict) else None
        return Path(directory).expanduser() if isinstance(directory, str) and directory else Path("sessions")

    def action_season1(self) -> None:
        """Alpha Arena Season 1 (``arena_tui.season1``): replay its showcase journal when the sessions
        directory holds it (``sessions/alpha-arena-2025-10-28.jsonl`` ships in the repository), else
        run the preset that writes it. This session stops first, as ``q`` stops it."""
        from arena_tui.season1 import SESSION_NAME

        path = self.sessions_dir() / f"{SESSION_NAME}.jsonl"
        if path.is_file():
            self.open_journal(path)
            return
        self.next_journal = ("preset", Path("season1"))
        self._begin_quit("stopped to watch Alpha Arena Season 1")

    def open_journal(self, path: Path, *, follow: bool = False) -> None:
        """Replay (``follow``: follow) the journal at ``path`` next: this session stops as ``q`` stops
        it, the app closes, and the CLI opens ``next_journal``."""
        self.next_journal = ("follow" if follow else "replay", path)
        self._begin_quit("stopped to open another session")

    async def action_quit(self) -> None:
        """Stop the session (model calls are cancelled, the journal writes finish), then exit;
        ``q`` again exits at once."""
        self._begin_quit()

    def _on_signal(self, name: str) -> None:
        """Stop as ``q`` does; and if the process is still alive ``SIGNAL_EXIT_S`` later (after a
        SIGHUP the terminal is gone, and Textual's own shutdown can block on it), leave anyway: the
        journal is unbuffered and the session ends its cycle in well under a second."""
        if self.stopped_by_signal is None:
            import os
            import threading

            from arena_tui.engine.session import signal_status

            timer = threading.Timer(SIGNAL_EXIT_S, os._exit, (signal_status(name) or 1,))
            timer.daemon = True
            timer.start()
        self.stopped_by_signal = self.stopped_by_signal or name
        self._begin_quit(f"stopped by {name}")

    def _begin_quit(self, reason: str = "stopped by the user") -> None:
        """Quit within a second in every state: at once when the session has already ended, else
        after it has stopped (it cancels its model calls and closes its journal), at the latest after
        ``QUIT_TIMEOUT_S``."""
        if self._stopping or self._bridge_done:
            self.exit()
            return
        self._stopping = True
        self.console_screen.status.show("info", "Stopping: cancelling model calls, finishing this cycle's journal writes…")
        self.session.stop(reason)
        self.set_timer(QUIT_TIMEOUT_S, self.exit, name="quit timeout")


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and value > 0


def make_app(
    session: Session,
    *,
    theme: str | None = None,
    config_dir: str | Path | None = None,
    clock: Callable[[], float] | None = None,
    shipped_themes: Path | None = None,
    remember_theme: Callable[[str], None] | None = None,
) -> ArenaApp:
    """The console app for ``session``.

    ``theme``: a theme name (``arena-dark``, ``arena-light`` or ``light``, a user theme's name, or any
    Textual theme); unknown names fall back to ``arena-dark`` with a notice. ``config_dir``: where
    user themes are read from (``<config_dir>/themes/*.toml``); None reads none. ``clock``: wall clock,
    seconds since the epoch (default ``time.time``). ``shipped_themes``: another directory of shipped
    themes (tests). Themes are loaded here, once; broken files become notices on screen.
    ``remember_theme``: called with a theme chosen on screen (``t``), to keep it for the next start
    (``themes.remember_theme``; None: the choice is not kept, as in tests).
    """
    themes = load_themes(Path(config_dir) if config_dir is not None else None, shipped_dir=shipped_themes)
    return ArenaApp(session, themes=themes, theme_name=theme, clock=clock or time.time, remember_theme=remember_theme)
