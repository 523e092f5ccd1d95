"""A real HTTP server on 127.0.0.1 that speaks the OpenAI and Anthropic streaming wire formats.

It replays real answers from the Alpha Arena Season 1 corpus (``tests/data/llm_answers_alpha_arena.json.gz``)
so the official ``openai`` and ``anthropic`` SDK clients can be tested end to end without a network.

Routes (``base_url`` = ``http://127.0.0.1:<port>``):

- ``POST /v1/chat/completions`` (OpenAI chat completions, ``stream: true``; point the SDK at
  ``openai_base_url`` = ``base_url + "/v1"``): ``data: {chat.completion.chunk}`` lines, the first
  delta carrying ``role``, then content (or ``reasoning_content`` / ``reasoning``) deltas, a chunk with
  ``finish_reason``, a usage chunk with empty ``choices`` when ``stream_options.include_usage`` is set,
  then ``data: [DONE]`` - chunk for chunk as OpenAI sends them.
- ``POST /v1/messages`` (Anthropic Messages, ``stream: true``; point the SDK at ``anthropic_base_url``
  = ``base_url``): ``event:``/``data:`` pairs ``message_start``, ``content_block_start``, ``ping``,
  ``content_block_delta`` (``thinking_delta``, ``signature_delta``, ``text_delta``),
  ``content_block_stop``, ``message_delta`` (usage, ``stop_reason``), ``message_stop``, as in the SDK's
  own fixtures (anthropics/anthropic-sdk-python ``tests/lib/streaming/fixtures/basic_response.txt``).

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
from dataclasses import dataclass, replace
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
    "length",  # half the answer, then finish_reason "length" / stop_reason "max_tokens"
)


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
    ``reasoning``).
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

    @classmethod
    def parse(cls, model: str, default: "Scenario | None" = None) -> "Scenario":
        """Parse ``"name:key=value,..."``; an unknown name gives ``default`` (or "normal") with the keys applied."""
        base = default or cls()
        name, _, params = str(model).partition(":")
        sc = replace(base, name=name) if name in SCENARIOS else base
        if name == "slow":
            sc = replace(sc, ttft=30.0)
        types = {"ttft": float, "tps": float, "record": int, "model_id": str, "fail": int,
                 "retry_after": float, "chunk": int, "tokens": int, "field": str}
        for item in filter(None, params.split(",")):
            key, _, value = item.partition("=")
            key = key.strip()
            if key in types:
                sc = replace(sc, **{key: types[key](value.strip())})
        return sc


@dataclass
class FakeRequest:
    """One request the server received: ``path``, requested ``model``, the parsed ``scenario``, the JSON
    ``body``, lower-cased ``headers``, ``received`` (time.monotonic()), the HTTP ``status`` sent, and the
    usage it reported (``input_tokens``, ``output_tokens``, ``reasoning_tokens``; 0 until known)."""

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
    pieces_sent: int = 0

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
    chars = len(str(body.get("system") or ""))
    for m in body.get("messages") or []:
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
        if sc.name in ("cutoff", "drop", "badjson", "stream_error", "length"):
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

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        fr = self._register(request, body)
        sc = fr.scenario
        if not body.get("stream"):
            fr.status = 400
            return self._openai_error(400, "This fake server only streams: set stream=true.", "invalid_request_error", None)
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
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        pieces = self.plan(sc)
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
            return b"data: " + _json_bytes(obj) + b"\n\n"

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "x-request-id": cid})
        await resp.prepare(request)
        try:
            first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
            if has_reasoning:
                first = {"role": "assistant", "content": None, reasoning_field: ""}
            await resp.write(chunk(first))
            async for kind, text in self._paced(sc, pieces):
                if kind == "reasoning":
                    delta = {"content": None, reasoning_field: text}
                else:
                    delta = {"content": text, reasoning_field: None} if has_reasoning else {"content": text}
                await resp.write(chunk(delta))
                fr.pieces_sent += 1
                fr.output_tokens += 1
                fr.reasoning_tokens += kind == "reasoning"
            if sc.name == "cutoff":
                await resp.write_eof()
                return resp
            if sc.name == "drop":
                assert request.transport is not None
                request.transport.close()
                return resp
            if sc.name == "badjson":
                await resp.write(b'data: {"id":"' + cid.encode() + b'","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"\n\n')
                await resp.write_eof()
                return resp
            if sc.name == "stream_error":
                err = {"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": None, "code": None}}
                await resp.write(b"data: " + json.dumps(err).encode() + b"\n\n")
                await resp.write_eof()
                return resp
            finish = "length" if sc.name == "length" else "stop"
            await resp.write(chunk({}, finish))
            if include_usage:
                usage = {
                    "prompt_tokens": fr.input_tokens, "completion_tokens": fr.output_tokens,
                    "total_tokens": fr.input_tokens + fr.output_tokens,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
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
    def _retry_headers(sc: Scenario) -> dict[str, str]:
        return {"retry-after-ms": str(int(round(sc.retry_after * 1000))),
                "retry-after": str(max(0, int(-(-sc.retry_after // 1))))}

    # -- Anthropic -------------------------------------------------------------------------------
    @staticmethod
    def _anthropic_error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"}
        return web.json_response(body, status=status, headers=headers)

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
        problem = None
        if not isinstance(max_tokens, int) or max_tokens < 1:
            problem = "max_tokens: Field required"
        elif thinking.get("type") == "enabled" and int(thinking.get("budget_tokens", 0)) >= max_tokens:
            problem = "`max_tokens` must be greater than `thinking.budget_tokens`."
        elif thinking.get("type") == "enabled" and body.get("temperature") not in (None, 1, 1.0):
            problem = "`temperature` may only be set to 1 when thinking is enabled."
        elif not body.get("stream"):
            problem = "This fake server only streams: set stream=true."
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

        def event(name: str, data: dict[str, Any]) -> bytes:
            return (f"event: {name}\ndata: ".encode()
                    + _json_bytes(data) + b"\n\n")

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "request-id": f"req_{mid}"})
        await resp.prepare(request)
        try:
            await resp.write(event("message_start", {"type": "message_start", "message": {
                "id": mid, "type": "message", "role": "assistant", "model": fr.model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": fr.input_tokens, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0, "output_tokens": 1}}}))
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
                await resp.write(event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
                fr.pieces_sent += 1
                fr.output_tokens += 1
                fr.reasoning_tokens += kind == "reasoning"
            if sc.name == "cutoff":
                await resp.write_eof()
                return resp
            if sc.name == "drop":
                assert request.transport is not None
                request.transport.close()
                return resp
            if sc.name == "badjson":
                await resp.write(b'event: content_block_delta\ndata: {"type":"content_block_delta","index":' + str(index).encode() + b',"delta":{"type":"text_delta","text":"x"\n\n')
                await resp.write_eof()
                return resp
            if sc.name == "stream_error":
                await resp.write(event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
                await resp.write_eof()
                return resp
            if current is not None:
                await close_block()
            stop = "max_tokens" if sc.name == "length" else "end_turn"
            usage: dict[str, Any] = {"output_tokens": max(1, fr.output_tokens)}
            fr.output_tokens = usage["output_tokens"]
            await resp.write(event("message_delta", {"type": "message_delta",
                                                     "delta": {"stop_reason": stop, "stop_sequence": None},
                                                     "usage": usage}))
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
