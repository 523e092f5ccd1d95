"""How fast arena-tui stops, in every state, beside a hello-world Textual app quitting on ``q``.

Each figure is the wall time from the key (or signal) to the end of the process, taken by the shell
that ran it (``date +%s.%N`` after the process) against the time the key was sent, in tmux, with the
LLM agent on the official openai client streaming from ``tests/fakes/llm_server.py``:

- hello-world Textual app, ``q``                 (the anchor: Textual's own start-to-exit cost of a quit)
- arena-tui, ``q`` while a model is answering    (the call is cancelled, the cycle completes)
- arena-tui, Ctrl-C while a model is answering
- arena-tui, ``q`` after the session ended
- arena-tui, ``q`` during the first Numba compile (an empty cache; the compile child is killed)
- arena-tui, SIGTERM while a model is answering
- headless, SIGINT and SIGTERM while a model is answering

Prints median and worst of ``--runs`` (default 3) and the ratio of each median to the anchor's.
The issue's bounds: ``q`` within 1 s in every state, Ctrl-C and SIGTERM within 2 s.

    python benchmarks/quit.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # the tests import their helpers as pytest does (rootdir-relative)

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tests.fakes.llm_server import FakeLLMServerThread  # noqa: E402
from tests.test_process_manners import (  # noqa: E402
    BASELINE,
    Tmux,
    answering,
    env_for,
    events_of,
    slow_agent,
    wait_for_journal,
    wait_for_screen,
    write_config,
)

HELLO = '''
from textual.app import App
from textual.widgets import Static
class Hello(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Static("hello world")
Hello().run()
'''


def hello_world(tmp: Path) -> float:
    script = tmp / "hello.py"
    script.write_text(HELLO, encoding="utf-8")
    name = f"hello-{os.getpid()}-{time.monotonic_ns()}"
    done = tmp / "exited.txt"
    command = f"{sys.executable} {script}; echo $? $(date +%s.%N) > {done}; sleep 60"
    subprocess.run(["tmux", "-L", name, "new-session", "-d", "-s", name, "-x", "140", "-y", "44", "-c", str(tmp), command], check=True, env=env_for(tmp))
    try:
        wait_for_screen(name, "hello world")
        pressed = time.time()
        subprocess.run(["tmux", "-L", name, "send-keys", "-t", name, "q"], check=True)
        deadline = time.monotonic() + 30
        while not (done.exists() and done.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = float(done.read_text().split()[1])
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)
    return ended - pressed


def screen_case(tmp: Path, llm, how: str) -> float:
    env = env_for(tmp)
    journal = tmp / "j.jsonl"
    if how == "compile":
        env["NUMBA_CACHE_DIR"] = str(tmp / "empty-cache")
        config = write_config(tmp, [BASELINE], speed=2.0)
        tmux = Tmux(tmp, ["--config", str(config), "--journal", str(journal)], env=env)
    elif how == "ended":
        config = write_config(tmp, [BASELINE], speed=0.0)
        tmux = Tmux(tmp, ["--config", str(config), "--journal", str(journal), "--cycles", "2"], env=env)
    else:
        config = write_config(tmp, [slow_agent(llm), BASELINE], speed=2.0)
        tmux = Tmux(tmp, ["--config", str(config), "--journal", str(journal)], env=env)
    try:
        if how == "compile":
            wait_for_screen(tmux.name, "Compiling the indicators", timeout=60)
        elif how == "ended":
            wait_for_journal(journal, lambda events: bool(events) and events[-1]["type"] == "SessionEnded")
            wait_for_screen(tmux.name, "ENDED")
        else:
            wait_for_journal(journal, answering("Slowpoke"))
            wait_for_screen(tmux.name, "Slowpoke")
        if how == "sigterm":
            pressed = time.time()
            os.kill(tmux.app_pid(), signal.SIGTERM)
        else:
            pressed = tmux.keys("C-c" if how == "ctrl-c" else "q")
        _status, ended = tmux.exited()
    finally:
        tmux.close()
    return ended - pressed


def headless_case(tmp: Path, llm, signame: str) -> float:
    config = write_config(tmp, [slow_agent(llm), BASELINE])
    journal = tmp / "j.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena_tui", "--config", str(config), "--headless", "--cycles", "3", "--journal", str(journal)],
        cwd=tmp, env=env_for(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_journal(journal, answering("Slowpoke"), proc=proc)
        sent = time.monotonic()
        proc.send_signal(getattr(signal, signame))
        proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert events_of(journal)[-1]["type"] == "SessionEnded"
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    console = Console()
    cases = [
        ("hello-world Textual app, q (anchor)", None, lambda tmp, llm: hello_world(tmp), 1.0),
        ("q while a model is answering", 1.0, lambda tmp, llm: screen_case(tmp, llm, "answering"), None),
        ("Ctrl-C while a model is answering", 2.0, lambda tmp, llm: screen_case(tmp, llm, "ctrl-c"), None),
        ("q after the session ended", 1.0, lambda tmp, llm: screen_case(tmp, llm, "ended"), None),
        ("q during the first Numba compile", 1.0, lambda tmp, llm: screen_case(tmp, llm, "compile"), None),
        ("SIGTERM to the screen while answering", 2.0, lambda tmp, llm: screen_case(tmp, llm, "sigterm"), None),
        ("headless SIGINT while answering", 2.0, lambda tmp, llm: headless_case(tmp, llm, "SIGINT"), None),
        ("headless SIGTERM while answering", 2.0, lambda tmp, llm: headless_case(tmp, llm, "SIGTERM"), None),
    ]
    table = Table(title=f"Time from key or signal to process exit ({args.runs} runs each)")
    for col in ("state", "median s", "worst s", "bound s", "x anchor"):
        table.add_column(col, justify="left" if col == "state" else "right")
    anchor = None
    with FakeLLMServerThread() as llm:
        for label, bound, run, _ in cases:
            times = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as d:
                    times.append(run(Path(d), llm))
            med = statistics.median(times)
            if anchor is None:
                anchor = med
            table.add_row(label, f"{med:.2f}", f"{max(times):.2f}", "-" if bound is None else f"{bound:.1f}", f"{med / anchor:.1f}")
            console.print(f"{label}: {', '.join(f'{t:.2f}' for t in times)}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
