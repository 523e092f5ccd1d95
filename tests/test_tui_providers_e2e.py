"""Watch two providers think side by side, in tmux: an OpenAI agent on the Responses API (reasoning
summaries) and an Anthropic agent with adaptive thinking, both through the real SDK clients against
the fake provider server on 127.0.0.1, stream their reasoning into their panes at the same time, and
the leaderboard fills their tokens and cost."""

from __future__ import annotations

import re

import pytest

from tests.fakes.llm_server import Scenario
from test_process_manners import BASELINE, Tmux, env_for, events_of, llm, needs_tmux, wait_for_journal, write_config  # noqa: F401
from test_tui_e2e import capture, wait_for

GPT_MODEL = "reasoning:tps=15,tokens=260,model_id=gpt-5,cached=1024"
CLAUDE_MODEL = "reasoning:tps=15,tokens=260,model_id=claude-sonnet-4-5"


def first_words(text: str, n: int = 2) -> list[str]:
    """The first ``n`` plain words (letters only, 5+ long) of a record's reasoning: what the pane
    shows whatever Markdown markers surround them."""
    return re.findall(r"\b[A-Za-z]{5,}\b", text)[:n]


@pytest.mark.e2e
@pytest.mark.slow
@needs_tmux
def test_a_responses_api_agent_and_an_adaptive_thinking_claude_stream_side_by_side(tmp_path, llm):  # noqa: F811
    gpt = {"name": "GPT", "kind": "openai", "model": GPT_MODEL, "base_url": llm.openai_base_url, "api_key_env": "FAKE_PROVIDER_KEY",
           "reasoning_effort": "medium", "reasoning_summary": "auto", "retries": 0,
           "price_input_per_mtok": 1.25, "price_cached_input_per_mtok": 0.125, "price_output_per_mtok": 10.0}
    claude = {"name": "Claude", "kind": "anthropic", "model": CLAUDE_MODEL, "base_url": llm.base_url, "api_key_env": "FAKE_PROVIDER_KEY",
              "thinking": "adaptive", "reasoning_effort": "medium", "retries": 0,
              "price_input_per_mtok": 3.0, "price_output_per_mtok": 15.0}
    config = write_config(tmp_path, [gpt, claude, BASELINE], speed=30.0)
    journal = tmp_path / "j.jsonl"
    env = env_for(tmp_path)
    env["FAKE_PROVIDER_KEY"] = "fake-key-for-the-local-server"
    tmux = Tmux(tmp_path, ["--config", str(config), "--journal", str(journal)], env=env)
    try:
        # both are thinking at once: each one's reasoning is in the journal before either replied
        events = wait_for_journal(journal, lambda es: {e.get("agent") for e in es if e["type"] == "ReasoningDelta" and e["kind"] == "reasoning"} >= {"GPT", "Claude"})
        assert not any(e["type"] == "AgentReplied" and e["agent"] in ("GPT", "Claude") for e in events)
        for model in (GPT_MODEL, CLAUDE_MODEL):
            for word in first_words(llm.pick(Scenario.parse(model))["reasoning"]):
                wait_for(tmux.name, re.escape(word), timeout=30)
        screen = capture(tmux.name)
        assert re.search(r"1 GPT .*2 Claude", screen), screen  # the two panes side by side, numbered
        # both replied: the leaderboard has their tokens and cost, the panes their last call
        screen = wait_for(tmux.name, r"\d\. 1 GPT [^\n]*\d\.\d{4}", timeout=90)
        replies = {e["agent"]: e for e in events_of(journal) if e["type"] == "AgentReplied"}
        assert replies["GPT"]["cached_input_tokens"] == 1024 and replies["GPT"]["reasoning_tokens"] > 0
        assert replies["Claude"]["reasoning_tokens"] > 0 and replies["Claude"]["failure_kind"] is None
        screen = wait_for(tmux.name, r"\d\. 2 Claude [^\n]*\d\.\d{4}", timeout=30)
        # the last call stays on each pane (shortened to fit a third of the screen: latency and cost)
        assert len(re.findall(r"\d+\.\d s · (?:[\d,]+ tok (?:\([\d,]+ reasoning\) )?· )?\$\d\.\d{4}", screen)) >= 2, screen
        tmux.keys("q")
        status, _ = tmux.exited()
        assert status == 0
    finally:
        tmux.close()
