"""The recorded agent replays real Alpha Arena responses (tests/data/llm_answers_alpha_arena.json.gz,
239 records from 2025-10-28 06:14-12:10 UTC) by time, streaming reasoning then answer."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.agents.base import Agent, AgentRequest
from arena_tui.engine.agents.recorded import (
    RecordedAgent,
    RecordedResponse,
    chunk_text,
    load_recorded_responses,
    response_from_record,
)
from arena_tui.engine.errors import DataError
from arena_tui.engine.market.base import MarketSnapshot

ANSWERS = Path(__file__).resolve().parent / "data" / "llm_answers_alpha_arena.json.gz"


def make_request(time_ms: int, cycle: int = 1) -> AgentRequest:
    account = AccountSnapshot(10_000.0, 10_000.0, 10_000.0, (), 0.0, 0.0, 0.0, 0.0)
    return AgentRequest(cycle, time_ms, "system", "user", MarketSnapshot(time_ms, {}, "test"), account)


class Deltas:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.items.append((kind, text))

    def text(self, kind: str) -> str:
        return "".join(t for k, t in self.items if k == kind)


@pytest.fixture(scope="module")
def records() -> list[RecordedResponse]:
    return load_recorded_responses(ANSWERS)


def test_the_bundled_file_holds_all_239_real_records(records):
    assert len(records) == 239
    assert [r.time for r in records] == sorted(r.time for r in records)
    assert Counter(r.model_id for r in records) == {
        "qwen3-max": 53, "gemini-2.5-pro": 41, "claude-sonnet-4-5": 40,
        "grok-4": 37, "gpt-5": 37, "deepseek-chat-v3.1": 31,
    }
    assert records[0].time == 1761632058293 and records[-1].time == 1761653414879
    assert sum(1 for r in records if r.reasoning) == 145  # grok-4 and qwen3-max exposed no reasoning


async def test_replays_the_latest_record_at_or_before_the_request_time():
    agent = RecordedAgent.from_path(ANSWERS, "gpt-5")
    assert agent.name == agent.model == "gpt-5" and agent.kind == "recorded" and isinstance(agent, Agent)
    first, second = agent.records[0], agent.records[1]

    assert agent.response_for(make_request(first.time)) == first
    assert agent.response_for(make_request(second.time - 1)) == first
    assert agent.response_for(make_request(second.time)) == second
    assert agent.response_for(make_request(first.time - 1)) is None

    deltas = Deltas()
    reply = await agent.decide(make_request(second.time + 5_000), deltas)
    assert reply.ok, reply.failure
    assert reply.text == second.answer and reply.reasoning == second.reasoning
    assert deltas.text("reasoning") == second.reasoning and deltas.text("answer") == second.answer
    kinds = [k for k, _ in deltas.items]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning")  # all reasoning, then all answer
    assert len(deltas.items) > 20 and max(len(t) for _, t in deltas.items) <= agent.chunk_chars
    assert reply.usage.input_tokens == 0 and reply.cost_usd == 0.0
    assert json.loads(reply.text)  # nof1's decisions, as JSON


async def test_before_the_first_record_is_a_clear_failure():
    agent = RecordedAgent.from_path(ANSWERS, "claude-sonnet-4-5", name="claude")
    reply = await agent.decide(make_request(agent.records[0].time - 60_000), Deltas())
    assert reply.failure is not None and reply.failure.kind == "empty"
    assert reply.failure.reason.startswith("claude: no recorded response")


async def test_by_cycle_mapping_overrides_time(records):
    grok = [r for r in records if r.model_id == "grok-4"]
    agent = RecordedAgent("grok", grok, by_cycle={1: 5, 2: 0})
    assert agent.model == "grok-4"
    reply = await agent.decide(make_request(grok[0].time, cycle=1), Deltas())
    assert reply.text == grok[5].answer
    # an unmapped cycle falls back to time
    assert agent.response_for(make_request(grok[3].time, cycle=7)) == grok[3]
    with pytest.raises(DataError, match="use an index from 0 to 36"):
        RecordedAgent("grok", grok, by_cycle={1: 37})


async def test_nof1s_own_failures_replay_as_the_model_wrote_them(records):
    deepseek = [r for r in records if r.model_id == "deepseek-chat-v3.1"]
    agent = RecordedAgent("deepseek", deepseek)
    empty = next(r for r in deepseek if not r.answer)
    reply = await agent.decide(make_request(empty.time), Deltas())
    assert reply.failure is not None and reply.failure.kind == "empty"
    assert reply.reasoning == empty.reasoning  # it still thought out loud

    prose = [r for r in deepseek if r.answer and not r.answer.lstrip().startswith("{")]
    assert len(prose) == 2
    reply = await agent.decide(make_request(prose[0].time), Deltas())
    assert reply.ok and reply.text.startswith("First, I need to check my existing positions")


def test_loader_reads_raw_nof1_jsonl_as_well(tmp_path, records):
    """A user can point the agent at nof1's conversations.jsonl directly; here rebuilt from the bundle."""
    raw = []
    for r in records[:12] + [next(r for r in records if r.answer.startswith("First,"))]:
        answer = json.loads(r.answer) if r.answer.lstrip().startswith("{") else {"failed_json_response_raw_text": r.answer}
        raw.append({"id": f"{r.model_id}_{r.time / 1000}", "model_id": r.model_id, "timestamp": str(r.time / 1000),
                    "cycle_id": r.cycle_id, "llm_response": answer, "user_prompt": "...",
                    "cot_trace": r.reasoning or answer})
    path = tmp_path / "conversations.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(x) for x in reversed(raw)) + "\n")
    loaded = load_recorded_responses(path)
    expected = sorted(records[:12] + [next(r for r in records if r.answer.startswith("First,"))], key=lambda r: r.time)
    assert loaded == expected


def test_response_from_record_accepts_a_python_repr_string_answer():
    r = response_from_record({"timestamp": "1761632058.5", "model_id": "m", "llm_response": "{'BTC': {}}", "cot_trace": {"BTC": {}}})
    assert r == RecordedResponse(1761632058500, "m", "{'BTC': {}}", "", None)


def test_loader_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_recorded_responses(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"timestamp": 1, "model_id": "m", "answer": "x"}\n{not json}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2 is not valid JSON"):
        load_recorded_responses(bad)
    incomplete = tmp_path / "incomplete.jsonl"
    incomplete.write_text('{"timestamp": 1, "answer": "x"}\n')
    with pytest.raises(DataError, match=r"incomplete\.jsonl:1 is not a recorded response"):
        load_recorded_responses(incomplete)
    with pytest.raises(DataError, match="no record of model 'llama'"):
        load_recorded_responses(ANSWERS, model_id="llama")
    with pytest.raises(DataError, match="holds 6 models"):
        RecordedAgent.from_path(ANSWERS)


def test_from_path_takes_the_model_by_either_name(tmp_path, records):
    by_model = RecordedAgent.from_path(ANSWERS, name="qwen", model="qwen3-max")
    assert (by_model.name, by_model.model, len(by_model.records)) == ("qwen", "qwen3-max", 53)
    one_model = tmp_path / "grok.jsonl"
    one_model.write_text("\n".join(json.dumps(r.to_json()) for r in records if r.model_id == "grok-4"))
    agent = RecordedAgent.from_path(one_model)
    assert (agent.name, agent.model, len(agent.records)) == ("grok-4", "grok-4", 37)


@given(st.one_of(st.text(max_size=300), st.text(alphabet="ab \n", max_size=300)), st.integers(min_value=1, max_value=40))
def test_chunk_text_loses_nothing(text, size):
    pieces = chunk_text(text, size)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= size for p in pieces)
