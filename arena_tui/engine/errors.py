"""Errors a user can cause, each carrying one sentence that says what went wrong and what to do.

The CLI prints ``str(error)`` and exits with status 2; it never shows a traceback for these.
"""

from __future__ import annotations


class ArenaError(Exception):
    """Base class for user-facing errors; ``str(err)`` is one complete sentence."""


class DataError(ArenaError):
    """A bundled or recorded data file is missing, unreadable or malformed."""


class ConfigError(ArenaError):
    """A configuration value (file, environment or flag) is not allowed."""


class MarketError(ArenaError):
    """The market source cannot deliver data (exchange down, unknown exchange id, end of data)."""


class MarketExhausted(MarketError):
    """The recorded market's clock has run past the end of the bundled data."""


class JournalError(ArenaError):
    """A session journal cannot be read (missing, empty, or a corrupt line in the middle)."""
