"""The command line: subcommands, their options, and --url / --api-key accepted before or after the subcommand."""

from __future__ import annotations

import argparse
import datetime as dt

from services.cli import batches, forecasts
from services.cli.config import DEFAULT_URL

DESCRIPTION = "castflow's command-line client: upload files, follow batches, read and export forecasts."
EPILOG = f"""\
settings:
  --url URL and --api-key KEY may come before or after the command. Without them castflow uses
  CASTFLOW_URL (default {DEFAULT_URL}) and CASTFLOW_API_KEY (default: no key).

exit codes:
  0    done (upload --wait: the batch completed; --wait-forecasts: and its forecasts too)
  1    the operation failed: a failed batch or forecast, or a request the server refused (4xx)
  2    bad usage: an unknown option, a file that does not exist, a bad date
  3    the server could not be reached, or it failed (5xx)
  4    upload --wait-forecasts: the batch loaded but only some of its forecasts completed (partial)
  130  interrupted (Ctrl-C)

examples:
  castflow upload sales.csv --wait
  castflow status 3
  castflow forecasts --category store-1 --from 2018-01-01 --format csv
  castflow forecasts --category store-1 --model all
  castflow export --format xlsx -o forecasts.xlsx
  castflow dev --port 8000
"""
#: The global options; after `dev` they are not looked for (its arguments belong to the local run).
SERVER_OPTIONS = ("--url", "--api-key")


def iso_date(text: str) -> dt.date:
    """An argparse type: a YYYY-MM-DD date that exists."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a whole number >= 1: {text!r}")
    return int(text)


def _server_options(default: object) -> argparse.ArgumentParser:
    # Added to the main parser (default None) and to each subcommand (default SUPPRESS, so that an option
    # given before the subcommand is not overwritten by the subcommand's default).
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("server")
    group.add_argument("--url", default=default, help=f"castflow's address (env CASTFLOW_URL, default {DEFAULT_URL})")
    group.add_argument("--api-key", default=default, metavar="KEY", help="the API key (env CASTFLOW_API_KEY)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The `castflow` parser; each subcommand sets `handler`, the function that carries it out."""
    parser = argparse.ArgumentParser(prog="castflow", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     parents=[_server_options(None)])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server = _server_options(argparse.SUPPRESS)
    _upload(commands, server)
    _status(commands, server)
    _forecasts(commands, server)
    _export(commands, server)
    _listing(commands, server)
    _accuracy(commands, server)
    commands.add_parser("dev", add_help=False, help="run the platform locally: the same as python -m services.local "
                                                    "(castflow dev --help shows its options)")
    return parser


def _upload(commands: argparse._SubParsersAction, server: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("upload", parents=[server], help="upload a CSV/XLSX file; prints its batch number",
                              description="Upload a file (streamed, with a progress bar on a terminal). A file "
                              "already uploaded is not an error: its batch is named and, with --wait, waited for.")
    sub.add_argument("file", help="a .csv, .csv.gz or .xlsx file")
    sub.add_argument("--wait", action="store_true", help="follow the batch until it completed or failed")
    sub.add_argument("--wait-forecasts", action="store_true",
                     help="like --wait, then also wait until the batch's forecasts ended; "
                          "exits 0 only when all completed (4 when some failed, 1 when all did)")
    mapping = sub.add_mutually_exclusive_group()
    mapping.add_argument("--mapping", metavar="JSON|@FILE", help="a column mapping, as JSON or @file holding it")
    mapping.add_argument("--mapping-name", metavar="NAME", help="a saved mapping profile")
    sub.set_defaults(handler=batches.upload)


def _status(commands: argparse._SubParsersAction, server: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("status", parents=[server], help="one batch: status, progress, counts, log")
    sub.add_argument("batch", type=positive_int, help="the batch number")
    sub.add_argument("--json", action="store_true", help="print the batch as JSON")
    sub.set_defaults(handler=batches.status)


def _filters(sub: argparse.ArgumentParser, *, category_required: bool) -> None:
    sub.add_argument("--category", required=category_required, help="the category")
    sub.add_argument("--model", metavar="MODEL",
                     help="default: the recommended forecast (the best model for a run made before those); "
                          "a model such as prophet or auto_ets, several comma-separated, or all")
    sub.add_argument("--from", dest="date_from", type=iso_date, metavar="YYYY-MM-DD", help="first day (inclusive)")
    sub.add_argument("--to", dest="date_to", type=iso_date, metavar="YYYY-MM-DD", help="last day (inclusive)")
    sub.add_argument("--run", type=positive_int, metavar="ID", help="a forecast run (default: the latest completed)")


def _forecasts(commands: argparse._SubParsersAction, server: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("forecasts", parents=[server], help="a category's forecasts: table, CSV or JSON")
    _filters(sub, category_required=True)
    sub.add_argument("--format", choices=["table", "csv", "json"], default="table", help="default: table")
    sub.set_defaults(handler=forecasts.forecasts)


def _export(commands: argparse._SubParsersAction, server: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("export", parents=[server], help="download forecasts as CSV or XLSX into a file")
    sub.add_argument("--format", choices=["csv", "xlsx"], help="default: from the file name (.xlsx, else csv)")
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    _filters(sub, category_required=False)
    sub.set_defaults(handler=forecasts.export)


def _listing(commands: argparse._SubParsersAction, server: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("categories", parents=[server], help="the categories and their best models")
    sub.add_argument("--json", action="store_true", help="print them as JSON")
    sub.set_defaults(handler=forecasts.categories)
    sub = commands.add_parser("batches", parents=[server], help="the latest batches, newest first")
    sub.add_argument("--limit", type=positive_int, default=20, help="how many (default 20)")
    sub.add_argument("--status", help="only batches in this status: uploaded, processing, completed or failed")
    sub.add_argument("--json", action="store_true", help="print them as JSON")
    sub.set_defaults(handler=batches.batches)


def _accuracy(commands: argparse._SubParsersAction, server: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("accuracy", parents=[server],
                              help="how past forecasts did against the actuals that came after them",
                              description="Realised accuracy (GET /accuracy): n, MAE, MASE, bias and interval "
                                          "coverage per group and model, of the category totals' forecasts or, "
                                          "with --product, of that product's.")
    sub.add_argument("--category", help="the category (required with --product)")
    sub.add_argument("--product", help="a product of the category: its reconciled forecast's scores")
    sub.add_argument("--model", metavar="MODEL", help="a model, or several comma-separated (default: every model)")
    sub.add_argument("--run", type=positive_int, metavar="ID", help="one forecast run")
    sub.add_argument("--from", dest="date_from", type=iso_date, metavar="YYYY-MM-DD", help="first forecast day")
    sub.add_argument("--to", dest="date_to", type=iso_date, metavar="YYYY-MM-DD", help="last forecast day")
    sub.add_argument("--group-by", choices=["days_ahead", "run", "date"], default="days_ahead",
                     help="default: days_ahead")
    sub.add_argument("--format", choices=["table", "csv", "json"], default="table", help="default: table")
    sub.set_defaults(handler=forecasts.accuracy)


def check_dates(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Stop with a usage error when --from is after --to."""
    start, end = getattr(args, "date_from", None), getattr(args, "date_to", None)
    if start and end and start > end:
        parser.error(f"--from {start} is after --to {end}")


def dev_arguments(argv: list[str]) -> list[str] | None:
    """The arguments after `dev` when that is the command (they go to the local run untouched), else None."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in SERVER_OPTIONS:
            index += 2
        elif token.startswith(tuple(f"{option}=" for option in SERVER_OPTIONS)):
            index += 1
        else:
            return argv[index + 1:] if token == "dev" else None
    return None
