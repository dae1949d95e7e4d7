"""The forecast schedule: FORECAST_SCHEDULE (cron syntax, in UTC) refreshes forecasts at each of its ticks.

Every worker plans the schedule's next tick in its maintenance rounds (and at start): the first to claim
the tick (a Redis SET NX key per tick) puts a refresh job in RQ's scheduled registry for that time, and
RQ's scheduler (which the workers run) queues it when the time comes. So a tick is run once however many
workers there are, a worker restart loses nothing (the planned job waits in Redis), and a Redis that lost
its data is planned again at the next round. Only future ticks are planned: a tick that passed while Redis
was empty is not made up for.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from redis import Redis

from common.queue import enqueue_scheduled_refresh

if TYPE_CHECKING:  # the settings check FORECAST_SCHEDULE with cron_problem, so they import this module
    from common.config import Settings

logger = logging.getLogger(__name__)

#: Cron's shorthands castflow accepts besides five fields.
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
#: How long a tick's claim outlives the tick: long enough that no worker plans a passed tick again.
CLAIM_MARGIN = dt.timedelta(days=2)


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron schedule castflow runs (five fields, or @daily and the like), or None."""
    from croniter import croniter  # imported here: only the schedule needs it

    fields = expression.split()
    if not (len(fields) == 5 or expression.strip() in ALIASES) or not croniter.is_valid(expression):
        return (f"{expression[:80]!r} is not a cron expression: five fields (minute hour day-of-month month "
                "day-of-week, in UTC), e.g. '0 3 * * *' for 03:00 every day, or @daily, @hourly, @weekly")
    return None


def next_tick(expression: str, after: dt.datetime) -> dt.datetime:
    """The schedule's first tick strictly after `after` (an aware datetime), in UTC."""
    from croniter import croniter

    start = after.astimezone(dt.UTC).replace(tzinfo=None)
    return croniter(expression, start).get_next(dt.datetime).replace(tzinfo=dt.UTC)


def tick_stamp(tick: dt.datetime) -> str:
    """A tick as it names its claim and its job: 20240101T0300Z."""
    return tick.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")


def claim_key(stamp: str, prefix: str = "") -> str:
    """The Redis key whose SET NX decides which worker plans a tick."""
    return f"{prefix}castflow:schedule:{stamp}"


def plan_next_tick(redis: Redis, settings: Settings, now: dt.datetime | None = None,
                   owner: str = "") -> dt.datetime | None:
    """Plan the refresh of the schedule's next tick unless another worker did; the tick, or None."""
    if not settings.forecast_schedule:
        return None
    now = now or dt.datetime.now(dt.UTC)
    tick = next_tick(settings.forecast_schedule, now)
    stamp = tick_stamp(tick)
    ttl = int((tick - now + CLAIM_MARGIN).total_seconds())
    if not redis.set(claim_key(stamp, settings.queue_prefix), owner or "worker", nx=True, ex=ttl):
        return None
    enqueue_scheduled_refresh(redis, tick, stamp, prefix=settings.queue_prefix)
    logger.info("forecast schedule: refresh planned for %s (%s)", tick.isoformat(), settings.forecast_schedule)
    return tick


def scheduled_categories(settings: Settings) -> tuple[str, ...]:
    """FORECAST_SCHEDULE_CATEGORIES as a tuple; empty: every category."""
    return tuple(c.strip() for c in settings.forecast_schedule_categories.split(",") if c.strip())
