"""A category's seasonality: its day-of-week profile and month-of-year factors."""

from __future__ import annotations

from flask import Blueprint, Response, request

from services.api import seasonality
from services.api.cache import cached_json
from services.api.params import reject_unknown

blueprint = Blueprint("seasonality", __name__)


@blueprint.get("/categories/<path:name>/seasonality")
def category_seasonality(name: str):  # noqa: ANN201
    """The weekday profile and month factors of the category's stored history (each null with a reason)."""
    reject_unknown(request.args, ())
    body = cached_json("/categories/seasonality", (("name", name),),
                       lambda conn: seasonality.category_seasonality(conn, name),
                       f"category {name[:100]!r} has no stored data")
    return Response(body, mimetype="application/json")
