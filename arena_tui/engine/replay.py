"""``ReplaySession``: a recorded journal played back as a ``Session`` (with ``ReplayControls``).

The screen cannot tell a replay from a live session except by ``mode == "replay"``: the same events
reach the same sink, and ``state`` is the same ``ArenaState`` fold. Playback paces the events on a
virtual clock that runs at ``speed`` times wall time while playing and stands still while paused:

- cycle ``k`` starts ``gap`` after cycle ``k-1``'s last event (the recorded pace between cycles: the
  recorded session's ``market.speed`` seconds, or its cycle interval for a live session, at most
  ``max_gap_s``; or ``cycle_gap_s`` when given);
- a ``ReasoningDelta`` comes ``offset_ms`` after its cycle started (the agent's own pace, so text
  streams again as it was written); ``CycleCompleted`` comes ``duration_ms`` after; every other event
  right after the one before it.

Reading. ``from_journal(path)`` reads the journal once, as a stream (``journal.open_journal``), and
keeps only a small index: per recorded cycle the byte offset of its ``CycleStarted`` line, its
number, how many events it holds and when it starts and ends on the virtual clock (a few arrays of
numbers), plus at most ``CHECKPOINTS`` pickled states folded on the way and at most ``CONTEXTS``
reader contexts (a compact journal's lines are read against the ones before them). Playing reads
one cycle at a time from the file, so memory does not grow with the journal's length (the state's
own record of closed trades aside). A last cycle the journal ends inside (a crash, a kill, a full
disk) is left out with a notice, as the report, the export and ``--replay FILE --headless`` leave it
out (``state.CompleteCycles``): every view of a journal ends at the state of its last complete cycle.

Jumps. ``step``/``seek`` to a cycle at most ``TAIL_CYCLES`` ahead play the cycles in between at
once, as playing on would have shown them. Any other jump folds every recorded cycle up to the
target into a new ``ArenaState`` (from the nearest checkpoint before it, or a copy of the current
state when that is nearer), straight from the file, then sends the screen only what it shows:
``StateReset(target_cycle)``, the header, the last ``SUMMARY_NOTICES`` recorded notices and the
``CycleCompleted`` of up to ``SUMMARY_CYCLES`` cycles before the last ``TAIL_CYCLES`` (for the
leaderboard's equity lines), then those last cycles' events whole (for the agent panes), folded one
by one as they are sent. The screen's tables draw ``state``. ``cycle_now`` while playing skips the
wait for the next cycle; while paused it plays the next recorded cycle at the recorded pace and
stays paused (as ``c`` does in a live session).

The journal's own ``SessionPaused``/``SessionResumed`` are folded into ``state`` but not sent; the
replay emits its own when you pause or play it, and ``is_recorded(event)`` tells the journal's
events from the replay's own (its notices, pauses, resets). No Textual here: this is engine code.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import os
import pickle
import time as _time
import weakref
from array import array
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from arena_tui.engine import events as ev
from arena_tui.engine.errors import ArenaError, JournalError
from arena_tui.engine.journal import _Context, _Decoder, _loads, journal_in_use, open_journal
from arena_tui.engine.session import EventSink
from arena_tui.engine.state import ArenaState, cut_cycle_warning

DEFAULT_GAP_S = 2.0
"""Seconds between cycles (at speed 1) when the recording does not say."""

TAIL_CYCLES = 6
"""Cycles a jump sends whole: the agent panes keep the last 6 (``tui.widgets.reasoning.HISTORY_CYCLES``)."""
SUMMARY_CYCLES = 240
"""Cycles before the tail whose ``CycleCompleted`` a jump sends: the leaderboard's equity lines keep
240 points (``tui.widgets.leaderboard.EQUITY_POINTS``)."""
SUMMARY_NOTICES = 3
"""Recorded notices before the tail that a jump sends again (the status line keeps 3)."""
CHECKPOINTS = 32
"""At most this many states are kept (pickled, a few hundred KB each at 10,000 cycles), evenly
spaced: a jump folds from the nearest one before it, so it never folds more than 1/32 of a long
recording."""
CHECKPOINT_STRIDE = 32
"""Cycles between checkpoints to begin with (doubled whenever there would be more than ``CHECKPOINTS``)."""
FOLD_SLICE = 2000
"""Journal lines a jump folds before it yields to the event loop (and checks for a newer jump)."""
CONTEXTS = 64
"""At most this many reader contexts are kept (a compact journal's lines are read against the lines
before them: ``journal``), evenly spaced; reading from a cycle starts at the nearest one before it."""
CONTEXT_STRIDE = 16
"""Cycles between kept contexts to begin with (doubled whenever there would be more than ``CONTEXTS``)."""

_LEFT_OUT = (ev.StateReset, ev.SessionStarted)
"""Journal lines a replay leaves out: resets and repeated headers."""
_FOLDED_ONLY = (ev.SessionPaused, ev.SessionResumed)
"""The recording's own pauses and resumes: folded into ``state`` (a resume after a stop clears its
end) but not sent; the replay sends its own when you pause or play it."""


class _Chunk:
    """The events of one chunk (0: those before the first cycle; k: the k-th recorded cycle) and
    when each is due on the virtual clock (ms)."""

    __slots__ = ("due", "events", "index")

    def __init__(self, index: int, events: list[ev.Event], due: list[float]) -> None:
        self.index = index
        self.events = events
        self.due = due


class _Recording:
    """The recorded events after the header, as chunks: chunk 0 holds those before the first cycle,
    chunk k (1..n) the k-th recorded cycle (its ``CycleStarted`` first). The index, one entry per
    chunk: ``pos`` (where it starts; one more entry: where the events end), ``cycles`` (its cycle
    number; chunk k at ``cycles[k - 1]``), ``counts`` (events in it), ``start_due``/``end_due``
    (virtual ms its first and last events are due at). ``checkpoints``: chunk b -> the pickled
    ``ArenaState`` of chunks 0..b-1, every ``stride`` cycles, at most ``CHECKPOINTS`` of them.
    ``scan(a, b)`` yields the events of chunks ``a..b`` in order; ``read(k)`` one chunk's.

    A last cycle the recording ends inside (no ``CycleCompleted``: a crash, a kill, a full disk) is
    left out of the index, as ``state.CompleteCycles`` leaves it out of the report, the export and the
    headless replay, so every view of a journal ends at the same state: ``cut_cycle`` its number (None:
    none), ``cut_events`` how many events it held. ``running``: a session was writing the journal
    when it was indexed (that cycle is under way, not cut off)."""

    def __init__(self) -> None:
        self.running = False
        self.pos = array("q")
        self.cut_cycle: int | None = None
        self.cut_events = 0
        self.cycles = array("q")
        self.counts = array("q", [0])
        self.start_due = array("d", [0.0])
        self.end_due = array("d", [0.0])
        self.checkpoints: dict[int, bytes] = {}
        self.stride = CHECKPOINT_STRIDE

    @property
    def n(self) -> int:
        """Recorded cycles (chunks after chunk 0)."""
        return len(self.cycles)

    def index(self, header: ev.SessionStarted, positioned: Iterable[tuple[int, ev.Event]], gap_ms: float, end: Callable[[], int]) -> None:
        """Build the index in one pass over (position, event) of every event after the header,
        folding them as it goes for the checkpoints (``pos[0]`` already set), then append the end
        position: ``end()`` (where the events end, once read), or where a cut-off last cycle starts."""
        cycles, counts, start_due, end_due = self.cycles, self.counts, self.start_due, self.end_due
        state = ArenaState(header)
        t = cycle_start = 0.0
        completed = True  # the last chunk holds its CycleCompleted (chunk 0: no cycle to complete)
        for at, e in positioned:
            kind = type(e)
            if kind is ev.ReasoningDelta:
                t = max(t, cycle_start + float(e.offset_ms))  # type: ignore[attr-defined]
                counts[-1] += 1
                continue  # never folded (as in a live session)
            if kind in _LEFT_OUT:
                continue
            if kind is ev.CycleStarted:
                if cycles and self.stride and len(cycles) % self.stride == 0:
                    self._checkpoint(len(cycles) + 1, state)
                end_due[-1] = t
                if cycles:
                    t += gap_ms
                cycle_start = t
                self.pos.append(at)
                cycles.append(e.cycle)
                counts.append(0)
                start_due.append(t)
                end_due.append(t)
                completed = False
            elif kind is ev.CycleCompleted:
                t = max(t, cycle_start + float(e.duration_ms))  # type: ignore[attr-defined]
                completed = True
            counts[-1] += 1
            state.apply(e)
        end_due[-1] = t
        if completed:
            stop = end()
        else:  # the recording ends inside its last cycle: leave it out
            self.cut_cycle, self.cut_events = cycles.pop(), counts.pop()
            start_due.pop()
            end_due.pop()
            stop = self.pos.pop()
            self.checkpoints.pop(len(cycles) + 1, None)
        self.pos.append(stop)

    def _checkpoint(self, b: int, state: ArenaState) -> None:
        if self.stride <= 0:
            return
        try:
            self.checkpoints[b] = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):  # a state that cannot be copied:
            self.checkpoints, self.stride = {}, 0  # every jump folds from the start instead
            return
        if len(self.checkpoints) > CHECKPOINTS:  # twice the stride, half the checkpoints
            self.stride *= 2
            self.checkpoints = {k: v for k, v in self.checkpoints.items() if (k - 1) % self.stride == 0}

    def state_before(self, b: int) -> tuple[int, ArenaState | None]:
        """The checkpoint nearest before chunk ``b``: (c, the state of chunks 0..c-1), c <= b; (0,
        None) when there is none."""
        best = max((c for c in self.checkpoints if c <= b), default=0)
        return (best, pickle.loads(self.checkpoints[best])) if best else (0, None)

    def read(self, k: int) -> _Chunk:
        """Chunk ``k``'s events and when each is due (the same rules as ``index``)."""
        events = list(self.scan(k, k))
        t = cycle_start = self.start_due[k]
        due: list[float] = []
        for e in events:
            if isinstance(e, ev.ReasoningDelta):
                t = max(t, cycle_start + float(e.offset_ms))
            elif isinstance(e, ev.CycleCompleted):
                t = max(t, cycle_start + float(e.duration_ms))
            due.append(t)
        return _Chunk(k, events, due)

    def scan(self, a: int, b: int, *, only: tuple[type[ev.Event], ...] | None = None, skip_deltas: bool = False) -> Iterator[ev.Event]:
        """The events of chunks ``a..b``: those of the types ``only`` (None: all), without
        reasoning deltas when ``skip_deltas``."""
        raise NotImplementedError


class _InMemory(_Recording):
    """Events held in a list (``ReplaySession(header, events)``): positions are list indices."""

    def __init__(self, header: ev.SessionStarted, events: Iterable[ev.Event], gap_ms: float) -> None:
        super().__init__()
        self.events = [e for e in events if not isinstance(e, _LEFT_OUT)]
        self.pos.append(0)
        self.index(header, enumerate(self.events), gap_ms, lambda: len(self.events))

    def scan(self, a: int, b: int, *, only: tuple[type[ev.Event], ...] | None = None, skip_deltas: bool = False) -> Iterator[ev.Event]:
        for e in self.events[self.pos[a] : self.pos[b + 1]]:
            if (only is None or isinstance(e, only)) and not (skip_deltas and isinstance(e, ev.ReasoningDelta)):
                yield e


PROGRESS_BYTES = 1 << 20
"""``_InFile`` reports how far it has read (``progress(bytes read, file size)``) about once a MB."""


class _InFile(_Recording):
    """A journal read on demand: positions are byte offsets of line starts, the last one where the
    intact events end (a cut-off last line is never read). ``warnings``: the reader's.

    A compact journal's line is read against the lines before it (``journal``): reading from chunk
    k starts from the reader's context there: the one the last read left (``_cursor``, reading on),
    or the nearest of ``contexts`` (chunk -> the context before its first line, every
    ``context_stride`` chunks, at most ``CONTEXTS``) read forward to k."""

    def __init__(self, path: Path, gap_ms_for: Callable[[ev.SessionStarted], float], progress: Callable[[int, int], None] | None = None) -> None:
        super().__init__()
        self.path = path
        self.contexts: dict[int, _Context] = {}
        self.context_stride = CONTEXT_STRIDE
        self._cursor: tuple[int, _Decoder] | None = None
        with open_journal(path) as stream:
            self.header = stream.header
            self.pos.append(stream.offset)
            self.compact = stream.decoder.compact
            self.contexts[0] = stream.decoder.ctx.copy()
            stream.track_cycles = self.compact

            try:
                size = path.stat().st_size if progress is not None else 0
            except OSError:
                size = 0
            told = 0

            def positioned() -> Iterator[tuple[int, ev.Event]]:
                nonlocal told
                start = stream.offset
                for event in stream:
                    if type(event) is ev.CycleStarted:
                        if stream.cycle_context is not None:
                            self._keep_context(len(self.cycles) + 1, stream.cycle_context)
                            stream.cycle_context = None
                        if progress is not None and start - told >= PROGRESS_BYTES:
                            told = start
                            progress(start, max(size, start))
                    yield start, event
                    start = stream.offset

            self.index(self.header, positioned(), gap_ms_for(self.header), lambda: stream.offset)
            self.contexts.pop(len(self.cycles) + 1, None)  # (a cut-off last cycle's, if any)
            self.warnings = tuple(stream.warnings)
            self.writing_warning = stream.writing_warning

    def _keep_context(self, k: int, ctx: _Context) -> None:
        if (k - 1) % self.context_stride:
            return
        self.contexts[k] = ctx
        if len(self.contexts) > CONTEXTS:
            self.context_stride *= 2
            self.contexts = {c: v for c, v in self.contexts.items() if c == 0 or (c - 1) % self.context_stride == 0}

    def _decoder_at(self, a: int, fh) -> _Decoder:
        """A reader positioned at the start of chunk ``a`` (``fh`` seeked there)."""
        cursor, self._cursor = self._cursor, None
        if not self.compact:
            fh.seek(self.pos[a])
            return _Decoder(False)
        if cursor is not None and cursor[0] == a:
            fh.seek(self.pos[a])
            return cursor[1]
        c = max(k for k in self.contexts if k <= a)
        dec = _Decoder(True, self.contexts[c].copy())
        start, end = self.pos[c], self.pos[a]
        fh.seek(start)
        at = start
        while at < end:
            raw = fh.readline()
            if not raw:
                raise self._changed()
            at += len(raw)
            if not raw.isspace():
                try:
                    dec.decode(_loads(raw))
                except (ValueError, RecursionError):
                    raise self._changed() from None
        if at != end:
            raise self._changed()
        return dec

    def scan(self, a: int, b: int, *, only: tuple[type[ev.Event], ...] | None = None, skip_deltas: bool = False) -> Iterator[ev.Event]:
        start, end = self.pos[a], self.pos[b + 1]
        if start >= end:
            return
        try:
            with open(self.path, "rb") as fh:
                dec = self._decoder_at(a, fh)
                at = start
                for raw in fh:
                    at += len(raw)
                    if at > end:
                        raise self._changed()
                    if not raw.isspace():
                        try:
                            events = dec.events(_loads(raw))
                        except (ValueError, RecursionError):  # EventDecodeError is a ValueError
                            raise self._changed() from None
                        for event in events:
                            if isinstance(event, _LEFT_OUT) or (only is not None and not isinstance(event, only)):
                                continue
                            if skip_deltas and type(event) is ev.ReasoningDelta:
                                continue
                            yield event
                    if at == end:
                        self._cursor = (b + 1, dec)
                        return
        except OSError as exc:
            raise JournalError(f"session journal {self.path} cannot be read any more ({exc.strerror}); open the replay again.") from None
        raise self._changed()  # shorter than when it was indexed

    def _changed(self) -> JournalError:
        return JournalError(f"session journal {self.path} changed while it was being replayed; open the replay again.")


class ReplaySession:
    """Plays a recording: ``ReplaySession.from_journal(path)`` (streamed from the file), or
    ``ReplaySession(header, events)`` with the events after the header in memory (tests; a
    ``journal.JournalContents`` alone works too, its warnings becoming notices).

    ``speed``: multiple of the recorded pace (> 0). ``cycle_gap_s``: seconds between cycles at speed 1
    (None = the recorded pace, capped at ``max_gap_s``). ``paused``: start paused. ``notices``:
    texts emitted as warning ``Notice`` events right after the header (e.g. the journal reader's
    warnings). ``clock``: monotonic seconds (injectable for tests).

    ``state``: the ``ArenaState`` fold of the recorded events played so far, each folded before the
    sink sees it (the replay's own notices, pauses and resets are not folded, nor are reasoning
    deltas, as in a live session; the recording's pauses and resumes are folded, not sent); after a
    jump, the fold of every recorded event up to the target cycle.
    ``cycle``: the last cycle started on screen. ``total_cycles``: the last recorded cycle number.
    """

    mode = "replay"

    def __init__(
        self,
        header,
        events: Iterable[ev.Event] | None = None,
        *,
        speed: float = 1.0,
        cycle_gap_s: float | None = None,
        max_gap_s: float = 10.0,
        paused: bool = False,
        notices: Sequence[str] = (),
        clock: Callable[[], float] = _time.monotonic,
        _recording: _Recording | None = None,
    ) -> None:
        if not isinstance(header, ev.SessionStarted):  # a JournalContents
            contents = header
            header, events = contents.header, contents.events
            notices = (*notices, *contents.warnings)
        if speed <= 0:
            raise ValueError("replay speed must be > 0")
        self.header: ev.SessionStarted = header
        self.name = header.session
        self.speed = float(speed)
        self.gap_ms = _gap_ms(header, cycle_gap_s, max_gap_s)
        self.notices = tuple(notices)
        self.clock = clock
        self.state = ArenaState()
        self.cycle = 0
        rec = _recording if _recording is not None else _InMemory(header, events or (), self.gap_ms)
        self._rec = rec
        if rec.cut_cycle is not None and not rec.running:  # (a running session's: from_journal's one notice says it)
            self.notices = (*self.notices, cut_cycle_warning(rec.cut_cycle, rec.cut_events, "the replay"))
        self.total_cycles = rec.cycles[-1] if rec.n else 0
        """The last recorded cycle number (cycles count from 1), of a complete cycle."""
        self._k = 1 if rec.counts[0] == 0 and rec.n else 0  # the cursor: the next event's chunk...
        self._pos = 0  # ...and its index in the chunk
        self._chunk: _Chunk | None = None
        self._playing = not paused
        self._step_end: int | None = None
        self._vt = 0.0
        self._vt_wall = clock()
        self._seek_target: int | None = None
        self._control: list[ev.Event] = []
        self._stopped = False
        self._wake: asyncio.Event | None = None
        self._sink: EventSink | None = None
        self._last_time = header.time
        self._told_end = False
        self._own: weakref.WeakValueDictionary[int, ev.Event] = weakref.WeakValueDictionary()
        self._path = getattr(rec, "path", None)

    @classmethod
    def from_journal(cls, path: str | os.PathLike[str], *, progress: Callable[[int, int], None] | None = None, **kwargs) -> ReplaySession:
        """A replay of the journal at ``path``, read once now to index it and then on demand, so
        memory does not grow with its length (``progress(bytes read, file size)`` is called about
        once a MB while it is indexed). ``kwargs`` as for the constructor. Raises
        ``JournalError`` (one sentence naming the file and line) when it cannot be read; a cut-off
        last line, and a cut-off last cycle, are left out with a notice."""

        def gap(header: ev.SessionStarted) -> float:
            return _gap_ms(header, kwargs.get("cycle_gap_s"), kwargs.get("max_gap_s", 10.0))

        try:
            running = journal_in_use(Path(path))
            rec = _InFile(Path(path), gap, progress)
        except ArenaError:
            raise
        except Exception as exc:  # a value no check foresaw: a sentence, not a traceback inside the app
            raise JournalError(f"session journal {path} cannot be replayed: {_problem(exc)}.") from exc
        rec.running = running
        under_way = f" (cycle {rec.cut_cycle} is under way and left out)" if rec.cut_cycle is not None else ""
        follow = (f"A running session is writing {path}: this replay ends where the journal ended when it was opened{under_way}; "
                  f"arena-tui --follow {path} shows the session live.",) if running else ()
        # (running: the one notice says the cycle being written is left out; not the reader's too)
        warnings = tuple(w for w in rec.warnings if not (running and w is rec.writing_warning))
        kwargs["notices"] = (*kwargs.get("notices", ()), *warnings, *follow)
        return cls(rec.header, _recording=rec, **kwargs)

    # -- the cursor -------------------------------------------------------------------------------

    def _load(self, k: int) -> _Chunk:
        if self._chunk is None or self._chunk.index != k:
            self._chunk = self._rec.read(k)
        return self._chunk

    def _at_end(self) -> bool:
        return self._k >= self._rec.n and self._pos >= self._rec.counts[self._k]

    def _next_start(self) -> int | None:
        """The chunk whose ``CycleStarted`` plays next (None: no cycle left to start)."""
        j = self._k if self._pos == 0 and self._k >= 1 else self._k + 1
        return j if j <= self._rec.n else None

    def _take(self) -> ev.Event:
        chunk = self._load(self._k)
        event = chunk.events[self._pos]
        self._pos += 1
        if self._pos >= len(chunk.events) and self._k < self._rec.n:
            self._k, self._pos = self._k + 1, 0
        return event

    def _played(self, k: int) -> bool:
        """True once every event of chunk ``k`` has been played."""
        return self._k > k or (self._k == k and self._pos >= self._rec.counts[k])

    def _now_vt(self) -> float:
        if not self._playing and self._step_end is None:
            return self._vt
        return self._vt + (self.clock() - self._vt_wall) * 1000.0 * self.speed

    def _sync(self) -> None:
        self._vt = self._now_vt()
        self._vt_wall = self.clock()

    # -- Session ----------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return not self._playing

    def next_cycle_in(self) -> float | None:
        """Wall seconds until the next recorded cycle starts; None when paused or at the end."""
        nxt = self._next_start()
        if not self._playing or nxt is None:
            return None
        return max(0.0, (self._rec.start_due[nxt] - self._now_vt()) / (1000.0 * self.speed))

    def is_recorded(self, event: ev.Event) -> bool:
        """For an event this replay emitted: True when it is the recording's own (the header or a
        journal line), False for the events the replay sends itself (the reader's warnings, "End of
        the recording", its pauses, resumes and resets)."""
        return self._own.get(id(event)) is not event

    def cycle_now(self) -> None:
        """Playing: skip the wait (the rest of the current cycle and the start of the next come at
        once). Paused: the same, then the next recorded cycle plays at the recorded pace and the
        replay stays paused, so each press shows one more cycle."""
        nxt = self._next_start()
        if nxt is not None:
            self._sync()
            self._vt = max(self._vt, self._rec.start_due[nxt])
        if not self._playing and not self._at_end():
            self._step_end = nxt if nxt is not None else self._rec.n
            self._vt_wall = self.clock()
        self._poke()

    def pause(self) -> None:
        if self._playing:
            self._sync()
            self._playing = False
            self._control.append(self._own_event(ev.SessionPaused(self.cycle, self._last_time, "replay")))
            self._poke()

    def resume(self) -> None:
        if not self._playing:
            self._sync()
            self._step_end = None
            self._playing = True
            self._control.append(self._own_event(ev.SessionResumed(self.cycle, self._last_time, "replay")))
            self._poke()

    def stop(self, reason: str = "stopped by the user") -> None:
        """End ``run`` (a replay records nothing, so ``reason`` is not kept)."""
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

    def _own_event(self, event: ev.Event) -> ev.Event:
        """Mark ``event`` as the replay's own (not the recording's): see ``is_recorded``."""
        self._own[id(event)] = event
        return event

    def _send(self, event: ev.Event) -> None:
        """Fold a recorded ``event`` into ``state`` (deltas excepted), then emit it (the recording's
        own pauses and resumes excepted)."""
        if not isinstance(event, ev.ReasoningDelta):
            self.state.apply(event)
        if not isinstance(event, _FOLDED_ONLY):
            self._emit(event)

    def _emit(self, event: ev.Event) -> None:
        if event.time > 0:
            self._last_time = event.time
        assert self._sink is not None
        self._sink(event)

    async def _wait(self, timeout: float | None) -> None:
        assert self._wake is not None
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    async def run(self, sink: EventSink) -> None:
        """Emit the header, then play until ``stop()``; at the end of the recording it waits (the
        person may still step back). Raises ``JournalError`` (one sentence) when the journal cannot be
        played on (it changed meanwhile, or holds something no check foresaw), never another error."""
        try:
            await self._run(sink)
        except (ArenaError, asyncio.CancelledError):
            raise
        except Exception as exc:
            where = self._path if self._path is not None else "the recording"
            raise JournalError(f"the replay of {where} stopped at cycle {self.cycle}: {_problem(exc)}.") from exc

    async def _run(self, sink: EventSink) -> None:
        self._wake = asyncio.Event()
        self._sink = sink
        self._send(self.header)
        for text in self.notices:
            self._emit(self._own_event(ev.Notice(0, self.header.time, "warning", text)))
        if not self._playing:
            self._emit(self._own_event(ev.SessionPaused(0, self.header.time, "replay")))
        self._vt_wall = self.clock()
        while not self._stopped:
            self._wake.clear()
            if self._seek_target is not None:
                await self._seek(self._seek_target)
                continue
            if self._control:
                control, self._control = self._control, []
                for event in control:
                    self._emit(event)
                continue
            if self._at_end():
                if not self._told_end:
                    self._told_end = True
                    text = f"End of the recording ({self.total_cycles} cycles): ← or home to look back."
                    cut = self._rec.cut_cycle  # (said at the start too; a jump clears that)
                    if self._rec.running:  # the status line keeps few notices: the way to watch it live is said here
                        under_way = f"; cycle {cut} is under way" if cut is not None else ""
                        text = (f"End of what was written when the replay opened ({self.total_cycles} cycles{under_way}): "
                                f"arena-tui --follow {getattr(self._rec, 'path', '')} shows the session live; ← or home to look back.")
                    elif cut is not None:
                        text = f"End of the recording ({self.total_cycles} cycles; cycle {cut} was cut off and is left out): ← or home to look back."
                    self._emit(self._own_event(ev.Notice(self.cycle, self._last_time, "info", text)))
                await self._wait(None)
                continue
            if not self._playing and self._step_end is None:
                await self._wait(None)
                continue
            delay = (self._load(self._k).due[self._pos] - self._now_vt()) / (1000.0 * self.speed)
            if delay > 0.0005:
                await self._wait(delay)
                continue
            event = self._take()
            if isinstance(event, ev.CycleStarted):
                self.cycle = event.cycle
            if self._step_end is not None and self._played(self._step_end):
                self._sync()  # the step is done: the clock stands still again
                self._step_end = None
            self._send(event)

    async def _seek(self, target: int) -> None:
        """Jump to the end of cycle ``target``: fold the cycles before the tail into a new state,
        then send the reset, the header, the summary and the tail (see the module docstring)."""
        rec = self._rec
        self._step_end = None
        last = bisect.bisect_right(rec.cycles, target)  # chunks 0..last hold the events up to the target
        if self.state.header is not None and self._played(last) and (last == rec.n or not self._played(last + 1) and self._pos == 0):
            self._seek_target = None  # already there
            return
        if self.state.header is not None and self._k <= last <= self._k + TAIL_CYCLES - 1:
            # a few cycles on (→): play them at once, as playing would have shown them
            self._seek_target = None
            while not self._played(last):
                event = self._take()
                if isinstance(event, ev.CycleStarted):
                    self.cycle = event.cycle
                self._send(event)
            self._vt = rec.end_due[last]
            self._vt_wall = self.clock()
            return
        tail = last - TAIL_CYCLES + 1
        if tail <= 1:
            tail = 0  # the tail reaches back to the start: send everything
        # Start from the nearest checkpoint before the tail, or (a jump forward) from a copy of the
        # current state when that is nearer: it holds exactly chunks 0..k-1 (the screen may draw
        # it until the reset, so it is not changed in place).
        base, state = rec.state_before(tail)
        if self.state.header is not None and self._pos == 0 and base <= self._k <= tail:
            base, state = self._k, copy.deepcopy(self.state)
        if state is None:
            state = ArenaState(self.header)
        notices: deque[ev.Event] = deque(maxlen=SUMMARY_NOTICES)
        summary: deque[ev.Event] = deque(maxlen=SUMMARY_CYCLES)
        shown = max(0, tail - SUMMARY_CYCLES)
        scans = []
        if shown < base:  # folded already, but the summary needs them
            scans.append((rec.scan(shown, base - 1, only=(ev.CycleCompleted, ev.Notice)), False))
        if base < tail:
            scans.append((rec.scan(base, tail - 1, skip_deltas=True), True))
        n = 0
        for events, fold in scans:
            for event in events:
                if fold:
                    state.apply(event)
                if isinstance(event, ev.CycleCompleted):
                    summary.append(event)
                elif isinstance(event, ev.Notice):
                    notices.append(event)
                n += 1
                if n % FOLD_SLICE == 0:
                    await asyncio.sleep(0)
                    if self._stopped or self._seek_target != target:
                        return  # a newer jump (or stop): this one is moot
        self._seek_target = None
        self._emit(self._own_event(ev.StateReset(self.cycle, self._last_time, target)))
        self.state = state
        self._emit(self.header)
        for event in (*notices, *summary):
            self._emit(event)  # folded above
        self.cycle = rec.cycles[tail - 2] if tail >= 2 else 0
        for event in rec.scan(tail, last):
            if isinstance(event, ev.CycleStarted):
                self.cycle = event.cycle
            self._send(event)
        self._k, self._pos = (last + 1, 0) if last < rec.n else (rec.n, rec.counts[rec.n])
        self._told_end = False
        self._vt = rec.end_due[last]
        self._vt_wall = self.clock()


def _problem(exc: BaseException) -> str:
    """An unforeseen error as a few words for a sentence."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def _gap_ms(header: ev.SessionStarted, cycle_gap_s: float | None, max_gap_s: float) -> float:
    """Virtual ms between cycles: ``cycle_gap_s``, or the recorded pace capped at ``max_gap_s``."""
    return 1000.0 * (cycle_gap_s if cycle_gap_s is not None else min(max_gap_s, _recorded_gap_s(header)))


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
