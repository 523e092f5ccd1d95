"""``Bus``: the one fan-out of a session's events: the state fold first, then the journal, then the
screen (or whatever else listens).

Reasoning deltas go to the listeners as they arrive and to the journal coalesced into ~100 ms chunks
(``journal.DeltaCoalescer``); the state ignores them.
"""

from __future__ import annotations

from typing import Callable, Protocol

from arena_tui.engine import events as ev
from arena_tui.engine.journal import DeltaCoalescer
from arena_tui.engine.state import ArenaState

Listener = Callable[[ev.Event], None]


class Writer(Protocol):
    def write(self, event: ev.Event) -> None: ...


class Bus:
    """``publish(event)`` folds ``event`` into ``state``, writes it to ``journal`` (when set) and
    passes it to each listener, in that order. Listeners are plain callables that must not block."""

    def __init__(self, state: ArenaState | None = None, journal: Writer | None = None, listeners: tuple[Listener, ...] = ()) -> None:
        self.state = state if state is not None else ArenaState()
        self.journal = journal
        self.listeners: list[Listener] = list(listeners)
        self._coalescer = DeltaCoalescer(self._journal_delta)

    def publish(self, event: ev.Event) -> None:
        self.state.apply(event)
        if self.journal is not None:
            self.journal.write(event)
        for listen in self.listeners:
            listen(event)

    def show(self, event: ev.Event) -> None:
        """A display-only event (``events.DISPLAY_ONLY``: progress, a price preview): to the
        listeners only, never folded into the state or journaled."""
        for listen in self.listeners:
            listen(event)

    def delta(self, event: ev.ReasoningDelta) -> None:
        """A piece of streamed text: to the listeners now, to the journal coalesced."""
        for listen in self.listeners:
            listen(event)
        if self.journal is not None:
            self._coalescer.add(event)

    def flush_deltas(self, agent: str | None = None) -> None:
        """Journal the pending coalesced text of ``agent`` (all agents when None)."""
        self._coalescer.flush(agent)

    def _journal_delta(self, event: ev.Event) -> None:
        if self.journal is not None:
            self.journal.write(event)
