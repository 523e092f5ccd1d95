"""Packaging: the declared build floor can build the package.

``license = "MIT"`` is a license expression (PEP 639), which setuptools reads from version 77 on;
76.1.0 fails to build this pyproject.toml (checked by hand: ``pip wheel --no-build-isolation .`` in
a venv with setuptools 76.1.0 exits 1, with 77.0.3 it builds the wheel). This test keeps the floor
from slipping below that again, and checks what the wheel would ship.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_setuptools_floor_reads_a_license_expression():
    doc = _pyproject()
    requires = doc["build-system"]["requires"]
    floor = next(r for r in requires if r.startswith("setuptools"))
    m = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", floor)
    assert m, floor
    if isinstance(doc["project"].get("license"), str):  # an SPDX expression, not a {text=...} table
        assert int(m.group(1)) >= 77, f"{floor}: setuptools < 77 cannot build a license expression"


def test_every_declared_dependency_is_imported_somewhere():
    """A dependency the code never imports is dead weight (tomli-w was, once)."""
    names = {"textual": "textual", "rich": "rich", "ccxt": "ccxt", "openai": "openai", "anthropic": "anthropic",
             "numpy": "numpy", "numba": "numba", "tomli-w": "tomli_w", "platformdirs": "platformdirs", "orjson": "orjson",
             "markdown-it-py": "markdown_it"}
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "arena_tui").rglob("*.py"))
    for dep in _pyproject()["project"]["dependencies"]:
        name = re.split(r"[<>=!~ ]", dep, maxsplit=1)[0]
        module = names[name]
        assert re.search(rf"^\s*(import {module}\b|from {module}\b)|importlib.import_module\(\"?{module}|_import_sdk\(\"{module}\"\)",
                         source, re.M) or f'"{module}"' in source, f"{name} is declared but never imported"
