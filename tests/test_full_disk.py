"""A full disk (or any write error) stops a session with one sentence, leaves the journal ending at its
last whole line, and the session resumes once there is space again.

The disk is never really filled: the writer's file object is wrapped so that it accepts a budget of
bytes (the last write that crosses the budget is written in part, as a nearly full disk does) and
then raises ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arena_tui.engine import events as ev
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import JournalWriteError, JournalWriter, read_journal
from arena_tui.engine.verify import verify_journal

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "sessions" / "demo.jsonl"


class FullDisk:
    """A file object that takes ``budget`` more bytes, then fails as a full disk does."""

    def __init__(self, fh, budget: int, err: int = errno.ENOSPC) -> None:
        self.fh, self.left, self.err = fh, budget, err

    def write(self, data) -> int:
        if self.left <= 0:
            raise OSError(self.err, os.strerror(self.err))
        data = bytes(data)
        if len(data) > self.left:
            data = data[: self.left]
        n = self.fh.write(data)
        self.left -= n
        return n

    def flush(self) -> None:
        self.fh.flush()

    def fileno(self) -> int:
        return self.fh.fileno()

    def close(self) -> None:
        self.fh.close()


def demo_events():
    c = read_journal(DEMO)
    return c.header, c.events


def test_writer_stops_with_a_sentence_and_cuts_the_half_line(tmp_path):
    header, events = demo_events()
    path = tmp_path / "j.jsonl"
    w = JournalWriter.create(path, header)
    w._fh = FullDisk(w._fh, 60_000)
    written = 0
    with pytest.raises(JournalWriteError) as info:
        for e in events:
            w.write(e)
            written += 1
    msg = str(info.value)
    assert msg.startswith(f"cannot write session journal {path}: no space left on device; the session stopped ")
    assert msg.endswith(f"free some space and continue it with --resume {path}.")
    assert "\n" not in msg
    # the journal ends at its last whole line: the header and the events written whole
    data = path.read_bytes()
    assert data.endswith(b"\n") and len(data) == w.offset
    assert len(read_journal(path).events) == written
    # later writes raise the same sentence (the session cannot run on unjournaled); close does nothing
    with pytest.raises(JournalWriteError):
        w.write(events[0])
    with pytest.raises(JournalWriteError):
        w.sync()
    w.close()
    assert not path.with_name(path.name + ".lock").exists()  # the lock is let go


def test_the_message_names_the_last_whole_cycle(tmp_path):
    header, events = demo_events()
    path = tmp_path / "j.jsonl"
    # room for exactly cycle 1 (as the writer encodes it) and the next line's first bytes
    upto = next(i for i, e in enumerate(events) if isinstance(e, ev.CycleCompleted))
    ref = JournalWriter.create(tmp_path / "ref.jsonl", header)
    before = ref.offset
    for e in events[: upto + 1]:
        ref.write(e)
    ref.sync()
    size = ref.offset - before
    ref.close()
    w = JournalWriter.create(path, header)
    w._fh = FullDisk(w._fh, size + 10)
    with pytest.raises(JournalWriteError, match="the session stopped after cycle 1;"):
        for e in events:
            w.write(e)
    w.close()


def test_an_io_error_on_fsync_is_a_sentence_too(tmp_path, monkeypatch):
    header, events = demo_events()
    path = tmp_path / "j.jsonl"
    w = JournalWriter.create(path, header)
    w.write(events[0])

    def fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr("arena_tui.engine.journal.os.fsync", fsync)
    with pytest.raises(JournalWriteError, match=r"input/output error; the session stopped before its first cycle was complete; once the disk is writable again, continue it with --resume"):
        w.sync()
    monkeypatch.undo()
    assert read_journal(path).events == [events[0]]


def test_a_full_disk_while_creating_the_journal(tmp_path, monkeypatch):
    header, _ = demo_events()
    path = tmp_path / "j.jsonl"
    original = JournalWriter._attach.__func__

    def attach(cls, p, fh, lock, size):
        return original(cls, p, FullDisk(fh, 100), lock, size)

    monkeypatch.setattr(JournalWriter, "_attach", classmethod(attach))
    with pytest.raises(JournalError, match="cannot be written \\(No space left on device\\); nothing was recorded"):
        JournalWriter.create(path, header)
    assert not path.exists()


# --- a whole session, on the command line --------------------------------------------------------

DRIVER = textwrap.dedent(
    """
    import errno, os, sys
    from arena_tui.engine import journal
    budget = int(os.environ["FULL_DISK_AFTER"])

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh
        def write(self, data):
            global budget
            if budget <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = bytes(data)[:budget]
            n = self.fh.write(data)
            budget -= n
            return n
        def flush(self):
            self.fh.flush()
        def fileno(self):
            return self.fh.fileno()
        def close(self):
            self.fh.close()

    original = journal.JournalWriter._attach.__func__
    journal.JournalWriter._attach = classmethod(lambda cls, p, fh, lock, size: original(cls, p, FullDisk(fh), lock, size))
    from arena_tui.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def arena(args, cwd: Path, full_after: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    if full_after is None:
        cmd = [sys.executable, "-m", "arena_tui", *args]
    else:
        cmd = [sys.executable, "-c", DRIVER, *args]
        env["FULL_DISK_AFTER"] = str(full_after)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def test_a_full_disk_stops_the_session_with_a_sentence_and_it_resumes(tmp_path):
    start = ["--start", "2025-10-17T00:00:00Z"]
    ref = tmp_path / "ref.jsonl"
    p = arena(["--headless", "--cycles", "6", *start, "--journal", str(ref)], tmp_path)
    assert p.returncode == 0, p.stderr
    lines = ref.read_bytes().splitlines(keepends=True)
    # the disk fills in the middle of a line of cycle 4
    cycle4 = next(i for i, raw in enumerate(lines) if json.loads(raw)["type"] == "CycleStarted" and json.loads(raw)["cycle"] == 4)
    budget = sum(len(x) for x in lines[: cycle4 + 3]) + len(lines[cycle4 + 3]) // 2

    j = tmp_path / "j.jsonl"
    p = arena(["--headless", "--cycles", "6", *start, "--journal", str(j)], tmp_path, full_after=budget)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr + p.stdout
    err = p.stderr.strip().splitlines()
    assert len(err) == 1, p.stderr
    assert err[0] == (
        f"arena-tui: cannot write session journal {j}: no space left on device; the session stopped after cycle 3; "
        f"free some space and continue it with --resume {j}."
    )
    data = j.read_bytes()
    # the last whole line (durations are wall clock, so line lengths differ a little from the reference)
    assert data.endswith(b"\n")
    got = read_journal(j).events
    assert got[-1].cycle == 4 and not any(isinstance(e, ev.CycleCompleted) and e.cycle == 4 for e in got)
    assert not j.with_name(j.name + ".lock").exists()

    # space again: the journal verifies as it is, resumes, and the result equals an uninterrupted run
    p = arena(["--replay", str(j), "--headless"], tmp_path)
    assert p.returncode == 0 and "verified 3 cycles" in p.stdout and "cycle 4 was cut off" in p.stdout, p.stdout + p.stderr
    p = arena(["--resume", str(j), "--headless", "--cycles", "3"], tmp_path)
    assert p.returncode == 0, p.stderr
    p = arena(["--replay", str(j), "--headless"], tmp_path)
    assert p.returncode == 0 and "verified 6 cycles" in p.stdout, p.stdout + p.stderr
    ours, theirs = verify_journal(j).state.standings(), verify_journal(ref).state.standings()
    assert ours == theirs


def test_a_full_disk_before_the_first_cycle_completes(tmp_path):
    j = tmp_path / "j.jsonl"
    header_size = 20_000  # the header is a few kB; cycle 1's market data is far larger
    p = arena(["--headless", "--cycles", "2", "--start", "2025-10-17T00:00:00Z", "--journal", str(j)], tmp_path, full_after=header_size)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert "the session stopped before its first cycle was complete" in p.stderr
    assert j.read_bytes().endswith(b"\n")
    p = arena(["--resume", str(j), "--headless", "--cycles", "2"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert verify_journal(j).cycles == 2
