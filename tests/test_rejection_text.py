"""Issue #17, rejection text: every rejection names its rule and shows numbers as a person reads them.

Three defects, each reproduced through the real path (answer text -> ``parse_decisions`` ->
``risk.validate``), then the arena end to end:

* a quantity of 1e308 printed as a 309-digit number;
* a NaN quantity (the parser reads non-finite numbers as ``None``) printed as ``quantity None``;
* a decision for a coin not traded, beside decisions for traded coins, was dropped without a
  rejection (only the parser's ``skipped`` note said so).
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena_tui.engine.decisions import Decision
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.parse import ParseError, parse_decisions, parse_response
from arena_tui.engine.risk import RULES, RiskLimits, RiskResult, validate

PRICES = {"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0, "BNB": 1_000.0, "XRP": 2.5, "DOGE": 0.2}
COINS = tuple(PRICES)
RISK_PY = Path(__file__).resolve().parents[1] / "arena_tui" / "engine" / "risk.py"

LONG = {"signal": "buy_to_enter", "leverage": 5, "stop_loss": 98_000, "profit_target": 104_000, "confidence": 0.7}
ETH_LONG = {"signal": "buy_to_enter", "quantity": 0.25, "leverage": 5, "stop_loss": 3_900, "profit_target": 4_200}

_LONG_DIGITS = re.compile(r"\d[\d,]{15,}")  # more than ~12 digits in a row: not something a person reads
_RAW_WORDS = re.compile(r"\b(None|nan|inf|NaN)\b")  # Python spellings (NaN is fine only as "(NaN)")


def through_engine(answer: str, prices=PRICES) -> RiskResult:
    """What the arena does with an answer: parse it for the session's coins, then validate."""
    return validate(parse_decisions(answer, tuple(prices)), Ledger().snapshot(), prices)


def readable(reason: str) -> bool:
    return not _LONG_DIGITS.search(reason) and not _RAW_WORDS.search(reason.replace("(NaN)", ""))


# --- (a) huge numbers -------------------------------------------------------------------------


def test_a_quantity_of_1e308_reads_in_scientific_notation():
    res = through_engine(json.dumps({"BTC": dict(LONG, quantity=1e308)}))
    (rej,) = res.rejections
    assert rej.rule == "margin_within_cash"
    assert "1e+308" in rej.reason and readable(rej.reason), rej.reason
    assert len(rej.reason) < 120


@pytest.mark.parametrize(
    "decision, words",
    [
        (dict(LONG, quantity=1e300), "margin $2e+304 + fee $4.5e+301 = $2e+304 exceeds"),
        (dict(LONG, quantity=1e20), "margin $2e+24 + fee $4.5e+21 = $2e+24 exceeds"),
        (dict(LONG, quantity=1.0, stop_loss=1e200), "below the entry price 100,000, but it is 1e+200"),
        (dict(LONG, quantity=1.0, profit_target=1e-200), "above the entry price 100,000, but it is 1e-200"),
        (dict(LONG, quantity=1e-300), "1e-300 coins at 100,000 is $0.00 of notional"),
    ],
)
def test_huge_and_tiny_numbers_read_in_scientific_notation(decision, words):
    (rej,) = through_engine(json.dumps({"BTC": decision})).rejections
    assert words in rej.reason and readable(rej.reason), rej.reason


def test_normal_magnitudes_keep_thousands_separators_and_six_digits():
    (rej,) = through_engine(json.dumps({"BTC": dict(LONG, quantity=0.123456789, stop_loss=123_456.789)})).rejections
    assert "but it is 123,457" in rej.reason, rej.reason
    (rej,) = validate({"BTC": Decision("BTC", "buy_to_enter", 2.0, 10.0, 104_000, 98_000)}, Ledger().snapshot(), PRICES).rejections
    assert "margin $20,000.00 + fee $90.00 = $20,090.00 exceeds the $10,000.00 of free cash" in rej.reason, rej.reason
    limits = RiskLimits(daily_loss_limit_pct=5.0)
    (rej,) = validate({"BTC": Decision("BTC", "buy_to_enter", 0.01, 10.0, 104_000, 98_000)}, Ledger().snapshot(), PRICES, limits, day_start_value=1e9).rejections
    assert "($1,000,000,000.00 -> $10,000.00)" in rej.reason, rej.reason


# --- (b) NaN, infinity, missing ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        '{"BTC": {"signal": "buy_to_enter", "quantity": NaN, "leverage": 5, "stop_loss": 98000, "profit_target": 104000}}',
        json.dumps({"BTC": dict(LONG, quantity=math.nan)}),  # json.dumps writes NaN
        json.dumps({"BTC": dict(LONG, quantity="NaN")}),
        json.dumps({"BTC": dict(LONG, quantity=math.inf)}),
        '{"BTC": {"signal": "buy_to_enter", "quantity": 1e999, "leverage": 5, "stop_loss": 98000, "profit_target": 104000}}',
        json.dumps({"BTC": LONG}),  # no quantity at all
    ],
)
def test_a_quantity_the_answer_did_not_give_as_a_finite_number_reads_as_missing(answer):
    assert parse_decisions(answer, COINS)["BTC"].quantity is None  # the parser's reading, unchanged
    (rej,) = through_engine(answer).rejections
    assert rej.rule == "positive_quantity"
    assert rej.reason == "BTC: the quantity is missing or not a finite number; an entry needs a positive number of coins.", rej.reason


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("quantity", math.nan, "BTC: the quantity is not a number (NaN); an entry needs a positive number of coins."),
        ("quantity", math.inf, "BTC: the quantity is infinite; an entry needs a positive number of coins."),
        ("quantity", -math.inf, "BTC: the quantity is minus infinity; an entry needs a positive number of coins."),
        ("quantity", "abc", "BTC: the quantity 'abc' is not a number; an entry needs a positive number of coins."),
        ("quantity", True, "BTC: the quantity True is not a number; an entry needs a positive number of coins."),
        ("quantity", 10**400, "BTC: the quantity is infinite"),
        ("quantity", -1e308, "BTC: quantity -1e+308 is not a positive number of coins."),
        ("leverage", None, "BTC: the leverage is missing or not a finite number; it must be within the allowed 1-20x."),
        ("leverage", math.nan, "BTC: the leverage is not a number (NaN); it must be within the allowed 1-20x."),
        ("leverage", 1e308, "BTC: leverage 1e+308 is outside the allowed 1-20x."),
        ("confidence", math.nan, "BTC: the confidence is not a number (NaN); it must be within 0-1 (or 0-100 %)."),
        ("confidence", 1e300, "BTC: confidence 1e+300 is not within 0-1 (or 0-100 %)."),
        ("stop_loss", math.inf, "BTC: the stop-loss is infinite; it must be a positive price."),
        ("profit_target", math.nan, "BTC: the profit target is not a number (NaN); it must be a positive price."),
    ],
)
def test_non_finite_values_read_as_words_not_python(field, value, words):
    d = Decision("BTC", "buy_to_enter", **{"quantity": 0.01, "leverage": 10.0, "stop_loss": 98_000.0, "profit_target": 104_000.0, field: value})
    (rej,) = validate({"BTC": d}, Ledger().snapshot(), PRICES).rejections
    assert words in rej.reason and readable(rej.reason), rej.reason


NUMBERS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
)


@settings(max_examples=400)
@given(quantity=NUMBERS, leverage=NUMBERS, stop=NUMBERS, target=NUMBERS, confidence=NUMBERS, price=st.floats(1e-9, 1e15), with_position=st.booleans())
def test_no_rejection_ever_prints_a_python_spelling_or_a_wall_of_digits(quantity, leverage, stop, target, confidence, price, with_position):
    led = Ledger()
    if with_position:
        led.open("ETH", 1, 0.01, 4_000.0, 10.0, time=1_760_659_200_000)
    prices = dict(PRICES, BTC=price)
    for signal in ("buy_to_enter", "sell_to_enter"):
        d = Decision("BTC", signal, quantity, leverage, target, stop, None, confidence)  # type: ignore[arg-type]
        e = Decision("ETH", signal, quantity, leverage, target, stop, None, confidence)  # type: ignore[arg-type]
        for rej in validate({"BTC": d, "ETH": e}, led.snapshot(), prices).rejections:
            assert rej.rule in RULES and rej.reason.endswith(".")
            assert readable(rej.reason), rej.reason


# --- (c) decisions for coins not traded -------------------------------------------------------


ANSWERS_WITH_FOO = [
    json.dumps({"BTC": dict(LONG, quantity=0.01), "FOO": dict(LONG, quantity=1.0)}),
    json.dumps({"FOO": {"trade_signal_args": dict(LONG, quantity=1.0)}, "BTC": dict(LONG, quantity=0.01)}),
    json.dumps([dict(LONG, coin="BTC", quantity=0.01), dict(LONG, coin="foo-usdt", quantity=1.0)]),
    "Here is my plan.\n```json\n" + json.dumps({"decisions": [dict(LONG, coin="BTC", quantity=0.01), dict(LONG, coin="FOO", quantity=1.0)]}) + "\n```",
    "{'BTC': {'signal': 'buy', 'quantity': 0.01, 'leverage': 5, 'stop_loss': 98000, 'profit_target': 104000}, 'FOO': {'signal': 'sell'}}",
    "Coin: BTC\nSignal: BUY\nQuantity: 0.01\nLeverage: 5\nStop Loss: 98000\nTake Profit: 104000\n\n"
    "Coin: FOO\nSignal: BUY\nQuantity: 1\nStop Loss: 1\nTake Profit: 2\n",
]


@pytest.mark.parametrize("answer", ANSWERS_WITH_FOO)
def test_a_decision_for_a_coin_not_traded_is_rejected_beside_the_others(answer):
    decisions = parse_decisions(answer, COINS)
    assert decisions == {"BTC": parse_response(answer, COINS).decisions["BTC"]}  # what the parser returns is unchanged
    assert list(decisions) == ["BTC"] and decisions["BTC"].quantity == 0.01
    res = validate(decisions, Ledger().snapshot(), PRICES)
    assert [(o.coin, o.action) for o in res.orders] == [("BTC", "open")]
    (rej,) = res.rejections
    assert (rej.coin, rej.rule) == ("FOO", "unknown_coin")
    assert rej.reason == "FOO is not traded in this session (coins: BTC, ETH, SOL, BNB, XRP, DOGE).", rej.reason


def test_the_parser_lists_coins_not_traded_with_their_decisions():
    r = parse_response(ANSWERS_WITH_FOO[0], COINS)
    assert set(r.decisions) == {"BTC"} and r.skipped == ("FOO: not one of the coins traded",)
    ((coin, d),) = r.unknown
    assert coin == "FOO" and d == Decision("FOO", "buy_to_enter", 1.0, 5.0, 104_000.0, 98_000.0, confidence=0.7)
    # an entry whose signal cannot be read is still a decision for a coin not traded
    r = parse_response('{"BTC": {"signal": "hold"}, "FOO": {"signal": "moon"}}', COINS)
    assert r.unknown == (("FOO", None),)
    (rej,) = validate(parse_decisions('{"BTC": {"signal": "hold"}, "FOO": {"signal": "moon"}}', COINS), Ledger().snapshot(), PRICES).rejections
    assert (rej.coin, rej.rule, rej.decision) == ("FOO", "unknown_coin", None)
    # answers with no coin outside the session have none
    assert parse_response('{"BTC": {"signal": "hold"}}', COINS).unknown == ()
    assert not hasattr(parse_response('{"BTC": {"signal": "hold"}}', COINS).decisions, "unknown")


def test_rejections_for_coins_not_traded_come_after_the_others_in_answer_order():
    answer = json.dumps({"PAXG": {"signal": "hold"}, "BTC": dict(LONG, quantity=-1), "PUMP": {"signal": "buy"}, "ETH": {"signal": "close"}})
    res = through_engine(answer)
    assert [(r.coin, r.rule) for r in res.rejections] == [
        ("BTC", "positive_quantity"),
        ("ETH", "close_without_position"),
        ("PUMP", "unknown_coin"),  # PAXG's hold changes nothing: passed over
    ]


def test_only_coins_not_traded_is_still_a_parse_error():
    with pytest.raises(ParseError, match="the answer named FOO"):
        parse_decisions(json.dumps({"FOO": dict(LONG, quantity=1.0)}), COINS)


def test_a_hostile_answer_cannot_flood_the_journal_with_rejections():
    answer = json.dumps({"BTC": {"signal": "hold"}, **{f"X{i}": {"signal": "buy"} for i in range(500)}})
    res = through_engine(answer)
    assert 0 < len(res.rejections) <= 50 and {r.rule for r in res.rejections} == {"unknown_coin"}


def test_a_hold_for_a_coin_not_traded_is_passed_over():
    """glm-4.6 named PAXG and PUMP with a hold in every real answer: holding them changes nothing."""
    res = through_engine(json.dumps({"BTC": {"signal": "hold"}, "PAXG": {"signal": "hold"}, "PUMP": {"signal": "hold"}}))
    assert res.rejections == ()


def test_a_plain_dict_of_decisions_has_no_coins_not_traded():
    res = validate({"BTC": Decision("BTC", "hold")}, Ledger().snapshot(), PRICES)
    assert res == RiskResult((), ())


# --- every rejection names a documented rule --------------------------------------------------


def test_every_rejection_in_risk_py_names_a_documented_rule():
    """Every ``Rejection(...)`` built in risk.py names its rule with a string literal that is a key of
    ``RULES``, and every documented rule is used."""
    tree = ast.parse(RISK_PY.read_text())
    used: set[str] = set()
    calls = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Rejection":
            calls += 1
            rule = node.args[1] if len(node.args) > 1 else next(k.value for k in node.keywords if k.arg == "rule")
            assert isinstance(rule, ast.Constant) and isinstance(rule.value, str) and rule.value, ast.unparse(node)
            assert rule.value in RULES, rule.value
            used.add(rule.value)
    assert calls >= len(RULES)
    assert used == set(RULES)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(["BTC", "ETH", "DOGE", "FOO", "PAXG", "btc-usdt", "X" * 30, "12", ""]),
        st.fixed_dictionaries(
            {"signal": st.sampled_from(["buy", "sell", "hold", "close", "moon", "entry"])},
            optional={
                "quantity": st.one_of(st.floats(), st.text(max_size=6), st.none()),
                "leverage": st.one_of(st.floats(), st.none()),
                "stop_loss": st.floats(),
                "profit_target": st.floats(),
                "confidence": st.floats(),
            },
        ),
        max_size=6,
    )
)
def test_every_rejection_of_any_answer_names_a_documented_rule(answer):
    text = json.dumps(answer)
    try:
        decisions = parse_decisions(text, COINS)
    except ParseError:
        return
    res = validate(decisions, Ledger().snapshot(), PRICES)
    for rej in res.rejections:
        assert rej.rule in RULES and rej.reason.endswith(".") and readable(rej.reason), rej
    # every entry is accounted for: an order, a rejection, a hold, or a parser note
    r = parse_response(text, COINS)
    assert len(r.unknown) == sum(1 for n in r.skipped if n.endswith("not one of the coins traded"))


# --- the arena, end to end, and re-execution --------------------------------------------------


async def test_the_arena_journals_the_three_rejections_and_they_verify(tmp_path):
    from arena_tui.config import load_config
    from arena_tui.engine import events as ev
    from arena_tui.engine.agents.base import AgentReply
    from arena_tui.engine.factory import build_market
    from arena_tui.engine.journal import read_journal
    from arena_tui.engine.scheduler import ArenaSession
    from arena_tui.engine.verify import reexecute

    class Scripted:
        kind = "llm"
        model = "scripted"
        name = "Scripted"

        async def decide(self, request, on_delta):
            answer = {
                "BTC": {"signal": "buy_to_enter", "quantity": 1e308, "leverage": 5, "stop_loss": 1, "profit_target": 1e7},
                "ETH": {"signal": "buy_to_enter", "quantity": "NaN", "leverage": 5, "stop_loss": 1, "profit_target": 1e6},
                "FOO": {"signal": "buy_to_enter", "quantity": 1, "leverage": 5, "stop_loss": 1, "profit_target": 2},
            }
            on_delta("answer", json.dumps(answer))
            return AgentReply(text=json.dumps(answer))

    cfg = load_config(None, environ={}, cwd=tmp_path, overrides={"market": {"start": "2025-10-20T00:00:00Z"}, "arena": {"sessions_dir": str(tmp_path)}})
    path = tmp_path / "s.jsonl"
    session = ArenaSession(cfg, build_market(cfg), [Scripted()], journal_path=path, max_cycles=2, pace=0)
    await session.run(lambda e: None)
    rejected = [e for e in read_journal(path).events if isinstance(e, ev.DecisionRejected)]
    assert [(e.coin, e.rule) for e in rejected] == [("BTC", "margin_within_cash"), ("ETH", "positive_quantity"), ("FOO", "unknown_coin")] * 2
    assert "1e+308 coins" in rejected[0].reason and "quantity is missing" in rejected[1].reason
    assert rejected[2].reason.startswith("FOO is not traded in this session (coins: BTC, ETH")
    assert all(readable(e.reason) for e in rejected)
    result = await reexecute(path)
    assert result.difference is None and result.cycles == 2
