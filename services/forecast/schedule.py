"""The scheduled refresh: RQ runs it at each tick of FORECAST_SCHEDULE (common/schedule.py plans the ticks).

It creates a pending forecast run for each scheduled category and queues it, exactly as a refresh asked
through the API does (POST /forecasts/refresh); the forecast workers then run them as any other.
"""

from __future__ import annotations

import logging

from redis import Redis
from rq import get_current_job
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from common.config import Settings, load_settings
from common.db import make_engine, make_session_factory
from common.generation import bump_generation
from common.queue import connect
from common.schedule import scheduled_categories
from services.api.forecasts import UnknownCategory, refresh_forecasts

logger = logging.getLogger(__name__)


def run_scheduled_refresh(stamp: str) -> str:
    """RQ entry point: refresh the scheduled categories' forecasts for tick `stamp`."""
    settings = load_settings()
    engine = make_engine(settings.database_url, poolclass=NullPool)
    job = get_current_job()
    try:
        runs = scheduled_refresh(make_session_factory(engine), job.connection if job else connect(settings.redis_url),
                                 settings, stamp)
        return f"{len(runs)} runs"
    finally:
        engine.dispose()


def scheduled_refresh(sessions: sessionmaker[Session], redis: Redis, settings: Settings, stamp: str = "") -> list[int]:
    """Create and queue a run for each of FORECAST_SCHEDULE_CATEGORIES (every category when empty); their ids."""
    wanted = scheduled_categories(settings)
    run_ids: list[int] = []
    for category in wanted or (None,):
        try:
            run_ids += [run.run_id for run in refresh_forecasts(sessions, redis, settings, category).runs]
        except UnknownCategory:
            logger.warning("forecast schedule tick=%s: category %r has no stored data; skipped", stamp, category)
    bump_generation(redis, settings.queue_prefix)  # /categories shows each category's new pending run
    logger.info("forecast schedule tick=%s: %d runs queued", stamp, len(run_ids))
    return run_ids
