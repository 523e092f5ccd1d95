"""Colour themes from TOML files: the ones that ship with arena-tui and the user's own.

A theme file holds Textual ``Theme`` fields (``name``, ``primary``, ``secondary``, ``accent``,
``foreground``, ``background``, ``surface``, ``panel``, ``boost``, ``success``, ``warning``, ``error``,
``dark``, ``luminosity_spread``, ``text_alpha``) and a ``[variables]`` table for app-specific colours
(``arena-benchmark``, ``arena-rule-based``, ``arena-reasoning``, ``arena-live``, ``arena-recorded``,
``arena-replay``; see ``APP_VARIABLES``). Colours are CSS colours (``#rrggbb``, ``rgb(...)``, names).

Where they come from, in order (a later file with the same ``name`` replaces an earlier one):

1. the shipped themes: ``arena_tui/themes/*.toml`` inside the installed package (a wheel), or, when
   running from a source checkout where that directory does not exist, the top-level ``themes/``;
2. the user's themes: ``<config_dir>/themes/*.toml``.

A file that cannot be read or is not a valid theme is skipped and produces a notice (one sentence
naming the file and what to fix); nothing here raises for a user's file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from textual.color import Color, ColorParseError
from textual.theme import Theme

from arena_tui.engine.sanitize import safe_line

_THEME_NAME = re.compile(r"\w[\w .+-]{0,63}")
"""A theme name: plain words (Textual's theme picker reads names as markup)."""
_THEME_NAME_HINT = re.compile(r"[^\w.+-]+")

DEFAULT_THEME = "arena-dark"
"""The theme used when none is configured (``themes/dark.toml``)."""

APP_VARIABLES: dict[str, str] = {
    "arena-benchmark": "text-accent",
    "arena-rule-based": "text-secondary",
    "arena-reasoning": "foreground-muted",
    "arena-live": "error",
    "arena-recorded": "primary",
    "arena-replay": "accent",
}
"""App-specific theme variables and the Textual variable each falls back to when a theme (a
built-in Textual theme, say) does not set it."""

_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_NUMBER_FIELDS = ("luminosity_spread", "text_alpha")


class ThemeFileError(ValueError):
    """A theme file is unreadable or invalid; ``str()`` is one sentence naming the file."""


@dataclass(frozen=True)
class ThemeLoad:
    """Themes found (in load order, later ones win on equal names) and the notices for files skipped."""

    themes: tuple[Theme, ...]
    notices: tuple[str, ...]

    def names(self) -> list[str]:
        return list(dict.fromkeys(t.name for t in self.themes))


def shipped_theme_dir() -> Path | None:
    """The directory of the themes that ship with arena-tui: ``arena_tui/themes`` in an installed
    wheel, else ``themes/`` at the top of a source checkout; None when neither exists."""
    try:
        packaged = resources.files("arena_tui").joinpath("themes")
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - odd installs
        pass
    source_tree = Path(__file__).resolve().parents[2] / "themes"
    return source_tree if source_tree.is_dir() else None


def _check_colour(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"theme file {path}: '{key}' must be a colour in quotes such as \"#3b82f6\" (got {value!r}).")
    text = value.strip()
    base, _, alpha = text.rpartition(" ")
    candidate = base if alpha.endswith("%") and base else text
    try:
        Color.parse(candidate)
    except ColorParseError:
        raise ThemeFileError(f"theme file {path}: '{key}' = {value!r} is not a colour; use #rrggbb, rgb(r, g, b) or a colour name.") from None
    return text


def theme_from_mapping(data: Mapping[str, Any], path: Path) -> Theme:
    """A ``Theme`` from a parsed TOML table; raises ``ThemeFileError`` naming the file and the key."""
    allowed = {"name", "dark", "variables", *_COLOUR_FIELDS, *_NUMBER_FIELDS}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ThemeFileError(
            f"theme file {path}: unknown key '{unknown[0]}'; allowed keys are name, dark, variables, {', '.join(_COLOUR_FIELDS)}."
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"theme file {path}: add a name, e.g. name = \"{path.stem}\".")
    if not _THEME_NAME.fullmatch(name.strip()):
        # the name is drawn by Textual's theme picker, which reads it as markup: keep it plain
        raise ThemeFileError(
            f"theme file {path}: name {safe_line(name, limit=40)!r} may use only letters, digits, spaces and . _ + -"
            f" (at most 64 characters), e.g. name = \"{_THEME_NAME_HINT.sub('-', path.stem) or 'my-theme'}\"."
        )
    if "primary" not in data:
        raise ThemeFileError(f"theme file {path}: 'primary' is required (a colour such as \"#3b82f6\").")
    kwargs: dict[str, Any] = {"name": name.strip()}
    for key in _COLOUR_FIELDS:
        if key in data:
            kwargs[key] = _check_colour(path, key, data[key])
    for key in _NUMBER_FIELDS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ThemeFileError(f"theme file {path}: '{key}' must be a number (got {value!r}).")
            kwargs[key] = float(value)
    if "dark" in data:
        if not isinstance(data["dark"], bool):
            raise ThemeFileError(f"theme file {path}: 'dark' must be true or false (got {data['dark']!r}).")
        kwargs["dark"] = data["dark"]
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"theme file {path}: 'variables' must be a table, e.g. [variables].")
    checked: dict[str, str] = {}
    for key, value in variables.items():
        if key.startswith("arena-"):
            if key not in APP_VARIABLES:
                raise ThemeFileError(f"theme file {path}: unknown variable '{key}'; arena variables are {', '.join(APP_VARIABLES)}.")
            checked[key] = _check_colour(path, f"variables.{key}", value)
        elif not isinstance(value, str):
            raise ThemeFileError(f"theme file {path}: variable '{key}' must be a string (got {value!r}).")
        else:
            checked[key] = value
    kwargs["variables"] = checked
    return Theme(**kwargs)


def load_theme_file(path: Path) -> Theme:
    """Read one ``*.toml`` theme file; raises ``ThemeFileError`` (one sentence) when it is not valid."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(f"theme file {path} cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise ThemeFileError(f"theme file {path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"theme file {path} is not valid TOML ({exc}).") from None
    return theme_from_mapping(data, path)


def _load_dir(directory: Path, themes: list[Theme], notices: list[str]) -> None:
    for path in sorted(directory.glob("*.toml")):
        try:
            themes.append(load_theme_file(path))
        except ThemeFileError as exc:
            notices.append(f"{exc} Skipped it.")


def load_themes(config_dir: Path | None = None, *, shipped_dir: Path | None = None) -> ThemeLoad:
    """The shipped themes, then ``<config_dir>/themes/*.toml`` (skipped when ``config_dir`` is None).

    ``shipped_dir`` overrides where the shipped themes are looked for (tests). Broken files are
    skipped with a notice each; a missing user theme directory is not an error.
    """
    themes: list[Theme] = []
    notices: list[str] = []
    shipped = shipped_dir if shipped_dir is not None else shipped_theme_dir()
    if shipped is None:
        notices.append("No shipped themes were found (the package is missing arena_tui/themes); using Textual's default theme.")
    else:
        _load_dir(shipped, themes, notices)
    if config_dir is not None:
        user_dir = Path(config_dir) / "themes"
        if user_dir.is_dir():
            _load_dir(user_dir, themes, notices)
    return ThemeLoad(tuple(themes), tuple(notices))


def resolve_theme_name(requested: str | None, available: Mapping[str, Theme], default: str = DEFAULT_THEME) -> tuple[str, str | None]:
    """The theme to use for ``requested`` and a notice when it falls back.

    ``requested`` may be a theme's full name or its short form without ``arena-`` (``light``).
    An unknown name falls back to ``default`` (or ``textual-dark`` when even that is missing).
    """
    fallback = default if default in available else "textual-dark"
    if not requested:
        return fallback, None
    for candidate in (requested, f"arena-{requested}"):
        if candidate in available:
            return candidate, None
    names = ", ".join(sorted(n for n in available if n.startswith("arena-")) or sorted(available))
    known = f"Available themes include {names}." if names else "No theme files were found."
    return fallback, f"Unknown theme '{requested}'; using {fallback}. {known}"
