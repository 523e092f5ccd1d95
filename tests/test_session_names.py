"""A session the user did not name is named for what ran: its journal's file name and the header say
so (issue 12: every session used to be "demo")."""

from __future__ import annotations


from arena_tui.cli import DEFAULT_SESSION_NAME, build_parser, default_session_name, main, new_session_config
from arena_tui.engine.journal import read_journal

LLMS = """
[[agents]]
name = "GPT"
kind = "openai"
model = "gpt-5.5"

[[agents]]
name = "Claude"
kind = "anthropic"
model = "claude-sonnet-4-6"

[[agents]]
name = "Local"
kind = "openai-compatible"
model = "qwen3:8b"
base_url = "http://127.0.0.1:11434/v1"

[[agents]]
name = "Trend"
kind = "baseline"
strategy = "trend_follower"
"""

BASELINES = """
[[agents]]
name = "Trend"
kind = "baseline"
strategy = "trend_follower"
"""


def config_for(tmp_path, file: str | None, text: str = "", *extra: str):
    argv = list(extra)
    if file is not None:
        (tmp_path / file).write_text(text, encoding="utf-8")
        argv = ["--config", str(tmp_path / file), *argv]
    args = build_parser().parse_args(argv)
    return new_session_config(args)


def test_the_offline_demo_is_still_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert config_for(tmp_path, None).arena.name == DEFAULT_SESSION_NAME


def test_models_name_a_session_from_a_plain_arena_toml(tmp_path):
    assert config_for(tmp_path, "arena.toml", LLMS).arena.name == "gpt-5.5-vs-claude-sonnet-4-6-vs-qwen3-8b"


def test_a_config_file_names_the_session_after_itself(tmp_path):
    assert config_for(tmp_path, "baselines-fast.toml", BASELINES).arena.name == "baselines-fast"


def test_a_live_session_says_so(tmp_path):
    cfg = config_for(tmp_path, "arena.toml", LLMS, "--source", "live")
    assert cfg.arena.name.startswith("live-gpt-5.5-vs-")


def test_a_name_given_is_kept(tmp_path):
    assert config_for(tmp_path, "arena.toml", LLMS, "--name", "mine").arena.name == "mine"
    assert config_for(tmp_path, "arena.toml", LLMS.replace('[[agents]]', '[arena]\nname = "ours"\n\n[[agents]]', 1)).arena.name == "ours"


def test_a_long_or_odd_model_list_stays_a_short_file_safe_name(tmp_path):
    many = "".join(f'\n[[agents]]\nname = "M{i}"\nkind = "openai-compatible"\nmodel = "vendor/very-long-model-name-{i}:latest"\nbase_url = "http://127.0.0.1:1/v1"\n' for i in range(6))
    name = config_for(tmp_path, "arena.toml", many).arena.name
    assert len(name) <= 60 and name.startswith("very-long-model-name-0-latest-vs-") and not set(name) - set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_the_journal_file_and_header_carry_the_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two-trends.toml").write_text(BASELINES + "\n[arena]\nsessions_dir = \"runs\"\n", encoding="utf-8")
    assert main(["--config", "two-trends.toml", "--headless", "--cycles", "1"]) == 0
    (journal,) = (tmp_path / "runs").glob("*.jsonl")
    assert journal.name.endswith("-two-trends.jsonl")
    assert read_journal(journal).header.session == "two-trends"


def test_a_model_id_shaped_like_a_key_never_names_the_session(tmp_path):
    key_like = "sk-" + "proj-AbCdEf0123456789AbCdEf0123456789"
    text = f'[[agents]]\nname = "Leaky"\nkind = "openai"\nmodel = "{key_like}"\n\n[[agents]]\nname = "Claude"\nkind = "anthropic"\nmodel = "claude-sonnet-4-6"\n'
    name = config_for(tmp_path, "arena.toml", text).arena.name
    assert name == "Leaky-vs-claude-sonnet-4-6" and "AbCdEf" not in name
