"""A live paper session on the wall clock, against the local fake exchange (no network).

Run from the repository root:

    python benchmarks/live_cycles.py [--exchange binanceusdm] [--interval 1m] [--cycles 10]

The fake exchange (tests/fakes/exchange_server.py, the real wire formats, served to the real ccxt
client) replays the bundled Binance market with its clock mapped onto today's wall clock (the same
time of day on 2025-10-28), so candles close as they would live. The four baselines trade it as
`arena-tui --source live` does: cycle 1 at once, then every cycle on a boundary of the UTC clock.

Prints one row per cycle: when it started (UTC, wall clock), the boundary it was due on and how late
it started, how long it took, and the exchange requests it made (candles per timeframe, funding,
open interest, others); then the journal's verification. Bars (issue 16): every cycle after the
first starts on its boundary; after the first cycle at most one candle request per coin and
timeframe per cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from arena_tui.config import load_config  # noqa: E402
from arena_tui.engine import events as ev  # noqa: E402
from arena_tui.engine.factory import build_agents  # noqa: E402
from arena_tui.engine.market.base import timeframe_ms  # noqa: E402
from arena_tui.engine.market.live import LiveMarket  # noqa: E402
from arena_tui.engine.market.recorded import parse_time  # noqa: E402
from arena_tui.engine.scheduler import ArenaSession  # noqa: E402
from arena_tui.engine.verify import reexecute  # noqa: E402
from tests.fakes.exchange_server import FakeExchangeServer  # noqa: E402

DAY_MS = 86_400_000
RECORDED_DAY = parse_time("2025-10-28T00:00:00Z")


def utc(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%H:%M:%S.%f")[:-3]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exchange", default="binanceusdm")
    ap.add_argument("--interval", default="1m", help="market.cycle_interval (1m keeps the run short)")
    ap.add_argument("--cycles", type=int, default=10)
    args = ap.parse_args()
    step = timeframe_ms(args.interval)
    shift = (int(time.time() * 1000) // DAY_MS) * DAY_MS - RECORDED_DAY  # today -> 2025-10-28, same time of day

    def recorded_now() -> int:
        return int(time.time() * 1000) - shift

    console = Console(width=150)
    async with FakeExchangeServer(now=recorded_now()) as server:

        async def follow_the_clock() -> None:
            while True:
                server.now = recorded_now()
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(follow_the_clock())
        with tempfile.TemporaryDirectory() as tmp:
            cfg = load_config(None, environ={}, cwd=Path(tmp), overrides={
                "market": {"source": "live", "exchange": args.exchange, "cycle_interval": args.interval}})
            market = LiveMarket(args.exchange, coins=cfg.market.coins, timeframes=(cfg.market.intraday_timeframe, cfg.market.context_timeframe),
                                interval=args.interval, base_url=server.base_url, clock=recorded_now, rate_limit=False)
            journal = Path(tmp) / "live.jsonl"
            session = ArenaSession(cfg, market, build_agents(cfg), journal_path=journal, max_cycles=args.cycles)
            rows: list[tuple] = []
            started: dict[int, float] = {}
            notices: list[str] = []

            def sink(e: ev.Event) -> None:
                if isinstance(e, ev.CycleStarted):
                    started[e.cycle] = time.time() * 1000
                    server.clear_requests()
                elif isinstance(e, ev.CycleCompleted):
                    t0 = started[e.cycle]
                    due = round(t0 / step) * step if e.cycle > 1 else t0  # the nearest boundary (cycle 1: at once)
                    rows.append((e.cycle, t0, due, time.time() * 1000 - t0, server.counts(), server.candle_counts()))
                elif isinstance(e, ev.Notice):
                    notices.append(e.text)

            console.print(f"live session on the fake {args.exchange}: {args.cycles} cycles every {args.interval}, "
                          f"wall clock now {utc(time.time() * 1000)} UTC (cycle 1 at once, then on boundaries)")
            await session.run(sink)
            ticker.cancel()
            result = await reexecute(journal)
    table = Table(title="cycles")
    for col in ("cycle", "started (UTC)", "due", "late ms", "took ms", "candle requests", "by timeframe", "other requests"):
        table.add_column(col, justify="right" if col not in ("by timeframe", "other requests") else "left")
    worst_per_pair = 0
    for cycle, t0, due, took, counts, candles in rows:
        by_tf = Counter()
        for (_, tf), n in candles.items():
            by_tf[tf] += n
        if cycle > 1:
            worst_per_pair = max([worst_per_pair, *candles.values()])
        candle_total = sum(candles.values())
        other = {k: v for k, v in counts.items() if k not in ("klines", "candleSnapshot")}
        table.add_row(str(cycle), utc(t0), "now" if cycle == 1 else utc(due), "–" if cycle == 1 else f"{t0 - due:.0f}", f"{took:.0f}",
                      str(candle_total), " ".join(f"{tf}:{n}" for tf, n in sorted(by_tf.items())) or "–",
                      " ".join(f"{k}:{v}" for k, v in sorted(other.items())))
    console.print(table)
    on_boundary = all(0 <= t0 - due < 1000 for c, t0, due, *_ in rows if c > 1)
    console.print(f"every cycle after the first started within 1 s of its boundary: {'PASS' if on_boundary else 'FAIL'}")
    console.print(f"most candle requests for one coin and timeframe in a cycle after the first: {worst_per_pair} (bar <= 1) "
                  f"{'PASS' if worst_per_pair <= 1 else 'FAIL'}")
    for n in notices:
        console.print(f"notice: {n}")
    verdict = "verified" if result.difference is None else f"DIFFERS: {result.difference}"
    console.print(f"journal: {verdict} ({result.cycles} cycles, {result.events} events)")


if __name__ == "__main__":
    asyncio.run(main())
