"""Live cycles on the wall clock's boundaries (issue 16, point 1), driven by a fake clock.

A live session starts cycle 1 at once, then every automatic cycle on a whole multiple of the cycle
interval since the epoch (:00, :03, :06 ... UTC for 3 minutes; :00, :15 ... for 15), whatever the last
cycle took. A cycle still running at a boundary skips it and a journaled ``Notice`` says why. "Cycle
now" and pause/resume keep working, and the next automatic cycle stays on the grid.

Nothing here waits for real time: the session's ``wall_clock`` and ``sleep`` are a ``FakeWall`` whose
sleep moves its clock on at once, and the agent "thinks" by moving the same clock. The market is the
bundled recording read at the fake wall time, so a live session runs offline. Also here: the offline
demo's notice names the session's real start, and the Sharpe ratio does not depend on the interval.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.agents.base import AgentReply
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.market.recorded import RecordedMarket
from arena_tui.engine.metrics import PERIODS_PER_YEAR, EquityTracker, annualised_sharpe, compute_metrics
from arena_tui.engine.scheduler import MAX_SLEEP_S, ArenaSession, market_interval_ms, market_interval_s
from arena_tui.engine.state import ArenaState
from arena_tui.engine.verify import reexecute


def at(text: str) -> float:
    """``"2025-10-20 12:03:00"`` (UTC) -> wall seconds since the epoch."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def hms(ms: int) -> str:
    """Epoch ms -> ``HH:MM:SS`` (UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%H:%M:%S")


class FakeWall:
    """The session's wall clock (``wall()`` -> seconds) and sleep: ``sleep(s)`` moves the clock on
    by ``s`` at once, or only up to the next scheduled action, which it then runs (a key press at a
    given wall time). ``sleeps`` records every sleep asked for."""

    def __init__(self, t: float) -> None:
        self.t = t
        self.sleeps: list[float] = []
        self.actions: list[tuple[float, object]] = []

    def __call__(self) -> float:
        return self.t

    def when(self, t: float, action) -> None:
        self.actions.append((t, action))
        self.actions.sort(key=lambda a: a[0])

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        target = self.t + seconds
        if self.actions and self.actions[0][0] <= target:
            when, action = self.actions.pop(0)
            self.t = max(self.t, when)
            action()
        else:
            self.t = target
        await asyncio.sleep(0)


class WallMarket(RecordedMarket):
    """A live market for tests: its clock is the fake wall clock, its data the bundled recording at
    that time, and ``advance()`` does nothing (the world moves by itself)."""

    def __init__(self, wall: FakeWall, interval_ms: int) -> None:
        super().__init__(coins=("BTC", "ETH"), start="2025-10-18T00:00:00Z")
        self.wall = wall
        self.interval_ms = interval_ms
        self.name = "live:fake"

    @property
    def now(self) -> int:
        return int(round(self.wall() * 1000))

    async def snapshot(self):
        return self.snapshot_at(self.now)

    async def advance(self) -> None:
        return None


class ThinkingAgent:
    """Holds every cycle after "thinking" ``durations[cycle - 1]`` seconds of the fake wall clock
    (the last duration repeats)."""

    kind = "llm"
    model = "thinking"

    def __init__(self, wall: FakeWall, durations, name: str = "Thinker") -> None:
        self.name = name
        self.wall = wall
        self.durations = list(durations)
        self.calls = 0

    async def decide(self, request, on_delta):
        self.calls += 1
        self.wall.t += self.durations[min(self.calls, len(self.durations)) - 1]
        on_delta("answer", '{"BTC": {"signal": "hold"}}')
        return AgentReply(text='{"BTC": {"signal": "hold"}}')


def live_config(tmp_path: Path, interval: str = "3m"):
    return load_config(
        None, environ={}, cwd=tmp_path,
        overrides={"market": {"source": "live", "coins": ["BTC", "ETH"], "cycle_interval": interval}, "arena": {"sessions_dir": str(tmp_path)}},
    )


def live_session(tmp_path: Path, wall: FakeWall, durations, *, cycles: int, interval_ms: int = 180_000, journal_path=None):
    cfg = live_config(tmp_path, {180_000: "3m", 900_000: "15m"}.get(interval_ms, "3m"))
    market = WallMarket(wall, interval_ms)
    agent = ThinkingAgent(wall, durations)
    return ArenaSession(
        cfg, market, [agent], journal=journal_path is not None, journal_path=journal_path,
        max_cycles=cycles, wall_clock=wall, sleep=wall.sleep,
    )


async def run(session: ArenaSession, sink=None) -> list[ev.Event]:
    seen: list[ev.Event] = []

    def listen(e: ev.Event) -> None:
        seen.append(e)
        if sink is not None:
            sink(e)

    await asyncio.wait_for(session.run(listen), 60)  # a generous bound: the fake clock never waits
    return seen


def starts(seen) -> list[tuple[str, str]]:
    """Each cycle's (start time HH:MM:SS UTC, trigger)."""
    return [(hms(e.time), e.trigger) for e in seen if isinstance(e, ev.CycleStarted)]


def notices(seen) -> list[str]:
    return [e.text for e in seen if isinstance(e, ev.Notice)]


# -- the boundaries ------------------------------------------------------------------------------


def test_boundaries_are_whole_multiples_of_the_interval_since_the_epoch(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:10"))
    s = live_session(tmp_path, wall, [1], cycles=1)
    assert s.wall_clock_cycles and s.interval_s == 180.0
    assert s.next_boundary(at("2025-10-20 12:00:10")) == at("2025-10-20 12:03:00")
    assert s.next_boundary(at("2025-10-20 12:03:00")) == at("2025-10-20 12:03:00")  # on a boundary: that one
    assert s.next_boundary(at("2025-10-20 23:59:00")) == at("2025-10-21 00:00:00")
    # a cycle from 12:03:00 to 12:06:40 ran through 12:06; one ending exactly at 12:06 let it start
    assert s.skipped_boundaries(at("2025-10-20 12:03:00"), at("2025-10-20 12:06:40")) == [at("2025-10-20 12:06:00")]
    assert s.skipped_boundaries(at("2025-10-20 12:03:00"), at("2025-10-20 12:06:00")) == []
    assert s.skipped_boundaries(at("2025-10-20 12:03:00"), at("2025-10-20 12:05:59")) == []
    assert s.skipped_boundaries(at("2025-10-20 12:03:00"), at("2025-10-20 12:13:01")) == [
        at("2025-10-20 12:06:00"), at("2025-10-20 12:09:00"), at("2025-10-20 12:12:00")
    ]


async def test_3m_cycles_start_on_the_boundaries_whatever_they_took(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:10"))
    session = live_session(tmp_path, wall, [20, 95, 170, 5], cycles=5)
    seen = await run(session)
    # cycle 1 at once; then :03, :06, :09, :12, whether the last cycle took 5 s or 2 min 50 s
    assert starts(seen) == [
        ("12:00:10", "timer"), ("12:03:00", "timer"), ("12:06:00", "timer"), ("12:09:00", "timer"), ("12:12:00", "timer"),
    ]
    assert notices(seen) == []
    assert max(wall.sleeps) <= MAX_SLEEP_S  # long waits are cut up, the wall clock reread after each


async def test_15m_cycles_start_at_quarter_hours(tmp_path):
    wall = FakeWall(at("2025-10-20 12:07:30"))
    session = live_session(tmp_path, wall, [40, 600, 20], cycles=4, interval_ms=900_000)
    assert session.interval_s == 900.0
    seen = await run(session)
    assert [t for t, _ in starts(seen)] == ["12:07:30", "12:15:00", "12:30:00", "12:45:00"]
    header = seen[0]
    assert isinstance(header, ev.SessionStarted) and header.cycle_interval_ms == 900_000 and header.mode == "live"


# -- a cycle that runs through a boundary ------------------------------------------------------------


async def test_a_cycle_running_at_a_boundary_skips_it_and_the_journal_says_why(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    path = tmp_path / "live.jsonl"
    # cycle 2 starts at 12:03 and thinks for 3 min 40 s: it is still running at 12:06
    session = live_session(tmp_path, wall, [30, 220, 10], cycles=3, journal_path=path)
    seen = await run(session)
    assert [t for t, _ in starts(seen)] == ["12:00:00", "12:03:00", "12:09:00"]
    skip = [e for e in seen if isinstance(e, ev.Notice)]
    assert [n.text for n in skip] == [
        "Skipped the 12:06 UTC cycle: cycle 2 was still running (it took 3 min 40 s); the next starts at 12:09 UTC."
    ]
    assert skip[0].level == "warning" and skip[0].cycle == 2 and hms(skip[0].time) == "12:06:40"
    # journaled between cycle 2's end and cycle 3's start, and the journal still verifies
    journal = read_journal(path)
    types = [type(e).__name__ for e in journal.events]
    i = types.index("Notice")
    assert types[i - 1] == "CycleCompleted" and types[i + 1] == "CycleStarted"
    assert journal.events[i].text == skip[0].text
    result = await reexecute(path)
    assert result.difference is None and result.cycles == 3


async def test_a_long_cycle_skips_every_boundary_it_ran_through_in_one_notice(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [400, 620, 10], cycles=3)
    seen = await run(session)
    # 12:00:00-12:06:40 skips 12:03 and 12:06; 12:09:00-12:19:20 skips 12:12, 12:15 and 12:18
    assert [t for t, _ in starts(seen)] == ["12:00:00", "12:09:00", "12:21:00"]
    assert notices(seen) == [
        "Skipped the 12:03 and 12:06 UTC cycles: cycle 1 was still running (it took 6 min 40 s); the next starts at 12:09 UTC.",
        "Skipped the 3 cycles from 12:12 to 12:18 UTC: cycle 2 was still running (it took 10 min 20 s); the next starts at 12:21 UTC.",
    ]


async def test_a_cycle_ending_exactly_on_a_boundary_lets_that_cycle_start(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [180, 10], cycles=2)
    seen = await run(session)
    assert [t for t, _ in starts(seen)] == ["12:00:00", "12:03:00"]
    assert notices(seen) == []


# -- cycle now, pause, resume ------------------------------------------------------------------------


async def test_cycle_now_runs_at_once_and_the_next_stays_on_the_boundary(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [20, 30, 10], cycles=3)
    asked: list[float | None] = []

    def press():
        asked.append(session.next_cycle_in())  # 12:01:00: two minutes to the 12:03 boundary
        session.cycle_now()

    wall.when(at("2025-10-20 12:01:00"), press)
    seen = await run(session)
    assert asked == [120.0]
    assert starts(seen) == [("12:00:00", "timer"), ("12:01:00", "manual"), ("12:03:00", "timer")]
    assert notices(seen) == []


async def test_a_manual_cycle_running_through_a_boundary_skips_it(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [20, 90, 10], cycles=3)
    wall.when(at("2025-10-20 12:02:00"), session.cycle_now)
    seen = await run(session)
    assert starts(seen) == [("12:00:00", "timer"), ("12:02:00", "manual"), ("12:06:00", "timer")]
    assert notices(seen) == [
        "Skipped the 12:03 UTC cycle: cycle 2 was still running (it took 1 min 30 s); the next starts at 12:06 UTC."
    ]


async def test_cycle_now_during_an_overrunning_cycle_runs_right_after_it(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [200, 10, 10], cycles=3)

    def sink(e):
        if isinstance(e, ev.CycleStarted) and e.cycle == 1:
            session.cycle_now()  # coalesced: one more cycle right after this one

    seen = await run(session, sink)
    assert starts(seen) == [("12:00:00", "timer"), ("12:03:20", "manual"), ("12:06:00", "timer")]
    assert notices(seen) == [
        "Skipped the 12:03 UTC cycle: cycle 1 was still running (it took 3 min 20 s); "
        "the cycle asked for meanwhile starts now, the next starts at 12:06 UTC."
    ]
    assert sum(isinstance(e, ev.TriggerCoalesced) for e in seen) == 1


async def test_pause_then_resume_waits_for_the_next_boundary_without_skip_notices(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [20, 10], cycles=2)
    wall.when(at("2025-10-20 12:01:00"), session.pause)
    task = asyncio.create_task(run(session))

    def parked() -> bool:  # paused and waiting on its trigger: only a command can start a cycle now
        return session.paused and session._trigger is not None and not session._trigger.is_set()

    for _ in range(6000):  # polls a condition, never a duration
        if parked() or task.done():
            break
        await asyncio.sleep(0.01)
    assert parked() and session.next_cycle_in() is None
    wall.t = at("2025-10-20 12:07:30")  # the 12:03 and 12:06 boundaries passed while paused
    session.resume()
    seen = await asyncio.wait_for(task, 60)
    assert starts(seen) == [("12:00:00", "timer"), ("12:09:00", "timer")]
    assert notices(seen) == []
    assert [type(e).__name__ for e in seen if isinstance(e, (ev.SessionPaused, ev.SessionResumed))] == ["SessionPaused", "SessionResumed"]


async def test_cycle_now_while_paused_steps_one_cycle_and_stays_paused(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [20, 10, 10], cycles=3)
    wall.when(at("2025-10-20 12:01:00"), session.pause)

    def sink(e):
        if isinstance(e, ev.CycleCompleted) and e.cycle == 2:
            assert session.paused
            session.resume()

    task = asyncio.create_task(run(session, sink))
    for _ in range(6000):
        if (session.paused and session._trigger is not None and not session._trigger.is_set()) or task.done():
            break
        await asyncio.sleep(0.01)
    wall.t = at("2025-10-20 12:04:00")
    session.cycle_now()  # a step while paused
    seen = await asyncio.wait_for(task, 60)
    assert starts(seen)[:2] == [("12:00:00", "timer"), ("12:04:00", "manual")]
    # resumed after the step (12:04:10): the next automatic cycle is on the 12:06 boundary
    assert starts(seen)[2][0] == "12:06:00"


async def test_stop_while_waiting_for_a_boundary_ends_at_once(tmp_path):
    wall = FakeWall(at("2025-10-20 12:00:00"))
    session = live_session(tmp_path, wall, [20], cycles=None)
    wall.when(at("2025-10-20 12:02:00"), session.stop)
    seen = await run(session)
    assert [t for t, _ in starts(seen)] == ["12:00:00"]
    assert isinstance(seen[-1], ev.SessionEnded) and seen[-1].reason == "stopped by the user"


# -- what keeps its old behaviour --------------------------------------------------------------------


def refuse_clock() -> float:
    raise AssertionError("the wall clock was read")


async def refuse_sleep(seconds: float) -> None:
    raise AssertionError("the wall-clock sleep was used")


async def test_the_recorded_market_never_uses_the_wall_clock_schedule(tmp_path):
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"market": {"start": "2025-10-20T00:00:00Z"}, "arena": {"sessions_dir": str(tmp_path)}})
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal=False, max_cycles=3, pace=0, wall_clock=refuse_clock, sleep=refuse_sleep)
    assert not session.wall_clock_cycles
    seen = await run(session)
    assert [e.time for e in seen if isinstance(e, ev.CycleStarted)] == [1760918400000, 1760918700000, 1760919000000]
    # the recorded pace (speed) is still the recorded market's own: no boundaries
    paced = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal=False, max_cycles=1, wall_clock=refuse_clock, sleep=refuse_sleep)
    assert not paced.wall_clock_cycles and paced.pace == cfg.market.speed


async def test_a_live_session_with_a_given_pace_keeps_it(tmp_path):
    # headless passes pace 0: cycles back to back, never waiting for a boundary
    wall = FakeWall(at("2025-10-20 12:00:00"))
    cfg = live_config(tmp_path)
    market = WallMarket(wall, 180_000)
    session = ArenaSession(cfg, market, [ThinkingAgent(wall, [5])], journal=False, max_cycles=3, pace=0, wall_clock=refuse_clock, sleep=refuse_sleep)
    assert not session.wall_clock_cycles
    seen = await run(session)
    assert [t for t, _ in starts(seen)] == ["12:00:00", "12:00:05", "12:00:10"]


def test_the_interval_comes_from_the_market_else_three_minutes():
    class Bare:
        pass

    class Quarter:
        interval_ms = 900_000

    assert market_interval_ms(Bare()) == 180_000 and market_interval_s(Bare()) == 180.0
    assert market_interval_ms(Quarter()) == 900_000 and market_interval_s(Quarter()) == 900.0
    broken = Quarter()
    broken.interval_ms = 0
    assert market_interval_ms(broken) == 180_000


# -- the offline demo's notice -----------------------------------------------------------------------


@pytest.mark.parametrize(("start", "shown"), [(None, "2025-10-17 00:00 UTC"), ("2025-10-20T00:00:00Z", "2025-10-20 00:00 UTC"), ("2025-10-22T13:45:00Z", "2025-10-22 13:45 UTC")])
async def test_the_offline_demo_notice_names_the_sessions_real_start(tmp_path, start, shown):
    market = {"start": start} if start else {}
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"market": market, "arena": {"sessions_dir": str(tmp_path)}})
    assert cfg.offline_demo
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal=False, max_cycles=1, pace=0)
    seen = await run(session)
    first = next(e for e in seen if isinstance(e, ev.CycleStarted))
    texts = notices(seen)
    assert texts[0].startswith(f"Offline demo: bundled Binance market from {shown}, rule-based agents.")
    assert datetime.fromtimestamp(first.time / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC") == shown
    assert "OPENAI_API_KEY" in texts[0] and "ARENA_LOCAL_BASE_URL" in texts[0]


# -- the Sharpe ratio does not depend on the cycle interval --------------------------------------------


def fold_sharpe(interval_ms: int, hourly: list[float], noise: random.Random, *, schema: int = ev.SCHEMA_VERSION):
    """Fold a live session of ``interval_ms`` cycles through ``ArenaState``: the account value is
    ``hourly[h]`` at the last cycle of hour ``h - 1`` (``hourly[0]`` at the first cycle) and noise
    in between. Returns (the fold's Sharpe figure, ``compute_metrics``'s, the hourly returns used)."""
    t0 = 1_760_918_400_000  # 2025-10-20 00:00 UTC
    per_hour = 3_600_000 // interval_ms
    state = ArenaState()
    state.apply(ev.SessionStarted(0, t0, "s", "live", "live:fake", ("BTC",), ({"name": "A", "kind": "llm", "model": "m"},), 10_000.0, interval_ms, {}, schema=schema))
    tracker = EquityTracker(10_000.0)
    for k in range(per_hour * (len(hourly) - 1) + 3):  # ends three cycles into a last, unfinished hour
        t = t0 + k * interval_ms
        h, within = divmod(k, per_hour)
        if k == 0:
            value = hourly[0]
        elif within == per_hour - 1 and h + 1 < len(hourly):
            value = hourly[h + 1]
        else:
            value = hourly[min(h, len(hourly) - 1)] * (1 + noise.uniform(-0.02, 0.02))
        state.apply(ev.CycleStarted(k + 1, t))
        state.apply(ev.AccountUpdated(k + 1, t, "A", value, value, 0.0, 0.0, 0.0, 0.0, 0.0))
        tracker.record(t, AccountSnapshot(10_000.0, value, value, (), 0.0, 0.0, 0.0, 0.0))
    return state.agents["A"].figures, compute_metrics(tracker, ())


def test_the_sharpe_ratio_is_the_same_for_3m_5m_and_15m_cycles_on_the_same_hourly_path():
    rng = random.Random(16)
    hourly = [10_000.0]
    for _ in range(40):
        hourly.append(hourly[-1] * (1 + rng.gauss(0.0005, 0.01)))
    returns = [b / a - 1 for a, b in zip(hourly, hourly[1:])]
    mean = sum(returns) / len(returns)
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    expected = mean / sd * math.sqrt(8760)  # hourly returns, 8,760 hours a year: no interval in it
    assert PERIODS_PER_YEAR == 8760
    assert annualised_sharpe(returns) == pytest.approx(expected, rel=1e-12)
    for interval_ms in (180_000, 300_000, 900_000):
        figures, metrics = fold_sharpe(interval_ms, hourly, random.Random(interval_ms))
        assert figures["sharpe_periods"] == 40 and metrics.sharpe_periods == 40
        assert figures["sharpe"] == pytest.approx(expected, rel=1e-9), interval_ms
        assert metrics.sharpe_annualised == pytest.approx(expected, rel=1e-9), interval_ms
    # were it annualised per cycle (the legacy schema-2 figure), 3m and 15m would differ by sqrt(5) or more
    legacy_3m, _ = fold_sharpe(180_000, hourly, random.Random(1), schema=ev.LEGACY_SHARPE_SCHEMA)
    legacy_15m, _ = fold_sharpe(900_000, hourly, random.Random(1), schema=ev.LEGACY_SHARPE_SCHEMA)
    assert legacy_3m["sharpe"] != pytest.approx(legacy_15m["sharpe"], rel=0.01)
