"""The log file: ``<user log dir>/arena-tui.log`` (platformdirs), rotated, never holding a secret.

``arena-tui`` calls ``setup_logging()`` once at start. Engine modules log through the standard
``logging`` module (``logging.getLogger(__name__)``); tracebacks of the unexpected (an agent's own
bug, a crash of the session) go there, and the one sentence shown on screen names the file through
``log_hint()`` ("see the log: ~/.local/state/arena-tui/log/arena-tui.log").

Where: ``platformdirs.user_log_dir("arena-tui")`` (``~/.local/state/arena-tui/log`` on Linux,
``~/Library/Logs/arena-tui`` on macOS); ``ARENA_TUI_LOG_DIR`` overrides it. Rotation: 1 MB per file,
three old files kept (``arena-tui.log.1`` ...). When the directory cannot be created the log goes to
the temp directory instead; logging never stops a session.

Every record is scrubbed before it is written (``Scrubber``): values of environment variables that
name credentials (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*``), credentials in URLs and
key-like strings (``config.redact_text``) become ``REDACTED``; control characters are made visible
(``sanitize.safe_text``), so ``cat`` of the log cannot drive a terminal either.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import tempfile
from pathlib import Path

LOG_NAME = "arena-tui.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
_SECRET_ENV = re.compile(r"(?i)(api_?key|token|secret|password|passwd)")

_log_file: Path | None = None


def log_dir() -> Path:
    """The directory of the log file (see the module docstring); not created here."""
    override = os.environ.get("ARENA_TUI_LOG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir("arena-tui", appauthor=False))


def log_file() -> Path:
    """The log file in use (after ``setup_logging``), else where it would be."""
    return _log_file if _log_file is not None else log_dir() / LOG_NAME


def shown_path(path: Path) -> str:
    """``path`` with the home directory written as ``~`` (shorter, and no user name in a journal
    that quotes it)."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home not in ("", "/") and text.startswith(home + os.sep) else text


def log_hint() -> str:
    """"see the log: <path>" for a sentence about something unexpected."""
    return f"see the log: {shown_path(log_file())}"


class Scrubber(logging.Formatter):
    """A formatter whose output holds no credential and no terminal control (module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _secret_values() -> list[str]:
    values = {v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` without credential values from the environment, URL credentials, key-like strings or
    control characters other than newline and tab."""
    from arena_tui.config import REDACTED, redact_text
    from arena_tui.engine.sanitize import safe_text

    for secret in _secret_values():
        text = text.replace(secret, REDACTED)
    return safe_text(redact_text(text))


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the ``arena_tui`` loggers to the rotated log file; returns its path (None if no file
    could be opened anywhere). Idempotent."""
    global _log_file
    logger = logging.getLogger("arena_tui")
    for handler in logger.handlers:
        if getattr(handler, "_arena_tui", False):
            return _log_file
    for directory in (log_dir(), Path(tempfile.gettempdir()) / "arena-tui-log"):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                directory / LOG_NAME, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", errors="backslashreplace"
            )
        except OSError:
            continue
        handler._arena_tui = True  # type: ignore[attr-defined]
        handler.setFormatter(Scrubber("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # the screen owns the terminal: nothing goes to stderr
        _log_file = directory / LOG_NAME
        return _log_file
    return None


def close_logging() -> None:
    """Detach and close the log file handler (tests, and the end of ``main``), and let the package's
    records reach the root logger again (``setup_logging`` stopped that while the file was open)."""
    global _log_file
    logger = logging.getLogger("arena_tui")
    for handler in list(logger.handlers):
        if getattr(handler, "_arena_tui", False):
            logger.removeHandler(handler)
            handler.close()
            logger.propagate = True
    _log_file = None
