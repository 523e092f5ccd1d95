"""End to end: ``arena-tui`` (the offline demo on the bundled real market) in a real terminal (tmux),
driven with p, c (one cycle while paused), p, c and q, read back with ``tmux capture-pane``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL", "ARENA_LOCAL_MODEL")


def capture(name: str) -> str:
    """The screen of tmux session ``name``, on its own server (``-L name``): a server started by
    another test would run our command with that test's environment."""
    return subprocess.run(["tmux", "-L", name, "capture-pane", "-t", name, "-p"], capture_output=True, text=True).stdout


def wait_for(name: str, pattern: str, timeout: float = 90.0) -> str:
    """The screen once ``pattern`` (a regex) is on it; fails with the last screen after ``timeout``."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture(name)
        if re.search(pattern, screen):
            return screen
        time.sleep(0.2)
    pytest.fail(f"{pattern!r} never appeared; the screen was:\n{screen}")


def test_offline_demo_in_tmux(tmp_path):
    name = f"arena-e2e-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no user config: the offline demo
    env.pop("TMUX", None)
    command = f"{sys.executable} -m arena_tui; echo EXITED $?; sleep 60"
    subprocess.run(
        ["tmux", "-L", name, "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(tmp_path), command],
        check=True,
        env=env,
    )
    try:
        screen = wait_for(name, r"RECORDED.*cycle [1-9]")
        screen = wait_for(name, r"BTC buy & hold")
        assert "Offline demo" in screen and "OPENAI_API_KEY" in screen  # which keys add LLM agents
        btc = re.search(r"^ BTC\s+([\d,]+\.\d)\s", screen, re.M)
        assert btc and 90_000 < float(btc.group(1).replace(",", "")) < 130_000  # a real Oct 2025 price
        assert "(rule-based)" in screen and re.search(r"hold|justification|EMA|RSI", screen)  # a rationale

        subprocess.run(["tmux", "-L", name, "send-keys", "-t", name, "p"], check=True)
        screen = wait_for(name, r"PAUSED")
        paused_at = int(re.search(r"cycle (\d+)", screen).group(1))
        wait_for(name, r"c One cycle")  # the footer: c runs one cycle while paused
        subprocess.run(["tmux", "-L", name, "send-keys", "-t", name, "c"], check=True)  # exactly one cycle, still paused
        screen = wait_for(name, rf"cycle {paused_at + 1}\b.*PAUSED")
        assert re.search(r"\bcycle (\d+)", screen).group(1) == str(paused_at + 1)

        subprocess.run(["tmux", "-L", name, "send-keys", "-t", name, "p"], check=True)
        wait_for(name, r"RUNNING")
        subprocess.run(["tmux", "-L", name, "send-keys", "-t", name, "c"], check=True)
        wait_for(name, rf"cycle (?!{paused_at}\b|{paused_at + 1}\b)\d+")

        subprocess.run(["tmux", "-L", name, "send-keys", "-t", name, "q"], check=True)
        wait_for(name, r"EXITED 0")
        journals = list((tmp_path / "sessions").glob("*.jsonl"))
        assert len(journals) == 1
        last = json.loads(journals[0].read_text().splitlines()[-1])
        assert last["type"] == "SessionEnded"  # q stopped the session and the journal was closed
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)
