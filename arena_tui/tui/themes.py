"""Colour themes from TOML files: the ones that ship with arena-tui and the user's own.

A theme file holds Textual ``Theme`` fields (``name``, ``primary``, ``secondary``, ``accent``,
``foreground``, ``background``, ``surface``, ``panel``, ``boost``, ``success``, ``warning``, ``error``,
``dark``, ``luminosity_spread``, ``text_alpha``) and a ``[variables]`` table. A colour is one that
Textual reads (``#rgb``, ``#rrggbb``, ``#rrggbbaa``, ``rgb(...)``, ``hsl(...)``, a name such as ``red``
or ``transparent``, ``ansi_red``, ``ansi_default``), optionally followed by an alpha percentage
(``"#3b82f6 50%"``, folded into the colour).

``[variables]`` may hold:

* the app's own colours (``arena-benchmark``, ``arena-rule-based``, ``arena-reasoning``,
  ``arena-live``, ``arena-recorded``, ``arena-replay``, ``arena-rule``; see ``APP_VARIABLES``), each
  a colour;
* Textual's design variables (the names ``Theme.to_color_system().generate()`` makes, such as
  ``footer-key-foreground``, ``text-muted``, ``block-cursor-text-style``; see ``textual_variables``):
  the text-style ones (``*-text-style``, ``link-style``, ``link-style-hover``) take style words
  separated by spaces (``bold``, ``italic``, ``underline``, ``reverse``, ``not underline``, ``none``
  alone, ...; ``textual.css.constants.VALID_STYLE_FLAGS``), the others a colour;
  ``auto`` (with an optional alpha percentage, ``"auto 60%"``) or ``initial`` only where Textual's
  own default for that variable is that keyword (``text``, ``text-muted``, ``link-color``,
  ``link-background``, ...). ``$name`` references are refused: Textual does not resolve them inside
  a theme, so the app would stop on a CSS error.

Anything else (an unknown name, a bad value) makes the file invalid, since Textual would otherwise
fail on the theme's CSS when the app starts.

Where they come from, in order (a later file with the same ``name`` replaces an earlier one):

1. the shipped themes: ``arena_tui/themes/*.toml`` inside the installed package (a wheel), or, when
   running from a source checkout where that directory does not exist, the top-level ``themes/``;
2. the user's themes: ``<config_dir>/themes/*.toml``.

A file that cannot be read or is not a valid theme is skipped and produces a notice (one sentence
naming the file and what to fix); nothing here raises for a user's file.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from rich.errors import StyleSyntaxError
from rich.style import Style
from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
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
    "arena-rule": "panel-lighten-2",
}
"""App-specific theme variables and the Textual variable each falls back to when a theme (a
built-in Textual theme, say) does not set it (a light theme: ``LIGHT_FALLBACKS`` first).
``arena-rule`` is the colour of the tables' title rules and of an agent pane's border while it is
not focused: it must stand out from ``background`` and ``surface``."""

LIGHT_FALLBACKS: dict[str, str] = {"arena-rule": "panel-darken-3"}
"""A light theme's fallbacks where the dark one's would vanish (``panel-lighten-2`` is white on a
light panel)."""


def app_variable_fallback(name: str, dark: bool) -> str:
    """The Textual variable an app variable (``APP_VARIABLES``) falls back to in a dark or light theme."""
    return APP_VARIABLES[name] if dark else LIGHT_FALLBACKS.get(name, APP_VARIABLES[name])

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
    # A plain path (not ``importlib.resources``, whose import costs a start 20 ms): the wheel
    # unpacks arena_tui/themes beside this package; a checkout keeps themes/ at its top.
    package = Path(__file__).resolve().parents[1]
    for directory in (package / "themes", package.parent / "themes"):
        if directory.is_dir():
            return directory
    return None


def _shown(value: Any) -> str:
    """A theme file's value as an error sentence quotes it: ``repr``, made safe and cut to 60 characters."""
    return safe_line(repr(value), limit=60)


_ALPHA = re.compile(r"(?P<colour>.*\S)\s+(?P<alpha>\d{1,3}(?:\.\d+)?)%")
"""A colour followed by an alpha percentage, ``"#3b82f6 50%"``."""


@functools.cache
def textual_variables() -> dict[str, str]:
    """Textual's design variables, name -> kind: ``"style"`` (text-style words), ``"auto"`` or
    ``"initial"`` (a colour, or that keyword as Textual's own default uses it) or ``"colour"``.

    The names are the ones ``Theme.to_color_system().generate()`` makes; the kind comes from the
    default value generated for a plain theme (``block-cursor-text-style`` = ``bold``, ``text`` =
    ``auto 87%``, ``link-background`` = ``initial``, the rest colours)."""
    kinds: dict[str, str] = {}
    for name, default in Theme(name="defaults", primary="#0178D4").to_color_system().generate().items():
        words = default.split()
        if all(word in VALID_STYLE_FLAGS for word in words):
            kinds[name] = "style"
        else:
            kinds[name] = words[0] if words[0] in ("auto", "initial") else "colour"
    return kinds


def _check_colour(path: Path, key: str, value: Any, keyword: str | None = None) -> str:
    """A colour Textual reads, with an optional alpha percentage folded into it (``"#fff 50%"`` ->
    ``"#FFFFFF7F"``: Textual's ``Color.parse`` behind a theme's fields and some variables does not
    read the percentage). ``keyword`` (``auto``, ``initial``) is accepted too, ``auto`` with a
    percentage; it is passed on as written."""
    if not isinstance(value, str):
        raise ThemeFileError(f"theme file {path}: '{key}' must be a colour in quotes such as \"#3b82f6\" (got {_shown(value)}).")
    text = value.strip()
    match = _ALPHA.fullmatch(text)
    colour, alpha = (match["colour"], float(match["alpha"])) if match else (text, None)
    if alpha is not None and alpha > 100:
        raise ThemeFileError(f"theme file {path}: '{key}' = {_shown(value)} has an alpha over 100%; use 0% to 100%.")
    if colour == keyword and (alpha is None or keyword == "auto"):
        return text
    if colour in ("auto", "initial"):
        raise ThemeFileError(f"theme file {path}: '{key}' = {_shown(value)} is not allowed here (Textual would fail on it); use a colour such as \"#3b82f6\".")
    if text.startswith("$"):
        raise ThemeFileError(
            f"theme file {path}: '{key}' = {_shown(value)} refers to another variable, which Textual does not resolve in a theme;"
            " write the colour itself, e.g. \"#3b82f6\"."
        )
    try:
        parsed = Color.parse(colour)
    except ColorParseError:
        also = f", or {keyword}" if keyword else ""
        raise ThemeFileError(
            f"theme file {path}: '{key}' = {_shown(value)} is not a colour; use #rrggbb, rgb(r, g, b) or a colour name,"
            f" optionally followed by an alpha such as 50%{also}."
        ) from None
    return text if alpha is None else parsed.multiply_alpha(alpha / 100).hex


def _check_style(path: Path, key: str, value: Any) -> str:
    """Text-style words as Textual applies them: each in ``VALID_STYLE_FLAGS`` and together a Rich
    style (``none`` alone, ``not`` before a word)."""
    words = value.split() if isinstance(value, str) else []
    if words and all(word in VALID_STYLE_FLAGS for word in words):
        try:
            Style.parse(" ".join(words))
            return " ".join(words)
        except StyleSyntaxError:
            pass
    raise ThemeFileError(
        f"theme file {path}: '{key}' = {_shown(value)} is not a text style; use words from {', '.join(sorted(VALID_STYLE_FLAGS))}"
        " separated by spaces, e.g. \"bold underline\" or \"none\" (alone)."
    )


def _check_variable(path: Path, key: str, value: Any) -> str:
    """One ``[variables]`` entry: an ``arena-*`` colour or a Textual design variable of its kind."""
    if key.startswith("arena-"):
        if key not in APP_VARIABLES:
            raise ThemeFileError(f"theme file {path}: unknown variable '{key}'; arena variables are {', '.join(APP_VARIABLES)}.")
        return _check_colour(path, f"variables.{key}", value)
    kind = textual_variables().get(key)
    if kind is None:
        close = difflib.get_close_matches(key, [*APP_VARIABLES, *textual_variables()], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ThemeFileError(
            f"theme file {path}: unknown variable {safe_line(key, limit=40)!r}{hint}; [variables] may set the arena-* colours"
            " or Textual's design variables such as footer-key-foreground or block-cursor-text-style."
        )
    if kind == "style":
        return _check_style(path, f"variables.{key}", value)
    return _check_colour(path, f"variables.{key}", value, keyword=None if kind == "colour" else kind)


def theme_from_mapping(data: Mapping[str, Any], path: Path) -> Theme:
    """A ``Theme`` from a parsed TOML table; raises ``ThemeFileError`` naming the file and the key.

    Every value is checked the way Textual will read it (see the module docstring), so a theme that
    loads here cannot stop the app on a colour or CSS error."""
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
                raise ThemeFileError(f"theme file {path}: '{key}' must be a number (got {_shown(value)}).")
            kwargs[key] = float(value)
    if "dark" in data:
        if not isinstance(data["dark"], bool):
            raise ThemeFileError(f"theme file {path}: 'dark' must be true or false (got {_shown(data['dark'])}).")
        kwargs["dark"] = data["dark"]
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"theme file {path}: 'variables' must be a table, e.g. [variables].")
    kwargs["variables"] = {key: _check_variable(path, key, value) for key, value in variables.items()}
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


# --- the theme chosen with `t`, kept for the next start -------------------------------------------

def remembered_theme_file() -> Path:
    """Where the theme chosen on screen is kept: ``ui.toml`` in the user state directory
    (``~/.local/state/arena-tui/ui.toml`` on Linux; platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("arena-tui")) / "ui.toml"


def load_remembered_theme(path: Path | None = None) -> str | None:
    """The theme name kept by ``remember_theme``, or None (none kept, or a file that is not ours:
    never an error, the default theme is used)."""
    path = path or remembered_theme_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = data.get("theme")
    return name if isinstance(name, str) and 0 < len(name) <= 64 else None


def remember_theme(name: str, path: Path | None = None) -> None:
    """Keep ``name`` as the theme of the next start (written whole with tomli-w, then renamed into
    place); a directory that cannot be written is ignored (the choice is simply not kept)."""
    import os

    import tomli_w

    path = path or remembered_theme_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("# the theme last chosen with `t` in arena-tui (--theme or [ui] theme override it)\n" + tomli_w.dumps({"theme": name}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
