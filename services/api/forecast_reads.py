"""The API's forecast queries: forecast rows, backtest metrics, category overviews and settings.

Unless a run is named, every answer comes from each category's latest *completed* run: a run that
is pending, running or failed never hides the last good forecast.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, Connection, Row, ScalarSelect, Select, case, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from common.models import (
    CategoryDrift,
    CategorySetting,
    CategoryStats,
    ForecastData,
    ForecastMetric,
    ForecastRun,
    InvoiceData,
)
from common.status import ForecastStatus, ModelType
from services.api.accuracy_reads import DRIFT_FIELDS, overview_drift
from services.api.grains import overview_grain
from services.api.reads import json_row, narrow
from services.api.serialize import jsonable
from services.etl.stats import backfill_category_stats

#: Rows fetched from the database at a time when streaming an export.
CHUNK_ROWS = 5000


def latest_completed_runs() -> Select:
    """(category, run_id) of each category's highest-numbered completed run."""
    return (
        select(ForecastRun.category, func.max(ForecastRun.id).label("run_id"))
        .where(ForecastRun.status == ForecastStatus.COMPLETED)
        .group_by(ForecastRun.category)
    )


def latest_run_id(category: str) -> ScalarSelect:
    """The id of the category's latest completed run, as a subquery (one MAX read off the runs index)."""
    return (select(func.max(ForecastRun.id))
            .where(ForecastRun.category == category, ForecastRun.status == ForecastStatus.COMPLETED)
            .scalar_subquery())


def latest_run_ids(session: Session | Connection) -> tuple[int, ...]:
    """The id of every category's latest completed run (a loose scan of the runs index)."""
    query = (select(func.max(ForecastRun.id)).where(ForecastRun.status == ForecastStatus.COMPLETED)
             .group_by(ForecastRun.category))
    return tuple(session.scalars(query))


@dataclass(frozen=True)
class ForecastFilter:
    """The /forecast-data and /forecast-metrics filters; None means no filter (run: the latest completed)."""

    category: str | None = None
    #: The model types wanted; None means every model.
    model_types: tuple[str, ...] | None = None
    #: Each run's recommended forecast only, or its best model where the run has no recommended rows
    #: (a run made before them): what a reader sees by default. Forecast rows only, not metrics.
    default_view: bool = False
    run_id: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    #: Every category's latest completed run, once looked up by `resolved()`.
    latest_runs: tuple[int, ...] | None = None
    #: With default_view: the (run_id, model_type) each of those runs shows, looked up with them.
    shown: tuple[tuple[int, str], ...] | None = None

    def resolved(self, session: Session | Connection) -> ForecastFilter:
        """This filter, with every category's latest run looked up first when it names neither run nor category.

        The ids then reach the database as constants: `run_id IN (...)` is an index range, where an
        `IN (SELECT MAX(id) ... GROUP BY category)` left MariaDB no way in but a walk over every run's rows.
        The default view looks up each run's shown model in the same statement, so that the rows are read
        as (run_id, model_type) ranges of the run index too.
        """
        if self.run_id is not None or self.category is not None or self.latest_runs is not None:
            return self
        if not self.default_view:
            return replace(self, latest_runs=latest_run_ids(session))
        pairs = [(run_id, model) for run_id, model in session.execute(latest_shown_models())]
        return replace(self, latest_runs=tuple(run_id for run_id, _ in pairs),
                       shown=tuple((run_id, model) for run_id, model in pairs if model is not None))

    def runs(self, run_id: ColumnElement) -> ColumnElement:
        """The condition on a `run_id` column that keeps the chosen runs."""
        if self.run_id is not None:
            return run_id == self.run_id
        if self.category is not None:
            return run_id == latest_run_id(self.category)
        if self.latest_runs is not None:
            return run_id.in_(self.latest_runs)
        latest = latest_completed_runs().subquery()
        return run_id.in_(select(latest.c.run_id))

    def apply(self, query: Select, table: type[ForecastData] | type[ForecastMetric] = ForecastData) -> Select:
        """Add this filter's WHERE clauses on `table` (ForecastData, or ForecastMetric with no dates set)."""
        query = query.where(self.runs(table.run_id))
        if self.model_types is not None:
            query = query.where(table.model_type.in_(self.model_types))
        if self.default_view and table is ForecastData:
            query = self._shown_only(query)
        day = getattr(table, "forecast_date", None)
        return narrow(query, [(table.category, self.category)], day, self.start_date, self.end_date)

    def _shown_only(self, query: Select) -> Select:
        if self.shown is not None and self.run_id is None and self.category is None:
            # Every category's latest run: constant (run_id, model_type) pairs, each a range of the run index.
            pairs = [(ForecastData.run_id == run) & (ForecastData.model_type == model) for run, model in self.shown]
            return query.where(or_(*pairs) if pairs else false())
        # One run (named, or a category's latest): joined to its one shown model, a constant lookup.
        shown = select(ForecastRun.id.label("run_id"), shown_model(ForecastRun.id).label("model_type"))
        shown = shown.where(self.runs(ForecastRun.id)).subquery()
        return query.join(shown, (shown.c.run_id == ForecastData.run_id)
                          & (shown.c.model_type == ForecastData.model_type))


def shown_model(run_id: ColumnElement) -> ColumnElement:
    """The model type run `run_id` shows by default: `recommended` when it published those rows, else its best.

    Two index probes per run. A run made before recommended forecasts shows the model its backtest
    marked best (the first by name if two were marked, as /categories shows); one with neither, nothing.
    """
    recommended = ModelType.RECOMMENDED.value
    has_recommended = (select(ForecastData.id)
                       .where(ForecastData.run_id == run_id, ForecastData.model_type == recommended).exists())
    best = (select(func.min(ForecastMetric.model_type))
            .where(ForecastMetric.run_id == run_id, ForecastMetric.is_best.is_(True)).scalar_subquery())
    return case((has_recommended, literal(recommended)), else_=best)


def latest_shown_models() -> Select:
    """(run_id, shown model type) of every category's latest completed run."""
    latest = latest_completed_runs().subquery()
    return select(latest.c.run_id, shown_model(latest.c.run_id))


def run_exists(session: Session | Connection, run_id: int) -> bool:
    """True when forecast run `run_id` exists (in any status)."""
    return session.scalar(select(ForecastRun.id).where(ForecastRun.id == run_id)) is not None


def _in_order(query: Select) -> Select:
    return query.order_by(ForecastData.category, ForecastData.model_type, ForecastData.forecast_date,
                          ForecastData.id)


def forecast_page_json(conn: Connection, where: ForecastFilter, fields: Sequence[str], *, limit: int,
                       offset: int) -> str | None:
    """One page of forecast rows ordered by category, model type and day: a JSON array of objects of `fields`.

    None when the filter names a run that does not exist (looked up only when the page is empty).
    """
    # The database writes each row's JSON: decoding nine typed columns per row in PyMySQL, then building
    # and encoding dicts, cost three times as much CPU as the whole query (measured at 480 rows).
    query = _in_order(where.resolved(conn).apply(select(_forecast_json(tuple(fields))))).limit(limit).offset(offset)
    rows = list(conn.execute(query).scalars())
    if not rows and where.run_id is not None and not run_exists(conn, where.run_id):
        return None
    return "[" + ",".join(rows) + "]"


@functools.cache
def _forecast_json(fields: tuple[str, ...]) -> ColumnElement:
    # Built once per field list: constructing the nine-pair expression cost more than running it.
    return json_row({name: getattr(ForecastData, name) for name in fields})


def count_forecast_rows(session: Session, where: ForecastFilter) -> int:
    """How many forecast rows the filter matches."""
    query = where.resolved(session).apply(select(func.count()).select_from(ForecastData))
    return int(session.scalar(query) or 0)


def forecast_row_chunks(session: Session, where: ForecastFilter, fields: Sequence[str],
                        size: int = CHUNK_ROWS) -> Iterator[Sequence[Row]]:
    """The matching rows' `fields`, in order, `size` rows at a time (a server-side cursor on MySQL)."""
    query = _in_order(where.resolved(session).apply(select(*(getattr(ForecastData, name) for name in fields))))
    yield from session.execute(query.execution_options(yield_per=size)).partitions()


def forecast_rows(session: Session, where: ForecastFilter, fields: Sequence[str]) -> list[Row]:
    """The matching rows' `fields`, in order, all at once (for one category's sheet)."""
    query = _in_order(where.resolved(session).apply(select(*(getattr(ForecastData, name) for name in fields))))
    return list(session.execute(query))


def forecast_categories(session: Session, where: ForecastFilter) -> list[str]:
    """The categories that have matching forecast rows, sorted."""
    query = where.resolved(session).apply(select(ForecastData.category).distinct()).order_by(ForecastData.category)
    return list(session.scalars(query))


def daily_history(session: Session, category: str, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    """The category's total sales per day in [start, end); 0 on a day without rows inside its stored range."""
    first, last = session.execute(
        select(func.min(InvoiceData.date), func.max(InvoiceData.date)).where(InvoiceData.category == category)
    ).one()
    if first is None:
        return {}
    low, high = max(start, first), min(end - dt.timedelta(days=1), last)
    query = (
        select(InvoiceData.date, func.sum(InvoiceData.sales))
        .where(InvoiceData.category == category, InvoiceData.date >= low, InvoiceData.date <= high)
        .group_by(InvoiceData.date)
    )
    totals = {day: total for day, total in session.execute(query)}
    days = (low + dt.timedelta(days=n) for n in range((high - low).days + 1))
    return {day: round(float(totals.get(day) or 0), 2) for day in days}


def category_history(session: Session, category: str, start: dt.date | None = None,
                     end: dt.date | None = None) -> list[tuple[dt.date, float]]:
    """The category's total sales per stored day within [start, end] (inclusive), ordered by day."""
    query = narrow(
        select(InvoiceData.date, func.sum(InvoiceData.sales)).where(InvoiceData.category == category),
        [], InvoiceData.date, start, end,
    ).group_by(InvoiceData.date).order_by(InvoiceData.date)
    return [(day, round(float(total or 0), 2)) for day, total in session.execute(query)]


def forecast_metrics(conn: Connection, where: ForecastFilter, fields: Sequence[str]) -> list[dict[str, object]] | None:
    """Backtest metrics (`fields`, JSON-ready) of the chosen runs, ordered by category then model type.

    The field `method` is the run's recommended_method on the `recommended` row (null on the others).
    None when the filter names a run that does not exist (looked up only when there are no rows).
    """
    columns = [_METHOD if name == "method" else getattr(ForecastMetric, name) for name in fields]
    query = select(*columns).select_from(ForecastMetric)
    if "method" in fields:
        query = query.outerjoin(ForecastRun, ForecastRun.id == ForecastMetric.run_id)
    query = where.resolved(conn).apply(query, ForecastMetric).order_by(
        ForecastMetric.category, ForecastMetric.model_type, ForecastMetric.run_id
    )
    rows = [{name: jsonable(value) for name, value in zip(fields, row, strict=True)} for row in conn.execute(query)]
    if not rows and where.run_id is not None and not run_exists(conn, where.run_id):
        return None
    return rows


#: A metrics row's `method`: how its run built the recommended forecast, on the recommended row only.
_METHOD = case((ForecastMetric.model_type == ModelType.RECOMMENDED.value, ForecastRun.recommended_method))


def category_exists(session: Session, category: str) -> bool:
    """True when the category has stored observations."""
    return session.scalar(select(InvoiceData.category).where(InvoiceData.category == category).limit(1)) is not None


@dataclass(frozen=True)
class CategorySettings:
    """A category's forecast settings: the holiday calendar in force and where it comes from, the grain and
    horizon settings (null: the detected grain, the grain's default horizon)."""

    category: str
    holiday_country: str | None
    holiday_country_overridden: bool
    default_holiday_country: str | None
    updated_at: dt.datetime | None
    grain: str | None = None
    horizon: int | None = None
    #: Forecast the category's products: true, false, or null for the default (on up to PRODUCT_FORECAST_MAX).
    product_forecasts: bool | None = None
    #: Drift: the category's threshold (null: DRIFT_THRESHOLD, shown in drift_threshold_default) and whether
    #: drifting queues a run (null: yes).
    drift_threshold: float | None = None
    drift_threshold_default: float | None = None
    drift_reforecast: bool | None = None


def category_settings(session: Session, category: str, default_country: str | None,
                      default_drift: float | None = None) -> CategorySettings | None:
    """The category's settings (its override, else the default), or None when it has no stored data."""
    if not category_exists(session, category):
        return None
    row = session.get(CategorySetting, category)
    overridden = row is not None and not row.holiday_country_default
    return CategorySettings(
        category=category,
        holiday_country=row.holiday_country if overridden else default_country,
        holiday_country_overridden=overridden,
        default_holiday_country=default_country,
        updated_at=row.updated_at if row is not None else None,
        grain=row.grain if row is not None else None,
        horizon=row.horizon if row is not None else None,
        product_forecasts=row.product_forecasts if row is not None else None,
        drift_threshold=row.drift_threshold if row is not None else None,
        drift_threshold_default=default_drift,
        drift_reforecast=row.drift_reforecast if row is not None else None,
    )


def category_overview(conn: Connection, default_country: str | None,
                      filled: Callable[[], None] | None = None) -> list[dict[str, object]]:
    """Per category: stored-data summary, best model, recommended method, holiday calendar, latest run: one query.

    When category_stats had to be filled from invoice_data first, `filled()` is called after that commit.
    """
    overview = _overview(conn, default_country)
    if overview or not backfill_category_stats(conn.engine):
        return overview
    if filled is not None:
        filled()
    conn.rollback()  # a new snapshot, which sees the stats just filled (SQLite would keep the old one)
    return _overview(conn, default_country)


def _overview(conn: Connection, default_country: str | None) -> list[dict[str, object]]:
    # The database writes each row as JSON (dates as ISO text): PyMySQL decoding ten typed columns per
    # category cost more than the query; json.loads of one text per row is several times cheaper.
    overview: dict[str, dict[str, object]] = {}
    for text in conn.execute(_overview_query()).scalars():
        row = json.loads(text)
        # The query put the override row's key in holiday_country_overridden: null when there is none.
        row["holiday_country_overridden"] = row["holiday_country_overridden"] is not None
        if not row["holiday_country_overridden"]:
            row["holiday_country"] = default_country
        row.update(overview_grain(row))
        row.update(overview_drift(row))
        # Two models marked best in one run would repeat the category: keep the first by name.
        kept = overview.setdefault(row["category"], row)
        if (row["best_model"] or "") < (kept["best_model"] or ""):
            kept["best_model"] = row["best_model"]
    return list(overview.values())


@functools.cache
def _overview_query() -> Select:
    """(Built once.) A JSON object per category_stats row: latest run; latest completed run's best model, method."""
    stats = CategoryStats
    # Grouped subqueries joined by category (a loose index scan each once forecast_runs is large), not one
    # correlated lookup per category: MariaDB spent ~14 us on each of those.
    last = select(ForecastRun.category, func.max(ForecastRun.id).label("run_id")).group_by(ForecastRun.category)
    last = last.subquery()
    done = latest_completed_runs().subquery()
    done_run = aliased(ForecastRun)
    drifting = (select(CategoryDrift.category, func.max(CategoryDrift.id).label("id"))
                .where(CategoryDrift.cleared_at.is_(None)).group_by(CategoryDrift.category).subquery())
    row = json_row({
        "category": stats.category, "product_count": stats.product_count, "first_date": stats.first_date,
        "last_date": stats.last_date, "row_count": stats.row_count, "best_model": ForecastMetric.model_type,
        "holiday_country": CategorySetting.holiday_country,
        # The row's key when the category has its own calendar, else null.
        "holiday_country_overridden": case((CategorySetting.holiday_country_default.is_(True), None),
                                           else_=CategorySetting.category),
        "last_run_id": last.c.run_id, "forecast_status": ForecastRun.status,
        "recommended_method": done_run.recommended_method,
        "product_status": done_run.product_status, "reconciliation": done_run.reconciliation,
        "grain_setting": CategorySetting.grain, "last_grain": ForecastRun.grain,
        "last_grain_anchor": ForecastRun.grain_anchor, "last_grain_problem": ForecastRun.grain_problem,
        "done_grain": done_run.grain, "done_grain_anchor": done_run.grain_anchor, "done_run_id": done_run.id,
        **{f"drift_{name}": getattr(CategoryDrift, name) for name in DRIFT_FIELDS},
    })
    # Ordered by category only: a second sort key (the model) tripled MariaDB's time on this query.
    return (
        select(row).select_from(stats)
        .outerjoin(last, last.c.category == stats.category)
        .outerjoin(ForecastRun, ForecastRun.id == last.c.run_id)
        .outerjoin(done, done.c.category == stats.category)
        .outerjoin(done_run, done_run.id == done.c.run_id)
        .outerjoin(ForecastMetric, (ForecastMetric.run_id == done.c.run_id) & ForecastMetric.is_best.is_(True))
        .outerjoin(CategorySetting, CategorySetting.category == stats.category)
        # The open drift mark, if any (services/etl/drift.py keeps at most one per category).
        .outerjoin(drifting, drifting.c.category == stats.category)
        .outerjoin(CategoryDrift, CategoryDrift.id == drifting.c.id)
        .order_by(stats.category)
    )
