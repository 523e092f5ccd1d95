"""The one sanitising boundary for untrusted text: model answers and reasoning, server error bodies,
journals from elsewhere, agent/model/session names from configs, theme values.

Such text is written to the journal exactly as it came (nothing is lost); it is made safe only where
it is drawn. ``safe_text`` is for text that may span lines (reasoning, answers, notices, failure
reasons), ``safe_line`` for one-line places (names, titles, table cells). Where they are applied:

- the TUI's drawing primitives: ``StreamView.append/add_line/fold`` (agent panes),
  ``AgentPane`` titles and subtitles, ``StatusLine.show`` (notices, failures, errors),
  ``SessionHeader`` labels, ``ArenaTable.styled`` (every table cell), ``ArenaApp.notify`` (toasts)
  and the command palette's agent entries; each draws the result as ``Text``/``Content``, never as
  markup;
- ``arena_tui.headless``: everything it prints that came from a session or a journal.

Why: a terminal obeys escape sequences wherever they appear in its output. A model (or a server, or
a journal someone sent you) could otherwise set the window title (OSC 0/2), write the clipboard
(OSC 52), plant hyperlinks (OSC 8), move the cursor and clear the screen (CSI), reverse the display
order of what follows (bidi overrides, "Trojan Source") or freeze the TUI (a lone surrogate cannot
be encoded as UTF-8: Rich and Textual spin at 100% CPU on one). Markup is the other half: Textual's
``Static``/``Label`` parse ``[b]``/``[@click=...]``/``[link=...]`` in a plain ``str``, so untrusted
text is always wrapped in ``rich.text.Text`` (or Textual ``Content``) built from the plain string.

This module is engine code: it never imports Textual or Rich.
"""

from __future__ import annotations

import re

__all__ = ["LINE_LIMIT", "PLACEHOLDER", "is_safe", "safe_line", "safe_text"]

PLACEHOLDER = "\ufffd"
"""Shown in place of a C1 control, a bidi control or a lone surrogate (U+FFFD REPLACEMENT CHARACTER)."""

LINE_LIMIT = 200
"""Characters ``safe_line`` keeps by default (longer text ends in ``…``)."""

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidi controls: ALM, LRM, RLM, the embeddings/overrides LRE RLE PDF LRO RLO (U+202A-U+202E) and
the isolates LRI RLI FSI PDI (U+2066-U+2069)."""

_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\\ud800-\\udfff]")
"""Any character ``safe_text`` changes: C0 except tab and newline, DEL, C1, bidi controls, surrogates.
One search of this decides the fast path (clean text is returned as it is)."""

_ESC_SEQUENCE = re.compile(
    r"""
      \x1b\[ [0-?]* [ -/]* [@-~]             # CSI: ESC [ parameters intermediates final (cursor moves, clears, SGR)
    | \x1b\] [^\x07\x1b]* (?:\x07|\x1b\\)    # OSC: ESC ] ... BEL or ST (titles 0/2, hyperlinks 8, clipboard 52)
    | \x1b[PX^_k] (?:[^\x1b]|\x1b[^\\PX^_k\]])* \x1b\\   # DCS, SOS, PM, APC and tmux/screen's window name
                                                         # (ESC k): ESC P|X|^|_|k ... ST (tmux passthrough doubles
                                                         # the ESCs inside; a new string start ends the try)
    | \x1b [ -/]* [0-~]                      # two-character (and nF) escapes: ESC c (reset), ESC 7/8, ESC ( B ...
    """,
    re.VERBOSE,
)
"""A complete escape sequence, removed whole (its parameters would be noise if shown)."""


def _visible(match: re.Match[str]) -> str:
    """What a single unsafe character becomes: CR is dropped (``\\r\\n`` line ends), another C0
    control or DEL its Unicode control picture (ESC -> ␛, BEL -> ␇, DEL -> ␡), anything else
    ``PLACEHOLDER``."""
    code = ord(match.group())
    if code == 0x0D:
        return ""
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return PLACEHOLDER


def is_safe(s: str) -> bool:
    """True when ``safe_text(s)`` would return ``s`` unchanged (no control, bidi or surrogate)."""
    return _UNSAFE.search(s) is None


def safe_text(s: str) -> str:
    """``s`` made safe to draw in a terminal, newlines and tabs kept.

    Removed: complete escape sequences (CSI ``ESC [ ... final``; OSC ``ESC ] ... BEL|ST``; DCS, SOS,
    PM, APC and tmux's ``ESC k`` window name up to ST; two-character ``ESC x`` escapes) and carriage returns. Shown visibly instead:
    any other C0 control (a lone or unterminated ESC becomes ``␛``, BEL ``␇``: the control pictures
    U+2400-U+241F), DEL (``␡``), and as ``PLACEHOLDER`` the C1 controls U+0080-U+009F (8-bit CSI/OSC),
    the bidi controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) and lone surrogates
    (U+D800-U+DFFF). Clean text (the usual case: it runs on every streamed token) is returned as it
    is after one regex search. Markup characters (``[``, ``]``) are left alone: draw the result as
    ``Text``, never as markup.
    """
    if not isinstance(s, str):
        s = str(s)
    if _UNSAFE.search(s) is None:
        return s
    if "\x1b" in s:
        s = _ESC_SEQUENCE.sub("", s)
    return _UNSAFE.sub(_visible, s)


def safe_line(s: str, limit: int | None = LINE_LIMIT) -> str:
    """``safe_text(s)`` for a one-line place (agent, model, session and market names, titles, table
    cells): newlines and tabs become spaces, and text longer than ``limit`` characters (None: no
    limit) is cut to ``limit - 1`` characters and ``…``."""
    s = safe_text(s)
    if "\n" in s or "\t" in s:
        s = s.replace("\n", " ").replace("\t", " ")
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s
