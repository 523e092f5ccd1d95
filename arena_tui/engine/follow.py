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
following with one notice saying what happened; the screen stays up with what it showed. A journal
without its end event whose writer is gone (killed, crashed: its lock file names a dead process, or
is removed) gets one notice saying where the session stopped and that ``--resume`` continues it;
following goes on: a resume appends to the same file, after cutting the unfinished cycle away,
which the follower reads as a shorter journal with the same header: it reads it again from there. No Textual
here: this is engine code.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from pathlib import Path

from arena_tui.engine import events as ev
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import _decode_problem, _loads, fcntl, journal_in_use, open_journal
from arena_tui.engine.replay import SUMMARY_CYCLES, SUMMARY_NOTICES, TAIL_CYCLES
from arena_tui.engine.session import EventSink
from arena_tui.engine.state import ArenaState

POLL_S = 0.1
"""Seconds between looks at the journal for new lines (new events reach the screen within this)."""
READ_BYTES = 1 << 20
"""Most bytes read per look (a long catch-up is read in slices, yielding to the screen between)."""
WRITER_CHECK_S = 1.0
"""Seconds between looks, while nothing new is written, at whether the journal's writer still runs."""


class FollowSession:
    """A ``Session`` (``mode == "follow"``) that shows a journal as another process writes it.

    ``path``: the journal; raises ``JournalError`` (one sentence) now when it cannot be read as one.
    ``poll_s``: seconds between looks for new lines. ``state`` is the fold of every event read so far.
    ``cycle_now``, ``pause`` and ``resume`` do nothing (read-only); ``stop`` ends ``run``."""

    mode = "follow"

    def __init__(self, path: str | os.PathLike[str], *, poll_s: float = POLL_S, writer_check_s: float = WRITER_CHECK_S) -> None:
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
        self.writer_check_s = writer_check_s
        self._checked_writer = time.monotonic()  # (the first look: writer_check_s after this)
        self._told_gone = False
        self._shrunk = False
        self._history: dict[int, ev.Event] = {}
        """The notices sent by the catch-up (by ``id``): written before following began."""

    def is_recorded(self, event: ev.Event) -> bool:
        """True for a notice the catch-up sent: the journal held it before following began, so the
        screen shows it as history (muted, ``recorded:``, no toast), not as news."""
        return self._history.get(id(event)) is event

    @property
    def writer_gone(self) -> bool:
        """The journal has no end event and no process writes it any more (said once in a notice;
        False again once it grows: a ``--resume``). The header shows STOPPED meanwhile."""
        return self._told_gone

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
            self._shrunk = True  # (run reads it again from its header: a --resume cut its unfinished cycle)
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
        """Catch up with the journal, then pass on each new event as it is appended, until ``stop``.
        A journal cut shorter than what was read (``--resume`` moves a killed session's unfinished
        cycle aside, then appends) is read again from its header when that header is the same:
        ``StateReset``, then the catch-up, then on as before; any other change ends following."""
        self._wake = asyncio.Event()
        reset = False
        while True:
            with open(self.path, "rb") as fh:
                await self._catch_up(fh, sink, reset=reset)
                if reset:
                    sink(ev.Notice(self.state.cycles_completed, self.state.time, "info",
                                   f"{self.path} was cut back to cycle {self.state.completed_cycle} (a --resume sets an unfinished cycle aside); following it from there."))
                await self._follow(fh, sink)
            if not self._shrunk or self._stopped or self._ended_reason is not None:
                break
            reset = self._restart()
            if not reset:
                break
        if self._ended_reason is not None and not self._stopped:
            sink(ev.Notice(self.state.cycles_completed, self.state.time, "warning", self._ended_reason))

    async def _follow(self, fh, sink: EventSink) -> None:
        """Pass on each new event as it is appended, until ``stop``, an end or the file shrinks."""
        assert self._wake is not None
        while not self._stopped and self._ended_reason is None and not self._shrunk:
            events = self._read(fh)
            for e in events:
                self._send(e, sink)
            if self._ended_reason is not None or self._shrunk:
                break
            if not events:
                self._check_writer(sink)
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                except TimeoutError:
                    pass
            else:
                self._told_gone = False  # (written again: a --resume)
                await asyncio.sleep(0)

    def _restart(self) -> bool:
        """After the journal shrank: read it again from its header, when it is the same session's
        (same header); else end following with a notice. True when reading starts over."""
        self._shrunk = False
        try:
            with open_journal(self.path) as stream:
                same = stream.header == self.header
                if same:
                    self._decoder, self._offset, self._line = stream.decoder, stream.offset, stream.line
        except JournalError:
            same = False
        if not same:
            self._ended_reason = f"{self.path} is now shorter than what was read (it was cut or replaced); stopped following it."
            return False
        self.state = ArenaState(self.header)
        self.events_read = 0
        self._told_gone = False
        return True

    def _check_writer(self, sink: EventSink) -> None:
        """While nothing new comes (every ``writer_check_s``): a journal without its end event whose
        writer is gone (its lock file left with a dead pid, or removed) will not grow any more; say
        so once, and keep following (``--resume`` writes to it again). Not where the file system has
        no locks (no ``fcntl``, or a lock file without a pid): nothing tells a writer's end there."""
        if self._told_gone or self.state.ended is not None or fcntl is None:
            return
        now = time.monotonic()
        if now - self._checked_writer < self.writer_check_s:
            return
        self._checked_writer = now
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            pid = lock.read_bytes()[:32].strip()
        except FileNotFoundError:
            pid = b"gone"  # its writer closed it (a session ends with its end event, or failed to write)
        except OSError:
            return
        if not pid or journal_in_use(self.path):
            return
        self._told_gone = True
        s = self.state
        where = (f"inside cycle {s.cycle}" if s.cycle > s.completed_cycle
                 else f"after cycle {s.completed_cycle}" if s.completed_cycle else "before its first cycle")
        sink(ev.Notice(s.cycles_completed, s.time, "warning",
                       f"No process is writing {self.path} any more and it has no end event: the session stopped {where} "
                       f"(a crash or a kill); arena-tui --resume {self.path} continues it."))

    def _send(self, e: ev.Event, sink: EventSink) -> None:
        if isinstance(e, ev.SessionStarted):
            return  # a resumed session's repeated header
        self.state.apply(e)
        self.events_read += 1
        sink(e)

    async def _catch_up(self, fh, sink: EventSink, *, reset: bool = False) -> None:
        """Fold what the journal holds before its last ``TAIL_CYCLES`` cycles without drawing it,
        then send the header, recent notices, the summary cycles and the tail (module docstring);
        ``reset``: a ``StateReset`` first (the screen forgets what it showed)."""
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
        self._history = {id(e): e for e in (*before, *notices, *(e for chunk in tail for e in chunk)) if type(e) is ev.Notice}
        if reset:
            sink(ev.StateReset(self.state.cycle, self.state.time, tail[-1][0].cycle if tail else 0))
        sink(self.header)
        for e in before:
            self._send(e, sink)
        for e in (*notices, *summary):
            sink(e)  # folded above
        for chunk in tail:
            for e in chunk:
                self._send(e, sink)
