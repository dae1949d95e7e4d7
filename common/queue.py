"""The only place that knows queue names, job paths and job ids.

Redis carries work to do, never state: every job takes ids and reloads what it needs from the
database, and job ids are derived from those ids so that enqueueing the same work twice while it
is still waiting or running is a no-op.
"""

from __future__ import annotations

import datetime as dt
import logging

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry
from rq.job import Job, JobStatus

logger = logging.getLogger(__name__)

#: Queue the ETL worker listens on: one job per uploaded batch.
ETL_QUEUE = "etl"
#: Queue the forecast workers listen on: one job per (batch, category) forecast run.
FORECAST_QUEUE = "forecast"
#: Queue of webhook deliveries: one short job per (event, URL). Both kinds of worker listen to it first.
WEBHOOK_QUEUE = "webhooks"
#: Every queue castflow uses (for maintenance and queue depths).
ALL_QUEUES = (ETL_QUEUE, FORECAST_QUEUE, WEBHOOK_QUEUE)

#: Dotted paths of the job functions. They are a wire format: new parameters go last, optional.
ETL_JOB = "services.etl.jobs.run_etl"
FORECAST_JOB = "services.forecast.jobs.run_forecast"
WEBHOOK_JOB = "services.hooks.deliver.run_delivery"
SCHEDULE_JOB = "services.forecast.schedule.run_scheduled_refresh"
PRODUCT_CHUNK_JOB = "services.forecast.products.jobs.run_product_chunk"
PRODUCT_RECONCILE_JOB = "services.forecast.products.finish.run_product_reconcile"
#: The job functions each queue carries, which a worker on it imports once before its work horses fork.
QUEUE_JOBS = {
    ETL_QUEUE: (ETL_JOB,),
    FORECAST_QUEUE: (FORECAST_JOB, PRODUCT_CHUNK_JOB, PRODUCT_RECONCILE_JOB, SCHEDULE_JOB),
    WEBHOOK_QUEUE: (WEBHOOK_JOB,),
}

#: Longest an ETL job may run before RQ stops it (a multi-GB file on a slow disk).
ETL_TIMEOUT_S = 3 * 3600
#: Longest one category's forecast (three models with backtests) may run.
FORECAST_TIMEOUT_S = 3600
#: Longest one product job (a chunk of PRODUCT_CHUNK_SIZE products, or a run's reconciliation) may run.
PRODUCT_TIMEOUT_S = 3600
#: Longest one webhook attempt may run: the receiver's timeout (at most 120 s) plus resolving its name.
WEBHOOK_TIMEOUT_S = 180
#: Waits between attempts of a job that failed for a transient reason (database or Redis away).
RETRY_INTERVALS_S = (15, 60, 180)

#: Job states in which the work is still going to happen, so enqueueing it again would duplicate it.
_ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED}


def connect(url: str) -> Redis:
    """A Redis client for castflow's processes: short timeouts, one quick retry, so probes answer fast."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=30,
                          retry=RedisRetry(ExponentialBackoff(cap=1.0, base=0.1), 2), health_check_interval=30)


def queue(redis: Redis, name: str, prefix: str = "") -> Queue:
    """The RQ queue `name`, namespaced by `prefix` (QUEUE_PREFIX)."""
    return Queue(f"{prefix}{name}", connection=redis)


def etl_job_id(batch_num: int, prefix: str = "") -> str:
    """The RQ job id of a batch's ETL job (job ids are global in Redis, so they carry the prefix too)."""
    return f"{prefix}etl-{batch_num}"


def forecast_job_id(run_id: int, prefix: str = "") -> str:
    """The RQ job id of a forecast run's job."""
    return f"{prefix}forecast-{run_id}"


def product_chunk_job_id(run_id: int, chunk: int, prefix: str = "") -> str:
    """The RQ job id of one product chunk of a run."""
    return f"{prefix}products-{run_id}-{chunk}"


def product_reconcile_job_id(run_id: int, prefix: str = "") -> str:
    """The RQ job id of a run's product reconciliation (its final product job)."""
    return f"{prefix}products-{run_id}-reconcile"


def webhook_job_id(delivery_id: int, prefix: str = "") -> str:
    """The RQ job id of a webhook delivery's job."""
    return f"{prefix}webhook-{delivery_id}"


def schedule_job_id(stamp: str, prefix: str = "") -> str:
    """The RQ job id of the scheduled refresh of one tick (`stamp`: 20240101T0300Z)."""
    return f"{prefix}schedule-{stamp}"


def enqueue_scheduled_refresh(redis: Redis, at: dt.datetime, stamp: str, *, prefix: str = "") -> Job:
    """Put the refresh of tick `stamp` in RQ's scheduled registry of the forecast queue, due at `at`."""
    return queue(redis, FORECAST_QUEUE, prefix).enqueue_at(
        at, SCHEDULE_JOB, stamp, job_id=schedule_job_id(stamp, prefix), job_timeout=600,
        result_ttl=7 * 24 * 3600, failure_ttl=7 * 24 * 3600,
    )


def enqueue_etl(redis: Redis, batch_num: int, *, prefix: str = "", attempts: int = 3) -> Job:
    """Queue the ETL of `batch_num` unless a job for it is already waiting or running."""
    return _enqueue_once(
        queue(redis, ETL_QUEUE, prefix), ETL_JOB, batch_num, etl_job_id(batch_num, prefix), ETL_TIMEOUT_S, attempts
    )


def enqueue_forecast(redis: Redis, run_id: int, *, prefix: str = "", attempts: int = 3) -> Job:
    """Queue forecast run `run_id` unless a job for it is already waiting or running."""
    return _enqueue_once(
        queue(redis, FORECAST_QUEUE, prefix), FORECAST_JOB, run_id, forecast_job_id(run_id, prefix),
        FORECAST_TIMEOUT_S, attempts,
    )


def enqueue_product_chunk(redis: Redis, run_id: int, chunk: int, *, prefix: str = "", attempts: int = 3) -> Job:
    """Queue one product chunk of run `run_id` on the forecast queue unless it is already waiting or running."""
    return _enqueue_once(queue(redis, FORECAST_QUEUE, prefix), PRODUCT_CHUNK_JOB, (run_id, chunk),
                         product_chunk_job_id(run_id, chunk, prefix), PRODUCT_TIMEOUT_S, attempts)


def enqueue_product_reconcile(redis: Redis, run_id: int, *, prefix: str = "", attempts: int = 3) -> Job:
    """Queue the reconciliation of run `run_id`'s products unless it is already waiting or running."""
    return _enqueue_once(queue(redis, FORECAST_QUEUE, prefix), PRODUCT_RECONCILE_JOB, run_id,
                         product_reconcile_job_id(run_id, prefix), PRODUCT_TIMEOUT_S, attempts)


def enqueue_webhook(redis: Redis, delivery_id: int, intervals: list[int], *, prefix: str = "") -> Job:
    """Queue webhook delivery `delivery_id`, retried after each of `intervals` (seconds) at most."""
    return _enqueue_once(
        queue(redis, WEBHOOK_QUEUE, prefix), WEBHOOK_JOB, delivery_id, webhook_job_id(delivery_id, prefix),
        WEBHOOK_TIMEOUT_S, len(intervals) + 1, intervals,
    )


def job_is_alive(redis: Redis, job_id: str) -> bool:
    """True when RQ still holds the job as waiting or running."""
    try:
        return Job.fetch(job_id, connection=redis).get_status() in _ALIVE
    except Exception:  # noqa: BLE001 - a missing or unreadable job is simply not alive
        return False


def retry_intervals(attempts: int) -> list[int]:
    """The waits before each retry of a job run at most `attempts` times: 15 s, 60 s, then 180 s each."""
    # One interval per retry: RQ reads the list from its end when it is longer than the retries.
    return [RETRY_INTERVALS_S[min(i, len(RETRY_INTERVALS_S) - 1)] for i in range(attempts - 1)]


def _enqueue_once(q: Queue, func: str, arg: int | tuple[int, ...], job_id: str, timeout: int, attempts: int,
                  intervals: list[int] | None = None) -> Job:
    if job_is_alive(q.connection, job_id):
        logger.info("job already queued job=%s", job_id)
        return Job.fetch(job_id, connection=q.connection)
    waits = retry_intervals(attempts) if intervals is None else intervals
    retry = Retry(max=attempts - 1, interval=waits) if attempts > 1 else None
    job = q.enqueue_call(
        func, args=arg if isinstance(arg, tuple) else (arg,), job_id=job_id, timeout=timeout, retry=retry,
        result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600,
    )
    logger.info("enqueued job=%s queue=%s", job_id, q.name)
    return job
