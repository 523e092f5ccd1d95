"""Alpha Arena Season 1 in the box (``arena_tui.season1``): real accounts, real answers at their times.

The showcase journal ``sessions/alpha-arena-2025-10-28.jsonl`` is re-recorded with
``arena-tui --preset season1 --headless --journal sessions/alpha-arena-2025-10-28.jsonl`` (remove the
old file first). The bundled records are rebuilt from the shared data's ``alpha-arena/conversations.jsonl``
with ``python -c "from arena_tui import season1; season1.write_bundle('conversations.jsonl')"``;
the tests below check them against the raw prompts and answers in ``tests/data``.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from arena_tui import season1
from arena_tui.config import AccountSeed, SeedPosition, config_from_json
from arena_tui.engine import events as ev
from arena_tui.engine.agents.recorded import RecordedAgent, RecordedResponse, merge_responses, response_from_record
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.journal import read_journal
from arena_tui.engine.ledger import Ledger, seed_value
from arena_tui.engine.verify import verify_journal

ROOT = Path(__file__).resolve().parents[1]
SHOWCASE = ROOT / season1.SHOWCASE
TEST_DATA = ROOT / "tests" / "data"
CENT = 0.005


@pytest.fixture(scope="module")
def bundle() -> list[dict]:
    return season1.load_bundle()


@pytest.fixture(scope="module")
def showcase():
    return read_journal(SHOWCASE)


def _raw(name: str) -> list[dict]:
    with gzip.open(TEST_DATA / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --- the bundle is the real records --------------------------------------------------------------


def test_the_bundle_holds_every_real_record_with_its_prompts_account_and_answer(bundle):
    prompts = {(p["model_id"], round(float(p["timestamp"]), 3)): p for p in _raw("alpha_arena_prompts.jsonl.gz")}
    answers = {(r["model_id"], round(float(r["timestamp"]), 3)): r for r in _raw("alpha_arena_responses.jsonl.gz")}
    assert len(bundle) == len(prompts) == len(answers) == 239
    assert Counter(r["model_id"] for r in bundle) == {
        "qwen3-max": 53, "gemini-2.5-pro": 41, "claude-sonnet-4-5": 40, "grok-4": 37, "gpt-5": 37, "deepseek-chat-v3.1": 31,
    }
    for r in bundle:
        key = (r["model_id"], round(r["timestamp"], 3))
        assert r["account"] == season1.parse_account(prompts[key]["user_prompt"])
        assert r["answer"] == response_from_record(answers[key]).answer
        assert r["reasoning"].strip(), f"{key} has no reasoning"
    kinds = Counter((r["model_id"], r["reasoning_source"]) for r in bundle)
    # grok and qwen exposed no chain of thought; 2 of deepseek's and 2 of gpt-5's records lack theirs
    assert {m for (m, k) in kinds if k == "chain of thought"} == {"deepseek-chat-v3.1", "gemini-2.5-pro", "gpt-5", "claude-sonnet-4-5"}
    assert kinds["deepseek-chat-v3.1", "summary"] == kinds["gpt-5", "summary"] == 2
    assert season1.data_path().stat().st_size < 300_000  # small, compressed


def test_parse_account_reads_the_real_prompt(bundle):
    grok = season1.first_records(bundle)["grok-4"]["account"]
    assert grok["value"] == 10038.22 and grok["cash"] == 3262.84 and grok["return_pct"] == 0.38
    assert [p["coin"] for p in grok["positions"]] == ["ETH", "SOL", "XRP", "BTC", "DOGE", "BNB"]
    doge = grok["positions"][4]
    assert doge["quantity"] == 68396.0 and doge["leverage"] == 10 and doge["stop_loss"] == 0.177039
    gemini = season1.first_records(bundle)["gemini-2.5-pro"]["account"]
    assert sorted(p["coin"] for p in gemini["positions"] if p["quantity"] < 0) == ["BNB", "DOGE"]  # shorts are negative
    with pytest.raises(ValueError):
        season1.parse_account("no account here")


# --- seeded accounts ------------------------------------------------------------------------------


def test_every_prompts_account_seeds_a_ledger_worth_its_stated_value_to_the_cent(bundle):
    """All 239 prompts (not only the six first ones): cash + margin + unrealized PnL at the stated prices."""
    for r in bundle:
        seed = season1.seed_from_account(r["account"])
        # (Gemini held BTC at 40x after 11:35: Hyperliquid's BTC maintenance margin is 1.25%)
        ledger = Ledger(10_000.0, maintenance_margin_rate=0.0125)
        ledger.seed(seed, time=r["account"]["time"])
        assert abs(seed_value(seed) - r["account"]["value"]) < CENT
        assert abs(ledger.account_value - r["account"]["value"]) < CENT, (r["model_id"], r["timestamp"])
        snap = ledger.snapshot()
        assert snap.fees_paid == 0.0 and snap.realized_pnl == 0.0
        assert abs(snap.return_pct - (r["account"]["value"] / 10_000 - 1) * 100) < 1e-6
        for p, raw in zip(snap.positions, r["account"]["positions"]):
            assert p.side == (1 if raw["quantity"] > 0 else -1) and p.quantity == abs(raw["quantity"])
            assert abs(p.unrealized_pnl - raw["unrealized_pnl"]) < CENT
            assert abs(p.entry_price - raw["entry_price"]) / raw["entry_price"] < 0.03  # the prompt rounds entries


def test_the_preset_seeds_each_model_from_its_first_prompt(bundle):
    config = season1.preset_config(bundle)
    first = season1.first_records(bundle)
    assert [a.name for a in config.agents] == list(season1.MODELS.values())
    for a in config.agents:
        assert a.kind == "recorded" and a.timing == "once" and a.path == season1.BUNDLED_PATH
        assert abs(seed_value(a.account) - first[a.model]["account"]["value"]) < CENT
        assert "nof1.ai Alpha Arena Season 1" in a.account.source
    # Season 1's fees on Oct 28 (the 2025-10-22 tier), take-profits as maker fills, Hyperliquid's caps
    from arena_tui.engine.arena import make_ledger

    ledger = make_ledger(config, "Grok 4", 1761632100000)
    assert (ledger.fee_bp("taker", 1761632100000), ledger.fee_bp("maker", 1761632100000)) == (4.0, 1.2)
    assert (ledger.fee_bp("taker", 1761004800000 - 1), ledger.fee_bp("maker", 1761004800000 - 1)) == (4.5, 1.5)
    assert ledger.take_profit_maker and config.fees.slippage_bp == 0.0
    assert ledger.mmr("BTC") == 0.0125 and ledger.mmr("DOGE") == 0.05 and ledger.mmr("ETH") == 0.02
    assert config.venue.coin_max_leverage == {"BTC": 40.0, "ETH": 25.0, "SOL": 20.0, "XRP": 20.0, "DOGE": 10.0, "BNB": 10.0}
    assert config_from_json(config.to_json()) == config  # the header records it all


def test_the_fold_starts_a_seeded_agent_from_its_account(showcase):
    from arena_tui.engine.state import ArenaState

    state = ArenaState()
    state.apply(showcase.header)
    grok = state.agents["Grok 4"]
    assert grok.starting_cash == 10_000.0 and abs(grok.account_value - 10038.22) < CENT
    assert grok.invalidations["DOGE"] == "If price closes below 0.18 on 4-hour timeframe"
    # before the first cycle the leaderboard's return agrees with its PnL (DeepSeek started +110%)
    rows = {r.agent: r for r in state.standings()}
    for r in rows.values():
        assert r.return_pct == pytest.approx(r.pnl / 10_000.0 * 100, abs=1e-6), r
    assert rows["DeepSeek V3.1"].return_pct > 100


def test_the_fold_shows_a_seeded_agents_positions_before_its_first_account_update(showcase):
    """Season 1 at cycle 0 showed an empty positions table beside DeepSeek's +11,057 PnL: the seeded
    positions only reached the fold with the first ``AccountUpdated``. The header's seed now gives
    them, made by the same code as every account event, at the seed's marks; the first update (marked
    at the market) holds the same positions, and the same liquidation prices where the marks agree."""
    from arena_tui.engine.state import ArenaState

    state = ArenaState()
    state.apply(showcase.header)
    seeds = {a.name: a.account for a in config_from_json(showcase.header.config).agents if a.account is not None}
    assert len(seeds) == 6
    for name, seed in seeds.items():
        rows = state.agents[name].positions
        assert [(r.coin, r.side, r.quantity, r.entry_price, r.leverage, r.stop_loss, r.profit_target) for r in rows] == [
            (p.coin, 1 if p.side == "long" else -1, p.quantity, p.entry_price, p.leverage, p.stop_loss, p.profit_target) for p in seed.positions
        ], name
        for r, p in zip(rows, seed.positions):
            assert r.mark_price == (p.mark_price or p.entry_price) and r.liquidation_price > 0
            assert r.unrealized_pnl == pytest.approx(r.side * r.quantity * (r.mark_price - r.entry_price), abs=1e-6)
    first = next(e for e in showcase.events if isinstance(e, ev.AccountUpdated) and e.agent == "DeepSeek V3.1")
    seeded = state.agents["DeepSeek V3.1"].positions
    assert [(r.coin, r.quantity, r.entry_price) for r in first.positions] == [(r.coin, r.quantity, r.entry_price) for r in seeded]


@pytest.mark.parametrize("venue", [None, "x", {"margin_mode": "weird"}, {"maintenance_margin_rate": float("nan")},
                                   {"maintenance_margin_rate": 1e308}, {"maintenance_margin_rate": -1.0},
                                   {"coin_maintenance_margin": {"BTC": "a"}}, {"coin_maintenance_margin": [1, 2]},
                                   {"coin_maintenance_margin": {"BTC": 0.99}}, {"coin_maintenance_margin": {"\ud800": 0.1}}])
def test_a_hostile_header_venue_leaves_the_seeded_positions_to_the_first_update(showcase, venue):
    """A journal is untrusted: a header whose venue this version cannot seed a ledger with must not
    raise out of the fold. The accounts' figures stand; their positions wait for the first update."""
    from arena_tui.engine.state import ArenaState

    config = json.loads(json.dumps(showcase.header.config))
    config["venue"] = venue
    state = ArenaState()
    state.apply(dataclasses.replace(showcase.header, config=config))
    deepseek = state.agents["DeepSeek V3.1"]
    assert deepseek.seeded and deepseek.account_value > 20_000
    assert all(len(b.positions) in (0, len(s.positions)) for b, s in ((state.agents[a.name], a.account) for a in config_from_json(showcase.header.config).agents if a.account))


@pytest.mark.parametrize("account, message", [
    ({"cash": -1.0}, "cash must be 0 or more"),
    ({"cash": 1.0, "positions": [{"coin": "BTC", "side": "up", "quantity": 1.0, "entry_price": 1.0, "leverage": 2.0}]}, 'side must be "long" or "short"'),
    ({"cash": 1.0, "positions": [{"coin": "BTC", "side": "long", "quantity": 1.0, "entry_price": 1.0, "leverage": 40.0}]}, "liquidation price"),
    ({"cash": 1.0, "positions": [{"coin": "BTC", "side": "long", "quantity": 1.0, "entry_price": 1.0, "leverage": 2.0}] * 2}, "two positions"),
    ({"cash": 1.0, "positions": [{"coin": "BTC", "side": "long", "quantity": 0.0, "entry_price": 1.0, "leverage": 2.0}]}, "quantity must be a positive"),
    ({"cash": 1.0, "positions": [{"coin": "BTC", "side": "long", "quantity": 1.0, "entry_price": 1.0, "leverage": 2.0, "entry_time": "soon"}]}, "entry_time"),
    ({"cash": 1.0, "positions": {"coin": "BTC"}}, "array of tables"),
    ({"cash": 1.0, "wealth": 3}, "unknown key 'wealth'"),
    ({"cash": 1.0, "positions": [{"coin": "PEPE", "side": "long", "quantity": 1.0, "entry_price": 1.0, "leverage": 2.0}]}, "not traded in this session"),
])
def test_a_bad_account_is_refused_in_one_sentence_naming_the_key(tmp_path, account, message):
    import tomli_w

    from arena_tui.config import load_config

    path = tmp_path / "arena.toml"
    path.write_text(tomli_w.dumps({"agents": [{"name": "a", "kind": "baseline", "strategy": "always_flat", "account": account}]}))
    with pytest.raises(ConfigError) as exc:
        load_config(str(path), environ={})
    text = str(exc.value)
    assert message in text and "agents[0]" in text and "\n" not in text


def test_a_fallback_or_a_swarm_member_has_no_account_of_its_own(tmp_path):
    import tomli_w

    from arena_tui.config import load_config

    seed = {"cash": 5.0}
    for agent in (
        {"name": "a", "kind": "openai", "model": "m", "fallback": {"kind": "baseline", "strategy": "always_flat", "account": seed}},
        {"name": "a", "kind": "swarm", "members": [{"kind": "baseline", "strategy": "always_flat", "account": seed},
                                                   {"kind": "baseline", "strategy": "trend_follower"}]},
    ):
        path = tmp_path / "arena.toml"
        path.write_text(tomli_w.dumps({"agents": [agent]}))
        with pytest.raises(ConfigError, match="account"):
            load_config(str(path), environ={})


# --- answers once, at their time -----------------------------------------------------------------


def _rec(t_s: float, answer: dict | str, reasoning: str = "") -> RecordedResponse:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return RecordedResponse(int(t_s * 1000), "m", text, reasoning)


def test_timing_once_answers_each_record_in_the_cycle_whose_interval_holds_it():
    recs = [_rec(100, {"BTC": {"signal": "hold"}}), _rec(290, {"BTC": {"signal": "hold"}}), _rec(301, {"BTC": {"signal": "hold"}})]
    agent = RecordedAgent("a", recs, timing="once", window_ms=300_000)
    assert not agent.answers_at(0)
    assert [r.time for r in agent.due(300_000)] == [100_000, 290_000]  # (0, 300 s]
    assert [r.time for r in agent.due(600_000)] == [301_000]
    assert not agent.answers_at(900_000)
    # every record in exactly one cycle
    cycles = [t * 300_000 for t in range(4)]
    assert sorted(r.time for t in cycles for r in agent.due(t)) == [r.time for r in recs]
    latest = RecordedAgent("b", recs)
    assert latest.answers_at(900_000)  # timing "latest": every cycle


def test_merging_keeps_an_action_taken_between_two_cycles():
    close = _rec(10, {"BNB": {"signal": "close_position"}, "BTC": {"signal": "hold"}}, "closing BNB")
    later = _rec(130, {"BNB": {"signal": "hold"}, "BTC": {"signal": "hold"}, "ETH": {"signal": "buy_to_enter", "quantity": 1}}, "buying ETH")
    merged = merge_responses([close, later])
    doc = json.loads(merged.answer)
    assert doc["BNB"]["signal"] == "close_position" and doc["ETH"]["signal"] == "buy_to_enter" and doc["BTC"]["signal"] == "hold"
    assert merged.time == later.time
    assert merged.reasoning.index("closing BNB") < merged.reasoning.index("buying ETH")
    assert "**00:00:10 UTC**" in merged.reasoning and "**00:02:10 UTC**" in merged.reasoning
    # the latest earlier action on a coin wins; an answer that is not JSON is not merged
    buy = _rec(20, {"BNB": {"signal": "buy_to_enter"}})
    assert json.loads(merge_responses([close, buy, later]).answer)["BNB"]["signal"] == "buy_to_enter"
    raw = _rec(200, "I will hold everything.")
    assert merge_responses([close, raw]).answer == "I will hold everything."
    assert merge_responses([close]).answer == close.answer


async def test_a_paced_recorded_agent_streams_on_a_virtual_clock_without_waiting():
    import time

    from arena_tui.engine.agents.base import AgentRequest

    agent = RecordedAgent("a", [_rec(1, {"BTC": {"signal": "hold"}}, "x" * 3000)], timing="once", chars_per_s=600.0, chunk_chars=150)
    agent.pace_virtually()
    offsets = []
    t0 = agent.stream_clock()

    def on_delta(kind, text):
        offsets.append((kind, agent.stream_clock() - t0))

    started = time.perf_counter()
    reply = await agent.decide(AgentRequest(1, 300_000, "", "", None, None, None), on_delta)
    assert time.perf_counter() - started < 1.0  # 5 s of reading, not waited for
    assert reply.failure is None and reply.text == json.dumps({"BTC": {"signal": "hold"}})
    reasoning = [o for k, o in offsets if k == "reasoning"]
    assert len(reasoning) == 21 and 4.9 < reasoning[-1] < 5.2  # 3,000 (+heading) chars at 600 a second
    assert [k for k, _ in offsets].count("answer") == 1  # the answer at once, after the reasoning


# --- the showcase ---------------------------------------------------------------------------------


def test_the_showcase_is_complete_and_credits_its_source(showcase, bundle):
    h = showcase.header
    assert h.session == season1.SESSION_NAME and h.mode == "recorded"
    assert [a["name"] for a in h.agents] == list(season1.MODELS.values())
    assert SHOWCASE.stat().st_size < 2_000_000
    notices = [e for e in showcase.events if isinstance(e, ev.Notice)]
    assert "Source: nof1.ai Alpha Arena Season 1" in notices[0].text
    cycles = [e for e in showcase.events if isinstance(e, ev.CycleCompleted)]
    assert len(cycles) == 73 and cycles[0].time == 1761632100000 and cycles[-1].time == 1761653700000  # 06:15 .. 12:15
    # each model answers once per 5-minute interval holding records of it, never in one without
    replied = Counter((e.agent, e.cycle) for e in showcase.events if isinstance(e, ev.AgentReplied))
    assert set(replied.values()) == {1}
    # cycle k (at 06:15 + 5 min x (k - 1)) answers the records of the 5 minutes up to it
    expected = {(season1.MODELS[r["model_id"]], -(-(round(r["timestamp"] * 1000) - 1761632100000) // 300_000) + 1) for r in bundle}
    assert set(replied) == expected
    # the real chain of thought streams into the panes
    text = "".join(e.text for e in showcase.events if isinstance(e, ev.ReasoningDelta) and e.agent == "Claude Sonnet 4.5" and e.kind == "reasoning")
    first_claude = season1.first_records(bundle)["claude-sonnet-4-5"]
    assert first_claude["reasoning"][:200] in text


def test_the_showcase_carries_out_geminis_real_trades(showcase):
    """Gemini closed its BNB and DOGE shorts and then went long both, between 06:36 and 06:50 UTC."""
    fills = [(e.agent, e.coin, e.action, e.side) for e in showcase.events if isinstance(e, ev.OrderFilled)]
    gemini = [f[1:] for f in fills if f[0] == "Gemini 2.5 Pro"]
    assert ("BNB", "close", -1) in gemini and ("DOGE", "close", -1) in gemini
    assert ("BNB", "open", 1) in gemini and ("DOGE", "open", 1) in gemini


def test_the_showcase_verifies_by_re_execution():
    result = verify_journal(SHOWCASE)
    assert result.difference is None and result.cycles == 73


def test_our_accounts_follow_the_real_ones(showcase):
    """Every later prompt of the day states the real account value: ours, interpolated between the two
    cycles around it, is within 2% of it at the median for every model (the note gives the figures)."""
    result = verify_journal(SHOWCASE)
    rows = {r.agent: r for r in season1.comparison(result.state)}
    assert set(rows) == set(season1.MODELS.values())
    assert sum(r.n for r in rows.values()) == 239 - 6
    for r in rows.values():
        assert r.median_pct < 2.0, r
    # within 1% at every prompt for the four models whose positions the gap did not change
    for name in ("Qwen3 Max", "DeepSeek V3.1", "Claude Sonnet 4.5", "Grok 4"):
        assert rows[name].worst_pct < 1.0, rows[name]


def test_the_preset_rebuilds_the_showcase(tmp_path, showcase):
    """Same inputs, same journal: the preset run again gives the showcase's events (wall-clock fields aside)."""
    path = tmp_path / "s1.jsonl"
    out = subprocess.run([sys.executable, "-m", "arena_tui", "--preset", "season1", "--headless", "--journal", str(path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Against the real Season 1 accounts" in out.stdout and "GPT-5" in out.stdout
    # the leaderboard says what its return counts from; recorded answers carry no usage: no tokens column
    assert "Seeded accounts start from the cash and positions" in out.stdout and "tokens" not in out.stdout
    again = read_journal(path)

    def strip(e):
        skip = ev.WALL_CLOCK_FIELDS.get(type(e), frozenset())
        return (type(e).__name__, {k: v for k, v in dataclasses.asdict(e).items() if k not in skip})

    assert [strip(e) for e in again.events] == [strip(e) for e in showcase.events]


def test_until_stops_a_recorded_session_after_that_cycle(tmp_path):
    path = tmp_path / "u.jsonl"
    out = subprocess.run([sys.executable, "-m", "arena_tui", "--preset", "season1", "--headless", "--until", "2025-10-28T06:30:00Z",
                          "--journal", str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "after 4 cycles" in out.stdout  # 06:15, 06:20, 06:25, 06:30
    out = subprocess.run([sys.executable, "-m", "arena_tui", "--headless", "--start", "2025-10-20T00:00:00Z", "--until", "2025-10-19T00:00:00Z"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode != 0 and "--until 2025-10-19T00:00:00Z is before the session's start" in out.stderr
    assert "Traceback" not in out.stderr


# --- the first screen offers it with one key ------------------------------------------------------


async def test_a_on_the_demo_replays_the_showcase_or_runs_the_preset(tmp_path):
    import shutil

    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app
    from test_tui_script import wait_until

    demo = tmp_path / "demo.jsonl"
    shutil.copy(ROOT / "sessions" / "demo.jsonl", demo)
    for present in (False, True):
        if present:
            shutil.copy(SHOWCASE, tmp_path / SHOWCASE.name)
        app = make_app(ReplaySession.from_journal(demo, paused=True))
        async with app.run_test(size=(120, 36)) as pilot:
            await app.events_rendered()
            assert "Season 1" in [b.binding.description for b in app.screen.active_bindings.values() if b.binding.show]
            await pilot.press("A")
            await wait_until(lambda: app.return_code is not None, "the app to close")
        assert app.next_journal == (("replay", tmp_path / SHOWCASE.name) if present else ("preset", Path("season1")))


def test_the_preset_chosen_on_screen_runs_next(monkeypatch):
    import argparse

    from arena_tui import cli

    ran = []
    monkeypatch.setattr(cli, "run_tui", lambda args: ran.append((args.preset, args.replay, args.journal, args.until)) or 0)

    class Closed:
        next_journal = ("preset", Path("season1"))

    args = argparse.Namespace(replay="x.jsonl", follow=None, headless=False, speed=4.0, theme=None, resume=None, cycles=3,
                              until=None, journal="old.jsonl", name="n", config=None, preset=None,
                              source="live", exchange="hyperliquid", start="2025-10-20T00:00:00Z", coins="BTC")
    assert cli.open_next_journal(Closed(), 3, args) == 0
    assert ran == [("season1", None, None, None)]
    # the first command's market (a live exchange, its start and coins) is not the preset's
    monkeypatch.setattr(cli, "run_tui", lambda args: ran.append(cli.new_session_config(args).market) or 0)
    assert cli.open_next_journal(Closed(), 3, args) == 0
    market = ran[-1]
    assert (market.source, market.start, len(market.coins)) == ("recorded", "2025-10-28T06:15:00Z", 6), market


async def test_the_leaderboard_shows_the_real_account_beside_ours():
    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app
    from arena_tui.tui.widgets.leaderboard import Leaderboard

    app = make_app(ReplaySession.from_journal(SHOWCASE, paused=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.events_rendered()
        await pilot.press("end")
        await app.events_rendered()
        await pilot.pause()
        board = app.screen.query_one(Leaderboard)
        keys = [c.key for c in board.shown_columns]
        assert "real" in keys and "tokens" not in keys and "cost" not in keys
        cells = dict(board.table_rows())
        assert cells["Grok 4"]["real"].plain == "10,378.02"  # its prompt of 12:09:07, the last before 12:15
        assert cells["BTC buy & hold"]["real"].plain == "–"


async def test_other_sessions_have_no_real_account_column():
    """(The demo's agents are rule-based: no tokens or cost either; a session with a model keeps them,
    ``test_tui_app.test_rule_based_agents_alone_show_pnl_win_rate_and_fees_instead_of_tokens_and_cost``.)"""
    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app
    from arena_tui.tui.widgets.leaderboard import Leaderboard

    app = make_app(ReplaySession.from_journal(ROOT / "sessions" / "demo.jsonl", paused=True))
    async with app.run_test(size=(160, 40)):
        await app.events_rendered()
        keys = [c.key for c in app.screen.query_one(Leaderboard).shown_columns]
        assert "real" not in keys and "cost" not in keys and {"pnl", "fees", "win"} <= set(keys)


def test_the_real_prompts_liquidation_prices_are_hyperliquids_isolated_ones(bundle):
    """Every position every prompt states (1,121) has a liquidation price: seeded with the preset's
    venue (isolated margin, Hyperliquid's per-coin maintenance margins) our ledger gives the same one,
    within 0.1% of the price at the median (the worst are DOGE's, which the prompt rounds to 0.18)."""
    import statistics

    from arena_tui.engine.arena import make_ledger

    config = season1.preset_config(bundle)
    assert config.venue.margin_mode == "isolated"
    devs = []
    for r in bundle:
        agent = next(a for a in config.agents if a.model == r["model_id"])
        seeded = dataclasses.replace(config, agents=(dataclasses.replace(agent, account=season1.seed_from_account(r["account"])),))
        ledger = make_ledger(seeded, agent.name, r["account"]["time"])
        for p in r["account"]["positions"]:
            ours = ledger.positions[p["coin"]].liquidation_price
            devs.append(abs(ours - p["liquidation_price"]) / p["current_price"] * 100)
    assert len(devs) == 1121
    assert statistics.median(devs) < 0.1 and max(devs) < 3.0
    # cross margin would not: the free cash behind each position moves its liquidation price far away
    cross = dataclasses.replace(config, venue=dataclasses.replace(config.venue, margin_mode="cross"))
    grok = season1.first_records(bundle)["grok-4"]["account"]
    ledger = make_ledger(cross, "Grok 4", grok["time"])
    eth = next(p for p in grok["positions"] if p["coin"] == "ETH")
    assert ledger.positions["ETH"].liquidation_price < 0.5 * eth["liquidation_price"]


@pytest.mark.parametrize("account", [
    {"cash": "lots", "positions": []},
    {"cash": 1.0, "positions": [{"coin": "BTC", "side": "long", "quantity": 1e308, "entry_price": 1e308, "leverage": 1.0}]},
    {"cash": 1.0, "positions": [{"coin": "BTC", "side": "long", "quantity": 1.0, "entry_price": 1.0, "leverage": 2.0,
                                 "invalidation_condition": "\x1b[31mred\ud800"}]},
    ["not", "a", "table"],
])
def test_a_hostile_starting_account_in_a_journal_header_never_raises(tmp_path, account):
    """A journal is untrusted: an edited [agents.account] in its header must not crash the fold (the
    screen, a follow) and must be refused by replay in one sentence, never a traceback."""
    from arena_tui.engine.state import ArenaState

    lines = SHOWCASE.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["config"]["agents"][0]["account"] = account
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(header) + "\n" + "".join(lines[1:200]), encoding="utf-8")
    state = ArenaState()
    read = read_journal(bad)
    for e in (read.header, *read.events[:50]):
        state.apply(e)  # never raises
    assert state.agents["Qwen3 Max"].starting_cash > 0
    out = subprocess.run([sys.executable, "-m", "arena_tui", "--replay", str(bad), "--headless"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    said = (out.stderr + out.stdout).strip().splitlines()
    assert any("account" in line or "differs" in line for line in said), said


def test_the_report_of_the_showcase_says_what_its_returns_count_from():
    import html

    from arena_tui.engine.state import SEEDED_NOTE
    from arena_tui.report import ReportData, leaderboard_html

    assert html.escape(SEEDED_NOTE) in leaderboard_html(ReportData(ROOT / "sessions" / "alpha-arena-2025-10-28.jsonl"))
    assert html.escape(SEEDED_NOTE) not in leaderboard_html(ReportData(ROOT / "sessions" / "demo.jsonl"))
