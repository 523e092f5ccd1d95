"""A journal's first line (its session header), read and checked without the event types.

``journal.JournalStream`` reads every header through ``read_head``; ``check_journal_head(path)`` is
the same check on its own, light enough (the standard library's ``json``, no ``events``) for the
command line to refuse a path that holds no journal before the screen starts: importing the journal
reader costs about 60 ms, which the screen's first frame does not wait for (a replay's journal is
indexed after it). The checks and their sentences are the reader's: a missing file, a directory, an
unreadable file, an empty one, a first line that is no session header (or one cut off as the session
started). What needs the event types (a newer schema, a header's fields) stays in ``journal``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Callable

from arena_tui.engine.errors import JournalError

MAX_HEADER_LINE = 16 << 20
"""The longest first line read as a possible header (a header is a few kB; a foreign file is never
read whole)."""
HEADER_TYPE = "SessionStarted"
"""``events.SessionStarted.type_name`` (asserted equal there)."""


def not_a_journal(p: Path) -> JournalError:
    return JournalError(f"{p} is not an arena-tui journal (its first line is not a session header).")


def missing_journal(p: Path) -> JournalError:
    return JournalError(f"session journal {p} does not exist; check the path (recorded sessions are in sessions/).")


def open_for_reading(p: Path) -> IO[bytes]:
    """``open(p, "rb")``; ``JournalError`` (one sentence) when it is missing, a directory or unreadable."""
    try:
        return open(p, "rb")
    except FileNotFoundError:
        raise missing_journal(p) from None
    except IsADirectoryError:
        raise JournalError(f"{p} is a directory, not a session journal; give the path of a .jsonl file.") from None
    except OSError as exc:
        raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None


def read_head(p: Path, fh: IO[bytes], loads: Callable[[bytes], object]) -> tuple[dict, int, int]:
    """The header line of the journal ``p`` open at its start as ``fh``, parsed by ``loads`` (a
    ``ValueError`` or ``RecursionError`` for a line that is no JSON): ``(object, line number, byte
    offset past it)``; blank lines before it are skipped. Raises ``JournalError`` (one sentence)
    when the file is empty, its first line is no session header, or reading fails."""
    lineno = pos = 0
    try:
        while raw := fh.readline(MAX_HEADER_LINE):
            lineno += 1
            pos += len(raw)
            if raw.isspace():
                continue
            if len(raw) == MAX_HEADER_LINE and not raw.endswith(b"\n"):
                raise not_a_journal(p)  # a header is a few kB; do not read a foreign file whole
            try:
                obj = loads(raw)
            except (ValueError, RecursionError):
                if not raw.endswith(b"\n") and raw.lstrip().startswith(b'{"type":"SessionStarted"'):
                    raise JournalError(
                        f"session journal {p} holds only a cut-off session header (the session crashed as it started); there is nothing to replay."
                    ) from None
                raise not_a_journal(p) from None
            if not isinstance(obj, dict) or obj.get("type") != HEADER_TYPE:
                raise not_a_journal(p)
            return obj, lineno, pos
    except OSError as exc:
        raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None
    raise JournalError(f"session journal {p} is empty: there is nothing to replay.")


def _json_loads(raw: bytes) -> object:
    """The reader's fallback parser (it takes all the reader takes: NaN, a byte-order mark)."""
    return json.loads(raw.decode("utf-8-sig"))


def check_journal_head(path: str | os.PathLike[str]) -> None:
    """Raise ``JournalError`` (the reader's sentence) when ``path`` is no journal: missing, a
    directory, unreadable, empty, or its first line no session header. The rest (its schema, its
    header's fields, every later line) is checked as it is read."""
    p = Path(path)
    with open_for_reading(p) as fh:
        read_head(p, fh, _json_loads)
