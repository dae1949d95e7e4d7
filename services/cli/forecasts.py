"""Commands about forecasts: `forecasts` (every matching row, as a table, CSV or JSON), `export`, `categories`."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from services.cli.client import Client
from services.cli.errors import CliError, ExitCode
from services.cli.output import table, write_csv, write_json
from services.cli.progress import Progress, bar, human_bytes, printable

#: Rows asked for per request while paging through /forecast-data.
PAGE_ROWS = 10_000
FORECAST_FIELDS = ["forecast_date", "category", "model_type", "forecast_value", "lower_bound", "upper_bound",
                   "run_id", "batch_num", "id", "p10", "p50", "p90"]  # the quantiles last: older readers keep theirs


def forecast_filters(args: argparse.Namespace) -> dict[str, object]:
    """The query parameters of the filter options (those not given are left out)."""
    values = {"category": args.category, "model_type": args.model, "run_id": args.run,
              "start_date": args.date_from, "end_date": args.date_to}
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in values.items() if value is not None}


def fetch_forecasts(client: Client, filters: dict[str, object]) -> list[dict[str, Any]]:
    """Every row /forecast-data has for the filters, page after page (none silently cut off)."""
    filters = dict(filters)
    rows: list[dict[str, Any]] = []
    while True:
        page = client.get_json("/forecast-data", {**filters, "limit": PAGE_ROWS, "offset": len(rows)})
        if not rows and "run_id" not in filters and len({row["run_id"] for row in page}) == 1:
            # Pin the run the first page came from: a run published meanwhile must not mix into later pages.
            filters["run_id"] = page[0]["run_id"]
        rows.extend(page)
        if len(page) < PAGE_ROWS:
            return rows


def forecasts(args: argparse.Namespace, client: Client) -> int:
    """Print the category's forecasts (the recommended one unless --model) as an aligned table, CSV or JSON."""
    rows = fetch_forecasts(client, forecast_filters(args))
    if args.format == "json":
        write_json(sys.stdout, rows)
    elif args.format == "csv":
        write_csv(sys.stdout, rows, FORECAST_FIELDS)
    elif not rows:
        print(f"no forecasts match (category {printable(args.category)!r} has no completed run, or the filters "
              "leave nothing)", file=sys.stderr)
    else:
        headers = ["date", "category", "model", "value", "lower", "upper", "p10", "p50", "p90", "run"]
        print(table(headers, [[r["forecast_date"], r["category"], r["model_type"], r["forecast_value"],
                               r["lower_bound"], r["upper_bound"], r.get("p10"), r.get("p50"), r.get("p90"),
                               r["run_id"]] for r in rows]))
    return ExitCode.OK


#: The columns of `castflow accuracy`, after the group's own.
ACCURACY_FIELDS = ["model_type", "n", "mae", "mase", "bias", "coverage", "actual", "forecast"]
_GROUP_KEYS = {"days_ahead": "days_ahead", "run": "run_id", "date": "date"}


def accuracy(args: argparse.Namespace, client: Client) -> int:
    """Print the realised accuracy groups (GET /accuracy) as an aligned table, CSV or JSON."""
    if args.product is not None and args.category is None:
        raise CliError("--product needs --category: a product is named within its category", ExitCode.USAGE)
    filters = {**forecast_filters(args), "product_id": args.product, "group_by": args.group_by}
    answer = client.get_json("/accuracy", {k: v for k, v in filters.items() if v is not None})
    key = _GROUP_KEYS[args.group_by]
    groups = answer["groups"]
    if args.format == "json":
        write_json(sys.stdout, answer)
    elif args.format == "csv":
        write_csv(sys.stdout, groups, [key, *ACCURACY_FIELDS])
    elif not groups:
        print(f"nothing scored yet: no completed daily run of these filters has a forecast day with an actual "
              f"({answer['note']})", file=sys.stderr)
    else:
        print(table([key.replace("_", " "), "model", "n", "MAE", "MASE", "bias", "coverage", "actual", "forecast"],
                    [[g[key], *(g[field] for field in ACCURACY_FIELDS)] for g in groups]))
    return ExitCode.OK


def export(args: argparse.Namespace, client: Client) -> int:
    """Download the forecasts as CSV or XLSX into the output file, whole or not at all."""
    target = Path(args.output)
    if target.is_dir() or not target.parent.is_dir():
        raise CliError(f"-o {args.output}: not a file in an existing folder", ExitCode.USAGE)
    fmt = args.format or ("xlsx" if target.suffix.lower() == ".xlsx" else "csv")
    progress = Progress(sys.stderr)

    def show(received: int, total: int | None) -> None:
        done = f"{bar(received / total)} " if total else ""
        progress.update(f"downloading {target.name} {done}{human_bytes(received)}")

    try:
        size = write_atomically(target, lambda sink: client.download(
            "/forecast-data/export", {"format": fmt, **forecast_filters(args)}, sink, show))
    finally:
        progress.close()
    print(f"wrote {target} ({human_bytes(size)}, {fmt})")
    return ExitCode.OK


def write_atomically(target: Path, write: Callable[[IO[bytes]], int]) -> int:
    """Run write() into a temporary file beside `target`, then rename it over `target`; on failure remove it."""
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise CliError(f"cannot write in {target.parent}: {exc.strerror}", ExitCode.FAILED) from None
    try:
        with os.fdopen(handle, "wb") as sink:
            written = write(sink)
        os.chmod(temporary, _new_file_mode())
        os.replace(temporary, target)
    except BaseException as exc:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise CliError(f"cannot write {target}: {exc.strerror or exc}", ExitCode.FAILED) from None
        raise
    return written


def _new_file_mode() -> int:
    # mkstemp makes the file private (0600); the export should get the mode any new file of the user gets.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def categories(args: argparse.Namespace, client: Client) -> int:
    """Print the categories: products, date range, rows, grain, best model, forecast status and holiday calendar;
    a category whose grain cannot be told gets its problem in words after the table (on stderr)."""
    rows = client.get_json("/categories")
    if args.json:
        write_json(sys.stdout, rows)
        return ExitCode.OK
    if not rows:
        print("no categories yet: upload a file first", file=sys.stderr)
        return ExitCode.OK
    headers = ["category", "products", "first day", "last day", "rows", "grain", "best model", "forecasts",
               "holidays"]
    print(table(headers, [[c["category"], c.get("product_count"), c.get("first_date"), c.get("last_date"),
                           c.get("row_count"), grain_text(c), c.get("best_model"), c.get("forecast_status"),
                           c.get("holiday_country")] for c in rows]))
    problems = [c for c in rows if c.get("grain_problem")]
    for c in problems:
        print(f"{c['category']}: {c['grain_problem']}", file=sys.stderr)
    return ExitCode.OK


def grain_text(row: dict[str, object]) -> str | None:
    """A category's grain as the table shows it: "week (Monday)", "month (start, setting)", "?" for a problem."""
    if row.get("grain_problem"):
        return "? (see below)"
    if not row.get("grain"):
        return None
    notes = [str(n) for n in (row.get("grain_anchor"), "setting" if row.get("grain_source") == "setting" else None)
             if n]
    return f"{row['grain']} ({', '.join(notes)})" if notes else str(row["grain"])
