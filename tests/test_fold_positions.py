"""The fold's open positions between a cycle's fills and its ``AccountUpdated``s: a position shows as
soon as its agent trades (the screen draws the positions table from the fold), and when the
agent's account update comes it lists exactly what the fold already had."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from arena_tui.engine import events as ev
from arena_tui.engine.journal import open_journal
from arena_tui.engine.state import ArenaState

SESSIONS = Path(__file__).resolve().parents[1] / "sessions"


def fold_against_updates(path: Path) -> tuple[int, int, list]:
    """Fold the journal at ``path``; before each ``AccountUpdated`` is applied, compare the agent's
    positions in the fold (coin, side, quantity, entry price) with the ones the update lists.
    Returns (updates compared, updates whose positions changed since the agent's last one, the
    differences)."""
    compared = changed = 0
    differences = []
    last: dict[str, list] = {}
    with open_journal(path) as stream:
        state = ArenaState(stream.header)
        for e in stream:
            if isinstance(e, ev.AccountUpdated) and e.agent in state.agents:
                have = sorted((p.coin, p.side, p.quantity, p.entry_price) for p in state.agents[e.agent].positions)
                want = sorted((p.coin, p.side, p.quantity, p.entry_price) for p in e.positions)
                same = len(have) == len(want) and all(
                    a[:2] == b[:2] and math.isclose(a[2], b[2], rel_tol=1e-9) and math.isclose(a[3], b[3], rel_tol=1e-9)
                    for a, b in zip(have, want)
                )
                compared += 1
                changed += want != last.get(e.agent, [])
                last[e.agent] = want
                if not same:
                    differences.append((e.cycle, e.agent, have, want))
            state.apply(e)
    return compared, changed, differences


@pytest.mark.parametrize("name", ["demo.jsonl", "alpha-arena-2025-10-28.jsonl"])
def test_the_fold_has_each_position_before_the_account_update_lists_it(name):
    compared, changed, differences = fold_against_updates(SESSIONS / name)
    assert differences == []
    assert compared > 100 and changed >= 5  # (positions opened and closed in between)


def _header() -> ev.SessionStarted:
    return ev.SessionStarted(0, 0, "s", "recorded", "test", ("BTC", "ETH"), ({"name": "A", "kind": "rule-based", "model": ""},), 10_000.0, 300_000, {})


def _fill(qty: float, price: float, side: int = 1, coin: str = "BTC", **kw) -> ev.OrderFilled:
    return ev.OrderFilled(1, 0, "A", coin, "open", side, qty, price, price - 1.0, qty * price, 0.1, 5.0, qty * price / 5, **kw)


def _close(qty: float, side: int = 1, coin: str = "BTC") -> ev.PositionClosed:
    import dataclasses

    fields = {f.name: 0.0 for f in dataclasses.fields(ev.PositionClosed) if f.name not in ("cycle", "time")}
    fields.update(agent="A", coin=coin, side=side, quantity=qty, leverage=5.0, entry_time=0, reason="take_profit")
    return ev.PositionClosed(1, 0, **{k: v for k, v in fields.items() if k in {f.name for f in dataclasses.fields(ev.PositionClosed)}})


def test_adding_averages_the_entry_and_a_partial_close_keeps_the_rest():
    state = ArenaState(_header())
    state.apply(_fill(1.0, 100.0, stop_loss=90.0, profit_target=120.0))
    (p,) = state.agents["A"].positions
    assert (p.coin, p.side, p.quantity, p.entry_price, p.mark_price, p.stop_loss, p.profit_target) == ("BTC", 1, 1.0, 100.0, 99.0, 90.0, 120.0)
    assert p.unrealized_pnl == -1.0 and p.liquidation_price == 0.0  # (the ledger's liquidation price comes with the account update)
    state.apply(_fill(3.0, 200.0))
    (p,) = state.agents["A"].positions
    assert p.quantity == 4.0 and p.entry_price == 175.0 and p.stop_loss == 90.0  # the plan stays when the add has none
    state.apply(_fill(2.0, 50.0, side=-1, coin="ETH"))
    state.apply(_close(1.0))
    btc, eth = state.agents["A"].positions
    assert btc.quantity == 3.0 and eth.coin == "ETH" and eth.side == -1
    state.apply(_close(3.0))
    assert [p.coin for p in state.agents["A"].positions] == ["ETH"]


@pytest.mark.parametrize("qty, close", [(0.0, 1.0), (-1.0, -2.0), (1e308, 1e308), (1.0, -1.0), (0.0, 0.0)])
def test_odd_figures_in_a_journal_never_raise_out_of_the_fold(qty, close):
    state = ArenaState(_header())
    state.apply(_fill(qty, 100.0))
    state.apply(_fill(qty, 1e308))
    state.apply(_close(close))
    state.apply(_close(close))
    assert all(p.coin == "BTC" for p in state.agents["A"].positions)
