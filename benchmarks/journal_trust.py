"""Journal trust: the figures for a release note, from the same machinery as the tests.

Run from the repository root:  python benchmarks/journal_trust.py  [--workers N] [--quick]

Prints two tables:

  1. kill points (tests/test_resume.py, tests/crash_driver.py): a 40-cycle headless session over the
     bundled market is SIGKILLed at each point (before the journal exists, inside the header line,
     between the header and cycle 1, inside settlement, mid-stream, at a cycle boundary, at seeded
     random journal lines), resumed with ``--resume`` up to 40 cycles and compared with one
     uninterrupted run, event for event (wall-clock fields aside), then replayed with ``--replay
     --headless``: tries and identical per kind of kill point;
  2. edited journals (tests/test_verify.py): a recorded 60-cycle journal (baselines and a scripted
     recorded agent: fills, stops, targets, funding, rejections, failures, a halt) edited in each of
     the suite's ways and verified by re-execution: variants and caught per area, plus the edits that
     by design change nothing a user reads (must verify) and the known gaps.

Not a test: it takes a minute or two (``--quick``: only the edited-journal table).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import crash_driver as cd
import test_verify as tv

from arena_tui.engine.journal import expanded_lines


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *(fmt(r) for r in rows[:-1]), rule, fmt(rows[-1])])


def kill_points(workdir: Path, workers: int) -> None:
    t0 = time.perf_counter()
    ref = cd.reference_run(workdir / "reference")
    outcomes = cd.run_all(ref, workdir / "kills", workers=workers)
    took = time.perf_counter() - t0
    print(f"1. Kill and resume: {cd.CYCLES}-cycle headless session from {cd.START}, SIGKILL at each point, resumed to {cd.CYCLES} cycles")
    print("   identical = resumed journal equals the uninterrupted run event for event (wall-clock fields aside) and --replay --headless verifies it\n")
    print(cd.kill_table(outcomes, detail=False))
    print(f"\n   ({took:.0f} s with {workers} workers)")
    for o in outcomes.values():
        if not o.ok:
            print(f"   NOT IDENTICAL: {o.point.name} {o.point.spec}: {'; '.join(o.problems)}")


def edited_journals(workdir: Path) -> None:
    t0 = time.perf_counter()
    journal = tv.record_journal(workdir / "verify")
    lines = [line + "\n" for line in expanded_lines(journal)]  # every event whole, as the variants edit them
    edited = workdir / "verify" / "edited.jsonl"
    per_area: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    missed: list[str] = []
    for area, name, mutate in tv.MUTATIONS:
        said, _ = tv.check_variant(lines, mutate, edited)
        per_area[area][0] += 1
        per_area[area][1] += said is not None
        if said is None:
            missed.append(f"{area}: {name}")
    harmless_ok = sum(tv.check_variant(lines, m, edited)[0] is None for _, m in tv.HARMLESS)
    # (the suite's known gaps, if it lists any: none since journal schema 6 put the usage totals on
    # the leaderboard rows)
    gaps = [(n, tv.check_variant(lines, m, edited)[0] is not None) for n, m, _ in getattr(tv, "UNCAUGHT", ())]
    took = time.perf_counter() - t0
    rows = [(area, str(v), str(c)) for area, (v, c) in per_area.items()]
    rows.append(("total", str(sum(v for v, _ in per_area.values())), str(sum(c for _, c in per_area.values()))))
    print(f"\n2. Edited journals: one recorded {tv.CYCLES}-cycle journal, each variant verified by re-execution\n")
    print(table(rows, ("area", "variants", "caught")))
    print(f"\n   by design nothing a user reads changes (must verify as identical): {harmless_ok} of {len(tv.HARMLESS)} verify")
    for name, caught in gaps:
        print(f"   known gap (replayed as journaled): {name}: {'caught' if caught else 'not caught'}")
    if not gaps:
        print("   known gaps (edits replayed as journaled): none")
    for m in missed:
        print(f"   NOT CAUGHT: {m}")
    print(f"\n   ({took:.0f} s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="kill/resume runs at a time (default 2)")
    ap.add_argument("--quick", action="store_true", help="only the edited-journal table")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="journal-trust-") as tmp:
        work = Path(tmp)
        if not args.quick:
            kill_points(work, args.workers)
        edited_journals(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
