"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, jsonify

from common.db import ping
from services.api import services
from services.api.errors import error_response

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health():  # noqa: ANN201
    """200 while the process is up."""
    return jsonify({"status": "ok"})


@blueprint.get("/ready")
def ready():  # noqa: ANN201
    """200 only when the database, Redis and the upload store answer; 503 naming what does not."""
    deps = services()
    problems = {}
    try:
        ping(deps.engine)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        problems["database"] = type(exc).__name__
    if deps.read_engine is not deps.engine:
        try:
            ping(deps.read_engine)
        except Exception as exc:  # noqa: BLE001
            problems["read_replica"] = type(exc).__name__
    try:
        deps.redis.ping()
    except Exception as exc:  # noqa: BLE001
        problems["redis"] = type(exc).__name__
    try:
        deps.store.check()
    except OSError as exc:  # StoreUnavailable says why; its reason holds no secret
        problems["upload_store"] = str(exc)
    if problems:
        return error_response(503, "not ready: " + ", ".join(f"{k} unavailable" for k in problems), **problems)
    return jsonify({"status": "ready"})
