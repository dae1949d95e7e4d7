"""A yearly curve for the models that cannot carry a yearly season themselves (365 days, 52.18 weeks).

The curve is a few Fourier terms fitted by least squares and taken out before the model's fit, then
added back to its forecast (a "dynamic harmonic regression" with its coefficients fixed): a 365-day
seasonal ARIMA or Holt-Winters would be far too slow and needs many more years of data. The terms are
functions of the date, so they fit days and weeks alike; months and quarters carry the year as their own
season (12, 4) and get no curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.forecast.periods import GrainSpec, spec_of

YEARLY_MIN_DAYS = 2 * 365 - 60
"""Every model takes a yearly season from this many days: two years, so each calendar day is seen about twice
and noise is not mistaken for a season, less the two 30-day backtest horizons, so the backtests of a two-year
history fit the same yearly models as its forecast. At 730 they fitted none, their scores judged models the
forecast did not use, and bench/accuracy.py --max-history-days 730 found the recommended forecast's mean MASE
0.924 against Prophet's 0.803; now 0.795."""

YEARLY_WINDOW_YEARS = 3
"""Years the curve taken out by `without_yearly` is estimated from (each calendar day seen up to three times)."""

YEARLY_FOURIER_ORDER = 10
"""Sine/cosine pairs of the yearly curve: enough to follow month-to-month steps, few enough for two years."""


def fourier(days: pd.DatetimeIndex, order: int = YEARLY_FOURIER_ORDER) -> np.ndarray:
    """Yearly sine/cosine columns for the given days, on a fixed calendar origin so past and future agree."""
    years = (days - pd.Timestamp("2000-01-01")).days.to_numpy() / 365.25
    angles = 2.0 * np.pi * np.outer(years, np.arange(1, order + 1))
    return np.hstack([np.sin(angles), np.cos(angles)])


def takes_curve(grain: GrainSpec) -> bool:
    """Whether a grain's models need the Fourier curve for the year: their own season is far shorter than it."""
    return 2 * grain.season < grain.year


def yearly_curve(y: pd.Series, future: pd.DatetimeIndex) -> tuple[pd.Series, np.ndarray]:
    """The least-squares yearly curve over the history and the horizon (zeros when history is under two years,
    or when the grain carries the year as its own season)."""
    grain = spec_of(y.index)
    if len(y) < grain.yearly_min or not takes_curve(grain):
        return pd.Series(0.0, index=y.index), np.zeros(len(future))
    observed = y.notna().to_numpy()
    # An intercept and a linear trend soak up the level and its drift, so the sines only carry the season.
    steps = np.arange(len(y), dtype="float64")
    design = np.column_stack([np.ones(len(y)), steps, fourier(y.index, grain.fourier_order)])
    coefficients = np.linalg.lstsq(design[observed], y.to_numpy()[observed], rcond=None)[0][2:]
    return (pd.Series(fourier(y.index, grain.fourier_order) @ coefficients, index=y.index),
            fourier(future, grain.fourier_order) @ coefficients)


def without_yearly(history: pd.Series, future: pd.DatetimeIndex) -> tuple[pd.Series, np.ndarray]:
    """The history less its yearly curve (from the last three years), and the curve over `future`."""
    window = int(YEARLY_WINDOW_YEARS * spec_of(history.index).year)
    past, ahead = yearly_curve(history.iloc[-window:].astype("float64"), future)
    return history - past.reindex(history.index, fill_value=0.0), ahead
