"""The naive scale a run stores: realised MASE's denominator, the seasonal naive MAE of its history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.forecast.metrics import naive_scale


def test_days_use_a_week_ago():
    """A daily history's scale is the mean absolute change from the same weekday a week earlier."""
    values = np.arange(30, dtype=float) ** 1.5
    history = pd.Series(values, index=pd.date_range("2023-01-02", periods=30, freq="D"))
    assert naive_scale(history) == pytest.approx(np.abs(values[7:] - values[:-7]).mean())


def test_short_months_use_the_month_before_and_a_too_short_history_has_none():
    """Under two years of months the lag is one month; a history no longer than its lag has no scale."""
    months = pd.Series([10.0, 14.0, 11.0, 20.0], index=pd.date_range("2023-01-01", periods=4, freq="MS"))
    assert naive_scale(months) == pytest.approx((4 + 3 + 9) / 3)
    assert naive_scale(pd.Series([5.0], index=pd.date_range("2023-01-02", periods=1, freq="D"))) is None


def test_a_run_stores_the_naive_scale_of_its_history(client, drain, engine, settings):
    """The forecast job writes forecast_runs.naive_scale from the series it forecast (stand-in model: no fit)."""
    from sqlalchemy import select

    from common.models import ForecastRun
    from common.status import ModelType
    from services.forecast import jobs
    from tests.accuracy.seed import rows
    from tests.accuracy.test_realised import load
    from tests.forecast.test_backtest import constant

    days = [float(d % 7 * 3 + d // 5) for d in range(35)]
    load(client, drain, rows(pd.Timestamp("2023-01-02").date(), {"p1": days}), "history.csv")
    with engine.connect() as conn:
        run_id = conn.scalar(select(ForecastRun.id))
    jobs.process_run(run_id, settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(10)})
    with engine.connect() as conn:
        stored = conn.scalar(select(ForecastRun.naive_scale).where(ForecastRun.id == run_id))
    assert stored == pytest.approx(np.abs(np.array(days[7:]) - np.array(days[:-7])).mean())
