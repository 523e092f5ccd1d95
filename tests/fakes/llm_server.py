"""A real HTTP server on 127.0.0.1 that speaks the OpenAI and Anthropic streaming wire formats.

It replays real answers from the Alpha Arena Season 1 corpus (``tests/data/llm_answers_alpha_arena.json.gz``)
so the official ``openai`` and ``anthropic`` SDK clients can be tested end to end without a network.

Routes (``base_url`` = ``http://127.0.0.1:<port>``):

- ``POST /v1/chat/completions`` (OpenAI chat completions, ``stream: true``; point the SDK at
  ``openai_base_url`` = ``base_url + "/v1"``): ``data: {chat.completion.chunk}`` lines, the first
  delta carrying ``role``, then content (or ``reasoning_content`` / ``reasoning``) deltas, a chunk with
  ``finish_reason``, a usage chunk with empty ``choices`` when ``stream_options.include_usage`` is set,
  then ``data: [DONE]`` - chunk for chunk as OpenAI sends them.
- ``POST /v1/responses`` (OpenAI Responses API, ``stream: true``; same ``openai_base_url``): ``event:``/
  ``data:`` pairs with a ``sequence_number`` each, ``response.created``, ``response.in_progress``, a
  reasoning item streaming ``response.reasoning_summary_text.delta`` per summary part (when
  ``reasoning.summary`` is asked for), a message item streaming ``response.output_text.delta`` (or
  ``response.refusal.delta``), then ``response.completed`` / ``response.incomplete`` /
  ``response.failed`` with usage (``input_tokens_details.cached_tokens``,
  ``output_tokens_details.reasoning_tokens``), as the types in openai-python
  ``src/openai/types/responses/`` describe them; refuses a temperature alongside ``reasoning`` and
  the chat parameters (``messages``, ``max_tokens``...) with HTTP 400 as the real API does.
- ``POST /v1/messages`` (Anthropic Messages, ``stream: true``; point the SDK at ``anthropic_base_url``
  = ``base_url``): ``event:``/``data:`` pairs ``message_start``, ``content_block_start``, ``ping``,
  ``content_block_delta`` (``thinking_delta``, ``signature_delta``, ``text_delta``),
  ``content_block_stop``, ``message_delta`` (usage, ``stop_reason``), ``message_stop``, as in the SDK's
  own fixtures (anthropics/anthropic-sdk-python ``tests/lib/streaming/fixtures/basic_response.txt``);
  usage with ``cache_read_input_tokens`` and ``output_tokens_details.thinking_tokens``, ``stop_reason``
  ``refusal`` (with ``stop_details``) and ``model_context_window_exceeded``. Refuses with HTTP 400, as the
  real API: ``thinking.budget_tokens`` below 1024 or not below ``max_tokens``, ``type: "enabled"`` on a
  model of 4.7 or later (``adaptive_only=1``), a budget with ``type: "adaptive"``, an unknown
  ``display`` or ``output_config.effort``, and a temperature other than 1 with thinking.

The scenario is chosen per request by the requested **model name**: ``"<scenario>"`` or
``"<scenario>:key=value,key=value"`` (e.g. ``"reasoning:ttft=2.0,tps=50"``); unknown names fall back
to the server's default scenario. See ``Scenario`` for the names and the keys.

Use from async code: ``async with FakeLLMServer() as srv: srv.openai_base_url``; from sync code
(benchmarks, threads): ``with FakeLLMServerThread() as srv: ...``.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

DEFAULT_ANSWERS = Path(__file__).resolve().parents[1] / "data" / "llm_answers_alpha_arena.json.gz"
"""The real answers the server replays: 239 Alpha Arena records (see that file's ``source`` field)."""

SCENARIOS = (
    "normal",  # the answer text only
    # reasoning first, then the answer: OpenAI delta.reasoning_content (delta.reasoning with
    # field=reasoning); Anthropic a thinking block with its signature_delta
    "reasoning",
    # OpenAI/Anthropic text: reasoning inside <think>...</think> at the start of the content
    # (DeepSeek-R1 distills on Ollama/llama.cpp); chunk=3 splits the tags across chunks
    "think",
    "429",  # HTTP 429 with retry-after for the first `fail` requests of this model name (default 1), then "normal"
    "500",  # HTTP 500 for the first `fail` requests (default: every request), then "normal"
    "529",  # overloaded: HTTP 529 overloaded_error (Anthropic) / 503 (OpenAI), like "500" otherwise
    "401",  # HTTP 401 whose message echoes the API key it was sent (as a careless proxy would)
    "slow",  # headers at once, then nothing for `ttft` seconds (default 30), then "normal"
    "cutoff",  # half the answer, then a clean end of the body with no finish_reason/[DONE] (no message_stop)
    "drop",  # half the answer, then the TCP connection is closed mid-body
    "badjson",  # half the answer, then a data line that is not valid JSON
    # half the answer, then an error inside the 200 stream: Anthropic `event: error` (overloaded_error),
    # OpenAI a `data: {"error": ...}` line
    "stream_error",
    "empty",  # no text at all, finished normally
    # a complete, normally finished answer that holds no decision: prose instead of JSON (what a
    # model does when it ignores the format; the arena's parser refuses it)
    "prose",
    # half the answer, then finish_reason "length" / stop_reason "max_tokens" / Responses
    # `response.incomplete` with incomplete_details.reason "max_output_tokens"
    "length",
    # the model declines: chat `delta.refusal` pieces; Responses a refusal content part
    # (`response.refusal.delta`); Anthropic half the answer, then stop_reason "refusal" with stop_details
    "refusal",
    # the context window overflows: OpenAI routes HTTP 400 `context_length_exceeded` (as the real API
    # answers an oversized prompt); Anthropic half the answer, then stop_reason "model_context_window_exceeded"
    "context",
    # OpenAI routes only: half the answer, then finish_reason "content_filter" / Responses
    # `response.incomplete` with reason "content_filter" (Anthropic has no such stop: it answers normally)
    "content_filter",
)

PROSE_TEXT = (
    "Looking at the tape, momentum is fading across the majors and funding is flat. I would rather "
    "wait for a clearer setup before committing capital, so I am staying patient for now."
)
"""What the "prose" scenario's model says: an answer with no decision in it."""

REFUSAL_TEXT = "I'm sorry, but I can't help with making trading decisions for you."
"""What the "refusal" scenario's model says (OpenAI routes)."""


@dataclass(frozen=True)
class Scenario:
    """What the server does for one request, parsed from the model name ``name[:key=value,...]``.

    Keys: ``ttft`` (s before the first token), ``tps`` (tokens per second after it, 0 = as fast as the
    socket goes), ``record`` (index of the real record to replay, oldest first), ``model_id`` (replay the
    first record of that Alpha Arena model, e.g. ``gpt-5``), ``fail`` (failing requests before success
    for 429/500/529), ``retry_after`` (s, sent as ``retry-after-ms`` and a rounded-up ``retry-after``),
    ``chunk`` (characters per streamed piece; 0 = word-sized pieces, about one token each), ``tokens``
    (stream at least this many pieces, repeating the reasoning to get there: "50 tokens/s for 30 s"
    is ``reasoning:tps=50,tokens=1500``), ``field`` (OpenAI reasoning field: ``reasoning_content`` or
    ``reasoning``), ``cached`` (input tokens reported as read from the prompt cache), ``parts``
    (Responses: reasoning summary parts the reasoning is split into, default 1), ``via`` (Responses
    "stream_error": ``failed`` sends ``response.failed``, ``error`` an ``error`` event),
    ``adaptive_only`` (Anthropic: 1 = a model of 4.7 or later, which refuses ``thinking.type
    "enabled"`` with HTTP 400), ``stop`` (Anthropic: the ``stop_reason`` to finish with, e.g.
    ``pause_turn``, in place of the scenario's own).
    """

    name: str = "normal"
    ttft: float = 0.0
    tps: float = 0.0
    record: int | None = None
    model_id: str | None = None
    fail: int | None = None
    retry_after: float = 0.1
    chunk: int = 0
    tokens: int = 0
    field: str = "reasoning_content"
    cached: int = 0
    parts: int = 1
    via: str = "failed"
    adaptive_only: int = 0
    stop: str = ""

    @classmethod
    def parse(cls, model: str, default: "Scenario | None" = None) -> "Scenario":
        """Parse ``"name:key=value,..."``; an unknown name gives ``default`` (or "normal") with the keys applied."""
        base = default or cls()
        name, _, params = str(model).partition(":")
        sc = replace(base, name=name) if name in SCENARIOS else base
        if name == "slow":
            sc = replace(sc, ttft=30.0)
        types = {"ttft": float, "tps": float, "record": int, "model_id": str, "fail": int,
                 "retry_after": float, "chunk": int, "tokens": int, "field": str, "cached": int, "parts": int,
                 "via": str, "adaptive_only": int, "stop": str}
        for item in filter(None, params.split(",")):
            key, _, value = item.partition("=")
            key = key.strip()
            if key in types:
                sc = replace(sc, **{key: types[key](value.strip())})
        return sc


@dataclass
class FakeRequest:
    """One request the server received: ``path``, requested ``model``, the parsed ``scenario``, the JSON
    ``body``, lower-cased ``headers``, ``received`` (time.monotonic()), the HTTP ``status`` sent, the
    usage it reported (``input_tokens`` all of them, ``cached_tokens`` of them from the cache,
    ``output_tokens``, ``reasoning_tokens`` of them reasoning; 0 until known), ``summary_parts`` (the
    Responses reasoning summary parts sent) and ``events`` (the JSON of every streamed event or chunk,
    in order, for checking against the SDKs' own types)."""

    path: str
    model: str
    scenario: Scenario
    body: dict[str, Any]
    headers: dict[str, str]
    received: float
    status: int = 200
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    pieces_sent: int = 0
    summary_parts: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def api_key(self) -> str:
        """The key the client presented (``x-api-key``, or ``Authorization: Bearer``), "" if none."""
        auth = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or auth.removeprefix("Bearer ").strip()


def load_answers(path: Path = DEFAULT_ANSWERS) -> list[dict[str, Any]]:
    """The compact records (``timestamp``, ``model_id``, ``cycle_id``, ``answer``, ``reasoning``), oldest first."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    records = doc["records"] if isinstance(doc, dict) else doc
    return sorted(records, key=lambda r: float(r["timestamp"]))


def _json_bytes(obj: Any) -> bytes:
    """``obj`` as compact JSON in UTF-8, as the providers send it; text that UTF-8 cannot hold (a lone
    surrogate a model produced) is sent as a ``\\ud800`` escape, which is valid JSON."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


_WORD = re.compile(r"\s*\S+|\s+$")


def split_pieces(text: str, chunk: int = 0) -> list[str]:
    """Split ``text`` into streamed pieces whose concatenation is ``text``: ``chunk`` characters each,
    or (``chunk`` = 0) one word with its leading whitespace each, about one token."""
    if not text:
        return []
    if chunk > 0:
        return [text[i : i + chunk] for i in range(0, len(text), chunk)]
    pieces = _WORD.findall(text)
    if "".join(pieces) != text:  # never lose a character
        return [text[i : i + 4] for i in range(0, len(text), 4)]
    return pieces


def _count_input_tokens(body: dict[str, Any]) -> int:
    chars = len(str(body.get("system") or body.get("instructions") or ""))
    messages = body.get("messages") or body.get("input") or []
    if isinstance(messages, str):
        messages = [{"content": messages}]
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        chars += len(str(content or ""))
    return max(1, chars // 4)


class FakeLLMServer:
    """The fake provider server (async). ``answers``: path of the real answer file (default
    ``DEFAULT_ANSWERS``); ``default``: the scenario for model names that name none. Start with
    ``async with`` (or ``await start()`` / ``await close()``); ``requests`` lists every request received."""

    def __init__(self, answers: Path | str = DEFAULT_ANSWERS, *, default: Scenario | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.records = load_answers(Path(answers))
        self.default = default or Scenario()
        self.host = host
        self.port = port
        self.requests: list[FakeRequest] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> "FakeLLMServer":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/v1/messages", self._anthropic)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5,
                                     handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeLLMServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the Anthropic SDK's ``base_url``."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``: the OpenAI SDK's ``base_url``."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    # -- content ---------------------------------------------------------------------------------
    def pick(self, sc: Scenario) -> dict[str, Any]:
        """The real record a scenario replays: ``record``, else the first of ``model_id``, else the first
        record with reasoning (reasoning scenarios) or the first record."""
        if sc.record is not None:
            return self.records[sc.record % len(self.records)]
        wants_reasoning = sc.name in ("reasoning", "think")
        for r in self.records:
            if sc.model_id is not None and r["model_id"] != sc.model_id:
                continue
            if wants_reasoning and not r["reasoning"]:
                continue
            if not r["answer"].strip():
                continue
            return r
        return self.records[0]

    def plan(self, sc: Scenario) -> list[tuple[str, str]]:
        """The pieces to stream as (kind, text), kind "reasoning" or "answer", before any cut."""
        rec = self.pick(sc)
        answer = split_pieces(rec["answer"], sc.chunk)
        if sc.name == "empty":
            return []
        if sc.name == "prose":
            return [("answer", p) for p in split_pieces(PROSE_TEXT, sc.chunk)]
        reasoning: list[str] = []
        if sc.name in ("reasoning", "think") or sc.tokens:
            reasoning = split_pieces(rec["reasoning"] or rec["answer"], sc.chunk)
        if sc.tokens and reasoning:
            base = list(reasoning)
            while len(reasoning) + len(answer) < sc.tokens:
                reasoning.extend(["\n\n"] + base)
            reasoning = reasoning[: max(1, sc.tokens - len(answer))]
        pieces = [("reasoning", p) for p in reasoning] + [("answer", p) for p in answer]
        if sc.name == "think":
            text = "<think>\n" + "".join(reasoning) + "\n</think>\n\n" + rec["answer"]
            pieces = [("answer", p) for p in split_pieces(text, sc.chunk or 0)]
        if sc.name in ("cutoff", "drop", "badjson", "stream_error", "length", "refusal", "context", "content_filter"):
            pieces = pieces[: max(1, len(pieces) // 2)]
        return pieces

    async def _paced(self, sc: Scenario, pieces: list[tuple[str, str]]):
        """Yield the pieces on schedule: the first after ``ttft`` s, then one every 1/``tps`` s."""
        start = time.monotonic()
        for i, piece in enumerate(pieces):
            due = start + sc.ttft + (i / sc.tps if sc.tps > 0 else 0.0)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            yield piece

    def _register(self, request: web.Request, body: dict[str, Any]) -> FakeRequest:
        model = str(body.get("model", ""))
        sc = Scenario.parse(model, self.default)
        fr = FakeRequest(request.path, model, sc, body, {k.lower(): v for k, v in request.headers.items()},
                         time.monotonic())
        self.requests.append(fr)
        return fr

    def _failing(self, fr: FakeRequest) -> bool:
        """Whether this request of an error scenario should fail (counting per path and model name)."""
        key = (fr.path, fr.model)
        n = self._attempts.get(key, 0) + 1
        self._attempts[key] = n
        default = 1 if fr.scenario.name == "429" else 10**9
        return n <= (fr.scenario.fail if fr.scenario.fail is not None else default)

    @staticmethod
    def _presented_key(request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        return request.headers.get("x-api-key") or auth.removeprefix("Bearer ").strip()

    # -- OpenAI ----------------------------------------------------------------------------------
    @staticmethod
    def _openai_error(status: int, message: str, type_: str, code: str | None,
                      headers: dict[str, str] | None = None) -> web.Response:
        body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
        return web.json_response(body, status=status, headers=headers)

    def _openai_failure(self, fr: FakeRequest, request: web.Request) -> web.Response | None:
        """The HTTP error an OpenAI error scenario answers this request with, or None to stream."""
        sc = fr.scenario
        if sc.name in ("429", "500", "529", "401"):
            failing = sc.name == "401" or self._failing(fr)
            if failing:
                if sc.name == "429":
                    fr.status = 429
                    return self._openai_error(
                        429, f"Rate limit reached for {fr.model}: please try again in {sc.retry_after:g}s.",
                        "requests", "rate_limit_exceeded", self._retry_headers(sc))
                if sc.name == "401":
                    fr.status = 401
                    return self._openai_error(
                        401, f"Incorrect API key provided: {self._presented_key(request)}. You can find your API key at https://platform.openai.com/account/api-keys.",
                        "invalid_request_error", "invalid_api_key")
                fr.status = 503 if sc.name == "529" else 500
                return self._openai_error(fr.status, "The server had an error while processing your request. Sorry about that!",
                                          "server_error", None)
        return None

    async def _openai_register(self, request: web.Request) -> "FakeRequest | web.Response":
        """Read an OpenAI route's JSON body and record the request; the HTTP 400 OpenAI sends for a
        body that is not JSON instead."""
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        return self._register(request, body)

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        fr = await self._openai_register(request)
        if isinstance(fr, web.Response):
            return fr
        body, sc = fr.body, fr.scenario
        if not body.get("stream"):
            fr.status = 400
            return self._openai_error(400, "This fake server only streams: set stream=true.", "invalid_request_error", None)
        failed = self._openai_failure(fr, request)
        if failed is not None:
            return failed
        if sc.name == "context":
            fr.status = 400
            return self._openai_error(
                400, "This model's maximum context length is 128000 tokens. However, your messages resulted in "
                "131072 tokens. Please reduce the length of the messages.", "invalid_request_error",
                "context_length_exceeded")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        pieces = self.plan(sc)
        if sc.name == "refusal":
            pieces = [("refusal", p) for p in split_pieces(REFUSAL_TEXT, sc.chunk)]
        created = int(time.time())
        cid = f"chatcmpl-fake{next(self._ids):06d}"
        fr.input_tokens = _count_input_tokens(body)
        reasoning_field = sc.field if sc.field in ("reasoning_content", "reasoning") else "reasoning_content"
        has_reasoning = any(kind == "reasoning" for kind, _ in pieces)

        def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None, choices: bool = True) -> bytes:
            obj: dict[str, Any] = {
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": fr.model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
            }
            if include_usage:
                obj["usage"] = usage
            fr.events.append(obj)
            return b"data: " + _json_bytes(obj) + b"\n\n"

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "x-request-id": cid})
        await resp.prepare(request)
        try:
            first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
            if has_reasoning:
                first = {"role": "assistant", "content": None, reasoning_field: ""}
            if sc.name == "refusal":
                first = {"role": "assistant", "content": None, "refusal": ""}
            await resp.write(chunk(first))
            async for kind, text in self._paced(sc, pieces):
                if kind == "reasoning":
                    delta = {"content": None, reasoning_field: text}
                elif kind == "refusal":
                    delta = {"refusal": text}
                else:
                    delta = {"content": text, reasoning_field: None} if has_reasoning else {"content": text}
                await resp.write(chunk(delta))
                fr.pieces_sent += 1
                fr.output_tokens += 1
                fr.reasoning_tokens += kind == "reasoning"
            if await self._broken_end(sc, request, resp, b'data: {"id":"' + cid.encode() + b'","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"\n\n'):
                return resp
            if sc.name == "stream_error":
                err = {"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": None, "code": None}}
                await resp.write(b"data: " + json.dumps(err).encode() + b"\n\n")
                await resp.write_eof()
                return resp
            finish = {"length": "length", "content_filter": "content_filter"}.get(sc.name, "stop")
            await resp.write(chunk({}, finish))
            if include_usage:
                fr.cached_tokens = min(sc.cached, fr.input_tokens)
                usage = {
                    "prompt_tokens": fr.input_tokens, "completion_tokens": fr.output_tokens,
                    "total_tokens": fr.input_tokens + fr.output_tokens,
                    "prompt_tokens_details": {"cached_tokens": fr.cached_tokens, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": fr.reasoning_tokens, "audio_tokens": 0,
                                                  "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
                }
                await resp.write(chunk({}, None, usage, choices=False))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away (timeout, cancellation): nothing more to send
        return resp

    @staticmethod
    async def _broken_end(sc: Scenario, request: web.Request, resp: web.StreamResponse, bad_line: bytes) -> bool:
        """End the stream the way a broken scenario says, after half the answer: ``cutoff`` a clean end
        of the body too early, ``drop`` the connection closed mid-body, ``badjson`` ``bad_line`` (a
        line of the route's format that is not valid JSON) and the end. False for other scenarios."""
        if sc.name == "cutoff":
            await resp.write_eof()
        elif sc.name == "drop":
            assert request.transport is not None
            request.transport.close()
        elif sc.name == "badjson":
            await resp.write(bad_line)
            await resp.write_eof()
        else:
            return False
        return True

    @staticmethod
    def _retry_headers(sc: Scenario) -> dict[str, str]:
        return {"retry-after-ms": str(int(round(sc.retry_after * 1000))),
                "retry-after": str(max(0, int(-(-sc.retry_after // 1))))}

    # -- OpenAI Responses API ----------------------------------------------------------------------
    OPENAI_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
    OPENAI_SUMMARIES = ("auto", "concise", "detailed")

    def _responses_problem(self, body: dict[str, Any]) -> tuple[str, str | None] | None:
        """(message, param) of the HTTP 400 the real Responses API answers this body with, if any."""
        for key in ("messages", "max_tokens", "max_completion_tokens", "stream_options", "reasoning_effort"):
            if key in body:
                return f"Unsupported parameter: '{key}'. In the Responses API, this parameter has moved.", key
        if not body.get("stream"):
            return "This fake server only streams: set stream=true.", "stream"
        if not body.get("input"):
            return "Missing required parameter: 'input'.", "input"
        reasoning = body.get("reasoning") or {}
        effort, summary = reasoning.get("effort"), reasoning.get("summary")
        if effort is not None and effort not in self.OPENAI_EFFORTS:
            allowed = ", ".join(f"'{e}'" for e in self.OPENAI_EFFORTS)
            return f"Invalid value: '{effort}'. Supported values are: {allowed}.", "reasoning.effort"
        if summary is not None and summary not in self.OPENAI_SUMMARIES:
            return f"Invalid value: '{summary}'. Supported values are: 'auto', 'concise', and 'detailed'.", "reasoning.summary"
        if reasoning and "temperature" in body:  # as reasoning models answer
            return "Unsupported parameter: 'temperature' is not supported with this model.", "temperature"
        return None

    def _response_object(self, fr: FakeRequest, rid: str, created: int, status: str,
                         output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """A ``Response`` as the API sends it in ``response.created`` ... ``response.completed``."""
        body = fr.body
        reasoning = body.get("reasoning") or {}
        obj: dict[str, Any] = {
            "id": rid, "object": "response", "created_at": created, "status": status, "background": False,
            "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "max_tool_calls": None, "model": fr.model,
            "output": output, "parallel_tool_calls": True, "previous_response_id": None,
            "prompt_cache_key": None, "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "safety_identifier": None, "service_tier": "default", "store": bool(body.get("store", True)),
            "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
            "usage": None, "user": None, "metadata": {},
        }
        obj.update(extra)
        return obj

    def _responses_usage(self, fr: FakeRequest) -> dict[str, Any]:
        fr.cached_tokens = min(fr.scenario.cached, fr.input_tokens)
        return {
            "input_tokens": fr.input_tokens,
            "input_tokens_details": {"cached_tokens": fr.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": fr.output_tokens,
            "output_tokens_details": {"reasoning_tokens": fr.reasoning_tokens},
            "total_tokens": fr.input_tokens + fr.output_tokens,
        }

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/responses`` with ``stream: true``: ``event:``/``data:`` pairs, each with its
        ``sequence_number``: ``response.created``, ``response.in_progress``; a reasoning output item
        (``response.output_item.added``, per summary part ``response.reasoning_summary_part.added``,
        ``response.reasoning_summary_text.delta``..., ``response.reasoning_summary_text.done``,
        ``response.reasoning_summary_part.done``, then ``response.output_item.done``) when the model
        reasons; a message item (``response.output_item.added``, ``response.content_part.added``,
        ``response.output_text.delta``... or ``response.refusal.delta``..., their ``.done``,
        ``response.content_part.done``, ``response.output_item.done``); then ``response.completed`` (or
        ``response.incomplete`` / ``response.failed``) carrying the whole response and its usage."""
        fr = await self._openai_register(request)
        if isinstance(fr, web.Response):
            return fr
        body, sc = fr.body, fr.scenario
        problem = self._responses_problem(body)
        if problem is not None:
            fr.status = 400
            return web.json_response({"error": {"message": problem[0], "type": "invalid_request_error",
                                                "param": problem[1], "code": None}}, status=400)
        failed = self._openai_failure(fr, request)
        if failed is not None:
            return failed
        if sc.name == "context":
            fr.status = 400
            return web.json_response({"error": {
                "message": "Your input exceeds the context window of this model. Please adjust your input and try again.",
                "type": "invalid_request_error", "param": "input", "code": "context_length_exceeded"}}, status=400)
        pieces = self.plan(sc)
        if sc.name == "refusal":
            pieces = [("refusal", p) for p in split_pieces(REFUSAL_TEXT, sc.chunk)]
        summarise = bool((body.get("reasoning") or {}).get("summary"))
        rid = f"resp_fake{next(self._ids):06d}"
        rs_id, msg_id = f"rs_fake{next(self._ids):06d}", f"msg_fake{next(self._ids):06d}"
        created = int(time.time())
        fr.input_tokens = _count_input_tokens(body)
        seq = itertools.count()
        reasoning_pieces = sum(1 for kind, _ in pieces if kind == "reasoning")
        per_part = -(-reasoning_pieces // max(1, sc.parts)) if reasoning_pieces else 0

        def event(name: str, data: dict[str, Any]) -> bytes:
            data = {"type": name, **data, "sequence_number": next(seq)}
            fr.events.append(data)
            return f"event: {name}\ndata: ".encode() + _json_bytes(data) + b"\n\n"

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "x-request-id": f"req_{rid}"})
        await resp.prepare(request)
        output: list[dict[str, Any]] = []  # the finished output items
        state: dict[str, Any] = {"item": None, "part": -1, "text": "", "parts": [], "content": None}

        def reasoning_item(status: str | None = None) -> dict[str, Any]:
            item: dict[str, Any] = {"id": rs_id, "type": "reasoning",
                                    "summary": [{"type": "summary_text", "text": t} for t in state["parts"]]}
            if status:
                item["status"] = status
            return item

        def message_item(status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
            return {"id": msg_id, "type": "message", "status": status, "content": content, "role": "assistant"}

        def content_part(kind: str, text: str) -> dict[str, Any]:
            if kind == "refusal":
                return {"type": "refusal", "refusal": text}
            return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

        async def close_summary_part() -> None:
            if not state.pop("part_open", False) or not summarise:
                return
            common = {"item_id": rs_id, "output_index": 0, "summary_index": state["part"]}
            await resp.write(event("response.reasoning_summary_text.done", {**common, "text": state["text"]}))
            await resp.write(event("response.reasoning_summary_part.done",
                                   {**common, "part": {"type": "summary_text", "text": state["text"]}}))
            state["parts"].append(state["text"])
            fr.summary_parts.append(state["text"])

        async def open_summary_part() -> None:
            await close_summary_part()
            state["part"] += 1
            state["text"] = ""
            state["part_open"] = True
            if summarise:
                await resp.write(event("response.reasoning_summary_part.added", {
                    "item_id": rs_id, "output_index": 0, "summary_index": state["part"],
                    "part": {"type": "summary_text", "text": ""}}))

        async def close_item(status: str = "completed") -> None:
            item = state["item"]
            if item == "reasoning":
                await close_summary_part()
                done = reasoning_item()
                await resp.write(event("response.output_item.done", {"output_index": 0, "item": done}))
                output.append(done)
            elif item is not None:  # "answer" or "refusal": the message item
                index = len(output)
                kind = item
                common = {"item_id": msg_id, "output_index": index, "content_index": 0}
                if kind == "refusal":
                    await resp.write(event("response.refusal.done", {**common, "refusal": state["text"]}))
                else:
                    await resp.write(event("response.output_text.done", {**common, "text": state["text"], "logprobs": []}))
                part = content_part(kind, state["text"])
                await resp.write(event("response.content_part.done", {**common, "part": part}))
                done = message_item(status, [part])
                await resp.write(event("response.output_item.done", {"output_index": index, "item": done}))
                output.append(done)
            state["item"] = None

        async def open_item(kind: str) -> None:
            await close_item()
            state["item"] = kind
            state["text"] = ""
            index = len(output)
            if kind == "reasoning":
                await resp.write(event("response.output_item.added", {"output_index": index, "item": reasoning_item()}))
                return
            await resp.write(event("response.output_item.added", {"output_index": index, "item": message_item("in_progress", [])}))
            await resp.write(event("response.content_part.added", {
                "item_id": msg_id, "output_index": index, "content_index": 0, "part": content_part(kind, "")}))

        try:
            in_progress = self._response_object(fr, rid, created, "in_progress", [])
            await resp.write(event("response.created", {"response": in_progress}))
            await resp.write(event("response.in_progress", {"response": in_progress}))
            if not pieces:
                await open_item("answer")
            sent_reasoning = 0
            async for kind, text in self._paced(sc, pieces):
                if kind != state["item"]:
                    await open_item(kind)
                if kind == "reasoning":
                    if sent_reasoning % per_part == 0:
                        await open_summary_part()
                    sent_reasoning += 1
                    state["text"] += text
                    if summarise:
                        await resp.write(event("response.reasoning_summary_text.delta", {
                            "item_id": rs_id, "output_index": 0, "summary_index": state["part"], "delta": text,
                            "obfuscation": "fake"}))
                else:
                    state["text"] += text
                    common = {"item_id": msg_id, "output_index": len(output), "content_index": 0, "delta": text}
                    if kind == "refusal":
                        await resp.write(event("response.refusal.delta", common))
                    else:
                        await resp.write(event("response.output_text.delta", {**common, "logprobs": [], "obfuscation": "fake"}))
                fr.pieces_sent += 1
                fr.output_tokens += 1
                fr.reasoning_tokens += kind == "reasoning"
            if await self._broken_end(sc, request, resp, b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"x"\n\n'):
                return resp
            if sc.name == "stream_error":
                if sc.via == "error":
                    await resp.write(event("error", {"code": "server_error", "param": None,
                                                     "message": "The server had an error while processing your request."}))
                else:
                    error = {"code": "server_error", "message": "The server had an error while processing your request."}
                    await resp.write(event("response.failed", {"response": self._response_object(
                        fr, rid, created, "failed", output, error=error, usage=self._responses_usage(fr))}))
                await resp.write_eof()
                return resp
            incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(sc.name)
            await close_item("incomplete" if incomplete else "completed")
            usage = self._responses_usage(fr)
            if incomplete:
                final = self._response_object(fr, rid, created, "incomplete", output, usage=usage,
                                              incomplete_details={"reason": incomplete})
                await resp.write(event("response.incomplete", {"response": final}))
            else:
                final = self._response_object(fr, rid, created, "completed", output, usage=usage,
                                              completed_at=int(time.time()))
                await resp.write(event("response.completed", {"response": final}))
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        return resp

    # -- Anthropic -------------------------------------------------------------------------------
    @staticmethod
    def _anthropic_error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"}
        return web.json_response(body, status=status, headers=headers)

    ANTHROPIC_EFFORTS = ("low", "medium", "high", "xhigh", "max")

    def _anthropic_problem(self, body: dict[str, Any], sc: Scenario) -> str | None:
        """The message of the HTTP 400 the real Messages API answers this body with, if any: the checks a
        client gets wrong most easily (thinking, its budget, temperature with thinking, effort)."""
        thinking = body.get("thinking") or {}
        kind = thinking.get("type")
        budget = thinking.get("budget_tokens")
        if thinking and kind not in ("enabled", "adaptive", "disabled"):
            return f"thinking.type: Input should be 'enabled', 'adaptive' or 'disabled' (got {kind!r})"
        if kind == "enabled":
            if sc.adaptive_only:
                return ("thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and "
                        "output_config.effort to control thinking behavior.")
            if not isinstance(budget, int) or budget < 1024:
                return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            if budget >= body["max_tokens"]:
                return "`max_tokens` must be greater than `thinking.budget_tokens`."
        if kind == "adaptive" and "budget_tokens" in thinking:
            return "thinking.adaptive.budget_tokens: Extra inputs are not permitted"
        if thinking.get("display") not in (None, "summarized", "omitted"):
            return "thinking.display: Input should be 'summarized' or 'omitted'"
        if kind in ("enabled", "adaptive") and body.get("temperature") not in (None, 1, 1.0):
            return "`temperature` may only be set to 1 when thinking is enabled."
        effort = (body.get("output_config") or {}).get("effort")
        if effort is not None and effort not in self.ANTHROPIC_EFFORTS:
            return f"output_config.effort: Input should be {', '.join(repr(e) for e in self.ANTHROPIC_EFFORTS)}"
        if not body.get("stream"):
            return "This fake server only streams: set stream=true."
        return None

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._anthropic_error(400, "invalid_request_error", "The request body is not valid JSON.")
        fr = self._register(request, body)
        sc = fr.scenario
        # The real API's request checks that a client gets wrong most easily.
        max_tokens = body.get("max_tokens")
        thinking = body.get("thinking") or {}
        problem = self._anthropic_problem(body, sc) if isinstance(max_tokens, int) and max_tokens >= 1 else "max_tokens: Field required"
        if problem:
            fr.status = 400
            return self._anthropic_error(400, "invalid_request_error", problem)
        if sc.name in ("429", "500", "529", "401"):
            failing = sc.name == "401" or self._failing(fr)
            if failing:
                if sc.name == "429":
                    fr.status = 429
                    return self._anthropic_error(429, "rate_limit_error",
                                                 "Number of request tokens has exceeded your per-minute rate limit.",
                                                 self._retry_headers(sc))
                if sc.name == "401":
                    fr.status = 401
                    return self._anthropic_error(401, "authentication_error",
                                                 f"invalid x-api-key: {self._presented_key(request)}")
                if sc.name == "529":
                    fr.status = 529
                    return self._anthropic_error(529, "overloaded_error", "Overloaded")
                fr.status = 500
                return self._anthropic_error(500, "api_error", "Internal server error")

        pieces = self.plan(sc)
        mid = f"msg_fake{next(self._ids):06d}"
        fr.input_tokens = _count_input_tokens(body)

        fr.cached_tokens = min(sc.cached, fr.input_tokens)
        omitted = (body.get("thinking") or {}).get("display") == "omitted"

        def event(name: str, data: dict[str, Any]) -> bytes:
            fr.events.append(data)
            return (f"event: {name}\ndata: ".encode()
                    + _json_bytes(data) + b"\n\n")

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "request-id": f"req_{mid}"})
        await resp.prepare(request)
        try:
            await resp.write(event("message_start", {"type": "message_start", "message": {
                "id": mid, "type": "message", "role": "assistant", "model": fr.model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": fr.input_tokens - fr.cached_tokens, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": fr.cached_tokens, "output_tokens": 1}}}))
            index = -1
            current: str | None = None
            pinged = False

            async def open_block(kind: str) -> None:
                nonlocal index, current, pinged
                if current is not None:
                    await close_block()
                index += 1
                current = kind
                block = {"type": "thinking", "thinking": "", "signature": ""} if kind == "reasoning" else {"type": "text", "text": ""}
                await resp.write(event("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}))
                if not pinged:
                    await resp.write(b'event: ping\ndata: {"type": "ping"}\n\n')
                    pinged = True

            async def close_block() -> None:
                nonlocal current
                if current == "reasoning":
                    await resp.write(event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                                   "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}))
                await resp.write(event("content_block_stop", {"type": "content_block_stop", "index": index}))
                current = None

            if not pieces:
                await open_block("answer")
            async for kind, text in self._paced(sc, pieces):
                if kind != current:
                    await open_block(kind)
                if kind == "reasoning":
                    delta = {"type": "thinking_delta", "thinking": text}
                else:
                    delta = {"type": "text_delta", "text": text}
                if not (omitted and kind == "reasoning"):  # display "omitted": the thinking block stays empty
                    await resp.write(event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
                fr.pieces_sent += 1
                fr.output_tokens += 1
                fr.reasoning_tokens += kind == "reasoning"
            if await self._broken_end(sc, request, resp, b'event: content_block_delta\ndata: {"type":"content_block_delta","index":' + str(index).encode() + b',"delta":{"type":"text_delta","text":"x"\n\n'):
                return resp
            if sc.name == "stream_error":
                await resp.write(event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
                await resp.write_eof()
                return resp
            if current is not None:
                await close_block()
            stop = sc.stop or {"length": "max_tokens", "refusal": "refusal",
                               "context": "model_context_window_exceeded"}.get(sc.name, "end_turn")
            usage: dict[str, Any] = {"output_tokens": max(1, fr.output_tokens)}
            if fr.reasoning_tokens:
                usage["output_tokens_details"] = {"thinking_tokens": fr.reasoning_tokens}
            fr.output_tokens = usage["output_tokens"]
            delta: dict[str, Any] = {"stop_reason": stop, "stop_sequence": None}
            if stop == "refusal":
                delta["stop_details"] = {"type": "refusal", "category": "cyber", "explanation": None}
            await resp.write(event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
            await resp.write(event("message_stop", {"type": "message_stop"}))
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        return resp


class FakeLLMServerThread:
    """``FakeLLMServer`` on its own event loop in a daemon thread, for sync callers (benchmarks):
    ``with FakeLLMServerThread() as srv: srv.openai_base_url``. Keyword arguments go to ``FakeLLMServer``."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.server: FakeLLMServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeLLMServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self.server = self._loop.run_until_complete(FakeLLMServer(**self.kwargs).start())  # type: ignore[union-attr]
            except BaseException as exc:  # surfaced to the caller below
                errors.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()  # type: ignore[union-attr]

        self._thread = threading.Thread(target=run, name="fake-llm-server", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        assert self.server is not None
        return self.server

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
