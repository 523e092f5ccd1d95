"""Rebuild the ledgers from a journal's events and check them against every recorded account value.

``verify(contents)`` re-executes every fill, exit and funding payment the journal records on fresh
ledgers (same starting cash, fees and slippage as the header's config) and, at every
``AccountUpdated``, marks to the recorded mark prices and compares the account value and cash with
the recorded ones to the cent. ``ResumeState`` uses the same rebuild to continue a stopped or crashed
session (``arena-tui --resume``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arena_tui.engine import events as ev
from arena_tui.engine.journal import JournalContents
from arena_tui.engine.ledger import Ledger

CENT = 0.005  # |difference| below half a cent rounds to the same cent


@dataclass
class Rebuilt:
    """Ledgers rebuilt from a journal, and what was found along the way."""

    ledgers: dict[str, Ledger]
    cycles_completed: int = 0
    last_cycle: int = 0
    last_cycle_time: int | None = None
    last_completed_time: int | None = None
    checks: int = 0
    first_mismatch: str | None = None
    last_leaderboard: tuple = ()
    values: dict[str, list[float]] = field(default_factory=dict)
    halted: dict[str, str] = field(default_factory=dict)
    first_prices: dict[str, float] | None = None
    benchmark_entry: float | None = None
    partial_cycle: bool = False
    fills_in_partial: int = 0


def _ledger_from_header(header: ev.SessionStarted) -> Ledger:
    from arena_tui.engine.arena import make_ledger

    cfg = dict(header.config or {})
    cfg.setdefault("arena", {})
    cfg["arena"] = {**cfg["arena"], "starting_cash": header.starting_cash}
    return make_ledger(cfg)


def rebuild(contents: JournalContents, *, check: bool = True) -> Rebuilt:
    """Re-execute the journal on fresh ledgers; with ``check``, compare every AccountUpdated."""
    header = contents.header
    ledgers = {a["name"]: _ledger_from_header(header) for a in header.agents}
    out = Rebuilt(ledgers)
    completed_cycle = 0
    for e in contents.events:
        if isinstance(e, ev.CycleStarted):
            out.last_cycle = e.cycle
            out.last_cycle_time = e.time
            out.partial_cycle = True
            out.fills_in_partial = 0
        elif isinstance(e, ev.OrderFilled):
            led = ledgers[e.agent]
            if e.action == "open":
                fill = led.open(
                    e.coin,
                    e.side,
                    e.quantity,
                    e.reference_price,
                    e.leverage,
                    time=e.time,
                    stop_loss=e.stop_loss,
                    profit_target=e.profit_target,
                    invalidation_condition=e.invalidation_condition,
                    confidence=e.confidence,
                    risk_usd=e.risk_usd,
                )
                if check and out.first_mismatch is None and abs(fill.price - e.price) > 1e-9 * max(1.0, abs(e.price)):
                    out.first_mismatch = f"cycle {e.cycle}: {e.agent} {e.coin} fill at {fill.price} but the journal says {e.price}"
            out.fills_in_partial += 1
        elif isinstance(e, ev.PositionClosed):
            led = ledgers[e.agent]
            if e.coin in led.positions:
                led.close(e.coin, e.reference_price, time=e.time, reason=e.reason)  # type: ignore[arg-type]
            elif check and out.first_mismatch is None:
                out.first_mismatch = f"cycle {e.cycle}: {e.agent} closes {e.coin} but has no such position"
        elif isinstance(e, ev.FundingPaid):
            ledgers[e.agent].apply_funding(e.coin, e.time, e.rate, e.mark_price)
        elif isinstance(e, ev.AccountUpdated):
            led = ledgers[e.agent]
            led.mark({p["coin"]: p["mark_price"] for p in e.positions})
            out.values.setdefault(e.agent, []).append(e.account_value)
            if check:
                out.checks += 1
                if out.first_mismatch is None:
                    value, cash = led.account_value, led.cash
                    if abs(value - e.account_value) >= CENT or abs(cash - e.cash) >= CENT:
                        out.first_mismatch = (
                            f"cycle {e.cycle}: {e.agent} account value rebuilt {value:,.2f} (cash {cash:,.2f}) "
                            f"but recorded {e.account_value:,.2f} (cash {e.cash:,.2f})"
                        )
        elif isinstance(e, ev.MarketUpdated):
            if out.first_prices is None:
                out.first_prices = {c: r["price"] for c, r in e.coins.items()}
                btc = e.coins.get("BTC")
                out.benchmark_entry = btc["price"] if btc else None
        elif isinstance(e, ev.AgentHalted):
            out.halted[e.agent] = e.reason
        elif isinstance(e, ev.CycleCompleted):
            out.cycles_completed += 1
            completed_cycle = e.cycle
            out.last_completed_time = e.time
            out.last_leaderboard = tuple(e.leaderboard)
            out.partial_cycle = False
    if out.last_cycle == completed_cycle:
        out.partial_cycle = False
    return out


@dataclass
class ResumeState:
    """What ``ArenaSession`` needs to continue a journal: rebuilt ledgers, the cycle count, the clock
    (the last started cycle's time; the session advances one interval before its next cycle)."""

    header: ev.SessionStarted
    rebuilt: Rebuilt
    note: str

    @classmethod
    def from_journal(cls, contents: JournalContents) -> "ResumeState":
        rb = rebuild(contents, check=False)
        if rb.partial_cycle:
            note = (
                f"resumed after cycle {rb.last_cycle}, which was cut off; its {rb.fills_in_partial} recorded "
                f"fill(s) are kept and it is not run again"
            )
        else:
            note = f"resumed after cycle {rb.last_cycle}"
        return cls(contents.header, rb, note)

    @property
    def clock(self) -> int:
        return self.rebuilt.last_cycle_time if self.rebuilt.last_cycle_time is not None else self.header.time

    def apply(self, arena) -> None:
        """Load the rebuilt state into a fresh ``Arena``."""
        rb = self.rebuilt
        arena.cycle = rb.last_cycle
        arena.session_start = self.header.time
        arena.last_settled = self.clock
        arena.first_prices = rb.first_prices
        arena.benchmark.entry_price = rb.benchmark_entry
        for name, state in arena.states.items():
            if name in rb.ledgers:
                state.ledger = rb.ledgers[name]
            if name in rb.halted:
                state.halted = rb.halted[name]
            # replay the recorded account values; the closed trades are counted with the last one
            values = rb.values.get(name, [])
            for value in values[:-1]:
                state.running.update(value, ())
            if values:
                state.figures = state.running.update(values[-1], state.ledger.trades)
