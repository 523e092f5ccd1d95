"""A path that holds no journal is refused before the screen starts: ``--replay`` and ``--follow``
used to draw the screen (header, empty tables) and then exit with the sentence. ``check_journal_head``
says what the journal reader says, word for word, for every such path; a real journal passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena_tui.cli import main
from arena_tui.engine.errors import JournalError
from arena_tui.engine.journal import open_journal
from arena_tui.engine.journal_head import check_journal_head

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sessions" / "demo.jsonl"
SEASON1 = ROOT / "sessions" / "alpha-arena-2025-10-28.jsonl"


def _bad_paths(tmp: Path) -> dict[str, Path]:
    header = DEMO.read_bytes().split(b"\n", 1)[0]
    files = {
        "empty": b"",
        "blank lines only": b"\n  \n\n",
        "text": b"hello\n",
        "passwd": b"root:x:0:0:root:/root:/bin/bash\n",
        "foreign JSON": b'{"type": "Something"}\n',
        "a JSON list": b"[1, 2]\n",
        "cut-off header": header[: len(header) // 2],
        "a header without its newline, cut": header[:40],
        "binary": bytes(range(256)) * 4,
        "not UTF-8": b'{"type": "SessionStarted", "x": "\xff"}\n',
    }
    out = {}
    for name, data in files.items():
        p = tmp / (name.replace(" ", "_") + ".jsonl")
        p.write_bytes(data)
        out[name] = p
    out["missing"] = tmp / "nowhere.jsonl"
    out["a directory"] = tmp
    return out


def _reader_says(p: Path) -> str:
    with pytest.raises(JournalError) as err:
        with open_journal(p):
            pass
    return str(err.value)


def test_the_check_says_what_the_reader_says(tmp_path):
    for name, p in _bad_paths(tmp_path).items():
        with pytest.raises(JournalError) as err:
            check_journal_head(p)
        assert str(err.value) == _reader_says(p), name


def test_real_journals_pass(tmp_path):
    for p in (DEMO, SEASON1):
        check_journal_head(p)
    # blank lines and a byte-order mark before the header, as the reader allows
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\n\xef\xbb\xbf" + DEMO.read_bytes())
    with open_journal(bom) as stream:
        assert stream.header.session == "demo"
    check_journal_head(bom)


@pytest.mark.parametrize("flag", ["--replay", "--follow"])
def test_the_screen_never_starts_for_a_path_that_is_no_journal(flag, tmp_path, capsys, monkeypatch):
    import arena_tui.tui.app as app

    started = []
    monkeypatch.setattr(app, "make_app", lambda *a, **k: started.append(a) or pytest.fail("the screen started"))
    for name, p in _bad_paths(tmp_path).items():
        assert main([flag, str(p)]) == 2, name
        err = capsys.readouterr().err
        assert err == f"arena-tui: {_reader_says(p)}\n", name
    assert started == []
