"""The arena: one asyncio cycle over market, indicators, agents, risk and ledgers, emitting events.

One cycle (never two at once)::

    market.snapshot()                       candles closed at or before the clock only
    ledger.settle(candles since last cycle)  stop-loss / take-profit / liquidation, funding
    indicators.compute_features(snapshot)    one fused Numba call for all coins and timeframes
    every agent concurrently, each with its own deadline:
        prompt -> agent.decide(on_delta) -> parse -> risk.validate -> ledger.open/close
    ledger.mark(prices) -> metrics -> AccountUpdated, CycleCompleted

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
import math
import time as _time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Sequence

import numpy as np

from arena_tui.config import Config
from arena_tui.engine import events as ev
from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.agents.base import Agent, AgentReply, AgentRequest
from arena_tui.engine.errors import MarketError
from arena_tui.engine.journal import DeltaCoalescer
from arena_tui.engine.ledger import FundingPayment, Ledger
from arena_tui.engine.market.base import MarketSnapshot, MarketSource, timeframe_ms
from arena_tui.engine.metrics import YEAR_MS, RunningMetrics
from arena_tui.engine.parse import ParseError, parse_decisions
from arena_tui.engine.risk import RiskLimits, validate

BENCHMARK_NAME = "BTC buy & hold"


def session_file_name(name: str, now: datetime | None = None) -> str:
    """``<UTC timestamp>-<name>.jsonl``, the default journal file name."""
    now = now or datetime.now(timezone.utc)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "session"
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe}.jsonl"


def risk_limits(config: Config) -> RiskLimits:
    r = config.risk
    return RiskLimits(
        min_leverage=r.min_leverage,
        max_leverage=r.max_leverage,
        min_notional=r.min_notional,
        max_open_positions=r.max_open_positions,
        max_margin_usage=r.max_margin_usage,
        daily_loss_limit_pct=r.daily_loss_limit_pct or None,
    )


def make_ledger(config: Config | dict) -> Ledger:
    """A ledger with the session's starting cash, fees and slippage (from a Config or its JSON form)."""
    if isinstance(config, Config):
        fees, cash = config.fees, config.arena.starting_cash
        return Ledger(cash, taker_fee_bp=fees.taker_fee_bp, maker_fee_bp=fees.maker_fee_bp, slippage_bp=fees.slippage_bp)
    fees = config.get("fees", {})
    return Ledger(
        float(config.get("arena", {}).get("starting_cash", 10_000.0)),
        taker_fee_bp=float(fees.get("taker_fee_bp", 4.5)),
        maker_fee_bp=float(fees.get("maker_fee_bp", 1.5)),
        slippage_bp=float(fees.get("slippage_bp", 0.0)),
    )


def position_rows(snap: AccountSnapshot) -> tuple[dict, ...]:
    """Open positions for ``AccountUpdated``: what the positions table shows (money rounded to 1e-6 USD;
    ``mark_price`` exact, since replay marks to it)."""
    return tuple(
        {
            "coin": p.coin,
            "side": p.side,
            "quantity": p.quantity,
            "entry_price": p.entry_price,
            "mark_price": p.mark_price,
            "unrealized_pnl": round(p.unrealized_pnl, 6),
            "leverage": p.leverage,
            "liquidation_price": round(p.liquidation_price, 6),
            "stop_loss": p.stop_loss,
            "profit_target": p.profit_target,
        }
        for p in snap.positions
    )


@dataclass
class AgentState:
    """Per-agent bookkeeping inside the arena."""

    agent: Agent
    ledger: Ledger
    running: RunningMetrics
    figures: dict = field(default_factory=dict)
    account: AccountSnapshot | None = None
    consecutive_failures: int = 0
    halted: str | None = None
    day_start_value: float = 0.0
    day: int = -1


@dataclass
class BenchmarkState:
    """BTC buy-and-hold over the same window: the starting cash in BTC at the first cycle's price."""

    starting_cash: float
    entry_price: float | None = None
    last: float | None = None
    running: RunningMetrics = field(default_factory=RunningMetrics)
    figures: dict = field(default_factory=dict)

    def value(self, btc_price: float) -> float:
        if self.entry_price is None:
            self.entry_price = btc_price
        return self.starting_cash * btc_price / self.entry_price


class Arena:
    """Runs cycles and emits events to ``emit`` (which fans out to the journal and the screen).

    ``market``: a MarketSource. ``agents``: the competitors, in display order (names unique).
    ``templates``: prompt templates (``prompt.PromptTemplates``) or None for the bundled ones.
    """

    def __init__(
        self,
        config: Config,
        market: MarketSource,
        agents: Sequence[Agent],
        emit: Callable[[ev.Event], None],
        *,
        journal_emit: Callable[[ev.Event], None] | None = None,
        templates=None,
        clock: Callable[[], float] = _time.perf_counter,
    ) -> None:
        self.config = config
        self.market = market
        self.emit_ui = emit
        self.emit_journal = journal_emit
        self.templates = templates
        self.clock = clock
        self.limits = risk_limits(config)
        self.cycle = 0
        self.session_start = market.now
        self.last_settled = market.now
        interval = int(getattr(market, "interval_ms", 0)) or 300_000
        self.states: dict[str, AgentState] = {
            a.name: AgentState(a, make_ledger(config), RunningMetrics(YEAR_MS / interval))
            for a in agents
        }
        self.benchmark = BenchmarkState(config.arena.starting_cash, running=RunningMetrics(YEAR_MS / interval))
        self._coalescer = DeltaCoalescer(self._journal_only) if journal_emit else None
        self.first_prices: dict[str, float] | None = None

    # -- emitting -------------------------------------------------------------------------------

    def _journal_only(self, event: ev.Event) -> None:
        if self.emit_journal is not None:
            self.emit_journal(event)

    def emit(self, event: ev.Event) -> None:
        """To the screen and the journal."""
        self.emit_ui(event)
        if self.emit_journal is not None:
            self.emit_journal(event)

    # -- the cycle --------------------------------------------------------------------------------

    async def run_cycle(self, trigger: str = "timer") -> None:
        """One full cycle at the market's current clock; never raises for agent or market trouble."""
        t0 = self.clock()
        self.cycle += 1
        now = self.market.now
        cyc = self.cycle
        self.emit(ev.CycleStarted(cyc, now, trigger))
        try:
            snap = await self.market.snapshot()
        except MarketError as exc:
            self.emit(ev.MarketFailed(cyc, now, str(exc)))
            self.emit(ev.CycleCompleted(cyc, now, (self.clock() - t0) * 1000, self.leaderboard()))
            return
        prices = snap.prices()
        if self.first_prices is None:
            self.first_prices = dict(prices)
        self._settle(snap)
        features = await self._features(snap)
        self.emit(ev.MarketUpdated(cyc, now, self._market_rows(snap, features)))
        active = [s for s in self.states.values() if s.halted is None]
        for s in active:
            s.ledger.mark(prices)
        await asyncio.gather(*(self._ask_and_act(s, snap, features) for s in active))
        for s in self.states.values():
            s.ledger.mark(prices)
            self._account_event(s, now)
            self._check_halt(s, now)
        if "BTC" in prices:
            value = self.benchmark.value(prices["BTC"])
            self.benchmark.last = value
            self.benchmark.figures = self.benchmark.running.update(value, ())
        self.emit(ev.CycleCompleted(cyc, now, (self.clock() - t0) * 1000, self.leaderboard()))
        self.last_settled = now

    async def _features(self, snap: MarketSnapshot):
        from arena_tui.engine.indicators import compute_features

        return compute_features(snap)

    def _settle(self, snap: MarketSnapshot) -> None:
        t0, t1 = self.last_settled, snap.time
        if t1 <= t0:
            return
        candles, funding = {}, {}
        for coin, cs in snap.coins.items():
            finest = min(cs.candles, key=timeframe_ms)
            c = cs.candles[finest]
            close_ts = c.close_ts
            a = int(np.searchsorted(close_ts, t0, side="right"))
            b = int(np.searchsorted(close_ts, t1, side="right"))
            candles[coin] = c.slice(a, b)
            f = cs.funding
            fa = int(np.searchsorted(f.ts, t0, side="right"))
            fb = int(np.searchsorted(f.ts, t1, side="right"))
            funding[coin] = dataclasses.replace(f, ts=f.ts[fa:fb], rate=f.rate[fa:fb])
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

    def _market_rows(self, snap: MarketSnapshot, features) -> dict:
        intr = self.config.market.intraday_timeframe
        ctx = self.config.market.context_timeframe
        rows = {}
        for coin, cs in snap.coins.items():
            f = features.get(coin, {})
            fi, fc = f.get(intr), f.get(ctx)
            row = {
                "price": cs.price,
                "change_pct": (cs.price / self.first_prices[coin] - 1) * 100 if self.first_prices and coin in self.first_prices else 0.0,
                "funding_rate": cs.funding_rate,
                "open_interest": cs.open_interest,
            }
            if fi is not None:
                for name in ("ema20", "ema50", "rsi7", "rsi14", "macd", "atr14"):
                    row[name] = _num(fi.last(name))
            if fc is not None:
                for name in ("ema20", "ema50", "macd", "rsi14", "atr3", "atr14"):
                    row[f"{name}_{ctx}"] = _num(fc.last(name))
            rows[coin] = row
        return rows

    async def _ask_and_act(self, s: AgentState, snap: MarketSnapshot, features) -> None:
        """One agent's turn: its answer is parsed, checked and executed as soon as it arrives, so
        the screen shows a fast agent's trades while a slow one is still thinking."""
        self._act(s, await self._ask(s, snap, features), snap)

    async def _ask(self, s: AgentState, snap: MarketSnapshot, features) -> AgentReply:
        name = s.agent.name
        cyc, now = self.cycle, snap.time
        account = s.account = s.ledger.snapshot()
        system, user = "", ""
        if getattr(s.agent, "kind", "") != "rule-based":
            from arena_tui.engine.prompt import build_prompt

            rendered = build_prompt(
                snap,
                features,
                account,
                session_start=self.session_start,
                invocation=self.cycle,
                intraday_tf=self.config.market.intraday_timeframe,
                context_tf=self.config.market.context_timeframe,
                templates=self.templates,
                sharpe_ratio=s.figures.get("sharpe_per_cycle"),
                max_leverage=self.config.risk.max_leverage,
                taker_fee_bp=self.config.fees.taker_fee_bp,
            )
            system, user = rendered.system, rendered.user
        request = AgentRequest(cyc, now, system, user, snap, account, features)
        if getattr(s.agent, "kind", "") != "rule-based":  # rule-based agents answer at once
            self.emit(ev.AgentStarted(cyc, now, name))
        start = self.clock()

        def on_delta(kind: str, text: str) -> None:
            if not text:
                return
            d = ev.ReasoningDelta(cyc, now, name, kind, text, round((self.clock() - start) * 1000, 1))
            self.emit_ui(d)
            if self._coalescer is not None:
                self._coalescer.add(d)

        timeout = self.config.arena.agent_timeout_s
        try:
            async with asyncio.timeout(timeout):
                reply = await s.agent.decide(request, on_delta)
        except TimeoutError:
            reply = AgentReply(failure=_failure("timeout", f"{name}: no answer within {timeout:g} s, holding this cycle."))
        except Exception as exc:  # an agent must never take the arena down
            reply = AgentReply(failure=_failure("error", f"{name}: {type(exc).__name__}: {exc}; holding this cycle."))
        if self._coalescer is not None:
            self._coalescer.flush(name)
        return reply

    def _act(self, s: AgentState, reply: AgentReply, snap: MarketSnapshot) -> None:
        name, cyc, now = s.agent.name, self.cycle, snap.time
        if getattr(s.agent, "kind", "") == "llm" or reply.usage.input_tokens or reply.usage.output_tokens:
            self.emit(
                ev.AgentReplied(
                    cyc,
                    now,
                    name,
                    reply.usage.input_tokens,
                    reply.usage.output_tokens,
                    reply.ttft_s,
                    reply.latency_s,
                    reply.cost_usd,
                    reply.finish_reason,
                )
            )
        if reply.failure is not None:
            s.consecutive_failures += 1
            self.emit(ev.AgentFailed(cyc, now, name, reply.failure.kind, reply.failure.reason))
            return
        try:
            if reply.decisions is not None:
                decisions = {d.coin: d for d in reply.decisions if d.coin in self.market.coins}
            else:
                decisions = parse_decisions(reply.text, self.market.coins)
        except ParseError as exc:
            s.consecutive_failures += 1
            self.emit(ev.AgentFailed(cyc, now, name, "parse", f"{name}: could not read the answer ({exc.reason}); holding this cycle."))
            return
        s.consecutive_failures = 0
        self.emit(
            ev.DecisionParsed(
                cyc, now, name, tuple(_decision_row(d) for d in decisions.values())
            )
        )
        prices = snap.prices()
        day = now // 86_400_000
        if day != s.day:
            s.day, s.day_start_value = day, s.ledger.account_value
        result = validate(
            decisions,
            s.account if s.account is not None else s.ledger.snapshot(),  # unchanged since the prompt
            prices,
            self.limits,
            taker_fee_bp=self.config.fees.taker_fee_bp,
            slippage_bp=self.config.fees.slippage_bp,
            day_start_value=s.day_start_value,
        )
        for rej in result.rejections:
            self.emit(ev.DecisionRejected(cyc, now, name, rej.coin, rej.rule, rej.reason))
        for order in result.orders:
            done = s.ledger.execute(order, time=now)
            if order.action == "close":
                self.emit(self._fill_event(name, s.ledger.fills[-1], None))
                self.emit(self._closed_event(name, done))
            else:
                self.emit(self._fill_event(name, done, order))

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
        m = s.figures = s.running.update(snap.account_value, s.ledger.trades)
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
                {k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()},
            )
        )

    def _check_halt(self, s: AgentState, now: int) -> None:
        if s.halted is not None:
            return
        cfg = self.config.arena
        reason = None
        if cfg.halt_after_failures and s.consecutive_failures >= cfg.halt_after_failures:
            reason = f"{s.agent.name} failed {s.consecutive_failures} cycles in a row; halted for the rest of the session."
        elif cfg.halt_drawdown_pct and s.running.peak > 0:
            dd = (1 - s.ledger.account_value / s.running.peak) * 100
            if dd >= cfg.halt_drawdown_pct:
                reason = f"{s.agent.name} is down {dd:.1f}% from its peak (bound {cfg.halt_drawdown_pct:g}%); halted for the rest of the session."
        if reason:
            s.halted = reason
            self.emit(ev.AgentHalted(self.cycle, now, s.agent.name, reason))

    def leaderboard(self) -> tuple[dict, ...]:
        rows = []
        for s in self.states.values():
            snap = s.ledger.snapshot()
            m = s.figures
            rows.append(
                {
                    "agent": s.agent.name,
                    "kind": s.agent.kind,
                    "account_value": snap.account_value,
                    "return_pct": snap.return_pct,
                    "pnl": snap.account_value - snap.starting_cash,
                    "fees": snap.fees_paid,
                    "win_rate": m.get("win_rate"),
                    "sharpe": m.get("sharpe"),
                    "max_drawdown_pct": m.get("max_drawdown_pct"),
                    "trades": len(s.ledger.trades),
                    "halted": s.halted is not None,
                }
            )
        if self.benchmark.last is not None:
            v = self.benchmark.last
            cash = self.benchmark.starting_cash
            rows.append(
                {
                    "agent": BENCHMARK_NAME,
                    "kind": "benchmark",
                    "account_value": v,
                    "return_pct": (v / cash - 1) * 100,
                    "pnl": v - cash,
                    "fees": 0.0,
                    "win_rate": None,
                    "sharpe": self.benchmark.figures.get("sharpe"),
                    "max_drawdown_pct": self.benchmark.figures.get("max_drawdown_pct"),
                    "trades": 0,
                    "halted": False,
                }
            )
        for r in rows:
            for k, v in r.items():
                if isinstance(v, float):
                    r[k] = round(v, 6)
        rows.sort(key=lambda r: -r["account_value"] if r["account_value"] == r["account_value"] else math.inf)
        for i, r in enumerate(rows, start=1):
            r["rank"] = i
        return tuple(rows)


_DECISION_KEYS = ("coin", "signal", "quantity", "leverage", "profit_target", "stop_loss", "confidence", "risk_usd")


def _decision_row(d) -> dict:
    """A parsed decision for the journal: its numbers (the justification and invalidation condition
    are in the streamed answer text already)."""
    return {k: getattr(d, k) for k in _DECISION_KEYS if getattr(d, k) is not None}


def _num(x: float) -> float | None:
    """An indicator value for display: None for NaN, else 7 significant digits."""
    return None if x is None or x != x else float(f"{x:.7g}")


def _failure(kind: str, reason: str):
    from arena_tui.engine.agents.base import AgentFailure

    return AgentFailure(kind, reason)
