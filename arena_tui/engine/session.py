"""The ``Session`` protocol: what the screen drives. Live arenas and journal replays both implement it.

The screen calls ``run(sink)`` once (in a worker) and renders every event passed to ``sink``; it sends
only commands: ``cycle_now()``, ``pause()``, ``resume()`` and ``stop()`` (plus the replay controls of
``ReplayControls`` when ``mode == "replay"``).
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from arena_tui.engine.events import Event
from arena_tui.engine.state import ArenaState

EventSink = Callable[[Event], None]
"""Receives each event; a plain callable that must not block (the screen queues, headless prints)."""


@runtime_checkable
class Session(Protocol):
    """A running source of events.

    ``mode``: "live" (exchange), "recorded" (bundled market on a simulated clock) or "replay".
    ``name``: the session name shown in the header. ``paused``: True while paused.
    ``next_cycle_in()``: seconds until the next scheduled cycle, or None (paused / as fast as possible).
    ``state``: the ``ArenaState`` fold of every event emitted so far (folded before ``sink`` sees the
    event): what the screen's tables and the headless summary show.
    """

    mode: str
    name: str
    state: ArenaState

    @property
    def paused(self) -> bool: ...

    def next_cycle_in(self) -> float | None: ...

    async def run(self, sink: EventSink) -> None:
        """Run until stopped, the cycles are done or the data ends; every event goes to ``sink``."""
        ...

    def cycle_now(self) -> None:
        """Start a cycle now (coalesced with a running one: never two at once)."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self, reason: str = "stopped by the user") -> None:
        """End ``run`` soon: cancel what is in flight, finish the running cycle's journal writes;
        ``reason`` is the end recorded (live sessions)."""
        ...


@runtime_checkable
class ReplayControls(Protocol):
    """Extra controls of a replay session: move between recorded cycles and set the pace."""

    cycle: int
    total_cycles: int
    speed: float

    def step(self, delta: int) -> None:
        """Jump ``delta`` cycles forward (+1) or back (-1); the session re-emits from a reset."""
        ...

    def seek(self, cycle: int) -> None: ...

    def set_speed(self, speed: float) -> None: ...


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
"""Signals that stop a session as ``q`` does: model calls cancelled, the journal ended whole. (On the
screen, Ctrl-C is a key; SIGINT then only comes from ``kill``.)"""


def catch_stop_signals(on_signal: Callable[[str], None]) -> Callable[[], None]:
    """Call ``on_signal(name)`` on the running loop for each of ``STOP_SIGNALS`` this platform has;
    returns the function that removes the handlers again. Where the loop cannot take signal handlers
    (not the main thread, Windows) nothing is installed."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for name in STOP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            loop.add_signal_handler(signum, on_signal, name)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(signum)

    def remove() -> None:
        for signum in installed:
            loop.remove_signal_handler(signum)
        installed.clear()

    return remove


def signal_status(name: str | None) -> int | None:
    """The exit status for a stop by signal ``name``: 128 + its number ("SIGINT" -> 130); None for None."""
    if name is None:
        return None
    import signal

    return 128 + int(getattr(signal, name, signal.SIGTERM))
