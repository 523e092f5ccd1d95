"""LLM agents on the official SDKs, always streaming: ``openai`` for provider "openai" (the Responses
API, ``client.responses.create``) and "openai-compatible" (Chat Completions, for DeepSeek, xAI, Qwen,
Groq, OpenRouter, Ollama, vLLM, llama.cpp), and ``anthropic`` (Messages, adaptive or manual thinking).

Every piece of text goes to ``on_delta(kind, text)`` as it arrives, ``kind`` "reasoning" or "answer":
OpenAI Responses ``response.reasoning_summary_text.delta`` (the reasoning summaries asked for with
``reasoning={"effort": ..., "summary": "auto"}``; summary parts are joined by a blank line) is reasoning
and ``response.output_text.delta`` the answer; OpenAI-compatible ``delta.reasoning_content`` (DeepSeek,
vLLM) and ``delta.reasoning`` (newer vLLM, Ollama, OpenRouter) are reasoning, and so is text inside
``<think>...</think>`` in the answer text (DeepSeek-R1 distills on Ollama/llama.cpp), also when a tag is
split across chunks; Anthropic ``thinking_delta`` is reasoning and ``text_delta`` the answer.

Usage (``Usage``, tokens) counts every input token with those read from the prompt cache apart
(OpenAI ``input_tokens_details.cached_tokens`` / ``prompt_tokens_details.cached_tokens``, Anthropic
``cache_read_input_tokens``) and every output token with the reasoning ones apart (OpenAI
``output_tokens_details.reasoning_tokens`` / ``completion_tokens_details.reasoning_tokens``, Anthropic
``output_tokens_details.thinking_tokens`` where reported); ``LLMAgentConfig.cost_usd`` prices each part.

The SDKs are imported lazily, in a worker thread, on the first call (``warm_up`` does it ahead of
time), so importing this module costs nothing. API keys are read from the environment variable the
config names at call time only; they are never stored, logged, or put into a failure reason (SDK and
server error texts, and text quoted from the model, are scrubbed of the key before they are surfaced).

``decide`` never raises: timeouts (one deadline for the whole call, retries included), HTTP 429
(retried with backoff, honouring ``retry-after``), 5xx and 529 overloaded (retried), refused
connections, malformed or truncated streams, mid-stream errors (Anthropic ``event: error``, OpenAI
``response.failed`` / ``error`` events), empty answers, length cut-offs, refusals (OpenAI refusal
deltas, Anthropic ``stop_reason: "refusal"``), context-window overflows (HTTP 400
``context_length_exceeded`` / "prompt is too long", Anthropic ``model_context_window_exceeded``),
content filters, unexpected stops (Anthropic ``pause_turn``), a missing or rejected key and a spent
budget all end as ``AgentReply(failure=AgentFailure(kind, reason))`` with a one-sentence reason that
names the agent and says what to do.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import os
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from arena_tui.config import (  # noqa: F401  (the constants are re-exported for callers)
    ANTHROPIC_EFFORTS,
    MIN_THINKING_BUDGET,
    REASONING_SUMMARIES,
    THINKING_DISPLAYS,
    THINKING_MODES,
    check_thinking,
    redact_text,
    redact_url,
    url_secrets,
)
from arena_tui.engine.agents.base import AgentFailure, AgentReply, AgentRequest, DeltaKind, OnDelta, Prices, Usage
from arena_tui.engine.errors import ConfigError
from arena_tui.logs import log_hint

_log = logging.getLogger(__name__)

Provider = Literal["openai", "anthropic", "openai-compatible"]
PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "openai-compatible")
DEFAULT_KEY_ENV: dict[str, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
"""The environment variable read when ``api_key_env`` is None, per provider."""
PLACEHOLDER_KEY = "no-key-needed"
"""Sent to keyless OpenAI-compatible servers (Ollama, vLLM, llama.cpp): the SDK insists on some key."""


@dataclass(frozen=True)
class LLMAgentConfig:
    """One LLM contestant.

    - ``name``: unique label in the session; ``provider``: "openai" (the Responses API),
      "openai-compatible" (Chat Completions: DeepSeek, Qwen, OpenRouter, Ollama, vLLM, llama.cpp...) or
      "anthropic" (Messages); ``model``: the provider's model id; ``base_url``: None for the provider's
      default endpoint, else e.g. ``http://localhost:11434/v1`` (Ollama), ``https://api.deepseek.com``.
    - ``api_key_env``: NAME of the environment variable holding the key (never the key). None means
      ``OPENAI_API_KEY``/``ANTHROPIC_API_KEY`` for "openai"/"anthropic", and no key at all for
      "openai-compatible" (a placeholder is sent).
    - ``temperature`` (None: provider default). Not sent where the API refuses it: to Anthropic with
      thinking on, to OpenAI whenever ``reasoning`` is sent (an effort, or a summary other than "off").
    - ``max_tokens``: output tokens, reasoning included; sent as ``max_output_tokens`` to "openai",
      ``max_tokens`` elsewhere.
    - ``timeout_s``: deadline for the whole call, retries included (s); ``retries``: extra attempts after
      a 429/5xx/connection failure that happened before any text arrived; ``retry_backoff_s``: first
      backoff (s), doubled each retry, with jitter, unless the server sends ``retry-after``.
    - ``price_input_per_mtok``/``price_output_per_mtok``: USD per million input/output tokens;
      ``price_cached_input_per_mtok``: USD per million input tokens read from the prompt cache (None:
      the input price); ``price_reasoning_per_mtok``: USD per million reasoning/thinking tokens (None:
      the output price). See ``cost_usd``.
    - ``budget_tokens_per_day``/``budget_usd_per_day``: hold the agent for the rest of the UTC day once
      its input+output tokens or its cost that day reach these (None: no budget).
    - ``reasoning_effort``: "openai": ``reasoning.effort`` ("none", "minimal", "low", "medium", "high",
      "xhigh", "max", as the model supports); "openai-compatible": the chat ``reasoning_effort``
      parameter; "anthropic": ``output_config.effort`` (one of ``ANTHROPIC_EFFORTS``). None: not sent.
    - ``reasoning_summary``: "openai" only: ``reasoning.summary`` ("auto", "concise", "detailed"), the
      reasoning summaries that stream into the pane; "off" asks for none (models without reasoning).
    - ``thinking``: "anthropic" only, one of ``THINKING_MODES``; None: "enabled" when ``thinking_budget``
      is set, else "off". ``thinking_budget``: manual thinking tokens, at least 1024 and below
      ``max_tokens``. ``thinking_display``: "summarized" or "omitted"; None: "summarized" with adaptive
      thinking (where the newest models default to omitted), the model's default with "enabled".

    Raises ``ConfigError`` (one sentence naming the agent and the field) for values that cannot work.
    """

    name: str
    provider: Provider
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int = 8192
    timeout_s: float = 90.0
    retries: int = 2
    retry_backoff_s: float = 1.0
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    price_cached_input_per_mtok: float | None = None
    price_reasoning_per_mtok: float | None = None
    budget_tokens_per_day: int | None = None
    budget_usd_per_day: float | None = None
    reasoning_effort: str | None = None
    reasoning_summary: str | None = "auto"
    thinking: str | None = None
    thinking_budget: int | None = None
    thinking_display: str | None = None

    def __post_init__(self) -> None:
        where = f"agent '{self.name}'"
        if not self.name:
            raise ConfigError("an LLM agent has an empty name: give every agent a unique name.")
        if self.provider not in PROVIDERS:
            raise ConfigError(f"{where}: provider '{self.provider}' is unknown: use one of {', '.join(PROVIDERS)}.")
        if not self.model:
            raise ConfigError(f"{where}: model is empty: set the provider's model id.")
        if self.api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env):
            raise ConfigError(
                f"{where}: api_key_env must be the NAME of an environment variable (like OPENAI_API_KEY), "
                "not the key itself: put the key in the environment."
            )
        if self.max_tokens < 1:
            raise ConfigError(f"{where}: max_tokens is {self.max_tokens}: use a positive number of tokens.")
        if not self.timeout_s > 0:
            raise ConfigError(f"{where}: timeout_s is {self.timeout_s}: use a positive number of seconds.")
        if self.retries < 0:
            raise ConfigError(f"{where}: retries is {self.retries}: use 0 or more.")
        if self.retry_backoff_s < 0:
            raise ConfigError(f"{where}: retry_backoff_s is {self.retry_backoff_s}: use 0 or more seconds.")
        prices = (self.price_input_per_mtok, self.price_output_per_mtok, self.price_cached_input_per_mtok,
                  self.price_reasoning_per_mtok)
        if any(p is not None and p < 0 for p in prices):
            raise ConfigError(f"{where}: token prices must not be negative: use USD per million tokens.")
        check_thinking(where, self.provider, self.thinking, self.thinking_budget, self.thinking_display,
                       self.reasoning_effort, self.reasoning_summary, self.max_tokens)
        for label, value in (("budget_tokens_per_day", self.budget_tokens_per_day),
                             ("budget_usd_per_day", self.budget_usd_per_day)):
            if value is not None and value < 0:
                raise ConfigError(f"{where}: {label} is {value}: use 0 or more, or leave it unset for no budget.")

    @property
    def key_env(self) -> str | None:
        """The environment variable the key is read from, or None for a keyless server."""
        if self.api_key_env is not None:
            return self.api_key_env
        return DEFAULT_KEY_ENV.get(self.provider)

    @property
    def thinking_mode(self) -> str:
        """Anthropic thinking as sent: "adaptive", "enabled" or "off" (see ``thinking``)."""
        return self.thinking or ("enabled" if self.thinking_budget else "off")

    @property
    def prices(self) -> Prices:
        """This agent's token prices (USD per million tokens)."""
        return Prices(self.price_input_per_mtok, self.price_output_per_mtok,
                      self.price_cached_input_per_mtok, self.price_reasoning_per_mtok)

    def cost_usd(self, usage: Usage) -> float:
        """USD for ``usage`` at this agent's prices (``Prices.cost_usd``): uncached input at the input
        price, cached input at ``price_cached_input_per_mtok``, reasoning tokens at
        ``price_reasoning_per_mtok`` and the rest of the output at the output price."""
        return self.prices.cost_usd(usage)


@dataclass(frozen=True)
class DaySpend:
    """What an agent spent in one UTC day: input+output ``tokens`` and ``usd``."""

    day: str
    tokens: int = 0
    usd: float = 0.0


class _Failed(Exception):
    """One attempt's failure: ``kind`` as in ``AgentFailure``; ``what`` happened and what to do
    (``advice``), joined into the reason "<agent>: <what>; <advice>."; ``retryable`` when a new attempt
    may succeed; ``retry_after`` the server's wish in seconds, if it said."""

    def __init__(self, kind: str, what: str, advice: str = "holding this cycle", *, retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(what)
        self.kind = kind
        self.what = what
        self.advice = advice
        self.retryable = retryable
        self.retry_after = retry_after

    def reason(self, agent: str) -> str:
        return f"{agent}: {self.what}; {self.advice}."


class ThinkTagSplitter:
    """Route text inside ``<think>...</think>`` to "reasoning" and the rest to "answer", streaming.

    ``feed(text)`` returns ``[(kind, text), ...]`` for what can be decided now, holding back a tail
    that may be the start of a tag split across chunks; ``flush()`` returns what is held back at the
    end of the stream. Concatenating all outputs per kind gives the text without the tags.
    """

    OPEN = "<think>"
    CLOSE = "</think>"

    def __init__(self) -> None:
        self.inside = False
        self._held = ""

    def feed(self, text: str) -> list[tuple[DeltaKind, str]]:
        out: list[tuple[DeltaKind, str]] = []
        buf = self._held + text
        self._held = ""
        while buf:
            tag = self.CLOSE if self.inside else self.OPEN
            kind: DeltaKind = "reasoning" if self.inside else "answer"
            i = buf.find(tag)
            if i >= 0:
                if i:
                    out.append((kind, buf[:i]))
                buf = buf[i + len(tag):]
                self.inside = not self.inside
                continue
            keep = 0
            for k in range(min(len(tag) - 1, len(buf)), 0, -1):
                if buf.endswith(tag[:k]):
                    keep = k
                    break
            if len(buf) > keep:
                out.append((kind, buf[: len(buf) - keep]))
            self._held = buf[len(buf) - keep:]
            break
        return out

    def flush(self) -> list[tuple[DeltaKind, str]]:
        held, self._held = self._held, ""
        return [("reasoning" if self.inside else "answer", held)] if held else []


@dataclass
class _Stream:
    """What one call has received so far."""

    on_delta: OnDelta
    started: float
    answer: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    ttft: float | None = None
    usage: Usage | None = None
    finish: str | None = None
    emitted: bool = False
    refusal: list[str] = field(default_factory=list)
    detail: str = ""
    """What the provider said about how it finished (a refusal's category, an incomplete reason)."""

    def emit(self, kind: DeltaKind, text: str) -> None:
        if not text:
            return
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.started
        self.emitted = True
        (self.reasoning if kind == "reasoning" else self.answer).append(text)
        self.on_delta(kind, text)


_IMPORT_LOCK = threading.Lock()
"""Imports of the SDKs run one at a time: two threads importing ``openai`` at once see it partially
initialised (its own circular imports) and warn, or fail."""


def _import_in_order(name: str) -> Any:
    with _IMPORT_LOCK:
        return importlib.import_module(name)


async def _import_sdk(name: str) -> Any:
    """Import ``name`` ("openai"/"anthropic") in a worker thread the first time, so the event loop
    (and the screen) never stalls for the SDK's import (several hundred ms). Concurrent callers are
    serialised (``_IMPORT_LOCK``); ``import_sdks`` does it once for a whole session."""
    module = sys.modules.get(name)
    if module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False):
        return module
    return await asyncio.to_thread(_import_in_order, name)


async def import_sdks(names: Any) -> dict[str, str]:
    """Import each SDK in ``names`` once, one after the other, in a worker thread (the session calls
    this before any agent starts). Returns {name: one-sentence error} for those that cannot be
    imported; the agents using them report it when they are asked."""
    failed: dict[str, str] = {}
    for name in dict.fromkeys(names):
        try:
            await _import_sdk(name)
        except Exception as exc:
            failed[name] = f"the {name} package cannot be imported ({type(exc).__name__}); install it with pip install {name}."
    return failed


def _retry_after_s(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if present."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None


class LLMAgent:
    """An ``Agent`` backed by an LLM API (see the module docstring); ``kind`` is "llm".

    ``decide(request, on_delta)`` streams one completion of ``request.system_prompt`` +
    ``request.user_prompt`` and returns the ``AgentReply`` with the answer and reasoning text, the usage
    the API reported, time to first token and total latency (s, from the start of ``decide``, retries
    included) and the cost in USD. It never raises (``asyncio.CancelledError`` from the caller aside).
    """

    kind = "llm"

    def __init__(self, config: LLMAgentConfig) -> None:
        self.config = config
        self.name = config.name
        self.model = redact_text(config.model)  # what is shown and journaled; the API gets config.model
        # base_url as shown in failure reasons (user-info and credential parameters redacted; the SDK
        # client gets the real one), and the credentials to scrub from any text that echoes them.
        self._where = redact_url(config.base_url) if config.base_url else None
        self._url_secrets = url_secrets(config.base_url) if config.base_url else []
        self._spend: dict[str, DaySpend] = {}
        # (event loop, sha256 of the key, SDK client): one client per agent, reused across cycles.
        self._cached: tuple[asyncio.AbstractEventLoop, str, Any] | None = None
        self.answer_cache: Any = None
        """An ``agents.cache.AnswerCache`` (``[arena] answer_cache``, recorded market only): a call
        made before is answered from it, at no cost; None: every call goes to the model."""

    async def _client(self, cls: Any, key: str) -> Any:
        """The SDK client for ``key`` on the running loop: built once (in a worker thread, as building
        one takes 30-80 ms of CPU: TLS context, HTTP pool) and reused, so connections are kept alive.
        A new key in the environment, or another event loop, gets a new client."""
        loop = asyncio.get_running_loop()
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        if self._cached is not None:
            cached_loop, cached_fp, client = self._cached
            if cached_loop is loop and cached_fp == fingerprint:
                return client
            await self.aclose()
        kwargs: dict[str, Any] = {"api_key": key, "max_retries": 0, "timeout": self.config.timeout_s}
        if self.config.base_url:
            kwargs["base_url"] = self.config.base_url
        client = await asyncio.to_thread(lambda: cls(**kwargs))
        self._cached = (loop, fingerprint, client)
        return client

    async def aclose(self) -> None:
        """Close the cached SDK client and its connections (the agent stays usable)."""
        cached, self._cached = self._cached, None
        if cached is not None and cached[0] is asyncio.get_running_loop():
            try:
                await cached[2].close()
            except Exception:  # closing is best effort
                pass

    async def __aenter__(self) -> "LLMAgent":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"LLMAgent(name={self.name!r}, provider={self.config.provider!r}, model={self.model!r})"

    # -- budget ----------------------------------------------------------------------------------
    @staticmethod
    def utc_day(time_ms: int) -> str:
        """The UTC calendar day (YYYY-MM-DD) of ``time_ms`` (ms since the epoch)."""
        return datetime.fromtimestamp(time_ms / 1000.0, tz=timezone.utc).strftime("%Y-%m-%d")

    def spent(self, time_ms: int) -> DaySpend:
        """What this agent spent on the UTC day of ``time_ms``."""
        day = self.utc_day(time_ms)
        return self._spend.get(day, DaySpend(day))

    def add_spend(self, time_ms: int, tokens: int, usd: float) -> None:
        """Count ``tokens`` and ``usd`` against the UTC day of ``time_ms`` (also used to restore the
        spend of a resumed session)."""
        s = self.spent(time_ms)
        self._spend[s.day] = DaySpend(s.day, s.tokens + tokens, s.usd + usd)

    def _budget_failure(self, time_ms: int) -> AgentFailure | None:
        cfg = self.config
        s = self.spent(time_ms)
        if cfg.budget_tokens_per_day is not None and s.tokens >= cfg.budget_tokens_per_day:
            return AgentFailure(
                "budget",
                f"{self.name}: held for the rest of UTC day {s.day} because it has used {s.tokens:,} of its "
                f"{cfg.budget_tokens_per_day:,} tokens per day; raise budget_tokens_per_day to let it trade again.",
            )
        if cfg.budget_usd_per_day is not None and s.usd >= cfg.budget_usd_per_day:
            return AgentFailure(
                "budget",
                f"{self.name}: held for the rest of UTC day {s.day} because it has spent ${s.usd:.4f} of its "
                f"${cfg.budget_usd_per_day:.2f} per day; raise budget_usd_per_day to let it trade again.",
            )
        return None

    # -- the call --------------------------------------------------------------------------------
    @property
    def sdk_name(self) -> str:
        """The SDK this agent calls: "anthropic" or "openai"."""
        return "anthropic" if self.config.provider == "anthropic" else "openai"

    async def warm_up(self) -> None:
        """Import this agent's SDK and build its client in worker threads now, rather than inside
        the first cycle's deadline (skipped for the client when the key is not set yet)."""
        sdk_name = "anthropic" if self.config.provider == "anthropic" else "openai"
        sdk = await _import_sdk(sdk_name)
        env = self.config.key_env
        key = (os.environ.get(env) or None) if env is not None else PLACEHOLDER_KEY
        if key is not None:
            cls = sdk.AsyncAnthropic if sdk_name == "anthropic" else sdk.AsyncOpenAI
            await self._client(cls, key)

    async def decide(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply:
        """Stream one answer for ``request``; see the class docstring. Never raises. With an
        ``answer_cache``, a call made before is answered from it (``_from_cache``) and a new answer
        that finished properly is kept in it."""
        cache = self.answer_cache
        if cache is not None:
            hit = self._from_cache(cache, request, on_delta)
            if hit is not None:
                return hit
        reply = await self._decide(request, on_delta)
        if cache is not None and reply.failure is None:
            try:
                cache.put(self.config, request.system_prompt, request.user_prompt, reply)
            except Exception:  # keeping an answer is a saving, never a failure
                _log.warning("%s: the answer cache failed to keep an answer", self.name, exc_info=True)
        return reply

    def _from_cache(self, cache: Any, request: AgentRequest, on_delta: OnDelta) -> AgentReply | None:
        """The cached answer to this very call, if there is one: its reasoning, then its answer,
        go to ``on_delta`` (the pane shows them as if streamed); zero usage, zero cost, not charged
        to the budget, ``cached=True``. None on a miss (or an unusable entry)."""
        started = time.perf_counter()
        try:
            hit = cache.get(self.config, request.system_prompt, request.user_prompt)
        except Exception:  # the cache must never stop an agent: ask the model instead
            _log.warning("%s: the answer cache failed; asking the model", self.name, exc_info=True)
            return None
        if hit is None:
            return None
        ttft: float | None = None
        try:
            for kind, text in (("reasoning", hit.reasoning), ("answer", hit.text)):
                if text:
                    if ttft is None:
                        ttft = time.perf_counter() - started
                    on_delta(kind, text)  # type: ignore[arg-type]
        except Exception as exc:
            _log.error("%s: the on_delta callback failed", self.name, exc_info=True)
            reason = f"{self.name}: the on_delta callback failed ({type(exc).__name__}: {exc}); {log_hint()}."
            return AgentReply(latency_s=time.perf_counter() - started, failure=AgentFailure("error", self._scrub(reason, None)), cached=True)
        return AgentReply(
            text=hit.text,
            reasoning=hit.reasoning,
            usage=Usage(),
            ttft_s=ttft,
            latency_s=time.perf_counter() - started,
            cost_usd=0.0,
            finish_reason=hit.finish_reason,
            cached=True,
        )

    async def _decide(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply:
        """One answer from the model (see ``decide``)."""
        key: str | None = None
        attempts: list[_Stream] = []
        failure: AgentFailure | None
        sdk = "anthropic" if self.config.provider == "anthropic" else "openai"
        try:  # import before the clock starts: the import is ours to pay, not the model's
            await _import_sdk(sdk)
        except Exception as exc:
            reason = (f"{self.name}: the {sdk} package cannot be imported ({type(exc).__name__}); "
                      f"install it with pip install {sdk}.")
            return AgentReply(failure=AgentFailure("config", reason))
        started = time.perf_counter()
        try:
            held = self._budget_failure(request.time)
            if held is not None:
                return AgentReply(failure=held)
            env = self.config.key_env
            if env is not None:
                key = os.environ.get(env) or None
                if key is None:
                    reason = f"{self.name}: no API key: set {env} in the environment (the key is read from there only)."
                    return AgentReply(failure=AgentFailure("auth", reason))
            await self._call(request, key, on_delta, started, attempts)
            failure = self._judge(attempts[-1])
            if failure is not None:  # it may quote the model or the server: untrusted text
                failure = AgentFailure(failure.kind, self._scrub(failure.reason, key))
        except _Failed as exc:
            failure = AgentFailure(exc.kind, self._scrub(exc.reason(self.name), key))
        except Exception as exc:  # never raise into the engine
            _log.error("%s: unexpected error in decide", self.name, exc_info=True)
            reason = f"{self.name}: unexpected {type(exc).__name__}: {exc}; holding this cycle ({log_hint()})."
            failure = AgentFailure("error", self._scrub(reason, key))
        stream = attempts[-1] if attempts else _Stream(on_delta, started)
        usage = stream.usage or Usage()
        cost = self.config.cost_usd(usage)
        return AgentReply(
            text="".join(stream.answer),
            reasoning="".join(stream.reasoning),
            usage=usage,
            ttft_s=stream.ttft,
            latency_s=time.perf_counter() - started,
            cost_usd=cost,
            finish_reason=self._scrub(stream.finish, key) if stream.finish else None,  # sent by the server: untrusted
            failure=failure,
        )

    async def _call(
        self, request: AgentRequest, key: str | None, on_delta: OnDelta, started: float, attempts: list[_Stream]
    ) -> None:
        """All attempts within the deadline, each appended to ``attempts``; returns when the last one
        finished properly, else raises ``_Failed``."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cfg.timeout_s
        emitted = False

        def forward(kind: DeltaKind, text: str) -> None:
            nonlocal emitted
            emitted = True
            try:
                on_delta(kind, text)
            except Exception as exc:
                _log.error("%s: the on_delta callback failed", self.name, exc_info=True)
                what = f"the on_delta callback failed ({type(exc).__name__}: {exc})"
                raise _Failed("error", what, log_hint()) from None

        last: _Failed | None = None
        try:
            async with asyncio.timeout_at(deadline):
                for attempt in range(cfg.retries + 1):
                    stream = _Stream(forward, started)
                    attempts.append(stream)
                    try:
                        if cfg.provider == "anthropic":
                            await self._anthropic(request, key or PLACEHOLDER_KEY, stream, deadline - loop.time())
                        elif cfg.provider == "openai":
                            await self._openai_responses(request, key or PLACEHOLDER_KEY, stream, deadline - loop.time())
                        else:
                            await self._openai_chat(request, key or PLACEHOLDER_KEY, stream, deadline - loop.time())
                        return
                    except _Failed as exc:
                        last = exc
                    finally:
                        self._count(request.time, stream)
                    if not last.retryable or emitted or attempt == cfg.retries:
                        break
                    wait = last.retry_after
                    if wait is None:
                        wait = cfg.retry_backoff_s * (2 ** attempt) * (0.75 + 0.5 * random.random())
                    remaining = deadline - loop.time()
                    if wait >= remaining:
                        raise _Failed(
                            last.kind,
                            f"{last.what}, and waiting {wait:.1f} s to retry would pass the "
                            f"{cfg.timeout_s:g} s deadline",
                            last.advice,
                        )
                    await asyncio.sleep(wait)
        except TimeoutError:
            raise _Failed(
                "timeout", f"no complete answer within the {cfg.timeout_s:g} s deadline",
                "holding this cycle — raise timeout_s or pick a faster model",
            ) from None
        assert last is not None
        if last.retryable and not emitted and cfg.retries:
            raise _Failed(last.kind, f"{last.what} on all {cfg.retries + 1} attempts", last.advice)
        raise last

    def _count(self, time_ms: int, stream: _Stream) -> None:
        """Charge an attempt's reported usage to the day's budget."""
        if stream.usage is not None:
            u = stream.usage
            self.add_spend(time_ms, u.input_tokens + u.output_tokens, self.config.cost_usd(u))

    _FINISHED = ("stop", "end_turn", "stop_sequence", "completed")

    def _judge(self, stream: _Stream) -> AgentFailure | None:
        """Failures of a stream that ended properly: a refusal, a cut-off (max_tokens or the context
        window), a content filter, an unexpected stop, an empty answer."""
        cfg = self.config
        name = self.name
        finish = stream.finish
        answered = bool("".join(stream.answer).strip())
        if stream.refusal or finish == "refusal":
            said = " ".join("".join(stream.refusal).split())
            if len(said) > 160:
                said = said[:157] + "..."
            said = f' ("{said}")' if said else ""
            why = f" (category {stream.detail})" if stream.detail else ""
            return AgentFailure("refusal", f"{name}: the model refused to answer{why}{said}; holding this cycle — "
                                           "if it keeps refusing, check the prompt templates or pick another model.")
        if finish in ("length", "max_tokens"):
            spent_on = " (all of it on reasoning)" if stream.reasoning and not answered else ""
            return AgentFailure(
                "length",
                f"{name}: the answer was cut off at max_tokens={cfg.max_tokens}{spent_on}; raise max_tokens in its config.",
            )
        if finish in ("model_context_window_exceeded", "context_length_exceeded"):
            return AgentFailure(
                "context_window",
                f"{name}: the prompt and the answer outgrew the model's context window, so the answer was cut off; "
                "pick a model with a larger context window, or shorten the prompt (fewer coins or a shorter user_prompt template).",
            )
        if finish == "content_filter":
            return AgentFailure(
                "content_filter",
                f"{name}: the provider's content filter withheld the answer; holding this cycle — if it repeats, "
                "check the prompt templates or pick another model.",
            )
        if finish == "pause_turn":
            return AgentFailure(
                "error",
                f"{name}: the API paused the turn before the answer was done (stop reason pause_turn, which this app "
                "does not continue); holding this cycle — if it repeats, check model and base_url.",
            )
        if finish and finish.startswith("incomplete:"):
            return AgentFailure(
                "error",
                f"{name}: the response ended incomplete (reason '{finish[11:]}'); holding this cycle — "
                "if it repeats, check the model and its settings.",
            )
        if finish and cfg.provider != "openai-compatible" and finish not in self._FINISHED:
            return AgentFailure(
                "error",
                f"{name}: the model stopped for an unexpected reason ('{finish}'); holding this cycle — "
                "if it repeats, check model and base_url.",
            )
        if not answered:
            what = "only reasoning and no answer" if stream.reasoning else "an empty answer"
            return AgentFailure("empty", f"{name}: the model returned {what}; holding this cycle.")
        return None

    # -- errors ----------------------------------------------------------------------------------
    def _scrub(self, text: str, key: str | None) -> str:
        """``text`` on one line, at most 400 characters, without the API key, bearer and basic
        authorization tokens (a base_url's user:password goes out as ``Basic base64(...)``, which a
        server may echo), the base_url's credentials (user-info, credential query parameters) or
        anything key-like. Linear in the length of ``text``: a server's message may be megabytes."""
        if key:
            text = text.replace(key, "[redacted]")
            if len(key) >= 12:  # also a key cut short by an echoing server
                text = text.replace(key[:-4], "[redacted]")
        base_url = self.config.base_url
        if base_url and self._where and self._where != base_url:
            text = text.replace(base_url, self._where)
        for secret in self._url_secrets:
            text = text.replace(secret, "[redacted]")
        text = " ".join(text.split())
        if len(text) > 2000:  # (only 400 are shown: the rest need not be searched)
            text = text[:2000]
        text = redact_text(text)
        text = re.sub(r"(?i)\b(bearer|basic)(\s+)\S+", r"\1\2[redacted]", text)
        return text if len(text) <= 400 else text[:397] + "..."

    def _map_error(self, exc: BaseException, sdk: Any, stream: _Stream) -> _Failed:
        """An SDK exception as a ``_Failed``; works for both SDKs (they share the exception layout)."""
        cfg = self.config
        where = self._where or f"the {cfg.provider} API"
        slow = "holding this cycle — raise timeout_s or pick a faster model"
        broke = f"the connection to {where} broke off mid-answer"
        if isinstance(exc, sdk.APITimeoutError):
            return _Failed("timeout", f"{where} did not answer in time", slow)
        if isinstance(exc, sdk.APIConnectionError):
            if stream.emitted:
                return _Failed("malformed", broke)
            return _Failed("connection", f"cannot connect to {where} ({exc})",
                           "check base_url and that the server is running", retryable=True)
        if isinstance(exc, sdk.APIStatusError):
            status = exc.status_code
            detail = self._detail(exc)
            if status == 429:
                return _Failed("rate_limit", f"rate limited by {where} (HTTP 429{detail})",
                               "holding this cycle — lower the cycle rate or raise the account's rate limits",
                               retryable=True, retry_after=_retry_after_s(exc.response.headers))
            if status in (401, 403):
                return _Failed("auth", f"{where} rejected the API key (HTTP {status}{detail})",
                               f"check the key in {cfg.key_env or 'the environment variable named by api_key_env'}")
            if status == 404:
                return _Failed("config", f"{where} does not know model '{cfg.model}' (HTTP 404{detail})",
                               "check model and base_url")
            if status >= 500 or status == 408:
                return _Failed("server", f"{where} failed (HTTP {status}{detail})",
                               retryable=True, retry_after=_retry_after_s(exc.response.headers))
            if status < 400:  # an error event inside a 200 stream (Anthropic `event: error`)
                etype = getattr(exc, "type", None) or ""
                transient = etype in ("overloaded_error", "api_error", "rate_limit_error")
                return _Failed("server", f"{where} reported an error mid-stream ({etype or 'error'}{detail})",
                               retryable=transient and not stream.emitted)
            if self._context_exceeded(exc, detail):
                return _Failed("context_window", f"the prompt does not fit the model's context window (HTTP {status}{detail})",
                               "pick a model with a larger context window, or shorten the prompt (fewer coins or a "
                               "shorter user_prompt template)")
            return _Failed("config", f"{where} refused the request (HTTP {status}{detail})",
                           "check the agent's model and settings")
        if isinstance(exc, sdk.APIError):  # OpenAI: {"error": ...} inside the stream
            return _Failed("server", f"{where} reported an error mid-stream ({exc.message})",
                           retryable=not stream.emitted)
        transport = {c.__name__ for c in type(exc).__mro__}
        if "TimeoutException" in transport:  # httpx: a read timed out while streaming
            return _Failed("timeout", f"{where} stopped sending mid-answer", slow)
        if "TransportError" in transport:  # httpx: the connection broke while streaming
            if stream.emitted:
                return _Failed("malformed", broke)
            return _Failed("connection", f"the connection to {where} failed ({exc})", retryable=True)
        if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
            return _Failed("malformed", f"{where} sent a stream chunk that is not valid JSON")
        return _Failed("malformed", f"the stream from {where} could not be read ({type(exc).__name__}: {exc})")

    @staticmethod
    def _context_exceeded(exc: Any, detail: str) -> bool:
        """Whether an HTTP 400 says the prompt outgrew the context window: OpenAI's error code
        ``context_length_exceeded``, Anthropic's "prompt is too long"."""
        body = getattr(exc, "body", None)
        err = body.get("error", body) if isinstance(body, dict) else None
        code = getattr(exc, "code", None) or (err.get("code") if isinstance(err, dict) else None)
        return code == "context_length_exceeded" or "prompt is too long" in detail.lower()

    @staticmethod
    def _detail(exc: Any) -> str:
        """ ": <the server's error message>" (trailing punctuation dropped), or "" if it sent none."""
        message = getattr(exc, "api_message", None)
        body = getattr(exc, "body", None)
        if not message and isinstance(body, dict):
            err = body.get("error", body)
            message = err.get("message") if isinstance(err, dict) else None
        message = message.strip().rstrip(".!") if isinstance(message, str) else ""
        return f": {message}" if message else ""

    # -- OpenAI: Responses API -----------------------------------------------------------------
    def _responses_kwargs(self, request: AgentRequest) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "instructions": request.system_prompt,
            "input": [{"role": "user", "content": request.user_prompt}],
            "max_output_tokens": cfg.max_tokens,
            "store": False,  # nothing kept on the provider's side: every cycle is a fresh prompt
            "stream": True,
        }
        reasoning: dict[str, str] = {}
        if cfg.reasoning_effort:
            reasoning["effort"] = cfg.reasoning_effort
        if cfg.reasoning_summary and cfg.reasoning_summary != "off":
            reasoning["summary"] = cfg.reasoning_summary
        if reasoning:
            kwargs["reasoning"] = reasoning
        elif cfg.temperature is not None:  # reasoning models refuse a temperature
            kwargs["temperature"] = cfg.temperature
        return kwargs

    async def _openai_responses(self, request: AgentRequest, key: str, stream: _Stream, remaining: float) -> None:
        """One streamed call of the Responses API: reasoning summary deltas are reasoning, output text
        deltas the answer, refusal deltas a refusal; ``response.completed``/``response.incomplete``
        carry the usage and how it ended, ``response.failed`` and ``error`` events are failures."""
        openai = await _import_sdk("openai")
        where = self._where or "the openai API"
        splitter = ThinkTagSplitter()
        summary_at: tuple[int, int] | None = None  # (output_index, summary_index) of the last summary delta
        try:
            client = await self._client(openai.AsyncOpenAI, key)
            events = await client.responses.create(**self._responses_kwargs(request), timeout=max(0.1, remaining))
            async with events:
                async for event in events:
                    etype = getattr(event, "type", None)
                    if etype == "response.reasoning_summary_text.delta":
                        at = (event.output_index, event.summary_index)
                        if summary_at is not None and at != summary_at:
                            stream.emit("reasoning", "\n\n")  # summary parts are paragraphs
                        summary_at = at
                        stream.emit("reasoning", event.delta)
                    elif etype == "response.reasoning_text.delta":  # raw reasoning (open-weight models)
                        stream.emit("reasoning", event.delta)
                    elif etype == "response.output_text.delta":
                        for kind, text in splitter.feed(event.delta):
                            stream.emit(kind, text)
                    elif etype == "response.refusal.delta":
                        stream.refusal.append(event.delta)
                    elif etype in ("response.completed", "response.incomplete", "response.failed"):
                        self._responses_end(event.response, stream, where)
                    elif etype == "error":
                        code = getattr(event, "code", None)
                        message = str(getattr(event, "message", None) or "no message").strip().rstrip(".!")
                        raise _Failed("server", f"{where} reported an error mid-stream ({code or 'error'}: {message})",
                                      retryable=not stream.emitted)
            for kind, text in splitter.flush():
                stream.emit(kind, text)
        except (_Failed, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._map_error(exc, openai, stream) from None
        if stream.finish is None:
            raise _Failed("malformed", f"the stream from {where} ended before the model finished (no response.completed)")

    @staticmethod
    def _responses_end(response: Any, stream: _Stream, where: str) -> None:
        """Take usage and the finish from a final Responses event; raise for ``response.failed``."""
        u = getattr(response, "usage", None)
        if u is not None:
            cached = getattr(getattr(u, "input_tokens_details", None), "cached_tokens", None) or 0
            reasoning = getattr(getattr(u, "output_tokens_details", None), "reasoning_tokens", None) or 0
            stream.usage = Usage(u.input_tokens or 0, u.output_tokens or 0, reasoning, cached)
        status = getattr(response, "status", None)
        if status == "failed":
            err = getattr(response, "error", None)
            code = getattr(err, "code", None) or "error"
            message = str(getattr(err, "message", None) or "no message").strip().rstrip(".!")
            if code == "context_length_exceeded":
                stream.finish = code
                return
            raise _Failed("server", f"{where} reported an error mid-stream ({code}: {message})",
                          retryable=not stream.emitted and code in ("server_error", "rate_limit_exceeded"))
        if status == "incomplete":
            reason = getattr(getattr(response, "incomplete_details", None), "reason", None) or "unknown"
            stream.finish = {"max_output_tokens": "length", "content_filter": "content_filter"}.get(reason, f"incomplete:{reason}")
            return
        stream.finish = "stop"

    # -- OpenAI-compatible: Chat Completions -----------------------------------------------------
    async def _openai_chat(self, request: AgentRequest, key: str, stream: _Stream, remaining: float) -> None:
        cfg = self.config
        openai = await _import_sdk("openai")
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": [
                {"role": "system", "content": request.system_prompt},
                {"role": "user", "content": request.user_prompt},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": cfg.max_tokens,
        }
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        if cfg.reasoning_effort:
            kwargs["reasoning_effort"] = cfg.reasoning_effort
        splitter = ThinkTagSplitter()
        try:
            client = await self._client(openai.AsyncOpenAI, key)
            response = await client.chat.completions.create(**kwargs, timeout=max(0.1, remaining))
            async with response:
                async for chunk in response:
                    if chunk.usage is not None:
                        stream.usage = self._chat_usage(chunk.usage)
                    for choice in (chunk.choices or [])[:1]:
                        delta = choice.delta
                        if delta is not None:
                            thought = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
                            if isinstance(thought, str):
                                stream.emit("reasoning", thought)
                            if delta.content:
                                for kind, text in splitter.feed(delta.content):
                                    stream.emit(kind, text)
                            refusal = getattr(delta, "refusal", None)
                            if isinstance(refusal, str) and refusal:
                                stream.refusal.append(refusal)
                        if choice.finish_reason:
                            stream.finish = choice.finish_reason
            for kind, text in splitter.flush():
                stream.emit(kind, text)
        except (_Failed, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._map_error(exc, openai, stream) from None
        if stream.finish is None:
            where = self._where or "the openai API"
            raise _Failed("malformed", f"the stream from {where} ended before the model finished (no finish_reason)")

    @staticmethod
    def _chat_usage(u: Any) -> Usage:
        """Chat usage: ``prompt_tokens_details.cached_tokens`` (or DeepSeek's ``prompt_cache_hit_tokens``)
        and ``completion_tokens_details.reasoning_tokens``."""
        cached = getattr(getattr(u, "prompt_tokens_details", None), "cached_tokens", None)
        if cached is None:
            cached = getattr(u, "prompt_cache_hit_tokens", None)
        reasoning = getattr(getattr(u, "completion_tokens_details", None), "reasoning_tokens", None)
        return Usage(u.prompt_tokens or 0, u.completion_tokens or 0,
                     reasoning if isinstance(reasoning, int) else 0, cached if isinstance(cached, int) else 0)

    # -- Anthropic ------------------------------------------------------------------------------
    def _anthropic_kwargs(self, request: AgentRequest) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "max_tokens": cfg.max_tokens,
            "system": request.system_prompt,
            "messages": [{"role": "user", "content": request.user_prompt}],
            "stream": True,
        }
        mode = cfg.thinking_mode
        if mode == "adaptive":
            kwargs["thinking"] = {"type": "adaptive", "display": cfg.thinking_display or "summarized"}
        elif mode == "enabled":
            kwargs["thinking"] = {"type": "enabled", "budget_tokens": cfg.thinking_budget}
            if cfg.thinking_display:
                kwargs["thinking"]["display"] = cfg.thinking_display
        elif cfg.temperature is not None:  # the API refuses a temperature other than 1 with thinking
            kwargs["temperature"] = cfg.temperature
        if cfg.reasoning_effort:
            kwargs["output_config"] = {"effort": cfg.reasoning_effort}
        return kwargs

    async def _anthropic(self, request: AgentRequest, key: str, stream: _Stream, remaining: float) -> None:
        """One streamed Messages call: ``thinking_delta`` is reasoning, ``text_delta`` the answer;
        ``message_start``/``message_delta`` carry the usage (input = uncached + cache writes + cache
        reads; cached = cache reads; reasoning = ``output_tokens_details.thinking_tokens`` where
        reported) and ``message_delta`` the stop reason."""
        anthropic = await _import_sdk("anthropic")
        splitter = ThinkTagSplitter()  # Anthropic-compatible servers of open models may use <think> tags
        stopped = False
        usage = Usage()
        try:
            client = await self._client(anthropic.AsyncAnthropic, key)
            events = await client.messages.create(**self._anthropic_kwargs(request), timeout=max(0.1, remaining))
            async with events:
                async for event in events:
                    etype = event.type
                    if etype == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta":
                            for kind, text in splitter.feed(delta.text):
                                stream.emit(kind, text)
                        elif delta.type == "thinking_delta":
                            stream.emit("reasoning", delta.thinking)
                    elif etype == "message_start":
                        usage = self._anthropic_usage(event.message.usage, usage)
                        stream.usage = usage
                    elif etype == "message_delta":
                        usage = self._anthropic_usage(event.usage, usage)
                        stream.usage = usage
                        if event.delta.stop_reason:
                            stream.finish = event.delta.stop_reason
                            details = getattr(event.delta, "stop_details", None)
                            stream.detail = str(getattr(details, "category", None) or "")
                    elif etype == "message_stop":
                        stopped = True
            for kind, text in splitter.flush():
                stream.emit(kind, text)
        except (_Failed, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._map_error(exc, anthropic, stream) from None
        if not stopped:
            raise _Failed("malformed", f"the stream from {self._where or 'the anthropic API'} ended before message_stop")

    @staticmethod
    def _anthropic_usage(u: Any, before: Usage) -> Usage:
        """``before`` updated with the (cumulative) counts ``u`` reports; counts it leaves out are kept."""
        def count(name: str) -> int | None:
            value = getattr(u, name, None)
            return value if isinstance(value, int) else None

        input_tokens, cached = before.input_tokens, before.cached_input_tokens
        uncached = count("input_tokens")
        if uncached is not None:  # message_start, and message_delta where it repeats them
            cached = count("cache_read_input_tokens") or 0
            input_tokens = uncached + (count("cache_creation_input_tokens") or 0) + cached
        thinking = getattr(getattr(u, "output_tokens_details", None), "thinking_tokens", None)
        output = count("output_tokens")
        return Usage(input_tokens, output if output is not None else before.output_tokens,
                     thinking if isinstance(thinking, int) else before.reasoning_tokens, cached)
