"""The delivery job: POST one delivery's stored body, signed, and record the attempt.

`run_delivery(delivery_id)` is what RQ calls. Each run is one attempt: the attempt is counted before the
request goes out (a worker killed mid-request still used it), and recorded with its answer afterwards.
A transient failure (network error, timeout, 5xx) raises so that RQ's Retry runs the job again after
the next of WEBHOOK_RETRY_SECONDS' waits; a 3xx or 4xx answer, a URL that resolves to this machine, or
the last attempt marks the delivery failed and stops the retries. A delivery that already ended is left alone.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from rq import get_current_job
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.pool import NullPool

from common.config import Settings, load_settings
from common.db import make_engine, utcnow
from common.models import WebhookAttempt, WebhookDelivery
from common.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    DeliveryStatus,
    Verdict,
    is_local_address,
    signature,
    verdict,
)

logger = logging.getLogger(__name__)

#: Longest error text kept per attempt.
MAX_ERROR_CHARS = 500
#: Most bytes of a receiver's answer read (and thrown away): enough to end the exchange politely.
MAX_ANSWER_BYTES = 64 * 1024


class DeliveryFailed(Exception):
    """An attempt failed; `final` when no retry should follow."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class Claim:
    """A delivery this job is attempting."""

    id: int
    delivery_id: str
    event: str
    url: str
    body: bytes
    attempt: int


@dataclass(frozen=True)
class Answer:
    """How one attempt went: the HTTP status, or why there was none; `refused` when castflow would not send."""

    status_code: int | None
    error: str | None = None
    refused: bool = False


Sender = Callable[[Claim, Settings], Answer]


def run_delivery(delivery_id: int) -> str:
    """RQ entry point: attempt one delivery with settings from the environment."""
    settings = load_settings()
    engine = make_engine(settings.database_url, poolclass=NullPool)
    job = get_current_job()
    try:
        return deliver(delivery_id, settings=settings, engine=engine) or "skipped"
    except DeliveryFailed as exc:
        if exc.final and job is not None:
            job.retries_left = 0  # given up: the failure is recorded, a retry would only skip
        raise
    finally:
        engine.dispose()


def deliver(delivery_id: int, *, settings: Settings, engine: Engine, send: Sender | None = None) -> str | None:
    """Attempt the delivery; its status, or None when it had already ended. Raises DeliveryFailed after recording."""
    claim = claim_delivery(engine, delivery_id)
    if claim is None:
        return None
    started, at = time.monotonic(), utcnow()
    answer = (send or post)(claim, settings)
    outcome = Verdict.GIVE_UP if answer.refused else verdict(answer.status_code)
    status = _status(outcome, claim.attempt >= settings.webhook_max_attempts)
    record_attempt(engine, claim, answer, status, at, int((time.monotonic() - started) * 1000))
    logger.info("webhook delivery=%s event=%s attempt=%d code=%s status=%s", delivery_id, claim.event,
                claim.attempt, answer.status_code, status)
    if status == DeliveryStatus.DELIVERED:
        return status
    raise DeliveryFailed(f"delivery {delivery_id} attempt {claim.attempt}: "
                         f"{answer.status_code or answer.error}", final=status == DeliveryStatus.FAILED)


def _status(outcome: Verdict, last: bool) -> DeliveryStatus:
    if outcome is Verdict.DELIVERED:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.RETRYING if outcome is Verdict.RETRY and not last else DeliveryStatus.FAILED


def claim_delivery(engine: Engine, delivery_id: int) -> Claim | None:
    """Count an attempt of a delivery that has not ended; None when it has."""
    with engine.begin() as conn:
        taken = conn.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status.not_in(DeliveryStatus.ended()))
            .values(attempts=WebhookDelivery.attempts + 1)).rowcount
        if not taken:
            return None
        row = conn.execute(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)).one()
    return Claim(row.id, row.delivery_id, row.event, row.url, row.body.encode(), row.attempts)


def record_attempt(engine: Engine, claim: Claim, answer: Answer, status: DeliveryStatus, at: object,
                   duration_ms: int) -> None:
    """Store the attempt and the delivery's new status in one transaction."""
    with engine.begin() as conn:
        conn.execute(insert(WebhookAttempt).values(
            delivery_id=claim.id, attempt=claim.attempt, attempted_at=at, status_code=answer.status_code,
            error=(answer.error or None) and answer.error[:MAX_ERROR_CHARS], duration_ms=duration_ms))
        ended = status in DeliveryStatus.ended()
        conn.execute(update(WebhookDelivery).where(WebhookDelivery.id == claim.id).values(
            status=status, finished_at=utcnow() if ended else None))


def post(claim: Claim, settings: Settings) -> Answer:
    """POST the claim's body, signed, without following redirects; the answer's status or the error."""
    refused = local_target(claim.url) if not settings.webhook_allow_local else None
    if refused:
        return Answer(None, refused, refused=True)
    request = urllib.request.Request(claim.url, data=claim.body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "castflow-webhooks/1",
        EVENT_HEADER: claim.event, DELIVERY_HEADER: claim.delivery_id,
        SIGNATURE_HEADER: signature(claim.body, settings.webhook_secret),
    })
    try:
        with _OPENER.open(request, timeout=settings.webhook_timeout_seconds) as response:
            response.read(MAX_ANSWER_BYTES)
            return Answer(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Answer(exc.code)
    except (OSError, ValueError) as exc:  # refused, reset, DNS, TLS, timeouts (socket.timeout is an OSError)
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Answer(None, f"{type(reason).__name__}: {reason}"[:MAX_ERROR_CHARS])


def local_target(url: str) -> str | None:
    """Why `url`'s host may not be called (it resolves to this machine or its link), or None."""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except OSError:
        return None  # the request itself will fail, and be retried, with the resolver's error
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if is_local_address(address):
            return f"refused: {parts.hostname} resolves to {address}, a loopback or link-local address"
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is the answer: following it could lead a signed body anywhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:  # noqa: D102
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())
