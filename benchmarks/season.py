"""Season 1 headless run and its verification, timed against another version of arena-tui in the
same run (machines differ 2-3x; the ratio travels).

Run from the repository root:  python benchmarks/season.py [--against REF] [--cycles N]

For this checkout, and for git revision REF (default: the commit before the one-fold change,
``caab81a``; checked out into a temporary worktree), it measures as a user runs them:
  1. ``arena-tui --headless --start 2025-10-17T00:00:00Z --cycles N --journal J`` (N = 4,896: the
     17 days of Season 1 in 5-minute cycles): wall time, peak RSS, journal size;
  2. ``arena-tui --replay J --headless`` (verification): wall time and peak RSS;
and prints each figure beside REF's and the ratio (this / REF).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REF = "caab81a"


def run(code_dir: Path, args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of ``python -m arena_tui ARGS`` with ``code_dir`` first on the
    path, in its own process (measured with wait4's rusage)."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "ARENA_LOCAL_BASE_URL"):
        env.pop(k, None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "arena_tui", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed in {code_dir}:\n{out[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0, out


def measure(code_dir: Path, cycles: int, tmp: Path) -> dict[str, float | str]:
    work = tmp / code_dir.name
    work.mkdir(parents=True, exist_ok=True)
    journal = work / "season.jsonl"
    journal.unlink(missing_ok=True)
    # a warm Numba cache for both (the first run of a version may compile)
    run(code_dir, ["--headless", "--cycles", "2", "--start", "2025-10-17T00:00:00Z", "--journal", str(work / "warm.jsonl")], work)
    h_wall, h_rss, _ = run(code_dir, ["--headless", "--start", "2025-10-17T00:00:00Z", "--cycles", str(cycles), "--journal", str(journal)], work)
    r_wall, r_rss, out = run(code_dir, ["--replay", str(journal), "--headless"], work)
    verdict = next((ln.strip() for ln in out.splitlines() if ln.strip().startswith(("verified", "replay differs"))), "?")
    return {
        "headless_s": h_wall,
        "headless_rss": h_rss,
        "journal_mb": journal.stat().st_size / 1e6,
        "replay_s": r_wall,
        "replay_rss": r_rss,
        "verdict": verdict,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default=DEFAULT_REF, help=f"git revision to compare with (default {DEFAULT_REF})")
    ap.add_argument("--cycles", type=int, default=4_896)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="arena-season-") as t:
        tmp = Path(t)
        ref_dir = tmp / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(ref_dir), args.against], cwd=ROOT, check=True)
        try:
            this = measure(ROOT, args.cycles, tmp / "this")
            ref = measure(ref_dir, args.cycles, tmp / "ref-run")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(ref_dir)], cwd=ROOT, check=False)
    print(f"Season 1 over the bundled market, {args.cycles:,} cycles, 4 baselines (this checkout vs {args.against})")
    print(f"  {'figure':<34}{'this':>12}{args.against:>12}{'ratio':>9}")
    for key, label, unit in (
        ("headless_s", "headless run, wall", "s"),
        ("headless_rss", "headless run, peak RSS", "MB"),
        ("journal_mb", "journal size", "MB"),
        ("replay_s", "replay --headless (verify), wall", "s"),
        ("replay_rss", "replay --headless, peak RSS", "MB"),
    ):
        a, b = float(this[key]), float(ref[key])
        print(f"  {label + ' (' + unit + ')':<34}{a:>12.2f}{b:>12.2f}{a / b:>8.2f}x")
    print(f"  verdict, this:   {this['verdict']}")
    print(f"  verdict, {args.against}: {ref['verdict']}")


if __name__ == "__main__":
    main()
