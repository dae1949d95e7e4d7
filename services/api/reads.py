"""The API's read queries: small functions over a session, one per answer."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from common.models import BatchError, ForecastRun, InvoiceData, UploadMetadata
from common.status import ForecastStatus
from services.api.serialize import jsonable


def list_batches(session: Session, *, status: str | None, limit: int, offset: int) -> list[UploadMetadata]:
    """Batches newest first, optionally of one status."""
    query = select(UploadMetadata).order_by(UploadMetadata.batch_num.desc()).limit(limit).offset(offset)
    if status:
        query = query.where(UploadMetadata.status == status)
    return list(session.scalars(query))


def get_batch(session: Session, batch_num: int) -> UploadMetadata | None:
    """One batch, or None."""
    return session.get(UploadMetadata, batch_num)


def file_in_use(session: Session, stored_filename: str) -> bool:
    """True when a batch's stored file is `stored_filename`."""
    return session.scalar(select(UploadMetadata.batch_num).where(UploadMetadata.stored_filename == stored_filename)
                          .limit(1)) is not None


def batch_fields(conn: Connection, batch_num: int, fields: Sequence[str]) -> dict[str, object] | None:
    """One batch's `fields` as JSON-ready values, or None: one statement on a plain connection, no ORM objects.

    `forecast_runs` holds its runs counted by status: {total, completed, failed, running, pending};
    `forecast_problems` its runs that failed for their category's grain ([{run_id, category, problem}]);
    `product_runs` the progress of its runs that forecast (or could not forecast) their products.
    """
    row = conn.execute(_batch_query(tuple(fields)), {"batch_num": batch_num}).first()
    if row is None:
        return None
    found = {name: jsonable(value) for name, value in zip(fields, row, strict=False)}
    counts = {status: int(n or 0) for status, n in zip(RUN_COUNTS, row[len(fields):], strict=True)}
    found["forecast_runs"] = {"total": sum(counts.values()), **counts}
    found["forecast_problems"] = grain_problems(conn, batch_num) if counts[ForecastStatus.FAILED] else []
    found["product_runs"] = product_runs(conn, batch_num) if counts[ForecastStatus.COMPLETED] else []
    return found


#: A run's product fields, as /batches/<id> and /categories show them.
PRODUCT_FIELDS = ("product_status", "products_total", "products_done", "products_skipped", "reconciliation",
                  "product_note")


def product_runs(conn: Connection, batch_num: int) -> list[dict[str, object]]:
    """The batch's runs with product work or a product note: run, category and PRODUCT_FIELDS, by run."""
    rows = conn.execute(select(ForecastRun.id, ForecastRun.category,
                               *(getattr(ForecastRun, name) for name in PRODUCT_FIELDS))
                        .where(ForecastRun.batch_num == batch_num,
                               (ForecastRun.product_status.is_not(None)) | (ForecastRun.product_note.is_not(None)))
                        .order_by(ForecastRun.id)).all()
    return [{"run_id": row[0], "category": row[1], **dict(zip(PRODUCT_FIELDS, row[2:], strict=True))}
            for row in rows]


def grain_problems(conn: Connection, batch_num: int) -> list[dict[str, object]]:
    """The batch's runs that failed because their category's grain could not be told: run, category, problem."""
    rows = conn.execute(select(ForecastRun.id, ForecastRun.category, ForecastRun.grain_problem)
                        .where(ForecastRun.batch_num == batch_num, ForecastRun.status == ForecastStatus.FAILED,
                               ForecastRun.grain_problem.is_not(None)).order_by(ForecastRun.id)).all()
    return [{"run_id": run_id, "category": category, "problem": problem} for run_id, category, problem in rows]


#: The run statuses /batches/<id> counts (a run is never `partial`: that is a batch's roll-up).
RUN_COUNTS = (ForecastStatus.COMPLETED, ForecastStatus.FAILED, ForecastStatus.RUNNING, ForecastStatus.PENDING)


@functools.cache
def _batch_query(fields: tuple[str, ...]) -> Select:
    # Built once per field list: building the select cost as much as running it. The run counts are
    # subqueries of the same statement, each read off the runs' batch index.
    counts = [select(func.count()).where(ForecastRun.batch_num == UploadMetadata.batch_num,
                                         ForecastRun.status == status).scalar_subquery()
              for status in RUN_COUNTS]
    return select(*(getattr(UploadMetadata, name) for name in fields), *counts).where(
        UploadMetadata.batch_num == bindparam("batch_num"))


def batch_errors(session: Session, batch_num: int) -> list[BatchError]:
    """A batch's rejected rows in file order."""
    query = select(BatchError).where(BatchError.batch_num == batch_num).order_by(BatchError.line, BatchError.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class InvoiceFilter:
    """The /invoice-data filters; None means no filter."""

    category: str | None = None
    product_id: str | None = None
    batch_num: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    def apply(self, query: Select) -> Select:
        """Add this filter's WHERE clauses to `query`."""
        equal = [(InvoiceData.category, self.category), (InvoiceData.product_id, self.product_id),
                 (InvoiceData.batch_num, self.batch_num)]
        return narrow(query, equal, InvoiceData.date, self.start_date, self.end_date)


def narrow(query: Select, equal: list[tuple[ColumnElement, object]], day: ColumnElement | None = None,
           start: dt.date | None = None, end: dt.date | None = None) -> Select:
    """`query` with `column == value` for each given value, and `day` within [start, end] where given."""
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if start is not None:
        query = query.where(day >= start)
    if end is not None:
        query = query.where(day <= end)
    return query


def invoice_page(session: Session, where: InvoiceFilter, *, page: int, limit: int) -> tuple[list[InvoiceData], int]:
    """One page of observations (date descending, then product and category) and the total count."""
    total = session.scalar(where.apply(select(func.count()).select_from(InvoiceData)))
    query = where.apply(select(InvoiceData)).order_by(
        InvoiceData.date.desc(), InvoiceData.product_id, InvoiceData.category
    )
    rows = list(session.scalars(query.limit(limit).offset((page - 1) * limit)))
    return rows, int(total or 0)


def json_row(columns: dict[str, ColumnElement]) -> ColumnElement:
    """A JSON object of the given columns, written by the database (JSON_OBJECT; json_object on SQLite)."""
    pairs = []
    for name, column in columns.items():
        if not name.isidentifier():
            raise ValueError(f"not a plain key name: {name!r}")
        pairs += [literal_column(f"'{name}'"), column]
    return func.json_object(*pairs)
