"""The starter config (``arena-tui --init-config``) is generated from the config dataclasses: every
option appears with a comment, values are written by tomli-w, and the file loads back to the
defaults and the example agents."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types

import pytest
import tomli_w

import arena_tui.config as config
from arena_tui.config import (
    SECTIONS,
    STARTER,
    STARTER_NOTES,
    STARTER_UNSET_EXAMPLES,
    AgentConfig,
    ConfigError,
    RiskConfig,
    load_config,
    starter_config_text,
    starter_undocumented,
    write_starter_config,
)

ALL = {**SECTIONS, "agents": AgentConfig}
EXAMPLES = [
    ("GPT-5.5", "openai"),
    ("Claude Sonnet 4.6", "anthropic"),
    ("Qwen3 (local, Ollama)", "openai-compatible"),
    ("Trend (rule-based)", "baseline"),
    ("RSI revert (rule-based)", "baseline"),
    ("BTC hold (rule-based)", "baseline"),
    ("Flat (rule-based)", "baseline"),
]


def _blocks(text: str) -> dict[str, str]:
    """The text under each table header ([market], ...; every [[agents]], commented or not, joins ``agents``)."""
    blocks: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        m = re.fullmatch(r"(?:# )?\[\[?([a-z]+)\]\]?", line.split("  ")[0].strip())
        if m:
            current = m.group(1)
            continue
        blocks[current] = blocks.get(current, "") + line + "\n"
    return blocks


def test_every_field_of_every_section_and_agent_appears():
    blocks = _blocks(starter_config_text())
    for section, cls in ALL.items():
        for f in dataclasses.fields(cls):
            # a table-valued field (an agent's fallback) is a sub-table: [agents.fallback]
            shown = rf"^(# )?{f.name} = "
            if f.name == "fallback":  # a table-valued field is a sub-table: [agents.fallback]
                shown = rf"^(# )?\[{section}\.{f.name}\]"
            elif f.name == "account":  # ... and so is an agent's starting account: [agents.account]
                shown = rf"^(# )?\[{section}\.{f.name}\]"
            elif f.name == "members":  # ... or an array of them: [[agents.members]] (a swarm's)
                shown = rf"^(# )?\[\[{section}\.{f.name}\]\]"
            assert re.search(shown, blocks[section], re.M), f"{section}.{f.name} is missing from the starter config"


def test_the_written_file_loads_back_to_the_defaults_and_the_examples(tmp_path):
    path = write_starter_config(tmp_path / "arena.toml")
    assert path.read_text(encoding="utf-8") == STARTER == starter_config_text()
    cfg = load_config(str(path), environ={})
    for section, cls in SECTIONS.items():
        assert getattr(cfg, section) == cls(), section
    assert [(a.name, a.kind) for a in cfg.agents] == EXAMPLES
    assert cfg.agents[3:] == config.default_baselines()
    gpt = cfg.agents[0]
    assert gpt.model == "gpt-5.5" and gpt.api_key_env == "OPENAI_API_KEY" and gpt.temperature is None
    assert (gpt.reasoning_effort, gpt.reasoning_summary) == ("medium", "auto")  # a Responses-API reasoning model
    claude = cfg.agents[1]
    assert (claude.thinking, claude.reasoning_effort, claude.thinking_budget) == ("adaptive", "medium", 0)
    assert cfg.agents[2].base_url == "http://127.0.0.1:11434/v1"


def test_the_commented_manual_budget_is_refused_with_adaptive_thinking_in_one_sentence(tmp_path):
    """Uncommenting ``thinking_budget`` beside ``thinking = "adaptive"`` says what to do."""
    path = tmp_path / "arena.toml"
    path.write_text(STARTER.replace("# thinking_budget = ", "thinking_budget = "), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\('Claude Sonnet 4.6'\): thinking_budget applies to thinking = \"enabled\" only"):
        load_config(str(path), environ={})


def test_the_file_ends_with_one_newline():
    assert STARTER.endswith("\n") and not STARTER.endswith("\n\n")
    assert "\r" not in STARTER and "\t" not in STARTER


def test_the_commented_out_lines_load_when_uncommented(tmp_path):
    """``# temperature = 0.7`` and the commented ``recorded`` example are valid once uncommented."""
    text = STARTER.replace("# temperature = ", "temperature = ").replace("# thinking_display = ", "thinking_display = ")
    text = text.replace("# price_cached_input_per_mtok = ", "price_cached_input_per_mtok = ")
    text = re.sub(r"^# (\[\[agents\]\]|name|kind|path) ", r"\1 ", text, flags=re.M)
    text = text.replace("# [[agents]]", "[[agents]]")
    text = re.sub(r"^# (\[agents.fallback\]|strategy) ", r"\1 ", text, flags=re.M)  # the fallback sub-table
    text = re.sub(r"^# (\[\[agents.members\]\]|vote|quorum|model) ", r"\1 ", text, flags=re.M)  # the swarm example
    text = text.replace("# [[agents.members]]", "[[agents.members]]")
    path = tmp_path / "arena.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(str(path), environ={})
    assert cfg.agents[0].temperature == 0.7 and cfg.agents[0].price_cached_input_per_mtok == 0.125
    assert cfg.agents[1].thinking_display == "summarized"
    assert (cfg.agents[-2].kind, cfg.agents[-2].path) == ("recorded", "responses.jsonl")
    assert (cfg.agents[0].fallback.kind, cfg.agents[0].fallback.strategy) == ("baseline", "trend_follower")
    swarm = cfg.agents[-1]
    assert (swarm.kind, swarm.vote, swarm.quorum) == ("swarm", "majority", 2)
    assert [(m.name, m.kind) for m in swarm.members] == [("gpt-5.5", "openai"), ("claude-sonnet-4-6", "anthropic"), ("trend_follower", "baseline")]
    assert len(cfg.agents) == len(EXAMPLES) + 2


def test_every_value_is_written_by_tomli_w():
    data = tomllib.loads(STARTER)
    lines = STARTER.splitlines()
    for section in SECTIONS:
        for key, value in data[section].items():
            written = tomli_w.dumps({key: value}).rstrip("\n")
            if isinstance(value, dict):  # coin = number tables are written inline, as tomli-w writes one in an array
                written = f"{key} = " + tomli_w.dumps({key: [value]}).split("\n")[1].strip().removesuffix(",")
            assert written in STARTER, f"{section}.{key}"
            first = written.split("\n")[0]
            assert any(line == first or line.startswith(first + " ") for line in lines), f"{section}.{key}"
    for agent in data["agents"]:
        for key, value in agent.items():
            first = tomli_w.dumps({key: value}).rstrip("\n")
            assert any(line == first or line.startswith(first + " ") for line in lines), f"agents.{key}"
    # and the commented-out example value too
    for key in ("temperature", "price_cached_input_per_mtok", "price_reasoning_per_mtok"):
        shown = tomli_w.dumps({key: STARTER_UNSET_EXAMPLES["agents", key]}).rstrip("\n")
        assert any(line.startswith("# " + shown + " ") for line in lines), key
    for key, value in config.STARTER_KIND_EXAMPLES.items():  # the anthropic example's manual-thinking keys
        shown = tomli_w.dumps({key: value}).rstrip("\n")
        assert any(line.startswith("# " + shown + " ") for line in lines), key


def test_the_starter_is_produced_through_tomli_w(monkeypatch):
    assert config.tomli_w is tomli_w
    keys: list[str] = []

    def dumps(obj, **kwargs):
        keys.extend(obj)
        return tomli_w.dumps(obj, **kwargs)

    monkeypatch.setattr(config, "tomli_w", types.SimpleNamespace(dumps=dumps))
    assert starter_config_text() == STARTER
    for section, cls in ALL.items():
        for f in dataclasses.fields(cls):
            assert f.name in keys, f"{section}.{f.name} was not written by tomli_w"


def test_every_field_has_a_comment_and_every_comment_a_field():
    assert starter_undocumented() == []
    fields = {(s, f.name) for s, cls in ALL.items() for f in dataclasses.fields(cls)}
    assert set(STARTER_NOTES) == fields, "STARTER_NOTES names a field that does not exist"
    blocks = _blocks(STARTER)
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert STARTER_NOTES[section, f.name] in blocks[section], f"{section}.{f.name}: its comment is not written"
    for f in dataclasses.fields(AgentConfig):
        assert STARTER_NOTES["agents", f.name] in blocks["agents"], f"agents.{f.name}: its comment is not written"


def test_a_new_field_without_a_comment_is_caught():
    Risk = dataclasses.make_dataclass("RiskConfig", [("new_knob", int, dataclasses.field(default=3))], bases=(RiskConfig,), frozen=True)
    Agent = dataclasses.make_dataclass("AgentConfig", [("seed", int, dataclasses.field(default=0))], bases=(AgentConfig,), frozen=True)
    assert starter_undocumented({**SECTIONS, "risk": Risk, "agents": Agent}) == ["risk.new_knob", "agents.seed"]


def test_a_field_defaulting_to_none_has_a_value_to_show():
    """TOML has no null: such a field is shown commented out with an example value."""
    for section, cls in ALL.items():
        for f in dataclasses.fields(cls):
            if f.default is None:
                assert (section, f.name) in STARTER_UNSET_EXAMPLES, f"{section}.{f.name}"


def test_write_starter_config_refuses_to_overwrite(tmp_path):
    path = tmp_path / "sub" / "arena.toml"
    write_starter_config(path)
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="already exists"):
        write_starter_config(path)
    assert path.read_text(encoding="utf-8") == "# mine\n"
