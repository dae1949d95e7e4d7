"""GET /metrics: the counters every process keeps in Redis, plus what is read from Redis and the database at scrape.

The request hooks time each answer and add it to REQUESTS / REQUEST_SECONDS in one Redis round trip
(common/metrics.py says why Redis). At scrape, `CastflowCollector` turns those hashes into Prometheus
families and adds gauges read on the spot: RQ queue depths, forecast runs and batches by status, and
each category's backtest and realised accuracy, and which categories drift. A source that does not answer is reported by
`castflow_metrics_source_up{source=...} 0` while the others are still shown: an operator needs the
numbers most when something is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, Select, case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from common.metrics import RECORDED, REQUEST_SECONDS, REQUESTS, MetricsRecorder, Sample
from common.metrics import Metric as Recorded
from common.models import CategoryDrift, CategoryRealised, ForecastMetric, ForecastRun, UploadMetadata
from common.queue import ALL_QUEUES, queue
from services.api.forecast_reads import latest_completed_runs, shown_model

logger = logging.getLogger(__name__)

#: The route label of a request no route matched (a scanner's guesses must not each become a series).
UNMATCHED = "<unmatched>"
#: Backtest metrics of the recommended forecast shown per category: (column, metric name, help).
ACCURACY = (
    ("mase", "castflow_forecast_backtest_mase", "MASE (against seasonal naive, season 7)"),
    ("smape", "castflow_forecast_backtest_smape", "sMAPE in percent"),
    ("coverage", "castflow_forecast_backtest_interval_coverage_ratio", "share of held-out days inside the interval"),
)
_BACKTEST = ("of each category's recommended forecast (its best model in runs made before those) in its latest "
             "completed run, from the backtest on the last horizon before the fit (castflow_forecast_realised_mase "
             "is the accuracy against the actuals that arrived later)")


def register_metrics(app: Flask, metrics: MetricsRecorder) -> None:
    """Time every request and count it (first among the hooks, so refused requests count too)."""
    app.extensions["castflow.metrics"] = metrics
    if not metrics.enabled:
        return
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
            metrics.record((REQUESTS, (request.method, route, str(response.status_code)), 1),
                           (REQUEST_SECONDS, (request.method, route), time.perf_counter() - started))
        return response


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


class CastflowCollector:
    """A prometheus-client collector reading Redis and the database at each scrape."""

    def __init__(self, metrics: MetricsRecorder, redis: Redis, engine: Engine, prefix: str) -> None:
        self._metrics, self._redis, self._engine, self._prefix = metrics, redis, engine, prefix

    def collect(self) -> Iterator[Metric]:
        """Every family; a source that fails is left out and marked down in castflow_metrics_source_up."""
        up = GaugeMetricFamily("castflow_metrics_source_up", "1 when /metrics could read the source at this scrape",
                               labels=["source"])
        for source, read, errors in (("redis", self._from_redis, RedisError),
                                     ("database", self._from_database, SQLAlchemyError)):
            try:
                families, ok = list(read()), 1.0
            except errors as exc:
                logger.warning("metrics: %s unavailable at scrape (%s)", source, type(exc).__name__)
                families, ok = [], 0.0
            up.add_metric([source], ok)
            yield from families
        yield up

    def _from_redis(self) -> Iterator[Metric]:
        for recorded in RECORDED:
            yield family(recorded, self._metrics.read(recorded))
        yield self._queue_depths()

    def _queue_depths(self) -> Metric:
        depth = GaugeMetricFamily("castflow_queue_jobs", "RQ jobs by queue and state: queued (waiting), started "
                                  "(running), scheduled (a retry waiting its turn), failed (kept for inspection)",
                                  labels=["queue", "state"])
        for name in ALL_QUEUES:
            q = queue(self._redis, name, self._prefix)
            depth.add_metric([name, "queued"], q.count)
            for state, registry in (("started", q.started_job_registry), ("scheduled", q.scheduled_job_registry),
                                    ("failed", q.failed_job_registry)):
                # No cleanup: a scrape reads, it never moves jobs (the workers' maintenance does that).
                depth.add_metric([name, state], registry.get_job_count(cleanup=False))
        return depth

    def _from_database(self) -> Iterator[Metric]:
        with self._engine.connect() as conn:
            runs = conn.execute(select(ForecastRun.status, func.count()).group_by(ForecastRun.status)).all()
            batches = conn.execute(select(UploadMetadata.status, func.count()).group_by(UploadMetadata.status)).all()
            accuracy = conn.execute(_accuracy_query()).all()
            realised = conn.execute(_realised_query()).all()
            drifting = conn.execute(_drifting_query()).all()
        yield _by_status("castflow_forecast_runs", "Forecast runs in the database, by status", runs)
        yield _by_status("castflow_batches", "Uploaded batches in the database, by status", batches)
        for column, name, what in ACCURACY:
            gauge = GaugeMetricFamily(name, f"Backtest {what} {_BACKTEST}", labels=["category", "model"])
            for row in accuracy:
                if row._mapping[column] is not None:
                    gauge.add_metric([row.category, row.model_type], row._mapping[column])
            yield gauge
        yield _per_category("castflow_forecast_realised_mase", REALISED_HELP, realised)
        yield _per_category("castflow_category_drifting", DRIFTING_HELP, drifting)


#: Help of the realised accuracy gauges (one series per category: their cardinality is the categories').
REALISED_HELP = ("Realised MASE of each category's recommended forecast in its latest completed daily run, against the "
                 "actuals that arrived after it, as the last drift check measured it (mean absolute error over the "
                 "run's seasonal naive MAE)")
DRIFTING_HELP = ("1 while the category is marked drifting (its realised MASE passed its threshold times the "
                 "backtest MASE), 0 once a drift has cleared; categories that never drifted are left out")


def _realised_query() -> Select:
    """(category, value): realised MASE of each category's current forecast at its last drift check."""
    return select(CategoryRealised.category, CategoryRealised.realised_mase).order_by(CategoryRealised.category)


def _drifting_query() -> Select:
    """(category, value): 1 for a category with an open drift mark, 0 for one whose marks all cleared."""
    return (select(CategoryDrift.category,
                   func.max(case((CategoryDrift.cleared_at.is_(None), 1), else_=0)).label("value"))
            .group_by(CategoryDrift.category).order_by(CategoryDrift.category))


def _per_category(name: str, help_text: str, rows: list) -> Metric:
    gauge = GaugeMetricFamily(name, help_text, labels=["category"])
    for category, number in rows:
        if number is not None:
            gauge.add_metric([category], float(number))
    return gauge


def _accuracy_query() -> Select:
    """(category, model_type, mase, smape, coverage) of the model each category's latest completed run shows."""
    latest = latest_completed_runs().subquery()
    # An alias: shown_model() reads forecast_metrics itself, and must not correlate with this query's rows.
    metric = aliased(ForecastMetric)
    return (select(metric.category, metric.model_type, *(getattr(metric, column) for column, _, _ in ACCURACY))
            .join(latest, metric.run_id == latest.c.run_id)
            .where(metric.model_type == shown_model(latest.c.run_id))
            .order_by(metric.category))


def _by_status(name: str, help_text: str, rows: list) -> Metric:
    gauge = GaugeMetricFamily(name, help_text, labels=["status"])
    for status, count in sorted(rows):
        gauge.add_metric([status], count)
    return gauge


def family(metric: Recorded, samples: list[Sample]) -> Metric:
    """The Prometheus family of a metric kept in Redis."""
    labels = list(metric.labels)
    if not metric.is_histogram:
        counter = CounterMetricFamily(metric.name, metric.help, labels=labels)
        for sample in samples:
            counter.add_metric(list(sample.labels), sample.value)
        return counter
    histogram = HistogramMetricFamily(metric.name, metric.help, labels=labels)
    bounds = [*(_bound(b) for b in metric.buckets), "+Inf"]
    for sample in samples:
        histogram.add_metric(list(sample.labels), list(zip(bounds, sample.buckets, strict=True)), sample.value)
    return histogram


def _bound(value: float) -> str:
    return repr(float(value))


def make_exposition(collector: CastflowCollector) -> Callable[[], bytes]:
    """A function answering the scrape body (its own registry: no per-process default collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return lambda: generate_latest(registry)


#: The text format every Prometheus version reads (prometheus-client's newest, 1.0.0, needs Prometheus 3).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

__all__ = ["CONTENT_TYPE", "CastflowCollector", "make_exposition", "register_metrics"]
