"""A scripted arena session for the TUI tests (this module holds no tests of its own).

``demo_events()`` is a recorded-looking offline demo: four rule-based baselines over the bundled real
market at 2025-10-17 00:00-00:10 UTC (prices, funding and 5m indicators as the engine computes them
from arena_tui/data), three cycles with streamed reasoning and answers, parsed decisions, a rejected
decision, fills, a take-profit exit, a failure, a halt, account updates and leaderboards with the
BTC buy-and-hold row, in the journal's schema 2 (``MarketData`` and an ``AgentReplied`` for every
agent each cycle, typed position and leaderboard rows). ``FakeSession`` plays it through the
``Session`` protocol (folding every event into its ``state`` before the sink sees it, as a live
session does) and records the commands the screen sends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from arena_tui.engine import events as ev
from arena_tui.engine.state import ArenaState

T0 = 1760659200000  # 2025-10-17 00:00 UTC
STEP = 300_000  # 5-minute cycles
CASH = 10_000.0
TREND, RSI, HOLD, FLAT = "Trend (rule-based)", "RSI revert (rule-based)", "BTC hold (rule-based)", "Flat (rule-based)"
AGENTS = (TREND, RSI, HOLD, FLAT)
OFFLINE_HINT = (
    "Offline demo: bundled real market (Binance perps, from 2025-10-17) with rule-based baselines. "
    "For LLM agents set OPENAI_API_KEY, ANTHROPIC_API_KEY or DEEPSEEK_API_KEY, or ARENA_LOCAL_BASE_URL "
    "for a local Ollama/vLLM/llama.cpp endpoint."
)

# Real rows: RecordedMarket + indicators.compute_features on the bundled data (5m timeframe).
MARKET = [
    {
        "BTC": (108129.4, -2.85e-06, 58.477251, 54.006516, 108028.774858, 108086.937185, 8.787665, 173.961151),
        "ETH": (3892.02, 3.354e-05, 67.53856, 61.193394, 3881.004783, 3879.786945, 5.207804, 9.966956),
        "SOL": (184.76, -2.994e-05, 63.386455, 55.419928, 184.234273, 184.789772, 0.00277, 0.687613),
        "BNB": (1144.65, 0.0, 28.663558, 34.755518, 1150.756111, 1152.144803, -2.792851, 3.766397),
        "XRP": (2.3268, 3.367e-05, 75.880006, 63.844084, 2.315842, 2.318392, 0.003623, 0.007864),
        "DOGE": (0.18838, -1.077e-05, 64.565482, 59.393672, 0.187699, 0.187817, 0.000278, 0.000691),
    },
    {
        "BTC": (108010.9, -2.85e-06, 48.190781, 49.364797, 108027.072491, 108083.955335, 6.065953, 178.885355),
        "ETH": (3895.57, 3.354e-05, 71.893011, 63.435926, 3882.391947, 3880.405889, 5.706719, 9.958602),
        "SOL": (185.0, -2.994e-05, 67.561959, 57.712994, 184.3072, 184.798017, 0.060594, 0.706355),
        "BNB": (1144.79, 0.0, 29.622357, 35.156585, 1150.18791, 1151.85638, -2.896461, 3.764511),
        "XRP": (2.3255, 3.367e-05, 70.394436, 61.956949, 2.316762, 2.318671, 0.003901, 0.007888),
        "DOGE": (0.18852, -1.077e-05, 67.182108, 60.743175, 0.187777, 0.187845, 0.000307, 0.000698),
    },
    {
        "BTC": (108136.0, -2.85e-06, 57.41661, 53.872131, 108037.446539, 108085.996302, 13.843917, 183.993544),
        "ETH": (3899.42, 3.354e-05, 75.971277, 65.747671, 3884.013666, 3881.15154, 6.339695, 9.947988),
        "SOL": (185.34, -2.994e-05, 72.706442, 60.789977, 184.405562, 184.819271, 0.132331, 0.716616),
        "BNB": (1146.3, 0.0, 39.803226, 39.477936, 1149.817633, 1151.638482, -2.824173, 3.770618),
        "XRP": (2.3298, 3.367e-05, 76.852129, 65.58097, 2.318003, 2.319107, 0.004417, 0.007953),
        "DOGE": (0.18885, -1.077e-05, 72.721567, 63.797331, 0.187879, 0.187884, 0.000353, 0.000704),
    },
]


def market_rows(i: int) -> dict:
    """``MarketUpdated.coins`` for scripted cycle ``i`` (0-based; later cycles repeat the last row)."""
    rows = MARKET[min(i, len(MARKET) - 1)]
    out = {}
    for coin, (price, funding, rsi7, rsi14, ema20, ema50, macd, atr) in rows.items():
        first = MARKET[0][coin][0]
        out[coin] = {
            "price": price,
            "change_pct": (price / first - 1) * 100,
            "funding_rate": funding,
            "open_interest": None,
            "rsi7": rsi7,
            "rsi14": rsi14,
            "ema20": ema20,
            "ema50": ema50,
            "macd": macd,
            "atr14": atr,
        }
    return out


def header(name: str = "offline-demo", mode: str = "recorded") -> ev.SessionStarted:
    return ev.SessionStarted(
        0,
        T0,
        name,
        mode,
        "bundled Binance USD-M perps (2025-08-01 to 2025-11-07)",
        ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"),
        tuple({"name": a, "kind": "rule-based", "model": ""} for a in AGENTS),
        CASH,
        STEP,
        {"market": {"source": "recorded", "speed": 2.0}},
        app_version="0.1.0",
        started_at="2025-11-20T12:00:00+00:00",
    )


def _stream(cycle: int, t: int, agent: str, kind: str, text: str, chunk_words: int = 3) -> list[ev.ReasoningDelta]:
    """``text`` as ReasoningDelta chunks of a few words, 40 ms apart."""
    words = text.split(" ")
    out = []
    for n, start in enumerate(range(0, len(words), chunk_words)):
        piece = " ".join(words[start : start + chunk_words])
        if start + chunk_words < len(words):
            piece += " "
        out.append(ev.ReasoningDelta(cycle, t, agent, kind, piece, 40.0 * (n + 1)))
    return out


def _position(coin, side, qty, entry, mark, lev, stop, target, liq) -> dict:
    return {
        "coin": coin,
        "side": side,
        "quantity": qty,
        "entry_price": entry,
        "mark_price": mark,
        "unrealized_pnl": side * qty * (mark - entry),
        "leverage": lev,
        "margin": qty * entry / lev,
        "liquidation_price": liq,
        "stop_loss": stop,
        "profit_target": target,
        "entry_time": T0,
    }


def _row(p: dict) -> ev.PositionRow:
    """The position as ``AccountUpdated`` lists it (the script moves the marks of its dict each cycle)."""
    return ev.PositionRow(
        p["coin"], p["side"], p["quantity"], p["entry_price"], p["mark_price"], p["unrealized_pnl"], p["leverage"],
        p["liquidation_price"], p["stop_loss"], p["profit_target"],
    )


def _account(cycle, t, agent, cash, positions, realized=0.0, fees=0.0) -> ev.AccountUpdated:
    upnl = sum(p["unrealized_pnl"] for p in positions)
    value = cash + sum(p["margin"] + p["unrealized_pnl"] for p in positions)
    rows = tuple(_row(p) for p in positions)
    return ev.AccountUpdated(cycle, t, agent, cash, value, realized, upnl, fees, 0.0, (value / CASH - 1) * 100, rows)


def _board(cycle, t, values: dict[str, float], fees: dict[str, float], trades: dict[str, int], btc: float, halted=()) -> ev.CycleCompleted:
    rows = [
        {
            "agent": a,
            "kind": "rule-based",
            "account_value": v,
            "return_pct": (v / CASH - 1) * 100,
            "pnl": v - CASH,
            "fees": fees.get(a, 0.0),
            "win_rate": 100.0 if trades.get(a) else None,
            "sharpe": None if cycle < 2 else round((v / CASH - 1) * 40, 2),
            "max_drawdown_pct": 0.0 if v >= CASH else (1 - v / CASH) * 100,
            "trades": trades.get(a, 0),
            "halted": a in halted,
        }
        for a, v in values.items()
    ]
    bench = CASH * btc / MARKET[0]["BTC"][0]
    rows.append(
        {"agent": "BTC buy & hold", "kind": "benchmark", "account_value": bench, "return_pct": (bench / CASH - 1) * 100, "pnl": bench - CASH,
         "fees": 0.0, "win_rate": None, "sharpe": None, "max_drawdown_pct": None, "trades": 0, "halted": False}
    )
    rows.sort(key=lambda r: -r["account_value"])
    return ev.CycleCompleted(cycle, t, 4.2, tuple(ev.LeaderboardRow(rank=i, **r) for i, r in enumerate(rows, start=1)))


TREND_REASONING = [
    "BTC: EMA20 108,028.8 sits below EMA50 108,086.9 on 5m and MACD is only +8.8, so no trend to follow. "
    "ETH: EMA20 3,881.0 is above EMA50 3,879.8 with MACD +5.2 and RSI14 61.2, an uptrend; "
    "entering long with the stop 1.5 ATR below.",
    "ETH long is working: price 3,895.57 over entry, EMA20 still above EMA50. Holding. "
    "BTC and SOL still have EMA20 under EMA50; nothing new.",
    "ETH reached the profit target at 3,899; the ledger closed it. "
    "SOL: EMA20 184.41 is still under EMA50 184.82, so no entry yet.",
]
TREND_ANSWERS = [
    '{"ETH": {"signal": "buy_to_enter", "quantity": 2.5, "leverage": 10, "profit_target": 3899.0, "stop_loss": 3877.0}}',
    '{"ETH": {"signal": "hold"}}',
    '{"SOL": {"signal": "hold"}}',
]
RSI_REASONING = [
    "XRP RSI7 75.9 is overbought (above 70): short for a revert to EMA20 2.3158. "
    "BNB RSI7 28.7 is oversold (below 30): long, but the sizing rule asks for 25x.",
]
HOLD_REASONING = ["Buy BTC once with the whole account at 1x and never sell: the benchmark a trader must beat."]


def _replies(cycle: int, t: int) -> list[ev.AgentReplied]:
    """Every agent's reply this cycle (rule-based: at once); RSI revert times out from cycle 2."""
    out = []
    for a in AGENTS:
        if a == RSI and cycle >= 2:
            out.append(ev.AgentReplied(cycle, t, a, latency_s=30.0, failure_kind="timeout", failure_reason=f"{RSI}: no answer within 30 s, holding this cycle."))
        else:
            text = TREND_ANSWERS[cycle - 1] if a == TREND else "{}"
            out.append(ev.AgentReplied(cycle, t, a, ttft_s=0.0002, latency_s=0.0003, finish_reason="stop", text=text))
    return out


def demo_events(cycles: int = 3) -> list[ev.Event]:
    """The scripted session's events after the header, ``cycles`` (1-3) cycles long."""
    out: list[ev.Event] = [ev.Notice(0, T0, "info", OFFLINE_HINT)]
    eth = _position("ETH", 1, 2.5, 3892.6, 3892.02, 10.0, 3877.0, 3899.0, 3514.9)
    xrp = _position("XRP", -1, 900.0, 2.3267, 2.3268, 5.0, 2.3445, 2.3158, 2.7805)
    btc = _position("BTC", 1, 0.09244, 108134.3, 108129.4, 1.0, None, None, 0.0)
    for i in range(cycles):
        c, t = i + 1, T0 + i * STEP
        rows = market_rows(i)
        out.append(ev.CycleStarted(c, t, "timer"))
        if c == 3:  # the ledger settles exits between cycles, before the market row
            out.append(ev.PositionClosed(c, t, TREND, "ETH", 1, 2.5, 10.0, T0, 3892.6, 3899.0, 3899.0, 4.38, 4.39, 0.0, 16.0, 7.23, "take_profit"))
        out.append(ev.MarketData(c, t, t, {}))  # what re-execution needs; never shown
        out.append(ev.MarketUpdated(c, t, rows))
        out += [ev.AgentStarted(c, t, a) for a in AGENTS]
        out += _stream(c, t, TREND, "reasoning", TREND_REASONING[i])
        out += _stream(c, t, TREND, "answer", TREND_ANSWERS[i], chunk_words=6)
        out += _replies(c, t)
        if c == 1:
            out += _stream(c, t, RSI, "reasoning", RSI_REASONING[0])
            out += _stream(c, t, HOLD, "reasoning", HOLD_REASONING[0])
            out += [
                ev.DecisionParsed(c, t, TREND, ({"coin": "ETH", "signal": "buy_to_enter", "quantity": 2.5, "leverage": 10.0, "profit_target": 3899.0, "stop_loss": 3877.0, "confidence": 0.6},)),
                ev.OrderFilled(c, t, TREND, "ETH", "open", 1, 2.5, 3892.6, 3892.02, 9731.5, 4.38, 10.0, 973.15, 3877.0, 3899.0, None, 0.6),
                ev.DecisionParsed(c, t, RSI, (
                    {"coin": "XRP", "signal": "sell_to_enter", "quantity": 900.0, "leverage": 5.0, "profit_target": 2.3158, "stop_loss": 2.3445, "confidence": 0.55},
                    {"coin": "BNB", "signal": "buy_to_enter", "quantity": 4.0, "leverage": 25.0, "profit_target": 1150.8, "stop_loss": 1140.0, "confidence": 0.5},
                )),
                ev.DecisionRejected(c, t, RSI, "BNB", "leverage_bounds", "leverage 25x is above the 20x limit; use 1-20x."),
                ev.OrderFilled(c, t, RSI, "XRP", "open", -1, 900.0, 2.3267, 2.3268, 2094.03, 0.94, 5.0, 418.81, 2.3445, 2.3158, None, 0.55),
                ev.DecisionParsed(c, t, HOLD, ({"coin": "BTC", "signal": "buy_to_enter", "quantity": 0.09244, "leverage": 1.0},)),
                ev.OrderFilled(c, t, HOLD, "BTC", "open", 1, 0.09244, 108134.3, 108129.4, 9995.93, 4.5, 1.0, 9995.93),
                ev.DecisionParsed(c, t, FLAT, tuple({"coin": k, "signal": "hold"} for k in rows)),
            ]
        elif c == 2:
            out += [
                ev.DecisionParsed(c, t, TREND, ({"coin": "ETH", "signal": "hold"}, {"coin": "BTC", "signal": "hold"}, {"coin": "SOL", "signal": "hold"})),
                ev.AgentFailed(c, t, RSI, "timeout", f"{RSI}: no answer within 30 s, holding this cycle."),
                ev.DecisionParsed(c, t, HOLD, ({"coin": "BTC", "signal": "hold"},)),
                ev.DecisionParsed(c, t, FLAT, tuple({"coin": k, "signal": "hold"} for k in rows)),
            ]
        else:
            out += [
                ev.DecisionParsed(c, t, TREND, ({"coin": "SOL", "signal": "hold"},)),
                ev.AgentFailed(c, t, RSI, "timeout", f"{RSI}: no answer within 30 s, holding this cycle."),
                ev.DecisionParsed(c, t, HOLD, ({"coin": "BTC", "signal": "hold"},)),
                ev.DecisionParsed(c, t, FLAT, tuple({"coin": k, "signal": "hold"} for k in rows)),
            ]
        marks = {k: rows[k]["price"] for k in rows}
        for p in (eth, xrp, btc):
            p["mark_price"] = marks[p["coin"]]
            p["unrealized_pnl"] = p["side"] * p["quantity"] * (p["mark_price"] - p["entry_price"])
        trend_pos = [eth] if c < 3 else []
        trend_cash = CASH - 973.15 - 4.38 if c < 3 else CASH + 7.23
        out += [
            _account(c, t, TREND, trend_cash, trend_pos, 0.0 if c < 3 else 16.0, 4.38 if c < 3 else 8.77),
            _account(c, t, RSI, CASH - 418.81 - 0.94, [xrp], 0.0, 0.94),
            _account(c, t, HOLD, CASH - 9995.93 - 4.5, [btc], 0.0, 4.5),
            _account(c, t, FLAT, CASH, []),
        ]
        if c == 3:
            out.append(ev.AgentHalted(c, t, RSI, f"{RSI} failed 2 cycles in a row; halted for the rest of the session."))
        values = {e.agent: e.account_value for e in out if isinstance(e, ev.AccountUpdated) and e.cycle == c}
        out.append(
            _board(c, t, values, {TREND: 4.38 if c < 3 else 8.77, RSI: 0.94, HOLD: 4.5}, {TREND: 0 if c < 3 else 1}, rows["BTC"]["price"], halted=(RSI,) if c == 3 else ())
        )
    return out


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Return as soon as ``condition()`` holds (checked every 10 ms); fail naming ``what`` after
    ``timeout`` seconds. Tests wait on conditions, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


def split_cycles(events: list[ev.Event]) -> tuple[list[ev.Event], list[list[ev.Event]]]:
    """(events before the first cycle, one list per cycle)."""
    before: list[ev.Event] = []
    cycles: list[list[ev.Event]] = []
    for e in events:
        if isinstance(e, ev.CycleStarted):
            cycles.append([])
        (cycles[-1] if cycles else before).append(e)
    return before, cycles


@dataclass
class FakeSession:
    """A ``Session`` that plays ``demo_events()``: the first ``autoplay`` cycles at once, then one
    scripted cycle per ``cycle_now()``, also while paused (it stays paused, as ``ArenaSession`` does).
    Records every command it gets.

    ``next_cycle_in()`` is a fixed 42 s (None while paused) so the header is deterministic.
    ``state`` is the fold of every event emitted (reasoning deltas aside, as ``bus.Bus`` does), made
    before the sink sees the event; ``history`` cycles of the script are folded into it before
    ``run`` (a resumed session: the screen shows them before the first event).
    """

    cycles: int = 3
    autoplay: int = 3
    mode: str = "recorded"
    name: str = "offline-demo"
    cycle_now_calls: int = 0
    pause_calls: int = 0
    resume_calls: int = 0
    stop_calls: int = 0
    cycles_run: int = 0
    emitted: list[ev.Event] = field(default_factory=list)
    state: ArenaState = field(default_factory=ArenaState)
    history: int = 0
    _paused: bool = False
    _stopped: bool = False
    _sink: object = None
    _wake: asyncio.Event | None = None
    done: asyncio.Event | None = None

    @property
    def paused(self) -> bool:
        return self._paused

    def next_cycle_in(self) -> float | None:
        return None if self._paused else 42.0

    def __post_init__(self) -> None:
        before, cycles = split_cycles(demo_events(self.cycles))
        self._before, self._pending = before, list(cycles)
        if self.history:
            for e in [header(self.name), *before, *(e for c in self._pending[: self.history] for e in c)]:
                if not isinstance(e, ev.ReasoningDelta):
                    self.state.apply(e)
            self.cycles_run = self.history
            del self._pending[: self.history]

    def _emit(self, event: ev.Event) -> None:
        self.emitted.append(event)
        if not isinstance(event, ev.ReasoningDelta):
            self.state.apply(event)
        self._sink(event)  # type: ignore[misc]

    async def run(self, sink) -> None:
        self._sink = sink
        self._wake = asyncio.Event()
        self.done = self.done or asyncio.Event()
        self._emit(header(self.name))
        if not self.history:
            for e in self._before:
                self._emit(e)
        pending = self._pending
        for _ in range(min(self.autoplay, len(pending))):
            for e in pending.pop(0):
                self._emit(e)
            self.cycles_run += 1
        self.done.set()
        while not self._stopped:
            self._wake.clear()
            await self._wake.wait()
            while self._requested and not self._stopped:  # as ArenaSession: also while paused (a step)
                self._requested -= 1
                script = pending.pop(0) if pending else _extra_cycle(self.cycles_run + 1)
                for e in script:
                    self._emit(e)
                self.cycles_run += 1
        self._emit(ev.SessionEnded(self.cycles_run, T0 + self.cycles_run * STEP, "stopped by the user", self.cycles_run))

    _requested: int = 0

    def cycle_now(self) -> None:
        self.cycle_now_calls += 1
        self._requested += 1
        if self._wake:
            self._wake.set()

    def pause(self) -> None:
        self.pause_calls += 1
        if not self._paused:
            self._paused = True
            self._emit(ev.SessionPaused(self.cycles_run, T0, "user"))

    def resume(self) -> None:
        self.resume_calls += 1
        if self._paused:
            self._paused = False
            self._emit(ev.SessionResumed(self.cycles_run, T0, "user"))
            if self._wake:
                self._wake.set()

    def stop(self, reason: str = "stopped by the user") -> None:
        self.stop_calls += 1
        self._stopped = True
        if self._wake:
            self._wake.set()


def _extra_cycle(c: int) -> list[ev.Event]:
    t = T0 + (c - 1) * STEP
    return [ev.CycleStarted(c, t, "manual"), ev.MarketUpdated(c, t, market_rows(c - 1)), ev.CycleCompleted(c, t, 3.0, ())]
