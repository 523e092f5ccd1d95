"""The session journal: JSON Lines, one event a line, the first line the ``SessionStarted`` header.

Writing: append, flush after every event, ``fsync`` at every cycle end (``sync()``), so a crash loses
at most the line being written. Reading: a truncated last line (a crash mid-write) is dropped with a
warning; a corrupt line anywhere else raises ``JournalError`` naming the file and line number.
Reasoning deltas are coalesced into ~100 ms chunks before they are journaled (``DeltaCoalescer``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

from arena_tui.engine.errors import JournalError
from arena_tui.engine.events import (
    SCHEMA_VERSION,
    Event,
    EventDecodeError,
    ReasoningDelta,
    SessionStarted,
    from_json,
)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True, check_circular=False)


def dumps(event: Event) -> str:
    """One journal line (without the newline): compact JSON, keys in field order."""
    return _ENCODER.encode(event.to_json())


class JournalWriter:
    """Appends events to ``path``. Creates parent directories. When the file is new (or empty) the
    ``header`` is written first; when it exists (resume) events are appended after a truncated last
    line, if any, is cut off."""

    def __init__(self, path: str | os.PathLike[str], header: SessionStarted | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:
            _truncate_partial_last_line(self.path)
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")
        self.lines_written = 0
        if fresh:
            if header is None:
                raise JournalError(f"{self.path} is empty and no session header was given; start a new session instead.")
            self.write(header)
            self.sync()

    def write(self, event: Event) -> None:
        """Append one event and flush it to the OS."""
        if self._fh is None:
            return
        self._fh.write(dumps(event) + "\n")
        self._fh.flush()
        self.lines_written += 1

    def sync(self) -> None:
        """fsync: the cycle's events are on disk."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None


def _truncate_partial_last_line(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        # find the last newline and cut what follows (a line cut off by a crash)
        pos = size - 1
        chunk = 4096
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            idx = data.rfind(b"\n")
            if idx >= 0:
                fh.truncate(start + idx + 1)
                return
            pos = start
        fh.truncate(0)


@dataclass
class JournalContents:
    """A journal read back: the header, every event after it, and warnings (e.g. a dropped
    truncated last line)."""

    path: Path
    header: SessionStarted
    events: list[Event]
    warnings: list[str] = field(default_factory=list)


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Read a journal; raises ``JournalError`` (one sentence with file and line) when it cannot."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise JournalError(f"session journal {p} does not exist; check the path (recorded sessions are in sessions/).") from None
    except OSError as exc:
        raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None
    lines = raw.split(b"\n")
    ends_clean = raw.endswith(b"\n")
    if ends_clean:
        lines = lines[:-1]
    warnings: list[str] = []
    events: list[Event] = []
    header: SessionStarted | None = None
    last = len(lines)
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            ev = from_json(obj)
        except (UnicodeDecodeError, json.JSONDecodeError, EventDecodeError) as exc:
            if i == last and not ends_clean:
                warnings.append(f"{p} line {i} was cut off (the session probably crashed while writing it); dropped it.")
                break
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise JournalError(
                f"session journal {p} line {i} is corrupt ({detail}); the lines before it are intact, so cut the file there to recover them."
            ) from None
        if header is None:
            if not isinstance(ev, SessionStarted):
                raise JournalError(f"session journal {p} line {i} should be the SessionStarted header but is {ev.type_name}; this is not an arena-tui journal.")
            if ev.schema > SCHEMA_VERSION:
                raise JournalError(
                    f"session journal {p} uses schema {ev.schema}, newer than this arena-tui understands ({SCHEMA_VERSION}); upgrade arena-tui."
                )
            header = ev
        else:
            events.append(ev)
    if header is None:
        raise JournalError(f"session journal {p} is empty; there is nothing to replay.")
    return JournalContents(p, header, events, warnings)


class DeltaCoalescer:
    """Merges consecutive ``ReasoningDelta`` pieces of one agent and kind into chunks of about
    ``window_ms`` (default 100 ms of stream time, by ``offset_ms``) before they reach ``emit``.

    ``add`` may emit the previous chunk; ``flush(agent)`` emits what is pending (call it when the
    agent finishes). Text is never lost or reordered per agent.
    """

    def __init__(self, emit: Callable[[Event], None], window_ms: float = 100.0) -> None:
        self._emit = emit
        self._window = window_ms
        # agent -> (first delta of the chunk, the texts that follow it)
        self._pending: dict[str, tuple[ReasoningDelta, list[str]]] = {}

    def add(self, delta: ReasoningDelta) -> None:
        cur = self._pending.get(delta.agent)
        if cur is not None:
            first, texts = cur
            if first.kind == delta.kind and delta.offset_ms - first.offset_ms < self._window:
                texts.append(delta.text)
                return
            self._emit_chunk(first, texts)
        self._pending[delta.agent] = (delta, [])

    def _emit_chunk(self, first: ReasoningDelta, texts: list[str]) -> None:
        if texts:
            first = ReasoningDelta(first.cycle, first.time, first.agent, first.kind, first.text + "".join(texts), first.offset_ms)
        self._emit(first)

    def flush(self, agent: str | None = None) -> None:
        agents: Iterable[str] = [agent] if agent is not None else list(self._pending)
        for a in agents:
            cur = self._pending.pop(a, None)
            if cur is not None:
                self._emit_chunk(*cur)
