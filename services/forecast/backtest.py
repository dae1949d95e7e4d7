"""Backtest and combine: score every model on the last horizons of history, then fit it on all of it.

Each model is fitted on the history minus the last horizon and scored on that horizon, and likewise
one and two horizons further back (rolling origin, BACKTEST_FOLDS windows, fewer when the history
is short); the stored metrics are the means over those windows. Metrics (on the held-out days):
MAE, RMSE, sMAPE (percent, 0/0 counts as 0), MASE (MAE over the in-sample MAE of the seasonal naive
forecast with season 7), and interval coverage. The best model of a category is the one with the
lowest MASE. The `ensemble` is the mean of the models that succeeded (values and bounds),
backtested the same way.
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
#: Backtests per model, on the last horizons of history (rolling origin). One 30-day window is a noisy
#: judge of which model is best (measured: on Store Item Demand it picked a model whose November sMAPE
#: was 1.5x the best's); three windows settle it at the cost of two more fits per model.
BACKTEST_FOLDS = 3


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
    #: Models that forecast but could not be backtested (history too short for their backtest's training).
    backtest_errors: dict[ModelType, str] = field(default_factory=dict)
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
                      models: Mapping[ModelType, FitFunction], folds: int = BACKTEST_FOLDS) -> CategoryForecast:
    """Backtest every model on the last `folds` horizons, fit it on all days, add the ensemble, mark the best."""
    result = CategoryForecast()
    cuts = backtest_cuts(len(history), horizon, folds)
    backtests: dict[ModelType, dict[int, pd.DataFrame]] = {}
    for model, fit in models.items():
        started = time.perf_counter()
        try:
            result.forecasts[model] = fit(history, horizon, holidays, level)
            backtests[model] = {cut: fit(history.iloc[:cut], horizon, holidays, level) for cut in cuts}
        except ModelError as exc:
            _note_failure(result, model, str(exc))
        except Exception as exc:  # noqa: BLE001 - a failing model fails alone; the others still publish
            logger.warning("model %s failed: %s: %s", model, type(exc).__name__, exc)
            _note_failure(result, model, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}")
        result.seconds[model] = time.perf_counter() - started
    for model, frames in backtests.items():
        if frames:
            result.metrics[model] = mean_metrics([_score_cut(history, cut, horizon, f) for cut, f in frames.items()])
    _add_ensemble(result, backtests, history, horizon)
    result.best = best_model(result.metrics)
    return result


def _note_failure(result: CategoryForecast, model: ModelType, reason: str) -> None:
    # A model whose final fit worked keeps its forecast; it only loses its backtest (too short a history).
    if model in result.forecasts:
        result.backtest_errors[model] = reason
    else:
        result.errors[model] = reason


def backtest_cuts(length: int, horizon: int, folds: int) -> list[int]:
    """Where each backtest's training ends: the last `folds` horizons, each with >= MIN_TRAIN_DAYS before it."""
    cuts = [length - horizon * k for k in range(1, folds + 1)]
    return sorted(cut for cut in cuts if cut >= MIN_TRAIN_DAYS)


def _score_cut(history: pd.Series, cut: int, horizon: int, forecast: pd.DataFrame) -> Metrics:
    return score(history.iloc[cut:cut + horizon], forecast, history.iloc[:cut])


def mean_metrics(folds: list[Metrics]) -> Metrics:
    """The mean of each metric over the backtest folds (MASE undefined if it is in any fold)."""
    mases = [m.mase for m in folds]
    return Metrics(mae=float(np.mean([m.mae for m in folds])), rmse=float(np.mean([m.rmse for m in folds])),
                   smape=float(np.mean([m.smape for m in folds])),
                   mase=None if None in mases else float(np.mean(mases)),
                   coverage=float(np.mean([m.coverage for m in folds])))


def _add_ensemble(result: CategoryForecast, backtests: dict[ModelType, dict[int, pd.DataFrame]],
                  history: pd.Series, horizon: int) -> None:
    finals = [f for m, f in result.forecasts.items() if m is not ModelType.ENSEMBLE]
    if len(finals) < 2:
        result.errors[ModelType.ENSEMBLE] = "needs at least two models that succeeded"
        return
    result.forecasts[ModelType.ENSEMBLE] = mean_forecast(finals)
    tested = [frames for frames in backtests.values() if frames]
    if len(tested) >= 2:
        scores = [_score_cut(history, cut, horizon, mean_forecast([frames[cut] for frames in tested]))
                  for cut in tested[0]]
        result.metrics[ModelType.ENSEMBLE] = mean_metrics(scores)


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
