"""Metrics of a forecast against held-out days, as plain functions of (actual, forecast, training history)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.forecast import sums
from services.forecast.quantiles import QUANTILES

#: Season of the seasonal naive forecast MASE is scaled by (weekly).
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
    y, f = actual.to_numpy(dtype="float64"), forecast["value"].to_numpy(dtype="float64")
    errors = np.abs(y - f)
    denominator = np.abs(y) + np.abs(f)
    smape = np.where(denominator == 0, 0.0, 2 * errors / np.where(denominator == 0, 1, denominator))
    mae = float(errors.mean())
    mase = _mase(mae, train.to_numpy(dtype="float64"))
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
