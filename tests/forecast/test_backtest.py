"""Backtest metrics against hand-computed values, the ensemble, and the choice of the best model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from common.status import ModelType
from services.forecast.backtest import Metrics, best_model, forecast_category, mean_forecast, score, seasonal_naive
from services.forecast.models import ModelError, finish, future_index


def days(values: list[float], start: str = "2023-01-02") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), dtype="float64")


def frame(values: list[float], lower: list[float], upper: list[float], start: str) -> pd.DataFrame:
    index = pd.date_range(start, periods=len(values), freq="D")
    return pd.DataFrame({"value": values, "lower": lower, "upper": upper}, index=index, dtype="float64")


def test_score_matches_hand_computed_metrics():
    """MAE, RMSE, sMAPE, MASE (season 7) and coverage equal the values worked out by hand."""
    train = days([10, 20, 30, 40, 50, 60, 70, 12, 22, 32, 42, 52, 62, 72])  # seasonal naive error: 2 every day
    actual = days([10, 0, 30], start="2023-01-16")
    forecast = frame([12, 0, 27], [11, 0, 20], [13, 1, 29], start="2023-01-16")
    metrics = score(actual, forecast, train)
    assert metrics.mae == pytest.approx((2 + 0 + 3) / 3)
    assert metrics.rmse == pytest.approx(math.sqrt((4 + 0 + 9) / 3))
    assert metrics.smape == pytest.approx(100 * (2 * 2 / 22 + 0 + 2 * 3 / 57) / 3)
    assert metrics.mase == pytest.approx((5 / 3) / 2)
    assert metrics.coverage == pytest.approx(1 / 3)  # 10 outside [11, 13]; 0 inside [0, 1]; 30 outside [20, 29]


def test_mase_is_undefined_for_a_flat_history_unless_the_forecast_is_perfect():
    """A constant training series has no seasonal-naive error to scale by."""
    train = days([5.0] * 14)
    actual = days([5.0, 5.0], start="2023-01-16")
    assert score(actual, frame([5, 5], [5, 5], [5, 5], "2023-01-16"), train).mase == 0.0
    assert score(actual, frame([6, 6], [5, 5], [7, 7], "2023-01-16"), train).mase is None


def test_seasonal_naive_repeats_the_last_week():
    """The benchmark forecast is the last seven days, repeated."""
    history = days(list(range(1, 15)))
    naive = seasonal_naive(history, 9)
    assert naive.tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9]
    assert naive.index[0] == history.index[-1] + pd.Timedelta(days=1)


def test_best_model_is_lowest_mase_and_undefined_mase_ranks_last():
    """Lowest MASE wins; a model without MASE only wins when no other has one."""
    metrics = {
        ModelType.SARIMAX: Metrics(1, 1, 1, 0.9, 1),
        ModelType.PROPHET: Metrics(1, 1, 1, 0.7, 1),
        ModelType.HOLT_WINTERS: Metrics(0.1, 1, 1, None, 1),
    }
    assert best_model(metrics) is ModelType.PROPHET
    assert best_model({ModelType.HOLT_WINTERS: metrics[ModelType.HOLT_WINTERS]}) is ModelType.HOLT_WINTERS
    assert best_model({}) is None


def constant(level: float):
    """A fake model forecasting `level` every day with a +-10% band."""
    def fit(history, horizon, holidays, interval):  # noqa: ANN001, ANN202
        index = future_index(history, horizon)
        return finish(index, np.full(horizon, level), np.full(horizon, level * 0.9), np.full(horizon, level * 1.1))
    return fit


def broken(history, horizon, holidays, interval):  # noqa: ANN001, ANN201
    raise RuntimeError("singular matrix\nwith a long traceback-like second line")


def refusing(history, horizon, holidays, interval):  # noqa: ANN001, ANN201
    raise ModelError("needs at least two weeks of history")


def test_forecast_category_backtests_fits_ensembles_and_picks_the_best():
    """Every model is scored on the held-out horizon, refitted on all days, and the ensemble is their mean."""
    history = days([100.0] * 60)
    models = {ModelType.HOLT_WINTERS: constant(100), ModelType.SARIMAX: constant(120), ModelType.PROPHET: refusing}
    result = forecast_category(history, 10, pd.DataFrame(), 0.95, models)
    assert set(result.forecasts) == {ModelType.HOLT_WINTERS, ModelType.SARIMAX, ModelType.ENSEMBLE,
                                     ModelType.RECOMMENDED}
    assert result.errors == {ModelType.PROPHET: "needs at least two weeks of history"}
    assert result.forecasts[ModelType.ENSEMBLE]["value"].tolist() == [110.0] * 10
    assert result.metrics[ModelType.ENSEMBLE].mae == pytest.approx(10.0)
    assert result.best is ModelType.HOLT_WINTERS
    assert result.forecasts[ModelType.SARIMAX].index[0] == pd.Timestamp("2023-03-03")


def test_a_crashing_model_fails_alone_with_a_one_line_reason():
    """An unexpected exception in one model becomes that model's error; the others still publish."""
    result = forecast_category(days([50.0] * 40), 7, pd.DataFrame(), 0.95,
                               {ModelType.HOLT_WINTERS: constant(50), ModelType.SARIMAX: broken})
    assert result.errors[ModelType.SARIMAX] == "RuntimeError: singular matrix"
    assert ModelType.HOLT_WINTERS in result.forecasts
    assert result.errors[ModelType.ENSEMBLE] == "needs at least two models that succeeded"


def test_history_too_short_to_backtest_still_forecasts():
    """With less than two weeks of training days there are no metrics, but there are forecasts."""
    result = forecast_category(days([3.0] * 10), 30, pd.DataFrame(), 0.95,
                               {ModelType.HOLT_WINTERS: constant(3), ModelType.SARIMAX: constant(4)})
    assert result.metrics == {} and result.best is None
    assert len(result.forecasts[ModelType.ENSEMBLE]) == 30


def test_mean_forecast_averages_bounds_day_by_day():
    """The ensemble's value and bounds are the means of the members'."""
    a = frame([10, 20], [5, 15], [15, 25], "2023-01-01")
    b = frame([20, 40], [10, 30], [30, 50], "2023-01-01")
    assert mean_forecast([a, b]).to_dict("list") == {"value": [15, 30], "lower": [7.5, 22.5], "upper": [22.5, 37.5]}
