"""GET /metrics on the real MariaDB and Redis, with the API under gunicorn (2 processes) and an ETL worker process.

The counters must add up across processes: requests answered by either gunicorn worker, and a job
run in a work horse that RQ forks for it and that exits right after.
"""

from __future__ import annotations

import http.client
import os
import sys
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from common.config import settings_env
from tests.integration.faultcheck import csv_bytes, wait_for_status
from tests.integration.processes import HTTP_PORTS, free_port, wait_until
from tests.integration.test_races_mysql import api_answers, post_file

pytestmark = pytest.mark.integration

CALLS = 40
#: What the test asks CALLS times: a route and status no readiness probe (of this test or of another one
#: that happens to poll this port) produces, so the count is exactly this test's.
PROBE, PROBE_ROUTE = "/batches/987654/errors", "/batches/<int:batch_num>/errors"


def get(port: int, path: str) -> tuple[int, str]:
    """GET over a fresh connection (so that the kernel spreads them over gunicorn's workers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """The /metrics samples as {(name, labels): value}."""
    status, body = get(port, "/metrics")
    assert status == 200, body
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_add_up_across_gunicorn_workers_and_work_horses(settings, engine, processes, store_items):
    """Requests over 2 gunicorn processes and an ETL job in a forked horse all show in every scrape."""
    port = free_port(HTTP_PORTS)
    settings = replace(settings, web_workers=2, web_threads=4)
    env = {**os.environ, **settings_env(settings), "CASTFLOW_ENV_FILE": ""}
    api = processes.start("api", [sys.executable, "-m", "gunicorn", "services.api:create_app()",
                                  "-b", f"127.0.0.1:{port}"], env)
    wait_until(lambda: api_answers(port), 60, lambda: api.output())
    for _ in range(CALLS):
        assert get(port, PROBE)[0] == 404
    rows = store_items[store_items["category"].isin(["store-1", "store-2"])].groupby("category").head(10_000)
    status, body = post_file(port, csv_bytes(rows))
    assert status == 202, body
    processes.worker("services.etl", settings)
    wait_for_status(engine, body["batch_num"], ("completed", "failed"), 180, processes)

    def settled() -> dict | None:
        # The horse records its duration after the batch is committed: wait for it, generously.
        samples = scrape(port)
        return samples if value(samples, "castflow_job_duration_seconds_count", kind="etl", outcome="completed") \
            else None

    samples = wait_until(settled, 60, lambda: processes.report())
    for _ in range(4):  # each scrape may be answered by either worker: every one sees the same totals
        again = scrape(port)
        assert value(again, "castflow_http_requests_total", method="GET", route=PROBE_ROUTE, status="404") == CALLS
        assert value(again, "castflow_http_request_duration_seconds_count", method="GET", route=PROBE_ROUTE) == CALLS
        assert value(again, "castflow_etl_rows_total", kind="inserted") == len(rows)
    assert value(samples, "castflow_http_requests_total", method="POST", route="/upload", status="202") == 1
    assert value(samples, "castflow_job_duration_seconds_sum", kind="etl", outcome="completed") > 0
    assert value(samples, "castflow_batches", status="completed") == 1
    assert value(samples, "castflow_forecast_runs", status="pending") == 2
    assert value(samples, "castflow_queue_jobs", queue="forecast", state="queued") == 2
    assert value(samples, "castflow_metrics_source_up", source="database") == 1
