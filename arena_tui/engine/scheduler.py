"""``ArenaSession``: the live/recorded ``Session`` the screen and the headless runner drive.

It owns the arena, the journal and the schedule: a cycle every ``speed`` wall seconds on the recorded
market (0 = as fast as possible); live, on the boundaries of the wall clock (UTC) every cycle interval
(``wall_clock_cycles``): at :00, :03, :06 ... with 3-minute cycles, whatever the last cycle took. A
cycle still running at a boundary skips it (never two at once) and says so with a journaled
``Notice``. ``cycle_now()`` triggers one at once (a trigger during a cycle is coalesced into the next
and reported); the next automatic one stays on the grid. ``pause()``/``resume()``; ``stop()`` ends
after the running cycle with the journal fsynced.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import time as _time
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable, Sequence

from arena_tui import __version__
from arena_tui.config import Config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import Agent
from arena_tui.engine.arena import Arena
from arena_tui.engine.bus import Bus
from arena_tui.engine.errors import MarketError, MarketExhausted
from arena_tui.engine.journal import JournalWriter
from arena_tui.engine.market.base import MarketSource
from arena_tui.engine.state import ArenaState
from arena_tui.logs import log_hint

_log = logging.getLogger(__name__)

def offline_hint(start_ms: int) -> str:
    """The offline demo's opening notice: where its market starts (``start_ms``, epoch ms: the first
    cycle's clock, shown as ``YYYY-MM-DD HH:MM UTC``) and how to add LLM agents."""
    return (
        f"Offline demo: bundled Binance market from {_utc(start_ms, '%Y-%m-%d %H:%M')} UTC, rule-based agents. "
        "Press A to watch Alpha Arena Season 1's six real models think and trade (Oct 28 2025). For LLMs set OPENAI_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY or ARENA_LOCAL_BASE_URL "
        "(Ollama/vLLM/llama.cpp), or run --init-config."
    )


def _records_credit(config) -> str | None:
    """The opening notice of a session replaying the bundled Alpha Arena Season 1 records (``season1``):
    what it is and where the records come from; None for any other session."""
    from arena_tui import season1

    if not any(a.kind == "recorded" and a.path == season1.BUNDLED_PATH for a in config.agents):
        return None
    return (
        "Alpha Arena Season 1, Oct 28 2025: the six models' real answers at their real times, from the "
        f"accounts their first prompt of the day states, over the bundled Binance market. Source: {season1.SOURCE}."
    )


def _utc(ms: float, fmt: str = "%H:%M") -> str:
    """Epoch ms -> ``fmt`` of that UTC time."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime(fmt)


GROUP_SYNC_S = 0.25


class RunOutcome:
    """What one run of a session achieved, counted from its events (a resumed journal's earlier
    runs are not counted): market reads answered and failed, agent answers parsed and failures
    (a "cancelled" call is the user's stop, not a failure). ``problem()`` is the sentence behind a
    non-zero exit when the run achieved nothing."""

    def __init__(self) -> None:
        self.cycles = 0
        self.market_answers = 0
        self.market_failures = 0
        self.last_market_failure = ""
        self.answers = 0
        self.agent_failures = 0
        self.last_agent_failure = ""

    def __call__(self, e: ev.Event) -> None:
        if isinstance(e, ev.MarketData):
            self.market_answers += 1
        elif isinstance(e, ev.MarketFailed):
            self.market_failures += 1
            self.last_market_failure = e.reason
        elif isinstance(e, ev.DecisionParsed):
            self.answers += 1
        elif isinstance(e, ev.AgentFailed) and e.kind != "cancelled":
            self.agent_failures += 1
            self.last_agent_failure = e.reason
        elif isinstance(e, ev.CycleCompleted):
            self.cycles += 1

    def problem(self) -> str | None:
        """"The market never answered ..." or "Every agent failed ..." (one sentence), else None."""
        if self.market_failures and not self.market_answers:
            n = self.market_failures
            return f"The market never answered ({n} cycle{'s' if n != 1 else ''}); last: {self.last_market_failure}"
        if self.agent_failures and not self.answers:
            n = self.agent_failures
            return f"Every agent failed every time it was asked ({n} failure{'s' if n != 1 else ''}); last: {self.last_agent_failure}"
        return None


class ArenaSession:
    """A running paper session. ``journal_path`` None -> a new ``<sessions_dir>/<UTC timestamp>-<name>.jsonl``
    (unique); an existing path is refused. ``journal=False`` writes none. ``max_cycles`` stops after
    that many cycles (None = until the data ends or ``stop()``). ``pace`` overrides the wall seconds
    between cycles (0 = no waiting; live, any given pace replaces the wall-clock boundaries with that
    many seconds after each cycle ends). ``resume``: a ``verify.VerifyResult`` of the journal at
    ``journal_path``, re-executed to its cut: the session continues from its arena and state and
    appends to that journal.

    Live with no ``pace`` (``wall_clock_cycles``): cycle 1 starts at once, every later automatic one
    on a boundary of the wall clock, a whole multiple of the market's ``interval_ms`` since the epoch
    (UTC: :00, :03, :06 ... for 3 minutes, :00, :15 ... for 15). ``wall_clock`` (seconds since the
    epoch, default ``time.time``) and ``sleep`` (awaits that many seconds, default ``asyncio.sleep``)
    are that schedule's clock and wait; tests pass fakes. The recorded market never uses them.

    ``state`` is the session's ``ArenaState``: every event is folded into it before any listener sees it.
    """

    def __init__(
        self,
        config: Config,
        market: MarketSource,
        agents: Sequence[Agent],
        *,
        journal_path: str | os.PathLike[str] | None = None,
        journal: bool = True,
        max_cycles: int | None = None,
        pace: float | None = None,
        resume=None,
        templates=None,
        background_warmup: bool = False,
        wall_clock: Callable[[], float] = _time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.market = market
        self.agents = list(agents)
        self.mode = "live" if config.market.source == "live" else "recorded"
        self.name = config.arena.name
        self.max_cycles = max_cycles
        self.wall_clock_cycles = self.mode == "live" and pace is None
        """Live with no pace given: cycles start on the wall clock's interval boundaries."""
        self.interval_s = market_interval_s(market)
        """The cycle interval (seconds): the market's ``interval_ms``, 180 s when it has none."""
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._next_wall: float | None = None  # the boundary the next automatic cycle waits for (wall s)
        self._last_run: tuple[float, float] | None = None  # the last cycle's wall start and end (s)
        if pace is None:
            pace = config.market.speed if self.mode == "recorded" else market_interval_s(market)
        self.pace = float(pace)
        if self.pace == 0:  # as fast as possible: recorded text keeps its reading pace on a virtual clock
            for a in self.agents:
                if callable(getattr(a, "pace_virtually", None)):
                    a.pace_virtually()
        self._paused = False
        self._stop = False
        self._stop_event: asyncio.Event | None = None  # made in run(), on the session's loop
        self.stop_reason = "stopped by the user"
        self.cancelled_calls = 0
        """Model calls and market reads that ``stop()`` cancelled."""
        self._trigger: asyncio.Event | None = None  # made in run(), on the session's loop
        self._manual_pending = False
        self._running_cycle = False
        self._next_at: float | None = None
        self._resume = resume
        self.background_warmup = background_warmup
        if templates is None and any(getattr(a, "kind", "") != "rule-based" for a in agents):
            templates = load_templates(config, self.agents)
        self.templates = templates
        """The prompt templates: ``prompt.PromptTemplates`` (every agent the session's), or
        ``prompt.AgentPrompts`` when agents have their own (``system_prompt``/``user_prompt``)."""
        self.answer_cache = None
        """The answer cache (``agents.cache.AnswerCache``) when ``[arena] answer_cache`` is on."""
        if config.arena.answer_cache:
            self.answer_cache = attach_answer_cache(config, self.agents, self.mode)
        self._journal = journal
        self._journal_path = Path(journal_path) if journal_path else None
        self.journal_path: Path | None = self._journal_path
        """The journal being written (known once ``run`` has created it)."""
        self._writer: JournalWriter | None = None
        self._last_sync = 0.0
        if resume is not None:
            self.bus: Bus = resume.reexecution.bus
            self.arena: Arena | None = resume.reexecution.arena
        else:
            self.bus = Bus(ArenaState())
            self.arena = None
        self.state: ArenaState = self.bus.state
        self.cycles_run = 0
        self.outcome = RunOutcome()
        """What this run achieved (``RunOutcome``): the CLI's exit status comes from it."""

    # -- Session protocol ----------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    def next_cycle_in(self) -> float | None:
        """Seconds until the next automatic cycle, or None (paused, a cycle running, none planned)."""
        if self.wall_clock_cycles:
            if self._paused or self._next_wall is None:
                return None
            return max(0.0, self._next_wall - self._wall_clock())
        if self._paused or self._next_at is None:
            return None
        return max(0.0, self._next_at - _time.monotonic())

    def _cycle(self) -> int:
        return self.arena.cycle if self.arena is not None else 0

    def cycle_now(self) -> None:
        """Ask for a cycle now. During a cycle the request is coalesced (one more cycle after it).
        While paused it runs exactly one cycle and the session stays paused (a step)."""
        self._manual_pending = True
        if self._running_cycle:
            self.bus.publish(ev.TriggerCoalesced(self._cycle(), self.market.now, "manual"))
        self._wake()

    def pause(self) -> None:
        if not self._paused:
            self._paused = True
            self.bus.publish(ev.SessionPaused(self._cycle(), self.market.now, "user"))

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self.bus.publish(ev.SessionResumed(self._cycle(), self.market.now, "user"))
            self._wake()

    def stop(self, reason: str = "stopped by the user") -> None:
        """Stop now: no new cycle starts; a running cycle's market read and model calls are
        cancelled (each agent then holds with a "cancelled" failure) and the cycle completes, so the
        journal ends whole, with ``SessionEnded(reason)``. An indicator compile in progress is
        abandoned (its child process killed). Safe to call more than once and from a signal handler
        on the session's loop."""
        if not self._stop:
            self.stop_reason = reason
        self._stop = True
        if self._stop_event is not None:
            self._stop_event.set()
        if self._running_cycle and self.arena is not None:
            self.cancelled_calls += self.arena.cancel_calls()
        self._wake()

    # -- running -------------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._trigger is not None:
            self._trigger.set()

    def header(self) -> ev.SessionStarted:
        return ev.SessionStarted(
            0,
            self.market.now,
            self.name,
            self.mode,
            self.market.name,
            tuple(self.market.coins),
            tuple(self._header_agent(a) for a in self.agents),
            self.config.arena.starting_cash,
            market_interval_ms(self.market),
            self.config.to_json(),
            app_version=__version__,
            started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def _header_agent(self, a: Agent) -> dict:
        """An agent in the header: name, kind, model and, for an agent prompted with templates,
        which ones (``PromptTemplates.header_fields``: their label and SHA-256, never the text)."""
        out = {"name": a.name, "kind": a.kind, "model": getattr(a, "model", "")}
        if self.templates is not None and _prompted(a):
            from arena_tui.engine.prompt import templates_for

            tpl = self._agent_templates(a.name)
            if tpl is not None:
                out.update(tpl.header_fields())
        return out

    def _agent_templates(self, name: str):
        """The templates agent ``name`` is prompted with, as ``Arena._ask`` renders them: its own or
        the session's, in its decision format (``PromptTemplates.for_format``)."""
        from arena_tui.engine.prompt import templates_for

        tpl = templates_for(self.templates, name)
        if tpl is None:
            return None
        entry = next((a for a in self.config.agents if a.name == name), None)
        agent = next((a for a in self.agents if a.name == name), None)
        fmt = getattr(entry, "format", None) or getattr(agent, "decision_format", None) or "alpha-arena"
        for_format = getattr(tpl, "for_format", None)
        return for_format(fmt) if for_format is not None else tpl

    def _prompt_changes(self, header: ev.SessionStarted) -> list[str]:
        """Resume: the agents whose templates' text differs from what the header recorded."""
        if self.templates is None:
            return []
        changed = []
        for a in header.agents:
            if not isinstance(a, dict) or not isinstance(a.get("prompt_sha256"), str):
                continue
            tpl = self._agent_templates(str(a.get("name")))
            if tpl is not None and tpl.digest != a["prompt_sha256"]:
                changed.append(str(a.get("name")))
        return changed

    def _open_journal(self, header: ev.SessionStarted) -> None:
        if not self._journal:
            return
        if self._resume is not None:
            assert self._journal_path is not None
            self._writer = JournalWriter.append(self._journal_path, truncate_at=self._resume.resume_offset)
        elif self._journal_path is not None:
            self._writer = JournalWriter.create(self._journal_path, header)
        else:
            self._writer = JournalWriter.create_unique(Path(self.config.arena.sessions_dir), self.name, header)
        self.journal_path = self._writer.path
        _log.info("session %s: journal %s", self.name, self.journal_path)
        if self._resume is not None and self._resume.reexecution is not None:
            self._writer.last_cycle = self._resume.reexecution.arena.cycle

    async def run(self, sink: Callable[[ev.Event], None]) -> None:
        """Run until ``stop()``, ``max_cycles`` or the end of the recorded data; every event is
        folded into ``state``, journaled and passed to ``sink`` (a plain callable that must not block)."""
        if self._trigger is None:
            self._trigger = asyncio.Event()
        if self._stop_event is None:
            self._stop_event = asyncio.Event()
            if self._stop:
                self._stop_event.set()
        resumed = self._resume is not None
        header = self._resume.header if resumed else self.header()
        self._open_journal(header)
        bus = self.bus
        bus.journal = self._writer
        bus.listeners = [self.outcome, sink]
        if resumed:
            arena = self.arena
            assert arena is not None
            arena.market = self.market
            arena.replace_agents(self.agents)
            arena.templates = self.templates
            sink(header)
            r = self._resume
            note = f"resumed after cycle {arena.cycle}"
            if r.partial_cycle is not None:
                note += f"; cycle {r.partial_cycle} was cut off ({r.partial_events} events, kept beside the journal) and runs again"
            bus.publish(ev.SessionResumed(arena.cycle, self.market.now, note))
            changed = self._prompt_changes(header)
            if changed:
                who = ", ".join(changed)
                bus.publish(ev.Notice(arena.cycle, self.market.now, "warning",
                                      f"The prompt templates of {who} changed since the session started; later cycles use the new text."))
        else:
            bus.state.apply(header)
            sink(header)
            self.arena = arena = Arena(self.config, self.market, self.agents, bus, templates=self.templates)
        if self.config.offline_demo:
            # the header's clock is the market's at the session's start: cycle 1's time
            bus.publish(ev.Notice(0, self.market.now, "info", offline_hint(header.time)))
        elif not resumed and (credit := _records_credit(self.config)) is not None:
            bus.publish(ev.Notice(0, self.market.now, "info", credit))
        if self.background_warmup and not self._stop:
            await self._preview_market(arena)
        await self._prepare_indicators()
        await self._warm_up_agents()
        first = arena.cycle == 0
        end_reason: str | None = None
        try:
            while not self._stop:
                if self.max_cycles is not None and self.cycles_run >= self.max_cycles:
                    end_reason = f"ran the {self.max_cycles} cycle{'' if self.max_cycles == 1 else 's'} asked for"
                    break
                if not first:
                    await (self._wait_for_boundary() if self.wall_clock_cycles else self._wait_for_next())
                    if self._stop:
                        break
                    try:
                        await self.market.advance()
                    except MarketExhausted as exc:
                        end_reason = str(exc)
                        break
                first = False
                trigger = "manual" if self._manual_pending else ("headless" if self.pace == 0 else "timer")
                self._manual_pending = False
                self._running_cycle = True
                started = self._wall_clock() if self.wall_clock_cycles else 0.0
                try:
                    await arena.run_cycle(trigger)
                finally:
                    self._running_cycle = False
                if self.wall_clock_cycles:
                    self._last_run = (started, self._wall_clock())
                self.cycles_run += 1
                if self._writer is not None:
                    self._sync_journal()
        except Exception as exc:
            if self._writer is None or self._writer.error is None:
                _log.error("session %s ended by an unexpected error", self.name, exc_info=True)
                end_reason = f"ended by an unexpected error ({type(exc).__name__}); {log_hint()}"
            raise
        finally:
            writer = self._writer
            failed = writer.error if writer is not None else None
            if failed is not None:
                # the journal cannot be written (a full disk): it ends at its last whole line and is
                # closed; the end goes to the screen only, and the error is raised once, below
                bus.journal = None
                end_reason = str(failed)
            elif end_reason is None:
                end_reason = self.stop_reason
                if self.cancelled_calls:
                    n = self.cancelled_calls
                    end_reason += f" ({n} call{'s' if n != 1 else ''} in flight cancelled; those agents held that cycle)"
            _log.info("session %s ended after cycle %d: %s", self.name, arena.cycle, end_reason)
            try:
                bus.flush_deltas()
                bus.publish(ev.SessionEnded(arena.cycle, self.market.now, end_reason, arena.cycle))
                if writer is not None:
                    writer.close()
            finally:
                await self._close_sources()
        if self._writer is not None and self._writer.error is not None:
            raise self._writer.error  # a failure an agent's own error handling swallowed

    async def _close_sources(self) -> None:
        """Close the market and the agents' clients."""
        await self.market.close()
        for a in self.agents:
            closer = getattr(a, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # closing an SDK client must not hide the session's end
                    pass

    def _sync_journal(self) -> None:
        """fsync at the end of every cycle; when cycles run back to back (pace 0, headless) the
        fsyncs are grouped to at most one per ``GROUP_SYNC_S`` of wall time. Every event is still
        flushed to the OS as it is written, so a crashed process loses nothing; only a power cut
        could lose the last quarter second."""
        now = _time.monotonic()
        if self.pace > 0 or now - self._last_sync >= GROUP_SYNC_S:
            assert self._writer is not None
            self._writer.sync()
            self._last_sync = now

    async def _preview_market(self, arena: Arena) -> None:
        """For the screen: the prices the session starts from, at once, before the indicators are
        compiled or loaded (``MarketPreview``; no Numba involved). A market that cannot be read
        yet shows nothing early; cycle 1 reports the failure as usual."""
        try:
            snap = await self.market.snapshot()
        except MarketError:
            return
        except Exception:  # a preview must never stop a session from starting
            _log.warning("session %s: no price preview", self.name, exc_info=True)
            return
        self.bus.show(ev.MarketPreview(arena.cycle, self.market.now, arena.price_rows(snap)))

    async def _prepare_indicators(self) -> None:
        """For the screen: compile or load the Numba kernels without stalling the UI loop. A child
        process fills the cache with the kernels a cycle needs (``warm_up("cycle")``; it holds no GIL
        of ours; benchmarks/indicators.py measures the cold compile), then they are loaded in a
        thread. Says so on screen when it takes a while."""
        if not self.background_warmup:
            _load_indicators()  # headless: load (or compile) here, before cycle 1's clock starts
            return
        t0 = _time.monotonic()
        announced = False
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WARMUP_CHILD,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                # The clock for "Compiling" starts once the child has imported Numba: on a loaded
                # machine that import alone can pass 1.5 s, and a warm start then only loads the cache.
                assert proc.stdout is not None
                await self._unless_stopped(proc.stdout.readline())
                if not self._stop and not await self._unless_stopped(proc.wait(), WARMUP_ANNOUNCE_S):
                    announced = True
                    self.bus.show(ev.Progress(0, self.market.now, "indicators", WARMUP_NOTICE))
                    await self._unless_stopped(proc.wait())
            finally:
                if proc.returncode is None:  # stopped (or cancelled) mid-compile: the child goes too
                    proc.kill()
                    await asyncio.shield(proc.wait())
        except OSError:
            pass  # no child process: the kernels compile in this process on first use instead
        if self._stop:
            return  # nothing to compute: loading (or compiling) the kernels now would only delay the exit
        await asyncio.to_thread(_load_indicators)
        if announced:
            took = _time.monotonic() - t0
            self.bus.show(ev.Progress(0, self.market.now, "indicators", f"Indicators compiled in {took:.0f} s and cached for later starts.", done=True))

    async def _unless_stopped(self, awaitable, timeout: float | None = None) -> bool:
        """Await ``awaitable`` until it is done (True), or ``stop()`` or ``timeout`` s come first
        (False; the awaitable is cancelled)."""
        assert self._stop_event is not None
        task = asyncio.ensure_future(awaitable)
        stopped = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({task, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                task.cancel()
        return task.done() and not task.cancelled()

    async def _warm_up_agents(self) -> None:
        """Import the SDKs once, one after the other (agents importing the same SDK concurrently see
        it partially initialised), then build the agents' clients, before the first cycle (off the
        deadline of cycle 1)."""
        if self._stop:
            return
        sdks = [a.sdk_name for a in self.agents if getattr(a, "sdk_name", None)]
        if sdks:
            from arena_tui.engine.agents.llm import import_sdks

            for name, sentence in (await import_sdks(sdks)).items():
                self.bus.publish(ev.Notice(0, self.market.now, "warning", sentence))
        warm = [a.warm_up() for a in self.agents if hasattr(a, "warm_up")]
        if warm:
            results = await asyncio.gather(*warm, return_exceptions=True)
            for a, r in zip([a for a in self.agents if hasattr(a, "warm_up")], results):
                if isinstance(r, Exception):
                    self.bus.publish(ev.Notice(0, self.market.now, "warning", f"{a.name}: could not prepare its client ({r}); it will retry each cycle."))

    async def _wait_for_next(self) -> None:
        """Wait for the pace, a manual trigger, resume or stop."""
        assert self._trigger is not None
        while not self._stop:
            if self._manual_pending:  # "cycle now" runs one cycle even while paused (a step)
                self._next_at = None
                return
            if self._paused:
                self._next_at = None
                self._trigger.clear()
                await self._trigger.wait()
                continue
            if self.pace <= 0:
                await asyncio.sleep(0)
                return
            if self._next_at is None:
                self._next_at = _time.monotonic() + self.pace
            delay = self._next_at - _time.monotonic()
            if delay <= 0:
                self._next_at = None
                return
            self._trigger.clear()
            try:
                await asyncio.wait_for(self._trigger.wait(), delay)
            except TimeoutError:
                pass

    # -- live: wall-clock boundaries --------------------------------------------------------------

    def next_boundary(self, t: float) -> float:
        """The first cycle boundary at or after ``t`` (wall seconds since the epoch): a whole multiple
        of ``interval_s``, so boundaries fall on the UTC clock (:00, :03 ... for 3 minutes)."""
        return math.ceil(t / self.interval_s) * self.interval_s

    def skipped_boundaries(self, started: float, ended: float) -> list[float]:
        """The boundaries a cycle running from ``started`` to ``ended`` (wall s) made the schedule skip:
        those strictly after its start and strictly before its end (a cycle ending exactly on a
        boundary lets that boundary's cycle start). Oldest first; empty when it ended in time."""
        first = (math.floor(started / self.interval_s) + 1) * self.interval_s
        n = round((self.next_boundary(ended) - first) / self.interval_s)
        return [first + i * self.interval_s for i in range(max(0, n))]

    def _announce_skips(self) -> None:
        """After a cycle that ran through one or more boundaries: journal a ``Notice`` saying which
        were skipped and why. Not while paused or stopping (no boundary would start then anyway)."""
        last, self._last_run = self._last_run, None
        if last is None or self._paused or self._stop:
            return
        started, ended = last
        skipped = self.skipped_boundaries(started, ended)
        if not skipped:
            return
        times = [_utc(b * 1000) for b in skipped]
        if len(times) == 1:
            which = f"the {times[0]} UTC cycle"
        elif len(times) == 2:
            which = f"the {times[0]} and {times[1]} UTC cycles"
        else:
            which = f"the {len(times)} cycles from {times[0]} to {times[-1]} UTC"
        then = f"the next starts at {_utc(self.next_boundary(ended) * 1000)} UTC"
        if self._manual_pending:
            then = f"the cycle asked for meanwhile starts now, {then}"
        text = f"Skipped {which}: cycle {self._cycle()} was still running (it took {_duration(ended - started)}); {then}."
        self.bus.publish(ev.Notice(self._cycle(), self.market.now, "warning", text))

    async def _wait_for_boundary(self) -> None:
        """Live: wait for the next wall-clock boundary, a manual trigger, resume or stop. After a
        pause or a manual cycle the next boundary is the first one still ahead. Sleeps at most
        ``MAX_SLEEP_S`` at a time, rereading the wall clock (a suspended laptop wakes on time)."""
        assert self._trigger is not None
        self._announce_skips()
        while not self._stop:
            if self._manual_pending:  # "cycle now" runs one cycle even while paused (a step)
                self._next_wall = None
                return
            if self._paused:
                self._next_wall = None
                self._trigger.clear()
                await self._trigger.wait()
                continue
            now = self._wall_clock()
            if self._next_wall is None:
                self._next_wall = self.next_boundary(now)
            delay = self._next_wall - now
            if delay <= 0:
                self._next_wall = None
                return
            self._trigger.clear()
            await self._sleep_or_wake(min(delay, MAX_SLEEP_S))

    async def _sleep_or_wake(self, seconds: float) -> None:
        """``sleep(seconds)``, cut short by a command (``_wake``)."""
        assert self._trigger is not None
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        woken = asyncio.ensure_future(self._trigger.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, woken):
                if not task.done():
                    task.cancel()


def _prompted(agent: Agent) -> bool:
    """Whether the arena builds a prompt for ``agent`` (as ``Arena._ask`` decides)."""
    return getattr(agent, "kind", "") != "rule-based" and bool(getattr(agent, "needs_prompt", True))


def load_templates(config: Config, agents: Sequence[Agent]):
    """The session's prompt templates, loaded once: the ``[arena]`` ones (default: bundled) and,
    for each agent whose config entry sets ``system_prompt`` or ``user_prompt``, its own (a part it
    leaves empty is the session's). Returns a ``prompt.PromptTemplates`` when no agent has its own,
    else a ``prompt.AgentPrompts``. Raises ``ConfigError``, one sentence naming the file and the
    key (``agent 'GPT' user_prompt`` for an agent's), when a template cannot be read or uses a
    field that does not exist."""
    from arena_tui.engine.prompt import AgentPrompts, PromptTemplates

    ar = config.arena
    default = PromptTemplates.load(ar.system_prompt or None, ar.user_prompt or None)
    entries = {a.name: a for a in config.agents}
    own: dict[str, PromptTemplates] = {}
    loaded: dict[tuple[str, str], PromptTemplates] = {}
    for agent in agents:
        a = entries.get(agent.name)
        if a is None or not (a.system_prompt or a.user_prompt) or not _prompted(agent):
            continue
        paths = (a.system_prompt or ar.system_prompt, a.user_prompt or ar.user_prompt)
        keys = {
            "system": f"agent '{a.name}' system_prompt" if a.system_prompt else "[arena] system_prompt",
            "user": f"agent '{a.name}' user_prompt" if a.user_prompt else "[arena] user_prompt",
        }
        tpl = loaded.get(paths)
        if tpl is None:
            tpl = PromptTemplates.load(paths[0] or None, paths[1] or None, keys=keys)
            loaded[paths] = tpl
        own[a.name] = tpl
    return AgentPrompts(default, own) if own else default


def attach_answer_cache(config: Config, agents: Sequence[Agent], mode: str):
    """``[arena] answer_cache``: an ``agents.cache.AnswerCache`` in ``answer_cache_dir`` (default:
    the user cache directory), handed to every LLM agent of the session that answers on its own (a
    fallback's or a swarm's models always ask: the journal marks every cached answer, and those
    journal their calls elsewhere). Refused for a live market (``ConfigError``, one sentence)."""
    from arena_tui.engine.agents.cache import AnswerCache
    from arena_tui.engine.errors import ConfigError

    if mode == "live":
        raise ConfigError(
            'arena.answer_cache works on the recorded market only (a live market never repeats a prompt): '
            'set it to false for market.source = "live".'
        )
    cache = AnswerCache(config.arena.answer_cache_dir or None)
    cache.check()
    for a in agents:
        if hasattr(a, "answer_cache"):
            a.answer_cache = cache
    return cache


MAX_SLEEP_S = 30.0
"""Live: the longest single sleep while waiting for a boundary (the wall clock is reread after it)."""


def _duration(seconds: float) -> str:
    """``"40 s"``, ``"3 min 40 s"``, ``"1 h 5 min"``: a duration in whole seconds, for people."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, s = divmod(s, 60)
        return f"{m} min {s} s" if s else f"{m} min"
    h, rest = divmod(s, 3600)
    m = rest // 60
    return f"{h} h {m} min" if m else f"{h} h"


WARMUP_CHILD = (
    "import sys\n"
    "from arena_tui.engine.indicators import warm_up\n"
    "print('imported', flush=True)\n"
    "sys.stdout.close()\n"
    "warm_up('cycle')\n"
)
"""The child that fills the Numba cache: it says when its imports are done, then compiles or loads."""
WARMUP_ANNOUNCE_S = 1.5
"""A kernel load that takes longer than this once Numba is imported is a compile: the screen says so."""
WARMUP_NOTICE = "Compiling the indicators for cycle 1 (first start only; later starts load them from the cache)."


def _load_indicators() -> None:
    from arena_tui.engine.indicators import warm_up

    warm_up("cycle")  # the fused kernel: all a cycle computes


def market_interval_ms(market: MarketSource) -> int:
    """The market's cycle interval (ms): its ``interval_ms`` (the recorded market's and, from the
    config's ``market.interval``, the live one's), else 180,000 (3 minutes, Alpha Arena's)."""
    ms = getattr(market, "interval_ms", None)
    return int(ms) if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms > 0 else 180_000


def market_interval_s(market: MarketSource) -> float:
    """``market_interval_ms`` in seconds."""
    return market_interval_ms(market) / 1000.0
