"""Usage and cost are figures a user reads (the leaderboard's tokens and cost, the detail screen's
totals), so the journal records them where re-execution checks them: each leaderboard row carries its
agent's session totals (journal schema 6). A reply is a primary input, replayed as journaled; an edit
of its usage no longer verifies, because the standings recorded that cycle say otherwise. A journal of
schema 5 and older has no totals in its rows and still verifies as it did.

The session is real: the openai SDK streaming from the local fake server (usage as the provider
reports it, reasoning tokens included) for a model priced by its config and a local one at no price,
beside a baseline. (A priced model's input and output tokens were caught before too, through the cost
re-execution recomputes from them; a local model's, and anyone's reasoning and cached tokens, were not.)"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os

import pytest

from arena_tui.config import AgentConfig, load_config
from arena_tui.engine import events as ev
from arena_tui.engine.factory import build_agent, build_market
from arena_tui.engine.journal import expanded_lines, read_journal
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.verify import verify_journal
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-" + "usage-0123456789abcdef"  # fake; split so secret scanners do not flag it
LLM = "Local LLM"
PRICED = "Priced LLM"


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    """The session's journal, recorded once for the module (the key set only while it runs)."""
    tmp_path = tmp_path_factory.mktemp("usage")
    os.environ["ARENA_USAGE_KEY"] = KEY
    try:
        return asyncio.run(_record(tmp_path))
    finally:
        del os.environ["ARENA_USAGE_KEY"]


async def _record(tmp_path):
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"market": {"start": "2025-10-28T06:15:00Z"}})
    async with FakeLLMServer() as srv:
        common = dict(kind="openai-compatible", model="reasoning:model_id=deepseek-chat-v3.1", base_url=srv.openai_base_url,
                      api_key_env="ARENA_USAGE_KEY", retries=0, timeout_s=20)
        priced = AgentConfig(name=PRICED, price_input_per_mtok=0.28, price_output_per_mtok=0.42, **common)
        local = AgentConfig(name=LLM, **common)  # a local model: no price, so its cost says nothing of its usage
        cfg = dataclasses.replace(cfg, agents=(priced, local, AgentConfig(name="Flat", kind="baseline", strategy="always_flat")))
        agents = [build_agent(a, cfg) for a in cfg.agents]  # (the header's config names them, prices and all)
        path = tmp_path / "usage.jsonl"
        await ArenaSession(cfg, build_market(cfg), agents, journal_path=path, max_cycles=3, pace=0).run(lambda e: None)
    return path


def _rewrite(path, out, change) -> None:
    """``path`` with every event whole, each line's dict passed through ``change`` (in place)."""
    with open(out, "w", encoding="utf-8") as fh:
        for line in expanded_lines(path):
            d = json.loads(line)
            change(d)
            fh.write(json.dumps(d) + "\n")


def test_the_leaderboard_rows_carry_the_replies_totals_and_verify(journal):
    j = read_journal(journal)
    assert j.header.schema == ev.SCHEMA_VERSION >= ev.USAGE_TOTALS_SCHEMA
    rows = {r.agent: r for r in [e for e in j.events if isinstance(e, ev.CycleCompleted)][-1].leaderboard}
    for name in (LLM, PRICED):
        replies = [e for e in j.events if isinstance(e, ev.AgentReplied) and e.agent == name]
        assert len(replies) == 3 and all(r.output_tokens > 0 and r.reasoning_tokens > 0 for r in replies)
        mine = rows[name]
        assert mine.input_tokens == sum(r.input_tokens for r in replies) > 0
        assert mine.output_tokens == sum(r.output_tokens for r in replies)
        assert mine.reasoning_tokens == sum(r.reasoning_tokens for r in replies)
        assert mine.cost_usd == pytest.approx(sum(r.cost_usd for r in replies), abs=1e-6)
    assert rows[PRICED].cost_usd > 0 and rows[LLM].cost_usd == 0.0
    r = verify_journal(journal)
    assert r.difference is None and r.cycles == 3, str(r.difference)
    # the fold the screen reads says the same
    for name in (LLM, PRICED):
        book, mine = r.reexecution.state.agents[name], rows[name]
        assert (book.input_tokens, book.output_tokens, round(book.cost_usd, 6)) == (mine.input_tokens, mine.output_tokens, mine.cost_usd)


@pytest.mark.parametrize("field_name,delta", [("output_tokens", 7), ("input_tokens", 1), ("reasoning_tokens", 3), ("cached_input_tokens", 5)])
def test_an_edit_of_a_replys_usage_is_caught_by_its_cycles_standings(journal, tmp_path, field_name, delta):
    edited = tmp_path / "edited.jsonl"

    def change(d):
        if d["type"] == "AgentReplied" and d["agent"] == LLM and d["cycle"] == 2:
            d[field_name] += delta

    _rewrite(journal, edited, change)
    r = verify_journal(edited)
    assert r.difference is not None, f"an edit of {field_name} verified"
    said = str(r.difference)
    assert said.startswith("cycle 2,") and f"CycleCompleted leaderboard[{LLM}].{field_name}: recorded " in said, said


def test_a_schema_5_journal_without_totals_still_verifies(journal, tmp_path):
    old = tmp_path / "schema5.jsonl"
    totals = ("input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens", "cost_usd")

    def downgrade(d):
        if d["type"] == "SessionStarted":
            d["schema"] = ev.USAGE_TOTALS_SCHEMA - 1
        elif d["type"] == "CycleCompleted":
            for row in d["leaderboard"]:
                for k in totals:
                    row.pop(k, None)

    _rewrite(journal, old, downgrade)
    r = verify_journal(old)
    assert r.difference is None and r.cycles == 3, str(r.difference)
    # and its standings hold no totals (what that arena-tui wrote), while the fold still sums them
    assert all(row.output_tokens == 0 for row in r.reexecution.state.standings())
    assert r.reexecution.state.agents[LLM].output_tokens > 0
