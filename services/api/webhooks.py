"""Webhooks through the API: a category's own URL (read, set, remove) and the list of deliveries with attempts."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.db import utcnow
from common.models import CategoryWebhook, WebhookAttempt, WebhookDelivery
from services.api.forecast_reads import category_exists
from services.api.forecasts import UnknownCategory
from services.api.serialize import row_dict

logger = logging.getLogger(__name__)

#: What a delivery shows besides its body and attempts.
DELIVERY_FIELDS = ["id", "delivery_id", "event", "status", "url", "category", "batch_num", "attempts",
                   "created_at", "finished_at"]
ATTEMPT_FIELDS = ["attempt", "attempted_at", "status_code", "error", "duration_ms"]


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries to list; None matches all."""

    category: str | None = None
    event: str | None = None
    status: str | None = None
    batch_num: int | None = None

    def apply(self, query: Select) -> Select:
        """`query` restricted to the matching deliveries."""
        for column, value in ((WebhookDelivery.category, self.category), (WebhookDelivery.event, self.event),
                              (WebhookDelivery.status, self.status), (WebhookDelivery.batch_num, self.batch_num)):
            if value is not None:
                query = query.where(column == value)
        return query


def category_webhook(session: Session, category: str) -> str | None:
    """The category's own webhook URL (None: only WEBHOOK_URL); UnknownCategory when it has no data."""
    if not category_exists(session, category):
        raise UnknownCategory(category)
    return session.scalar(select(CategoryWebhook.url).where(CategoryWebhook.category == category))


def save_category_webhook(sessions: sessionmaker[Session], category: str, url: str | None) -> str | None:
    """Set the category's webhook URL (None removes it); UnknownCategory when it has no data."""
    try:
        _save(sessions, category, url)
    except IntegrityError:
        _save(sessions, category, url)  # another request inserted the row meanwhile: this pass updates it
    logger.info("category webhook %s category=%r", "set" if url else "removed", category)
    return url


def _save(sessions: sessionmaker[Session], category: str, url: str | None) -> None:
    with sessions.begin() as session:
        if not category_exists(session, category):
            raise UnknownCategory(category)
        if url is None:
            session.execute(delete(CategoryWebhook).where(CategoryWebhook.category == category))
            return
        row = session.get(CategoryWebhook, category, with_for_update=True)
        if row is None:
            session.add(CategoryWebhook(category=category, url=url, updated_at=utcnow()))
        else:
            row.url, row.updated_at = url, utcnow()


def delivery_page(session: Session, where: DeliveryFilter, *, page: int,
                  limit: int) -> tuple[list[dict[str, object]], int]:
    """One page of deliveries, newest first, each with its body and attempts; and the total count."""
    total = session.scalar(where.apply(select(func.count()).select_from(WebhookDelivery)))
    rows = list(session.scalars(where.apply(select(WebhookDelivery)).order_by(WebhookDelivery.id.desc())
                                .limit(limit).offset((page - 1) * limit)))
    attempts = _attempts(session, [row.id for row in rows])
    return [delivery_json(row, attempts.get(row.id, [])) for row in rows], int(total or 0)


def delivery_json(row: WebhookDelivery, attempts: Sequence[WebhookAttempt]) -> dict[str, object]:
    """A delivery as the API shows it: its fields, the body it sends, and its attempts in order."""
    return {**row_dict(row, DELIVERY_FIELDS), "payload": json.loads(row.body),
            "attempt_log": [row_dict(a, ATTEMPT_FIELDS) for a in attempts]}


def _attempts(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {}
    if not delivery_ids:
        return found
    for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
                                   .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)):
        found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


