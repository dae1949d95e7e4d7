"""API-key check: when API_KEY is set, every endpoint but /health, /ready and /openapi.json needs X-API-Key."""

from __future__ import annotations

import hmac

from flask import request

from services.api.errors import error_response

#: Endpoints open without a key: the probes of a load balancer, the API's own description, and the web
#: app's own files (which hold no data; the app asks for the key and sends it with every API call).
OPEN_ENDPOINTS = frozenset({"health.health", "health.ready", "openapi.openapi", "frontend.index", "frontend.asset"})


def require_api_key():  # noqa: ANN201 - None or a response
    """Answer 401 unless the request carries the configured key (compared in constant time)."""
    from services.api import services

    expected = services().settings.api_key
    if not expected or request.endpoint in OPEN_ENDPOINTS:
        return None
    given = request.headers.get("X-API-Key", "")
    if hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return error_response(401, "missing or wrong X-API-Key header")
