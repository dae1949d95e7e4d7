"""Product forecasts written straight into the tables the product engine fills, for the read and inventory tests.

A seeded run is what a completed product run leaves: the category's recommended rows in forecast_data,
each forecast product's rows in product_forecast_data (adding up to the category's, day by day), one
summary per product (forecast or skipped), and the run's product columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import ForecastData, ForecastRun, InvoiceData, ProductForecastData, ProductForecastSummary
from common.status import ForecastStatus, ModelType

#: The first forecast day of every seeded run.
START = dt.date(2023, 4, 1)


@dataclass(frozen=True)
class Product:
    """A seeded product: its daily (p10, p50, p90) from START, and its summary's numbers."""

    days: list[tuple[float, float, float]]
    method: str = "croston_optimized"
    mase: float | None = 0.9
    mae: float | None = 1.0
    volume: float = 100.0
    selling_days: int = 50


@dataclass(frozen=True)
class Skipped:
    """A seeded product the run skipped, and why."""

    note: str = "one sale in two years: too little history"
    volume: float = 1.0
    selling_days: int = 1


@dataclass
class SeededRun:
    """What `add_product_run` wrote: the run's id and the category's daily totals."""

    run_id: int
    category_days: list[tuple[float, float, float]] = field(default_factory=list)


def add_product_run(engine, category: str, products: dict[str, Product],  # noqa: ANN001 - an Engine
                    skipped: dict[str, Skipped] | None = None, *, status: str = ForecastStatus.COMPLETED,
                    product_status: str | None = ForecastStatus.COMPLETED, reconciliation: str = "mint_shrink",
                    batch_num: int | None = None, start: dt.date = START) -> SeededRun:
    """A run of `category` whose products' forecasts add up to the category's recommended forecast each day."""
    skipped = skipped or {}
    horizon = max((len(p.days) for p in products.values()), default=0)
    totals = [tuple(sum(p.days[n][q] for p in products.values() if n < len(p.days)) for q in range(3))
              for n in range(horizon)]
    with Session(engine) as session, session.begin():
        run = ForecastRun(category=category, status=status, horizon_days=horizon, batch_num=batch_num,
                          created_at=dt.datetime(2023, 4, 1), recommended_method="weighted mean of auto_ets",
                          product_status=product_status, products_total=len(products) + len(skipped),
                          products_done=len(products) + len(skipped), products_skipped=len(skipped),
                          reconciliation=reconciliation if product_status else None)
        session.add(run)
        session.flush()
        session.add_all(_row(ForecastData, run.id, category, ModelType.RECOMMENDED.value, start, n, day)
                        for n, day in enumerate(totals))
        for product_id, product in products.items():
            session.add_all(_row(ProductForecastData, run.id, category, product.method, start, n, day,
                                 product_id=product_id) for n, day in enumerate(product.days))
            session.add(ProductForecastSummary(run_id=run.id, product_id=product_id, category=category,
                                               status="forecast", method=product.method, mase=product.mase,
                                               mae=product.mae, volume=product.volume,
                                               selling_days=product.selling_days, naive_scale=1.0))
        session.add_all(ProductForecastSummary(run_id=run.id, product_id=product_id, category=category,
                                               status="skipped", volume=s.volume, selling_days=s.selling_days,
                                               note=s.note) for product_id, s in skipped.items())
        return SeededRun(run.id, totals)


def _row(table, run_id: int, category: str, model: str, start: dt.date, n: int,  # noqa: ANN001
         day: tuple[float, float, float], **extra: object):  # noqa: ANN202 - a ForecastData or ProductForecastData
    p10, p50, p90 = day
    return table(run_id=run_id, category=category, model_type=model, forecast_date=start + dt.timedelta(days=n),
                 forecast_value=p50, lower_bound=max(0.0, p10 - (p50 - p10)), upper_bound=p90 + (p90 - p50),
                 p10=p10, p50=p50, p90=p90, **extra)


def steady(p50: float, spread: float, days: int = 30) -> list[tuple[float, float, float]]:
    """`days` days of the same forecast: median p50, p10 and p90 `spread` below and above it."""
    return [(max(0.0, p50 - spread), p50, p50 + spread)] * days


def sales_csv(categories: dict[str, list[str]], days: int = 20) -> str:
    """An upload with `days` days of March 2023 sales of each listed product of each category."""
    lines = ["Date,product_id,category,sales"]
    for category, product_ids in categories.items():
        lines += [f"2023-03-{day:02d},{product_id},{category},{1 + day % 3}"
                  for product_id in product_ids for day in range(1, days + 1)]
    return "\n".join(lines) + "\n"


def seed_from_sales(engine, category: str, days: int = 30) -> SeededRun:  # noqa: ANN001 - an Engine
    """A completed product run of `category` from the day after its last sale: each product's mean day, +- half."""
    with Session(engine) as session:
        last = session.scalar(select(func.max(InvoiceData.date)).where(InvoiceData.category == category))
        query = (select(InvoiceData.product_id, func.sum(InvoiceData.sales), func.count())
                 .where(InvoiceData.category == category).group_by(InvoiceData.product_id)
                 .order_by(InvoiceData.product_id))
        sales = session.execute(query).all()
    products = {product_id: Product(steady(round(total / n, 2), round(total / n / 2, 2), days), mase=0.5 + i / 10,
                                    volume=float(total), selling_days=n)
                for i, (product_id, total, n) in enumerate(sales)}
    return add_product_run(engine, category, products, start=last + dt.timedelta(days=1))


if __name__ == "__main__":  # python -m tests.products DATABASE_URL CATEGORY: what the web app's e2e run seeds
    import sys

    from common.db import make_engine

    seeded = seed_from_sales(make_engine(sys.argv[1]), sys.argv[2])
    print(seeded.run_id)
