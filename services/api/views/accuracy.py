"""Realised accuracy: how past forecasts did against the actuals that arrived after them."""

from __future__ import annotations

from flask import Blueprint, Response, request

from common.status import ModelType
from services.api import accuracy_reads
from services.api.accuracy_reads import AccuracyFilter, GroupBy
from services.api.cache import cached_json
from services.api.errors import ApiError
from services.api.params import MAX_ID, date_range, get_choice, get_choices, get_int, get_text, reject_unknown

blueprint = Blueprint("accuracy", __name__)

#: The /accuracy query parameters.
PARAMETERS = ("category", "product_id", "model_type", "run_id", "start_date", "end_date", "group_by")


@blueprint.get("/accuracy")
def realised_accuracy():  # noqa: ANN201
    """n, MAE, MASE, bias and interval coverage of the scored forecasts, per group (days ahead, run, date) and model."""
    args = request.args
    reject_unknown(args, PARAMETERS)
    start, end = date_range(args)
    if "product_id" in args and "category" not in args:
        raise ApiError(400, "product_id needs category: a product is named within its category")
    where = AccuracyFilter(
        category=get_text(args, "category"), product_id=get_text(args, "product_id"),
        model_types=get_choices(args, "model_type", [m.value for m in ModelType]),
        run_id=get_int(args, "run_id", None, minimum=1, maximum=MAX_ID), start=start, end=end,
        group_by=GroupBy(get_choice(args, "group_by", [g.value for g in GroupBy], GroupBy.DAYS_AHEAD.value)))
    body = cached_json("/accuracy", args.items(multi=True), lambda conn: accuracy_reads.accuracy(conn, where), "")
    return Response(body, mimetype="application/json")
