"""What a fresh interpreter has imported after running some code: for the tests that keep heavy or
UI modules out of an import path (the headless engine, the first frame, the live market)."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_after(code: str, timeout: float = 120) -> set[str]:
    """The names in ``sys.modules`` of a new Python process (this interpreter) once ``code`` has
    run. Fails the test with the child's stderr when ``code`` raises."""
    script = f"{code}\nimport json as _json, sys as _sys\nprint(_json.dumps(sorted(_sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))
