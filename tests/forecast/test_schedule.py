"""FORECAST_SCHEDULE: each tick is planned once in RQ's scheduler, however many workers, and refreshes forecasts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from common.config import Settings, SettingsError, settings_env
from common.models import ForecastRun
from common.queue import FORECAST_QUEUE, schedule_job_id
from common.schedule import next_tick, plan_next_tick
from tests.etl.test_jobs import load

SALES = "Date,product_id,category,sales\n" + "".join(
    f"2024-01-{d:02d},p1,{c},{d}\n" for d in range(1, 29) for c in ("north", "south"))
#: A fake clock: a minute before 03:00 UTC (in the past, so RQ's scheduler finds the planned tick due at once).
BEFORE_TICK = dt.datetime(2024, 3, 5, 2, 59, 10, tzinfo=dt.UTC)


@pytest.fixture
def scheduled(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a daily 03:00 schedule (also in the environment the jobs read)."""
    changed = dataclasses.replace(settings, forecast_schedule="0 3 * * *")
    for name, value in settings_env(changed).items():
        monkeypatch.setenv(name, value)
    return changed


def planned(redis) -> list[str]:
    """The job ids waiting in the forecast queue's scheduled registry."""
    return Queue(FORECAST_QUEUE, connection=redis).scheduled_job_registry.get_job_ids()


def run_due_refreshes(redis) -> None:
    """What a forecast worker's scheduler and the worker do: queue the due jobs, then run the refresh."""
    registry = Queue(FORECAST_QUEUE, connection=redis).scheduled_job_registry
    q = Queue(FORECAST_QUEUE, connection=redis)
    for job_id in registry.get_jobs_to_schedule(int(dt.datetime.now(dt.UTC).timestamp())):
        registry.remove(job_id)
        q.enqueue_job(q.fetch_job(job_id))
    SimpleWorker([q], connection=redis).work(burst=True, max_jobs=1)


def test_the_next_tick_is_planned_once_across_workers(redis, scheduled):
    """Three workers planning at the same moment put one job, for 03:00, in RQ's scheduled registry."""
    ticks = [plan_next_tick(redis, scheduled, BEFORE_TICK, owner=f"worker-{i}") for i in range(3)]
    assert ticks == [dt.datetime(2024, 3, 5, 3, 0, tzinfo=dt.UTC), None, None]
    assert planned(redis) == [schedule_job_id("20240305T0300Z")]


def test_a_tick_is_not_planned_again_after_it_ran(redis, scheduled):
    """Once its job left the registry, a worker (re)starting before the tick does not plan it a second time."""
    plan_next_tick(redis, scheduled, BEFORE_TICK)
    Queue(FORECAST_QUEUE, connection=redis).scheduled_job_registry.remove(schedule_job_id("20240305T0300Z"))
    assert plan_next_tick(redis, scheduled, BEFORE_TICK + dt.timedelta(seconds=30), owner="restarted") is None
    assert planned(redis) == []


def test_after_a_tick_the_following_one_is_planned(redis, scheduled):
    """A round just after 03:00 plans the next day's 03:00."""
    plan_next_tick(redis, scheduled, BEFORE_TICK)
    later = plan_next_tick(redis, scheduled, BEFORE_TICK + dt.timedelta(minutes=2))
    assert later == dt.datetime(2024, 3, 6, 3, 0, tzinfo=dt.UTC)
    assert len(planned(redis)) == 2


def test_no_schedule_plans_nothing(redis, settings):
    """With FORECAST_SCHEDULE empty, no job is planned."""
    assert plan_next_tick(redis, settings, BEFORE_TICK) is None
    assert planned(redis) == []


def test_a_tick_refreshes_every_category(client, drain, engine, redis, scheduled):
    """At its tick the planned job creates and queues a run per category with data."""
    load(client, drain, SALES)
    Queue(FORECAST_QUEUE, connection=redis).empty()
    plan_next_tick(redis, scheduled, BEFORE_TICK)
    run_due_refreshes(redis)
    assert _scheduled_runs(engine) == ["north", "south"]
    assert Queue(FORECAST_QUEUE, connection=redis).count == 2


def test_a_tick_refreshes_only_the_named_categories(client, drain, engine, redis, scheduled, monkeypatch):
    """FORECAST_SCHEDULE_CATEGORIES limits the refresh; an unknown name there is skipped, not fatal."""
    monkeypatch.setenv("FORECAST_SCHEDULE_CATEGORIES", "south, west")
    load(client, drain, SALES)
    Queue(FORECAST_QUEUE, connection=redis).empty()
    plan_next_tick(redis, scheduled, BEFORE_TICK)
    run_due_refreshes(redis)
    assert _scheduled_runs(engine) == ["south"]


def _scheduled_runs(engine) -> list[str]:
    """Categories of the runs no batch asked for (the refresh's), in order."""
    with engine.connect() as conn:
        return list(conn.scalars(select(ForecastRun.category).where(ForecastRun.batch_num.is_(None))
                                 .order_by(ForecastRun.category)))


@pytest.mark.parametrize("expression", ["0 25 * * *", "0 3 * *", "* * * * * *", "every day", "@reboot"])
def test_a_bad_cron_expression_fails_at_start(expression):
    """A schedule that is not five cron fields (or @daily and the like) stops the process naming FORECAST_SCHEDULE."""
    with pytest.raises(SettingsError, match="FORECAST_SCHEDULE .* is not a cron expression"):
        Settings.from_env({"FORECAST_SCHEDULE": expression})


def test_ticks_are_read_in_utc():
    """The schedule's fields are UTC: an aware time in another zone gets the tick UTC names."""
    paris = dt.timezone(dt.timedelta(hours=1))
    assert next_tick("0 3 * * *", dt.datetime(2024, 3, 5, 3, 30, tzinfo=paris)) == \
        dt.datetime(2024, 3, 5, 3, 0, tzinfo=dt.UTC)


def test_a_workers_maintenance_round_plans_the_next_tick(redis, engine, scheduled):
    """Two workers' maintenance rounds (the reconcile step, then the schedule) leave one planned tick."""
    from common.db import create_schema
    from common.queue import queue
    from common.worker import CastflowWorker

    create_schema(engine)
    for _ in range(2):
        CastflowWorker([queue(redis, FORECAST_QUEUE)], connection=redis, settings=scheduled).run_maintenance_tasks()
    [job_id] = planned(redis)
    assert job_id.startswith("schedule-")
