"""``arena-tui serve FILE``: the real textual-serve server (a subprocess on 127.0.0.1) serving the
follow view of a session that runs meanwhile; viewers connect as the browser page does (its
websocket, ``/ws?width=..&height=..``) and read the terminal stream the app sends, and headless
Chromium (Debian's package, installed by .ci/run) loads the page."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("textual_serve")  # in the test extra
aiohttp = pytest.importorskip("aiohttp")

from arena_tui.cli import main  # noqa: E402
from arena_tui.config import load_config  # noqa: E402
from arena_tui.engine.factory import build_agents, build_market  # noqa: E402
from arena_tui.engine.scheduler import ArenaSession  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GUARD_S = 90  # a hang fails the test instead of blocking the suite; not a speed assertion
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A session of the baselines in a thread (its own event loop), journaling to ``path`` at
    ``pace`` seconds between cycles until stopped."""

    def __init__(self, tmp: Path, pace: float = 0.3, cycles: int = 400) -> None:
        cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-20T00:00:00Z"}})
        self.path = tmp / "running.jsonl"
        self.session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=self.path, max_cycles=cycles, pace=pace)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(self.session.run(lambda e: None))

    def __enter__(self) -> "Running":
        self.thread.start()
        deadline = time.monotonic() + GUARD_S
        while not (self.path.exists() and self.path.stat().st_size > 0):
            assert time.monotonic() < deadline, "the session never started its journal"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.session.stop)
        self.thread.join(GUARD_S)


class Served:
    """``arena-tui serve FILE --port P`` in a subprocess, until the context ends."""

    def __init__(self, journal: Path, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp / "cache"), "XDG_STATE_HOME": str(tmp / "state")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "arena_tui", "serve", str(journal), "--port", str(self.port)],
            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def __enter__(self) -> "Served":
        deadline = time.monotonic() + GUARD_S
        while True:
            assert self.proc.poll() is None, self.proc.stdout.read()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


async def watch(url: str, until, width: int = 140, height: int = 40) -> str:
    """Connect as the page does and read the app's terminal stream (escape sequences dropped) until
    ``until(text)`` holds; returns the text."""
    buf = b""
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{url}/ws?width={width}&height={height}") as ws:
            deadline = time.monotonic() + GUARD_S
            while time.monotonic() < deadline:
                try:
                    msg = await asyncio.wait_for(ws.receive(), 1.0)
                except TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    buf += msg.data
                    text = ANSI.sub(b"", buf).decode("utf-8", "replace")
                    if until(text):
                        return text
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
    pytest.fail(f"the served view never showed what was waited for; it showed: {ANSI.sub(b'', buf).decode('utf-8', 'replace')[-1500:]}")


def cycles_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"cycle (\d+)", text)]


def test_two_browsers_follow_one_running_session(tmp_path):
    with Running(tmp_path) as running, Served(running.path, tmp_path) as served:

        async def two_viewers() -> tuple[str, str]:
            first = lambda t: "FOLLOW" in t and len(set(cycles_in(t))) >= 3  # noqa: E731
            return tuple(await asyncio.gather(watch(served.url, first), watch(served.url, first, width=100, height=30)))

        a, b = asyncio.run(two_viewers())
        for text in (a, b):
            assert "FOLLOW" in text and "RSI revert" in text
            seen = cycles_in(text)
            assert max(seen) > min(seen)  # the view moved on as the session ran
        assert "Leaderboard" in a and "Trend (rule-based)" in a  # the larger view: the leaderboard, the panes
        pane_cycles = {int(n) for n in re.findall(r"── cycle (\d+) ·", a)}  # a reasoning pane's cycle rules
        assert len(pane_cycles) >= 2, pane_cycles
        done = running.session.state.cycles_completed
        later = asyncio.run(watch(served.url, lambda t: any(n > done for n in cycles_in(t))))  # a new viewer catches up, then follows
        assert "FOLLOW" in later


def test_serve_refuses_what_is_not_a_journal(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    assert main(["serve", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "is not an arena-tui journal" in err and err.count("\n") == 1


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """Headless Chromium driven over the DevTools protocol (its websocket): open a page, evaluate
    JavaScript, take screenshots."""

    def __init__(self, tmp: Path, width: int = 1280, height: int = 800) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--remote-debugging-port={self.port}",
             f"--window-size={width},{height}", f"--user-data-dir={tmp / 'chromium'}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._id = 0

    async def __aenter__(self) -> "Chromium":
        self.http = aiohttp.ClientSession()
        deadline = time.monotonic() + GUARD_S
        while True:
            try:
                targets = await (await self.http.get(f"http://127.0.0.1:{self.port}/json")).json()
                break
            except aiohttp.ClientError:
                assert time.monotonic() < deadline, "Chromium never listened"
                await asyncio.sleep(0.1)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.logged: list[str] = []
        await self.call("Runtime.enable")
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()
        await self.http.close()
        self.proc.terminate()
        self.proc.wait(10)

    async def call(self, method: str, **params):
        self._id += 1
        await self.ws.send_json({"id": self._id, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), GUARD_S)
            if msg.get("method") == "Runtime.exceptionThrown":
                self.logged.append(str(msg["params"]["exceptionDetails"].get("text")))
            if msg.get("id") == self._id:
                assert "error" not in msg, msg
                return msg["result"]

    async def evaluate(self, expression: str):
        return (await self.call("Runtime.evaluate", expression=expression, returnByValue=True))["result"].get("value")

    async def screenshot(self):
        import base64

        from tests.test_report import png_pixels

        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        return png_pixels(base64.b64decode(data))[:, :, :3].astype(int)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium package)")
def test_headless_chromium_shows_the_leaderboard_and_the_panes_moving_on(tmp_path):
    """The browser page connects, the app draws (textual-serve's page marks its first byte), and two
    screenshots taken while the session runs differ both in the panes (middle) and in the
    leaderboard (bottom): the view in the browser follows the session."""
    with Running(tmp_path, pace=0.2) as running, Served(running.path, tmp_path) as served:

        async def look() -> tuple:
            async with Chromium(tmp_path) as chrome:
                await chrome.call("Page.navigate", url=served.url)
                deadline = time.monotonic() + GUARD_S
                while not await chrome.evaluate("document.body.classList.contains('-first-byte')"):
                    assert time.monotonic() < deadline, "the page never received the app's first byte"
                    await asyncio.sleep(0.2)
                first_cycle = running.session.state.cycles_completed
                while running.session.state.cycles_completed < first_cycle + 2:  # let the served view settle
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                before = await chrome.screenshot()
                at = running.session.state.cycles_completed
                while running.session.state.cycles_completed < at + 4:  # the session moves on
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                changed = None
                while changed is None or not (changed[0] and changed[1]):
                    assert time.monotonic() < deadline, f"the browser's view did not change (panes, leaderboard): {changed}"
                    await asyncio.sleep(0.3)
                    after = await chrome.screenshot()
                    diff = (np.abs(after - before).sum(axis=2) > 30)
                    h = diff.shape[0]
                    changed = (int(diff[h // 3 : 2 * h // 3].sum()), int(diff[2 * h // 3 :].sum()))
                return changed, chrome.logged, len({tuple(p) for p in after.reshape(-1, 3)[::11]})

        (panes, board), errors, colours = asyncio.run(look())
        assert panes > 0 and board > 0
        assert errors == []  # the page threw nothing
        assert colours > 8  # drawn, not a blank background
