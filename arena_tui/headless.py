"""Headless runs (no screen): a rich progress bar and final leaderboard; replay verification."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arena_tui.engine import events as ev
from arena_tui.engine.market.recorded import format_time


def _console() -> Console:
    """A console; when output is not a terminal (a pipe, a file, CI) the tables get 120 columns
    instead of rich's 80 so that agent names and figures are not folded."""
    c = Console()
    return c if c.is_terminal else Console(width=120)


def leaderboard_table(rows: Sequence[dict], title: str) -> Table:
    """The leaderboard as a rich Table (rank, agent, account value, return, PnL, fees, win rate,
    Sharpe, max drawdown, trades)."""
    table = Table(title=title, title_justify="left")
    for col, just in (
        ("#", "right"),
        ("agent", "left"),
        ("account value", "right"),
        ("return", "right"),
        ("PnL", "right"),
        ("fees", "right"),
        ("win rate", "right"),
        ("Sharpe", "right"),
        ("max DD", "right"),
        ("trades", "right"),
    ):
        table.add_column(col, justify=just)
    for r in rows:
        style = "green" if r["return_pct"] > 0 else ("red" if r["return_pct"] < 0 else "")
        wr, sh, dd = r.get("win_rate"), r.get("sharpe"), r.get("max_drawdown_pct")
        table.add_row(
            str(r.get("rank", "")),
            r["agent"] + (" (halted)" if r.get("halted") else ""),
            f"${r['account_value']:,.2f}",
            f"[{style}]{r['return_pct']:+.2f}%[/]" if style else f"{r['return_pct']:+.2f}%",
            f"{r['pnl']:+,.2f}",
            f"{r['fees']:,.2f}",
            "-" if wr is None else f"{wr:.0f}%",
            "-" if sh is None else f"{sh:.3f}",
            "-" if dd is None else f"{dd:.2f}%",
            str(r.get("trades", 0)),
        )
    return table


async def run_headless(session, *, total: int | None, console: Console | None = None) -> int:
    """Run ``session`` (an ArenaSession) to the end with a progress bar; print the leaderboard."""
    console = console or _console()
    last: dict = {"rows": (), "time": None, "ended": ""}
    failures: list[str] = []
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
                last["rows"], last["time"] = e.leaderboard, e.time
                progress.update(task, advance=1, clock=format_time(e.time))
            elif isinstance(e, (ev.AgentHalted, ev.MarketFailed)):
                failures.append(getattr(e, "reason", ""))
            elif isinstance(e, ev.SessionEnded):
                last["ended"] = e.reason
            elif isinstance(e, ev.Notice) and e.level != "info":
                console.print(f"[yellow]{e.text}[/]")

        await session.run(sink)
    when = format_time(last["time"]) if last["time"] else "start"
    console.print(leaderboard_table(last["rows"], f"Leaderboard at {when} after {session.cycles_run} cycles"))
    for f in failures[:10]:
        console.print(f"[yellow]{f}[/]")
    if session.journal_path is not None:
        console.print(f"Journal: {session.journal_path}  (replay: arena-tui --replay {session.journal_path})")
    return 0


def replay_headless(path: str | Path, console: Console | None = None) -> int:
    """Read and verify a journal; print its final leaderboard and 'verified N cycles', or the first
    cycle that differs (exit status 1)."""
    from arena_tui.engine.journal import read_journal
    from arena_tui.engine.verify import rebuild

    console = console or _console()
    contents = read_journal(path)
    for w in contents.warnings:
        console.print(f"[yellow]warning: {w}[/]")
    result = rebuild(contents)
    console.print(leaderboard_table(result.last_leaderboard, f"{contents.header.session}: final leaderboard ({path})"))
    if result.first_mismatch:
        console.print(f"[red]replay differs at {result.first_mismatch}[/]")
        return 1
    console.print(f"verified {result.cycles_completed} cycles ({result.checks} account values to the cent)")
    return 0
