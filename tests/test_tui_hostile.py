"""Hostile input: escape sequences, control characters, lone surrogates, bidi overrides and markup in
everything from outside (a model's reasoning and answer, a server's error body, a journal's agent,
model, session, coin and notice text) are drawn literally and never reach the terminal as controls.

Pilot tests feed ``HostileSession``'s events to the app and inspect every strip of the rendered
screen; the tmux tests replay a journal of the same events (``arena-tui --replay`` and
``--replay --headless``) in a real terminal with ``set-clipboard on``, ``allow-rename on`` and
``set-titles on``, then check that the pane title, tmux's paste buffers and the layout are unchanged.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

import pytest
from rich.console import Console
from test_tui_script import CASH, STEP, T0, _board, market_rows

from arena_tui.engine import events as ev
from arena_tui.engine.journal import JournalWriter
from arena_tui.engine.state import ArenaState
from arena_tui.headless import leaderboard_table
from arena_tui.tui.app import make_app

OSC_TITLE = "\x1b]0;PWNED\x07"
OSC_TITLE_ST = "\x1b]2;PWNED2\x1b\\"
OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"  # "pwned" into the clipboard
OSC_CLIPBOARD_ST = "\x1b]52;c;cHduZWQy\x1b\\"  # "pwned2", ST-terminated (Rich strips BEL, not ESC \\)
OSC_LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
CSI_CLEAR = "\x1b[2J\x1b[H\x1b[10;10H\x1b[?1049l"
MARKUP_LINK = "[link=https://evil]x[/]"
MARKUP_BOLD = "[b]bold[/b]"
MARKUP_CLICK = "[@click=app.quit]x[/]"
TMUX_PASSTHROUGH = "\x1bPtmux;\x1b\x1b]52;c;cHduZWQ=\x07\x1b\\"
TMUX_RENAME = "\x1bkPWNEDWINDOW\x1b\\"  # tmux/screen: rename the window (allow-rename)

EVIL = f"Evil {MARKUP_LINK} [/]{OSC_TITLE}{TMUX_RENAME}"
"""A hostile agent name: Rich markup (a hyperlink, a stray close tag) and an OSC title."""
TREND = "Trend"
SESSION = f"sess {MARKUP_BOLD}{OSC_TITLE_ST}"
SOURCE = f"src {OSC_CLIPBOARD}[i]x[/i]"
MODEL = f"gpt-x {MARKUP_CLICK}\x1b[2J"
COIN = f"X{CSI_CLEAR}[b]"

REASONING = [
    f"title {OSC_TITLE} end\n",
    f"title-st {OSC_TITLE_ST} end\n",
    f"clip {OSC_CLIPBOARD} end\n",
    f"link {OSC_LINK} end\n",
    f"clear {CSI_CLEAR} end\n",
    "surrogate \ud800 end\n",
    "bidi \u202eevil\u202c end\n",
    f"markup {MARKUP_BOLD} {MARKUP_CLICK} {MARKUP_LINK} end\n",
    f"passthrough {TMUX_PASSTHROUGH} end\n",
    f"rename {TMUX_RENAME} end\n",
    "c1 \x9b2J \x9d0;c1title\x9c bell\x07 bs\x08 nul\x00 end\n",
]
ANSWER = f'{{"BTC": {{"signal": "hold", "justification": "{MARKUP_BOLD} {OSC_TITLE}"}}}}\n'
FAILURE = f"HTTP 502 from server: <html>{OSC_CLIPBOARD}{CSI_CLEAR}{MARKUP_LINK} \ud800 bad gateway</html>"
NOTICE = f"server says {MARKUP_CLICK} {OSC_TITLE} {MARKUP_BOLD}{OSC_CLIPBOARD_ST}"

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def hostile_header() -> ev.SessionStarted:
    agents = ({"name": EVIL, "kind": "llm", "model": MODEL}, {"name": TREND, "kind": "rule-based", "model": ""})
    return ev.SessionStarted(0, T0, SESSION, "recorded", SOURCE, ("BTC", "ETH"), agents, CASH, STEP, {}, app_version="0.1.0")


def hostile_events(cycles: int = 1) -> list[ev.Event]:
    """One (or more) cycle(s) in which every piece of outside text is hostile."""
    out: list[ev.Event] = [ev.Notice(0, T0, "warning", NOTICE)]
    for c in range(1, cycles + 1):
        t = T0 + (c - 1) * STEP
        rows = {k: v for k, v in market_rows(c - 1).items() if k in ("BTC", "ETH")}
        rows[COIN] = dict(rows["ETH"])
        out += [ev.CycleStarted(c, t, "timer"), ev.MarketUpdated(c, t, rows)]
        out += [ev.AgentStarted(c, t, EVIL), ev.AgentStarted(c, t, TREND)]
        out += [ev.ReasoningDelta(c, t, EVIL, "reasoning", piece, 10.0 * n) for n, piece in enumerate(REASONING, start=1)]
        out += [ev.ReasoningDelta(c, t, EVIL, "answer", ANSWER, 200.0)]
        out += [
            ev.DecisionRejected(c, t, EVIL, COIN, f"rule{OSC_TITLE}", f"reason {MARKUP_LINK}{CSI_CLEAR}"),
            ev.AgentFailed(c, t, EVIL, f"http{OSC_TITLE}", FAILURE),
            ev.MarketFailed(c, t, f"market {OSC_CLIPBOARD}{OSC_CLIPBOARD_ST}{MARKUP_BOLD}"),
            ev.Notice(c, t, "error", f"error notice {OSC_LINK} {MARKUP_LINK}"),
        ]
        out.append(_board(c, t, {EVIL: CASH, TREND: CASH + 1.0}, {}, {}, rows["BTC"]["price"]))
    return out


@dataclass
class HostileSession:
    """A ``Session`` that sends ``hostile_header()`` and ``hostile_events()`` at once, then waits to
    be stopped (the app keeps running)."""

    mode: str = "recorded"
    name: str = SESSION
    state: ArenaState = field(default_factory=ArenaState)
    paused: bool = False
    stop_calls: int = 0
    _stopped: asyncio.Event | None = None

    def next_cycle_in(self) -> float | None:
        return 42.0

    async def run(self, sink) -> None:
        self._stopped = asyncio.Event()
        for e in [hostile_header(), *hostile_events()]:
            self.state.apply(e)
            sink(e)
        await self._stopped.wait()
        end = ev.SessionEnded(1, T0, f"ended {OSC_TITLE}{MARKUP_BOLD}", 1)
        self.state.apply(end)
        sink(end)

    def cycle_now(self) -> None:
        pass

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def stop(self, reason: str = "stopped by the user") -> None:
        self.stop_calls += 1
        if self._stopped is not None:
            self._stopped.set()


def screen_segments(app):
    """Every (text, style) segment of the whole screen as it would be drawn (toasts included)."""
    return [seg for strip in app.screen._compositor.render_strips() for seg in strip]


def screen_lines(app) -> list[str]:
    """The screen's lines as drawn (plain text)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_hostile_text_is_drawn_literally_and_never_as_controls():
    session = HostileSession()
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(220, 60)) as pilot:
        await app.events_rendered()
        await pilot.pause()
        assert app.is_running
        screen = app.console_screen
        pane = screen.panes[EVIL]

        # every segment on screen: no escape, no control, no surrogate, no bidi; no hyperlink made
        segments = screen_segments(app)
        for seg in segments:
            assert not FORBIDDEN.search(seg.text), repr(seg.text)
            assert seg.style is None or not seg.style.link, seg
        text = "\n".join(screen_lines(app))
        assert "PWNED" not in text and "cHduZWQ" not in text and "evil.example" not in text

        # markup is shown as typed, in the pane, the status line, the header and the tables
        reasoning = pane.text("reasoning")
        for literal in (MARKUP_BOLD, MARKUP_CLICK, MARKUP_LINK):
            assert literal in reasoning
        assert "rename  end" in reasoning and "title  end" in reasoning and "clip  end" in reasoning and "link click me end" in reasoning
        assert "surrogate \ufffd end" in reasoning and "bidi \ufffdevil\ufffd end" in reasoning
        assert "bell\u2407" in reasoning  # a lone control is shown as its control picture
        assert f"markup {MARKUP_BOLD} {MARKUP_CLICK}" in text  # drawn, not applied
        assert "Evil [link=https://evil]x[/] [/]" in text  # the pane title and the leaderboard
        assert "sess [b]bold[/b]" in text  # the header
        assert f"server says {MARKUP_CLICK}" in text  # the notice: status line and toast
        assert "⚠ failed (http): HTTP 502 from server: <html>[link=https://evil]x[/]" in text
        assert "gpt-x [@click=app.quit]x[/]" in text  # the model in the pane's subtitle
        assert "X[b]" in text  # the coin in the market table
        assert all(not FORBIDDEN.search(line) for _, line in screen.status.notices)

        # the session keeps the exact text: sanitising happens only where it is drawn
        assert session.state.header.session == SESSION and EVIL in session.state.agents

        # the command palette lists the agent by its safe name, literally
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Focus")
        await pilot.pause(0.3)
        assert app.is_running
        assert "Focus 1 Evil [link=https://evil]x[/] [/]" in "\n".join(screen_lines(app))
        assert all(not FORBIDDEN.search(seg.text) for seg in screen_segments(app))


async def test_stream_view_entry_points_sanitise_every_delta():
    """Split sequences (a token ending in ESC, the next carrying the rest) still never draw one."""
    session = HostileSession()
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(160, 50)):
        await app.events_rendered()
        pane = app.console_screen.panes[EVIL]
        for piece in ("a\x1b", "]0;SPLIT\x07b", "\x1b[", "2Jc", "\ud83d", "\ude00d"):
            pane.write(1, T0, "reasoning", piece)
        pane.line(1, T0, "failed", (f"chunk {OSC_TITLE}\nx", "two\t"))
        pane.fold_answer(1, f"outcome {OSC_TITLE}")
        await asyncio.sleep(0)
        assert all(not FORBIDDEN.search(line) for line in pane.lines())
        assert all(not FORBIDDEN.search(seg.text) for seg in screen_segments(app))
        assert app.is_running


def test_headless_leaderboard_prints_names_literally():
    rows = _board(1, T0, {EVIL: CASH}, {}, {}, 108_000.0).leaderboard
    console = Console(record=True, width=200, force_terminal=True, color_system="truecolor")
    console.print(leaderboard_table(rows, f"{SESSION}: final leaderboard"))
    out = console.export_text(styles=False)
    assert "Evil [link=https://evil]x[/] [/]" in out and "sess [b]bold[/b]" in out
    raw = console.export_text(styles=True)
    assert "\x1b]" not in raw and "PWNED" not in raw  # no OSC (title, hyperlink) in the bytes


# -- a real terminal ------------------------------------------------------------------------------

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL", "ARENA_LOCAL_MODEL")
PANE_TITLE = "hostile-test-title"
WINDOW = "arena-window"


def write_journal(path) -> None:
    writer = JournalWriter.create(path, hostile_header())
    for e in hostile_events(cycles=2):
        writer.write(e)
    writer.close()


class Tmux:
    """A private tmux server (its own socket) with set-clipboard, allow-rename and set-titles on."""

    def __init__(self, tmp_path) -> None:
        self.socket = str(tmp_path / f"tmux-{uuid.uuid4().hex[:8]}")
        self.env = {k: v for k, v in os.environ.items() if k not in KEYS and k != "TMUX"}
        self.env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
        self.cwd = str(tmp_path)

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, env=self.env, check=check)
        return done.stdout

    def start(self, command: str) -> tuple[str, str, str, str]:
        """Run ``command`` in the pane; returns what ``observed()`` said just before."""
        self("new-session", "-d", "-s", "h", "-n", WINDOW, "-x", "120", "-y", "40", "-c", self.cwd, "sleep 600")
        for option in ("set-clipboard on", "allow-rename on", "set-titles on", "allow-passthrough on", "remain-on-exit on"):
            self("set", "-g", *option.split())
        self("setw", "-g", "automatic-rename", "off")  # the window name changes only by escape (allow-rename)
        self("select-pane", "-t", "h", "-T", PANE_TITLE)
        before = self.observed()
        self("respawn-pane", "-k", "-t", "h", command)
        return before

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p", "-S", "-200", "-t", "h")  # with history: the end scrolls
            if re.search(pattern, screen):
                return screen
            time.sleep(0.1)
        pytest.fail(f"{pattern!r} never appeared; the screen was:\n{screen}")

    def observed(self) -> tuple[str, str, str, str]:
        """(pane title, paste buffers, window layout, window name)."""
        return (
            self("display", "-p", "-t", "h", "#{pane_title}").strip(),
            self("list-buffers"),
            self("display", "-p", "-t", "h", "#{window_layout}").strip(),
            self("display", "-p", "-t", "h", "#{window_name}").strip(),
        )

    def kill(self) -> None:
        self("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path):
    server = Tmux(tmp_path)
    yield server
    server.kill()


@pytest.mark.e2e
@needs_tmux
def test_replay_of_a_hostile_journal_in_tmux(tmp_path, tmux):
    journal = tmp_path / "hostile.jsonl"
    write_journal(journal)
    before = tmux.start(f"{sys.executable} -m arena_tui --replay {journal} --speed 32; echo EXITED $?")
    screen = tmux.wait_for(r"cycle 2/2")
    screen = tmux.wait_for(r"error notice click me")  # the last cycle's notice is on screen
    assert "Evil [link=https://evil]x[/] [/]" in screen
    assert "sess [b]bold[/b]" in screen
    tmux("send-keys", "-t", "h", "q")
    tmux.wait_for(r"EXITED 0")
    title, buffers, layout, window = tmux.observed()
    assert (title, buffers, layout, window) == before
    assert title == PANE_TITLE and buffers == "" and window == WINDOW


@pytest.mark.e2e
@needs_tmux
def test_headless_replay_of_a_hostile_journal_in_tmux(tmp_path, tmux):
    journal = tmp_path / "hostile.jsonl"
    write_journal(journal)
    before = tmux.start(f"{sys.executable} -m arena_tui --replay {journal} --headless; echo EXITED $?")
    screen = tmux.wait_for(r"EXITED \d")
    assert "Evil [link=https://evil]x[/] [/]" in screen
    title, buffers, layout, window = tmux.observed()
    assert (title, buffers, layout, window) == before
    assert title == PANE_TITLE and buffers == "" and window == WINDOW


@pytest.mark.e2e
@needs_tmux
def test_live_session_with_a_hostile_model_in_tmux(tmp_path, tmux):
    """A live session: the real openai client streams a model's reasoning and answer full of escape
    sequences and markup from the fake server on 127.0.0.1; the pane title, tmux's paste buffers, the
    window name and the layout are unchanged, and the text is on screen literally."""
    import gzip
    import json

    from tests.fakes.llm_server import FakeLLMServerThread

    answers = tmp_path / "hostile-answers.json.gz"
    record = {"timestamp": 1, "model_id": "evil", "cycle_id": 1, "reasoning": "".join(REASONING), "answer": ANSWER + NOTICE}
    with gzip.open(answers, "wt", encoding="utf-8") as fh:
        json.dump({"source": "tests", "records": [record]}, fh)
    with FakeLLMServerThread(answers=answers) as srv:
        config = tmp_path / "arena.toml"
        config.write_text(
            '[market]\nspeed = 30.0\ncoins = ["BTC"]\n[arena]\nname = "live-hostile"\n'
            f'[[agents]]\nname = "Evil model"\nkind = "openai-compatible"\nmodel = "reasoning:chunk=7"\nbase_url = "{srv.openai_base_url}"\n',
            encoding="utf-8",
        )
        before = tmux.start(f"{sys.executable} -m arena_tui --config {config} --journal {tmp_path / 'j.jsonl'}; echo EXITED $?")
        screen = tmux.wait_for(r"answered in", timeout=120)
        assert "[b]bold[/b]" in screen  # markup drawn as text
        tmux("send-keys", "-t", "h", "q")
        tmux.wait_for(r"EXITED 0")
    title, buffers, layout, window = tmux.observed()
    print(f"before: title={before[0]!r} buffers={before[1]!r} layout={before[2]!r} window={before[3]!r}")
    print(f"after:  title={title!r} buffers={buffers!r} layout={layout!r} window={window!r}")
    assert (title, buffers, layout, window) == before
    assert title == PANE_TITLE and buffers == "" and window == WINDOW
    journal = (tmp_path / "j.jsonl").read_text(encoding="utf-8")
    assert "\\u001b]52;c;" in journal  # the journal keeps the exact text (escaped as JSON)
