"""The help screen (``?`` / F1): the live keys, read from the console's bindings, and what each pane shows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

PANES = """\
## What you see

- **Header**: LIVE (exchange), RECORDED (bundled market on a simulated clock) or REPLAY; the session;
  the simulated clock and the wall clock (UTC); the cycle; the time to the next cycle; RUNNING / PAUSED
  / ENDED (STOPPED: a followed session whose writer is gone).
- **Market**: price (green/red: the tick since the last cycle), change since the session began,
  funding rate, open interest, RSI7/RSI14, EMA20 vs EMA50, MACD and ATR14 on the intraday candles.
- **Agent panes**: each agent's reasoning (dim italics) and answer (muted) as they stream,
  Markdown drawn as it arrives (bold, lists, headings, code; a JSON answer stays verbatim). The
  title is the agent's number (the same on its leaderboard row and its focus key), its name and
  account value; the bottom line says what it does now (thinking…, answering…) and how its last
  call went: `answered in 65.4 s · 1,309 tok (812 reasoning) · $0.0123` (`recorded answer` for a
  recorded model's, `from the answer cache` for a cached one), kept until the next call ends; a failing agent shows `⚠ kind: reason` there, a halted one `✖ HALTED: reason`. Once the
  answer is parsed it folds into one line, `▸ answer · 6 decisions · 412 chars` (press `a` or
  click it to unfold), followed by what became of it: ▲ buy and ▼ sell entries (size, leverage,
  stop, target, confidence), □ closes, `hold:` with the coins held, ✗ rejections with the risk
  rule, ● fills, ■ exits with their net PnL (stop-loss, take-profit, liquidation), ⚠ failures
  and ✖ halts. A rule-based agent's repeated lines collapse into one. The last few cycles are
  kept. On a short screen only the focused agent's pane shows: tab or 1-9 switch.
- **Positions**: every open position with its entry, mark, unrealized PnL, stop, target and
  liquidation price (where they do not all fit, target, stop and entry give way, in that order).
  A position shows as soon as its agent trades, marked at the fill's price; its liquidation price
  comes with the agent's account at the end of the cycle. On a short screen (under 32 rows, or
  too few for every panel) it has no room in the console: `v` shows it, then the whole
  leaderboard, then every notice in full.
- **Status line**: the latest notices (a hint leaves after 30 s, a warning stays). In a replay
  (and, following, those written before you began) notices from the recording are muted and
  start with "recorded:". On a short screen only the newest shows, cut to two lines: `v` (three
  times) shows them all in full.
- **Leaderboard**: ranked by account value (`1.`, `2.`, ...), with each agent's equity line and
  the BTC buy-and-hold benchmark over the same window. The number before an agent's name is its
  own: the same on its pane and its focus key. A failing agent is marked `⚠` with the kind of
  its last failure (`⚠ auth ×3`: three calls in a row); a halted one `✖` (and struck through). `tokens` and
  `cost $` are the model's session totals (input + output tokens; USD at the agent's prices,
  cached and reasoning tokens at their own); with a daily budget, the share spent today follows
  the cost. With rule-based agents only there is no model to pay: PnL, win rate and fees take
  their place. Narrow terminals leave out the least needed columns whole.
- **Sharpe ratio**: mean over standard deviation of the account's hourly returns (the value at
  the last cycle of each UTC hour), risk-free rate 0, annualised by √8,760. It shows once a day of
  hourly returns exists (24); before that it reads `–`, because a few hours of returns give a
  number that means nothing.

## What happened: the views

Each view fills the screen, follows the session as it goes on (live, in a replay and with
`--follow` alike), and closes with esc (or q); T, E and D switch between them.

- **Trades** (`T`): every closed trade: agent, coin, side, net PnL (after fees and funding), exit
  reason (agent, stop-loss, take-profit, LIQUIDATED, session end), holding time, entry and exit
  time (UTC) and price, quantity, leverage, fees and funding. Newest exit first; click a header to
  sort by it (again: the other way), or `s` for the next column and `r` to reverse. The agent
  and coin selects filter the rows (`a` and `c` step through them). Enter opens the trade's agent
  in the detail view. The line on top sums up the rows shown.
- **Equity** (`E`): every agent's account value and the BTC buy-and-hold benchmark (dotted in the
  legend) at every completed cycle, on one value axis (USD) over the session's market time (UTC).
  The legend, best first, gives each line's colour, the agent's number and name, its account value
  now and its return.
- **Detail** (`D` or Enter on the console: the selected agent, the one tab and 1-9 select; tab in
  the view: the next agent): its account (value, return, cash, margin, realized and unrealized
  PnL, fees, funding, maximum drawdown, Sharpe ratio); its open positions with their exit plan
  (stop, target, the invalidation condition it gave); its trades (win rate, average win and
  loss, best, worst, longest hold, per coin); its model calls (totals and the last 10 with their
  latency, tokens and cost); its decisions, newest cycle first: ✓ accepted, or ✗ rejected with the
  risk rule's id and reason, ⚠ failures, and cycles of holds only in one line.
- **Sessions** (`S`): the journals in this session's sessions directory, as `arena-tui sessions`
  lists them (state, cycles, leader and its return, start, market); Enter replays the selected one
  (follows it if a process is writing it): this session stops first, as with q.
- **Season 1** (`A`): Alpha Arena Season 1 on Oct 28 2025, 06:15-12:15 UTC: the six real models
  (Qwen3 Max, DeepSeek V3.1, Claude Sonnet 4.5, Grok 4, Gemini 2.5 Pro, GPT-5) from the accounts
  their first prompt of the day states, answering with their real answers at their real times,
  their real chain of thought (nof1's summary for Grok and Qwen) streaming into their panes. The
  showcase journal is replayed when the sessions directory has it, else the preset runs
  (`arena-tui --preset season1`). This session stops first, as with q.
"""


class HelpScreen(ModalScreen[None]):
    """Keys (only those that apply to this session) and a guide to the panes; any of escape, q, ?
    or F1 closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > VerticalScroll {
            width: 90%;
            max-width: 100;
            height: 90%;
            border: round $accent;
            border-title-color: $text;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", key_display="esc", id="help-close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as body:
            body.border_title = "arena-tui help"
            yield Markdown(self.keys_markdown() + "\n" + PANES)

    def keys_markdown(self) -> str:
        """A table of the console's keys that apply now (replay keys only in a replay)."""
        console = getattr(self.app, "console_screen", None)
        lines = ["## Keys", "", "Close this with esc, q, ? or F1.", "", "| key | action | what it does |", "|---|---|---|"]
        seen: set[str] = set()
        bindings = list(getattr(console, "BINDINGS", ()))
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            action = binding.action.removeprefix("app.")
            name = action.split("(")[0]
            if name in ("resume", "play", "cycle_step") or binding.id in seen:
                continue
            if binding.id and binding.id.startswith("agent-"):
                if binding.id != "agent-1":
                    continue
                lines.append("| 1-9 | Agent n | Focus agent n's pane |")
                continue
            if name == "show_panel":
                if binding.id == "panel-positions" and getattr(console, "short", False):
                    lines.append(
                        "| v | Panels | This screen is too short for every panel: each press shows the next one, "
                        "the positions, the whole leaderboard, every notice in full (which keys or endpoint "
                        "add LLM agents), then the console again (tab, 1-9 and z come back to it too) |"
                    )
                continue
            if name in ("step", "speed", "seek_first", "seek_last") and not getattr(self.app, "is_replay", False):
                continue
            seen.add(binding.id or action)
            keys = " / ".join(self.app.get_key_display(Binding(k, "")) for k in binding.key.split(","))
            description = binding.description + (" / Resume" if name == "pause" else "")
            lines.append(f"| {keys} | {description} | {binding.tooltip} |")
            if binding.id == "zoom":
                lines.append("| a | Answers | Unfold the focused agent's parsed answers in full, or fold them (a click on one works too) |")
        lines.append("| ctrl+p | Commands | The same actions in the command palette |")
        return "\n".join(lines) + "\n"
