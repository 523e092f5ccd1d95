"""Alpha Arena Season 1 in the box: six real models on Oct 28 2025, from their real accounts.

Source: nof1.ai's public "model chat" records of 2025-10-28 06:14-12:10 UTC (239 records, six models;
pulled by github.com/Scodive/alpha-arena-prompt, MIT). Each record holds the exact prompt the model
was sent (its account: cash, account value, open positions with exit plans), its chain of thought
(text for DeepSeek, Gemini, GPT-5 and Claude; nof1's summary is used for Grok and Qwen, which exposed
none) and its answer. ``write_bundle`` keeps what the arena needs, compact, in
``arena_tui/data/alpha-arena/season1-2025-10-28.jsonl.gz`` (one JSON object a line: ``timestamp``
unix s, ``model_id``, ``cycle_id``, ``answer`` (nof1's stored decisions as JSON, or the model's raw
text where nof1 could not parse it), ``reasoning``, ``reasoning_source`` ("chain of thought" or
"summary") and ``account`` (``parse_account`` of the prompt)).

``preset_config()`` is the Season 1 preset (``arena-tui --preset season1``): the six models as
recorded agents answering each real answer once, at its time (``timing = "once"``), each seeded with
the account its first prompt of the day states, over the bundled Binance market from 06:15 to 12:15
UTC, with the fees Hyperliquid charged them then (4.0 bp taker, 1.2 bp maker from 2025-10-22;
take-profits as maker fills) and its per-coin leverage caps and maintenance margins.
``comparison(state)`` sets our account values beside the real ones every later prompt states.

Known differences from the venue (why our values drift from the real ones): prices are Binance's
USDT perps, not Hyperliquid's (a few basis points apart); funding is Binance's 8-hourly rate, not
Hyperliquid's hourly one; the prompts' positions carry rounded entry prices, so each entry is recovered from the stated unrealized PnL; and
between 07:05 and 11:35 UTC the records have a gap in which some models traded without us seeing it.
"""

from __future__ import annotations

import ast
import functools
import gzip
import json
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from arena_tui.config import (
    HYPERLIQUID_MAINTENANCE_MARGIN,
    HYPERLIQUID_MAX_LEVERAGE,
    AccountSeed,
    AgentConfig,
    Config,
    SeedPosition,
    load_config,
)

BUNDLE = "alpha-arena/season1-2025-10-28.jsonl.gz"
"""The bundled records, under ``arena_tui/data``."""
BUNDLED_PATH = f"bundled:{BUNDLE}"
"""A recorded agent's ``path`` for the bundled records (``agents.recorded.load_recorded_responses``)."""
SOURCE = (
    "nof1.ai Alpha Arena Season 1, model chat of 2025-10-28 06:14-12:10 UTC "
    "(nof1.ai public API, pulled by github.com/Scodive/alpha-arena-prompt, MIT)"
)
START = "2025-10-28T06:15:00Z"
UNTIL = "2025-10-28T12:15:00Z"
SESSION_NAME = "alpha-arena-2025-10-28"
SHOWCASE = f"sessions/{SESSION_NAME}.jsonl"
"""The showcase journal in the repository (``arena-tui --preset season1 --headless --journal ...``)."""
MODELS: dict[str, str] = {
    "qwen3-max": "Qwen3 Max",
    "deepseek-chat-v3.1": "DeepSeek V3.1",
    "claude-sonnet-4-5": "Claude Sonnet 4.5",
    "grok-4": "Grok 4",
    "gemini-2.5-pro": "Gemini 2.5 Pro",
    "gpt-5": "GPT-5",
}
"""Model id -> the agent's name, in the order of the published final standings (Nov 3 2025)."""
FEES = {
    "taker_fee_bp": 4.5, "maker_fee_bp": 1.5, "slippage_bp": 0.0,
    "schedule": [{"start": "2025-10-22T00:00:00Z", "taker_fee_bp": 4.0, "maker_fee_bp": 1.2}],
    "take_profit_maker": True,
}
"""What Hyperliquid charged the Season 1 accounts: 4.5/1.5 bp taker/maker, 4.0/1.2 bp from 2025-10-22
00:00 UTC (a volume tier reached by all six at once; the 230 real trades' commissions show it,
tests/test_real_trades.py), take-profits resting as limit orders (maker), stops as market orders
(taker). Fills are at the reference price: the records give no slippage, and the comparison with the
real accounts is cleaner without an assumed one."""
VENUE = {
    "margin_mode": "isolated",
    "maintenance_margin_rate": 0.0125,
    "coin_maintenance_margin": dict(HYPERLIQUID_MAINTENANCE_MARGIN),
    "coin_max_leverage": dict(HYPERLIQUID_MAX_LEVERAGE),
}
"""Hyperliquid's per-coin maximum leverage and maintenance margin (``config.HYPERLIQUID_MAX_LEVERAGE``),
isolated margin. Isolated, not cross: the liquidation price each real prompt states for each open
position (1,121 of them on Oct 28) is the isolated one; with these rates our ledger gives it within
0.09% of the price at the median (tests/test_season1.py), while cross margin would put it far away
(the accounts held thousands in free cash)."""
STREAM_CHARS_PER_S = 600.0
"""The pace the reasoning streams at (characters a second): readable, about 100 words a second."""


def data_path(name: str = BUNDLE) -> Path:
    """A file of the bundled data (``arena_tui/data/<name>``)."""
    return Path(__file__).parent / "data" / name


# --- reading the real prompts ---------------------------------------------------------------------

_NUMBER = r"(-?[\d.]+(?:e-?\d+)?)"


def parse_account(prompt: str) -> dict[str, Any]:
    """The account section of a real Alpha Arena prompt: ``time`` (ms, the prompt's "current time",
    UTC), ``cash`` ("Available Cash"), ``value`` ("Current Account Value"), ``return_pct``, and
    ``positions`` (each: ``coin``, ``quantity`` (negative = short), ``entry_price``,
    ``current_price``, ``unrealized_pnl``, ``leverage``, ``liquidation_price``, ``stop_loss``,
    ``profit_target``, ``invalidation_condition``, ``confidence``, ``risk_usd``). Raises
    ``ValueError`` when the prompt has no such section."""
    when = re.search(r"current time is (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)", prompt)
    at = prompt.find("HERE IS YOUR ACCOUNT")
    if when is None or at < 0:
        raise ValueError("the prompt has no current time or no account section")
    section = prompt[at:]
    cash = re.search(r"Available Cash: " + _NUMBER, section)
    value = re.search(r"Current Account Value:\*\* " + _NUMBER, section)
    ret = re.search(r"Current Total Return \(percent\): " + _NUMBER, section)
    if cash is None or value is None:
        raise ValueError("the account section has no cash or no account value")
    time = datetime.fromisoformat(when.group(1)).replace(tzinfo=timezone.utc)
    positions = []
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("{'symbol'"):
            continue
        raw = ast.literal_eval(line)  # a Python dict literal, as nof1 printed it (literals only)
        plan = raw.get("exit_plan") or {}
        positions.append({
            "coin": str(raw["symbol"]).upper(),
            "quantity": float(raw["quantity"]),
            "entry_price": float(raw["entry_price"]),
            "current_price": float(raw["current_price"]),
            "unrealized_pnl": float(raw["unrealized_pnl"]),
            "leverage": float(raw["leverage"]),
            "liquidation_price": float(raw.get("liquidation_price") or 0.0),
            "stop_loss": _maybe_float(plan.get("stop_loss")),
            "profit_target": _maybe_float(plan.get("profit_target")),
            "invalidation_condition": str(plan.get("invalidation_condition") or ""),
            "confidence": _maybe_float(raw.get("confidence")),
            "risk_usd": _maybe_float(raw.get("risk_usd")),
        })
    return {
        "time": int(round(time.timestamp() * 1000)),
        "cash": float(cash.group(1)),
        "value": float(value.group(1)),
        "return_pct": float(ret.group(1)) if ret else None,
        "positions": positions,
    }


def _maybe_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def compact_record(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One nof1 "model chat" record -> the bundle's compact form (see the module docstring)."""
    from arena_tui.engine.agents.recorded import response_from_record

    resp = response_from_record(raw)
    cot = raw.get("cot_trace")
    if isinstance(cot, str) and cot.strip():
        reasoning, kind = cot, "chain of thought"
    else:
        reasoning, kind = str(raw.get("cot_trace_summary") or ""), "summary"
    return {
        "timestamp": float(raw["timestamp"]),
        "model_id": resp.model_id,
        "cycle_id": resp.cycle_id,
        "answer": resp.answer,
        "reasoning": reasoning,
        "reasoning_source": kind,
        "account": parse_account(str(raw["user_prompt"])),
    }


def write_bundle(conversations: str | Path, out: str | Path | None = None) -> Path:
    """Build the bundle from nof1's ``conversations.jsonl`` (the shared data's ``alpha-arena/``), oldest
    first, gzip-compressed with a fixed timestamp (the same input gives the same bytes)."""
    rows = [json.loads(line) for line in Path(conversations).read_text(encoding="utf-8").splitlines() if line.strip()]
    records = sorted((compact_record(r) for r in rows), key=lambda r: (r["timestamp"], r["model_id"]))
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    path = Path(out) if out is not None else data_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return path


def load_bundle(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The bundled records, oldest first (``write_bundle``'s form)."""
    with gzip.open(path or data_path(), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --- the preset -----------------------------------------------------------------------------------


def seed_from_account(account: Mapping[str, Any], source: str = "") -> AccountSeed:
    """The ``AccountSeed`` of a prompt's account section (``parse_account``), worth exactly its stated
    account value at its stated prices (``ledger.seed_value``).

    Each position is marked at its ``current_price``; its entry price is recovered from its
    unrealized PnL (``entry = current - pnl / (side x quantity)``), since the prompt rounds entry
    prices (DOGE's 0.1864 shows as 0.19); cash is what remains of the account value after each
    position's isolated margin and unrealized PnL. (The prompt's "Available Cash" is Hyperliquid's
    cross-margin withdrawable amount, a different figure.) Starting value: Season 1's $10,000."""
    positions = []
    for p in account["positions"]:
        qty = float(p["quantity"])
        side = 1 if qty > 0 else -1
        quantity = abs(qty)
        current = float(p["current_price"])
        entry = current - float(p["unrealized_pnl"]) / (side * quantity)
        positions.append(SeedPosition(
            coin=str(p["coin"]),
            side="long" if side > 0 else "short",
            quantity=quantity,
            entry_price=entry,
            leverage=float(p["leverage"]),
            mark_price=current,
            stop_loss=p.get("stop_loss"),
            profit_target=p.get("profit_target"),
            invalidation_condition=str(p.get("invalidation_condition") or ""),
            confidence=p.get("confidence"),
            risk_usd=p.get("risk_usd"),
        ))
    held = 0.0
    for s in positions:
        sign = 1 if s.side == "long" else -1
        held += s.quantity * s.entry_price / s.leverage + sign * s.quantity * (s.mark_price - s.entry_price)
    return AccountSeed(cash=float(account["value"]) - held, starting_value=10_000.0, positions=tuple(positions), source=source)


def first_records(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each model's first record of the day (its prompt seeds the account)."""
    first: dict[str, Mapping[str, Any]] = {}
    for r in records:
        first.setdefault(str(r["model_id"]), r)
    return first


def preset_config(records: list[dict[str, Any]] | None = None, *, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
    """The Season 1 preset: six recorded agents (``MODELS``) seeded from their first prompt of Oct 28,
    answering each real answer once at its time, with Season 1's fees (``FEES``) and Hyperliquid's
    per-coin leverage caps and maintenance margins (``VENUE``), over the bundled market from ``START``. ``overrides`` (CLI flags, as ``load_config`` takes them) apply on top."""
    records = load_bundle() if records is None else records
    first = first_records(records)
    agents = []
    for model_id, name in MODELS.items():
        r = first[model_id]
        when = datetime.fromtimestamp(r["account"]["time"] / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        seed = seed_from_account(r["account"], source=f"{model_id}'s prompt of {when} (invocation {r['cycle_id']}), nof1.ai Alpha Arena Season 1")
        agents.append(AgentConfig(
            name=name, kind="recorded", model=model_id, path=BUNDLED_PATH, timing="once",
            stream_chars_per_s=STREAM_CHARS_PER_S, account=seed,
        ))
    data = {
        "market": {"source": "recorded", "start": START, "speed": 2.0},
        "fees": dict(FEES),
        "venue": {k: (dict(v) if isinstance(v, dict) else v) for k, v in VENUE.items()},
        # Season 1's executor added to positions, closed parts and reversed as the models asked
        "risk": {"max_leverage": 40.0, "max_open_positions": 6, "allow_adding": True, "allow_partial_close": True, "allow_reversal": True},
        "arena": {"name": SESSION_NAME},
    }
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    return load_config(data=data, agents=tuple(agents))


def cycles_until(config: Config, until: str) -> int:
    """Cycles of a recorded session from its start to ``until`` (ISO-8601 UTC), both included.
    Raises ``ConfigError`` when ``until`` is not after the start."""
    from arena_tui.engine.errors import ConfigError
    from arena_tui.engine.market.base import timeframe_ms
    from arena_tui.engine.market.base import parse_time

    start, end = parse_time(config.market.start), parse_time(until)
    if end < start:
        raise ConfigError(f"--until {until} is before the session's start {config.market.start}; give a later time.")
    return (end - start) // timeframe_ms(config.market.interval) + 1


# --- our accounts against the real ones -----------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """One model's account values against the real ones: ``n`` later prompts compared, the
    ``median`` and ``worst`` absolute deviation (percent of the real value) and the ``last`` one
    (signed), ``ours``/``real`` at the last prompt compared (USD)."""

    agent: str
    model: str
    n: int
    median_pct: float
    worst_pct: float
    last_pct: float
    ours: float
    real: float
    worst_at: int


def real_values(records: Iterable[Mapping[str, Any]] | None = None) -> dict[str, list[tuple[int, float]]]:
    """Model id -> [(prompt time ms, stated account value USD), ...], oldest first."""
    out: dict[str, list[tuple[int, float]]] = {}
    for r in load_bundle() if records is None else records:
        out.setdefault(str(r["model_id"]), []).append((int(r["account"]["time"]), float(r["account"]["value"])))
    for rows in out.values():
        rows.sort()
    return out


def _interpolate(times: list[int], values: list[float], t: int) -> float | None:
    """Our value at ``t`` (ms) between the cycles around it, linearly; None outside them."""
    import bisect

    i = bisect.bisect_right(times, t)
    if i == 0 or i > len(times):
        return None
    if i == len(times):
        return values[-1] if t == times[-1] else None
    t0, t1, v0, v1 = times[i - 1], times[i], values[i - 1], values[i]
    if v0 != v0 or v1 != v1:  # NaN: the agent had no value then
        return None
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def comparison(state, records: Iterable[Mapping[str, Any]] | None = None) -> list[Deviation]:
    """For each recorded agent of ``state`` (an ``ArenaState``) replaying the bundled records: its
    account value (interpolated between the cycles around each prompt) against the value every later
    prompt of the day states (the first seeded it). Empty when the session is no Season 1 replay."""
    header = state.header
    if not is_season1(header):
        return []
    agents = [a for a in header.config.get("agents") or () if isinstance(a, dict) and a.get("kind") == "recorded" and a.get("path") == BUNDLED_PATH]
    real = real_values(records)
    times = list(state.equity_times)
    rows = []
    for a in agents:
        name, model = str(a.get("name")), str(a.get("model"))
        line = state.equity.get(name)
        points = real.get(model, [])[1:]
        if line is None or not points:
            continue
        values = list(line)
        devs: list[tuple[float, int, float, float]] = []
        for t, value in points:
            ours = _interpolate(times, values, t)
            if ours is None or not value:
                continue
            devs.append(((ours - value) / value * 100.0, t, ours, value))
        if not devs:
            continue
        worst = max(devs, key=lambda d: abs(d[0]))
        rows.append(Deviation(
            agent=name, model=model, n=len(devs),
            median_pct=statistics.median(abs(d[0]) for d in devs),
            worst_pct=abs(worst[0]), last_pct=devs[-1][0], ours=devs[-1][2], real=devs[-1][3], worst_at=worst[1],
        ))
    return rows


@functools.lru_cache(maxsize=1)
def _bundled_real_values() -> dict[str, list[tuple[int, float]]]:
    return real_values()


def is_season1(header: Any) -> bool:
    """Whether a session (its ``SessionStarted`` header) replays the bundled Season 1 records."""
    config = getattr(header, "config", None)
    agents = config.get("agents") if isinstance(config, dict) else None
    return any(isinstance(a, dict) and a.get("kind") == "recorded" and a.get("path") == BUNDLED_PATH for a in agents or ())


def real_value_at(model: str, t: int) -> float | None:
    """The real account value of ``model`` (a model id of the bundled records) that its latest
    prompt at or before ``t`` (ms) states, USD; None before its first prompt or for another model."""
    import bisect

    rows = _bundled_real_values().get(model, [])
    i = bisect.bisect_right(rows, (t, float("inf")))
    return rows[i - 1][1] if i else None
