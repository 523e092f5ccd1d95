"""A recorded agent: replays real model responses by time, with no network and no keys.

Source format: the Alpha Arena Season 1 "model chat" records (nof1.ai public API,
``conversations.jsonl``: ``timestamp`` in unix seconds, ``model_id``, ``cycle_id``, ``llm_response``
the per-coin decision dict as nof1 stored it, ``cot_trace`` the model's reasoning as a string, or a
copy of ``llm_response`` for models that exposed none) or the compact form this module writes
(``timestamp``, ``model_id``, ``cycle_id``, ``answer``, ``reasoning``). nof1 stored the parsed
decisions, not the raw text, so a record's answer text is ``llm_response`` serialized as indented
JSON; where nof1 could not parse the model (``{"failed_json_response_raw_text": text}``) the answer is
that raw text, exactly as the model wrote it.
"""

from __future__ import annotations

import asyncio
import bisect
import gzip
import json
import logging
import time as _time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from arena_tui.engine.agents.base import AgentFailure, AgentReply, AgentRequest, OnDelta
from arena_tui.engine.errors import DataError
from arena_tui.logs import log_hint

_log = logging.getLogger(__name__)

_FAILED_KEY = "failed_json_response_raw_text"


@dataclass(frozen=True)
class RecordedResponse:
    """One real response: ``time`` (ms since the epoch, UTC, when the model answered), the model's
    ``model_id``, its ``answer`` text, its ``reasoning`` text ("" when the model exposed none) and
    the source's ``cycle_id`` (the model's own invocation counter, or None)."""

    time: int
    model_id: str
    answer: str
    reasoning: str = ""
    cycle_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The compact JSON form (``timestamp`` in unix seconds) that ``response_from_record`` reads."""
        return {
            "timestamp": self.time / 1000.0,
            "model_id": self.model_id,
            "cycle_id": self.cycle_id,
            "answer": self.answer,
            "reasoning": self.reasoning,
        }


def response_from_record(record: Mapping[str, Any]) -> RecordedResponse:
    """Build a ``RecordedResponse`` from a compact record or a raw nof1 "model chat" record.

    Raises ``KeyError``/``TypeError``/``ValueError`` on a malformed record (``load_recorded_responses``
    turns those into a ``DataError`` naming the file and line).
    """
    time_ms = int(round(float(record["timestamp"]) * 1000.0))
    model_id = str(record["model_id"])
    cycle = record.get("cycle_id")
    cycle_id = int(cycle) if cycle is not None else None
    if "answer" in record:
        answer = str(record["answer"] or "")
        reasoning = str(record.get("reasoning") or "")
        return RecordedResponse(time_ms, model_id, answer, reasoning, cycle_id)
    raw = record["llm_response"]
    if isinstance(raw, Mapping) and set(raw) == {_FAILED_KEY}:
        answer = str(raw[_FAILED_KEY] or "")
    elif isinstance(raw, str):
        answer = raw
    else:
        answer = json.dumps(raw, indent=2, ensure_ascii=False)
    cot = record.get("cot_trace")
    reasoning = cot if isinstance(cot, str) else ""
    return RecordedResponse(time_ms, model_id, answer, reasoning, cycle_id)


def _open_text(path: Path) -> str:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8")


def load_recorded_responses(path: str | Path, model_id: str | None = None) -> list[RecordedResponse]:
    """Read recorded responses from ``path``, oldest first, optionally only those of ``model_id``.

    ``bundled:NAME`` names a file of the package's data (``arena_tui/data/NAME``). Accepted files
    (optionally gzip-compressed, by a ``.gz`` suffix): JSON Lines, one record a line
    (always so for ``.jsonl``); or a JSON array of records; or a JSON object with a ``records``
    array. Records are compact or raw nof1 (see the module docstring). Raises ``DataError`` (one
    sentence naming the file and line) when the file is missing or unreadable, a record is malformed,
    or no record matches ``model_id``.
    """
    if str(path).startswith("bundled:"):  # a file of the package's data (the Season 1 records)
        p = Path(__file__).resolve().parents[2] / "data" / str(path).removeprefix("bundled:")
    else:
        p = Path(path)
    if p.exists() and not p.is_file():  # a directory, /dev/zero (read forever), a FIFO (blocks)
        raise DataError(f"recorded responses file {p} is not a regular file: point the agent's path at a .jsonl or .json(.gz) file.")
    try:
        text = _open_text(p)
    except FileNotFoundError:
        raise DataError(f"recorded responses file {p} does not exist: check the path.") from None
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"recorded responses file {p} cannot be read ({exc}): replace it.") from None

    items: list[tuple[str, Any]] = []  # (where, record): "file:line" or "file record n"
    doc: Any = None  # JSON Lines unless the file is one JSON document
    if not p.name.removesuffix(".gz").endswith(".jsonl"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            if text.lstrip().startswith("["):
                raise DataError(
                    f"recorded responses file {p} is not valid JSON ({exc.msg} at line {exc.lineno}): replace it."
                ) from None
    if isinstance(doc, dict):
        doc = doc["records"] if isinstance(doc.get("records"), list) else [doc]
    if isinstance(doc, list):
        items = [(f"{p} record {n}", obj) for n, obj in enumerate(doc, start=1)]
    else:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((f"{p}:{lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{p}:{lineno} is not valid JSON ({exc.msg}): fix or remove that line.") from None

    out: list[RecordedResponse] = []
    for where, obj in items:
        if not isinstance(obj, Mapping):
            raise DataError(f"{where} is not a JSON object: each record needs timestamp, model_id and answer.")
        try:
            resp = response_from_record(obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{where} is not a recorded response ({type(exc).__name__}: {exc}): "
                "each record needs timestamp, model_id and answer (or llm_response)."
            ) from None
        if model_id is None or resp.model_id == model_id:
            out.append(resp)
    if model_id is not None and not out:
        raise DataError(f"recorded responses file {p} has no record of model '{model_id}': check the model id.")
    out.sort(key=lambda r: r.time)
    return out


def chunk_text(text: str, chunk_chars: int) -> list[str]:
    """Split ``text`` into pieces of about ``chunk_chars`` characters, cutting after whitespace where
    possible, so that ``"".join(pieces) == text``."""
    if chunk_chars <= 0 or len(text) <= chunk_chars:
        return [text] if text else []
    pieces: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(start + chunk_chars, n)
        if end < n:
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            if cut > start:
                end = cut + 1
        pieces.append(text[start:end])
        start = end
    return pieces


def _clock_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%H:%M:%S UTC")


def merge_responses(records: list[RecordedResponse]) -> RecordedResponse:
    """Several records answered in one cycle (timing "once"), as one: the reasoning of each under
    its time (``**06:15:27 UTC**``), and the answer of the last, except that a coin whose signal the
    last leaves at "hold" keeps the latest earlier action on it (an entry or a close a model made
    between two cycles is carried out, not lost). Answers that are no JSON object keyed by coin are
    not merged: the last one stands. One record: itself, with its time above its reasoning."""
    last = records[-1]
    reasoning = "\n\n".join(f"**{_clock_text(r.time)}**\n\n{r.reasoning}" if r.reasoning else f"**{_clock_text(r.time)}**" for r in records)
    answer = last.answer
    if len(records) > 1:
        try:
            docs = [json.loads(r.answer) for r in records]
        except (ValueError, RecursionError):
            docs = []
        if docs and all(isinstance(d, dict) for d in docs):
            merged = dict(docs[-1])
            for doc in reversed(docs[:-1]):  # the latest earlier action on a coin wins
                for coin, entry in doc.items():
                    if isinstance(entry, dict) and str(entry.get("signal", "hold")) != "hold":
                        now = merged.get(coin)
                        if not isinstance(now, dict) or str(now.get("signal", "hold")) == "hold":
                            merged[coin] = entry
            answer = json.dumps(merged, indent=2, ensure_ascii=False)
    return RecordedResponse(last.time, last.model_id, answer, reasoning, last.cycle_id)


class RecordedAgent:
    """An agent that answers with a real model's recorded response instead of calling an API.

    For a request at time ``t`` (ms) it replays the latest record with ``time <= t``; with ``by_cycle``
    (arena cycle number -> index into the records, oldest first) a mapped cycle replays that record
    instead. It streams the record's reasoning, then its answer, through ``on_delta`` in pieces of about
    ``chunk_chars`` characters, sleeping ``chunk_delay_s`` between pieces (0: just yield to the event
    loop). ``kind`` is "recorded"; usage and cost are 0. A request before the first record, or a
    record with an empty answer, ends as ``AgentFailure(kind="empty")``; ``decide`` never raises.
    """

    kind = "recorded"

    def __init__(
        self,
        name: str,
        records: Iterable[RecordedResponse],
        *,
        model: str | None = None,
        by_cycle: Mapping[int, int] | None = None,
        chunk_chars: int = 24,
        chunk_delay_s: float = 0.0,
        timing: str = "latest",
        window_ms: int = 300_000,
        chars_per_s: float = 0.0,
    ) -> None:
        self.name = name
        self.records: tuple[RecordedResponse, ...] = tuple(sorted(records, key=lambda r: r.time))
        models = sorted({r.model_id for r in self.records})
        self.model = model if model is not None else (models[0] if len(models) == 1 else "recorded")
        self.by_cycle = dict(by_cycle or {})
        for cycle, index in self.by_cycle.items():
            if not 0 <= index < len(self.records):
                raise DataError(
                    f"recorded agent {name}: cycle {cycle} maps to record {index}, but there are "
                    f"{len(self.records)} records: use an index from 0 to {len(self.records) - 1}."
                )
        self.chunk_chars = chunk_chars
        self.chunk_delay_s = chunk_chars / chars_per_s if chars_per_s > 0 else chunk_delay_s
        if timing not in ("latest", "once"):
            raise ValueError(f"recorded agent {name}: timing must be 'latest' or 'once', got {timing!r}.")
        self.timing = timing
        self.window_ms = int(window_ms)
        """timing "once": a cycle at ``t`` answers with the records of ``(t - window_ms, t]`` (the
        cycle interval, so that every record is answered in exactly one cycle)."""
        self._times = [r.time for r in self.records]
        self._virtual_s = 0.0
        self.stream_clock = None
        """None, or (after ``pace_virtually()``) the clock its text's offsets are measured on."""

    def pace_virtually(self) -> None:
        """Stream at the set pace on a virtual clock instead of waiting (a session run as fast as
        possible, such as a headless one): each pause advances ``stream_clock`` (seconds, on
        ``time.perf_counter``'s scale) instead of sleeping, so a journal records the text at the
        pace it would be read, without taking that long to write."""
        self.stream_clock = lambda: _time.perf_counter() + self._virtual_s

    async def _pause(self) -> None:
        if self.stream_clock is not None:
            self._virtual_s += self.chunk_delay_s
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(self.chunk_delay_s)

    def due(self, time: int) -> list[RecordedResponse]:
        """timing "once": the records answered in the cycle at ``time`` (ms), those of
        ``(time - window_ms, time]``, oldest first."""
        lo = bisect.bisect_right(self._times, time - self.window_ms)
        hi = bisect.bisect_right(self._times, time)
        return list(self.records[lo:hi])

    def answers_at(self, time: int) -> bool:
        """Whether the agent answers in the cycle at ``time`` (ms): always with timing "latest"; with
        "once" only when a record falls in that cycle (otherwise it holds without a call)."""
        return self.timing != "once" or bool(self.due(time))

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        model_id: str | None = None,
        *,
        name: str | None = None,
        model: str | None = None,
        **kwargs: Any,
    ) -> "RecordedAgent":
        """The recorded agent of ``model_id`` (``model`` is an alias) from a file that
        ``load_recorded_responses`` reads; ``name`` defaults to the model id. Without a model id the
        file must hold one model's records. ``kwargs`` go to the constructor (``by_cycle``,
        ``chunk_chars``, ``chunk_delay_s``). Raises ``DataError`` as that function does, or when the
        file holds several models and none was chosen."""
        wanted = model_id or model or None
        records = load_recorded_responses(path, model_id=wanted)
        models = sorted({r.model_id for r in records})
        if wanted is None:
            if len(models) > 1:
                raise DataError(
                    f"recorded responses file {path} holds {len(models)} models ({', '.join(models)}): "
                    "set the agent's model to one of them."
                )
            wanted = models[0] if models else "recorded"
        return cls(name or wanted, records, model=wanted, **kwargs)

    def response_for(self, request: AgentRequest) -> RecordedResponse | None:
        """The record replayed for ``request`` (see the class docstring), or None if there is none.
        timing "once": the cycle's records (``due``) as one (``merge_responses``)."""
        if self.timing == "once":
            due = self.due(request.time)
            return merge_responses(due) if due else None
        index = self.by_cycle.get(request.cycle)
        if index is not None:
            return self.records[index]
        i = bisect.bisect_right(self._times, request.time)
        return self.records[i - 1] if i > 0 else None

    async def decide(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply:
        """Stream the recorded reasoning then answer for ``request``; see the class docstring."""
        started = _time.perf_counter()
        record = self.response_for(request)
        if record is None:
            first = self.records[0].time if self.records else None
            when = f"the first is at {first} ms" if first is not None else "there are none"
            return AgentReply(
                latency_s=_time.perf_counter() - started,
                failure=AgentFailure(
                    "empty",
                    f"{self.name}: no recorded response at or before {request.time} ms ({when}); "
                    "holding this cycle — start the session inside the recording's time window.",
                ),
            )
        ttft: float | None = None
        try:
            for kind, text in (("reasoning", record.reasoning), ("answer", record.answer)):
                # timing "once" (a replayed day): the answer at once, after the reasoning was read
                size = len(text) if kind == "answer" and self.timing == "once" else self.chunk_chars
                for piece in chunk_text(text, size):
                    if ttft is None:
                        ttft = _time.perf_counter() - started
                    on_delta(kind, piece)  # type: ignore[arg-type]
                    await self._pause()
        except Exception as exc:  # the callback failed: report, never raise into the engine
            _log.error("%s: streaming the recorded answer failed", self.name, exc_info=True)
            return AgentReply(
                text=record.answer,
                reasoning=record.reasoning,
                ttft_s=ttft,
                latency_s=_time.perf_counter() - started,
                failure=AgentFailure(
                    "error", f"{self.name}: streaming the recorded answer failed ({type(exc).__name__}); {log_hint()}."
                ),
            )
        failure = None
        if not record.answer.strip():
            failure = AgentFailure(
                "empty",
                f"{self.name}: the recorded response of {record.model_id} at {_utc(record.time)} has an empty answer; "
                "holding this cycle.",
            )
        return AgentReply(
            text=record.answer,
            reasoning=record.reasoning,
            ttft_s=ttft,
            latency_s=_time.perf_counter() - started,
            finish_reason="recorded",
            failure=failure,
        )


def _utc(ms: int) -> str:
    """A record's time (ms since the epoch) as people read it: ``2025-10-28 06:47:09 UTC``."""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError, TypeError):
        return f"{ms} ms"
