"""The engine is headless: importing any engine module must not load textual or rich."""

from __future__ import annotations

import pkgutil

import arena_tui.engine
from fresh_imports import modules_after


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
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in engine_modules())
    bad = sorted(n for n in modules_after(code, timeout=300) if n.split(".")[0] in ("textual", "rich"))
    assert bad == [], f"engine imported UI modules: {','.join(bad)}"
