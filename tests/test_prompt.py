"""The prompt: Alpha Arena layout, golden rendering of a real snapshot, templates and their errors.

Golden files: ``tests/golden/prompt_system.txt`` and ``prompt_user.txt`` hold the prompts rendered
from the bundled Binance market at 2025-10-28 06:15 UTC with a fixed account holding one ETH long.
After a deliberate change of the layout, regenerate them with
``ARENA_UPDATE_GOLDEN=1 pytest tests/test_prompt.py -k golden`` and review the diff.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest

from arena_tui.engine.account import AccountSnapshot, Position
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.indicators import compute_features
from arena_tui.engine.market.base import CoinSnapshot, MarketSnapshot
from arena_tui.engine.market.recorded import RecordedMarket, parse_time
from arena_tui.engine.parse import parse_decisions
from arena_tui.engine.prompt import (
    COIN_FIELDS,
    SYSTEM_FIELDS,
    USER_FIELDS,
    PromptTemplates,
    build_prompt,
    format_number,
    price_decimals,
    timeframe_words,
)

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
PROMPTS = HERE / "data" / "alpha_arena_prompts.jsonl.gz"
T = "2025-10-28T06:15:00Z"
SESSION_START = parse_time("2025-10-22T13:05:00Z")  # Alpha Arena's run 20251022130523


def golden_market():
    m = RecordedMarket(start=T)
    snap = m.snapshot_at(m.now)
    return snap, compute_features(snap)


def golden_account(snap: MarketSnapshot) -> AccountSnapshot:
    """One open ETH long with an exit plan, like the positions of the real prompts."""
    mark = snap.coins["ETH"].price
    pos = Position(
        coin="ETH", side=1, quantity=1.26, entry_price=3965.2, leverage=10.0, margin=499.62,
        entry_time=parse_time("2025-10-27T10:00:00Z"), entry_fee=2.25, liquidation_price=3647.82,
        mark_price=mark, unrealized_pnl=1.26 * (mark - 3965.2), stop_loss=3766.76, profit_target=4361.33,
        invalidation_condition="If 4-hour MACD crosses below -30", confidence=0.65, risk_usd=250.0,
    )
    cash = 9_400.0
    return AccountSnapshot(10_000.0, cash, cash + pos.margin + pos.unrealized_pnl, (pos,), 0.0, pos.unrealized_pnl, 2.25, 0.0)


def render(**kwargs):
    snap, feats = golden_market()
    args = dict(session_start=SESSION_START, invocation=42, sharpe_ratio=0.048)
    args.update(kwargs)
    return build_prompt(snap, feats, golden_account(snap), **args)


def real_prompt(i: int = 0) -> str:
    with gzip.open(PROMPTS, "rt", encoding="utf-8") as fh:
        for k, line in enumerate(fh):
            if k == i:
                return json.loads(line)["user_prompt"]
    raise IndexError(i)


@pytest.mark.parametrize("part", ["system", "user"])
def test_golden(part):
    """The rendered prompt is byte for byte the reviewed golden file."""
    text = getattr(render(), part)
    path = GOLDEN / f"prompt_{part}.txt"
    if os.environ.get("ARENA_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.read_bytes().decode("utf-8") == text


# the Alpha Arena skeleton, in order: (pattern in the real prompt, pattern in ours)
SKELETON = [
    r"It has been \d+ minutes since you started trading\. The current time is .+ and you've been invoked \d+ times\.",
    r"\*\*ALL OF THE PRICE OR SIGNAL DATA BELOW IS ORDERED: OLDEST → NEWEST\*\*",
    r"### CURRENT MARKET STATE FOR ALL COINS",
]
COIN_SKELETON = [
    r"### ALL {c} DATA",
    r"current_price = [-\d.]+, current_ema20 = [-\d.]+, current_macd = [-\d.]+, current_rsi \(7 period\) = [\d.]+",
    r"here is the latest {c} open interest and funding rate for perps",
    r"Open Interest: ",
    r"Funding Rate: ",
    r"\*\*Intraday series \(.+\):\*\*",
    r"prices: \[([-\d.]+, ){{9}}[-\d.]+\]",
    r"EMA indicators \(20.period\): \[([-\d.]+, ){{9}}[-\d.]+\]",
    r"MACD indicators: \[([-\d.]+, ){{9}}[-\d.]+\]",
    r"RSI indicators \(7.Period\): \[([\d.]+, ){{9}}[\d.]+\]",
    r"RSI indicators \(14.Period\): \[([\d.]+, ){{9}}[\d.]+\]",
    r"\*\*Longer.term context \(4.hour timeframe\):\*\*",
    r"20.Period EMA: [-\d.]+ vs\. 50.Period EMA: [-\d.]+",
    r"3.Period ATR: [\d.]+ vs\. 14.Period ATR: [\d.]+",
    r"Current Volume: [\d.]+ vs\. Average Volume: [\d.]+",
    r"MACD indicators: \[([-\d.]+, ){{9}}[-\d.]+\]",
    r"RSI indicators \(14.Period\): \[([\d.]+, ){{9}}[\d.]+\]",
]
ACCOUNT_SKELETON = [
    r"### HERE IS YOUR ACCOUNT INFORMATION & PERFORMANCE",
    r"Current Total Return \(percent\): -?[\d.]+%",
    r"Available Cash: [\d.]+",
    r"\*\*Current Account Value:\*\* [\d.]+",
    r"Current live positions & performance:",
    r"'?\"?symbol'?\"?: '?\"?ETH",
    r"'?\"?exit_plan'?\"?: \{.*'?\"?profit_target'?\"?: [\d.]+.*'?\"?stop_loss'?\"?: [\d.]+.*invalidation_condition",
    r"Sharpe Ratio: ",
]


def skeleton(coins):
    pats = list(SKELETON)
    for c in coins:
        pats += [p.format(c=c) for p in COIN_SKELETON]
    return pats + ACCOUNT_SKELETON


@pytest.mark.parametrize("which", ["real", "ours"])
def test_layout_follows_alpha_arena(which):
    """The same sections, lines and series, in the same order, in a real prompt and in ours."""
    text = real_prompt(0) if which == "real" else render().user
    pos = 0
    for pat in skeleton(["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"]):
        m = re.compile(pat).search(text, pos)
        assert m, f"{which}: {pat!r} not found after offset {pos}"
        pos = m.end()


def test_numbers_are_the_features():
    """Current values and series are the intraday/context features of the snapshot, oldest first."""
    snap, feats = golden_market()
    user = render().user
    for coin in snap.coins:
        d = price_decimals(snap.coins[coin].price)
        fi, fc = feats[coin]["5m"], feats[coin]["4h"]
        block = user[user.index(f"### ALL {coin} DATA"):]
        block = block[: block.index("RSI indicators (14-Period)", block.index("Longer-term")) + 200]
        assert f"current_price = {format_number(snap.coins[coin].price, d)}," in block
        assert f"current_ema20 = {format_number(fi.last('ema20'), d)}," in block
        assert f"current_rsi (7 period) = {format_number(fi.last('rsi7'), 3)}" in block
        series = "[" + ", ".join(format_number(v, d) for v in fi.close[-10:]) + "]"
        assert f"{coin} prices: {series}" in block
        assert series.endswith(f"{format_number(snap.coins[coin].price, d)}]")  # newest last
        rsi14 = "[" + ", ".join(format_number(v, 3) for v in fc.rsi14[-10:]) + "]"
        assert f"RSI indicators (14-Period): {rsi14}" in block
        assert f"20-Period EMA: {format_number(fc.last('ema20'), d)} vs. 50-Period EMA: {format_number(fc.last('ema50'), d)}" in block
        assert f"3-Period ATR: {format_number(fc.last('atr3'), d)} vs. 14-Period ATR: {format_number(fc.last('atr14'), d)}" in block
        assert f"Current Volume: {format_number(fc.volume[-1], 3)} vs. Average Volume: {format_number(fc.last('volume_avg'), 3)}" in block


def test_header_account_and_positions():
    snap, _ = golden_market()
    r = render()
    minutes = (snap.time - SESSION_START) // 60_000
    assert r.user.startswith(
        f"It has been {minutes} minutes since you started trading. The current time is 2025-10-28 06:15:00 UTC "
        "and you've been invoked 42 times."
    )
    assert "Intraday series are provided at **5-minute intervals**" in r.user
    acct = golden_account(snap)
    assert f"Current Total Return (percent): {acct.return_pct:.2f}%" in r.user
    assert "Available Cash: 9400.00" in r.user
    assert f"**Current Account Value:** {acct.account_value:.2f}" in r.user
    line = next(x for x in r.user.splitlines() if x.startswith('{"symbol"'))
    pos = json.loads(line)
    assert pos["symbol"] == "ETH" and pos["side"] == "long" and pos["quantity"] == 1.26 and pos["leverage"] == 10
    assert pos["exit_plan"] == {"profit_target": 4361.33, "stop_loss": 3766.76, "invalidation_condition": "If 4-hour MACD crosses below -30"}
    assert pos["current_price"] == snap.coins["ETH"].price
    assert r.user.rstrip().endswith("Sharpe Ratio: 0.048")
    assert "Sharpe Ratio: n/a" in render(sharpe_ratio=None).user


def test_no_positions_and_no_open_interest_or_funding():
    snap, feats = golden_market()
    flat = AccountSnapshot(10_000.0, 10_000.0, 10_000.0, (), 0.0, 0.0, 0.0, 0.0)
    user = build_prompt(snap, feats, flat, session_start=snap.time, invocation=1).user
    assert "Current live positions & performance: none" in user
    assert "It has been 0 minutes" in user and "invoked 1 times" in user
    # the recording has no open interest: said so, never invented
    assert user.count("Open Interest: unavailable (this market source has no open-interest data)") == 6
    assert "Funding Rate: " in user and "per 8-hour funding interval" in user
    # a source that has OI prints it; one without funding says so
    coins = dict(snap.coins)
    btc = coins["BTC"]
    coins["BTC"] = CoinSnapshot("BTC", btc.candles, type(btc.funding)(btc.funding.ts[:0], btc.funding.rate[:0], btc.funding.interval_ms), 30012.47)
    snap2 = MarketSnapshot(snap.time, coins, "test", snap.timeframes)
    user2 = build_prompt(snap2, feats, flat, session_start=snap.time, invocation=1).user
    btc_block = user2[: user2.index("### ALL ETH DATA")]
    assert "Open Interest: Latest: 30012.47" in btc_block and "Funding Rate: unavailable" in btc_block


def test_features_computed_when_not_given():
    snap, feats = golden_market()
    acct = golden_account(snap)
    a = build_prompt(snap, feats, acct, session_start=SESSION_START, invocation=3)
    b = build_prompt(snap, None, acct, session_start=SESSION_START, invocation=3)
    assert a == b


def test_warm_up_values_are_not_available():
    m = RecordedMarket(start=T, lookback={"4h": 30})
    snap = m.snapshot_at(m.now)
    user = build_prompt(snap, compute_features(snap), golden_account(snap), session_start=SESSION_START, invocation=1).user
    assert "50-Period EMA: n/a" in user  # 30 closed 4h candles cannot give an EMA50
    assert re.search(r"\bnan\b", user, re.IGNORECASE) is None


def test_missing_timeframe_is_a_config_error():
    snap, feats = golden_market()
    with pytest.raises(ConfigError, match="no 1h candles for BTC.*add '1h'"):
        build_prompt(snap, feats, golden_account(snap), session_start=SESSION_START, invocation=1, context_tf="1h")
    with pytest.raises(ConfigError, match="unknown timeframe '7x'"):
        build_prompt(snap, feats, golden_account(snap), session_start=SESSION_START, invocation=1, intraday_tf="7x")


def test_system_prompt_states_rules_and_format():
    s = render().system
    for word in ("buy_to_enter", "sell_to_enter", "hold", "close", "perpetual futures", "1x to 20x", "stop_loss",
                 "profit_target", "invalidation_condition", "confidence", "risk_usd", "justification", "quantity",
                 "leverage", "only hold or close", "One position per coin", "OLDEST -> NEWEST", "$10,000"):
        assert word in s, word
    assert "$" not in s.replace("$10,000", "").replace("no $ signs", "")  # no unfilled field
    # the example answer is valid JSON in the decision format, and the engine's parser reads it
    example = s[s.index("```json") + len("```json"): s.index("```", s.index("```json") + 7)]
    decisions = parse_decisions(example)
    assert decisions["BTC"].signal == "buy_to_enter" and decisions["BTC"].stop_loss == 95.0
    assert decisions["ETH"].signal == "hold"
    assert "1x to 10x" in render(max_leverage=10).system and "1x to 20x" not in render(max_leverage=10).system


def test_user_templates_replace_the_bundled_ones(tmp_path):
    sys_t = tmp_path / "sys.md"
    sys_t.write_text("Trade $coins with up to ${max_leverage}x. Costs $$0.", encoding="utf-8")
    user_t = tmp_path / "user.md"
    user_t.write_text("t=$current_time n=$invocation\n$market_data\ncash=$available_cash pos=$positions", encoding="utf-8")
    coin_t = tmp_path / "coin.md"
    coin_t.write_text("$coin $current_price $context_ema20", encoding="utf-8")
    tpl = PromptTemplates.load(sys_t, user_t, coin_t)
    r = render(templates=tpl)
    assert r.system == "Trade BTC, ETH, SOL, BNB, XRP, DOGE with up to 20x. Costs $0."
    assert r.user.startswith("t=2025-10-28 06:15:00 UTC n=42\nBTC 113754.7 113219.342\n\n---\n\nETH ")
    assert "cash=9400.00 pos=\n{\"symbol\": \"ETH\"" in r.user
    # only the user template replaced: the others stay bundled; "" means bundled too
    only_user = PromptTemplates.load("", str(user_t))
    assert only_user.system.template == PromptTemplates.load().system.template
    assert "### ALL BTC DATA" in render(templates=only_user).user


def test_template_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.md"
    with pytest.raises(ConfigError, match=rf"prompt template {re.escape(str(missing))} cannot be read \(it does not exist\).*user_prompt"):
        PromptTemplates.load(user_path=missing)
    with pytest.raises(ConfigError, match=r"cannot be read \(it is a directory\)"):
        PromptTemplates.load(system_path=tmp_path)
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="not UTF-8"):
        PromptTemplates.load(user_path=binary)
    unknown = tmp_path / "unknown.md"
    unknown.write_text("Hello $nickname", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(unknown))} uses unknown field \$nickname"):
        PromptTemplates.load(user_path=unknown)
    stray = tmp_path / "stray.md"
    stray.write_text("Costs $5 a trade", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"stray.md has a '\$' that is not a field.*\$\$"):
        PromptTemplates.load(system_path=stray)
    # a coin field is not a user field
    wrong = tmp_path / "wrong.md"
    wrong.write_text("$current_price", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown field"):
        PromptTemplates.load(user_path=wrong)


def test_bundled_templates_use_only_documented_fields():
    tpl = PromptTemplates.load()
    assert set(tpl.system.get_identifiers()) <= set(SYSTEM_FIELDS)
    assert set(tpl.user.get_identifiers()) <= set(USER_FIELDS)
    assert set(tpl.coin.get_identifiers()) <= set(COIN_FIELDS)
    assert {"market_data", "positions", "sharpe_ratio"} <= set(tpl.user.get_identifiers())


@pytest.mark.parametrize(
    "value, decimals, text",
    [(113808.5, 3, "113808.5"), (0.0, 3, "0.0"), (-0.0000001, 3, "0.0"), (2.0, 5, "2.0"), (-33.8331, 3, "-33.833"),
     (float("nan"), 3, "n/a"), (None, 3, "n/a"), (float("inf"), 2, "n/a"), (0.19864, 6, "0.19864")],
)
def test_format_number(value, decimals, text):
    assert format_number(value, decimals) == text


def test_price_decimals_and_timeframe_words():
    assert [price_decimals(p) for p in (113808.5, 4077.3, 199.2, 2.62, 0.1986)] == [3, 3, 3, 5, 6]
    assert price_decimals(float("nan")) == 3 and price_decimals(0.0) == 3
    assert [timeframe_words(t) for t in ("3m", "5m", "4h", "1d", "odd")] == ["3-minute", "5-minute", "4-hour", "1-day", "odd"]
