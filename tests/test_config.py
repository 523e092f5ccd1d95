"""Config: defaults < TOML < environment < flags; bad input is one sentence naming file and key."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.config import (
    AGENT_KINDS,
    DECISION_FORMATS,
    RECORDED_TIMINGS,
    AccountSeed,
    FeeTier,
    SeedPosition,
    VOTE_RULES,
    ANTHROPIC_EFFORTS,
    REASONING_SUMMARIES,
    THINKING_DISPLAYS,
    BASELINE_STRATEGIES,
    SECTIONS,
    AgentConfig,
    Config,
    config_from_json,
    load_config,
    looks_like_key,
    redact_text,
    write_starter_config,
)
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import COINS, TIMEFRAME_MS


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


# --- the journal header round trip: every field, falsy values included ------------------------------


def _for_type(typ):
    """Arbitrary values of a field's declared type, with the falsy ones drawn on purpose."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if typ is float:
        return st.one_of(st.just(0.0), st.floats(allow_nan=False, allow_infinity=False))
    if typ is int:
        return st.one_of(st.just(0), st.integers())
    if typ is str:  # not shaped like a key or a URL with credentials: those are redacted, on purpose
        return st.one_of(st.just(""), st.text().filter(lambda t: redact_text(t) == t))
    if typ is bool:
        return st.booleans()
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return st.one_of(st.none(), _for_type(inner))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return st.lists(_for_type(args[0]), max_size=4).map(tuple)
    raise AssertionError(f"no strategy for a field of type {typ!r}; teach _for_type about it")


def _dataclass(cls, special=None):
    """``cls`` with every field drawn: ``special`` strategies where the value is restricted, else by type."""
    special = special or {}
    names = [f.name for f in dataclasses.fields(cls)]
    assert set(special) <= set(names), f"{cls.__name__} has no field {set(special) - set(names)}"
    hints = typing.get_type_hints(cls)
    return st.fixed_dictionaries({n: special[n] if n in special else _for_type(hints[n]) for n in names}).map(lambda kw: cls(**kw))


_TIMEFRAMES = st.sampled_from(sorted(TIMEFRAME_MS))
_LEVERAGE = st.one_of(st.just(1.0), st.just(39.99), st.floats(min_value=1.0, max_value=39.99))  # below 1 / maintenance margin (40x)
_NON_EMPTY = st.text(min_size=1).filter(lambda t: redact_text(t) == t)
_NON_NEGATIVE = st.one_of(st.just(0.0), st.floats(min_value=0.0, allow_infinity=False))
_POSITIVE = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)
_PERCENT = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=100.0))
_FEE_BP = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=10_000.0, exclude_max=True))
_PROMPT_PATH = st.one_of(st.just(""), st.text().filter(lambda t: "\0" not in t and redact_text(t) == t))
_AGENT_NAME = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1).filter(
    lambda t: t.strip() and not looks_like_key(t)
)

_SECTION_SPECIAL = {
    "market": {
        "source": st.sampled_from(("recorded", "live")),
        "coins": st.lists(st.sampled_from(COINS), max_size=len(COINS)).map(tuple),
        "intraday_timeframe": _TIMEFRAMES,
        "context_timeframe": _TIMEFRAMES,
        "cycle_interval": st.one_of(st.just(""), _TIMEFRAMES),
        "speed": _NON_NEGATIVE,
    },
    "fees": {
        "taker_fee_bp": _FEE_BP, "maker_fee_bp": _FEE_BP, "slippage_bp": _FEE_BP,
        "schedule": st.lists(st.builds(FeeTier, start=st.sampled_from(("2025-10-22T00:00:00Z", "2025-11-01T12:00:00+00:00")),
                                       taker_fee_bp=_FEE_BP, maker_fee_bp=_FEE_BP), max_size=3).map(tuple),
    },
    "venue": {  # below 2.5% everywhere: the drawn leverage bounds reach 39.99x
        "margin_mode": st.sampled_from(("isolated", "cross")),
        "maintenance_margin_rate": st.floats(min_value=0.0, max_value=0.025),
        "coin_maintenance_margin": st.dictionaries(st.sampled_from(COINS), st.floats(min_value=0.0, max_value=0.025, exclude_max=True), max_size=3),
        "coin_max_leverage": st.dictionaries(st.sampled_from(COINS), st.floats(min_value=1.0, max_value=39.0), max_size=3),
    },
    "risk": {
        "min_leverage": _LEVERAGE,
        "max_leverage": _LEVERAGE,
        "max_margin_usage": st.one_of(st.just(1.0), st.floats(min_value=0.0, max_value=1.0, exclude_min=True)),
        "min_notional": _NON_NEGATIVE,
        "max_open_positions": st.integers(min_value=1),
        "daily_loss_limit_pct": _PERCENT,
        "min_confidence": _PERCENT,
        "max_position_pct": _PERCENT,
        "max_correlated_positions": st.integers(min_value=0),
        "correlation_threshold": st.floats(min_value=-1.0, max_value=1.0),
        "correlation_window": st.integers(min_value=3, max_value=10_000),
    },
    "arena": {
        "starting_cash": st.one_of(st.just(1e12), st.floats(min_value=0.0, max_value=1e12, exclude_min=True)),
        "agent_timeout_s": _POSITIVE,
        "halt_after_failures": st.one_of(st.just(0), st.integers(min_value=0)),
        "halt_drawdown_pct": _PERCENT,
    },
}


def _ordered_leverage(r):
    return dataclasses.replace(r, min_leverage=min(r.min_leverage, r.max_leverage), max_leverage=max(r.min_leverage, r.max_leverage))


def _section(name):
    s = _dataclass(SECTIONS[name], _SECTION_SPECIAL.get(name))
    return s.map(_ordered_leverage) if name == "risk" else s


_SEED_POSITIONS = st.lists(
    st.builds(
        SeedPosition,
        coin=st.sampled_from(COINS),
        side=st.sampled_from(("long", "short")),
        quantity=_POSITIVE,
        entry_price=_POSITIVE,
        leverage=st.floats(min_value=1.0, max_value=39.0),
        entry_time=st.sampled_from(("", "2025-10-28T06:13:22Z")),
        mark_price=_NON_NEGATIVE,
        stop_loss=st.one_of(st.none(), _POSITIVE),
        profit_target=st.one_of(st.none(), _POSITIVE),
        invalidation_condition=st.text(max_size=20).filter(lambda t: redact_text(t) == t),
        confidence=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
        risk_usd=st.one_of(st.none(), _NON_NEGATIVE),
    ),
    max_size=3,
    unique_by=lambda p: p.coin,
).map(tuple)
_ACCOUNTS = st.builds(AccountSeed, cash=_NON_NEGATIVE, starting_value=st.floats(min_value=0.0, max_value=1e9),
                      positions=_SEED_POSITIONS, source=st.sampled_from(("", "the prompt of 2025-10-28 06:13 UTC")))


@st.composite
def _agents(draw, fallback: bool = True):
    """Valid agents: a known kind, what that kind requires set, every other field arbitrary; with
    ``fallback``, some with a fallback agent (any kind but recorded or swarm, with no fallback of its
    own) and some swarms (2 to 4 members of those kinds, uniquely named, a quorum up to their count)."""
    kind = draw(st.sampled_from(AGENT_KINDS if fallback else tuple(k for k in AGENT_KINDS if k not in ("recorded", "swarm"))))
    special = {
        "fallback": st.just(None),
        "members": st.just(()),
        "vote": st.sampled_from(VOTE_RULES),
        "quorum": st.integers(min_value=0, max_value=8),
        "kind": st.just(kind),
        "name": _AGENT_NAME,
        "api_key_env": st.one_of(st.just(""), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]*", fullmatch=True).filter(lambda t: not looks_like_key(t))),
        "temperature": st.one_of(st.none(), _NON_NEGATIVE),
        "max_tokens": st.integers(min_value=1),
        "timeout_s": _POSITIVE,
        "retries": st.one_of(st.just(0), st.integers(min_value=0)),
        "price_input_per_mtok": _NON_NEGATIVE,
        "price_output_per_mtok": _NON_NEGATIVE,
        "budget_tokens_per_day": st.one_of(st.just(0), st.integers(min_value=0)),
        "budget_usd_per_day": _NON_NEGATIVE,
        "price_cached_input_per_mtok": st.one_of(st.none(), _NON_NEGATIVE),
        "price_reasoning_per_mtok": st.one_of(st.none(), _NON_NEGATIVE),
        "reasoning_summary": st.just("auto"),
        "thinking": st.just(""),
        "thinking_budget": st.just(0),
        "thinking_display": st.just(""),
        "format": st.sampled_from(DECISION_FORMATS),
        # a starting account: the agent's own (a fallback or a swarm member trades its agent's)
        "account": st.one_of(st.none(), _ACCOUNTS) if fallback else st.just(None),
        "timing": st.sampled_from(RECORDED_TIMINGS),
        "stream_chars_per_s": st.floats(min_value=0.0, max_value=1e6),
        # an agent's own prompt templates (paths, read at session start): not on a baseline, nor on a
        # fallback or a swarm member (drawn with fallback=False), which answer the agent's prompt
        "system_prompt": _PROMPT_PATH if fallback and kind != "baseline" else st.just(""),
        "user_prompt": _PROMPT_PATH if fallback and kind != "baseline" else st.just(""),
    }
    if kind == "openai":
        special["reasoning_summary"] = st.sampled_from(REASONING_SUMMARIES)
    if kind == "anthropic":
        special["reasoning_effort"] = st.sampled_from(("",) + ANTHROPIC_EFFORTS)
        special["thinking"] = st.sampled_from(("", "adaptive", "off"))
        special["thinking_display"] = st.sampled_from(("",) + THINKING_DISPLAYS)
    if kind == "baseline":
        special["strategy"] = st.sampled_from(BASELINE_STRATEGIES)
    if kind in ("openai", "anthropic", "openai-compatible"):
        special["model"] = _NON_EMPTY
    if kind == "openai-compatible":
        special["base_url"] = _NON_EMPTY
    if kind == "recorded":
        special["path"] = _NON_EMPTY
    agent = draw(_dataclass(AgentConfig, special))
    if kind == "anthropic":
        if draw(st.booleans()):  # a manual budget, the old way ("" = "enabled" with a budget) or the new
            budget = draw(st.integers(min_value=1024, max_value=max(1024, agent.max_tokens - 1)))
            agent = dataclasses.replace(agent, thinking=draw(st.sampled_from(("", "enabled"))), thinking_budget=budget,
                                        max_tokens=max(agent.max_tokens, budget + 1))
        elif agent.thinking in ("", "off"):
            agent = dataclasses.replace(agent, thinking_display="")
    if kind == "swarm":
        members = draw(st.lists(_agents(fallback=False), min_size=2, max_size=4, unique_by=lambda a: a.name).map(tuple))
        return dataclasses.replace(agent, members=members, quorum=min(agent.quorum, len(members)))
    if fallback and draw(st.booleans()):
        agent = dataclasses.replace(agent, fallback=draw(_agents(fallback=False)))
    return agent


_CONFIG_SPECIAL = {name: _section(name) for name in SECTIONS}
_CONFIG_SPECIAL["agents"] = st.lists(_agents(), max_size=4, unique_by=lambda a: a.name).map(tuple)
def _traded_seeds(c: Config) -> Config:
    """A starting account holds positions in traded coins only."""
    coins = {x.upper() for x in c.market.coins}
    agents = tuple(
        a if a.account is None else dataclasses.replace(
            a, account=dataclasses.replace(a.account, positions=tuple(p for p in a.account.positions if p.coin.upper() in coins))
        )
        for a in c.agents
    )
    return dataclasses.replace(c, agents=agents)


CONFIGS = _dataclass(Config, _CONFIG_SPECIAL).map(
    # the answer cache is refused for a live market
    lambda c: c if c.market.source == "recorded" else dataclasses.replace(c, arena=dataclasses.replace(c.arena, answer_cache=False))
).map(_traded_seeds)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(CONFIGS)
def test_every_valid_config_survives_the_journal_header_round_trip(cfg):
    text = json.dumps(cfg.to_json())
    assert config_from_json(json.loads(text)) == cfg


def test_to_json_writes_every_field_of_every_section_and_agent():
    cfg = Config(agents=(AgentConfig(name="a", kind="baseline", strategy="always_flat"),))
    data = cfg.to_json()
    assert set(data) == {f.name for f in dataclasses.fields(Config)}
    for name, cls in SECTIONS.items():
        assert set(data[name]) == {f.name for f in dataclasses.fields(cls)}
    assert set(data["agents"][0]) == {f.name for f in dataclasses.fields(AgentConfig)}
    assert data["agents"][0]["temperature"] is None
    json.dumps(data, allow_nan=False)  # plain JSON


def test_temperature_zero_and_retries_zero_survive_the_round_trip():
    agent = AgentConfig(name="GPT", kind="openai", model="gpt-5", api_key_env="OPENAI_API_KEY", temperature=0.0, retries=0)
    back = config_from_json(json.loads(json.dumps(Config(agents=(agent,)).to_json())))
    assert back.agents[0].temperature == 0.0 and back.agents[0].temperature is not None
    assert back.agents[0].retries == 0
    assert back.agents[0].api_key_env == "OPENAI_API_KEY"
    unset = config_from_json(Config(agents=(dataclasses.replace(agent, temperature=None),)).to_json())
    assert unset.agents[0].temperature is None


def test_an_older_header_without_falsy_fields_gets_the_defaults():
    old = Config().to_json()
    old["agents"] = [{"name": "GPT", "kind": "openai", "model": "gpt-5", "api_key_env": "OPENAI_API_KEY"}]
    del old["source"]
    cfg = config_from_json(old)
    assert cfg.agents == (AgentConfig(name="GPT", kind="openai", model="gpt-5", api_key_env="OPENAI_API_KEY"),)
    assert cfg.source == ""
    assert config_from_json({}) == Config()


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d["agents"][0].update(retries="two"), "header agents[0].retries must be a whole number"),
        (lambda d: d["agents"][0].update(temperature="hot"), "header agents[0].temperature must be a number"),
        (lambda d: d["agents"][0].update(kind="oracle"), "kind 'oracle'"),
        (lambda d: d["fees"].update(slippage_bp=None), "header fees.slippage_bp must be a number"),
        (lambda d: d["market"].update(speed=math.nan), "header market.speed must be a number, not NaN"),
        (lambda d: d["arena"].update(starting_cash=10**400), "header arena.starting_cash is too large"),
        (lambda d: d["risk"].update(max_open_positions=6.0), "header risk.max_open_positions must be a whole number"),
        (lambda d: d.update(agents="GPT"), "the recorded agents is not a list"),
        (lambda d: d.update(agents=["GPT"]), "header agents[0] is not a table"),
        (lambda d: d.update(source=3), "header source must be a string"),
    ],
)
def test_a_bad_header_value_is_one_sentence_naming_the_key(change, words):
    data = Config(agents=(AgentConfig(name="GPT", kind="openai", model="gpt-5"),)).to_json()
    change(data)
    with pytest.raises(ConfigError) as info:
        config_from_json(data, "s.jsonl header")
    msg = str(info.value)
    assert words in msg
    assert "s.jsonl" in msg
    assert "\n" not in msg


def test_max_leverage_stops_below_what_the_ledger_can_open(tmp_path):
    """At 40x the 2.5 % maintenance margin liquidates a position as it opens: the config refuses it
    (a model asking 50x under max_leverage = 100 used to end the session with a ValueError)."""
    path = tmp_path / "arena.toml"
    path.write_text("[risk]\nmax_leverage = 40.0\n")
    with pytest.raises(ConfigError, match="max_leverage < 40"):
        load_config(str(path), environ={}, cwd=tmp_path)


# --- hostile values: one sentence naming the file and the key, never a traceback ----------------------

_LLM = "[[agents]]\nname = 'GPT'\nkind = 'openai'\nmodel = 'gpt-5'\n"
_CLAUDE = "[[agents]]\nname = 'Claude'\nkind = 'anthropic'\nmodel = 'claude-opus-4-7'\n"


@pytest.mark.parametrize(
    "text, words",
    [
        ("[fees]\ntaker_fee_bp = -1.0\n", "fees.taker_fee_bp must be 0 or more basis points"),
        ("[fees]\nmaker_fee_bp = nan\n", "fees.maker_fee_bp must be a number, not NaN"),
        ("[fees]\nslippage_bp = inf\n", "fees.slippage_bp must be a finite number"),
        ("[fees]\nslippage_bp = 10000.0\n", "fees.slippage_bp must be 0 or more basis points and below 10000"),
        ("[arena]\nstarting_cash = inf\n", "arena.starting_cash must be a finite number"),
        ("[arena]\nstarting_cash = 0.0\n", "arena.starting_cash must be a positive amount"),
        ("[arena]\nstarting_cash = 1e300\n", "arena.starting_cash must be a positive amount of USD up to 1e+12"),
        ("[arena]\nhalt_after_failures = -3\n", "arena.halt_after_failures must be 1 or more failed cycles in a row, or 0 to never halt"),
        ("[arena]\nhalt_drawdown_pct = -5.0\n", "arena.halt_drawdown_pct must be a percent"),
        ("[arena]\nagent_timeout_s = 0.0\n", "arena.agent_timeout_s must be a positive number"),
        ("[market]\nspeed = inf\n", "market.speed must be a finite number"),
        ("[risk]\nmin_notional = -1.0\n", "risk.min_notional must be 0 or more"),
        ("[risk]\nmax_open_positions = 0\n", "risk.max_open_positions must be 1 or more"),
        ("[risk]\ndaily_loss_limit_pct = 150.0\n", "risk.daily_loss_limit_pct must be a percent"),
        (_LLM + "retries = -1\n", "retries must be 0 or more"),
        (_LLM + "max_tokens = 0\n", "max_tokens must be 1 or more"),
        (_LLM + "timeout_s = -2.0\n", "timeout_s must be a positive number of seconds"),
        (_LLM + "timeout_s = inf\n", "agents[0].timeout_s must be a finite number"),
        (_LLM + "temperature = nan\n", "agents[0].temperature must be a number, not NaN"),
        (_LLM + "temperature = inf\n", "agents[0].temperature must be a finite number"),
        (_LLM + "temperature = -0.5\n", "temperature must be 0 or more"),
        (_LLM + "price_input_per_mtok = -1.0\n", "price_input_per_mtok must be 0 or more USD"),
        (_LLM + "budget_tokens_per_day = -1\n", "budget_tokens_per_day must be 0"),
        (_LLM + "thinking_budget = -1\n", "thinking_budget must be 0"),
        (_LLM + "price_cached_input_per_mtok = -0.5\n", "price_cached_input_per_mtok must be 0 or more USD"),
        (_LLM + "price_reasoning_per_mtok = -2.0\n", "price_reasoning_per_mtok must be 0 or more USD"),
        (_LLM + "reasoning_summary = 'full'\n", "agents[0] ('GPT'): reasoning_summary 'full' is unknown; use one of auto, concise, detailed, off"),
        (_LLM + "thinking = 'adaptive'\n", "agents[0] ('GPT'): thinking applies to anthropic agents only"),
        (_LLM + "thinking_budget = 2048\n", "agents[0] ('GPT'): thinking_budget applies to anthropic agents only"),
        (_CLAUDE + "thinking_budget = 512\n", "thinking_budget 512 must be at least 1024 and below max_tokens (8192)"),
        (_CLAUDE + "thinking_budget = 8192\n", "thinking_budget 8192 must be at least 1024 and below max_tokens (8192)"),
        (_CLAUDE + "thinking = 'enabled'\n", 'thinking_budget 0 must be at least 1024 and below max_tokens (8192) for thinking = "enabled"'),
        (_CLAUDE + "thinking = 'adaptive'\nthinking_budget = 2048\n", 'thinking_budget applies to thinking = "enabled" only'),
        (_CLAUDE + "thinking = 'always'\n", "thinking 'always' is unknown; use one of adaptive, enabled, off"),
        (_CLAUDE + "thinking = 'adaptive'\nthinking_display = 'full'\n", "thinking_display 'full' is unknown; use one of summarized, omitted"),
        (_CLAUDE + "reasoning_effort = 'minimal'\n", "reasoning_effort 'minimal' is not an Anthropic effort level; use one of low, medium, high, xhigh, max"),
        (_CLAUDE + "reasoning_summary = 'detailed'\n", "reasoning_summary applies to openai agents only"),
        (_LLM + "api_key_env = 'sk-" + "proj-abcdefghijklmnop'\n", "api_key_env names the environment variable holding the key, not the key itself"),
        ("[[agents]]\nname = ''\nkind = 'baseline'\nstrategy = 'always_flat'\n", "agents[0].name is empty"),
        ("[[agents]]\nname = '   '\nkind = 'baseline'\nstrategy = 'always_flat'\n", "agents[0].name is empty"),
        ('[[agents]]\nname = "a\\u0007b"\nkind = "baseline"\nstrategy = "always_flat"\n', "agents[0].name holds a control character"),
        ('[[agents]]\nname = "a\\nb"\nkind = "baseline"\nstrategy = "always_flat"\n', "agents[0].name holds a control character"),
        ("[[agents]]\nname = 'x'\nkind = 'baseline'\nstrategy = 'always_flat'\n[[agents]]\nname = 'x'\nkind = 'baseline'\nstrategy = 'always_flat'\n",
         "the name is used twice"),
        # found by benchmarks/hostile_input.py: tomllib's own limits, and agents that are not tables
        ("[arena]\nname = " + "[" * 5000 + "]" * 5000 + "\n", "nests arrays or tables too deeply to read"),
        ("[arena]\nname = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n", "nests arrays or tables too deeply to read"),
        ("[arena]\nhalt_after_failures = " + "9" * 5000 + "\n", "holds a value TOML cannot read here"),
        ("agents = [1, 2]\n", "agents[0] must be a table"),
    ],
)
def test_hostile_values_get_one_sentence_naming_the_key(tmp_path, text, words):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(p), environ={})
    msg = str(info.value)
    assert words in msg
    assert str(p) in msg
    assert "\n" not in msg


def test_halt_after_failures_zero_still_means_never(tmp_path):
    p = tmp_path / "arena.toml"
    p.write_text("[arena]\nhalt_after_failures = 0\nhalt_drawdown_pct = 0.0\n")
    cfg = load_config(str(p), environ={})
    assert cfg.arena.halt_after_failures == 0


def test_a_bom_prefixed_file_is_read(tmp_path):
    p = tmp_path / "arena.toml"
    p.write_bytes("\ufeff[market]\nspeed = 1.0\n".encode("utf-8"))
    assert load_config(str(p), environ={}).market.speed == 1.0


def test_sessions_dir_naming_a_file_is_refused(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    for target in (blocker, blocker / "sub"):
        p = tmp_path / "arena.toml"
        p.write_text(f"[arena]\nsessions_dir = '{target.as_posix()}'\n")
        with pytest.raises(ConfigError) as info:
            load_config(str(p), environ={})
        msg = str(info.value)
        assert "arena.sessions_dir" in msg and str(p) in msg and "name a directory" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="arena.sessions_dir"):
        load_config(None, environ={"ARENA_SESSIONS_DIR": str(blocker)}, cwd=tmp_path / "empty")
    fine = tmp_path / "new" / "sessions"  # not there yet: created when the session starts
    p.write_text(f"[arena]\nsessions_dir = '{fine.as_posix()}'\n")
    assert load_config(str(p), environ={}).arena.sessions_dir == fine.as_posix()


def test_a_header_with_a_negative_halt_count_cannot_be_resumed():
    data = Config().to_json()
    data["arena"]["halt_after_failures"] = -3
    with pytest.raises(ConfigError, match="header arena.halt_after_failures"):
        config_from_json(data)


def test_to_json_redacts_credentials_but_keeps_ordinary_values():
    url = "http://u:" + "hunter2pass@127.0.0.1:9/v1?api_key=" + "QQQsecret&api-version=1"
    agent = AgentConfig(name="L", kind="openai-compatible", model="qwen3:8b", base_url=url)
    data = Config(agents=(agent,)).to_json()
    assert data["agents"][0]["base_url"] == "http://REDACTED:REDACTED@127.0.0.1:9/v1?api_key=REDACTED&api-version=1"
    assert data["agents"][0]["model"] == "qwen3:8b"


@pytest.mark.parametrize(
    "text",
    [
        "[market]\nsource = '{key}'\n",
        "[market]\nintraday_timeframe = '{key}'\n",
        "[market]\ncontext_timeframe = '{key}'\n",
        "[market]\ncycle_interval = '{key}'\n",
        "[market]\ncoins = ['{key}']\n",
    ],
)
def test_a_key_pasted_into_a_market_field_is_not_echoed(tmp_path, text):
    """Found by benchmarks/hostile_input.py: these messages quoted the raw value (coins upper-cased
    past what redaction recognises)."""
    key = "sk-" + "CANARYMODEL0123456789abcdef"
    p = tmp_path / "bad.toml"
    p.write_text(text.format(key=key))
    with pytest.raises(ConfigError) as info:
        load_config(str(p), environ={})
    msg = str(info.value)
    assert "CANARY" not in msg.upper() and str(p) in msg


def test_a_bad_value_from_the_environment_or_a_flag_is_blamed_on_it_not_on_the_file(tmp_path):
    """A check that fails on a value an ARENA_* variable or a flag set names that variable or flag:
    the config file holds no such key, and the user must know where to look."""
    path = tmp_path / "ok.toml"
    path.write_text('[arena]\nname = "ok"\n', encoding="utf-8")
    cases = [
        ({"ARENA_COINS": "FOO"}, None, "environment variable ARENA_COINS (market.coins): unknown coin 'FOO'"),
        ({"ARENA_CYCLE_INTERVAL": "7x"}, None, "environment variable ARENA_CYCLE_INTERVAL (market.cycle_interval): '7x' is not a timeframe"),
        ({"ARENA_SPEED": "abc"}, None, "environment variable ARENA_SPEED (market.speed) must be a number"),
        ({}, {"market": {"coins": ("FOO",)}}, "--coins (market.coins): unknown coin 'FOO'"),
        ({}, {"market": {"speed": -1.0}}, "--speed (market.speed) must be 0 or more"),
    ]
    for environ, overrides, says in cases:
        with pytest.raises(ConfigError) as info:
            load_config(str(path), environ=environ, overrides=overrides)
        msg = str(info.value)
        assert msg.startswith(says), msg
        assert str(path) not in msg, msg
    # a bad value in the file is still the file's
    path.write_text('[market]\ncoins = ["FOO"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    assert str(info.value).startswith(f"{path} market.coins: unknown coin 'FOO'")
