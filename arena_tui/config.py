"""Typed configuration, resolved once: defaults < TOML file < environment < CLI flags.

The TOML file is ``--config PATH``, else ``arena.toml`` in the working directory, else
``<user config dir>/arena-tui/arena.toml``. Read with ``tomllib``; ``write_starter_config`` writes a
commented starter with every option. A bad value raises ``ConfigError`` with one sentence naming
the file and key and what is allowed. API keys are never part of the config: agents name the
environment variable that holds theirs (``api_key_env``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, get_args, get_origin, get_type_hints

import platformdirs
import tomli_w

from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import COINS, TIMEFRAME_MS

APP_NAME = "arena-tui"
BASELINE_STRATEGIES = ("trend_follower", "rsi_mean_reversion", "btc_buy_and_hold", "always_flat")
AGENT_KINDS = ("openai", "anthropic", "openai-compatible", "baseline", "recorded", "swarm")
VOTE_RULES = ("majority", "confidence", "unanimous")
DECISION_FORMATS = ("alpha-arena", "percent")
"""``AgentConfig.format`` values (the same as ``engine.parse.DECISION_FORMATS``)."""
"""How a swarm combines its members' answers (``agents.swarm``): a majority per coin, a
confidence-weighted majority, or every member agreeing for an entry."""
MAX_SWARM_MEMBERS = 8
"""The most members a swarm may have (each is a model call every cycle)."""


# --- LLM reasoning/thinking settings (shared with arena_tui.engine.agents.llm) ---

THINKING_MODES: tuple[str, ...] = ("adaptive", "enabled", "off")
"""Anthropic thinking: "adaptive" (the model decides how much to think, steered by ``reasoning_effort``;
Claude 4.6 and later), "enabled" (manual extended thinking with ``thinking_budget`` tokens; deprecated on
4.6, refused from 4.7 on) or "off"."""
THINKING_DISPLAYS: tuple[str, ...] = ("summarized", "omitted")
"""Anthropic ``thinking.display``: "summarized" streams the (summarised) thinking, "omitted" sends none."""
ANTHROPIC_EFFORTS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")
"""Anthropic ``output_config.effort`` levels."""
REASONING_SUMMARIES: tuple[str, ...] = ("auto", "concise", "detailed", "off")
"""OpenAI Responses ``reasoning.summary`` levels, and "off" for none requested (models without reasoning)."""
MIN_THINKING_BUDGET = 1024
"""The Anthropic API's smallest ``thinking.budget_tokens``."""


def check_thinking(where: str, provider: str, thinking: str | None, budget: int | None, display: str | None,
                   effort: str | None, summary: str | None, max_tokens: int) -> None:
    """Raise ``ConfigError`` (one sentence starting with ``where``) for reasoning/thinking settings that
    cannot work; shared by ``LLMAgentConfig`` and the config file's validation."""
    if provider != "anthropic":
        for key, value in (("thinking", thinking), ("thinking_budget", budget), ("thinking_display", display)):
            if value:
                raise ConfigError(
                    f"{where}: {key} applies to anthropic agents only; remove it, and use reasoning_effort"
                    + (" and reasoning_summary" if provider == "openai" else "") + " for this model."
                )
    if summary not in (None, "auto") and provider != "openai":
        raise ConfigError(f"{where}: reasoning_summary applies to openai agents only (the Responses API); remove it.")
    if summary is not None and summary not in REASONING_SUMMARIES:
        raise ConfigError(f"{where}: reasoning_summary '{summary}' is unknown; use one of {', '.join(REASONING_SUMMARIES)}.")
    if provider != "anthropic":
        return
    if thinking and thinking not in THINKING_MODES:
        raise ConfigError(f"{where}: thinking '{thinking}' is unknown; use one of {', '.join(THINKING_MODES)}.")
    if display and display not in THINKING_DISPLAYS:
        raise ConfigError(f"{where}: thinking_display '{display}' is unknown; use one of {', '.join(THINKING_DISPLAYS)}.")
    if effort and effort not in ANTHROPIC_EFFORTS:
        raise ConfigError(f"{where}: reasoning_effort '{effort}' is not an Anthropic effort level; use one of "
                          f"{', '.join(ANTHROPIC_EFFORTS)}.")
    mode = thinking or ("enabled" if budget else "off")
    if mode == "enabled":
        if not budget or not MIN_THINKING_BUDGET <= budget < max_tokens:
            raise ConfigError(
                f"{where}: thinking_budget {budget or 0} must be at least {MIN_THINKING_BUDGET} and below max_tokens "
                f"({max_tokens}) for thinking = \"enabled\"; set it in that range (raise max_tokens if needed), "
                "or use thinking = \"adaptive\"."
            )
    elif budget:
        raise ConfigError(f"{where}: thinking_budget applies to thinking = \"enabled\" only; remove it for thinking = \"{mode}\".")
    elif display and mode == "off":
        raise ConfigError(f"{where}: thinking_display needs thinking on; remove it or set thinking = \"adaptive\".")


@dataclass(frozen=True)
class MarketConfig:
    """``source``: recorded (bundled real market) or live (ccxt exchange). Times are ISO-8601 UTC."""

    source: str = "recorded"
    exchange: str = "hyperliquid"
    coins: tuple[str, ...] = COINS
    intraday_timeframe: str = "5m"
    context_timeframe: str = "4h"
    start: str = "2025-10-17T00:00:00Z"
    cycle_interval: str = ""  # "" = 5m recorded (finest bundled timeframe), 3m live (as Alpha Arena)
    speed: float = 2.0  # recorded mode: wall seconds between cycles in the TUI (0 = as fast as possible)

    @property
    def interval(self) -> str:
        return self.cycle_interval or ("5m" if self.source == "recorded" else "3m")


@dataclass(frozen=True)
class FeeTier:
    """From ``start`` (ISO-8601 UTC) on, these fees replace the base ones (``[[fees.schedule]]``)."""

    start: str
    taker_fee_bp: float
    maker_fee_bp: float


@dataclass(frozen=True)
class FeesConfig:
    """Fees in basis points of notional (Hyperliquid base tier), slippage against the trader.
    ``schedule``: later fee tiers by time (Alpha Arena's accounts paid 4.0/1.2 bp from 2025-10-22).
    ``take_profit_maker``: take-profit levels rest as limit orders and fill as a maker at the level
    (a candle gapping through one fills it as a taker at the open)."""

    taker_fee_bp: float = 4.5
    maker_fee_bp: float = 1.5
    slippage_bp: float = 1.0
    schedule: tuple[FeeTier, ...] = ()
    take_profit_maker: bool = False


HYPERLIQUID_MAX_LEVERAGE: dict[str, float] = {"BTC": 40.0, "ETH": 25.0, "SOL": 20.0, "XRP": 20.0, "DOGE": 10.0, "BNB": 10.0}
"""Hyperliquid's maximum leverage per coin in 2025 (its first margin tier; docs, "Margin tiers":
hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers)."""
HYPERLIQUID_MAINTENANCE_MARGIN: dict[str, float] = {c: 0.5 / x for c, x in HYPERLIQUID_MAX_LEVERAGE.items()}
"""Hyperliquid's maintenance margin rate per coin: half the initial margin at its maximum leverage
(BTC 1.25%, ETH 2%, SOL and XRP 2.5%, DOGE and BNB 5%)."""


MARGIN_MODES = ("isolated", "cross")


@dataclass(frozen=True)
class VenueConfig:
    """What the venue does beyond fees. ``maintenance_margin_rate``: fraction of notional below which
    a position is liquidated (0.025 = half the initial margin at 20x, Hyperliquid's rule at the
    arena's default 20x cap); ``coin_maintenance_margin``: per-coin rates replacing it (the Season 1
    preset: ``HYPERLIQUID_MAINTENANCE_MARGIN``); ``coin_max_leverage``: per-coin caps on the leverage
    an entry may ask, below ``[risk] max_leverage`` (the preset: ``HYPERLIQUID_MAX_LEVERAGE``)."""

    margin_mode: str = "isolated"
    """"isolated": each position stands alone on its margin; "cross": the account's free cash and other
    positions stand behind each one (Hyperliquid's default, and how Alpha Arena's accounts ran)."""
    maintenance_margin_rate: float = 0.025
    coin_maintenance_margin: dict[str, float] = field(default_factory=dict)
    coin_max_leverage: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskConfig:
    """Bounds the risk rules enforce on every decision."""

    min_leverage: float = 1.0
    max_leverage: float = 20.0
    min_notional: float = 10.0
    max_open_positions: int = 6
    max_margin_usage: float = 0.95
    daily_loss_limit_pct: float = 0.0  # 0 = off
    min_confidence: float = 0.0
    """Percent (0-100): entries with a lower confidence are refused (0 = off; the single-agent plan,
    issue 15, asks for a minimum without naming one)."""
    max_position_pct: float = 50.0
    """Percent of account value one entry's margin may use, for agents with ``format = "percent"``
    (whose size is a percent of capital; 0 = off); 50 is the single-agent plan's "maximum position
    size 50% of capital" (issue 15). Alpha Arena-format agents keep Season 1's rules (no such cap)."""
    max_correlated_positions: int = 0
    """At most this many positions on one side among coins whose returns correlate at or above
    ``correlation_threshold`` (0 = off)."""
    correlation_threshold: float = 0.8
    """Pearson correlation of per-candle returns (``risk.return_correlations``) from which two coins
    count as correlated."""
    correlation_window: int = 48
    """Candles of the finest timeframe the correlation is measured over (48 x 5m = 4 hours)."""
    allow_adding: bool = False
    """An entry on the side already held adds to the position at the average entry (else refused)."""
    allow_partial_close: bool = False
    """A close asking for less than the position's quantity closes that much (else it closes all)."""
    allow_reversal: bool = False
    """An entry on the other side closes the position and opens the new one (else refused)."""


@dataclass(frozen=True)
class ArenaConfig:
    """Session-wide settings. ``halt_after_failures``: consecutive failed cycles before an agent is
    halted (0 = never); ``halt_drawdown_pct``: drawdown from peak that halts an agent (0 = never)."""

    name: str = "demo"
    starting_cash: float = 10_000.0
    agent_timeout_s: float = 90.0
    halt_after_failures: int = 5
    halt_drawdown_pct: float = 0.0
    sessions_dir: str = "sessions"
    system_prompt: str = ""  # path to a template; "" = the bundled Alpha Arena-style one
    user_prompt: str = ""
    answer_cache: bool = False
    """Answer repeated prompts from disk (``engine.agents.cache``): recorded market only."""
    answer_cache_dir: str = ""  # "" = <user cache dir>/arena-tui/answers


@dataclass(frozen=True)
class UIConfig:
    theme: str = "arena-dark"


SEED_SIDES = ("long", "short")


@dataclass(frozen=True)
class SeedPosition:
    """An open position an agent starts the session with (``[[agents.account.positions]]``).

    ``side`` "long" | "short"; ``quantity`` in coins (> 0); ``entry_price`` USD; ``leverage`` x (its
    isolated margin is ``quantity x entry_price / leverage``, no entry fee is charged again);
    ``entry_time`` ISO-8601 UTC ("" = not known; informational); ``mark_price`` the price the source
    valued it at (USD; 0 = the entry price): the seeded account's value is counted at it
    (``engine.ledger.seed_value``). Exit plan as an answer gives one: ``stop_loss``,
    ``profit_target`` (USD, unset = none), ``invalidation_condition``, ``confidence`` (0-1),
    ``risk_usd``."""

    coin: str
    side: str
    quantity: float
    entry_price: float
    leverage: float
    entry_time: str = ""
    mark_price: float = 0.0
    stop_loss: float | None = None
    profit_target: float | None = None
    invalidation_condition: str = ""
    confidence: float | None = None
    risk_usd: float | None = None


@dataclass(frozen=True)
class AccountSeed:
    """The account an agent starts from instead of ``[arena] starting_cash`` (``[agents.account]``).

    ``cash``: free collateral, USD (what is not margin). ``starting_value``: the base of the return in
    percent (USD; 0 = ``[arena] starting_cash``; Alpha Arena's accounts started at $10,000).
    ``positions``: the open ``SeedPosition``s. ``source``: where the account was read (a sentence;
    informational). The journal header records it with the config, so replay and verification start
    from the same account."""

    cash: float
    starting_value: float = 0.0
    positions: tuple[SeedPosition, ...] = ()
    source: str = ""


RECORDED_TIMINGS = ("latest", "once")
"""``AgentConfig.timing`` of a recorded agent: "latest" answers every cycle with the latest record at
or before the cycle's time; "once" answers each record once, in the cycle whose interval holds its
time, and holds (no call) in cycles without one."""


@dataclass(frozen=True)
class AgentConfig:
    """One agent. ``kind``: openai | anthropic | openai-compatible | baseline | recorded.
    LLM kinds use model/base_url/api_key_env/...; baselines use ``strategy``; recorded uses ``path``."""

    name: str
    kind: str
    model: str = ""
    base_url: str = ""
    api_key_env: str = ""
    temperature: float | None = None  # None = the provider's default (reasoning models refuse others)
    max_tokens: int = 8192
    timeout_s: float = 90.0
    retries: int = 2
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    price_cached_input_per_mtok: float | None = None  # None = the input price
    price_reasoning_per_mtok: float | None = None  # None = the output price
    budget_tokens_per_day: int = 0
    budget_usd_per_day: float = 0.0
    reasoning_effort: str = ""
    reasoning_summary: str = "auto"  # openai only
    thinking: str = ""  # anthropic only: "" = "enabled" with a thinking_budget, else "off"
    thinking_budget: int = 0
    thinking_display: str = ""
    format: str = "alpha-arena"
    """The decision format the agent is prompted for and parsed in (``DECISION_FORMATS``): Alpha Arena's
    (quantity in coins, stop and target prices) or "percent" (size as a percent of account value,
    stop-loss percent, a take-profit ladder; ``parse.parse_percent_decisions``)."""
    strategy: str = ""
    path: str = ""
    system_prompt: str = ""
    """Path to this agent's own system prompt template ("" = the session's ``[arena] system_prompt``)."""
    user_prompt: str = ""
    """Path to this agent's own user prompt template ("" = the session's ``[arena] user_prompt``)."""
    fallback: AgentConfig | None = None
    """Asked when this agent's model fails or its answer does not parse (``[agents.fallback]``: another
    model, or ``kind = "baseline"`` with a strategy); its ``name`` defaults to its model or strategy.
    One level only: a fallback has no fallback."""
    vote: str = "majority"
    """kind = "swarm" only: how the members' answers combine (``VOTE_RULES``; see ``agents.swarm``)."""
    quorum: int = 0
    """kind = "swarm" only: members that must answer for the swarm to trade (0 = a majority of them)."""
    account: AccountSeed | None = None
    """The account the agent starts from (``[agents.account]``: cash and open positions), else
    ``[arena] starting_cash`` in cash."""
    timing: str = "latest"
    """kind = "recorded" only: ``RECORDED_TIMINGS``."""
    stream_chars_per_s: float = 0.0
    """kind = "recorded" only: the pace its recorded text streams at (characters a second; 0 = at once)."""
    members: tuple[AgentConfig, ...] = ()
    """kind = "swarm" only: the member agents (``[[agents.members]]``, each an agent entry of an LLM kind
    or a baseline; its ``name`` defaults to its model or strategy and is unique within the swarm). They
    answer the same prompt concurrently within the swarm's ``timeout_s``."""


@dataclass(frozen=True)
class Config:
    """The whole resolved configuration. ``source`` names the TOML file used, if any."""

    market: MarketConfig = field(default_factory=MarketConfig)
    fees: FeesConfig = field(default_factory=FeesConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    venue: VenueConfig = field(default_factory=VenueConfig)
    arena: ArenaConfig = field(default_factory=ArenaConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    agents: tuple[AgentConfig, ...] = ()
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict for the journal header: every field of every section and agent, falsy
        values (0, 0.0, "", empty lists) and ``None`` included, so ``config_from_json`` reads back
        exactly this config. Tuples become lists. Holds no secrets: only env var *names*, and every
        string passes ``redact_text`` (credentials in URLs and key-like values become ``REDACTED``;
        ordinary values are untouched, so they still read back exactly), as does the value of every
        API key variable (``environment_secrets``) wherever it appears."""
        return _jsonable(dataclasses.asdict(self), redact=True, secrets=tuple(environment_secrets(self)))

    @property
    def offline_demo(self) -> bool:
        return self.market.source == "recorded" and all(a.kind == "baseline" for a in self.agents)


def _jsonable(value: Any, redact: bool = False, secrets: tuple[str, ...] = ()) -> Any:
    """``value`` (built of dicts, tuples, lists and scalars) with every tuple turned into a list and,
    with ``redact``, every string passed through ``redact_text`` (with ``secrets``)."""
    if isinstance(value, dict):
        return {k: _jsonable(v, redact, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, redact, secrets) for v in value]
    if redact and isinstance(value, str):
        return redact_text(value, secrets)
    return value


# --- redaction: what is journaled or shown never carries a credential -----------------------------

REDACTED = "REDACTED"

_KEY_LIKE = re.compile(
    # well-known key prefixes: OpenAI/Anthropic/DeepSeek (sk-, sk-ant-, sk-proj-), xAI, Groq, Perplexity,
    # Hugging Face, GitHub, GitLab, Replicate, Google, AWS, NVIDIA, Cerebras, Fireworks
    r"(?<![A-Za-z0-9_\-.])"
    r"(?:sk-|sk_|xai-|gsk_|pplx-|hf_|ghp_|gho_|ghs_|github_pat_|glpat-|r8_|AIza|AKIA|ASIA|nvapi-|csk-|fw_)"
    r"[A-Za-z0-9_\-]{12,}"
    # or a long high-entropy token: 32+ letters and digits in one run, both present
    r"|(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}(?![A-Za-z0-9])"
)
# (a scheme starts a run of scheme characters and is at most 32 long: each position is tried once, so a
# long run of letters in a server's message costs linear time, not quadratic)
_URL = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^\s'\"<>]+")
_CREDENTIAL_NAME = re.compile(r"(?i)key|token|secret|pass|pwd|sig|auth|cred|session|jwt|bearer|code")


def looks_like_key(value: str) -> bool:
    """Whether ``value`` holds something shaped like an API key (``sk-...``, a long random token)."""
    return bool(_KEY_LIKE.search(value))


def _redact_params(params: str) -> str:
    """A query string or fragment with the value of every credential-like parameter redacted."""
    out = []
    for part in params.split("&"):
        name, eq, value = part.partition("=")
        if eq and value and (_CREDENTIAL_NAME.search(name) or looks_like_key(value)):
            part = f"{name}={REDACTED}"
        out.append(part)
    return "&".join(out)


def _split_url(url: str) -> tuple[str, str, str] | None:
    """``scheme``, ``netloc`` (user-info and host) and the rest (path, query, fragment) of ``url``, or
    None when it has no ``scheme://``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    cut = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if i >= 0:
            cut = min(cut, i)
    return scheme, rest[:cut], rest[cut:]


def redact_url(url: str) -> str:
    """``url`` with its user-info (``user:password@``) and its credential-like query (and fragment)
    parameter values replaced by ``REDACTED``: ``key``, ``api_key``, ``token``, ``secret``,
    ``password``, ``sig``, ``auth``... or any value that looks like a key. The rest is kept as is."""
    parts = _split_url(url)
    if parts is None:
        return url
    scheme, netloc, tail = parts
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        netloc = (f"{REDACTED}:{REDACTED}" if ":" in userinfo else REDACTED) + "@" + host
    fragment = ""
    if "#" in tail:
        tail, _, fragment = tail.partition("#")
        fragment = "#" + _redact_params(fragment)
    if "?" in tail:
        path, _, query = tail.partition("?")
        tail = path + "?" + _redact_params(query)
    return f"{scheme}://{netloc}{tail}{fragment}"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (exact values, e.g. ``environment_secrets``), every URL's
    credentials (``redact_url``) and every key-like value replaced by ``REDACTED``; text without any
    comes back unchanged. Linear in the length of ``text``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return _KEY_LIKE.sub(REDACTED, text)


KEY_ENV_VARS: tuple[str, ...] = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "XAI_API_KEY", "OPENROUTER_API_KEY",
    "DASHSCOPE_API_KEY", "GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "MISTRAL_API_KEY",
)
"""Key variables whose values are redacted wherever they appear, besides those the agents name."""


def _walk_agents(agents: Iterable["AgentConfig"]) -> Iterator["AgentConfig"]:
    for a in agents:
        yield a
        if a.fallback is not None:
            yield from _walk_agents((a.fallback,))
        yield from _walk_agents(a.members)


def environment_secrets(*configs: "Config | None", environ: Mapping[str, str] | None = None) -> list[str]:
    """The values (8 characters or more, longest first) of the environment variables that hold API
    keys: every ``api_key_env`` of the configs' agents (their fallbacks and swarm members too) and the
    well-known ones (``KEY_ENV_VARS``). A key is redacted by its value wherever it appears (a
    ``base_url`` that carries it in its path, say), not only when it is shaped like one."""
    env = os.environ if environ is None else environ
    names = set(KEY_ENV_VARS)
    for cfg in configs:
        if cfg is not None:
            names.update(a.api_key_env for a in _walk_agents(cfg.agents) if a.api_key_env)
    values = {env.get(n) or "" for n in names}
    return sorted((v for v in values if len(v) >= 8), key=len, reverse=True)


def url_secrets(url: str) -> list[str]:
    """The credential parts of ``url`` that ``redact_url`` hides (user, password, credential-like
    parameter values), raw and percent-decoded, longest first: for scrubbing text that echoes them."""
    from urllib.parse import unquote

    found: list[str] = []
    parts = _split_url(url)
    if parts is None:
        return found
    _scheme, netloc, tail = parts
    if "@" in netloc:
        userinfo = netloc.rpartition("@")[0]
        found.extend(p for p in userinfo.split(":", 1) if p)
    for params in tail.replace("#", "?").split("?")[1:]:
        for part in params.split("&"):
            name, eq, value = part.partition("=")
            if eq and value and (_CREDENTIAL_NAME.search(name) or looks_like_key(value)):
                found.append(value)
    out = {s for v in found for s in (v, unquote(v), unquote(v.replace("+", " "))) if len(s) >= 4}
    return sorted(out, key=len, reverse=True)


def _shown(value: Any) -> str:
    """``repr(value)`` for an error sentence, credentials redacted."""
    return redact_text(repr(value))


SECTIONS: dict[str, type] = {
    "market": MarketConfig,
    "fees": FeesConfig,
    "risk": RiskConfig,
    "venue": VenueConfig,
    "arena": ArenaConfig,
    "ui": UIConfig,
}

SECRET_KEYS = ("api_key", "apikey", "secret", "token", "password")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What ``api_key_env`` may hold: an environment variable's name."""
MAX_FEE_BP = 10_000.0  # 100 % of the notional
MAX_STARTING_CASH = 1e12  # USD; far above any real account, far below where sums lose their cents


def default_baselines() -> tuple[AgentConfig, ...]:
    """The four rule-based baselines of the offline demo."""
    names = {
        "trend_follower": "Trend (rule-based)",
        "rsi_mean_reversion": "RSI revert (rule-based)",
        "btc_buy_and_hold": "BTC hold (rule-based)",
        "always_flat": "Flat (rule-based)",
    }
    return tuple(AgentConfig(name=names[s], kind="baseline", strategy=s) for s in BASELINE_STRATEGIES)


def env_agents(environ: Mapping[str, str]) -> tuple[AgentConfig, ...]:
    """LLM agents added by keys or a local endpoint in the environment when no config names agents:
    OPENAI_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, and ARENA_LOCAL_BASE_URL (+ ARENA_LOCAL_MODEL)
    for Ollama / vLLM / llama.cpp."""
    out = []
    if environ.get("OPENAI_API_KEY"):
        out.append(AgentConfig(name="GPT", kind="openai", model=environ.get("ARENA_OPENAI_MODEL", "gpt-5.5"), api_key_env="OPENAI_API_KEY"))
    if environ.get("ANTHROPIC_API_KEY"):
        out.append(
            AgentConfig(name="Claude", kind="anthropic", model=environ.get("ARENA_ANTHROPIC_MODEL", "claude-sonnet-4-6"), api_key_env="ANTHROPIC_API_KEY")
        )
    if environ.get("DEEPSEEK_API_KEY"):
        out.append(
            AgentConfig(
                name="DeepSeek", kind="openai-compatible", model="deepseek-chat", base_url="https://api.deepseek.com", api_key_env="DEEPSEEK_API_KEY"
            )
        )
    if environ.get("ARENA_LOCAL_BASE_URL"):
        out.append(
            AgentConfig(
                name="Local", kind="openai-compatible", model=environ.get("ARENA_LOCAL_MODEL", "qwen3:8b"), base_url=environ["ARENA_LOCAL_BASE_URL"]
            )
        )
    return tuple(out)


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def find_config_file(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """``explicit`` (must exist), else ./arena.toml, else the user config dir's arena.toml, else None."""
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist; create it with `arena-tui --init-config {p}`.")
        return p
    for p in ((cwd or Path.cwd()) / "arena.toml", user_config_dir() / "arena.toml"):
        if p.is_file():
            return p
    return None


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = get_origin(typ)
    args = get_args(typ)
    if args and type(None) in args and origin is not tuple:
        inner = [a for a in args if a is not type(None)]
        return None if value is None else _coerce(value, inner[0], where)
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number (got {_shown(value)}).")
        try:
            number = float(value)
        except OverflowError:
            raise ConfigError(f"{where} is too large a number (got {_shown(value)}).") from None
        if math.isnan(number):
            raise ConfigError(f"{where} must be a number, not NaN.")
        if math.isinf(number):
            raise ConfigError(f"{where} must be a finite number, not {number}; write a plain number.")
        return number
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number (got {_shown(value)}).")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string (got {_shown(value)}).")
        return value
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false (got {_shown(value)}).")
        return value
    if typ is AgentConfig:  # an agent's fallback or a swarm's member: a table of its own
        member = where.endswith("]")
        if not isinstance(value, Mapping):
            table = "a [[agents.members]] table" if member else "a table ([agents.fallback]"
            raise ConfigError(f"{where} must be {table} with kind = ... and model or strategy{'' if member else ')'}, not {_shown(value)}.")
        value = dict(value)
        if not value.get("name"):
            value["name"] = str(value.get("model") or value.get("strategy") or ("member" if member else "fallback"))
        return _build(AgentConfig, value, where)
    if origin is dict:  # a table of coin -> number ([venue] coin_max_leverage = {BTC = 40})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table of coin = number, such as {{BTC = 40.0}} (got {_shown(value)}).")
        return {str(k).upper(): _coerce(v, float, f"{where}.{k}") for k, v in value.items()}
    if typ in (AccountSeed, SeedPosition, FeeTier):  # [agents.account], its positions, [[fees.schedule]]
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table, not {_shown(value)}.")
        return _build(typ, value, where)
    if origin is tuple:
        (inner, *_rest) = get_args(typ)
        if inner in (SeedPosition, FeeTier):
            if not isinstance(value, (list, tuple)):
                table = "[[agents.account.positions]]" if inner is SeedPosition else "[[fees.schedule]]"
                raise ConfigError(f"{where} must be an array of tables ({table}), not {_shown(value)}.")
            return tuple(_coerce(v, inner, f"{where}[{j}]") for j, v in enumerate(value))
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list (got {_shown(value)}).")
        if inner is AgentConfig:  # a swarm's members: each named by its place
            return tuple(_coerce(v, inner, f"{where}[{j}]") for j, v in enumerate(value))
        return tuple(_coerce(v, inner, where) for v in value)
    return value


def _build(cls: type, data: Mapping[str, Any], where: str, base: Any = None) -> Any:
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = dataclasses.asdict(base) if base is not None else {}
    for key, value in data.items():
        if key.lower() in SECRET_KEYS:
            raise ConfigError(
                f"{where}.{key}: secrets do not belong in the config file; put the key in an environment variable and name it with api_key_env."
            )
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{key}'; allowed keys are {', '.join(names)}.")
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = str(exc).split("argument")[-1].strip(": ")
        raise ConfigError(f"{where} is missing {missing}.") from None


def _validate(cfg: Config, where: str) -> None:
    m = cfg.market
    if m.source not in ("recorded", "live"):
        raise ConfigError(f"{where} market.source must be 'recorded' or 'live' (got {_shown(m.source)}).")
    # market.exchange: any ccxt id; LiveMarket refuses text that is no id (ConfigError when built) and an
    # exchange ccxt does not know or that lacks perps (MarketError at the first snapshot)
    live = m.source == "live"
    for c in m.coins:
        # live: any ticker (the exchange's list is checked when its markets load); recorded: the bundled six
        if (re.fullmatch(r"[A-Z0-9]{1,15}", c.upper()) is None) if live else (c.upper() not in COINS):
            # a coin is a short ticker: a long value is not echoed (it may be a pasted key, upper-cased
            # past what redaction recognises)
            shown = _shown(c) if len(c) <= 12 else f"{_shown(c[:4])[:-1]}...' ({len(c)} characters)"
            if live:
                raise ConfigError(f"{where} market.coins: unknown coin {shown}; a coin is a ticker of 1-15 letters and digits, such as BTC or LINK.")
            raise ConfigError(
                f"{where} market.coins: unknown coin {shown}; the bundled market has only {', '.join(COINS)}, "
                'and a live exchange (market.source = "live") can trade others.'
            )
    for key in ("intraday_timeframe", "context_timeframe"):
        tf = getattr(m, key)
        if tf not in TIMEFRAME_MS:
            raise ConfigError(f"{where} market.{key}: unknown timeframe {_shown(tf)}; use one of {', '.join(TIMEFRAME_MS)}.")
    if m.cycle_interval and m.cycle_interval not in TIMEFRAME_MS:
        raise ConfigError(f"{where} market.cycle_interval: {_shown(m.cycle_interval)} is not a timeframe; use one of {', '.join(TIMEFRAME_MS)}.")
    if m.speed < 0:
        raise ConfigError(f"{where} market.speed must be 0 or more seconds per cycle (got {m.speed}).")
    r = cfg.risk
    base_mmr = cfg.venue.maintenance_margin_rate
    top = 1.0 / base_mmr if base_mmr else math.inf  # at or past it a position opens already liquidated
    if not (1 <= r.min_leverage <= r.max_leverage < top):
        raise ConfigError(
            f"{where} risk: leverage bounds must satisfy 1 <= min_leverage <= max_leverage < {top:g} "
            f"(at {top:g}x the {base_mmr:.1%} maintenance margin liquidates a position as it opens)."
        )
    if not 0 < r.max_margin_usage <= 1:
        raise ConfigError(f"{where} risk.max_margin_usage must be in (0, 1] (got {r.max_margin_usage}).")
    if r.min_notional < 0:
        raise ConfigError(f"{where} risk.min_notional must be 0 or more USD (got {r.min_notional}).")
    if r.max_open_positions < 1:
        raise ConfigError(f"{where} risk.max_open_positions must be 1 or more (got {r.max_open_positions}); an agent needs room for a position.")
    if not 0 <= r.daily_loss_limit_pct <= 100:
        raise ConfigError(f"{where} risk.daily_loss_limit_pct must be a percent from 0 (off) to 100 (got {r.daily_loss_limit_pct}).")
    if not 0 <= r.min_confidence <= 100:
        raise ConfigError(f"{where} risk.min_confidence must be a percent from 0 (off) to 100 (got {r.min_confidence}).")
    if not 0 <= r.max_position_pct <= 100:
        raise ConfigError(f"{where} risk.max_position_pct must be a percent of account value from 0 (off) to 100 (got {r.max_position_pct}).")
    if r.max_correlated_positions < 0:
        raise ConfigError(f"{where} risk.max_correlated_positions must be 0 (off) or more positions (got {r.max_correlated_positions}).")
    if not -1 <= r.correlation_threshold <= 1:
        raise ConfigError(f"{where} risk.correlation_threshold must be a correlation from -1 to 1 (got {r.correlation_threshold}).")
    if not 3 <= r.correlation_window <= 10_000:
        raise ConfigError(f"{where} risk.correlation_window must be 3 to 10,000 candles (got {r.correlation_window}).")
    fees = cfg.fees
    for key in ("taker_fee_bp", "maker_fee_bp", "slippage_bp"):
        bp = getattr(fees, key)
        if not 0 <= bp < MAX_FEE_BP:
            raise ConfigError(
                f"{where} fees.{key} must be 0 or more basis points and below {MAX_FEE_BP:g} (100% of the notional) (got {bp})."
            )
    from arena_tui.engine.market.base import parse_time

    for j, tier in enumerate(fees.schedule):
        at = f"{where} fees.schedule[{j}]"
        try:
            parse_time(tier.start)
        except (ConfigError, ValueError, TypeError, OverflowError):
            raise ConfigError(f"{at}.start {_shown(tier.start)} is not an ISO-8601 UTC time such as 2025-10-22T00:00:00Z.") from None
        for key in ("taker_fee_bp", "maker_fee_bp"):
            bp = getattr(tier, key)
            if not 0 <= bp < MAX_FEE_BP:
                raise ConfigError(f"{at}.{key} must be 0 or more basis points and below {MAX_FEE_BP:g} (got {bp}).")
    v = cfg.venue
    if v.margin_mode not in MARGIN_MODES:
        raise ConfigError(f"{where} venue.margin_mode must be one of {', '.join(MARGIN_MODES)} (got {_shown(v.margin_mode)}).")
    if not 0 <= v.maintenance_margin_rate < 1:
        raise ConfigError(f"{where} venue.maintenance_margin_rate must be a fraction of notional from 0 to below 1 (got {v.maintenance_margin_rate}).")
    for coin, rate in v.coin_maintenance_margin.items():
        if not 0 <= rate < 1:
            raise ConfigError(f"{where} venue.coin_maintenance_margin.{coin} must be a fraction of notional from 0 to below 1 (got {rate}).")
    for coin in sorted(set(v.coin_max_leverage) | set(v.coin_maintenance_margin)):
        # the most leverage an entry in the coin may ask must open above its liquidation price
        lev = min(v.coin_max_leverage.get(coin, r.max_leverage), r.max_leverage)
        mmr = v.coin_maintenance_margin.get(coin, v.maintenance_margin_rate)
        if v.coin_max_leverage.get(coin, 1.0) < 1 or lev * mmr >= 1:
            raise ConfigError(
                f"{where} venue: {coin} may be traded at {lev:g}x, but its maintenance margin of {mmr:.2%} liquidates a "
                f"position at {1 / mmr if mmr else float('inf'):g}x as it opens; set venue.coin_max_leverage.{coin} to 1x or more and "
                f"below {1 / mmr if mmr else float('inf'):g}x."
            )
    for i, a in enumerate(cfg.agents):
        for j, p in enumerate(a.account.positions if a.account is not None else ()):
            if p.coin.upper() not in {c.upper() for c in m.coins}:
                raise ConfigError(
                    f"{where} agents[{i}].account.positions[{j}].coin {_shown(p.coin)} is not traded in this session "
                    f"(market.coins: {', '.join(m.coins)}); add it to market.coins or remove the position."
                )
            mmr = v.coin_maintenance_margin.get(p.coin.upper(), v.maintenance_margin_rate)
            if p.leverage * mmr >= 1:
                raise ConfigError(
                    f"{where} agents[{i}].account.positions[{j}].leverage {p.leverage:g}x is at or past the liquidation price "
                    f"at {p.coin.upper()}'s {mmr:.2%} maintenance margin; use less than {1 / mmr:g}x."
                )
    ar = cfg.arena
    if looks_like_key(ar.name):
        raise ConfigError(f"{where} arena.name looks like an API key; name the session, and put keys in environment variables named by api_key_env.")
    if not 0 < ar.starting_cash <= MAX_STARTING_CASH:
        raise ConfigError(f"{where} arena.starting_cash must be a positive amount of USD up to {MAX_STARTING_CASH:g} (got {ar.starting_cash}).")
    if ar.agent_timeout_s <= 0:
        raise ConfigError(f"{where} arena.agent_timeout_s must be a positive number of seconds (got {ar.agent_timeout_s}).")
    if ar.answer_cache and live:
        raise ConfigError(
            f"{where} arena.answer_cache works on the recorded market only (a live market never repeats a prompt); "
            'set it to false for market.source = "live".'
        )
    if ar.halt_after_failures < 0:
        raise ConfigError(
            f"{where} arena.halt_after_failures must be 1 or more failed cycles in a row, or 0 to never halt (got {ar.halt_after_failures})."
        )
    if not 0 <= ar.halt_drawdown_pct <= 100:
        raise ConfigError(f"{where} arena.halt_drawdown_pct must be a percent from 0 (never) to 100 (got {ar.halt_drawdown_pct}).")
    seen = set()
    for i, a in enumerate(cfg.agents):
        at = f"{where} agents[{i}]"
        _check_agent(a, at)
        if a.name in seen:
            raise ConfigError(f"{at} ('{a.name}'): the name is used twice; give every agent its own name.")
        seen.add(a.name)
        fb = a.fallback
        if fb is not None:
            _check_agent(fb, f"{at}.fallback")
            if fb.fallback is not None:
                raise ConfigError(f"{at}.fallback has a fallback of its own; one fallback per agent, remove the inner one.")
            if fb.kind == "recorded":
                raise ConfigError(f"{at}.fallback: kind 'recorded' cannot stand in for a model; use a model or kind = \"baseline\".")
            if fb.account is not None:
                raise ConfigError(f"{at}.fallback has an account of its own; a fallback trades its agent's account, so move [agents.account] to the agent.")
            if fb.kind == "swarm":
                raise ConfigError(f"{at}.fallback: kind 'swarm' cannot be a fallback; use a model or kind = \"baseline\".")
            _check_swarm(fb, f"{at}.fallback")
        _check_swarm(a, at)
        _check_prompts(a, at)


def _check_prompts(a: AgentConfig, at: str) -> None:
    """An agent's own prompt templates (``system_prompt``/``user_prompt``): for an agent that is
    prompted (a model, a swarm, a recorded one), not a baseline; never on a fallback or a swarm
    member (they answer the agent's prompt). The files are read when the session starts."""
    loc = f"{at} ('{a.name}')"
    for key in ("system_prompt", "user_prompt"):
        value = getattr(a, key)
        if "\0" in value:
            raise ConfigError(f"{loc}: {key} holds a NUL character; name a template file.")
        if value and a.kind == "baseline":
            raise ConfigError(f"{loc}: {key} applies to model agents only (a baseline reads no prompt); remove it.")
    for role, sub in [("fallback", a.fallback)] + [(f"members[{j}]", m) for j, m in enumerate(a.members)]:
        if sub is None:
            continue
        for key in ("system_prompt", "user_prompt"):
            if getattr(sub, key):
                raise ConfigError(
                    f"{at}.{role} ('{sub.name}'): {key} cannot be set here, as it answers the agent's own prompt; "
                    f"set {key} on the agent itself."
                )


def _check_swarm(a: AgentConfig, at: str) -> None:
    """A swarm's own checks (its members, vote and quorum), and that only a swarm has members."""
    loc = f"{at} ('{a.name}')"
    if a.vote not in VOTE_RULES:
        raise ConfigError(f"{loc}: vote {_shown(a.vote)} is not one of {', '.join(VOTE_RULES)}.")
    if a.quorum < 0:
        raise ConfigError(f"{loc}: quorum must be 0 (a majority of the members) or more members (got {a.quorum}).")
    if a.kind != "swarm":
        if a.members:
            raise ConfigError(f"{loc}: only kind = \"swarm\" has members; set kind = \"swarm\" or remove the [[agents.members]] tables.")
        return
    n = len(a.members)
    if not 2 <= n <= MAX_SWARM_MEMBERS:
        raise ConfigError(f"{loc}: a swarm needs 2 to {MAX_SWARM_MEMBERS} members (got {n}); add [[agents.members]] tables of kind, model or strategy.")
    if a.fallback is not None:
        raise ConfigError(f"{at}.fallback: a swarm has no fallback (its members that fail do not vote); remove [agents.fallback].")
    if a.quorum > n:
        raise ConfigError(f"{loc}: quorum {a.quorum} is more than its {n} members; set it to {n} or less (0 = a majority).")
    names: set[str] = set()
    for j, m in enumerate(a.members):
        mat = f"{at}.members[{j}]"
        _check_agent(m, mat)
        if m.kind in ("swarm", "recorded"):
            raise ConfigError(f"{mat} ('{m.name}'): kind '{m.kind}' cannot be a swarm member; use a model or kind = \"baseline\".")
        if m.fallback is not None:
            raise ConfigError(f"{mat}.fallback: a swarm member has no fallback (a member that fails does not vote); remove it.")
        if m.account is not None:
            raise ConfigError(f"{mat}.account: a swarm member trades the swarm's account; move [agents.account] to the swarm.")
        if m.members:
            raise ConfigError(f"{mat} ('{m.name}'): a member has no members of its own; remove its [[agents.members]] tables.")
        if m.name in names:
            raise ConfigError(f"{mat} ('{m.name}'): the name is used twice in the swarm; give each member a name of its own.")
        names.add(m.name)


def _check_agent(a: AgentConfig, at: str) -> None:
    """One agent entry's own checks (its name, kind and the settings of that kind); ``at`` names it."""
    if not a.name.strip():
        raise ConfigError(f"{at}.name is empty; give every agent a name of its own.")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in a.name):
        raise ConfigError(f"{at}.name holds a control character or line break; use printable characters only.")
    if looks_like_key(a.name):
        raise ConfigError(f"{at}.name looks like an API key; name the agent, and put the key in an environment variable named by api_key_env.")
    loc = f"{at} ('{a.name}')"
    if a.format not in DECISION_FORMATS:
        raise ConfigError(f"{loc}: format {_shown(a.format)} is not one of {', '.join(DECISION_FORMATS)}.")
    if a.kind not in AGENT_KINDS:
        raise ConfigError(f"{loc}: kind {_shown(a.kind)} is not one of {', '.join(AGENT_KINDS)}.")
    if a.api_key_env and not ENV_NAME.fullmatch(a.api_key_env):
        raise ConfigError(
            f"{at}.api_key_env names the environment variable holding the key, not the key itself; "
            "set it to a name like OPENAI_API_KEY (letters, digits and _) and put the key in that variable."
        )
    if a.max_tokens < 1:
        raise ConfigError(f"{loc}: max_tokens must be 1 or more tokens (got {a.max_tokens}).")
    if a.timeout_s <= 0:
        raise ConfigError(f"{loc}: timeout_s must be a positive number of seconds (got {a.timeout_s}).")
    if a.retries < 0:
        raise ConfigError(f"{loc}: retries must be 0 or more (got {a.retries}).")
    if a.temperature is not None and a.temperature < 0:
        raise ConfigError(f"{loc}: temperature must be 0 or more (got {a.temperature}); leave it out for the provider's default.")
    for key in ("price_input_per_mtok", "price_output_per_mtok", "price_cached_input_per_mtok",
                "price_reasoning_per_mtok", "budget_usd_per_day"):
        if (getattr(a, key) or 0) < 0:
            raise ConfigError(f"{loc}: {key} must be 0 or more USD (got {getattr(a, key)}).")
    if a.budget_tokens_per_day < 0:
        raise ConfigError(f"{loc}: budget_tokens_per_day must be 0 (no budget) or more tokens (got {a.budget_tokens_per_day}).")
    if a.thinking_budget < 0:
        raise ConfigError(f"{loc}: thinking_budget must be 0 (off) or more tokens (got {a.thinking_budget}).")
    if a.kind in ("openai", "anthropic", "openai-compatible"):
        check_thinking(loc, a.kind, a.thinking, a.thinking_budget, a.thinking_display, a.reasoning_effort,
                       a.reasoning_summary, a.max_tokens)
    if a.kind == "baseline" and a.strategy not in BASELINE_STRATEGIES:
        raise ConfigError(f"{loc}: strategy {_shown(a.strategy)} is not one of {', '.join(BASELINE_STRATEGIES)}.")
    if a.kind in ("openai", "anthropic", "openai-compatible") and not a.model:
        raise ConfigError(f"{loc}: set model (for example 'gpt-5' or 'claude-sonnet-4-5').")
    if a.kind == "openai-compatible" and not a.base_url:
        raise ConfigError(f"{loc}: set base_url (for example 'http://127.0.0.1:11434/v1' for Ollama).")
    if a.kind == "recorded" and not a.path:
        raise ConfigError(f"{loc}: set path to a JSONL file of recorded responses.")
    if a.timing not in RECORDED_TIMINGS:
        raise ConfigError(f"{loc}: timing {_shown(a.timing)} is not one of {', '.join(RECORDED_TIMINGS)}.")
    if not 0 <= a.stream_chars_per_s <= 1e6:
        raise ConfigError(f"{loc}: stream_chars_per_s must be 0 (at once) to 1,000,000 characters a second (got {a.stream_chars_per_s}).")
    if a.account is not None:
        _check_account(a.account, f"{at}.account")


def _check_account(seed: AccountSeed, at: str) -> None:
    """An ``[agents.account]``'s own checks: amounts, sides and one position per coin."""
    if seed.cash < 0:
        raise ConfigError(f"{at}.cash must be 0 or more USD (got {seed.cash}).")
    if not 0 <= seed.starting_value <= MAX_STARTING_CASH:
        raise ConfigError(f"{at}.starting_value must be 0 (= [arena] starting_cash) or a positive amount of USD (got {seed.starting_value}).")
    seen: set[str] = set()
    for j, p in enumerate(seed.positions):
        loc = f"{at}.positions[{j}]"
        coin = p.coin.upper()
        if coin in seen:
            raise ConfigError(f"{loc}: {_shown(p.coin)} has two positions; one position per coin.")
        seen.add(coin)
        if p.side not in SEED_SIDES:
            raise ConfigError(f"{loc}.side must be \"long\" or \"short\" (got {_shown(p.side)}).")
        for key in ("quantity", "entry_price", "leverage"):
            if getattr(p, key) <= 0:
                raise ConfigError(f"{loc}.{key} must be a positive number (got {getattr(p, key)}).")
        if p.mark_price < 0:
            raise ConfigError(f"{loc}.mark_price must be 0 (= the entry price) or a positive price (got {p.mark_price}).")
        if p.entry_time:
            from arena_tui.engine.market.base import parse_time

            try:
                parse_time(p.entry_time)
            except (ConfigError, ValueError, TypeError, OverflowError):
                raise ConfigError(f"{loc}.entry_time {_shown(p.entry_time)} is not an ISO-8601 UTC time such as 2025-10-28T06:13:22Z.") from None


ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "ARENA_SOURCE": ("market", "source"),
    "ARENA_EXCHANGE": ("market", "exchange"),
    "ARENA_COINS": ("market", "coins"),
    "ARENA_START": ("market", "start"),
    "ARENA_CYCLE_INTERVAL": ("market", "cycle_interval"),
    "ARENA_SPEED": ("market", "speed"),
    "ARENA_THEME": ("ui", "theme"),
    "ARENA_SESSIONS_DIR": ("arena", "sessions_dir"),
}


def load_config(
    path: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    cwd: Path | None = None,
    data: Mapping[str, Any] | None = None,
    agents: tuple[AgentConfig, ...] | None = None,
) -> Config:
    """Resolve the configuration: defaults < TOML file < environment (ARENA_*) < ``overrides``
    (CLI flags as ``{"market": {"start": ...}}``). Raises ``ConfigError`` naming file and key.
    ``data`` (a preset: the sections as a TOML file would hold them) replaces the file, and
    ``agents`` (already built) its ``[[agents]]``."""
    environ = os.environ if environ is None else environ
    file = find_config_file(path, cwd) if data is None else None
    where = str(file) if file else ("the preset" if data is not None else "config")
    data = dict(data) if data is not None else {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8-sig"))  # a BOM (Notepad) is not TOML's business
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML ({exc}); fix that line or regenerate it with --init-config.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file} cannot be read ({exc}).") from None
        except RecursionError:
            raise ConfigError(f"{file} nests arrays or tables too deeply to read; a config needs two levels at most.") from None
        except ValueError as exc:  # tomllib's own limits, e.g. an integer of more than 4,300 digits
            raise ConfigError(f"{file} holds a value TOML cannot read here ({_shown(str(exc)[:80])}); fix it or regenerate the file with --init-config.") from None
    unknown = set(data) - set(SECTIONS) - {"agents"}
    if unknown:
        raise ConfigError(f"{where}: unknown section '{sorted(unknown)[0]}'; allowed are {', '.join([*SECTIONS, 'agents'])}.")
    sections: dict[str, Any] = {}
    origins: dict[tuple[str, str], str] = {}
    """(section, key) -> where its value came from, when not the file: a check that fails on it says so."""
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [{name}] must be a table.")
        sec = _build(cls, raw, f"{where} {name}")
        env_vars = {key: var for var, (s, key) in ENV_OVERRIDES.items() if s == name and var in environ}
        hints = get_type_hints(cls)
        env_conv = {}
        for key, var in env_vars.items():
            val = environ[var]
            if hints[key] is float:
                try:
                    val = float(val)
                except ValueError:
                    raise ConfigError(f"environment variable {var} ({name}.{key}) must be a number (got {_shown(val)}).") from None
            env_conv[key] = val
            origins[(name, key)] = f"environment variable {var}"
        if env_conv:
            sec = _build(cls, env_conv, f"environment {name}", base=sec)
        if overrides and overrides.get(name):
            sec = _build(cls, dict(overrides[name]), f"command line {name}", base=sec)
            for key in overrides[name]:
                origins[(name, key)] = CLI_FLAGS.get((name, key), "the command line")
        sections[name] = sec
    raw_agents = data.get("agents", [])
    if not isinstance(raw_agents, list):
        raise ConfigError(f"{where}: agents must be an array of tables ([[agents]]).")
    for i, a in enumerate(raw_agents):
        if not isinstance(a, dict):
            raise ConfigError(f"{where}: agents[{i}] must be a table ([[agents]] with name = ... and kind = ...), not {_shown(a)}.")
    if agents is None:
        agents = tuple(_build(AgentConfig, a, f"{where} agents[{i}]") for i, a in enumerate(raw_agents))
    if not agents:
        agents = default_baselines() + env_agents(environ)
    market = sections["market"]
    market = dataclasses.replace(market, coins=tuple(c.upper() for c in market.coins))
    cfg = Config(market=market, fees=sections["fees"], risk=sections["risk"], venue=sections["venue"], arena=sections["arena"], ui=sections["ui"], agents=agents, source=str(file or ""))
    try:
        _validate(cfg, where)
        _validate_paths(cfg, where)
    except ConfigError as exc:
        raise ConfigError(_blame(str(exc), where, origins)) from None
    return cfg


CLI_FLAGS: dict[tuple[str, str], str] = {
    ("market", "coins"): "--coins", ("market", "start"): "--start", ("market", "speed"): "--speed",
    ("market", "source"): "--source", ("market", "exchange"): "--exchange", ("ui", "theme"): "--theme",
    ("arena", "name"): "--name", ("arena", "answer_cache"): "--answer-cache", ("arena", "answer_cache_dir"): "--answer-cache",
}
"""The command-line flag that sets a config key (``cli.overrides_from``), for error sentences."""


def _blame(message: str, where: str, origins: Mapping[tuple[str, str], str]) -> str:
    """``message`` (a check's sentence, starting ``"<where> <section>.<key>"``) naming the environment
    variable or flag the value came from instead of the file, when it came from one."""
    m = re.match(re.escape(where) + r" (\w+)\.(\w+)", message)
    if m is None or (m[1], m[2]) not in origins:
        return message
    return f"{origins[(m[1], m[2])]} ({m[1]}.{m[2]})" + message[m.end():]


def _validate_paths(cfg: Config, where: str) -> None:
    """Paths that must name a directory do, or can become one (checked when loading, not on resume:
    a journal header's paths belong to the machine that wrote it)."""
    raw = cfg.arena.sessions_dir
    if "\0" in raw:
        raise ConfigError(f"{where} arena.sessions_dir holds a NUL character; name a directory.")
    p = Path(raw).expanduser()
    for q in (p, *p.parents):
        try:
            if not q.exists():
                continue
            if q.is_dir():
                return
        except OSError as exc:
            raise ConfigError(f"{where} arena.sessions_dir cannot be checked ({exc.strerror or exc}); name a directory you can write to.") from None
        what = "is a file" if q == p else f"lies under {q}, which is a file"
        raise ConfigError(f"{where} arena.sessions_dir: {p} {what}; name a directory for the session journals.")


# --- the starter config (--init-config): generated from the dataclasses above, so it lists every option

STARTER_NOTES: dict[tuple[str, str], str] = {
    ("market", "source"): '"recorded": the bundled real market (Binance perps, Aug-Nov 2025); "live": an exchange via ccxt',
    ("market", "exchange"): 'live only: a ccxt exchange id with USDT (or USDC) perps: "hyperliquid", "binanceusdm", "bybit", "okx"...',
    ("market", "coins"): f"the coins traded: recorded, any of {', '.join(COINS)}; live, any the exchange lists (e.g. LINK)",
    ("market", "intraday_timeframe"): "the intraday series in the prompt (the bundled data's finest is 5m)",
    ("market", "context_timeframe"): f"the longer-term context; timeframes: {', '.join(TIMEFRAME_MS)}",
    ("market", "start"): "recorded only: where the simulated clock starts, UTC (Alpha Arena Season 1 began Oct 17)",
    ("market", "cycle_interval"): '"" = 5m recorded, 3m live (as Alpha Arena)',
    ("market", "speed"): "recorded only: wall seconds between cycles on screen (0 = as fast as possible)",
    ("fees", "taker_fee_bp"): "basis points of notional, Hyperliquid base tier; the agents' market orders pay it",
    ("fees", "maker_fee_bp"): "basis points, for fills resting at their own price",
    ("fees", "slippage_bp"): "taker fills move this much against the trader",
    ("risk", "allow_adding"): "an entry on the side already held adds to it at the average entry price (false: refused)",
    ("risk", "allow_partial_close"): "a close asking for less than the position's quantity closes that much (false: all of it)",
    ("risk", "allow_reversal"): "an entry on the other side closes the position, then opens the new one (false: refused)",
    ("fees", "schedule"): "later fee tiers: [[fees.schedule]] start = ISO time, taker_fee_bp, maker_fee_bp (Season 1: 4.0/1.2 from 2025-10-22)",
    ("fees", "take_profit_maker"): "take-profits rest as limit orders: filled at the level as a maker (a gap through one: a taker)",
    ("venue", "margin_mode"): '"isolated" (each position on its own margin) | "cross" (the account stands behind each; Alpha Arena ran cross)',
    ("venue", "maintenance_margin_rate"): "liquidation below this fraction of notional (0.025: half the initial margin at 20x, as Hyperliquid)",
    ("venue", "coin_maintenance_margin"): "per-coin rates, e.g. {BTC = 0.0125} (Hyperliquid: half the initial margin at the coin's max leverage)",
    ("venue", "coin_max_leverage"): "per-coin leverage caps, e.g. {BTC = 40.0, DOGE = 10.0} (Hyperliquid's margin tiers)",
    ("risk", "min_leverage"): "lowest leverage an entry may use",
    ("risk", "max_leverage"): "highest; must stay below the leverage that liquidates a position as it opens",
    ("risk", "min_notional"): "USD: the smallest entry (quantity x price)",
    ("risk", "max_open_positions"): "per agent",
    ("risk", "max_margin_usage"): "share of account value that may be posted as margin (0-1]",
    ("risk", "daily_loss_limit_pct"): "percent lost since the UTC day began that stops new entries (0 = off)",
    ("risk", "min_confidence"): "percent 0-100: entries with a lower confidence are refused (0 = off)",
    ("risk", "max_position_pct"): 'format = "percent" agents: percent of account value one entry\'s margin may use (0 = off)',
    ("risk", "max_correlated_positions"): "at most this many same-side positions in coins that move together (0 = off)",
    ("risk", "correlation_threshold"): "Pearson correlation of 5m returns from which two coins move together",
    ("risk", "correlation_window"): "candles of the finest timeframe the correlation is measured over (48 x 5m = 4 h)",
    ("arena", "name"): "names the session journal: sessions/<UTC time>-<name>.jsonl",
    ("arena", "starting_cash"): "USD each agent starts with",
    ("arena", "agent_timeout_s"): "seconds an agent has to decide each cycle (caps every agent's timeout_s)",
    ("arena", "halt_after_failures"): "halt an agent after this many failed cycles in a row (0 = never)",
    ("arena", "halt_drawdown_pct"): "halt an agent whose drawdown from peak passes this percent (0 = never)",
    ("arena", "sessions_dir"): "where session journals are written",
    ("arena", "system_prompt"): 'path to your own system prompt template ("" = bundled)',
    ("arena", "user_prompt"): 'path to your own user prompt template ("" = bundled)',
    ("arena", "answer_cache"): "recorded only: answer a prompt asked before from disk, at no cost (re-running a backtest)",
    ("arena", "answer_cache_dir"): '"" = the user cache directory (~/.cache/arena-tui/answers on Linux)',
    ("ui", "theme"): 'or "arena-light", or a theme file in the config directory\'s themes/',
    ("agents", "name"): "unique; shown on screen and in the journal",
    ("agents", "kind"): " | ".join(AGENT_KINDS),
    ("agents", "model"): "the provider's model id",
    ("agents", "base_url"): '"" = the provider\'s own endpoint; required for openai-compatible',
    ("agents", "api_key_env"): 'NAME of the variable holding the key ("" = OPENAI_API_KEY or ANTHROPIC_API_KEY by kind)',
    ("agents", "temperature"): "unset = the provider's default (reasoning models accept no other)",
    ("agents", "max_tokens"): "output tokens per answer",
    ("agents", "timeout_s"): "seconds per decision, retries included (capped by [arena] agent_timeout_s)",
    ("agents", "retries"): "extra attempts after a rate limit, server or connection error",
    ("agents", "price_input_per_mtok"): "USD per million input tokens, for the cost shown and budget_usd_per_day",
    ("agents", "price_output_per_mtok"): "USD per million output tokens",
    ("agents", "budget_tokens_per_day"): "hold the agent for the rest of the UTC day past this many tokens (0 = none)",
    ("agents", "budget_usd_per_day"): "... or past this cost in USD (0 = none)",
    ("agents", "price_cached_input_per_mtok"): "USD per million input tokens read from the prompt cache (unset = the input price)",
    ("agents", "price_reasoning_per_mtok"): "USD per million reasoning/thinking tokens (unset = the output price)",
    ("agents", "reasoning_effort"): 'openai: "low", "medium", "high" (also "none", "minimal", "xhigh" where the model takes them); anthropic: "low" ... "max" ("" = default)',
    ("agents", "reasoning_summary"): 'openai: "auto", "concise" or "detailed" reasoning summaries stream into the pane; "off" for models without reasoning',
    ("agents", "thinking"): 'anthropic: "adaptive" (Claude 4.6+), "enabled" (manual, with thinking_budget; refused from 4.7 on) or "off"',
    ("agents", "thinking_budget"): 'anthropic, thinking = "enabled": thinking tokens, 1024 or more and below max_tokens',
    ("agents", "thinking_display"): 'anthropic: "summarized" or "omitted" ("" = summarized with adaptive thinking, else the model\'s default)',
    ("agents", "format"): '"alpha-arena" (coins, stop and target prices) | "percent" (size %, stop %, take-profit ladder)',
    ("agents", "strategy"): " | ".join(BASELINE_STRATEGIES),
    ("agents", "path"): "recorded only: a JSONL file of recorded model responses",
    ("agents", "system_prompt"): 'this agent\'s own system prompt template ("" = [arena] system_prompt)',
    ("agents", "user_prompt"): 'this agent\'s own user prompt template ("" = [arena] user_prompt): one model, two prompts',
    ("agents", "fallback"): "asked when this model fails or its answer does not parse: another model, or a baseline",
    ("agents", "vote"): "swarm: " + " | ".join(VOTE_RULES) + " (per coin; unanimous: for entries)",
    ("agents", "quorum"): "swarm: members that must answer, else it holds (0 = a majority)",
    ("agents", "members"): "a swarm member: an agent entry like any other (name defaults to its model or strategy)",
    ("agents", "account"): "start from this account, not [arena] starting_cash: cash, starting_value, [[agents.account.positions]]",
    ("agents", "timing"): 'recorded: "latest" (each cycle the latest answer) | "once" (each answer once, at its time)',
    ("agents", "stream_chars_per_s"): "recorded: the pace its recorded reasoning streams at (characters a second; 0 = at once)",
}
"""The comment beside each key of the starter config, by (section, key); ``agents`` stands for
``AgentConfig``. Every field has one: tests/test_starter_config.py fails on a field without."""

STARTER_UNSET_EXAMPLES: dict[tuple[str, str], Any] = {
    ("agents", "temperature"): 0.7,
    ("agents", "price_cached_input_per_mtok"): 0.125,
    ("agents", "price_reasoning_per_mtok"): 10.0,
    ("agents", "fallback"): {"kind": "baseline", "strategy": "trend_follower"},
    ("agents", "account"): {
        "cash": 4000.0, "starting_value": 10000.0,
        "positions": [{"coin": "BTC", "side": "long", "quantity": 0.1, "entry_price": 110000.0, "leverage": 20.0,
                       "stop_loss": 106000.0, "profit_target": 118000.0}],
    },
}
"""A value to show, commented out, for a field whose default is ``None`` (TOML has no null)."""

STARTER_KIND_FIELDS: dict[str, str] = {
    "thinking": "anthropic", "thinking_budget": "anthropic", "thinking_display": "anthropic",
    "strategy": "baseline", "path": "recorded", "timing": "recorded", "stream_chars_per_s": "recorded", "vote": "swarm", "quorum": "swarm", "members": "swarm",
}
"""Agent fields that mean something to one kind only: shown in that kind's examples, not the first."""

STARTER_KIND_EXAMPLES: dict[str, Any] = {"timing": "once", "stream_chars_per_s": 400.0, "thinking_budget": 2048, "thinking_display": "summarized", "vote": "majority"}
"""A value to show, commented out, for a kind-only field the kind's example leaves at its default."""

_NOTE_COLUMN = 31  # where the comment beside a key begins


def _starter_agents() -> tuple[tuple[AgentConfig, dict[str, str], bool], ...]:
    """The example agents: (agent, comments replacing the generic ones, commented out). The first
    shows every option an LLM agent has; the others only what they set."""
    baselines = tuple((a, {}, False) for a in default_baselines())
    return (
        (
            AgentConfig(
                name="GPT-5.5", kind="openai", model="gpt-5.5", api_key_env="OPENAI_API_KEY",
                price_input_per_mtok=1.25, price_output_per_mtok=10.0, budget_usd_per_day=5.0,
                reasoning_effort="medium", reasoning_summary="auto",
            ),
            {},
            False,
        ),
        (
            AgentConfig(
                name="Claude Sonnet 4.6", kind="anthropic", model="claude-sonnet-4-6", api_key_env="ANTHROPIC_API_KEY",
                thinking="adaptive", reasoning_effort="medium", price_input_per_mtok=3.0, price_output_per_mtok=15.0,
                price_cached_input_per_mtok=0.3,
            ),
            {"reasoning_effort": 'output_config.effort: "low", "medium", "high", "xhigh" or "max" ("" = default)'},
            False,
        ),
        (
            AgentConfig(name="Qwen3 (local, Ollama)", kind="openai-compatible", model="qwen3:8b", base_url="http://127.0.0.1:11434/v1"),
            {"base_url": "Ollama; vLLM: http://127.0.0.1:8000/v1, llama.cpp: http://127.0.0.1:8080/v1"},
            False,
        ),
        *baselines,
        (
            AgentConfig(name="Replayed model", kind="recorded", path="responses.jsonl"),
            {"name": "replays a model's recorded answers, offline"},
            True,
        ),
        (
            AgentConfig(
                name="Swarm", kind="swarm", vote="majority", quorum=2,
                members=(
                    AgentConfig(name="gpt-5.5", kind="openai", model="gpt-5.5"),
                    AgentConfig(name="claude-sonnet-4-6", kind="anthropic", model="claude-sonnet-4-6"),
                    AgentConfig(name="trend_follower", kind="baseline", strategy="trend_follower"),
                ),
            ),
            {"name": "one account traded by its members' vote (agents.swarm)"},
            True,
        ),
    )


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _starter_key(key: str, value: Any, note: str, *, commented: bool = False) -> list[str]:
    """The lines of ``key = value`` as tomli-w writes them, commented out with ``commented``, with
    ``note`` beside (or, for a value of several lines, above)."""
    if isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values()):
        # coin = number: an inline table (tomli-w writes a table on its own as a sub-table, which would
        # end the section; in an array it writes it inline)
        lines = [f"{key} = " + tomli_w.dumps({key: [value]}).split("\n")[1].strip().removesuffix(",")]
    else:
        lines = tomli_w.dumps({key: value}).rstrip("\n").split("\n")
    if commented:
        lines = ["# " + line for line in lines]
    if note and len(lines) == 1:
        lines[0] = lines[0].ljust(_NOTE_COLUMN - 1) + " # " + note
    elif note:
        lines.insert(0, "# " + note)
    return lines


def starter_config_text() -> str:
    """The commented starter config: every field of every section with its default (values written
    by tomli-w, a comment beside each from ``STARTER_NOTES``), then example agents that together
    show every agent option. Loads back to the defaults and those agents."""
    out = [
        "# arena-tui configuration. Precedence: defaults < this file < environment (ARENA_*) < command-line flags.",
        "# API keys never go in this file: each LLM agent names the environment variable holding its key.",
        "# Every option is listed; the sections show the defaults, so delete what you do not change.",
    ]
    for section, cls in SECTIONS.items():
        out += ["", f"[{section}]"]
        for f in dataclasses.fields(cls):
            value = _field_default(f)
            note = STARTER_NOTES.get((section, f.name), "")
            if value is None:
                if (section, f.name) in STARTER_UNSET_EXAMPLES:
                    out += _starter_key(f.name, STARTER_UNSET_EXAMPLES[section, f.name], note, commented=True)
            else:
                out += _starter_key(f.name, value, note)
    out += ["", "# --- agents: one [[agents]] table each; remove the ones you do not want " + "-" * 25]
    shown: set[str] = set()  # keys whose generic comment has been written once already
    for i, (agent, notes, commented) in enumerate(_starter_agents()):
        prefix = "# " if commented else ""
        out += ["", prefix + "[[agents]]"]
        for f in dataclasses.fields(AgentConfig):
            value = getattr(agent, f.name)
            kind_only = STARTER_KIND_FIELDS.get(f.name)
            full = i == 0 and kind_only is None  # the first example shows every option of its kind
            if kind_only == agent.kind and value == _field_default(f) and f.name in STARTER_KIND_EXAMPLES:
                note = notes.get(f.name) or STARTER_NOTES.get(("agents", f.name), "")
                shown.add(f.name)
                out += _starter_key(f.name, STARTER_KIND_EXAMPLES[f.name], note, commented=True)
                continue
            if not (f.name in ("name", "kind") or value != _field_default(f) or full):
                continue
            note = notes.get(f.name) or ("" if f.name in shown else STARTER_NOTES.get(("agents", f.name), ""))
            shown.add(f.name)
            if f.name == "members":  # sub-tables ([[agents.members]]), after every key of the agent
                for j, m in enumerate(value):
                    row = {
                        mf.name: getattr(m, mf.name)
                        for mf in dataclasses.fields(AgentConfig)
                        if mf.name == "kind" or (mf.name not in ("name", "members", "fallback") and getattr(m, mf.name) != _field_default(mf))
                    }
                    lines = tomli_w.dumps({f.name: row}).rstrip("\n").split("\n")  # [members] / key = value ...
                    lines[0] = "[[agents.members]]"  # one of the array of tables
                    lines = [prefix + line for line in lines]
                    if j == 0 and note:
                        lines[0] = lines[0].ljust(_NOTE_COLUMN - 1) + " # " + note
                    out += lines
                continue
            if f.name == "account":
                if i == 0:  # the first example shows the sub-tables ([agents.account], its positions), commented out
                    lines = tomli_w.dumps({f.name: STARTER_UNSET_EXAMPLES["agents", f.name]}).rstrip("\n").split("\n")
                    lines = ["# " + line.replace("[account", "[agents.account") if line else "#" for line in lines]
                    lines[0] = lines[0].ljust(_NOTE_COLUMN - 1) + " # " + note
                    out += lines
                continue
            if f.name == "fallback":
                if i == 0:  # the first example shows the sub-table ([agents.fallback]), commented out
                    lines = _starter_key(f.name, STARTER_UNSET_EXAMPLES["agents", f.name], "", commented=True)
                    lines[0] = ("# [agents." + lines[0].removeprefix("# [")).ljust(_NOTE_COLUMN - 1) + " # " + note
                    out += lines
                continue
            if value is None:
                if ("agents", f.name) in STARTER_UNSET_EXAMPLES:
                    out += _starter_key(f.name, STARTER_UNSET_EXAMPLES["agents", f.name], note, commented=True)
            else:
                out += _starter_key(f.name, value, note, commented=commented)
    return "\n".join(out) + "\n"


def starter_undocumented(sections: Mapping[str, type] | None = None) -> list[str]:
    """``section.key`` for every field of ``sections`` (default: ``SECTIONS`` and ``agents``) that has
    no comment in ``STARTER_NOTES``: a new option must say what it does in the starter config."""
    sections = {**SECTIONS, "agents": AgentConfig} if sections is None else sections
    return [f"{s}.{f.name}" for s, cls in sections.items() for f in dataclasses.fields(cls) if not STARTER_NOTES.get((s, f.name))]


def __getattr__(name: str) -> Any:
    """``STARTER``, the starter config's text, built on first use (not at import: every start
    imports this module before its first frame)."""
    if name == "STARTER":
        text = globals()["STARTER"] = starter_config_text()
        return text
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_starter_config(path: str | os.PathLike[str]) -> Path:
    """Write the commented starter config to ``path``; refuses to overwrite (``ConfigError``)."""
    p = Path(path)
    if p.exists():
        raise ConfigError(f"{p} already exists; remove it or pass another path to --init-config.")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(starter_config_text(), encoding="utf-8")
    return p


def config_from_json(data: Mapping[str, Any], where: str = "journal header") -> Config:
    """The ``Config`` a journal header recorded (``Config.to_json``), for ``--resume``: the session
    continues with the fees, risk bounds, market and agents it started with. Reads back exactly what
    ``to_json`` wrote (``config_from_json(cfg.to_json()) == cfg``); a key an older header left out
    (older versions omitted an agent's falsy fields) takes its default. Raises ``ConfigError`` naming
    ``where`` and the key when the recorded config is not one this version understands."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: the recorded config is missing; this journal cannot be resumed.")
    sections = {}
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: the recorded [{name}] is not a table; this journal cannot be resumed.")
        sections[name] = _build(cls, raw, f"{where} {name}")
    raw_agents = data.get("agents", [])
    if not isinstance(raw_agents, (list, tuple)):
        raise ConfigError(f"{where}: the recorded agents is not a list (got {_shown(raw_agents)}); this journal cannot be resumed.")
    agents = []
    for i, a in enumerate(raw_agents):
        if not isinstance(a, Mapping):
            raise ConfigError(f"{where} agents[{i}] is not a table (got {_shown(a)}); this journal cannot be resumed.")
        agents.append(_build(AgentConfig, a, f"{where} agents[{i}]"))
    source = _coerce(data.get("source", ""), str, f"{where} source")
    cfg = Config(agents=tuple(agents), source=source, **sections)
    _validate(cfg, where)
    return cfg


def _restore_agent(a: AgentConfig, mine: AgentConfig | None, journal: str, who: str, secrets: tuple[str, ...] = ()) -> AgentConfig:
    """``a`` with its redacted values taken from ``mine`` (see ``restore_redacted``), its fallback's
    from ``mine``'s fallback and its swarm members' from ``mine``'s members of the same name."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(AgentConfig):
        value = getattr(a, f.name)
        if not (isinstance(value, str) and REDACTED in value):
            continue
        candidate = getattr(mine, f.name, None) if mine is not None else None
        if not isinstance(candidate, str) or redact_text(candidate, secrets) != value:
            raise ConfigError(
                f"cannot resume {journal}: {who} has a {f.name} whose credentials were not journaled "
                f"({value}); pass --config with the file the session started with, so they can be taken from there."
            )
        changes[f.name] = candidate
    if a.fallback is not None:
        restored = _restore_agent(a.fallback, mine.fallback if mine is not None else None, journal, f"the fallback of {who}", secrets)
        if restored is not a.fallback:
            changes["fallback"] = restored
    if a.members:
        theirs = {m.name: m for m in mine.members} if mine is not None else {}
        members = tuple(_restore_agent(m, theirs.get(m.name), journal, f"member '{m.name}' of {who}", secrets) for m in a.members)
        if any(r is not m for r, m in zip(members, a.members)):
            changes["members"] = members
    return dataclasses.replace(a, **changes) if changes else a


def restore_redacted(recorded: Config, current: Config | None, journal: str = "the journal") -> Config:
    """``recorded`` (a journal header's config, for ``--resume``) with every value that was redacted
    in the journal (a credential in a ``base_url``, a key-like string) taken back from ``current``
    (the config file of this run): the same agent by name, whose value redacts to exactly the
    recorded one. The journal never held the credential, so this is the only place it can come from.

    Raises ``ConfigError`` (one sentence naming the agent and the key) when ``current`` has no such
    value: the user must point ``--config`` at the file the session was started with."""
    by_name = {a.name: a for a in current.agents} if current is not None else {}
    secrets = tuple(environment_secrets(recorded, current))  # (what to_json redacted by value)
    agents = [_restore_agent(a, by_name.get(a.name), journal, f"agent '{a.name}'", secrets) for a in recorded.agents]
    return dataclasses.replace(recorded, agents=tuple(agents))
