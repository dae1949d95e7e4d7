"""Metrics of a forecast against held-out periods, as plain functions of (actual, forecast, training history).

A held-out period without a value (a gap in weekly or monthly data, NaN) is left out of every metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.forecast import sums
from services.forecast.periods import future_periods, spec_of
from services.forecast.quantiles import QUANTILES

#: Season of the seasonal naive forecast MASE is scaled by, for days (weekly); other grains take the year
#: (periods.GrainSpec.naive_season).
SEASON = 7


@dataclass(frozen=True)
class Metrics:
    """How a forecast matched the held-out days."""

    mae: float
    rmse: float
    smape: float
    mase: float | None
    coverage: float
    coverage80: float | None = None
    wql: float | None = None
    #: How the held-out days' errors are correlated (services/forecast/sums.py): what a sum's interval needs.
    error_level: float | None = None
    error_ar: float | None = None


def score(actual: pd.Series, forecast: pd.DataFrame, train: pd.Series) -> Metrics:
    """Metrics of `forecast` (value, lower, upper, optional p10/p90) against `actual`, MASE scaled on `train`."""
    observed = actual.notna().to_numpy()
    if not observed.all():
        actual, forecast = actual[observed], forecast[observed]
    y, f = actual.to_numpy(dtype="float64"), forecast["value"].to_numpy(dtype="float64")
    errors = np.abs(y - f)
    denominator = np.abs(y) + np.abs(f)
    smape = np.where(denominator == 0, 0.0, 2 * errors / np.where(denominator == 0, 1, denominator))
    mae = float(errors.mean())
    mase = _mase(mae, train.to_numpy(dtype="float64"), naive_lag(train))
    structure = sums.estimate(y, forecast)
    return Metrics(mae=mae, rmse=float(np.sqrt(np.mean((y - f) ** 2))), smape=float(100 * smape.mean()),
                   mase=mase, coverage=_inside(y, forecast, "lower", "upper"),
                   coverage80=_inside(y, forecast, "p10", "p90") if "p10" in forecast else None,
                   wql=weighted_quantile_loss(y, forecast) if "p10" in forecast else None,
                   error_level=structure and structure.level, error_ar=structure and structure.ar)


def _inside(y: np.ndarray, forecast: pd.DataFrame, low: str, high: str) -> float:
    return float(((y >= forecast[low].to_numpy()) & (y <= forecast[high].to_numpy())).mean())


def weighted_quantile_loss(y: np.ndarray, forecast: pd.DataFrame) -> float | None:
    """Mean over p10/p50/p90 of twice the pinball loss summed over days, over the sum of |actual|."""
    total = float(np.abs(y).sum())
    if total == 0:
        return None
    losses = []
    for q in QUANTILES:
        predicted = forecast[f"p{round(100 * q)}" if q != 0.5 else "value"].to_numpy(dtype="float64")
        diff = y - predicted
        losses.append(2 * np.sum(np.maximum(q * diff, (q - 1) * diff)) / total)
    return float(np.mean(losses))


def naive_lag(train: pd.Series) -> int:
    """The seasonal naive's lag for a training history: its grain's season (7 days, 52 weeks, 12 months, 4
    quarters), or 1 when a coarser grain's history is shorter than two seasons."""
    season = spec_of(train.index).naive_season
    return season if season == SEASON or len(train) >= 2 * season else 1


def seasonal_naive(history: pd.Series, horizon: int) -> pd.Series:
    """The last season repeated over the horizon (the benchmark every model should beat)."""
    lag = naive_lag(history)
    last_season = history.to_numpy()[-lag:]
    return pd.Series(np.resize(last_season, horizon), index=future_periods(history, horizon))


def naive_scale(train: pd.Series) -> float | None:
    """The in-sample seasonal naive MAE of a history at its grain's lag (MASE's denominator); None when undefined."""
    return _scale(train.to_numpy(dtype="float64"), naive_lag(train))


def _scale(train: np.ndarray, season: int) -> float | None:
    if len(train) <= season:
        return None
    diffs = np.abs(train[season:] - train[:-season])
    if np.isnan(diffs).all():
        return None
    return float(np.nanmean(diffs))


def _mase(mae: float, train: np.ndarray, season: int = SEASON) -> float | None:
    """MAE over the in-sample seasonal naive MAE; None when that scale is undefined or 0 (a flat series)."""
    scale = _scale(train, season)
    if scale is None:
        return None
    if scale == 0:
        return 0.0 if mae == 0 else None
    return mae / scale


def score_cut(history: pd.Series, cut: int, horizon: int, forecast: pd.DataFrame) -> Metrics:
    """The metrics of a backtest forecast made at `cut`, on the days after it."""
    return score(history.iloc[cut:cut + horizon], forecast, history.iloc[:cut])


def mean_metrics(folds: list[Metrics]) -> Metrics:
    """The mean of each metric over the folds (undefined if undefined in any; the error structure: where known)."""
    def mean(name: str) -> float | None:
        values = [getattr(m, name) for m in folds]
        return None if None in values else float(np.mean(values))

    def mean_known(name: str) -> float | None:
        values = [getattr(m, name) for m in folds if getattr(m, name) is not None]
        return float(np.mean(values)) if values else None

    return Metrics(mae=mean("mae"), rmse=mean("rmse"), smape=mean("smape"), mase=mean("mase"),
                   coverage=mean("coverage"), coverage80=mean("coverage80"), wql=mean("wql"),
                   error_level=mean_known("error_level"), error_ar=mean_known("error_ar"))


def rank_key(metrics: Metrics) -> tuple[bool, float, float]:
    """How backtest metrics order models: defined MASE first, then lower MASE, then lower MAE."""
    return (metrics.mase is None, metrics.mase or 0.0, metrics.mae)
