"""Responsiveness of the console, printed as figures a person can compare with the bars.

1. Time to first frame: a fresh process running ``arena-tui`` (the CLI's ``main``: the offline demo
   in an empty directory, and ``--replay sessions/demo.jsonl``) in a 120x40 pseudo-terminal, timed
   from process start until the header's mode (RECORDED / REPLAY) is on the terminal. The anchor:
   a hello-world Textual app (``Header``, ``Static("hello, anchor")``, ``Footer``) started the same
   way (this python running this script in the same pty runner), until its text is on the terminal;
   anchor and target runs alternate, so both see the same machine load. Bar: the median of each
   target <= 1.5x the anchor's median. A first round warms the OS file cache and is not counted.
   The children may cache compiled bytecode (a private ``PYTHONPYCACHEPREFIX``, as an installed
   package or a second start from a checkout has it) even where the shell sets
   ``PYTHONDONTWRITEBYTECODE``; ``--no-bytecode-cache`` keeps the environment as it is. The child also
   reports which of the LLM SDKs, ccxt and Numba were imported when the first frame was written.
1b. Prices first (``--prices-first`` only): with an EMPTY Numba cache (a new ``NUMBA_CACHE_DIR`` each
   run), the offline demo at a fixed ``--start`` (so BTC's first price is known) in the same pty:
   seconds from its first frame to the first market price row on the terminal (the
   ``MarketPreview`` the session sends before the indicators are compiled), and to the progress
   line and the "Indicators compiled" toast. Bar: the prices <= 1.0 s after the first frame.
2. Streaming: 6 agents each streaming 50 tokens/s into their panes for 30 s (a scripted session
   sending ``ReasoningDelta`` events as a live arena does: reasoning with Markdown in it (bold,
   italics, code, strike, a marker split across tokens, list items), then every ``ANSWER_EVERY``
   tokens an answer of JSON lines that a ``DecisionParsed`` folds into one line), in a 120x40
   pseudo-terminal with the real terminal driver. A 20 ms ``set_interval`` timer on the app measures
   its own lateness (time between ticks minus the interval); the p50/p99/max lag are printed (bar:
   p99 <= 50 ms), and every token sent is checked to be in its agent's pane at the end (reasoning and
   answers, folded or not). The anchor, run first in the same invocation: the same stream with
   Markdown rendering off (``StreamView.MARKDOWN`` empty: plain wrapped text, as before Markdown);
   the ratio of the two p99s is printed (``--no-anchor`` skips it).
   ``--append-cost``: the CPU side of the same, without the timer: the time per appended token of
   the streaming session's text written straight into 6 panes (headless, 120x40), with Markdown and
   with the plain-text anchor, median of 5 rounds each, and their ratio.
3. Replay jumps: ``End`` and ``Home`` on ``sessions/demo.jsonl`` (36 cycles; or ``--journal FILE``),
   headless at 120x40, timed from the key until every event is on screen (the replay folds the
   cycles before the target into its state and sends the screen only the last few); the median of
   10 of each is printed (no bar; a person notices more than about 100 ms).

4. Replay memory (``--memory FILE`` only): in a fresh process, build ``ReplaySession.from_journal``
   for a journal and jump to its end, one cycle back, one on, home, the middle and the end again;
   the peak resident memory (``VmHWM``) and each jump's time are printed (bar: peak < 300 MB; a
   10,000-cycle journal: ``arena-tui --headless --cycles 10000 --start 2025-10-02T00:00:00Z
   --journal x.jsonl``).

Run from the repository root: ``python benchmarks/tui.py`` (the first three), ``--first-frame
[--runs N] [--no-bytecode-cache]``, ``--prices-first``, ``--stream [--seconds N]``, ``--seek
[--journal FILE]`` or ``--memory FILE``. ``--cmd`` overrides the
command measured in (1).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLS, ROWS = 120, 40
AGENTS = 6
TOKENS_PER_S = 50.0
TICK_S = 0.02
ANSWER_EVERY = 300
"""Streamed tokens between answers: each agent answers (10 JSON lines, then parsed) every 6 s."""
HEAVY_MODULES = ("openai", "anthropic", "ccxt", "numba", "numpy")


# -- pseudo-terminal runner ------------------------------------------------------------------------


def run_in_pty(
    argv: list[str],
    *,
    marker: bytes | None,
    timeout: float,
    quit_after_marker: bool,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    markers: tuple[bytes, ...] = (),
) -> tuple[float | None, int]:
    """Run ``argv`` in a COLSxROWS pty (environment ``env``, default this one's), draining its
    output. Returns (seconds from spawn until ``marker`` appeared on the terminal, or None) and the
    exit status. ``markers``: more byte strings to look for; ``LAST_SEEN`` maps each (and ``marker``)
    to the seconds from spawn of its first sighting once the run is over."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        if cwd:
            os.chdir(cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = str(COLS), str(ROWS)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    looking = tuple(dict.fromkeys(m for m in (marker, *markers) if m is not None))
    found: dict[bytes, float] = {}
    LAST_SEEN.clear()
    buffer = b""
    deadline = start + timeout
    status = None
    while True:
        now = time.perf_counter()
        if now > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            if len(found) < len(looking):
                buffer = (buffer + chunk)[-65536:]
                for m in looking:
                    if m not in found and m in buffer:
                        found[m] = time.perf_counter() - start
                        if m == marker and quit_after_marker:
                            os.kill(pid, signal.SIGTERM)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    if status is None:
        _, status = os.waitpid(pid, 0)
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass
    os.close(fd)
    LAST_SEEN.update(found)
    return (found.get(marker) if marker is not None else None), status


LAST_SEEN: dict[bytes, float] = {}
"""``run_in_pty``'s markers of its last run: marker -> seconds from spawn to its first sighting."""


# -- 1. first frame --------------------------------------------------------------------------------


FIRST_FRAME_RATIO = 1.5
"""Bar: the console's first frame within this multiple of the hello-world anchor's (same run)."""
HELLO_MARKER = b"hello, anchor"


def _child_env(bytecode: bool) -> dict[str, str] | None:
    """The environment of a first-frame child. ``bytecode``: the child may cache compiled modules
    (in a private ``PYTHONPYCACHEPREFIX``, so nothing is written into the repository), as an installed
    package or a second start from a checkout does, even when this shell sets
    ``PYTHONDONTWRITEBYTECODE``; run 0 (not counted) fills that cache."""
    if not bytecode:
        return None
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "arena-tui-bench-pycache")
    return env


def _first_frames(runs: int, commands: list[tuple[list[str], bytes, str | None]], env: dict[str, str] | None) -> list[list[float]]:
    """Times to first frame of fresh children of each (argv, marker, cwd), ``runs`` each, taken in
    turn (one of each, then again), so that they share the machine's load; a first round warms the
    caches and is not counted."""
    times: list[list[float]] = [[] for _ in commands]
    for i in range(runs + 1):
        for n, (argv, marker, cwd) in enumerate(commands):
            seen, _ = run_in_pty(argv, marker=marker, timeout=30, quit_after_marker=True, cwd=cwd, env=env)
            if i and seen is not None:  # round 0 warms the file (and bytecode) cache
                times[n].append(seen)
    return times


def first_frame(runs: int, cmd: list[str] | None, bytecode: bool = True) -> None:
    """Median time to first frame of each command: the offline demo (``arena-tui`` with no config,
    run in an empty directory) and the replay of ``sessions/demo.jsonl``; or ``cmd``. Each is set
    against the hello-world anchor (``--child-hello``: a Textual app with a header, one static text
    and a footer) started the same way (this python, this script, the same pty), its runs taken in
    turn with the target's: bar <= ``FIRST_FRAME_RATIO`` x the anchor."""
    me = [sys.executable, str(Path(__file__).resolve())]
    env = _child_env(bytecode)
    targets: list[tuple[str, list[str], bytes, str | None]] = []
    if cmd:
        targets.append((" ".join(cmd), cmd, b"cycle ", None))
    else:
        targets.append(("arena-tui (offline demo)", [*me, "--child-cli"], b"RECORDED", tempfile.mkdtemp()))
        demo = ROOT / "sessions" / "demo.jsonl"
        if demo.exists():
            targets.append(("arena-tui --replay sessions/demo.jsonl", [*me, "--child-cli", "--replay", str(demo)], b"REPLAY", None))
    report = Path(tempfile.gettempdir()) / "arena-tui-first-frame-imports.json"
    how = "cache their bytecode (PYTHONPYCACHEPREFIX, as an installed package does)" if bytecode else "run with this environment as is"
    print(f"first frame: children {how}; median of {runs} runs each after a warm-up round, anchor and target in turn")
    for label, argv, marker, cwd in targets:
        report.unlink(missing_ok=True)
        anchor, times = _first_frames(runs, [([*me, "--child-hello"], HELLO_MARKER, tempfile.mkdtemp()), (argv, marker, cwd)], env)
        if not times:
            print(f"first frame: {label}: no frame within 30 s")
            continue
        med = statistics.median(times)
        print(f"first frame: {label}: median {med:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s over {len(times)} runs")
        if anchor:
            hello = statistics.median(anchor)
            ratio = med / hello
            verdict = "PASS" if ratio <= FIRST_FRAME_RATIO else "FAIL"
            print(f"first frame: {label}: hello-world anchor median {hello:.3f} s (min {min(anchor):.3f} s); ratio {ratio:.2f}x (bar <= {FIRST_FRAME_RATIO:g}x): {verdict}")
        else:
            print(f"first frame: {label}: the hello-world anchor drew no frame within 30 s")
        if report.exists():
            heavy = json.loads(report.read_text())
            print(f"first frame: {label}: imported by the first frame: {', '.join(heavy) or 'none'} of {', '.join(HEAVY_MODULES)}")


def _note_first_frame() -> None:
    """Write which heavy modules are imported when the first frame is written (the child is killed
    right after it)."""
    import textual.app

    display = textual.app.App._display
    noted = []

    def first_display(self, screen, renderable):  # type: ignore[no-untyped-def]
        if not noted and renderable is not None:  # noted before the frame goes out (then we are killed)
            noted.append(True)
            heavy = [m for m in HEAVY_MODULES if m in sys.modules]
            (Path(tempfile.gettempdir()) / "arena-tui-first-frame-imports.json").write_text(json.dumps(heavy))
        display(self, screen, renderable)

    textual.app.App._display = first_display  # type: ignore[method-assign]


def child_hello() -> None:
    """The anchor: a hello-world Textual app (header, one static text, footer)."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Hello(App[None]):
        TITLE = "hello"

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static(HELLO_MARKER.decode())
            yield Footer()

    Hello().run()


def child_cli(argv: list[str]) -> None:
    """``arena-tui argv``, noting which heavy modules are imported when the first frame is written."""
    _note_first_frame()
    sys.argv = ["arena-tui", *argv]
    from arena_tui.cli import main as cli_main

    raise SystemExit(cli_main())


# -- 1b. prices first ------------------------------------------------------------------------------


PRICES_FIRST_S = 1.0
"""Bar: the first market price row on screen within this many seconds of the first frame, on an
empty Numba cache."""
PRICES_FIRST_START = "2025-10-17T00:00:00Z"


def _expected_btc_price(start: str) -> bytes:
    """The BTC price the offline demo starting at ``start`` shows first, as the market table writes it."""
    from arena_tui.config import load_config
    from arena_tui.engine.factory import build_market
    from arena_tui.tui import formatting as fmt

    config = load_config(None, overrides={"market": {"start": start}, "arena": {}, "ui": {}}, cwd=Path(tempfile.mkdtemp()))
    market = build_market(config)
    snap = asyncio.run(market.snapshot())
    return fmt.price(snap.coins["BTC"].price).encode()


def prices_first(runs: int = 3, bytecode: bool = True) -> None:
    """With an EMPTY Numba cache (a new ``NUMBA_CACHE_DIR`` each run): seconds from the offline
    demo's first frame (RECORDED on the terminal) to its first market price row (BTC's price, known
    from ``--start``), then to the progress line (the compile announced) and to the toast saying the
    indicators are compiled (the progress line gone). Bar: the prices <= ``PRICES_FIRST_S`` after
    the first frame."""
    price = _expected_btc_price(PRICES_FIRST_START)
    env = dict(_child_env(bytecode) or os.environ)
    argv = [sys.executable, str(Path(__file__).resolve()), "--child-cli", "--start", PRICES_FIRST_START]
    run_in_pty(argv, marker=b"RECORDED", timeout=30, quit_after_marker=True, cwd=tempfile.mkdtemp(), env=env)  # warm the file cache
    progress, done = b"Compiling the indicators", b"Indicators compiled"
    print(f"prices first: offline demo --start {PRICES_FIRST_START}, an empty NUMBA_CACHE_DIR each run; BTC at {price.decode()}")
    gaps = []
    for _ in range(runs):
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="empty-numba-cache-")
        run_in_pty(argv, marker=done, markers=(b"RECORDED", price, progress), timeout=180, quit_after_marker=True, cwd=tempfile.mkdtemp(), env=env)
        seen = dict(LAST_SEEN)
        frame = seen.get(b"RECORDED")
        if frame is None or price not in seen:
            print(f"prices first: no {'first frame' if frame is None else 'price row'} within the run ({ {k.decode(): round(v, 3) for k, v in seen.items()} })")
            continue
        gap = seen[price] - frame
        gaps.append(gap)
        after = lambda m: f"{seen[m] - frame:.2f} s" if m in seen else "never"  # noqa: E731
        print(f"prices first: first frame {frame:.3f} s; prices {gap:.3f} s after it; compile announced {after(progress)}; indicators compiled {after(done)} after it")
    if gaps:
        med = statistics.median(gaps)
        verdict = "PASS" if med <= PRICES_FIRST_S else "FAIL"
        print(f"prices first: market rows on screen {med:.3f} s (median of {len(gaps)}, max {max(gaps):.3f} s) after the first frame (bar <= {PRICES_FIRST_S:g} s): {verdict}")


# -- 2. streaming ----------------------------------------------------------------------------------


WORDS = (
    "**BTC** holds above the 4h `EMA20` while funding stays *slightly* positive, so longs pay a little; "
    "RSI14 near 55 says neither stretched nor weak. **ETH leads** with MACD turning up and volume rising; "
    "the invalidation is a 4h close below `3,850`. SOL lags, so I keep it ~~long~~ flat until the EMA20 crosses "
    "the EMA50 on the _intraday_ candles and ATR calms down."
).split(" ")
"""Reasoning words, Markdown in them as models write it (``**ETH`` and ``leads**`` arrive apart)."""


def token(agent: int, n: int) -> tuple[str, str]:
    """The n-th token of an agent as (kind, text): reasoning words with a paragraph break every 60
    tokens (every other paragraph a list item), and every ``ANSWER_EVERY`` tokens the last 20 are an
    answer, one JSON line per 2 tokens."""
    k = n % ANSWER_EVERY
    if k >= ANSWER_EVERY - 20:
        i = k - (ANSWER_EVERY - 20)
        coin = ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "BTC", "ETH", "SOL", "BNB")[i // 2]
        if i % 2 == 0:
            return "answer", ("{\n" if i == 0 else "") + f'  "{coin}": {{"coin": "{coin}", "signal": '
        return "answer", '"hold", "justification": "EMA20 above EMA50 on 4h"}' + ("\n}" if i == 19 else ",\n")
    word = WORDS[(n + agent * 7) % len(WORDS)]
    if n % 60 == 59:
        return "reasoning", word + ("\n\n- " if n % 120 == 59 else "\n\n")
    return "reasoning", word + " "


class StreamingSession:
    """A ``Session`` whose one cycle streams ``TOKENS_PER_S`` tokens/s per agent for ``seconds``."""

    mode = "live"
    name = "stream-benchmark"

    def __init__(self, seconds: float, agents: int = AGENTS) -> None:
        from arena_tui.engine.state import ArenaState

        self.state = ArenaState()
        """The fold of what it sent (deltas aside, as a live session's bus does)."""
        self.seconds = seconds
        self.agents = [f"model-{i + 1}" for i in range(agents)]
        self.sent: dict[str, dict[str, list[str]]] = {a: {"reasoning": [], "answer": []} for a in self.agents}
        """What each agent sent, by kind, as its pane holds it (a reasoning paragraph after an answer
        starts on a new line)."""
        self.tokens = 0
        self._stopped = False
        self.finished = False

    @property
    def paused(self) -> bool:
        return False

    def next_cycle_in(self) -> float | None:
        return None

    def cycle_now(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None:
        self._stopped = True

    async def run(self, screen_sink) -> None:
        from arena_tui.engine import events as ev

        def sink(e: ev.Event) -> None:
            if not isinstance(e, ev.ReasoningDelta):
                self.state.apply(e)
            screen_sink(e)

        t = 1760659200000
        sink(ev.SessionStarted(0, t, self.name, "live", "benchmark", ("BTC", "ETH"), tuple({"name": a, "kind": "llm", "model": "fake"} for a in self.agents), 10_000.0, 180_000))
        sink(ev.CycleStarted(1, t, "timer"))
        for a in self.agents:
            sink(ev.AgentStarted(1, t, a))
        start = time.perf_counter()
        interval = 1.0 / TOKENS_PER_S
        n = 0
        while not self._stopped and n * interval < self.seconds:
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for i, a in enumerate(self.agents):
                kind, text = token(i, n)
                if kind == "reasoning" and n and token(i, n - 1)[0] == "answer":
                    self.sent[a][kind].append("\n")  # after an answer the reasoning is a new paragraph
                self.sent[a][kind].append(text)
                sink(ev.ReasoningDelta(1, t, a, kind, text, (time.perf_counter() - start) * 1000))
                if n % ANSWER_EVERY == ANSWER_EVERY - 1:
                    sink(ev.DecisionParsed(1, t, a, tuple({"coin": c, "signal": "hold"} for c in ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"))))
            self.tokens += len(self.agents)
            n += 1
        sink(ev.CycleCompleted(1, t, (time.perf_counter() - start) * 1000, ()))
        self.finished = True
        while not self._stopped:
            await asyncio.sleep(0.05)


def child_stream(seconds: float, out: Path, markdown: bool = True) -> None:
    """The streaming benchmark inside the app (run in a pty by ``stream``); writes results to ``out``.
    ``markdown=False``: the panes draw plain text (the anchor)."""
    from arena_tui.tui.app import make_app
    from arena_tui.tui.widgets.stream import StreamView

    if not markdown:
        StreamView.MARKDOWN = frozenset()

    session = StreamingSession(seconds)
    app = make_app(session)
    lags: list[float] = []
    stalls: list[tuple[float, float]] = []
    last = [0.0]
    t0 = time.perf_counter()

    def probe() -> None:
        now = time.perf_counter()
        if last[0]:
            lag = max(0.0, now - last[0] - TICK_S)
            lags.append(lag)
            if lag > 0.03:
                stalls.append((round(now - t0, 3), round(lag * 1000, 1)))
        last[0] = now

    async def finish() -> None:
        while not session.finished:
            await asyncio.sleep(0.1)
        await app.events_rendered()
        missing = {}
        folds = 0
        for name, pane in app.console_screen.panes.items():
            folds += len(pane.folds)
            for kind in ("reasoning", "answer"):
                sent = "".join(session.sent[name][kind])  # (as the pane holds it: see run())
                # the pane keeps paragraphs as blocks; a fold keeps the answer's lines whole
                shown = pane.text(kind)
                if kind == "answer":
                    sent = sent.replace("\n}{", "\n}\n{")
                if shown != sent:
                    missing[f"{name} {kind}"] = {"sent_chars": len(sent), "shown_chars": len(shown)}
        out.write_text(json.dumps({"lags": lags, "tokens": session.tokens, "missing": missing, "stalls": stalls, "folds": folds}))
        app.exit()

    def start() -> None:
        app.set_interval(TICK_S, probe, name="lag probe")
        app.run_worker(finish(), name="benchmark finish")

    app.call_after_refresh(start)
    app.run()


def _stream_run(seconds: float, markdown: bool) -> dict | None:
    """One streaming run in a pty child; its result (lags, tokens, missing, stalls, folds) or None."""
    out = Path(tempfile.mkdtemp()) / "stream.json"
    argv = [sys.executable, str(Path(__file__).resolve()), "--child-stream", str(out), "--seconds", str(seconds)]
    if not markdown:
        argv.append("--plain")
    _, status = run_in_pty(argv, marker=None, timeout=seconds + 120, quit_after_marker=False)
    if not out.exists():
        print(f"stream: the child produced no result (exit status {status})")
        return None
    return json.loads(out.read_text())


def stream(seconds: float, anchor: bool = True) -> None:
    p99s = {}
    for markdown in ((False, True) if anchor else (True,)):
        label = "Markdown" if markdown else "anchor, plain text"
        result = _stream_run(seconds, markdown)
        if result is None:
            continue
        lags = sorted(result["lags"])
        if not lags:
            print(f"stream ({label}): no timer ticks recorded")
            continue
        p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000  # noqa: E731
        p99s[markdown] = p(0.99)
        print(f"stream ({label}): {AGENTS} agents x {TOKENS_PER_S:g} tokens/s for {seconds:g} s = {result['tokens']} tokens, {len(lags)} timer ticks of {TICK_S * 1000:g} ms")
        verdict = f": {'PASS' if p(0.99) <= 50 else 'FAIL'}" if markdown else ""
        print(f"stream ({label}): timer lag p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lags[-1] * 1000:.1f} ms (bar p99 <= 50 ms){verdict}")
        print(f"stream ({label}): {result.get('folds', 0)} parsed answers folded into one line each")
        if os.environ.get("BENCH_VERBOSE"):
            print(f"stream ({label}): stalls over 30 ms (s since start, ms):", result.get("stalls"))
        if result["missing"]:
            print(f"stream ({label}): tokens MISSING on screen: {result['missing']}")
        else:
            print(f"stream ({label}): every token arrived on screen (each pane's text equals what was sent)")
    if len(p99s) == 2 and p99s[False] > 0:
        print(f"stream: p99 lag with Markdown / plain-text anchor = {p99s[True]:.1f} / {p99s[False]:.1f} ms = {p99s[True] / p99s[False]:.2f}x")


def append_cost(tokens: int = 1500, rounds: int = 5) -> None:
    """Time per token appended to a pane (``AgentPane.write``, which re-renders the open paragraph),
    Markdown on and off (the anchor), headless at 120x40; the median of ``rounds`` rounds of
    ``tokens`` tokens per agent."""
    from arena_tui.tui.app import make_app
    from arena_tui.tui.widgets.stream import StreamView

    markdown_kinds = StreamView.MARKDOWN
    session = StreamingSession(0.0)
    app = make_app(session)
    timings: dict[bool, list[float]] = {False: [], True: []}

    async def run() -> None:
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await app.events_rendered()
            await pilot.pause()
            panes = list(app.console_screen.panes.values())
            for r in range(rounds):
                for markdown in (False, True):
                    StreamView.MARKDOWN = markdown_kinds if markdown else frozenset()
                    cycle = 2 + 2 * r + markdown
                    app.console_screen.cycle = cycle
                    for pane in panes:
                        pane.start_cycle(cycle, 0)
                    start = time.perf_counter()
                    for n in range(tokens):
                        for i, pane in enumerate(panes):
                            kind, text = token(i, n)
                            pane.write(cycle, 0, kind, text)
                    timings[markdown].append((time.perf_counter() - start) / (tokens * len(panes)))
                    await pilot.pause()
            StreamView.MARKDOWN = markdown_kinds

    asyncio.run(run())
    plain, md = statistics.median(timings[False]) * 1e6, statistics.median(timings[True]) * 1e6
    print(f"append cost: {len(app.console_screen.panes)} panes x {tokens} tokens, median of {rounds}: Markdown {md:.0f} us/token, plain-text anchor {plain:.0f} us/token = {md / plain:.2f}x")
    budget = 1e6 / (AGENTS * TOKENS_PER_S)
    print(f"append cost: at {AGENTS} x {TOKENS_PER_S:g} tokens/s that is {md * AGENTS * TOKENS_PER_S / 1e4:.1f}% of one core with Markdown ({plain * AGENTS * TOKENS_PER_S / 1e4:.1f}% plain; {budget:.0f} us/token would be all of it)")


# -- 3. replay jumps --------------------------------------------------------------------------------


def seek(repeats: int = 10, journal: Path | None = None) -> None:
    """Median time from End (or Home) on ``journal`` (``sessions/demo.jsonl``) until every event
    sent is on screen."""
    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app

    demo = journal or ROOT / "sessions" / "demo.jsonl"
    start = time.perf_counter()
    session = ReplaySession.from_journal(demo, paused=True)
    print(f"seek: {demo} indexed in {time.perf_counter() - start:.2f} s")
    app = make_app(session, clock=lambda: 1763640000.0)
    timings: dict[str, list[float]] = {"end": [], "home": []}

    async def run() -> None:
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await app.events_rendered()
            await pilot.pause()
            for _ in range(repeats):
                for key in ("end", "home"):
                    start = time.perf_counter()
                    await pilot.press(key)
                    await pilot.pause()
                    await app.events_rendered()
                    await pilot.pause()
                    timings[key].append(time.perf_counter() - start)

    asyncio.run(run())
    events = sum(session._rec.counts)
    for key, label in (("end", f"End (to cycle {session.total_cycles})"), ("home", "Home (to cycle 0)")):
        print(f"seek: {label} on {demo.name} ({events} events): median {statistics.median(timings[key]) * 1000:.0f} ms, max {max(timings[key]) * 1000:.0f} ms over {repeats}")


# -- 4. replay memory -------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far (MB): ``VmHWM``, or ``ru_maxrss`` without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_memory(journal: Path) -> None:
    """Build a replay of ``journal`` and jump around it; prints one JSON object (see ``memory``)."""
    from arena_tui.engine.replay import ReplaySession

    out: dict = {"start_mb": _peak_rss_mb(), "jumps": []}
    start = time.perf_counter()
    session = ReplaySession.from_journal(journal, paused=True)
    out.update(index_s=time.perf_counter() - start, index_mb=_peak_rss_mb(), cycles=session.total_cycles, events=sum(session._rec.counts))
    sent = [0]

    async def run() -> None:
        task = asyncio.ensure_future(session.run(lambda e: sent.__setitem__(0, sent[0] + 1)))
        await asyncio.sleep(0)
        n = session.total_cycles
        for label, target in (("end", n), ("back one", n - 1), ("on one", n), ("home", 0), ("middle", n // 2), ("end", n)):
            sent[0] = 0
            t0 = time.perf_counter()
            session.seek(target)
            while session._seek_target is not None or session.cycle != target:
                await asyncio.sleep(0)
            out["jumps"].append({"to": label, "cycle": target, "s": time.perf_counter() - t0, "events_sent": sent[0]})
        session.stop()
        await task

    asyncio.run(run())
    out["peak_mb"] = _peak_rss_mb()
    print(json.dumps(out))


def memory(journal: Path) -> None:
    """Peak memory of a replay of ``journal`` (bar: < 300 MB), measured in a fresh process."""
    import subprocess

    argv = [sys.executable, str(Path(__file__).resolve()), "--child-memory", str(journal)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"memory: the child failed: {done.stderr.strip()}")
        return
    r = json.loads(done.stdout.splitlines()[-1])
    size = journal.stat().st_size / 1e6
    print(f"memory: {journal} ({size:.0f} MB, {r['cycles']} cycles, {r['events']} events) indexed in {r['index_s']:.2f} s")
    for j in r["jumps"]:
        print(f"memory: {j['to']:>8} (cycle {j['cycle']}): {j['s'] * 1000:.0f} ms, {j['events_sent']} events sent")
    verdict = "PASS" if r["peak_mb"] < 300 else "FAIL"
    print(f"memory: peak RSS (VmHWM) {r['peak_mb']:.1f} MB (interpreter and imports: {r['start_mb']:.1f} MB; after indexing: {r['index_mb']:.1f} MB) (bar < 300 MB): {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first-frame", action="store_true")
    ap.add_argument("--prices-first", action="store_true", help="first frame to the first price row, on an empty Numba cache")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--seek", action="store_true")
    ap.add_argument("--append-cost", action="store_true", help="time per token appended to a pane, Markdown vs plain text")
    ap.add_argument("--journal", type=Path, default=None, help="the journal --seek jumps in (default sessions/demo.jsonl)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-bytecode-cache", action="store_true", help="--first-frame: the children keep this environment's PYTHONDONTWRITEBYTECODE")
    ap.add_argument("--cmd", nargs=argparse.REMAINDER, default=None)
    ap.add_argument("--child-cli", nargs=argparse.REMAINDER, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-hello", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-stream", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-anchor", action="store_true", help="--stream: skip the plain-text anchor run")
    ap.add_argument("--memory", type=Path, default=None, metavar="FILE", help="peak memory of replaying FILE (a long journal)")
    ap.add_argument("--child-memory", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_cli is not None:
        child_cli(args.child_cli)
        return
    if args.child_hello:
        child_hello()
        return
    if args.child_stream is not None:
        child_stream(args.seconds, args.child_stream, markdown=not args.plain)
        return
    if args.child_memory is not None:
        child_memory(args.child_memory)
        return
    if args.memory is not None:
        memory(args.memory)
        return
    if args.append_cost:
        append_cost()
        return
    if args.prices_first:
        prices_first(bytecode=not args.no_bytecode_cache)
        return
    every = not (args.first_frame or args.stream or args.seek)
    if args.first_frame or every:
        first_frame(args.runs, args.cmd, bytecode=not args.no_bytecode_cache)
    if args.stream or every:
        stream(args.seconds, anchor=not args.no_anchor)
    if args.seek or every:
        seek(journal=args.journal)


if __name__ == "__main__":
    main()
