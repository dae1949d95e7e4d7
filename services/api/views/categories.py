"""Categories: what is stored and forecast per category, and each category's forecast settings."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict
from functools import partial

from flask import Blueprint, Response, current_app, jsonify, request

from common.config import supported_countries
from common.grain import Grain
from services.api import forecast_reads, forecasts, grains, period_reads, periods, product_reads, services
from services.api.cache import reads_changed, response_cache
from services.api.errors import ApiError
from services.api.grains import KEEP
from services.api.params import (
    body_text,
    date_range,
    get_choice,
    get_grain,
    get_int,
    get_text,
    json_object,
    reject_unknown,
)
from services.api.replica import read_session
from services.api.serialize import jsonable
from services.api.views.events import refresh_answer

blueprint = Blueprint("categories", __name__)


@blueprint.get("/categories")
def categories():  # noqa: ANN201
    """Each category's stored data, best model, holiday calendar and latest forecast run."""
    reject_unknown(request.args, ())
    body = response_cache().body("/categories", (), _overview)
    return Response(body, mimetype="application/json")


def _overview() -> bytes:
    deps = services()
    with deps.engine.connect() as conn:
        rows = forecast_reads.category_overview(conn, forecasts.default_holiday_country(deps.settings),
                                                filled=reads_changed)
    return current_app.json.dumps(rows).encode()  # JSON-ready already: the database wrote each row as JSON


@blueprint.get("/categories/<path:name>/history")
def category_history(name: str):  # noqa: ANN201
    """The category's daily sales totals, [{date, sales}] by day; optional start_date/end_date (inclusive).

    With grain=week|month: [{date, sales, days, days_in_period}] per period, `days` the stored days it holds.
    """
    reject_unknown(request.args, ("start_date", "end_date", "grain"))
    start, end = date_range(request.args)
    grain = get_grain(request.args)
    if grain is not Grain.DAY:
        return jsonify(_history_periods(name, grain, start, end))
    with read_session() as session:
        if not forecast_reads.category_exists(session, name):
            raise _unknown(name)
        days = forecast_reads.category_history(session, name, start, end)
    return jsonify([{"date": day.isoformat(), "sales": sales} for day, sales in days])


def _history_periods(name: str, grain: Grain, start: dt.date | None, end: dt.date | None) -> list[dict[str, object]]:
    with read_session() as session:
        try:
            found = period_reads.history_periods(session, name, grain, start, end)
        except periods.FinerThanSource as exc:
            raise ApiError(400, f"category {name[:100]!r}: {exc}") from None
    if found is None:
        raise _unknown(name)
    return found


#: Most products one page of /categories/<name>/products holds.
MAX_PRODUCTS_LIMIT = 1000


@blueprint.get("/categories/<path:name>/products")
def category_products(name: str):  # noqa: ANN201
    """A page of the products of the category's latest run with completed products: method, errors, volume."""
    args = request.args
    reject_unknown(args, ("search", "sort", "order", "page", "limit"))
    sort = get_choice(args, "sort", product_reads.PRODUCT_SORTS, default="volume")
    order = get_choice(args, "order", ["asc", "desc"], default="desc" if sort == "volume" else "asc")
    ask = product_reads.ProductQuery(
        search=get_text(args, "search"), sort=sort, descending=order == "desc",
        page=get_int(args, "page", 1, minimum=1, maximum=10_000_000),
        limit=get_int(args, "limit", 50, minimum=1, maximum=MAX_PRODUCTS_LIMIT))
    body = response_cache().body("/categories/products", [("name", name), *args.items(multi=True)],
                                 partial(_products, name, ask))
    return Response(body, mimetype="application/json")


def _products(name: str, ask: product_reads.ProductQuery) -> bytes:
    with services().engine.connect() as conn:
        run = product_reads.product_run(conn, name)
        if run is None:
            if not forecast_reads.category_exists(conn, name):
                raise _unknown(name)
            raise ApiError(404, f"category {name[:100]!r} has no completed product forecast: its runs forecast the "
                                "category only, or their products are not finished yet")
        rows, total = product_reads.product_page(conn, run.run_id, ask)
    answer = {**asdict(run), "data": rows,
              "pagination": {"page": ask.page, "limit": ask.limit, "total_items": total,
                             "total_pages": (total + ask.limit - 1) // ask.limit}}
    return current_app.json.dumps(answer).encode()


@blueprint.get("/categories/<path:name>/settings")
def category_settings(name: str):  # noqa: ANN201
    """The category's holiday calendar (its override, else the default), grain and horizon settings."""
    reject_unknown(request.args, ())
    deps = services()
    with deps.sessions() as session:
        found = forecast_reads.category_settings(session, name, forecasts.default_holiday_country(deps.settings),
                                                 deps.settings.drift_threshold)
    if found is None:
        raise _unknown(name)
    return jsonify({k: jsonable(v) for k, v in asdict(found).items()})


@blueprint.put("/categories/<path:name>/settings")
def save_category_settings(name: str):  # noqa: ANN201
    """Set the category's holiday calendar, grain, horizon and product forecasts (each key optional; a key not
    sent is kept); a changed grain, horizon or product_forecasts queues a refresh of its forecasts."""
    reject_unknown(request.args, ())
    body = json_object(request, optional=SETTINGS_KEYS)
    if not body:
        raise ApiError(400, f"send at least one of {', '.join(SETTINGS_KEYS)}")
    change = forecasts.SettingsChange(
        holiday_country=_country(body) if "holiday_country" in body else KEEP,
        grain=grains.parse_grain(body["grain"]) if "grain" in body else KEEP,
        horizon=body.get("horizon", KEEP),
        product_forecasts=_switch(body, "product_forecasts", "the default rule"),
        drift_threshold=_drift_threshold(body["drift_threshold"]) if "drift_threshold" in body else KEEP,
        drift_reforecast=_switch(body, "drift_reforecast", "on"))
    deps = services()
    try:
        saved, changed = forecasts.save_category_settings(deps.sessions, name, change, deps.settings)
        refresh = forecasts.refresh_forecasts(deps.sessions, deps.redis, deps.settings, name) if changed else None
    except forecasts.UnknownCategory:
        raise _unknown(name) from None
    reads_changed()  # /categories shows the holiday calendar and grain
    answer = {k: jsonable(v) for k, v in asdict(saved).items()}
    if refresh is not None:
        answer.update(refresh_answer(refresh))
    return jsonify(answer)


#: The keys a settings PUT may send.
SETTINGS_KEYS = ("holiday_country", "grain", "horizon", "product_forecasts", "drift_threshold", "drift_reforecast")


def _drift_threshold(value: object) -> float | None:
    """The body's drift_threshold: null (the deployment's DRIFT_THRESHOLD) or a number > 0; 400 otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ApiError(400, "drift_threshold must be null or a number > 0 (a multiple of the backtest MASE, "
                            f"e.g. 1.5), got {str(value)[:20]!r}")
    return float(value)


def _switch(body: dict[str, object], key: str, null_means: str) -> object:
    """The body's `key`: true, false or null (`null_means`), KEEP when not sent; 400 otherwise."""
    if key not in body:
        return KEEP
    value = body[key]
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"{key} must be true, false or null ({null_means}), got {str(value)[:20]!r}")
    return value


def _country(body: dict[str, object]) -> str | None:
    """The body's holiday_country: a code the holidays package supports, or null; 400 otherwise."""
    country = body_text(body, "holiday_country", max_length=10, nullable=True)
    if country is not None and country not in supported_countries():
        raise ApiError(400, f"holiday_country {country[:20]!r} is not a country code the holidays package "
                            "supports (use an upper-case ISO code such as 'GB', or null for none)")
    return country


def _unknown(name: str) -> ApiError:
    return ApiError(404, f"category {name[:100]!r} has no stored data")
