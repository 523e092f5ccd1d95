"""``ArenaState``: the one fold of a session's events into what every view reads.

``state.apply(event)`` is the only place state is derived. The live arena applies the very events it
emits (through ``bus.Bus``); re-execution (verify, resume), the screen's tables and the headless
summary apply the same events to the same class, so they cannot disagree.

What it holds, per agent (``AgentBook``): the account figures of its last ``AccountUpdated`` (USD),
its open positions (``PositionRow``: as that update listed them, with the fills and closes since),
its closed trades (``PositionClosed`` events, oldest first), the
leaderboard figures (Sharpe ratio, maximum drawdown, win rate: ``metrics.RunningMetrics``), failures
in a row, whether and why it is halted, the account value the current UTC day started from, its
model calls' tokens and cost (a fallback's and a swarm's members' calls included) and, for a swarm,
each member's record (``MemberRecord``). For
the session: the header, the cycle, the last market rows, the BTC buy-and-hold benchmark and the
standings. ``standings()`` ranks them now; ``leaderboard`` is the last ``CycleCompleted``'s, as
recorded.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field

from arena_tui.engine import events as ev
from arena_tui.engine.events import LeaderboardRow, PositionRow
from arena_tui.engine.metrics import YEAR_MS, RunningMetrics

BENCHMARK_NAME = "BTC buy & hold"
DAY_MS = 86_400_000
DECISION_HISTORY = 500
"""Decision events (``DecisionParsed``, ``DecisionRejected``, ``AgentFailed``) each agent keeps. A
replay pickles up to 32 states (``engine.replay.CHECKPOINTS``), so what is kept is compact: a parsed
decision without its justification (the journal and the agent's pane have it), a reply without its
text."""
CALL_HISTORY = 100
"""Model calls (``AgentReplied``, without their text) each agent keeps for its latency, tokens and
cost history."""
_HISTORY_KEYS = ("coin", "signal", "quantity", "leverage", "stop_loss", "profit_target", "confidence", "risk_usd")
"""The fields of a parsed decision the history keeps."""


@dataclass
class AgentBook:
    """One agent's account and record as folded from events (money in USD)."""

    name: str
    kind: str
    model: str
    starting_cash: float
    running: RunningMetrics
    cash: float = 0.0
    account_value: float = 0.0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    fees_paid: float = 0.0
    funding_paid: float = 0.0
    return_pct: float = 0.0
    positions: tuple[PositionRow, ...] = ()
    trades: list[ev.PositionClosed] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    """``RunningMetrics.figures()`` after the last ``AccountUpdated``: sharpe (hourly returns,
    annualised), sharpe_periods, sharpe_per_cycle, max_drawdown_pct, max_drawdown_usd, win_rate, trades."""
    consecutive_failures: int = 0
    failures: int = 0
    failure_kinds: dict[str, int] = field(default_factory=dict)
    """Failures by kind (timeout, auth, parse, ...), in the order first seen."""
    failure_reasons: dict[str, str] = field(default_factory=dict)
    """The first reason (one sentence) of each failure kind."""
    last_failure: ev.AgentFailed | None = None
    """The last failure, while it is the latest outcome (cleared by the next parsed decision)."""
    calls: int = 0
    """Model calls answered (``AgentReplied``), failed ones included."""
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: float = 0.0
    """Session totals of the calls' usage (tokens as the API reported them) and cost (USD)."""
    last_reply: ev.AgentReplied | None = None
    """The last call's reply (latency, tokens, cost): shown until the next call ends."""
    cache_hits: int = 0
    """Answers replayed from the answer cache (``AgentReplied.cached``): no call made, nothing spent."""
    fallbacks: int = 0
    """Cycles in which the agent's own model failed and its fallback was asked (``AgentFellBack``)."""
    fallback_model: str = ""
    """The model that last answered in the agent's place (kept after its own model answers again)."""
    fallback_kinds: dict[str, int] = field(default_factory=dict)
    """Why the agent's own model was replaced (timeout, rate_limit, parse, ...): cycles of each kind."""
    last_fallback: ev.AgentFellBack | None = None
    """The last fallback, while it is of the latest reply (cleared by a reply its own model gave)."""
    swarm_votes: int = 0
    """Cycles in which a swarm's members were asked and voted (``SwarmVoted``; quorum failures too)."""
    members: dict[str, "MemberRecord"] = field(default_factory=dict)
    """A swarm's members by name, in the order first seen: how often each voted, failed, agreed."""
    last_vote: ev.SwarmVoted | None = None
    """A swarm's last vote (kept until the next one)."""
    spend_day: int = -1
    day_tokens: int = 0
    day_cost_usd: float = 0.0
    """Tokens (input + output) and cost (USD) of the UTC day ``spend_day`` (by event time), for budgets."""
    budget_tokens_per_day: int | None = None
    budget_usd_per_day: float | None = None
    """The agent's daily budgets from the header's config (None: no budget)."""
    halted: str | None = None
    day: int = -1
    day_start_value: float = 0.0
    """Account value at the end of the last cycle before the current UTC day began (the daily loss
    limit counts from it); the starting cash on the first day."""
    updated: bool = False
    seeded: bool = False
    """The account started from the header's ``[agents.account]`` (cash and positions it already
    had, e.g. a Season 1 model's on the morning it is replayed), not from the starting cash."""
    history: deque = field(default_factory=lambda: deque(maxlen=DECISION_HISTORY))
    """The agent's last ``DECISION_HISTORY`` decision events, oldest first: ``DecisionParsed`` (what it
    decided; each decision's ``_HISTORY_KEYS`` only), ``DecisionRejected`` (a decision the risk rules
    refused: rule id and reason, as recorded) and ``AgentFailed`` (a cycle it produced nothing usable)."""
    replies: deque = field(default_factory=lambda: deque(maxlen=CALL_HISTORY))
    """The agent's last ``CALL_HISTORY`` replies (``AgentReplied`` with ``text`` left out: latency,
    tokens, cost), oldest first."""
    invalidations: dict[str, str] = field(default_factory=dict)
    """coin -> the invalidation condition of the open position in it (from its opening ``OrderFilled``;
    an addition's replaces it when given, as in the ledger; a partial close keeps it)."""
    open_quantity: dict[str, float] = field(default_factory=dict)
    """coin -> the open position's quantity (coins) as fills and closes left it, reset from each
    ``AccountUpdated``: tells a partial close (a take-profit rung) from a full one."""

    def __post_init__(self) -> None:
        self.cash = self.account_value = self.day_start_value = self.starting_cash


@dataclass
class MemberRecord:
    """One swarm member's record: ``model``; cycles it ``voted`` in, cycles it ``failed`` (by kind in
    ``failure_kinds``: timeout, server, parse, ...), cycles its vote matched the result on every coin
    (``agreed``, when the quorum was met); its calls' tokens and cost (USD)."""

    model: str = ""
    voted: int = 0
    failed: int = 0
    agreed: int = 0
    decided: int = 0
    """Cycles it voted in that had a result (the quorum met): ``agreement``'s denominator."""
    failure_kinds: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    cost_usd: float = 0.0

    @property
    def agreement(self) -> float | None:
        """Share (0-1) of the cycles it voted in, with a result, in which it agreed; None before one."""
        return self.agreed / self.decided if self.decided else None


@dataclass
class Benchmark:
    """BTC buy-and-hold: the starting cash in BTC at the first BTC price the session saw."""

    starting_cash: float
    running: RunningMetrics
    entry_price: float | None = None
    value: float | None = None
    figures: dict = field(default_factory=dict)


def _positive(value: object, kind: type) -> float | int | None:
    """A budget from a journal's config: a positive number, else None (no budget)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        return None
    return kind(value)


class ArenaState:
    """Everything a session's events say, folded by ``apply``. Start it with the ``SessionStarted``
    header (``apply`` it, or pass it here)."""

    def __init__(self, header: ev.SessionStarted | None = None) -> None:
        self.header: ev.SessionStarted | None = None
        self.agents: dict[str, AgentBook] = {}
        self.benchmark: Benchmark | None = None
        self.cycle = 0
        """The last cycle started (0 before the first)."""
        self.cycle_time: int | None = None
        self.cycles_completed = 0
        self.completed_cycle = 0
        """The last cycle completed."""
        self.completed_time: int | None = None
        self.time = 0
        self.market: dict = {}
        """coin -> the last ``MarketUpdated`` row."""
        self.first_prices: dict[str, float] | None = None
        self.leaderboard: tuple[LeaderboardRow, ...] = ()
        """The standings of the last ``CycleCompleted``, as recorded."""
        self.equity_times: array = array("q")
        """The time (ms) of every ``CycleCompleted``, oldest first: the x axis of ``equity``."""
        self.equity: dict[str, array] = {}
        """Every standing's account value (USD) at every completed cycle, from its leaderboard: name
        (each agent and ``BENCHMARK_NAME``) -> float64 array aligned with ``equity_times`` (NaN
        where the name had no row that cycle). 8 bytes a standing a cycle."""
        self.ended: str | None = None
        self.events = 0
        self._apply = {
            ev.SessionStarted: self._session_started,
            ev.CycleStarted: self._cycle_started,
            ev.MarketUpdated: self._market_updated,
            ev.AgentReplied: self._agent_replied,
            ev.AgentFellBack: self._agent_fell_back,
            ev.SwarmVoted: self._swarm_voted,
            ev.AgentFailed: self._agent_failed,
            ev.DecisionParsed: self._decision_parsed,
            ev.DecisionRejected: self._decision_rejected,
            ev.OrderFilled: self._order_filled,
            ev.PositionClosed: self._position_closed,
            ev.AccountUpdated: self._account_updated,
            ev.AgentHalted: self._agent_halted,
            ev.CycleCompleted: self._cycle_completed,
            ev.SessionEnded: self._session_ended,
            ev.SessionResumed: self._session_resumed,
        }
        if header is not None:
            self.apply(header)

    def apply(self, event: ev.Event) -> None:
        """Fold one event in. Events of no consequence to state (reasoning, notices) are ignored."""
        self.events += 1
        if event.time > 0:
            self.time = event.time
        handler = self._apply.get(type(event))
        if handler is not None:
            handler(event)

    # -- handlers ---------------------------------------------------------------------------------

    def _session_started(self, e: ev.SessionStarted) -> None:
        if self.header is not None:
            return  # a replay's repeated header
        self.header = e
        interval = e.cycle_interval_ms if e.cycle_interval_ms and e.cycle_interval_ms > 0 else 300_000
        per_year = YEAR_MS / interval
        cash = float(e.starting_cash)
        # a journal of schema 2 ranked by the per-cycle Sharpe ratio: re-executing it computes that one
        legacy = isinstance(e.schema, int) and e.schema <= ev.LEGACY_SHARPE_SCHEMA
        for a in e.agents:
            name = str(a.get("name"))
            self.agents[name] = AgentBook(name, str(a.get("kind", "")), str(a.get("model", "") or ""), cash, RunningMetrics(per_year, legacy_sharpe=legacy))
        self.benchmark = Benchmark(cash, RunningMetrics(per_year, legacy_sharpe=legacy))
        configs = e.config.get("agents") if isinstance(e.config, dict) else None
        seeded: list[AgentBook] = []
        for c in configs if isinstance(configs, list) else ():
            book = self.agents.get(str(c.get("name"))) if isinstance(c, dict) else None
            if book is not None:
                book.budget_tokens_per_day = _positive(c.get("budget_tokens_per_day"), int)
                book.budget_usd_per_day = _positive(c.get("budget_usd_per_day"), float)
                if isinstance(c.get("account"), dict) and _seed_book(book, c["account"]):
                    seeded.append(book)
        if seeded:
            _seed_positions(seeded, e.config, e.time)

    def _cycle_started(self, e: ev.CycleStarted) -> None:
        self.cycle = e.cycle
        self.cycle_time = e.time
        day = e.time // DAY_MS
        for book in self.agents.values():
            if day != book.day:
                book.day, book.day_start_value = day, book.account_value

    def _market_updated(self, e: ev.MarketUpdated) -> None:
        self.market = e.coins
        if self.first_prices is None:
            self.first_prices = {c: r.get("price") for c, r in e.coins.items()}
        btc = e.coins.get("BTC")
        price = btc.get("price") if isinstance(btc, dict) else None
        bench = self.benchmark
        if bench is not None and isinstance(price, (int, float)) and price > 0 and math.isfinite(price):
            if bench.entry_price is None:
                bench.entry_price = float(price)
            bench.value = bench.starting_cash * price / bench.entry_price
            bench.figures = bench.running.update(bench.value, (), e.time)

    def _agent_replied(self, e: ev.AgentReplied) -> None:
        book = self.agents.get(e.agent)
        if book is None:
            return
        vote = book.last_vote
        if vote is None or vote.cycle != e.cycle or vote.time != e.time:
            _spend(book, e)  # (a swarm's reply sums its members' calls, counted by SwarmVoted)
        book.last_reply = e
        if e.cached:
            book.cache_hits += 1
        book.replies.append(_with(e, text="") if e.text else e)
        if e.answered_by is None:
            book.last_fallback = None

    def _agent_fell_back(self, e: ev.AgentFellBack) -> None:
        book = self.agents.get(e.agent)
        if book is None:
            return
        _spend(book, e)
        book.fallbacks += 1
        book.fallback_kinds[e.kind] = book.fallback_kinds.get(e.kind, 0) + 1
        book.fallback_model = e.fallback
        book.last_fallback = e

    def _swarm_voted(self, e: ev.SwarmVoted) -> None:
        book = self.agents.get(e.agent)
        if book is None:
            return
        book.swarm_votes += 1
        book.last_vote = e
        result = e.result if isinstance(e.result, dict) else {}
        for m in e.members:
            if not isinstance(m, dict):
                continue
            name = str(m.get("member", "?"))
            rec = book.members.get(name)
            if rec is None:
                rec = book.members[name] = MemberRecord(str(m.get("model", "") or ""))
            tokens = [_count(m.get(k)) for k in ("input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens")]
            cost = m.get("cost_usd")
            cost = float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else 0.0
            _spend_call(book, e.time, *tokens, cost)
            rec.tokens += tokens[0] + tokens[1]
            rec.cost_usd += cost
            kind = m.get("failure_kind")
            if kind is not None:
                rec.failed += 1
                rec.failure_kinds[str(kind)] = rec.failure_kinds.get(str(kind), 0) + 1
                continue
            rec.voted += 1
            votes = m.get("votes") if isinstance(m.get("votes"), dict) else {}
            if result:
                rec.decided += 1
                if all(votes.get(c, "hold") == s for c, s in result.items()):
                    rec.agreed += 1

    def _agent_failed(self, e: ev.AgentFailed) -> None:
        if book := self.agents.get(e.agent):
            if e.kind == "cancelled":  # the user stopped the session mid-call: not the agent's failure
                return
            book.consecutive_failures += 1
            book.failures += 1
            book.failure_kinds[e.kind] = book.failure_kinds.get(e.kind, 0) + 1
            book.failure_reasons.setdefault(e.kind, e.reason)
            book.last_failure = e
            book.history.append(e)

    def _decision_parsed(self, e: ev.DecisionParsed) -> None:
        if book := self.agents.get(e.agent):
            book.consecutive_failures = 0
            book.last_failure = None
            kept = tuple({k: d[k] for k in _HISTORY_KEYS if k in d} for d in e.decisions if isinstance(d, dict))
            book.history.append(_with(e, decisions=kept))

    def _decision_rejected(self, e: ev.DecisionRejected) -> None:
        if book := self.agents.get(e.agent):
            book.history.append(e)

    def _order_filled(self, e: ev.OrderFilled) -> None:
        if (book := self.agents.get(e.agent)) and e.action == "open":
            held = book.open_quantity.get(e.coin, 0.0)
            book.open_quantity[e.coin] = held + e.quantity
            if e.invalidation_condition:
                book.invalidations[e.coin] = e.invalidation_condition
            elif held <= 0.0:  # a new position without one
                book.invalidations.pop(e.coin, None)
            book.positions = _opened(book.positions, e)

    def _position_closed(self, e: ev.PositionClosed) -> None:
        if book := self.agents.get(e.agent):
            book.trades.append(e)
            left = book.open_quantity.get(e.coin, 0.0) - e.quantity
            if left > 1e-9 * e.quantity:  # a partial close: the position and its plan stay
                book.open_quantity[e.coin] = left
            else:
                book.open_quantity.pop(e.coin, None)
                book.invalidations.pop(e.coin, None)
            book.positions = _closed(book.positions, e)

    def _account_updated(self, e: ev.AccountUpdated) -> None:
        book = self.agents.get(e.agent)
        if book is None:
            return
        book.cash = e.cash
        book.account_value = e.account_value
        book.realized_pnl = e.realized_pnl
        book.unrealized_pnl = e.unrealized_pnl
        book.fees_paid = e.fees_paid
        book.funding_paid = e.funding_paid
        book.return_pct = e.return_pct
        book.positions = positions = tuple(e.positions)
        if positions or book.open_quantity:
            book.open_quantity = {p.coin: p.quantity for p in positions}
        book.figures = book.running.update(e.account_value, book.trades, e.time)
        book.updated = True

    def _agent_halted(self, e: ev.AgentHalted) -> None:
        if book := self.agents.get(e.agent):
            book.halted = e.reason

    def _cycle_completed(self, e: ev.CycleCompleted) -> None:
        self.cycles_completed += 1
        self.completed_cycle = e.cycle
        self.completed_time = e.time
        self.leaderboard = tuple(e.leaderboard)
        n = len(self.equity_times)
        self.equity_times.append(e.time)
        for row in e.leaderboard:
            line = self.equity.get(row.agent)
            if line is None:
                line = self.equity[row.agent] = array("d", [math.nan]) * n
            if len(line) == n:  # (a name listed twice: its first row)
                line.append(float(row.account_value))
        for line in self.equity.values():
            if len(line) == n:
                line.append(math.nan)

    def _session_ended(self, e: ev.SessionEnded) -> None:
        self.ended = e.reason

    def _session_resumed(self, e: ev.SessionResumed) -> None:
        self.ended = None

    # -- views ------------------------------------------------------------------------------------

    def rule_based_only(self) -> bool:
        """Every agent of the session is rule-based: no model is called, so there are no tokens or
        cost to show (False before the header names any agent)."""
        return bool(self.agents) and all(book.kind == "rule-based" for book in self.agents.values())

    def standings(self) -> tuple[LeaderboardRow, ...]:
        """The leaderboard now: every agent and the benchmark (once it has a price), best account
        value first; floats rounded to 1e-6. Each agent's usage and cost totals are in its row from
        journal schema ``events.USAGE_TOTALS_SCHEMA`` on (an older journal's rows hold none)."""
        rows: list[dict] = []
        header = self.header
        schema = header.schema if header is not None and type(header.schema) is int else ev.SCHEMA_VERSION
        totals = schema >= ev.USAGE_TOTALS_SCHEMA
        for b in self.agents.values():
            m = b.figures
            row = {
                "agent": b.name,
                "kind": b.kind,
                "account_value": b.account_value,
                # (before its first AccountUpdated: the value it started from, a seeded account's included)
                "return_pct": b.return_pct if b.updated else ((b.account_value / b.starting_cash - 1) * 100 if b.starting_cash else 0.0),
                "pnl": b.account_value - b.starting_cash,
                "fees": b.fees_paid,
                "win_rate": m.get("win_rate"),
                "sharpe": m.get("sharpe"),
                "max_drawdown_pct": m.get("max_drawdown_pct"),
                "trades": len(b.trades),
                "halted": b.halted is not None,
            }
            if totals:
                row["input_tokens"] = b.input_tokens
                row["output_tokens"] = b.output_tokens
                row["reasoning_tokens"] = b.reasoning_tokens
                row["cached_input_tokens"] = b.cached_input_tokens
                row["cost_usd"] = float(b.cost_usd)
            rows.append(row)
        bench = self.benchmark
        if bench is not None and bench.value is not None:
            v, cash = bench.value, bench.starting_cash
            rows.append(
                {
                    "agent": BENCHMARK_NAME,
                    "kind": "benchmark",
                    "account_value": v,
                    "return_pct": (v / cash - 1) * 100 if cash else 0.0,
                    "pnl": v - cash,
                    "fees": 0.0,
                    "win_rate": None,
                    "sharpe": bench.figures.get("sharpe"),
                    "max_drawdown_pct": bench.figures.get("max_drawdown_pct"),
                    "trades": 0,
                    "halted": False,
                }
            )
        for r in rows:
            for k, v in r.items():
                if isinstance(v, float):
                    r[k] = round(v, 6)
        rows.sort(key=lambda r: -r["account_value"] if r["account_value"] == r["account_value"] else math.inf)
        return tuple(LeaderboardRow(rank=i, **r) for i, r in enumerate(rows, start=1))


SEEDED_NOTE = ("Seeded accounts start from the cash and positions each model had that morning; their return and "
               "PnL count from its starting value ($10,000 on Oct 17 2025 for Season 1's models). Fees, win rate, "
               "Sharpe, max DD and trades, and the BTC buy & hold benchmark, cover this session only.")
"""Said under a leaderboard in which an account was seeded (``AgentBook.seeded``)."""


class CompleteCycles:
    """The events of a journal's whole cycles: each cycle's events (``CycleStarted`` to its
    ``CycleCompleted``) are held until it completes, and a cycle the journal ends inside (cut off by a
    crash or a kill) is left out, so a fold of them is the state after the last complete cycle: the
    account figures and the trades that produced them agree. Events between cycles pass at once.
    After iterating, ``cut_cycle`` is the number of the cycle left out (None: none) and ``cut_events``
    how many of its events were."""

    def __init__(self, events) -> None:
        self._events = events
        self.cut_cycle: int | None = None
        self.cut_events = 0

    def __iter__(self):
        pending: list[ev.Event] | None = None
        started, completed = ev.CycleStarted, ev.CycleCompleted
        for e in self._events:
            t = type(e)
            if t is started:
                if pending:  # (a cycle with no CycleCompleted before the next: as the journal has it)
                    yield from pending
                pending = [e]
            elif pending is not None:
                pending.append(e)
                if t is completed:
                    yield from pending
                    pending = None
            else:
                yield e
        if pending:
            self.cut_cycle, self.cut_events = pending[0].cycle, len(pending)

    def warning(self, what: str, running: bool = False) -> str | None:
        """One sentence on the cycle left out (None when there is none): ``what`` shows the rest;
        ``running``: a session is writing the journal now (``journal.journal_in_use``)."""
        if self.cut_cycle is None:
            return None
        return cut_cycle_warning(self.cut_cycle, self.cut_events, what, running)


def cut_cycle_warning(cycle: int, events: int, what: str, running: bool = False) -> str:
    """The sentence every reader of a journal says about a last cycle it leaves out (``CompleteCycles``,
    the replay): ``what`` (the report, the export, the replay) shows the complete cycles before it.
    ``running``: a session is writing the journal now, so that cycle is not cut off but under way."""
    if running:
        return (f"a running session is still writing cycle {cycle} ({events} events so far); "
                f"{what} shows the complete cycles before it.")
    return f"the journal ends inside cycle {cycle} (cut off after {events} events); {what} shows the complete cycles before it."


def _opened(rows: tuple[PositionRow, ...], e: ev.OrderFilled) -> tuple[PositionRow, ...]:
    """The open positions after an opening fill, until the agent's ``AccountUpdated`` (at the end of
    the cycle) lists them as its ledger has them: so a position shows as soon as its agent trades,
    while a slower agent of the cycle is still thinking. Marked at the fill's reference price.
    Adding to a position of the same side averages its entry price and blends its leverage (notional
    at entry over the margins, as the ledger does). The liquidation price is the ledger's: unknown
    here (0, shown as none) until that update. Figures a journal could hold that no ledger makes (a
    quantity that is not positive, numbers beyond a float) leave the rows as they were."""
    try:
        side, qty, price, ref = e.side, float(e.quantity), float(e.price), float(e.reference_price)
        leverage = float(e.leverage)
        if not qty > 0.0:
            return rows
        held = next((p for p in rows if p.coin == e.coin), None)
        if held is not None and held.side == side and held.quantity > 0.0:  # an add
            before, entry = float(held.quantity), float(held.entry_price)
            margins = before * entry / float(held.leverage) + float(e.margin) if held.leverage else 0.0
            price = (entry * before + price * qty) / (before + qty)
            qty += before
            leverage = qty * price / margins if margins > 0.0 else leverage
        row = PositionRow(
            e.coin, side, qty, price, ref, round(side * qty * (ref - price), 6), leverage, 0.0,
            e.stop_loss if e.stop_loss is not None or held is None else held.stop_loss,
            e.profit_target if e.profit_target is not None or held is None else held.profit_target,
        )
        return (*rows, row) if held is None else tuple(row if p is held else p for p in rows)
    except (ArithmeticError, TypeError, ValueError):
        return rows


def _closed(rows: tuple[PositionRow, ...], e: ev.PositionClosed) -> tuple[PositionRow, ...]:
    """The open positions after a close (``_opened``'s counterpart): the row goes, or a partial
    close (a take-profit rung) leaves the rest of it. Figures no ledger makes (a close that is not
    positive, numbers beyond a float) leave the rows as they were."""
    try:
        closed = float(e.quantity)
        if not closed > 0.0:
            return rows
        out = []
        for p in rows:
            if p.coin == e.coin:
                held = float(p.quantity)
                left = held - closed
                if not left > 1e-9 * closed:
                    continue
                if left < held:
                    share = left / held
                    p = PositionRow(p.coin, p.side, left, p.entry_price, p.mark_price, round(float(p.unrealized_pnl) * share, 6), p.leverage,
                                    p.liquidation_price, p.stop_loss, p.profit_target)
            out.append(p)
        return tuple(out)
    except (ArithmeticError, TypeError, ValueError):
        return rows


def _with(e: ev.Event, **changes) -> ev.Event:
    """``dataclasses.replace(e, **changes)`` for the fold's per-event path: an event is a frozen
    dataclass of plain fields with no ``__post_init__``, so a copy of its fields is the same event
    (and a fifth of the time)."""
    out = object.__new__(type(e))
    d = out.__dict__
    d.update(e.__dict__)
    d.update(changes)
    return out


def _spend(book: AgentBook, e: ev.AgentReplied | ev.AgentFellBack) -> None:
    """One model call's usage and cost (USD) into the agent's session totals and its UTC day's."""
    _spend_call(book, e.time, e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cached_input_tokens, e.cost_usd)


def _spend_call(book: AgentBook, time: int, input_tokens: int, output_tokens: int, reasoning_tokens: int, cached_input_tokens: int, cost_usd: float) -> None:
    """One call (at ``time``, ms) into the agent's session totals and its UTC day's (tokens, USD)."""
    book.calls += 1
    book.input_tokens += input_tokens
    book.output_tokens += output_tokens
    book.reasoning_tokens += reasoning_tokens
    book.cached_input_tokens += cached_input_tokens
    book.cost_usd += cost_usd
    day = time // DAY_MS
    if day != book.spend_day:
        book.spend_day, book.day_tokens, book.day_cost_usd = day, 0, 0.0
    book.day_tokens += input_tokens + output_tokens
    book.day_cost_usd += cost_usd


def _count(v: object) -> int:
    """A token count from a journal (a whole number, else 0)."""
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _seed_book(book: AgentBook, account: dict) -> bool:
    """Start ``book`` from the header's ``[agents.account]`` as the arena's ledger starts (``Ledger.seed``):
    its return base, cash, value (``ledger.seed_value``) and the positions' invalidation conditions
    (its positions: ``_seed_positions``). An account this version cannot read leaves the book as it
    was (re-execution reports the journal): False."""
    from arena_tui.config import AccountSeed, _build
    from arena_tui.engine.errors import ConfigError
    from arena_tui.engine.ledger import seed_value

    try:
        seed = _build(AccountSeed, account, "the journal header's account")
        value = seed_value(seed)
    except (ConfigError, ValueError, TypeError, ArithmeticError):
        return False
    if seed.starting_value:
        book.starting_cash = seed.starting_value
    book.cash = seed.cash
    book.account_value = book.day_start_value = value
    book.seeded = True
    book.invalidations = {p.coin.upper(): p.invalidation_condition for p in seed.positions if p.invalidation_condition}
    book.open_quantity = {p.coin.upper(): float(p.quantity) for p in seed.positions}
    return True


def _seed_positions(books: list[AgentBook], config: dict, time: int) -> None:
    """Seeded books' open positions as the positions table shows them until each one's first
    ``AccountUpdated`` (or fill or close): the arena's own ledger for the agent (``arena.make_ledger`` on the header's
    config, seeded as of the session's start) through ``arena.position_rows``, the code every account
    event goes through. A header this version cannot read back as a config, or an account its ledger
    refuses, leaves the positions empty: they come with the first account update."""
    from arena_tui.config import config_from_json
    from arena_tui.engine.arena import make_ledger, position_rows
    from arena_tui.engine.errors import ConfigError

    try:
        cfg = config_from_json(config)
        start = int(time)
    except (ConfigError, ValueError, TypeError, ArithmeticError, OverflowError):
        return
    for book in books:
        try:
            book.positions = position_rows(make_ledger(cfg, book.name, start).snapshot())
        except (ConfigError, ValueError, TypeError, ArithmeticError, OverflowError):
            pass

