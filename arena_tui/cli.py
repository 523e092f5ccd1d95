"""The ``arena-tui`` command line (argparse).

Errors a user can cause print one sentence on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from arena_tui import __version__
from arena_tui.engine.errors import ArenaError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="arena-tui",
        description=(
            "Watch LLMs and rule-based baselines paper-trade crypto perpetual futures side by side. "
            "With no keys and no network it runs the bundled real market (Alpha Arena Season 1, Oct-Nov 2025)."
        ),
    )
    p.add_argument("--version", action="version", version=f"arena-tui {__version__}")
    p.add_argument("--headless", action="store_true", help="run without a screen and print a summary")
    p.add_argument("--cycles", type=int, default=None, metavar="N", help="stop after N cycles")
    p.add_argument("--start", default=None, metavar="ISO", help="recorded market start time (default 2025-10-17T00:00:00Z)")
    p.add_argument("--coins", default=None, metavar="LIST", help="comma-separated coins (default BTC,ETH,SOL,BNB,XRP,DOGE)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except ArenaError as exc:
        print(f"arena-tui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace) -> int:
    from arena_tui.headless import run_market_walk

    return await run_market_walk(args)
