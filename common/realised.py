"""Realised accuracy: past forecasts scored against the actuals that arrived after them, when asked.

Nothing is written when actuals arrive: a forecast (forecast_data, product_forecast_data) and an actual
(invoice_data) are both kept, so the score of a forecast day is a join of the two, computed by the query
that asks for it (GET /accuracy, the drift check of each run and undo). Storing a score per run, model,
product and day made each merge write about as many rows again as it loaded (twice its time for 500
products x 30 days), and the stored scores had to be replaced by every later correction and undo; a join
is never stale, scores a run that completed after its days' actuals came, and costs the ETL nothing.

A scored period is one row of `scored_days`: each model's forecast of the category's total against the
sum over its products of that day (daily runs) or of the period's days (runs at weeks, months or quarters,
once the category holds data up to the period's last day), or, with a product, the product's reconciled
forecast (model "recommended"; products are forecast by day) against the product's value. Its columns:
run, category, product ("" for the total), model, grain, date (the period's first day), periods ahead of
the run's last period of history (1: the next one), actual, forecast, absolute and signed error (forecast -
actual), whether the actual fell inside the interval (1.0 or 0.0), and the naive scale MASE divides by (the
run's, one step of its grain; or the product's in that run).

The category totals are summed over the days some scored run forecast, never over the whole history:
`Span` bounds them, from forecast_runs, before the join.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Float,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from common.db import is_mysql
from common.grain import Grain
from common.models import (
    CategoryStats,
    ForecastData,
    ForecastRun,
    InvoiceData,
    ProductForecastData,
    ProductForecastSummary,
)
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
    """The days whose actuals the scoped runs' forecasts can be scored on (first_day..last_day), and whether any
    of those runs forecast weeks, months or quarters."""

    first_day: dt.date
    last_day: dt.date
    periodic: bool = False


#: The most days a period of each grain has: how far past a run's last period start its actuals can reach.
_MOST_DAYS = {Grain.DAY.value: 1, Grain.WEEK.value: 7, Grain.MONTH.value: 31, Grain.QUARTER.value: 92}


def scored_days(conn: Connection, scope: Scope) -> Select | CompoundSelect | None:
    """The scored periods of `scope`, as a query with the columns named above; None when no run can have any."""
    span = forecast_span(conn, scope)
    if span is None:
        return None
    if scope.product_id is not None:
        return _product_days(conn, scope, span)
    days = _category_days(conn, scope, span)
    return union_all(days, _category_periods(conn, scope, span)) if span.periodic else days


def forecast_span(conn: Connection, scope: Scope) -> Span | None:
    """From the day after the first scoped run's history to the last day its latest run's periods reach (one
    cheap query on forecast_runs); None when no completed run is in scope or the dates leave no day."""
    grain = func.coalesce(ForecastRun.grain, Grain.DAY.value)
    rows = conn.execute(
        select(grain, func.min(ForecastRun.history_end), func.max(ForecastRun.history_end),
               func.max(func.coalesce(ForecastRun.horizon_periods, ForecastRun.horizon_days)))
        .where(*_run_conditions(scope)).group_by(grain)
    ).all()
    if not rows:
        return None
    first_day = max(min(_date(first) for _, first, _, _ in rows) + dt.timedelta(days=1),
                    scope.start or dt.date.min)
    reach = max(_date(last) + dt.timedelta(days=(int(horizon or 0) + 1) * _MOST_DAYS.get(grain, 1))
                for grain, _, last, horizon in rows)
    longest = max(_MOST_DAYS.get(grain, 1) for grain, *_ in rows)
    last_day = reach if scope.end is None else min(reach, scope.end + dt.timedelta(days=longest))
    periodic = any(grain != Grain.DAY.value for grain, *_ in rows)
    return Span(first_day, last_day, periodic) if first_day <= last_day else None


def _daily_actuals(scope: Scope, span: Span) -> Subquery:
    """Each category's total per day of the span."""
    return (select(InvoiceData.category, InvoiceData.date, func.sum(InvoiceData.sales).label("actual"))
            .where(InvoiceData.date.between(span.first_day, span.last_day),
                   *_category_conditions(InvoiceData.category, scope))
            .group_by(InvoiceData.category, InvoiceData.date).subquery("a"))


def _forecast_conditions(f, runs, scope: Scope) -> list[ColumnElement]:  # noqa: ANN001
    """The scope's model, category and forecast dates, on forecast table `f` of runs `runs`."""
    conditions = [f.c.forecast_date > runs.c.history_end, *_category_conditions(f.c.category, scope)]
    if scope.model_types is not None:
        conditions.append(f.c.model_type.in_(scope.model_types))
    if scope.start is not None:
        conditions.append(f.c.forecast_date >= scope.start)
    if scope.end is not None:
        conditions.append(f.c.forecast_date <= scope.end)
    return conditions


def _category_days(conn: Connection, scope: Scope, span: Span) -> Select:
    """Daily runs: each model's day against the category's total that day."""
    actuals = _daily_actuals(scope, span)
    f, runs = ForecastData.__table__, ForecastRun.__table__
    return (_columns(conn, f, runs, literal(""), f.c.model_type, actuals.c.actual, runs.c.naive_scale)
            .select_from(f)
            .join(runs, runs.c.id == f.c.run_id)
            .join(actuals, and_(actuals.c.category == f.c.category, actuals.c.date == f.c.forecast_date))
            .where(*_run_conditions(scope, runs, grains=(Grain.DAY,)), *_forecast_conditions(f, runs, scope)))


def _category_periods(conn: Connection, scope: Scope, span: Span) -> Select:
    """Runs at weeks, months or quarters: each model's period against the category's total over the period's
    days, once the category holds data up to the period's last day (category_stats.last_date; data dated at a
    period's first day is scored when the next period's arrives)."""
    actuals = _daily_actuals(scope, span)
    inner, inner_runs = ForecastData.__table__.alias("pf"), ForecastRun.__table__.alias("pr")
    periodic = tuple(g for g in Grain if g is not Grain.DAY)
    sums = (select(inner.c.id.label("fid"), func.sum(actuals.c.actual).label("actual"))
            .select_from(inner)
            .join(inner_runs, inner_runs.c.id == inner.c.run_id)
            .join(actuals, and_(actuals.c.category == inner.c.category, actuals.c.date.between(
                inner.c.forecast_date, _period_last_day(conn, inner.c.forecast_date, inner_runs.c.grain))))
            .where(*_run_conditions(scope, inner_runs, grains=periodic),
                   *_forecast_conditions(inner, inner_runs, scope))
            .group_by(inner.c.id).subquery("p"))
    f, runs, stats = ForecastData.__table__, ForecastRun.__table__, CategoryStats.__table__
    return (_columns(conn, f, runs, literal(""), f.c.model_type, sums.c.actual, runs.c.naive_scale)
            .select_from(f)
            .join(sums, sums.c.fid == f.c.id)
            .join(runs, runs.c.id == f.c.run_id)
            .join(stats, stats.c.category == f.c.category)
            .where(_period_last_day(conn, f.c.forecast_date, runs.c.grain) <= stats.c.last_date))


def _product_days(conn: Connection, scope: Scope, span: Span) -> Select:
    """A product's reconciled forecast (daily runs whose products completed) against its value each day."""
    f, runs = ProductForecastData.__table__, ForecastRun.__table__
    invoices, summaries = InvoiceData.__table__, ProductForecastSummary.__table__
    recommended = ModelType.RECOMMENDED.value
    conditions = [*_run_conditions(scope, runs, grains=(Grain.DAY,)), f.c.category == scope.category,
                  f.c.product_id == scope.product_id, f.c.forecast_date.between(span.first_day, span.last_day),
                  *_forecast_conditions(f, runs, replace(scope, model_types=None))]
    if scope.model_types is not None and recommended not in scope.model_types:
        conditions.append(literal(False))  # a product's only forecast is its reconciled ("recommended") one
    return (_columns(conn, f, runs, f.c.product_id, literal(recommended), cast(invoices.c.sales, Float),
                     summaries.c.naive_scale)
            .select_from(f)
            .join(runs, runs.c.id == f.c.run_id)
            .join(invoices, and_(invoices.c.date == f.c.forecast_date, invoices.c.product_id == f.c.product_id,
                                 invoices.c.category == f.c.category))
            .outerjoin(summaries, and_(summaries.c.run_id == f.c.run_id, summaries.c.product_id == f.c.product_id))
            .where(*conditions))


def _columns(conn: Connection, f, runs, product: ColumnElement, model: ColumnElement,  # noqa: ANN001
             actual: ColumnElement, scale: ColumnElement) -> Select:
    inside = case((and_(actual >= f.c.lower_bound, actual <= f.c.upper_bound), 1.0), else_=0.0)
    grain = func.coalesce(runs.c.grain, Grain.DAY.value)
    return select(f.c.run_id.label("run_id"), f.c.category.label("category"), product.label("product_id"),
                  model.label("model_type"), grain.label("grain"), f.c.forecast_date.label("forecast_date"),
                  periods_between(conn, f.c.forecast_date, runs.c.history_end, grain).label("periods_ahead"),
                  actual.label("actual"), f.c.forecast_value.label("forecast_value"),
                  func.abs(f.c.forecast_value - actual).label("abs_error"),
                  (f.c.forecast_value - actual).label("signed_error"), inside.label("inside"), scale.label("scale"))


def _run_conditions(scope: Scope, runs=None, grains: tuple[Grain, ...] | None = None) -> list[ColumnElement]:  # noqa: ANN001
    """Completed runs with a history, in scope (of `grains`; runs made before grains are days)."""
    runs = ForecastRun.__table__ if runs is None else runs
    conditions = [runs.c.status == ForecastStatus.COMPLETED.value, runs.c.history_end.is_not(None),
                  *_category_conditions(runs.c.category, scope)]
    if scope.product_id is not None:
        grains = (Grain.DAY,)  # products are forecast by day only
        conditions.append(runs.c.product_status == ForecastStatus.COMPLETED.value)
    if grains is not None:
        conditions.append(func.coalesce(runs.c.grain, Grain.DAY.value).in_([g.value for g in grains]))
    if scope.run_ids is not None:
        conditions.append(runs.c.id.in_(scope.run_ids))
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
    return cast(func.round(func.julianday(later) - func.julianday(earlier)), Integer)


def periods_between(conn: Connection, later: ColumnElement, earlier: ColumnElement,
                    grain: ColumnElement) -> ColumnElement:
    """Whole periods of `grain` from period start `earlier` to period start `later` (1: the next period)."""
    days = days_between(conn, later, earlier)
    if is_mysql(conn):
        months = func.timestampdiff(literal_column("MONTH"), earlier, later)
        return case((grain == Grain.WEEK.value, func.floor(days / 7)), (grain == Grain.MONTH.value, months),
                    (grain == Grain.QUARTER.value, func.floor(months / 3)), else_=days)
    year, month = (lambda d: cast(func.strftime("%Y", d), Integer)), (lambda d: cast(func.strftime("%m", d), Integer))
    months = (year(later) - year(earlier)) * 12 + month(later) - month(earlier)
    return case((grain == Grain.WEEK.value, cast(days / 7, Integer)), (grain == Grain.MONTH.value, months),
                (grain == Grain.QUARTER.value, cast(months / 3, Integer)), else_=days)


def _period_last_day(conn: Connection, start: ColumnElement, grain: ColumnElement) -> ColumnElement:
    """The last day of the period of `grain` that starts on `start`."""
    if is_mysql(conn):
        return case((grain == Grain.WEEK.value, func.date_add(start, literal_column("INTERVAL 6 DAY"))),
                    (grain == Grain.MONTH.value, func.last_day(start)),
                    (grain == Grain.QUARTER.value, func.last_day(func.date_add(start, literal_column(
                        "INTERVAL 2 MONTH")))), else_=start)
    return case((grain == Grain.WEEK.value, func.date(start, "+6 days")),
                (grain == Grain.MONTH.value, func.date(start, "+1 month", "-1 day")),
                (grain == Grain.QUARTER.value, func.date(start, "+3 months", "-1 day")), else_=start)


@dataclass(frozen=True)
class RunScore:
    """How many periods (days, weeks..: the run's `grain`) of one run's recommended forecast are scored, and
    their mean absolute error."""

    run_id: int
    days: int
    mae: float
    grain: str = Grain.DAY.value


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
    rows = conn.execute(select(scored.c.run_id, func.count(), func.avg(scored.c.abs_error), func.max(scored.c.grain))
                        .group_by(scored.c.run_id)).all()
    return {run_id: RunScore(run_id, n, float(mae), grain) for run_id, n, mae, grain in rows if n}


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
