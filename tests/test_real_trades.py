"""The ledger against 230 real completed Alpha Arena Season 1 trades (Hyperliquid, Oct 17 -> Oct 26 2025).

Data: ``tests/data/alpha_arena_trades_2025-10-26.json.gz``, nof1.ai's public trades endpoint as pulled on
2025-10-26 (see ``/work/shared/data/README.md``), unedited. Each trade is opened at its entry price and
closed at its exit price, whole size, no slippage. The API reports a short's quantity as a negative
number; the ledger takes ``abs(quantity)`` and ``side`` -1.

What the data shows (and these tests pin down):
- realized gross PnL: all 230 to the cent (in fact to 1e-9 USD).
- fee tiers: every model paid 4.5 bp taker / 1.5 bp maker until 2025-10-22 00:00 UTC and 4.0 / 1.2 bp
  after (one volume-tier change, the same moment for all six accounts). With that tier every entry fee
  (230/230, all taker) matches to the cent, and so do 227 of 230 exit fees: 184 taker exits
  (``exit_crossed``) and 43 of the 46 maker exits. The other 3 maker exits were charged a blended rate
  (1.92, 3.07 and 1.87 bp): split fills, part maker and part taker.
- net PnL (gross - fees; Hyperliquid's closedPnl leaves funding out): 133 of 230 to the cent. In the
  other 94 with matching fees the data disagrees with itself: its ``realized_net_pnl`` (the sum of
  Hyperliquid's per-fill closedPnl) is not its own gross minus its own fees, because an exit swept
  several price levels and ``exit_price`` is one fill's price (or, for two qwen3-max ETH trades, one
  exit closed two entries and Hyperliquid used their average entry). The ledger reproduces the
  recorded gross exactly in all of them. The last 3 are the blended-fee exits.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from arena_tui.engine.account import Trade
from arena_tui.engine.ledger import Ledger


TEST_DATA = Path(__file__).resolve().parent / "data"
TIER_SWITCH = datetime(2025, 10, 22, tzinfo=timezone.utc).timestamp()  # seconds, 00:00 UTC
CENT = 0.005  # "to the cent": within half a cent


@pytest.fixture(scope="module")
def trades() -> list[dict]:
    with gzip.open(TEST_DATA / "alpha_arena_trades_2025-10-26.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)["trades"]


def replay(t: dict, *, taker_fee_bp: float, maker_fee_bp: float, exit_liquidity: str) -> Trade:
    """One real trade through a fresh ledger: open at entry price, close at exit price."""
    ledger = Ledger(1e9, taker_fee_bp=taker_fee_bp, maker_fee_bp=maker_fee_bp, slippage_bp=0.0)
    side = 1 if t["side"] == "long" else -1
    ledger.open(t["symbol"], side, abs(t["quantity"]), t["entry_price"], 10.0, time=int(t["entry_time"] * 1000))
    return ledger.close(t["symbol"], t["exit_price"], time=int(t["exit_time"] * 1000), liquidity=exit_liquidity)


def tiers(at_seconds: float) -> tuple[float, float]:
    """(taker, maker) bp in force at a time (seconds)."""
    return (4.5, 1.5) if at_seconds < TIER_SWITCH else (4.0, 1.2)


def replay_at_tier(t: dict) -> Trade:
    """Replay with the tier in force at each leg, the exit as taker or maker as recorded."""
    taker_in, _ = tiers(t["entry_time"])
    taker_out, maker_out = tiers(t["exit_time"])
    ledger = Ledger(1e9, taker_fee_bp=taker_in, maker_fee_bp=1.5, slippage_bp=0.0)
    side = 1 if t["side"] == "long" else -1
    ledger.open(t["symbol"], side, abs(t["quantity"]), t["entry_price"], 10.0, time=int(t["entry_time"] * 1000))
    ledger.taker_fee_bp, ledger.maker_fee_bp = taker_out, maker_out
    return ledger.close(
        t["symbol"], t["exit_price"], time=int(t["exit_time"] * 1000),
        liquidity="taker" if t["exit_crossed"] else "maker",
    )


def test_the_file_holds_230_trades_with_negative_short_quantities(trades):
    assert len(trades) == 230
    assert Counter(t["side"] for t in trades) == {"long": 131, "short": 99}
    assert all((t["quantity"] < 0) == (t["side"] == "short") for t in trades)
    assert all(abs(t["quantity"]) == t["entry_sz"] == t["exit_sz"] for t in trades)
    assert all(t["entry_crossed"] for t in trades)  # every entry was a taker fill
    assert sum(1 for t in trades if not t["exit_crossed"]) == 46  # maker exits


def test_realized_gross_pnl_matches_every_trade_to_the_cent(trades):
    misses = []
    for t in trades:
        got = replay(t, taker_fee_bp=4.5, maker_fee_bp=1.5, exit_liquidity="taker")
        assert got.side == (1 if t["side"] == "long" else -1)
        if abs(got.realized_pnl - t["realized_gross_pnl"]) >= CENT:
            misses.append((t["trade_id"], got.realized_pnl, t["realized_gross_pnl"]))
    assert misses == []
    exact = sum(
        1
        for t in trades
        if abs(replay(t, taker_fee_bp=4.5, maker_fee_bp=1.5, exit_liquidity="taker").realized_pnl - t["realized_gross_pnl"]) < 1e-9
    )
    assert exact == 230


def test_entry_fees_match_the_45_or_40_bp_taker_tier(trades):
    tier_counts: Counter = Counter()
    for t in trades:
        matched = tuple(
            bp
            for bp in (4.5, 4.0)
            if abs(replay(t, taker_fee_bp=bp, maker_fee_bp=1.5, exit_liquidity="taker").entry_fee - t["entry_commission_dollars"]) < CENT
        )
        tier_counts[matched] += 1
    # one tiny trade ($11 notional) matches both tiers to the cent
    assert tier_counts == {(4.5,): 134, (4.0,): 95, (4.5, 4.0): 1}


def test_exit_fees_taker_exits_match_taker_tiers_and_maker_exits_do_not(trades):
    counts: Counter = Counter()
    blended = []
    for t in trades:
        fee = t["exit_commission_dollars"]
        taker = tuple(
            bp
            for bp in (4.5, 4.0)
            if abs(replay(t, taker_fee_bp=bp, maker_fee_bp=1.5, exit_liquidity="taker").exit_fee - fee) < CENT
        )
        maker = tuple(
            bp
            for bp in (1.5, 1.2)
            if abs(replay(t, taker_fee_bp=4.5, maker_fee_bp=bp, exit_liquidity="maker").exit_fee - fee) < CENT
        )
        counts[("taker" if t["exit_crossed"] else "maker", bool(taker), bool(maker))] += 1
        if not taker and not maker:
            blended.append((t["model_id"], t["symbol"], round(fee / (abs(t["quantity"]) * t["exit_price"]) * 1e4, 2)))
    assert counts == {
        ("taker", True, False): 183,
        ("taker", True, True): 1,  # the same $11 trade
        ("maker", False, True): 43,
        ("maker", False, False): 3,
    }
    assert sorted(blended) == [
        ("deepseek-chat-v3.1", "BNB", 3.07),
        ("grok-4", "BNB", 1.92),
        ("qwen3-max", "ETH", 1.87),
    ]


def test_every_model_changes_fee_tier_once_at_2025_10_22_midnight_utc(trades):
    """The lower tier never appears before the switch and the higher never after, for all six models."""
    by_model: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for t in trades:
        q = abs(t["quantity"])
        for leg in ("entry", "exit"):
            notional = q * t[f"{leg}_price"]
            hi, lo = (4.5, 4.0) if t[f"{leg}_crossed"] else (1.5, 1.2)
            fee = t[f"{leg}_commission_dollars"]
            at_hi = abs(notional * hi / 1e4 - fee) < CENT
            at_lo = abs(notional * lo / 1e4 - fee) < CENT
            if at_hi != at_lo:
                by_model[t["model_id"]].append((t[f"{leg}_time"], "hi" if at_hi else "lo"))
    assert len(by_model) == 6
    for model, legs in by_model.items():
        assert all(tier == "hi" for when, tier in legs if when < TIER_SWITCH), model
        assert all(tier == "lo" for when, tier in legs if when >= TIER_SWITCH), model


def test_fees_and_net_pnl_at_the_tier_in_force(trades):
    counts: Counter = Counter()
    for t in trades:
        got = replay_at_tier(t)
        entry_ok = abs(got.entry_fee - t["entry_commission_dollars"]) < CENT
        exit_ok = abs(got.exit_fee - t["exit_commission_dollars"]) < CENT
        net_ok = abs(got.net_pnl - t["realized_net_pnl"]) < CENT
        # does the data's net equal its own gross minus its own fees?
        data_consistent = abs(t["realized_gross_pnl"] - t["total_commission_dollars"] - t["realized_net_pnl"]) < CENT
        counts[(entry_ok, exit_ok, net_ok, data_consistent)] += 1
        assert got.funding_paid == 0.0
        assert got.net_pnl == got.realized_pnl - got.entry_fee - got.exit_fee
    assert counts == {
        (True, True, True, True): 133,  # fees and net to the cent
        (True, True, False, False): 94,  # recorded net != recorded gross - recorded fees (multi-fill exits)
        (True, False, False, True): 1,  # a blended-fee maker exit
        (True, False, False, False): 2,  # blended-fee maker exits that are also multi-fill exits
    }


def test_the_season1_preset_fee_schedule_gives_the_same_figures(trades):
    """The same 230 trades through ledgers configured as the Season 1 preset configures them
    (``[[fees.schedule]]``: 4.5/1.5 bp, then 4.0/1.2 bp from 2025-10-22 00:00 UTC), each fill paying the
    tier in force at its own time: every figure equals the per-trade tier replay above."""
    from arena_tui import season1
    from arena_tui.engine.arena import make_ledger

    config = season1.preset_config()
    for t in trades:
        ledger = make_ledger(config)
        ledger.cash = 1e9
        side = 1 if t["side"] == "long" else -1
        ledger.open(t["symbol"], side, abs(t["quantity"]), t["entry_price"], 10.0, time=int(t["entry_time"] * 1000))
        liquidity = "taker" if t["exit_crossed"] else "maker"
        got = ledger.close(t["symbol"], t["exit_price"], time=int(t["exit_time"] * 1000), liquidity=liquidity)
        want = replay_at_tier(t)
        assert (got.entry_fee, got.exit_fee, got.realized_pnl, got.net_pnl) == (want.entry_fee, want.exit_fee, want.realized_pnl, want.net_pnl)
