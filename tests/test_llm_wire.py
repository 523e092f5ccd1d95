"""The providers' current wire formats, through the real ``openai`` and ``anthropic`` SDK clients
(``LLMAgent.decide``) against ``tests/fakes/llm_server.py`` on 127.0.0.1: OpenAI's Responses API with
streamed reasoning summaries, Anthropic adaptive thinking with effort, cached and reasoning tokens at
their own prices, and the refusal / context-window / content-filter / unexpected-stop failures.

Every event the fake server streams is checked against the installed SDK's own pydantic types, and
the parameters we send against the SDK's own parameter types: run against the declared dependency
floors, these fail on an SDK too old to know them.
"""

from __future__ import annotations

import pydantic
import pytest

from arena_tui.config import AgentConfig, load_config
from arena_tui.engine.agents.llm import LLMAgentConfig
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.factory import build_agent
from tests.fakes.llm_server import REFUSAL_TEXT, Scenario
from tests.test_llm_agents import FAKE_KEY, Deltas, agent_for, make_request, no_key_anywhere
from tests.test_llm_agents import api_key, server  # noqa: F401 (the same fixtures: fake server, key in the environment)


# -- the SDKs' own types ----------------------------------------------------------------------------


def validate_events(path: str, events: list[dict]) -> list[str]:
    """Validate every streamed event against the installed SDK's type for that route (pydantic,
    strict about required fields); returns the class names, in order."""
    if path == "/v1/responses":
        from openai.types.responses import ResponseStreamEvent as T
    elif path == "/v1/chat/completions":
        from openai.types.chat import ChatCompletionChunk as T
    else:
        from anthropic.types import RawMessageStreamEvent as T
    adapter = pydantic.TypeAdapter(T)
    names = []
    for data in events:
        parsed = adapter.validate_python(data)
        if hasattr(data, "get") and "type" in data and path != "/v1/chat/completions":
            assert parsed.type == data["type"]
        names.append(type(parsed).__name__)
    return names


def same_under(param_type, value: dict) -> bool:
    """Whether ``value`` is a valid ``param_type`` (an SDK TypedDict) that keeps every key we sent."""
    return pydantic.TypeAdapter(param_type).validate_python(value) == value


RESPONSES_SEQUENCE = [
    "ResponseCreatedEvent", "ResponseInProgressEvent",
    "ResponseOutputItemAddedEvent", "ResponseReasoningSummaryPartAddedEvent",
]


@pytest.mark.parametrize(("provider", "model"), [
    ("openai", "reasoning:parts=2,cached=64"),
    ("openai", "refusal"),
    ("openai", "length"),
    ("openai", "content_filter"),
    ("openai", "stream_error"),
    ("openai", "stream_error:via=error"),
    ("openai-compatible", "reasoning:cached=64"),
    ("openai-compatible", "refusal"),
    ("anthropic", "reasoning:cached=64"),
    ("anthropic", "refusal"),
    ("anthropic", "context"),
])
async def test_every_streamed_event_is_one_the_sdk_knows(server, provider, model):
    effort = "high" if provider != "openai-compatible" else None
    kw = {"thinking": "adaptive"} if provider == "anthropic" else {}
    await agent_for(server, provider, model, reasoning_effort=effort, **kw).decide(make_request(), Deltas())
    sent = server.requests[-1]
    names = validate_events(sent.path, sent.events)
    assert len(names) == len(sent.events) > 3
    if model.startswith("reasoning") and provider == "openai":
        assert names[:4] == RESPONSES_SEQUENCE
        assert names.count("ResponseReasoningSummaryTextDeltaEvent") == sent.reasoning_tokens
        assert names.count("ResponseReasoningSummaryPartAddedEvent") == 2
        assert names[-1] == "ResponseCompletedEvent"
        assert [e["sequence_number"] for e in sent.events] == list(range(len(sent.events)))


async def test_the_parameters_we_send_are_the_sdks_own(server):
    from anthropic.types import OutputConfigParam, ThinkingConfigParam
    from openai.types.shared_params import Reasoning

    await agent_for(server, "openai", "normal", reasoning_effort="low", reasoning_summary="detailed").decide(make_request(), Deltas())
    assert same_under(Reasoning, server.requests[-1].body["reasoning"])
    await agent_for(server, "anthropic", "normal", thinking="adaptive", reasoning_effort="max").decide(make_request(), Deltas())
    body = server.requests[-1].body
    assert same_under(ThinkingConfigParam, body["thinking"]) and same_under(OutputConfigParam, body["output_config"])
    await agent_for(server, "anthropic", "normal", thinking_budget=1024, thinking_display="summarized").decide(make_request(), Deltas())
    assert same_under(ThinkingConfigParam, server.requests[-1].body["thinking"])


# -- OpenAI: the Responses API ---------------------------------------------------------------------


async def test_openai_streams_reasoning_summaries_then_the_answer(server):
    agent = agent_for(server, "openai", "reasoning:parts=3,cached=100", reasoning_effort="high", max_tokens=4321,
                      temperature=0.3, price_cached_input_per_mtok=0.3, price_reasoning_per_mtok=60.0)
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)

    record = server.pick(Scenario.parse("reasoning"))
    sent = server.requests[-1]
    assert reply.ok, reply.failure
    assert sent.path == "/v1/responses"
    body = sent.body
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["max_output_tokens"] == 4321 and body["store"] is False and body["stream"] is True
    assert "temperature" not in body and "messages" not in body and "max_tokens" not in body
    assert body["instructions"] == make_request().system_prompt
    assert body["input"] == [{"role": "user", "content": make_request().user_prompt}]
    # three summary parts, joined by a blank line in the pane, then the answer
    assert len(sent.summary_parts) == 3 and "".join(sent.summary_parts) == record["reasoning"]
    assert deltas.kinds() == ["reasoning", "answer"]
    assert deltas.text("reasoning") == reply.reasoning == "\n\n".join(sent.summary_parts)
    assert deltas.text("answer") == reply.text == record["answer"]
    assert reply.finish_reason == "stop"
    # usage: all input tokens, 100 of them cached; all output tokens, the reasoning ones apart
    u = reply.usage
    assert (u.input_tokens, u.cached_input_tokens) == (sent.input_tokens, 100)
    assert (u.output_tokens, u.reasoning_tokens) == (sent.output_tokens, sent.reasoning_tokens)
    assert 0 < u.reasoning_tokens < u.output_tokens
    expected = ((u.input_tokens - 100) * 3.0 + 100 * 0.3
                + (u.output_tokens - u.reasoning_tokens) * 15.0 + u.reasoning_tokens * 60.0) / 1e6
    assert reply.cost_usd == pytest.approx(expected, rel=1e-12)


async def test_openai_without_a_summary_sends_no_reasoning_and_keeps_the_temperature(server):
    agent = agent_for(server, "openai", "reasoning", reasoning_summary="off", temperature=0.3)
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)
    assert reply.ok, reply.failure
    body = server.requests[-1].body
    assert "reasoning" not in body and body["temperature"] == 0.3
    assert deltas.kinds() == ["answer"] and reply.reasoning == ""  # the API streams no summary unasked
    assert reply.usage.reasoning_tokens == server.requests[-1].reasoning_tokens > 0


async def test_the_server_refuses_a_temperature_with_reasoning_as_the_real_api_does(server):
    from openai import AsyncOpenAI, BadRequestError

    async with AsyncOpenAI(api_key=FAKE_KEY, base_url=server.openai_base_url, max_retries=0) as client:
        with pytest.raises(BadRequestError, match="temperature"):
            await client.responses.create(model="normal", input="hi", reasoning={"effort": "low"}, temperature=0.5, stream=True)
        with pytest.raises(BadRequestError, match="max_tokens"):
            await client.responses.create(model="normal", input="hi", stream=True, extra_body={"max_tokens": 9})


# -- Anthropic: adaptive thinking ------------------------------------------------------------------


async def test_anthropic_adaptive_thinking_with_effort_streams_thinking(server):
    agent = agent_for(server, "anthropic", "reasoning:adaptive_only=1", thinking="adaptive", reasoning_effort="high",
                      temperature=0.5)
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)

    record = server.pick(Scenario.parse("reasoning"))
    body = server.requests[-1].body
    assert reply.ok, reply.failure
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "high"}
    assert "budget_tokens" not in str(body) and "temperature" not in body
    assert deltas.kinds() == ["reasoning", "answer"]
    assert reply.reasoning == record["reasoning"] and reply.text == record["answer"]
    assert reply.usage.reasoning_tokens == server.requests[-1].reasoning_tokens > 0  # output_tokens_details


async def test_anthropic_display_omitted_streams_no_thinking_but_counts_it(server):
    agent = agent_for(server, "anthropic", "reasoning", thinking="adaptive", thinking_display="omitted")
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)
    assert reply.ok, reply.failure
    assert server.requests[-1].body["thinking"] == {"type": "adaptive", "display": "omitted"}
    assert deltas.kinds() == ["answer"] and reply.reasoning == ""
    assert reply.usage.reasoning_tokens == server.requests[-1].reasoning_tokens > 0


async def test_anthropic_manual_budget_is_refused_by_a_4_7_model_in_one_sentence(server):
    agent = agent_for(server, "anthropic", "normal:adaptive_only=1", thinking_budget=2048)
    reply = await agent.decide(make_request(), Deltas())
    assert server.requests[-1].body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert reply.failure is not None and reply.failure.kind == "config"
    assert reply.failure.reason.startswith(agent.name + ": ")
    assert "HTTP 400: thinking.type.enabled is not supported for this model" in reply.failure.reason
    assert "check the agent's model and settings" in reply.failure.reason
    assert len(server.requests) == 1  # a 400 is not retried


async def test_the_server_refuses_a_budget_below_1024_as_the_real_api_does(server):
    from anthropic import AsyncAnthropic, BadRequestError

    async with AsyncAnthropic(api_key=FAKE_KEY, base_url=server.anthropic_base_url, max_retries=0) as client:
        with pytest.raises(BadRequestError, match="greater than or equal to 1024"):
            await client.messages.create(model="normal", max_tokens=4096, messages=[{"role": "user", "content": "hi"}],
                                         thinking={"type": "enabled", "budget_tokens": 1023}, stream=True)
        with pytest.raises(BadRequestError, match="Extra inputs"):
            await client.messages.create(model="normal", max_tokens=4096, messages=[{"role": "user", "content": "hi"}],
                                         thinking={"type": "adaptive", "budget_tokens": 2048}, stream=True)


# -- pricing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "openai-compatible", "anthropic"])
async def test_cached_input_tokens_are_priced_apart(server, provider):
    agent = agent_for(server, provider, "normal:cached=120", price_cached_input_per_mtok=0.25)
    reply = await agent.decide(make_request(), Deltas())
    sent = server.requests[-1]
    assert reply.ok, reply.failure
    u = reply.usage
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens) == (sent.input_tokens, 120, sent.output_tokens)
    assert sent.input_tokens > 120
    assert reply.cost_usd == pytest.approx(((sent.input_tokens - 120) * 3.0 + 120 * 0.25 + sent.output_tokens * 15.0) / 1e6,
                                           rel=1e-12)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_unset_cached_and_reasoning_prices_are_the_input_and_output_prices(server, provider):
    kw = {"thinking": "adaptive"} if provider == "anthropic" else {}
    reply = await agent_for(server, provider, "reasoning:cached=50", **kw).decide(make_request(), Deltas())
    u = reply.usage
    assert reply.ok and u.cached_input_tokens == 50 and u.reasoning_tokens > 0
    assert reply.cost_usd == pytest.approx((u.input_tokens * 3.0 + u.output_tokens * 15.0) / 1e6, rel=1e-12)


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "openai-compatible", "anthropic"])
async def test_a_refusal_is_its_own_failure(server, provider):
    agent = agent_for(server, provider, "refusal")
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "refusal", reply.failure
    reason = reply.failure.reason
    assert reason.startswith(f"{agent.name}: the model refused to answer")
    assert reason.endswith("if it keeps refusing, check the prompt templates or pick another model.")
    if provider == "anthropic":
        assert "(category cyber)" in reason and reply.finish_reason == "refusal"
    else:
        assert f'("{REFUSAL_TEXT}")' in reason and reply.text == ""
    assert "\n" not in reason and len(server.requests) == 1
    no_key_anywhere(reply)


@pytest.mark.parametrize("provider", ["openai", "openai-compatible", "anthropic"])
async def test_a_context_window_overflow_is_its_own_failure(server, provider):
    agent = agent_for(server, provider, "context")
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "context_window", reply.failure
    reason = reply.failure.reason
    assert reason.startswith(agent.name + ": ")
    assert reason.endswith("pick a model with a larger context window, or shorten the prompt (fewer coins or a "
                           "shorter user_prompt template).")
    if provider == "anthropic":  # stopped mid-answer: the tokens were paid for
        assert reply.finish_reason == "model_context_window_exceeded" and reply.usage.output_tokens > 0
    else:
        assert "HTTP 400" in reason and server.requests[-1].status == 400
    assert len(server.requests) == 1


@pytest.mark.parametrize("provider", ["openai", "openai-compatible"])
async def test_a_content_filter_is_its_own_failure(server, provider):
    agent = agent_for(server, provider, "content_filter")
    deltas = Deltas()
    reply = await agent.decide(make_request(), deltas)
    assert reply.failure is not None and reply.failure.kind == "content_filter", reply.failure
    assert reply.failure.reason == (f"{agent.name}: the provider's content filter withheld the answer; holding this cycle "
                                    "— if it repeats, check the prompt templates or pick another model.")
    assert 0 < len(reply.text) < len(server.pick(Scenario())["answer"])  # what arrived before is kept
    assert reply.finish_reason == "content_filter"


async def test_openai_incomplete_at_max_output_tokens_is_a_length_cut_off(server):
    reply = await agent_for(server, "openai", "reasoning:tokens=400", max_tokens=999).decide(make_request(), Deltas())
    assert reply.ok  # the control: the same model finishes
    reply = await agent_for(server, "openai", "length", max_tokens=999).decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "length"
    assert "max_tokens=999" in reply.failure.reason and reply.finish_reason == "length"


@pytest.mark.parametrize("model", ["stream_error", "stream_error:via=error"])
async def test_openai_failed_or_error_event_mid_stream_is_a_server_failure(server, model):
    agent = agent_for(server, "openai", model)
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "server", reply.failure
    assert reply.failure.reason.startswith(agent.name + ": ")
    assert "reported an error mid-stream (server_error: The server had an error while processing your request)" in reply.failure.reason
    assert server.requests[-1].events[-1]["type"] == ("error" if "via=error" in model else "response.failed")
    assert len(server.requests) == 1  # text had reached the screen: no retry
    if "via" not in model:
        assert reply.usage.output_tokens == server.requests[-1].output_tokens > 0  # response.failed carries usage


@pytest.mark.parametrize("stop", ["pause_turn", "tool_use"])
async def test_anthropic_unexpected_stops_get_a_clear_sentence(server, stop):
    agent = agent_for(server, "anthropic", f"normal:stop={stop}")
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "error"
    if stop == "pause_turn":
        assert reply.failure.reason == (
            f"{agent.name}: the API paused the turn before the answer was done (stop reason pause_turn, which this "
            "app does not continue); holding this cycle — if it repeats, check model and base_url.")
    else:
        assert reply.failure.reason == (f"{agent.name}: the model stopped for an unexpected reason ('tool_use'); "
                                        "holding this cycle — if it repeats, check model and base_url.")


async def test_an_untrusted_stop_reason_is_scrubbed(server):
    agent = agent_for(server, "anthropic", f"normal:stop=odd {FAKE_KEY}")
    reply = await agent.decide(make_request(), Deltas())
    assert reply.failure is not None and reply.failure.kind == "error"
    no_key_anywhere(reply)
    assert "[redacted]" in reply.failure.reason


# -- config ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kw", "words"), [
    ({"provider": "anthropic", "thinking_budget": 1000}, "thinking_budget 1000 must be at least 1024 and below max_tokens (8192)"),
    ({"provider": "anthropic", "thinking": "enabled"}, "thinking_budget 0 must be at least 1024"),
    ({"provider": "anthropic", "thinking": "adaptive", "thinking_budget": 2048}, 'thinking_budget applies to thinking = "enabled" only'),
    ({"provider": "anthropic", "thinking": "auto"}, "thinking 'auto' is unknown; use one of adaptive, enabled, off"),
    ({"provider": "anthropic", "thinking": "adaptive", "thinking_display": "full"}, "thinking_display 'full' is unknown"),
    ({"provider": "anthropic", "thinking_display": "omitted"}, "thinking_display needs thinking on"),
    ({"provider": "anthropic", "reasoning_effort": "minimal"}, "reasoning_effort 'minimal' is not an Anthropic effort level"),
    ({"provider": "openai", "thinking": "adaptive"}, "thinking applies to anthropic agents only"),
    ({"provider": "openai-compatible", "thinking_budget": 2048}, "thinking_budget applies to anthropic agents only"),
    ({"provider": "openai", "reasoning_summary": "verbose"}, "reasoning_summary 'verbose' is unknown"),
    ({"provider": "anthropic", "reasoning_summary": "detailed"}, "reasoning_summary applies to openai agents only"),
    ({"provider": "openai", "price_cached_input_per_mtok": -1.0}, "token prices must not be negative"),
])
def test_llm_agent_config_refuses_settings_that_cannot_work(kw, words):
    with pytest.raises(ConfigError) as info:
        LLMAgentConfig(name="X", model="m", **kw)
    msg = str(info.value)
    assert msg.startswith("agent 'X': ") and words in msg and msg.endswith(".") and "\n" not in msg


def test_an_old_config_with_thinking_budget_alone_means_a_manual_budget(tmp_path):
    path = tmp_path / "arena.toml"
    path.write_text('[[agents]]\nname = "Claude"\nkind = "anthropic"\nmodel = "claude-sonnet-4-5"\nthinking_budget = 2048\n')
    cfg = load_config(str(path), environ={})
    agent = build_agent(cfg.agents[0], cfg)
    assert agent.config.thinking_mode == "enabled" and agent.config.thinking_budget == 2048
    assert agent._anthropic_kwargs(make_request())["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_the_factory_passes_every_reasoning_setting(tmp_path):
    cfg = load_config(None, environ={}, cwd=tmp_path)
    a = AgentConfig(name="GPT", kind="openai", model="gpt-5.5", reasoning_effort="high", reasoning_summary="concise",
                    price_cached_input_per_mtok=0.1, price_reasoning_per_mtok=20.0)
    c = build_agent(a, cfg).config
    assert (c.reasoning_effort, c.reasoning_summary, c.price_cached_input_per_mtok, c.price_reasoning_per_mtok) == ("high", "concise", 0.1, 20.0)
    b = AgentConfig(name="Claude", kind="anthropic", model="claude-opus-4-7", thinking="adaptive", thinking_display="omitted",
                    reasoning_effort="xhigh")
    d = build_agent(b, cfg).config
    assert (d.thinking_mode, d.thinking_display, d.reasoning_effort, d.thinking_budget) == ("adaptive", "omitted", "xhigh", None)
