"""Operator metrics in Prometheus' text format."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app

from services.api import services
from services.api.metrics import CONTENT_TYPE, CastflowCollector, make_exposition

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics():  # noqa: ANN201
    """Requests, jobs, rows, queue depths, runs and accuracy for Prometheus; 404 when METRICS_ENABLED is off."""
    deps = services()
    if not deps.settings.metrics_enabled:
        abort(404)
    exposition = current_app.extensions.get("castflow.exposition")
    if exposition is None:
        collector = CastflowCollector(current_app.extensions["castflow.metrics"], deps.redis, deps.engine,
                                      deps.settings.queue_prefix)
        exposition = current_app.extensions.setdefault("castflow.exposition", make_exposition(collector))
    return Response(exposition(), mimetype=None, content_type=CONTENT_TYPE)
