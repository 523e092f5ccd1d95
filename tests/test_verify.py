"""The edited-journal suite: verification by re-execution catches every edit of a recorded journal
that changes a figure a user reads.

One journal is recorded in a fixture: a 60-cycle headless session over the bundled market, with the
four baselines and a scripted recorded agent whose answers make the rarer events happen (a fill with
a stop and a target, rejected decisions, an answer that cannot be parsed, a missing answer, a halt).
The window has agent closes, stop-losses, take-profits and a funding time. Each variant below edits
that journal (``MUTATIONS``: name -> function(lines) -> lines) and ``verify_journal`` must report a
difference; the variants that by design change nothing a user reads (``HARMLESS``) must verify as
identical.

The journal is written compactly (``journal``: a per-cycle event as its changes from the one before
it); the variants edit it with every event whole (``journal.expanded_lines``, itself a journal that
verifies), so that they can change a field by name. ``COMPACT_EDITS`` edit the compact lines
themselves.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import crash_driver as cd
import pytest

from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import expanded_lines
from arena_tui.engine.verify import verify_journal

START = "2025-10-21T12:00:00Z"
CYCLES = 60
T0 = 1761048000000  # START in ms
INTERVAL = 300_000
SCRIPTED = "Scripted (recorded)"
TREND, RSI, HOLD, FLAT = "Trend (rule-based)", "RSI revert (rule-based)", "BTC hold (rule-based)", "Flat (rule-based)"

Lines = list[str]


# --- the recorded journal ------------------------------------------------------------------------------


def _answer(**coins) -> str:
    return json.dumps({c: {"coin": c, **v} for c, v in coins.items()}, indent=2)


HOLD_ = {"signal": "hold"}
SCRIPT = (
    # (cycle from which the record answers, answer text, reasoning text); before cycle 2 there is
    # no record: cycle 1 fails as "empty"
    (
        2,
        _answer(
            ETH={"signal": "buy_to_enter", "quantity": 0.5, "leverage": 3, "profit_target": 4500.0, "stop_loss": 3500.0, "confidence": 0.6,
                 "risk_usd": 200.0, "invalidation_condition": "ETH below 3500", "justification": "trend up"},
            DOGE={"signal": "buy_to_enter", "quantity": 1000, "leverage": 50, "profit_target": 0.25, "stop_loss": 0.18, "confidence": 0.5,
                  "risk_usd": 20.0, "justification": "too much leverage"},
            XRP={"signal": "buy_to_enter", "quantity": 0.5, "leverage": 2, "profit_target": 3.0, "stop_loss": 2.0, "confidence": 0.5,
                 "risk_usd": 1.0, "justification": "too small"},
            BTC=HOLD_,
        ),
        "ETH looks strong; DOGE and XRP too.",
    ),
    (3, _answer(BTC=HOLD_, ETH=HOLD_), "holding"),
    (8, "I have no opinion today.", "thinking..."),
    (9, _answer(BTC=HOLD_), "holding"),
    (12, _answer(SOL={"signal": "sell_to_enter", "quantity": 5, "leverage": 5, "profit_target": 150.0, "stop_loss": 188.5, "confidence": 0.7,
                      "risk_usd": 20.0, "justification": "fade"}), "short SOL"),
    (13, _answer(SOL=HOLD_), "holding"),
    (40, _answer(BTC={"signal": "close"}), "close BTC (there is none)"),
    (41, _answer(BTC=HOLD_), "holding"),
    (55, "nothing to say", ""),  # cycles 55-57 fail to parse: halted after 3 in a row
)

CONFIG = f"""
[market]
start = "{START}"

[arena]
halt_after_failures = 3

[[agents]]
name = "{TREND}"
kind = "baseline"
strategy = "trend_follower"

[[agents]]
name = "{RSI}"
kind = "baseline"
strategy = "rsi_mean_reversion"

[[agents]]
name = "{HOLD}"
kind = "baseline"
strategy = "btc_buy_and_hold"

[[agents]]
name = "{FLAT}"
kind = "baseline"
strategy = "always_flat"

[[agents]]
name = "{SCRIPTED}"
kind = "recorded"
model = "scripted"
path = "scripted.jsonl"
"""


def record_journal(workdir: Path) -> Path:
    """Record the journal the suite edits (60 cycles, headless); returns its path."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / "scripted.jsonl", "w", encoding="utf-8") as fh:
        for cycle, answer, reasoning in SCRIPT:
            at = (T0 + (cycle - 1) * INTERVAL) / 1000
            fh.write(json.dumps({"timestamp": at, "model_id": "scripted", "cycle_id": cycle, "answer": answer, "reasoning": reasoning}) + "\n")
    (workdir / "arena.toml").write_text(CONFIG, encoding="utf-8")
    out = cd.arena(["--headless", "--cycles", str(CYCLES), "--journal", "recorded.jsonl"], workdir)
    if out.returncode != 0:
        raise RuntimeError(f"recording the journal failed: {out.stderr}")
    return workdir / "recorded.jsonl"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    return record_journal(tmp_path_factory.mktemp("verify"))


@pytest.fixture(scope="module")
def lines(recorded) -> Lines:
    """The recorded journal with every event whole, one a line."""
    return [line + "\n" for line in expanded_lines(recorded)]


@pytest.fixture(scope="module")
def compact(recorded) -> Lines:
    """The recorded journal as written (compact)."""
    return recorded.read_text(encoding="utf-8").splitlines(keepends=True)


# --- editing helpers -----------------------------------------------------------------------------------


def dumps(d: dict) -> str:
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False, allow_nan=True) + "\n"


def parsed(lines: Lines) -> list[dict]:
    return [json.loads(x) for x in lines]


def find(lines: Lines, kind: str, pred: Callable[[dict], bool] = lambda d: True, *, last: bool = False) -> int:
    """Index of the first (``last``: the last) line of ``kind`` for which ``pred`` holds."""
    hits = [i for i, d in enumerate(parsed(lines)) if d["type"] == kind and pred(d)]
    if not hits:
        raise LookupError(f"no {kind} line matches")
    return hits[-1] if last else hits[0]


def cycle_range(lines: Lines, cycle: int) -> tuple[int, int]:
    """[start, end) line indices of cycle ``cycle`` (CycleStarted .. CycleCompleted)."""
    a = find(lines, "CycleStarted", lambda d: d["cycle"] == cycle)
    b = find(lines, "CycleCompleted", lambda d: d["cycle"] == cycle)
    return a, b + 1


def edit(kind: str, change: Callable[[dict], None], pred: Callable[[dict], bool] = lambda d: True, *, last: bool = False):
    """A mutation: ``change`` (in place) the first (``last``) event of ``kind`` matching ``pred``."""

    def apply(lines: Lines) -> Lines:
        i = find(lines, kind, pred, last=last)
        d = json.loads(lines[i])
        before = copy.deepcopy(d)
        change(d)
        assert d != before, f"the edit of {kind} changed nothing"
        return lines[:i] + [dumps(d)] + lines[i + 1 :]

    return apply


def setf(path: tuple, f: Callable):
    """A ``change`` that sets the value at ``path`` (keys and indices) to ``f(value)``."""

    def change(d: dict) -> None:
        obj = d
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = f(obj[path[-1]])

    return change


def delete(kind: str, pred: Callable[[dict], bool] = lambda d: True):
    def apply(lines: Lines) -> Lines:
        i = find(lines, kind, pred)
        return lines[:i] + lines[i + 1 :]

    return apply


def duplicate(kind: str, pred: Callable[[dict], bool] = lambda d: True, *, last: bool = False):
    def apply(lines: Lines) -> Lines:
        i = find(lines, kind, pred, last=last)
        return lines[: i + 1] + [lines[i]] + lines[i + 1 :]

    return apply


def insert_after(kind: str, pred: Callable[[dict], bool], make: Callable[[dict], dict]):
    """Insert ``make(found event)`` after the first event of ``kind`` matching ``pred``."""

    def apply(lines: Lines) -> Lines:
        i = find(lines, kind, pred)
        return lines[: i + 1] + [dumps(make(json.loads(lines[i])))] + lines[i + 1 :]

    return apply


def swap_lines(kind_a: str, pred_a, kind_b: str, pred_b):
    def apply(lines: Lines) -> Lines:
        i, j = sorted((find(lines, kind_a, pred_a), find(lines, kind_b, pred_b)))
        out = list(lines)
        out[i], out[j] = out[j], out[i]
        return out

    return apply


def swap_cycles(c1: int, c2: int, *, renumber: bool):
    """Swap two consecutive cycles' blocks; ``renumber`` keeps the numbering in order (the contents move)."""

    def apply(lines: Lines) -> Lines:
        a1, b1 = cycle_range(lines, c1)
        a2, b2 = cycle_range(lines, c2)
        assert b1 == a2
        first, second = lines[a1:b1], lines[a2:b2]
        if renumber:
            second = [dumps({**d, "cycle": c1}) for d in parsed(second)]
            first = [dumps({**d, "cycle": c2}) for d in parsed(first)]
        return lines[:a1] + second + first + lines[b2:]

    return apply


def move_to_next_cycle(kind: str, pred: Callable[[dict], bool], *, renumber: bool):
    """Move an event into the next cycle (just before its CycleCompleted)."""

    def apply(lines: Lines) -> Lines:
        i = find(lines, kind, pred)
        d = json.loads(lines[i])
        rest = lines[:i] + lines[i + 1 :]
        j = find(rest, "CycleCompleted", lambda e: e["cycle"] == d["cycle"] + 1)
        if renumber:
            d["cycle"] += 1
        return rest[:j] + [dumps(d)] + rest[j:]

    return apply


def shift_cycle_clock(cycle: int, by: int):
    """Every event of one cycle ``by`` ms later (CycleStarted included), the market data as it was."""

    def apply(lines: Lines) -> Lines:
        a, b = cycle_range(lines, cycle)
        moved = [dumps({**d, "time": d["time"] + by}) for d in parsed(lines[a:b])]
        return lines[:a] + moved + lines[b:]

    return apply


def header(change: Callable[[dict], None]):
    def apply(lines: Lines) -> Lines:
        d = json.loads(lines[0])
        change(d)
        return [dumps(d)] + lines[1:]

    return apply


def answer_text(agent: str, cycle: int, old: str, new: str):
    """Replace ``old`` with ``new`` in ``agent``'s answer text (AgentReplied) of ``cycle``."""

    def change(d: dict) -> None:
        assert old in d["text"], (agent, cycle, old)
        d["text"] = d["text"].replace(old, new, 1)

    return edit("AgentReplied", change, lambda d: d["agent"] == agent and d["cycle"] == cycle)


def candle_close(cycle: int, coin: str, factor: float):
    """The newest 5m close of ``coin`` in cycle ``cycle``'s MarketData, times ``factor``."""

    def change(d: dict) -> None:
        c = d["coins"][coin]["candles"]["5m"]
        c["close"][-1] = round(c["close"][-1] * factor, 6)

    return edit("MarketData", change, lambda d: d["cycle"] == cycle)


def mul(k: float):
    return lambda v: v * k


def add(k: float):
    return lambda v: v + k


# predicates over the recorded events (names say which)
def of(agent: str, **fields):
    return lambda d: d.get("agent") == agent and all(d.get(k) == v for k, v in fields.items())


def at_cycle(c: int):
    return lambda d: d["cycle"] == c


def reason(r: str):
    return lambda d: d.get("reason") == r


nonzero_funding = lambda d: d["amount"] != 0
with_stop = lambda d: any(p.get("stop_loss") is not None for p in d["positions"])
first_position_with_stop = lambda d: next(i for i, p in enumerate(d["positions"]) if p.get("stop_loss") is not None)


def position_field(name: str, f: Callable):
    """An AccountUpdated position (the first with a stop) with ``name`` changed by ``f``."""

    def change(d: dict) -> None:
        i = first_position_with_stop(d)
        d["positions"][i][name] = f(d["positions"][i][name])

    return edit("AccountUpdated", change, lambda d: d["cycle"] >= 3 and with_stop(d))


def final_row(index: int, name: str, f: Callable):
    return edit("CycleCompleted", setf(("leaderboard", index, name), f), last=True)


def swap_ranks(d: dict) -> None:
    lb = d["leaderboard"]
    lb[0], lb[1] = lb[1], lb[0]
    lb[0]["rank"], lb[1]["rank"] = 1, 2


def with_row(pred: Callable[[dict], bool]):
    """CycleCompleted whose leaderboard has a row matching ``pred``."""
    return lambda d: any(pred(r) for r in d["leaderboard"])


def row_field(pred: Callable[[dict], bool], name: str, f: Callable, cycle_pred=lambda d: True):
    def change(d: dict) -> None:
        r = next(r for r in d["leaderboard"] if pred(r))
        r[name] = f(r[name])

    return edit("CycleCompleted", change, lambda d: cycle_pred(d) and with_row(pred)(d))


def decision_quantity(d: dict) -> None:
    row = next(r for r in d["decisions"] if "quantity" in r)
    row["quantity"] = row["quantity"] * 2


# --- the variants --------------------------------------------------------------------------------------

# (area, name, mutation). Every one changes a figure or a fact a user reads (or an input they come from).
MUTATIONS: list[tuple[str, str, Callable[[Lines], Lines]]] = [
    # fills
    ("fills", "OrderFilled price", edit("OrderFilled", setf(("price",), mul(1.001)))),
    ("fills", "OrderFilled fee x10", edit("OrderFilled", setf(("fee",), mul(10)))),
    ("fills", "OrderFilled quantity", edit("OrderFilled", setf(("quantity",), mul(1.01)))),
    ("fills", "OrderFilled notional", edit("OrderFilled", setf(("notional",), add(1.0)))),
    ("fills", "OrderFilled margin", edit("OrderFilled", setf(("margin",), add(1.0)))),
    ("fills", "OrderFilled leverage", edit("OrderFilled", setf(("leverage",), mul(2)))),
    ("fills", "OrderFilled reference price", edit("OrderFilled", setf(("reference_price",), mul(1.001)))),
    ("fills", "OrderFilled side", edit("OrderFilled", setf(("side",), lambda v: -v))),
    ("fills", "OrderFilled stop-loss", edit("OrderFilled", setf(("stop_loss",), mul(0.99)), of(SCRIPTED))),
    ("fills", "OrderFilled profit target", edit("OrderFilled", setf(("profit_target",), mul(1.01)), of(SCRIPTED))),
    ("fills", "OrderFilled of a close: fee", edit("OrderFilled", setf(("fee",), mul(10)), lambda d: d["action"] == "close")),
    # closed trades
    ("closed trades", "PositionClosed net PnL", edit("PositionClosed", setf(("net_pnl",), add(100.0)))),
    ("closed trades", "PositionClosed realized PnL", edit("PositionClosed", setf(("realized_pnl",), add(100.0)))),
    ("closed trades", "PositionClosed exit price", edit("PositionClosed", setf(("exit_price",), mul(1.001)))),
    ("closed trades", "PositionClosed entry price", edit("PositionClosed", setf(("entry_price",), mul(1.001)))),
    ("closed trades", "PositionClosed exit fee", edit("PositionClosed", setf(("exit_fee",), mul(10)))),
    ("closed trades", "PositionClosed entry fee", edit("PositionClosed", setf(("entry_fee",), mul(10)))),
    ("closed trades", "PositionClosed funding paid", edit("PositionClosed", setf(("funding_paid",), add(5.0)))),
    ("closed trades", "PositionClosed reason stop_loss -> take_profit", edit("PositionClosed", setf(("reason",), lambda v: "take_profit"), reason("stop_loss"))),
    ("closed trades", "PositionClosed reason take_profit -> agent", edit("PositionClosed", setf(("reason",), lambda v: "agent"), reason("take_profit"))),
    ("closed trades", "PositionClosed quantity", edit("PositionClosed", setf(("quantity",), mul(1.01)))),
    ("closed trades", "PositionClosed net PnL of a stop-loss", edit("PositionClosed", setf(("net_pnl",), lambda v: -v), reason("stop_loss"))),
    # funding
    ("funding", "FundingPaid amount x10", edit("FundingPaid", setf(("amount",), mul(10)), nonzero_funding)),
    ("funding", "FundingPaid amount sign", edit("FundingPaid", setf(("amount",), lambda v: -v), nonzero_funding)),
    ("funding", "FundingPaid rate", edit("FundingPaid", setf(("rate",), mul(2)), nonzero_funding)),
    ("funding", "FundingPaid mark price", edit("FundingPaid", setf(("mark_price",), mul(1.01)), nonzero_funding)),
    ("funding", "FundingPaid of the scripted agent", edit("FundingPaid", setf(("amount",), add(1.0)), of(SCRIPTED))),
    # accounts
    ("accounts", "AccountUpdated cash", edit("AccountUpdated", setf(("cash",), add(5000.0)), at_cycle(6))),
    ("accounts", "AccountUpdated account value", edit("AccountUpdated", setf(("account_value",), add(5000.0)), at_cycle(6))),
    ("accounts", "AccountUpdated realized PnL", edit("AccountUpdated", setf(("realized_pnl",), add(10.0)), at_cycle(6))),
    ("accounts", "AccountUpdated unrealized PnL", edit("AccountUpdated", setf(("unrealized_pnl",), add(10.0)), at_cycle(6))),
    ("accounts", "AccountUpdated fees paid", edit("AccountUpdated", setf(("fees_paid",), mul(10)), lambda d: d["cycle"] == 6 and d["fees_paid"] > 0)),
    ("accounts", "AccountUpdated funding paid", edit("AccountUpdated", setf(("funding_paid",), add(1.0)), at_cycle(6))),
    ("accounts", "AccountUpdated return pct", edit("AccountUpdated", setf(("return_pct",), add(1.0)), at_cycle(6))),
    ("accounts", "position quantity", position_field("quantity", mul(2))),
    ("accounts", "position entry price", position_field("entry_price", mul(1.01))),
    ("accounts", "position mark price", position_field("mark_price", mul(1.01))),
    ("accounts", "position unrealized PnL", position_field("unrealized_pnl", add(10.0))),
    ("accounts", "position leverage", position_field("leverage", mul(2))),
    ("accounts", "position liquidation price", position_field("liquidation_price", mul(1.01))),
    ("accounts", "position stop-loss", position_field("stop_loss", mul(0.99))),
    ("accounts", "position profit target", position_field("profit_target", mul(1.01))),
    ("accounts", "position side", position_field("side", lambda v: -v)),
    ("accounts", "position coin", position_field("coin", lambda v: "DOGE" if v != "DOGE" else "XRP")),
    ("accounts", "position removed", edit("AccountUpdated", lambda d: d["positions"].pop(), lambda d: d["cycle"] >= 3 and d["positions"] != [])),
    # usage and cost: primary inputs (from the API) a user reads as totals, which the leaderboard rows
    # record (journal schema 6), so an edit of one reply's usage no longer matches its cycle's standings
    ("usage", "AgentReplied output tokens", edit("AgentReplied", setf(("output_tokens",), add(1000)), of(SCRIPTED, cycle=10))),
    ("usage", "AgentReplied input tokens", edit("AgentReplied", setf(("input_tokens",), add(1000)), of(SCRIPTED, cycle=10))),
    ("usage", "AgentReplied reasoning tokens", edit("AgentReplied", setf(("reasoning_tokens",), add(10)), of(SCRIPTED, cycle=10))),
    ("usage", "AgentReplied cached input tokens", edit("AgentReplied", setf(("cached_input_tokens",), add(10)), of(SCRIPTED, cycle=10))),
    ("usage", "final leaderboard: an agent's output tokens", final_row(-1, "output_tokens", add(1))),
    ("usage", "final leaderboard: an agent's cost", final_row(-1, "cost_usd", add(0.01))),
    # leaderboard
    ("leaderboard", "final leaderboard: last row +$5,000", final_row(-1, "account_value", add(5000.0))),
    ("leaderboard", "final leaderboard: top row +$5,000", final_row(0, "account_value", add(5000.0))),
    ("leaderboard", "final leaderboard: ranks swapped", edit("CycleCompleted", swap_ranks, last=True)),
    ("leaderboard", "final leaderboard: return", final_row(0, "return_pct", add(1.0))),
    ("leaderboard", "final leaderboard: PnL", final_row(0, "pnl", add(100.0))),
    ("leaderboard", "final leaderboard: fees", row_field(lambda r: r["fees"] > 0, "fees", mul(10), lambda d: d["cycle"] == CYCLES)),
    # 5 hours of cycles: no hourly Sharpe ratio yet, so a journal that claims one is caught
    ("leaderboard", "final leaderboard: sharpe", row_field(lambda r: r["sharpe"] is None, "sharpe", lambda v: 1.5, lambda d: d["cycle"] == CYCLES)),
    ("leaderboard", "final leaderboard: win rate", row_field(lambda r: r["win_rate"] is not None, "win_rate", lambda v: 100.0 - v + 1, lambda d: d["cycle"] == CYCLES)),
    ("leaderboard", "final leaderboard: max drawdown", row_field(lambda r: r["max_drawdown_pct"] is not None, "max_drawdown_pct", add(1.0), lambda d: d["cycle"] == CYCLES)),
    ("leaderboard", "final leaderboard: trades", row_field(lambda r: r["trades"] > 0, "trades", add(1), lambda d: d["cycle"] == CYCLES)),
    ("leaderboard", "final leaderboard: halted", row_field(lambda r: r["agent"] == FLAT, "halted", lambda v: not v, lambda d: d["cycle"] == CYCLES)),
    ("leaderboard", "final leaderboard: halted cleared", row_field(lambda r: r["halted"], "halted", lambda v: not v, lambda d: d["cycle"] == CYCLES)),
    ("leaderboard", "leaderboard mid-session: account value", row_field(lambda r: r["agent"] == TREND, "account_value", add(5000.0), at_cycle(10))),
    ("leaderboard", "leaderboard: benchmark row", row_field(lambda r: r["kind"] == "benchmark", "account_value", add(100.0), at_cycle(20))),
    # market
    ("market", "MarketUpdated price", edit("MarketUpdated", setf(("coins", "BTC", "price"), mul(1.01)), at_cycle(5))),
    ("market", "MarketUpdated a column added", edit("MarketUpdated", lambda d: d["coins"]["ETH"].update(rsi99=50.0), at_cycle(5))),
    ("market", "MarketUpdated funding rate", edit("MarketUpdated", setf(("coins", "BTC", "funding_rate"), mul(2)), at_cycle(5))),
    ("market", "MarketUpdated change", edit("MarketUpdated", setf(("coins", "BTC", "change_pct"), add(1.0)), at_cycle(5))),
    # agents: decisions, failures, halts
    ("agents", "DecisionParsed quantity", edit("DecisionParsed", decision_quantity, lambda d: any("quantity" in r for r in d["decisions"]))),
    ("agents", "DecisionParsed signal", edit("DecisionParsed", setf(("decisions", 0, "signal"), lambda v: "buy_to_enter" if v != "buy_to_enter" else "hold"))),
    ("agents", "DecisionRejected reason", edit("DecisionRejected", setf(("reason",), lambda v: v + " (edited)"))),
    ("agents", "DecisionRejected rule", edit("DecisionRejected", setf(("rule",), lambda v: "max_open_positions"))),
    ("agents", "DecisionRejected coin", edit("DecisionRejected", setf(("coin",), lambda v: "BNB"))),
    ("agents", "AgentFailed reason", edit("AgentFailed", setf(("reason",), lambda v: "timeout"), lambda d: d["kind"] == "parse")),
    ("agents", "AgentFailed kind", edit("AgentFailed", setf(("kind",), lambda v: "timeout"))),
    ("agents", "AgentFailed injected", insert_after("AgentReplied", lambda d: d["agent"] == FLAT and d["cycle"] == 10,
                                                    lambda d: {"type": "AgentFailed", "cycle": 10, "time": d["time"], "agent": FLAT, "kind": "timeout", "reason": "no answer"})),
    ("agents", "AgentHalted injected", insert_after("AccountUpdated", lambda d: d["agent"] == FLAT and d["cycle"] == 20,
                                                    lambda d: {"type": "AgentHalted", "cycle": 20, "time": d["time"], "agent": FLAT, "reason": "halted"})),
    ("agents", "AgentHalted reason", edit("AgentHalted", setf(("reason",), lambda v: v.replace("3", "4")))),
    ("agents", "AgentHalted agent", edit("AgentHalted", setf(("agent",), lambda v: FLAT))),
    ("agents", "AgentReplied cost", edit("AgentReplied", setf(("cost_usd",), add(1.25)), of(SCRIPTED, cycle=10))),
    ("agents", "AgentStarted agent", edit("AgentStarted", setf(("agent",), lambda v: FLAT), at_cycle(4))),
    # structure: deleted lines
    *[
        ("structure", f"delete a {kind} line" + (" (the last)" if kind == "CycleCompleted" and pred is None else ""), delete(kind, pred or at_cycle(CYCLES)))
        for kind, pred in (
            ("CycleStarted", at_cycle(10)),
            ("MarketData", at_cycle(10)),
            ("MarketUpdated", at_cycle(10)),
            ("AgentStarted", at_cycle(10)),
            ("AgentReplied", at_cycle(10)),
            ("DecisionParsed", at_cycle(10)),
            ("DecisionRejected", lambda d: True),
            ("AgentFailed", lambda d: True),
            ("AgentHalted", lambda d: True),
            ("OrderFilled", lambda d: d["cycle"] >= 10),
            ("PositionClosed", lambda d: True),
            ("FundingPaid", lambda d: True),
            ("AccountUpdated", at_cycle(10)),
            ("CycleCompleted", at_cycle(10)),
            ("CycleCompleted", None),
        )
    ],
    # structure: duplicated lines
    *[
        ("structure", f"duplicate a {kind} line" + (" (the last)" if last else ""), duplicate(kind, pred, last=last))
        for kind, pred, last in (
            ("CycleStarted", at_cycle(10), False),
            ("MarketData", at_cycle(10), False),
            ("AgentReplied", at_cycle(10), False),
            ("DecisionParsed", at_cycle(10), False),
            ("OrderFilled", lambda d: True, False),
            ("PositionClosed", lambda d: True, False),
            ("FundingPaid", lambda d: True, False),
            ("AccountUpdated", at_cycle(10), False),
            ("CycleCompleted", at_cycle(10), False),
            ("CycleCompleted", lambda d: True, True),
        )
    ],
    # structure: order, cycles and clocks
    ("structure", "swap two cycles", swap_cycles(10, 11, renumber=False)),
    ("structure", "swap two cycles' contents (numbers kept in order)", swap_cycles(10, 11, renumber=True)),
    ("structure", "swap two AccountUpdated within a cycle", swap_lines("AccountUpdated", of(TREND, cycle=10), "AccountUpdated", of(RSI, cycle=10))),
    ("structure", "swap two fills within a cycle", swap_lines("OrderFilled", of(TREND, coin="ETH", cycle=1), "OrderFilled", of(TREND, coin="SOL", cycle=1))),
    ("structure", "swap two agents' turns within a cycle", lambda lines: _swap_turns(lines, 10, TREND, RSI)),
    ("structure", "swap MarketData and MarketUpdated", swap_lines("MarketData", at_cycle(10), "MarketUpdated", at_cycle(10))),
    ("structure", "move a fill to the next cycle", move_to_next_cycle("OrderFilled", lambda d: d["cycle"] >= 5, renumber=True)),
    ("structure", "move a fill to the next cycle (cycle number kept)", move_to_next_cycle("OrderFilled", lambda d: d["cycle"] >= 5, renumber=False)),
    ("structure", "move a stop-loss exit to the next cycle", move_to_next_cycle("PositionClosed", reason("stop_loss"), renumber=True)),
    ("structure", "change a cycle number", edit("CycleStarted", setf(("cycle",), add(1)), at_cycle(10))),
    ("structure", "change an event's cycle number", edit("AccountUpdated", setf(("cycle",), add(1)), at_cycle(10))),
    ("structure", "change a cycle's clock", edit("CycleStarted", setf(("time",), add(INTERVAL)), at_cycle(10))),
    ("structure", "change a fill's time", edit("OrderFilled", setf(("time",), add(INTERVAL)))),
    ("structure", "change a stop-loss exit's time", edit("PositionClosed", setf(("time",), add(-INTERVAL)), reason("stop_loss"))),
    ("structure", "shift a whole cycle's clock", shift_cycle_clock(10, INTERVAL)),
    ("structure", "SessionEnded cycles", edit("SessionEnded", setf(("cycles",), add(1)))),
    # primary inputs
    ("primary inputs", "MarketData candle close", candle_close(10, "BTC", 1.01)),
    ("primary inputs", "MarketData candle close of an open position's coin", candle_close(20, "ETH", 0.97)),
    ("primary inputs", "MarketData funding rate", edit("MarketData", lambda d: d["coins"]["ETH"]["funding"]["rate"].__setitem__(-1, d["coins"]["ETH"]["funding"]["rate"][-1] * 3),
                                                       lambda d: d["cycle"] > 1 and len(d["coins"]["ETH"]["funding"]["rate"]) > 0)),
    ("primary inputs", "MarketData open interest", edit("MarketData", setf(("coins", "BTC", "open_interest"), lambda v: (v or 0) * 1.5 + 1), at_cycle(10))),
    ("primary inputs", "AgentReplied answer: a quantity", answer_text(TREND, 1, '"quantity": 0.', '"quantity": 1.')),
    ("primary inputs", "AgentReplied answer: scripted leverage", answer_text(SCRIPTED, 2, '"leverage": 3', '"leverage": 4')),
    ("primary inputs", "AgentReplied answer: a signal", answer_text(FLAT, 10, '"BTC", "signal": "hold"', '"BTC", "signal": "buy"')),
    ("primary inputs", "AgentReplied failure injected", edit("AgentReplied", lambda d: d.update(failure_kind="timeout", failure_reason="late"), of(TREND, cycle=10))),
    ("primary inputs", "header: taker fee", header(lambda d: d["config"]["fees"].update(taker_fee_bp=d["config"]["fees"]["taker_fee_bp"] * 10))),
    ("primary inputs", "header: slippage", header(lambda d: d["config"]["fees"].update(slippage_bp=d["config"]["fees"]["slippage_bp"] + 5))),
    ("primary inputs", "header: max leverage", header(lambda d: d["config"]["risk"].update(max_leverage=60.0))),
    ("primary inputs", "header: min notional", header(lambda d: d["config"]["risk"].update(min_notional=1.0))),
    ("primary inputs", "header: halt after failures", header(lambda d: d["config"]["arena"].update(halt_after_failures=0))),
    ("primary inputs", "header: starting cash (config)", header(lambda d: d["config"]["arena"].update(starting_cash=15000.0))),
    ("primary inputs", "header: starting cash", header(lambda d: d.update(starting_cash=15000.0))),
    ("primary inputs", "header: cycle interval", header(lambda d: d.update(cycle_interval_ms=INTERVAL * 2))),
    # (with the agent timeout lowered to 1 s: re-execution waits it out, see test_reexecution_never_waits_out_an_agent_timeout)
    ("primary inputs", "header: an agent renamed", header(lambda d: (d["agents"][3].update(name="Flat 2"), d["config"]["arena"].update(agent_timeout_s=1.0)))),
]

HARMLESS: list[tuple[str, Callable[[Lines], Lines]]] = [
    # by design these change nothing a user reads as a figure (text streamed for display, wall-clock
    # timings, session messages, the order in which the agents happened to answer)
    ("ReasoningDelta text", edit("ReasoningDelta", setf(("text",), lambda v: v + " (edited)"), at_cycle(10))),
    ("ReasoningDelta deleted", delete("ReasoningDelta", at_cycle(10))),
    ("ReasoningDelta offset", edit("ReasoningDelta", setf(("offset_ms",), add(1000.0)), at_cycle(10))),
    ("CycleCompleted duration (wall clock)", edit("CycleCompleted", setf(("duration_ms",), add(1000.0)), at_cycle(10))),
    ("AgentReplied latency (wall clock)", edit("AgentReplied", setf(("latency_s",), add(10.0)), at_cycle(10))),
    ("header started_at (wall clock)", header(lambda d: d.update(started_at="1999-01-01T00:00:00+00:00"))),
    ("header app version", header(lambda d: d.update(app_version="0.0.0"))),
    ("Notice inserted", insert_after("CycleCompleted", at_cycle(10), lambda d: {"type": "Notice", "cycle": 10, "time": d["time"], "level": "info", "text": "hello"})),
    ("pause and resume inserted", lambda lines: insert_after("CycleCompleted", at_cycle(11), lambda d: {"type": "SessionResumed", "cycle": 11, "time": d["time"], "reason": "user"})(
        insert_after("CycleCompleted", at_cycle(11), lambda d: {"type": "SessionPaused", "cycle": 11, "time": d["time"], "reason": "user"})(lines))),
    ("SessionEnded deleted (what a kill after the last cycle leaves)", delete("SessionEnded")),
    ("SessionEnded reason (a message)", edit("SessionEnded", setf(("reason",), lambda v: "stopped by the user"))),
    ("CycleStarted trigger", edit("CycleStarted", setf(("trigger",), lambda v: "manual"), at_cycle(10))),
]

def _swap_turns(lines: Lines, cycle: int, a: str, b: str) -> Lines:
    """Swap the contiguous blocks of events of agents ``a`` and ``b`` (reasoning, reply, decisions,
    fills) in ``cycle``; the AccountUpdated events at the cycle's end stay in agent order."""
    lo, hi = cycle_range(lines, cycle)
    evs = parsed(lines)

    def block(agent: str) -> tuple[int, int]:
        idx = [i for i in range(lo, hi) if evs[i].get("agent") == agent and evs[i]["type"] != "AccountUpdated"]
        assert idx == list(range(idx[0], idx[-1] + 1)), f"{agent}'s turn is not contiguous"
        return idx[0], idx[-1] + 1

    (a0, a1), (b0, b1) = sorted((block(a), block(b)))
    assert a1 == b0, "the two turns are not adjacent"
    return lines[:a0] + lines[b0:b1] + lines[a0:a1] + lines[b1:]


AREAS = tuple(dict.fromkeys(area for area, _, _ in MUTATIONS))

INDICATOR_MUTATIONS: list[tuple[str, Callable[[Lines], Lines]]] = [
    # the market rows' indicator columns: display only (the ledger never reads one, and the
    # rule-based agents' answers are journaled), so verification keeps the journaled values unless
    # asked to recompute them (``indicators=True``, ``--verify-indicators``)
    ("MarketUpdated RSI", edit("MarketUpdated", setf(("coins", "ETH", "rsi14"), add(5.0)), at_cycle(5))),
    ("MarketUpdated 4h EMA", edit("MarketUpdated", setf(("coins", "SOL", "ema20_4h"), mul(1.01)), at_cycle(5))),
]


# --- running them --------------------------------------------------------------------------------------


def verdict(path: Path) -> str | None:
    """What verification says of the journal at ``path``: None when it re-executes identically, else
    the difference (or the JournalError that refuses it) as a sentence."""
    try:
        r = verify_journal(path)
    except JournalError as exc:
        return f"refused: {exc}"
    return None if r.difference is None else str(r.difference)


def first_change(a: Lines, b: Lines) -> tuple[int, int]:
    """Where ``b`` first differs from ``a``: (1-based line number, the cycle of the original line there)."""
    n = min(len(a), len(b))
    i = next((i for i in range(n) if a[i] != b[i]), n)
    return i + 1, json.loads(a[min(i, len(a) - 1)])["cycle"]


def check_variant(lines: Lines, mutate: Callable[[Lines], Lines], path: Path) -> tuple[str | None, tuple[int, int]]:
    """Write ``mutate(lines)`` to ``path`` and verify it: (the verdict, ``first_change``)."""
    edited = mutate(list(lines))
    assert edited != lines, "the mutation changed nothing"
    path.write_text("".join(edited), encoding="utf-8")
    return verdict(path), first_change(lines, edited)


def named_not_before(said: str, change: tuple[int, int]) -> bool:
    """A difference sentence ("cycle C, line L: ...") does not point before the edit: at or after its
    line, or in its cycle or a later one."""
    head = said.split(":", 1)[0]
    if not head.startswith("cycle "):
        return True  # refused as a whole (JournalError)
    parts = dict(p.strip().split(" ", 1) for p in head.split(","))
    line, cycle = int(parts.get("line", 10**9)), int(parts["cycle"])
    return line >= change[0] or cycle >= change[1]


# --- tests ---------------------------------------------------------------------------------------------


def test_the_recorded_journal_has_every_kind_of_event(lines):
    evs = parsed(lines)
    kinds = {d["type"] for d in evs}
    for kind in ("OrderFilled", "PositionClosed", "FundingPaid", "DecisionRejected", "AgentFailed", "AgentHalted", "AgentStarted", "ReasoningDelta"):
        assert kind in kinds, kind
    exits = {d["reason"] for d in evs if d["type"] == "PositionClosed"}
    assert {"stop_loss", "take_profit", "agent"} <= exits
    failures = {d["kind"] for d in evs if d["type"] == "AgentFailed"}
    assert {"empty", "parse"} <= failures
    assert any(d["type"] == "FundingPaid" and d["agent"] == SCRIPTED for d in evs)
    assert sum(d["type"] == "CycleCompleted" for d in evs) == CYCLES
    assert len(MUTATIONS) >= 60
    assert len({name for _, name, _ in MUTATIONS}) == len(MUTATIONS)


def test_the_unedited_journal_verifies(recorded, lines, tmp_path):
    r = verify_journal(recorded)
    assert r.difference is None, str(r.difference)
    assert r.cycles == CYCLES
    assert r.partial_cycle is None
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(lines), encoding="utf-8")
    r = verify_journal(whole)
    assert r.difference is None and r.cycles == CYCLES, str(r.difference)


def test_every_compact_line_is_a_json_object_with_type_cycle_and_time(compact, lines):
    assert len(compact) < len(lines)  # repeated events share lines
    for raw in compact:
        d = json.loads(raw)
        assert isinstance(d, dict) and isinstance(d["type"], str) and isinstance(d["cycle"], int) and isinstance(d["time"], int), raw[:200]


def _compact_edit(kind: str, change: Callable[[dict], bool], nth: int = 0):
    """A mutation of the compact journal: ``change`` the ``nth`` line of ``kind`` for which it
    returns True (it edits the line's object in place)."""

    def apply(lines: Lines) -> Lines:
        hits = 0
        for i, raw in enumerate(lines):
            d = json.loads(raw)
            if d["type"] == kind and d["cycle"] > 1 and change(d):
                if hits == nth:
                    return lines[:i] + [dumps(d)] + lines[i + 1 :]
                hits += 1
        raise LookupError(f"no compact {kind} line to edit")

    return apply


def _bump(key: str, by: float):
    def change(d: dict) -> bool:
        if not isinstance(d.get(key), (int, float)) or isinstance(d.get(key), bool):
            return False
        d[key] += by
        return True

    return change


def _column_bump(field: str, column: str, by: float):
    def change(d: dict) -> bool:
        col = d.get(field, {}).get(column) if isinstance(d.get(field), dict) else None
        if isinstance(col, list) and col:
            col[0] += by
            return True
        if isinstance(col, dict) and col:
            k = next(iter(col))
            col[k] += by
            return True
        return False

    return change


def _repeats(f: Callable[[list], object]):
    def change(d: dict) -> bool:
        if "^" not in d:
            return False
        out = f(d["^"])
        if out is None:
            d.pop("^")
        else:
            d["^"] = out
        return True

    return change


def _shift(spec: list) -> list:
    return [[x[0] + 1, x[1]] if isinstance(x, list) else x + 1 for x in spec]


COMPACT_EDITS: list[tuple[str, Callable[[Lines], Lines]]] = [
    ("an account value on a compact line", _compact_edit("AccountUpdated", _bump("account_value", 100.0))),
    ("a position's unrealized PnL", _compact_edit("AccountUpdated", lambda d: d["agent"] == HOLD and d["cycle"] > 3 and not d.update({"|positions": {"unrealized_pnl": {"0": 123.0}}}))),
    ("a leaderboard column", _compact_edit("CycleCompleted", _column_bump("|leaderboard", "max_drawdown_pct", 1.0))),
    ("a market column (funding rate)", _compact_edit("MarketUpdated", _column_bump("|coins", "funding_rate", 0.001))),
    ("repeated events left out", _compact_edit("AccountUpdated", _repeats(lambda spec: None))),
    ("repeated events shifted", _compact_edit("CycleCompleted", _repeats(_shift))),
    ("a repeat of an event the previous cycle does not have", _compact_edit("CycleCompleted", _repeats(lambda spec: [99]))),
    ("a repeat that is not a number", _compact_edit("CycleCompleted", _repeats(lambda spec: ["x"]))),
    ("a change of a field the event has not", _compact_edit("AccountUpdated", lambda d: d.update({"~nothing": 1}) or True)),
    ("a column one row short", _compact_edit("MarketUpdated", lambda d: isinstance(d.get("|coins"), dict) and bool(d["|coins"]) and (next(v for v in d["|coins"].values()).pop() or True))),
    ("a new candle's close", _compact_edit("MarketData", lambda d: isinstance(d.get("~coins"), dict) and "BTC" in d["~coins"] and bool(d["~coins"]["BTC"]["candles"]["5m"].__setitem__(0, [*d["~coins"]["BTC"]["candles"]["5m"][0][:4], d["~coins"]["BTC"]["candles"]["5m"][0][4] * 1.01, d["~coins"]["BTC"]["candles"]["5m"][0][5]]) or True))),
]


@pytest.mark.parametrize("name,mutate", COMPACT_EDITS, ids=[n for n, _ in COMPACT_EDITS])
def test_an_edit_of_a_compact_line_is_caught(compact, tmp_path, name, mutate):
    said, change = check_variant(compact, mutate, tmp_path / "edited.jsonl")
    assert said is not None, f"{name}: the edited journal verifies"
    assert "Traceback" not in said and "\n" not in said, said
    assert named_not_before(said, change), f"{said} (the edit is at line {change[0]}, cycle {change[1]})"


@pytest.mark.parametrize("area,name,mutate", MUTATIONS, ids=[f"{area}: {name}" for area, name, _ in MUTATIONS])
def test_an_edit_is_caught(lines, tmp_path, area, name, mutate):
    said, change = check_variant(lines, mutate, tmp_path / "edited.jsonl")
    assert said is not None, f"{name}: the edited journal verifies"
    assert named_not_before(said, change), f"{said} (the edit is at line {change[0]}, cycle {change[1]})"


@pytest.mark.parametrize("name,mutate", INDICATOR_MUTATIONS, ids=[n for n, _ in INDICATOR_MUTATIONS])
def test_an_edited_indicator_is_caught_when_indicators_are_recomputed(lines, tmp_path, name, mutate):
    path = tmp_path / "edited.jsonl"
    edited = mutate(list(lines))
    path.write_text("".join(edited), encoding="utf-8")
    assert verify_journal(path).difference is None  # by default: the journaled values are kept
    said = verify_journal(path, indicators=True).difference
    assert said is not None, f"{name}: the edited journal verifies with its indicators recomputed"
    line, cycle = first_change(lines, edited)
    assert said.cycle == cycle and said.line == line, str(said)


def test_the_unedited_journal_verifies_with_its_indicators_recomputed(recorded):
    r = verify_journal(recorded, indicators=True)
    assert r.difference is None and r.cycles == CYCLES, str(r.difference)


@pytest.mark.parametrize("name,mutate", HARMLESS, ids=[n for n, _ in HARMLESS])
def test_an_edit_of_nothing_a_user_reads_verifies(lines, tmp_path, name, mutate):
    said, _ = check_variant(lines, mutate, tmp_path / "edited.jsonl")
    assert said is None, said


def test_reexecution_never_waits_out_an_agent_timeout(lines, tmp_path):
    """Re-execution has every answer in the journal: it never needs to wait for one. A reply from an
    agent the header does not name must be reported, not waited out (the header's agent timeout is
    lowered to 1 s here so that the wait is short; it is 90 s by default)."""
    import asyncio

    from arena_tui.engine import events as ev
    from arena_tui.engine.verify import reexecute

    reply_of_a_stranger = edit("AgentReplied", setf(("agent",), lambda v: "Ghost"), of(FLAT, cycle=3))
    timeout_1s = header(lambda d: d["config"]["arena"].update(agent_timeout_s=1.0))
    mutate = lambda lines: timeout_1s(reply_of_a_stranger(lines))  # noqa: E731
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(mutate(list(lines))), encoding="utf-8")
    timeouts: list[ev.Event] = []

    def listen(e: ev.Event) -> None:
        if isinstance(e, ev.AgentReplied) and e.failure_kind == "timeout":
            timeouts.append(e)

    result = asyncio.run(reexecute(path, listeners=(listen,)))
    assert result.difference is not None
    assert timeouts == [], f"re-execution waited out the agent timeout for {[e.agent for e in timeouts]}"


def test_a_config_allowing_more_leverage_than_the_ledger_is_refused(tmp_path):
    """At 40x the 2.5 % maintenance margin liquidates a position as it opens, so the ledger refuses it;
    the config stops max_leverage below that with one sentence, instead of a session that dies with a
    ValueError the first time a model asks for 50x."""
    config = CONFIG.replace("[arena]", "[risk]\nmax_leverage = 60.0\n\n[arena]")
    (tmp_path / "arena.toml").write_text(config, encoding="utf-8")
    out = cd.arena(["--headless", "--cycles", "3", "--journal", "lev.jsonl"], tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "max_leverage < 40" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "lev.jsonl").exists()


def test_the_cli_prints_the_difference_and_exits_1(lines, tmp_path):
    mutate = {n: m for _, n, m in MUTATIONS}["final leaderboard: last row +$5,000"]
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(mutate(list(lines))), encoding="utf-8")
    out = cd.arena(["--replay", path.name, "--headless"], tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    said = [x for x in out.stdout.splitlines() if x.startswith("replay differs at ")]
    assert len(said) == 1, out.stdout
    n = len(lines)
    # the row and its field by name: the last row is the lowest account value's
    assert said[0].startswith(f"replay differs at cycle {CYCLES}, line {n - 1}: CycleCompleted leaderboard[")
    assert "].account_value: recorded " in said[0]
    assert ", recomputed " in said[0]
    assert "verified" not in out.stdout


# --- replayed agents answer in turn when the journal's order allows it ----------------------------


@pytest.mark.parametrize(
    "order, calls, in_turn",
    [
        (["A", "B", "C"], ["A", "B", "C"], True),  # the journal's order is the arena's
        (["A", "C"], ["A", "B", "C"], False),  # B has no reply: it waits for the last (C), asked after it
        (["B", "A"], ["A", "B"], False),  # A answered second: asked first, it would wait for B
        (["A"], ["A", "B"], True),  # B without a reply waits for A, asked before it
        ([], ["A", "B"], True),  # nobody replied: nobody waits
    ],
)
def test_replayed_agents_are_called_in_turn_only_when_none_would_wait(order, calls, in_turn):
    from arena_tui.engine.verify import _Turns

    turns = _Turns()
    turns.reset(order)
    turns.plan(calls)
    assert turns.in_turn is in_turn


async def test_a_wrong_plan_fails_the_agent_instead_of_hanging():
    from arena_tui.engine.verify import _Turns

    turns = _Turns()
    turns.reset(["B", "A"])
    turns.in_turn = True  # as if planned wrongly: A would wait for B, not yet asked
    with pytest.raises(RuntimeError, match="A answers after B, which has not answered"):
        await turns.wait("A")
    turns.finish("B")
    await turns.wait("A")  # B answered: A's turn
