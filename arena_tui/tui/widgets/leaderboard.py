"""The leaderboard: one row per agent plus the BTC buy-and-hold benchmark, ranked by account value,
with each one's equity line as a sparkline."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Iterable

from rich.text import Text

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.tables import ArenaTable, ColumnSpec, Row

if TYPE_CHECKING:
    from arena_tui.engine.events import LeaderboardRow

EQUITY_POINTS = 240
"""Account values kept per agent for the sparkline (one per cycle)."""


class Leaderboard(ArenaTable):
    """Rows keyed by agent name, best first: the state's ``leaderboard`` (the standings the last
    ``CycleCompleted`` recorded), or before any cycle completed ``state.standings()`` (every agent
    at its starting cash). Columns: rank (``1.``), agent (its number, the one its pane and focus key use;
    the benchmark in italics; a halted agent struck through and marked ``✖``; a failing one
    marked ``⚠`` with its last failure's kind and, from two, the failures in a row: ``⚠ auth ×3``), equity sparkline (its account
    value at every cycle, scaled to its own range), account value and PnL (USD), return %, fees
    (USD), win rate (percent of closed trades that made money), Sharpe ratio (hourly returns,
    annualised, shown after a day of them), maximum drawdown (%), trades, the model's tokens
    (input + output, session total) and cost (USD, session total; with the share of the daily
    budget used today where a budget is set); a missing figure shows ``–``. When the agents were
    prompted with different templates (per-agent ``system_prompt``/``user_prompt``), each agent's
    name is followed by its templates' label (``GPT · terse``; ``prompt.prompt_labels``: the file
    stem, "alpha-arena" for the bundled ones); otherwise nothing is added. Fees and tokens need
    140 columns, PnL and win rate 120; under 100 the agent column is narrower and the equity line
    10 cycles long instead of 14, and the budget share is left out. A session replaying Alpha Arena
    Season 1 (``season1``) shows the real account value (``real $``) instead of tokens and cost; a
    session of rule-based agents only shows PnL, win rate and fees instead of them where they fit
    (``NO_MODELS``).
    Columns that still do not fit give way whole (``ColumnSpec.drop``), never cut at the edge.

    The equity lines are display-only history: ``record`` adds each ``CycleCompleted``'s account
    values (at most ``EQUITY_POINTS`` per agent).
    """

    COLUMNS = (
        ColumnSpec("rank", "#", 3),
        ColumnSpec("agent", "agent", 29, numeric=False, narrow_width=16),
        ColumnSpec("equity", "equity", 14, narrow_width=10, drop=3),
        ColumnSpec("value", "value $", 9),
        ColumnSpec("return", "return", 8),
        ColumnSpec("pnl", "PnL $", 10, min_width=120),  # +11,066.35
        ColumnSpec("fees", "fees $", 7, min_width=140),
        ColumnSpec("win", "win", 5, min_width=120),
        ColumnSpec("sharpe", "Sharpe", 6, drop=4),
        ColumnSpec("drawdown", "maxDD", 6),
        ColumnSpec("trades", "trades", 6),
        ColumnSpec("tokens", "tokens", 6, min_width=140),
        ColumnSpec("cost", "cost $", 10, narrow_width=6, drop=1),
    )
    """Where the columns meant for the width do not fit (a Season 1 session's ``real $`` at 80
    columns), the Sharpe ratio gives way first, then the equity line, the real account value and
    the cost: the trades, return and drawdown stay whole."""

    REAL = ColumnSpec("real", "real $", 9, drop=2)
    """A Season 1 session's (``season1.is_season1``) column instead of tokens and cost: the account
    value the model's latest real prompt at or before the cycle stated (``season1.real_value_at``)."""

    NO_MODELS = {
        "pnl": ColumnSpec("pnl", "PnL $", 10, drop=6),
        "win": ColumnSpec("win", "win", 5, drop=5),
        "fees": ColumnSpec("fees", "fees $", 7, drop=7),
    }
    """A session of rule-based agents only (no model, so no tokens or cost): PnL, win rate and fees
    take the room of those columns at any width, giving way first (fees, then PnL, then win rate)
    where they do not fit."""

    @property
    def wanted_columns(self) -> tuple[ColumnSpec, ...]:
        if self._rule_based_only():
            width = self.width
            columns = tuple(
                c if c.shown_at(width) else self.NO_MODELS.get(c.key, c)
                for c in self.COLUMNS
                if c.key not in ("tokens", "cost") and (c.shown_at(width) or c.key in self.NO_MODELS)
            )
        else:
            columns = super().wanted_columns
        if not self._season1():
            return columns
        out: list[ColumnSpec] = []
        for c in columns:
            if c.key in ("tokens", "cost"):
                continue
            out.append(c)
            if c.key == "value":
                out.append(self.REAL)
        return tuple(out)

    def _rule_based_only(self) -> bool:
        """Every agent of the session is rule-based (``ArenaState.rule_based_only``; false before its
        header is known)."""
        state = self.state
        return state is not None and state.header is not None and state.rule_based_only()

    def _season1(self) -> bool:
        header = self.state.header if self.state is not None else None
        if header is None:
            return False
        if self._is_season1[0] is not header:
            from arena_tui.season1 import is_season1

            self._is_season1 = (header, is_season1(header))
        return self._is_season1[1]

    def show(self, state) -> None:
        """Draw the table from ``state``; a Season 1 session's header swaps in the ``real $`` column."""
        self.state = state
        self.relayout()
        self.refresh_rows()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._is_season1: tuple[object, bool] = (None, False)
        self._equity: dict[str, deque[float]] = {}
        self._prompts: tuple[object, dict[str, str]] = (None, {})  # (the header they are of, labels)

    def record(self, rows: Iterable[LeaderboardRow]) -> None:
        """Add one ``CycleCompleted.leaderboard``'s account values to the equity lines."""
        for row in rows:
            self._equity.setdefault(row.agent, deque(maxlen=EQUITY_POINTS)).append(float(row.account_value))

    def standings(self) -> tuple[LeaderboardRow, ...]:
        """The rows shown, best first."""
        state = self.state
        if state is None:
            return ()
        return state.leaderboard or state.standings()

    def table_rows(self) -> list[Row]:
        """One row per agent and the benchmark, best rank first."""
        return [(row.agent, self._cells(row)) for row in sorted(self.standings(), key=lambda r: r.rank)]

    def prompt_labels(self) -> dict[str, str]:
        """Agent name -> its prompt templates' label, when the agents' templates differ (else {});
        computed once per session header."""
        header = self.state.header if self.state is not None else None
        if header is None:
            return {}
        if self._prompts[0] is not header:
            from arena_tui.engine.prompt import prompt_labels

            self._prompts = (header, prompt_labels(header.agents))
        return self._prompts[1]

    def _cells(self, row: LeaderboardRow) -> dict[str, Text]:
        label_style: tuple[str, ...] = ()
        if row.kind == "benchmark":
            label_style = ("arena--benchmark",)
        elif row.halted:
            label_style = ("arena--halted",)
        elif row.kind == "rule-based":
            label_style = ("arena--rule-based",)
        book = self.state.agents.get(row.agent) if self.state is not None and row.kind != "benchmark" else None
        label = fmt.agent_label(row.agent, row.kind)
        prompt = self.prompt_labels().get(row.agent) if book is not None else None
        if prompt:
            label = f"{label} · {prompt}"
        if book is not None:
            from arena_tui.tui.widgets.reasoning import agent_number  # (imported with the panes, after the first frame)

            number = agent_number(self.state, row.agent)  # type: ignore[arg-type]
            mark = ""
            if book.halted is not None:
                mark = "✖ "
            elif book.consecutive_failures and book.last_failure is not None:
                times = f"×{book.consecutive_failures} " if book.consecutive_failures > 1 else ""
                mark = f"⚠ {book.last_failure.kind} {times}"
                label_style = ("arena--warning",)
            label = f"{number} {mark}{label}"  # the mark first: a narrow column cuts the name, not it
        elif row.kind == "benchmark":
            label = f"  {label}"
        line = list(self._equity.get(row.agent, ()))
        spark = next(c for c in self.COLUMNS if c.key == "equity").width_for(self.narrow)
        trend = (line[-1] - line[0]) if len(line) >= 2 else None
        ret, pnl, win, dd = row.return_pct, row.pnl, row.win_rate, row.max_drawdown_pct
        return {
            "rank": self.styled(f"{row.rank}."),
            "agent": self.styled(label, *label_style, numeric=False),
            "equity": self.signed(trend, fmt.sparkline(line, spark)) if line else self.styled("", numeric=False),
            "value": self.styled(fmt.number(row.account_value, 2), "arena--strong"),
            "return": self.signed(ret, fmt.percent(ret)),
            "pnl": self.signed(pnl, fmt.MISSING if pnl is None else f"{pnl:+,.2f}"),
            "fees": self.styled(fmt.number(row.fees, 2), "arena--muted"),
            "win": self.styled(fmt.MISSING if win is None else f"{win:.0f}%"),
            "sharpe": self.signed(row.sharpe, fmt.ratio(row.sharpe)),
            "drawdown": self.styled(fmt.MISSING if dd is None else f"{dd:.1f}%"),
            "trades": self.styled(str(row.trades)),
            "tokens": self._tokens(book),
            "cost": self._cost(book),
            "real": self._real(row),
        }

    def _real(self, row: LeaderboardRow) -> Text:
        """The real account value beside ours (Season 1 sessions), coloured as ours compares."""
        if not self._season1() or row.kind == "benchmark" or self.state is None or self.state.cycle_time is None:
            return self.styled(fmt.MISSING, "arena--muted")
        from arena_tui.season1 import real_value_at

        book = self.state.agents.get(row.agent)
        real = real_value_at(book.model, self.state.cycle_time) if book is not None else None
        if real is None:
            return self.styled(fmt.MISSING, "arena--muted")
        return self.styled(fmt.number(real, 2), "arena--muted")

    def _tokens(self, book) -> Text:
        if book is None or book.kind == "rule-based" or not book.calls:
            return self.styled(fmt.MISSING, "arena--muted")
        return self.styled(fmt.compact(book.input_tokens + book.output_tokens), "arena--muted")

    def _cost(self, book) -> Text:
        """Session cost (USD); ``0.42 31%`` where a daily budget is set: the larger share of the
        token and dollar budgets spent today (warning colour from 80%; 100 columns and more)."""
        if book is None or book.kind == "rule-based" or not book.calls:
            return self.styled(fmt.MISSING, "arena--muted")
        text = fmt.usd_small(book.cost_usd)
        used = budget_used_pct(book)
        if used is None or self.narrow:
            return self.styled(text, "arena--muted")
        return self.styled(f"{text} {used:.0f}%", "arena--warning" if used >= 80 else "arena--muted")

    def equity(self, name: str) -> list[float]:
        """The account values recorded for ``name`` so far (oldest first)."""
        return list(self._equity.get(name, ()))

    def reset(self) -> None:
        self._equity.clear()


def budget_used_pct(book) -> float | None:
    """The share (%) of an agent's daily budget (tokens or USD, whichever is further along) spent on
    the current UTC day, or None when it has no budget."""
    shares = []
    if book.budget_tokens_per_day:
        shares.append(book.day_tokens / book.budget_tokens_per_day * 100)
    if book.budget_usd_per_day:
        shares.append(book.day_cost_usd / book.budget_usd_per_day * 100)
    return max(shares) if shares else None
