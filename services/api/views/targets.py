"""A category's monthly targets: read the set, replace it whole (the monthly views show the gap to them)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.api import forecasts, services, targets
from services.api.cache import reads_changed
from services.api.errors import ApiError
from services.api.params import json_body, reject_unknown

blueprint = Blueprint("targets", __name__)

#: Largest PUT body: room for MAX_TARGETS months with long numbers.
MAX_TARGETS_BYTES = 64 * 1024


@blueprint.get("/categories/<path:name>/targets")
def category_targets(name: str):  # noqa: ANN201
    """The category's monthly targets, {"YYYY-MM": target} in month order."""
    reject_unknown(request.args, ())
    with services().sessions() as session:
        try:
            found = targets.list_targets(session, name)
        except forecasts.UnknownCategory:
            raise _unknown(name) from None
    return jsonify(targets.as_json(found))


@blueprint.put("/categories/<path:name>/targets")
def save_category_targets(name: str):  # noqa: ANN201
    """Replace the category's monthly targets with the body's {"YYYY-MM": target} ({} clears them)."""
    reject_unknown(request.args, ())
    body = json_body(request, 'send a JSON object of month -> target as the request body, e.g. {"2026-03": 35000} '
                              "(an empty object clears them)", max_bytes=MAX_TARGETS_BYTES)
    wanted = targets.parse_targets(body)
    try:
        saved = targets.replace_targets(services().sessions, name, wanted)
    except forecasts.UnknownCategory:
        raise _unknown(name) from None
    reads_changed()  # the monthly views show the targets and the gap to them
    return jsonify(targets.as_json(saved))


def _unknown(name: str) -> ApiError:
    return ApiError(404, f"category {name[:100]!r} has no stored data")
