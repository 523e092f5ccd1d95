"""``arena-tui sessions``: the journals of a sessions directory, one summary each.

A summary (``SessionSummary``) is read through ``engine.journal.open_journal`` and folded by the one
``ArenaState``: the header gives the name, start time, market and agents; the fold gives the cycles
completed, the market window and the leader (the best agent of the last ``CycleCompleted``'s
recorded leaderboard; the BTC buy-and-hold benchmark is not a contestant). A compact (schema 4)
journal's last leaderboard is written as changes from the lines before it, so it can only be known by
reading the journal to its end: about 0.25 s per MB. Summaries of journals not in use are therefore
cached by file identity (device, inode, size, modification time: any append changes them) in
``<user cache dir>/sessions-index.json``, so listing again reads only the journals that changed.

States: ``complete`` (ends with ``SessionEnded`` after a completed cycle), ``cut off`` (a crash or a
kill: the journal ends mid-cycle, without its end event, or with a cut-off line), ``in use`` (a live
lock on ``<journal>.lock``: a process is writing it), ``corrupt`` (a line that does not decode: the
figures are those of the lines before it) and ``unreadable`` (not a journal, empty, or from a newer
arena-tui). A journal from elsewhere never raises out of ``summarize``: its problem is a sentence.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time as _time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import journal_in_use as in_use  # (re-exported: the listing's "in use")
from arena_tui.engine.journal import open_journal
from arena_tui.engine.state import ArenaState

log = logging.getLogger(__name__)

COMPLETE, CUT_OFF, IN_USE, CORRUPT, UNREADABLE = "complete", "cut off", "in use", "corrupt", "unreadable"
CACHE_VERSION = 1


@dataclass
class SessionSummary:
    """One journal as the listing shows it. Times: ``start_ms``/``end_ms`` the market clock (ms since
    the epoch, UTC) of the session's start and of its last completed cycle; ``started_at`` the wall
    clock the session started at (ISO-8601 text as the header holds it). ``leader_return_pct``
    percent. ``problem``: a sentence for a journal that is not ``complete`` (None when it is)."""

    path: str
    name: str
    state: str
    problem: str | None = None
    started_at: str = ""
    mode: str = ""
    source: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    agents: list[str] = field(default_factory=list)
    cycles: int = 0
    leader: str | None = None
    leader_return_pct: float | None = None
    mtime: float = 0.0

    def sort_key(self) -> float:
        """Newest first: the wall-clock start, or the file's modification time when unknown."""
        try:
            t = datetime.fromisoformat(self.started_at)
            if t.tzinfo is None:
                t = t.replace(tzinfo=timezone.utc)
            return t.timestamp()
        except (ValueError, TypeError, OverflowError, OSError):
            return self.mtime


def summarize(path: Path) -> SessionSummary:
    """The summary of the journal at ``path`` (read to its end, folded); never raises for what the
    file holds: a journal that cannot be read is a summary with ``state`` and ``problem``."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    s = SessionSummary(str(path), path.name, UNREADABLE, mtime=mtime)
    busy = in_use(path)
    try:
        stream = open_journal(path)
    except JournalError as exc:
        s.problem = str(exc)
        if busy:
            s.state = IN_USE  # a session writing its header this moment
        return s
    state = ArenaState(stream.header)
    h = stream.header
    s.started_at = h.started_at if isinstance(h.started_at, str) else ""
    s.mode, s.source = str(h.mode), str(h.source)
    s.start_ms = h.time
    s.agents = list(state.agents)
    try:
        with stream:
            for event in stream:
                state.apply(event)
    except JournalError as exc:
        s.state, s.problem = CORRUPT, str(exc)
    _figures(s, state)
    if s.state == CORRUPT:
        pass
    elif busy:
        s.state, s.problem = IN_USE, "a process is writing it now."
    elif stream.warnings:
        s.state, s.problem = CUT_OFF, " ".join(stream.warnings)
    elif state.cycle > state.completed_cycle:
        s.state, s.problem = CUT_OFF, f"it ends in the middle of cycle {state.cycle} (a crash or a kill); arena-tui --resume continues it."
    elif state.ended is None:
        s.state, s.problem = CUT_OFF, "it ends without its end event (a crash or a kill); arena-tui --resume continues it."
    else:
        s.state = COMPLETE
    if busy and s.state == CORRUPT:
        s.state = IN_USE
    return s


def _figures(s: SessionSummary, state: ArenaState) -> None:
    s.cycles = state.cycles_completed
    s.end_ms = state.completed_time
    leader = next((r for r in state.leaderboard if r.kind != "benchmark"), None)
    if leader is not None:
        s.leader, s.leader_return_pct = leader.agent, leader.return_pct


def journals_in(directory: Path) -> list[Path]:
    """The session journals in ``directory``: its ``*.jsonl`` files (not the ``.lock`` or a resume's
    ``.cut-<time>`` files beside them), by name."""
    try:
        return sorted(p for p in directory.iterdir() if p.suffix == ".jsonl" and not p.is_dir())
    except FileNotFoundError:
        raise JournalError(f"the sessions directory {directory} does not exist; give a directory of session journals (arena-tui sessions DIR).") from None
    except NotADirectoryError:
        raise JournalError(f"{directory} is a file, not a sessions directory; list a directory, or replay the file with --replay {directory}.") from None
    except OSError as exc:
        raise JournalError(f"the sessions directory {directory} cannot be read ({exc.strerror}).") from None


def default_cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("arena-tui", appauthor=False)) / "sessions-index.json"


def _identity(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def _load_cache(cache: Path) -> dict:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("journals"), dict):
        return {}
    return data["journals"]


def _cached(entry: object, identity: list[int]) -> SessionSummary | None:
    if not isinstance(entry, dict) or entry.get("identity") != identity or not isinstance(entry.get("summary"), dict):
        return None
    try:
        s = SessionSummary(**entry["summary"])
    except TypeError:
        return None
    fields = (s.path, s.name, s.state, s.started_at, s.mode, s.source)
    if not all(isinstance(v, str) for v in fields) or not isinstance(s.agents, list) or type(s.cycles) is not int:
        return None
    return s


def _save_cache(cache: Path, journals: dict) -> None:
    if len(journals) > 2000:  # keep the newest entries' worth; a listing rebuilds the rest
        journals = dict(list(journals.items())[-2000:])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "journals": journals}), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError as exc:  # a cache is an optimisation; listing works without it
        log.info("sessions cache %s not written: %s", cache, exc)


@dataclass
class Listing:
    """``list_sessions``'s answer: the summaries newest first, how many were read (not cached) and
    the seconds listing took."""

    directory: Path
    sessions: list[SessionSummary]
    read: int
    seconds: float


def list_sessions(directory: str | os.PathLike[str], cache: Path | None = None, progress: Callable[[int, int], None] | None = None) -> Listing:
    """Summaries of the journals in ``directory`` (``journals_in``), newest first. ``cache``: the
    summary cache file (None: none), read and updated. ``progress(done, total)``: called as each
    journal is summarised (a long one takes seconds to read). Raises ``JournalError`` (one sentence)
    only when the directory itself cannot be listed."""
    t0 = _time.perf_counter()
    directory = Path(directory)
    paths = journals_in(directory)
    entries = _load_cache(cache) if cache is not None else {}
    changed = False
    out: list[SessionSummary] = []
    read = 0
    if progress is not None:
        progress(0, len(paths))
    for p in paths:
        key = str(p.resolve())
        ident = _identity(p)
        s = _cached(entries.get(key), ident) if ident is not None and not in_use(p) else None
        if s is None:
            s = summarize(p)
            read += 1
            if ident is not None and s.state != IN_USE and _identity(p) == ident:
                entries.pop(key, None)
                entries[key] = {"identity": ident, "summary": asdict(s)}
                changed = True
        s.path, s.name = str(p), p.name  # the directory as given (the cache keys the resolved path)
        out.append(s)
        if progress is not None:
            progress(len(out), len(paths))
    if cache is not None and changed:
        _save_cache(cache, entries)
    out.sort(key=SessionSummary.sort_key, reverse=True)
    return Listing(directory, out, read, _time.perf_counter() - t0)


# --- the table ------------------------------------------------------------------------------------


def _minute(ms: int | None) -> str | None:
    if not isinstance(ms, int) or isinstance(ms, bool):
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return None


def market_text(s: SessionSummary) -> tuple[str, str]:
    """``("recorded", "2025-10-21 12:00→15:00")`` (UTC; a live session: ``"live hyperliquid"``): the
    mode with a live session's exchange, and the market clock from the start to the last completed
    cycle (the day left out of the end when it is the start's)."""
    mode = s.mode or "?"
    if mode == "live" and s.source.startswith("live:"):
        mode = f"live {s.source[5:]}"
    a, b = _minute(s.start_ms), _minute(s.end_ms)
    if a is None:
        return mode, ""
    if b is None or b == a:
        return mode, a
    if b[:10] == a[:10]:
        b = b[11:]
    return mode, f"{a}→{b}"


def _market_lines(s: SessionSummary) -> list[str]:
    """``market_text`` as the lines of a narrow table cell, no date broken: the mode, the start,
    then the end after an arrow without what it shares with the start (``2025-10-17 00:00`` /
    ``→ 11-02 23:55``; the same day: ``→ 15:00``)."""
    mode, span = market_text(s)
    a, b = _minute(s.start_ms), _minute(s.end_ms)
    if a is None or b is None or b == a or "→" not in span:
        return [t for t in (mode, span) if t]
    if b[:10] == a[:10]:
        b = b[11:]
    elif b[:4] == a[:4]:
        b = b[5:]
    return [t for t in (mode, a, f"→ {b}") if t]


def started_text(s: SessionSummary) -> str:
    """The wall-clock start, ``YYYY-MM-DD HH:MM`` UTC (the header's text when it is not a time)."""
    try:
        t = datetime.fromisoformat(s.started_at)
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError, OverflowError, OSError):
        return s.started_at or ""


_STATE_STYLE = {COMPLETE: "green", CUT_OFF: "yellow", IN_USE: "cyan", CORRUPT: "red", UNREADABLE: "red"}


def sessions_table(listing: Listing, width: int = 120):
    """The listing as a rich ``Table``, newest first: session (file name), started (wall clock),
    market, agents, cycles, leader, its return, state and the problem. Every text from a journal or
    a file name is made safe (``safe_line``) and drawn as ``Text``, never markup. ``width``: the
    console's columns; a file name stays on one line when the table still fits (at 120 columns for
    the usual names), else the names fold so the other columns keep their words; under 100 the
    started column is left out."""
    from rich.console import Console
    from rich.measure import Measurement

    # measured without the problems (a path in one is a long word, and the state column folds it)
    console = Console(width=10_000, file=io.StringIO())  # (a measure is clamped to the width it is given)
    fits = Measurement.get(console, console.options, _sessions_table(listing, width, whole=True, problems=False)).minimum <= width
    return _sessions_table(listing, width, whole=fits)


def _sessions_table(listing: Listing, width: int, *, whole: bool, problems: bool = True):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from arena_tui.engine.sanitize import safe_line

    n = len(listing.sessions)
    title = f"{n} session{'s' if n != 1 else ''} in {listing.directory} (times UTC)"
    table = Table(title=Text(safe_line(title, limit=None)), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # whole: every file name on one line (a UTC time and a short name); else they fold (a session
    # named after its models, or a narrower terminal), so that the figures need not
    table.add_column("session", overflow="fold", no_wrap=whole, max_width=None if whole else 32)
    started = width >= 100  # (a default file name holds it too: left out on a narrow terminal)
    if started:
        table.add_column("started", no_wrap=True)
    table.add_column("market", overflow="fold", width=16)  # (lines of at most 16: "2025-10-17 00:00")
    table.add_column("agents", justify="right", no_wrap=True)
    table.add_column("cycles", justify="right", no_wrap=True)
    table.add_column("leader", overflow="fold", min_width=12)  # ("(rule-based)" whole)
    table.add_column("return", justify="right", no_wrap=True)
    table.add_column("state", overflow="fold", min_width=8)  # ("complete" whole)
    for s in listing.sessions:
        ret = s.leader_return_pct
        ret_text = Text(f"{ret:+.2f}%", style="green" if ret > 0 else ("red" if ret < 0 else "")) if isinstance(ret, (int, float)) else Text("-")
        state = Text(s.state, style=_STATE_STYLE.get(s.state, ""))
        if problems and s.problem and s.state != COMPLETE:
            state.append(": " + safe_line(s.problem, limit=240))
        cells = [
            Text(safe_line(s.name, limit=60)),
            Text(started_text(s).replace(" ", "\n", 1)),  # (the date, then the time: a narrow column)
            Text("\n".join(safe_line(t, limit=60) for t in _market_lines(s))),
            str(len(s.agents)) if s.agents else "-",
            str(s.cycles) if s.state != UNREADABLE else "-",
            Text(safe_line(s.leader, limit=40) if s.leader else "-"),
            ret_text,
            state,
        ]
        if not started:
            del cells[1]
        table.add_row(*cells)
    return table
