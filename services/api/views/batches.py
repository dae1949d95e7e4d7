"""Batches: the /metadata list, one batch's status, its rejected rows, and undoing it."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from common.db import is_mysql, make_engine
from common.status import BatchStatus, ForecastStatus
from services.api import reads, services
from services.api.cache import reads_changed, response_cache
from services.api.errors import ApiError
from services.api.export import escape_formula
from services.api.params import MAX_ID, MAX_OFFSET, get_choice, get_int, reject_unknown
from services.api.replica import has_replica, read_connection, read_session
from services.api.serialize import row_dict
from services.etl.drift import announce_drifts
from services.etl.jobs import enqueue_runs
from services.etl.undo import UndoRefused, undo_batch

logger = logging.getLogger(__name__)
blueprint = Blueprint("batches", __name__)

#: What /batches/<id> shows: the status fields a client polls, not the storage details.
BATCH_FIELDS = [
    "batch_num", "original_filename", "status", "progress", "forecast_status", "error_log",
    "num_total_rows", "num_missing_rows", "num_imputed_rows", "num_inserted_rows", "num_updated_rows",
    "num_unchanged_rows", "num_rejected_rows", "num_filtered_rows", "mapping", "categories_from",
    "file_size", "attempts",
    "uploaded_at", "started_at", "finished_at",
]
ERROR_FIELDS = ["line", "column", "value", "reason"]


@blueprint.get("/metadata")
def metadata():  # noqa: ANN201
    """Every batch's upload_metadata row, newest first."""
    reject_unknown(request.args, ("limit", "offset", "status"))
    limit = get_int(request.args, "limit", 100, minimum=1, maximum=10_000)
    offset = get_int(request.args, "offset", 0, maximum=MAX_OFFSET)
    status = get_choice(request.args, "status", [s.value for s in BatchStatus])
    with read_session() as session:
        rows = reads.list_batches(session, status=status, limit=limit, offset=offset)
        return jsonify([row_dict(row) for row in rows])


@blueprint.get("/batches/<int:batch_num>")
def batch(batch_num: int):  # noqa: ANN201
    """One batch's status, progress, counts, error log and its forecast runs counted by status."""
    reject_unknown(request.args, ())
    if batch_num > MAX_ID:
        raise ApiError(404, f"batch {batch_num} not found")
    finished = False

    def answer() -> bytes:
        nonlocal finished
        # A plain connection, one statement: polled by every client of a running batch, so kept lean.
        with services().engine.connect() as conn:
            fields = reads.batch_fields(conn, batch_num, BATCH_FIELDS)
        if fields is None:
            raise ApiError(404, f"batch {batch_num} not found")
        fields = _as_the_replica_has_it(batch_num, fields)
        for name in ("mapping", "categories_from"):
            fields[name] = json.loads(fields[name]) if fields[name] else None
        finished = is_finished(fields)
        return current_app.json.dumps(fields).encode()

    body = response_cache().body("/batches", [("batch_num", str(batch_num))], answer, keep=lambda: finished)
    return Response(body, mimetype="application/json")


def _as_the_replica_has_it(batch_num: int, fields: dict[str, object]) -> dict[str, object]:
    """A completed batch as the replica shows it: completed there only once its rows are there too."""
    if fields["status"] != BatchStatus.COMPLETED or not has_replica():
        return fields  # a new batch is read from the primary: the client that just uploaded it finds it
    with read_connection() as conn:
        replica = reads.batch_fields(conn, batch_num, BATCH_FIELDS)
    if replica is not None and replica["status"] == BatchStatus.COMPLETED:
        return fields  # the primary's newer forecast status; the replica has the rows
    # Not finished, so never cached: the cache only keeps answers as new as the primary.
    return replica if replica is not None else {**fields, "status": BatchStatus.UPLOADED, "progress": 0.0}


def is_finished(fields: dict[str, object]) -> bool:
    """True when only a forecast run or a refresh (which renew the read generation) can change the batch any more."""
    products_running = any(run["product_status"] in ("queued", "running") for run in fields.get("product_runs", ()))
    return (fields["status"] in (BatchStatus.COMPLETED, BatchStatus.FAILED)
            and fields["forecast_status"] in ForecastStatus.ended() and not products_running)


@blueprint.delete("/batches/<int:batch_num>")
def undo(batch_num: int):  # noqa: ANN201
    """Take a completed batch back (write key): its new keys removed, the rows it replaced restored, re-forecast."""
    reject_unknown(request.args, ())
    if batch_num > MAX_ID:
        raise ApiError(404, f"batch {batch_num} not found")
    deps = services()
    with engine_without_time_limit() as engine:
        try:
            undone = undo_batch(engine, batch_num, deps.settings)
        except UndoRefused as exc:
            raise ApiError(exc.status, exc.message) from None
        except DBAPIError as exc:
            # One transaction: whatever the server failed on (a lost temporary file, a full disk), it rolled back.
            logger.warning("undo failed batch=%s: %s", batch_num, str(exc.orig)[:200])
            raise ApiError(503, f"the database failed during the undo of batch {batch_num}; nothing was changed, "
                                "try again shortly") from None
    reads_changed()
    enqueue_runs(deps.redis, undone.run_ids, deps.settings)
    announce_drifts(deps.engine, deps.redis, deps.settings, undone.drifts)
    _forget_file(undone.stored_filename)
    return jsonify({"batch_num": batch_num, "removed_rows": undone.removed, "restored_rows": undone.restored,
                    "categories": undone.categories, "forecast_run_ids": undone.run_ids})


@contextmanager
def engine_without_time_limit() -> Iterator[Engine]:
    """The API's engine, or on MySQL a short-lived one without API_QUERY_TIMEOUT_SECONDS (an undo of a big batch
    takes longer than a read may)."""
    deps = services()
    if not is_mysql(deps.engine):
        yield deps.engine
        return
    engine = make_engine(deps.settings.database_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _forget_file(name: str) -> None:
    # The batch is gone, so the same file may be uploaded again; a file left behind only costs disk. The same
    # bytes uploaded with another mapping are another batch sharing the stored file: then it stays.
    deps = services()
    with deps.sessions() as session:
        if reads.file_in_use(session, name):
            return
    try:
        deps.store.delete(name)
    except OSError as exc:
        logger.warning("undone batch's file not deleted name=%s (%s)", name, exc)


@blueprint.get("/batches/<int:batch_num>/errors")
def batch_errors(batch_num: int):  # noqa: ANN201
    """The batch's rejected rows as JSON, or as CSV with ?format=csv."""
    reject_unknown(request.args, ("format",))
    fmt = get_choice(request.args, "format", ["json", "csv"], default="json")
    with services().sessions() as session:
        if batch_num > MAX_ID or reads.get_batch(session, batch_num) is None:
            raise ApiError(404, f"batch {batch_num} not found")
        rows = [
            {"line": e.line, "column": e.column_name, "value": e.value, "reason": e.reason}
            for e in reads.batch_errors(session, batch_num)
        ]
    if fmt == "json":
        return jsonify(rows)
    return Response(
        to_csv(rows, ERROR_FIELDS),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_num}-errors.csv"'},
    )


def to_csv(rows: list[dict[str, object]], fields: list[str]) -> str:
    """Rows as CSV text; cells that a spreadsheet would run as a formula are escaped."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: escape_formula(v) for k, v in row.items()})
    return out.getvalue()

