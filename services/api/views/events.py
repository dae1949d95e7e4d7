"""A category's own events (promotions, closures, one-off days): read the list, replace it whole."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.api import events, forecasts, services
from services.api.cache import reads_changed
from services.api.errors import ApiError
from services.api.params import json_body, reject_unknown

blueprint = Blueprint("events", __name__)

#: Largest PUT body: room for MAX_EVENTS entries with long, escaped names.
MAX_EVENTS_BYTES = 512 * 1024


@blueprint.get("/categories/<path:name>/events")
def category_events(name: str):  # noqa: ANN201
    """The category's events, [{name, start, end, kind}] ordered by start."""
    reject_unknown(request.args, ())
    with services().sessions() as session:
        try:
            found = events.list_events(session, name)
        except forecasts.UnknownCategory:
            raise _unknown(name) from None
    return jsonify([event.as_json() for event in found])


@blueprint.put("/categories/<path:name>/events")
def save_category_events(name: str):  # noqa: ANN201
    """Replace the category's events with the body's list; when they changed, queue a refresh of its forecasts."""
    reject_unknown(request.args, ())
    body = json_body(request, "send a JSON array of events as the request body (an empty array clears them)",
                     max_bytes=MAX_EVENTS_BYTES)
    wanted = events.parse_events(body)
    deps = services()
    try:
        saved = events.replace_events(deps.sessions, name, wanted, deps.settings.forecast_horizon_days)
        refresh = forecasts.refresh_forecasts(deps.sessions, deps.redis, deps.settings, name) if saved.changed else None
    except forecasts.UnknownCategory:
        raise _unknown(name) from None
    if refresh is not None:
        reads_changed()  # /categories shows the category's latest run: now the new pending one
    return jsonify({"events": [event.as_json() for event in saved.events], **refresh_answer(refresh)})


def refresh_answer(refresh: forecasts.Refresh | None) -> dict[str, object]:
    """Whether a forecast refresh was queued after a save, its runs, and a message when none was."""
    if refresh is None:
        return {"refresh_queued": False, "runs": [], "message": "the events did not change; no refresh was needed"}
    answer: dict[str, object] = {"refresh_queued": refresh.queued, "runs": [r.run_id for r in refresh.runs]}
    if not refresh.queued:
        answer["message"] = "the refresh run is recorded but Redis is unavailable; the workers will queue it"
    return answer


def _unknown(name: str) -> ApiError:
    return ApiError(404, f"category {name[:100]!r} has no stored data")
