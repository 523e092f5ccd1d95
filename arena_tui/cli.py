"""The ``arena-tui`` command line (argparse).

Errors a user can cause print one sentence on stderr and exit with status 2, never a traceback;
the unexpected (a bug of ours) prints one sentence naming the log file, which holds the traceback.
Exit statuses: see ``EXIT_STATUSES`` (also in ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from arena_tui import __version__
from arena_tui.engine.errors import ArenaError


EXIT_OK = 0
EXIT_DIFFERS = 1
EXIT_ERROR = 2
EXIT_NOTHING = 3
EXIT_STATUSES = """exit status:
  0    the session ran (or the replay verified)
  1    --replay --headless: the journal differs from its re-execution
  2    bad input or an error: one sentence on stderr (details in the log file)
  3    the session ran but achieved nothing: the market never answered, or every agent failed every time
  128+N  stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP); the journal is complete and resumable"""


COMMANDS_HELP = """commands (each has --help):
  arena-tui export FILE [--to DIR] [--format csv|parquet]   a journal's trades, equity, decisions, fills,
                                                            funding and model calls as tables
  arena-tui sessions [DIR]                                  the journals of the sessions directory
  arena-tui report FILE [-o report.html]                    one self-contained HTML page to share: equity
                                                            chart, leaderboard, per-coin PnL, decisions, costs
  arena-tui serve FILE [--replay] [--port 8000]             the screen of a running session (or a replay) in
                                                            browsers on 127.0.0.1 (pip install 'arena-tui[serve]')"""

COMMANDS = ("export", "sessions", "report", "serve")
"""Subcommands, recognised as the first argument (the session flags take no positional argument)."""


PRESETS = ("season1",)
"""``--preset`` names: ``season1`` (``arena_tui.season1.preset_config``)."""


def build_parser() -> argparse.ArgumentParser:
    from arena_tui.logs import log_file, shown_path

    p = argparse.ArgumentParser(
        prog="arena-tui",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"{COMMANDS_HELP}\n\n{EXIT_STATUSES}\n\nlog file: {shown_path(log_file())} (rotated; ARENA_TUI_LOG_DIR moves it)",
        description=(
            "Watch LLMs and rule-based baselines paper-trade crypto perpetual futures side by side. "
            "With no config and no keys it runs the bundled real market (Alpha Arena Season 1, from 2025-10-17) "
            "with the rule-based baselines."
        ),
    )
    p.add_argument("--version", action="version", version=f"arena-tui {__version__}")
    p.add_argument("--config", metavar="PATH", help="TOML config file (default: ./arena.toml, then the user config dir)")
    p.add_argument("--init-config", nargs="?", const="arena.toml", metavar="PATH", help="write a commented starter config and exit")
    p.add_argument("--replay", metavar="FILE", help="replay a recorded session journal (sessions/*.jsonl)")
    p.add_argument("--follow", metavar="FILE", help="watch a session another arena-tui is running (read-only), by tailing its journal")
    p.add_argument("--resume", metavar="FILE", help="continue a stopped or crashed session, appending to its journal (it must verify)")
    p.add_argument("--resume-unverified", action="store_true", help="with --resume: continue from the last cycle that verifies (the rest is kept beside the journal)")
    p.add_argument("--headless", action="store_true", help="no screen: progress bar and a final leaderboard")
    p.add_argument("--verify-indicators", action="store_true",
                   help="with --replay --headless: recompute the market table's indicators too (the ledger and accounts always are)")
    p.add_argument("--preset", choices=PRESETS, help="season1: Alpha Arena Season 1's six models on Oct 28 2025, from their real accounts, answering as they did")
    p.add_argument("--cycles", type=int, metavar="N", help="stop after N cycles")
    p.add_argument("--until", metavar="ISO", help="recorded: stop after the cycle at this time, e.g. 2025-10-28T12:15:00Z")
    p.add_argument("--start", metavar="ISO", help="recorded market start, e.g. 2025-10-20T00:00:00Z")
    p.add_argument("--coins", metavar="LIST", help="comma-separated coins, e.g. BTC,ETH")
    p.add_argument("--source", choices=("recorded", "live"), help="bundled recorded market or a live exchange")
    p.add_argument("--exchange", metavar="ID", help="live exchange id (hyperliquid, binanceusdm, ...); implies --source live")
    p.add_argument("--speed", type=float, metavar="SECONDS", help="recorded: wall seconds between cycles (0 = flat out)")
    p.add_argument("--name", metavar="NAME", help="session name (journal file name suffix)")
    p.add_argument("--journal", metavar="PATH", help="new journal file (default sessions/<UTC time>-<name>.jsonl); never an existing one")
    p.add_argument("--theme", metavar="NAME", help="colour theme (arena-dark, arena-light, or a user theme)")
    p.add_argument("--answer-cache", nargs="?", const="", metavar="DIR",
                   help="recorded market: answer a prompt a model was asked before from disk, at no cost "
                        "(DIR default: the user cache directory; [arena] answer_cache)")
    return p


def build_command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of a subcommand (``COMMANDS``): ``export`` or ``sessions``."""
    if command == "export":
        from arena_tui.export import FORMATS

        p = argparse.ArgumentParser(
            prog="arena-tui export",
            description=(
                "Write a session journal's tables: trades, equity (per cycle and agent), decisions (accepted and "
                "rejected, with rule ids), fills, funding payments and model calls. Columns: README, section Export."
            ),
        )
        p.add_argument("file", metavar="FILE", help="a session journal (sessions/*.jsonl)")
        p.add_argument("--to", metavar="DIR", help="output directory (default: beside the journal, named after it)")
        p.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or parquet (needs: pip install 'arena-tui[parquet]')")
        return p
    if command == "serve":
        p = argparse.ArgumentParser(
            prog="arena-tui serve",
            description=(
                "Serve the screen of a session to web browsers (textual-serve): by default it follows the journal of a "
                "session another arena-tui is running (read-only, as --follow); with --replay it replays a recorded one. "
                "Every browser gets its own view of the one session; viewers need no keys."
            ),
        )
        p.add_argument("file", metavar="FILE", help="a session journal (sessions/*.jsonl)")
        p.add_argument("--replay", action="store_true", help="replay the journal instead of following it")
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
        p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        p.add_argument("--theme", metavar="NAME", help="colour theme")
        return p
    if command == "report":
        p = argparse.ArgumentParser(
            prog="arena-tui report",
            description=(
                "Write one self-contained HTML page of a session (works offline, runs no script): the equity chart, "
                "the leaderboard, net PnL per coin, decision statistics, the cost of each model and the config."
            ),
        )
        p.add_argument("file", metavar="FILE", help="a session journal (sessions/*.jsonl)")
        p.add_argument("-o", "--output", metavar="PATH", help="the page to write (default: beside the journal, FILE with .html)")
        return p
    p = argparse.ArgumentParser(
        prog="arena-tui sessions",
        description="List the session journals of a directory, newest first: start, market, agents, cycles, leader, state.",
    )
    p.add_argument("dir", nargs="?", metavar="DIR", help="the sessions directory (default: the config's arena.sessions_dir)")
    p.add_argument("--config", metavar="PATH", help="TOML config file whose arena.sessions_dir is listed")
    return p


def overrides_from(args: argparse.Namespace) -> dict:
    """The config overrides the flags make (``config.load_config(overrides=...)``). ``--exchange``
    names a live exchange, so it implies ``--source live``; with ``--source recorded`` it is refused."""
    if args.exchange is not None and args.source == "recorded":
        raise ArenaError("--exchange names a live exchange, but --source recorded plays the bundled market; drop one of them.")
    market = {k: v for k, v in {
        "start": args.start,
        "coins": args.coins,
        "source": args.source if args.source is not None or args.exchange is None else "live",
        "exchange": args.exchange,
        "speed": args.speed,
    }.items() if v is not None}
    arena = {"name": args.name} if args.name else {}
    cache = getattr(args, "answer_cache", None)
    if cache is not None:  # --answer-cache [DIR]
        arena["answer_cache"] = True
        if cache:
            arena["answer_cache_dir"] = cache
    ui = {"theme": args.theme} if args.theme else {}
    return {"market": market, "arena": arena, "ui": ui}


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    if given and given[0] in COMMANDS:
        args = build_command_parser(given[0]).parse_args(given[1:])
        args.command = given[0]
    else:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.command = None
        if args.cycles is not None and args.cycles < 1:
            parser.error("--cycles must be at least 1")
    from arena_tui.logs import close_logging, setup_logging

    setup_logging()
    try:
        return _main(args, sys.argv[1:] if argv is None else argv)
    finally:
        close_logging()


def run() -> None:
    """The ``arena-tui`` console script (and ``python -m arena_tui``): ``main()``, then leave at once.

    Once ``main`` has returned, the journal is closed and fsynced, the log file closed and the
    terminal restored; what is left is the interpreter tearing down the SDKs', ccxt's and Numba's
    module graphs, which takes 1-2 s and is of no use to anyone. So the output streams are flushed
    and the process exits with ``os._exit`` (``q`` quits within a second)."""
    import os

    try:
        status = main()
    except SystemExit as exc:  # argparse: --help, --version, a usage error (already printed)
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BaseException:
        raise  # the interpreter's own handling (a traceback would be a bug of ours)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def _main(args: argparse.Namespace, argv: list[str]) -> int:
    import logging

    log = logging.getLogger("arena_tui.cli")
    log.info("arena-tui %s: %s", __version__, " ".join(argv))
    try:
        command = getattr(args, "command", None)
        if command == "export":
            return run_export(args)
        if command == "sessions":
            return run_sessions(args)
        if command == "report":
            return run_report(args)
        if command == "serve":
            return run_serve(args)
        if args.init_config:
            from arena_tui.config import write_starter_config

            path = write_starter_config(args.init_config)
            print(f"wrote {path}: edit it, then run arena-tui (keys go in environment variables, not the file)")
            return 0
        if args.replay:
            return run_replay(args)
        if args.follow:
            return run_follow(args)
        return run_session(args) if args.headless else run_tui(args)
    except ArenaError as exc:
        from arena_tui.engine.sanitize import safe_text

        log.info("ended: %s", exc)
        print(f"arena-tui: {safe_text(str(exc))}", file=sys.stderr)  # it may quote a journal or a server
        return EXIT_ERROR
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130  # 128 + SIGINT
    except Exception as exc:  # a bug of ours: one sentence here, the traceback in the log
        from arena_tui.logs import log_hint

        log.error("unexpected error", exc_info=True)
        print(f"arena-tui: unexpected {type(exc).__name__}; this is a bug, please report it ({log_hint()}).", file=sys.stderr)
        return EXIT_ERROR


def run_export(args: argparse.Namespace) -> int:
    """``arena-tui export FILE``: write the tables, then print each file and its row count."""
    from rich.table import Table
    from rich.text import Text

    from arena_tui.engine.sanitize import safe_line
    from arena_tui.export import export_journal
    from arena_tui.headless import _console, reading_progress

    console = _console()
    with reading_progress(args.file, "exporting", console) as progress:
        done = export_journal(args.file, args.to, args.format, progress)
    for w in done.warnings:
        console.print(Text(safe_line(w, limit=None), style="yellow"))
    console.print(Text(safe_line(f"exported {done.journal} to {done.out_dir}", limit=None)))
    table = Table()
    table.add_column("table")
    table.add_column("file", overflow="fold")
    table.add_column("rows", justify="right")
    for name, path, rows in done.files:
        table.add_row(name, Text(safe_line(str(path), limit=None)), f"{rows:,}")
    console.print(table)
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    """``arena-tui report FILE``: write the HTML page and say where it is."""
    from arena_tui.engine.sanitize import safe_line
    from arena_tui.headless import reading_progress
    from arena_tui.report import write_report

    try:
        with reading_progress(args.file, "reading the journal") as progress:
            path = write_report(args.file, args.output, progress)
    except OSError as exc:
        raise ArenaError(f"cannot write the report: {exc.strerror or exc} ({args.output or args.file}); choose another path with -o.") from None
    print(f"report: {safe_line(str(path), limit=None)} (open it in a browser; it needs no network)")
    return EXIT_OK


def serve_command(args: argparse.Namespace) -> str:
    """The command line each browser's view runs: this Python, ``--follow`` (or ``--replay``) FILE."""
    import shlex

    argv = [sys.executable, "-m", "arena_tui", "--replay" if args.replay else "--follow", str(Path(args.file).resolve())]
    if args.theme:
        argv += ["--theme", args.theme]
    return " ".join(shlex.quote(a) for a in argv)


def run_serve(args: argparse.Namespace) -> int:
    """``arena-tui serve FILE``: textual-serve runs ``serve_command`` for every browser that connects."""
    from arena_tui.engine.journal import open_journal

    open_journal(args.file).close()  # one sentence now when it is not a journal
    try:
        from textual_serve.server import Server
    except ImportError:
        raise ArenaError("serving to a browser needs textual-serve, which is not installed: run pip install 'arena-tui[serve]'.") from None
    what = "replaying" if args.replay else "following"
    print(f"arena-tui: {what} {args.file} at http://{args.host}:{args.port} (every browser gets its own view; Ctrl+C stops)")
    Server(serve_command(args), host=args.host, port=args.port, title=f"arena-tui · {Path(args.file).stem}").serve()
    return EXIT_OK


def run_sessions(args: argparse.Namespace) -> int:
    """``arena-tui sessions [DIR]``: the journals of DIR (default: the config's arena.sessions_dir)."""
    from rich.text import Text

    from arena_tui.headless import _console, counting_progress
    from arena_tui.sessions import default_cache_path, list_sessions, sessions_table

    directory = args.dir
    if directory is None:
        from arena_tui.config import load_config

        directory = str(Path(load_config(args.config).arena.sessions_dir).expanduser())
    console = _console()
    with counting_progress("reading the journals", console) as progress:  # (a long one takes seconds)
        listing = list_sessions(directory, cache=default_cache_path(), progress=progress)
    console.print(sessions_table(listing, console.width))
    read = f"{listing.read} read, {len(listing.sessions) - listing.read} from the cache; " if listing.sessions else ""
    console.print(Text(f"{read}listed in {listing.seconds:.2f} s. Replay one: arena-tui --replay FILE; export it: arena-tui export FILE", style="dim"))
    return EXIT_OK


def new_session_config(args: argparse.Namespace):
    """The config of a new session (not ``--resume``), its journal path checked: what is refused
    here is refused before the screen starts, not inside it."""
    from arena_tui.config import load_config

    if getattr(args, "preset", None) == "season1":
        from arena_tui import season1

        if args.source == "live" or args.exchange is not None:
            raise ArenaError("--preset season1 replays Oct 28 2025 on the bundled market; drop --source live and --exchange.")
        config = season1.preset_config(overrides=overrides_from(args))
        if getattr(args, "until", None) is None:
            args.until = season1.UNTIL
    else:
        config = load_config(args.config, overrides=overrides_from(args))
    if getattr(args, "until", None) is not None:
        if config.market.source == "live":
            from arena_tui.engine.errors import ConfigError

            raise ConfigError("--until works on the recorded market only; a live session runs until you stop it (or --cycles N).")
        from arena_tui.season1 import cycles_until

        until = cycles_until(config, args.until)
        args.cycles = until if args.cycles is None else min(args.cycles, until)
    if args.journal is not None:
        from arena_tui.engine.journal import check_new_journal_path

        check_new_journal_path(args.journal)
    if not args.name and config.arena.name == DEFAULT_SESSION_NAME:
        import dataclasses

        config = dataclasses.replace(config, arena=dataclasses.replace(config.arena, name=default_session_name(config)))
    return config


DEFAULT_SESSION_NAME = "demo"
"""``[arena] name``'s default: a session left unnamed is named for what ran (``default_session_name``)."""


def default_session_name(config) -> str:
    """The name of a session the user did not name, saying what ran: the config file's name (not a
    plain ``arena.toml``), else "demo" for the offline demo (the bundled market and the baselines),
    else the models' names joined by ``-vs-`` (a swarm or a fallback by its first model), at most 60
    characters; "live-" in front for a live exchange."""
    from pathlib import Path

    from arena_tui.config import redact_text

    stem = Path(config.source).stem if config.source else ""
    if stem and stem != "arena":
        name = stem
    elif config.offline_demo:
        return DEFAULT_SESSION_NAME
    else:
        models = []
        for a in config.agents:
            if a.kind == "baseline":
                continue
            label = a.model or a.name
            label = label.rsplit("/", 1)[-1] if a.kind != "recorded" else a.name  # openrouter's vendor/model
            if redact_text(label) != label:  # a model id shaped like a key never names a file
                label = a.name if redact_text(a.name) == a.name else ""
            if label and label not in models:
                models.append(label)
        name = "-vs-".join(models) or DEFAULT_SESSION_NAME
    if config.market.source == "live":
        name = f"live-{name}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-.")
    return (safe[:60].rstrip("-.") or DEFAULT_SESSION_NAME)


def make_session(args: argparse.Namespace, *, headless: bool, config=None):
    """The session the arguments ask for and its config. ``config``: the new session's config
    already loaded (``new_session_config``; not with ``--resume``)."""
    from arena_tui.config import REDACTED, load_config

    resume = None
    journal_path = args.journal
    if not args.resume:
        if config is None:
            config = new_session_config(args)
    else:
        import dataclasses

        from arena_tui.headless import reexecute_with_progress

        # re-execute the journal to its cut: the session continues from that very arena and state,
        # with the recorded config (fees, risk, market, agents); flags may change the pace only
        ignored = [f"--{flag}" for flag in ("preset", "source", "exchange", "start", "coins", "journal", "name")
                   if getattr(args, flag, None) is not None]
        if ignored:
            raise ArenaError(f"--resume continues {args.resume} with its recorded market, agents and name; drop {' and '.join(ignored)} "
                             f"(--cycles, --speed and --theme apply).")
        resume = reexecute_with_progress(args.resume, label="re-executing the journal", stop_before_partial=True)
        if resume.difference is not None and not args.resume_unverified:
            raise ArenaError(
                f"cannot resume {args.resume}: it does not verify (replay differs at {resume.difference}); "
                f"appending would extend a record that is not true. Inspect it with --replay {args.resume} --headless, "
                f"or pass --resume-unverified to continue anyway."
            )
        if resume.difference is not None:
            # continue from the last cycle that verified: re-execute to just before the one that differs
            resume = reexecute_with_progress(args.resume, label="re-executing the journal", stop_before_partial=True, max_cycles=resume.cycles)
        config = resume.reexecution.config
        recorded = list(resume.reexecution.arena.states)
        configured = [a.name for a in config.agents]
        if sorted(recorded) != sorted(configured):
            raise ArenaError(
                f"cannot resume {args.resume}: its header lists the agents {', '.join(map(repr, recorded))} but its recorded "
                f"config has {', '.join(map(repr, configured))}; the journal was edited. Start a new session instead."
            )
        if any(REDACTED in str(v) for a in config.agents for v in vars(a).values()):
            # credentials in a base_url were redacted in the journal: take them from the config file
            from arena_tui.config import restore_redacted

            config = restore_redacted(config, load_config(args.config), args.resume)
        if args.speed is not None:
            config = dataclasses.replace(config, market=dataclasses.replace(config.market, speed=args.speed))
        journal_path = args.resume
    from arena_tui.engine.factory import build_agents, build_market
    from arena_tui.engine.scheduler import ArenaSession

    market = build_market(config)
    if resume is not None and hasattr(market, "seek"):
        state = resume.state
        market.seek(state.cycle_time if state.cycle_time is not None else resume.header.time)
    agents = build_agents(config)
    pace = 0.0 if headless and config.market.source != "live" else None  # live: cycles on the wall clock
    return (
        ArenaSession(
            config,
            market,
            agents,
            journal_path=journal_path,
            max_cycles=args.cycles,
            pace=pace,
            resume=resume,
            background_warmup=not headless,
        ),
        config,
    )


def run_session(args: argparse.Namespace) -> int:
    from arena_tui.headless import run_headless

    session, _config = make_session(args, headless=True)
    total = args.cycles
    if total is None and hasattr(session.market, "cycles_left"):
        total = session.market.cycles_left() + (1 if session.arena is None or session.arena.cycle == 0 else 0)
    return asyncio.run(run_headless(session, total=total, asked=args.cycles))


def run_replay(args: argparse.Namespace) -> int:
    if args.headless:
        from arena_tui.headless import replay_headless

        return replay_headless(args.replay, indicators=args.verify_indicators)
    from pathlib import Path

    from arena_tui.config import user_config_dir
    from arena_tui.engine.journal_head import check_journal_head

    check_journal_head(args.replay)  # a wrong path is refused before the screen (or its import) starts
    from arena_tui.tui.app import make_app
    from arena_tui.tui.starting import StartingSession

    speed = args.speed if args.speed else 1.0

    name = Path(args.replay).name

    def build():
        from arena_tui.engine.replay import ReplaySession

        def progress(done: int, total: int) -> None:
            session.report(f"Reading {name}: {100 * done // max(total, 1)}% of {total / 1e6:.1f} MB")

        return ReplaySession.from_journal(args.replay, speed=speed, progress=progress)

    # the journal is read (indexed) after the first frame, with a progress line
    session = StartingSession("replay", Path(args.replay).stem, build, speed=speed)
    app = make_app(session, theme=screen_theme(args.theme), config_dir=user_config_dir(), remember_theme=remember_theme)
    app.run()
    return open_next_journal(app, _after_app(app, None), args)


def screen_theme(flag: str | None, configured: str | None = None) -> str | None:
    """The theme to start with: ``--theme``, else ``[ui] theme`` when it is not the default, else the
    theme last chosen with ``t`` (``themes.load_remembered_theme``), else the default."""
    from arena_tui.config import UIConfig
    from arena_tui.tui.themes import load_remembered_theme

    if flag:
        return flag
    if configured and configured != UIConfig().theme:
        return configured
    return load_remembered_theme() or configured


def remember_theme(name: str) -> None:
    """Keep the theme chosen on screen for the next start (``themes.remember_theme``)."""
    from arena_tui.tui.themes import remember_theme as keep

    keep(name)


def run_follow(args: argparse.Namespace) -> int:
    """``--follow FILE``: the screen over a journal another process is writing (read-only)."""
    if args.headless:
        raise ArenaError("--follow shows a running session on the screen; drop --headless (to check a journal, use --replay FILE --headless).")
    from pathlib import Path

    from arena_tui.config import user_config_dir
    from arena_tui.engine.journal_head import check_journal_head

    check_journal_head(args.follow)  # a wrong path is refused before the screen (or its import) starts
    from arena_tui.tui.app import make_app
    from arena_tui.tui.starting import StartingSession

    def build():
        from arena_tui.engine.follow import FollowSession

        return FollowSession(args.follow)

    session = StartingSession("follow", Path(args.follow).stem, build)
    app = make_app(session, theme=screen_theme(args.theme), config_dir=user_config_dir(), remember_theme=remember_theme)
    app.run()
    return open_next_journal(app, _after_app(app, None), args)


def run_tui(args: argparse.Namespace) -> int:
    from arena_tui.config import user_config_dir
    from arena_tui.tui.app import make_app

    if args.resume:  # re-executed (with its progress on the terminal) before the screen starts
        session, config = make_session(args, headless=False)
        started = session
    else:
        from arena_tui.tui.starting import StartingSession

        config = new_session_config(args)
        # the market, the agents and the session are built after the first frame
        mode = "live" if config.market.source == "live" else "recorded"
        session = StartingSession(mode, config.arena.name, lambda: make_session(args, headless=False, config=config)[0])
    app = make_app(session, theme=screen_theme(args.theme, config.ui.theme), config_dir=user_config_dir(), remember_theme=remember_theme)
    app.run()
    if not args.resume:
        started = session.started
    return open_next_journal(app, _after_app(app, started), args)


def open_next_journal(app, status: int, args: argparse.Namespace) -> int:
    """After the screen closes: when its sessions browser chose a journal (``app.next_journal``:
    ("replay" or "follow", path)), replay or follow it now, in this process, with the same theme, and
    return that screen's status; else ``status``."""
    chosen = getattr(app, "next_journal", None)
    if chosen is None:
        return status
    mode, path = chosen
    if mode == "preset":  # the A key without the showcase journal at hand: run the preset
        preset = argparse.Namespace(**vars(args))
        preset.preset, preset.replay, preset.follow, preset.resume = str(path), None, None, None
        preset.headless, preset.speed, preset.until, preset.cycles, preset.journal, preset.name = False, None, None, None, None, None
        preset.config = None
        preset.source = preset.exchange = preset.start = preset.coins = None  # (the preset's own market)
        return run_tui(preset)
    following = argparse.Namespace(**vars(args))
    following.replay = str(path) if mode == "replay" else None
    following.follow = str(path) if mode == "follow" else None
    following.headless = False
    following.speed = None  # a replay at 1x (a live session's --speed is its cycle pace, not a replay speed)
    return run_follow(following) if mode == "follow" else run_replay(following)


def _after_app(app, session) -> int:
    """After the screen closes: say how the session ended and where its journal is (on stderr, one
    line each), and return the exit status (``EXIT_STATUSES``). ``session``: the session that ran
    (None when it never started). A session the app could not build raises its error here, so it
    is reported as when the session was built before the screen (``_main``)."""
    from arena_tui.engine.sanitize import safe_line, safe_text

    if app.start_error is not None:
        raise app.start_error

    if app.error is not None:
        print(f"arena-tui: {safe_text(app.error)}", file=sys.stderr)
    path = getattr(session, "journal_path", None) if session is not None else None
    if path is not None:
        shown = safe_line(str(path), limit=None)
        cycles = session.state.cycles_completed
        print(f"arena-tui: {cycles} cycle{'s' if cycles != 1 else ''}; journal {shown} (replay: arena-tui --replay {shown})", file=sys.stderr)
        print(f"arena-tui: tables: arena-tui export {shown}; a page to share: arena-tui report {shown}", file=sys.stderr)
    if app.error is not None:
        return EXIT_ERROR
    from arena_tui.engine.session import signal_status

    status = signal_status(app.stopped_by_signal)
    if status is not None:
        return status
    problem = session.outcome.problem() if session is not None else None
    if problem is not None:
        print(f"arena-tui: {safe_text(problem)}", file=sys.stderr)
        return EXIT_NOTHING
    return EXIT_OK
