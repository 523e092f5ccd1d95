"""Single model vs swarm vs fallback on the same recorded market, with local fake models (no network).

Run from the repository root:  python benchmarks/agents_compare.py [--cycles 20]

One session on the bundled market from 2025-10-28 06:15 UTC (Alpha Arena Season 1) with three
accounts, all answered by the local fake LLM server (tests/fakes/llm_server.py, the real openai and
anthropic SDKs on 127.0.0.1) replaying real Season 1 answers:

- "Single": one model (a real Gemini answer of that morning);
- "Swarm": five members voting by majority (two real answers, gpt-5's, one member failing with
  HTTP 500, one answering prose the parser cannot read);
- "Fallback": a primary that answers prose, falling back to the trend-following baseline.

Prints the leaderboard, the Swarms, Fallbacks and Failures tables, each account's calls, tokens and
cost, and the journal's verification by re-execution.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from arena_tui.config import AgentConfig, load_config  # noqa: E402
from arena_tui.engine.factory import build_agent, build_market  # noqa: E402
from arena_tui.engine.scheduler import ArenaSession  # noqa: E402
from arena_tui.engine.verify import reexecute  # noqa: E402
from arena_tui.headless import failures_table, fallbacks_table, leaderboard_table, swarms_table  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer  # noqa: E402

KEY_ENV = "ARENA_COMPARE_KEY"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--keep", metavar="PATH", help="keep the journal at PATH (to replay it: arena-tui --replay PATH)")
    args = ap.parse_args()
    os.environ[KEY_ENV] = "sk-" + "compare-0123456789abcdef"  # the fake server takes any key
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        async with FakeLLMServer() as srv:

            def model(name: str, kind: str, scenario: str) -> AgentConfig:
                base = srv.anthropic_base_url if kind == "anthropic" else srv.openai_base_url
                return AgentConfig(name=name, kind=kind, model=scenario, base_url=base, api_key_env=KEY_ENV, retries=0, timeout_s=20,
                                   price_input_per_mtok=1.25, price_output_per_mtok=10.0)

            single = model("Single", "openai-compatible", "normal:record=91")
            swarm = AgentConfig(name="Swarm", kind="swarm", members=(
                model("gemini-79", "openai-compatible", "normal:record=79"),
                model("gemini-91", "anthropic", "reasoning:record=91"),
                model("gpt-5", "openai", "normal:model_id=gpt-5"),
                model("broken", "openai-compatible", "500"),
                model("talker", "openai-compatible", "prose"),
            ))
            fallback = AgentConfig(**{**model("Fallback", "openai-compatible", "prose").__dict__,
                                      "fallback": AgentConfig(name="trend_follower", kind="baseline", strategy="trend_follower")})
            agents = (single, swarm, fallback)
            cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-28T06:15:00Z"}})
            cfg = cfg.__class__(**{**cfg.__dict__, "agents": agents})
            journal = tmp / "compare.jsonl"
            session = ArenaSession(cfg, build_market(cfg), [build_agent(a, cfg) for a in agents], journal_path=journal,
                                   max_cycles=args.cycles, pace=0)
            await session.run(lambda e: None)
        console = Console(width=130)
        state = session.state
        console.print(leaderboard_table(state.standings(), f"{args.cycles} cycles from 2025-10-28 06:15 UTC, fake models", state))
        for table in (swarms_table(state), fallbacks_table(state), failures_table(state)):
            if table is not None:
                console.print(table)
        for b in state.agents.values():
            console.print(f"{b.name}: {b.calls} calls, {b.input_tokens + b.output_tokens:,} tokens, ${b.cost_usd:.4f}, "
                          f"{len(b.trades)} trades closed, open: {' '.join(p.coin for p in b.positions) or '-'}")
        result = await reexecute(journal)
        console.print(f"journal: {'verified' if result.difference is None else f'DIFFERS: {result.difference}'} ({result.cycles} cycles)")
        if args.keep:
            import shutil

            shutil.copy(journal, args.keep)
            console.print(f"kept: {args.keep} (arena-tui --replay {args.keep})")


if __name__ == "__main__":
    asyncio.run(main())
