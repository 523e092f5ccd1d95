"""The headless engine: market, indicators, agents, ledger, arena, journal.

Nothing under this package may import ``textual`` or ``rich``; ``tests/test_import_hygiene.py``
enforces it.
"""
