"""A swarm (``kind = "swarm"``): member models asked the same prompt at once, their answers combined
by a vote, one account trading the result. The real openai and anthropic SDK clients against the
local fake LLM server (tests/fakes/llm_server.py), members failing on the wire (HTTP 500) and in
their answer (prose, no decision); the journal records each member's call and the vote
(``SwarmVoted``), the fold counts every call, re-execution votes again and catches a tampered vote."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from arena_tui.config import AgentConfig, config_from_json, load_config
from arena_tui.engine import events as ev
from arena_tui.engine.agents.base import AgentFailure, AgentReply, Usage
from arena_tui.engine.agents.swarm import DEFAULT_CONFIDENCE, answer_text, ballot, combine, default_quorum, vote, weight
from arena_tui.engine.decisions import Decision
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.factory import build_agent, build_market
from arena_tui.engine.journal import DeltaCoalescer, expanded_lines
from arena_tui.engine.parse import parse_decisions
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.engine.verify import reexecute
from tests.fakes.llm_server import FakeLLMServer
from tests.journal_dicts import journal_dicts

KEY = "sk-" + "swarm-0123456789abcdef"  # fake; split so secret scanners do not flag it
START = {"market": {"start": "2025-10-28T06:15:00Z"}}
COINS = ("BTC", "ETH", "SOL")


def write_config(tmp_path, toml: str):
    (tmp_path / "arena.toml").write_text(toml, encoding="utf-8")
    return load_config(str(tmp_path / "arena.toml"), environ={}, cwd=tmp_path, overrides=START)


# --- config ---------------------------------------------------------------------------------------

SWARM_TOML = """
[[agents]]
name = "Swarm"
kind = "swarm"
vote = "confidence"
timeout_s = 60

[[agents.members]]
kind = "openai"
model = "gpt-5"

[[agents.members]]
kind = "anthropic"
model = "claude-sonnet-4-6"

[[agents.members]]
kind = "baseline"
strategy = "trend_follower"
"""


def test_a_swarm_table_reads_back_with_default_member_names(tmp_path):
    cfg = write_config(tmp_path, SWARM_TOML)
    (swarm,) = cfg.agents
    assert (swarm.kind, swarm.vote, swarm.quorum) == ("swarm", "confidence", 0)
    assert [(m.name, m.kind) for m in swarm.members] == [("gpt-5", "openai"), ("claude-sonnet-4-6", "anthropic"), ("trend_follower", "baseline")]
    assert config_from_json(json.loads(json.dumps(cfg.to_json()))) == cfg  # the journal header round trip
    agent = build_agent(swarm, cfg)
    assert agent.kind == "swarm" and agent.quorum == 2 and agent.timeout_s == 60 and [m.name for m in agent.members] == ["gpt-5", "claude-sonnet-4-6", "trend_follower"]


MEMBER = '\n[[agents.members]]\nkind = "baseline"\nstrategy = "{}"\n'


@pytest.mark.parametrize(
    "toml,fragment",
    [
        ('kind = "swarm"', "agents[0] ('S'): a swarm needs 2 to 8 members (got 0)"),
        ('kind = "swarm"' + MEMBER.format("always_flat"), "a swarm needs 2 to 8 members (got 1)"),
        ('kind = "swarm"\nvote = "loudest"' + MEMBER.format("always_flat") * 2, "vote 'loudest' is not one of majority, confidence, unanimous"),
        ('kind = "swarm"\nquorum = 3' + MEMBER.format("always_flat") + MEMBER.format("trend_follower"), "quorum 3 is more than its 2 members"),
        ('kind = "swarm"' + MEMBER.format("always_flat") * 2, "agents[0].members[1] ('always_flat'): the name is used twice in the swarm"),
        ('kind = "swarm"' + MEMBER.format("always_flat") + '\n[[agents.members]]\nkind = "recorded"\npath = "x.jsonl"\n',
         "agents[0].members[1] ('member'): kind 'recorded' cannot be a swarm member"),
        ('kind = "swarm"' + MEMBER.format("nope") + MEMBER.format("always_flat"), "agents[0].members[0] ('nope'): strategy 'nope' is not one of"),
        ('kind = "baseline"\nstrategy = "always_flat"' + MEMBER.format("always_flat"), "only kind = \"swarm\" has members"),
        ('kind = "swarm"' + MEMBER.format("always_flat") + MEMBER.format("trend_follower") + '\n[agents.fallback]\nkind = "baseline"\nstrategy = "always_flat"\n',
         "agents[0].fallback: a swarm has no fallback"),
        ('kind = "swarm"\nmembers = ["gpt-5", "claude"]', "agents[0].members[0] must be a [[agents.members]] table"),
    ],
)
def test_a_bad_swarm_is_refused_with_one_sentence_naming_it(tmp_path, toml, fragment):
    with pytest.raises(ConfigError) as err:
        write_config(tmp_path, f'[[agents]]\nname = "S"\n{toml}\n')
    assert fragment in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


# --- the vote (pure functions) ----------------------------------------------------------------------


def D(coin: str, signal: str, **kw) -> Decision:
    return Decision(coin, signal, **kw)  # type: ignore[arg-type]


BUY_A = D("BTC", "buy_to_enter", quantity=0.1, leverage=10, stop_loss=100.0, profit_target=130.0, confidence=0.9, risk_usd=50.0, invalidation_condition="A")
BUY_B = D("BTC", "buy_to_enter", quantity=0.3, leverage=5, stop_loss=110.0, profit_target=120.0, confidence=0.6, risk_usd=30.0, invalidation_condition="B")
BUY_C = D("BTC", "buy_to_enter", quantity=0.2, leverage=20, stop_loss=None, profit_target=125.0, confidence=0.7)
SELL = D("BTC", "sell_to_enter", quantity=1.0, leverage=3, stop_loss=140.0, profit_target=90.0, confidence=0.95)
HOLD = D("BTC", "hold", confidence=0.2)


def test_majority_takes_the_signal_of_more_than_half_and_sizes_from_the_agreeing_medians():
    tally, result = vote("majority", [{"BTC": BUY_A}, {"BTC": BUY_B}, {"BTC": SELL}, {"BTC": BUY_C}], COINS)
    assert tally["BTC"] == {"buy_to_enter": 3, "sell_to_enter": 1}
    r = result["BTC"]
    assert (r.signal, r.quantity, r.leverage) == ("buy_to_enter", 0.2, 10.0)  # medians of 0.1/0.3/0.2 and 10/5/20
    assert (r.stop_loss, r.profit_target, r.confidence) == (105.0, 125.0, 0.7)  # an even count: the middle two's mean
    assert r.risk_usd == 40.0 and r.invalidation_condition == "A"  # the first agreeing member's condition
    # a coin no voter named is held by every one of them
    assert tally["ETH"] == {"hold": 4} and result["ETH"].signal == "hold"


def test_majority_without_more_than_half_holds():
    tally, result = vote("majority", [{"BTC": BUY_A}, {"BTC": SELL}, {"BTC": HOLD}, {"BTC": BUY_B}], COINS)
    assert tally["BTC"] == {"buy_to_enter": 2, "sell_to_enter": 1, "hold": 1}
    assert result["BTC"].signal == "hold" and result["BTC"].quantity is None


def test_confidence_weighs_each_vote_by_its_confidence():
    # one vote each; by confidence the sell (0.95) is more than half of 0.95 + 0.2 + 0.6
    tally, result = vote("confidence", [{"BTC": HOLD}, {"BTC": SELL}, {"BTC": BUY_B}], COINS)
    assert tally["BTC"] == {"sell_to_enter": 0.95, "hold": 0.2, "buy_to_enter": 0.6}
    assert result["BTC"].signal == "sell_to_enter" and result["BTC"].quantity == 1.0
    tally, result = vote("confidence", [{"BTC": BUY_A}, {"BTC": SELL}, {"BTC": HOLD}], COINS)
    assert result["BTC"].signal == "hold"  # 0.95 of 2.05 is not more than half
    assert weight(None) == DEFAULT_CONFIDENCE and weight(65) == 0.65 and weight(-1) == 0.0 and weight(float("nan")) == DEFAULT_CONFIDENCE


def test_unanimous_needs_every_voter_for_an_entry_but_a_majority_to_close():
    _, result = vote("unanimous", [{"BTC": BUY_A}, {"BTC": BUY_B}, {"BTC": HOLD}], COINS)
    assert result["BTC"].signal == "hold"
    _, result = vote("unanimous", [{"BTC": BUY_A}, {"BTC": BUY_B}, {"BTC": BUY_C}], COINS)
    assert result["BTC"].signal == "buy_to_enter" and result["BTC"].leverage == 10.0
    close = D("BTC", "close", confidence=0.8)
    _, result = vote("unanimous", [{"BTC": close}, {"BTC": close}, {"BTC": HOLD}], COINS)
    assert result["BTC"].signal == "close" and result["BTC"].quantity is None


def test_the_result_is_an_answer_the_parser_reads_back():
    _, result = vote("majority", [{"BTC": BUY_A}, {"BTC": BUY_B}, {"BTC": BUY_C}], COINS)
    back = parse_decisions(answer_text(result), COINS)
    assert back["BTC"].signal == "buy_to_enter" and back["BTC"].quantity == 0.2 and back["SOL"].signal == "hold"


def _reply(text: str = "", failure: AgentFailure | None = None, cost: float = 0.01) -> AgentReply:
    return AgentReply(text=text, usage=Usage(100, 20), cost_usd=cost, ttft_s=0.5, latency_s=1.0, failure=failure)


def test_failed_and_unreadable_members_do_not_vote_and_too_few_voters_hold():
    buy = answer_text({"BTC": BUY_A})
    ballots = [
        ballot("a", "gpt-5", _reply(buy), COINS),
        ballot("b", "claude", _reply(failure=AgentFailure("server", "b: HTTP 500 from the provider."), cost=0.0), COINS),
        ballot("c", "qwen", _reply("I would wait and see."), COINS),
        ballot("d", "grok", _reply("{\"BTC\": {\"signal\": \"buy\", \"quantity\": 0.5"), COINS),  # cut off mid-JSON
    ]
    assert [b.failure.kind if b.failure else None for b in ballots] == [None, "server", "parse", "parse"]
    reply = combine("S", "majority", default_quorum(4), ballots, COINS)
    assert reply.failure is not None and reply.failure.kind == "quorum" and "only 1 of 4 members answered (quorum 3" in reply.failure.reason
    assert reply.text == "" and reply.usage.input_tokens == 400 and reply.cost_usd == pytest.approx(0.03)
    ok = combine("S", "majority", 1, ballots, COINS)
    assert ok.failure is None and ok.swarm.result["BTC"].signal == "buy_to_enter"  # the one voter is a majority of the voters


# --- a session through the real SDKs ---------------------------------------------------------------


def members(srv, *models: tuple[str, str, str]) -> tuple[AgentConfig, ...]:
    """Member configs (name, kind, model on the fake server) with prices, pointed at ``srv``."""
    out = []
    for name, kind, model in models:
        base = srv.anthropic_base_url if kind == "anthropic" else srv.openai_base_url
        out.append(AgentConfig(name=name, kind=kind, model=model, base_url=base, api_key_env="ARENA_SW_KEY", retries=0, timeout_s=20,
                               price_input_per_mtok=1.25, price_output_per_mtok=10.0))
    return tuple(out)


FIVE = (
    ("gemini-a", "openai-compatible", "normal:record=79"),  # a BNB long (a real Season 1 answer)
    ("gemini-b", "anthropic", "reasoning:record=79"),  # the same answer, with thinking, through the Anthropic SDK
    ("gpt-5", "openai", "normal:model_id=gpt-5"),  # holds everything (the Responses API)
    ("broken", "openai-compatible", "500"),  # HTTP 500: does not vote
    ("talker", "openai-compatible", "prose"),  # an answer with no decision: does not vote
)


async def run_swarm(tmp_path, swarm: AgentConfig, *, cycles: int = 2, others: tuple = ()) -> tuple[list[ev.Event], ArenaSession]:
    cfg = load_config(None, environ={}, cwd=tmp_path, overrides=START)
    cfg = cfg.__class__(**{**cfg.__dict__, "agents": (swarm, *others)})
    agents = [build_agent(a, cfg) for a in cfg.agents]
    session = ArenaSession(cfg, build_market(cfg), agents, journal_path=tmp_path / "swarm.jsonl", max_cycles=cycles, pace=0)
    seen: list[ev.Event] = []
    await session.run(seen.append)
    return seen, session


async def _five_member_session(tmp_path, monkeypatch, cycles: int = 2):
    monkeypatch.setenv("ARENA_SW_KEY", KEY)
    async with FakeLLMServer() as srv:
        swarm = AgentConfig(name="Swarm", kind="swarm", members=members(srv, *FIVE))
        return await run_swarm(tmp_path, swarm, cycles=cycles)


async def test_a_swarm_of_five_votes_trades_the_result_and_verifies(tmp_path, monkeypatch):
    seen, session = await _five_member_session(tmp_path, monkeypatch)
    votes = [e for e in seen if isinstance(e, ev.SwarmVoted)]
    replies = [e for e in seen if isinstance(e, ev.AgentReplied)]
    assert len(votes) == 2 and len(replies) == 2
    for v, r in zip(votes, replies):
        assert seen.index(v) + 1 == seen.index(r)  # the vote just before the swarm's answer
        assert (v.rule, v.quorum) == ("majority", 3)
        by = {m["member"]: m for m in v.members}
        assert [m["member"] for m in v.members] == [n for n, _, _ in FIVE]
        assert by["broken"]["failure_kind"] == "server" and by["broken"]["votes"] == {}
        assert by["talker"]["failure_kind"] == "parse" and by["talker"]["text"].startswith("Looking at the tape") and by["talker"]["cost_usd"] > 0
        assert by["gemini-a"]["votes"]["BNB"] == by["gemini-b"]["votes"]["BNB"] == "buy_to_enter" and by["gpt-5"]["votes"]["BNB"] == "hold"
        assert v.tally["BNB"] == {"buy_to_enter": 2, "hold": 1} and v.result["BNB"] == "buy_to_enter" and v.result["BTC"] == "hold"
        assert r.failure_kind is None and r.input_tokens == sum(m["input_tokens"] for m in v.members)
        assert r.cost_usd == pytest.approx(sum(m["cost_usd"] for m in v.members))
    fills = [e for e in seen if isinstance(e, ev.OrderFilled)]
    assert [(f.coin, f.side, f.quantity, f.leverage, f.stop_loss) for f in fills] == [("BNB", 1, 3.295, 10.0, 1083.6)]  # cycle 2: already long
    book = session.state.agents["Swarm"]
    assert book.calls == 10 and book.swarm_votes == 2  # every member's call counts (the vote is no call) ...
    assert book.cost_usd == pytest.approx(sum(r.cost_usd for r in replies))  # ... and is paid for, once
    assert book.members["broken"].failure_kinds == {"server": 2} and book.members["talker"].failure_kinds == {"parse": 2}
    assert (book.members["gemini-a"].agreement, book.members["gpt-5"].agreement) == (1.0, 0.0)
    assert len(book.positions) == 1 and book.positions[0].coin == "BNB"
    deltas = [e for e in seen if isinstance(e, ev.ReasoningDelta) and e.cycle == 1]
    assert {d.member for d in deltas} == {"gemini-a", "gemini-b", "gpt-5", "talker"} and all(d.agent == "Swarm" for d in deltas)
    assert any(d.member == "gemini-b" and d.kind == "reasoning" for d in deltas)
    r = await reexecute(tmp_path / "swarm.jsonl")
    assert r.difference is None and r.cycles == 2, str(r.difference)
    assert r.state.agents["Swarm"].cost_usd == pytest.approx(book.cost_usd)


async def test_too_few_answers_make_the_swarm_hold(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_SW_KEY", KEY)
    async with FakeLLMServer() as srv:
        swarm = AgentConfig(name="Swarm", kind="swarm", vote="unanimous", members=members(
            srv, ("ok", "openai-compatible", "normal:record=79"), ("down", "anthropic", "500"), ("talker", "openai-compatible", "prose")))
        seen, session = await run_swarm(tmp_path, swarm)
    failed = [e for e in seen if isinstance(e, ev.AgentFailed)]
    assert [f.kind for f in failed] == ["quorum", "quorum"]
    assert "only 1 of 3 members answered (quorum 2; down (server), talker (parse))" in failed[0].reason
    assert not [e for e in seen if isinstance(e, (ev.DecisionParsed, ev.OrderFilled))]
    votes = [e for e in seen if isinstance(e, ev.SwarmVoted)]
    assert len(votes) == 2 and votes[0].result == {} and votes[0].tally == {}
    assert session.state.agents["Swarm"].consecutive_failures == 2
    r = await reexecute(tmp_path / "swarm.jsonl")
    assert r.difference is None and r.cycles == 2, str(r.difference)


# --- the journal ------------------------------------------------------------------------------------


def test_the_coalescer_chunks_each_members_stream_apart():
    out: list[ev.ReasoningDelta] = []
    c = DeltaCoalescer(out.append)
    for i, member in enumerate(["a", "b", "a", "b", "a"]):
        c.add(ev.ReasoningDelta(1, 0, "S", "answer", f"{member}{i} ", float(i), member))
    c.add(ev.ReasoningDelta(1, 0, "Other", "answer", "x", 0.0))
    c.flush("S")
    assert [(d.member, d.text) for d in out] == [("a", "a0 a2 a4 "), ("b", "b1 b3 ")]
    c.flush()
    assert out[-1].agent == "Other" and out[-1].member is None


async def test_the_journal_reads_back_whole_with_each_members_text(tmp_path, monkeypatch):
    await _five_member_session(tmp_path, monkeypatch)
    path = tmp_path / "swarm.jsonl"
    printed = subprocess.run([sys.executable, "-m", "arena_tui.engine.journal", str(path)], capture_output=True, text=True, check=True).stdout
    whole = [json.loads(line) for line in printed.splitlines()]
    assert whole == [json.loads(line) for line in expanded_lines(path)]
    deltas = [d for d in whole if d["type"] == "ReasoningDelta"]
    assert deltas and all(set(d) >= {"agent", "kind", "text", "member"} for d in deltas)
    talker = "".join(d["text"] for d in deltas if d["member"] == "talker" and d["cycle"] == 1)
    vote1 = next(d for d in whole if d["type"] == "SwarmVoted")
    assert talker == next(m["text"] for m in vote1["members"] if m["member"] == "talker")  # the stream and the journaled answer agree
    assert journal_dicts(path) == whole[1:] or journal_dicts(path)[0]["type"] == "SessionStarted"
    assert KEY not in path.read_text(encoding="utf-8")


def _expanded_edit(path, out, kind: str, change, nth: int = 0) -> None:
    """Write ``path``'s events whole to ``out``, the ``nth`` event of type ``kind`` changed (``change``
    returns the new dict, or None to drop it)."""
    lines, seen = [], 0
    for raw in expanded_lines(path):
        d = json.loads(raw)
        if d.get("type") == kind:
            if seen == nth:
                d = change(d)
            seen += 1
        if d is not None:
            lines.append(json.dumps(d))
    assert seen > nth, f"no {kind}"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _member(name: str, change):
    def edit(d: dict) -> dict:
        for m in d["members"]:
            if m["member"] == name:
                change(m)
        return d

    return edit


@pytest.mark.parametrize(
    "name,kind,change,said",
    [
        ("a member's cost", "SwarmVoted", _member("gpt-5", lambda m: m.update(cost_usd=m["cost_usd"] + 1.0)), "members[gpt-5].cost_usd"),
        ("a member's answer", "SwarmVoted", _member("gpt-5", lambda m: m.update(text=m["text"].replace('"hold"', '"buy_to_enter"'))), "members[gpt-5].votes"),
        ("a prose member said to vote", "SwarmVoted", _member("talker", lambda m: m.update(failure_kind=None, failure_reason=None)), "members[talker].failure_kind: recorded None, recomputed 'parse'"),
        ("a member's vote", "SwarmVoted", _member("gpt-5", lambda m: m["votes"].update(BNB="buy_to_enter")), "members[gpt-5].votes"),
        ("the tally", "SwarmVoted", lambda d: {**d, "tally": {**d["tally"], "BNB": {"buy_to_enter": 3}}}, "tally"),
        ("the result", "SwarmVoted", lambda d: {**d, "result": {**d["result"], "BNB": "sell_to_enter"}}, "result"),
        ("the quorum", "SwarmVoted", lambda d: {**d, "quorum": 1}, "quorum"),
        ("a vote of no swarm", "SwarmVoted", lambda d: {**d, "agent": "Nobody"}, "'Nobody' is no swarm"),
        ("the vote dropped", "SwarmVoted", lambda d: None, "comes without the vote"),
        ("the swarm's answer", "AgentReplied", lambda d: {**d, "text": d["text"].replace('"signal": "buy_to_enter"', '"signal": "sell_to_enter"')}, "text"),
        ("the swarm's cost", "AgentReplied", lambda d: {**d, "cost_usd": d["cost_usd"] * 2}, "cost_usd"),
        ("a member's text in another swarm", "ReasoningDelta", lambda d: {**d, "member": "stranger"}, "'stranger' is not a member of Swarm"),
    ],
)
async def test_a_tampered_vote_is_caught(tmp_path, monkeypatch, name, kind, change, said):
    await _five_member_session(tmp_path, monkeypatch, cycles=1)
    assert (await reexecute(tmp_path / "swarm.jsonl")).difference is None
    edited = tmp_path / "edited.jsonl"
    _expanded_edit(tmp_path / "swarm.jsonl", edited, kind, change)
    diff = (await reexecute(edited)).difference
    assert diff is not None and said in str(diff), f"{name}: {diff}"


async def test_a_swarm_the_header_does_not_configure_is_refused(tmp_path, monkeypatch):
    await _five_member_session(tmp_path, monkeypatch, cycles=1)

    def no_swarm(d: dict) -> dict:
        d["config"]["agents"][0].update(kind="baseline", strategy="always_flat", members=[])
        return d

    edited = tmp_path / "edited.jsonl"
    _expanded_edit(tmp_path / "swarm.jsonl", edited, "SessionStarted", no_swarm)
    diff = (await reexecute(edited)).difference
    assert diff is not None and "no swarm" in str(diff), str(diff)  # (its members' text, or its vote, is refused)


# --- what a person sees -------------------------------------------------------------------------------


async def test_the_headless_summary_lists_the_members(tmp_path, monkeypatch):
    from rich.console import Console

    from arena_tui.headless import swarms_table

    _, session = await _five_member_session(tmp_path, monkeypatch)
    console = Console(width=120, record=True)
    console.print(swarms_table(session.state))
    text = console.export_text()
    assert "Swarms" in text and "gemini-a" in text and "server ×2" in text and "parse ×2" in text and "100%" in text and "0/2" in text


async def test_the_swarm_pane_shows_each_members_section(tmp_path, monkeypatch):
    """Replayed on the console: each member's text under its own ``── member <name> ──`` line, its
    answer folded once it voted (or not used, with why), a line per member and the vote's line."""
    from arena_tui.engine.replay import ReplaySession
    from arena_tui.tui.app import make_app

    await _five_member_session(tmp_path, monkeypatch)
    session = ReplaySession.from_journal(tmp_path / "swarm.jsonl", paused=True)
    app = make_app(session, clock=lambda: 1763640000.0)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.console_screen
        await app.events_rendered()
        await pilot.press("end")
        await pilot.pause()
        await app.events_rendered()
        pane = screen.panes["Swarm"]
        headers = pane.text("member")
        for name in ("gemini-a", "gemini-b", "gpt-5", "talker"):
            assert f"── member {name} ──" in headers
        folds = [f.text for f in pane.folds]
        assert any(f.startswith("answer · gemini-a · voted") for f in folds)
        assert any(f.startswith("answer · talker · not used (parse)") for f in folds)
        votes = pane.text("vote")
        assert "◆ majority vote · 3 of 5 voted (quorum 3): BNB buy (buy_to_enter 2, hold 1); others hold" in votes
        assert "· gemini-a: BNB buy" in votes and "· gpt-5: hold" in votes
        assert "⚠ broken (server)" in pane.text("failed")
        assert "gemini-b" in pane.text("reasoning", 1) or pane.text("reasoning", 1)  # thinking streamed in its section
