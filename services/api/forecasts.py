"""Forecast writes the API makes: a category's settings (holiday calendar, grain, horizon), and fresh forecast
runs on demand.

A refresh records its runs in the database before it touches Redis: if Redis is away the runs are
still there, pending, and the workers' reconcile step queues them (the same way ETL-created runs are).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.config import Settings
from common.db import utcnow
from common.grain import Grain
from common.models import CategorySetting, ForecastRun, InvoiceData
from common.queue import enqueue_forecast, forecast_job_id
from common.status import ForecastStatus
from services.api import grains
from services.api.forecast_reads import CategorySettings, category_exists, category_settings
from services.api.grains import KEEP

logger = logging.getLogger(__name__)


class UnknownCategory(LookupError):
    """The category has no stored observations."""


def default_holiday_country(settings: Settings) -> str | None:
    """HOLIDAY_COUNTRY, None when it is empty (no holidays)."""
    return settings.holiday_country or None


@dataclass(frozen=True)
class SettingsChange:
    """What a settings PUT asks for: each field's new value, or KEEP for a field it did not send.

    `grain` and `horizon` arrive parsed by the route; the grain is checked against the stored data here.
    """

    holiday_country: object = KEEP
    grain: object = KEEP
    horizon: object = KEEP
    product_forecasts: object = KEEP
    drift_threshold: object = KEEP
    drift_reforecast: object = KEEP


def save_category_settings(sessions: sessionmaker[Session], category: str, change: SettingsChange,
                           settings: Settings) -> tuple[CategorySettings, bool]:
    """Save the category's settings; return them and whether its grain, horizon or product_forecasts changed (a
    refresh is due).

    UnknownCategory when it has no data; ApiError 400 for a grain finer than its data or a horizon out of range.
    """
    try:
        saved = _save_setting(sessions, category, change, settings)
    except IntegrityError:
        # Another request inserted the row between our select and our insert: this second pass updates it.
        saved = _save_setting(sessions, category, change, settings)
    sent = {name: value for name, value in vars(change).items() if value is not KEEP}
    logger.info("category settings saved category=%r change=%s", category, sent)
    return saved


def _save_setting(sessions: sessionmaker[Session], category: str, change: SettingsChange,
                  settings: Settings) -> tuple[CategorySettings, bool]:
    with sessions.begin() as session:
        if not category_exists(session, category):
            raise UnknownCategory(category)
        row = session.get(CategorySetting, category, with_for_update=True)
        before = (row.grain, row.horizon) if row is not None else (None, None)
        products_before = row.product_forecasts if row is not None else None
        grain, horizon = _checked_grain(session, category, change, before)
        if row is None:
            row = CategorySetting(category=category, holiday_country_default=True,
                                  holiday_country=default_holiday_country(settings))
            session.add(row)
        if change.holiday_country is not KEEP:
            row.holiday_country, row.holiday_country_default = change.holiday_country, None
        if change.product_forecasts is not KEEP:
            row.product_forecasts = change.product_forecasts
        row.grain, row.horizon, row.updated_at = grain, horizon, utcnow()
        if change.drift_threshold is not KEEP:
            row.drift_threshold = change.drift_threshold
        if change.drift_reforecast is not KEEP:
            row.drift_reforecast = change.drift_reforecast
        session.flush()
        changed = (grain, horizon) != before or row.product_forecasts != products_before
        saved = category_settings(session, category, default_holiday_country(settings), settings.drift_threshold)
        return saved, changed


def _checked_grain(session: Session, category: str, change: SettingsChange,
                   before: tuple[str | None, int | None]) -> tuple[str | None, int | None]:
    """The grain and horizon to store; 400 for a grain finer than the data or a horizon past the grain's."""
    grain = before[0] if change.grain is KEEP else change.grain
    horizon = before[1] if change.horizon is KEEP else change.horizon
    if change.grain is KEEP and change.horizon is KEEP:
        return grain, horizon
    report = grains.data_grain(session, category)
    grains.check_grain(Grain(grain) if grain else None, report)
    grains.parse_horizon(horizon, grains.grain_in_force(Grain(grain) if grain else None, report))
    return (grain.value if isinstance(grain, Grain) else grain), horizon


@dataclass(frozen=True)
class QueuedRun:
    """A forecast run the API created, and the RQ job id it is (or will be) queued under."""

    run_id: int
    category: str
    job_id: str


@dataclass(frozen=True)
class Refresh:
    """The runs a refresh created; `queued` is False when Redis was away (reconcile queues them later)."""

    runs: list[QueuedRun]
    queued: bool


def refresh_forecasts(sessions: sessionmaker[Session], redis: Redis, settings: Settings,
                      category: str | None = None) -> Refresh:
    """Create a pending run for `category` (None: every category with data) and queue it."""
    with sessions.begin() as session:
        categories = _categories_to_refresh(session, category)
        now = utcnow()
        runs = [ForecastRun(category=c, batch_num=None, status=ForecastStatus.PENDING,
                            horizon_days=settings.forecast_horizon_days, created_at=now) for c in categories]
        session.add_all(runs)
        session.flush()
        created = [QueuedRun(run.id, run.category, forecast_job_id(run.id, settings.queue_prefix)) for run in runs]
    logger.info("forecast refresh category=%r runs=%d first_run=%s", category, len(created),
                created[0].run_id if created else None)
    return Refresh(created, _enqueue(redis, created, settings))


def _categories_to_refresh(session: Session, category: str | None) -> list[str]:
    if category is not None:
        if not category_exists(session, category):
            raise UnknownCategory(category)
        return [category]
    return list(session.scalars(select(InvoiceData.category).distinct().order_by(InvoiceData.category)))


def _enqueue(redis: Redis, runs: list[QueuedRun], settings: Settings) -> bool:
    try:
        for run in runs:
            enqueue_forecast(redis, run.run_id, prefix=settings.queue_prefix)
    except RedisError:
        logger.warning("redis unavailable; %d forecast runs left for reconcile", len(runs))
        return False
    return True
