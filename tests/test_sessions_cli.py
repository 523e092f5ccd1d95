"""``arena-tui sessions``: real journals listed with their figures and state (complete, cut off, in
use, corrupt), hostile files as rows with their problem; the subcommands leave the session flags as
they were; the message after the screen closes says how to export."""

from __future__ import annotations

import asyncio
import os
import shutil
import types
from pathlib import Path

import pytest

from arena_tui import cli
from arena_tui.cli import main
from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import JournalWriter, open_journal, read_journal
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.state import ArenaState
from arena_tui.sessions import COMPLETE, CORRUPT, CUT_OFF, IN_USE, UNREADABLE, list_sessions, summarize

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sessions" / "demo.jsonl"


@pytest.fixture(autouse=True)
def _cache_home(tmp_path, monkeypatch):
    """The summary cache of ``arena-tui sessions`` goes to this test's directory, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """A real headless session of 6 cycles (the rule-based baselines), ended normally."""
    tmp = tmp_path_factory.mktemp("recorded")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-20T00:00:00Z"}, "arena": {"sessions_dir": str(tmp)}})
    path = tmp / "run.jsonl"
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=path, max_cycles=6, pace=0)
    asyncio.run(session.run(lambda e: None))
    return path


def final_state(path: Path) -> ArenaState:
    contents = read_journal(path)
    state = ArenaState(contents.header)
    for e in contents.events:
        state.apply(e)
    return state


def offset_before_last(path: Path, kind: type[ev.Event]) -> int:
    """The byte offset where the journal's last event of ``kind`` starts (its line), read through the
    journal reader: cutting the file there leaves what a kill just before that event leaves."""
    at = None
    with open_journal(path) as stream:
        for e in stream:
            if type(e) is kind:
                at = stream.line_start
    assert at is not None
    return at


def test_a_complete_journal_shows_the_folds_figures(recorded, tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    shutil.copyfile(recorded, d / "run.jsonl")
    shutil.copyfile(DEMO, d / "demo.jsonl")
    listing = list_sessions(d)
    by_name = {s.name: s for s in listing.sessions}
    for name, source in (("run.jsonl", recorded), ("demo.jsonl", DEMO)):
        s, state = by_name[name], final_state(source)
        assert s.state == COMPLETE and s.problem is None
        assert s.cycles == state.cycles_completed
        best = next(r for r in state.leaderboard if r.kind != "benchmark")
        assert (s.leader, s.leader_return_pct) == (best.agent, best.return_pct)
        assert s.agents == list(state.agents) and s.mode == "recorded"
        assert (s.start_ms, s.end_ms) == (state.header.time, state.completed_time)
    assert by_name["demo.jsonl"].cycles == 36 and by_name["demo.jsonl"].leader == "BTC hold (rule-based)"
    # newest first: the session just run started after the demo was recorded
    assert [s.name for s in listing.sessions] == ["run.jsonl", "demo.jsonl"]


def test_cut_off_journals_are_listed_as_cut_off(recorded, tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    data = recorded.read_bytes()
    # killed mid-cycle: the last cycle started, its CycleCompleted never written
    (d / "mid-cycle.jsonl").write_bytes(data[: offset_before_last(recorded, ev.CycleCompleted)])
    # killed between cycles: the last cycle complete, no SessionEnded
    (d / "no-end.jsonl").write_bytes(data[: offset_before_last(recorded, ev.SessionEnded)])
    # killed while writing a line
    (d / "torn.jsonl").write_bytes(data[:-20])
    by_name = {s.name: s for s in list_sessions(d).sessions}
    assert {n: s.state for n, s in by_name.items()} == {"mid-cycle.jsonl": CUT_OFF, "no-end.jsonl": CUT_OFF, "torn.jsonl": CUT_OFF}
    assert "middle of cycle 6" in by_name["mid-cycle.jsonl"].problem and by_name["mid-cycle.jsonl"].cycles == 5
    assert "without its end event" in by_name["no-end.jsonl"].problem and by_name["no-end.jsonl"].cycles == 6
    assert "was cut off" in by_name["torn.jsonl"].problem


def test_a_journal_being_written_is_in_use(recorded, tmp_path):
    journal = tmp_path / "live.jsonl"
    shutil.copyfile(recorded, journal)
    writer = JournalWriter.append(journal)  # holds the journal's lock, as a running session does
    try:
        assert summarize(journal).state == IN_USE
        assert list_sessions(tmp_path).sessions[0].state == IN_USE
    finally:
        writer.close()
    assert summarize(journal).state == COMPLETE
    # a crashed writer's lock file (its pid dead) does not make it in use
    (tmp_path / "live.jsonl.lock").write_text("999999999\n")
    assert summarize(journal).state == COMPLETE


def test_hostile_files_are_rows_with_their_problem(recorded, tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    (d / "empty.jsonl").write_bytes(b"")
    (d / "binary.jsonl").write_bytes(bytes(range(256)) * 40)
    (d / "text.jsonl").write_text("hello\n")
    lines = recorded.read_bytes().splitlines(keepends=True)
    lines[len(lines) // 2] = b'{"type":"AccountUpdated","cycle":3,"cash":"lots"}\n'
    (d / "corrupt.jsonl").write_bytes(b"".join(lines))
    # every agent's name (so the leader's) and the file name hold terminal escapes
    evil = recorded.read_text(encoding="utf-8").replace("(rule-based)", "\\u001b[31m(rule-based)\\u001b]0;title\\u0007")
    (d / "evil\x1b[2J.jsonl").write_text(evil, encoding="utf-8")
    (d / "dir.jsonl").mkdir()  # not a file: not listed
    listing = list_sessions(d)
    by_name = {s.name: s for s in listing.sessions}
    assert set(by_name) == {"empty.jsonl", "binary.jsonl", "text.jsonl", "corrupt.jsonl", "evil\x1b[2J.jsonl"}
    assert by_name["empty.jsonl"].state == UNREADABLE and "is empty" in by_name["empty.jsonl"].problem
    assert by_name["binary.jsonl"].state == UNREADABLE and "not an arena-tui journal" in by_name["binary.jsonl"].problem
    assert by_name["text.jsonl"].state == UNREADABLE
    corrupt = by_name["corrupt.jsonl"]
    assert corrupt.state == CORRUPT and f"line {len(lines) // 2 + 1} is corrupt" in corrupt.problem and 0 < corrupt.cycles < 6
    evil_row = by_name["evil\x1b[2J.jsonl"]
    assert evil_row.state == COMPLETE and "\x1b[31m" in evil_row.leader
    # the command prints every row, and nothing from a journal reaches the terminal as an escape sequence
    assert main(["sessions", str(d)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    for name in ("empty.jsonl", "binary.jsonl", "text.jsonl", "corrupt.jsonl", "evil.jsonl"):  # the escape removed
        assert name in out
    assert out.count("unreadable") == 3 and "corrupt" in out


def test_the_cache_reads_only_the_journals_that_changed(recorded, tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    shutil.copyfile(recorded, d / "a.jsonl")
    shutil.copyfile(DEMO, d / "b.jsonl")
    cache = tmp_path / "index.json"
    first = list_sessions(d, cache)
    assert first.read == 2
    again = list_sessions(d, cache)
    assert again.read == 0
    assert [(s.name, s.state, s.cycles, s.leader, s.leader_return_pct) for s in again.sessions] == [
        (s.name, s.state, s.cycles, s.leader, s.leader_return_pct) for s in first.sessions
    ]
    # a journal cut (as a crash would leave a copy) is read again, and shows it
    data = (d / "a.jsonl").read_bytes()
    (d / "a.jsonl").write_bytes(data[: offset_before_last(d / "a.jsonl", ev.SessionEnded)])
    third = list_sessions(d, cache)
    assert third.read == 1 and {s.name: s.state for s in third.sessions}["a.jsonl"] == CUT_OFF
    cache.write_text('{"version": 1, "journals": {"x": [1, 2]}}')  # a damaged cache is ignored
    assert list_sessions(d, cache).read == 2


def test_the_command_lists_the_demo_and_the_configs_directory(tmp_path, capsys):
    d = tmp_path / "journals"
    d.mkdir()
    shutil.copyfile(DEMO, d / "demo.jsonl")
    config = tmp_path / "arena.toml"
    config.write_text(f'[arena]\nsessions_dir = "{d}"\n')
    assert main(["sessions", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 session in" in out and "demo.jsonl" in out and "complete" in out
    assert "BTC hold" in out and "+2.12%" in out and " 36 " in out
    assert (tmp_path / "cache" / "arena-tui" / "sessions-index.json").exists()


def test_a_missing_directory_is_one_sentence(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["sessions", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"arena-tui: the sessions directory {missing} does not exist; give a directory of session journals (arena-tui sessions DIR).\n"


def test_the_session_flags_parse_as_before(recorded, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--cycles", "0"])
    assert exc.value.code == 2
    assert "--cycles must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    helptext = capsys.readouterr().out
    assert "arena-tui export FILE" in helptext and "arena-tui sessions [DIR]" in helptext and "--replay FILE" in helptext
    assert main(["--replay", str(recorded), "--headless"]) == 0
    assert "verified 6 cycles" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["export"])  # FILE is required
    assert exc.value.code == 2


def test_after_the_screen_closes_the_message_says_how_to_export(tmp_path, capsys):
    app = types.SimpleNamespace(start_error=None, error=None, stopped_by_signal=None)
    journal = tmp_path / "20251020T000000Z-demo.jsonl"
    session = types.SimpleNamespace(
        journal_path=journal, state=types.SimpleNamespace(cycles_completed=3), outcome=types.SimpleNamespace(problem=lambda: None)
    )
    assert cli._after_app(app, session) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"arena-tui: 3 cycles; journal {journal} (replay: arena-tui --replay {journal})"
    assert err[1] == f"arena-tui: tables: arena-tui export {journal}; a page to share: arena-tui report {journal}"


def test_the_table_keeps_dates_names_and_states_whole(tmp_path):
    """At 120 columns (a pipe's width) no date, agent label or state is broken across lines: the
    market's start and end are lines of their own (the end without the year it shares), the start
    date over its time; under 120 the file names fold instead of the figures."""
    import dataclasses

    from rich.console import Console

    from arena_tui.sessions import Listing, sessions_table

    base = summarize(DEMO)
    season = dataclasses.replace(
        base, name="20261207T210651Z-demo.jsonl", leader="BTC hold (rule-based)",
        start_ms=1760659200000, end_ms=1762127700000, cycles=4896,  # 2025-10-17 00:00 -> 11-02 23:55
    )
    listing = Listing(tmp_path, [season, base], 2, 0.1)
    for width in (120, 100, 80):
        console = Console(width=width, record=True, file=open(os.devnull, "w"))
        console.print(sessions_table(listing, width))
        text = console.export_text()
        assert all(len(line) <= width for line in text.splitlines())
        assert ("2025-10-17 00:00" in text and "→ 11-02 23:55" in text and "(rule-based)" in text), (width, text)
        if width >= 100:
            for whole in ("2025-10-21 12:00", "→ 14:55", "complete"):
                assert whole in text, (width, whole, text)
        assert ("2026-12-02" in text) == (width >= 100)  # the started column
        if width == 120:
            assert "20261207T210651Z-demo.jsonl" in text
    # a live session's longer file name and a leader of 13 letters: the names fold only when the
    # table would not fit with them whole, and the state is never cut
    live = dataclasses.replace(season, name="20261208T003444Z-live-demo.jsonl", leader="DeepSeek V3.1", leader_return_pct=114.72)
    for width in (124, 120, 110):
        console = Console(width=width, record=True, file=open(os.devnull, "w"))
        console.print(sessions_table(Listing(tmp_path, [live, base], 2, 0.1), width))
        text = console.export_text()
        assert all(len(line) <= width for line in text.splitlines()), (width, text)
        assert text.count("complete") == 2 and "+114.72%" in text, (width, text)
        assert ("20261208T003444Z-live-demo.jsonl" in text) == (width >= 120), (width, text)
    # a cut-off session's problem names its path (one long word): it folds in the state column and
    # does not make the file names fold
    cut = dataclasses.replace(base, name="20261208T003451Z-demo.jsonl", state="cut off",
                              problem="/home/someone/projects/arena/sessions/20261208T003451Z-demo.jsonl ends inside cycle 3")
    console = Console(width=120, record=True, file=open(os.devnull, "w"))
    console.print(sessions_table(Listing(tmp_path, [live, cut], 2, 0.1), 120))
    text = console.export_text()
    assert "20261208T003444Z-live-demo.jsonl" in text and "20261208T003451Z-demo.jsonl" in text, text
    assert all(len(line) <= 120 for line in text.splitlines())


def test_the_listing_says_how_many_journals_it_has_read(recorded, tmp_path):
    d = tmp_path / "three"
    d.mkdir()
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        shutil.copyfile(recorded, d / name)
    seen: list[tuple[int, int]] = []
    listing = list_sessions(d, progress=lambda n, total: seen.append((n, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)] and len(listing.sessions) == 3
