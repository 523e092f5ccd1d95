"""One pane per agent: its reasoning and answer streaming token by token, with what became of them
(parsed decisions, rejections, fills, exits, failures) inline, for the last few cycles."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Iterable, Mapping

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.stream import StreamView

_CLASS_SAFE = re.compile(r"[a-z][a-z0-9-]{0,30}")
"""An agent kind that may name a CSS class (``-llm``, ``-rule-based``); others (a journal's) get none."""

HISTORY_CYCLES = 6
"""Cycles each pane keeps; older ones are dropped so a long session never grows the screen."""


class AgentPane(StreamView, inherit_bindings=False):
    """The pane of one agent, titled ``<n> <name>`` (rule-based agents labelled so), with its account
    value and status in the subtitle: thinking, answering, answered (latency, tokens, cost), failed
    or HALTED.

    Each cycle opens with a rule (``── cycle 12 · 10-17 04:00``); the reasoning (dim italics) and the
    answer (muted, one line per answer line) stream in as they arrive. Once the answer is parsed (or
    the agent failed) it folds into one line (``▸ answer · 6 decisions · 412 chars``; ``a`` or a
    click unfolds it), so the reasoning stays in view, followed by one line per entry (▲ buy,
    ▼ sell), close (□) and rejection (✗ with the risk rule), all holds on one line, and the fills
    (●), exits (■ with the PnL), funding payments, failures (⚠) and halts (✖). The app calls the
    methods below for the agent's events; the pane never talks to the engine.

    ``name``, ``kind`` and ``model`` come from a config or a journal: the title and subtitle are
    ``Text`` built from ``safe_line`` of them, and an unusual ``kind`` gets no CSS class of its own.
    Streamed and inline text is made safe by ``StreamView``.
    """

    DEFAULT_CSS = """
    AgentPane {
        height: 1fr;
        border: round $panel-lighten-2;
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
    """What the agent is doing, shown in the pane's subtitle."""

    def __init__(self, name: str, kind: str, model: str, index: int) -> None:
        super().__init__(classes=f"-{kind}" if _CLASS_SAFE.fullmatch(kind) else None)
        self.agent_name = name
        self.kind = kind
        self.model = model
        self.shown_name = safe_line(fmt.agent_label(name, kind), limit=60)
        """The title's agent name as drawn (safe, one line)."""
        self.halted = False
        self.cycles: list[int] = []
        self._value = ""
        self._open_positions = 0
        self.show_open = False
        self._answers_shown = False
        self.border_title = Text(f"{index} {self.shown_name}" if index <= 9 else self.shown_name)
        self.add_line("placeholder", "Waiting for the first cycle…", 0, prefix="")

    def on_mount(self) -> None:
        self._draw_status()

    def watch_status(self) -> None:
        self._draw_status()

    def _draw_status(self) -> None:
        model = self.model if self.model and self.kind != "rule-based" else ""
        held = f"{self._open_positions} open" if self.show_open and self._open_positions else ""
        self.border_subtitle = Text(safe_line(" · ".join(p for p in (self.status, self._value, held, model) if p)))

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
        when = f" · {fmt.short_time(time)}" if time > 0 else ""
        self.add_line("rule", f"── cycle {cycle}{when} " + "─" * 40, cycle, prefix="")
        if not self.halted:
            self.set_class(False, "-failed")
            self.status = ""

    def _open(self, cycle: int, time: int) -> None:
        if not self.cycles or self.cycles[-1] != cycle:
            self.start_cycle(cycle, time)

    # -- events -----------------------------------------------------------------------------------

    def account(self, account_value: float, return_pct: float, open_positions: int = 0) -> None:
        """The agent's account as the session's state holds it: value (USD), return (%) and open
        positions in the subtitle (the positions table is hidden on short screens, so the count
        shows there: ``show_open``)."""
        self._value = f"{fmt.money(account_value)} {fmt.percent(return_pct)}"
        self._open_positions = open_positions
        self._draw_status()

    def started(self) -> None:
        """``AgentStarted``: the agent has the prompt."""
        self.status = "thinking…"

    def write(self, cycle: int, time: int, kind: str, text: str) -> None:
        """``ReasoningDelta``: stream ``text`` (reasoning | answer)."""
        self._open(cycle, time)
        if kind == "answer":
            if self.status in ("", "thinking…"):
                self.status = "answering…"
            self.append("answer", text, cycle)
        else:
            self.append("reasoning", text, cycle)

    def line(self, cycle: int, time: int, kind: str, text: str | tuple[str, ...]) -> None:
        """An inline line of ``kind`` (decision, buy, sell, hold, rejected, fill, profit, loss,
        funding, failed, halted); its wrapped lines are indented under its text. A tuple of chunks
        is never split inside a chunk."""
        self._open(cycle, time)
        self.add_line(kind, text, cycle, hang=2)

    def fold_answer(self, cycle: int, outcome: str) -> None:
        """Fold ``cycle``'s streamed answer into ``▸ answer · <outcome> · <n> chars``."""
        chars = len(self.text_of("answer", cycle))
        self.fold("answer", cycle, ("answer", outcome, f"{chars:,} chars"), expanded=self._answers_shown)

    def action_toggle_answers(self) -> None:
        """``a``: unfold every parsed answer in the pane, or fold them all again."""
        self._answers_shown = self.toggle_folds()

    def replied(self, latency_s: float, output_tokens: int, cost_usd: float) -> None:
        """``AgentReplied``: the answer is complete."""
        parts = [f"answered in {latency_s:.1f} s"]
        if output_tokens:
            parts.append(f"{output_tokens:,} tok")
        if cost_usd:
            parts.append(f"${cost_usd:.4f}")
        self.status = " · ".join(parts)

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
        """``AgentFailed``: the agent holds this cycle (its answer, if any, is folded)."""
        self.add_class("-failed")
        self.status = f"failed: {kind}"
        self._open(cycle, time)
        self.fold_answer(cycle, f"not used ({kind})")
        self.line(cycle, time, "failed", f"⚠ failed ({kind}): {reason}")

    def halt(self, cycle: int, time: int, reason: str, *, quiet: bool = False) -> None:
        """``AgentHalted``: stopped for the rest of the session (``quiet``: mark it without a line)."""
        self.halted = True
        self.add_class("-halted")
        self.status = "HALTED"
        if not quiet:
            self.line(cycle, time, "halted", f"✖ HALTED: {reason}")

    def reset(self) -> None:
        """Forget everything (a replay jumped between cycles)."""
        self.halted = False
        self.cycles = []
        self.clear_blocks()
        self.add_line("placeholder", "Waiting for the first cycle…", 0, prefix="")
        self.remove_class("-failed", "-halted")
        self._value = ""
        self._open_positions = 0
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
