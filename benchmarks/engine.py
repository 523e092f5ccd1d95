"""Engine benchmarks: concurrency, per-cycle overhead, a whole-season headless run, replay.

Run from the repository root:  python benchmarks/engine.py  [--quick] [--repeat N]

Prints, each as a figure with its bar:
  1. concurrency: 6 LLM agents streaming from the local fake server (127.0.0.1) with 2.0 s to the
     first token each: cycle wall time / slowest agent latency (bar <= 1.05);
  2. engine overhead: median time per cycle with 6 rule-based agents x 6 coins, journal written,
     pacing and fsync excluded, beside its anchor measured in the same run: the fused indicator
     kernel alone on the same market (one cycle's worth); the ratio (bar <= 20x);
  3. headless run: the demo baselines over Alpha Arena Season 1 (2025-10-17 -> 2025-11-03, 4,896
     five-minute cycles) as a user runs it (`arena-tui --headless`): wall time (bar <= 10 s) and
     journal size per cycle (bar <= 2.5 kB);
  4. replay: verifying that journal by re-execution (`verify_journal`) and `arena-tui --replay FILE
     --headless` (which verifies too), and that replay's wall time over the headless run's from (3)
     (bar <= 0.25x).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arena_tui.config import AgentConfig, load_config  # noqa: E402
from arena_tui.engine import events as ev  # noqa: E402
from arena_tui.engine.factory import build_agent, build_agents, build_market  # noqa: E402
from arena_tui.engine.scheduler import ArenaSession  # noqa: E402

SEASON_CYCLES = 4_896  # 17 days of 5-minute cycles from 2025-10-17 00:00 UTC


def line(name: str, value: str, bar: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "FAIL")
    print(f"  {name:<46} {value:>22}   bar {bar:<10} {verdict}")


async def bench_concurrency(tmp: Path) -> None:
    from tests.fakes.llm_server import FakeLLMServerThread

    os.environ["ARENA_BENCH_KEY"] = "sk-bench"
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-28T06:15:00Z"}})
    with FakeLLMServerThread() as srv:
        agents = [
            build_agent(
                AgentConfig(
                    name=f"LLM {i + 1}",
                    kind="openai-compatible" if i % 2 == 0 else "anthropic",
                    model=f"normal:ttft=2.0,model_id={m}",
                    base_url=srv.openai_base_url if i % 2 == 0 else srv.anthropic_base_url,
                    api_key_env="ARENA_BENCH_KEY",
                    retries=0,
                    timeout_s=30,
                ),
                cfg,
            )
            for i, m in enumerate(["qwen3-max", "deepseek-chat-v3.1", "claude-sonnet-4-5", "gpt-5", "grok-4", "gemini-2.5-pro"])
        ]
        session = ArenaSession(cfg, build_market(cfg), agents, journal=False, max_cycles=3, pace=0)
        walls: dict[int, float] = {}
        slowest: dict[int, float] = {}
        starts: dict[int, float] = {}

        def sink(e: ev.Event) -> None:
            if isinstance(e, ev.CycleStarted):
                starts[e.cycle] = time.perf_counter()
            elif isinstance(e, ev.AgentReplied):
                slowest[e.cycle] = max(slowest.get(e.cycle, 0.0), e.latency_s)
            elif isinstance(e, ev.CycleCompleted):
                walls[e.cycle] = time.perf_counter() - starts[e.cycle]

        await session.run(sink)
    print("1. concurrency: 6 LLM agents (3 OpenAI-compatible, 3 Anthropic SDK), 2.0 s to first token each")
    for c in sorted(walls):
        ratio = walls[c] / slowest[c] if slowest.get(c) else float("nan")
        line(f"cycle {c}: wall {walls[c]:.3f} s / slowest agent {slowest.get(c, 0):.3f} s", f"{ratio:.3f}x", "<= 1.05", ratio <= 1.05)
    seq = sum(6 * [2.0])
    print(f"  (sequential calls would take >= {seq:.0f} s per cycle)")


async def bench_overhead(tmp: Path, cycles: int) -> None:
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-17T00:00:00Z"}})
    six = list(cfg.agents) + [
        AgentConfig(name="Trend 2 (rule-based)", kind="baseline", strategy="trend_follower"),
        AgentConfig(name="RSI 2 (rule-based)", kind="baseline", strategy="rsi_mean_reversion"),
    ]
    cfg = dataclasses.replace(cfg, agents=tuple(six))
    path = tmp / "overhead.jsonl"
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=path, max_cycles=cycles, pace=0)
    durations: list[float] = []
    await session.run(lambda e: durations.append(e.duration_ms) if isinstance(e, ev.CycleCompleted) else None)
    warm = durations[1:]
    med = statistics.median(warm)
    p95 = sorted(warm)[int(0.95 * len(warm))]
    kernel = kernel_ms(cfg)
    ratio = med / kernel
    print(f"2. engine overhead: 6 rule-based agents x 6 coins, {cycles} cycles (first cycle, {durations[0]:.0f} ms with JIT load, excluded)")
    line("anchor: the fused indicator kernel, one cycle", f"{kernel:.4f} ms", "", None)
    line("median time per cycle (journal written)", f"{med:.3f} ms  {ratio:5.1f}x", "<= 20x", ratio <= 20.0)
    line("p95 time per cycle", f"{p95:.3f} ms  {p95 / kernel:5.1f}x", "", None)


def kernel_ms(cfg) -> float:
    """Median time of the fused indicator kernel alone on the same market (6 coins, the session's
    timeframes and lookback), over 24 cycles' snapshots x 20 calls each, with the arguments
    ``compute_features`` passes (one call for 12 series): the anchor of the overhead ratio."""
    from arena_tui.engine import indicators as ind

    market = build_market(cfg)
    snaps = [market.snapshot_at(market.now + k * 3_600_000) for k in range(24)]  # one an hour
    calls = []
    for snap in snaps:  # the arguments of one kernel call per snapshot, as compute_features passes them
        cols, lens = [], []
        for s in snap.coins.values():
            for c in s.candles.values():
                cols += (c.high, c.low, c.close, c.volume)
                lens.append(len(c.ts))
        pad = ind._SERIES_PER_CALL - len(lens)
        calls.append((tuple(cols + [ind._PAD] * (4 * pad)), tuple(lens) + (0,) * pad, len(lens)))
    ind.warm_up("cycle")
    times = []
    for r in range(2):
        for args in calls:
            for _ in range(20):
                t0 = time.perf_counter()
                ind._features_kernel(*args)
                t1 = time.perf_counter()
                if r:
                    times.append(t1 - t0)
    return statistics.median(times) * 1e3


def _spread(values: list[float], digits: int, unit: str) -> str:
    """The median, and with more than one run the range: ``10.12 (9.80-10.86) s``."""
    f = f"{{:.{digits}f}}".format
    text = f(statistics.median(values))
    if len(values) > 1:
        text += f" ({f(min(values))}-{f(max(values))})"
    return text + unit


def bench_headless_and_replay(tmp: Path, cycles: int, repeat: int = 1) -> None:
    """(3) and (4), ``repeat`` times each (alternating): the medians, with their ranges."""
    from arena_tui.engine.verify import verify_journal

    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL")}
    headless, sizes, verifies, replays, ratios = [], [], [], [], []
    verified: list[str] = []
    result = None
    for run in range(repeat):
        journal = tmp / f"season-{run}.jsonl"
        cmd = [sys.executable, "-m", "arena_tui", "--headless", "--cycles", str(cycles), "--journal", str(journal)]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        headless.append(time.perf_counter() - t0)
        if out.returncode != 0:
            print(out.stdout, out.stderr)
            raise SystemExit("headless run failed")
        sizes.append(journal.stat().st_size / 1e6)
        t0 = time.perf_counter()
        result = verify_journal(journal)
        verifies.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rep = subprocess.run([sys.executable, "-m", "arena_tui", "--replay", str(journal), "--headless"], cwd=tmp, env=env, capture_output=True, text=True)
        replays.append(time.perf_counter() - t0)
        verified = [l for l in rep.stdout.splitlines() if l.startswith("verified")]
        if not verified:
            print("NOT VERIFIED: " + rep.stdout[-300:])
        ratios.append(replays[-1] / headless[-1])
    runs = f", median of {repeat} runs (range)" if repeat > 1 else ""
    print(f"3. headless run: demo baselines, {cycles} five-minute cycles from 2025-10-17 (`arena-tui --headless --cycles {cycles}`){runs}")
    wall = statistics.median(headless)
    line("wall time (process start to exit)", _spread(headless, 2, " s"), "<= 10 s", wall <= 10.0)
    size = statistics.median(sizes)
    line("journal size", f"{size:.1f} MB", "", None)
    per_cycle = size * 1e3 / cycles
    line("journal size per cycle", f"{per_cycle:.2f} kB", "<= 2.5 kB", per_cycle <= 2.5)
    assert result is not None
    print("4. replay: verify that journal by re-execution (see benchmarks/season.py for the ratio to the old rebuild)")
    line(f"re-execute {result.cycles:,} cycles, compare {result.events:,} events", _spread(verifies, 2, " s"), "", None)
    line("verify / the headless run that wrote it", _spread([v / h for v, h in zip(verifies, headless)], 3, "x"), "", None)
    line("`arena-tui --replay FILE --headless` wall", _spread(replays, 2, " s"), "", None)
    print(f"  {verified[0] if verified else 'NOT VERIFIED'}")
    ratio = statistics.median(ratios)
    line("replay + verify / the headless run that wrote it", _spread(ratios, 3, "x"), "<= 0.25x", ratio <= 0.25 and bool(verified))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer cycles (a smoke run)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run the headless season and its replay N times and print medians with ranges (machines are noisy)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        asyncio.run(bench_concurrency(tmp))
        asyncio.run(bench_overhead(tmp, 200 if args.quick else 1000))
        bench_headless_and_replay(tmp, 300 if args.quick else SEASON_CYCLES, max(1, args.repeat))


if __name__ == "__main__":
    main()
