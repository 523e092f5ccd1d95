"""``arena-tui report``: one self-contained HTML page of a real headless session, its figures equal to
the fold's, every journal text escaped, and the page opened in headless Chromium (Debian's package,
installed by .ci/run): a screenshot with the chart drawn, and no error in the browser's log."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from arena_tui.cli import main
from arena_tui.config import AgentConfig, load_config
from arena_tui.engine.factory import build_agents, build_market
from arena_tui.engine.scheduler import ArenaSession
from arena_tui.report import PALETTE, ReportData, render_html, write_report
from tests.test_export import CYCLES, Scripted

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sessions" / "demo.jsonl"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def season(tmp_path_factory) -> Path:
    """The baselines, a scripted LLM-style agent (costs, failures, rejections) and an agent whose
    name is markup, 48 cycles."""
    tmp = tmp_path_factory.mktemp("report")
    cfg = load_config(None, environ={}, cwd=tmp, overrides={"market": {"start": "2025-10-20T00:00:00Z"}, "arena": {"sessions_dir": str(tmp), "halt_after_failures": 50}})
    agents = (*cfg.agents, AgentConfig(name="Scripted", kind="openai", model="scripted-1"), AgentConfig(name=HOSTILE, kind="baseline", strategy="trend_follower"))
    cfg = cfg.__class__(**{**cfg.__dict__, "agents": agents})
    built = build_agents(cfg)
    built[-2] = Scripted("Scripted")
    path = tmp / "season.jsonl"
    session = ArenaSession(cfg, build_market(cfg), built, journal_path=path, max_cycles=CYCLES, pace=0)
    asyncio.run(session.run(lambda e: None))
    return path


class Page(HTMLParser):
    """The page's tags, texts by section (h2), polylines and any reference to another resource."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.section = ""
        self.texts: dict[str, list[str]] = {}
        self.lines: dict[str, str] = {}
        self.external: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self._in_h2 = tag == "h2"
        if tag == "polyline":
            self.lines[a["data-agent"]] = a["stroke"]
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(a[key])

    def handle_data(self, data):
        if self._in_h2:
            self.section = data
            self._in_h2 = False
        elif data.strip():
            self.texts.setdefault(self.section, []).append(data.strip())


def parsed(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_the_page_holds_the_folds_figures(season, tmp_path):
    out = write_report(season, tmp_path / "r.html")
    page = parsed(out)
    data = ReportData(season)
    names = [r.agent for r in data.standings]
    assert set(page.lines) == set(names)  # a line per agent, and the benchmark
    assert len(set(page.lines.values())) == len(names)  # each its own colour
    assert page.lines[str(data.header.agents[0]["name"])] == PALETTE[0]
    board = page.texts["Leaderboard"]
    for r in data.standings:
        i = board.index(r.agent)
        assert board[i - 1] == str(r.rank) and board[i + 2] == f"{r.account_value:,.2f}" and board[i + 3] == f"{r.return_pct:+.2f}%"
    costs = page.texts["Cost per model"]
    book = data.state.agents["Scripted"]
    assert "scripted-1" in costs and f"{book.cost_usd:,.4f}" in costs
    assert "trend_follower" not in costs  # baselines cost nothing: not listed
    decisions = page.texts["Decisions"]
    assert "Scripted" in decisions and any("×" in t for t in decisions)  # rejections by rule id
    per_coin = page.texts["Net PnL per coin"]
    total = sum(float(r["net_pnl"]) for r in data.rows["trades"] if r["agent"] == "Scripted")
    assert f"{total:+,.2f}" in per_coin
    assert page.external == []  # self-contained: nothing to fetch
    assert "script" not in page.tags and "img" not in page.tags


def test_every_journal_text_is_escaped(season, tmp_path):
    text = render_html(ReportData(season))
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in text


def test_the_command_writes_beside_the_journal_by_default(season, capsys):
    assert main(["report", str(season)]) == 0
    out = capsys.readouterr().out
    assert season.with_suffix(".html").exists() and "report:" in out and "needs no network" in out


def test_a_missing_journal_is_one_sentence(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not exist" in err and "Traceback" not in err


def test_a_report_replaces_only_an_older_report_never_the_journal_or_other_files(tmp_path, capsys):
    journal = tmp_path / "run.jsonl"
    shutil.copyfile(DEMO, journal)
    kept = journal.read_bytes()
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n", encoding="utf-8")
    for argv, says in (
        (["report", str(journal), "-o", str(journal)], "is the journal itself"),
        (["report", str(journal), "-o", str(other)], "exists and is not an arena-tui report"),
        (["report", str(journal), "-o", ""], "-o needs a file name"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err and "Traceback" not in err and "bug" not in err, err
    assert journal.read_bytes() == kept and other.read_text(encoding="utf-8") == "my notes\n"
    # a journal whose name ends in .html is its own default target: refused, not overwritten
    as_html = tmp_path / "session.html"
    shutil.copyfile(DEMO, as_html)
    assert main(["report", str(as_html)]) == 2 and "is the journal itself" in capsys.readouterr().err
    assert as_html.read_bytes() == kept
    # an older report is replaced, and a directory gets the journal's name with .html
    assert main(["report", str(journal), "-o", str(tmp_path / "r.html")]) == 0
    assert main(["report", str(journal), "-o", str(tmp_path / "r.html")]) == 0
    assert main(["report", str(journal), "-o", str(tmp_path)]) == 0
    assert (tmp_path / "run.html").read_text(encoding="utf-8").startswith("<!doctype html>")


def test_the_demo_journal_reports(tmp_path):
    page = parsed(write_report(DEMO, tmp_path / "demo.html"))
    assert "BTC buy & hold" in page.lines and len(page.lines) == 5
    assert page.texts["Cost per model"] == ["No model was called (rule-based agents only)."]
    board = page.texts["Leaderboard"]
    assert "trades" in board and "tokens" not in board and "cost $" not in board  # no model: no columns of dashes


def test_a_session_with_a_model_lists_its_tokens_and_cost(season, tmp_path):
    board = parsed(write_report(season, tmp_path / "r.html")).texts["Leaderboard"]
    book = ReportData(season).state.agents["Scripted"]
    assert "tokens" in board and "cost $" in board and f"{book.cost_usd:,.4f}" in board


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium package)")
def test_headless_chromium_draws_the_page_without_errors(season, tmp_path):
    page = write_report(season, tmp_path / "r.html")
    shot = tmp_path / "r.png"
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,520",
         "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    log = run.stderr
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console  # the page logs nothing (it runs no script)
    assert not re.search(r"net::ERR_|Failed to load resource", log), log[-2000:]
    pixels = png_pixels(shot.read_bytes())[:, :, :3].astype(int)
    drawn = {}
    for colour in set(parsed(page).lines.values()):  # the lines' colours: the chart was drawn
        rgb = np.array([int(colour[k : k + 2], 16) for k in (1, 3, 5)])
        drawn[colour] = int((np.abs(pixels - rgb).sum(axis=2) < 30).sum())
    assert sum(n > 100 for n in drawn.values()) >= 3, drawn  # (lines that never move can hide behind others)


def png_pixels(png: bytes) -> np.ndarray:
    """The pixels (height x width x channels, uint8) of an 8-bit RGB/RGBA non-interlaced PNG, as
    Chromium writes its screenshots (no imaging library needed)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", png[16:29])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    chunks, i = [], 8
    while i < len(png):
        n = struct.unpack(">I", png[i : i + 4])[0]
        if png[i + 4 : i + 8] == b"IDAT":
            chunks.append(png[i + 8 : i + 8 + n])
        i += 12 + n
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, width * bpp + 1)
    out = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = np.zeros(width * bpp, dtype=np.uint8)
    for r in range(height):
        kind, line = raw[r, 0], raw[r, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 2:
            row = line + prev
        elif kind == 1:
            row = (np.cumsum(line.reshape(width, bpp).astype(np.int64), axis=0) & 0xFF).astype(np.uint8).reshape(-1)
        else:  # Average or Paeth: each byte depends on the one decoded before it
            row = bytearray(line.tobytes())
            for x in range(len(row)):
                a = row[x - bpp] if x >= bpp else 0
                b = int(prev[x])
                if kind == 3:
                    row[x] = (row[x] + (a + b) // 2) & 0xFF
                else:
                    c = int(prev[x - bpp]) if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            row = np.frombuffer(bytes(row), dtype=np.uint8)
        out[r] = row
        prev = row
    return out.reshape(height, width, bpp)
