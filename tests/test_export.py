"""``arena-tui export``: the tables of real headless sessions and of the bundled demo journal agree
with the journal's events and with the state the fold reaches (``ArenaState``, as the screen shows it)."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from arena_tui.cli import main
from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentFailure, AgentReply
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.state import ArenaState
from arena_tui.export import PARQUET_MISSING, TABLES, export_journal

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sessions" / "demo.jsonl"


class Scripted:
    """An LLM-style agent with an answer per cycle: a tight scalp on BTC (stops and targets fire
    between cycles), answers the risk rules reject (no stop, a coin not traded, a close without a
    position), and now and then text that does not parse or a timeout."""

    kind = "llm"
    model = "scripted-1"

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def decide(self, request, on_delta):
        self.calls += 1
        n = self.calls
        if n % 7 == 0:
            return AgentReply(failure=AgentFailure("timeout", f"{self.name}: no answer within 90 s; holding this cycle."))
        if n % 5 == 0:
            text = "I would rather not say."
        elif n % 3 == 0:
            text = json.dumps({
                "ETH": {"signal": "buy_to_enter", "quantity": 0.1, "leverage": 5, "profit_target": 99999, "confidence": 0.5},
                "PEPE": {"signal": "buy_to_enter", "quantity": 1000, "leverage": 5},
                "SOL": {"signal": "close"},
            })
        elif request.account.positions:
            text = json.dumps({"BTC": {"signal": "hold"}})
        else:
            price = request.market.coins["BTC"].price
            text = json.dumps({"BTC": {"signal": "buy_to_enter", "quantity": 0.02, "leverage": 10, "stop_loss": round(price * 0.999, 1),
                                       "profit_target": round(price * 1.001, 1), "confidence": 0.6, "risk_usd": 5}})
        on_delta("answer", text)
        return AgentReply(text=text, latency_s=0.25, cost_usd=0.001 * n)


CYCLES = 48


@pytest.fixture(scope="module")
def season(tmp_path_factory) -> Path:
    """A real headless session: the rule-based baselines and a scripted LLM-style agent, 48 cycles."""
    tmp = tmp_path_factory.mktemp("season")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-20T00:00:00Z"}, "arena": {"sessions_dir": str(tmp), "halt_after_failures": 50}})
    path = tmp / "season.jsonl"
    session = ArenaSession(cfg, build_market(cfg), [*build_agents(cfg), Scripted("Scripted")], journal_path=path, max_cycles=CYCLES, pace=0)
    asyncio.run(session.run(lambda e: None))
    return path


def fold(path: Path) -> tuple[ArenaState, list[ev.Event]]:
    contents = read_journal(path)
    state = ArenaState(contents.header)
    for e in contents.events:
        state.apply(e)
    return state, contents.events


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def num(v: str) -> float | None:
    return None if v == "" else float(v)


@pytest.fixture(scope="module")
def exported(season, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    done = export_journal(season, out)
    return done, {t: read_csv(out / f"{t}.csv") for t in TABLES}


def test_every_table_has_its_columns_and_a_row_per_event(season, exported):
    done, tables = exported
    state, events = fold(season)
    kinds = Counter(type(e).__name__ for e in events)
    for name, path, rows in done.files:
        with open(path, newline="", encoding="utf-8") as fh:
            assert next(csv.reader(fh)) == [c.name for c in TABLES[name]]
        assert rows == len(tables[name])
    assert len(tables["trades"]) == kinds["PositionClosed"] > 0
    exits = sum(e.reason != "agent" for e in events if isinstance(e, ev.PositionClosed))
    assert exits > 0 and len(tables["fills"]) == kinds["OrderFilled"] + exits  # the exits between cycles: fills too
    assert len(tables["funding"]) == kinds["FundingPaid"]
    assert len(tables["model_calls"]) == kinds["AgentReplied"] == CYCLES * len(state.agents)
    assert len(tables["equity"]) == CYCLES * (len(state.agents) + 1)  # every agent and the benchmark


def test_trades_are_the_closed_positions_and_sum_to_the_realized_pnl(season, exported):
    _, tables = exported
    state, events = fold(season)
    closed = [e for e in events if isinstance(e, ev.PositionClosed)]
    trades = tables["trades"]
    assert [(t["agent"], t["coin"], float(t["net_pnl"]), t["exit_reason"]) for t in trades] == [(e.agent, e.coin, e.net_pnl, e.reason) for e in closed]
    assert {t["exit_reason"] for t in trades} & {"stop_loss", "take_profit"}, "the scalper's exits fire between cycles"
    for t, e in zip(trades, closed):
        assert t["side"] == ("long" if e.side > 0 else "short")
        assert float(t["holding_s"]) == (e.time - e.entry_time) / 1000 > 0
        assert round(float(t["realized_pnl"]) - float(t["fees"]) - float(t["funding"]) - float(t["net_pnl"]), 9) == 0
    for name, book in state.agents.items():
        mine = [t for t in trades if t["agent"] == name]
        # the account's realized PnL (gross, as the leaderboard's books hold it) is the sum of its trades, to the cent
        assert round(sum(float(t["realized_pnl"]) for t in mine), 2) == round(book.realized_pnl, 2)
        # and net of the trades' fees and funding, the net PnL column
        net = sum(float(t["net_pnl"]) for t in mine)
        closed_costs = sum(float(t["fees"]) + float(t["funding"]) for t in mine)
        assert round(net, 2) == round(book.realized_pnl - closed_costs, 2)
        assert len(mine) == len(book.trades)


def test_every_close_is_a_fill_and_the_fills_fees_are_the_accounts(season, exported):
    """A stop-loss, take-profit or liquidation exit is a fill like an agent's close: the fills table
    holds one close per closed trade, at its exit price with its exit fee, and the fills' fees are
    each account's fees paid, to the cent."""
    _, tables = exported
    state, events = fold(season)
    closes = [f for f in tables["fills"] if f["action"] == "close"]
    trades = tables["trades"]
    assert len(closes) == len(trades)
    for f, t in zip(closes, trades):
        assert (f["agent"], f["coin"], f["side"], f["quantity"], f["price"], f["fee"], f["reason"]) == (
            t["agent"], t["coin"], t["side"], t["quantity"], t["exit_price"], t["exit_fee"], t["exit_reason"])
        assert f["time"] == t["exit_time"]
        assert float(f["margin"]) == pytest.approx(float(t["quantity"]) * float(t["entry_price"]) / float(t["leverage"]), rel=1e-12)
        assert float(f["notional"]) == pytest.approx(float(t["quantity"]) * float(t["exit_price"]), rel=1e-12)
    assert {f["reason"] for f in closes} >= {"stop_loss", "take_profit"}
    last = {}
    for e in events:
        if isinstance(e, ev.AccountUpdated):
            last[e.agent] = e
    for name in state.agents:
        paid = sum(float(f["fee"]) for f in tables["fills"] if f["agent"] == name)
        assert round(paid, 2) == round(last[name].fees_paid, 2), name


def test_the_last_equity_rows_are_the_final_leaderboard(season, exported):
    _, tables = exported
    state, _ = fold(season)
    last = [r for r in tables["equity"] if int(r["cycle"]) == state.completed_cycle]
    assert [(int(r["rank"]), r["agent"], float(r["account_value"]), float(r["return_pct"])) for r in last] == [
        (row.rank, row.agent, row.account_value, row.return_pct) for row in state.leaderboard
    ]
    for r in last:
        book = state.agents.get(r["agent"])
        if r["kind"] == "benchmark":
            assert r["cash"] == r["margin"] == ""
            continue
        assert float(r["cash"]) == book.cash and float(r["unrealized_pnl"]) == book.unrealized_pnl
        assert abs(float(r["cash"]) + float(r["margin"]) + float(r["unrealized_pnl"]) - float(r["account_value"])) < 1e-5


def test_rejected_decisions_appear_with_their_rule_ids(season, exported):
    _, tables = exported
    _, events = fold(season)
    rejections = [e for e in events if isinstance(e, ev.DecisionRejected)]
    rows = tables["decisions"]
    rejected = [r for r in rows if r["status"] == "rejected"]
    assert Counter((r["cycle"], r["agent"], r["coin"], r["rule"], r["reason"]) for r in rejected) == Counter(
        (str(e.cycle), e.agent, e.coin, e.rule, e.reason) for e in rejections
    )
    rules = {r["rule"] for r in rejected}
    assert {"unknown_coin", "close_without_position"} <= rules and len(rules) >= 3, rules
    # a coin the session does not trade has a row of its own, without a signal
    assert any(r["coin"] == "PEPE" and r["signal"] == "" for r in rejected)
    # every parsed decision is a row: the accepted ones are those no rejection matched
    parsed = sum(len(e.decisions) for e in events if isinstance(e, ev.DecisionParsed))
    matched = sum(1 for r in rejected if r["signal"] != "")
    assert sum(r["status"] == "accepted" for r in rows) == parsed - matched
    eth = next(r for r in rejected if r["coin"] == "ETH")
    assert eth["signal"] == "buy_to_enter" and num(eth["quantity"]) == 0.1 and num(eth["leverage"]) == 5 and eth["stop_loss"] == ""


def test_model_calls_carry_usage_and_every_failure(season, exported):
    _, tables = exported
    calls = [r for r in tables["model_calls"] if r["agent"] == "Scripted"]
    assert len(calls) == CYCLES
    assert all(r["kind"] == "llm" and r["model"] == "scripted-1" for r in calls)
    failures = Counter(r["failure"] for r in calls)
    assert failures["timeout"] == CYCLES // 7 and failures["parse"] > 0, failures
    assert round(sum(float(r["cost_usd"]) for r in calls), 6) == round(sum(0.001 * n for n in range(1, CYCLES + 1) if n % 7), 6)  # a timeout costs nothing


def test_the_demo_journal_exports_through_the_command_line(tmp_path, capsys):
    assert main(["export", str(DEMO), "--to", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    kinds = Counter(type(e).__name__ for e in read_journal(DEMO).events)
    exits = sum(e.reason != "agent" for e in read_journal(DEMO).events if isinstance(e, ev.PositionClosed))
    expected = {"trades": kinds["PositionClosed"], "fills": kinds["OrderFilled"] + exits, "funding": kinds["FundingPaid"], "model_calls": kinds["AgentReplied"]}
    for table, n in expected.items():
        assert len(read_csv(tmp_path / "out" / f"{table}.csv")) == n
        assert re.search(rf"{table}\s.*{table}\.csv\s.*\s{n:,}\s", out), (table, out)
    state, _ = fold(DEMO)
    equity = read_csv(tmp_path / "out" / "equity.csv")
    assert len(equity) == state.cycles_completed * len(state.leaderboard)
    trades = read_csv(tmp_path / "out" / "trades.csv")
    assert round(sum(float(t["realized_pnl"]) for t in trades), 2) == round(sum(b.realized_pnl for b in state.agents.values()), 2)


def test_the_default_directory_is_beside_the_journal(tmp_path, capsys):
    journal = tmp_path / "demo.jsonl"
    shutil.copyfile(DEMO, journal)
    assert main(["export", str(journal)]) == 0
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(f"{t}.csv" for t in TABLES)


def test_a_missing_journal_is_one_sentence(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert main(["export", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"arena-tui: session journal {missing} does not exist; check the path (recorded sessions are in sessions/).\n"
    assert not (tmp_path / "nope").exists()


def test_a_corrupt_journal_names_its_line_and_writes_no_table(tmp_path, capsys):
    journal = tmp_path / "bad.jsonl"
    lines = DEMO.read_bytes().splitlines(keepends=True)
    lines[100] = b'{"type":"OrderFilled", this is not json\n'
    journal.write_bytes(b"".join(lines))
    assert main(["export", str(journal), "--to", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"arena-tui: session journal {journal} line 101 is corrupt") and "cut the file there" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []  # no table, half-written or not


def test_a_cut_off_journal_exports_what_it_holds_and_says_so(tmp_path, capsys):
    journal = tmp_path / "cut.jsonl"
    data = DEMO.read_bytes()
    journal.write_bytes(data[: len(data) - 40])  # the last line cut mid-write, as by a crash
    assert main(["export", str(journal), "--to", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "was cut off" in out
    assert len(read_csv(tmp_path / "out" / "trades.csv")) == 8


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    assert main(["export", str(DEMO), "--to", str(tmp_path / "out"), "--format", "parquet"]) == 2
    assert capsys.readouterr().err == f"arena-tui: {PARQUET_MISSING}\n"
    assert "pip install 'arena-tui[parquet]'" in PARQUET_MISSING


def test_parquet_holds_the_same_rows_as_csv(season, exported, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")  # the optional `parquet` extra; not in the test extra
    _, tables = exported
    done = export_journal(season, tmp_path, "parquet")
    for name, path, rows in done.files:
        t = pq.read_table(path)
        assert t.column_names == [c.name for c in TABLES[name]]
        assert t.num_rows == rows == len(tables[name])
    trades = pq.read_table(tmp_path / "trades.parquet").to_pylist()
    assert [r["net_pnl"] for r in trades] == [float(r["net_pnl"]) for r in tables["trades"]]
    assert str(pq.read_table(tmp_path / "fills.parquet").schema.field("time").type) == "timestamp[ms, tz=UTC]"


def test_the_readme_documents_every_column():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Export\n", 1)[1].split("\n## ", 1)[0]
    for name, columns in TABLES.items():
        block = section.split(f"**{name}**", 1)[1].split("\n\n**", 1)[0]
        documented = re.findall(r"^\| `([^`]+)` \| ([^|]*) \| (.+) \|$", block, flags=re.M)
        assert [(n, u.strip(), m) for n, u, m in documented] == [(c.name, c.unit, c.meaning) for c in columns], name



@pytest.mark.skipif(not hasattr(ev, "AgentFellBack"), reason="journals before schema 5 have no fallbacks")
def test_a_fallback_is_two_model_calls():
    """The agent's own model failed (``AgentFellBack``), its fallback answered (``AgentReplied``
    with ``answered_by``): two rows, the failed one first, each with its model and cost."""
    from arena_tui.export import TableRows

    header = ev.SessionStarted(0, 1_760_000_000_000, "t", "recorded", "recorded:x", ("BTC",),
                               ({"name": "A", "kind": "openai", "model": "gpt-primary"},), 10_000.0, 300_000)
    state = ArenaState(header)
    rows = TableRows(state)
    t = header.time
    events = [
        ev.CycleStarted(1, t),
        ev.AgentFellBack(1, t, "A", "gpt-primary", "timeout", "A: no answer within 90 s.", "gpt-fallback", 100, 0, None, 90.0, 0.01),
        ev.AgentReplied(1, t, "A", 120, 30, 0.5, 2.0, 0.002, "stop", '{"BTC": {"signal": "hold"}}', answered_by="gpt-fallback"),
        ev.DecisionParsed(1, t, "A", ({"coin": "BTC", "signal": "hold"},)),
        ev.CycleCompleted(1, t, 1.0),
    ]
    out = []
    for e in events:
        state.apply(e)
        out += rows.feed(e)
    calls = [r for table, r in out if table == "model_calls"]
    cols = [c.name for c in TABLES["model_calls"]]
    got = [dict(zip(cols, r)) for r in calls]
    assert [(g["model"], g["failure"], g["cost_usd"], g["latency_s"]) for g in got] == [
        ("gpt-primary", "timeout", 0.01, 90.0), ("gpt-fallback", None, 0.002, 2.0)]
    assert [r for table, r in out if table == "decisions"][0][4:5] == ("hold",)


def test_report_and_export_say_how_far_they_have_read(tmp_path):
    """A long journal takes seconds to read: both readers report the bytes read so far (the CLI
    draws them as a transient progress line on a terminal), rising to the journal's size."""
    from arena_tui.engine.journal import open_journal, with_progress
    from arena_tui.report import ReportData

    size = DEMO.stat().st_size
    for read in (
        lambda cb: ReportData(DEMO, cb),
        lambda cb: export_journal(DEMO, tmp_path / "out", progress=cb),
        lambda cb: [e for s in [open_journal(DEMO)] for e in with_progress(s, cb, every=10)],
    ):
        seen: list[int] = []
        read(seen.append)
        assert seen and seen == sorted(seen) and seen[-1] == size
    seen = []
    with open_journal(DEMO) as stream:
        n = sum(1 for _ in with_progress(stream, seen.append, every=10))
    assert len(seen) == n // 10 + 1 and seen[0] < seen[-1] == size


def test_the_commands_print_no_progress_when_not_on_a_terminal(tmp_path, capsys):
    assert main(["report", str(DEMO), "-o", str(tmp_path / "r.html")]) == 0
    assert capsys.readouterr().out == f"report: {tmp_path / 'r.html'} (open it in a browser; it needs no network)\n"
    assert main(["export", str(DEMO), "--to", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"exported {DEMO} to {tmp_path / 'out'}\n") and "exporting" not in out and "%" not in out
