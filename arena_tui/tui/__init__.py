"""The Textual console. It renders engine events and sends the session three commands (cycle now,
pause, resume) plus stop and the replay controls; build it with ``arena_tui.tui.app.make_app``."""
