"""Reconcile: the database says what work is unfinished; make sure Redis has a job for each piece.

Run at every worker start and in every worker's maintenance round: after Redis lost its data, or a
worker died holding a job, every batch that is not finished and every forecast run that has not
ended is queued again. Job ids are derived from database ids, so work that is still queued or
running is not queued twice.

A job whose worker died (its heartbeat expired in RQ's started registry) goes back to the front of
its queue at once: RQ's own clean-up would schedule it as a delayed retry, which waits for a
scheduler whose lock the dead worker may still hold, and would spend a retry meant for transient
errors. The database's attempt counter (ETL_MAX_ATTEMPTS) bounds a job that keeps dying.
"""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.utils import current_timestamp
from sqlalchemy import Engine, select

from common.config import Settings
from common.models import ForecastRun, UploadMetadata
from common.queue import (
    ETL_QUEUE,
    FORECAST_QUEUE,
    enqueue_etl,
    enqueue_forecast,
    etl_job_id,
    forecast_job_id,
    job_is_alive,
    queue,
)
from common.status import BatchStatus, ForecastStatus

logger = logging.getLogger(__name__)


def reconcile(engine: Engine, redis: Redis, settings: Settings) -> dict[str, int]:
    """Queue every unfinished batch and forecast run that RQ does not hold; return how many of each."""
    for name in (ETL_QUEUE, FORECAST_QUEUE):
        requeue_abandoned(queue(redis, name, settings.queue_prefix))
    with engine.connect() as conn:
        batches = list(conn.scalars(select(UploadMetadata.batch_num)
                                    .where(UploadMetadata.status.in_(BatchStatus.unfinished()))
                                    .order_by(UploadMetadata.batch_num)))
        runs = list(conn.scalars(select(ForecastRun.id).where(
            ForecastRun.status.in_((ForecastStatus.PENDING, ForecastStatus.RUNNING))).order_by(ForecastRun.id)))
    queued = {"batches": 0, "forecast_runs": 0}
    for batch_num in batches:
        if not job_is_alive(redis, etl_job_id(batch_num, settings.queue_prefix)):
            enqueue_etl(redis, batch_num, prefix=settings.queue_prefix, attempts=settings.etl_max_attempts)
            queued["batches"] += 1
    for run_id in runs:
        if not job_is_alive(redis, forecast_job_id(run_id, settings.queue_prefix)):
            enqueue_forecast(redis, run_id, prefix=settings.queue_prefix)
            queued["forecast_runs"] += 1
    if any(queued.values()):
        logger.info("reconcile queued batches=%d forecast_runs=%d", queued["batches"], queued["forecast_runs"])
    return queued


def requeue_abandoned(q: Queue) -> list[str]:
    """Put the jobs whose worker stopped heart-beating back at the front of `q` now; return their ids."""
    registry = StartedJobRegistry(queue=q)
    requeued = []
    for entry in q.connection.zrangebyscore(registry.key, 0, current_timestamp()):
        job_id = registry.parse_job_id(entry)
        job = Job.fetch(job_id, connection=q.connection) if Job.exists(job_id, connection=q.connection) else None
        with q.connection.pipeline() as pipe:
            pipe.multi()
            # The expired entry goes whatever happens, so RQ's clean-up does not retry the job as well.
            pipe.zrem(registry.key, entry)
            if job is not None and job.get_status() == JobStatus.STARTED:
                q.enqueue_job(job, pipeline=pipe, at_front=True)
                requeued.append(job_id)
            pipe.execute()
    if requeued:
        logger.warning("requeued jobs of workers that stopped heart-beating: %s", ", ".join(requeued))
    return requeued
