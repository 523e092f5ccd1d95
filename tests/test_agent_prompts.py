"""Per-agent prompt templates (``[[agents]] system_prompt`` / ``user_prompt``): one model, two prompts,
side by side. Through the real openai SDK client against the local fake LLM server (which records
every request's body): each agent is sent its own prompt, the journal header records which templates
each used (a label and the templates' SHA-256, never their text), the leaderboards show the label only
when the agents' templates differ, a bad template is one sentence naming the agent and the key, and
the journal still verifies by re-execution."""

from __future__ import annotations

import asyncio
import io
import json
from importlib import resources

import pytest
from rich.console import Console

from arena_tui.config import load_config
from arena_tui.engine import events as ev
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.prompt import BUNDLED_LABEL, AgentPrompts, PromptTemplates, prompt_labels
from arena_tui.engine.scheduler import ArenaSession, load_templates
from arena_tui.engine.verify import reexecute
from arena_tui.headless import leaderboard_table
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-" + "prompts-0123456789abcdef"  # fake; split so secret scanners do not flag it
START = {"market": {"start": "2025-10-28T06:15:00Z"}}
TERSE = "STYLE NOTE: be terse, one line of reasoning per coin."


def bundled(name: str) -> str:
    return (resources.files("arena_tui.engine") / "templates" / name).read_text(encoding="utf-8")


def write_templates(tmp_path):
    """terse.md: the bundled user template with a style note; loud.md: another one."""
    (tmp_path / "terse.md").write_text(bundled("user.md") + "\n" + TERSE + "\n", encoding="utf-8")
    (tmp_path / "loud.md").write_text(bundled("user.md") + "\nSTYLE NOTE: explain everything.\n", encoding="utf-8")


def agents_toml(base_url: str, a_extra: str = "", b_extra: str = "", model: str = "normal") -> str:
    return f"""
[[agents]]
name = "Plain"
kind = "openai-compatible"
model = "{model}"
base_url = "{base_url}"
api_key_env = "ARENA_PR_KEY"
retries = 0
timeout_s = 20
{a_extra}

[[agents]]
name = "Terse"
kind = "openai-compatible"
model = "{model}"
base_url = "{base_url}"
api_key_env = "ARENA_PR_KEY"
retries = 0
timeout_s = 20
{b_extra}

[[agents]]
name = "Trend"
kind = "baseline"
strategy = "trend_follower"
"""


def config_of(tmp_path, toml: str):
    (tmp_path / "arena.toml").write_text(toml, encoding="utf-8")
    return load_config(str(tmp_path / "arena.toml"), environ={}, cwd=tmp_path, overrides=START)


async def run_session(cfg, path, cycles: int = 2) -> tuple[ArenaSession, list[ev.Event]]:
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=path, max_cycles=cycles, pace=0)
    seen: list[ev.Event] = []
    await session.run(seen.append)
    return session, seen


def rendered(table) -> str:
    console = Console(width=200, file=io.StringIO(), color_system=None, record=True)
    console.print(table)
    return console.export_text()


async def test_one_model_two_user_templates_gets_two_prompts_side_by_side(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_PR_KEY", KEY)
    write_templates(tmp_path)
    path = tmp_path / "two-prompts.jsonl"
    async with FakeLLMServer() as srv:
        cfg = config_of(tmp_path, agents_toml(srv.openai_base_url, b_extra=f'user_prompt = "{tmp_path / "terse.md"}"'))
        session, seen = await run_session(cfg, path)
        bodies = [r.body for r in srv.requests]
    # the same model was asked 4 times (2 agents x 2 cycles): each agent with its own user prompt
    assert len(bodies) == 4 and {b["model"] for b in bodies} == {"normal"}
    users = [b["messages"][1]["content"] for b in bodies]
    systems = {b["messages"][0]["content"] for b in bodies}
    assert sum(TERSE in u for u in users) == 2 and sum(TERSE not in u for u in users) == 2
    assert len(systems) == 1  # the system template is the session's for both
    assert all("HERE IS YOUR ACCOUNT INFORMATION" in u for u in users)  # the bundled layout, plus the note
    assert len([e for e in seen if isinstance(e, ev.DecisionParsed)]) == 6  # both models answered, and the baseline
    # the header records each prompted agent's templates: a label and the SHA-256, never the text
    header = read_journal(path).header
    agents = {a["name"]: a for a in header.agents}
    bundled_digest = PromptTemplates.load().digest
    assert agents["Plain"]["prompt"] == BUNDLED_LABEL and agents["Plain"]["prompt_sha256"] == bundled_digest
    assert agents["Terse"]["prompt"] == "terse" and agents["Terse"]["prompt_sha256"] == PromptTemplates.load(None, tmp_path / "terse.md").digest
    assert agents["Terse"]["prompt_sha256"] != bundled_digest
    assert "prompt" not in agents["Trend"]  # a rule-based agent reads no prompt
    assert TERSE not in json.dumps(header.to_json())  # the template's text is not in the header (its path is, in the config)
    assert header.config["agents"][1]["user_prompt"] == str(tmp_path / "terse.md")
    # the headless leaderboard shows which templates each agent used
    text = rendered(leaderboard_table(session.state.standings(), "Leaderboard", session.state))
    assert "prompt" in text
    line = {name: next(ln for ln in text.splitlines() if f" {name} " in ln) for name in ("Plain", "Terse")}
    assert "terse" in line["Terse"] and BUNDLED_LABEL in line["Plain"]
    # and the journal verifies by re-execution (the answers are its primary inputs)
    result = await reexecute(path)
    assert result.difference is None and result.cycles == 2
    assert prompt_labels(result.header.agents) == {"Plain": BUNDLED_LABEL, "Terse": "terse"}


async def test_the_console_leaderboard_shows_the_template_labels(tmp_path, monkeypatch):
    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app
    from arena_tui.tui.widgets.leaderboard import Leaderboard

    monkeypatch.setenv("ARENA_PR_KEY", KEY)
    write_templates(tmp_path)
    path = tmp_path / "tui.jsonl"
    async with FakeLLMServer() as srv:
        cfg = config_of(tmp_path, agents_toml(srv.openai_base_url, b_extra=f'user_prompt = "{tmp_path / "terse.md"}"'))
        await run_session(cfg, path, cycles=1)
    app = make_app(ReplaySession.from_journal(path, speed=10_000.0), clock=lambda: 1763640000.0)
    async with app.run_test(size=(160, 40)) as pilot:
        board = app.console_screen.query_one(Leaderboard)

        def labelled() -> bool:
            keys = [k.value for k in board.rows]
            return "Terse" in keys and "terse" in board.get_cell("Terse", "agent").plain

        for _ in range(2000):
            if labelled():
                break
            await asyncio.sleep(0.01)
        assert labelled(), "the leaderboard never showed the template label"
        await pilot.pause()
        assert board.get_cell("Terse", "agent").plain.strip().endswith("Terse · terse")
        assert board.get_cell("Plain", "agent").plain.strip().endswith(f"Plain · {BUNDLED_LABEL}")
        assert "·" not in board.get_cell("Trend", "agent").plain  # no prompt, no label


def test_the_labels_show_only_when_the_templates_differ(tmp_path):
    write_templates(tmp_path)
    bundled_ = PromptTemplates.load().header_fields()
    terse = PromptTemplates.load(None, tmp_path / "terse.md").header_fields()
    same = [{"name": "A", **bundled_}, {"name": "B", **bundled_}, {"name": "Trend", "kind": "rule-based"}]
    assert prompt_labels(same) == {}  # the default screen is unchanged
    assert prompt_labels([{"name": "A", "kind": "llm", "model": "m"}]) == {}  # a journal of before: no labels
    assert prompt_labels([{"name": "A", **bundled_}, {"name": "B", **terse}]) == {"A": BUNDLED_LABEL, "B": "terse"}
    # two different files of the same stem are told apart by their digest
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "terse.md").write_text(bundled("user.md") + "\nanother note\n", encoding="utf-8")
    other = PromptTemplates.load(None, tmp_path / "other" / "terse.md").header_fields()
    labels = prompt_labels([{"name": "A", **terse}, {"name": "B", **other}])
    assert labels["A"].startswith("terse#") and labels["B"].startswith("terse#") and labels["A"] != labels["B"]
    # the headless table has no prompt column when they are the same
    from arena_tui.engine.state import ArenaState

    header = ev.SessionStarted(0, 0, "s", "recorded", "src", ("BTC",), tuple(same[:2]), 10_000.0, 300_000)
    state = ArenaState(header)
    assert "prompt" not in rendered(leaderboard_table(state.standings(), "Leaderboard", state))


def test_a_system_and_a_user_template_of_an_agent_and_the_session_default(tmp_path):
    write_templates(tmp_path)
    (tmp_path / "sys.md").write_text(bundled("system.md") + "\nBe careful.\n", encoding="utf-8")
    cfg = config_of(tmp_path, agents_toml("http://127.0.0.1:9/v1", a_extra=f'system_prompt = "{tmp_path / "sys.md"}"',
                                          b_extra=f'user_prompt = "{tmp_path / "terse.md"}"'))
    from arena_tui.engine.prompt import templates_for

    tpl = load_templates(cfg, build_agents(cfg))
    assert isinstance(tpl, AgentPrompts)
    assert templates_for(tpl, "Plain").label == "sys" and "Be careful." in templates_for(tpl, "Plain").system.template
    assert templates_for(tpl, "Terse").label == "terse" and "Be careful." not in templates_for(tpl, "Terse").system.template
    assert templates_for(tpl, "Trend") is tpl.default and tpl.default.label == BUNDLED_LABEL
    # with no agent of its own, the session keeps one set of templates (as before)
    plain = config_of(tmp_path, agents_toml("http://127.0.0.1:9/v1"))
    assert isinstance(load_templates(plain, build_agents(plain)), PromptTemplates)


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ('user_prompt = "{d}/missing.md"', "prompt template {d}/missing.md cannot be read (it does not exist): fix agent 'Terse' user_prompt"),
        ('system_prompt = "{d}"', "prompt template {d} cannot be read (it is a directory): fix agent 'Terse' system_prompt"),
        ('user_prompt = "{d}/bad.md"', "prompt template {d}/bad.md (agent 'Terse' user_prompt) uses unknown field $nope"),
        ('user_prompt = "{d}/dollar.md"', "prompt template {d}/dollar.md (agent 'Terse' user_prompt) has a '$' that is not a field"),
    ],
)
async def test_a_bad_agent_template_is_one_sentence_naming_the_agent_and_key(tmp_path, extra, fragment):
    (tmp_path / "bad.md").write_text("Account: $account_value and $nope\n", encoding="utf-8")
    (tmp_path / "dollar.md").write_text("It costs $ 5\n", encoding="utf-8")
    cfg = config_of(tmp_path, agents_toml("http://127.0.0.1:9/v1", b_extra=extra.format(d=tmp_path)))
    with pytest.raises(ConfigError) as err:
        ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal=False)
    msg = str(err.value)
    assert fragment.format(d=tmp_path) in msg, msg
    assert "\n" not in msg and msg.endswith(".")


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ('[[agents]]\nname = "Trend"\nkind = "baseline"\nstrategy = "trend_follower"\nuser_prompt = "x.md"\n',
         "agents[0] ('Trend'): user_prompt applies to model agents only (a baseline reads no prompt); remove it."),
        ('[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\n\n[agents.fallback]\nkind = "openai"\nmodel = "gpt-5-mini"\nsystem_prompt = "x.md"\n',
         "agents[0].fallback ('gpt-5-mini'): system_prompt cannot be set here, as it answers the agent's own prompt; set system_prompt on the agent itself."),
        ('[[agents]]\nname = "S"\nkind = "swarm"\n[[agents.members]]\nkind = "openai"\nmodel = "a"\nuser_prompt = "x.md"\n'
         '[[agents.members]]\nkind = "openai"\nmodel = "b"\n',
         "agents[0].members[0] ('a'): user_prompt cannot be set here"),
    ],
)
def test_templates_where_no_prompt_is_read_are_refused(tmp_path, toml, fragment):
    with pytest.raises(ConfigError) as err:
        config_of(tmp_path, toml)
    assert fragment in str(err.value) and "\n" not in str(err.value)


async def test_a_resumed_session_warns_when_a_template_changed(tmp_path, monkeypatch):
    """The header's digest tells a resumed session that an agent's template is not what it was."""
    import argparse

    from arena_tui.cli import make_session

    monkeypatch.setenv("ARENA_PR_KEY", KEY)
    write_templates(tmp_path)
    path = tmp_path / "resume.jsonl"
    async with FakeLLMServer() as srv:
        toml = agents_toml(srv.openai_base_url, b_extra=f'user_prompt = "{tmp_path / "terse.md"}"')
        cfg = config_of(tmp_path, toml)
        await run_session(cfg, path, cycles=1)
        (tmp_path / "terse.md").write_text(bundled("user.md") + "\nSTYLE NOTE: changed.\n", encoding="utf-8")
        args = argparse.Namespace(resume=str(path), resume_unverified=False, journal=None, config=str(tmp_path / "arena.toml"),
                                  cycles=1, speed=None, name=None, start=None, coins=None, source=None, exchange=None, theme=None)
        session, _ = await asyncio.to_thread(make_session, args, headless=True)
        seen: list[ev.Event] = []
        await session.run(seen.append)
    notes = [e.text for e in seen if isinstance(e, ev.Notice) and e.level == "warning"]
    assert any("The prompt templates of Terse changed since the session started" in n for n in notes), notes
    assert (await reexecute(path)).difference is None
