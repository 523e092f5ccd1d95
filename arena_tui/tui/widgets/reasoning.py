"""One pane per agent: its reasoning and answer streaming token by token, with what became of them
(parsed decisions, rejections, fills, exits, failures) inline, for the last few cycles."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.stream import Block, StreamView

if TYPE_CHECKING:
    from arena_tui.engine import events as ev
    from arena_tui.engine.state import AgentBook, ArenaState

_CLASS_SAFE = re.compile(r"[a-z][a-z0-9-]{0,30}")
"""An agent kind that may name a CSS class (``-llm``, ``-rule-based``); others (a journal's) get none."""

HISTORY_CYCLES = 6
"""Cycles each pane keeps; older ones are dropped so a long session never grows the screen."""


def agent_numbers(names: Iterable[str]) -> dict[str, int]:
    """Each agent's number: its 1-based position in the session's agent list (the config's order,
    the header's ``agents``), a name listed twice keeping its first place. The pane's title, the
    focus keys (1-9) and the leaderboard's agent column all use it."""
    numbers: dict[str, int] = {}
    for name in names:
        numbers.setdefault(name, len(numbers) + 1)
    return numbers


def agent_number(state: "ArenaState", name: str) -> int | None:
    """The number of agent ``name`` in the session ``state`` holds (see ``agent_numbers``; the
    state's ``agents`` are in the header's order), or None for a name it does not know (the
    benchmark)."""
    for number, known in enumerate(state.agents, start=1):
        if known == name:
            return number
    return None


REASON_CELLS = 60
"""At most this much of a failure's or halt's reason goes in a pane's subtitle (the inline ⚠ line
has it whole)."""


def first_sentence(reason: str, limit: int = REASON_CELLS, agent: str = "") -> str:
    """The first sentence of a failure or halt reason, without its full stop (``"no JSON object in
    the answer; holding this cycle."`` -> ``"no JSON object in the answer"``) nor a leading
    ``agent`` name (``"gpt-5: no answer within 90 s"`` -> ``"no answer within 90 s"``: the pane
    is the agent's), cut to ``limit`` characters with an ellipsis."""
    reason = reason.strip()
    if agent and reason.startswith(agent) and len(reason) > len(agent) + 2:
        reason = reason[len(agent) :].lstrip(": ")
    head = re.split(r"(?<=[.;!?])\s+", reason, maxsplit=1)[0]
    head = head.rstrip(".;") or reason.strip()
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def call_summary(reply: ev.AgentReplied) -> tuple[str, ...]:
    """The last model call, longest form first: ``answered in 65.4 s · 1,309 tok (812 reasoning) ·
    $0.0123``, then shorter ones down to ``65.4 s`` (tokens are output tokens, reasoning tokens
    among them; cost in USD, left out when zero); a failed call: ``failed after 90.0 s``. An answer
    no call was made for says so instead of a time it did not take: ``recorded answer`` (a recorded
    agent's, e.g. Alpha Arena Season 1's: the journal keeps no latency for it) or ``from the answer
    cache``."""
    latency = f"{reply.latency_s:.1f} s"
    if reply.failure_kind is not None:
        return (f"failed after {latency}", latency)
    if reply.finish_reason == "recorded":
        return ("recorded answer", "recorded")
    if reply.cached:
        return ("from the answer cache", "cached")
    cost = f"${reply.cost_usd:.4f}" if reply.cost_usd else ""
    tokens = f"{reply.output_tokens:,} tok" if reply.output_tokens else ""
    reasoning = f"{tokens} ({reply.reasoning_tokens:,} reasoning)" if tokens and reply.reasoning_tokens else tokens

    def join(*parts: str) -> str:
        return " · ".join(p for p in parts if p)

    forms = (join(f"answered in {latency}", reasoning, cost), join(latency, reasoning, cost), join(latency, tokens, cost), join(latency, cost), latency)
    return tuple(dict.fromkeys(forms))


def fit(slots: list[tuple[str, ...]], order: Iterable[int], room: int) -> str:
    """Parts joined by `` · `` in at most ``room`` cells: ``slots`` hold each part's forms, longest
    first ("" to leave it out); while the line is too wide, each entry of ``order`` (least needed
    first; a slot named n times steps down n forms there) shortens its slot by one form; what is
    still too wide is cut with an ellipsis."""
    pick = [0] * len(slots)

    def text() -> str:
        return " · ".join(forms[i] for forms, i in zip(slots, pick) if forms and forms[i])

    for slot in order:
        if cell_len(text()) <= room:
            break
        if pick[slot] < len(slots[slot]) - 1:
            pick[slot] += 1
    line = text()
    if cell_len(line) > room:
        cut = Text(line)
        cut.truncate(max(1, room), overflow="ellipsis")
        line = cut.plain
    return line


_COIN_LINE = re.compile(r"^([A-Z0-9]{2,12}(?: [A-Z0-9]{2,12})*): (.+)$")
_REPEATED = re.compile(r"^(.*) ×(\d+)$")


def collapse(shown: str, line: str) -> str | None:
    """One line for ``shown`` (a line, or lines already collapsed) followed by ``line``, when they
    repeat: ``BTC: stay flat (cash $10,000).`` then ``ETH: stay flat (cash $10,000).`` give
    ``BTC ETH: stay flat (cash $10,000).``; the same line twice gives ``<line> ×2``. None when they
    differ."""
    if not line.strip():
        return None
    one = _COIN_LINE.match(line)
    many = _COIN_LINE.match(shown)
    if one and many and " " not in one.group(1) and one.group(2) == many.group(2):
        return f"{many.group(1)} {one.group(1)}: {one.group(2)}"
    if shown == line:
        return f"{line} ×2"
    repeated = _REPEATED.match(shown)
    if repeated and repeated.group(1) == line:
        return f"{line} ×{int(repeated.group(2)) + 1}"
    return None


class AgentPane(StreamView, inherit_bindings=False):
    """The pane of one agent, titled ``<n> <name> · <account value> <return>`` (``n`` the agent's
    number, ``agent_numbers``; rule-based agents labelled so). The subtitle says, from the session's
    state (``show_book``): a failing agent's failure (``⚠ timeout: no answer within 90 s · 2 in a
    row``, in the warning colour, until a decision parses again) or a halted one's reason (``✖
    HALTED: ...``, in the error colour); what it is doing (thinking, answering); its last model
    call (``answered in 65.4 s · 1,309 tok (812 reasoning) · $0.0123``, kept until the next call
    ends; rule-based agents have none); on short screens its open positions; and the model. Each
    part is shortened, then left out, so the line fits the pane's width (``fit``).

    Each cycle opens with a rule (``── cycle 12 · 10-17 04:00``); the reasoning (dim italics) and the
    answer (muted, one line per answer line) stream in as they arrive. Once the answer is parsed (or
    the agent failed) it folds into one line (``▸ answer · 6 decisions · 412 chars``; ``a`` or a
    click unfolds it), so the reasoning stays in view, followed by one line per entry (▲ buy,
    ▼ sell), close (□) and rejection (✗ with the risk rule), all holds on one line, and the fills
    (●), exits (■ with the PnL), funding payments, failures (⚠) and halts (✖). The app calls the
    methods below for the agent's events; the pane never talks to the engine.

    Reasoning and answers render as Markdown (``StreamView``). A rule-based agent's reasoning lines
    that repeat collapse into one as they arrive (``collapse``: ``BTC ETH SOL: stay flat (cash
    $10,000).``), its text kept whole.

    ``name``, ``kind`` and ``model`` come from a config or a journal: the title and subtitle are
    ``Text`` built from ``safe_line`` of them, and an unusual ``kind`` gets no CSS class of its own.
    Streamed and inline text is made safe by ``StreamView``.
    """

    DEFAULT_CSS = """
    AgentPane {
        height: 1fr;
        border: round $arena-rule;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 0 0 1;
        scrollbar-size-vertical: 1;
        &:focus { border: round $accent; }
        &.-rule-based { border-title-color: $arena-rule-based; }
        &.-failed { border: round $warning; border-subtitle-color: $text-warning; }
        &.-halted { border: round $error; border-subtitle-color: $text-error; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_home", "Oldest", show=False),
        Binding("ctrl+end", "scroll_end", "Newest", show=False),
        Binding("a", "toggle_answers", "Answers", tooltip="Show or hide this agent's parsed answers in full", id="answers"),
    ]
    """Scrolling and ``a`` (answers): left/right/home/end stay free for the replay keys."""

    FOLD_HINT = (" · a: show", " · a: hide")
    """The key that unfolds a parsed answer, named on its line when there is room."""

    status: reactive[str] = reactive("waiting for the first cycle")
    """What the agent is doing (waiting, thinking…, answering…; "" between calls), in the subtitle."""

    def __init__(self, name: str, kind: str, model: str, number: int) -> None:
        super().__init__(classes=f"-{kind}" if _CLASS_SAFE.fullmatch(kind) else None)
        self.agent_name = name
        self.kind = kind
        self.model = model
        self.number = number
        """The agent's number (``agent_numbers``): in the title, and its focus key when 1-9."""
        self.shown_name = safe_line(fmt.agent_label(name, kind), limit=60)
        """The title's agent name as drawn (safe, one line)."""
        self.halted = False
        self.cycles: list[int] = []
        self._value = ""
        self._return = ""
        self._open_positions = 0
        self._book: AgentBook | None = None
        self._value_in_title = True
        self.show_open = False
        self._answers_shown = False
        self._section: tuple[int, str] | None = None
        """A swarm's member whose text streams last (cycle, member): its section is open."""
        self._member_answers: dict[tuple[int, str], set[int]] = {}
        """A swarm member's answer blocks this pane holds, by (cycle, member): folded apart once it voted."""
        self._draw_title()
        self.add_line("placeholder", "Waiting for the first cycle…", 0, prefix="")

    def on_mount(self) -> None:
        self._draw_title()
        self._draw_status()

    def resized(self) -> None:
        """The pane's width changed (``StreamView.refit``): fit the title and subtitle to it."""
        self._draw_title()
        self._draw_status()

    def watch_status(self) -> None:
        self._draw_status()

    def _room(self) -> int:
        """Cells a border label may take (the corners and a space each side left out)."""
        width = self.outer_size.width
        return width - 4 if width > 8 else 1_000

    def _draw_title(self) -> None:
        """``<n> <name>``, then the account value and return where they fit (else the subtitle
        shows them: ``_value_in_title``)."""
        name = f"{self.number} {self.shown_name}"
        account = f"{self._value} {self._return}".strip()
        room = self._room() - cell_len(name) - 3
        value = account if cell_len(account) <= room else self._value if cell_len(self._value) <= room else ""
        self._value_in_title = bool(value) or not account
        title = Text(name)
        if value:
            title.append(f" · {value}", Style(bold=False))
        self.border_title = title

    def _draw_status(self) -> None:
        book = self._book
        mark: tuple[str, ...] = ()
        call: tuple[str, ...] = ()
        # the reasons and kinds come from the session (a server's error body, a journal): made safe
        if book is not None and book.halted is not None:
            mark = (f"✖ HALTED: {safe_line(first_sentence(book.halted, agent=self.agent_name), limit=None)}",)
        elif book is not None and book.last_failure is not None:
            failure = book.last_failure
            head = f"⚠ {safe_line(failure.kind, limit=40)}: {safe_line(first_sentence(failure.reason, agent=self.agent_name), limit=None)}"
            n = book.consecutive_failures
            mark = (f"{head} · {n} in a row", head) if n > 1 else (head,)
        elif book is not None and book.last_fallback is not None:
            fb = book.last_fallback
            by = safe_line(fb.fallback, limit=40)
            mark = (f"↪ answered by {by} ({safe_line(fb.kind, limit=40)})", f"↪ {by}")
        if book is not None and book.last_reply is not None and book.halted is None and self.kind != "rule-based":
            call = (*call_summary(book.last_reply), "")
        live = "" if book is not None and book.halted is not None else self.status
        account = "" if self._value_in_title else f"{self._value} {self._return}"
        held = f"{self._open_positions} open" if self.show_open and self._open_positions else ""
        model = safe_line(self.model, limit=60) if self.model and self.kind != "rule-based" else ""
        slots = [mark, (live, live.split(" ")[0], ""), call, (account, self._value, ""), (held, ""), (model, "")]
        # least needed first: the model, the call's detail (down to its latency), the account's
        # return, the live status's detail, then the account, the call, the status, the count
        order = [5, 2, 2, 2, 2, 3, 1, 3, 2, 1, 4, 0]
        self.border_subtitle = Text(safe_line(fit(slots, order, self._room()), limit=None))

    def show_book(self, book: "AgentBook") -> None:
        """Draw what the session's state holds of the agent: account value, return and open
        positions, its last call, its failure (``-failed``) or halt (``-halted``)."""
        self._book = book
        if book.updated:
            self._value, self._return = fmt.money(book.account_value), fmt.percent(book.return_pct)
        self._open_positions = len(book.positions)  # (a fill shows before the account update)
        self.set_class(book.halted is None and book.last_failure is not None, "-failed")
        self.set_class(book.halted is not None, "-halted")
        self._draw_title()
        self._draw_status()

    @property
    def call_line(self) -> str:
        """The last model call as the subtitle's longest form puts it ("" before any, or for a
        rule-based agent)."""
        book = self._book
        if book is None or book.last_reply is None or self.kind == "rule-based":
            return ""
        return call_summary(book.last_reply)[0]

    def set_show_open(self, show: bool) -> None:
        """Name the number of open positions in the subtitle (on short screens, no positions table)."""
        if show != self.show_open:
            self.show_open = show
            self._draw_status()

    # -- cycles -----------------------------------------------------------------------------------

    def start_cycle(self, cycle: int, time: int) -> None:
        """Open ``cycle`` with its rule and drop cycles past the history."""
        if cycle in self.cycles:
            return
        if not self.cycles:
            self.drop_kind("placeholder")
        self.cycles.append(cycle)
        if len(self.cycles) > HISTORY_CYCLES:
            self.cycles = self.cycles[-HISTORY_CYCLES:]
            self.drop_before(self.cycles[0])
            self._member_answers = {k: v for k, v in self._member_answers.items() if k[0] >= self.cycles[0]}
        when = f" · {fmt.short_time(time)}" if time > 0 else ""
        self.add_line("rule", f"── cycle {cycle}{when} " + "─" * 40, cycle, prefix="")
        if not self.halted:
            self.status = ""

    def _open(self, cycle: int, time: int) -> None:
        if not self.cycles or self.cycles[-1] != cycle:
            self.start_cycle(cycle, time)

    # -- events -----------------------------------------------------------------------------------

    def started(self) -> None:
        """``AgentStarted``: the agent has the prompt."""
        self.status = "thinking…"

    def write(self, cycle: int, time: int, kind: str, text: str, member: str | None = None) -> None:
        """``ReasoningDelta``: stream ``text`` (reasoning | answer). A swarm ``member``'s text goes in
        its own section, opened by ``── member <name> ──`` (again when another member's text came
        between: concurrent members' streams interleave)."""
        self._open(cycle, time)
        if member is not None and self._section != (cycle, member):
            self._section = (cycle, member)
            self.add_line("member", f"── member {safe_line(member, limit=60)} ──", cycle, prefix="")
        elif member is None:
            self._section = None
        before = len(self.blocks)
        if kind == "answer":
            if self.status in ("", "thinking…"):
                self.status = "answering…"
            self.append("answer", text, cycle)
            if member is not None:
                ids = self._member_answers.setdefault((cycle, member), set())
                ids.update(id(b) for b in self.blocks[max(before - 1, 0):] if b.kind == "answer" and b.cycle == cycle and b.children is None)
        else:
            self.append("reasoning", text, cycle)

    def settled(self, block: Block) -> None:
        """A rule-based agent's reasoning line that repeats the one before it joins it (``collapse``)."""
        blocks = self.blocks
        if self.kind != "rule-based" or block.kind != "reasoning" or len(blocks) < 2 or blocks[-1] is not block:
            return
        before = blocks[-2]
        if before.kind != "reasoning" or before.cycle != block.cycle or before.prefix or before.children is not None:
            return
        shown = collapse(before.text if before.shown is None else before.shown, block.text)
        if shown is not None:
            self.merge_last(shown)

    def line(self, cycle: int, time: int, kind: str, text: str | tuple[str, ...]) -> None:
        """An inline line of ``kind`` (decision, buy, sell, hold, rejected, fill, profit, loss,
        funding, failed, halted); its wrapped lines are indented under its text. A tuple of chunks
        is never split inside a chunk."""
        self._open(cycle, time)
        self.add_line(kind, text, cycle, hang=2)

    def fold_answer(self, cycle: int, outcome: str) -> None:
        """Fold ``cycle``'s streamed answer into ``▸ answer · <outcome> · <n> chars``."""
        # the answer blocks not folded yet (after a fallback, the primary's answer was folded apart)
        chars = len("\n".join(b.text for b in self._blocks if b.kind == "answer" and b.cycle == cycle and b.children is None))
        self.fold("answer", cycle, ("answer", outcome, f"{chars:,} chars"), expanded=self._answers_shown)

    def action_toggle_answers(self) -> None:
        """``a``: unfold every parsed answer in the pane, or fold them all again."""
        self._answers_shown = self.toggle_folds()

    def replied(self) -> None:
        """``AgentReplied``: the call is over (its latency, tokens and cost come from the state)."""
        if self.status.startswith(("thinking", "answering")):
            self.status = ""

    def decisions(self, cycle: int, time: int, decisions: Iterable[Mapping[str, Any]]) -> None:
        """``DecisionParsed``: fold the answer, then one line per entry, close or other signal and
        one line for all the holds."""
        if self.status.startswith(("thinking", "answering")):
            self.status = ""
        decisions = list(decisions)
        self._open(cycle, time)
        self.fold_answer(cycle, f"{len(decisions)} decision{'' if len(decisions) == 1 else 's'}")
        holds: list[str] = []
        for d in decisions:
            signal = d.get("signal", "hold")
            if signal == "hold":
                holds.append(str(d.get("coin", "?")))
            else:
                kind = {"buy_to_enter": "buy", "sell_to_enter": "sell"}.get(str(signal), "decision")
                self.line(cycle, time, kind, decision_chunks(d))
        if holds:
            self.line(cycle, time, "hold", f"· hold: {' '.join(holds)}")

    def failed(self, cycle: int, time: int, kind: str, reason: str) -> None:
        """``AgentFailed``: the agent holds this cycle (its answer, if any, is folded); the subtitle's
        mark comes from the state."""
        if self.status.startswith(("thinking", "answering")):
            self.status = ""
        self._open(cycle, time)
        self.fold_answer(cycle, f"not used ({kind})")
        self.line(cycle, time, "failed", f"⚠ failed ({kind}): {reason}")

    def fell_back(self, cycle: int, time: int, model: str, kind: str, reason: str, fallback: str) -> None:
        """``AgentFellBack``: the agent's own model failed (its answer, if any, is folded) and its
        fallback is asked; the fallback's text streams in below this line."""
        self._open(cycle, time)
        self.fold_answer(cycle, f"not used ({kind})")
        said = first_sentence(reason, agent=self.agent_name)
        self.line(cycle, time, "fallback", (f"↪ {model} failed ({kind}): {said};", f" {fallback} answers"))
        self.status = "thinking…"  # the fallback's turn

    def swarm_voted(self, cycle: int, time: int, rule: str, quorum: int, members: Iterable[Mapping[str, Any]], tally: Mapping, result: Mapping) -> None:
        """``SwarmVoted``: each member's answer folds in its section (``▸ answer · voted`` or ``not
        used (server)``), then one line per member (what it voted, or why it did not) and the vote's
        line: ``◆ majority vote · 3 of 5 voted (quorum 3): BNB buy (buy_to_enter 2, hold 1); others hold``."""
        self._open(cycle, time)
        self._section = None
        members = [m for m in members if isinstance(m, Mapping)]
        for m in members:
            name = str(m.get("member", "?"))
            ids = self._member_answers.pop((cycle, name), None)
            kind = m.get("failure_kind")
            if ids:
                chars = len("\n".join(b.text for b in self.blocks if id(b) in ids))
                outcome = "voted" if kind is None else f"not used ({kind})"
                self.fold("answer", cycle, ("answer", name, outcome, f"{chars:,} chars"), expanded=self._answers_shown, only=ids)
        voted = 0
        for m in members:
            name = safe_line(str(m.get("member", "?")), limit=40)
            kind = m.get("failure_kind")
            if kind is None:
                voted += 1
                votes = m.get("votes") if isinstance(m.get("votes"), Mapping) else {}
                moves = [f"{c} {_SIGNAL_WORDS.get(str(s), str(s))}" for c, s in votes.items() if s != "hold"]
                self.line(cycle, time, "vote", (f"· {name}:", *(moves or ["hold"])))
            else:
                said = first_sentence(str(m.get("failure_reason") or ""), agent=str(m.get("member", "")))
                self.line(cycle, time, "failed", f"⚠ {name} ({kind}): {said}")
        head = f"◆ {rule} vote · {voted} of {len(members)} voted (quorum {quorum})"
        if not result:
            self.line(cycle, time, "vote", (head + ":", "no quorum, holding"))
            return
        chosen = []
        for coin, signal in result.items():
            if signal == "hold":
                continue
            counts = tally.get(coin) if isinstance(tally, Mapping) else None
            shown = ", ".join(f"{s} {c:g}" if isinstance(c, float) else f"{s} {c}" for s, c in counts.items()) if isinstance(counts, Mapping) else ""
            chosen.append(f"{coin} {_SIGNAL_WORDS.get(str(signal), str(signal))}" + (f" ({shown});" if shown else ";"))
        self.line(cycle, time, "vote", (head + ":", *chosen, "others hold" if chosen else "all hold"))

    def halt(self, cycle: int, time: int, reason: str, *, quiet: bool = False) -> None:
        """``AgentHalted``: stopped for the rest of the session (``quiet``: mark it without a line)."""
        self.halted = True
        self.add_class("-halted")
        self.status = ""
        if not quiet:
            self.line(cycle, time, "halted", f"✖ HALTED: {reason}")

    def reset(self) -> None:
        """Forget everything (a replay jumped between cycles)."""
        self.halted = False
        self.cycles = []
        self._section = None
        self._member_answers = {}
        self.clear_blocks()
        self.add_line("placeholder", "Waiting for the first cycle…", 0, prefix="")
        self.remove_class("-failed", "-halted")
        self._value = self._return = ""
        self._open_positions = 0
        self._book = None
        self._draw_title()
        self.status = "waiting for the first cycle"

    def text(self, kind: str = "reasoning", cycle: int | None = None) -> str:
        """The ``kind`` text held (all kept cycles, or one), newlines as streamed."""
        return self.text_of(kind, cycle)


_SIGNAL_WORDS = {"buy_to_enter": "buy", "sell_to_enter": "sell"}


def decision_chunks(d: Mapping[str, Any]) -> tuple[str, ...]:
    """One decision dict (``Decision`` fields) as the pieces of its line, which wraps between them
    (``stop 105,000.0`` stays whole): ``▲ BTC buy 0.05 @10x stop 105,000.0 tp 112,000.0 conf 65%``
    for an entry (▼ for a sell), ``□ ETH close`` for a close. Prices in USD, quantity in the base
    coin; confidence 0-1 (or 0-100) shown in percent."""
    signal = str(d.get("signal", "?"))
    marker = {"buy_to_enter": "▲", "sell_to_enter": "▼", "close": "□"}.get(signal, "▸")
    parts = [f"{marker} {d.get('coin', '?')} {_SIGNAL_WORDS.get(signal, signal)}"]
    if d.get("quantity") is not None:
        parts.append(fmt.quantity(d["quantity"]))
    if d.get("leverage") is not None:
        parts.append(f"@{fmt.leverage(d['leverage'])}")
    if d.get("stop_loss") is not None:
        parts.append(f"stop {fmt.price(d['stop_loss'])}")
    if d.get("profit_target") is not None:
        parts.append(f"tp {fmt.price(d['profit_target'])}")
    confidence = d.get("confidence")
    if isinstance(confidence, (int, float)):
        parts.append(f"conf {confidence * 100 if confidence <= 1 else confidence:.0f}%")
    return tuple(parts)
