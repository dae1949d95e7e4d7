"""Commands about batches: `upload` (optionally waiting for the load and the forecasts), `status`, `batches`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from services.cli.client import Client
from services.cli.errors import CliError, ExitCode, HttpError
from services.cli.multipart import MultipartBody
from services.cli.output import batch_summary, table, write_json
from services.cli.progress import Progress, batch_line, forecast_line, forecast_text, printable, upload_line

#: Seconds between two polls of a batch.
POLL_S = 1.0
#: Polls in a row that may fail to reach the server (a restart, a blip) before waiting gives up.
MAX_POLL_FAILURES = 10
FINISHED = ("completed", "failed")
FORECASTS_UNDER_WAY = ("pending", "running")

Batch = dict[str, Any]


def upload(args: argparse.Namespace, client: Client) -> int:
    """Send the file; print its batch number; with --wait(-forecasts) follow the batch to its end."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{args.file}: no such file", ExitCode.USAGE)
    batch_num = send_file(client, path, upload_fields(args.mapping, args.mapping_name))
    if not (args.wait or args.wait_forecasts):
        return ExitCode.OK
    return wait_and_report(client, batch_num, forecasts=args.wait_forecasts)


def upload_fields(mapping: str | None, mapping_name: str | None) -> dict[str, str]:
    """The form fields besides the file: a mapping (JSON text, or @FILE holding it) or a profile name."""
    if mapping_name is not None:
        return {"mapping_name": mapping_name}
    if mapping is None:
        return {}
    if mapping.startswith("@"):
        try:
            mapping = Path(mapping[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"--mapping {mapping}: cannot read it ({exc.strerror or exc})", ExitCode.USAGE) from None
    try:
        json.loads(mapping)
    except ValueError as exc:
        raise CliError(f"--mapping is not valid JSON: {exc}", ExitCode.USAGE) from None
    return {"mapping": mapping}


def send_file(client: Client, path: Path, fields: Mapping[str, str]) -> int:
    """Stream the upload with a progress bar; the new batch's number, or the original's for a duplicate."""
    body = MultipartBody(path, fields)
    progress = Progress(sys.stderr)
    try:
        answer = client.upload(body, lambda sent: progress.update(upload_line(path.name, sent, len(body))))
    except HttpError as exc:
        progress.close()
        if exc.status == 409 and isinstance(exc.body.get("batch_num"), int):
            print(f"{path.name} was already uploaded as batch {exc.body['batch_num']}")
            return exc.body["batch_num"]
        if 400 <= exc.status < 500 and exc.status != 401:
            raise CliError(f"{path.name} was refused: {exc.message}", exc.code) from None
        raise
    progress.close()
    print(f"uploaded {path.name} as batch {answer['batch_num']}")
    return int(answer["batch_num"])


def wait_and_report(client: Client, batch_num: int, *, forecasts: bool) -> int:
    """Wait for the batch (and its forecasts), print it, and exit 0 only if everything waited for completed.

    With `forecasts`, a partial roll-up (some runs completed, some failed) exits PARTIAL (4): the caller
    asked for the forecasts, and not all of them were made; an all-failed one exits FAILED (1).
    """
    try:
        batch = wait_for_batch(client, batch_num, forecasts=forecasts)
    except KeyboardInterrupt:
        raise CliError(f"stopped waiting; batch {batch_num} goes on at the server (castflow status {batch_num})",
                       ExitCode.INTERRUPTED) from None
    print(batch_summary(batch))
    if batch["status"] == "failed":
        first = printable(str(batch.get("error_log") or "no reason given").splitlines()[0])
        print(f"castflow: batch {batch_num} failed: {first}", file=sys.stderr)
        return ExitCode.FAILED
    if forecasts and batch.get("forecast_status") == "failed":
        print(f"castflow: the forecasts of batch {batch_num} failed (castflow categories shows each category's)",
              file=sys.stderr)
        return ExitCode.FAILED
    if forecasts and batch.get("forecast_status") == "partial":
        # Asked to wait for the forecasts, the caller asked for all of them: some failing is not success.
        print(f"castflow: some forecasts of batch {batch_num} failed: {forecast_text(batch)} "
              "(castflow categories shows each category's)", file=sys.stderr)
        return ExitCode.PARTIAL
    return ExitCode.OK


def wait_for_batch(client: Client, batch_num: int, *, forecasts: bool) -> Batch:
    """Poll the batch until it completed or failed, then (with `forecasts`) until its forecasts ended."""
    progress = Progress(sys.stderr)
    try:
        batch = _poll(client, batch_num, progress, lambda b: b["status"] in FINISHED, batch_line)
        if forecasts and batch["status"] == "completed":
            started = time.monotonic()
            batch = _poll(client, batch_num, progress,
                          lambda b: b.get("forecast_status") not in FORECASTS_UNDER_WAY,
                          lambda b: forecast_line(b, time.monotonic() - started))
    finally:
        progress.close()
    return batch


def _poll(client: Client, batch_num: int, progress: Progress, done: Callable[[Batch], bool],
          line: Callable[[Batch], str]) -> Batch:
    failures = 0
    while True:
        try:
            batch = client.get_json(f"/batches/{batch_num}")
            failures = 0
        except CliError as exc:
            # The batch goes on at the server whatever happens to us: ride out a short outage.
            failures += 1
            if exc.code != ExitCode.SERVER or failures > MAX_POLL_FAILURES:
                raise
            progress.update(f"batch {batch_num}: {exc.message}; trying again", key="retry")
            time.sleep(POLL_S * 2)
            continue
        progress.update(line(batch), key=(batch["status"], batch.get("forecast_status")))
        if done(batch):
            return batch
        time.sleep(POLL_S)


def status(args: argparse.Namespace, client: Client) -> int:
    """Print one batch: status, progress, counts, forecast status and log (or its JSON)."""
    batch = client.get_json(f"/batches/{args.batch}")
    if args.json:
        write_json(sys.stdout, batch)
    else:
        print(batch_summary(batch))
    return ExitCode.OK


def batches(args: argparse.Namespace, client: Client) -> int:
    """Print the batches, newest first, as a table (or JSON)."""
    rows = client.get_json("/metadata", {"limit": args.limit, "status": args.status})
    if args.json:
        write_json(sys.stdout, rows)
        return ExitCode.OK
    if not rows:
        print("no batches yet" if args.status is None else f"no {args.status} batches", file=sys.stderr)
        return ExitCode.OK
    headers = ["batch", "status", "progress", "rows", "rejected", "forecasts", "uploaded", "file"]
    print(table(headers, [[b["batch_num"], b["status"], f"{float(b.get('progress') or 0):.0%}",
                           b.get("num_total_rows"), b.get("num_rejected_rows"), b.get("forecast_status"),
                           b.get("uploaded_at"), b.get("original_filename")] for b in rows]))
    return ExitCode.OK
