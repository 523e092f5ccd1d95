"""The one-line session header: mode, session name, clocks, cycle, countdown and run state."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Label

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui import formatting as fmt


class SessionHeader(Horizontal):
    """``LIVE | RECORDED | REPLAY``, the session name, the simulated clock and the wall clock (UTC),
    the cycle (``12/48`` and the speed in a replay), the countdown to the next cycle and
    ``RUNNING / PAUSED / ENDED`` (``STOPPED``: a followed session's writer is gone). The app sets the reactives; the widget only draws them.

    The session name and source come from a config or a journal: every label is drawn as plain
    ``Content`` of ``safe_line`` of its text, never as markup."""

    DEFAULT_CSS = """
    SessionHeader {
        height: 1;
        width: 1fr;
        background: $panel;
        & > Label { padding: 0 1; height: 1; }
        & > #mode { width: 10; text-align: center; text-style: bold; color: $background; background: $arena-recorded; }
        & > #mode.-live { background: $arena-live; }
        & > #mode.-replay { background: $arena-replay; }
        & > #name { width: 1fr; text-style: bold; text-overflow: ellipsis; text-wrap: nowrap; }
        & > #sim { color: $text; width: 24; }
        & > #wall { color: $text-muted; width: 20; }
        & > #cycle { color: $text; }
        & > #countdown { color: $text-muted; width: 12; }
        & > #state { text-style: bold; color: $background; background: $success; width: 10; content-align: center middle; }
        & > #state.-paused { background: $warning; }
        & > #state.-ended { background: $foreground-muted; }
        & > #state.-stopped { background: $error; }
        &.-tight > #wall { display: none; }
    }
    """

    mode: reactive[str] = reactive("recorded")
    """Session mode: ``live``, ``recorded`` or ``replay``."""
    session_name: reactive[str] = reactive("")
    """Shown after the mode; ``source`` adds the market source in a muted tone."""
    source: reactive[str] = reactive("")
    """The market source of the session (bundled data or exchange)."""
    sim_time: reactive[int] = reactive(0)
    """The simulated (or live) clock of the last event, ms since the epoch."""
    wall_time: reactive[float] = reactive(0.0)
    """The wall clock, seconds since the epoch (from the app's injected clock)."""
    cycle: reactive[int] = reactive(0)
    """The cycle on screen."""
    total_cycles: reactive[int] = reactive(0)
    """Cycles in the recording (replay only; 0 otherwise)."""
    speed: reactive[float] = reactive(1.0)
    """Replay speed multiple."""
    countdown: reactive[float | None] = reactive(None)
    """Seconds until the next cycle, None when none is scheduled."""
    state: reactive[str] = reactive("starting")
    """``starting``, ``running``, ``paused``, ``ended`` or ``stopped`` (``--follow``: the journal's
    writer is gone without an end event)."""

    _IDS = ("mode", "name", "sim", "wall", "cycle", "countdown", "state")

    def __init__(self, *, mode: str = "recorded", id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(SessionHeader.mode, mode)
        self._shown = self._texts()
        self._labels = {name: Label(Content(safe_line(self._shown[name])), id=name) for name in self._IDS}
        """Held from the start: drawing never queries the DOM (nor fails while the app closes). Each
        holds its text from the start, so the first frame shows the mode and the clocks."""
        self._mode_classes(self._labels["mode"])

    def compose(self) -> ComposeResult:
        yield from self._labels.values()

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._fit()

    NAME_MIN = 14
    """Columns the session name keeps before the wall clock gives way (``-tight``)."""

    def _fit(self) -> None:
        """Leave the wall clock out (``-tight``) when the labels would squeeze the session name
        under ``NAME_MIN`` columns (a replay's cycle label is longer: ``cycle 36/36 · 50x``). The
        fixed widths are the labels' CSS ones (``DEFAULT_CSS``); the cycle's is its text's."""
        width = self.size.width
        if not width:
            return
        fixed = len(self._shown.get("cycle", "")) + 2  # (its padding)
        for id in self._FIXED:
            w = self._labels[id].styles.width
            fixed += (w.cells or 0) if w is not None else 0
        self.set_class(width - fixed < self.NAME_MIN, "-tight")

    def _label(self, id: str) -> Label:
        return self._labels[id]

    _FIXED = frozenset({"mode", "sim", "wall", "countdown", "state"})

    def _put(self, id: str, text: str) -> None:
        """Set label ``id`` when its text changes; fixed-width labels (mode, clocks, countdown, state)
        skip the re-layout, so the clock ticking never re-lays out the screen (and an 80-column
        header never squeezes the mode to nothing). ``text`` is made safe (``safe_line``) and drawn
        as plain ``Content`` (what ``Label`` makes of a ``str`` without markup)."""
        if self._shown.get(id) == text:
            return
        self._shown[id] = text
        self._label(id).update(Content(safe_line(text)), layout=id not in self._FIXED)

    def _texts(self) -> dict[str, str]:
        """Each label's text for the reactives' values now."""
        if self.mode == "replay":
            cycle = f"cycle {self.cycle}/{self.total_cycles} · {self.speed:g}x"
        else:
            cycle = f"cycle {self.cycle}"
        return {
            "mode": self.mode.upper(),
            "name": self.session_name or "arena-tui",
            "sim": fmt.sim_time(self.sim_time) if self.sim_time else ("reading journal" if self.mode in ("replay", "follow") else "waiting for market"),
            "wall": f"wall {fmt.wall_time(self.wall_time)}" if self.wall_time else "",
            "cycle": cycle,
            "countdown": f"next {fmt.countdown(self.countdown)}",
            "state": self.state.upper(),
        }

    def _mode_classes(self, label: Label) -> None:
        for name in ("live", "recorded", "replay"):
            label.set_class(self.mode == name, f"-{name}")

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        self._mode_classes(self._label("mode"))
        self._label("name").tooltip = Content(safe_line(self.source)) if self.source else None
        state = self._label("state")
        state.set_class(self.state == "paused", "-paused")
        state.set_class(self.state == "ended", "-ended")
        state.set_class(self.state == "stopped", "-stopped")
        for id, text in self._texts().items():
            self._put(id, text)
        self._fit()

    # every reactive redraws (unchanged labels are skipped)
    watch_mode = watch_session_name = watch_source = watch_sim_time = watch_wall_time = _draw
    watch_cycle = watch_total_cycles = watch_speed = watch_countdown = watch_state = _draw
