"""The product methods: fast local statsforecast models and one global LightGBM model across the products.

Every function takes the long frame (`unique_id, ds, y`) of many products and returns a wide one, `unique_id,
ds` and one column of forecasts per method, so a chunk of 500 products is one call, not 500. Local methods
suit short, noisy and intermittent series (the Croston family for products that sell on a minority of days);
the global model learns weekly and yearly shape and holidays from all the products of the chunk together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
from mlforecast import MLForecast
from mlforecast.lag_transforms import RollingMean
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    CrostonOptimized,
    DynamicOptimizedTheta,
    SeasonalNaive,
)

from services.forecast.products.series import SEASON

#: The global model's column.
GLOBAL_METHOD = "lightgbm"


def local_models() -> list:
    """The local methods, each named by its alias (what product summaries call the method)."""
    return [
        SeasonalNaive(season_length=SEASON, alias="seasonal_naive"),
        CrostonOptimized(alias="croston"),
        ADIDA(alias="adida"),
        IMAPA(alias="imapa"),
        TSB(alpha_d=0.2, alpha_p=0.2, alias="tsb"),
        DynamicOptimizedTheta(season_length=SEASON, alias="theta"),
    ]


def local_forecasts(frame: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Each local method's forecast of the next `horizon` days of every series in `frame`."""
    engine = StatsForecast(models=local_models(), freq="D", n_jobs=1,
                           fallback_model=SeasonalNaive(season_length=SEASON))
    out = engine.forecast(h=horizon, df=frame)
    return out.reset_index() if "unique_id" not in out.columns else out


def holiday_feature(days: set[dt.date]) -> Callable[[pd.DatetimeIndex], np.ndarray]:
    """A date feature for mlforecast: 1 on the days of `days` (public holidays, events), else 0."""
    stamps = pd.DatetimeIndex(sorted(days)) if days else pd.DatetimeIndex([])

    def is_holiday(dates: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray(pd.DatetimeIndex(dates).normalize().isin(stamps), dtype="int8")

    return is_holiday


def global_forecasts(frame: pd.DataFrame, horizon: int, holidays: set[dt.date] | None = None) -> pd.DataFrame:
    """LightGBM trained across every series of `frame` (lags, rolling means, calendar, holidays), `horizon` ahead.

    Each series is divided by its own mean so that one model serves products of any volume.
    """
    means = frame.groupby("unique_id")["y"].mean().clip(lower=1e-6)
    scaled = frame.assign(y=frame["y"] / frame["unique_id"].map(means).to_numpy())
    model = lgb.LGBMRegressor(n_estimators=150, learning_rate=0.05, num_leaves=31, min_child_samples=20,
                              subsample=0.8, subsample_freq=1, colsample_bytree=0.9, n_jobs=1, verbose=-1)
    forecaster = MLForecast(
        models={GLOBAL_METHOD: model}, freq="D", lags=[7, 14, 28],
        lag_transforms={1: [RollingMean(window_size=7), RollingMean(window_size=28)]},
        date_features=["dayofweek", "month", "day", holiday_feature(holidays or set())],
    )
    forecaster.fit(scaled, static_features=[])
    out = forecaster.predict(h=horizon)
    out[GLOBAL_METHOD] = out[GLOBAL_METHOD].to_numpy() * out["unique_id"].map(means).to_numpy()
    return out


def all_forecasts(frame: pd.DataFrame, horizon: int, holidays: set[dt.date] | None = None) -> pd.DataFrame:
    """Every method's forecast (local and global) of every series, side by side, never negative."""
    local = local_forecasts(frame, horizon)
    merged = local.merge(global_forecasts(frame, horizon, holidays), on=["unique_id", "ds"], how="left")
    methods = method_columns(merged)
    merged[methods] = merged[methods].astype("float64").fillna(merged["seasonal_naive"].astype("float64"),
                                                               axis=0).clip(lower=0.0)
    return merged


def method_columns(frame: pd.DataFrame) -> list[str]:
    """The forecast columns of a wide frame (all but the keys)."""
    return [c for c in frame.columns if c not in ("unique_id", "ds")]
