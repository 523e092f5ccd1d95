"""Verification is re-execution: a journal's primary inputs run through the same engine code again,
and every event that produces is compared with the one recorded.

The primary inputs of a cycle are what came from outside the engine: its clock and trigger
(``CycleStarted``), the market data the snapshot held (``MarketData``, or ``MarketFailed``) and each
agent's reply (``AgentReplied``: the exact answer text, usage, failure; a fallback's ``AgentFellBack``;
a swarm's ``SwarmVoted``, whose members' answers are parsed and voted on again by
``agents.swarm.combine``, so the swarm's own answer is recomputed, not read). ``JournalMarket`` rebuilds the
very snapshot each cycle saw; ``ReplayedAgent`` answers with the journaled reply, in the order the
agents answered. A fresh ``Arena`` (the same code as a live session, with the header's config) runs
the cycle and publishes events on a ``Bus`` whose ``ArenaState`` is the one fold; each produced event
is compared, field by field, with the journal's (wall-clock fields aside, ``events.WALL_CLOCK_FIELDS``):
fills, fees, funding, exits, net PnL, account values, the leaderboard, market prices, and the
sequence itself (missing, extra, duplicated or reordered events). Reasoning text is display only and
not compared. Re-execution builds the snapshot from the journaled ``MarketData`` and runs the
ledger on the journaled answers: no prompt is built, no agent asked, and the market rows' prices,
change, funding and open interest are recomputed while their indicator columns are the journaled
ones (the ledger never reads an indicator). ``indicators=True`` (``--verify-indicators``) recomputes
and compares those too.

``reexecute`` reads the journal as a stream (one cycle in memory at a time). ``--replay FILE
--headless`` prints its result; ``--resume`` re-executes to the cut, then continues live from the
very ``Arena`` and state it left (``Reexecution.arena``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentFailure, AgentReply, AgentRequest, FellBack, OnDelta, Prices, Usage
from arena_tui.engine.bus import Bus
from arena_tui.engine.errors import JournalError, MarketError
from arena_tui.engine.market.base import Candles, CoinSnapshot, FundingHistory, MarketSnapshot, OrderBook, timeframe_ms
from arena_tui.engine.state import ArenaState

CONTROL_EVENTS = (ev.Notice, ev.SessionPaused, ev.SessionResumed, ev.TriggerCoalesced)
"""Session control and messages: not produced by a cycle, allowed anywhere, not compared."""
_CONTROL_TYPES = frozenset(CONTROL_EVENTS)

_CANDLE_FIELDS = ("open", "high", "low", "close", "volume")


# --- the market as journaled -----------------------------------------------------------------------


class _Series:
    """One coin's candles of one timeframe, the newest ``keep`` of them, in buffers that grow at the
    end and are copied (never overwritten) when full, so earlier snapshots' views stay valid.
    ``ref_at``: where the last candle sits in the bundled recording (-1: not looked up yet)."""

    __slots__ = ("ts", "cols", "n", "keep", "ref_at", "ref_rows", "_view")

    def __init__(self) -> None:
        self.ts = np.empty(0, dtype=np.int64)
        self.cols = np.empty((5, 0), dtype=np.float64)  # rows: open, high, low, close, volume
        self.n = 0
        self.keep = 0
        self.ref_at = -1
        self.ref_rows: np.ndarray | None = None
        self._view: Candles | None = None

    def append(self, ts: list, cols: list[list], keep: int) -> None:
        k = len(ts)
        if self.n + k > self.ts.shape[0]:
            hold = max(keep, self.keep)
            start = max(0, self.n - hold)
            m = self.n - start
            size = max(2 * (hold + k), 64)
            new_ts = np.empty(size, dtype=np.int64)
            new_cols = np.empty((5, size), dtype=np.float64)
            new_ts[:m] = self.ts[start : self.n]
            new_cols[:, :m] = self.cols[:, start : self.n]
            self.ts, self.cols, self.n = new_ts, new_cols, m
        n = self.n
        if k == 1:
            self.ts[n] = ts[0]
            self.cols[:, n] = [c[0] for c in cols]
        elif k:
            self.ts[n : n + k] = ts
            self.cols[:, n : n + k] = cols
        if k or keep != self.keep:
            self._view = None
        self.n = n + k
        self.keep = keep

    def candles(self, timeframe: str) -> Candles:
        """The newest ``keep`` candles (the same object until the series changes)."""
        view = self._view
        if view is None:
            a = max(0, self.n - self.keep)
            b = self.n
            v = self.cols
            view = self._view = Candles(timeframe, self.ts[a:b], v[0, a:b], v[1, a:b], v[2, a:b], v[3, a:b], v[4, a:b])
        return view


class JournalMarket:
    """A ``MarketSource`` that gives, cycle after cycle, the snapshots a journal's ``MarketData``
    events describe. ``load(cycle_time, data, failure)`` sets up the next cycle: its clock (ms), its
    ``MarketData`` (None with ``failure`` when the journal says the market failed). Raises
    ``JournalError`` for market data of the wrong shape."""

    def __init__(self, header: ev.SessionStarted, timeframes: tuple[str, ...], reference=None) -> None:
        self.reference = reference
        """The bundled ``data.Dataset`` the session was recorded from, if any: journaled candles and
        funding rates must equal it (so an edit to the market data and its consequences is caught)."""
        self.mismatch: str | None = None
        self.name = header.source
        self.coins = tuple(header.coins)
        self.timeframes = timeframes
        self.interval_ms = header.cycle_interval_ms
        self._now = header.time
        self._candles: dict[str, dict[str, _Series]] = {}  # coin -> timeframe (finest first) -> series
        self._funding: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = {}
        self._funding_views: dict[str, FundingHistory] = {}
        self._oi: dict[str, float | None] = {}
        self._books: dict[str, OrderBook] = {}  # this cycle's order books (a live journal's; never carried over)
        self._snapshot_time: int | None = None
        self._failure: str | None = None

    @property
    def now(self) -> int:
        return self._now

    def last_times(self) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
        """The open time of the newest candle journaled per (coin, timeframe), and the newest
        funding time per coin: what a session continuing this one has sent already."""
        candles = {(coin, tf): int(s.ts[s.n - 1]) for coin, per in self._candles.items() for tf, s in per.items() if s.n}
        funding = {coin: int(f[0][-1]) for coin, f in self._funding.items() if len(f[0])}
        return candles, funding

    def load(self, cycle_time: int, data: ev.MarketData | None, failure: str | None = None) -> None:
        self._now = cycle_time
        self._failure = failure if data is None else None
        if data is None:
            if failure is None:
                self._failure = "the journal holds no market data for this cycle"
            return
        self._snapshot_time = data.snapshot_time
        check = self.reference is not None
        self._books = {}
        try:
            for coin, row in data.coins.items():
                per = self._candles.get(coin)
                if per is None:
                    per = self._candles[coin] = {}
                for tf, c in row["candles"].items():
                    s = per.get(tf)
                    if s is None:
                        s = per[tf] = _Series()
                        per = self._candles[coin] = dict(sorted(per.items(), key=lambda kv: timeframe_ms(kv[0])))
                    ts = c["ts"]
                    if not ts and type(ts) is list and c["keep"] == s.keep and type(s.keep) is int and not any(c[k] for k in _CANDLE_FIELDS):
                        continue  # nothing new (a coarse timeframe, most cycles)
                    cols = [c[k] for k in _CANDLE_FIELDS]
                    n = len(ts)
                    if any(len(x) != n for x in cols):
                        raise ValueError(f"{coin} {tf} columns differ in length")
                    if n and check and self.mismatch is None:
                        self._check_candles(coin, tf, s, ts, cols)
                    s.append(ts, cols, int(c["keep"]))
                f = row["funding"]
                old = self._funding.get(coin)
                keep = int(f["keep"])
                interval = int(f["interval_ms"])
                if old is not None and not f["ts"] and not f["rate"] and keep == old[3] and interval == old[2]:
                    pass  # nothing new (most cycles)
                else:
                    fts = np.asarray(f["ts"], dtype=np.int64)
                    frate = np.asarray(f["rate"], dtype=np.float64)
                    if fts.shape != frate.shape or fts.ndim != 1:
                        raise ValueError(f"{coin} funding columns differ in length")
                    if check and fts.shape[0] and self.mismatch is None:
                        self._check_funding(coin, fts, frate)
                    if old is not None:
                        hold = max(keep, old[3])
                        fts = np.concatenate((old[0], fts))
                        frate = np.concatenate((old[1], frate))
                    else:
                        hold = keep
                    fts, frate = (fts[-hold:], frate[-hold:]) if hold else (fts[:0], frate[:0])
                    self._funding[coin] = (fts, np.ascontiguousarray(frate), interval, keep)
                    self._funding_views.pop(coin, None)
                oi = row.get("open_interest")
                self._oi[coin] = None if oi is None else float(oi)
                book = row.get("order_book")
                if book is not None:
                    self._books[coin] = OrderBook.from_json(book)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError) as exc:
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
            raise JournalError(f"cycle {data.cycle}: the journaled market data is malformed ({detail}).") from None

    def _check_candles(self, coin: str, tf: str, s: _Series, ts: list, cols: list[list]) -> None:
        ref = self.reference.candles.get(coin, {}).get(tf) if coin in self.reference.candles else None
        if ref is None:
            self.mismatch = f"{coin} {tf} candles are not in the bundled recording"
            return
        i = s.ref_at + 1
        if len(ts) == 1 and 0 < i < len(ref) and ref.ts[i] == ts[0]:
            # the next candle of the recording (every cycle but the first): compare it alone
            if s.ref_rows is None:
                s.ref_rows = np.column_stack([getattr(ref, k) for k in _CANDLE_FIELDS])
            if s.ref_rows[i].tolist() == [c[0] for c in cols]:
                s.ref_at = i
                return
            for k, col in zip(_CANDLE_FIELDS, cols):
                want = getattr(ref, k)[i]
                if want != col[0]:
                    self.mismatch = f"{coin} {tf} candle at {int(ts[0])}: {k} is {float(col[0])!r} in the journal, {float(want)!r} in the bundled recording"
                    return
            s.ref_at = i
            return
        ts_a = np.asarray(ts, dtype=np.int64)
        idx = np.searchsorted(ref.ts, ts_a)
        ok = (idx < len(ref)) & (ref.ts[np.minimum(idx, len(ref) - 1)] == ts_a)
        if not ok.all():
            bad = int(ts_a[~ok][0])
            self.mismatch = f"{coin} {tf} candle at {bad} is not in the bundled recording"
            return
        for k, col in zip(_CANDLE_FIELDS, cols):
            got = np.asarray(col, dtype=np.float64)
            want = getattr(ref, k)[idx]
            diff = want != got
            if diff.any():
                j = int(np.argmax(diff))
                self.mismatch = f"{coin} {tf} candle at {int(ts_a[j])}: {k} is {float(got[j])!r} in the journal, {float(want[j])!r} in the bundled recording"
                return
        s.ref_at = int(idx[-1])

    def _check_funding(self, coin: str, ts: np.ndarray, rate: np.ndarray) -> None:
        ref = self.reference.funding.get(coin)
        if ref is None:
            self.mismatch = f"{coin} funding is not in the bundled recording"
            return
        i = np.searchsorted(ref.ts, ts)
        ok = (i < len(ref)) & (ref.ts[np.minimum(i, len(ref) - 1)] == ts)
        if not ok.all() or (ref.rate[i[ok]] != rate[ok]).any():
            self.mismatch = f"{coin} funding rates differ from the bundled recording"

    async def snapshot(self) -> MarketSnapshot:
        if self._failure is not None:
            raise MarketError(self._failure)
        coins: dict[str, CoinSnapshot] = {}
        tfs: set[str] = set()
        empty = None
        for coin in self.coins:
            per = self._candles.get(coin, {})
            tfs.update(per)
            f = self._funding.get(coin)
            if f is None:
                if empty is None:
                    empty = FundingHistory(np.empty(0, np.int64), np.empty(0), 0)
                funding = empty
            else:
                funding = self._funding_views.get(coin)
                if funding is None:
                    fts, frate, interval, keep = f
                    funding = self._funding_views[coin] = FundingHistory(fts[-keep:] if keep else fts[:0], frate[-keep:] if keep else frate[:0], interval)
            coins[coin] = CoinSnapshot(
                coin,
                {tf: s.candles(tf) for tf, s in per.items()},
                funding,
                open_interest=self._oi.get(coin),
                order_book=self._books.get(coin),
            )
        t = self._snapshot_time if self._snapshot_time is not None else self._now
        return MarketSnapshot(t, coins, self.name, tuple(sorted(tfs, key=timeframe_ms)) or self.timeframes)

    async def advance(self) -> None:
        return None

    async def close(self) -> None:
        return None


# --- the agents as journaled -----------------------------------------------------------------------


def _bundled_reference(header: ev.SessionStarted):
    """The bundled dataset when the journal says it was recorded from it, else None."""
    if header.mode != "recorded":
        return None
    from arena_tui.engine.data import bundled_dataset

    try:
        ds = bundled_dataset()
    except Exception:  # no bundled data: re-execution still runs on the journaled candles
        return None
    return ds if header.source == f"recorded:{ds.name}" else None


class _Turns:
    """The order in which the agents answered a recorded cycle: each replayed agent waits for the
    ones before it, so their events come out in the journal's order."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.done: dict[str, asyncio.Event] = {}
        self.in_turn = False
        """Asked one after another in the arena's order, no agent would wait for one not yet asked
        (``plan``): the arena may then call them in turn, without a task each."""

    def reset(self, order: Iterable[str]) -> None:
        self.order = list(order)
        self.done = {}
        self.in_turn = False

    def plan(self, calls: Iterable[str]) -> None:
        """Set ``in_turn`` for the agents the arena will call this cycle, ``calls``, in its order."""
        asked: set[str] = set()
        for name in calls:
            before = self._before(name)
            if before is not None and before not in asked:
                self.in_turn = False
                return
            asked.add(name)
        self.in_turn = True

    def _event(self, name: str) -> asyncio.Event:
        e = self.done.get(name)
        if e is None:
            e = self.done[name] = asyncio.Event()
        return e

    def _before(self, name: str) -> str | None:
        """The agent ``name`` waits for: the one before it in the journal's order (an agent without
        a reply there: the last one), None for the first."""
        order = self.order
        if name in order:
            i = order.index(name)
            return order[i - 1] if i > 0 else None
        return order[-1] if order else None

    async def wait(self, name: str) -> None:
        before = self._before(name)
        if before is None:
            return
        done = self._event(before)
        if self.in_turn and not done.is_set():  # (``plan`` said it would not wait: never hang on it)
            raise RuntimeError(f"{name} answers after {before}, which has not answered")
        await done.wait()

    def finish(self, name: str) -> None:
        self._event(name).set()


class ReplayedAgent:
    """An agent that answers with the journaled ``AgentReplied`` of the cycle (and streams its
    journaled text again when ``stream`` is set). No reply in the journal: a failure that says so."""

    needs_prompt = False

    @property
    def answers_at_once(self) -> bool:
        """It will not wait for its turn this cycle (``_Turns.plan``): the arena calls it in turn."""
        return self._turns.in_turn

    def __init__(
        self, name: str, kind: str, model: str, turns: _Turns, *, stream: bool = False, prices: Prices = Prices(),
        fallback_prices: Prices | None = None, swarm: "SwarmSpec | None" = None, timed: bool = False,
    ) -> None:
        self.timed = timed
        """A recorded agent with timing "once": asked only in the cycles the journal holds its reply for."""
        self.swarm = swarm
        """The swarm's rule, quorum and members (None: the agent is no swarm, and a journaled vote
        is refused)."""
        self.members = list(swarm.members) if swarm is not None else None
        """(A swarm's member names: the arena hands it each member's streamed text apart.)"""
        self._vote: ev.SwarmVoted | None = None
        self.prices = prices
        """The agent's token prices (its config): the cost is recomputed."""
        self.fallback_prices = fallback_prices
        """Its fallback's prices (None: it has no fallback, and a journaled fallback is refused)."""
        self._fell_back: ev.AgentFellBack | None = None
        self.name = name
        self.kind = kind
        self.model = model
        self._turns = turns
        self._reply: ev.AgentReplied | None = None
        self._deltas: list[ev.ReasoningDelta] = []
        self.stream = stream

    def load(
        self, reply: ev.AgentReplied | None, deltas: list[ev.ReasoningDelta], fell_back: ev.AgentFellBack | None = None,
        vote: ev.SwarmVoted | None = None,
    ) -> None:
        self._reply, self._deltas, self._fell_back, self._vote = reply, deltas, fell_back, vote

    def answers_at(self, time: int) -> bool:
        """Always, except for a recorded agent with timing "once" in a cycle without its reply (as
        ``RecordedAgent.answers_at``: it held without a call)."""
        return not self.timed or self._reply is not None

    async def decide(self, request: AgentRequest, on_delta: OnDelta, on_member_delta=None) -> AgentReply:
        await self._turns.wait(self.name)
        try:
            if self.stream:
                for d in self._deltas:
                    if d.member is not None and on_member_delta is not None:
                        on_member_delta(d.member, d.kind, d.text)
                    else:
                        on_delta(d.kind, d.text)  # type: ignore[arg-type]
            r = self._reply
            if r is None:
                return AgentReply(failure=AgentFailure("error", f"{self.name}: the journal holds no answer for cycle {request.cycle}."))
            if self.swarm is not None and self._vote is not None:
                return self.swarm.revote(self.name, self._vote, request, float(r.latency_s or 0.0))
            failure = None
            if r.failure_kind is not None:
                failure = AgentFailure(str(r.failure_kind), str(r.failure_reason or ""))
            usage = Usage(int(r.input_tokens or 0), int(r.output_tokens or 0), int(r.reasoning_tokens or 0),
                          int(r.cached_input_tokens or 0))
            fb = self._fell_back
            fell_back, prices = None, self.prices
            if fb is not None and self.fallback_prices is not None:
                # the primary's call (a primary input, priced at the agent's own prices) and the
                # fallback's answer (at the fallback's)
                pu = Usage(int(fb.input_tokens or 0), int(fb.output_tokens or 0), int(fb.reasoning_tokens or 0),
                           int(fb.cached_input_tokens or 0))
                primary = AgentReply(
                    text=fb.text,
                    usage=pu,
                    ttft_s=fb.ttft_s,
                    latency_s=float(fb.latency_s or 0.0),
                    cost_usd=self.prices.cost_usd(pu),
                    failure=AgentFailure(str(fb.kind), str(fb.reason)),
                )
                fell_back = FellBack(str(fb.model), primary, str(fb.fallback))
                prices = self.fallback_prices
            return AgentReply(
                text=r.text,
                usage=usage,
                ttft_s=r.ttft_s,
                latency_s=float(r.latency_s or 0.0),
                cost_usd=prices.cost_usd(usage),
                finish_reason=r.finish_reason,
                failure=failure,
                answered_by=fell_back.fallback if fell_back is not None else None,
                fell_back=fell_back,
                cached=r.cached is True,  # (an answer from the answer cache: a primary input too)
            )
        finally:
            self._turns.finish(self.name)


@dataclass(frozen=True)
class SwarmSpec:
    """A swarm as its config entry describes it: the vote ``rule``, the ``quorum`` in force and its
    ``members`` (name -> (model label, token prices)), in config order."""

    rule: str
    quorum: int
    members: dict[str, tuple[str, Prices]]

    @classmethod
    def of(cls, a: Any) -> "SwarmSpec":
        """The spec of a ``config.AgentConfig`` of kind swarm."""
        from arena_tui.engine.agents.swarm import config_label, default_quorum

        return cls(a.vote, a.quorum or default_quorum(len(a.members)), {m.name: (config_label(m), agent_prices(m)) for m in a.members})

    def revote(self, name: str, vote: ev.SwarmVoted, request: AgentRequest, latency_s: float) -> AgentReply:
        """The swarm's reply again from the journaled ``vote``'s members (primary inputs: each one's
        answer text, usage, wall seconds and the call's own failure; a parse failure is found again by
        parsing, costs are recomputed at each member's prices), through ``agents.swarm.combine``."""
        from arena_tui.engine.agents.swarm import ballot, combine

        rows: dict[str, dict] = {}
        for m in vote.members:
            if isinstance(m, dict):
                rows.setdefault(str(m.get("member")), m)
        coins = tuple(request.market.coins)
        ballots = []
        for member, (label, prices) in self.members.items():
            m = rows.get(member)
            if m is None:
                reply = AgentReply(failure=AgentFailure("error", f"{member}: the journal holds no answer of this member."))
            else:
                usage = Usage(int(m.get("input_tokens") or 0), int(m.get("output_tokens") or 0), int(m.get("reasoning_tokens") or 0),
                              int(m.get("cached_input_tokens") or 0))
                kind = m.get("failure_kind")
                failure = AgentFailure(str(kind), str(m.get("failure_reason") or "")) if kind is not None and kind != "parse" else None
                latency = m.get("latency_s")
                reply = AgentReply(
                    text=str(m.get("text") or ""),
                    usage=usage,
                    ttft_s=m.get("ttft_s"),
                    latency_s=float(latency) if isinstance(latency, (int, float)) else 0.0,
                    cost_usd=prices.cost_usd(usage),
                    finish_reason=m.get("finish_reason"),
                    failure=failure,
                )
            ballots.append(ballot(member, label, reply, coins))
        return combine(name, self.rule, self.quorum, ballots, coins, latency_s=latency_s)


def agent_prices(a: Any) -> Prices:
    """The token prices of one config agent entry (``config.AgentConfig``)."""
    return Prices(a.price_input_per_mtok, a.price_output_per_mtok, a.price_cached_input_per_mtok, a.price_reasoning_per_mtok)


# --- comparing -------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if (type(a) is bool) != (type(b) is bool):
        return False  # True == 1 in Python, but not in a journal
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return _same(a.__dict__, b.__dict__)
    return False


_COMPARED: dict[type, tuple[str, ...]] = {}


def _compared_fields(cls: type) -> tuple[str, ...]:
    names = _COMPARED.get(cls)
    if names is None:
        skip = ev.WALL_CLOCK_FIELDS.get(cls, frozenset())
        names = _COMPARED[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)
    return names


def _equal(recorded: ev.Event, recomputed: ev.Event) -> bool:
    """The quick test: every compared field equal (``==``, a bool never equal to a number at the top
    level); when it fails, ``_first_field_difference`` says where (and may still find none: NaN)."""
    a, b = recorded.__dict__, recomputed.__dict__
    for n in _compared_fields(type(recorded)):
        x, y = a[n], b[n]
        if x is y:
            continue
        if x != y or (type(x) is bool) != (type(y) is bool):
            return False
    return True


def _first_field_difference(recorded: ev.Event, recomputed: ev.Event) -> tuple[str, Any, Any] | None:
    """The first field (dotted path) where two events of one type differ, wall-clock fields aside."""
    skip = ev.WALL_CLOCK_FIELDS.get(type(recorded), frozenset())
    for f in dataclasses.fields(recorded):
        if f.name in skip:
            continue
        a, b = getattr(recorded, f.name), getattr(recomputed, f.name)
        if not _same(a, b):
            if type(recorded) is ev.SwarmVoted and f.name == "members":
                return _member_difference(a, b)
            row = _row_difference(f.name, a, b)
            if row is not None:
                return row
            return (f.name, *_dig(a, b))
    return None


_ROW_NAMES = {"leaderboard": "agent", "positions": "coin"}


def _row_difference(name: str, a: Any, b: Any) -> tuple[str, Any, Any] | None:
    """Where two lists of rows (a leaderboard, an account's positions) of the same length differ, as
    ``leaderboard[<agent>].<field>`` and both values; None when they are not such lists."""
    key = _ROW_NAMES.get(name)
    if key is None or not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))) or len(a) != len(b):
        return None
    for x, y in zip(a, b):
        if _same(x, y):
            continue
        if not (dataclasses.is_dataclass(x) and type(x) is type(y)):
            return None
        for f in dataclasses.fields(x):
            u, v = getattr(x, f.name), getattr(y, f.name)
            if not _same(u, v):
                return (f"{name}[{getattr(x, key, '?')}].{f.name}", u, v)
        return None
    return None


def _member_difference(a: Any, b: Any) -> tuple[str, Any, Any]:
    """Where two ``SwarmVoted.members`` lists differ, as ``members[<member>].<key>`` and both values."""
    if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))) or len(a) != len(b):
        return ("members", a, b)
    for x, y in zip(a, b):
        if _same(x, y):
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            who = x.get("member", "?")
            for k in dict.fromkeys([*x, *y]):
                if not _same(x.get(k), y.get(k)):
                    return (f"members[{who}].{k}", *_dig(x.get(k), y.get(k)))
        return ("members", x, y)
    return ("members", a, b)


def _dig(a: Any, b: Any) -> tuple[Any, Any]:
    """The innermost differing values of two containers (for a readable message)."""
    for _ in range(4):
        if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
            pair = next(((x, y) for x, y in zip(a, b) if not _same(x, y)), None)
        elif isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
            pair = next(((a[k], b[k]) for k in a if not _same(a[k], b[k])), None)
        elif dataclasses.is_dataclass(a) and type(a) is type(b):
            pair = next(((getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a) if not _same(getattr(a, f.name), getattr(b, f.name))), None)
        else:
            break
        if pair is None:
            break
        a, b = pair
    return a, b


def _short(v: Any) -> str:
    text = repr(v.__dict__ if dataclasses.is_dataclass(v) else v)
    return text if len(text) <= 120 else text[:117] + "..."


def _what(e: ev.Event) -> str:
    who = getattr(e, "agent", None)
    coin = getattr(e, "coin", None)
    return " ".join(str(x) for x in (e.type_name, who, coin if isinstance(coin, str) else None) if x)


@dataclass(frozen=True)
class Difference:
    """Where a journal and its re-execution part: ``cycle``, the journal ``line`` (None when the
    journal lacks an event re-execution produced), the event, the ``field`` and both values."""

    cycle: int
    line: int | None
    event: str
    field: str | None
    recorded: Any = None
    recomputed: Any = None
    note: str = ""

    def __str__(self) -> str:
        where = f"cycle {self.cycle}" + (f", line {self.line}" if self.line else "")
        if self.note:
            return f"{where}: {self.event}: {self.note}"
        return f"{where}: {self.event} {self.field}: recorded {_short(self.recorded)}, recomputed {_short(self.recomputed)}"


# --- re-execution ----------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """What ``reexecute`` found. ``cycles``: cycles re-executed and identical; ``events``: events
    compared; ``difference``: the first one, or None; ``partial_cycle``: the number of a cycle the
    journal ends inside (cut off by a crash), else None; ``resume_offset``: byte offset just past the
    last whole cycle (and the session messages after it): where a resumed session appends."""

    header: ev.SessionStarted
    cycles: int = 0
    events: int = 0
    difference: Difference | None = None
    partial_cycle: int | None = None
    partial_events: int = 0
    resume_offset: int = 0
    warnings: list[str] = field(default_factory=list)
    reexecution: "Reexecution | None" = None

    @property
    def state(self) -> ArenaState:
        assert self.reexecution is not None
        return self.reexecution.state


_ARENA_CLASS = None


def _reexecution_arena():
    """``arena.Arena`` re-executing a journal (``replaying``): the cycle runs as live, its
    ``MarketData`` the journaled one (the snapshot is built from it). Once re-execution is over (a
    resumed session goes on live) it is an ``Arena`` like any other."""
    global _ARENA_CLASS
    if _ARENA_CLASS is not None:
        return _ARENA_CLASS
    from arena_tui.engine.arena import Arena

    class ReexecutionArena(Arena):
        replaying = True
        recorded_data: dict | None = None
        recorded_rows: dict | None = None
        """The journaled ``MarketUpdated`` rows of the cycle (None: none was journaled)."""
        indicators = False
        """Recompute the indicators (``--verify-indicators``); otherwise the market rows' indicator
        columns are the journaled ones and only their prices, change, funding and open interest are
        recomputed (the ledger never reads an indicator; the rule-based agents' answers are journaled)."""

        async def _features(self, snap):
            if self.replaying and not self.indicators:
                return {}
            return await super()._features(snap)

        def _market_rows(self, snap, features) -> dict:
            rows = super()._market_rows(snap, features)
            recorded = self.recorded_rows
            if self.replaying and not self.indicators and recorded is not None:
                from arena_tui.engine.arena import CONTEXT_COLUMNS, INTRADAY_COLUMNS

                ctx = self.config.market.context_timeframe
                names = INTRADAY_COLUMNS + tuple(f"{n}_{ctx}" for n in CONTEXT_COLUMNS)
                for coin, row in rows.items():
                    rec = recorded.get(coin)
                    if type(rec) is dict:  # only the indicator columns, and only those a cycle writes
                        for n in names:
                            if n in rec:
                                row[n] = rec[n]
            return rows

        def _market_data(self, snap) -> dict:
            # the snapshot is the journaled MarketData's: what it holds that earlier ones did not
            # is that MarketData (``finish_replay`` tells the arena what was sent, for a resume)
            if self.replaying and self.recorded_data is not None:
                return self.recorded_data
            return super()._market_data(snap)

        def finish_replay(self, market: JournalMarket) -> None:
            """Re-execution is over: from now on a cycle runs as live, its MarketData holding what
            the journaled ones did not."""
            self.replaying = False
            candles, funding = market.last_times()
            self._sent_candles.update(candles)
            self._sent_funding.update(funding)

    _ARENA_CLASS = ReexecutionArena
    return ReexecutionArena


class Reexecution:
    """A fresh ``Arena`` over a ``JournalMarket`` and ``ReplayedAgent``s, built from a journal header.
    ``run_cycle(events)`` re-executes one recorded cycle and returns the first ``Difference``."""

    def __init__(
        self, header: ev.SessionStarted, *, listeners: tuple[Callable[[ev.Event], None], ...] = (), indicators: bool = False
    ) -> None:
        from arena_tui.config import config_from_json
        from arena_tui.engine.errors import ConfigError

        try:
            self.config = config_from_json(header.config if isinstance(header.config, dict) else {}, "the journal header")
        except ConfigError as exc:
            raise JournalError(str(exc)) from None
        names = [str(a.get("name")) for a in header.agents if isinstance(a, dict)]
        if len(names) != len(header.agents) or len(set(names)) != len(names) or not names:
            raise JournalError("the journal header's agent list is malformed (each agent needs a unique name).")
        self.header = header
        self.state = ArenaState(header)
        self.produced: list[ev.Event] = []
        self.produced_fell_back: list[ev.AgentFellBack] = []
        """``AgentFellBack`` events re-execution produced this cycle: a live session journals one the
        moment its agent falls back (other agents' events may come between it and the fallback's
        reply), so they are compared by agent, not by their place in the sequence."""
        self._cycle_time: int | None = None
        """The time of the last cycle re-executed (ms)."""
        self.bus = Bus(self.state, None, (self._collect, *listeners))
        m = self.config.market
        self.market = JournalMarket(header, tuple(dict.fromkeys((m.intraday_timeframe, m.context_timeframe))), _bundled_reference(header))
        self.turns = _Turns()
        prices = {a.name: agent_prices(a) for a in self.config.agents}
        fallback_prices = {a.name: agent_prices(a.fallback) for a in self.config.agents if a.fallback is not None}
        swarms = {a.name: SwarmSpec.of(a) for a in self.config.agents if a.kind == "swarm"}
        timed = {a.name for a in self.config.agents if a.kind == "recorded" and a.timing == "once"}
        self.agents = {
            name: ReplayedAgent(name, str(a.get("kind", "")), str(a.get("model", "") or ""), self.turns, prices=prices.get(name, Prices()),
                                fallback_prices=fallback_prices.get(name), swarm=swarms.get(name), timed=name in timed)
            for name, a in ((str(a.get("name")), a) for a in header.agents)
        }
        self.arena = _reexecution_arena()(self.config, self.market, list(self.agents.values()), self.bus)
        self.arena.indicators = indicators

    def _collect(self, e: ev.Event) -> None:
        t = type(e)
        if t is ev.AgentFellBack:
            self.produced_fell_back.append(e)
        elif t is not ev.ReasoningDelta:
            self.produced.append(e)

    def _delta_problem(self, d: ev.ReasoningDelta, cycle: ev.CycleStarted, replied: dict) -> str | None:
        """Reasoning text is display only (not recomputed), but it must sit where it belongs: in its
        cycle, at its clock, from an agent of the session that has not answered yet."""
        if d.cycle != cycle.cycle:
            return f"this text says cycle {d.cycle} but sits in cycle {cycle.cycle}"
        if d.agent not in self.agents:
            return f"{d.agent!r} is not an agent of this session"
        if d.agent in replied:
            return f"this text comes after {d.agent}'s reply"
        if d.member is not None:
            swarm = self.agents[d.agent].swarm
            if swarm is None:
                return f"{d.agent} is no swarm, yet this text names a member ({d.member!r})"
            if d.member not in swarm.members:
                return f"{d.member!r} is not a member of {d.agent}"
        if d.kind not in ("reasoning", "answer"):
            return f"its kind {d.kind!r} is neither reasoning nor answer"
        if not isinstance(d.text, str):
            return "its text is not text"
        if d.time != cycle.time and self.header.mode == "recorded":
            return f"its time {d.time} is not the cycle's {cycle.time}"
        return None

    async def run_cycle(self, recorded: list[tuple[int, ev.Event]]) -> Difference | None:
        """Re-execute the cycle whose events (with their line numbers) are ``recorded``, starting at
        its ``CycleStarted``; compare. A cycle cut off by a crash is compared as far as it goes."""
        first_line, first = recorded[0]
        assert isinstance(first, ev.CycleStarted)
        step = self.header.cycle_interval_ms
        previous, self._cycle_time = self._cycle_time, first.time
        if self.header.mode == "recorded" and previous is not None and first.time - previous != step:
            # a recorded market moves one cycle interval per cycle: the header's interval is a fact
            # the screen shows (and the Sharpe ratio's cycles per year came from it)
            return Difference(first.cycle, first_line, "CycleStarted", None,
                              note=f"it starts {first.time - previous} ms after the previous cycle, "
                                   f"but the header's cycle interval is {step} ms")
        data: ev.MarketData | None = None
        rows: ev.MarketUpdated | None = None
        failure: str | None = None
        replies: dict[str, ev.AgentReplied] = {}
        fell_back: dict[str, tuple[int, ev.AgentFellBack]] = {}
        votes: dict[str, ev.SwarmVoted] = {}
        deltas: dict[str, list[ev.ReasoningDelta]] = {}
        compared: list[tuple[int, ev.Event]] = []
        for line, e in recorded:
            t = type(e)
            if t is ev.ReasoningDelta:
                bad = self._delta_problem(e, first, replies)
                if bad:
                    return Difference(first.cycle, line, _what(e), None, note=bad)
                deltas.setdefault(e.agent, []).append(e)
                continue
            if t in _CONTROL_TYPES:
                self.state.apply(e)
                continue
            if t is ev.AgentFellBack:
                agent = self.agents.get(e.agent)
                if agent is None or agent.fallback_prices is None:
                    return Difference(first.cycle, line, _what(e), None, note=f"{e.agent!r} has no fallback in the header's config")
                if e.agent in replies:
                    return Difference(first.cycle, line, _what(e), None, note=f"it comes after {e.agent}'s reply")
                if e.agent in fell_back:
                    return Difference(first.cycle, line, _what(e), None, note=f"{e.agent} fell back twice in one cycle")
                fell_back[e.agent] = (line, e)
                continue
            if t is ev.SwarmVoted:
                agent = self.agents.get(e.agent)
                if agent is None or agent.swarm is None:
                    return Difference(first.cycle, line, _what(e), None, note=f"{e.agent!r} is no swarm in the header's config")
                if e.agent in replies:
                    return Difference(first.cycle, line, _what(e), None, note=f"it comes after {e.agent}'s reply")
                if e.agent in votes:
                    return Difference(first.cycle, line, _what(e), None, note=f"{e.agent} voted twice in one cycle")
                votes[e.agent] = e
            compared.append((line, e))
            if t is ev.MarketData and data is None:
                data = e
            elif t is ev.MarketUpdated and rows is None:
                rows = e
            elif t is ev.MarketFailed and failure is None:
                failure = e.reason
            elif t is ev.AgentReplied and e.agent not in replies:
                if e.agent not in self.agents:
                    return Difference(first.cycle, line, _what(e), None, note=f"{e.agent!r} is not an agent of this session")
                replies[e.agent] = e
        self.market.load(first.time, data, failure)
        if self.market.mismatch is not None:
            line = next((ln for ln, e in compared if e is data), first_line)
            return Difference(first.cycle, line, "MarketData", None, note=self.market.mismatch)
        # only agents the arena will ask take turns (a reply recorded for a halted agent is reported
        # by the comparison, and must not keep the others waiting)
        for name, r in replies.items():
            if self.agents[name].swarm is not None and name not in votes and r.failure_kind is None:
                line = next((ln for ln, e in compared if e is r), first_line)
                return Difference(first.cycle, line, _what(r), None, note=f"{name} is a swarm, but its answer comes without the vote (SwarmVoted) it came from")
        self.turns.reset(n for n in replies if self.state.agents[n].halted is None)
        for name, agent in self.agents.items():
            agent.load(replies.get(name), deltas.get(name, []), fell_back[name][1] if name in fell_back else None, votes.get(name))
        # the agents the arena will call, in its order (a halted one is not asked; a timed one
        # without a reply holds without a call)
        self.turns.plan(n for n, a in self.agents.items() if self.state.agents[n].halted is None and a.answers_at(first.time))
        self.produced = []
        self.produced_fell_back = []
        self.arena.recorded_data = data.coins if data is not None else None
        self.arena.recorded_rows = rows.coins if rows is not None and isinstance(rows.coins, dict) else None
        await self.arena.run_cycle(first.trigger)
        produced = self.produced
        for new in self.produced_fell_back:
            line, rec = fell_back.pop(new.agent, (None, None))
            if rec is None:  # (a reply's fallback comes only from a journaled AgentFellBack)
                return Difference(first.cycle, None, _what(new), None, note="the journal lacks this event, which re-execution produces here")
            if not _equal(rec, new):
                diff = _first_field_difference(rec, new)
                if diff is not None:
                    return Difference(first.cycle, line, _what(rec), *diff)
        for name, (line, rec) in fell_back.items():
            if replies.get(name) is not None:
                return Difference(first.cycle, line, _what(rec), None, note=f"{name}'s reply does not come from a fallback")
        complete = isinstance(compared[-1][1], ev.CycleCompleted)
        n = len(produced) if complete else min(len(produced), len(compared))
        for i in range(max(n, len(compared))):
            if i >= len(compared):
                e = produced[i]
                return Difference(first.cycle, None, _what(e), None, note="the journal lacks this event, which re-execution produces here")
            line, rec = compared[i]
            if i >= len(produced):
                return Difference(first.cycle, line, _what(rec), None, note="the journal has this event, which re-execution does not produce here")
            new = produced[i]
            if type(new) is not type(rec):
                return Difference(first.cycle, line, _what(rec), None, note=f"re-execution produces {_what(new)} here instead")
            if _equal(rec, new):
                continue
            diff = _first_field_difference(rec, new)
            if diff is not None:
                return Difference(first.cycle, line, _what(rec), *diff)
        return None


def _cycles(stream):
    """Group a journal stream into ("between", (line, event), offset after it) and ("cycle",
    [(line, event), ...], offset after its CycleCompleted; None when the journal ends inside it, -1
    when another cycle starts before it completes)."""
    pending: list[tuple[int, ev.Event]] | None = None
    for e in stream:
        line, offset = stream.line, stream.offset
        if isinstance(e, ev.CycleStarted):
            if pending is not None:
                yield ("cycle", pending, -1)  # a cycle with no end, followed by more
            pending = [(line, e)]
            continue
        if pending is not None:
            pending.append((line, e))
            if isinstance(e, ev.CycleCompleted):
                yield ("cycle", pending, offset)
                pending = None
            continue
        yield ("between", (line, e), offset)
    if pending is not None:
        yield ("cycle", pending, None)


async def reexecute(
    path: str | os.PathLike[str],
    *,
    stop_before_partial: bool = False,
    max_cycles: int | None = None,
    listeners: tuple[Callable[[ev.Event], None], ...] = (),
    progress: Callable[[int], None] | None = None,
    indicators: bool = False,
) -> VerifyResult:
    """Re-execute the journal at ``path`` and compare (see the module docstring). Stops at the first
    difference. ``stop_before_partial``: leave a cut-off last cycle alone (resume runs it again).
    ``max_cycles``: stop before re-executing any further cycle (``--resume-unverified`` continues from
    the last cycle that verified, so it re-executes to just before the one that differs).
    ``listeners`` see every produced event; ``progress(cycle)`` is called after each cycle.
    ``indicators``: recompute the market rows' indicators too (about 10% slower; by default their
    journaled values are kept, and everything the ledger and the accounts depend on is recomputed).
    Raises ``JournalError`` (one sentence) for a file that cannot be read as a journal."""
    from arena_tui.engine.journal import open_journal

    with open_journal(path) as stream:
        header = stream.header
        if header.schema < ev.LEGACY_SHARPE_SCHEMA:
            raise JournalError(
                f"{path} was written by an older arena-tui (journal schema {header.schema}) that did not record the "
                f"market data and answers re-execution needs; it can be replayed on screen but not verified or resumed."
            )
        try:
            rx = Reexecution(header, listeners=listeners, indicators=indicators)
        except JournalError:
            raise
        except Exception as exc:  # a header of the wrong shape
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
            raise JournalError(f"{path} has a session header arena-tui cannot use ({detail}).") from None
        result = VerifyResult(header, warnings=stream.warnings, reexecution=rx)
        result.resume_offset = stream.offset
        ended = False
        for kind, item, offset in _cycles(stream):
            if result.difference is not None:
                break
            if kind == "between":
                line, e = item
                if isinstance(e, CONTROL_EVENTS):
                    if isinstance(e, ev.SessionResumed):
                        ended = False
                    rx.state.apply(e)
                elif isinstance(e, ev.SessionEnded):
                    if e.cycles != rx.arena.cycle:
                        result.difference = Difference(rx.arena.cycle, line, "SessionEnded", "cycles", e.cycles, rx.arena.cycle)
                        break
                    ended = True
                    rx.state.apply(e)
                else:
                    result.difference = Difference(rx.arena.cycle, line, _what(e), None, note="this event is outside any cycle (a duplicated or misplaced line)")
                    break
                result.resume_offset = offset
                continue
            events = item
            first_line, first = events[0]
            if max_cycles is not None and result.cycles >= max_cycles:
                break
            if offset == -1:
                result.difference = Difference(first.cycle, first_line, "CycleStarted", None, note="this cycle has no CycleCompleted before the next one starts")
                break
            if ended:
                result.difference = Difference(first.cycle, first_line, "CycleStarted", None, note="a cycle after SessionEnded without a SessionResumed")
                break
            complete = offset is not None
            if not complete and stop_before_partial:
                result.partial_cycle = events[0][1].cycle
                result.partial_events = len(events)
                break
            try:
                diff = await rx.run_cycle(events)
            except JournalError as exc:
                diff = Difference(first.cycle, first_line, "CycleStarted", None, note=str(exc))
            except Exception as exc:  # a hand-edited or foreign line of the wrong shape: a sentence, not a traceback
                detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
                diff = Difference(first.cycle, first_line, "CycleStarted", None, note=f"this cycle cannot be re-executed: one of its events has values of the wrong type ({detail})")
            result.events += len(events)
            if diff is not None:
                result.difference = diff
                break
            if not complete:
                result.partial_cycle = events[0][1].cycle
                result.partial_events = len(events)
                break
            result.cycles += 1
            result.resume_offset = offset
            if progress is not None:
                progress(result.cycles)
    rx.arena.finish_replay(rx.market)  # a resumed session goes on live from here
    return result


def verify_journal(path: str | os.PathLike[str], **kwargs) -> VerifyResult:
    """``reexecute`` from synchronous code (its own event loop)."""
    return asyncio.run(reexecute(path, **kwargs))

