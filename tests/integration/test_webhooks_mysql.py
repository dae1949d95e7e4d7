"""Webhooks on MariaDB + Redis: a real ETL worker process loads an upload and delivers its events, signed."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from common.config import settings_env
from common.models import ForecastRun
from common.status import ModelType
from services.forecast import jobs
from tests.conftest import upload
from tests.forecast.test_backtest import constant
from tests.integration.processes import wait_until

pytestmark = pytest.mark.integration

SECRET = "an-integration-webhook-secret"
SALES = "Date,product_id,category,sales\n" + "".join(
    f"2024-01-{d:02d},p1,{c},{d}\n" for d in range(1, 29) for c in ("north", "south"))


@pytest.fixture
def settings(settings, receiver, monkeypatch):
    """The test's database and prefix, WEBHOOK_URL at the local receiver, signed, retried after a second."""
    changed = dataclasses.replace(settings, webhook_url=receiver.url, webhook_secret=SECRET, webhook_allow_local=True,
                                  webhook_retry_seconds=1, webhook_timeout_seconds=5.0)
    for name, value in settings_env(changed).items():
        monkeypatch.setenv(name, value)
    return changed


def test_an_upload_and_its_forecasts_reach_the_receiver_signed(client, engine, settings, real_redis, processes,
                                                                receiver):
    """The ETL worker (listening on webhooks first) loads the batch and delivers batch.completed; once both
    categories' runs end, it delivers one forecasts.finished; each body's signature checks out."""
    worker = processes.worker("services.etl", settings)
    batch_num = upload(client, SALES).json["batch_num"]
    wait_until(lambda: client.get(f"/batches/{batch_num}").json["status"] == "completed", 120,
               lambda: f"batch {batch_num} to load\n{processes.report()}")
    receiver.wait_for(1, timeout_s=120)
    with engine.connect() as conn:
        run_ids = list(conn.scalars(select(ForecastRun.id).where(ForecastRun.batch_num == batch_num)))
    assert len(run_ids) == 2
    for run_id in run_ids:  # as a forecast worker would, with a quick model
        jobs.process_run(run_id, settings=settings, engine=engine, redis=real_redis,
                         models={ModelType.HOLT_WINTERS: constant(5)})
    received = receiver.wait_for(2, timeout_s=120)
    assert [json.loads(r.body)["event"] for r in received] == ["batch.completed", "forecasts.finished"]
    for request in received:
        assert request.headers["X-Castflow-Signature"] == \
            "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert json.loads(request.body)["batch_num"] == batch_num
    def listed() -> list[tuple[str, str, int]]:
        return [(d["event"], d["status"], d["attempts"]) for d in client.get("/webhook-deliveries").json["data"]]

    expected = [("forecasts.finished", "delivered", 1), ("batch.completed", "delivered", 1)]
    wait_until(lambda: listed() == expected, 60, lambda: f"both deliveries recorded as delivered: {listed()}")
    assert worker.alive
