"""Undo a completed batch: its inserted keys removed, its updated keys given back their previous rows.

The merge kept every row a batch replaced in invoice_history (services.etl.load `journal`). Undoing
deletes the batch's rows from invoice_data and puts the kept ones back, whole: value, imputed flag,
batch, file hash, timestamps and version, so the table is exactly what it was before the batch. It
runs under the merge lock, in one transaction, and is refused (nothing changed) when a later batch
has since changed a key the batch wrote: its own rows would then not be the batch's to take back.

Realised accuracy follows the rows by itself (it is computed from them when read, common/realised.py).
Drift is judged again on what is left: a mark clears when the current forecast is back within its
threshold, or when fewer than a week of its days are left with actuals.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, text

from common.config import Settings
from common.db import is_mysql, utcnow
from common.models import BatchError, ForecastRun, InvoiceData, InvoiceHistory, UploadMetadata
from common.status import BatchStatus, ForecastStatus
from services.etl.drift import Drift, check_drift
from services.etl.load import BatchLoader, retry_lock_conflicts
from services.etl.stats import resummarise_categories

logger = logging.getLogger(__name__)

#: The invoice_data columns an undo restores from invoice_history's columns of the same name (batch_num aside).
_RESTORED = ("sales", "is_imputed", "file_hash", "created_at", "updated_at", "version")


class UndoRefused(Exception):
    """The batch cannot be undone (or does not exist); `status` is the HTTP answer, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Undone:
    """What an undo did."""

    batch_num: int
    removed: int
    restored: int
    categories: list[str]
    run_ids: list[int]
    stored_filename: str
    #: Categories found drifting on the rescored actuals (announced by the caller after the commit).
    drifts: list[Drift] = field(default_factory=list)


def undo_batch(engine: Engine, batch_num: int, settings: Settings) -> Undone:
    """Take a completed batch back, serialised against merges; UndoRefused (nothing changed) when it cannot be."""
    with engine.connect() as conn:
        loader = BatchLoader(conn)
        loader.lock()
        try:
            undone = retry_lock_conflicts(conn, lambda: _undo(conn, batch_num, settings), f"undo of batch {batch_num}")
        finally:
            conn.rollback()
            loader.unlock()
    logger.info("undo done batch=%s removed=%d restored=%d categories=%d", batch_num, undone.removed,
                undone.restored, len(undone.categories))
    return undone


def _undo(conn: Connection, batch_num: int, settings: Settings) -> Undone:
    batch = _undoable(conn, batch_num, settings)
    # The categories it wrote got a run each in its merge: read off the runs' batch index, not invoice_data.
    categories = list(conn.scalars(select(ForecastRun.category).distinct().where(ForecastRun.batch_num == batch_num)
                                   .order_by(ForecastRun.category)))
    _restore(conn, batch_num)
    # What still carries the batch's number after the restore is what it inserted.
    conn.execute(delete(InvoiceData).where(InvoiceData.batch_num == batch_num))
    conn.execute(delete(InvoiceHistory).where(InvoiceHistory.batch_num == batch_num))
    conn.execute(delete(BatchError).where(BatchError.batch_num == batch_num))
    conn.execute(delete(UploadMetadata).where(UploadMetadata.batch_num == batch_num))
    now = utcnow()
    with_data = resummarise_categories(conn, categories, now)
    run_ids = _create_runs(conn, with_data, settings, now)
    # Judged again on the values put back; the runs just made are the re-forecasts.
    drifts = check_drift(conn, categories, dict(zip(with_data, run_ids, strict=True)), settings, now)
    conn.commit()
    return Undone(batch_num, batch.num_inserted_rows, batch.num_updated_rows, categories, run_ids,
                  batch.stored_filename, drifts)


def _restore(conn: Connection, batch_num: int) -> None:
    """Give the keys the batch updated their kept rows back, in place.

    An UPDATE joined on the primary key rewrites only columns outside the (category, date) index, about
    twice as fast on InnoDB as deleting the batch's rows and inserting the kept ones (which rewrites both
    indexes) for a batch that updated 913,000 keys.
    """
    key = "i.date = h.date AND i.product_id = h.product_id AND i.category = h.category"
    if is_mysql(conn):
        sets = ", ".join(f"i.{name} = h.{name}" for name in _RESTORED)
        # invoice_data first (STRAIGHT_JOIN): MariaDB then updates each row as it reads it. Led by the history's
        # range instead, it collected every change in a temporary table first, on disk at this size.
        statement = (f"UPDATE invoice_data i STRAIGHT_JOIN invoice_history h ON {key} SET {sets}, "
                     "i.batch_num = h.previous_batch_num WHERE h.batch_num = :batch AND i.batch_num = :batch")
    else:
        sets = ", ".join(f"{name} = h.{name}" for name in _RESTORED)
        statement = (f"UPDATE invoice_data AS i SET {sets}, batch_num = h.previous_batch_num "
                     f"FROM invoice_history AS h WHERE h.batch_num = :batch AND i.batch_num = :batch AND {key}")
    conn.execute(text(statement), {"batch": batch_num})


def _undoable(conn: Connection, batch_num: int, settings: Settings) -> Row:
    """The batch's row, locked, when it can be undone; else UndoRefused saying why."""
    batch = conn.execute(select(UploadMetadata.status, UploadMetadata.num_inserted_rows,
                                UploadMetadata.num_updated_rows, UploadMetadata.stored_filename)
                         .where(UploadMetadata.batch_num == batch_num).with_for_update()).first()
    if batch is None:
        raise UndoRefused(404, f"batch {batch_num} not found")
    if batch.status in BatchStatus.unfinished():
        raise UndoRefused(409, f"batch {batch_num} is still loading ({batch.status}); undo it once it has completed")
    if batch.status != BatchStatus.COMPLETED:
        raise UndoRefused(409, f"batch {batch_num} failed and wrote nothing; there is nothing to undo")
    written = conn.scalar(select(func.count()).where(InvoiceData.batch_num == batch_num))
    changed = batch.num_inserted_rows + batch.num_updated_rows - written
    if changed:
        later = conn.scalar(select(func.min(InvoiceHistory.batch_num))
                            .where(InvoiceHistory.previous_batch_num == batch_num))
        raise UndoRefused(409, f"{changed} of the keys batch {batch_num} wrote were changed since by later batches "
                               f"(batch {later} first); undo those first")
    kept = conn.scalar(select(func.count()).where(InvoiceHistory.batch_num == batch_num))
    if kept != batch.num_updated_rows:
        raise UndoRefused(409, f"the rows batch {batch_num} replaced are not kept (castflow keeps them for the last "
                               f"{settings.undo_keep_batches} batches, UNDO_KEEP_BATCHES, loaded since undo "
                               "exists); the values it overwrote are not known, so it cannot be undone")
    return batch


def _create_runs(conn: Connection, categories: list[str], settings: Settings, now: dt.datetime) -> list[int]:
    """A pending forecast run per category (not tied to a batch: the batch is gone)."""
    ids = []
    for category in categories:
        ids.append(conn.execute(insert(ForecastRun).values(
            category=category, batch_num=None, status=ForecastStatus.PENDING,
            horizon_days=settings.forecast_horizon_days, created_at=now)).inserted_primary_key[0])
    return ids
