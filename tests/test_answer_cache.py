"""The answer cache (``[arena] answer_cache``, ``--answer-cache DIR``): re-running a backtest over the
recorded market answers every prompt a model was asked before from disk, at no cost. Through the real
openai and anthropic SDK clients against the local fake LLM server (which counts and records every
request): the second run makes no request, its journal marks every answer cached, its decisions and
leaderboard are the first run's, and both journals verify; a changed prompt, model or parameter
misses; a corrupt entry is a miss (and is replaced); a live market refuses the setting; nothing
secret is stored."""

from __future__ import annotations

import dataclasses
import io
import json
import os

import pytest
from rich.console import Console

from arena_tui.config import Config, load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentRequest
from arena_tui.engine.agents.cache import ENTRY_FORMAT, AnswerCache, default_cache_dir
from arena_tui.engine.agents.llm import LLMAgent, LLMAgentConfig
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.scheduler import ArenaSession, attach_answer_cache
from arena_tui.engine.verify import reexecute
from arena_tui.headless import cache_summary, leaderboard_table
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-" + "cache-0123456789abcdefghij"  # fake; split so secret scanners do not flag it
START = {"market": {"start": "2025-10-28T06:15:00Z"}}


def agents_toml(srv, cache_dir) -> str:
    return f"""
[arena]
answer_cache = true
answer_cache_dir = "{cache_dir}"

[[agents]]
name = "DeepSeek"
kind = "openai-compatible"
model = "reasoning:model_id=deepseek-chat-v3.1"
base_url = "{srv.openai_base_url}"
api_key_env = "ARENA_CACHE_KEY"
retries = 0
timeout_s = 20
price_input_per_mtok = 0.27
price_output_per_mtok = 1.1

[[agents]]
name = "Claude"
kind = "anthropic"
model = "normal:model_id=claude-sonnet-4-5"
base_url = "{srv.anthropic_base_url}"
api_key_env = "ARENA_CACHE_KEY"
retries = 0
timeout_s = 20
price_input_per_mtok = 3.0
price_output_per_mtok = 15.0

[[agents]]
name = "Trend"
kind = "baseline"
strategy = "trend_follower"
"""


def config_of(tmp_path, toml: str) -> Config:
    (tmp_path / "arena.toml").write_text(toml, encoding="utf-8")
    return load_config(str(tmp_path / "arena.toml"), environ={}, cwd=tmp_path, overrides=START)


async def run_once(cfg: Config, path, cycles: int) -> tuple[ArenaSession, list[ev.Event]]:
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=path, max_cycles=cycles, pace=0)
    seen: list[ev.Event] = []
    await session.run(seen.append)
    return session, seen


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


def decisions(events) -> list[tuple]:
    return sorted(((e.cycle, e.agent, json.dumps(e.decisions, sort_keys=True)) for e in of(events, ev.DecisionParsed)))


def text_of(renderable) -> str:
    console = Console(width=200, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


async def test_a_rerun_makes_no_request_and_gives_the_same_session(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    cache_dir = tmp_path / "answers"
    cycles = 3
    async with FakeLLMServer() as srv:
        cfg = config_of(tmp_path, agents_toml(srv, cache_dir))
        first, seen1 = await run_once(cfg, tmp_path / "first.jsonl", cycles)
        asked = len(srv.requests)
        second, seen2 = await run_once(cfg, tmp_path / "second.jsonl", cycles)
        assert len(srv.requests) == asked == 2 * cycles  # the second run asked the server nothing
    # the first run paid and stored; the second replayed
    r1, r2 = of(seen1, ev.AgentReplied), of(seen2, ev.AgentReplied)
    assert len(r1) == len(r2) == 3 * cycles
    llm1 = [r for r in r1 if r.agent != "Trend"]
    llm2 = [r for r in r2 if r.agent != "Trend"]
    assert not any(r.cached for r in r1) and all(r.cost_usd > 0 for r in llm1)
    assert all(r.cached for r in llm2) and not any(r.cached for r in r2 if r.agent == "Trend")
    assert all(r.cost_usd == 0 and r.input_tokens == r.output_tokens == 0 for r in llm2)
    # (the order the agents answer in within a cycle is the wall clock's: compare per cycle and agent)
    assert sorted((r.cycle, r.agent, r.text, r.finish_reason) for r in llm1) == sorted((r.cycle, r.agent, r.text, r.finish_reason) for r in llm2)
    assert first.answer_cache.stored == 2 * cycles and second.answer_cache.hits == 2 * cycles
    # the same decisions, the same leaderboard every cycle
    assert decisions(seen1) == decisions(seen2) and decisions(seen1)
    # (the usage totals aside: the rerun paid nothing)
    free = lambda rows: [dataclasses.replace(r, input_tokens=0, output_tokens=0, reasoning_tokens=0, cached_input_tokens=0, cost_usd=0.0) for r in rows]  # noqa: E731
    assert [free(e.leaderboard) for e in of(seen1, ev.CycleCompleted)] == [free(e.leaderboard) for e in of(seen2, ev.CycleCompleted)]
    assert all(r.output_tokens == 0 and r.cost_usd == 0 for r in of(seen2, ev.CycleCompleted)[-1].leaderboard)
    assert any(r.output_tokens > 0 and r.cost_usd > 0 for r in of(seen1, ev.CycleCompleted)[-1].leaderboard)
    # the pane still shows the reasoning: the stored reasoning and answer stream again
    deltas = of(seen2, ev.ReasoningDelta)
    assert {d.kind for d in deltas if d.agent == "DeepSeek"} == {"reasoning", "answer"}
    for agent in ("DeepSeek", "Claude"):
        for kind in ("reasoning", "answer"):
            assert "".join(d.text for d in deltas if d.agent == agent and d.kind == kind) == \
                   "".join(d.text for d in of(seen1, ev.ReasoningDelta) if d.agent == agent and d.kind == kind)
    # the journal marks every cached answer (through the compact encoding and back)
    j2 = read_journal(tmp_path / "second.jsonl")
    journaled = [e for e in j2.events if isinstance(e, ev.AgentReplied) and e.agent != "Trend"]
    assert len(journaled) == 2 * cycles and all(e.cached for e in journaled)
    assert not any(e.cached for e in read_journal(tmp_path / "first.jsonl").events if isinstance(e, ev.AgentReplied))
    # the fold counts the hits; the headless summary says so
    assert {n: b.cache_hits for n, b in second.state.agents.items()} == {"DeepSeek": cycles, "Claude": cycles, "Trend": 0}
    assert second.state.agents["DeepSeek"].cost_usd == 0 and first.state.agents["DeepSeek"].cost_usd > 0
    summary = cache_summary(second.state, second.answer_cache.directory)
    assert summary is not None and f"Answer cache: {2 * cycles} of {2 * cycles} model answers replayed at no cost" in summary.plain
    assert cache_summary(first.state) is None
    assert text_of(leaderboard_table(second.state.standings(), "L", second.state)).count("DeepSeek") == 1
    # both journals verify by re-execution (a cached reply is a primary input like any)
    for name in ("first.jsonl", "second.jsonl"):
        result = await reexecute(tmp_path / name)
        assert result.difference is None and result.cycles == cycles, (name, result.difference)
    # nothing secret is stored: no key in the entries (nor in the journals)
    for p in cache_dir.rglob("*"):
        if p.is_file():
            assert KEY not in p.read_text(encoding="utf-8")
    assert KEY not in (tmp_path / "second.jsonl").read_text(encoding="utf-8")


async def test_a_tampered_cached_flag_is_replayed_as_recorded(tmp_path, monkeypatch):
    """``cached`` is a primary input (as the answer text): re-execution takes it from the journal, and a
    reply the journal says was cached is re-executed at no cost."""
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    async with FakeLLMServer() as srv:
        cfg = config_of(tmp_path, agents_toml(srv, tmp_path / "answers"))
        await run_once(cfg, tmp_path / "a.jsonl", 2)
        await run_once(cfg, tmp_path / "b.jsonl", 2)
    result = await reexecute(tmp_path / "b.jsonl")
    assert result.difference is None
    assert result.state.agents["Claude"].cache_hits == 2


# --- the cache itself: keys, misses, corrupt entries ------------------------------------------------


def llm(srv, tmp_path, **changes) -> LLMAgent:
    cfg = LLMAgentConfig(name="GPT", provider="openai-compatible", model="normal", base_url=srv.openai_base_url,
                         api_key_env="ARENA_CACHE_KEY", retries=0, timeout_s=20, price_input_per_mtok=1.0, price_output_per_mtok=2.0)
    agent = LLMAgent(dataclasses.replace(cfg, **changes))
    agent.answer_cache = AnswerCache(tmp_path / "answers")
    return agent


def request(user: str = "user prompt", system: str = "system prompt") -> AgentRequest:
    return AgentRequest(1, 0, system, user, None, None)  # type: ignore[arg-type]  (decide reads only the prompts)


async def ask(agent: LLMAgent, req: AgentRequest):
    deltas: list[tuple[str, str]] = []
    reply = await agent.decide(req, lambda kind, text: deltas.append((kind, text)))
    await agent.aclose()
    return reply, deltas


async def test_a_changed_prompt_model_or_parameter_misses(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    async with FakeLLMServer() as srv:
        agent = llm(srv, tmp_path)
        first, _ = await ask(agent, request())
        assert not first.cached and first.failure is None and len(srv.requests) == 1
        again, deltas = await ask(agent, request())
        assert again.cached and again.text == first.text and again.cost_usd == 0 and len(srv.requests) == 1
        assert "".join(t for k, t in deltas if k == "answer") == first.text
        misses = [
            (agent, request(user="user prompt, another cycle")),
            (agent, request(system="another system prompt")),
            (llm(srv, tmp_path, model="normal:record=3"), request()),
            (llm(srv, tmp_path, temperature=0.5), request()),
            (llm(srv, tmp_path, max_tokens=4096), request()),
            (llm(srv, tmp_path, reasoning_effort="high"), request()),
            (llm(srv, tmp_path, base_url=srv.openai_base_url.replace("127.0.0.1", "localhost")), request()),
        ]
        for i, (a, req) in enumerate(misses, start=2):
            reply, _ = await ask(a, req)
            assert not reply.cached and reply.failure is None, i
            assert len(srv.requests) == i, f"miss {i - 1} did not ask the server"
        # what does not change the answer does not change the key: prices, timeouts, retries
        other = llm(srv, tmp_path, price_input_per_mtok=9.0, timeout_s=5, retries=3)
        reply, _ = await ask(other, request())
        assert reply.cached and len(srv.requests) == len(misses) + 1


async def test_the_anthropic_sdk_answers_and_then_the_cache_does(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    async with FakeLLMServer() as srv:
        cfg = LLMAgentConfig(name="Claude", provider="anthropic", model="reasoning:model_id=claude-sonnet-4-5", base_url=srv.anthropic_base_url,
                             api_key_env="ARENA_CACHE_KEY", retries=0, timeout_s=20, thinking="enabled", thinking_budget=2048)
        agent = LLMAgent(cfg)
        agent.answer_cache = AnswerCache(tmp_path / "answers")
        first, d1 = await ask(agent, request())
        second, d2 = await ask(agent, request())
        assert len(srv.requests) == 1 and not first.cached and second.cached
        assert second.reasoning == first.reasoning != "" and second.text == first.text
        assert [k for k, _ in d2] == ["reasoning", "answer"]  # the reasoning first, as it streamed
        stored = next((tmp_path / "answers").rglob("*.json"))
        entry = json.loads(stored.read_text(encoding="utf-8"))
        assert entry["format"] == ENTRY_FORMAT and entry["usage"]["output_tokens"] == first.usage.output_tokens > 0
        assert entry["finish_reason"] == first.finish_reason and entry["key"]["thinking"] == "enabled"
        assert "user prompt" not in stored.read_text(encoding="utf-8")  # the prompts are hashed, not stored


CORRUPT = {
    "not json": b"{\"format\": \"arena-tui answer cache 1\", \"text\": \"{\\\"BTC",
    "empty file": b"",
    "not an object": b"[1, 2, 3]",
    "not utf-8": b"\xff\xfe\x00garbage",
    "another key": None,  # a valid entry of another call, under this call's file name
    "no answer": None,  # the right key, an empty answer
    "bad usage": None,  # the right key, a negative token count
}


@pytest.mark.parametrize("how", list(CORRUPT))
async def test_a_corrupt_entry_is_a_miss_and_is_replaced(tmp_path, monkeypatch, how):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    async with FakeLLMServer() as srv:
        agent = llm(srv, tmp_path)
        first, _ = await ask(agent, request())
        (entry,) = list((tmp_path / "answers").rglob("*.json"))
        good = json.loads(entry.read_text(encoding="utf-8"))
        if CORRUPT[how] is not None:
            entry.write_bytes(CORRUPT[how])
        else:
            bad = dict(good)
            if how == "another key":
                bad["key"] = dict(good["key"], user_sha256="0" * 64)
            elif how == "no answer":
                bad["text"] = ""
            else:
                bad["usage"] = dict(good["usage"], output_tokens=-1)
            entry.write_text(json.dumps(bad), encoding="utf-8")
        reply, _ = await ask(agent, request())  # a miss: the model is asked again, nothing raises
        assert not reply.cached and reply.failure is None and reply.text == first.text
        assert len(srv.requests) == 2
        assert json.loads(entry.read_text(encoding="utf-8"))["text"] == first.text  # ... and the entry replaced
        hit, _ = await ask(agent, request())
        assert hit.cached and len(srv.requests) == 2
        assert not [p for p in entry.parent.iterdir() if p.name.startswith(".tmp-")]  # no temporary file left


async def test_failures_are_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    async with FakeLLMServer() as srv:
        agent = llm(srv, tmp_path, model="prose")  # an answer: kept (parsing is the arena's business)
        assert not (await ask(agent, request()))[0].cached
        assert (await ask(agent, request()))[0].cached
        agent = llm(srv, tmp_path, model="empty")  # a failure (an empty answer): asked again every time
        for _ in range(2):
            reply, _ = await ask(agent, request())
            assert reply.failure is not None and reply.failure.kind == "empty" and not reply.cached
        assert sum(r.model == "empty" for r in srv.requests) == 2


async def test_a_cache_that_cannot_be_written_never_stops_an_agent(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    (tmp_path / "answers").write_text("a file where the directory should be", encoding="utf-8")
    async with FakeLLMServer() as srv:
        agent = llm(srv, tmp_path)
        for n in (1, 2):
            reply, _ = await ask(agent, request())
            assert reply.failure is None and not reply.cached and len(srv.requests) == n
    with pytest.raises(ConfigError) as err:
        AnswerCache(tmp_path / "answers").check()
    assert "answer cache directory" in str(err.value) and "answer_cache_dir" in str(err.value) and "\n" not in str(err.value)


def test_the_key_and_the_entry_hold_no_credential(tmp_path):
    secret_url = "https://user:hunter2-very-secret@proxy.example.com/v1?api_key=abcd1234efgh5678&region=eu"
    cfg = LLMAgentConfig(name="GPT", provider="openai-compatible", model="m", base_url=secret_url, api_key_env="ARENA_CACHE_KEY")
    cache = AnswerCache(tmp_path)
    parts = cache.parts(cfg, "s", "u")
    assert "hunter2" not in json.dumps(parts) and "abcd1234efgh5678" not in json.dumps(parts)
    assert parts["base_url"].startswith("https://REDACTED:REDACTED@proxy.example.com/v1?api_key=REDACTED")
    from arena_tui.engine.agents.base import AgentReply

    assert cache.put(cfg, "s", "u", AgentReply(text="{}", reasoning="r"))
    (entry,) = list(tmp_path.rglob("*.json"))
    text = entry.read_text(encoding="utf-8")
    assert "hunter2" not in text and "abcd1234efgh5678" not in text and "ARENA_CACHE_KEY" not in text
    assert cache.get(cfg, "s", "u") is not None


def test_the_default_directory_is_the_user_cache_directory():
    import platformdirs

    assert default_cache_dir() == __import__("pathlib").Path(platformdirs.user_cache_dir("arena-tui", appauthor=False)) / "answers"


# --- configuration: opt-in, recorded only ----------------------------------------------------------


def test_a_live_config_with_the_cache_on_is_refused(tmp_path):
    (tmp_path / "arena.toml").write_text('[market]\nsource = "live"\n\n[arena]\nanswer_cache = true\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path / "arena.toml"), environ={}, cwd=tmp_path)
    msg = str(err.value)
    assert "arena.answer_cache works on the recorded market only" in msg and str(tmp_path / "arena.toml") in msg
    assert "\n" not in msg and msg.count(". ") == 0
    # the command line: --answer-cache with --source live
    from arena_tui.cli import build_parser, overrides_from

    args = build_parser().parse_args(["--answer-cache", "--source", "live"])
    with pytest.raises(ConfigError, match=r"^--answer-cache \(arena.answer_cache\) works on the recorded market only"):
        load_config(None, environ={}, cwd=tmp_path / "nowhere", overrides=overrides_from(args))
    # and the session refuses it too, should a config slip through
    with pytest.raises(ConfigError, match="recorded market only"):
        attach_answer_cache(Config(), [], "live")


def test_the_flag_and_the_config_turn_the_cache_on(tmp_path):
    from arena_tui.cli import build_parser, overrides_from

    (tmp_path / "nowhere").mkdir()
    off = load_config(None, environ={}, cwd=tmp_path / "nowhere")
    assert off.arena.answer_cache is False and off.arena.answer_cache_dir == ""
    on = load_config(None, environ={}, cwd=tmp_path / "nowhere", overrides=overrides_from(build_parser().parse_args(["--answer-cache"])))
    assert on.arena.answer_cache is True and on.arena.answer_cache_dir == ""
    there = overrides_from(build_parser().parse_args(["--answer-cache", str(tmp_path / "c")]))
    cfg = load_config(None, environ={}, cwd=tmp_path / "nowhere", overrides=there)
    assert cfg.arena.answer_cache is True and cfg.arena.answer_cache_dir == str(tmp_path / "c")
    assert overrides_from(build_parser().parse_args([]))["arena"] == {}


async def test_no_cache_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CACHE_KEY", KEY)
    async with FakeLLMServer() as srv:
        toml = agents_toml(srv, tmp_path / "answers").replace("answer_cache = true", "answer_cache = false")
        cfg = config_of(tmp_path, toml)
        session, _ = await run_once(cfg, tmp_path / "a.jsonl", 1)
        await run_once(cfg, tmp_path / "b.jsonl", 1)
        assert session.answer_cache is None and len(srv.requests) == 4
    assert not (tmp_path / "answers").exists()


def test_the_answer_cache_entry_is_written_atomically(tmp_path, monkeypatch):
    """``put`` writes a temporary file and renames it over the entry: a reader sees the old entry or
    the new one, never half of one; a write that fails leaves no temporary file."""
    from arena_tui.engine.agents.base import AgentReply

    cfg = LLMAgentConfig(name="GPT", provider="openai", model="m")
    cache = AnswerCache(tmp_path)
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((os.path.basename(src), os.path.basename(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    assert cache.put(cfg, "s", "u", AgentReply(text="one"))
    (src, dst), = replaced
    assert src.startswith(".tmp-") and dst == cache.path(cache.key(cache.parts(cfg, "s", "u"), "m")).name

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    assert not cache.put(cfg, "s", "u", AgentReply(text="two"))
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [dst]
    assert cache.get(cfg, "s", "u").text == "one"
