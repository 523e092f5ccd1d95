"""Headless runs: progress bar and final tables with rich (no Textual)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from arena_tui.engine.market.base import COINS
from arena_tui.engine.market.recorded import DEFAULT_START, RecordedMarket, format_time


async def run_market_walk(args: argparse.Namespace) -> int:
    """Step the bundled recorded market ``--cycles`` times and print the market table."""
    console = Console()
    coins = tuple(c.strip() for c in args.coins.split(",")) if args.coins else COINS
    market = RecordedMarket(coins=coins, start=args.start or DEFAULT_START)
    first = await market.snapshot()
    cycles = args.cycles if args.cycles is not None else 12
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("cycles", total=cycles)
        for _ in range(cycles):
            await market.advance()
            progress.advance(task)
    snap = await market.snapshot()
    table = Table(title=f"Bundled market at {format_time(snap.time)} ({cycles} cycles)")
    for col in ("coin", "price", "change", "funding (8h)", "open interest"):
        table.add_column(col, justify="right")
    start_prices = first.prices()
    for coin, cs in snap.coins.items():
        ch = (cs.price / start_prices[coin] - 1) * 100
        fr = cs.funding_rate
        table.add_row(
            coin,
            f"{cs.price:,.4f}",
            f"{ch:+.2f}%",
            f"{fr * 100:+.4f}%" if fr is not None else "n/a",
            "unavailable" if cs.open_interest is None else f"{cs.open_interest:,.0f}",
        )
    console.print(table)
    return 0
