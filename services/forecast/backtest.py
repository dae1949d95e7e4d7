"""Backtest and combine: score every model on the last horizon of history, then fit it on all of it.

Metrics (on the held-out days): MAE, RMSE, sMAPE (percent, 0/0 counts as 0), MASE (MAE over the
in-sample MAE of the seasonal naive forecast with season 7), and interval coverage. The best model
of a category is the one with the lowest MASE. The `ensemble` is the mean of the models that
succeeded (values and bounds), backtested the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.status import ModelType
from services.forecast.models import FitFunction, ModelError, finish

logger = logging.getLogger(__name__)

#: Season of the seasonal naive forecast MASE is scaled by (weekly).
SEASON = 7
#: Fewest training days a backtest needs (two weeks); shorter histories are forecast without one.
MIN_TRAIN_DAYS = 2 * SEASON


@dataclass(frozen=True)
class Metrics:
    """How a forecast matched the held-out days."""

    mae: float
    rmse: float
    smape: float
    mase: float | None
    coverage: float


@dataclass
class CategoryForecast:
    """Everything a run publishes: each model's forecast, backtest metrics, errors, fit time, the best."""

    forecasts: dict[ModelType, pd.DataFrame] = field(default_factory=dict)
    metrics: dict[ModelType, Metrics] = field(default_factory=dict)
    errors: dict[ModelType, str] = field(default_factory=dict)
    seconds: dict[ModelType, float] = field(default_factory=dict)
    best: ModelType | None = None


def score(actual: pd.Series, forecast: pd.DataFrame, train: pd.Series) -> Metrics:
    """Metrics of `forecast` (value, lower, upper) against `actual`, MASE scaled on `train`."""
    y, f = actual.to_numpy(dtype="float64"), forecast["value"].to_numpy(dtype="float64")
    errors = np.abs(y - f)
    denominator = np.abs(y) + np.abs(f)
    smape = np.where(denominator == 0, 0.0, 2 * errors / np.where(denominator == 0, 1, denominator))
    mae = float(errors.mean())
    mase = _mase(mae, train.to_numpy(dtype="float64"))
    inside = (y >= forecast["lower"].to_numpy()) & (y <= forecast["upper"].to_numpy())
    return Metrics(mae=mae, rmse=float(np.sqrt(np.mean((y - f) ** 2))), smape=float(100 * smape.mean()),
                   mase=mase, coverage=float(inside.mean()))


def seasonal_naive(history: pd.Series, horizon: int) -> pd.Series:
    """The last week repeated over the horizon (the benchmark every model should beat)."""
    last_week = history.to_numpy()[-SEASON:]
    index = pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    return pd.Series(np.resize(last_week, horizon), index=index)


def _mase(mae: float, train: np.ndarray) -> float | None:
    """MAE over the in-sample seasonal naive MAE; None when that scale is undefined or 0 (a flat series)."""
    if len(train) <= SEASON:
        return None
    scale = float(np.mean(np.abs(train[SEASON:] - train[:-SEASON])))
    if scale == 0:
        return 0.0 if mae == 0 else None
    return mae / scale


def forecast_category(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float,
                      models: Mapping[ModelType, FitFunction]) -> CategoryForecast:
    """Backtest then fit every model on `history`, add the ensemble, and mark the best by MASE."""
    result = CategoryForecast()
    train, held_out = history.iloc[:-horizon], history.iloc[-horizon:]
    can_backtest = len(train) >= MIN_TRAIN_DAYS
    backtests: dict[ModelType, pd.DataFrame] = {}
    for model, fit in models.items():
        started = time.perf_counter()
        try:
            if can_backtest:
                backtests[model] = fit(train, horizon, holidays, level)
                result.metrics[model] = score(held_out, backtests[model], train)
            result.forecasts[model] = fit(history, horizon, holidays, level)
        except ModelError as exc:
            result.errors[model] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a failing model fails alone; the others still publish
            logger.warning("model %s failed: %s: %s", model, type(exc).__name__, exc)
            result.errors[model] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        result.seconds[model] = time.perf_counter() - started
    _add_ensemble(result, backtests, held_out, train)
    result.best = best_model(result.metrics)
    return result


def _add_ensemble(result: CategoryForecast, backtests: dict[ModelType, pd.DataFrame], held_out: pd.Series,
                  train: pd.Series) -> None:
    finals = [f for m, f in result.forecasts.items() if m is not ModelType.ENSEMBLE]
    if len(finals) < 2:
        result.errors[ModelType.ENSEMBLE] = "needs at least two models that succeeded"
        return
    result.forecasts[ModelType.ENSEMBLE] = mean_forecast(finals)
    tested = [f for m, f in backtests.items() if m in result.forecasts]
    if len(tested) >= 2:
        result.metrics[ModelType.ENSEMBLE] = score(held_out, mean_forecast(tested), train)


def mean_forecast(forecasts: list[pd.DataFrame]) -> pd.DataFrame:
    """The day-by-day mean of several forecasts' values and bounds."""
    stacked = pd.concat(forecasts, keys=range(len(forecasts)))
    mean = stacked.groupby(level=1).mean()
    return finish(mean.index, mean["value"], mean["lower"], mean["upper"])


def best_model(metrics: Mapping[ModelType, Metrics]) -> ModelType | None:
    """The model with the lowest MASE (ties and undefined MASE broken by MAE); None without metrics."""
    if not metrics:
        return None
    return min(metrics, key=lambda m: (metrics[m].mase is None, metrics[m].mase or 0.0, metrics[m].mae))
