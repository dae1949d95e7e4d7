"""Backtest: score every model on held-out windows of history, then fit it on all of it.

Each model is fitted on the history before a cut and scored on the horizon after it, at several cuts
(rolling origin): the last horizons of history, and the same calendar window one year before the forecast
(a December forecast is judged on last December too) when the history reaches that far back. The stored
metrics are the means over those windows. Metrics (on the held-out periods): MAE, RMSE, sMAPE (percent, 0/0
counts as 0), MASE (MAE over the in-sample MAE of the seasonal naive forecast at the grain's season), coverage
of the run's interval and of the 80% interval (p10..p90), and the weighted quantile loss of p10/p50/p90.

Every length is in the history's periods (services/forecast/periods.py): the horizon, the windows, the
year-ago cut (364 days, 52 weeks, 12 months, 4 quarters) and the shortest training. A gap (a missing week or
month, NaN) is interpolated for the fits and never scored.

The calendar (services/forecast/calendar.py) is measured on each training history alone, so a backtest
never sees the effects of the days it is judged on. It is measured on days only; at coarser grains each
holiday names the period it falls in, which the models that take the calendar (Prophet) fit, and the
others leave to the yearly season (calendar.in_periods says what was measured). The ensemble (mean of the
models) and the recommended forecast (services/forecast/recommend.py) are built and backtested from the same windows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from common.grain import Grain
from common.status import ModelType
from services.forecast import calendar, recommend
from services.forecast.metrics import (  # noqa: F401 - Metrics, score, seasonal_naive re-exported
    Metrics,
    mean_metrics,
    rank_key,
    score,
    score_cut,
    seasonal_naive,
)
from services.forecast.models import FitFunction, ModelError, tags
from services.forecast.periods import SPECS, GrainSpec, filled, future_periods, spec_of
from services.forecast.quantiles import with_quantiles
from services.forecast.recommend import mean_forecast

logger = logging.getLogger(__name__)

#: Fewest training days a backtest needs (two weeks); shorter histories are forecast without one (other
#: grains: GrainSpec.min_train).
MIN_TRAIN_DAYS = SPECS[Grain.DAY].min_train
#: Backtests on the last horizons of history (rolling origin). One 30-day window is a noisy judge of which
#: model is best (measured: on Store Item Demand it picked a model whose November sMAPE was 1.5x the best's).
BACKTEST_FOLDS = SPECS[Grain.DAY].backtest_folds
#: With the year-ago window, the last horizon alone besides it: two judges of different seasons, one fit
#: fewer per model (a quarter of a category's CPU).
FOLDS_WITH_YEAR_AGO = 1
#: The year-ago window starts this many days before the forecast's first day: 52 weeks, so weekdays align.
YEAR_AGO_DAYS = SPECS[Grain.DAY].year_ago
#: The year-ago window is backtested only with at least this many training days before it.
YEAR_AGO_MIN_TRAIN = SPECS[Grain.DAY].year_ago_min_train


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
    #: How the recommended forecast was built, in words.
    method: str | None = None
    #: Each backtested model's forecasts on its held-out windows (ensemble and recommended included), by cut:
    #: the number of history days it was trained on (its window starts at history.index[cut]).
    backtests: dict[ModelType, dict[int, pd.DataFrame]] = field(default_factory=dict)


def forecast_category(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float,
                      models: Mapping[ModelType, FitFunction], folds: int | None = None) -> CategoryForecast:
    """Backtest every model, fit it on all periods, add the ensemble and the recommended forecast, mark the best
    (`folds`: backtest windows of the last horizons; default the grain's, GrainSpec.backtest_folds)."""
    result = CategoryForecast()
    grain = spec_of(history.index)
    cuts = backtest_cuts(len(history), horizon, folds or grain.backtest_folds, grain)
    fitted = filled(history)
    effects = {cut: _effects(fitted.iloc[:cut], holidays, history, horizon) for cut in [*cuts, len(history)]}
    backtests: dict[ModelType, dict[int, pd.DataFrame]] = {}
    for model, fit in models.items():
        started = time.perf_counter()
        try:
            if grain.grain not in tags(model).grains:
                raise ModelError(f"{model.value} does not forecast {grain.grain.value}ly data.")
            result.forecasts[model] = _fit(model, fit, fitted, horizon, level, effects[len(history)])
            backtests[model] = {cut: _fit(model, fit, fitted.iloc[:cut], horizon, level, effects[cut])
                                for cut in cuts}
        except ModelError as exc:
            _note_failure(result, model, str(exc))
        except Exception as exc:  # noqa: BLE001 - a failing model fails alone; the others still publish
            logger.warning("model %s failed: %s: %s", model, type(exc).__name__, exc)
            _note_failure(result, model, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}")
        result.seconds[model] = time.perf_counter() - started
    for model, frames in backtests.items():
        if frames:
            # Each model's intervals are widened where its own backtests show them too narrow (MSTL's, measured:
            # 44% of November inside its 95% interval), so a combination does not inherit an overconfident band.
            result.forecasts[model], frames, _ = recommend.calibrate(result.forecasts[model], frames, history,
                                                                     horizon, level)
            backtests[model] = frames
            result.metrics[model] = mean_metrics([score_cut(history, cut, horizon, f) for cut, f in frames.items()])
            result.backtests[model] = frames
    _add_ensemble(result, backtests, history, horizon)
    result.best = best_model(result.metrics)
    recommend.add_recommended(result, backtests, history, horizon, level)
    return result


def _effects(train: pd.Series, holidays: pd.DataFrame, history: pd.Series,
             horizon: int) -> calendar.CalendarEffects:
    """The calendar's effects measured on `train`; at coarser grains its days named by period (calendar.in_periods)."""
    end = future_periods(history, horizon)[-1]
    if spec_of(history.index).grain is not Grain.DAY:
        return calendar.in_periods(holidays, train, end)
    return calendar.measure(train, holidays, end)


def _fit(model: ModelType, fit: FitFunction, history: pd.Series, horizon: int, level: float,
         effects: calendar.CalendarEffects) -> pd.DataFrame:
    """One fit with the calendar handled: as regressors by the models that take it, else divided out and back."""
    if tags(model).uses_calendar:
        forecast = fit(history, horizon, effects.calendar_frame(), level)
        forecast = calendar.apply_effects(forecast, effects.closures())
    else:
        forecast = fit(calendar.adjusted_history(history, effects), horizon, _NO_CALENDAR, level)
        forecast = calendar.apply_effects(forecast, effects)
    return with_quantiles(forecast, level)


_NO_CALENDAR = pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "holiday": pd.Series(dtype="str")})


def _note_failure(result: CategoryForecast, model: ModelType, reason: str) -> None:
    # A model whose final fit worked keeps its forecast; it only loses its backtest (too short a history).
    if model in result.forecasts:
        result.backtest_errors[model] = reason
    else:
        result.errors[model] = reason


def backtest_cuts(length: int, horizon: int, folds: int, grain: GrainSpec = SPECS[Grain.DAY]) -> list[int]:
    """Where each backtest's training ends: the last `folds` horizons and the window a year before the forecast
    (unless the history has a yearly season and the year-ago training would be too short for one); in periods."""
    year_ago = length - grain.year_ago
    # A year-ago fit too short for the yearly season the forecast has would judge other models than it uses.
    too_short = year_ago < grain.yearly_min <= length
    if year_ago >= grain.year_ago_min_train and year_ago + horizon <= length - horizon * folds and not too_short:
        cuts = {year_ago, *(length - horizon * k for k in range(1, min(folds, FOLDS_WITH_YEAR_AGO) + 1))}
    else:
        cuts = {length - horizon * k for k in range(1, folds + 1)}
    return sorted(cut for cut in cuts if cut >= grain.min_train)


def _add_ensemble(result: CategoryForecast, backtests: dict[ModelType, dict[int, pd.DataFrame]],
                  history: pd.Series, horizon: int) -> None:
    finals = [f for m, f in result.forecasts.items() if m is not ModelType.ENSEMBLE]
    if len(finals) < 2:
        result.errors[ModelType.ENSEMBLE] = "needs at least two models that succeeded"
        return
    result.forecasts[ModelType.ENSEMBLE] = mean_forecast(finals)
    tested = [frames for frames in backtests.values() if frames]
    if len(tested) >= 2:
        folds = {cut: mean_forecast([frames[cut] for frames in tested]) for cut in tested[0]}
        result.metrics[ModelType.ENSEMBLE] = mean_metrics([score_cut(history, cut, horizon, f)
                                                           for cut, f in folds.items()])
        result.backtests[ModelType.ENSEMBLE] = folds


def best_model(metrics: Mapping[ModelType, Metrics]) -> ModelType | None:
    """The model with the lowest MASE (ties and undefined MASE broken by MAE); None without metrics."""
    if not metrics:
        return None
    return min(metrics, key=lambda m: rank_key(metrics[m]))
