"""Tests read journals as whole events: schema 4 writes most per-cycle events as differences from
the one before (see ``arena_tui.engine.journal``), so a raw line is not an event."""

from __future__ import annotations

import json
from pathlib import Path

from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import expanded_lines


def journal_dicts(path: Path) -> list[dict]:
    """Every event of the journal at ``path`` as its JSON object (every field), the header first.
    A journal another process is writing: a line being written is left out; no file, or no
    header yet, is ``[]``."""
    if not Path(path).exists():
        return []
    out: list[dict] = []
    try:
        for line in expanded_lines(path):
            out.append(json.loads(line))
    except JournalError:
        if out:
            raise
    return out
