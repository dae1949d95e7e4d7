"""Starting an RQ worker: the ETL and forecast workers differ only in the queue they listen on."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Worker
from sqlalchemy.pool import NullPool

from common.config import Settings, load_settings
from common.db import create_schema, make_engine
from common.logs import setup_logging
from common.queue import connect, queue
from common.reconcile import reconcile

logger = logging.getLogger(__name__)

#: How often (seconds) a worker re-queues unfinished work from the database (DESIGN: within 3 minutes).
RECONCILE_INTERVAL_S = 60


class CastflowWorker(Worker):
    """RQ's worker, plus the reconcile step among its periodic maintenance tasks.

    It also tolerates the embedded fake Redis, whose CLIENT INFO reply redis-py cannot parse.
    """

    def __init__(self, *args: object, settings: Settings, **kwargs: object) -> None:
        # A short TTL keeps the idle wait (TTL - 15 s) under a minute, so maintenance runs every minute.
        super().__init__(*args, worker_ttl=RECONCILE_INTERVAL_S, maintenance_interval=RECONCILE_INTERVAL_S, **kwargs)
        self.settings = settings

    def _set_ip_address(self, connection: Redis) -> None:
        try:
            super()._set_ip_address(connection)
        except ValueError:
            self.ip_address = "unknown"

    def run_maintenance_tasks(self) -> None:
        """RQ's registry cleaning, then re-queue whatever the database says is unfinished."""
        super().run_maintenance_tasks()
        reconcile_once(self.settings, self.connection)


def reconcile_once(settings: Settings, redis: Redis) -> None:
    """Run the reconcile step on a short-lived connection; log, never raise (the next round retries)."""
    engine = make_engine(settings.database_url, poolclass=NullPool)
    try:
        reconcile(engine, redis, settings)
    except Exception:  # noqa: BLE001 - a database or Redis outage must not kill the worker
        logger.exception("reconcile failed; retrying at the next maintenance round")
    finally:
        engine.dispose()


def run_worker(queue_name: str) -> None:
    """Create missing tables, reconcile, then work on `queue_name` until stopped (SIGTERM / Ctrl-C)."""
    settings = load_settings()
    setup_logging(settings.log_level)
    engine = make_engine(settings.database_url)
    create_schema(engine)
    engine.dispose()  # each job (in its own forked process) opens its own connections
    redis = connect(settings.redis_url)
    reconcile_once(settings, redis)
    worker = CastflowWorker([queue(redis, queue_name, settings.queue_prefix)], connection=redis, settings=settings)
    logger.info("worker %s listening on %s%s", worker.name, settings.queue_prefix, queue_name)
    # The scheduler runs the delayed retries of jobs that failed for a transient reason.
    worker.work(with_scheduler=True, logging_level=settings.log_level)
