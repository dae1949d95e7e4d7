"""Webhooks: a category's own URL (GET/PUT /categories/<name>/webhook) and GET /webhook-deliveries."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from common.webhooks import MAX_URL_LENGTH, DeliveryStatus, WebhookEvent, own_address, url_problem
from services.api import forecasts, services, webhooks
from services.api.errors import ApiError
from services.api.params import MAX_ID, body_text, get_choice, get_int, get_text, json_object, reject_unknown
from services.api.replica import read_session

blueprint = Blueprint("webhooks", __name__)

MAX_LIMIT = 1000


@blueprint.get("/categories/<path:name>/webhook")
def category_webhook(name: str):  # noqa: ANN201
    """The category's own webhook URL, null when its events go to WEBHOOK_URL only."""
    reject_unknown(request.args, ())
    with services().sessions() as session:
        try:
            url = webhooks.category_webhook(session, name)
        except forecasts.UnknownCategory:
            raise _unknown(name) from None
    return jsonify({"category": name, "url": url})


@blueprint.put("/categories/<path:name>/webhook")
def save_category_webhook(name: str):  # noqa: ANN201
    """Set the category's webhook URL ({"url": "https://..."}), or remove it ({"url": null})."""
    reject_unknown(request.args, ())
    url = body_text(json_object(request, required=("url",)), "url", max_length=MAX_URL_LENGTH, nullable=True)
    settings = services().settings
    if url is not None:
        problem = url_problem(url, allow_local=settings.webhook_allow_local,
                              own=own_address(request.host, request.scheme))
        if problem:
            raise ApiError(400, f"url {problem}")
        if not settings.webhook_secret:
            raise ApiError(409, "WEBHOOK_SECRET is not set, so deliveries could not be signed; "
                                "the operator must set it before webhook URLs are used")
    try:
        saved = webhooks.save_category_webhook(services().sessions, name, url)
    except forecasts.UnknownCategory:
        raise _unknown(name) from None
    return jsonify({"category": name, "url": saved})


@blueprint.get("/webhook-deliveries")
def webhook_deliveries():  # noqa: ANN201
    """A page of webhook deliveries, newest first, each with its body and attempts."""
    args = request.args
    reject_unknown(args, ("category", "event", "status", "batch_num", "page", "limit"))
    where = webhooks.DeliveryFilter(
        category=get_text(args, "category"),
        event=get_choice(args, "event", [e.value for e in WebhookEvent]),
        status=get_choice(args, "status", [s.value for s in DeliveryStatus]),
        batch_num=get_int(args, "batch_num", None, minimum=1, maximum=MAX_ID),
    )
    page = get_int(args, "page", 1, minimum=1, maximum=10_000_000)
    limit = get_int(args, "limit", 50, minimum=1, maximum=MAX_LIMIT)
    with read_session() as session:
        data, total = webhooks.delivery_page(session, where, page=page, limit=limit)
    return jsonify({"data": data, "pagination": {"page": page, "limit": limit, "total_items": total,
                                                 "total_pages": (total + limit - 1) // limit}})


def _unknown(name: str) -> ApiError:
    return ApiError(404, f"category {name[:100]!r} has no stored data")
