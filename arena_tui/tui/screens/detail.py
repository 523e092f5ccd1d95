"""The model detail view (``D`` on the console's selected agent, Enter on a trade): one agent's
account, open positions with their exit plans, trade statistics, model calls and decision history,
all from its ``AgentBook`` in the session's state."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterable

from rich import box
from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui import formatting as fmt
from arena_tui.tui.screens.trades import EXIT_REASONS, held
from arena_tui.tui.screens.view import VIEW_BINDINGS, StateView
from arena_tui.tui.widgets.component_style import text_style

if TYPE_CHECKING:
    from arena_tui.engine import events as ev
    from arena_tui.engine.state import AgentBook, ArenaState

LAST_CALLS = 10
"""Model calls listed one by one (the totals count every call)."""
HISTORY_CYCLES = 100
"""Cycles of decisions the history lists, newest first (the state keeps its last ``DECISION_HISTORY``
decision events)."""


@dataclass
class CoinStats:
    """One coin's closed trades: how many, how many made money, their net PnL (USD)."""

    trades: int = 0
    won: int = 0
    net: float = 0.0


@dataclass
class TradeStats:
    """Statistics of closed trades (``PositionClosed``; money in USD, after fees and funding):
    ``win_rate`` percent of trades with a positive net PnL (None without trades); ``avg_win`` /
    ``avg_loss`` the mean net PnL of the winning / losing (negative) trades (None without any);
    ``longest_hold_ms`` the longest holding time; ``per_coin`` coin -> ``CoinStats`` (first traded
    first)."""

    trades: int = 0
    wins: int = 0
    losses: int = 0
    net: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    best: float | None = None
    worst: float | None = None
    avg_win: float | None = None
    avg_loss: float | None = None
    longest_hold_ms: int = 0
    win_rate: float | None = None
    per_coin: dict[str, CoinStats] = field(default_factory=dict)


def trade_stats(trades: Iterable[ev.PositionClosed]) -> TradeStats:
    """The ``TradeStats`` of ``trades``."""
    s = TradeStats()
    won: list[float] = []
    lost: list[float] = []
    for t in trades:
        s.trades += 1
        s.net += t.net_pnl
        s.fees += t.entry_fee + t.exit_fee
        s.funding += t.funding_paid
        (won if t.net_pnl > 0 else lost if t.net_pnl < 0 else []).append(t.net_pnl)
        s.best = t.net_pnl if s.best is None else max(s.best, t.net_pnl)
        s.worst = t.net_pnl if s.worst is None else min(s.worst, t.net_pnl)
        s.longest_hold_ms = max(s.longest_hold_ms, t.time - t.entry_time)
        coin = s.per_coin.setdefault(t.coin, CoinStats())
        coin.trades += 1
        coin.won += t.net_pnl > 0
        coin.net += t.net_pnl
    s.wins, s.losses = len(won), len(lost)
    s.avg_win = sum(won) / len(won) if won else None
    s.avg_loss = sum(lost) / len(lost) if lost else None
    s.win_rate = s.wins / s.trades * 100 if s.trades else None
    return s


_SIGNAL_MARKS = {"buy_to_enter": "▲", "sell_to_enter": "▼", "close": "□", "close_position": "□"}
_SIGNAL_WORDS = {"buy_to_enter": "buy", "sell_to_enter": "sell", "close_position": "close"}


def _only_holds(events: list) -> tuple[str, ...] | None:
    """The coins held when a cycle's only events are one parsed answer of holds; else None."""
    if len(events) != 1 or type(events[0]).__name__ != "DecisionParsed":
        return None
    decisions = events[0].decisions
    if not all(isinstance(d, dict) and d.get("signal") == "hold" for d in decisions):
        return None
    return tuple(str(d.get("coin", "?")) for d in decisions)


class DetailScreen(StateView):
    """One agent (``agent``, by name): the title names its number, name, kind and model and whether it
    is halted or failing; then, each under a heading: Account (value, cash, margin, return, realized
    and unrealized PnL, fees, funding), Positions (each with its stop, target and liquidation price,
    and its invalidation condition), Trades (count, win rate, average win and loss, best, worst,
    longest hold, net; per coin), Model calls (count, tokens, cost, the last ``LAST_CALLS`` with
    their latency, tokens and cost) and Decisions (newest cycle first: each decision, ✓ accepted or
    ✗ rejected with the risk rule's id and reason, holds, failures). Tab and shift+tab show the next
    and previous agent."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"detail--up", "detail--down", "detail--muted", "detail--warning", "detail--heading"}

    DEFAULT_CSS = """
    DetailScreen {
        & > .detail--up { color: $success; }
        & > .detail--down { color: $error; }
        & > .detail--muted { color: $text-muted; }
        & > .detail--warning { color: $warning; }
        & > .detail--heading { color: $text; text-style: bold; }
        & #detail-title { height: auto; padding: 0 1; background: $boost; text-style: bold; }
        & #detail-body { height: 1fr; padding: 0 1; }
        & #detail-body > Static { margin-bottom: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *VIEW_BINDINGS,
        Binding("tab", "other_agent(1)", "Next agent", tooltip="The next agent's detail", id="detail-next"),
        Binding("shift+tab", "other_agent(-1)", "Previous agent", show=False, tooltip="The previous agent's detail", id="detail-previous"),
    ]

    def __init__(self, agent: str) -> None:
        super().__init__(id="detail-view")
        self.agent = agent
        self.title_line = Static(id="detail-title")
        self.account = Static(id="detail-account")
        self.positions = Static(id="detail-positions")
        self.trades = Static(id="detail-trades")
        self.calls = Static(id="detail-calls")
        self.history = Static(id="detail-history")
        self.body = VerticalScroll(id="detail-body")
        self._drawn: tuple | None = None

    def compose(self) -> ComposeResult:
        yield self.title_line
        with self.body:
            yield self.account
            yield self.positions
            yield self.trades
            yield self.calls
            yield self.history
        yield Footer()

    def on_mount(self) -> None:
        self.body.focus()

    def action_other_agent(self, step: int) -> None:
        """Show the next (``step`` 1) or previous (-1) agent."""
        state = self.state
        names = list(state.agents) if state is not None else []
        if not names:
            return
        i = names.index(self.agent) if self.agent in names else -step
        self.agent = names[(i + step) % len(names)]
        self._drawn = None
        self.body.scroll_home(animate=False)
        self.show_state()

    # -- drawing ----------------------------------------------------------------------------------

    def _style(self, component: str) -> Style:
        return text_style(self, f"detail--{component}")

    def _signed(self, value: float | None, text: str) -> Text:
        if value is None or value != value or value == 0:
            return Text(text)
        return Text(text, style=self._style("up" if value > 0 else "down"))

    def _heading(self, text: str) -> Text:
        return Text(text, style=self._style("heading"))

    def show_state(self) -> None:
        if not self.is_mounted:
            return
        state = self.state
        book = state.agents.get(self.agent) if state is not None else None
        key = (id(state), self.agent) + (
            (len(book.history), id(book.history[-1]) if book.history else 0, book.calls, len(book.trades), book.positions,
             book.account_value, book.halted, book.consecutive_failures, self.app.size.width >= 100)
            if book is not None else ()
        )
        if key == self._drawn:
            return
        self._drawn = key
        if state is None or book is None:
            self.title_line.update(Text(safe_line(f"{self.agent}: not in this session (yet)", limit=80)))
            for part in (self.account, self.positions, self.trades, self.calls, self.history):
                part.update("")
            return
        number = list(state.agents).index(self.agent) + 1
        self.title_line.update(self._title(number, book))
        self.account.update(self._account(book))
        self.positions.update(self._positions(book))
        self.trades.update(self._trades(book))
        self.calls.update(self._calls(book))
        self.history.update(self._history(book))

    def _title(self, number: int, book: AgentBook) -> Text:
        text = Text(safe_line(f"{number} {fmt.agent_label(book.name, book.kind)}", limit=80))
        about = " · ".join(p for p in (book.kind, book.model) if p)
        if about:
            text.append(safe_line(f" · {about}", limit=80), style=self._style("muted"))
        if book.halted is not None:
            text.append(safe_line(f"  ✖ HALTED: {book.halted}", limit=120), style=self._style("down"))
        elif book.last_failure is not None and book.consecutive_failures:
            times = f" ×{book.consecutive_failures}" if book.consecutive_failures > 1 else ""
            text.append(safe_line(f"  ⚠ {book.last_failure.kind}{times}", limit=60), style=self._style("warning"))
        return text

    def _grid(self, pairs: list[tuple[str, Text]], columns: int = 4) -> Table:
        """Label/value pairs, ``columns`` pairs a row (2 under 100 cells)."""
        columns = columns if self.app.size.width >= 100 else 2
        grid = Table.grid(padding=(0, 2, 0, 0))
        for _ in range(columns):
            grid.add_column(style=self._style("muted"), no_wrap=True)
            grid.add_column(justify="right", no_wrap=True)
        for i in range(0, len(pairs), columns):
            row: list[Text | str] = []
            for label, value in pairs[i : i + columns]:
                row += [label, value]
            grid.add_row(*row)
        return grid

    def _account(self, book: AgentBook) -> Group:
        margin = book.account_value - book.cash - book.unrealized_pnl
        pairs = [
            ("account value", Text(fmt.money(book.account_value), style="bold")),
            ("return", self._signed(book.return_pct, fmt.percent(book.return_pct))),
            ("cash", Text(fmt.money(book.cash))),
            ("margin", Text(fmt.money(margin))),
            ("realized PnL", self._signed(book.realized_pnl, fmt.money(book.realized_pnl, sign=True))),
            ("unrealized PnL", self._signed(book.unrealized_pnl, fmt.money(book.unrealized_pnl, sign=True))),
            ("fees", Text(fmt.money(book.fees_paid))),
            ("funding", Text(fmt.money(book.funding_paid))),
        ]
        dd = book.figures.get("max_drawdown_pct")
        pairs += [("max drawdown", Text(fmt.MISSING if dd is None else f"{dd:.2f}%")), ("Sharpe", Text(fmt.ratio(book.figures.get("sharpe"))))]
        return Group(self._heading("Account"), self._grid(pairs))

    def _positions(self, book: AgentBook) -> Group:
        if not book.positions:
            return Group(self._heading("Positions"), Text("no open position", style=self._style("muted")))
        wide = self.app.size.width >= 100
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
        columns = [("coin", False), ("side", False), ("qty", True), ("lev", True), ("entry", True), ("mark", True),
                   ("uPnL $", True), ("stop", True), ("target", True), ("liq.", True)]
        if not wide:  # 80 columns: the entry and liquidation price make room for the exit plan
            columns = [c for c in columns if c[0] not in ("entry", "liq.")]
        for label, right in columns:
            table.add_column(label, justify="right" if right else "left", no_wrap=True)
        plans = Text()
        for p in book.positions:
            cells = {
                "coin": Text(safe_line(p.coin, limit=12), style="bold"),
                "side": Text(fmt.side(p.side), style=self._style("up" if p.side > 0 else "down")),
                "qty": fmt.quantity(p.quantity),
                "lev": fmt.leverage(p.leverage),
                "entry": fmt.price(p.entry_price),
                "mark": fmt.price(p.mark_price),
                "uPnL $": self._signed(p.unrealized_pnl, f"{p.unrealized_pnl:+,.2f}"),
                "stop": fmt.price(p.stop_loss),
                "target": fmt.price(p.profit_target),
                "liq.": fmt.price(p.liquidation_price) if p.liquidation_price and p.liquidation_price > 0 else fmt.MISSING,
            }
            table.add_row(*(cells[label] for label, _ in columns))
            why = book.invalidations.get(p.coin)
            if why:
                plans.append(safe_line(f"{p.coin} invalidation: ", limit=20), style=self._style("muted"))
                plans.append(safe_line(why, limit=300) + "\n")
        plans.rstrip()
        return Group(self._heading("Positions"), table, plans)

    def _trades(self, book: AgentBook) -> Group:
        s = trade_stats(book.trades)
        if not s.trades:
            return Group(self._heading("Trades"), Text("no closed trade yet", style=self._style("muted")))
        pairs = [
            ("trades", Text(f"{s.trades}")),
            ("win rate", Text(f"{s.win_rate:.0f}% ({s.wins} won, {s.losses} lost)" if s.win_rate is not None else fmt.MISSING)),
            ("net PnL", self._signed(s.net, fmt.money(s.net, sign=True))),
            ("longest hold", Text(held(s.longest_hold_ms))),
            ("average win", self._signed(s.avg_win, fmt.money(s.avg_win, sign=True))),
            ("average loss", self._signed(s.avg_loss, fmt.money(s.avg_loss, sign=True))),
            ("best", self._signed(s.best, fmt.money(s.best, sign=True))),
            ("worst", self._signed(s.worst, fmt.money(s.worst, sign=True))),
            ("fees", Text(fmt.money(s.fees))),
            ("funding", Text(fmt.money(s.funding))),
        ]
        coins = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
        for label, right in (("coin", False), ("trades", True), ("won", True), ("net PnL $", True)):
            coins.add_column(label, justify="right" if right else "left", no_wrap=True)
        for coin, c in s.per_coin.items():
            coins.add_row(Text(safe_line(coin, limit=12), style="bold"), str(c.trades), str(c.won), self._signed(c.net, f"{c.net:+,.2f}"))
        last = book.trades[-1]
        recent = Text(safe_line(
            f"last: {last.coin} {fmt.side(last.side)} closed {fmt.short_time(last.time)} by {EXIT_REASONS.get(last.reason, last.reason)}, "
            f"net {fmt.money(last.net_pnl, sign=True)} (T lists every trade)", limit=200), style=self._style("muted"))
        return Group(self._heading("Trades"), self._grid(pairs), Text(""), coins, recent)

    def _calls(self, book: AgentBook) -> Group:
        replies = list(book.replies)
        if book.kind == "rule-based":
            return Group(self._heading("Model calls"), Text(f"none: a rule-based agent decides by its rule ({book.calls:,} cycles decided)", style=self._style("muted")))
        if not book.calls:
            return Group(self._heading("Model calls"), Text("no model call yet", style=self._style("muted")))
        latencies = [r.latency_s for r in replies if r.latency_s]
        pairs = [
            ("calls", Text(f"{book.calls:,}")),
            ("cost", Text(f"${fmt.usd_small(book.cost_usd)}")),
            ("input tokens", Text(f"{book.input_tokens:,}" + (f" ({book.cached_input_tokens:,} cached)" if book.cached_input_tokens else ""))),
            ("output tokens", Text(f"{book.output_tokens:,}" + (f" ({book.reasoning_tokens:,} reasoning)" if book.reasoning_tokens else ""))),
            ("mean latency", Text(f"{sum(latencies) / len(latencies):.1f} s" if latencies else fmt.MISSING)),
            ("failures", Text(f"{book.failures}" + (f" ({', '.join(f'{k} ×{n}' for k, n in book.failure_kinds.items())})" if book.failure_kinds else ""))),
        ]
        if book.fallbacks:
            pairs.append(("fallbacks", Text(safe_line(f"{book.fallbacks} (last: {book.fallback_model})", limit=60))))
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False, title_justify="left")
        for label, right in (("cycle", True), ("UTC", False), ("latency", True), ("first token", True), ("in", True), ("out", True),
                             ("cost $", True), ("outcome", False)):
            table.add_column(label, justify="right" if right else "left", no_wrap=label != "outcome", overflow="ellipsis")
        for r in reversed(replies[-LAST_CALLS:]):
            outcome = Text("answered")
            if r.failure_kind:
                outcome = Text(safe_line(f"⚠ {r.failure_kind}", limit=40), style=self._style("warning"))
            elif r.answered_by:
                outcome = Text(safe_line(f"↪ {r.answered_by}", limit=40), style=self._style("warning"))
            table.add_row(
                str(r.cycle), fmt.short_time(r.time) if r.time > 0 else fmt.MISSING, f"{r.latency_s:.1f} s",
                f"{r.ttft_s:.1f} s" if r.ttft_s is not None else fmt.MISSING, fmt.compact(r.input_tokens), fmt.compact(r.output_tokens),
                fmt.usd_small(r.cost_usd), outcome,
            )
        return Group(self._heading("Model calls"), self._grid(pairs, columns=3), Text(f"last {min(len(replies), LAST_CALLS)} calls, newest first:", style=self._style("muted")), table)

    def _history(self, book: AgentBook) -> Group:
        by_cycle: dict[int, list[ev.Event]] = defaultdict(list)
        for e in book.history:
            by_cycle[e.cycle].append(e)
        if not by_cycle:
            return Group(self._heading("Decisions"), Text("no decision yet", style=self._style("muted")))
        out = Text(no_wrap=False)
        cycles = sorted(by_cycle, reverse=True)[:HISTORY_CYCLES]
        rejected_n = sum(1 for e in book.history if type(e).__name__ == "DecisionRejected")
        run: list[int] = []  # cycles in a row (newest first) in which it held the same coins, and did nothing else
        run_holds: tuple[str, ...] | None = None

        def end_run() -> None:
            if run:
                span = f"cycle {run[0]}" if len(run) == 1 else f"cycles {run[-1]}-{run[0]}"
                out.append(f"{span} · {fmt.short_time(by_cycle[run[-1]][0].time)}-{fmt.short_time(by_cycle[run[0]][0].time)[6:]}\n", style=self._style("heading"))
                out.append(safe_line("  hold: " + " ".join(run_holds or ()), limit=200) + "\n", style=self._style("muted"))
                run.clear()

        for cycle in cycles:
            events = by_cycle[cycle]
            holds = _only_holds(events)
            if holds is not None and (not run or holds == run_holds):
                run.append(cycle)
                run_holds = holds
                continue
            end_run()
            if holds is not None:
                run.append(cycle)
                run_holds = holds
                continue
            out.append(f"cycle {cycle} · {fmt.short_time(events[0].time)}\n", style=self._style("heading"))
            self._cycle_lines(out, events)
        end_run()
        out.rstrip()
        kept = f"the last {len(cycles)} cycles, newest first" + (f"; {rejected_n} rejected" if rejected_n else "")
        return Group(self._heading("Decisions"), Text(kept, style=self._style("muted")), out)

    def _cycle_lines(self, out: Text, events: list[ev.Event]) -> None:
        """One cycle's decisions: each entry or close with ✓ (accepted) or ✗ [rule] reason, the holds
        in one line, rejections of coins it did not decide on, failures."""
        rejections: dict[str, list] = defaultdict(list)
        for e in events:
            if type(e).__name__ == "DecisionRejected":
                rejections[e.coin].append(e)  # type: ignore[attr-defined]
        shown: set[str] = set()
        for e in events:
            kind = type(e).__name__
            if kind == "AgentFailed":
                out.append(safe_line(f"  ⚠ {e.kind}: {e.reason}", limit=300) + "\n", style=self._style("warning"))  # type: ignore[attr-defined]
            elif kind == "DecisionParsed":
                holds: list[str] = []
                for d in e.decisions:  # type: ignore[attr-defined]
                    coin, signal = str(d.get("coin", "?")), str(d.get("signal", "?"))
                    if signal == "hold":
                        holds.append(coin)
                        continue
                    line = f"  {_SIGNAL_MARKS.get(signal, '·')} {coin} {_SIGNAL_WORDS.get(signal, signal)}"
                    if signal in ("buy_to_enter", "sell_to_enter"):
                        line += f" {fmt.quantity(d.get('quantity'))} @{fmt.leverage(d.get('leverage'))}"
                        line += f" stop {fmt.price(d.get('stop_loss'))} tp {fmt.price(d.get('profit_target'))}"
                        if isinstance(d.get("confidence"), (int, float)):
                            line += f" conf {d['confidence'] * 100:.0f}%"
                    out.append(safe_line(line, limit=200))
                    if rejections.get(coin):
                        shown.add(coin)
                        for r in rejections[coin]:
                            out.append(safe_line(f"  ✗ rejected [{r.rule}]: {r.reason}", limit=300), style=self._style("down"))
                    else:
                        out.append("  ✓ accepted", style=self._style("up"))
                    out.append("\n")
                if holds:
                    out.append(safe_line("  hold: " + " ".join(holds), limit=200) + "\n", style=self._style("muted"))
        for coin, rs in rejections.items():
            if coin not in shown:
                for r in rs:
                    out.append(safe_line(f"  ✗ {coin} rejected [{r.rule}]: {r.reason}", limit=300) + "\n", style=self._style("down"))
