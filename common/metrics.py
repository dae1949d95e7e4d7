"""Operator metrics counted in Redis: every API process and every RQ work horse adds to one total.

Why Redis and not prometheus-client's multiprocess mode: RQ forks a work horse for each job, and the
horse exits when the job ends. Multiprocess mode keeps one file per process id, for ever (a busy
forecast worker leaves thousands, all read at each scrape), and only on the machine that wrote it,
while DESIGN lets workers run on other machines than the API; and several API instances behind a
load balancer would each answer their own share. Counters in Redis are one total per deployment
whichever process serves the scrape, survive restarts of the API and the workers, and cost one
pipelined round trip per request. A flushed Redis only resets them, which Prometheus' rate() handles
as it handles any restart. The database is still the source of truth: what can be read from it
(runs by status, accuracy) is read there at scrape time (services/api/metrics.py), never counted here.

Each metric is one Redis hash under QUEUE_PREFIX. A counter's field is its label values; a histogram
keeps one field per (label values, bucket) holding that bucket's own count (made cumulative when
read) and one with the sum of the observations.
"""

from __future__ import annotations

import bisect
import functools
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from redis import Redis
from redis.exceptions import RedisError
from rq import get_current_job

from common.config import Settings, load_settings

logger = logging.getLogger(__name__)

#: Where the metric hashes live, after QUEUE_PREFIX.
METRICS_KEY = "castflow:metrics:"
#: After a Redis error nothing is recorded for this long, so that requests do not each wait for Redis.
REDIS_BACKOFF_S = 5.0
#: Upper bounds (seconds) of the request latency buckets: prometheus-client's defaults.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: Upper bounds (seconds) of the job duration buckets: a small forecast takes a second, a big ETL an hour.
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0)
#: Separates label values in a hash field (they are route templates, methods, codes and enum values).
_SEP = "\x1f"
#: Separates the label values from the bucket index or "sum" in a histogram's field.
_PART = "\x1e"
_SUM = "sum"


class JobKind(StrEnum):
    """Which job a duration belongs to."""

    ETL = "etl"
    FORECAST = "forecast"


class JobOutcome(StrEnum):
    """How a job ended: what it returned, or `error` when it raised (a crash; RQ may retry it)."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Metric:
    """A counter (no buckets) or a histogram (the upper bounds of its buckets, +Inf implied)."""

    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()

    @property
    def is_histogram(self) -> bool:
        """True for a histogram."""
        return bool(self.buckets)


#: Requests answered by the API, by method, route template (`<unmatched>` for no route) and status code.
REQUESTS = Metric("castflow_http_requests", "HTTP requests answered by the API, by route template and status code",
                  ("method", "route", "status"))
#: Seconds the API took to answer, by method and route template.
REQUEST_SECONDS = Metric("castflow_http_request_duration_seconds",
                         "Time the API took to answer a request (until the body starts), by route template",
                         ("method", "route"), LATENCY_BUCKETS)
#: Seconds an ETL or forecast job ran, by kind and outcome.
JOB_SECONDS = Metric("castflow_job_duration_seconds",
                     "Time an RQ job ran, by kind (etl, forecast) and outcome (completed, failed, skipped, error)",
                     ("kind", "outcome"), JOB_BUCKETS)
#: Stored keys (and rejected rows) of completed batches, by what happened to them.
ROWS = Metric("castflow_etl_rows", "Rows of completed batches: keys inserted, updated, unchanged and imputed, "
              "and rows rejected", ("kind",))
#: Every metric kept in Redis, in the order /metrics shows them.
RECORDED = (REQUESTS, REQUEST_SECONDS, JOB_SECONDS, ROWS)


@dataclass(frozen=True)
class Sample:
    """One label set of a metric as read back: a counter's value, or a histogram's cumulative buckets and sum."""

    labels: tuple[str, ...]
    value: float
    buckets: tuple[float, ...] = ()


class MetricsRecorder:
    """Adds observations to the metric hashes in Redis; never raises (a lost count must not fail a request)."""

    def __init__(self, redis: Redis, prefix: str = "", *, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._redis, self._prefix, self.enabled, self._clock = redis, prefix, enabled, clock
        self._down_until = 0.0

    def key(self, metric: Metric) -> str:
        """The Redis hash holding `metric`."""
        return f"{self._prefix}{METRICS_KEY}{metric.name}"

    def record(self, *updates: tuple[Metric, tuple[str, ...], float]) -> None:
        """Add each (metric, label values, amount): a counter grows by it, a histogram observes it."""
        if not self.enabled or self._clock() < self._down_until:
            return
        try:
            pipe = self._redis.pipeline(transaction=False)
            for metric, labels, amount in updates:
                self._add(pipe, metric, _SEP.join(labels), amount)
            pipe.execute()
        except RedisError as exc:
            self._down_until = self._clock() + REDIS_BACKOFF_S
            logger.warning("metrics not recorded for %.0f s (Redis unavailable): %s", REDIS_BACKOFF_S, exc)

    def _add(self, pipe, metric: Metric, field: str, amount: float) -> None:  # noqa: ANN001 - a redis pipeline
        key = self.key(metric)
        if not metric.is_histogram:
            pipe.hincrby(key, field, int(amount))
            return
        bucket = bisect.bisect_left(metric.buckets, amount)  # le is inclusive: amount == bound counts in it
        pipe.hincrby(key, f"{field}{_PART}{bucket}", 1)
        pipe.hincrbyfloat(key, f"{field}{_PART}{_SUM}", amount)

    def read(self, metric: Metric) -> list[Sample]:
        """Every label set of `metric`, sorted; raises RedisError (the scrape says Redis was not read)."""
        raw = {field.decode(): value for field, value in self._redis.hgetall(self.key(metric)).items()}
        if not metric.is_histogram:
            return [Sample(tuple(field.split(_SEP)), float(value)) for field, value in sorted(raw.items())]
        return _histogram_samples(metric, raw)


def _histogram_samples(metric: Metric, raw: dict[str, bytes]) -> list[Sample]:
    counts: dict[str, list[float]] = {}
    sums: dict[str, float] = {}
    for field, value in raw.items():
        labels, _, part = field.rpartition(_PART)
        if part == _SUM:
            sums[labels] = float(value)
        else:
            counts.setdefault(labels, [0.0] * (len(metric.buckets) + 1))[int(part)] += float(value)
    return [Sample(tuple(labels.split(_SEP)), sums.get(labels, 0.0), tuple(_cumulative(own)))
            for labels, own in sorted(counts.items())]


def _cumulative(values: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def recorder(settings: Settings, redis: Redis) -> MetricsRecorder:
    """The recorder of a process with these settings (a no-op when METRICS_ENABLED is off)."""
    return MetricsRecorder(redis, settings.queue_prefix, enabled=settings.metrics_enabled)


def record_rows(metrics: MetricsRecorder, **counts: int) -> None:
    """Count a completed batch's rows by kind (inserted=..., updated=..., rejected=...)."""
    metrics.record(*((ROWS, (kind,), count) for kind, count in counts.items() if count))


def timed_job(kind: JobKind, failed: tuple[type[BaseException], ...] = ()) -> Callable:
    """Decorate an RQ entry point: its duration and outcome go to JOB_SECONDS (inside RQ only).

    The outcome is what the function returns (a JobOutcome value, or None for skipped); an exception
    in `failed` is `failed` (a bad file: the job ends for good), any other exception `error`.
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def run(*args: object, **kwargs: object) -> object:
            started, outcome = time.perf_counter(), JobOutcome.ERROR
            try:
                result = func(*args, **kwargs)
                outcome = job_outcome(result)
                return result
            except failed:
                outcome = JobOutcome.FAILED
                raise
            finally:
                _record_job(kind, outcome, time.perf_counter() - started)

        return run

    return decorate


def job_outcome(result: object) -> JobOutcome:
    """A job's outcome from what its entry point returned: None is skipped, an unknown value completed."""
    if result is None:
        return JobOutcome.SKIPPED
    return next((outcome for outcome in JobOutcome if outcome.value == result), JobOutcome.COMPLETED)


def _record_job(kind: JobKind, outcome: JobOutcome, seconds: float) -> None:
    job = get_current_job()
    if job is None or not math.isfinite(seconds):
        return  # called outside RQ (a script, a test calling the function itself): nobody counts it
    recorder(load_settings(), job.connection).record((JOB_SECONDS, (kind, outcome), seconds))
