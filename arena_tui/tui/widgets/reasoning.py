"""One pane per agent: its reasoning and answer streaming token by token, with what became of them
(parsed decisions, rejections, fills, exits, failures) inline, for the last few cycles."""

from __future__ import annotations

from typing import Any, ClassVar, Iterable, Mapping

from textual.binding import Binding, BindingType
from textual.reactive import reactive

from arena_tui.tui import formatting as fmt
from arena_tui.tui.widgets.stream import StreamView

HISTORY_CYCLES = 6
"""Cycles each pane keeps; older ones are dropped so a long session never grows the screen."""


class AgentPane(StreamView, inherit_bindings=False):
    """The pane of one agent, titled ``<n> <name>`` (rule-based agents labelled so), with its account
    value and status in the subtitle: thinking, answered (latency, tokens, cost), failed or HALTED.

    Each cycle opens with a rule (``── cycle 12 · 10-17 04:00``); the reasoning (dim italics) and the
    answer stream in as they arrive; then one line per decision (▸), rejection (✗ with the risk rule),
    fill (●), exit (■), funding payment, failure (⚠) or halt (✖). The app calls the methods below for
    the agent's events; the pane never talks to the engine.
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
    ]
    """Scrolling only: left/right/home/end stay free for the replay keys."""

    status: reactive[str] = reactive("waiting for the first cycle")
    """What the agent is doing, shown in the pane's subtitle."""

    def __init__(self, name: str, kind: str, model: str, index: int) -> None:
        super().__init__(classes=f"-{kind}")
        self.agent_name = name
        self.kind = kind
        self.model = model
        self.index = index
        self.halted = False
        self.cycles: list[int] = []
        self._value = ""
        label = fmt.agent_label(name, kind)
        self.border_title = f"{index} {label}" if index <= 9 else label
        self.add_line("placeholder", "Waiting for the first cycle…", 0, prefix="")

    def on_mount(self) -> None:
        self._draw_status()

    def watch_status(self) -> None:
        self._draw_status()

    def _draw_status(self) -> None:
        model = self.model if self.model and self.kind != "rule-based" else ""
        self.border_subtitle = " · ".join(p for p in (self.status, self._value, model) if p)

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

    def account(self, account_value: float, return_pct: float) -> None:
        """``AccountUpdated``: the account value and return in the subtitle."""
        self._value = f"{fmt.money(account_value)} {fmt.percent(return_pct)}"
        self._draw_status()

    def started(self) -> None:
        """``AgentStarted``: the agent has the prompt."""
        self.status = "thinking…"

    def write(self, cycle: int, time: int, kind: str, text: str) -> None:
        """``ReasoningDelta``: stream ``text`` (reasoning | answer)."""
        self._open(cycle, time)
        self.append("answer" if kind == "answer" else "reasoning", text, cycle)

    def line(self, cycle: int, time: int, kind: str, text: str) -> None:
        """An inline line of ``kind`` (decision, rejected, fill, profit, loss, funding, failed, halted)."""
        self._open(cycle, time)
        self.add_line(kind, text, cycle)

    def replied(self, latency_s: float, output_tokens: int, cost_usd: float) -> None:
        """``AgentReplied``: the answer is complete."""
        parts = [f"answered in {latency_s:.1f} s"]
        if output_tokens:
            parts.append(f"{output_tokens:,} tok")
        if cost_usd:
            parts.append(f"${cost_usd:.4f}")
        self.status = " · ".join(parts)

    def decisions(self, cycle: int, time: int, decisions: Iterable[Mapping[str, Any]]) -> None:
        """``DecisionParsed``: one line per trade decision, holds folded into one line."""
        if self.status.startswith("thinking"):
            self.status = ""
        holds: list[str] = []
        for d in decisions:
            if d.get("signal", "hold") == "hold":
                holds.append(str(d.get("coin", "?")))
            else:
                self.line(cycle, time, "decision", decision_text(d))
        if holds:
            self.line(cycle, time, "hold", f"· hold {' '.join(holds)}")

    def failed(self, cycle: int, time: int, kind: str, reason: str) -> None:
        """``AgentFailed``: the agent holds this cycle."""
        self.add_class("-failed")
        self.status = f"failed: {kind}"
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
        self.status = "waiting for the first cycle"

    def text(self, kind: str = "reasoning", cycle: int | None = None) -> str:
        """The ``kind`` text held (all kept cycles, or one), newlines as streamed."""
        return self.text_of(kind, cycle)


def decision_text(d: Mapping[str, Any]) -> str:
    """``▸ BTC buy_to_enter 0.05 @ 10x · SL 104,000.0 · TP 110,000.0 · conf 0.65`` from a decision dict."""
    head = f"▸ {d.get('coin', '?')} {d.get('signal', '?')}"
    if d.get("quantity") is not None:
        head += f" {fmt.quantity(d['quantity'])}"
        if d.get("leverage") is not None:
            head += f" @ {fmt.leverage(d['leverage'])}"
    extras = []
    if d.get("stop_loss") is not None:
        extras.append(f"SL {fmt.price(d['stop_loss'])}")
    if d.get("profit_target") is not None:
        extras.append(f"TP {fmt.price(d['profit_target'])}")
    if d.get("confidence") is not None:
        extras.append(f"conf {d['confidence']:g}")
    return " · ".join([head, *extras])
