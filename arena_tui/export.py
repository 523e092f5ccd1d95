"""``arena-tui export``: a journal's record as tables (CSV, or Parquet with the ``parquet`` extra).

Every figure comes from the journal's events, read through ``engine.journal.open_journal`` (a
stream: memory holds one cycle's pending rows, not the journal) and folded by the one
``ArenaState``; nothing is recomputed here. The tables (``TABLES``: each column's name, kind, unit
and meaning; README "Export" documents the same):

- ``trades``: one row per ``PositionClosed`` (every closed trade, its exit reason);
- ``equity``: one row per completed cycle and leaderboard line (every agent and the BTC
  buy-and-hold benchmark), the account as the fold holds it after that cycle's ``CycleCompleted``;
- ``decisions``: one row per decision of each ``DecisionParsed``, ``accepted`` or ``rejected`` with
  the ``DecisionRejected`` rule id and sentence; a rejection of a coin the answer named but the
  session does not trade gets a row of its own (``signal`` empty);
- ``fills``: one row per ``OrderFilled``, and one per exit the ledger made between cycles (a stop-loss,
  take-profit or liquidation: its ``PositionClosed``, as a close fill);
- ``funding``: one row per ``FundingPaid``;
- ``model_calls``: one row per ``AgentReplied`` (every call, rule-based agents' included), with the
  failure the reply carried or, failing that, the ``AgentFailed`` that followed it (an answer that
  could not be parsed); and one per ``AgentFellBack`` (schema 5: the agent's own model failed, its
  fallback was asked next), the failed call of the agent's own model.

Times are UTC: ISO-8601 text to the millisecond in CSV, ``timestamp[ms, UTC]`` in Parquet. Money is
USD, quantities in the coin, rates and returns as the events carry them. Text columns hold the
journal's exact text (agent names, rejection and failure sentences, which may quote a model or a
server): a spreadsheet that evaluates cells starting with ``=`` should open the CSV as text.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from arena_tui.engine import events as ev
from arena_tui.engine.errors import ArenaError
from arena_tui.engine.journal import journal_in_use, open_journal, with_progress
from arena_tui.engine.state import ArenaState, CompleteCycles

FORMATS = ("csv", "parquet")
PARQUET_MISSING = "writing Parquet needs pyarrow, which is not installed: run pip install 'arena-tui[parquet]' (or export CSV, the default)."


class Column(NamedTuple):
    """One column of an exported table: ``kind`` is int, float, text, time or bool (``time``: ms
    since the epoch in the events, ISO-8601 UTC text in CSV); ``unit`` "" when it has none."""

    name: str
    kind: str
    unit: str
    meaning: str


def _c(name: str, kind: str, unit: str, meaning: str) -> Column:
    return Column(name, kind, unit, meaning)


_CYCLE = _c("cycle", "int", "", "the cycle the event belongs to (1 = first)")
_AGENT = _c("agent", "text", "", "the agent's name")

TABLES: dict[str, tuple[Column, ...]] = {
    "trades": (
        _c("cycle", "int", "", "the cycle the position closed in"),
        _AGENT,
        _c("coin", "text", "", "the coin traded (perpetual future against USD)"),
        _c("side", "text", "", "long or short"),
        _c("quantity", "float", "coin", "position size"),
        _c("leverage", "float", "x", "leverage of the position"),
        _c("entry_time", "time", "UTC", "when the position opened"),
        _c("entry_price", "float", "USD", "entry fill price (after slippage)"),
        _c("exit_time", "time", "UTC", "when the position closed"),
        _c("exit_price", "float", "USD", "exit fill price (after slippage)"),
        _c("exit_reference_price", "float", "USD", "the price the exit was priced from, before slippage"),
        _c("holding_s", "float", "s", "exit time minus entry time"),
        _c("entry_fee", "float", "USD", "fee paid on the entry notional"),
        _c("exit_fee", "float", "USD", "fee paid on the exit notional"),
        _c("fees", "float", "USD", "entry_fee + exit_fee"),
        _c("funding", "float", "USD", "funding paid while the position was open (negative: received)"),
        _c("realized_pnl", "float", "USD", "gross realized PnL: side x quantity x (exit_price - entry_price)"),
        _c("net_pnl", "float", "USD", "realized_pnl - fees - funding"),
        _c("exit_reason", "text", "", "agent, stop_loss, take_profit, liquidation or session_end"),
    ),
    "equity": (
        _CYCLE,
        _c("time", "time", "UTC", "when the cycle completed (the market clock)"),
        _c("rank", "int", "", "leaderboard rank after the cycle, 1 = highest account value"),
        _AGENT,
        _c("kind", "text", "", "the agent's kind (rule-based, openai, ...); benchmark for BTC buy & hold"),
        _c("account_value", "float", "USD", "cash + margin + unrealized PnL (the benchmark: its BTC at the last price)"),
        _c("cash", "float", "USD", "free collateral (empty for the benchmark)"),
        _c("margin", "float", "USD", "margin of the open positions: account_value - cash - unrealized_pnl (empty for the benchmark)"),
        _c("unrealized_pnl", "float", "USD", "PnL of the open positions at the cycle's marks (empty for the benchmark)"),
        _c("realized_pnl", "float", "USD", "gross realized PnL of the session so far (empty for the benchmark)"),
        _c("fees_paid", "float", "USD", "fees paid so far"),
        _c("funding_paid", "float", "USD", "funding paid so far, negative = received (empty for the benchmark)"),
        _c("return_pct", "float", "%", "account_value against the starting cash"),
        _c("open_positions", "int", "", "positions open after the cycle (empty for the benchmark)"),
        _c("halted", "bool", "", "the agent is stopped for the rest of the session"),
    ),
    "decisions": (
        _CYCLE,
        _c("time", "time", "UTC", "the cycle's market time"),
        _AGENT,
        _c("coin", "text", "", "the coin the decision is about"),
        _c("signal", "text", "", "buy_to_enter, sell_to_enter, hold or close (empty: a coin the session does not trade)"),
        _c("quantity", "float", "coin", "size asked for (empty if not given)"),
        _c("leverage", "float", "x", "leverage asked for (empty if not given)"),
        _c("profit_target", "float", "USD", "take-profit price asked for (empty if not given)"),
        _c("stop_loss", "float", "USD", "stop-loss price asked for (empty if not given)"),
        _c("confidence", "float", "", "the model's confidence as it gave it (0-1, or 0-100)"),
        _c("risk_usd", "float", "USD", "the model's own claim of its loss at the stop"),
        _c("status", "text", "", "accepted (passed the risk rules; a hold changes nothing) or rejected"),
        _c("rule", "text", "", "the risk rule id that rejected it (empty when accepted)"),
        _c("reason", "text", "", "the rejection as a sentence (empty when accepted)"),
    ),
    "fills": (
        _CYCLE,
        _c("time", "time", "UTC", "when it filled (the cycle's time, or the candle of a stop/target/liquidation)"),
        _AGENT,
        _c("coin", "text", "", "the coin"),
        _c("action", "text", "", "open or close"),
        _c("side", "text", "", "long or short: the position's side (a close of a long sells)"),
        _c("quantity", "float", "coin", "quantity filled"),
        _c("price", "float", "USD", "fill price after slippage"),
        _c("reference_price", "float", "USD", "the price it was priced from"),
        _c("notional", "float", "USD", "quantity x price"),
        _c("fee", "float", "USD", "fee paid"),
        _c("leverage", "float", "x", "leverage"),
        _c("margin", "float", "USD", "an open's margin (notional / leverage); a close's, the margin it releases (quantity x entry price / leverage)"),
        _c("stop_loss", "float", "USD", "an entry's stop-loss (empty otherwise)"),
        _c("profit_target", "float", "USD", "an entry's take-profit (empty otherwise)"),
        _c("confidence", "float", "", "an entry's confidence as the model gave it"),
        _c("risk_usd", "float", "USD", "an entry's loss at its stop"),
        _c("reason", "text", "", "agent, stop_loss, take_profit, liquidation or session_end"),
    ),
    "funding": (
        _CYCLE,
        _c("time", "time", "UTC", "the funding time"),
        _AGENT,
        _c("coin", "text", "", "the coin of the position"),
        _c("rate", "float", "fraction", "funding rate of the interval (positive: longs pay shorts)"),
        _c("mark_price", "float", "USD", "the mark price funding was computed at"),
        _c("amount", "float", "USD", "side x quantity x mark_price x rate; positive = paid by the account"),
    ),
    "model_calls": (
        _CYCLE,
        _c("time", "time", "UTC", "the cycle's market time"),
        _AGENT,
        _c("kind", "text", "", "the agent's kind (rule-based, openai, anthropic, ...)"),
        _c("model", "text", "", "the model (or baseline) that was called: a fallback's when the agent's own model failed"),
        _c("latency_s", "float", "s", "wall seconds from the request to the last token"),
        _c("ttft_s", "float", "s", "wall seconds to the first token (empty: not measured)"),
        _c("input_tokens", "int", "tokens", "prompt tokens as the API reported them"),
        _c("cached_input_tokens", "int", "tokens", "of input_tokens, read from the provider's cache"),
        _c("output_tokens", "int", "tokens", "answer tokens as the API reported them"),
        _c("reasoning_tokens", "int", "tokens", "of output_tokens, spent on reasoning"),
        _c("cost_usd", "float", "USD", "the call's cost at the configured prices"),
        _c("finish_reason", "text", "", "why the model stopped, as the API said"),
        _c("failure", "text", "", "empty, or why nothing usable came back: timeout, rate_limit, server, parse, ..."),
        _c("failure_reason", "text", "", "the failure as a sentence"),
    ),
}
"""Each table's columns, in order. Not exported because the journal lacks them: the justification and
invalidation condition of a decision (only in the answer text), the quantity and side of a funding
payment's position, the margin and positions of the benchmark."""


Row = tuple
"""A table row: one value per column of its table (None = empty)."""


def _side(side: int) -> str:
    return "long" if side > 0 else "short"


def trade_row(e: ev.PositionClosed) -> Row:
    """A ``trades`` row of one ``PositionClosed``."""
    return (
        e.cycle, e.agent, e.coin, _side(e.side), e.quantity, e.leverage,
        e.entry_time, e.entry_price, e.time, e.exit_price, e.reference_price, (e.time - e.entry_time) / 1000,
        e.entry_fee, e.exit_fee, e.entry_fee + e.exit_fee, e.funding_paid, e.realized_pnl, e.net_pnl, e.reason,
    )


def fill_row(e: ev.OrderFilled) -> Row:
    """A ``fills`` row of one ``OrderFilled``."""
    return (
        e.cycle, e.time, e.agent, e.coin, e.action, _side(e.side), e.quantity, e.price, e.reference_price,
        e.notional, e.fee, e.leverage, e.margin, e.stop_loss, e.profit_target, e.confidence, e.risk_usd, e.reason,
    )


def exit_fill_row(e: ev.PositionClosed) -> Row:
    """The ``fills`` row of an exit the ledger made between cycles (a stop-loss, a take-profit, a
    liquidation): the journal has its ``PositionClosed`` and no ``OrderFilled``, and the row is that
    close's fill: its exit price and fee, ``notional`` quantity x exit price (as the ledger books it)
    and ``margin`` the margin it released (quantity x entry price / leverage)."""
    margin = e.quantity * e.entry_price / e.leverage if e.leverage else None
    return (
        e.cycle, e.time, e.agent, e.coin, "close", _side(e.side), e.quantity, e.exit_price, e.reference_price,
        e.quantity * e.exit_price, e.exit_fee, e.leverage, margin, None, None, None, None, e.reason,
    )


def funding_row(e: ev.FundingPaid) -> Row:
    """A ``funding`` row of one ``FundingPaid``."""
    return (e.cycle, e.time, e.agent, e.coin, e.rate, e.mark_price, e.amount)


def equity_rows(state: ArenaState, completed: ev.CycleCompleted) -> list[Row]:
    """The ``equity`` rows of a cycle: ``state`` has folded ``completed`` (its ``CycleCompleted``);
    one row per line of the leaderboard it recorded, the account figures from the fold's books."""
    rows: list[Row] = []
    for r in state.leaderboard:
        book = state.agents.get(r.agent) if r.kind != "benchmark" else None
        if book is None:
            rows.append((completed.cycle, completed.time, r.rank, r.agent, r.kind, r.account_value,
                         None, None, None, None, r.fees, None, r.return_pct, None, r.halted))
            continue
        margin = round(book.account_value - book.cash - book.unrealized_pnl, 6)
        rows.append((completed.cycle, completed.time, r.rank, r.agent, book.kind, book.account_value, book.cash, margin,
                     book.unrealized_pnl, book.realized_pnl, book.fees_paid, book.funding_paid, book.return_pct,
                     len(book.positions), book.halted is not None))
    return rows


_DECISION_FIELDS = ("quantity", "leverage", "profit_target", "stop_loss", "confidence", "risk_usd")


def decision_rows(parsed: ev.DecisionParsed | None, rejections: Iterable[ev.DecisionRejected], time: int, cycle: int, agent: str) -> list[Row]:
    """The ``decisions`` rows of one agent's answer: each parsed decision, ``rejected`` with the rule
    and sentence of the first rejection of its coin not yet matched, else ``accepted``; a rejection
    matching no parsed decision (a coin not traded) becomes a row of its own."""
    rows: list[list] = []
    by_coin: dict[str, list[int]] = {}
    for d in parsed.decisions if parsed is not None else ():
        coin = d.get("coin")
        coin = coin if isinstance(coin, str) else ""
        by_coin.setdefault(coin.upper(), []).append(len(rows))
        rows.append([cycle, time, agent, coin, d.get("signal"), *(d.get(k) for k in _DECISION_FIELDS), "accepted", None, None])
    for rej in rejections:
        waiting = by_coin.get(rej.coin.upper())
        if waiting:
            row = rows[waiting.pop(0)]
            row[-3:] = ["rejected", rej.rule, rej.reason]
        else:
            rows.append([rej.cycle, rej.time, agent, rej.coin, None, *(None for _ in _DECISION_FIELDS), "rejected", rej.rule, rej.reason])
    return [tuple(r) for r in rows]


def model_call_row(e: ev.AgentReplied, kind: str, model: str, failed: ev.AgentFailed | None = None) -> Row:
    """A ``model_calls`` row of one ``AgentReplied``; ``model`` the agent's own (the reply's
    ``answered_by`` wins: a fallback answered); ``failed``: the ``AgentFailed`` that followed it (used
    when the reply itself carries no failure, e.g. an answer that did not parse)."""
    failure, reason = e.failure_kind, e.failure_reason
    if failure is None and failed is not None:
        failure, reason = failed.kind, failed.reason
    model = getattr(e, "answered_by", None) or model
    return (
        e.cycle, e.time, e.agent, kind, model, e.latency_s, e.ttft_s, e.input_tokens, e.cached_input_tokens,
        e.output_tokens, e.reasoning_tokens, e.cost_usd, e.finish_reason, failure, reason,
    )


_FELL_BACK = getattr(ev, "AgentFellBack", None)
"""``AgentFellBack`` (schema 5), the failed call of an agent's own model before its fallback's."""


def fallback_call_row(e, kind: str) -> Row:
    """A ``model_calls`` row of one ``AgentFellBack``: the agent's own model's call that failed."""
    return (
        e.cycle, e.time, e.agent, kind, e.model, e.latency_s, e.ttft_s, e.input_tokens, e.cached_input_tokens,
        e.output_tokens, e.reasoning_tokens, e.cost_usd, None, e.kind, e.reason,
    )


class TableRows:
    """Turns a journal's events into table rows: ``feed(event)`` (after the fold applied it to
    ``state``) returns the rows it completes as ``(table, row)`` pairs; ``finish()`` the rows still
    pending at the end (a journal cut off mid-cycle). An agent's decisions and model call are held
    until the cycle completes, so the rejections and failures that follow them are joined in."""

    def __init__(self, state: ArenaState) -> None:
        self.state = state
        self._parsed: dict[str, ev.DecisionParsed] = {}
        self._rejected: dict[str, list[ev.DecisionRejected]] = {}
        self._replies: dict[str, ev.AgentReplied] = {}
        self._failed: dict[str, ev.AgentFailed] = {}
        self._order: list[str] = []
        """Agents with pending rows, in the order they first appeared this cycle."""
        self._cycle_time = 0
        self._last: ev.Event | None = None

    def _touch(self, agent: str) -> None:
        if agent not in self._order:
            self._order.append(agent)

    def feed(self, e: ev.Event) -> list[tuple[str, Row]]:
        t = type(e)
        last, self._last = self._last, e
        if t is ev.PositionClosed:
            # an agent's close comes as its OrderFilled, then this; an exit between cycles as this alone
            filled = type(last) is ev.OrderFilled and last.action == "close" and last.agent == e.agent and last.coin == e.coin
            return [("trades", trade_row(e))] if filled else [("fills", exit_fill_row(e)), ("trades", trade_row(e))]
        if t is ev.OrderFilled:
            return [("fills", fill_row(e))]
        if t is ev.FundingPaid:
            return [("funding", funding_row(e))]
        if t is ev.AgentReplied:
            out = self._flush_agent(e.agent) if e.agent in self._replies or e.agent in self._parsed else []
            self._replies[e.agent] = e
            self._touch(e.agent)
            return out
        if t is ev.DecisionParsed:
            out = self._flush_agent(e.agent) if e.agent in self._parsed else []
            self._parsed[e.agent] = e
            self._touch(e.agent)
            return out
        if t is _FELL_BACK and _FELL_BACK is not None:
            book = self.state.agents.get(e.agent)
            return [("model_calls", fallback_call_row(e, book.kind if book else ""))]
        if t is ev.DecisionRejected:
            self._rejected.setdefault(e.agent, []).append(e)
            self._touch(e.agent)
            return []
        if t is ev.AgentFailed:
            if e.agent in self._replies and e.agent not in self._failed:
                self._failed[e.agent] = e
            return []
        if t is ev.CycleStarted:
            out = self.finish()
            self._cycle_time = e.time
            return out
        if t is ev.CycleCompleted:
            return [*self.finish(), *(("equity", r) for r in equity_rows(self.state, e))]
        return []

    def _flush_agent(self, agent: str) -> list[tuple[str, Row]]:
        out: list[tuple[str, Row]] = []
        reply = self._replies.pop(agent, None)
        failed = self._failed.pop(agent, None)
        book = self.state.agents.get(agent)
        if reply is not None:
            out.append(("model_calls", model_call_row(reply, book.kind if book else "", book.model if book else "", failed)))
        parsed = self._parsed.pop(agent, None)
        rejected = self._rejected.pop(agent, [])
        if parsed is not None or rejected:
            first = parsed or rejected[0]
            out.extend(("decisions", r) for r in decision_rows(parsed, rejected, first.time, first.cycle, agent))
        if agent in self._order:
            self._order.remove(agent)
        return out

    def finish(self) -> list[tuple[str, Row]]:
        """The rows pending (the decisions and model calls of the cycle so far)."""
        out: list[tuple[str, Row]] = []
        for agent in list(self._order):
            out.extend(self._flush_agent(agent))
        return out


def journal_rows(path: str | os.PathLike[str], warnings: list[str] | None = None, progress: Callable[[int], None] | None = None) -> Iterator[tuple[str, Row]]:
    """Every table row of the journal at ``path``, as ``(table, row)``, in journal order; the fold
    (``ArenaState``) applies each event before its rows are made. A last cycle the journal ends
    inside is left out (``CompleteCycles``, as the report and the replays leave it out). Raises
    ``JournalError`` (one sentence naming the file and line) for a journal that cannot be read;
    ``warnings`` gains the reader's (a cut-off last line dropped) and the cut cycle's. ``progress``:
    called with the bytes of the journal read so far."""
    with open_journal(path) as stream:
        state = ArenaState(stream.header)
        rows = TableRows(state)
        whole = CompleteCycles(with_progress(stream, progress))
        for event in whole:
            state.apply(event)
            yield from rows.feed(event)
        yield from rows.finish()
        if warnings is not None:
            warnings.extend(stream.warnings)
            cut = whole.warning("the export", journal_in_use(Path(path)))
            if cut is not None:
                warnings.append(cut)


# --- writing --------------------------------------------------------------------------------------


def default_out_dir(journal: Path) -> Path:
    """Beside the journal, named after it: ``sessions/demo.jsonl`` -> ``sessions/demo/``."""
    stem = journal.with_suffix("") if journal.suffix else journal.with_name(journal.name + "-export")
    return stem if stem != journal else journal.with_name(journal.name + "-export")


def _iso(ms: object) -> object:
    if not isinstance(ms, int) or isinstance(ms, bool):
        return ms
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    except (OverflowError, OSError, ValueError):
        return ms  # outside the calendar: the number as the journal has it


def _csv_value(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)  # the shortest text that reads back as the same float
    return v


class _CsvSink:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: dict[str, tuple] = {}

    def path(self, table: str) -> Path:
        return self.out_dir / f"{table}.csv"

    def open_all(self) -> None:
        for table, columns in TABLES.items():
            tmp = self.out_dir / f".{table}.csv.partial"
            fh = open(tmp, "w", newline="", encoding="utf-8")
            w = csv.writer(fh)
            w.writerow([c.name for c in columns])
            times = tuple(i for i, c in enumerate(columns) if c.kind == "time")
            self.files[table] = (fh, w, tmp, times)

    def write(self, table: str, row: Row) -> None:
        fh, w, tmp, times = self.files[table]
        if times:
            row = tuple(_iso(v) if i in times else v for i, v in enumerate(row))
        w.writerow([_csv_value(v) for v in row])

    def commit(self) -> None:
        for table, (fh, _w, tmp, _t) in self.files.items():
            fh.close()
            os.replace(tmp, self.path(table))
        self.files.clear()

    def abort(self) -> None:
        for fh, _w, tmp, _t in self.files.values():
            fh.close()
            tmp.unlink(missing_ok=True)
        self.files.clear()


def _pyarrow():
    try:
        import pyarrow  # noqa: F401  (the optional ``parquet`` extra)
        import pyarrow.parquet
    except ImportError:
        raise ArenaError(PARQUET_MISSING) from None
    return pyarrow, pyarrow.parquet


class _ParquetSink:
    """Collects each table's columns, then writes one Parquet file per table."""

    def __init__(self, out_dir: Path) -> None:
        self.pa, self.pq = _pyarrow()
        self.out_dir = out_dir
        self.data = {t: [[] for _ in cols] for t, cols in TABLES.items()}
        self.written: list[Path] = []

    def path(self, table: str) -> Path:
        return self.out_dir / f"{table}.parquet"

    def open_all(self) -> None:
        pass

    def write(self, table: str, row: Row) -> None:
        for col, v in zip(self.data[table], row):
            col.append(v)

    def _type(self, kind: str):
        pa = self.pa
        return {"int": pa.int64(), "float": pa.float64(), "text": pa.string(), "bool": pa.bool_(),
                "time": pa.timestamp("ms", tz="UTC")}[kind]

    def commit(self) -> None:
        pa = self.pa
        tmps = []
        try:
            for table, columns in TABLES.items():
                try:
                    arrays = [pa.array(values, type=self._type(c.kind)) for c, values in zip(columns, self.data[table])]
                except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
                    raise ArenaError(f"the {table} table cannot be written as Parquet ({' '.join(str(exc).split())[:200]}); export it as CSV instead.") from None
                tmp = self.out_dir / f".{table}.parquet.partial"
                tmps.append(tmp)
                self.pq.write_table(pa.Table.from_arrays(arrays, names=[c.name for c in columns]), tmp)
            for table, tmp in zip(TABLES, tmps):
                os.replace(tmp, self.path(table))
        finally:
            for tmp in tmps:
                tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        self.data.clear()


@dataclass
class Exported:
    """What ``export_journal`` wrote: ``files`` as (table, path, rows), in ``TABLES`` order, and the
    reader's ``warnings`` (a cut-off last line dropped, a cut-off last cycle left out)."""

    journal: Path
    out_dir: Path
    files: list[tuple[str, Path, int]]
    warnings: list[str]


def export_journal(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None, fmt: str = "csv", progress: Callable[[int], None] | None = None
) -> Exported:
    """Write the tables of the journal at ``path`` into ``out_dir`` (default ``default_out_dir``),
    one ``<table>.csv`` (or ``.parquet``) per table of ``TABLES``, replacing earlier exports there.
    Each file is written beside its final name and renamed into place once the whole journal has
    been read, so a journal that turns out corrupt leaves no half-written table. Raises ``ArenaError``
    (one sentence): a journal that cannot be read (``JournalError``: file and line), a directory that
    cannot be written, or Parquet without pyarrow. ``progress``: called with the bytes of the journal
    read so far."""
    if fmt not in FORMATS:
        raise ArenaError(f"unknown export format {fmt!r}; use csv or parquet.")
    journal = Path(path)
    out = Path(out_dir) if out_dir is not None else default_out_dir(journal)
    sink = _ParquetSink(out) if fmt == "parquet" else _CsvSink(out)
    warnings: list[str] = []
    rows_iter = journal_rows(journal, warnings, progress)
    counts = dict.fromkeys(TABLES, 0)
    try:
        first = next(rows_iter, None)  # reads the header: a missing or foreign file fails before any directory is made
        try:
            out.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise ArenaError(f"cannot export to {out}: it is a file; give a directory with --to.") from None
        except OSError as exc:
            raise ArenaError(f"cannot create the export directory {out} ({exc.strerror}); give another with --to.") from None
        try:
            sink.open_all()
            try:
                if first is not None:
                    sink.write(*first)
                    counts[first[0]] += 1
                for table, row in rows_iter:
                    sink.write(table, row)
                    counts[table] += 1
                sink.commit()
            except BaseException:
                sink.abort()
                raise
        except OSError as exc:
            raise ArenaError(f"cannot write the export in {out} ({exc.strerror}); check the directory and the free space.") from None
    finally:
        rows_iter.close()
    return Exported(journal, out, [(t, sink.path(t), counts[t]) for t in TABLES], warnings)
