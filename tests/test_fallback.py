"""A primary model with a fallback (``[agents.fallback]``): the real openai and anthropic SDK clients
against the local fake LLM server (tests/fakes/llm_server.py), the primary failing on the wire (a
timeout, HTTP 429 past its retries, an answer in prose that holds no decision), the fallback (a
rule-based baseline or another model) answering instead; the journal says who answered and why, the
fold counts both calls, and re-execution verifies it."""

from __future__ import annotations

import json

import pytest

from arena_tui.config import AgentConfig, config_from_json, load_config
from arena_tui.engine import events as ev
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.factory import build_agent, build_market
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.verify import reexecute
from tests.fakes.llm_server import FakeLLMServer
from tests.journal_dicts import journal_dicts

KEY = "sk-" + "fallback-0123456789abcdef"  # fake; split so secret scanners do not flag it
START = {"market": {"start": "2025-10-28T06:15:00Z"}}


def write_config(tmp_path, agents_toml: str):
    (tmp_path / "arena.toml").write_text(agents_toml, encoding="utf-8")
    return load_config(str(tmp_path / "arena.toml"), environ={}, cwd=tmp_path, overrides=START)


# --- config ---------------------------------------------------------------------------------------


def test_a_fallback_table_reads_back_with_a_default_name(tmp_path):
    cfg = write_config(tmp_path, """
[[agents]]
name = "GPT"
kind = "openai"
model = "gpt-5"

[agents.fallback]
kind = "baseline"
strategy = "trend_follower"

[[agents]]
name = "Claude"
kind = "anthropic"
model = "claude-sonnet-4-6"

[agents.fallback]
kind = "openai-compatible"
model = "qwen3:8b"
base_url = "http://127.0.0.1:11434/v1"
""")
    gpt, claude = cfg.agents
    assert gpt.fallback == AgentConfig(name="trend_follower", kind="baseline", strategy="trend_follower")
    assert claude.fallback.name == "qwen3:8b" and claude.fallback.kind == "openai-compatible"
    assert config_from_json(json.loads(json.dumps(cfg.to_json()))) == cfg  # the journal header round trip


@pytest.mark.parametrize(
    "table,fragment",
    [
        ('kind = "baseline"\nstrategy = "nope"', "agents[0].fallback ('nope'): strategy 'nope' is not one of"),
        ('kind = "openai"', "agents[0].fallback ('fallback'): set model"),
        ('kind = "recorded"\npath = "x.jsonl"', "kind 'recorded' cannot stand in for a model"),
        ('kind = "baseline"\nstrategy = "trend_follower"\ncolour = "red"', "agents[0].fallback: unknown key 'colour'"),
        ('kind = "baseline"\nstrategy = "trend_follower"\n\n[agents.fallback.fallback]\nkind = "baseline"\nstrategy = "flat"',
         "agents[0].fallback has a fallback of its own"),
    ],
)
def test_a_bad_fallback_is_refused_with_one_sentence_naming_it(tmp_path, table, fragment):
    with pytest.raises(ConfigError) as err:
        write_config(tmp_path, f'[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\n\n[agents.fallback]\n{table}\n')
    assert fragment in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_a_fallback_that_is_not_a_table_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"agents\[0\].fallback must be a table"):
        write_config(tmp_path, '[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\nfallback = "trend_follower"\n')


# --- a session ------------------------------------------------------------------------------------

PRIMARY_FAILURES = {
    # name: (the primary's model name on the fake server, its settings, the journaled failure kind)
    "timeout": ("slow:ttft=30", {"timeout_s": 1.0, "retries": 0}, "timeout"),
    "429": ("429:fail=99,retry_after=0.05", {"retries": 1}, "rate_limit"),
    "parse failure": ("prose", {"retries": 0}, "parse"),
}


async def run_one(tmp_path, primary: AgentConfig, *, cycles: int = 2) -> tuple[list[ev.Event], ArenaSession]:
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides=START)
    agent = build_agent(primary, cfg)
    cfg = cfg.__class__(**{**cfg.__dict__, "agents": (primary,)})
    session = ArenaSession(cfg, build_market(cfg), [agent], journal_path=tmp_path / "fb.jsonl", max_cycles=cycles, pace=0)
    seen: list[ev.Event] = []
    await session.run(seen.append)
    return seen, session


@pytest.mark.parametrize("how", list(PRIMARY_FAILURES))
@pytest.mark.parametrize("fallback", ["baseline", "anthropic"])
async def test_the_fallback_answers_when_the_primary_fails(tmp_path, monkeypatch, how, fallback):
    monkeypatch.setenv("ARENA_FB_KEY", KEY)
    model, settings, kind = PRIMARY_FAILURES[how]
    async with FakeLLMServer() as srv:
        if fallback == "baseline":
            fb = AgentConfig(name="trend_follower", kind="baseline", strategy="trend_follower")
        else:
            fb = AgentConfig(name="Claude", kind="anthropic", model="normal:model_id=claude-sonnet-4-5", base_url=srv.anthropic_base_url,
                             api_key_env="ARENA_FB_KEY", retries=0, timeout_s=20, price_input_per_mtok=3.0, price_output_per_mtok=15.0)
        primary = AgentConfig(name="GPT", kind="openai-compatible", model=model, base_url=srv.openai_base_url, api_key_env="ARENA_FB_KEY",
                              price_input_per_mtok=1.25, price_output_per_mtok=10.0, fallback=fb, **settings)
        seen, session = await run_one(tmp_path, primary)
    fell = [e for e in seen if isinstance(e, ev.AgentFellBack)]
    replied = [e for e in seen if isinstance(e, ev.AgentReplied)]
    assert len(fell) == 2 and len(replied) == 2  # each cycle: the primary failed, the fallback answered
    expected_by = "trend_follower" if fallback == "baseline" else "normal:model_id=claude-sonnet-4-5"
    for f, r in zip(fell, replied):
        assert f.agent == r.agent == "GPT" and f.model == model and f.kind == kind and f.fallback == expected_by
        assert f.reason and "\n" not in f.reason
        assert r.answered_by == expected_by and r.failure_kind is None
        assert seen.index(f) < seen.index(r)  # who answered, and why, before the answer
    if how == "parse failure":
        assert fell[0].text.startswith("Looking at the tape") and fell[0].output_tokens > 0 and fell[0].cost_usd > 0
    assert not [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert len([e for e in seen if isinstance(e, ev.DecisionParsed)]) == 2  # the account traded the fallback's answer
    book = session.state.agents["GPT"]
    assert book.fallbacks == 2 and book.last_fallback == fell[-1] and book.consecutive_failures == 0
    assert book.calls == 4  # both models' calls are counted ...
    assert book.cost_usd == pytest.approx(sum(e.cost_usd for e in fell + replied))  # ... and paid for
    if fallback == "anthropic":
        assert replied[0].cost_usd > 0
    r = await reexecute(tmp_path / "fb.jsonl")
    assert r.difference is None and r.cycles == 2, str(r.difference)


async def test_a_primary_that_answers_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_FB_KEY", KEY)
    async with FakeLLMServer() as srv:
        fb = AgentConfig(name="flat", kind="baseline", strategy="always_flat")
        primary = AgentConfig(name="GPT", kind="openai-compatible", model="normal:model_id=deepseek-chat-v3.1", base_url=srv.openai_base_url,
                              api_key_env="ARENA_FB_KEY", retries=0, timeout_s=20, fallback=fb)
        seen, session = await run_one(tmp_path, primary, cycles=1)
    assert not [e for e in seen if isinstance(e, ev.AgentFellBack)]
    (r,) = [e for e in seen if isinstance(e, ev.AgentReplied)]
    assert r.answered_by is None and r.failure_kind is None
    assert session.state.agents["GPT"].fallbacks == 0


async def test_when_both_fail_the_agent_holds_and_the_failure_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_FB_KEY", KEY)
    async with FakeLLMServer() as srv:
        fb = AgentConfig(name="Claude", kind="anthropic", model="500", base_url=srv.anthropic_base_url, api_key_env="ARENA_FB_KEY", retries=0, timeout_s=20)
        primary = AgentConfig(name="GPT", kind="openai-compatible", model="prose", base_url=srv.openai_base_url, api_key_env="ARENA_FB_KEY",
                              retries=0, timeout_s=20, fallback=fb)
        seen, session = await run_one(tmp_path, primary)
    fell = [e for e in seen if isinstance(e, ev.AgentFellBack)]
    failed = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert [f.kind for f in fell] == ["parse", "parse"]
    assert [f.kind for f in failed] == ["server", "server"]  # the fallback's failure is the agent's
    assert not [e for e in seen if isinstance(e, ev.DecisionParsed)]
    assert session.state.agents["GPT"].consecutive_failures == 2
    assert (await reexecute(tmp_path / "fb.jsonl")).difference is None


# --- verification -----------------------------------------------------------------------------------


async def _journal_with_fallbacks(tmp_path, monkeypatch) -> list[str]:
    monkeypatch.setenv("ARENA_FB_KEY", KEY)
    async with FakeLLMServer() as srv:
        fb = AgentConfig(name="trend_follower", kind="baseline", strategy="trend_follower")
        primary = AgentConfig(name="GPT", kind="openai-compatible", model="prose", base_url=srv.openai_base_url, api_key_env="ARENA_FB_KEY",
                              retries=0, timeout_s=20, price_input_per_mtok=1.25, price_output_per_mtok=10.0, fallback=fb)
        await run_one(tmp_path, primary, cycles=3)
    return (tmp_path / "fb.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)


def _edit_whole_lines(lines: list[str], kind: str, change) -> list[str]:
    out, done = [], False
    for raw in lines:
        d = json.loads(raw)
        if not done and d.get("type") == kind:
            change(d)
            raw, done = json.dumps(d) + "\n", True
        out.append(raw)
    assert done, f"no {kind} line"
    return out


@pytest.mark.parametrize(
    "name,change,said",
    [
        ("the primary's cost", lambda d: d.update(cost_usd=d["cost_usd"] + 1.0), "cost_usd"),
        ("an agent without a fallback", lambda d: d.update(agent="Nobody"), "'Nobody' has no fallback"),
    ],
)
async def test_an_edited_fallback_is_caught(tmp_path, monkeypatch, name, change, said):
    lines = await _journal_with_fallbacks(tmp_path, monkeypatch)
    assert (await reexecute(tmp_path / "fb.jsonl")).difference is None
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(_edit_whole_lines(lines, "AgentFellBack", change)), encoding="utf-8")
    diff = (await reexecute(edited)).difference
    assert diff is not None and said in str(diff), f"{name}: {diff}"


async def test_a_fallback_the_header_does_not_configure_is_refused(tmp_path, monkeypatch):
    lines = await _journal_with_fallbacks(tmp_path, monkeypatch)

    def drop_fallback(d: dict) -> None:
        d["config"]["agents"][0]["fallback"] = None

    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(_edit_whole_lines(lines, "SessionStarted", drop_fallback)), encoding="utf-8")
    diff = (await reexecute(edited)).difference
    assert diff is not None and "has no fallback in the header's config" in str(diff), str(diff)


async def test_the_journal_reads_back_whole(tmp_path, monkeypatch):
    await _journal_with_fallbacks(tmp_path, monkeypatch)
    events = journal_dicts(tmp_path / "fb.jsonl")
    fell = [d for d in events if d["type"] == "AgentFellBack"]
    replied = [d for d in events if d["type"] == "AgentReplied"]
    assert len(fell) == 3 and all(d["kind"] == "parse" and d["fallback"] == "trend_follower" for d in fell)
    assert all(d["answered_by"] == "trend_follower" for d in replied)
    assert KEY not in (tmp_path / "fb.jsonl").read_text(encoding="utf-8")


async def test_the_headless_summary_lists_the_fallbacks(tmp_path, monkeypatch):
    from rich.console import Console

    from arena_tui.headless import fallbacks_table

    monkeypatch.setenv("ARENA_FB_KEY", KEY)
    async with FakeLLMServer() as srv:
        fb = AgentConfig(name="trend_follower", kind="baseline", strategy="trend_follower")
        primary = AgentConfig(name="GPT", kind="openai-compatible", model="prose", base_url=srv.openai_base_url, api_key_env="ARENA_FB_KEY",
                              retries=0, timeout_s=20, fallback=fb)
        _, session = await run_one(tmp_path, primary)
    console = Console(width=100, record=True)
    console.print(fallbacks_table(session.state))
    text = console.export_text()
    assert "Fallbacks" in text and "GPT" in text and "parse ×2" in text and "trend_follower" in text


def test_the_readme_example_is_a_config_that_loads(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("[agents.fallback]", 1)[0].rsplit("```toml", 1)[1] + "[agents.fallback]" + readme.split("[agents.fallback]", 1)[1].split("```", 1)[0]
    block = "\n".join(line.strip() for line in block.splitlines())
    cfg = write_config(tmp_path, block)
    (gpt,) = cfg.agents
    assert gpt.fallback is not None and gpt.fallback.kind == "baseline" and gpt.fallback.strategy == "trend_follower"


async def test_the_pane_says_who_answered_and_why(tmp_path, monkeypatch):
    """Replayed on the console: the primary's answer is folded as not used, a line names the failed
    model, why, and the fallback that answers; the subtitle keeps 'answered by' until the agent's own
    model answers again."""
    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app

    await _journal_with_fallbacks(tmp_path, monkeypatch)
    session = ReplaySession.from_journal(tmp_path / "fb.jsonl", paused=True)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = app.console_screen
        await app.events_rendered()
        await pilot.press("end")
        await pilot.pause()
        await app.events_rendered()
        pane = screen.panes["GPT"]
        shown = pane.text("fallback")
        assert "↪ prose failed (parse): could not read prose's answer" in shown and "trend_follower answers" in shown
        from tests.fakes.llm_server import PROSE_TEXT

        folds = [f.text for f in pane.folds]
        assert f"answer · not used (parse) · {len(PROSE_TEXT):,} chars" in folds  # the primary's answer alone
        assert all(f.endswith(f"{len(PROSE_TEXT):,} chars") == ("not used" in f) for f in folds)
        assert "↪ answered by trend_follower (parse)" in str(pane.border_subtitle)


class _Gated:
    """An in-process agent that answers like ``inner`` once ``gate`` is set (or fails at once)."""

    def __init__(self, name: str, model: str, inner=None, gate=None, fail: bool = False) -> None:
        self.name, self.kind, self.model = name, "llm", model
        self.inner, self.gate, self.fail = inner, gate, fail

    async def decide(self, request, on_delta):
        from arena_tui.engine.agents.base import AgentFailure, AgentReply

        if self.fail:
            return AgentReply(failure=AgentFailure("server", f"{self.name}: HTTP 503 from the provider."))
        await self.gate.wait()
        on_delta("answer", "thinking it over... ")
        return await self.inner.decide(request, on_delta)


async def test_other_agents_events_between_a_fallback_and_its_answer_still_verify(tmp_path):
    """Live, AgentFellBack is journaled the moment the agent falls back, so another agent's reply and
    fills can come between it and the fallback's answer: the journal must still verify. The order is
    forced by gates, not by timing: the other agent answers once GPT has fallen back, and GPT's
    fallback answers once the other agent has replied."""
    import asyncio

    from arena_tui.engine.agents.baselines import make_baseline
    from arena_tui.engine.agents.fallback import FallbackAgent

    fell, other_replied = asyncio.Event(), asyncio.Event()
    gpt = FallbackAgent(
        _Gated("GPT", "gpt-x", fail=True),
        _Gated("GPT", "trend", make_baseline("trend_follower", "GPT"), other_replied),
        primary_timeout_s=30.0,
        fallback_timeout_s=30.0,
    )
    other = _Gated("Other", "rsi", make_baseline("rsi_mean_reversion", "Other"), fell)
    fb = AgentConfig(name="trend", kind="baseline", strategy="trend_follower")
    configs = (AgentConfig(name="GPT", kind="baseline", strategy="always_flat", fallback=fb),
               AgentConfig(name="Other", kind="baseline", strategy="rsi_mean_reversion"))
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides=START)
    cfg = cfg.__class__(**{**cfg.__dict__, "agents": configs})
    seen: list[ev.Event] = []

    def sink(e: ev.Event) -> None:
        seen.append(e)
        if isinstance(e, ev.AgentFellBack):
            fell.set()
        if isinstance(e, ev.AgentReplied) and e.agent == "Other":
            other_replied.set()
        if isinstance(e, ev.CycleStarted):
            fell.clear()
            other_replied.clear()

    session = ArenaSession(cfg, build_market(cfg), [gpt, other], journal_path=tmp_path / "gated.jsonl", max_cycles=3, pace=0)
    await session.run(sink)
    kinds = [(type(e).__name__, getattr(e, "agent", "")) for e in seen if isinstance(e, (ev.AgentFellBack, ev.AgentReplied))]
    assert kinds == [("AgentFellBack", "GPT"), ("AgentReplied", "Other"), ("AgentReplied", "GPT")] * 3
    gpt_replies = [e for e in seen if isinstance(e, ev.AgentReplied) and e.agent == "GPT"]
    assert all(r.answered_by == "trend" for r in gpt_replies)
    r = await reexecute(tmp_path / "gated.jsonl")
    assert r.difference is None and r.cycles == 3, str(r.difference)
    # and the fallback's text sits after the line that says why, on screen and in the journal
    lines = journal_dicts(tmp_path / "gated.jsonl")
    at = next(i for i, d in enumerate(lines) if d["type"] == "AgentFellBack")
    gpt_text = [i for i, d in enumerate(lines) if d["type"] == "ReasoningDelta" and d["agent"] == "GPT" and d["cycle"] == 1]
    assert gpt_text and min(gpt_text) > at
