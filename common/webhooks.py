"""Webhooks' shared vocabulary: the events, a delivery's statuses, which URLs are allowed, and the signature.

Everything here is pure: the settings check WEBHOOK_URL with `url_problem`, the API checks a category's
URL with it, and the delivery job signs with `signature`. Recording and sending live in services/hooks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
from enum import StrEnum
from urllib.parse import SplitResult, urlsplit

#: Header carrying `sha256=<hex>`: HMAC-SHA256 of the exact body bytes, keyed with WEBHOOK_SECRET.
SIGNATURE_HEADER = "X-Castflow-Signature"
#: Header carrying the delivery's id: the same on every attempt, so a receiver can drop repeats.
DELIVERY_HEADER = "X-Castflow-Delivery"
#: Header naming the event (the body's `event` too), for receivers that route before parsing.
EVENT_HEADER = "X-Castflow-Event"
#: Longest webhook URL accepted.
MAX_URL_LENGTH = 2000
#: Host names that always mean this machine.
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class WebhookEvent(StrEnum):
    """What a webhook announces; the value is the body's `event`."""

    #: A batch's ETL ended with its rows merged.
    BATCH_COMPLETED = "batch.completed"
    #: A batch's ETL ended without writing anything (a bad file, or it gave up).
    BATCH_FAILED = "batch.failed"
    #: Every forecast run a batch asked for has ended: its forecast_status is completed, partial or failed.
    FORECASTS_FINISHED = "forecasts.finished"
    #: A category's realised error passed its drift threshold (announced by the drift check).
    CATEGORY_DRIFTING = "category.drifting"


class DeliveryStatus(StrEnum):
    """Where one delivery (one event to one URL) is: pending -> delivered | retrying -> ... | failed."""

    #: Recorded, not tried yet.
    PENDING = "pending"
    #: An attempt failed for a transient reason (network, timeout, 5xx); another is scheduled.
    RETRYING = "retrying"
    #: The receiver answered 2xx.
    DELIVERED = "delivered"
    #: Given up: the receiver answered 3xx/4xx, the URL is not allowed, or every attempt failed.
    FAILED = "failed"

    @classmethod
    def ended(cls) -> tuple[DeliveryStatus, ...]:
        """Statuses a delivery never leaves."""
        return (cls.DELIVERED, cls.FAILED)


class Verdict(StrEnum):
    """What one attempt's answer means for the delivery."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give_up"


def verdict(status_code: int | None) -> Verdict:
    """2xx delivered; no answer (network error, timeout) or 5xx retried; anything else (3xx, 4xx) given up."""
    if status_code is None or status_code >= 500:
        return Verdict.RETRY
    return Verdict.DELIVERED if 200 <= status_code < 300 else Verdict.GIVE_UP


def signature(body: bytes, secret: str) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of `body` keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode_body(payload: dict[str, object]) -> str:
    """The body as sent: compact JSON with keys in the payload's order (stored, so every attempt sends it)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_time(moment: dt.datetime) -> str:
    """A naive UTC datetime as the body's ISO 8601 `time`, with a Z."""
    return moment.replace(microsecond=0).isoformat() + "Z"


def url_problem(url: str, *, allow_local: bool = False, own: tuple[str, int] | None = None) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can.

    Refused: anything but http(s), no host, a user name or password in it, a host that is this machine
    (loopback, link-local, unspecified; allowed by `allow_local`), and `own`, castflow's own (host, port).
    """
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password (the delivery list shows URLs)"
    host = parts.hostname.rstrip(".").lower()
    if own is not None and (host, _port(parts, port)) == (own[0].lower(), own[1]):
        return "points at castflow itself"
    if not allow_local and is_local_host(host):
        return ("points at this machine (loopback or link-local address); set WEBHOOK_ALLOW_LOCAL=1 to allow it, "
                "for development and tests only")
    return None


def _port(parts: SplitResult, port: int | None) -> int:
    return port if port is not None else (443 if parts.scheme == "https" else 80)


def is_local_host(host: str) -> bool:
    """True for a host name or literal address that means this machine or its link: never a webhook receiver."""
    host = host.strip("[]").rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return is_local_address(address)


def is_local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, link-local (cloud metadata endpoints live there) or unspecified, IPv4-mapped ones included."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_link_local or address.is_unspecified


def own_address(host_header: str, scheme: str) -> tuple[str, int]:
    """The (host, port) a request reached castflow at, from its Host header and scheme."""
    parts = urlsplit(f"{scheme}://{host_header}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return ((parts.hostname or "").rstrip("."), _port(parts, port))
