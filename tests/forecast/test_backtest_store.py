"""Each model's backtest forecasts: kept by the engine (ensemble and recommended too) and stored with the run."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import ForecastBacktest, ForecastData
from common.queue import FORECAST_QUEUE
from common.status import ModelType
from services.forecast import jobs
from services.forecast.backtest import backtest_cuts, forecast_category
from services.forecast.recommend import mean_forecast
from tests.conftest import upload
from tests.forecast.test_backtest import broken, constant, days, refusing
from tests.forecast.test_jobs import TWO_MONTHS


@pytest.fixture
def published(client, drain, monkeypatch):
    """Two categories of two months each, forecast with stand-in models (one of them failing)."""
    models = {ModelType.HOLT_WINTERS: constant(10), ModelType.SARIMAX: constant(20), ModelType.PROPHET: broken}
    monkeypatch.setattr(jobs, "fitters", lambda: models)
    upload(client, TWO_MONTHS)
    drain()
    drain(FORECAST_QUEUE)


def test_the_engine_keeps_every_backtested_models_windows():
    """Each backtested model, the ensemble and the recommended forecast have a frame per cut, dated after it."""
    history = days([100.0] * 60)
    models = {ModelType.HOLT_WINTERS: constant(100), ModelType.SARIMAX: constant(120), ModelType.PROPHET: refusing}
    result = forecast_category(history, 10, pd.DataFrame(), 0.95, models)
    cuts = backtest_cuts(60, 10, 2)
    assert set(result.backtests) == {ModelType.HOLT_WINTERS, ModelType.SARIMAX, ModelType.ENSEMBLE,
                                     ModelType.RECOMMENDED}
    for frames in result.backtests.values():
        assert sorted(frames) == cuts
        assert all(frame.index[0] == history.index[cut] and len(frame) == 10 for cut, frame in frames.items())
    ensemble = result.backtests[ModelType.ENSEMBLE][cuts[0]]
    expected = mean_forecast([result.backtests[m][cuts[0]] for m in (ModelType.HOLT_WINTERS, ModelType.SARIMAX)])
    assert ensemble["value"].tolist() == expected["value"].tolist() == [110.0] * 10


def test_a_run_stores_its_backtests_with_origin_and_actuals(engine, published):
    """The published run holds each backtested model's held-out days: origin the last training day, the actual."""
    with Session(engine) as session:
        rows = session.scalars(select(ForecastBacktest).where(ForecastBacktest.category == "north")
                               .order_by(ForecastBacktest.model_type, ForecastBacktest.forecast_date)).all()
        forecast_models = set(session.scalars(select(ForecastData.model_type).where(ForecastData.run_id == 1)))
    assert {r.model_type for r in rows} == forecast_models == {"holt_winters", "sarimax", "ensemble", "recommended"}
    sarimax = [r for r in rows if r.model_type == "sarimax"]
    assert {r.forecast_value for r in sarimax} == {20.0} and all(r.lower_bound <= 20 <= r.upper_bound for r in sarimax)
    assert {r.run_id for r in rows} == {1}
    for row in sarimax:  # TWO_MONTHS: day d (up to 28) sells d, later days none; a window starts after its origin
        day = row.forecast_date.day
        assert row.actual == (day if day <= 28 else 0) and row.forecast_date > row.origin
    history = pd.date_range("2023-01-01", "2023-02-28", freq="D")
    origins = {history[cut - 1].date() for cut in backtest_cuts(len(history), 30, 2)}
    assert {r.origin for r in sarimax} == origins and len(sarimax) == 30 * len(origins)
