"""``engine.sanitize``: untrusted text made safe to draw in a terminal (escape sequences, control
characters, bidi controls and lone surrogates removed or shown visibly; everything else kept)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena_tui.engine.sanitize import (
    LINE_LIMIT,
    PLACEHOLDER,
    is_safe,
    safe_line,
    safe_text,
)

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""What no output may hold: ESC and every other C0 control but tab and newline, DEL, C1, bidi
controls, surrogates."""


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("a\x1b]0;PWNED\x07b", "ab"),  # OSC 0: window/pane title, BEL-terminated
        ("a\x1b]2;PWNED\x1b\\b", "ab"),  # OSC 2, ST-terminated
        ("\x1b]52;c;cHduZWQ=\x07copied", "copied"),  # OSC 52: the clipboard
        ("\x1b]8;;https://evil\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink
        ("x\x1b[2J\x1b[Hy", "xy"),  # CSI clear screen, cursor home
        ("\x1b[31;1mred\x1b[0m", "red"),  # SGR
        ("\x1b[?1049h\x1b[?25l", ""),  # private CSI: alternate screen, hide cursor
        ("\x1bPtmux;\x1b\x1b]0;x\x07\x1b\\after", "after"),  # DCS (tmux passthrough) up to ST
        ("\x1b_apc\x1b\\z", "z"),  # APC
        ("\x1bkPWNED\x1b\\w", "w"),  # tmux/screen window name (allow-rename)
        ("\x1bc\x1b7\x1b8\x1b(Bok", "ok"),  # two-character escapes: reset, save/restore, charset
    ],
)
def test_complete_escape_sequences_are_removed(hostile, expected):
    assert safe_text(hostile) == expected


def test_other_controls_are_shown_visibly():
    assert safe_text("bell\x07") == "bell\u2407"  # ␇
    assert safe_text("lone \x1b") == "lone \u241b"  # ␛: an ESC with nothing after it
    assert safe_text("nul\x00 bs\x08 del\x7f") == "nul\u2400 bs\u2408 del\u2421"
    assert safe_text("c1 \x9b31m \x9d0;t\x9c") == f"c1 {PLACEHOLDER}31m {PLACEHOLDER}0;t{PLACEHOLDER}"
    assert safe_text("abc\u202eevil\u202c") == f"abc{PLACEHOLDER}evil{PLACEHOLDER}"
    assert safe_text("iso\u2066x\u2069") == f"iso{PLACEHOLDER}x{PLACEHOLDER}"
    assert safe_text("half \ud800 pair") == f"half {PLACEHOLDER} pair"
    safe_text("half \ud800 pair").encode("utf-8")  # encodable now


def test_newlines_tabs_and_markup_are_kept():
    text = "line 1\n\tline 2 [b]bold[/b] [link=https://evil]x[/] [@click=app.quit]q[/]\r\n"
    assert safe_text(text) == text.replace("\r", "")
    assert safe_text("héllo 世界 ✓ ▲ ─") == "héllo 世界 ✓ ▲ ─"


def test_an_unterminated_sequence_leaves_no_escape():
    for hostile in ("\x1b]0;PWNED", "\x1b[12", "\x1bP no end", "\x1b"):
        out = safe_text(hostile)
        assert "\x1b" not in out and not FORBIDDEN.search(out)


def test_clean_text_is_the_same_object():
    text = "BTC buy_to_enter 0.05 @10x " * 10
    assert safe_text(text) is text
    assert is_safe(text) and not is_safe("a\x1b[2J")


def test_safe_line_is_one_capped_line():
    assert safe_line("a\nb\tc") == "a b c"
    assert safe_line("\x1b]0;t\x07name\r\n") == "name "
    long = "x" * (LINE_LIMIT + 50)
    assert len(safe_line(long)) == LINE_LIMIT and safe_line(long).endswith("…")
    assert safe_line("abcdef", limit=4) == "abc…"
    assert safe_line(long, limit=None) == long


@given(st.text())
def test_output_never_holds_a_forbidden_character(s):
    out = safe_text(s)
    assert not FORBIDDEN.search(out)
    out.encode("utf-8")  # no lone surrogate
    line = safe_line(s)
    assert not FORBIDDEN.search(line) and "\n" not in line and "\t" not in line


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")))
def test_clean_text_passes_through_unchanged(s):
    assert safe_text(s) == s
    assert safe_text(s + "\n\t" + s) == s + "\n\t" + s


@given(st.text(alphabet=st.sampled_from(["\x1b", "[", "]", "\\", "\x07", "P", "0", ";", "m", "a", "\n", "\x9b", "\ud800"])))
def test_escape_soup_is_always_defused(s):
    assert not FORBIDDEN.search(safe_text(s))
