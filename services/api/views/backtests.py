"""Backtests: each model's forecasts on the held-back windows of a run, against the actuals."""

from __future__ import annotations

from flask import Blueprint, Response, request

from common.status import ModelType
from services.api import backtest_reads
from services.api.backtest_reads import BacktestFilter
from services.api.cache import cached_json
from services.api.errors import ApiError
from services.api.params import MAX_ID, get_choices, get_int, get_text, reject_unknown
from services.api.views.forecasts import ALL_MODELS

blueprint = Blueprint("backtests", __name__)


@blueprint.get("/forecast-backtests")
def forecast_backtests():  # noqa: ANN201
    """The held-back actuals and each model's backtest forecast per window, of the category's latest run (or run_id)."""
    args = request.args
    reject_unknown(args, ("category", "model_type", "run_id"))
    category = get_text(args, "category")
    if not category:
        raise ApiError(400, "category is required: backtests are read one category at a time")
    models = get_choices(args, "model_type", [*(m.value for m in ModelType), ALL_MODELS])
    if models is not None and ALL_MODELS in models:
        if len(models) > 1:
            raise ApiError(400, f"model_type={ALL_MODELS} means every model: name it alone")
        models = None
    where = BacktestFilter(category=category, model_types=models,
                           run_id=get_int(args, "run_id", None, minimum=1, maximum=MAX_ID))
    body = cached_json("/forecast-backtests", args.items(multi=True),
                       lambda conn: backtest_reads.run_backtests(conn, where), f"forecast run {where.run_id} not found")
    return Response(body, mimetype="application/json")
