"""Prophet: a piecewise-linear trend with weekly and (given enough history) yearly seasonality and country holidays.

Weeks, months and quarters get the yearly curve only (its Fourier order from periods.GrainSpec: a curve of
20 pairs would interpolate twelve monthly points), from two years of history.

Prophet is imported inside `fit`: importing it loads cmdstanpy and probes for plotting libraries, which takes
seconds and is not needed by the API or the ETL worker that import this package.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from common.grain import Grain
from services.forecast.models import ModelError, finish, future_index
from services.forecast.periods import GrainSpec, fit_window, spec_of, units

MIN_DAYS = 7
"""A week of observed days: with fewer, Prophet measures no noise and its interval collapses to zero width
(seen with two days), which would claim a certainty the data cannot give."""

WEEKLY_MIN_DAYS = 14
"""A weekly season needs two full weeks to be told apart from noise (Prophet's own 'auto' rule)."""

YEARLY_FOURIER_ORDER = 20
"""Fourier terms of the yearly curve. Prophet's default 10 smooths over month-to-month steps in retail
demand (e.g. November up, December down); 20 follows them, and Prophet's prior on the coefficients keeps the
extra terms near zero where the data do not call for them."""

WINDOW_DAYS = 3 * 365
"""Fit on at most the last three years: each calendar day is seen three times, which steadies the yearly curve;
older years mostly pull the trend towards a level the series has left (and fit time grows with length)."""

UNCERTAINTY_SAMPLES = 1000
"""Simulated trend/noise paths behind the interval (Prophet's default)."""

SEED = 7
"""Fixed seed for the optimiser and the interval's sampling, so one history always gives one forecast."""


def _not_the_short_year_warning(record: logging.LogRecord) -> bool:
    """Prophet warns of a yearly season from under 730 days; castflow asks for one from GrainSpec.yearly_min on
    purpose."""
    return not record.getMessage().startswith("Yearly seasonality is enabled with less than")


def fit(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
    """Forecast `horizon` days with Prophet, using the country holidays when there are any."""
    grain = spec_of(history.index)
    frame = _observed(history, fit_window(grain, WINDOW_DAYS))
    # Prophet logs an error on import when plotly is missing; this worker never plots.
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    logging.getLogger("prophet").addFilter(_not_the_short_year_warning)  # the same filter is added once
    from cmdstanpy.utils import get_logger
    from prophet import Prophet  # slow import: see the module docstring

    # cmdstanpy logs two INFO lines per fit; keep its warnings and errors. Its logger is set up (level DEBUG) on
    # first use, so take it through cmdstanpy's getter, or that first set-up would undo the level.
    get_logger().setLevel(logging.WARNING)
    model = Prophet(
        growth="linear",
        weekly_seasonality=grain.grain is Grain.DAY and len(frame) >= WEEKLY_MIN_DAYS,
        yearly_seasonality=_yearly_order(grain, frame),
        daily_seasonality=False,
        holidays=_holiday_frame(holidays),
        interval_width=level,
        uncertainty_samples=UNCERTAINTY_SAMPLES,
    )
    index = future_index(history, horizon)
    with _numpy_seed(SEED):
        model.fit(frame, seed=SEED)
        predicted = model.predict(pd.DataFrame({"ds": index}))
    columns = [predicted[name].to_numpy() for name in ("yhat", "yhat_lower", "yhat_upper")]
    return finish(index, *columns)


def _observed(history: pd.Series, window: int = WINDOW_DAYS) -> pd.DataFrame:
    """The last `window` periods of history as Prophet's (ds, y) frame, without missing values."""
    recent = history.iloc[-window:].astype("float64").dropna()
    if len(recent) < MIN_DAYS:
        raise ModelError(f"Prophet needs at least {MIN_DAYS} {units(history)} with values; this category has "
                         f"{len(recent)}.")
    return pd.DataFrame({"ds": recent.index, "y": recent.to_numpy()})


def _yearly_order(grain: GrainSpec, frame: pd.DataFrame) -> int | bool:
    """The yearly curve's Fourier order, or False when the observed span is under the grain's yearly minimum."""
    span_days = int((frame["ds"].iloc[-1] - frame["ds"].iloc[0]).days) + 1
    if span_days * grain.year / 365.25 < grain.yearly_min - (0 if grain.grain is Grain.DAY else 1):
        return False
    return YEARLY_FOURIER_ORDER if grain.grain is Grain.DAY else grain.fourier_order


def _holiday_frame(holidays: pd.DataFrame) -> pd.DataFrame | None:
    """Prophet's (ds, holiday) frame with one row per holiday and day, or None for no calendar."""
    if holidays is None or holidays.empty:
        return None
    frame = pd.DataFrame({"ds": pd.to_datetime(holidays["ds"]).dt.normalize(), "holiday": holidays["holiday"]})
    return frame.dropna().drop_duplicates().reset_index(drop=True)


@contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for the block and restore it after.

    Prophet draws its uncertainty paths from `np.random` directly and takes no generator, so the seed has to be
    global; restoring the state keeps the rest of the process unaffected.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
