"""Reconcile: the database says what work is unfinished; make sure Redis has a job for each piece.

Run at every worker start and in every worker's maintenance round: after Redis lost its data, or a
worker died holding a job, every batch that is not finished, every forecast run that has not
ended, every product chunk not done (and the reconciliation of a run whose chunks all are) and every
webhook delivery still to be attempted is queued again. Job ids are derived from
database ids, so work that is still queued or running is not queued twice.

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
from common.models import ForecastRun, ProductChunk, UploadMetadata, WebhookDelivery
from common.queue import (
    ALL_QUEUES,
    enqueue_etl,
    enqueue_forecast,
    enqueue_product_chunk,
    enqueue_product_reconcile,
    enqueue_webhook,
    etl_job_id,
    forecast_job_id,
    job_is_alive,
    product_chunk_job_id,
    product_reconcile_job_id,
    queue,
    webhook_job_id,
)
from common.status import BatchStatus, ChunkStatus, ForecastStatus, ProductStatus
from common.webhooks import DeliveryStatus

logger = logging.getLogger(__name__)


def reconcile(engine: Engine, redis: Redis, settings: Settings) -> dict[str, int]:
    """Queue every unfinished batch and forecast run that RQ does not hold; return how many of each."""
    for name in ALL_QUEUES:
        requeue_abandoned(queue(redis, name, settings.queue_prefix))
    with engine.connect() as conn:
        batches = list(conn.scalars(select(UploadMetadata.batch_num)
                                    .where(UploadMetadata.status.in_(BatchStatus.unfinished()))
                                    .order_by(UploadMetadata.batch_num)))
        runs = list(conn.scalars(select(ForecastRun.id).where(
            ForecastRun.status.in_((ForecastStatus.PENDING, ForecastStatus.RUNNING))).order_by(ForecastRun.id)))
    queued = {"batches": 0, "forecast_runs": 0, "webhook_deliveries": requeue_deliveries(engine, redis, settings),
              "product_jobs": requeue_products(engine, redis, settings)}
    for batch_num in batches:
        if not job_is_alive(redis, etl_job_id(batch_num, settings.queue_prefix)):
            enqueue_etl(redis, batch_num, prefix=settings.queue_prefix, attempts=settings.etl_max_attempts)
            queued["batches"] += 1
    for run_id in runs:
        if not job_is_alive(redis, forecast_job_id(run_id, settings.queue_prefix)):
            enqueue_forecast(redis, run_id, prefix=settings.queue_prefix)
            queued["forecast_runs"] += 1
    if any(queued.values()):
        logger.info("reconcile queued batches=%d forecast_runs=%d webhook_deliveries=%d product_jobs=%d",
                    queued["batches"], queued["forecast_runs"], queued["webhook_deliveries"], queued["product_jobs"])
    return queued


def requeue_products(engine: Engine, redis: Redis, settings: Settings) -> int:
    """Queue every unfinished product chunk, and the reconciliation of runs whose chunks are all done, that RQ
    does not hold; return how many jobs were queued."""
    with engine.connect() as conn:
        runs = list(conn.scalars(select(ForecastRun.id).where(
            ForecastRun.product_status.in_((ProductStatus.QUEUED, ProductStatus.RUNNING))).order_by(ForecastRun.id)))
        chunks = conn.execute(select(ProductChunk.run_id, ProductChunk.chunk).where(
            ProductChunk.run_id.in_(runs), ProductChunk.status != ChunkStatus.DONE)).all() if runs else []
    prefix, queued = settings.queue_prefix, 0
    for run_id, chunk in chunks:
        if not job_is_alive(redis, product_chunk_job_id(run_id, chunk, prefix)):
            enqueue_product_chunk(redis, run_id, chunk, prefix=prefix)
            queued += 1
    waiting = {run_id for run_id, _ in chunks}
    for run_id in runs:
        if run_id not in waiting and not job_is_alive(redis, product_reconcile_job_id(run_id, prefix)):
            enqueue_product_reconcile(redis, run_id, prefix=prefix)
            queued += 1
    return queued


def requeue_deliveries(engine: Engine, redis: Redis, settings: Settings) -> int:
    """Queue every webhook delivery that has not ended and whose job RQ does not hold; return how many."""
    with engine.connect() as conn:
        waiting = list(conn.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.status.not_in(DeliveryStatus.ended())).order_by(WebhookDelivery.id)))
    lost = [d for d in waiting if not job_is_alive(redis, webhook_job_id(d, settings.queue_prefix))]
    for delivery_id in lost:
        enqueue_webhook(redis, delivery_id, settings.webhook_retry_intervals(), prefix=settings.queue_prefix)
    return len(lost)


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
