"""GET /metrics: the numbers move with real requests and real jobs, and access follows the settings."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from common.metrics import JOB_SECONDS, METRICS_KEY, MetricsRecorder
from common.queue import FORECAST_QUEUE, connect
from common.status import ModelType
from services.api import create_app
from services.forecast import jobs
from tests.conftest import upload
from tests.forecast.test_backtest import constant

HEADER = "Date,product_id,category,sales\n"
TWO_MONTHS = HEADER + "".join(f"2023-{m:02d}-{d:02d},p,{c},{d}\n" for m in (1, 2) for d in range(1, 29)
                              for c in ("north", "south"))
FULL_KEY, READ_KEY = "full-key-0123456789", "read-key-0123456789"

Samples = dict[tuple[str, frozenset], float]


def scrape(client, **headers) -> Samples:
    """The /metrics samples as {(name, labels): value} (parsed by prometheus-client's own parser)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.data.decode()) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def models(monkeypatch):
    """Stand-in models: the forecast job runs for real, in a blink."""
    monkeypatch.setattr(jobs, "fitters", lambda: {ModelType.HOLT_WINTERS: constant(10),
                                                  ModelType.SARIMAX: constant(20)})


def test_requests_are_counted_by_route_template_and_status(client):
    """Each answer adds one to its (method, route template, status) and observes its latency."""
    before = scrape(client)
    client.get("/health")
    client.get("/batches/7")
    client.get("/batches/8")
    client.get("/no/such/page")
    after = scrape(client)
    assert value(after, "castflow_http_requests_total", method="GET", route="/health", status="200") \
        == value(before, "castflow_http_requests_total", method="GET", route="/health", status="200") + 1
    assert value(after, "castflow_http_requests_total", method="GET", route="/batches/<int:batch_num>",
                 status="404") == 2
    assert value(after, "castflow_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    route = {"method": "GET", "route": "/batches/<int:batch_num>"}
    assert value(after, "castflow_http_request_duration_seconds_count", **route) == 2
    assert value(after, "castflow_http_request_duration_seconds_bucket", le="+Inf", **route) == 2
    assert value(after, "castflow_http_request_duration_seconds_sum", **route) > 0


def test_jobs_rows_queues_and_runs_move_with_real_jobs(client, drain, models):
    """A real ETL job and real forecast jobs show up as durations, rows, queue depths and runs by status."""
    upload(client, TWO_MONTHS)
    queued = scrape(client)
    assert value(queued, "castflow_queue_jobs", queue="etl", state="queued") == 1
    assert value(queued, "castflow_batches", status="uploaded") == 1
    drain()
    loaded = scrape(client)
    assert value(loaded, "castflow_job_duration_seconds_count", kind="etl", outcome="completed") == 1
    assert value(loaded, "castflow_job_duration_seconds_sum", kind="etl", outcome="completed") > 0
    assert value(loaded, "castflow_etl_rows_total", kind="inserted") == 112
    assert value(loaded, "castflow_queue_jobs", queue="etl", state="queued") == 0
    assert value(loaded, "castflow_queue_jobs", queue="forecast", state="queued") == 2
    assert value(loaded, "castflow_forecast_runs", status="pending") == 2
    drain(FORECAST_QUEUE)
    done = scrape(client)
    assert value(done, "castflow_job_duration_seconds_count", kind="forecast", outcome="completed") == 2
    assert value(done, "castflow_forecast_runs", status="completed") == 2
    assert value(done, "castflow_forecast_runs", status="pending") == 0
    assert value(done, "castflow_batches", status="completed") == 1


def test_backtest_accuracy_of_the_latest_run_per_category(client, drain, models, engine):
    """Each category's accuracy gauge is the shown model's backtest metric of its latest completed run."""
    from sqlalchemy import select

    from common.models import ForecastMetric
    upload(client, TWO_MONTHS)
    drain()
    drain(FORECAST_QUEUE)
    samples = scrape(client)
    with engine.connect() as conn:
        best = conn.execute(select(ForecastMetric).where(ForecastMetric.category == "north",
                                                         ForecastMetric.model_type == ModelType.RECOMMENDED)).one()
    model = {"category": "north", "model": ModelType.RECOMMENDED.value}
    assert math.isclose(value(samples, "castflow_forecast_backtest_mase", **model), best.mase)
    assert math.isclose(value(samples, "castflow_forecast_backtest_smape", **model), best.smape)
    assert ("castflow_forecast_backtest_mase", frozenset({**model, "category": "south"}.items())) in samples
    help_text = client.get("/metrics").data.decode()
    assert "castflow_forecast_realised_mase is the accuracy against the actuals" in help_text


def test_a_rejected_file_is_a_failed_etl_job(client, drain):
    """A batch whose rows are all bad ends its job as failed, and counts its rejected rows nowhere as loaded."""
    upload(client, HEADER + "".join(f"2023-02-30,p,c,{i}\n" for i in range(20)))
    drain()
    samples = scrape(client)
    assert value(samples, "castflow_job_duration_seconds_count", kind="etl", outcome="failed") == 1
    assert value(samples, "castflow_etl_rows_total", kind="inserted") == 0
    assert value(samples, "castflow_batches", status="failed") == 1


def test_processes_sharing_redis_add_up(settings, engine, redis):
    """Two API processes (two gunicorn workers) count into one total, and either one scrapes it."""
    first = create_app(settings, engine=engine, redis=redis).test_client()
    second = create_app(settings, engine=engine, redis=redis).test_client()
    for client in (first, second, second):
        client.get("/health")
    for client in (first, second):
        assert value(scrape(client), "castflow_http_requests_total", method="GET", route="/health",
                     status="200") == 3


def test_metrics_need_a_key_unless_public(settings, engine, redis):
    """With API_KEY set, /metrics takes the read key (header or Bearer) and refuses none; METRICS_PUBLIC opens it."""
    keyed = replace(settings, api_key=FULL_KEY, read_api_key=READ_KEY)
    client = create_app(keyed, engine=engine, redis=redis).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scrape(client, **{"X-API-Key": READ_KEY})
    scrape(client, Authorization=f"Bearer {READ_KEY}")
    assert client.get("/batches/1", headers={"Authorization": f"Bearer {READ_KEY}"}).status_code == 404
    public = create_app(replace(keyed, metrics_public=True), engine=engine, redis=redis).test_client()
    scrape(public)
    assert public.get("/batches/1").status_code == 401


def test_metrics_disabled_is_404_and_records_nothing(settings, engine, redis):
    """METRICS_ENABLED off: no /metrics, and requests write nothing to Redis."""
    client = create_app(replace(settings, metrics_enabled=False), engine=engine, redis=redis).test_client()
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 404 and response.json == {"error": "not found"}
    assert not list(redis.scan_iter(f"*{METRICS_KEY}*"))


def test_redis_down_leaves_requests_working_and_says_so(settings, engine):
    """Without Redis, requests still answer and /metrics shows the database's numbers with redis marked down."""
    client = create_app(settings, engine=engine, redis=connect("redis://127.0.0.1:1/0")).test_client()
    assert client.get("/health").status_code == 200
    samples = scrape(client)
    assert value(samples, "castflow_metrics_source_up", source="redis") == 0
    assert value(samples, "castflow_metrics_source_up", source="database") == 1
    body = client.get("/metrics").data.decode()
    assert "# TYPE castflow_forecast_runs gauge" in body
    assert "castflow_http_requests_total" not in body and "castflow_queue_jobs" not in body


def test_histogram_buckets_are_inclusive_and_cumulative(redis):
    """An observation equal to a bound falls in that bucket; buckets read back cumulative, with sum and count."""
    metrics = MetricsRecorder(redis, "t-")
    for seconds in (0.1, 0.1, 0.7, 20000.0):
        metrics.record((JOB_SECONDS, ("etl", "completed"), seconds))
    (sample,) = metrics.read(JOB_SECONDS)
    bounds = dict(zip([*JOB_SECONDS.buckets, math.inf], sample.buckets, strict=True))
    assert bounds[0.1] == 2 and bounds[0.5] == 2 and bounds[1.0] == 3 and bounds[10800.0] == 3
    assert bounds[math.inf] == 4
    assert math.isclose(sample.value, 20000.9)


def test_shipped_dashboard_and_alerts_name_only_exposed_metrics(client):
    """Every castflow_* name the Grafana dashboard and the Prometheus sample use is one /metrics exposes."""
    import json
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    body = client.get("/metrics").data.decode()
    exposed = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", body, flags=re.MULTILINE):
        exposed |= {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else {name}
    dashboard = json.loads((docs / "grafana-dashboard.json").read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"castflow_[a-z_]+", target["expr"])}
    used |= set(re.findall(r"castflow_[a-z_]+", (docs / "prometheus.yml").read_text()))
    assert used and used <= exposed, sorted(used - exposed)
