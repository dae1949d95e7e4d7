"""Forecasts: rows, backtest metrics, downloads, and asking for a fresh run."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from common.grain import Grain
from common.status import ModelType
from services.api import export, forecast_reads, forecasts, period_reads, periods, product_reads, services
from services.api.cache import reads_changed, response_cache
from services.api.errors import ApiError
from services.api.forecast_reads import ForecastFilter
from services.api.params import (
    MAX_ID,
    body_text,
    date_range,
    get_choice,
    get_choices,
    get_grain,
    get_int,
    get_text,
    json_object,
    reject_unknown,
)

blueprint = Blueprint("forecasts", __name__)

FORECAST_FIELDS = ["id", "forecast_date", "category", "model_type", "forecast_value", "lower_bound", "upper_bound",
                   "batch_num", "run_id", "p10", "p50", "p90"]
METRIC_FIELDS = ["category", "model_type", "run_id", "mae", "rmse", "smape", "mase", "coverage", "coverage80", "wql",
                 "is_best", "error", "fit_seconds", "method"]
#: The model_type value that asks for every model (forecast rows default to the recommended forecast only).
ALL_MODELS = "all"
#: A product's rows: the forecast row's fields, and the product.
PRODUCT_FIELDS = [*FORECAST_FIELDS, "product_id"]
FILTERS = ("category", "model_type", "run_id", "start_date", "end_date")
MAX_LIMIT = 100_000
#: Most rows one export may hold; a larger one is refused with a request to filter.
MAX_EXPORT_ROWS = 1_000_000
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blueprint.get("/forecast-data")
def forecast_data():  # noqa: ANN201
    """Forecast rows of each category's latest completed run (or of run_id), paginated."""
    args = request.args
    reject_unknown(args, (*FILTERS, "product_id", "limit", "offset", "grain"))
    where = _forecast_filter(args, default_view=True)
    grain = get_grain(args)
    limit = get_int(args, "limit", 1000, minimum=1, maximum=MAX_LIMIT)
    offset = get_int(args, "offset", 0, maximum=10**9)
    product_id = _product_filter(args, where, grain)
    if product_id is not None:
        page = partial(_product_page, where, product_id, limit, offset)
    elif grain is Grain.DAY:
        page = partial(_forecast_page, where, limit, offset)
    else:
        page = partial(_period_page, where, grain, limit, offset)
    body = response_cache().body("/forecast-data", args.items(multi=True), page)
    return Response(body, mimetype="application/json")


def period_rows(where: ForecastFilter, grain: Grain) -> list[dict[str, object]]:
    """The filtered forecasts summed per period of `grain`; 404 for an unknown run or a category without a forecast."""
    with services().sessions() as session:
        try:
            rows = period_reads.forecast_periods(session, where, grain)
        except period_reads.NoForecast:
            raise ApiError(404, f"category {where.category[:100]!r} has no completed forecast yet: there is "
                                f"nothing to sum per {grain.value}") from None
        except periods.FinerThanSource as exc:
            raise ApiError(400, str(exc)) from None
    if rows is None:
        raise _no_run(where.run_id)
    return rows


def _period_page(where: ForecastFilter, grain: Grain, limit: int, offset: int) -> bytes:
    return current_app.json.dumps(period_rows(where, grain)[offset:offset + limit]).encode()


def _forecast_page(where: ForecastFilter, limit: int, offset: int) -> bytes:
    with services().engine.connect() as conn:
        body = forecast_reads.forecast_page_json(conn, where, FORECAST_FIELDS, limit=limit, offset=offset)
    if body is None:
        raise _no_run(where.run_id)
    return body.encode()


def _product_filter(args: Mapping[str, str], where: ForecastFilter, grain: Grain) -> str | None:
    """The product_id parameter; 400 when it comes with a grain or a model other than the recommended forecast."""
    product_id = get_text(args, "product_id")
    if product_id is None:
        return None
    if grain is not Grain.DAY:
        raise ApiError(400, "grain applies to category forecasts; a product's forecast is read per day")
    if where.model_types not in (None, (ModelType.RECOMMENDED.value,)):
        raise ApiError(400, "a product has its reconciled recommended forecast only: leave out model_type, "
                            "or send recommended or all")
    return product_id


def _product_page(where: ForecastFilter, product_id: str, limit: int, offset: int) -> bytes:
    with services().engine.connect() as conn:
        runs = product_forecast_runs(conn, where, product_id)
        rows = product_reads.product_rows(conn, runs, product_id, PRODUCT_FIELDS, start=where.start_date,
                                          end=where.end_date, limit=limit, offset=offset)
    return current_app.json.dumps(rows).encode()


def product_forecast_runs(conn: Connection | Session, where: ForecastFilter, product_id: str) -> dict[str, int]:
    """{category: run_id} holding the product's forecast under the filter; 404 saying why there is none."""
    runs = product_reads.product_runs(conn, category=where.category, run_id=where.run_id)
    if where.category is not None:
        runs = {name: run for name, run in runs.items() if name == where.category}
    if not runs:
        raise ApiError(404, _no_products(conn, where))
    problem = product_reads.missing_product(conn, runs, product_id, where.category)
    if problem is not None:
        raise ApiError(404, problem)
    return runs


def _no_products(conn: Connection | Session, where: ForecastFilter) -> str:
    """Why the filter finds no run with completed product forecasts."""
    if where.run_id is not None:
        if not forecast_reads.run_exists(conn, where.run_id):
            return f"forecast run {where.run_id} not found"
        return f"forecast run {where.run_id} has no completed product forecasts{_of(where.category)}"
    if where.category is not None:
        return (f"category {where.category[:100]!r} has no completed product forecast: its runs forecast the "
                "category only, or their products are not finished yet")
    return "no category has a completed product forecast yet"


def _of(category: str | None) -> str:
    return f" of category {category[:100]!r}" if category is not None else ""


@blueprint.get("/forecast-metrics")
def forecast_metrics():  # noqa: ANN201
    """Backtest metrics per category and model of each category's latest completed run (or of run_id)."""
    args = request.args
    reject_unknown(args, ("category", "model_type", "run_id"))
    where = _forecast_filter(args, default_view=False)
    body = response_cache().body("/forecast-metrics", args.items(multi=True), lambda: _metrics(where))
    return Response(body, mimetype="application/json")


def _metrics(where: ForecastFilter) -> bytes:
    with services().engine.connect() as conn:
        rows = forecast_reads.forecast_metrics(conn, where, METRIC_FIELDS)
    if rows is None:
        raise _no_run(where.run_id)
    return current_app.json.dumps(rows).encode()


@blueprint.get("/forecast-data/export")
def export_forecasts():  # noqa: ANN201
    """The /forecast-data rows (all of them, same filters, and grain for a CSV) as a CSV or an .xlsx (a sheet and
    chart per category, and a Monthly sheet)."""
    args = request.args
    reject_unknown(args, (*FILTERS, "product_id", "format", "grain"))
    fmt = get_choice(args, "format", ["csv", "xlsx"], default="csv")
    where = _forecast_filter(args, default_view=True)
    grain = get_grain(args)
    product_id = _product_filter(args, where, grain)
    if product_id is not None:
        return _export_product(where, product_id, fmt)
    if grain is not Grain.DAY:
        if fmt == "xlsx":
            raise ApiError(400, "grain applies to the CSV export; the Excel file holds the daily rows and a "
                                "Monthly sheet already")
        return Response(export.period_csv(period_rows(where, grain)), mimetype="text/csv",
                        headers=_attachment(f"forecasts-{grain.value}.csv"))
    deps = services()
    with deps.sessions() as session:
        _require_run(session, where.run_id)
        total = forecast_reads.count_forecast_rows(session, where)
        if total > MAX_EXPORT_ROWS:
            raise ApiError(400, f"the export would hold {total} rows, more than {MAX_EXPORT_ROWS}; "
                                "narrow it with category, model_type, run_id, start_date or end_date")
        if fmt == "xlsx":
            return Response(export.forecast_workbook(session, where), mimetype=XLSX_MIMETYPE,
                            headers=_attachment("forecasts.xlsx"))
    return Response(export.forecast_csv(deps.sessions, where), mimetype="text/csv",
                    headers=_attachment("forecasts.csv"))


def _export_product(where: ForecastFilter, product_id: str, fmt: str) -> Response:
    """One product's forecast rows as CSV, or as a workbook with a sheet and chart per category it is sold in."""
    with services().sessions() as session:
        runs = product_forecast_runs(session, where, product_id)
        if fmt == "xlsx":
            return Response(export.product_workbook(session, runs, product_id, where.start_date, where.end_date),
                            mimetype=XLSX_MIMETYPE, headers=_attachment("product-forecasts.xlsx"))
        rows = product_reads.product_rows(session, runs, product_id, export.PRODUCT_CSV_FIELDS,
                                          start=where.start_date, end=where.end_date)
    return Response(export.rows_csv(rows, export.PRODUCT_CSV_FIELDS), mimetype="text/csv",
                    headers=_attachment("product-forecasts.csv"))


@blueprint.post("/forecasts/refresh")
def refresh():  # noqa: ANN201
    """202 with a new pending run per category (one category, or all with data), queued for the workers."""
    reject_unknown(request.args, ())
    body = json_object(request, optional=("category",), allow_empty=True)
    category = body_text(body, "category") if "category" in body else None
    deps = services()
    try:
        done = forecasts.refresh_forecasts(deps.sessions, deps.redis, deps.settings, category)
    except forecasts.UnknownCategory:
        raise ApiError(404, f"category {category[:100]!r} has no stored data") from None
    reads_changed()  # /categories shows each category's latest run: now the new pending one
    answer = {"runs": [{"run_id": r.run_id, "category": r.category, "job_id": r.job_id} for r in done.runs],
              "queued": done.queued}
    if not done.queued:
        answer["message"] = "the runs are recorded but Redis is unavailable; the workers will queue them"
    return jsonify(answer), 202


def _forecast_filter(args: Mapping[str, str], *, default_view: bool) -> ForecastFilter:
    """The filters; without model_type, `default_view` picks each run's recommended forecast, else every model."""
    start, end = date_range(args)
    models = get_choices(args, "model_type", [*(m.value for m in ModelType), ALL_MODELS])
    if models is not None and ALL_MODELS in models and len(models) > 1:
        raise ApiError(400, f"model_type={ALL_MODELS} means every model: name it alone")
    return ForecastFilter(
        category=get_text(args, "category"),
        model_types=None if models in (None, (ALL_MODELS,)) else models,
        default_view=default_view and models is None,
        run_id=get_int(args, "run_id", None, minimum=1, maximum=MAX_ID),
        start_date=start,
        end_date=end,
    )


def _require_run(session: Session, run_id: int | None) -> None:
    if run_id is not None and not forecast_reads.run_exists(session, run_id):
        raise _no_run(run_id)


def _no_run(run_id: int | None) -> ApiError:
    return ApiError(404, f"forecast run {run_id} not found")


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
