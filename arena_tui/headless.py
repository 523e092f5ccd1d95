"""Headless runs (no screen): a rich progress bar and final leaderboard; replay verification.

Everything printed that came from a session or a journal (agent names, session names, notices,
failure reasons, the difference a verification found, paths) goes through ``engine.sanitize``
(``safe_line`` for one-line places, ``safe_text`` otherwise) and is printed as ``rich.text.Text``,
never as markup: a journal from elsewhere must not drive the terminal.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from arena_tui.engine import events as ev
from arena_tui.engine.events import LeaderboardRow
from arena_tui.engine.market.recorded import format_time
from arena_tui.engine.sanitize import safe_line, safe_text
from arena_tui.tui.formatting import usd_small

if TYPE_CHECKING:
    from arena_tui.engine.state import ArenaState


def _console() -> Console:
    """A console; when output is not a terminal (a pipe, a file, CI) the tables get 120 columns
    instead of rich's 80 so that agent names and figures are not folded."""
    c = Console()
    return c if c.is_terminal else Console(width=120)


def leaderboard_table(rows: Sequence[LeaderboardRow], title: str, state: "ArenaState | None" = None) -> Table:
    """The leaderboard as a rich Table (rank, agent, account value, return, PnL, fees, win rate,
    Sharpe, max drawdown, trades; with ``state``, a failing agent marked with its failure count,
    the prompt templates each agent used when they differ (``prompt.prompt_labels``) and, once a
    model was called, each model's tokens and cost in USD). Agent names, template labels and
    ``title`` are journal text: made safe (``safe_line``) and drawn as plain ``Text``, never markup."""
    books = state.agents if state is not None else {}
    from arena_tui.engine.state import SEEDED_NOTE

    seeded = any(b.seeded for b in books.values())
    table = Table(title=Text(safe_line(title, limit=None)), title_justify="left",
                  caption=SEEDED_NOTE if seeded else None, caption_justify="left")
    prompts = _prompt_labels(state)
    if not any(b.calls and b.kind != "rule-based" and (b.input_tokens or b.output_tokens or b.cost_usd) for b in books.values()):
        state = None  # no model was called (or none reported usage, as recorded answers): no tokens or cost to show
    for col, just in (
        ("#", "right"),
        ("agent", "left"),
        *((("prompt", "left"),) if prompts else ()),
        ("value $", "right"),
        ("return", "right"),
        ("PnL", "right"),
        ("fees", "right"),
        ("win", "right"),
        ("Sharpe", "right"),
        ("max DD", "right"),
        ("trades", "right"),
        *((("tokens", "right"), ("cost $", "right")) if state is not None else ()),
    ):
        table.add_column(col, justify=just)
    for r in rows:
        style = "green" if r.return_pct > 0 else ("red" if r.return_pct < 0 else "")
        wr, sh, dd = r.win_rate, r.sharpe, r.max_drawdown_pct
        book = books.get(r.agent)
        mark = " (halted)" if r.halted else ""
        if book is not None and book.failures and not r.halted:
            mark = f" ⚠ {book.failures} failed"
        usage = ()
        if state is not None:
            llm = book is not None and book.calls and book.kind != "rule-based"
            tokens = book.input_tokens + book.output_tokens if llm else 0
            # (a recorded model's answers carry no usage: "-", as the report shows it)
            usage = (f"{tokens:,}" if tokens else "-", usd_small(book.cost_usd) if tokens or (llm and book.cost_usd) else "-")
        table.add_row(
            str(r.rank),
            Text(safe_line(r.agent) + mark, style="yellow" if mark and not r.halted else ""),
            *((Text(safe_line(prompts.get(r.agent, "-"), limit=40)),) if prompts else ()),
            f"{r.account_value:,.2f}",
            Text(f"{r.return_pct:+.2f}%", style=style),
            f"{r.pnl:+,.2f}",
            f"{r.fees:,.2f}",
            "-" if wr is None else f"{wr:.0f}%",
            "-" if sh is None else f"{sh:.3f}",
            "-" if dd is None else f"{dd:.2f}%",
            str(r.trades),
            *usage,
        )
    return table


def _prompt_labels(state: "ArenaState | None") -> dict[str, str]:
    """Agent name -> its prompt templates' label, when the session's agents used different ones."""
    header = state.header if state is not None else None
    if header is None:
        return {}
    from arena_tui.engine.prompt import prompt_labels

    return prompt_labels(header.agents)


def cache_summary(state: "ArenaState", directory=None) -> Text | None:
    """"Answer cache: 40 of 40 answers replayed at no cost (GPT 20, Claude 20) from DIR." when
    answers came from the answer cache (``AgentReplied.cached``), else None."""
    books = [b for b in state.agents.values() if b.cache_hits]
    if not books:
        return None
    hits = sum(b.cache_hits for b in books)
    calls = sum(b.calls for b in state.agents.values() if b.kind != "rule-based")
    each = ", ".join(f"{safe_line(b.name, limit=40)} {b.cache_hits}" for b in books)
    where = f" from {safe_line(str(directory), limit=None)}" if directory is not None else ""
    return Text(f"Answer cache: {hits:,} of {calls:,} model answers replayed at no cost ({each}){where}.")


def failures_table(state: "ArenaState") -> Table | None:
    """Each agent's failed calls this session: how many, of which kinds (``timeout ×3, auth ×1``)
    and the first reason of the most frequent kind, or whether it was halted and why; None when
    no agent failed. Reasons are model/server/journal text: made safe, drawn as plain ``Text``."""
    books = [b for b in state.agents.values() if b.failures or b.halted]
    if not books:
        return None
    table = Table(title=Text("Failures"), title_justify="left")
    for col, just in (("agent", "left"), ("failed", "right"), ("kinds", "left"), ("first reason", "left")):
        table.add_column(col, justify=just, overflow="fold")
    for b in books:
        kinds = sorted(b.failure_kinds.items(), key=lambda kv: -kv[1])
        reason = b.failure_reasons.get(kinds[0][0], "") if kinds else ""
        if b.halted:
            reason = f"halted: {b.halted}" + (f" (first failure: {reason})" if reason else "")
        table.add_row(
            Text(safe_line(b.name)),
            str(b.failures),
            Text(safe_line(", ".join(f"{k} ×{n}" for k, n in kinds)) or "-"),
            Text(safe_line(reason, limit=300)),
        )
    return table


def fallbacks_table(state: "ArenaState") -> Table | None:
    """Each agent whose own model was replaced by its fallback (``[agents.fallback]``): in how many
    cycles, why (``timeout ×3, parse ×1``) and by which model; None when no agent fell back."""
    books = [b for b in state.agents.values() if b.fallbacks]
    if not books:
        return None
    table = Table(title=Text("Fallbacks"), title_justify="left")
    for col, just in (("agent", "left"), ("cycles", "right"), ("why", "left"), ("answered by", "left")):
        table.add_column(col, justify=just, overflow="fold")
    for b in books:
        kinds = sorted(b.fallback_kinds.items(), key=lambda kv: -kv[1])
        table.add_row(
            Text(safe_line(b.name)),
            str(b.fallbacks),
            Text(safe_line(", ".join(f"{k} ×{n}" for k, n in kinds)) or "-"),
            Text(safe_line(b.fallback_model)),
        )
    return table


def swarms_table(state: "ArenaState") -> Table | None:
    """Each swarm's members (``kind = "swarm"``): in how many of its votes each one voted, failed
    (``server ×2, parse ×1``) and agreed with the result on every coin (percent of its votes with a
    result); None when the session has no swarm that voted."""
    books = [b for b in state.agents.values() if b.swarm_votes]
    if not books:
        return None
    table = Table(title=Text("Swarms"), title_justify="left")
    for col, just in (("swarm", "left"), ("member", "left"), ("voted", "right"), ("failed", "left"), ("agreed", "right"), ("cost", "right")):
        table.add_column(col, justify=just, overflow="fold")
    for b in books:
        for i, (name, m) in enumerate(b.members.items()):
            kinds = sorted(m.failure_kinds.items(), key=lambda kv: -kv[1])
            table.add_row(
                Text(safe_line(b.name) if i == 0 else ""),
                Text(safe_line(name)),
                f"{m.voted}/{b.swarm_votes}",
                Text(safe_line(", ".join(f"{k} ×{n}" for k, n in kinds)) or "-"),
                "-" if m.agreement is None else f"{m.agreement * 100:.0f}%",
                f"${m.cost_usd:,.4f}",
            )
    return table


async def run_headless(session, *, total: int | None, console: Console | None = None, asked: int | None = None) -> int:
    """Run ``session`` (an ArenaSession) to the end with a progress bar; print the leaderboard from
    the session's state (and why it ended, when it ran fewer than the ``asked`` cycles: --cycles). Returns the exit status: 0; 3 when the run achieved nothing
    (``RunOutcome.problem``: the market never answered, or every agent failed); 128 + N when
    signal N stopped it (the journal is complete)."""
    import asyncio

    from arena_tui.engine.session import catch_stop_signals, signal_status

    console = console or _console()
    failures: list[str] = []
    stopped: list[str] = []
    main = asyncio.current_task()

    def on_signal(name: str) -> None:
        """The first signal stops the session as ``q`` does; a second one stops waiting."""
        if stopped and main is not None:
            main.cancel()
            return
        stopped.append(name)
        session.stop(f"stopped by {name}")

    remove = catch_stop_signals(on_signal)
    try:
        await _run_with_progress(session, total, console, failures)
    finally:
        remove()
    state = session.state
    when = format_time(state.completed_time) if state.completed_time else "start"
    console.print(leaderboard_table(state.standings(), f"Leaderboard at {when} after {state.cycles_completed} cycles", state))
    for table in (fallbacks_table(state), swarms_table(state), failures_table(state), season1_table(state)):
        if table is not None:
            console.print(table)
    cache = getattr(session, "answer_cache", None)
    summary = cache_summary(state, cache.directory if cache is not None else None)
    if summary is not None:
        console.print(summary, soft_wrap=True)
    for f in failures[:10]:
        console.print(Text(safe_text(f), style="yellow"))
    if session.journal_path is not None:
        path = safe_line(str(session.journal_path), limit=None)
        console.print(Text(f"Journal: {path}  (replay: arena-tui --replay {path})"))
    ran = getattr(session, "cycles_run", None)
    if not stopped and state.ended and asked is not None and ran is not None and ran < asked:
        # the session ended before the --cycles asked for (the bundled market ran out): say why
        console.print(Text(f"Ended after {ran} of the {asked} cycles asked for: {safe_text(state.ended)}", style="yellow"), soft_wrap=True)
    if stopped:
        console.print(Text(f"Stopped by {stopped[0]}; the journal is complete (arena-tui --resume continues it).", style="yellow"))
        return signal_status(stopped[0])
    problem = session.outcome.problem()
    if problem is not None:
        console.print(Text(safe_text(problem), style="red"), soft_wrap=True)
        return 3
    return 0


async def _run_with_progress(session, total: int | None, console: Console, failures: list[str]) -> None:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[clock]}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("cycles", total=total, clock="")

        def sink(e: ev.Event) -> None:
            if isinstance(e, ev.CycleCompleted):
                progress.update(task, advance=1, clock=format_time(e.time))
            elif isinstance(e, ev.MarketFailed):  # agents' failures and halts: the Failures table
                failures.append(e.reason)
            elif isinstance(e, ev.Notice) and e.level != "info":
                console.print(Text(safe_text(e.text), style="yellow"))

        await session.run(sink)


@contextmanager
def _transient_progress(console: Console | None, columns: tuple, total: float | None) -> Iterator[Callable[..., None]]:
    """A transient rich progress line of ``columns`` on the terminal; yields ``update(completed,
    total=...)``. Nothing is drawn (not even the blank line a transient display leaves) when the
    output is not a terminal: a pipe, a file."""
    console = console or _console()
    if not console.is_terminal:
        yield lambda *args, **kwargs: None
        return
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=total)
        yield lambda n, **kwargs: progress.update(task, completed=n, **kwargs)


@contextmanager
def reading_progress(path: str | Path, label: str, console: Console | None = None) -> Iterator[Callable[[int], None]]:
    """A transient progress line over reading the journal at ``path`` (the share of its bytes read,
    elapsed time) on the terminal; yields the callback to give the reader (``journal.with_progress``)."""
    try:
        size: float | None = max(1, os.path.getsize(path))
    except OSError:
        size = None  # (the reader says what is wrong with the path)
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with _transient_progress(console, columns, size) as update:
        yield update


@contextmanager
def counting_progress(label: str, console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """A transient progress line counting ``done`` of ``total`` items (elapsed time) on the
    terminal; yields ``progress(done, total)``."""
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _transient_progress(console, columns, None) as update:
        yield lambda n, total: update(n, total=total)


def reexecute_with_progress(path: str | Path, *, label: str = "verifying", console: Console | None = None, **kwargs):
    """``verify.reexecute(path, **kwargs)`` with a transient progress line (cycles re-executed,
    elapsed time) on the terminal: a long journal takes a while."""
    import asyncio

    from arena_tui.engine.verify import reexecute

    console = console or _console()
    with Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.completed:,} cycles"), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task(label, total=None)
        return asyncio.run(reexecute(path, progress=lambda n: progress.update(task, completed=n), **kwargs))


def season1_table(state: "ArenaState") -> Table | None:
    """Our account values against the real ones of Alpha Arena Season 1 (``season1.comparison``),
    per model, or None when the session does not replay the bundled Season 1 records."""
    from arena_tui.season1 import comparison

    rows = comparison(state)
    if not rows:
        return None
    table = Table(title="Against the real Season 1 accounts (every later prompt of the day)", title_justify="left")
    for col in ("agent", "prompts", "median dev", "worst dev", "last: ours $", "real $", "dev"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for r in rows:
        table.add_row(
            Text(safe_line(r.agent)), str(r.n), f"{r.median_pct:.2f}%", f"{r.worst_pct:.2f}%",
            f"{r.ours:,.2f}", f"{r.real:,.2f}", f"{r.last_pct:+.2f}%",
        )
    return table


def complete_state(path: str | Path) -> "ArenaState":
    """The fold of the journal at ``path`` over its complete cycles (``state.CompleteCycles``)."""
    from arena_tui.engine.journal import open_journal
    from arena_tui.engine.state import ArenaState, CompleteCycles

    with open_journal(path) as stream:
        state = ArenaState(stream.header)
        for e in CompleteCycles(stream):
            state.apply(e)
    return state


def replay_headless(path: str | Path, console: Console | None = None, *, indicators: bool = False) -> int:
    """Verify a journal by re-execution (``verify.reexecute``; ``indicators``: the market rows'
    indicators recomputed too): print its final leaderboard as the re-execution computed it and
    "verified N cycles (M events)", or the first difference (exit 1)."""
    from arena_tui.engine.journal import journal_in_use

    console = console or _console()
    result = reexecute_with_progress(path, console=console, indicators=indicators)
    for w in result.warnings:
        console.print(Text(f"warning: {safe_text(w)}", style="yellow"))
    state = result.state
    title = f"{result.header.session}: final leaderboard ({path})"
    if result.partial_cycle is not None and result.difference is None:
        # re-execution ran the cut-off cycle's recorded start to check it, and then the rest of that
        # cycle with no answers; what the journal holds is the state after its last complete cycle:
        # the one fold over those (verified) events
        state = complete_state(path)
        title = f"{result.header.session}: leaderboard after cycle {state.completed_cycle}, the last complete one ({path})"
    console.print(leaderboard_table(state.standings(), title, state))
    for table in (fallbacks_table(state), swarms_table(state), failures_table(state), season1_table(state)):
        if table is not None:
            console.print(table)
    summary = cache_summary(state)
    if summary is not None:
        console.print(summary, soft_wrap=True)
    if result.difference is not None:
        console.print(Text(f"replay differs at {safe_text(str(result.difference))}", style="red"), soft_wrap=True)
        return 1
    name = safe_line(str(path), limit=None)
    running = journal_in_use(Path(path))
    if result.partial_cycle is None:
        tail = f"; a running session is still writing it (arena-tui --follow {name} shows it live)" if running else ""
    elif running:
        tail = f"; a running session is still writing cycle {result.partial_cycle} ({result.partial_events} events so far; arena-tui --follow {name} shows it live)"
    else:
        tail = f"; cycle {result.partial_cycle} was cut off after {result.partial_events} events (arena-tui --resume {name} runs it again)"
    what = " (indicators recomputed)" if indicators else ""
    console.print(Text(f"verified {result.cycles} cycles ({result.events} events){what}{tail}"), soft_wrap=True)
    return 0
