"""``FollowSession``: a read-only view of a session another process is running, by tailing its journal.

``arena-tui --follow FILE`` shows what ``arena-tui`` (or ``--headless``) writing ``FILE`` shows, on the
same screen and through the same fold: the events are read from the journal as they are appended and
passed to the screen as they come (a line is read only once it is whole: a line being written is
waited for). Nothing is sent back: the followed session is not paused, stepped or stopped from here.

Catching up. When following starts the journal may already hold a long session: everything before
its last ``TAIL_CYCLES`` cycles is folded into the state without being drawn, then the screen gets
the header, the last recorded notices, the ``CycleCompleted`` of the cycles before the tail (the
leaderboard's equity lines) and the tail's events whole (the agent panes), as a replay's jump does
(``replay``). Then new events are sent as they are read, polling the file every ``poll_s`` seconds.

A journal that stops making sense (a corrupt line, a file cut shorter than what was read) ends the
following with one notice saying what happened; the screen stays up with what it showed. No Textual
here: this is engine code.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from pathlib import Path

from arena_tui.engine import events as ev
from arena_tui.engine.journal import _decode_problem, _loads, open_journal
from arena_tui.engine.replay import SUMMARY_CYCLES, SUMMARY_NOTICES, TAIL_CYCLES
from arena_tui.engine.session import EventSink
from arena_tui.engine.state import ArenaState

POLL_S = 0.1
"""Seconds between looks at the journal for new lines (new events reach the screen within this)."""
READ_BYTES = 1 << 20
"""Most bytes read per look (a long catch-up is read in slices, yielding to the screen between)."""


class FollowSession:
    """A ``Session`` (``mode == "follow"``) that shows a journal as another process writes it.

    ``path``: the journal; raises ``JournalError`` (one sentence) now when it cannot be read as one.
    ``poll_s``: seconds between looks for new lines. ``state`` is the fold of every event read so far.
    ``cycle_now``, ``pause`` and ``resume`` do nothing (read-only); ``stop`` ends ``run``."""

    mode = "follow"

    def __init__(self, path: str | os.PathLike[str], *, poll_s: float = POLL_S) -> None:
        self.path = Path(path)
        with open_journal(self.path) as stream:
            self.header = stream.header
            self._decoder = stream.decoder
            self._offset = stream.offset
            self._line = stream.line
        self.name = self.header.session
        self.state = ArenaState(self.header)
        self.poll_s = poll_s
        self.events_read = 0
        self._stopped = False
        self._wake: asyncio.Event | None = None
        self._ended_reason: str | None = None

    # -- the Session protocol ---------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return False

    def next_cycle_in(self) -> float | None:
        return None

    def cycle_now(self) -> None:
        """Read-only: the followed session runs its own cycles."""

    def pause(self) -> None:
        """Read-only."""

    def resume(self) -> None:
        """Read-only."""

    def stop(self, reason: str = "stopped by the user") -> None:
        self._stopped = True
        if self._wake is not None:
            self._wake.set()

    # -- reading ----------------------------------------------------------------------------------

    def _read(self, fh) -> list[ev.Event]:
        """The events of the whole lines appended since the last read (at most ``READ_BYTES``); a
        line still being written is left for the next read. Sets ``_ended_reason`` when the journal
        stops making sense."""
        size = os.fstat(fh.fileno()).st_size
        if size < self._offset:
            self._ended_reason = f"{self.path} is now shorter than what was read (it was cut or replaced); stopped following it."
            return []
        if size == self._offset:
            return []
        fh.seek(self._offset)
        chunk = fh.read(min(size - self._offset, READ_BYTES))
        end = chunk.rfind(b"\n")
        if end < 0:
            return []  # not a whole line yet
        out: list[ev.Event] = []
        decode = self._decoder.events
        start = 0
        for raw in chunk[: end + 1].split(b"\n")[:-1]:
            raw += b"\n"
            self._line += 1
            if raw.isspace():
                start += len(raw)
                continue
            try:
                out.extend(decode(_loads(raw)))
            except (ValueError, RecursionError) as exc:
                self._ended_reason = (
                    f"{self.path} line {self._line} is corrupt ({_decode_problem(exc)}); stopped following it (what came before is shown)."
                )
                self._offset += start
                return out
            start += len(raw)
        self._offset += end + 1
        return out

    async def run(self, sink: EventSink) -> None:
        """Catch up with the journal, then pass on each new event as it is appended, until ``stop``."""
        self._wake = asyncio.Event()
        with open(self.path, "rb") as fh:
            await self._catch_up(fh, sink)
            while not self._stopped and self._ended_reason is None:
                events = self._read(fh)
                for e in events:
                    self._send(e, sink)
                if self._ended_reason is not None:
                    break
                if not events:
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.poll_s)
                    except TimeoutError:
                        pass
                else:
                    await asyncio.sleep(0)
        if self._ended_reason is not None and not self._stopped:
            sink(ev.Notice(self.state.cycles_completed, self.state.time, "warning", self._ended_reason))

    def _send(self, e: ev.Event, sink: EventSink) -> None:
        if isinstance(e, ev.SessionStarted):
            return  # a resumed session's repeated header
        self.state.apply(e)
        self.events_read += 1
        sink(e)

    async def _catch_up(self, fh, sink: EventSink) -> None:
        """Fold what the journal holds before its last ``TAIL_CYCLES`` cycles without drawing it,
        then send the header, recent notices, the summary cycles and the tail (module docstring)."""
        base = self.state
        tail: deque[list[ev.Event]] = deque()
        before: list[ev.Event] = []  # events before the first cycle
        notices: deque[ev.Event] = deque(maxlen=SUMMARY_NOTICES)
        summary: deque[ev.Event] = deque(maxlen=SUMMARY_CYCLES)
        while not self._stopped:
            events = self._read(fh)
            if not events:
                break
            for e in events:
                if isinstance(e, ev.SessionStarted):
                    continue
                if isinstance(e, ev.CycleStarted):
                    tail.append([e])
                    if len(tail) > TAIL_CYCLES:
                        for old in before:  # what came before cycle 1 is folded first
                            base.apply(old)
                            self.events_read += 1
                            if isinstance(old, ev.Notice):
                                notices.append(old)
                        before.clear()
                        for old in tail.popleft():  # out of the tail: folded, not drawn
                            base.apply(old)
                            self.events_read += 1
                            if isinstance(old, ev.CycleCompleted):
                                summary.append(old)
                            elif isinstance(old, ev.Notice):
                                notices.append(old)
                elif tail:
                    tail[-1].append(e)
                else:
                    before.append(e)
            await asyncio.sleep(0)
            if self._ended_reason is not None:
                break
        sink(self.header)
        for e in before:
            self._send(e, sink)
        for e in (*notices, *summary):
            sink(e)  # folded above
        for chunk in tail:
            for e in chunk:
                self._send(e, sink)
