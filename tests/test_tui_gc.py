"""The console defers the garbage collector's full passes to cycle boundaries (``CycleBoundaryGC``)."""

from __future__ import annotations

import gc

from arena_tui.tui.app import CycleBoundaryGC


def young_passes(n: int) -> None:
    """Run ``n`` generation-1 collections: each counts toward the next full pass."""
    for _ in range(n):
        gc.collect(1)


def test_full_passes_wait_for_a_cycle_boundary_and_the_collector_is_restored():
    before = gc.get_threshold()
    keeper = CycleBoundaryGC()
    try:
        keeper.start()
        young, middle, full = gc.get_threshold()
        assert (young, middle) == before[:2] and full > 10**6  # no automatic full pass
        gc.collect()  # a clean count
        young_passes(before[2] - 1)
        keeper.boundary()
        assert gc.get_count()[2] == before[2] - 1  # not due yet: nothing ran
        young_passes(1)
        keeper.overdue()
        assert gc.get_count()[2] == before[2]  # due at a boundary, not overdue
        keeper.boundary()
        assert gc.get_count()[2] == 0  # the full pass ran
        young_passes(before[2] * CycleBoundaryGC.OVERDUE)
        keeper.overdue()
        assert gc.get_count()[2] == 0  # a cycle streaming for minutes gets its pass anyway
    finally:
        keeper.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
