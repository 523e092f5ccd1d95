"""Run ``arena_tui.cli.main`` in this process and SIGKILL it at an exact point.

Usage::

    python tests/crash_driver.py '<kill spec as JSON>' -- <arena-tui arguments...>

The spec names one point; the driver patches engine code so the process kills itself (SIGKILL: no
``finally``, no flush of Python buffers, exactly like ``kill -9`` from outside) the moment it gets
there. No timing is involved, so a given spec always cuts the journal at the same event (only the
chunking of streamed reasoning text, coalesced by wall time, may shift line numbers).

Specs (``at``):

``create``
    on entering ``JournalWriter.create``: before any journal file exists.
``create_locked``
    just after the journal's lock file is taken, before the journal is opened: a stale lock file
    is left beside a journal that does not exist.
``write``
    at the ``nth`` call of ``JournalWriter.write`` (the header is call 1), counting only events of
    ``type`` (and whose fields equal those of ``match``) when given; ``when`` is ``before`` (the
    line is not written), ``after`` (it is written and flushed) or ``half`` (the first half of its
    bytes are written and flushed: a cut-off line).
``warmup``
    in the indicator warm-up that runs between the header and cycle 1.
``settle``
    at the ``nth`` call of ``Ledger.settle`` (the arena calls it only for a ledger holding a
    position); ``when`` is ``enter`` (nothing settled yet) or ``after`` (the ledger has settled: its
    exits and funding are applied, none of their events is published yet).
``delta``
    at the ``nth`` call of ``Bus.delta`` (a streamed piece of an agent's text, before the coalescer
    journals it).

Exit status: the process dies of SIGKILL (-9 to the parent) when the point is reached; when it is
never reached the CLI's own status is returned, so the caller can tell.

Imported (by ``tests/test_resume.py`` and ``benchmarks/journal_trust.py``) it is the harness around
that: ``reference_run`` (one uninterrupted session), ``kill_points`` (the named points plus seeded
random journal lines), ``run_kill_point`` (kill, resume, compare with the reference), ``replay_check``
(``--replay --headless`` of the results), ``run_all`` and ``kill_table``. Nothing is patched on import.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(spec: dict) -> None:
    at = spec["at"]
    nth = int(spec.get("nth", 1))
    count = [0]

    if at == "create":
        from arena_tui.engine.journal import JournalWriter

        def create(cls, path, header):
            die()

        JournalWriter.create = classmethod(create)  # type: ignore[method-assign]
    elif at == "create_locked":
        from arena_tui.engine import journal

        original = journal._Lock.acquire

        def acquire(path):
            lock = original(path)
            die()
            return lock

        journal._Lock.acquire = staticmethod(acquire)  # type: ignore[method-assign]
    elif at == "write":
        from arena_tui.engine.journal import JournalWriter, dumps

        original_write = JournalWriter.write
        kind = spec.get("type")
        match = spec.get("match", {})
        when = spec.get("when", "after")

        def write(self, event):
            if (kind is None or event.type_name == kind) and all(getattr(event, k, None) == v for k, v in match.items()):
                count[0] += 1
                if count[0] == nth:
                    if when == "before":
                        die()
                    if when == "half":
                        data = (dumps(event) + "\n").encode("utf-8")
                        self._fh.write(data[: max(1, len(data) // 2)])
                        self._fh.flush()
                        die()
                    original_write(self, event)
                    die()
            original_write(self, event)

        JournalWriter.write = write  # type: ignore[method-assign]
    elif at == "warmup":
        from arena_tui.engine import scheduler

        def load() -> None:
            die()

        scheduler._load_indicators = load
    elif at == "settle":
        from arena_tui.engine.ledger import Ledger

        original_settle = Ledger.settle
        when = spec.get("when", "enter")

        def settle(self, candles, funding=None):
            hit = False
            if self.positions:
                count[0] += 1
                hit = count[0] == nth
                if hit and when == "enter":
                    die()
            out = original_settle(self, candles, funding)
            if hit and when == "after":
                die()
            return out

        Ledger.settle = settle  # type: ignore[method-assign]
    elif at == "delta":
        from arena_tui.engine.bus import Bus

        original_delta = Bus.delta

        def delta(self, event):
            count[0] += 1
            if count[0] == nth:
                die()
            original_delta(self, event)

        Bus.delta = delta  # type: ignore[method-assign]
    else:
        raise SystemExit(f"crash_driver: unknown kill point {at!r}")


# --- the harness (imported by the tests and the benchmark) -------------------------------------------

HERE = Path(__file__).resolve()
START = "2025-10-21T14:00:00Z"
"""A window of the bundled market where the four baselines trade: fills from cycle 1, stop-loss and
take-profit exits, and a funding time (16:00 UTC) during cycle 25."""
CYCLES = 40
TIMEOUT_S = 300
SEED = 20251021

EXCLUDED = ("SessionStarted", "SessionResumed", "SessionEnded", "Notice", "SessionPaused", "TriggerCoalesced", "ReasoningDelta")
"""Event types not compared one by one: the header is compared on its own (wall-clock fields aside),
reasoning text as the concatenated text per (cycle, agent, kind), session control not at all."""


def clean_env(home: Path) -> dict[str, str]:
    """The environment of an offline run: no API keys, no ARENA_* overrides, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY"):
        env.pop(k, None)
    env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "120"
    return env


def arena(args: list[str], cwd: Path, *, kill: dict | None = None) -> subprocess.CompletedProcess:
    """``arena-tui ARGS`` in a fresh interpreter (through the crash driver when ``kill`` is given)."""
    if kill is None:
        cmd = [sys.executable, "-m", "arena_tui", *args]
    else:
        cmd = [sys.executable, str(HERE), json.dumps(kill), "--", *args]
    return subprocess.run(cmd, cwd=cwd, env=clean_env(cwd), capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def session_args(journal: str, cycles: int = CYCLES, start: str = START) -> list[str]:
    return ["--headless", "--cycles", str(cycles), "--start", start, "--journal", journal]


def normalise(path: Path):
    """A journal as compared: (header without its wall-clock fields, the other events as dicts in
    order with wall-clock fields removed and ``EXCLUDED`` types left out, {(cycle, agent, kind):
    reasoning text})."""
    from arena_tui.engine import events as ev
    from arena_tui.engine.journal import read_journal

    j = read_journal(path)
    header = _strip(j.header)
    seq: list[dict] = []
    text: dict[tuple, str] = collections.defaultdict(str)
    for e in j.events:
        if isinstance(e, ev.ReasoningDelta):
            text[(e.cycle, e.agent, e.kind)] += e.text
        elif e.type_name not in EXCLUDED:
            seq.append(_strip(e))
    return header, seq, dict(text)


def _strip(e) -> dict:
    from arena_tui.engine import events as ev

    d = e.to_json()
    for f in ev.WALL_CLOCK_FIELDS.get(type(e), ()):
        d.pop(f, None)
    return d


def first_difference(ref, got) -> str | None:
    """None when two ``normalise`` results are identical, else where they part (one line)."""
    (h1, s1, t1), (h2, s2, t2) = ref, got
    if h1 != h2:
        keys = sorted(k for k in set(h1) | set(h2) if h1.get(k) != h2.get(k))
        return f"header differs in {keys}"
    for i, (a, b) in enumerate(zip(s1, s2)):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            return f"event {i + 1}: reference {a['type']} cycle {a['cycle']}, resumed {b['type']} cycle {b['cycle']} (fields {keys})"
    if len(s1) != len(s2):
        return f"reference has {len(s1)} events, resumed {len(s2)}"
    if t1 != t2:
        k = next(k for k in sorted(set(t1) | set(t2)) if t1.get(k) != t2.get(k))
        return f"reasoning text differs for cycle {k[0]} {k[1]} {k[2]}"
    return None


@dataclasses.dataclass
class Reference:
    path: Path
    lines: list[dict]
    norm: tuple
    header_time: int


def reference_run(workdir: Path) -> Reference:
    """One uninterrupted ``CYCLES``-cycle session from ``START``; checks that it trades, settles
    stops and targets, and pays funding (the kill points need them)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "reference.jsonl"
    out = arena(session_args(path.name), workdir)
    if out.returncode != 0:
        raise RuntimeError(f"the reference run failed: {out.stderr}")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    kinds = collections.Counter(d["type"] for d in lines)
    exits = collections.Counter(d["reason"] for d in lines if d["type"] == "PositionClosed")
    for need in ("OrderFilled", "PositionClosed", "FundingPaid"):
        if not kinds[need]:
            raise RuntimeError(f"the reference window has no {need}; pick another START")
    if not (exits["stop_loss"] and exits["take_profit"]):
        raise RuntimeError(f"the reference window has no stop-loss/take-profit exits ({dict(exits)}); pick another START")
    return Reference(path, lines, normalise(path), lines[0]["time"])


@dataclasses.dataclass(frozen=True)
class KillPoint:
    name: str
    group: str
    spec: dict


GROUPS = (
    "before the journal exists",
    "inside the header line",
    "between the header and cycle 1",
    "inside settlement (stops, targets, funding)",
    "mid-stream (agent text streaming)",
    "cycle boundary",
    "seeded random line, after it is written",
    "seeded random line, before it is written",
    "seeded random line, cut off mid-line",
)

NAMED = (
    KillPoint("create", GROUPS[0], {"at": "create"}),
    KillPoint("create-locked", GROUPS[0], {"at": "create_locked"}),
    KillPoint("header-half", GROUPS[1], {"at": "write", "nth": 1, "when": "half"}),
    KillPoint("after-header", GROUPS[2], {"at": "write", "nth": 1, "when": "after"}),
    KillPoint("after-notice", GROUPS[2], {"at": "write", "type": "Notice", "nth": 1, "when": "after"}),
    KillPoint("indicator-warmup", GROUPS[2], {"at": "warmup"}),
    KillPoint("before-cycle-1", GROUPS[2], {"at": "write", "type": "CycleStarted", "nth": 1, "when": "before"}),
    KillPoint("settle-enter-1", GROUPS[3], {"at": "settle", "nth": 1, "when": "enter"}),
    KillPoint("settle-after-1", GROUPS[3], {"at": "settle", "nth": 1, "when": "after"}),
    KillPoint("settle-enter-37", GROUPS[3], {"at": "settle", "nth": 37, "when": "enter"}),
    KillPoint("funding-1-written", GROUPS[3], {"at": "write", "type": "FundingPaid", "nth": 1, "when": "after"}),
    KillPoint("funding-4-half", GROUPS[3], {"at": "write", "type": "FundingPaid", "nth": 4, "when": "half"}),
    KillPoint("stop-loss-written", GROUPS[3], {"at": "write", "type": "PositionClosed", "match": {"reason": "stop_loss"}, "nth": 2, "when": "after"}),
    KillPoint("delta-1", GROUPS[4], {"at": "delta", "nth": 1}),
    KillPoint("delta-151", GROUPS[4], {"at": "delta", "nth": 151}),
    KillPoint("reasoning-line-57-written", GROUPS[4], {"at": "write", "type": "ReasoningDelta", "nth": 57, "when": "after"}),
    KillPoint("cycle-20-completed", GROUPS[5], {"at": "write", "type": "CycleCompleted", "nth": 20, "when": "after"}),
    KillPoint("before-cycle-20-completed", GROUPS[5], {"at": "write", "type": "CycleCompleted", "nth": 20, "when": "before"}),
)

RANDOM = ((GROUPS[6], "after", 3), (GROUPS[7], "before", 2), (GROUPS[8], "half", 3))
"""(group, when, how many) seeded random journal lines."""

PRE_JOURNAL = {"create", "create-locked", "header-half"}
BEFORE_CYCLE_1 = {"after-header", "after-notice", "indicator-warmup", "before-cycle-1"}


def kill_point_names() -> list[str]:
    """Every kill point's name (known before the reference run: the random lines are numbered)."""
    names = [k.name for k in NAMED]
    for group, when, n in RANDOM:
        names += [f"line-{when}-{i + 1}" for i in range(n)]
    return names


def kill_points(ref: Reference) -> list[KillPoint]:
    """``NAMED`` plus seeded random journal lines, drawn among the lines of cycles 1 to
    ``CYCLES - 1`` of the reference (so the resumed run has at least one cycle to run)."""
    last = max(i for i, d in enumerate(ref.lines, start=1) if d["type"] == "CycleCompleted" and d["cycle"] == CYCLES - 1)
    first = next(i for i, d in enumerate(ref.lines, start=1) if d["type"] == "CycleStarted")
    rng = random.Random(SEED)
    lines = rng.sample(range(first, last + 1), sum(n for _, _, n in RANDOM))
    points = list(NAMED)
    for group, when, n in RANDOM:
        for i in range(n):
            points.append(KillPoint(f"line-{when}-{i + 1}", group, {"at": "write", "nth": lines.pop(0), "when": when}))
    assert [p.name for p in points] == kill_point_names()
    return points


@dataclasses.dataclass
class Outcome:
    point: KillPoint
    killed: bool = False
    cut: str = ""
    """Where the kill left the journal (a few words)."""
    resumed_cycles: int | None = None
    """--cycles given to the resume: CYCLES minus the cycles the killed journal holds complete."""
    identical: bool = False
    verified: bool = False
    problems: list[str] = dataclasses.field(default_factory=list)
    journal: Path | None = None
    """The resumed (or fresh) journal, for ``replay_check``."""

    @property
    def ok(self) -> bool:
        return self.killed and self.identical and self.verified and not self.problems


_VERIFY_LOCK = threading.Lock()


def run_kill_point(point: KillPoint, ref: Reference, workdir: Path) -> Outcome:
    """Kill a ``CYCLES``-cycle run at ``point``, resume it to ``CYCLES`` cycles and compare it with
    the reference (event for event, wall-clock fields aside); ``replay_check`` then replays it.
    A kill before there is a journal to resume: the CLI must say so, and a fresh run at the same path
    must give the reference."""
    from arena_tui.engine.verify import verify_journal

    o = Outcome(point)
    workdir.mkdir(parents=True, exist_ok=True)
    journal = workdir / "run.jsonl"
    killed = arena(session_args(journal.name), workdir, kill=point.spec)
    o.killed = killed.returncode == -signal.SIGKILL
    if not o.killed:
        o.problems.append(f"the kill point was never reached (exit {killed.returncode}): {killed.stderr.strip()[-300:]}")
        return o
    if point.name in PRE_JOURNAL:
        return _fresh_after_kill(o, ref, workdir, journal)
    before = journal.read_bytes()
    with _VERIFY_LOCK:  # one re-execution at a time in this process (the indicator kernels load lazily)
        pre = verify_journal(journal, stop_before_partial=True)
    if pre.difference is not None:
        o.problems.append(f"the killed journal does not verify: {pre.difference}")
        return o
    o.cut = f"{pre.cycles} cycles" + (f" + cycle {pre.partial_cycle} cut after {pre.partial_events} events" if pre.partial_cycle else "")
    if pre.warnings:
        o.cut += " + a cut-off line"
    o.resumed_cycles = CYCLES - pre.cycles
    out = arena(["--headless", "--resume", journal.name, "--cycles", str(o.resumed_cycles)], workdir)
    if out.returncode != 0:
        o.problems.append(f"--resume exited {out.returncode}: {out.stderr.strip()}")
        return o
    got = normalise(journal)
    diff = first_difference(ref.norm, got)
    o.identical = diff is None
    if diff:
        o.problems.append(f"resumed journal differs from the reference: {diff}")
    # nothing lost: the bytes after the verified prefix are kept beside the journal
    after = journal.read_bytes()
    cut_files = sorted(workdir.glob(journal.name + ".cut-*"))
    kept = b"".join(p.read_bytes() for p in cut_files)
    if not after.startswith(before[: pre.resume_offset]) or before[pre.resume_offset :] != kept:
        o.problems.append(f"the killed journal's bytes are not all kept: prefix {pre.resume_offset} bytes, cut files {[p.name for p in cut_files]}")
    events = [json.loads(x) for x in after.decode("utf-8").splitlines()]
    resumed = [d for d in events if d["type"] == "SessionResumed"]
    if len(resumed) != 1:
        o.problems.append(f"{len(resumed)} SessionResumed events, expected 1")
    if point.name in BEFORE_CYCLE_1:
        first_cycle = next(d for d in events if d["type"] == "CycleStarted")
        if first_cycle["time"] != ref.header_time:
            o.problems.append(f"cycle 1 runs at {first_cycle['time']}, the header's clock is {ref.header_time}")
    o.journal = journal
    return o


def _fresh_after_kill(o: Outcome, ref: Reference, workdir: Path, journal: Path) -> Outcome:
    name = o.point.name
    out = arena(["--headless", "--resume", journal.name, "--cycles", str(CYCLES)], workdir)
    said = out.stderr.strip()
    expected = "holds only a cut-off session header" if name == "header-half" else "does not exist"
    if out.returncode != 2 or expected not in said or len(said.splitlines()) != 1:
        o.problems.append(f"--resume of a kill {name}: expected exit 2 and one sentence saying '{expected}', got exit {out.returncode}: {said!r}")
    o.cut = "no journal" if not journal.exists() else f"{journal.stat().st_size} bytes of header"
    if name == "header-half":
        journal.unlink()  # the CLI's advice: nothing to replay; a new session needs the path free
    o.resumed_cycles = CYCLES
    fresh = arena(session_args(journal.name), workdir)
    if fresh.returncode != 0:
        o.problems.append(f"a fresh run at the same path exited {fresh.returncode}: {fresh.stderr.strip()}")
        return o
    diff = first_difference(ref.norm, normalise(journal))
    o.identical = diff is None
    if diff:
        o.problems.append(f"fresh run differs from the reference: {diff}")
    o.journal = journal
    return o


def replay_check(outcomes: list[Outcome], workdir: Path) -> None:
    """``--replay JOURNAL --headless`` must print ``verified CYCLES cycles`` and exit 0 for each
    outcome's journal (sets ``verified``; a failure goes to ``problems``)."""
    todo = [o for o in outcomes if o.journal is not None]
    if not todo:
        return
    out = subprocess.run(
        [sys.executable, str(HERE), "--replay-each", *(str(o.journal) for o in todo)],
        cwd=workdir,
        env=clean_env(workdir),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    chunks: dict[str, tuple[int, str]] = {}
    text: list[str] = []
    for line in out.stdout.splitlines():
        if line.startswith("=== exit "):
            rc, path = line[len("=== exit ") :].split(" ", 1)
            chunks[path] = (int(rc), "\n".join(text))
            text = []
        else:
            text.append(line)
    for o in todo:
        rc, said = chunks.get(str(o.journal), (None, out.stderr.strip()))
        o.verified = rc == 0 and f"verified {CYCLES} cycles" in said
        if not o.verified:
            tail = (said.strip().splitlines() or [""])[-1]
            o.problems.append(f"--replay --headless: exit {rc}: {tail}")


def run_all(ref: Reference, workdir: Path, workers: int = 2) -> dict[str, Outcome]:
    """Every kill point, ``workers`` at a time (each in its own directory)."""
    from concurrent.futures import ThreadPoolExecutor

    points = kill_points(ref)
    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(lambda p: run_kill_point(p, ref, workdir / p.name), points))
        batches = [outcomes[i::workers] for i in range(workers)]
        list(pool.map(lambda b: replay_check(b, workdir), batches))
    return {o.point.name: o for o in outcomes}


def kill_table(outcomes: dict[str, Outcome], *, detail: bool = True) -> str:
    """Plain text: per group of kill points, tries and identical (and each point when ``detail``)."""
    rows = [("kill point", "tries", "identical")]
    for group in GROUPS:
        mine = [o for o in outcomes.values() if o.point.group == group]
        if mine:
            rows.append((group, str(len(mine)), str(sum(o.ok for o in mine))))
            if detail:
                for o in mine:
                    rows.append((f"  {o.point.name}: {o.cut}", "1", "yes" if o.ok else "NO"))
    rows.append(("total", str(len(outcomes)), str(sum(o.ok for o in outcomes.values()))))
    w = max(len(r[0]) for r in rows)
    lines = [f"{a:<{w}}  {b:>5}  {c:>9}" for a, b, c in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def replay_each(paths: list[str]) -> int:
    """``arena-tui --replay PATH --headless`` for each path, in this one interpreter (the same
    ``cli.main``, without paying the interpreter and kernel start-up per journal); each one's output is
    followed by a line ``=== exit N PATH``."""
    from arena_tui.cli import main as cli_main

    for path in paths:
        rc = cli_main(["--replay", path, "--headless"])
        sys.stdout.flush()
        print(f"=== exit {rc} {path}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--replay-each"]:
        return replay_each(argv[1:])
    if len(argv) < 2 or argv[1] != "--":
        raise SystemExit("usage: crash_driver.py '<spec json>' -- <arena-tui args> | crash_driver.py --replay-each FILE...")
    install(json.loads(argv[0]))
    from arena_tui.cli import main as cli_main

    return cli_main(argv[2:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
