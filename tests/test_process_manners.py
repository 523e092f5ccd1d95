"""Process manners: exit statuses, signals, quitting, SDK imports and the log file.

The real ``arena-tui`` command runs in a subprocess (headless) or in tmux (the screen), its LLM agents
on the official ``openai`` SDK against ``tests/fakes/llm_server.py`` on 127.0.0.1, streaming a real
Alpha Arena answer slowly so that a stop lands while a model is answering. The issue's bounds (``q``
within 1 s in every state, Ctrl-C and SIGTERM within 2 s) are checked from timestamps taken by the
processes themselves, not by polling.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from arena_tui.cli import main
from arena_tui.engine import events as ev

from tests.fakes.llm_server import FakeLLMServerThread
from journal_dicts import journal_dicts
from test_tui_e2e import capture, wait_for

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL", "ARENA_LOCAL_MODEL")
SLOW = "reasoning:tps=20,tokens=4000"  # reasoning streams for minutes: a stop lands mid-answer
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


@pytest.fixture(scope="module")
def llm():
    with FakeLLMServerThread() as srv:
        yield srv


def write_config(tmp_path: Path, agents: list[dict], *, speed: float = 0.0) -> Path:
    lines = [
        "[market]",
        'coins = ["BTC", "ETH"]',
        'start = "2025-10-20T00:00:00Z"',
        f"speed = {speed}",
        "[arena]",
        'name = "manners"',
        "halt_after_failures = 0",
    ]
    for a in agents:
        lines.append("[[agents]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in a.items()]
    path = tmp_path / "arena.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def slow_agent(llm, name: str = "Slowpoke") -> dict:
    return {"name": name, "kind": "openai-compatible", "model": SLOW, "base_url": llm.openai_base_url, "retries": 0}


BASELINE = {"name": "Trend (rule-based)", "kind": "baseline", "strategy": "trend_follower"}


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), PYTHONUNBUFFERED="1", COLUMNS="120")
    env.pop("TMUX", None)
    return env


def events_of(journal: Path) -> list[dict]:
    return journal_dicts(journal)


def wait_for_journal(journal: Path, ready, timeout: float = 180.0, proc: subprocess.Popen | None = None) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = events_of(journal)
        if ready(events):
            return events
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"arena-tui exited with {proc.returncode} early: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    pytest.fail(f"the journal never got there; it has {len(events_of(journal))} events")


def answering(agent: str):
    """True once ``agent``'s streamed reasoning is in the journal (it is answering now)."""
    return lambda events: any(e["type"] == "ReasoningDelta" and e.get("agent") == agent for e in events)


def check_complete_after_stop(journal: Path, reason: str) -> list[dict]:
    """The journal of a session stopped mid-answer: whole lines, the cycle completed with the slow
    agent's call cancelled (not counted as its failure), then ``SessionEnded(reason)``; and it
    verifies by re-execution."""
    text = journal.read_text(encoding="utf-8")
    assert text.endswith("\n")
    events = [json.loads(line) for line in text.splitlines()]
    assert events[-1]["type"] == "SessionEnded", events[-1]
    assert reason in events[-1]["reason"] and "1 call in flight cancelled" in events[-1]["reason"]
    assert events[-2]["type"] == "CycleCompleted"
    cancelled = [e for e in events if e["type"] == "AgentFailed" and e["kind"] == "cancelled"]
    assert [e["agent"] for e in cancelled] == ["Slowpoke"]
    assert main(["--replay", str(journal), "--headless"]) == 0  # the record is true
    return events


# -- headless: signals ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signame, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_mid_answer_cancels_the_call_and_ends_the_journal_whole(tmp_path, llm, signame, status):
    config = write_config(tmp_path, [slow_agent(llm), BASELINE])
    journal = tmp_path / "j.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena_tui", "--config", str(config), "--headless", "--cycles", "3", "--journal", str(journal)],
        cwd=tmp_path, env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for_journal(journal, answering("Slowpoke"), proc=proc)
        sent = time.monotonic()
        proc.send_signal(getattr(signal, signame))
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, out
    assert took < 2.0, f"{signame} took {took:.2f} s to end the session"
    assert f"Stopped by {signame}; the journal is complete" in out
    assert "Traceback" not in out
    check_complete_after_stop(journal, f"stopped by {signame}")


# -- headless: exit statuses ---------------------------------------------------------------------


@pytest.mark.slow
def test_every_agent_failing_exits_3_with_a_sentence(tmp_path):
    closed = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, the connection is refused
    config = write_config(tmp_path, [{"name": "Nobody home", "kind": "openai-compatible", "model": "m", "base_url": closed, "retries": 0}])
    run = subprocess.run(
        [sys.executable, "-m", "arena_tui", "--config", str(config), "--headless", "--cycles", "2", "--journal", str(tmp_path / "j.jsonl")],
        cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert "Every agent failed every time it was asked (2 failures); last: Nobody home:" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


async def test_a_market_that_never_answers_exits_3(tmp_path):
    from arena_tui.config import load_config
    from arena_tui.engine.market.live import LiveMarket
    from arena_tui.engine.factory import build_agents
    from arena_tui.engine.scheduler import ArenaSession
    from arena_tui.headless import run_headless
    from rich.console import Console

    cfg = load_config(str(write_config(tmp_path, [BASELINE])), overrides={"market": {"source": "live", "exchange": "binanceusdm"}})
    market = LiveMarket("binanceusdm", coins=("BTC",), base_url="http://127.0.0.1:9", tries=1, request_timeout=2.0)
    session = ArenaSession(cfg, market, build_agents(cfg), journal=False, max_cycles=2, pace=0)
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    status = await run_headless(session, total=2, console=console)
    assert status == 3
    text = console.export_text()
    assert "The market never answered (2 cycles); last:" in text


def test_a_session_that_ran_exits_0(tmp_path):
    config = write_config(tmp_path, [BASELINE])
    assert main(["--config", str(config), "--headless", "--cycles", "2", "--journal", str(tmp_path / "j.jsonl")]) == 0



def test_a_session_the_bundled_market_ends_early_says_why(tmp_path, capsys):
    """Asked for more cycles than the bundled market holds after --start: it runs what there is,
    exits 0, and says how many of the cycles asked for ran and why it ended."""
    config = write_config(tmp_path, [BASELINE])
    args = ["--config", str(config), "--headless", "--start", "2025-11-07T23:30:00Z", "--cycles", "50", "--journal", str(tmp_path / "j.jsonl")]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Ended after 7 of the 50 cycles asked for: the bundled market ends at 2025-11-08 00:00 UTC" in out, out
    assert main(["--config", str(config), "--headless", "--cycles", "1", "--journal", str(tmp_path / "k.jsonl")]) == 0
    assert "Ended after" not in capsys.readouterr().out
    assert '"reason":"ran the 1 cycle asked for"' in (tmp_path / "k.jsonl").read_text()
    # a resume counts the cycles this run ran (3 before it, then 4 of the 50 asked for)
    short = ["--config", str(config), "--headless", "--start", "2025-11-07T23:30:00Z", "--cycles", "3", "--journal", str(tmp_path / "r.jsonl")]
    assert main(short) == 0
    capsys.readouterr()
    assert main(["--resume", str(tmp_path / "r.jsonl"), "--headless", "--cycles", "50"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Ended after 4 of the 50 cycles asked for" in out, out
    # flags a resume cannot honour (it continues the recorded market) are refused, not ignored
    assert main(["--resume", str(tmp_path / "r.jsonl"), "--headless", "--exchange", "bybit", "--coins", "BTC"]) == 2
    assert "drop --exchange and --coins (--cycles, --speed and --theme apply)." in capsys.readouterr().err


def test_exchange_implies_a_live_market_and_is_refused_with_the_recorded_one(tmp_path, capsys):
    from arena_tui.cli import build_parser, overrides_from

    assert overrides_from(build_parser().parse_args(["--exchange", "bybit"]))["market"] == {"source": "live", "exchange": "bybit"}
    assert overrides_from(build_parser().parse_args([]))["market"] == {}
    config = write_config(tmp_path, [BASELINE])
    assert main(["--config", str(config), "--headless", "--source", "recorded", "--exchange", "bybit", "--cycles", "1"]) == 2
    err = capsys.readouterr().err
    assert "--exchange names a live exchange, but --source recorded plays the bundled market" in err and err.count("\n") == 1
    for flags in (["--exchange", "bybit"], ["--source", "live"]):
        assert main(["--preset", "season1", "--headless", *flags]) == 2
        assert "--preset season1 replays Oct 28 2025 on the bundled market; drop --source live and --exchange." in capsys.readouterr().err

def test_help_lists_exit_statuses_and_the_log_file(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out and "128+N" in out and "log file:" in out and "arena-tui.log" in out


# -- the SDKs are imported once ------------------------------------------------------------------


@pytest.mark.slow
def test_many_llm_agents_import_the_sdk_once_without_warnings(tmp_path, llm):
    agents = [
        {"name": f"Model {i}", "kind": "openai-compatible", "model": f"normal:record={i}", "base_url": llm.openai_base_url, "retries": 0}
        for i in range(24)
    ]
    config = write_config(tmp_path, agents)
    journal = tmp_path / "j.jsonl"
    run = subprocess.run(
        [sys.executable, "-X", "dev", "-m", "arena_tui", "--config", str(config), "--headless", "--cycles", "1", "--journal", str(journal)],
        cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    both = run.stdout + run.stderr + journal.read_text(encoding="utf-8")
    assert "partially initialized" not in both and "ImportError" not in both
    events = events_of(journal)
    replied = [e for e in events if e["type"] == "AgentReplied"]
    assert len(replied) == 24 and all(e.get("failure_kind") is None for e in replied)


async def test_concurrent_first_imports_are_serialised(monkeypatch):
    """Two agents asking for an SDK at once do not import it in two threads at once."""
    import importlib
    import threading

    from arena_tui.engine.agents import llm as llm_mod

    inside = []
    overlap = []
    lock = threading.Lock()

    def slow_import(name):
        with lock:
            if inside:
                overlap.append(name)
            inside.append(name)
        time.sleep(0.05)
        with lock:
            inside.remove(name)
        return sys.modules["json"]

    monkeypatch.setattr(llm_mod.importlib, "import_module", slow_import)
    monkeypatch.delitem(sys.modules, "arena_tui_no_such_sdk", raising=False)
    await asyncio.gather(*(llm_mod._import_sdk("arena_tui_no_such_sdk") for _ in range(8)))
    assert overlap == []


# -- the log file --------------------------------------------------------------------------------


def test_the_log_is_rotated_and_never_holds_a_secret(tmp_path, monkeypatch):
    from arena_tui import logs

    monkeypatch.setenv("ARENA_TUI_LOG_DIR", str(tmp_path / "logs"))
    canary = "sk-canary" + "0123456789abcdefXYZ"
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", canary)
    logs.close_logging()
    path = logs.setup_logging()
    try:
        assert path == tmp_path / "logs" / "arena-tui.log"
        log = logging.getLogger("arena_tui.engine.agents.llm")
        try:
            raise RuntimeError(f"server said: bad key {canary} at https://user:hunter2secret@example.test/v1?api_key=abc123456 \x1b]52;c;AAAA\x07")
        except RuntimeError:
            log.error("unexpected", exc_info=True)
        for _ in range(1200):  # past 1 MB: rotated
            log.info("x" * 1000)
    finally:
        logs.close_logging()
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files[:2] == ["arena-tui.log", "arena-tui.log.1"] and len(files) <= 1 + logs.BACKUPS
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "logs").iterdir())
    assert "Traceback" in text and "RuntimeError" in text
    assert canary not in text and "hunter2secret" not in text and "abc123456" not in text
    assert "\x1b" not in text


def test_the_command_line_writes_the_log_and_messages_name_it(tmp_path, monkeypatch):
    from arena_tui import logs

    monkeypatch.setenv("ARENA_TUI_LOG_DIR", str(tmp_path / "logs"))
    config = write_config(tmp_path, [BASELINE])
    assert main(["--config", str(config), "--headless", "--cycles", "1", "--journal", str(tmp_path / "j.jsonl")]) == 0
    text = (tmp_path / "logs" / "arena-tui.log").read_text(encoding="utf-8")
    assert "arena-tui" in text and "--headless" in text
    assert logs.log_hint().startswith("see the log: ") and logs.log_hint().endswith("arena-tui.log")


# -- the screen: q and signals in tmux -----------------------------------------------------------


def wait_for_screen(name: str, pattern: str, timeout: float = 180.0) -> str:
    return wait_for(name, pattern, timeout)


class Tmux:
    """``arena-tui`` in a tmux pane; the shell prints its exit status and the wall time it ended.

    Each runs on its own tmux server (``-L name``, as ``test_tui_e2e.capture`` reads it): a server
    that another test started would run the command with that test's environment (another
    ``NUMBA_CACHE_DIR``, another config directory)."""

    def __init__(self, tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.name = f"arena-manners-{uuid.uuid4().hex[:8]}"
        self.done = tmp_path / "exited.txt"
        argv = " ".join([sys.executable, "-m", "arena_tui", *args])
        command = f"{argv}; echo $? $(date +%s.%N) > {self.done}; sleep 60"
        subprocess.run(
            ["tmux", "-L", self.name, "new-session", "-d", "-s", self.name, "-x", "140", "-y", "44", "-c", str(tmp_path), command],
            check=True, env=env or env_for(tmp_path),
        )

    def keys(self, *keys: str) -> float:
        """Send ``keys``; returns the wall time just before."""
        t = time.time()
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, *keys], check=True)
        return t

    def app_pid(self) -> int:
        shell = subprocess.run(["tmux", "-L", self.name, "list-panes", "-t", self.name, "-F", "#{pane_pid}"], capture_output=True, text=True).stdout.split()[0]
        kids = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        return int(kids[0])

    def exited(self, timeout: float = 30.0) -> tuple[int, float]:
        """(exit status, wall time the process ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.done.exists() and self.done.read_text().strip():
                status, when = self.done.read_text().split()
                return int(status), float(when)
            time.sleep(0.05)
        pytest.fail(f"arena-tui did not exit; the screen was:\n{capture(self.name)}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)


@pytest.mark.e2e
@pytest.mark.slow
@needs_tmux
@pytest.mark.parametrize("key", ["q", "C-c"])
def test_q_while_a_model_is_answering_quits_within_a_second(tmp_path, llm, key):
    config = write_config(tmp_path, [slow_agent(llm), BASELINE], speed=2.0)
    journal = tmp_path / "j.jsonl"
    tmux = Tmux(tmp_path, ["--config", str(config), "--journal", str(journal)])
    try:
        wait_for_journal(journal, answering("Slowpoke"))
        wait_for_screen(tmux.name, r"Slowpoke")
        pressed = tmux.keys(key)
        status, ended = tmux.exited()
    finally:
        tmux.close()
    assert status == 0
    print(f"{key} while answering: quit in {ended - pressed:.2f} s")
    assert ended - pressed < 1.0, f"{key} took {ended - pressed:.2f} s"
    check_complete_after_stop(journal, "stopped by the user")


@pytest.mark.e2e
@pytest.mark.slow
@needs_tmux
def test_sigterm_to_the_screen_ends_the_session_whole(tmp_path, llm):
    config = write_config(tmp_path, [slow_agent(llm), BASELINE], speed=2.0)
    journal = tmp_path / "j.jsonl"
    tmux = Tmux(tmp_path, ["--config", str(config), "--journal", str(journal)])
    try:
        wait_for_journal(journal, answering("Slowpoke"))
        sent = time.time()
        os.kill(tmux.app_pid(), signal.SIGTERM)
        status, ended = tmux.exited()
        screen = capture(tmux.name)
    finally:
        tmux.close()
    assert status == 143
    assert ended - sent < 2.0, f"SIGTERM took {ended - sent:.2f} s"
    assert "journal" in screen and "Traceback" not in screen  # the exit line names the journal
    check_complete_after_stop(journal, "stopped by SIGTERM")


@pytest.mark.e2e
@pytest.mark.slow
@needs_tmux
def test_q_after_the_session_ended_quits_within_a_second(tmp_path):
    config = write_config(tmp_path, [BASELINE], speed=0.0)
    journal = tmp_path / "j.jsonl"
    tmux = Tmux(tmp_path, ["--config", str(config), "--journal", str(journal), "--cycles", "2"])
    try:
        wait_for_journal(journal, lambda events: bool(events) and events[-1]["type"] == "SessionEnded")
        wait_for_screen(tmux.name, r"ENDED")
        pressed = tmux.keys("q")
        status, ended = tmux.exited()
    finally:
        tmux.close()
    assert status == 0
    assert ended - pressed < 1.0, f"q took {ended - pressed:.2f} s"


def _compile_children(cache: Path) -> list[int]:
    """Live processes compiling the indicators into ``cache``."""
    pids = subprocess.run(["pgrep", "-f", "indicators import warm_up"], capture_output=True, text=True).stdout.split()
    found = []
    for pid in pids:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if f"NUMBA_CACHE_DIR={cache}".encode() in environ:
            found.append(int(pid))
    return found


@pytest.mark.e2e
@pytest.mark.slow
@needs_tmux
def test_q_during_the_first_compile_quits_within_a_second_and_leaves_no_child(tmp_path):
    cache = tmp_path / "empty-numba-cache"
    env = env_for(tmp_path)
    env["NUMBA_CACHE_DIR"] = str(cache)
    # The compile child holds for a minute once it has said its imports are done, before it compiles
    # (a cold compile takes a few seconds, less on a fast machine: the test must not race it); only
    # that child: its command is -c.
    hook = tmp_path / "hold-the-compile"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import builtins, sys, time\n"
        "if sys.orig_argv[1:2] == ['-c'] and 'warm_up' in sys.orig_argv[2]:\n"
        "    _print = builtins.print\n"
        "    def _held(*args, **kwargs):\n"
        "        _print(*args, **kwargs)\n"
        "        if args == ('imported',):\n"
        "            time.sleep(60)\n"
        "    builtins.print = _held\n"
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
    config = write_config(tmp_path, [BASELINE], speed=2.0)
    journal = tmp_path / "j.jsonl"
    tmux = Tmux(tmp_path, ["--config", str(config), "--journal", str(journal)], env=env)
    try:
        wait_for_screen(tmux.name, r"Compiling the indicators", timeout=60)
        compiling = _compile_children(cache)
        assert compiling  # the compile is running in its child process...
        app = tmux.app_pid()
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(app)], capture_output=True, text=True).stdout.split()]
        assert set(compiling) <= set(children)  # ...a child of the app, by parent id
        pressed = tmux.keys("q")
        status, ended = tmux.exited()
    finally:
        tmux.close()
    assert status == 0
    assert ended - pressed < 1.0, f"q took {ended - pressed:.2f} s"
    time.sleep(0.2)
    alive = [pid for pid in [app, *children] if Path(f"/proc/{pid}").exists()]
    assert alive == []  # the app and every process it started are gone (none reparented to PID 1)
    assert _compile_children(cache) == []
    events = events_of(journal)
    assert events[-1]["type"] == "SessionEnded" and events[-1]["reason"] == "stopped by the user"


# -- the fold: a cancelled call is not the agent's failure ---------------------------------------


def test_a_cancelled_call_does_not_count_toward_a_halt():
    from arena_tui.engine.state import ArenaState

    header = ev.SessionStarted(0, 0, "s", "recorded", "m", ("BTC",), ({"name": "A", "kind": "llm", "model": "x"},), 10_000.0, 300_000, {})
    state = ArenaState(header)
    state.apply(ev.AgentFailed(1, 1, "A", "timeout", "A: slow"))
    state.apply(ev.AgentFailed(2, 2, "A", "cancelled", "A: the session stopped"))
    assert state.agents["A"].consecutive_failures == 1 and state.agents["A"].failures == 1


# -- the end of a journal says what happened ---------------------------------------------------------


@pytest.fixture
def indicators_bug(tmp_path, monkeypatch):
    """A bug of ours inside every cycle (the indicators raise), the log in ``tmp_path/logs``."""
    from arena_tui.engine.arena import Arena

    monkeypatch.setenv("ARENA_TUI_LOG_DIR", str(tmp_path / "logs"))

    async def broken(self, snap):
        raise ZeroDivisionError("a bug in the indicators")

    monkeypatch.setattr(Arena, "_features", broken)
    return tmp_path / "logs" / "arena-tui.log"


async def test_a_crash_inside_a_cycle_is_recorded_as_such_not_as_a_user_stop(tmp_path, indicators_bug):
    """A bug of ours inside a cycle: the journal ends with a SessionEnded naming the error and the
    log (not "stopped by the user"), the log holds the traceback, and the error propagates."""
    from arena_tui import logs
    from arena_tui.config import load_config
    from arena_tui.engine.factory import build_agents, build_market
    from arena_tui.engine.scheduler import ArenaSession

    logs.close_logging()
    logs.setup_logging()
    cfg = load_config(str(write_config(tmp_path, [BASELINE])), environ={})
    journal = tmp_path / "j.jsonl"
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=journal, max_cycles=2, pace=0)
    try:
        with pytest.raises(ZeroDivisionError):
            await session.run(lambda e: None)
    finally:
        logs.close_logging()
    last = events_of(journal)[-1]
    assert last["type"] == "SessionEnded"
    assert last["reason"].startswith("ended by an unexpected error (ZeroDivisionError); see the log: ")
    text = indicators_bug.read_text(encoding="utf-8")
    assert "Traceback" in text and "a bug in the indicators" in text


def test_an_unexpected_error_on_the_command_line_is_one_sentence_naming_the_log(tmp_path, indicators_bug, capsys):
    config = write_config(tmp_path, [BASELINE])
    status = main(["--config", str(config), "--headless", "--cycles", "1", "--journal", str(tmp_path / "j.jsonl")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("arena-tui: unexpected ZeroDivisionError; this is a bug, please report it (see the log: ")
    assert "\n" not in err and "Traceback" not in err
    assert "a bug in the indicators" in indicators_bug.read_text(encoding="utf-8")


@pytest.mark.e2e
@pytest.mark.slow
@needs_tmux
def test_closing_the_terminal_ends_the_app_and_its_session(tmp_path, llm):
    """SIGHUP (the terminal window closed, here the tmux server killed) while a model answers: the
    app does not linger without a terminal, and the journal ends whole."""
    config = write_config(tmp_path, [slow_agent(llm), BASELINE], speed=2.0)
    journal = tmp_path / "j.jsonl"
    tmux = Tmux(tmp_path, ["--config", str(config), "--journal", str(journal)])
    wait_for_journal(journal, answering("Slowpoke"))
    app = tmux.app_pid()
    tmux.close()  # kill-server: the pane's processes get SIGHUP and lose their terminal
    deadline = time.monotonic() + 5.0
    while Path(f"/proc/{app}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{app}").exists(), "arena-tui lingered after its terminal closed"
    events = events_of(journal)
    assert events[-1]["type"] == "SessionEnded" and "stopped by SIGHUP" in events[-1]["reason"]
