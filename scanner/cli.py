"""`beian` command line (CONTRACT §1). Errors are one line on stderr with exit status 2."""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Callable

from checks import codes
from core.config import Config, ConfigError, check_codes, database_url, load_config
from scanner.commands.common import CommandError
from scanner.store.db import StoreError

EXIT_USAGE = 2


def _cmd_db_upgrade(args, config: Config) -> int:
    from scanner.store.db import make_engine, upgrade

    engine = make_engine(database_url(config))
    try:
        ran = upgrade(engine)
    finally:
        engine.dispose()
    print("database upgraded to the newest schema" if ran else "database already at the newest schema")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    from scanner import commands

    parser = argparse.ArgumentParser(
        prog="beian",
        description="ICP 备案 compliance scanner: import the filing registry, crawl every filed website, "
        "check it, and keep the findings.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML config (default: $BEIAN_CONFIG, then ./beian.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", metavar="ACTION")
    db.required = True
    db.add_parser("upgrade", help="migrate the database to the newest schema").set_defaults(func=_cmd_db_upgrade)

    commands.register(sub)
    return parser


EXIT_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE


def _stdout_reader_gone(exc: BaseException) -> bool:
    """True when `exc` is (or was caused by) a BrokenPipeError and it is our stdout whose reader went
    away (`beian findings | head`). A broken pipe to a mail server or a database is a real failure."""
    seen, cause = 0, exc
    while cause is not None and not isinstance(cause, BrokenPipeError) and seen < 10:
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    if not isinstance(cause, BrokenPipeError):
        return False
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))  # a pipe with no reader left
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        return False


def _quiet_exit() -> int:
    """Stop quietly, as Unix tools do; stdout goes to /dev/null so that Python's final flush of what is
    still buffered cannot fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    func: Callable = args.func
    try:
        config = load_config(args.config) if getattr(args, "needs_config", True) else Config()
        check_codes(config, codes())
        code = int(func(args, config) or 0)
        sys.stdout.flush()  # a reader that went away shows here, inside the handler below, not at exit
        return code
    except (ConfigError, StoreError, CommandError) as exc:
        print(f"beian: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("beian: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the operator, the traceback on request
        if _stdout_reader_gone(exc):
            return _quiet_exit()
        if os.environ.get("BEIAN_DEBUG"):
            raise
        print(f"beian: internal error: {type(exc).__name__}: {exc} (set BEIAN_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # `python -m scanner.cli`: run the importable module, so its classes are the ones used
    from scanner.cli import main as _main

    sys.exit(_main())
