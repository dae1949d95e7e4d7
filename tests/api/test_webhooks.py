"""Webhooks through the API: a category's URL, the deliveries list, and the events an upload and its forecasts send."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from common.config import Settings, settings_env
from common.models import ForecastRun
from common.queue import WEBHOOK_QUEUE, queue
from common.status import ModelType
from services.api import create_app
from services.forecast import jobs
from tests.etl.test_jobs import load
from tests.forecast.test_backtest import constant
from tests.hooks.conftest import SECRET

SALES = "Date,product_id,category,sales\n" + "".join(
    f"2024-01-{d:02d},p1,{c},{d}\n" for d in range(1, 29) for c in ("north", "south"))


@pytest.fixture
def settings(settings: Settings, receiver, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Signed deliveries to the receiver's /all as WEBHOOK_URL, retried at once; the jobs read the same env."""
    changed = dataclasses.replace(settings, webhook_url=receiver.url.replace("/hook", "/all"), webhook_secret=SECRET,
                                  webhook_allow_local=True, webhook_retry_seconds=0, webhook_timeout_seconds=2.0)
    for name, value in settings_env(changed).items():
        monkeypatch.setenv(name, value)
    return changed


@pytest.fixture
def stored(client, drain, redis) -> dict:
    """Two categories loaded; the webhook jobs of that load are dropped so each test starts with none queued."""
    batch = load(client, drain, SALES)
    queue(redis, WEBHOOK_QUEUE).empty()
    return batch


def forecast_all(engine, settings, redis) -> None:
    """Run every pending forecast run with a quick fake model, the way the worker would."""
    with engine.connect() as conn:
        run_ids = list(conn.scalars(select(ForecastRun.id).where(ForecastRun.status == "pending")))
    for run_id in run_ids:
        jobs.process_run(run_id, settings=settings, engine=engine, redis=redis,
                         models={ModelType.HOLT_WINTERS: constant(5)})


def test_a_category_webhook_is_set_read_and_removed(client, stored):
    """PUT stores the URL, GET shows it, PUT null removes it."""
    url = "https://hooks.example.com/north"
    assert client.put("/categories/north/webhook", json={"url": url}).json == {"category": "north", "url": url}
    assert client.get("/categories/north/webhook").json == {"category": "north", "url": url}
    assert client.get("/categories/south/webhook").json["url"] is None
    assert client.put("/categories/north/webhook", json={"url": None}).json["url"] is None
    assert client.get("/categories/north/webhook").json["url"] is None


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://hooks.example.com/x", "url must be an http:// or https:// URL"),
    ("https://", "url has no host"),
    ("http://localhost/hook", "url points at castflow itself"),
    ("https://u:p@hooks.example.com/", "url must not hold a user name or password"),
    ("", "url must not be empty"),
    (5, "url must be a string or null"),
])
def test_a_bad_url_is_a_400_naming_the_problem_and_nothing_is_saved(client, stored, url, problem):
    """The 400 names what is wrong with the URL; the category keeps the URL it had."""
    client.put("/categories/north/webhook", json={"url": "https://hooks.example.com/kept"})
    response = client.put("/categories/north/webhook", json={"url": url})
    assert response.status_code == 400 and problem in response.json["error"]
    assert client.get("/categories/north/webhook").json["url"] == "https://hooks.example.com/kept"


def test_a_loopback_url_is_refused_without_the_setting(settings, engine, redis, stored):
    """With WEBHOOK_ALLOW_LOCAL off, a URL on 127.0.0.1 is a 400 that names the setting."""
    strict = create_app(dataclasses.replace(settings, webhook_allow_local=False, webhook_url=""), engine=engine,
                        redis=redis).test_client()
    response = strict.put("/categories/north/webhook", json={"url": "http://127.0.0.1:9999/hook"})
    assert response.status_code == 400 and "WEBHOOK_ALLOW_LOCAL" in response.json["error"]


def test_a_url_without_a_secret_to_sign_with_is_a_409(settings, engine, redis, stored):
    """Without WEBHOOK_SECRET nothing could be signed: 409, nothing stored."""
    unsigned = create_app(dataclasses.replace(settings, webhook_secret="", webhook_url=""), engine=engine,
                          redis=redis).test_client()
    response = unsigned.put("/categories/north/webhook", json={"url": "https://hooks.example.com/x"})
    assert response.status_code == 409 and "WEBHOOK_SECRET" in response.json["error"]
    assert unsigned.get("/categories/north/webhook").json["url"] is None


def test_an_unknown_category_is_a_404(client, stored):
    """A category with no stored data has no webhook to read or set."""
    assert client.get("/categories/west/webhook").status_code == 404
    assert client.put("/categories/west/webhook", json={"url": "https://hooks.example.com/x"}).status_code == 404


def test_the_read_only_key_may_read_but_not_set_a_webhook(settings, engine, redis, stored):
    """READ_API_KEY gets the URL; a PUT with it is 403 and stores nothing."""
    keyed = create_app(dataclasses.replace(settings, api_key="full-key-12345678", read_api_key="read-key-12345678"),
                       engine=engine, redis=redis).test_client()
    read = {"X-API-Key": "read-key-12345678"}
    response = keyed.put("/categories/north/webhook", json={"url": "https://hooks.example.com/x"}, headers=read)
    assert response.status_code == 403
    assert keyed.get("/categories/north/webhook", headers=read).json["url"] is None
    assert keyed.get("/webhook-deliveries", headers=read).status_code == 200


def test_an_upload_and_its_forecasts_reach_the_receivers_signed(client, drain, engine, redis, settings,
                                                                receiver, deliver_all):
    """batch.completed goes to WEBHOOK_URL and the category's URL; forecasts.finished once each, not per run."""
    load(client, drain, SALES)
    forecast_all(engine, settings, redis)
    deliver_all()
    first = [json.loads(r.body)["event"] for r in receiver.wait_for(2)]
    assert first == ["batch.completed", "forecasts.finished"]  # to WEBHOOK_URL only: no category URL yet
    client.put("/categories/north/webhook", json={"url": receiver.url.replace("/hook", "/north")})
    batch = load(client, drain, SALES.replace("2024-01-", "2024-02-"))
    deliver_all()
    completed = receiver.wait_for(4)[2:]
    assert sorted(r.path for r in completed) == ["/all", "/north"]
    for request in completed:
        body = json.loads(request.body)
        assert body["event"] == "batch.completed" and body["batch_num"] == batch["batch_num"]
        assert body["categories"] == ["north", "south"] and body["counts"]["inserted"] == 56
        assert body["status"] == "completed" and body["link"] == f"/batches/{batch['batch_num']}"
        assert request.headers["X-Castflow-Signature"] == \
            "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    forecast_all(engine, settings, redis)
    deliver_all()
    finished = receiver.wait_for(6)[4:]
    assert sorted(r.path for r in finished) == ["/all", "/north"]
    body = json.loads(finished[0].body)
    assert body["event"] == "forecasts.finished" and body["status"] == "completed"
    assert body["counts"] == {"runs": 2, "completed": 2, "failed": 0}
    assert len(receiver.received) == 6


def test_a_failed_batch_is_announced_with_its_reason(client, drain, receiver, deliver_all):
    """A file whose rows are all rejected fails its batch, and batch.failed carries the reason."""
    batch = load(client, drain, "Date,product_id,category,sales\n2024-13-45,p,north,1\n")
    assert batch["status"] == "failed"
    deliver_all()
    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["event"] == "batch.failed" and body["status"] == "failed" and body["categories"] == []
    assert body["error"] and body["batch_num"] == batch["batch_num"]


def test_deliveries_are_listed_newest_first_filtered_and_paginated(client, drain, engine, redis,
                                                                   settings, receiver, deliver_all):
    """GET /webhook-deliveries pages through every delivery with its attempts; the filters narrow it."""
    load(client, drain, SALES)
    forecast_all(engine, settings, redis)
    deliver_all()
    page = client.get("/webhook-deliveries?limit=1").json
    assert page["pagination"] == {"page": 1, "limit": 1, "total_items": 2, "total_pages": 2}
    newest = page["data"][0]
    assert newest["event"] == "forecasts.finished" and newest["status"] == "delivered"
    assert newest["payload"]["event"] == "forecasts.finished" and newest["category"] is None
    assert [(a["attempt"], a["status_code"], a["error"]) for a in newest["attempt_log"]] == [(1, 200, None)]
    older = client.get("/webhook-deliveries?limit=1&page=2").json["data"][0]
    assert older["event"] == "batch.completed" and older["id"] < newest["id"]
    only = client.get("/webhook-deliveries?event=batch.completed&status=delivered").json
    assert [d["id"] for d in only["data"]] == [older["id"]]
    assert client.get("/webhook-deliveries?category=north").json["pagination"]["total_items"] == 0
    assert client.get("/webhook-deliveries?status=retrying").json["data"] == []


@pytest.mark.parametrize("query", ["status=lost", "event=batch.done", "page=0", "limit=1001", "batch_num=x",
                                   "colour=red"])
def test_bad_delivery_filters_are_a_400(client, query):
    """An unknown status or event, a page or limit out of range, or an unknown parameter: 400."""
    response = client.get(f"/webhook-deliveries?{query}")
    assert response.status_code == 400 and response.json["error"]
