"""The decision parser against what models really wrote, each accepted form, and fuzzing.

Real data (copied from /work/shared/data, cut down, gzip-compressed):
* ``tests/data/alpha_arena_responses.jsonl.gz``: the 239 Alpha Arena Season 1 "model chat" records
  (2025-10-28 06:14 -> 12:10 UTC), fields id, model_id, timestamp, cycle_id, llm_response only
  (the ~11k-char prompts are left out). ``llm_response`` is the decision dict nof1 stored, or
  ``{"failed_json_response_raw_text": ...}`` where nof1's own parser gave up.
* ``tests/data/glm46_copybot_log.csv.gz``: the 38 ``received`` and ``error`` rows, verbatim, of a
  glm-4.6 bot's message log (repo terryso/LLM-trader-test, 2025-11-29); the prompt rows are left out.

Figures: ``python -m pytest tests/test_parse.py -k "nof1 or glm" -s`` prints them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine.decisions import SIGNALS, Decision
from arena_tui.engine.market.base import COINS
from arena_tui.engine.parse import (
    MAX_ANSWER_CHARS,
    ParseError,
    ParseResult,
    parse_decisions,
    parse_response,
    parse_signal,
)

TEST_DATA = Path(__file__).resolve().parent / "data"

FIELDS = ("signal", "quantity", "leverage", "profit_target", "stop_loss", "invalidation_condition",
          "confidence", "risk_usd", "justification")
NOF1_SIGNAL = {"close_position": "close"}


# ---------------------------------------------------------------------------------------------
# real data


@lru_cache(maxsize=1)
def nof1_records() -> tuple[dict, ...]:
    with gzip.open(TEST_DATA / "alpha_arena_responses.jsonl.gz", "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f)


@lru_cache(maxsize=1)
def glm_rows() -> tuple[dict, ...]:
    with gzip.open(TEST_DATA / "glm46_copybot_log.csv.gz", "rt", encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(io.StringIO(f.read())))


def as_written(llm_response: object) -> str:
    """The answer as the model wrote it: nof1's raw text for its failures, else the stored object
    serialized (a dict as JSON, a string -- nof1 sometimes stored a Python repr -- as is)."""
    if isinstance(llm_response, dict) and "failed_json_response_raw_text" in llm_response:
        return llm_response["failed_json_response_raw_text"]
    if isinstance(llm_response, str):
        return llm_response
    return json.dumps(llm_response)


def expected_from_nof1(entry: dict) -> tuple:
    return tuple(NOF1_SIGNAL.get(entry[f], entry[f]) if f == "signal" else entry[f] for f in FIELDS)


def got(d: Decision) -> tuple:
    return tuple(getattr(d, f) for f in FIELDS)


def identical(decisions: dict[str, Decision], recorded: dict) -> bool:
    return set(decisions) == set(recorded) and all(
        got(decisions[c]) == expected_from_nof1(v) and decisions[c].coin == c for c, v in recorded.items()
    )


def test_nof1_data_is_the_real_corpus():
    recs = nof1_records()
    assert len(recs) == 239
    models = {}
    for r in recs:
        models[r["model_id"]] = models.get(r["model_id"], 0) + 1
    assert models == {"qwen3-max": 53, "gemini-2.5-pro": 41, "claude-sonnet-4-5": 40, "grok-4": 37,
                      "gpt-5": 37, "deepseek-chat-v3.1": 31}


def test_nof1_239_real_answers_parse_to_what_nof1_recorded():
    """236 of 239 parse identically (every field of every coin); the 3 nof1 failures: 2 recovered
    from DeepSeek's prose (JSON written after the reasoning), 1 empty answer -> ParseError."""
    same, recovered, errors = [], [], []
    for r in nof1_records():
        lr = r["llm_response"]
        text = as_written(lr)
        nof1_failed = "failed_json_response_raw_text" in lr
        try:
            decisions = parse_decisions(text)
        except ParseError as e:
            errors.append((r["id"], e.reason))
            continue
        if nof1_failed:
            recovered.append(r["id"])
        elif identical(decisions, lr):
            same.append(r["id"])
    print(f"\nnof1: {len(same)}/239 identical; nof1 failures: {len(recovered)} recovered from prose, "
          f"{len(errors)} ParseError: {errors}")
    assert len(same) == 236
    assert recovered == ["deepseek-chat-v3.1_1761633389.577893", "deepseek-chat-v3.1_1761652790.874685"]
    assert errors == [("deepseek-chat-v3.1_1761632829.692217", "the answer was empty")]


def test_nof1_failures_recovered_from_prose_match_the_models_standing_positions():
    """DeepSeek held the same six positions all morning: what we recover from its prose answers
    equals (all fields but justification) its previous answer that nof1 did record."""
    recs = sorted((r for r in nof1_records() if r["model_id"] == "deepseek-chat-v3.1"),
                  key=lambda r: float(r["timestamp"]))
    checked = 0
    for i, r in enumerate(recs):
        raw = r["llm_response"].get("failed_json_response_raw_text")
        if not raw:
            continue
        result = parse_response(raw)
        assert result.form == "json" and result.in_prose and not result.fenced
        prev = next(p["llm_response"] for p in reversed(recs[:i]) if "failed_json_response_raw_text" not in p["llm_response"])
        assert set(result.decisions) == set(prev)
        for coin, entry in prev.items():
            assert got(result.decisions[coin])[:-1] == expected_from_nof1(entry)[:-1], coin
        checked += 1
    assert checked == 2


@pytest.mark.parametrize("form", ["python-repr", "fenced-in-prose", "wrapper-list", "think-then-json"])
def test_nof1_answers_in_other_written_forms_parse_identically(form):
    """The same 236 real decision sets written the other ways models write them."""
    n = 0
    for r in nof1_records():
        lr = r["llm_response"]
        if "failed_json_response_raw_text" in lr:
            continue
        if form == "python-repr":
            text, want_form = repr(lr), "python-literal"
        elif form == "fenced-in-prose":
            text = f"Looking at the 4h trend first...\n\n```json\n{json.dumps(lr, indent=2)}\n```\nThat's my plan."
            want_form = "json"
        elif form == "wrapper-list":
            text = json.dumps([{c: {"trade_signal_args": v}} for c, v in lr.items()])
            want_form = "json"
        else:
            draft = json.dumps({c: {"signal": "hold"} for c in lr})
            text = f"<think>Draft: {draft}</think>\n{json.dumps(lr)}"
            want_form = "json"
        result = parse_response(text)
        assert result.form == want_form
        assert result.fenced == (form == "fenced-in-prose")
        assert identical(result.decisions, lr), r["id"]
        n += 1
    assert n == 236


def test_nof1_truncated_answers_raise_cut_off_and_keep_only_complete_entries():
    """Every real answer cut at 40 points: always a cut-off ParseError, and whatever comes back in
    ``partial`` equals the full answer's decision for that coin."""
    cuts = 0
    for r in nof1_records()[::6]:
        lr = r["llm_response"]
        if "failed_json_response_raw_text" in lr:
            continue
        text = json.dumps(lr, indent=2)
        full = parse_decisions(text)
        for k in range(1, 41):
            i = len(text) * k // 41
            if not text[:i].strip():
                continue
            with pytest.raises(ParseError) as ei:
                parse_decisions(text[:i])
            assert ei.value.reason.startswith("the answer was cut off mid-JSON"), (r["id"], i, ei.value.reason)
            for coin, d in ei.value.partial.items():
                assert d == full[coin]
            cuts += 1
    assert cuts >= 1500


# -- the glm-4.6 bot log ------------------------------------------------------------------------


def glm_kind(row: dict) -> str:
    """Classify a log row from the log itself (not from the parser)."""
    if row["direction"] == "error":
        return "error:api" if row["content"].startswith("Error calling LLM API") else "error:bot-note"
    meta = json.loads(row["metadata"])
    if not row["content"].strip():
        return "empty"
    if meta.get("finish_reason") == "length":
        return "cut-off"
    if "```" in row["content"]:
        return "fenced"
    return "ok"


def test_glm_log_every_row_gives_decisions_or_a_reason():
    rows = glm_rows()
    kinds: dict[str, int] = {}
    outcomes: dict[str, set[str]] = {}
    for row in rows:
        kind = glm_kind(row)
        kinds[kind] = kinds.get(kind, 0) + 1
        try:
            result = parse_response(row["content"])
            outcome = f"{len(result.decisions)} decisions ({result.form}{', fenced' if result.fenced else ''})"
        except ParseError as e:  # anything else fails the test
            outcome = "ParseError: " + e.reason.split(";")[0]
        outcomes.setdefault(kind, set()).add(outcome)
    print("\nglm-4.6 rows:", {k: (kinds[k], sorted(outcomes[k])) for k in sorted(kinds)})
    assert kinds == {"empty": 3, "cut-off": 7, "fenced": 1, "ok": 5, "error:api": 12, "error:bot-note": 10}
    assert outcomes == {
        "empty": {"ParseError: the answer was empty"},
        "cut-off": {"ParseError: the answer was cut off mid-JSON (no closing brace)"},
        "fenced": {"6 decisions (json, fenced)"},
        "ok": {"6 decisions (json)"},
        "error:api": {"ParseError: no JSON object or plain-text signal was found in the answer"},
        "error:bot-note": {"ParseError: no JSON object or plain-text signal was found in the answer"},
    }


def test_glm_complete_answers_match_the_json_entry_side_form():
    """glm-4.6 writes ``"signal": "entry", "side": "long"``; coins we do not trade (PAXG, PUMP)
    are skipped and listed."""
    n = 0
    for row in glm_rows():
        if glm_kind(row) not in ("ok", "fenced"):
            continue
        raw = json.loads(row["content"].strip().removeprefix("```json").removesuffix("```"))
        result = parse_response(row["content"])
        assert set(raw) == set(COINS) | {"PAXG", "PUMP"}
        assert result.skipped == ("PAXG: not one of the coins traded", "PUMP: not one of the coins traded")
        for coin in COINS:
            e, d = raw[coin], result.decisions[coin]
            want = {"entry": "buy_to_enter" if e["side"] == "long" else "sell_to_enter"}.get(e["signal"], e["signal"])
            assert d.signal == want
            assert (d.quantity, d.leverage, d.stop_loss, d.profit_target, d.confidence, d.risk_usd) == (
                e["quantity"], e["leverage"], e["stop_loss"], e["profit_target"], e["confidence"], e["risk_usd"])
            assert d.justification == e["justification"]
        n += 1
    assert n == 6
    signals = [d.signal for row in glm_rows() if glm_kind(row) in ("ok", "fenced")
               for d in parse_decisions(row["content"]).values()]
    assert signals.count("buy_to_enter") == 1 and signals.count("close") == 4


def test_glm_cut_off_answers_keep_the_entries_the_bot_itself_kept():
    """The bot logged, after each cut-off answer, which coins it had to default: our ``partial``
    holds exactly the traded coins it did not list as missing."""
    rows = glm_rows()
    checked = 0
    for i, row in enumerate(rows):
        if glm_kind(row) != "cut-off":
            continue
        with pytest.raises(ParseError) as ei:
            parse_decisions(row["content"])
        note = json.loads(rows[i + 1]["metadata"])
        assert rows[i + 1]["direction"] == "error"
        if "missing_coins" in note:
            want = set(COINS) - set(note["missing_coins"])
        else:  # "No JSON found in LLM response": nothing complete
            want = set()
        assert set(ei.value.partial) == want, row["timestamp"]
        checked += 1
    assert checked == 7


# ---------------------------------------------------------------------------------------------
# each accepted form


def one(text: str, coin: str = "BTC", coins=COINS) -> Decision:
    d = parse_decisions(text, coins)
    assert list(d) == [coin]
    return d[coin]


def test_flat_per_coin_json():
    d = parse_decisions('{"BTC": {"signal": "buy_to_enter", "quantity": 0.5, "leverage": 10, "profit_target": 120000,'
                        ' "stop_loss": 105000, "invalidation_condition": "4h close below 104k", "confidence": 0.7,'
                        ' "risk_usd": 300, "justification": "trend"}, "ETH": {"signal": "hold"}}')
    assert d["BTC"] == Decision("BTC", "buy_to_enter", 0.5, 10.0, 120000.0, 105000.0, "4h close below 104k", 0.7, 300.0, "trend")
    assert d["ETH"] == Decision("ETH", "hold")


def test_trade_signal_args_wrapper():
    d = one('{"BTC": {"trade_signal_args": {"coin": "BTC", "signal": "close_position", "quantity": 0.1}}}')
    assert (d.signal, d.quantity) == ("close", 0.1)


def test_list_of_decisions_with_coin_key_and_nested_under_a_key():
    d = parse_decisions('[{"coin": "btc", "signal": "LONG"}, {"coin": "ETH-USD", "signal": "short", "leverage": "5x"}]')
    assert (d["BTC"].signal, d["ETH"].signal, d["ETH"].leverage) == ("buy_to_enter", "sell_to_enter", 5.0)
    d = parse_decisions('{"decisions": [{"symbol": "SOLUSDT", "action": "exit"}]}')
    assert d["SOL"].signal == "close"


def test_markdown_fence_and_prose_around_it():
    r = parse_response('I will go long.\n```json\n{"DOGE": {"signal": "buy", "quantity": 1000}}\n```\nDone.')
    assert r.fenced and r.in_prose and r.form == "json"
    assert r.decisions["DOGE"].signal == "buy_to_enter"


def test_json_inside_prose_without_fence_with_braces_in_strings():
    text = 'My answer {not json} is: {"XRP": {"signal": "hold", "justification": "range {2.3, 2.6} holds"}} ok'
    d = one(text, "XRP")
    assert d.justification == "range {2.3, 2.6} holds"


def test_last_json_object_wins_over_drafts_and_examples():
    text = ('Format: {"COIN": {"signal": "<hold|close>", "quantity": <float>}}\n'
            'Draft: {"BTC": {"signal": "buy"}}\nFinal: {"BTC": {"signal": "hold"}}')
    assert one(text).signal == "hold"


def test_one_coin_objects_in_a_row_are_merged():
    text = 'BTC: {"coin": "BTC", "signal": "hold"}\n\nETH: {"coin": "ETH", "signal": "close"}'
    d = parse_decisions(text)
    assert {c: x.signal for c, x in d.items()} == {"BTC": "hold", "ETH": "close"}


def test_python_repr_dicts():
    r = parse_response("{'BTC': {'signal': 'hold', 'quantity': 0.12, 'is_add': False, 'note': None, 'justification': \"it's fine\"}}")
    assert r.form == "python-literal"
    assert r.decisions["BTC"].quantity == 0.12 and r.decisions["BTC"].justification == "it's fine"


def test_lenient_json_mixed_quotes_trailing_commas_comments():
    r = parse_response("{'BTC': {'signal': 'sell', 'active': true, 'x': null,}, } // final")
    assert r.form == "json-lenient" and r.decisions["BTC"].signal == "sell_to_enter"


def test_javascript_style_bare_keys():
    r = parse_response("{BTC: {signal: 'hold', quantity: 1, ok: true}, ETH: {signal: \"close\"}}")
    assert r.form == "json-lenient"
    assert {c: (d.signal, d.quantity) for c, d in r.decisions.items()} == {"BTC": ("hold", 1.0), "ETH": ("close", None)}


def test_eval_is_never_used():
    with pytest.raises(ParseError):
        parse_decisions("{'BTC': {'signal': __import__('os').system('echo pwned')}}")


@pytest.mark.parametrize(
    "word, side, want",
    [
        ("buy_to_enter", None, "buy_to_enter"), ("BUY", None, "buy_to_enter"), ("Long", None, "buy_to_enter"),
        ("go long", None, "buy_to_enter"), ("sell_to_enter", None, "sell_to_enter"), ("SELL", None, "sell_to_enter"),
        ("short", None, "sell_to_enter"), ("Go-Short", None, "sell_to_enter"), ("HOLD", None, "hold"),
        ("wait", None, "hold"), ("no_action", None, "hold"), ("close", None, "close"),
        ("close_position", None, "close"), ("EXIT", None, "close"), ("close short", None, "close"),
        ("entry", "long", "buy_to_enter"), ("ENTRY", "SHORT", "sell_to_enter"), ("enter", "buy", "buy_to_enter"),
        ("open", "sell", "sell_to_enter"), ("buy", "short", "buy_to_enter"), ("entry", None, None),
        ("entry", "sideways", None), ("maybe", None, None), ("", None, None), (None, None, None), (1, None, None),
    ],
)
def test_signal_synonyms(word, side, want):
    assert parse_signal(word, side) == want


def test_entry_without_side_is_explained():
    with pytest.raises(ParseError, match="'entry' with no long/short side"):
        parse_decisions('{"BTC": {"signal": "entry", "quantity": 1}}')


@pytest.mark.parametrize(
    "raw, want",
    [
        (1234.5, 1234.5), (10, 10.0), ("$1,234.5", 1234.5), ("10x", 10.0), ("75%", 75.0), (" 0.5 BTC ", 0.5),
        ("-2.5", -2.5), ("1.2k", 1200.0), ("$105,000.00", 105000.0), ("~ 3.1", 3.1), ("N/A", None),
        ("", None), ("between 1 and 2", None), (True, None), (None, None), (float("nan"), None),
        (float("inf"), None), ("1e999", None), (10**400, None), ([1], None),
    ],
)
def test_numbers_given_as_strings(raw, want):
    assert one(json.dumps({"BTC": {"signal": "hold", "stop_loss": raw}})).stop_loss == want


def test_confidence_kept_as_given():
    assert one('{"BTC": {"signal": "hold", "confidence": 75}}').confidence == 75.0
    assert one('{"BTC": {"signal": "hold", "confidence": "80%"}}').confidence == 80.0
    assert one('{"BTC": {"signal": "hold", "confidence": 0.8}}').confidence == 0.8


def test_plain_text_signal_form():
    d = one("After review, BTC looks strong.\nSignal: BUY\nStop Loss: $105,000\nTake Profit: $120,500.5\n")
    assert (d.signal, d.stop_loss, d.profit_target, d.quantity) == ("buy_to_enter", 105000.0, 120500.5, None)


def test_plain_text_with_coin_quantity_leverage_lines_and_markdown():
    text = ("**Coin:** ETH\n**Signal:** SHORT\n**Quantity:** 2.5 ETH\n**Leverage:** 10x\n"
            "- Stop Loss: $4,100 (above resistance)\n- Take Profit: 3,800\n- Confidence: 75%\n\n"
            "### SOL\nSignal: hold\n\n1. Coin: BTC\n2. Action: Close position\n")
    d = parse_decisions(text)
    assert d["ETH"] == Decision("ETH", "sell_to_enter", 2.5, 10.0, 3800.0, 4100.0, None, 75.0, None, None)
    assert d["SOL"].signal == "hold" and d["BTC"].signal == "close"
    assert parse_response(text).form == "plain-text"


def test_plain_text_without_a_coin_is_a_parse_error():
    with pytest.raises(ParseError, match="named no coin"):
        parse_decisions("Signal: BUY\nStop Loss: 100\nBoth BTC and ETH look good.")
    assert one("Signal: BUY", "SOL", coins=("SOL",)).signal == "buy_to_enter"


def test_think_blocks_are_not_the_answer():
    assert one('<think>{"BTC": {"signal": "buy"}}</think>{"BTC": {"signal": "close"}}').signal == "close"
    with pytest.raises(ParseError, match="only reasoning"):
        parse_decisions('<think>{"BTC": {"signal": "buy"}}</think>\n')
    with pytest.raises(ParseError, match="cut off inside its reasoning"):
        parse_decisions('<think>I would buy {"BTC": {"signal": "buy"}}')


def test_json_string_holding_json():
    assert one(json.dumps(json.dumps({"BTC": {"signal": "hold"}}))).signal == "hold"


def test_coins_argument_filters_and_upper_cases():
    text = '{"btc": {"signal": "hold"}, "ETH": {"signal": "buy"}, "PAXG": {"signal": "buy"}}'
    assert list(parse_decisions(text, coins=["eth"])) == ["ETH"]
    r = parse_response(text)
    assert set(r.decisions) == {"BTC", "ETH"} and r.skipped == ("PAXG: not one of the coins traded",)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "the answer was empty"),
        ("   \n\t", "the answer was empty"),
        ('{"BTC": {"signal": "hold", "quan', "the answer was cut off mid-JSON (no closing brace)"),
        ('{"BTC": {"signal": "hold"}, "ETH": {"sig', "the answer was cut off mid-JSON (no closing brace); complete entries for BTC came before the cut"),
        ("Let me write the JSON.{", "the answer was cut off mid-JSON (no closing brace)"),
        ("```json\n", "the answer was cut off inside a code fence with no JSON in it"),
        ('{"PAXG": {"signal": "buy"}}', "no decision for any known coin was found (the answer named PAXG; known coins are BTC, ETH, SOL, BNB, XRP, DOGE)"),
        ('{"BTC": {"signal": "moon"}}', "no decision for any known coin was found (unrecognised signal for BTC: 'moon')"),
        ('{"decision": {"signal": "buy"}}', "no decision for any known coin was found (the decision in the answer named no coin)"),
        ('{"answer": 42}', "no decision for any known coin was found (the JSON in the answer held no per-coin signals)"),
        ('{"BTC": {"signal": <buy>}}', "the answer's JSON could not be read (2 bracketed spans neither valid JSON nor a Python literal)"),
        ("I would hold everything today.", "no JSON object or plain-text signal was found in the answer"),
        ("[1, 2, 3] 42 null", "no JSON object or plain-text signal was found in the answer"),
    ],
)
def test_parse_error_reasons(text, reason):
    with pytest.raises(ParseError) as ei:
        parse_decisions(text)
    assert ei.value.reason == reason == str(ei.value)
    assert isinstance(ei.value, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "{" * 200_000, "[" * 200_000, "[" * 50_000 + "]" * 50_000, '{"a":' * 30_000 + "1" + "}" * 30_000,
        "{[" * 100_000 + "}]" * 100_000, "}" * 100_000, "{'" * 100_000, '{"' * 100_000, "/*{" * 50_000,
        '{"BTC": {"signal": "buy", "quantity": ' + "9" * 5000 + "}}", '{"BTC": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"BTC": {"signal": "hold", "quantity": NaN, "leverage": Infinity, "stop_loss": -Infinity}}',
        "\x00{\"BTC\": \x00}", "{'BTC': {'signal': 'hold', 'q': 1j, 's': {1, 2}, 'b': b'x'}}",
        "Signal:" + " " * 1900 + "x\n" * 200, "**" * 1000 + ":" , "x" * (MAX_ANSWER_CHARS + 1),
    ],
)
def test_hostile_inputs_give_decisions_or_parse_error(text):
    check_contract(text)


class _CountingPairs(dict):
    """``_Scan.pairs`` that counts the pairs visited and gives up (raises) past ``limit``."""

    def __init__(self, pairs: dict, limit: int) -> None:
        super().__init__(pairs)
        self.visits = 0
        self.limit = limit

    def _tick(self) -> None:
        self.visits += 1
        if self.visits > self.limit:
            raise RuntimeError("quadratic: bracket pairs visited once per open level")

    def __iter__(self):
        for k in super().__iter__():
            self._tick()
            yield k

    def keys(self):
        return list(self.__iter__())

    def items(self):
        for k, v in super().items():
            self._tick()
            yield k, v

    def values(self):
        return [v for _, v in self.items()]


@pytest.mark.parametrize(
    "text, partial",
    [
        # thousands of open levels, none with a complete child: was a pass over every pair per level
        ("[]" * 50_000 + '{"a":' + "[" * 100_000 + ' {"BTC": {"signal": "hold"}}', set()),
        ("[]" * 50_000 + '{"a":' + "[" * 100_000, set()),
        # thousands of open levels, each with a complete child: was one load per level of a growing prefix
        ('{"x":' + '{"a":[1],"b":' * 15_000, set()),
        ('{"BTC": {"signal": "hold"}, "x":' + '{"a":[1],"b":' * 15_000, {"BTC"}),
        ('{"decisions": [{"coin": "ETH", "signal": "close"}, ' + '{"a":[1],"b":' * 15_000, {"ETH"}),
    ],
    ids=["open-levels-then-object", "open-levels", "levels-with-children", "btc-then-levels", "eth-then-levels"],
)
def test_answers_cut_off_thousands_of_levels_deep_are_salvaged_in_linear_work(monkeypatch, text, partial):
    """A ~200k-character answer cut off inside thousands of open brackets. ``_salvage`` once visited
    every bracket pair for every open level and loaded a growing prefix per level (minutes at this
    size, the whole arena frozen meanwhile). Counted, not timed: the pairs visited and the characters
    handed to ``_load`` stay linear in the answer (the counters raise past the bound, so a regression
    fails at once instead of hanging)."""
    import arena_tui.engine.parse as parse_mod

    assert len(text) >= 195_000
    scans: list[_CountingPairs] = []
    real_scan = parse_mod._scan

    def counting_scan(body: str):
        scan = real_scan(body)
        scan.pairs = _CountingPairs(scan.pairs, limit=4 * len(scan.pairs) + 100)
        scans.append(scan.pairs)
        return scan

    load_limit = 10 * len(text) + 50_000
    loaded: list[int] = []
    real_load = parse_mod._load

    def counting_load(s: str):
        loaded.append(len(s))
        if sum(loaded) > load_limit:
            raise RuntimeError("quadratic: a growing prefix loaded once per open level")
        return real_load(s)

    monkeypatch.setattr(parse_mod, "_scan", counting_scan)
    monkeypatch.setattr(parse_mod, "_load", counting_load)
    with pytest.raises(ParseError) as ei:
        parse_response(text)
    assert ei.value.reason.startswith("the answer was cut off mid-JSON (no closing brace)"), ei.value.reason
    assert set(ei.value.partial) == partial
    assert len(scans) == 1 and scans[0].visits <= 4 * len(scans[0]) + 100
    assert sum(loaded) <= load_limit


def test_non_text_input_is_a_parse_error():
    for bad in (None, 42, b'{"BTC": {"signal": "hold"}}', {"BTC": {"signal": "hold"}}):
        with pytest.raises(ParseError, match="not text"):
            parse_decisions(bad)  # type: ignore[arg-type]


def test_non_finite_numbers_become_none():
    d = one('{"BTC": {"signal": "hold", "quantity": NaN, "leverage": Infinity, "stop_loss": 1e999, "risk_usd": -1e999}}')
    assert (d.quantity, d.leverage, d.stop_loss, d.risk_usd) == (None, None, None, None)


# ---------------------------------------------------------------------------------------------
# fuzzing: nothing but ParseError, and round trips


def check_contract(text: object) -> dict[str, Decision] | None:
    try:
        result = parse_response(text)  # type: ignore[arg-type]
    except ParseError as e:
        assert isinstance(e.reason, str) and e.reason and "\n" not in e.reason
        assert not e.reason.startswith("the parser failed"), e.reason  # the safety net never fires
        assert all(c in COINS and isinstance(d, Decision) for c, d in e.partial.items())
        return None
    assert isinstance(result, ParseResult) and result.decisions
    for coin, d in result.decisions.items():
        assert coin in COINS and d.coin == coin and d.signal in SIGNALS
        for f in ("quantity", "leverage", "profit_target", "stop_loss", "confidence", "risk_usd"):
            v = getattr(d, f)
            assert v is None or (isinstance(v, float) and math.isfinite(v))
        assert d.invalidation_condition is None or isinstance(d.invalidation_condition, str)
        assert d.justification is None or isinstance(d.justification, str)
    return result.decisions


@settings(max_examples=600)
@given(st.text())
def test_fuzz_arbitrary_text(text):
    check_contract(text)


KEYS = st.sampled_from(list(COINS) + ["btc", "PAXG", "coin", "signal", "side", "trade_signal_args", "quantity",
                                      "leverage", "stop_loss", "profit_target", "confidence", "decisions", "x"])
SIGNAL_WORDS = st.sampled_from(["hold", "buy_to_enter", "sell_to_enter", "close", "close_position", "entry", "BUY",
                                "long", "short", "exit", "long", "moon", ""])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True),
    SIGNAL_WORDS, st.sampled_from(["$1,234.5", "10x", "75%", "N/A", "1e999", "{", "}", "```", "'", '"']), st.text(max_size=20),
)
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)


def render(obj: object, how: str) -> str:
    if how == "json":
        return json.dumps(obj)
    if how == "repr":
        return repr(obj)
    if how == "fenced":
        return "Reasoning {first}.\n```json\n" + json.dumps(obj, indent=2) + "\n```\n"
    return "Signal: " + json.dumps(obj)


@settings(max_examples=600)
@given(JSONISH, st.sampled_from(["json", "repr", "fenced", "text"]), st.integers(min_value=0, max_value=10**6), st.booleans())
def test_fuzz_jsonish_structures(obj, how, cut_at, cut):
    text = render(obj, how)
    if cut:
        text = text[: cut_at % (len(text) + 1)]
    check_contract(text)


NUM = st.one_of(st.none(), st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
DECISION = st.builds(
    Decision,
    coin=st.sampled_from(COINS),
    signal=st.sampled_from(SIGNALS),
    quantity=NUM, leverage=NUM, profit_target=NUM, stop_loss=NUM,
    invalidation_condition=st.one_of(st.none(), st.text(max_size=40)),
    confidence=NUM, risk_usd=NUM,
    justification=st.one_of(st.none(), st.text(max_size=40)),
)


def entry(d: Decision) -> dict:
    return {f: getattr(d, f) for f in FIELDS if getattr(d, f) is not None}


@settings(max_examples=300)
@given(st.lists(DECISION, min_size=1, max_size=6, unique_by=lambda d: d.coin),
       st.sampled_from(["flat", "wrapper", "list", "repr", "fenced", "prose"]))
def test_round_trip_of_real_shaped_answers(decisions, how):
    """Any decision set written in any accepted JSON form parses back to itself."""
    if how == "flat":
        text = json.dumps({d.coin: entry(d) for d in decisions})
    elif how == "wrapper":
        text = json.dumps({d.coin: {"trade_signal_args": {"coin": d.coin, **entry(d)}} for d in decisions})
    elif how == "list":
        text = json.dumps([{"coin": d.coin, **entry(d)} for d in decisions])
    elif how == "repr":
        text = repr({d.coin: entry(d) for d in decisions})
    elif how == "fenced":
        text = "```json\n" + json.dumps({d.coin: entry(d) for d in decisions}, indent=2) + "\n```"
    else:
        text = "Let's check each coin. It's {calm}.\n" + json.dumps({d.coin: entry(d) for d in decisions}) + "\nDone."
    assert parse_decisions(text) == {d.coin: d for d in decisions}
