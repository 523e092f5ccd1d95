"""The hostile-input report (``benchmarks/hostile_input.py``): ``--quick`` prints one table per area
and exits 0 with no traceback, no leak and no bad output anywhere; and its counting really counts (an
injected exception is a traceback, an unsanitised string is a leak, either makes the exit status 1).

The full run (``python benchmarks/hostile_input.py``, a few minutes) gives the figures for the issue's
closing note; this test runs the small one in a subprocess (fresh process: the script forks workers).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "hostile_input.py"
AREAS = ("journals", "agent", "sanitise", "config", "secrets")
TITLES = {
    "journals": "1. Journals",
    "agent": "2. Agent path",
    "sanitise": "3. Sanitising boundary",
    "config": "4. Config",
    "secrets": "5. Secrets",
}


def _load_script():
    spec = importlib.util.spec_from_file_location("hostile_input", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("hostile_input", module)
    spec.loader.exec_module(module)
    return module


hi = _load_script()


@pytest.fixture(scope="module")
def quick_run():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="170")
    p = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--seed", "20251017", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return p


def test_quick_run_exits_zero(quick_run):
    out = quick_run.stdout
    assert out.startswith("command: python benchmarks/hostile_input.py --seed 20251017 --quick"), out[:300]
    assert "seed: 20251017" in out
    assert "Traceback" not in quick_run.stderr, quick_run.stderr[-3000:]
    assert quick_run.returncode == 0, out[-6000:] + quick_run.stderr[-2000:]


@pytest.mark.parametrize("area", AREAS)
def test_each_area_prints_its_table_with_zero_tracebacks(quick_run, area):
    out = quick_run.stdout
    assert TITLES[area] in out, out[-3000:]
    m = re.search(rf"^summary: area={area} tries=(\d+) tracebacks=(\d+) other_failures=(\d+)$", out, re.M)
    assert m, out[-3000:]
    tries, tracebacks, others = map(int, m.groups())
    assert tries > 0
    section = out[out.index(TITLES[area]):]
    assert tracebacks == 0, section[:8000]
    assert others == 0, section[:8000]


# --- the counting itself --------------------------------------------------------------------------


def test_an_injected_exception_is_counted_as_a_traceback():
    area = hi.new_area("config")

    def boom():
        raise ZeroDivisionError("a value no check foresaw")

    ok, value = hi.attempt(area, "row", "case 1", "load_config", boom)
    assert (ok, value) == (False, None)
    assert area.rows["row"]["tracebacks"] == 1 and area.total("tracebacks") == 1
    assert area.problems() == 1
    assert "ZeroDivisionError: a value no check foresaw" in area.findings[0].detail
    assert hi.exit_status([area]) == 1

    clean = hi.new_area("config")
    assert hi.attempt(clean, "row", "case 2", "load_config", lambda: 42) == (True, 42)
    assert clean.problems() == 0 and hi.exit_status([clean]) == 0


def test_a_hang_is_counted_as_a_traceback(monkeypatch):
    monkeypatch.setattr(hi, "CASE_DEADLINE_S", 0.2)
    area = hi.new_area("agent")

    def forever():
        while True:
            pass

    ok, _ = hi.attempt(area, "row", "case", "Arena._ask/_act", forever)
    assert not ok and area.total("tracebacks") == 1 and "Hang" in area.findings[0].detail


def test_a_sentence_is_not_a_traceback_and_a_named_error_is():
    """ConfigError is a sentence (the job catches ArenaError); anything else escaping is a traceback."""
    from arena_tui.engine.errors import ArenaError, ConfigError

    area = hi.new_area("config")

    def go(exc):
        try:
            raise exc
        except ArenaError as e:
            return str(e)

    assert hi.attempt(area, "r", "c", "w", go, ConfigError("bad.toml fees.taker_fee_bp must be a number.")) == (
        True,
        "bad.toml fees.taker_fee_bp must be a number.",
    )
    assert area.total("tracebacks") == 0
    hi.attempt(area, "r", "c", "w", go, RecursionError("maximum recursion depth exceeded"))
    assert area.total("tracebacks") == 1


def test_the_leak_detector_sees_escapes():
    assert hi.escapes_in("a\x1b]0;PWNED\x07b") == repr("\x1b")
    assert hi.escapes_in("bidi \u202e") and hi.escapes_in("c1 \x9b") and hi.escapes_in("half \ud800")
    assert hi.escapes_in("plain [link=x]y[/] text\n\twith ␛ pictures") is None


def test_an_unsanitised_boundary_is_counted_as_a_leak(monkeypatch, tmp_path):
    """The sanitising area, with safe_text and the leaderboard's safe_line made the identity: every
    escape now reaches the output, and the area says so."""
    from arena_tui import headless
    from arena_tui.engine import sanitize

    monkeypatch.setattr(sanitize, "safe_text", lambda s: s)
    monkeypatch.setattr(headless, "safe_line", lambda s, limit=None: s)
    opts = hi.Options(seed=1, quick=True, workdir=str(tmp_path))
    area = hi.run_job(("sanitise", 0, opts))
    assert area.total("raw escapes\nreaching\noutput") > 100
    assert area.total("tracebacks") == 0
    assert hi.exit_status([area]) == 1


def test_the_command_lines_bug_sentence_is_counted_as_a_traceback(monkeypatch, tmp_path):
    """``cli.main`` turns an unexpected exception into "arena-tui: unexpected X; this is a bug" (exit 2,
    the traceback in the log file): the report must not take that for a sentence."""
    from arena_tui import headless

    def boom(*args, **kwargs):
        raise ZeroDivisionError("a value no check foresaw")

    monkeypatch.setenv("ARENA_TUI_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setattr(headless, "replay_headless", boom)
    area = hi.new_area("journals")
    ok, _ = hi.attempt(area, "row", "case", "--replay --headless", hi.run_cli, ["--replay", tmp_path / "j.jsonl", "--headless"])
    assert not ok and area.total("tracebacks") == 1
    detail = area.findings[0].detail
    assert "UnexpectedInCli" in detail and "ZeroDivisionError" in detail, detail
