"""LLM agents: the real ``openai`` and ``anthropic`` SDK clients against a local server (127.0.0.1)
that speaks each provider's streaming wire format and replays real Alpha Arena answers.

No SDK class is mocked; every failure below is produced on the wire by ``tests/fakes/llm_server.py``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena_tui.engine.account import AccountSnapshot
from arena_tui.engine.agents.base import Agent, AgentRequest
from arena_tui.engine.agents.llm import PLACEHOLDER_KEY, LLMAgent, LLMAgentConfig, ThinkTagSplitter
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import MarketSnapshot
from tests.fakes.llm_server import FakeLLMServer, FakeLLMServerThread, Scenario

KEY_ENV = "ARENA_TEST_LLM_KEY"
FAKE_KEY = "sk-" + "test-a1b2c3d4e5f6a7b8c9d0-SECRET"  # fake; split so secret scanners do not flag it
ROTATED_KEY = "sk-" + "test-rotated-key-000000000000"
T0 = 1761632058_293  # 2025-10-28 06:14:18 UTC, the first Alpha Arena record
DAY_MS = 86_400_000
PROVIDERS = ["openai", "openai-compatible", "anthropic"]


def make_request(time_ms: int = T0, cycle: int = 1) -> AgentRequest:
    account = AccountSnapshot(10_000.0, 10_000.0, 10_000.0, (), 0.0, 0.0, 0.0, 0.0)
    return AgentRequest(
        cycle=cycle,
        time=time_ms,
        system_prompt="You are a trading agent. Answer with one JSON object per coin.",
        user_prompt="It has been 8227 minutes since you started trading. " * 20,
        market=MarketSnapshot(time_ms, {}, "test"),
        account=account,
    )


class Deltas:
    """An on_delta callback that records (kind, text) in arrival order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.items.append((kind, text))

    def text(self, kind: str) -> str:
        return "".join(t for k, t in self.items if k == kind)

    def kinds(self) -> list[str]:
        """The kinds with runs collapsed: ["reasoning", "answer"] for reasoning then answer."""
        out: list[str] = []
        for k, _ in self.items:
            if not out or out[-1] != k:
                out.append(k)
        return out


OPEN_AGENTS: list[LLMAgent] = []


@pytest.fixture
async def server():
    async with FakeLLMServer() as srv:
        yield srv
        while OPEN_AGENTS:
            await OPEN_AGENTS.pop().aclose()


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def agent_for(srv: FakeLLMServer, provider: str, model: str, **kw) -> LLMAgent:
    base = srv.anthropic_base_url if provider == "anthropic" else srv.openai_base_url
    settings = dict(name=f"{provider}-{model}", provider=provider, model=model, base_url=base, api_key_env=KEY_ENV,
                    timeout_s=5.0, retries=2, retry_backoff_s=0.01, price_input_per_mtok=3.0,
                    price_output_per_mtok=15.0)
    settings.update(kw)
    agent = LLMAgent(LLMAgentConfig(**settings))
    OPEN_AGENTS.append(agent)
    return agent


def no_key_anywhere(reply) -> None:
    assert FAKE_KEY not in repr(reply)
    assert FAKE_KEY[:-4] not in repr(reply)


# -- the happy paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_normal_answer_streams_the_real_text_with_usage_and_cost(server, provider):
    agent = agent_for(server, provider, "normal")
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)

    record = server.pick(Scenario.parse("normal"))
    assert reply.ok, reply.failure
    assert reply.text == record["answer"]
    assert deltas.kinds() == ["answer"] and deltas.text("answer") == reply.text
    assert len(deltas.items) > 50  # streamed piece by piece, not in one go
    assert reply.finish_reason in ("stop", "end_turn")
    sent = server.requests[-1]
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (sent.input_tokens, sent.output_tokens)
    assert reply.cost_usd == pytest.approx((sent.input_tokens * 3.0 + sent.output_tokens * 15.0) / 1e6)
    assert reply.ttft_s is not None and 0 < reply.ttft_s <= reply.latency_s
    # the real answer is the per-coin decision JSON nof1 recorded
    decisions = json.loads(reply.text)
    assert {d["signal"] for d in decisions.values()} <= {"hold", "buy_to_enter", "sell_to_enter", "close", "close_position"}
    assert isinstance(agent, Agent) and agent.kind == "llm"


@pytest.mark.parametrize(("provider", "model"), [
    ("openai", "reasoning"),  # Responses API: response.reasoning_summary_text.delta
    ("openai-compatible", "reasoning"),  # DeepSeek / vLLM: delta.reasoning_content
    ("openai-compatible", "reasoning:field=reasoning"),  # newer vLLM / Ollama / OpenRouter: delta.reasoning
    ("anthropic", "reasoning"),  # thinking_delta blocks, signature_delta
])
async def test_reasoning_deltas_are_marked_and_come_first(server, provider, model):
    kw = {"thinking_budget": 2048} if provider == "anthropic" else {}
    agent = agent_for(server, provider, model, temperature=0.7, **kw)
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)

    record = server.pick(Scenario.parse(model))
    assert reply.ok, reply.failure
    assert record["reasoning"] and deltas.kinds() == ["reasoning", "answer"]
    assert deltas.text("reasoning") == reply.reasoning == record["reasoning"]
    assert deltas.text("answer") == reply.text == record["answer"]
    body = server.requests[-1].body
    if provider == "anthropic":
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert "temperature" not in body  # the API refuses a temperature other than 1 with thinking
    elif provider == "openai":
        assert body["reasoning"] == {"summary": "auto"} and "temperature" not in body
    assert reply.usage.reasoning_tokens == server.requests[-1].reasoning_tokens > 0


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("chunk", [2, 3, 5])
async def test_think_tags_split_across_chunks_are_routed_to_reasoning(server, provider, chunk):
    agent = agent_for(server, provider, f"think:chunk={chunk}")
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)

    record = server.pick(Scenario.parse("think"))
    assert reply.ok, reply.failure
    assert deltas.kinds() == ["reasoning", "answer"]
    assert reply.reasoning.strip() == record["reasoning"].strip()
    assert reply.text.strip() == record["answer"].strip()
    assert "<think>" not in reply.text + reply.reasoning and "</think>" not in reply.text + reply.reasoning
    assert "think>" not in "".join(t for _, t in deltas.items)


@given(st.text(alphabet="ab<>/thinkTHINK \n", max_size=40), st.text(alphabet="ab<>/ \n{}", max_size=40),
       st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=30))
def test_think_splitter_is_independent_of_chunking(reasoning, answer, cuts):
    reasoning = reasoning.replace("</think>", "")  # the reasoning itself cannot contain the closing tag
    answer = answer.replace("<think>", "")
    text = "<think>" + reasoning + "</think>" + answer
    pieces, i = [], 0
    for n in cuts * 20:
        if i >= len(text):
            break
        pieces.append(text[i:i + n])
        i += n
    pieces.append(text[i:])
    splitter = ThinkTagSplitter()
    out = [item for p in pieces for item in splitter.feed(p)] + splitter.flush()
    assert "".join(t for k, t in out if k == "reasoning") == reasoning
    assert "".join(t for k, t in out if k == "answer") == answer


async def test_openai_compatible_sends_chat_completions_and_asks_for_usage(server):
    agent = agent_for(server, "openai-compatible", "normal", max_tokens=1234, reasoning_effort="low", temperature=0.2)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.ok, reply.failure
    sent = server.requests[-1]
    body = sent.body
    assert sent.path == "/v1/chat/completions"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 1234 and "max_completion_tokens" not in body
    assert body["reasoning_effort"] == "low" and body["temperature"] == 0.2
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert sent.api_key == FAKE_KEY


async def test_keyless_local_server_gets_a_placeholder_key(server):
    agent = agent_for(server, "openai-compatible", "normal", api_key_env=None, max_tokens=99)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.ok, reply.failure
    assert server.requests[-1].api_key == PLACEHOLDER_KEY
    assert server.requests[-1].body["max_tokens"] == 99


# -- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_is_retried_after_the_servers_retry_after(server, provider):
    # retry_backoff_s=0: only honouring retry-after (0.3 s) can put a gap between the two requests
    agent = agent_for(server, provider, "429:retry_after=0.3", retry_backoff_s=0.0)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.ok, reply.failure
    first, second = server.requests
    assert (first.status, second.status) == (429, 200)
    assert second.received - first.received >= 0.28
    assert reply.text == server.pick(Scenario()).get("answer")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_whose_retry_after_passes_the_deadline_fails_at_once(server, provider):
    agent = agent_for(server, provider, "429:retry_after=30", timeout_s=2.0)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "rate_limit"
    assert "deadline" in reply.failure.reason and agent.name in reply.failure.reason
    assert len(server.requests) == 1
    no_key_anywhere(reply)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("scenario", ["500", "529"])
async def test_5xx_fails_after_all_retries(server, provider, scenario):
    agent = agent_for(server, provider, scenario, retries=2)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "server"
    assert "all 3 attempts" in reply.failure.reason
    assert [r.status for r in server.requests] == [500 if scenario == "500" else (529 if provider == "anthropic" else 503)] * 3


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_transient_500_is_retried_to_success(server, provider):
    reply = await agent_for(server, provider, "500:fail=1").decide(make_request(), Deltas())
    assert reply.ok, reply.failure
    assert [r.status for r in server.requests] == [500, 200]


async def test_refused_connection_is_a_connection_failure():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    for provider, base in (("openai-compatible", f"http://127.0.0.1:{port}/v1"), ("anthropic", f"http://127.0.0.1:{port}")):
        config = LLMAgentConfig(name="local", provider=provider, model="m", base_url=base, api_key_env=KEY_ENV,
                                timeout_s=5.0, retries=1, retry_backoff_s=0.01)
        async with LLMAgent(config) as agent:
            reply = await agent.decide(make_request(), Deltas())
        assert reply.failure is not None and reply.failure.kind == "connection", reply.failure
        assert "base_url" in reply.failure.reason
        no_key_anywhere(reply)


# -- broken streams -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_too_slow_is_a_timeout(server, provider):
    agent = agent_for(server, provider, "slow:ttft=10", timeout_s=0.5)
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)
    assert reply.failure is not None and reply.failure.kind == "timeout"
    assert "0.5 s" in reply.failure.reason and agent.name in reply.failure.reason
    assert deltas.items == [] and reply.text == ""


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("scenario", ["cutoff", "drop", "badjson"])
async def test_truncated_or_malformed_stream_is_a_failure_that_keeps_the_partial_text(server, provider, scenario):
    agent = agent_for(server, provider, scenario)
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)
    assert reply.failure is not None and reply.failure.kind == "malformed", reply.failure
    assert 0 < len(reply.text) < len(server.pick(Scenario())["answer"])
    assert deltas.text("answer") == reply.text
    assert len(server.requests) == 1  # text already reached the screen: no retry that would repeat it


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_error_event_mid_stream_is_a_server_failure(server, provider):
    reply = await agent_for(server, provider, "stream_error").decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "server"
    assert "mid-stream" in reply.failure.reason
    assert len(server.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_empty_answer(server, provider):
    reply = await agent_for(server, provider, "empty").decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "empty"
    assert reply.text == "" and reply.finish_reason in ("stop", "end_turn")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_length_cut_off(server, provider):
    agent = agent_for(server, provider, "length", max_tokens=4000)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "length"
    assert "max_tokens=4000" in reply.failure.reason
    assert reply.finish_reason in ("length", "max_tokens")
    assert reply.usage.output_tokens == server.requests[-1].output_tokens > 0  # the tokens were still paid for
    assert reply.cost_usd > 0


async def test_a_failing_callback_becomes_a_failure_not_an_exception(server):
    def explode(kind, text):
        raise RuntimeError("screen gone")

    reply = await agent_for(server, "openai-compatible", "normal").decide(make_request(), explode)
    assert reply.failure is not None and reply.failure.kind == "error" and "on_delta" in reply.failure.reason


# -- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("scenario", ["401", "normal", "500", "cutoff", "badjson", "slow:ttft=5", "429:retry_after=60"])
async def test_the_api_key_never_appears_in_a_reply(server, provider, scenario):
    reply = await agent_for(server, provider, scenario, timeout_s=0.5).decide(make_request(), Deltas())
    assert server.requests[0].api_key == FAKE_KEY  # it was sent...
    no_key_anywhere(reply)  # ...and never comes back
    if scenario == "401":
        assert reply.failure is not None and reply.failure.kind == "auth"
        assert "[redacted]" in reply.failure.reason and KEY_ENV in reply.failure.reason


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_missing_key_is_an_auth_failure_naming_the_variable(server, provider, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    agent = agent_for(server, provider, "normal", api_key_env=None)
    reply = await agent.decide(make_request(), Deltas())
    env = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
    assert reply.failure is not None and reply.failure.kind == "auth"
    assert f"set {env} in the environment" in reply.failure.reason
    assert server.requests == []


def test_config_refuses_a_key_in_place_of_a_variable_name():
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        LLMAgentConfig(name="x", provider="openai", model="gpt-5", api_key_env=FAKE_KEY)
    with pytest.raises(ConfigError, match="below max_tokens"):
        LLMAgentConfig(name="x", provider="anthropic", model="claude", thinking_budget=8192, max_tokens=8192)
    with pytest.raises(ConfigError, match="provider"):
        LLMAgentConfig(name="x", provider="gemini", model="g")  # type: ignore[arg-type]


# -- budget ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_token_budget_holds_the_agent_until_the_next_utc_day(server, provider):
    agent = agent_for(server, provider, "normal", budget_tokens_per_day=100)
    first = await agent.decide(make_request(T0), Deltas())
    assert first.ok and first.usage.input_tokens + first.usage.output_tokens > 100
    assert agent.spent(T0).tokens == first.usage.input_tokens + first.usage.output_tokens

    held = await agent.decide(make_request(T0 + 3 * 60_000, cycle=2), Deltas())
    assert held.failure is not None and held.failure.kind == "budget"
    assert "100 tokens per day" in held.failure.reason and "2025-10-28" in held.failure.reason
    assert len(server.requests) == 1

    next_day = await agent.decide(make_request(T0 + DAY_MS, cycle=3), Deltas())
    assert next_day.ok and len(server.requests) == 2


async def test_dollar_budget_holds_the_agent(server):
    agent = agent_for(server, "anthropic", "normal", budget_usd_per_day=0.001)
    first = await agent.decide(make_request(), Deltas())
    assert first.ok and first.cost_usd > 0.001
    held = await agent.decide(make_request(T0 + 1000, cycle=2), Deltas())
    assert held.failure is not None and held.failure.kind == "budget" and "budget_usd_per_day" in held.failure.reason


# -- plumbing -------------------------------------------------------------------------------------


def test_the_sdks_are_not_imported_with_the_module():
    code = ("import sys, arena_tui.engine.agents.llm, arena_tui.engine.agents.recorded\n"
            "print(sorted(m for m in ('openai', 'anthropic', 'httpx', 'httpx2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_thread_server_serves_sync_callers():
    async def run(agent: LLMAgent, deltas: Deltas):
        async with agent:
            return await agent.decide(make_request(), deltas)

    with FakeLLMServerThread() as srv:
        agent = agent_for(srv, "openai-compatible", "reasoning:tps=2000,ttft=0.05")
        OPEN_AGENTS.remove(agent)
        deltas = Deltas()
        reply = asyncio.run(run(agent, deltas))
    assert reply.ok, reply.failure
    assert deltas.kinds() == ["reasoning", "answer"]
    assert srv.requests[-1].pieces_sent == len(deltas.items)


async def test_a_rotated_key_is_picked_up_on_the_next_call(server, monkeypatch):
    agent = agent_for(server, "anthropic", "normal")
    assert (await agent.decide(make_request(), Deltas())).ok
    monkeypatch.setenv(KEY_ENV, ROTATED_KEY)
    assert (await agent.decide(make_request(T0 + 1), Deltas())).ok
    assert [r.api_key for r in server.requests] == [FAKE_KEY, ROTATED_KEY]
