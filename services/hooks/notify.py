"""Announcing an event: one delivery row per receiving URL, written after the job's own commit, then queued.

The ETL and forecast jobs carry `announces(...)`: when the job function returns or raises, the decorator
reads what ended (events.py) and announces it. Nothing here ever raises into a job: a webhook problem is
logged and never fails the work it reports on. A delivery whose job could not be queued (Redis away) is
queued by the reconcile step.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from common.config import Settings
from common.db import utcnow
from common.models import CategoryWebhook, WebhookDelivery
from common.queue import enqueue_webhook
from common.webhooks import DeliveryStatus, encode_body
from services.hooks.events import Announcement

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Reads what a job's end means from the database: (connection, the job's id) -> an announcement or None.
Reader = Callable[[Connection, int], Announcement | None]


def announces(read: Reader) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a job function `f(id, *, settings, engine, redis=...)`: once it returns or raises, announce."""

    def decorate(job: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(job)
        def run(ident: int, **kwargs: object) -> T:
            try:
                return job(ident, **kwargs)
            finally:
                announce(kwargs["engine"], kwargs.get("redis"), kwargs["settings"], read, ident)

        return run

    return decorate


def announce(engine: Engine, redis: Redis | None, settings: Settings, read: Reader, ident: int) -> list[int]:
    """Read what ended and notify its receivers; log, never raise. Returns the deliveries it queued."""
    try:
        with engine.connect() as conn:
            announcement = read(conn, ident)
        return [] if announcement is None else notify(engine, redis, settings, announcement)
    except Exception:  # noqa: BLE001 - a webhook must never fail the job it reports on
        logger.exception("webhook announcement failed id=%s (%s)", ident, getattr(read, "__name__", read))
        return []


def notify(engine: Engine, redis: Redis | None, settings: Settings, announcement: Announcement) -> list[int]:
    """Record one delivery per receiving URL (once per event, subject and URL) and queue each new one."""
    with engine.connect() as conn:
        receivers = targets(conn, settings, announcement.categories)
    created = [d for url, category in receivers
               if (d := record(engine, announcement, url, category)) is not None]
    if created:
        queue_deliveries(redis, settings, created)
        logger.info("webhook %s %s: %d deliveries", announcement.event, announcement.subject, len(created))
    return created


def targets(conn: Connection, settings: Settings, categories: Iterable[str]) -> list[tuple[str, str | None]]:
    """(url, category) of every receiver: WEBHOOK_URL (category None), then each category's own URL."""
    found: list[tuple[str, str | None]] = [(settings.webhook_url, None)] if settings.webhook_url else []
    wanted = sorted(set(categories))
    if wanted:
        found += [(url, category) for url, category in conn.execute(
            select(CategoryWebhook.url, CategoryWebhook.category).where(CategoryWebhook.category.in_(wanted))
            .order_by(CategoryWebhook.category))]
    return found


def record(engine: Engine, announcement: Announcement, url: str, category: str | None) -> int | None:
    """Insert the delivery of `announcement` to `url`; None when it was recorded before (the job ran twice)."""
    key = dedupe_key(announcement.event, announcement.subject, url)
    try:
        with engine.begin() as conn:
            return conn.execute(insert(WebhookDelivery).values(
                delivery_id=str(uuid.uuid4()), dedupe_key=key, event=announcement.event.value, url=url,
                category=category, batch_num=announcement.batch_num, body=encode_body(announcement.payload),
                status=DeliveryStatus.PENDING, created_at=utcnow(),
            )).inserted_primary_key[0]
    except IntegrityError:
        return None


def dedupe_key(event: str, subject: str, url: str) -> str:
    """SHA-256 of (event, subject, url): the unique key of a delivery."""
    return hashlib.sha256("\n".join((event, subject, url)).encode()).hexdigest()


def queue_deliveries(redis: Redis | None, settings: Settings, delivery_ids: list[int]) -> bool:
    """Queue the deliveries' jobs; False when Redis is away (the reconcile step queues them later)."""
    if redis is None:
        return False
    try:
        for delivery_id in delivery_ids:
            enqueue_webhook(redis, delivery_id, settings.webhook_retry_intervals(), prefix=settings.queue_prefix)
    except RedisError:
        logger.warning("redis unavailable; %d webhook deliveries left for reconcile", len(delivery_ids))
        return False
    return True
