"""Credentials in the wrong place never leak: a key in base_url (user-info or query string), a key
pasted into another config field, a key pasted into api_key_env. Canaries are planted in the config,
a session runs (the LLM agent fails: nothing listens on 127.0.0.1:9), and no canary may appear in the
journal, in the AgentFailed reasons, or in what ``arena-tui --headless`` and ``--replay --headless``
print."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arena_tui.config import Config, config_from_json, load_config, redact_text, redact_url, url_secrets
from arena_tui.engine import events as ev
from arena_tui.engine.agents.llm import LLMAgent, LLMAgentConfig
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.scheduler import ArenaSession

# fake credentials, split so secret scanners do not flag this file
PASS = "CANARY" + "PASS"
USER = "CANARY" + "USER"
QUERY = "CANARY" + "QUERYKEY"
MODEL_KEY = "sk-" + "CANARYMODEL0123456789abcdef"
EFFORT_KEY = "sk-ant-" + "CANARYEFFORT0123456789abcdef"
ENV_KEY = "sk-" + "CANARYENV0123456789abcdef"
CANARIES = (PASS, USER, QUERY, MODEL_KEY, EFFORT_KEY, ENV_KEY, "CANARY")
BASE_URL = f"http://{USER}:{PASS}@127.0.0.1:9/v1?api_key={QUERY}"


def _config_text(tmp_path: Path) -> str:
    return f"""
[market]
speed = 0.0

[arena]
sessions_dir = "{tmp_path.as_posix()}/sessions"

[[agents]]
name = "Leaky local"
kind = "openai-compatible"
model = "{MODEL_KEY}"
base_url = "{BASE_URL}"
timeout_s = 2.0
retries = 0

[[agents]]
name = "Leaky GPT"
kind = "openai"
model = "gpt-5"
base_url = "{BASE_URL}"
api_key_env = "ARENA_TEST_LEAKY_KEY"
reasoning_effort = "{EFFORT_KEY}"
timeout_s = 2.0
retries = 0

[[agents]]
name = "Flat"
kind = "baseline"
strategy = "always_flat"
"""


def _no_canary(text: str, where: str) -> None:
    for c in CANARIES:
        assert c not in text, f"{c} leaked into {where}"


def _write_config(tmp_path: Path) -> Path:
    path = tmp_path / "arena.toml"
    path.write_text(_config_text(tmp_path), encoding="utf-8")
    return path


# --- the redaction rules ---------------------------------------------------------------------------


def test_redact_url_hides_user_info_and_credential_parameters():
    assert redact_url(BASE_URL) == "http://REDACTED:REDACTED@127.0.0.1:9/v1?api_key=REDACTED"
    assert redact_url("https://tok@host/v1") == "https://REDACTED@host/v1"
    assert redact_url("https://h/v1?token=a1&x=1&sig=zz#access_token=t") == "https://h/v1?token=REDACTED&x=1&sig=REDACTED#access_token=REDACTED"
    # an ordinary parameter (Azure's api-version) and ordinary URLs stay as they are
    for url in ("https://x.openai.azure.com/openai?api-version=2024-02-01", "http://127.0.0.1:11434/v1", "https://api.deepseek.com"):
        assert redact_url(url) == url
        assert redact_text(url) == url


def test_redact_text_hides_key_like_values_and_leaves_ordinary_ones():
    assert redact_text(MODEL_KEY) == "REDACTED"
    assert redact_text(f"bad model '{EFFORT_KEY}' here") == "bad model 'REDACTED' here"
    assert redact_text("token 0123456789abcdef0123456789abcdef end") == "token REDACTED end"
    for plain in ("gpt-5.5", "claude-sonnet-4-6", "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo", "qwen3:8b", "sessions", "OPENAI_API_KEY",
                  "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "Trend (rule-based)", "2025-10-17T00:00:00Z"):
        assert redact_text(plain) == plain


def test_url_secrets_lists_what_to_scrub():
    assert set(url_secrets(BASE_URL)) >= {USER, PASS, QUERY}
    assert url_secrets("http://127.0.0.1:11434/v1?api-version=3") == []


def test_the_journal_header_config_is_redacted(tmp_path):
    cfg = load_config(str(_write_config(tmp_path)), environ={})
    assert cfg.agents[0].base_url == BASE_URL  # the loaded config keeps the real URL for the SDK
    text = json.dumps(cfg.to_json())
    _no_canary(text, "Config.to_json")
    assert "http://REDACTED:REDACTED@127.0.0.1:9/v1?api_key=REDACTED" in text
    # the redacted header still reads back (a resumed session gets REDACTED in place of the secrets)
    back = config_from_json(json.loads(text))
    assert back.agents[0].model == "REDACTED" and back.agents[2] == cfg.agents[2]


# --- refused at load ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [ENV_KEY, "sk-short", "my key", "OPENAI-API-KEY", "1ABC"])
def test_a_key_pasted_into_api_key_env_is_refused_without_being_echoed(tmp_path, value):
    path = tmp_path / "arena.toml"
    path.write_text(f'[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\napi_key_env = "{value}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    msg = str(info.value)
    assert "api_key_env names the environment variable holding the key, not the key itself" in msg
    assert str(path) in msg and "agents[0].api_key_env" in msg
    assert value not in msg and "\n" not in msg


@pytest.mark.parametrize(
    "text",
    [
        f'[[agents]]\nname = "{MODEL_KEY}"\nkind = "baseline"\nstrategy = "always_flat"\n',
        f'[arena]\nname = "{MODEL_KEY}"\n',
        f'[market]\nspeed = "{MODEL_KEY}"\n',
        f'[[agents]]\nname = "x"\nkind = "{MODEL_KEY}"\n',
        f'[[agents]]\nname = "x"\nkind = "openai"\nmodel = "m"\ntemperature = "{MODEL_KEY}"\n',
    ],
)
def test_error_sentences_never_echo_a_key(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    msg = str(info.value)
    assert MODEL_KEY not in msg and str(path) in msg


# --- the LLM agent: failure reasons scrubbed, the SDK gets the real URL -----------------------------------


def _agent(**kw) -> LLMAgent:
    return LLMAgent(LLMAgentConfig(name="Local", provider="openai-compatible", model=MODEL_KEY, base_url=BASE_URL, **kw))


def test_failure_text_echoing_the_url_or_its_parts_is_scrubbed():
    agent = _agent()
    echoed = (
        f"Local: server said: POST {BASE_URL}/chat/completions failed for user {USER} with password {PASS}, "
        f"query api_key={QUERY}, model {MODEL_KEY}; Authorization: Bearer {ENV_KEY}; holding."
    )
    out = agent._scrub(echoed, ENV_KEY)
    _no_canary(out, "a scrubbed failure reason")
    assert "127.0.0.1:9" in out
    assert agent.model == "REDACTED" and MODEL_KEY not in repr(agent)


async def test_the_sdk_client_gets_the_real_url_and_key():
    agent = _agent()
    seen = {}

    class FakeClient:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        async def close(self):
            pass

    await agent._client(FakeClient, ENV_KEY)
    assert seen["base_url"] == BASE_URL and seen["api_key"] == ENV_KEY
    await agent.aclose()


# --- whole sessions: in process, and through the command line ---------------------------------------------


async def test_a_session_never_journals_or_reports_a_canary(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_TEST_LEAKY_KEY", ENV_KEY)
    cfg = load_config(str(_write_config(tmp_path)), environ=dict(os.environ))
    journal = tmp_path / "s.jsonl"
    session = ArenaSession(cfg, build_market(cfg), build_agents(cfg), journal_path=journal, max_cycles=2, pace=0)
    seen: list[ev.Event] = []
    await asyncio.wait_for(session.run(seen.append), 120)
    _no_canary(journal.read_text(encoding="utf-8"), "the journal")
    fails = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert {e.agent for e in fails} >= {"Leaky local", "Leaky GPT"}
    for e in fails:
        _no_canary(e.reason, "an AgentFailed reason")
    _no_canary(repr(seen), "the events")


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY"):
        env.pop(k, None)
    env.update(ARENA_TEST_LEAKY_KEY=ENV_KEY, XDG_CONFIG_HOME=str(cwd / "xdg-config"), PYTHONUNBUFFERED="1", COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "arena_tui", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_command_line_never_prints_a_canary(tmp_path):
    config = _write_config(tmp_path)
    journal = tmp_path / "j.jsonl"
    run = _cli(["--config", str(config), "--headless", "--cycles", "2", "--journal", str(journal)], tmp_path)
    assert run.returncode == 0, run.stderr
    _no_canary(run.stdout + run.stderr, "arena-tui --headless output")
    _no_canary(journal.read_text(encoding="utf-8"), "the journal")
    replay = _cli(["--replay", str(journal), "--headless"], tmp_path)
    assert replay.returncode == 0, replay.stderr
    _no_canary(replay.stdout + replay.stderr, "arena-tui --replay --headless output")


def test_a_key_in_api_key_env_stops_the_command_line_with_one_sentence(tmp_path):
    config = tmp_path / "arena.toml"
    config.write_text(f'[[agents]]\nname = "GPT"\nkind = "openai"\nmodel = "gpt-5"\napi_key_env = "{ENV_KEY}"\n')
    run = _cli(["--config", str(config), "--headless", "--cycles", "1"], tmp_path)
    assert run.returncode == 2
    _no_canary(run.stdout + run.stderr, "the error")
    assert "not the key itself" in run.stderr and "Traceback" not in run.stderr


def test_config_to_json_of_an_ordinary_config_is_unchanged():
    cfg = Config()
    assert config_from_json(cfg.to_json()) == cfg


def test_a_session_whose_base_url_held_credentials_resumes_with_its_config_file(tmp_path):
    """The journal holds ``REDACTED`` in place of the URL's user-info; ``--resume`` takes the real
    value back from ``--config`` (the same agent, whose URL redacts to the recorded one), and without
    that file says so in one sentence."""
    import base64

    from tests.fakes.llm_server import FakeLLMServerThread

    with FakeLLMServerThread() as srv:
        url = srv.openai_base_url.replace("http://", f"http://{USER}:{PASS}@")
        config = tmp_path / "arena.toml"
        config.write_text(
            f'[market]\nspeed = 0.0\ncoins = ["BTC"]\n[[agents]]\nname = "Proxy"\nkind = "openai-compatible"\nmodel = "normal"\n'
            f'base_url = "{url}"\nretries = 0\n[[agents]]\nname = "Flat"\nkind = "baseline"\nstrategy = "always_flat"\n',
            encoding="utf-8",
        )
        journal = tmp_path / "j.jsonl"
        first = _cli(["--config", str(config), "--headless", "--cycles", "1", "--journal", str(journal)], tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        _no_canary(journal.read_text(encoding="utf-8"), "the journal")
        sent = len(srv.requests)
        assert sent == 1

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        refused = _cli(["--resume", str(journal), "--headless", "--cycles", "1"], elsewhere)
        assert refused.returncode == 2
        assert "agent 'Proxy' has a base_url whose credentials were not journaled" in refused.stderr
        assert "pass --config" in refused.stderr and "Traceback" not in refused.stderr
        _no_canary(refused.stdout + refused.stderr, "the refusal")
        assert len(srv.requests) == sent  # nothing was sent with the redacted URL

        resumed = _cli(["--resume", str(journal), "--headless", "--cycles", "1", "--config", str(config)], tmp_path)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        _no_canary(resumed.stdout + resumed.stderr + journal.read_text(encoding="utf-8"), "the resumed run")
        basic = "Basic " + base64.b64encode(f"{USER}:{PASS}".encode()).decode()
        assert [r.headers.get("authorization") for r in srv.requests[sent:]] == [basic]  # the real credentials


def test_resume_restores_credentials_of_a_fallback_and_of_swarm_members(tmp_path):
    """The header redacts every agent entry, nested ones too; ``restore_redacted`` takes each back from
    the config file: the fallback's from the agent's fallback, a member's from the member of that name."""
    from arena_tui.config import restore_redacted

    path = tmp_path / "arena.toml"
    path.write_text(
        "[[agents]]\nname = \"Main\"\nkind = \"openai\"\nmodel = \"gpt-5\"\n"
        "[agents.fallback]\nname = \"Local\"\nkind = \"openai-compatible\"\nmodel = \"qwen3:8b\"\n"
        f"base_url = \"{BASE_URL}\"\n"
        "[[agents]]\nname = \"Swarm\"\nkind = \"swarm\"\n"
        "[[agents.members]]\nname = \"a\"\nkind = \"openai-compatible\"\nmodel = \"qwen3:8b\"\n"
        f"base_url = \"{BASE_URL}\"\n"
        "[[agents.members]]\nname = \"b\"\nkind = \"baseline\"\nstrategy = \"trend_follower\"\n",
        encoding="utf-8",
    )
    cfg = load_config(str(path), environ={})
    text = json.dumps(cfg.to_json())
    _no_canary(text, "Config.to_json")
    recorded = config_from_json(json.loads(text))
    assert recorded.agents[0].fallback.base_url != BASE_URL and recorded.agents[1].members[0].base_url != BASE_URL
    back = restore_redacted(recorded, cfg, "s.jsonl")
    assert back.agents[0].fallback.base_url == BASE_URL
    assert back.agents[1].members[0].base_url == BASE_URL and back.agents[1].members[1] == cfg.agents[1].members[1]
    assert back == cfg
    with pytest.raises(ConfigError) as info:
        restore_redacted(recorded, None, "s.jsonl")
    msg = str(info.value)
    assert "the fallback of agent 'Main'" in msg and "--config" in msg
    _no_canary(msg, "the error")
    other = dataclasses.replace(cfg, agents=(cfg.agents[0], dataclasses.replace(cfg.agents[1], members=cfg.agents[1].members[1:])))
    with pytest.raises(ConfigError, match="member 'a' of agent 'Swarm'"):
        restore_redacted(recorded, other, "s.jsonl")


# --- keys in unusual places, echoes of basic auth, and server messages of any size ------------------------


def test_a_key_value_anywhere_in_the_config_is_redacted_by_value_and_a_resume_takes_it_back(tmp_path, monkeypatch):
    """A key that is not shaped like one (no sk- prefix, short of 32 characters) in a base_url's path:
    the header redacts it because it is the value of the agent's key variable, and ``--resume`` takes
    the real URL back from the config file (the same key in the environment redacts it the same way)."""
    key = "oc" + "PATHSECRET" + "5555"
    monkeypatch.setenv("ARENA_TEST_PATH_KEY", key)
    path = tmp_path / "arena.toml"
    path.write_text(
        f'[[agents]]\nname = "Proxy"\nkind = "openai-compatible"\nmodel = "m"\n'
        f'base_url = "http://127.0.0.1:9/v1/{key}/v1"\napi_key_env = "ARENA_TEST_PATH_KEY"\n',
        encoding="utf-8",
    )
    cfg = load_config(str(path), environ={})
    text = json.dumps(cfg.to_json())
    assert key not in text and "http://127.0.0.1:9/v1/REDACTED/v1" in text
    from arena_tui.config import restore_redacted

    back = restore_redacted(config_from_json(json.loads(text)), cfg)
    assert back.agents[0].base_url == f"http://127.0.0.1:9/v1/{key}/v1"
    # a well-known key variable is redacted by value too, even when no agent names it
    monkeypatch.setenv("OPENAI_API_KEY", "plainword" + "secret99")
    assert redact_text("x plainwordsecret99 y", __import__("arena_tui.config", fromlist=["x"]).environment_secrets()) == "x REDACTED y"


async def test_a_server_echoing_basic_auth_of_the_base_urls_credentials_is_scrubbed(tmp_path, monkeypatch):
    """httpx sends a base_url's ``user:password@`` as ``Authorization: Basic base64(user:password)``;
    a 401 that echoes it must not put that (decodable) token on screen, in the journal or an export."""
    import base64

    from tests.fakes.llm_server import FakeLLMServer

    monkeypatch.setenv("ARENA_TEST_BASIC_KEY", "sk-" + "basic0123456789abcdef")
    async with FakeLLMServer() as srv:
        base = srv.openai_base_url.replace("http://", f"http://{USER}:{PASS}@")
        agent = LLMAgent(LLMAgentConfig(name="Proxy", provider="openai-compatible", model="401", base_url=base,
                                        api_key_env="ARENA_TEST_BASIC_KEY", retries=0, timeout_s=5))
        cfg = load_config(None, environ={}, cwd=tmp_path)
        session = ArenaSession(cfg, build_market(cfg), [agent], journal_path=tmp_path / "basic.jsonl", max_cycles=1, pace=0)
        seen: list[ev.Event] = []
        await session.run(seen.append)
        sent = [r.headers.get("authorization", "") for r in srv.requests]
    token = base64.b64encode(f"{USER}:{PASS}".encode()).decode()
    reasons = [e.reason for e in seen if isinstance(e, ev.AgentFailed)]
    assert reasons, "the 401 is a failure"
    for text, where in ((" ".join(reasons), "the failure reason"), ((tmp_path / "basic.jsonl").read_text(), "the journal")):
        _no_canary(text, where)
        assert token not in text, f"the basic-auth token leaked into {where}"


def test_scrubbing_a_huge_server_message_takes_linear_time():
    """A server's error message of megabytes (a run of letters after the base_url the reason starts
    with) once made the URL pattern backtrack quadratically: minutes of a frozen arena that no signal
    could stop. The guard here is generous (the work is milliseconds; the old pattern needed hours)."""
    import threading

    agent = _agent()
    done: list[str] = []
    message = f"Local: {BASE_URL} said: " + "A" * 300_000 + f" {ENV_KEY}"
    worker = threading.Thread(target=lambda: done.append(agent._scrub(message, ENV_KEY)), daemon=True)
    worker.start()
    worker.join(60)
    assert done, "scrubbing a 300 kB message did not finish within 60 s"
    assert len(done[0]) <= 400 and "CANARY" not in done[0]
    big = "http://h/ " + "B" * 300_000
    worker = threading.Thread(target=lambda: done.append(redact_text(big)), daemon=True)
    worker.start()
    worker.join(60)
    assert len(done) == 2 and done[1] == big
