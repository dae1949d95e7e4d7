"""Starting an RQ worker: the ETL and forecast workers differ only in their own queue.

Both also take webhook deliveries, before their own work: a delivery is one short request, and whichever
kind of worker is free (the ETL worker while forecasts run, the forecast workers while a file loads) sends it.
"""

from __future__ import annotations

import gc
import logging
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Worker
from rq.exceptions import StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.utils import import_attribute
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from common.config import Settings, load_settings
from common.db import create_schema, make_engine
from common.logs import configure_logging
from common.queue import QUEUE_JOBS, WEBHOOK_QUEUE, connect, queue
from common.reconcile import reconcile, requeue_abandoned
from common.schedule import plan_next_tick

logger = logging.getLogger(__name__)

#: Longest wait between two attempts to reach the database at start.
START_RETRY_CAP_S = 30.0


class CastflowWorker(Worker):
    """RQ's worker, plus the reconcile step among its periodic maintenance tasks.

    Its heartbeat timings come from the settings (WORKER_TTL_SECONDS, MAINTENANCE_SECONDS), so that a
    job whose worker died is requeued within DESIGN's 3 minutes. It also tolerates the embedded fake
    Redis, whose CLIENT INFO reply redis-py cannot parse.
    """

    def __init__(self, *args: object, settings: Settings, **kwargs: object) -> None:
        # A running job's heartbeat is renewed every quarter of the TTL, so one late beat is no death.
        super().__init__(*args, worker_ttl=settings.worker_ttl_seconds,
                         maintenance_interval=settings.maintenance_seconds,
                         job_monitoring_interval=max(1, settings.worker_ttl_seconds // 4), **kwargs)
        self.settings = settings

    @property
    def dequeue_timeout(self) -> int:
        """An idle worker wakes often enough to run maintenance on time (RQ waits TTL - 15 s)."""
        return max(1, min(self.worker_ttl - 15, self.maintenance_interval // 4))

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """RQ lets a running job's heartbeat last a minute past the next beat; castflow's TTL bounds it."""
        return min(super().get_heartbeat_ttl(job, working_time), self.worker_ttl)

    def maintain_heartbeats(self, job: Job, execution: Execution) -> None:
        """Beat; with Redis away (restarting), keep the job going instead of quitting the worker."""
        try:
            super().maintain_heartbeats(job, execution)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            logger.warning("heartbeat failed job=%s (%s); the job goes on", job.id, exc)

    def _set_ip_address(self, connection: Redis) -> None:
        try:
            super()._set_ip_address(connection)
        except ValueError:
            self.ip_address = "unknown"

    def run_maintenance_tasks(self) -> None:
        """Re-queue abandoned and lost work first (reconcile), then RQ's registry cleaning."""
        # Reconcile goes first: RQ's cleaning would hand an abandoned job to its delayed retry, which
        # waits for the scheduler (whose lock a killed worker holds for another minute).
        reconcile_once(self.settings, self.connection)
        plan_schedule_once(self.settings, self.connection, self.name)
        # Reconcile's database work takes a moment, in which another job's heartbeat can expire; take those too,
        # right before RQ's cleaning looks (measured: without this, a killed ETL job went to RQ's delayed retry
        # in about one clean-clone run of four).
        for q in self.queues:
            try:
                requeue_abandoned(q)
            except RedisError as exc:
                logger.warning("requeue of abandoned jobs failed queue=%s (%s)", q.name, exc)
        super().run_maintenance_tasks()


def reconcile_once(settings: Settings, redis: Redis) -> None:
    """Run the reconcile step on a short-lived connection; log, never raise (the next round retries)."""
    engine = make_engine(settings.database_url, poolclass=NullPool)
    try:
        reconcile(engine, redis, settings)
    except StopRequested:
        raise  # RQ's SIGTERM handler stops an idle worker with this exception, wherever it is
    except Exception:  # noqa: BLE001 - a database or Redis outage must not kill the worker
        logger.exception("reconcile failed; retrying at the next maintenance round")
    finally:
        engine.dispose()


def plan_schedule_once(settings: Settings, redis: Redis, owner: str) -> None:
    """Plan FORECAST_SCHEDULE's next tick unless another worker has; log, never raise (the next round retries)."""
    try:
        plan_next_tick(redis, settings, owner=owner)
    except StopRequested:
        raise
    except Exception:  # noqa: BLE001 - Redis away must not kill the worker
        logger.exception("planning the forecast schedule failed; retrying at the next maintenance round")


def run_worker(queue_name: str) -> None:
    """Create missing tables, reconcile, then work on the webhooks queue and `queue_name` until stopped."""
    settings = load_settings()
    configure_logging(settings)
    wait_for_schema(settings)
    redis = connect(settings.redis_url)
    reconcile_once(settings, redis)
    names = (WEBHOOK_QUEUE, queue_name)
    preload_jobs(names)
    freeze_for_fork()
    queues = [queue(redis, name, settings.queue_prefix) for name in names]
    worker = CastflowWorker(queues, connection=redis, settings=settings)
    plan_schedule_once(settings, redis, worker.name)
    logger.info("worker %s listening on %s", worker.name, ", ".join(q.name for q in queues))
    # The scheduler runs the delayed retries of jobs that failed for a transient reason.
    worker.work(with_scheduler=True, logging_level=settings.log_level)


def preload_jobs(queue_names: tuple[str, ...]) -> None:
    """Import the job functions of `queue_names` in the worker, before any work horse forks.

    RQ forks a horse per job, and the horse imports its job's module: the forecast job's modules (with
    mlforecast, LightGBM and scikit-learn for products) cost 0.3-1.5 CPU s per job when each horse imports
    them, and nothing once the parent has.
    """
    for name in queue_names:
        for path in QUEUE_JOBS.get(name, ()):
            import_attribute(path)


def freeze_for_fork() -> None:
    """Move every object the worker holds so far out of the garbage collector's reach, before horses fork.

    A horse's collections would otherwise walk the parent's objects (the preloaded libraries), writing to
    their pages and so copying them out of the memory it shares with the parent: measured on one forecast
    job after the job preload, 37,500 page faults without the freeze and 19,000 with it (24,400 before
    the job preload). Python's documentation recommends gc.freeze() before fork for this.
    """
    gc.collect()
    gc.freeze()


def wait_for_schema(settings: Settings, cap_s: float = START_RETRY_CAP_S) -> None:
    """Create missing tables, waiting with backoff while the database is unreachable (no crash loop)."""
    delay = 1.0
    while True:
        engine = make_engine(settings.database_url, poolclass=NullPool)
        try:
            create_schema(engine)
            return
        except OperationalError as exc:
            logger.warning("database unavailable at start (%s); retrying in %.0f s", str(exc.orig)[:200], delay)
        finally:
            engine.dispose()  # each job (in its own forked process) opens its own connections
        time.sleep(delay)
        delay = min(delay * 2, cap_s)
