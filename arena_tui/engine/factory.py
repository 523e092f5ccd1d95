"""Build the market source and the agents a ``Config`` describes (SDKs and ccxt imported lazily)."""

from __future__ import annotations

import dataclasses

from arena_tui.config import AgentConfig, Config
from arena_tui.engine.agents.base import Agent
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import MarketSource


def build_market(config: Config) -> MarketSource:
    """RecordedMarket over the bundled data, or LiveMarket (ccxt) for ``market.source = "live"``."""
    m = config.market
    timeframes = tuple(dict.fromkeys((m.intraday_timeframe, m.context_timeframe)))
    if m.source == "live":
        from arena_tui.engine.market.live import LiveMarket

        return LiveMarket(exchange_id=m.exchange, coins=m.coins, timeframes=timeframes, interval=m.interval)
    from arena_tui.engine.market.recorded import RecordedMarket

    return RecordedMarket(coins=m.coins, timeframes=timeframes, start=m.start, interval=m.interval)


def build_agent(a: AgentConfig, config: Config) -> Agent:
    """One agent from its config entry (with its fallback, ``agents.fallback.FallbackAgent``, when it
    names one; a swarm of its members, ``agents.swarm.SwarmAgent``, for kind "swarm"); raises
    ``ConfigError`` for an unusable entry."""
    if a.kind == "swarm":
        from arena_tui.engine.agents.swarm import SwarmAgent

        deadline = min(a.timeout_s, config.arena.agent_timeout_s)
        members = [_build_one(dataclasses.replace(m, timeout_s=min(m.timeout_s, deadline)), config) for m in a.members]
        return SwarmAgent(a.name, members, rule=a.vote, quorum=a.quorum, timeout_s=deadline, model=a.model)
    if a.fallback is not None:
        from arena_tui.engine.agents.fallback import FallbackAgent

        primary = _build_one(a, config)
        fallback = _build_one(dataclasses.replace(a.fallback, name=a.name), config)
        cap = config.arena.agent_timeout_s
        return FallbackAgent(
            primary,
            fallback,
            primary_timeout_s=min(a.timeout_s, cap),
            fallback_timeout_s=None if a.fallback.kind == "baseline" else min(a.fallback.timeout_s, cap),
        )
    return _build_one(a, config)


def _build_one(a: AgentConfig, config: Config) -> Agent:
    if a.kind == "baseline":
        from arena_tui.engine.agents.baselines import make_baseline

        return make_baseline(a.strategy, a.name)
    if a.kind == "recorded":
        from arena_tui.engine.agents.recorded import RecordedAgent

        from arena_tui.engine.market.base import timeframe_ms

        return RecordedAgent.from_path(
            a.path, name=a.name, model=a.model or None, timing=a.timing,
            window_ms=timeframe_ms(config.market.interval), chars_per_s=a.stream_chars_per_s,
            # paced: four pieces a second (each piece is a journal line; smaller ones read no smoother)
            chunk_chars=max(24, int(a.stream_chars_per_s / 4)),
        )
    from arena_tui.engine.agents.llm import LLMAgent, LLMAgentConfig

    provider = a.kind
    return LLMAgent(
        LLMAgentConfig(
            name=a.name,
            provider=provider,
            model=a.model,
            base_url=a.base_url or None,
            api_key_env=a.api_key_env or None,
            temperature=a.temperature,
            max_tokens=a.max_tokens,
            timeout_s=min(a.timeout_s, config.arena.agent_timeout_s),
            retries=a.retries,
            price_input_per_mtok=a.price_input_per_mtok,
            price_output_per_mtok=a.price_output_per_mtok,
            price_cached_input_per_mtok=a.price_cached_input_per_mtok,
            price_reasoning_per_mtok=a.price_reasoning_per_mtok,
            budget_tokens_per_day=a.budget_tokens_per_day or None,
            budget_usd_per_day=a.budget_usd_per_day or None,
            reasoning_effort=a.reasoning_effort or None,
            reasoning_summary=a.reasoning_summary or None,
            thinking=a.thinking or None,
            thinking_budget=a.thinking_budget or None,
            thinking_display=a.thinking_display or None,
        )
    )


def build_agents(config: Config) -> list[Agent]:
    agents = [build_agent(a, config) for a in config.agents]
    if not agents:
        raise ConfigError("no agents configured: add [[agents]] entries to arena.toml or remove it to run the baselines.")
    return agents
