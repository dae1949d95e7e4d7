"""The API's forecast queries: forecast rows, backtest metrics, category overviews and settings.

Unless a run is named, every answer comes from each category's latest *completed* run: a run that
is pending, running or failed never hides the last good forecast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from common.models import CategorySetting, ForecastData, ForecastMetric, ForecastRun, InvoiceData
from common.status import ForecastStatus
from services.api.reads import category_summary_query, narrow

#: Rows fetched from the database at a time when streaming an export.
CHUNK_ROWS = 5000


def latest_completed_runs(category: str | None = None) -> Select:
    """(category, run_id) of each category's highest-numbered completed run."""
    query = (
        select(ForecastRun.category, func.max(ForecastRun.id).label("run_id"))
        .where(ForecastRun.status == ForecastStatus.COMPLETED)
        .group_by(ForecastRun.category)
    )
    if category is not None:
        query = query.where(ForecastRun.category == category)
    return query


@dataclass(frozen=True)
class ForecastFilter:
    """The /forecast-data and /forecast-metrics filters; None means no filter (run: the latest completed)."""

    category: str | None = None
    model_type: str | None = None
    run_id: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    def apply(self, query: Select, table: type[ForecastData] | type[ForecastMetric] = ForecastData) -> Select:
        """Add this filter's WHERE clauses on `table` (ForecastData, or ForecastMetric with no dates set)."""
        if self.run_id is not None:
            query = query.where(table.run_id == self.run_id)
        else:
            latest = latest_completed_runs(self.category).subquery()
            query = query.where(table.run_id.in_(select(latest.c.run_id)))
        day = getattr(table, "forecast_date", None)
        query = narrow(query, [(table.category, self.category), (table.model_type, self.model_type)], day,
                       self.start_date, self.end_date)
        return query


def run_exists(session: Session, run_id: int) -> bool:
    """True when forecast run `run_id` exists (in any status)."""
    return session.get(ForecastRun, run_id) is not None


def _in_order(query: Select) -> Select:
    return query.order_by(ForecastData.category, ForecastData.model_type, ForecastData.forecast_date,
                          ForecastData.id)


def forecast_page(session: Session, where: ForecastFilter, *, limit: int, offset: int) -> list[ForecastData]:
    """One page of forecast rows ordered by category, model type and day."""
    query = _in_order(where.apply(select(ForecastData))).limit(limit).offset(offset)
    return list(session.scalars(query))


def count_forecast_rows(session: Session, where: ForecastFilter) -> int:
    """How many forecast rows the filter matches."""
    return int(session.scalar(where.apply(select(func.count()).select_from(ForecastData))) or 0)


def forecast_row_chunks(session: Session, where: ForecastFilter, fields: Sequence[str],
                        size: int = CHUNK_ROWS) -> Iterator[Sequence[Row]]:
    """The matching rows' `fields`, in order, `size` rows at a time (a server-side cursor on MySQL)."""
    query = _in_order(where.apply(select(*(getattr(ForecastData, name) for name in fields))))
    yield from session.execute(query.execution_options(yield_per=size)).partitions()


def forecast_rows(session: Session, where: ForecastFilter, fields: Sequence[str]) -> list[Row]:
    """The matching rows' `fields`, in order, all at once (for one category's sheet)."""
    query = _in_order(where.apply(select(*(getattr(ForecastData, name) for name in fields))))
    return list(session.execute(query))


def forecast_categories(session: Session, where: ForecastFilter) -> list[str]:
    """The categories that have matching forecast rows, sorted."""
    query = where.apply(select(ForecastData.category).distinct()).order_by(ForecastData.category)
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


def forecast_metrics(session: Session, where: ForecastFilter) -> list[ForecastMetric]:
    """Backtest metrics of the chosen runs, ordered by category then model type."""
    query = where.apply(select(ForecastMetric), ForecastMetric).order_by(
        ForecastMetric.category, ForecastMetric.model_type, ForecastMetric.run_id
    )
    return list(session.scalars(query))


def category_exists(session: Session, category: str) -> bool:
    """True when the category has stored observations."""
    return session.scalar(select(InvoiceData.category).where(InvoiceData.category == category).limit(1)) is not None


@dataclass(frozen=True)
class CategorySettings:
    """A category's forecast settings: the holiday calendar in force and where it comes from."""

    category: str
    holiday_country: str | None
    holiday_country_overridden: bool
    default_holiday_country: str | None
    updated_at: dt.datetime | None


def category_settings(session: Session, category: str, default_country: str | None) -> CategorySettings | None:
    """The category's settings (its override, else the default), or None when it has no stored data."""
    if not category_exists(session, category):
        return None
    row = session.get(CategorySetting, category)
    return CategorySettings(
        category=category,
        holiday_country=row.holiday_country if row is not None else default_country,
        holiday_country_overridden=row is not None,
        default_holiday_country=default_country,
        updated_at=row.updated_at if row is not None else None,
    )


def category_overview(session: Session, default_country: str | None) -> list[dict[str, object]]:
    """Per category: the stored-data summary, best model, holiday calendar and latest run, in one query."""
    summary = category_summary_query().subquery()
    last = select(ForecastRun.category, func.max(ForecastRun.id).label("run_id")).group_by(ForecastRun.category)
    last = last.subquery()
    done = latest_completed_runs().subquery()
    query = (
        select(*summary.c, ForecastMetric.model_type.label("best_model"), CategorySetting.category.label("override"),
               CategorySetting.holiday_country, last.c.run_id.label("last_run_id"),
               ForecastRun.status.label("forecast_status"))
        .select_from(summary)
        .outerjoin(last, last.c.category == summary.c.category)
        .outerjoin(ForecastRun, ForecastRun.id == last.c.run_id)
        .outerjoin(done, done.c.category == summary.c.category)
        .outerjoin(ForecastMetric, (ForecastMetric.run_id == done.c.run_id) & ForecastMetric.is_best.is_(True))
        .outerjoin(CategorySetting, CategorySetting.category == summary.c.category)
        .order_by(summary.c.category, ForecastMetric.model_type)
    )
    overview: dict[str, dict[str, object]] = {}
    for row in session.execute(query).mappings():
        # Two models marked best in one run would repeat the category: keep the first by name.
        overview.setdefault(row["category"], _overview_item(row, [c.name for c in summary.c], default_country))
    return list(overview.values())


def _overview_item(row: dict[str, object], summary: list[str], default_country: str | None) -> dict[str, object]:
    overridden = row["override"] is not None
    return {
        **{name: row[name] for name in summary},
        "best_model": row["best_model"],
        "holiday_country": row["holiday_country"] if overridden else default_country,
        "holiday_country_overridden": overridden,
        "last_run_id": row["last_run_id"],
        "forecast_status": row["forecast_status"],
    }
