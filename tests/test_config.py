"""Config: defaults < TOML < environment < flags; bad input is one sentence naming file and key."""

from __future__ import annotations

import tomllib

import pytest

from arena_tui.config import load_config, write_starter_config
from arena_tui.engine.errors import ConfigError


def test_no_config_no_keys_is_the_offline_demo(tmp_path):
    cfg = load_config(None, environ={}, cwd=tmp_path)
    assert cfg.market.source == "recorded"
    assert cfg.market.start.startswith("2025-10-17")
    assert cfg.offline_demo
    assert [a.kind for a in cfg.agents] == ["baseline"] * 4


def test_keys_in_the_environment_add_llm_agents(tmp_path):
    cfg = load_config(None, environ={"OPENAI_API_KEY": "sk-x", "ARENA_LOCAL_BASE_URL": "http://127.0.0.1:11434/v1"}, cwd=tmp_path)
    kinds = [a.kind for a in cfg.agents]
    assert "openai" in kinds and "openai-compatible" in kinds
    assert not cfg.offline_demo
    assert "sk-x" not in repr(cfg.to_json())


def test_starter_config_lists_every_kind_and_loads(tmp_path):
    path = write_starter_config(tmp_path / "arena.toml")
    data = tomllib.loads(path.read_text())
    kinds = {a["kind"] for a in data["agents"]}
    assert kinds == {"openai", "anthropic", "openai-compatible", "baseline"}
    for section in ("market", "fees", "risk", "arena"):
        assert section in data
    cfg = load_config(str(path), environ={})
    assert len(cfg.agents) == 7
    with pytest.raises(ConfigError, match="already exists"):
        write_starter_config(path)


def test_precedence_file_then_env_then_flags(tmp_path):
    (tmp_path / "arena.toml").write_text('[market]\nstart = "2025-10-20T00:00:00Z"\nspeed = 1.0\ncoins = ["BTC"]\n')
    cfg = load_config(None, environ={}, cwd=tmp_path)
    assert cfg.market.start == "2025-10-20T00:00:00Z" and cfg.market.coins == ("BTC",)
    cfg = load_config(None, environ={"ARENA_START": "2025-10-21T00:00:00Z", "ARENA_SPEED": "0.5"}, cwd=tmp_path)
    assert cfg.market.start == "2025-10-21T00:00:00Z" and cfg.market.speed == 0.5
    cfg = load_config(
        None, environ={"ARENA_START": "2025-10-21T00:00:00Z"}, cwd=tmp_path, overrides={"market": {"start": "2025-10-22T00:00:00Z"}}
    )
    assert cfg.market.start == "2025-10-22T00:00:00Z"


@pytest.mark.parametrize(
    "text, words",
    [
        ("[market]\ncoinz = 1\n", "unknown key 'coinz'"),
        ("[market]\nspeed = 'fast'\n", "market.speed must be a number"),
        ("[market]\ncoins = ['BTC', 'PEPE']\n", "unknown coin 'PEPE'"),
        ("[market]\nsource = 'paper'\n", "market.source must be 'recorded' or 'live'"),
        ("[risk]\nmax_leverage = 500.0\n", "leverage bounds"),
        ("[[agents]]\nname = 'x'\nkind = 'openai'\nmodel = 'gpt-5'\napi_key = 'sk-123'\n", "secrets do not belong"),
        ("[[agents]]\nname = 'x'\nkind = 'baseline'\nstrategy = 'moon'\n", "strategy 'moon'"),
        ("[[agents]]\nname = 'x'\nkind = 'openai-compatible'\nmodel = 'm'\n", "set base_url"),
        ("[colours]\nx = 1\n", "unknown section 'colours'"),
        ("[market\n", "is not valid TOML"),
    ],
)
def test_bad_file_gets_one_sentence_naming_the_key(tmp_path, text, words):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(p), environ={})
    msg = str(info.value)
    assert words in msg
    assert str(p) in msg
    assert "\n" not in msg


def test_missing_explicit_config_says_how_to_create_it(tmp_path):
    with pytest.raises(ConfigError, match="--init-config"):
        load_config(str(tmp_path / "nope.toml"), environ={})


def test_the_journal_header_config_round_trips_for_resume(tmp_path):
    from arena_tui.config import config_from_json, write_starter_config

    path = write_starter_config(tmp_path / "arena.toml")
    text = path.read_text().replace("taker_fee_bp = 4.5", "taker_fee_bp = 2.0").replace("max_leverage = 20.0", "max_leverage = 10.0")
    path.write_text(text)
    cfg = load_config(str(path), environ={})
    assert cfg.fees.taker_fee_bp == 2.0
    assert config_from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match="cannot be resumed"):
        config_from_json(None)  # type: ignore[arg-type]
