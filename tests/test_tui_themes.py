"""Theme files (shipped and user), number formatting, and what the console imports on its way up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import OptionList

from arena_tui.tui import formatting as fmt
from arena_tui.tui.app import make_app
from arena_tui.tui.themes import (
    APP_VARIABLES,
    ThemeFileError,
    load_theme_file,
    load_themes,
    resolve_theme_name,
    shipped_theme_dir,
    textual_variables,
)
from test_tui_script import FakeSession, wait_until

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_themes_are_found_and_valid():
    directory = shipped_theme_dir()
    assert directory is not None and (directory / "dark.toml").exists()
    loaded = load_themes(None)
    assert loaded.notices == ()
    names = loaded.names()
    assert {"arena-dark", "arena-light"} <= set(names)
    by_name = {t.name: t for t in loaded.themes}
    assert by_name["arena-dark"].dark and not by_name["arena-light"].dark
    for theme in (by_name["arena-dark"], by_name["arena-light"]):
        assert set(APP_VARIABLES) <= set(theme.variables)  # every app colour set in the shipped themes


def test_user_theme_replaces_and_adds(tmp_path):
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "sea.toml").write_text('name = "sea"\nprimary = "rgb(0, 90, 160)"\nbackground = "#001f3f"\nsuccess = "#32cd32 80%"\n')
    loaded = load_themes(tmp_path)
    assert "sea" in loaded.names() and loaded.notices == ()
    sea = next(t for t in loaded.themes if t.name == "sea")
    # the alpha is folded into the colour: Textual's ColorSystem cannot read "#32cd32 80%" (the app would not start)
    assert sea.primary == "rgb(0, 90, 160)" and sea.success == "#32CD32CC"


@pytest.mark.parametrize(
    "body, says",
    [
        ("name = \"x\"\nprimary = \n", "not valid TOML"),
        ("primary = \"#112233\"\n", "add a name"),
        ("name = \"x\"\n", "'primary' is required"),
        ("name = \"x\"\nprimary = \"#12345\"\n", "'primary' = '#12345' is not a colour"),
        ("name = \"x\"\nprimary = \"#112233\"\nbackgroud = \"#000000\"\n", "unknown key 'backgroud'"),
        ("name = \"x\"\nprimary = \"#112233\"\ndark = \"yes\"\n", "'dark' must be true or false"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\narena-up = \"#00ff00\"\n", "unknown variable 'arena-up'"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\narena-benchmark = 12\n", "must be a colour"),
        # Textual's own design variables, checked as Textual reads them (each of these stopped the app on a CSS error)
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nfooter-key-foreground = \"not-a-colour\"\n",
         "'variables.footer-key-foreground' = 'not-a-colour' is not a colour"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nblock-cursor-text-style = \"blinky\"\n",
         "'variables.block-cursor-text-style' = 'blinky' is not a text style"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nlink-style = \"none bold\"\n", "'none bold' is not a text style"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nlink-style-hover = \"bold not\"\n", "'bold not' is not a text style"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nfooter-key-foreground = \"$primary\"\n", "refers to another variable"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nfooter-background = \"auto 50%\"\n", "'auto 50%' is not allowed here"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nborder = \"initial\"\n", "'initial' is not allowed here"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\ntext-muted = \"auto 150%\"\n", "has an alpha over 100%"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nfooter-key-foreground = 3\n", "must be a colour"),
        ("name = \"x\"\nprimary = \"#112233\"\n[variables]\nfooter-key-foregroud = \"#60A5FA\"\n",
         r"unknown variable 'footer-key-foregroud' \(did you mean 'footer-key-foreground'\?\); \[variables\] may set the arena-\* colours"
         " or Textual's design variables"),
    ],
)
def test_broken_theme_files_are_skipped_with_a_sentence(tmp_path, body, says):
    (tmp_path / "themes").mkdir()
    path = tmp_path / "themes" / "bad.toml"
    path.write_text(body)
    with pytest.raises(ThemeFileError, match=says):
        load_theme_file(path)
    loaded = load_themes(tmp_path)
    assert "x" not in loaded.names() and {"arena-dark", "arena-light"} <= set(loaded.names())
    assert len(loaded.notices) == 1 and str(path) in loaded.notices[0] and loaded.notices[0].endswith("Skipped it.")


def test_textual_variables_and_their_kinds():
    kinds = textual_variables()
    assert len(kinds) == 168 and textual_variables() is kinds  # computed once
    assert {name for name, kind in kinds.items() if kind == "style"} == {name for name in kinds if "-style" in name}
    assert kinds["block-cursor-text-style"] == kinds["link-style-hover"] == "style"
    assert kinds["text-muted"] == kinds["link-color"] == "auto" and kinds["link-background"] == "initial"
    assert kinds["footer-key-foreground"] == kinds["footer-key-background"] == kinds["primary-lighten-1"] == "colour"


def test_good_textual_variables_load(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(
        'name = "good"\nprimary = "#336699"\n[variables]\n'
        'footer-key-foreground = "#60A5FA"\nblock-cursor-text-style = " bold  underline "\ntext-muted = "auto 60%"\n'
        'link-background = "initial"\nfooter-key-background = "transparent"\nfooter-background = "ansi_default"\n'
        'foreground = "#fff 50%"\nbackground-darken-1 = "rgba(1, 2, 3, 0.5)"\nlink-style = "none"\nbutton-focus-text-style = "b not u"\n'
    )
    assert load_theme_file(path).variables == {
        "footer-key-foreground": "#60A5FA",
        "block-cursor-text-style": "bold underline",
        "text-muted": "auto 60%",
        "link-background": "initial",
        "footer-key-background": "transparent",
        "footer-background": "ansi_default",
        "foreground": "#FFFFFF7F",  # folded: Markdown tables use "keyline: thin $foreground 20%", which takes one alpha
        "background-darken-1": "rgba(1, 2, 3, 0.5)",
        "link-style": "none",
        "button-focus-text-style": "b not u",
    }


THEME_APP_SIZE = (120, 40)


def theme_notices(app) -> list[str]:
    return [text for _, text in app.console_screen.status.notices]


@pytest.mark.parametrize(
    "variable, says",
    [
        ('footer-key-foreground = "not-a-colour"', "'variables.footer-key-foreground' = 'not-a-colour' is not a colour"),
        ('block-cursor-text-style = "blinky"', "'variables.block-cursor-text-style' = 'blinky' is not a text style"),
    ],
)
async def test_a_theme_with_a_bad_textual_variable_is_skipped_and_the_app_starts(tmp_path, variable, says):
    """Before the check these themes stopped the app on start-up with Textual's CSS error dump
    (StylesheetParseError, "CSS parsing failed"); now the file is skipped with a notice and the app
    falls back to arena-dark."""
    (tmp_path / "themes").mkdir()
    path = tmp_path / "themes" / "bad.toml"
    path.write_text(f'name = "bad"\nprimary = "#336699"\n[variables]\n{variable}\n')
    app = make_app(FakeSession(autoplay=0), theme="bad", config_dir=tmp_path, clock=lambda: 0.0)
    async with app.run_test(size=THEME_APP_SIZE) as pilot:
        await wait_until(lambda: any("Unknown theme 'bad'" in t for t in theme_notices(app)), "the theme notices")
        await pilot.pause()
        assert app.theme == "arena-dark" and "bad" not in app.available_themes
        skipped = [t for t in theme_notices(app) if str(path) in t]
        assert len(skipped) == 1 and says in skipped[0] and skipped[0].endswith("Skipped it.")
        assert any(str(path) in str(n.message) for n in app._notifications)  # and as a toast
    assert app.return_code in (None, 0)


async def test_a_theme_with_good_textual_variables_is_used_and_renders(tmp_path):
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "good.toml").write_text(
        'name = "good"\nprimary = "#336699"\n[variables]\n'
        'footer-key-foreground = "#60A5FA"\nblock-cursor-text-style = "bold underline"\ntext-muted = "auto 60%"\n'
    )
    app = make_app(FakeSession(autoplay=0), theme="good", config_dir=tmp_path, clock=lambda: 0.0)
    async with app.run_test(size=THEME_APP_SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "good"
        assert not any("good.toml" in t or "Unknown theme" in t for t in theme_notices(app))
        assert app.theme_variables["text-muted"] == "auto 60%"
        footer_key = app.console_screen.query("FooterKey").first()
        assert footer_key.get_component_rich_style("footer-key--key").color.triplet.hex == "#60a5fa"
        # the block cursor's text style shows on a focused list (arena-dark's is bold alone)
        options = OptionList("one", "two")
        await app.console_screen.mount(options)
        options.focus()
        options.highlighted = 0
        await pilot.pause()
        cursor = options.get_component_rich_style("option-list--option-highlighted")
        assert cursor.bold and cursor.underline


def test_theme_names_resolve_with_fallback():
    available = {t.name: t for t in load_themes(None).themes}
    assert resolve_theme_name(None, available) == ("arena-dark", None)
    assert resolve_theme_name("light", available) == ("arena-light", None)
    assert resolve_theme_name("arena-light", available) == ("arena-light", None)
    name, notice = resolve_theme_name("solarized-purple", available)
    assert name == "arena-dark"
    assert notice == "Unknown theme 'solarized-purple'; using arena-dark. Available themes include arena-dark, arena-light."


def test_without_shipped_themes_textual_dark_is_used(tmp_path):
    loaded = load_themes(None, shipped_dir=tmp_path)
    assert loaded.themes == ()
    assert resolve_theme_name("arena-dark", {}) == ("textual-dark", "Unknown theme 'arena-dark'; using textual-dark. No theme files were found.")


def test_numbers_read_right():
    assert fmt.price(108136.0) == "108,136.0"
    assert fmt.price(3899.42) == "3,899.42"
    assert fmt.price(2.3298) == "2.3298"
    assert fmt.price(0.18885) == "0.18885"
    assert fmt.price(None) == fmt.price(float("nan")) == "–"
    assert fmt.money(-3.1) == "-$3.10" and fmt.money(12.5, sign=True) == "+$12.50"
    assert fmt.rate(3.354e-05) == "+0.0034%"
    assert fmt.compact(585_741_930.0) == "585.7M" and fmt.compact(30012.47) == "30.0K"
    assert fmt.quantity(0.09244) == "0.09244" and fmt.quantity(900.0) == "900" and fmt.quantity(2.5) == "2.5"
    assert fmt.quantity(1.8711) == "1.8711" and fmt.quantity(11.1834) == "11.183" and fmt.quantity(250.555) == "250.56"
    assert all(len(fmt.quantity(q)) <= 8 for q in (0.108122, 9.99999, 99.9999, 999.999, 22942.4))
    assert fmt.ratio(1.234) == "1.23" and fmt.ratio(-234.61) == "-235" and fmt.ratio(-298251.9) == "-3e+05"
    assert fmt.countdown(125.2) == "2:06" and fmt.countdown(None) == "–"
    assert fmt.sim_time(1760659200000) == "2025-10-17 00:00 UTC"
    assert fmt.wall_time(1763640000.0) == "12:00:00 UTC"
    assert fmt.agent_label("Momentum", "rule-based") == "Momentum (rule-based)"
    assert fmt.agent_label("Trend (rule-based)", "rule-based") == "Trend (rule-based)"
    assert fmt.agent_label("GPT-5", "llm") == "GPT-5"


def test_sparkline_scales_to_its_range():
    assert fmt.sparkline([1.0, 2.0, 3.0], 5) == "  ▁▅█"
    assert fmt.sparkline([5.0, 5.0], 3) == " ▄▄"
    assert fmt.sparkline([], 4) == "    "
    assert len(fmt.sparkline(list(range(100)), 14)) == 14


def test_console_import_path_has_no_sdk_ccxt_or_numba():
    """Building the app and a replay must not import the LLM SDKs, ccxt or Numba (first frame <= 1 s)."""
    code = (
        "import sys\n"
        "import arena_tui.tui.app, arena_tui.engine.replay, arena_tui.engine.journal\n"
        "heavy = sorted(m for m in ('openai', 'anthropic', 'ccxt', 'numba') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_an_installed_package_uses_its_own_themes_directory(tmp_path):
    """Installed from a wheel, the themes are package data at arena_tui/themes/ (no source tree)."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(ROOT / "arena_tui", site / "arena_tui", ignore=shutil.ignore_patterns("data", "__pycache__"))
    shutil.copytree(ROOT / "themes", site / "arena_tui" / "themes")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import arena_tui\n"
        "from arena_tui.tui.themes import load_themes, shipped_theme_dir\n"
        "print(arena_tui.__file__); print(shipped_theme_dir()); print(','.join(load_themes(None).names()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    package, directory, names = out.stdout.split()
    assert package == str(site / "arena_tui" / "__init__.py")
    assert directory == str(site / "arena_tui" / "themes")
    assert {"arena-dark", "arena-light"} <= set(names.split(","))


# --- the theme chosen with `t` is kept for the next start -------------------------------------------


def test_a_remembered_theme_round_trips_and_a_foreign_file_is_ignored(tmp_path):
    from arena_tui.tui.themes import load_remembered_theme, remember_theme

    path = tmp_path / "state" / "ui.toml"
    assert load_remembered_theme(path) is None
    remember_theme("arena-light", path)
    assert load_remembered_theme(path) == "arena-light"
    for junk in (b"\xff\xfe not toml", b"theme = 3\n", b"[ui]\ntheme = 'x'\n", b'theme = "' + b"x" * 100 + b'"\n'):
        path.write_bytes(junk)
        assert load_remembered_theme(path) is None
    (tmp_path / "a-file").write_text("x")
    remember_theme("arena-dark", tmp_path / "a-file" / "ui.toml")  # a directory that cannot be made: not kept, no error


def test_the_start_theme_is_the_flag_then_the_config_then_the_one_chosen_last(tmp_path, monkeypatch):
    from arena_tui.cli import screen_theme
    from arena_tui.tui.themes import remember_theme, remembered_theme_file

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert remembered_theme_file().is_relative_to(tmp_path)
    assert screen_theme(None, "arena-dark") == "arena-dark"  # nothing kept yet: the default
    remember_theme("arena-light")
    assert screen_theme(None, "arena-dark") == "arena-light"  # the one chosen last
    assert screen_theme(None) == "arena-light"
    assert screen_theme(None, "dracula") == "dracula"  # a theme the config names
    assert screen_theme("nord", "dracula") == "nord"  # --theme


async def test_a_theme_chosen_on_screen_is_handed_to_be_kept():
    from test_tui_script import demo_events, header

    from arena_tui.engine.replay import ReplaySession

    kept: list[str] = []
    app = make_app(ReplaySession(header(), demo_events(), paused=True), clock=lambda: 1763640000.0, remember_theme=kept.append)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert kept == []  # the start theme is not a choice
        app.theme = "arena-light"  # what the `t` picker does
        await pilot.pause()
        assert kept == ["arena-light"]


def test_a_colour_with_a_long_run_of_spaces_is_refused_in_linear_time(tmp_path):
    """A theme file's colour is checked with a pattern that once backtracked quadratically over a long
    run of spaces (minutes for 200,000); it is refused at once, in one sentence."""
    import threading

    path = tmp_path / "spaces.toml"
    path.write_text('name = "spaces"\nprimary = "a' + " " * 200_000 + 'x"\n', encoding="utf-8")
    said: list[str] = []

    def load():
        try:
            load_theme_file(path)
        except ThemeFileError as exc:
            said.append(str(exc))

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(60)
    assert said and str(path) in said[0], "not refused within 60 s"
    assert len(said[0]) < 300  # the value is quoted cut short, not whole


async def test_the_start_theme_is_applied_as_setting_it_would(tmp_path):
    """The app sets its first theme without the re-parse that setting ``App.theme`` queues
    (``ArenaApp._set_first_theme``): the screen, the classes and a later switch must be exactly what
    setting the reactive gives."""
    app = make_app(FakeSession(autoplay=0), theme="arena-light", config_dir=tmp_path, clock=lambda: 0.0)
    async with app.run_test(size=THEME_APP_SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "arena-light" and app.current_theme.dark is False
        assert app.has_class("-theme-arena-light", "-light-mode") and not app.has_class("-dark-mode")
        assert app.screen.styles.background.hex.upper() == "#F6F8FA"
        assert app.theme_variables["background"].upper() == "#F6F8FA"
        app.theme = "arena-dark"
        await pilot.pause()
        assert app.has_class("-theme-arena-dark", "-dark-mode") and not app.has_class("-theme-arena-light", "-light-mode")
        assert app.screen.styles.background.hex.upper() == "#0D1117"
