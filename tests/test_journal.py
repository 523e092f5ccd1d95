"""Journal: JSONL round trip, truncated last line, corrupt middle line, coalesced deltas; one
session per journal (exclusive create, unique names, a lock per writer); resume with a cut saved to
a sidecar; streaming reads in constant memory."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine import events as ev
from arena_tui.engine import journal as journal_mod
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import (
    DeltaCoalescer,
    JournalWriter,
    dumps,
    open_journal,
    read_journal,
    session_file_name,
)

locking = pytest.mark.skipif(journal_mod.fcntl is None, reason="no flock on this platform")


def header() -> ev.SessionStarted:
    return ev.SessionStarted(0, 1_760_659_200_000, "t", "recorded", "recorded:x", ("BTC",), ({"name": "a", "kind": "rule-based", "model": ""},), 10_000.0, 300_000, {"fees": {"taker_fee_bp": 4.5}})


def sample_events() -> list[ev.Event]:
    position = ev.PositionRow("BTC", 1, 0.05, 108140.2, 108129.4, -0.54, 10.0, 98000.0, 105000.0, 112000.0)
    row = ev.LeaderboardRow(1, "a", "rule-based", 9997.5, -0.025, -2.5, 2.433, None, None, 0.0, 0)
    return [
        ev.CycleStarted(1, 1, "timer"),
        ev.MarketUpdated(1, 1, {"BTC": {"price": 108129.4, "funding_rate": -2.85e-06, "open_interest": None}}),
        ev.ReasoningDelta(1, 1, "a", "reasoning", "BTC: trend up ", 12.5),
        ev.OrderFilled(1, 1, "a", "BTC", "open", 1, 0.05, 108140.2, 108129.4, 5407.01, 2.433, 10.0, 540.7, 105000.0, 112000.0, "close < 104k", 0.7, 156.5),
        ev.AccountUpdated(1, 1, "a", 9456.8, 9997.5, 0.0, -0.54, 2.43, 0.0, -0.025, (position,)),
        ev.CycleCompleted(1, 1, 1.25, (row,)),
    ]


def write_journal(p: Path, events: list[ev.Event] | None = None) -> None:
    with JournalWriter.create(p, header()) as w:
        for e in sample_events() if events is None else events:
            w.write(e)


def test_round_trip(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter.create(p, header())
    for e in sample_events():
        w.write(e)
    assert w.lines_written == 7 and w.offset == w.bytes_written == p.stat().st_size
    w.close()
    got = read_journal(p)
    assert got.header == header()
    assert got.events == sample_events()
    assert got.warnings == []
    assert got.offset == p.stat().st_size
    first = json.loads(p.read_text().splitlines()[0])
    assert first["type"] == "SessionStarted" and first["schema"] == ev.SCHEMA_VERSION


def test_the_legacy_constructor_creates_or_appends(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter(p, header())  # a new journal: create()
    w.write(sample_events()[0])
    w.close()
    with pytest.raises(JournalError, match="already exists"):
        JournalWriter(p, header())
    w = JournalWriter(p)  # no header: append()
    w.write(sample_events()[1])
    w.close()
    assert read_journal(p).events == sample_events()[:2]


def test_truncated_last_line_is_dropped_with_a_warning(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    text = p.read_text()
    p.write_text(text[:-40])  # a crash mid-write
    got = read_journal(p)
    assert got.events == sample_events()[:-1]
    assert len(got.warnings) == 1 and "line 7 was cut off" in got.warnings[0]
    assert got.offset == len(text.encode()) - len(text.splitlines(keepends=True)[-1].encode())


def test_corrupt_middle_line_names_its_number(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    lines = p.read_text().splitlines(keepends=True)
    lines[3] = '{"type": "OrderFilled", "cycle": 1, oops\n'
    p.write_text("".join(lines))
    with pytest.raises(JournalError) as info:
        read_journal(p)
    assert "line 4 is corrupt" in str(info.value) and str(p) in str(info.value)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(JournalError, match="does not exist"):
        read_journal(tmp_path / "nope.jsonl")
    with pytest.raises(JournalError, match="is a directory"):
        read_journal(tmp_path)
    (tmp_path / "x.jsonl").write_text('{"type": "CycleStarted", "cycle": 1, "time": 1, "trigger": "timer"}\n')
    with pytest.raises(JournalError, match=r"is not an arena-tui journal \(its first line is not a session header\)"):
        read_journal(tmp_path / "x.jsonl")
    (tmp_path / "notes.txt").write_text("shopping\n- milk\n")
    with pytest.raises(JournalError, match="is not an arena-tui journal"):
        read_journal(tmp_path / "notes.txt")
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(JournalError, match="is empty: "):
        read_journal(tmp_path / "e.jsonl")
    (tmp_path / "h.jsonl").write_text(dumps(header())[:50])  # crashed while writing the header
    with pytest.raises(JournalError, match="only a cut-off session header"):
        read_journal(tmp_path / "h.jsonl")


def test_a_newer_schema_asks_for_an_upgrade(tmp_path):
    obj = header().to_json()
    obj["schema"] = ev.SCHEMA_VERSION + 1
    obj["a_field_from_the_future"] = 1
    (tmp_path / "n.jsonl").write_text(json.dumps(obj) + "\n")
    with pytest.raises(JournalError, match="newer than this arena-tui understands.*upgrade arena-tui"):
        open_journal(tmp_path / "n.jsonl")


def test_nan_infinity_and_huge_integers_read_as_json_reads_them(tmp_path):
    p = tmp_path / "s.jsonl"
    values = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "big": 2**70, "neg": -(2**63) - 1, "tiny": 0.00012345678901234568, "x": 0.1 + 0.2}
    write_journal(p, [ev.MarketUpdated(1, 1, {"BTC": values})])
    (got,) = read_journal(p).events
    coins = got.coins["BTC"]
    assert coins["nan"] != coins["nan"] and coins["inf"] == float("inf") and coins["ninf"] == float("-inf")
    assert coins["big"] == 2**70 and type(coins["big"]) is int and coins["neg"] == -(2**63) - 1
    assert coins["tiny"] == 0.00012345678901234568 and coins["x"] == 0.1 + 0.2


def test_the_orjson_and_json_paths_agree(tmp_path, monkeypatch):
    p = tmp_path / "s.jsonl"
    write_journal(p, sample_events() + [ev.MarketUpdated(2, 2, {"BTC": {"p": 1 / 3, "q": 1e-300, "r": 5e-324, "s": float("nan")}})])
    fast = read_journal(p)
    monkeypatch.setattr(journal_mod, "_orjson_loads", None)
    slow = read_journal(p)
    assert repr(fast.events) == repr(slow.events)  # repr: NaN != NaN


# --- one session per journal ----------------------------------------------------------------------


def test_create_refuses_an_existing_file_and_leaves_it_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"call the bank\nbuy milk")  # no trailing newline
    with pytest.raises(JournalError) as info:
        JournalWriter.create(notes, header())
    msg = str(info.value)
    assert f"session journal {notes} already exists" in msg and f"--resume {notes}" in msg
    assert notes.read_bytes() == b"call the bank\nbuy milk"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["notes.txt"]  # no lock file left either
    # an existing journal likewise (the old constructor appended into it)
    p = tmp_path / "s.jsonl"
    write_journal(p)
    before = p.read_bytes()
    with pytest.raises(JournalError, match="already exists"):
        JournalWriter.create(p, header())
    assert p.read_bytes() == before


def test_create_refuses_a_directory(tmp_path):
    d = tmp_path / "runs"
    d.mkdir()
    with pytest.raises(JournalError, match=r"is a directory; --journal needs a file path\."):
        JournalWriter.create(d, header())
    assert list(d.iterdir()) == []


def test_create_makes_parent_folders(tmp_path):
    p = tmp_path / "a" / "b" / "s.jsonl"
    JournalWriter.create(p, header()).close()
    assert read_journal(p).header == header()


def test_session_file_name():
    now = datetime(2025, 10, 17, 1, 2, 3, tzinfo=timezone.utc)
    assert session_file_name("my run/1", now) == "20251017T010203Z-my-run-1.jsonl"
    assert session_file_name("??", now) == "20251017T010203Z-session.jsonl"


def test_create_unique_in_the_same_second_gives_separate_files(tmp_path):
    now = datetime(2025, 10, 17, 1, 2, 3, tzinfo=timezone.utc)
    writers = [JournalWriter.create_unique(tmp_path / "sessions", "demo", header(), now=now) for _ in range(3)]
    names = [w.path.name for w in writers]
    assert names == ["20251017T010203Z-demo.jsonl", "20251017T010203Z-demo-2.jsonl", "20251017T010203Z-demo-3.jsonl"]
    for i, w in enumerate(writers):
        w.write(ev.CycleStarted(i + 1, 1, "timer"))
        w.close()
    for i, w in enumerate(writers):
        assert read_journal(w.path).events == [ev.CycleStarted(i + 1, 1, "timer")]
    # a name taken by any file (not a journal) is skipped, never written into
    (tmp_path / "sessions" / "20251017T010203Z-demo-4.jsonl").write_text("mine")
    w = JournalWriter.create_unique(tmp_path / "sessions", "demo", header(), now=now)
    w.close()
    assert w.path.name == "20251017T010203Z-demo-5.jsonl"
    assert (tmp_path / "sessions" / "20251017T010203Z-demo-4.jsonl").read_text() == "mine"


@locking
def test_create_unique_skips_a_name_being_claimed(tmp_path):
    # another process holds the lock of the first name but has not created the file yet
    now = datetime(2025, 10, 17, 1, 2, 3, tzinfo=timezone.utc)
    first = tmp_path / session_file_name("demo", now)
    lock = journal_mod._Lock.acquire(first)
    try:
        w = JournalWriter.create_unique(tmp_path, "demo", header(), now=now)
        w.close()
        assert w.path.name == "20251017T010203Z-demo-2.jsonl" and not first.exists()
    finally:
        lock.release()


@locking
def test_a_second_writer_in_the_same_process_is_refused(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter.create(p, header())
    lock_file = Path(f"{p}.lock")
    assert lock_file.read_text().strip() == str(os.getpid())
    with pytest.raises(JournalError) as info:
        JournalWriter.append(p)
    assert f"(pid {os.getpid()})" in str(info.value) and str(p) in str(info.value)
    w.write(sample_events()[0])
    w.close()
    assert not lock_file.exists()
    w = JournalWriter.append(p)  # free again
    w.write(sample_events()[1])
    w.close()
    assert read_journal(p).events == sample_events()[:2]


_HOLDER = """
import sys
from arena_tui.engine.journal import JournalWriter
w = JournalWriter.append(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
w.close()
"""


@locking
def test_a_writer_in_another_process_is_named_by_its_pid(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    before = p.read_bytes()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(p)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(JournalError) as info:
            JournalWriter.append(p)
        msg = str(info.value)
        assert f"is being written by another arena-tui process (pid {holder.pid})" in msg and f"--replay {p}" in msg
        # reading is never locked out
        assert read_journal(p).events == sample_events()
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    assert p.read_bytes() == before
    JournalWriter.append(p).close()


@locking
def test_a_stale_lock_file_does_not_block(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    Path(f"{p}.lock").write_text("999999999\n")  # left by a killed process: the kernel let go of its lock
    w = JournalWriter.append(p)
    assert Path(f"{p}.lock").read_text().strip() == str(os.getpid())
    w.close()
    assert not Path(f"{p}.lock").exists()


def test_without_flock_writers_are_not_locked(tmp_path, monkeypatch):
    monkeypatch.setattr(journal_mod, "fcntl", None)  # as on Windows
    p = tmp_path / "s.jsonl"
    w = JournalWriter.create(p, header())
    assert not Path(f"{p}.lock").exists()
    w.close()
    JournalWriter.append(p).close()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["s.jsonl"]


# --- resuming -------------------------------------------------------------------------------------


def test_appending_after_a_crash_cuts_the_partial_line(tmp_path):
    p = tmp_path / "s.jsonl"
    w = JournalWriter.create(p, header())
    w.write(sample_events()[0])
    w.close()
    with open(p, "a") as fh:
        fh.write('{"type": "Cycle')  # crash mid-write
    w = JournalWriter.append(p)  # resume
    assert w.cut_path is not None and w.cut_path.read_bytes() == b'{"type": "Cycle'
    assert w.offset == p.stat().st_size
    w.write(sample_events()[1])
    w.close()
    got = read_journal(p)
    assert got.events == sample_events()[:2] and got.warnings == []


def test_append_with_truncate_at_saves_the_tail(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    with open_journal(p) as stream:
        for i, _ in enumerate(stream):
            if i == 2:
                break
        at = stream.offset
    whole = p.read_bytes()
    with JournalWriter.append(p, truncate_at=at) as w:
        assert w.offset == at
        assert w.cut_path.name.startswith("s.jsonl.cut-") and w.cut_path.read_bytes() == whole[at:]
        w.write(ev.SessionResumed(1, 1, "resume"))
        assert w.offset == p.stat().st_size
    assert read_journal(p).events == [*sample_events()[:3], ev.SessionResumed(1, 1, "resume")]
    # a second cut in the same second gets its own sidecar
    with JournalWriter.append(p, truncate_at=at):
        pass
    assert len(list(tmp_path.glob("s.jsonl.cut-*"))) == 2
    assert sorted(x.read_bytes() for x in tmp_path.glob("s.jsonl.cut-*")) == sorted([whole[at:], dumps(ev.SessionResumed(1, 1, "resume")).encode() + b"\n"])


def test_append_at_the_end_cuts_nothing(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    contents = read_journal(p)
    with JournalWriter.append(p, truncate_at=contents.offset) as w:
        assert w.cut_path is None
    assert list(tmp_path.glob("*.cut-*")) == []
    # a last line complete but for its newline was read as an event: resuming keeps it
    p.write_bytes(p.read_bytes()[:-1])
    contents = read_journal(p)
    assert contents.events == sample_events() and contents.offset == p.stat().st_size
    with JournalWriter.append(p, truncate_at=contents.offset) as w:
        w.write(ev.SessionResumed(1, 1, "resume"))
    assert read_journal(p).events == [*sample_events(), ev.SessionResumed(1, 1, "resume")]


def test_append_refusals(tmp_path):
    with pytest.raises(JournalError, match="does not exist"):
        JournalWriter.append(tmp_path / "nope.jsonl")
    with pytest.raises(JournalError, match="is a directory"):
        JournalWriter.append(tmp_path)
    p = tmp_path / "s.jsonl"
    write_journal(p)
    size = p.stat().st_size
    with pytest.raises(JournalError, match="shorter"):
        JournalWriter.append(p, truncate_at=size + 10)
    with pytest.raises(ValueError):
        JournalWriter.append(p, truncate_at=5)  # not a line end
    (tmp_path / "e.jsonl").write_bytes(b"")
    with pytest.raises(JournalError, match="no complete session header"):
        JournalWriter.append(tmp_path / "e.jsonl")
    assert p.stat().st_size == size and list(tmp_path.glob("*.cut-*")) == [] and list(tmp_path.glob("*.lock")) == []


# --- streaming ------------------------------------------------------------------------------------


def test_streaming_reports_line_and_offset(tmp_path):
    p = tmp_path / "s.jsonl"
    write_journal(p)
    ends = list(itertools.accumulate(len(x) for x in p.read_bytes().splitlines(keepends=True)))
    with open_journal(p) as stream:
        assert stream.header == header() and stream.line == 1 and stream.offset == ends[0]
        for i, e in enumerate(stream, start=2):
            assert e == sample_events()[i - 2]
            assert stream.line == i and stream.offset == ends[i - 1]
    assert stream.warnings == []


def test_streaming_a_large_journal_does_not_hold_it(tmp_path):
    p = tmp_path / "big.jsonl"
    n = 200_000
    line = '{"type":"CycleStarted","cycle":%d,"time":%d,"trigger":"timer"}\n'
    assert line % (1, 2) == dumps(ev.CycleStarted(1, 2, "timer")) + "\n"
    p.write_text(dumps(header()) + "\n" + "".join([line % (i, 1_760_659_200_000 + i) for i in range(1, n + 1)]))
    size = p.stat().st_size
    assert size > 10_000_000
    count = last = 0
    tracemalloc.start()
    try:
        with open_journal(p) as stream:
            for e in stream:
                count += 1
                last = e.cycle
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n and last == n and stream.offset == size
    assert peak < size / 50, f"peak {peak} bytes while streaming a {size}-byte journal"


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["reasoning", "answer"]), st.text(min_size=1, max_size=5), st.floats(0, 50)), max_size=60))
def test_coalescer_keeps_all_text_in_order(pieces):
    out: list[ev.ReasoningDelta] = []
    c = DeltaCoalescer(out.append, window_ms=100)
    t = 0.0
    for agent, kind, text, dt in pieces:
        t += dt
        c.add(ev.ReasoningDelta(1, 1, agent, kind, text, t))
    c.flush()
    for agent in ("a", "b"):
        for kind in ("reasoning", "answer"):
            want = "".join(p[2] for p in pieces if p[0] == agent and p[1] == kind)
            got = "".join(d.text for d in out if d.agent == agent and d.kind == kind)
            assert got == want
    # chunks are bounded in stream time
    assert len(out) <= len(pieces)


def test_unknown_or_malformed_events_are_refused():
    with pytest.raises(ev.EventDecodeError, match="unknown event type"):
        ev.from_json({"type": "Nope"})
    with pytest.raises(ev.EventDecodeError, match="unexpected fields"):
        ev.from_json({"type": "CycleStarted", "cycle": 1, "time": 1, "bogus": 2})
    with pytest.raises(ev.EventDecodeError):
        ev.from_json({"type": "OrderFilled", "cycle": 1})


def test_a_lone_surrogate_and_line_separators_are_journaled_exactly(tmp_path):
    """A model can stream a lone surrogate ("\\ud800" is valid JSON, not UTF-8): the writer used to
    raise UnicodeEncodeError and end the session. It is escaped instead, as are U+2028/U+2029 (other
    line splitters treat them as line breaks); the text reads back exactly."""
    p = tmp_path / "s.jsonl"
    w = JournalWriter.create(p, header())
    events = [
        ev.ReasoningDelta(1, 1, "a", "reasoning", "x\ud800y \udfff", 0.0),
        ev.ReasoningDelta(1, 1, "a", "answer", "line\u2028sep\u2029para é", 0.1),
    ]
    for e in events:
        w.write(e)
    w.close()
    raw = p.read_bytes()
    raw.decode("utf-8")  # valid UTF-8 throughout
    assert "\u2028".encode() not in raw and "\u2029".encode() not in raw
    assert len(raw.splitlines()) == 3
    assert read_journal(p).events == events


def test_journal_in_use_never_raises(tmp_path):
    """A lock file of garbage (a pid no process can have) or a path with no file name: not in use."""
    from arena_tui.engine.journal import journal_in_use

    p = tmp_path / "s.jsonl"
    for junk in ("99999999999999999999999999\n", "-5\n", "abc\n", ""):
        Path(f"{p}.lock").write_text(junk)
        assert journal_in_use(p) is False, junk
    assert journal_in_use(Path("/")) is False
