"""Shared test set-up. Tests never reach outside the repository or the network (127.0.0.1 only)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"

# The log file goes to a directory of this test run, never the user's log directory (subprocesses
# inherit it); a test that looks at the log reads it from here.
# (XDG_STATE_HOME too, for subprocesses started with the ARENA_* variables removed.)
_LOG_HOME = tempfile.mkdtemp(prefix="arena-tui-test-log-")
os.environ.setdefault("ARENA_TUI_LOG_DIR", _LOG_HOME)
os.environ.setdefault("XDG_STATE_HOME", _LOG_HOME)

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
