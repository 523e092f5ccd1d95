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


def _row(p: ev.PositionRow) -> tuple:
    return (p.coin, p.quantity, p.entry_price, p.leverage, p.side, p.stop_loss, p.profit_target)


def fold_against_updates(path: Path) -> tuple[int, int, list]:
    """Fold the journal at ``path``; before each ``AccountUpdated`` is applied, compare the agent's
    positions in the fold (coin, side, quantity, entry price, leverage, stop-loss, profit target)
    with the ones the update lists.
    Returns (updates compared, updates whose positions changed since the agent's last one, the
    differences)."""
    compared = changed = 0
    differences = []
    last: dict[str, list] = {}
    with open_journal(path) as stream:
        state = ArenaState(stream.header)
        for e in stream:
            if isinstance(e, ev.AccountUpdated) and e.agent in state.agents:
                have = sorted(_row(p) for p in state.agents[e.agent].positions)
                want = sorted(_row(p) for p in e.positions)
                same = len(have) == len(want) and all(
                    a[0] == b[0] and a[4:] == b[4:] and all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(a[1:4], b[1:4]))
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


def _fill(qty, price, side: int = 1, coin: str = "BTC", **kw) -> ev.OrderFilled:
    """An opening fill at 5x (marked 1 below its price); whole numbers stay whole, as a journal's would."""
    notional = qty * price
    margin = notional // 5 if type(notional) is int else notional / 5
    return ev.OrderFilled(1, 0, "A", coin, "open", side, qty, price, price - 1, notional, 0.1, 5.0, margin, **kw)


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


def test_adding_blends_the_leverage_as_the_ledger_does():
    """1 BTC at 100 with 5x (margin 20), then 1 more at 200 with 10x (margin 20): notional at entry
    300 over margin 40 is 7.5x, as ``Ledger.add`` makes it."""
    from arena_tui.engine.ledger import Ledger

    state = ArenaState(_header())
    state.apply(_fill(1.0, 100.0))
    add = ev.OrderFilled(1, 0, "A", "BTC", "open", 1, 1.0, 200.0, 199.0, 200.0, 0.1, 10.0, 20.0)
    state.apply(add)
    (p,) = state.agents["A"].positions
    assert p.quantity == 2.0 and p.entry_price == 150.0 and p.leverage == 7.5
    assert "notional at entry / margin" in Ledger.add.__doc__


HUGE = 10**200  # (a JSON integer the reader keeps exact, up to a float's range: no float holds its products)


@pytest.mark.parametrize(
    "fills, closes",
    [
        ([(0.0, 100.0), (-1.0, 100.0)], [1.0]),
        ([(1.0, 100.0)], [0.0, -2.0, -1e308]),
        ([(1e308, 1e308), (1e308, 1e308)], [1e308, 1e308]),
        ([(HUGE, HUGE), (1.0, 1.0)], [1.0, HUGE]),
        ([(1.0, 100.0), (HUGE, HUGE)], [10**300, 0.5]),
        ([(10**300, 10**300)], [1.0]),
    ],
)
def test_odd_figures_in_a_journal_never_raise_out_of_the_fold_or_the_screens_formats(fills, closes):
    """A hand-edited journal's fills and closes (zero, negative, beyond a float, integers no float
    holds) leave the rows as they were or as floats; nothing raises, and every row's figures format."""
    from arena_tui.tui import formatting as fmt

    state = ArenaState(_header())
    for qty, price in fills:
        state.apply(_fill(qty, price))
    rows = state.agents["A"].positions
    assert all(p.quantity > 0 for p in rows)  # no row of a quantity that is not positive
    for qty in closes:
        state.apply(_close(qty))
    for p in state.agents["A"].positions:
        assert all(type(x) is float for x in (p.quantity, p.entry_price, p.mark_price, p.unrealized_pnl, p.leverage))
        fmt.quantity(p.quantity), fmt.price(p.entry_price), fmt.number(p.unrealized_pnl, 2), f"{p.unrealized_pnl:+,.2f}"
