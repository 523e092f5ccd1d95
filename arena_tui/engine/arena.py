"""The arena: one asyncio cycle over market, indicators, agents, risk and ledgers, emitting events.

One cycle (never two at once)::

    market.snapshot()                       candles closed at or before the clock only
    -> MarketData (what the snapshot holds that earlier ones did not: re-execution's input)
    ledger.settle(candles since last cycle)  stop-loss / take-profit / liquidation, funding
    indicators.compute_features(snapshot)    one fused Numba call for all coins and timeframes
    every agent concurrently, each with its own deadline:
        prompt -> agent.decide(on_delta) -> AgentReplied (its exact answer: re-execution's input;
            a swarm's SwarmVoted, its members' answers and their vote, just before it)
        -> parse -> risk.validate -> ledger.open/close
    ledger.mark(prices) -> AccountUpdated; CycleCompleted with the standings of the state fold

Every event goes through ``bus.Bus``: folded into the one ``state.ArenaState`` first (failures in a
row, halts, the day's starting value, the leaderboard figures are read from there), then journaled
and shown. Given the same ``MarketData`` and ``AgentReplied`` inputs, this code produces the same
events again: that is how a journal is verified (``verify.reexecute``) and resumed.

Each agent's reply is parsed, checked and executed as soon as it arrives (accounts are independent,
so the order changes only the order of events, not a figure). The rule-based agents answer without
waiting, in agent order, so a session over recorded data with them gives the same journal
(wall-clock timing fields aside). A slow or
failing agent holds for the cycle (``AgentFailed``); after ``halt_after_failures`` failed cycles in a
row, or a drawdown past ``halt_drawdown_pct``, it is halted (``AgentHalted``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time as _time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from arena_tui.config import Config
from arena_tui.engine import events as ev
from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.agents.base import Agent, AgentReply, AgentRequest
from arena_tui.engine.errors import MarketError
from arena_tui.engine.decisions import Decision
from arena_tui.engine.bus import Bus
from arena_tui.engine.ledger import FundingPayment, Ledger
from arena_tui.engine.market.base import FundingHistory, MarketSnapshot, MarketSource, timeframe_ms
from arena_tui.engine.parse import ParseError, parse_decisions
from arena_tui.engine.risk import RiskLimits, validate



def risk_limits(config: Config) -> RiskLimits:
    r = config.risk
    return RiskLimits(
        min_leverage=r.min_leverage,
        max_leverage=r.max_leverage,
        min_notional=r.min_notional,
        max_open_positions=r.max_open_positions,
        max_margin_usage=r.max_margin_usage,
        daily_loss_limit_pct=r.daily_loss_limit_pct or None,
        min_confidence=r.min_confidence,
        max_correlated_positions=r.max_correlated_positions,
        correlation_threshold=r.correlation_threshold,
        correlation_window=r.correlation_window,
        coin_max_leverage=tuple(sorted(config.venue.coin_max_leverage.items())),
        allow_adding=r.allow_adding,
        allow_partial_close=r.allow_partial_close,
        allow_reversal=r.allow_reversal,
    )


def make_ledger(config: Config, agent: str | None = None, time: int = 0) -> Ledger:
    """A ledger with the session's starting cash, fees (and their schedule), slippage and the venue's
    maintenance margins; for ``agent`` with an
    ``[agents.account]`` in ``config``, seeded with that account as of ``time`` (ms; the session's
    start: ``Ledger.seed``)."""
    from arena_tui.engine.market.base import parse_time

    fees, venue = config.fees, config.venue
    ledger = Ledger(
        config.arena.starting_cash,
        taker_fee_bp=fees.taker_fee_bp,
        maker_fee_bp=fees.maker_fee_bp,
        slippage_bp=fees.slippage_bp,
        maintenance_margin_rate=venue.maintenance_margin_rate,
        coin_maintenance_margin=venue.coin_maintenance_margin,
        fee_schedule=[(parse_time(t.start), t.taker_fee_bp, t.maker_fee_bp) for t in fees.schedule],
        take_profit_maker=fees.take_profit_maker,
        margin_mode=venue.margin_mode,
    )
    seed = next((a.account for a in config.agents if a.name == agent), None) if agent is not None else None
    if seed is not None:
        ledger.seed(seed, time=time)
    return ledger


def position_rows(snap: AccountSnapshot) -> tuple[ev.PositionRow, ...]:
    """Open positions for ``AccountUpdated``: what the positions table shows (money rounded to 1e-6 USD)."""
    return tuple(
        ev.PositionRow(
            p.coin,
            p.side,
            p.quantity,
            p.entry_price,
            p.mark_price,
            round(p.unrealized_pnl, 6),
            p.leverage,
            round(p.liquidation_price, 6),
            p.stop_loss,
            p.profit_target,
        )
        for p in snap.positions
    )


@dataclass
class AgentState:
    """Per-agent engine bookkeeping: the agent, its ledger (the execution) and the account it was
    prompted with this cycle. Everything derived (figures, failures, halts) is in ``bus.state``."""

    agent: Agent
    ledger: Ledger
    account: AccountSnapshot | None = None
    fell_back_cycle: int = 0
    """The cycle whose ``AgentFellBack`` was emitted as it happened (a ``FallbackAgent`` asking its
    fallback), so that ``_act`` does not emit it again."""


INTRADAY_COLUMNS = ("ema20", "ema50", "rsi7", "rsi14", "macd", "atr14")
"""The intraday timeframe's indicators in a market row (``MarketUpdated``), by their own names."""
CONTEXT_COLUMNS = ("ema20", "ema50", "macd", "rsi14", "atr3", "atr14")
"""The context timeframe's indicators in a market row, named ``<name>_<timeframe>`` (``ema20_4h``)."""


class Arena:
    """Runs cycles and publishes every event on ``bus`` (state fold, journal, screen).

    ``market``: a MarketSource. ``agents``: the competitors, in display order (names unique).
    ``templates``: prompt templates (``prompt.PromptTemplates``) or None for the bundled ones.
    The ``SessionStarted`` header must have been published on ``bus`` before the first cycle.
    """

    def __init__(
        self,
        config: Config,
        market: MarketSource,
        agents: Sequence[Agent],
        bus: Bus,
        *,
        templates=None,
        clock: Callable[[], float] = _time.perf_counter,
    ) -> None:
        self.config = config
        self.market = market
        self.bus = bus
        self.state = bus.state
        self.templates = templates
        self.clock = clock
        self.limits = risk_limits(config)
        self.percent_limits = dataclasses.replace(self.limits, max_position_pct=config.risk.max_position_pct or None)
        """The limits of a percent-format agent: ``max_position_pct`` caps its size (a percent of
        capital, the unit it sizes in); Alpha Arena-format agents keep Season 1's rules."""
        self.formats: dict[str, str] = {a.name: a.format for a in config.agents}
        """Agent name -> its decision format (``AgentConfig.format``); an agent not in the config
        answers in its ``decision_format`` attribute's, else the Alpha Arena format."""
        self._correlations: tuple[int, dict] | None = None  # (snapshot time, risk.return_correlations)
        self.cycle = 0
        self.session_start = market.now
        self.last_settled = market.now
        self.states: dict[str, AgentState] = {a.name: AgentState(a, make_ledger(config, a.name, market.now)) for a in agents}
        self._sent_candles: dict[tuple[str, str], int] = {}
        self._context_rows: dict[str, tuple] = {}  # coin -> (context candles, their row columns)
        self._finest: dict[tuple[str, ...], tuple[str, int]] = {}  # timeframes -> the finest, its ms
        self._sent_funding: dict[str, int] = {}
        self._calls: set[asyncio.Future] = set()
        self._stopping: str | None = None

    def cancel_calls(self) -> int:
        """The session is stopping: cancel the running cycle's market read and model calls. Each
        cancelled model call ends as a "cancelled" failure (the agent holds; the fold does not count
        it as a failure in a row), a cancelled market read as ``MarketFailed``; the cycle then
        completes as usual, so its journal is whole. Returns how many calls were cancelled."""
        self._stopping = "stopping"
        pending = [c for c in self._calls if not c.done()]
        for call in pending:
            call.cancel()
        return len(pending)

    async def _cancellable(self, awaitable):
        """Await ``awaitable`` as a task that ``cancel_calls`` may cancel; returns (result, cancelled).
        A cancellation of the cycle itself (not by ``cancel_calls``) propagates as usual."""
        if self._stopping is not None:
            awaitable.close()
            return None, True
        call = asyncio.ensure_future(awaitable)
        self._calls.add(call)
        try:
            return await call, False
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if call.cancelled() and self._stopping is not None and (task is None or not task.cancelling()):
                return None, True
            raise
        finally:
            self._calls.discard(call)

    def emit(self, event: ev.Event) -> None:
        self.bus.publish(event)

    def replace_agents(self, agents: Sequence[Agent]) -> None:
        """Hand each account to a new agent of the same name (resume: journaled answers, then live)."""
        for a in agents:
            self.states[a.name].agent = a

    # -- the cycle --------------------------------------------------------------------------------

    async def run_cycle(self, trigger: str = "timer") -> None:
        """One full cycle at the market's current clock; never raises for agent or market trouble."""
        t0 = self.clock()
        self.cycle += 1
        now = self.market.now
        cyc = self.cycle
        self.emit(ev.CycleStarted(cyc, now, trigger))
        try:
            snap, cancelled = await self._cancellable(self.market.snapshot())
            if cancelled:
                raise MarketError("the session stopped while the market was being read")
        except MarketError as exc:
            self.emit(ev.MarketFailed(cyc, now, str(exc)))
            self.emit(ev.CycleCompleted(cyc, now, ev.wall_ms((self.clock() - t0) * 1000, 1), self.state.standings()))
            return
        self.emit(ev.MarketData(cyc, now, snap.time, self._market_data(snap)))
        prices = snap.prices()
        self._settle(snap)
        features = await self._features(snap)
        self.emit(ev.MarketUpdated(cyc, now, self._market_rows(snap, features)))
        books = self.state.agents
        active = [s for s in self.states.values() if books[s.agent.name].halted is None]
        for s in active:
            s.ledger.mark(prices)
        if all(getattr(s.agent, "answers_at_once", False) for s in active):
            for s in active:  # each answers at once, never waiting: in turn, with no task to schedule
                await self._ask_and_act(s, snap, features)
        else:
            await asyncio.gather(*(self._ask_and_act(s, snap, features) for s in active))
        for s in self.states.values():
            s.ledger.mark(prices)
            self._account_event(s, now)
            self._check_halt(s, now)
        self.emit(ev.CycleCompleted(cyc, now, ev.wall_ms((self.clock() - t0) * 1000, 1), self.state.standings()))
        self.last_settled = now

    def _market_data(self, snap: MarketSnapshot) -> dict:
        """What ``snap`` holds that no earlier ``MarketData`` did (see ``events.MarketData``)."""
        out = {}
        for coin, cs in snap.coins.items():
            candles = {}
            for tf, c in cs.candles.items():
                key = (coin, tf)
                last = self._sent_candles.get(key)
                n = len(c)
                newest = int(c.ts[-1]) if n else None
                if newest is not None and newest == last:  # nothing new (a coarse timeframe, most cycles)
                    candles[tf] = {"keep": n, "ts": [], "open": [], "high": [], "low": [], "close": [], "volume": []}
                    continue
                a = 0 if last is None else int(c.ts.searchsorted(last, side="right"))
                if n:
                    self._sent_candles[key] = newest
                candles[tf] = {
                    "keep": n,
                    "ts": c.ts[a:].tolist(),
                    "open": c.open[a:].tolist(),
                    "high": c.high[a:].tolist(),
                    "low": c.low[a:].tolist(),
                    "close": c.close[a:].tolist(),
                    "volume": c.volume[a:].tolist(),
                }
            f = cs.funding
            last = self._sent_funding.get(coin)
            nf = len(f)
            newest = int(f.ts[-1]) if nf else None
            if newest is not None and newest == last:  # no new funding time (most cycles)
                funding = {"keep": nf, "interval_ms": int(f.interval_ms), "ts": [], "rate": []}
            else:
                a = 0 if last is None else int(f.ts.searchsorted(last, side="right"))
                if nf:
                    self._sent_funding[coin] = newest
                funding = {"keep": nf, "interval_ms": int(f.interval_ms), "ts": f.ts[a:].tolist(), "rate": f.rate[a:].tolist()}
            out[coin] = {"candles": candles, "funding": funding, "open_interest": cs.open_interest}
            if cs.order_book is not None:  # a live exchange's book; none from a recording (no key)
                out[coin]["order_book"] = cs.order_book.to_json()
        return out

    async def _features(self, snap: MarketSnapshot):
        from arena_tui.engine.indicators import compute_features

        return compute_features(snap)

    def _settle(self, snap: MarketSnapshot) -> None:
        t0, t1 = self.last_settled, snap.time
        if t1 <= t0:
            return
        if not any(s.ledger.positions for s in self.states.values()):
            return  # nothing to walk: no stops, targets, liquidations or funding to settle
        candles, funding = {}, {}
        finest_of = self._finest
        for coin, cs in snap.coins.items():
            tfs = tuple(cs.candles)
            hit = finest_of.get(tfs)
            if hit is None:
                finest = min(tfs, key=timeframe_ms)
                hit = finest_of[tfs] = (finest, timeframe_ms(finest))
            finest, tf = hit
            c = cs.candles[finest]
            # candles that closed in (t0, t1]: close = open + tf, so search the open times at t - tf
            ts = c.ts
            a = int(ts.searchsorted(t0 - tf, side="right"))
            b = int(ts.searchsorted(t1 - tf, side="right"))
            candles[coin] = c.slice(a, b)
            f = cs.funding
            fa = int(f.ts.searchsorted(t0, side="right"))
            fb = int(f.ts.searchsorted(t1, side="right"))
            funding[coin] = FundingHistory(f.ts[fa:fb], f.rate[fa:fb], f.interval_ms)
        for s in self.states.values():
            if not s.ledger.positions:
                continue
            for item in s.ledger.settle(candles, funding):
                if isinstance(item, FundingPayment):
                    self.emit(ev.FundingPaid(self.cycle, item.time, s.agent.name, item.coin, item.rate, item.mark_price, item.amount))
                else:
                    self.emit(self._closed_event(s.agent.name, item))

    def _closed_event(self, agent: str, tr) -> ev.PositionClosed:
        return ev.PositionClosed(
            self.cycle,
            tr.exit_time,
            agent,
            tr.coin,
            tr.side,
            tr.quantity,
            tr.leverage,
            tr.entry_time,
            tr.entry_price,
            tr.exit_price,
            getattr(tr, "exit_reference_price", tr.exit_price),
            tr.entry_fee,
            tr.exit_fee,
            tr.funding_paid,
            tr.realized_pnl,
            tr.net_pnl,
            tr.exit_reason,
        )

    def price_rows(self, snap: MarketSnapshot) -> dict:
        """coin -> {"price", "change_pct", "funding_rate", "open_interest"}: the market rows
        without indicators (``MarketPreview``), from the same code as cycle rows."""
        return self._market_rows(snap, {})

    def _market_rows(self, snap: MarketSnapshot, features) -> dict:
        intr = self.config.market.intraday_timeframe
        ctx = self.config.market.context_timeframe
        first = self.state.first_prices
        header = self.state.header
        schema = header.schema if header is not None and isinstance(header.schema, int) else ev.SCHEMA_VERSION
        rounded = schema >= ev.ROUNDED_CHANGE_SCHEMA  # what the journal's schema records
        rows = {}
        for coin, cs in snap.coins.items():
            f = features.get(coin, {})
            fi, fc = f.get(intr), f.get(ctx)
            base = first.get(coin) if first else None
            row = {
                "price": cs.price,
                "change_pct": _change_pct(cs.price, base, rounded),
                "funding_rate": cs.funding_rate,
                "open_interest": cs.open_interest,
            }
            book = cs.order_book
            if book is not None:  # only when a live exchange's book was read: recorded rows are unchanged
                row["spread_bp"] = _num(book.spread_bp)
                row["bid_depth"] = _num(book.bid_depth)
                row["ask_depth"] = _num(book.ask_depth)
                row["imbalance"] = _num(book.imbalance)
            if fi is not None:
                last = fi.last
                for name in INTRADAY_COLUMNS:
                    row[name] = _num(last(name))
            if fc is not None:
                row.update(self._context_columns(coin, ctx, fc, cs.candles.get(ctx)))
            rows[coin] = row
        return rows

    def _context_columns(self, coin: str, ctx: str, fc, candles) -> dict:
        """The context timeframe's columns of ``coin``'s row, made again only when its candles are
        not the ones they were made from (the recorded market hands out the same window object
        until the next candle closes: 47 of 48 cycles on 4h)."""
        hit = self._context_rows.get(coin)
        if hit is not None and candles is not None and hit[0] is candles:
            return hit[1]
        last = fc.last
        cols = {f"{name}_{ctx}": _num(last(name)) for name in CONTEXT_COLUMNS}
        self._context_rows[coin] = (candles, cols)
        return cols

    async def _ask_and_act(self, s: AgentState, snap: MarketSnapshot, features) -> None:
        """One agent's turn: its answer is parsed, checked and executed as soon as it arrives, so
        the screen shows a fast agent's trades while a slow one is still thinking. An agent that
        answers only at given times (``answers_at``: a recorded agent with timing "once") holds
        without a call, and without an event, in a cycle it has nothing for."""
        answers_at = getattr(s.agent, "answers_at", None)
        if answers_at is not None and not answers_at(snap.time):
            return
        self._act(s, await self._ask(s, snap, features), snap)

    async def _ask(self, s: AgentState, snap: MarketSnapshot, features) -> AgentReply:
        name = s.agent.name
        cyc, now = self.cycle, snap.time
        account = s.account = s.ledger.snapshot()
        system, user = "", ""
        prompted = getattr(s.agent, "kind", "") != "rule-based"
        if prompted and getattr(s.agent, "needs_prompt", True):
            from arena_tui.engine.prompt import build_prompt, templates_for

            rendered = build_prompt(
                snap,
                features,
                account,
                session_start=self.session_start,
                invocation=self.cycle,
                intraday_tf=self.config.market.intraday_timeframe,
                context_tf=self.config.market.context_timeframe,
                templates=templates_for(self.templates, name),  # its own, else the session's
                sharpe_ratio=self.state.agents[name].figures.get("sharpe_per_cycle"),
                max_leverage=self.config.risk.max_leverage,
                taker_fee_bp=s.ledger.fee_bp("taker", now),
                decision_format=self.decision_format(s),
                max_position_pct=self.limits_for(s).max_position_pct,
                min_confidence=self.limits.min_confidence,
            )
            system, user = rendered.system, rendered.user
        request = AgentRequest(cyc, now, system, user, snap, account, features)
        if prompted:  # rule-based agents answer at once
            self.emit(ev.AgentStarted(cyc, now, name))
        clock = getattr(s.agent, "stream_clock", None) or self.clock  # (a recorded agent's virtual pace)
        start = clock()
        bus = self.bus

        def on_delta(kind: str, text: str) -> None:
            if text:
                bus.delta(ev.ReasoningDelta(cyc, now, name, kind, text, ev.wall_ms((clock() - start) * 1000)))

        timeout = getattr(s.agent, "deadline_s", None) or self.config.arena.agent_timeout_s
        try:
            if prompted and getattr(s.agent, "members", None) is not None:  # a SwarmAgent: each member's text apart

                def on_member_delta(member: str, kind: str, text: str) -> None:
                    if text:
                        bus.delta(ev.ReasoningDelta(cyc, now, name, kind, text, ev.wall_ms((self.clock() - start) * 1000), member))

                call = s.agent.decide(request, on_delta, on_member_delta=on_member_delta)
            elif prompted and getattr(s.agent, "fallback", None) is not None:  # a FallbackAgent: say so as it falls back

                def on_fell_back(fb, s=s) -> None:
                    s.fell_back_cycle = cyc
                    bus.flush_deltas(name)  # the primary's text first, then why it is not used
                    self.emit(self._fell_back_event(name, cyc, now, fb))

                call = s.agent.decide(request, on_delta, on_fell_back=on_fell_back)
            else:
                call = s.agent.decide(request, on_delta)
            if getattr(s.agent, "answers_at_once", False):
                # it never waits (a baseline, or a journaled agent whose turn it is): no deadline to arm
                reply = await call
            else:
                async with asyncio.timeout(timeout):
                    # (an agent that is not prompted answers at once: nothing to cancel)
                    reply, cancelled = await self._cancellable(call) if prompted else (await call, False)
                if cancelled:
                    reply = AgentReply(
                        latency_s=self.clock() - start,
                        failure=_failure("cancelled", f"{name}: the session stopped while it was answering; its call was cancelled and it holds this cycle."),
                    )
        except TimeoutError:
            reply = AgentReply(
                latency_s=self.clock() - start,
                failure=_failure("timeout", f"{name}: no answer within {timeout:g} s, holding this cycle."),
            )
        except Exception as exc:  # an agent must never take the arena down
            reply = AgentReply(
                latency_s=self.clock() - start,
                failure=_failure("error", f"{name}: {type(exc).__name__}: {exc}; holding this cycle."),
            )
        bus.flush_deltas(name)
        return reply

    def _act(self, s: AgentState, reply: AgentReply, snap: MarketSnapshot) -> None:
        name, cyc, now = s.agent.name, self.cycle, snap.time
        failure = reply.failure
        fb = reply.fell_back
        if fb is not None and s.fell_back_cycle != cyc:  # (re-execution: emitted with the reply)
            self.emit(self._fell_back_event(name, cyc, now, fb))
        if reply.swarm is not None:  # the members' calls and their vote, before the swarm's answer
            self.emit(self._swarm_event(name, cyc, now, reply.swarm))
        self.emit(
            ev.AgentReplied(
                cyc,
                now,
                name,
                reply.usage.input_tokens,
                reply.usage.output_tokens,
                ev.wall_seconds(reply.ttft_s),
                ev.wall_seconds(reply.latency_s),
                reply.cost_usd,
                reply.finish_reason,
                reply.text,
                failure.kind if failure is not None else None,
                failure.reason if failure is not None else None,
                reply.usage.reasoning_tokens,
                reply.usage.cached_input_tokens,
                reply.answered_by,
                reply.cached,
            )
        )
        if failure is not None:
            self.emit(ev.AgentFailed(cyc, now, name, failure.kind, failure.reason))
            return
        try:
            decisions = self._parse(s, reply.text, snap)
        except ParseError as exc:
            self.emit(ev.AgentFailed(cyc, now, name, "parse", f"{name}: could not read the answer ({exc.reason}); holding this cycle."))
            return
        self.emit(ev.DecisionParsed(cyc, now, name, tuple(_decision_row(d) for d in decisions.values())))
        prices = snap.prices()
        result = validate(
            decisions,
            s.account if s.account is not None else s.ledger.snapshot(),  # unchanged since the prompt
            prices,
            self.limits_for(s),
            taker_fee_bp=s.ledger.fee_bp("taker", now),
            slippage_bp=self.config.fees.slippage_bp,
            day_start_value=self.state.agents[name].day_start_value,
            correlations=self.correlations(snap),
        )
        for rej in result.rejections:
            self.emit(ev.DecisionRejected(cyc, now, name, rej.coin, rej.rule, rej.reason))
        for order in result.orders:
            try:
                done = s.ledger.execute(order, time=now)
            except ValueError as exc:  # the ledger refuses what the risk rules let through: a rejection, never a crash
                self.emit(ev.DecisionRejected(cyc, now, name, order.coin, "ledger", f"{order.coin}: the ledger refused the order ({exc})"))
                continue
            if order.action == "close":
                self.emit(self._fill_event(name, s.ledger.fills[-1], None))
                self.emit(self._closed_event(name, done))
            else:
                self.emit(self._fill_event(name, done, order))

    def decision_format(self, s: AgentState) -> str:
        """The format ``s``'s agent answers in: its config entry's, else its ``decision_format``."""
        return self.formats.get(s.agent.name) or getattr(s.agent, "decision_format", None) or "alpha-arena"

    def limits_for(self, s: AgentState) -> RiskLimits:
        """The risk limits ``s``'s agent trades under (``percent_limits`` for the percent format)."""
        return self.percent_limits if self.decision_format(s) == "percent" else self.limits

    def _parse(self, s: AgentState, text: str, snap: MarketSnapshot):
        """The agent's answer in its format -> decisions (raises ``ParseError``). The percent format is
        sized from the account value the prompt showed and levelled from the cycle's prices."""
        fmt = self.decision_format(s)
        if fmt != "percent":
            return parse_decisions(text, self.market.coins)
        from arena_tui.engine.parse import parse_percent_decisions

        account = s.account if s.account is not None else s.ledger.snapshot()
        return parse_percent_decisions(text, self.market.coins, snap.prices(), account.account_value)

    def correlations(self, snap: MarketSnapshot) -> dict | None:
        """``risk.return_correlations`` of this snapshot's candles (once per snapshot), or None when
        ``max_correlated_positions`` is off."""
        if not self.limits.max_correlated_positions:
            return None
        if self._correlations is None or self._correlations[0] != snap.time:
            from arena_tui.engine.risk import return_correlations, snapshot_closes

            w = self.limits.correlation_window
            self._correlations = (snap.time, return_correlations(snapshot_closes(snap, w), w))
        return self._correlations[1]

    @staticmethod
    def _fell_back_event(agent: str, cycle: int, now: int, fb) -> ev.AgentFellBack:
        """``AgentFellBack`` of ``fb`` (``agents.base.FellBack``): the primary's failed call."""
        p = fb.reply
        pf = p.failure
        return ev.AgentFellBack(
            cycle,
            now,
            agent,
            fb.model,
            pf.kind if pf is not None else "error",
            pf.reason if pf is not None else "",
            fb.fallback,
            p.usage.input_tokens,
            p.usage.output_tokens,
            ev.wall_seconds(p.ttft_s),
            ev.wall_seconds(p.latency_s),
            p.cost_usd,
            p.text,
            p.usage.reasoning_tokens,
            p.usage.cached_input_tokens,
        )

    @staticmethod
    def _swarm_event(agent: str, cycle: int, now: int, vote) -> ev.SwarmVoted:
        """``SwarmVoted`` of ``vote`` (``agents.swarm.SwarmVote``): every member's call and the tally."""
        from arena_tui.engine.agents.swarm import member_row

        return ev.SwarmVoted(
            cycle,
            now,
            agent,
            vote.rule,
            vote.quorum,
            tuple(member_row(b) for b in vote.ballots),
            vote.tally,
            {coin: d.signal for coin, d in vote.result.items()},
        )

    def _fill_event(self, agent: str, fill, order) -> ev.OrderFilled:
        return ev.OrderFilled(
            self.cycle,
            fill.time,
            agent,
            fill.coin,
            fill.action,
            fill.side,
            fill.quantity,
            fill.price,
            fill.reference_price,
            fill.notional,
            fill.fee,
            fill.leverage,
            fill.margin,
            getattr(order, "stop_loss", None),
            getattr(order, "profit_target", None),
            getattr(order, "invalidation_condition", None),
            getattr(order, "confidence", None),
            getattr(order, "risk_usd", None),
            fill.reason,
        )

    def _account_event(self, s: AgentState, now: int) -> None:
        snap = s.ledger.snapshot()
        self.emit(
            ev.AccountUpdated(
                self.cycle,
                now,
                s.agent.name,
                round(snap.cash, 6),
                round(snap.account_value, 6),
                round(snap.realized_pnl, 6),
                round(snap.unrealized_pnl, 6),
                round(snap.fees_paid, 6),
                round(snap.funding_paid, 6),
                round(snap.return_pct, 6),
                position_rows(snap),
            )
        )

    def _check_halt(self, s: AgentState, now: int) -> None:
        book = self.state.agents[s.agent.name]
        if book.halted is not None:
            return
        cfg = self.config.arena
        reason = None
        if cfg.halt_after_failures and book.consecutive_failures >= cfg.halt_after_failures:
            reason = f"{book.name} failed {book.consecutive_failures} cycles in a row; halted for the rest of the session."
        elif cfg.halt_drawdown_pct and book.running.peak > 0:
            dd = (1 - book.account_value / book.running.peak) * 100
            if dd >= cfg.halt_drawdown_pct:
                reason = f"{book.name} is down {dd:.1f}% from its peak (bound {cfg.halt_drawdown_pct:g}%); halted for the rest of the session."
        if reason:
            self.emit(ev.AgentHalted(self.cycle, now, book.name, reason))


_DECISION_KEYS = ("coin", "signal", "quantity", "leverage", "profit_target", "stop_loss", "confidence", "risk_usd", "size_pct")


def _decision_row(d) -> dict:
    """A parsed decision for the journal: its numbers (the justification and invalidation condition
    are in the streamed answer text already)."""
    if type(d) is Decision:  # (its fields are its __dict__: read at once)
        f = d.__dict__
        row = {k: f[k] for k in _DECISION_KEYS if f[k] is not None}
    else:
        row = {k: getattr(d, k) for k in _DECISION_KEYS if getattr(d, k, None) is not None}
    ladder = getattr(d, "take_profit", None)
    if ladder:  # the percent format's take-profit ladder: [[price USD, close fraction], ...]
        row["take_profit"] = [[x if isinstance(x, float) and x == x and abs(x) != float("inf") else None for x in lv] for lv in ladder]
    return row


def _change_pct(price: float, base: float | None, rounded: bool) -> float:
    """Percent change of ``price`` from the session's first price ``base`` (0.0 without one)."""
    if not base:
        return 0.0
    pct = (price / base - 1) * 100
    return round(pct, 6) if rounded else pct


def _num(x: float) -> float | None:
    """An indicator value for display: None for NaN, else 7 significant digits."""
    return None if x is None or x != x else float(f"{x:.7g}")


def _failure(kind: str, reason: str):
    from arena_tui.engine.agents.base import AgentFailure

    return AgentFailure(kind, reason)
