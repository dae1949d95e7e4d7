"""Realised accuracy: past forecasts scored against the actuals that arrived after them, when asked.

Nothing is written when actuals arrive: a forecast (forecast_data, product_forecast_data) and an actual
(invoice_data) are both kept, so the score of a forecast day is a join of the two, computed by the query
that asks for it (GET /accuracy, the drift check after each merge or undo). Storing a score per run, model,
product and day made each merge write about as many rows again as it loaded (twice its time for 500
products x 30 days), and the stored scores had to be replaced by every later correction and undo; a join
is never stale, scores a run that completed after its days' actuals came, and costs the ETL nothing.

A scored day is one row of `category_days` (each model's forecast of the category's total, against the
day's sum over its products) or `product_days` (a product's reconciled forecast, model "recommended",
against the product's value): run, category, product ("" for the total), model, date, days ahead of the
run's last day of history, actual, forecast, absolute and signed error (forecast - actual), whether the
actual fell inside the interval, and the naive scale MASE divides by (the run's, or the product's in that
run). Only completed daily runs are scored: a weekly or monthly period's actual would need all its days.

The category totals are summed over the days some scored run forecast, never over the whole history:
`Span` bounds them, from forecast_runs, before the join.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Float, Integer, Select, and_, case, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from common.db import is_mysql
from common.grain import Grain
from common.models import ForecastData, ForecastRun, InvoiceData, ProductForecastData, ProductForecastSummary
from common.status import ForecastStatus, ModelType


@dataclass(frozen=True)
class Scope:
    """Which forecasts to score: None means any. `product_id` None scores the category totals, else that
    product's forecasts (then `category` is required: a product is named within its category)."""

    category: str | None = None
    product_id: str | None = None
    categories: tuple[str, ...] | None = None
    model_types: tuple[str, ...] | None = None
    run_ids: tuple[int, ...] | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class Span:
    """The days the scoped runs forecast (first_day..last_day), narrowed by the scope's dates."""

    first_day: dt.date
    last_day: dt.date


def scored_days(conn: Connection, scope: Scope) -> Select | None:
    """The scored days of `scope`, as a query with the columns named above; None when no run can have any."""
    span = forecast_span(conn, scope)
    if span is None:
        return None
    if scope.product_id is None:
        return _category_days(conn, scope, span)
    return _product_days(conn, scope, span)


def forecast_span(conn: Connection, scope: Scope) -> Span | None:
    """From the day after the first scoped run's history to the last one's last forecast day (one cheap query
    on forecast_runs); None when no completed daily run is in scope or the dates leave no day."""
    first, last, horizon = conn.execute(
        select(func.min(ForecastRun.history_end), func.max(ForecastRun.history_end),
               func.max(func.coalesce(ForecastRun.horizon_periods, ForecastRun.horizon_days)))
        .where(*_run_conditions(scope))
    ).one()
    if first is None:
        return None
    first_day = max(_date(first) + dt.timedelta(days=1), scope.start or dt.date.min)
    last_day = min(_date(last) + dt.timedelta(days=int(horizon or 0)), scope.end or dt.date.max)
    return Span(first_day, last_day) if first_day <= last_day else None


def _category_days(conn: Connection, scope: Scope, span: Span) -> Select:
    actuals = (select(InvoiceData.category, InvoiceData.date, func.sum(InvoiceData.sales).label("actual"))
               .where(InvoiceData.date.between(span.first_day, span.last_day), *_category_conditions(
                   InvoiceData.category, scope))
               .group_by(InvoiceData.category, InvoiceData.date).subquery("a"))
    f = ForecastData
    conditions = [*_run_conditions(scope), f.forecast_date.between(span.first_day, span.last_day),
                  f.forecast_date > ForecastRun.history_end, *_category_conditions(f.category, scope)]
    if scope.model_types is not None:
        conditions.append(f.model_type.in_(scope.model_types))
    return (_columns(conn, f, literal(""), f.model_type, actuals.c.actual, ForecastRun.naive_scale)
            .select_from(f)
            .join(ForecastRun, ForecastRun.id == f.run_id)
            .join(actuals, and_(actuals.c.category == f.category, actuals.c.date == f.forecast_date))
            .where(*conditions))


def _product_days(conn: Connection, scope: Scope, span: Span) -> Select:
    f = ProductForecastData
    recommended = ModelType.RECOMMENDED.value
    conditions = [*_run_conditions(scope), ForecastRun.product_status == ForecastStatus.COMPLETED.value,
                  f.category == scope.category, f.product_id == scope.product_id,
                  f.forecast_date.between(span.first_day, span.last_day), f.forecast_date > ForecastRun.history_end]
    if scope.model_types is not None and recommended not in scope.model_types:
        conditions.append(literal(False))  # a product's only forecast is its reconciled ("recommended") one
    return (_columns(conn, f, f.product_id, literal(recommended), cast(InvoiceData.sales, Float),
                     ProductForecastSummary.naive_scale)
            .select_from(f)
            .join(ForecastRun, ForecastRun.id == f.run_id)
            .join(InvoiceData, and_(InvoiceData.date == f.forecast_date, InvoiceData.product_id == f.product_id,
                                    InvoiceData.category == f.category))
            .outerjoin(ProductForecastSummary, and_(ProductForecastSummary.run_id == f.run_id,
                                                    ProductForecastSummary.product_id == f.product_id))
            .where(*conditions))


def _columns(conn: Connection, f, product: ColumnElement, model: ColumnElement, actual: ColumnElement,  # noqa: ANN001
             scale: ColumnElement) -> Select:
    inside = case((and_(actual >= f.lower_bound, actual <= f.upper_bound), 1.0), else_=0.0)
    return select(f.run_id.label("run_id"), f.category.label("category"), product.label("product_id"),
                  model.label("model_type"), f.forecast_date.label("forecast_date"),
                  days_between(conn, f.forecast_date, ForecastRun.history_end).label("periods_ahead"),
                  actual.label("actual"), f.forecast_value.label("forecast_value"),
                  func.abs(f.forecast_value - actual).label("abs_error"),
                  (f.forecast_value - actual).label("signed_error"), inside.label("inside"), scale.label("scale"))


def _run_conditions(scope: Scope) -> list[ColumnElement]:
    """Completed daily runs (grain null: made before grains, days) with a history, in scope."""
    conditions = [ForecastRun.status == ForecastStatus.COMPLETED.value,
                  func.coalesce(ForecastRun.grain, Grain.DAY.value) == Grain.DAY.value,
                  ForecastRun.history_end.is_not(None), *_category_conditions(ForecastRun.category, scope)]
    if scope.run_ids is not None:
        conditions.append(ForecastRun.id.in_(scope.run_ids))
    if scope.product_id is not None:
        conditions.append(ForecastRun.product_status == ForecastStatus.COMPLETED.value)
    return conditions


def _category_conditions(column: ColumnElement, scope: Scope) -> list[ColumnElement]:
    conditions = []
    if scope.category is not None:
        conditions.append(column == scope.category)
    if scope.categories is not None:
        conditions.append(column.in_(scope.categories) if scope.categories else literal(False))
    return conditions


def days_between(conn: Connection, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """Whole days from `earlier` to `later`, in the connection's SQL."""
    if is_mysql(conn):
        return func.datediff(later, earlier)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


@dataclass(frozen=True)
class RunScore:
    """How many days of one run's recommended forecast are scored, and their mean absolute error."""

    run_id: int
    days: int
    mae: float


def recommended_scores(conn: Connection, runs: Mapping[int, str]) -> dict[int, RunScore]:
    """Each run's scored days of its recommended forecast of its category's total (`runs`: run id -> category;
    runs with no scored day are absent)."""
    if not runs:
        return {}
    days = scored_days(conn, Scope(run_ids=tuple(sorted(runs)), categories=tuple(sorted(set(runs.values()))),
                                   model_types=(ModelType.RECOMMENDED.value,)))
    if days is None:
        return {}
    scored = days.subquery()
    rows = conn.execute(select(scored.c.run_id, func.count(), func.avg(scored.c.abs_error))
                        .group_by(scored.c.run_id)).all()
    return {run_id: RunScore(run_id, n, float(mae)) for run_id, n, mae in rows if n}


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
