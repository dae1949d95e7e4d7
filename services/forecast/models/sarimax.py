"""SARIMAX: seasonal ARIMA on daily totals with a weekly season, a holiday regressor and, from two years of
history, a yearly curve; on months and quarters the same airline form with the year (12, 4) as the season;
on weeks a first-differenced ARIMA on the history less its yearly curve.

The yearly curve is a few Fourier terms fitted by least squares and taken out before the ARIMA fit (a
"dynamic harmonic regression" with its coefficients fixed): a 365-day seasonal ARIMA would be far too slow,
and estimating the Fourier coefficients by maximum likelihood triples the fit time for the same forecast.
The fit uses a bounded recent window, L-BFGS with a capped iteration count, and a concentrated-out scale, which
keeps one fit well under a second on two years of days.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.sarimax import SARIMAX, SARIMAXResults

from services.forecast.models import ModelError, finish, future_index
from services.forecast.models.seasonality import yearly_curve
from services.forecast.periods import fit_window, spec_of, units

ORDER = (1, 0, 1)
"""Non-seasonal (p, d, q): AR and MA terms carry day-to-day shocks; the weekly difference already removes the
level. An extra first difference (1, 1, 1) over-differences (its MA term sits at -1) and doubles the fit time."""

SEASONAL_ORDER = (0, 1, 1, 7)
"""Weekly (P, D, Q, s): a seasonal difference with a seasonal MA term, the 'airline' form of a moving weekday
pattern; a seasonal AR term added fit time without improving the benchmark."""

WINDOW_DAYS = 730
"""Fit on at most the last two years: older days slow the fit without improving a 30-day forecast."""

MIN_DAYS = 21
"""Three weeks: the weekly difference leaves two weeks to estimate the ARMA terms from."""

WEEKLY_ORDER = (1, 1, 1)
"""Weeks have no season of their own (the yearly curve is taken out first): a first difference carries the
level instead of the seasonal one."""

MIN_WEEKS = 13
"""A quarter of weeks: with fewer the differenced ARMA terms have nothing to be estimated from."""

MAX_HOLIDAYS = 12
"""At most this many holiday columns (the engine passes only holidays whose effect stands out of the noise)."""

MAXITER = 50
"""L-BFGS iterations; the likelihood is flat near the optimum, and more iterations barely move the forecast."""


def fit(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
    """Forecast `horizon` periods with SARIMAX, with a holiday regressor when the history has holidays."""
    grain = spec_of(history.index)
    y = _recent(history, fit_window(grain, WINDOW_DAYS), MIN_WEEKS if grain.season == 1 else 3 * grain.season)
    index = future_index(history, horizon)
    if np.nanmax(y) == np.nanmin(y):
        # A flat history has zero variance, which the likelihood cannot handle; the honest forecast is that value.
        return finish(index, np.full(horizon, np.nanmax(y)), np.nanmax(y), np.nanmax(y))
    yearly_past, yearly_future = yearly_curve(y, index)
    past_exog, future_exog = _holiday_exog(y, index, holidays)
    results = _fit_arima(y - yearly_past, past_exog, grain.season)
    predicted = results.get_forecast(horizon, exog=future_exog)
    bounds = np.asarray(predicted.conf_int(alpha=1.0 - level))
    value = np.asarray(predicted.predicted_mean) + yearly_future
    if not np.isfinite(value).all():
        raise ModelError("SARIMAX could not fit this history: the fitted model gives no finite forecast.")
    return finish(index, value, bounds[:, 0] + yearly_future, bounds[:, 1] + yearly_future)


def _recent(history: pd.Series, window: int = WINDOW_DAYS, least: int = MIN_DAYS) -> pd.Series:
    """The last `window` periods as floats, refused when fewer than `least` have values."""
    y = history.iloc[-window:].astype("float64")
    observed = int(y.notna().sum())
    if observed < least:
        raise ModelError(f"SARIMAX needs at least {least} {units(history)} of history; this category has {observed}.")
    return y


def _holiday_exog(
    y: pd.Series, future: pd.DatetimeIndex, holidays: pd.DataFrame
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One 0/1 column (scaled) per holiday name seen in the history, for history and horizon; (None, None) for none.

    Each holiday gets its own coefficient: Christmas and Labor Day do not move sales alike.
    """
    if holidays is None or holidays.empty:
        return None, None
    frame = pd.DataFrame({"ds": pd.to_datetime(holidays["ds"]).dt.normalize(), "holiday": holidays["holiday"]})
    past, ahead = [], []
    for _, group in frame.groupby("holiday", sort=True):
        days = pd.DatetimeIndex(group["ds"].unique())
        column = y.index.isin(days)
        # A column that never (or always) changes in the history is collinear with the level: the fit breaks on it.
        if 0 < column.sum() < len(column):
            past.append(column)
            ahead.append(future.isin(days))
    if not past:
        return None, None
    past, ahead = past[-MAX_HOLIDAYS:], ahead[-MAX_HOLIDAYS:]
    # In sales units the holiday coefficients are hundreds of times the ARMA terms and L-BFGS crawls on such a
    # badly scaled problem; in units of the series' spread every parameter is of order one.
    scale = float(np.nanstd(y)) or 1.0
    return np.column_stack(past).astype("float64") * scale, np.column_stack(ahead).astype("float64") * scale


def _fit_arima(y: pd.Series, exog: np.ndarray | None, season: int = SEASONAL_ORDER[3]) -> SARIMAXResults:
    """Maximum-likelihood SARIMAX fit; optimiser chatter is silenced, numerical failures become ModelError."""
    orders = ({"order": WEEKLY_ORDER} if season == 1 else
              {"order": ORDER, "seasonal_order": (*SEASONAL_ORDER[:3], season)})
    model = SARIMAX(y.to_numpy(), exog=exog, concentrate_scale=True, **orders)
    with warnings.catch_warnings():
        # Expected on short or smooth series; they do not make the forecast unusable, the checks after do.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="Non-stationary starting", category=UserWarning)
        warnings.filterwarnings("ignore", message="Non-invertible starting", category=UserWarning)
        try:
            return model.fit(method="lbfgs", maxiter=MAXITER, disp=False)
        except np.linalg.LinAlgError as exc:
            raise ModelError(f"SARIMAX could not fit this history (numerical failure: {exc}).") from exc
