"""API-key check: when API_KEY is set, every endpoint but the open ones needs X-API-Key.

API_KEY allows everything; READ_API_KEY (optional) allows only requests that change nothing (GET, HEAD,
OPTIONS). The key comes in header X-API-Key, or as `Authorization: Bearer <key>` (what Prometheus and
most scrapers and proxies can send). Both are compared in constant time, and both comparisons always
run, so the answer's timing says nothing about which key, or how much of one, was guessed.
"""

from __future__ import annotations

import hmac
from enum import StrEnum

from flask import request

from services.api.errors import error_response

#: Endpoints open without a key: the probes of a load balancer, the API's own description, and the web
#: app's own files (which hold no data; the app asks for the key and sends it with every API call).
OPEN_ENDPOINTS = frozenset({"health.health", "health.ready", "openapi.openapi", "frontend.index", "frontend.asset"})
#: The endpoint METRICS_PUBLIC opens without a key.
METRICS_ENDPOINT = "metrics.metrics"
#: Methods a read-only key may use: the ones that change nothing.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Access(StrEnum):
    """What a presented key allows."""

    FULL = "full"
    READ = "read"
    NONE = "none"


def key_access(given: str, api_key: str, read_api_key: str) -> Access:
    """Which of the configured keys `given` is (an empty configured key never matches)."""
    presented = given.encode()
    full = hmac.compare_digest(presented, api_key.encode())
    read = hmac.compare_digest(presented, read_api_key.encode())
    if full and api_key:
        return Access.FULL
    if read and read_api_key:
        return Access.READ
    return Access.NONE


def presented_key() -> str:
    """The key the request carries: header X-API-Key, else an `Authorization: Bearer` token, else ''."""
    given = request.headers.get("X-API-Key")
    if given is not None:
        return given
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def require_api_key():  # noqa: ANN201 - None or a response
    """401 without a valid key; 403 for a read-only key on a request that would change something."""
    from services.api import services

    settings = services().settings
    if not settings.api_key or request.endpoint in OPEN_ENDPOINTS:
        return None
    if settings.metrics_public and request.endpoint == METRICS_ENDPOINT:
        return None
    access = key_access(presented_key(), settings.api_key, settings.read_api_key)
    if access is Access.FULL or (access is Access.READ and request.method in READ_METHODS):
        return None
    if access is Access.READ:
        return error_response(403, "this key is read-only")
    return error_response(401, "missing or wrong X-API-Key header")
