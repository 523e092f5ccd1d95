"""``ReplaySession``: a recorded journal played back as a ``Session`` (with ``ReplayControls``).

The screen cannot tell a replay from a live session except by ``mode == "replay"``: the same events
reach the same sink. Playback paces the events on a virtual clock that runs at ``speed`` times wall
time while playing and stands still while paused:

- cycle ``k`` starts ``gap`` after cycle ``k-1``'s last event (the recorded pace between cycles: the
  recorded session's ``market.speed`` seconds, or its cycle interval for a live session, at most
  ``max_gap_s``; or ``cycle_gap_s`` when given);
- a ``ReasoningDelta`` comes ``offset_ms`` after its cycle started (the agent's own pace, so text
  streams again as it was written); ``CycleCompleted`` comes ``duration_ms`` after; every other event
  right after the one before it.

``step``/``seek`` jump between cycles: the session emits ``StateReset(target_cycle)``, the header,
then every event of cycles ``<= target`` at once, and carries on from there (playing or paused).
``cycle_now`` while playing skips the wait for the next cycle; while paused it plays the next
recorded cycle at the recorded pace and stays paused (as ``c`` does in a live session).
The journal's own ``SessionPaused``/``SessionResumed`` are left out; the replay emits its own when
you pause or play it, and ``is_recorded(event)`` tells the journal's events from the replay's own
(its notices, pauses, resets). No Textual here: this is engine code.
"""

from __future__ import annotations

import asyncio
import bisect
import inspect
import os
import time as _time
from typing import Callable, Sequence

from arena_tui.engine import events as ev
from arena_tui.engine.session import EventSink

DEFAULT_GAP_S = 2.0
"""Seconds between cycles (at speed 1) when the recording does not say."""


class ReplaySession:
    """Plays ``events`` (a journal without its header) after ``header``; or pass a journal's
    ``JournalContents`` (from ``journal.read_journal``) alone, whose warnings become notices.

    ``speed``: multiple of the recorded pace (> 0). ``cycle_gap_s``: seconds between cycles at speed 1
    (None = the recorded pace, capped at ``max_gap_s``). ``paused``: start paused. ``notices``:
    texts emitted as warning ``Notice`` events right after the header (e.g. the journal reader's
    warnings). ``clock``: monotonic seconds (injectable for tests).
    """

    mode = "replay"

    def __init__(
        self,
        header,
        events: Sequence[ev.Event] | None = None,
        *,
        speed: float = 1.0,
        cycle_gap_s: float | None = None,
        max_gap_s: float = 10.0,
        paused: bool = False,
        notices: Sequence[str] = (),
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        if not isinstance(header, ev.SessionStarted):  # a JournalContents
            contents = header
            header, events = contents.header, contents.events
            notices = (*notices, *contents.warnings)
        if speed <= 0:
            raise ValueError("replay speed must be > 0")
        self.header = header
        self.name = header.session
        self.events: list[ev.Event] = [
            e for e in (events or ()) if not isinstance(e, (ev.SessionPaused, ev.SessionResumed, ev.StateReset, ev.SessionStarted))
        ]
        self.speed = float(speed)
        self.gap_ms = 1000.0 * (cycle_gap_s if cycle_gap_s is not None else min(max_gap_s, _recorded_gap_s(header)))
        self.notices = tuple(notices)
        self.clock = clock
        self.cycle = 0
        self._recorded = {id(e) for e in self.events} | {id(header)}
        self._starts = [i for i, e in enumerate(self.events) if isinstance(e, ev.CycleStarted)]
        self._cycles = [self.events[i].cycle for i in self._starts]
        self.total_cycles = self._cycles[-1] if self._cycles else 0
        """The last recorded cycle number (cycles count from 1)."""
        self._due = self._schedule()
        self._cursor = 0
        self._playing = not paused
        self._step_end: int | None = None
        self._vt = 0.0
        self._vt_wall = clock()
        self._seek_target: int | None = None
        self._control: list[ev.Event] = []
        self._stopped = False
        self._wake: asyncio.Event | None = None
        self._last_time = header.time
        self._told_end = False

    @classmethod
    def from_journal(cls, path: str | os.PathLike[str], **kwargs) -> "ReplaySession":
        """A replay of the journal at ``path``; raises ``JournalError`` (one sentence) when unreadable."""
        from arena_tui.engine.journal import read_journal

        return cls(read_journal(path), **kwargs)

    # -- schedule ---------------------------------------------------------------------------------

    def _schedule(self) -> list[float]:
        due: list[float] = []
        t = 0.0
        cycle_start = 0.0
        first = True
        for e in self.events:
            if isinstance(e, ev.CycleStarted):
                if not first:
                    t += self.gap_ms
                first = False
                cycle_start = t
            elif isinstance(e, ev.ReasoningDelta):
                t = max(t, cycle_start + float(e.offset_ms))
            elif isinstance(e, ev.CycleCompleted):
                t = max(t, cycle_start + float(e.duration_ms))
            due.append(t)
        return due

    def _end_of(self, cycle: int) -> int:
        """Index just past the events of cycles <= ``cycle``."""
        k = bisect.bisect_right(self._cycles, cycle)
        return self._starts[k] if k < len(self._starts) else len(self.events)

    def _now_vt(self) -> float:
        if not self._playing and self._step_end is None:
            return self._vt
        return self._vt + (self.clock() - self._vt_wall) * 1000.0 * self.speed

    def _sync(self) -> None:
        self._vt = self._now_vt()
        self._vt_wall = self.clock()

    def _next_start(self) -> int | None:
        k = bisect.bisect_left(self._starts, self._cursor)
        return self._starts[k] if k < len(self._starts) else None

    # -- Session ----------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return not self._playing

    def next_cycle_in(self) -> float | None:
        """Wall seconds until the next recorded cycle starts; None when paused or at the end."""
        nxt = self._next_start()
        if not self._playing or nxt is None:
            return None
        return max(0.0, (self._due[nxt] - self._now_vt()) / (1000.0 * self.speed))

    def is_recorded(self, event: ev.Event) -> bool:
        """True when ``event`` (as emitted) is the recording's own (the header or a journal line);
        False for the events the replay sends itself: the reader's warnings, "End of the
        recording", its pauses, resumes and resets."""
        return id(event) in self._recorded

    def cycle_now(self) -> None:
        """Playing: skip the wait (the rest of the current cycle and the start of the next come at
        once). Paused: the same, then the next recorded cycle plays at the recorded pace and the
        replay stays paused, so each press shows one more cycle."""
        nxt = self._next_start()
        if nxt is not None:
            self._sync()
            self._vt = max(self._vt, self._due[nxt])
        if not self._playing and self._cursor < len(self.events):
            self._step_end = self._end_of(self.events[nxt].cycle) if nxt is not None else len(self.events)
            self._vt_wall = self.clock()
        self._poke()

    def pause(self) -> None:
        if self._playing:
            self._sync()
            self._playing = False
            self._control.append(ev.SessionPaused(self.cycle, self._last_time, "replay"))
            self._poke()

    def resume(self) -> None:
        if not self._playing:
            self._sync()
            self._step_end = None
            self._playing = True
            self._control.append(ev.SessionResumed(self.cycle, self._last_time, "replay"))
            self._poke()

    def stop(self) -> None:
        self._stopped = True
        self._poke()

    # -- ReplayControls ---------------------------------------------------------------------------

    def step(self, delta: int) -> None:
        """Jump ``delta`` cycles from the one on screen (clamped to 0..total_cycles)."""
        base = self._seek_target if self._seek_target is not None else self.cycle
        self.seek(base + delta)

    def seek(self, cycle: int) -> None:
        """Show the screen as it was at the end of ``cycle`` (0 = before the first cycle)."""
        self._seek_target = max(0, min(int(cycle), self.total_cycles))
        self._poke()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("replay speed must be > 0")
        self._sync()
        self.speed = float(speed)
        self._poke()

    # -- running ----------------------------------------------------------------------------------

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _emit(self, sink: EventSink, event: ev.Event) -> None:
        if event.time > 0:
            self._last_time = event.time
        result = sink(event)
        if inspect.isawaitable(result):
            await result

    async def _wait(self, timeout: float | None) -> None:
        assert self._wake is not None
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    async def run(self, sink: EventSink) -> None:
        """Emit the header, then play until ``stop()``; at the end of the recording it waits (the
        person may still step back)."""
        self._wake = asyncio.Event()
        await self._emit(sink, self.header)
        for text in self.notices:
            await self._emit(sink, ev.Notice(0, self.header.time, "warning", text))
        if not self._playing:
            await self._emit(sink, ev.SessionPaused(0, self.header.time, "replay"))
        self._vt_wall = self.clock()
        while not self._stopped:
            self._wake.clear()
            if self._seek_target is not None:
                await self._seek(sink, self._seek_target)
                continue
            if self._control:
                control, self._control = self._control, []
                for event in control:
                    await self._emit(sink, event)
                continue
            if self._cursor >= len(self.events):
                if not self._told_end:
                    self._told_end = True
                    await self._emit(
                        sink,
                        ev.Notice(self.cycle, self._last_time, "info", f"End of the recording ({self.total_cycles} cycles): ← or home to look back."),
                    )
                await self._wait(None)
                continue
            if not self._playing and self._step_end is None:
                await self._wait(None)
                continue
            delay = (self._due[self._cursor] - self._now_vt()) / (1000.0 * self.speed)
            if delay > 0.0005:
                await self._wait(delay)
                continue
            event = self.events[self._cursor]
            self._cursor += 1
            if isinstance(event, ev.CycleStarted):
                self.cycle = event.cycle
            if self._step_end is not None and self._cursor >= self._step_end:
                self._sync()  # the step is done: the clock stands still again
                self._step_end = None
            await self._emit(sink, event)

    async def _seek(self, sink: EventSink, target: int) -> None:
        self._seek_target = None
        self._step_end = None
        end = self._end_of(target)
        await self._emit(sink, ev.StateReset(self.cycle, self._last_time, target))
        await self._emit(sink, self.header)
        self.cycle = 0
        for event in self.events[:end]:
            if isinstance(event, ev.CycleStarted):
                self.cycle = event.cycle
            await self._emit(sink, event)
        self._cursor = end
        self._told_end = False
        self._vt = self._due[end - 1] if end > 0 else 0.0
        self._vt_wall = self.clock()


def _recorded_gap_s(header: ev.SessionStarted) -> float:
    """The recorded pace between cycles: ``market.speed`` of a recorded session, the cycle interval of
    a live one, else ``DEFAULT_GAP_S``."""
    market = header.config.get("market", {}) if isinstance(header.config, dict) else {}
    if header.mode == "recorded":
        speed = market.get("speed")
        if isinstance(speed, (int, float)) and speed > 0:
            return float(speed)
        return DEFAULT_GAP_S
    if header.cycle_interval_ms and header.cycle_interval_ms > 0:
        return header.cycle_interval_ms / 1000.0
    return DEFAULT_GAP_S
