"""GET /categories: what is stored per category."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.api import reads, services
from services.api.params import reject_unknown
from services.api.serialize import jsonable

blueprint = Blueprint("categories", __name__)


@blueprint.get("/categories")
def categories():  # noqa: ANN201
    """Each category with its product count, date range, row count and best model (once forecast)."""
    reject_unknown(request.args, ())
    with services().sessions() as session:
        rows = reads.category_summaries(session)
    return jsonify([{**{k: jsonable(v) for k, v in row.items()}, "best_model": None} for row in rows])
