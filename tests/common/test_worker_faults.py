"""A worker that died mid-job: its job goes back to the queue at once; the worker's timings come from the settings."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry, clean_registries
from sqlalchemy import select

from common.models import UploadMetadata
from common.queue import ETL_QUEUE, etl_job_id, queue
from common.reconcile import reconcile, requeue_abandoned
from common.worker import CastflowWorker
from tests.conftest import upload

GOOD = "Date,product_id,category,sales\n2023-01-01,p,c,1\n"


def start(redis, q, job: Job) -> None:
    """Take the job off the queue and start it the way a worker and its work horse do."""
    q.remove(job.id)
    worker = SimpleWorker([q], connection=redis)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)


def abandon(redis, q, job_id: str) -> Job:
    """Start the job, then let its heartbeat lapse (the worker was SIGKILLed)."""
    job = Job.fetch(job_id, connection=redis)
    start(redis, q, job)
    registry = StartedJobRegistry(queue=q)
    for entry in redis.zrange(registry.key, 0, -1):
        redis.zadd(registry.key, {entry: 1})  # expired long ago
    assert job.get_status() == JobStatus.STARTED
    return job


def test_an_abandoned_job_goes_back_to_the_front_of_its_queue_at_once(client, redis, settings):
    """No delayed retry (which needs a scheduler) and no retry spent: the job is queued, first in line."""
    first = upload(client, GOOD).json["batch_num"]
    second = upload(client, GOOD.replace("1\n", "2\n")).json["batch_num"]
    q = queue(redis, ETL_QUEUE)
    retries = abandon(redis, q, etl_job_id(first)).retries_left
    assert requeue_abandoned(q) == [etl_job_id(first)]
    job = Job.fetch(etl_job_id(first), connection=redis)
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == retries
    assert q.job_ids == [etl_job_id(first), etl_job_id(second)]
    assert redis.zcard(StartedJobRegistry(queue=q).key) == 0
    clean_registries(q)  # RQ's own clean-up then finds nothing left to retry
    assert Job.fetch(etl_job_id(first), connection=redis).get_status() == JobStatus.QUEUED


def test_a_running_job_is_left_alone(client, redis):
    """A job whose heartbeat is current is not touched."""
    batch = upload(client, GOOD).json["batch_num"]
    q = queue(redis, ETL_QUEUE)
    job = Job.fetch(etl_job_id(batch), connection=redis)
    start(redis, q, job)
    assert requeue_abandoned(q) == []
    assert Job.fetch(job.id, connection=redis).get_status() == JobStatus.STARTED


def test_reconcile_requeues_the_abandoned_job_of_an_unfinished_batch_once(client, engine, redis, settings):
    """The reconcile step hands the dead worker's job back; the batch is not queued a second time."""
    batch = upload(client, GOOD).json["batch_num"]
    q = queue(redis, ETL_QUEUE)
    abandon(redis, q, etl_job_id(batch))
    assert reconcile(engine, redis, settings) == {"batches": 0, "forecast_runs": 0, "webhook_deliveries": 0,
                                                  "product_jobs": 0}
    assert q.job_ids == [etl_job_id(batch)]
    with engine.connect() as conn:
        assert conn.scalar(select(UploadMetadata.status)) == "uploaded"


def test_the_worker_takes_its_timings_from_the_settings(redis, settings):
    """WORKER_TTL_SECONDS bounds a running job's heartbeat; MAINTENANCE_SECONDS paces the reconcile rounds."""
    fast = replace(settings, worker_ttl_seconds=10, maintenance_seconds=4)
    worker = CastflowWorker([queue(redis, ETL_QUEUE)], connection=redis, settings=fast)
    job = queue(redis, ETL_QUEUE).enqueue_call("services.etl.jobs.run_etl", args=(1,), timeout=3600)
    assert worker.get_heartbeat_ttl(job) == 10 and worker.job_monitoring_interval == 2
    assert worker.maintenance_interval == 4 and worker.dequeue_timeout == 1
    default = CastflowWorker([queue(redis, ETL_QUEUE)], connection=redis, settings=settings)
    # DESIGN's bound: a dead worker's job is requeued within 3 minutes (heartbeat lapse + one idle maintenance wait).
    assert default.get_heartbeat_ttl(job) + default.maintenance_interval + default.dequeue_timeout < 180


def test_a_failing_reconcile_does_not_stop_the_worker_but_sigterm_does(redis, settings, monkeypatch):
    """A database outage during maintenance is logged and survived; RQ's stop request (SIGTERM) is not swallowed."""
    from rq.exceptions import StopRequested
    from sqlalchemy.exc import OperationalError

    worker = CastflowWorker([queue(redis, ETL_QUEUE)], connection=redis, settings=settings)

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("Can't connect to MySQL server"))

    monkeypatch.setattr("common.worker.reconcile", down)
    worker.run_maintenance_tasks()

    def stop(*args, **kwargs):
        raise StopRequested()

    monkeypatch.setattr("common.worker.reconcile", stop)
    with pytest.raises(StopRequested):
        worker.run_maintenance_tasks()


def test_the_first_retry_of_a_transient_failure_waits_15_seconds(redis):
    """Each retry has its own wait (15 s, 60 s, then 180 s), so the first comes after 15 s, not RQ's list end."""
    from common.queue import enqueue_etl

    job = enqueue_etl(redis, 1, attempts=3)
    assert (job.retries_left, job.retry_intervals, job.get_retry_interval()) == (2, [15, 60], 15)
    assert enqueue_etl(redis, 2, attempts=5).retry_intervals == [15, 60, 180, 180]
    assert enqueue_etl(redis, 3, attempts=1).retries_left is None
