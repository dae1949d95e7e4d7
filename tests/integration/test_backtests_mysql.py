"""Backtests and seasonality on MariaDB + Redis with the real models: a real run's backtests stored and served."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import ForecastBacktest
from common.queue import FORECAST_QUEUE
from tests.etl.test_jobs import load
from tests.integration.test_forecast_mysql import pharma_history

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_real_runs_backtests_are_stored_and_served(client, drain, engine):
    """Real pharmacy sales: every backtested model's windows are in forecast_backtests and /forecast-backtests
    serves them with the held-back actuals, each model's mean window MAE being its /forecast-metrics MAE."""
    batch = load(client, drain, pharma_history(("N02BE",), 400), "pharma.csv")
    assert batch["status"] == "completed", batch["error_log"]
    drain(FORECAST_QUEUE)
    answer = client.get("/forecast-backtests?category=N02BE").json
    metrics = {m["model_type"]: m for m in client.get("/forecast-metrics?category=N02BE").json if m["mae"] is not None}
    assert answer["note"] is None and len(answer["windows"]) >= 2
    for window in answer["windows"]:
        assert len(window["actuals"]) == 30 and all(a["actual"] is not None for a in window["actuals"])
        assert window["models"][0]["model_type"] == "recommended"
        assert {m["model_type"] for m in window["models"]} == set(metrics)
    for model, row in metrics.items():
        maes = [m["mae"] for w in answer["windows"] for m in w["models"] if m["model_type"] == model]
        assert sum(maes) / len(maes) == pytest.approx(row["mae"], rel=1e-5)  # FLOAT columns: single precision
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(ForecastBacktest))
    assert stored == 30 * len(answer["windows"]) * len(metrics)


def test_seasonality_of_a_real_daily_category_on_mariadb(client, drain):
    """The same sales read back as seven weekday factors with their weeks and twelve month factors."""
    load(client, drain, pharma_history(("N02BE",), 800), "pharma.csv")
    answer = client.get("/categories/N02BE/seasonality").json
    assert answer["grain"] == "day" and len(answer["weekday"]["factors"]) == 7
    assert all(f["weeks"] >= 100 for f in answer["weekday"]["factors"])
    assert len(answer["month"]["factors"]) == 12 and answer["month_reason"] is None
