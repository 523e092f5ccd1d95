"""Pilot tests of the console's first seconds (issue 14, "Fast from the first second").

* Prices first: a ``MarketPreview`` (sent before cycle 1, while the indicators compile) fills the
  market table at once, its indicator cells pending, until cycle 1's ``MarketUpdated``.
* A ``Progress`` line in the status area while the work lasts (spinner, seconds), gone when it is
  done (the done text as a toast); notices that are over leave the screen; the status area fits
  its lines at 80x24 and 120x40.
* The deferred start: the CLI hands the app a ``StartingSession`` whose session is built after the
  first frame (in a thread); the screen ends up as with the session given directly, keys pressed
  meanwhile reach it, a stop meanwhile runs nothing, a failed build closes the app with the error.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from arena_tui.engine import events as ev
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.replay import ReplaySession
from arena_tui.engine.session import ReplayControls
from arena_tui.tui import formatting as fmt
from arena_tui.tui.app import ArenaApp, has_replay_controls, make_app
from arena_tui.tui.starting import StartingSession
from arena_tui.tui.widgets.status import SPINNER
from fresh_imports import modules_after
from test_tui_script import AGENTS, OFFLINE_HINT, T0, TREND, FakeSession, demo_events, header, market_rows, wait_until

FROZEN = 1763640000.0
WARMUP = "Compiling the indicators for cycle 1 (first start only; later starts load them from the cache)."
DONE = "Indicators compiled in 19 s and cached for later starts."


def app_for(session, **kwargs) -> ArenaApp:
    return make_app(session, clock=lambda: FROZEN, **kwargs)


def preview_rows() -> dict:
    """``MarketPreview.coins``: the first cycle's rows without the indicators."""
    return {coin: {k: row[k] for k in ("price", "change_pct", "funding_rate", "open_interest")} for coin, row in market_rows(0).items()}


def cells(app: ArenaApp, coin: str) -> dict[str, str]:
    table = app.console_screen.market
    return {c.key: table.get_cell(coin, c.key).plain.strip() for c in table.shown_columns}


def status_lines(app: ArenaApp) -> list[str]:
    return app.console_screen.status.render().plain.splitlines()


async def settle(app: ArenaApp, pilot) -> None:
    await app.events_rendered()
    await pilot.pause()


def held_build(**session_kwargs):
    """(release, built, build): ``build`` waits for ``release`` (the app draws meanwhile), then
    makes a ``FakeSession(**session_kwargs)`` and keeps it in ``built``."""
    release = threading.Event()
    built: list[FakeSession] = []

    def build() -> FakeSession:
        release.wait(10)
        built.append(FakeSession(**session_kwargs))
        return built[0]

    return release, built, build


# -- prices first --------------------------------------------------------------------------------


async def test_the_preview_fills_the_market_table_before_cycle_1_then_the_first_cycle_replaces_it():
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.console_screen.market
        assert table.row_count == 0  # the header and the offline notice, no market yet
        app.sink(ev.MarketPreview(0, T0, preview_rows()))  # display only: never folded into the state
        await settle(app, pilot)
        assert not session.state.market and table.previewing
        assert table.row_count == 6
        btc = cells(app, "BTC")
        assert btc["price"] == fmt.price(108129.4) and btc["funding"] == fmt.rate(-2.85e-06)
        assert btc["change"] == fmt.percent(0.0)
        assert [btc[k] for k in ("rsi7", "rsi14", "ema", "macd", "atr")] == [fmt.PENDING] * 5
        # cycle 1: the state has the full rows; the preview is over
        started = ev.CycleStarted(1, T0, "timer")
        updated = ev.MarketUpdated(1, T0, market_rows(0))
        for e in (started, updated):
            session.state.apply(e)
            app.sink(e)
        await settle(app, pilot)
        assert not table.previewing and table.row_count == 6
        btc = cells(app, "BTC")
        assert btc["price"] == fmt.price(108129.4) and btc["rsi14"] == fmt.number(54.006516, 1)
        assert fmt.PENDING not in btc.values()
        # a later preview (none is sent after cycle 1) would not hide the state's rows
        app.sink(ev.MarketPreview(1, T0, preview_rows()))
        await settle(app, pilot)
        assert cells(app, "BTC")["rsi14"] == fmt.number(54.006516, 1)


async def test_a_replay_jump_forgets_the_preview():
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.sink(ev.MarketPreview(0, T0, preview_rows()))
        await settle(app, pilot)
        assert app.console_screen.market.row_count == 6
        app.sink(ev.StateReset(0, 0, 0))
        await settle(app, pilot)
        assert app.console_screen.market.row_count == 0


# -- the progress line and notices that are over -------------------------------------------------


async def test_a_progress_line_shows_while_the_indicators_compile_and_goes_when_they_are_done():
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        status = app.console_screen.status
        assert status.notices == [("info", OFFLINE_HINT)]
        app.sink(ev.Progress(0, T0, "indicators", WARMUP))
        await settle(app, pilot)
        assert list(status.progress) == ["indicators"]
        lines = status_lines(app)
        assert lines[0][0] in SPINNER and "Compiling the indicators" in lines[0] and lines[0].rstrip().endswith("s")
        assert len(lines) == 3 and OFFLINE_HINT.startswith(lines[1].strip()[2:20])  # the hint still whole below it
        first = lines[0]
        await wait_until(lambda: status_lines(app)[0] != first, "the spinner to turn")
        app.sink(ev.Progress(0, T0, "indicators", DONE, done=True))
        await settle(app, pilot)
        assert status.progress == {}
        assert all("Compiling" not in line for line in status_lines(app))
        assert status.notices == [("info", OFFLINE_HINT)]  # the done text is not a lasting notice...
        assert any(DONE in str(n.message) for n in app._notifications)  # ...but a toast
        assert status._ticker is None  # nothing ticks any more


async def test_the_progress_line_ends_with_the_session():
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.sink(ev.Progress(0, T0, "indicators", WARMUP))
        await settle(app, pilot)
        app.sink(ev.SessionEnded(0, T0, "stopped by the user", 0))
        await settle(app, pilot)
        assert app.console_screen.status.progress == {}
        assert all("Compiling" not in line for line in status_lines(app))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_status_area_shows_the_progress_and_the_newest_notice_at_80x24_and_120x40(size):
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        status = app.console_screen.status
        app.sink(ev.Progress(0, T0, "indicators", WARMUP))
        app.sink(ev.Notice(0, T0, "warning", "gpt-5: could not prepare its client (no key); it will retry each cycle."))
        await settle(app, pilot)
        lines = status_lines(app)
        budget = 2 if size[1] < 32 else 3
        assert len(lines) <= budget and status.region.height == len(lines)
        assert "Compiling the indicators" in lines[0]
        assert all(len(line.rstrip()) <= size[0] - 2 for line in lines)
        assert any("gpt-5: could not prepare" in line for line in lines)  # the newest notice, never hidden
        app.sink(ev.Progress(0, T0, "indicators", DONE, done=True))
        await settle(app, pilot)
        lines = status_lines(app)
        assert "Compiling" not in "".join(lines) and any("gpt-5" in line for line in lines)


async def test_a_market_failure_notice_goes_when_the_market_answers_again():
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        status = app.console_screen.status
        app.sink(ev.MarketFailed(1, T0, "timeout"))
        await settle(app, pilot)
        assert status.text == "Cycle 1: no market data (timeout); agents hold."
        app.sink(ev.MarketFailed(2, T0, "timeout"))
        await settle(app, pilot)
        assert [t for _, t in status.notices if "no market data" in t] == ["Cycle 2: no market data (timeout); agents hold."]
        updated = ev.MarketUpdated(3, T0, market_rows(0))
        session.state.apply(updated)
        app.sink(updated)
        await settle(app, pilot)
        assert status.notices == [("info", OFFLINE_HINT)]



async def test_an_info_notice_leaves_the_line_after_a_while_and_a_warning_stays():
    """The offline demo's hint is read once: after ``fade_s`` it leaves the status line (the room
    goes to the panes); a warning stays; the notices panel still lists both."""
    session = FakeSession(autoplay=0)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        status = app.console_screen.status
        status.fade_s = 0.3
        status.show("info", OFFLINE_HINT)  # shown again: it fades 0.3 s from now
        app.sink(ev.Notice(0, T0, "warning", "gpt-5: could not prepare its client (no key); it will retry each cycle."))
        await settle(app, pilot)
        assert any("Offline demo" in line for line in status_lines(app))
        await wait_until(lambda: not any("Offline demo" in line for line in status_lines(app)), "the hint to fade")
        assert [line for line in status_lines(app) if line.strip()] == [
            "⚠ gpt-5: could not prepare its client (no key); it will retry each cycle."
        ]
        assert [level for level, _ in status.notices] == ["info", "warning"]  # kept for the panel
        status.set_expanded(True)
        assert any("Offline demo" in line for line in status_lines(app))
        status.set_expanded(False)
        status.drop_recorded()
        status.end_all_progress()
        app.sink(ev.Notice(0, T0, "warning", "gpt-5: still no key."))
        await settle(app, pilot)
        assert not any("Offline demo" in line for line in status_lines(app))
        # a fade timer that fires a moment before its time is set again (it is not left for good)
        now = [100.0]
        status._clock = lambda: now[0]
        status.show("info", "a hint")
        now[0] = 100.29
        status._fade()
        assert any("a hint" in line for line in status_lines(app)) and status._fader is not None
        now[0] = 100.31
        status._fade()
        assert not any("a hint" in line for line in status_lines(app)) and status._fader is None

# -- the deferred start ------------------------------------------------------------------------------


def screen_state(app: ArenaApp) -> dict:
    """What the console shows, to compare two apps."""
    screen = app.console_screen
    return {
        "header": dict(screen.header._shown),
        "status": screen.status.notices,
        "panes": {name: (pane.border_title, pane.text("reasoning"), pane.text("answer")) for name, pane in screen.panes.items()},
        "tables": {t.id: [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)] for t in screen.tables},
    }


async def test_a_session_built_after_the_first_frame_ends_in_the_same_screen():
    direct = app_for(FakeSession())
    async with direct.run_test(size=(120, 40)) as pilot:
        await direct.session.done.wait()
        await settle(direct, pilot)
        direct._tick()  # the header's clock and countdown now
        expected = screen_state(direct)
    release, built, build = held_build()  # the app draws its first frame meanwhile
    first_frame_state = []

    starting = StartingSession("recorded", "offline-demo", build)
    app = app_for(starting)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first_frame_state.append(screen_state(app))
        assert app.console_screen.header._shown["mode"] == "RECORDED" and starting.state is None
        release.set()
        await wait_until(lambda: built and built[0].done is not None and built[0].done.is_set(), "the built session's events")
        await settle(app, pilot)
        assert starting.started is built[0] and starting.state is built[0].state
        app._tick()
        assert screen_state(app) == expected
    first = first_frame_state[0]
    assert first["panes"] == {} and all(rows == [] for rows in first["tables"].values())


async def test_what_the_build_reports_shows_as_a_progress_line_until_the_session_runs():
    """A replay of a long journal is indexed after the first frame: how far it has read shows in
    the status area (and the header says it is reading the journal), and goes once it plays."""
    step, reported, release = threading.Event(), threading.Event(), threading.Event()
    built: list[ReplaySession] = []

    def build():
        starting.report("Reading long.jsonl: 0% of 11.3 MB")
        step.wait(10)
        starting.report("Reading long.jsonl: 45% of 11.3 MB")
        reported.set()
        release.wait(10)
        built.append(ReplaySession(header(), demo_events(), paused=True))
        return built[0]

    starting = StartingSession("replay", "long", build)
    app = app_for(starting)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: any("Reading long.jsonl: 0%" in line for line in status_lines(app)), "the first word of the build")
        assert app.console_screen.header._shown["sim"] == "reading journal"
        step.set()
        await wait_until(lambda: reported.is_set() and any("45% of 11.3 MB" in line for line in status_lines(app)), "the next word")
        assert not any("0% of" in line for line in status_lines(app))  # one line, updated
        release.set()
        await wait_until(lambda: built and starting.started is built[0], "the replay to run")
        await settle(app, pilot)
        assert not any("Reading" in line for line in status_lines(app))
        assert app.console_screen.status.progress == {}


def test_a_replay_reports_how_far_it_has_indexed_its_journal(monkeypatch):
    from arena_tui.engine import replay

    monkeypatch.setattr(replay, "PROGRESS_BYTES", 64_000)
    path = Path(__file__).resolve().parents[1] / "sessions" / "demo.jsonl"
    seen: list[tuple[int, int]] = []
    session = replay.ReplaySession.from_journal(path, progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert session.total_cycles == 36 and len(seen) >= 5  # (at cycle starts: the first cycle's market data is large)
    assert all(total == size for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and all(b - a >= 64_000 for a, b in zip(done, done[1:])) and done[-1] < size


async def test_keys_pressed_while_the_session_is_built_reach_it_once_it_runs():
    release, built, build = held_build(autoplay=0)

    starting = StartingSession("recorded", "offline-demo", build)
    app = app_for(starting)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        assert app.paused and starting.paused
        await pilot.press("c")
        release.set()
        await wait_until(lambda: built and built[0].pause_calls == 1 and built[0].cycle_now_calls == 1, "the kept commands")
        await settle(app, pilot)
        assert built[0].paused and app.paused
        assert app.console_screen.header.state == "paused"


async def test_q_while_the_session_is_built_quits_at_once_and_runs_nothing():
    release, built, build = held_build()

    starting = StartingSession("recorded", "offline-demo", build)
    app = app_for(starting)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await wait_until(lambda: not app.is_running, "the app to close")
    release.set()
    await asyncio.sleep(0.05)
    assert starting.started is None and app.start_error is None
    assert all(not s.emitted for s in built)  # built (the thread finished) but never run


async def test_a_build_that_fails_closes_the_app_with_its_error():
    def build():
        raise ConfigError("market.start 2031-01-01 is after the bundled data ends (2025-11-07)")

    starting = StartingSession("recorded", "offline-demo", build)
    app = app_for(starting)
    async with app.run_test(size=(120, 40)):
        await wait_until(lambda: not app.is_running, "the app to close")
    assert isinstance(app.start_error, ConfigError) and app.error is None


def test_the_cli_reports_a_build_error_as_before_the_screen(monkeypatch, capsys):
    """``_after_app`` raises what the build raised; ``_main`` prints its sentence and exits 2."""
    from arena_tui import cli

    class Closed:
        start_error = ConfigError("no agents configured")

    monkeypatch.setattr(cli, "run_tui", lambda args: cli._after_app(Closed(), None))
    assert cli.main([]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip() == "arena-tui: no agents configured"


async def test_a_replay_built_after_the_first_frame_has_the_replay_keys():
    starting = StartingSession("replay", "demo", lambda: ReplaySession(header(), demo_events(), paused=True), speed=2.0)
    app = app_for(starting)
    assert app.is_replay
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: starting.started is not None, "the replay to start")
        await settle(app, pilot)
        assert starting.speed == 2.0 and starting.total_cycles == 3
        await pilot.press("right")
        await wait_until(lambda: starting.cycle == 1, "one cycle on")
        await settle(app, pilot)
        assert app.console_screen.header.cycle == 1
        assert set(app.console_screen.panes) == set(AGENTS) and TREND in app.console_screen.panes


def test_replay_controls_are_told_apart_as_the_protocol_does():
    for session in (FakeSession(), ReplaySession(header(), demo_events(), paused=True), StartingSession("replay", "x", lambda: None)):
        assert has_replay_controls(session) == isinstance(session, ReplayControls)


def test_the_first_frame_needs_neither_the_engines_events_nor_its_state():
    """``arena_tui.tui.app`` (and the CLI's start) import no engine module that builds events,
    state or sessions, and not numpy: those come after the first frame."""
    later = {"arena_tui.engine.events", "arena_tui.engine.state", "arena_tui.engine.session", "arena_tui.engine.scheduler",
             "arena_tui.tui.widgets.reasoning", "markdown_it", "numpy"}
    assert sorted(modules_after("import arena_tui.cli, arena_tui.tui.app, arena_tui.tui.starting") & later) == []


def test_the_demo_start_reads_its_config_and_themes_without_numpy(tmp_path):
    """What ``arena-tui`` does before its first frame (parse the flags, read and check the config,
    load the themes, make the app) loads no numpy and no ``importlib.resources``: checking a config
    once imported the recorded market (numpy, about 100 ms of the first frame) for its time parser."""
    later = {"numpy", "importlib.resources", "arena_tui.engine.market.recorded", "arena_tui.engine.events"}
    config = tmp_path / "arena.toml"
    config.write_text('[[fees.schedule]]\nstart = "2025-10-22T00:00:00Z"\ntaker_fee_bp = 4.5\nmaker_fee_bp = 1.5\n', encoding="utf-8")
    code = (
        "import arena_tui.cli as cli\n"
        f"args = cli.build_parser().parse_args(['--config', {str(config)!r}])\n"
        "config = cli.new_session_config(args)\n"
        "assert config.fees.schedule, config.fees\n"
        "from arena_tui.tui.app import make_app\n"
        "from arena_tui.tui.starting import StartingSession\n"
        "make_app(StartingSession('recorded', 'x', lambda: None))\n"
    )
    assert sorted(modules_after(code) & later) == []
