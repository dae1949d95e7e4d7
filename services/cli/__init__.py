"""`castflow`: the command-line client of the HTTP API (upload, status, forecasts, export, ...), and `dev`.

It speaks only HTTP, with the standard library; `castflow --help` lists the commands and the exit codes.
"""

from __future__ import annotations

import os
import sys

from services.cli.client import Client
from services.cli.config import client_config
from services.cli.errors import CliError, ExitCode
from services.cli.parser import build_parser, check_dates, dev_arguments


def main(argv: list[str] | None = None) -> int:
    """Run one castflow command and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    local = dev_arguments(argv)
    if local is not None:
        return run_dev(local)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check_dates(parser, args)
    except SystemExit as exc:  # argparse's --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    config = client_config(args.url, args.api_key)
    try:
        return int(args.handler(args, Client(config.url, config.api_key)))
    except CliError as exc:
        print(f"castflow: {exc.message}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print("castflow: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`castflow forecasts ... | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK


def run_dev(argv: list[str]) -> int:
    """`castflow dev [args]`: the one-command local run, in this process (as python -m services.local)."""
    from services.local import main as run_local

    try:
        return run_local(argv)
    except SystemExit as exc:  # its argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE


__all__ = ["main"]
