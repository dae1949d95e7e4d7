"""The reconcile step: the database says what is unfinished; Redis gets a job for each, once."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from common.models import ForecastRun, UploadMetadata
from common.queue import ETL_QUEUE, FORECAST_QUEUE, queue
from common.reconcile import reconcile
from common.worker import CastflowWorker
from tests.conftest import upload

GOOD = "Date,product_id,category,sales\n2023-01-01,p,c,1\n"


def test_lost_queue_entries_are_queued_again_once(client, engine, redis, settings):
    """After Redis loses everything, unfinished batches are queued again; a second pass adds nothing."""
    first = upload(client, GOOD).json["batch_num"]
    second = upload(client, GOOD.replace("1\n", "2\n")).json["batch_num"]
    with Session(engine) as session, session.begin():
        session.execute(update(UploadMetadata).where(UploadMetadata.batch_num == second).values(status="processing"))
    redis.flushall()
    assert reconcile(engine, redis, settings) == {"batches": 2, "forecast_runs": 0, "webhook_deliveries": 0,
                                                  "product_jobs": 0}
    assert queue(redis, ETL_QUEUE).job_ids == [f"etl-{first}", f"etl-{second}"]
    assert reconcile(engine, redis, settings) == {"batches": 0, "forecast_runs": 0, "webhook_deliveries": 0,
                                                  "product_jobs": 0}


def test_finished_batches_are_left_alone(client, drain, engine, redis, settings):
    """Completed and failed batches are not queued again."""
    upload(client, GOOD)
    drain()
    redis.flushall()
    assert reconcile(engine, redis, settings)["batches"] == 0


def test_pending_forecast_runs_are_queued_again(client, drain, engine, redis, settings):
    """Forecast runs that have not ended get their job back after Redis lost it."""
    upload(client, GOOD)
    drain()
    redis.flushall()
    assert reconcile(engine, redis, settings) == {"batches": 0, "forecast_runs": 1, "webhook_deliveries": 0,
                                                  "product_jobs": 0}
    with Session(engine) as session, session.begin():
        session.execute(update(ForecastRun).values(status="completed"))
    redis.flushall()
    assert reconcile(engine, redis, settings)["forecast_runs"] == 0
    assert queue(redis, FORECAST_QUEUE).job_ids == []


def test_the_worker_reconciles_in_its_maintenance_round(client, engine, redis, settings):
    """A running worker's periodic maintenance re-queues lost work (no restart needed)."""
    batch = upload(client, GOOD).json["batch_num"]
    redis.flushall()
    worker = CastflowWorker([queue(redis, ETL_QUEUE)], connection=redis, settings=settings)
    worker.run_maintenance_tasks()
    assert queue(redis, ETL_QUEUE).job_ids == [f"etl-{batch}"]
    assert worker.maintenance_interval <= 60 and worker.dequeue_timeout < 60
