"""End to end with a real fit: history uploaded, forecast by Holt-Winters, the next fortnight uploaded and scored."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from common.models import ForecastData, ForecastRun
from common.status import ModelType
from services.forecast import jobs
from services.forecast.models import holt_winters
from tests.accuracy.seed import rows
from tests.accuracy.test_realised import load

DAY = dt.date(2023, 1, 2)
DAYS = 74  # 60 days of history, then the fortnight that is scored


def sales(product: str, day: int) -> int:
    """A weekly pattern with a slow trend and a wobble, different per product."""
    base = {"p1": 20, "p2": 8}[product]
    return base + 3 * (day % 7) + day // 10 + (day * 7919 % 5)


@pytest.mark.slow
def test_a_real_forecast_is_scored_against_the_next_fortnight(client, drain, engine, settings):
    """naive_scale is the history's lag-7 naive MAE; every scored day's error is the forecast minus the day's total."""
    series = {p: [sales(p, d) for d in range(DAYS)] for p in ("p1", "p2")}
    load(client, drain, rows(DAY, {p: s[:60] for p, s in series.items()}), "history.csv")
    with engine.connect() as conn:
        run_id = conn.scalar(select(ForecastRun.id))
    models = {ModelType.HOLT_WINTERS: holt_winters.fit}
    assert jobs.process_run(run_id, settings=settings, engine=engine, models=models) == "completed"
    totals = np.array(series["p1"]) + np.array(series["p2"])
    with engine.connect() as conn:
        scale = conn.scalar(select(ForecastRun.naive_scale).where(ForecastRun.id == run_id))
        forecast = {row.forecast_date: row for row in conn.execute(
            select(ForecastData.forecast_date, ForecastData.forecast_value, ForecastData.lower_bound,
                   ForecastData.upper_bound)
            .where(ForecastData.run_id == run_id, ForecastData.model_type == ModelType.RECOMMENDED.value))}
    assert scale == pytest.approx(np.abs(totals[7:60] - totals[:53]).mean())
    load(client, drain, rows(DAY + dt.timedelta(days=60), {p: s[60:] for p, s in series.items()}), "next.csv")
    scored = [(forecast[DAY + dt.timedelta(days=d)], totals[d]) for d in range(60, DAYS)]
    errors = np.array([f.forecast_value - actual for f, actual in scored])
    inside = np.mean([f.lower_bound <= actual <= f.upper_bound for f, actual in scored])
    answer = client.get(f"/accuracy?run_id={run_id}&model_type=recommended&group_by=run").json["groups"]
    mae = np.abs(errors).mean()
    assert answer == [{"run_id": run_id, "grain": "day", "model_type": "recommended", "n": 14,
                       "mae": pytest.approx(mae), "mase": pytest.approx(mae / scale),
                       "bias": pytest.approx(errors.mean()),
                       "coverage": pytest.approx(inside), "actual": pytest.approx(totals[60:].mean()),
                       "forecast": pytest.approx(np.mean([f.forecast_value for f, _ in scored]))}]
    by_day = client.get(f"/accuracy?run_id={run_id}&model_type=holt_winters").json["groups"]
    assert [g["days_ahead"] for g in by_day] == list(range(1, 15))
