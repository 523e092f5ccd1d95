"""``arena-tui report FILE [-o report.html]``: one self-contained HTML page of a session, to share.

The page works offline and runs no script: inline CSS, the equity chart as inline SVG. It holds the
session's equity chart (every agent's account value and the BTC buy-and-hold row over the session,
time on the x axis, a legend in the agents' colours), the final leaderboard, net PnL per coin and
agent, decision statistics (decisions by signal, rejections by rule), the cost of each model (calls,
failures, tokens, cost, latency) and the session's config as its journal header recorded it (which
holds no secret: only the names of the environment variables keys live in).

Every figure comes from the journal through the export tables (``export.TableRows``, fed by the one
fold, ``ArenaState``) and the fold's final standings; every text from the journal (agent names,
models, reasons, config values) is HTML-escaped. Raises ``JournalError`` (one sentence) for a file
that cannot be read as a journal.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from arena_tui import __version__
from arena_tui.engine.errors import ArenaError
from arena_tui.engine.journal import journal_in_use, open_journal, with_progress
from arena_tui.engine.state import SEEDED_NOTE, ArenaState, CompleteCycles
from arena_tui.export import TABLES, TableRows

PALETTE = ("#2563EB", "#DC2626", "#059669", "#D97706", "#7C3AED", "#DB2777", "#0891B2", "#65A30D", "#9333EA", "#EA580C")
"""Agents' line colours, in leaderboard-config order (distinct in light and dark)."""
BENCHMARK_COLOUR = "#6B7280"
MAX_POINTS = 1200
"""Most points drawn per line (a season has ~4,900 cycles: every n-th kept, and the last)."""

_W, _H = 960, 380
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 78, 16, 14, 40


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _utc(ms: int | float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _money(v: float | None) -> str:
    return "–" if v is None else f"{v:,.2f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}%"


def _num(v: float | None, digits: int = 2) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{digits}f}"


class ReportData:
    """What the page shows, read from one journal: the header, the export tables' rows (as dicts by
    column name) and the final state."""

    def __init__(self, path: str | os.PathLike[str], progress: Callable[[int], None] | None = None) -> None:
        """``progress``: called with the bytes of the journal read so far (``journal.with_progress``)."""
        self.path = Path(path)
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        names = {name: [c.name for c in cols] for name, cols in TABLES.items()}
        with open_journal(self.path) as stream:
            self.header = stream.header
            state = ArenaState(stream.header)
            tables = TableRows(state)

            def take(pairs: Iterable[tuple[str, tuple]]) -> None:
                for table, row in pairs:
                    self.rows[table].append(dict(zip(names[table], row)))

            whole = CompleteCycles(with_progress(stream, progress))  # (a cut-off last cycle is left out: its trades without its accounts)
            for event in whole:
                state.apply(event)
                take(tables.feed(event))
            take(tables.finish())
            self.warnings = list(stream.warnings)
            cut = whole.warning("the report", journal_in_use(Path(self.path)))
            if cut is not None:
                self.warnings.append(cut)
        self.state = state
        self.standings = state.standings()

    def colours(self) -> dict[str, str]:
        """Agent name -> line colour (config order), the benchmark grey."""
        out: dict[str, str] = {}
        for i, a in enumerate(self.header.agents):
            out[str(a.get("name"))] = PALETTE[i % len(PALETTE)]
        for r in self.standings:
            if r.kind == "benchmark":
                out[r.agent] = BENCHMARK_COLOUR
        return out


def _series(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        t, v = r.get("time"), r.get("account_value")
        if isinstance(t, int) and isinstance(v, (int, float)) and math.isfinite(v):
            out[str(r["agent"])].append((t, float(v)))
    for name, pts in out.items():
        if len(pts) > MAX_POINTS:
            step = math.ceil(len(pts) / MAX_POINTS)
            out[name] = pts[::step] + ([pts[-1]] if (len(pts) - 1) % step else [])
    return out


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def equity_svg(data: ReportData) -> str:
    """The equity chart: one polyline per agent (and the benchmark), account value (USD) against
    time (UTC), with value and time ticks; an empty-state text when no cycle completed."""
    series = _series(data.rows["equity"])
    if not series:
        return '<p class="muted">No cycle completed: nothing to chart.</p>'
    colours = data.colours()
    t0 = min(p[0][0] for p in series.values())
    t1 = max(p[-1][0] for p in series.values())
    lo = min(v for pts in series.values() for _, v in pts)
    hi = max(v for pts in series.values() for _, v in pts)
    pad = (hi - lo) * 0.05 or max(abs(hi) * 0.001, 1.0)
    lo, hi = lo - pad, hi + pad
    span_t = max(t1 - t0, 1)
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def x(t: int) -> float:
        return _PAD_L + (t - t0) / span_t * iw

    def y(v: float) -> float:
        return _PAD_T + (hi - v) / (hi - lo) * ih

    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="Account value over the session" class="chart">']
    for v in _ticks(lo, hi):
        parts.append(f'<line class="grid" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        parts.append(f'<text class="tick" x="{_PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_e(f"{v:,.0f}")}</text>')
    for k in range(5):
        t = t0 + span_t * k / 4
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        parts.append(f'<text class="tick" x="{x(t):.1f}" y="{_H - _PAD_B + 18}" text-anchor="{anchor}">{_e(_utc(t))}</text>')
    parts.append(f'<line class="axis" x1="{_PAD_L}" x2="{_PAD_L}" y1="{_PAD_T}" y2="{_H - _PAD_B}"/>')
    parts.append(f'<line class="axis" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{_H - _PAD_B}" y2="{_H - _PAD_B}"/>')
    parts.append(f'<text class="tick" x="{_PAD_L - 6}" y="{_PAD_T + 4}" text-anchor="end">USD</text>')
    for name, pts in series.items():
        colour = colours.get(name, BENCHMARK_COLOUR)
        dash = ' stroke-dasharray="6 4"' if colour == BENCHMARK_COLOUR else ""
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
        parts.append(f'<polyline class="line" data-agent="{_e(name)}" fill="none" stroke="{colour}" stroke-width="1.8"{dash} points="{coords}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch" style="background:{colours.get(name, BENCHMARK_COLOUR)}"></span>{_e(name)}</li>' for name in series
    )
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def _table(head: list[str], rows: list[list[str]], numeric_from: int = 1, numeric_to: int | None = None) -> str:
    """An HTML table (every cell escaped); columns ``numeric_from`` to ``numeric_to`` (exclusive)
    right-aligned; it scrolls sideways on a narrow page."""
    if not rows:
        return '<p class="muted">None.</p>'
    end = len(head) if numeric_to is None else numeric_to

    def cls(i: int) -> str:
        return ' class="num"' if numeric_from <= i < end else ""

    th = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{_e(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def leaderboard_html(data: ReportData) -> str:
    books = data.state.agents
    rows = []
    for r in data.standings:
        book = books.get(r.agent)
        cost = f"{book.cost_usd:,.4f}" if book is not None and book.cost_usd else "–"
        tokens = f"{book.input_tokens + book.output_tokens:,}" if book is not None and (book.input_tokens or book.output_tokens) else "–"
        rows.append([
            str(r.rank), r.agent, r.kind, _money(r.account_value), _pct(r.return_pct), _money(r.pnl), _money(r.fees),
            "–" if r.win_rate is None else f"{r.win_rate:.1f}%", _num(r.sharpe), "–" if r.max_drawdown_pct is None else f"{r.max_drawdown_pct:.2f}%",
            str(r.trades), tokens, cost,
        ])
    head = ["#", "agent", "kind", "value $", "return", "PnL $", "fees $", "win", "Sharpe", "max DD", "trades", "tokens", "cost $"]
    if data.state.rule_based_only():  # no model: no tokens or cost (as on screen)
        head, rows = head[:-2], [r[:-2] for r in rows]
    note = f'<p class="muted">{_e(SEEDED_NOTE)}</p>' if any(b.seeded for b in books.values()) else ""
    return _table(head, rows, numeric_from=3) + note


def per_coin_html(data: ReportData) -> str:
    net: dict[str, Counter] = defaultdict(Counter)
    count: dict[str, Counter] = defaultdict(Counter)
    coins: list[str] = []
    for t in data.rows["trades"]:
        agent, coin = str(t["agent"]), str(t["coin"])
        net[agent][coin] += float(t.get("net_pnl") or 0.0)
        count[agent][coin] += 1
        if coin not in coins:
            coins.append(coin)
    if not net:
        return '<p class="muted">No closed trade.</p>'
    coins.sort()
    rows = [
        [agent] + [f"{net[agent][c]:+,.2f} ({count[agent][c]})" if count[agent][c] else "–" for c in coins] + [f"{sum(net[agent].values()):+,.2f}"]
        for agent in net
    ]
    return _table(["agent", *coins, "total"], rows) + '<p class="muted">Net PnL in USD after fees and funding (closed trades).</p>'


def decisions_html(data: ReportData) -> str:
    signals: dict[str, Counter] = defaultdict(Counter)
    rules: dict[str, Counter] = defaultdict(Counter)
    for d in data.rows["decisions"]:
        agent = str(d["agent"])
        signals[agent][str(d.get("signal") or "?")] += 1
        if d.get("status") == "rejected":
            rules[agent][str(d.get("rule") or "?")] += 1
    if not signals:
        return '<p class="muted">No decision parsed.</p>'
    kinds = ["buy_to_enter", "sell_to_enter", "close", "hold"]
    rows = []
    for agent, c in signals.items():
        top = ", ".join(f"{rule} ×{n}" for rule, n in rules[agent].most_common(3)) or "–"
        rows.append([agent, *(str(c.get(k, 0)) for k in kinds), str(sum(rules[agent].values())), top])
    return _table(["agent", "buy", "sell", "close", "hold", "rejected", "top rejection rules"], rows, numeric_from=1, numeric_to=6)


def costs_html(data: ReportData) -> str:
    calls: dict[tuple[str, str], dict[str, float]] = {}
    for m in data.rows["model_calls"]:
        if m.get("kind") == "rule-based":
            continue  # a baseline's answer costs nothing
        key = (str(m["agent"]), str(m.get("model") or ""))
        s = calls.setdefault(key, {"calls": 0, "failed": 0, "in": 0, "out": 0, "cost": 0.0, "latency": 0.0})
        s["calls"] += 1
        s["failed"] += 1 if m.get("failure") else 0
        s["in"] += int(m.get("input_tokens") or 0)
        s["out"] += int(m.get("output_tokens") or 0)
        s["cost"] += float(m.get("cost_usd") or 0.0)
        s["latency"] += float(m.get("latency_s") or 0.0)
    if not calls:
        return '<p class="muted">No model was called (rule-based agents only).</p>'
    rows = [
        [agent, model, f"{s['calls']:,.0f}", f"{s['failed']:,.0f}", f"{s['in']:,.0f}", f"{s['out']:,.0f}", f"{s['cost']:,.4f}",
         f"{s['latency'] / s['calls']:.1f}"]
        for (agent, model), s in calls.items()
    ]
    return _table(["agent", "model", "calls", "failed", "tokens in", "tokens out", "cost $", "mean latency s"], rows, numeric_from=2)


CSS = """
:root { color-scheme: light dark; --fg: #111827; --muted: #6B7280; --bg: #FFFFFF; --line: #E5E7EB; --panel: #F9FAFB; }
@media (prefers-color-scheme: dark) { :root { --fg: #E5E7EB; --muted: #9CA3AF; --bg: #0D1117; --line: #30363D; --panel: #161B22; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto; max-width: 1000px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
.muted { color: var(--muted); } .meta { color: var(--muted); margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: var(--panel); font-weight: 600; } .num { text-align: right; } .scroll { overflow-x: auto; }
.chart { width: 100%; height: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.chart .grid { stroke: var(--line); } .chart .axis { stroke: var(--muted); } .chart .tick { fill: var(--muted); font-size: 11px; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; }
.swatch { display: inline-block; width: 14px; height: 4px; margin-right: .4rem; vertical-align: middle; border-radius: 2px; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .75rem; overflow-x: auto; font-size: 12px; }
"""


def render_html(data: ReportData) -> str:
    """The page (one HTML document, UTF-8)."""
    h = data.header
    state = data.state
    first = data.rows["equity"][0]["time"] if data.rows["equity"] else h.time
    last = state.completed_time or h.time
    ended = "complete" if state.ended is not None else "cut off or still running"
    title = f"{h.session}: {state.cycles_completed} cycles"
    market = f"{h.mode} market, {_utc(first)} → {_utc(last)} UTC"
    config = json.dumps(h.config, indent=2, sort_keys=False, ensure_ascii=False) if isinstance(h.config, dict) else "{}"
    warnings = "".join(f'<p class="muted">warning: {_e(w)}</p>' for w in data.warnings)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + GENERATOR +
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)} · arena-tui</title>'
        f"<style>{CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="meta">{_e(market)} · {len(h.agents)} agents · journal {_e(data.path.name)} ({_e(ended)}) · '
        f"arena-tui {_e(__version__)}, report made {_e(_utc(datetime.now(timezone.utc).timestamp() * 1000))} UTC</p>"
        f"{warnings}"
        "<h2>Account value</h2>" + equity_svg(data) +
        "<h2>Leaderboard</h2>" + leaderboard_html(data) +
        "<h2>Net PnL per coin</h2>" + per_coin_html(data) +
        "<h2>Decisions</h2>" + decisions_html(data) +
        "<h2>Cost per model</h2>" + costs_html(data) +
        "<h2>Config</h2><p class=\"muted\">As the journal header recorded it (no secrets: keys stay in environment variables).</p>"
        f"<pre>{_e(config)}</pre>"
        "</body></html>\n"
    )


GENERATOR = '<meta name="generator" content="arena-tui">'
"""In the head of every report: what ``write_report`` may replace (an older report of ours)."""


def report_target(path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Where the report of the journal at ``path`` goes: ``out``, a directory's ``<journal>.html``,
    or (None) beside the journal with ``.html``. Raises ``ArenaError`` (one sentence) for an empty
    name, and for a file there that is not an arena-tui report, the journal itself above all: a report
    replaces only an older report, never data."""
    journal = Path(path)
    if out is None:
        target = journal.with_suffix(".html")
    elif not str(out).strip():
        raise ArenaError("report -o needs a file name, e.g. -o report.html.")
    else:
        target = Path(out)
        if target.is_dir():
            target = target / journal.with_suffix(".html").name
    if target.exists():
        try:
            same = journal.exists() and os.path.samefile(journal, target)
        except OSError:
            same = False
        if same:
            raise ArenaError(f"{target} is the journal itself; a report never replaces it: choose another path with -o.")
        if not _is_report(target):
            raise ArenaError(f"{target} exists and is not an arena-tui report; a report never replaces other files: choose another path with -o, or remove it.")
    return target


def _is_report(path: Path) -> bool:
    """A regular file whose head is an arena-tui report's (this version's or an older one's)."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return head.startswith("<!doctype html>") and (GENERATOR in head or "· arena-tui</title>" in head)


def write_report(path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, progress: Callable[[int], None] | None = None) -> Path:
    """Write the report of the journal at ``path`` to ``out`` (default: beside the journal, its name
    with ``.html``; a directory: the journal's name with ``.html`` in it); returns the path written.
    ``progress``: called with the bytes of the journal read so far.
    Raises ``JournalError`` for an unreadable journal, ``ArenaError`` for a target that is not ours to
    replace (``report_target``) and ``OSError`` when the page cannot be written."""
    target = report_target(path, out)
    data = ReportData(path, progress)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    os.replace(tmp, target)
    return target
