"""The session journal: JSON Lines, one event a line, the first line the ``SessionStarted`` header.

A journal belongs to one session. ``JournalWriter.create`` / ``create_unique`` make a new file,
exclusively (never an existing one, not even one created a moment ago by another process), and write
the header; ``JournalWriter.append`` continues a session (``--resume``). Every writer holds an
exclusive lock on ``<journal>.lock`` (which holds its pid) for its lifetime, so two processes never
write one journal; the kernel drops the lock when a process dies, so a stale lock file never blocks.

Writing: append, flush after every event, ``fsync`` at every cycle end (``sync()``), so a crash loses
at most the line being written. Reading (``open_journal`` streams, ``read_journal`` collects): a
truncated last line (a crash mid-write) is dropped with a warning; a corrupt line anywhere else raises
``JournalError`` naming the file and line number. Bytes a resume cuts off are kept in a
``<journal>.cut-<UTC time>`` file. Reasoning deltas are coalesced into ~100 ms chunks before they are
journaled (``DeltaCoalescer``).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from arena_tui.engine.errors import JournalError
from arena_tui.engine.events import (
    SCHEMA_VERSION,
    CycleCompleted,
    Event,
    EventDecodeError,
    ReasoningDelta,
    SessionStarted,
    from_json,
)

try:
    import fcntl
except ImportError:  # Windows: no flock; writers are not locked there
    fcntl = None  # type: ignore[assignment]

try:
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson comes with ccxt
    _orjson_loads = None


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True, check_circular=False)

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation at the descriptor level


_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=True, check_circular=False)


def dumps(event: Event) -> str:
    """One journal line (without the newline): compact JSON, keys in field order, always encodable as
    UTF-8. Text is kept exactly: a lone surrogate (valid in JSON, not in UTF-8: a model can send one)
    is written as its ``\\ud800`` escape, and U+2028/U+2029, which other line splitters take for line
    breaks, as ``\\u2028``/``\\u2029``."""
    obj = event.to_json()
    line = _ENCODER.encode(obj)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            return _ASCII_ENCODER.encode(obj)
        if "\u2028" in line or "\u2029" in line:
            line = line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return line


def session_file_name(name: str, now: datetime | None = None) -> str:
    """``<UTC timestamp>-<name>.jsonl``, the default journal file name (``name`` made file-safe)."""
    now = now or datetime.now(timezone.utc)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "session"
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe}.jsonl"


# --- decoding -------------------------------------------------------------------------------------

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


def _loads(line: bytes) -> object:
    """``json.loads(line)``, through orjson (several times faster) where it gives the same result.

    orjson rejects the NaN/Infinity tokens the writer allows and reads integers beyond 64 bits as
    floats; such lines (any run of 19+ digits, a cheap over-approximation) go to ``json``. Both read
    floats exactly (correctly rounded)."""
    if _orjson_loads is not None and _LONG_DIGIT_RUN not in line.translate(_DIGITS_TO_ZERO):
        try:
            return _orjson_loads(line)
        except ValueError:  # orjson.JSONDecodeError: NaN/Infinity, or a really corrupt line
            pass
    return json.loads(line.decode("utf-8-sig"), parse_int=_parse_int)  # a BOM (a Windows editor) is allowed


_INT_LIMIT = 1 << 1024


def _parse_int(text: str) -> int:
    """A JSON integer, exactly (however long); one no float can hold (over about 309 digits) is no
    figure arena-tui writes, and would overflow wherever it is used as money: the line is refused."""
    if len(text) > 300:
        v = int(text)
        if not -_INT_LIMIT < v < _INT_LIMIT:
            raise ValueError(f"the number {text[:12]}... ({len(text.lstrip('-'))} digits) is too large")
        return v
    return int(text)


_MAX_HEADER_LINE = 16 << 20


def _not_a_journal(p: Path) -> JournalError:
    return JournalError(f"{p} is not an arena-tui journal (its first line is not a session header).")


def _open_for_reading(p: Path) -> IO[bytes]:
    try:
        return open(p, "rb")
    except FileNotFoundError:
        raise JournalError(f"session journal {p} does not exist; check the path (recorded sessions are in sessions/).") from None
    except IsADirectoryError:
        raise JournalError(f"{p} is a directory, not a session journal; give the path of a .jsonl file.") from None
    except OSError as exc:
        raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None


def _decode_problem(exc: BaseException) -> str:
    """What is wrong with a line that does not decode, in a few words."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"byte {exc.object[exc.start]:#04x} at byte {exc.start + 1} is not UTF-8 text"
    if isinstance(exc, RecursionError):
        return "its values nest too deeply"
    return " ".join(str(exc).split())[:300] or type(exc).__name__


class JournalStream:
    """A journal read one event at a time (``open_journal``); memory does not grow with its length.

    Opening reads and checks the header (``header``). Iterating yields the events after it, reading
    the file line by line. ``line`` is the line number of the last event yielded (the header's before
    any), ``offset`` the byte offset just past it (its newline included): the journal's intact
    prefix, which ``JournalWriter.append(path, truncate_at=offset)`` continues from. ``warnings``
    gains a sentence when a cut-off last line is dropped. Single pass; use it as a context manager (or
    iterate to the end) so the file is closed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        self.line = 0
        self.offset = 0
        self._fh: IO[bytes] | None = _open_for_reading(self.path)
        try:
            self.header = self._read_header()
        except BaseException:
            self._close_file()
            raise
        self._events = self._read_events()

    def _read_header(self) -> SessionStarted:
        p, fh = self.path, self._fh
        assert fh is not None
        lineno = pos = 0
        try:
            while raw := fh.readline(_MAX_HEADER_LINE):
                lineno += 1
                pos += len(raw)
                if raw.isspace():
                    continue
                if len(raw) == _MAX_HEADER_LINE and not raw.endswith(b"\n"):
                    raise _not_a_journal(p)  # a header is a few kB; do not read a foreign file whole
                try:
                    obj = _loads(raw)
                except (ValueError, RecursionError):
                    if not raw.endswith(b"\n") and raw.lstrip().startswith(b'{"type":"SessionStarted"'):
                        raise JournalError(
                            f"session journal {p} holds only a cut-off session header (the session crashed as it started); there is nothing to replay."
                        ) from None
                    raise _not_a_journal(p) from None
                if not isinstance(obj, dict) or obj.get("type") != SessionStarted.type_name:
                    raise _not_a_journal(p)
                schema = obj.get("schema")
                if isinstance(schema, int) and schema > SCHEMA_VERSION:
                    # checked before decoding: a newer header may well have fields this version lacks
                    raise JournalError(
                        f"session journal {p} uses schema {schema}, newer than this arena-tui understands ({SCHEMA_VERSION}); upgrade arena-tui."
                    )
                try:
                    header = from_json(obj)
                except EventDecodeError as exc:
                    raise JournalError(f"session journal {p} line {lineno} is a corrupt session header ({_decode_problem(exc)}); it cannot be replayed.") from None
                assert isinstance(header, SessionStarted)
                self.line, self.offset = lineno, pos
                return header
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None
        raise JournalError(f"session journal {p} is empty: there is nothing to replay.")

    def _read_events(self) -> Iterator[Event]:
        p, fh = self.path, self._fh
        assert fh is not None
        lineno, pos = self.line, self.offset
        try:
            for raw in fh:
                lineno += 1
                pos += len(raw)
                if raw.isspace():
                    continue
                try:
                    event = from_json(_loads(raw))  # type: ignore[arg-type]
                except (ValueError, RecursionError) as exc:  # JSON, UTF-8 and EventDecodeError are ValueErrors
                    if not raw.endswith(b"\n"):  # the last line, cut off
                        self.warnings.append(f"{p} line {lineno} was cut off (the session probably crashed while writing it); dropped it.")
                        return
                    detail = _decode_problem(exc)
                    raise JournalError(
                        f"session journal {p} line {lineno} is corrupt ({detail}); the lines before it are intact, so cut the file there to recover them."
                    ) from None
                self.line, self.offset = lineno, pos
                yield event
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be read ({exc.strerror}).") from None
        finally:
            self._close_file()

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def _close_file(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()

    def close(self) -> None:
        events = getattr(self, "_events", None)
        if events is not None:
            events.close()
        self._close_file()

    def __enter__(self) -> JournalStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_journal(path: str | os.PathLike[str]) -> JournalStream:
    """Open a journal for streaming: checks the header now (``JournalError``, one sentence, when the
    file is missing, empty, not a journal or from a newer arena-tui), yields events when iterated."""
    return JournalStream(path)


@dataclass
class JournalContents:
    """A journal read back: the header, every event after it, and warnings (e.g. a dropped
    truncated last line). ``offset``: the byte offset where the intact events end (see
    ``JournalStream.offset``)."""

    path: Path
    header: SessionStarted
    events: list[Event]
    warnings: list[str] = field(default_factory=list)
    offset: int = 0


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Read a whole journal into memory (small journals, tests); raises ``JournalError`` (one sentence
    with file and line) when it cannot. Large ones: iterate ``open_journal``."""
    with open_journal(path) as stream:
        events = list(stream)
    return JournalContents(stream.path, stream.header, events, stream.warnings, stream.offset)


# --- writing --------------------------------------------------------------------------------------


class _Busy(Exception):
    def __init__(self, pid: int | None) -> None:
        super().__init__(pid)
        self.pid = pid


def _busy_error(p: Path, pid: int | None) -> JournalError:
    if pid == os.getpid():
        return JournalError(f"session journal {p} is already being written by this arena-tui process (pid {pid}); close that writer first.")
    who = f"another arena-tui process (pid {pid})" if pid else "another arena-tui process"
    return JournalError(f"session journal {p} is being written by {who}; wait for it to end, or replay it read-only with --replay {p}.")


def check_new_journal_path(path: str | os.PathLike[str]) -> None:
    """Raise ``JournalError`` (one sentence) when ``path`` is taken: a new session never writes into an
    existing file. ``JournalWriter.create`` checks again, atomically, when it creates the file."""
    p = Path(path)
    if p.exists() or p.is_symlink():
        raise _exists_error(p)


def _exists_error(p: Path) -> JournalError:
    if p.is_dir():
        return JournalError(f"{p} is a directory; --journal needs a file path.")
    return JournalError(
        f"session journal {p} already exists; arena-tui never writes into an existing file: pick another --journal path, or continue that session with --resume {p}."
    )


class _Lock:
    """An exclusive ``flock`` on ``<journal>.lock``, which holds the owner's pid (for messages only)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @staticmethod
    def acquire(journal: Path) -> _Lock | None:
        """The lock, or None where there is no ``flock``; raises ``_Busy`` when another writer holds it."""
        if fcntl is None:
            return None
        lp = journal.with_name(journal.name + ".lock")
        while True:
            try:
                fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise JournalError(f"the lock file {lp} of session journal {journal} cannot be opened ({exc.strerror}); check that its folder is writable.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    pid = _read_pid(fd)
                    os.close(fd)
                    raise _Busy(pid) from None
                os.close(fd)
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    return None  # a file system without locks: write unlocked, as on Windows
                raise JournalError(f"the lock file {lp} of session journal {journal} cannot be locked ({exc.strerror}).") from None
            # The previous holder unlinks the file before it lets go: if we locked a file that is no
            # longer at lp, another process may be locking the new one; start over.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lp))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # the pid only improves the message another process shows
            return _Lock(lp, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it (see acquire)
        except OSError:
            pass
        finally:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode("ascii").strip()) or None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _release(lock: _Lock | None) -> None:
    if lock is not None:
        lock.release()


def _fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (POSIX; nothing to do or possible elsewhere)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _save_tail(p: Path, fh: IO[bytes], start: int, end: int) -> Path:
    """Copy bytes ``start:end`` of the journal open as ``fh`` to a new ``<journal>.cut-<UTC time>``
    file (``-2``, ``-3``, ... when taken) and fsync it; returns its path."""
    base = f"{p.name}.cut-{_utc_stamp()}"
    for n in itertools.count(1):
        side = p.with_name(base if n == 1 else f"{base}-{n}")
        try:
            fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise JournalError(
                f"session journal {p} ends with {end - start} bytes to cut off, but they cannot be saved to {side} ({exc.strerror}); nothing was changed."
            ) from None
        try:
            with open(fd, "wb") as out:
                fh.seek(start)
                left = end - start
                while left > 0:
                    chunk = fh.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    out.write(chunk)
                    left -= len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            try:
                side.unlink()
            except OSError:
                pass
            raise JournalError(
                f"session journal {p} ends with {end - start} bytes to cut off, but they cannot be saved to {side} ({exc.strerror or exc}); nothing was changed."
            ) from None
        _fsync_dir(p.parent)
        return side
    raise AssertionError("unreachable")


def _byte_at(fh: IO[bytes], pos: int) -> bytes:
    fh.seek(pos)
    return fh.read(1)


def _last_line_start(fh: IO[bytes], size: int) -> int:
    """The offset just past the last newline before ``size`` (0 when there is none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        fh.seek(start)
        idx = fh.read(pos - start).rfind(b"\n")
        if idx >= 0:
            return start + idx + 1
        pos = start
    return 0


class JournalWriteError(JournalError):
    """The journal cannot be written any more (a full disk, a quota, an I/O error): the session must
    stop. The journal ends at its last whole line, so it can be resumed once the cause is fixed."""


_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), getattr(errno, "EFBIG", errno.ENOSPC)}


def _write_failure(p: Path, exc: OSError, last_cycle: int) -> JournalWriteError:
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    where = f"after cycle {last_cycle}" if last_cycle > 0 else "before its first cycle was complete"
    if exc.errno in _NO_SPACE:
        advice = f"free some space and continue it with --resume {p}"
    else:
        advice = f"once the disk is writable again, continue it with --resume {p}"
    return JournalWriteError(f"cannot write session journal {p}: {reason}; the session stopped {where}; {advice}.")


class JournalWriter:
    """Writes one session's journal, holding its lock until ``close()``. Make one with ``create``,
    ``create_unique`` (new sessions) or ``append`` (``--resume``).

    ``lines_written``/``bytes_written`` count what this writer wrote; ``offset`` is the file's size so
    far. After ``append``, ``cut_path`` is where bytes cut off the end were saved (None if none were).

    Write failures: an ``OSError`` while writing, flushing or syncing (a full disk, a quota, an I/O
    error) cuts a half-written line off again, closes the file, lets go of the lock and raises
    ``JournalWriteError`` (one sentence: what failed, the last whole cycle, ``--resume``); ``error``
    keeps it, and every later ``write``/``sync`` raises it again, so a session cannot run on without
    its journal. ``close`` after a failure does nothing. ``last_cycle``: the last cycle whose
    ``CycleCompleted`` was written whole (a resuming caller sets where the journal left off)."""

    path: Path
    lines_written: int
    bytes_written: int
    cut_path: Path | None
    error: JournalWriteError | None
    last_cycle: int
    _fh: IO[bytes] | None
    _lock: _Lock | None
    _start: int

    def __init__(self, path: str | os.PathLike[str], header: SessionStarted | None = None) -> None:
        """Deprecated, for old callers: ``create(path, header)`` when a header is given (so an
        existing file is refused), else ``append(path)``."""
        made = type(self).create(path, header) if header is not None else type(self).append(path)
        self.__dict__.update(made.__dict__)
        made.__dict__.clear()

    @classmethod
    def _attach(cls, path: Path, fh: IO[bytes], lock: _Lock | None, size: int) -> JournalWriter:
        w = cls.__new__(cls)
        w.path = path
        w._fh = fh
        w._lock = lock
        w._start = size
        w.lines_written = 0
        w.bytes_written = 0
        w.cut_path = None
        w.error = None
        w.last_cycle = 0
        return w

    # -- making one ----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], header: SessionStarted) -> JournalWriter:
        """A new journal at ``path`` (parent folders made) holding ``header``, written and fsynced.
        ``JournalError`` when anything (a journal, any other file, a folder) is at ``path`` already,
        or another process holds its lock."""
        w = cls._create(Path(path), header, unique=False)
        assert w is not None
        return w

    @classmethod
    def create_unique(
        cls, directory: str | os.PathLike[str], name: str, header: SessionStarted, now: datetime | None = None
    ) -> JournalWriter:
        """A new journal in ``directory`` named ``session_file_name(name, now)``, or when that is
        taken (two sessions started in one second) ``<stem>-2.jsonl``, ``<stem>-3.jsonl``, ...: each
        claimed atomically, so two processes never get the same file."""
        d = Path(directory)
        stem = session_file_name(name, now).removesuffix(".jsonl")
        for n in range(1, 100_000):
            w = cls._create(d / (f"{stem}.jsonl" if n == 1 else f"{stem}-{n}.jsonl"), header, unique=True)
            if w is not None:
                return w
        raise JournalError(f"{d} already holds {n} session journals named {stem}*.jsonl; pick another session name.")

    @classmethod
    def _create(cls, p: Path, header: SessionStarted, *, unique: bool) -> JournalWriter | None:
        """``create``; with ``unique`` None (instead of ``JournalError``) when the name is taken."""
        if not isinstance(header, SessionStarted):
            raise TypeError(f"a journal starts with a SessionStarted header, not {type(header).__name__}")
        if os.path.lexists(p):  # the common refusal, without touching anything
            if unique:
                return None
            raise _exists_error(p)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be created: its folder cannot be made ({exc.strerror}).") from None
        try:
            lock = _Lock.acquire(p)
        except _Busy as busy:
            if unique:
                return None
            raise _busy_error(p, busy.pid) from None
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | _O_BINARY, 0o644)
        except FileExistsError:  # created since the check above
            _release(lock)
            if unique:
                return None
            raise _exists_error(p) from None
        except OSError as exc:
            _release(lock)
            raise JournalError(f"session journal {p} cannot be created ({exc.strerror}).") from None
        w = cls._attach(p, open(fd, "ab", buffering=0), lock, 0)
        try:
            w.write(header)
            w.sync()
        except (OSError, JournalWriteError) as exc:
            w._abandon()
            try:
                p.unlink()  # ours alone (O_EXCL), holding at most part of the header
            except OSError:
                pass
            cause = exc.__cause__ if isinstance(exc, JournalWriteError) else exc
            strerror = getattr(cause, "strerror", None) or str(cause)
            raise JournalError(f"session journal {p} cannot be written ({strerror}); nothing was recorded.") from None
        _fsync_dir(p.parent)
        return w

    @classmethod
    def append(cls, path: str | os.PathLike[str], *, truncate_at: int | None = None) -> JournalWriter:
        """Continue the journal at ``path`` (``--resume``).

        ``truncate_at``: the byte offset where the part the caller read ends (``JournalStream.offset``
        or ``JournalContents.offset``); anything after it (events written since, a cut-off line) is
        moved to ``<path>.cut-<UTC time>`` and the journal truncated there. Without it, only a cut-off
        last line (no newline) is moved there. ``JournalError`` when the file is missing, has no
        complete header line, shrank below ``truncate_at``, or another process holds its lock."""
        p = Path(path)
        if truncate_at is not None and truncate_at < 0:
            raise ValueError(f"truncate_at must be a byte offset, not {truncate_at}")
        if p.is_dir():
            raise JournalError(f"{p} is a directory; --resume needs a session journal file.")
        if not p.exists():
            raise JournalError(f"session journal {p} does not exist; check the path (recorded sessions are in sessions/).")
        try:
            lock = _Lock.acquire(p)
        except _Busy as busy:
            raise _busy_error(p, busy.pid) from None
        try:
            try:
                size, cut = cls._cut_tail(p, truncate_at)
            except OSError as exc:  # a full disk while saving the cut-off part, an I/O error
                raise JournalError(f"session journal {p} cannot be prepared for resuming ({exc.strerror or exc}); nothing was appended.") from None
            try:
                fd = os.open(p, os.O_WRONLY | os.O_APPEND | _O_BINARY)
            except OSError as exc:
                raise JournalError(f"session journal {p} cannot be opened for writing ({exc.strerror}).") from None
        except BaseException:
            _release(lock)
            raise
        w = cls._attach(p, open(fd, "ab", buffering=0), lock, size)
        w.cut_path = cut
        return w

    @staticmethod
    def _cut_tail(p: Path, truncate_at: int | None) -> tuple[int, Path | None]:
        """Cut the journal as ``append`` says; returns its new size and the sidecar (or None)."""
        try:
            fh = open(p, "r+b")
        except OSError as exc:
            raise JournalError(f"session journal {p} cannot be opened for writing ({exc.strerror}).") from None
        with fh:
            size = fh.seek(0, os.SEEK_END)
            if truncate_at is not None and truncate_at > size:
                raise JournalError(
                    f"session journal {p} is shorter ({size} bytes) than when it was read ({truncate_at} bytes), so it changed meanwhile; read it again before resuming."
                )
            if truncate_at is not None and truncate_at < size:
                if truncate_at == 0 or _byte_at(fh, truncate_at - 1) != b"\n":
                    raise ValueError(f"truncate_at={truncate_at} is not the end of a line of {p}")
                keep = truncate_at
            elif size == 0 or _byte_at(fh, size - 1) == b"\n":
                keep = size
            elif truncate_at == size:
                # the reader took the last line, complete but for its newline, as an event: end it
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n")
                fh.flush()
                os.fsync(fh.fileno())
                return size + 1, None
            else:
                keep = _last_line_start(fh, size)  # a line cut off by a crash
            if keep == 0:
                raise JournalError(f"session journal {p} has no complete session header to continue from; start a new session instead.")
            if keep == size:
                return size, None
            side = _save_tail(p, fh, keep, size)
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
            return keep, side

    # -- writing -------------------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """The journal's size in bytes so far: the end of the last line written."""
        return self._start + self.bytes_written

    def write(self, event: Event) -> None:
        """Append one event and hand it to the OS (the file is unbuffered: one ``write`` a line)."""
        fh = self._fh
        if fh is None:
            if self.error is not None:
                raise self.error
            return
        data = (dumps(event) + "\n").encode("utf-8")
        try:
            n = fh.write(data)
            if n is not None and n < len(data):  # a short write: the disk is nearly full
                view = memoryview(data)
                while n < len(data):
                    more = fh.write(view[n:])
                    if not more:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    n += more
            fh.flush()
        except OSError as exc:
            raise self._fail(exc) from exc
        self.lines_written += 1
        self.bytes_written += len(data)
        if type(event) is CycleCompleted:
            self.last_cycle = event.cycle

    def sync(self) -> None:
        """fsync: the cycle's events are on disk."""
        fh = self._fh
        if fh is None:
            if self.error is not None:
                raise self.error
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as exc:
            raise self._fail(exc) from exc

    def _fail(self, exc: OSError) -> JournalWriteError:
        """After a failed write or sync: cut the journal back to its last whole line (best effort: a
        resume cuts a partial last line anyway), close it, let go of the lock; the error to raise."""
        self.error = _write_failure(self.path, exc, self.last_cycle)
        fh = self._fh
        if fh is not None:
            try:
                fd = fh.fileno()
                if os.fstat(fd).st_size > self.offset:
                    os.ftruncate(fd, self.offset)
                os.fsync(fd)
            except (OSError, ValueError):
                pass
        try:
            self._abandon()
        except OSError:
            pass
        return self.error

    def close(self) -> None:
        """Sync, close and let go of the lock (its file is deleted). Closing twice, or after a write
        failure, does nothing."""
        if self._fh is None:
            return
        try:
            self.sync()
        finally:
            self._abandon()

    def _abandon(self) -> None:
        fh, self._fh = self._fh, None
        lock, self._lock = self._lock, None
        try:
            if fh is not None:
                try:
                    fh.close()
                except OSError:
                    pass  # unbuffered: nothing is lost; a failed close (NFS) was reported by fsync
        finally:
            _release(lock)

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
