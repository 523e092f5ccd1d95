"""The answer cache: a model's answer to a prompt it was already asked, read from disk instead of
paid for again (``[arena] answer_cache = true``, or ``--answer-cache [DIR]``; recorded market only).

Re-running a backtest over the recorded market asks every model the very prompts it was asked
before. With the cache on, each answer an LLM agent gets (one that finished properly: no failure)
is kept in a file, and the next time the same call is about to be made the file answers instead:
no request, no tokens, no cost. A live market never repeats a prompt (the clock moves on), so the
setting is refused there.

The key: SHA-256 of (``KEY_VERSION``, provider, model, base_url with its credentials redacted, the
call's parameters: temperature, max_tokens, reasoning_effort, reasoning_summary, thinking mode,
thinking budget and display; and the SHA-256 of the exact system prompt and of the exact user
prompt). Anything else that changes what is sent changes the key: another prompt template, another
account, another cycle's market. Prices, timeouts, retries and budgets are not part of it (they do
not change the answer).

Storage: one JSON file per key, ``<dir>/<key[:2]>/<key>.json``, under ``platformdirs.user_cache_dir
("arena-tui")/answers`` unless ``[arena] answer_cache_dir`` names another directory. An entry holds
the key's parts (with the prompts as their SHA-256, never their text; ``base_url`` redacted, no key:
agents name the environment variable holding theirs, and it is never read here), the answer text,
the reasoning text, the usage the API reported when it was paid for, the finish reason and when it
was stored. Written atomically (a temporary file in the same directory, then ``os.replace``), so a
reader never sees half an entry. An entry that cannot be read (not JSON, wrong shape, another key's
parts) is a miss, never a crash; the answer then asked for replaces it.

A hit (``LLMAgent.decide``): the stored reasoning, then the answer, go through ``on_delta`` (the pane
shows them as if streamed), and the reply has ``cached=True``, zero usage and zero cost (nothing was
spent this time, so budgets are not charged). The journal's ``AgentReplied.cached`` marks it, the
state fold counts it (``AgentBook.cache_hits``) and verification re-executes it like any answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from arena_tui.config import redact_text, redact_url
from arena_tui.engine.agents.base import AgentReply, Usage
from arena_tui.engine.errors import ConfigError

_log = logging.getLogger(__name__)

KEY_VERSION = 1
"""Part of every key: a change to what a key holds (or to how an answer is produced from the same
call) bumps it, so old entries simply stop matching."""
ENTRY_FORMAT = "arena-tui answer cache 1"
"""The ``format`` of an entry file."""


def default_cache_dir() -> Path:
    """``<user cache dir>/arena-tui/answers`` (``~/.cache/arena-tui/answers`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("arena-tui", appauthor=False)) / "answers"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer: the answer ``text``, the ``reasoning`` text, the ``usage`` the API reported
    when it was paid for, the ``finish_reason``."""

    text: str
    reasoning: str
    usage: Usage
    finish_reason: str | None


class AnswerCache:
    """Answers by call (see the module docstring). ``directory``: where entries live (None: the
    default, ``default_cache_dir()``). ``hits``/``misses``/``stored`` count this process's lookups
    and writes. Nothing here raises for a bad entry or a full disk: a miss, or an answer not kept
    (logged once)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self._warned = False

    def check(self) -> None:
        """Make sure the directory exists or can be made; ``ConfigError`` (one sentence naming the
        directory and the key) otherwise."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not os.access(self.directory, os.W_OK | os.X_OK):
                raise PermissionError(13, "permission denied")
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ConfigError(
                f"the answer cache directory {self.directory} cannot be used ({reason}): fix [arena] answer_cache_dir "
                "or --answer-cache, or leave it empty for the user cache directory."
            ) from None

    # -- keys ------------------------------------------------------------------------------------
    @staticmethod
    def parts(config: Any, system: str, user: str) -> dict[str, Any]:
        """The key's parts for a call of the agent configured by ``config`` (an ``LLMAgentConfig``)
        with these prompts: what is stored in the entry (no prompt text, no credential)."""
        thinking_mode = getattr(config, "thinking_mode", None) if config.provider == "anthropic" else None
        return {
            "version": KEY_VERSION,
            "provider": config.provider,
            "model": redact_text(config.model),
            "base_url": redact_url(config.base_url) if config.base_url else "",
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            "reasoning_effort": config.reasoning_effort,
            "reasoning_summary": config.reasoning_summary if config.provider == "openai" else None,
            "thinking": thinking_mode,
            "thinking_budget": config.thinking_budget if thinking_mode == "enabled" else None,
            "thinking_display": config.thinking_display,
            "system_sha256": _sha256(system),
            "user_sha256": _sha256(user),
        }

    @staticmethod
    def key(parts: dict[str, Any], model: str | None = None) -> str:
        """The key (SHA-256, hex) of ``parts``; ``model``: the exact model id (``parts`` holds it
        redacted, should it look like a key)."""
        material = dict(parts)
        if model is not None:
            material["model"] = model
        text = json.dumps(material, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=True)
        return _sha256(text)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    # -- reading ---------------------------------------------------------------------------------
    def get(self, config: Any, system: str, user: str) -> CachedAnswer | None:
        """The stored answer for this call, or None (no entry, or one that cannot be used)."""
        parts = self.parts(config, system, user)
        path = self.path(self.key(parts, config.model))
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError) as exc:
            _log.warning("answer cache: cannot read %s (%s); asking the model", path, exc)
            self.misses += 1
            return None
        found = _entry(raw, parts)
        if found is None:
            _log.warning("answer cache: %s is not a usable entry; asking the model (it will be replaced)", path)
            self.misses += 1
            return None
        self.hits += 1
        return found

    # -- writing ---------------------------------------------------------------------------------
    def put(self, config: Any, system: str, user: str, reply: AgentReply) -> bool:
        """Keep ``reply`` (an answer that finished properly) for this call; True when written. An
        existing entry (a corrupt one, or the same call answered twice) is replaced. Never raises."""
        if reply.failure is not None:
            return False
        parts = self.parts(config, system, user)
        path = self.path(self.key(parts, config.model))
        u = reply.usage
        entry = {
            "format": ENTRY_FORMAT,
            "key": parts,
            "stored_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "text": reply.text,
            "reasoning": reply.reasoning,
            "usage": {
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "reasoning_tokens": u.reasoning_tokens,
                "cached_input_tokens": u.cached_input_tokens,
            },
            "finish_reason": reply.finish_reason,
        }
        try:
            data = json.dumps(entry, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except (OSError, ValueError, UnicodeError) as exc:
            if not self._warned:
                self._warned = True
                _log.warning("answer cache: cannot write %s (%s); answers are not being kept", path, exc)
            return False
        self.stored += 1
        return True


def _entry(raw: bytes, parts: dict[str, Any]) -> CachedAnswer | None:
    """The answer an entry file holds when it is one for ``parts``, else None."""
    try:
        d = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, UnicodeError, RecursionError):
        return None
    if not isinstance(d, dict) or d.get("format") != ENTRY_FORMAT or d.get("key") != parts:
        return None
    text, reasoning, finish, usage = d.get("text"), d.get("reasoning"), d.get("finish_reason"), d.get("usage")
    if not isinstance(text, str) or not text.strip() or not isinstance(reasoning, str):
        return None
    if finish is not None and not isinstance(finish, str):
        return None
    if not isinstance(usage, dict):
        return None
    counts = []
    for name in ("input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens"):
        v = usage.get(name, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return None
        counts.append(v)
    return CachedAnswer(text, reasoning, Usage(*counts), finish)
