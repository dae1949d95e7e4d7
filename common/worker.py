"""Starting an RQ worker: the ETL and forecast workers differ only in the queue they listen on."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Worker

from common.config import load_settings
from common.db import create_schema, make_engine
from common.logs import setup_logging
from common.queue import connect, queue
from common.reconcile import reconcile

logger = logging.getLogger(__name__)


class CastflowWorker(Worker):
    """RQ's worker, tolerant of the embedded fake Redis (its CLIENT INFO reply is not parseable)."""

    def _set_ip_address(self, connection: Redis) -> None:
        try:
            super()._set_ip_address(connection)
        except ValueError:
            self.ip_address = "unknown"


def run_worker(queue_name: str) -> None:
    """Create missing tables, reconcile, then work on `queue_name` until stopped (SIGTERM / Ctrl-C)."""
    settings = load_settings()
    setup_logging(settings.log_level)
    engine = make_engine(settings.database_url)
    create_schema(engine)
    redis = connect(settings.redis_url)
    reconcile(engine, redis, settings)
    engine.dispose()  # each job (in its own forked process) opens its own connections
    worker = CastflowWorker([queue(redis, queue_name, settings.queue_prefix)], connection=redis)
    logger.info("worker %s listening on %s%s", worker.name, settings.queue_prefix, queue_name)
    # The scheduler runs the delayed retries of jobs that failed for a transient reason.
    worker.work(with_scheduler=True, logging_level=settings.log_level)
