from arena_tui.cli import run

run()
