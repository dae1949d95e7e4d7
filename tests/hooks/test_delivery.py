"""Delivering a webhook: signed over the exact body, retried on 5xx, timeouts and network errors, never on 4xx."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import socket

import pytest
from rq import Queue
from sqlalchemy import select

from common.models import WebhookAttempt, WebhookDelivery
from common.queue import WEBHOOK_QUEUE, webhook_job_id
from common.reconcile import reconcile
from common.webhooks import WebhookEvent
from services.hooks import deliver
from services.hooks.events import Announcement
from services.hooks.notify import notify
from tests.hooks.conftest import SECRET
from tests.hooks.receiver import HANG, running_receiver

pytestmark = pytest.mark.usefixtures("schema")

PAYLOAD = {"event": "batch.completed", "time": "2024-01-02T03:04:05Z", "batch_num": 7, "note": "café ✓"}


def announce(engine, redis, settings, url: str, subject: str = "batch 7") -> list[int]:
    """Announce a batch.completed of batch 7 to `url` (as WEBHOOK_URL)."""
    announcement = Announcement(WebhookEvent.BATCH_COMPLETED, subject, PAYLOAD, batch_num=7)
    return notify(engine, redis, dataclasses.replace(settings, webhook_url=url), announcement)


def delivery(engine, delivery_id: int) -> tuple[str, list[tuple[int | None, str | None]]]:
    """The delivery's status and its attempts as (status_code, error)."""
    with engine.connect() as conn:
        status = conn.scalar(select(WebhookDelivery.status).where(WebhookDelivery.id == delivery_id))
        attempts = conn.execute(select(WebhookAttempt.status_code, WebhookAttempt.error)
                                .where(WebhookAttempt.delivery_id == delivery_id)
                                .order_by(WebhookAttempt.attempt)).all()
    return status, [tuple(a) for a in attempts]


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def test_the_signature_is_the_hmac_of_the_exact_body(engine, redis, settings, receiver, deliver_all):
    """The receiver recomputes HMAC-SHA256 of the bytes it got with the shared secret and finds the header's value."""
    [delivery_id] = announce(engine, redis, settings, receiver.url)
    deliver_all()
    [got] = receiver.wait_for(1)
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Castflow-Signature"] == expected
    assert json.loads(got.body) == PAYLOAD
    assert got.headers["Content-Type"] == "application/json" and got.headers["X-Castflow-Event"] == "batch.completed"
    with engine.connect() as conn:
        uuid = conn.scalar(select(WebhookDelivery.delivery_id).where(WebhookDelivery.id == delivery_id))
    assert got.headers["X-Castflow-Delivery"] == uuid
    assert delivery(engine, delivery_id) == ("delivered", [(200, None)])


def test_a_500_is_retried_with_the_same_body_and_id_then_delivered(engine, redis, settings, deliver_all):
    """A 500 answer schedules another attempt, which sends the same bytes and delivery id and succeeds."""
    with running_receiver(500) as receiver:
        [delivery_id] = announce(engine, redis, settings, receiver.url)
        deliver_all()
        first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["X-Castflow-Delivery"] == second.headers["X-Castflow-Delivery"]
    assert delivery(engine, delivery_id) == ("delivered", [(500, None), (200, None)])


def test_a_400_is_not_retried(engine, redis, settings, deliver_all):
    """A 4xx answer fails the delivery at once: one request, status failed, the job not rescheduled."""
    with running_receiver(400) as receiver:
        [delivery_id] = announce(engine, redis, settings, receiver.url)
        deliver_all()
        assert len(receiver.wait_for(1)) == 1
    assert delivery(engine, delivery_id) == ("failed", [(400, None)])
    q = Queue(WEBHOOK_QUEUE, connection=redis)
    assert q.count == 0 and q.scheduled_job_registry.count == 0
    assert webhook_job_id(delivery_id) in q.failed_job_registry.get_job_ids()


def test_a_timeout_is_retried(engine, redis, settings, deliver_all):
    """A receiver that does not answer within WEBHOOK_TIMEOUT_SECONDS costs one attempt; the next one delivers."""
    with running_receiver(HANG) as receiver:
        [delivery_id] = announce(engine, redis, settings, receiver.url)
        deliver_all()
        assert len(receiver.wait_for(2)) == 2
    status, attempts = delivery(engine, delivery_id)
    assert status == "delivered" and attempts[1] == (200, None)
    assert attempts[0][0] is None and "timed out" in attempts[0][1]


def test_every_attempt_failing_ends_failed_after_the_last(engine, redis, settings, deliver_all):
    """Three 503 answers with WEBHOOK_MAX_ATTEMPTS=3: three requests, then the delivery is failed."""
    with running_receiver(503, 503, 503, 503) as receiver:
        [delivery_id] = announce(engine, redis, settings, receiver.url)
        deliver_all()
        assert len(receiver.wait_for(3)) == 3
    assert delivery(engine, delivery_id) == ("failed", [(503, None)] * 3)


def test_a_refused_connection_is_retried_and_recorded(engine, redis, settings, deliver_all):
    """Nothing listening: each attempt records the network error, and the delivery fails after the last."""
    [delivery_id] = announce(engine, redis, settings, closed_port_url())
    deliver_all()
    status, attempts = delivery(engine, delivery_id)
    assert status == "failed" and len(attempts) == 3
    assert all(code is None and "Connection refused" in error for code, error in attempts)


def test_a_url_on_this_machine_is_refused_at_send_time(engine, redis, settings, receiver, deliver_all, monkeypatch):
    """Without WEBHOOK_ALLOW_LOCAL, a recorded URL that resolves to loopback is never called, and not retried."""
    monkeypatch.setenv("WEBHOOK_ALLOW_LOCAL", "0")
    [delivery_id] = announce(engine, redis, settings, receiver.url)
    deliver_all()
    status, [(code, error)] = delivery(engine, delivery_id)
    assert status == "failed" and code is None and "loopback" in error
    assert receiver.received == []


def test_announcing_the_same_event_twice_delivers_once(engine, redis, settings, receiver, deliver_all):
    """A job that ends twice (run again by RQ) records no second delivery for the same event, subject and URL."""
    assert len(announce(engine, redis, settings, receiver.url)) == 1
    assert announce(engine, redis, settings, receiver.url) == []
    deliver_all()
    assert len(receiver.wait_for(1)) == 1


def test_a_delivery_that_ended_is_left_alone(engine, redis, settings, receiver, deliver_all):
    """Running the job of a delivered delivery again sends nothing."""
    [delivery_id] = announce(engine, redis, settings, receiver.url)
    deliver_all()
    assert deliver.deliver(delivery_id, settings=settings, engine=engine) is None
    assert len(receiver.received) == 1


def test_reconcile_queues_a_delivery_whose_job_was_never_queued(engine, redis, settings, receiver, deliver_all):
    """Recorded while Redis was away (no job), the delivery is queued by the reconcile step and then sent."""
    [delivery_id] = announce(engine, None, settings, receiver.url)
    assert reconcile(engine, redis, settings)["webhook_deliveries"] == 1
    assert reconcile(engine, redis, settings)["webhook_deliveries"] == 0  # queued now: not twice
    deliver_all()
    assert delivery(engine, delivery_id)[0] == "delivered"


def test_retry_waits_grow_fourfold(settings):
    """WEBHOOK_RETRY_SECONDS=30 with 5 attempts waits 30 s, 2 min, 8 min and 32 min between them."""
    assert dataclasses.replace(settings, webhook_retry_seconds=30, webhook_max_attempts=5) \
        .webhook_retry_intervals() == [30, 120, 480, 1920]


def test_a_drifting_category_is_announced_to_its_own_url(engine, redis, settings, receiver, deliver_all):
    """category.drifting (fired by the drift check) goes to WEBHOOK_URL and the category's URL, with its numbers."""
    from common.db import utcnow
    from common.models import CategoryWebhook
    from services.hooks.events import category_drifting

    with engine.begin() as conn:
        conn.execute(CategoryWebhook.__table__.insert().values(category="north", url=receiver.url + "/north",
                                                               updated_at=utcnow()))
    announcement = category_drifting("north", 41, "realised MASE 2.4 is over 1.5", {"realised_mase": 2.4})
    assert len(notify(engine, redis, dataclasses.replace(settings, webhook_url=receiver.url), announcement)) == 2
    deliver_all()
    received = receiver.wait_for(2)
    assert sorted(r.path for r in received) == ["/hook", "/hook/north"]
    body = json.loads(received[0].body)
    assert body["event"] == "category.drifting" and body["category"] == "north" and body["run_id"] == 41
    assert body["counts"] == {"realised_mase": 2.4} and body["link"] == "/forecast-metrics?category=north"
