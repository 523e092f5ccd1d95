"""Hostile input at scale: one table per area (tries, what "survived" means there, tracebacks).

Run from the repository root:  python benchmarks/hostile_input.py  [--quick] [--seed N] [--workers N] [--only AREA,...]

The areas, each with the machinery of its tests (imported from ``tests/``, not copied):

1. journals   the hand-written malformed journals and the mutation fuzzer of
              ``tests/test_hostile_journals.py`` through ``arena-tui --replay J --headless``
              (``cli.main`` in process: ``headless.replay_headless`` -> ``verify.reexecute``),
              ``ReplaySession`` (the test's ``via_replay``), ``arena-tui --resume J --headless --cycles 1``
              and, for a journal that differs, ``--resume --resume-unverified``. A resumed journal must
              verify again. Survived = verified, a named difference, or one sentence (exit 2).
2. agent      arbitrary model answers (``tests/test_agent_path_property.py``'s hypothesis strategies,
              plus a hand-written list: lone surrogates, escapes, huge numbers, 100x leverage...)
              through ``Arena._ask`` + ``Arena._act``. Survived = only fills, closes, rejections (by rule
              id) and failures; the account stays finite and nobody is halted.
3. sanitise   hostile strings (OSC 0/2/8/52, CSI moves/clears/reports, DCS/APC, C0/C1, bidi,
              surrogates, Rich/Textual markup) through ``sanitize.safe_text/safe_line`` and the
              headless leaderboard (``headless.leaderboard_table``) rendered by a truecolor rich
              Console. Survived = no ESC/C0/C1/bidi/surrogate in any output, no hyperlink or action.
4. config     bad TOML files, ARENA_* variables and journal-header configs through
              ``config.load_config`` / ``config_from_json``; an accepted config must round-trip through
              the journal header and build its market and agents. Survived = one sentence (ConfigError)
              or a config that works.
5. secrets    canary credentials in base_url (user:password@ and ?api_key=), api_key_env, key-like
              fields and ARENA_* variables; short headless sessions (``cli.main``) against nothing
              listening and against a local server that echoes the key, URL and headers in its errors.
              Survived = no canary in the journal, failure reasons, printed output, error sentences or
              the log file.

The command and the seed are printed first: the same command gives the same figures (the results
do not depend on --workers). Exit status 1 when any traceback, leak or bad output was found, else 0.
Not a test (a few minutes); ``tests/test_hostile_report.py`` runs ``--quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import dataclasses
import io
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
for _p in (str(TESTS), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""What no output may hold (as in tests/test_sanitize.py): ESC and every other C0 control but tab
and newline, DEL, C1, bidi controls, lone surrogates."""

CASE_DEADLINE_S = 120.0
"""One input that takes longer than this is counted as a traceback ("hang")."""

MAX_FINDINGS = 16
"""Findings kept per area (all of them are counted), at most ``PER_PLACE`` per (attack, where)."""
PER_PLACE = 3


# --- counting -------------------------------------------------------------------------------------


@dataclass
class Finding:
    area: str
    row: str
    case: str
    where: str
    detail: str


@dataclass
class Area:
    """One area's table: ``rows[attack][column]`` counts; ``must_be_zero`` columns fail the run."""

    key: str
    title: str
    columns: tuple[str, ...]
    must_be_zero: tuple[str, ...]
    note: str = ""
    rows: dict[str, Counter] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    found: int = 0
    places: Counter = field(default_factory=Counter)
    extra: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, row: str, column: str, n: int = 1) -> None:
        assert column == "tries" or column in self.columns, column
        self.rows.setdefault(row, Counter())[column] += n

    def find(self, row: str, case: str, where: str, detail: str, column: str) -> None:
        """A failure: counted in ``column`` (a must-be-zero one) and kept for the report."""
        self.add(row, column)
        self.found += 1
        self.places[row, where] += 1
        if len(self.findings) < MAX_FINDINGS and self.places[row, where] <= PER_PLACE:
            self.findings.append(Finding(self.key, row, case, where, detail))

    def merge(self, other: "Area") -> None:
        for row, counts in other.rows.items():
            self.rows.setdefault(row, Counter()).update(counts)
        for name, counts in other.extra.items():
            self.extra.setdefault(name, Counter()).update(counts)
        self.found += other.found
        for f in other.findings:
            if len(self.findings) < MAX_FINDINGS and sum(1 for g in self.findings if (g.row, g.where) == (f.row, f.where)) < PER_PLACE:
                self.findings.append(f)
        self.seconds += other.seconds

    def total(self, column: str) -> int:
        return sum(c[column] for c in self.rows.values())

    def problems(self) -> int:
        return sum(self.total(c) for c in self.must_be_zero)


class Hang(BaseException):
    """Raised by the per-input deadline (a BaseException, so engine code cannot swallow it)."""


@contextlib.contextmanager
def deadline(seconds: float):
    """SIGALRM after ``seconds`` raises ``Hang`` in the main thread (elsewhere: no deadline)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum, frame):
        raise Hang(f"no answer within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def traceback_tail(exc: BaseException, lines: int = 4) -> str:
    """Where the exception left arena-tui's own code (the frame that did not catch it), then the
    last lines of the traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/arena_tui/" in f.filename.replace("\\", "/")]
    head = []
    if ours:
        f = ours[-1]
        rel = f.filename.replace("\\", "/").split("/arena_tui/", 1)[1]
        head = [f"uncaught in arena_tui/{rel}:{f.lineno} ({f.name}): {(f.line or '').strip()}"]
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip().splitlines()
    return "\n".join(head + text[-lines:])


def attempt(area: Area, row: str, case: str, where: str, fn: Callable, *args, **kwargs) -> tuple[bool, Any]:
    """``(True, fn(...))``, or ``(False, None)`` when ``fn`` raised: an uncaught exception (or a hang)
    is a traceback, counted in ``area`` and kept with its tail."""
    try:
        with deadline(CASE_DEADLINE_S):
            return True, fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except (Exception, Hang, SystemExit) as exc:
        if isinstance(exc, UnexpectedInCli):  # its text is the command line's sentence and the logged traceback
            detail = f"{type(exc).__name__}: {exc}"
        else:
            detail = f"{type(exc).__name__}: {str(exc)[:300]}\n{traceback_tail(exc)}"
        area.find(row, case, where, detail, "tracebacks")
        return False, None


def escapes_in(text: str) -> str | None:
    """The first forbidden character in ``text`` (repr), or None."""
    m = FORBIDDEN.search(text)
    return None if m is None else repr(m.group())


def one_sentence(text: str) -> bool:
    t = text.strip()
    return bool(t) and "\n" not in t and "Traceback" not in t


def exit_status(areas: list[Area]) -> int:
    return 1 if any(a.problems() for a in areas) else 0


@contextlib.contextmanager
def captured():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


class UnexpectedInCli(Exception):
    """``cli.main`` caught an exception that is not an ``ArenaError`` ("arena-tui: unexpected X; this
    is a bug, please report it"): a traceback all the same, its text taken from the log file."""


def _logged_traceback() -> str:
    """The traceback of the last "unexpected error" in this process's log file (see ``run_job``)."""
    log = Path(os.environ.get("ARENA_TUI_LOG_DIR", "/nonexistent")) / "arena-tui.log"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log file)"
    at = text.rfind("unexpected error")
    lines = text[at:].splitlines()[1:] if at >= 0 else []
    ours = [ln.strip() for ln in lines if "/arena_tui/" in ln]
    return "\n".join(([f"uncaught in: {ours[-1]}"] if ours else []) + lines[-4:])


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``arena-tui ARGV`` in this process: (exit status, stdout, stderr). Exceptions propagate, and
    the command line's own "unexpected X; this is a bug" sentence is raised as ``UnexpectedInCli``."""
    from arena_tui import cli

    with captured() as (out, err):
        try:
            rc = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
    if "this is a bug" in err.getvalue():
        raise UnexpectedInCli(f"{err.getvalue().strip()}\n{_logged_traceback()}")
    return rc, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def patched_environ(changes: dict[str, str | None]):
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class Options:
    seed: int
    quick: bool
    workdir: str

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --- 1. journals ----------------------------------------------------------------------------------

JOURNAL_COLUMNS = (
    "--replay\nverified",
    "--replay\ndiffers",
    "--replay\nsentence",
    "Replay-\nSession\nplayed",
    "Replay-\nSession\nsentence",
    "--resume\nresumed",
    "--resume\nsentence",
    "--resume-\nunverified\nresumed",
    "--resume-\nunverified\nsentence",
    "tracebacks",
    "bad\noutput",
)
FUZZ_SHARDS = 8
FUZZ_OPS = {
    "field": "mutated: a field's value",
    "type": "mutated: an event's type",
    "drop_key": "mutated: a key dropped",
    "row_field": "mutated: a row's field",
    "delete": "mutated: a line deleted",
    "duplicate": "mutated: a line duplicated",
    "swap": "mutated: lines swapped",
    "truncate": "mutated: cut off",
    "garbage": "mutated: garbage bytes",
}


def new_journal_area() -> Area:
    return Area(
        "journals",
        "1. Journals: hand-written and mutated, through --replay --headless, ReplaySession and --resume",
        JOURNAL_COLUMNS,
        ("tracebacks", "bad\noutput"),
        note=(
            "Survived: verified, a named difference (exit 1) or one sentence (exit 2) from --replay --headless; "
            "played or one sentence from ReplaySession; resumed or one sentence from --resume (and --resume-unverified "
            "for journals that differ: all hand-written ones, every 4th mutated one). A command-line \"unexpected X; this is a bug\" "
            "sentence counts as a traceback. bad output = a message that is not one line, an escape/control character in "
            "printed output, an unexpected exit status, or a resumed journal that no longer verifies."
        ),
    )


def _check_cli_output(area: Area, row: str, case: str, where: str, rc: int, out: str, err: str) -> None:
    leak = escapes_in(out + err)
    if leak:
        area.find(row, case, where, f"printed {leak} (exit {rc}): {(out + err)[-300:]!r}", "bad\noutput")
    if rc == 2 and not (one_sentence(err) and err.startswith("arena-tui: ")):
        area.find(row, case, where, f"exit 2 but stderr is not one sentence: {err[-400:]!r}", "bad\noutput")
    if rc not in (0, 1, 2, 3):  # 3: the session ran, but every agent failed every time (or the market never answered)
        area.find(row, case, where, f"exit status {rc}: {err[-300:]!r}", "bad\noutput")
    if rc in (0, 1) and "Traceback" in err:
        area.find(row, case, where, f"a traceback on stderr: {err[-400:]!r}", "bad\noutput")


def _verify(area: Area, row: str, case: str, path: Path, where: str = "--replay --headless") -> str | None:
    ok, res = attempt(area, row, case, where, run_cli, ["--replay", path, "--headless"])
    if not ok:
        return None
    rc, out, err = res
    _check_cli_output(area, row, case, where, rc, out, err)
    if rc == 1 and "replay differs at" not in out:
        area.find(row, case, where, f"exit 1 without 'replay differs at': {out[-300:]!r}", "bad\noutput")
    return {0: "verified", 1: "differs", 2: "sentence"}.get(rc)


def _resume(area: Area, row: str, case: str, path: Path, unverified: bool) -> None:
    where = "--resume --resume-unverified" if unverified else "--resume"
    col = "--resume-\nunverified\n" if unverified else "--resume\n"
    argv = ["--resume", path, "--headless", "--cycles", "1"] + (["--resume-unverified"] if unverified else [])
    ok, res = attempt(area, row, case, where, run_cli, argv)
    if not ok:
        return
    rc, out, err = res
    _check_cli_output(area, row, case, where, rc, out, err)
    if rc in (0, 3):
        area.add(row, col + "resumed")
        again = _verify(area, row, case, path, where=f"--replay --headless after {where}")
        if again not in (None, "verified"):
            area.find(row, case, where, f"the resumed journal does not verify ({again})", "bad\noutput")
    elif rc == 2:
        area.add(row, col + "sentence")


def journal_case(area: Area, hj, row: str, case: str, data: bytes, work: Path, unverified: bool = True) -> None:
    """One journal through every path (each on its own copy: resume appends)."""
    area.add(row, "tries")
    d = fresh_dir(work / "case")
    v = d / "verify.jsonl"
    v.write_bytes(data)
    verdict = _verify(area, row, case, v)
    if verdict:
        area.add(row, "--replay\n" + verdict)
    p = d / "replay.jsonl"
    p.write_bytes(data)
    try:
        with deadline(CASE_DEADLINE_S):
            kind, text = hj.via_replay(p)
        area.add(row, "Replay-\nSession\n" + ("played" if kind == "played" else "sentence"))
    except AssertionError as exc:  # the test helper's own check: a sentence that is not one line
        tb = traceback.extract_tb(exc.__traceback__)
        if tb and Path(tb[-1].filename).name == "test_hostile_journals.py":
            area.find(row, case, "ReplaySession", f"not one sentence: {exc}", "bad\noutput")
        else:
            area.find(row, case, "ReplaySession", f"AssertionError: {exc}\n{traceback_tail(exc)}", "tracebacks")
    except KeyboardInterrupt:
        raise
    except (Exception, Hang) as exc:
        area.find(row, case, "ReplaySession", f"{type(exc).__name__}: {str(exc)[:300]}\n{traceback_tail(exc)}", "tracebacks")
    r = d / "resume.jsonl"
    r.write_bytes(data)
    _resume(area, row, case, r, unverified=False)
    if verdict == "differs" and unverified:
        u = d / "unverified.jsonl"
        u.write_bytes(data)
        _resume(area, row, case, u, unverified=True)


def journals_job(opts: Options, shard: int, work: Path) -> Area:
    import test_hostile_journals as hj

    area = new_area("journals")
    if shard < 0:  # the hand-written list
        names = list(hj.HOSTILE)
        if opts.quick:
            names = names[::8]
        row = f"hand-written ({len(names)} of tests/test_hostile_journals.py)"
        for name in names:
            journal_case(area, hj, row, name, hj.HOSTILE[name], work)
        return area
    rng = random.Random(f"journals:{opts.seed}")
    base = hj._prefix()
    for n in range(opts.n(2000, 32)):
        op, data = hj.mutate(rng, base)  # every shard draws every case: the same cases whatever the split
        if n % FUZZ_SHARDS != shard:
            continue
        # --resume-unverified (two re-executions, a cycle, a third to verify it) on every 4th that differs
        journal_case(area, hj, FUZZ_OPS.get(op, op), f"fuzz case {n} ({op})", data, work, unverified=n % 4 == 0)
    return area


# --- 2. the agent path ----------------------------------------------------------------------------

AGENT_COLUMNS = ("orders\nfilled", "positions\nclosed", "decisions\nrejected", "answers\nfailed", "no order", "tracebacks", "broken\nstate")


def _hand_answers(prices: dict[str, float]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(label, answer text, streamed deltas): what the property test draws only by luck."""
    btc = prices["BTC"]

    def entry(**kw) -> str:
        d = {"signal": "buy_to_enter", "quantity": 0.01, "leverage": 5, "stop_loss": btc * 0.98, "profit_target": btc * 1.03, "confidence": 0.7,
             "invalidation_condition": "x"}
        d.update(kw)
        return json.dumps({"BTC": d}, allow_nan=True)

    everything = {c: {"signal": "buy_to_enter", "quantity": 10_000 / p, "leverage": 100, "stop_loss": p * 0.99, "profit_target": p * 1.01,
                      "confidence": 1} for c, p in prices.items()}
    deep = "[" * 100_000 + "]" * 100_000
    return [
        ("empty", "", []),
        ("lone surrogate", "\ud800", [("reasoning", "\udfff")]),
        ("surrogates in JSON", entry(invalidation_condition="\ud800\udc00\udfff"), []),
        ("OSC title", "\x1b]0;PWNED\x07", [("reasoning", "\x1b]52;c;cm0gLXJmIH4K\x07")]),
        ("CSI clear", "\x1b[2J\x1b[H" + entry(), [("answer", "\x1b[2J")]),
        ("C1 and bidi", "\x9b2J\u202e" + entry(justification="\u202eevil"), [("reasoning", "\x9d0;x\x9c")]),
        ("markup", entry(justification="[link=https://evil]x[/] [@click=app.quit]q[/]"), [("reasoning", "[/]")]),
        ("100x leverage", entry(leverage=100), []),
        ("40x leverage", entry(leverage=40), []),
        ("39.99x leverage", entry(leverage=39.99), []),
        ("all coins 100x, all the cash", json.dumps(everything), []),
        ("huge quantity", entry(quantity=1e308), []),
        ("infinite quantity", entry(quantity=float("inf")), []),
        ("NaN quantity", entry(quantity=float("nan")), []),
        ("400-digit quantity", entry().replace('"quantity": 0.01', '"quantity": 1' + "0" * 400), []),
        ("5000-digit leverage", entry().replace('"leverage": 5', '"leverage": 1' + "0" * 5000), []),
        ("1e-320 quantity", entry(quantity=1e-320), []),
        ("negative quantity", entry(quantity=-1), []),
        ("quantity as text", entry(quantity="lots"), []),
        ("stop on the wrong side", entry(stop_loss=btc * 1.5), []),
        ("stop NaN", entry(stop_loss=float("nan")), []),
        ("target infinite", entry(profit_target=float("inf")), []),
        ("confidence 1e308", entry(confidence=1e308), []),
        ("risk_usd -inf", entry(risk_usd=float("-inf")), []),
        ("duplicate coin keys", '{"BTC": {"signal": "buy_to_enter"}, "BTC": {"signal": "close"}}', []),
        ("unknown coin", json.dumps({"PEPE": {"signal": "buy_to_enter", "quantity": 1, "leverage": 5}}), []),
        ("coin key with escapes", json.dumps({"\x1b[2JBTC": {"signal": "buy_to_enter"}}), []),
        ("signal a number", entry(signal=1e308), []),
        ("signal a list", entry(signal=["buy_to_enter"]), []),
        ("decision a list", json.dumps({"BTC": [1, 2, 3]}), []),
        ("JSON scalar", "42", []),
        ("JSON null", "null", []),
        ("NaN literal", "NaN", []),
        ("deeply nested JSON", deep, []),
        ("deeply nested in a fence", "```json\n" + deep + "\n```", []),
        ("broken fence", "```json\n{not json}\n```", []),
        ("two fences", "```json\n" + entry() + "\n```\n```json\n" + entry(signal="close") + "\n```", []),
        ("1 MB of text", "x" * 1_000_000, [("reasoning", "y" * 100_000)]),
        ("NUL bytes", "\x00" * 100 + entry(), [("answer", "\x00")]),
        ("close what is open", json.dumps({c: {"signal": "close"} for c in prices}), []),
        ("hold everything", json.dumps({c: {"signal": "hold"} for c in prices}), []),
    ]


def _answer_row(text: str, plan) -> str:
    if plan is not None:
        return "drawn: a plausible plan near the market"
    if text.startswith("Here is my plan"):
        return "drawn: a fenced trade_signal_args block"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "drawn: free text (any characters)"
    return "drawn: a JSON object" if isinstance(value, dict) else "drawn: other JSON"


def agent_job(opts: Options, shard: int, work: Path) -> Area:
    import test_agent_path_property as ap
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from arena_tui.config import load_config
    from arena_tui.engine import events as ev
    from arena_tui.engine.agents.base import AgentReply, Usage
    from arena_tui.engine.arena import Arena
    from arena_tui.engine.bus import Bus
    from arena_tui.engine.indicators import compute_features
    from arena_tui.engine.journal import JournalWriter, read_journal
    from arena_tui.engine.market.recorded import RecordedMarket
    from arena_tui.engine.state import ArenaState

    area = new_area("agent")
    # the property test's world (a module fixture there): one real snapshot of the bundled market
    tmp = fresh_dir(work / "agent")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-21T12:00:00Z"}})
    market = RecordedMarket(start="2025-10-21T12:00:00Z")
    snap = asyncio.run(market.snapshot())
    features = compute_features(snap)
    agent = ap.ScriptedAgent("Model")
    header = ev.SessionStarted(0, market.now, "hostile", "recorded", market.name, ap.COINS, ({"name": "Model", "kind": "llm", "model": "p"},), 10_000.0,
                               300_000, cfg.to_json())
    writer = JournalWriter.create(tmp / "agent.jsonl", header)
    seen: list = []
    arena = Arena(cfg, market, [agent], Bus(ArenaState(header), writer, (seen.append,)))
    arena.cycle = 1
    state = arena.states["Model"]
    rules, kinds = Counter(), Counter()

    def one(row: str, case: str, text: str, stream, tokens: int = 1000) -> None:
        area.add(row, "tries")
        agent.reply = AgentReply(text=text, usage=Usage(tokens, tokens))
        agent.stream = list(stream)
        del seen[:]

        def path():
            reply = asyncio.run(arena._ask(state, snap, features))
            arena._act(state, reply, snap)

        ok, _ = attempt(area, row, case, "Arena._ask/_act", path)
        if not ok:
            return
        counts = Counter(type(e).__name__ for e in seen)
        area.add(row, "orders\nfilled", counts["OrderFilled"])
        area.add(row, "positions\nclosed", counts["PositionClosed"])
        area.add(row, "decisions\nrejected", counts["DecisionRejected"])
        area.add(row, "answers\nfailed", counts["AgentFailed"])
        if not (counts["OrderFilled"] or counts["PositionClosed"] or counts["DecisionRejected"] or counts["AgentFailed"]):
            area.add(row, "no order")
        for e in seen:
            if isinstance(e, ev.DecisionRejected):
                rules[e.rule] += 1
            elif isinstance(e, ev.AgentFailed):
                kinds[e.kind] += 1
        problems = []
        if not seen:
            problems.append("no event at all")
        odd = sorted({type(e).__name__ for e in seen if not isinstance(e, (ev.ReasoningDelta, *ap.ALLOWED))})
        if odd:
            problems.append(f"unexpected events {odd}")
        book = arena.state.agents["Model"]
        if book.halted is not None:
            problems.append(f"halted: {book.halted}")
        led = state.ledger
        if not (math.isfinite(led.cash) and led.cash >= -1e-6):
            problems.append(f"cash {led.cash!r}")
        bad = [c for c, p in led.positions.items() if not (math.isfinite(p.margin) and p.margin > 0 and p.quantity > 0)]
        if bad:
            problems.append(f"positions with a bad margin or quantity: {bad}")
        if problems:
            area.find(row, case, "after Arena._act", "; ".join(problems), "broken\nstate")

    prices = snap.prices()
    for label, text, stream in _hand_answers(prices):
        one("hand-written (escapes, surrogates, huge numbers, 100x...)", label, text, stream)

    examples = opts.n(2000, 40)

    @hseed(opts.seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate])
    @given(text=ap.answers, plan=st.one_of(st.none(), ap.plausible), stream=ap.deltas, tokens=st.integers(min_value=0, max_value=10**12))
    def drawn(text, plan, stream, tokens):
        if plan is not None:
            text = ap.plan_text(plan, prices)
        one(_answer_row(text, plan), f"drawn answer {text[:120]!r}", text, stream, tokens)

    drawn()
    writer.sync()
    row = "the journal of all of the above"
    area.add(row, "tries")
    ok, contents = attempt(area, row, "read_journal", "read_journal", read_journal, writer.path)
    if ok and contents.warnings:
        area.find(row, "read_journal", "read_journal", f"warnings: {contents.warnings[:3]}", "broken\nstate")
    writer.close()
    area.extra["rejections by rule"] = rules
    area.extra["failures by kind"] = kinds
    return area


# --- 3. the sanitising boundary -------------------------------------------------------------------

SANITISE_COLUMNS = ("safe_text\nunchanged", "safe_line\nunchanged", "leader-\nboard\nclean", "tracebacks", "raw escapes\nreaching\noutput", "hyperlinks\nor actions")

SANITISE_CORPUS: dict[str, list[str]] = {
    "OSC 0/1/2 window and icon title": ["\x1b]0;PWNED\x07", "\x1b]2;PWNED\x1b\\", "\x1b]0;PWNED\x9c", "\x1b]1;icon\x07", "\x1b]0;unterminated",
                                        "a\x1b]2;t\x07b\x1b]0;u\x1b\\c"],
    "OSC 8 hyperlink": ["\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\x1b]8;id=1;file:///etc/passwd\x07x\x1b]8;;\x07",
                        "\x9d8;;https://evil\x9cclick\x9d8;;\x9c", "\x1b]8;;https://evil\x07never closed"],
    "OSC 52 clipboard": ["\x1b]52;c;cm0gLXJmIH4K\x07", "\x1b]52;p;?\x07", "\x1b]52;c;cm0=\x1b\\", "\x1b]52;;" + "A" * 4000 + "\x07"],
    "other OSC (colours, cwd, notify)": ["\x1b]4;1;rgb:ff/00/00\x07", "\x1b]7;file://host/tmp\x07", "\x1b]9;notify\x07", "\x1b]777;notify;a;b\x07",
                                         "\x1b]1337;SetMark\x07", "\x1b]10;?\x07", "\x1b]104\x07"],
    "CSI cursor moves and clears": ["\x1b[2J", "\x1b[H", "\x1b[10;10H", "\x1b[5A", "\x1b[K", "\x1b[1K", "\x1b[3J", "\x1b[s\x1b[u", "\x1b[?1049h",
                                    "\x1b[?25l", "\x1b[r", "\x1b[1;1r", "\x1b[!p", "\x1b[?1000h", "\x1b[" + "9" * 5000 + "m", "\x1b[12"],
    "CSI reports (answered into stdin)": ["\x1b[6n", "\x1b[c", "\x1b[>c", "\x1b[21t", "\x1b[14t", "\x1b[?u", "\x1bP+q544e\x1b\\", "\x1b[5n"],
    "SGR styling": ["\x1b[31;1mred\x1b[0m", "\x1b[8mhidden\x1b[0m", "\x1b[38;2;1;2;3mx", "\x1b[5m", "\x1b[0m"],
    "DCS/APC/PM/SOS, tmux passthrough": ["\x1bPtmux;\x1b\x1b]52;c;x\x07\x1b\\", "\x1b_apc\x1b\\z", "\x1b^pm\x1b\\", "\x1bXsos\x1b\\",
                                         "\x1bkPWNED\x1b\\", "\x1bP no end", "\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\"],
    "two-character escapes": ["\x1bc", "\x1b7", "\x1b8", "\x1b(0", "\x1b#8", "\x1bD", "\x1bM", "\x1b=", "\x1bN", "\x1b", "x\x1b"],
    "C1 controls (8-bit CSI, OSC, NEL)": ["\x9b2J", "\x9b6n", "\x9d0;x\x9c", "\x90q\x9c", "\x85", "\x8d", "\x9f", "\x80", "\x84x", "\x9b31mred"],
    "C0 controls (NUL, BEL, BS, CR, DEL)": ["\x00", "\x07", "\x08\x08\x08XXX", "safe\rEVIL", "\x0b\x0c", "\x7f", "\x0e\x0f", "\x1a", "\x18\x1b[2J",
                                            "a\r\nb"],
    "bidi overrides and isolates": ["\u202eevil\u202c", "abc\u202dx", "\u2066x\u2069", "\u2067\u2068", "\u200e\u200f", "\u061c", "\u202a\u202b",
                                    "BTC \u202e000,01$"],
    "lone surrogates": ["\ud800", "\udfff", "a\ud83dz", "\udc00\ud800", "\ud83d\ude00"],
    "Rich/Textual markup": ["[link=https://evil.example]click[/link]", "[link=https://evil]x[/]", "[/]", "[/link]", "[bold red]x", "[@click=app.quit]q[/]",
                            "[@click=screen.dismiss()]x[/]", "[on #ff0000]x[/]", "\\[escaped]", "[", "]", "[[link=x]]",
                            "[link='javascript:alert(1)']x[/link]", "[reverse][blink]x", ":skull: :warning:", "[link=x]" * 50],
    "wide, combining, zero-width": ["\u200b\u200bzero width", "e\u0301" * 50, "\U0001d54f" * 40, "\ufdfd" * 10, "\u4e16\u754c" * 30, "\ufeffbom"],
    "long and layered": ["x" * 10_000, ("\x1b]0;t\x07" + "[link=x]y[/]") * 200, "\x1b" * 1000, "\x1b]" * 1000, "\x1b[" * 1000,
                         "\x1bPtmux;" * 500],
}

_SOUP = ["\x1b", "[", "]", "\\", "\x07", "P", "k", "0", "8", ";", "52", "m", "a", "\n", "\t", "\r", "\x9b", "\x9c", "\x9d", "\ud800", "\u202e",
         "/", "=", "link", "@click", "https://e"]
_POINTS = [(0x00, 0x20), (0x7F, 0xA0), (0x20, 0x7F), (0x20, 0x7F), (0x202A, 0x202F), (0x2066, 0x206A), (0x200B, 0x2010), (0xD800, 0xE000),
           (0x0300, 0x0370), (0x4E00, 0x4E80), (0x1F300, 0x1F400), (0xFFF0, 0x10000), (0xE0000, 0xE0080)]


def _random_strings(rng: random.Random, n: int) -> dict[str, list[str]]:
    pieces = [s for group in SANITISE_CORPUS.values() for s in group if len(s) < 200]
    soup = ["".join(rng.choice(_SOUP) for _ in range(rng.randint(1, 40))) for _ in range(n)]
    points = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 40)):
            lo, hi = rng.choice(_POINTS)
            chars.append(chr(rng.randrange(lo, hi)))
        points.append("".join(chars))
    layered = []
    for _ in range(n):
        s = "".join(rng.choice(pieces) + rng.choice(["", "x", " ", "\n", "BTC"]) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.3:
            s = s[: rng.randrange(len(s) + 1)]  # cut mid-sequence
        layered.append(s)
    return {"random: escape soup": soup, "random: code points from the bad ranges": points, "random: attacks layered and cut": layered}


def sanitise_job(opts: Options, shard: int, work: Path) -> Area:
    from rich.console import Console
    from rich.text import Text

    from arena_tui import headless
    from arena_tui.engine import sanitize
    from arena_tui.engine.events import LeaderboardRow

    area = new_area("sanitise")
    own_sgr = re.compile(r"\x1b\[[0-9;]*m")
    strings = dict(SANITISE_CORPUS)
    strings.update(_random_strings(random.Random(f"sanitise:{opts.seed}"), opts.n(1000, 50)))

    def check(row: str, s: str) -> None:
        area.add(row, "tries")
        case = repr(s[:120])
        ok, out = attempt(area, row, case, "safe_text", sanitize.safe_text, s)
        if ok:
            if out == s:
                area.add(row, "safe_text\nunchanged")
            if escapes_in(out):
                area.find(row, case, "safe_text", f"returned {escapes_in(out)} in {out[:120]!r}", "raw escapes\nreaching\noutput")
        ok, line = attempt(area, row, case, "safe_line", sanitize.safe_line, s)
        if ok:
            if line == s:
                area.add(row, "safe_line\nunchanged")
            if escapes_in(line) or "\n" in line or "\t" in line:
                area.find(row, case, "safe_line", f"returned {line[:120]!r}", "raw escapes\nreaching\noutput")

        def render():
            lb = LeaderboardRow(rank=1, agent=s, kind="llm", account_value=10_000.0, return_pct=1.0, pnl=1.0, fees=0.1, win_rate=None, sharpe=None,
                                max_drawdown_pct=None, trades=0, halted=False)
            table = headless.leaderboard_table([lb], s)
            buf = io.StringIO()
            console = Console(file=buf, force_terminal=True, color_system="truecolor", width=120, legacy_windows=False, _environ={})
            console.print(table)
            console.print(Text(sanitize.safe_text(s), style="yellow"))
            segments = list(console.render(table)) + list(console.render(Text(sanitize.safe_text(s))))
            return buf.getvalue(), segments

        ok, res = attempt(area, row, case, "leaderboard_table + Console.print", render)
        if not ok:
            return
        raw, segments = res
        leaks = [escapes_in(seg.text.replace("\n", "")) for seg in segments if not seg.control and escapes_in(seg.text.replace("\n", ""))]
        links = [seg for seg in segments if seg.style is not None and (seg.style.link or any("click" in str(k) for k in (seg.style.meta or {})))]
        plain = own_sgr.sub("", raw).replace("\n", "")
        if leaks or escapes_in(plain):
            area.find(row, case, "leaderboard output", f"{(leaks or [escapes_in(plain)])[0]} reached the output: {plain[:160]!r}",
                      "raw escapes\nreaching\noutput")
        elif links or "\x1b]8;" in raw:
            area.find(row, case, "leaderboard output", f"a hyperlink or action: {links[:1] or raw[:160]!r}", "hyperlinks\nor actions")
        else:
            area.add(row, "leader-\nboard\nclean")

    for row, group in strings.items():
        for s in group:
            check(row, s)
    return area


# --- 4. config ------------------------------------------------------------------------------------

CONFIG_COLUMNS = ("sentence", "accepted", "accepted\n& built", "refused\nat start", "tracebacks", "bad\nsentence", "accepted\nbut broken")

_LLM = "[[agents]]\nname = 'GPT'\nkind = 'openai'\nmodel = 'gpt-5'\n"
_BASE = "[[agents]]\nname = 'x'\nkind = 'baseline'\nstrategy = 'always_flat'\n"


def _hand_configs(blocker: Path) -> list[tuple[str, bytes]]:
    """(label, file contents): the areas of the issue not in tests/test_config.py's lists."""
    t = lambda s: s.encode("utf-8")  # noqa: E731
    return [
        ("negative fee", t("[fees]\ntaker_fee_bp = -0.5\n")),
        ("NaN fee", t("[fees]\ntaker_fee_bp = nan\n")),
        ("-inf fee", t("[fees]\nmaker_fee_bp = -inf\n")),
        ("fee 1e400 (inf)", t("[fees]\nslippage_bp = 1e400\n")),
        ("infinite cash", t("[arena]\nstarting_cash = inf\n")),
        ("cash -0.0", t("[arena]\nstarting_cash = -0.0\n")),
        ("cash a string", t("[arena]\nstarting_cash = '10000'\n")),
        ("halt count -1", t("[arena]\nhalt_after_failures = -1\n")),
        ("halt count 2**63", t(f"[arena]\nhalt_after_failures = {2**63}\n")),
        ("halt count a float", t("[arena]\nhalt_after_failures = 3.0\n")),
        ("halt count true", t("[arena]\nhalt_after_failures = true\n")),
        ("max_leverage 40", t("[risk]\nmax_leverage = 40.0\n")),
        ("max_leverage 40.000001", t("[risk]\nmax_leverage = 40.000001\n")),
        ("max_leverage 1e308", t("[risk]\nmax_leverage = 1e308\n")),
        ("max_leverage nan", t("[risk]\nmax_leverage = nan\n")),
        ("min_leverage 0.5", t("[risk]\nmin_leverage = 0.5\n")),
        ("min above max", t("[risk]\nmin_leverage = 30.0\nmax_leverage = 10.0\n")),
        ("max_margin_usage 0", t("[risk]\nmax_margin_usage = 0.0\n")),
        ("sessions_dir naming a file", t(f"[arena]\nsessions_dir = '{blocker.as_posix()}'\n")),
        ("sessions_dir under a file", t(f"[arena]\nsessions_dir = '{blocker.as_posix()}/sub'\n")),
        ("sessions_dir with NUL", t('[arena]\nsessions_dir = "a\\u0000b"\n')),
        ("sessions_dir 5000 chars", t("[arena]\nsessions_dir = '" + "a" * 5000 + "'\n")),
        ("agent name [link] markup", t("[[agents]]\nname = '[link=https://evil]x[/]'\nkind = 'baseline'\nstrategy = 'always_flat'\n")),
        ("agent name [@click] markup", t("[[agents]]\nname = '[@click=app.quit]q[/]'\nkind = 'baseline'\nstrategy = 'always_flat'\n")),
        ("agent name with ESC", t('[[agents]]\nname = "a\\u001b]0;x\\u0007"\nkind = "baseline"\nstrategy = "always_flat"\n')),
        ("agent name with bidi override", t('[[agents]]\nname = "a\\u202eb"\nkind = "baseline"\nstrategy = "always_flat"\n')),
        ("agent name a number", t("[[agents]]\nname = 5\nkind = 'baseline'\nstrategy = 'always_flat'\n")),
        ("agent without a name", t("[[agents]]\nkind = 'baseline'\nstrategy = 'always_flat'\n")),
        ("agent without a kind", t("[[agents]]\nname = 'x'\n")),
        ("agents not tables", t("agents = [1, 2]\n")),
        ("agents a string", t("agents = 'GPT'\n")),
        ("agents a table", t("[agents]\nname = 'x'\n")),
        ("200 agents", t("".join(f"[[agents]]\nname = 'a{i}'\nkind = 'baseline'\nstrategy = 'always_flat'\n" for i in range(200)))),
        ("BOM", b"\xef\xbb\xbf[market]\nspeed = 1.0\n"),
        ("BOM and CRLF", b"\xef\xbb\xbf[market]\r\nspeed = 1.0\r\n"),
        ("UTF-16", "[market]\nspeed = 1.0\n".encode("utf-16")),
        ("Latin-1 byte", b"[arena]\nname = '\xe9'\n"),
        ("NUL byte", b"[arena]\nname = 'a\x00b'\n"),
        ("binary", bytes(random.Random(7).randrange(256) for _ in range(2000))),
        ("empty file", b""),
        ("cut off mid-table", t("[risk\nmax_lev")),
        ("a date for start", t("[market]\nstart = 2025-10-17T00:00:00Z\n")),
        ("a time for speed", t("[market]\nspeed = 12:00:00\n")),
        ("start not a date", t("[market]\nstart = 'noon'\n")),
        ("start outside the data", t("[market]\nstart = '1970-01-01T00:00:00Z'\n")),
        ("coins empty", t("[market]\ncoins = []\n")),
        ("coins a string", t("[market]\ncoins = 'btc,eth'\n")),
        ("coins numbers", t("[market]\ncoins = [1, 2]\n")),
        ("coins with markup", t("[market]\ncoins = ['[link=x]BTC']\n")),
        ("unknown key", t("[market]\ncoinz = ['BTC']\n")),
        ("unknown key with an escape", t('[market]\n"\\u001b]0;x\\u0007" = 1\n')),
        ("unknown section", t("[colours]\nx = 1\n")),
        ("section an array", t("[[market]]\nspeed = 1.0\n")),
        ("section a string", t("market = 'fast'\n")),
        ("secret in a section", t("[arena]\ntoken = 'abc'\n")),
        ("theme markup", t("[ui]\ntheme = '[link=x]y[/]'\n")),
        ("recorded agent: a directory", t(f"[[agents]]\nname = 'r'\nkind = 'recorded'\npath = '{blocker.parent.as_posix()}'\n")),
        ("recorded agent: /dev/null", t("[[agents]]\nname = 'r'\nkind = 'recorded'\npath = '/dev/null'\n")),
        ("recorded agent: missing file", t("[[agents]]\nname = 'r'\nkind = 'recorded'\npath = 'nope.jsonl'\n")),
        ("recorded agent: a binary file", t(f"[[agents]]\nname = 'r'\nkind = 'recorded'\npath = '{blocker.as_posix()}'\n")),
        ("live source, bogus exchange", t("[market]\nsource = 'live'\nexchange = 'nasdaq'\n")),
        ("deeply nested array (5000)", t("[arena]\nname = " + "[" * 5000 + "]" * 5000 + "\n")),
        ("deeply nested inline table (3000)", t("[arena]\nname = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n")),
        ("5000-digit integer", t("[arena]\nhalt_after_failures = " + "1" * 5000 + "\n")),
        ("100,000-digit float", t("[arena]\nstarting_cash = 1." + "1" * 100_000 + "\n")),
    ]


_CONFIG_VALUES: list[Any] = [
    math.nan, math.inf, -math.inf, -1, -1.0, 0, 0.0, -0.0, 1e-320, 1e308, 2**63, 2**64, -(2**63), 40, 40.0, 39.999, 1000.0, 1e12, 1e13,
    "", " ", "x", "nan", "inf", "1e999", "[link=https://evil]x[/]", "\x1b]0;PWNED\x07", "a\u202eb", "../../etc/passwd", "/dev/null", "x" * 5000,
    "sk-" + "HOSTILEKEY0123456789abcdef", True, False, [], [1], ["BTC", "PEPE"], {}, {"a": 1},
]


def _config_values():
    import datetime as dt

    return _CONFIG_VALUES + [dt.datetime(2025, 10, 17, tzinfo=dt.timezone.utc), dt.date(2025, 10, 17), dt.time(12, 0)]


def _mutate_config(rng: random.Random, data: dict, values: list) -> str:
    """Change ``data`` (a parsed starter config) in one hostile way; the kind of change."""
    op = rng.choice(["value", "value", "value", "value", "agent value", "agent value", "unknown key", "drop key", "section shape", "agents shape"])
    sections = [k for k in data if k != "agents"]
    if op == "value":
        sec = data[rng.choice(sections)]
        sec[rng.choice(list(sec))] = copy.deepcopy(rng.choice(values))
    elif op == "agent value":
        a = rng.choice(data["agents"])
        a[rng.choice(list(a) + ["temperature", "retries", "max_tokens", "thinking_budget", "path", "base_url"])] = copy.deepcopy(rng.choice(values))
    elif op == "unknown key":
        target = data[rng.choice(sections)] if rng.random() < 0.6 else rng.choice(data["agents"])
        target[rng.choice(["coinz", "Speed", "api_key", "apiKey", "Password", "speed ", "\u202espeed", "[link=x]"])] = copy.deepcopy(rng.choice(values))
    elif op == "drop key":
        a = rng.choice(data["agents"])
        a.pop(rng.choice(list(a)))
    elif op == "section shape":
        data[rng.choice(sections + ["colours"])] = rng.choice([[1], "x", 3, [{"a": 1}], {"": {}}])
    else:
        data["agents"] = rng.choice([[], {}, "GPT", [data["agents"][0]] * 2, data["agents"] * 20, [{"name": "x"}], [{"kind": "baseline"}]])
    return op


def _config_from_text_rows(module, fn_name: str) -> list[str]:
    """The config texts of a parametrized test (its ``pytest.mark.parametrize`` list), first column."""
    fn = getattr(module, fn_name)
    out = []
    for mark in getattr(fn, "pytestmark", []):
        if mark.name == "parametrize":
            for params in mark.args[1]:
                out.append(params[0] if isinstance(params, tuple) else params)
    return out


def config_job(opts: Options, shard: int, work: Path) -> Area:
    import tomllib

    import test_config as tc
    import test_secrets as ts
    import tomli_w

    from arena_tui.config import Config, config_from_json, load_config, write_starter_config
    from arena_tui.engine.errors import ArenaError
    from arena_tui.engine.factory import build_agents, build_market

    area = new_area("config")
    d = fresh_dir(work / "config")
    blocker = d / "not-a-dir"
    blocker.write_bytes(b"\x00\x01binary")
    empty = fresh_dir(d / "empty")

    def judge_accepted(row: str, case: str, cfg) -> None:
        def header_round_trip():
            return config_from_json(json.loads(json.dumps(cfg.to_json(), allow_nan=False)), "hostile.jsonl header")

        try:
            with deadline(CASE_DEADLINE_S):
                header_round_trip()
        except (ArenaError, ValueError) as exc:
            area.find(row, case, "journal header round trip", f"{type(exc).__name__}: {exc}", "accepted\nbut broken")
            return
        except Exception as exc:  # noqa: BLE001
            area.find(row, case, "journal header round trip", f"{type(exc).__name__}: {exc}\n{traceback_tail(exc)}", "tracebacks")
            return
        numbers = [v for sec in (cfg.fees, cfg.risk, cfg.arena, cfg.market) for v in dataclasses.asdict(sec).values() if isinstance(v, float)]
        numbers += [v for a in cfg.agents for v in dataclasses.asdict(a).values() if isinstance(v, float)]
        if not all(math.isfinite(v) for v in numbers) or cfg.risk.max_leverage >= 40:
            area.find(row, case, "accepted values", f"non-finite number or max_leverage {cfg.risk.max_leverage}", "accepted\nbut broken")
            return
        area.add(row, "accepted")
        if row.startswith("hand-written"):
            area.extra.setdefault("hand-written configs accepted", Counter())[case] += 1

        def build():
            try:
                build_market(cfg)
                build_agents(cfg)
            except ArenaError as exc:
                return str(exc)
            return None

        ok, refused = attempt(area, row, case, "build_market + build_agents", build)
        if ok and refused is None:
            area.add(row, "accepted\n& built")
        elif ok:
            area.add(row, "refused\nat start")
            if not one_sentence(refused):
                area.find(row, case, "build_market + build_agents", f"not one sentence: {refused[:300]!r}", "bad\nsentence")

    def load(row: str, case: str, text: bytes | None, environ: dict | None = None, path: Path | None = None) -> None:
        area.add(row, "tries")
        if text is not None:
            path = d / "arena.toml"
            path.write_bytes(text)

        def go():
            try:
                return load_config(str(path) if path else None, environ=environ or {}, cwd=empty), None
            except ArenaError as exc:
                return None, str(exc)

        ok, res = attempt(area, row, case, "load_config", go)
        if not ok:
            return
        cfg, sentence = res
        if sentence is not None:
            area.add(row, "sentence")
            named = path is None or str(path) in sentence
            if not one_sentence(sentence) or not named:
                area.find(row, case, "load_config", f"not one sentence naming the file: {sentence[:300]!r}", "bad\nsentence")
            return
        judge_accepted(row, case, cfg)

    # the lists of tests/test_config.py and tests/test_secrets.py
    row = "tests/test_config.py + test_secrets.py lists"
    for fn in ("test_bad_file_gets_one_sentence_naming_the_key", "test_hostile_values_get_one_sentence_naming_the_key"):
        for text in _config_from_text_rows(tc, fn):
            load(row, repr(text[:160]), text.encode("utf-8"))
    for text in _config_from_text_rows(ts, "test_error_sentences_never_echo_a_key"):
        load(row, repr(text[:160]), text.encode("utf-8"))
    for value in _config_from_text_rows(ts, "test_a_key_pasted_into_api_key_env_is_refused_without_being_echoed"):
        load(row, f"api_key_env = {value!r}", f'[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\napi_key_env = "{value}"\n'.encode())
    # hand-written
    row = "hand-written (this script)"
    for label, text in _hand_configs(blocker):
        load(row, label, text)
    load(row, "the config path is a directory", None, path=d)
    load(row, "the config path does not exist", None, path=d / "nope.toml")
    load(row, "the config path is /dev/null", None, path=Path("/dev/null"))
    # mutated starter configs
    starter = write_starter_config(d / "starter.toml").read_text(encoding="utf-8")
    rng = random.Random(f"config:{opts.seed}")
    values = _config_values()
    for n in range(opts.n(1500, 60)):
        data = tomllib.loads(starter)
        op = _mutate_config(rng, data, values)
        row = f"mutated starter config: {op}"
        try:
            text = tomli_w.dumps(data).encode("utf-8")
        except (TypeError, ValueError):
            continue  # not writable as TOML (tomli_w refuses it): not an input a file can hold
        style = rng.random()
        if style < 0.05:
            text = b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n")
        elif style < 0.08:
            text = text[: rng.randrange(len(text) + 1)]
        load(row, f"case {n}: {text[:200]!r}", text)
    # ARENA_* variables
    from arena_tui.config import ENV_OVERRIDES

    env_values = ["nan", "inf", "-inf", "-1", "1e999", "", " ", "0x10", "1_000", "BTC,,ETH", "PEPE", ",", "btc", "live", "paper", "x" * 5000,
                  "[link=x]y[/]", "\x1b]0;t\x07", "2025-10-17", "noon", "/dev/null", str(blocker), str(blocker / "sub"), "\u202e", "1e-320",
                  "sk-" + "HOSTILEKEY0123456789abcdef", "5m", "1s", "arena-dark", "../../../../etc"]
    row = "ARENA_* environment variables"
    for n in range(opts.n(300, 20)):
        env = {rng.choice(list(ENV_OVERRIDES)): rng.choice(env_values) for _ in range(rng.randint(1, 3))}
        load(row, f"environ {env!r}"[:200], None, environ=env)
    # journal headers (what --resume and --replay build the session from)
    import test_hostile_journals as hj

    header_values = hj._VALUES + [math.nan, math.inf, -math.inf, 10**400, 2**63, -1, 40.0, 1e308, "sk-" + "HOSTILEKEY0123456789abcdef",
                                  "\x1b]0;PWNED\x07", "[link=x]y[/]", "x" * 5000]
    base = Config(agents=(tc.AgentConfig(name="GPT", kind="openai", model="gpt-5", api_key_env="OPENAI_API_KEY"),
                          tc.AgentConfig(name="Flat", kind="baseline", strategy="always_flat"))).to_json()
    row = "journal header config (config_from_json)"
    for n in range(opts.n(1500, 60)):
        data = json.loads(json.dumps(base))
        hj._mutate_value(rng, data)
        if rng.random() < 0.3:
            hj._mutate_value(rng, data)
        area.add(row, "tries")
        case = f"case {n}: {json.dumps(data, allow_nan=True, default=str)[:200]}"

        def go(data=data):
            try:
                return config_from_json(data, "hostile.jsonl header"), None
            except ArenaError as exc:
                return None, str(exc)

        ok, res = attempt(area, row, case, "config_from_json", go)
        if not ok:
            continue
        cfg, sentence = res
        if sentence is not None:
            area.add(row, "sentence")
            if not one_sentence(sentence):
                area.find(row, case, "config_from_json", f"not one sentence: {sentence[:300]!r}", "bad\nsentence")
            continue
        judge_accepted(row, case, cfg)
    return area


# --- 5. secrets -----------------------------------------------------------------------------------

SECRET_COLUMNS = ("sessions\nrun", "refused\n(sentence)", "canaries:\njournal", "canaries:\nfailure\nreasons", "canaries:\nprinted\noutput",
                  "canaries:\nerror\nsentences", "canaries:\nlog file", "tracebacks")


class _EchoServer:
    """A local endpoint that answers every request with an error echoing the key, URL and headers it
    got (the way some proxies and servers do), cycling through statuses; 127.0.0.1 only."""

    STATUSES = (401, 400, 403, 404, 422, 500, 200)

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self
        self.count = 0

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                status = owner.STATUSES[owner.count % len(owner.STATUSES)]
                owner.count += 1
                key = self.headers.get("authorization") or self.headers.get("x-api-key") or ""
                echo = f"key {key} not valid for {self.command} {self.path} on {self.headers.get('host')}; headers {dict(self.headers)}; body {body[:200]!r}"
                if status == 200:  # a success that is not what the SDK expects, the key in it
                    payload, ctype = f"data: not json {echo}\n\n".encode(), "text/event-stream"
                else:
                    payload = json.dumps({"error": {"message": echo, "type": "invalid_request_error", "code": key}}).encode()
                    ctype = "application/json"
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(payload)))
                self.send_header("x-echo-key", key[:200])
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def secrets_job(opts: Options, shard: int, work: Path) -> Area:
    import test_secrets as ts

    from arena_tui.config import load_config
    from arena_tui.engine import events as ev
    from arena_tui.engine.errors import ArenaError
    from arena_tui.engine.journal import read_journal

    area = new_area("secrets")
    d = fresh_dir(work / "secrets")
    log_dir = Path(opts.workdir) / "log"  # every process's log file (see run_job)
    canaries = ts.CANARIES

    def hits(text: str) -> list[str]:
        return [c for c in canaries if c in text]

    def env_for_session() -> dict:
        drop = {k: None for k in os.environ if k.startswith("ARENA_") and k != "ARENA_TUI_LOG_DIR"}
        drop.update({k: None for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY")})
        drop["ARENA_TEST_LEAKY_KEY"] = ts.ENV_KEY
        return drop

    def session(row: str, case: str, config_text: str, cycles: int) -> None:
        area.add(row, "tries")
        sd = fresh_dir(d / f"s{area.total('tries')}")
        cfg = sd / "arena.toml"
        cfg.write_text(config_text.replace(str(work), str(sd)), encoding="utf-8")
        journal = sd / "j.jsonl"
        printed = []
        with patched_environ(env_for_session()):
            ok, res = attempt(area, row, case, "arena-tui --headless", run_cli,
                              ["--config", cfg, "--headless", "--cycles", str(cycles), "--journal", journal])
            if not ok:
                return
            rc, out, err = res
            printed.append(out + err)
            if rc not in (0, 3):  # 3: it ran, every agent failed every time (nothing listens)
                area.add(row, "refused\n(sentence)")
                if hits(err):
                    area.find(row, case, "arena-tui --headless", f"canary {hits(err)} in the error: {err[-300:]!r}", "canaries:\nerror\nsentences")
            else:
                area.add(row, "sessions\nrun")
                # --resume with --config: the journal header holds no credentials, the file does
                for argv in (["--replay", journal, "--headless"], ["--resume", journal, "--config", cfg, "--headless", "--cycles", "1"]):
                    ok, res = attempt(area, row, case, " ".join(map(str, argv[::2])), run_cli, argv)
                    if ok:
                        printed.append(res[1] + res[2])
        text = "".join(printed)
        if hits(text):
            i = min(text.find(c) for c in hits(text) if c in text)
            area.find(row, case, "printed output", f"canary {hits(text)}: ...{text[max(0, i - 150):i + 80]!r}", "canaries:\nprinted\noutput")
        if journal.exists():
            raw = journal.read_text(encoding="utf-8", errors="replace")
            if hits(raw):
                i = min(raw.find(c) for c in hits(raw) if c in raw)
                area.find(row, case, "journal", f"canary {hits(raw)}: ...{raw[max(0, i - 150):i + 80]!r}", "canaries:\njournal")
            ok, contents = attempt(area, row, case, "read_journal", read_journal, journal)
            if ok:
                reasons = [e.reason for e in contents.events if isinstance(e, ev.AgentFailed)]
                reasons += [e.failure_reason or "" for e in contents.events if isinstance(e, ev.AgentReplied)]
                bad = [r for r in reasons if hits(r)]
                if bad:
                    area.find(row, case, "failure reasons", f"canary in {bad[0][:300]!r}", "canaries:\nfailure\nreasons")
                area.extra.setdefault("failure reasons seen", Counter())["reasons"] += len(reasons)

    def refused_at_load(row: str, case: str, text: str, environ: dict | None = None) -> None:
        area.add(row, "tries")
        path = d / "load.toml"
        path.write_text(text, encoding="utf-8")

        def go():
            try:
                return load_config(str(path) if text else None, environ=environ or {}, cwd=d), None
            except ArenaError as exc:
                return None, str(exc)

        ok, res = attempt(area, row, case, "load_config", go)
        if not ok:
            return
        cfg, sentence = res
        if sentence is not None:
            area.add(row, "refused\n(sentence)")
            if hits(sentence):
                area.find(row, case, "load_config", f"canary {hits(sentence)} in {sentence[:300]!r}", "canaries:\nerror\nsentences")
        else:
            header = json.dumps(cfg.to_json())
            if hits(header):
                area.find(row, case, "journal header (Config.to_json)", f"canary {hits(header)}", "canaries:\njournal")

    base_text = ts._config_text(work)  # nothing listens on 127.0.0.1:9
    session("base_url user:password@ and ?api_key=, key-like model and effort (connection refused)", "test_secrets config", base_text, 2)
    server = _EchoServer()
    try:
        echo_text = base_text.replace("127.0.0.1:9", f"127.0.0.1:{server.port}") + f"""
[[agents]]
name = "Leaky Claude"
kind = "anthropic"
model = "claude-sonnet-4-6"
base_url = "http://{ts.USER}:{ts.PASS}@127.0.0.1:{server.port}?key={ts.QUERY}"
api_key_env = "ARENA_TEST_LEAKY_KEY"
timeout_s = 2.0
retries = 0
"""
        for i in range(opts.n(3, 1)):
            session("the same against a server echoing key, URL and headers in its errors", f"echo server, statuses from request {server.count}",
                    echo_text, 3)
    finally:
        server.close()
    for value in _config_from_text_rows(ts, "test_a_key_pasted_into_api_key_env_is_refused_without_being_echoed"):
        refused_at_load("a key pasted into api_key_env", f"api_key_env = {value[:40]!r}",
                        f'[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\napi_key_env = "{value}"\n')
    # a key pasted into every string field, in turn
    fields = [("market", k) for k in ("source", "exchange", "start", "intraday_timeframe", "context_timeframe", "cycle_interval")]
    fields += [("arena", k) for k in ("name", "sessions_dir", "system_prompt", "user_prompt")] + [("ui", "theme")]
    agent_fields = ("name", "kind", "model", "base_url", "reasoning_effort", "strategy", "path")
    for key in (ts.MODEL_KEY, ts.EFFORT_KEY, f"http://{ts.USER}:{ts.PASS}@h/?token={ts.QUERY}"):
        for sec, k in fields:
            text = f'[{sec}]\n{k} = "{key}"\n'
            refused_at_load("a key pasted into another field (load_config)", f"{sec}.{k} = {key[:12]}...", text)
        for k in agent_fields:
            agent = {"name": "Local", "kind": "openai-compatible", "model": "m", "base_url": "http://127.0.0.1:9/v1", "timeout_s": 2.0, "retries": 0}
            agent[k] = key
            body = "".join(f"{a} = {json.dumps(v)}\n" for a, v in agent.items())
            refused_at_load("a key pasted into another field (load_config)", f"agents[0].{k} = {key[:12]}...", "[[agents]]\n" + body)
    # the accepted ones run as sessions (their output and journal scanned)
    sessions_dir = (d / "sessions").as_posix()
    local = '[[agents]]\nname = "Local"\nkind = "openai-compatible"\nbase_url = "{url}"\nmodel = "{model}"\n{more}timeout_s = 2.0\nretries = 0\n'
    k = ts.MODEL_KEY
    runnable = [
        ("arena.name", {"arena": f'name = "{k}"'}, ""),
        ("market.exchange", {"market": f'exchange = "{k}"'}, ""),
        ("ui.theme", {"ui": f'theme = "{k}"'}, ""),
        ("agents[0].reasoning_effort", {}, local.format(url="http://127.0.0.1:9/v1", model="m", more=f'reasoning_effort = "{k}"\n')),
        ("agents[0].model", {}, local.format(url="http://127.0.0.1:9/v1", model=k, more="")),
        ("agents[0].base_url ?x=key", {}, local.format(url=f"http://127.0.0.1:9/v1?x={k}", model="m", more="")),
    ]
    if opts.quick:
        runnable = runnable[-1:]
    for label, extra, agents in runnable:
        sections = {"market": "speed = 0.0", "arena": f'sessions_dir = "{sessions_dir}"'}
        for name, line in extra.items():
            sections[name] = (sections[name] + "\n" + line) if name in sections else line
        text = "".join(f"[{name}]\n{body}\n" for name, body in sections.items()) + agents
        session("a key pasted into another field (a session)", label, text, 1)
    # ARENA_* variables holding a key
    from arena_tui.config import ENV_OVERRIDES

    for var in ENV_OVERRIDES:
        for key in (ts.MODEL_KEY, f"http://{ts.USER}:{ts.PASS}@h/?api_key={ts.QUERY}"):
            refused_at_load("a key in an ARENA_* variable", f"{var}={key[:12]}...", "", environ={var: key})
    # the log file, if the command line wrote one
    if log_dir.is_dir():
        for f in log_dir.rglob("*"):
            if f.is_file():
                text = f.read_text(encoding="utf-8", errors="replace")
                area.add("the log files (every process's, all areas so far)", "tries")
                if hits(text):
                    area.find("the log files (every process's, all areas so far)", f.name, "log file", f"canary {hits(text)}", "canaries:\nlog file")
    return area


def _agent_area() -> Area:
    return Area(
        "agent",
        "2. Agent path: arbitrary model answers through Arena._ask and Arena._act (journal, parse, risk, ledger, state)",
        AGENT_COLUMNS,
        ("tracebacks", "broken\nstate"),
        note=(
            "Counts are events (tries are answers). Survived: the answer leaves only fills, closes, rejections and failures "
            "(test_agent_path_property.ALLOWED); the account's cash stays finite and >= 0, every position has a positive "
            "margin and quantity, the agent is not halted, and the journal reads back without warnings. broken state = any of "
            "those not holding."
        ),
    )


def _sanitise_area() -> Area:
    return Area(
        "sanitise",
        "3. Sanitising boundary: hostile strings through safe_text/safe_line and the headless leaderboard",
        SANITISE_COLUMNS,
        ("tracebacks", "raw escapes\nreaching\noutput", "hyperlinks\nor actions"),
        note=(
            "Each string is an agent name and the table title of headless.leaderboard_table, plus a notice line "
            "(Text(safe_text(s))), printed by a truecolor terminal Console. raw escapes = a forbidden character "
            "(ESC/C0 but tab and newline, DEL, C1, bidi, surrogate) in safe_text/safe_line's result, in a rendered segment, or "
            "in the terminal output once rich's own SGR colour codes are removed. hyperlinks or actions = a rendered "
            "segment with a link or @click meta, or an OSC 8 in the output. unchanged = the function returned the string as it was (nothing unsafe in it)."
        ),
    )


def _config_area() -> Area:
    return Area(
        "config",
        "4. Config: bad TOML files, ARENA_* variables and journal-header configs through load_config / config_from_json",
        CONFIG_COLUMNS,
        ("tracebacks", "bad\nsentence", "accepted\nbut broken"),
        note=(
            "Survived: a sentence (ConfigError/ArenaError: one line; for a file, naming the file) or an accepted config. An "
            "accepted config is then built (build_market + build_agents: what a session does first); 'refused at start' is a "
            "sentence from that step. accepted but broken = its journal header (to_json -> JSON without NaN -> "
            "config_from_json) does not read back, a number in it is not finite, or max_leverage >= 40."
        ),
    )


def _secrets_area() -> Area:
    return Area(
        "secrets",
        "5. Secrets: canary keys in base_url, api_key_env, key-like fields and ARENA_* variables",
        SECRET_COLUMNS,
        ("canaries:\njournal", "canaries:\nfailure\nreasons", "canaries:\nprinted\noutput", "canaries:\nerror\nsentences", "canaries:\nlog file",
         "tracebacks"),
        note=(
            "Canaries: tests/test_secrets.py's (user, password, query key, key-like model and reasoning_effort, the key in the "
            "environment variable, and the word CANARY itself). A session is arena-tui --config C --headless --cycles N --journal J, "
            "then --replay J --headless, then --resume J --config C --headless --cycles 1, all in process; printed output is all three's "
            "stdout and stderr; failure reasons are AgentFailed.reason and AgentReplied.failure_reason in the journal."
        ),
    )


# --- running and printing -------------------------------------------------------------------------

AREAS = {
    "journals": (journals_job, [-1, *range(FUZZ_SHARDS)]),
    "agent": (agent_job, [0]),
    "sanitise": (sanitise_job, [0]),
    "config": (config_job, [0]),
    "secrets": (secrets_job, [0]),
}
ORDER = ("journals", "agent", "sanitise", "config", "secrets")


def new_area(key: str) -> Area:
    return {"journals": new_journal_area, "agent": _agent_area, "sanitise": _sanitise_area, "config": _config_area, "secrets": _secrets_area}[key]()


def run_job(spec: tuple[str, int, Options]) -> Area:
    key, shard, opts = spec
    fn = AREAS[key][0]
    os.environ["ARENA_TUI_LOG_DIR"] = str(Path(opts.workdir) / "log" / str(os.getpid()))  # one log per process: its tracebacks are its own
    work = Path(tempfile.mkdtemp(prefix=f"{key}-{shard + 1}-", dir=opts.workdir))
    t0 = time.perf_counter()
    try:
        area = fn(opts, shard, work)
    except (Exception, Hang) as exc:  # the harness itself: still a traceback of this area
        area = new_area(key)
        area.find("(the harness)", f"shard {shard}", fn.__name__, f"{type(exc).__name__}: {exc}\n{traceback_tail(exc, 12)}", "tracebacks")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    area.seconds = time.perf_counter() - t0
    return area


def run_all(opts: Options, keys: list[str], workers: int) -> dict[str, Area]:
    specs = [(k, s, opts) for k in keys for s in AREAS[k][1]]
    # the long ones first
    weight = {"journals": 3, "agent": 4, "config": 2, "secrets": 2, "sanitise": 1}
    specs.sort(key=lambda s: -(weight[s[0]] + (5 if s[0] == "agent" else 0)))
    merged: dict[str, Area] = {}

    def take(area: Area) -> None:
        if area.key in merged:
            merged[area.key].merge(area)
        else:
            merged[area.key] = area

    if workers <= 1:
        for spec in specs:
            take(run_job(spec))
    else:
        import multiprocessing as mp

        if {"journals", "config"} & set(keys):
            import test_hostile_journals  # noqa: F401  (slow to import: once here, not once per worker)

        with mp.get_context("fork").Pool(workers) as pool:
            for area in pool.imap_unordered(run_job, specs):
                take(area)
    return {k: merged[k] for k in ORDER if k in merged}


def print_report(console, areas: dict[str, Area]) -> None:
    from rich.table import Table
    from rich.text import Text

    for area in areas.values():
        table = Table(title=Text(area.title, style="bold"), title_justify="left", show_lines=False)
        table.add_column("attack", justify="left", overflow="fold", max_width=48)
        table.add_column("tries", justify="right")
        for c in area.columns:
            table.add_column(c, justify="right")
        for row, counts in sorted(area.rows.items(), key=lambda kv: (kv[0].startswith(("mutated", "drawn", "random")), kv[0])):
            table.add_row(Text(row), *_cells(area, counts))
        total = Counter()
        for counts in area.rows.values():
            total.update(counts)
        table.add_section()
        table.add_row(Text("total", style="bold"), *_cells(area, total))
        console.print(table)
        if area.note:
            console.print(Text(area.note, style="dim"), width=min(console.width, 150))
        for name, counts in area.extra.items():
            if counts:
                console.print(Text(f"{name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.most_common())), width=min(console.width, 150))
        console.print(Text(f"({area.seconds:.0f} s of work)", style="dim"))
        if area.findings:
            console.print(Text(f"findings ({area.found}, first {len(area.findings)} shown):", style="bold red"))
            for f in area.findings:
                console.print(Text(f"- [{f.row}] {f.case[:200]} / {f.where}:", style="red"), soft_wrap=True)
                for line in f.detail.splitlines():
                    console.print(Text("    " + _printable(line)), soft_wrap=True)
        console.print()


def _printable(text: str) -> str:
    from arena_tui.engine.sanitize import safe_line

    return safe_line(text, limit=400)


def _cells(area: Area, counts: Counter) -> list:
    from rich.text import Text

    out = [Text(f"{counts['tries']:,}")]
    for c in area.columns:
        n = counts[c]
        style = ("bold red" if n else "green") if c in area.must_be_zero else ""
        out.append(Text(f"{n:,}", style=style))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts (the test runs this): well under 30 s")
    parser.add_argument("--seed", type=int, default=None, help="seed of every generator (default: a random one, printed)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="processes (the figures do not depend on it)")
    parser.add_argument("--only", default=",".join(ORDER), help=f"comma-separated areas out of {','.join(ORDER)}")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in AREAS]
    if unknown:
        parser.error(f"unknown area {unknown[0]!r}; choose from {', '.join(ORDER)}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)

    from rich.console import Console
    from rich.text import Text

    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    command = ["python", "benchmarks/hostile_input.py", "--seed", str(seed)] + (["--quick"] if args.quick else [])
    if args.only != ",".join(ORDER):
        command += ["--only", args.only]
    console.print(Text(f"command: {shlex.join(command)}"))
    console.print(Text(f"seed: {seed}   workers: {args.workers}   python {sys.version.split()[0]}   "
                        f"{'quick' if args.quick else 'full'} run"))
    console.print()
    t0 = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="hostile-input-")
    # everything the runs write stays in the work directory: the log file too; rich's colour
    # settings from the environment would put its own escapes in the output we scan
    changes = {"ARENA_TUI_LOG_DIR": str(Path(workdir) / "log"), "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None,
               "COLUMNS": "120", "XDG_CONFIG_HOME": str(Path(workdir) / "xdg-config")}
    try:
        with patched_environ(changes):
            areas = run_all(Options(seed=seed, quick=args.quick, workdir=workdir), keys, max(1, args.workers))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - t0
    print_report(console, areas)
    status = exit_status(list(areas.values()))
    for a in areas.values():
        others = a.problems() - a.total("tracebacks")
        console.print(Text(f"summary: area={a.key} tries={sum(c['tries'] for c in a.rows.values())} tracebacks={a.total('tracebacks')} "
                            f"other_failures={others}"))
    console.print(Text(f"wall time: {wall:.1f} s; exit status {status}"))
    return status


if __name__ == "__main__":
    sys.exit(main())
