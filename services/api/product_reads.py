"""The API's product queries: one product's forecast rows, and a category's products with their errors and volume.

Every product read starts from `product_runs`: a category's latest run whose forecast *and* products
are completed (status and product_status both 'completed'). A run still forecasting its products, or
one that forecast the category only, never hides the last products that were reconciled and stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Select, func, literal, select
from sqlalchemy.orm import Session

from common.models import ForecastRun, InvoiceData, ProductForecastData, ProductForecastSummary
from common.status import ForecastStatus, ModelType
from services.api.reads import narrow
from services.api.serialize import jsonable

#: A product's status in its run: forecast, or skipped (too little history; its note says why).
FORECAST, SKIPPED = "forecast", "skipped"
#: The orders /categories/<name>/products sorts by, and the summary column behind each.
PRODUCT_SORTS = {"volume": ProductForecastSummary.volume, "mase": ProductForecastSummary.mase,
                 "mae": ProductForecastSummary.mae, "product_id": ProductForecastSummary.product_id}
#: Fields of each product in the list.
PRODUCT_FIELDS = ("product_id", "status", "method", "mase", "mae", "volume", "selling_days", "note")


def product_runs(conn: Connection | Session, *, category: str | None = None,
                 run_id: int | None = None) -> dict[str, int]:
    """{category: run_id} of the runs product reads use: `run_id` when its products are completed, else each
    category's (or `category`'s) latest run whose forecast and products are both completed."""
    done = (ForecastRun.status == ForecastStatus.COMPLETED) & (ForecastRun.product_status == ForecastStatus.COMPLETED)
    if run_id is not None:
        query = select(ForecastRun.category, ForecastRun.id).where(ForecastRun.id == run_id, done)
    else:
        query = select(ForecastRun.category, func.max(ForecastRun.id)).where(done).group_by(ForecastRun.category)
        if category is not None:
            query = query.where(ForecastRun.category == category)
    return {name: run for name, run in conn.execute(query)}


@dataclass(frozen=True)
class ProductRun:
    """A category's product run as the products list heads it."""

    category: str
    run_id: int
    reconciliation: str | None
    products_total: int | None
    products_skipped: int | None
    product_note: str | None


def product_run(conn: Connection | Session, category: str) -> ProductRun | None:
    """The category's latest run with completed products, or None."""
    run_id = product_runs(conn, category=category).get(category)
    if run_id is None:
        return None
    row = conn.execute(select(ForecastRun.reconciliation, ForecastRun.products_total, ForecastRun.products_skipped,
                              ForecastRun.product_note).where(ForecastRun.id == run_id)).one()
    return ProductRun(category, run_id, *row)


#: Columns of a product forecast row, in the /forecast-data row's names: `model_type` is always `recommended`
#: (the reconciled recommended forecast; the method it came from is in the products list) and `batch_num` the run's.
_ROW_COLUMNS = {
    "id": ProductForecastData.id, "forecast_date": ProductForecastData.forecast_date,
    "category": ProductForecastData.category, "model_type": literal(ModelType.RECOMMENDED.value),
    "forecast_value": ProductForecastData.forecast_value, "lower_bound": ProductForecastData.lower_bound,
    "upper_bound": ProductForecastData.upper_bound, "batch_num": ForecastRun.batch_num,
    "run_id": ProductForecastData.run_id, "p10": ProductForecastData.p10, "p50": ProductForecastData.p50,
    "p90": ProductForecastData.p90, "product_id": ProductForecastData.product_id,
}


def product_rows_query(runs: dict[str, int], product_id: str, fields: Sequence[str], *,
                       start: dt.date | None = None, end: dt.date | None = None) -> Select:
    """The product's forecast rows in `runs` (`fields` of _ROW_COLUMNS), by category then day."""
    query = (select(*(_ROW_COLUMNS[name].label(name) for name in fields))
             .select_from(ProductForecastData)
             .join(ForecastRun, ForecastRun.id == ProductForecastData.run_id)
             .where(ProductForecastData.run_id.in_(tuple(runs.values())), ProductForecastData.product_id == product_id))
    query = narrow(query, [], ProductForecastData.forecast_date, start, end)
    return query.order_by(ProductForecastData.category, ProductForecastData.forecast_date, ProductForecastData.id)


def product_rows(conn: Connection | Session, runs: dict[str, int], product_id: str, fields: Sequence[str], *,
                 start: dt.date | None = None, end: dt.date | None = None, limit: int | None = None,
                 offset: int = 0) -> list[dict[str, object]]:
    """The product's forecast rows in `runs` as JSON-ready dicts of `fields`, by category then day."""
    query = product_rows_query(runs, product_id, fields, start=start, end=end).limit(limit).offset(offset)
    return [{name: jsonable(value) for name, value in zip(fields, row, strict=True)} for row in conn.execute(query)]


def missing_product(conn: Connection | Session, runs: dict[str, int], product_id: str,
                    category: str | None = None) -> str | None:
    """Why `product_id` has no forecast in `runs` (of `category`, or of every category with product forecasts):
    unknown there, or skipped and why; None when it has one."""
    query = (select(ProductForecastSummary.category, ProductForecastSummary.status, ProductForecastSummary.note)
             .where(ProductForecastSummary.run_id.in_(tuple(runs.values())),
                    ProductForecastSummary.product_id == product_id))
    found = conn.execute(query).all()
    if any(status == FORECAST for _, status, _ in found):
        return None
    name = repr(product_id[:100])
    if not found:
        where = f"category {category[:100]!r}" if category is not None else "any category"
        return f"product {name} has no product forecast in {where}"
    category, _, note = found[0]
    return f"product {name} of category {category[:100]!r} was skipped: {note or 'too little history'}"


@dataclass(frozen=True)
class ProductQuery:
    """What the products list asks for: a substring of product_id, an order, a page."""

    search: str | None = None
    sort: str = "volume"
    descending: bool = True
    page: int = 1
    limit: int = 50


def product_page(conn: Connection | Session, run_id: int, ask: ProductQuery) -> tuple[list[dict[str, object]], int]:
    """One page of the run's products (PRODUCT_FIELDS) in the asked order, and how many match the search."""
    where = [ProductForecastSummary.run_id == run_id]
    if ask.search:
        # Case-insensitive everywhere: MySQL compares keys in binary, SQLite's LIKE ignores ASCII case only.
        where.append(func.instr(func.lower(ProductForecastSummary.product_id), ask.search.lower()) > 0)
    total = conn.execute(select(func.count()).select_from(ProductForecastSummary).where(*where)).scalar_one()
    column = PRODUCT_SORTS[ask.sort]
    order = [column.is_(None), column.desc() if ask.descending else column.asc(), ProductForecastSummary.product_id]
    query = (select(*(getattr(ProductForecastSummary, name) for name in PRODUCT_FIELDS)).where(*where)
             .order_by(*order).limit(ask.limit).offset((ask.page - 1) * ask.limit))
    rows = [{name: jsonable(value) for name, value in zip(PRODUCT_FIELDS, row, strict=True)}
            for row in conn.execute(query)]
    return rows, int(total)


def product_history(session: Session, category: str, product_id: str, start: dt.date,
                    end: dt.date) -> dict[dt.date, float]:
    """The product's sales per day in [start, end) within its stored range; 0 on a day without a row."""
    query = (select(InvoiceData.date, InvoiceData.sales)
             .where(InvoiceData.category == category, InvoiceData.product_id == product_id,
                    InvoiceData.date >= start, InvoiceData.date < end))
    sales = {day: float(value) for day, value in session.execute(query)}
    if not sales:
        return {}
    first, last = min(sales), max(sales)
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return {day: round(sales.get(day, 0.0), 2) for day in days}
