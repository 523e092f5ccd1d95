"""A session built after the first frame.

Building a session is most of what ``arena-tui`` did before it could draw anything: reading the
bundled market (numpy), importing the engine, the agents and their SDKs' wrappers. None of it is
needed to draw the first frame, which shows an empty console (the header's mode, empty tables,
the footer's keys); so the CLI hands the app a ``StartingSession`` instead, which stands in for
the session and builds it in a thread once the app runs it (after its first frame), then runs it.

Until the session is built, the commands the screen sends are kept (pause, resume, a cycle now, the
replay speed) and given to it once it has started; a stop before then ends the start (nothing is
run, no journal is written). A build that fails (a user's error, ``ArenaError``, or a bug) raises
``StartFailed`` from ``run``: the app closes at once and the CLI reports the error as it did when
it built the session before the screen.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # (the engine is imported by the build, after the first frame)
    from arena_tui.engine.events import Event
    from arena_tui.engine.session import EventSink, Session
    from arena_tui.engine.state import ArenaState


class StartFailed(Exception):
    """Building the session failed; ``error`` is what the build raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class StartingSession:
    """The ``Session`` (and, with ``mode == "replay"``, ``ReplayControls``) the app runs while
    ``build()`` makes the real one. ``build`` runs in a thread of its own (it must not touch the
    event loop); ``session`` is what it returned, once it has (``started`` once its ``run`` began).
    ``speed``: a replay's speed until it is built."""

    def __init__(self, mode: str, name: str, build: Callable[[], Session], *, speed: float = 1.0) -> None:
        self.mode = mode
        self.name = name
        self._build = build
        self.session: Session | None = None
        """The session, once built."""
        self.started: Session | None = None
        """The session once its ``run`` has begun (None when the start was stopped or failed)."""
        self._paused = False
        self._speed = speed
        self._kept: list[Callable[[Session], None]] = []
        self._stop_reason: str | None = None
        self._stopped: asyncio.Event | None = None
        self._built: asyncio.Future[Session] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sink: EventSink | None = None
        self._progress: str | None = None

    # -- Session -----------------------------------------------------------------------------------

    @property
    def state(self) -> ArenaState | None:
        """The session's state; None before it is built (the screen shows empty tables)."""
        return self.session.state if self.session is not None else None

    @property
    def paused(self) -> bool:
        return self.session.paused if self.session is not None else self._paused

    def next_cycle_in(self) -> float | None:
        return self.started.next_cycle_in() if self.started is not None else None

    def _command(self, command: Callable[[Session], None]) -> None:
        """Send ``command`` to the running session, or keep it for when it runs."""
        if self.started is not None:
            command(self.started)
        else:
            self._kept.append(command)

    def cycle_now(self) -> None:
        self._command(lambda s: s.cycle_now())

    def pause(self) -> None:
        if self.started is None:
            self._paused = True
        self._command(lambda s: s.pause())

    def resume(self) -> None:
        if self.started is None:
            self._paused = False
        self._command(lambda s: s.resume())

    def stop(self, reason: str = "stopped by the user") -> None:
        if self.started is not None:
            self.started.stop(reason)
            return
        if self._stop_reason is None:
            self._stop_reason = reason
        if self._stopped is not None:
            self._stopped.set()

    def start_building(self) -> None:
        """Start building the session in its thread now (the app calls this right after its first
        frame; ``run`` starts it otherwise). Once only; not after a stop."""
        if self._built is not None or self._stop_reason is not None:
            return
        loop = self._loop = asyncio.get_running_loop()
        built: asyncio.Future[Session] = loop.create_future()
        self._built = built

        def deliver(result: Session | None, error: BaseException | None) -> None:
            if built.done():
                return
            if error is not None:
                built.set_exception(error)
            else:
                built.set_result(result)  # type: ignore[arg-type]

        def build() -> None:
            try:
                result, error = self._build(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the loop, raised there
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(deliver, result, error)
            except RuntimeError:
                pass  # the app has closed meanwhile

        threading.Thread(target=build, name="arena-tui session start", daemon=True).start()

    def report(self, text: str) -> None:
        """From the build's thread: say how the start is going (``text``, one line, such as how much
        of a journal is read). The screen shows it as a progress line until the session is built."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._show_progress, text)
        except RuntimeError:
            pass  # the app has closed meanwhile

    def _show_progress(self, text: str | None) -> None:
        """(On the loop.) The build's latest word, as a ``Progress`` event ("start"); None: over."""
        from arena_tui.engine import events as ev

        if text is None and self._progress is None:
            return
        if self._built is not None and self._built.done() and text is not None:
            return  # (a word that comes after the build is over)
        self._progress = text
        if self._sink is not None:
            self._sink(ev.Progress(0, 0, "start", text or "", done=text is None))

    async def run(self, sink: EventSink) -> None:
        """Build the session in a thread (unless ``start_building`` has), then run it with
        ``sink``; a stop first ends this at once (the build is left to finish on its own and is
        never run). What the build ``report``s shows meanwhile."""
        self._stopped = asyncio.Event()
        if self._stop_reason is not None:
            return
        self._sink = sink
        if self._progress is not None:
            self._show_progress(self._progress)
        self.start_building()
        built = self._built
        assert built is not None
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({built, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            self._show_progress(None)
        if self._stop_reason is not None or not built.done():
            if not built.done():
                built.cancel()  # (the thread's result, when it comes, is dropped)
            elif not built.cancelled():
                built.exception()  # stopped anyway: a failed build is of no interest now
            return
        try:
            session = built.result()
        except Exception as exc:
            raise StartFailed(exc) from exc
        self.session = session
        if self.mode == "replay" and self._speed != getattr(session, "speed", self._speed):
            session.set_speed(self._speed)  # type: ignore[attr-defined]
        task = asyncio.ensure_future(session.run(sink))
        self.started = session
        await asyncio.sleep(0)  # the session has begun (its header is out): now the kept commands
        kept, self._kept = self._kept, []
        for command in kept:
            command(session)
        await task

    # -- ReplayControls (a replay's keys; before it is built they do nothing) ----------------------

    @property
    def cycle(self) -> int:
        return int(getattr(self.session, "cycle", 0))

    @property
    def total_cycles(self) -> int:
        return int(getattr(self.session, "total_cycles", 0))

    @property
    def speed(self) -> float:
        return float(getattr(self.session, "speed", self._speed))

    def step(self, delta: int) -> None:
        if self.started is not None:
            self.started.step(delta)  # type: ignore[attr-defined]

    def seek(self, cycle: int) -> None:
        if self.started is not None:
            self.started.seek(cycle)  # type: ignore[attr-defined]

    def set_speed(self, speed: float) -> None:
        if self.session is not None:
            self.session.set_speed(speed)  # type: ignore[attr-defined]
        else:
            self._speed = speed

    def is_recorded(self, event: Event) -> bool:
        """A replay's ``is_recorded`` (False before it is built)."""
        check = getattr(self.session, "is_recorded", None)
        return bool(check(event)) if check is not None else False

    def __getattr__(self, name: str) -> Any:
        """Anything else the session has (``journal_path``, ``outcome``...), once it is built."""
        session = self.__dict__.get("session")
        if session is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(session, name)
