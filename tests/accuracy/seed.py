"""Completed forecast runs written straight into the tables, for tests where a real fit is not the point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import Engine, insert

from common.models import ForecastData, ForecastMetric, ForecastRun, ProductForecastData, ProductForecastSummary
from common.status import ForecastStatus, ModelType

HEADER = "Date,product_id,category,sales\n"


def rows(first: dt.date, values: Mapping[str, list[float]], category: str = "north") -> str:
    """A CSV of `values[product][i]` on day `first + i`."""
    return HEADER + "".join(f"{first + dt.timedelta(days=i)},{product},{category},{value}\n"
                            for product, series in values.items() for i, value in enumerate(series))


def seed_run(engine: Engine, *, category: str = "north", history_end: dt.date, days: int,
             models: Mapping[str, tuple[float, float, float]], naive_scale: float | None,
             backtest_mase: float | None = None, products: Mapping[str, tuple[float, float, float, float]] = (),
             grain: str = "day", dates: list[dt.date] | None = None) -> int:
    """A completed run forecasting `days` days after `history_end` (or the periods starting on `dates`): each
    model's (value, lower, upper) every day (period).

    `products` maps a product to (value, lower, upper, naive scale): the run's products then completed.
    """
    dates = dates or [history_end + dt.timedelta(days=i) for i in range(1, days + 1)]
    with engine.begin() as conn:
        run_id = conn.execute(insert(ForecastRun).values(
            category=category, status=ForecastStatus.COMPLETED, horizon_days=days, horizon_periods=len(dates),
            history_start=history_end - dt.timedelta(days=30), history_end=history_end, grain=grain,
            naive_scale=naive_scale, product_status=ForecastStatus.COMPLETED if products else None,
            created_at=dt.datetime(2023, 1, 1), finished_at=dt.datetime(2023, 1, 1))).inserted_primary_key[0]
        conn.execute(insert(ForecastData), [
            {"run_id": run_id, "category": category, "model_type": model, "forecast_date": day,
             "forecast_value": value, "lower_bound": low, "upper_bound": high}
            for model, (value, low, high) in models.items() for day in dates])
        conn.execute(insert(ForecastMetric), [
            {"run_id": run_id, "category": category, "model_type": model, "is_best": False,
             "mase": backtest_mase if model == ModelType.RECOMMENDED else None} for model in models])
        for product, (value, low, high, scale) in dict(products).items():
            conn.execute(insert(ProductForecastSummary).values(
                run_id=run_id, product_id=product, category=category, status="forecast", method="auto_ets",
                naive_scale=scale))
            conn.execute(insert(ProductForecastData), [
                {"run_id": run_id, "category": category, "product_id": product, "model_type": "auto_ets",
                 "forecast_date": day, "forecast_value": value, "lower_bound": low, "upper_bound": high}
                for day in dates])
    return run_id
