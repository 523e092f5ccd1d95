"""The engine is headless: importing any engine module must not load textual or rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import arena_tui.engine


def engine_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(arena_tui.engine.__path__, prefix="arena_tui.engine.")
    )


def test_engine_has_modules():
    mods = engine_modules()
    assert "arena_tui.engine.market.recorded" in mods
    assert len(mods) >= 5


def test_engine_never_imports_textual_or_rich():
    code = (
        "import importlib, sys\n"
        f"mods = {engine_modules()!r}\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imported UI modules: {out.stdout.strip()}"
