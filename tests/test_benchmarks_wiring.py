"""The benchmark scripts reuse the tests' machinery and the engine's (imported, not copied), and are
not run by the suite (they take minutes): every name they import, and every attribute they read off
a module they import, must still exist. (``benchmarks/journal_trust.py`` read ``test_verify.UNCAUGHT``
after the suite closed its last known gap and dropped it.)"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def _ours(module: str) -> bool:
    """A module of this repository (the engine, or the tests' machinery), not a third-party one."""
    top = module.split(".")[0]
    return top in ("arena_tui", "tests") or (ROOT / "tests" / f"{top}.py").exists()


def references(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) of each name ``path`` imports from one of our modules, and of each
    attribute it reads off a module of ours it imported under a name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    aliases: dict[str, str] = {}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if _ours(a.name) and (a.asname or "." not in a.name):
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and _ours(node.module):
            for a in node.names:
                if a.name != "*":
                    out.append((node.lineno, node.module, a.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            out.append((node.lineno, aliases[node.value.id], node.attr))
    return out


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_name_a_benchmark_takes_from_our_code_exists(script, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    monkeypatch.syspath_prepend(str(ROOT))
    missing = []
    for line, module, name in references(script):
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            try:  # (a submodule imported by name: ``from arena_tui.engine import events``)
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{script.name}:{line}: {module}.{name}")
    assert missing == []


def test_the_check_sees_a_missing_name(tmp_path):
    script = tmp_path / "bench.py"
    script.write_text("import test_verify as tv\nfrom arena_tui.engine.verify import verify_journal\n\ndef f():\n    return tv.UNCAUGHT, tv.MUTATIONS\n")
    refs = references(script)
    assert (5, "test_verify", "UNCAUGHT") in refs and (5, "test_verify", "MUTATIONS") in refs
    assert (2, "arena_tui.engine.verify", "verify_journal") in refs
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import test_verify
    finally:
        sys.path.remove(str(ROOT / "tests"))
    assert not hasattr(test_verify, "UNCAUGHT") and hasattr(test_verify, "MUTATIONS")
