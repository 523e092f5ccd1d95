"""The percent decision format (issue 15): its parser, its prompt, the take-profit ladder in a real
session over the bundled market (levels hit on later candles, the journal verifies, an edited ladder
exit is caught, the leaderboard and the fold agree), and the single-agent plan's risk rules."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from pathlib import Path

import pytest

from arena_tui.config import AgentConfig, ConfigError, config_from_json, load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentReply
from arena_tui.engine.decisions import Decision
from arena_tui.engine.factory import build_market
from arena_tui.engine.journal import read_journal
from arena_tui.engine.ledger import Ledger
from arena_tui.engine.market.base import Candles
from arena_tui.engine.parse import ParseError, parse_decisions, parse_percent_decisions
from arena_tui.engine.risk import RULES, RiskLimits, return_correlations, validate
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.state import ArenaState
from arena_tui.engine.verify import reexecute

import numpy as np

T0 = 1_760_659_200_000
PRICES = {"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0}
COINS = tuple(PRICES)
LADDER = [{"pct": 3, "close_pct": 33}, {"pct": 6, "close_pct": 33}, {"pct": 10, "close_pct": 34}]


def parse(text: str, value: float = 10_000.0):
    return parse_percent_decisions(text, COINS, PRICES, value)


# -- the parser ------------------------------------------------------------------------------------


def test_a_fenced_answer_with_prose_trailing_commas_and_strings_becomes_priced_decisions():
    text = (
        "BTC looks strong; ETH is flat.\n```json\n"
        '{"btc": {"signal": "Long", "confidence": "72", "size_pct": "20%", "leverage": "5x", "stop_loss_pct": "2",'
        ' "take_profit": [{"pct": 3, "close_pct": 33}, {"pct": 6, "close_pct": 33}, {"pct": "10%", "close_pct": 34},],'
        ' "justification": "trend"},\n "ETH": {"signal": "HOLD",},}\n```\nThat is all.'
    )
    d = parse(text)
    btc = d["BTC"]
    assert (btc.signal, btc.leverage, btc.confidence, btc.size_pct) == ("buy_to_enter", 5.0, 72.0, 20.0)
    assert btc.quantity == pytest.approx(0.20 * 10_000 * 5 / 100_000)  # margin = 20% of the account value
    assert btc.stop_loss == pytest.approx(98_000.0)
    assert [x for lv in btc.take_profit for x in lv] == pytest.approx([103_000.0, 0.33, 106_000.0, 0.33, 110_000.0, 0.34])
    assert btc.profit_target == pytest.approx(110_000.0)
    assert d["ETH"].signal == "hold" and d["ETH"].quantity is None


def test_a_short_is_levelled_below_the_price_and_ladder_forms_are_read():
    d = parse(json.dumps({"ETH": {"signal": "SHORT", "size_pct": 10, "leverage": 2, "stop_loss_pct": 1.5, "take_profit": [[2, 50], [4, 50]]}}))
    eth = d["ETH"]
    assert eth.signal == "sell_to_enter" and eth.stop_loss == pytest.approx(4_060.0)
    assert [x for lv in eth.take_profit for x in lv] == pytest.approx([3_920.0, 0.5, 3_840.0, 0.5])
    # bare percents, split evenly; unsorted levels come out nearest first; 0-1 shares read as fractions
    sol = parse(json.dumps({"SOL": {"signal": "buy", "size_pct": 5, "leverage": 1, "stop_loss_pct": 2, "take_profit": [6, 3, 9]}}))["SOL"]
    assert [round(p, 6) for p, _ in sol.take_profit] == [206.0, 212.0, 218.0]
    assert [f for _, f in sol.take_profit] == pytest.approx([1 / 3] * 3)
    frac = parse(json.dumps({"SOL": {"signal": "LONG", "size_pct": 5, "leverage": 1, "stop_loss_pct": 2,
                                     "take_profit": [{"pct": 3, "close_pct": 0.5}, {"pct": 6}]}}))["SOL"]
    assert [f for _, f in frac.take_profit] == pytest.approx([0.5, 0.5])


def test_one_take_profit_number_is_a_plain_target_and_percent_strings_in_price_fields_are_percents():
    d = parse(json.dumps({"BTC": {"signal": "LONG", "size_pct": 10, "leverage": 3, "stop_loss": "2%", "take_profit": 5}}))
    btc = d["BTC"]
    assert btc.take_profit is None and btc.profit_target == pytest.approx(105_000.0)
    assert btc.stop_loss == pytest.approx(98_000.0)


def test_an_alpha_arena_answer_still_trades_in_the_percent_format():
    """A baseline (a percent agent's fallback) answers with coins and prices: they are kept."""
    text = json.dumps({"BTC": {"signal": "buy_to_enter", "quantity": 0.01, "leverage": 5, "stop_loss": 98_000, "profit_target": 104_000}})
    btc = parse(text)["BTC"]
    assert (btc.quantity, btc.stop_loss, btc.profit_target, btc.take_profit) == (0.01, 98_000.0, 104_000.0, None)


def test_a_cut_off_answer_is_a_parse_error_with_one_sentence_and_the_entries_before_the_cut():
    text = '{"ETH": {"signal": "HOLD"}, "BTC": {"signal": "LONG", "size_pct": 20, "take_profit": [{"pct": 3, "clo'
    with pytest.raises(ParseError) as info:
        parse(text)
    assert "cut off" in info.value.reason and "." not in info.value.reason[-1:]
    assert set(info.value.partial) == {"ETH"} and isinstance(info.value.partial["ETH"], Decision)


@pytest.mark.parametrize("text", ["", "no json here", "{", '{"BTC": {"signal": "maybe"}}', "<think>hmm", '{"PEPE": {"signal": "LONG"}}'])
def test_unusable_answers_raise_parse_error_only(text):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.reason and "\n" not in info.value.reason


def test_coins_not_traded_are_kept_aside_and_a_coin_without_a_price_gets_no_numbers():
    d = parse_percent_decisions(json.dumps({"BTC": {"signal": "LONG", "size_pct": 10, "leverage": 2, "stop_loss_pct": 1, "take_profit": LADDER},
                                            "PEPE": {"signal": "LONG", "size_pct": 10}}), COINS, {"ETH": 4_000.0}, 10_000.0)
    assert d["BTC"].quantity is None and d["BTC"].stop_loss is None
    assert [name for name, _ in d.unknown] == ["PEPE"]
    result = validate(d, Ledger().snapshot(), PRICES)
    assert [r.rule for r in result.rejections] == ["positive_quantity", "unknown_coin"]


def test_an_unreadable_ladder_level_is_refused_by_the_ladder_rule_not_dropped():
    d = parse(json.dumps({"BTC": {"signal": "LONG", "size_pct": 10, "leverage": 2, "stop_loss_pct": 1,
                                  "take_profit": [{"pct": "soon", "close_pct": 50}, {"pct": 6, "close_pct": 50}]}}))
    (rej,) = validate(d, Ledger().snapshot(), PRICES).rejections
    assert rej.rule == "take_profit_ladder" and "level" in rej.reason


def test_the_alpha_arena_parser_is_unchanged_by_the_new_fields():
    d = parse_decisions(json.dumps({"BTC": {"signal": "buy_to_enter", "quantity": 0.1, "take_profit": 110_000}}), COINS)
    assert d["BTC"].profit_target == 110_000.0 and d["BTC"].take_profit is None and d["BTC"].size_pct is None


# -- the risk rules ---------------------------------------------------------------------------------


def entry(coin="BTC", side=1, **kw) -> Decision:
    p = PRICES[coin]
    base = dict(quantity=1_000.0 / p, leverage=10.0, stop_loss=p * (1 - side * 0.02), profit_target=p * (1 + side * 0.04), confidence=0.7)
    base.update(kw)
    return Decision(coin, "buy_to_enter" if side > 0 else "sell_to_enter", **base)


def test_the_new_rules_have_ids_and_sentences_in_check_order():
    ids = list(RULES)
    for rule in ("min_confidence", "take_profit_ladder", "max_position_pct", "max_correlated_positions", "daily_loss_limit"):
        assert rule in ids
    assert ids.index("confidence_range") < ids.index("min_confidence") < ids.index("stop_loss_required")
    assert ids.index("profit_target_side") < ids.index("take_profit_ladder") < ids.index("min_notional") < ids.index("max_position_pct")
    assert ids.index("max_open_positions") < ids.index("max_correlated_positions") < ids.index("margin_within_cash")


@pytest.mark.parametrize(
    "decision, limits, rule, words",
    [
        (entry(confidence=0.5), RiskLimits(min_confidence=60), "min_confidence", "has confidence 50%, below the 60% minimum"),
        (entry(confidence=None), RiskLimits(min_confidence=60), "min_confidence", "gave no confidence"),
        (entry(quantity=0.6, leverage=10.0), RiskLimits(max_position_pct=50), "max_position_pct", "60% of the $10,000.00 account value, above the 50% maximum"),
        (entry(take_profit=((103_000.0, 0.5), (102_000.0, 0.5))), RiskLimits(), "take_profit_ladder", "not farther from the entry than level 1"),
        (entry(take_profit=((99_000.0, 0.5), (106_000.0, 0.5))), RiskLimits(), "take_profit_ladder", "must be above the long's entry price"),
        (entry(take_profit=((103_000.0, 0.0), (106_000.0, 0.5))), RiskLimits(), "take_profit_ladder", "closes 0% of the position"),
        (entry(take_profit=tuple((100_000.0 + 1_000 * i, 0.1) for i in range(1, 7))), RiskLimits(), "take_profit_ladder", "6 levels; at most 5"),
    ],
)
def test_each_new_rule_refuses_with_its_id_and_numbers(decision, limits, rule, words):
    result = validate({decision.coin: decision}, Ledger().snapshot(), PRICES, limits)
    assert result.orders == ()
    (rej,) = result.rejections
    assert rej.rule == rule and words in rej.reason and rej.reason.endswith("."), rej.reason


def test_at_the_limits_entries_pass_and_carry_their_ladder():
    ok = entry(quantity=0.5, leverage=10.0, confidence=0.6, take_profit=((103_000.0, 0.33), (104_000.0, 0.67)))
    result = validate({"BTC": ok}, Ledger().snapshot(), PRICES, RiskLimits(min_confidence=60, max_position_pct=50))
    (order,) = result.orders
    assert order.take_profit == ((103_000.0, 0.33), (104_000.0, 0.67))


def test_correlated_positions_are_limited_per_side():
    led = Ledger()
    led.open("BTC", 1, 0.01, 100_000.0, 10.0, time=T0)
    led.open("SOL", -1, 5.0, 200.0, 10.0, time=T0)
    corr = {"ETH": {"BTC": 0.9, "SOL": 0.95}, "BTC": {"ETH": 0.9}, "SOL": {"ETH": 0.95}}
    limits = RiskLimits(max_correlated_positions=1, correlation_threshold=0.8)
    (rej,) = validate({"ETH": entry("ETH")}, led.snapshot(), PRICES, limits, correlations=corr).rejections
    assert rej.rule == "max_correlated_positions" and "BTC (0.90)" in rej.reason and "SOL" not in rej.reason
    # a short of ETH sits beside the short SOL (correlated): refused; below the threshold: accepted
    assert validate({"ETH": entry("ETH", -1)}, led.snapshot(), PRICES, limits, correlations=corr).rejections[0].rule == "max_correlated_positions"
    assert validate({"ETH": entry("ETH")}, led.snapshot(), PRICES, dataclasses.replace(limits, correlation_threshold=0.95), correlations=corr).orders
    # closing BTC in the same answer makes room
    res = validate({"BTC": Decision("BTC", "close"), "ETH": entry("ETH")}, led.snapshot(), PRICES, limits, correlations=corr)
    assert [o.action for o in res.orders] == ["close", "open"]


def test_return_correlations_are_deterministic_symmetric_and_bounded():
    rng = np.random.default_rng(7)
    base = np.cumprod(1 + rng.normal(0, 0.01, 60)) * 100
    closes = {"A": base.tolist(), "B": (base * (1 + rng.normal(0, 0.001, 60))).tolist(), "C": (1 / base).tolist(), "D": [5.0] * 60}
    c = return_correlations(closes, 48)
    assert c == return_correlations(dict(closes), 48)
    assert c["A"]["B"] == c["B"]["A"] and c["A"]["B"] > 0.9 and c["A"]["C"] < -0.9
    assert "D" not in c["A"] and c["D"] == {}  # a price that never moves correlates with nothing
    assert all(-1.0 <= v <= 1.0 for row in c.values() for v in row.values())


# -- the ledger ------------------------------------------------------------------------------------


def candles(rows, start=T0) -> Candles:
    arr = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    return Candles("5m", np.arange(n, dtype=np.int64) * 300_000 + start, *(arr[:, i].copy() for i in range(4)), np.ones(n))


def test_ladder_levels_close_parts_of_the_original_size_and_the_stop_takes_the_rest():
    led = Ledger(10_000.0, taker_fee_bp=4.5, slippage_bp=0.0)
    led.open("BTC", 1, 0.3, 100.0, 5.0, time=T0, stop_loss=97.0, profit_target=110.0, take_profit=[(103.0, 1 / 3), (106.0, 1 / 3), (110.0, 1 / 3)])
    margin0 = led.positions["BTC"].margin
    out = led.settle({"BTC": candles([(100, 103.5, 99.5, 103), (103, 104, 102, 103.5), (103.5, 103.6, 96.0, 96.5)])})
    reasons = [(t.exit_reason, round(t.quantity, 9), t.exit_reference_price) for t in out]
    assert reasons == [("take_profit_1", 0.1, 103.0), ("stop_loss", 0.2, 97.0)]
    assert "BTC" not in led.positions
    assert math.fsum(f.margin for f in led.fills if f.action == "close") == pytest.approx(margin0)


def test_levels_gapped_through_fill_at_the_open_and_the_last_closes_the_rest():
    led = Ledger(10_000.0, taker_fee_bp=0.0)
    led.open("ETH", -1, 1.0, 100.0, 2.0, time=T0, stop_loss=105.0, take_profit=[(98.0, 0.25), (95.0, 0.25), (90.0, 0.25)])
    out = led.settle({"ETH": candles([(99.5, 99.8, 97.5, 98.5), (94.0, 94.5, 93.0, 93.5)])})
    assert [(t.exit_reason, t.quantity, t.exit_reference_price) for t in out] == [("take_profit_1", 0.25, 98.0), ("take_profit_2", 0.25, 94.0)]
    pos = led.positions["ETH"]
    assert pos.quantity == pytest.approx(0.5) and [lv.level for lv in pos.take_profit] == [3]
    out = led.settle({"ETH": candles([(93.5, 93.6, 89.0, 89.5)], start=T0 + 600_000)})
    assert [(t.exit_reason, t.quantity) for t in out] == [("take_profit_3", 0.5)] and not led.positions


# -- the prompt and the config -----------------------------------------------------------------------


def test_the_percent_prompt_asks_for_the_format_and_its_example_parses():
    from arena_tui.engine.prompt import build_prompt

    cfg = load_config(None, environ={}, overrides={"market": {"start": "2025-10-21T12:00:00Z"}})
    market = build_market(cfg)
    snap = asyncio.run(market.snapshot())
    led = Ledger()
    p = build_prompt(snap, None, led.snapshot(), session_start=snap.time, invocation=1, decision_format="percent", max_position_pct=50)
    for words in ("size_pct", "stop_loss_pct", "close_pct", "at most 50% of the account value", '"signal": "LONG"'):
        assert words in p.system, words
    assert "size_pct is a percent of this value" in p.user
    example = p.system.split("```json\n", 1)[1].split("```", 1)[0]
    d = parse_percent_decisions(example, snap.coins, snap.prices(), led.snapshot().account_value)
    assert d[next(iter(snap.coins))].take_profit is not None and len(d[next(iter(snap.coins))].take_profit) == 3
    alpha = build_prompt(snap, None, led.snapshot(), session_start=snap.time, invocation=1)
    assert "size_pct" not in alpha.system and "buy_to_enter" in alpha.system


def test_the_agent_format_is_validated_and_round_trips():
    cfg = load_config(None, environ={})
    with_percent = dataclasses.replace(cfg, agents=(AgentConfig(name="P", kind="recorded", path="x.jsonl", format="percent"),))
    assert config_from_json(with_percent.to_json()).agents[0].format == "percent"
    bad = with_percent.to_json()
    bad["agents"][0]["format"] = "emoji"
    with pytest.raises(ConfigError, match="format 'emoji' is not one of alpha-arena, percent"):
        config_from_json(bad)


# -- a session: a scripted percent-format agent over the bundled market --------------------------------


class ScriptedPercent:
    """Goes long BTC once with a three-level ladder, then holds (and now and then answers in prose
    or cut off, which the percent parser refuses)."""

    kind = "llm"
    model = "scripted-percent"

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def decide(self, request, on_delta):
        self.calls += 1
        if self.calls == 1:
            text = "Trend up.\n```json\n" + json.dumps({"BTC": {
                "signal": "LONG", "confidence": 70, "size_pct": 20, "leverage": 5, "stop_loss_pct": 3,
                "take_profit": [{"pct": 0.3, "close_pct": 33}, {"pct": 0.6, "close_pct": 33}, {"pct": 1.0, "close_pct": 34}],
                "invalidation_condition": "4h close below 100,000", "justification": "pullback held"}}) + "\n```"
        elif self.calls % 9 == 0:
            text = '{"BTC": {"signal": "HOLD", "confidence": 5'
        else:
            text = json.dumps({c: {"signal": "HOLD"} for c in request.market.coins})
        on_delta("answer", text)
        return AgentReply(text=text, latency_s=0.1)


CYCLES = 40


@pytest.fixture(scope="module")
def session_path(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("percent")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-21T12:00:00Z"}, "arena": {"sessions_dir": str(tmp)}})
    cfg = dataclasses.replace(cfg, agents=(*cfg.agents, AgentConfig(name="Percent", kind="recorded", path="scripted.jsonl", format="percent")))
    from arena_tui.engine.factory import build_agent

    agents = [build_agent(a, cfg) for a in cfg.agents if a.name != "Percent"] + [ScriptedPercent("Percent")]
    path = tmp / "percent.jsonl"
    asyncio.run(ArenaSession(cfg, build_market(cfg), agents, journal_path=path, max_cycles=CYCLES, pace=0).run(lambda e: None))
    return path


def test_the_ladder_levels_are_hit_on_later_candles(session_path):
    events = read_journal(session_path).events
    opened = [e for e in events if isinstance(e, ev.OrderFilled) and e.agent == "Percent"]
    assert len(opened) == 1 and opened[0].cycle == 1
    parsed = next(e for e in events if isinstance(e, ev.DecisionParsed) and e.agent == "Percent")
    assert parsed.decisions[0]["size_pct"] == 20 and len(parsed.decisions[0]["take_profit"]) == 3
    closes = [e for e in events if isinstance(e, ev.PositionClosed) and e.agent == "Percent"]
    assert [c.reason for c in closes] == ["take_profit_1", "take_profit_2", "take_profit_3"]
    assert all(c.cycle > 1 for c in closes)
    assert closes[0].quantity == pytest.approx(0.33 * opened[0].quantity)
    assert math.fsum(c.quantity for c in closes) == pytest.approx(opened[0].quantity)
    assert all(c.realized_pnl > 0 for c in closes)
    assert opened[0].margin <= 0.5 * 10_000 * 1.001  # within max_position_pct
    assert any(isinstance(e, ev.AgentFailed) and e.agent == "Percent" and e.kind == "parse" for e in events)


def test_the_fold_keeps_the_invalidation_through_partial_closes(session_path):
    """A take-profit rung closes part of the position: the position, and its invalidation condition,
    stay until the last rung closes the rest (as in the ledger)."""
    contents = read_journal(session_path)
    state = ArenaState(contents.header)
    seen = []
    for e in contents.events:
        state.apply(e)
        if isinstance(e, ev.PositionClosed) and e.agent == "Percent":
            seen.append((e.reason, state.agents["Percent"].invalidations.get("BTC")))
    assert seen == [("take_profit_1", "4h close below 100,000"), ("take_profit_2", "4h close below 100,000"), ("take_profit_3", None)]


def test_the_fold_follows_the_ladder_between_account_updates(session_path):
    """Each rung's partial close leaves the rest of the position in the fold at once, as the ledger
    has it when the account update comes."""
    from test_fold_positions import fold_against_updates

    compared, changed, differences = fold_against_updates(session_path)
    assert differences == [] and changed >= 3


def test_the_percent_session_verifies_by_re_execution(session_path):
    result = asyncio.run(reexecute(session_path))
    assert result.difference is None and result.cycles == CYCLES


def test_an_edited_ladder_exit_is_caught(session_path, tmp_path):
    lines = session_path.read_text().splitlines(keepends=True)
    i = next(i for i, l in enumerate(lines) if '"take_profit_2"' in l)
    assert '"reason":"take_profit_2"' in lines[i]
    for old, new in (('"reason":"take_profit_2"', '"reason":"take_profit_3"'),):
        edited = tmp_path / "edited.jsonl"
        edited.write_text("".join(lines[:i] + [lines[i].replace(old, new)] + lines[i + 1:]))
        result = asyncio.run(reexecute(edited))
        assert result.difference is not None, old


def test_the_leaderboard_and_the_fold_agree(session_path):
    contents = read_journal(session_path)
    state = ArenaState(contents.header)
    for e in contents.events:
        state.apply(e)
    last = [e for e in contents.events if isinstance(e, ev.CycleCompleted)][-1]
    row = next(r for r in last.leaderboard if r.agent == "Percent")
    book = state.agents["Percent"]
    assert row.trades == len(book.trades) == 3
    assert row.account_value == pytest.approx(book.account_value)
    assert row.fees == pytest.approx(book.fees_paid if hasattr(book, "fees_paid") else row.fees)
