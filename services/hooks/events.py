"""The events castflow announces, read from the database once a job has committed: who, what, which body."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Connection, func, select

from common.db import utcnow
from common.models import ForecastRun, UploadMetadata
from common.status import BatchStatus, ForecastStatus
from common.webhooks import WebhookEvent, event_time

#: Longest error text a body carries (the batch's own page has all of it).
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Announcement:
    """One event to announce: its body, what makes it unique, and the categories whose own URLs also get it."""

    event: WebhookEvent
    #: With the event and a URL, what makes a delivery unique ("batch 12"): announcing twice delivers once.
    subject: str
    payload: dict[str, object]
    categories: tuple[str, ...] = ()
    batch_num: int | None = None


def batch_ended(conn: Connection, batch_num: int) -> Announcement | None:
    """batch.completed or batch.failed for a batch whose ETL has ended; None while it has not."""
    row = conn.execute(select(UploadMetadata).where(UploadMetadata.batch_num == batch_num)).one_or_none()
    if row is None or row.status not in (BatchStatus.COMPLETED, BatchStatus.FAILED):
        return None
    completed = row.status == BatchStatus.COMPLETED
    event = WebhookEvent.BATCH_COMPLETED if completed else WebhookEvent.BATCH_FAILED
    categories = _batch_categories(conn, batch_num) if completed else ()
    counts = {"total": row.num_total_rows, "inserted": row.num_inserted_rows, "updated": row.num_updated_rows,
              "unchanged": row.num_unchanged_rows, "imputed": row.num_imputed_rows,
              "rejected": row.num_rejected_rows}
    payload = _body(event, row.finished_at or utcnow(), batch_num=batch_num, status=row.status,
                    categories=list(categories), counts=counts,
                    error=None if completed else (row.error_log or "")[:MAX_ERROR_CHARS],
                    link=f"/batches/{batch_num}")
    return Announcement(event, f"batch {batch_num}", payload, categories, batch_num)


def forecasts_ended(conn: Connection, run_id: int) -> Announcement | None:
    """forecasts.finished for the batch of run `run_id` once all its runs have ended; None before (or no batch)."""
    batch_num = conn.scalar(select(ForecastRun.batch_num).where(ForecastRun.id == run_id))
    if batch_num is None:
        return None
    status = conn.scalar(select(UploadMetadata.forecast_status).where(UploadMetadata.batch_num == batch_num))
    if status not in ForecastStatus.ended():
        return None
    runs = {status: count for status, count in conn.execute(
        select(ForecastRun.status, func.count()).where(ForecastRun.batch_num == batch_num)
        .group_by(ForecastRun.status))}
    categories = _batch_categories(conn, batch_num)
    counts = {"runs": sum(runs.values()), "completed": runs.get(ForecastStatus.COMPLETED, 0),
              "failed": runs.get(ForecastStatus.FAILED, 0)}
    payload = _body(WebhookEvent.FORECASTS_FINISHED, utcnow(), batch_num=batch_num, status=status,
                    categories=list(categories), counts=counts, link=f"/batches/{batch_num}")
    return Announcement(WebhookEvent.FORECASTS_FINISHED, f"batch {batch_num}", payload, categories, batch_num)


def category_drifting(category: str, run_id: int, reason: str, measured: Mapping[str, float]) -> Announcement:
    """category.drifting: the category's forecast of run `run_id` drifted from the actuals (`reason`, in words).

    `measured` holds the numbers behind it, e.g. {"realised_mase": 2.4, "backtest_mase": 0.9, "threshold": 1.5}.
    """
    payload = _body(WebhookEvent.CATEGORY_DRIFTING, utcnow(), category=category, run_id=run_id, status="drifting",
                    reason=reason, counts=dict(measured), link=f"/forecast-metrics?category={quote(category)}")
    return Announcement(WebhookEvent.CATEGORY_DRIFTING, f"category {category} run {run_id}", payload, (category,))


def _batch_categories(conn: Connection, batch_num: int) -> tuple[str, ...]:
    """The categories a batch touched: those it asked forecast runs for."""
    return tuple(conn.scalars(select(ForecastRun.category).where(ForecastRun.batch_num == batch_num)
                              .distinct().order_by(ForecastRun.category)))


def _body(event: WebhookEvent, moment: dt.datetime, **fields: object) -> dict[str, object]:
    """A body: the event and its time first, then the event's own fields."""
    return {"event": event.value, "time": event_time(moment), **fields}
