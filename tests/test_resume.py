"""Resume is re-execution to the cut, then live.

A headless session is SIGKILLed at exact points (before the journal exists, inside the header line,
between the header and cycle 1, inside settlement, mid-stream, at a cycle boundary, and at seeded
random journal lines: after a line is written, before it is, in the middle of it), resumed with
``--resume FILE --cycles K`` up to the same number of cycles, and compared with one uninterrupted run
of the same config: identical event for event, wall-clock fields aside. The kills come from inside
the process (``tests/crash_driver.py`` patches the engine to ``SIGKILL`` itself at the point), so
there is no timing involved: each point cuts the journal at the same event on every run (only the
chunking of streamed reasoning text, coalesced by wall time, may move a numbered line).

Also: ``--resume`` refuses a journal that does not verify (one sentence naming the difference, exit
2, the file untouched); ``--resume-unverified`` continues.

Run with ``-s`` to see the table of kill points.
"""

from __future__ import annotations

import json

import crash_driver as cd
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> cd.Reference:
    return cd.reference_run(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def outcomes(reference, tmp_path_factory) -> dict[str, cd.Outcome]:
    results = cd.run_all(reference, tmp_path_factory.mktemp("kills"), workers=2)
    print("\n" + cd.kill_table(results))
    return results


def test_reference_window_trades_settles_and_pays_funding(reference):
    kinds = {d["type"] for d in reference.lines}
    assert {"OrderFilled", "PositionClosed", "FundingPaid"} <= kinds
    exits = {d["reason"] for d in reference.lines if d["type"] == "PositionClosed"}
    assert {"stop_loss", "take_profit", "agent"} <= exits
    assert sum(d["type"] == "CycleCompleted" for d in reference.lines) == cd.CYCLES
    assert len(cd.kill_point_names()) >= 20


@pytest.mark.parametrize("name", cd.kill_point_names())
def test_kill_resume_is_identical_to_an_uninterrupted_run(outcomes, name):
    o = outcomes[name]
    assert o.killed, o.problems
    assert not o.problems, f"{name} ({o.point.spec}, journal left with {o.cut}): " + "; ".join(o.problems)
    assert o.identical and o.verified


@pytest.mark.parametrize("name", sorted(cd.BEFORE_CYCLE_1))
def test_kill_before_cycle_1_resumes_at_the_header_clock(outcomes, reference, name):
    """Killed between the header and cycle 1: the resumed cycle 1 runs at the header's clock, not one
    interval late (checked in ``run_kill_point``; here on its own)."""
    o = outcomes[name]
    assert o.resumed_cycles == cd.CYCLES, o.cut
    assert o.journal is not None and o.journal.exists(), o.problems
    events = [json.loads(x) for x in o.journal.read_text(encoding="utf-8").splitlines()]
    header, first_cycle = events[0], next(d for d in events if d["type"] == "CycleStarted")
    assert first_cycle["cycle"] == 1
    assert first_cycle["time"] == header["time"] == reference.header_time
    assert [d["type"] for d in events[: events.index(first_cycle)]].count("SessionResumed") == 1


def test_every_group_of_kill_points_is_exercised(outcomes):
    for group in cd.GROUPS:
        assert any(o.point.group == group for o in outcomes.values()), group
    # the settlement kills really cut inside a settling cycle
    for name in ("settle-enter-1", "settle-after-1", "funding-1-written", "stop-loss-written"):
        assert "cut after" in outcomes[name].cut, (name, outcomes[name].cut)


# --- refusing a journal that does not verify ---------------------------------------------------------


def _edit_first(lines: list[str], kind: str, cycle: int, change) -> list[str]:
    out, done = [], False
    for line in lines:
        d = json.loads(line)
        if not done and d["type"] == kind and d["cycle"] == cycle:
            change(d)
            line = json.dumps(d, separators=(",", ":"), ensure_ascii=False) + "\n"
            done = True
        out.append(line)
    assert done, (kind, cycle)
    return out


@pytest.fixture
def tampered(tmp_path):
    """A 12-cycle journal whose first AccountUpdated of cycle 6 shows $5,000 more cash (edited with
    every event whole: ``journal.expanded_lines``; the journal is written compactly)."""
    from arena_tui.engine.journal import expanded_lines

    out = cd.arena(cd.session_args("edited.jsonl", cycles=12), tmp_path)
    assert out.returncode == 0, out.stderr
    path = tmp_path / "edited.jsonl"
    lines = [line + "\n" for line in expanded_lines(path)]
    path.write_text("".join(_edit_first(lines, "AccountUpdated", 6, lambda d: d.update(cash=d["cash"] + 5000))), encoding="utf-8")
    return path


def test_resume_refuses_a_journal_that_does_not_verify(tampered):
    before = tampered.read_bytes()
    out = cd.arena(["--headless", "--resume", tampered.name, "--cycles", "3"], tampered.parent)
    assert out.returncode == 2
    said = out.stderr.strip()
    assert len(said.splitlines()) == 1, said
    assert said.startswith(f"arena-tui: cannot resume {tampered.name}: it does not verify")
    assert "cycle 6, line " in said and "AccountUpdated" in said and "cash: recorded " in said and ", recomputed " in said
    assert "--resume-unverified" in said
    assert "Traceback" not in out.stderr
    assert tampered.read_bytes() == before
    assert sorted(p.name for p in tampered.parent.iterdir() if p.name.startswith(tampered.name)) == [tampered.name]


def test_resume_unverified_continues(tampered):
    before = tampered.read_bytes()
    out = cd.arena(["--headless", "--resume", tampered.name, "--resume-unverified", "--cycles", "3"], tampered.parent)
    assert out.returncode == 0, out.stderr
    after = tampered.read_bytes()
    events = [json.loads(x) for x in after.decode("utf-8").splitlines()]
    assert [d["type"] for d in events].count("SessionResumed") == 1
    assert events[-1]["type"] == "SessionEnded"
    # the cycles that verify are kept as they were, the rest beside the journal (whether the
    # continued journal verifies: the next test)
    cut = sorted(tampered.parent.glob(tampered.name + ".cut-*"))
    assert len(cut) == 1
    kept = after.index(b'{"type":"SessionResumed"')
    assert after[:kept] == before[:kept]
    assert before[:kept] + cut[0].read_bytes() == before
    assert b'"cycle":6,' not in before[:kept].splitlines()[-1]


def test_resume_unverified_continues_from_the_last_verified_cycle(tampered):
    out = cd.arena(["--headless", "--resume", tampered.name, "--resume-unverified", "--cycles", "3"], tampered.parent)
    assert out.returncode == 0, out.stderr
    events = [json.loads(x) for x in tampered.read_text(encoding="utf-8").splitlines()]
    started = [d["cycle"] for d in events if d["type"] == "CycleStarted"]
    assert started == [1, 2, 3, 4, 5, 6, 7, 8]
    resumed = next(d for d in events if d["type"] == "SessionResumed")
    assert resumed["cycle"] == 5
    rep = cd.arena(["--replay", tampered.name, "--headless"], tampered.parent)
    assert rep.returncode == 0 and "verified 8 cycles" in rep.stdout, rep.stdout[-400:]


def test_kill_driver_reports_a_point_never_reached(tmp_path):
    """A kill point past the end of the run is not a silent pass: the driver returns the CLI's status."""
    out = cd.arena(cd.session_args("x.jsonl", cycles=2), tmp_path, kill={"at": "write", "type": "FundingPaid", "nth": 1})
    assert out.returncode == 0
