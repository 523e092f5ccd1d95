"""LLM agents on the official SDKs: ``openai`` (chat completions, also any OpenAI-compatible server:
DeepSeek, xAI, Qwen, Groq, OpenRouter, Ollama, vLLM, llama.cpp) and ``anthropic`` (Messages, extended
thinking), always streaming.

Every piece of text goes to ``on_delta(kind, text)`` as it arrives, ``kind`` "reasoning" or "answer":
OpenAI-compatible ``delta.reasoning_content`` (DeepSeek, vLLM) and ``delta.reasoning`` (newer vLLM,
Ollama, OpenRouter) are reasoning, and so is text inside ``<think>...</think>`` in ``delta.content``
(DeepSeek-R1 distills on Ollama/llama.cpp), also when a tag is split across chunks; Anthropic
``thinking_delta`` is reasoning and ``text_delta`` the answer.

The SDKs are imported lazily, in a worker thread, on the first call (``warm_up`` does it ahead of
time), so importing this module costs nothing. API keys are read from the environment variable the
config names at call time only; they are never stored, logged, or put into a failure reason (SDK and
server error texts are scrubbed of the key before they are surfaced).

``decide`` never raises: timeouts (one deadline for the whole call, retries included), HTTP 429
(retried with backoff, honouring ``retry-after``), 5xx and 529 overloaded (retried), refused
connections, malformed or truncated streams, mid-stream errors, empty answers, length cut-offs, a
missing or rejected key and a spent budget all end as ``AgentReply(failure=AgentFailure(kind, reason))``
with a one-sentence reason that names the agent and says what to do.
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

from arena_tui.config import redact_text, redact_url, url_secrets
from arena_tui.engine.agents.base import AgentFailure, AgentReply, AgentRequest, DeltaKind, OnDelta, Usage
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

    - ``name``: unique label in the session; ``provider``: "openai", "anthropic" or "openai-compatible";
      ``model``: the provider's model id; ``base_url``: None for the provider's default endpoint, else
      e.g. ``http://localhost:11434/v1`` (Ollama), ``https://api.deepseek.com``.
    - ``api_key_env``: NAME of the environment variable holding the key (never the key). None means
      ``OPENAI_API_KEY``/``ANTHROPIC_API_KEY`` for "openai"/"anthropic", and no key at all for
      "openai-compatible" (a placeholder is sent).
    - ``temperature`` (None: provider default; not sent with Anthropic thinking), ``max_tokens`` (output
      tokens; sent as ``max_completion_tokens`` to "openai", ``max_tokens`` elsewhere).
    - ``timeout_s``: deadline for the whole call, retries included (s); ``retries``: extra attempts after
      a 429/5xx/connection failure that happened before any text arrived; ``retry_backoff_s``: first
      backoff (s), doubled each retry, with jitter, unless the server sends ``retry-after``.
    - ``price_input_per_mtok``/``price_output_per_mtok``: USD per million input/output tokens.
    - ``budget_tokens_per_day``/``budget_usd_per_day``: hold the agent for the rest of the UTC day once
      its input+output tokens or its cost that day reach these (None: no budget).
    - ``thinking``: Anthropic extended thinking ``budget_tokens`` (None: off; must be < ``max_tokens``);
      ``reasoning_effort``: OpenAI reasoning models' effort ("minimal", "low", "medium", "high").

    Raises ``ConfigError`` (one sentence naming the field) for values that cannot work.
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
    budget_tokens_per_day: int | None = None
    budget_usd_per_day: float | None = None
    thinking: int | None = None
    reasoning_effort: str | None = None

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
        if self.price_input_per_mtok < 0 or self.price_output_per_mtok < 0:
            raise ConfigError(f"{where}: token prices must not be negative: use USD per million tokens.")
        if self.thinking is not None:
            if self.provider != "anthropic":
                raise ConfigError(
                    f"{where}: thinking applies to provider anthropic only: use reasoning_effort for OpenAI models."
                )
            if not 1 <= self.thinking < self.max_tokens:
                raise ConfigError(
                    f"{where}: thinking budget {self.thinking} must be at least 1 and below max_tokens "
                    f"({self.max_tokens}): lower thinking or raise max_tokens."
                )
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

    def cost_usd(self, usage: Usage) -> float:
        """USD for ``usage`` at this agent's prices (``reasoning_tokens`` are already in ``output_tokens``)."""
        return (usage.input_tokens * self.price_input_per_mtok + usage.output_tokens * self.price_output_per_mtok) / 1e6


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
        """Stream one answer for ``request``; see the class docstring. Never raises."""
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
            finish_reason=stream.finish,
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
                        else:
                            await self._openai(request, key or PLACEHOLDER_KEY, stream, deadline - loop.time())
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

    def _judge(self, stream: _Stream) -> AgentFailure | None:
        """Failures of a stream that ended properly: length cut-off, refusal, empty answer."""
        cfg = self.config
        if stream.finish in ("length", "max_tokens"):
            spent_on = " (all of it on reasoning)" if stream.reasoning and not "".join(stream.answer).strip() else ""
            return AgentFailure(
                "length",
                f"{self.name}: the answer was cut off at max_tokens={cfg.max_tokens}{spent_on}; "
                "raise max_tokens in its config.",
            )
        if stream.finish in ("content_filter", "refusal"):
            return AgentFailure(
                "error",
                f"{self.name}: the provider withheld the answer (finish reason '{stream.finish}'); holding this cycle.",
            )
        if not "".join(stream.answer).strip():
            what = "only reasoning and no answer" if stream.reasoning else "an empty answer"
            return AgentFailure("empty", f"{self.name}: the model returned {what}; holding this cycle.")
        return None

    # -- errors ----------------------------------------------------------------------------------
    def _scrub(self, text: str, key: str | None) -> str:
        """``text`` on one line, at most 400 characters, without the API key, bearer tokens, the
        base_url's credentials (user-info, credential query parameters) or anything key-like."""
        if key:
            text = text.replace(key, "[redacted]")
            if len(key) >= 12:  # also a key cut short by an echoing server
                text = text.replace(key[:-4], "[redacted]")
        base_url = self.config.base_url
        if base_url and self._where and self._where != base_url:
            text = text.replace(base_url, self._where)
        for secret in self._url_secrets:
            text = text.replace(secret, "[redacted]")
        text = redact_text(text)
        text = re.sub(r"(?i)(bearer\s+)\S+", r"\1[redacted]", text)
        text = " ".join(text.split())
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
    def _detail(exc: Any) -> str:
        """ ": <the server's error message>" (trailing punctuation dropped), or "" if it sent none."""
        message = getattr(exc, "api_message", None)
        body = getattr(exc, "body", None)
        if not message and isinstance(body, dict):
            err = body.get("error", body)
            message = err.get("message") if isinstance(err, dict) else None
        message = message.strip().rstrip(".!") if isinstance(message, str) else ""
        return f": {message}" if message else ""

    # -- OpenAI ----------------------------------------------------------------------------------
    async def _openai(self, request: AgentRequest, key: str, stream: _Stream, remaining: float) -> None:
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
        }
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        kwargs["max_completion_tokens" if cfg.provider == "openai" else "max_tokens"] = cfg.max_tokens
        if cfg.reasoning_effort:
            kwargs["reasoning_effort"] = cfg.reasoning_effort
        splitter = ThinkTagSplitter()
        try:
            client = await self._client(openai.AsyncOpenAI, key)
            response = await client.chat.completions.create(**kwargs, timeout=max(0.1, remaining))
            async with response:
                async for chunk in response:
                    if chunk.usage is not None:
                        u = chunk.usage
                        details = getattr(u, "completion_tokens_details", None)
                        stream.usage = Usage(
                            input_tokens=u.prompt_tokens or 0,
                            output_tokens=u.completion_tokens or 0,
                            reasoning_tokens=(getattr(details, "reasoning_tokens", None) or 0) if details else 0,
                        )
                    for choice in (chunk.choices or [])[:1]:
                        delta = choice.delta
                        if delta is not None:
                            thought = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
                            if isinstance(thought, str):
                                stream.emit("reasoning", thought)
                            if delta.content:
                                for kind, text in splitter.feed(delta.content):
                                    stream.emit(kind, text)
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

    # -- Anthropic -------------------------------------------------------------------------------
    async def _anthropic(self, request: AgentRequest, key: str, stream: _Stream, remaining: float) -> None:
        cfg = self.config
        anthropic = await _import_sdk("anthropic")
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "max_tokens": cfg.max_tokens,
            "system": request.system_prompt,
            "messages": [{"role": "user", "content": request.user_prompt}],
            "stream": True,
        }
        if cfg.thinking is not None:
            kwargs["thinking"] = {"type": "enabled", "budget_tokens": cfg.thinking}
        elif cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        splitter = ThinkTagSplitter()  # Anthropic-compatible servers of open models may use <think> tags
        stopped = False
        input_tokens = 0
        output_tokens = 0
        thinking_tokens = 0
        try:
            client = await self._client(anthropic.AsyncAnthropic, key)
            events = await client.messages.create(**kwargs, timeout=max(0.1, remaining))
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
                        u = event.message.usage
                        input_tokens = (u.input_tokens or 0) + (getattr(u, "cache_creation_input_tokens", None) or 0) \
                            + (getattr(u, "cache_read_input_tokens", None) or 0)
                        output_tokens = u.output_tokens or 0
                        stream.usage = Usage(input_tokens, output_tokens, 0)
                    elif etype == "message_delta":
                        u = event.usage
                        if getattr(u, "input_tokens", None):
                            input_tokens = u.input_tokens + (getattr(u, "cache_creation_input_tokens", None) or 0) \
                                + (getattr(u, "cache_read_input_tokens", None) or 0)
                        output_tokens = u.output_tokens or output_tokens
                        details = getattr(u, "output_tokens_details", None)
                        thinking_tokens = (getattr(details, "thinking_tokens", None) or 0) if details else 0
                        stream.usage = Usage(input_tokens, output_tokens, thinking_tokens)
                        if event.delta.stop_reason:
                            stream.finish = event.delta.stop_reason
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
